/*
 * hc_status_pg.c — PostgreSQL glue of the status engine (hc_status.h):
 * the aggregate healthcode._status_agg(kind, at, until, value, place, ref,
 * policy, from) that collects one person's evidence and returns the
 * timeline as (colour, vaccinated, reasons, valid_until, next).
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
#include "utils/memutils.h"

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

static void
read_policies(StatusState *st, ArrayType *arr, MemoryContext cxt)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

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
	st->n_policies = n / HC_POLICY_WIDTH;
	st->policies = MemoryContextAllocZero(cxt, sizeof(hc_policy) * Max(st->n_policies, 1));
	for (i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the policy vector holds a NULL at position %d", i + 1)));
	for (i = 0; i < st->n_policies; i++)
	{
		Datum	   *v = &elems[i * HC_POLICY_WIDTH];
		hc_policy  *p = &st->policies[i];

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
		read_policies(st, PG_GETARG_ARRAYTYPE_P(7), aggcxt);
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
	e->place = -1;
	if (!PG_ARGISNULL(5))
	{
		text	   *place = PG_GETARG_TEXT_PP(5);
		uint32_t	code;

		if (hc_region_parse(VARDATA_ANY(place), VARSIZE_ANY_EXHDR(place), &code, NULL, 0) == HC_OK)
			e->place = (int32_t) code;
	}
	e->ref = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6);
	PG_RETURN_POINTER(st);
}

static Datum
jsonb_from_buf(hc_buf *b)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(b->data));
}

PG_FUNCTION_INFO_V1(healthcode_status_final);
Datum
healthcode_status_final(PG_FUNCTION_ARGS)
{
	StatusState *st = PG_ARGISNULL(0) ? NULL : (StatusState *) PG_GETARG_POINTER(0);
	TupleDesc	desc;
	hc_timeline tl;
	hc_buf		current = {0},
				next = {0};
	char		detail[HC_DETAIL_LEN];
	hc_status	rc;
	Datum		values[5];
	bool		nulls[5] = {false};
	bool		json_ok;
	const hc_segment *first;

	if (st == NULL || !st->have_context)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "healthcode._status_final must return a composite type");
	desc = BlessTupleDesc(desc);

	rc = hc_status_compute(st->events, st->n_events, st->policies, st->n_policies,
						   st->from, &tl, detail, sizeof(detail));
	if (rc == HC_ERR_NOMEM)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory in the status engine")));
	if (rc != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the status engine refused its input"),
				 errdetail("%s", detail)));
	/* nothing below may raise an error before the engine's memory is freed */
	json_ok = hc_timeline_json(&tl, st->events, &current, &next);
	first = &tl.segments[0];
	values[1] = BoolGetDatum(first->vaccinated);
	values[3] = TimestampTzGetDatum(first->until);
	{
		hc_colour	colour = first->colour;

		hc_timeline_free(&tl);
		if (!json_ok)
		{
			hc_buf_free(&current);
			hc_buf_free(&next);
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory in the status engine")));
		}
		values[0] = hc_colour_to_enum(TupleDescAttr(desc, 0)->atttypid, colour);
	}
	PG_TRY();
	{
		values[2] = jsonb_from_buf(&current);
		values[4] = jsonb_from_buf(&next);
	}
	PG_FINALLY();
	{
		hc_buf_free(&current);
		hc_buf_free(&next);
	}
	PG_END_TRY();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* A timestamptz as its microseconds since 2000-01-01 (infinities as the
 * int8 extremes): the engine's own time scale, for the policy vector. */
PG_FUNCTION_INFO_V1(healthcode_timestamptz_us);
Datum
healthcode_timestamptz_us(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) PG_GETARG_TIMESTAMPTZ(0));
}

