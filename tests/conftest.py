"""Shared pytest options and fixtures."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--seed", type=int, default=1, help="base seed of the cocotb regressions")


@pytest.fixture
def base_seed(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--seed"))
