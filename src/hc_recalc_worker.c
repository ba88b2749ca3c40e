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
 * workers hold what is left; once the list is empty it waits
 * healthcode.recalc_worker_idle for more (5 s by default; woken at once by
 * a change that commits meanwhile) and exits, but for the oldest of its
 * database where healthcode is preloaded (healthcode.recalc_standby): that
 * one stands by for the next change, warm. A worker not at work first asks
 * _recalc_staff() whether enough workers older than it are there (it then
 * leaves) or too few (it starts more): a change starts a worker of its own
 * even where enough run (one may be ending its last look), and without
 * that ask the extra ones stayed, one more with each change that came
 * before they had idled out.
 *
 * After a restart or a crash no worker runs until something starts one.
 * With healthcode in shared_preload_libraries a launcher (registered at
 * server start, like PostgreSQL's logical replication launcher) looks
 * once the server accepts writes: it starts, one database after another,
 * a short-lived worker that calls healthcode._resume_recalc() where the
 * extension is installed, which starts the workers where the list holds
 * work. The launcher then waits, idle, so that the postmaster starts it
 * again after a crash (a worker that exits is not started again; after a
 * restart, the first change's worker becomes the standby). A standby would
 * keep DROP DATABASE waiting (and the ALTER DATABASE and CREATE DATABASE
 * ... TEMPLATE commands that need the database alone): the preloaded
 * module's ProcessUtility hook stops the database's workers before them,
 * and where the database goes on, starts a resume there after them.
 */
#include "hc_pg.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/heapam.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

/*
 * During the last of those looks a worker's application_name is this,
 * which _recalc_staff() looks for (66_status_work.sql, through
 * recalc_workers_of() below): a worker there may exit without seeing
 * a change committed meanwhile, so it does not count as one that will take
 * the change up. (application_name, not the query text: pg_stat_activity
 * shows it whatever track_activities says.)
 */
#define RECALC_LAST_LOOK_NAME "healthcode recalculation: last look"
/*
 * A standby's application_name while it stands by: it takes at least one
 * more look at the list after any moment it is seen so (it clears the
 * mark only at the top of an iteration, before a look, when it stops
 * standing by). So a change that finds it so as the change commits needs
 * no worker of its own (launch_at_commit).
 */
#define RECALC_STANDBY_NAME "healthcode recalculation: standby"
/* a worker's backend_type (its bgw_type), which the census below looks for */
#define RECALC_WORKER_TYPE "healthcode recalculation"
/*
 * how often a worker with nothing to do looks at the list, as many times
 * as healthcode.recalc_worker_idle holds polls (5 by default, the last
 * about 4 s after its work); a transaction that records work wakes it as
 * it commits (wake_workers_at_commit), so the poll only bounds how long a
 * change recorded otherwise waits
 */
#define RECALC_IDLE_POLL_MS 1000L
/*
 * how often a worker looks again while the work left is in other workers'
 * hands: mostly another worker listing a change, after which there are
 * batches for both (a second's wait cost two workers a quarter of their
 * gain at 100,000 people); a look that finds nothing is a few index probes
 */
#define RECALC_BUSY_POLL_MS 20L
/*
 * How much of a worker's heap is asked for in transparent huge pages
 * (heap_in_huge_pages): about what a batch of the default size and a
 * listing use (a worker's peak was 47 MB at 10,000 people), and below
 * the mmap threshold set beside it, so that it comes from the heap.
 */
#define RECALC_HUGE_HEAP ((size_t) 60 * 1024 * 1024)

typedef struct RecalcJob
{
	Oid			database;
	Oid			role;
	Oid			schema;
	TransactionId after_xid;	/* InvalidTransactionId: start at once */
} RecalcJob;

PGDLLEXPORT void healthcode_recalc_worker(Datum arg);
PGDLLEXPORT void healthcode_recalc_launcher(Datum arg);
PGDLLEXPORT void healthcode_recalc_resume(Datum arg);

/* which of a database's workers recalc_workers_of counts */
typedef enum RecalcWho
{
	RECALC_ALL,					/* every one */
	RECALC_OLDER_STAYING,		/* started before the caller, not in its last look */
	RECALC_STANDING_BY			/* marked as the standby (RECALC_STANDBY_NAME) */
} RecalcWho;

static int	recalc_workers_of(Oid database, RecalcWho who, bool stop);

/*
 * A fresh worker's memory in 2 MB pages, where the kernel gives them to
 * those who ask (transparent_hugepage "madvise"; with "always" it does
 * anyway, with "never" this does nothing). A worker is a new process for
 * each stretch of work, and its first batch touches its tens of MB of
 * private memory for the first time: with 4 kB pages that is a page fault
 * every 4 kB, about 10,000 for a batch of 5,000 people, and a fault is
 * dear on a virtual machine (12 us each on the benchmark's: 48 MB touched
 * in 140 ms, against 4-13 ms in huge pages). Heap memory is reused, not
 * given back (the mallopt() calls before this), so the first
 * RECALC_HUGE_HEAP bytes taken from the top of the heap and freed at once
 * stay the heap's top, advised, for what the worker allocates next.
 */
static void
heap_in_huge_pages(void)
{
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE)
	char	   *block = malloc(RECALC_HUGE_HEAP);
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	uintptr_t	start;
	uintptr_t	end;

	if (block == NULL)
		return;
	start = TYPEALIGN(page, (uintptr_t) block);
	end = TYPEALIGN_DOWN(page, (uintptr_t) block + RECALC_HUGE_HEAP);
	/* (advice only: where it is refused the worker runs as before) */
	if (end > start && madvise((void *) start, end - start, MADV_HUGEPAGE) != 0)
		elog(DEBUG1, "healthcode: madvise(MADV_HUGEPAGE) of the worker's heap failed: %m");
	free(block);
#endif
}

/* One query in a transaction of its own: its row's first column as text
 * (in the caller's memory), NULL for NULL or, where any_rows, for no row.
 * With gone: where the extension is no longer installed, *gone is set and
 * the query not run (a worker standing by in a database where it was
 * dropped leaves quietly, not at the error of its next look); else the
 * extension is locked for the transaction, so that no DROP EXTENSION
 * comes between that look and the query. */
static char *
query_value(const char *query, bool any_rows, bool *gone)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *value = NULL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	/* READ COMMITTED whatever default_transaction_isolation says: each of
	 * a step's statements must see what committed before it (a listing
	 * after a removal's commit; a batch's locked pass, the stays removed
	 * by a transaction it waited for). As SET TRANSACTION does, before the
	 * first snapshot. */
	XactIsoLevel = XACT_READ_COMMITTED;
	if (gone != NULL)
	{
		Oid			extension = get_extension_oid("healthcode", true);

		/* (the lock taken, invalidations are read: looked up again) */
		if (OidIsValid(extension))
			LockDatabaseObject(ExtensionRelationId, extension, 0, AccessShareLock);
		*gone = !OidIsValid(extension) || get_extension_oid("healthcode", true) != extension;
		if (*gone)
		{
			CommitTransactionCommand();
			return NULL;
		}
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, query);
	if (SPI_execute(query, false, 1) != SPI_OK_SELECT || (SPI_processed != 1 && !any_rows))
		elog(ERROR, "healthcode: %s failed", query);
	if (SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v != NULL)
			value = MemoryContextStrdup(caller, v);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return value;
}

