/*
 * hc_core_qr.c — QR symbols (libqrencode) rendered as SVG, PNG (libpng)
 * and UTF-8 half blocks. Pure C: no PostgreSQL header (see hc_core.h).
 */
#include "hc_core.h"

#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
hc_qr_level_from_name(const char *name, hc_qr_level *out)
{
	static const char *const names[] = {"L", "M", "Q", "H"};
	int			i;

	for (i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
		{
			*out = (hc_qr_level) i;
			return true;
		}
	return false;
}

hc_status
hc_qr_encode(const char *text, hc_qr_level level, hc_qr *out)
{
	static const QRecLevel levels[] = {QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q, QR_ECLEVEL_H};
	QRcode	   *code;
	size_t		n;
	size_t		i;

	out->width = 0;
	out->modules = NULL;
	if ((unsigned) level > HC_QR_H)
		return HC_ERR_ARGUMENT;
	/* Case-sensitive with an 8-bit hint lets libqrencode split the input
	 * optimally; our text is all in the alphanumeric set, so it stays in
	 * alphanumeric mode (11 bits per two characters). */
	code = QRcode_encodeString(text, 0, levels[level], QR_MODE_8, 1);
	if (code == NULL)
		return errno == ENOMEM ? HC_ERR_NOMEM : HC_ERR_ARGUMENT;
	n = (size_t) code->width * (size_t) code->width;
	out->modules = malloc(n);
	if (out->modules == NULL)
	{
		QRcode_free(code);
		return HC_ERR_NOMEM;
	}
	for (i = 0; i < n; i++)
		out->modules[i] = code->data[i] & 1;
	out->width = code->width;
	QRcode_free(code);
	return HC_OK;
}

void
hc_qr_free(hc_qr *qr)
{
	free(qr->modules);
	qr->modules = NULL;
	qr->width = 0;
}

/* Appends a non-negative integer; faster than snprintf in the SVG loop. */
static char *
put_uint(char *p, unsigned v)
{
	char		tmp[12];
	int			n = 0;

	do
	{
		tmp[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static hc_status
check_module_px(const hc_qr *qr, int module_px)
{
	if (qr->modules == NULL || qr->width <= 0)
		return HC_ERR_ARGUMENT;
	if (module_px < 1 || module_px > HC_QR_MAX_MODULE)
		return HC_ERR_ARGUMENT;
	return HC_OK;
}

hc_status
hc_qr_svg(const hc_qr *qr, int module_px, hc_buf *out)
{
	int			w = qr->width;
	int			total;
	int			x,
				y;
	char		head[320];
	int			n;

	memset(out, 0, sizeof(*out));
	if (check_module_px(qr, module_px) != HC_OK)
		return HC_ERR_ARGUMENT;
	total = w + 2 * HC_QR_MARGIN;
	n = snprintf(head, sizeof(head),
				 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
				 "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
				 "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/><path fill=\"#000000\" d=\"",
				 total * module_px, total * module_px, total, total, total, total);
	if (!hc_buf_append(out, head, (size_t) n))
		goto nomem;
	/* One path; each horizontal run of dark modules is a 1-high rectangle. */
	for (y = 0; y < w; y++)
	{
		const uint8_t *row = qr->modules + (size_t) y * w;

		for (x = 0; x < w;)
		{
			int			run;
			char	   *p;

			if (!row[x])
			{
				x++;
				continue;
			}
			for (run = 1; x + run < w && row[x + run]; run++)
				;
			if (!hc_buf_reserve(out, 48))
				goto nomem;
			p = out->data + out->len;
			*p++ = 'M';
			p = put_uint(p, (unsigned) (x + HC_QR_MARGIN));
			*p++ = ' ';
			p = put_uint(p, (unsigned) (y + HC_QR_MARGIN));
			*p++ = 'h';
			p = put_uint(p, (unsigned) run);
			*p++ = 'v';
			*p++ = '1';
			*p++ = 'h';
			*p++ = '-';
			p = put_uint(p, (unsigned) run);
			*p++ = 'z';
			out->len = (size_t) (p - out->data);
			x += run;
		}
	}
	if (!hc_buf_append(out, "\"/></svg>\n", 10))
		goto nomem;
	return HC_OK;
nomem:
	hc_buf_free(out);
	return HC_ERR_NOMEM;
}

static void
png_write_to_buf(png_structp png, png_bytep data, png_size_t len)
{
	hc_buf	   *b = png_get_io_ptr(png);

	if (!hc_buf_append(b, data, len))
		png_error(png, "out of memory");
}

static void
png_flush_noop(png_structp png)
{
	(void) png;
}

/*
 * libpng reports errors by longjmp; everything it may jump over is owned
 * here and released after setjmp returns, and the caller only ever sees a
 * status. Volatile because it is modified between setjmp and longjmp.
 */
hc_status
hc_qr_png(const hc_qr *qr, int module_px, hc_buf *out)
{
	png_structp png = NULL;
	png_infop	info = NULL;
	uint8_t    *volatile row = NULL;
	int			total;
	size_t		row_bytes;
	int			y;

	memset(out, 0, sizeof(*out));
	if (check_module_px(qr, module_px) != HC_OK)
		return HC_ERR_ARGUMENT;
	total = (qr->width + 2 * HC_QR_MARGIN) * module_px;
	row_bytes = ((size_t) total + 7) / 8;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (png == NULL)
		return HC_ERR_NOMEM;
	info = png_create_info_struct(png);
	if (info == NULL)
	{
		png_destroy_write_struct(&png, NULL);
		return HC_ERR_NOMEM;
	}
	if (setjmp(png_jmpbuf(png)))
	{
		png_destroy_write_struct(&png, &info);
		free(row);
		hc_buf_free(out);
		return HC_ERR_NOMEM;
	}
	row = malloc(row_bytes);
	if (row == NULL)
		png_error(png, "out of memory");
	png_set_write_fn(png, out, png_write_to_buf, png_flush_noop);
	/* 1-bit greyscale: the smallest faithful image of a two-colour symbol. */
	png_set_IHDR(png, info, (png_uint_32) total, (png_uint_32) total, 1,
				 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
				 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (y = 0; y < total; y++)
	{
		int			my = y / module_px - HC_QR_MARGIN;
		int			x;

		memset(row, 0xFF, row_bytes);	/* 1 bits are white */
		if (my >= 0 && my < qr->width)
		{
			const uint8_t *mrow = qr->modules + (size_t) my * qr->width;

			for (x = 0; x < total; x++)
			{
				int			mx = x / module_px - HC_QR_MARGIN;

				if (mx >= 0 && mx < qr->width && mrow[mx])
					row[x / 8] &= (uint8_t) ~(0x80u >> (x % 8));
			}
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(row);
	return HC_OK;
}

hc_status
hc_qr_utf8(const hc_qr *qr, bool invert, hc_buf *out)
{
	/* Index: top dark?  bottom dark? (1 = the cell is drawn as "ink"). */
	static const char *const cells[4] = {" ", "\xE2\x96\x84", "\xE2\x96\x80", "\xE2\x96\x88"};
	int			total;
	int			y,
				x;

	memset(out, 0, sizeof(*out));
	if (qr->modules == NULL || qr->width <= 0)
		return HC_ERR_ARGUMENT;
	total = qr->width + 2 * HC_QR_MARGIN;
	for (y = 0; y < total; y += 2)
	{
		for (x = 0; x < total; x++)
		{
			int			top = 0,
						bottom = 0;
			int			mx = x - HC_QR_MARGIN;
			int			my = y - HC_QR_MARGIN;
			int			idx;

			if (mx >= 0 && mx < qr->width)
			{
				if (my >= 0 && my < qr->width)
					top = qr->modules[(size_t) my * qr->width + mx];
				if (my + 1 >= 0 && my + 1 < qr->width)
					bottom = qr->modules[(size_t) (my + 1) * qr->width + mx];
			}
			/* By default light modules are ink: a light-on-dark terminal
			 * then shows dark modules on a light field, as a QR needs. */
			if (!invert)
			{
				top = !top;
				bottom = !bottom;
			}
			/* Past the bottom edge of an odd-height field nothing is drawn. */
			if (y + 1 >= total)
				bottom = 0;
			idx = top * 2 + bottom;
			if (!hc_buf_append(out, cells[idx], strlen(cells[idx])))
				goto nomem;
		}
		if (!hc_buf_append(out, "\n", 1))
			goto nomem;
	}
	return HC_OK;
nomem:
	hc_buf_free(out);
	return HC_ERR_NOMEM;
}
