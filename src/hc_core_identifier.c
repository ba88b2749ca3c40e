/*
 * hc_core_identifier.c — identity documents: which one an identifier is,
 * whether it is well formed, and its normalized form (hc_identifier.h).
 * Pure C; messages never quote the identifier or a part of it.
 */
#include "hc_identifier.h"
#include "hc_core.h"

#include <string.h>

/* Provinces (GB/T 2260's first two digits) that issue resident ID cards;
 * 71 (Taiwan) issues none. 81, 82 and 83 are the residence permits'. */
static bool
province_issues_ids(int p)
{
	return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
		(p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65);
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

static int
digits_value(const char *s, size_t n)
{
	int			v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

char
hc_identifier_check_char(const char *first17)
{
	static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	int			sum = 0;

	for (int i = 0; i < 17; i++)
		sum += (first17[i] - '0') * weights[i];
	return "10X98765432"[sum % 11];
}

const char *
hc_identifier_kind_name(hc_identifier_kind kind)
{
	switch (kind)
	{
		case HC_ID_RESIDENT:
			return "resident_id";
		case HC_ID_RESIDENCE_PERMIT:
			return "residence_permit";
		case HC_ID_PERMANENT_RESIDENT:
			return "permanent_residence_id";
		case HC_ID_HK_MACAO_PERMIT:
			return "hk_macao_travel_permit";
		case HC_ID_TAIWAN_PERMIT:
			return "taiwan_travel_permit";
		case HC_ID_PASSPORT:
			return "passport";
		case HC_ID_INVALID:
			break;
	}
	return "invalid";
}

/*
 * The identifier as one compact ASCII string: blanks (the ideographic
 * space among them) dropped, full-width forms (U+FF01..U+FF5E, as Chinese
 * input methods type them) made ASCII, letters upper case. Only the
 * characters some document has are kept; false on any other.
 */
static bool
compact(const char *in, size_t len, char *out, size_t *out_len, char *detail, size_t detail_len)
{
	size_t		n = 0;
	size_t		chars = 0;
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = (unsigned char) in[i];
		unsigned	cp;
		size_t		width;

		chars++;
		if (c < 0x80)
		{
			cp = c;
			width = 1;
		}
		else if (c == 0xE3 && i + 2 < len && (unsigned char) in[i + 1] == 0x80 &&
				 (unsigned char) in[i + 2] == 0x80)
		{
			/* U+3000, the ideographic space */
			i += 3;
			continue;
		}
		else if (c == 0xEF && i + 2 < len && ((unsigned char) in[i + 1] == 0xBC ||
											   (unsigned char) in[i + 1] == 0xBD) &&
				 ((unsigned char) in[i + 2] & 0xC0) == 0x80)
		{
			cp = 0xF000u | (((unsigned char) in[i + 1] & 0x3Fu) << 6) | ((unsigned char) in[i + 2] & 0x3Fu);
			cp = (cp >= 0xFF01 && cp <= 0xFF5E) ? cp - 0xFEE0 : 0;
			width = 3;
		}
		else
		{
			cp = 0;
			width = 1;
		}
		if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
		{
			i += width;
			continue;
		}
		if (cp >= 'a' && cp <= 'z')
			cp -= 'a' - 'A';
		if (!(is_digit((char) cp) || is_upper((char) cp) || cp == ':' || cp == '(' || cp == ')' || cp == '<'))
		{
			hc_set_detail(detail, detail_len,
						  "holds a character no identity document number has (character %zu)", chars);
			return false;
		}
		if (n >= HC_IDENTIFIER_MAX)
		{
			hc_set_detail(detail, detail_len, "is too long (at most %d characters)", HC_IDENTIFIER_MAX);
			return false;
		}
		out[n++] = (char) cp;
		i += width;
	}
	out[n] = '\0';
	*out_len = n;
	if (n == 0)
	{
		hc_set_detail(detail, detail_len, "must not be empty");
		return false;
	}
	return true;
}

static bool
leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A birth date written YYYYMMDD: a real date from 1900 on, not after today. */
static bool
birth_date_valid(const char *s, int32_t today, char *detail, size_t detail_len)
{
	static const int days_in[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y = digits_value(s, 4);
	int			m = digits_value(s + 4, 2);
	int			d = digits_value(s + 6, 2);

	if (m < 1 || m > 12 || d < 1 || d > days_in[m - 1] + (m == 2 && leap_year(y)))
	{
		hc_set_detail(detail, detail_len, "has a birth date that is no date of the calendar");
		return false;
	}
	if (y < 1900)
	{
		hc_set_detail(detail, detail_len, "has a birth date before 1900");
		return false;
	}
	if (today > 0 && y * 10000 + m * 100 + d > today)
	{
		hc_set_detail(detail, detail_len, "has a birth date in the future");
		return false;
	}
	return true;
}

/* The 18-character layout: resident ID, residence permit, permanent
 * residence ID. s holds 17 digits and a digit or X. */
static hc_identifier_kind
eighteen(const char *s, int32_t today, char *out, char *detail, size_t detail_len)
{
	hc_identifier_kind kind;
	int			province = digits_value(s, 2);

	if (s[0] == '9')
	{
		if (!province_issues_ids(digits_value(s + 1, 2)))
		{
			hc_set_detail(detail, detail_len,
						  "is a permanent residence ID number whose province (characters 2 and 3) issues none");
			return HC_ID_INVALID;
		}
		kind = HC_ID_PERMANENT_RESIDENT;
	}
	else if (province >= 81 && province <= 83)
	{
		if (!all_digits(s + 2, 4) || digits_value(s + 2, 4) != 0)
		{
			hc_set_detail(detail, detail_len,
						  "is a residence permit number whose region is not 810000, 820000 or 830000");
			return HC_ID_INVALID;
		}
		kind = HC_ID_RESIDENCE_PERMIT;
	}
	else if (province_issues_ids(province))
		kind = HC_ID_RESIDENT;
	else
	{
		hc_set_detail(detail, detail_len, "has a region (its first two digits) that issues no ID number");
		return HC_ID_INVALID;
	}
	if (!birth_date_valid(s + 6, today, detail, detail_len))
		return HC_ID_INVALID;
	if (hc_identifier_check_char(s) != s[17])
	{
		hc_set_detail(detail, detail_len, "has a wrong check character (the 18th, GB 11643)");
		return HC_ID_INVALID;
	}
	memcpy(out, s, 18);
	out[18] = '\0';
	return kind;
}

/* A passport issued as CHN: nine characters, a letter, a letter or a
 * digit, then 7 digits: the mainland's E and 8 digits, E, a letter (not I
 * or O) and 7 digits, G and 8 digits (before 2012), DE, SE or PE
 * (diplomatic, service, public affairs) and 7 digits; the Hong Kong SAR's
 * K or H and 8 digits; the Macao SAR's MA and 7 digits. */
static bool
chinese_passport_number(const char *s, size_t n)
{
	if (n != 9 || !is_upper(s[0]) || !(is_upper(s[1]) || is_digit(s[1])) || !all_digits(s + 2, 7))
		return false;
	return !(s[0] == 'E' && (s[1] == 'I' || s[1] == 'O'));
}

static hc_identifier_kind
passport(const char *s, size_t n, char *out, char *detail, size_t detail_len)
{
	const char *colon = memchr(s, ':', n);
	size_t		country_len = (size_t) (colon - s);
	const char *number = colon + 1;
	size_t		number_len = n - country_len - 1;
	char		country[4];

	if (memchr(number, ':', number_len) != NULL)
	{
		hc_set_detail(detail, detail_len, "is a passport (COUNTRY:NUMBER) with more than one colon");
		return HC_ID_INVALID;
	}
	/* the machine-readable zone fills a short country code with < (D<<) */
	while (country_len > 0 && s[country_len - 1] == '<')
		country_len--;
	for (size_t i = 0; i < country_len; i++)
		if (!is_upper(s[i]))
			country_len = 0;
	if (country_len == 1 && s[0] == 'D')
		memcpy(country, "DEU", 4);	/* ICAO 9303: Germany writes D */
	else if (country_len == 3)
	{
		memcpy(country, s, 3);
		country[3] = '\0';
	}
	else
	{
		hc_set_detail(detail, detail_len,
					  "is a passport (COUNTRY:NUMBER) whose country is not three letters (ICAO 9303, e.g. CHN)");
		return HC_ID_INVALID;
	}
	/* the machine-readable zone pads a short number with < */
	while (number_len > 0 && number[number_len - 1] == '<')
		number_len--;
	if (number_len < 5 || number_len > 9)
	{
		hc_set_detail(detail, detail_len, "is a passport whose number is not 5 to 9 letters and digits");
		return HC_ID_INVALID;
	}
	for (size_t i = 0; i < number_len; i++)
		if (!is_digit(number[i]) && !is_upper(number[i]))
		{
			hc_set_detail(detail, detail_len, "is a passport whose number is not 5 to 9 letters and digits");
			return HC_ID_INVALID;
		}
	if (strcmp(country, "CHN") == 0 && !chinese_passport_number(number, number_len))
	{
		hc_set_detail(detail, detail_len,
					  "is a Chinese passport whose number is not a letter, a letter or a digit, and 7 digits "
					  "(E12345678, EA1234567, K12345678, MA1234567)");
		return HC_ID_INVALID;
	}
	memcpy(out, country, 3);
	out[3] = ':';
	memcpy(out + 4, number, number_len);
	out[4 + number_len] = '\0';
	return HC_ID_PASSPORT;
}

hc_identifier_kind
hc_identifier_normalize(const char *in, size_t len, int32_t today, char out[HC_IDENTIFIER_OUT],
						char *detail, size_t detail_len)
{
	char		s[HC_IDENTIFIER_MAX + 1];
	size_t		n;

	out[0] = '\0';
	if (!compact(in, len, s, &n, detail, detail_len))
		return HC_ID_INVALID;
	if (memchr(s, ':', n) != NULL)
		return passport(s, n, out, detail, detail_len);
	if (n == 18 && all_digits(s, 17) && (is_digit(s[17]) || s[17] == 'X'))
		return eighteen(s, today, out, detail, detail_len);
	if (n == 15 && all_digits(s, 15))
	{
		/* first generation: the 1900s' two-digit year, no check character */
		char		wide[18];

		if (!province_issues_ids(digits_value(s, 2)))
		{
			hc_set_detail(detail, detail_len, "has a region (its first two digits) that issues no ID number");
			return HC_ID_INVALID;
		}
		memcpy(wide, s, 6);
		memcpy(wide + 6, "19", 2);
		memcpy(wide + 8, s + 6, 9);
		wide[17] = hc_identifier_check_char(wide);
		return eighteen(wide, today, out, detail, detail_len);
	}
	if ((s[0] == 'H' || s[0] == 'M') && (n == 9 || n == 11) && all_digits(s + 1, n - 1))
	{
		/* the older permit's last two digits count its issues */
		memcpy(out, s, 9);
		out[9] = '\0';
		return HC_ID_HK_MACAO_PERMIT;
	}
	if ((n == 8 && all_digits(s, 8)) || (n == 10 && all_digits(s, 10)) ||
		(n == 13 && all_digits(s, 10) && s[10] == '(' && (is_upper(s[11]) || is_digit(s[11])) && s[12] == ')'))
	{
		/* the older card: two digits counting its issues after the
		 * lifetime number, and the issuing office's letter in brackets */
		memcpy(out, s, 8);
		out[8] = '\0';
		return HC_ID_TAIWAN_PERMIT;
	}
	if (n == 18)
		hc_set_detail(detail, detail_len,
					  "is 18 characters but not an ID number (17 digits, then a digit or X)");
	else
		hc_set_detail(detail, detail_len,
					  "is no identity document number: an ID number (18 characters, or 15 digits), a Hong Kong "
					  "or Macao permit (H or M and 8 digits), a Taiwan permit (8 digits) or a passport "
					  "(COUNTRY:NUMBER)");
	return HC_ID_INVALID;
}
