"""Hostile inputs, generated per class for every command and option.

For each option of each ``systolic`` subcommand the table below names its kind; every kind has
classes of bad values (wrong type, NaN/inf, out of range, and paths of every kind: missing,
directory, file used as a folder, symbolic link, symbolic-link loop, device, FIFO, same as an
input, wrong format, relative to another folder). Every generated case must give exit status 2,
exactly one stderr line starting ``systolic: error:``, no traceback, leave every input file
unchanged and leave no new file behind. Hypothesis draws further values inside each class.

Cases run in-process (``systolic.cli.main``) for speed; the work a command would start
(simulator builds, training) is replaced by a tripwire, so an accepted bad value fails fast
instead of running. ``tests/cli/test_bad_inputs.py`` runs a catalog through real subprocesses.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systolic.cli import build_parser, main


class WorkStarted(Exception):
    """A bad input was accepted: the command went on to real work."""


@pytest.fixture(autouse=True)
def tripwires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the entry points of long work by a tripwire."""

    def trip(*_a: object, **_k: object) -> None:
        raise WorkStarted("the command started work on a bad input")

    from systolic.engine import build, toolchain

    monkeypatch.setattr(build, "built", trip)
    monkeypatch.setattr(toolchain, "check_simulator", trip)
    for module, name in (
        ("systolic.pruning.pipeline", "run_methods"),
        ("systolic.lowering.e2e", "run_e2e"),
        ("systolic.lowering.e2e", "lower_model"),
        ("systolic.formal.run", "prove_tasks"),
        ("systolic.bench.fpga", "run_tool"),
    ):
        mod = pytest.importorskip(module)
        monkeypatch.setattr(mod, name, trip)


# -- the sandbox: inputs of every kind --------------------------------------------------------


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Good inputs, bad paths of every kind, and an empty folder to run from."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.integers(-128, 128, (3, 2)))
    np.save(tmp_path / "b.npy", rng.integers(-128, 128, (2, 3)))
    (tmp_path / "w.vcd").write_text("$timescale 1ns $end\n")
    (tmp_path / "w.npz").write_bytes(b"not really a workload")
    _real_workload(tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("{}")
    (tmp_path / "cov").mkdir()
    (tmp_path / "file.txt").write_text("a file\n")
    (tmp_path / "dir").mkdir()
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "file.txt", tmp_path / "link.npy")
    os.mkfifo(tmp_path / "fifo.npy")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # relative paths are taken from here
    return tmp_path


def _real_workload(folder: Path) -> None:
    """A real (tiny) workload, ``wl.npz``, and its SCALE-Sim topology, ``wl.scalesim_gemm.csv``:
    the good inputs of ``report`` and ``topology``."""
    from systolic.engine.workload import build_workload, save_workload
    from systolic.lowering.topology import write_topologies
    from systolic.models.network import GemmLayer, HostOp, QuantNet

    rng = np.random.default_rng(0)
    w, bias = rng.integers(-3, 4, (2, 4)).astype(np.int8), np.zeros(2, np.int32)
    fc = GemmLayer("fc", "linear", "flat", "logits", w, np.ones(2), bias, 1.0, None)
    net = QuantNet("t", (1, 2, 2), 1.0, [HostOp("flatten", "flatten", "input", "flat"), fc])
    wl = build_workload(net, rng.random((1, 1, 2, 2)), np.zeros(1))
    save_workload(wl, folder / "wl.npz")
    write_topologies(wl, folder / "wl", conv=False)


@pytest.fixture
def readonly(box: Path) -> Iterator[Path]:
    """A folder nobody may write into: a read-only tmpfs for root (who ignores modes)."""
    ro = box / "ro"
    ro.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)], check=True)
        try:
            yield ro
        finally:
            subprocess.run(["umount", "-l", str(ro)], check=False)
    else:
        ro.chmod(0o500)
        yield ro
        ro.chmod(0o700)


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root with a digest of regular files (symlinks and FIFOs by name)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink() or path.is_fifo():
            out[rel] = "special"
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


