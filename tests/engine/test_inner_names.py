"""Names, keys and paths that come from inside an input file (issue 21).

A workload's layer and tensor names, a coverage file's cover points and bins, the stimulus files
next to a wave file, a saved model's weights file and kept-index keys: for every such input, a
traversal, an absolute path, a NUL byte, a very long name and a duplicate name (and the other
classes of :mod:`systolic.names`) are refused by its loader with exactly one stderr line
``systolic: error: …`` that names the file and the name, exit status 2, and no file written
anywhere (a sentinel folder, the target of the traversals, stays empty; the whole sandbox is
unchanged). Valid names, unusual ones included, still work.

The commands run in-process (``systolic.cli.main``) with the build folder inside the sandbox.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import unicodedata
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from systolic import names
from systolic.cli import main
from systolic.engine import build
from systolic.engine.config import RunSettings
from systolic.engine.workload import WorkloadError, build_workload, load_workload, save_workload
from systolic.models.network import GemmLayer, HostOp, QuantNet
from systolic.waves.stimfile import stim_dir, stream_starts
from systolic.waves.vcd import WaveError

LONG = "L" * (names.MAX_NAME + 1)


# -- the sandbox -------------------------------------------------------------------------------


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sandbox: ``run/`` (the working folder), ``build/`` (the build folder), ``sentinel/``
    (where the traversals and absolute names of the cases point)."""
    for sub in ("run", "build", "sentinel"):
        (tmp_path / sub).mkdir()
    monkeypatch.chdir(tmp_path / "run")
    monkeypatch.setattr(build, "BUILD_ROOT", tmp_path / "build")
    monkeypatch.setenv("SYSTOLIC_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for folders and other non-files)."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.join(dirpath, d)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[p] = Path(p).read_bytes() if os.path.isfile(p) and not os.path.islink(p) else None
    return out


def refused(box: Path, argv: list[str], capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    """Run ``systolic argv``: exit 2, one ``systolic: error:`` line holding every needle, nothing
    created, changed or removed anywhere in the sandbox. Returns the line."""
    capsys.readouterr()
    before = tree(box)
    rc = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, f"exit {rc}: {err}"
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not any((box / "sentinel").iterdir()), "a file was written outside the run folder"
    assert tree(box) == before, "the refused command created or changed files"
    return lines[0]


def shows(name: str) -> str:
    """How a message names ``name``: repr-quoted (shortened when long)."""
    return names.quoted(name)[:40]


# -- the shared check: systolic.names ------------------------------------------------------------

#: A bad name of each class, refused under both the "name" and the "file" rule.
BAD_NAMES = {
    "traversal": "../../x",
    "parent": "..",
    "absolute": "/tmp/x",
    "windows-absolute": "C:\\x",
    "drive-relative": "C:x",
    "separator": "a/b",
    "backslash": "a\\b",
    "nul": "a\0b",
    "newline": "a\nb",
    "escape": "a\x1b[2Jb",
    "bidi-override": "a\u202eb",
    "line-separator": "a\u2028b",
    "empty": "",
    "very-long": LONG,
}


@pytest.mark.parametrize("kind", sorted(BAD_NAMES))
@pytest.mark.parametrize("rule", ["name", "file"])
def test_check_name_refuses_each_class(kind: str, rule: names.Rule) -> None:
    bad = BAD_NAMES[kind]
    with pytest.raises(names.InnerNameError) as info:
        names.check_name(bad, "layer name", "/x/w.npz", rule=rule)
    msg = str(info.value)
    assert msg.startswith("/x/w.npz: layer name ") and "\n" not in msg and msg.isprintable()
    assert shows(bad)[:20] in msg


@pytest.mark.parametrize(
    "bad", ["fü", "a b", "-x", ".x", "x.", "CON", "nul.txt", "a..b", "x:y", "a*b", "tab\t"]
)
def test_file_names_are_portable(bad: str) -> None:
    with pytest.raises(names.InnerNameError):
        names.check_name(bad, "layer name", "w.npz", rule="file")


def test_labels_allow_what_is_only_shown() -> None:
    """A label may hold separators and spaces (coverage bins do), never control characters."""
    for good in ("operands on the east/south edges", "2..256", "('1x1', 'K<ROWS')"):
        assert names.check_name(good, "bin", "c.yml", rule="label") == good
    for bad in ("a\0b", "a\nb", "", LONG):
        with pytest.raises(names.InnerNameError):
            names.check_name(bad, "bin", "c.yml", rule="label")


def test_valid_names_pass() -> None:
    for good in ("stages.0.conv", "units.12.se.fc2", "Layer-1_A", "x" * names.MAX_NAME):
        assert names.check_name(good, "layer name", "w.npz", rule="file") == good
    assert names.check_name("prüfung-pruned", "model name", "w.npz") == "prüfung-pruned"
    with pytest.raises(names.InnerNameError, match="is not a string"):
        names.check_name(3, "layer name", "w.npz")


def test_duplicates_also_after_case_folding_and_normalisation() -> None:
    with pytest.raises(names.InnerNameError, match="duplicate layer name 'fc1'"):
        names.check_unique(["fc1", "head", "fc1"], "layer name", "w.npz", rule="file")
    with pytest.raises(names.InnerNameError, match="the same file name as 'fc1'"):
        names.check_unique(["fc1", "FC1"], "layer name", "w.npz", rule="file")
    with pytest.raises(names.InnerNameError, match="duplicate"):  # NFKC: the ligature is "fi"
        names.check_unique(["\ufb01le", "file"], "layer name", "w.npz", rule="file")
    composed, decomposed = "caf\u00e9", unicodedata.normalize("NFD", "caf\u00e9")
    with pytest.raises(names.InnerNameError, match="duplicate"):
        names.check_unique([composed, decomposed], "cover point", "c.yml")
    names.check_unique(["a", "A"], "cover point", "c.yml")  # not file names: case matters


def test_confined_refuses_a_link_out_of_the_run_folder(tmp_path: Path) -> None:
    root, outside = tmp_path / "run", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    assert names.confined(root, "fc1", "w.npz") == root / "fc1"
    (root / "escape").symlink_to(outside)
    with pytest.raises(names.InnerNameError, match="leads outside"):
        names.confined(root, "escape", "w.npz")
    with pytest.raises(names.InnerNameError, match="path separator"):
        names.confined(root, "../outside", "w.npz")


def test_json_with_a_repeated_key_or_deep_nesting_is_refused() -> None:
    with pytest.raises(names.InnerNameError, match="repeats the key 'a'"):
        names.loads_json('{"a": 1, "a": 2}', "m.json")
    with pytest.raises(names.InnerNameError, match="nested too deeply"):
        names.loads_json("[" * 100_000 + "]" * 100_000, "m.json")


def test_read_limited_reads_only_small_regular_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    for path, needle in (
        (fifo, "not a regular file"),  # would block for ever if it were read
        (Path("/dev/zero"), "not a regular file"),  # would never end
        (big, "more than the 10"),
        (tmp_path, "not a regular file"),
    ):
        with pytest.raises(names.InnerNameError, match=needle):
            names.read_limited(path, 10)
    assert names.read_limited(big, 11) == b"x" * 11


# -- workloads (engine/workload.py; sim --workload, replay on the accelerator top) ----------------


def tiny_workload(path: Path, first: str = "fc1", second: str = "head") -> Path:
    """A valid workload of two linear layers (no torch): flatten, ``first``, ``second``."""
    rng = np.random.default_rng(0)

    def linear(name: str, src: str, dst: str, n_in: int, n_out: int, out: float | None):
        weight = rng.integers(-3, 4, (n_out, n_in)).astype(np.int8)
        bias = np.zeros(n_out, np.int32)
        return GemmLayer(
            name, "linear", src, dst, weight, np.full(n_out, 0.01), bias, 0.05, out, out is not None
        )

    ops = [
        HostOp("flatten", "flatten", "input", "flat"),
        linear(first, "flat", "hidden", 4, 3, 0.05),
        linear(second, "hidden", "logits", 3, 2, None),
    ]
    net = QuantNet("tiny", (1, 2, 2), 0.05, ops, "logits")
    return save_workload(build_workload(net, rng.random((2, 1, 2, 2)), np.arange(2)), path)


def edited(
    src: Path,
    dst: Path,
    rename: dict[str, str] | None = None,
    meta_edit: Callable[[dict[str, Any]], None] | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """``src`` rewritten as a hostile file: operations renamed (in the metadata and the array
    keys), the metadata edited, arrays added."""
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    for old, new in (rename or {}).items():
        for op in meta["ops"]:
            if op["name"] == old:
                op["name"] = new
        for key in list(arrays):
            head, _, rest = key.partition(".")
            if rest == old or rest.startswith(old + "."):
                arrays[f"{head}.{new}{rest[len(old) :]}"] = arrays.pop(key)
    if meta_edit:
        meta_edit(meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    arrays.update(extra or {})
    np.savez(dst, **arrays)  # type: ignore[arg-type]
    return dst


def _op(meta: dict[str, Any], name: str) -> dict[str, Any]:
    return next(op for op in meta["ops"] if op["name"] == name)


def _set_dst(meta: dict[str, Any], tensor: str) -> None:
    _op(meta, "flatten")["dst"] = tensor
    _op(meta, "fc1")["src"] = tensor


def _two(name: str) -> Callable[[dict[str, Any]], None]:
    def edit(meta: dict[str, Any]) -> None:
        _op(meta, "head")["name"] = name

    return edit


#: case -> (renames, metadata edit, extra arrays, what the message names). "{box}" in a name is
#: the sandbox: the traversal lands in sentinel/ from build/workloads/<run>/.
WORKLOAD_CASES: dict[str, tuple[dict[str, str], Any, dict[str, np.ndarray], str]] = {
    "layer-traversal": ({"fc1": "../../../sentinel/x"}, None, {}, "../../../sentinel/x"),
    "layer-absolute": ({"fc1": "{box}/sentinel/abs"}, None, {}, "{box}/sentinel/abs"),
    "layer-nul": ({"fc1": "fc\x001"}, None, {}, "fc\x001"),
    "layer-newline": ({"fc1": "fc\n1"}, None, {}, "fc\n1"),
    "layer-very-long": ({"fc1": LONG}, None, {}, LONG),
    "layer-not-ascii": ({"fc1": "fü"}, None, {}, "fü"),
    "layer-duplicate": ({}, _two("fc1"), {}, "fc1"),
    "layer-duplicate-by-case": ({"head": "FC1"}, None, {}, "FC1"),
    "host-op-traversal": ({}, lambda m: _op(m, "flatten").update(name="../x"), {}, "../x"),
    "tensor-traversal": ({}, lambda m: _set_dst(m, "../../flat"), {}, "../../flat"),
    "tensor-absolute": ({}, lambda m: _set_dst(m, "/flat"), {}, "/flat"),
    "tensor-written-twice": ({}, lambda m: _op(m, "fc1").update(dst="flat"), {}, "flat"),
    "model-name-newline": ({}, lambda m: m.update(model="a\nb"), {}, "a\nb"),
    "source-key-nul": ({}, lambda m: m.update(source={"k\0": "v"}), {}, "k\0"),
    "source-value-escape": ({}, lambda m: m.update(source={"model_dir": "\x1b[2J"}), {}, ""),
    "array-key-traversal": ({}, None, {"../../evil": np.zeros(1)}, "../../evil"),
}

ACCEL_REPLAY = ["--top", "accel", "--mode", "replay", "--rows", "2", "--cols", "2"]


@pytest.fixture(scope="module")
def good_workload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_workload(tmp_path_factory.mktemp("wl") / "good.npz")


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile cuts member names at a NUL
@pytest.mark.parametrize("case", sorted(WORKLOAD_CASES))
def test_workload_names_are_refused(
    case: str, good_workload: Path, box: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rename, edit, extra, bad = WORKLOAD_CASES[case]
    rename = {k: v.replace("{box}", str(box)) for k, v in rename.items()}
    path = edited(good_workload, box / "run" / f"{case}.npz", rename, edit, extra)
    needles = [path.name] + ([shows(bad.replace("{box}", str(box)))] if bad else [])
    argv = ["sim", "--workload", str(path), *ACCEL_REPLAY, "--sim", "icarus"]
    refused(box, argv, capsys, *needles)
    with pytest.raises(WorkloadError):
        load_workload(path)


def test_workload_with_a_repeated_array_is_refused(
    good_workload: Path, box: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A zip may hold one member name twice; numpy would read one of them."""
    path = box / "run" / "twice.npz"
    shutil.copy(good_workload, path)
    with np.load(good_workload) as npz:
        other = npz["w.fc1"].copy()
    other[0, 0] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate name
        with zipfile.ZipFile(path, "a") as zf, zf.open("w.fc1.npy", "w") as fh:
            np.lib.format.write_array(fh, other)
    refused(box, ["sim", "--workload", str(path), *ACCEL_REPLAY], capsys, "duplicate array")


def test_workload_metadata_with_a_repeated_key_is_refused(good_workload: Path, tmp_path: Path):
    with np.load(good_workload) as npz:
        arrays = {k: npz[k] for k in npz.files}
    text = arrays["meta"].tobytes().decode()
    arrays["meta"] = np.frombuffer(('{"model": "x", ' + text[1:]).encode(), np.uint8)
    np.savez(tmp_path / "m.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(WorkloadError, match="metadata repeats the key 'model'"):
        load_workload(tmp_path / "m.npz")


def test_a_workload_with_bad_names_is_not_saved(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="path separator"):
        tiny_workload(tmp_path / "w.npz", first="../x")
    assert list(tmp_path.iterdir()) == []


def test_the_accelerator_runner_checks_names_again(tmp_path: Path) -> None:
    """In depth: a Workload built in Python (no loader) with a traversal name runs nothing."""
    from systolic.models.params import ArrayParams
    from systolic.verify.accel_workload import run_accel_workload

    wl = load_workload(tiny_workload(tmp_path / "w.npz"))
    wl.net.ops[1].name = "../../escaped"  # type: ignore[union-attr]
    wl.gemms["../../escaped"] = wl.gemms.pop("fc1")
    with pytest.raises(names.InnerNameError, match=r"'\.\./\.\./escaped'"):
        run_accel_workload(wl, "replay", "icarus", ArrayParams(2, 2), tmp_path / "x", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]


@pytest.mark.sim
def test_valid_unusual_names_run_on_the_accelerator_top(
    box: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Names at the edge of the rules still run, and only inside the build folder."""
    first, second = "Layer-1_A.conv" + "x" * (names.MAX_NAME - 14), "head"
    path = tiny_workload(box / "run" / "edge.npz", first, second)
    rc = main(["sim", "--workload", str(path), *ACCEL_REPLAY, "--sim", "icarus"])
    out = capsys.readouterr().out
    assert rc == 0 and "PASSED" in out, out
    assert first[:20] in out
    assert not any((box / "sentinel").iterdir())
    summary = json.loads(next((box / "build" / "workloads").glob("*.json")).read_text())
    assert [row["layer"] for row in summary["layers"]] == [first, second]


# -- coverage files (verify/coverage.py; systolic coverage) ---------------------------------------

GOOD_COVERAGE: dict[str, Any] = {
    "systolic": {"cover_percentage": 50.0, "coverage": 1, "size": 2, "type": "<class 'CoverItem'>"},
    "systolic.reset": {
        "at_least": 1,
        "bins:_hits": {"operands on the east/south edges": 1, "held across rising edges": 0},
        "cover_percentage": 50.0,
        "coverage": 1,
        "size": 2,
        "type": "<class 'cocotb_coverage.coverage.CoverPoint'>",
        "weight": 1,
    },
}


def _point(name: str) -> dict[str, Any]:
    return {**GOOD_COVERAGE, name: GOOD_COVERAGE["systolic.reset"]}


def _bins(*bins: str) -> dict[str, Any]:
    point = {**GOOD_COVERAGE["systolic.reset"], "bins:_hits": dict.fromkeys(bins, 0)}
    return {**GOOD_COVERAGE, "systolic.reset": point}


def _yaml(db: dict[str, Any]) -> str:
    """YAML as cocotb-coverage writes it: no object shared, so no anchors."""
    return yaml.safe_dump(json.loads(json.dumps(db)), allow_unicode=False)


def _laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


COMPOSED, DECOMPOSED = "caf\u00e9", unicodedata.normalize("NFD", "caf\u00e9")

#: case -> (file text, what the message names).
COVERAGE_CASES: dict[str, tuple[str, str]] = {
    "point-traversal": (_yaml(_point("../../sentinel/x")), "'../../sentinel/x'"),
    "point-absolute": (_yaml(_point("/etc/passwd")), "'/etc/passwd'"),
    "point-nul": (_yaml(_point("sys\0tolic")), shows("sys\0tolic")),
    "point-newline": (_yaml(_point("sys\ntolic")), shows("sys\ntolic")),
    "point-very-long": (_yaml(_point(LONG)), shows(LONG)),
    "point-repeated-key": (
        _yaml(GOOD_COVERAGE) + "systolic:\n  coverage: 1\n  size: 2\n",
        "a key is repeated",
    ),
    "point-duplicate-normalised": (
        _yaml({**_point(COMPOSED), DECOMPOSED: GOOD_COVERAGE["systolic"]}),
        "duplicate cover point",
    ),
    "bin-nul": (_yaml(_bins("a\0b")), shows("a\0b")),
    "bin-escape": (_yaml(_bins("a\x1b[2Jb")), shows("a\x1b[2Jb")),
    "bin-very-long": (_yaml(_bins(LONG)), shows(LONG)),
    "bin-duplicate-normalised": (_yaml(_bins(COMPOSED, DECOMPOSED)), "duplicate bin"),
    "unknown-field": (_yaml({"systolic": {"coverage": 1, "size": 1, "x": 1}}), "unknown field"),
    "negative-count": (_yaml({"systolic": {"coverage": -1, "size": 1}}), "coverage is not"),
    "zero-size": (_yaml({"a": {"coverage": 0, "size": 0}}), "do not merge"),
    "billion-laughs": (_laughs(), "anchors and aliases"),
    "deep-aliases": ("a: &x [1]\nb: *x\n", "anchors and aliases"),
    "deep-nesting": ("a: " + "[" * 10_000 + "]" * 10_000 + "\n", "nested deeper"),
    "python-tag": ("a: !!python/object/apply:os.system ['touch ../sentinel/pwned']\n", "tag"),
    "not-a-mapping": ("- 1\n- 2\n", "no cover points"),
}


def _write_coverage(folder: Path, case: str) -> Path:
    folder.mkdir(parents=True)
    if case == "huge-file":
        text = _yaml(GOOD_COVERAGE) + "# padding\n" * 120_000
    else:
        text = COVERAGE_CASES[case][0]
    (folder / "run.yml").write_text(text)
    return folder


@pytest.mark.parametrize("case", [*sorted(COVERAGE_CASES), "huge-file"])
def test_coverage_files_are_checked(case: str, box: Path, capsys) -> None:
    folder = _write_coverage(box / "run" / "cov", case)
    needle = "bytes" if case == "huge-file" else COVERAGE_CASES[case][1]
    if case == "zero-size":  # legal alone; merged with a file adding a point below, 0 / 0
        zero = {"coverage": 0, "size": 0}
        (folder / "z.yml").write_text(_yaml({"a": zero, "a.b": zero}))
    line = refused(box, ["coverage", str(folder)], capsys, "cov", needle)
    assert not (folder / "merged.yml").exists(), line


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_a_coverage_file_that_never_ends_is_refused(kind: str, box: Path, capsys) -> None:
    folder = box / "run" / "cov"
    folder.mkdir()
    if kind == "fifo":
        os.mkfifo(folder / "run.yml")
    else:
        (folder / "run.yml").symlink_to("/dev/zero")
    refused(box, ["coverage", str(folder)], capsys, "run.yml", "not a regular file")


def test_valid_coverage_files_merge(box: Path, capsys) -> None:
    folder = box / "run" / "cov"
    folder.mkdir()
    for name in ("a.yml", "b.yml"):
        (folder / name).write_text(_yaml(GOOD_COVERAGE))
    assert main(["coverage", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "operands on the east/south edges=2" in out
    assert yaml.safe_load((folder / "merged.yml").read_text())["systolic.reset"]["bins:_hits"]


# -- stimulus files next to a wave file (waves/stimfile.py; systolic waves) ------------------------


def _stim(folder: Path, name: str, t0: Any = 30.0, **arrays: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "wb") as fh:
        np.savez(fh, t0_ns=np.float64(t0), period_ns=np.int64(10), **arrays)
    return path


def _pickled(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "t_0.npz").write_bytes(pickle.dumps({"t0_ns": 30.0}))


def _object_array(folder: Path) -> None:
    folder.mkdir(parents=True)
    np.savez(folder / "t_0.npz", t0_ns=np.array([{"x": 1}], dtype=object))


def _truncated(folder: Path) -> None:
    data = _stim(folder, "t_0.npz").read_bytes()
    (folder / "t_0.npz").write_bytes(data[: len(data) // 2])


def _link_outside(folder: Path) -> None:
    outside = _stim(folder.parent / "elsewhere", "t_0.npz")
    folder.mkdir(parents=True)
    (folder / "t_0.npz").symlink_to(outside)


def _repeated_member(folder: Path) -> None:
    path = _stim(folder, "t_0.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(path, "a") as zf, zf.open("t0_ns.npy", "w") as fh:
            np.lib.format.write_array(fh, np.float64(99.0))


#: case -> (make the .stim folder, what the message names).
STIM_CASES: dict[str, tuple[Callable[[Path], Any], str]] = {
    "name-traversal": (lambda d: _stim(d, ".._0.npz"), "'..'"),
    "name-absolute-link": (lambda d: _link_outside(d), "not a regular file"),
    "name-device-link": (
        lambda d: (d.mkdir(parents=True), (d / "t_0.npz").symlink_to("/dev/zero")),
        "not a regular file",
    ),
    "name-newline": (lambda d: _stim(d, "t\nx_0.npz"), shows("t\nx")),
    "name-escape": (lambda d: _stim(d, "t\x1b[2J_0.npz"), shows("t\x1b[2J")),
    "name-very-long": (lambda d: _stim(d, LONG + "_0.npz"), shows(LONG)),
    "name-not-ascii": (lambda d: _stim(d, "tëst_0.npz"), "'tëst'"),
    "name-no-stream": (lambda d: _stim(d, "t.npz"), "<test>_<stream>.npz"),
    "duplicate-stream": (lambda d: (_stim(d, "t_1.npz"), _stim(d, "t_01.npz")), "stream 1"),
    "two-tests": (lambda d: (_stim(d, "a_0.npz"), _stim(d, "b_1.npz")), "more than one test"),
    "array-key-traversal": (lambda d: _stim(d, "t_0.npz", **{"../x": np.zeros(1)}), "'../x'"),
    "repeated-member": (_repeated_member, "duplicate array 't0_ns'"),
    "pickled-file": (_pickled, "corrupt stimulus file"),
    "object-array": (_object_array, "corrupt stimulus file"),
    "truncated": (_truncated, "corrupt stimulus file"),
    "huge-t0": (lambda d: _stim(d, "t_0.npz", t0=np.zeros(10_000)), "'t0_ns' is not a number"),
    "nan-t0": (lambda d: _stim(d, "t_0.npz", t0=np.nan), "'t0_ns' is not a finite"),
    "no-t0": (
        lambda d: (d.mkdir(parents=True), np.savez(d / "t_0.npz", a=np.zeros(1))),
        "'t0_ns' is missing",
    ),
}


@pytest.mark.parametrize("case", sorted(STIM_CASES))
def test_stimulus_files_are_checked(case: str, tmp_path: Path) -> None:
    vcd = tmp_path / "run" / "t.vcd"
    make, needle = STIM_CASES[case]
    make(stim_dir(vcd))
    with pytest.raises(WaveError) as info:
        stream_starts(vcd)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg and msg.isprintable(), msg


def test_valid_stimulus_files_give_the_stream_starts(tmp_path: Path) -> None:
    vcd = tmp_path / "t.vcd"
    assert stream_starts(vcd) == []
    for k, t0 in ((2, 70.0), (0, 10.0), (1, 30.0)):
        _stim(stim_dir(vcd), f"test_lecture-3x3_{k}.npz", t0, a=np.zeros((3, 2), np.int64))
    (stim_dir(vcd) / "notes.txt").write_text("not a stream")
    assert stream_starts(vcd) == [10.0, 30.0, 70.0]


@pytest.fixture(scope="module")
def wave_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real wave file with its saved stimulus (Icarus, 2x2, one short test)."""
    from systolic.engine import config, runner
    from systolic.models import ArrayParams

    folder = tmp_path_factory.mktemp("waves")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.WAVES_DIR, str(folder))
        mp.delenv(config.COV_DIR, raising=False)
        res = runner.run(
            RunSettings("icarus", seed=1, waves=True, build_root=folder / "build"),
            ArrayParams(2, 2),
            ["test_identity"],
        )
    assert res.passed, res.summary()
    return res.waves["test_identity"]


@pytest.mark.sim
def test_a_simulator_runs_coverage_file_passes_the_reader(wave_file: Path) -> None:
    """What tb/coverage.py writes is what verify/coverage.py reads: no name, field or bin of a
    real run is refused, and the temporary file of its atomic write is gone."""
    from systolic.verify.coverage import read_coverage_file

    (written,) = (wave_file.parent / "build").rglob("coverage.yml")
    db = read_coverage_file(written)
    assert "systolic.reset" in db and "operands on the east/south edges" in str(db)
    assert [p.name for p in written.parent.glob(".coverage.*")] == []


@pytest.mark.sim
@pytest.mark.parametrize("case", ["pickled-file", "truncated", "object-array", "name-newline"])
def test_waves_with_a_bad_stimulus_is_one_line(
    case: str, wave_file: Path, box: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vcd = box / "run" / wave_file.name
    shutil.copy(wave_file, vcd)
    assert main(["waves", str(vcd), "--pe", "0,0"]) == 0  # no stimulus: cycle 0 from the lanes
    shutil.copytree(stim_dir(wave_file), stim_dir(vcd))
    assert main(["waves", str(vcd), "--pe", "0,0"]) == 0
    assert "(saved stimulus)" in capsys.readouterr().out
    shutil.rmtree(stim_dir(vcd))
    make, needle = STIM_CASES[case]
    make(stim_dir(vcd))
    refused(box, ["waves", str(vcd), "--pe", "0,0"], capsys, stim_dir(vcd).name, needle)


# -- saved models (pruning/io.py; systolic prune --inspect) ----------------------------------------


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    from systolic.pruning.io import save_model
    from systolic.pruning.models import build_model, plain_spec

    folder = tmp_path_factory.mktemp("model") / "m"
    kept = {"stages.0": [0, 2, 4, 6]}
    save_model(folder, build_model(plain_spec((4,))), kept, {"method": "slimming"})
    return folder


def _doc_edit(**changes: Any) -> Callable[[dict[str, Any], Path], None]:
    def edit(doc: dict[str, Any], box: Path) -> None:
        for key, value in changes.items():
            doc[key] = json.loads(json.dumps(value).replace("{box}", str(box)))

    return edit


#: case -> (edit of model.json, or its raw text, what the message names).
MODEL_CASES: dict[str, tuple[Any, str]] = {
    "weights-traversal": (_doc_edit(weights="../outside/weights.pt"), "'../outside/weights.pt'"),
    "weights-absolute": (_doc_edit(weights="{box}/outside/weights.pt"), "weights file name '/"),
    "weights-nul": (_doc_edit(weights="weights\0.pt"), shows("weights\0.pt")),
    "weights-very-long": (_doc_edit(weights=LONG), shows(LONG)),
    "weights-not-a-string": (_doc_edit(weights=["weights.pt"]), "is not a string"),
    "kept-traversal": (_doc_edit(kept_indices={"../stages.0": [0]}), "'../stages.0'"),
    "kept-nul": (_doc_edit(kept_indices={"stages\0.0": [0]}), shows("stages\0.0")),
    "kept-very-long": (_doc_edit(kept_indices={LONG: [0]}), shows(LONG)),
    "kept-unknown-stage": (_doc_edit(kept_indices={"stages.7": [0]}), "'stages.7'"),
    "kept-not-indices": (_doc_edit(kept_indices={"stages.0": "abcd"}), "kept_indices of"),
    "kept-repeated-index": (_doc_edit(kept_indices={"stages.0": [1, 1, 2, 3]}), "distinct"),
    "meta-key-newline": (_doc_edit(meta={"a\nb": 1}), shows("a\nb")),
    "meta-method-escape": (_doc_edit(meta={"method": "\x1b[31m"}), shows("\x1b[31m")),
    "meta-not-a-record": (_doc_edit(meta="abc"), "meta is not a record"),
    "repeated-key": ("repeat", "repeats the key 'weights'"),
    "deep-nesting": ("deep", "nested too deeply"),
}


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_saved_model_names_are_refused(
    case: str, saved_model: Path, box: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = box / "run" / "model"
    shutil.copytree(saved_model, folder)
    (box / "outside").mkdir()  # a valid copy of the weights outside the model's folder
    shutil.copy(saved_model / "weights.pt", box / "outside" / "weights.pt")
    edit, needle = MODEL_CASES[case]
    meta = folder / "model.json"
    doc = json.loads(meta.read_text())
    if edit == "repeat":
        text = json.dumps(doc)
        meta.write_text(text[:-1] + ', "weights": "../outside/weights.pt"}')
    elif edit == "deep":
        meta.write_text('{"format": "systolic-pruned-model", "x": ' + "[" * 50_000 + "]" * 50_000)
    else:
        edit(doc, box)
        meta.write_text(json.dumps(doc))
    refused(box, ["prune", "--inspect", str(folder)], capsys, needle.replace("{box}", str(box)))


def test_a_weights_link_out_of_the_model_folder_is_refused(saved_model: Path, tmp_path: Path):
    from systolic.pruning.errors import PruningError
    from systolic.pruning.io import load_model

    folder, outside = tmp_path / "m", tmp_path / "outside.pt"
    shutil.copytree(saved_model, folder)
    shutil.move(folder / "weights.pt", outside)
    (folder / "weights.pt").symlink_to(outside)
    with pytest.raises(PruningError, match="leads outside"):
        load_model(folder)


def test_valid_saved_model_loads(saved_model: Path) -> None:
    from systolic.pruning.io import load_model

    _, kept, meta = load_model(saved_model)
    assert kept == {"stages.0": [0, 2, 4, 6]} and meta == {"method": "slimming"}
    digest = hashlib.sha256((saved_model / "weights.pt").read_bytes()).hexdigest()
    assert json.loads((saved_model / "model.json").read_text())["weights_sha256"] == digest


def test_a_model_with_bad_kept_keys_is_not_saved(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from systolic.pruning.errors import PruningError
    from systolic.pruning.io import save_model
    from systolic.pruning.models import build_model, plain_spec

    with pytest.raises(PruningError, match=r"'\.\./x'"):
        save_model(tmp_path / "m", build_model(plain_spec((4,))), {"../x": [0]})
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "text,needle",
    [
        ("{not json", "corrupt JSON"),
        ("[1, 2]", "not a saved systolic pruned model"),
        ('{"format": "systolic-pruned-model", "version": 1, "weights_sha256": []}', "not text"),
    ],
)
def test_e2e_reads_saved_models_through_the_checked_reader(text: str, needle: str, tmp_path: Path):
    """``systolic e2e`` finds equal dense models by their weight hash in model.json: that read
    is the loader's too, so a corrupt file is one line, not a traceback."""
    pytest.importorskip("torch")
    from systolic.lowering.e2e import model_entries
    from systolic.pruning.errors import PruningError

    (tmp_path / "slimming" / "dense").mkdir(parents=True)
    (tmp_path / "slimming" / "dense" / "model.json").write_text(text)
    with pytest.raises(PruningError, match=needle):
        model_entries(["slimming"], tmp_path)