/* Whether this database is a template (datistemplate): any role with
 * CREATEDB may copy it, and a standby there would make every such copy
 * wait five seconds and fail, plain CREATE DATABASE's of template1 first.
 * In a transaction. */
static bool
database_is_template(Oid database)
{
	HeapTuple	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(database));
	bool		template = false;

	if (HeapTupleIsValid(tuple))
	{
		template = ((Form_pg_database) GETSTRUCT(tuple))->datistemplate;
		ReleaseSysCache(tuple);
	}
	return template;
}

/* Whether this worker is to stand by: no work list worker of this
 * database started before it and stays (not in its last look), and the
 * database is not a template. */
static bool
oldest_worker(void)
{
	bool		oldest;

	StartTransactionCommand();
	oldest = !database_is_template(MyDatabaseId) &&
		recalc_workers_of(MyDatabaseId, RECALC_OLDER_STAYING, false) == 0;
	CommitTransactionCommand();
	return oldest;
}

/* One call of _recalc_step() (or of _recalc_staff()) in a transaction of
 * its own: its result (people listed or recalculated; 0: nothing free now;
 * -1: no work; of _recalc_staff(), -1: leave); RECALC_EXTENSION_GONE where
 * the extension is no longer there. */
#define RECALC_EXTENSION_GONE (-2)
static int
recalc_step(const char *query)
{
	bool		gone;
	char	   *value = query_value(query, false, &gone);
	int			result = gone ? RECALC_EXTENSION_GONE : value == NULL ? -1 : pg_strtoint32(value);

	if (value != NULL)
		pfree(value);
	return result;
}

