/*
 * hc_session.c — what the SQL side asks the module about the session: the
 * role a statement runs for, and settings read through the module.
 */
#include "hc_pg.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "replication/logicalworker.h"
#include "replication/worker_internal.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

/*
 * The status triggers' settings, read here rather than by current_setting():
 * calling into the module loads it, and loading it rejects a placeholder
 * value that an ordinary user set for a superuser-only setting before the
 * module was loaded in the session. (current_setting() alone would read
 * such a placeholder, or fail when the module is not loaded yet.)
 */
PG_FUNCTION_INFO_V1(healthcode_restore_mode);
Datum
healthcode_restore_mode(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(hc_restore_mode);
}

PG_FUNCTION_INFO_V1(healthcode_clock_skew);
Datum
healthcode_clock_skew(PG_FUNCTION_ARGS)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (int64) hc_clock_skew_seconds * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(iv);
}

/*
 * The role on whose behalf the current statement runs: the session's role
 * as SET ROLE left it. A SECURITY DEFINER function runs as its owner, so
 * current_user there names the owner; the functions the extension offers
 * to applications check the caller's region scope with this instead.
 */
PG_FUNCTION_INFO_V1(healthcode_caller);
Datum
healthcode_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

/*
 * Whether a role is a superuser, from the role cache: every scope check
 * asks it (region_scope_of), where a query of pg_roles costs more than the
 * rest of the check.
 */
PG_FUNCTION_INFO_V1(healthcode_role_is_superuser);
Datum
healthcode_role_is_superuser(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(superuser_arg(PG_GETARG_OID(0)));
}

/*
 * A peer's bulk publication (peer_publish, 94_federation_peers.sql) checks
 * and writes its whole batch in one statement, set-based: while it runs,
 * the shared-data table's row triggers, which check and recalculate one
 * row at a time for replicated rows, stand aside (their WHEN clause asks
 * _peer_bulk()). The flag lives in this backend only and falls at the end
 * of the transaction, or of the subtransaction, that raised it, whatever
 * ends it: an error never leaves the triggers aside.
 */
static bool peer_bulk = false;
static SubTransactionId peer_bulk_subxact = InvalidSubTransactionId;
static bool peer_bulk_callbacks = false;

static void
peer_bulk_xact_end(XactEvent event, void *arg)
{
	(void) event;
	(void) arg;
	peer_bulk = false;
}

static void
peer_bulk_subxact_end(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	(void) parentSubid;
	(void) arg;
	if (event == SUBXACT_EVENT_ABORT_SUB && peer_bulk && mySubid <= peer_bulk_subxact)
		peer_bulk = false;
}

PG_FUNCTION_INFO_V1(healthcode_peer_bulk);
Datum
healthcode_peer_bulk(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(peer_bulk);
}

PG_FUNCTION_INFO_V1(healthcode_set_peer_bulk);
Datum
healthcode_set_peer_bulk(PG_FUNCTION_ARGS)
{
	bool		was = peer_bulk;

	if (!peer_bulk_callbacks)
	{
		RegisterXactCallback(peer_bulk_xact_end, NULL);
		RegisterSubXactCallback(peer_bulk_subxact_end, NULL);
		peer_bulk_callbacks = true;
	}
	peer_bulk = PG_GETARG_BOOL(0);
	peer_bulk_subxact = GetCurrentSubTransactionId();
	PG_RETURN_BOOL(was);
}

PG_FUNCTION_INFO_V1(healthcode_min_cell_size);
Datum
healthcode_min_cell_size(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(hc_min_cell_size);
}

/*
 * Inside a logical replication apply or table-sync worker, the name of the
 * subscription it applies; NULL in every other backend. The exchange
 * tables' triggers ask it for every replicated row, so it reads the
 * worker's own state rather than scanning pg_stat_activity.
 */
PG_FUNCTION_INFO_V1(healthcode_replication_subscription);
Datum
healthcode_replication_subscription(PG_FUNCTION_ARGS)
{
	if (!IsLogicalWorker() || MySubscription == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(MySubscription->name));
}
