"""Running cocotb tests on a build (``cocotb_tools.runner``): run folders, configuration, results.

A run gets a fresh folder (``<build>/runs/<name>_seed<N>.<unique>``) holding its run
configuration (``run.json``, the one thing the simulator process is told), the tests' statistics
records, coverage, the simulator log and cocotb's xUnit results, which are read back into a
:class:`RunResult`. Never raises for failing tests: a failure, an error, a crash, a run that
ran nothing and a run that counted no check all end in ``RunResult.passed`` being False. A fault
of the machine (an output that cannot be written, a wave file cut short) raises a one-line
:class:`~systolic.fileio.OutputError` and leaves no partial output behind.

The simulator is only ever given ASCII names: it runs in the run folder (whose name is made
ASCII) and gets the paths of its files relative to it; Icarus mangles other bytes in a path.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from systolic import fileio
from systolic.engine import build, config, stats, toolchain
from systolic.engine.build import ARRAY_TOP, HdlTop
from systolic.engine.config import RunConfig, RunSettings
from systolic.errors import ConfigError, SimulatorError, one_line
from systolic.fileio import OutputError
from systolic.models.params import ArrayParams
from systolic.waves.gtkw import gtkw_path, write_gtkw
from systolic.waves.timeline import stim_dir
from systolic.waves.vcd import WaveError, check_complete

TEST_MODULE = "systolic.tb.test_array"
#: Run folders kept per test name and seed (older ones are removed by the next run).
KEEP_RUNS = 5
#: The wave file's name in the run folder, where the simulator writes it; moved into the waves
#: folder once it is checked whole.
LOCAL_WAVES = "waves.vcd"
#: How far before the simulation's end a whole wave file may end: one clock period of the
#: testbenches (the clock runs to the end; a test may end between two of its edges).
WAVE_END_SLACK_PS = 10_000
#: Why a run whose tests all passed is no pass when they counted no check.
NO_CHECKS = (
    "no checks counted: the tests passed but recorded no product, PE-cycle or edge check "
    "(their statistics were lost or they checked nothing)"
)


@dataclass
class RunResult:
    """Outcome of one simulator run (several cocotb tests)."""

    sim: str
    params: ArrayParams
    seed: int
    tests: int = 0
    failed: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    stats: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    results_xml: Path | None = None
    #: test name -> its wave file (VCD), when run with waves.
    waves: dict[str, Path] = field(default_factory=dict)
    log: Path | None = None

    @property
    def checks(self) -> int:
        """Checks of the design that the tests counted: products, PE-cycle and edge checks."""
        return stats.checks(self.stats)

    @property
    def passed(self) -> bool:
        """At least one test ran, none failed, and they counted at least one check: a run that
        checked nothing (statistics lost, tests that returned early) is never a pass."""
        return self.tests > 0 and self.failed == 0 and self.checks > 0

    def summary(self) -> str:
        lines = [
            f"{self.sim} {self.params.tag} seed={self.seed}: {self.tests - self.failed}/"
            f"{self.tests} tests passed in {self.wall_s:.1f} s"
        ]
        for name, msg in self.failures.items():
            lines.append(f"  FAIL {name}: {msg}")
        if self.tests > self.failed == 0 and not self.checks:
            lines.append(f"  FAIL {NO_CHECKS}")
        return "\n".join(lines)


def run(
    settings: RunSettings,
    params: ArrayParams,
    tests: Sequence[str] | None = None,
    *,
    inputs: Mapping[str, Any] | None = None,
    test_module: str = TEST_MODULE,
    top: HdlTop = ARRAY_TOP,
    out_dir: Path | None = None,
) -> RunResult:
    """Build (if needed) and run cocotb tests of ``test_module``; see :class:`RunResult`.

    inputs: fields of the run configuration beyond the basics (e.g. ``gemm_file``).
    top: the design to build and test (default: the array). The WAVES setting turns waves on
    for every run (CI reruns failed tests that way). out_dir: the run folders' parent (default:
    the build's ``runs``).
    """
    settings = settings.replace(waves=settings.waves or config.waves_always())
    sim, seed, waves, quiet = settings.sim, settings.seed, settings.waves, settings.quiet
    build_root = settings.build_root
    if waves:  # before the build: an unusable waves folder is one line, not a lost run
        fileio.check_output_dir(waves_dir(build_root))
    t0 = time.perf_counter()
    with build.built(settings, params, top) as (cocotb_runner, bdir):
        name = "-".join(tests) if tests and len(tests) <= 2 else "all"
        tdir = fresh_run_dir(out_dir or bdir / "runs", name, seed)
        cfg = base_config(settings, params, tdir, top).replace(**(inputs or {}))
        cov = _coverage_file(settings, params, top, name)
        launch = Launch(
            cocotb_runner,
            sim,
            top.name,
            test_module,
            seed,
            quiet,
            trust_inertial_writes=top.trust_inertial_writes,
        )
        if not waves:
            res = launch.run(tests, tdir, cfg.replace(cov_file=str(cov or tdir / "coverage.yml")))
        else:
            wave_names = list(tests) if tests else list_tests(test_module, cfg)
            res = _run_with_waves(launch, wave_names, tdir, cfg, cov, build_root)
    res.params = params
    res.wall_s = time.perf_counter() - t0
    return res


def base_config(
    settings: RunSettings, params: ArrayParams, tdir: Path, top: HdlTop = ARRAY_TOP
) -> RunConfig:
    """What every cocotb run of the project is told: parameters, simulator, seed, where the tests
    write their statistics (read back by :func:`stats.read_stats`), the stream scale."""
    return RunConfig(
        sim=settings.sim,
        seed=settings.seed,
        params=params,
        top=top.tag.removeprefix("_"),
        stats_dir=str(tdir / "stats"),
        stream_scale=config.stream_scale(),
    )


def _coverage_file(
    settings: RunSettings, params: ArrayParams, top: HdlTop, name: str
) -> Path | None:
    """The run's coverage file in the COV_DIR setting's folder (make targets collect them there)."""
    folder = config.cov_dir()
    if folder is None:
        return None
    return folder / f"{settings.sim}_{params.tag}{top.tag}_{name}_seed{settings.seed}.yml"


@dataclass
class Launch:
    """One simulator process per call of :meth:`run`, on a finished build."""

    runner: Any  # cocotb_tools.runner.Runner
    sim: str
    toplevel: str
    test_module: str
    seed: int
    quiet: bool = True
    plusargs: tuple[str, ...] = ()
    #: COCOTB_TRUST_INERTIAL_WRITES=1: cocotb writes at once instead of in the ReadWrite phase
    #: (faster; the array's own drivers write at the falling edge, where that is safe).
    trust_inertial_writes: bool = True

    def run(
        self, tests: Sequence[str] | None, tdir: Path, cfg: RunConfig, waves: bool = False
    ) -> RunResult:
        """Run ``tests`` (all when None) in ``tdir`` with configuration ``cfg``; read results.

        waves: the simulator writes a wave file, ``<tdir>/waves.vcd`` (and the testbench the
        stimulus next to it), for the caller to check and move into place."""
        tdir.mkdir(parents=True, exist_ok=True)
        plusargs = [simulator_arg(arg, tdir) for arg in self.plusargs]
        test_args: list[str] = []
        env_changes = toolchain.simulator_env(self.sim)
        if waves:
            local = tdir / LOCAL_WAVES
            fileio.discard(local, stim_dir(local))
            # The TB saves each stream's stimulus there: `systolic waves` numbers cycles with it.
            cfg = cfg.replace(stim_dir=str(stim_dir(local)))
            # A name relative to the run folder: the simulator runs there (ASCII, any depth).
            wave_env, wave_plusargs, test_args = toolchain.simulator(self.sim).wave_options(
                Path(LOCAL_WAVES)
            )
            env_changes |= wave_env
            plusargs += wave_plusargs
        # Said explicitly either way: cocotb's runner turns it on for Verilator unless it is set.
        run_env = cfg.write(tdir / "run.json")
        run_env["COCOTB_TRUST_INERTIAL_WRITES"] = "1" if self.trust_inertial_writes else "0"
        # The simulator runs in the run folder: it reads the settings' folders as resolved here.
        run_env.update(config.resolved_paths())
        results = tdir / "results.xml"
        exited = ""
        with (
            toolchain.patched_environ(env_changes),
            toolchain.log_to(tdir / "sim.log", self.quiet),
            toolchain.no_pytest_env(),
            contextlib.suppress(SystemExit),
        ):
            try:
                self.runner.test(
                    test_module=self.test_module,
                    hdl_toplevel=self.toplevel,
                    hdl_toplevel_lang="verilog",
                    testcase=list(tests) if tests else None,
                    seed=self.seed,
                    test_dir=tdir,
                    extra_env=run_env,
                    plusargs=plusargs,
                    test_args=test_args,
                    waves=waves,
                    results_xml=str(results),
                )
            except RuntimeError as exc:  # cocotb's runner: the simulator exited non-zero
                exited = one_line(exc)
        assert cfg.params is not None
        res = RunResult(self.sim, cfg.params, self.seed, results_xml=results, log=tdir / "sim.log")
        read_results(res, results)
        if exited and "<simulator>" in res.failures:
            res.failures["<simulator>"] += f" ({exited})"
        elif exited:  # results written, yet the simulator failed: never a pass
            res.failures["<simulator>"] = (
                f"the simulator exited with an error ({exited}); see {res.log}"
            )
            res.tests, res.failed = max(res.tests, 1), max(res.failed, 1)
        try:
            check_write_faults(res, tdir)
        except OutputError:  # what the run wrote is partial: none of it may be taken for a result
            fileio.discard(results, tdir / LOCAL_WAVES, stim_dir(tdir / LOCAL_WAVES))
            raise
        # Read where the tests were told to write them.
        res.stats = stats.read_stats(Path(cfg.stats_dir) if cfg.stats_dir else tdir / "stats")
        return res


#: What a write that failed for want of room or permission says (in a test's failure message).
_WRITE_FAULTS = tuple(
    os.strerror(code) for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
)


def check_write_faults(res: RunResult, tdir: Path) -> None:
    """A run whose outputs could not be written (a test's statistics, stimulus or results, or
    cocotb's results file) is a fault of the machine, not a verdict on the design: one
    OutputError line. A crash without such a cause stays a failed test."""
    for name, msg in res.failures.items():
        if name == "<simulator>":
            note = _space_note(tdir)
            if note:
                raise OutputError(f"cannot write the results of the run in {tdir}{note}")
        elif any(fault in msg for fault in _WRITE_FAULTS):
            raise OutputError(f"{name}: {one_line(msg)}")


def simulator_arg(arg: str, cwd: Path) -> str:
    """A plusarg as the simulator is given it: a path inside its working folder ``cwd`` (the
    run folder) relative to it, so that only ASCII names reach the simulator wherever the build
    folder is (Icarus mangles the other bytes of a path it is handed); a value that is still
    not ASCII is refused with one line."""
    name, sep, value = arg.partition("=")
    if sep and os.path.isabs(value):
        with contextlib.suppress(ValueError):
            value = str(Path(value).relative_to(cwd))
    if not value.isascii():
        raise ConfigError(
            f"cannot hand the simulator the path {value!r} ({name.lstrip('+')}): simulators "
            "take ASCII paths only"
        )
    return f"{name}{sep}{value}"


def _run_with_waves(
    launch: Launch,
    tests: list[str],
    tdir: Path,
    cfg: RunConfig,
    cov: Path | None,
    build_root: Path | None,
) -> RunResult:
    """One simulator process per test, so that every test gets its own wave file."""
    assert cfg.params is not None
    res = RunResult(launch.sim, cfg.params, launch.seed, results_xml=tdir / "results.xml")
    failed_before = False
    for test in tests:
        settings = RunSettings(launch.sim, launch.seed, build_root=build_root)
        wave_file = wave_path(settings, cfg.params, test)
        # An earlier run's files are never shown as this run's.
        fileio.discard(wave_file, stim_dir(wave_file), gtkw_path(wave_file))
        test_dir = tdir / test
        test_cov = cov.with_name(f"{cov.stem}_{test}.yml") if cov else test_dir / "coverage.yml"
        test_cfg = cfg.replace(cov_file=str(test_cov), stats_dir=str(test_dir / "stats"))
        one = launch.run([test], test_dir, test_cfg, waves=True)
        published = publish_waves(one, test_dir, wave_file)
        res.tests += one.tests
        res.failed += one.failed
        # A crash is named after the test whose simulator crashed.
        failures = {(test if k == "<simulator>" else k): v for k, v in one.failures.items()}
        for name, msg in failures.items():
            res.failures[name] = msg + waves_hint(wave_file, msg)
        res.stats += one.stats
        if published:
            res.waves[test] = wave_file
        if res.log is None or (failures and not failed_before):
            res.log = one.log  # the first failing test's log, else the first test's
        failed_before = failed_before or bool(failures)
    _merge_results(tdir, tdir / "results.xml")
    return res


def publish_waves(res: RunResult, tdir: Path, wave_file: Path) -> bool:
    """Move the wave file the simulator wrote in ``tdir`` (and its stimulus folder) to
    ``wave_file``, with its GTKWave view; False when the simulator crashed (nothing shown).

    The file is checked whole first (header, last line, last time step at the simulation's
    end): a simulator says nothing when its wave file cannot be written. A cut or missing
    file, or a move that fails, is a one-line OutputError and leaves none of the files."""
    local = tdir / LOCAL_WAVES
    stims = stim_dir(local)
    if "<simulator>" in res.failures:  # no results: whatever the simulator wrote is no record
        fileio.discard(local, stims)
        return False
    try:
        check_complete(local, _sim_end_ps(res.results_xml), WAVE_END_SLACK_PS)
    except WaveError as exc:
        fileio.discard(local, stims)
        why = str(exc).removeprefix(f"{local}: ")
        raise OutputError(f"cannot write {wave_file}: {why}{_space_note(tdir, local)}") from None
    try:
        if stims.is_dir():
            fileio.move_into_place(stims, stim_dir(wave_file))
        fileio.move_into_place(local, wave_file)
        write_view(wave_file)
    except OutputError:
        fileio.discard(wave_file, stim_dir(wave_file), gtkw_path(wave_file), local, stims)
        raise
    return True


def _sim_end_ps(results_xml: Path | None) -> float | None:
    """The simulated time at which the run's last test ended (ps), from cocotb's results."""
    units = {"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6, "ms": 1e9, "sec": 1e12, "s": 1e12}
    end = None
    if results_xml is None:
        return None
    with contextlib.suppress(OSError, ET.ParseError):
        for case in ET.parse(results_xml).getroot().iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            with contextlib.suppress(TypeError, ValueError):
                t = float(props["sim_time_stop"] or "") * units[props.get("sim_time_unit") or "ns"]
                end = t if end is None else max(end, t)
    return end


def _space_note(folder: Path, written: Path | None = None) -> str:
    """Why a file may have been cut short: a full disk or the file size limit (ulimit -f)."""
    notes = []
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(folder).free
        if free < 1 << 20:
            notes.append(f"No space left on device ({free} bytes free in {folder})")
    with contextlib.suppress(OSError, ValueError):
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if written is not None and limit != resource.RLIM_INFINITY and limit <= 1 << 40:
            notes.append(f"the file size limit (ulimit -f) is {limit} bytes")
    return "; " + "; ".join(notes) if notes else ""


def write_view(wave_file: Path) -> None:
    """The GTKWave view next to a wave file. Only a write that fails raises (OutputError): a
    view that cannot be made (an unexpected file) is a convenience lost, not a failed run."""
    try:
        write_gtkw(wave_file)
    except OutputError:
        raise
    except Exception:  # the view is optional
        fileio.discard(gtkw_path(wave_file))


def _crashed(log: Path | None) -> str:
    note = _space_note(log.parent) if log is not None else ""
    return f"no results written: the simulation crashed; see {log}{note}"


def fresh_run_dir(parent: Path, name: str, seed: int) -> Path:
    """A new folder ``<parent>/<name>_seed<N>.<unique>`` for one run (results, stats, logs).

    Unique per invocation, so that concurrent runs of the same test never share one; the
    oldest folders of the same name beyond ``KEEP_RUNS`` are removed.
    """
    parent.mkdir(parents=True, exist_ok=True)
    prefix = f"{ascii_name(name)}_seed{seed}."
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


def ascii_name(name: str, limit: int = 80) -> str:
    """``name`` as a folder name a simulator can take: ASCII letters, digits and ``._-``, the
    rest replaced; a digest of the original keeps changed names apart."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    if safe == name and len(name) <= limit:
        return name
    return f"{safe[:limit]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def waves_dir(build_root: Path | None = None) -> Path:
    """The folder where --waves runs put their wave files."""
    return config.waves_dir_setting() or (build_root or build.BUILD_ROOT) / "waves"


def wave_path(settings: RunSettings, params: ArrayParams, test: str) -> Path:
    """``<waves dir>/<test>-<sim>-<params tag>-seed<N>.vcd``: one file per test and parameters."""
    s = settings
    return waves_dir(s.build_root) / f"{test}-{s.sim}-{params.tag}-seed{s.seed}.vcd"


def waves_hint(wave_file: Path, message: str) -> str:
    """Where a failing test's waves are, and the command that shows the failing PE and cycle."""
    if not wave_file.exists():
        return f" [no wave file was written: see the log; expected {wave_file}]"
    cmd = f"systolic waves {wave_file}"
    streams = len(list(stim_dir(wave_file).glob("*.npz")))
    if streams > 1:
        cmd += f" --stream {streams - 1}"
    m = re.search(r"PE\((\d+),(\d+)\) [a-z ]+ at cycle (\d+)", message)
    if m:
        c = int(m[3])
        cmd += f" --pe {m[1]},{m[2]} --cycles {max(c - 3, 0)}:{c + 2}"
    return f" [waves: {wave_file}; look: {cmd}]"


#: Run in a fresh interpreter by :func:`list_tests`: the names of a module's cocotb tests that
#: are not skipped.
_LIST_TESTS = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
print(json.dumps([name for name, obj in vars(module).items()
                  if type(obj).__name__ == "TestGenerator" and not getattr(obj, "skip", False)]))
"""


def list_tests(test_module: str = TEST_MODULE, cfg: RunConfig | None = None) -> list[str]:
    """Names of the cocotb tests of a module that would run with ``cfg`` (skipped ones left out).

    The one test discovery of the project: the module is imported the way the simulator imports
    it, in a fresh interpreter, under the run configuration that decides which tests are
    skipped (once per module and configuration in a process)."""
    return list(_list_tests(test_module, (cfg or RunConfig()).to_json()))


@functools.lru_cache(maxsize=64)
def _list_tests(test_module: str, cfg_json: str) -> tuple[str, ...]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **RunConfig.from_json(cfg_json).write(Path(tmp) / "run.json")}
        proc = subprocess.run(
            [sys.executable, "-c", _LIST_TESTS, test_module],
            capture_output=True,
            text=True,
            env=env,
        )
    if proc.returncode != 0:
        raise SimulatorError(
            f"cannot list the tests of {test_module}: {one_line(proc.stderr.strip()[-400:])}"
        )
    return tuple(str(name) for name in json.loads(proc.stdout))


def _merge_results(tdir: Path, results: Path) -> None:
    """One xUnit file for the run, made of the per-test files (for tools that read it)."""
    root = ET.Element("testsuites", name="results")
    for xml_path in sorted(tdir.glob("*/results.xml")):
        with contextlib.suppress(ET.ParseError, OSError):
            for suite in ET.parse(xml_path).getroot().iter("testsuite"):
                root.append(suite)
    fileio.atomic_write(results, ET.tostring(root, encoding="unicode"))


def read_results(res: RunResult, xml_path: Path) -> None:
    """Fill tests/failed/failures from cocotb's xUnit file (missing file = simulator crashed)."""
    if not xml_path.is_file():
        res.tests, res.failed = 1, 1
        res.failures["<simulator>"] = _crashed(res.log)
        return
    try:
        cases = list(ET.parse(xml_path).getroot().iter("testcase"))
    except (ET.ParseError, OSError) as exc:
        res.tests, res.failed = 1, 1
        note = _space_note(xml_path.parent)
        res.failures["<simulator>"] = f"unreadable results {xml_path} ({one_line(exc)}){note}"
        return
    for case in cases:
        if case.find("skipped") is not None:
            continue
        res.tests += 1
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            res.failed += 1
            res.failures[case.get("name", "?")] = (bad.get("message") or bad.text or "").strip()
