"""``systolic prune --model package.module:function``: a user's model (a file in tmp_path, run
from outside the repository) pruned through the dependency graph, saved, lowered with ``systolic
lower --model DIR`` and compared with ``systolic report --pruned``; every bad input one line,
exit 2, nothing written; the one loader of a user's model behind both layers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from systolic.lowering import user
from systolic.pruning import depgraph_io, factory
from systolic.pruning.errors import PruningError

NETS = """
import torch
from torch import nn


class Small(nn.Module):
    def __init__(self, bn=True):
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
        self.c1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), norm(16), nn.ReLU())
        self.c2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1, stride=2), norm(32), nn.ReLU())
        self.c3 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), norm(32), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        y = self.c2(self.c1(x))
        y = y + self.c3(y)  # a residual add: c2 and c3 prune as one group
        return self.fc(torch.flatten(self.pool(y), 1))


def small():
    torch.manual_seed(0)
    m = Small()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.weight.data.uniform_(0.1, 1.0)
    return m


def nobn():
    torch.manual_seed(0)
    return Small(bn=False)
"""


@pytest.fixture(autouse=True)
def _fresh_userpkg(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each in-process case imports its own folder's ``userpkg`` (another test of this process
    may have imported one of the same name; the real command is a fresh process)."""
    for name in [m for m in sys.modules if m == "userpkg" or m.startswith("userpkg.")]:
        monkeypatch.delitem(sys.modules, name)


BASE = ["--model", "userpkg.nets:small", "--input-shape", "3,16,16"]


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("prune_model")
    pkg = tmp / "userpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(NETS)
    ns: dict[str, object] = {}
    exec(compile(NETS, "nets", "exec"), ns)
    state = ns["small"]().state_dict()  # type: ignore[operator]
    torch.save(state, tmp / "good.pt")
    torch.save({k: v for k, v in state.items() if k != "fc.bias"}, tmp / "missing.pt")
    np.savez(tmp / "shape.npz", x=np.zeros((20, 1, 8, 8), np.float32), y=np.zeros(20, np.int64))
    return tmp


