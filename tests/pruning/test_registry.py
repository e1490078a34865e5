"""The registry of pruning methods is the one list: the command line, the pipeline, the reports,
the Makefiles and the docs derive from it, and no other file lists the methods again."""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
from pathlib import Path

import pytest

from systolic.cli import build_parser
from systolic.cli.lowering import _methods as e2e_methods
from systolic.cli.prune import METHOD_OPTIONS
from systolic.errors import LoweringError
from systolic.lowering import report as e2e_report
from systolic.pruning import pipeline, registry
from systolic.pruning import report as prune_report
from systolic.pruning.config import PruneConfig, method_spec
from systolic.pruning.errors import PruningError
from systolic.pruning.registry import FAMILIES, NAMES, REGISTRY

ROOT = Path(__file__).resolve().parents[2]
NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def _subparser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _groups(p: argparse.ArgumentParser) -> dict[str, set[str]]:
    return {
        g.title or "": {o for a in g._group_actions for o in a.option_strings}
        for g in p._action_groups
    }


def test_names_are_unique_and_each_has_its_implementation() -> None:
    assert len(set(NAMES)) == len(NAMES) and NAMES
    assert tuple(pipeline.IMPLEMENTATIONS) == NAMES
    for m in REGISTRY:
        assert type(pipeline.get_method(m.name)) is type(m.load())
        assert m.families and set(m.families) <= set(FAMILIES)


def test_an_implementation_of_another_name_is_refused() -> None:
    wrong = registry.MethodInfo(
        "magic", "Magic", ("plain",), "p", "systolic.pruning.slimming:NetworkSlimming", ()
    )
    with pytest.raises(PruningError, match="is named 'slimming', not 'magic'"):
        wrong.load()
    with pytest.raises(PruningError, match="unknown method 'magic'; choose from slimming"):
        registry.get("magic")


def test_prune_choices_and_option_groups_come_from_the_registry() -> None:
    p = _subparser("prune")
    by_dest = {a.dest: a for a in p._actions}
    assert tuple(by_dest["method"].choices) == (*NAMES, "all")
    # --model takes a family or a user's factory spec: the families it names come from here.
    assert f"({', '.join(FAMILIES)};" in by_dest["model"].help
    groups = _groups(p)
    for m in REGISTRY:
        own = {o for o in m.options if registry.users(o) == (m.name,)}
        assert groups[f"{m.title} (--method {m.name})"] == own
    shared = {o for m in REGISTRY for o in m.options if len(registry.users(o)) > 1}
    assert groups["settings of several methods"] == shared
    assert set(METHOD_OPTIONS) == {o for m in REGISTRY for o in m.options}


def test_every_model_refusal_is_the_registry_premise() -> None:
    for m in REGISTRY:
        for family in FAMILIES:
            refusal = m.refusal(family)
            assert (refusal is None) == (family in m.families)
            if refusal is None:
                continue
            assert m.premise in refusal
            with pytest.raises(PruningError) as exc:
                method_spec(PruneConfig(model=family), m.name)
            assert str(exc.value) == refusal


def test_e2e_methods_come_from_the_registry() -> None:
    assert e2e_methods("all") == list(NAMES)
    assert _subparser("e2e").get_default("methods") == "all"
    assert e2e_methods(f" {NAMES[-1]},{NAMES[0]},{NAMES[-1]}") == [NAMES[-1], NAMES[0]]
    with pytest.raises(LoweringError, match=f"choose from {', '.join(NAMES)} or all"):
        e2e_methods("magic")


def test_reports_take_their_targets_from_the_registry() -> None:
    marked = tuple(m.name for m in REGISTRY if m.targets)
    assert prune_report.TARGET_METHODS == marked == e2e_report.TARGET_METHODS


def test_the_docs_table_is_the_registry() -> None:
    """docs/pruning.md shows ``python -m systolic.pruning.registry --markdown`` as it is."""
    assert registry.markdown_table() in (ROOT / "docs" / "pruning.md").read_text(), (
        "docs/pruning.md: paste `python -m systolic.pruning.registry --markdown`"
    )


def test_every_method_has_its_section_in_the_docs() -> None:
    text = (ROOT / "docs" / "pruning.md").read_text()
    for m in REGISTRY:
        module = m.implementation.split(":")[0].rsplit(".", 1)[-1]
        assert re.search(rf"^### .*\(`{module}\.py`\)$", text, re.M), module


def test_counts_of_methods_in_the_docs_are_the_registry_size() -> None:
    counts = []
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for m in re.finditer(r"\b(\w+) (?:pruning )?methods\b", doc.read_text()):
            n = NUMBER_WORDS.get(m.group(1).lower()) or (
                int(m.group(1)) if m.group(1).isdigit() else None
            )
            if n is not None:
                counts.append((doc.name, m.group(0), n))
    assert counts and all(n == len(REGISTRY) for *_, n in counts), counts


def test_make_loops_over_the_registry() -> None:
    """make bench-prune runs every method of the registry, make e2e passes ``--methods all``."""
    shown = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "-C",
            str(ROOT),
            "--eval",
            "_show: ; @echo $(PRUNE_METHODS) / $(E2E_METHODS)",
            "_show",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(" / ")
    assert (tuple(shown[0].split()), shown[1].strip()) == (NAMES, "all")
    assert "$(PRUNE_METHODS)" in (ROOT / "mk" / "pruning.mk").read_text()  # used, not only set


def _method_listings_in_python(source: str) -> list[int]:
    """Lines of collection literals (tuple, list, set, dict keys) holding two or more method
    names; an argv (an element starting with ``--``) is a command line, not a list."""
    out = []
    for node in ast.walk(ast.parse(source)):
        elts = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if not isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) or elts is None:
            continue
        strings = [
            e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
        if any(s.startswith("--") for s in strings):
            continue
        if len(set(strings) & set(NAMES)) >= 2:
            out.append(node.lineno)
    return out


def _method_listings_in_make(source: str) -> list[int]:
    """Lines (not comments) of a Makefile that list two or more method names."""
    pair = re.compile(rf"\b({'|'.join(NAMES)})(?:,\s*|\s+)({'|'.join(NAMES)})\b")
    return [
        n
        for n, line in enumerate(source.splitlines(), 1)
        if not line.lstrip().startswith("#") and pair.search(line)
    ]


def test_no_other_file_lists_the_methods() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for rel in tracked:
        path = ROOT / rel
        if rel == "pruning/registry.py" or not path.is_file():
            continue
        if rel.endswith(".py"):
            lines = _method_listings_in_python(path.read_text())
        elif rel.endswith(".mk") or rel == "Makefile" or rel.endswith(".yml"):
            lines = _method_listings_in_make(path.read_text())
        else:
            continue
        found += [f"{rel}:{n}" for n in lines]
    assert not found, found


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ('METHODS = ("slimming", "autopruner", "se", "shuffle")\n', [1]),
        ('FAMILY = {\n    "slimming": "plain",\n    "autopruner": "plain",\n}\n', [1]),
        ('argv = ["--method", "slimming", "--model", "shuffle"]\n', []),
        ('FAMILIES = ("plain", "se")\n', []),
    ],
)
def test_the_listing_check_bites(source: str, lines: list[int]) -> None:
    assert _method_listings_in_python(source) == lines


def test_the_make_listing_check_bites() -> None:
    text = "# e.g. E2E_METHODS=slimming,autopruner\n\tfor m in slimming autopruner se shuffle; do\n"
    assert _method_listings_in_make(text) == [2]
