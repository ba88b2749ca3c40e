/*
 * hc_qr_pg.c — SQL functions rendering a code as a QR symbol: SVG text,
 * PNG bytes, UTF-8 blocks for a terminal. The rendering is hc_core_qr.c.
 */
#include "hc_pg.h"

#include "utils/builtins.h"

#include "hc_import.h"

static hc_qr_level
level_arg(text *t)
{
	char	   *name = text_to_cstring(t);
	hc_qr_level level;

	if (!hc_qr_level_from_name(name, &level))
	{
		/* echoed shortened (hc_shorten), like every value in a message */
		char		shown[HC_IMPORT_SHORT + 4];

		hc_shorten(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), HC_IMPORT_SHORT, shown);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid QR error-correction level: \"%s\"", shown),
				 errhint("Use L, M, Q or H.")));
	}
	return level;
}

static int
module_arg(int32 px)
{
	if (px < 1 || px > HC_QR_MAX_MODULE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("module size must be between 1 and %d pixels, not %d",
						HC_QR_MAX_MODULE, px)));
	return px;
}

static void
encode_code(struct varlena *v, hc_qr_level level, hc_qr *qr)
{
	char		text[HC_MAX_TEXT_LEN];
	size_t		len = VARSIZE_ANY_EXHDR(v);

	if (len > HC_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored healthcode value is corrupt")));
	hc_format_text((const uint8_t *) VARDATA_ANY(v), len, text);
	if (hc_qr_encode(text, level, qr) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not encode the health code as a QR symbol")));
}

/* A venue code's text, checked and written again in its one form, as a
 * symbol (22P02 for a text that is no venue code). */
static void
encode_venue(text *t, hc_qr_level level, hc_qr *qr)
{
	uint8_t		packed[HC_VENUE_LEN];
	char		canonical[HC_VENUE_MAX_TEXT_LEN];
	char		detail[HC_DETAIL_LEN];

	hc_venue_code v;

	if (hc_venue_parse_text(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), packed, detail, sizeof(detail)) != HC_OK ||
		hc_venue_unpack(packed, HC_VENUE_LEN, &v, detail, sizeof(detail)) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("not a venue code"),
				 errdetail("%s", detail)));
	hc_venue_format_text(packed, canonical);
	if (hc_qr_encode(canonical, level, qr) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not encode the venue code as a QR symbol")));
}

/* Moves a malloc'd core buffer into a palloc'd varlena (freeing both the
 * buffer and the symbol, also on the error path). */
static struct varlena *
take_buffer(hc_status st, hc_buf *buf, hc_qr *qr)
{
	struct varlena *out;

	hc_qr_free(qr);
	if (st != HC_OK)
	{
		hc_buf_free(buf);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not render the QR symbol")));
	}
	out = (struct varlena *) palloc_extended(VARHDRSZ + buf->len, MCXT_ALLOC_NO_OOM);
	if (out != NULL)
	{
		SET_VARSIZE(out, VARHDRSZ + buf->len);
		memcpy(VARDATA(out), buf->data, buf->len);
	}
	hc_buf_free(buf);
	if (out == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return out;
}

PG_FUNCTION_INFO_V1(healthcode_qr_svg);
Datum
healthcode_qr_svg(PG_FUNCTION_ARGS)
{
	hc_qr_level level = level_arg(PG_GETARG_TEXT_PP(1));
	int			px = module_arg(PG_GETARG_INT32(2));
	hc_qr		qr;
	hc_buf		buf;

	encode_code(HC_GETARG_BYTES(0), level, &qr);
	PG_RETURN_TEXT_P(take_buffer(hc_qr_svg(&qr, px, &buf), &buf, &qr));
}

PG_FUNCTION_INFO_V1(healthcode_qr_png);
Datum
healthcode_qr_png(PG_FUNCTION_ARGS)
{
	hc_qr_level level = level_arg(PG_GETARG_TEXT_PP(1));
	int			px = module_arg(PG_GETARG_INT32(2));
	hc_qr		qr;
	hc_buf		buf;

	encode_code(HC_GETARG_BYTES(0), level, &qr);
	PG_RETURN_BYTEA_P(take_buffer(hc_qr_png(&qr, px, &buf), &buf, &qr));
}

PG_FUNCTION_INFO_V1(healthcode_qr_terminal);
Datum
healthcode_qr_terminal(PG_FUNCTION_ARGS)
{
	hc_qr_level level = level_arg(PG_GETARG_TEXT_PP(1));
	bool		invert = PG_GETARG_BOOL(2);
	hc_qr		qr;
	hc_buf		buf;

	encode_code(HC_GETARG_BYTES(0), level, &qr);
	PG_RETURN_TEXT_P(take_buffer(hc_qr_utf8(&qr, invert, &buf), &buf, &qr));
}

PG_FUNCTION_INFO_V1(healthcode_venue_qr_svg);
Datum
healthcode_venue_qr_svg(PG_FUNCTION_ARGS)
{
	hc_qr_level level = level_arg(PG_GETARG_TEXT_PP(1));
	int			px = module_arg(PG_GETARG_INT32(2));
	hc_qr		qr;
	hc_buf		buf;

	encode_venue(PG_GETARG_TEXT_PP(0), level, &qr);
	PG_RETURN_TEXT_P(take_buffer(hc_qr_svg(&qr, px, &buf), &buf, &qr));
}

PG_FUNCTION_INFO_V1(healthcode_venue_qr_png);
Datum
healthcode_venue_qr_png(PG_FUNCTION_ARGS)
{
	hc_qr_level level = level_arg(PG_GETARG_TEXT_PP(1));
	int			px = module_arg(PG_GETARG_INT32(2));
	hc_qr		qr;
	hc_buf		buf;

	encode_venue(PG_GETARG_TEXT_PP(0), level, &qr);
	PG_RETURN_BYTEA_P(take_buffer(hc_qr_png(&qr, px, &buf), &buf, &qr));
}
