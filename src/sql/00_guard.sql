-- healthcode install script, assembled by the Makefile from src/sql/*.sql.
\echo Use "CREATE EXTENSION healthcode" to load this file. \quit
