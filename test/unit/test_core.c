/*
 * test_core.c — unit tests of the healthcode codec core (src/hc_core.h),
 * no PostgreSQL needed.  Output is TAP; the last line is
 * "unit: N passed, M failed" and the exit status is non-zero on failure.
 *
 *   make unittest
 */
#define _GNU_SOURCE				/* memmem */
#include "hc_core.h"
#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a minimal TAP harness ---------------------------------------------- */

static int	n_run;
static int	n_failed;

/* Test lines are buffered so that "1..N" can come first. */
static char *tap_out;
static size_t tap_len;
static size_t tap_cap;

void
tap_printf(const char *fmt, ...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if (tap_len + (size_t) n + 1 > tap_cap)
	{
		size_t		cap = tap_cap ? tap_cap : 4096;

		while (tap_len + (size_t) n + 1 > cap)
			cap *= 2;
		tap_out = realloc(tap_out, cap);
		if (tap_out == NULL)
			abort();
		tap_cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(tap_out + tap_len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	tap_len += (size_t) n;
}

bool
check(bool ok, const char *fmt, ...)
{
	char		name[256];
	char	   *p;
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	/* A TAP line is one line: show control characters as '?'. */
	for (p = name; *p; p++)
		if ((unsigned char) *p < 0x20)
			*p = '?';
	n_run++;
	if (!ok)
		n_failed++;
	tap_printf("%s %d - %s\n", ok ? "ok" : "not ok", n_run, name);
	return ok;
}

/* CHECK_STATUS(expr, expected, name): also checks the detail was filled. */
#define CHECK_STATUS(got, want, detail, ...) \
	check_status((got), (want), (detail), __VA_ARGS__)

static const char *
status_name(hc_status s)
{
	static const char *const names[] = {
		"HC_OK", "HC_ERR_PREFIX", "HC_ERR_BASE45", "HC_ERR_LENGTH",
		"HC_ERR_VERSION", "HC_ERR_REGION", "HC_ERR_COLOUR", "HC_ERR_FLAGS",
		"HC_ERR_TIMES", "HC_ERR_ARGUMENT", "HC_ERR_CRYPTO", "HC_ERR_NOMEM"
	};

	return (unsigned) s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static bool check_status(hc_status got, hc_status want, const char *detail,
						 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Checks the status; on an expected error also that detail is non-empty. */
static bool
check_status(hc_status got, hc_status want, const char *detail,
			 const char *fmt, ...)
{
	char		name[256];
	va_list		ap;
	bool		ok;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	ok = got == want && (want == HC_OK || detail == NULL || detail[0] != '\0');
	check(ok, "%s -> %s", name, status_name(want));
	if (got != want)
		DIAG("got %s", status_name(got));
	else if (!ok)
		DIAG("the detail message is empty");
	else if (want != HC_OK && detail != NULL)
		DIAG("detail: %s", detail);
	return ok;
}

/* ---- helpers ------------------------------------------------------------ */

/* Deterministic xorshift64*, so a failure reproduces. */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint8_t
rng_byte(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint8_t) ((rng_state * UINT64_C(0x2545F4914F6CDD1D)) >> 56);
}

static void
rng_fill(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = rng_byte();
}

static bool
all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	while (n--)
		if (*p++ != v)
			return false;
	return true;
}

static void
to_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	while (n--)
	{
		*out++ = digits[*p >> 4];
		*out++ = digits[*p & 15];
		p++;
	}
	*out = '\0';
}

static bool
codes_equal(const hc_code *a, const hc_code *b)
{
	return a->version == b->version &&
		a->region == b->region &&
		memcmp(a->subject, b->subject, HC_SUBJECT_LEN) == 0 &&
		a->colour == b->colour &&
		a->vaccinated == b->vaccinated && a->paper == b->paper &&
		a->issued_at == b->issued_at &&
		a->expires_at == b->expires_at &&
		a->last_negative_at == b->last_negative_at && a->doses == b->doses &&
		memcmp(a->key_id, b->key_id, HC_KEY_ID_LEN) == 0 &&
		memcmp(a->signature, b->signature, HC_SIG_LEN) == 0;
}

/* One issuer key and one signed code, shared by several test groups. */
static uint8_t issuer_pk[HC_PUBLIC_KEY_LEN];
static uint8_t issuer_sk[HC_SECRET_KEY_LEN];
static uint8_t server_key[HC_SERVER_KEY_LEN];
static hc_code sample;
static uint8_t sample_buf[HC_MAX_LEN];
static char sample_text[HC_MAX_TEXT_LEN];
/* The same code in format version 2: a negative test two days before it
 * was issued, two doses. */
static hc_code sample_v2;
static uint8_t sample_v2_buf[HC_MAX_LEN];
static size_t sample_v2_len;
static char sample_v2_text[HC_MAX_TEXT_LEN];

static void
make_sample(void)
{
	uint8_t		pkey[HC_SERVER_KEY_LEN];
	static const char ident[] = "110101199003074477";

	hc_keypair(issuer_pk, issuer_sk);
	rng_fill(server_key, sizeof(server_key));
	hc_pseudonym_key(server_key, pkey);

	memset(&sample, 0, sizeof(sample));
	sample.version = HC_FORMAT_V1;
	sample.region = 330106;
	hc_pseudonym(pkey, (const uint8_t *) ident, strlen(ident), sample.subject);
	sample.colour = HC_YELLOW;
	sample.vaccinated = true;
	sample.issued_at = 1700000000;
	sample.expires_at = 1700000000 + 7 * 86400;
	hc_key_id(issuer_pk, sample.key_id);
	hc_sign(&sample, issuer_sk, sample_buf);
	hc_format_text(sample_buf, HC_V1_LEN, sample_text);

	sample_v2 = sample;
	sample_v2.version = HC_FORMAT_V2;
	sample_v2.last_negative_at = sample.issued_at - 2 * 86400;
	sample_v2.doses = 2;
	sample_v2_len = hc_sign(&sample_v2, issuer_sk, sample_v2_buf);
	hc_format_text(sample_v2_buf, sample_v2_len, sample_v2_text);
}

/* ---- base45 ------------------------------------------------------------- */

static void
test_base45_vectors(void)
{
	static const struct
	{
		char		plain[16];
		char		encoded[24];
	}			vectors[] = {
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
	};
	size_t		i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
	{
		const char *plain = vectors[i].plain;
		const char *enc = vectors[i].encoded;
		size_t		n = strlen(plain);
		char		out[64];
		uint8_t		dec[64];
		size_t		dec_len = 999;
		char		detail[HC_DETAIL_LEN] = "";
		hc_status	st;

		memset(out, 0, sizeof(out));
		CHECK(hc_base45_encoded_len(n) == strlen(enc),
			  "base45 encoded length of \"%s\" is %zu", plain, strlen(enc));
		hc_base45_encode((const uint8_t *) plain, n, out);
		CHECK(strcmp(out, enc) == 0, "base45 encode \"%s\" = \"%s\"", plain, enc);
		st = hc_base45_decode(enc, strlen(enc), dec, sizeof(dec), &dec_len,
							  detail, sizeof(detail));
		CHECK(st == HC_OK && dec_len == n && memcmp(dec, plain, n) == 0,
			  "base45 decode \"%s\" = \"%s\"", enc, plain);
	}
}

static void
test_base45_errors(void)
{
	static const struct
	{
		const char *text;
		hc_status	want;
		const char *why;
	}			bad[] = {
		{"GGW", HC_ERR_BASE45, "group value 65536 > 65535"},
		{"ZZZ", HC_ERR_BASE45, "group value 98414 > 65535"},
		{"bb8", HC_ERR_BASE45, "lowercase is not in the alphabet"},
		{"BB8A", HC_ERR_BASE45, "length 3n+1"},
		{"A", HC_ERR_BASE45, "length 1"},
		{"ZZ", HC_ERR_BASE45, "final pair 1610 > 255"},
		{"BB8BB", HC_ERR_BASE45, "final pair after a good group 1136 > 255"},
		{"BB8!B8", HC_ERR_BASE45, "'!' is not in the alphabet"},
		{"BB8,B8", HC_ERR_BASE45, "',' is not in the alphabet"},
		{"BB8\n", HC_ERR_BASE45, "newline (and length 3n+1)"},
	};
	size_t		i;
	uint8_t		out[64];
	size_t		out_len;
	char		detail[HC_DETAIL_LEN];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		detail[0] = '\0';
		CHECK_STATUS(hc_base45_decode(bad[i].text, strlen(bad[i].text), out,
									  sizeof(out), &out_len, detail, sizeof(detail)),
					 bad[i].want, detail, "base45 decode \"%s\" (%s)",
					 bad[i].text, bad[i].why);
	}

	/* A NUL byte and a high byte inside the text (not NUL-terminated). */
	detail[0] = '\0';
	CHECK_STATUS(hc_base45_decode("B\0008", 3, out, sizeof(out), &out_len,
								  detail, sizeof(detail)),
				 HC_ERR_BASE45, detail, "base45 decode with an embedded NUL");
	detail[0] = '\0';
	CHECK_STATUS(hc_base45_decode("B\3018", 3, out, sizeof(out), &out_len,
								  detail, sizeof(detail)),
				 HC_ERR_BASE45, detail, "base45 decode with byte 0xC1");

	/* Output capacity is respected. */
	detail[0] = '\0';
	CHECK_STATUS(hc_base45_decode("BB8", 3, out, 1, &out_len, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "base45 decode of 2 bytes into capacity 1");
	detail[0] = '\0';
	CHECK_STATUS(hc_base45_decode("BB8BB8", 6, out, 3, &out_len, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "base45 decode of 4 bytes into capacity 3");
	CHECK_STATUS(hc_base45_decode("BB8", 3, out, 2, &out_len, NULL, 0),
				 HC_OK, NULL, "base45 decode of 2 bytes into capacity 2, no detail buffer");
	CHECK_STATUS(hc_base45_decode("GGW", 3, out, 2, &out_len, NULL, 0),
				 HC_ERR_BASE45, NULL, "base45 error with a NULL detail buffer");
	/* A tiny detail buffer is truncated, not overrun (ASan watches). */
	{
		char		tiny[4] = "xyz";

		hc_base45_decode("GGW", 3, out, 2, &out_len, tiny, 2);
		CHECK(tiny[1] == '\0' && tiny[2] == 'z', "base45 detail respects detail_len");
	}
}

static void
test_base45_round_trip(void)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
	size_t		n;
	int			bad = 0;

	for (n = 0; n <= 200; n++)
	{
		uint8_t    *in = malloc(n + 1);
		size_t		elen = hc_base45_encoded_len(n);
		char	   *enc = malloc(elen + 1);
		uint8_t    *dec = malloc(n + 1);
		size_t		dec_len = 0;
		char		detail[HC_DETAIL_LEN] = "";
		hc_status	st;
		size_t		k;

		if (in == NULL || enc == NULL || dec == NULL)
			abort();
		rng_fill(in, n);
		/* Include the extremes regularly. */
		if (n % 7 == 1)
			memset(in, 0xFF, n);
		else if (n % 7 == 2)
			memset(in, 0x00, n);
		hc_base45_encode(in, n, enc);
		for (k = 0; k < elen; k++)
			if (enc[k] == '\0' || strchr(alphabet, enc[k]) == NULL)
				break;
		/* exact capacity: decoding needs no more room than n */
		st = hc_base45_decode(enc, elen, dec, n, &dec_len, detail, sizeof(detail));
		if (elen != (n / 2) * 3 + (n % 2) * 2 || k != elen || st != HC_OK ||
			dec_len != n || (n > 0 && memcmp(in, dec, n) != 0))
		{
			if (bad++ < 5)
				DIAG("length %zu: status %s, decoded %zu bytes, %s", n,
					 status_name(st), dec_len, detail);
		}
		free(in);
		free(enc);
		free(dec);
	}
	CHECK(bad == 0, "base45 round trip of random bytes, every length 0..200");
}

/* ---- regions ------------------------------------------------------------ */

static void
test_regions(void)
{
	static const char *const good[] = {
		"000000", "330000", "330100", "330106", "110101", "419001", "820000", "650000",
	};
	static const struct
	{
		const char *text;
		const char *why;
	}			bad[] = {
		{"990000", "unknown province"},
		{"100000", "unknown province"},
		{"330006", "county without city"},
		{"33010", "5 characters"},
		{"3301060", "7 characters"},
		{"", "empty"},
		{"33010a", "a letter"},
		{"-33010", "a sign"},
		{" 33010", "a space"},
	};
	size_t		i;
	char		detail[HC_DETAIL_LEN];
	uint32_t	r;
	char		fmt[7];
	uint32_t	chain[4];
	int			n;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		r = 12345678;
		detail[0] = '\0';
		CHECK(hc_region_parse(good[i], strlen(good[i]), &r, detail, sizeof(detail)) == HC_OK &&
			  r == (uint32_t) strtoul(good[i], NULL, 10),
			  "region %s parses", good[i]);
		hc_region_format(r, fmt);
		CHECK(strcmp(fmt, good[i]) == 0, "region %s formats back", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		detail[0] = '\0';
		CHECK_STATUS(hc_region_parse(bad[i].text, strlen(bad[i].text), &r, detail,
									 sizeof(detail)),
					 HC_ERR_REGION, detail, "region \"%s\" (%s)", bad[i].text, bad[i].why);
	}
	/* Not NUL-terminated: only len characters are read. */
	CHECK(hc_region_parse("3301069", 6, &r, NULL, 0) == HC_OK && r == 330106,
		  "region parse reads exactly len characters");

	detail[0] = '\0';
	CHECK(!hc_region_valid(1000000, detail, sizeof(detail)) && detail[0] != '\0',
		  "region 1000000 (seven digits) is invalid");
	CHECK(!hc_region_valid(0xFFFFFF, NULL, 0), "region 16777215 is invalid");
	CHECK(hc_region_valid(0, NULL, 0), "region 000000 is valid");
	hc_region_format(0, fmt);
	CHECK(strcmp(fmt, "000000") == 0, "region 0 formats as 000000");

	CHECK(hc_region_covers(0, 330106), "000000 covers 330106");
	CHECK(hc_region_covers(0, 0), "000000 covers 000000");
	CHECK(hc_region_covers(330000, 330106), "330000 covers 330106");
	CHECK(hc_region_covers(330000, 330100), "330000 covers 330100");
	CHECK(hc_region_covers(330000, 330000), "330000 covers 330000");
	CHECK(hc_region_covers(330100, 330106), "330100 covers 330106");
	CHECK(hc_region_covers(330106, 330106), "330106 covers itself");
	CHECK(!hc_region_covers(330000, 340000), "330000 does not cover 340000");
	CHECK(!hc_region_covers(330000, 0), "330000 does not cover 000000");
	CHECK(!hc_region_covers(330100, 330200), "330100 does not cover 330200");
	CHECK(!hc_region_covers(330100, 330000), "330100 does not cover its province 330000");
	CHECK(!hc_region_covers(330106, 330100), "330106 does not cover its city 330100");
	CHECK(!hc_region_covers(330102, 330106), "330102 does not cover its sibling 330106");

	memset(chain, 0xAA, sizeof(chain));
	n = hc_region_issuer_chain(330106, chain);
	CHECK(n == 4 && chain[0] == 330106 && chain[1] == 330100 && chain[2] == 330000 &&
		  chain[3] == 0, "issuer chain of 330106 = 330106,330100,330000,000000");
	memset(chain, 0xAA, sizeof(chain));
	n = hc_region_issuer_chain(330100, chain);
	CHECK(n == 3 && chain[0] == 330100 && chain[1] == 330000 && chain[2] == 0,
		  "issuer chain of 330100 = 330100,330000,000000");
	memset(chain, 0xAA, sizeof(chain));
	n = hc_region_issuer_chain(330000, chain);
	CHECK(n == 2 && chain[0] == 330000 && chain[1] == 0,
		  "issuer chain of 330000 = 330000,000000");
	memset(chain, 0xAA, sizeof(chain));
	n = hc_region_issuer_chain(0, chain);
	CHECK(n == 1 && chain[0] == 0, "issuer chain of 000000 = 000000");
	memset(chain, 0xAA, sizeof(chain));
	n = hc_region_issuer_chain(419001, chain);
	CHECK(n == 4 && chain[0] == 419001 && chain[1] == 419000 && chain[2] == 410000 &&
		  chain[3] == 0, "issuer chain of 419001 = 419001,419000,410000,000000");
	{
		/* Every issuer in a chain covers the region. */
		static const uint32_t regions[] = {0, 110000, 110100, 110101, 330106, 419001, 820000};
		int			bad = 0;

		for (i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		{
			int			k;

			n = hc_region_issuer_chain(regions[i], chain);
			for (k = 0; k < n; k++)
				if (!hc_region_covers(chain[k], regions[i]) || !hc_region_valid(chain[k], NULL, 0))
					bad++;
		}
		CHECK(bad == 0, "every issuer in a chain is valid and covers the region");
	}
}


/* Places: a division, a township (9 digits) or a village (12) under a
 * county- or city-level division; each formats back to itself. */
static void
test_places(void)
{
	static const char *const good[] = {"330106", "330100", "330000", "330106001", "330106001001",
		"441900003", "441900003001", "110101999999"};
	static const struct
	{
		const char *text;
		const char *why;
	}			bad[] = {
		{"000000", "the nation"},
		{"330000001", "a township directly in a province"},
		{"330106000", "township 000"},
		{"330106000001", "township 000 with a village"},
		{"330106001000", "village 000"},
		{"33010600", "8 characters"},
		{"3301060010", "10 characters"},
		{"3301060010011", "13 characters"},
		{"990000001", "unknown province"},
		{"33010600a", "a letter"},
		{"330106 01", "a space"},
		{"", "empty"},
	};
	size_t		i;
	char		detail[HC_DETAIL_LEN];
	char		fmt[HC_PLACE_MAX_DIGITS + 1];
	int64_t		p;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		p = -7;
		CHECK(hc_place_parse(good[i], strlen(good[i]), &p, detail, sizeof(detail)) == HC_OK &&
			  p == strtoll(good[i], NULL, 10),
			  "place %s parses", good[i]);
		hc_place_format(p, fmt);
		CHECK(strcmp(fmt, good[i]) == 0, "place %s formats back", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		detail[0] = '\0';
		CHECK_STATUS(hc_place_parse(bad[i].text, strlen(bad[i].text), &p, detail, sizeof(detail)),
					 HC_ERR_REGION, detail, "place \"%s\" (%s)", bad[i].text, bad[i].why);
	}
	CHECK(hc_place_parse("3301060010019", 12, &p, NULL, 0) == HC_OK && p == INT64_C(330106001001),
		  "place parse reads exactly len characters");
	hc_place_format(-1, fmt);
	CHECK(fmt[0] == '\0', "no place formats as nothing");
	hc_place_format(INT64_C(1000000000000), fmt);
	CHECK(fmt[0] == '\0', "a thirteen-digit number formats as nothing");
}

/* ---- payload ------------------------------------------------------------ */

static void
test_payload_round_trip(void)
{
	uint8_t		buf[HC_MAX_LEN];
	size_t		len = 0;
	hc_code		back;
	uint8_t		packed[HC_MAX_LEN];
	char		detail[HC_DETAIL_LEN] = "";
	char		text2[HC_MAX_TEXT_LEN];
	uint8_t		id[HC_KEY_ID_LEN];
	size_t		tlen = strlen(sample_text);

	CHECK(tlen == HC_PREFIX_LEN + 153 && strncmp(sample_text, "HCN:", 4) == 0,
		  "formatted code text is \"HCN:\" + 153 base45 characters");
	CHECK(tlen < HC_MAX_TEXT_LEN, "formatted code text fits HC_MAX_TEXT_LEN");
	CHECK(hc_format_text(sample_buf, HC_V1_LEN, text2) == tlen && strcmp(text2, sample_text) == 0,
		  "hc_format_text returns its length and is deterministic");
	hc_key_id(issuer_pk, id);
	CHECK(memcmp(id, sample.key_id, HC_KEY_ID_LEN) == 0 &&
		  memcmp(sample_buf + 30, id, HC_KEY_ID_LEN) == 0,
		  "key id is in the payload at offset 30");
	CHECK(sample_buf[0] == 1 && sample_buf[1] == 0x05 && sample_buf[2] == 0x09 &&
		  sample_buf[3] == 0x7A && sample_buf[20] == 1 && sample_buf[21] == 1 &&
		  sample_buf[22] == 0x65 && sample_buf[23] == 0x53 && sample_buf[24] == 0xF1 &&
		  sample_buf[25] == 0x00,
		  "packed layout: version, region 330106 = 0x05097A, colour, flags, issued_at");
	{
		hc_code		paper = sample;
		uint8_t		paper_buf[HC_MAX_LEN];

		paper.vaccinated = false;
		paper.paper = true;
		hc_pack(&paper, paper_buf);
		CHECK(paper_buf[21] == 0x02, "a paper code sets flag bit 1 (0x02), and nothing else");
	}
	CHECK(memcmp(sample_buf + HC_V1_SIGNED_LEN, sample.signature, HC_SIG_LEN) == 0,
		  "hc_sign stores the signature in the code and the payload");

	CHECK_STATUS(hc_parse_text(sample_text, tlen, buf, sizeof(buf), &len, detail, sizeof(detail)),
				 HC_OK, detail, "hc_parse_text of the formatted code");
	CHECK(len == HC_V1_LEN && memcmp(buf, sample_buf, HC_V1_LEN) == 0,
		  "hc_parse_text gives back the 102 signed bytes");
	memset(&back, 0x5A, sizeof(back));
	CHECK_STATUS(hc_unpack(buf, len, &back, detail, sizeof(detail)),
				 HC_OK, detail, "hc_unpack of the parsed bytes");
	CHECK(codes_equal(&back, &sample), "unpacked code equals the signed code");
	CHECK_STATUS(hc_validate(&back, detail, sizeof(detail)), HC_OK, detail,
				 "hc_validate of the unpacked code");
	hc_pack(&back, packed);
	CHECK(memcmp(packed, sample_buf, HC_V1_LEN) == 0, "hc_pack of the unpacked code is identical");
	CHECK(hc_signature_valid(buf, len, issuer_pk), "signature is valid under the issuer key");
	{
		uint8_t		other_pk[HC_PUBLIC_KEY_LEN];
		uint8_t		other_sk[HC_SECRET_KEY_LEN];

		hc_keypair(other_pk, other_sk);
		CHECK(!hc_signature_valid(buf, len, other_pk), "signature is invalid under another key");
		hc_wipe(other_sk, sizeof(other_sk));
		CHECK(all_bytes(other_sk, sizeof(other_sk), 0), "hc_wipe zeroes");
	}
	CHECK(!hc_signature_valid(buf, len - 1, issuer_pk), "hc_signature_valid rejects a short buffer");

	/* Every colour and both vaccination states survive a round trip. */
	{
		int			bad = 0;
		int			c;
		int			v;

		for (c = HC_GREEN; c <= HC_RED; c++)
			for (v = 0; v <= 3; v++)
			{
				hc_code		code = sample;
				uint8_t		out[HC_MAX_LEN];

				code.colour = (hc_colour) c;
				code.vaccinated = (v & 1) != 0;
				code.paper = (v & 2) != 0;
				code.region = c == HC_RED ? 0 : 110101;
				code.issued_at = HC_EPOCH_MIN;
				code.expires_at = HC_TIME_MAX;
				hc_sign(&code, issuer_sk, out);
				if (hc_unpack(out, HC_V1_LEN, &back, NULL, 0) != HC_OK ||
					!codes_equal(&back, &code) || !hc_signature_valid(out, HC_V1_LEN, issuer_pk))
					bad++;
			}
		CHECK(bad == 0, "round trip for every colour, vaccinated or not, paper or not, time extremes");
	}
	{
		hc_colour	c = HC_GREEN;

		CHECK(strcmp(hc_colour_name(HC_GREEN), "green") == 0 &&
			  strcmp(hc_colour_name(HC_YELLOW), "yellow") == 0 &&
			  strcmp(hc_colour_name(HC_RED), "red") == 0, "colour names");
		CHECK(hc_colour_from_name("red", &c) && c == HC_RED &&
			  hc_colour_from_name("green", &c) && c == HC_GREEN, "colour from name");
		CHECK(!hc_colour_from_name("Red", &c) && !hc_colour_from_name("", &c) &&
			  !hc_colour_from_name("blue", &c), "unknown colour names are rejected");
	}
}

static void
test_payload_bit_flips(void)
{
	int			caught = 0;
	int			bit;

	for (bit = 0; bit < HC_V1_LEN * 8; bit++)
	{
		uint8_t		buf[HC_MAX_LEN];
		hc_code		code;

		memcpy(buf, sample_buf, HC_V1_LEN);
		buf[bit / 8] ^= (uint8_t) (0x80u >> (bit % 8));
		if (hc_unpack(buf, HC_V1_LEN, &code, NULL, 0) != HC_OK ||
			!hc_signature_valid(buf, HC_V1_LEN, issuer_pk))
			caught++;
		else
			DIAG("flipping bit %d (byte %d) went unnoticed", bit, bit / 8);
	}
	CHECK(caught == HC_V1_LEN * 8,
		  "each of the %d single-bit flips fails hc_unpack or the signature", HC_V1_LEN * 8);
}

static void
test_payload_errors(void)
{
	uint8_t		buf[HC_V1_LEN + 8];
	hc_code		code;
	char		detail[HC_DETAIL_LEN];

#define MUTATE_AND_CHECK(want, name, ...) \
	do { \
		memcpy(buf, sample_buf, HC_V1_LEN); \
		__VA_ARGS__; \
		detail[0] = '\0'; \
		CHECK_STATUS(hc_unpack(buf, HC_V1_LEN, &code, detail, sizeof(detail)), \
					 want, detail, "hc_unpack: %s", name); \
	} while (0)

	MUTATE_AND_CHECK(HC_ERR_VERSION, "version byte 3", buf[0] = 3);
	MUTATE_AND_CHECK(HC_ERR_LENGTH, "version byte 2 on a version 1 length", buf[0] = 2);
	MUTATE_AND_CHECK(HC_ERR_VERSION, "version byte 0", buf[0] = 0);
	MUTATE_AND_CHECK(HC_ERR_VERSION, "version byte 255", buf[0] = 255);
	MUTATE_AND_CHECK(HC_ERR_COLOUR, "colour byte 3", buf[20] = 3);
	MUTATE_AND_CHECK(HC_ERR_COLOUR, "colour byte 255", buf[20] = 255);
	MUTATE_AND_CHECK(HC_ERR_FLAGS, "reserved flag bit 2", buf[21] = 0x07);
	MUTATE_AND_CHECK(HC_ERR_FLAGS, "reserved flag bit 7", buf[21] = 0x80);
	/* expires_at = issued_at */
	MUTATE_AND_CHECK(HC_ERR_TIMES, "expires_at == issued_at", memcpy(buf + 26, buf + 22, 4));
	/* expires_at = issued_at - 1: 0x6553F100 - 1 */
	MUTATE_AND_CHECK(HC_ERR_TIMES, "expires_at < issued_at",
					 buf[26] = 0x65; buf[27] = 0x53; buf[28] = 0xF0; buf[29] = 0xFF);
	/* issued_at = 2019-12-31 23:59:59 = 1577836799 = 0x5E0BE0FF */
	MUTATE_AND_CHECK(HC_ERR_TIMES, "issued_at 2019-12-31T23:59:59Z (before 2020)",
					 buf[22] = 0x5E; buf[23] = 0x0B; buf[24] = 0xE0; buf[25] = 0xFF);
	MUTATE_AND_CHECK(HC_ERR_TIMES, "issued_at 0", memset(buf + 22, 0, 4));
	/* 990000 = 0x0F1B30 */
	MUTATE_AND_CHECK(HC_ERR_REGION, "region 990000",
					 buf[1] = 0x0F; buf[2] = 0x1B; buf[3] = 0x30);
	/* 330006 = 0x050916 */
	MUTATE_AND_CHECK(HC_ERR_REGION, "region 330006 (county without city)",
					 buf[1] = 0x05; buf[2] = 0x09; buf[3] = 0x16);
	/* 1000000 = 0x0F4240: seven digits */
	MUTATE_AND_CHECK(HC_ERR_REGION, "region 1000000",
					 buf[1] = 0x0F; buf[2] = 0x42; buf[3] = 0x40);
	MUTATE_AND_CHECK(HC_ERR_REGION, "region 0xFFFFFF", memset(buf + 1, 0xFF, 3));
#undef MUTATE_AND_CHECK

	/* issued_at at the boundary (exactly 2020-01-01) is accepted. */
	memcpy(buf, sample_buf, HC_V1_LEN);
	buf[22] = 0x5E; buf[23] = 0x0B; buf[24] = 0xE1; buf[25] = 0x00;
	CHECK_STATUS(hc_unpack(buf, HC_V1_LEN, &code, NULL, 0), HC_OK, NULL,
				 "hc_unpack: issued_at 2020-01-01T00:00:00Z");
	CHECK(code.issued_at == HC_EPOCH_MIN, "issued_at decodes to HC_EPOCH_MIN");
	/* Full 32-bit times decode as unsigned. */
	memcpy(buf, sample_buf, HC_V1_LEN);
	memset(buf + 26, 0xFF, 4);
	CHECK(hc_unpack(buf, HC_V1_LEN, &code, NULL, 0) == HC_OK && code.expires_at == HC_TIME_MAX,
		  "hc_unpack: expires_at 0xFFFFFFFF is 4294967295, not negative");

	memcpy(buf, sample_buf, HC_V1_LEN);
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, HC_V1_LEN - 1, &code, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "hc_unpack: 101 bytes");
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, HC_V1_LEN + 1, &code, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "hc_unpack: 103 bytes");
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, 1, &code, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "hc_unpack: 1 byte");
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, 0, &code, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "hc_unpack: 0 bytes");
	buf[0] = 7;
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, 40, &code, detail, sizeof(detail)),
				 HC_ERR_VERSION, detail, "hc_unpack: unknown version, any length");

	/* hc_validate applies the same rules to a code about to be packed. */
	{
		hc_code		c;

#define VALIDATE_CHECK(want, name, ...) \
	do { \
		c = sample; \
		__VA_ARGS__; \
		detail[0] = '\0'; \
		CHECK_STATUS(hc_validate(&c, detail, sizeof(detail)), want, detail, \
					 "hc_validate: %s", name); \
	} while (0)

		VALIDATE_CHECK(HC_OK, "the sample code", (void) 0);
		VALIDATE_CHECK(HC_ERR_VERSION, "version 3", c.version = 3);
		VALIDATE_CHECK(HC_ERR_REGION, "region 990000", c.region = 990000);
		VALIDATE_CHECK(HC_ERR_REGION, "region 1000000", c.region = 1000000);
		VALIDATE_CHECK(HC_ERR_COLOUR, "colour 3", c.colour = (hc_colour) 3);
		VALIDATE_CHECK(HC_ERR_TIMES, "issued_at before 2020", c.issued_at = HC_EPOCH_MIN - 1);
		VALIDATE_CHECK(HC_ERR_TIMES, "issued_at negative", c.issued_at = -1);
		VALIDATE_CHECK(HC_ERR_TIMES, "issued_at past 32 bits",
					   c.issued_at = HC_TIME_MAX + 1; c.expires_at = HC_TIME_MAX + 2);
		VALIDATE_CHECK(HC_ERR_TIMES, "expires_at == issued_at", c.expires_at = c.issued_at);
		VALIDATE_CHECK(HC_ERR_TIMES, "expires_at past 32 bits", c.expires_at = HC_TIME_MAX + 1);
#undef VALIDATE_CHECK
	}
}

