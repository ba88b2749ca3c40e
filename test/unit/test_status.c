/*
 * test_status.c — unit tests of the status engine (src/hc_status.h): each
 * rule of DESIGN.md "Status rules", policy versions, overrides, releases,
 * the vaccinated mark, input validation, order independence, and the
 * property the database relies on: a timeline computed earlier agrees with
 * one computed later at every later instant.
 */
#include "hc_status.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR HC_USECS_PER_HOUR
#define DAY  HC_USECS_PER_DAY

/* Days from 2000-01-01 to y-m-d (H. Hinnant's days_from_civil, shifted). */
static int64_t
days_from_2000(int y, unsigned m, unsigned d)
{
	int			era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t) era * 146097 + (int64_t) doe - 719468 - 10957;
}

/* A China Standard Time instant. */
static int64_t
T(int y, unsigned m, unsigned d, unsigned h)
{
	return days_from_2000(y, m, d) * DAY + (int64_t) h * HOUR - HC_LOCAL_OFFSET;
}

static hc_event
ev(int kind, int64_t at)
{
	hc_event	e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.at = at;
	e.place = -1;
	e.ref = 0;
	return e;
}

static hc_event
stay(int kind, int place, int64_t at)
{
	hc_event	e = ev(kind, at);

	e.place = place;
	return e;
}

static hc_event
with_value(hc_event e, int value)
{
	e.value = value;
	return e;
}

typedef struct result
{
	hc_timeline tl;
	hc_status	st;
	char		detail[HC_DETAIL_LEN];
} result;

static result
compute(const hc_event *evs, size_t n, const hc_policy *pol, size_t np, int64_t from)
{
	result		r;

	r.detail[0] = '\0';
	r.st = hc_status_compute(evs, n, pol, np, from, &r.tl, r.detail, sizeof(r.detail));
	return r;
}

static const hc_segment *
segment_at(const hc_timeline *tl, int64_t t)
{
	int32_t		i;

	for (i = 0; i < tl->n_segments; i++)
		if (tl->segments[i].from <= t && t < tl->segments[i].until)
			return &tl->segments[i];
	return NULL;
}

static int
colour_at(const hc_timeline *tl, int64_t t)
{
	const hc_segment *s = segment_at(tl, t);

	return s ? (int) s->colour : -1;
}

/* The rule of the first reason at t, or 0. */
static int
rule_at(const hc_timeline *tl, int64_t t)
{
	const hc_segment *s = segment_at(tl, t);

	return s && s->n_reasons > 0 ? (int) tl->reasons[s->first_reason].rule : 0;
}

/* When the colour at t ends (the start of the next different colour). */
static int64_t
colour_until(const hc_timeline *tl, int64_t t)
{
	const hc_segment *s = segment_at(tl, t);
	int32_t		i;

	if (s == NULL)
		return -1;
	for (i = (int32_t) (s - tl->segments); i < tl->n_segments; i++)
		if (tl->segments[i].colour != s->colour)
			return tl->segments[i].from;
	return HC_TIME_POS_INF;
}

static hc_policy
defaults(void)
{
	hc_policy	p;

	hc_policy_default(&p);
	return p;
}

static void
test_basic_rules(void)
{
	hc_policy	p = defaults();
	int64_t		now = T(2022, 4, 5, 12);
	hc_event	e[32];
	result		r;
	char		t[HC_TIME_TEXT_LEN];

	r = compute(NULL, 0, &p, 1, now);
	CHECK(r.st == HC_OK && r.tl.n_segments == 1 && r.tl.segments[0].colour == HC_GREEN &&
		  r.tl.segments[0].from == now && r.tl.segments[0].until == HC_TIME_POS_INF &&
		  r.tl.segments[0].n_reasons == 0,
		  "no evidence: green from now on, no reasons");
	hc_timeline_free(&r.tl);

	e[0] = stay(HC_EV_STAY_HIGH, 330106, T(2022, 4, 2, 10));
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_RED && rule_at(&r.tl, now) == HC_RULE_STAY_HIGH,
		  "a high-risk stay 3 days ago makes red, reason stay_high_risk");
	CHECK(colour_until(&r.tl, now) == T(2022, 4, 16, 10) && colour_at(&r.tl, T(2022, 4, 16, 10)) == HC_GREEN,
		  "the red ends when the stay leaves the 14-day window, green after");
	{
		hc_reason_text d;

		hc_reason_describe(&r.tl.reasons[segment_at(&r.tl, now)->first_reason], e, HC_RED, &d);
		CHECK(strcmp(d.text, "stayed in 330106 (high risk) on 2022-04-02") == 0 &&
			  strcmp(d.at, "2022-04-02T10:00:00+08:00") == 0 && strcmp(d.rule, "stay_high_risk") == 0 &&
			  strcmp(d.colour, "red") == 0 && strcmp(d.place, "330106") == 0,
			  "its reason: the sentence, the time, the rule, the colour and the place (%s)", d.text);
	}
	hc_timeline_free(&r.tl);

	e[0] = stay(HC_EV_STAY_HIGH, 330106, T(2022, 3, 20, 10));
	r = compute(e, 1, &p, 1, now);
	CHECK(r.tl.n_segments == 1 && colour_at(&r.tl, now) == HC_GREEN,
		  "a high-risk stay 16 days ago no longer counts");
	hc_timeline_free(&r.tl);

	e[0] = stay(HC_EV_STAY_MEDIUM, 330106, T(2022, 4, 2, 10));
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && rule_at(&r.tl, now) == HC_RULE_STAY_MEDIUM &&
		  colour_until(&r.tl, now) == T(2022, 4, 16, 10),
		  "a medium-risk stay: yellow until its window ends, with no new data");
	hc_timeline_free(&r.tl);

	e[0] = ev(HC_EV_POSITIVE_TEST, T(2022, 4, 1, 9));
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_RED && colour_until(&r.tl, now) == T(2022, 4, 1, 9) + 90 * HC_USECS_PER_DAY &&
		  rule_at(&r.tl, now) == HC_RULE_POSITIVE_TEST,
		  "a positive test: red until released, or until the national retention (90 days) ends it");
	hc_timeline_free(&r.tl);

	e[0] = ev(HC_EV_CLOSE_CONTACT, T(2022, 4, 4, 9));
	e[1] = ev(HC_EV_SECONDARY_CONTACT, T(2022, 4, 4, 9));
	r = compute(e, 2, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_RED && rule_at(&r.tl, now) == HC_RULE_CLOSE_CONTACT &&
		  r.tl.segments[0].n_reasons == 1,
		  "close contact is red; a yellow trigger at the same time is not a reason of the red");
	hc_timeline_free(&r.tl);

	r = compute(e + 1, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && rule_at(&r.tl, now) == HC_RULE_SECONDARY_CONTACT,
		  "secondary contact is yellow");
	hc_timeline_free(&r.tl);

	e[0] = ev(HC_EV_SYMPTOMS, T(2022, 4, 5, 8));
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && colour_until(&r.tl, now) == T(2022, 4, 5, 8) + 90 * HC_USECS_PER_DAY,
		  "declared symptoms: yellow until released (or kept no more)");
	hc_timeline_free(&r.tl);
	p.symptoms_yellow = false;
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_GREEN, "symptoms_yellow = false: symptoms give no colour");
	hc_timeline_free(&r.tl);
	p = defaults();

	e[0] = with_value(ev(HC_EV_TEMPERATURE, T(2022, 4, 5, 8)), 375);
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && rule_at(&r.tl, now) == HC_RULE_FEVER,
		  "37.5 degrees is fever under the default 37.3 threshold");
	hc_timeline_free(&r.tl);
	p.fever_tenths = 380;
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_GREEN, "37.5 degrees is no fever under a 38.0 threshold");
	hc_timeline_free(&r.tl);
	p = defaults();

	/* a pharmacy's registration of a sale (药品登记): off by default */
	e[0] = with_value(stay(HC_EV_MEDICINE_PURCHASE, 330106001, T(2022, 4, 4, 18)), HC_MEDICINE_ANTIPYRETIC);
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_GREEN, "a purchase of antipyretics: no colour under the default policy");
	hc_timeline_free(&r.tl);
	p.medicine_purchase_yellow = true;
	r = compute(e, 1, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && rule_at(&r.tl, now) == HC_RULE_MEDICINE_PURCHASE &&
		  colour_until(&r.tl, now) == T(2022, 4, 18, 18),
		  "medicine_purchase_yellow: yellow from the purchase until the window ends, no test taken");
	{
		hc_reason_text d;

		hc_reason_describe(&r.tl.reasons[segment_at(&r.tl, now)->first_reason], e, HC_YELLOW, &d);
		CHECK(strcmp(d.text, "bought antipyretics at a pharmacy in 330106001 on 2022-04-04") == 0 &&
			  strcmp(d.place, "330106001") == 0,
			  "its reason names the medicine, the pharmacy's place and the day (%s)", d.text);
	}
	hc_timeline_free(&r.tl);
	e[1] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 4, 9));
	e[2] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 5, 10));
	r = compute(e, 3, &p, 1, T(2022, 4, 5, 9));
	CHECK(colour_at(&r.tl, T(2022, 4, 5, 9)) == HC_YELLOW && colour_until(&r.tl, T(2022, 4, 5, 9)) == T(2022, 4, 5, 10) &&
		  colour_at(&r.tl, now) == HC_GREEN,
		  "a negative test sampled after the purchase releases it; one sampled before does not");
	hc_timeline_free(&r.tl);
	e[0].value = HC_MEDICINE_MAX + 1;
	r = compute(e, 1, &p, 1, now);
	CHECK(r.st != HC_OK, "a purchase of no known medicine is refused");
	hc_timeline_free(&r.tl);
	p = defaults();

	e[0] = ev(HC_EV_FINDING, T(2022, 4, 5, 8));
	e[1] = ev(HC_EV_DECLARED_CONTACT, T(2022, 4, 5, 8));
	r = compute(e, 2, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && r.tl.segments[0].n_reasons == 2,
		  "an audit finding and a declared contact are yellow, both listed");
	hc_timeline_free(&r.tl);

	hc_format_time(T(2022, 4, 2, 10), t);
	CHECK(strcmp(t, "2022-04-02T10:00:00+08:00") == 0, "times are written in China Standard Time (%s)", t);
	hc_format_time(T(1999, 12, 31, 23) + 1, t);
	CHECK(strcmp(t, "1999-12-31T23:00:00.000001+08:00") == 0, "before 2000 and with microseconds (%s)", t);
	hc_format_time(T(2022, 4, 2, 10) + 45 * HC_USECS_PER_SEC + 120, t);
	CHECK(strcmp(t, "2022-04-02T10:00:45.000120+08:00") == 0, "seconds, and microseconds with leading zeros (%s)", t);
	hc_format_time(T(999, 1, 1, 0) + 59 * 60 * HC_USECS_PER_SEC, t);
	CHECK(strcmp(t, "0999-01-01T00:59:00+08:00") == 0, "a year of three digits is written with four (%s)", t);
	hc_format_time(T(10000, 1, 1, 0), t);
	CHECK(strcmp(t, "10000-01-01T00:00:00+08:00") == 0, "a year of five digits is written whole (%s)", t);
	hc_format_time(HC_TIME_POS_INF, t);
	CHECK(strcmp(t, "infinity") == 0, "the end of time is infinity (%s)", t);
}

