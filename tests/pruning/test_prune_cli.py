"""``systolic prune`` end to end: a short run of every method, the report files and fields,
determinism, ``--inspect``, and one clear line with a non-zero exit for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from systolic.cli import main
from systolic.pruning.registry import NAMES, get

#: A few epochs of narrow networks: exercises every code path in seconds (not the benchmark).
TINY = [
    "--epochs",
    "3",
    "--finetune-epochs",
    "2",
    "--width",
    "8",
    "16",
    "16",
    "--quiet",
    "--threads",
    "1",
]


def _check_report(out: Path, method: str) -> None:
    folder = out / method
    for name in (
        "report.json",
        "report.md",
        "pruning.png",
        "pruned/model.json",
        "pruned/weights.pt",
        "dense/model.json",
    ):
        assert (folder / name).is_file(), name
    report = json.loads((folder / "report.json").read_text())
    assert set(report["accuracy"]) == {"dense", "sparsity_trained", "pruned", "finetuned"}
    assert all(0.0 <= v <= 100.0 for v in report["accuracy"].values())
    assert report["macs"]["dense"] == sum(g["macs"] for g in report["gemms"]["before"])
    assert report["macs"]["pruned"] == sum(g["macs"] for g in report["gemms"]["after"])
    # SE removes only channels squeezed for every sample: after 3 epochs there may be none.
    assert report["macs"]["pruned"] <= report["macs"]["dense"]
    if method != "se":
        assert report["macs"]["pruned"] < report["macs"]["dense"]
        assert report["params"]["pruned"] < report["params"]["dense"]
    assert report["seconds"]["total"] > 0
    assert "MACs" in (folder / "report.md").read_text()
    assert ("targets" in report) == get(method).targets
    saved = json.loads((folder / "pruned" / "model.json").read_text())
    assert report["kept_indices"] == saved["kept_indices"]
    if get(method).removes == "channels":
        widths = [s["out_channels"] for s in saved["spec"]["stages"]]
        assert widths == [len(v) for v in report["kept_indices"].values()]


@pytest.mark.slow  # trains CNNs: not in make unit
def test_all_methods_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # One test rather than a shared fixture: under pytest-xdist a module fixture would be
    # rebuilt on every worker that runs one of its users.
    assert main(["prune", "--method", "all", "--out", str(tmp_path), *TINY]) == 0
    for method in NAMES:
        _check_report(tmp_path, method)
    assert (tmp_path / "summary.md").read_text().count("\n") == 2 + len(NAMES)
    capsys.readouterr()
    assert (
        main(["prune", "--inspect", str(tmp_path / "autopruner" / "pruned"), "--threads", "1"]) == 0
    )
    out = capsys.readouterr().out
    assert "MACs at batch 1" in out and "stages.1.conv" in out and "kept stages.0" in out


@pytest.mark.slow  # trains CNNs: not in make unit
def test_runs_are_deterministic(tmp_path: Path) -> None:
    reports = []
    for run in ("a", "b"):
        assert main(["prune", "--method", "slimming", "--out", str(tmp_path / run), *TINY]) == 0
        reports.append(json.loads((tmp_path / run / "slimming" / "report.json").read_text()))
    assert reports[0]["accuracy"] == reports[1]["accuracy"]
    assert reports[0]["kept_indices"] == reports[1]["kept_indices"]
    assert reports[0]["gemms"] == reports[1]["gemms"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ratio", "1.5"], "--ratio: 1.5 is out of range (0, 1)"),
        (["--ratio", "0"], "--ratio: 0 is out of range (0, 1)"),
        (["--ratio", "nan"], "--ratio: nan is not a finite number"),
        (["--keep-rate", "-0.1", "--method", "autopruner"], "--keep-rate: -0.1 is out of range"),
        (["--method", "se", "--model", "plain"], "does not apply to the 'plain' model"),
        (["--method", "slimming", "--model", "shuffle"], "does not apply to the 'shuffle'"),
        (["--epochs", "0"], "--epochs: 0 is out of range 1..10000"),
        (["--ratio", "0.99", "--min-channels", "0"], "would remove every channel"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prune", "--out", str(tmp_path), *TINY, *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("systolic: error: ") and message in err[0]


def test_corrupt_saved_model_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "model.json").write_text("{broken")
    assert main(["prune", "--inspect", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corrupt" in err[0]


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from systolic.cli import build_parser; build_parser(); "
        "sys.exit('torch' in sys.modules or 'sklearn' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