static void
test_text_errors(void)
{
	uint8_t		buf[HC_MAX_LEN];
	size_t		len;
	hc_code		code;
	char		detail[HC_DETAIL_LEN];
	char		text[HC_MAX_TEXT_LEN + 8];
	size_t		tlen = strlen(sample_text);

#define TEXT_CHECK(want, name, t, n) \
	do { \
		detail[0] = '\0'; \
		CHECK_STATUS(hc_parse_text((t), (n), buf, sizeof(buf), &len, detail, sizeof(detail)), \
					 want, detail, "hc_parse_text: %s", name); \
	} while (0)

	memcpy(text, sample_text, tlen + 1);
	text[2] = 'X';
	TEXT_CHECK(HC_ERR_PREFIX, "prefix \"HCX:\"", text, tlen);
	memcpy(text, sample_text, tlen + 1);
	text[0] = 'h';
	text[1] = 'c';
	text[2] = 'n';
	TEXT_CHECK(HC_ERR_PREFIX, "lowercase prefix \"hcn:\"", text, tlen);
	TEXT_CHECK(HC_ERR_PREFIX, "no prefix", sample_text + HC_PREFIX_LEN, tlen - HC_PREFIX_LEN);
	TEXT_CHECK(HC_ERR_PREFIX, "empty text", "", 0);
	TEXT_CHECK(HC_ERR_PREFIX, "\"HCN\" alone", "HCN", 3);
	TEXT_CHECK(HC_OK, "\"HCN:\" alone decodes to nothing", "HCN:", 4);
	CHECK(hc_unpack(buf, len, &code, NULL, 0) == HC_ERR_LENGTH && len == 0,
		  "an empty payload is HC_ERR_LENGTH");
	memcpy(text, sample_text, tlen + 1);
	text[10] = 'a';
	TEXT_CHECK(HC_ERR_BASE45, "lowercase base45 character", text, tlen);
	memcpy(text, sample_text, tlen);
	text[tlen] = '\n';
	TEXT_CHECK(HC_ERR_BASE45, "text + newline (3n+1 characters)", text, tlen + 1);
	memcpy(text, sample_text, tlen);
	/* 6 bytes more than a version 1 payload: more than any version has */
	memcpy(text + tlen, "BB8BB8BB8", 9);
	TEXT_CHECK(HC_ERR_LENGTH, "nine characters too many", text, tlen + 9);
	TEXT_CHECK(HC_OK, "truncated text still decodes (unpack judges length)",
			   sample_text, tlen - 3);
	CHECK(len == HC_V1_LEN - 2 &&
		  hc_unpack(buf, len, &code, detail, sizeof(detail)) == HC_ERR_LENGTH,
		  "a truncated code fails hc_unpack with HC_ERR_LENGTH");
#undef TEXT_CHECK
}

