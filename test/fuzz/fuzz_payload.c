/*
 * fuzz_payload.c — libFuzzer target for hc_unpack on raw bytes.
 * Properties: an accepted payload packs back to the same bytes and passes
 * hc_validate; hc_signature_valid never misbehaves on any input.
 */
#include "hc_core.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The issuer key of the seed payload in test/fuzz/seeds (public, test only),
 * so mutations of the seed reach both outcomes of the signature check. */
static const uint8_t seed_pk[HC_PUBLIC_KEY_LEN] = {
	0x98, 0x0d, 0x65, 0xd1, 0xe2, 0xc9, 0x76, 0xa0, 0x01, 0x74, 0x3a, 0x95, 0x9f, 0xa3, 0x84, 0x7e,
	0x86, 0x16, 0x21, 0x68, 0xbf, 0x79, 0x8b, 0xa0, 0xe1, 0xd2, 0x06, 0xae, 0x1e, 0x76, 0x2b, 0x92,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	uint8_t		packed[HC_MAX_LEN];
	char		detail[HC_DETAIL_LEN];
	hc_code		code;
	hc_status	st;
	bool		sig_ok;

	if (!initialised)
	{
		if (!hc_crypto_init())
			abort();
		initialised = true;
	}

	sig_ok = hc_signature_valid(data, size, seed_pk);
	if (sig_ok && size != HC_V1_LEN)
		abort();

	detail[0] = '\0';
	st = hc_unpack(data, size, &code, detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (detail[0] == '\0')
			abort();
		return 0;
	}
	if (size != HC_V1_LEN || hc_validate(&code, NULL, 0) != HC_OK)
		abort();
	hc_pack(&code, packed);
	if (memcmp(packed, data, HC_V1_LEN) != 0)
		abort();
	return 0;
}