static void
test_releases(void)
{
	hc_policy	p = defaults();
	int64_t		now = T(2022, 4, 5, 12);
	hc_event	e[40];
	size_t		n = 0;
	int			d;
	result		r;

	/* medium-risk stay on 04-02, check-ins 04-02 .. 04-08 */
	e[n++] = stay(HC_EV_STAY_MEDIUM, 330106, T(2022, 4, 2, 10));
	for (d = 2; d <= 8; d++)
		e[n++] = with_value(ev(HC_EV_CHECKIN, T(2022, 4, (unsigned) d, 9)), 365);
	r = compute(e, n, &p, 1, now);
	CHECK(colour_until(&r.tl, now) == T(2022, 4, 9, 0),
		  "7 consecutive normal check-ins from the stay's day release yellow at the next midnight");
	hc_timeline_free(&r.tl);

	e[4] = with_value(ev(HC_EV_CHECKIN, T(2022, 4, 4, 9)), 381);
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && colour_until(&r.tl, now) == T(2022, 4, 4, 9) + 90 * HC_USECS_PER_DAY &&
		  rule_at(&r.tl, T(2022, 4, 17, 0)) == HC_RULE_ABNORMAL_CHECKIN,
		  "a fever check-in breaks the run and is a yellow of its own, outlasting the stay's window");
	hc_timeline_free(&r.tl);

	/* two negatives 30 h apart after the stay release yellow at once */
	n = 0;
	e[n++] = stay(HC_EV_STAY_MEDIUM, 330106, T(2022, 4, 2, 10));
	e[n++] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 3, 8));
	e[n++] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 4, 14));
	r = compute(e, n, &p, 1, T(2022, 4, 3, 0));
	CHECK(colour_until(&r.tl, T(2022, 4, 3, 0)) == T(2022, 4, 4, 14),
		  "two negatives 30 h apart release yellow at the second");
	hc_timeline_free(&r.tl);
	e[2].at = T(2022, 4, 3, 20);
	r = compute(e, n, &p, 1, T(2022, 4, 3, 0));
	CHECK(colour_until(&r.tl, T(2022, 4, 3, 0)) == T(2022, 4, 16, 10),
		  "negatives 12 h apart do not");
	p.calendar_days = true;
	hc_timeline_free(&r.tl);
	e[2].at = T(2022, 4, 4, 1);
	r = compute(e, n, &p, 1, T(2022, 4, 3, 0));
	CHECK(colour_until(&r.tl, T(2022, 4, 3, 0)) == T(2022, 4, 4, 1),
		  "calendar mode: negatives on consecutive days release yellow (17 h apart)");
	hc_timeline_free(&r.tl);
	p = defaults();
	p.two_negatives_release_yellow = false;
	e[2].at = T(2022, 4, 4, 14);
	r = compute(e, n, &p, 1, T(2022, 4, 3, 0));
	CHECK(colour_until(&r.tl, T(2022, 4, 3, 0)) == T(2022, 4, 16, 10),
		  "two_negatives_release_yellow = false: the tests do not release");
	hc_timeline_free(&r.tl);
	p = defaults();

	/* positive on 04-01: 14 check-ins 04-01..04-14, negatives 04-10 and 04-12 */
	n = 0;
	e[n++] = ev(HC_EV_POSITIVE_TEST, T(2022, 4, 1, 9));
	for (d = 1; d <= 14; d++)
		e[n++] = ev(HC_EV_CHECKIN, T(2022, 4, (unsigned) d, 9));
	r = compute(e, n, &p, 1, now);
	CHECK(colour_until(&r.tl, now) == T(2022, 4, 1, 9) + 90 * HC_USECS_PER_DAY,
		  "check-ins alone do not release red when the policy asks for 2 negative tests");
	hc_timeline_free(&r.tl);
	e[n++] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 10, 9));
	e[n++] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 10, 20));
	r = compute(e, n, &p, 1, now);
	CHECK(colour_until(&r.tl, now) == T(2022, 4, 1, 9) + 90 * HC_USECS_PER_DAY, "two negatives 11 h apart count as one");
	hc_timeline_free(&r.tl);
	e[n - 1].at = T(2022, 4, 12, 9);
	r = compute(e, n, &p, 1, now);
	CHECK(colour_until(&r.tl, now) == T(2022, 4, 15, 0),
		  "14 check-ins and 2 negatives 48 h apart release red after the last check-in day");
	hc_timeline_free(&r.tl);
	p.red_release_negative_tests = 0;
	r = compute(e, n - 2, &p, 1, now);
	CHECK(colour_until(&r.tl, now) == T(2022, 4, 15, 0),
		  "red_release_negative_tests = 0: the check-ins alone release red");
	hc_timeline_free(&r.tl);
	p = defaults();

	/* manual release ends what started before it, not what comes after */
	n = 0;
	e[n++] = ev(HC_EV_POSITIVE_TEST, T(2022, 4, 1, 9));
	e[n++] = ev(HC_EV_RELEASE, T(2022, 4, 6, 9));
	e[n++] = stay(HC_EV_STAY_MEDIUM, 330106, T(2022, 4, 7, 9));
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_RED && colour_until(&r.tl, now) == T(2022, 4, 6, 9) &&
		  colour_at(&r.tl, T(2022, 4, 6, 12)) == HC_GREEN &&
		  colour_at(&r.tl, T(2022, 4, 7, 10)) == HC_YELLOW,
		  "a medical release ends the red at its time; a later stay still counts");
	hc_timeline_free(&r.tl);

	/* a red pushed by another region lasts as long as that region says */
	n = 0;
	e[n] = ev(HC_EV_PUSHED_RED, T(2022, 4, 4, 9));
	e[n++].until = T(2022, 4, 9, 0);
	for (d = 4; d <= 8; d++)
		e[n++] = ev(HC_EV_CHECKIN, T(2022, 4, (unsigned) d, 9));
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_RED && rule_at(&r.tl, now) == HC_RULE_PUSHED_RED &&
		  colour_until(&r.tl, now) == T(2022, 4, 9, 0),
		  "a pushed red lasts until the pushing region's end, whatever the local check-ins");
	hc_timeline_free(&r.tl);
	e[n++] = ev(HC_EV_RELEASE, T(2022, 4, 6, 9));
	r = compute(e, n, &p, 1, now);
	CHECK(colour_until(&r.tl, now) == T(2022, 4, 6, 9), "a local manual release ends a pushed red");
	hc_timeline_free(&r.tl);

	/* a yellow another region's system shares: yellow over its span, under
	 * a red of its own */
	n = 0;
	e[n] = ev(HC_EV_PUSHED_YELLOW, T(2022, 4, 4, 9));
	e[n++].until = T(2022, 4, 9, 0);
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && rule_at(&r.tl, now) == HC_RULE_PUSHED_YELLOW &&
		  colour_until(&r.tl, now) == T(2022, 4, 9, 0) && colour_at(&r.tl, T(2022, 4, 9, 1)) == HC_GREEN,
		  "a shared yellow lasts until the sharing region's end, then green");
	hc_timeline_free(&r.tl);
	e[n++] = ev(HC_EV_POSITIVE_TEST, T(2022, 4, 5, 9));
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_RED && rule_at(&r.tl, now) == HC_RULE_POSITIVE_TEST,
		  "a positive test under a shared yellow is red");
	hc_timeline_free(&r.tl);

	/* overrides */
	n = 0;
	e[n++] = ev(HC_EV_POSITIVE_TEST, T(2022, 4, 1, 9));
	e[n] = with_value(ev(HC_EV_OVERRIDE, T(2022, 4, 5, 0)), HC_GREEN);
	e[n++].until = T(2022, 4, 8, 0);
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_GREEN && rule_at(&r.tl, now) == HC_RULE_OVERRIDE &&
		  colour_at(&r.tl, T(2022, 4, 8, 0)) == HC_RED,
		  "a green override wins while it lasts; the red comes back after it");
	hc_timeline_free(&r.tl);
	e[n] = with_value(ev(HC_EV_OVERRIDE, T(2022, 4, 5, 6)), HC_YELLOW);
	e[n++].until = HC_TIME_POS_INF;
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && colour_until(&r.tl, now) == HC_TIME_POS_INF,
		  "of overlapping overrides the later decision wins, open-ended");
	hc_timeline_free(&r.tl);
	/* two starting at once: the later recorded (place) wins, whatever the
	 * source rows' (opaque) ids */
	n = 0;
	e[n] = with_value(ev(HC_EV_OVERRIDE, T(2022, 4, 5, 0)), HC_RED);
	e[n].until = HC_TIME_POS_INF;
	e[n].place = 2;
	e[n++].ref = 100;
	e[n] = with_value(ev(HC_EV_OVERRIDE, T(2022, 4, 5, 0)), HC_GREEN);
	e[n].until = HC_TIME_POS_INF;
	e[n].place = 1;
	e[n++].ref = 900;
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_RED,
		  "of two overrides starting at once the later recorded wins, though its source row's id is smaller");
	hc_timeline_free(&r.tl);
	e[0].place = 0;
	r = compute(e, n, &p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_GREEN, "and the other way round");
	hc_timeline_free(&r.tl);
}

