/*
 * hc_status_pg.c — PostgreSQL glue of the status engine (hc_status.h):
 * the aggregate healthcode._status_agg(kind, at, until, value, place, ref,
 * policy, from) that collects one person's evidence and returns the
 * timeline as (colour, vaccinated, reasons, valid_until, next, inputs), and
 * the functions that read packed inputs back.
 *
 * The rules live in the pure-C engine; this file only moves values in and
 * out. Evidence kinds come by their names in the engine's table of kinds;
 * the policy argument is the engine_policy[] built by
 * healthcode._policy_versions, each version read attribute by attribute by
 * the names of the engine's table of policy fields (hc_policy_fields).
 */
#include "hc_pg.h"

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/typcache.h"

#include "hc_keys.h"
#include "hc_status.h"

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

/*
 * What a function of this file keeps across its calls in a query
 * (fn_extra): the descriptor of its result, and where each policy field is
 * in the policy versions' composite type, found by name once.
 */
typedef struct StatusCache
{
	TupleDesc	result;			/* status_timeline, blessed; NULL until needed */
	Oid			policy_type;	/* the type of policy_attnum; InvalidOid until
								 * found */
	int16		policy_typlen;
	bool		policy_typbyval;
	char		policy_typalign;
	AttrNumber	policy_attnum[HC_POLICY_N_FIELDS];	/* of hc_policy_fields */
	/* the policy versions last read from stored inputs, and their bytes:
	 * a batch brings its people region by region, with the same versions
	 * (fn_mcxt; NULL until read) */
	ArrayType  *policy_bytes;
	hc_policy  *policies;
	int			n_policies;
} StatusCache;

static StatusCache *
status_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(StatusCache));
	return fcinfo->flinfo->fn_extra;
}

static hc_event_kind
kind_from_text(text *t)
{
	hc_event_kind kind = hc_event_kind_from_name(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

	if (kind == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown evidence kind \"%s\"", text_to_cstring(t))));
	return kind;
}

/* The SQL type of a policy field. */
static Oid
policy_field_type(const hc_policy_field *f)
{
	switch (f->type)
	{
		case HC_POLICY_INT:
			return INT4OID;
		case HC_POLICY_TIME:
			return TIMESTAMPTZOID;
		case HC_POLICY_BOOL:
			return BOOLOID;
	}
	return InvalidOid;
}

/* Finds each policy field's attribute, by name, in the composite type. */
static void
find_policy_attributes(StatusCache *cache, Oid type, TupleDesc desc)
{
	AttrNumber	attnum[HC_POLICY_N_FIELDS];
	int			f,
				a;

	for (f = 0; f < HC_POLICY_N_FIELDS; f++)
	{
		const hc_policy_field *field = &hc_policy_fields[f];

		attnum[f] = InvalidAttrNumber;
		for (a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), field->name) == 0)
			{
				attnum[f] = att->attnum;
				if (att->atttypid != policy_field_type(field))
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("attribute \"%s\" of policy type %s has type %s, not %s",
									field->name, format_type_be(type), format_type_be(att->atttypid),
									format_type_be(policy_field_type(field)))));
				break;
			}
		}
		if (attnum[f] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("policy type %s has no attribute \"%s\"", format_type_be(type), field->name),
					 errdetail("The status engine reads every field of a policy version by name.")));
	}
	get_typlenbyvalalign(type, &cache->policy_typlen, &cache->policy_typbyval, &cache->policy_typalign);
	memcpy(cache->policy_attnum, attnum, sizeof(attnum));
	cache->policy_type = type;
}

/*
 * The policy versions of an array of a composite type (engine_policy),
 * allocated in cxt: each field of hc_policy_fields from the attribute of
 * its name.
 */
/*
 * The bigint[] that 0.2.0's SQL (_policy_vector) passes: one version after
 * another, each these fields in this order (times as microseconds,
 * booleans as 0/1). Read so that a database not yet updated with ALTER
 * EXTENSION keeps recalculating with this library.
 */
