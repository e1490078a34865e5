"""A user's own model through ``systolic lower --model``: loaded by spec from outside the
repository, every bad model one line (exit 2, nothing written), safe loading of .pt/.pt2/data,
and the torchvision shim on both paths (docs/lowering.md, "Bring your own model")."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from systolic.lowering import user
from systolic.pruning import vision

#: The user's model file, written into tmp_path (a package outside the repository).
USER_MODELS = """
import torch
from torch import nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        y = torch.relu(y + self.dw(y))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class Branchy(Small):
    def forward(self, x):
        if x.sum() > 0:
            return super().forward(x)
        return super().forward(-x)


def small():
    torch.manual_seed(0)
    return Small()


def branchy():
    return Branchy()


def not_a_module():
    return 42


def broken():
    raise ValueError("no weights here")


CONSTANT = 3
"""


def _user_dir(tmp_path: Path) -> Path:
    pkg = tmp_path / "userpkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(USER_MODELS)
    (pkg / "bad_import.py").write_text("raise ImportError('missing dependency xyz')\n")
    return tmp_path


def _lower(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``systolic lower`` run from tmp_path, with the user's package on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    return subprocess.run(
        [sys.executable, "-m", "systolic.cli", "lower", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _save_state(path: Path, state: object) -> Path:
    torch.save(state, path)
    return path


def _small_state() -> dict[str, torch.Tensor]:
    src: dict[str, object] = {}
    exec(compile(USER_MODELS, "nets", "exec"), src)
    return src["small"]().state_dict()  # type: ignore[operator, no-any-return]


# Each bad model: arguments after `lower`, and a piece of the one error line.
BAD = {
    "spec that does not import": (["--model", "nopkg.nets:small"], "no module named 'nopkg'"),
    "module that fails on import": (
        ["--model", "userpkg.bad_import:f"],
        "importing userpkg.bad_import failed: ImportError",
    ),
    "not a spec": (["--model", "userpkg/nets.py"], "neither package.module:function nor"),
    "no such function": (["--model", "userpkg.nets:nothing"], "has no 'nothing'"),
    "not callable": (["--model", "userpkg.nets:CONSTANT"], "not callable"),
    "factory fails": (["--model", "userpkg.nets:broken"], "calling broken() failed: ValueError"),
    "returns no module": (["--model", "userpkg.nets:not_a_module"], "not a torch.nn.Module"),
    "input shape does not match": (
        ["--model", "userpkg.nets:small", "--input-shape", "1,8,8"],
        "does not run on an input of shape (1, 1, 8, 8)",
    ),
    "bad input shape": (["--model", "userpkg.nets:small", "--input-shape", "3,8"], "C,H,W"),
    "missing --input-shape": (["--model", "userpkg.nets:small"], "needs --input-shape"),
    "state dict with missing keys": (["--weights", "missing.pt"], "1 missing key(s)"),
    "state dict with unexpected keys": (["--weights", "extra.pt"], "1 unexpected key(s)"),
    "state dict of another shape": (["--weights", "shape.pt"], "has shape (4, 9)"),
    "weights that are no state dict": (["--weights", "list.pt"], "holds a list"),
    "weights that need unpickling": (["--weights", "evil.pt"], "weights_only=True"),
    "calibration of the wrong shape": (["--calib", "shape.npy"], "images must be N x 3 x 8 x 8"),
    "calibration of the wrong dtype": (["--calib", "text.npy"], "images must be numbers"),
    "calibration holding objects": (["--calib", "objects.npy"], "not a .npy array file"),
    "npz with foreign arrays": (["--calib", "foreign.npz"], "found 'x', 'z'"),
    "labels of the wrong length": (["--calib", "labels.npz"], "labels 'y' must be 4 integers"),
    "more images than data": (["--calib", "ok.npy", "--images", "9"], "holds only 4 images"),
}

BASE = ["--model", "userpkg.nets:small", "--input-shape", "3,8,8"]


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("unpickled",))


def _bad_files(tmp_path: Path) -> None:
    good = _small_state()
    missing = dict(good)
    missing.pop("fc.bias")
    _save_state(tmp_path / "missing.pt", missing)
    _save_state(tmp_path / "extra.pt", {**good, "head.weight": torch.zeros(2)})
    _save_state(tmp_path / "shape.pt", {**good, "fc.weight": torch.zeros(4, 9)})
    _save_state(tmp_path / "list.pt", [torch.zeros(1)])
    _save_state(tmp_path / "evil.pt", {"x": Evil()})
    np.save(tmp_path / "shape.npy", np.zeros((4, 3, 8, 9), np.float32))
    np.save(tmp_path / "text.npy", np.full((4, 3, 8, 8), "a"))
    np.save(tmp_path / "objects.npy", np.array([{}, {}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "foreign.npz", x=np.zeros((4, 3, 8, 8)), z=np.zeros(3))
    np.savez(tmp_path / "labels.npz", x=np.zeros((4, 3, 8, 8)), y=np.zeros(3, np.int64))
    np.save(tmp_path / "ok.npy", np.zeros((4, 3, 8, 8), np.float32))


@pytest.fixture(scope="module")
def user_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = _user_dir(tmp_path_factory.mktemp("user"))
    _bad_files(tmp)
    return tmp


def _lower_here(
    user_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """``systolic lower`` in this process, from user_tmp with it on sys.path (cheap: no new
    interpreter per case; the subprocess test below covers the real command from outside)."""
    from systolic.cli import main

    monkeypatch.chdir(user_tmp)
    monkeypatch.syspath_prepend(str(user_tmp))
    # Another test of this process may have imported a package of the same name from its own
    # folder: the cases must import this folder's (the real command is a fresh process).
    for name in [m for m in sys.modules if m == "userpkg" or m.startswith("userpkg.")]:
        monkeypatch.delitem(sys.modules, name)
    status = main(["lower", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_model_is_one_line_exit_2_nothing_written(
    user_tmp: Path, case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args, needle = BAD[case]
    if args[0] != "--model":
        args = [*BASE, *args]
    elif "--input-shape" not in args and case != "missing --input-shape":
        args = [*args, "--input-shape", "3,8,8"]
    out = user_tmp / f"out-{case.replace(' ', '-')}"
    status, stdout, stderr = _lower_here(user_tmp, monkeypatch, capsys, *args, "--out", str(out))
    lines = stderr.strip().splitlines()
    assert status == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), stderr
    assert needle in lines[0], lines[0]
    assert "unpickled" not in stdout
    assert not out.exists()


def test_a_bad_model_from_outside_the_repository_is_one_line(tmp_path: Path) -> None:
    """The real command, from a folder outside the repository, the model by spec on
    PYTHONPATH: the first failure (its shape) is one line, exit 2, no output folder."""
    _user_dir(tmp_path)
    proc = _lower(
        tmp_path, "--model", "userpkg.nets:small", "--input-shape", "3,5,5,", "--out", "out"
    )
    assert proc.returncode == 2 and "C,H,W" in proc.stderr
    proc = _lower(
        tmp_path, "--model", "userpkg.nets:small", "--input-shape", "1,8,8", "--out", "out"
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "small does not run on an input" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_dataset_loaders_read_images_and_labels(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((5, 3, 4, 4)).astype(np.float64)
    y = np.arange(5)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    torch.save({"x": torch.from_numpy(x), "y": torch.from_numpy(y)}, tmp_path / "d.pt")
    for name in ("d.npz", "d.pt"):
        data = user.load_dataset(tmp_path / name, (3, 4, 4))
        assert data.x.dtype == np.float32 and np.allclose(data.x, x)
        assert data.y is not None and (data.y == y).all()


def test_synthetic_calibration_is_the_documented_set() -> None:
    data = user.synthetic_calibration((3, 4, 4))
    want = np.random.default_rng(0).standard_normal((16, 3, 4, 4)).astype(np.float32)
    assert data.y is None and np.array_equal(data.x, want)


# ------------------------------------------------------------------------------------------------
# .pt2 programs
# ------------------------------------------------------------------------------------------------


def _program(tmp_path: Path, dynamic: bool = False) -> Path:
    src: dict[str, object] = {}
    exec(compile(USER_MODELS, "nets", "exec"), src)
    model = src["small"]().eval()  # type: ignore[operator]
    shapes = None
    if dynamic:
        shapes = ({2: torch.export.Dim("h", min=4, max=64)},)
    ep = torch.export.export(model, (torch.zeros(1, 3, 8, 8),), dynamic_shapes=shapes)
    path = tmp_path / ("dyn.pt2" if dynamic else "prog.pt2")
    torch.export.save(ep, path)
    return path


def _rewrite(src: Path, dst: Path, edit: dict[str, bytes | None]) -> Path:
    """A copy of the archive ``src`` with entries replaced (None: removed) or added."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        top = zin.namelist()[0].split("/")[0]
        for info in zin.infolist():
            rest = info.filename[len(top) + 1 :]
            if rest in edit:
                continue
            zout.writestr(info.filename, zin.read(info.filename))
        for rest, data in edit.items():
            if data is not None:
                zout.writestr(f"{top}/{rest}", data)
    return dst


