/*
 * hc_evidence_pg.c — the checks every write of evidence passes: a time
 * argument is finite (_require_finite), a place argument is a place code
 * (_require_place), evidence times lie within the health-code era and not
 * ahead of the clock (_check_evidence_times), and the lock that orders
 * evidence triggers against designations (_evidence_lock).
 *
 * They were PL/pgSQL functions. A venue scan calls them five times, each
 * call setting and restoring search_path and entering the interpreter: a
 * tenth of a scan's time, for a comparison each. In C they need no
 * search_path at all, and their messages are those the PL/pgSQL functions
 * raised.
 */
#include "hc_pg.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "utils/builtins.h"

#include "hc_import.h"

/* A name argument as RAISE prints it (NULL as <NULL>). */
static const char *
name_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? "<NULL>" : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static const char *
timestamptz_text(TimestampTz t)
{
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(t)));
}

/*
 * _require_finite(value timestamptz, argname text): the time if it is
 * finite, else 22004 (NULL) or 22008 (infinity), naming the argument.
 */
PG_FUNCTION_INFO_V1(healthcode_require_finite);
Datum
healthcode_require_finite(PG_FUNCTION_ARGS)
{
	TimestampTz value;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name_arg(fcinfo, 1))));
	value = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("%s must be a finite time, not %s", name_arg(fcinfo, 1), timestamptz_text(value))));
	PG_RETURN_TIMESTAMPTZ(value);
}

/*
 * _require_place(place text, argname text): the code if it is a place code
 * (place_code_valid), else 22004 or 22023 naming the argument, the value
 * (shortened, as every message echoes a value) and what is wrong with it.
 */
PG_FUNCTION_INFO_V1(healthcode_require_place);
Datum
healthcode_require_place(PG_FUNCTION_ARGS)
{
	text	   *place;
	char	   *problem;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name_arg(fcinfo, 1))));
	place = PG_GETARG_TEXT_PP(0);
	problem = hc_place_code_problem(place);
	if (problem != NULL)
	{
		char		shortened[40 + 4];

		hc_shorten(VARDATA_ANY(place), VARSIZE_ANY_EXHDR(place), 40, shortened);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid place code for %s: %s", name_arg(fcinfo, 1), quote_literal_cstr(shortened)),
				 errdetail("%s", problem),
				 errhint("A place code is a division (330106), a township or street (330106001) or a village or community (330106001001).")));
	}
	PG_RETURN_TEXT_P(place);
}

/*
 * _check_evidence_times(tbl text, col text, earliest timestamptz, latest
 * timestamptz): 22023, naming the table and column, when the latest of a
 * statement's new times lies beyond now (the statement's start) plus
 * healthcode.clock_skew, or the earliest before the health-code era. A
 * NULL bound checks nothing.
 */
PG_FUNCTION_INFO_V1(healthcode_check_evidence_times);
Datum
healthcode_check_evidence_times(PG_FUNCTION_ARGS)
{
	TimestampTz tolerance = (TimestampTz) hc_clock_skew_seconds * USECS_PER_SEC;

	if (!PG_ARGISNULL(3) && PG_GETARG_TIMESTAMPTZ(3) > GetCurrentStatementStartTimestamp() + tolerance)
	{
		Interval   *skew = palloc0(sizeof(Interval));

		skew->time = tolerance;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.%s lies in the future: %s", name_arg(fcinfo, 0), name_arg(fcinfo, 1),
						timestamptz_text(PG_GETARG_TIMESTAMPTZ(3))),
				 errdetail("Evidence times may be at most healthcode.clock_skew (%s) ahead of the server's clock.",
						   DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(skew)))),
				 errhint("Check the source's clock and time zone.")));
	}
	if (!PG_ARGISNULL(2) && PG_GETARG_TIMESTAMPTZ(2) < hc_era_start())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.%s lies before the health-code era: %s", name_arg(fcinfo, 0), name_arg(fcinfo, 1),
						timestamptz_text(PG_GETARG_TIMESTAMPTZ(2))),
				 errdetail("Evidence times start on 2019-12-01 (China Standard Time).")));
	PG_RETURN_VOID();
}

/*
 * _evidence_lock(exclusive boolean): the transaction-level advisory lock
 * keyed hashtext('healthcode evidence'), shared by evidence triggers and
 * exclusive for risk-area and policy triggers. The key is the one the
 * PL/pgSQL function took (its '@extschema@ evidence', the schema pinned to
 * healthcode by the control file; and what tests and DBAs look for in
 * pg_locks), so backends still running the old function lock against the
 * new.
 */
PG_FUNCTION_INFO_V1(healthcode_evidence_lock);
Datum
healthcode_evidence_lock(PG_FUNCTION_ARGS)
{
	/* (an int64, not a Datum: where int8 is passed by reference, a Datum
	 * made once would point into memory freed after the first call) */
	static int64 key;
	static bool known = false;

	if (!known)
	{
		key = (int64) DatumGetInt32(DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID,
															CStringGetTextDatum("healthcode evidence")));
		known = true;
	}
	if (PG_ARGISNULL(0) || !PG_GETARG_BOOL(0))
		DirectFunctionCall1(pg_advisory_xact_lock_shared_int8, Int64GetDatum(key));
	else
		DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(key));
	PG_RETURN_VOID();
}
