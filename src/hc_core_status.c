/*
 * hc_core_status.c — the status engine (see hc_status.h for the rules).
 * Pure C: no PostgreSQL header.
 *
 * How it computes: the future from `from` on is cut into policy periods
 * (one policy version in force throughout each). In each period every
 * trigger event becomes an interval [start, end) under that period's
 * numbers; overrides and the vaccinated mark become intervals too. A sweep
 * over all interval ends then gives each elementary interval its colour,
 * mark and reasons, and equal neighbours are merged into segments.
 */
#include "hc_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- time arithmetic (saturating: infinities stay infinite) -------------- */

static int64_t
t_add(int64_t a, int64_t b)
{
	if (a == HC_TIME_POS_INF || a == HC_TIME_NEG_INF)
		return a;
	if (b > 0 && a > HC_TIME_POS_INF - b)
		return HC_TIME_POS_INF;
	if (b < 0 && a < HC_TIME_NEG_INF - b)
		return HC_TIME_NEG_INF;
	return a + b;
}

static int64_t
t_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t
t_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Calendar day (China Standard Time) of a finite instant. */
static int64_t
local_day(int64_t t)
{
	int64_t		s = t_add(t, HC_LOCAL_OFFSET);
	int64_t		d = s / HC_USECS_PER_DAY;

	if (s % HC_USECS_PER_DAY < 0)
		d--;
	return d;
}

/* The instant a calendar day begins. */
static int64_t
day_start(int64_t day)
{
	if (day > HC_TIME_POS_INF / HC_USECS_PER_DAY - 1)
		return HC_TIME_POS_INF;
	if (day < HC_TIME_NEG_INF / HC_USECS_PER_DAY + 1)
		return HC_TIME_NEG_INF;
	return t_add(day * HC_USECS_PER_DAY, -HC_LOCAL_OFFSET);
}

/* ---- policy -------------------------------------------------------------- */

void
hc_policy_default(hc_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->rank = 0;
	p->valid_from = HC_TIME_NEG_INF;
	p->valid_until = HC_TIME_POS_INF;
	p->lookback_days = 14;
	p->quarantine_days_red = 14;
	p->quarantine_days_yellow = 7;
	p->red_release_negative_tests = 2;
	p->negative_test_valid_hours = 48;
	p->fever_tenths = 373;
	p->vaccinated_min_doses = 2;
	p->symptoms_yellow = true;
	p->periodic_testing = false;
	p->calendar_days = false;
	p->two_negatives_release_yellow = true;
}

#define RANGE(field, lo, hi) \
	do { \
		if (p->field < (lo) || p->field > (hi)) \
		{ \
			hc_set_detail(detail, detail_len, #field " must be between %d and %d, not %d.", \
					   (lo), (hi), (int) p->field); \
			return false; \
		} \
	} while (0)

bool
hc_policy_valid(const hc_policy *p, char *detail, size_t detail_len)
{
	RANGE(rank, 0, 3);
	RANGE(lookback_days, 1, 366);
	RANGE(quarantine_days_red, 1, 366);
	RANGE(quarantine_days_yellow, 1, 366);
	RANGE(red_release_negative_tests, 0, 10);
	RANGE(negative_test_valid_hours, 1, 24 * 31);
	RANGE(fever_tenths, 350, 430);
	RANGE(vaccinated_min_doses, 0, 10);
	if ((p->valid_from != HC_TIME_NEG_INF && (p->valid_from <= -HC_TIME_LIMIT || p->valid_from >= HC_TIME_LIMIT)) ||
		(p->valid_until != HC_TIME_POS_INF && (p->valid_until <= -HC_TIME_LIMIT || p->valid_until >= HC_TIME_LIMIT)))
	{
		hc_set_detail(detail, detail_len, "valid_from and valid_until must be in range or infinite.");
		return false;
	}
	if (p->valid_from >= p->valid_until)
	{
		hc_set_detail(detail, detail_len, "valid_until must be later than valid_from.");
		return false;
	}
	return true;
}

#undef RANGE

/* ---- the computation's working state ------------------------------------- */

typedef enum ivl_type
{
	IVL_TRIGGER,
	IVL_OVERRIDE,
	IVL_VACCINATED
} ivl_type;

typedef struct ivl
{
	int64_t		start;
	int64_t		end;
	ivl_type	type;
	hc_colour	colour;
	hc_rule		rule;
	int32_t		event;
} ivl;

typedef struct day_mark
{
	int64_t		day;
	bool		abnormal;
} day_mark;

typedef struct run
{
	int64_t		first;
	int64_t		last;
} run;

typedef struct engine
{
	const hc_event *ev;
	size_t		n_ev;
	const hc_policy *pol;
	size_t		n_pol;
	int64_t		from;

	int64_t    *negatives;		/* sampling times, ascending */
	int32_t    *negative_idx;	/* their event indexes */
	size_t		n_negatives;
	int64_t    *releases;		/* manual releases, ascending */
	size_t		n_releases;
	day_mark   *days;			/* check-in days of the current period */
	size_t		n_days;
	run		   *runs;			/* runs of consecutive normal days */
	size_t		n_runs;

	ivl		   *ivls;
	size_t		n_ivls;
	size_t		cap_ivls;
	bool		nomem;
} engine;

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

static void
add_ivl(engine *e, int64_t start, int64_t end, ivl_type type, hc_colour colour,
		hc_rule rule, int32_t event)
{
	if (start < e->from)
		start = e->from;
	if (start >= end)
		return;
	if (e->n_ivls == e->cap_ivls)
	{
		size_t		cap = e->cap_ivls ? e->cap_ivls * 2 : 64;
		ivl		   *p = realloc(e->ivls, cap * sizeof(ivl));

		if (p == NULL)
		{
			e->nomem = true;
			return;
		}
		e->ivls = p;
		e->cap_ivls = cap;
	}
	e->ivls[e->n_ivls].start = start;
	e->ivls[e->n_ivls].end = end;
	e->ivls[e->n_ivls].type = type;
	e->ivls[e->n_ivls].colour = colour;
	e->ivls[e->n_ivls].rule = rule;
	e->ivls[e->n_ivls].event = event;
	e->n_ivls++;
}

