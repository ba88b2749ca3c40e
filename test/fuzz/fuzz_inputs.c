/*
 * fuzz_inputs.c — libFuzzer target for packed status inputs (the bytes
 * person_status.inputs holds). Any bytes: unpacking either refuses them
 * with a detail or gives events of known kinds; what it gives packs again
 * to bytes that unpack to the same events, and packing that is stable.
 */
#include "hc_status.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hc_event   *ev = NULL,
			   *again = NULL;
	size_t		n = 0,
				n_again = 0,
				i;
	char		detail[HC_DETAIL_LEN] = "";
	hc_buf		packed = {0},
				repacked = {0};
	hc_status	rc = hc_inputs_unpack(data, size, &ev, &n, detail, sizeof(detail));

	if (rc != HC_OK)
	{
		if (rc != HC_ERR_NOMEM && detail[0] == '\0')
			abort();				/* a refusal always says why */
		if (ev != NULL || n != 0)
			abort();
		return 0;
	}
	for (i = 0; i < n; i++)
		if (ev[i].kind < HC_EV_STAY_HIGH || ev[i].kind > HC_EV_KIND_MAX)
			abort();
	if (hc_inputs_pack(ev, n, &packed) != HC_OK ||
		hc_inputs_unpack((const uint8_t *) packed.data, packed.len, &again, &n_again, detail, sizeof(detail)) != HC_OK ||
		n_again != n ||
		hc_inputs_pack(again, n_again, &repacked) != HC_OK ||
		repacked.len != packed.len || memcmp(repacked.data, packed.data, packed.len) != 0)
		abort();
	free(ev);
	free(again);
	hc_buf_free(&packed);
	hc_buf_free(&repacked);
	return 0;
}
