"""Run SCALE-Sim (``scalesim`` 3.0.0, output-stationary) on a list of GEMMs and read its cycles.

SCALE-Sim is run as its own command (``python -m scalesim.scale``) in a scratch folder, with a
generated config (``[layout]`` and ``[sparsity]`` sections are required by 3.0.0), a GEMM topology
CSV (``Layer Name, M, N, K,``: note SCALE-Sim's column order) and a layout CSV. Cycles come from
its COMPUTE_REPORT.csv ("Total Cycles"), which is one less than the cycle count in this project's
convention (first operand in to last result captured, inclusive): ``project_cycles`` adds it back.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from systolic.errors import SimulatorError

_CONFIG = """[general]
run_name = systolic_bench

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 1024
FilterSramSzkB: 1024
OfmapSramSzkB: 1024
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : 10
Dataflow : os
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

_LAYOUT_HEADER = (
    "Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height "
    "Intraline Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter "
    "Intraline Factor, IFMAP Height Intraline Order, IFMAP Width Intraline Order, Channel "
    "Intraline Order, IFMAP Height Interline Order, IFMAP Width Interline Order, Channel "
    "Interline Order, Num Filter Intraline Order, Channel Intraline Order, Filter Height "
    "Intraline Order, Filter Width Intraline Order, Num Filter Interline Order, Channel "
    "Interline Order, Filter Height Interline Order, Filter Width Interline Order,\n"
)


@dataclass(frozen=True)
class ScaleSimResult:
    name: str
    reported_cycles: int  # SCALE-Sim's "Total Cycles"
    utilization: float  # its "Overall Util %" / 100
    mapping_efficiency: float  # its "Mapping Efficiency %" / 100

    @property
    def project_cycles(self) -> int:
        """The same count in this project's convention (SCALE-Sim reports total - 1)."""
        return self.reported_cycles + 1


def available() -> bool:
    try:
        import scalesim  # noqa: F401
    except ImportError:
        return False
    return True


def run_gemms(
    gemms: list[tuple[str, int, int, int]], rows: int, cols: int, workdir: Path
) -> dict[str, ScaleSimResult]:
    """Run SCALE-Sim once for all (name, M, K, N) on a rows x cols array; results by name."""
    if not available():
        raise SimulatorError(
            "SCALE-Sim is not installed: pip install -c constraints.txt 'scalesim==3.0.0' "
            "(the 'bench' extra; it needs numpy < 2.4)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "scale.cfg"
    cfg.write_text(_CONFIG.format(rows=rows, cols=cols))
    topo = workdir / "gemms.csv"
    layout = workdir / "layout.csv"
    names = [_safe(name) for name, *_ in gemms]
    with topo.open("w") as f:
        f.write("Layer Name, M, N, K,\n")
        for name, (_, m, k, n) in zip(names, gemms, strict=True):
            f.write(f"{name}, {m}, {n}, {k},\n")
    with layout.open("w") as f:
        f.write(_LAYOUT_HEADER)
        for name in names:
            f.write(f"{name}, 1, 1, 1, 1, 1, 1, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1,\n")
    out = workdir / "out"
    cmd = [sys.executable, "-m", "scalesim.scale", "-c", str(cfg), "-t", str(topo)]
    cmd += ["-l", str(layout), "-p", str(out), "-i", "gemm", "-s", "N"]
    proc = subprocess.run(
        cmd,
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    (workdir / "scalesim.log").write_text(proc.stdout + proc.stderr)
    reports = list(out.rglob("COMPUTE_REPORT.csv"))
    if proc.returncode != 0 or not reports:
        raise SimulatorError(
            f"SCALE-Sim failed (exit {proc.returncode}); see {workdir}/scalesim.log"
        )
    rows_out = list(csv.reader(reports[0].open()))
    header = [h.strip() for h in rows_out[0]]
    col = {h: i for i, h in enumerate(header)}
    results: dict[str, ScaleSimResult] = {}
    for (orig, *_), row in zip(gemms, rows_out[1:], strict=True):
        results[orig] = ScaleSimResult(
            orig,
            int(float(row[col["Total Cycles"]])),
            float(row[col["Overall Util %"]]) / 100,
            float(row[col["Mapping Efficiency %"]]) / 100,
        )
    return results


def _safe(name: str) -> str:
    """SCALE-Sim splits on commas and expands names containing 'DP' as depthwise."""
    return name.replace(",", "_").replace("DP", "dp").replace(" ", "_")
