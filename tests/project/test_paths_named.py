"""Every repository path named in a comment, a docstring, the docs, the Makefile or the CI
workflow exists, so that moving a file cannot leave a stale pointer behind.

What counts as a path (anything else is prose):

- a token that starts with one of the repository's top-level folders (``rtl/``, ``engine/``,
  ``.github/``, ...) and ends in a file extension (``engine/hdl/systolic_chain.v``) or a slash
  (``engine/hdl/``); a token right after ``/``, ``.`` or a word character is part of something
  else (``build/tb/...``, a URL, ``systolic.tb``) and is not one;
- a top-level file name (``pyproject.toml``, ``README.md``, ...), see TOP_FILES;
- in the docs, the target of a Markdown link, relative to the document.

Left out: placeholders (``<out>/<method>/report.json``, ``{json,md}``, ``$(VAR)``), build outputs
(``build/...`` is not a top-level folder of the repository), and globs: of a glob
(``tests/test_*.py``, ``rtl/**``) only the folder before its first wildcard must exist.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import subprocess
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Top-level folders a path may start with: these always (a folder that is gone makes its
#: paths stale rather than prose), plus every tracked one.
TOP_FOLDERS = (
    *("rtl", "tb", "models", "engine", "verify", "bench", "formal", "mutation", "lowering"),
    *("pruning", "waves", "cli", "systolic", "scripts", "tests", "docs", "mk", ".github", ".ci"),
)
#: File names that only make sense at the top of the repository.
TOP_FILES = (
    *("README.md", "pyproject.toml", "constraints.txt", "Dockerfile", "Makefile", "setup.py"),
    *("setup.cfg", "requirements.txt", "LICENSE", "CHANGELOG.md", "CONTRIBUTING.md", "tox.ini"),
    *("noxfile.py", "ruff.toml", "mypy.ini", ".test_durations", ".dockerignore", ".gitignore"),
)
#: Characters that make a token a placeholder or a variable, not a path.
PLACEHOLDER = set("<>{}$%~=")
GLOB = set("*?[")
#: `//` and `/* */` comments (Verilog, SystemVerilog, C++, Verilator control files).
C_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")

Named = tuple[int, str]  # (line, text that may name paths)


@functools.cache
def _folders() -> list[str]:
    tracked = {p.split("/")[0] for p in _tracked() if "/" in p}
    return sorted(set(TOP_FOLDERS) | tracked, key=len, reverse=True)


@functools.cache
def _token_re() -> re.Pattern[str]:
    heads = "|".join(re.escape(f) for f in _folders())
    files = "|".join(re.escape(f) for f in TOP_FILES)
    # A path character run; lookbehind: not the tail of a longer path, URL or dotted name.
    return re.compile(rf"(?<![\w./-])((?:{heads})/[\w./*?<>{{}}$%~=+-]*|(?:{files})(?![\w.-]))")


@functools.cache
def _tracked() -> tuple[str, ...]:
    """The repository's tracked files (a checkout without git: every file but the usual
    untracked folders)."""
    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return tuple(p for p in out.splitlines() if (ROOT / p).is_file())
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "build", "artifacts", "__pycache__"}
        return tuple(
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        )


def candidates(text: str) -> list[tuple[int, str]]:
    """(offset, token) of the path-like tokens of ``text`` that are to be checked."""
    out = []
    for m in _token_re().finditer(text):
        token = m.group(1).split("#")[0].rstrip(".,:;")
        if PLACEHOLDER & set(token) or _package_path(token):
            continue
        last = token.rsplit("/", 1)[-1]
        if (
            token in TOP_FILES
            or token.endswith("/")
            or GLOB & set(token)
            or re.search(r"\.[A-Za-z0-9]+$", last)
        ):
            out.append((m.start(1), token))
    return out


def _package_path(token: str) -> bool:
    """``systolic/models/...``: the installed package's layout (systolic.models is the
    repository's models/), not a path of the repository."""
    parts = token.split("/")
    return parts[0] == "systolic" and len(parts) > 2 and parts[1] in _folders()


def missing(token: str, base: Path = ROOT) -> bool:
    """Whether ``token`` names nothing under ``base`` (of a glob: its leading folder)."""
    if GLOB & set(token):
        head = re.split(r"[*?\[]", token, maxsplit=1)[0]
        return not (base / head[: head.rfind("/") + 1]).is_dir()
    path = base / token
    return not (path.is_dir() if token.endswith("/") else path.exists())


def python_text(source: str) -> Iterator[Named]:
    """Comments and docstrings (every string statement) of a Python file."""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            yield node.lineno, node.value.value


