#!/usr/bin/env python3
"""Keeps README.md and docs/*.md true to their sources:
- each fenced block that follows `<!-- include: FILE -->` is rewritten with FILE's text (the
  ctest 'docs: embedded examples match' checks it);
- each quoted figure, written `<!-- fig: SOURCE KEY [/ KEY] as FORMAT -->TEXT<!-- /fig -->`,
  is rewritten from docs/results/SOURCE.json (recorded by scripts/record-figures.py): KEY is
  a figure of that file (or `:date`, `:commit`, `:machine`, `:command`, its record), `/ KEY`
  divides by another figure of the same file, FORMAT says how to print it (see FORMATS). The ctest 'docs: quoted figures match docs/results' runs this with
  --check, which changes nothing and fails on the first page that differs.

  scripts/sync-docs.py [--check]"""
import json
import math
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
include = re.compile(r"(<!-- include: (\S+) -->\n```cpp\n)(.*?)(```\n)", re.S)
figure = re.compile(r"(<!-- fig: (\S+) (\S+)(?: / (\S+))? as (\S+) -->)(.*?)(<!-- /fig -->)", re.S)


def significant(value, digits=3):
    """`digits` significant digits, no exponent: 95.63 -> 95.6, 3.172 -> 3.17, 1234 -> 1234."""
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def si(value):
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return significant(value / scale) + suffix
    return significant(value)


def duration(ns):
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= scale:
            return f"{significant(ns / scale)} {unit}"
    return f"{significant(ns)} ns"


FORMATS = {
    "ns": lambda v: f"{significant(v)} ns",  # a time in ns, printed in ns
    "time": duration,  # a time in ns, printed in the largest unit that keeps it >= 1
    "x": lambda v: f"{v:.2f}×",  # a ratio
    "x1": lambda v: f"{v:.1f}×",
    "ratio": lambda v: f"{v:.4f}",  # a hit ratio, as the simulator prints it
    "ratio3": lambda v: f"{v:.3f}",
    "percent": lambda v: f"{100 * v:.1f} %",
    "points": lambda v: f"{100 * v:.1f}",  # a difference of hit ratios, in points
    "si": si,  # 1.26M, 826k
    "int": lambda v: f"{round(v):,}",
    "mib": lambda v: f"{v / 2**20:.1f} MiB",
    "text": str,  # a field such as :date or :commit
}

results = {}


def lookup(source, key, where):
    """A figure of docs/results/SOURCE.json; `:command`, `:commit`, `:machine`, `:date` are
    the file's own fields (printed with the format `text`)."""
    if source not in results:
        path = root / "docs" / "results" / f"{source}.json"
        if not path.exists():
            sys.exit(f"{where}: no results file docs/results/{source}.json")
        results[source] = json.loads(path.read_text())
    table = results[source] if key.startswith(":") else results[source]["figures"]
    if key.lstrip(":") not in table:
        sys.exit(f"{where}: docs/results/{source}.json has no figure '{key}'")
    return table[key.lstrip(":")]


def render(match, where):
    opening, source, key, divisor, form, _, closing = match.groups()
    if form not in FORMATS:
        sys.exit(f"{where}: unknown figure format '{form}' (one of {', '.join(FORMATS)})")
    value = lookup(source, key, where)
    if divisor:
        value = value / lookup(source, divisor, where)
    return opening + FORMATS[form](value) + closing


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] and not check:
        sys.exit("usage: scripts/sync-docs.py [--check]")
    stale = []
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        name = str(doc.relative_to(root))
        text = doc.read_text()
        new = include.sub(lambda m: m[1] + (root / m[2]).read_text() + m[4], text)
        new = figure.sub(lambda m: render(m, name), new)
        if new == text:
            continue
        if check:
            before = [m[6] for m in figure.finditer(text)]
            after = [m[6] for m in figure.finditer(new)]
            diffs = [f"'{b}' should read '{a}'" for b, a in zip(before, after) if a != b]
            stale.append(f"{name}: " + ("; ".join(diffs) or "an embedded example differs"))
        else:
            doc.write_text(new)
            print(f"updated {name}")
    if stale:
        print("pages differ from docs/results (run scripts/sync-docs.py):", *stale, sep="\n  ")
        sys.exit(1)
    if check:
        print("every quoted figure matches docs/results")


if __name__ == "__main__":
    main()
