/*
 * hc_key_cache.c — the backend's key caches, which keep issue and verify
 * at close to libsodium's raw speed:
 *   - the trust list (every issuer public key with its validity and
 *     status), loaded in one query;
 *   - unsealed signing keys, each in its own sodium_malloc() region that is
 *     mlock'ed, guarded and mprotect'ed NOACCESS except while signing.
 * A statement trigger on the key tables sends a relcache invalidation for
 * them (committed changes reach every backend, own changes apply at the
 * next command); the callback drops the trust cache and wipes every
 * unsealed secret at once. Changing healthcode.server_key_file and
 * backend exit wipe them too, and the pseudonym keys with them.
 *
 * The key tables are read as their owner (the extension owner) with a
 * restricted security context, so no runtime role needs any privilege on
 * them: EXECUTE on the function is the gate.
 */
#include "hc_keys.h"

#include <sodium.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"


static TrustKey *trust_keys = NULL;
static int	n_trust_keys = 0;
static uint64 inval_generation = 1;
static uint64 trust_generation = 0;
static Oid	trust_list_relid = InvalidOid;
static Oid	secret_relid = InvalidOid;
static Oid	exchange_relid = InvalidOid;	/* key_exchange (0.2.0 on) */

static Signer *signers = NULL;
static int	n_signers = 0;
static int	max_signers = 0;

/* ---- wiping -------------------------------------------------------------- */

static void
wipe_signers(void)
{
	int			i;

	/* sodium_free makes the region writable, zeroes it, then frees it */
	for (i = 0; i < n_signers; i++)
		sodium_free(signers[i].secret);
	n_signers = 0;
}

static void
invalidate_key_caches(void)
{
	inval_generation++;
	wipe_signers();
}

void
hc_keys_invalidate(void)
{
	invalidate_key_caches();
	hc_pseudonym_keys_wipe();
}

static void
relcache_callback(Datum arg, Oid relid)
{
	(void) arg;
	if (relid == InvalidOid ||
		(OidIsValid(trust_list_relid) &&
		 (relid == trust_list_relid || relid == secret_relid || relid == exchange_relid)))
		invalidate_key_caches();
}

static void
wipe_at_exit(int code, Datum arg)
{
	(void) code;
	(void) arg;
	hc_keys_invalidate();
}

void
hc_keys_register_callbacks(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	on_proc_exit(wipe_at_exit, (Datum) 0);
}

/* The trigger on trust_list, issuer_key_secret and code_revocation: tell
 * every backend that its cache of the table is stale. */
PG_FUNCTION_INFO_V1(healthcode_keys_changed);
Datum
healthcode_keys_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager", "healthcode._keys_changed")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/* ---- reading the key tables as their owner ------------------------------- */

Oid
hc_relation_in_schema_if_any(const char *name)
{
	Oid			nsp = get_namespace_oid(HC_SCHEMA, true);

	return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
}

static Oid
relation_in_schema(const char *name)
{
	Oid			relid = hc_relation_in_schema_if_any(name);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s.%s does not exist", HC_SCHEMA, name),
				 errhint("Run CREATE EXTENSION healthcode in this database.")));
	return relid;
}

Oid
hc_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Runs a read-only query as owner inside a restricted security context (as
 * REFRESH MATERIALIZED VIEW does), with SPI already connected by the caller.
 */
void
hc_spi_query_as(Oid owner, const char *sql, int nargs, Oid *argtypes, Datum *args)
{
	Oid			save_userid;
	int			save_sec_context;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		int			rc = nargs > 0
			? SPI_execute_with_args(sql, nargs, argtypes, args, NULL, true, 0)
			: SPI_execute(sql, true, 0);

		if (rc != SPI_OK_SELECT)
			elog(ERROR, "query of the extension's tables failed: %s", SPI_result_code_string(rc));
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}

static bool
copy_bytea(Datum d, uint8_t *out, size_t len)
{
	bytea	   *b = DatumGetByteaPP(d);

	if (VARSIZE_ANY_EXHDR(b) != len)
		return false;
	memcpy(out, VARDATA_ANY(b), len);
	return true;
}