static void
test_policies(void)
{
	hc_policy	p[3];
	int64_t		now = T(2022, 4, 5, 12);
	hc_event	e[8];
	result		r;

	/* a national version from tomorrow with a 7-day lookback */
	p[0] = defaults();
	p[0].valid_until = T(2022, 4, 6, 0);
	p[1] = defaults();
	p[1].valid_from = T(2022, 4, 6, 0);
	p[1].lookback_days = 7;
	e[0] = stay(HC_EV_STAY_HIGH, 330106, T(2022, 3, 28, 10));
	r = compute(e, 1, p, 2, now);
	CHECK(colour_at(&r.tl, now) == HC_RED && colour_until(&r.tl, now) == T(2022, 4, 6, 0),
		  "a policy effective tomorrow changes the colour tomorrow, not today");
	hc_timeline_free(&r.tl);

	/* a city version beats the national one while both are in force */
	p[0] = defaults();
	p[1] = defaults();
	p[1].rank = 2;
	p[1].lookback_days = 3;
	r = compute(e, 1, p, 2, now);
	CHECK(colour_at(&r.tl, now) == HC_GREEN, "the more specific region's policy wins");
	hc_timeline_free(&r.tl);
	p[1].valid_until = T(2022, 4, 1, 0);
	r = compute(e, 1, p, 2, now);
	CHECK(colour_at(&r.tl, now) == HC_RED, "an expired city version gives way to the national one");
	hc_timeline_free(&r.tl);

	/* no version at all: built-in defaults */
	r = compute(e, 1, NULL, 0, now);
	CHECK(colour_at(&r.tl, now) == HC_RED, "without any policy the defaults apply");
	hc_timeline_free(&r.tl);

	/* vaccinated mark */
	e[0] = with_value(ev(HC_EV_VACCINATION, T(2021, 5, 1, 9)), 1);
	e[1] = with_value(ev(HC_EV_VACCINATION, T(2021, 6, 1, 9)), 2);
	p[0] = defaults();
	r = compute(e, 2, p, 1, now);
	CHECK(r.tl.segments[0].vaccinated, "two doses: vaccinated");
	hc_timeline_free(&r.tl);
	p[0].vaccinated_min_doses = 3;
	r = compute(e, 2, p, 1, now);
	CHECK(!r.tl.segments[0].vaccinated, "two doses under a three-dose policy: not vaccinated");
	hc_timeline_free(&r.tl);
	e[1].value = 1;
	p[0] = defaults();
	r = compute(e, 2, p, 1, now);
	CHECK(!r.tl.segments[0].vaccinated, "the same dose number twice counts once");
	hc_timeline_free(&r.tl);

	/* periodic testing */
	p[0] = defaults();
	p[0].periodic_testing = true;
	e[0] = ev(HC_EV_REGISTERED, T(2022, 4, 1, 9));
	r = compute(e, 1, p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_YELLOW && rule_at(&r.tl, now) == HC_RULE_TEST_OVERDUE,
		  "periodic testing, no test 4 days after registration: yellow");
	hc_timeline_free(&r.tl);
	e[1] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 5, 8));
	r = compute(e, 2, p, 1, now);
	CHECK(colour_at(&r.tl, now) == HC_GREEN && colour_until(&r.tl, now) == T(2022, 4, 7, 8),
		  "a negative test makes green for 48 hours, then the test is overdue");
	hc_timeline_free(&r.tl);
	p[0].calendar_days = true;
	r = compute(e, 2, p, 1, now);
	CHECK(colour_until(&r.tl, now) == T(2022, 4, 8, 0),
		  "calendar mode: a 48-hour test counts through the end of the second day after");
	hc_timeline_free(&r.tl);
	/* kept 3 days: overdue since the test, then since the registration */
	p[0].calendar_days = false;
	p[0].evidence_kept_days = 3;
	e[1].ref = 41;
	r = compute(e, 2, p, 1, now);
	{
		const hc_segment *a = segment_at(&r.tl, T(2022, 4, 7, 9));
		const hc_segment *b = segment_at(&r.tl, T(2022, 4, 8, 9));

		CHECK(a && b && a->colour == HC_YELLOW && b->colour == HC_YELLOW && a->until == T(2022, 4, 8, 8) &&
			  e[r.tl.reasons[a->first_reason].event].ref == 41 &&
			  e[r.tl.reasons[b->first_reason].event].kind == HC_EV_REGISTERED,
			  "periodic testing, a test kept no more: overdue still, the reason the registration again");
	}
	hc_timeline_free(&r.tl);
}

