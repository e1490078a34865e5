"""Shared pytest options: simulator selection, regression tier, base seed."""

from __future__ import annotations

import pytest

TIERS = ("quick", "nightly")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--seed", type=int, default=1, help="base seed of the cocotb regressions")
    parser.addoption(
        "--sims",
        default="icarus,verilator",
        help="comma-separated simulators to run (default: icarus,verilator)",
    )
    parser.addoption(
        "--tier",
        choices=TIERS,
        default="quick",
        help="quick: make test (every test, <10 min); nightly: also the deep regression",
    )


def pytest_configure(config: pytest.Config) -> None:
    from systolic.engine.config import check_environment
    from systolic.engine.toolchain import SIMULATORS
    from systolic.errors import ConfigError

    try:
        check_environment()
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None

    sims = [s.strip() for s in config.getoption("--sims").split(",") if s.strip()]
    unknown = sorted(set(sims) - set(SIMULATORS))
    if not sims or unknown:
        raise pytest.UsageError(
            f"--sims {config.getoption('--sims')!r}: unknown simulator(s) {', '.join(unknown)}; "
            f"choose from {', '.join(SIMULATORS)}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) items of other simulators and of the nightly tier when quick."""
    sims = {s.strip() for s in config.getoption("--sims").split(",") if s.strip()}
    nightly = config.getoption("--tier") == "nightly"
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        sim = callspec.params.get("sim") if callspec else None
        wrong_sim = sim is not None and sim not in sims
        wrong_tier = item.get_closest_marker("nightly") is not None and not nightly
        (drop if wrong_sim or wrong_tier else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    _group_shared_builds(items)


def _build_key(item: pytest.Item) -> str | None:
    """The array build an item simulates on (simulator and parameters), if it says so."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    sim, params = callspec.params.get("sim"), callspec.params.get("params")
    tag = getattr(params, "tag", None)
    return f"{sim}-{tag}" if sim and tag else None


def _group_shared_builds(items: list[pytest.Item]) -> None:
    """Items of different tests that simulate the same build run on one xdist worker
    (``--dist loadgroup``): the second finds the build done instead of waiting on its lock."""
    keys = [_build_key(item) for item in items]
    for item, key in zip(items, keys, strict=True):
        if key is not None and keys.count(key) > 1:
            item.add_marker(pytest.mark.xdist_group(f"build-{key}"))


@pytest.fixture
def base_seed(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--seed"))