/* The version in force at t: most specific, then latest start. */
static const hc_policy *
policy_at(const engine *e, int64_t t, const hc_policy *fallback)
{
	const hc_policy *best = NULL;
	size_t		i;

	for (i = 0; i < e->n_pol; i++)
	{
		const hc_policy *p = &e->pol[i];

		if (p->valid_from <= t && t < p->valid_until &&
			(best == NULL || p->rank > best->rank ||
			 (p->rank == best->rank && p->valid_from >= best->valid_from)))
			best = p;
	}
	return best ? best : fallback;
}

/* ---- check-ins ----------------------------------------------------------- */

static bool
checkin_abnormal(const hc_event *ev, const hc_policy *p)
{
	return ev->kind == HC_EV_CHECKIN_SYMPTOMS ||
		(ev->value > 0 && ev->value >= p->fever_tenths);
}

static int
cmp_day(const void *a, const void *b)
{
	const day_mark *x = a;
	const day_mark *y = b;

	return (x->day > y->day) - (x->day < y->day);
}

/* Check-in days and their runs of normal days under policy p. */
static bool
build_checkin_runs(engine *e, const hc_policy *p)
{
	size_t		i,
				n = 0;

	for (i = 0; i < e->n_ev; i++)
	{
		const hc_event *ev = &e->ev[i];

		if (ev->kind == HC_EV_CHECKIN || ev->kind == HC_EV_CHECKIN_SYMPTOMS)
		{
			e->days[n].day = local_day(ev->at);
			e->days[n].abnormal = checkin_abnormal(ev, p);
			n++;
		}
	}
	qsort(e->days, n, sizeof(day_mark), cmp_day);
	/* one mark a day: abnormal if any check-in that day was */
	e->n_days = 0;
	for (i = 0; i < n; i++)
	{
		if (e->n_days > 0 && e->days[e->n_days - 1].day == e->days[i].day)
			e->days[e->n_days - 1].abnormal |= e->days[i].abnormal;
		else
			e->days[e->n_days++] = e->days[i];
	}
	e->n_runs = 0;
	for (i = 0; i < e->n_days; i++)
	{
		if (e->days[i].abnormal)
			continue;
		if (e->n_runs > 0 && e->runs[e->n_runs - 1].last + 1 == e->days[i].day)
			e->runs[e->n_runs - 1].last = e->days[i].day;
		else
		{
			e->runs[e->n_runs].first = e->days[i].day;
			e->runs[e->n_runs].last = e->days[i].day;
			e->n_runs++;
		}
	}
	return true;
}

/* When q consecutive normal check-ins on or after start's day complete:
 * the beginning of the day after the last of them. */
static int64_t
checkin_release(const engine *e, int64_t start, int32_t q)
{
	int64_t		d = local_day(start);
	size_t		i;

	for (i = 0; i < e->n_runs; i++)
	{
		int64_t		first = t_max(e->runs[i].first, d);

		if (e->runs[i].last >= first && e->runs[i].last - first + 1 >= q)
			return day_start(first + q);
	}
	return HC_TIME_POS_INF;
}

/* ---- tests --------------------------------------------------------------- */

/* The n-th negative test at or after start, each at least 24 h after the
 * previous one counted; -infinity when none are asked for. */
static int64_t
nth_negative(const engine *e, int64_t start, int32_t n)
{
	int64_t		last = 0;
	int32_t		count = 0;
	size_t		i;

	if (n <= 0)
		return HC_TIME_NEG_INF;
	for (i = 0; i < e->n_negatives; i++)
	{
		int64_t		t = e->negatives[i];

		if (t < start)
			continue;
		if (count == 0 || t - last >= 24 * HC_USECS_PER_HOUR)
		{
			count++;
			last = t;
			if (count == n)
				return t;
		}
	}
	return HC_TIME_POS_INF;
}

/* The second of two negatives after start, 24-72 h apart (calendar mode:
 * on days one or two apart). */
static int64_t
two_negatives(const engine *e, int64_t start, bool calendar)
{
	size_t		i,
				j;

	for (j = 0; j < e->n_negatives; j++)
	{
		int64_t		b = e->negatives[j];

		if (b <= start)
			continue;
		for (i = 0; i < j; i++)
		{
			int64_t		a = e->negatives[i];
			bool		ok;

			if (a < start)
				continue;
			if (calendar)
			{
				int64_t		gap = local_day(b) - local_day(a);

				ok = gap >= 1 && gap <= 2;
			}
			else
				ok = b - a >= 24 * HC_USECS_PER_HOUR && b - a <= 72 * HC_USECS_PER_HOUR;
			if (ok)
				return b;
		}
	}
	return HC_TIME_POS_INF;
}

/* When a negative test sampled at t stops counting. */
static int64_t
negative_valid_end(int64_t t, const hc_policy *p)
{
	if (p->calendar_days)
		return day_start(local_day(t) + (p->negative_test_valid_hours + 23) / 24 + 1);
	return t_add(t, (int64_t) p->negative_test_valid_hours * HC_USECS_PER_HOUR);
}

/* The first manual release after start. */
static int64_t
manual_release_after(const engine *e, int64_t start)
{
	size_t		i;

	for (i = 0; i < e->n_releases; i++)
		if (e->releases[i] > start)
			return e->releases[i];
	return HC_TIME_POS_INF;
}

/* ---- triggers in one policy period --------------------------------------- */