static void
test_reasons_and_json(void)
{
	hc_policy	p = defaults();
	int64_t		now = T(2022, 4, 5, 12);
	hc_event	e[4];
	result		r;
	hc_buf		cur = {0},
				next = {0};

	e[0] = stay(HC_EV_STAY_HIGH, 330106, T(2022, 4, 2, 10));
	e[1] = stay(HC_EV_STAY_HIGH, 330106, T(2022, 4, 3, 10));
	e[2] = stay(HC_EV_STAY_HIGH, 330102, T(2022, 4, 1, 10));
	e[0].ref = 11, e[1].ref = 12, e[2].ref = 13;
	r = compute(e, 3, &p, 1, now);
	CHECK(r.tl.segments[0].n_reasons == 2,
		  "one reason per rule and place: two places, two reasons");
	CHECK(hc_timeline_json(&r.tl, e, &cur, &next), "the timeline writes as JSON");
	CHECK(cur.data && strstr(cur.data, "\"text\": \"stayed in 330106 (high risk) on 2022-04-03\"") &&
		  strstr(cur.data, "\"ref\": 12") && !strstr(cur.data, "\"ref\": 11"),
		  "the reason at a place is its latest stay, with a human text");
	if (cur.data)
		DIAG("current: %s", cur.data);
	CHECK(next.data && strstr(next.data, "\"from\": \"2022-04-15T10:00:00+08:00\"") &&
		  strstr(next.data, "\"colour\": \"red\"") && strstr(next.data, "\"colour\": \"green\""),
		  "the later segments carry their start, colour and reasons");
	if (next.data)
		DIAG("next: %s", next.data);
	hc_buf_free(&cur);
	hc_buf_free(&next);
	hc_timeline_free(&r.tl);
}

static void
test_invalid_input(void)
{
	hc_policy	p = defaults();
	hc_event	e[2];
	result		r;

	e[0] = ev(99, T(2022, 4, 2, 10));
	r = compute(e, 1, &p, 1, T(2022, 4, 5, 0));
	CHECK(r.st == HC_ERR_ARGUMENT && strstr(r.detail, "unknown kind"), "an unknown event kind is refused");
	e[0] = ev(HC_EV_STAY_HIGH, HC_TIME_POS_INF);
	r = compute(e, 1, &p, 1, T(2022, 4, 5, 0));
	CHECK(r.st == HC_ERR_ARGUMENT, "an infinite event time is refused");
	e[0] = with_value(ev(HC_EV_OVERRIDE, T(2022, 4, 2, 10)), 1);
	e[0].until = e[0].at;
	r = compute(e, 1, &p, 1, T(2022, 4, 5, 0));
	CHECK(r.st == HC_ERR_ARGUMENT, "an override ending at its start is refused");
	e[0] = with_value(ev(HC_EV_VACCINATION, T(2022, 4, 2, 10)), 0);
	r = compute(e, 1, &p, 1, T(2022, 4, 5, 0));
	CHECK(r.st == HC_ERR_ARGUMENT && strstr(r.detail, "dose"), "dose 0 is refused");
	p.lookback_days = 0;
	r = compute(NULL, 0, &p, 1, T(2022, 4, 5, 0));
	CHECK(r.st == HC_ERR_ARGUMENT && strstr(r.detail, "lookback_days"),
		  "a policy with lookback_days 0 is refused, naming the field (%s)", r.detail);
	p = defaults();
	r = compute(NULL, 0, &p, 1, HC_TIME_NEG_INF);
	CHECK(r.st == HC_ERR_ARGUMENT, "an infinite start is refused");
}

/* ---- properties over random evidence ------------------------------------ */

static uint64_t prng = UINT64_C(0x2545F4914F6CDD1D);

static uint32_t
rnd(uint32_t n)
{
	prng ^= prng >> 12;
	prng ^= prng << 25;
	prng ^= prng >> 27;
	return (uint32_t) (((prng * UINT64_C(0x2545F4914F6CDD1D)) >> 33) % n);
}

static void
random_events(hc_event *e, size_t n, int64_t base)
{
	static const int kinds[] = {
		HC_EV_STAY_HIGH, HC_EV_STAY_MEDIUM, HC_EV_CLOSE_CONTACT, HC_EV_SECONDARY_CONTACT,
		HC_EV_DECLARED_CONTACT, HC_EV_POSITIVE_TEST, HC_EV_NEGATIVE_TEST, HC_EV_NEGATIVE_TEST,
		HC_EV_SYMPTOMS, HC_EV_TEMPERATURE, HC_EV_CHECKIN, HC_EV_CHECKIN, HC_EV_CHECKIN,
		HC_EV_CHECKIN_SYMPTOMS, HC_EV_FINDING, HC_EV_OVERRIDE, HC_EV_RELEASE,
		HC_EV_VACCINATION, HC_EV_PUSHED_RED, HC_EV_REGISTERED, HC_EV_PUSHED_YELLOW
	};
	size_t		i;

	for (i = 0; i < n; i++)
	{
		int			k = kinds[rnd(sizeof(kinds) / sizeof(kinds[0]))];

		e[i] = ev(k, base + (int64_t) rnd(40 * 24) * HOUR);
		e[i].ref = (int64_t) i + 1;
		e[i].place = k == HC_EV_STAY_HIGH || k == HC_EV_STAY_MEDIUM ? 330100 + (int) rnd(3) : -1;
		if (k == HC_EV_TEMPERATURE || k == HC_EV_CHECKIN)
			e[i].value = 360 + (int) rnd(25);
		if (k == HC_EV_VACCINATION)
			e[i].value = 1 + (int) rnd(3);
		if (k == HC_EV_PUSHED_RED || k == HC_EV_PUSHED_YELLOW)
			e[i].until = rnd(3) == 0 ? HC_TIME_POS_INF : e[i].at + (int64_t) (1 + rnd(10 * 24)) * HOUR;
		if (k == HC_EV_OVERRIDE)
		{
			e[i].value = (int) rnd(3);
			e[i].until = rnd(4) == 0 ? HC_TIME_POS_INF : e[i].at + (int64_t) (1 + rnd(10 * 24)) * HOUR;
		}
	}
}

static void
random_policies(hc_policy *p, size_t n, int64_t base)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		p[i] = defaults();
		p[i].rank = (int) rnd(4);
		p[i].valid_from = rnd(3) == 0 ? HC_TIME_NEG_INF : base + (int64_t) rnd(40 * 24) * HOUR;
		p[i].valid_until = rnd(3) == 0 ? HC_TIME_POS_INF : p[i].valid_from + (int64_t) (1 + rnd(20 * 24)) * HOUR;
		if (p[i].valid_from == HC_TIME_NEG_INF && p[i].valid_until != HC_TIME_POS_INF)
			p[i].valid_until = base + (int64_t) rnd(40 * 24) * HOUR;
		p[i].lookback_days = 1 + (int) rnd(21);
		p[i].quarantine_days_red = 1 + (int) rnd(14);
		p[i].quarantine_days_yellow = 1 + (int) rnd(7);
		p[i].red_release_negative_tests = (int) rnd(3);
		p[i].negative_test_valid_hours = 24 * (1 + (int) rnd(3));
		p[i].fever_tenths = 370 + (int) rnd(10);
		p[i].vaccinated_min_doses = (int) rnd(4);
		p[i].symptoms_yellow = rnd(4) != 0;
		p[i].periodic_testing = rnd(3) == 0;
		p[i].calendar_days = rnd(2) == 0;
		p[i].two_negatives_release_yellow = rnd(2) == 0;
	}
}

