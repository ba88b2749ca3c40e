/*
 * hc_import_pg.c — healthcode._import_parse(records json, what text,
 * fields text[], rules text[]): an import's records, streamed.
 *
 * The records arrive as json text, not jsonb: jsonb input builds the whole
 * document as a tree first (about 1.2 GB for a million stays), json input
 * only validates it. This function parses the text once, checks every
 * field of every record against its rule (hc_import.h) as it goes, and
 * writes one typed row per record into a tuplestore (which spills to disk
 * past work_mem), so memory stays bounded whatever the batch size. Nothing
 * is written to a table here: the first bad record raises, naming its
 * position (from 1), the field and the value shortened.
 *
 * The rows' shape is the caller's column definition list: ord bigint, then
 * one column per field in the order of fields (bigint for id, integer for
 * int:LO..HI, timestamptz for the times, text otherwise). When the fields
 * include both person_id and identifier, a record must give exactly one.
 */
#include "hc_pg.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "hc_import.h"

#define MAX_FIELDS 16

typedef struct ImportField
{
	char	   *name;
	hc_field_rule rule;
	Oid			type;			/* of its result column */
} ImportField;

typedef struct ImportState
{
	const char *what;			/* "travel", for messages */
	ImportField fields[MAX_FIELDS];
	int			n_fields;
	int			person_id_field;	/* -1 when the import names no person */
	int			identifier_field;
	/* the record being read */
	int64		ord;
	int			depth;			/* 0 outside the array, 1 in it, 2 in a record */
	int			current;		/* the field whose value comes next, -1 none */
	Datum		values[MAX_FIELDS + 1];
	bool		nulls[MAX_FIELDS + 1];
	bool		seen[MAX_FIELDS];
	/* output */
	Tuplestorestate *store;
	TupleDesc	desc;
	MemoryContext record_cxt;	/* a record's values, reset per record */
	MemoryContext call_cxt;		/* the parser's own, between records */
	TimestampTz era_start;		/* evidence and bulletins start here */
	TimestampTz evidence_end;	/* statement start + healthcode.clock_skew */
	TimestampTz bulletin_end;	/* the start of HC_IMPORT_LAST_YEAR + 1 */
} ImportState;

static char *
shortened(const char *value, size_t len)
{
	char	   *out = palloc(HC_IMPORT_SHORT + 4);

	hc_shorten(value, len, HC_IMPORT_SHORT, out);
	return out;
}

/* Raises for the field of the current record. */
static void
field_error(ImportState *st, int field, int sqlstate, const char *problem)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s import: record " INT64_FORMAT ", field \"%s\": %s",
					st->what, st->ord, st->fields[field].name, problem),
			 errdetail("Nothing was imported.")));
}

static void
record_error(ImportState *st, const char *problem, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s import: record " INT64_FORMAT " %s", st->what, st->ord, problem),
			 errdetail("Nothing was imported."),
			 hint ? errhint("%s", hint) : 0));
}

/* A time's text parsed as timestamptz_in would, but answering instead of
 * raising, so the message can name the record and field. */
