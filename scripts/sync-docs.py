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
import hashlib
import json
import math
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
include = re.compile(r"(<!-- include: (\S+) -->\n```cpp\n)(.*?)(```\n)", re.S)
# A well-formed figure: its text holds no other comment, so an unclosed marker can never
# swallow the prose up to the next one.
figure = re.compile(
    r"(<!-- fig: (\S+) (\S+)(?: / (\S+))? as (\S+) -->)((?:(?!<!--).)*?)(<!-- /fig -->)", re.S)
# Anything that looks like a figure marker at all, however malformed: each must belong to a
# well-formed figure, or the page is refused (a wrapped or misspelt marker would otherwise be
# skipped, and its hand-typed text never checked).
marker_like = re.compile(r"<!--\s*/?\s*fig\b", re.I)


class PageError(Exception):
    pass


def significant(value, digits=3):
    """`digits` significant digits, no exponent: 95.63 -> 95.6, 3.172 -> 3.17, 1234 -> 1234."""
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def scaled(value, units):
    """`value` in the largest of `units` ((scale, suffix), largest first) that keeps it at
    least 1 once rounded to 3 significant digits (999.7k is 1.00M, not 1000k)."""
    for scale, suffix in units:
        if abs(float(significant(value / scale))) >= 1:
            return significant(value / scale) + suffix
    return significant(value / units[-1][0]) + units[-1][1]


FORMATS = {
    "ns": lambda v: f"{significant(v)} ns",  # a time in ns, printed in ns
    # a time in ns, printed in the largest unit that keeps it >= 1
    "time": lambda v: scaled(v, ((1e9, " s"), (1e6, " ms"), (1e3, " µs"), (1, " ns"))),
    "x": lambda v: f"{v:.2f}×",  # a ratio
    "x1": lambda v: f"{v:.1f}×",
    "ratio": lambda v: f"{v:.4f}",  # a hit ratio, as the simulator prints it
    "ratio3": lambda v: f"{v:.3f}",
    "percent": lambda v: f"{100 * v:.1f} %",
    "points": lambda v: f"{100 * v:.1f}",  # a hit ratio in points (0.922 -> 92.2)
    "si": lambda v: scaled(v, ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""))),  # 1.26M, 826k
    "int": lambda v: f"{math.floor(v + 0.5):,}",
    "mib": lambda v: f"{v / 2**20:.1f} MiB",
    "text": str,  # a field such as :date or :commit
}

results = {}


def load(source, where):
    if source not in results:
        path = root / "docs" / "results" / f"{source}.json"
        if not path.exists():
            raise PageError(f"{where}: no results file docs/results/{source}.json")
        results[source] = json.loads(path.read_text(encoding="utf-8"))
    return results[source]


def lookup(source, key, where):
    """A figure of docs/results/SOURCE.json; `:command`, `:commit`, `:machine`, `:date` are
    the file's own fields (printed with the format `text`)."""
    doc = load(source, where)
    table = doc if key.startswith(":") else doc["figures"]
    if key.lstrip(":") not in table:
        raise PageError(f"{where}: docs/results/{source}.json has no figure '{key}'")
    return table[key.lstrip(":")]


def render(match, where):
    opening, source, key, divisor, form, _, closing = match.groups()
    if form not in FORMATS:
        raise PageError(f"{where}: unknown figure format '{form}' (one of {', '.join(FORMATS)})")
    value = lookup(source, key, where)
    if divisor:
        denominator = lookup(source, divisor, where)
        if not denominator:
            raise PageError(f"{where}: '{key} / {divisor}' divides by zero")
        value = value / denominator
    if isinstance(value, float) and not math.isfinite(value):
        raise PageError(f"{where}: figure '{key}' of docs/results/{source}.json is {value}")
    return opening + FORMATS[form](value) + closing


def check_markers(name, text):
    """Refuses a page with a marker that is not part of a well-formed figure."""
    covered = [m.span() for m in figure.finditer(text)]
    for m in marker_like.finditer(text):
        if not any(start <= m.start() < end for start, end in covered):
            line = text.count("\n", 0, m.start()) + 1
            raise PageError(f"{name}:{line}: a malformed or unclosed figure marker "
                            f"('{text[m.start():m.start() + 40]}...'); the form is "
                            "<!-- fig: SOURCE KEY [/ KEY] as FORMAT -->TEXT<!-- /fig --> on "
                            "one line")


def check_artifacts():
    """The shoot-out's report and chart are the ones its results file was recorded from."""
    doc = load("shootout", "docs/results/shootout.json")
    for name, digest in doc.get("artifacts", {}).items():
        path = root / name
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise PageError(f"{name} is not the file docs/results/shootout.json was recorded "
                            "with (run scripts/record-figures.py shootout)")


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] and not check:
        sys.exit("usage: scripts/sync-docs.py [--check]")
    stale = []
    rendered = {}
    try:
        for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
            name = str(doc.relative_to(root))
            text = doc.read_text(encoding="utf-8")
            check_markers(name, text)
            new = include.sub(
                lambda m: m[1] + (root / m[2]).read_text(encoding="utf-8") + m[4], text)
            new = figure.sub(lambda m: render(m, name), new)
            if new == text:
                continue
            before = [m[6] for m in figure.finditer(text)]
            after = [m[6] for m in figure.finditer(new)]
            diffs = [f"'{b}' should read '{a}'" for b, a in zip(before, after) if a != b]
            stale.append(f"{name}: " + ("; ".join(diffs) or "an embedded example differs"))
            rendered[doc] = new
        check_artifacts()
    except PageError as e:
        sys.exit(f"sync-docs: {e}")
    if check:
        if stale:
            print("pages differ from docs/results (run scripts/sync-docs.py):", *stale,
                  sep="\n  ")
            sys.exit(1)
        print("every quoted figure matches docs/results")
        return
    # Written only once every page rendered, so that an error leaves no page half-updated.
    for doc, new in rendered.items():
        doc.write_text(new, encoding="utf-8", newline="")
        print(f"updated {doc.relative_to(root)}")


if __name__ == "__main__":
    main()