def _systolic(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, from ``cwd`` (outside the repository), the user's package on
    PYTHONPATH."""
    return subprocess.run(
        [sys.executable, "-m", "systolic.cli", *args],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(cwd)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_prune_lower_and_report_a_users_model(user_dir: Path) -> None:
    """prune --model, lower the dense and the pruned model, report: fewer model cycles."""
    array = ["--rows", "4", "--cols", "4"]
    steps = [
        ("prune", *BASE, "--method", "slimming", "--amount", "0.5", "--round-to", "4", *array,
         "--out", "pruned"),
        ("lower", *BASE, *array, "--out", "dense-wl"),
        ("lower", "--model", "pruned", *array, "--out", "pruned-wl"),
        ("report", "dense-wl/small.npz", "--pruned", "pruned-wl/small-pruned.npz", *array,
         "--out", "rep"),
    ]  # fmt: skip
    for step in steps:
        proc = _systolic(user_dir, *step)
        assert proc.returncode == 0, (step, proc.stderr)
    rec = json.loads((user_dir / "pruned" / "report.json").read_text())
    assert rec["cycles"]["after"] < rec["cycles"]["before"]
    assert {g["group"]: g["after"] % 4 for g in rec["groups"]} == {"c1.0": 0, "c3.0": 0}
    md = (user_dir / "pruned" / "report.md").read_text()
    assert all(w in md for w in ("model cycles", "MACs", "parameters", "Channels per group"))
    rep = json.loads((user_dir / "rep" / "report.json").read_text())
    dense, pruned = (m["total"]["model_cycles"] for m in rep["models"])
    assert pruned == rec["cycles"]["after"] and dense == rec["cycles"]["before"]
    assert pruned < dense


# Each bad input: arguments after `prune`, and a piece of its one error line.
BAD = {
    "a .pt2 program": (["--model", "p.pt2", "--input-shape", "3,16,16"], "cannot be rebuilt"),
    "neither family nor spec": (["--model", "resnet18"], "neither a model family (plain"),
    "missing --input-shape": (["--model", "userpkg.nets:small"], "needs --input-shape"),
    "bad --input-shape": (["--model", "userpkg.nets:small", "--input-shape", "3,16"], "C,H,W"),
    "--method all": ([*BASE, "--method", "all"], "name one method"),
    "--criterion of another method": (
        [*BASE, "--method", "autopruner", "--criterion", "l1"],
        "--criterion applies to --method slimming",
    ),
    "a digits option": ([*BASE, "--ratio", "0.3"], "--ratio applies to the digits families"),
    "--amount and --target": ([*BASE, "--amount", "0.3", "--target", "2"], "not allowed with"),
    "amount out of range": ([*BASE, "--amount", "1"], "--amount"),
    "--weights with a family": (["--model", "plain", "--weights", "missing.pt"], "applies to"),
    "spec that does not import": (
        ["--model", "nopkg.nets:small", "--input-shape", "3,16,16"],
        "no module named 'nopkg'",
    ),
    "no such function": (["--model", "userpkg.nets:nothing", "--input-shape", "3,16,16"], "has no"),
    "input shape does not match": (
        ["--model", "userpkg.nets:small", "--input-shape", "1,16,16"],
        "does not run on an input of shape (1, 1, 16, 16)",
    ),
    "weights that do not fit": ([*BASE, "--weights", "missing.pt"], "1 missing key(s)"),
    "data of the wrong shape": (
        [*BASE, "--method", "autopruner", "--data", "shape.npz"],
        "samples have shape (1, 8, 8)",
    ),
    "slimming without BN": (
        ["--model", "userpkg.nets:nobn", "--input-shape", "3,16,16"],
        "use the L1-magnitude criterion instead (--criterion l1)",
    ),
    "autopruner without data": ([*BASE, "--method", "autopruner"], "give a dataset"),
    "se without SE blocks": ([*BASE, "--method", "se"], "needs squeeze-excitation blocks"),
    "shuffle without grouped convs": ([*BASE, "--method", "shuffle"], "needs grouped convs"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_nothing_written(
    user_dir: Path,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from systolic.cli import main

    args, needle = BAD[case]
    out = user_dir / f"out-{case.replace(' ', '-')}"
    monkeypatch.chdir(user_dir)
    monkeypatch.syspath_prepend(str(user_dir))
    status = main(["prune", *args, "--quiet", "--out", str(out)])
    stderr = capsys.readouterr().err
    lines = stderr.strip().splitlines()
    assert status == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), stderr
    assert needle in lines[0], lines[0]
    assert not out.exists()


def test_out_that_would_overwrite_an_input_is_refused(
    user_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from systolic.cli import main

    folder = user_dir / "over"
    folder.mkdir()
    weights = folder / "weights.pt"
    weights.write_bytes((user_dir / "good.pt").read_bytes())  # weights that fit
    before = weights.read_bytes()
    monkeypatch.chdir(user_dir)
    monkeypatch.syspath_prepend(str(user_dir))
    status = main(["prune", *BASE, "--weights", str(weights), "--out", str(folder)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "would overwrite the input" in err and "\n" not in err
    assert weights.read_bytes() == before and sorted(folder.iterdir()) == [weights]


def test_lower_refuses_a_folder_not_from_prune(
    user_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from systolic.cli import main

    (user_dir / "empty").mkdir(exist_ok=True)
    monkeypatch.chdir(user_dir)
    status = main(["lower", "--model", "empty", "--out", "never"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "written by systolic prune --model" in err and "\n" not in err
    assert not (user_dir / "never").exists()


# ------------------------------------------------------------------------------------------------
# The one loader of a user's model, behind the saved models and systolic lower --model
# ------------------------------------------------------------------------------------------------


def test_one_loader_and_one_error_class() -> None:
    assert user.UserModelError is factory.UserModelError
    assert user.load_factory is factory.load_factory
    assert issubclass(factory.UserModelError, PruningError)


def test_saved_models_load_their_factory_through_the_one_loader(
    user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saved model's factory gets the thorough loader's one-line reasons (the module that
    is missing, the function it lacks), named with the file it came from."""
    monkeypatch.syspath_prepend(str(user_dir))
    cases = {
        "nopkg.nets:small": "model.json: factory nopkg.nets:small: no module named 'nopkg'",
        "userpkg.nets:nothing": "factory userpkg.nets:nothing: module userpkg.nets has no",
        "userpkg.nets:torch": "userpkg.nets:torch: torch is a module, not callable",
        "os.system": "factory 'os.system' is not package.module:function",
    }
    for spec, needle in cases.items():
        folder = user_dir / f"saved-{spec.replace(':', '-')}"
        folder.mkdir()
        torch.save({}, folder / "weights.pt")
        doc = {
            "format": depgraph_io.FORMAT,
            "version": depgraph_io.VERSION,
            "factory": spec,
            "input_shape": [3, 16, 16],
            "history": [],
            "weights": "weights.pt",
            "weights_sha256": __import__("hashlib")
            .sha256((folder / "weights.pt").read_bytes())
            .hexdigest(),
            "meta": {},
        }
        (folder / "model.json").write_text(json.dumps(doc))
        with pytest.raises(factory.UserModelError) as err:
            depgraph_io.load_pruned(folder)
        assert needle in str(err.value), (spec, str(err.value))


def test_readme_prune_commands_parse_and_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's "Bring your own model", pruning: prune, lower DIR, report --pruned are valid
    command lines and each reads what the one before writes (the same sequence runs end to end
    above on a small model)."""
    import shlex

    from systolic.cli import build_parser

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Bring your own model", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```")[0] for b in section.split("```sh\n")[1:]]
    dense = [shlex.split(line)[1:] for line in blocks[0].strip().splitlines()]
    cmds = [shlex.split(line)[1:] for line in blocks[1].strip().splitlines()]
    assert [c[0] for c in cmds] == ["prune", "lower", "report"]

    def opt(cmd: list[str], flag: str) -> str:
        return cmd[cmd.index(flag) + 1]

    assert opt(cmds[1], "--model") == opt(cmds[0], "--out")
    assert opt(cmds[2], "--pruned") == opt(cmds[1], "--out") + "/resnet18-pruned.npz"
    assert cmds[2][1] == opt(dense[0], "--out") + "/resnet18.npz"
    assert opt(cmds[0], "--round-to") == opt(cmds[0], "--cols") == opt(cmds[1], "--cols")
    monkeypatch.chdir(tmp_path)
    for path in (cmds[2][1], opt(cmds[2], "--pruned")):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    for argv in cmds:
        build_parser().parse_args(argv)