# -- kinds of options and their classes of bad values ---------------------------------------

BAD_INT = {
    "wrong type": ["abc", "1.5", "", "0x10", "1e3", "--", "one"],
    "nan/inf": ["nan", "inf", "-inf"],
}
BAD_REAL = {
    "wrong type": ["abc", "", "1,5", "0x1p3x"],
    "nan/inf": ["nan", "NaN", "inf", "-inf", "+Infinity"],
}


def path_classes(box: Path, kind: str) -> dict[str, list[str]]:
    """Bad paths per class for an option of ``kind`` (in_file, in_dir, out_file, out_dir)."""
    through = str(box / "file.txt" / "x.npy")
    loop = str(box / "loop1")
    common = {"path through a file": [through], "symlink loop": [loop]}
    if kind == "in_file":
        return {
            **common,
            "missing": [str(box / "missing.npy")],
            "relative from another folder": ["a.npy"],
            "directory": [str(box / "dir")],
            "device": ["/dev/null"],
            "fifo": [str(box / "fifo.npy")],
        }
    if kind == "in_dir":
        return {
            **common,
            "missing": [str(box / "missing")],
            "relative from another folder": ["model"],
            "file": [str(box / "file.txt")],
        }
    if kind == "out_file":
        return {
            **common,
            "unwritable": [str(box / "ro" / "x.npy"), str(box / "ro" / "new" / "x.npy")],
            "directory": [str(box / "dir")],
            "device": ["/dev/null"],
            "fifo": [str(box / "fifo.npy")],
            "symlink": [str(box / "link.npy")],
        }
    if kind == "out_dir":
        return {
            **common,
            "file": [str(box / "file.txt")],
            "device": ["/dev/null"],
            "unwritable": [str(box / "ro"), str(box / "ro" / "new")],
        }
    raise AssertionError(kind)


@dataclass(frozen=True)
class Opt:
    """One option: its flag ('' for a positional), kind, and kind-specific data."""

    flag: str
    kind: str  # int, real, seed, enum, sizes, in_file, in_dir, out_file, out_dir, text
    out_of_range: tuple[str, ...] = ()
    wrong_format: tuple[str, ...] = ()  # out_file: names whose suffix the command cannot write


ARRAY = (
    Opt("--sim", "enum"),
    Opt("--rows", "int", ("0", "-3", "33", "99999999999999999999")),
    Opt("--cols", "int", ("0", "33")),
    Opt("--data-w", "int", ("1", "17")),
    Opt("--acc-w", "int", ("65", "7")),
    Opt("--mul-reg", "int", ("2", "-1", "10")),
    Opt("--seed", "seed", ("-1", "4294967296")),
)

#: The accelerator top's result port (sim and e2e, with --top accel).
PORT = (Opt("--out-rows", "int", ("0", "33")), Opt("--shadows", "int", ("0", "5")))

