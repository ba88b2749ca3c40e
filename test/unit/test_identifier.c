/*
 * test_identifier.c — unit tests of the identity documents
 * (src/hc_identifier.h): every kind with good and bad check characters,
 * birth dates and regions; the normalized forms; messages that never
 * quote the identifier.
 */
#include "hc_identifier.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

#define TODAY 20261205

static hc_identifier_kind
norm(const char *in, char *out, char *detail)
{
	detail[0] = '\0';
	return hc_identifier_normalize(in, strlen(in), TODAY, out, detail, 160);
}

/* accepted as kind, normalized to want */
static void
accepts(const char *in, hc_identifier_kind kind, const char *want, const char *what)
{
	char		out[HC_IDENTIFIER_OUT];
	char		detail[160];
	hc_identifier_kind got = norm(in, out, detail);

	if (!CHECK(got == kind && strcmp(out, want) == 0, "identifier: %s accepted as %s", what,
			   hc_identifier_kind_name(kind)))
		DIAG("got %s \"%s\" (%s)", hc_identifier_kind_name(got), out, detail);
}

/* refused with a message holding expect, and not quoting the input */
static void
refuses(const char *in, const char *expect, const char *what)
{
	char		out[HC_IDENTIFIER_OUT];
	char		detail[160];
	hc_identifier_kind got = norm(in, out, detail);
	bool		quotes = strlen(in) >= 4 && strstr(detail, in) != NULL;

	if (!CHECK(got == HC_ID_INVALID && strstr(detail, expect) != NULL && !quotes && out[0] == '\0',
			   "identifier: %s refused (%s)", what, expect))
		DIAG("got %s \"%s\" (%s)", hc_identifier_kind_name(got), out, detail);
}

/* a number with its check character made right */
static void
with_check(const char *first17, char *out)
{
	memcpy(out, first17, 17);
	out[17] = hc_identifier_check_char(first17);
	out[18] = '\0';
}

