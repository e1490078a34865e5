"""Breaking the RTL on purpose must make the regression fail, with a checker's message.

Every mutant of the catalog runs on Icarus through its design's testbench (the array's, or the
accelerator top's) at its own parameter sets (the cocotb tests it names; the nightly tier runs
every test) and must be killed by a checker: a build failure, a crash, an exception of another
kind or an empty run is BROKEN, never a kill. The unmodified RTL must pass the same runs. The
array's mutants run in make test; the accelerator top's (a few seconds each) run in the nightly
tier, but for one that shows the whole path (catalog, accelerator build, its testbench, verdict)
in make test. The equivalent mutants are proven equivalent by a formal equivalence check.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from systolic.engine import build, config, runner, toolchain, tops
from systolic.models import ArrayParams, TopParams
from systolic.models.params import FIFO_DEPTH_MAX
from systolic.mutation import catalog as mutants
from systolic.mutation import mutate
from systolic.mutation.catalog import CATALOG, CLASSES, DEFAULT_PARAMS, DESIGNS, Mutant

#: The accelerator top's mutant whose kill runs in make test (the others: nightly).
ACCEL_QUICK = "shadow_rule_removed"


def _quick(m: Mutant) -> bool:
    """Its simulator kill runs in make test."""
    return m.design == "array" or m.name == ACCEL_QUICK


def _tiered(mutants_: tuple[Mutant, ...]) -> list:
    """One pytest param per mutant; the nightly mark on those that are not quick."""
    return [
        pytest.param(m, id=m.name, marks=() if _quick(m) else pytest.mark.nightly) for m in mutants_
    ]


def _combos() -> list:
    """The baseline runs: the quick mutants' in make test, the rest's in the nightly tier."""
    quick = mutate.sim_combinations([m for m in CATALOG if _quick(m)])
    rest = [c for c in mutate.sim_combinations([m for m in CATALOG if not _quick(m)])]
    return [pytest.param(c, id=c[0].tag) for c in quick] + [
        pytest.param(c, id=f"{c[0].tag} nightly", marks=pytest.mark.nightly) for c in rest
    ]


@pytest.fixture(autouse=True)
def _no_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.COV_DIR, raising=False)  # mutants do not count as coverage


def _killed_message(res: mutate.EngineResult, mutant: Mutant) -> str:
    return f"{mutant.name} ({mutant.what}): {res.status} at {res.where}: {res.detail}"


@pytest.mark.sim
@pytest.mark.parametrize("mutant", _tiered(CATALOG))
def test_mutant_is_killed(mutant: Mutant, tmp_path: Path) -> None:
    rtl = mutants.apply(mutant, build.RTL_DIR, tmp_path / "rtl")
    res = mutate.run_sim(mutant, rtl, tmp_path, seed=3)
    assert res.status == mutate.KILLED, _killed_message(res, mutant)


@pytest.mark.nightly
@pytest.mark.sim
@pytest.mark.parametrize("mutant", CATALOG, ids=lambda m: m.name)
def test_mutant_is_killed_by_the_whole_tier(mutant: Mutant, tmp_path: Path) -> None:
    """Honesty of the short runs above: every cocotb test of the tier together kills it too."""
    rtl = mutants.apply(mutant, build.RTL_DIR, tmp_path / "rtl")
    res = mutate.run_sim(mutant, rtl, tmp_path, seed=3, full=True)
    assert res.status == mutate.KILLED, _killed_message(res, mutant)


@pytest.mark.sim
@pytest.mark.parametrize("combo", _combos())
def test_unmodified_rtl_passes_the_same_runs(
    combo: tuple[mutate.SimTarget, tuple[str, ...] | None], tmp_path: Path
) -> None:
    assert mutate.baseline_sim([combo], seed=3, work=tmp_path) == []


# ---- the catalog -------------------------------------------------------------------------------


def test_catalog_covers_every_class() -> None:
    assert len(CATALOG) >= 40
    assert {m.cls for m in CATALOG} == set(CLASSES)
    assert {m.design for m in CATALOG} == set(DESIGNS)
    assert mutants.by_name(ACCEL_QUICK).design == "accel"
    names = [m.name for m in CATALOG] + [e.mutant.name for e in mutants.EQUIVALENT]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("cls", [">256 PEs", "width slicing", "1xN / Nx1"])
def test_parameter_specific_classes_run_at_their_parameters(cls: str) -> None:
    """A bug that hides at 3x3 DATA_W 8 ACC_W 32 must be run where it shows."""
    for m in (m for m in CATALOG if m.cls == cls):
        assert m.params != DEFAULT_PARAMS, m.name
    if cls == ">256 PEs":
        assert all(p.rows * p.cols > 256 for m in CATALOG if m.cls == cls for p in m.params)


def test_size_and_depth_classes_of_the_top_run_where_they_show() -> None:
    """A lane count that sees lanes 0..15 only hides at 16x16 and below: its mutants run on a top
    of more than 16 rows and columns. A counter one bit short wraps only on a tall, narrow top
    whose FIFO fills: those mutants run at ROWS > COLS with a FIFO depth of ROWS (a power of
    two) or the largest, 1024."""
    lanes = [m for m in CATALOG if m.cls == "top >16 lanes"]
    depth = [m for m in CATALOG if m.cls == "top FIFO depth"]
    assert lanes and depth
    assert all(p.rows > 16 and p.cols > 16 for m in lanes for p in m.params)
    for m in depth:
        assert all(p.rows > p.cols for p in m.params), m.name
        assert m.fifo_depth in {FIFO_DEPTH_MAX, *(p.rows for p in m.params)}, m.name
    assert {m.fifo_depth for m in depth} > {FIFO_DEPTH_MAX}  # both extremes


def test_every_mutant_and_equivalent_applies(tmp_path: Path) -> None:
    """Every edit matches exactly once (``apply`` refuses others), and a mutant changes only
    the files of the design it is run through (an accelerator mutant may change any of them;
    an array mutant never the top, which its testbench does not build)."""
    every = (mutants.PE, mutants.TOP, mutants.ACCEL, mutants.FIFO_RAM)
    files = {"array": (mutants.PE, mutants.TOP), "accel": every}
    for m in (*CATALOG, *(e.mutant for e in mutants.EQUIVALENT)):
        out = mutants.apply(m, build.RTL_DIR, tmp_path / m.name)
        changed = [f for f in every if (out / f).read_text() != _rtl(f)]
        assert changed, f"{m.name} changes nothing"
        assert set(changed) <= set(files[m.design]), f"{m.name} ({m.design}) changes {changed}"


def test_named_tests_exist_in_the_design_test_module() -> None:
    """A mutant's quick tests are cocotb tests of its design's module (a misspelt or moved test
    would make every run of it an error)."""
    for design in DESIGNS:
        known = set(runner.list_tests(mutate.TEST_MODULES[design]))
        for m in (m for m in CATALOG if m.design == design):
            assert m.tests, f"{m.name} names no quick test"
            missing = set(m.tests) - known
            assert not missing, f"{m.name}: {sorted(missing)} not in {mutate.TEST_MODULES[design]}"


def test_accel_mutants_build_the_accelerator_top() -> None:
    """An accelerator mutant's runs build systolic_accel (its FIFO depth and result port, when it
    sets them) and run its testbench; an array mutant's build the array alone, as before."""
    for m in CATALOG:
        for target in mutate.sim_targets(m):
            if m.design == "accel":
                assert target.test_module == tops.ACCEL_TEST_MODULE
                top = tops.accel_top(TopParams(target.params, m.fifo_depth, *m.port))
                assert target.top == top, m.name
                assert "accel" in target.tag
            else:
                assert target.test_module == runner.TEST_MODULE
                assert target.top == build.ARRAY_TOP and target.design == target.params, m.name
                assert target.tag == mutate.short_tag(target.params)


