/*
 * hc_core_codec.c — base45 (RFC 9285), division codes and the payload.
 * Pure C: no PostgreSQL header (see hc_core.h).
 */
#include "hc_core.h"

#include <string.h>

static const char b45_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/* Reverse table: -1 for characters outside the alphabet. */
static int
b45_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	switch (c)
	{
		case ' ': return 36;
		case '$': return 37;
		case '%': return 38;
		case '*': return 39;
		case '+': return 40;
		case '-': return 41;
		case '.': return 42;
		case '/': return 43;
		case ':': return 44;
		default: return -1;
	}
}

size_t
hc_base45_encoded_len(size_t n)
{
	return (n / 2) * 3 + (n % 2) * 2;
}

void
hc_base45_encode(const uint8_t *in, size_t n, char *out)
{
	size_t		i;

	for (i = 0; i + 1 < n; i += 2)
	{
		unsigned	v = (unsigned) in[i] * 256u + in[i + 1];

		*out++ = b45_alphabet[v % 45];
		*out++ = b45_alphabet[(v / 45) % 45];
		*out++ = b45_alphabet[v / 2025];
	}
	if (i < n)
	{
		unsigned	v = in[i];

		*out++ = b45_alphabet[v % 45];
		*out++ = b45_alphabet[v / 45];
	}
}

hc_status
hc_base45_decode(const char *in, size_t len, uint8_t *out, size_t out_cap,
				 size_t *out_len, char *detail, size_t detail_len)
{
	size_t		i;
	size_t		n = 0;

	if (len % 3 == 1)
	{
		hc_set_detail(detail, detail_len,
				   "Base45 text has %zu characters; a length of 3n+1 is impossible.", len);
		return HC_ERR_BASE45;
	}
	if (hc_base45_encoded_len(out_cap) < len)
	{
		hc_set_detail(detail, detail_len,
				   "Base45 text has %zu characters; at most %zu are expected.",
				   len, hc_base45_encoded_len(out_cap));
		return HC_ERR_LENGTH;
	}
	for (i = 0; i < len; i += 3)
	{
		size_t		group = len - i >= 3 ? 3 : 2;
		unsigned	v = 0;
		unsigned	mul = 1;
		size_t		j;

		for (j = 0; j < group; j++)
		{
			int			d = b45_value((unsigned char) in[i + j]);

			if (d < 0)
			{
				unsigned char c = (unsigned char) in[i + j];

				if (c >= 0x20 && c < 0x7f)
					hc_set_detail(detail, detail_len,
							   "Character '%c' at position %zu of the base45 text is not in its alphabet.",
							   c, i + j + 1);
				else
					hc_set_detail(detail, detail_len,
							   "Byte 0x%02X at position %zu of the base45 text is not in its alphabet.",
							   c, i + j + 1);
				return HC_ERR_BASE45;
			}
			v += (unsigned) d * mul;
			mul *= 45;
		}
		if (group == 3)
		{
			if (v > 0xFFFF)
			{
				hc_set_detail(detail, detail_len,
						   "Base45 group at position %zu of the base45 text encodes %u, more than two bytes can hold.",
						   i + 1, v);
				return HC_ERR_BASE45;
			}
			out[n++] = (uint8_t) (v >> 8);
			out[n++] = (uint8_t) (v & 0xFF);
		}
		else
		{
			if (v > 0xFF)
			{
				hc_set_detail(detail, detail_len,
						   "Final base45 pair at position %zu of the base45 text encodes %u, more than one byte can hold.",
						   i + 1, v);
				return HC_ERR_BASE45;
			}
			out[n++] = (uint8_t) v;
		}
	}
	*out_len = n;
	return HC_OK;
}

/* ---- regions ------------------------------------------------------------ */

/* The 34 provincial-level prefixes of GB/T 2260. */
static bool
province_known(unsigned p)
{
	static const unsigned char provinces[] = {
		11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
		41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65,
		71, 81, 82
	};
	size_t		i;

	for (i = 0; i < sizeof(provinces); i++)
		if (provinces[i] == p)
			return true;
	return false;
}

