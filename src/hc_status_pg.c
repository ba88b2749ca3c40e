/*
 * hc_status_pg.c — PostgreSQL glue of the status engine (hc_status.h):
 * the aggregate healthcode._status_agg(kind, at, until, value, place, ref,
 * policy, from) that collects one person's evidence and returns the
 * timeline as (colour, vaccinated, reasons, valid_until, next, inputs), and
 * the functions that read packed inputs back.
 *
 * The rules live in the pure-C engine; this file only moves values in and
 * out. The policy argument is the int8[] built by healthcode._policy_vector
 * (HC_POLICY_WIDTH values a version, see the layout below).
 */
#include "hc_pg.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "hc_status.h"

/* The policy vector, one version after another:
 * rank, valid_from, valid_until (microseconds, TimestampTz), lookback_days,
 * quarantine_days_red, quarantine_days_yellow, red_release_negative_tests,
 * negative_test_valid_hours, fever_tenths, vaccinated_min_doses,
 * symptoms_yellow, periodic_testing, calendar_days,
 * two_negatives_release_yellow (booleans as 0/1). */
#define HC_POLICY_WIDTH 14

typedef struct StatusState
{
	hc_event   *events;
	int			n_events;
	int			max_events;
	hc_policy  *policies;
	int			n_policies;
	TimestampTz from;
	bool		have_context;
} StatusState;

static const struct
{
	const char *name;
	hc_event_kind kind;
}			kind_names[] = {
	{"stay_high", HC_EV_STAY_HIGH},
	{"stay_medium", HC_EV_STAY_MEDIUM},
	{"close_contact", HC_EV_CLOSE_CONTACT},
	{"secondary_contact", HC_EV_SECONDARY_CONTACT},
	{"declared_contact", HC_EV_DECLARED_CONTACT},
	{"positive_test", HC_EV_POSITIVE_TEST},
	{"negative_test", HC_EV_NEGATIVE_TEST},
	{"symptoms", HC_EV_SYMPTOMS},
	{"temperature", HC_EV_TEMPERATURE},
	{"checkin", HC_EV_CHECKIN},
	{"checkin_symptoms", HC_EV_CHECKIN_SYMPTOMS},
	{"finding", HC_EV_FINDING},
	{"override", HC_EV_OVERRIDE},
	{"release", HC_EV_RELEASE},
	{"vaccination", HC_EV_VACCINATION},
	{"pushed_red", HC_EV_PUSHED_RED},
	{"registered", HC_EV_REGISTERED},
};

static hc_event_kind
kind_from_text(text *t)
{
	const char *s = VARDATA_ANY(t);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	size_t		i;

	for (i = 0; i < lengthof(kind_names); i++)
		if (strlen(kind_names[i].name) == len && memcmp(kind_names[i].name, s, len) == 0)
			return kind_names[i].kind;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown evidence kind \"%s\"", text_to_cstring(t))));
	return 0;					/* not reached */
}

