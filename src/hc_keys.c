/*
 * hc_keys.c — the server key, issuer keys, issue() and verify().
 *
 * Two backend-local caches keep issue and verify at close to libsodium's
 * raw speed:
 *   - the trust list (every issuer public key with its validity and
 *     status), loaded in one query;
 *   - unsealed signing keys, each in its own sodium_malloc() region that is
 *     mlock'ed, guarded and mprotect'ed NOACCESS except while signing.
 * A statement trigger on the key tables sends a relcache invalidation for
 * them (committed changes reach every backend, own changes apply at the
 * next command); the callback drops the trust cache and wipes every
 * unsealed secret at once. Changing healthcode.server_key_file and
 * backend exit wipe them too.
 *
 * The key tables are read as their owner (the extension owner) with a
 * restricted security context, so no runtime role needs any privilege on
 * them: EXECUTE on the function is the gate.
 */
#include "hc_pg.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#define HC_SCHEMA "healthcode"
#define SERVER_KEY_HINT \
	"Create a 32-byte key file readable only by the database server's operating-system user, " \
	"e.g. head -c 32 /dev/urandom > \"$PGDATA/healthcode_server.key\" && chmod 600 \"$PGDATA/healthcode_server.key\", " \
	"then ALTER SYSTEM SET healthcode.server_key_file = 'healthcode_server.key'; SELECT pg_reload_conf();"

typedef enum key_state
{
	KEY_ACTIVE,
	KEY_RETIRED,
	KEY_REVOKED
} key_state;

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

typedef struct Signer
{
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint8_t    *secret;			/* sodium_malloc'd, NOACCESS when idle */
} Signer;

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

static uint8_t *pseudonym_key = NULL;	/* sodium_malloc'd, NOACCESS when idle */
static uint8_t *national_pseudonym_key = NULL;	/* the same, from the national key */

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

/* The trigger on trust_list and issuer_key_secret: tell every backend. */
PG_FUNCTION_INFO_V1(healthcode_keys_changed);
Datum
healthcode_keys_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("healthcode._keys_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/* ---- the server key ------------------------------------------------------ */

/*
 * Reads a 32-byte key file (the server key, the national pseudonym key)
 * into out, after checking it is a regular file of the server's user that
 * no one else may read. The caller wipes out on every path; this function
 * wipes its own buffer before any error that follows the read.
 */
static void
read_key_file(const char *path, const char *what, const char *unset_detail, const char *hint,
			  uint8_t out[HC_SERVER_KEY_LEN])
{
	uint8_t		raw[2 * HC_SERVER_KEY_LEN + 2];
	struct stat st;
	int			fd;
	ssize_t		n;
	char		detail[HC_DETAIL_LEN];

	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("healthcode %s is not configured", what),
				 errdetail("%s", unset_detail),
				 errhint("%s", hint)));

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY | O_NOFOLLOW);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open healthcode %s file \"%s\": %m", what, path),
				 errhint("%s", hint)));
	if (fstat(fd, &st) != 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat healthcode %s file \"%s\": %m", what, path)));
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		(st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("healthcode %s file \"%s\" has unsafe ownership or permissions", what, path),
				 errdetail("It must be a regular file owned by the database server's user (uid %d) "
						   "with no group or other access; it is uid %d, mode %04o.",
						   (int) geteuid(), (int) st.st_uid, (unsigned) (st.st_mode & 07777)),
				 errhint("chmod 600 the file and make the server's user its owner.")));
	}
	n = read(fd, raw, sizeof(raw));
	CloseTransientFile(fd);
	if (n < 0 || hc_parse_server_key(raw, (size_t) n, out, detail, sizeof(detail)) != HC_OK)
	{
		sodium_memzero(raw, sizeof(raw));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("healthcode %s file \"%s\" is malformed", what, path),
				 errdetail("%s", n < 0 ? "It could not be read." : detail),
				 errhint("%s", hint)));
	}
	sodium_memzero(raw, sizeof(raw));
}

static void
read_server_key(uint8_t out[HC_SERVER_KEY_LEN])
{
	read_key_file(hc_server_key_file, "server key",
				  "healthcode.server_key_file is empty; issuer secret keys are sealed under that key.",
				  SERVER_KEY_HINT, out);
}

/* ---- reading the key tables as their owner ------------------------------- */

