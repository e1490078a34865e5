"""Workload runs at scale: replay layers run in parallel give the sequential run's summary, and
every finished layer is reported (layer i of n, cycles/s, ETA) outside the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from systolic.cli import main
from systolic.engine.config import RunSettings
from systolic.engine.layers import LayerRecord, Progress, replay_parts
from systolic.models.params import ArrayParams, TopParams
from systolic.verify.workload import run_workload

ARRAY = ArrayParams(4, 4)
#: Fields of a summary that differ from run to run (times, where the logs and results went).
RUN_FIELDS = {"sim_wall_s", "build_s", "log", "logs", "results_json"}


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without its wall times and file names."""
    out = {k: v for k, v in summary.items() if k not in RUN_FIELDS}
    out["layers"] = [{k: v for k, v in lr.items() if k != "wall_s"} for lr in summary["layers"]]
    out["total"] = {k: v for k, v in summary["total"].items() if k != "wall_s"}
    return out


def test_parts_cover_every_layer_once_balanced() -> None:
    costs = [100, 5, 60, 40, 1, 1]
    parts = replay_parts(costs, 2)
    assert sorted(i for part in parts for i in part) == list(range(6))
    assert all(part == sorted(part) for part in parts)
    assert sorted(sum(costs[i] for i in part) for part in parts) == [102, 105]
    assert replay_parts(costs, 10) == [[0], [2], [3], [1], [4], [5]]  # no empty part
    assert replay_parts(costs, 1) == [list(range(6))]


def _record(name: str, cycles: int, wall: float, passed: bool = True) -> LayerRecord:
    return LayerRecord(name, "conv", 1, 1, 1, 1, 1, cycles, cycles, 1, None, 1.0, wall, passed)


def test_progress_lines_count_layers_rate_and_eta() -> None:
    lines: list[str] = []
    prog = Progress([300, 100], lines.append, ["a", "b"])
    prog.t0 -= 3.0  # three seconds into the run when the first (3/4 of the cost) ends
    prog.layer_done(_record("a", 3000, 1.5))
    prog.layer_done(_record("b", 1000, 0.5, passed=False))
    assert lines[0].startswith("  layer 1 of 2 a: 3,000 cycles in 1.50 s (2,000 cycles/s) ok")
    assert "elapsed 3 s, ETA 1 s" in lines[0]  # 1/4 of the cost left at 3 s per 3/4
    assert lines[1].startswith("  layer 2 of 2 b: 1,000 cycles") and "FAILED" in lines[1]
    assert lines[1].endswith(", done")


@pytest.mark.sim
@pytest.mark.parametrize("design", [ARRAY, TopParams(ARRAY)], ids=["array", "accel"])
def test_parallel_replay_equals_sequential(
    design: ArrayParams | TopParams, shuffle_workload: Path, tmp_path: Path
) -> None:
    """Icarus, 4x4: two jobs give the one-job summary apart from wall times; each run reports
    every layer once as it finishes, and the summary holds none of those lines."""
    settings = RunSettings("icarus", build_root=tmp_path)
    runs = {}
    for jobs in (1, 2):
        lines: list[str] = []
        runs[jobs] = run_workload(
            shuffle_workload,
            settings,
            design,
            "replay",
            f"j{jobs}",
            jobs=jobs,
            progress=lines.append,
        )
        n = len(runs[jobs]["layers"])
        assert [line.split(" ")[3] for line in lines] == [str(i) for i in range(1, n + 1)]
        assert all(f" of {n} " in line and "cycles/s" in line for line in lines), lines
        named = sorted(line.split(" ")[6].rstrip(":") for line in lines)
        assert named == sorted(lr["layer"] for lr in runs[jobs]["layers"])
        text = Path(runs[jobs]["results_json"]).read_text()
        assert "cycles/s" not in text and "ETA" not in text
        assert json.loads(text)["total"] == runs[jobs]["total"]
    assert runs[1]["passed"] and len(runs[1]["layers"]) == 8
    assert comparable(runs[2]) == comparable(runs[1])
    if isinstance(design, ArrayParams):  # two simulator processes, each with its log
        assert len(runs[2]["logs"]) == 2 and runs[2]["log"] == runs[2]["logs"][0]


@pytest.mark.sim
def test_sim_workload_prints_progress_not_in_the_results(
    shuffle_workload: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SYSTOLIC_BUILD_DIR", str(tmp_path))
    argv = ["sim", "--workload", str(shuffle_workload), "--rows", "4", "--mode", "replay"]
    assert main([*argv, "--top", "accel", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    progress = [line for line in out.splitlines() if line.startswith("  layer ")]
    assert len(progress) == 8 and progress[-1].endswith("done"), out
    assert "PASSED" in out
    results = out.split("(results: ")[1].split(")")[0]
    assert "layer 1 of" not in Path(results).read_text()


@pytest.mark.sim
def test_progress_reaches_a_pipe_while_the_simulator_output_goes_to_its_log(
    shuffle_workload: Path, tmp_path: Path
) -> None:
    """stdout not a terminal (a pipe), the array's run (whose simulator process gets the log as
    descriptor 1): every progress line arrives, flushed before the table that follows it."""
    argv = ["sim", "--workload", str(shuffle_workload), "--rows", "4", "--mode", "replay"]
    env = {**os.environ, "SYSTOLIC_BUILD_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv, "--jobs", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    progress = [i for i, line in enumerate(lines) if line.startswith("  layer ")]
    table = [i for i, line in enumerate(lines) if line.startswith("  stem ")]
    assert len(progress) == 8 and table and progress[-1] < table[0], proc.stdout


def test_jobs_default_to_the_cores_this_process_may_use(
    shuffle_workload: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import systolic.verify.workload as vw

    seen: dict[str, Any] = {}

    def capture(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(vw, "run_workload", capture)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    with pytest.raises(SystemExit):
        main(["sim", "--workload", str(shuffle_workload), "--mode", "replay"])
    assert seen["jobs"] == 3
