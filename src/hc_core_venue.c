/*
 * hc_core_venue.c — venue codes (场所码): the payload a venue prints at its
 * door, signed by its region's issuer key (layout in hc_core.h). Pure C.
 */
#include "hc_core.h"

#include <sodium.h>
#include <string.h>

hc_status
hc_venue_validate(const hc_venue_code *v, char *detail, size_t detail_len)
{
	if (!hc_region_valid(v->region, detail, detail_len))
		return HC_ERR_REGION;
	if (v->region == 0)
	{
		hc_set_detail(detail, detail_len, "A venue lies in a region, not in the nation (000000).");
		return HC_ERR_REGION;
	}
	if (v->venue == 0 || v->venue > (uint64_t) INT64_MAX)
	{
		hc_set_detail(detail, detail_len, "A venue id runs from 1 to 2^63-1.");
		return HC_ERR_ARGUMENT;
	}
	if (v->issued_at < HC_EPOCH_MIN || v->issued_at > HC_TIME_MAX)
	{
		hc_set_detail(detail, detail_len, "A venue code is issued within the health-code era (2020 on).");
		return HC_ERR_TIMES;
	}
	return HC_OK;
}

static void
pack_signed(const hc_venue_code *v, uint8_t out[HC_VENUE_LEN])
{
	out[0] = HC_VENUE_VERSION;
	out[1] = (uint8_t) (v->region >> 16);
	out[2] = (uint8_t) (v->region >> 8);
	out[3] = (uint8_t) v->region;
	hc_put_be64(out + 4, v->venue);
	hc_put_be32(out + 12, (uint32_t) v->issued_at);
	memcpy(out + 16, v->key_id, HC_KEY_ID_LEN);
}

size_t
hc_venue_sign(hc_venue_code *v, const uint8_t sk[HC_SECRET_KEY_LEN], uint8_t out[HC_VENUE_LEN])
{
	if (hc_venue_validate(v, NULL, 0) != HC_OK)
		return 0;
	pack_signed(v, out);
	crypto_sign_detached(out + HC_VENUE_SIGNED_LEN, NULL, out, HC_VENUE_SIGNED_LEN, sk);
	memcpy(v->signature, out + HC_VENUE_SIGNED_LEN, HC_SIG_LEN);
	return HC_VENUE_LEN;
}

hc_status
hc_venue_unpack(const uint8_t *buf, size_t len, hc_venue_code *out, char *detail, size_t detail_len)
{
	if (len != HC_VENUE_LEN)
	{
		hc_set_detail(detail, detail_len, "A venue code's payload has %d bytes; got %zu.", HC_VENUE_LEN, len);
		return HC_ERR_LENGTH;
	}
	if (buf[0] != HC_VENUE_VERSION)
	{
		hc_set_detail(detail, detail_len, "Payload kind 0x%02X is not a venue code (0x%02X).",
					  (unsigned) buf[0], (unsigned) HC_VENUE_VERSION);
		return HC_ERR_VERSION;
	}
	out->region = ((uint32_t) buf[1] << 16) | ((uint32_t) buf[2] << 8) | buf[3];
	out->venue = hc_get_be64(buf + 4);
	out->issued_at = hc_get_be32(buf + 12);
	memcpy(out->key_id, buf + 16, HC_KEY_ID_LEN);
	memcpy(out->signature, buf + HC_VENUE_SIGNED_LEN, HC_SIG_LEN);
	return hc_venue_validate(out, detail, detail_len);
}

bool
hc_venue_signature_valid(const uint8_t *buf, size_t len, const uint8_t pk[HC_PUBLIC_KEY_LEN])
{
	/* (the kind byte, itself signed, keeps a personal payload's signature
	 * from ever passing here, and this one's there) */
	if (len != HC_VENUE_LEN || buf[0] != HC_VENUE_VERSION)
		return false;
	return crypto_sign_verify_detached(buf + HC_VENUE_SIGNED_LEN, buf, HC_VENUE_SIGNED_LEN, pk) == 0;
}

bool
hc_venue_signature_valid_memo(hc_venue_memo *memo, const uint8_t *buf, size_t len,
							  const uint8_t pk[HC_PUBLIC_KEY_LEN])
{
	unsigned	at;

	if (len != HC_VENUE_LEN)
		return false;
	/* (the signature's bytes are as good as random: its first two spread
	 * the codes over the slots) */
	at = ((unsigned) buf[HC_VENUE_SIGNED_LEN] | (unsigned) buf[HC_VENUE_SIGNED_LEN + 1] << 8) % HC_VENUE_MEMO_SLOTS;
	if (memo->slot[at].used && memcmp(memo->slot[at].payload, buf, HC_VENUE_LEN) == 0 &&
		memcmp(memo->slot[at].public_key, pk, HC_PUBLIC_KEY_LEN) == 0)
	{
		memo->hits++;
		return true;
	}
	if (!hc_venue_signature_valid(buf, len, pk))
		return false;
	memcpy(memo->slot[at].payload, buf, HC_VENUE_LEN);
	memcpy(memo->slot[at].public_key, pk, HC_PUBLIC_KEY_LEN);
	memo->slot[at].used = true;
	return true;
}

size_t
hc_venue_format_text(const uint8_t buf[HC_VENUE_LEN], char *out)
{
	return hc_prefixed_text(HC_VENUE_PREFIX, buf, HC_VENUE_LEN, out);
}

hc_status
hc_venue_parse_text(const char *text, size_t text_len, uint8_t buf[HC_VENUE_LEN], char *detail, size_t detail_len)
{
	uint8_t		tmp[HC_VENUE_LEN + 2];
	size_t		len = 0;
	hc_status	st;

	st = hc_parse_prefixed(HC_VENUE_PREFIX, "venue code", text, text_len, tmp, sizeof(tmp), &len,
						   detail, detail_len);
	if (st != HC_OK)
		return st;
	if (len != HC_VENUE_LEN)
	{
		hc_set_detail(detail, detail_len, "A venue code's payload has %d bytes; got %zu.", HC_VENUE_LEN, len);
		return HC_ERR_LENGTH;
	}
	memcpy(buf, tmp, HC_VENUE_LEN);
	return HC_OK;
}
