"""Mutation testing that cannot be fooled: each mutant of ``mutation/catalog.py`` on the
simulator (the cocotb checkers) and on the formal properties, with honest verdicts.

A mutant is *killed* only by a checker: on the simulator, a cocotb test of its design's
testbench (the array's, or the accelerator top's through its AXI4-Stream ports) failing with a
``ScoreboardError``, ``AccelCheckError`` or ``AssertionError`` whose message names what a checker
checks (a PE, a lane, a result C[i][j] or fold, the array state, a mismatch count, the AXI4-Stream
protocol, the cycle model); in formal, a proof that FAILS. A build failure, a crash, an
exception of another kind, a wrong number of tests or an empty run is BROKEN, never a kill, and
so is a formal proof that ends in an error. The unmodified RTL must pass exactly the same runs
first (:func:`baseline_sim`, :func:`baseline_formal`), otherwise nothing can be concluded.
"""

from __future__ import annotations

import json
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

from systolic import fileio, locks
from systolic.engine import build, runner, toolchain, tops
from systolic.engine.build import ARRAY_TOP, HdlTop
from systolic.engine.config import RunSettings
from systolic.errors import ConfigError, SimulatorError
from systolic.models.params import ArrayParams, TopParams
from systolic.mutation.catalog import Mutant

#: Engines of ``systolic mutate --engine``.
ENGINES = ("sim", "formal", "both")
#: The simulator mutants run on (builds in ~0.05 s).
SIM = "icarus"
#: Exception types that cocotb records for a checker's failure (AccelCheckError: the
#: accelerator top's checkers, tb/accel_check.py).
CHECKER_TYPES = frozenset({"ScoreboardError", "AccelCheckError", "AssertionError"})
#: What a checker's message names: a PE, a result C[i][j], an edge lane, the unreadable array
#: state, or a count of mismatches (test_checker_bites); for the accelerator top also a fold of
#: the result scoreboard (a wrong word, tkeep or tlast, a missing or extra frame), an AXI4-Stream
#: protocol rule, or the cycle model's admission and cycle counts (test_no_pause_cycles). Not
#: the top's testbench faults (its sink disagreeing with its sampler, a test that cannot set up).
CHECKER_TEXT = re.compile(
    r"PE\(\d+,\d+\)|C\[\d+\]\[\d+\]|\blane\b|array state|mismatch"
    r"|\bfold \d+|unexpected result beat|AXI4-Stream protocol|models\.accel says"
)

#: What the monitor's ValueError says about X/Z bits (shortened in the report).
_X_TEXT = "Can't convert LogicArray to int: it contains non-0/1 values"

#: Where a failure message's reproduce context starts (the testbenches' ``context``: the
#: array's ``[ROWS=...``, a wrapper's or the accelerator top's ``[design=...``, the PE's
#: ``[systolic_pe ...``); the top's fold labels have brackets of their own before it.
_CONTEXT = re.compile(r" \[(?:ROWS=|design=|systolic_pe )")

KILLED, SURVIVED, BROKEN, NOT_APPLICABLE = "killed", "SURVIVED", "BROKEN", "n/a"


@dataclass(frozen=True)
class TestOutcome:
    """One cocotb test of a run: its name and, when it failed, the exception type and message."""

    test: str
    kind: str = ""
    message: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.kind)

    @property
    def checker(self) -> bool:
        """A failure that a checker reported (not an error of the test or the simulator)."""
        return self.kind in CHECKER_TYPES and CHECKER_TEXT.search(self.message) is not None

    def short(self) -> str:
        """``test: first line of the message`` without the reproduce context."""
        text = self.message.splitlines()[0] if self.message else "(no message)"
        text = _CONTEXT.split(text)[0].replace(_X_TEXT, "X/Z bits")
        kind = "" if self.checker else f"{self.kind}: "
        return f"{self.test}: {kind}{text}"


def outcomes(xml_path: Path | None) -> list[TestOutcome] | None:
    """Every test cocotb ran (skipped ones left out), read from its xUnit file; None when the
    file is missing or unreadable (the simulator crashed or never started)."""
    if xml_path is None or not Path(xml_path).is_file():
        return None
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError:
        return None
    out = []
    for case in root.iter("testcase"):
        if case.find("skipped") is not None:
            continue
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        name = case.get("name", "?")
        if bad is None:
            out.append(TestOutcome(name))
        else:
            message = (bad.get("message") or bad.text or "").strip()
            out.append(TestOutcome(name, bad.get("type") or "error", message))
    return out


