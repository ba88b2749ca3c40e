/*
 * hc_core_import.c — checks of an import's fields (hc_import.h).
 * Pure C: no PostgreSQL header.
 */
#include "hc_import.h"

#include <stdlib.h>
#include <string.h>

#include "hc_core.h"

/*
 * A plain JSON integer: -?[0-9]+, no fraction, no exponent. Returns false
 * for anything else; sets *overflow (and saturates *out) for an integer
 * beyond int64.
 */
static bool
parse_int64(const char *s, size_t len, int64_t *out, bool *overflow)
{
	size_t		i = 0;
	bool		negative = false;
	uint64_t	v = 0;

	*overflow = false;
	if (len > 0 && s[0] == '-')
	{
		negative = true;
		i = 1;
	}
	if (i == len)
		return false;
	for (; i < len; i++)
	{
		unsigned	d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned) (s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			*overflow = true;
		else
			v = v * 10 + d;
	}
	if (v > (uint64_t) INT64_MAX + (negative ? 1 : 0))
		*overflow = true;
	if (*overflow)
		*out = negative ? INT64_MIN : INT64_MAX;
	else
		*out = negative ? (int64_t) (0 - v) : (int64_t) v;
	return true;
}

bool
hc_field_rule_parse(const char *text, hc_field_rule *rule, char *detail, size_t detail_len)
{
	size_t		len = strlen(text);
	char		word[HC_IMPORT_ENUM_MAX];

	memset(rule, 0, sizeof(*rule));
	if (len > 0 && text[len - 1] == '!')
	{
		rule->required = true;
		len--;
	}
	if (len == 0 || len >= sizeof(word))
	{
		hc_set_detail(detail, detail_len, "a field rule must have 1 to %zu characters", sizeof(word) - 1);
		return false;
	}
	memcpy(word, text, len);
	word[len] = '\0';
	if (strcmp(word, "id") == 0)
	{
		rule->kind = HC_FIELD_ID;
		rule->lo = 1;
		rule->hi = INT64_MAX;
	}
	else if (strncmp(word, "int:", 4) == 0)
	{
		const char *dots = strstr(word + 4, "..");
		bool		overflow_lo = false;
		bool		overflow_hi = false;

		rule->kind = HC_FIELD_INT;
		if (dots == NULL ||
			!parse_int64(word + 4, (size_t) (dots - word - 4), &rule->lo, &overflow_lo) ||
			!parse_int64(dots + 2, strlen(dots + 2), &rule->hi, &overflow_hi) ||
			overflow_lo || overflow_hi || rule->lo > rule->hi)
		{
			hc_set_detail(detail, detail_len, "an integer rule reads int:LO..HI");
			return false;
		}
	}
	else if (strcmp(word, "text") == 0)
		rule->kind = HC_FIELD_TEXT;
	else if (strcmp(word, "identifier") == 0)
		rule->kind = HC_FIELD_IDENTIFIER;
	else if (strcmp(word, "division") == 0)
		rule->kind = HC_FIELD_DIVISION;
	else if (strcmp(word, "place") == 0)
		rule->kind = HC_FIELD_PLACE;
	else if (strcmp(word, "evidence_time") == 0)
		rule->kind = HC_FIELD_EVIDENCE_TIME;
	else if (strcmp(word, "time") == 0)
		rule->kind = HC_FIELD_TIME;
	else if (strchr(word, '|') != NULL && word[0] != '|' && word[len - 1] != '|' &&
			 strstr(word, "||") == NULL)
	{
		rule->kind = HC_FIELD_ENUM;
		memcpy(rule->words, word, len + 1);
	}
	else
	{
		hc_set_detail(detail, detail_len, "unknown field rule \"%s\"", word);
		return false;
	}
	return true;
}

const char *
hc_json_kind_name(hc_json_kind kind)
{
	switch (kind)
	{
		case HC_JSON_STRING:
			return "a JSON string";
		case HC_JSON_NUMBER:
			return "a JSON number";
		case HC_JSON_BOOLEAN:
			return "a JSON boolean";
		case HC_JSON_NULL:
			return "JSON null";
		case HC_JSON_OBJECT:
			return "a JSON object";
		case HC_JSON_ARRAY:
			return "a JSON array";
	}
	return "a JSON value";
}

