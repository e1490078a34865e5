"""systolic.fileio.atomic_path: the file appears whole or not at all; with same_name the writer
sees the final file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from systolic.fileio import atomic_path


@pytest.mark.parametrize("same_name", [False, True])
def test_replaces_whole_and_leaves_nothing(tmp_path: Path, same_name: bool) -> None:
    target = tmp_path / "out" / "weights.pt"
    with atomic_path(target, same_name=same_name) as tmp:
        assert tmp.parent != target.parent or tmp.name != target.name
        if same_name:
            assert tmp.name == "weights.pt"
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["weights.pt"]


@pytest.mark.parametrize("same_name", [False, True])
def test_failed_writer_leaves_the_old_file(tmp_path: Path, same_name: bool) -> None:
    target = tmp_path / "weights.pt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, same_name=same_name) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.pt"]