def test_pt2_program_loads(tmp_path: Path) -> None:
    model = user.load_program(_program(tmp_path), (3, 8, 8))
    out = user.check_runs(model, (3, 8, 8))
    assert tuple(out.shape) == (1, 4)


def test_pt2_program_lowers_like_its_module(tmp_path: Path) -> None:
    """A saved torch.export program and the factory it was exported from give the same
    workload (layers, weights, scales), and loading the program prints nothing."""
    from systolic.engine.workload import load_workload

    _user_dir(tmp_path)
    path = _program(tmp_path)
    by_program = _lower(tmp_path, "--model", path.name, "--input-shape", "3,8,8", "--out", "p")
    by_spec = _lower(tmp_path, *BASE, "--name", "prog", "--out", "s")
    assert by_program.returncode == 0 and by_spec.returncode == 0, by_program.stderr
    assert by_program.stderr == "", by_program.stderr
    a = load_workload(tmp_path / "p" / "prog.npz").net
    b = load_workload(tmp_path / "s" / "prog.npz").net
    assert [g.name for g in a.layers] == [g.name for g in b.layers] == ["conv", "dw", "fc"]
    for g, h in zip(a.layers, b.layers, strict=True):
        assert np.array_equal(g.weight, h.weight) and np.array_equal(g.bias, h.bias)
        assert (g.in_scale, g.out_scale) == (h.in_scale, h.out_scale)


