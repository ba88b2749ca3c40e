/*
 * hc_explain_guard.c — EXPLAIN must not tell a region about another's rows.
 *
 * Row-level security hides other regions' rows from a query, but not from
 * its plan: EXPLAIN ANALYZE reports how many rows a policy's filter removed
 * ("Rows Removed by Filter"), or how many an index scan on region = '110105'
 * fetched before the policy threw them away, and plain EXPLAIN shows the
 * planner's estimates, drawn from statistics over every region. So a role
 * that row-level security limits to its regions (and that is not a national
 * admin) may not EXPLAIN a query reading this extension's row-secured
 * tables. The analyst views read SECURITY DEFINER functions, so their plans
 * show only the views' own (suppressed) rows and stay explainable.
 *
 * The check sits in ExecutorStart, which every EXPLAIN reaches — EXPLAIN
 * EXECUTE of a prepared statement included — with the final range table.
 * The module must be loaded by then: _rls_scope(), which every policy
 * calls, has a planner support function in this module (hc_load_support),
 * so planning any row-secured query loads it, and _PG_init installs the
 * hook before the query's executor starts.
 */
#include "hc_pg.h"

#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/dest.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"

static ExecutorStart_hook_type prev_executor_start = NULL;

/*
 * EXPLAIN runs the executor's start only (EXEC_FLAG_EXPLAIN_ONLY), or with
 * ANALYZE runs it instrumented into a receiver that discards the rows (or
 * into the table of an EXPLAIN ANALYZE CREATE TABLE AS).
 */
static bool
is_explain(QueryDesc *queryDesc, int eflags)
{
	CommandDest dest;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return true;
	if (queryDesc->instrument_options == 0 || queryDesc->dest == NULL)
		return false;
	dest = queryDesc->dest->mydest;
	return dest == DestNone || dest == DestIntoRel || dest == DestTransientRel;
}

static void
check_explain(PlannedStmt *plannedstmt)
{
	Oid			extension = get_extension_oid("healthcode", true);
	Oid			admin;
	ListCell   *lc;

	if (!OidIsValid(extension))
		return;
	foreach(lc, plannedstmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		/* the extension's tables (travel's day partitions come with travel) */
		if (rte->rtekind != RTE_RELATION ||
			getExtensionOfObject(RelationRelationId, rte->relid) != extension)
			continue;
		/* whose rights apply: the view owner's for a table a view reads */
		if (check_enable_rls(rte->relid, rte->checkAsUser, true) != RLS_ENABLED)
			continue;
		/* a national admin's scope is the whole country: nothing is hidden */
		admin = get_role_oid("healthcode_admin", true);
		if (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin))
			return;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role %s may not EXPLAIN a query reading %s",
						GetUserNameFromId(GetUserId(), false), get_rel_name(rte->relid)),
				 errdetail("Row-level security limits the role to its regions; a plan's row counts and estimates would tell it about other regions' rows."),
				 errhint("Run the query itself, or ask a national admin to EXPLAIN it.")));
	}
}

static void
hc_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (is_explain(queryDesc, eflags))
		check_explain(queryDesc->plannedstmt);
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

void
hc_explain_guard_install(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = hc_executor_start;
}

/*
 * A planner support function that supports nothing: attached to
 * _rls_scope(), it makes planning a row-secured query load this module.
 */
PG_FUNCTION_INFO_V1(hc_load_support);
Datum
hc_load_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(NULL);
}