/* The policy versions of a policy vector, allocated in cxt. */
static hc_policy *
read_policies(ArrayType *arr, MemoryContext cxt, int *n_policies)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	hc_policy  *policies;

	/* one row of HC_POLICY_WIDTH a version, or the same flattened */
	if (ARR_ELEMTYPE(arr) != INT8OID || ARR_NDIM(arr) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the policy argument must be a bigint array of one or two dimensions")));
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n % HC_POLICY_WIDTH != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the policy vector has %d values, not a multiple of %d", n, HC_POLICY_WIDTH)));
	*n_policies = n / HC_POLICY_WIDTH;
	policies = MemoryContextAllocZero(cxt, sizeof(hc_policy) * Max(*n_policies, 1));
	for (i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the policy vector holds a NULL at position %d", i + 1)));
	for (i = 0; i < *n_policies; i++)
	{
		Datum	   *v = &elems[i * HC_POLICY_WIDTH];
		hc_policy  *p = &policies[i];

#define INT_FIELD(k) ((int32_t) Max(Min(DatumGetInt64(v[k]), PG_INT32_MAX), PG_INT32_MIN))
		p->rank = INT_FIELD(0);
		p->valid_from = DatumGetInt64(v[1]);
		p->valid_until = DatumGetInt64(v[2]);
		p->lookback_days = INT_FIELD(3);
		p->quarantine_days_red = INT_FIELD(4);
		p->quarantine_days_yellow = INT_FIELD(5);
		p->red_release_negative_tests = INT_FIELD(6);
		p->negative_test_valid_hours = INT_FIELD(7);
		p->fever_tenths = INT_FIELD(8);
		p->vaccinated_min_doses = INT_FIELD(9);
		p->symptoms_yellow = DatumGetInt64(v[10]) != 0;
		p->periodic_testing = DatumGetInt64(v[11]) != 0;
		p->calendar_days = DatumGetInt64(v[12]) != 0;
		p->two_negatives_release_yellow = DatumGetInt64(v[13]) != 0;
#undef INT_FIELD
	}
	return policies;
}

/* A place's division code, or -1 when the text is none. */
static int32_t
place_code(text *place)
{
	uint32_t	code;

	if (hc_region_parse(VARDATA_ANY(place), VARSIZE_ANY_EXHDR(place), &code, NULL, 0) == HC_OK)
		return (int32_t) code;
	return -1;
}

/*
 * _status_step(state, kind, at, until, value, place, ref, policy, from):
 * a NULL kind adds no event (a person without evidence, from a LEFT JOIN).
 */
PG_FUNCTION_INFO_V1(healthcode_status_step);
Datum
healthcode_status_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	StatusState *st;
	hc_event   *e;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "healthcode._status_step called in a non-aggregate context");
	st = PG_ARGISNULL(0) ? NULL : (StatusState *) PG_GETARG_POINTER(0);
	if (st == NULL)
		st = MemoryContextAllocZero(aggcxt, sizeof(StatusState));
	if (!st->have_context)
	{
		if (PG_ARGISNULL(7) || PG_ARGISNULL(8))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the status aggregate needs a policy vector and a start time")));
		st->policies = read_policies(PG_GETARG_ARRAYTYPE_P(7), aggcxt, &st->n_policies);
		st->from = PG_GETARG_TIMESTAMPTZ(8);
		st->have_context = true;
	}
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("evidence of kind \"%s\" has no time", text_to_cstring(PG_GETARG_TEXT_PP(1)))));

	if (st->n_events == st->max_events)
	{
		int			newmax = Max(16, st->max_events * 2);

		if (st->max_events >= HC_STATUS_MAX_EVENTS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a person has more than %d pieces of evidence in the status window",
							HC_STATUS_MAX_EVENTS)));
		st->events = st->events
			? repalloc(st->events, sizeof(hc_event) * newmax)
			: MemoryContextAlloc(aggcxt, sizeof(hc_event) * newmax);
		st->max_events = newmax;
	}
	e = &st->events[st->n_events++];
	e->kind = kind_from_text(PG_GETARG_TEXT_PP(1));
	e->at = PG_GETARG_TIMESTAMPTZ(2);
	e->until = PG_ARGISNULL(3) ? HC_TIME_POS_INF : PG_GETARG_TIMESTAMPTZ(3);
	e->value = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	e->place = PG_ARGISNULL(5) ? -1 : place_code(PG_GETARG_TEXT_PP(5));
	e->ref = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6);
	PG_RETURN_POINTER(st);
}

/* ---- the timeline as jsonb, built directly (no JSON text to parse) ---- */

static void
push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

/* (the value is copied: the caller's buffer is reused) */
static void
push_string(JsonbParseState **st, const char *key, const char *val)
{
	JsonbValue	v;

	push_key(st, key);
	v.type = jbvString;
	v.val.string.len = strlen(val);
	v.val.string.val = pnstrdup(val, v.val.string.len);
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
push_time(JsonbParseState **st, const char *key, int64_t t)
{
	char		text[HC_TIME_TEXT_LEN];

	hc_format_time(t, text);
	push_string(st, key, text);
}

/* A segment's reasons: [{rule, colour, at, place (when known), ref, text}],
 * the same values hc_timeline_json writes. Returns what closing the array
 * returns (the whole value, when it is the outermost). */
static JsonbValue *
push_reasons(JsonbParseState **st, const hc_timeline *t, const hc_segment *seg, const hc_event *events)
{
	int32_t		i;

	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < seg->n_reasons; i++)
	{
		hc_reason_text d;
		JsonbValue	ref;

		hc_reason_describe(&t->reasons[seg->first_reason + i], events, seg->colour, &d);
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		push_string(st, "rule", d.rule);
		push_string(st, "colour", d.colour);
		push_string(st, "at", d.at);
		if (d.place[0] != '\0')
			push_string(st, "place", d.place);
		push_key(st, "ref");
		ref.type = jbvNumeric;
		ref.val.numeric = int64_to_numeric(d.ref);
		pushJsonbValue(st, WJB_VALUE, &ref);
		push_string(st, "text", d.text);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	return pushJsonbValue(st, WJB_END_ARRAY, NULL);
}

static Datum
reasons_jsonb(const hc_timeline *t, const hc_event *events)
{
	JsonbParseState *st = NULL;

	return JsonbPGetDatum(JsonbValueToJsonb(push_reasons(&st, t, &t->segments[0], events)));
}

/* The later segments: [{from, until, colour, vaccinated, reasons}]. */
static Datum
next_jsonb(const hc_timeline *t, const hc_event *events)
{
	JsonbParseState *st = NULL;
	JsonbValue *done;
	int32_t		i;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = 1; i < t->n_segments; i++)
	{
		const hc_segment *seg = &t->segments[i];
		JsonbValue	vaccinated;

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		push_time(&st, "from", seg->from);
		push_time(&st, "until", seg->until);
		push_string(&st, "colour", hc_colour_name(seg->colour));
		push_key(&st, "vaccinated");
		vaccinated.type = jbvBool;
		vaccinated.val.boolean = seg->vaccinated;
		pushJsonbValue(&st, WJB_VALUE, &vaccinated);
		push_key(&st, "reasons");
		push_reasons(&st, t, seg, events);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	done = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(done));
}

