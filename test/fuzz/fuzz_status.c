/*
 * fuzz_status.c — libFuzzer target for the status engine. The input is
 * read as a policy count, policy versions and events (raw field values, so
 * malformed ones reach the validation too). Properties: the engine either
 * refuses with a detail or returns segments that are contiguous from
 * `from` to infinity, never two equal neighbours, non-green ones with
 * reasons, every reason naming an event; the JSON writer never fails.
 */
#include "hc_status.h"
#include "fuzz_reader.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A time near 2022 most of the time, any int64 sometimes. */
static int64_t
take_time(reader *r)
{
	uint8_t		mode = (uint8_t) take(r, 1);

	if (mode < 200)
		return INT64_C(700000000000000) + (int64_t) take(r, 3) * 60 * HC_USECS_PER_SEC;
	if (mode < 220)
		return HC_TIME_POS_INF;
	if (mode < 240)
		return HC_TIME_NEG_INF;
	return (int64_t) take(r, 8);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reader		r = {data, size};
	hc_policy	pol[4];
	hc_event	ev[128];
	size_t		np = take(&r, 1) % 5,
				ne = 0,
				i;
	int64_t		from;
	hc_timeline tl;
	char		detail[HC_DETAIL_LEN] = "";
	hc_status	st;

	for (i = 0; i < np; i++)
	{
		hc_policy_default(&pol[i]);
		pol[i].rank = (int32_t) (take(&r, 1) % 5);
		pol[i].valid_from = take_time(&r);
		pol[i].valid_until = take_time(&r);
		pol[i].lookback_days = (int32_t) (take(&r, 1) % 30);
		pol[i].quarantine_days_red = (int32_t) (take(&r, 1) % 20);
		pol[i].quarantine_days_yellow = (int32_t) (take(&r, 1) % 10);
		pol[i].red_release_negative_tests = (int32_t) (take(&r, 1) % 4);
		pol[i].negative_test_valid_hours = (int32_t) take(&r, 1);
		pol[i].fever_tenths = 340 + (int32_t) (take(&r, 1) % 100);
		pol[i].vaccinated_min_doses = (int32_t) (take(&r, 1) % 12);
		{
			uint8_t		flags = (uint8_t) take(&r, 1);

			pol[i].symptoms_yellow = flags & 1;
			pol[i].periodic_testing = flags & 2;
			pol[i].calendar_days = flags & 4;
			pol[i].two_negatives_release_yellow = flags & 8;
		}
	}
	from = take_time(&r);
	while (r.left > 0 && ne < sizeof(ev) / sizeof(ev[0]))
	{
		hc_event   *e = &ev[ne++];

		e->kind = (int32_t) (take(&r, 1) % (HC_EV_KIND_MAX + 2));
		e->value = (int32_t) take(&r, 2) - 100;
		e->place = take(&r, 1) & 1 ? 330100 + (int32_t) take(&r, 1) : -1;
		e->at = take_time(&r);
		e->until = take_time(&r);
		e->ref = (int64_t) take(&r, 1);
	}

	st = hc_status_compute(ev, ne, pol, np, from, &tl, detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (st != HC_ERR_ARGUMENT || detail[0] == '\0')
			abort();
		return 0;
	}
	if (tl.n_segments < 1 || tl.segments[0].from != from ||
		tl.segments[tl.n_segments - 1].until != HC_TIME_POS_INF)
		abort();
	for (i = 0; i < (size_t) tl.n_segments; i++)
	{
		const hc_segment *s = &tl.segments[i];
		int32_t		k;

		if (s->from >= s->until)
			abort();
		if (i + 1 < (size_t) tl.n_segments && s->until != tl.segments[i + 1].from)
			abort();
		if (s->colour != HC_GREEN && s->n_reasons == 0)
			abort();
		if (s->first_reason < 0 || s->first_reason + s->n_reasons > tl.n_reasons)
			abort();
		for (k = 0; k < s->n_reasons; k++)
		{
			const hc_reason *re = &tl.reasons[s->first_reason + k];

			if (re->event < 0 || (size_t) re->event >= ne || re->rule < 1 || re->rule > HC_RULE_MAX)
				abort();
		}
	}
	{
		hc_buf		cur = {0},
					next = {0};

		if (!hc_timeline_json(&tl, ev, &cur, &next))
			abort();
		hc_buf_free(&cur);
		hc_buf_free(&next);
	}
	hc_timeline_free(&tl);
	return 0;
}