#: command -> (good base argv, options). {box} in the base is the sandbox folder.
COMMANDS: dict[str, tuple[tuple[str, ...], tuple[Opt, ...]]] = {
    "sim": (
        ("sim",),
        (
            *ARRAY,
            Opt("--sizes", "sizes"),
            Opt("--workload", "in_file"),
            Opt("--top", "enum"),
            Opt("--jobs", "int", ("0", "-1", "257")),
            *PORT,
        ),
    ),
    "run": (("run",), ARRAY),
    "gemm": (
        ("gemm", "--a", "{box}/a.npy", "--b", "{box}/b.npy", "--out", "{box}/out/c.npy"),
        (
            *ARRAY,
            Opt("--a", "in_file"),
            Opt("--b", "in_file"),
            Opt("--out", "out_file", wrong_format=("c.npz", "c.txt", "c")),
        ),
    ),
    "coverage": (
        ("coverage", "{box}/cov"),
        (Opt("", "in_dir"), Opt("--out", "out_file", wrong_format=("m.json",))),
    ),
    "mutate": (
        ("mutate",),
        (
            Opt("--sizes", "sizes"),
            Opt("--seed", "seed", ("-1",)),
            Opt("--out", "out_dir"),
            Opt("--engine", "enum"),
            Opt("--class", "enum"),
        ),
    ),
    "flake": (
        ("flake",),
        (
            Opt("--runs", "int", ("1", "0", "-2")),
            Opt("--sizes", "sizes"),
            Opt("--seed", "seed", ("-1",)),
            Opt("--sim", "enum"),
        ),
    ),
    "bench": (
        ("bench",),
        (
            Opt("--sizes", "sizes"),
            Opt("--sim", "enum"),
            Opt("--scalesim-max-cycles", "int", ("-1",)),
            Opt("--out-rows", "int", ("1", "33", "2,2")),
            Opt("--shadows", "int", ("0", "5")),
            Opt("--mul-reg", "int", ("2", "-1")),
            Opt("--out", "out_file", wrong_format=("b.csv",)),
        ),
    ),
    "bench-sim": (
        ("bench-sim",),
        (
            Opt("--sizes", "sizes"),
            Opt("--sim", "enum"),
            Opt("--cycles", "int", ("5", "-1")),
            Opt("--repeat", "int", ("0",)),
            Opt("--seed", "seed", ("-1",)),
            Opt("--out", "out_file", wrong_format=("b.txt",)),
        ),
    ),
    "fpga": (
        ("fpga",),
        (
            Opt("--sizes", "sizes"),
            Opt("--designs", "enum", ("systolic_array,systolic_array", "systolic_pe")),
            Opt("--data-w", "int", ("1", "17")),
            Opt("--acc-w", "int", ("65", "3", "15")),  # 15 < 2*DATA_W (8 by default)
            Opt("--mul-reg", "int", ("2", "-1")),
            Opt("--freq", "real", ("0", "0.5", "-150", "1001")),
            Opt("--seed", "seed", ("-1", "4294967296")),
            Opt("--out", "out_file", wrong_format=("f.csv", "f")),
        ),
    ),
    "waves": (
        ("waves", "{box}/w.vcd"),
        (
            Opt("", "in_file"),
            Opt("--stream", "int", ("-1",)),
            Opt("--png", "out_dir"),
            Opt("--gif", "out_file", wrong_format=("x.png",)),
            Opt("--html", "out_file", wrong_format=("x.gif",)),
            Opt("--summary", "out_file", wrong_format=("x.gif",)),
            Opt("--fps", "real", ("0", "-1", "1000")),
            Opt("--max-frames", "int", ("0",)),
            Opt("--gtkw", "out_file", wrong_format=("w.vcd", "x.txt")),
        ),
    ),
    "prune": (
        ("prune", "--out", "{box}/out"),
        (
            Opt("--method", "enum"),
            Opt("--model", "enum"),
            Opt("--out", "out_dir"),
            Opt("--ratio", "real", ("0", "1", "1.5", "-0.1")),
            Opt("--sparsity", "real", ("-1",)),
            Opt("--min-channels", "int", ("-1",)),
            Opt("--round-to", "int", ("0",)),
            Opt("--keep-rate", "real", ("0", "1")),
            Opt("--se-threshold", "real", ("0", "2")),
            Opt("--se-sparsity", "real", ("-0.5",)),
            Opt("--groups", "int", ("0",)),
            Opt("--block-sparsity", "real", ("-1",)),
            Opt("--epochs", "int", ("0",)),
            Opt("--finetune-epochs", "int", ("-1",)),
            Opt("--width", "int", ("0",)),
            Opt("--batch", "int", ("0",)),
            Opt("--seed", "seed", ("-1",)),
            Opt("--threads", "int", ("0",)),
            Opt("--inspect", "in_dir"),
            # A user's model (--model SPEC): given to a digits run, or bad, each is refused.
            Opt("--weights", "in_file"),
            Opt("--amount", "real", ("-0.1", "1", "2")),
            Opt("--target", "real", ("0", "-1", "0.5")),
            Opt("--criterion", "enum"),
            Opt("--data", "in_file"),
            Opt("--rows", "int", ("0", "33")),
            Opt("--cols", "int", ("0", "33")),
        ),
    ),
    "report": (
        ("report", "{box}/wl.npz", "--out", "{box}/out"),
        (
            Opt("", "in_file"),
            Opt("--run", "in_file"),
            Opt("--pruned", "in_file"),
            Opt("--pruned-run", "in_file"),
            Opt("--rows", "int", ("0", "33")),
            Opt("--cols", "int", ("0", "33")),
            Opt("--out", "out_dir"),
        ),
    ),
    "topology": (
        ("topology", "{box}/wl.scalesim_gemm.csv"),
        (
            Opt("", "in_file"),
            Opt("--rows", "int", ("0", "33")),
            Opt("--cols", "int", ("0", "33")),
            Opt("--out", "out_file", wrong_format=("t.npz",)),
        ),
    ),
    "lower": (
        ("lower", "{box}/model", "--out", "{box}/out/w.npz"),
        (
            Opt("", "in_dir"),
            Opt("--out", "out_file", wrong_format=("w.npy", "w")),
            Opt("--images", "int", ("0", "-5")),
            Opt("--model", "in_file"),
            Opt("--weights", "in_file"),
            Opt("--calib", "in_file"),
            Opt("--rows", "int", ("0", "33")),
            Opt("--cols", "int", ("0", "33")),
        ),
    ),
    "formal": (
        ("formal",),
        (
            Opt("--tier", "enum"),
            Opt("--rtl-dir", "in_dir"),
            Opt("--out", "out_dir"),
            Opt("--jobs", "int", ("0", "65")),
        ),
    ),
    "e2e": (
        ("e2e", "--out", "{box}/out", "--prune-dir", "{box}/pr"),
        (
            Opt("--sim", "enum"),
            Opt("--rows", "int", ("0", "33")),
            Opt("--cols", "int", ("0",)),
            Opt("--images", "int", ("0",)),
            Opt("--seed", "seed", ("-1",)),
            Opt("--prune-dir", "out_dir"),
            Opt("--out", "out_dir"),
            Opt("--top", "enum"),
            *PORT,
        ),
    ),
}

