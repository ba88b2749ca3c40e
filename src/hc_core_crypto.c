/*
 * hc_core_crypto.c — signatures, key ids, sealing and pseudonyms with
 * libsodium. Pure C: no PostgreSQL header (see hc_core.h).
 */
#include "hc_core.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* crypto_kdf contexts are exactly 8 bytes; subkey ids split the uses. */
#define HC_KDF_CONTEXT   "hcserver"
#define HC_KDF_SEAL      1
#define HC_KDF_PSEUDONYM 2
#define HC_KDF_NATIONAL_CONTEXT "hcnation"
#define HC_KDF_OPAQUE_ID 3

_Static_assert(HC_PUBLIC_KEY_LEN == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(HC_SECRET_KEY_LEN == crypto_sign_SECRETKEYBYTES, "secret key size");
_Static_assert(HC_SIG_LEN == crypto_sign_BYTES, "signature size");
_Static_assert(HC_SERVER_KEY_LEN == crypto_kdf_KEYBYTES, "server key size");
_Static_assert(HC_SEALED_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
			   HC_SECRET_KEY_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES,
			   "sealed size");
_Static_assert(HC_SUBJECT_LEN >= crypto_generichash_BYTES_MIN, "pseudonym size");

bool
hc_crypto_init(void)
{
	return sodium_init() >= 0;
}

void
hc_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

void
hc_key_id(const uint8_t pk[HC_PUBLIC_KEY_LEN], uint8_t id[HC_KEY_ID_LEN])
{
	uint8_t		digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, pk, HC_PUBLIC_KEY_LEN);
	memcpy(id, digest, HC_KEY_ID_LEN);
}

void
hc_keypair(uint8_t pk[HC_PUBLIC_KEY_LEN], uint8_t sk[HC_SECRET_KEY_LEN])
{
	crypto_sign_keypair(pk, sk);
}

size_t
hc_sign(hc_code *code, const uint8_t sk[HC_SECRET_KEY_LEN], uint8_t out[HC_MAX_LEN])
{
	size_t		signed_len = hc_signed_len(code->version);
	size_t		len;

	if (signed_len == 0)
		return 0;				/* a version this core does not know */
	memset(code->signature, 0, HC_SIG_LEN);
	len = hc_pack(code, out);
	crypto_sign_detached(out + signed_len, NULL, out, signed_len, sk);
	memcpy(code->signature, out + signed_len, HC_SIG_LEN);
	return len;
}

bool
hc_signature_valid(const uint8_t *buf, size_t len, const uint8_t pk[HC_PUBLIC_KEY_LEN])
{
	size_t		signed_len;

	/* the version byte, itself signed, says how much is signed */
	if (len < 1 || len != hc_payload_len(buf[0]))
		return false;
	signed_len = hc_signed_len(buf[0]);
	return crypto_sign_verify_detached(buf + signed_len, buf, signed_len, pk) == 0;
}

/* Associated data binding a sealed secret to its key id and region. */
static void
seal_ad(const uint8_t key_id[HC_KEY_ID_LEN], uint32_t region, uint8_t ad[HC_KEY_ID_LEN + 4])
{
	memcpy(ad, key_id, HC_KEY_ID_LEN);
	ad[8] = (uint8_t) (region >> 24);
	ad[9] = (uint8_t) (region >> 16);
	ad[10] = (uint8_t) (region >> 8);
	ad[11] = (uint8_t) region;
}

void
hc_seal_secret(const uint8_t server_key[HC_SERVER_KEY_LEN],
			   const uint8_t key_id[HC_KEY_ID_LEN], uint32_t region,
			   const uint8_t sk[HC_SECRET_KEY_LEN], uint8_t sealed[HC_SEALED_LEN])
{
	uint8_t		seal_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t		ad[HC_KEY_ID_LEN + 4];
	uint8_t    *nonce = sealed;

	crypto_kdf_derive_from_key(seal_key, sizeof(seal_key), HC_KDF_SEAL,
							   HC_KDF_CONTEXT, server_key);
	seal_ad(key_id, region, ad);
	randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
											   NULL, sk, HC_SECRET_KEY_LEN,
											   ad, sizeof(ad), NULL, nonce, seal_key);
	sodium_memzero(seal_key, sizeof(seal_key));
}

bool
hc_unseal_secret(const uint8_t server_key[HC_SERVER_KEY_LEN],
				 const uint8_t key_id[HC_KEY_ID_LEN], uint32_t region,
				 const uint8_t *sealed, size_t sealed_len,
				 uint8_t sk[HC_SECRET_KEY_LEN])
{
	uint8_t		seal_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t		ad[HC_KEY_ID_LEN + 4];
	int			rc;

	if (sealed_len != HC_SEALED_LEN)
	{
		sodium_memzero(sk, HC_SECRET_KEY_LEN);
		return false;
	}
	crypto_kdf_derive_from_key(seal_key, sizeof(seal_key), HC_KDF_SEAL,
							   HC_KDF_CONTEXT, server_key);
	seal_ad(key_id, region, ad);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(sk, NULL, NULL,
													sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
													sealed_len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
													ad, sizeof(ad), sealed, seal_key);
	sodium_memzero(seal_key, sizeof(seal_key));
	if (rc != 0)
	{
		sodium_memzero(sk, HC_SECRET_KEY_LEN);
		return false;
	}
	return true;
}

