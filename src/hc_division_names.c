/*
 * hc_division_names.c — the names a screen gives a place, cached.
 *
 * Every code screen with reasons names their places (杭州市西湖区,
 * "Xihu, Hangzhou"), and the itinerary card names every city; the names
 * are composed from division_name rows by one SQL rule
 * (healthcode._division_labels, 43_division_names.sql), four lookups a
 * place. Each backend keeps the names it composed, by place code, and asks
 * the rule again only for a code it has not seen or after division_name
 * changed (its statement trigger sends a relcache invalidation, as the key
 * tables' do), so a screen costs one hash lookup a place.
 */
#include "hc_keys.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#define PLACE_CODE_MAX 16		/* twelve digits, and room */
/* past this many places the cache starts again (a place is a few dozen bytes) */
#define MAX_CACHED_PLACES 20000

typedef struct PlaceNames
{
	char		code[PLACE_CODE_MAX];	/* the key */
	char	   *zh;				/* NULL: no row names any of its levels */
	char	   *en;
} PlaceNames;

static HTAB *names = NULL;
static MemoryContext names_context = NULL;
static Oid	division_name_relid = InvalidOid;
/* bumped by every invalidation of division_name (or of every relation) */
static uint64 generation = 1;
static uint64 loaded_generation = 0;

static void
division_names_changed(Datum arg, Oid relid)
{
	(void) arg;
	if (relid == InvalidOid || relid == division_name_relid || !OidIsValid(division_name_relid))
		generation++;
}

void
hc_division_names_register_callbacks(void)
{
	CacheRegisterRelcacheCallback(division_names_changed, (Datum) 0);
}

static void
reset_cache(void)
{
	HASHCTL		ctl;

	if (names_context == NULL)
		names_context = AllocSetContextCreate(TopMemoryContext, "healthcode division names",
											  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(names_context);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = PLACE_CODE_MAX;
	ctl.entrysize = sizeof(PlaceNames);
	ctl.hcxt = names_context;
	names = hash_create("healthcode division names", 256, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static char *
copy_name(HeapTuple tuple, TupleDesc desc, int column)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, column, &isnull);

	return isnull ? NULL : MemoryContextStrdup(names_context, TextDatumGetCString(d));
}

/* The names of a place: from the cache, or composed by the SQL rule. */
static PlaceNames *
lookup(const char *code)
{
	PlaceNames *entry;
	bool		found;
	Oid			relid;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	uint64		gen = generation;

	if (names == NULL || loaded_generation != gen || hash_get_num_entries(names) >= MAX_CACHED_PLACES)
	{
		reset_cache();
		division_name_relid = hc_relation_in_schema_if_any("division_name");
		loaded_generation = gen;
	}
	entry = hash_search(names, code, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	relid = OidIsValid(division_name_relid) ? division_name_relid : hc_relation_in_schema_if_any("division_name");
	if (!OidIsValid(relid))
		return NULL;
	args[0] = CStringGetTextDatum(code);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	hc_spi_query_as(hc_relation_owner(relid),
					"SELECT l.zh, l.en FROM " HC_SCHEMA "._division_labels($1) l", 1, argtypes, args);
	/* (an invalidation while it ran: the cache starts again at the next call) */
	entry = hash_search(names, code, HASH_ENTER, &found);
	entry->zh = SPI_processed > 0 ? copy_name(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
	entry->en = SPI_processed > 0 ? copy_name(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2) : NULL;
	SPI_finish();
	return entry;
}

PG_FUNCTION_INFO_V1(healthcode_division_names);

/*
 * _division_names(code): {zh, en}, the names a screen gives the place
 * (each NULL where no division_name row names any of its levels), as
 * _division_labels composes them; NULL for a code too long to be a place.
 */
Datum
healthcode_division_names(PG_FUNCTION_ARGS)
{
	text	   *code = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(code);
	char		key[PLACE_CODE_MAX];
	PlaceNames *entry;
	Datum		elems[2];
	bool		nulls[2];
	int			dims[1] = {2};
	int			lbs[1] = {1};

	if (len >= PLACE_CODE_MAX)
		PG_RETURN_NULL();
	memset(key, 0, sizeof(key));
	memcpy(key, VARDATA_ANY(code), len);
	entry = lookup(key);
	nulls[0] = entry == NULL || entry->zh == NULL;
	nulls[1] = entry == NULL || entry->en == NULL;
	elems[0] = nulls[0] ? (Datum) 0 : CStringGetTextDatum(entry->zh);
	elems[1] = nulls[1] ? (Datum) 0 : CStringGetTextDatum(entry->en);
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}
