/*
 * hc_venue_pg.c — venue codes at the SQL surface: _sign_venue_code(), the
 * signing primitive (its region's active key, as issue() picks it), and
 * _verify_venue_code(), the offline judgement against the trust list. The
 * payload is the core's (hc_core_venue.c); whether the venue is still open
 * is the SQL wrapper's question (82_venues.sql).
 */
#include "hc_keys.h"

#include <sodium.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(healthcode_sign_venue_code);
Datum
healthcode_sign_venue_code(PG_FUNCTION_ARGS)
{
	uint32_t	region = hc_region_arg(PG_GETARG_TEXT_PP(0), "region");
	int64		venue = PG_GETARG_INT64(1);
	TimestampTz now = GetCurrentStatementStartTimestamp();
	const TrustKey *key;
	const Signer *signer;
	hc_venue_code v;
	uint8_t		packed[HC_VENUE_LEN];
	char		text[HC_VENUE_MAX_TEXT_LEN];
	char		detail[HC_DETAIL_LEN];
	size_t		n;

	memset(&v, 0, sizeof(v));
	v.region = region;
	v.venue = venue > 0 ? (uint64_t) venue : 0;
	v.issued_at = hc_timestamptz_to_unix(now);
	if (hc_venue_validate(&v, detail, sizeof(detail)) != HC_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot sign a venue code with these values"),
				 errdetail("%s", detail)));
	hc_trust_ensure();
	key = hc_trust_signing_key(region, now);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no active issuer key for region %06u or any region above it", region),
				 errhint("Create one with SELECT healthcode.create_key('%06u');", region)));
	memcpy(v.key_id, key->key_id, HC_KEY_ID_LEN);
	signer = hc_signer_get(key);
	sodium_mprotect_readonly(signer->secret);
	n = hc_venue_sign(&v, signer->secret, packed);
	sodium_mprotect_noaccess(signer->secret);
	if (n != HC_VENUE_LEN)
		elog(ERROR, "signing a venue code failed");
	hc_venue_format_text(packed, text);
	PG_RETURN_TEXT_P(cstring_to_text(text));
}

/* The venue codes this backend verified lately (hc_core.h says why). */
static hc_venue_memo venue_memo;

/* The documented reasons, in the order they are checked: a venue code has
 * no expiry of its own; it stands while its key is trusted and valid (a
 * venue prints its code again when its region's key is rotated: a key's
 * valid_until is the last instant anything it signed verifies) and, online,
 * while its venue is open. */
static const char *
judge_venue(const hc_venue_code *v, const uint8_t *packed, TimestampTz at)
{
	const TrustKey *key = hc_trust_find(v->key_id);
	TimestampTz issued_at = hc_unix_to_timestamptz(v->issued_at);
	const char *reason;

	if (key == NULL)
		return "unknown_key";
	if (!hc_venue_signature_valid_memo(&venue_memo, packed, HC_VENUE_LEN, key->public_key))
		return "bad_signature";
	if (!hc_region_covers(key->region, v->region))
		return "region_mismatch";
	if (key->state == KEY_REVOKED)
		return "key_revoked";
	reason = hc_trust_key_times(key, issued_at, at);
	return reason ? reason : "ok";
}

#define VENUE_VERIFY_COLUMNS 6

/*
 * _verify_venue_code(code text, at timestamptz, OUT valid, OUT venue_id,
 * OUT region, OUT issued_at, OUT key_id, OUT reason): malformed for a
 * text that is no venue code, else the judgement.
 */
PG_FUNCTION_INFO_V1(healthcode_verify_venue_code);
Datum
healthcode_verify_venue_code(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	TupleDesc	desc;
	Datum		values[VENUE_VERIFY_COLUMNS];
	bool		nulls[VENUE_VERIFY_COLUMNS] = {false};
	uint8_t		packed[HC_VENUE_LEN];
	hc_venue_code v;
	const char *reason;
	char		region[7];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE || desc->natts != VENUE_VERIFY_COLUMNS)
		elog(ERROR, "_verify_venue_code must return %d columns", VENUE_VERIFY_COLUMNS);
	if (hc_venue_parse_text(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), packed, NULL, 0) != HC_OK ||
		hc_venue_unpack(packed, HC_VENUE_LEN, &v, NULL, 0) != HC_OK)
	{
		values[0] = BoolGetDatum(false);
		for (int c = 1; c < VENUE_VERIFY_COLUMNS - 1; c++)
			nulls[c] = true;
		values[5] = CStringGetTextDatum("malformed");
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
	}
	hc_trust_ensure();
	reason = judge_venue(&v, packed, at);
	hc_region_format(v.region, region);
	values[0] = BoolGetDatum(strcmp(reason, "ok") == 0);
	values[1] = Int64GetDatum((int64) v.venue);
	values[2] = CStringGetTextDatum(region);
	values[3] = TimestampTzGetDatum(hc_unix_to_timestamptz(v.issued_at));
	values[4] = hc_make_datum(v.key_id, HC_KEY_ID_LEN);
	values[5] = CStringGetTextDatum(reason);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
