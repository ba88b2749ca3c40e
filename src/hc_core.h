/*
 * hc_core.h — the healthcode codec core: base45, the binary payload,
 * Ed25519 signatures, sealing of issuer secrets and QR rendering.
 *
 * No PostgreSQL header may be included here or in any hc_core_*.c file:
 * the core is linked on its own into the C unit tests and the fuzz targets.
 * Functions report failure through return codes and a caller-supplied
 * detail buffer; they never longjmp and never abort.
 */
#ifndef HC_CORE_H
#define HC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the payload, format versions 1 and 2 -----------------------------
 * Version 1 (every release):
 * offset size field
 *      0    1 format version (1)
 *      1    3 issuing region, GB/T 2260 division code, big-endian integer
 *      4   16 subject pseudonym (keyed BLAKE2b of the person's identifier)
 *     20    1 colour: 0 green, 1 yellow, 2 red
 *     21    1 flags: bit 0 vaccinated; bit 1 paper (a long-lived code for
 *             someone without a phone, printed; 0.3.0 on); bits 2-7
 *             reserved, must be 0 (a verifier that knows only bit 0 rejects
 *             a paper code as malformed)
 *     22    4 issued_at, seconds since 1970-01-01 UTC, big-endian
 *     26    4 expires_at, same encoding
 *     30    8 key id: first 8 bytes of SHA-256 of the issuer public key
 *     38   64 Ed25519 signature over bytes 0..37
 *
 * Version 2 (0.3.0 on) is version 1 with two signed health facts after the
 * key id, for checkpoints that apply arrival rules offline:
 *     0..37   as version 1, with 2 in byte 0
 *     38    4 last_negative_at: when the holder's last negative test was
 *             sampled, same encoding as issued_at; 0 when none is known;
 *             otherwise from 2020-01-01 up to issued_at
 *     42    1 doses: vaccine doses on record (0..255)
 *     43   64 Ed25519 signature over bytes 0..42
 * A verifier that knows only version 1 rejects a version 2 code as
 * malformed (its version byte), never as a valid version 1 code.
 */
#define HC_FORMAT_V1         1
#define HC_FORMAT_V2         2
#define HC_PREFIX            "HCN:"   /* in the QR alphanumeric set */
#define HC_PREFIX_LEN        4
#define HC_SUBJECT_LEN       16
#define HC_KEY_ID_LEN        8
#define HC_SIG_LEN           64
#define HC_PUBLIC_KEY_LEN    32
#define HC_SECRET_KEY_LEN    64       /* libsodium's seed || public key form */
#define HC_SERVER_KEY_LEN    32
#define HC_V1_SIGNED_LEN     38
#define HC_V1_LEN            (HC_V1_SIGNED_LEN + HC_SIG_LEN)
#define HC_V2_SIGNED_LEN     43
#define HC_V2_LEN            (HC_V2_SIGNED_LEN + HC_SIG_LEN)
#define HC_MAX_LEN           HC_V2_LEN
/* text form: prefix + base45 of HC_MAX_LEN bytes + NUL */
#define HC_MAX_TEXT_LEN      (HC_PREFIX_LEN + (HC_MAX_LEN / 2) * 3 + 2 + 1)

#define HC_FLAG_VACCINATED   0x01
#define HC_FLAG_PAPER        0x02
#define HC_FLAGS_KNOWN       (HC_FLAG_VACCINATED | HC_FLAG_PAPER)
/* Codes claiming to be issued before this instant are impossible: the
 * health-code system did not exist (2020-01-01 00:00:00 UTC). */
#define HC_EPOCH_MIN         INT64_C(1577836800)
#define HC_TIME_MAX          INT64_C(4294967295)

#define HC_DETAIL_LEN        160

typedef enum hc_colour
{
	HC_GREEN = 0,
	HC_YELLOW = 1,
	HC_RED = 2
} hc_colour;

typedef struct hc_code
{
	uint8_t		version;
	uint32_t	region;			/* 0 .. 999999; 0 is the national issuer */
	uint8_t		subject[HC_SUBJECT_LEN];
	hc_colour	colour;
	bool		vaccinated;
	bool		paper;			/* a paper code (HC_FLAG_PAPER) */
	int64_t		issued_at;		/* unix seconds */
	int64_t		expires_at;		/* unix seconds */
	/* version 2 only (0 in version 1): */
	int64_t		last_negative_at;	/* unix seconds; 0: none known */
	uint8_t		doses;
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint8_t		signature[HC_SIG_LEN];
} hc_code;

typedef enum hc_status
{
	HC_OK = 0,
	HC_ERR_PREFIX,
	HC_ERR_BASE45,
	HC_ERR_LENGTH,
	HC_ERR_VERSION,
	HC_ERR_REGION,
	HC_ERR_COLOUR,
	HC_ERR_FLAGS,
	HC_ERR_TIMES,
	HC_ERR_ARGUMENT,
	HC_ERR_CRYPTO,
	HC_ERR_NOMEM
} hc_status;

/* ---- venue codes (场所码) -------------------------------------------------
 * What a venue prints at its door, once: signed by its region's issuer key,
 * checked against the same trust list as personal codes. Its own text
 * prefix and its own version byte, which no personal payload has, so that
 * neither kind of payload is ever read, or its signature accepted, as the
 * other.
 * offset size field
 *      0    1 kind of payload: 0x56 ('V'), venue code version 1
 *      1    3 the venue's region (county), GB/T 2260 code, big-endian
 *      4    8 venue id, big-endian (from 1)
 *     12    4 issued_at, seconds since 1970-01-01 UTC, big-endian
 *     16    8 key id: first 8 bytes of SHA-256 of the issuer public key
 *     24   64 Ed25519 signature over bytes 0..23
 * No expiry: a venue code lives as long as its key is trusted and the
 * venue is open (the online check).
 */
#define HC_VENUE_PREFIX      "HCV:"
#define HC_VENUE_VERSION     0x56
#define HC_VENUE_SIGNED_LEN  24
#define HC_VENUE_LEN         (HC_VENUE_SIGNED_LEN + HC_SIG_LEN)
/* text form: prefix + base45 of HC_VENUE_LEN bytes + NUL */
#define HC_VENUE_MAX_TEXT_LEN (HC_PREFIX_LEN + (HC_VENUE_LEN / 2) * 3 + 2 + 1)

typedef struct hc_venue_code
{
	uint32_t	region;			/* a county-level code, not the nation */
	uint64_t	venue;			/* 1 .. 2^63-1 */
	int64_t		issued_at;		/* unix seconds */
	uint8_t		key_id[HC_KEY_ID_LEN];
	uint8_t		signature[HC_SIG_LEN];
} hc_venue_code;

/* ---- base45 (RFC 9285) -------------------------------------------------- */
/* Output length of encoding n bytes. */
size_t		hc_base45_encoded_len(size_t n);
/* Writes hc_base45_encoded_len(n) characters, no NUL. */
void		hc_base45_encode(const uint8_t *in, size_t n, char *out);
/*
 * Decodes len characters into out (capacity out_cap). On success sets
 * *out_len. On failure returns HC_ERR_BASE45 / HC_ERR_LENGTH and writes a
 * human-readable reason into detail.
 */
hc_status	hc_base45_decode(const char *in, size_t len, uint8_t *out,
							 size_t out_cap, size_t *out_len,
							 char *detail, size_t detail_len);

/* ---- regions ------------------------------------------------------------ */
/* GB/T 2260 style six-digit code: 000000 (national) or a known province
 * prefix with a consistent city/county part. */
bool		hc_region_valid(uint32_t region, char *detail, size_t detail_len);
/* Parses exactly six ASCII digits. */
hc_status	hc_region_parse(const char *s, size_t len, uint32_t *region,
							char *detail, size_t detail_len);
/* True when a key of region issuer may sign codes for region code: the
 * national issuer (000000) covers all, a province xx0000 its province,
 * a city xxyy00 its city, any other code itself. */
bool		hc_region_covers(uint32_t issuer, uint32_t code);
/* The issuers asked for a region, nearest first: itself, its city, its
 * province, the nation. Returns how many (1..4) were written. */
int			hc_region_issuer_chain(uint32_t region, uint32_t chain[4]);
/* Writes six digits and a NUL into out[7]. */
void		hc_region_format(uint32_t region, char out[7]);

/* ---- places ------------------------------------------------------------- */
/* A place is where someone stayed or what a bulletin names: a division
 * (six digits, not the nation) or a statistical division below the county
 * level: nine digits for a township or street (its county- or city-level
 * division and three digits, not 000), twelve for a village or community
 * (its township and three digits, not 000). Every valid place of a
 * division starts with the division's own digits, so its places sort
 * between its code and the code padded with nines to twelve digits.
 * Regions (scopes, keys, policies) stay six-digit divisions. */
#define HC_PLACE_MAX_DIGITS 12
hc_status	hc_place_parse(const char *s, size_t len, int64_t *place,
						   char *detail, size_t detail_len);
/* Writes a place's digits (six, nine or twelve) and a NUL into out[13]. */
void		hc_place_format(int64_t place, char out[HC_PLACE_MAX_DIGITS + 1]);

/* ---- payload ------------------------------------------------------------ */
/* Validates everything structural: version, length, region, colour, flags,
 * times. Never looks at the signature's validity. */
hc_status	hc_unpack(const uint8_t *buf, size_t len, hc_code *out,
					  char *detail, size_t detail_len);
/* Checks the fields of a code about to be packed (same rules as unpack). */
hc_status	hc_validate(const hc_code *code, char *detail, size_t detail_len);
/* The whole payload's length and the signed part's for a format version;
 * 0 for a version this core does not know. */
size_t		hc_payload_len(unsigned version);
size_t		hc_signed_len(unsigned version);
/* Writes hc_payload_len(code->version) bytes (signature included as it
 * stands in code) and returns that length; for a version this core does
 * not know, writes nothing and returns 0. */
size_t		hc_pack(const hc_code *code, uint8_t out[HC_MAX_LEN]);
/* Text form: prefix + base45. out must hold HC_MAX_TEXT_LEN; NUL-terminated.
 * Returns the length written. */
size_t		hc_format_text(const uint8_t *buf, size_t len, char *out);
/* The same for any of the text forms (a 4-character prefix, then base45):
 * personal codes' and venue codes' (what names the kind in a message). */
size_t		hc_prefixed_text(const char *prefix, const uint8_t *buf, size_t len, char *out);
hc_status	hc_parse_prefixed(const char *prefix, const char *what, const char *text, size_t text_len,
							  uint8_t *buf, size_t buf_cap, size_t *buf_len, char *detail, size_t detail_len);
/* Parses the text form into raw bytes (then hc_unpack validates them). */
hc_status	hc_parse_text(const char *text, size_t text_len, uint8_t *buf,
						  size_t buf_cap, size_t *buf_len,
						  char *detail, size_t detail_len);
const char *hc_colour_name(hc_colour c);
/* Returns false for an unknown name. */
bool		hc_colour_from_name(const char *name, hc_colour *out);

/* ---- crypto (libsodium) ------------------------------------------------- */
/* Must be called once before any other crypto function; returns false if
 * libsodium cannot initialise. */
bool		hc_crypto_init(void);
void		hc_key_id(const uint8_t pk[HC_PUBLIC_KEY_LEN], uint8_t id[HC_KEY_ID_LEN]);
/* Packs code (its version and key_id must already be set), signs the
 * signed part with sk, stores the signature in code->signature and the
 * full payload in out; returns the payload's length (0, writing nothing,
 * for a version this core does not know). */
size_t		hc_sign(hc_code *code, const uint8_t sk[HC_SECRET_KEY_LEN],
					uint8_t out[HC_MAX_LEN]);
/* Checks the signature of a packed, already unpacked-valid payload. */
bool		hc_signature_valid(const uint8_t *buf, size_t len,
							   const uint8_t pk[HC_PUBLIC_KEY_LEN]);
void		hc_keypair(uint8_t pk[HC_PUBLIC_KEY_LEN], uint8_t sk[HC_SECRET_KEY_LEN]);

/*
 * The hash a revocation is stored and looked up by (never the code or the
 * subject itself): the first 16 bytes of SHA-256 over a domain tag, the
 * kind ('C' one code: data is its payload; 'S' every code of a subject:
 * data is the subject), and the region the revocation is for, 3 bytes
 * big-endian. The region inside the hash binds a revocation to the codes
 * of its region: a node that may speak for other regions only cannot
 * forge a row that matches them.
 */
#define HC_REVOCATION_HASH_LEN 16
#define HC_REVOKE_CODE       'C'
#define HC_REVOKE_SUBJECT    'S'
void		hc_revocation_hash(char kind, uint32_t region, const uint8_t *data, size_t len,
							   uint8_t out[HC_REVOCATION_HASH_LEN]);

/*
 * The pseudonym a code event counts its holder by (code_event.holder):
 * the first 8 bytes of SHA-256(subject || day), day written YYYY-MM-DD,
 * so that one holder counts once a day and cannot be followed across days.
 */
#define HC_HOLDER_LEN 8
void		hc_code_holder(const uint8_t *subject, size_t subject_len, const char *day, size_t day_len,
						   uint8_t out[HC_HOLDER_LEN]);

/*
 * Sealing an issuer secret key under the server key: XChaCha20-Poly1305
 * with the key id and region as associated data, so a sealed blob moved
 * onto another key's row does not open.
 * sealed = nonce(24) || ciphertext(64) || tag(16)
 */
#define HC_SEALED_LEN (24 + HC_SECRET_KEY_LEN + 16)
void		hc_seal_secret(const uint8_t server_key[HC_SERVER_KEY_LEN],
						   const uint8_t key_id[HC_KEY_ID_LEN], uint32_t region,
						   const uint8_t sk[HC_SECRET_KEY_LEN],
						   uint8_t sealed[HC_SEALED_LEN]);
bool		hc_unseal_secret(const uint8_t server_key[HC_SERVER_KEY_LEN],
							 const uint8_t key_id[HC_KEY_ID_LEN], uint32_t region,
							 const uint8_t *sealed, size_t sealed_len,
							 uint8_t sk[HC_SECRET_KEY_LEN]);
/* Derives the subject-pseudonym key from the server key. */
void		hc_pseudonym_key(const uint8_t server_key[HC_SERVER_KEY_LEN],
							 uint8_t out[HC_SERVER_KEY_LEN]);
/* Derives the national pseudonym key from the national key (shared by the
 * hub and every node, so that all compute the same national pseudonym). */
void		hc_national_pseudonym_key(const uint8_t national_key[HC_SERVER_KEY_LEN],
									  uint8_t out[HC_SERVER_KEY_LEN]);
void		hc_pseudonym(const uint8_t pkey[HC_SERVER_KEY_LEN],
						 const uint8_t *identifier, size_t len,
						 uint8_t out[HC_SUBJECT_LEN]);

/*
 * Opaque row ids. A row-secured table's ids must not let a role that sees
 * some rows count the others (ids 3 and 4 would say 1 and 2 exist
 * elsewhere), yet must stay unique without a look at the table. So an id
 * is its sequence number under a secret permutation: a four-round Feistel
 * network over 62 bits, with SipHash-2-4 keyed by a key derived from the
 * server key (and the sequence's name) as its round function, and bit 62 set (ids from before, plain
 * sequence numbers, lie below 2^62 and never meet these). Sequence numbers
 * must lie in [0, 2^62).
 */
#define HC_ID_KEY_LEN 16
#define HC_OPAQUE_ID_DOMAIN (UINT64_C(1) << 62)
void		hc_id_key(const uint8_t server_key[HC_SERVER_KEY_LEN], uint8_t out[HC_ID_KEY_LEN]);
/* The tweak: what makes each sequence's permutation its own, from the
 * sequence's name (ids of two tables never correspond); made once a
 * sequence, it is the permutation's second key. */
#define HC_ID_TWEAK_LEN 8
void		hc_opaque_id_tweak(const uint8_t key[HC_ID_KEY_LEN], const char *name, uint8_t tweak[HC_ID_TWEAK_LEN]);
uint64_t	hc_opaque_id(const uint8_t key[HC_ID_KEY_LEN], const uint8_t tweak[HC_ID_TWEAK_LEN], uint64_t n);
/*
 * Parses a server key file's content: exactly 32 raw bytes, or 64 hex
 * digits optionally followed by one newline.
 */
hc_status	hc_parse_server_key(const uint8_t *content, size_t len,
								uint8_t out[HC_SERVER_KEY_LEN],
								char *detail, size_t detail_len);
void		hc_wipe(void *p, size_t n);

/* ---- venue codes (hc_core_venue.c) ---- */
/* Field checks: a region that is a valid division other than the nation,
 * a venue id from 1 to 2^63-1, issued_at within the health-code era. */
hc_status	hc_venue_validate(const hc_venue_code *v, char *detail, size_t detail_len);
/* Signs (key id as given) and packs; returns HC_VENUE_LEN, or 0 for a
 * venue code that does not validate. */
size_t		hc_venue_sign(hc_venue_code *v, const uint8_t sk[HC_SECRET_KEY_LEN], uint8_t out[HC_VENUE_LEN]);
hc_status	hc_venue_unpack(const uint8_t *buf, size_t len, hc_venue_code *out, char *detail, size_t detail_len);
bool		hc_venue_signature_valid(const uint8_t *buf, size_t len, const uint8_t pk[HC_PUBLIC_KEY_LEN]);
/*
 * The venue codes whose signatures were found valid lately, by the key that
 * checked them. A venue prints one code and its door is scanned all day, so
 * the same bytes come back thousands of times, and an Ed25519 check is a
 * fifth of a scan's time. A signature's validity depends on the signed
 * bytes and the public key alone: the same bytes and key found here are the
 * same answer. Only valid signatures are kept (a forger's bytes fill
 * nothing); direct-mapped by the signature's first bytes, an entry replaced
 * by the next valid code mapping to its slot. Zero-initialise before use.
 */
#define HC_VENUE_MEMO_SLOTS 256
typedef struct hc_venue_memo
{
	struct
	{
		bool		used;
		uint8_t		payload[HC_VENUE_LEN];
		uint8_t		public_key[HC_PUBLIC_KEY_LEN];
	}			slot[HC_VENUE_MEMO_SLOTS];
	uint64_t	hits;			/* answered from the memo, for tests */
} hc_venue_memo;
/* hc_venue_signature_valid, answered from memo when it holds the same
 * bytes checked by the same key */
bool		hc_venue_signature_valid_memo(hc_venue_memo *memo, const uint8_t *buf, size_t len,
										  const uint8_t pk[HC_PUBLIC_KEY_LEN]);
/* "HCV:" + base45, NUL-terminated into out (HC_VENUE_MAX_TEXT_LEN); its length */
size_t		hc_venue_format_text(const uint8_t buf[HC_VENUE_LEN], char *out);
/* The payload a venue code's text spells (its prefix, base45, length). */
hc_status	hc_venue_parse_text(const char *text, size_t text_len, uint8_t buf[HC_VENUE_LEN],
								char *detail, size_t detail_len);

/* ---- QR rendering (libqrencode, libpng) --------------------------------- */
typedef enum hc_qr_level
{
	HC_QR_L = 0, HC_QR_M, HC_QR_Q, HC_QR_H
} hc_qr_level;

/* A rendered symbol: width x width modules, row-major, 1 = dark. */
typedef struct hc_qr
{
	int			width;
	uint8_t    *modules;
} hc_qr;

/* A malloc'd output buffer owned by the caller (free with hc_buf_free). */
typedef struct hc_buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} hc_buf;

