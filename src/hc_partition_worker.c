/*
 * hc_partition_worker.c — travel's day partitions, made in a transaction
 * of their own.
 *
 * A new partition locks travel ACCESS EXCLUSIVE and, for its foreign key,
 * person SHARE ROW EXCLUSIVE, until its transaction ends. Made inside an
 * import, that is until the import commits: every reader of travel (the
 * status triggers of every other import) waits that long, and once the
 * import itself waits for one of them (a status row they both recalculate),
 * the two deadlock. So an import asks a background worker to make the
 * partitions: the worker's transaction holds those locks only for the DDL
 * and commits, and the import goes on with the partitions in place.
 *
 * healthcode._create_travel_partitions_apart(first date, last date)
 * returns true once a worker has run create_travel_partitions(first, last)
 * and exited, false when none could be used: in a background worker (the
 * partition worker itself, a replication worker); when this transaction
 * already holds a lock on travel, or one on person a new partition waits
 * for (the worker would wait for this transaction, which waits for it);
 * when no worker slot is free. The worker gives up after lock_timeout (5 s)
 * so that a wait it cannot see the end of never hangs the import. The
 * caller then re-checks and makes what is still missing itself.
 */
#include "hc_pg.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

typedef struct PartitionJob
{
	Oid			database;
	Oid			role;
	Oid			schema;
	DateADT		first;
	DateADT		last;
} PartitionJob;

PGDLLEXPORT void healthcode_partition_worker(Datum arg);

void
healthcode_partition_worker(Datum arg)
{
	PartitionJob job;
	Oid			types[2] = {DATEOID, DATEOID};
	Datum		values[2];
	char	   *query;

	memcpy(&job, MyBgworkerEntry->bgw_extra, sizeof(job));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(job.database, job.role, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "healthcode: creating travel partitions");
	if (SPI_execute("SET LOCAL lock_timeout = '5s'", false, 0) < 0)
		elog(ERROR, "could not set lock_timeout for creating travel partitions");
	query = psprintf("SELECT %s.create_travel_partitions($1, $2)",
					 quote_identifier(get_namespace_name(job.schema)));
	values[0] = DateADTGetDatum(job.first);
	values[1] = DateADTGetDatum(job.last);
	if (SPI_execute_with_args(query, 2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not create travel partitions from %s to %s",
			 DatumGetCString(DirectFunctionCall1(date_out, values[0])),
			 DatumGetCString(DirectFunctionCall1(date_out, values[1])));
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

/* Does this transaction hold a lock on relid of at least mode? */
static bool
locked_by_me(Oid relid, LOCKMODE weakest)
{
	LOCKTAG		tag;

	if (!OidIsValid(relid))
		return false;
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	for (LOCKMODE mode = weakest; mode <= MaxLockMode; mode++)
		if (LockHeldByMe(&tag, mode))
			return true;
	return false;
}

PG_FUNCTION_INFO_V1(healthcode_create_travel_partitions_apart);
Datum
healthcode_create_travel_partitions_apart(PG_FUNCTION_ARGS)
{
	Oid			schema = get_func_namespace(fcinfo->flinfo->fn_oid);
	PartitionJob job;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || MyBgworkerEntry != NULL)
		PG_RETURN_BOOL(false);
	/* a lock of ours the worker's DDL would wait for: it must not wait for us */
	if (locked_by_me(get_relname_relid("travel", schema), AccessShareLock) ||
		locked_by_me(get_relname_relid("person", schema), RowExclusiveLock))
		PG_RETURN_BOOL(false);

	job.database = MyDatabaseId;
	job.role = GetUserId();		/* the owner: the caller is SECURITY DEFINER */
	job.schema = schema;
	job.first = PG_GETARG_DATEADT(0);
	job.last = PG_GETARG_DATEADT(1);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "healthcode");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "healthcode_partition_worker");
	snprintf(worker.bgw_name, BGW_MAXLEN, "healthcode travel partitions for PID %d", MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "healthcode travel partitions");
	StaticAssertStmt(sizeof(PartitionJob) <= BGW_EXTRALEN, "a partition job fits in bgw_extra");
	memcpy(worker.bgw_extra, &job, sizeof(job));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		PG_RETURN_BOOL(false);
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_STARTED)
		status = WaitForBackgroundWorkerShutdown(handle);
	/* see what the worker committed (to_regclass reads the catalogs' cache) */
	AcceptInvalidationMessages();
	PG_RETURN_BOOL(status == BGWH_STOPPED);
}
