/*
 * hc_identifier.h — identity documents as the extension accepts them
 * (pure C, no PostgreSQL header): which document a typed identifier is,
 * whether it is well formed, and the one form it is hashed in, so that a
 * number typed with blanks, full-width digits, a lower-case x or an old
 * layout names the same person as the number printed on the card.
 *
 * Documents (the form each is normalized to on the right):
 *   resident ID (居民身份证), GB 11643-1999: 6-digit region, birth date
 *     YYYYMMDD, 3-digit sequence, ISO 7064 MOD 11-2 check character
 *                                                    18 characters
 *   the same, first generation: 15 digits (region, YYMMDD of the 1900s,
 *     sequence), widened as the public security bureau widens it
 *                                                    18 characters
 *   residence permit for Hong Kong, Macao and Taiwan residents
 *     (港澳台居民居住证): the resident ID layout with region 810000,
 *     820000 or 830000                               18 characters
 *   foreigner's permanent residence ID card (外国人永久居留身份证, 2023):
 *     the resident ID layout, 9 and the issuing province's two digits
 *     first                                          18 characters
 *   mainland travel permit for Hong Kong and Macao residents
 *     (港澳居民来往内地通行证): H or M and 8 digits; the older form's
 *     two-digit issue count after them is dropped   H12345678
 *   mainland travel permit for Taiwan residents (台湾居民来往大陆通行证):
 *     8 digits; the older card's two digits counting its issues, and the
 *     issuing office's letter in brackets, after them are dropped
 *                                                    12345678
 *   passport: COUNTRY:NUMBER, the issuing state's ICAO 9303 code (three
 *     letters; Germany's D read as DEU) and the number (5 to 9 letters
 *     and digits, the MRZ's < fillers dropped); a Chinese passport's
 *     (mainland, Hong Kong SAR, Macao SAR) number a letter, a letter or
 *     a digit, and 7 digits                          CHN:E12345678
 *
 * A region is checked down to the province: an ID number keeps the
 * county code it was issued under, also when the county has since been
 * merged or renamed (GB/T 2260 withdraws such codes, the cards stay).
 */
#ifndef HC_IDENTIFIER_H
#define HC_IDENTIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_IDENTIFIER_MAX      64	/* characters of an identifier as typed */
#define HC_IDENTIFIER_OUT      20	/* a buffer for any normalized form and
									 * its NUL (at most 18 characters) */

typedef enum hc_identifier_kind
{
	HC_ID_INVALID = 0,
	HC_ID_RESIDENT,				/* 居民身份证 (also widened first generation) */
	HC_ID_RESIDENCE_PERMIT,		/* 港澳台居民居住证 */
	HC_ID_PERMANENT_RESIDENT,	/* 外国人永久居留身份证 */
	HC_ID_HK_MACAO_PERMIT,		/* 港澳居民来往内地通行证 */
	HC_ID_TAIWAN_PERMIT,		/* 台湾居民来往大陆通行证 */
	HC_ID_PASSPORT
} hc_identifier_kind;

/*
 * Reads an identifier as typed (len bytes of UTF-8, no NUL needed) and
 * writes its normalized form into out (NUL-terminated). today is the
 * current date as YYYYMMDD (a birth date after it is refused), or 0 not to
 * ask. Returns the document's kind, or HC_ID_INVALID with what is wrong in
 * detail — never the identifier itself nor a part of it: it is personal
 * data, and messages end up in logs.
 */
hc_identifier_kind hc_identifier_normalize(const char *in, size_t len, int32_t today,
										   char out[HC_IDENTIFIER_OUT],
										   char *detail, size_t detail_len);

/* The kind's name as SQL shows it ("resident_id", "passport", ...). */
const char *hc_identifier_kind_name(hc_identifier_kind kind);

/* The GB 11643 check character of the first 17 digits of an ID number. */
char		hc_identifier_check_char(const char *first17);

#endif							/* HC_IDENTIFIER_H */
