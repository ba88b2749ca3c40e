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
              src/hc_core_status.o
OBJS        = src/healthcode.o src/hc_type.o src/hc_keys.o src/hc_qr_pg.o src/hc_status_pg.o src/hc_session.o src/hc_import_pg.o src/hc_partition_worker.o \
              src/hc_explain_guard.o $(CORE_OBJS)
SHLIB_LINK  = -lsodium -lqrencode -lpng

# The install script is assembled from the topic files in src/sql/.
SQL_PARTS   = $(sort $(wildcard src/sql/*.sql))
# The update from 0.1.0: the schema guard, the comments 0.2.0 added to
# 0.1.0's objects, and the topic files new in 0.2.0. (This list is frozen:
# objects added after 0.2.0 go into the next version's update script.)
UPGRADE_0_2_0_NEW = src/sql/41_arguments.sql src/sql/42_divisions.sql src/sql/45_scope.sql src/sql/50_people.sql \
              src/sql/55_policy.sql src/sql/60_status.sql src/sql/65_audit.sql \
              src/sql/70_interfaces.sql src/sql/72_imports.sql src/sql/80_retention.sql src/sql/85_consistency.sql \
              src/sql/90_synthetic.sql src/sql/92_federation.sql src/sql/95_dump.sql src/sql/96_rls.sql \
              src/sql/97_analyst.sql src/sql/98_decisions.sql src/sql/99_privileges.sql
UPGRADE_0_2_0 = src/sql/upgrade/0.1.0--0.2.0-head.sql src/sql/01_schema_guard.sql \
              src/sql/upgrade/0.1.0--0.2.0-comments.sql $(UPGRADE_0_2_0_NEW)
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql $(EXTENSION)--0.1.0--0.2.0.sql
# Earlier versions' install scripts, frozen, so that an update can be tested
DATA        = $(wildcard upgrade/$(EXTENSION)--*.sql)
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

EXTRA_CLEAN = test/unit/test_core test/unit/unseal_tool \
              $(filter-out %.c,$(wildcard test/fuzz/fuzz_*)) bench/raw_rates results regression.diffs regression.out

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

all: $(EXTENSION).control

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) META.json
	cat $(SQL_PARTS) > $@

$(EXTENSION)--0.1.0--0.2.0.sql: $(UPGRADE_0_2_0)
	cat $(UPGRADE_0_2_0) > $@

# Keep the control file's default_version in step with META.json.
$(EXTENSION).control: META.json
	sed -i "s/^default_version = .*/default_version = '$(EXTVERSION)'/" $@

# ---- the codec core on its own: unit tests and fuzzing -------------------
CORE_SRC    = src/hc_core_buf.c src/hc_core_codec.c src/hc_core_crypto.c src/hc_core_import.c src/hc_core_qr.c \
              src/hc_core_status.c
CORE_HDR    = src/hc_core.h src/hc_status.h src/hc_import.h
CORE_LIBS   = -lsodium -lqrencode -lpng
UNIT_CFLAGS = -O1 -g -Wall -Wextra -Werror -Isrc -fsanitize=address,undefined -fno-omit-frame-pointer

UNIT_SRC    = test/unit/test_core.c test/unit/test_status.c test/unit/test_import.c
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

test/fuzz/fuzz_%: test/fuzz/fuzz_%.c $(CORE_SRC) $(CORE_HDR)
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
