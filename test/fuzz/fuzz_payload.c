/*
 * fuzz_payload.c — libFuzzer target for hc_unpack on raw bytes, format
 * versions 1 and 2.
 * Properties: an accepted payload is exactly hc_payload_len(its version
 * byte) long, passes hc_validate, carries health facts only in version 2
 * and within their bounds, and packs back to the same bytes and length;
 * a rejected one says why, by its version byte (unknown) or its length
 * (wrong for that version) before anything else; hc_signature_valid never
 * misbehaves on any input, and accepts only a payload of its version's
 * length, never the same bytes relabelled as the other version.
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

/* The test vectors' issuer key (doc/payload.md: seed 00 01 .. 1f), and
 * their version 2 phone code, checked on the first call so that a good
 * version 2 signature is exercised whatever the corpus holds. */
static const uint8_t vector_pk[HC_PUBLIC_KEY_LEN] = {
	0x03, 0xa1, 0x07, 0xbf, 0xf3, 0xce, 0x10, 0xbe, 0x1d, 0x70, 0xdd, 0x18, 0xe7, 0x4b, 0xc0, 0x99,
	0x67, 0xe4, 0xd6, 0x30, 0x9b, 0xa5, 0x0d, 0x5f, 0x1d, 0xdc, 0x86, 0x64, 0x12, 0x55, 0x31, 0xb8,
};
static const uint8_t vector_v2[HC_V2_LEN] = {
	0x02, 0x05, 0x09, 0x7a, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
	0xac, 0xad, 0xae, 0xaf, 0x00, 0x01, 0x65, 0x53, 0xf1, 0x00, 0x65, 0x53, 0xf2, 0x2c, 0x56, 0x47,
	0x5a, 0xa7, 0x54, 0x63, 0x47, 0x4c, 0x65, 0x51, 0xde, 0x88, 0x03, 0x43, 0x66, 0xa8, 0xbe, 0xb1,
	0x75, 0x30, 0x5d, 0xf1, 0xc0, 0x5f, 0xcc, 0xfc, 0xe9, 0xae, 0xfb, 0x88, 0x85, 0xa7, 0xc6, 0x6e,
	0x4b, 0x67, 0xa2, 0xb8, 0xde, 0x0f, 0xc2, 0x77, 0x3f, 0xf6, 0x5d, 0x45, 0xf0, 0x2a, 0x9a, 0x84,
	0x43, 0x7e, 0xca, 0x7c, 0x3f, 0x33, 0x86, 0xbb, 0x65, 0xb3, 0xd4, 0x2b, 0x47, 0xde, 0xb4, 0x02,
	0xc5, 0xda, 0x7e, 0xd0, 0xa7, 0x06, 0x2e, 0x84, 0xa2, 0xf5, 0x04,
};

/* A payload whose signature verified must not verify once relabelled as
 * the other version (its version byte changed, its length that version's). */
static void
check_no_relabel(const uint8_t *data, size_t size, const uint8_t *pk)
{
	uint8_t		other[HC_MAX_LEN];
	size_t		other_len;

	memset(other, 0, sizeof(other));
	memcpy(other, data, size);
	other[0] = data[0] == HC_FORMAT_V1 ? HC_FORMAT_V2 : HC_FORMAT_V1;
	other_len = hc_payload_len(other[0]);
	if (hc_signature_valid(other, other_len, pk))
		abort();
}

/* Returns whether the signature verified under either key. */
static bool
check_payload(const uint8_t *data, size_t size)
{
	uint8_t		packed[HC_MAX_LEN + 1];
	char		detail[HC_DETAIL_LEN];
	hc_code		code;
	hc_status	st;
	bool		sig_seed,
				sig_vector;

	sig_seed = hc_signature_valid(data, size, seed_pk);
	sig_vector = hc_signature_valid(data, size, vector_pk);
	if (sig_seed || sig_vector)
	{
		/* only a payload of a known version, at that version's length */
		if (size < 1 || hc_payload_len(data[0]) == 0 || size != hc_payload_len(data[0]) ||
			(size != HC_V1_LEN && size != HC_V2_LEN))
			abort();
		check_no_relabel(data, size, sig_seed ? seed_pk : vector_pk);
	}

	memset(&code, 0xA5, sizeof(code));
	detail[0] = '\0';
	st = hc_unpack(data, size, &code, detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (detail[0] == '\0')
			abort();
		/* the version byte is judged first, then the length */
		if (size >= 1 && hc_payload_len(data[0]) == 0 && st != HC_ERR_VERSION)
			abort();
		if (size >= 1 && hc_payload_len(data[0]) != 0 && size != hc_payload_len(data[0]) &&
			st != HC_ERR_LENGTH)
			abort();
		return sig_seed || sig_vector;
	}
	if (size < 1 || code.version != data[0] || size != hc_payload_len(code.version) ||
		hc_signed_len(code.version) + HC_SIG_LEN != size ||
		hc_validate(&code, NULL, 0) != HC_OK)
		abort();
	if (code.version == HC_FORMAT_V1 && (code.last_negative_at != 0 || code.doses != 0))
		abort();
	if (code.version == HC_FORMAT_V2 &&
		(code.last_negative_at != 0 &&
		 (code.last_negative_at < HC_EPOCH_MIN || code.last_negative_at > code.issued_at)))
		abort();
	if (memcmp(code.signature, data + hc_signed_len(code.version), HC_SIG_LEN) != 0)
		abort();
	memset(packed, 0xEE, sizeof(packed));
	if (hc_pack(&code, packed) != size || memcmp(packed, data, size) != 0)
		abort();
	/* nothing written past the version's length */
	if (size < sizeof(packed) && packed[size] != 0xEE)
		abort();
	return sig_seed || sig_vector;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;

	if (!initialised)
	{
		hc_code		code;

		if (!hc_crypto_init())
			abort();
		initialised = true;
		if (!check_payload(vector_v2, sizeof(vector_v2)) ||
			hc_unpack(vector_v2, sizeof(vector_v2), &code, NULL, 0) != HC_OK ||
			code.version != HC_FORMAT_V2 || code.doses != 3 ||
			code.last_negative_at != 1699864200)
			abort();
	}
	(void) check_payload(data, size);
	return 0;
}