def test_pt2_that_would_unpickle_is_refused_before_loading(tmp_path: Path) -> None:
    path = _program(tmp_path)
    with zipfile.ZipFile(path) as z:
        cfg_name = next(n for n in z.namelist() if n.endswith("model_weights_config.json"))
        cfg = json.loads(z.read(cfg_name))
    first = next(iter(cfg["config"]))
    cfg["config"][first]["use_pickle"] = True
    evil = io.BytesIO()
    torch.save(Evil(), evil)
    cases = {
        "pickled weight": {"data/weights/model_weights_config.json": json.dumps(cfg).encode()},
        "opaque object": {"data/constants/opaque_obj_0": b"x"},
        "legacy weights": {"data/weights/model.pt": evil.getvalue()},
        "unsafe sample inputs": {"data/sample_inputs/model.pt": evil.getvalue()},
    }
    for i, (case, edit) in enumerate(cases.items()):
        bad = _rewrite(path, tmp_path / f"bad{i}.pt2", edit)
        with pytest.raises(user.UserModelError) as err:
            user.load_program(bad, (3, 8, 8))
        assert "unpickle" in str(err.value), case


def test_pt2_with_dynamic_shapes_or_another_shape_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(user.UserModelError, match="dynamic shapes"):
        user.load_program(_program(tmp_path, dynamic=True), (3, 8, 8))
    with pytest.raises(user.UserModelError, match=r"not \(N, 3, 16, 16\)"):
        user.load_program(_program(tmp_path), (3, 16, 16))


# ------------------------------------------------------------------------------------------------
# torchvision: the shim steps in only for the CUDA wheel's missing-operator error
# ------------------------------------------------------------------------------------------------

#: Each runs in a fresh interpreter: the stub operators, once defined, stay for the process.
SHIM_WORKING = """
import sys, torch
from systolic.pruning import vision
tv = vision.import_torchvision()
print(tv.__file__.startswith(sys.argv[1]), vision.stubs_defined())
"""