static const char *const legacy_policy_layout[] = {
	"rank", "valid_from", "valid_until", "lookback_days", "quarantine_days_red",
	"quarantine_days_yellow", "red_release_negative_tests", "negative_test_valid_hours",
	"fever_tenths", "vaccinated_min_doses", "symptoms_yellow", "periodic_testing",
	"calendar_days", "two_negatives_release_yellow"
};

static hc_policy *
read_legacy_policies(ArrayType *arr, MemoryContext cxt, int *n_policies)
{
	const int	width = lengthof(legacy_policy_layout);
	const hc_policy_field *slot[lengthof(legacy_policy_layout)];
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i,
				k,
				f;
	hc_policy  *policies;

	for (k = 0; k < width; k++)
	{
		slot[k] = NULL;
		for (f = 0; f < HC_POLICY_N_FIELDS; f++)
			if (strcmp(hc_policy_fields[f].name, legacy_policy_layout[k]) == 0)
				slot[k] = &hc_policy_fields[f];
		Assert(slot[k] != NULL);
	}
	if (ARR_NDIM(arr) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the policy vector must have one or two dimensions")));
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n % width != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the policy vector has %d values, not a multiple of %d", n, width)));
	*n_policies = n / width;
	policies = MemoryContextAllocZero(cxt, sizeof(hc_policy) * Max(*n_policies, 1));
	/* fields 0.2.0 did not have (evidence_kept_days): the built-in default */
	for (i = 0; i < *n_policies; i++)
		hc_policy_default(&policies[i]);
	for (i = 0; i < n; i++)
	{
		int64		v;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the policy vector holds a NULL at position %d", i + 1)));
		v = DatumGetInt64(elems[i]);
		switch (slot[i % width]->type)
		{
			case HC_POLICY_INT:
				v = Max(Min(v, PG_INT32_MAX), PG_INT32_MIN);
				break;
			case HC_POLICY_BOOL:
				v = (v != 0);
				break;
			case HC_POLICY_TIME:
				break;
		}
		hc_policy_set(&policies[i / width], slot[i % width], v);
	}
	return policies;
}

static hc_policy *
read_policies(StatusCache *cache, ArrayType *arr, MemoryContext cxt, int *n_policies)
{
	Oid			type = ARR_ELEMTYPE(arr);
	TupleDesc	desc;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i,
				f;
	hc_policy  *policies;

	if (type == INT8OID)
		return read_legacy_policies(arr, cxt, n_policies);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the policy versions must be a one-dimensional array")));
	/* the type's current descriptor, pinned while in use */
	desc = lookup_rowtype_tupdesc(type, -1);
	if (cache->policy_type != type)
		find_policy_attributes(cache, type, desc);
	deconstruct_array(arr, type, cache->policy_typlen, cache->policy_typbyval, cache->policy_typalign,
					  &elems, &nulls, &n);
	*n_policies = n;
	policies = MemoryContextAllocZero(cxt, sizeof(hc_policy) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTupleData tuple;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("policy version %d is NULL", i + 1)));
		hc_row_tuple(elems[i], &tuple);
		for (f = 0; f < HC_POLICY_N_FIELDS; f++)
		{
			const hc_policy_field *field = &hc_policy_fields[f];
			bool		isnull;
			Datum		d = heap_getattr(&tuple, cache->policy_attnum[f], desc, &isnull);

			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("policy version %d has no %s", i + 1, field->name)));
			switch (field->type)
			{
				case HC_POLICY_INT:
					hc_policy_set(&policies[i], field, DatumGetInt32(d));
					break;
				case HC_POLICY_TIME:
					hc_policy_set(&policies[i], field, DatumGetTimestampTz(d));
					break;
				case HC_POLICY_BOOL:
					hc_policy_set(&policies[i], field, DatumGetBool(d));
					break;
			}
		}
	}
	ReleaseTupleDesc(desc);
	return policies;
}