#: Options with an input file, so that "same as an input" can be generated for outputs.
SAME_AS_INPUT = {"gemm": "{box}/a.npy", "waves": "{box}/w.vcd", "lower": "{box}/model"}


def bad_values(box: Path, command: str, opt: Opt) -> dict[str, list[str]]:
    """Every class of bad value for one option."""
    k = opt.kind
    if k in ("int", "seed"):
        classes = dict(BAD_INT)
    elif k == "real":
        classes = dict(BAD_REAL)
    elif k == "enum":
        classes = {"unknown choice": ["nope", "", "ICARUS"]}
    elif k == "sizes":
        classes = {"wrong type": ["4by4", "4x", "axb", ""], "out of range": ["0x4", "33x1"]}
    else:
        classes = path_classes(box, k)
    if opt.out_of_range:
        classes["out of range"] = list(opt.out_of_range)
    if opt.wrong_format:
        classes["wrong format"] = [str(box / "out" / name) for name in opt.wrong_format]
    if k in ("out_file", "out_dir") and command in SAME_AS_INPUT:
        same = SAME_AS_INPUT[command].replace("{box}", str(box))
        if k == "out_file" and not same.endswith("model"):
            classes["same as input"] = [same]
    return classes


def argv_with(base: tuple[str, ...], opt: Opt, value: str, box: Path) -> list[str]:
    """The base command line with ``opt`` set to ``value`` (replacing its good value)."""
    argv = [a.replace("{box}", str(box)) for a in base]
    if not opt.flag:  # the positional: the base's second word
        return [argv[0], value, *argv[2:]]
    if opt.flag in argv:
        i = argv.index(opt.flag)
        return [*argv[:i], *argv[i + 2 :], f"{opt.flag}={value}"]
    return [*argv, f"{opt.flag}={value}"]


