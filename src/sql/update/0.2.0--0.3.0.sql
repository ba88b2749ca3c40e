-- ---------------------------------------------------------------------------
-- healthcode 0.2.0 -> 0.3.0, written by hand: every change 0.3.0 makes to a
-- 0.2.0 database, as CREATE OR REPLACE, ALTER, or CREATE for what is new,
-- in the order src/sql/ makes them. The Makefile puts the schema guard
-- (src/sql/01_schema_guard.sql) before it. test/shell/upgrade_security.sh
-- proves the result equals a fresh install of 0.3.0.
-- ---------------------------------------------------------------------------

-- (no change yet)
