"""Workload files: round trip, SCALE-Sim topologies, and the bad-file catalog (one clear line,
exit status 2 through the command line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from systolic.engine.workload import (
    WorkloadError,
    load_workload,
    reference_run,
    save_workload,
)
from systolic.lowering.topology import write_topologies
from systolic.models.network import predictions


def test_round_trip(small_workload: Path) -> None:
    wl = load_workload(small_workload)
    assert wl.x.dtype == np.int8 and wl.x.shape == (6, 1, 8, 8)
    assert [layer.name for layer in wl.net.layers] == [
        "stages.0.conv",
        "stages.1.conv",
        "stages.2.conv",
        "head",
    ]
    for g in wl.all_gemms:
        assert g.a.dtype == g.b.dtype == np.int8 and g.c.dtype == np.int32
        assert np.array_equal(g.a.astype(np.int64) @ g.b.astype(np.int64), g.c)
    # The reference rerun from the file alone reproduces the recorded predictions and logits.
    logits = reference_run(wl)
    assert np.array_equal(predictions(logits), wl.predictions)
    assert np.allclose(logits.real(), wl.logits)
    again = save_workload(wl, small_workload.with_name("again.npz"))
    assert not list(again.parent.glob("*.tmp.npz"))
    assert load_workload(again).macs == wl.macs


def test_unwritable_output_is_one_error(small_workload: Path) -> None:
    from systolic.errors import SystolicError

    wl = load_workload(small_workload)
    with pytest.raises(SystolicError, match=r"cannot write /proc/nope/x\.npz"):
        save_workload(wl, Path("/proc/nope/x.npz"))
    with pytest.raises(WorkloadError, match=r"ends in \.npz"):
        save_workload(wl, small_workload.with_suffix(".bin"))


def test_scalesim_topologies(small_workload: Path, tmp_path: Path) -> None:
    wl = load_workload(small_workload)
    conv, gemm = write_topologies(wl, tmp_path / "small")
    rows = [line.rstrip(",").split(", ") for line in conv.read_text().splitlines()]
    assert rows[0][0] == "Layer name" and rows[0][-1] == "Strides"
    # First conv: 8x8 input padded by 1 on each side, 3x3 filter, 1 channel, 4 filters.
    assert rows[1] == ["stages.0.conv", "10", "10", "3", "3", "1", "4", "1"]
    assert rows[3][:3] == ["stages.2.conv", "6", "6"]  # after the 2x2 pool: 4x4 padded
    assert rows[-1] == ["head", "1", "1", "1", "1", str(8 * 2 * 2), "10", "1"]
    lines = gemm.read_text().splitlines()
    assert lines[0] == "Layer Name, M, N, K,"
    assert lines[1] == "stages.0.conv, 384, 4, 9,"  # M = 6 images x 64 pixels
    assert len(lines) == 1 + len(wl.all_gemms)


# ------------------------------------------------------------------------------------------------
# Bad files
# ------------------------------------------------------------------------------------------------


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def _meta(arrays: dict) -> dict:
    return json.loads(arrays["meta"].tobytes().decode())


def _with_meta(arrays: dict, edit: Callable[[dict], None]) -> dict:
    meta = _meta(arrays)
    edit(meta)
    return {**arrays, "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}


def _set(d: dict, key: str, value) -> dict:
    return {**d, key: value}


def _first_gemm_op(meta: dict) -> dict:
    return next(op for op in meta["ops"] if op["op"] == "gemm")


A0 = "gemm.stages.0.conv.0.A"
C0 = "gemm.stages.0.conv.0.C"
B1 = "gemm.stages.1.conv.0.B"

#: id -> (how to make the bad arrays from the good ones, words the error must contain).
ARRAY_CASES: dict[str, tuple[Callable[[dict], dict], str]] = {
    "missing-array": (lambda d: {k: v for k, v in d.items() if k != C0}, "is missing"),
    "A-int16": (lambda d: _set(d, A0, d[A0].astype(np.int16) * 3), "dtype int16, expected int8"),
    "C-int64": (lambda d: _set(d, C0, d[C0].astype(np.int64)), "dtype int64, expected int32"),
    "C-wrong-shape": (lambda d: _set(d, C0, d[C0][:-1]), "shapes do not match"),
    "C-wrong-value": (
        lambda d: _set(d, C0, d[C0] + np.eye(*d[C0].shape, dtype=np.int32)),
        "C is not A @ B",
    ),
    "B-not-weight": (lambda d: _set(d, B1, -d[B1]), "B is not the layer's weight"),
    "A-1d": (lambda d: _set(d, A0, d[A0].ravel()), "has 1 dimensions"),
    "input-shape": (lambda d: _set(d, "input", d["input"][:, :, :7]), "the network takes"),
    "labels-count": (lambda d: _set(d, "labels", d["labels"][:-1]), "labels"),
    "scale-negative": (
        lambda d: _set(d, "ws.head", -d["ws.head"]),
        "weight scales must be positive",
    ),
    "object-array": (
        lambda d: _set(d, "labels", np.array([{"x": 1}] * 6, dtype=object)),
        "cannot be read",
    ),
    "meta-not-json": (
        lambda d: _set(d, "meta", np.frombuffer(b"{not json", np.uint8)),
        "corrupt metadata",
    ),
    "wrong-format": (
        lambda d: _with_meta(d, lambda m: m.update(format="other")),
        "not a systolic workload",
    ),
    "wrong-version": (lambda d: _with_meta(d, lambda m: m.update(version=9)), "format version 9"),
    "unknown-op": (
        lambda d: _with_meta(d, lambda m: m["ops"][1].update(op="avgpool3")),
        "unknown operation 'avgpool3'",
    ),
    "reads-before-computed": (
        lambda d: _with_meta(d, lambda m: _first_gemm_op(m).update(src="nowhere")),
        "reads 'nowhere' before it is computed",
    ),
    "declared-shape": (
        lambda d: _with_meta(d, lambda m: _first_gemm_op(m)["gemms"][0].update(M=7)),
        "declared M,K,N",
    ),
    "geometry": (
        lambda d: _with_meta(d, lambda m: _first_gemm_op(m)["geometry"].update(stride=[0, 1])),
        "illegal geometry",
    ),
    "dilation-zero": (
        lambda d: _with_meta(d, lambda m: _first_gemm_op(m)["geometry"].update(dilation=[0, 0])),
        "illegal geometry",
    ),
    "padding-negative": (
        lambda d: _with_meta(d, lambda m: _first_gemm_op(m)["geometry"].update(padding=[-1, 1])),
        "illegal geometry",
    ),
    "kernel-mismatch": (
        lambda d: _with_meta(d, lambda m: _first_gemm_op(m)["geometry"].update(kernel=[2, 2])),
        "does not match kernel",
    ),
    "in-scale": (
        lambda d: _with_meta(d, lambda m: _first_gemm_op(m).update(in_scale=0.5)),
        "the layer was quantized for 0.5",
    ),
    "output-feature-map": (
        lambda d: _with_meta(d, lambda m: m.update(output="stages.0.conv")),
        "is not the recorded logits",
    ),
    "A-and-C-consistent-but-not-the-network": (
        lambda d: {
            **d,
            A0: np.flipud(d[A0]).copy(),
            C0: (np.flipud(d[A0]).astype(np.int64) @ d["gemm.stages.0.conv.0.B"]).astype(np.int32),
        },
        "does not reproduce its GEMMs",
    ),
    "predictions": (
        lambda d: _set(d, "predictions", (d["predictions"] + 1) % 10),
        "recorded logits or predictions",
    ),
}


def _write_case(tmp: Path, name: str, arrays: dict) -> Path:
    path = tmp / f"{name}.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case", sorted(ARRAY_CASES))
def test_bad_workload_file(case: str, small_workload: Path, tmp_path: Path) -> None:
    make, needle = ARRAY_CASES[case]
    path = _write_case(tmp_path, case, make(_arrays(small_workload)))
    with pytest.raises(WorkloadError, match=needle) as info:
        load_workload(path)
    assert "\n" not in str(info.value)


def test_truncated_and_foreign_files(small_workload: Path, tmp_path: Path) -> None:
    data = small_workload.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.npz").write_text("not a workload")
    np.save(tmp_path / "single.npy", np.zeros(3))
    for name, needle in (
        ("trunc.npz", "not a readable workload file"),
        ("text.npz", "not a readable workload file"),
        ("single.npy", "single array"),
        ("missing.npz", "does not exist"),
    ):
        with pytest.raises(WorkloadError, match=needle):
            load_workload(tmp_path / name)


CLI_CASES = {
    "truncated": (["sim", "--workload", "{tmp}/trunc.npz"], "not a readable workload file"),
    "wrong-value": (["sim", "--workload", "{tmp}/C-wrong-value.npz"], "C is not A @ B"),
    "narrow-array": (
        ["sim", "--workload", "{good}", "--data-w", "4", "--acc-w", "16"],
        "needs DATA_W >= 8",
    ),
    "lower-no-model": (["lower", "{tmp}/nowhere", "--out", "{tmp}/out/x.npz"], "no such directory"),
    "lower-images": (
        ["lower", "{tmp}", "--out", "{tmp}/out/x.npz", "--images", "0"],
        "--images: 0 is out of range",
    ),
    "lower-not-npz": (["lower", "{tmp}", "--out", "{tmp}/out/x.csv"], "is lowered to a .npz file"),
    "lower-out-is-input": (["lower", "{tmp}", "--out", "{tmp}"], "is also an input of this run"),
    "e2e-method": (["e2e", "--methods", "slimmin"], "unknown method slimmin"),
    "e2e-images": (["e2e", "--images", "0"], "--images: 0 is out of range"),
    "e2e-seed": (["e2e", "--seed", "-1"], "--seed: -1 is out of range"),
    "e2e-out-file": (["e2e", "--out", "{tmp}/trunc.npz"], "trunc.npz is a file, not a folder"),
    "mode-without-workload": (["sim", "--mode", "replay"], "--mode applies to --workload"),
    "waves-with-workload": (["sim", "--workload", "{good}", "--waves"], "--waves does not apply"),
    "workload-is-dir": (["sim", "--workload", "{tmp}"], "is a directory"),
}


@pytest.mark.slow  # a CLI process per case: not in make unit
@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_bad_workload_cli(case: str, small_workload: Path, tmp_path: Path) -> None:
    data = small_workload.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 3])
    make, _ = ARRAY_CASES["C-wrong-value"]
    _write_case(tmp_path, "C-wrong-value", make(_arrays(small_workload)))
    argv, needle = CLI_CASES[case]
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{good}", str(small_workload)) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTOLIC_BUILD_DIR": str(tmp_path / "build")},
        timeout=120,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert len(lines) == 1 and needle in lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
