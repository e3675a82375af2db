"""Write a benchmark's output into its marked section of the top-level README.md."""

import sys
from pathlib import Path

from nnfs.atomic import atomic_write

README = Path(__file__).resolve().parents[1] / "README.md"


def update_section(name, body):
    """Replace what stands between <!-- bench:NAME --> and <!-- /bench:NAME -->."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = README.read_text()
    if start not in text or end not in text:
        sys.exit(f"{README}: no {start} ... {end} section to update")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    atomic_write(README, lambda f: f.write(f"{before}{start}\n{body}\n{end}{after}"), mode="w")
    print(f"\nupdated the {name} section of {README}")