/* A bytea of the buffer's bytes, palloc'd. */
static Datum
bytea_from_buf(const hc_buf *b)
{
	bytea	   *v = palloc(VARHDRSZ + b->len);

	SET_VARSIZE(v, VARHDRSZ + b->len);
	memcpy(VARDATA(v), b->data, b->len);
	return PointerGetDatum(v);
}

static void
report_nomem(void)
{
	ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory in the status engine")));
}

/*
 * Runs the engine on the events and returns the status_timeline tuple
 * (colour, vaccinated, reasons, valid_until, next, inputs). The result's
 * descriptor is kept in fn_extra: thousands of people come through here in
 * one query.
 */
static Datum
timeline_datum(FunctionCallInfo fcinfo, const hc_event *events, size_t n_events,
			   const hc_policy *policies, int n_policies, TimestampTz from)
{
	TupleDesc	desc = fcinfo->flinfo->fn_extra;
	hc_timeline tl;
	hc_buf		inputs = {0};
	char		detail[HC_DETAIL_LEN];
	hc_status	rc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (desc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "a status timeline function must return a composite type");
		desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = desc;
	}

	rc = hc_status_compute(events, n_events, policies, n_policies, from, &tl, detail, sizeof(detail));
	if (rc == HC_ERR_NOMEM)
		report_nomem();
	if (rc != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the status engine refused its input"),
				 errdetail("%s", detail)));
	rc = hc_inputs_pack(events, n_events, &inputs);
	if (rc != HC_OK)
	{
		hc_timeline_free(&tl);
		hc_buf_free(&inputs);
		if (rc == HC_ERR_NOMEM)
			report_nomem();
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a person has more than %d pieces of evidence in the status window",
						HC_STATUS_MAX_EVENTS)));
	}
	/* the engine's memory and the packed inputs (malloc'd) are freed
	 * whatever happens here; nothing here changes them */
	PG_TRY();
	{
		const hc_segment *first = &tl.segments[0];

		values[0] = hc_colour_to_enum(TupleDescAttr(desc, 0)->atttypid, first->colour);
		values[1] = BoolGetDatum(first->vaccinated);
		values[2] = reasons_jsonb(&tl, events);
		values[3] = TimestampTzGetDatum(first->until);
		values[4] = next_jsonb(&tl, events);
		values[5] = bytea_from_buf(&inputs);
	}
	PG_FINALLY();
	{
		hc_timeline_free(&tl);
		hc_buf_free(&inputs);
	}
	PG_END_TRY();
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

PG_FUNCTION_INFO_V1(healthcode_status_final);
Datum
healthcode_status_final(PG_FUNCTION_ARGS)
{
	StatusState *st = PG_ARGISNULL(0) ? NULL : (StatusState *) PG_GETARG_POINTER(0);

	if (st == NULL || !st->have_context)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(timeline_datum(fcinfo, st->events, st->n_events, st->policies, st->n_policies, st->from));
}

/* The packed inputs of a bytea argument, unpacked into a malloc'd array
 * (the caller frees it); a clear error for bytes that are not packed
 * inputs. */
