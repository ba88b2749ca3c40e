/*
 * hc_status_internal.h — helpers the status core's files share; not part
 * of the interface (hc_status.h). Pure C, like them:
 *   hc_core_status.c         the engine
 *   hc_core_status_kinds.c   the table of evidence kinds
 *   hc_core_status_policy.c  the policy fields: defaults and ranges
 *   hc_core_status_text.c    times, reasons and the timeline as text/JSON
 *   hc_core_status_inputs.c  the engine's inputs, packed for storage
 */
#ifndef HC_STATUS_INTERNAL_H
#define HC_STATUS_INTERNAL_H

#include "hc_status.h"

/* The table of evidence kinds (hc_core_status_kinds.c), indexed by kind,
 * for the core's loops over events of kinds already checked; others use
 * hc_event_kind_get(). */
extern const hc_event_kind_info hc_event_kinds[HC_EV_KIND_MAX + 1];

/* a + b, saturating: infinities stay infinite. */
static inline int64_t
hc_time_add(int64_t a, int64_t b)
{
	if (a == HC_TIME_POS_INF || a == HC_TIME_NEG_INF)
		return a;
	if (b > 0 && a > HC_TIME_POS_INF - b)
		return HC_TIME_POS_INF;
	if (b < 0 && a < HC_TIME_NEG_INF - b)
		return HC_TIME_NEG_INF;
	return a + b;
}

/* Calendar day (China Standard Time) of an instant. */
static inline int64_t
hc_local_day(int64_t t)
{
	int64_t		s = hc_time_add(t, HC_LOCAL_OFFSET);
	int64_t		d = s / HC_USECS_PER_DAY;

	if (s % HC_USECS_PER_DAY < 0)
		d--;
	return d;
}

/* The instant a calendar day begins. */
static inline int64_t
hc_day_start(int64_t day)
{
	if (day > HC_TIME_POS_INF / HC_USECS_PER_DAY - 1)
		return HC_TIME_POS_INF;
	if (day < HC_TIME_NEG_INF / HC_USECS_PER_DAY + 1)
		return HC_TIME_NEG_INF;
	return hc_time_add(day * HC_USECS_PER_DAY, -HC_LOCAL_OFFSET);
}

/* qsort comparator of int64_t. */
static inline int
hc_cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

#endif							/* HC_STATUS_INTERNAL_H */
