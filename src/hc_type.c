/*
 * hc_type.c — the healthcode base type: text and binary I/O, casts,
 * comparison and hash support, field accessors.
 *
 * A value is stored as the packed payload (hc_core.h) in a varlena. Input
 * parses structure only; it never checks the signature and never reads a
 * table, so key rotation or a restore never makes stored values unreadable.
 */
#include "hc_pg.h"

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "common/hashfn.h"
#include "datatype/timestamp.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

/* Longest input echoed back in an error message. */
#define HC_ECHO_MAX 120

Datum
hc_make_datum(const uint8_t *buf, size_t len)
{
	bytea	   *v = (bytea *) palloc(VARHDRSZ + len);

	SET_VARSIZE(v, VARHDRSZ + len);
	memcpy(VARDATA(v), buf, len);
	PG_RETURN_POINTER(v);
}

void
hc_unpack_stored(struct varlena *v, hc_code *out)
{
	char		detail[HC_DETAIL_LEN];

	if (hc_unpack((const uint8_t *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), out,
				  detail, sizeof(detail)) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored healthcode value is corrupt"),
				 errdetail("%s", detail)));
}

TimestampTz
hc_unix_to_timestamptz(int64_t unix_seconds)
{
	return (TimestampTz) ((unix_seconds -
						   ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY))
						  * USECS_PER_SEC);
}

int64_t
hc_timestamptz_to_unix(TimestampTz t)
{
	/* floor division: a code's times have whole-second resolution */
	int64		secs = t / USECS_PER_SEC;

	if (t < 0 && t % USECS_PER_SEC != 0)
		secs--;
	return secs + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

Datum
hc_colour_to_enum(Oid enumtype, hc_colour c)
{
	Oid			oid = GetSysCacheOid2(ENUMTYPOIDNAME, Anum_pg_enum_oid,
									  ObjectIdGetDatum(enumtype),
									  CStringGetDatum(hc_colour_name(c)));

	if (!OidIsValid(oid))
		elog(ERROR, "enum label \"%s\" missing from type %u",
			 hc_colour_name(c), enumtype);
	return ObjectIdGetDatum(oid);
}

hc_colour
hc_enum_to_colour(Datum enumval)
{
	HeapTuple	tup = SearchSysCache1(ENUMOID, enumval);
	hc_colour	c;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for enum %u", DatumGetObjectId(enumval));
	if (!hc_colour_from_name(NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel), &c))
		elog(ERROR, "unexpected colour label \"%s\"", NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel));
	ReleaseSysCache(tup);
	return c;
}

uint32_t
hc_region_arg(text *t, const char *argname)
{
	char		detail[HC_DETAIL_LEN];
	uint32_t	region;

	if (hc_region_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &region,
						detail, sizeof(detail)) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid division code for %s: \"%s\"", argname,
						text_to_cstring(t)),
				 errdetail("%s", detail)));
	return region;
}

/* Echo at most HC_ECHO_MAX characters of bad input, cut on a character. */
static char *
echo_input(const char *s)
{
	size_t		len = strlen(s);

	if (len <= HC_ECHO_MAX)
		return (char *) s;
	len = pg_mbcliplen(s, (int) len, HC_ECHO_MAX);
	return psprintf("%.*s...", (int) len, s);
}

/* A code's text form -> its bytes in buf (*n of them), checked as a
 * stored value is: what healthcode_in and _code_or_null share. */
static hc_status
parse_code(const char *s, size_t len, uint8_t *buf, size_t *n, char *detail, size_t detail_len)
{
	hc_code		code;
	hc_status	st = hc_parse_text(s, len, buf, HC_MAX_LEN, n, detail, detail_len);

	if (st == HC_OK)
		st = hc_unpack(buf, *n, &code, detail, detail_len);
	return st;
}

PG_FUNCTION_INFO_V1(healthcode_in);
Datum
healthcode_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);
	uint8_t		buf[HC_MAX_LEN];
	size_t		n = 0;
	char		detail[HC_DETAIL_LEN];

	if (parse_code(s, strlen(s), buf, &n, detail, sizeof(detail)) != HC_OK)
		ereturn(HC_ESCONTEXT(fcinfo), (Datum) 0,
				errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				errmsg("invalid input syntax for type healthcode: \"%s\"", echo_input(s)),
				errdetail("%s", detail));
	return hc_make_datum(buf, n);
}