static void
parse_time(ImportState *st, int field, const char *s, TimestampTz *out)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *fld[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	struct pg_tm tt;
	fsec_t		fsec;
	int			dterr;
	TimestampTz result = 0;
	TimestampTz upper;

	dterr = ParseDateTime(s, workbuf, sizeof(workbuf), fld, ftype, MAXDATEFIELDS, &nf);
	if (dterr == 0)
	{
		/*
		 * DecodeDateTime raises for some faults itself (an unknown time zone
		 * name): re-raised naming the record and field. (Caught only to be
		 * raised again, at once, so no subtransaction is needed.)
		 */
		MemoryContext cxt = CurrentMemoryContext;

		PG_TRY();
		{
			dterr = DecodeDateTime(fld, ftype, nf, &dtype, &tt, &fsec, &tz);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			field_error(st, field, edata->sqlerrcode,
						psprintf("\"%s\" is not a time: %s", shortened(s, strlen(s)), edata->message));
		}
		PG_END_TRY();
	}
	if (dterr == 0 && dtype == DTK_DATE && tm2timestamp(&tt, fsec, &tz, &result) != 0)
		dterr = DTERR_FIELD_OVERFLOW;
	if (dterr == DTERR_BAD_FORMAT)
		field_error(st, field, ERRCODE_INVALID_DATETIME_FORMAT,
					psprintf("\"%s\" is not a time (ISO 8601 with an offset, e.g. 2022-04-02T10:00:00+08:00)",
							 shortened(s, strlen(s))));
	if (dterr != 0)
		field_error(st, field, ERRCODE_DATETIME_FIELD_OVERFLOW,
					psprintf("\"%s\" is out of range for a time", shortened(s, strlen(s))));
	if (dtype == DTK_EPOCH)
		result = SetEpochTimestamp();
	else if (dtype != DTK_DATE)
		field_error(st, field, ERRCODE_INVALID_PARAMETER_VALUE,
					psprintf("\"%s\" is not a finite time", shortened(s, strlen(s))));
	upper = st->fields[field].rule.kind == HC_FIELD_EVIDENCE_TIME ? st->evidence_end : st->bulletin_end;
	if (result < st->era_start)
		field_error(st, field, ERRCODE_INVALID_PARAMETER_VALUE,
					psprintf("\"%s\" lies before the health-code era (2019-12-01)",
							 shortened(s, strlen(s))));
	if (result >= upper)
		field_error(st, field, ERRCODE_INVALID_PARAMETER_VALUE,
					st->fields[field].rule.kind == HC_FIELD_EVIDENCE_TIME
					? psprintf("\"%s\" lies in the future (beyond healthcode.clock_skew, %d s)",
							   shortened(s, strlen(s)), hc_clock_skew_seconds)
					: psprintf("\"%s\" lies after %d", shortened(s, strlen(s)), HC_IMPORT_LAST_YEAR));
	*out = result;
}

static void
take_value(ImportState *st, hc_json_kind kind, const char *token)
{
	int			f = st->current;
	ImportField *field;
	int64_t		integer = 0;
	char		detail[256];
	hc_field_verdict verdict;
	size_t		len = token ? strlen(token) : 0;

	if (f < 0)
		return;
	field = &st->fields[f];
	verdict = hc_field_check(&field->rule, kind, token ? token : "", len, &integer, detail, sizeof(detail));
	switch (verdict)
	{
		case HC_FIELD_OK:
			break;
		case HC_FIELD_ABSENT:
			st->nulls[f + 1] = true;
			st->current = -1;
			return;
		case HC_FIELD_WRONG_TYPE:
			field_error(st, f, ERRCODE_INVALID_TEXT_REPRESENTATION, detail);
			break;
		case HC_FIELD_OUT_OF_RANGE:
			field_error(st, f, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, detail);
			break;
		case HC_FIELD_BAD_VALUE:
			field_error(st, f, ERRCODE_INVALID_PARAMETER_VALUE, detail);
			break;
	}
	switch (field->rule.kind)
	{
		case HC_FIELD_ID:
		case HC_FIELD_INT:
			st->values[f + 1] = field->type == INT8OID ? Int64GetDatum(integer) : Int32GetDatum((int32) integer);
			break;
		case HC_FIELD_EVIDENCE_TIME:
		case HC_FIELD_TIME:
			{
				TimestampTz t;

				parse_time(st, f, token, &t);
				st->values[f + 1] = TimestampTzGetDatum(t);
				break;
			}
		case HC_FIELD_IDENTIFIER:
			{
				/* the one form it is hashed in, or the record refused */
				char		norm[HC_IDENTIFIER_OUT];
				text	   *typed = cstring_to_text_with_len(token, (int) len);

				if (hc_identifier_read(typed, norm, detail, sizeof(detail)) == HC_ID_INVALID)
					field_error(st, f, ERRCODE_INVALID_PARAMETER_VALUE, psprintf("the identifier %s", detail));
				st->values[f + 1] = PointerGetDatum(cstring_to_text(norm));
				break;
			}
		default:
			st->values[f + 1] = PointerGetDatum(cstring_to_text_with_len(token, (int) len));
			break;
	}
	st->nulls[f + 1] = false;
	st->current = -1;
}

