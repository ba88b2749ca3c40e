/*
 * hc_recalc_worker.c — the workers that recalculate the status work list.
 *
 * A change whose meaning reaches many people (a risk-area designation, a
 * policy version) does not recalculate them in its own statement: it
 * records the change in recalc_work, commits at once, and asks for
 * workers here (66_status_work.sql). Each worker runs
 * healthcode._recalc_step() in a loop, each call its own transaction: it
 * lists the people of a new change in recalc_pending, or recalculates one
 * batch of them. Readers compute a person still on the list fresh, so
 * nothing reads a stale colour meanwhile, and a crash loses nothing: the
 * list is a table, and the next worker goes on where the last stopped.
 *
 * healthcode._launch_recalc_workers(n, after_me) registers up to n
 * dynamic background workers as the caller's user (the extension's owner:
 * the callers are SECURITY DEFINER); with after_me, each first waits for
 * the caller's transaction to end, so that it sees the work it recorded.
 * No shared_preload_libraries entry is needed. A worker waits while other
 * workers hold what is left; once the list is empty it waits a few
 * seconds for more and exits. A worker not at work first asks
 * _recalc_staff() whether enough workers older than it are there (it then
 * leaves) or too few (it starts more): a change starts a worker of its own
 * even where enough run (one may be ending its last look), and without
 * that ask the extra ones stayed, one more with each change that came
 * before they had idled out.
 */
#include "hc_pg.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

/* how long a worker with nothing to do waits for more before it exits */
#define RECALC_IDLE_POLLS 5
/*
 * During the last of those looks a worker's application_name is this,
 * which _recalc_staff() looks for (66_status_work.sql): a worker there may
 * exit without seeing a change committed meanwhile, so it does not count
 * as one that will take the change up. (application_name, not the query
 * text: pg_stat_activity shows it whatever track_activities says.)
 */
#define RECALC_LAST_LOOK_NAME "healthcode recalculation: last look"
#define RECALC_IDLE_POLL_MS 1000L
/*
 * how often a worker looks again while the work left is in other workers'
 * hands: mostly another worker listing a change, after which there are
 * batches for both (a second's wait cost two workers a quarter of their
 * gain at 100,000 people); a look that finds nothing is a few index probes
 */
#define RECALC_BUSY_POLL_MS 20L

typedef struct RecalcJob
{
	Oid			database;
	Oid			role;
	Oid			schema;
	TransactionId after_xid;	/* InvalidTransactionId: start at once */
} RecalcJob;

PGDLLEXPORT void healthcode_recalc_worker(Datum arg);

/* One call of _recalc_step() (or of _recalc_staff()) in a transaction of
 * its own: its result (people listed or recalculated; 0: nothing free now;
 * -1: no work; of _recalc_staff(), -1: leave). */
static int
recalc_step(const char *query)
{
	bool		isnull;
	int			result;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	/* READ COMMITTED whatever default_transaction_isolation says: each of
	 * the step's statements must see what committed before it (a listing
	 * after a removal's commit; a batch's locked pass, the stays removed
	 * by a transaction it waited for). As SET TRANSACTION does, before the
	 * first snapshot. */
	XactIsoLevel = XACT_READ_COMMITTED;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, query);
	if (SPI_execute(query, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "healthcode: %s failed", query);
	result = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return isnull ? -1 : result;
}

