/*
 * hc_pg.h — declarations shared by the PostgreSQL glue files.
 * The codec itself lives in hc_core.h and knows nothing of PostgreSQL.
 */
#ifndef HC_PG_H
#define HC_PG_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/timestamp.h"

#include "hc_core.h"
#include "hc_identifier.h"

/*
 * Soft errors for input functions: PostgreSQL 16 added escontext so that
 * pg_input_is_valid() can ask without an ERROR; on 15 ereturn is a plain
 * ereport (ip4r's shim).
 */
#if PG_VERSION_NUM < 160000
#define ereturn(context, dummy_value, ...) \
	do { (void) (context); ereport(ERROR, __VA_ARGS__); return dummy_value; } while (0)
#define HC_ESCONTEXT(fcinfo) NULL
#else
#include "nodes/miscnodes.h"
#define HC_ESCONTEXT(fcinfo) ((fcinfo)->context)
#endif

/* The on-disk value: a varlena holding the packed payload. */
#define HC_GETARG_BYTES(n) ((struct varlena *) PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(n)))

/* GUCs (healthcode.c) */
extern char *hc_server_key_file;
extern char *hc_national_key_file;
extern int	hc_clock_skew_seconds;
extern char *hc_change_cause;
extern bool hc_restore_mode;
extern int	hc_min_cell_size;
extern int	hc_recalc_workers;
extern int	hc_recalc_batch_size;
extern int	hc_recalc_inline_limit;
extern int	hc_recalc_worker_idle_ms;
extern bool hc_recalc_standby;
/* loaded at server start (shared_preload_libraries): set in the postmaster,
 * so in every process it starts */
extern bool hc_preloaded;

/* hc_code_events.c: called by _PG_init at server start */
extern void hc_code_events_preload(void);

/* hc_recalc_worker.c: called by _PG_init at server start */
extern void hc_recalc_launcher_preload(void);

/* hc_explain_guard.c */
extern void hc_explain_guard_install(void);

/* hc_status_pg.c: the elements of a one-dimensional array argument of a
 * built-in type (bigint, boolean, text, timestamptz; others by the
 * catalogs), which must be *n of them (*n < 0: any number, then set);
 * `what` names the argument in errors. */
struct ArrayType;
extern void hc_array_elements(struct ArrayType *arr, Oid elemtype, const char *what, Datum **elems, bool **nulls,
							  int *n);
/* hc_status_pg.c: a row value (an element of an array of a row type) as a
 * tuple heap_getattr reads, in place. */
struct HeapTupleData;
extern void hc_row_tuple(Datum row, struct HeapTupleData *tuple);

/* hc_type.c */
extern Datum hc_make_datum(const uint8_t *buf, size_t len);
/* Unpacks a stored value; stored values were validated on the way in, so
 * a failure here means corruption and raises XX001. */
extern void hc_unpack_stored(struct varlena *v, hc_code *out);
extern TimestampTz hc_unix_to_timestamptz(int64_t unix_seconds);
extern int64_t hc_timestamptz_to_unix(TimestampTz t);
extern Datum hc_colour_to_enum(Oid enumtype, hc_colour c);
extern hc_colour hc_enum_to_colour(Datum enumval);
extern uint32_t hc_region_arg(text *t, const char *argname);
extern char *hc_place_code_problem(text *t);

/* hc_import_pg.c */
/* Midnight of a day in China Standard Time, where the era is dated. */
extern TimestampTz hc_cst_time(int year, int month, int day);
/* Evidence and bulletins start with the health-code era, 2019-12-01 CST. */
#define hc_era_start() hc_cst_time(2019, 12, 1)

/* hc_identifier_pg.c */
extern int32 hc_identifier_today(void);
extern hc_identifier_kind hc_identifier_read(text *id, char out[HC_IDENTIFIER_OUT], char *detail, size_t detail_len);

/* hc_key_cache.c (the key files share more in hc_keys.h) */
extern char *hc_key_id_hex(const uint8_t key_id[HC_KEY_ID_LEN]);
extern void hc_keys_register_callbacks(void);
extern void hc_revocations_register_callbacks(void);
/* hc_division_names.c */
extern void hc_division_names_register_callbacks(void);
extern void hc_keys_invalidate(void);

#endif							/* HC_PG_H */
