"""Building the RTL for cocotb: one build folder per simulator and configuration, reused.

One build directory per simulator and parameter set (``build/<sim>/<params tag>``), reused when
nothing changed; concurrent runs build once (a lock and a completion stamp, :func:`shared_build`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import systolic.rtl
from systolic import fileio
from systolic.engine import config, toolchain
from systolic.engine.config import RunSettings
from systolic.errors import SimulatorError, one_line
from systolic.fileio import atomic_write
from systolic.models.params import ArrayParams

#: The RTL: the files shipped in the package (rtl/ of a checkout), or the RTL_DIR setting.
RTL_DIR = config.rtl_dir_setting() or fileio.resolve(systolic.rtl.directory())
#: Builds, run results and waves: ./build of the working directory, or the BUILD_DIR setting.
BUILD_ROOT = config.build_root()
TOPLEVEL = "systolic_array"


#: The accelerator top's file in the RTL folder (rtl/systolic_accel.v).
ACCEL_V = "systolic_accel.v"
#: The files the accelerator top compiles after the array's (its result FIFO's storage,
#: rtl/systolic_fifo_ram.v, then rtl/systolic_accel.v): systolic.rtl's lists, the top's last.
ACCEL_EXTRA = tuple(
    name
    for name in systolic.rtl.DESIGNS["systolic_accel"]
    if name not in systolic.rtl.DESIGNS["systolic_array"]
)


def rtl_sources(rtl_dir: Path | None = None) -> list[Path]:
    """The array's RTL files (of ``rtl_dir``, else RTL_DIR), the top level last (cocotb's runner
    takes the language from the last): systolic.rtl's one list."""
    return systolic.rtl.sources("systolic_array", rtl_dir or RTL_DIR)


def fifo_ram_sources(rtl_dir: Path | None = None) -> list[Path]:
    """The result FIFO's storage alone (rtl/systolic_fifo_ram.v): a module of the top's."""
    return systolic.rtl.sources("systolic_fifo_ram", rtl_dir or RTL_DIR)


def accel_sources(rtl_dir: Path | None = None) -> list[Path]:
    """The accelerator top's RTL files: the array's, then rtl/systolic_fifo_ram.v and
    rtl/systolic_accel.v."""
    return systolic.rtl.sources("systolic_accel", rtl_dir or RTL_DIR)


@dataclass(frozen=True)
class HdlTop:
    """The design a run builds, when it is not the array alone (e.g. a test-only wrapper).

    name: top-level module; sources: files compiled after the RTL of ``rtl_dir`` (the top
    level's last), or with ``rtl_only`` the RTL files to use instead of all of them;
    rtl_extra: further files of ``rtl_dir`` compiled after the array's (e.g. the accelerator);
    parameters: its HDL parameters (None: the array's ROWS, COLS, DATA_W, ACC_W);
    trust_inertial_writes: run its tests with COCOTB_TRUST_INERTIAL_WRITES=1 (False for a
    testbench whose drivers write right after a rising edge, as cocotbext-axi's do: on Icarus
    such an immediate write would reach that very edge's always blocks).
    """

    name: str = TOPLEVEL
    sources: tuple[Path, ...] = ()
    rtl_only: tuple[str, ...] | None = None
    parameters: dict[str, int] | None = None
    rtl_extra: tuple[str, ...] = ()
    trust_inertial_writes: bool = True

    def source_files(self, rtl_dir: Path | None) -> list[Path]:
        rtl = rtl_sources(rtl_dir)
        rtl += [Path(rtl_dir or RTL_DIR).resolve() / name for name in self.rtl_extra]
        if self.rtl_only is not None:
            rtl = [f for f in rtl if f.name in self.rtl_only]
        return [*rtl, *(Path(f).resolve() for f in self.sources)]

    def hdl_parameters(self, params: ArrayParams) -> dict[str, int]:
        return params.hdl_parameters() if self.parameters is None else dict(self.parameters)

    @property
    def tag(self) -> str:
        """Suffix of build and coverage names ('' for the array alone)."""
        if self == ARRAY_TOP:
            return ""
        extra = "".join(f"_{k}{v}" for k, v in sorted((self.parameters or {}).items()))
        return f"_{self.name}{extra}"


