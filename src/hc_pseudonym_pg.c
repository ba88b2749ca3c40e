/*
 * hc_pseudonym_pg.c — pseudonym() and national_pseudonym(): a person's
 * identifier as the keyed hash that stands for them in codes and tables.
 * The keys are derived from the server key (pseudonyms of this node) and
 * from the national key (the same on every node, for matching people
 * across regions), once a backend, and kept in locked, NOACCESS memory
 * until the key caches are wiped (hc_key_cache.c).
 */
#include "hc_keys.h"

#include <sodium.h>

static uint8_t *pseudonym_key = NULL;	/* sodium_malloc'd, NOACCESS when idle */
static uint8_t *national_pseudonym_key = NULL;	/* the same, from the national key */

void
hc_pseudonym_keys_wipe(void)
{
	if (pseudonym_key)
	{
		sodium_free(pseudonym_key);
		pseudonym_key = NULL;
	}
	if (national_pseudonym_key)
	{
		sodium_free(national_pseudonym_key);
		national_pseudonym_key = NULL;
	}
}

/* A pseudonym key derived from a key file, made once a backend and kept in
 * locked, NOACCESS memory. */
typedef void (*derive_fn) (const uint8_t root[HC_SERVER_KEY_LEN], uint8_t out[HC_SERVER_KEY_LEN]);

static uint8_t *
load_pseudonym_key(uint8_t **slot, hc_key_reader read_root, derive_fn derive)
{
	if (*slot == NULL)
	{
		uint8_t		root[HC_SERVER_KEY_LEN];
		uint8_t    *k = hc_locked_alloc_reading(HC_SERVER_KEY_LEN, read_root, root);

		derive(root, k);
		sodium_memzero(root, sizeof(root));
		sodium_mprotect_noaccess(k);
		*slot = k;
	}
	return *slot;
}

static Datum
pseudonym_datum(text *id, uint8_t *key)
{
	uint8_t		out[HC_SUBJECT_LEN];

	sodium_mprotect_readonly(key);
	hc_pseudonym(key, (const uint8_t *) VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), out);
	sodium_mprotect_noaccess(key);
	return hc_make_datum(out, HC_SUBJECT_LEN);
}

static void
require_identifier(text *id)
{
	if (VARSIZE_ANY_EXHDR(id) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("identifier must not be empty")));
}

PG_FUNCTION_INFO_V1(healthcode_pseudonym);
Datum
healthcode_pseudonym(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);

	require_identifier(id);
	return pseudonym_datum(id, load_pseudonym_key(&pseudonym_key, hc_read_server_key, hc_pseudonym_key));
}

PG_FUNCTION_INFO_V1(healthcode_national_pseudonym);
Datum
healthcode_national_pseudonym(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);

	require_identifier(id);
	return pseudonym_datum(id, load_pseudonym_key(&national_pseudonym_key, hc_read_national_key,
												   hc_national_pseudonym_key));
}

/* Whether a national key is configured (national pseudonyms available). */
PG_FUNCTION_INFO_V1(healthcode_national_key_configured);
Datum
healthcode_national_key_configured(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(hc_national_key_file != NULL && hc_national_key_file[0] != '\0');
}

