/*
 * hc_revocation_pg.c — revocation lists for verify(): a code, or every code
 * of a subject issued up to an instant, revoked before it expires (a lost
 * phone, a wrong colour, fraud). Rows of healthcode.code_revocation hold
 * only hashes (hc_revocation_hash); each backend keeps those not yet
 * expired as a sorted array, read once as the table's owner and again only
 * after the table changed (its trigger invalidates every backend's copy),
 * so a verify() costs two binary searches.
 *
 * Before the update to 0.3.0 there is no such table: nothing is revoked.
 */
#include "hc_keys.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

typedef struct Revocation
{
	uint8_t		hash[HC_REVOCATION_HASH_LEN];	/* first: sorted by it */
	TimestampTz revoked_at;		/* a subject's codes issued up to it */
} Revocation;

static Revocation *revocations = NULL;
static size_t n_revocations = 0;
static Oid	revocation_relid = InvalidOid;
/* Bumped by every invalidation; the list is current while the generation
 * it was read at is the latest. An invalidation that arrives while the list
 * is being read (its query takes locks, which processes them) makes the
 * next check read it again: the rows of that commit may be missing. */
static uint64 generation = 1;
static uint64 loaded_generation = 0;

static void
revocations_changed(Datum arg, Oid relid)
{
	(void) arg;
	if (relid == InvalidOid || relid == revocation_relid || !OidIsValid(revocation_relid))
		generation++;
}

void
hc_revocations_register_callbacks(void)
{
	CacheRegisterRelcacheCallback(revocations_changed, (Datum) 0);
}

static int
compare_hash(const void *a, const void *b)
{
	return memcmp(a, b, HC_REVOCATION_HASH_LEN);
}

static void
load_revocations(void)
{
	Oid			relid = hc_relation_in_schema_if_any("code_revocation");
	Revocation *fresh = NULL;
	size_t		n = 0;
	uint64		i;
	uint64		gen = generation;

	if (OidIsValid(relid))
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		hc_spi_query_as(hc_relation_owner(relid),
						"SELECT hash, revoked_at FROM " HC_SCHEMA ".code_revocation"
						" WHERE expires_at OPERATOR(pg_catalog.>) pg_catalog.now()", 0, NULL, NULL);
		fresh = MemoryContextAllocHuge(TopMemoryContext, sizeof(Revocation) * Max(SPI_processed, 1));
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull[2];
			Datum		hash = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull[0]);
			Datum		at = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull[1]);
			bytea	   *h;

			if (isnull[0] || isnull[1])
				continue;
			h = DatumGetByteaPP(hash);
			if (VARSIZE_ANY_EXHDR(h) != HC_REVOCATION_HASH_LEN)
				continue;		/* the table's CHECK keeps these out */
			memcpy(fresh[n].hash, VARDATA_ANY(h), HC_REVOCATION_HASH_LEN);
			fresh[n].revoked_at = DatumGetTimestampTz(at);
			n++;
		}
		SPI_finish();
		qsort(fresh, n, sizeof(Revocation), compare_hash);
	}
	if (revocations != NULL)
		pfree(revocations);
	revocations = fresh;
	n_revocations = n;
	revocation_relid = relid;
	loaded_generation = gen;
}

static const Revocation *
find(const uint8_t hash[HC_REVOCATION_HASH_LEN])
{
	return n_revocations == 0 ? NULL
		: bsearch(hash, revocations, n_revocations, sizeof(Revocation), compare_hash);
}

bool
hc_revoked(const hc_code *code, const uint8_t *packed, size_t len)
{
	uint8_t		hash[HC_REVOCATION_HASH_LEN];
	const Revocation *r;

	if (loaded_generation != generation)
		load_revocations();
	if (n_revocations == 0)
		return false;
	hc_revocation_hash(HC_REVOKE_CODE, code->region, packed, len, hash);
	if (find(hash) != NULL)
		return true;
	hc_revocation_hash(HC_REVOKE_SUBJECT, code->region, code->subject, HC_SUBJECT_LEN, hash);
	r = find(hash);
	return r != NULL && hc_unix_to_timestamptz(code->issued_at) <= r->revoked_at;
}

/* _revocation_hash(kind text, region text, data bytea): kind 'code' (data:
 * the payload) or 'subject' (data: the subject). */
PG_FUNCTION_INFO_V1(healthcode_revocation_hash);
Datum
healthcode_revocation_hash(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint32_t	region = hc_region_arg(PG_GETARG_TEXT_PP(1), "region");
	bytea	   *data = PG_GETARG_BYTEA_PP(2);
	uint8_t		hash[HC_REVOCATION_HASH_LEN];
	char		k;

	if (strcmp(kind, "code") == 0)
		k = HC_REVOKE_CODE;
	else if (strcmp(kind, "subject") == 0)
		k = HC_REVOKE_SUBJECT;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kind must be code or subject, not \"%s\"", kind)));
	hc_revocation_hash(k, region, (const uint8_t *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), hash);
	return hc_make_datum(hash, HC_REVOCATION_HASH_LEN);
}
