/*
 * fuzz_identifier.c — libFuzzer target for hc_identifier_normalize (inputs
 * of up to 300 bytes). Properties: an accepted identifier normalizes to a
 * form that is accepted again as the same kind and unchanged (one form per
 * person); a refused one says why and writes no form; no message quotes
 * the input.
 */
#define _GNU_SOURCE				/* memmem */
#include "hc_identifier.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		out[HC_IDENTIFIER_OUT];
	char		again[HC_IDENTIFIER_OUT];
	char		detail[160];
	hc_identifier_kind kind;

	if (size > 300)
		return 0;
	detail[0] = '\0';
	/* (no copy: ASan catches a read past size) */
	kind = hc_identifier_normalize((const char *) data, size, 20261205, out, detail, sizeof(detail));
	if (kind == HC_ID_INVALID)
	{
		if (detail[0] == '\0' || out[0] != '\0')
			abort();
		if (size >= 6 && memmem(detail, strlen(detail), data, size) != NULL)
			abort();
		return 0;
	}
	if (strlen(out) < 8 || strlen(out) > 18)
		abort();
	if (hc_identifier_normalize(out, strlen(out), 20261205, again, detail, sizeof(detail)) != kind ||
		strcmp(out, again) != 0)
		abort();
	return 0;
}
