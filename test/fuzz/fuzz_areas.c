/*
 * fuzz_areas.c — libFuzzer target for the risky-stay rule
 * (hc_core_status_areas.c). The input is read as designations and a stay
 * (raw field values, so malformed ones reach the packing's checks too).
 * Properties: a set packed from them judges the stay as a plain reading of
 * the rule does (every designation against the stay, no sorting, no
 * search); and the input's bytes themselves, taken as a set, are judged
 * without a crash or a read out of bounds, whatever they are.
 */
#include "hc_status.h"
#include "fuzz_reader.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A code of a few shapes: mostly digits sharing a stem (so that stays and
 * designations meet), sometimes anything. */
static size_t
take_code(reader *r, char *out, const char *stem)
{
	static const size_t lengths[] = {6, 9, 12, 6, 9, 12, 1, 2, 4, 13};
	uint8_t		shape = (uint8_t) take(r, 1);
	size_t		len = lengths[shape % 10];
	size_t		same = (size_t) take(r, 1) % (len + 1);

	for (size_t i = 0; i < len; i++)
	{
		uint8_t		b = (uint8_t) take(r, 1);

		if (i < same && stem[i] != '\0')
			out[i] = stem[i];
		else if (shape >= 240)
			out[i] = (char) b;	/* anything, digits or not */
		else
			out[i] = (char) ('0' + b % 10);
	}
	out[len] = '\0';
	return len;
}

static int64_t
take_time(reader *r)
{
	uint8_t		mode = (uint8_t) take(r, 1);

	if (mode < 230)
		return (int64_t) take(r, 1) * HC_USECS_PER_DAY;
	if (mode < 240)
		return HC_TIME_POS_INF;
	if (mode < 250)
		return HC_TIME_NEG_INF;
	return (int64_t) take(r, 8);
}

/* The rule read plainly: does designation d cover a stay at place (a
 * place code) with venue at `at`? */
static bool
covers(const hc_designation *d, const char *place, size_t len, const char *venue, size_t venue_len, int64_t at)
{
	char		above[16];
	bool		named = false;

	if (at < d->from || (d->has_until && at >= d->until))
		return false;
	if (d->venue != NULL)
		return venue != NULL && d->venue_len == venue_len && memcmp(d->venue, venue, venue_len) == 0 &&
			d->division_len == len && memcmp(d->division, place, len) == 0;
	if (d->division_len == len && memcmp(d->division, place, len) == 0)
		named = true;			/* the place itself */
	if (len == 12 && d->division_len == 9 && memcmp(d->division, place, 9) == 0)
		named = true;			/* its township */
	if (len > 6 && d->division_len == 6 && memcmp(d->division, place, 6) == 0)
		named = true;			/* its county */
	{
		size_t		k = len < 4 ? len : 4;

		memcpy(above, place, k);
		memcpy(above + k, "00", 2);
		if (d->division_len == k + 2 && memcmp(d->division, above, k + 2) == 0)
			named = true;		/* its city */
	}
	{
		size_t		k = len < 2 ? len : 2;

		memcpy(above, place, k);
		memcpy(above + k, "0000", 4);
		if (d->division_len == k + 4 && memcmp(d->division, above, k + 4) == 0)
			named = true;		/* its province */
	}
	return named;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reader		r = {data, size};
	hc_designation d[12];
	char		divisions[12][16],
				venues[12][8],
				place[16],
				venue[8];
	size_t		n = (size_t) take(&r, 1) % 13,
				place_len,
				venue_len = 0;
	const char *stay_venue = NULL;
	int64_t		at;
	hc_buf		set = {0};
	char		detail[HC_DETAIL_LEN];
	hc_stay_level want = HC_STAY_NOT_RISKY;
	bool		packable = true;

	/* the input's bytes as a set: judged safely, whatever they are */
	(void) hc_stay_judge(data, size, "320102003004", 12, "1", 1, 0);

	place_len = take_code(&r, place, "320102003004");
	if (take(&r, 1) % 3 == 0)
	{
		venue_len = 1 + (size_t) take(&r, 1) % 3;
		for (size_t i = 0; i < venue_len; i++)
			venue[i] = (char) ('0' + take(&r, 1) % 3);
		stay_venue = venue;
	}
	at = take_time(&r);
	for (size_t i = 0; i < n; i++)
	{
		d[i].division_len = take_code(&r, divisions[i], place);
		d[i].division = divisions[i];
		d[i].venue = NULL;
		d[i].venue_len = 0;
		if (take(&r, 1) % 4 == 0)
		{
			d[i].venue_len = (size_t) take(&r, 1) % 4;	/* 0: refused */
			for (size_t k = 0; k < d[i].venue_len; k++)
				venues[i][k] = (char) ('0' + take(&r, 1) % 3);
			d[i].venue = venues[i];
		}
		d[i].high = take(&r, 1) % 2;
		d[i].from = take_time(&r);
		d[i].has_until = take(&r, 1) % 2;
		d[i].until = take_time(&r);
		packable = packable && all_digits(d[i].division, d[i].division_len) &&
			d[i].division_len <= HC_DESIGNATION_DIVISION_MAX && (d[i].venue == NULL || d[i].venue_len > 0);
	}
	if (hc_designations_pack(d, n, &set, detail, sizeof(detail)) != HC_OK)
	{
		if (packable)
			abort();			/* refused designations that are valid */
		hc_buf_free(&set);
		return 0;
	}
	if (!packable || hc_designations_check((const uint8_t *) set.data, set.len) != HC_OK)
		abort();				/* accepted what it must refuse, or packed a bad set */
	if (all_digits(place, place_len))
		for (size_t i = 0; i < n; i++)
			if (covers(&d[i], place, place_len, stay_venue, venue_len, at))
				want = d[i].high ? HC_STAY_HIGH : (want == HC_STAY_HIGH ? HC_STAY_HIGH : HC_STAY_MEDIUM);
	if (hc_stay_judge((const uint8_t *) set.data, set.len, place, place_len, stay_venue, venue_len, at) != want)
		abort();				/* the packed set judges otherwise than the rule */
	hc_buf_free(&set);
	return 0;
}
