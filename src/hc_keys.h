/*
 * hc_keys.h — declarations shared by the key files (internal to them):
 *   hc_key_file.c     reading the key files (server key, national key)
 *                     and locked memory for the secrets made from them;
 *   hc_key_cache.c    the backend's caches of the trust list and of the
 *                     unsealed signing keys, and their invalidation;
 *   hc_sign_pg.c      issuer key creation, issue() and verify();
 *   hc_venue_pg.c     signing and verifying venue codes;
 *   hc_pseudonym_pg.c pseudonym() and national_pseudonym().
 * What the rest of the module calls is in hc_pg.h.
 */
#ifndef HC_KEYS_H
#define HC_KEYS_H

#include "hc_pg.h"

typedef enum key_state
{
	KEY_ACTIVE,
	KEY_RETIRED,
	KEY_REVOKED
} key_state;

/* One issuer public key of the trust list. */
typedef struct TrustKey
{
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint32_t	region;
	key_state	state;
	uint8_t		public_key[HC_PUBLIC_KEY_LEN];
	TimestampTz valid_from;
	TimestampTz valid_until;
	TimestampTz signing_until;	/* valid_until while the key is the signer */
} TrustKey;

/* An unsealed issuer secret key. */
typedef struct Signer
{
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint8_t    *secret;			/* sodium_malloc'd, NOACCESS when idle */
} Signer;

/* hc_key_file.c */
typedef void (*hc_key_reader) (uint8_t out[HC_SERVER_KEY_LEN]);
extern void hc_read_server_key(uint8_t out[HC_SERVER_KEY_LEN]);
extern void hc_read_national_key(uint8_t out[HC_SERVER_KEY_LEN]);
/* Locked memory of len bytes for a secret, and the key read_root reads
 * into root: both, or an error with the memory freed. The caller wipes
 * root and sodium_free()s the memory. */
extern uint8_t *hc_locked_alloc_reading(size_t len, hc_key_reader read_root,
										uint8_t root[HC_SERVER_KEY_LEN]);

/* hc_key_cache.c: the trust list is (re)loaded by hc_trust_ensure(), and
 * the keys the lookups return are good until its next call. */
extern void hc_trust_ensure(void);
extern const TrustKey *hc_trust_find(const uint8_t key_id[HC_KEY_ID_LEN]);
extern const TrustKey *hc_trust_signing_key(uint32_t region, TimestampTz now);
extern const Signer *hc_signer_get(const TrustKey *key);
/* What a key's times say of something it signed at issued_at, judged at
 * at, in verify()'s order: key_not_valid_at_issue, key_expired,
 * not_yet_valid; NULL when they allow it (personal and venue codes alike). */
extern const char *hc_trust_key_times(const TrustKey *key, TimestampTz issued_at, TimestampTz at);

/* hc_pseudonym_pg.c */
extern void hc_pseudonym_keys_wipe(void);

/* The schema the caches read (the extension is not relocatable). */
#define HC_SCHEMA "healthcode"

/* Reading the extension's tables as their owner (hc_key_cache.c): the
 * caches behind verify() and issue() serve every role, whatever it may
 * read itself. hc_spi_query_as runs a read-only query with SPI connected. */
extern Oid	hc_relation_in_schema_if_any(const char *name);
extern Oid	hc_relation_owner(Oid relid);
extern void hc_spi_query_as(Oid owner, const char *sql, int nargs, Oid *argtypes, Datum *args);

/* Revocation lists (hc_revocation_pg.c): whether a code, or every code of
 * its subject issued up to a time, is revoked. */
extern bool hc_revoked(const hc_code *code, const uint8_t *packed, size_t len);

#endif							/* HC_KEYS_H */