/*
 * _code_or_null(text) RETURNS healthcode: the code a text spells, or NULL
 * for one that is not a code (the input function's checks, without its
 * error), so that verify(text) can say "malformed" as a reason.
 */
PG_FUNCTION_INFO_V1(healthcode_code_or_null);
Datum
healthcode_code_or_null(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	uint8_t		buf[HC_MAX_LEN];
	size_t		n = 0;
	char		detail[HC_DETAIL_LEN];

	if (parse_code(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), buf, &n, detail, sizeof(detail)) != HC_OK)
		PG_RETURN_NULL();
	return hc_make_datum(buf, n);
}

PG_FUNCTION_INFO_V1(healthcode_out);
Datum
healthcode_out(PG_FUNCTION_ARGS)
{
	struct varlena *v = HC_GETARG_BYTES(0);
	size_t		len = VARSIZE_ANY_EXHDR(v);
	char	   *out;

	if (len > HC_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored healthcode value is corrupt"),
				 errdetail("It has %zu bytes; at most %d are possible.", len, HC_MAX_LEN)));
	out = palloc(HC_MAX_TEXT_LEN);
	hc_format_text((const uint8_t *) VARDATA_ANY(v), len, out);
	PG_RETURN_CSTRING(out);
}

/* bytes -> value, validated exactly as text input is after base45. */
static Datum
from_bytes(const uint8_t *buf, size_t n, int sqlstate, const char *what)
{
	hc_code		code;
	char		detail[HC_DETAIL_LEN];

	if (hc_unpack(buf, n, &code, detail, sizeof(detail)) != HC_OK)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s for type healthcode", what),
				 errdetail("%s", detail)));
	return hc_make_datum(buf, n);
}

/*
 * Binary form: the payload itself, whose first byte is the format version.
 * Malformed binary input raises 22P03 (invalid_binary_representation), as
 * every PostgreSQL recv function does.
 */
PG_FUNCTION_INFO_V1(healthcode_recv);
Datum
healthcode_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			n = msg->len - msg->cursor;
	const char *bytes = pq_getmsgbytes(msg, n);

	return from_bytes((const uint8_t *) bytes, (size_t) n,
					  ERRCODE_INVALID_BINARY_REPRESENTATION, "binary representation");
}

PG_FUNCTION_INFO_V1(healthcode_send);
Datum
healthcode_send(PG_FUNCTION_ARGS)
{
	struct varlena *v = HC_GETARG_BYTES(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(healthcode_from_bytea);
Datum
healthcode_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	return from_bytes((const uint8_t *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b),
					  ERRCODE_INVALID_TEXT_REPRESENTATION, "bytea value");
}

PG_FUNCTION_INFO_V1(healthcode_to_bytea);
Datum
healthcode_to_bytea(PG_FUNCTION_ARGS)
{
	struct varlena *v = HC_GETARG_BYTES(0);

	return hc_make_datum((const uint8_t *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
}

/* ---- comparison and hashing: bytewise, so equal means identical -------- */

static int
hc_cmp_internal(struct varlena *a, struct varlena *b)
{
	size_t		la = VARSIZE_ANY_EXHDR(a);
	size_t		lb = VARSIZE_ANY_EXHDR(b);
	int			r = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));

	if (r != 0)
		return r < 0 ? -1 : 1;
	return la < lb ? -1 : (la > lb ? 1 : 0);
}

#define HC_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int			c = hc_cmp_internal(HC_GETARG_BYTES(0), HC_GETARG_BYTES(1)); \
	PG_RETURN_BOOL(expr); \
}

HC_CMP_FN(healthcode_eq, c == 0)
HC_CMP_FN(healthcode_ne, c != 0)
HC_CMP_FN(healthcode_lt, c < 0)
HC_CMP_FN(healthcode_le, c <= 0)
HC_CMP_FN(healthcode_gt, c > 0)
HC_CMP_FN(healthcode_ge, c >= 0)

PG_FUNCTION_INFO_V1(healthcode_cmp);
Datum
healthcode_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(hc_cmp_internal(HC_GETARG_BYTES(0), HC_GETARG_BYTES(1)));
}

PG_FUNCTION_INFO_V1(healthcode_hash);
Datum
healthcode_hash(PG_FUNCTION_ARGS)
{
	struct varlena *v = HC_GETARG_BYTES(0);

	return hash_any((const unsigned char *) VARDATA_ANY(v), (int) VARSIZE_ANY_EXHDR(v));
}

