"""Moving a finished output into place (a simulator's wave file and its stimulus folder): the
destination is whole or absent, never partial, whatever file system it is on."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from systolic import fileio
from systolic.fileio import OutputError, discard, move_into_place


def _made(tmp: Path) -> tuple[Path, Path]:
    """A file and a folder of files to move."""
    f = tmp / "src" / "w.vcd"
    d = tmp / "src" / "w.stim"
    d.mkdir(parents=True)
    f.write_bytes(b"$timescale 1ps $end\n" * 500)
    for k in range(3):
        (d / f"t_{k}.npz").write_bytes(bytes([k]) * 3000)
    return f, d


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (another file system than tmp_path); root only."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=False
    )
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_move_on_one_file_system_replaces(tmp_path: Path) -> None:
    f, d = _made(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "w.vcd").write_text("old")
    (out / "w.stim").mkdir()
    (out / "w.stim" / "stale.npz").write_text("old")
    move_into_place(d, out / "w.stim")
    move_into_place(f, out / "w.vcd")
    assert (out / "w.vcd").read_bytes().startswith(b"$timescale")
    assert sorted(p.name for p in (out / "w.stim").iterdir()) == [f"t_{k}.npz" for k in range(3)]
    assert not f.exists() and not d.exists()


def test_move_to_another_file_system_copies_whole(tmp_path: Path, small_disk: Path) -> None:
    f, d = _made(tmp_path)
    move_into_place(d, small_disk / "w.stim")
    move_into_place(f, small_disk / "w.vcd")
    assert (small_disk / "w.vcd").stat().st_size == 20 * 500
    assert len(list((small_disk / "w.stim").iterdir())) == 3
    assert not f.exists() and not d.exists()


def test_full_file_system_leaves_nothing(tmp_path: Path, small_disk: Path) -> None:
    f, d = _made(tmp_path)
    (small_disk / "filler").write_bytes(b"\0" * (60 << 10))
    for src, name in ((d, "w.stim"), (f, "w.vcd")):
        with pytest.raises(OutputError, match="No space left on device") as exc:
            move_into_place(src, small_disk / name)
        assert "\n" not in str(exc.value) and name in str(exc.value)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def test_failed_copy_leaves_nothing_without_root(tmp_path: Path, monkeypatch) -> None:
    """Another file system (EXDEV) whose copy fails half-way: no partial destination."""
    f, d = _made(tmp_path)
    out = tmp_path / "out"
    real_replace = os.replace

    def replace(src, dst):
        if Path(src) in (f, d):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_replace(src, dst)

    def copy_half(src, dst, *args, **kwargs):
        Path(dst).write_bytes(Path(src).read_bytes()[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio.os, "replace", replace)
    monkeypatch.setattr(shutil, "copyfile", copy_half)
    monkeypatch.setattr(shutil, "copy2", copy_half)
    for src, name in ((f, "w.vcd"), (d, "w.stim")):
        with pytest.raises(OutputError, match="No space left on device"):
            move_into_place(src, out / name)
    assert list(out.iterdir()) == []


def test_discard_removes_files_and_folders_and_ignores_missing(tmp_path: Path) -> None:
    f, d = _made(tmp_path)
    discard(f, d, tmp_path / "never-there")
    assert not f.exists() and not d.exists()
