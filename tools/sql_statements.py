#!/usr/bin/env python3
"""Prints the statements of src/sql/ that define the functions named on the
command line: each one's CREATE FUNCTION or PROCEDURE (as CREATE OR
REPLACE) or CREATE AGGREGATE, COMMENT, REVOKE and GRANT, in the order src/sql/ makes them.
Used by tools/update-draft.sh."""
import glob
import re
import sys


def statements(text):
    """Splits SQL text into statements, minding quotes, dollar quotes and
    BEGIN ATOMIC bodies."""
    out, cur, quote, atomic = [], [], None, False
    for line in text.split('\n'):
        cur.append(line)
        code = line if quote else re.sub(r"--.*", "", line)
        for m in re.finditer(r"\$[A-Za-z_]*\$", code):
            if quote is None:
                quote = m.group(0)
            elif m.group(0) == quote:
                quote = None
        if quote is None:
            if re.search(r'\bBEGIN ATOMIC\s*$', code):
                atomic = True
            elif atomic and re.match(r'^END;', line):
                atomic = False
            elif not atomic and code.rstrip().endswith(';'):
                out.append('\n'.join(cur))
                cur = []
    return out


names = sys.argv[1:]
pattern = re.compile(r'^(?:\s*--[^\n]*\n)*\s*(CREATE (?:FUNCTION|AGGREGATE|PROCEDURE)|'
                     r'COMMENT ON (?:FUNCTION|AGGREGATE|PROCEDURE)|'
                     r'REVOKE ALL ON (?:FUNCTION|PROCEDURE)|GRANT EXECUTE ON (?:FUNCTION|PROCEDURE)) @extschema@\.(\w+)\(')
# in the order src/sql/ makes them: a function's statements where its
# CREATE stands, so that what a body refers to exists before it
for path in sorted(glob.glob('src/sql/[0-9]*.sql')):
    for stmt in statements(open(path).read()):
        body = stmt.strip('\n')
        m = pattern.match(body)
        if m and m.group(2) in names:
            if m.group(1).startswith('CREATE'):
                print()
            print(re.sub(r'^((?:\s*--[^\n]*\n)*)\s*CREATE (FUNCTION|AGGREGATE|PROCEDURE)', r'\1CREATE OR REPLACE \2', body))
