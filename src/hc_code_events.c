/*
 * hc_code_events.c — counting the codes issued and verified without
 * writing a row at each one.
 *
 * Every code issued and every code checked counts in healthcode.code_event
 * (the analyst views count holders and codes per day from it). A row
 * inserted at each code gives the call a transaction id, a commit record
 * and, with synchronous_commit on, a wait for the WAL flush: for a code
 * screen, whose every other step only reads, that was a third of its time.
 *
 * With healthcode in shared_preload_libraries, a call counts its code in a
 * ring of slots in shared memory instead (healthcode.code_event_buffer
 * slots, set at server start) and writes nothing; once enough of its
 * database's events wait (healthcode.code_event_flush_rows) or the oldest
 * has waited long enough (healthcode.code_event_flush_interval), the call
 * that notices writes them all into code_event in one INSERT
 * (_flush_code_events, 73_codes.sql). Readers of code_event read the
 * waiting events too (_buffered_code_events), so a count is never behind.
 * What the ring holds is lost when the server stops or crashes: at most
 * the last flush interval's events, or code_event_flush_rows of them.
 * Without the preload (or with the ring full, or an event it cannot
 * hold) a call inserts its row as before.
 *
 * A flush takes its database's waiting events out of the ring for its
 * transaction: they leave the ring when it commits and wait again if it
 * (or the subtransaction that took them) rolls back, so no event is lost
 * to a failed call and none is written twice.
 */
#include "hc_pg.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "pgtime.h"

/* What a slot holds; anything longer is inserted directly. */
#define EVENT_LEN 12			/* issued, verified */
#define COLOUR_LEN 8			/* green, yellow, red */
#define REGION_LEN 8			/* six digits */
#define OUTCOME_LEN 40			/* ok, or a verify() reason */
#define HOLDER_LEN HC_HOLDER_LEN	/* _code_holder's pseudonym */
/* databases whose events the ring holds at once (more: inserted directly) */
#define MAX_DATABASES 16

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_WAITING,				/* counted, not yet written */
	SLOT_TAKEN					/* being written by taker's transaction */
} SlotState;

typedef struct EventSlot
{
	Oid			database;
	uint8		state;			/* SlotState */
	int			taker;			/* the flushing backend's pid */
	SubTransactionId taker_subxact; /* the subtransaction that took it */
	TimestampTz at;
	char		event[EVENT_LEN];
	char		colour[COLOUR_LEN];
	char		region[REGION_LEN];
	char		code_region[REGION_LEN];
	char		outcome[OUTCOME_LEN];
	uint8		holder[HOLDER_LEN];
} EventSlot;

typedef struct DatabaseQueue
{
	Oid			database;		/* InvalidOid: unused */
	int			waiting;		/* its slots in SLOT_WAITING */
	TimestampTz oldest;			/* the earliest waiting slot's time, about */
} DatabaseQueue;

typedef struct EventRing
{
	LWLock	   *lock;
	int			capacity;
	int			next_free;		/* where to look for a free slot first */
	DatabaseQueue queues[MAX_DATABASES];
	EventSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} EventRing;

/* GUCs */
static int	ring_capacity = 8192;
static int	flush_rows = 1000;
static int	flush_interval_s = 10;

static EventRing *ring = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
/* this backend holds taken slots: settle them at its transaction's end */
static bool holding_taken = false;
static bool callbacks_registered = false;

static Size
ring_size(void)
{
	return add_size(offsetof(EventRing, slots), mul_size(sizeof(EventSlot), ring_capacity));
}

static void
ring_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	if (ring_capacity > 0)
	{
		RequestAddinShmemSpace(ring_size());
		RequestNamedLWLockTranche("healthcode code events", 1);
	}
}