/* Same colour, mark and reasons (by source row) at instant t. */
static bool
same_state_at(const hc_timeline *a, const hc_event *ea, const hc_timeline *b,
			  const hc_event *eb, int64_t t)
{
	const hc_segment *x = segment_at(a, t);
	const hc_segment *y = segment_at(b, t);
	int32_t		i;

	if (!x || !y || x->colour != y->colour || x->vaccinated != y->vaccinated ||
		x->n_reasons != y->n_reasons)
		return false;
	for (i = 0; i < x->n_reasons; i++)
		if (a->reasons[x->first_reason + i].rule != b->reasons[y->first_reason + i].rule ||
			ea[a->reasons[x->first_reason + i].event].ref != eb[b->reasons[y->first_reason + i].event].ref)
			return false;
	return true;
}

static void
test_properties(void)
{
	int64_t		base = T(2022, 3, 20, 0);
	int			round,
				bad_later = 0,
				bad_order = 0,
				bad_shape = 0,
				bad_json = 0,
				bad_kept = 0,
				kept_rounds = 0;

	for (round = 0; round < 2000; round++)
	{
		hc_event	e[40],
					shuffled[40];
		hc_policy	p[4];
		size_t		n = rnd(40),
					np = rnd(5),
					i;
		int64_t		from1 = base + (int64_t) rnd(30 * 24) * HOUR;
		int64_t		from2 = from1 + (int64_t) rnd(20 * 24 * 60) * 60 * HC_USECS_PER_SEC;
		result		r1,
					r2,
					r3;
		hc_buf		c1 = {0},
					n1 = {0},
					c3 = {0},
					n3 = {0};
		int			k;

		random_events(e, n, base);
		random_policies(p, np, base);
		r1 = compute(e, n, p, np, from1);
		r2 = compute(e, n, p, np, from2);
		/* the same evidence in another order */
		memcpy(shuffled, e, n * sizeof(hc_event));
		for (i = n; i > 1; i--)
		{
			size_t		j = rnd((uint32_t) i);
			hc_event	tmp = shuffled[i - 1];

			shuffled[i - 1] = shuffled[j];
			shuffled[j] = tmp;
		}
		r3 = compute(shuffled, n, p, np, from1);
		if (r1.st != HC_OK || r2.st != HC_OK || r3.st != HC_OK)
		{
			bad_shape++;
			DIAG("round %d: %s", round, r1.detail);
			continue;
		}
		/* segments: contiguous from `from` to infinity, neighbours differ */
		for (i = 0; i < (size_t) r1.tl.n_segments; i++)
		{
			const hc_segment *s = &r1.tl.segments[i];

			if (s->from >= s->until || (i == 0 && s->from != from1) ||
				(i + 1 < (size_t) r1.tl.n_segments && s->until != r1.tl.segments[i + 1].from) ||
				(i + 1 == (size_t) r1.tl.n_segments && s->until != HC_TIME_POS_INF) ||
				(s->colour != HC_GREEN && s->n_reasons == 0) ||
				(s->colour == HC_GREEN && s->n_reasons > 0 &&
				 r1.tl.reasons[s->first_reason].rule != HC_RULE_OVERRIDE))
				bad_shape++;
		}
		/* later computations agree at every later instant */
		for (k = 0; k < 50; k++)
		{
			int64_t		t = from2 + (int64_t) rnd(40 * 24 * 60) * 60 * HC_USECS_PER_SEC;

			if (!same_state_at(&r1.tl, e, &r2.tl, e, t))
			{
				if (bad_later++ == 0)
					DIAG("round %d: computed at two times, they disagree at a later instant", round);
			}
		}
		if (!same_state_at(&r1.tl, e, &r2.tl, e, from2))
			bad_later++;
		/* retention: a timeline computed later from the evidence less what
		 * expired by then agrees at every later instant */
		{
			hc_event	kept_ev[40];
			size_t		n_kept = 0;
			int64_t		from3 = from1 + (int64_t) rnd(30 * 24) * HOUR;
			int64_t		kept_from = from3 - (int64_t) 3 * HC_USECS_PER_DAY;
			result		r4,
						r5;

			/* (what retention deletes and trims: the production rule) */
			n_kept = hc_inputs_keep(e, n, HC_TIME_NEG_INF, kept_from, NULL, 0, kept_ev);
			/* every national version keeps 3 days: the random ones too */
			{
				hc_policy	p3[5];

				memcpy(p3, p, np * sizeof(hc_policy));
				for (i = 0; i < np; i++)
					p3[i].evidence_kept_days = 3;
				p3[np] = defaults();
				p3[np].evidence_kept_days = 3;
				r4 = compute(e, n, p3, np + 1, from1);
				r5 = compute(kept_ev, n_kept, p3, np + 1, from3);
				for (k = 0; k < 100 && r4.st == HC_OK && r5.st == HC_OK; k++)
				{
					/* half of them in the first two days, where a cut
					 * inside a day shows */
					int64_t		t = from3 + (int64_t) rnd(k < 50 ? 2 * 24 * 60 : 40 * 24 * 60) * 60 * HC_USECS_PER_SEC;

					if (!same_state_at(&r4.tl, e, &r5.tl, kept_ev, t))
					{
						if (bad_kept++ == 0)
							DIAG("round %d: dropping expired evidence changes a later instant", round);
						break;
					}
				}
				if (r4.st != HC_OK || r5.st != HC_OK)
					bad_kept++;
				kept_rounds++;
				hc_timeline_free(&r4.tl);
				hc_timeline_free(&r5.tl);
			}
		}
		/* the order of the evidence never shows */
		if (!hc_timeline_json(&r1.tl, e, &c1, &n1) || !hc_timeline_json(&r3.tl, shuffled, &c3, &n3) ||
			strcmp(c1.data, c3.data) != 0 || strcmp(n1.data, n3.data) != 0)
		{
			if (bad_order++ == 0)
				DIAG("round %d: shuffled evidence gives another timeline", round);
		}
		if (c1.data && (c1.data[0] != '[' || n1.data[0] != '['))
			bad_json++;
		hc_buf_free(&c1);
		hc_buf_free(&n1);
		hc_buf_free(&c3);
		hc_buf_free(&n3);
		hc_timeline_free(&r1.tl);
		hc_timeline_free(&r2.tl);
		hc_timeline_free(&r3.tl);
	}
	CHECK(bad_shape == 0, "2000 random cases: segments are contiguous, ordered, non-green ones have reasons (%d bad)", bad_shape);
	CHECK(bad_later == 0, "2000 random cases: a timeline computed later agrees with one computed earlier at every later instant (%d bad)", bad_later);
	CHECK(bad_order == 0, "2000 random cases: the order of the evidence never changes the result (%d bad)", bad_order);
	CHECK(bad_json == 0, "2000 random cases: the JSON is an array (%d bad)", bad_json);
	CHECK(bad_kept == 0 && kept_rounds > 500,
		  "%d random cases: evidence expired under a 3-day national retention, left out, changes no later instant (%d bad)",
		  kept_rounds, bad_kept);
}

/* Packed inputs: a round trip keeps every event, in one canonical order
 * whatever the order given; bytes that are not packed inputs are refused
 * with a detail, never read past their end. */