/* ---- the JSON parser's callbacks ----------------------------------------------- */

static void
on_object_start(void *state)
{
	ImportState *st = state;

	if (st->depth == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s import: records must be a JSON array", st->what)));
	if (st->depth == 1)
	{
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(st->record_cxt);
		MemoryContextSwitchTo(st->record_cxt);
		st->ord++;
		memset(st->seen, 0, sizeof(st->seen));
		for (int i = 0; i <= st->n_fields; i++)
			st->nulls[i] = true;
		st->current = -1;
	}
	else if (st->depth == 2)
		take_value(st, HC_JSON_OBJECT, NULL);
	st->depth++;
}

static void
on_array_start(void *state)
{
	ImportState *st = state;

	if (st->depth == 1)
	{
		st->ord++;
		record_error(st, "is not a JSON object", NULL);
	}
	if (st->depth == 2)
		take_value(st, HC_JSON_ARRAY, NULL);
	st->depth++;
}

static void
on_nested_end(void *state)
{
	((ImportState *) state)->depth--;
}

static void
on_object_end(void *state)
{
	ImportState *st = state;

	st->depth--;
	if (st->depth != 1)
		return;
	for (int f = 0; f < st->n_fields; f++)
		if (st->fields[f].rule.required && st->nulls[f + 1])
			field_error(st, f, ERRCODE_INVALID_PARAMETER_VALUE, "missing (a required field)");
	if (st->person_id_field >= 0)
	{
		bool		by_id = !st->nulls[st->person_id_field + 1];
		bool		by_identifier = !st->nulls[st->identifier_field + 1];

		if (by_id == by_identifier)
			record_error(st, by_id ? "names its person twice, by \"person_id\" and by \"identifier\""
						 : "names no person",
						 "Give exactly one of \"person_id\" and \"identifier\".");
	}
	st->values[0] = Int64GetDatum(st->ord);
	st->nulls[0] = false;
	tuplestore_putvalues(st->store, st->desc, st->values, st->nulls);
	MemoryContextSwitchTo(st->call_cxt);
}

static void
on_field_start(void *state, char *fname, bool isnull)
{
	ImportState *st = state;

	if (st->depth != 2)
		return;
	for (int f = 0; f < st->n_fields; f++)
	{
		if (strcmp(st->fields[f].name, fname) == 0)
		{
			if (st->seen[f])
				field_error(st, f, ERRCODE_INVALID_PARAMETER_VALUE, "given twice");
			st->seen[f] = true;
			st->current = f;
			return;
		}
	}
	{
		StringInfoData known;

		initStringInfo(&known);
		for (int f = 0; f < st->n_fields; f++)
			appendStringInfo(&known, "%s%s", f ? ", " : "", st->fields[f].name);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s import: record " INT64_FORMAT ", field \"%s\": not a field of this import",
						st->what, st->ord, shortened(fname, strlen(fname))),
				 errdetail("Nothing was imported."),
				 errhint("The fields are: %s.", known.data)));
	}
}

