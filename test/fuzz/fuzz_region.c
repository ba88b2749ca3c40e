/*
 * fuzz_region.c — libFuzzer target for hc_region_parse and hc_place_parse
 * (inputs of up to 16 bytes). Properties: an accepted code is valid,
 * formats back to the input, and every issuer in its chain is valid and
 * covers it; an accepted place formats back to the input, starts with a
 * valid division other than the nation, and a region is a place exactly
 * when it is not the nation.
 */
#include "hc_core.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	char		detail[HC_DETAIL_LEN];
	char		back[7];
	uint32_t	region = 0;
	uint32_t	chain[4];
	hc_status	st;
	hc_status	place_st;
	int64_t		place = -1;
	char		place_back[HC_PLACE_MAX_DIGITS + 1];
	int			n;
	int			i;

	if (size > 16)
		return 0;
	detail[0] = '\0';
	place_st = hc_place_parse(text, size, &place, detail, sizeof(detail));
	if (place_st != HC_OK)
	{
		if (place_st != HC_ERR_REGION || detail[0] == '\0')
			abort();
	}
	else
	{
		uint32_t	division;

		if (size != 6 && size != 9 && size != 12)
			abort();
		hc_place_format(place, place_back);
		if (strlen(place_back) != size || memcmp(place_back, text, size) != 0)
			abort();
		if (hc_region_parse(text, 6, &division, NULL, 0) != HC_OK || division == 0)
			abort();
	}
	/* No copy: libFuzzer's input is an exactly sized heap buffer, so ASan
	 * catches a read past size (the parser must not want a NUL). */
	detail[0] = '\0';
	st = hc_region_parse(text, size, &region, detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (st != HC_ERR_REGION || detail[0] == '\0')
			abort();
		return 0;
	}
	if (size != 6 || region > 999999 || !hc_region_valid(region, NULL, 0))
		abort();
	if ((place_st == HC_OK) != (region != 0))
		abort();
	hc_region_format(region, back);
	if (memcmp(back, text, 6) != 0 || back[6] != '\0')
		abort();
	n = hc_region_issuer_chain(region, chain);
	if (n < 1 || n > 4 || chain[0] != region || chain[n - 1] != 0)
		abort();
	for (i = 0; i < n; i++)
	{
		if (!hc_region_valid(chain[i], NULL, 0) || !hc_region_covers(chain[i], region))
			abort();
		if (i > 0 && (chain[i] == chain[i - 1] || hc_region_covers(chain[i - 1], chain[i])))
			abort();
	}
	return 0;
}