static void
test_inputs_codec(void)
{
	hc_event	in[4],
				shuffled[4],
			   *out = NULL;
	size_t		n = 0,
				i;
	hc_buf		a = {0},
				b = {0};
	char		detail[HC_DETAIL_LEN];
	bool		same = true;
	uint8_t		bad[HC_INPUTS_HEADER_LEN + HC_INPUTS_EVENT_LEN];

	in[0] = stay(HC_EV_STAY_HIGH, 330106, T(2022, 4, 2, 10));
	in[0].place = INT64_C(330106001001);	/* a community: twelve digits */
	in[0].ref = 77;
	in[1] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 3, 9));
	in[1].ref = INT64_C(9000000000);
	in[2] = ev(HC_EV_OVERRIDE, T(2022, 4, 1, 0));
	in[2].until = T(2022, 4, 5, 0);
	in[2].value = HC_RED;
	in[3] = ev(HC_EV_CHECKIN, T(2022, 4, 2, 10));
	in[3].value = -5;				/* negative values survive too */
	shuffled[0] = in[3];
	shuffled[1] = in[1];
	shuffled[2] = in[0];
	shuffled[3] = in[2];

	CHECK(hc_inputs_pack(in, 4, &a) == HC_OK && hc_inputs_pack(shuffled, 4, &b) == HC_OK,
		  "inputs: four events pack");
	CHECK(a.len == HC_INPUTS_HEADER_LEN + 4 * HC_INPUTS_EVENT_LEN && a.len == b.len &&
		  memcmp(a.data, b.data, a.len) == 0,
		  "inputs: the same events in another order pack to the same bytes");
	CHECK(hc_inputs_unpack((const uint8_t *) a.data, a.len, &out, &n, detail, sizeof(detail)) == HC_OK && n == 4,
		  "inputs: they unpack to four events");
	for (i = 0; out != NULL && i < 4; i++)
	{
		size_t		j;
		bool		found = false;

		for (j = 0; j < n; j++)
			if (out[j].kind == in[i].kind && out[j].at == in[i].at && out[j].until == in[i].until &&
				out[j].value == in[i].value && out[j].place == in[i].place && out[j].ref == in[i].ref)
				found = true;
		same = same && found;
	}
	CHECK(same, "inputs: every field of every event survives the round trip");
	CHECK(out != NULL && out[0].kind == HC_EV_OVERRIDE && out[3].kind == HC_EV_NEGATIVE_TEST,
		  "inputs: packed in time order");
	free(out);

	CHECK(hc_inputs_unpack((const uint8_t *) a.data, a.len - 1, &out, &n, detail, sizeof(detail)) == HC_ERR_LENGTH &&
		  out == NULL && strstr(detail, "cannot hold") != NULL,
		  "inputs: one byte short is refused, naming the length");
	CHECK(hc_inputs_unpack((const uint8_t *) "HI", 2, &out, &n, detail, sizeof(detail)) == HC_ERR_LENGTH,
		  "inputs: a header cut short is refused");
	memcpy(bad, a.data, sizeof(bad));
	bad[2] = HC_INPUTS_VERSION + 1;
	CHECK(hc_inputs_unpack(bad, HC_INPUTS_HEADER_LEN, &out, &n, detail, sizeof(detail)) == HC_ERR_VERSION,
		  "inputs: another version is refused");
	{
		/* version 1 (0.2.0): the place an i32; still read, every field */
		static const uint8_t v1[HC_INPUTS_HEADER_LEN + HC_INPUTS_V1_EVENT_LEN] = {
			'H', 'I', 1, 0, 0, 0, 1,
			HC_EV_STAY_HIGH, 0, 0, 0, 7, 0, 0x05, 0x09, 0x8A,	/* value 7, place 330122 */
			0, 0, 0, 0, 0, 0, 0, 42,	/* at */
			0, 0, 0, 0, 0, 0, 0, 43,	/* until */
			0, 0, 0, 0, 0, 0, 0, 44};	/* ref */

		CHECK(hc_inputs_unpack(v1, sizeof(v1), &out, &n, detail, sizeof(detail)) == HC_OK && n == 1 &&
			  out[0].kind == HC_EV_STAY_HIGH && out[0].value == 7 && out[0].place == 330122 &&
			  out[0].at == 42 && out[0].until == 43 && out[0].ref == 44,
			  "inputs: version 1 (a place in four bytes) is still read, every field");
		free(out);
		out = NULL;
	}
	bad[2] = HC_INPUTS_VERSION;
	bad[3] = bad[4] = bad[5] = 0;
	bad[6] = 1;
	bad[HC_INPUTS_HEADER_LEN] = HC_EV_KIND_MAX + 1;
	CHECK(hc_inputs_unpack(bad, sizeof(bad), &out, &n, detail, sizeof(detail)) == HC_ERR_ARGUMENT &&
		  strstr(detail, "unknown kind") != NULL,
		  "inputs: an unknown kind is refused, naming it");
	bad[6] = 0xff;
	CHECK(hc_inputs_unpack(bad, sizeof(bad), &out, &n, detail, sizeof(detail)) == HC_ERR_LENGTH,
		  "inputs: a count the bytes cannot hold is refused");
	CHECK(hc_inputs_pack(NULL, 0, &b) == HC_OK, "inputs: no events pack too");
	b.len = 0;
	CHECK(hc_inputs_pack(in, 0, &b) == HC_OK &&
		  hc_inputs_unpack((const uint8_t *) b.data, b.len, &out, &n, detail, sizeof(detail)) == HC_OK && n == 0,
		  "inputs: and unpack to none");
	free(out);
	{
		hc_event	stored[5],
					kept[5];
		int64_t		reexamined[2] = {500, 77};
		size_t		k;

		stored[0] = stay(HC_EV_STAY_HIGH, 330106, T(2022, 4, 2, 10));
		stored[0].ref = 77;		/* re-examined: dropped */
		stored[1] = stay(HC_EV_STAY_MEDIUM, 330105, T(2022, 4, 3, 10));
		stored[1].ref = 78;		/* not re-examined: kept */
		stored[2] = ev(HC_EV_NEGATIVE_TEST, T(2022, 4, 3, 9));
		stored[2].ref = 500;		/* the same id, but not a stay: kept */
		stored[3] = stay(HC_EV_STAY_HIGH, 330106, T(2022, 3, 1, 10));
		stored[3].ref = 90;		/* windowed, before the horizon: dropped */
		stored[4] = ev(HC_EV_VACCINATION, T(2022, 3, 1, 10));
		stored[4].value = 1;		/* before the horizon, not windowed: kept */
		k = hc_inputs_keep(stored, 5, T(2022, 3, 20, 0), HC_TIME_NEG_INF, reexamined, 2, kept);
		CHECK(k == 3 && kept[0].ref == 78 && kept[1].ref == 500 && kept[2].kind == HC_EV_VACCINATION,
			  "inputs kept after a risk-area change: all but the re-examined stays and windowed events before the horizon");
		k = hc_inputs_keep(stored, 5, T(2022, 3, 20, 0), T(2022, 4, 3, 9) + 1, NULL, 0, kept);
		CHECK(k == 2 && kept[0].ref == 78 && kept[1].kind == HC_EV_VACCINATION,
			  "inputs kept: expiring events before kept_from go, a dose (which never expires) stays");
		/* a check-in releases a trigger of its day, even a later one: it
		 * goes with its whole day. Symptoms at 10:00 released by the 08:00
		 * check-in (one day of quarantine); kept 3 days; cut at 09:30 */
		{
			hc_policy	pk = defaults();
			hc_event	all[2],
						left[2];
			int64_t		from = T(2022, 4, 8, 9) + 30 * 60 * HC_USECS_PER_SEC;
			size_t		n_left;
			result		ra,
						rl;

			pk.quarantine_days_yellow = 1;
			pk.two_negatives_release_yellow = false;
			pk.evidence_kept_days = 3;
			all[0] = with_value(ev(HC_EV_CHECKIN, T(2022, 4, 5, 8)), 365);
			all[1] = ev(HC_EV_SYMPTOMS, T(2022, 4, 5, 10));
			n_left = hc_inputs_keep(all, 2, HC_TIME_NEG_INF, from - 3 * HC_USECS_PER_DAY, NULL, 0, left);
			ra = compute(all, 2, &pk, 1, from);
			rl = compute(left, n_left, &pk, 1, from);
			CHECK(n_left == 2 && colour_at(&ra.tl, from) == HC_GREEN && colour_at(&rl.tl, from) == HC_GREEN,
				  "inputs kept: a check-in before the cut but of the cut's day stays (it released a later trigger of its day)");
			hc_timeline_free(&ra.tl);
			hc_timeline_free(&rl.tl);
		}
		CHECK(hc_inputs_hold_expired(stored, 5, T(2022, 3, 20, 0), HC_TIME_NEG_INF) &&
			  !hc_inputs_hold_expired(stored + 1, 2, T(2022, 3, 20, 0), HC_TIME_NEG_INF) &&
			  hc_inputs_hold_expired(stored + 1, 2, T(2022, 3, 20, 0), T(2022, 4, 3, 9) + 1),
			  "inputs hold expired events: a windowed one before the horizon, an expiring one before kept_from");
	}
	CHECK(hc_event_expires(HC_EV_POSITIVE_TEST) && hc_event_expires(HC_EV_CHECKIN) &&
		  hc_event_expires(HC_EV_STAY_HIGH) && !hc_event_expires(HC_EV_VACCINATION) &&
		  !hc_event_expires(HC_EV_OVERRIDE) && !hc_event_expires(HC_EV_RELEASE) &&
		  !hc_event_expires(HC_EV_PUSHED_RED) && !hc_event_expires(HC_EV_REGISTERED) &&
		  !hc_event_expires(0),
		  "kinds: evidence expires, manual decisions, doses, pushed reds and the registration do not");
	CHECK(hc_event_windowed(HC_EV_STAY_MEDIUM) && hc_event_windowed(HC_EV_FINDING) &&
		  !hc_event_windowed(HC_EV_VACCINATION) && !hc_event_windowed(HC_EV_REGISTERED),
		  "inputs: stays and findings are windowed, vaccinations and the registration are not");
	hc_buf_free(&a);
	hc_buf_free(&b);
}

