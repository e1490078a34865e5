"""A finished build is reused only while its products are the ones its stamp records: a
simulator binary cut short or changed after the build (full disk, a copy, a user) is rebuilt,
never run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from systolic.engine import build, runner
from systolic.engine.build import BUILD_STAMP, shared_build
from systolic.engine.config import RunSettings
from systolic.models.params import ArrayParams


class FakeBuild:
    """A build that writes one executable and one plain file, and counts the real builds."""

    def __init__(self, bdir: Path) -> None:
        self.bdir = bdir
        self.builds = 0

    def __call__(self) -> None:
        exe = self.bdir / "obj" / "Vtop"
        if exe.exists():  # a finished build: the runner's build call has nothing to do
            return
        self.builds += 1
        exe.parent.mkdir(parents=True, exist_ok=True)
        exe.write_bytes(b"\x7fELF" + bytes(range(256)) * 16)
        exe.chmod(0o755)
        (self.bdir / "build.log").write_text("built\n")

    def use(self) -> None:
        with shared_build(self.bdir, {"sim": "fake"}, [], self):
            pass


def test_a_changed_product_is_rebuilt(tmp_path: Path) -> None:
    fake = FakeBuild(tmp_path / "b")
    fake.use()
    fake.use()
    assert fake.builds == 1
    stamp = json.loads((fake.bdir / BUILD_STAMP).read_text())
    assert list(stamp["products"]) == [os.path.join("obj", "Vtop")]
    exe = fake.bdir / "obj" / "Vtop"
    size = exe.stat().st_size
    os.truncate(exe, size // 2)  # cut short
    fake.use()
    assert fake.builds == 2 and exe.stat().st_size == size
    data = bytearray(exe.read_bytes())
    data[100] ^= 0xFF  # the same size, other bytes
    exe.write_bytes(bytes(data))
    fake.use()
    assert fake.builds == 3
    exe.unlink()
    fake.use()
    assert fake.builds == 4
    (fake.bdir / "build.log").write_text("edited\n")  # not a product: no rebuild
    fake.use()
    assert fake.builds == 4


def test_a_build_call_that_rewrites_its_products_is_recorded_not_wiped(tmp_path: Path) -> None:
    """A build step run on every use that writes the binary again from the same sources, with
    other bytes (Icarus puts addresses in a vvp file): its result is recorded, not wiped."""
    bdir = tmp_path / "b"
    uses = []

    def compile_again() -> None:
        uses.append(1)
        (bdir / "obj").mkdir(parents=True, exist_ok=True)
        if len(uses) == 1:
            (bdir / "first.log").write_text("made by the first build\n")
        exe = bdir / "obj" / "sim.vvp"
        exe.write_bytes(f"#! vvp {len(uses)}\n".encode() * 50)
        exe.chmod(0o755)

    for _ in range(3):
        with shared_build(bdir, {"sim": "fake"}, [], compile_again):
            pass
    assert (bdir / "first.log").is_file(), "a finished build was wiped"
    recorded = json.loads((bdir / BUILD_STAMP).read_text())["products"]
    assert recorded == build.build_products(bdir)


def test_a_stamp_without_products_is_rebuilt(tmp_path: Path) -> None:
    """A stamp of the earlier format (the key alone) names no product: built again once."""
    fake = FakeBuild(tmp_path / "b")
    fake.use()
    stamp = fake.bdir / BUILD_STAMP
    stamp.write_text(json.loads(stamp.read_text())["key"])
    fake.use()
    fake.use()
    assert fake.builds == 2


#: The simulator binary of an array build: Icarus's vvp file, Verilator's executable (the
#: Verilator build takes half a minute: nightly tier).
BINARIES = [
    pytest.param("icarus", "sim.vvp", id="icarus"),
    pytest.param("verilator", build.TOPLEVEL, id="verilator", marks=pytest.mark.nightly),
]


@pytest.mark.sim
@pytest.mark.parametrize(("sim", "binary"), BINARIES)
def test_truncated_simulator_binary_is_rebuilt_and_the_run_passes(
    sim: str, binary: str, tmp_path: Path
) -> None:
    """The binary cut in half after a finished build; the next run rebuilds it and passes."""
    p = ArrayParams(2, 2)
    exe = build.build(RunSettings(sim, build_root=tmp_path), p) / binary
    size = exe.stat().st_size
    os.truncate(exe, size // 2)
    res = runner.run(RunSettings(sim, build_root=tmp_path), p, ["test_lecture_3x3"])
    assert res.passed, res.summary()
    assert exe.stat().st_size == size