/* ---- payload, format version 2 ------------------------------------------ */

static uint32_t
rng_u32(void)
{
	return (uint32_t) rng_byte() << 24 | (uint32_t) rng_byte() << 16 |
		(uint32_t) rng_byte() << 8 | rng_byte();
}

/* A uniformly-enough random integer in [lo, hi]. */
static int64_t
rng_between(int64_t lo, int64_t hi)
{
	uint64_t	span = (uint64_t) (hi - lo) + 1;
	uint64_t	r = (uint64_t) rng_u32() << 32 | rng_u32();

	return lo + (int64_t) (r % span);
}

/* Signs code, then checks every way back: the returned length, unpack,
 * the fields, re-pack, the signature, and the text form. Returns a reason
 * for the first failure, or NULL. */
static const char *
v2_round_trip(hc_code *code, size_t *text_len_out)
{
	uint8_t		out[HC_MAX_LEN];
	uint8_t		packed[HC_MAX_LEN];
	uint8_t		parsed[HC_MAX_LEN];
	char		text[HC_MAX_TEXT_LEN];
	size_t		len,
				plen = 0,
				tlen;
	hc_code		back;

	if (hc_validate(code, NULL, 0) != HC_OK)
		return "hc_validate rejects the code";
	len = hc_sign(code, issuer_sk, out);
	if (len != hc_payload_len(code->version))
		return "hc_sign returned another length than hc_payload_len(version)";
	if (out[0] != code->version)
		return "byte 0 is not the version";
	memset(&back, 0x5A, sizeof(back));
	if (hc_unpack(out, len, &back, NULL, 0) != HC_OK)
		return "hc_unpack rejects the signed code";
	if (!codes_equal(&back, code))
		return "the unpacked code differs";
	if (hc_pack(&back, packed) != len || memcmp(packed, out, len) != 0)
		return "re-packing gives other bytes";
	if (!hc_signature_valid(out, len, issuer_pk))
		return "the signature does not verify";
	tlen = hc_format_text(out, len, text);
	if (tlen != HC_PREFIX_LEN + hc_base45_encoded_len(len) || strlen(text) != tlen ||
		tlen >= HC_MAX_TEXT_LEN)
		return "the text has the wrong length";
	if (hc_parse_text(text, tlen, parsed, sizeof(parsed), &plen, NULL, 0) != HC_OK ||
		plen != len || memcmp(parsed, out, len) != 0)
		return "the text does not parse back to the bytes";
	if (text_len_out)
		*text_len_out = tlen;
	return NULL;
}

