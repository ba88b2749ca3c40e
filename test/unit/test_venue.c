/*
 * test_venue.c — unit tests of venue codes (hc_core_venue.c): signed and
 * read back, every bit of the signed part covered by the signature, and
 * never mistaken for a personal code nor a personal code for it.
 */
#include "hc_core.h"
#include "tap.h"

#include <sodium.h>
#include <string.h>

void
test_venue_codes(void)
{
	uint8_t		pk[HC_PUBLIC_KEY_LEN], sk[HC_SECRET_KEY_LEN], pk2[HC_PUBLIC_KEY_LEN], sk2[HC_SECRET_KEY_LEN];
	hc_venue_code v, back;
	uint8_t		buf[HC_VENUE_LEN], again[HC_VENUE_LEN];
	char		text[HC_VENUE_MAX_TEXT_LEN];
	char		detail[HC_DETAIL_LEN];
	hc_code		personal;
	size_t		n;
	int			flips_caught = 0;

	hc_keypair(pk, sk);
	hc_keypair(pk2, sk2);
	memset(&v, 0, sizeof(v));
	v.region = 330106;
	v.venue = UINT64_C(4611686018427390001);
	v.issued_at = 1700000000;
	hc_key_id(pk, v.key_id);
	n = hc_venue_sign(&v, sk, buf);
	CHECK(n == HC_VENUE_LEN && buf[0] == HC_VENUE_VERSION, "venue: signed, %d bytes, kind 0x56", HC_VENUE_LEN);
	CHECK(hc_venue_signature_valid(buf, n, pk), "venue: the signature verifies with the region's key");
	CHECK(!hc_venue_signature_valid(buf, n, pk2), "venue: and not with another key");
	CHECK(hc_venue_unpack(buf, n, &back, detail, sizeof(detail)) == HC_OK && back.region == v.region &&
		  back.venue == v.venue && back.issued_at == v.issued_at &&
		  memcmp(back.key_id, v.key_id, HC_KEY_ID_LEN) == 0 && memcmp(back.signature, v.signature, HC_SIG_LEN) == 0,
		  "venue: unpacked, every field as signed");
	for (size_t byte = 0; byte < HC_VENUE_LEN; byte++)
		for (int bit = 0; bit < 8; bit++)
		{
			memcpy(again, buf, HC_VENUE_LEN);
			again[byte] ^= (uint8_t) (1u << bit);
			flips_caught += !hc_venue_signature_valid(again, HC_VENUE_LEN, pk);
		}
	CHECK(flips_caught == HC_VENUE_LEN * 8, "venue: each of the %d single-bit flips fails the signature (%d did)",
		  HC_VENUE_LEN * 8, flips_caught);

	{
		/* the memo answers as the check does: the same bytes and key again
		 * from it, a flipped bit or another key never */
		static hc_venue_memo memo;

		CHECK(hc_venue_signature_valid_memo(&memo, buf, HC_VENUE_LEN, pk) && memo.hits == 0,
			  "venue memo: a valid code is checked the first time");
		CHECK(hc_venue_signature_valid_memo(&memo, buf, HC_VENUE_LEN, pk) && memo.hits == 1,
			  "venue memo: and answered from the memo the second");
		CHECK(!hc_venue_signature_valid_memo(&memo, buf, HC_VENUE_LEN, pk2) && memo.hits == 1,
			  "venue memo: the same bytes under another key fail");
		memcpy(again, buf, HC_VENUE_LEN);
		again[1] ^= 1;
		CHECK(!hc_venue_signature_valid_memo(&memo, again, HC_VENUE_LEN, pk) && memo.hits == 1,
			  "venue memo: a flipped bit of the signed part fails, whatever the memo holds");
		memcpy(again, buf, HC_VENUE_LEN);
		again[HC_VENUE_LEN - 1] ^= 1;
		CHECK(!hc_venue_signature_valid_memo(&memo, again, HC_VENUE_LEN, pk) && memo.hits == 1,
			  "venue memo: so does a flipped bit of the signature");
		CHECK(!hc_venue_signature_valid_memo(&memo, buf, HC_VENUE_LEN - 1, pk),
			  "venue memo: a short payload fails");
		CHECK(hc_venue_signature_valid_memo(&memo, buf, HC_VENUE_LEN, pk) && memo.hits == 2,
			  "venue memo: the valid code still answers from the memo");
	}

	n = hc_venue_format_text(buf, text);
	CHECK(strncmp(text, "HCV:", 4) == 0 && n == strlen(text) && n < HC_VENUE_MAX_TEXT_LEN, "venue: text form HCV: + base45");
	CHECK(hc_venue_parse_text(text, n, again, detail, sizeof(detail)) == HC_OK && memcmp(again, buf, HC_VENUE_LEN) == 0,
		  "venue: the text reads back to the payload");
	text[0] = 'X';
	CHECK(hc_venue_parse_text(text, n, again, detail, sizeof(detail)) == HC_ERR_PREFIX, "venue: another prefix is refused");
	CHECK(hc_venue_parse_text("HCV:", 4, again, detail, sizeof(detail)) != HC_OK, "venue: an empty payload is refused");

	/* never one for the other */
	CHECK(hc_unpack(buf, HC_VENUE_LEN, &personal, detail, sizeof(detail)) != HC_OK,
		  "venue: a venue payload is no personal code");
	memset(&personal, 0, sizeof(personal));
	personal.version = HC_FORMAT_V1;
	personal.region = 330106;
	personal.colour = HC_GREEN;
	personal.issued_at = 1700000000;
	personal.expires_at = 1700000300;
	hc_key_id(pk, personal.key_id);
	{
		uint8_t		pbuf[HC_MAX_LEN];
		size_t		plen = hc_sign(&personal, sk, pbuf);

		CHECK(!hc_venue_signature_valid(pbuf, plen, pk) &&
			  hc_venue_unpack(pbuf, plen, &back, detail, sizeof(detail)) != HC_OK,
			  "venue: a personal code signed by the same key is no venue code");
	}

	/* field checks */
	back = v;
	back.region = 0;
	CHECK(hc_venue_sign(&back, sk, again) == 0 && hc_venue_validate(&back, detail, sizeof(detail)) == HC_ERR_REGION,
		  "venue: the nation is no venue's region");
	back = v;
	back.venue = 0;
	CHECK(hc_venue_validate(&back, detail, sizeof(detail)) == HC_ERR_ARGUMENT, "venue: venue id 0 is refused");
	back = v;
	back.issued_at = 1500000000;
	CHECK(hc_venue_validate(&back, detail, sizeof(detail)) == HC_ERR_TIMES, "venue: a time before 2020 is refused");
	CHECK(hc_venue_unpack(buf, HC_VENUE_LEN - 1, &back, detail, sizeof(detail)) == HC_ERR_LENGTH,
		  "venue: a short payload is refused");
}
