/*
 * fuzz_venue.c — libFuzzer target for venue codes' text and payload
 * (hc_venue_parse_text, hc_venue_unpack, hc_venue_signature_valid), inputs
 * of up to 300 bytes. Properties: an accepted text is a venue payload of
 * the right length and kind whose fields validate, and formats back to a
 * text that reads as the same payload; no input is ever read as a personal
 * code's payload, nor its signature accepted under a fixed key.
 */
#include "hc_core.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[HC_PUBLIC_KEY_LEN];
	uint8_t		buf[HC_VENUE_LEN];
	uint8_t		again[HC_VENUE_LEN];
	char		text[HC_VENUE_MAX_TEXT_LEN];
	char		detail[HC_DETAIL_LEN];
	hc_venue_code v;
	hc_code		personal;
	size_t		n;

	if (size > 300)
		return 0;
	if (hc_venue_parse_text((const char *) data, size, buf, detail, sizeof(detail)) != HC_OK)
		return 0;
	if (hc_unpack(buf, HC_VENUE_LEN, &personal, detail, sizeof(detail)) == HC_OK)
		abort();
	if (hc_venue_unpack(buf, HC_VENUE_LEN, &v, detail, sizeof(detail)) != HC_OK)
		return 0;
	if (buf[0] != HC_VENUE_VERSION || hc_venue_validate(&v, NULL, 0) != HC_OK)
		abort();
	n = hc_venue_format_text(buf, text);
	if (n != strlen(text) || hc_venue_parse_text(text, n, again, NULL, 0) != HC_OK ||
		memcmp(again, buf, HC_VENUE_LEN) != 0)
		abort();
	/* (an all-zero key verifies nothing) */
	if (hc_venue_signature_valid(buf, HC_VENUE_LEN, pk))
		abort();
	return 0;
}
