#!/usr/bin/env python3
"""Rewrites each fenced block that follows `<!-- include: FILE -->` in README.md and
docs/*.md with FILE's current text (the ctest 'docs: embedded examples match' checks it)."""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
pattern = re.compile(r"(<!-- include: (\S+) -->\n```cpp\n)(.*?)(```\n)", re.S)
for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
    text = doc.read_text()
    new = pattern.sub(lambda m: m[1] + (root / m[2]).read_text() + m[4], text)
    if new != text:
        doc.write_text(new)
        print(f"updated {doc.relative_to(root)}")
