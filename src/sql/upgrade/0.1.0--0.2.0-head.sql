-- healthcode 0.1.0 -> 0.2.0, assembled by the Makefile: this header, the schema guard, the
-- comments 0.2.0 added to 0.1.0's objects, then every topic file new in 0.2.0 (UPGRADE_0_2_0_NEW).
\echo Use "ALTER EXTENSION healthcode UPDATE TO '0.2.0'" to load this file. \quit