PG_FUNCTION_INFO_V1(healthcode_hash_extended);
Datum
healthcode_hash_extended(PG_FUNCTION_ARGS)
{
	struct varlena *v = HC_GETARG_BYTES(0);

	return hash_any_extended((const unsigned char *) VARDATA_ANY(v),
							 (int) VARSIZE_ANY_EXHDR(v), PG_GETARG_INT64(1));
}

/* ---- accessors ----------------------------------------------------------- */

PG_FUNCTION_INFO_V1(healthcode_format_version);
Datum
healthcode_format_version(PG_FUNCTION_ARGS)
{
	hc_code		c;

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	PG_RETURN_INT32(c.version);
}

PG_FUNCTION_INFO_V1(healthcode_region);
Datum
healthcode_region(PG_FUNCTION_ARGS)
{
	hc_code		c;
	char		region[7];

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	hc_region_format(c.region, region);
	PG_RETURN_TEXT_P(cstring_to_text(region));
}

PG_FUNCTION_INFO_V1(healthcode_subject);
Datum
healthcode_subject(PG_FUNCTION_ARGS)
{
	hc_code		c;

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	return hc_make_datum(c.subject, HC_SUBJECT_LEN);
}

PG_FUNCTION_INFO_V1(healthcode_colour);
Datum
healthcode_colour(PG_FUNCTION_ARGS)
{
	hc_code		c;

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	return hc_colour_to_enum(get_fn_expr_rettype(fcinfo->flinfo), c.colour);
}

PG_FUNCTION_INFO_V1(healthcode_issued_at);
Datum
healthcode_issued_at(PG_FUNCTION_ARGS)
{
	hc_code		c;

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	PG_RETURN_TIMESTAMPTZ(hc_unix_to_timestamptz(c.issued_at));
}

PG_FUNCTION_INFO_V1(healthcode_expires_at);
Datum
healthcode_expires_at(PG_FUNCTION_ARGS)
{
	hc_code		c;

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	PG_RETURN_TIMESTAMPTZ(hc_unix_to_timestamptz(c.expires_at));
}

PG_FUNCTION_INFO_V1(healthcode_key_id);
Datum
healthcode_key_id(PG_FUNCTION_ARGS)
{
	hc_code		c;

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	return hc_make_datum(c.key_id, HC_KEY_ID_LEN);
}

PG_FUNCTION_INFO_V1(healthcode_vaccinated);
Datum
healthcode_vaccinated(PG_FUNCTION_ARGS)
{
	hc_code		c;

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	PG_RETURN_BOOL(c.vaccinated);
}

PG_FUNCTION_INFO_V1(healthcode_signature);
Datum
healthcode_signature(PG_FUNCTION_ARGS)
{
	hc_code		c;

	hc_unpack_stored(HC_GETARG_BYTES(0), &c);
	return hc_make_datum(c.signature, HC_SIG_LEN);
}

/* A place code check (hc_place_parse) usable in CHECK constraints. */
PG_FUNCTION_INFO_V1(healthcode_place_code_valid);
Datum
healthcode_place_code_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int64_t		place;

	PG_RETURN_BOOL(hc_place_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &place, NULL, 0) == HC_OK);
}

/* What is wrong with a text as a place code (for an argument's error
 * detail, palloc'd), NULL for a valid one. */
char *
hc_place_code_problem(text *t)
{
	int64_t		place;
	char		detail[HC_DETAIL_LEN];

	detail[0] = '\0';
	if (hc_place_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &place, detail, sizeof(detail)) == HC_OK)
		return NULL;
	return pstrdup(detail[0] != '\0' ? detail : "A place code has 6, 9 or 12 digits.");
}

PG_FUNCTION_INFO_V1(healthcode_place_code_problem);
Datum
healthcode_place_code_problem(PG_FUNCTION_ARGS)
{
	char	   *problem = hc_place_code_problem(PG_GETARG_TEXT_PP(0));

	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}

/* A division code check usable in domains and CHECK constraints. */
PG_FUNCTION_INFO_V1(healthcode_division_code_valid);
Datum
healthcode_division_code_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	uint32_t	region;

	PG_RETURN_BOOL(hc_region_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &region,
								   NULL, 0) == HC_OK);
}
