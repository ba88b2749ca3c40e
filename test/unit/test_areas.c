/*
 * test_areas.c — unit tests of the risky-stay rule (hc_core_status_areas.c):
 * each division above a place, venues, the times a designation is in
 * force, the highest level winning, and sets that are not sets.
 */
#include "hc_status.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY HC_USECS_PER_DAY

static hc_designation
area(const char *division, bool high, int64_t from, bool has_until, int64_t until)
{
	hc_designation d = {division, strlen(division), NULL, 0, high, from, has_until, until};

	return d;
}

static hc_designation
venue_of(const char *division, const char *venue, bool high, int64_t from)
{
	hc_designation d = {division, strlen(division), venue, strlen(venue), high, from, false, 0};

	return d;
}

static hc_buf
packed(const hc_designation *d, size_t n)
{
	hc_buf		b = {0};
	char		detail[HC_DETAIL_LEN];

	if (hc_designations_pack(d, n, &b, detail, sizeof(detail)) != HC_OK)
		DIAG("pack failed: %s", detail);
	return b;
}

static hc_stay_level
judge(const hc_buf *set, const char *place, const char *venue, int64_t at)
{
	return hc_stay_judge((const uint8_t *) set->data, set->len, place, strlen(place), venue, venue ? strlen(venue) : 0, at);
}