void
test_identifiers(void)
{
	char		good[19];
	char		wrong[19];
	char		typed[80];

	/* GB 11643's worked example: 11010519491231002X */
	CHECK(hc_identifier_check_char("11010519491231002") == 'X', "identifier: GB 11643's example has check X");
	accepts("11010519491231002X", HC_ID_RESIDENT, "11010519491231002X", "GB 11643's example");
	accepts("11010519491231002x", HC_ID_RESIDENT, "11010519491231002X", "a lower-case x");
	accepts(" 110105 19491231 002X\t", HC_ID_RESIDENT, "11010519491231002X", "blanks typed with it");
	/* ideographic space and full-width digits, as Chinese input methods type them */
	snprintf(typed, sizeof(typed), "\xEF\xBC\x91\xEF\xBC\x91" "0105\xE3\x80\x80" "19491231002\xEF\xBD\x98");
	accepts(typed, HC_ID_RESIDENT, "11010519491231002X", "full-width digits, ideographic space, full-width x");
	with_check("33010619900101123", good);
	accepts(good, HC_ID_RESIDENT, good, "a Hangzhou number");
	/* every wrong check character is refused */
	for (const char *c = "0123456789X"; *c; c++)
	{
		if (*c == good[17])
			continue;
		memcpy(wrong, good, 19);
		wrong[17] = *c;
		refuses(wrong, "wrong check character", "a wrong check character");
	}
	/* a single changed digit is always caught */
	memcpy(wrong, good, 19);
	wrong[9] = wrong[9] == '9' ? '8' : '9';
	refuses(wrong, "wrong check character", "one digit changed");
	/* two neighbours swapped are caught (MOD 11-2) */
	memcpy(wrong, good, 19);
	wrong[14] = good[15];
	wrong[15] = good[14];
	if (good[14] != good[15])
		refuses(wrong, "wrong check character", "two neighbouring digits swapped");

	with_check("79010619900101123", good);
	refuses(good, "first two digits", "region 79");
	with_check("71010019900101123", good);
	refuses(good, "first two digits", "Taiwan's 71: no resident ID cards");
	with_check("00000019900101123", good);
	refuses(good, "first two digits", "region 00");
	with_check("33010619901301123", good);
	refuses(good, "no date of the calendar", "month 13");
	with_check("33010619900230123", good);
	refuses(good, "no date of the calendar", "30 February");
	with_check("33010620000229123", good);
	accepts(good, HC_ID_RESIDENT, good, "29 February 2000 (a leap year)");
	with_check("33010619000229123", good);
	refuses(good, "no date of the calendar", "29 February 1900 (no leap year)");
	with_check("33010618991231123", good);
	refuses(good, "before 1900", "born in 1899");
	with_check("33010620261206123", good);
	refuses(good, "in the future", "born tomorrow");
	with_check("33010620261205123", good);
	accepts(good, HC_ID_RESIDENT, good, "born today");

	/* residence permits for Hong Kong, Macao and Taiwan residents */
	with_check("81000019900101123", good);
	accepts(good, HC_ID_RESIDENCE_PERMIT, good, "a Hong Kong resident's residence permit");
	with_check("83000019851111003", good);
	accepts(good, HC_ID_RESIDENCE_PERMIT, good, "a Taiwan resident's residence permit");
	with_check("81010019900101123", good);
	refuses(good, "not 810000, 820000 or 830000", "a residence permit with a county");
	/* foreigners' permanent residence ID (2023) */
	with_check("93184019900101123", good);
	accepts(good, HC_ID_PERMANENT_RESIDENT, good, "a permanent residence ID of Shanghai (province 31)");
	with_check("99984019900101123", good);
	refuses(good, "issues none", "a permanent residence ID of no province");

	/* the first generation, widened */
	accepts("330106900101123", HC_ID_RESIDENT, "33010619900101123X", "a 15-digit first-generation number");
	with_check("33010619900101123", good);
	CHECK(strcmp(good, "33010619900101123X") == 0, "identifier: the widened number is the 18-digit one");
	refuses("330106901301123", "no date of the calendar", "a first-generation number born in month 13");
	refuses("990106900101123", "first two digits", "a first-generation number of region 99");

	/* travel permits */
	accepts("H12345678", HC_ID_HK_MACAO_PERMIT, "H12345678", "a Hong Kong permit");
	accepts("m 1234 5678", HC_ID_HK_MACAO_PERMIT, "M12345678", "a Macao permit typed in lower case");
	accepts("H1234567801", HC_ID_HK_MACAO_PERMIT, "H12345678", "an older Hong Kong permit with its issue count");
	refuses("H1234567", "no identity document", "a Hong Kong permit of 7 digits");
	refuses("K12345678", "no identity document", "a permit letter K");
	accepts("12345678", HC_ID_TAIWAN_PERMIT, "12345678", "a Taiwan permit");
	accepts("1234567801", HC_ID_TAIWAN_PERMIT, "12345678", "an older Taiwan permit with its issue count");
	accepts("0561682001(D)", HC_ID_TAIWAN_PERMIT, "05616820", "an older Taiwan permit with the office's letter");
	accepts("0561682001\xEF\xBC\x88" "d\xEF\xBC\x89", HC_ID_TAIWAN_PERMIT, "05616820",
			"the same with full-width brackets and a lower-case letter");
	refuses("1234567", "no identity document", "7 digits");
	refuses("12345678(01)", "no identity document", "an issue count in brackets (no such layout)");
	refuses("0561682001(DD)", "no identity document", "two letters in brackets");

	/* passports */
	accepts("CHN:E12345678", HC_ID_PASSPORT, "CHN:E12345678", "a Chinese passport E and 8 digits");
	accepts("chn:ea1234567", HC_ID_PASSPORT, "CHN:EA1234567", "a Chinese passport E, a letter, 7 digits");
	accepts("CHN:G12345678", HC_ID_PASSPORT, "CHN:G12345678", "an older Chinese passport");
	accepts("CHN:DE1234567", HC_ID_PASSPORT, "CHN:DE1234567", "a Chinese diplomatic passport");
	refuses("CHN:EI1234567", "Chinese passport", "a Chinese passport E with the letter I");
	refuses("CHN:123456789", "Chinese passport", "a Chinese passport of digits only");
	refuses("CHN:E1234567", "Chinese passport", "a Chinese passport of 8 characters");
	accepts("CHN:K12345678", HC_ID_PASSPORT, "CHN:K12345678", "a Hong Kong SAR passport");
	accepts("CHN:MA1234567", HC_ID_PASSPORT, "CHN:MA1234567", "a Macao SAR passport");
	accepts("D<<:C01X00T47", HC_ID_PASSPORT, "DEU:C01X00T47", "Germany's D as the MRZ fills it");
	accepts("USA:123456789", HC_ID_PASSPORT, "USA:123456789", "a US passport");
	accepts("D:C01X00T47", HC_ID_PASSPORT, "DEU:C01X00T47", "a German passport with the MRZ's D");
	accepts("GBR:12345<<<<", HC_ID_PASSPORT, "GBR:12345", "a number padded with MRZ fillers");
	refuses("US:123456789", "three letters", "a two-letter country");
	refuses("U1A:123456789", "three letters", "a country with a digit");
	refuses("USA:1234", "5 to 9", "a 4-character number");
	refuses("USA:1234567890", "5 to 9", "a 10-character number");
	refuses("USA:12(456789", "5 to 9", "a bracket in a number");
	refuses("USA:123:456789", "more than one colon", "two colons");

	/* not a document at all */
	refuses("", "must not be empty", "nothing");
	refuses(" \t\xE3\x80\x80 ", "must not be empty", "blanks only");
	refuses("bad id", "no identity document", "'bad id'");
	refuses("330106199001011234 ", "wrong check character", "a wrong check character with a blank");
	refuses("33010619900101123Y", "17 digits, then a digit or X", "18 characters ending in Y");
	refuses("3301061990-0101123X", "character no identity document number has (character 11)", "a hyphen");
	refuses("\xE5\xBC\xA0\xE4\xB8\x89", "character no identity document number has (character 1)",
			"a Chinese name");
	refuses("\xEF\xBC", "character no identity document", "a cut UTF-8 sequence");
	memset(typed, '1', 70);
	typed[70] = '\0';
	refuses(typed, "too long", "70 digits");

	/* the same person, however typed */
	{
		char		a[HC_IDENTIFIER_OUT], b[HC_IDENTIFIER_OUT], d[160];

		norm("330106900101123", a, d);
		norm("33010619900101123x", b, d);
		CHECK(strcmp(a, b) == 0, "identifier: a first-generation number and its 18-digit form normalize alike");
	}
	CHECK(strcmp(hc_identifier_kind_name(HC_ID_PASSPORT), "passport") == 0 &&
		  strcmp(hc_identifier_kind_name(HC_ID_INVALID), "invalid") == 0, "identifier: kind names");
}