bool
hc_region_valid(uint32_t region, char *detail, size_t detail_len)
{
	unsigned	province = region / 10000;
	unsigned	city = (region / 100) % 100;
	unsigned	county = region % 100;

	if (region > 999999)
	{
		hc_set_detail(detail, detail_len, "Region %u has more than six digits.", region);
		return false;
	}
	if (region == 0)
		return true;				/* 000000: the national issuer */
	if (!province_known(province))
	{
		hc_set_detail(detail, detail_len,
				   "Region %06u: %02u is not a provincial-level division code.",
				   region, province);
		return false;
	}
	if (city == 0 && county != 0)
	{
		hc_set_detail(detail, detail_len,
				   "Region %06u: a county-level code needs a city-level part (digits 3-4 are 00).",
				   region);
		return false;
	}
	return true;
}

hc_status
hc_region_parse(const char *s, size_t len, uint32_t *region,
				char *detail, size_t detail_len)
{
	uint32_t	v = 0;
	size_t		i;

	if (len != 6)
	{
		hc_set_detail(detail, detail_len,
				   "A division code has exactly six digits; got %zu characters.", len);
		return HC_ERR_REGION;
	}
	for (i = 0; i < 6; i++)
	{
		if (s[i] < '0' || s[i] > '9')
		{
			hc_set_detail(detail, detail_len,
					   "A division code has only digits; character %zu is not one.", i + 1);
			return HC_ERR_REGION;
		}
		v = v * 10 + (uint32_t) (s[i] - '0');
	}
	if (!hc_region_valid(v, detail, detail_len))
		return HC_ERR_REGION;
	*region = v;
	return HC_OK;
}

bool
hc_region_covers(uint32_t issuer, uint32_t code)
{
	if (issuer == 0 || issuer == code)
		return true;
	if (issuer % 10000 == 0)
		return issuer / 10000 == code / 10000;
	if (issuer % 100 == 0)
		return issuer / 100 == code / 100;
	return false;
}

int
hc_region_issuer_chain(uint32_t region, uint32_t chain[4])
{
	uint32_t	candidates[4] = {region, region / 100 * 100, region / 10000 * 10000, 0};
	int			n = 0;
	int			i;

	for (i = 0; i < 4; i++)
		if (n == 0 || chain[n - 1] != candidates[i])
			chain[n++] = candidates[i];
	return n;
}

void
hc_region_format(uint32_t region, char out[7])
{
	int			i;

	for (i = 5; i >= 0; i--)
	{
		out[i] = (char) ('0' + region % 10);
		region /= 10;
	}
	out[6] = '\0';
}

/* ---- places ------------------------------------------------------------- */

