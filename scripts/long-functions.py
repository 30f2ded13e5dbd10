#!/usr/bin/env python3
"""The longest functions and files of the product code, outside tests.

    scripts/long-functions.py              # the 20 longest functions and files
    scripts/long-functions.py --all        # every function and file, longest first
    scripts/long-functions.py --check      # exit 1 if any function or file is over the limits

Limits (docs/ARCHITECTURE.md, "Size"): a function fits on one screen (150 lines), a file
holds one concept (600 lines). Test code is not counted: `tests/` directories, `tests.rs`
files, `benches/` and everything after a file's first `#[cfg(test)]`.

A function is measured from its `fn` line to the closing brace at the same indentation, so
a nested closure or helper counts toward the function it is written in. Line counts
include comments and blank lines: what a reader has to read.
"""

import argparse
import os
import re
import subprocess
import sys

FN_LIMIT = 150
FILE_LIMIT = 600

FN_RE = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def is_test_path(path):
    parts = path.split("/")
    return (
        "tests" in parts[:-1]
        or parts[-1] == "tests.rs"
        or "benches" in parts[:-1]
        or "fuzz" in parts[:1]
    )


def product_files(root):
    out = subprocess.check_output(["git", "-C", root, "ls-files", "*.rs"], text=True)
    return [p for p in out.split() if not is_test_path(p)]


def measure(root, path):
    """(non-test line count, [(length, line, name)]) of one file."""
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    cut = next(
        (i for i, l in enumerate(lines) if l.strip().startswith("#[cfg(test)]")), len(lines)
    )
    fns = []
    for i in range(cut):
        m = FN_RE.match(lines[i])
        if not m:
            continue
        k = i
        while k < cut and "{" not in lines[k] and not lines[k].rstrip().endswith(";"):
            k += 1
        if k >= cut or "{" not in lines[k]:
            continue  # a declaration without a body (trait method)
        indent = len(m.group(1))
        j = k + 1
        while j < cut and not (
            lines[j].strip() == "}" and len(lines[j]) - len(lines[j].lstrip()) == indent
        ):
            j += 1
        if lines[k].rstrip().endswith("}"):
            j = k  # a one-line body
        fns.append((j - i + 1, i + 1, m.group(7)))
    return cut, fns


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--all", action="store_true", help="list everything, not the top 20")
    ap.add_argument("--check", action="store_true", help="exit 1 when over the limits")
    ap.add_argument("--fn-limit", type=int, default=FN_LIMIT)
    ap.add_argument("--file-limit", type=int, default=FILE_LIMIT)
    args = ap.parse_args()
    root = subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip()

    functions, files = [], []
    for path in product_files(root):
        n, fns = measure(root, path)
        files.append((n, path))
        functions.extend((length, f"{path}:{line} {name}") for length, line, name in fns)
    functions.sort(reverse=True)
    files.sort(reverse=True)
    top = None if args.all else 20

    print(f"Longest functions (limit {args.fn_limit} lines):")
    for length, where in functions[:top]:
        flag = "  over" if length > args.fn_limit else ""
        print(f"  {length:5}  {where}{flag}")
    print(f"Longest files, non-test lines (limit {args.file_limit}):")
    for n, path in files[:top]:
        flag = "  over" if n > args.file_limit else ""
        print(f"  {n:5}  {path}{flag}")

    over_fn = [f for f in functions if f[0] > args.fn_limit]
    over_file = [f for f in files if f[0] > args.file_limit]
    print(
        f"{len(functions)} functions, {len(over_fn)} over {args.fn_limit} lines; "
        f"{len(files)} files, {len(over_file)} over {args.file_limit} lines"
    )
    if args.check and (over_fn or over_file):
        sys.exit(1)


if __name__ == "__main__":
    main()