/* The table of evidence kinds: one row a kind, each name once, lookups
 * both ways, and the facts the database relies on unchanged: the SQL
 * names _evidence emits, the windowed set, each trigger's colour and rule. */
static void
test_kind_table(void)
{
	static const struct
	{
		int			kind;
		const char *name;
		int			colour;
		int			rule;
	}			expect[] = {
		{HC_EV_STAY_HIGH, "stay_high", HC_RED, HC_RULE_STAY_HIGH},
		{HC_EV_STAY_MEDIUM, "stay_medium", HC_YELLOW, HC_RULE_STAY_MEDIUM},
		{HC_EV_CLOSE_CONTACT, "close_contact", HC_RED, HC_RULE_CLOSE_CONTACT},
		{HC_EV_SECONDARY_CONTACT, "secondary_contact", HC_YELLOW, HC_RULE_SECONDARY_CONTACT},
		{HC_EV_DECLARED_CONTACT, "declared_contact", HC_YELLOW, HC_RULE_DECLARED_CONTACT},
		{HC_EV_POSITIVE_TEST, "positive_test", HC_RED, HC_RULE_POSITIVE_TEST},
		{HC_EV_NEGATIVE_TEST, "negative_test", HC_YELLOW, HC_RULE_TEST_OVERDUE},
		{HC_EV_SYMPTOMS, "symptoms", HC_YELLOW, HC_RULE_SYMPTOMS},
		{HC_EV_TEMPERATURE, "temperature", HC_YELLOW, HC_RULE_FEVER},
		{HC_EV_CHECKIN, "checkin", HC_YELLOW, HC_RULE_ABNORMAL_CHECKIN},
		{HC_EV_CHECKIN_SYMPTOMS, "checkin_symptoms", HC_YELLOW, HC_RULE_ABNORMAL_CHECKIN},
		{HC_EV_FINDING, "finding", HC_YELLOW, HC_RULE_AUDIT_FINDING},
		{HC_EV_OVERRIDE, "override", HC_COLOUR_NONE, HC_RULE_OVERRIDE},
		{HC_EV_RELEASE, "release", HC_COLOUR_NONE, 0},
		{HC_EV_VACCINATION, "vaccination", HC_COLOUR_NONE, 0},
		{HC_EV_PUSHED_RED, "pushed_red", HC_RED, HC_RULE_PUSHED_RED},
		{HC_EV_REGISTERED, "registered", HC_YELLOW, HC_RULE_TEST_OVERDUE},
		{HC_EV_MEDICINE_PURCHASE, "medicine_purchase", HC_YELLOW, HC_RULE_MEDICINE_PURCHASE},
		{HC_EV_PUSHED_YELLOW, "pushed_yellow", HC_YELLOW, HC_RULE_PUSHED_YELLOW},
	};
	size_t		n_expect = sizeof(expect) / sizeof(expect[0]);
	bool		rule_reported[HC_RULE_MAX + 1] = {false};
	bool		rows_ok = true,
				unique = true,
				round_trip = true,
				as_today = true,
				windowed_as_today = true,
				classes_ok = true,
				all_rules = true;
	int			k,
				j;
	size_t		i;

	CHECK(n_expect == HC_EV_KIND_MAX, "kinds: the test knows all %d kinds", HC_EV_KIND_MAX);
	for (k = HC_EV_STAY_HIGH; k <= HC_EV_KIND_MAX; k++)
	{
		const hc_event_kind_info *info = hc_event_kind_get(k);

		if (info == NULL || info->kind != (hc_event_kind) k || info->name == NULL || info->name[0] == '\0' ||
			info->kind_class < HC_CLASS_TRIGGER || info->kind_class > HC_CLASS_PURCHASE)
		{
			rows_ok = false;
			DIAG("kind %d: no row, or a row of another kind, without a name or without a class", k);
			continue;
		}
		for (j = HC_EV_STAY_HIGH; j < k; j++)
			if (strcmp(hc_event_kind_get(j)->name, info->name) == 0)
				unique = false;
		if (hc_event_kind_from_name(info->name, strlen(info->name)) != (hc_event_kind) k)
			round_trip = false;
		/* a kind of a trigger class triggers a colour and reports a rule */
		if (info->kind_class <= HC_CLASS_PUSHED &&
			(info->colour < HC_GREEN || info->colour > HC_RED || info->rule < HC_RULE_STAY_HIGH ||
			 info->rule > HC_RULE_MAX))
			classes_ok = false;
		/* only plain triggers are windowed */
		if (info->windowed && info->kind_class != HC_CLASS_TRIGGER && info->kind_class != HC_CLASS_PURCHASE)
			classes_ok = false;
		if (info->rule >= HC_RULE_STAY_HIGH && info->rule <= HC_RULE_MAX)
			rule_reported[info->rule] = true;
	}
	CHECK(rows_ok, "kinds: every kind has its row, a name and a class");
	CHECK(unique, "kinds: every kind has a name of its own");
	CHECK(round_trip, "kinds: a kind's name looks up that kind");
	CHECK(classes_ok, "kinds: trigger classes have a colour and a rule; only plain triggers are windowed");
	for (j = HC_RULE_STAY_HIGH; j <= HC_RULE_MAX; j++)
		if (!rule_reported[j])
		{
			all_rules = false;
			DIAG("rule %s is reported by no kind", hc_rule_name((hc_rule) j));
		}
	CHECK(all_rules, "kinds: every rule is reported by some kind");
	for (i = 0; i < n_expect; i++)
	{
		const hc_event_kind_info *info = hc_event_kind_get(expect[i].kind);
		bool		windowed = expect[i].kind == HC_EV_STAY_HIGH || expect[i].kind == HC_EV_STAY_MEDIUM ||
			expect[i].kind == HC_EV_CLOSE_CONTACT || expect[i].kind == HC_EV_SECONDARY_CONTACT ||
			expect[i].kind == HC_EV_DECLARED_CONTACT || expect[i].kind == HC_EV_FINDING ||
			expect[i].kind == HC_EV_MEDICINE_PURCHASE;

		if (info == NULL || strcmp(info->name, expect[i].name) != 0 ||
			hc_event_kind_from_name(expect[i].name, strlen(expect[i].name)) != (hc_event_kind) expect[i].kind ||
			info->colour != expect[i].colour || (int) info->rule != expect[i].rule)
		{
			as_today = false;
			DIAG("kind %s differs from its expected row", expect[i].name);
		}
		if (hc_event_windowed(expect[i].kind) != windowed)
		{
			windowed_as_today = false;
			DIAG("kind %s: windowed %d", expect[i].name, (int) hc_event_windowed(expect[i].kind));
		}
	}
	CHECK(as_today, "kinds: the SQL names, colours and rules are the ones _evidence and the rules use");
	CHECK(windowed_as_today,
		  "kinds: windowed are the stays, contacts, declared contacts, findings and medicine purchases, and only they");
	CHECK(hc_event_kind_get(0) == NULL && hc_event_kind_get(-1) == NULL &&
		  hc_event_kind_get(HC_EV_KIND_MAX + 1) == NULL &&
		  !hc_event_windowed(0) && !hc_event_windowed(HC_EV_KIND_MAX + 1),
		  "kinds: numbers that are no kind have no row and are not windowed");
	CHECK(hc_event_kind_from_name("", 0) == 0 && hc_event_kind_from_name("stay", 4) == 0 &&
		  hc_event_kind_from_name("stay_high_", 10) == 0 && hc_event_kind_from_name("Stay_high", 9) == 0 &&
		  hc_event_kind_from_name("stay_highest", 9) == HC_EV_STAY_HIGH,
		  "kinds: a name must match whole and exactly (and needs no NUL)");
}

