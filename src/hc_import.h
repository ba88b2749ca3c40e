/*
 * hc_import.h — the rules an import's fields are checked by (pure C, no
 * PostgreSQL header), so that every import states its fields once and a
 * unit test and a fuzzer can exercise the checks on their own.
 *
 * An import names each field's rule in a short text:
 *   id                 a person's id: a JSON integer from 1 to 2^63-1
 *   int:LO..HI         a JSON integer in [LO, HI]
 *   text               a JSON string, 1 to HC_IMPORT_TEXT_MAX bytes
 *   identifier         a JSON string, 1 to HC_IMPORT_IDENTIFIER_MAX bytes
 *   division           a JSON string holding a valid division code other
 *                      than the nation's (000000)
 *   place              a JSON string holding a place code: a division, a
 *                      township (9 digits) or a village (12): hc_place_parse
 *   a|b|c              a JSON string equal to one of the words
 *   evidence_time      a JSON string holding a time when evidence can have
 *                      happened: from the health-code era to now (the
 *                      PostgreSQL glue parses and bounds it)
 *   time               a JSON string holding a time of the health-code era
 *                      up to HC_IMPORT_LAST_YEAR (bulletins may be dated
 *                      ahead)
 * A trailing ! makes the field required; JSON null is the same as absent.
 */
#ifndef HC_IMPORT_H
#define HC_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_IMPORT_TEXT_MAX 1000
#define HC_IMPORT_IDENTIFIER_MAX 64
#define HC_IMPORT_TIME_MAX 64	/* bytes of a time's text */
#define HC_IMPORT_ENUM_MAX 128	/* bytes of an enum rule's word list */
#define HC_IMPORT_SHORT 40		/* bytes of a value echoed in a message */
#define HC_IMPORT_LAST_YEAR 2099

typedef enum hc_field_kind
{
	HC_FIELD_ID,
	HC_FIELD_INT,
	HC_FIELD_TEXT,
	HC_FIELD_IDENTIFIER,
	HC_FIELD_DIVISION,
	HC_FIELD_PLACE,
	HC_FIELD_ENUM,
	HC_FIELD_EVIDENCE_TIME,
	HC_FIELD_TIME
} hc_field_kind;

typedef struct hc_field_rule
{
	hc_field_kind kind;
	bool		required;
	int64_t		lo;				/* HC_FIELD_ID, HC_FIELD_INT */
	int64_t		hi;
	char		words[HC_IMPORT_ENUM_MAX];	/* HC_FIELD_ENUM: "a|b|c" */
} hc_field_rule;

/* The JSON kinds a field's value can have. */
typedef enum hc_json_kind
{
	HC_JSON_STRING,
	HC_JSON_NUMBER,
	HC_JSON_BOOLEAN,
	HC_JSON_NULL,
	HC_JSON_OBJECT,
	HC_JSON_ARRAY
} hc_json_kind;

/* What a check found; each maps to one SQLSTATE in the glue. */
typedef enum hc_field_verdict
{
	HC_FIELD_OK = 0,
	HC_FIELD_ABSENT,			/* JSON null */
	HC_FIELD_WRONG_TYPE,		/* 22P02: not the JSON kind or form asked */
	HC_FIELD_OUT_OF_RANGE,		/* 22003: a number beyond its bounds */
	HC_FIELD_BAD_VALUE			/* 22023: the right kind, a wrong value */
} hc_field_verdict;

/* Parses a rule text; false (with detail) for a malformed one. */
bool		hc_field_rule_parse(const char *text, hc_field_rule *rule,
								char *detail, size_t detail_len);

/*
 * Checks one value (its JSON kind and its text: a string's content, a
 * number's literal). For integer kinds sets *integer. On anything but
 * HC_FIELD_OK and HC_FIELD_ABSENT writes what is wrong into detail,
 * echoing the value shortened ("1.5 is not an integer").
 */
hc_field_verdict hc_field_check(const hc_field_rule *rule, hc_json_kind kind,
								const char *value, size_t len, int64_t *integer,
								char *detail, size_t detail_len);

/*
 * Writes value as an error message echoes it, the one rule for every
 * message of the extension: at most max bytes, cut at a UTF-8 character
 * boundary, "..." appended when cut, control characters as '?'. out needs
 * max + 4 bytes.
 */
void		hc_shorten(const char *value, size_t len, size_t max, char *out);

/* The name of a JSON kind, for messages ("a JSON number"). */
const char *hc_json_kind_name(hc_json_kind kind);

#endif							/* HC_IMPORT_H */
