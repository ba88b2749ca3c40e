/*
 * hc_scope_sel.c — the operator row-level security keys personal rows on
 * (scope @> region, 96_rls.sql), with an estimate of how many rows it
 * keeps.
 *
 * The scope is the querying role's, computed once a statement (an
 * InitPlan of _rls_scope()). PostgreSQL's estimator for a multirange that
 * contains an element knows nothing of a value computed at run time and
 * guesses half a percent of the table: for an operator of a province that
 * holds two fifths of the rows, the planner then sorts where it should hash
 * (bench/rls.sh: 1.37 times the owner's same query). This estimator asks
 * what the scope will be — the querying role's, for which row-level security
 * plans are made (a plan is made again for another role), when the scope
 * is computed as the query runs (a Param: the policies' InitPlan) — and adds up,
 * over its runs of codes, the share of the column's values between the
 * run's bounds, from the column's statistics, as for region BETWEEN lo AND
 * hi. It changes no result: a wrong guess costs only a worse plan; and a
 * scoped role cannot read the estimate (EXPLAIN is refused it:
 * hc_explain_guard.c).
 */
#include "hc_pg.h"

#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "utils/lsyscache.h"
#include "utils/multirangetypes.h"
#include "utils/rangetypes.h"
#include "utils/selfuncs.h"
#include "utils/typcache.h"

/* pg_catalog's guess for a multirange it cannot see (multirangetypes_selfuncs.c) */
#define DEFAULT_MULTIRANGE_SEL 0.005

/* _scope_contains(scope division_multirange, region text): scope @> region */
PG_FUNCTION_INFO_V1(healthcode_scope_contains);
Datum
healthcode_scope_contains(PG_FUNCTION_ARGS)
{
	MultirangeType *scope = PG_GETARG_MULTIRANGE_P(0);
	TypeCacheEntry *typcache = multirange_get_typcache(fcinfo, MultirangeTypeGetOid(scope));

	PG_RETURN_BOOL(multirange_contains_elem_internal(typcache->rngtype, scope, PG_GETARG_DATUM(1)));
}

/* region >= lo (or >), or region <= hi (or <), compared as row-level
 * security compares them: in the "C" collation */
static Expr *
bound_clause(Node *region, Datum bound, StrategyNumber strategy)
{
	Oid			opno = get_opfamily_member(TEXT_BTREE_FAM_OID, TEXTOID, TEXTOID, strategy);

	return make_opclause(opno, BOOLOID, false, (Expr *) copyObject(region),
						 (Expr *) makeConst(TEXTOID, -1, C_COLLATION_OID, -1, bound, false, false),
						 InvalidOid, C_COLLATION_OID);
}

/*
 * The querying role's scope, as _rls_scope() will compute it; false when
 * the role may not call it (or region_scope_of, which it calls): planning
 * must not fail where the query would have been refused for its table, or
 * have run without the estimate.
 */
static bool
querying_role_scope(Oid estimator, Datum *scope)
{
	char	   *schema = get_namespace_name(get_func_namespace(estimator));
	Oid			oid_arg = OIDOID;
	Oid			rls_scope = LookupFuncName(list_make2(makeString(schema), makeString("_rls_scope")), 0, NULL, true);
	Oid			scope_of = LookupFuncName(list_make2(makeString(schema), makeString("region_scope_of")), 1, &oid_arg, true);

	if (!OidIsValid(rls_scope) || !OidIsValid(scope_of) ||
		pg_proc_aclcheck(rls_scope, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK ||
		pg_proc_aclcheck(scope_of, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		return false;
	*scope = OidFunctionCall0(rls_scope);
	return true;
}

/* RESTRICT of the operator: (root, operator, args, varRelid) */
PG_FUNCTION_INFO_V1(healthcode_scope_sel);
Datum
healthcode_scope_sel(PG_FUNCTION_ARGS)
{
	PlannerInfo *root = (PlannerInfo *) PG_GETARG_POINTER(0);
	List	   *args = (List *) PG_GETARG_POINTER(2);
	int			var_relid = PG_GETARG_INT32(3);
	Node	   *scope_arg;
	Node	   *region;
	Datum		scope;
	MultirangeType *mr;
	TypeCacheEntry *typcache;
	int32		n;
	RangeType **runs;
	Selectivity sel = 0.0;

	if (list_length(args) != 2)
		PG_RETURN_FLOAT8(DEFAULT_MULTIRANGE_SEL);
	scope_arg = estimate_expression_value(root, linitial(args));
	region = lsecond(args);
	if (IsA(scope_arg, Const))
	{
		if (((Const *) scope_arg)->constisnull)
			PG_RETURN_FLOAT8(0.0);
		scope = ((Const *) scope_arg)->constvalue;
	}
	else if (!IsA(scope_arg, Param) || !querying_role_scope(fcinfo->flinfo->fn_oid, &scope))
		/* (a scope this estimator cannot know: pg_catalog's guess) */
		PG_RETURN_FLOAT8(DEFAULT_MULTIRANGE_SEL);

	mr = DatumGetMultirangeTypeP(scope);
	typcache = lookup_type_cache(MultirangeTypeGetOid(mr), TYPECACHE_MULTIRANGE_INFO);
	multirange_deserialize(typcache->rngtype, mr, &n, &runs);
	for (int i = 0; i < n; i++)
	{
		RangeBound	lower,
					upper;
		bool		empty;
		List	   *clauses = NIL;

		range_deserialize(typcache->rngtype, runs[i], &lower, &upper, &empty);
		if (empty)
			continue;
		if (!lower.infinite)
			clauses = lappend(clauses, bound_clause(region, lower.val,
													lower.inclusive ? BTGreaterEqualStrategyNumber
													: BTGreaterStrategyNumber));
		if (!upper.infinite)
			clauses = lappend(clauses, bound_clause(region, upper.val,
													upper.inclusive ? BTLessEqualStrategyNumber
													: BTLessStrategyNumber));
		/* (the two bounds of one column: estimated as a range together) */
		sel += clauses == NIL ? 1.0 : clauselist_selectivity(root, clauses, var_relid, JOIN_INNER, NULL);
	}
	CLAMP_PROBABILITY(sel);
	PG_RETURN_FLOAT8(sel);
}