/* The policy versions of arr, read again only when they differ from the
 * last ones read by this function in this query. (Not for the aggregate,
 * whose states keep what they read.) (Not inlined: the caller's PG_TRY
 * would make its locals volatile.) */
pg_noinline static const hc_policy *
cached_policies(FunctionCallInfo fcinfo, ArrayType *arr, int *n_policies)
{
	StatusCache *cache = status_cache(fcinfo);
	Size		size = VARSIZE(arr);
	hc_policy  *policies;
	ArrayType  *copy;

	if (cache->policy_bytes != NULL && VARSIZE(cache->policy_bytes) == size &&
		memcmp(cache->policy_bytes, arr, size) == 0)
	{
		*n_policies = cache->n_policies;
		return cache->policies;
	}
	policies = read_policies(cache, arr, fcinfo->flinfo->fn_mcxt, n_policies);
	/* (the new copy made before the old one goes: an error in between
	 * leaves the cache as it was, never pointing at freed memory) */
	copy = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, size);
	memcpy(copy, arr, size);
	if (cache->policy_bytes != NULL)
	{
		pfree(cache->policy_bytes);
		pfree(cache->policies);
	}
	cache->policy_bytes = copy;
	cache->policies = policies;
	cache->n_policies = *n_policies;
	return policies;
}

/* A place's code (a division, township or village: hc_place_parse; or
 * 000000, the nation, that a pushed red names as its sender), or -1 when
 * the text is none. */
static int64_t
place_code(text *place)
{
	int64_t		code;
	uint32_t	division;

	if (hc_place_parse(VARDATA_ANY(place), VARSIZE_ANY_EXHDR(place), &code, NULL, 0) == HC_OK)
		return code;
	if (hc_region_parse(VARDATA_ANY(place), VARSIZE_ANY_EXHDR(place), &division, NULL, 0) == HC_OK)
		return division;
	return -1;
}

/* An override's order of recording (its place in the decision chain), as
 * the engine compares it: a non-negative number below 2^31, or -1. */
static int32_t
recording_order(text *order)
{
	char	   *s = text_to_cstring(order);
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || n < 0 || n > PG_INT32_MAX)
		n = -1;
	pfree(s);
	return (int32_t) n;
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
		elog(ERROR, "status aggregate transition function called in non-aggregate context");
	st = PG_ARGISNULL(0) ? NULL : (StatusState *) PG_GETARG_POINTER(0);
	if (st == NULL)
		st = MemoryContextAllocZero(aggcxt, sizeof(StatusState));
	if (!st->have_context)
	{
		if (PG_ARGISNULL(7) || PG_ARGISNULL(8))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the status aggregate needs policy versions and a start time")));
		st->policies = read_policies(status_cache(fcinfo), PG_GETARG_ARRAYTYPE_P(7), aggcxt,
									 &st->n_policies);
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
	/* (an override's place is its order of recording, a number) */
	if (PG_ARGISNULL(5))
		e->place = -1;
	else if (hc_event_kind_get(e->kind) != NULL && hc_event_kind_get(e->kind)->kind_class == HC_CLASS_OVERRIDE)
		e->place = recording_order(PG_GETARG_TEXT_PP(5));
	else
		e->place = place_code(PG_GETARG_TEXT_PP(5));
	e->ref = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6);
	PG_RETURN_POINTER(st);
}

/* ---- the timeline as jsonb, written directly in jsonb's binary form ----
 *
 * A batch of the work list builds two jsonb values a person; through
 * pushJsonbValue (a tree of JsonbValues, each object's keys sorted and
 * checked for duplicates, then the tree converted) that cost as much as
 * computing the timeline. The shapes here are fixed, so the values are
 * written as convertToJsonb (jsonb_util.c) would write them: a container is
 * its header (count and kind), one JEntry a child (its length; every
 * JB_OFFSET_STRIDE'th, and the first, its end offset instead), then the
 * children's data; an object's keys come first, sorted by length and then
 * bytes, then its values in the same order; numerics and nested containers
 * start on a 4-byte boundary of the value, the padding counted in their
 * length. pgTAP's status_jsonb.sql checks the bytes against jsonb's own. */

