/*
 * test_vectors.c — the test vectors of doc/payload.md, computed from their
 * inputs by the core: so the document a third party writes a verifier from
 * says what this code does, byte for byte. Each vector is also looked up
 * in the document itself, so neither can change without the other.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_core.h"
#include "tap.h"

#define DOC "doc/payload.md"

static void
to_hex(const uint8_t *b, size_t n, char *out)
{
	size_t		i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

/* The document, whole, or NULL (make unittest runs in the repository root). */
static char *
read_doc(void)
{
	FILE	   *f = fopen(DOC, "rb");
	char	   *s;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t) n + 1);
	if (s != NULL && fread(s, 1, (size_t) n, f) == (size_t) n)
		s[n] = '\0';
	else
	{
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static void
vector(const char *doc, const char *name, const char *want, const char *got)
{
	CHECK(strcmp(want, got) == 0, "test vector %s: the core computes what " DOC " says", name);
	if (strcmp(want, got) != 0)
		DIAG("computed %s", got);
	CHECK(doc != NULL && strstr(doc, want) != NULL, "test vector %s stands in " DOC, name);
}

void
test_payload_vectors(void)
{
	static const char *const want_pk = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
	static const char *const want_key_id = "56475aa75463474c";
	static const struct
	{
		const char *name;
		uint8_t		version;
		hc_colour	colour;
		bool		vaccinated;
		bool		paper;
		int64_t		expires_at;
		int64_t		last_negative_at;	/* version 2 only */
		uint8_t		doses;			/* version 2 only */
		const char *payload;
		const char *text;
	}			codes[] = {
		{"phone code", HC_FORMAT_V1, HC_YELLOW, true, false, 1700000300, 0, 0,
			"0105097aa0a1a2a3a4a5a6a7a8a9aaabacadaeaf01016553f1006553f22c56475aa75463474c074ccc023d762d49912ab7f09ff89e95f4a63b54dd49b2f8d5f4802006df211ebdacba208a40988d9213bd894caf72d11a731ec37bd679aaafba01a5708a660f",
			"HCN: 50-81 DKAPKT K33LMEL-PLF$LY3MW50J C1LUJ CVRU$+AWKB3UAR09N-0QZPTY7SW5$FIIBN2AK72KZ-UNM7*/R6SM72R+8G4*0I841:N%NNMLH%CJ0LIB/NBV98NELF30+3MTF6HFV9MG90AAER+C"},
		{"paper code", HC_FORMAT_V1, HC_GREEN, false, true, 1702592000, 0, 0,
			"0105097aa0a1a2a3a4a5a6a7a8a9aaabacadaeaf00026553f100657b7e0056475aa75463474ceacb0cf5a302a0694678a65fb1774dd2368dabfdd6958a71175f22edab0e1345e8af927fe665389c5eb9a42c27e32309d1e1ed13c1e8bb7abb3ae4b00b64200b",
			"HCN: 50-81 DKAPKT K33LMEL-PLF$LY3M200J C1LUE$C -F$+AWKB3UAR09WUTWS1FRKPCK++8L1LQJMW$9F+6JXLX5RQMH/.2VI45SLSJ2WITINIV5T277*/B/XK-15EJ4:NQV/T5NOOVN5UN:+S J1D24"},
		/* format version 2: a negative test sampled 2023-11-13 08:30:00 UTC,
		 * 3 doses */
		{"version 2 phone code", HC_FORMAT_V2, HC_GREEN, true, false, 1700000300, 1699864200, 3,
			"0205097aa0a1a2a3a4a5a6a7a8a9aaabacadaeaf00016553f1006553f22c56475aa75463474c6551de88034366a8beb175305df1c05fccfce9aefb8885a7c66e4b67a2b8de0fc2773ff65d45f02a9a84437eca7c3f3386bb65b3d42b47deb402c5da7ed0a7062e84a2f504",
			"HCN:MB0-81 DKAPKT K33LMEL-PLF$LY3M100J C1LUJ CVRU$+AWKB3UAR09H C/5SPI00:C$4OU EJ*BHEO6-PHOT.ZVF+G%3P/N9VPKC3SDQO*38RZBCGU1OJ/N8-QPO:7L1HP%C0$Q%392YMP0PJ1G85LS*52RK40"},
	};
	char	   *doc = read_doc();
	uint8_t		seed[32],
				pk[HC_PUBLIC_KEY_LEN],
				sk[HC_SECRET_KEY_LEN];
	char		hex[2 * HC_MAX_LEN + 1];
	size_t		i;
	int			b;

	CHECK(doc != NULL, DOC " is readable from the repository root");
	for (b = 0; b < 32; b++)
		seed[b] = (uint8_t) b;
	crypto_sign_seed_keypair(pk, sk, seed);
	to_hex(pk, HC_PUBLIC_KEY_LEN, hex);
	vector(doc, "public key", want_pk, hex);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
	{
		hc_code		c,
					back;
		uint8_t		buf[HC_MAX_LEN];
		char		text[HC_MAX_TEXT_LEN];
		char		detail[HC_DETAIL_LEN];
		char		label[64];
		size_t		len;

		memset(&c, 0, sizeof(c));
		c.version = codes[i].version;
		c.region = 330106;
		for (b = 0; b < HC_SUBJECT_LEN; b++)
			c.subject[b] = (uint8_t) (0xa0 + b);
		c.colour = codes[i].colour;
		c.vaccinated = codes[i].vaccinated;
		c.paper = codes[i].paper;
		c.issued_at = 1700000000;
		c.expires_at = codes[i].expires_at;
		c.last_negative_at = codes[i].last_negative_at;
		c.doses = codes[i].doses;
		hc_key_id(pk, c.key_id);
		if (i == 0)
		{
			to_hex(c.key_id, HC_KEY_ID_LEN, hex);
			vector(doc, "key id", want_key_id, hex);
		}
		len = hc_sign(&c, sk, buf);
		CHECK(len == hc_payload_len(codes[i].version),
			  "test vector %s: %zu bytes, as its version %u has", codes[i].name,
			  hc_payload_len(codes[i].version), (unsigned) codes[i].version);
		to_hex(buf, len, hex);
		snprintf(label, sizeof(label), "%s, payload", codes[i].name);
		vector(doc, label, codes[i].payload, hex);
		hc_format_text(buf, len, text);
		snprintf(label, sizeof(label), "%s, text", codes[i].name);
		vector(doc, label, codes[i].text, text);
		if (i == 0)
		{
			uint8_t		h1[HC_REVOCATION_HASH_LEN],
						h2[HC_REVOCATION_HASH_LEN],
						h3[HC_REVOCATION_HASH_LEN],
						h4[HC_REVOCATION_HASH_LEN];

			hc_revocation_hash(HC_REVOKE_CODE, 330106, buf, HC_V1_LEN, h1);
			hc_revocation_hash(HC_REVOKE_CODE, 330106, buf, HC_V1_LEN, h2);
			hc_revocation_hash(HC_REVOKE_CODE, 110105, buf, HC_V1_LEN, h3);
			hc_revocation_hash(HC_REVOKE_SUBJECT, 330106, buf, HC_V1_LEN, h4);
			CHECK(memcmp(h1, h2, sizeof(h1)) == 0 && memcmp(h1, h3, sizeof(h1)) != 0 &&
				  memcmp(h1, h4, sizeof(h1)) != 0,
				  "a revocation hash is the same for the same input, and bound to its region and kind");
		}
		CHECK(hc_unpack(buf, len, &back, detail, sizeof(detail)) == HC_OK &&
			  back.version == codes[i].version && back.colour == codes[i].colour &&
			  back.paper == codes[i].paper && back.vaccinated == codes[i].vaccinated &&
			  back.last_negative_at == codes[i].last_negative_at &&
			  back.doses == codes[i].doses &&
			  hc_signature_valid(buf, len, pk),
			  "test vector %s reads back with its marks and a good signature", codes[i].name);
		if (codes[i].version == HC_FORMAT_V2)
		{
			/* the document names the health facts the bytes carry */
			char		facts[96];

			snprintf(facts, sizeof(facts), "last negative test sampled at %lld",
					 (long long) codes[i].last_negative_at);
			CHECK(doc != NULL && strstr(doc, facts) != NULL,
				  "test vector %s: " DOC " says \"%s\"", codes[i].name, facts);
			snprintf(facts, sizeof(facts), "%u doses (`%02x` at offset 42)",
					 (unsigned) codes[i].doses, (unsigned) codes[i].doses);
			CHECK(doc != NULL && strstr(doc, facts) != NULL,
				  "test vector %s: " DOC " says \"%s\"", codes[i].name, facts);
		}
	}
	free(doc);
}
