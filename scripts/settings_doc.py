"""Rewrite the settings table of docs/CONFIGURATION.md from portal/config.py (`make docs`).

The table sits between the BEGIN and END marker lines; everything else in the file is
prose and stays as written. tests/test_docs.py fails while the file and the table differ.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from portal.config import settings_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "CONFIGURATION.md"
BLOCK = re.compile(
    r"(^<!-- BEGIN settings table.*?-->\n).*?(^<!-- END settings table -->$)", re.M | re.S
)


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    if BLOCK.search(text) is None:
        print(f"{DOC}: no BEGIN/END settings table markers", file=sys.stderr)
        return 1
    table = settings_markdown()
    updated = BLOCK.sub(lambda m: f"{m.group(1)}\n{table}\n{m.group(2)}", text)
    if updated != text:
        DOC.write_text(updated, encoding="utf-8")
        print(f"rewrote the settings table in {DOC.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
