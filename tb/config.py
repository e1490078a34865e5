"""The run configuration inside cocotb: the one module of the testbench that reads it.

The host writes a :class:`~systolic.engine.config.RunConfig` per run (``run.json``); tests and the
``TB`` take it from :data:`RUN`. The array's parameters come from the DUT itself
(:func:`dut_params`) and must equal the ones the host built: a mismatch means the build and the
run disagree, and no test result would mean anything.
"""

from __future__ import annotations

from typing import Any

from systolic.engine.config import RunConfig
from systolic.errors import ConfigError
from systolic.models.params import ArrayParams

#: This run's configuration (defaults when a test module is imported outside a run).
RUN = RunConfig.load()

#: HDL parameter name -> ArrayParams field.
_FIELDS = {
    "ROWS": "rows",
    "COLS": "cols",
    "DATA_W": "data_w",
    "ACC_W": "acc_w",
    "MUL_REG": "mul_reg",
}


def _hdl_int(dut: Any, name: str) -> int | None:
    """An HDL parameter's value, or None when the design has no such parameter."""
    try:
        handle = getattr(dut, name)
    except AttributeError:
        return None
    return int(handle.value)


def dut_params(
    dut: Any, run: RunConfig = RUN, only: tuple[str, ...] = tuple(_FIELDS)
) -> ArrayParams:
    """The array parameters of the run, checked against the DUT's own HDL parameters.

    only: the parameters the design has (the PE alone has no ROWS/COLS). A design that does not
    expose a parameter (a wrapper top) is checked through the widths of its ports instead
    (``TB`` does that)."""
    if run.params is None:
        raise ConfigError(
            "this test runs without a run configuration: run it through `systolic run` "
            "(systolic.engine.runner), which builds the design and writes one"
        )
    p = run.params
    for name in only:
        got = _hdl_int(dut, name)
        want = getattr(p, _FIELDS[name])
        if got is not None and got != want:
            raise ConfigError(
                f"the DUT was built with {name}={got}, the run configuration says {want}: "
                "the build does not match the parameters"
            )
    return p


def check_port_widths(dut: Any, widths: dict[str, int], params: ArrayParams) -> None:
    """Each named port of the DUT must be as wide as ``widths`` says for ``params``: a top that
    does not expose the parameters is checked through its ports (RuntimeError otherwise)."""
    for name, width in widths.items():
        got = len(dut[name])
        if got != width:
            raise RuntimeError(
                f"{name} is {got} bits wide, expected {width} for {params}: "
                "the build does not match the parameters"
            )