static void
period_triggers(engine *e, const hc_policy *p, int64_t pf, int64_t pu)
{
	int64_t		window = (int64_t) p->lookback_days * HC_USECS_PER_DAY;
	size_t		i;

	build_checkin_runs(e, p);

	for (i = 0; i < e->n_ev; i++)
	{
		const hc_event *ev = &e->ev[i];
		hc_colour	colour;
		hc_rule		rule;
		bool		windowed = false;
		int64_t		end,
					release;

		switch (ev->kind)
		{
			case HC_EV_STAY_HIGH:
				colour = HC_RED, rule = HC_RULE_STAY_HIGH, windowed = true;
				break;
			case HC_EV_CLOSE_CONTACT:
				colour = HC_RED, rule = HC_RULE_CLOSE_CONTACT, windowed = true;
				break;
			case HC_EV_STAY_MEDIUM:
				colour = HC_YELLOW, rule = HC_RULE_STAY_MEDIUM, windowed = true;
				break;
			case HC_EV_SECONDARY_CONTACT:
				colour = HC_YELLOW, rule = HC_RULE_SECONDARY_CONTACT, windowed = true;
				break;
			case HC_EV_DECLARED_CONTACT:
				colour = HC_YELLOW, rule = HC_RULE_DECLARED_CONTACT, windowed = true;
				break;
			case HC_EV_FINDING:
				colour = HC_YELLOW, rule = HC_RULE_AUDIT_FINDING, windowed = true;
				break;
			case HC_EV_POSITIVE_TEST:
				colour = HC_RED, rule = HC_RULE_POSITIVE_TEST;
				break;
			case HC_EV_PUSHED_RED:
				/* the pushing region decides how long: only a manual
				 * release here ends it sooner */
				add_ivl(e, t_max(ev->at, pf),
						t_min(t_min(ev->until, manual_release_after(e, ev->at)), pu),
						IVL_TRIGGER, HC_RED, HC_RULE_PUSHED_RED, (int32_t) i);
				continue;
			case HC_EV_SYMPTOMS:
				if (!p->symptoms_yellow)
					continue;
				colour = HC_YELLOW, rule = HC_RULE_SYMPTOMS;
				break;
			case HC_EV_TEMPERATURE:
				if (!p->symptoms_yellow || ev->value < p->fever_tenths)
					continue;
				colour = HC_YELLOW, rule = HC_RULE_FEVER;
				break;
			case HC_EV_CHECKIN:
			case HC_EV_CHECKIN_SYMPTOMS:
				if (!p->symptoms_yellow || !checkin_abnormal(ev, p))
					continue;
				colour = HC_YELLOW, rule = HC_RULE_ABNORMAL_CHECKIN;
				break;
			default:
				continue;
		}

		end = windowed ? t_add(ev->at, window) : HC_TIME_POS_INF;
		if (colour == HC_RED)
			release = t_max(checkin_release(e, ev->at, p->quarantine_days_red),
							nth_negative(e, ev->at, p->red_release_negative_tests));
		else
		{
			release = checkin_release(e, ev->at, p->quarantine_days_yellow);
			if (p->two_negatives_release_yellow)
				release = t_min(release, two_negatives(e, ev->at, p->calendar_days));
		}
		end = t_min(end, release);
		end = t_min(end, manual_release_after(e, ev->at));
		add_ivl(e, t_max(ev->at, pf), t_min(end, pu), IVL_TRIGGER, colour, rule, (int32_t) i);
	}

	/* The periodic-test requirement: overdue between a test's validity end
	 * and the next test; the grace period after registration counts like a
	 * test taken at registration. */
	if (p->periodic_testing)
	{
		int64_t		registered = HC_TIME_POS_INF;
		int32_t		reg_idx = -1;
		size_t		k;

		for (i = 0; i < e->n_ev; i++)
			if (e->ev[i].kind == HC_EV_REGISTERED && e->ev[i].at < registered)
				registered = e->ev[i].at, reg_idx = (int32_t) i;
		if (reg_idx >= 0)
		{
			int64_t		due = negative_valid_end(registered, p);
			int64_t		next = e->n_negatives > 0 ? e->negatives[0] : HC_TIME_POS_INF;

			add_ivl(e, t_max(due, pf), t_min(next, pu), IVL_TRIGGER, HC_YELLOW,
					HC_RULE_TEST_OVERDUE, reg_idx);
		}
		for (k = 0; k < e->n_negatives; k++)
		{
			int64_t		due = negative_valid_end(e->negatives[k], p);
			int64_t		next = k + 1 < e->n_negatives ? e->negatives[k + 1] : HC_TIME_POS_INF;

			add_ivl(e, t_max(due, pf), t_min(next, pu), IVL_TRIGGER, HC_YELLOW,
					HC_RULE_TEST_OVERDUE, e->negative_idx[k]);
		}
	}

	/* The vaccinated mark: from the k-th distinct dose on. */
	{
		int32_t		k = p->vaccinated_min_doses;
		int64_t		since = HC_TIME_POS_INF;

		if (k <= 0)
			since = HC_TIME_NEG_INF;
		else
		{
			/* the earliest instant by which k distinct dose numbers were
			 * given: the k-th smallest of each dose number's first time */
			int64_t		firsts[16];
			size_t		n_firsts = 0;
			int32_t		dose;

			for (dose = 1; dose <= 10 && n_firsts < 16; dose++)
			{
				int64_t		first = HC_TIME_POS_INF;

				for (i = 0; i < e->n_ev; i++)
					if (e->ev[i].kind == HC_EV_VACCINATION && e->ev[i].value == dose)
						first = t_min(first, e->ev[i].at);
				if (first != HC_TIME_POS_INF)
					firsts[n_firsts++] = first;
			}
			if ((size_t) k <= n_firsts)
			{
				qsort(firsts, n_firsts, sizeof(int64_t), cmp_i64);
				since = firsts[k - 1];
			}
		}
		add_ivl(e, t_max(since, pf), pu, IVL_VACCINATED, HC_GREEN, 0, -1);
	}
}

/* ---- the sweep ----------------------------------------------------------- */

typedef struct reason_key
{
	hc_rule		rule;
	int32_t		place;
	int64_t		at;
	int64_t		ref;
	int32_t		event;
} reason_key;

