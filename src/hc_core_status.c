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
 *
 * What each evidence kind triggers (colour, rule, window) is read from the
 * table of kinds (hc_core_status_kinds.c): the engine dispatches on a
 * kind's class, and keeps code of its own only for the classes that act
 * differently (check-ins, tests, releases, overrides, vaccinations).
 */
#include "hc_status_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- time arithmetic (hc_time_add in hc_status_internal.h) ---------------- */

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

/* The row of an event's kind (checked before the computation starts). */
static inline const hc_event_kind_info *
kind_of(const hc_event *ev)
{
	return &hc_event_kinds[ev->kind];
}

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

/* How long expiring evidence counts at t: the national version in force
 * then says (a regional version cannot widen what every region keeps). */
static int64_t
kept_at(const engine *e, int64_t t, const hc_policy *fallback)
{
	const hc_policy *best = NULL;
	size_t		i;

	for (i = 0; i < e->n_pol; i++)
	{
		const hc_policy *p = &e->pol[i];

		if (p->rank == 0 && p->valid_from <= t && t < p->valid_until &&
			(best == NULL || p->valid_from >= best->valid_from))
			best = p;
	}
	return (int64_t) (best ? best : fallback)->evidence_kept_days * HC_USECS_PER_DAY;
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

		if (kind_of(ev)->kind_class == HC_CLASS_CHECKIN)
		{
			e->days[n].day = hc_local_day(ev->at);
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
	int64_t		d = hc_local_day(start);
	size_t		i;

	for (i = 0; i < e->n_runs; i++)
	{
		int64_t		first = t_max(e->runs[i].first, d);

		if (e->runs[i].last >= first && e->runs[i].last - first + 1 >= q)
			return hc_day_start(first + q);
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
				int64_t		gap = hc_local_day(b) - hc_local_day(a);

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
		return hc_day_start(hc_local_day(t) + (p->negative_test_valid_hours + 23) / 24 + 1);
	return hc_time_add(t, (int64_t) p->negative_test_valid_hours * HC_USECS_PER_HOUR);
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
period_triggers(engine *e, const hc_policy *p, int64_t kept, int64_t pf, int64_t pu)
{
	int64_t		window = (int64_t) p->lookback_days * HC_USECS_PER_DAY;
	size_t		i;

	build_checkin_runs(e, p);

	for (i = 0; i < e->n_ev; i++)
	{
		const hc_event *ev = &e->ev[i];
		const hc_event_kind_info *k = kind_of(ev);
		hc_colour	colour;
		int64_t		end,
					release;

		switch (k->kind_class)
		{
			case HC_CLASS_TRIGGER:
				break;
			case HC_CLASS_SYMPTOM:
				if (!p->symptoms_yellow)
					continue;
				break;
			case HC_CLASS_FEVER:
				if (!p->symptoms_yellow || ev->value < p->fever_tenths)
					continue;
				break;
			case HC_CLASS_CHECKIN:
				if (!p->symptoms_yellow || !checkin_abnormal(ev, p))
					continue;
				break;
			case HC_CLASS_PURCHASE:
				/* until the first negative test sampled after it (or the
				 * window's end, or a manual release) */
				if (!p->medicine_purchase_yellow)
					continue;
				end = t_min(t_min(hc_time_add(ev->at, window), nth_negative(e, ev->at, 1)),
							manual_release_after(e, ev->at));
				if (k->expires)
					end = t_min(end, hc_time_add(ev->at, kept));
				add_ivl(e, t_max(ev->at, pf), t_min(end, pu), IVL_TRIGGER, (hc_colour) k->colour, k->rule,
						(int32_t) i);
				continue;
			case HC_CLASS_PUSHED:
				/* the pushing region decides how long: only a manual
				 * release here ends it sooner */
				add_ivl(e, t_max(ev->at, pf),
						t_min(t_min(ev->until, manual_release_after(e, ev->at)), pu),
						IVL_TRIGGER, (hc_colour) k->colour, k->rule, (int32_t) i);
				continue;
			default:
				continue;
		}

		colour = (hc_colour) k->colour;
		end = k->windowed ? hc_time_add(ev->at, window) : HC_TIME_POS_INF;
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
		if (k->expires)
			end = t_min(end, hc_time_add(ev->at, kept));
		add_ivl(e, t_max(ev->at, pf), t_min(end, pu), IVL_TRIGGER, colour, k->rule, (int32_t) i);
	}

	/* The periodic-test requirement: overdue between a test's validity end
	 * and the next test; the grace period after registration counts like a
	 * test taken at registration. A test stands for the last one for as
	 * long as it is kept (kept after it): after that, until the next, the
	 * registration does again, as if the test had never been. */
	if (p->periodic_testing)
	{
		int64_t		registered = HC_TIME_POS_INF;
		int32_t		reg_idx = -1;
		size_t		k;

		for (i = 0; i < e->n_ev; i++)
			if (kind_of(&e->ev[i])->kind_class == HC_CLASS_REGISTERED && e->ev[i].at < registered)
				registered = e->ev[i].at, reg_idx = (int32_t) i;
		if (reg_idx >= 0)
		{
			const hc_event_kind_info *kr = kind_of(&e->ev[reg_idx]);
			int64_t		due = negative_valid_end(registered, p);
			int64_t		next = e->n_negatives > 0 ? e->negatives[0] : HC_TIME_POS_INF;

			add_ivl(e, t_max(due, pf), t_min(next, pu), IVL_TRIGGER, (hc_colour) kr->colour,
					kr->rule, reg_idx);
			for (k = 0; k < e->n_negatives; k++)
			{
				int64_t		gone = hc_time_add(e->negatives[k], kept);

				next = k + 1 < e->n_negatives ? e->negatives[k + 1] : HC_TIME_POS_INF;
				add_ivl(e, t_max(t_max(due, gone), pf), t_min(next, pu), IVL_TRIGGER,
						(hc_colour) kr->colour, kr->rule, reg_idx);
			}
		}
		for (k = 0; k < e->n_negatives; k++)
		{
			const hc_event_kind_info *kn = kind_of(&e->ev[e->negative_idx[k]]);
			int64_t		due = negative_valid_end(e->negatives[k], p);
			int64_t		next = k + 1 < e->n_negatives ? e->negatives[k + 1] : HC_TIME_POS_INF;

			next = t_min(next, hc_time_add(e->negatives[k], kept));
			add_ivl(e, t_max(due, pf), t_min(next, pu), IVL_TRIGGER, (hc_colour) kn->colour,
					kn->rule, e->negative_idx[k]);
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
					if (kind_of(&e->ev[i])->kind_class == HC_CLASS_VACCINATION && e->ev[i].value == dose)
						first = t_min(first, e->ev[i].at);
				if (first != HC_TIME_POS_INF)
					firsts[n_firsts++] = first;
			}
			if ((size_t) k <= n_firsts)
			{
				qsort(firsts, n_firsts, sizeof(int64_t), hc_cmp_i64);
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
	int64_t		place;
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

			/*
			 * the later decision wins: the later start, then the later
			 * recorded (place: the order of recording; source rows' ids
			 * are opaque and tell no order), then the source row
			 */
			if (b == NULL || a->at > b->at
				|| (a->at == b->at && (a->place > b->place || (a->place == b->place && a->ref > b->ref))))
				override = v;
		}
		else if (v->colour > top)
			top = v->colour;
	}
	if (override)
	{
		*colour = override->colour;
		keys[0].rule = override->rule;
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
	const hc_event_kind_info *k = hc_event_kind_get(ev->kind);

	if (k == NULL)
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
	switch (k->value)
	{
		case HC_VALUE_DOSE:
			if (ev->value < 1 || ev->value > 10)
			{
				hc_set_detail(detail, detail_len, "Vaccination %zu has dose number %d, not 1-10.",
						   i + 1, (int) ev->value);
				return false;
			}
			break;
		case HC_VALUE_TENTHS:
			if (ev->value < 0 || ev->value > 1000)
			{
				hc_set_detail(detail, detail_len, "Event %zu has temperature %d tenths.",
						   i + 1, (int) ev->value);
				return false;
			}
			break;
		case HC_VALUE_MEDICINE:
			if (ev->value < HC_MEDICINE_ANTIPYRETIC || ev->value > HC_MEDICINE_MAX)
			{
				hc_set_detail(detail, detail_len, "Purchase %zu has medicine %d, not 1-%d.",
							  i + 1, (int) ev->value, (int) HC_MEDICINE_MAX);
				return false;
			}
			break;
		case HC_VALUE_COLOUR:	/* with the override's end, below */
		case HC_VALUE_NONE:
			break;
	}
	switch (k->kind_class)
	{
		case HC_CLASS_PUSHED:
			if (ev->until <= ev->at)
			{
				hc_set_detail(detail, detail_len, "Pushed red %zu needs an end after its start.", i + 1);
				return false;
			}
			break;
		case HC_CLASS_OVERRIDE:
			if (ev->value < HC_GREEN || ev->value > HC_RED || ev->until <= ev->at)
			{
				hc_set_detail(detail, detail_len,
						   "Override %zu needs a colour 0-2 and an end after its start.", i + 1);
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
		hc_kind_class cls = kind_of(&events[i])->kind_class;

		if (cls == HC_CLASS_NEGATIVE_TEST)
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
		else if (cls == HC_CLASS_RELEASE)
			e.releases[e.n_releases++] = events[i].at;
	}
	qsort(e.releases, e.n_releases, sizeof(int64_t), hc_cmp_i64);

	/* policy periods from `from` on: a version starts or ends only at these */
	bounds[n_bounds++] = from;
	for (i = 0; i < n_policies; i++)
	{
		if (policies[i].valid_from > from && policies[i].valid_from != HC_TIME_POS_INF)
			bounds[n_bounds++] = policies[i].valid_from;
		if (policies[i].valid_until > from && policies[i].valid_until != HC_TIME_POS_INF)
			bounds[n_bounds++] = policies[i].valid_until;
	}
	qsort(bounds, n_bounds, sizeof(int64_t), hc_cmp_i64);
	for (i = 0; i < n_bounds; i++)
	{
		int64_t		pf = bounds[i];
		int64_t		pu = HC_TIME_POS_INF;
		size_t		j = i;

		while (j + 1 < n_bounds && bounds[j + 1] == pf)
			j++;
		if (j + 1 < n_bounds)
			pu = bounds[j + 1];
		period_triggers(&e, policy_at(&e, pf, &fallback), kept_at(&e, pf, &fallback), pf, pu);
		i = j;
	}

	/* overrides do not depend on policy */
	for (i = 0; i < n_events; i++)
		if (kind_of(&events[i])->kind_class == HC_CLASS_OVERRIDE)
			add_ivl(&e, events[i].at, events[i].until, IVL_OVERRIDE,
					(hc_colour) events[i].value, kind_of(&events[i])->rule, (int32_t) i);
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
