/*
 * test_import.c — unit tests of an import's field rules (hc_import.h):
 * every rule kind with good values, values of the wrong JSON kind,
 * integers with fractions, exponents and overflow, ranges, words, codes,
 * lengths, and shortened echoes that never cut a UTF-8 character.
 */
#include "hc_import.h"

#include <string.h>

#include "tap.h"

static hc_field_verdict
check_value(const char *rule_text, hc_json_kind kind, const char *value, int64_t *integer, char *detail)
{
	hc_field_rule rule;

	if (!hc_field_rule_parse(rule_text, &rule, detail, 256))
		return (hc_field_verdict) -1;
	return hc_field_check(&rule, kind, value, strlen(value), integer, detail, 256);
}

static void
test_rules(void)
{
	hc_field_rule rule;
	char		detail[256];

	CHECK(hc_field_rule_parse("id", &rule, detail, sizeof(detail)) && rule.kind == HC_FIELD_ID && !rule.required &&
		  rule.lo == 1, "rule id: a person id from 1");
	CHECK(hc_field_rule_parse("int:1..10!", &rule, detail, sizeof(detail)) && rule.kind == HC_FIELD_INT &&
		  rule.required && rule.lo == 1 && rule.hi == 10, "rule int:1..10!: required, bounds read");
	CHECK(hc_field_rule_parse("pcr|antigen!", &rule, detail, sizeof(detail)) && rule.kind == HC_FIELD_ENUM &&
		  strcmp(rule.words, "pcr|antigen") == 0, "rule a|b!: words kept without the mark");
	CHECK(!hc_field_rule_parse("int:10..1", &rule, detail, sizeof(detail)) &&
		  !hc_field_rule_parse("int:1", &rule, detail, sizeof(detail)) &&
		  !hc_field_rule_parse("int:1..99999999999999999999", &rule, detail, sizeof(detail)) &&
		  !hc_field_rule_parse("|a", &rule, detail, sizeof(detail)) &&
		  !hc_field_rule_parse("a||b", &rule, detail, sizeof(detail)) &&
		  !hc_field_rule_parse("!", &rule, detail, sizeof(detail)) &&
		  !hc_field_rule_parse("number", &rule, detail, sizeof(detail)),
		  "malformed rules are refused");
}

static void
test_integers(void)
{
	int64_t		v = 0;
	char		detail[256];

	CHECK(check_value("id", HC_JSON_NUMBER, "42", &v, detail) == HC_FIELD_OK && v == 42, "id 42");
	CHECK(check_value("id", HC_JSON_NUMBER, "9223372036854775807", &v, detail) == HC_FIELD_OK &&
		  v == INT64_MAX, "id 2^63-1");
	CHECK(check_value("id", HC_JSON_NUMBER, "1.5", &v, detail) == HC_FIELD_WRONG_TYPE &&
		  strcmp(detail, "1.5 is not an integer") == 0, "id 1.5 is not an integer (never rounded)");
	CHECK(check_value("id", HC_JSON_NUMBER, "2.0", &v, detail) == HC_FIELD_WRONG_TYPE, "id 2.0 is not an integer");
	CHECK(check_value("id", HC_JSON_NUMBER, "1e3", &v, detail) == HC_FIELD_WRONG_TYPE, "id 1e3 is not an integer");
	CHECK(check_value("id", HC_JSON_NUMBER, "9223372036854775808", &v, detail) == HC_FIELD_OUT_OF_RANGE,
		  "id 2^63 is out of range");
	CHECK(check_value("id", HC_JSON_NUMBER, "99999999999999999999999", &v, detail) == HC_FIELD_OUT_OF_RANGE,
		  "id beyond uint64 is out of range");
	CHECK(check_value("id", HC_JSON_NUMBER, "0", &v, detail) == HC_FIELD_OUT_OF_RANGE &&
		  check_value("id", HC_JSON_NUMBER, "-1", &v, detail) == HC_FIELD_OUT_OF_RANGE &&
		  check_value("id", HC_JSON_NUMBER, "-9223372036854775809", &v, detail) == HC_FIELD_OUT_OF_RANGE,
		  "ids 0, -1 and below int64 are out of range");
	CHECK(check_value("id", HC_JSON_STRING, "7", &v, detail) == HC_FIELD_WRONG_TYPE &&
		  strstr(detail, "\"7\" is a JSON string, not a JSON number") != NULL, "id \"7\" (a string) is the wrong type");
	CHECK(check_value("id", HC_JSON_BOOLEAN, "true", &v, detail) == HC_FIELD_WRONG_TYPE, "id true is the wrong type");
	CHECK(check_value("int:1..10", HC_JSON_NUMBER, "10", &v, detail) == HC_FIELD_OK && v == 10 &&
		  check_value("int:1..10", HC_JSON_NUMBER, "11", &v, detail) == HC_FIELD_OUT_OF_RANGE &&
		  strcmp(detail, "11 is out of range (1 to 10)") == 0, "int:1..10: 10 in, 11 out");
	CHECK(check_value("int:-5..5", HC_JSON_NUMBER, "-5", &v, detail) == HC_FIELD_OK && v == -5,
		  "negative bounds");
	CHECK(check_value("int:1..10", HC_JSON_NULL, "null", &v, detail) == HC_FIELD_ABSENT, "null is absent");
}