@dataclass(frozen=True)
class RunVerdict:
    """pass: every expected test ran and passed; checker: a checker failed; error: anything else
    (no results, a wrong number of tests, only non-checker failures)."""

    status: str
    detail: str = ""


def judge(res: runner.RunResult, expected_tests: int | None) -> RunVerdict:
    """Classify one simulator run (see :class:`RunVerdict`)."""
    cases = outcomes(res.results_xml)
    if cases is None:
        return RunVerdict("error", f"no results written (simulator crashed?); see {res.log}")
    if not cases:
        return RunVerdict("error", "0 tests ran")
    if expected_tests is not None and len(cases) != expected_tests:
        return RunVerdict("error", f"{len(cases)} tests ran, expected {expected_tests}")
    failed = [c for c in cases if c.failed]
    if not failed:
        return RunVerdict("pass")
    checkers = [c for c in failed if c.checker]
    if not checkers:
        return RunVerdict("error", failed[0].short())
    others = len(failed) - len(checkers)
    note = f" (and {others} tests with errors)" if others else ""
    return RunVerdict("checker", checkers[0].short() + note)


@dataclass
class EngineResult:
    """One engine's verdict on one mutant: killed / SURVIVED / BROKEN / n/a."""

    status: str
    detail: str = ""
    where: str = ""
    seconds: float = 0.0

    @property
    def killed(self) -> bool:
        return self.status == KILLED

    def cell(self, width: int = 80, where: bool = True) -> str:
        """The table cell: status, where (unless not asked) and the first failure, cut to
        ``width``."""
        text = self.status
        if self.where and where:
            text += f" {self.where}"
        if self.detail:
            text += f": {self.detail}"
        return text if len(text) <= width else text[: width - 3] + "..."


def short_tag(p: ArrayParams) -> str:
    """``3x3 d8 a32`` (``3x3 d8 a32 m1`` with the product register, MUL_REG=1)."""
    return f"{p.rows}x{p.cols} d{p.data_w} a{p.acc_w}" + (" m1" if p.mul_reg else "")


#: The cocotb test module of each design (catalog.DESIGNS).
TEST_MODULES = {"array": runner.TEST_MODULE, "accel": tops.ACCEL_TEST_MODULE}


@dataclass(frozen=True)
class SimTarget:
    """One build a mutant's simulator runs use: the array alone (ArrayParams) or the accelerator
    top around it (TopParams: its FIFO depth and result port)."""

    design: ArrayParams | TopParams

    @property
    def params(self) -> ArrayParams:
        """The array's parameters (the top's array for the top)."""
        return self.design.array if isinstance(self.design, TopParams) else self.design

    @property
    def design_name(self) -> str:
        """The design's name in the catalog (catalog.DESIGNS)."""
        return "accel" if isinstance(self.design, TopParams) else "array"

    @property
    def tag(self) -> str:
        """``3x3 d8 a32`` for the array; ``3x2 d8 a32 accel fifo3`` for the top (``o2s2`` for
        two rows per beat and two shadow registers)."""
        text = short_tag(self.params)
        if isinstance(self.design, TopParams):
            text += " accel"
            if self.design.fifo_depth is not None:
                text += f" fifo{self.design.fifo_depth}"
            if self.design.port_tag:
                text += " " + self.design.port_tag.lstrip("_")
        return text

    @property
    def test_module(self) -> str:
        return TEST_MODULES[self.design_name]

    @property
    def top(self) -> HdlTop:
        """The HdlTop the runner builds (the array alone: its default)."""
        if isinstance(self.design, TopParams):
            return tops.accel_top(self.design)
        return ARRAY_TOP


