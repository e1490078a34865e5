"""Waves on both simulators: one VCD per test, the timeline read back from it equals the cycle
model's prediction for the same stimulus, the GTKWave view binds real signals, and a failing
test's wave file is named in its failure message."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from systolic.engine import build, config, runner, toolchain
from systolic.engine.config import RunSettings
from systolic.models import ArrayParams, EdgeStimulus, simulate
from systolic.mutation import catalog as mutants
from systolic.waves.gtkw import gtkw_path
from systolic.waves.timeline import format_csv, read_timeline, stim_dir
from systolic.waves.vcd import ArrayWaves, declarations

PARAMS = ArrayParams(3, 3)
TESTS = ("test_lecture_3x3", "test_valid_bubbles")
SEED = 7
FIELDS = ("a", "a_vld", "a_first", "a_last", "b", "b_vld", "rst")


def load_stim(npz: Path) -> EdgeStimulus:
    with np.load(npz) as d:
        return EdgeStimulus(**{k: d[k] for k in FIELDS})


def run_with_waves(sim: str, tmp: Path) -> runner.RunResult:
    """Two tests with waves; private wave and run folders (the build dir is the shared one)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.WAVES_DIR, str(tmp / "waves"))
        mp.delenv(config.COV_DIR, raising=False)
        res = runner.run(
            RunSettings(sim, seed=SEED, waves=True), PARAMS, list(TESTS), out_dir=tmp / "runs"
        )
    assert res.passed, res.summary()
    return res


@pytest.mark.sim
@pytest.mark.parametrize("sim", toolchain.SIMULATORS)
def test_waves_on_simulator(sim: str, tmp_path: Path) -> None:
    """One simulator run (one build per simulator, so no two workers share a build dir)."""
    res = run_with_waves(sim, tmp_path)
    check_one_vcd_per_test(sim, res)
    check_timeline_equals_cycle_model(sim, res)
    check_core_pe_state_reader(sim, res)
    check_gtkw(sim, res)


@pytest.mark.sim
def test_waves_with_the_product_register(tmp_path: Path) -> None:
    """MUL_REG=1 (Icarus): the wave file names the product register's scope, so the parameters
    read from it say MUL_REG=1, and every PE's accumulator in it is the L = 1 cycle model's, one
    cycle behind the L = 0 model's."""
    p = ArrayParams(3, 3, mul_reg=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.WAVES_DIR, str(tmp_path / "waves"))
        mp.delenv(config.COV_DIR, raising=False)
        res = runner.run(
            RunSettings("icarus", seed=SEED, waves=True), p, [TESTS[0]], out_dir=tmp_path / "runs"
        )
    assert res.passed, res.summary()
    path = res.waves[TESTS[0]]
    assert ArrayWaves(path).params == p
    stim = load_stim(next(iter(sorted(stim_dir(path).glob("*.npz")))))
    tl = read_timeline(path, stream=0)
    rows = tl.rows_for((0, stim.cycles - 1))
    acc = tl.acc[rows.start : rows.stop]
    assert np.array_equal(acc, simulate(stim, p).acc)
    assert np.array_equal(acc[1:], simulate(stim, ArrayParams(3, 3)).acc[:-1])


def check_one_vcd_per_test(sim: str, res: runner.RunResult) -> None:
    assert sorted(res.waves) == sorted(TESTS)
    for test, path in res.waves.items():
        assert path.name == f"{test}-{sim}-{PARAMS.tag}-seed{SEED}.vcd"
        head = path.read_bytes()[:4000]
        assert head.lstrip().startswith(b"$") and b"$var" in head, f"{path} is not a VCD"
        assert gtkw_path(path).is_file(), "no GTKWave view next to the VCD"
        assert list(stim_dir(path).glob("*.npz")), "stimulus not saved next to the VCD"