static void
on_scalar(void *state, char *token, JsonTokenType type)
{
	ImportState *st = state;
	hc_json_kind kind;

	if (st->depth == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s import: records must be a JSON array", st->what)));
	if (st->depth == 1)
	{
		st->ord++;
		record_error(st, "is not a JSON object", NULL);
	}
	if (st->depth != 2)
		return;
	switch (type)
	{
		case JSON_TOKEN_STRING:
			kind = HC_JSON_STRING;
			break;
		case JSON_TOKEN_NUMBER:
			kind = HC_JSON_NUMBER;
			break;
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			kind = HC_JSON_BOOLEAN;
			break;
		default:
			kind = HC_JSON_NULL;
			break;
	}
	take_value(st, kind, token);
}

/* ---- set-up -------------------------------------------------------------------- */

static void
read_fields(ImportState *st, ArrayType *names, ArrayType *rules, TupleDesc desc)
{
	Datum	   *name_datums;
	Datum	   *rule_datums;
	bool	   *name_nulls;
	bool	   *rule_nulls;
	int			n_names;
	int			n_rules;

	deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &name_datums, &name_nulls, &n_names);
	deconstruct_array(rules, TEXTOID, -1, false, TYPALIGN_INT, &rule_datums, &rule_nulls, &n_rules);
	if (n_names != n_rules || n_names < 1 || n_names > MAX_FIELDS || desc->natts != n_names + 1)
		elog(ERROR, "import fields, rules and result columns do not match: %d fields, %d rules, %d columns",
			 n_names, n_rules, desc->natts);
	if (TupleDescAttr(desc, 0)->atttypid != INT8OID)
		elog(ERROR, "the first result column of an import (ord) must be bigint");
	st->n_fields = n_names;
	st->person_id_field = st->identifier_field = -1;
	for (int f = 0; f < n_names; f++)
	{
		ImportField *field = &st->fields[f];
		char		detail[128];
		Oid			want;

		if (name_nulls[f] || rule_nulls[f])
			elog(ERROR, "an import field or rule is NULL");
		field->name = TextDatumGetCString(name_datums[f]);
		if (!hc_field_rule_parse(TextDatumGetCString(rule_datums[f]), &field->rule, detail, sizeof(detail)))
			ereport(ERROR,
					(errmsg_internal("invalid rule for import field \"%s\"", field->name),
					 errdetail_internal("%s", detail)));
		field->type = TupleDescAttr(desc, f + 1)->atttypid;
		switch (field->rule.kind)
		{
			case HC_FIELD_ID:
				want = INT8OID;
				break;
			case HC_FIELD_INT:
				want = field->type == INT8OID ? INT8OID : INT4OID;
				if (want == INT4OID && (field->rule.lo < PG_INT32_MIN || field->rule.hi > PG_INT32_MAX))
					elog(ERROR, "the integer column of import field \"%s\" needs a range within int4",
						 field->name);
				break;
			case HC_FIELD_EVIDENCE_TIME:
			case HC_FIELD_TIME:
				want = TIMESTAMPTZOID;
				break;
			default:
				want = TEXTOID;
				break;
		}
		if (field->type != want)
			elog(ERROR, "the column of import field \"%s\" has type %s, not %s", field->name,
				 format_type_be(field->type), format_type_be(want));
		if (strcmp(field->name, "person_id") == 0)
			st->person_id_field = f;
		if (strcmp(field->name, "identifier") == 0)
			st->identifier_field = f;
	}
	if ((st->person_id_field < 0) != (st->identifier_field < 0))
		elog(ERROR, "import fields person_id and identifier must come together");
}

TimestampTz
hc_cst_time(int year, int month, int day)
{
	/* midnight in China Standard Time (+08:00), where the era is dated */
	struct pg_tm tt = {0};
	int			tz = -8 * SECS_PER_HOUR;
	TimestampTz t;

	tt.tm_year = year;
	tt.tm_mon = month;
	tt.tm_mday = day;
	if (tm2timestamp(&tt, 0, &tz, &t) != 0)
		elog(ERROR, "timestamp out of range");
	return t;
}