void
test_risky_stays(void)
{
	hc_designation d[8];
	hc_buf		set;
	char		detail[HC_DETAIL_LEN];
	hc_buf		bad = {0};
	uint8_t    *copy;

	/* each level of the chain, one at a time */
	{
		const char *divisions[] = {"320102003004", "320102003", "320102", "320100", "320000"};
		const char *names[] = {"the community itself", "its township", "its county", "its city", "its province"};

		for (int i = 0; i < 5; i++)
		{
			d[0] = area(divisions[i], true, 0, false, 0);
			set = packed(d, 1);
			CHECK(judge(&set, "320102003004", NULL, 10 * DAY) == HC_STAY_HIGH,
				  "areas: a designation of %s covers a stay in a community", names[i]);
			hc_buf_free(&set);
		}
	}
	d[0] = area("320102", true, 0, false, 0);
	set = packed(d, 1);
	CHECK(judge(&set, "320102003", NULL, 1) == HC_STAY_HIGH && judge(&set, "320102", NULL, 1) == HC_STAY_HIGH,
		  "areas: a county covers its townships and itself");
	CHECK(judge(&set, "320103003004", NULL, 1) == HC_STAY_NOT_RISKY && judge(&set, "320100", NULL, 1) == HC_STAY_NOT_RISKY,
		  "areas: and neither a neighbouring county's places nor its city");
	CHECK(judge(&set, "32010200300x", NULL, 1) == HC_STAY_NOT_RISKY && judge(&set, "", NULL, 1) == HC_STAY_NOT_RISKY,
		  "areas: anything but a place code is in no area");
	hc_buf_free(&set);

	d[0] = area("000000", true, 0, false, 0);
	set = packed(d, 1);
	CHECK(judge(&set, "320102003004", NULL, 1) == HC_STAY_NOT_RISKY,
		  "areas: the nation is not a division above a place");
	hc_buf_free(&set);

	/* in force: from inclusive, until exclusive, no until for ever */
	d[0] = area("320102", false, 10 * DAY, true, 20 * DAY);
	set = packed(d, 1);
	CHECK(judge(&set, "320102003004", NULL, 10 * DAY) == HC_STAY_MEDIUM &&
		  judge(&set, "320102003004", NULL, 20 * DAY - 1) == HC_STAY_MEDIUM,
		  "areas: in force from its start to just before its end");
	CHECK(judge(&set, "320102003004", NULL, 10 * DAY - 1) == HC_STAY_NOT_RISKY &&
		  judge(&set, "320102003004", NULL, 20 * DAY) == HC_STAY_NOT_RISKY,
		  "areas: not before its start, not at its end");
	hc_buf_free(&set);
	d[0] = area("320102", false, 10 * DAY, false, 0);
	set = packed(d, 1);
	CHECK(judge(&set, "320102003004", NULL, HC_TIME_POS_INF) == HC_STAY_MEDIUM,
		  "areas: without an end, in force at any later time");
	hc_buf_free(&set);

	/* the highest level of those in force wins */
	d[0] = area("320100", false, 0, false, 0);
	d[1] = area("320102003", true, 0, true, 5 * DAY);
	d[2] = area("320102003004", false, 0, false, 0);
	set = packed(d, 3);
	CHECK(judge(&set, "320102003004", NULL, 1) == HC_STAY_HIGH, "levels: high over medium");
	CHECK(judge(&set, "320102003004", NULL, 6 * DAY) == HC_STAY_MEDIUM,
		  "levels: medium once the high one has ended");
	CHECK(judge(&set, "320105001001", NULL, 6 * DAY) == HC_STAY_MEDIUM &&
		  judge(&set, "320200001001", NULL, 6 * DAY) == HC_STAY_NOT_RISKY,
		  "levels: the city's designation covers its other counties, not another city");
	hc_buf_free(&set);

	/* venues: the same id at the same place only */
	d[0] = venue_of("320102003004", "4611686018427390001", true, 0);
	d[1] = area("320102003005", false, 0, false, 0);
	set = packed(d, 2);
	CHECK(judge(&set, "320102003004", "4611686018427390001", 1) == HC_STAY_HIGH,
		  "venues: a stay at the venue is covered");
	CHECK(judge(&set, "320102003004", NULL, 1) == HC_STAY_NOT_RISKY &&
		  judge(&set, "320102003004", "4611686018427390002", 1) == HC_STAY_NOT_RISKY,
		  "venues: a stay at the place without the venue, or at another venue, is not");
	CHECK(judge(&set, "320102003005", "4611686018427390001", 1) == HC_STAY_MEDIUM,
		  "venues: the venue's id at another place is another venue (that place's areas only)");
	CHECK(judge(&set, "320102003004", "04611686018427390001", 1) == HC_STAY_NOT_RISKY,
		  "venues: ids compare as their decimal text");
	hc_buf_free(&set);
	d[0] = venue_of("320102", "7", false, 0);
	set = packed(d, 1);
	CHECK(judge(&set, "320102003004", "7", 1) == HC_STAY_NOT_RISKY,
		  "venues: a venue designation covers no place below its division");
	hc_buf_free(&set);

	/* many designations, out of order: every one is found */
	{
		hc_designation many[200];
		char		codes[200][16];
		bool		all = true;

		for (int i = 0; i < 200; i++)
		{
			int			k = (i * 73) % 200;

			snprintf(codes[i], sizeof(codes[i]), "32%02d%02d", k / 10, k % 10 + 1);
			many[i] = area(codes[i], k % 2 == 0, 0, false, 0);
		}
		set = packed(many, 200);
		for (int i = 0; i < 200; i++)
		{
			char		place[13];
			int			k = (i * 73) % 200;

			snprintf(place, sizeof(place), "%s001001", codes[i]);
			all = all && judge(&set, place, NULL, 1) == (k % 2 == 0 ? HC_STAY_HIGH : HC_STAY_MEDIUM);
		}
		CHECK(all, "sets: each of 200 designations packed out of order is found");
		hc_buf_free(&set);
	}

	/* what is not a set */
	d[0] = area("32010x", true, 0, false, 0);
	CHECK(hc_designations_pack(d, 1, &bad, detail, sizeof(detail)) == HC_ERR_ARGUMENT &&
		  strstr(detail, "designation 1") != NULL,
		  "sets: a division that is not a place code is refused, named (%s)", detail);
	d[0] = venue_of("320102", "123456789012345678901", true, 0);
	CHECK(hc_designations_pack(d, 1, &bad, detail, sizeof(detail)) == HC_ERR_ARGUMENT,
		  "sets: a venue longer than a bigint's digits is refused");
	hc_buf_free(&bad);
	d[0] = area("320102", true, 0, false, 0);
	set = packed(d, 1);
	CHECK(hc_designations_check((const uint8_t *) set.data, set.len) == HC_OK, "sets: a packed set checks");
	CHECK(hc_designations_check((const uint8_t *) set.data, set.len - 1) == HC_ERR_LENGTH &&
		  hc_designations_check((const uint8_t *) set.data, 3) == HC_ERR_LENGTH && hc_designations_check(NULL, 0) == HC_ERR_LENGTH,
		  "sets: cut short, it does not");
	copy = malloc(set.len);
	memcpy(copy, set.data, set.len);
	copy[0] ^= 1;
	CHECK(hc_designations_check(copy, set.len) == HC_ERR_VERSION &&
		  hc_stay_judge(copy, set.len, "320102", 6, NULL, 0, 1) == HC_STAY_NOT_RISKY,
		  "sets: another header is refused, and judges nothing");
	memcpy(copy, set.data, set.len);
	copy[7] = 0x10;				/* a count far beyond the bytes */
	CHECK(hc_designations_check(copy, set.len) == HC_ERR_LENGTH, "sets: a count beyond the bytes is refused");
	memcpy(copy, set.data, set.len);
	memset(copy + 8, 0xff, set.len - 8);	/* every record byte garbage */
	CHECK(hc_designations_check(copy, set.len) == HC_OK &&
		  hc_stay_judge(copy, set.len, "320102003004", 12, "1", 1, 1) >= HC_STAY_NOT_RISKY,
		  "sets: garbage records are read within their bounds");
	free(copy);
	hc_buf_free(&set);
	set = packed(NULL, 0);
	CHECK(hc_designations_check((const uint8_t *) set.data, set.len) == HC_OK && judge(&set, "320102003004", NULL, 1) == HC_STAY_NOT_RISKY,
		  "sets: an empty set covers nothing");
	hc_buf_free(&set);

	/* the days of stays: China Standard Time, distinct, in order */
	{
		const int64_t hour = DAY / 24;
		int64_t		times[] = {3 * DAY + 16 * hour - 1, 3 * DAY + 16 * hour, 0, -8 * hour - 1, 3 * DAY, 3 * DAY + 2};
		int64_t		days[6];
		size_t		n = hc_stay_days(times, 6, days);

		CHECK(n == 4 && days[0] == -1 && days[1] == 0 && days[2] == 3 && days[3] == 4,
			  "days: a day begins at 16:00 UTC the day before, each day once, in order (%zu days)", n);
		CHECK(hc_stay_days(times, 0, days) == 0, "days: no stays, no days");
	}
}