static void
ring_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	if (ring_capacity <= 0)
		return;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ring = ShmemInitStruct("healthcode code events", ring_size(), &found);
	if (!found)
	{
		memset(ring, 0, ring_size());
		ring->lock = &(GetNamedLWLockTranche("healthcode code events"))->lock;
		ring->capacity = ring_capacity;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Called from _PG_init while the server starts with healthcode in
 * shared_preload_libraries: the settings and the ring's shared memory.
 */
void
hc_code_events_preload(void)
{
	DefineCustomIntVariable("healthcode.code_event_buffer",
							"Slots in shared memory for codes issued and verified that are yet to be written to code_event.",
							"Needs healthcode in shared_preload_libraries; 0: every event is inserted at once.",
							&ring_capacity,
							8192, 0, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("healthcode.code_event_flush_rows",
							"Events of a database waiting in shared memory at which the next call writes them to code_event.",
							NULL,
							&flush_rows,
							1000, 1, 1000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("healthcode.code_event_flush_interval",
							"How long an event may wait in shared memory before the next call writes the waiting ones to code_event.",
							"At most this long of events is lost when the server stops.",
							&flush_interval_s,
							10, 1, 3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ring_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ring_shmem_startup;
}

/* Caller holds the lock. */
static DatabaseQueue *
queue_of(Oid database, bool create)
{
	DatabaseQueue *unused = NULL;

	for (int i = 0; i < MAX_DATABASES; i++)
	{
		DatabaseQueue *q = &ring->queues[i];

		if (q->database == database)
			return q;
		if (unused == NULL && (q->database == InvalidOid || q->waiting == 0))
			unused = q;
	}
	if (!create || unused == NULL)
		return NULL;
	/* (a queue with nothing waiting is reused; taken slots need none) */
	unused->database = database;
	unused->waiting = 0;
	unused->oldest = 0;
	return unused;
}

/* Copies text into a slot's field; false if it does not fit. */
static bool
copy_field(char *dst, size_t cap, text *t)
{
	size_t		len = VARSIZE_ANY_EXHDR(t);

	if (len >= cap)
		return false;
	memcpy(dst, VARDATA_ANY(t), len);
	dst[len] = '\0';
	return true;
}

/* A slot's transaction ended: its taken slots leave or wait again. */
static void
settle_taken(bool committed, SubTransactionId from_subxact)
{
	int			pid = MyProcPid;

	if (!holding_taken || ring == NULL)
		return;
	LWLockAcquire(ring->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ring->capacity; i++)
	{
		EventSlot  *s = &ring->slots[i];
		DatabaseQueue *q;

		if (s->state != SLOT_TAKEN || s->taker != pid || s->taker_subxact < from_subxact)
			continue;
		if (committed)
		{
			s->state = SLOT_FREE;
			continue;
		}
		s->state = SLOT_WAITING;
		q = queue_of(s->database, true);
		if (q == NULL)
		{
			/* (sixteen other databases' events wait: this one's are lost) */
			s->state = SLOT_FREE;
			continue;
		}
		if (q->waiting == 0 || s->at < q->oldest)
			q->oldest = s->at;
		q->waiting++;
	}
	LWLockRelease(ring->lock);
	if (from_subxact == InvalidSubTransactionId)
		holding_taken = false;
}

static void
events_xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			settle_taken(true, InvalidSubTransactionId);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			settle_taken(false, InvalidSubTransactionId);
			break;
		default:
			break;
	}
}

static void
events_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	(void) parentSubid;
	(void) arg;
	/*
	 * A subtransaction's id is larger than every id before it, so the
	 * slots taken in it or in the subtransactions it held are those with
	 * an id from its own on.
	 */
	if (event == SUBXACT_EVENT_ABORT_SUB)
		settle_taken(false, mySubid);
}

/* Copies a C string into a slot's field; false if it does not fit. */
static bool
copy_cstring(char *dst, size_t cap, const char *src)
{
	size_t		len = strlen(src);

	if (len >= cap)
		return false;
	memcpy(dst, src, len + 1);
	return true;
}

/*
 * Counts an event in the ring: 0 done; 1 done, and the database's waiting
 * events are due to be written; -1 not done (no ring, the ring full, a
 * value too long for a slot).
 */
static int
buffer_event(text *event, text *region, text *code_region, const char *colour, text *outcome,
			 bytea *holder, TimestampTz at)
{
	EventSlot	slot;
	DatabaseQueue *q;
	int			found = -1;
	bool		due;

	if (ring == NULL)
		return -1;
	memset(&slot, 0, sizeof(slot));
	if (!copy_field(slot.event, EVENT_LEN, event) ||
		!copy_field(slot.region, REGION_LEN, region) ||
		!copy_field(slot.code_region, REGION_LEN, code_region) ||
		!copy_cstring(slot.colour, COLOUR_LEN, colour) ||
		!copy_field(slot.outcome, OUTCOME_LEN, outcome) ||
		VARSIZE_ANY_EXHDR(holder) != HOLDER_LEN)
		return -1;
	memcpy(slot.holder, VARDATA_ANY(holder), HOLDER_LEN);
	slot.at = at;
	slot.database = MyDatabaseId;
	slot.state = SLOT_WAITING;

	LWLockAcquire(ring->lock, LW_EXCLUSIVE);
	q = queue_of(MyDatabaseId, true);
	if (q != NULL)
	{
		for (int n = 0; n < ring->capacity; n++)
		{
			int			i = (ring->next_free + n) % ring->capacity;

			if (ring->slots[i].state == SLOT_FREE)
			{
				found = i;
				break;
			}
		}
	}
	if (found < 0)
	{
		LWLockRelease(ring->lock);
		return -1;
	}
	ring->slots[found] = slot;
	ring->next_free = (found + 1) % ring->capacity;
	if (q->waiting == 0 || slot.at < q->oldest)
		q->oldest = slot.at;
	q->waiting++;
	due = q->waiting >= flush_rows ||
		TimestampDifferenceExceeds(q->oldest, GetCurrentTimestamp(), flush_interval_s * 1000);
	LWLockRelease(ring->lock);
	return due ? 1 : 0;
}

PG_FUNCTION_INFO_V1(healthcode_count_code_event);

/*
 * _count_code_event(event, region, code_region, colour, outcome, holder):
 * counts a code issued or verified, at the transaction's start (as
 * code_event.at's default): in the ring, writing the waiting events when
 * they are due (_flush_code_events); else as a row inserted at once.
 * Returns what was done: 0 counted in the ring, 1 counted and the waiting
 * events written, -1 the row inserted. (C, not PL/pgSQL: every code takes
 * this path.)
 */
Datum
healthcode_count_code_event(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr insert_plan = NULL;
	static SPIPlanPtr flush_plan = NULL;
	int			done = -1;
	int			rc;

	for (int i = 0; i < 6; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a code event must have every field")));
	done = buffer_event(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(2),
						hc_colour_name(hc_enum_to_colour(PG_GETARG_DATUM(3))), PG_GETARG_TEXT_PP(4),
						PG_GETARG_BYTEA_PP(5), GetCurrentTransactionStartTimestamp());
	if (done == 0)
		PG_RETURN_INT32(0);
	/*
	 * A read-only transaction (or a standby) counts in the ring but cannot
	 * write: the waiting events are left for the next call that can.
	 */
	if (done == 1 && (XactReadOnly || RecoveryInProgress()))
		PG_RETURN_INT32(0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (done == 1)
	{
		if (flush_plan == NULL)
		{
			const char *schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
			SPIPlanPtr	plan = SPI_prepare(psprintf("SELECT %s._flush_code_events()", schema), 0, NULL);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
			flush_plan = plan;
		}
		rc = SPI_execute_plan(flush_plan, NULL, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "writing the waiting code events failed: %s", SPI_result_code_string(rc));
	}
	else
	{
		Datum		values[6];

		if (insert_plan == NULL)
		{
			const char *schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
			Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, get_fn_expr_argtype(fcinfo->flinfo, 3),
			TEXTOID, BYTEAOID};
			SPIPlanPtr	plan = SPI_prepare(psprintf("INSERT INTO %s.code_event (event, region, code_region, colour, outcome, holder) "
												   "VALUES ($1, $2, $3, $4, $5, $6)", schema), 6, types);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
			insert_plan = plan;
		}
		for (int i = 0; i < 6; i++)
			values[i] = PG_GETARG_DATUM(i);
		rc = SPI_execute_plan(insert_plan, values, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "counting a code event failed: %s", SPI_result_code_string(rc));
	}
	SPI_finish();
	PG_RETURN_INT32(done);
}

/* The rows of the ring's slots of this database that a test accepts. */
static void
return_slots(FunctionCallInfo fcinfo, bool take)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EventSlot  *copies;
	int			n = 0;
	SubTransactionId subxact = GetCurrentSubTransactionId();

	InitMaterializedSRF(fcinfo, 0);
	if (ring == NULL)
		return;
	if (take && !callbacks_registered)
	{
		RegisterXactCallback(events_xact_callback, NULL);
		RegisterSubXactCallback(events_subxact_callback, NULL);
		callbacks_registered = true;
	}
	copies = palloc(sizeof(EventSlot) * ring->capacity);
	LWLockAcquire(ring->lock, take ? LW_EXCLUSIVE : LW_SHARED);
	for (int i = 0; i < ring->capacity; i++)
	{
		EventSlot  *s = &ring->slots[i];

		if (s->database != MyDatabaseId || s->state != SLOT_WAITING)
			continue;
		copies[n++] = *s;
		if (take)
		{
			s->state = SLOT_TAKEN;
			s->taker = MyProcPid;
			s->taker_subxact = subxact;
		}
	}
	if (take && n > 0)
	{
		DatabaseQueue *q = queue_of(MyDatabaseId, false);

		if (q != NULL)
			q->waiting = 0;
		holding_taken = true;
	}
	LWLockRelease(ring->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};
		bytea	   *holder = palloc(VARHDRSZ + HOLDER_LEN);

		SET_VARSIZE(holder, VARHDRSZ + HOLDER_LEN);
		memcpy(VARDATA(holder), copies[i].holder, HOLDER_LEN);
		values[0] = TimestampTzGetDatum(copies[i].at);
		values[1] = CStringGetTextDatum(copies[i].event);
		values[2] = CStringGetTextDatum(copies[i].region);
		values[3] = CStringGetTextDatum(copies[i].code_region);
		values[4] = CStringGetTextDatum(copies[i].colour);
		values[5] = CStringGetTextDatum(copies[i].outcome);
		values[6] = PointerGetDatum(holder);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(copies);
}

PG_FUNCTION_INFO_V1(healthcode_take_code_events);

/*
 * _take_code_events(): this database's waiting events, taken for the
 * caller's transaction, which writes them (they leave the ring at its
 * commit and wait again if it rolls back).
 */
Datum
healthcode_take_code_events(PG_FUNCTION_ARGS)
{
	return_slots(fcinfo, true);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(healthcode_buffered_code_events);

/* _buffered_code_events(): this database's waiting events, left in place. */
Datum
healthcode_buffered_code_events(PG_FUNCTION_ARGS)
{
	return_slots(fcinfo, false);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(healthcode_code_holder);

/*
 * _code_holder(subject, at): the first 8 bytes of SHA-256(subject || the
 * day of at in China Standard Time, YYYY-MM-DD): one pseudonym a holder a
 * day. NULL for an infinite at.
 */
Datum
healthcode_code_holder(PG_FUNCTION_ARGS)
{
	static pg_tz *cst = NULL;
	bytea	   *subject = PG_GETARG_BYTEA_PP(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	char		day[32];
	int			day_len;
	bytea	   *out;

	if (TIMESTAMP_NOT_FINITE(at))
		PG_RETURN_NULL();
	if (cst == NULL)
		cst = pg_tzset("Asia/Shanghai");
	if (cst == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("time zone \"Asia/Shanghai\" is not known to this server")));
	if (timestamp2tm(at, &tz, &tm, &fsec, NULL, cst) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	/* (to_char's YYYY: four digits at least, as many as the year has) */
	day_len = snprintf(day, sizeof(day), "%04d-%02d-%02d", tm.tm_year, tm.tm_mon, tm.tm_mday);
	out = palloc(VARHDRSZ + HC_HOLDER_LEN);
	SET_VARSIZE(out, VARHDRSZ + HC_HOLDER_LEN);
	hc_code_holder((const uint8_t *) VARDATA_ANY(subject), VARSIZE_ANY_EXHDR(subject), day, (size_t) day_len,
				   (uint8_t *) VARDATA(out));
	PG_RETURN_BYTEA_P(out);
}