void
healthcode_recalc_worker(Datum arg)
{
	RecalcJob	job;
	char	   *query;
	char	   *staff;
	int			idle = 0;
	int			idle_looks;
	bool		busy = false;
	bool		marked = false;
	bool		standby;
	bool		standing_by = false;
	char	   *schema;

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
	 * until it exits (a standby: for good, warm for the next change), which
	 * is no more than its peak.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
	heap_in_huge_pages();
	pqsignal(SIGTERM, die);
	/* (a standby stays for good: it reads the configuration files again) */
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(job.database, job.role, 0);
	/* (as the database's and role's settings have it, applied as it connected) */
	standby = hc_preloaded && hc_recalc_standby;

	if (TransactionIdIsValid(job.after_xid))
	{
		/* the work the launching transaction records is visible once it ends */
		StartTransactionCommand();
		XactLockTableWait(job.after_xid, NULL, NULL, XLTW_None);
		CommitTransactionCommand();
	}

	StartTransactionCommand();
	/* (the schema dropped since the worker was asked for: nothing to do) */
	schema = get_namespace_name(job.schema);
	if (schema == NULL)
	{
		CommitTransactionCommand();
		proc_exit(0);
	}
	query = MemoryContextStrdup(TopMemoryContext,
								psprintf("SELECT %s._recalc_step()", quote_identifier(schema)));
	staff = MemoryContextStrdup(TopMemoryContext,
								psprintf("SELECT %s._recalc_staff()", quote_identifier(schema)));
	CommitTransactionCommand();

	/* (looks at an empty list before it exits, the last marked as such,
	 * rounded up to whole polls; as the database's and role's settings have
	 * it, applied as it connected: a change later reaches new workers only) */
	idle_looks = Max(1, hc_recalc_worker_idle_ms / (int) RECALC_IDLE_POLL_MS +
					 (hc_recalc_worker_idle_ms % (int) RECALC_IDLE_POLL_MS != 0));
	while (idle < idle_looks)
	{
		bool		last_look = (idle == idle_looks - 1);
		int			done;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			standby = hc_preloaded && hc_recalc_standby;
		}
		/* (no longer to stand by: unmarked before its next look, as below) */
		if (standing_by && !standby)
		{
			SetConfigOption("application_name", "", PGC_SUSET, PGC_S_SESSION);
			standing_by = false;
		}
		/*
		 * Not at work (starting, idle, or finding the rest in other hands):
		 * leave where enough older workers will take up what comes; else
		 * start the workers the list asked for where fewer run (one idle
		 * when a change was recorded was counted as running, and may have
		 * ended its last look since, without seeing it).
		 */
		if (!busy && recalc_step(staff) < 0)
			break;
		/*
		 * The oldest stands by instead of taking its last look: newer
		 * workers count it as one that will take up what comes, and a
		 * change wakes it as it commits. (Asked again each idle_looks
		 * looks, counted from -1 here, so that this look's idle++ makes
		 * it the first again: one terminated leaves the next oldest to
		 * stand by.)
		 */
		if (last_look && standby && oldest_worker())
		{
			idle = -1;
			last_look = false;
			if (!standing_by)
			{
				SetConfigOption("application_name", RECALC_STANDBY_NAME, PGC_SUSET, PGC_S_SESSION);
				standing_by = true;
				marked = false;
			}
		}
		else if (last_look && standing_by)
		{
			/* (no longer the one to stand by, its database a template
			 * now: unmarked before this look, whose snapshot is taken
			 * after, so it sees every change committed while it was) */
			SetConfigOption("application_name", "", PGC_SUSET, PGC_S_SESSION);
			standing_by = false;
		}
		/* (marked before the look's snapshot is taken: it sees every
		 * change committed before another worker found the mark missing;
		 * unmarked once not in its last look, as a worker that looked last
		 * and found the rest in other hands, then stands by) */
		if (last_look != marked && !standing_by)
		{
			SetConfigOption("application_name", last_look ? RECALC_LAST_LOOK_NAME : "", PGC_SUSET, PGC_S_SESSION);
			marked = last_look;
		}
		done = recalc_step(query);
		if (done == RECALC_EXTENSION_GONE)
			break;
		if (done > 0)
		{
			if (marked)
			{
				SetConfigOption("application_name", "", PGC_SUSET, PGC_S_SESSION);
				marked = false;
			}
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

/* A background worker of this module with a database connection, started
 * once the server accepts writes (a standby's lists wait for its
 * promotion: workers write), never again once it exits; its function, its
 * backend_type and its name (the type, or given). */
static void
worker_entry(BackgroundWorker *worker, const char *function, const char *type, const char *name)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "healthcode");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker->bgw_type, BGW_MAXLEN, "%s", type);
	snprintf(worker->bgw_name, BGW_MAXLEN, "%s", name != NULL ? name : type);
}

