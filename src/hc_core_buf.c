/*
 * hc_core_buf.c — what the core's parts share: the growable output buffer
 * (QR renderers, the status engine's JSON writer), the detail text of a
 * failure (codec, status engine) and big-endian integers (the code's
 * payload, the status engine's stored inputs). Pure C: no PostgreSQL header.
 */
#include "hc_core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hc_buf_free(hc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

bool
hc_buf_reserve(hc_buf *b, size_t extra)
{
	size_t		need = b->len + extra;

	if (need < b->len)
		return false;				/* overflow */
	if (need <= b->cap)
		return true;
	{
		size_t		cap = b->cap ? b->cap : 1024;
		char	   *p;

		while (cap < need)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return false;
		b->data = p;
		b->cap = cap;
	}
	return true;
}

bool
hc_buf_append(hc_buf *b, const void *data, size_t n)
{
	if (!hc_buf_reserve(b, n))
		return false;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return true;
}

bool
hc_buf_printf(hc_buf *b, const char *fmt, ...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !hc_buf_reserve(b, (size_t) n + 1))
		return false;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
	return true;
}

void
hc_set_detail(char *detail, size_t detail_len, const char *fmt, ...)
{
	va_list		ap;

	if (detail == NULL || detail_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, detail_len, fmt, ap);
	va_end(ap);
}

uint32_t
hc_get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

void
hc_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

uint64_t
hc_get_be64(const uint8_t *p)
{
	return ((uint64_t) hc_get_be32(p) << 32) | hc_get_be32(p + 4);
}

void
hc_put_be64(uint8_t *p, uint64_t v)
{
	hc_put_be32(p, (uint32_t) (v >> 32));
	hc_put_be32(p + 4, (uint32_t) v);
}
