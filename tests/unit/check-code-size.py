#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the ceilings DESIGN.md sets: no C function over 150 lines, no source file over 1500.

A function is what starts at a line beginning in column 0 that ends in '{' (the project's style
puts a function's opening brace on its signature line) and ends at the next '}' in column 0.
Prints one line per offender and the TAP plan, exits 1 if there is any."""
import pathlib
import re
import sys

FUNCTION_MAX = 150
FILE_MAX = 1500

top = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
start = re.compile(r'^[A-Za-z_].*\)\s*(__attribute__\(\(.*\)\)\s*)?\{\s*$')
files = sorted(p for d in ("src", "tests/helpers", "tests/unit") for p in (top / d).rglob("*.[ch]"))
offenders = []
for path in files:
    lines = path.read_text(errors="replace").splitlines()
    rel = path.relative_to(top)
    if len(lines) > FILE_MAX:
        offenders.append(f"{rel}: {len(lines)} lines (ceiling {FILE_MAX})")
    begin = name = None
    for n, line in enumerate(lines, 1):
        if begin is None and start.match(line) and not line.startswith(("typedef", "struct", "enum", "union", "static const", "const")):
            m = re.search(r'([A-Za-z_][A-Za-z0-9_]*)\s*\(', line)
            begin, name = n, m.group(1) if m else "?"
        elif begin is not None and line.startswith("}"):
            length = n - begin + 1
            if length > FUNCTION_MAX and not str(rel).startswith("tests/"):
                offenders.append(f"{rel}:{begin}: {name}() is {length} lines (ceiling {FUNCTION_MAX})")
            begin = None
print(f"1..1")
for o in offenders:
    print(f"# {o}")
print(("not ok" if offenders else "ok") + f" 1 - {len(files)} files within {FILE_MAX} lines, functions within {FUNCTION_MAX}")
sys.exit(1 if offenders else 0)
