/*
 * hc_sign_pg.c — issuer keys at the SQL surface: making a key pair sealed
 * under the server key (create_key() stores it), a public key's id, and
 * the two uses of the keys: issue(), which signs a code with the region's
 * signing key, and verify(), which judges a code against the trust list.
 * The keys come from the caches in hc_key_cache.c.
 */
#include "hc_keys.h"

#include <sodium.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "common/int.h"
#include "funcapi.h"
#include "utils/builtins.h"

/* ---- issue ---------------------------------------------------------------- */

/* Whole seconds in an interval, rounded up; months count 30 days as
 * PostgreSQL's interval comparison does. -1 when out of range. */
static int64
interval_seconds_ceil(const Interval *iv)
{
	int64		us;
	int64		days_us;

	if (pg_mul_s64_overflow((int64) iv->month * DAYS_PER_MONTH + iv->day, USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(days_us, iv->time, &us))
		return -1;
	return us <= 0 ? 0 : (us + USECS_PER_SEC - 1) / USECS_PER_SEC;
}

/* issue()'s arguments after the first six: a version 2 code's health facts */
#define ISSUE_ARG_LAST_NEGATIVE 6
#define ISSUE_ARG_DOSES 7

PG_FUNCTION_INFO_V1(healthcode_issue);
Datum
healthcode_issue(PG_FUNCTION_ARGS)
{
	uint32_t	region;
	bytea	   *subject;
	hc_colour	colour;
	int64		valid_for;
	bool		vaccinated;
	bool		paper;
	/* the statement's time: a long transaction must not issue aged codes */
	TimestampTz now = GetCurrentStatementStartTimestamp();
	const TrustKey *key;
	const Signer *signer;
	hc_code		code;
	uint8_t		packed[HC_MAX_LEN];
	size_t		packed_len;
	int64		key_end;
	char		detail[HC_DETAIL_LEN];
	int			i;

	/* 0.3.0 declares issue() not strict, for the health facts' NULLs: the
	 * first six arguments (five in 0.2.0's SQL) must still be given */
	for (i = 0; i < Min(PG_NARGS(), ISSUE_ARG_LAST_NEGATIVE); i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	region = hc_region_arg(PG_GETARG_TEXT_PP(0), "region");
	subject = PG_GETARG_BYTEA_PP(1);
	colour = hc_enum_to_colour(PG_GETARG_DATUM(2));
	valid_for = interval_seconds_ceil(PG_GETARG_INTERVAL_P(3));
	vaccinated = PG_GETARG_BOOL(4);
	/* (0.2.0's SQL declares five arguments: no paper codes there) */
	paper = PG_NARGS() > 5 && PG_GETARG_BOOL(5);

	if (VARSIZE_ANY_EXHDR(subject) != HC_SUBJECT_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("subject must be a %d-byte pseudonym, not %zu bytes",
						HC_SUBJECT_LEN, VARSIZE_ANY_EXHDR(subject)),
				 errhint("Derive it with healthcode.pseudonym(identifier).")));
	if (valid_for < 1 || valid_for > HC_TIME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("valid_for must be a positive interval of at least one second")));

	hc_trust_ensure();
	key = hc_trust_signing_key(region, now);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no active issuer key for region %06u or any region above it", region),
				 errhint("Create one with SELECT healthcode.create_key('%06u');", region)));

	memset(&code, 0, sizeof(code));
	code.version = HC_FORMAT_V1;
	/* a dose count asks for a version 2 code; the last negative test is
	 * optional in it (0: none known) */
	if (PG_NARGS() > ISSUE_ARG_DOSES && !PG_ARGISNULL(ISSUE_ARG_DOSES))
	{
		int32		doses = PG_GETARG_INT32(ISSUE_ARG_DOSES);

		if (doses < 0 || doses > UINT8_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("doses must lie between 0 and %d, not %d", UINT8_MAX, doses)));
		code.version = HC_FORMAT_V2;
		code.doses = (uint8_t) doses;
		if (!PG_ARGISNULL(ISSUE_ARG_LAST_NEGATIVE))
		{
			TimestampTz tested = PG_GETARG_TIMESTAMPTZ(ISSUE_ARG_LAST_NEGATIVE);

			if (TIMESTAMP_NOT_FINITE(tested))
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("last_negative_at must be a finite time")));
			code.last_negative_at = hc_timestamptz_to_unix(tested);
			/* (0 in the payload means "none known": an instant that maps to
			 * it, or any before the system existed, is no test time) */
			if (code.last_negative_at < HC_EPOCH_MIN)
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("last_negative_at must not lie before 2020-01-01")));
		}
	}
	else if (PG_NARGS() > ISSUE_ARG_LAST_NEGATIVE && !PG_ARGISNULL(ISSUE_ARG_LAST_NEGATIVE))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a code carries a last negative test only with a dose count"),
				 errhint("Pass doses (0 when none are on record) to issue a version 2 code.")));
	code.region = region;
	memcpy(code.subject, VARDATA_ANY(subject), HC_SUBJECT_LEN);
	code.colour = colour;
	code.vaccinated = vaccinated;
	code.paper = paper;
	code.issued_at = hc_timestamptz_to_unix(now);
	/* never outlive the key: capped at the end of its validity */
	key_end = hc_timestamptz_to_unix(key->valid_until);
	code.expires_at = Min(code.issued_at + valid_for, key_end);
	memcpy(code.key_id, key->key_id, HC_KEY_ID_LEN);
	if (hc_validate(&code, detail, sizeof(detail)) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot issue a code with these values"),
				 errdetail("%s", detail)));

	signer = hc_signer_get(key);
	sodium_mprotect_readonly(signer->secret);
	packed_len = hc_sign(&code, signer->secret, packed);
	sodium_mprotect_noaccess(signer->secret);
	return hc_make_datum(packed, packed_len);
}