/*
 * A transaction that records work wakes, as it commits, the workers
 * already there: one idle at the list looks at once, with its caches and
 * memory warm (healthcode.recalc_worker_idle), rather than at its next
 * poll. The workers it starts itself (after_me) are not enough for that:
 * they find the older one there and leave. Every background worker of
 * this database is woken (a PGPROC does not say which module's it is); any
 * other takes it as the spurious wake every latch waiter expects. Read
 * without a lock: a slot reused meanwhile gets a spurious wake too.
 */
static bool wake_at_commit = false;
static bool wake_callback_registered = false;
/*
 * The worker of a recording transaction's own (see
 * _ensure_recalc_workers), where a standby may be there: started as the
 * transaction commits, and only if no worker is marked as standing by
 * then. A standby so marked takes at least one more look after that
 * moment (RECALC_STANDBY_NAME), so it sees the change; a new worker would
 * only find it there and leave, after a new process's start on a core the
 * standby may need.
 */
static bool launch_at_commit = false;
static RecalcJob launch_at_commit_job;

static int	launch_workers(const RecalcJob *job, int wanted);

static void
wake_workers_at_commit(XactEvent event, void *arg)
{
	uint32		i;

	(void) arg;
	if (event == XACT_EVENT_COMMIT && wake_at_commit)
	{
		for (i = 0; i < ProcGlobal->allProcCount; i++)
		{
			PGPROC	   *proc = &ProcGlobal->allProcs[i];

			if (proc != MyProc && proc->pid != 0 && proc->isBackgroundWorker &&
				proc->databaseId == MyDatabaseId)
				SetLatch(&proc->procLatch);
		}
	}
	/* (prepared: committed later, by another session, whatever stands by
	 * then; the worker waits for that, as one started in the statement
	 * would have) */
	if (launch_at_commit &&
		(event == XACT_EVENT_PREPARE ||
		 (event == XACT_EVENT_COMMIT && recalc_workers_of(MyDatabaseId, RECALC_STANDING_BY, false) == 0)))
	{
		if (event == XACT_EVENT_COMMIT)
			launch_at_commit_job.after_xid = InvalidTransactionId;
		(void) launch_workers(&launch_at_commit_job, 1);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		wake_at_commit = false;
		launch_at_commit = false;
	}
}

/* Registers up to wanted workers of job; how many it could. (No
 * allocation: called as a transaction commits too.) */
static int
launch_workers(const RecalcJob *job, int wanted)
{
	char		name[BGW_MAXLEN];
	int			started;

	snprintf(name, sizeof(name), "healthcode recalculation in database %u", job->database);
	for (started = 0; started < wanted; started++)
	{
		BackgroundWorker worker;
		BackgroundWorkerHandle *handle;

		worker_entry(&worker, "healthcode_recalc_worker", RECALC_WORKER_TYPE, name);
		StaticAssertStmt(sizeof(RecalcJob) <= BGW_EXTRALEN, "a recalculation job fits in bgw_extra");
		memcpy(worker.bgw_extra, job, sizeof(*job));
		worker.bgw_notify_pid = 0;
		if (!RegisterDynamicBackgroundWorker(&worker, &handle))
			break;				/* no slot free (max_worker_processes) */
	}
	return started;
}