void
hc_pseudonym_key(const uint8_t server_key[HC_SERVER_KEY_LEN], uint8_t out[HC_SERVER_KEY_LEN])
{
	crypto_kdf_derive_from_key(out, HC_SERVER_KEY_LEN, HC_KDF_PSEUDONYM,
							   HC_KDF_CONTEXT, server_key);
}

void
hc_national_pseudonym_key(const uint8_t national_key[HC_SERVER_KEY_LEN], uint8_t out[HC_SERVER_KEY_LEN])
{
	crypto_kdf_derive_from_key(out, HC_SERVER_KEY_LEN, HC_KDF_PSEUDONYM,
							   HC_KDF_NATIONAL_CONTEXT, national_key);
}

void
hc_id_key(const uint8_t server_key[HC_SERVER_KEY_LEN], uint8_t out[HC_ID_KEY_LEN])
{
	crypto_kdf_derive_from_key(out, HC_ID_KEY_LEN, HC_KDF_OPAQUE_ID, HC_KDF_CONTEXT, server_key);
}

/* The round function: 31 bits of SipHash of the round, the half and the
 * tweak. */
static uint32_t
opaque_id_round(const uint8_t key[HC_ID_KEY_LEN], const uint8_t tweak[8], uint8_t round, uint32_t half)
{
	uint8_t		in[13] = {round, (uint8_t) (half >> 24), (uint8_t) (half >> 16), (uint8_t) (half >> 8), (uint8_t) half};
	uint8_t		h[crypto_shorthash_BYTES];

	memcpy(in + 5, tweak, 8);
	crypto_shorthash(h, in, sizeof(in), key);
	return ((uint32_t) h[0] | (uint32_t) h[1] << 8 | (uint32_t) h[2] << 16 | (uint32_t) h[3] << 24) & 0x7fffffffu;
}

_Static_assert(HC_ID_TWEAK_LEN == crypto_shorthash_BYTES, "tweak size");

void
hc_opaque_id_tweak(const uint8_t key[HC_ID_KEY_LEN], const char *name, uint8_t tweak[HC_ID_TWEAK_LEN])
{
	crypto_shorthash(tweak, (const unsigned char *) name, strlen(name), key);
}

uint64_t
hc_opaque_id(const uint8_t key[HC_ID_KEY_LEN], const uint8_t tweak[HC_ID_TWEAK_LEN], uint64_t n)
{
	uint32_t	left = (uint32_t) (n >> 31) & 0x7fffffffu,
				right = (uint32_t) n & 0x7fffffffu;
	uint8_t		round;

	for (round = 0; round < 4; round++)
	{
		uint32_t	next = left ^ opaque_id_round(key, tweak, round, right);

		left = right;
		right = next;
	}
	return HC_OPAQUE_ID_DOMAIN | (uint64_t) left << 31 | right;
}

void
hc_pseudonym(const uint8_t pkey[HC_SERVER_KEY_LEN], const uint8_t *identifier,
			 size_t len, uint8_t out[HC_SUBJECT_LEN])
{
	crypto_generichash(out, HC_SUBJECT_LEN, identifier, len, pkey, HC_SERVER_KEY_LEN);
}

static int
hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

hc_status
hc_parse_server_key(const uint8_t *content, size_t len, uint8_t out[HC_SERVER_KEY_LEN],
					char *detail, size_t detail_len)
{
	size_t		i;

	if (len == HC_SERVER_KEY_LEN)
	{
		memcpy(out, content, HC_SERVER_KEY_LEN);
		return HC_OK;
	}
	if (len == 2 * HC_SERVER_KEY_LEN + 1 && content[len - 1] == '\n')
		len--;
	if (len != 2 * HC_SERVER_KEY_LEN)
	{
		if (detail)
			snprintf(detail, detail_len,
					 "The server key file has %zu bytes; expected 32 raw bytes or 64 hex digits.",
					 len);
		return HC_ERR_ARGUMENT;
	}
	for (i = 0; i < HC_SERVER_KEY_LEN; i++)
	{
		int			hi = hex_value(content[2 * i]);
		int			lo = hex_value(content[2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			sodium_memzero(out, HC_SERVER_KEY_LEN);
			if (detail)
				snprintf(detail, detail_len,
						 "The server key file is 64 bytes long but byte %zu is not a hex digit.",
						 2 * i + (hi < 0 ? 1 : 2));
			return HC_ERR_ARGUMENT;
		}
		out[i] = (uint8_t) (hi * 16 + lo);
	}
	return HC_OK;
}

void
hc_revocation_hash(char kind, uint32_t region, const uint8_t *data, size_t len,
				   uint8_t out[HC_REVOCATION_HASH_LEN])
{
	static const char tag[] = "healthcode revocation v1";
	uint8_t		head[4];
	uint8_t		digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	head[0] = (uint8_t) kind;
	head[1] = (uint8_t) (region >> 16);
	head[2] = (uint8_t) (region >> 8);
	head[3] = (uint8_t) region;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *) tag, sizeof(tag) - 1);
	crypto_hash_sha256_update(&st, head, sizeof(head));
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, digest);
	memcpy(out, digest, HC_REVOCATION_HASH_LEN);
}

void
hc_code_holder(const uint8_t *subject, size_t subject_len, const char *day, size_t day_len,
			   uint8_t out[HC_HOLDER_LEN])
{
	uint8_t		digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, subject, subject_len);
	crypto_hash_sha256_update(&st, (const uint8_t *) day, day_len);
	crypto_hash_sha256_final(&st, digest);
	memcpy(out, digest, HC_HOLDER_LEN);
}
