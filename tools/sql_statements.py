#!/usr/bin/env python3
"""Prints the statements of src/sql/ that define one function (by name):
its CREATE FUNCTION (as CREATE OR REPLACE), COMMENT, REVOKE and GRANT.
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


name = sys.argv[1]
pattern = re.compile(r'^(?:\s*--[^\n]*\n)*\s*(CREATE (?:FUNCTION|AGGREGATE)|COMMENT ON (?:FUNCTION|AGGREGATE)|'
                     r'REVOKE ALL ON FUNCTION|GRANT EXECUTE ON FUNCTION) @extschema@\.' + re.escape(name) + r'\(')
for path in sorted(glob.glob('src/sql/[0-9]*.sql')):
    for stmt in statements(open(path).read()):
        body = stmt.strip('\n')
        if pattern.match(body):
            body = re.sub(r'^((?:\s*--[^\n]*\n)*)\s*CREATE FUNCTION', r'\1CREATE OR REPLACE FUNCTION', body)
            print(body)
print()
