"""The run configuration: one module names every SYSTOLIC_* variable; the record round-trips;
the testbench checks it against the DUT."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from systolic.engine import config
from systolic.engine.config import RunConfig, RunSettings
from systolic.errors import ConfigError
from systolic.models.params import ArrayParams

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_FOLDERS = (
    "systolic",
    "models",
    "engine",
    "tb",
    "verify",
    "bench",
    "waves",
    "lowering",
    "pruning",
    "mutation",
    "formal",
    "cli",
    "rtl",
)


def test_no_systolic_variable_named_outside_the_config_module() -> None:
    """Every string and comment of the package: SYSTOLIC_* only in engine/config.py."""
    found = []
    for folder in PACKAGE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "engine" / "config.py":
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if "SYSTOLIC_" in line:
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_config_module_defines_each_name_once() -> None:
    tree = ast.parse((ROOT / "engine" / "config.py").read_text())
    names = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and n.value.startswith("SYSTOLIC_")
    ]
    assert len(names) == len(set(names)), names
    assert set(config.SETTING_NAMES) <= set(names)


def test_round_trip(tmp_path: Path) -> None:
    cfg = RunConfig(sim="icarus", seed=7, params=ArrayParams(3, 5, 8, 32), gemm_file="/x.npz")
    env = cfg.write(tmp_path / "run.json")
    assert RunConfig.load(env) == cfg
    assert RunConfig.load({}) == RunConfig()  # outside a run: the defaults


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "malformed run configuration"),
        ('{"nope": 1}', "malformed run configuration"),
        ('{"params": {"rows": 0, "cols": 1, "data_w": 8, "acc_w": 32}}', "ROWS=0"),
    ],
)
def test_bad_file_is_one_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        RunConfig.load({config.RUN_ENV: str(path)})


def test_missing_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        RunConfig.load({config.RUN_ENV: str(tmp_path / "gone.json")})


class _Handle:
    def __init__(self, value: int) -> None:
        self.value = value


class _Dut:
    """A DUT with HDL parameters, as cocotb shows them."""

    def __init__(self, **params: int) -> None:
        for k, v in params.items():
            setattr(self, k, _Handle(v))


def test_dut_parameters_checked_against_the_run() -> None:
    from systolic.tb.config import dut_params

    run = RunConfig(params=ArrayParams(3, 4, 8, 32))
    assert dut_params(_Dut(ROWS=3, COLS=4, DATA_W=8, ACC_W=32), run) == run.params
    assert dut_params(_Dut(DATA_W=8, ACC_W=32), run, only=("DATA_W", "ACC_W")) == run.params
    with pytest.raises(ConfigError, match="built with COLS=5, the run configuration says 4"):
        dut_params(_Dut(ROWS=3, COLS=5, DATA_W=8, ACC_W=32), run)
    with pytest.raises(ConfigError, match="without a run configuration"):
        dut_params(_Dut(), RunConfig())


@pytest.mark.sim
def test_build_and_configuration_must_agree(tmp_path: Path) -> None:
    """The testbench reads the array parameters from the DUT: a run configuration that differs
    from the build fails the test, naming the parameter (Icarus and Verilator expose them the
    same way; Icarus is the quick one)."""
    from systolic.engine import runner

    built = ArrayParams(2, 3)
    res = runner.run(
        RunSettings("icarus"),
        built,
        ["test_lecture_3x3"],
        out_dir=tmp_path,
        inputs={"params": ArrayParams(2, 4)},
    )
    assert not res.passed
    assert "built with COLS=3, the run configuration says 4" in res.failures["test_lecture_3x3"]
    (run_json,) = tmp_path.glob("*/run.json")  # the configuration, in the run's own folder
    assert RunConfig.load({config.RUN_ENV: str(run_json)}).params == ArrayParams(2, 4)


def test_test_discovery_follows_the_run_configuration() -> None:
    """One discovery: the module imported as the simulator imports it, under a configuration;
    a test that needs an input is listed only when the configuration names one."""
    from systolic.engine import runner

    plain = runner.list_tests()
    with_file = runner.list_tests(cfg=RunConfig(gemm_file="/some/gemm.npz"))
    assert "test_lecture_3x3" in plain and "test_gemm_file" not in plain
    assert set(with_file) == {*plain, "test_gemm_file"}
    fast = runner.list_tests("systolic.tb.test_gemm", RunConfig(harness_dir="/x", speed_cycles=9))
    assert "test_speed_fast" in fast and "test_gemm_sweep" not in fast