static void
test_strings(void)
{
	int64_t		v = 0;
	char		detail[256];
	char		big[2000];

	CHECK(check_value("division", HC_JSON_STRING, "330106", &v, detail) == HC_FIELD_OK, "division 330106");
	CHECK(check_value("division", HC_JSON_STRING, "000000", &v, detail) == HC_FIELD_BAD_VALUE &&
		  check_value("division", HC_JSON_STRING, "4601", &v, detail) == HC_FIELD_BAD_VALUE &&
		  check_value("division", HC_JSON_STRING, "990000", &v, detail) == HC_FIELD_BAD_VALUE,
		  "division: the nation, a short code and an unknown province are refused");
	CHECK(check_value("division", HC_JSON_NUMBER, "330106", &v, detail) == HC_FIELD_WRONG_TYPE,
		  "division as a JSON number is the wrong type");
	CHECK(check_value("telecom|transport", HC_JSON_STRING, "transport", &v, detail) == HC_FIELD_OK &&
		  check_value("telecom|transport", HC_JSON_STRING, "trans", &v, detail) == HC_FIELD_BAD_VALUE &&
		  strcmp(detail, "\"trans\" is not one of telecom, transport") == 0,
		  "words: whole words only, the list named");
	CHECK(check_value("text", HC_JSON_STRING, "", &v, detail) == HC_FIELD_BAD_VALUE, "empty text is refused");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(check_value("text", HC_JSON_STRING, big, &v, detail) == HC_FIELD_BAD_VALUE && strlen(detail) < 120,
		  "text over the limit is refused, the message short");
	CHECK(check_value("identifier", HC_JSON_STRING, big + 1900, &v, detail) == HC_FIELD_BAD_VALUE,
		  "an identifier of 99 bytes is too long");
	CHECK(strstr(detail, "xxxx") == NULL &&
		  check_value("identifier", HC_JSON_NUMBER, "33010619900101123X", &v, detail) == HC_FIELD_WRONG_TYPE &&
		  strstr(detail, "3301061990") == NULL,
		  "an identifier is never shown in a message (too long, or a JSON number)");
	CHECK(check_value("evidence_time", HC_JSON_STRING, "2022-04-02T10:00:00+08:00", &v, detail) == HC_FIELD_OK &&
		  check_value("time", HC_JSON_NUMBER, "1650000000", &v, detail) == HC_FIELD_WRONG_TYPE,
		  "times are strings (the glue parses them)");
	CHECK(check_value("text", HC_JSON_OBJECT, "", &v, detail) == HC_FIELD_WRONG_TYPE &&
		  strcmp(detail, "a JSON object is not a JSON string") == 0, "an object for a string is the wrong type");
}

static void
test_shorten(void)
{
	char		out[HC_IMPORT_SHORT + 4];
	/* 14 three-byte characters: 42 bytes, the 40-byte cut falls inside the 14th */
	const char *han = "健康码健康码健康码健康码健康";

	hc_shorten("abc", 3, HC_IMPORT_SHORT, out);
	CHECK(strcmp(out, "abc") == 0, "a short value is echoed whole");
	hc_shorten(han, strlen(han), HC_IMPORT_SHORT, out);
	CHECK(strlen(out) == 39 + 3 && strcmp(out + 39, "...") == 0,
		  "a long UTF-8 value is cut at a character boundary, then ...");
	hc_shorten("a\nb\x01", 4, HC_IMPORT_SHORT, out);
	CHECK(strcmp(out, "a?b?") == 0, "control characters are echoed as ?");
	hc_shorten("abcdef", 6, 0, out);
	CHECK(strcmp(out, "...") == 0, "max 0: only the mark");
}

void
test_import_fields(void)
{
	test_rules();
	test_integers();
	test_strings();
	test_shorten();
}