#: The default design: the array itself.
ARRAY_TOP = HdlTop()


def build_dir(settings: RunSettings, params: ArrayParams, top: HdlTop = ARRAY_TOP) -> Path:
    """``<root>/<sim>/<params tag>[<top tag>][_waves][_rtl<hash>]``: one folder per build
    configuration."""
    s = settings
    return sim_folder(s) / (
        params.tag + top.tag + ("_waves" if s.waves else "") + rtl_tag(s.rtl_dir)
    )


def sim_folder(settings: RunSettings) -> Path:
    """``<build root>/<sim>``: the parent of every build of the settings' simulator."""
    return Path(settings.build_root or BUILD_ROOT).resolve() / settings.sim


def rtl_tag(rtl_dir: Path | None) -> str:
    """``_rtl<hash>`` for an RTL folder other than the packaged rtl/ (``rtl_dir``, else the
    RTL_DIR setting): builds of two RTL folders never share a folder and rebuild it under each
    other (a mutant's and the clean design's, say)."""
    rtl = Path(rtl_dir or RTL_DIR).resolve()
    if rtl == systolic.rtl.directory().resolve():
        return ""
    return "_rtl" + hashlib.sha256(str(rtl).encode()).hexdigest()[:8]


def build(settings: RunSettings, params: ArrayParams, top: HdlTop = ARRAY_TOP) -> Path:
    """Build the array (or ``top``) for one parameter set; returns the build directory."""
    with built(settings, params, top) as (_, bdir):
        return bdir


@contextlib.contextmanager
def built(
    settings: RunSettings, params: ArrayParams, top: HdlTop = ARRAY_TOP
) -> Iterator[tuple[object, Path]]:
    """The cocotb runner with a finished build of the array (or ``top``), held (shared) while
    in use."""
    from cocotb_tools.runner import get_runner

    sim, waves, rtl_dir = settings.sim, settings.waves, settings.rtl_dir
    toolchain.check_simulator(sim)
    bdir = build_dir(settings, params, top)
    check_build_path(sim, bdir)
    runner = get_runner(sim)
    sources = top.source_files(rtl_dir)
    hdl_params = top.hdl_parameters(params)
    key = {"sim": sim, "params": hdl_params, "waves": waves, "top": top.name, "compile": "quick"}

    def do_build() -> None:
        # The default path's runs are bound by Python (every PE checked every cycle): a quick
        # compile (the fast path's and the native harnesses' builds stay optimised).
        with (
            toolchain.patched_environ(toolchain.simulator(sim).build_env(quick_compile=True)),
            toolchain.log_to(bdir / "build.log", settings.quiet),
        ):
            try:
                runner.build(
                    sources=sources,
                    hdl_toplevel=top.name,
                    parameters=hdl_params,
                    build_dir=bdir,
                    waves=waves,
                    timescale=("1ns", "1ps"),
                    build_args=build_args(sim),
                )
            except (SystemExit, Exception) as exc:  # the runner exits on a failed build
                raise SimulatorError(
                    f"{sim} build of {params.tag} failed ({one_line(exc)}); "
                    f"see {bdir / 'build.log'}"
                ) from None

    with shared_build(bdir, {**key, "args": build_args(sim)}, sources, do_build):
        yield runner, bdir


def check_build_path(sim: str, bdir: Path) -> None:
    """Refuse, in one line before any work, a build folder the simulator cannot build in
    (Simulator.check_build_folder), naming the setting that chooses it."""
    try:
        toolchain.simulator(sim).check_build_folder(bdir)
    except SimulatorError as exc:
        raise SimulatorError(f"{exc} (${config.BUILD_DIR})") from None


#: Written last into a build folder: a build without it was cut short and is never reused. It
#: holds the build's key and the size and digest of each of its products, so that a product
#: changed after the build (cut short by a full disk, a copy, a user) is rebuilt, not run.
BUILD_STAMP = ".systolic-build-ok"