PG_FUNCTION_INFO_V1(healthcode_launch_recalc_workers);
Datum
healthcode_launch_recalc_workers(PG_FUNCTION_ARGS)
{
	int32		wanted = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0);
	bool		after_me = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	RecalcJob	job;
	int			deferred = 0;

	/* (a parallel worker cannot register one; nor would it need to) */
	if (IsParallelWorker())
		PG_RETURN_INT32(0);

	job.database = MyDatabaseId;
	job.role = GetUserId();		/* the owner: the callers are SECURITY DEFINER */
	job.schema = get_func_namespace(fcinfo->flinfo->fn_oid);
	job.after_xid = after_me ? GetTopTransactionId() : InvalidTransactionId;
	if (after_me)
	{
		if (!wake_callback_registered)
		{
			RegisterXactCallback(wake_workers_at_commit, NULL);
			wake_callback_registered = true;
		}
		wake_at_commit = true;
		/*
		 * A standby there now: the last of these at commit, where none is
		 * marked so then (launch_at_commit). None now: all of them at once,
		 * their start under way while this transaction goes on.
		 */
		if (hc_preloaded && wanted > 0 && !launch_at_commit &&
			recalc_workers_of(MyDatabaseId, RECALC_STANDING_BY, false) > 0)
		{
			launch_at_commit_job = job;
			launch_at_commit = true;
			deferred = 1;
		}
	}
	PG_RETURN_INT32(launch_workers(&job, wanted - deferred) + deferred);
}

/*
 * A database's workers, read from the backends' status as
 * pg_stat_activity shows it (the same snapshot, kept to the end of the
 * transaction: _recalc_staff's two counts agree), without the view: its
 * first call in a new process took 9.5 ms and later ones 2-3 ms, and a
 * change's statement and each new worker call it on their way (at 1,000
 * people the whole recalculation is about a hundred ms). who: all of
 * them; only those that started before the caller (by start, then pid)
 * and are not in their last look (RECALC_LAST_LOOK_NAME); or only the one
 * marked as standing by. stop: each is sent SIGTERM.
 */
static int
recalc_workers_of(Oid database, RecalcWho who, bool stop)
{
	int			backends;
	int			count = 0;
	int			i;

	/* (stopping, or asked for the standby at commit: the backends as they
	 * are now, not as this transaction first read them) */
	if (stop || who == RECALC_STANDING_BY)
		pgstat_clear_snapshot();
	backends = pgstat_fetch_stat_numbackends();

	for (i = 1; i <= backends; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *status;
		const char *type;

		if (local == NULL)
			continue;
		status = &local->backendStatus;
		if (status->st_procpid <= 0 || status->st_backendType != B_BG_WORKER ||
			status->st_databaseid != database)
			continue;
		type = GetBackgroundWorkerTypeByPid(status->st_procpid);
		if (type == NULL || strcmp(type, RECALC_WORKER_TYPE) != 0)
			continue;
		if (who == RECALC_OLDER_STAYING &&
			(status->st_proc_start_timestamp > MyStartTimestamp ||
			 (status->st_proc_start_timestamp == MyStartTimestamp && status->st_procpid >= MyProcPid) ||
			 strcmp(status->st_appname, RECALC_LAST_LOOK_NAME) == 0))
			continue;
		if (who == RECALC_STANDING_BY && strcmp(status->st_appname, RECALC_STANDBY_NAME) != 0)
			continue;
		/* (as pg_terminate_backend does; a worker busy with a batch
		 * rolls it back, and the list keeps its people) */
		if (stop && kill(status->st_procpid, SIGTERM) != 0 && errno != ESRCH)
			ereport(WARNING,
					(errmsg("could not stop work list worker %d: %m", (int) status->st_procpid)));
		count++;
	}
	return count;
}

PG_FUNCTION_INFO_V1(healthcode_recalc_workers_running);
Datum
healthcode_recalc_workers_running(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(recalc_workers_of(MyDatabaseId, RECALC_ALL, false));
}

PG_FUNCTION_INFO_V1(healthcode_recalc_workers_before_me);
Datum
healthcode_recalc_workers_before_me(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(recalc_workers_of(MyDatabaseId, RECALC_OLDER_STAYING, false));
}

/* The mark of a worker in its last look (RECALC_LAST_LOOK_NAME), for
 * _recalc_staff(): written here only. */