def _top_of(target: mutate.SimTarget) -> TopParams:
    assert isinstance(target.design, TopParams)
    return target.design


def test_sizes_keep_a_legal_fifo_depth() -> None:
    """--sizes runs an accelerator mutant at other sizes: its FIFO depth is raised to ROWS
    where it would be below (the top refuses FIFO_DEPTH < ROWS)."""
    small = next(m for m in CATALOG if m.fifo_depth is not None)
    targets = mutate.sim_targets(small, [(2, 2), (8, 3)])
    depths = {t.params.rows: _top_of(t).fifo_depth for t in targets}
    assert depths == {2: small.fifo_depth, 8: 8}


def test_sizes_keep_a_legal_result_port() -> None:
    """--sizes runs a mutant of the wider result port at other sizes: its rows per beat are
    lowered to ROWS where they would be above (the top refuses OUT_ROWS > ROWS)."""
    wide = next(m for m in CATALOG if m.port != (1, 1))
    targets = mutate.sim_targets(wide, [(1, 3), (4, 3)])
    ports = {t.params.rows: (_top_of(t).out_rows, _top_of(t).shadows) for t in targets}
    assert ports == {1: (1, wide.port[1]), 4: wide.port}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"design": "asic"}, "unknown design"),
        ({"fifo_depth": 4}, "needs design 'accel'"),
        ({"design": "accel", "fifo_depth": 2, "params": (ArrayParams(3, 2),)}, "FIFO depth 2"),
        ({"design": "accel", "fifo_depth": 2000}, "FIFO depth 2000"),
    ],
)
def test_bad_mutant_targets_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(mutants.SystolicError, match=match):
        Mutant("x", "y", (), **kwargs)


