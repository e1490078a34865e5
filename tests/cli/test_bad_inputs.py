"""The bad-input catalog: every case gets one clear line on stderr, exit status 2, and leaves no
output file behind (half-written or not).

Cases go through the real ``systolic`` command (a subprocess), except the few inputs that only
the Python API takes (parameters handed to a cocotb run, a build that does not match them).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import systolic.rtl
from systolic.errors import SystolicError
from systolic.models import ArrayParams, EdgeStimulus, Product, schedule
from systolic.models.tiling import assemble, gemm_cycles


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    needles: tuple[str, ...]
    #: Settings of the case's environment ({tmp} is the catalog's folder).
    env: tuple[tuple[str, str], ...] = ()


def files(tmp: Path) -> dict[str, Path]:
    """Matrix files, good and bad, for the gemm cases."""
    rng = np.random.default_rng(0)
    arrays = {
        "a.npy": rng.integers(-128, 128, size=(5, 4)),
        "b.npy": rng.integers(-128, 128, size=(4, 3)),
        "b_k3.npy": rng.integers(-128, 128, size=(3, 3)),
        "float.npy": rng.random((5, 4)),
        "big.npy": np.full((5, 4), 200),
        "small.npy": np.full((5, 4), -129),
        "vec.npy": np.arange(4),
        "cube.npy": np.zeros((2, 2, 2), int),
        "empty.npy": np.zeros((5, 0), int),
    }
    out = {}
    for name, arr in arrays.items():
        out[name] = tmp / name
        np.save(out[name], arr)
    (tmp / "trunc.npy").write_bytes(out["a.npy"].read_bytes()[:60])
    (tmp / "text.npy").write_text("not a numpy file")
    (tmp / "words.csv").write_text("1,2,x\n3,4,5\n")
    (tmp / "ragged.csv").write_text("1,2,3\n4,5\n")
    (tmp / "a.mat").write_text("1 2\n")
    with open(tmp / "pickle.npy", "wb") as fh:  # an object array needs pickle to load
        np.save(fh, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (tmp / "pickled.pkl").write_bytes(pickle.dumps([1, 2]))
    np.savez(tmp / "w.npz", x=np.zeros(1))  # a workload path (refused before it is read)
    inner_name_files(tmp)
    wave_files(tmp)
    broken = tmp / "rtl-broken"  # an RTL folder whose PE lost its endmodule
    broken.mkdir()
    for src in sorted(Path(systolic.rtl.directory()).glob("*.v")):
        text = src.read_text()
        (broken / src.name).write_text(
            text.replace("endmodule", "", 1) if "pe" in src.name else text
        )
    return out


def wave_files(tmp: Path) -> None:
    """Wave files that contradict themselves, and a stimulus next to a wave file that is not
    the project's (a pickle): from a real 2x2 Icarus run."""
    from systolic.engine import config, runner
    from systolic.engine.config import RunSettings
    from systolic.waves.stimfile import stim_dir

    # The worker's other tests must see the settings as they were: a context, undone after.
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(config.COV_DIR, raising=False)  # this run's coverage is not the tier's
        mp.setenv(config.WAVES_DIR, str(tmp / "waves"))
        settings = RunSettings("icarus", waves=True, build_root=tmp / "wave-build")
        res = runner.run(settings, ArrayParams(2, 2), ["test_lecture_3x3"])
    assert res.passed, res.summary()
    vcd = res.waves["test_lecture_3x3"]
    text = vcd.read_text()
    twice = text.replace("$upscope $end\n", "$upscope $end\n$upscope $end\n$upscope $end\n", 1)
    (tmp / "twice.vcd").write_text(twice)
    (tmp / "cut.vcd").write_text(text[: len(text) // 3])
    pickled = tmp / "pickled" / vcd.name
    pickled.parent.mkdir()
    pickled.write_text(text)
    stims = stim_dir(pickled)
    stims.mkdir()
    for old in stim_dir(vcd).glob("*.npz"):
        (stims / old.name).write_bytes(pickle.dumps({"a": [1, 2]}))


def inner_name_files(tmp: Path) -> None:
    """Files whose contents name paths (issue 21): workloads with a layer named to land in
    ``{tmp}/out`` (the folder every case checks), coverage files, a saved model."""
    from systolic.engine.workload import build_workload, save_workload
    from systolic.models.network import GemmLayer, HostOp, QuantNet

    rng = np.random.default_rng(0)
    w, bias = rng.integers(-3, 4, (2, 4)).astype(np.int8), np.zeros(2, np.int32)
    fc = GemmLayer("fc", "linear", "flat", "logits", w, np.ones(2), bias, 1.0, None)
    net = QuantNet("t", (1, 2, 2), 1.0, [HostOp("flatten", "flatten", "input", "flat"), fc])
    save_workload(build_workload(net, rng.random((1, 1, 2, 2)), np.zeros(1)), tmp / "wl.npz")
    for stem, layer in (("wl-traversal", "../../../out/x"), ("wl-absolute", f"{tmp}/out/abs")):
        with np.load(tmp / "wl.npz") as npz:  # renamed after saving: the writer refuses it
            arrays = {k.replace(".fc", f".{layer}"): npz[k] for k in npz.files}
        arrays["meta"] = np.frombuffer(
            arrays["meta"].tobytes().replace(b'"name": "fc"', f'"name": "{layer}"'.encode()),
            np.uint8,
        )
        np.savez(tmp / f"{stem}.npz", **arrays)
    laughs = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    for folder, text in (("cov-bomb", "\n".join(laughs)), ("cov-traversal", "../../x: {}")):
        (tmp / folder).mkdir()
        (tmp / folder / "run.yml").write_text(text + "\n")
    (tmp / "model-outside").mkdir()
    spec = {"kind": "cnn", "stages": [{"out_channels": 4, "pool": False, "se_hidden": None}]}
    doc = {"format": "systolic-pruned-model", "version": 1, "spec": spec, "weights": "../x.pt"}
    (tmp / "model-outside" / "model.json").write_text(json.dumps(doc))


def gemm(a: str, b: str = "b.npy", *extra: str) -> tuple[str, ...]:
    return (
        "gemm",
        "--a",
        f"{{tmp}}/{a}",
        "--b",
        f"{{tmp}}/{b}",
        "--out",
        "{tmp}/out/c.npy",
        *extra,
    )


CATALOG = [
    # Array parameters and simulator choice.
    Case("rows-zero", ("sim", "--rows", "0"), ("ROWS=0",)),
    Case("rows-too-big", ("sim", "--rows", "33", "--cols", "2"), ("ROWS=33",)),
    Case("cols-too-big", ("sim", "--rows", "2", "--cols", "33"), ("COLS=33",)),
    Case("data-w-17", ("sim", "--rows", "2", "--data-w", "17"), ("DATA_W=17",)),
    Case("data-w-1", ("sim", "--rows", "2", "--data-w", "1"), ("DATA_W=1",)),
    Case("acc-w-narrow", ("sim", "--rows", "2", "--acc-w", "12"), ("ACC_W=12", "2*DATA_W=16")),
    Case("acc-w-65", ("sim", "--rows", "2", "--acc-w", "65"), ("ACC_W=65",)),
    Case("unknown-sim", ("sim", "--rows", "2", "--sim", "modelsim"), ("invalid choice", "icarus")),
    Case("bad-size-list", ("sim", "--sizes", "4by4"), ("bad array size",)),
    Case("unknown-test", ("run", "--rows", "2", "--test", "test_nope"), ("no cocotb test",)),
    Case("gemm-file-test", ("run", "--rows", "2", "--test", "test_gemm_file"), ("no cocotb test",)),
    Case("unknown-mutant", ("mutate", "--only", "nope"), ("unknown mutant",)),
    Case("top-without-workload", ("sim", "--top", "accel"), ("--top applies to --workload",)),
    Case("unknown-top", ("sim", "--top", "npu"), ("invalid choice", "accel")),
    Case(
        "port-without-workload", ("sim", "--out-rows", "2"), ("--out-rows applies to --workload",)
    ),
    Case(
        "port-without-top",
        ("e2e", "--shadows", "2", "--out", "{tmp}/e2e", "--prune-dir", "{tmp}/pr"),
        ("--shadows applies to --top accel",),
    ),
    Case(
        "port-wider-than-the-array",
        (
            "e2e",
            "--top",
            "accel",
            "--rows",
            "4",
            "--out-rows",
            "5",
            "--out",
            "{tmp}/e2e",
            "--prune-dir",
            "{tmp}/pr",
        ),
        ("rows per result beat must be 1..4",),
    ),
    Case("bench-port-too-wide", ("bench", "--sizes", "4x4", "--out-rows", "8"), ("does not fit",)),
    Case(
        "sim-port-wider-than-the-array",
        ("sim", "--workload", "{tmp}/w.npz", "--top", "accel", "--rows", "4", "--out-rows", "5"),
        ("rows per result beat must be 1..4",),
    ),
    # Names inside input files (issue 21): they never decide where a file is written.
    Case(
        "workload-layer-traversal",
        ("sim", "--workload", "{tmp}/wl-traversal.npz", "--top", "accel", "--mode", "replay"),
        ("wl-traversal.npz: layer name '../../../out/x'",),
    ),
    Case(
        "workload-layer-absolute",
        ("sim", "--workload", "{tmp}/wl-absolute.npz", "--top", "accel", "--mode", "replay"),
        ("wl-absolute.npz: layer name '/",),
    ),
    Case("coverage-yaml-bomb", ("coverage", "{tmp}/cov-bomb"), ("anchors and aliases",)),
    Case("coverage-point-traversal", ("coverage", "{tmp}/cov-traversal"), ("'../../x'",)),
    Case(
        "model-weights-outside",
        ("prune", "--inspect", "{tmp}/model-outside"),
        ("weights file name '../x.pt'",),
    ),
    # MUL_REG: 0 or 1.
    Case("mul-reg-2", ("sim", "--rows", "2", "--mul-reg", "2"), ("MUL_REG=2",)),
    Case("no-coverage", ("coverage", "{tmp}/nothing", "--check"), ("no such directory",)),
    # Matrices for `systolic gemm`.
    Case("inner-dims", gemm("a.npy", "b_k3.npy"), ("inner dimensions",)),
    Case("float-dtype", gemm("float.npy"), ("integer dtype",)),
    Case("above-range", gemm("big.npy"), ("200", "signed 8-bit range")),
    Case("below-range", gemm("small.npy"), ("-129",)),
    Case(
        "above-range-16",
        gemm("big.npy", "b.npy", "--data-w", "4", "--acc-w", "8"),
        ("4-bit range",),
    ),
    Case("one-d", gemm("vec.npy"), ("2-D",)),
    Case("three-d", gemm("cube.npy"), ("2-D",)),
    Case("empty-dim", gemm("empty.npy"), ("empty dimension",)),
    Case("truncated-npy", gemm("trunc.npy"), ("cannot read",)),
    Case("not-npy", gemm("text.npy"), ("cannot read",)),
    Case("object-npy", gemm("pickle.npy"), ("cannot read",)),
    Case("csv-words", gemm("words.csv"), ("cannot read",)),
    Case("csv-ragged", gemm("ragged.csv"), ("cannot read",)),
    Case("unknown-format", gemm("a.mat"), ("unsupported format",)),
    Case("missing-file", gemm("missing.npy"), ("no such file",)),
    Case("gemm-bad-array", gemm("a.npy", "b.npy", "--rows", "40"), ("ROWS=40",)),
    # Pruning (no training happens: the checks come first).
    Case(
        "prune-ratio-high",
        ("prune", "--method", "slimming", "--ratio", "1.5", "--out", "{tmp}/out"),
        ("ratio", "(0, 1)"),
    ),
    Case(
        "prune-ratio-zero",
        ("prune", "--method", "slimming", "--ratio", "0", "--out", "{tmp}/out"),
        ("ratio", "(0, 1)"),
    ),
    Case(
        "prune-keep-rate",
        ("prune", "--method", "autopruner", "--keep-rate", "1", "--out", "{tmp}/out"),
        ("keep-rate",),
    ),
    Case(
        "prune-se-no-se",
        ("prune", "--method", "se", "--model", "plain", "--out", "{tmp}/out"),
        ("does not apply", "SE"),
    ),
    Case(
        "prune-bn-shuffle",
        ("prune", "--method", "slimming", "--model", "shuffle", "--out", "{tmp}/out"),
        ("does not apply",),
    ),
    Case("prune-inspect-missing", ("prune", "--inspect", "{tmp}/nomodel"), ("no such directory",)),
    # Issue 21's second pass: a new line or an escape in a path stays on one escaped line; wave
    # files that contradict themselves or were cut, a pickled stimulus next to a wave file; a
    # broken RTL folder given to mutate.
    Case("path-newline", gemm("no\nsuch.npy"), ("no such file", "\\n")),
    Case("path-escape", gemm("\x1b[2Jx.npy"), ("no such file", "\\x1b")),
    Case("vcd-scope-closed-twice", ("waves", "{tmp}/twice.vcd"), ("twice.vcd",)),
    Case("vcd-cut-short", ("waves", "{tmp}/cut.vcd"), ("cut.vcd",)),
    Case(
        "stim-pickled", ("waves", "{tmp}/pickled/test_lecture_3x3-icarus-r2c2_d8_a32-seed1.vcd"), ()
    ),
    Case(
        "mutate-broken-rtl",
        # Its own folder: the message names the failed build's log, kept there to be read.
        ("mutate", "--only", "swap_ab_forwarding", "--out", "{tmp}/mutate-out"),
        ("rtl-broken", "does not build", "build.log"),
        env=(("SYSTOLIC_RTL_DIR", "{tmp}/rtl-broken"),),
    ),
]


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    files(folder)
    return folder


def test_catalog_is_large_enough() -> None:
    assert len(CATALOG) >= 25
    assert len({c.id for c in CATALOG}) == len(CATALOG)


@pytest.mark.parametrize("case", CATALOG, ids=lambda c: c.id)
def test_bad_input(case: Case, tmp: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp)) for a in case.argv]
    env = {**os.environ, "SYSTOLIC_BUILD_DIR": str(tmp / "build")}
    env |= {k: v.replace("{tmp}", str(tmp)) for k, v in case.env}
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, f"exit {proc.returncode}: {proc.stderr}{proc.stdout}"
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), proc.stderr
    for needle in case.needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    out = tmp / "out"
    assert not (out.exists() and any(out.iterdir())), f"{case.id} left files in {out}"


