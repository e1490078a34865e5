"""Functional coverage of a regression: merge the per-run files, report, check closure
(``systolic coverage``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from systolic import fileio
from systolic.errors import ConfigError, one_line


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


def _merge_coverage(files: list[Path], out: Path) -> dict[str, Any]:
    """Merge coverage files into ``out`` (atomically); a malformed file is one clear error."""
    import yaml
    from cocotb_coverage.coverage import merge_coverage

    for f in files:
        try:
            data = yaml.safe_load(f.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{f}: not a coverage file ({one_line(exc)})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{f}: not a coverage file (no cover points)")
    with fileio.atomic_path(out) as tmp:
        try:
            merge_coverage(lambda _msg: None, str(tmp), *map(str, files))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"coverage files under {out.parent} do not merge ({exc!r})") from None
        return yaml.safe_load(tmp.read_text())
