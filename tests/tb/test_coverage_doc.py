"""docs/verification.md's functional-coverage table names every cover point of tb/coverage.py,
with as many bins as the point has (a cross is named by its own row)."""

from __future__ import annotations

import re
from pathlib import Path

from systolic.tb import coverage

ROOT = Path(__file__).resolve().parents[2]

#: Cover points whose bins the table gives as one phrase per bin, separated by commas.
COUNTED = {
    "systolic.accel.stall": coverage.ACCEL_STALLS,
    "systolic.accel.drain": coverage.ACCEL_DRAIN,
    "systolic.accel.fold": coverage.FOLDS,
    "systolic.accel.beat": coverage.ACCEL_BEATS,
    "systolic.product.fold": coverage.FOLDS,
}


def _rows() -> dict[str, str]:
    doc = (ROOT / "docs" / "verification.md").read_text()
    section = doc.split("## Functional coverage", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z_.]+)` \| (.*) \|$", section, re.M))


def test_every_cover_point_is_in_the_table() -> None:
    source = (ROOT / "tb" / "coverage.py").read_text()
    names = re.findall(r'@Cover(?:Point|Cross)\(\s*"([a-z_.]+)"', source)
    assert len(names) >= 17
    rows = _rows()
    assert set(names) == set(rows), set(names) ^ set(rows)


def test_the_top_rows_count_their_bins() -> None:
    rows = _rows()
    for name, bins in COUNTED.items():
        cells = rows[name].split(":", 1)[-1] if name.startswith("systolic.accel") else rows[name]
        assert len(cells.split(",")) == len(bins), (name, cells)