static Oid
relation_in_schema_if_any(const char *name)
{
	Oid			nsp = get_namespace_oid(HC_SCHEMA, true);

	return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
}

static Oid
relation_in_schema(const char *name)
{
	Oid			relid = relation_in_schema_if_any(name);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s.%s does not exist", HC_SCHEMA, name),
				 errhint("Run CREATE EXTENSION healthcode in this database.")));
	return relid;
}

static Oid
relation_owner(Oid relid)
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
static void
spi_query_as(Oid owner, const char *sql, int nargs, Oid *argtypes, Datum *args)
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
			elog(ERROR, "healthcode: key table query failed: %s", SPI_result_code_string(rc));
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
	exchange_relid = relation_in_schema_if_any("key_exchange");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "healthcode: SPI_connect failed");
	/*
	 * The keys this node made, and those the national trust list brought
	 * (key_exchange, checked as they arrived). Where both know a key the
	 * stricter wins: revoked over retired over active, the earlier ends.
	 * This node's own record of its keys decides region and public key.
	 */
	spi_query_as(relation_owner(trust_list_relid),
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
				 errmsg("healthcode: ignoring malformed trust list row %llu",
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

static void
ensure_trust_keys(void)
{
	if (trust_generation != inval_generation)
		load_trust_keys();
}

static const TrustKey *
find_trust_key(const uint8_t key_id[HC_KEY_ID_LEN])
{
	int			i;

	for (i = 0; i < n_trust_keys; i++)
		if (memcmp(trust_keys[i].key_id, key_id, HC_KEY_ID_LEN) == 0)
			return &trust_keys[i];
	return NULL;
}

/* The key that signs for region now: the nearest issuer up the hierarchy
 * with an active key whose signing window holds now; the newest wins. */
static const TrustKey *
find_signing_key(uint32_t region, TimestampTz now)
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
static const Signer *
get_signer(const TrustKey *key)
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
		elog(ERROR, "healthcode: SPI_connect failed");
	spi_query_as(relation_owner(secret_relid),
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

	secret = sodium_malloc(HC_SECRET_KEY_LEN);
	if (secret == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("healthcode: could not allocate locked memory for a secret key")));
	PG_TRY();
	{
		read_server_key(server_key);
	}
	PG_CATCH();
	{
		sodium_free(secret);
		PG_RE_THROW();
	}
	PG_END_TRY();
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

/* ---- issue ---------------------------------------------------------------- */

/* Whole seconds in an interval, rounded up; months count 30 days as
 * PostgreSQL's interval comparison does. -1 when out of range. */
static int64
interval_seconds_ceil(const Interval *iv)
{
	int64		us;
	int64		days_us;

	if (pg_mul_s64_overflow((int64) iv->month * DAYS_PER_MONTH + iv->day, USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(days_us, iv->time, &us))
		return -1;
	return us <= 0 ? 0 : (us + USECS_PER_SEC - 1) / USECS_PER_SEC;
}

PG_FUNCTION_INFO_V1(healthcode_issue);
Datum
healthcode_issue(PG_FUNCTION_ARGS)
{
	uint32_t	region = hc_region_arg(PG_GETARG_TEXT_PP(0), "region");
	bytea	   *subject = PG_GETARG_BYTEA_PP(1);
	hc_colour	colour = hc_enum_to_colour(PG_GETARG_DATUM(2));
	int64		valid_for = interval_seconds_ceil(PG_GETARG_INTERVAL_P(3));
	bool		vaccinated = PG_GETARG_BOOL(4);
	/* the statement's time: a long transaction must not issue aged codes */
	TimestampTz now = GetCurrentStatementStartTimestamp();
	const TrustKey *key;
	const Signer *signer;
	hc_code		code;
	uint8_t		packed[HC_V1_LEN];
	int64		key_end;
	char		detail[HC_DETAIL_LEN];

	if (VARSIZE_ANY_EXHDR(subject) != HC_SUBJECT_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("subject must be a %d-byte pseudonym, not %zu bytes",
						HC_SUBJECT_LEN, VARSIZE_ANY_EXHDR(subject)),
				 errhint("Derive it with healthcode.pseudonym(identifier).")));
	if (valid_for < 1 || valid_for > HC_TIME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("valid_for must be a positive interval of at least one second")));

	ensure_trust_keys();
	key = find_signing_key(region, now);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no active issuer key for region %06u or any region above it", region),
				 errhint("Create one with SELECT healthcode.create_key('%06u');", region)));

	memset(&code, 0, sizeof(code));
	code.version = HC_FORMAT_V1;
	code.region = region;
	memcpy(code.subject, VARDATA_ANY(subject), HC_SUBJECT_LEN);
	code.colour = colour;
	code.vaccinated = vaccinated;
	code.issued_at = hc_timestamptz_to_unix(now);
	/* never outlive the key: capped at the end of its validity */
	key_end = hc_timestamptz_to_unix(key->valid_until);
	code.expires_at = Min(code.issued_at + valid_for, key_end);
	memcpy(code.key_id, key->key_id, HC_KEY_ID_LEN);
	if (hc_validate(&code, detail, sizeof(detail)) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot issue a code with these values"),
				 errdetail("%s", detail)));

	signer = get_signer(key);
	sodium_mprotect_readonly(signer->secret);
	hc_sign(&code, signer->secret, packed);
	sodium_mprotect_noaccess(signer->secret);
	return hc_make_datum(packed, HC_V1_LEN);
}