hc_status
hc_place_parse(const char *s, size_t len, int64_t *place, char *detail, size_t detail_len)
{
	uint32_t	division;
	int64_t		v;
	size_t		i;

	if (len != 6 && len != 9 && len != 12)
	{
		hc_set_detail(detail, detail_len,
					  "A place code has 6 digits (a division), 9 (a township or street) or 12 (a village or community); got %zu characters.",
					  len);
		return HC_ERR_REGION;
	}
	if (hc_region_parse(s, 6, &division, detail, detail_len) != HC_OK)
		return HC_ERR_REGION;
	if (division == 0)
	{
		hc_set_detail(detail, detail_len, "000000 is the whole country, not a place.");
		return HC_ERR_REGION;
	}
	v = division;
	for (i = 6; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
		{
			hc_set_detail(detail, detail_len,
						  "A place code has only digits; character %zu is not one.", i + 1);
			return HC_ERR_REGION;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (len > 6 && division % 10000 == 0)
	{
		hc_set_detail(detail, detail_len,
					  "Place %.*s: townships lie in a county or a city, not directly in province %06u.",
					  (int) len, s, division);
		return HC_ERR_REGION;
	}
	if (len >= 9 && memcmp(s + 6, "000", 3) == 0)
	{
		hc_set_detail(detail, detail_len,
					  "Place %.*s: township 000 is the county itself; write its six digits.", (int) len, s);
		return HC_ERR_REGION;
	}
	if (len == 12 && memcmp(s + 9, "000", 3) == 0)
	{
		hc_set_detail(detail, detail_len,
					  "Place %.*s: village 000 is the township itself; write its nine digits.", (int) len, s);
		return HC_ERR_REGION;
	}
	*place = v;
	return HC_OK;
}

void
hc_place_format(int64_t place, char out[HC_PLACE_MAX_DIGITS + 1])
{
	/* a division's first digit is a province's (1-8): the value alone says
	 * how many digits the code has, and only 000000 has leading zeros */
	int			digits = place < INT64_C(1000000) ? 6 : place < INT64_C(1000000000) ? 9 : 12;
	int			i;

	if (place < 0 || place > INT64_C(999999999999))
	{
		out[0] = '\0';
		return;
	}
	for (i = digits - 1; i >= 0; i--)
	{
		out[i] = (char) ('0' + place % 10);
		place /= 10;
	}
	out[digits] = '\0';
}

/* ---- payload ------------------------------------------------------------ */

static const char *const colour_names[] = {"green", "yellow", "red"};

const char *
hc_colour_name(hc_colour c)
{
	return (unsigned) c <= HC_RED ? colour_names[c] : "?";
}

bool
hc_colour_from_name(const char *name, hc_colour *out)
{
	int			i;

	for (i = HC_GREEN; i <= HC_RED; i++)
		if (strcmp(name, colour_names[i]) == 0)
		{
			*out = (hc_colour) i;
			return true;
		}
	return false;
}

size_t
hc_payload_len(unsigned version)
{
	return version == HC_FORMAT_V1 ? HC_V1_LEN : version == HC_FORMAT_V2 ? HC_V2_LEN : 0;
}

size_t
hc_signed_len(unsigned version)
{
	return version == HC_FORMAT_V1 ? HC_V1_SIGNED_LEN :
		version == HC_FORMAT_V2 ? HC_V2_SIGNED_LEN : 0;
}

static hc_status
unknown_version(unsigned version, char *detail, size_t detail_len)
{
	hc_set_detail(detail, detail_len, "Format version %u is not supported (known: 1, 2).",
				  version);
	return HC_ERR_VERSION;
}

hc_status
hc_validate(const hc_code *c, char *detail, size_t detail_len)
{
	if (hc_payload_len(c->version) == 0)
		return unknown_version(c->version, detail, detail_len);
	if (!hc_region_valid(c->region, detail, detail_len))
		return HC_ERR_REGION;
	if ((unsigned) c->colour > HC_RED)
	{
		hc_set_detail(detail, detail_len,
				   "Colour byte %u is not 0 (green), 1 (yellow) or 2 (red).",
				   (unsigned) c->colour);
		return HC_ERR_COLOUR;
	}
	if (c->issued_at < HC_EPOCH_MIN || c->issued_at > HC_TIME_MAX)
	{
		hc_set_detail(detail, detail_len,
				   "issued_at %lld is before 2020-01-01 or past the format's range.",
				   (long long) c->issued_at);
		return HC_ERR_TIMES;
	}
	if (c->expires_at > HC_TIME_MAX)
	{
		hc_set_detail(detail, detail_len,
				   "expires_at %lld is past the format's range.", (long long) c->expires_at);
		return HC_ERR_TIMES;
	}
	if (c->expires_at <= c->issued_at)
	{
		hc_set_detail(detail, detail_len,
				   "expires_at %lld is not after issued_at %lld.",
				   (long long) c->expires_at, (long long) c->issued_at);
		return HC_ERR_TIMES;
	}
	if (c->version == HC_FORMAT_V1 && (c->last_negative_at != 0 || c->doses != 0))
	{
		hc_set_detail(detail, detail_len,
					  "A version 1 code carries no last negative test and no dose count.");
		return HC_ERR_ARGUMENT;
	}
	/* a test is sampled before the code that reports it is signed */
	if (c->last_negative_at != 0 &&
		(c->last_negative_at < HC_EPOCH_MIN || c->last_negative_at > c->issued_at))
	{
		hc_set_detail(detail, detail_len,
					  "last_negative_at %lld is not 0 (none) nor between 2020-01-01 and issued_at %lld.",
					  (long long) c->last_negative_at, (long long) c->issued_at);
		return HC_ERR_TIMES;
	}
	return HC_OK;
}

hc_status
hc_unpack(const uint8_t *buf, size_t len, hc_code *out,
		  char *detail, size_t detail_len)
{
	if (len < 1)
	{
		hc_set_detail(detail, detail_len, "The payload is empty.");
		return HC_ERR_LENGTH;
	}
	if (hc_payload_len(buf[0]) == 0)
		return unknown_version(buf[0], detail, detail_len);
	if (len != hc_payload_len(buf[0]))
	{
		hc_set_detail(detail, detail_len, "A version %u payload has %zu bytes; got %zu.",
					  (unsigned) buf[0], hc_payload_len(buf[0]), len);
		return HC_ERR_LENGTH;
	}
	if (buf[21] & ~HC_FLAGS_KNOWN)
	{
		hc_set_detail(detail, detail_len,
				   "Flags byte 0x%02X sets reserved bits (only bits 0, vaccinated, and 1, paper, are defined).",
				   (unsigned) buf[21]);
		return HC_ERR_FLAGS;
	}
	out->version = buf[0];
	out->region = ((uint32_t) buf[1] << 16) | ((uint32_t) buf[2] << 8) | buf[3];
	memcpy(out->subject, buf + 4, HC_SUBJECT_LEN);
	out->colour = (hc_colour) buf[20];
	out->vaccinated = (buf[21] & HC_FLAG_VACCINATED) != 0;
	out->paper = (buf[21] & HC_FLAG_PAPER) != 0;
	out->issued_at = hc_get_be32(buf + 22);
	out->expires_at = hc_get_be32(buf + 26);
	memcpy(out->key_id, buf + 30, HC_KEY_ID_LEN);
	out->last_negative_at = 0;
	out->doses = 0;
	if (out->version == HC_FORMAT_V2)
	{
		out->last_negative_at = hc_get_be32(buf + 38);
		out->doses = buf[42];
	}
	memcpy(out->signature, buf + hc_signed_len(out->version), HC_SIG_LEN);
	return hc_validate(out, detail, detail_len);
}

size_t
hc_pack(const hc_code *c, uint8_t out[HC_MAX_LEN])
{
	size_t		signed_len = hc_signed_len(c->version);

	if (signed_len == 0)
		return 0;				/* a version this core does not know */
	out[0] = c->version;
	out[1] = (uint8_t) (c->region >> 16);
	out[2] = (uint8_t) (c->region >> 8);
	out[3] = (uint8_t) c->region;
	memcpy(out + 4, c->subject, HC_SUBJECT_LEN);
	out[20] = (uint8_t) c->colour;
	out[21] = (c->vaccinated ? HC_FLAG_VACCINATED : 0) | (c->paper ? HC_FLAG_PAPER : 0);
	hc_put_be32(out + 22, (uint32_t) c->issued_at);
	hc_put_be32(out + 26, (uint32_t) c->expires_at);
	memcpy(out + 30, c->key_id, HC_KEY_ID_LEN);
	if (c->version == HC_FORMAT_V2)
	{
		hc_put_be32(out + 38, (uint32_t) c->last_negative_at);
		out[42] = c->doses;
	}
	memcpy(out + signed_len, c->signature, HC_SIG_LEN);
	return signed_len + HC_SIG_LEN;
}

size_t
hc_prefixed_text(const char *prefix, const uint8_t *buf, size_t len, char *out)
{
	size_t		n = hc_base45_encoded_len(len);

	memcpy(out, prefix, HC_PREFIX_LEN);
	hc_base45_encode(buf, len, out + HC_PREFIX_LEN);
	out[HC_PREFIX_LEN + n] = '\0';
	return HC_PREFIX_LEN + n;
}

hc_status
hc_parse_prefixed(const char *prefix, const char *what, const char *text, size_t text_len,
				  uint8_t *buf, size_t buf_cap, size_t *buf_len, char *detail, size_t detail_len)
{
	if (text_len < HC_PREFIX_LEN || memcmp(text, prefix, HC_PREFIX_LEN) != 0)
	{
		hc_set_detail(detail, detail_len, "A %s starts with \"%s\".", what, prefix);
		return HC_ERR_PREFIX;
	}
	return hc_base45_decode(text + HC_PREFIX_LEN, text_len - HC_PREFIX_LEN,
							buf, buf_cap, buf_len, detail, detail_len);
}

size_t
hc_format_text(const uint8_t *buf, size_t len, char *out)
{
	return hc_prefixed_text(HC_PREFIX, buf, len, out);
}

hc_status
hc_parse_text(const char *text, size_t text_len, uint8_t *buf, size_t buf_cap,
			  size_t *buf_len, char *detail, size_t detail_len)
{
	return hc_parse_prefixed(HC_PREFIX, "health code", text, text_len, buf, buf_cap, buf_len,
							 detail, detail_len);
}