def _rtl(name: str) -> str:
    return (build.RTL_DIR / name).read_text()


def test_stale_mutant_is_refused(tmp_path: Path) -> None:
    stale = Mutant("stale", "text that is not in the RTL", (("systolic_pe.v", "nope", ""),))
    with pytest.raises(mutants.SystolicError, match="not found"):
        mutants.apply(stale, build.RTL_DIR, tmp_path / "rtl")


def test_unknown_class_is_refused() -> None:
    with pytest.raises(mutants.SystolicError, match="unknown class"):
        Mutant("x", "y", (), cls="nonsense")


# ---- honest verdicts ---------------------------------------------------------------------------


def write_results(path: Path, cases: list[tuple[str, str, str]]) -> Path:
    """A cocotb-style xUnit file: (test, exception type or "", message) per test case."""
    suite = ET.Element("testsuite", name="systolic.tb.test_array")
    for name, kind, message in cases:
        case = ET.SubElement(suite, "testcase", name=name)
        if kind:
            ET.SubElement(case, "failure", message=message, type=kind)
    root = ET.Element("testsuites")
    root.append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="unicode")
    return path


def fake_result(tmp_path: Path, cases: list[tuple[str, str, str]]) -> runner.RunResult:
    res = runner.RunResult("icarus", ArrayParams(3, 3), seed=3, tests=len(cases))
    res.failed = sum(bool(kind) for _, kind, _ in cases)
    res.failures = {name: msg for name, kind, msg in cases if kind}
    res.results_xml = write_results(tmp_path / "results.xml", cases)
    return res


SEED_ERROR = ("test_lecture_3x3", "ValueError", "expected non-negative integer")
ACCEL_WORD = (
    "GEMM 0 fold 1 [rows 0:2, cols 3:4] row 0 at cycle 40: C word 0 expected 5, got 0 "
    "[design=systolic_accel ROWS=2 COLS=3 ...]"
)
PE_MISMATCH = (
    "test_lecture_3x3",
    "ScoreboardError",
    "PE(0,1) accumulator at cycle 1: expected 8, got 72 [ROWS=3 ...]",
)