bool		hc_qr_level_from_name(const char *name, hc_qr_level *out);
/* Encodes text (QR alphanumeric mode where the text allows it). */
hc_status	hc_qr_encode(const char *text, hc_qr_level level, hc_qr *out);
void		hc_qr_free(hc_qr *qr);
#define HC_QR_MARGIN 4			/* the quiet zone the QR standard asks for */
#define HC_QR_MAX_MODULE 64
hc_status	hc_qr_svg(const hc_qr *qr, int module_px, hc_buf *out);
hc_status	hc_qr_png(const hc_qr *qr, int module_px, hc_buf *out);
/* Two module rows per text line with half blocks; dark modules drawn as
 * spaces on a block background, so a dark terminal shows a dark-on-light
 * symbol (invert for light terminals). */
hc_status	hc_qr_utf8(const hc_qr *qr, bool invert, hc_buf *out);
void		hc_buf_free(hc_buf *b);
/* Grow by at least extra bytes / append / append formatted text (no NUL
 * counted in len). Each returns false when memory runs out. */
bool		hc_buf_reserve(hc_buf *b, size_t extra);
bool		hc_buf_append(hc_buf *b, const void *data, size_t n);
bool		hc_buf_printf(hc_buf *b, const char *fmt, ...)
			__attribute__((format(printf, 2, 3)));

/* Big-endian unsigned integers at p (which needs 4 or 8 bytes). */
uint32_t	hc_get_be32(const uint8_t *p);
void		hc_put_be32(uint8_t *p, uint32_t v);
uint64_t	hc_get_be64(const uint8_t *p);
void		hc_put_be64(uint8_t *p, uint64_t v);

/* Writes a failure's detail text into the caller's detail buffer (nothing
 * when detail is NULL or detail_len 0), truncated to fit. */
void		hc_set_detail(char *detail, size_t detail_len, const char *fmt, ...)
			__attribute__((format(printf, 3, 4)));

#endif							/* HC_CORE_H */