static void
test_payload_v2_round_trip(void)
{
	uint8_t		buf[HC_MAX_LEN];
	uint8_t		packed[HC_MAX_LEN];
	size_t		len = 0;
	hc_code		back;
	char		detail[HC_DETAIL_LEN] = "";
	size_t		tlen = strlen(sample_v2_text);

	CHECK(hc_payload_len(HC_FORMAT_V1) == 102 && hc_signed_len(HC_FORMAT_V1) == 38 &&
		  hc_payload_len(HC_FORMAT_V2) == 107 && hc_signed_len(HC_FORMAT_V2) == 43 &&
		  HC_MAX_LEN == 107,
		  "hc_payload_len/hc_signed_len: version 1 102/38, version 2 107/43, HC_MAX_LEN 107");
	CHECK(hc_payload_len(0) == 0 && hc_signed_len(0) == 0 && hc_payload_len(3) == 0 &&
		  hc_signed_len(3) == 0 && hc_payload_len(255) == 0 && hc_signed_len(255) == 0 &&
		  hc_payload_len(256 + HC_FORMAT_V1) == 0,
		  "hc_payload_len/hc_signed_len are 0 for versions 0, 3, 255 and 257");
	{
		hc_code		unknown = sample;
		uint8_t		out[HC_MAX_LEN];

		unknown.version = 3;
		memset(out, 0xEE, sizeof(out));
		CHECK(hc_pack(&unknown, out) == 0 && all_bytes(out, sizeof(out), 0xEE),
			  "hc_pack of an unknown version writes nothing and returns 0");
		CHECK(hc_sign(&unknown, issuer_sk, out) == 0 && all_bytes(out, sizeof(out), 0xEE),
			  "hc_sign of an unknown version writes nothing and returns 0");
	}

	CHECK(sample_v2_len == HC_V2_LEN, "hc_sign of a version 2 code returns 107");
	CHECK(sample_v2_buf[0] == 2 && memcmp(sample_v2_buf + 1, sample_buf + 1, 37) == 0,
		  "version 2 layout: byte 0 is 2, bytes 1..37 are version 1's");
	/* 1700000000 - 2 days = 1699827200 = 0x65514E00 */
	CHECK(sample_v2_buf[38] == 0x65 && sample_v2_buf[39] == 0x51 && sample_v2_buf[40] == 0x4E &&
		  sample_v2_buf[41] == 0x00 && sample_v2_buf[42] == 2,
		  "version 2 layout: last_negative_at big-endian at 38, doses at 42");
	CHECK(memcmp(sample_v2_buf + HC_V2_SIGNED_LEN, sample_v2.signature, HC_SIG_LEN) == 0,
		  "version 2: hc_sign stores the signature at offset 43 and in the code");
	CHECK(memcmp(sample_v2.signature, sample.signature, HC_SIG_LEN) != 0,
		  "version 2 and version 1 of the same fields have different signatures");

	CHECK(tlen == HC_PREFIX_LEN + 161 && tlen == 165 && strncmp(sample_v2_text, "HCN:", 4) == 0,
		  "version 2 code text is \"HCN:\" + 161 base45 characters, 165 in all");
	CHECK(tlen < HC_MAX_TEXT_LEN, "version 2 code text fits HC_MAX_TEXT_LEN");
	CHECK_STATUS(hc_parse_text(sample_v2_text, tlen, buf, sizeof(buf), &len, detail,
							   sizeof(detail)),
				 HC_OK, detail, "hc_parse_text of the version 2 code");
	CHECK(len == HC_V2_LEN && memcmp(buf, sample_v2_buf, HC_V2_LEN) == 0,
		  "hc_parse_text gives back the 107 signed bytes");
	memset(&back, 0x5A, sizeof(back));
	CHECK_STATUS(hc_unpack(buf, len, &back, detail, sizeof(detail)), HC_OK, detail,
				 "hc_unpack of the version 2 code");
	CHECK(codes_equal(&back, &sample_v2) && back.version == HC_FORMAT_V2 &&
		  back.last_negative_at == 1699827200 && back.doses == 2,
		  "unpacked version 2 code equals the signed code, health facts included");
	CHECK(hc_pack(&back, packed) == HC_V2_LEN && memcmp(packed, sample_v2_buf, HC_V2_LEN) == 0,
		  "hc_pack of the unpacked version 2 code returns 107 and the same bytes");
	CHECK(hc_signature_valid(buf, len, issuer_pk),
		  "version 2 signature is valid under the issuer key");
	{
		uint8_t		other_pk[HC_PUBLIC_KEY_LEN];
		uint8_t		other_sk[HC_SECRET_KEY_LEN];

		hc_keypair(other_pk, other_sk);
		CHECK(!hc_signature_valid(buf, len, other_pk),
			  "version 2 signature is invalid under another key");
		hc_wipe(other_sk, sizeof(other_sk));
	}
	CHECK(!hc_signature_valid(buf, len - 1, issuer_pk) &&
		  !hc_signature_valid(buf, HC_V1_LEN, issuer_pk),
		  "hc_signature_valid rejects a version 2 payload of 106 or 102 bytes");
	{
		/* an empty buffer: the version byte must not be read (ASan) */
		uint8_t    *empty = malloc(1);

		if (empty == NULL)
			abort();
		free(empty);
		empty = malloc(0);
		CHECK(!hc_signature_valid(empty, 0, issuer_pk), "hc_signature_valid rejects 0 bytes");
		free(empty);
	}

	/* A version 1 unpack clears the health facts. */
	memset(&back, 0x5A, sizeof(back));
	CHECK(hc_unpack(sample_buf, HC_V1_LEN, &back, NULL, 0) == HC_OK &&
		  back.last_negative_at == 0 && back.doses == 0,
		  "hc_unpack of a version 1 code sets last_negative_at and doses to 0");

	/* hc_pack writes exactly hc_payload_len(version) bytes. */
	{
		uint8_t		canary[HC_MAX_LEN + 8];
		uint8_t    *exact = malloc(HC_V2_LEN);
		size_t		n;

		if (exact == NULL)
			abort();
		memset(canary, 0xEE, sizeof(canary));
		n = hc_pack(&sample, canary);
		CHECK(n == HC_V1_LEN && memcmp(canary, sample_buf, HC_V1_LEN) == 0 &&
			  all_bytes(canary + HC_V1_LEN, sizeof(canary) - HC_V1_LEN, 0xEE),
			  "hc_pack of a version 1 code returns 102 and writes nothing after byte 101");
		memset(canary, 0xEE, sizeof(canary));
		n = hc_pack(&sample_v2, canary);
		CHECK(n == HC_V2_LEN && memcmp(canary, sample_v2_buf, HC_V2_LEN) == 0 &&
			  all_bytes(canary + HC_V2_LEN, sizeof(canary) - HC_V2_LEN, 0xEE),
			  "hc_pack of a version 2 code returns 107 and writes nothing after byte 106");
		/* a heap buffer of exactly 107 bytes: ASan watches the edge */
		{
			hc_code		c = sample_v2;

			n = hc_sign(&c, issuer_sk, exact);
			CHECK(n == HC_V2_LEN && memcmp(exact, sample_v2_buf, HC_V2_LEN) == 0,
				  "hc_sign of a version 2 code into exactly 107 bytes is deterministic");
		}
		free(exact);
	}

	/* The health facts' corners, each a round trip. */
	{
		static const uint8_t doses[] = {0, 1, 255};
		size_t		d;
		int			z;

		for (d = 0; d < sizeof(doses); d++)
			for (z = 0; z < 2; z++)
			{
				hc_code		c = sample_v2;
				const char *why;
				size_t		tl = 0;

				c.doses = doses[d];
				c.last_negative_at = z == 0 ? 0 : c.issued_at - 3600;
				why = v2_round_trip(&c, &tl);
				CHECK(why == NULL && tl == 165,
					  "version 2 round trip: doses %u, last_negative_at %s, text of 165",
					  (unsigned) doses[d], z == 0 ? "0 (none)" : "an hour before issue");
				if (why)
					DIAG("%s", why);
			}
	}

	/* Random fields, both versions. */
	{
		static const uint32_t regions[] = {
			0, 110000, 110100, 110101, 330000, 330100, 330106, 419001, 650000, 820000,
		};
		int			bad[3] = {0, 0, 0};
		int			i;
		int			n_v2 = 0,
					n_none = 0,
					n_low = 0,
					n_high = 0;

		for (i = 0; i < 600; i++)
		{
			hc_code		c;
			const char *why;

			memset(&c, 0, sizeof(c));
			c.version = i % 3 == 0 ? HC_FORMAT_V1 : HC_FORMAT_V2;
			c.region = regions[rng_byte() % (sizeof(regions) / sizeof(regions[0]))];
			rng_fill(c.subject, HC_SUBJECT_LEN);
			c.colour = (hc_colour) (rng_byte() % 3);
			c.vaccinated = rng_byte() & 1;
			c.paper = rng_byte() & 1;
			switch (i % 5)
			{
				case 0:			/* the smallest times */
					c.issued_at = HC_EPOCH_MIN;
					c.expires_at = HC_EPOCH_MIN + 1;
					break;
				case 1:			/* the largest */
					c.issued_at = HC_TIME_MAX - 1;
					c.expires_at = HC_TIME_MAX;
					break;
				default:
					c.issued_at = rng_between(HC_EPOCH_MIN, HC_TIME_MAX - 1);
					c.expires_at = rng_between(c.issued_at + 1, HC_TIME_MAX);
			}
			memcpy(c.key_id, sample.key_id, HC_KEY_ID_LEN);
			if (c.version == HC_FORMAT_V2)
			{
				n_v2++;
				switch ((i / 3) % 4)
				{
					case 0:
						c.last_negative_at = 0;
						n_none++;
						break;
					case 1:
						c.last_negative_at = HC_EPOCH_MIN;
						n_low++;
						break;
					case 2:
						c.last_negative_at = c.issued_at;
						n_high++;
						break;
					default:
						c.last_negative_at = rng_between(HC_EPOCH_MIN, c.issued_at);
				}
				switch ((i / 12) % 4)
				{
					case 0:
						c.doses = 0;
						break;
					case 1:
						c.doses = 1;
						break;
					case 2:
						c.doses = 255;
						break;
					default:
						c.doses = rng_byte();
				}
			}
			why = v2_round_trip(&c, NULL);
			if (why)
			{
				if (bad[c.version]++ < 5)
					DIAG("random code %d (version %u): %s", i, (unsigned) c.version, why);
			}
		}
		CHECK(bad[HC_FORMAT_V1] == 0,
			  "round trip of 200 random version 1 codes (sign, unpack, pack, text)");
		CHECK(bad[HC_FORMAT_V2] == 0 && n_v2 == 400 && n_none > 0 && n_low > 0 && n_high > 0,
			  "round trip of 400 random version 2 codes, last_negative_at 0, 2020-01-01, "
			  "issued_at or between, doses 0/1/255/random");
	}
}