static int
cmp_reason(const void *a, const void *b)
{
	const reason_key *x = a;
	const reason_key *y = b;

	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	if (x->place != y->place)
		return x->place < y->place ? -1 : 1;
	if (x->at != y->at)
		return x->at > y->at ? -1 : 1;	/* latest first */
	/* then by source row, so the input order never shows in the result */
	if (x->ref != y->ref)
		return x->ref > y->ref ? -1 : 1;
	return (x->event < y->event) - (x->event > y->event);
}

typedef struct sweep_point
{
	int64_t		t;
	int32_t		ivl;
	bool		is_start;
} sweep_point;

static int
cmp_point(const void *a, const void *b)
{
	const sweep_point *x = a;
	const sweep_point *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	/* ends before starts at the same instant: intervals are half-open */
	if (x->is_start != y->is_start)
		return x->is_start ? 1 : -1;
	return (x->ivl > y->ivl) - (x->ivl < y->ivl);
}

/* Growable output arrays of the timeline. */
static bool
push_segment(hc_timeline *t, size_t *cap, const hc_segment *s)
{
	if ((size_t) t->n_segments == *cap)
	{
		size_t		c = *cap ? *cap * 2 : 8;
		hc_segment *p = realloc(t->segments, c * sizeof(hc_segment));

		if (p == NULL)
			return false;
		t->segments = p;
		*cap = c;
	}
	t->segments[t->n_segments++] = *s;
	return true;
}

static bool
push_reasons(hc_timeline *t, size_t *cap, const reason_key *r, size_t n)
{
	size_t		i;

	if ((size_t) t->n_reasons + n > *cap)
	{
		size_t		c = *cap ? *cap : 16;
		hc_reason  *p;

		while (c < (size_t) t->n_reasons + n)
			c *= 2;
		p = realloc(t->reasons, c * sizeof(hc_reason));
		if (p == NULL)
			return false;
		t->reasons = p;
		*cap = c;
	}
	for (i = 0; i < n; i++)
	{
		t->reasons[t->n_reasons + i].rule = r[i].rule;
		t->reasons[t->n_reasons + i].event = r[i].event;
	}
	t->n_reasons += (int32_t) n;
	return true;
}

/* The state of one elementary interval, from the active intervals. */
static size_t
judge_instant(const engine *e, const int32_t *active, size_t n_active,
			  reason_key *keys, hc_colour *colour, bool *vaccinated)
{
	const ivl  *override = NULL;
	hc_colour	top = HC_GREEN;
	size_t		i,
				n = 0,
				kept = 0;

	*vaccinated = false;
	for (i = 0; i < n_active; i++)
	{
		const ivl  *v = &e->ivls[active[i]];

		if (v->type == IVL_VACCINATED)
			*vaccinated = true;
		else if (v->type == IVL_OVERRIDE)
		{
			const hc_event *a = &e->ev[v->event];
			const hc_event *b = override ? &e->ev[override->event] : NULL;

			/* the later decision wins; then the later source row */
			if (b == NULL || a->at > b->at || (a->at == b->at && a->ref > b->ref))
				override = v;
		}
		else if (v->colour > top)
			top = v->colour;
	}
	if (override)
	{
		*colour = override->colour;
		keys[0].rule = HC_RULE_OVERRIDE;
		keys[0].place = -1;
		keys[0].at = e->ev[override->event].at;
		keys[0].ref = e->ev[override->event].ref;
		keys[0].event = override->event;
		return 1;
	}
	*colour = top;
	if (top == HC_GREEN)
		return 0;
	for (i = 0; i < n_active; i++)
	{
		const ivl  *v = &e->ivls[active[i]];

		if (v->type != IVL_TRIGGER || v->colour != top)
			continue;
		keys[n].rule = v->rule;
		keys[n].place = e->ev[v->event].place;
		keys[n].at = e->ev[v->event].at;
		keys[n].ref = e->ev[v->event].ref;
		keys[n].event = v->event;
		n++;
	}
	qsort(keys, n, sizeof(reason_key), cmp_reason);
	/* one reason per rule and place: the latest */
	for (i = 0; i < n; i++)
		if (kept == 0 || keys[kept - 1].rule != keys[i].rule || keys[kept - 1].place != keys[i].place)
			keys[kept++] = keys[i];
	return kept;
}

static bool
same_reasons(const hc_timeline *t, const hc_segment *s, const reason_key *keys, size_t n)
{
	int32_t		i;

	if ((size_t) s->n_reasons != n)
		return false;
	for (i = 0; i < s->n_reasons; i++)
		if (t->reasons[s->first_reason + i].event != keys[i].event ||
			t->reasons[s->first_reason + i].rule != keys[i].rule)
			return false;
	return true;
}

