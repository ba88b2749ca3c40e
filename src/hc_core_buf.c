/*
 * hc_core_buf.c — what the core's parts share: the growable output buffer
 * (QR renderers, the status engine's JSON writer) and the detail text of a
 * failure (codec, status engine). Pure C: no PostgreSQL header.
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
