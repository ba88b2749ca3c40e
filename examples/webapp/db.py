"""The app's connections: one a database login in each worker process,
opened on first use (after uWSGI forks its processes), every call its own transaction
(autocommit), as PgBouncer in transaction mode expects: no session state
and no server-side prepared statement outlives a call.

The app holds three logins, each a member of one of the extension's roles
and mapped to the app's region: web_app (healthcode_app: code screens,
itinerary, proxies, scans), web_verifier (healthcode_verifier: checkpoint
verdicts), web_analyst (healthcode_analyst: counts). Which rows a login
sees is the database's decision (region scope, row-level security), never
the app's.

(psycopg2, Debian's python3-psycopg2, rather than psycopg 3: Debian ships
psycopg 3 without its C implementation, and its ctypes layer spent 0.15 ms
of client CPU a code screen against psycopg2's 0.05, a tenth of the app's
whole time a request. PgBouncer pools the server connections; a worker
serves one request at a time, so one connection a login is its pool.)
"""
import os

import psycopg2
import psycopg2.errors

_conns = {}
_pid = None


def _connection(login):
    global _pid
    if _pid != os.getpid():
        # (a connection opened before a fork is not this process's)
        _conns.clear()
        _pid = os.getpid()
    conn = _conns.get(login)
    if conn is None or conn.closed:
        conn = psycopg2.connect(os.environ["HC_WEB_DSN_" + login.upper()])
        conn.autocommit = True
        _conns[login] = conn
    return conn


def _run(login, sql, params, fetch):
    conn = _connection(login)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return fetch(cur)
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        # (a connection PgBouncer or the server closed: this request fails,
        # the next opens another; never sent again, a call may have run)
        if conn.closed:
            _conns.pop(login, None)
        raise


# (rows as dicts made here: psycopg2's RealDictCursor spent 25-35 us more a
# code screen, a fortieth of the app's time a page)
def _names(cur):
    return [d[0] for d in cur.description]


def one(login, sql, params=()):
    """The first row of one statement, as a dict (None when none)."""
    def fetch(cur):
        row = cur.fetchone()
        return None if row is None else dict(zip(_names(cur), row))
    return _run(login, sql, params, fetch)


def rows(login, sql, params=()):
    """Every row of one statement, as dicts."""
    def fetch(cur):
        names = _names(cur)
        return [dict(zip(names, row)) for row in cur.fetchall()]
    return _run(login, sql, params, fetch)


# The errors a page shows as such (the rest are the app's fault: 500)
NotFound = psycopg2.errors.NoDataFound                   # P0002: nobody of that id in the login's regions
BadInput = (psycopg2.errors.InvalidTextRepresentation,    # 22P02: not a code at all
            psycopg2.errors.InvalidParameterValue,        # 22023: e.g. not an ID number
            psycopg2.errors.NullValueNotAllowed)          # 22004