/* ---- verify ----------------------------------------------------------------- */

#define VERIFY_COLUMNS 11

typedef struct VerifyState
{
	TupleDesc	desc;
	Datum		colour_oid[3];
} VerifyState;

static VerifyState *
verify_state(FunctionCallInfo fcinfo)
{
	VerifyState *vs = fcinfo->flinfo->fn_extra;

	if (vs == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	desc;
		int			c;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		vs = palloc(sizeof(VerifyState));
		/* 0.3.0's eleven columns, or 0.2.0's eight (no paper, no health
		 * facts) */
		if (desc->natts != 8 && desc->natts != VERIFY_COLUMNS)
			elog(ERROR, "verify() must return 8 or %d columns, not %d",
				 VERIFY_COLUMNS, desc->natts);
		vs->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		for (c = HC_GREEN; c <= HC_RED; c++)
			vs->colour_oid[c] = hc_colour_to_enum(TupleDescAttr(vs->desc, 1)->atttypid,
												  (hc_colour) c);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = vs;
	}
	return vs;
}

/* The documented reasons, in the order verify() checks them. */
static const char *
judge(const hc_code *code, const uint8_t *packed, size_t len, TimestampTz at)
{
	const TrustKey *key = hc_trust_find(code->key_id);
	TimestampTz issued_at = hc_unix_to_timestamptz(code->issued_at);
	TimestampTz expires_at = hc_unix_to_timestamptz(code->expires_at);
	const char *reason;

	if (key == NULL)
		return "unknown_key";
	if (!hc_signature_valid(packed, len, key->public_key))
		return "bad_signature";
	if (!hc_region_covers(key->region, code->region))
		return "region_mismatch";
	if (key->state == KEY_REVOKED)
		return "key_revoked";
	/* a code, or its subject's codes, revoked (revocation lists) */
	if (hc_revoked(code, packed, len))
		return "revoked";
	if ((reason = hc_trust_key_times(key, issued_at, at)) != NULL)
		return reason;
	if (at >= expires_at)
		return "expired";
	return "ok";
}