@contextlib.contextmanager
def shared_build(
    bdir: Path, key: dict[str, Any], sources: Sequence[Path], do_build: Callable[[], None]
) -> Iterator[None]:
    """Run ``do_build`` into ``bdir`` under an exclusive lock unless a finished build with the
    same key and sources is there, then hold a shared lock while the caller uses it.

    Concurrent runs of one configuration (two commands, pytest-xdist workers) thus build once
    and never rebuild under each other; a build cut short (kill, full disk) has no stamp, and a
    build whose products (the simulator executables) no longer match its stamp was damaged
    afterwards: both are wiped and rebuilt by the next run. ``do_build`` is called in every
    case, because cocotb's runner needs its build call before a test; on a finished build it
    has nothing to do.
    """
    want = _build_key(key, sources)
    try:
        bdir.parent.mkdir(parents=True, exist_ok=True)
        lock = open(bdir.parent / f".{bdir.name}.lock", "a+")  # noqa: SIM115 (held below)
    except OSError as exc:
        raise SimulatorError(f"cannot use build folder {bdir}: {exc.strerror or exc}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = bdir / BUILD_STAMP
        recorded = _read_stamp(stamp)
        finished = recorded == {"key": want, "products": build_products(bdir)}
        if not finished:
            _wipe_build(bdir)
        do_build()
        # A build call on a finished build may rewrite its products from the same sources (a
        # compiler that is not byte-for-byte reproducible): recorded again, not rebuilt next time.
        done = {"key": want, "products": build_products(bdir)}
        if not finished or done != recorded:
            atomic_write(stamp, json.dumps(done))
        fcntl.flock(lock, fcntl.LOCK_SH)
        yield


def build_products(bdir: Path) -> dict[str, list[Any]]:
    """Size and SHA-256 of every executable file of a build folder (what a run executes:
    Icarus's ``sim.vvp``, a Verilator binary), earlier runs' folders left out."""
    found: dict[str, list[Any]] = {}
    for folder, dirs, files in os.walk(bdir):
        if Path(folder) == bdir:
            dirs[:] = [d for d in dirs if d != "runs"]
        for name in files:
            path = Path(folder) / name
            try:
                st = path.lstat()
                if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
                    continue
                found[str(path.relative_to(bdir))] = [st.st_size, _sha256(path)]
            except OSError:
                continue
    return dict(sorted(found.items()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_stamp(stamp: Path) -> dict[str, Any] | None:
    """What a build's stamp records (its key and products), or None: no stamp, or one of an
    earlier format (which names no products, so the build is made again once)."""
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _build_key(key: dict[str, Any], sources: Sequence[Path]) -> str:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
    for src in sources:
        digest.update(str(src).encode())
        with contextlib.suppress(OSError):
            digest.update(Path(src).read_bytes())
    return digest.hexdigest()


def _wipe_build(bdir: Path) -> None:
    """Remove an unfinished or outdated build (earlier runs' results are kept)."""
    if not bdir.is_dir():
        return
    for item in bdir.iterdir():
        if item.name == "runs":
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()


def build_args(sim: str) -> list[str]:
    """Extra arguments of the array's cocotb builds on ``sim``."""
    return toolchain.simulator(sim).cocotb_build_args()


def native_build(
    sim: str,
    bdir: Path,
    tb_top: str,
    hdl_top: str,
    params: dict[str, int],
    sources: Sequence[Path],
    main: Path,
) -> Path:
    """Build a no-Python harness (a Verilog testbench for Icarus, a C++ ``main`` for Verilator;
    see Simulator.native_build) into ``bdir`` through the same lock and completion stamp as
    every other build; returns the executable. A failed build is one line naming its log."""
    tool = toolchain.simulator(sim)
    tool.check()
    cmd, exe = tool.native_build(tb_top, hdl_top, params, list(sources), main, bdir)
    key = {"sim": sim, "native": tb_top, "top": hdl_top, "params": params, "cmd": cmd}

    def do_build() -> None:
        if exe.exists():
            return  # a finished build: cocotb's builds are called here too, natives need not be
        bdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **tool.env()}
        env.pop("VERILATOR_ROOT", None)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=bdir)
        (bdir / "build.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0 or not exe.exists():
            raise SimulatorError(f"{sim} build of {tb_top} failed; see {bdir / 'build.log'}")

    with shared_build(bdir, key, [*sources, main], do_build):
        return exe