def sim_targets(mutant: Mutant, sizes: Sequence[tuple[int, int]] | None = None) -> list[SimTarget]:
    """The builds a mutant runs on: its design at its own parameter sets, or at ``sizes`` with
    each of its widths. With ``sizes``, an accelerator mutant's FIFO depth is raised to ROWS
    where it is below (the smallest depth the top accepts), and its rows per result beat lowered
    to ROWS where they are above (the widest port the top accepts)."""
    if sizes:
        widths = dict.fromkeys((p.data_w, p.acc_w, p.mul_reg) for p in mutant.params)
        params = [ArrayParams(r, c, d, a, m) for (d, a, m) in widths for (r, c) in sizes]
    else:
        params = list(mutant.params)
    if mutant.design == "array":
        return [SimTarget(p) for p in params]
    depth, (out_rows, shadows) = mutant.fifo_depth, mutant.port
    return [
        SimTarget(
            TopParams(
                p, None if depth is None else max(depth, p.rows), min(out_rows, p.rows), shadows
            )
        )
        for p in params
    ]


def targets_tag(mutant: Mutant) -> str:
    """The mutant's own builds, e.g. ``3x3 d8 a32`` or ``3x2 d8 a32 accel fifo3``."""
    return ",".join(t.tag for t in sim_targets(mutant))


def sim_tests(mutant: Mutant, full: bool = False) -> tuple[str, ...] | None:
    """The cocotb tests a mutant runs (None: the whole quick tier of its design's module)."""
    return None if full else mutant.tests


def expected_count(tests: Sequence[str] | None, test_module: str = runner.TEST_MODULE) -> int:
    """How many cocotb tests a run of ``tests`` must report (all of ``test_module`` when
    None)."""
    return len(runner.list_tests(test_module)) if tests is None else len(tests)


def _run_sim_once(
    target: SimTarget,
    tests: tuple[str, ...] | None,
    seed: int,
    rtl: Path | None,
    build_root: Path,
) -> RunVerdict:
    """One Icarus run of the target's design and test module, judged; a failed build is an
    error verdict (a mutant's; the unmodified RTL's, ``rtl`` None, is the command's error)."""
    if rtl is None:
        return judge(_run_unmodified(target, tests, seed, build_root), _expected(target, tests))
    try:
        res = runner.run(
            RunSettings(SIM, seed=seed, rtl_dir=rtl, build_root=build_root),
            target.params,
            tests,
            test_module=target.test_module,
            top=target.top,
        )
    except SimulatorError as exc:
        return RunVerdict("error", f"build failed: {str(exc).split(' (')[0]}")
    return judge(res, _expected(target, tests))


def _expected(target: SimTarget, tests: tuple[str, ...] | None) -> int:
    return expected_count(tests, target.test_module)


def _run_unmodified(
    target: SimTarget, tests: tuple[str, ...] | None, seed: int, build_root: Path
) -> runner.RunResult:
    """The unmodified RTL's run of a target: an RTL folder that does not build is the command's
    one-line error (as for ``systolic run``), not a verdict."""
    try:
        return runner.run(
            RunSettings(SIM, seed=seed, build_root=build_root),
            target.params,
            tests,
            test_module=target.test_module,
            top=target.top,
        )
    except SimulatorError as exc:
        raise SimulatorError(f"the RTL in {build.RTL_DIR} does not build: {exc}") from None


def build_unmodified(
    mutants: Sequence[Mutant], sizes: Sequence[tuple[int, int]] | None, work: Path
) -> None:
    """Build the unmodified RTL once per design and parameter set the mutants use (Icarus, the
    builds the simulator baseline then reuses): an RTL folder that does not build is the
    command's one-line error, whatever the engine. Skipped without Icarus (formal only)."""
    try:
        toolchain.check_simulator(SIM)
    except SimulatorError:
        return
    targets = dict.fromkeys(t for m in mutants for t in sim_targets(m, sizes))
    for target in targets:
        try:
            build.build(RunSettings(SIM, build_root=work / "build"), target.params, target.top)
        except SimulatorError as exc:
            raise SimulatorError(f"the RTL in {build.RTL_DIR} does not build: {exc}") from None


