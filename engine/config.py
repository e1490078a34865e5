"""The run configuration: the user's settings, and what the host tells each cocotb run.

Every ``SYSTOLIC_*`` name of the project lives in this module, nowhere else.

- **Settings** (:data:`SETTINGS`): environment variables a user may set. Each is parsed and
  checked before any work; a bad value is one line naming the variable, refused by the command
  line and by pytest alike. Read them through the accessors (:func:`build_root`, ...).
- **Run configuration** (:class:`RunConfig`): one typed record per simulator run, written by the
  host as ``run.json`` in the run's folder and named to the simulator process by one variable,
  ``$SYSTOLIC_RUN``. Inside cocotb, ``systolic.tb.config`` is the one module that reads it (and
  checks the array parameters against the DUT's own).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from systolic import fileio
from systolic.errors import ConfigError, SystolicError
from systolic.models.params import ArrayParams

TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


# ------------------------------------------------------------------------------------------------
# User settings
# ------------------------------------------------------------------------------------------------


def _boolean(value: str) -> None:
    if value.strip().lower() not in TRUE + FALSE:
        raise ConfigError(f"not a boolean: use one of {', '.join(t for t in TRUE + FALSE if t)}")


def _scale(value: str) -> None:
    try:
        n = int(value.strip(), 10)
    except ValueError:
        raise ConfigError("not an integer") from None
    if not 1 <= n <= 1000:
        raise ConfigError(f"{n} is out of range 1..1000")


def _out_dir(value: str) -> None:
    if not value.strip():
        raise ConfigError("empty path")
    fileio.check_output_dir(value)


def _in_dir(value: str) -> None:
    if not value.strip():
        raise ConfigError("empty path")
    fileio.check_input_dir(value)


@dataclass(frozen=True)
class Setting:
    name: str
    meaning: str
    check: Callable[[str], None]


BUILD_DIR = "SYSTOLIC_BUILD_DIR"
RTL_DIR = "SYSTOLIC_RTL_DIR"
COV_DIR = "SYSTOLIC_COV_DIR"
WAVES = "SYSTOLIC_WAVES"
WAVES_DIR = "SYSTOLIC_WAVES_DIR"
STREAM_SCALE = "SYSTOLIC_STREAM_SCALE"

SETTINGS = (
    Setting(BUILD_DIR, "folder of builds, run results and waves (./build)", _out_dir),
    Setting(RTL_DIR, "folder of the RTL to simulate (the project's rtl/)", _in_dir),
    Setting(COV_DIR, "collect every run's coverage file in this folder", _out_dir),
    Setting(WAVES, "1/true/yes: write waves on every run (0/false/no: off)", _boolean),
    Setting(WAVES_DIR, "folder of wave files (<build>/waves)", _out_dir),
    Setting(STREAM_SCALE, "multiplier of random stream lengths, 1..1000 (1)", _scale),
)


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Raise ConfigError (one line) for the first setting with a bad value.

    Checking the process's own environment (``environ`` None) also resolves its path settings
    against the working directory, once: every child process then reads the same folders,
    whatever folder it runs in."""
    env = os.environ if environ is None else environ
    for s in SETTINGS:
        if s.name not in env:
            continue
        try:
            s.check(env[s.name])
        except SystolicError as exc:
            raise ConfigError(f"${s.name}={env[s.name]!r}: {exc}") from None
    if environ is None:
        os.environ.update(resolved_paths())


