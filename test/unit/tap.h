/*
 * tap.h — the unit tests' TAP harness (defined in test_core.c), shared by
 * every test file linked into test/unit/test_core.
 */
#ifndef HC_TEST_TAP_H
#define HC_TEST_TAP_H

#include <stdbool.h>

void		tap_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool		check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* CHECK(cond, "name %s", args...) — one TAP test. */
#define CHECK(cond, ...) check((cond), __VA_ARGS__)
/* A "# ..." diagnostic line, for details of a failure. */
#define DIAG(...) (tap_printf("# " __VA_ARGS__), tap_printf("\n"))

/* test_status.c */
void		test_status_engine(void);
/* test_areas.c */
void		test_risky_stays(void);
/* test_import.c */
void		test_import_fields(void);
/* test_venue.c */
void		test_venue_codes(void);
/* test_identifier.c */
void		test_identifiers(void);
/* test_vectors.c */
void		test_payload_vectors(void);

#endif
