"""Scoreboard: every PE every cycle against the cycle model, every finished C against golden."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from systolic.models.array_model import ArrayTrace
from systolic.models.skew import ScheduledProduct, Stream

#: How many individual mismatches a failure message lists.
MAX_LISTED = 8


class ScoreboardError(AssertionError):
    """A mismatch between the DUT and the models (an AssertionError, so cocotb fails the test)."""


@dataclass(frozen=True)
class Mismatch:
    cycle: int
    row: int
    col: int
    what: str
    expected: int
    got: int | str

    def __str__(self) -> str:
        if self.row < 0:  # the whole state could not be read
            return f"array state at cycle {self.cycle}: {self.got}"
        return (
            f"PE({self.row},{self.col}) {self.what} at cycle {self.cycle}: "
            f"expected {self.expected}, got {self.got}"
        )


@dataclass
class Scoreboard:
    """Compares monitor samples with an ``ArrayTrace`` and the stream's golden results.

    context: the parameters, seed and reproduce command, appended to every failure message.
    """

    stream: Stream
    expected: ArrayTrace
    context: str = ""
    mismatches: list[Mismatch] = field(default_factory=list)
    mismatch_count: int = 0
    pe_checks: int = 0
    products_checked: int = 0
    cycles_checked: int = 0

    def __post_init__(self) -> None:
        shape = self.expected.acc.shape
        self.obs_res = np.zeros(shape, np.int64)
        self.obs_vld = np.zeros(shape, bool)
        self.obs_acc = np.zeros(shape, np.int64)

    def check_cycle(
        self, cycle: int, acc: np.ndarray, res: np.ndarray, res_vld: np.ndarray
    ) -> None:
        """Check one cycle's sample of every PE against the cycle model."""
        exp = self.expected
        self.obs_acc[cycle], self.obs_res[cycle], self.obs_vld[cycle] = acc, res, res_vld
        self.cycles_checked += 1
        self.pe_checks += acc.size
        if (
            np.array_equal(acc, exp.acc[cycle])
            and np.array_equal(res, exp.res[cycle])
            and np.array_equal(res_vld, exp.res_vld[cycle])
        ):
            return
        for what, got, want in (
            ("accumulator", acc, exp.acc[cycle]),
            ("result", res, exp.res[cycle]),
            ("result valid", res_vld.astype(np.int64), exp.res_vld[cycle].astype(np.int64)),
        ):
            for i, j in np.argwhere(got != want):
                self._add(Mismatch(cycle, int(i), int(j), what, int(want[i, j]), int(got[i, j])))

    def unreadable(self, cycle: int, error: Exception) -> None:
        """The monitor could not read the state (X or Z bits)."""
        self._add(Mismatch(cycle, -1, -1, "state", 0, f"unreadable ({error})"))

    def check_results(self) -> None:
        """Check every finished product against the golden GEMM (independently of the model)."""
        for sp in self.stream.products:
            if sp.aborted:
                continue
            cc = sp.capture_cycles()
            if (cc >= self.cycles_checked).any():
                i, j = np.argwhere(cc >= self.cycles_checked)[0]
                self._result_mismatch(sp, cc, i, j, "never sampled (stream too short)")
                continue
            got, strobe = self._at_capture(sp, self.obs_res), self._at_capture(sp, self.obs_vld)
            for i, j in np.argwhere(~strobe):
                self._add(
                    Mismatch(int(cc[i, j]), int(i), int(j), f"result strobe of {_name(sp)}", 1, 0)
                )
            for i, j in np.argwhere(got != sp.expected):
                self._result_mismatch(sp, cc, i, j, int(got[i, j]))
            self.products_checked += 1

    def _result_mismatch(
        self, sp: ScheduledProduct, cc: np.ndarray, i: int, j: int, got: int | str
    ) -> None:
        self._add(
            Mismatch(
                int(cc[i, j]),
                int(i),
                int(j),
                f"C[{i}][{j}] of {_name(sp)}",
                int(sp.expected[i, j]),
                got,
            )
        )

    def _at_capture(self, sp: ScheduledProduct, observed: np.ndarray) -> np.ndarray:
        """(m, n) values of ``observed`` at each PE's capture cycle (clipped to what was seen)."""
        cc = np.minimum(sp.capture_cycles(), max(self.cycles_checked - 1, 0))
        ii, jj = np.meshgrid(np.arange(sp.product.m), np.arange(sp.product.n), indexing="ij")
        return observed[cc, ii, jj]

    def finished_results(self) -> list[np.ndarray]:
        """The C of every non-aborted product as read from the DUT's result registers."""
        return [self._at_capture(sp, self.obs_res) for sp in self.stream.products if not sp.aborted]

    @property
    def passed(self) -> bool:
        return self.mismatch_count == 0

    def raise_if_failed(self) -> None:
        """Raise ScoreboardError naming the first mismatches, the parameters and the seed."""
        if self.passed:
            return
        first = self.mismatches[0]
        listed = "; ".join(str(m) for m in self.mismatches[1:MAX_LISTED])
        more = self.mismatch_count - min(self.mismatch_count, MAX_LISTED)
        msg = f"{first} [{self.context}]"
        if listed:
            msg += f"; then {listed}"
        if more:
            msg += f"; and {more} more mismatches"
        raise ScoreboardError(msg)

    def _add(self, mismatch: Mismatch) -> None:
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_LISTED:
            self.mismatches.append(mismatch)


def _name(sp: ScheduledProduct) -> str:
    label = sp.product.label
    return f"product {label}" if label else "product"