@pytest.mark.parametrize(
    ("cases", "expected", "status"),
    [
        ([PE_MISMATCH], 1, "checker"),
        ([("t", "ScoreboardError", "east lane 0 a_vld at cycle 2: expected 1")], 1, "checker"),
        ([("t", "AssertionError", "assembled C[0][1]: expected 3, got 4")], 1, "checker"),
        ([("t", "ScoreboardError", "array state at cycle 0: unreadable (X)")], 1, "checker"),
        ([SEED_ERROR], 1, "error"),  # the run errored: not a kill
        ([("t", "AssertionError", "the stream has an idle step")], 1, "error"),  # no checker
        ([("t", "SimTimeoutError", "PE(0,0) never answered")], 1, "error"),  # not a checker type
        # The accelerator top's checkers (tb/accel_check.py, tb/test_accel.py).
        ([("t", "AccelCheckError", ACCEL_WORD)], 1, "checker"),
        ([("t", "AccelCheckError", "GEMM 0 fold 2 [rows 0:1, cols 3:4]: no frame")], 1, "checker"),
        ([("t", "AccelCheckError", "AXI4-Stream protocol: m_axis_c at cycle 3")], 1, "checker"),
        ([("t", "AssertionError", "M=3 K=1 N=4: 9 cycles ..., models.accel says 8")], 1, "checker"),
        ([("t", "AccelCheckError", "the sink's frames (3 words) differ from")], 1, "error"),  # TB
        ([("t", "AssertionError", "no cycle with results waiting, operands")], 1, "error"),  # TB
        ([("t", "", "")], 1, "pass"),
        ([("t", "", "")], 2, "error"),  # fewer tests ran than asked for
        ([], None, "error"),  # an empty run
    ],
)
def test_judge(tmp_path: Path, cases: list, expected: int | None, status: str) -> None:
    assert mutate.judge(fake_result(tmp_path, cases), expected).status == status


def test_first_failure_keeps_the_fold_label() -> None:
    """The report's first failure drops the reproduce context, not the fold's own brackets."""
    short = mutate.TestOutcome("test_k1", "AccelCheckError", ACCEL_WORD).short()
    assert short == (
        "test_k1: GEMM 0 fold 1 [rows 0:2, cols 3:4] row 0 at cycle 40: C word 0 expected 5, got 0"
    )
    array = mutate.TestOutcome(*PE_MISMATCH).short()
    assert array == "test_lecture_3x3: PE(0,1) accumulator at cycle 1: expected 8, got 72"


def test_missing_results_are_an_error(tmp_path: Path) -> None:
    res = runner.RunResult("icarus", ArrayParams(3, 3), seed=3, tests=1, failed=1)
    res.results_xml = tmp_path / "missing.xml"
    assert mutate.judge(res, 1).status == "error"


@pytest.mark.sim  # runs iverilog (the build fails)
def test_a_mutant_that_breaks_the_build_is_broken(tmp_path: Path) -> None:
    broken = Mutant("no_endmodule", "the PE loses endmodule", ((mutants.PE, "endmodule", ""),))
    rtl = mutants.apply(broken, build.RTL_DIR, tmp_path / "rtl")
    res = mutate.run_sim(broken, rtl, tmp_path, seed=3)
    assert res.status == mutate.BROKEN and "build failed" in res.detail, res


def _patch_runner(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mutant_cases: list
) -> list[dict]:
    """runner.run answers from fake results: the unmodified RTL passes, a mutant gets
    ``mutant_cases``; the simulator is never started. Returns the calls' arguments."""
    calls: list[dict] = []

    def run(settings, params, tests=None, **kw):
        rtl_dir = settings.rtl_dir
        calls.append({"params": params, "tests": tests, "rtl_dir": rtl_dir, **kw})
        module = kw.get("test_module", runner.TEST_MODULE)
        names = list(tests or mutate.expected_count(None, module) * ["t"])
        cases = [(n, "", "") for n in names] if rtl_dir is None else mutant_cases
        return fake_result(tmp_path / f"run{len(calls)}", cases)

    monkeypatch.setattr(runner, "run", run)
    monkeypatch.setattr(toolchain, "check_simulator", lambda sim: None)
    return calls