static void
test_payload_v2_bit_flips(void)
{
	/* the sample (facts set), and one with no facts (all zero bytes) */
	hc_code		zero = sample_v2;
	uint8_t		zero_buf[HC_MAX_LEN];
	const uint8_t *bufs[2];
	int			k;

	zero.last_negative_at = 0;
	zero.doses = 0;
	hc_sign(&zero, issuer_sk, zero_buf);
	bufs[0] = sample_v2_buf;
	bufs[1] = zero_buf;
	for (k = 0; k < 2; k++)
	{
		int			caught = 0;
		int			bit;

		for (bit = 0; bit < HC_V2_LEN * 8; bit++)
		{
			uint8_t		buf[HC_MAX_LEN];
			hc_code		code;

			memcpy(buf, bufs[k], HC_V2_LEN);
			buf[bit / 8] ^= (uint8_t) (0x80u >> (bit % 8));
			if (hc_unpack(buf, HC_V2_LEN, &code, NULL, 0) != HC_OK ||
				!hc_signature_valid(buf, HC_V2_LEN, issuer_pk))
				caught++;
			else
				DIAG("version 2 (%s): flipping bit %d (byte %d) went unnoticed",
					 k == 0 ? "facts" : "no facts", bit, bit / 8);
		}
		CHECK(caught == HC_V2_LEN * 8,
			  "version 2 (%s): each of the %d single-bit flips fails hc_unpack or the signature",
			  k == 0 ? "negative test and 2 doses" : "no negative test, 0 doses", HC_V2_LEN * 8);
	}
}

/* A version 2 code cannot be passed off as version 1 (dropping its health
 * facts), nor a version 1 code as version 2: the version byte is signed
 * and picks how much is. */
static void
test_payload_v2_downgrade(void)
{
	uint8_t		buf[HC_MAX_LEN + 8];
	hc_code		code;

	/* byte 0 set to 1, cut to 102 bytes: the bytes after 37 are then
	 * "the signature", but the key signed 43 bytes starting with 2 */
	memcpy(buf, sample_v2_buf, HC_V2_LEN);
	buf[0] = HC_FORMAT_V1;
	CHECK(!hc_signature_valid(buf, HC_V1_LEN, issuer_pk),
		  "downgrade: a version 2 code with version byte 1, cut to 102 bytes, fails the signature");
	/* that is the only thing that catches it: its fields are valid version 1 */
	CHECK(hc_unpack(buf, HC_V1_LEN, &code, NULL, 0) == HC_OK && code.version == HC_FORMAT_V1,
		  "downgrade: (that payload unpacks as version 1: the signature must catch it)");
	/* bytes 0..37 with version byte 1, then the version 2 signature */
	memcpy(buf, sample_v2_buf, HC_V1_SIGNED_LEN);
	buf[0] = HC_FORMAT_V1;
	memcpy(buf + HC_V1_SIGNED_LEN, sample_v2_buf + HC_V2_SIGNED_LEN, HC_SIG_LEN);
	CHECK(hc_unpack(buf, HC_V1_LEN, &code, NULL, 0) == HC_OK &&
		  !hc_signature_valid(buf, HC_V1_LEN, issuer_pk),
		  "downgrade: version 1 fields with the version 2 code's signature fail the signature");
	/* the version 2 bytes under version byte 1, whole */
	memcpy(buf, sample_v2_buf, HC_V2_LEN);
	buf[0] = HC_FORMAT_V1;
	CHECK(hc_unpack(buf, HC_V2_LEN, &code, NULL, 0) == HC_ERR_LENGTH &&
		  !hc_signature_valid(buf, HC_V2_LEN, issuer_pk),
		  "downgrade: a version 2 code with version byte 1 (107 bytes) is malformed and fails the signature");
	/* the other way: a version 1 code with version byte 2 and 5 bytes more */
	memcpy(buf, sample_buf, HC_V1_LEN);
	buf[0] = HC_FORMAT_V2;
	memset(buf + HC_V1_LEN, 0, 5);
	CHECK(!hc_signature_valid(buf, HC_V2_LEN, issuer_pk),
		  "upgrade: a version 1 code with version byte 2, padded to 107 bytes, fails the signature");
	/* or with the facts inserted before the version 1 signature */
	memcpy(buf, sample_v2_buf, HC_V2_SIGNED_LEN);
	memcpy(buf + HC_V2_SIGNED_LEN, sample_buf + HC_V1_SIGNED_LEN, HC_SIG_LEN);
	CHECK(hc_unpack(buf, HC_V2_LEN, &code, NULL, 0) == HC_OK &&
		  !hc_signature_valid(buf, HC_V2_LEN, issuer_pk),
		  "upgrade: health facts added to a version 1 code under its signature fail the signature");
	/* the version 2 signature verifies only over 43 bytes */
	memcpy(buf, sample_v2_buf, HC_V2_LEN);
	CHECK(hc_signature_valid(buf, HC_V2_LEN, issuer_pk) &&
		  !hc_signature_valid(buf, HC_V2_LEN + 1, issuer_pk),
		  "a version 2 signature with a byte appended fails");
}