static hc_status
sweep(engine *e, hc_timeline *out)
{
	size_t		n_points = 2 * e->n_ivls;
	sweep_point *points = malloc((n_points ? n_points : 1) * sizeof(sweep_point));
	int32_t    *active = malloc((e->n_ivls ? e->n_ivls : 1) * sizeof(int32_t));
	int32_t    *slot = malloc((e->n_ivls ? e->n_ivls : 1) * sizeof(int32_t));
	reason_key *keys = malloc((e->n_ivls ? e->n_ivls : 1) * sizeof(reason_key));
	size_t		n_active = 0,
				seg_cap = 0,
				reason_cap = 0,
				i,
				p = 0;
	int64_t		t = e->from;
	hc_status	st = HC_ERR_NOMEM;

	if (!points || !active || !slot || !keys)
		goto done;
	for (i = 0; i < e->n_ivls; i++)
	{
		points[2 * i].t = e->ivls[i].start;
		points[2 * i].ivl = (int32_t) i;
		points[2 * i].is_start = true;
		points[2 * i + 1].t = e->ivls[i].end;
		points[2 * i + 1].ivl = (int32_t) i;
		points[2 * i + 1].is_start = false;
	}
	qsort(points, n_points, sizeof(sweep_point), cmp_point);

	for (;;)
	{
		hc_colour	colour;
		bool		vaccinated;
		size_t		n_keys;
		hc_segment *last;

		/* apply every change at instant t */
		while (p < n_points && points[p].t <= t)
		{
			int32_t		v = points[p].ivl;

			if (points[p].is_start)
			{
				slot[v] = (int32_t) n_active;
				active[n_active++] = v;
			}
			else
			{
				int32_t		moved = active[--n_active];

				active[slot[v]] = moved;
				slot[moved] = slot[v];
			}
			p++;
		}
		n_keys = judge_instant(e, active, n_active, keys, &colour, &vaccinated);
		last = out->n_segments > 0 ? &out->segments[out->n_segments - 1] : NULL;
		if (last && last->colour == colour && last->vaccinated == vaccinated &&
			same_reasons(out, last, keys, n_keys))
			;						/* the same state goes on */
		else
		{
			hc_segment	s;

			if (last)
				last->until = t;
			s.from = t;
			s.until = HC_TIME_POS_INF;
			s.colour = colour;
			s.vaccinated = vaccinated;
			s.first_reason = out->n_reasons;
			s.n_reasons = (int32_t) n_keys;
			if (!push_segment(out, &seg_cap, &s) || !push_reasons(out, &reason_cap, keys, n_keys))
				goto done;
		}
		if (p >= n_points || points[p].t == HC_TIME_POS_INF)
			break;
		t = points[p].t;
	}
	st = HC_OK;
done:
	free(points);
	free(active);
	free(slot);
	free(keys);
	return st;
}

/* ---- entry point --------------------------------------------------------- */

static bool
time_finite(int64_t t)
{
	return t > -HC_TIME_LIMIT && t < HC_TIME_LIMIT;
}

static bool
time_or_infinity(int64_t t)
{
	return t == HC_TIME_NEG_INF || t == HC_TIME_POS_INF || time_finite(t);
}

static bool
event_valid(const hc_event *ev, size_t i, char *detail, size_t detail_len)
{
	if (ev->kind < HC_EV_STAY_HIGH || ev->kind > HC_EV_KIND_MAX)
	{
		hc_set_detail(detail, detail_len, "Event %zu has unknown kind %d.", i + 1, (int) ev->kind);
		return false;
	}
	if (!time_finite(ev->at))
	{
		hc_set_detail(detail, detail_len, "Event %zu has an infinite or out-of-range time.", i + 1);
		return false;
	}
	if (!time_or_infinity(ev->until))
	{
		hc_set_detail(detail, detail_len, "Event %zu has an out-of-range end.", i + 1);
		return false;
	}
	switch (ev->kind)
	{
		case HC_EV_PUSHED_RED:
			if (ev->until <= ev->at)
			{
				hc_set_detail(detail, detail_len, "Pushed red %zu needs an end after its start.", i + 1);
				return false;
			}
			break;
		case HC_EV_OVERRIDE:
			if (ev->value < HC_GREEN || ev->value > HC_RED || ev->until <= ev->at)
			{
				hc_set_detail(detail, detail_len,
						   "Override %zu needs a colour 0-2 and an end after its start.", i + 1);
				return false;
			}
			break;
		case HC_EV_VACCINATION:
			if (ev->value < 1 || ev->value > 10)
			{
				hc_set_detail(detail, detail_len, "Vaccination %zu has dose number %d, not 1-10.",
						   i + 1, (int) ev->value);
				return false;
			}
			break;
		case HC_EV_TEMPERATURE:
		case HC_EV_CHECKIN:
			if (ev->value < 0 || ev->value > 1000)
			{
				hc_set_detail(detail, detail_len, "Event %zu has temperature %d tenths.",
						   i + 1, (int) ev->value);
				return false;
			}
			break;
		default:
			break;
	}
	return true;
}

