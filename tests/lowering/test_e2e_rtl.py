"""Small end-to-end runs on both simulators (inside make test): small networks of every family
(plain; SE with its fc layers on the array; ShuffleNet with grouped and depthwise convs, shuffle
and residual) lowered, run on the RTL layer by layer from the RTL's own outputs, and checked
bit-exactly; the replay mode; and a broken RTL that the end-to-end check must catch.

The full-size run (450 images, trained and pruned models) is ``make e2e``, a benchmark.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from systolic.engine import build, toolchain
from systolic.engine.config import RunSettings
from systolic.models.params import ArrayParams, TopParams
from systolic.mutation import catalog as mutants
from systolic.verify.workload import run_workload

from .conftest import images, random_model, randomize_bn

ARRAY = ArrayParams(4, 4)
ROOT = build.BUILD_ROOT / "e2e-tests"
#: (family, images): small enough for Icarus, every kind of layer and host operation.
NETS = (("plain", 5), ("se", 3), ("shuffle-g3", 3))


def _workload(family: str, n: int, folder: Path) -> Path:
    from systolic.engine.workload import build_workload, save_workload
    from systolic.lowering.from_torch import build_quantnet

    net = build_quantnet(random_model(family, seed=4), images(64, 2), f"small-{family}")
    wl = build_workload(net, images(n, 7).numpy(), np.arange(n) % 10)
    return save_workload(wl, folder / f"{family}.npz")


@pytest.fixture(scope="module")
def workloads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("e2e")
    return {fam: _workload(fam, n, folder) for fam, n in NETS}


@pytest.mark.sim
@pytest.mark.parametrize("sim", toolchain.SIMULATORS)
def test_small_networks_end_to_end(sim: str, workloads: dict[str, Path]) -> None:
    for family, path in workloads.items():
        s = run_workload(
            path, RunSettings(sim, build_root=ROOT), ARRAY, "e2e", name=f"{family}-{sim}"
        )
        assert s["passed"], [lr["errors"] for lr in s["layers"] if lr["errors"]]
        assert s["agreement"] == s["images"]
        assert all(lr["rtl_cycles"] == lr["model_cycles"] > 0 for lr in s["layers"])
        kinds = {(lr["kind"], lr["gemms"] > 1) for lr in s["layers"]}
        if family == "shuffle-g3":  # grouped and depthwise convs: one GEMM per group
            assert ("conv", True) in kinds
        if family == "se":  # SE excitation layers run on the array too
            assert any(lr["layer"].endswith("se.fc1") for lr in s["layers"])


@pytest.mark.sim
def test_replay_every_recorded_gemm(workloads: dict[str, Path]) -> None:
    s = run_workload(
        workloads["shuffle-g3"],
        RunSettings("icarus", build_root=ROOT),
        ARRAY,
        "replay",
        name="replay",
    )
    assert s["passed"] and s["mode"] == "replay"
    assert s["total"]["gemms"] == sum(lr["gemms"] for lr in s["layers"]) > len(s["layers"])


@pytest.mark.sim
def test_end_to_end_catches_a_broken_array(workloads: dict[str, Path], tmp_path: Path) -> None:
    """An RTL whose accumulator drops the last K step: every layer's C is wrong; the run fails
    and names the layer, the C entry and the PE."""
    mutant = mutants.by_name("result_misses_last_pair")
    rtl = mutants.apply(mutant, build.RTL_DIR, tmp_path / "rtl")
    s = run_workload(
        workloads["plain"],
        RunSettings("icarus", rtl_dir=rtl, build_root=tmp_path),
        ARRAY,
        "e2e",
        name="mutant",
    )
    assert not s["passed"]
    # (The predictions may still agree: small errors need not change a random net's argmax.)
    # Layer 2 is fed the broken array's outputs, not the reference's: its A differs.
    assert any("A differs from the workload's" in e for e in s["layers"][1]["errors"])
    first = s["layers"][0]["errors"]
    assert any(
        e.startswith("stages.0.conv: ") and "wrong entries" in e and "PE(" in e for e in first
    ), first


#: The top's result port per simulator: Icarus at the RTL's defaults, Verilator with two rows
#: per beat and two shadow registers (one build each).
PORTS = {"icarus": TopParams(ARRAY), "verilator": TopParams(ARRAY, out_rows=2, shadows=2)}


@pytest.mark.sim
@pytest.mark.parametrize("sim", toolchain.SIMULATORS)
def test_small_networks_end_to_end_through_the_accelerator_top(
    sim: str, workloads: dict[str, Path]
) -> None:
    """The same networks through rtl/systolic_accel.v (``--top accel``): every GEMM bit-exact
    from the result beats, every layer's cycles equal to models.accel, the predictions the
    integer reference's."""
    top = PORTS[sim]
    for family, path in workloads.items():
        s = run_workload(
            path, RunSettings(sim, build_root=ROOT), top, "e2e", name=f"{family}-{sim}-accel"
        )
        assert s["passed"] and s["top"] == "accel", [lr["errors"] for lr in s["layers"]]
        assert (s["out_rows"], s["shadows"]) == (top.out_rows, top.shadows)
        assert s["agreement"] == s["images"]
        assert all(
            lr["lower_bound"] <= lr["rtl_cycles"] == lr["model_cycles"] for lr in s["layers"]
        )