static void
test_payload_v2_errors(void)
{
	uint8_t		buf[HC_MAX_LEN + 8];
	hc_code		code;
	char		detail[HC_DETAIL_LEN];

#define MUTATE_V2(want, name, ...) \
	do { \
		memcpy(buf, sample_v2_buf, HC_V2_LEN); \
		__VA_ARGS__; \
		detail[0] = '\0'; \
		CHECK_STATUS(hc_unpack(buf, HC_V2_LEN, &code, detail, sizeof(detail)), \
					 want, detail, "hc_unpack version 2: %s", name); \
	} while (0)

	/* issued_at is 1700000000 = 0x6553F100 */
	MUTATE_V2(HC_ERR_TIMES, "last_negative_at = issued_at + 1",
			  buf[38] = 0x65; buf[39] = 0x53; buf[40] = 0xF1; buf[41] = 0x01);
	MUTATE_V2(HC_ERR_TIMES, "last_negative_at 0xFFFFFFFF (after issued_at)",
			  memset(buf + 38, 0xFF, 4));
	/* 2019-12-31 23:59:59 = 0x5E0BE0FF */
	MUTATE_V2(HC_ERR_TIMES, "last_negative_at 2019-12-31T23:59:59Z (before 2020)",
			  buf[38] = 0x5E; buf[39] = 0x0B; buf[40] = 0xE0; buf[41] = 0xFF);
	MUTATE_V2(HC_ERR_TIMES, "last_negative_at 1 (1970)",
			  memset(buf + 38, 0, 3); buf[41] = 1);
	MUTATE_V2(HC_OK, "last_negative_at = issued_at", memcpy(buf + 38, buf + 22, 4));
	CHECK(code.last_negative_at == code.issued_at, "last_negative_at = issued_at decodes");
	MUTATE_V2(HC_OK, "last_negative_at 2020-01-01T00:00:00Z",
			  buf[38] = 0x5E; buf[39] = 0x0B; buf[40] = 0xE1; buf[41] = 0x00);
	CHECK(code.last_negative_at == HC_EPOCH_MIN, "last_negative_at decodes to HC_EPOCH_MIN");
	MUTATE_V2(HC_OK, "last_negative_at 0 (none known)", memset(buf + 38, 0, 4));
	CHECK(code.last_negative_at == 0, "last_negative_at 0 decodes to 0");
	MUTATE_V2(HC_OK, "doses 255", buf[42] = 255);
	CHECK(code.doses == 255, "doses 255 decodes to 255");
	/* a bad last_negative_at with a good issued_at after it moved: issued_at
	 * 2020-01-01, the test an hour later */
	MUTATE_V2(HC_ERR_TIMES, "last_negative_at after an issued_at of 2020-01-01",
			  buf[22] = 0x5E; buf[23] = 0x0B; buf[24] = 0xE1; buf[25] = 0x00;
			  buf[38] = 0x5E; buf[39] = 0x0B; buf[40] = 0xEF; buf[41] = 0x10);
	MUTATE_V2(HC_ERR_VERSION, "version byte 3 on a version 2 length", buf[0] = 3);
	MUTATE_V2(HC_ERR_LENGTH, "version byte 1 on a version 2 length (107 bytes)", buf[0] = 1);
	MUTATE_V2(HC_ERR_FLAGS, "reserved flag bit 2", buf[21] = 0x05);
	MUTATE_V2(HC_ERR_COLOUR, "colour byte 3", buf[20] = 3);
	MUTATE_V2(HC_ERR_TIMES, "expires_at == issued_at", memcpy(buf + 26, buf + 22, 4));
#undef MUTATE_V2

	memcpy(buf, sample_v2_buf, HC_V2_LEN);
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, HC_V1_LEN, &code, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "hc_unpack: a version 2 payload of 102 bytes");
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, HC_V2_LEN - 1, &code, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "hc_unpack: a version 2 payload of 106 bytes");
	buf[HC_V2_LEN] = 0;
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, HC_V2_LEN + 1, &code, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "hc_unpack: a version 2 payload of 108 bytes");
	memcpy(buf, sample_buf, HC_V1_LEN);
	memset(buf + HC_V1_LEN, 0, HC_V2_LEN - HC_V1_LEN);
	detail[0] = '\0';
	CHECK_STATUS(hc_unpack(buf, HC_V2_LEN, &code, detail, sizeof(detail)),
				 HC_ERR_LENGTH, detail, "hc_unpack: a version 1 payload of 107 bytes");
	CHECK(!hc_signature_valid(buf, HC_V2_LEN, issuer_pk),
		  "hc_signature_valid rejects a version 1 payload of 107 bytes");

	/* hc_validate: the same rules for a code about to be signed */
	{
		hc_code		c;

#define VALIDATE_V(base, want, name, ...) \
	do { \
		c = (base); \
		__VA_ARGS__; \
		detail[0] = '\0'; \
		CHECK_STATUS(hc_validate(&c, detail, sizeof(detail)), want, detail, \
					 "hc_validate: %s", name); \
	} while (0)

		VALIDATE_V(sample_v2, HC_OK, "the version 2 sample", (void) 0);
		VALIDATE_V(sample, HC_ERR_ARGUMENT, "version 1 with doses 1", c.doses = 1);
		VALIDATE_V(sample, HC_ERR_ARGUMENT, "version 1 with doses 255", c.doses = 255);
		VALIDATE_V(sample, HC_ERR_ARGUMENT, "version 1 with a last negative test",
				   c.last_negative_at = c.issued_at - 3600);
		VALIDATE_V(sample, HC_ERR_ARGUMENT, "version 1 with a last negative test and doses",
				   c.last_negative_at = c.issued_at; c.doses = 3);
		VALIDATE_V(sample, HC_OK, "version 1 with neither", c.last_negative_at = 0; c.doses = 0);
		VALIDATE_V(sample_v2, HC_OK, "version 2 with neither", c.last_negative_at = 0; c.doses = 0);
		VALIDATE_V(sample_v2, HC_OK, "version 2, last_negative_at = issued_at",
				   c.last_negative_at = c.issued_at);
		VALIDATE_V(sample_v2, HC_OK, "version 2, last_negative_at = 2020-01-01",
				   c.last_negative_at = HC_EPOCH_MIN);
		VALIDATE_V(sample_v2, HC_ERR_TIMES, "version 2, last_negative_at = issued_at + 1",
				   c.last_negative_at = c.issued_at + 1);
		VALIDATE_V(sample_v2, HC_ERR_TIMES, "version 2, last_negative_at after expires_at",
				   c.last_negative_at = c.expires_at + 86400);
		VALIDATE_V(sample_v2, HC_ERR_TIMES, "version 2, last_negative_at before 2020",
				   c.last_negative_at = HC_EPOCH_MIN - 1);
		VALIDATE_V(sample_v2, HC_ERR_TIMES, "version 2, last_negative_at 1",
				   c.last_negative_at = 1);
		VALIDATE_V(sample_v2, HC_ERR_TIMES, "version 2, last_negative_at negative",
				   c.last_negative_at = -1);
		VALIDATE_V(sample_v2, HC_ERR_TIMES, "version 2, last_negative_at past 32 bits",
				   c.last_negative_at = HC_TIME_MAX + 1);
		VALIDATE_V(sample_v2, HC_ERR_TIMES,
				   "version 2, last_negative_at 2^32 + issued_at (would wrap to issued_at)",
				   c.last_negative_at = HC_TIME_MAX + 1 + c.issued_at);
		VALIDATE_V(sample_v2, HC_ERR_VERSION, "version 3 with health facts", c.version = 3);
#undef VALIDATE_V
	}
}

static void
test_text_v2(void)
{
	uint8_t		buf[HC_MAX_LEN];
	size_t		len;
	hc_code		code;
	char		detail[HC_DETAIL_LEN];
	size_t		tlen = strlen(sample_v2_text);

	/* one byte more than a version 2 payload: 108 bytes, 166 characters */
	{
		uint8_t		longer[HC_V2_LEN + 1];
		char		ltext[HC_MAX_TEXT_LEN + 8];
		size_t		ltlen;

		memcpy(longer, sample_v2_buf, HC_V2_LEN);
		longer[HC_V2_LEN] = 0;
		ltlen = hc_format_text(longer, sizeof(longer), ltext);
		detail[0] = '\0';
		CHECK(ltlen == 166, "108 bytes are 166 characters of text");
		CHECK_STATUS(hc_parse_text(ltext, ltlen, buf, sizeof(buf), &len, detail, sizeof(detail)),
					 HC_ERR_LENGTH, detail, "hc_parse_text: text of 108 bytes (more than any version)");
	}
	detail[0] = '\0';
	CHECK_STATUS(hc_parse_text(sample_v2_text, tlen, buf, HC_V1_LEN, &len, detail,
							   sizeof(detail)),
				 HC_ERR_LENGTH, detail,
				 "hc_parse_text: version 2 text into a version 1 sized buffer (as 0.2.0 decodes)");
	detail[0] = '\0';
	CHECK_STATUS(hc_parse_text(sample_v2_text, tlen - 2, buf, sizeof(buf), &len, detail,
							   sizeof(detail)),
				 HC_OK, detail, "hc_parse_text: version 2 text without its final pair decodes");
	CHECK(len == HC_V2_LEN - 1 && hc_unpack(buf, len, &code, NULL, 0) == HC_ERR_LENGTH,
		  "a truncated version 2 code fails hc_unpack with HC_ERR_LENGTH");
	/* cut to the length of a version 1 text: 102 bytes starting with 2 */
	detail[0] = '\0';
	CHECK_STATUS(hc_parse_text(sample_v2_text, strlen(sample_text), buf, sizeof(buf), &len,
							   detail, sizeof(detail)),
				 HC_OK, detail, "hc_parse_text: version 2 text cut to 157 characters decodes");
	detail[0] = '\0';
	CHECK(len == HC_V1_LEN, "version 2 text cut to 157 characters is 102 bytes");
	CHECK_STATUS(hc_unpack(buf, len, &code, detail, sizeof(detail)), HC_ERR_LENGTH, detail,
				 "hc_unpack: version 2 text cut to a version 1 length");
}

/* ---- sealing ------------------------------------------------------------ */