/* ---- verify ----------------------------------------------------------------- */

typedef struct VerifyState
{
	TupleDesc	desc;
	Datum		colour_oid[3];
} VerifyState;

static VerifyState *
verify_state(FunctionCallInfo fcinfo)
{
	VerifyState *vs = fcinfo->flinfo->fn_extra;

	if (vs == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	desc;
		int			c;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "healthcode.verify must return a composite type");
		vs = palloc(sizeof(VerifyState));
		vs->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		for (c = HC_GREEN; c <= HC_RED; c++)
			vs->colour_oid[c] = hc_colour_to_enum(TupleDescAttr(vs->desc, 1)->atttypid,
												  (hc_colour) c);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = vs;
	}
	return vs;
}

/* The documented reasons, in the order verify() checks them. */
static const char *
judge(const hc_code *code, const uint8_t *packed, size_t len, TimestampTz at)
{
	const TrustKey *key = find_trust_key(code->key_id);
	TimestampTz issued_at = hc_unix_to_timestamptz(code->issued_at);
	TimestampTz expires_at = hc_unix_to_timestamptz(code->expires_at);

	if (key == NULL)
		return "unknown_key";
	if (!hc_signature_valid(packed, len, key->public_key))
		return "bad_signature";
	if (!hc_region_covers(key->region, code->region))
		return "region_mismatch";
	if (key->state == KEY_REVOKED)
		return "key_revoked";
	/* signing_until keeps a rotated-out key from vouching for new codes;
	 * one second of slack for the whole-second issued_at */
	if (issued_at < key->valid_from - USECS_PER_SEC || issued_at > key->signing_until)
		return "key_not_valid_at_issue";
	if (at >= key->valid_until)
		return "key_expired";
	if (issued_at > at + (int64) hc_clock_skew_seconds * USECS_PER_SEC)
		return "not_yet_valid";
	if (at >= expires_at)
		return "expired";
	return "ok";
}

PG_FUNCTION_INFO_V1(healthcode_verify);
Datum
healthcode_verify(PG_FUNCTION_ARGS)
{
	struct varlena *v = HC_GETARG_BYTES(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	VerifyState *vs = verify_state(fcinfo);
	hc_code		code;
	const char *reason;
	char		region[7];
	Datum		values[8];
	bool		nulls[8] = {false};

	hc_unpack_stored(v, &code);
	ensure_trust_keys();
	reason = judge(&code, (const uint8_t *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), at);

	hc_region_format(code.region, region);
	values[0] = BoolGetDatum(strcmp(reason, "ok") == 0);
	values[1] = vs->colour_oid[code.colour];
	values[2] = PointerGetDatum(cstring_to_text(region));
	values[3] = TimestampTzGetDatum(hc_unix_to_timestamptz(code.issued_at));
	values[4] = TimestampTzGetDatum(hc_unix_to_timestamptz(code.expires_at));
	values[5] = hc_make_datum(code.key_id, HC_KEY_ID_LEN);
	values[6] = PointerGetDatum(cstring_to_text(reason));
	values[7] = BoolGetDatum(code.vaccinated);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(vs->desc, values, nulls)));
}

/* ---- key creation and pseudonyms -------------------------------------------- */

/*
 * Makes a key pair for region and returns (key_id, public_key, sealed
 * secret). The secret exists in clear only in locked memory here and is
 * wiped before returning; create_key() stores the result.
 */