typedef struct JbWriter
{
	StringInfo	buf;
	int			entries;		/* where the container's JEntry array lies */
	int			data;			/* where its children's data begins */
	uint32		done;			/* the children's data written so far */
	int			n;				/* children written */
} JbWriter;

/* Opens a container of `count` elements (an object: pairs) at the end of buf. */
static void
jb_open(StringInfo buf, JbWriter *w, uint32 count, bool object)
{
	uint32		header = count | (object ? JB_FOBJECT : JB_FARRAY);
	int			entries = (int) (object ? 2 * count : count);

	appendBinaryStringInfo(buf, (char *) &header, sizeof(header));
	w->buf = buf;
	w->entries = buf->len;
	enlargeStringInfo(buf, entries * (int) sizeof(JEntry));
	buf->len += entries * (int) sizeof(JEntry);
	w->data = buf->len;
	w->done = 0;
	w->n = 0;
}

/* Records the child just written (everything appended since the last). */
static void
jb_child(JbWriter *w, uint32 type)
{
	uint32		len = (uint32) (w->buf->len - w->data) - w->done;
	JEntry		meta;

	w->done += len;
	if (w->done > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a status timeline's jsonb exceeds the maximum of %d bytes", JENTRY_OFFLENMASK)));
	meta = (w->n % JB_OFFSET_STRIDE) == 0 ? (type | w->done | JENTRY_HAS_OFF) : (type | len);
	memcpy(w->buf->data + w->entries + w->n * (int) sizeof(JEntry), &meta, sizeof(JEntry));
	w->n++;
}

static void
jb_pad(StringInfo buf)
{
	static const char zeros[4] = {0};
	int			pad = INTALIGN(buf->len) - buf->len;

	if (pad > 0)
		appendBinaryStringInfo(buf, zeros, pad);
}

static void
jb_string(JbWriter *w, const char *s)
{
	appendBinaryStringInfo(w->buf, s, (int) strlen(s));
	jb_child(w, JENTRY_ISSTRING);
}

static void
jb_number(JbWriter *w, int64_t v)
{
	Numeric		num = int64_to_numeric(v);

	jb_pad(w->buf);
	appendBinaryStringInfo(w->buf, (char *) num, (int) VARSIZE(num));
	pfree(num);
	jb_child(w, JENTRY_ISNUMERIC);
}

/* A segment's reasons, an array of {rule, colour, at, place (when known),
 * ref, text}: the same values hc_timeline_json writes. */
static void
jb_reasons(StringInfo buf, const hc_timeline *t, const hc_segment *seg, const hc_event *events)
{
	JbWriter	array;
	int32_t		i;

	jb_open(buf, &array, (uint32) seg->n_reasons, false);
	for (i = 0; i < seg->n_reasons; i++)
	{
		hc_reason_text d;
		JbWriter	object;
		bool		place;

		hc_reason_describe(&t->reasons[seg->first_reason + i], events, seg->colour, &d);
		place = d.place[0] != '\0';
		jb_pad(buf);
		jb_open(buf, &object, place ? 6 : 5, true);
		/* the keys in jsonb's order: by length, then bytes */
		jb_string(&object, "at");
		jb_string(&object, "ref");
		jb_string(&object, "rule");
		jb_string(&object, "text");
		if (place)
			jb_string(&object, "place");
		jb_string(&object, "colour");
		jb_string(&object, d.at);
		jb_number(&object, d.ref);
		jb_string(&object, d.rule);
		jb_string(&object, d.text);
		if (place)
			jb_string(&object, d.place);
		jb_string(&object, d.colour);
		jb_child(&array, JENTRY_ISCONTAINER);
	}
}

/* A buffer for a jsonb value: its varlena header reserved (offsets and
 * alignment count from the start of the value). */
static void
jb_start(StringInfo buf)
{
	initStringInfo(buf);
	buf->len = VARHDRSZ;
}

static Datum
jb_finish(StringInfo buf)
{
	SET_VARSIZE(buf->data, buf->len);
	return PointerGetDatum(buf->data);
}

static Datum
reasons_jsonb(const hc_timeline *t, const hc_event *events)
{
	StringInfoData buf;

	jb_start(&buf);
	jb_reasons(&buf, t, &t->segments[0], events);
	return jb_finish(&buf);
}

/* The later segments: [{from, until, colour, vaccinated, reasons}]. */
static Datum
next_jsonb(const hc_timeline *t, const hc_event *events)
{
	StringInfoData buf;
	JbWriter	array;
	int32_t		i;

	jb_start(&buf);
	jb_open(&buf, &array, (uint32) (t->n_segments > 0 ? t->n_segments - 1 : 0), false);
	for (i = 1; i < t->n_segments; i++)
	{
		const hc_segment *seg = &t->segments[i];
		JbWriter	object;
		char		from[HC_TIME_TEXT_LEN];
		char		until[HC_TIME_TEXT_LEN];

		hc_format_time(seg->from, from);
		hc_format_time(seg->until, until);
		jb_pad(&buf);
		jb_open(&buf, &object, 5, true);
		/* the keys in jsonb's order: by length, then bytes */
		jb_string(&object, "from");
		jb_string(&object, "until");
		jb_string(&object, "colour");
		jb_string(&object, "reasons");
		jb_string(&object, "vaccinated");
		jb_string(&object, from);
		jb_string(&object, until);
		jb_string(&object, hc_colour_name(seg->colour));
		jb_pad(&buf);
		jb_reasons(&buf, t, seg, events);
		jb_child(&object, JENTRY_ISCONTAINER);
		jb_child(&object, seg->vaccinated ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE);
		jb_child(&array, JENTRY_ISCONTAINER);
	}
	return jb_finish(&buf);
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
	StatusCache *cache = status_cache(fcinfo);
	TupleDesc	desc = cache->result;
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
			elog(ERROR, "return type must be a row type");
		desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(old);
		cache->result = desc;
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

/* (hc_pg.h) */
void
hc_row_tuple(Datum row, HeapTupleData *tuple)
{
	HeapTupleHeader td = DatumGetHeapTupleHeader(row);

	tuple->t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = td;
}

/* (hc_pg.h) The layout of the few element types read is known: no
 * catalog lookup for each call of a function called once a person. */
void
hc_array_elements(ArrayType *arr, Oid elemtype, const char *what, Datum **elems, bool **nulls, int *n)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			count;

	if (ARR_ELEMTYPE(arr) != elemtype || ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array of %s", what, format_type_be(elemtype))));
	switch (elemtype)
	{
		case INT8OID:
			typlen = 8, typbyval = FLOAT8PASSBYVAL, typalign = TYPALIGN_DOUBLE;
			break;
		case TIMESTAMPTZOID:
			typlen = 8, typbyval = FLOAT8PASSBYVAL, typalign = TYPALIGN_DOUBLE;
			break;
		case BOOLOID:
			typlen = 1, typbyval = true, typalign = TYPALIGN_CHAR;
			break;
		case TEXTOID:
			typlen = -1, typbyval = false, typalign = TYPALIGN_INT;
			break;
		default:
			get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	}
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, elems, nulls, &count);
	if (*n >= 0 && count != *n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d elements, not %d as the arrays before it", what, count, *n)));
	*n = count;
}

/*
 * _status_from_stored_inputs(inputs bytea, stay_ids bigint[], stay_at timestamptz[],
 *                  stay_place text[], stay_high boolean[], policy engine_policy[],
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
PG_FUNCTION_INFO_V1(healthcode_status_from_stored_inputs);
/* (0.2.0's SQL name for it: _status_restayed) */
PG_FUNCTION_INFO_V1(healthcode_status_restayed);
Datum
healthcode_status_restayed(PG_FUNCTION_ARGS)
{
	return healthcode_status_from_stored_inputs(fcinfo);
}

Datum
healthcode_status_from_stored_inputs(PG_FUNCTION_ARGS)
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
	const hc_policy *policies;

	hc_array_elements(PG_GETARG_ARRAYTYPE_P(1), INT8OID, "stay_ids", &ids, &id_nulls, &n_stays);
	hc_array_elements(PG_GETARG_ARRAYTYPE_P(2), TIMESTAMPTZOID, "stay_at", &ats, &at_nulls, &n_stays);
	hc_array_elements(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, "stay_place", &places, &place_nulls, &n_stays);
	hc_array_elements(PG_GETARG_ARRAYTYPE_P(4), BOOLOID, "stay_high", &highs, &high_nulls, &n_stays);
	reexamined = palloc((n_stays + 1) * sizeof(int64_t));
	for (i = 0; i < n_stays; i++)
	{
		if (id_nulls[i] || at_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a re-examined stay needs its id and time")));
		reexamined[i] = DatumGetInt64(ids[i]);
	}
	policies = cached_policies(fcinfo, PG_GETARG_ARRAYTYPE_P(5), &n_policies);

	stored = unpack_inputs(PG_GETARG_BYTEA_PP(0), &n_stored);
	PG_TRY();
	{
		events = palloc((n_stored + n_stays + 1) * sizeof(hc_event));
		n = hc_inputs_keep(stored, n_stored, horizon, HC_TIME_NEG_INF, reexamined, n_stays, events);
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

/*
 * 0.2.0's _timestamptz_us(timestamptz): the engine's time scale for its
 * policy vector. Kept for a database not yet updated to this version.
 */
PG_FUNCTION_INFO_V1(healthcode_timestamptz_us);
Datum
healthcode_timestamptz_us(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) PG_GETARG_TIMESTAMPTZ(0));
}

/*
 * _inputs_hold_expired(inputs bytea, horizon timestamptz, kept_from timestamptz)
 * RETURNS boolean
 *
 * Whether stored inputs still hold evidence too old to change any colour:
 * windowed before horizon, or expiring before kept_from. Retention
 * recalculates such people, so that no status row keeps what the evidence
 * tables no longer do.
 */
PG_FUNCTION_INFO_V1(healthcode_inputs_hold_expired);
Datum
healthcode_inputs_hold_expired(PG_FUNCTION_ARGS)
{
	size_t		n;
	hc_event   *events = unpack_inputs(PG_GETARG_BYTEA_PP(0), &n);
	bool		held = hc_inputs_hold_expired(events, n, PG_GETARG_TIMESTAMPTZ(1),
											  PG_GETARG_TIMESTAMPTZ(2));

	free(events);
	PG_RETURN_BOOL(held);
}

/*
 * _inputs_kept(inputs bytea, horizon timestamptz, kept_from timestamptz)
 * RETURNS bytea
 *
 * Stored inputs less the evidence too old to change any colour (windowed
 * before horizon, expiring before kept_from): what retention keeps of a
 * status row whose timeline those events no longer shape, without
 * computing it again.
 */
PG_FUNCTION_INFO_V1(healthcode_inputs_kept);
Datum
healthcode_inputs_kept(PG_FUNCTION_ARGS)
{
	size_t		n;
	hc_event   *events = unpack_inputs(PG_GETARG_BYTEA_PP(0), &n);
	hc_buf		packed = {0};
	hc_status	rc;
	bytea	   *result;

	n = hc_inputs_keep(events, n, PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_TIMESTAMPTZ(2), NULL, 0, events);
	rc = hc_inputs_pack(events, n, &packed);
	free(events);
	if (rc != HC_OK)
	{
		hc_buf_free(&packed);
		report_nomem();
	}
	result = (bytea *) palloc(VARHDRSZ + packed.len);
	SET_VARSIZE(result, VARHDRSZ + packed.len);
	memcpy(VARDATA(result), packed.data, packed.len);
	hc_buf_free(&packed);
	PG_RETURN_BYTEA_P(result);
}

/*
 * _policy_default(field text) RETURNS integer
 *
 * The built-in default of an integer policy field (the engine's table of
 * fields): what a national version that leaves a national-only field
 * NULL stands for.
 */
PG_FUNCTION_INFO_V1(healthcode_policy_default);
Datum
healthcode_policy_default(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			i;

	for (i = 0; i < HC_POLICY_N_FIELDS; i++)
		if (hc_policy_fields[i].type == HC_POLICY_INT && strcmp(hc_policy_fields[i].name, name) == 0)
			PG_RETURN_INT32((int32) hc_policy_fields[i].dflt);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("no integer policy field is called %s", quote_literal_cstr(name))));
}

