"""The one pruning pipeline: every method has an implementation, the steps run in their order
with the common timing, the dense baseline stays untouched, and the reports are written whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from systolic.pruning import pipeline
from systolic.pruning.config import PruneConfig
from systolic.pruning.data import Digits
from systolic.pruning.errors import PruningError
from systolic.pruning.method import Description, Pruned, PruningMethod, RunContext, Trained
from systolic.pruning.registry import NAMES as METHODS
from systolic.pruning.surgery import remove_channels
from systolic.pruning.train import BaselineCache, TrainConfig

#: One epoch of a very narrow network: the pipeline's plumbing, not accuracy, is under test.
TINY = PruneConfig(
    progress=False,
    widths=(4, 4, 4),
    baseline=TrainConfig(epochs=1, select_best=True),
    sparsity_train=TrainConfig(epochs=1),
    finetune=TrainConfig(epochs=1, lr=0.02, select_best=True),
)


class FirstTwo(PruningMethod[dict[int, torch.Tensor]]):
    """A stand-in method that keeps the first two channels of every stage and logs its steps."""

    name = "slimming"  # runs on the plain network

    def __init__(self) -> None:
        self.calls: list[str] = []

    def check(self, cfg: PruneConfig) -> None:
        self.calls.append("check")

    def regularize(self, ctx: RunContext) -> Trained:
        self.calls.append("regularize")
        return super().regularize(ctx)

    def select(self, ctx: RunContext, trained: Trained) -> dict[int, torch.Tensor]:
        self.calls.append("select")
        return {i: torch.arange(2) for i in range(3)}

    def remove(
        self, ctx: RunContext, trained: Trained, selection: dict[int, torch.Tensor]
    ) -> Pruned:
        self.calls.append("remove")
        return Pruned(*remove_channels(trained.model, selection))

    def describe(
        self, ctx: RunContext, trained: Trained, selection: dict[int, torch.Tensor], pruned: Pruned
    ) -> Description:
        self.calls.append("describe")
        values = [[1.0, 2.0, 3.0, 4.0]] * 3
        return Description({"label": "x", "values": values, "threshold": 2.5}, {"k": 1}, ["n"])


class FirstTwoUntimed(FirstTwo):
    """The same, with select and remove not timed separately (as AutoPruner)."""

    prune_phase = None


def test_every_method_has_one_implementation() -> None:
    assert tuple(pipeline.IMPLEMENTATIONS) == METHODS
    assert all(pipeline.get_method(m).name == m for m in METHODS)
    with pytest.raises(PruningError, match="unknown method 'magic'"):
        pipeline.get_method("magic")


def test_steps_run_in_order_with_common_timing(
    digits: Digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FirstTwo()
    monkeypatch.setitem(pipeline.IMPLEMENTATIONS, "slimming", fake)
    baselines = BaselineCache()
    result = pipeline.run_method("slimming", TINY, digits, baselines)
    assert fake.calls == ["check", "regularize", "select", "remove", "describe"]
    assert list(result.seconds) == ["dense", "sparsity_training", "prune", "finetune"]
    assert set(result.accuracy) == {"dense", "sparsity_trained", "pruned", "finetuned"}
    assert result.kept == {f"stages.{i}": [0, 1] for i in range(3)}
    assert (result.details, result.notes) == ({"k": 1}, ["n"])
    # The reported dense model is the baseline itself, not pruned in place.
    dense_again, _, _ = baselines.get(
        result.dense_model.spec, digits, TINY.baseline, TINY.seed, False
    )
    for a, b in zip(
        result.dense_model.state_dict().values(), dense_again.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


def test_same_seed_same_result(digits: Digits, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(pipeline.IMPLEMENTATIONS, "slimming", FirstTwo())
    a = pipeline.run_method("slimming", TINY, digits)
    b = pipeline.run_method("slimming", TINY, digits)
    assert a.accuracy == b.accuracy
    for x, y in zip(
        a.pruned_model.state_dict().values(), b.pruned_model.state_dict().values(), strict=True
    ):
        assert torch.equal(x, y)


def test_a_method_without_prune_phase_reports_none(
    digits: Digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(pipeline.IMPLEMENTATIONS, "slimming", FirstTwoUntimed())
    result = pipeline.run_method("slimming", TINY, digits)
    assert list(result.seconds) == ["dense", "sparsity_training", "finetune"]


def test_check_refuses_before_any_training(digits: Digits, monkeypatch: pytest.MonkeyPatch) -> None:
    baselines = BaselineCache()
    cfg = PruneConfig(**{**TINY.__dict__, "ratio": 1.5})
    with pytest.raises(PruningError, match="ratio must lie in"):
        pipeline.run_method("slimming", cfg, digits, baselines)
    assert not baselines._store


def test_reports_are_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(pipeline.IMPLEMENTATIONS, "slimming", FirstTwo())
    (report,) = pipeline.run_methods(["slimming"], TINY, tmp_path)
    folder = tmp_path / "slimming"
    assert (
        json.loads((folder / "report.json").read_text())["kept_indices"] == report["kept_indices"]
    )
    assert (folder / "report.md").read_text().startswith("# Pruning report: slimming")
    assert (folder / "pruning.png").stat().st_size > 0
    assert (tmp_path / "summary.md").read_text().count("\n") == 3
    # Atomic writes go through hidden temporaries next to the target: none may be left.
    assert not list(tmp_path.rglob(".*"))