def c_comments(source: str) -> Iterator[Named]:
    for m in C_COMMENT.finditer(source):
        yield source.count("\n", 0, m.start()) + 1, m.group(0)


def hash_comments(source: str) -> Iterator[Named]:
    """``#`` comments of shell scripts, Dockerfiles and TOML (not quoted ``#``s: good enough
    for these files, which quote no ``#``)."""
    for n, line in enumerate(source.splitlines(), 1):
        if "#" in line:
            yield n, line[line.index("#") :]


def whole(source: str) -> Iterator[Named]:
    """Every line: the docs, the Makefiles and the workflow name paths in code as well."""
    yield from enumerate(source.splitlines(), 1)


def reader(rel: str) -> Callable[[str], Iterator[Named]] | None:
    """How to read the paths a tracked file names (None: it names none that count)."""
    name = Path(rel).name
    suffix = Path(rel).suffix
    if suffix == ".py":
        return python_text
    if suffix in (".v", ".sv", ".vh", ".cpp", ".h", ".vlt", ".cjs"):
        return c_comments
    if suffix in (".sh", ".toml") or name == "Dockerfile" or rel == ".ci/run":
        return hash_comments
    if suffix == ".md" and (rel.startswith("docs/") or "/" not in rel):
        return whole
    if name == "Makefile" or suffix == ".mk" or rel.startswith(".github/"):
        return whole
    return None


def stale_in(rel: str, text: str) -> list[str]:
    """``file:line: path`` for every path ``text`` (the file ``rel``) names that is missing."""
    read = reader(rel)
    if read is None:
        return []
    out = []
    for line, chunk in read(text):
        for offset, token in candidates(chunk):
            if missing(token):
                out.append(f"{rel}:{line + chunk.count(chr(10), 0, offset)}: {token}")
        if rel.endswith(".md"):
            out += [f"{rel}:{line}: {t}" for t in _stale_links(rel, chunk)]
    return out


def _stale_links(rel: str, line: str) -> list[str]:
    """Markdown link targets that are files of the repository (relative to the document)."""
    out = []
    for target in MD_LINK.findall(line):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#")[0]
        if path and missing(path, (ROOT / rel).parent):
            out.append(path)
    return out


def _read(rel: str) -> str:
    return (ROOT / rel).read_text("utf-8", "replace")


def test_every_path_named_exists() -> None:
    stale = [s for rel in _tracked() for s in stale_in(rel, _read(rel))]
    assert not stale, "paths named that do not exist:\n" + "\n".join(stale)


@pytest.mark.parametrize(
    ("rel", "text", "found"),
    [
        # The five pointers an outside review found stale (issue 22), one per kind of file.
        ("tb/x.py", '"""Checked per cycle (bench/fastpath.py)."""\n', ["bench/fastpath.py"]),
        ("engine/x.py", "x = 1  # see tb/hdl/systolic_chain.v\n", ["tb/hdl/systolic_chain.v"]),
        ("mutation/x.py", "#: checked (tests/test_mutants.py)\nX = 1\n", ["tests/test_mutants.py"]),
        ("tests/x.py", '"""Shapes per docs/domain.md section 3."""\n', ["docs/domain.md"]),
        (".github/workflows/x.yml", "key: ${{ hashFiles('rtl/**', 'tb/hdl/**') }}", ["tb/hdl/**"]),
        ("Makefile", "\t$(PY) scripts/no_such.py\n", ["scripts/no_such.py"]),
        ("docs/x.md", "[layers](no_such.md#layers), `rtl/gone.v`", ["rtl/gone.v", "no_such.md"]),
        ("rtl/x.v", "// after tb/hdl/gone.v\nmodule m; endmodule\n", ["tb/hdl/gone.v"]),
        # Not paths, or paths that exist.
        ("docs/x.md", "`<out>/<method>/report.json`, `report.{json,md}`, `$(OUT)/x.md`\n", []),
        ("docs/x.md", "build/tb/x.v, https://example.org/tests/x.py, systolic.tb.env\n", []),
        ("docs/x.md", "`tests/test_*.py`, rtl/**, [arch](architecture.md), engine/hdl/\n", []),
        ("docs/x.md", "the tests/pruning folder; tests/project/test_paths_named.py\n", []),
        ("x.py", "# systolic/models/ is the package path of models/\n", []),
        ("x.py", "s = 'tb/hdl/gone.v'  # a string in code is data, not a pointer\n", []),
    ],
)
def test_the_checker_bites(rel: str, text: str, found: list[str]) -> None:
    assert [s.split(": ", 1)[1] for s in stale_in(rel, text)] == found