static hc_event *
unpack_inputs(bytea *packed, size_t *n)
{
	hc_event   *events;
	char		detail[HC_DETAIL_LEN];
	hc_status	rc = hc_inputs_unpack((const uint8_t *) VARDATA_ANY(packed), VARSIZE_ANY_EXHDR(packed),
									  &events, n, detail, sizeof(detail));

	if (rc == HC_ERR_NOMEM)
		report_nomem();
	if (rc != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("not packed status inputs"),
				 errdetail("%s", detail)));
	return events;
}

/* The elements of a one-dimensional array argument of the given type, which
 * must have n of them (n < 0: any number, then set). */
static void
array_elements(ArrayType *arr, Oid elemtype, const char *what, Datum **elems, bool **nulls, int *n)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			count;

	if (ARR_ELEMTYPE(arr) != elemtype || ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array of %s", what, format_type_be(elemtype))));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, elems, nulls, &count);
	if (*n >= 0 && count != *n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the re-examined stays' arrays differ in length")));
	*n = count;
}

/*
 * _status_restayed(inputs bytea, stay_ids bigint[], stay_at timestamptz[],
 *                  stay_place text[], stay_high boolean[], policy bigint[],
 *                  start timestamptz, horizon timestamptz)
 * RETURNS status_timeline
 *
 * One person's timeline after a risk-area change: their stored inputs,
 * less the windowed events before horizon and the stays re-examined
 * (stay_ids), plus those re-examined stays still risky (stay_high true:
 * high, false: medium, NULL: no risk any more). Only stays' levels change
 * with a risk area, so this is the timeline _status_agg would compute from
 * every evidence table, without reading them.
 */
PG_FUNCTION_INFO_V1(healthcode_status_restayed);
Datum
healthcode_status_restayed(PG_FUNCTION_ARGS)
{
	TimestampTz horizon = PG_GETARG_TIMESTAMPTZ(7);
	Datum	   *ids,
			   *ats,
			   *places,
			   *highs;
	bool	   *id_nulls,
			   *at_nulls,
			   *place_nulls,
			   *high_nulls;
	int			n_stays = -1,
				n_policies,
				i;
	int64_t    *reexamined;
	hc_event   *stored,
			   *events;
	size_t		n_stored,
				n = 0;
	hc_policy  *policies;

	array_elements(PG_GETARG_ARRAYTYPE_P(1), INT8OID, "stay_ids", &ids, &id_nulls, &n_stays);
	array_elements(PG_GETARG_ARRAYTYPE_P(2), TIMESTAMPTZOID, "stay_at", &ats, &at_nulls, &n_stays);
	array_elements(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, "stay_place", &places, &place_nulls, &n_stays);
	array_elements(PG_GETARG_ARRAYTYPE_P(4), BOOLOID, "stay_high", &highs, &high_nulls, &n_stays);
	reexamined = palloc((n_stays + 1) * sizeof(int64_t));
	for (i = 0; i < n_stays; i++)
	{
		if (id_nulls[i] || at_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a re-examined stay needs its id and time")));
		reexamined[i] = DatumGetInt64(ids[i]);
	}
	policies = read_policies(PG_GETARG_ARRAYTYPE_P(5), CurrentMemoryContext, &n_policies);

	stored = unpack_inputs(PG_GETARG_BYTEA_PP(0), &n_stored);
	PG_TRY();
	{
		events = palloc((n_stored + n_stays + 1) * sizeof(hc_event));
		n = hc_inputs_keep(stored, n_stored, horizon, reexamined, n_stays, events);
	}
	PG_FINALLY();
	{
		free(stored);
	}
	PG_END_TRY();
	for (i = 0; i < n_stays; i++)
	{
		hc_event   *e;

		if (high_nulls[i])
			continue;
		e = &events[n++];
		e->kind = DatumGetBool(highs[i]) ? HC_EV_STAY_HIGH : HC_EV_STAY_MEDIUM;
		e->value = 0;
		e->place = place_nulls[i] ? -1 : place_code(DatumGetTextPP(places[i]));
		e->at = DatumGetTimestampTz(ats[i]);
		e->until = HC_TIME_POS_INF;
		e->ref = DatumGetInt64(ids[i]);
	}
	PG_RETURN_DATUM(timeline_datum(fcinfo, events, n, policies, n_policies, PG_GETARG_TIMESTAMPTZ(6)));
}

/* A timestamptz as its microseconds since 2000-01-01 (infinities as the
 * int8 extremes): the engine's own time scale, for the policy vector. */
PG_FUNCTION_INFO_V1(healthcode_timestamptz_us);
Datum
healthcode_timestamptz_us(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) PG_GETARG_TIMESTAMPTZ(0));
}