hc_status
hc_status_compute(const hc_event *events, size_t n_events,
				  const hc_policy *policies, size_t n_policies,
				  int64_t from, hc_timeline *out,
				  char *detail, size_t detail_len)
{
	engine		e;
	hc_policy	fallback;
	int64_t    *bounds = NULL;
	size_t		n_bounds = 0,
				i;
	hc_status	st = HC_ERR_NOMEM;

	memset(out, 0, sizeof(*out));
	if (n_events > HC_STATUS_MAX_EVENTS || n_policies > HC_STATUS_MAX_POLICIES)
	{
		hc_set_detail(detail, detail_len, "At most %d events and %d policy versions, not %zu and %zu.",
				   HC_STATUS_MAX_EVENTS, HC_STATUS_MAX_POLICIES, n_events, n_policies);
		return HC_ERR_ARGUMENT;
	}
	if (!time_finite(from))
	{
		hc_set_detail(detail, detail_len, "The start of a timeline must be finite and in range.");
		return HC_ERR_ARGUMENT;
	}
	for (i = 0; i < n_events; i++)
		if (!event_valid(&events[i], i, detail, detail_len))
			return HC_ERR_ARGUMENT;
	for (i = 0; i < n_policies; i++)
		if (!hc_policy_valid(&policies[i], detail, detail_len))
			return HC_ERR_ARGUMENT;

	memset(&e, 0, sizeof(e));
	e.ev = events;
	e.n_ev = n_events;
	e.pol = policies;
	e.n_pol = n_policies;
	e.from = from;
	hc_policy_default(&fallback);

	e.negatives = malloc((n_events + 1) * sizeof(int64_t));
	e.negative_idx = malloc((n_events + 1) * sizeof(int32_t));
	e.releases = malloc((n_events + 1) * sizeof(int64_t));
	e.days = malloc((n_events + 1) * sizeof(day_mark));
	e.runs = malloc((n_events + 1) * sizeof(run));
	bounds = malloc((2 * n_policies + 1) * sizeof(int64_t));
	if (!e.negatives || !e.negative_idx || !e.releases || !e.days || !e.runs || !bounds)
		goto done;

	/* negatives in time order (with their event indexes), releases */
	for (i = 0; i < n_events; i++)
	{
		if (events[i].kind == HC_EV_NEGATIVE_TEST)
		{
			size_t		j = e.n_negatives++;

			/* insertion keeps the index array in step with the times */
			while (j > 0 && (e.negatives[j - 1] > events[i].at ||
							 (e.negatives[j - 1] == events[i].at &&
							  events[e.negative_idx[j - 1]].ref > events[i].ref)))
			{
				e.negatives[j] = e.negatives[j - 1];
				e.negative_idx[j] = e.negative_idx[j - 1];
				j--;
			}
			e.negatives[j] = events[i].at;
			e.negative_idx[j] = (int32_t) i;
		}
		else if (events[i].kind == HC_EV_RELEASE)
			e.releases[e.n_releases++] = events[i].at;
	}
	qsort(e.releases, e.n_releases, sizeof(int64_t), cmp_i64);

	/* policy periods from `from` on: a version starts or ends only at these */
	bounds[n_bounds++] = from;
	for (i = 0; i < n_policies; i++)
	{
		if (policies[i].valid_from > from && policies[i].valid_from != HC_TIME_POS_INF)
			bounds[n_bounds++] = policies[i].valid_from;
		if (policies[i].valid_until > from && policies[i].valid_until != HC_TIME_POS_INF)
			bounds[n_bounds++] = policies[i].valid_until;
	}
	qsort(bounds, n_bounds, sizeof(int64_t), cmp_i64);
	for (i = 0; i < n_bounds; i++)
	{
		int64_t		pf = bounds[i];
		int64_t		pu = HC_TIME_POS_INF;
		size_t		j = i;

		while (j + 1 < n_bounds && bounds[j + 1] == pf)
			j++;
		if (j + 1 < n_bounds)
			pu = bounds[j + 1];
		period_triggers(&e, policy_at(&e, pf, &fallback), pf, pu);
		i = j;
	}

	/* overrides do not depend on policy */
	for (i = 0; i < n_events; i++)
		if (events[i].kind == HC_EV_OVERRIDE)
			add_ivl(&e, events[i].at, events[i].until, IVL_OVERRIDE,
					(hc_colour) events[i].value, HC_RULE_OVERRIDE, (int32_t) i);
	if (e.nomem)
		goto done;

	st = sweep(&e, out);
done:
	free(e.negatives);
	free(e.negative_idx);
	free(e.releases);
	free(e.days);
	free(e.runs);
	free(e.ivls);
	free(bounds);
	if (st != HC_OK)
	{
		hc_timeline_free(out);
		if (st == HC_ERR_NOMEM)
			hc_set_detail(detail, detail_len, "Out of memory.");
	}
	return st;
}

void
hc_timeline_free(hc_timeline *t)
{
	free(t->segments);
	free(t->reasons);
	memset(t, 0, sizeof(*t));
}

/* ---- JSON ---------------------------------------------------------------- */

static const char *const rule_names[] = {
	[HC_RULE_STAY_HIGH] = "stay_high_risk",
	[HC_RULE_STAY_MEDIUM] = "stay_medium_risk",
	[HC_RULE_CLOSE_CONTACT] = "close_contact",
	[HC_RULE_SECONDARY_CONTACT] = "secondary_contact",
	[HC_RULE_DECLARED_CONTACT] = "declared_contact",
	[HC_RULE_POSITIVE_TEST] = "positive_test",
	[HC_RULE_PUSHED_RED] = "pushed_red",
	[HC_RULE_SYMPTOMS] = "symptoms",
	[HC_RULE_FEVER] = "fever",
	[HC_RULE_ABNORMAL_CHECKIN] = "abnormal_checkin",
	[HC_RULE_AUDIT_FINDING] = "audit_finding",
	[HC_RULE_TEST_OVERDUE] = "test_overdue",
	[HC_RULE_OVERRIDE] = "override",
};

const char *
hc_rule_name(hc_rule r)
{
	if (r < HC_RULE_STAY_HIGH || r > HC_RULE_MAX)
		return "unknown";
	return rule_names[r];
}

/* Civil date of a day number counted from 1970-01-01 (H. Hinnant). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t		era;
	unsigned	doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned) (z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (int64_t) yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	if (*m <= 2)
		(*y)++;
}

/* Days from 1970-01-01 to 2000-01-01, the engine's epoch. */
#define EPOCH_2000_DAYS 10957

void
hc_format_time(int64_t t, char out[HC_TIME_TEXT_LEN])
{
	int64_t		local,
				day,
				us,
				y;
	unsigned	m,
				d,
				hh,
				mm,
				ss;

	if (t == HC_TIME_POS_INF)
	{
		strcpy(out, "infinity");
		return;
	}
	if (t == HC_TIME_NEG_INF)
	{
		strcpy(out, "-infinity");
		return;
	}
	local = t_add(t, HC_LOCAL_OFFSET);
	day = local / HC_USECS_PER_DAY;
	us = local % HC_USECS_PER_DAY;
	if (us < 0)
	{
		us += HC_USECS_PER_DAY;
		day--;
	}
	civil_from_days(day + EPOCH_2000_DAYS, &y, &m, &d);
	ss = (unsigned) (us / HC_USECS_PER_SEC % 60);
	mm = (unsigned) (us / (60 * HC_USECS_PER_SEC) % 60);
	hh = (unsigned) (us / HC_USECS_PER_HOUR);
	us %= HC_USECS_PER_SEC;
	if (us)
		snprintf(out, HC_TIME_TEXT_LEN, "%04lld-%02u-%02uT%02u:%02u:%02u.%06lld+08:00",
				 (long long) y, m, d, hh, mm, ss, (long long) us);
	else
		snprintf(out, HC_TIME_TEXT_LEN, "%04lld-%02u-%02uT%02u:%02u:%02u+08:00",
				 (long long) y, m, d, hh, mm, ss);
}