def test_a_working_torchvision_is_used_unchanged(tmp_path: Path) -> None:
    """A user's own matching install (simulated: a torchvision that imports) gets no stubs."""
    fake = tmp_path / "torchvision"
    fake.mkdir()
    (fake / "__init__.py").write_text("__version__ = 'user-build'\n")
    proc = subprocess.run(
        [sys.executable, "-c", SHIM_WORKING, str(fake)],
        env=dict(os.environ, PYTHONPATH=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    found, stubs = proc.stdout.split()
    assert (found, stubs) == ("True", "False")


def test_another_torchvision_failure_is_raised_unchanged(tmp_path: Path) -> None:
    fake = tmp_path / "torchvision"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise RuntimeError('operator torchvision::roi_align x')\n")
    code = (
        "from systolic.pruning import vision\n"
        "try:\n    vision.import_torchvision()\n"
        "except RuntimeError as e:\n    print(type(e).__name__, e, vision.stubs_defined())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.strip() == "RuntimeError operator torchvision::roi_align x False"


def _wheel_fails() -> bool:
    code = "import torchvision"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return vision.MISSING_OPS_ERROR in proc.stderr


def test_the_cuda_wheel_builds_models_on_stub_operators() -> None:
    """The wheel of these machines (torchvision 0.28.0 from PyPI next to the CPU torch): the
    plain import fails with the missing-nms error, the shim's import builds resnet18, and the
    stubs raise when called."""
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed (pip install 'systolic[vision]')")
    if not _wheel_fails():
        pytest.skip("this torchvision imports on its own (a matching install)")
    code = (
        "import torch\n"
        "from systolic.pruning import vision\n"
        "tv = vision.import_torchvision()\n"
        "m = tv.models.resnet18(num_classes=10).eval()\n"
        "print(tuple(m(torch.zeros(1, 3, 32, 32)).shape), vision.stubs_defined())\n"
        "try:\n    torch.ops.torchvision.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)\n"
        "except vision.VisionOpsMissing as e:\n    print('stub raised')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["(1, 10) True", "stub raised"]


# ------------------------------------------------------------------------------------------------
# End to end: the three commands of README's "Bring your own model", and the topology files
# ------------------------------------------------------------------------------------------------


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(tmp_path), SYSTOLIC_BUILD_DIR=str(tmp_path / "build"))
    return subprocess.run(
        [sys.executable, "-m", "systolic.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.sim
def test_own_model_lowered_run_on_the_rtl_and_reported(tmp_path: Path) -> None:
    """lower (from outside the repository, by spec), sim --workload on Icarus 4x4, report with
    the run: RTL cycles equal the model's, every layer bit-exact; the topology files round-trip
    to the workload's GEMM shapes."""
    from systolic.engine.workload import load_workload
    from systolic.lowering.topology import read_topology

    _user_dir(tmp_path)
    name = f"usersmall{os.getpid()}"
    proc = _cli(
        tmp_path,
        "lower",
        *BASE,
        "--images",
        "2",
        "--name",
        name,
        "--rows",
        "4",
        "--cols",
        "4",
        "--out",
        "lowered",
    )
    assert proc.returncode == 0, proc.stderr
    wl_path = tmp_path / "lowered" / f"{name}.npz"
    wl = load_workload(wl_path)
    assert [layer.name for layer in wl.net.layers] == ["conv", "dw", "fc"]
    assert wl.meta["fake_quant_check"]["prediction_agreement"] == 1.0
    proc = _cli(tmp_path, "sim", "--workload", str(wl_path), "--rows", "4", "--cols", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = next((tmp_path / "build" / "workloads").glob(f"*{name}*.json"))
    proc = _cli(
        tmp_path,
        "report",
        str(wl_path),
        "--run",
        str(run),
        "--rows",
        "4",
        "--cols",
        "4",
        "--out",
        "report",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    layers = doc["models"][0]["layers"]
    assert all(r["rtl_cycles"] == r["model_cycles"] and r["bit_exact"] for r in layers)
    assert doc["models"][0]["total"]["bit_exact"] is True
    assert (tmp_path / "report" / "cycles.png").stat().st_size > 0
    gemm_csv = tmp_path / "lowered" / f"{name}.scalesim_gemm.csv"
    assert [s[1:] for s in read_topology(gemm_csv)] == [g.shape for g in wl.all_gemms]
    conv = read_topology(tmp_path / "lowered" / f"{name}.scalesim_conv.csv")
    per_image = [(g.shape[0] // 2, *g.shape[1:]) for g in wl.all_gemms]
    assert [s[1:] for s in conv] == per_image


GEMM_HEAD = "Layer Name, M, N, K,\n"
CONV_HEAD = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,\n"
)
#: Bad topology files: text, a piece of the one error line.
BAD_TOPOLOGY = {
    "foreign header": ("a, b, c,\nx, 1, 2, 3,\n", "the header is neither"),
    "empty": ("", "empty"),
    "header only": (GEMM_HEAD, "no layers"),
    "missing cell": (GEMM_HEAD + "l1, 4, 4,\n", "line 2: 3 cells"),
    "not a number": (GEMM_HEAD + "l1, 4, x, 4,\n", "line 2: n must be an integer"),
    "zero": (GEMM_HEAD + "l1, 0, 4, 4,\n", "line 2: m must be an integer"),
    "negative": (GEMM_HEAD + "l1, 4, -4, 4,\n", "line 2: n must be"),
    "float": (GEMM_HEAD + "l1, 4, 4.5, 4,\n", "line 2: n must be"),
    "path as name": (GEMM_HEAD + "../x, 4, 4, 4,\n", "line 2: layer name"),
    "repeated name": (GEMM_HEAD + "a, 4, 4, 4,\nA, 4, 4, 4,\n", "layer name"),
    "filter larger than ifmap": (CONV_HEAD + "c, 2, 2, 3, 3, 1, 1, 1,\n", "line 2: the filter"),
    "binary": ("\udcff", "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOPOLOGY))
def test_bad_topology_is_one_line(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from systolic.cli import main

    text, needle = BAD_TOPOLOGY[case]
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert main(["topology", str(path), "--rows", "4", "--cols", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_topology_cycle_table_from_shapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A conv row becomes SCALE-Sim's GEMM (M = E*F, K = R*S*C, N = filters); the table's model
    cycles are models.tiling's."""
    from systolic.cli import main
    from systolic.models.params import ArrayParams
    from systolic.models.tiling import gemm_cycles, scalesim_os_cycles

    path = tmp_path / "t.csv"
    path.write_text(CONV_HEAD + "conv1, 10, 10, 3, 3, 2, 5, 2,\n")
    assert main(["topology", str(path), "--rows", "4", "--cols", "4"]) == 0
    out = capsys.readouterr().out
    p = ArrayParams(4, 4)
    row = next(line for line in out.splitlines() if line.startswith("| conv1 "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:5] == ["16", "18", "5"]  # E = F = (10 - 3) // 2 + 1 = 4
    assert cells[7] == f"{gemm_cycles(16, 18, 5, p):,}"
    assert cells[9] == f"{scalesim_os_cycles(16, 18, 5, p):,}"


def test_layer_model_cycles_equal_the_streamed_schedule() -> None:
    """The report's per-layer cycles (groups streamed back to back) equal the schedule the
    workload runs build (tb.workload.layer_stream)."""
    from systolic.lowering.report import layer_model_cycles
    from systolic.models.params import ArrayParams
    from systolic.models.tiling import stream_cycles
    from systolic.tb.workload import layer_stream

    rng = np.random.default_rng(0)
    for m, k, n, g, p in [
        (9, 5, 3, 4, ArrayParams(4, 4)),
        (5, 2, 7, 1, ArrayParams(3, 2)),
        (33, 9, 1, 8, ArrayParams(4, 4, mul_reg=1)),
    ]:
        pairs = [(rng.integers(-3, 3, (m, k)), rng.integers(-3, 3, (k, n))) for _ in range(g)]
        stream = layer_stream(pairs, p)
        assert layer_model_cycles(m, k, n, g, p) == stream_cycles(stream.products)


@pytest.mark.nightly
def test_resnet18_lowers_end_to_end_through_the_cli(tmp_path: Path) -> None:
    """Unmodified torchvision resnet18 at 32x32 by spec (through the torchvision shim here)."""
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed (pip install 'systolic[vision]')")
    proc = _cli(
        tmp_path,
        "lower",
        "--model",
        "torchvision.models:resnet18",
        "--input-shape",
        "3,32,32",
        "--rows",
        "4",
        "--cols",
        "4",
        "--out",
        "r18",
    )
    assert proc.returncode == 0, proc.stderr
    from systolic.engine.workload import load_workload

    wl = load_workload(tmp_path / "r18" / "resnet18.npz")
    assert len(wl.net.layers) == 21


def test_readme_three_commands_parse_and_name_the_run_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's "Bring your own model": the three commands are valid command lines, and the
    results file the report reads is the one systolic sim --workload writes for that workload
    (the same commands run end to end above on a small model, and resnet18's lower nightly)."""
    import shlex

    from systolic.cli import build_parser

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("## Bring your own model", 1)[1].split("```sh\n", 1)[1].split("```")[0]
    cmds = [shlex.split(line)[1:] for line in block.strip().splitlines()]
    assert [c[0] for c in cmds] == ["lower", "sim", "report"]
    monkeypatch.chdir(tmp_path)  # the files the later commands read, as the earlier write them
    for path in ("build/r18/resnet18.npz", "build/workloads/workload_resnet18_e2e.json"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    for argv in cmds:
        build_parser().parse_args(argv)
    stem = Path(cmds[1][cmds[1].index("--workload") + 1]).stem
    assert cmds[2][cmds[2].index("--run") + 1] == f"build/workloads/workload_{stem}_e2e.json"
