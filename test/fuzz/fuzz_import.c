/*
 * fuzz_import.c — libFuzzer target for an import's field checks
 * (hc_field_check, hc_shorten). The first byte picks a rule and a
 * JSON kind; the rest is the value. Properties: no crash or read past the
 * value; every refusal says what is wrong in a detail that never echoes
 * more than the shortened value; an accepted integer lies within its rule's
 * bounds and reads back from the value.
 */
#include "hc_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const rules[] = {
	"id", "int:1..10!", "int:-5..5", "text", "identifier!", "division", "a|bc|def", "evidence_time", "time"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hc_field_rule rule;
	char		detail[256];
	char		shown[HC_IMPORT_SHORT + 4];
	int64_t		integer = 0;
	hc_json_kind kind;
	hc_field_verdict verdict;
	const char *value;
	size_t		len;

	if (size < 1)
		return 0;
	if (!hc_field_rule_parse(rules[data[0] % (sizeof(rules) / sizeof(rules[0]))], &rule, detail, sizeof(detail)))
		abort();
	kind = (hc_json_kind) ((data[0] >> 4) % 6);
	value = (const char *) data + 1;
	len = size - 1;
	detail[0] = '\0';
	verdict = hc_field_check(&rule, kind, value, len, &integer, detail, sizeof(detail));
	if (verdict == HC_FIELD_ABSENT && kind != HC_JSON_NULL)
		abort();
	if (verdict != HC_FIELD_OK && verdict != HC_FIELD_ABSENT &&
		(detail[0] == '\0' || strlen(detail) > 200))
		abort();
	if (verdict == HC_FIELD_OK && (rule.kind == HC_FIELD_ID || rule.kind == HC_FIELD_INT))
	{
		char		back[32];

		if (kind != HC_JSON_NUMBER || integer < rule.lo || integer > rule.hi)
			abort();
		/* an accepted integer is written exactly as given (no fraction, no exponent) */
		snprintf(back, sizeof(back), "%lld", (long long) integer);
		if (strlen(back) != len || memcmp(back, value, len) != 0)
		{
			/* only a leading zero or "-0" may differ */
			if (len == 0 || !(value[0] == '0' || (len > 1 && value[0] == '-' && value[1] == '0')))
				abort();
		}
	}
	hc_shorten(value, len, HC_IMPORT_SHORT, shown);
	if (strlen(shown) > HC_IMPORT_SHORT + 3)
		abort();
	return 0;
}