static void
test_seal(void)
{
	uint8_t		sealed[HC_SEALED_LEN];
	uint8_t		sealed2[HC_SEALED_LEN];
	uint8_t		sk[HC_SECRET_KEY_LEN];
	uint8_t		other_key[HC_SERVER_KEY_LEN];
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint8_t		other_id[HC_KEY_ID_LEN];
	int			bit;
	int			bad;

	hc_key_id(issuer_pk, key_id);
	hc_seal_secret(server_key, key_id, 330106, issuer_sk, sealed);
	CHECK(memmem(sealed, sizeof(sealed), issuer_sk, 32) == NULL,
		  "sealed blob does not contain the secret seed");

	memset(sk, 0xAA, sizeof(sk));
	CHECK(hc_unseal_secret(server_key, key_id, 330106, sealed, sizeof(sealed), sk) &&
		  memcmp(sk, issuer_sk, HC_SECRET_KEY_LEN) == 0, "seal/unseal round trip");

	hc_seal_secret(server_key, key_id, 330106, issuer_sk, sealed2);
	CHECK(memcmp(sealed, sealed2, HC_SEALED_LEN) != 0, "two seals of the same key differ (nonce)");
	CHECK(hc_unseal_secret(server_key, key_id, 330106, sealed2, sizeof(sealed2), sk) &&
		  memcmp(sk, issuer_sk, HC_SECRET_KEY_LEN) == 0, "second seal opens too");

	memcpy(other_key, server_key, sizeof(other_key));
	other_key[31] ^= 1;
	memset(sk, 0xAA, sizeof(sk));
	CHECK(!hc_unseal_secret(other_key, key_id, 330106, sealed, sizeof(sealed), sk),
		  "unseal with the wrong server key fails");
	CHECK(all_bytes(sk, sizeof(sk), 0), "failed unseal (wrong server key) wipes the output");

	memcpy(other_id, key_id, sizeof(other_id));
	other_id[0] ^= 0x80;
	memset(sk, 0xAA, sizeof(sk));
	CHECK(!hc_unseal_secret(server_key, other_id, 330106, sealed, sizeof(sealed), sk),
		  "unseal with another key id (associated data) fails");
	CHECK(all_bytes(sk, sizeof(sk), 0), "failed unseal (wrong key id) wipes the output");

	memset(sk, 0xAA, sizeof(sk));
	CHECK(!hc_unseal_secret(server_key, key_id, 330100, sealed, sizeof(sealed), sk),
		  "unseal with another region (associated data) fails");
	CHECK(all_bytes(sk, sizeof(sk), 0), "failed unseal (wrong region) wipes the output");
	CHECK(!hc_unseal_secret(server_key, key_id, 0, sealed, sizeof(sealed), sk),
		  "unseal with region 000000 fails");

	bad = 0;
	for (bit = 0; bit < HC_SEALED_LEN * 8; bit++)
	{
		uint8_t		flipped[HC_SEALED_LEN];

		memcpy(flipped, sealed, sizeof(flipped));
		flipped[bit / 8] ^= (uint8_t) (1u << (bit % 8));
		memset(sk, 0xAA, sizeof(sk));
		if (hc_unseal_secret(server_key, key_id, 330106, flipped, sizeof(flipped), sk) ||
			!all_bytes(sk, sizeof(sk), 0))
		{
			if (bad++ < 5)
				DIAG("flipping sealed bit %d was not caught or not wiped", bit);
		}
	}
	CHECK(bad == 0, "each of the %d single-bit flips of the sealed blob fails and wipes",
		  HC_SEALED_LEN * 8);

	memset(sk, 0xAA, sizeof(sk));
	CHECK(!hc_unseal_secret(server_key, key_id, 330106, sealed, sizeof(sealed) - 1, sk),
		  "unseal of a truncated blob fails");
	CHECK(all_bytes(sk, sizeof(sk), 0), "failed unseal (wrong length) wipes the output");
	{
		uint8_t		longer[HC_SEALED_LEN + 1];

		memcpy(longer, sealed, HC_SEALED_LEN);
		longer[HC_SEALED_LEN] = 0;
		CHECK(!hc_unseal_secret(server_key, key_id, 330106, longer, sizeof(longer), sk),
			  "unseal of a blob with a byte appended fails");
	}
	CHECK(!hc_unseal_secret(server_key, key_id, 330106, sealed, 0, sk),
		  "unseal of an empty blob fails");
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a,
				y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* Opaque ids: a permutation of the sequence numbers (no two alike), above
 * 2^62, its own for each key and each sequence, and with no trace of the
 * order or the distance of the numbers it came from. */
static void
test_opaque_id(void)
{
	enum
	{
		N = 200000
	};
	uint8_t		key[HC_ID_KEY_LEN],
				key2[HC_ID_KEY_LEN],
				other_server[HC_SERVER_KEY_LEN],
				tweak[HC_ID_TWEAK_LEN],
				tweak_person[HC_ID_TWEAK_LEN],
				tweak_other_key[HC_ID_TWEAK_LEN];
	uint64_t   *ids = malloc(2 * N * sizeof(uint64_t));
	size_t		i,
				dup = 0,
				out_of_range = 0,
				ascending = 0,
				near = 0;

	hc_id_key(server_key, key);
	hc_opaque_id_tweak(key, "travel_id_seq", tweak);
	hc_opaque_id_tweak(key, "person_id_seq", tweak_person);
	hc_id_key(server_key, key2);
	CHECK(memcmp(key, key2, sizeof(key)) == 0, "id key derivation is deterministic");
	memcpy(other_server, server_key, sizeof(other_server));
	other_server[0] ^= 1;
	hc_id_key(other_server, key2);
	CHECK(memcmp(key, key2, sizeof(key)) != 0, "other server key, other id key");
	hc_opaque_id_tweak(key2, "travel_id_seq", tweak_other_key);

	/* the first numbers a sequence gives, and the last it may give */
	for (i = 0; i < N; i++)
	{
		ids[i] = hc_opaque_id(key, tweak, i + 1);
		ids[N + i] = hc_opaque_id(key, tweak, HC_OPAQUE_ID_DOMAIN - 1 - i);
	}
	for (i = 0; i < 2 * N; i++)
		if (ids[i] < HC_OPAQUE_ID_DOMAIN || ids[i] > (uint64_t) INT64_MAX)
			out_of_range++;
	for (i = 1; i < N; i++)
	{
		if (ids[i] > ids[i - 1])
			ascending++;
		if (ids[i] - ids[i - 1] < 1000 || ids[i - 1] - ids[i] < 1000)
			near++;
	}
	CHECK(out_of_range == 0, "every opaque id lies in [2^62, 2^63): a positive bigint, above the plain ids of before");
	CHECK(ascending > N / 2 - N / 50 && ascending < N / 2 + N / 50,
		  "consecutive numbers give ids as often larger as smaller (order says nothing)");
	CHECK(near < 10, "consecutive numbers give ids far apart (distance says nothing)");
	CHECK(hc_opaque_id(key, tweak, 1) == ids[0], "the same number gives the same id");
	CHECK(hc_opaque_id(key, tweak_person, 1) != ids[0] && hc_opaque_id(key2, tweak_other_key, 1) != ids[0],
		  "another sequence, or another key, gives another id");
	qsort(ids, 2 * N, sizeof(uint64_t), cmp_u64);
	for (i = 1; i < 2 * N; i++)
		if (ids[i] == ids[i - 1])
			dup++;
	CHECK(dup == 0, "400,000 numbers give 400,000 different ids (a permutation)");
	free(ids);
}

static void
test_pseudonym(void)
{
	uint8_t		pkey[HC_SERVER_KEY_LEN];
	uint8_t		pkey2[HC_SERVER_KEY_LEN];
	uint8_t		other_server[HC_SERVER_KEY_LEN];
	uint8_t		other_pkey[HC_SERVER_KEY_LEN];
	uint8_t		a[HC_SUBJECT_LEN],
				b[HC_SUBJECT_LEN],
				c[HC_SUBJECT_LEN],
				d[HC_SUBJECT_LEN];
	static const char id1[] = "110101199003074477";
	static const char id2[] = "110101199003074478";

	hc_pseudonym_key(server_key, pkey);
	hc_pseudonym_key(server_key, pkey2);
	CHECK(memcmp(pkey, pkey2, sizeof(pkey)) == 0, "pseudonym key derivation is deterministic");
	CHECK(memcmp(pkey, server_key, sizeof(pkey)) != 0, "pseudonym key differs from the server key");

	hc_pseudonym(pkey, (const uint8_t *) id1, strlen(id1), a);
	hc_pseudonym(pkey, (const uint8_t *) id1, strlen(id1), b);
	CHECK(memcmp(a, b, HC_SUBJECT_LEN) == 0, "pseudonym is deterministic");
	CHECK(memcmp(a, sample.subject, HC_SUBJECT_LEN) == 0, "pseudonym matches the sample's subject");
	hc_pseudonym(pkey, (const uint8_t *) id2, strlen(id2), c);
	CHECK(memcmp(a, c, HC_SUBJECT_LEN) != 0, "different identifiers give different pseudonyms");
	hc_pseudonym(pkey, (const uint8_t *) id1, strlen(id1) - 1, c);
	CHECK(memcmp(a, c, HC_SUBJECT_LEN) != 0, "a prefix of the identifier gives another pseudonym");

	memcpy(other_server, server_key, sizeof(other_server));
	other_server[0] ^= 1;
	hc_pseudonym_key(other_server, other_pkey);
	CHECK(memcmp(pkey, other_pkey, sizeof(pkey)) != 0, "other server key, other pseudonym key");
	hc_pseudonym(other_pkey, (const uint8_t *) id1, strlen(id1), d);
	CHECK(memcmp(a, d, HC_SUBJECT_LEN) != 0, "different keys give different pseudonyms");

	hc_pseudonym(pkey, (const uint8_t *) "", 0, c);
	CHECK(memcmp(a, c, HC_SUBJECT_LEN) != 0 && !all_bytes(c, HC_SUBJECT_LEN, 0),
		  "pseudonym of the empty identifier is defined");

	/* the national pseudonym's test vector of doc/peers.md, which a foreign
	 * system's own code reproduces: national key bytes 0..31 */
	{
		static const uint8_t national_vector[HC_SUBJECT_LEN] = {
			0x17, 0xc2, 0x15, 0x92, 0x74, 0x72, 0x4b, 0x99, 0x58, 0xf3, 0x22, 0xda, 0x77, 0x8f, 0xb9, 0xe7
		};
		static const char gd[] = "440106199001010013";
		uint8_t		national[HC_SERVER_KEY_LEN];
		uint8_t		nkey[HC_SERVER_KEY_LEN];
		uint8_t		n[HC_SUBJECT_LEN];
		size_t		i;

		for (i = 0; i < sizeof(national); i++)
			national[i] = (uint8_t) i;
		hc_national_pseudonym_key(national, nkey);
		hc_pseudonym(nkey, (const uint8_t *) gd, strlen(gd), n);
		CHECK(memcmp(n, national_vector, HC_SUBJECT_LEN) == 0,
			  "national pseudonym: doc/peers.md's test vector (key 00..1f, 440106199001010013)");
	}
}

static void
test_server_key(void)
{
	uint8_t		raw[HC_SERVER_KEY_LEN];
	uint8_t		out[HC_SERVER_KEY_LEN];
	char		hex[2 * HC_SERVER_KEY_LEN + 8];
	char		file[2 * HC_SERVER_KEY_LEN + 8];
	char		detail[HC_DETAIL_LEN];
	size_t		i;

	rng_fill(raw, sizeof(raw));
	raw[5] = '\n';
	raw[6] = 0;
	to_hex(raw, sizeof(raw), hex);

#define KEY_CHECK(want, name, content, n) \
	do { \
		detail[0] = '\0'; \
		memset(out, 0x5A, sizeof(out)); \
		CHECK_STATUS(hc_parse_server_key((const uint8_t *) (content), (n), out, detail, \
										 sizeof(detail)), want, detail, \
					 "server key: %s", name); \
	} while (0)

	KEY_CHECK(HC_OK, "32 raw bytes", raw, sizeof(raw));
	CHECK(memcmp(out, raw, sizeof(raw)) == 0, "server key: 32 raw bytes are taken as they are");
	KEY_CHECK(HC_OK, "64 lowercase hex digits", hex, 64);
	CHECK(memcmp(out, raw, sizeof(raw)) == 0, "server key: hex decodes to the key");
	memcpy(file, hex, 64);
	for (i = 0; i < 64; i++)
		if (file[i] >= 'a' && file[i] <= 'f')
			file[i] = (char) (file[i] - 'a' + 'A');
	KEY_CHECK(HC_OK, "64 uppercase hex digits", file, 64);
	CHECK(memcmp(out, raw, sizeof(raw)) == 0, "server key: uppercase hex decodes to the key");
	memcpy(file, hex, 64);
	file[64] = '\n';
	KEY_CHECK(HC_OK, "64 hex digits + newline", file, 65);
	CHECK(memcmp(out, raw, sizeof(raw)) == 0, "server key: hex + newline decodes to the key");

	KEY_CHECK(HC_ERR_ARGUMENT, "63 hex digits", hex, 63);
	memcpy(file, hex, 64);
	file[64] = 'a';
	KEY_CHECK(HC_ERR_ARGUMENT, "65 hex digits", file, 65);
	memcpy(file, hex, 64);
	file[64] = '\n';
	file[65] = '\n';
	KEY_CHECK(HC_ERR_ARGUMENT, "64 hex digits + two newlines", file, 66);
	memcpy(file, hex, 64);
	file[64] = '\r';
	file[65] = '\n';
	KEY_CHECK(HC_ERR_ARGUMENT, "64 hex digits + CRLF", file, 66);
	memcpy(file, hex, 63);
	file[63] = '\n';
	file[64] = '\n';
	KEY_CHECK(HC_ERR_ARGUMENT, "63 hex digits + two newlines", file, 65);
	memcpy(file, hex, 64);
	file[10] = 'g';
	KEY_CHECK(HC_ERR_ARGUMENT, "a 'g' among 64 characters", file, 64);
	CHECK(all_bytes(out, sizeof(out), 0), "server key: rejected hex leaves no partial key");
	memcpy(file, hex, 64);
	file[63] = ' ';
	file[64] = '\n';
	KEY_CHECK(HC_ERR_ARGUMENT, "a space as the last of 64 characters", file, 65);
	memcpy(file, hex, 64);
	file[0] = '\n';
	KEY_CHECK(HC_ERR_ARGUMENT, "a newline first", file, 64);
	KEY_CHECK(HC_ERR_ARGUMENT, "empty file", "", 0);
	KEY_CHECK(HC_ERR_ARGUMENT, "31 raw bytes", raw, 31);
	memcpy(file, raw, 32);
	file[32] = '\n';
	KEY_CHECK(HC_ERR_ARGUMENT, "33 bytes (32 + newline)", file, 33);
#undef KEY_CHECK
}

/* ---- QR ----------------------------------------------------------------- */

static size_t
count_char(const char *p, size_t n, char c)
{
	size_t		k = 0;

	while (n--)
		if (*p++ == c)
			k++;
	return k;
}

static void
test_qr(void)
{
	static const char *const level_names[] = {"L", "M", "Q", "H"};
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	int			lvl;
	int			prev_width = 0;
	hc_qr_level level;

	for (lvl = HC_QR_L; lvl <= HC_QR_H; lvl++)
	{
		hc_qr		qr;
		hc_buf		svg,
					png,
					utf8,
					utf8i;
		hc_status	st;
		size_t		i;
		bool		binary = true;
		size_t		n;
		int			total;

		st = hc_qr_encode(sample_text, (hc_qr_level) lvl, &qr);
		if (!CHECK_STATUS(st, HC_OK, NULL, "QR level %s: encode the code text", level_names[lvl]))
			continue;
		CHECK(qr.width >= 21 && qr.width <= 177 && (qr.width - 17) % 4 == 0,
			  "QR level %s: width %d is 17+4k", level_names[lvl], qr.width);
		CHECK(qr.width >= prev_width, "QR level %s: width does not shrink with a higher level",
			  level_names[lvl]);
		prev_width = qr.width;
		n = (size_t) qr.width * (size_t) qr.width;
		for (i = 0; i < n; i++)
			if (qr.modules[i] > 1)
				binary = false;
		/* The finder pattern: the top-left 7x7 has a dark border. */
		CHECK(binary && qr.modules[0] == 1 && qr.modules[6] == 1 &&
			  qr.modules[(size_t) 6 * qr.width] == 1 && qr.modules[(size_t) 1 * qr.width + 1] == 0 &&
			  qr.modules[(size_t) 3 * qr.width + 3] == 1,
			  "QR level %s: modules are 0/1 and the finder pattern is there", level_names[lvl]);

		st = hc_qr_svg(&qr, 4, &svg);
		CHECK_STATUS(st, HC_OK, NULL, "QR level %s: SVG", level_names[lvl]);
		if (st == HC_OK)
		{
			CHECK(svg.len > 200 && strncmp(svg.data, "<?xml", 5) == 0 &&
				  memmem(svg.data, svg.len, "<svg", 4) != NULL &&
				  memcmp(svg.data + svg.len - 7, "</svg>\n", 7) == 0 &&
				  memchr(svg.data, '\0', svg.len) == NULL,
				  "QR level %s: SVG starts with <?xml, has <svg, ends with </svg>\\n",
				  level_names[lvl]);
			hc_buf_free(&svg);
		}

		st = hc_qr_png(&qr, 3, &png);
		CHECK_STATUS(st, HC_OK, NULL, "QR level %s: PNG", level_names[lvl]);
		if (st == HC_OK)
		{
			total = (qr.width + 2 * HC_QR_MARGIN) * 3;
			CHECK(png.len > 33 && memcmp(png.data, png_sig, 8) == 0 &&
				  memcmp(png.data + 12, "IHDR", 4) == 0 &&
				  (uint8_t) png.data[16] == (uint8_t) (total >> 24) &&
				  (uint8_t) png.data[18] == (uint8_t) (total >> 8) &&
				  (uint8_t) png.data[19] == (uint8_t) total &&
				  (uint8_t) png.data[24] == 1,
				  "QR level %s: PNG signature, IHDR %dx%d 1-bit", level_names[lvl], total, total);
			CHECK(memcmp(png.data + png.len - 8, "IEND", 4) == 0,
				  "QR level %s: PNG ends with IEND", level_names[lvl]);
			hc_buf_free(&png);
		}

		st = hc_qr_utf8(&qr, false, &utf8);
		CHECK_STATUS(st, HC_OK, NULL, "QR level %s: UTF-8", level_names[lvl]);
		if (st == HC_OK)
		{
			size_t		lines = count_char(utf8.data, utf8.len, '\n');

			CHECK(lines == (size_t) (qr.width + 8 + 1) / 2 && utf8.data[utf8.len - 1] == '\n',
				  "QR level %s: UTF-8 has (width+8+1)/2 = %d lines (got %zu)",
				  level_names[lvl], (qr.width + 8 + 1) / 2, lines);
			if (hc_qr_utf8(&qr, true, &utf8i) == HC_OK)
			{
				CHECK(count_char(utf8i.data, utf8i.len, '\n') == lines &&
					  (utf8i.len != utf8.len || memcmp(utf8i.data, utf8.data, utf8.len) != 0),
					  "QR level %s: inverted UTF-8 has as many lines and differs",
					  level_names[lvl]);
				hc_buf_free(&utf8i);
			}
			else
				CHECK(false, "QR level %s: inverted UTF-8", level_names[lvl]);
			hc_buf_free(&utf8);
		}

		if (lvl == HC_QR_M)
		{
			hc_buf		b;

			CHECK_STATUS(hc_qr_svg(&qr, 0, &b), HC_ERR_ARGUMENT, NULL, "SVG module size 0");
			CHECK(b.data == NULL, "rejected SVG leaves no buffer");
			CHECK_STATUS(hc_qr_svg(&qr, 65, &b), HC_ERR_ARGUMENT, NULL, "SVG module size 65");
			CHECK_STATUS(hc_qr_svg(&qr, -1, &b), HC_ERR_ARGUMENT, NULL, "SVG module size -1");
			CHECK_STATUS(hc_qr_png(&qr, 0, &b), HC_ERR_ARGUMENT, NULL, "PNG module size 0");
			CHECK_STATUS(hc_qr_png(&qr, 65, &b), HC_ERR_ARGUMENT, NULL, "PNG module size 65");
			CHECK(b.data == NULL, "rejected PNG leaves no buffer");
			st = hc_qr_svg(&qr, 1, &b);
			CHECK_STATUS(st, HC_OK, NULL, "SVG module size 1");
			hc_buf_free(&b);
			st = hc_qr_svg(&qr, HC_QR_MAX_MODULE, &b);
			CHECK_STATUS(st, HC_OK, NULL, "SVG module size 64");
			hc_buf_free(&b);
			st = hc_qr_png(&qr, 1, &b);
			CHECK_STATUS(st, HC_OK, NULL, "PNG module size 1");
			hc_buf_free(&b);
			st = hc_qr_png(&qr, HC_QR_MAX_MODULE, &b);
			CHECK_STATUS(st, HC_OK, NULL, "PNG module size 64");
			hc_buf_free(&b);
			CHECK(b.data == NULL && b.len == 0, "hc_buf_free resets the buffer");
		}
		hc_qr_free(&qr);
		CHECK(qr.modules == NULL && qr.width == 0, "QR level %s: hc_qr_free resets the symbol",
			  level_names[lvl]);
	}

	{
		hc_qr		empty = {0, NULL};
		hc_qr		qr;
		hc_buf		b;

		CHECK_STATUS(hc_qr_svg(&empty, 4, &b), HC_ERR_ARGUMENT, NULL, "SVG of an empty symbol");
		CHECK_STATUS(hc_qr_png(&empty, 4, &b), HC_ERR_ARGUMENT, NULL, "PNG of an empty symbol");
		CHECK_STATUS(hc_qr_utf8(&empty, false, &b), HC_ERR_ARGUMENT, NULL,
					 "UTF-8 of an empty symbol");
		CHECK_STATUS(hc_qr_encode(sample_text, (hc_qr_level) 4, &qr), HC_ERR_ARGUMENT, NULL,
					 "QR encode with level 4");
		CHECK(qr.modules == NULL && qr.width == 0, "failed QR encode leaves an empty symbol");
		CHECK_STATUS(hc_qr_encode("HCN:BB8", HC_QR_L, &qr), HC_OK, NULL, "QR encode short text");
		CHECK(qr.width == 21, "short text fits a version 1 symbol (21 modules)");
		hc_qr_free(&qr);
	}

	level = HC_QR_H;
	CHECK(hc_qr_level_from_name("L", &level) && level == HC_QR_L, "QR level name L");
	CHECK(hc_qr_level_from_name("M", &level) && level == HC_QR_M, "QR level name M");
	CHECK(hc_qr_level_from_name("Q", &level) && level == HC_QR_Q, "QR level name Q");
	CHECK(hc_qr_level_from_name("H", &level) && level == HC_QR_H, "QR level name H");
	level = HC_QR_M;
	CHECK(!hc_qr_level_from_name("l", &level) && !hc_qr_level_from_name("h", &level) &&
		  !hc_qr_level_from_name("", &level) && !hc_qr_level_from_name("LM", &level) &&
		  !hc_qr_level_from_name("X", &level) && !hc_qr_level_from_name("L ", &level) &&
		  level == HC_QR_M,
		  "QR level names other than L/M/Q/H are rejected and leave the output alone");
}

int
main(void)
{
	if (!hc_crypto_init())
	{
		printf("1..1\nnot ok 1 - hc_crypto_init\nunit: 0 passed, 1 failed\n");
		return 1;
	}
	make_sample();

	test_base45_vectors();
	test_base45_errors();
	test_base45_round_trip();
	test_regions();
	test_places();
	test_payload_round_trip();
	test_payload_bit_flips();
	test_payload_errors();
	test_text_errors();
	test_payload_v2_round_trip();
	test_payload_v2_bit_flips();
	test_payload_v2_downgrade();
	test_payload_v2_errors();
	test_text_v2();
	test_seal();
	test_pseudonym();
	test_opaque_id();
	test_server_key();
	test_qr();
	test_status_engine();
	test_risky_stays();
	test_import_fields();
	test_payload_vectors();
	test_identifiers();
	test_venue_codes();

	printf("1..%d\n", n_run);
	if (tap_len)
		fwrite(tap_out, 1, tap_len, stdout);
	printf("unit: %d passed, %d failed\n", n_run - n_failed, n_failed);
	free(tap_out);
	return n_failed == 0 ? 0 : 1;
}