def test_accel_mutant_runs_through_the_accelerator_testbench(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """systolic mutate: the baseline and the mutant's run build systolic_accel at the mutant's
    FIFO depth and run systolic.tb.test_accel's tests it names; an array mutant's runs are the
    array's, as before."""
    from systolic.cli import main

    accel = next(m for m in CATALOG if m.design == "accel" and m.fifo_depth is not None)
    cases = [(accel.tests[0], "AccelCheckError", ACCEL_WORD)] if accel.tests else []
    calls = _patch_runner(monkeypatch, tmp_path, cases)
    argv = ["mutate", "--only", accel.name, "--only", "swap_ab_forwarding"]
    status = main([*argv, "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 0 and "sim: 2/2 killed" in out, out
    by_module: dict[str, list[dict]] = {}
    for call in calls:
        by_module.setdefault(call.get("test_module", runner.TEST_MODULE), []).append(call)
    accel_calls = by_module[tops.ACCEL_TEST_MODULE]
    assert len(accel_calls) == 2  # baseline and mutant
    for call in accel_calls:
        assert call["top"] == tops.accel_top(TopParams(accel.params[0], accel.fifo_depth))
        assert call["tests"] == accel.tests and call["params"] == accel.params[0]
    array_calls = by_module[runner.TEST_MODULE]
    assert len(array_calls) == 2
    assert all(c.get("top", build.ARRAY_TOP) == build.ARRAY_TOP for c in array_calls)
    assert f"killed {accel.name}" not in out and "accel fifo" in out


def test_errored_mutant_run_is_broken_and_fails_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from systolic.cli import main

    _patch_runner(monkeypatch, tmp_path, [SEED_ERROR])
    status = main(["mutate", "--only", "swap_ab_forwarding", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "BROKEN" in out and "sim: 0/0 killed, 1 BROKEN" in out, out
    assert "killed 3x3" not in out


def test_checker_failure_is_a_kill_in_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from systolic.cli import main

    _patch_runner(monkeypatch, tmp_path, [PE_MISMATCH])
    status = main(["mutate", "--only", "swap_ab_forwarding", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 0 and "sim: 1/1 killed" in out, out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    row = report["mutants"][0]
    assert row["killed_by"] == ["sim"] and row["sim"]["detail"].startswith("test_lecture_3x3: PE(")


def test_baseline_failure_stops_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from systolic.cli import main

    def run(sim, params, tests=None, seed=1, rtl_dir=None, build_root=None, **_kw):
        return fake_result(tmp_path / "base", [SEED_ERROR])  # even the real RTL "fails"

    monkeypatch.setattr(runner, "run", run)
    monkeypatch.setattr(toolchain, "check_simulator", lambda sim: None)
    status = main(["mutate", "--only", "swap_ab_forwarding", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 1
    assert "unmodified RTL does not pass" in captured.err
    assert "killed" not in captured.out


@pytest.mark.parametrize(
    "argv",
    [
        ["mutate", "--seed", "-1"],
        ["mutate", "--seed", "99999999999"],
        ["mutate", "--seed", "x"],
        ["mutate", "--only", "nope"],
        ["mutate", "--sizes", "3by3"],
        ["mutate", "--sizes", "40x2"],
        ["mutate", "--engine", "magic"],
        ["mutate", "--class", "nonsense"],
    ],
)
def test_bad_mutate_options_are_one_line_errors(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systolic: error:"), proc.stderr
    assert "killed" not in proc.stdout


# ---- formal: failing proofs kill, equivalents are proven -----------------------------------------

#: One mutant per kind of property: PE accumulation, asynchronous reset, array lanes, array
#: edges. Each is killed by its own (fast) proof; the nightly tier runs every mutant.
FORMAL_SAMPLES = (
    "no_sign_extension",
    "sync_reset_forwarding",
    "acc_bus_transposed",
    "south_data_early",
)


@pytest.mark.slow
@pytest.mark.parametrize("name", FORMAL_SAMPLES)
def test_formal_kills_representative_mutants(name: str, tmp_path: Path) -> None:
    mutant = mutants.by_name(name)
    rtl = mutants.apply(mutant, build.RTL_DIR, tmp_path / "rtl")
    res = mutate.run_formal(mutant, rtl, tmp_path)
    assert res.status == mutate.KILLED, _killed_message(res, mutant)


@pytest.mark.nightly
@pytest.mark.parametrize("mutant", [m for m in CATALOG if not m.formal], ids=lambda m: m.name)
def test_formal_kills_every_mutant_it_applies_to(mutant: Mutant, tmp_path: Path) -> None:
    rtl = mutants.apply(mutant, build.RTL_DIR, tmp_path / "rtl")
    res = mutate.run_formal(mutant, rtl, tmp_path)
    assert res.status == mutate.KILLED, _killed_message(res, mutant)


@pytest.mark.nightly
def test_unmodified_rtl_passes_every_mutant_proof(tmp_path: Path) -> None:
    """Every proof a mutant names holds on the real RTL (the quick ones are also proven by
    tests/formal/test_formal.py in every make test; this adds the full-tier ones)."""
    assert mutate.baseline_formal(CATALOG, tmp_path) == []


def test_formal_verdicts_are_honest() -> None:
    """A failing proof kills; an erroring one (timeout, tool error) never does."""
    from types import SimpleNamespace as Proof

    fail = Proof(task="t", config="c", status="fail", seconds=1.0, detail="p_acc_restart (x:1)")
    error = Proof(task="t", config="c", status="error", seconds=1.0, detail="timeout")
    ok = Proof(task="t", config="c", status="pass", seconds=1.0, detail="")
    assert mutate.judge_proofs([ok, fail, error]).status == mutate.KILLED
    assert mutate.judge_proofs([ok, error]).status == mutate.BROKEN
    assert mutate.judge_proofs([]).status == mutate.BROKEN
    assert mutate.judge_proofs([ok, ok]).status == mutate.SURVIVED


@pytest.mark.slow
@pytest.mark.parametrize("equiv", mutants.EQUIVALENT, ids=lambda e: e.mutant.name)
def test_equivalent_mutant_is_proven_equivalent(equiv: mutants.Equivalent, tmp_path: Path) -> None:
    """The first (widest) parameter set here; every set in the nightly tier."""
    _prove_equivalent(equiv, equiv.params[:1], tmp_path)


@pytest.mark.nightly
@pytest.mark.parametrize("equiv", mutants.EQUIVALENT, ids=lambda e: e.mutant.name)
def test_equivalent_mutant_at_every_parameter_set(
    equiv: mutants.Equivalent, tmp_path: Path
) -> None:
    _prove_equivalent(equiv, equiv.params, tmp_path)


def _prove_equivalent(
    equiv: mutants.Equivalent, params: tuple[dict[str, int], ...], tmp_path: Path
) -> None:
    run = mutate.formal_module()
    rtl = mutants.apply(equiv.mutant, build.RTL_DIR, tmp_path / "rtl")
    for p in params:
        tag = "_".join(f"{k}{v}" for k, v in p.items())
        res = run.prove_equivalent(build.RTL_DIR, rtl, equiv.top, p, tmp_path / tag)
        assert res.status == "pass", f"{equiv.mutant.name} at {p}: {res.status}: {res.detail}"


def test_formal_error_is_broken_in_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--engine formal: proofs that pass on the real RTL but err on the mutant do not kill it."""
    from types import SimpleNamespace

    from systolic.cli import main

    def prove(rtl_dir=None, work=None, tier="quick", only=None):
        status = "pass" if rtl_dir is None else "error"
        return [SimpleNamespace(task="t", config="c", status=status, seconds=0.1, detail="boom")]

    monkeypatch.setattr(mutate, "formal_module", lambda: SimpleNamespace(prove=prove))
    argv = ["mutate", "--engine", "formal", "--only", "no_sign_extension"]
    status = main([*argv, "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 1 and "formal: 0/0 killed, 1 BROKEN" in out, out


def test_docs_count_the_catalog() -> None:
    """README.md and docs/verification.md give the catalog's size per design."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    array = sum(m.design == "array" for m in CATALOG)
    accel = sum(m.design == "accel" for m in CATALOG)
    readme = (root / "README.md").read_text()
    found = re.search(r"(\d+) RTL mutants \((\d+) of the array, (\d+) of the accelerator", readme)
    assert found and tuple(map(int, found.groups())) == (len(CATALOG), array, accel)
    doc = " ".join((root / "docs" / "verification.md").read_text().split())
    found = re.search(r"holds \*\*(\d+) mutants\*\*.*?(\d+) of the array and (\d+) of the", doc)
    assert found and tuple(map(int, found.groups())) == (len(CATALOG), array, accel)
