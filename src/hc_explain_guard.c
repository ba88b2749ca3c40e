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
 * Whether the executor starts for an EXPLAIN: plain EXPLAIN says so
 * (EXEC_FLAG_EXPLAIN_ONLY); for EXPLAIN ANALYZE a ProcessUtility hook counts
 * the EXPLAIN statements running (plpgsql's EXECUTE included), so an
 * instrumented query outside them (auto_explain's) is not mistaken for one.
 * The module must be loaded by the time the executor starts: _rls_scope(),
 * which every scoped policy calls, has a planner support function in this
 * module (hc_load_support), so planning a row-secured query loads it. If
 * that happened during the very statement being run, the EXPLAIN began
 * before the hook could count it, so for that statement an instrumented
 * start into a discarding receiver is taken for EXPLAIN ANALYZE (an
 * auto_explain loaded earlier instruments only after this hook has looked).
 */
#include "hc_pg.h"

#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/dest.h"
#include "tcop/utility.h"
#include "utils/rel.h"
#include "rewrite/rowsecurity.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"

static ExecutorStart_hook_type prev_executor_start = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/* EXPLAIN statements running now (nested through functions) */
static int	explain_depth = 0;

/* the start of the statement during which the module was loaded */
static TimestampTz loaded_during = 0;

static bool
is_explain(QueryDesc *queryDesc, int eflags)
{
	CommandDest dest;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return true;
	if (queryDesc->instrument_options == 0)
		return false;
	if (explain_depth > 0)
		return true;
	if (loaded_during == 0 || GetCurrentStatementStartTimestamp() != loaded_during ||
		queryDesc->dest == NULL)
		return false;
	/* EXPLAIN ANALYZE discards the rows, or writes them into a new table */
	dest = queryDesc->dest->mydest;
	return dest == DestNone || dest == DestIntoRel || dest == DestTransientRel;
}

/* A relation every role may read whole (risk_area, policy): nothing hidden. */
static bool
readable_by_all(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	bool		all = false;
	ListCell   *lc;

	if (rel->rd_rsdesc != NULL)
	{
		foreach(lc, rel->rd_rsdesc->policies)
		{
			RowSecurityPolicy *policy = (RowSecurityPolicy *) lfirst(lc);
			Const	   *qual = (Const *) policy->qual;

			if (policy->permissive && (policy->polcmd == ACL_SELECT_CHR || policy->polcmd == '*') &&
				qual != NULL && IsA(qual, Const) && !qual->constisnull && DatumGetBool(qual->constvalue))
			{
				Datum	   *roles;
				int			nroles;

				deconstruct_array(policy->roles, OIDOID, sizeof(Oid), true, TYPALIGN_INT,
								  &roles, NULL, &nroles);
				all = nroles == 1 && DatumGetObjectId(roles[0]) == ACL_ID_PUBLIC;
				if (all)
					break;
			}
		}
	}
	relation_close(rel, AccessShareLock);
	return all;
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
		if (check_enable_rls(rte->relid, rte->checkAsUser, true) != RLS_ENABLED ||
			readable_by_all(rte->relid))
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

static void
hc_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	bool		explain = IsA(pstmt->utilityStmt, ExplainStmt);

	if (explain)
		explain_depth++;
	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (explain)
			explain_depth--;
	}
	PG_END_TRY();
}

void
hc_explain_guard_install(void)
{
	/* loaded at server start (shared_preload_libraries): no statement yet */
	loaded_during = IsTransactionState() ? GetCurrentStatementStartTimestamp() : 0;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = hc_executor_start;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = hc_process_utility;
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
