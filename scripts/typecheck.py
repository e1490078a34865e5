#!/usr/bin/env python3
"""mypy over the ``systolic`` package (configuration: pyproject.toml, [tool.mypy]).

pyproject.toml's package-dir maps one import package onto the repository's top-level folders
(``systolic.models`` -> ``models/``, ``systolic.rtl`` -> ``rtl/`` ...). The editable install
resolves that with an import hook, which mypy does not run: mypy finds modules on disk only. So
this script lays the package out as mypy expects it, a tree of symlinks in build/mypy/src
(``systolic/models`` -> ``models/`` ..., made afresh from package-dir on every run), runs mypy
on it (``mypy_path`` and ``packages`` in [tool.mypy] point there), and prints mypy's report
with the tree's paths turned back into the repository's own (``models/gemm.py:12: error: ...``).

    python scripts/typecheck.py                  # what `make lint` runs; exit status: mypy's
    python scripts/typecheck.py --no-incremental # any other mypy arguments are passed on
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # mypy depends on tomli before Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "mypy" / "src"


def package_dirs() -> dict[str, str]:
    """pyproject.toml's [tool.setuptools] package-dir: package name -> folder."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return dict(tomllib.load(f)["tool"]["setuptools"]["package-dir"])


def build_tree(mapping: dict[str, str]) -> dict[str, str]:
    """Symlink tree of the packages under TREE; returns tree path prefix -> repository prefix."""
    shutil.rmtree(TREE, ignore_errors=True)
    prefixes: dict[str, str] = {}
    for package, folder in sorted(mapping.items()):
        dest = TREE.joinpath(*package.split("."))
        source = ROOT / folder
        has_children = any(p.startswith(package + ".") for p in mapping)
        if has_children:
            # A parent package: a real folder, so its children's links can go inside it.
            dest.mkdir(parents=True, exist_ok=True)
            for entry in sorted(source.iterdir()):
                if entry.is_file() and entry.suffix in (".py", ".pyi", ".typed"):
                    os.symlink(entry, dest / entry.name)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(source, dest, target_is_directory=True)
        prefixes[os.path.relpath(dest, ROOT) + os.sep] = os.path.relpath(source, ROOT) + os.sep
    return prefixes


def main(argv: list[str]) -> int:
    from mypy import api

    os.chdir(ROOT)
    prefixes = build_tree(package_dirs())
    # Longest first: systolic/models/ before systolic/.
    order = sorted(prefixes, key=len, reverse=True)

    def real(line: str) -> str:
        for prefix in order:
            if line.startswith(prefix):
                return prefixes[prefix] + line[len(prefix) :]
        return line

    out, err, status = api.run(argv)
    sys.stdout.write("".join(real(line) for line in out.splitlines(keepends=True)))
    sys.stderr.write(err)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
