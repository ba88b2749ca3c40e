/*
 * hc_status_areas_pg.c — PostgreSQL glue of the risky-stay rule
 * (hc_core_status_areas.c): a set of designations packed once a statement
 * (_designation_set), and a stay's level by it, a stay at a time
 * (_stay_level) or a person's listed stays at once (_stays_levels); and
 * the days of listed stays (_stays_days).
 *
 * The rule lives in the core; this file only moves values in and out.
 */
#include "hc_pg.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "hc_status.h"

/* A one-dimensional array argument's elements (NULL array: none), which
 * must be *n (*n < 0: any number, then set). */
static void
elements_of(FunctionCallInfo fcinfo, int arg, Oid type, const char *what, Datum **elems, bool **nulls, int *n)
{
	if (PG_ARGISNULL(arg))
	{
		*elems = NULL;
		*nulls = NULL;
		if (*n > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has 0 elements, not %d as the arrays before it", what, *n)));
		*n = 0;
		return;
	}
	hc_array_elements(PG_GETARG_ARRAYTYPE_P(arg), type, what, elems, nulls, n);
}

/* The set argument, checked. */
static bytea *
set_argument(FunctionCallInfo fcinfo)
{
	bytea	   *set;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the designations (a set from _designation_set) must not be NULL")));
	set = PG_GETARG_BYTEA_PP(0);
	if (hc_designations_check((const uint8_t *) VARDATA_ANY(set), VARSIZE_ANY_EXHDR(set)) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the designations are not a set made by _designation_set")));
	return set;
}

/*
 * _designation_set(divisions text[], venues text[], highs boolean[],
 *                  froms timestamptz[], untils timestamptz[]) RETURNS bytea
 *
 * The designations (one element of each array apiece; venue NULL for an
 * area, until NULL for no end), packed for _stay_level. NULL arrays: none.
 */
PG_FUNCTION_INFO_V1(healthcode_designation_set);
Datum
healthcode_designation_set(PG_FUNCTION_ARGS)
{
	Datum	   *divisions,
			   *venues,
			   *highs,
			   *froms,
			   *untils;
	bool	   *division_nulls,
			   *venue_nulls,
			   *high_nulls,
			   *from_nulls,
			   *until_nulls;
	int			n = -1;
	hc_designation *d;
	hc_buf		packed = {0};
	hc_status	rc;
	char		detail[HC_DETAIL_LEN];
	bytea	   *result;

	elements_of(fcinfo, 0, TEXTOID, "divisions", &divisions, &division_nulls, &n);
	elements_of(fcinfo, 1, TEXTOID, "venues", &venues, &venue_nulls, &n);
	elements_of(fcinfo, 2, BOOLOID, "highs", &highs, &high_nulls, &n);
	elements_of(fcinfo, 3, TIMESTAMPTZOID, "froms", &froms, &from_nulls, &n);
	elements_of(fcinfo, 4, TIMESTAMPTZOID, "untils", &untils, &until_nulls, &n);
	d = palloc0(sizeof(hc_designation) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (division_nulls[i] || high_nulls[i] || from_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("designation %d has no division, level or start", i + 1)));
		d[i].division = VARDATA_ANY(DatumGetTextPP(divisions[i]));
		d[i].division_len = VARSIZE_ANY_EXHDR(DatumGetTextPP(divisions[i]));
		if (!venue_nulls[i])
		{
			d[i].venue = VARDATA_ANY(DatumGetTextPP(venues[i]));
			d[i].venue_len = VARSIZE_ANY_EXHDR(DatumGetTextPP(venues[i]));
		}
		d[i].high = DatumGetBool(highs[i]);
		d[i].from = DatumGetTimestampTz(froms[i]);
		d[i].has_until = !until_nulls[i];
		d[i].until = d[i].has_until ? DatumGetTimestampTz(untils[i]) : 0;
	}
	rc = hc_designations_pack(d, n, &packed, detail, sizeof(detail));
	if (rc != HC_OK)
	{
		hc_buf_free(&packed);
		if (rc == HC_ERR_NOMEM)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", detail)));
	}
	result = (bytea *) palloc(VARHDRSZ + packed.len);
	SET_VARSIZE(result, VARHDRSZ + packed.len);
	memcpy(VARDATA(result), packed.data, packed.len);
	hc_buf_free(&packed);
	PG_RETURN_BYTEA_P(result);
}

static hc_stay_level
judge(bytea *set, text *place, text *venue, TimestampTz at)
{
	return hc_stay_judge((const uint8_t *) VARDATA_ANY(set), VARSIZE_ANY_EXHDR(set),
						 VARDATA_ANY(place), VARSIZE_ANY_EXHDR(place),
						 venue ? VARDATA_ANY(venue) : NULL, venue ? VARSIZE_ANY_EXHDR(venue) : 0, at);
}

/*
 * _stay_level(set bytea, place text, venue text, at timestamptz) RETURNS boolean
 *
 * A stay's level by the designations: true high, false medium, NULL not
 * risky (or no place or time).
 */
PG_FUNCTION_INFO_V1(healthcode_stay_level);
Datum
healthcode_stay_level(PG_FUNCTION_ARGS)
{
	bytea	   *set = set_argument(fcinfo);
	hc_stay_level level;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	level = judge(set, PG_GETARG_TEXT_PP(1), PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2),
				  PG_GETARG_TIMESTAMPTZ(3));
	if (level == HC_STAY_NOT_RISKY)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(level == HC_STAY_HIGH);
}

