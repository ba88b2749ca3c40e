/*
 * hc_identifier_pg.c — identity documents in SQL: _require_identifier()
 * and normalize_identifier() (the normalized form, or an error naming
 * what is wrong), identifier_check() (the same, answered instead of
 * raised) and the birth-date day the checks are made on. The rules are in
 * the core (hc_core_identifier.c); identifiers are never quoted.
 */
#include "hc_pg.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "hc_identifier.h"

/* Today in China Standard Time (UTC+8, where ID cards date births) as
 * YYYYMMDD: the transaction's, so that a statement judges alike. */
int32
hc_identifier_today(void)
{
	Timestamp	local = GetCurrentTransactionStartTimestamp() + INT64CONST(8) * USECS_PER_HOUR;
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(local, NULL, &tm, &fsec, NULL, NULL) != 0)
		return 0;
	return tm.tm_year * 10000 + tm.tm_mon * 100 + tm.tm_mday;
}

/* The identifier's kind and normalized form into out; detail on failure.
 * Longer than HC_IDENTIFIER_MAX characters is refused before the core
 * reads it (it would be anyway; this names the length). */
hc_identifier_kind
hc_identifier_read(text *id, char out[HC_IDENTIFIER_OUT], char *detail, size_t detail_len)
{
	const char *s = VARDATA_ANY(id);
	int			len = VARSIZE_ANY_EXHDR(id);
	int			chars = pg_mbstrlen_with_len(s, len);

	if (chars > HC_IDENTIFIER_MAX)
	{
		out[0] = '\0';
		snprintf(detail, detail_len, "is too long (%d characters; at most %d)", chars, HC_IDENTIFIER_MAX);
		return HC_ID_INVALID;
	}
	/* the core reads UTF-8 (full-width digits, the ideographic space) */
	if (GetDatabaseEncoding() != PG_UTF8)
	{
		s = pg_server_to_any(s, len, PG_UTF8);
		len = strlen(s);
	}
	return hc_identifier_normalize(s, (size_t) len, hc_identifier_today(), out, detail, detail_len);
}

/*
 * _require_identifier(identifier text, argname text): the normalized form,
 * else 22004 (NULL) or 22023 naming the argument and what is wrong.
 */
PG_FUNCTION_INFO_V1(healthcode_require_identifier);
Datum
healthcode_require_identifier(PG_FUNCTION_ARGS)
{
	/* (normalize_identifier(identifier) is this function with one argument) */
	const char *argname = PG_NARGS() < 2 || PG_ARGISNULL(1) ? "identifier" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char		out[HC_IDENTIFIER_OUT];
	char		detail[256];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname)));
	if (hc_identifier_read(PG_GETARG_TEXT_PP(0), out, detail, sizeof(detail)) == HC_ID_INVALID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %s", argname, detail),
				 errhint("An identifier is an ID number (18 characters, or the 15 digits of a first-generation "
						 "card), a Hong Kong or Macao permit (H or M and 8 digits), a Taiwan permit (8 digits) "
						 "or a passport written COUNTRY:NUMBER (CHN:E12345678); see healthcode.identifier_check().")));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/*
 * identifier_check(identifier text, OUT valid, OUT document, OUT normalized,
 * OUT problem): what _require_identifier would say, as columns.
 */
PG_FUNCTION_INFO_V1(healthcode_identifier_check);
Datum
healthcode_identifier_check(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	char		out[HC_IDENTIFIER_OUT];
	char		detail[256];
	hc_identifier_kind kind;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "identifier_check must return a row");
	if (PG_ARGISNULL(0))
	{
		kind = HC_ID_INVALID;
		strlcpy(detail, "is NULL", sizeof(detail));
	}
	else
		kind = hc_identifier_read(PG_GETARG_TEXT_PP(0), out, detail, sizeof(detail));
	values[0] = BoolGetDatum(kind != HC_ID_INVALID);
	if (kind == HC_ID_INVALID)
	{
		nulls[1] = nulls[2] = true;
		values[3] = CStringGetTextDatum(psprintf("identifier %s", detail));
	}
	else
	{
		values[1] = CStringGetTextDatum(hc_identifier_kind_name(kind));
		values[2] = CStringGetTextDatum(out);
		nulls[3] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * _written_by_this_transaction(xmin xid): whether a row was written by the
 * current transaction or a subtransaction of it. An identity check's
 * answer is given only for an attempt another, committed, transaction
 * recorded (94_holder_checks.sql).
 */
PG_FUNCTION_INFO_V1(healthcode_written_by_this_transaction);
Datum
healthcode_written_by_this_transaction(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(TransactionIdIsCurrentTransactionId(DatumGetTransactionId(PG_GETARG_DATUM(0))));
}