PG_FUNCTION_INFO_V1(healthcode_new_issuer_key);
Datum
healthcode_new_issuer_key(PG_FUNCTION_ARGS)
{
	uint32_t	region = hc_region_arg(PG_GETARG_TEXT_PP(0), "region");
	uint8_t		server_key[HC_SERVER_KEY_LEN];
	uint8_t		public_key[HC_PUBLIC_KEY_LEN];
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint8_t		sealed[HC_SEALED_LEN];
	uint8_t    *secret;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "healthcode._new_issuer_key must return a composite type");
	desc = BlessTupleDesc(desc);

	secret = sodium_malloc(HC_SECRET_KEY_LEN);
	if (secret == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("healthcode: could not allocate locked memory for a secret key")));
	PG_TRY();
	{
		read_server_key(server_key);
	}
	PG_CATCH();
	{
		sodium_free(secret);
		PG_RE_THROW();
	}
	PG_END_TRY();
	/* nothing below raises an error until both secrets are wiped */
	hc_keypair(public_key, secret);
	hc_key_id(public_key, key_id);
	hc_seal_secret(server_key, key_id, region, secret, sealed);
	sodium_memzero(server_key, sizeof(server_key));
	sodium_free(secret);

	values[0] = hc_make_datum(key_id, HC_KEY_ID_LEN);
	values[1] = hc_make_datum(public_key, HC_PUBLIC_KEY_LEN);
	values[2] = hc_make_datum(sealed, HC_SEALED_LEN);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(healthcode_public_key_id);
Datum
healthcode_public_key_id(PG_FUNCTION_ARGS)
{
	bytea	   *pk = PG_GETARG_BYTEA_PP(0);
	uint8_t		key_id[HC_KEY_ID_LEN];

	if (VARSIZE_ANY_EXHDR(pk) != HC_PUBLIC_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an Ed25519 public key has %d bytes, not %zu",
						HC_PUBLIC_KEY_LEN, VARSIZE_ANY_EXHDR(pk))));
	hc_key_id((const uint8_t *) VARDATA_ANY(pk), key_id);
	return hc_make_datum(key_id, HC_KEY_ID_LEN);
}

/* A pseudonym key derived from a key file, made once a backend and kept in
 * locked, NOACCESS memory. */
typedef void (*derive_fn) (const uint8_t root[HC_SERVER_KEY_LEN], uint8_t out[HC_SERVER_KEY_LEN]);

static uint8_t *
load_pseudonym_key(uint8_t **slot, void (*read_root) (uint8_t out[HC_SERVER_KEY_LEN]), derive_fn derive)
{
	if (*slot == NULL)
	{
		uint8_t		root[HC_SERVER_KEY_LEN];
		uint8_t    *k = sodium_malloc(HC_SERVER_KEY_LEN);

		if (k == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
							errmsg("healthcode: could not allocate locked memory for a key")));
		PG_TRY();
		{
			read_root(root);
		}
		PG_CATCH();
		{
			sodium_free(k);
			PG_RE_THROW();
		}
		PG_END_TRY();
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
	return pseudonym_datum(id, load_pseudonym_key(&pseudonym_key, read_server_key, hc_pseudonym_key));
}

#define NATIONAL_KEY_HINT \
	"Every node of the national scheme holds the same 32-byte national key file, readable only by the server's " \
	"operating-system user: ALTER SYSTEM SET healthcode.national_key_file = 'healthcode_national.key'; SELECT pg_reload_conf();"

static void
read_national_key(uint8_t out[HC_SERVER_KEY_LEN])
{
	read_key_file(hc_national_key_file, "national key",
				  "healthcode.national_key_file is empty; matching people across regions needs it.",
				  NATIONAL_KEY_HINT, out);
}

PG_FUNCTION_INFO_V1(healthcode_national_pseudonym);
Datum
healthcode_national_pseudonym(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);

	require_identifier(id);
	return pseudonym_datum(id, load_pseudonym_key(&national_pseudonym_key, read_national_key,
												   hc_national_pseudonym_key));
}

/* Whether a national key is configured (national pseudonyms available). */
PG_FUNCTION_INFO_V1(healthcode_national_key_configured);
Datum
healthcode_national_key_configured(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(hc_national_key_file != NULL && hc_national_key_file[0] != '\0');
}
