"""Is everything a simulation needs in place (``systolic doctor``)?"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

from systolic import fileio
from systolic.engine import build, config, toolchain
from systolic.errors import SystolicError


def doctor() -> int:
    """Is everything a simulation needs in place: the RTL, both simulators, the build folder?"""
    checks: list[tuple[str, Callable[[], str]]] = [
        ("rtl", _doctor_rtl),
        *(
            (sim, functools.partial(toolchain.simulator_location, sim))
            for sim in toolchain.SIMULATORS
        ),
        ("build dir", _doctor_build),
    ]
    ok = True
    for name, check in checks:
        try:
            where = check()
            print(f"{name:13} ok       {where}")
        except SystolicError as exc:
            ok = False
            print(f"{name:13} PROBLEM  {exc}")
    for mod in ("cocotb", "numpy", "pywellen", "torch", "torch_pruning", "sklearn", "matplotlib"):
        try:
            m = importlib.import_module(mod)
            print(f"{mod:13} ok       {getattr(m, '__version__', '?')}")
        except ImportError:
            print(f"{mod:13} missing  (optional parts need it: make setup installs it)")
    return 0 if ok else 1


def _doctor_rtl() -> str:
    for src in build.rtl_sources():
        fileio.check_input_file(src)
    return str(build.RTL_DIR)


def _doctor_build() -> str:
    root = fileio.check_output_dir(build.BUILD_ROOT)
    return f"{root} (${config.BUILD_DIR}, else ./build)"
