/*
 * hc_pseudonym_pg.c — the keyed identifiers. pseudonym() and
 * national_pseudonym(): a person's identifier as the keyed hash that stands
 * for them in codes and tables. _next_id(): a row-secured table's next id,
 * its sequence number under a secret permutation of that sequence's own
 * (hc_opaque_id), so that ids tell no one how many rows they cannot see.
 * The keys are derived from the server key (pseudonyms and ids of this
 * node) and from the national key (the same on every node, for matching
 * people across regions), once a backend, and kept in locked memory (the
 * pseudonym keys NOACCESS when idle) until the key caches are wiped
 * (hc_key_cache.c).
 */
#include "hc_keys.h"

#include <sodium.h>

#include "catalog/pg_class.h"
#include "commands/sequence.h"
#include "utils/lsyscache.h"

static uint8_t *pseudonym_key = NULL;	/* sodium_malloc'd, NOACCESS when idle */
static uint8_t *national_pseudonym_key = NULL;	/* the same, from the national key */
static uint8_t *id_key = NULL;	/* the same, HC_ID_KEY_LEN bytes */
static uint64 id_key_generation = 0;	/* one more each time it is made */

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
	if (id_key)
	{
		sodium_free(id_key);
		id_key = NULL;
	}
}

/* A key derived from a key file, made once a backend and kept in locked,
 * NOACCESS memory. */
typedef void (*derive_fn) (const uint8_t root[HC_SERVER_KEY_LEN], uint8_t *out);

static uint8_t *
load_derived_key(uint8_t **slot, size_t len, hc_key_reader read_root, derive_fn derive)
{
	if (*slot == NULL)
	{
		uint8_t		root[HC_SERVER_KEY_LEN];
		uint8_t    *k = hc_locked_alloc_reading(len, read_root, root);

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
	return pseudonym_datum(id, load_derived_key(&pseudonym_key, HC_SERVER_KEY_LEN, hc_read_server_key, hc_pseudonym_key));
}

PG_FUNCTION_INFO_V1(healthcode_national_pseudonym);
Datum
healthcode_national_pseudonym(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);

	require_identifier(id);
	return pseudonym_datum(id, load_derived_key(&national_pseudonym_key, HC_SERVER_KEY_LEN, hc_read_national_key,
												 hc_national_pseudonym_key));
}

/* Whether a national key is configured (national pseudonyms available). */
PG_FUNCTION_INFO_V1(healthcode_national_key_configured);
Datum
healthcode_national_key_configured(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(hc_national_key_file != NULL && hc_national_key_file[0] != '\0');
}


/*
 * _next_id(seq regclass): the next id of a row-secured table, from its
 * sequence (one of this extension's: the function's own schema) under the
 * secret permutation. The sequence is advanced without a privilege check:
 * the roles that insert rows need no right on it, and so cannot read its
 * plain numbers (nextval, currval, pg_sequences) either.
 */
PG_FUNCTION_INFO_V1(healthcode_next_id);

/* What a call site of _next_id keeps (fn_extra): the sequence it checked
 * and that sequence's tweak under the id key of that generation, so that a
 * row costs the sequence's advance and the permutation, no catalog look. */
typedef struct NextIdCache
{
	Oid			seq;
	uint64		key_generation;
	uint8_t		tweak[HC_ID_TWEAK_LEN];
} NextIdCache;

Datum
healthcode_next_id(PG_FUNCTION_ARGS)
{
	Oid			seq = PG_GETARG_OID(0);
	NextIdCache *cache = (NextIdCache *) fcinfo->flinfo->fn_extra;
	int64		n;

	/*
	 * (the id key stays readable once loaded, unlike the others: two
	 * mprotect calls a row would double the cost of a bulk COPY's ids; it
	 * hides how many rows there are, and unseals and signs nothing)
	 */
	if (id_key == NULL)
	{
		sodium_mprotect_readonly(load_derived_key(&id_key, HC_ID_KEY_LEN, hc_read_server_key, hc_id_key));
		id_key_generation++;
	}
	if (cache == NULL || cache->seq != seq || cache->key_generation != id_key_generation)
	{
		char	   *name;

		if (get_rel_relkind(seq) != RELKIND_SEQUENCE
			|| get_rel_namespace(seq) != get_func_namespace(fcinfo->flinfo->fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ids come from this extension's sequences only")));
		if (cache == NULL)
			cache = fcinfo->flinfo->fn_extra = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(NextIdCache));
		name = get_rel_name(seq);
		hc_opaque_id_tweak(id_key, name, cache->tweak);
		pfree(name);
		cache->seq = seq;
		cache->key_generation = id_key_generation;
	}
	n = nextval_internal(seq, false);
	if (n < 0 || (uint64_t) n >= HC_OPAQUE_ID_DOMAIN)
		ereport(ERROR,
				(errcode(ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
				 errmsg("sequence \"%s\" is beyond the ids it can give (0 to 2^62 - 1)", get_rel_name(seq))));
	PG_RETURN_INT64((int64) hc_opaque_id(id_key, cache->tweak, (uint64_t) n));
}
