/*
 * hc_core_status_inputs.c — the engine's inputs, packed for storage with a
 * stored status (layout in hc_status.h), and what a recomputation after a
 * risk-area change keeps of them. Pure C: no PostgreSQL header.
 */
#include "hc_status_internal.h"

#include <stdlib.h>
#include <string.h>

static int
cmp_i64_field(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

/* The canonical order: by time, then every other field. */
static int
cmp_event(const void *a, const void *b)
{
	const hc_event *x = a;
	const hc_event *y = b;
	int			c;

	if ((c = cmp_i64_field(x->at, y->at)) != 0 ||
		(c = cmp_i64_field(x->kind, y->kind)) != 0 ||
		(c = cmp_i64_field(x->ref, y->ref)) != 0 ||
		(c = cmp_i64_field(x->until, y->until)) != 0 ||
		(c = cmp_i64_field(x->value, y->value)) != 0)
		return c;
	return cmp_i64_field(x->place, y->place);
}

hc_status
hc_inputs_pack(const hc_event *events, size_t n_events, hc_buf *out)
{
	hc_event   *sorted;
	size_t		i,
				n = n_events;
	uint8_t    *p;

	if (n > HC_STATUS_MAX_EVENTS)
		return HC_ERR_ARGUMENT;
	sorted = malloc((n + 1) * sizeof(hc_event));
	if (sorted == NULL)
		return HC_ERR_NOMEM;
	if (n > 0)
		memcpy(sorted, events, n * sizeof(hc_event));
	qsort(sorted, n, sizeof(hc_event), cmp_event);
	if (!hc_buf_reserve(out, HC_INPUTS_HEADER_LEN + n * HC_INPUTS_EVENT_LEN))
	{
		free(sorted);
		return HC_ERR_NOMEM;
	}
	p = (uint8_t *) out->data + out->len;
	p[0] = 'H';
	p[1] = 'I';
	p[2] = HC_INPUTS_VERSION;
	hc_put_be32(p + 3, (uint32_t) n);
	p += HC_INPUTS_HEADER_LEN;
	for (i = 0; i < n; i++, p += HC_INPUTS_EVENT_LEN)
	{
		p[0] = (uint8_t) sorted[i].kind;
		hc_put_be32(p + 1, (uint32_t) sorted[i].value);
		hc_put_be64(p + 5, (uint64_t) sorted[i].place);
		hc_put_be64(p + 13, (uint64_t) sorted[i].at);
		hc_put_be64(p + 21, (uint64_t) sorted[i].until);
		hc_put_be64(p + 29, (uint64_t) sorted[i].ref);
	}
	out->len += HC_INPUTS_HEADER_LEN + n * HC_INPUTS_EVENT_LEN;
	free(sorted);
	return HC_OK;
}

/* Too old to change any colour: see hc_inputs_hold_expired. A check-in
 * counts towards the release of a trigger of its own calendar day, even
 * one later that day: it goes only with its whole day. */
static bool
expired(const hc_event *e, int64_t horizon, int64_t kept_from)
{
	const hc_event_kind_info *k = hc_event_kind_get(e->kind);

	if (k == NULL)
		return false;
	if (k->kind_class == HC_CLASS_CHECKIN)
		kept_from = hc_day_start(hc_local_day(kept_from));
	return (k->windowed && e->at < horizon) || (k->expires && e->at < kept_from);
}

bool
hc_inputs_hold_expired(const hc_event *events, size_t n_events, int64_t horizon, int64_t kept_from)
{
	size_t		i;

	for (i = 0; i < n_events; i++)
		if (expired(&events[i], horizon, kept_from))
			return true;
	return false;
}

size_t
hc_inputs_keep(const hc_event *events, size_t n_events, int64_t horizon,
			   int64_t kept_from, int64_t *reexamined, size_t n_reexamined, hc_event *out)
{
	size_t		i,
				n = 0;

	if (n_reexamined > 0)
		qsort(reexamined, n_reexamined, sizeof(int64_t), hc_cmp_i64);
	for (i = 0; i < n_events; i++)
	{
		const hc_event *e = &events[i];

		if (expired(e, horizon, kept_from))
			continue;
		if ((e->kind == HC_EV_STAY_HIGH || e->kind == HC_EV_STAY_MEDIUM) && n_reexamined > 0 &&
			bsearch(&e->ref, reexamined, n_reexamined, sizeof(int64_t), hc_cmp_i64) != NULL)
			continue;
		out[n++] = *e;
	}
	return n;
}

hc_status
hc_inputs_unpack(const uint8_t *data, size_t len, hc_event **events, size_t *n_events,
				 char *detail, size_t detail_len)
{
	uint32_t	n;
	size_t		i,
				event_len,
				shift;
	hc_event   *ev;

	*events = NULL;
	*n_events = 0;
	if (len < HC_INPUTS_HEADER_LEN || data[0] != 'H' || data[1] != 'I')
	{
		hc_set_detail(detail, detail_len, "Packed status inputs start with \"HI\" and a count.");
		return HC_ERR_LENGTH;
	}
	if (data[2] != HC_INPUTS_VERSION && data[2] != 1)
	{
		hc_set_detail(detail, detail_len, "Packed status inputs of version %d; this engine reads versions 1 and %d.",
					  data[2], HC_INPUTS_VERSION);
		return HC_ERR_VERSION;
	}
	/* (version 1: the place an i32, so every later field 4 bytes earlier) */
	event_len = data[2] == 1 ? HC_INPUTS_V1_EVENT_LEN : HC_INPUTS_EVENT_LEN;
	shift = HC_INPUTS_EVENT_LEN - event_len;
	n = hc_get_be32(data + 3);
	if (n > HC_STATUS_MAX_EVENTS || len - HC_INPUTS_HEADER_LEN != (size_t) n * event_len)
	{
		hc_set_detail(detail, detail_len, "Packed status inputs of %zu bytes cannot hold the %u events they announce.",
					  len, n);
		return HC_ERR_LENGTH;
	}
	ev = malloc(((size_t) n + 1) * sizeof(hc_event));
	if (ev == NULL)
		return HC_ERR_NOMEM;
	data += HC_INPUTS_HEADER_LEN;
	for (i = 0; i < n; i++, data += event_len)
	{
		ev[i].kind = data[0];
		if (hc_event_kind_get(ev[i].kind) == NULL)
		{
			hc_set_detail(detail, detail_len, "Packed status input %zu has unknown kind %d.", i + 1, (int) ev[i].kind);
			free(ev);
			return HC_ERR_ARGUMENT;
		}
		ev[i].value = (int32_t) hc_get_be32(data + 1);
		ev[i].place = shift ? (int64_t) (int32_t) hc_get_be32(data + 5) : (int64_t) hc_get_be64(data + 5);
		ev[i].at = (int64_t) hc_get_be64(data + 13 - shift);
		ev[i].until = (int64_t) hc_get_be64(data + 21 - shift);
		ev[i].ref = (int64_t) hc_get_be64(data + 29 - shift);
	}
	*events = ev;
	*n_events = n;
	return HC_OK;
}
