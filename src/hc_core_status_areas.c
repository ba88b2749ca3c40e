/*
 * hc_core_status_areas.c — the risky-stay rule (see hc_status.h): which
 * medium- or high-risk designations cover a stay, and so its level.
 *
 * The one implementation of the rule: the SQL's row form (_stay_level) and
 * array form (_stays_levels) both call hc_stay_judge, so a stay read from
 * travel for a fresh status, a stay a bulk import brings and a stay a
 * risk-area change re-examines are judged alike.
 *
 * A set is a header and fixed-size records sorted by division:
 *   offset size
 *        0    4 "HCD1"
 *        4    4 number of records, little-endian
 *        8    n * RECORD_LEN records:
 *             0  1 division length (1..12), 1..12 the division, zero-padded
 *            13  1 venue length (0: an area), 14..33 the venue, zero-padded
 *            34  1 1 high, 0 medium
 *            35  1 1 when it has an end
 *            36  4 (zero)
 *            40  8 from, little-endian two's complement
 *            48  8 until (zero when it has none)
 * A set lives for a statement (it is never stored), so its layout can
 * change with any version.
 */
#include "hc_status_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_MAGIC      "HCD1"
#define SET_HEADER_LEN 8
#define RECORD_LEN     56

#define R_DIVISION_LEN 0
#define R_DIVISION     1
#define R_VENUE_LEN    13
#define R_VENUE        14
#define R_HIGH         34
#define R_HAS_UNTIL    35
#define R_FROM         40
#define R_UNTIL        48

static void
put_i64(uint8_t *p, int64_t v)
{
	uint64_t	u = (uint64_t) v;

	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (u >> (8 * i));
}

static int64_t
get_i64(const uint8_t *p)
{
	uint64_t	u = 0;

	for (int i = 0; i < 8; i++)
		u |= (uint64_t) p[i] << (8 * i);
	return (int64_t) u;
}

static bool
all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Orders records by division (bytes, then length): the searches' order. */
static int
cmp_division(const uint8_t *rec, const char *division, size_t len)
{
	/* (clamped: a set's bytes are checked for their length only) */
	size_t		rlen = rec[R_DIVISION_LEN] < HC_DESIGNATION_DIVISION_MAX ? rec[R_DIVISION_LEN] : HC_DESIGNATION_DIVISION_MAX;
	int			c = memcmp(rec + R_DIVISION, division, rlen < len ? rlen : len);

	if (c != 0)
		return c;
	return (rlen > len) - (rlen < len);
}

static int
cmp_records(const void *a, const void *b)
{
	const uint8_t *ra = a,
			   *rb = b;

	return cmp_division(ra, (const char *) rb + R_DIVISION, rb[R_DIVISION_LEN]);
}

hc_status
hc_designations_pack(const hc_designation *d, size_t n, hc_buf *out, char *detail, size_t detail_len)
{
	uint8_t    *records;
	uint8_t		header[SET_HEADER_LEN];
	bool		ok;

	if (n > (SIZE_MAX - SET_HEADER_LEN) / RECORD_LEN || n > UINT32_MAX)
	{
		snprintf(detail, detail_len, "too many designations (%zu)", n);
		return HC_ERR_ARGUMENT;
	}
	for (size_t i = 0; i < n; i++)
	{
		if (d[i].division == NULL || d[i].division_len == 0 ||
			d[i].division_len > HC_DESIGNATION_DIVISION_MAX || !all_digits(d[i].division, d[i].division_len))
		{
			snprintf(detail, detail_len, "designation %zu: division is not a place code", i + 1);
			return HC_ERR_ARGUMENT;
		}
		if (d[i].venue != NULL && (d[i].venue_len == 0 || d[i].venue_len > HC_DESIGNATION_VENUE_MAX))
		{
			snprintf(detail, detail_len, "designation %zu: venue must have 1 to %d characters",
					 i + 1, HC_DESIGNATION_VENUE_MAX);
			return HC_ERR_ARGUMENT;
		}
	}
	records = calloc(n ? n : 1, RECORD_LEN);
	if (records == NULL)
		return HC_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
	{
		uint8_t    *r = records + i * RECORD_LEN;

		r[R_DIVISION_LEN] = (uint8_t) d[i].division_len;
		memcpy(r + R_DIVISION, d[i].division, d[i].division_len);
		if (d[i].venue != NULL)
		{
			r[R_VENUE_LEN] = (uint8_t) d[i].venue_len;
			memcpy(r + R_VENUE, d[i].venue, d[i].venue_len);
		}
		r[R_HIGH] = d[i].high ? 1 : 0;
		r[R_HAS_UNTIL] = d[i].has_until ? 1 : 0;
		put_i64(r + R_FROM, d[i].from);
		put_i64(r + R_UNTIL, d[i].has_until ? d[i].until : 0);
	}
	qsort(records, n, RECORD_LEN, cmp_records);
	memcpy(header, SET_MAGIC, 4);
	for (int i = 0; i < 4; i++)
		header[4 + i] = (uint8_t) ((uint32_t) n >> (8 * i));
	ok = hc_buf_append(out, header, sizeof(header)) && hc_buf_append(out, records, n * RECORD_LEN);
	free(records);
	return ok ? HC_OK : HC_ERR_NOMEM;
}