/* Loads the whole trust list; columns fixed by the SELECT below. */
static void
load_trust_keys(void)
{
	uint64		gen = inval_generation;
	TrustKey   *loaded;
	int			n = 0;
	uint64		i;

	trust_list_relid = relation_in_schema("trust_list");
	secret_relid = relation_in_schema("issuer_key_secret");
	/* before ALTER EXTENSION ... UPDATE to 0.2.0 there is no key_exchange */
	exchange_relid = hc_relation_in_schema_if_any("key_exchange");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * The keys this node made, and those the national trust list brought
	 * (key_exchange, checked as they arrived). Where both know a key the
	 * stricter wins: revoked over retired over active, the earlier ends.
	 * This node's own record of its keys decides region and public key.
	 */
	hc_spi_query_as(hc_relation_owner(trust_list_relid),
				 OidIsValid(exchange_relid)
				 ? "SELECT COALESCE(t.key_id, x.key_id), COALESCE(t.region, x.region),"
				 " COALESCE(t.public_key, x.public_key), COALESCE(t.valid_from, x.valid_from),"
				 " LEAST(t.valid_until, x.valid_until), LEAST(t.signing_until, x.signing_until),"
				 " CASE WHEN 'revoked' IN (t.status, x.status) THEN 'revoked'"
				 " WHEN 'retired' IN (t.status, x.status) THEN 'retired' ELSE COALESCE(t.status, x.status) END"
				 " FROM " HC_SCHEMA ".trust_list t FULL JOIN " HC_SCHEMA ".key_exchange x"
				 " ON x.key_id OPERATOR(pg_catalog.=) t.key_id"
				 : "SELECT key_id, region, public_key, valid_from, valid_until, signing_until, status"
				 " FROM " HC_SCHEMA ".trust_list", 0, NULL, NULL);

	loaded = MemoryContextAllocZero(TopMemoryContext,
									sizeof(TrustKey) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		TrustKey   *k = &loaded[n];
		bool		isnull[7];
		Datum		d[7];
		int			c;
		char	   *status;
		uint8_t		expect_id[HC_KEY_ID_LEN];

		for (c = 0; c < 7; c++)
			d[c] = SPI_getbinval(tup, desc, c + 1, &isnull[c]);
		if (isnull[0] || isnull[1] || isnull[2] || isnull[3] || isnull[4] || isnull[6] ||
			!copy_bytea(d[0], k->key_id, HC_KEY_ID_LEN) ||
			!copy_bytea(d[2], k->public_key, HC_PUBLIC_KEY_LEN))
			goto skip;
		{
			text	   *r = DatumGetTextPP(d[1]);

			if (hc_region_parse(VARDATA_ANY(r), VARSIZE_ANY_EXHDR(r), &k->region, NULL, 0) != HC_OK)
				goto skip;
		}
		hc_key_id(k->public_key, expect_id);
		if (memcmp(expect_id, k->key_id, HC_KEY_ID_LEN) != 0)
			goto skip;
		k->valid_from = DatumGetTimestampTz(d[3]);
		k->valid_until = DatumGetTimestampTz(d[4]);
		k->signing_until = isnull[5] ? k->valid_until
			: Min(DatumGetTimestampTz(d[5]), k->valid_until);
		status = TextDatumGetCString(d[6]);
		if (strcmp(status, "active") == 0)
			k->state = KEY_ACTIVE;
		else if (strcmp(status, "retired") == 0)
			k->state = KEY_RETIRED;
		else if (strcmp(status, "revoked") == 0)
			k->state = KEY_REVOKED;
		else
			goto skip;
		n++;
		continue;
skip:
		/* The table's constraints keep such rows out; never trust one. */
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ignoring malformed trust list row %llu",
						(unsigned long long) i + 1)));
	}
	SPI_finish();

	if (trust_keys)
		pfree(trust_keys);
	trust_keys = loaded;
	n_trust_keys = n;
	/* An invalidation that arrived while loading makes the next call reload. */
	trust_generation = gen;
}

void
hc_trust_ensure(void)
{
	if (trust_generation != inval_generation)
		load_trust_keys();
}