void
hc_reason_describe(const hc_reason *r, const hc_event *events, hc_colour colour, hc_reason_text *out)
{
	const hc_event *ev = &events[r->event];
	char		date[11],
				until[HC_TIME_TEXT_LEN];
	char	   *text = out->text;
	size_t		len = sizeof(out->text);

	out->rule = hc_rule_name(r->rule);
	out->colour = hc_colour_name(colour);
	hc_format_time(ev->at, out->at);
	out->place[0] = '\0';
	if (ev->place >= 0)
		snprintf(out->place, sizeof(out->place), "%06d", (int) ev->place);
	out->ref = ev->ref;
	memcpy(date, out->at, 10);
	date[10] = '\0';
	switch (r->rule)
	{
		case HC_RULE_STAY_HIGH:
			snprintf(text, len, "stayed in %06d (high risk) on %s", (int) ev->place, date);
			break;
		case HC_RULE_STAY_MEDIUM:
			snprintf(text, len, "stayed in %06d (medium risk) on %s", (int) ev->place, date);
			break;
		case HC_RULE_CLOSE_CONTACT:
			snprintf(text, len, "close contact of a case on %s", date);
			break;
		case HC_RULE_SECONDARY_CONTACT:
			snprintf(text, len, "secondary contact of a case on %s", date);
			break;
		case HC_RULE_DECLARED_CONTACT:
			snprintf(text, len, "declared contact with a case on %s", date);
			break;
		case HC_RULE_POSITIVE_TEST:
			snprintf(text, len, "positive test sampled on %s", date);
			break;
		case HC_RULE_PUSHED_RED:
			snprintf(text, len, "red status pushed by another region on %s", date);
			break;
		case HC_RULE_SYMPTOMS:
			snprintf(text, len, "declared symptoms on %s", date);
			break;
		case HC_RULE_FEVER:
			snprintf(text, len, "temperature %d.%d \xc2\xb0" "C on %s",
					 (int) ev->value / 10, (int) ev->value % 10, date);
			break;
		case HC_RULE_ABNORMAL_CHECKIN:
			if (ev->kind == HC_EV_CHECKIN)
				snprintf(text, len, "health check-in with %d.%d \xc2\xb0" "C on %s",
						 (int) ev->value / 10, (int) ev->value % 10, date);
			else
				snprintf(text, len, "health check-in reporting symptoms on %s", date);
			break;
		case HC_RULE_AUDIT_FINDING:
			snprintf(text, len, "declaration contradicted by imported data (audit of %s)", date);
			break;
		case HC_RULE_TEST_OVERDUE:
			if (ev->kind == HC_EV_REGISTERED)
				snprintf(text, len, "periodic test required: no negative test since registration on %s", date);
			else
				snprintf(text, len, "periodic test required: last negative test sampled on %s", date);
			break;
		case HC_RULE_OVERRIDE:
			hc_format_time(ev->until, until);
			snprintf(text, len, "manual decision: %s from %s until %s",
					 hc_colour_name((hc_colour) ev->value), date,
					 ev->until == HC_TIME_POS_INF ? "further notice" : until);
			break;
		default:
			snprintf(text, len, "unknown rule");
			break;
	}
}

static bool
reason_json(const hc_reason *r, const hc_event *events, hc_colour colour, hc_buf *b)
{
	hc_reason_text d;

	hc_reason_describe(r, events, colour, &d);
	if (!hc_buf_printf(b, "{\"rule\": \"%s\", \"colour\": \"%s\", \"at\": \"%s\"", d.rule, d.colour, d.at))
		return false;
	if (d.place[0] != '\0' && !hc_buf_printf(b, ", \"place\": \"%s\"", d.place))
		return false;
	return hc_buf_printf(b, ", \"ref\": %lld, \"text\": \"%s\"}", (long long) d.ref, d.text);
}

static bool
reasons_json(const hc_timeline *t, const hc_segment *s, const hc_event *events, hc_buf *b)
{
	int32_t		i;

	if (!hc_buf_append(b, "[", 1))
		return false;
	for (i = 0; i < s->n_reasons; i++)
		if ((i > 0 && !hc_buf_append(b, ", ", 2)) ||
			!reason_json(&t->reasons[s->first_reason + i], events, s->colour, b))
			return false;
	return hc_buf_append(b, "]", 1);
}

bool
hc_timeline_json(const hc_timeline *t, const hc_event *events, hc_buf *current, hc_buf *next)
{
	int32_t		i;

	if (t->n_segments < 1)
		return false;
	if (!reasons_json(t, &t->segments[0], events, current) || !hc_buf_append(current, "", 1))
		return false;
	current->len--;					/* NUL-terminated, not counted */
	if (!hc_buf_append(next, "[", 1))
		return false;
	for (i = 1; i < t->n_segments; i++)
	{
		const hc_segment *s = &t->segments[i];
		char		from[HC_TIME_TEXT_LEN],
					until[HC_TIME_TEXT_LEN];

		hc_format_time(s->from, from);
		hc_format_time(s->until, until);
		if ((i > 1 && !hc_buf_append(next, ", ", 2)) ||
			!hc_buf_printf(next, "{\"from\": \"%s\", \"until\": \"%s\", \"colour\": \"%s\", "
						   "\"vaccinated\": %s, \"reasons\": ",
						   from, until, hc_colour_name(s->colour), s->vaccinated ? "true" : "false") ||
			!reasons_json(t, s, events, next) ||
			!hc_buf_append(next, "}", 1))
			return false;
	}
	if (!hc_buf_append(next, "]", 1) || !hc_buf_append(next, "", 1))
		return false;
	next->len--;
	return true;
}

/* ---- the inputs, packed for storage ----------------------------------------- */