/* The table of policy fields: one row a member of hc_policy, each name
 * once, the built-in defaults, and each range enforced at both ends. */
static void
test_policy_fields(void)
{
	static const char *const names[] = {
		"rank", "valid_from", "valid_until", "lookback_days", "quarantine_days_red",
		"quarantine_days_yellow", "red_release_negative_tests", "negative_test_valid_hours",
		"fever_tenths", "vaccinated_min_doses", "symptoms_yellow", "periodic_testing",
		"calendar_days", "two_negatives_release_yellow", "evidence_kept_days", "medicine_purchase_yellow",
	};
	hc_policy	p;
	char		detail[HC_DETAIL_LEN];
	bool		named = true,
				unique = true,
				ranges = true,
				round_trip = true;
	int			i,
				j;

	CHECK(sizeof(names) / sizeof(names[0]) == HC_POLICY_N_FIELDS,
		  "policy fields: the test knows all %d fields", HC_POLICY_N_FIELDS);
	for (i = 0; i < HC_POLICY_N_FIELDS; i++)
	{
		const hc_policy_field *f = &hc_policy_fields[i];

		if (f->name == NULL || strcmp(f->name, names[i]) != 0 || f->offset >= sizeof(hc_policy))
			named = false;
		for (j = 0; j < i; j++)
			if (f->name && hc_policy_fields[j].name && strcmp(f->name, hc_policy_fields[j].name) == 0)
				unique = false;
	}
	CHECK(named, "policy fields: each row names a member of hc_policy, in the type's order");
	CHECK(unique, "policy fields: each name once");

	hc_policy_default(&p);
	CHECK(p.rank == 0 && p.valid_from == HC_TIME_NEG_INF && p.valid_until == HC_TIME_POS_INF &&
		  p.lookback_days == 14 && p.quarantine_days_red == 14 && p.quarantine_days_yellow == 7 &&
		  p.red_release_negative_tests == 2 && p.negative_test_valid_hours == 48 && p.fever_tenths == 373 &&
		  p.vaccinated_min_doses == 2 && p.symptoms_yellow && !p.periodic_testing && !p.calendar_days &&
		  p.two_negatives_release_yellow && p.evidence_kept_days == 90 && !p.medicine_purchase_yellow,
		  "policy fields: the defaults are the national default version's");
	CHECK(hc_policy_valid(&p, detail, sizeof(detail)), "policy fields: the defaults are valid");

	for (i = 0; i < HC_POLICY_N_FIELDS; i++)
	{
		const hc_policy_field *f = &hc_policy_fields[i];
		int64_t		probe = f->type == HC_POLICY_TIME ? INT64_C(700000000000000) : f->type == HC_POLICY_BOOL ? 1 : f->max;

		hc_policy_default(&p);
		hc_policy_set(&p, f, probe);
		if (hc_policy_get(&p, f) != probe)
			round_trip = false;
		if (f->type != HC_POLICY_INT)
			continue;
		hc_policy_set(&p, f, f->min);
		ranges &= hc_policy_valid(&p, detail, sizeof(detail));
		hc_policy_set(&p, f, f->max);
		ranges &= hc_policy_valid(&p, detail, sizeof(detail));
		hc_policy_set(&p, f, (int64_t) f->min - 1);
		ranges &= !hc_policy_valid(&p, detail, sizeof(detail)) && strstr(detail, f->name) != NULL;
		hc_policy_set(&p, f, (int64_t) f->max + 1);
		ranges &= !hc_policy_valid(&p, detail, sizeof(detail)) && strstr(detail, f->name) != NULL;
		if (!ranges)
		{
			DIAG("field %s: range %d-%d not enforced as it says", f->name, (int) f->min, (int) f->max);
			break;
		}
	}
	CHECK(round_trip, "policy fields: a value set is the value got");
	CHECK(ranges, "policy fields: each integer's range holds at both ends, and the detail names it");

	hc_policy_default(&p);
	p.valid_until = HC_TIME_NEG_INF;
	CHECK(!hc_policy_valid(&p, detail, sizeof(detail)) && strstr(detail, "valid_until"),
		  "policy fields: valid_until may be +infinity, not -infinity (%s)", detail);
	hc_policy_default(&p);
	p.valid_from = HC_TIME_POS_INF;
	CHECK(!hc_policy_valid(&p, detail, sizeof(detail)) && strstr(detail, "valid_from"),
		  "policy fields: valid_from may be -infinity, not +infinity (%s)", detail);
	hc_policy_default(&p);
	p.valid_from = INT64_C(700000000000000);
	p.valid_until = p.valid_from;
	CHECK(!hc_policy_valid(&p, detail, sizeof(detail)) && strstr(detail, "later than"),
		  "policy fields: a version ends after it starts");
}

/* The evidence horizon's national versions: which count from an instant on. */
static void
test_national_days(void)
{
	const int64_t t1 = INT64_C(700000000000000);
	const int64_t t2 = t1 + 10 * HC_USECS_PER_DAY;
	hc_national_days only[] = {{1, HC_TIME_NEG_INF, HC_TIME_POS_INF, 14}};
	hc_national_days later[] = {{1, HC_TIME_NEG_INF, HC_TIME_POS_INF, 30}, {2, t1, HC_TIME_POS_INF, 21}};
	hc_national_days ending[] = {{1, HC_TIME_NEG_INF, HC_TIME_POS_INF, 14}, {2, t1, t2, 30}};
	hc_national_days tie[] = {{1, HC_TIME_NEG_INF, HC_TIME_POS_INF, 14}, {3, t1, HC_TIME_POS_INF, 20},
							  {2, t1, HC_TIME_POS_INF, 40}};
	/* (the same, read in the other order: rows come in no order) */
	hc_national_days tie_reversed[] = {{1, HC_TIME_NEG_INF, HC_TIME_POS_INF, 14}, {2, t1, HC_TIME_POS_INF, 40},
									   {3, t1, HC_TIME_POS_INF, 20}};
	hc_national_days past[] = {{1, HC_TIME_NEG_INF, t1, 30}};

	CHECK(hc_national_days_from(NULL, 0, t1, 99) == 99, "national days: no version, the fallback");
	CHECK(hc_national_days_from(only, 1, t1, 99) == 14 && hc_national_days_from(only, 1, HC_TIME_POS_INF, 99) == 14 &&
		  hc_national_days_from(only, 1, HC_TIME_NEG_INF, 99) == 14,
		  "national days: the one version, from any instant (infinities too)");
	CHECK(hc_national_days_from(later, 2, t1 - 1, 99) == 30,
		  "national days: before a later version starts, the one in force counts too");
	CHECK(hc_national_days_from(later, 2, t1, 99) == 21 && hc_national_days_from(later, 2, HC_TIME_POS_INF, 99) == 21,
		  "national days: once it started, the earlier one it shadows no longer counts");
	CHECK(hc_national_days_from(ending, 2, t1 - 1, 99) == 30 && hc_national_days_from(ending, 2, t2 - 1, 99) == 30,
		  "national days: a version that ends counts until it has ended");
	CHECK(hc_national_days_from(ending, 2, t2, 99) == 14,
		  "national days: from its end on, only what is in force after it");
	CHECK(hc_national_days_from(tie, 3, t1, 99) == 20 && hc_national_days_from(tie, 3, t1 - 1, 99) == 20 &&
		  hc_national_days_from(tie_reversed, 3, t1, 99) == 20 &&
		  hc_national_days_from(tie_reversed, 3, t1 - 1, 99) == 20,
		  "national days: of two versions starting together, the later row wins, in either order");
	CHECK(hc_national_days_from(past, 1, t2, 99) == 99 && hc_national_days_from(past, 1, t1 - 1, 99) == 30,
		  "national days: versions that have all ended by then, the fallback");
	CHECK(hc_national_days_from(ending, 1, t1 - 1, 99) == 14 && hc_national_days_from(ending, 2, t1 - 1, 99) == 30,
		  "national days: n bounds what is read");
}

void
test_status_engine(void)
{
	test_kind_table();
	test_policy_fields();
	test_national_days();
	test_basic_rules();
	test_releases();
	test_policies();
	test_reasons_and_json();
	test_invalid_input();
	test_properties();
	test_inputs_codec();
}