def cases(box: Path) -> Iterator[tuple[str, str, str, str, list[str]]]:
    for command, (base, opts) in COMMANDS.items():
        for opt in opts:
            for cls, values in bad_values(box, command, opt).items():
                for value in values:
                    yield (
                        command,
                        opt.flag or "<positional>",
                        cls,
                        value,
                        argv_with(base, opt, value, box),
                    )


def check_refused(argv: list[str], box: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run one case; assert the promise; return the error line."""
    before = snapshot(box)
    capsys.readouterr()
    try:
        rc = main(argv)
    except WorkStarted:
        pytest.fail(f"accepted, work started: systolic {' '.join(argv)}")
    except SystemExit as exc:  # only --help may exit this way
        pytest.fail(f"SystemExit({exc.code}) escaped main: systolic {' '.join(argv)}")
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, f"exit {rc}: systolic {' '.join(argv)}\n{err}"
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), (argv, err)
    assert "Traceback" not in err
    assert snapshot(box) == before, f"files changed: systolic {' '.join(argv)}"
    return lines[0]


def test_every_command_is_in_the_table() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = set(sub.choices)  # type: ignore[union-attr]
    without_options = {"lint", "doctor"}
    assert commands - without_options - set(COMMANDS) == set(), "add the new command here"


def test_every_option_is_in_the_table() -> None:
    """Every option that takes a value is listed (flags without a value need no bad value)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    # Free text (names, lists, a C,H,W shape) checked by the commands' own tests.
    skip = {"--test", "--only", "--name", "--methods", "--pe", "--region", "--cycles", "--mode"}
    skip |= {"--input-shape"}
    for command, (_, opts) in COMMANDS.items():
        listed = {o.flag for o in opts}
        p = sub.choices[command]  # type: ignore[index]
        for action in p._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            flag = max(action.option_strings, key=len)
            if flag in skip or flag in ("--help",) or action.const is not None:
                continue
            if flag == "--gtkw":
                continue
            assert flag in listed, f"systolic {command} {flag} has no bad-value classes"


@pytest.mark.slow  # hundreds of CLI runs: not in make unit
def test_generated_catalog(box: Path, readonly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every class of every option of every command: one line, exit 2, nothing touched."""
    counts: dict[str, int] = {}
    for command, flag, cls, value, argv in cases(box):
        line = check_refused(argv, box, capsys)
        named = flag.lstrip("-").replace("-", "_").upper() in line.upper().replace("-", "_")
        assert named or flag == "<positional>", (argv, line)
        counts[cls] = counts.get(cls, 0) + 1
        del command, value
    # Every class is exercised somewhere (the per-class counts go in the report).
    expected = {
        "wrong type",
        "nan/inf",
        "out of range",
        "unknown choice",
        "missing",
        "directory",
        "file",
        "path through a file",
        "symlink",
        "symlink loop",
        "device",
        "fifo",
        "same as input",
        "wrong format",
        "relative from another folder",
        "unwritable",
    }
    assert expected <= set(counts), expected - set(counts)
    print("generated cases per class:", dict(sorted(counts.items())))


def _any_option(draw: Callable, box: Path) -> tuple[str, Opt, tuple[str, ...]]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    base, opts = COMMANDS[command]
    numeric = [o for o in opts if o.kind in ("int", "seed", "real")]
    if not numeric:
        return _any_option(draw, box)
    return command, draw(st.sampled_from(numeric)), base


@pytest.mark.slow  # hundreds of CLI runs: not in make unit
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_text_for_numeric_options(
    data: st.DataObject, box: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Arbitrary text that is not a number, and numbers far outside any range, are refused."""
    _, opt, base = _any_option(data.draw, box)
    junk = data.draw(
        st.one_of(
            st.text(min_size=1, max_size=12).filter(lambda t: not _is_number(t)),
            st.sampled_from(["nan", "-nan", "inf", "-inf", "1e999"]),
            st.integers(min_value=10**20).map(str),
            st.integers(max_value=-(10**20)).map(str),
        )
    )
    check_refused(argv_with(base, opt, junk, box), box, capsys)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
