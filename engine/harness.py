"""Build and run the fast-path harness (rtl/harness/): stimulus files, raw baselines, signatures.

Three ways to run the same stimulus through the same RTL:

* cocotb (``systolic.tb.fastpath``, used by tb/test_gemm.py): Python writes the stimulus
  buffer in bulk and reads the signature at the end;
* raw Icarus: rtl/harness/systolic_harness_tb.v, a Verilog testbench, under ``vvp``;
* raw Verilator: rtl/harness/harness_main.cpp, a C++ main, built with ``verilator --exe``.

All three read the same hex file through ``$readmemh`` and report the same signature.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import systolic.rtl
from systolic import fileio
from systolic.engine import build, runner, toolchain
from systolic.engine.config import PLUSARG_RES, PLUSARG_STIM, RunSettings
from systolic.errors import SimulatorError
from systolic.models.fast_trace import Signature, chunk_count
from systolic.models.fixed import lane_bits
from systolic.models.params import ArrayParams
from systolic.models.skew import EdgeStimulus

if TYPE_CHECKING:
    from cocotb_tools.runner import Runner

HARNESS_DIR = systolic.rtl.directory() / "harness"
HARNESS_TOP = "systolic_harness"
#: Default stimulus rows per segment (per $readmemh load).
DEFAULT_DEPTH = 1 << 16
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
#: Two hex digits of every byte value.
_HEX2 = np.stack([_HEX[np.arange(256) >> 4], _HEX[np.arange(256) & 15]], axis=1)


#: The cocotb fast path's top on Verilator: HDL clock, only its own ports public.
HDL_CLOCK_TOP = "systolic_harness_top"


def harness_sources(rtl_dir: Path | None = None, top: str = HARNESS_TOP) -> list[Path]:
    srcs = [*build.rtl_sources(rtl_dir), HARNESS_DIR / "systolic_harness.v"]
    if top == HDL_CLOCK_TOP:
        srcs.append(HARNESS_DIR / "systolic_harness_top.v")
    return srcs


def cocotb_top(sim: str) -> str:
    """A simulator whose cocotb loop is fast enough to gain from it (Verilator) runs the
    HDL-clocked top (no GPI clock, array not public); the other the harness with cocotb's clock
    (an HDL clock gains nothing there)."""
    return HDL_CLOCK_TOP if toolchain.simulator(sim).uses_hdl_clock() else HARNESS_TOP


def row_width(params: ArrayParams) -> int:
    return params.rows * params.data_w + 3 * params.rows + params.cols * params.data_w + params.cols


def stimulus_rows(stim: EdgeStimulus) -> int:
    """Rows up to the last one that carries anything (later rows are idle in the harness)."""
    busy = np.flatnonzero(stim.a_vld.any(axis=1) | stim.b_vld.any(axis=1))
    return int(busy[-1]) + 1 if busy.size else 1


def write_hex(path: Path, stim: EdgeStimulus, params: ArrayParams, lo: int, hi: int) -> None:
    """Write rows lo..hi-1 of the stimulus as the harness's $readmemh file (vectorized)."""
    if stim.rst[lo:hi].any():
        raise SimulatorError("the fast-path harness plays streams without reset")
    win = row_width(params)
    digits = -(-win // 4)
    with fileio.atomic_path(path) as tmp, open(tmp, "wb") as f:
        for c0 in range(lo, hi, 1 << 15):
            c1 = min(hi, c0 + (1 << 15))
            bits = np.concatenate(
                [
                    lane_bits(stim.a[c0:c1], params.data_w),
                    stim.a_vld[c0:c1].astype(np.uint8),
                    stim.a_first[c0:c1].astype(np.uint8),
                    stim.a_last[c0:c1].astype(np.uint8),
                    lane_bits(stim.b[c0:c1], params.data_w),
                    stim.b_vld[c0:c1].astype(np.uint8),
                    np.zeros((c1 - c0, digits * 4 - win), np.uint8),
                ],
                axis=1,
            )
            packed = np.packbits(bits, axis=1, bitorder="little")  # (rows, bytes), LSB first
            chars = _HEX2[packed[:, ::-1]].reshape(c1 - c0, -1)  # MSB first
            if chars.shape[1] > digits:  # an odd number of digits: drop the leading zero
                chars = chars[:, chars.shape[1] - digits :]
            lines = np.concatenate([chars, np.full((c1 - c0, 1), ord("\n"), np.uint8)], axis=1)
            f.write(lines.tobytes())


def parse_signature(text: str, params: ArrayParams, check: bool = True) -> Signature:
    """Signature printed by the raw testbenches (SAMPLED, LAST_VLD, SIG_* lines).

    check=False: a harness built without the signature logic (its SIG_* buses are undriven)."""
    vals = dict(re.findall(r"^(SAMPLED|LAST_VLD|SIG_ACC|SIG_RES|SIG_VLD) (\S+)$", text, re.M))
    if len(vals) != 5:
        raise SimulatorError(f"the raw testbench printed no signature:\n{text[-2000:]}")
    if not check:
        vals.update(SIG_ACC="0", SIG_RES="0", SIG_VLD="0")
    return Signature(
        int(vals["SAMPLED"]),
        slots(int(vals["SIG_ACC"], 16), chunk_count("acc", params)),
        slots(int(vals["SIG_RES"], 16), chunk_count("res", params)),
        slots(int(vals["SIG_VLD"], 16), chunk_count("vld", params)),
        _last(int(vals["LAST_VLD"])),
    )


def _last(v: int) -> int:
    return -1 if v == 0xFFFFFFFF else v


def slots(value: int, n: int) -> np.ndarray:
    """A wide signature bus as n uint64 slots (slot 0 in the least significant bits)."""
    return np.frombuffer(value.to_bytes(8 * n, "little"), dtype="<u8").astype(np.uint64)


@dataclass(frozen=True)
class HarnessBuild:
    """How the fast-path harness is built: ``depth`` stimulus rows per segment, ``check`` the
    in-HDL checker on, ``dump`` (DUMP=1) every strobed result written to the file named by
    PLUSARG_RES."""

    depth: int = DEFAULT_DEPTH
    check: bool = True
    dump: bool = False

    def hdl_parameters(self, params: ArrayParams) -> dict[str, int]:
        """The harness's HDL parameters. DUMP is passed only when on (the raw Verilog testbench
        has no such parameter; DUMP=0 is the harness's default)."""
        gparams = {**params.hdl_parameters(), "DEPTH": self.depth, "CHECK": int(self.check)}
        if self.dump:
            gparams["DUMP"] = 1
        return gparams

    def tag(self, params: ArrayParams) -> str:
        """The build's name for ``params``."""
        check = "" if self.check else "_nocheck"
        return f"harness_{params.tag}_n{self.depth}{check}{'_dump' if self.dump else ''}"


# ------------------------------------------------------------------------------------------------
# Raw baselines (no Python while simulating)
# ------------------------------------------------------------------------------------------------


@dataclass
class RawResult:
    sim: str
    signature: Signature
    wall_s: float  # wall time of the simulator process


def build_raw(settings: RunSettings, params: ArrayParams, harness: HarnessBuild) -> Path:
    """Build the raw (no-Python) harness; returns the executable (vvp file or binary)."""
    sim, raw = settings.sim, HarnessBuild(harness.depth, harness.check)  # no DUMP there
    name = "raw_" + raw.tag(params) + build.rtl_tag(settings.rtl_dir)
    bdir = build.sim_folder(settings) / name
    srcs = [*harness_sources(settings.rtl_dir), HARNESS_DIR / "systolic_harness_tb.v"]
    gparams = raw.hdl_parameters(params)
    main = HARNESS_DIR / "harness_main.cpp"
    return build.native_build(sim, bdir, "systolic_harness_tb", HARNESS_TOP, gparams, srcs, main)


def run_raw(
    sim: str,
    exe: Path,
    stim_file: Path,
    rows: int,
    total: int,
    params: ArrayParams,
    check: bool = True,
) -> RawResult:
    """Run the raw harness on one stimulus file (one segment: rows <= DEPTH)."""
    args = [f"+{PLUSARG_STIM}={stim_file}", f"+ROWS_N={rows}", f"+TOTAL={total}"]
    cmd = toolchain.simulator(sim).native_run(exe, args)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=exe.parent)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SimulatorError(f"raw {sim} run failed: {proc.stderr.strip()[-500:]}")
    return RawResult(sim, parse_signature(proc.stdout, params, check), wall)