def check_timeline_equals_cycle_model(sim: str, res: runner.RunResult) -> None:
    p = PARAMS
    for path in res.waves.values():
        streams = sorted(stim_dir(path).glob("*.npz"))
        assert streams
        for k, npz in enumerate(streams):
            stim = load_stim(npz)
            trace = simulate(stim, p)
            tl = read_timeline(path, stream=k)
            rows = tl.rows_for((0, stim.cycles - 1))
            assert len(rows) == stim.cycles, f"{path.name}: the VCD ends before the stream does"
            sl = slice(rows.start, rows.stop)
            # Edge inputs as driven, per cycle.
            assert np.array_equal(tl.west_vld[sl], stim.a_vld)
            assert np.array_equal(np.where(stim.a_vld, tl.west_a[sl], 0), stim.a * stim.a_vld)
            assert np.array_equal(tl.west_first[sl] & stim.a_vld, stim.a_first & stim.a_vld)
            assert np.array_equal(tl.west_last[sl] & stim.a_vld, stim.a_last & stim.a_vld)
            assert np.array_equal(tl.north_vld[sl], stim.b_vld)
            assert np.array_equal(np.where(stim.b_vld, tl.north_b[sl], 0), stim.b * stim.b_vld)
            # Every PE, every cycle: accumulators, results, strobes and firing pairs.
            assert np.array_equal(tl.acc[sl], trace.acc), f"{sim} {path.name} stream {k}: acc"
            assert np.array_equal(tl.res[sl], trace.res), f"{sim} {path.name} stream {k}: res"
            assert np.array_equal(tl.res_vld[sl], trace.res_vld)
            assert np.array_equal(tl.fire[sl], trace.fire)
            assert trace.fire.any(), "the stream did nothing"
            # Operands at PE(i,j) in cycle t: west lane i of cycle t-j, north lane j of t-i.
            for i in range(p.rows):
                for j in range(p.cols):
                    t = np.arange(max(j, i), stim.cycles)
                    ok = stim.a_vld[t - j, i]
                    assert np.array_equal(tl.pe_a_vld[sl][t, i, j], ok)
                    assert np.array_equal(tl.pe_a[sl][t, i, j][ok], stim.a[t - j, i][ok])
                    ok = stim.b_vld[t - i, j]
                    assert np.array_equal(tl.pe_b_vld[sl][t, i, j], ok)
                    assert np.array_equal(tl.pe_b[sl][t, i, j][ok], stim.b[t - i, j][ok])
            # The CSV form carries the same numbers.
            lines = format_csv(tl, [(p.rows - 1, p.cols - 1)], (0, stim.cycles - 1)).splitlines()
            assert len(lines) == stim.cycles + 1
            accs = [int(line.split(",")[11]) for line in lines[1:]]
            assert accs == trace.acc[:, -1, -1].tolist()


def check_core_pe_state_reader(sim: str, res: runner.RunResult) -> None:
    """The flat output buses (``ArrayWaves.pe_state``) agree with the per-PE hierarchy."""
    path = res.waves["test_lecture_3x3"]
    waves = ArrayWaves(path, PARAMS)
    stim_file = next(iter(sorted(stim_dir(path).glob("*.npz"))))
    with np.load(stim_file) as d:
        t0_ps, period_ps = float(d["t0_ns"]) * 1e3, float(d["period_ns"]) * 1e3
    stim = load_stim(stim_file)
    times = [t0_ps + (t + 1) * period_ps - 1 for t in range(stim.cycles)]
    acc, res_reg, vld = waves.pe_state(times)
    trace = simulate(stim, PARAMS)
    assert np.array_equal(acc, trace.acc) and np.array_equal(res_reg, trace.res)
    assert np.array_equal(vld, trace.res_vld)


def check_gtkw(sim: str, res: runner.RunResult) -> None:
    """Every trace of the .gtkw binds a signal of the VCD with its full declared range."""
    path = res.waves["test_lecture_3x3"]
    decl = {d.gtkwave_name: d for d in declarations(path).values()}
    text = gtkw_path(path).read_text()
    assert f'[dumpfile] "{path.resolve()}"' in text
    traces = re.findall(r"^\+\{([^}]*)\} (\S+)$", text, re.M)
    assert len(traces) > 9 * 8
    for alias, name in traces:
        assert name in decl, f"{sim}: {name} ({alias}) is not a signal of the VCD"
        d = decl[name]
        assert (d.width > 1) == bool(d.range), f"{name}: a vector needs its declared range"
    # Signed decimal for every value (flags 0x400 signed | 0x20 right-justify | 0x4 decimal).
    flags = None
    for line in text.splitlines():
        if line.startswith("@"):
            flags = int(line[1:], 16)
        elif line.startswith("+{PE(") and (".acc}" in line or ".a}" in line):
            assert flags == 0x424, line
    groups = re.findall(r"^-(.+)$", text, re.M)
    for i in range(PARAMS.rows):
        assert f"PE row {i}" in groups and f"PE column {i}" in groups
    assert "west edge: A lanes (row i)" in groups and "north edge: B lanes (column j)" in groups
    assert any(a == "west[2].first (restart)" for a, _ in traces)
    marks = [int(x, 16) for x in re.findall(r"^@([0-9a-f]+)$", text, re.M)]
    begins = sum(bool(f & 0x800000) for f in marks)
    assert begins > 2 * PARAMS.rows and begins == sum(bool(f & 0x1000000) for f in marks)


@pytest.mark.sim
def test_failing_test_names_its_wave_file(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(config.COV_DIR, raising=False)
    monkeypatch.setenv(config.WAVES_DIR, str(tmp_path / "waves"))
    rtl = mutants.apply(mutants.CATALOG[0], build.RTL_DIR, tmp_path / "rtl")
    res = runner.run(
        RunSettings("icarus", seed=1, waves=True, rtl_dir=rtl, build_root=tmp_path / "build"),
        PARAMS,
        ["test_lecture_3x3"],
        out_dir=tmp_path / "runs",
    )
    assert not res.passed
    msg = res.failures["test_lecture_3x3"]
    wave = res.waves["test_lecture_3x3"]
    assert wave.is_file() and f"waves: {wave}" in msg, msg
    m = re.search(r"look: (systolic waves .*)\]$", msg)
    assert m, msg
    # The suggested command works and shows the failing PE.
    from systolic.cli import main

    argv = m[1].split()[1:]
    assert main(argv) == 0