void
hc_shorten(const char *value, size_t len, size_t max, char *out)
{
	size_t		n = len;
	size_t		i;

	if (n > max)
	{
		n = max;
		/* never cut a UTF-8 character: back up over continuation bytes */
		while (n > 0 && ((unsigned char) value[n] & 0xC0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		out[i] = ((unsigned char) value[i] < 0x20 || value[i] == 0x7F) ? '?' : value[i];
	if (n < len)
	{
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static bool
enum_has(const char *words, const char *value, size_t len)
{
	const char *w = words;

	for (;;)
	{
		const char *bar = strchr(w, '|');
		size_t		wl = bar ? (size_t) (bar - w) : strlen(w);

		if (wl == len && memcmp(w, value, len) == 0)
			return true;
		if (bar == NULL)
			return false;
		w = bar + 1;
	}
}

/* "one of a, b, c" from "a|b|c" */
static void
enum_list(const char *words, char *out, size_t cap)
{
	size_t		o = 0;

	for (const char *w = words; *w && o + 3 < cap; w++)
	{
		if (*w == '|')
		{
			out[o++] = ',';
			out[o++] = ' ';
		}
		else
			out[o++] = *w;
	}
	out[o] = '\0';
}

hc_field_verdict
hc_field_check(const hc_field_rule *rule, hc_json_kind kind, const char *value, size_t len,
			   int64_t *integer, char *detail, size_t detail_len)
{
	char		shown[HC_IMPORT_SHORT + 4];
	bool		wants_number = rule->kind == HC_FIELD_ID || rule->kind == HC_FIELD_INT;
	/* (an identifier is personal data: a message never shows it) */
	bool		hidden = rule->kind == HC_FIELD_IDENTIFIER;
	bool		overflow;
	size_t		max_len;

	if (kind == HC_JSON_NULL)
		return HC_FIELD_ABSENT;
	if (!hidden && (kind == HC_JSON_STRING || kind == HC_JSON_NUMBER || kind == HC_JSON_BOOLEAN))
		hc_shorten(value, len, HC_IMPORT_SHORT, shown);
	else
		shown[0] = '\0';
	if (wants_number != (kind == HC_JSON_NUMBER) || (!wants_number && kind != HC_JSON_STRING))
	{
		if (kind == HC_JSON_STRING && hidden)
			hc_set_detail(detail, detail_len, "a JSON string is not %s", wants_number ? "a JSON number" : "a JSON string");
		else if (kind == HC_JSON_STRING)
			hc_set_detail(detail, detail_len, "\"%s\" is a JSON string, not %s", shown,
						  wants_number ? "a JSON number" : "a JSON string");
		else if (shown[0] != '\0')
			hc_set_detail(detail, detail_len, "%s is %s, not %s", shown, hc_json_kind_name(kind),
						  wants_number ? "a JSON number" : "a JSON string");
		else
			hc_set_detail(detail, detail_len, "%s is not %s", hc_json_kind_name(kind),
						  wants_number ? "a JSON number" : "a JSON string");
		return HC_FIELD_WRONG_TYPE;
	}
	switch (rule->kind)
	{
		case HC_FIELD_ID:
		case HC_FIELD_INT:
			if (!parse_int64(value, len, integer, &overflow))
			{
				hc_set_detail(detail, detail_len, "%s is not an integer", shown);
				return HC_FIELD_WRONG_TYPE;
			}
			if (overflow || *integer < rule->lo || *integer > rule->hi)
			{
				if (rule->kind == HC_FIELD_ID)
					hc_set_detail(detail, detail_len, "%s is not a person id (ids run from 1 to %lld)",
								  shown, (long long) INT64_MAX);
				else
					hc_set_detail(detail, detail_len, "%s is out of range (%lld to %lld)", shown,
								  (long long) rule->lo, (long long) rule->hi);
				return HC_FIELD_OUT_OF_RANGE;
			}
			return HC_FIELD_OK;
		case HC_FIELD_DIVISION:
			{
				uint32_t	region;
				char		why[160];

				if (hc_region_parse(value, len, &region, why, sizeof(why)) != HC_OK)
				{
					hc_set_detail(detail, detail_len, "\"%s\" is not a division code: %s", shown, why);
					return HC_FIELD_BAD_VALUE;
				}
				if (region == 0)
				{
					hc_set_detail(detail, detail_len, "\"%s\" is the nation, not a division", shown);
					return HC_FIELD_BAD_VALUE;
				}
				return HC_FIELD_OK;
			}
		case HC_FIELD_PLACE:
			{
				int64_t		place;
				char		why[200];

				if (hc_place_parse(value, len, &place, why, sizeof(why)) != HC_OK)
				{
					hc_set_detail(detail, detail_len, "\"%s\" is not a place code: %s", shown, why);
					return HC_FIELD_BAD_VALUE;
				}
				return HC_FIELD_OK;
			}
		case HC_FIELD_ENUM:
			if (!enum_has(rule->words, value, len))
			{
				char		list[HC_IMPORT_ENUM_MAX * 2];

				enum_list(rule->words, list, sizeof(list));
				hc_set_detail(detail, detail_len, "\"%s\" is not one of %s", shown, list);
				return HC_FIELD_BAD_VALUE;
			}
			return HC_FIELD_OK;
		case HC_FIELD_TEXT:
		case HC_FIELD_IDENTIFIER:
		case HC_FIELD_EVIDENCE_TIME:
		case HC_FIELD_TIME:
			max_len = rule->kind == HC_FIELD_TEXT ? HC_IMPORT_TEXT_MAX
				: rule->kind == HC_FIELD_IDENTIFIER ? HC_IMPORT_IDENTIFIER_MAX : HC_IMPORT_TIME_MAX;
			if (len == 0 || memchr(value, '\0', len) != NULL)
			{
				if (hidden)
					hc_set_detail(detail, detail_len, "the identifier is empty or holds a NUL character");
				else
					hc_set_detail(detail, detail_len, "\"%s\" is empty or holds a NUL character", shown);
				return HC_FIELD_BAD_VALUE;
			}
			if (len > max_len)
			{
				if (hidden)
					hc_set_detail(detail, detail_len, "the identifier is longer than %zu bytes (%zu)", max_len, len);
				else
					hc_set_detail(detail, detail_len, "\"%s\" is longer than %zu bytes (%zu)", shown, max_len, len);
				return HC_FIELD_BAD_VALUE;
			}
			return HC_FIELD_OK;
	}
	hc_set_detail(detail, detail_len, "unknown rule");
	return HC_FIELD_BAD_VALUE;
}