static size_t
set_count(const uint8_t *set)
{
	return (size_t) set[4] | (size_t) set[5] << 8 | (size_t) set[6] << 16 | (size_t) set[7] << 24;
}

hc_status
hc_designations_check(const uint8_t *set, size_t len)
{
	size_t		n;

	if (set == NULL || len < SET_HEADER_LEN)
		return HC_ERR_LENGTH;
	if (memcmp(set, SET_MAGIC, 4) != 0)
		return HC_ERR_VERSION;
	n = set_count(set);
	if (n > (len - SET_HEADER_LEN) / RECORD_LEN || len - SET_HEADER_LEN != n * RECORD_LEN)
		return HC_ERR_LENGTH;
	/* (the records' own lengths are clamped where read: a check per stay
	 * judged stays constant-time) */
	return HC_OK;
}

/* What the designations of one division say of a stay at `at`: areas
 * (venue NULL: the stay's place is below or at the division) or, with
 * the stay's venue, that venue's. Raises *level. */
static void
judge_division(const uint8_t *set, const char *division, size_t division_len, bool venues,
			   const char *venue, size_t venue_len, int64_t at, hc_stay_level *level)
{
	const uint8_t *records = set + SET_HEADER_LEN;
	size_t		lo = 0,
				hi = set_count(set);

	/* the first record not before the division */
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (cmp_division(records + mid * RECORD_LEN, division, division_len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < set_count(set); i++)
	{
		const uint8_t *r = records + i * RECORD_LEN;
		size_t		rvenue = r[R_VENUE_LEN] < HC_DESIGNATION_VENUE_MAX ? r[R_VENUE_LEN] : HC_DESIGNATION_VENUE_MAX;

		if (cmp_division(r, division, division_len) != 0)
			break;
		if (rvenue == 0 ? false : !(venues && venue != NULL && rvenue == venue_len &&
									 memcmp(r + R_VENUE, venue, venue_len) == 0))
			continue;
		if (at < get_i64(r + R_FROM) || (r[R_HAS_UNTIL] && at >= get_i64(r + R_UNTIL)))
			continue;
		if (r[R_HIGH])
			*level = HC_STAY_HIGH;
		else if (*level == HC_STAY_NOT_RISKY)
			*level = HC_STAY_MEDIUM;
	}
}

hc_stay_level
hc_stay_judge(const uint8_t *set, size_t len, const char *place, size_t place_len,
			  const char *venue, size_t venue_len, int64_t at)
{
	hc_stay_level level = HC_STAY_NOT_RISKY;
	char		above[HC_DESIGNATION_DIVISION_MAX];

	if (hc_designations_check(set, len) != HC_OK || place == NULL || place_len == 0 ||
		!all_digits(place, place_len))
		return HC_STAY_NOT_RISKY;
	/* the place itself: its areas, and its venue's designation */
	judge_division(set, place, place_len, true, venue, venue_len, at, &level);
	/* the township of a community */
	if (place_len == 12)
		judge_division(set, place, 9, false, NULL, 0, at, &level);
	/* the county of anything below one */
	if (place_len > 6)
		judge_division(set, place, 6, false, NULL, 0, at, &level);
	/* the city: the first four digits (all of a shorter code) and 00 */
	{
		size_t		k = place_len < 4 ? place_len : 4;

		memcpy(above, place, k);
		memcpy(above + k, "00", 2);
		judge_division(set, above, k + 2, false, NULL, 0, at, &level);
	}
	/* the province: the first two and 0000 */
	{
		size_t		k = place_len < 2 ? place_len : 2;

		memcpy(above, place, k);
		memcpy(above + k, "0000", 4);
		judge_division(set, above, k + 4, false, NULL, 0, at, &level);
	}
	return level;
}

static int
cmp_day(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

size_t
hc_stay_days(const int64_t *times, size_t n, int64_t *days)
{
	size_t		i,
				kept = 0;

	for (i = 0; i < n; i++)
		days[i] = hc_local_day(times[i]);
	qsort(days, n, sizeof(int64_t), cmp_day);
	for (i = 0; i < n; i++)
		if (kept == 0 || days[kept - 1] != days[i])
			days[kept++] = days[i];
	return kept;
}