PG_FUNCTION_INFO_V1(healthcode_import_parse);
Datum
healthcode_import_parse(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ImportState *st;
	text	   *records;
	JsonLexContext *lex;
	JsonSemAction sem = {0};
	JsonParseErrorType err;
	MemoryContext call_cxt = CurrentMemoryContext;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		elog(ERROR, "the import's name, fields and rules must not be NULL");
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	st = palloc0(sizeof(ImportState));
	st->what = text_to_cstring(PG_GETARG_TEXT_PP(1));
	st->store = rsinfo->setResult;
	st->desc = rsinfo->setDesc;
	read_fields(st, PG_GETARG_ARRAYTYPE_P(2), PG_GETARG_ARRAYTYPE_P(3), st->desc);
	st->era_start = hc_era_start();
	st->evidence_end = GetCurrentStatementStartTimestamp() + (TimestampTz) hc_clock_skew_seconds * USECS_PER_SEC + 1;
	st->bulletin_end = hc_cst_time(HC_IMPORT_LAST_YEAR + 1, 1, 1);
	st->call_cxt = call_cxt;
	st->record_cxt = AllocSetContextCreate(call_cxt, "healthcode import record", ALLOCSET_DEFAULT_SIZES);

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s import: records must be a JSON array", st->what)));
	records = PG_GETARG_TEXT_PP(0);
	lex = makeJsonLexContextCstringLen(VARDATA_ANY(records), VARSIZE_ANY_EXHDR(records),
									  GetDatabaseEncoding(), true);
	sem.semstate = st;
	sem.object_start = on_object_start;
	sem.object_end = on_object_end;
	sem.array_start = on_array_start;
	sem.array_end = on_nested_end;
	sem.object_field_start = on_field_start;
	sem.scalar = on_scalar;
	err = pg_parse_json(lex, &sem);
	MemoryContextSwitchTo(call_cxt);
	if (err != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("%s import: records are not valid JSON", st->what),
				 errdetail("%s", json_errdetail(err, lex))));
	MemoryContextDelete(st->record_cxt);
	return (Datum) 0;
}

/*
 * healthcode._import_execute(query text, records json) RETURNS text[]:
 * runs query with records as $1 and returns its first row's columns as
 * text (NULL for no row). PL/pgSQL's EXECUTE ... USING copies every
 * by-reference parameter first, and a custom plan folds it into a constant,
 * which copies it again: for a batch of a million stays, 93 MB more at the
 * peak each. SPI with a generic plan passes the value as it is.
 */
PG_FUNCTION_INFO_V1(healthcode_import_execute);
Datum
healthcode_import_execute(PG_FUNCTION_ARGS)
{
	char	   *query;
	Oid			types[1] = {JSONOID};
	Datum		values[1];
	char		nulls[1];
	int			rc;
	SPIPlanPtr	plan;
	ArrayType  *result = NULL;

	if (PG_ARGISNULL(0))
		elog(ERROR, "the import query must not be NULL");
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	values[0] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[0] = PG_ARGISNULL(1) ? 'n' : ' ';
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * A generic plan: a custom one would fold the parameter into a constant
	 * of the plan, which copies it.
	 */
	plan = SPI_prepare_cursor(query, 1, types, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	rc = SPI_execute_plan(plan, values, nulls, false, 1);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0 && SPI_tuptable != NULL)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			n = desc->natts;
		Datum	   *texts = palloc(sizeof(Datum) * n);
		bool	   *text_nulls = palloc(sizeof(bool) * n);
		int			dims[1] = {n};
		int			lbs[1] = {1};

		for (int i = 0; i < n; i++)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], desc, i + 1);

			text_nulls[i] = v == NULL;
			texts[i] = v ? PointerGetDatum(cstring_to_text(v)) : (Datum) 0;
		}
		result = construct_md_array(texts, text_nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT);
		/* into the caller's memory, which outlives SPI_finish */
		result = DatumGetArrayTypeP(SPI_datumTransfer(PointerGetDatum(result), false, -1));
	}
	SPI_finish();
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * healthcode._shorten(value text, max integer DEFAULT 40): a value as an
 * error message echoes it (hc_shorten: max bytes, whole UTF-8 characters,
 * "..." when cut); NULL as the word NULL. The one rule for the imports'
 * messages and every other function's.
 */
PG_FUNCTION_INFO_V1(healthcode_shorten);
Datum
healthcode_shorten(PG_FUNCTION_ARGS)
{
	text	   *value;
	int32		max;
	char	   *out;

	if (PG_ARGISNULL(0))
		PG_RETURN_TEXT_P(cstring_to_text("NULL"));
	value = PG_GETARG_TEXT_PP(0);
	if (PG_ARGISNULL(1))
		PG_RETURN_TEXT_P(value);
	max = Max(PG_GETARG_INT32(1), 0);
	out = palloc((size_t) max + 4);
	hc_shorten(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), (size_t) max, out);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
