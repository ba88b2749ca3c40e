/*
 * fuzz_text.c — libFuzzer target for the text form: hc_parse_text, then
 * hc_unpack, format versions 1 and 2. Properties: decoding never yields
 * more than HC_MAX_LEN bytes; an accepted code is exactly
 * hc_payload_len(its version) bytes, packs back to the same bytes and
 * length, and formats back to exactly the input text (157 characters for
 * version 1, 165 for version 2); errors come with a detail; a verified
 * signature implies a known version's length.
 */
#include "hc_core.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The issuer key of the seed code in test/fuzz/seeds (public, test only). */
static const uint8_t seed_pk[HC_PUBLIC_KEY_LEN] = {
	0x98, 0x0d, 0x65, 0xd1, 0xe2, 0xc9, 0x76, 0xa0, 0x01, 0x74, 0x3a, 0x95, 0x9f, 0xa3, 0x84, 0x7e,
	0x86, 0x16, 0x21, 0x68, 0xbf, 0x79, 0x8b, 0xa0, 0xe1, 0xd2, 0x06, 0xae, 0x1e, 0x76, 0x2b, 0x92,
};

/* The test vectors' issuer key (doc/payload.md) and their version 2 phone
 * code's text, checked on the first call whatever the corpus holds. */
static const uint8_t vector_pk[HC_PUBLIC_KEY_LEN] = {
	0x03, 0xa1, 0x07, 0xbf, 0xf3, 0xce, 0x10, 0xbe, 0x1d, 0x70, 0xdd, 0x18, 0xe7, 0x4b, 0xc0, 0x99,
	0x67, 0xe4, 0xd6, 0x30, 0x9b, 0xa5, 0x0d, 0x5f, 0x1d, 0xdc, 0x86, 0x64, 0x12, 0x55, 0x31, 0xb8,
};
static const char vector_v2_text[] =
	"HCN:MB0-81 DKAPKT K33LMEL-PLF$LY3M100J C1LUJ CVRU$+AWKB3UAR09H C/5SPI00:C$4OU EJ*BHEO6-PHOT."
	"ZVF+G%3P/N9VPKC3SDQO*38RZBCGU1OJ/N8-QPO:7L1HP%C0$Q%392YMP0PJ1G85LS*52RK40";

/* Returns whether the text is an accepted code whose signature verified
 * under either key. */
static bool
check_text(const uint8_t *data, size_t size)
{
	uint8_t		buf[HC_MAX_LEN];
	uint8_t		packed[HC_MAX_LEN + 1];
	char		text[HC_MAX_TEXT_LEN];
	char		detail[HC_DETAIL_LEN];
	size_t		len = 0;
	hc_code		code;
	hc_status	st;
	bool		sig_ok;

	detail[0] = '\0';
	st = hc_parse_text((const char *) data, size, buf, sizeof(buf), &len,
					   detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (detail[0] == '\0')
			abort();
		return false;
	}
	if (len > sizeof(buf))
		abort();
	sig_ok = hc_signature_valid(buf, len, seed_pk) || hc_signature_valid(buf, len, vector_pk);
	if (sig_ok && (len < 1 || len != hc_payload_len(buf[0]) ||
				   (len != HC_V1_LEN && len != HC_V2_LEN)))
		abort();
	detail[0] = '\0';
	st = hc_unpack(buf, len, &code, detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (detail[0] == '\0')
			abort();
		return false;
	}
	if (code.version != buf[0] || len != hc_payload_len(code.version) ||
		hc_validate(&code, NULL, 0) != HC_OK)
		abort();
	if (code.version == HC_FORMAT_V1 && (code.last_negative_at != 0 || code.doses != 0))
		abort();
	memset(packed, 0xEE, sizeof(packed));
	if (hc_pack(&code, packed) != len || memcmp(packed, buf, len) != 0 || packed[len] != 0xEE)
		abort();
	if (size != HC_PREFIX_LEN + hc_base45_encoded_len(len) ||
		(size != HC_PREFIX_LEN + 153 && size != HC_PREFIX_LEN + 161))
		abort();
	if (hc_format_text(buf, len, text) != size || strlen(text) != size ||
		memcmp(text, data, size) != 0)
		abort();
	return sig_ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;

	if (!initialised)
	{
		if (!hc_crypto_init())
			abort();
		initialised = true;
		if (strlen(vector_v2_text) != 165 ||
			!check_text((const uint8_t *) vector_v2_text, strlen(vector_v2_text)))
			abort();
	}
	(void) check_text(data, size);
	return 0;
}