/*
 * The evidence horizon's national versions. Every write of evidence asks
 * for the horizon; in PL/pgSQL over the policy table (a query with four
 * correlated subqueries) its first call in a process took 6-8 ms and the
 * next four 1.5 ms each (a custom plan each), and every work list worker
 * and new connection is such a process. Here the national rows are read by
 * one plan kept for the session, in the caller's snapshot as before, and
 * weighed by hc_national_days_from.
 */
static SPIPlanPtr national_plan = NULL;

static int32
national_days(TimestampTz at, bool kept)
{
	hc_policy	defaults;
	int32		fallback;
	hc_national_days *versions;
	int32		result;
	uint64		i;
	int			rc;

	hc_policy_default(&defaults);
	fallback = kept ? defaults.evidence_kept_days : defaults.lookback_days;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (national_plan == NULL)
	{
		/* (every name and operator qualified: the caller's search_path
		 * chooses nothing here; a caller with another search_path than
		 * the plan was made under has it planned again, 0.2-0.3 ms, and
		 * the extension's callers all set theirs) */
		SPIPlanPtr	plan = SPI_prepare("SELECT p.id, p.valid_from, p.valid_until, p.lookback_days,"
									   " p.regional_lookback_limit_days, p.evidence_kept_days"
									   " FROM " HC_SCHEMA ".policy p"
									   " WHERE p.region OPERATOR(pg_catalog.=) '000000'::pg_catalog.text",
									   0, NULL);

		if (plan == NULL)
			elog(ERROR, "could not prepare the query of the national policy versions: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "could not keep the plan of the query of the national policy versions");
		national_plan = plan;
	}
	rc = SPI_execute_plan(national_plan, NULL, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "the query of the national policy versions failed: %s", SPI_result_code_string(rc));
	versions = palloc(sizeof(hc_national_days) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		until;
		Datum		more;
		int32		lookback;

		versions[i].id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		versions[i].valid_from = DatumGetTimestampTz(SPI_getbinval(row, desc, 2, &isnull));
		until = SPI_getbinval(row, desc, 3, &isnull);
		versions[i].valid_until = isnull ? HC_TIME_POS_INF : DatumGetTimestampTz(until);
		if (kept)
		{
			more = SPI_getbinval(row, desc, 6, &isnull);
			versions[i].days = isnull ? fallback : DatumGetInt32(more);
		}
		else
		{
			/* (a regional version may look back as far as the limit) */
			lookback = DatumGetInt32(SPI_getbinval(row, desc, 4, &isnull));
			more = SPI_getbinval(row, desc, 5, &isnull);
			versions[i].days = isnull ? lookback : Max(lookback, DatumGetInt32(more));
		}
	}
	result = hc_national_days_from(versions, (size_t) SPI_processed, at, fallback);
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(healthcode_national_lookback_days);
Datum
healthcode_national_lookback_days(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(national_days(PG_GETARG_TIMESTAMPTZ(0), false));
}

PG_FUNCTION_INFO_V1(healthcode_national_kept_days);
Datum
healthcode_national_kept_days(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(national_days(PG_GETARG_TIMESTAMPTZ(0), true));
}
