/*
 * hc_core_status_text.c — a status timeline as text: the rules' names,
 * times in ISO 8601 (China Standard Time), each reason's fields and
 * sentence (hc_reason_describe), and the timeline as JSON. Pure C: no
 * PostgreSQL header.
 */
#include "hc_status_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
	[HC_RULE_MEDICINE_PURCHASE] = "medicine_purchase",
	[HC_RULE_PUSHED_YELLOW] = "pushed_yellow",
};

/* The medicines by hc_medicine, as a reason names them. */
static const char *const medicine_names[] = {
	[HC_MEDICINE_ANTIPYRETIC] = "antipyretics",
	[HC_MEDICINE_COUGH] = "cough medicine",
	[HC_MEDICINE_ANTIVIRAL] = "antivirals",
	[HC_MEDICINE_ANTIBIOTIC] = "antibiotics",
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

/* Writes v in exactly `width` decimal digits (v < 10^width); returns the
 * end. */
static char *
put_digits(char *out, uint64_t v, int width)
{
	int			i;

	for (i = width - 1; i >= 0; i--)
	{
		out[i] = (char) ('0' + v % 10);
		v /= 10;
	}
	return out + width;
}

/* The strings up to a NULL, one after another, into out (len bytes):
 * snprintf's "%s%s..." without parsing a format, cut short as it would. */
static void
cat(char *out, size_t len, ...)
{
	va_list		ap;
	const char *part;
	size_t		used = 0;

	if (len == 0)
		return;
	va_start(ap, len);
	while ((part = va_arg(ap, const char *)) != NULL)
	{
		size_t		n = strlen(part);

		if (n > len - 1 - used)
			n = len - 1 - used;
		memcpy(out + used, part, n);
		used += n;
	}
	va_end(ap);
	out[used] = '\0';
}

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
	local = hc_time_add(t, HC_LOCAL_OFFSET);
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
	if (y < 0 || y > 9999)
	{
		if (us)
			snprintf(out, HC_TIME_TEXT_LEN, "%04lld-%02u-%02uT%02u:%02u:%02u.%06lld+08:00",
					 (long long) y, m, d, hh, mm, ss, (long long) us);
		else
			snprintf(out, HC_TIME_TEXT_LEN, "%04lld-%02u-%02uT%02u:%02u:%02u+08:00",
					 (long long) y, m, d, hh, mm, ss);
		return;
	}
	/* (digits written by hand: every reason of every person recalculated
	 * has a time, and snprintf was a sixth of computing a timeline) */
	out = put_digits(out, (uint64_t) y, 4);
	*out++ = '-';
	out = put_digits(out, m, 2);
	*out++ = '-';
	out = put_digits(out, d, 2);
	*out++ = 'T';
	out = put_digits(out, hh, 2);
	*out++ = ':';
	out = put_digits(out, mm, 2);
	*out++ = ':';
	out = put_digits(out, ss, 2);
	if (us)
	{
		*out++ = '.';
		out = put_digits(out, (uint64_t) us, 6);
	}
	memcpy(out, "+08:00", sizeof("+08:00"));
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
	/* (an override's place is its order of recording, no division) */
	if (ev->place >= 0 && hc_event_kind_get(ev->kind) != NULL
		&& hc_event_kind_get(ev->kind)->kind_class != HC_CLASS_OVERRIDE)
		hc_place_format(ev->place, out->place);
	out->ref = ev->ref;
	memcpy(date, out->at, 10);
	date[10] = '\0';
	switch (r->rule)
	{
		case HC_RULE_STAY_HIGH:
			cat(text, len, "stayed in ", out->place, " (high risk) on ", date, (const char *) NULL);
			break;
		case HC_RULE_STAY_MEDIUM:
			cat(text, len, "stayed in ", out->place, " (medium risk) on ", date, (const char *) NULL);
			break;
		case HC_RULE_CLOSE_CONTACT:
			cat(text, len, "close contact of a case on ", date, (const char *) NULL);
			break;
		case HC_RULE_SECONDARY_CONTACT:
			cat(text, len, "secondary contact of a case on ", date, (const char *) NULL);
			break;
		case HC_RULE_DECLARED_CONTACT:
			cat(text, len, "declared contact with a case on ", date, (const char *) NULL);
			break;
		case HC_RULE_POSITIVE_TEST:
			cat(text, len, "positive test sampled on ", date, (const char *) NULL);
			break;
		case HC_RULE_PUSHED_RED:
			cat(text, len, "red status pushed by another region on ", date, (const char *) NULL);
			break;
		case HC_RULE_PUSHED_YELLOW:
			cat(text, len, "yellow status shared by another region on ", date, (const char *) NULL);
			break;
		case HC_RULE_SYMPTOMS:
			cat(text, len, "declared symptoms on ", date, (const char *) NULL);
			break;
		case HC_RULE_MEDICINE_PURCHASE:
			snprintf(text, len, "bought %s at a pharmacy in %s on %s",
					 ev->value >= HC_MEDICINE_ANTIPYRETIC && ev->value <= HC_MEDICINE_MAX
					 ? medicine_names[ev->value] : "medicine", out->place[0] ? out->place : "an unknown place", date);
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
				cat(text, len, "health check-in reporting symptoms on ", date, (const char *) NULL);
			break;
		case HC_RULE_AUDIT_FINDING:
			cat(text, len, "declaration contradicted by imported data (audit of ", date, ")", (const char *) NULL);
			break;
		case HC_RULE_TEST_OVERDUE:
			if (ev->kind == HC_EV_REGISTERED)
				cat(text, len, "periodic test required: no negative test since registration on ", date, (const char *) NULL);
			else
				cat(text, len, "periodic test required: last negative test sampled on ", date, (const char *) NULL);
			break;
		case HC_RULE_OVERRIDE:
			hc_format_time(ev->until, until);
			snprintf(text, len, "manual decision: %s from %s until %s",
					 hc_colour_name((hc_colour) ev->value), date,
					 ev->until == HC_TIME_POS_INF ? "further notice" : until);
			break;
		default:
			cat(text, len, "unknown rule", (const char *) NULL);
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