/*
 * _stays_levels(set bytea, places text[], venues text[], ats timestamptz[])
 * RETURNS boolean[]
 *
 * The same for stays given as parallel arrays (venues NULL: none has a
 * venue): each one's level, NULL where not risky.
 */
PG_FUNCTION_INFO_V1(healthcode_stays_levels);
Datum
healthcode_stays_levels(PG_FUNCTION_ARGS)
{
	bytea	   *set = set_argument(fcinfo);
	Datum	   *places,
			   *venues = NULL,
			   *ats,
			   *levels;
	bool	   *place_nulls,
			   *venue_nulls = NULL,
			   *at_nulls,
			   *level_nulls;
	int			n = -1,
				dims[1],
				lbs[1] = {1};

	if (PG_ARGISNULL(1) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	elements_of(fcinfo, 1, TEXTOID, "places", &places, &place_nulls, &n);
	if (!PG_ARGISNULL(2))
		elements_of(fcinfo, 2, TEXTOID, "venues", &venues, &venue_nulls, &n);
	elements_of(fcinfo, 3, TIMESTAMPTZOID, "ats", &ats, &at_nulls, &n);
	levels = palloc(sizeof(Datum) * Max(n, 1));
	level_nulls = palloc(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		hc_stay_level level = HC_STAY_NOT_RISKY;

		if (!place_nulls[i] && !at_nulls[i])
			level = judge(set, DatumGetTextPP(places[i]),
						  venues == NULL || venue_nulls[i] ? NULL : DatumGetTextPP(venues[i]),
						  DatumGetTimestampTz(ats[i]));
		level_nulls[i] = level == HC_STAY_NOT_RISKY;
		levels[i] = BoolGetDatum(level == HC_STAY_HIGH);
	}
	dims[0] = n;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(levels, level_nulls, 1, dims, lbs, BOOLOID, 1, true, TYPALIGN_CHAR));
}

/*
 * _stays_days(listed reexamined_stays[]) RETURNS date[]
 *
 * The days (Asia/Shanghai, as travel's day partitions are cut) of all the
 * listed stays, distinct and in order: the days whose partitions a batch
 * checks are still there. (Unnesting the stays in SQL for this cost as much
 * as a tenth of the batch.)
 */

/* Asia/Shanghai keeps China Standard Time (+08:00, hc_stay_days) from
 * 1992 on; an earlier instant (summer time until 1991) is converted by
 * the time zone database. */
#define CST_FIXED_SINCE (-INT64CONST(2922) * USECS_PER_DAY - 8 * USECS_PER_HOUR)

static int64
day_by_zone(TimestampTz at)
{
	Datum		local = DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum("Asia/Shanghai"),
											TimestampTzGetDatum(at));

	return DatumGetDateADT(DirectFunctionCall1(timestamp_date, local));
}

PG_FUNCTION_INFO_V1(healthcode_stays_days);
Datum
healthcode_stays_days(PG_FUNCTION_ARGS)
{
	ArrayType  *listed = PG_GETARG_ARRAYTYPE_P(0);
	Oid			type = ARR_ELEMTYPE(listed);
	TupleDesc	desc = lookup_rowtype_tupdesc(type, -1);
	AttrNumber	ats_att = InvalidAttrNumber;
	Datum	   *elems,
			   *result;
	bool	   *nulls;
	int			n_elems,
				n_times = 0,
				cap = 64;
	int64	   *times = palloc(sizeof(int64) * cap);
	size_t		n_days;

	for (int a = 0; a < desc->natts; a++)
		if (strcmp(NameStr(TupleDescAttr(desc, a)->attname), "ats") == 0 &&
			TupleDescAttr(desc, a)->atttypid == TIMESTAMPTZARRAYOID)
			ats_att = (AttrNumber) (a + 1);
	if (ats_att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the listed stays must be a row type with a timestamptz[] field \"ats\"")));
	deconstruct_array(listed, type, -1, false, TYPALIGN_DOUBLE, &elems, &nulls, &n_elems);
	for (int i = 0; i < n_elems; i++)
	{
		HeapTupleData tuple;
		Datum		d;
		bool		isnull;
		Datum	   *ats;
		bool	   *at_nulls;
		int			n_ats = -1;

		if (nulls[i])
			continue;
		hc_row_tuple(elems[i], &tuple);
		d = heap_getattr(&tuple, ats_att, desc, &isnull);
		if (isnull)
			continue;
		hc_array_elements(DatumGetArrayTypeP(d), TIMESTAMPTZOID, "ats", &ats, &at_nulls, &n_ats);
		for (int k = 0; k < n_ats; k++)
		{
			TimestampTz at;

			if (at_nulls[k])
				continue;
			at = DatumGetTimestampTz(ats[k]);
			if (TIMESTAMP_NOT_FINITE(at))
				continue;		/* (no day, no partition) */
			if (n_times == cap)
			{
				cap *= 2;
				times = repalloc(times, sizeof(int64) * cap);
			}
			/* (before 1992: the zone's day, as the instant at 04:00 UTC of
			 * it, which hc_stay_days puts on the same day) */
			times[n_times++] = at >= CST_FIXED_SINCE ? at
				: day_by_zone(at) * USECS_PER_DAY + 4 * USECS_PER_HOUR;
		}
	}
	ReleaseTupleDesc(desc);
	n_days = hc_stay_days(times, (size_t) n_times, times);
	result = palloc(sizeof(Datum) * Max(n_days, 1));
	for (size_t i = 0; i < n_days; i++)
		result[i] = DateADTGetDatum((DateADT) times[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(result, (int) n_days, DATEOID, 4, true, TYPALIGN_INT));
}