def check_rtl(mutants: Sequence[Mutant], sizes: Sequence[tuple[int, int]] | None = None) -> None:
    """Before any run: every RTL file the mutants' designs use is a readable file of the RTL
    folder, and every mutant's edit finds its text there exactly once (one-line errors)."""
    rtl = build.RTL_DIR
    files = {f for m in mutants for t in sim_targets(m, sizes) for f in t.top.source_files(rtl)}
    files |= {Path(rtl) / file for m in mutants for file, _old, _new in m.edits}
    texts = {f.resolve(): fileio.check_input_file(f).read_text() for f in sorted(files)}
    for m in mutants:
        for file, old, _new in m.edits:
            path = (Path(rtl) / file).resolve()
            if texts[path].count(old) != 1:
                raise ConfigError(f"mutant {m.name}: its edit does not apply to {path}")


def run_sim(
    mutant: Mutant,
    rtl: Path,
    work: Path,
    seed: int,
    full: bool = False,
    sizes: Sequence[tuple[int, int]] | None = None,
) -> EngineResult:
    """Run a mutant through its design's testbench at each of its builds until a checker
    fails."""
    t0 = time.perf_counter()
    tests = sim_tests(mutant, full)
    targets = sim_targets(mutant, sizes)
    for target in targets:
        verdict = _run_sim_once(target, tests, seed, rtl, work / "build")
        if verdict.status == "checker":
            return EngineResult(KILLED, verdict.detail, target.tag, time.perf_counter() - t0)
        if verdict.status == "error":
            return EngineResult(BROKEN, verdict.detail, target.tag, time.perf_counter() - t0)
    where = ", ".join(t.tag for t in targets)
    return EngineResult(SURVIVED, mutant.what, where, time.perf_counter() - t0)


def sim_combinations(
    mutants: Sequence[Mutant], full: bool = False, sizes: Sequence[tuple[int, int]] | None = None
) -> list[tuple[SimTarget, tuple[str, ...] | None]]:
    """The baseline runs that cover every run the mutants make: one per build (design,
    parameters, FIFO depth), with the union of the tests run there (None: the whole tier), in
    first-use order."""
    combos: dict[SimTarget, tuple[str, ...] | None] = {}
    for m in mutants:
        tests = sim_tests(m, full)
        for target in sim_targets(m, sizes):
            combos[target] = _union(combos[target], tests) if target in combos else tests
    return list(combos.items())


