/*
 * fuzz_text.c — libFuzzer target for the text form: hc_parse_text, then
 * hc_unpack. Properties: an accepted code packs back to the same bytes and
 * formats back to exactly the input text; errors come with a detail.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	uint8_t		buf[HC_MAX_LEN];
	uint8_t		packed[HC_MAX_LEN];
	char		text[HC_MAX_TEXT_LEN];
	char		detail[HC_DETAIL_LEN];
	size_t		len = 0;
	hc_code		code;
	hc_status	st;

	if (!initialised)
	{
		if (!hc_crypto_init())
			abort();
		initialised = true;
	}

	detail[0] = '\0';
	st = hc_parse_text((const char *) data, size, buf, sizeof(buf), &len,
					   detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (detail[0] == '\0')
			abort();
		return 0;
	}
	if (len > sizeof(buf))
		abort();
	detail[0] = '\0';
	st = hc_unpack(buf, len, &code, detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (detail[0] == '\0')
			abort();
		return 0;
	}
	if (len != HC_V1_LEN || hc_validate(&code, NULL, 0) != HC_OK)
		abort();
	hc_pack(&code, packed);
	if (memcmp(packed, buf, HC_V1_LEN) != 0)
		abort();
	if (hc_format_text(buf, len, text) != size || strlen(text) != size ||
		memcmp(text, data, size) != 0)
		abort();
	(void) hc_signature_valid(buf, len, seed_pk);
	return 0;
}