API_CASES = [
    ("params-json", lambda: ArrayParams.from_json("{rows: 3"), "malformed array parameters"),
    ("params-type", lambda: ArrayParams(rows="3"), "ROWS must be an integer"),  # type: ignore[arg-type]
    ("gemm-cycles-k0", lambda: gemm_cycles(4, 0, 4, ArrayParams()), "positive integer"),
    ("assemble-count", lambda: assemble([], 5, 5, ArrayParams()), "fold results"),
    (
        "product-too-big",
        lambda: schedule([Product(np.ones((5, 2), int), np.ones((2, 1), int))], ArrayParams(4, 4)),
        "does not fit",
    ),
    (
        "reset-outside",
        lambda: schedule(
            [Product(np.ones((2, 2), int), np.ones((2, 2), int))], ArrayParams(2, 2)
        ).with_reset(10_000, 2),
        "outside",
    ),
]


@pytest.mark.parametrize("make,needle", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_bad_api_input(make, needle: str) -> None:
    with pytest.raises(SystolicError, match=needle) as info:
        make()
    assert "\n" not in str(info.value)


def test_stimulus_idle_shapes() -> None:
    stim = EdgeStimulus.idle(3, ArrayParams(2, 5))
    assert stim.a.shape == (3, 2) and stim.b.shape == (3, 5)


@pytest.mark.parametrize(
    "variable,needle",
    [
        ("ROWS=abc", "--rows: not an integer"),
        ("SIM=foo", "invalid choice"),
        ("SEED=-1", "--seed"),
        ("OUT_ROWS=2", "--out-rows applies to --workload"),
        ("SHADOWS=x", "--shadows: not an integer"),
    ],
)
def test_bad_make_variable_is_one_line(variable: str, needle: str) -> None:
    """`make sim ROWS=abc`: the command's one line, then only make's own status line."""
    root = Path(__file__).resolve().parents[2]
    # Run as a top-level make even under `make test`, which would make it make[1] otherwise.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    proc = subprocess.run(
        ["make", "--no-print-directory", "sim", variable],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("setup: ")]
    ours = [ln for ln in lines if ln.startswith("systolic: error: ")]
    assert len(ours) == 1 and needle in ours[0], proc.stderr
    assert [ln for ln in lines if ln not in ours and not ln.startswith("make: ***")] == []
    assert "usage:" not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
