/*
 * fuzz_base45.c — libFuzzer target for hc_base45_decode.
 * Property: base45 is canonical, so whenever a text decodes, encoding the
 * bytes again gives back exactly the same text.
 */
#include "hc_core.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OUT 4096

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[MAX_OUT];
	static char again[MAX_OUT * 2];
	char		detail[HC_DETAIL_LEN];
	size_t		out_len = 0;
	hc_status	st;

	detail[0] = '\0';
	st = hc_base45_decode((const char *) data, size, out, sizeof(out), &out_len,
						  detail, sizeof(detail));
	if (st != HC_OK)
	{
		if ((st != HC_ERR_BASE45 && st != HC_ERR_LENGTH) || detail[0] == '\0')
			abort();
		return 0;
	}
	if (out_len > sizeof(out) || hc_base45_encoded_len(out_len) != size)
		abort();
	hc_base45_encode(out, out_len, again);
	if (memcmp(again, data, size) != 0)
		abort();
	return 0;
}