const char *
hc_trust_key_times(const TrustKey *key, TimestampTz issued_at, TimestampTz at)
{
	/* signing_until keeps a rotated-out key from vouching for new codes;
	 * one second of slack for the whole-second issued_at */
	if (issued_at < key->valid_from - USECS_PER_SEC || issued_at > key->signing_until)
		return "key_not_valid_at_issue";
	if (at >= key->valid_until)
		return "key_expired";
	if (issued_at > at + (int64) hc_clock_skew_seconds * USECS_PER_SEC)
		return "not_yet_valid";
	return NULL;
}

const TrustKey *
hc_trust_find(const uint8_t key_id[HC_KEY_ID_LEN])
{
	int			i;

	for (i = 0; i < n_trust_keys; i++)
		if (memcmp(trust_keys[i].key_id, key_id, HC_KEY_ID_LEN) == 0)
			return &trust_keys[i];
	return NULL;
}

/* The key that signs for region now: the nearest issuer up the hierarchy
 * with an active key whose signing window holds now; the newest wins. */
const TrustKey *
hc_trust_signing_key(uint32_t region, TimestampTz now)
{
	uint32_t	chain[4];
	int			levels = hc_region_issuer_chain(region, chain);
	int			l,
				i;

	for (l = 0; l < levels; l++)
	{
		const TrustKey *best = NULL;

		for (i = 0; i < n_trust_keys; i++)
		{
			const TrustKey *k = &trust_keys[i];

			if (k->region == chain[l] && k->state == KEY_ACTIVE &&
				k->valid_from <= now && now < k->signing_until &&
				(best == NULL || k->valid_from > best->valid_from))
				best = k;
		}
		if (best)
			return best;
	}
	return NULL;
}

/* Unseals key's secret (or finds it already unsealed). */
const Signer *
hc_signer_get(const TrustKey *key)
{
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint32_t	region = key->region;
	uint8_t		sealed[HC_SEALED_LEN];
	uint8_t		server_key[HC_SERVER_KEY_LEN];
	uint8_t    *secret;
	bool		found = false;
	Datum		arg;
	Oid			argtype = BYTEAOID;
	int			i;

	for (i = 0; i < n_signers; i++)
		if (memcmp(signers[i].key_id, key->key_id, HC_KEY_ID_LEN) == 0)
			return &signers[i];

	/* key points into the trust cache, which the query below may reload */
	memcpy(key_id, key->key_id, HC_KEY_ID_LEN);
	arg = hc_make_datum(key_id, HC_KEY_ID_LEN);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	hc_spi_query_as(hc_relation_owner(secret_relid),
				 "SELECT sealed FROM " HC_SCHEMA ".issuer_key_secret"
				 " WHERE key_id OPERATOR(pg_catalog.=) $1", 1, &argtype, &arg);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		found = !isnull && copy_bytea(d, sealed, HC_SEALED_LEN);
	}
	SPI_finish();
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("issuer key %s of region %06u has no sealed secret on this node",
						hc_key_id_hex(key_id), region),
				 errdetail("Only the node that created a key can sign with it.")));

	secret = hc_locked_alloc_reading(HC_SECRET_KEY_LEN, hc_read_server_key, server_key);
	found = hc_unseal_secret(server_key, key_id, region, sealed, HC_SEALED_LEN, secret);
	sodium_memzero(server_key, sizeof(server_key));
	if (!found)
	{
		sodium_free(secret);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("the sealed secret of issuer key %s does not open with the configured server key",
						hc_key_id_hex(key_id)),
				 errhint("healthcode.server_key_file must name the key file this key was created under.")));
	}
	sodium_mprotect_noaccess(secret);

	if (n_signers == max_signers)
	{
		int			newmax = Max(8, max_signers * 2);

		signers = signers
			? repalloc(signers, sizeof(Signer) * newmax)
			: MemoryContextAlloc(TopMemoryContext, sizeof(Signer) * newmax);
		max_signers = newmax;
	}
	memcpy(signers[n_signers].key_id, key_id, HC_KEY_ID_LEN);
	signers[n_signers].secret = secret;
	return &signers[n_signers++];
}

char *
hc_key_id_hex(const uint8_t key_id[HC_KEY_ID_LEN])
{
	char	   *out = palloc(2 * HC_KEY_ID_LEN + 1);

	sodium_bin2hex(out, 2 * HC_KEY_ID_LEN + 1, key_id, HC_KEY_ID_LEN);
	return out;
}
