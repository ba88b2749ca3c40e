# healthcode — PGXS build.
#
#   make && make install          build and install into the pg_config found
#   make installcheck             pg_regress suite (needs a running server)
#   make unittest                 C unit tests of the codec core (no server)
#   make fuzz FUZZ_SECONDS=30     libFuzzer targets (clang)
#
# The version comes from META.json alone (pg-semver's approach).

EXTENSION   = healthcode
EXTVERSION  = $(shell sed -n 's/^   "version": "\(.*\)",$$/\1/p' META.json)
PG_CONFIG  ?= pg_config

MODULE_big  = healthcode
CORE_OBJS   = src/hc_core_buf.o src/hc_core_codec.o src/hc_core_crypto.o src/hc_core_import.o src/hc_core_qr.o \
              src/hc_core_identifier.o src/hc_core_venue.o src/hc_core_status.o src/hc_core_status_kinds.o src/hc_core_status_policy.o src/hc_core_status_text.o \
              src/hc_core_status_inputs.o src/hc_core_status_areas.o
OBJS        = src/healthcode.o src/hc_type.o src/hc_key_file.o src/hc_key_cache.o src/hc_sign_pg.o src/hc_pseudonym_pg.o \
              src/hc_qr_pg.o src/hc_status_pg.o src/hc_status_areas_pg.o src/hc_session.o src/hc_evidence_pg.o src/hc_import_pg.o src/hc_partition_worker.o src/hc_revocation_pg.o \
              src/hc_recalc_worker.o src/hc_identifier_pg.o src/hc_venue_pg.o src/hc_code_events.o src/hc_division_names.o \
              src/hc_explain_guard.o src/hc_scope_sel.o $(CORE_OBJS)
SHLIB_LINK  = -lsodium -lqrencode -lpng

# Released versions are frozen files in releases/: each one's install
# script and the update script that reached it, committed once and never
# edited again (doc/releasing.md). Only the version in development, the
# one META.json names, is built: its install script from the topic files
# in src/sql/, and its update from the last release from the schema guard
# and the hand-written src/sql/update/LAST--NEW.sql.
SQL_PARTS   = $(sort $(wildcard src/sql/*.sql))
RELEASED    = $(wildcard releases/$(EXTENSION)--*.sql)
LAST_RELEASE = $(shell ls releases/$(EXTENSION)--*.sql | sed -n 's|^releases/$(EXTENSION)--\([0-9.]*\)\.sql$$|\1|p' | sort -V | tail -n 1)
UPDATE_DELTA = src/sql/update/$(LAST_RELEASE)--$(EXTVERSION).sql
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql $(EXTENSION)--$(LAST_RELEASE)--$(EXTVERSION).sql
DATA        = $(RELEASED)
DOCS        = doc/reference.md

TESTS       = $(sort $(wildcard sql/*.sql))
REGRESS     = $(patsubst sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=. --dbname=contrib_regression

# -Wall -Wextra on top of PGXS's flags. -Wno-unused-parameter: every
# V1 function takes fcinfo, and PostgreSQL callbacks have fixed signatures
# whose arguments we often do not need. -Wno-missing-field-initializers:
# "= {false}" zero-fills arrays by design.
PG_CFLAGS   = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
PG_CPPFLAGS = -Isrc

EXTRA_CLEAN = $(EXTENSION).control test/unit/test_core test/unit/unseal_tool \
              $(filter-out %.c %.h,$(wildcard test/fuzz/fuzz_*)) bench/raw_rates results regression.diffs regression.out

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

all: $(EXTENSION).control

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) META.json
	cat $(SQL_PARTS) > $@

$(EXTENSION)--$(LAST_RELEASE)--$(EXTVERSION).sql: $(UPDATE_DELTA) src/sql/01_schema_guard.sql META.json
	{ printf '%s\n' '-- healthcode $(LAST_RELEASE) -> $(EXTVERSION), built by the Makefile: the schema guard, then $(UPDATE_DELTA).' \
	    "\\echo Use \"ALTER EXTENSION healthcode UPDATE TO '$(EXTVERSION)'\" to load this file. \\quit"; \
	  cat src/sql/01_schema_guard.sql $(UPDATE_DELTA); } > $@

# The control file is made from its template with META.json's version.
$(EXTENSION).control: $(EXTENSION).control.in META.json
	sed "s/@EXTVERSION@/$(EXTVERSION)/" $< > $@

# PGXS knows no header dependencies: every object is rebuilt when a header
# changes (a stale object with an old struct layout crashes the backend).
$(OBJS): $(wildcard src/*.h)

# ---- the codec core on its own: unit tests and fuzzing -------------------
CORE_SRC    = src/hc_core_buf.c src/hc_core_codec.c src/hc_core_crypto.c src/hc_core_import.c src/hc_core_qr.c \
              src/hc_core_identifier.c src/hc_core_venue.c src/hc_core_status.c src/hc_core_status_kinds.c src/hc_core_status_policy.c src/hc_core_status_text.c \
              src/hc_core_status_inputs.c src/hc_core_status_areas.c
CORE_HDR    = src/hc_core.h src/hc_status.h src/hc_status_internal.h src/hc_import.h src/hc_identifier.h
CORE_LIBS   = -lsodium -lqrencode -lpng
UNIT_CFLAGS = -O1 -g -Wall -Wextra -Werror -Isrc -fsanitize=address,undefined -fno-omit-frame-pointer

UNIT_SRC    = test/unit/test_core.c test/unit/test_status.c test/unit/test_import.c test/unit/test_vectors.c \
              test/unit/test_identifier.c test/unit/test_venue.c test/unit/test_areas.c
test/unit/test_core: $(UNIT_SRC) test/unit/tap.h $(CORE_SRC) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRC) $(CORE_SRC) $(CORE_LIBS)

test/unit/unseal_tool: test/unit/unseal_tool.c $(CORE_SRC) $(CORE_HDR)
	$(CC) -O1 -g -Wall -Wextra -Werror -Isrc -o $@ test/unit/unseal_tool.c $(CORE_SRC) $(CORE_LIBS)

.PHONY: unittest fuzz
unittest: test/unit/test_core
	test/unit/test_core

FUZZ_SECONDS ?= 20
FUZZ_TARGETS = $(patsubst %.c,%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_CFLAGS  = -O1 -g -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

test/fuzz/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/fuzz_reader.h $(CORE_SRC) $(CORE_HDR)
	clang $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(CORE_LIBS)

# Each target runs for FUZZ_SECONDS; a crash or a broken property fails the
# build and shows the end of libFuzzer's report.
fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p test/fuzz/corpus/$$(basename $$t); \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  out=$$($$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -max_len=4096 \
	      test/fuzz/corpus/$$(basename $$t) test/fuzz/seeds 2>&1); rc=$$?; \
	  printf '%s\n' "$$out" | grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)'; \
	  [ $$rc -eq 0 ] || { printf '%s\n' "$$out" | tail -40; exit 1; }; \
	done
