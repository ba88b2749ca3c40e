/*
 * hc_core_status_policy.c — the fields of a policy version, one row each:
 * name, place in hc_policy, type, default and valid range. The defaults,
 * the range checks and the database's reading of a version (attribute by
 * attribute, by name) all come from this table. Pure C: no PostgreSQL
 * header.
 */
#include "hc_status_internal.h"

#include <stddef.h>
#include <string.h>

#define INT_FIELD(f, dflt, lo, hi) {#f, offsetof(hc_policy, f), HC_POLICY_INT, (dflt), (lo), (hi)}
#define TIME_FIELD(f, dflt) {#f, offsetof(hc_policy, f), HC_POLICY_TIME, (dflt), 0, 0}
#define BOOL_FIELD(f, dflt) {#f, offsetof(hc_policy, f), HC_POLICY_BOOL, (dflt), 0, 1}

/* The defaults are the national default version's (DESIGN.md "Status
 * rules"); the ranges are the policy table's CHECK constraints. */
const hc_policy_field hc_policy_fields[HC_POLICY_N_FIELDS] = {
	INT_FIELD(rank, 0, 0, 3),
	TIME_FIELD(valid_from, HC_TIME_NEG_INF),
	TIME_FIELD(valid_until, HC_TIME_POS_INF),
	INT_FIELD(lookback_days, 14, 1, 366),
	INT_FIELD(quarantine_days_red, 14, 1, 366),
	INT_FIELD(quarantine_days_yellow, 7, 1, 366),
	INT_FIELD(red_release_negative_tests, 2, 0, 10),
	INT_FIELD(negative_test_valid_hours, 48, 1, 24 * 31),
	INT_FIELD(fever_tenths, 373, 350, 430),
	INT_FIELD(vaccinated_min_doses, 2, 0, 10),
	BOOL_FIELD(symptoms_yellow, true),
	BOOL_FIELD(periodic_testing, false),
	BOOL_FIELD(calendar_days, false),
	BOOL_FIELD(two_negatives_release_yellow, true),
	/* (national versions only: the engine reads it from them) */
	INT_FIELD(evidence_kept_days, 90, 1, 3660),
	BOOL_FIELD(medicine_purchase_yellow, false),
};

#undef INT_FIELD
#undef TIME_FIELD
#undef BOOL_FIELD

int64_t
hc_policy_get(const hc_policy *p, const hc_policy_field *f)
{
	const char *at = (const char *) p + f->offset;

	switch (f->type)
	{
		case HC_POLICY_INT:
			return *(const int32_t *) at;
		case HC_POLICY_TIME:
			return *(const int64_t *) at;
		case HC_POLICY_BOOL:
			return *(const bool *) at;
	}
	return 0;
}

void
hc_policy_set(hc_policy *p, const hc_policy_field *f, int64_t v)
{
	char	   *at = (char *) p + f->offset;

	switch (f->type)
	{
		case HC_POLICY_INT:
			*(int32_t *) at = (int32_t) (v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v);
			break;
		case HC_POLICY_TIME:
			*(int64_t *) at = v;
			break;
		case HC_POLICY_BOOL:
			*(bool *) at = v != 0;
			break;
	}
}

void
hc_policy_default(hc_policy *p)
{
	int			i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < HC_POLICY_N_FIELDS; i++)
		hc_policy_set(p, &hc_policy_fields[i], hc_policy_fields[i].dflt);
}

bool
hc_policy_valid(const hc_policy *p, char *detail, size_t detail_len)
{
	int			i;

	for (i = 0; i < HC_POLICY_N_FIELDS; i++)
	{
		const hc_policy_field *f = &hc_policy_fields[i];
		int64_t		v = hc_policy_get(p, f);

		if (f->type == HC_POLICY_INT && (v < f->min || v > f->max))
		{
			hc_set_detail(detail, detail_len, "%s must be between %d and %d, not %d.",
						  f->name, (int) f->min, (int) f->max, (int) v);
			return false;
		}
	}
	/* a time is finite and in range, or the infinity that is its default */
	for (i = 0; i < HC_POLICY_N_FIELDS; i++)
	{
		const hc_policy_field *f = &hc_policy_fields[i];
		int64_t		v = hc_policy_get(p, f);

		if (f->type == HC_POLICY_TIME && v != f->dflt && (v <= -HC_TIME_LIMIT || v >= HC_TIME_LIMIT))
		{
			hc_set_detail(detail, detail_len, "%s must be in range or %s.",
						  f->name, f->dflt == HC_TIME_NEG_INF ? "-infinity" : "infinity");
			return false;
		}
	}
	if (p->valid_from >= p->valid_until)
	{
		hc_set_detail(detail, detail_len, "valid_until must be later than valid_from.");
		return false;
	}
	return true;
}

/* The national version in force at t that starts latest (on a tie, the
 * later row), or NULL. */
static const hc_national_days *
national_at(const hc_national_days *v, size_t n, int64_t t)
{
	const hc_national_days *best = NULL;
	size_t		i;

	for (i = 0; i < n; i++)
		if (v[i].valid_from <= t && t < v[i].valid_until &&
			(best == NULL || v[i].valid_from > best->valid_from ||
			 (v[i].valid_from == best->valid_from && v[i].id > best->id)))
			best = &v[i];
	return best;
}

/* (a version taken into the maximum, where there is one) */
static void
national_weigh(const hc_national_days *p, bool *found, int32_t *most)
{
	if (p != NULL && (!*found || p->days > *most))
	{
		*most = p->days;
		*found = true;
	}
}

int32_t
hc_national_days_from(const hc_national_days *v, size_t n, int64_t at, int32_t fallback)
{
	const hc_national_days *open = NULL;
	bool		found = false;
	int32_t		most = 0;
	size_t		i;

	/* a version is in force from one of these instants to the next */
	if (at != HC_TIME_NEG_INF && at != HC_TIME_POS_INF)
		national_weigh(national_at(v, n, at), &found, &most);
	for (i = 0; i < n; i++)
	{
		if (v[i].valid_from > at && v[i].valid_from != HC_TIME_POS_INF)
			national_weigh(national_at(v, n, v[i].valid_from), &found, &most);
		if (v[i].valid_until > at && v[i].valid_until != HC_TIME_POS_INF)
			national_weigh(national_at(v, n, v[i].valid_until), &found, &most);
		/* and for ever after the last instant, the open one starting latest */
		if (v[i].valid_until == HC_TIME_POS_INF &&
			(open == NULL || v[i].valid_from > open->valid_from ||
			 (v[i].valid_from == open->valid_from && v[i].id > open->id)))
			open = &v[i];
	}
	national_weigh(open, &found, &most);
	return found ? most : fallback;
}