PG_FUNCTION_INFO_V1(healthcode_verify);
Datum
healthcode_verify(PG_FUNCTION_ARGS)
{
	struct varlena *v = HC_GETARG_BYTES(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	VerifyState *vs = verify_state(fcinfo);
	hc_code		code;
	const char *reason;
	char		region[7];
	Datum		values[VERIFY_COLUMNS];
	bool		nulls[VERIFY_COLUMNS] = {false};

	hc_unpack_stored(v, &code);
	hc_trust_ensure();
	reason = judge(&code, (const uint8_t *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), at);

	hc_region_format(code.region, region);
	values[0] = BoolGetDatum(strcmp(reason, "ok") == 0);
	values[1] = vs->colour_oid[code.colour];
	values[2] = PointerGetDatum(cstring_to_text(region));
	values[3] = TimestampTzGetDatum(hc_unix_to_timestamptz(code.issued_at));
	values[4] = TimestampTzGetDatum(hc_unix_to_timestamptz(code.expires_at));
	values[5] = hc_make_datum(code.key_id, HC_KEY_ID_LEN);
	values[6] = PointerGetDatum(cstring_to_text(reason));
	values[7] = BoolGetDatum(code.vaccinated);
	/* (0.2.0's SQL declares eight columns: none of these there) */
	values[8] = BoolGetDatum(code.paper);
	/* a version 2 code's health facts; NULL where the code has none */
	values[9] = TimestampTzGetDatum(hc_unix_to_timestamptz(code.last_negative_at));
	nulls[9] = code.version < HC_FORMAT_V2 || code.last_negative_at == 0;
	values[10] = Int32GetDatum(code.doses);
	nulls[10] = code.version < HC_FORMAT_V2;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(vs->desc, values, nulls)));
}

/* ---- key creation ------------------------------------------------------------ */

/*
 * Makes a key pair for region and returns (key_id, public_key, sealed
 * secret). The secret exists in clear only in locked memory here and is
 * wiped before returning; create_key() stores the result.
 */
PG_FUNCTION_INFO_V1(healthcode_new_issuer_key);
Datum
healthcode_new_issuer_key(PG_FUNCTION_ARGS)
{
	uint32_t	region = hc_region_arg(PG_GETARG_TEXT_PP(0), "region");
	uint8_t		server_key[HC_SERVER_KEY_LEN];
	uint8_t		public_key[HC_PUBLIC_KEY_LEN];
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint8_t		sealed[HC_SEALED_LEN];
	uint8_t    *secret;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	secret = hc_locked_alloc_reading(HC_SECRET_KEY_LEN, hc_read_server_key, server_key);
	/* nothing below raises an error until both secrets are wiped */
	hc_keypair(public_key, secret);
	hc_key_id(public_key, key_id);
	hc_seal_secret(server_key, key_id, region, secret, sealed);
	sodium_memzero(server_key, sizeof(server_key));
	sodium_free(secret);

	values[0] = hc_make_datum(key_id, HC_KEY_ID_LEN);
	values[1] = hc_make_datum(public_key, HC_PUBLIC_KEY_LEN);
	values[2] = hc_make_datum(sealed, HC_SEALED_LEN);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(healthcode_public_key_id);
Datum
healthcode_public_key_id(PG_FUNCTION_ARGS)
{
	bytea	   *pk = PG_GETARG_BYTEA_PP(0);
	uint8_t		key_id[HC_KEY_ID_LEN];

	if (VARSIZE_ANY_EXHDR(pk) != HC_PUBLIC_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an Ed25519 public key has %d bytes, not %zu",
						HC_PUBLIC_KEY_LEN, VARSIZE_ANY_EXHDR(pk))));
	hc_key_id((const uint8_t *) VARDATA_ANY(pk), key_id);
	return hc_make_datum(key_id, HC_KEY_ID_LEN);
}
