"""Markdown tables: the one table writer of the project's reports (pruning, lowering, bench)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def md_table(
    header: Sequence[object], rows: Iterable[Sequence[object]], align: str = ""
) -> list[str]:
    """The lines of a Markdown table: the header, the separator and one line per row.

    align: one letter per column, ``l`` (default) or ``r`` (right-aligned, ``---:``). Cells are
    written as given (``str``), so callers format numbers; an empty cell stays empty."""
    width = len(header)
    if len(align) > width:
        raise ValueError(f"align {align!r} has more letters than the {width} columns")
    sep = "|" + "|".join("---:" if a == "r" else "---" for a in align.ljust(width, "l")) + "|"
    lines = [_row(header), sep]
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row of {len(row)} cells in a table of {width} columns: {row!r}")
        lines.append(_row(row))
    return lines


def _row(cells: Sequence[object]) -> str:
    return "|" + "|".join(f" {c} " if str(c) else " " for c in cells) + "|"