# ------------------------------------------------------------------------------------------------
# cocotb builds of the harness
# ------------------------------------------------------------------------------------------------


def build_cocotb(
    settings: RunSettings, params: ArrayParams, harness: HarnessBuild
) -> tuple[Runner, Path]:
    """Build the harness for cocotb (own build directory); returns (runner, build dir)."""
    from cocotb_tools.runner import get_runner

    sim = settings.sim
    toolchain.check_simulator(sim)
    top = cocotb_top(sim)
    name = harness.tag(params) + "_" + top + build.rtl_tag(settings.rtl_dir)
    bdir = build.sim_folder(settings) / name
    r = get_runner(sim)
    extra = []
    if top == HDL_CLOCK_TOP:
        from cocotb_tools.runner import VerilatorControlFile

        extra = [VerilatorControlFile(HARNESS_DIR / "harness_top.vlt")]
    sources = harness_sources(settings.rtl_dir, top)
    hdl_params = harness.hdl_parameters(params)
    build_args = toolchain.simulator(sim).cocotb_build_args(fast=True)

    def do_build() -> None:
        with (
            toolchain.patched_environ(toolchain.simulator_env(sim)),
            toolchain.log_to(bdir / "build.log", True),
        ):
            try:
                r.build(
                    sources=[*sources, *extra],
                    hdl_toplevel=top,
                    parameters=hdl_params,
                    build_dir=bdir,
                    timescale=("1ns", "1ps"),
                    build_args=build_args,
                )
            except (SystemExit, Exception) as exc:
                raise SimulatorError(
                    f"{sim} harness build of {params.tag} failed ({exc}); see {bdir / 'build.log'}"
                ) from None

    # The same lock and completion stamp as the array's builds: shared and interruptible.
    key = {"sim": sim, "top": top, "params": hdl_params, "args": build_args}
    sources_read = [*sources, *([HARNESS_DIR / "harness_top.vlt"] if extra else [])]
    with build.shared_build(bdir, key, sources_read, do_build):
        return r, bdir


