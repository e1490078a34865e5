"""Pictures and the ``systolic waves`` command: the data behind each frame, the files written,
large arrays summarized, and bad input reported as one line with exit status 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from systolic.cli import main
from systolic.engine import config, runner
from systolic.engine.config import RunSettings
from systolic.models import ArrayParams, EdgeStimulus, simulate
from systolic.waves import render
from systolic.waves.timeline import format_text, read_timeline, stim_dir

FIELDS = ("a", "a_vld", "a_first", "a_last", "b", "b_vld", "rst")


def _vcd(tmp_path_factory, params: ArrayParams) -> Path:
    folder = tmp_path_factory.mktemp(f"render_{params.tag}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.WAVES_DIR, str(folder))
        mp.delenv(config.COV_DIR, raising=False)
        res = runner.run(
            RunSettings("icarus", seed=1, waves=True, build_root=folder / "build"),
            params,
            ["test_lecture_3x3"],
        )
    assert res.passed, res.summary()
    return res.waves["test_lecture_3x3"]


@pytest.fixture(scope="module")
def lecture(tmp_path_factory) -> Path:
    return _vcd(tmp_path_factory, ArrayParams(3, 3))


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    return _vcd(tmp_path_factory, ArrayParams(9, 9))


def _model(vcd: Path, params: ArrayParams):
    with np.load(next(iter(sorted(stim_dir(vcd).glob("*.npz"))))) as d:
        stim = EdgeStimulus(**{k: d[k] for k in FIELDS})
    return stim, simulate(stim, params)


pytestmark = pytest.mark.sim


def test_frames_hold_the_values_of_the_vcd(lecture) -> None:
    p = ArrayParams(3, 3)
    stim, trace = _model(lecture, p)
    tl = read_timeline(lecture)
    frames = render.make_frames(tl)
    last_fire = int(np.flatnonzero(trace.fire.any(axis=(1, 2)))[-1])
    # Default: from the cycle before the first operand to one after the last activity.
    assert [f.cycle for f in frames] == list(range(-1, last_fire + 2))
    for f in frames[1:]:
        t = f.cycle
        assert np.array_equal(f.acc, trace.acc[t]) and np.array_equal(f.res, trace.res[t])
        assert np.array_equal(f.fire, trace.fire[t]) and np.array_equal(f.res_vld, trace.res_vld[t])
        # The diagonal wavefront: PEs firing at cycle t lie on anti-diagonals i+j <= t.
        assert all(i + j <= t for i, j in np.argwhere(f.fire))
    # Before cycle 0 the whole skewed A and B wait outside the array: lane i is i cycles late.
    first = frames[0]
    depth = first.west.shape[1]
    assert depth >= 5
    assert np.array_equal(first.west_vld, stim.a_vld[:depth].T)
    assert np.array_equal(first.west[first.west_vld], stim.a[:depth].T[stim.a_vld[:depth].T])
    assert np.array_equal(first.north_vld, stim.b_vld[:depth].T)
    assert np.array_equal(first.north[first.north_vld], stim.b[:depth].T[stim.b_vld[:depth].T])
    assert not first.fire.any() and not first.acc.any()
    assert len(render.make_frames(tl, (2, 5))) == 4


def test_png_gif_and_html_carry_every_frame(lecture, tmp_path) -> None:
    from PIL import Image

    rc = main(
        [
            "waves", str(lecture), "--cycles", "0:6",
            "--png", str(tmp_path / "png"), "--gif", str(tmp_path / "a.gif"),
            "--html", str(tmp_path / "a.html"), "--summary", str(tmp_path / "s.png"),
        ]
    )  # fmt: skip
    assert rc == 0
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert [p.name for p in pngs] == [f"cycle_{t:04d}.png" for t in range(7)]
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 7
    page = (tmp_path / "a.html").read_text()
    assert page.count("iVBORw0KGgo") >= 7 + 1  # 7 embedded PNGs (+ the first shown)
    data = json.loads(re.search(r'id="frame-data">(.*?)</script>', page, re.S)[1])
    tl = read_timeline(lecture)
    assert [d["cycle"] for d in data] == list(range(7))
    for d in data:
        k = tl.index(d["cycle"])
        assert d["acc"] == tl.acc[k].tolist() and d["fire"] == tl.fire[k].astype(int).tolist()
    with Image.open(tmp_path / "s.png") as img:
        assert img.size[0] > 500


def test_text_timeline_of_one_pe(lecture, capsys) -> None:
    _, trace = _model(lecture, ArrayParams(3, 3))
    assert main(["waves", str(lecture), "--pe", "1,2", "--cycles", "0:8"]) == 0
    out = capsys.readouterr().out
    accs = [int(x) for x in re.findall(r"PE\(1,2\) .* acc=\s*(-?\d+)", out)]
    assert accs == trace.acc[0:9, 1, 2].tolist()
    assert len(re.findall(r"^cycle ", out, re.M)) == 9 and "PE(0,0)" not in out
    assert main(["waves", str(lecture), "--region", "0-1,1-2", "--cycles", "3"]) == 0
    out = capsys.readouterr().out
    assert re.findall(r"PE\((\d),(\d)\)", out) == [("0", "1"), ("0", "2"), ("1", "1"), ("1", "2")]


def test_large_array_is_summarized(large, tmp_path) -> None:
    p = ArrayParams(9, 9)
    _, trace = _model(large, p)
    tl = read_timeline(large)
    assert tl.params == p
    text = format_text(tl, cycles=(0, 6))
    fires = [int(x) for x in re.findall(r"(\d+) PEs fire", text)]
    assert fires == trace.fire[0:7].sum(axis=(1, 2)).tolist()
    frames = render.make_frames(tl, (0, 3))
    images = render.render(frames)  # heat maps above 8x8
    assert len(images) == 4 and all(b.startswith(b"\x89PNG") for b in images)
    assert np.array_equal(frames[3].acc, trace.acc[3])


def _run_cli(argv: list[str], capsys) -> tuple[int, str]:
    rc = main(argv)
    return rc, capsys.readouterr().err.strip()


def test_bad_input_is_one_line(lecture, tmp_path, capsys) -> None:
    good = lecture.read_bytes()
    cut = tmp_path / "truncated.vcd"
    body = good.index(b"$enddefinitions")
    cut.write_bytes(good[: body + (len(good) - body) // 2].rstrip(b"\n") + b"\nb10")
    header_only = tmp_path / "header.vcd"
    header_only.write_bytes(good[:200])
    junk = tmp_path / "junk.vcd"
    junk.write_text("this is not a VCD\n")
    binary = tmp_path / "bin.vcd"
    binary.write_bytes(b"\x00\x01\x02garbage")
    empty = tmp_path / "empty.vcd"
    empty.write_bytes(b"")
    other = tmp_path / "other.vcd"
    other.write_text(
        "$timescale 1ps $end\n$scope module top $end\n$var wire 1 ! clk $end\n"
        "$upscope $end\n$enddefinitions $end\n#0\n0!\n#10\n1!\n"
    )
    cases = {
        "missing.vcd: no such file": [str(tmp_path / "missing.vcd")],
        "truncated VCD": [str(cut)],
        "truncated or corrupt VCD header": [str(header_only)],
        "not a VCD": [str(junk)],
        "not a VCD file": [str(binary)],
        "empty file": [str(empty)],
        "no systolic_array signals": [str(other)],
        "not a file": [str(tmp_path)],
        "outside the 3x3 array": [str(lecture), "--pe", "3,0"],
        "bad PE": [str(lecture), "--pe", "x"],
        "bad region": [str(lecture), "--region", "0-1"],
        "bad cycle range": [str(lecture), "--cycles", "a:b"],
        "no cycle of the range": [str(lecture), "--cycles", "900:901"],
        "stream 5 does not exist": [str(lecture), "--stream", "5"],
        "frames (limit 2)": [str(lecture), "--gif", str(tmp_path / "x.gif"), "--max-frames", "2"],
    }
    for what, args in cases.items():
        rc, err = _run_cli(["waves", *args], capsys)
        assert rc == 2, (what, err)
        assert err.startswith("systolic: error: ") and what in err, (what, err)
        assert "\n" not in err, err
    assert not (tmp_path / "x.gif").exists()


def test_make_waves_without_gtkwave_prints_how_to_open(lecture, tmp_path, monkeypatch, capsys):
    import shutil

    from systolic.verify import show

    monkeypatch.setenv(config.WAVES_DIR, str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent")  # no gtkwave
    target = runner.wave_path(RunSettings("icarus"), ArrayParams(3, 3), "test_lecture_3x3")
    shutil.copy(lecture, target)  # present: nothing is simulated
    assert show.main(["--sim", "icarus", "--test", "test_lecture_3x3"]) == 0
    out = capsys.readouterr().out
    gtkw = target.with_suffix(".gtkw")
    assert gtkw.is_file() and "GTKWave is not installed" in out
    assert f"gtkwave {target}" in out or f"gtkwave {target.name}" in out
    assert "surfer " in out and "systolic waves " in out
