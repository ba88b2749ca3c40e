/*
 * fuzz_server_key.c — libFuzzer target for hc_parse_server_key.
 * Properties: only 32 raw bytes or 64 hex digits (+ one newline) are
 * accepted, raw bytes are taken as they are, hex decodes to the same key
 * when printed again; a rejection explains itself.
 */
#include "hc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		key[HC_SERVER_KEY_LEN];
	char		detail[HC_DETAIL_LEN];
	char		hex[2 * HC_SERVER_KEY_LEN + 1];
	hc_status	st;
	size_t		i;

	detail[0] = '\0';
	st = hc_parse_server_key(data, size, key, detail, sizeof(detail));
	if (st != HC_OK)
	{
		if (st != HC_ERR_ARGUMENT || detail[0] == '\0')
			abort();
		/* And with no detail buffer at all. */
		if (hc_parse_server_key(data, size, key, NULL, 0) != st)
			abort();
		return 0;
	}
	if (size == HC_SERVER_KEY_LEN)
	{
		if (memcmp(key, data, HC_SERVER_KEY_LEN) != 0)
			abort();
		return 0;
	}
	if (size != 2 * HC_SERVER_KEY_LEN &&
		!(size == 2 * HC_SERVER_KEY_LEN + 1 && data[size - 1] == '\n'))
		abort();
	for (i = 0; i < HC_SERVER_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	if (strncasecmp(hex, (const char *) data, 2 * HC_SERVER_KEY_LEN) != 0)
		abort();
	return 0;
}