void
healthcode_recalc_worker(Datum arg)
{
	RecalcJob	job;
	char	   *query;
	char	   *staff;
	int			idle = 0;
	bool		busy = false;

	memcpy(&job, MyBgworkerEntry->bgw_extra, sizeof(job));
#ifdef __GLIBC__
	/*
	 * Each batch allocates about as much as the last (its people's rows,
	 * a plan holding their stays as constants, hash tables: tens of MB at
	 * 5,000 people) and frees it all as it ends. By default glibc hands
	 * the top of the heap back to the kernel and maps and unmaps large
	 * blocks one at a time, so every batch faulted its memory in afresh,
	 * and on a virtual machine a page fault is dear. Kept instead, the
	 * next batch reuses it: a worker holds its largest batch's memory
	 * until it exits, which is no more than its peak.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(job.database, job.role, 0);

	if (TransactionIdIsValid(job.after_xid))
	{
		/* the work the launching transaction records is visible once it ends */
		StartTransactionCommand();
		XactLockTableWait(job.after_xid, NULL, NULL, XLTW_None);
		CommitTransactionCommand();
	}

	StartTransactionCommand();
	query = MemoryContextStrdup(TopMemoryContext,
								psprintf("SELECT %s._recalc_step()",
										 quote_identifier(get_namespace_name(job.schema))));
	staff = MemoryContextStrdup(TopMemoryContext,
								psprintf("SELECT %s._recalc_staff()",
										 quote_identifier(get_namespace_name(job.schema))));
	CommitTransactionCommand();

	while (idle < RECALC_IDLE_POLLS)
	{
		bool		last_look = (idle == RECALC_IDLE_POLLS - 1);
		int			done;

		CHECK_FOR_INTERRUPTS();
		/*
		 * Not at work (starting, idle, or finding the rest in other hands):
		 * leave where enough older workers will take up what comes; else
		 * start the workers the list asked for where fewer run (one idle
		 * when a change was recorded was counted as running, and may have
		 * ended its last look since, without seeing it).
		 */
		if (!busy && recalc_step(staff) < 0)
			break;
		/* (marked before the look's snapshot is taken: it sees every
		 * change committed before another worker found the mark missing) */
		if (last_look)
			SetConfigOption("application_name", RECALC_LAST_LOOK_NAME, PGC_SUSET, PGC_S_SESSION);
		done = recalc_step(query);
		if (done > 0)
		{
			if (last_look)
				SetConfigOption("application_name", "", PGC_SUSET, PGC_S_SESSION);
			busy = true;
			idle = 0;
			continue;
		}
		/*
		 * 0: work is left, but in other workers' hands (a listing can take
		 * many seconds at a million people): wait for it without counting
		 * towards the exit. -1: the list is empty.
		 */
		if (done < 0)
		{
			idle++;
			busy = false;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 done < 0 ? RECALC_IDLE_POLL_MS : RECALC_BUSY_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}

PG_FUNCTION_INFO_V1(healthcode_launch_recalc_workers);
Datum
healthcode_launch_recalc_workers(PG_FUNCTION_ARGS)
{
	int32		wanted = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0);
	bool		after_me = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	RecalcJob	job;
	int			started = 0;

	/* (a parallel worker cannot register one; nor would it need to) */
	if (IsParallelWorker())
		PG_RETURN_INT32(0);

	job.database = MyDatabaseId;
	job.role = GetUserId();		/* the owner: the callers are SECURITY DEFINER */
	job.schema = get_func_namespace(fcinfo->flinfo->fn_oid);
	job.after_xid = after_me ? GetTopTransactionId() : InvalidTransactionId;

	for (; started < wanted; started++)
	{
		BackgroundWorker worker;
		BackgroundWorkerHandle *handle;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = BGW_NEVER_RESTART;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "healthcode");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "healthcode_recalc_worker");
		snprintf(worker.bgw_name, BGW_MAXLEN, "healthcode recalculation in database %u", MyDatabaseId);
		snprintf(worker.bgw_type, BGW_MAXLEN, "healthcode recalculation");
		StaticAssertStmt(sizeof(RecalcJob) <= BGW_EXTRALEN, "a recalculation job fits in bgw_extra");
		memcpy(worker.bgw_extra, &job, sizeof(job));
		worker.bgw_notify_pid = 0;
		if (!RegisterDynamicBackgroundWorker(&worker, &handle))
			break;				/* no slot free (max_worker_processes) */
	}
	PG_RETURN_INT32(started);
}

/*
 * The work list's settings, read through the module so that they exist
 * even in a session that has not loaded it yet (current_setting() would
 * not know them there).
 */
PG_FUNCTION_INFO_V1(healthcode_recalc_setting);
Datum
healthcode_recalc_setting(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (strcmp(name, "workers") == 0)
		PG_RETURN_INT32(hc_recalc_workers);
	if (strcmp(name, "batch_size") == 0)
		PG_RETURN_INT32(hc_recalc_batch_size);
	if (strcmp(name, "inline_limit") == 0)
		PG_RETURN_INT32(hc_recalc_inline_limit);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("no work list setting \"%s\"", name),
			 errhint("The settings are workers, batch_size and inline_limit (healthcode.recalc_*).")));
	PG_RETURN_NULL();
}