def run_cocotb(
    settings: RunSettings,
    params: ArrayParams,
    tests: list[str],
    *,
    inputs: Mapping[str, object] | None = None,
    harness: HarnessBuild = HarnessBuild(),
    name: str = "fast",
    test_module: str = "systolic.tb.test_gemm",
) -> runner.RunResult:
    """Run cocotb tests of ``test_module`` on the harness build; see runner.RunResult.

    inputs: fields of the run configuration beyond the basics (e.g. ``gemm_jobs``). With
    ``harness.dump`` the harness writes every strobed result to <run dir>/results.hex, named to
    the tests by the run configuration (FastHarness then returns the RTL's C values)."""
    t0 = time.perf_counter()
    sim, seed = settings.sim, settings.seed
    r, bdir = build_cocotb(settings, params, harness)
    tdir = runner.fresh_run_dir(bdir / "runs", name, seed)
    cfg = runner.base_config(settings, params, tdir).replace(
        harness_depth=harness.depth,
        harness_dir=str(tdir),
        harness_res=str(tdir / "results.hex") if harness.dump else None,
        **(inputs or {}),
    )
    plusargs = [f"+{PLUSARG_STIM}={tdir / 'stim.hex'}"]
    if cfg.harness_res:
        plusargs.append(f"+{PLUSARG_RES}={cfg.harness_res}")
    launch = runner.Launch(r, sim, cocotb_top(sim), test_module, seed, plusargs=tuple(plusargs))
    res = launch.run(tests, tdir, cfg)
    res.wall_s = time.perf_counter() - t0
    return res