PG_FUNCTION_INFO_V1(healthcode_recalc_last_look_name);
Datum
healthcode_recalc_last_look_name(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(RECALC_LAST_LOOK_NAME));
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

/* ---- resuming after a restart ------------------------------------------------ */

/* how long the launcher waits for a free worker slot before it gives a
 * database up (the next large change, or wait_for_recalc, still starts
 * workers there) */
#define RECALC_RESUME_SLOT_TRIES 60
#define RECALC_RESUME_SLOT_WAIT_MS 1000L

/* ---- standbys and the commands that need a database alone ------------------- */

static ProcessUtility_hook_type prev_process_utility = NULL;

/* A resume in a database (healthcode_recalc_resume): workers for the work
 * its list still holds; notify: who hears of its start and end (0: no
 * one). (No allocation: registered at the end of a transaction too.) */
static void
resume_entry(BackgroundWorker *worker, Oid database, pid_t notify)
{
	char		name[BGW_MAXLEN];

	snprintf(name, sizeof(name), "healthcode recalculation resume in database %u", database);
	worker_entry(worker, "healthcode_recalc_resume", "healthcode recalculation resume", name);
	worker->bgw_main_arg = ObjectIdGetDatum(database);
	worker->bgw_notify_pid = notify;
}

static void
log_no_resume_slot(Oid database)
{
	ereport(LOG,
			(errmsg("healthcode: no worker slot to resume the status work list in database %u", database),
			 errhint("Raise max_worker_processes, or CALL healthcode.wait_for_recalc() there.")));
}

static void
start_resume(Oid database)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	resume_entry(&worker, database, 0);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		log_no_resume_slot(database);
}

/* Whether the current role may create databases (pg_authid.rolcreatedb). */
static bool
role_may_create_databases(void)
{
	HeapTuple	tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	bool		may = false;

	if (HeapTupleIsValid(tuple))
	{
		may = ((Form_pg_authid) GETSTRUCT(tuple))->rolcreatedb;
		ReleaseSysCache(tuple);
	}
	return may;
}

/*
 * The database a command needs alone (no other session in it, or it waits
 * five seconds and fails): DROP DATABASE (*dropping), ALTER DATABASE ...
 * RENAME TO and SET TABLESPACE, and the template of CREATE DATABASE
 * (template1 where none or DEFAULT is given; the current database too);
 * InvalidOid for any other command, or where its caller could not run it
 * anyway: a superuser, the database's owner, or, for a copy of a template
 * database (datistemplate), a role with CREATEDB. No one else may stop its
 * workers.
 */
