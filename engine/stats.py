"""The statistics record each cocotb test writes and the host reads back: one format.

A test writes ``<stats dir>/<test>.json`` (:func:`write_stats`) when it ends; the runner reads
every record of the run folder (:func:`read_stats`) into ``RunResult.stats``, which the run
summaries, the flake check and the benchmarks use.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from systolic.fileio import atomic_write


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
    """Every record of a run's statistics folder, in test-name order."""
    return [
        asdict(TestStats(**json.loads(p.read_text()))) for p in sorted(Path(folder).glob("*.json"))
    ]