def _union(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Two test selections together (None is every test)."""
    if a is None or b is None:
        return None
    return tuple(dict.fromkeys((*a, *b)))


def baseline_sim(
    combos: Sequence[tuple[SimTarget, tuple[str, ...] | None]], seed: int, work: Path
) -> list[str]:
    """Run the unmodified RTL on every combination; returns the problems (empty: all passed)."""
    problems = []
    for target, tests in combos:
        verdict = _run_sim_once(target, tests, seed, None, work / "build")
        if verdict.status != "pass":
            which = ",".join(tests) if tests else "every test"
            problems.append(f"{target.tag} ({which}): {verdict.status}: {verdict.detail}")
    return problems


# ---- formal ------------------------------------------------------------------------------------


def formal_module() -> ModuleType:
    """``systolic.formal.run`` or a one-line error when the formal flow is not installed."""
    try:
        from systolic.formal import run as formal_run
    except ImportError as exc:
        raise ConfigError(f"the formal engine is not available ({exc})") from None
    return formal_run


def _proof_where(result: object) -> str:
    """The task's name (it names the configuration, e.g. pe_d3a7_acc)."""
    return str(getattr(result, "task", "?"))


def judge_proofs(results: Sequence[object]) -> EngineResult:
    """A mutant's proofs: killed when one FAILS; BROKEN when none fails but one errs or none ran."""
    seconds = float(sum(getattr(r, "seconds", 0.0) or 0.0 for r in results))
    fails = [r for r in results if getattr(r, "status", "") == "fail"]
    if fails:
        first = fails[0]
        return EngineResult(KILLED, _first_line(first), _proof_where(first), seconds)
    errors = [r for r in results if getattr(r, "status", "") != "pass"]
    if errors:
        return EngineResult(BROKEN, _first_line(errors[0]), _proof_where(errors[0]), seconds)
    if not results:
        return EngineResult(BROKEN, "no proof ran", "", seconds)
    return EngineResult(SURVIVED, f"{len(results)} proofs pass", "", seconds)


def _first_line(result: object) -> str:
    detail = str(getattr(result, "detail", "") or getattr(result, "status", ""))
    return detail.strip().splitlines()[0] if detail.strip() else ""


def run_formal(mutant: Mutant, rtl: Path, work: Path, full: bool = False) -> EngineResult:
    """Run the mutant's proofs (``full``: every task of its formal tier) on its RTL."""
    if mutant.formal:
        return EngineResult(NOT_APPLICABLE, mutant.formal)
    results = formal_module().prove(
        rtl_dir=rtl, work=work / "formal", tier=mutant.formal_tier, only=formal_only(mutant, full)
    )
    return judge_proofs(results)


def formal_only(mutant: Mutant, full: bool = False) -> list[str] | None:
    """The formal tasks run for a mutant: its own, or (``full``) every task of its tier."""
    return None if full or mutant.proofs is None else list(mutant.proofs)


def formal_tasks(mutants: Sequence[Mutant], full: bool = False) -> tuple[str, list[str] | None]:
    """(tier, tasks) the baseline must pass: the union of the mutants' (None: the whole tier)."""
    needed = [m for m in mutants if not m.formal]
    tier = "full" if any(m.formal_tier == "full" for m in needed) else "quick"
    if full or any(m.proofs is None for m in needed):
        return tier, None
    return tier, sorted({t for m in needed for t in m.proofs or ()})


def baseline_formal(mutants: Sequence[Mutant], work: Path, full: bool = False) -> list[str]:
    """Prove the unmodified RTL on every proof the mutants use; returns the problems."""
    if all(m.formal for m in mutants):
        return []
    tier, only = formal_tasks(mutants, full)
    results = formal_module().prove(rtl_dir=None, work=work / "formal", tier=tier, only=only)
    if not results:
        return ["formal: no proof ran on the unmodified RTL"]
    return [
        f"formal {_proof_where(r)}: {r.status}: {_first_line(r)}"
        for r in results
        if r.status != "pass"
    ]


# ---- one mutant, every engine ------------------------------------------------------------------


@dataclass
class MutantReport:
    """Everything ``systolic mutate`` says about one mutant."""

    mutant: Mutant
    sim: EngineResult | None = None
    formal: EngineResult | None = None
    killed_by: list[str] = field(default_factory=list)

    def ok(self) -> bool:
        """Killed by every engine that ran and applies to it."""
        for res in (self.sim, self.formal):
            if res is not None and res.status not in (KILLED, NOT_APPLICABLE):
                return False
        return True

    def to_json(self) -> dict:
        m = self.mutant
        return {
            "mutant": m.name,
            "class": m.cls,
            "what": m.what,
            "design": m.design,
            "params": [p.tag for p in m.params],
            "fifo_depth": m.fifo_depth,
            "port": list(m.port),
            "tests": list(m.tests) if m.tests else None,
            "formal_applies": not m.formal,
            "sim": asdict(self.sim) if self.sim else None,
            "formal": asdict(self.formal) if self.formal else None,
            "killed_by": self.killed_by,
        }


def mutate_one(
    mutant: Mutant,
    out: Path,
    engine: str,
    seed: int,
    full: bool = False,
    sizes: Sequence[tuple[int, int]] | None = None,
) -> MutantReport:
    """Apply one mutant to a copy of rtl/ and run it on the chosen engines."""
    from systolic.mutation import catalog as mutants

    work = out / mutant.name
    report = MutantReport(mutant)
    with locks.exclusive(work):  # a concurrent run of the same mutant waits for its turn
        rtl = mutants.apply(mutant, build.RTL_DIR, work / "rtl")
        if engine in ("sim", "both"):
            report.sim = run_sim(mutant, rtl, work, seed, full, sizes)
        if engine in ("formal", "both"):
            report.formal = run_formal(mutant, rtl, work, full)
    report.killed_by = [
        name for name, res in (("sim", report.sim), ("formal", report.formal)) if res and res.killed
    ]
    return report


def count(reports: Sequence[MutantReport], engine: str) -> tuple[int, int, int, int]:
    """(killed, executed, broken, not applicable) of one engine over the reports."""
    results = [getattr(r, engine) for r in reports if getattr(r, engine) is not None]
    killed = sum(r.status == KILLED for r in results)
    broken = sum(r.status == BROKEN for r in results)
    na = sum(r.status == NOT_APPLICABLE for r in results)
    return killed, len(results) - broken - na, broken, na


# ------------------------------------------------------------------------------------------------
# A campaign: baseline, every chosen mutant, the table and report.json (``systolic mutate``)
# ------------------------------------------------------------------------------------------------


SIM_CELL = 78

MUTATE_HEADER = (
    f"{'mutant':34} {'class':16} {'params':13} {'sim: result + first failure':{SIM_CELL}} formal"
)


def _mutate_row(rep: MutantReport) -> str:
    """One line of the mutation table."""
    m = rep.mutant
    params = targets_tag(m)
    sim = rep.sim.cell(SIM_CELL, where=len(m.params) > 1) if rep.sim else "-"
    formal = rep.formal.cell(70) if rep.formal else "-"
    return f"{m.name:34} {m.cls:16} {params:13} {sim:{SIM_CELL}} {formal}"


def campaign(
    chosen: Sequence[Mutant],
    engine: str,
    seed: int,
    full: bool,
    sizes: list[tuple[int, int]] | None,
    out: Path,
) -> int:
    """Baseline first (the unmodified RTL must pass every run the mutants need), then every
    chosen mutant on ``engine`` (sim, formal or both); prints the table, writes
    ``out/report.json``; 0 when every mutant is killed or not applicable with a reason."""
    engines = ("sim", "formal") if engine == "both" else (engine,)
    if "sim" in engines:
        toolchain.check_simulator(SIM)
    if "formal" in engines:
        formal_module()
    check_rtl(chosen, sizes)
    build_unmodified(chosen, sizes, out / "_baseline")
    setup = {"engine": engine, "seed": seed, "full": full}
    problems = _baseline(chosen, engines, seed, full, sizes, out)
    if problems:
        _write_report(out, setup, [], problems)
        print("the unmodified RTL does not pass the runs the mutants need:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(MUTATE_HEADER, flush=True)
    reports = []
    for m in chosen:
        reports.append(mutate_one(m, out, engine, seed, full, sizes))
        print(_mutate_row(reports[-1]), flush=True)
    return _summary(reports, engines, out, setup)


def _baseline(
    chosen: Sequence[Mutant],
    engines: Sequence[str],
    seed: int,
    full: bool,
    sizes: list[tuple[int, int]] | None,
    out: Path,
) -> list[str]:
    """The unmodified RTL on every run the mutants need; returns the problems."""
    problems = []
    if "sim" in engines:
        combos = sim_combinations(chosen, full, sizes)
        print(f"baseline: unmodified RTL, {len(combos)} simulator runs ...", flush=True)
        problems += baseline_sim(combos, seed, out / "_baseline")
    if "formal" in engines:
        print("baseline: unmodified RTL, formal proofs ...", flush=True)
        problems += baseline_formal(chosen, out / "_baseline", full)
    return problems


def _summary(
    reports: list[MutantReport], engines: Sequence[str], out: Path, setup: dict[str, object]
) -> int:
    """Counts per engine over the runs that executed; report.json; the exit status."""
    lines = []
    for engine in engines:
        killed, executed, broken, na = count(reports, engine)
        text = f"{engine}: {killed}/{executed} killed"
        if broken:
            text += f", {broken} BROKEN (not counted)"
        if na:
            text += f", {na} not applicable"
        lines.append(text)
    both = sum(len(r.killed_by) == 2 for r in reports)
    if len(engines) == 2:
        lines.append(f"killed twice (sim and formal): {both}/{len(reports)}")
    for line in lines:
        print(line)
    path = _write_report(out, setup, reports, [])
    print(f"report: {path}")
    return 0 if all(r.ok() for r in reports) else 1


def _write_report(
    out: Path, setup: dict[str, object], reports: list[MutantReport], baseline: list[str]
) -> Path:
    """report.json, written atomically."""
    data = {
        **setup,
        "baseline_problems": baseline,
        "mutants": [r.to_json() for r in reports],
        "summary": {e: _counts(reports, e) for e in ("sim", "formal")},
    }
    return fileio.atomic_write(out / "report.json", json.dumps(data, indent=2) + "\n")


def _counts(reports: list[MutantReport], engine: str) -> dict[str, int]:
    killed, executed, broken, na = count(reports, engine)
    return {"killed": killed, "executed": executed, "broken": broken, "not_applicable": na}
