/*
 * healthcode.c — the module's magic block, start-up and settings. Nothing
 * else lives here (ip4r's layout): the type is in hc_type.c, the key files
 * and key caches in hc_key_file.c and hc_key_cache.c, issuing and
 * verification in hc_sign_pg.c, pseudonyms in hc_pseudonym_pg.c, QR images
 * in hc_qr_pg.c.
 */
#include "hc_pg.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

char	   *hc_server_key_file = NULL;
char	   *hc_national_key_file = NULL;
int			hc_clock_skew_seconds = 300;
char	   *hc_change_cause = NULL;
bool		hc_restore_mode = false;
/* read by scan_venue through current_setting (83_scans.sql) */
static bool asynchronous_scans = true;
int			hc_min_cell_size = 5;
int			hc_recalc_workers = 2;
int			hc_recalc_batch_size = 5000;
int			hc_recalc_inline_limit = 20000;
int			hc_recalc_worker_idle_ms = 5000;
bool		hc_recalc_standby = true;
bool		hc_preloaded = false;

void		_PG_init(void);

/* A new key file means new secrets: drop everything unsealed with the old. */
static void
server_key_file_assign(const char *newval, void *extra)
{
	(void) newval;
	(void) extra;
	hc_keys_invalidate();
}

void
_PG_init(void)
{
	if (!hc_crypto_init())
		ereport(FATAL,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libsodium")));

	/*
	 * Superuser-only: the file holds the key that seals every issuer
	 * secret, so no ordinary session may point it elsewhere.
	 */
	DefineCustomStringVariable("healthcode.server_key_file",
							   "Path of the file holding the server key that seals issuer secret keys.",
							   "32 raw bytes or 64 hex digits, owned by the server's OS user, mode 0600 or 0400. "
							   "A relative path is taken from the data directory.",
							   &hc_server_key_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, server_key_file_assign, NULL);

	/*
	 * Superuser-only, like the server key: the national key makes the
	 * pseudonyms every node computes alike, so that a person can be matched
	 * across regions without their identifier ever leaving a node.
	 */
	DefineCustomStringVariable("healthcode.national_key_file",
							   "Path of the file holding the national pseudonym key, the same on the hub and every node.",
							   "32 raw bytes or 64 hex digits, owned by the server's OS user, mode 0600 or 0400. "
							   "Empty: national pseudonyms (cross-region matching) are off.",
							   &hc_national_key_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, server_key_file_assign, NULL);

	DefineCustomIntVariable("healthcode.clock_skew",
							"How far in the future a code's issued_at may lie and still verify.",
							"Tolerates clocks of issuing and verifying nodes that disagree.",
							&hc_clock_skew_seconds,
							300, 0, 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * Read by the status triggers (plpgsql, current_setting) and written
	 * locally by functions such as decide_correction(). Superuser-only: the
	 * history rows it names belong to everyone a statement recalculates,
	 * other regions' people included, so an operator must not choose it.
	 */
	DefineCustomStringVariable("healthcode.change_cause",
							   "Cause recorded in status_history for status changes made by the current statement.",
							   "Empty: the table and operation that changed the evidence.",
							   &hc_change_cause,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	/*
	 * Superuser-only: while on, the status triggers do nothing, so loading
	 * a dump does not recalculate (and append history for) data whose
	 * statuses the dump already holds. Restoring a dump turns it on for its
	 * session by itself (the _dump_marker table); see the README.
	 */
	DefineCustomBoolVariable("healthcode.restore_mode",
							 "Suspends status recalculation while a dump is being loaded.",
							 NULL,
							 &hc_restore_mode,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * Superuser-only: whether a scan's transaction may commit without
	 * waiting for its WAL (83_scans.sql) is the DBA's trade of durability
	 * for the doors' throughput, not an app's.
	 */
	DefineCustomBoolVariable("healthcode.asynchronous_scans",
							 "Lets scan_venue commit its transaction asynchronously when the scan is its first write.",
							 "A crash may then lose the scans of the last moments (at most three times wal_writer_delay), never part of one.",
							 &asynchronous_scans,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * Superuser-only: an analyst who could lower it would see the small
	 * cells that single people out.
	 */
	DefineCustomIntVariable("healthcode.min_cell_size",
							"Smallest count of people the analyst views show, and the base their counts are rounded to; smaller cells are left out.",
							NULL,
							&hc_min_cell_size,
							5, 1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	/*
	 * The status work list (66_status_work.sql, hc_recalc_worker.c): how
	 * many workers a change may start, how many people each of their
	 * transactions recalculates, and which changes are small enough to be
	 * recalculated in their own statement instead.
	 */
	DefineCustomIntVariable("healthcode.recalc_workers",
							"Background workers that recalculate the status work list (per database).",
							"Each takes one of max_worker_processes' slots; 0 leaves the list to healthcode.wait_for_recalc().",
							&hc_recalc_workers,
							2, 0, 64,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("healthcode.recalc_batch_size",
							"People a recalculation works through at once: one transaction of a worker, one step of a large statement.",
							"Bounds memory (about 4 kB a person) and how long an import may wait behind a worker.",
							&hc_recalc_batch_size,
							5000, 1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("healthcode.recalc_inline_limit",
							"A risk-area or policy change that touches at most this many rows (stays in the changed areas, people governed) is recalculated in its own statement; a larger one goes to the work list.",
							"0: every such change goes to the work list.",
							&hc_recalc_inline_limit,
							20000, 0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("healthcode.recalc_worker_idle",
							"How long a work list worker with nothing to do stays for more before it exits.",
							"A worker that stays is woken as a change commits and starts on it with its caches and memory warm; one that left is started afresh.",
							&hc_recalc_worker_idle_ms,
							5000, 1000, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("healthcode.recalc_standby",
							 "Where healthcode is preloaded, the oldest work list worker of each database stays once the list is empty, waiting for the next change.",
							 "It takes that change up as it commits, its caches and memory warm, instead of a new process; off: every worker leaves after healthcode.recalc_worker_idle. DROP DATABASE and the ALTER DATABASE and CREATE DATABASE ... TEMPLATE commands that need the database to themselves stop it first.",
							 &hc_recalc_standby,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * Shared memory exists only for a library loaded at server start: the
	 * buffer that counts codes without writing a row at each one
	 * (hc_code_events.c) is there only with healthcode in
	 * shared_preload_libraries, and its settings with it.
	 */
	if (process_shared_preload_libraries_in_progress)
		hc_code_events_preload();
	/*
	 * and so is the launcher that resumes the work lists after a restart,
	 * and the standby workers, which only a preloaded library can stop
	 * when a database they wait in is dropped or must be alone
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		/* (not in pg_upgrade's servers: no launcher, no hook, no standby) */
		hc_preloaded = !IsBinaryUpgrade;
		hc_recalc_launcher_preload();
	}
	/*
	 * and PL/pgSQL, which most of the extension's functions are written
	 * in: loaded once here, it is in every process the server starts.
	 * Else each new backend and each work list worker loads it at its
	 * first PL/pgSQL call: about 5 ms on the benchmark's machine, paid by
	 * every change's new worker and every new connection (as listing it in
	 * shared_preload_libraries would; where it is listed too, it is loaded
	 * once).
	 */
	if (process_shared_preload_libraries_in_progress)
		load_file("plpgsql", false);

	MarkGUCPrefixReserved("healthcode");

	hc_keys_register_callbacks();
	hc_revocations_register_callbacks();
	hc_division_names_register_callbacks();
	hc_explain_guard_install();
}
