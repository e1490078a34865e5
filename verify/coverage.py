"""Functional coverage of a regression: merge the per-run files, report, check closure
(``systolic coverage``).

A coverage file is read only after it passed :func:`read_coverage_file`: a regular file of at most
:data:`MAX_COVERAGE_BYTES`, YAML without anchors, aliases (a "billion laughs" file is a few lines
of them), repeated keys or nesting deeper than a coverage file's three levels, holding cover points
whose names, fields and bins are checked (:mod:`systolic.names`). Anything else is one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from systolic import fileio, names
from systolic.errors import ConfigError, one_line

#: The largest coverage file read (bytes): one simulator run's file takes about 6 kB.
MAX_COVERAGE_BYTES = 1 << 20
#: Cover point -> its fields -> its bins: a coverage file nests no deeper.
MAX_DEPTH = 3
#: The fields of a cover point (cocotb-coverage's YAML export) and what each must hold.
COUNTS = ("coverage", "size", "at_least", "weight")
FIELDS = (*COUNTS, "cover_percentage", "type", "bins:_hits")


def coverage_report(folder: Path | None, check: bool, out: Path | None = None) -> int:
    """Merge every coverage file under ``folder`` (build/coverage), print each cover point's
    bins and hits; with ``check``, 1 when a bin was never hit (or there is nothing to merge)."""
    folder = folder or fileio.resolve("build/coverage")
    files = (
        sorted(f for f in folder.rglob("*.yml") if f.name != "merged.yml")
        if folder.is_dir()
        else []
    )
    if not files:
        if check:
            raise ConfigError(f"no coverage files under {folder}: run a regression first")
        print(f"no coverage files under {folder} (nothing was simulated)")
        return 0
    merged = out or fileio.check_output_file(folder / "merged.yml")
    db = _merge_coverage(files, merged)
    holes = []
    print(f"functional coverage of {len(files)} simulator runs ({merged})")
    for name, item in sorted(db.items()):
        bins = item.get("bins:_hits")
        if bins is None:
            continue
        missing = [str(b) for b, hits in bins.items() if hits < item.get("at_least", 1)]
        holes += [f"{name}: {b}" for b in missing]
        pct = item.get("cover_percentage", 0.0)
        print(f"  {name:30} {pct:6.1f}%  " + ", ".join(f"{b}={h}" for b, h in bins.items()))
    if holes:
        print("unhit bins:")
        for hole in holes:
            print(f"  {hole}")
    else:
        print("coverage closed: every bin hit")
    return 1 if holes and check else 0


class _Refused(yaml.YAMLError):
    """What the strict loader refuses, and where in the file."""

    def __init__(self, why: str, mark: Any) -> None:
        super().__init__(f"{why} (line {mark.line + 1})" if mark is not None else why)


def _yaml_why(exc: yaml.YAMLError) -> str:
    """A YAML error in a few words with its line (not PyYAML's multi-line excerpt)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1})" if mark is not None else exc.problem
    return one_line(exc)


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses anchors and aliases, repeated keys and deep nesting."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("anchors and aliases are not allowed", event.start_mark)
        nests = isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent)
        if nests and self.depth >= MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        mapping = super().construct_mapping(node, deep)
        if len(mapping) != len(node.value):
            raise _Refused("a key is repeated", node.start_mark)
        return mapping


def read_coverage_file(path: Path) -> dict[str, Any]:
    """One coverage file, checked (see the module's docstring); every problem is one
    ConfigError line that names the file."""
    where = names.shown(path)
    data = names.read_limited(path, MAX_COVERAGE_BYTES, ConfigError)
    try:
        db = yaml.load(data, Loader=_StrictLoader)  # a SafeLoader, made stricter
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not a coverage file ({_yaml_why(exc)})") from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ConfigError(f"{where}: not a coverage file ({one_line(exc)})") from None
    if not isinstance(db, dict) or not db:
        raise ConfigError(f"{where}: not a coverage file (no cover points)")
    names.check_names(db, "cover point", where, error=ConfigError)
    for point, item in db.items():
        _check_point(item, f"{where}: cover point {point!r}")
    return db


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _check_point(item: Any, where: str) -> None:
    """A cover point's fields: known ones, counts that are non-negative integers, its bins'
    names checked and their hits counts."""
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: not a record of fields")
    for field, value in item.items():
        if field not in FIELDS:
            raise ConfigError(f"{where}: unknown field {names.quoted(str(field))}")
        if field in COUNTS and not _count(value):
            raise ConfigError(f"{where}: {field} is not a non-negative integer")
    if not all(k in item for k in ("coverage", "size")):
        raise ConfigError(f"{where}: lacks its coverage and size")
    pct = item.get("cover_percentage", 0)
    if type(pct) not in (int, float) or not 0 <= pct < float("inf"):
        raise ConfigError(f"{where}: cover_percentage is not a finite non-negative number")
    if "type" in item:
        names.check_name(item["type"], "type", where, rule="label", error=ConfigError)
    bins = item.get("bins:_hits", {})
    if not isinstance(bins, dict):
        raise ConfigError(f"{where}: bins:_hits is not a record of bins")
    labels = [b for b in bins if isinstance(b, str)]
    if any(type(b) not in (str, int, bool, float) for b in bins):
        raise ConfigError(f"{where}: a bin is neither a name nor a number")
    names.check_names(labels, "bin", where, rule="label", error=ConfigError)
    if not all(_count(h) for h in bins.values()):
        raise ConfigError(f"{where}: a bin's hits are not a non-negative integer")


def _merge_coverage(files: list[Path], out: Path) -> dict[str, Any]:
    """Merge coverage files into ``out`` (atomically); a malformed file is one clear error."""
    from cocotb_coverage.coverage import merge_coverage

    for f in files:
        read_coverage_file(f)
    with fileio.atomic_path(out) as tmp:
        try:
            merge_coverage(lambda _msg: None, str(tmp), *map(str, files))
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            raise ConfigError(
                f"coverage files under {names.shown(out.parent)} do not merge ({one_line(exc)})"
            ) from None
        return yaml.safe_load(tmp.read_text())  # written just now from checked files
