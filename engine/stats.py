"""The statistics record each cocotb test writes and the host reads back: one format.

A test writes ``<stats dir>/<test>.json`` (:func:`write_stats`) when it ends; the runner reads
every record of the run folder (:func:`read_stats`) into ``RunResult.stats``, which the run
summaries, the flake check and the benchmarks use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from systolic.errors import SystolicError, one_line
from systolic.fileio import atomic_write

#: The counters of a record that are checks of the design (a run with none of them is no pass).
CHECK_FIELDS = ("products", "pe_checks", "edge_checks")


class StatsError(SystolicError):
    """A statistics record that cannot be read (cut short, not JSON, unknown fields)."""


@dataclass
class TestStats:
    """What one cocotb test did: cycles simulated, what was checked, how long it took."""

    __test__ = False  # not a pytest test class

    test: str
    passed: bool
    cycles: int = 0
    products: int = 0
    pe_checks: int = 0
    edge_checks: int = 0
    wrapped_products: int = 0
    reset_pulses: int = 0
    streams: int = 0
    wall_s: float = 0.0
    #: A digest of every stimulus the test drove (equal digests: the same stimulus).
    stimulus_sha256: str = ""


def write_stats(folder: str | Path | None, record: TestStats) -> None:
    """Write ``record`` into ``folder`` (nothing when the run collects no statistics)."""
    if not folder:
        return
    path = Path(folder) / f"{record.test}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(asdict(record)))


def read_stats(folder: Path) -> list[dict[str, Any]]:
    """Every record of a run's statistics folder, in test-name order (none when the folder does
    not exist); a record that cannot be read is a one-line :class:`StatsError`."""
    records = []
    for p in sorted(Path(folder).glob("*.json")):
        try:
            records.append(asdict(TestStats(**json.loads(p.read_text()))))
        except (OSError, ValueError, TypeError) as exc:
            raise StatsError(f"{p}: unreadable statistics record ({one_line(exc)})") from None
    return records


def checks(records: Iterable[Mapping[str, Any]]) -> int:
    """How many checks of the design the records count: products, PE-cycle and edge checks."""
    return sum(int(r.get(name, 0) or 0) for r in records for name in CHECK_FIELDS)
