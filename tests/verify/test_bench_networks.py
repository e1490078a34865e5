"""bench/networks.py (make bench-networks) on a small workload: the record of a run on the RTL,
its phases and verdict (the full-size networks are the benchmark itself, not a test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from systolic.bench import networks


@pytest.mark.sim
def test_bench_records_a_workload_run(
    shuffle_workload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "networks.json"
    argv = ["--workload", str(shuffle_workload), "--sim", "icarus", "--rows", "4", "--cols", "4"]
    assert networks.main([*argv, "--out", str(out)]) == 0
    (rec,) = json.loads(out.read_text())
    assert rec["passed"] and rec["bit_exact"] and rec["rtl_cycles"] == rec["model_cycles"] > 0
    assert rec["layers"] == 8 and rec["gemms"] == 26
    assert 0 < rec["layers_s"] <= rec["rtl_s"] and rec["host_s"] >= 0
    assert rec["met"] == (rec["rtl_s"] <= networks.TARGET_S)
    text = capsys.readouterr().out
    assert "layer 8 of 8" in text and "bit-exact True" in text
