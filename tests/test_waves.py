"""A VCD written by each simulator holds, for every PE and cycle, what the cycle model predicts."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.models import ArrayParams, EdgeStimulus, simulate
from systolic.tb import runner
from systolic.tb.vcd import ArrayWaves, WaveError


@pytest.mark.sim
@pytest.mark.parametrize("sim", runner.SIMULATORS)
def test_vcd_matches_cycle_model(sim: str, tmp_path) -> None:
    params = ArrayParams(3, 3)
    res = runner.run(
        sim,
        params,
        tests=["test_lecture_3x3", "test_valid_bubbles"],
        seed=7,
        waves=True,
        extra_env={"SYSTOLIC_STIM_DIR": str(tmp_path)},
    )
    assert res.passed, res.summary()
    assert res.waves is not None and res.waves.suffix == ".vcd", "no VCD written"
    assert res.waves.read_bytes().startswith(b"$") and b"$enddefinitions" in res.waves.read_bytes()
    waves = ArrayWaves(res.waves, params)
    dumps = sorted(tmp_path.glob("*.npz"))
    assert len(dumps) == 2
    for dump in dumps:
        with np.load(dump) as d:
            stim = EdgeStimulus(
                **{k: d[k] for k in ("a", "a_vld", "a_first", "a_last", "b", "b_vld", "rst")}
            )
            t0_ps, period_ps = float(d["t0_ns"]) * 1e3, float(d["period_ns"]) * 1e3
        trace = simulate(stim, params)
        # State after rising edge t, read just before falling edge t+1 (where the TB samples).
        times = [t0_ps + (t + 1) * period_ps - 1 for t in range(stim.cycles)]
        acc, res_reg, vld = waves.pe_state(times)
        assert np.array_equal(acc, trace.acc), f"{dump.name}: accumulators differ in the VCD"
        assert np.array_equal(res_reg, trace.res) and np.array_equal(vld, trace.res_vld)
        assert trace.acc.any(), "the stream did nothing"


def test_bad_wave_files(tmp_path) -> None:
    params = ArrayParams(3, 3)
    with pytest.raises(WaveError, match="no such wave file"):
        ArrayWaves(tmp_path / "missing.vcd", params)
    junk = tmp_path / "junk.vcd"
    junk.write_text("this is not a VCD\n")
    with pytest.raises(WaveError):
        ArrayWaves(junk, params)
    other = tmp_path / "other.vcd"
    other.write_text(
        "$timescale 1ps $end\n$scope module top $end\n$var wire 1 ! clk $end\n"
        "$upscope $end\n$enddefinitions $end\n#0\n0!\n#10\n1!\n"
    )
    with pytest.raises(WaveError, match="no systolic_array signals"):
        ArrayWaves(other, params)