bool
hc_event_windowed(int32_t kind)
{
	switch (kind)
	{
		case HC_EV_STAY_HIGH:
		case HC_EV_STAY_MEDIUM:
		case HC_EV_CLOSE_CONTACT:
		case HC_EV_SECONDARY_CONTACT:
		case HC_EV_DECLARED_CONTACT:
		case HC_EV_FINDING:
			return true;
		default:
			return false;
	}
}

static int
cmp_i64_field(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

/* The canonical order: by time, then every other field. */
static int
cmp_event(const void *a, const void *b)
{
	const hc_event *x = a;
	const hc_event *y = b;
	int			c;

	if ((c = cmp_i64_field(x->at, y->at)) != 0 ||
		(c = cmp_i64_field(x->kind, y->kind)) != 0 ||
		(c = cmp_i64_field(x->ref, y->ref)) != 0 ||
		(c = cmp_i64_field(x->until, y->until)) != 0 ||
		(c = cmp_i64_field(x->value, y->value)) != 0)
		return c;
	return cmp_i64_field(x->place, y->place);
}

hc_status
hc_inputs_pack(const hc_event *events, size_t n_events, hc_buf *out)
{
	hc_event   *sorted;
	size_t		i,
				n = n_events;
	uint8_t    *p;

	if (n > HC_STATUS_MAX_EVENTS)
		return HC_ERR_ARGUMENT;
	sorted = malloc((n + 1) * sizeof(hc_event));
	if (sorted == NULL)
		return HC_ERR_NOMEM;
	if (n > 0)
		memcpy(sorted, events, n * sizeof(hc_event));
	qsort(sorted, n, sizeof(hc_event), cmp_event);
	if (!hc_buf_reserve(out, HC_INPUTS_HEADER_LEN + n * HC_INPUTS_EVENT_LEN))
	{
		free(sorted);
		return HC_ERR_NOMEM;
	}
	p = (uint8_t *) out->data + out->len;
	p[0] = 'H';
	p[1] = 'I';
	p[2] = HC_INPUTS_VERSION;
	hc_put_be32(p + 3, (uint32_t) n);
	p += HC_INPUTS_HEADER_LEN;
	for (i = 0; i < n; i++, p += HC_INPUTS_EVENT_LEN)
	{
		p[0] = (uint8_t) sorted[i].kind;
		hc_put_be32(p + 1, (uint32_t) sorted[i].value);
		hc_put_be32(p + 5, (uint32_t) sorted[i].place);
		hc_put_be64(p + 9, (uint64_t) sorted[i].at);
		hc_put_be64(p + 17, (uint64_t) sorted[i].until);
		hc_put_be64(p + 25, (uint64_t) sorted[i].ref);
	}
	out->len += HC_INPUTS_HEADER_LEN + n * HC_INPUTS_EVENT_LEN;
	free(sorted);
	return HC_OK;
}

size_t
hc_inputs_keep(const hc_event *events, size_t n_events, int64_t horizon,
			   int64_t *reexamined, size_t n_reexamined, hc_event *out)
{
	size_t		i,
				n = 0;

	if (n_reexamined > 0)
		qsort(reexamined, n_reexamined, sizeof(int64_t), cmp_i64);
	for (i = 0; i < n_events; i++)
	{
		const hc_event *e = &events[i];

		if (hc_event_windowed(e->kind) && e->at < horizon)
			continue;
		if ((e->kind == HC_EV_STAY_HIGH || e->kind == HC_EV_STAY_MEDIUM) && n_reexamined > 0 &&
			bsearch(&e->ref, reexamined, n_reexamined, sizeof(int64_t), cmp_i64) != NULL)
			continue;
		out[n++] = *e;
	}
	return n;
}

hc_status
hc_inputs_unpack(const uint8_t *data, size_t len, hc_event **events, size_t *n_events,
				 char *detail, size_t detail_len)
{
	uint32_t	n;
	size_t		i;
	hc_event   *ev;

	*events = NULL;
	*n_events = 0;
	if (len < HC_INPUTS_HEADER_LEN || data[0] != 'H' || data[1] != 'I')
	{
		hc_set_detail(detail, detail_len, "Packed status inputs start with \"HI\" and a count.");
		return HC_ERR_LENGTH;
	}
	if (data[2] != HC_INPUTS_VERSION)
	{
		hc_set_detail(detail, detail_len, "Packed status inputs of version %d; this engine reads version %d.",
					  data[2], HC_INPUTS_VERSION);
		return HC_ERR_VERSION;
	}
	n = hc_get_be32(data + 3);
	if (n > HC_STATUS_MAX_EVENTS || len - HC_INPUTS_HEADER_LEN != (size_t) n * HC_INPUTS_EVENT_LEN)
	{
		hc_set_detail(detail, detail_len, "Packed status inputs of %zu bytes cannot hold the %u events they announce.",
					  len, n);
		return HC_ERR_LENGTH;
	}
	ev = malloc(((size_t) n + 1) * sizeof(hc_event));
	if (ev == NULL)
		return HC_ERR_NOMEM;
	data += HC_INPUTS_HEADER_LEN;
	for (i = 0; i < n; i++, data += HC_INPUTS_EVENT_LEN)
	{
		ev[i].kind = data[0];
		if (ev[i].kind < HC_EV_STAY_HIGH || ev[i].kind > HC_EV_KIND_MAX)
		{
			hc_set_detail(detail, detail_len, "Packed status input %zu has unknown kind %d.", i + 1, (int) ev[i].kind);
			free(ev);
			return HC_ERR_ARGUMENT;
		}
		ev[i].value = (int32_t) hc_get_be32(data + 1);
		ev[i].place = (int32_t) hc_get_be32(data + 5);
		ev[i].at = (int64_t) hc_get_be64(data + 9);
		ev[i].until = (int64_t) hc_get_be64(data + 17);
		ev[i].ref = (int64_t) hc_get_be64(data + 25);
	}
	*events = ev;
	*n_events = n;
	return HC_OK;
}