@pytest.mark.sim
def test_the_accelerator_run_catches_a_broken_top(
    workloads: dict[str, Path], tmp_path: Path
) -> None:
    """A top that never raises `first` after a fold's tlast keeps accumulating across folds:
    the run through it must fail and name the layer, the entry and the PE."""
    mutant = mutants.by_name("first_not_raised_after_tlast")
    rtl = mutants.apply(mutant, build.RTL_DIR, tmp_path / "rtl")
    s = run_workload(
        workloads["shuffle-g3"],
        RunSettings("icarus", rtl_dir=rtl, build_root=tmp_path),
        TopParams(ARRAY),
        "replay",
        name="broken-top",
    )
    assert not s["passed"]
    errors = [(lr["layer"], e) for lr in s["layers"] for e in lr["errors"]]
    assert any(
        e.startswith(layer) and "wrong entries" in e and "C[" in e and "PE(" in e
        for layer, e in errors
    ), errors


class _UsersCnn(nn.Module):
    """A user's CNN, not one of ours: residual add around a depthwise conv, a two-branch
    concat, max-pool, and a shape branch that torch.fx cannot follow (so it is lowered through
    torch.export: the second front end reaches the RTL too)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.left = nn.Conv2d(8, 4, 1)
        self.right = nn.Conv2d(8, 4, 3, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn(self.stem(x)))
        y = F.relu(y + self.dw(y))
        y = torch.cat([self.left(y), F.relu6(self.right(y))], 1)
        if y.shape[-1] > 8:
            y = F.max_pool2d(y, 2)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


@pytest.fixture(scope="module")
def users_workload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from systolic.engine.workload import build_workload, save_workload
    from systolic.lowering.graph import lower

    torch.manual_seed(5)
    model = randomize_bn(_UsersCnn()).eval()
    x = torch.from_numpy(np.random.default_rng(8).random((3, 3, 12, 12)).astype(np.float32))
    lowered = lower(model, x[:1], x, "users-cnn")
    wl = build_workload(lowered.net, x.numpy(), np.arange(3) % 5)
    return save_workload(wl, tmp_path_factory.mktemp("users") / "users-cnn.npz")


#: (simulator, design): the user's model on the array (Verilator: the Icarus array run is the
#: README's example test) and through the accelerator top on both simulators.
USERS_RUNS = [("verilator", ARRAY), ("icarus", PORTS["icarus"]), ("verilator", PORTS["verilator"])]


@pytest.mark.sim
@pytest.mark.parametrize(
    "sim,design", USERS_RUNS, ids=[f"{s}-{type(d).__name__}" for s, d in USERS_RUNS]
)
def test_a_users_cnn_runs_bit_exact_on_the_array_and_the_top(
    sim: str, design: ArrayParams | TopParams, users_workload: Path
) -> None:
    # One summary file per run: the array's and the top's Verilator runs go side by side on two
    # xdist workers, and a shared name let one read the other's summary.
    name = f"users-{sim}-{type(design).__name__}"
    s = run_workload(users_workload, RunSettings(sim, build_root=ROOT), design, "e2e", name=name)
    assert s["passed"], [lr["errors"] for lr in s["layers"] if lr["errors"]]
    assert s.get("top") == ("accel" if isinstance(design, TopParams) else None)
    assert [lr["layer"] for lr in s["layers"]] == ["stem", "dw", "left", "right", "fc"]
    assert s["agreement"] == s["images"] == 3
    assert all(lr["rtl_cycles"] == lr["model_cycles"] > 0 for lr in s["layers"])
