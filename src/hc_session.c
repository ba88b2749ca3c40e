/*
 * hc_session.c — what the SQL side asks the module about the session: the
 * role a statement runs for, and settings read through the module.
 */
#include "hc_pg.h"

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
