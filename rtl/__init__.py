"""The RTL of the systolic array, shipped inside the ``systolic`` package as data files.

``systolic.rtl.directory()`` is the folder that holds ``systolic_pe.v``, ``systolic_array.v``,
``systolic_fifo_ram.v``, ``systolic_accel.v``, ``formal/`` (the formal wrappers) and ``harness/``
(the fast-path harness), whether the project runs from a checkout or from an installed wheel.
``systolic.rtl.sources(top)`` lists the files one design compiles from (for a simulator of one's
own, e.g. ``cocotb_test.simulator.run``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: Each design's RTL files in compile order, its top level's last (module name = file name).
DESIGNS: dict[str, tuple[str, ...]] = {
    "systolic_pe": ("systolic_pe.v",),
    "systolic_array": ("systolic_pe.v", "systolic_array.v"),
    "systolic_fifo_ram": ("systolic_fifo_ram.v",),
    "systolic_accel": (
        "systolic_pe.v",
        "systolic_array.v",
        "systolic_fifo_ram.v",
        "systolic_accel.v",
    ),
}

#: The ECP5 mapping of the PE's product register (MUL_REG = 1; docs/gemm.md, FPGA): the Verilog
#: define under which systolic_pe.v puts it into a MULT18X18D (the FPGA flow sets it, simulation
#: never does), the primitive's wrapper it then instantiates, and a behavioural model of the
#: primitive's subset the wrapper uses (read only by the equivalence proof), in fpga/.
ECP5_DSP_DEFINE = "ECP5_DSP_PRODUCT_REG"
ECP5_DSP_WRAPPER = "fpga/systolic_pe_mult_ecp5.v"
ECP5_DSP_MODEL = "fpga/mult18x18d_model.v"


def directory() -> Path:
    """The folder of the shipped RTL files (a real folder: wheels install unzipped)."""
    return Path(str(files(__name__)))


def sources(top: str = "systolic_array", folder: Path | None = None) -> list[Path]:
    """The RTL files of design ``top`` (a key of :data:`DESIGNS`), the top level last: the
    shipped ones, or those of ``folder`` (another copy of this RTL).

    Its HDL parameters come from the same parameter object the testbench is told about
    (``ArrayParams.hdl_parameters()``). ValueError for a design the package does not have."""
    try:
        names = DESIGNS[top]
    except KeyError:
        raise ValueError(
            f"no design {top!r} in the package's RTL: choose one of {', '.join(DESIGNS)}"
        ) from None
    root = Path(folder or directory()).resolve()
    return [root / name for name in names]