def _get(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value and value.strip() else None


#: The settings that name a folder (checked as one): read through :func:`path_setting` only.
PATH_SETTINGS = tuple(s.name for s in SETTINGS if s.check in (_out_dir, _in_dir))


def path_setting(name: str) -> Path | None:
    """The folder a path setting names, absolute (a relative value is taken from the caller's
    working directory), or None when it is not set.

    The one reader of every path setting: simulators run in their own folders, so a relative
    path handed on as it is would land in (or be looked up from) the wrong place.
    """
    if name not in PATH_SETTINGS:
        raise KeyError(f"{name} is not a path setting")
    value = _get(name)
    return fileio.resolve(value) if value else None


def resolved_paths() -> dict[str, str]:
    """Every path setting that is set, absolute: for the environment of child processes, which
    run in other folders (a relative value would otherwise be read again from there)."""
    return {name: str(path) for name in PATH_SETTINGS if (path := path_setting(name))}


def build_root() -> Path:
    """Builds, run results and waves: ``$SYSTOLIC_BUILD_DIR``, else ./build."""
    return path_setting(BUILD_DIR) or fileio.resolve("build")


def rtl_dir_setting() -> Path | None:
    """``$SYSTOLIC_RTL_DIR`` (the RTL to simulate instead of the packaged one), if set."""
    return path_setting(RTL_DIR)


def cov_dir() -> Path | None:
    """``$SYSTOLIC_COV_DIR``: the folder collecting every run's coverage file, if set."""
    return path_setting(COV_DIR)


def waves_always() -> bool:
    """``$SYSTOLIC_WAVES``: every run writes waves (CI reruns failed tests that way)."""
    return os.environ.get(WAVES, "").strip().lower() in TRUE


def waves_dir_setting() -> Path | None:
    """``$SYSTOLIC_WAVES_DIR``: the folder of wave files, if set (else <build root>/waves)."""
    return path_setting(WAVES_DIR)


def stream_scale() -> int:
    """``$SYSTOLIC_STREAM_SCALE``: multiplier of random stream lengths (the nightly tier: 4)."""
    value = _get(STREAM_SCALE)
    return max(1, int(value)) if value else 1


#: Names of the settings that make targets and CI set (for tests and docs that pass them on).
SETTING_NAMES = tuple(s.name for s in SETTINGS)


@dataclass(frozen=True)
class RunSettings:
    """How a command's simulations run, one value from the command line to every build and run:
    the simulator, the seed, waves on, the simulator's output kept out of the terminal
    (``quiet``), the RTL folder and the build folder (None: the settings', RTL_DIR and
    BUILD_DIR)."""

    sim: str = "icarus"
    seed: int = 1
    waves: bool = False
    quiet: bool = True
    rtl_dir: Path | None = None
    build_root: Path | None = None

    def replace(self, **changes: Any) -> RunSettings:
        """A copy with ``changes`` (field names of this class)."""
        return dataclasses.replace(self, **changes)


# ------------------------------------------------------------------------------------------------
# The configuration of one simulator run
# ------------------------------------------------------------------------------------------------

#: The one variable of a simulator process: the path of its run configuration (JSON).
RUN_ENV = "SYSTOLIC_RUN"
#: Plusargs of the fast-path harness (rtl/harness): stimulus file in, strobed results out.
PLUSARG_STIM = "SYSTOLIC_STIM"
PLUSARG_RES = "SYSTOLIC_RES"
#: Workload modes: the whole network with the RTL's outputs feeding the next layer, or every
#: layer on its recorded inputs.
WORKLOAD_MODES = ("e2e", "replay")


@dataclass(frozen=True)
class RunConfig:
    """What one simulator run is told by the host. Written once (:meth:`write`), read once
    inside cocotb (``systolic.tb.config``).

    params: the array parameters the host built (the testbench checks them against the DUT's).
    top: the design's tag when it is not the array alone ("" for the array).
    stats_dir / cov_file: where each test writes its statistics record / its coverage.
    stim_dir: with waves, where each stream's stimulus is saved (``systolic waves`` reads it).
    stream_scale: multiplier of random stream lengths.
    gemm_file: ``systolic gemm``'s input (npz with a, b), the result c is written next to it.
    gemm_jobs / gemm_out: a JSON list of GEMMs for the fast-path sweep and its results file.
    speed_cycles: length of the throughput benchmark's stream (0: no speed test).
    harness_dir / harness_depth / harness_res: the fast-path harness's stimulus folder, segment
    depth and (DUMP=1 builds) its strobed-results file.
    workload / workload_mode / workload_out: a workload file, its mode, its summary JSON.
    workload_layers: replay only these layers (indices, comma-separated; one part of a parallel
    replay). workload_progress: a file the test appends each finished layer's record to (one
    JSON line each), read by the host while the simulator runs.
    """

    sim: str = ""
    seed: int = 1
    params: ArrayParams | None = None
    top: str = ""
    stats_dir: str | None = None
    cov_file: str | None = None
    stim_dir: str | None = None
    stream_scale: int = 1
    gemm_file: str | None = None
    gemm_jobs: str | None = None
    gemm_out: str | None = None
    speed_cycles: int = 0
    harness_dir: str | None = None
    harness_depth: int = 0
    harness_res: str | None = None
    workload: str | None = None
    workload_mode: str = "e2e"
    workload_out: str | None = None
    workload_layers: str | None = None
    workload_progress: str | None = None

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` (field names of this class; an unknown one is a TypeError)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            data = json.loads(text)
            params = data.pop("params", None)
            return cls(**data, params=ArrayParams.from_dict(params) if params else None)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"malformed run configuration: {exc}") from None

    def write(self, path: Path) -> dict[str, str]:
        """Write the configuration to ``path``; returns the environment naming it."""
        fileio.atomic_write(path, self.to_json())
        return {RUN_ENV: str(path)}

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> RunConfig:
        """The configuration named by ``$SYSTOLIC_RUN``; the defaults (no files, no parameters)
        when the variable is not set (a test module imported outside a run, e.g. to list its
        tests)."""
        env = os.environ if environ is None else environ
        path = env.get(RUN_ENV)
        if not path:
            return cls()
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"${RUN_ENV}={path!r}: {exc.strerror or exc}") from None
        return cls.from_json(text)