static Oid
database_needed_alone(Node *parsetree, bool *dropping)
{
	const char *name = NULL;
	bool		copy = false;
	ListCell   *lc;
	Oid			database;

	*dropping = false;
	if (IsA(parsetree, DropdbStmt))
	{
		name = ((DropdbStmt *) parsetree)->dbname;
		*dropping = true;
	}
	else if (IsA(parsetree, RenameStmt) && ((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
		name = ((RenameStmt *) parsetree)->subname;
	else if (IsA(parsetree, AlterDatabaseStmt))
	{
		foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
			if (strcmp(((DefElem *) lfirst(lc))->defname, "tablespace") == 0)
				name = ((AlterDatabaseStmt *) parsetree)->dbname;
	}
	else if (IsA(parsetree, CreatedbStmt))
	{
		copy = true;
		name = "template1";
		foreach(lc, ((CreatedbStmt *) parsetree)->options)
		{
			DefElem    *option = (DefElem *) lfirst(lc);

			if (strcmp(option->defname, "template") == 0 && option->arg != NULL)
				name = defGetString(option);
		}
	}
	if (name == NULL)
		return InvalidOid;
	database = get_database_oid(name, true);
	/* (the current database can be copied, but not dropped, renamed or moved) */
	if (!OidIsValid(database) || (database == MyDatabaseId && !copy))
		return InvalidOid;
	if (pg_database_ownercheck(database, GetUserId()) ||
		(copy && database_is_template(database) && role_may_create_databases()))
		return database;
	return InvalidOid;
}

/* The database where a resume is to start once this transaction ends. */
static Oid	resume_at_end = InvalidOid;
static bool resume_callback_registered = false;

static void
resume_at_end_of_xact(XactEvent event, void *arg)
{
	(void) arg;
	if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT) && OidIsValid(resume_at_end))
	{
		Oid			database = resume_at_end;

		resume_at_end = InvalidOid;
		start_resume(database);
	}
}

static void
resume_later(Oid database)
{
	if (!resume_callback_registered)
	{
		RegisterXactCallback(resume_at_end_of_xact, NULL);
		resume_callback_registered = true;
	}
	resume_at_end = database;
}

static void
run_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			ProcessUtilityContext context, ParamListInfo params,
			QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/*
 * Before a command that needs a database alone, its work list workers (a
 * standby waits there for good) are stopped, as pg_terminate_backend
 * would; the command's own wait for the other sessions to leave then
 * finds them gone. A busy one rolls its batch back, and the list keeps
 * its people: wherever the database goes on (the command was no drop, or
 * failed), a resume starts workers for them once the transaction ends,
 * committed or not. (A standby stopped so is back with the next change
 * that goes on the list.)
 */
static void
stop_workers_for_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						 ProcessUtilityContext context, ParamListInfo params,
						 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	bool		dropping;
	Oid			database = database_needed_alone(pstmt->utilityStmt, &dropping);

	if (!OidIsValid(database) || recalc_workers_of(database, RECALC_ALL, true) == 0)
	{
		run_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		return;
	}
	if (!dropping)
		resume_later(database);
	PG_TRY();
	{
		run_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		/* (a drop that failed: the database goes on) */
		resume_later(database);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

void
hc_recalc_launcher_preload(void)
{
	BackgroundWorker worker;

	/* (pg_upgrade's servers: no work list is to be resumed there) */
	if (IsBinaryUpgrade)
		return;
	worker_entry(&worker, "healthcode_recalc_launcher", "healthcode recalculation launcher", NULL);
	/* started again after a crash, or a minute after it failed */
	worker.bgw_restart_time = 60;
	RegisterBackgroundWorker(&worker);

	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = stop_workers_for_utility;
}

/* The databases one may connect to (not the templates), from pg_database. */
static List *
resumable_databases(void)
{
	List	   *databases = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	MemoryContext caller = CurrentMemoryContext;

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);
		MemoryContext old;

		if (!db->datallowconn || db->datistemplate)
			continue;
#ifdef DATCONNLIMIT_INVALID_DB
		if (db->datconnlimit == DATCONNLIMIT_INVALID_DB)
			continue;			/* (a DROP DATABASE cut short) */
#endif
		old = MemoryContextSwitchTo(caller);
		databases = lappend_oid(databases, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return databases;
}

void
healthcode_recalc_launcher(Datum arg)
{
	List	   *databases;
	ListCell   *lc;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	databases = resumable_databases();

	/* one database at a time: a cluster of many takes one slot, not many */
	foreach(lc, databases)
	{
		BackgroundWorker worker;
		BackgroundWorkerHandle *handle;
		pid_t		pid;
		int			tries = 1;
		bool		registered;

		resume_entry(&worker, lfirst_oid(lc), MyProcPid);
		while (!(registered = RegisterDynamicBackgroundWorker(&worker, &handle))
			   && tries++ < RECALC_RESUME_SLOT_TRIES)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 RECALC_RESUME_SLOT_WAIT_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (!registered)
		{
			log_no_resume_slot(lfirst_oid(lc));
			continue;
		}
		if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_STARTED)
			(void) WaitForBackgroundWorkerShutdown(handle);
	}

	/* idle until the server stops (or crashes: then started again) */
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* In one database: where healthcode is installed (in a version that has
 * it), its _resume_recalc(), as the superuser the server was initialised
 * with; the function (SECURITY DEFINER) starts the workers as the
 * extension's owner, as every change does. */
void
healthcode_recalc_resume(Datum arg)
{
	char	   *schema;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);

	/* (the extension's schema, where its version has the function) */
	schema = query_value("SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e"
						 " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
						 " WHERE e.extname = 'healthcode' AND pg_catalog.to_regprocedure("
						 "pg_catalog.quote_ident(n.nspname) || '._resume_recalc()') IS NOT NULL",
						 true, NULL);
	if (schema != NULL)
		(void) query_value(psprintf("SELECT %s._resume_recalc()", schema), false, NULL);
	proc_exit(0);
}
