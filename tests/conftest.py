"""Shared, seeded fixtures.  Everything is built in code; nothing reads the network or the user's data/."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

# One OpenMP thread per test process (and the stages it starts): `pytest -n 2` already fills both cores, and
# LightGBM's and XGBoost's OpenMP threads spin-waiting for a core another process holds made single tests take a
# minute instead of seconds. Results do not depend on it (tests/pipeline/test_cpu_independence.py sets its own).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

from almanac import calendar
from almanac.data_sources.synthetic import build_synthetic_dataset
from almanac.sessions import build_sessions
from almanac.synth.market import MarketSpec

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"
DEFAULT_CUTOFF = dt.time(10, 15)
# The longest tests start first: with `-n 2` a long test collected last would run alone at the end.
FIRST = ("tests/pipeline/test_sweep.py",)


def pytest_collection_modifyitems(items):
    """Run :data:`FIRST` before the rest (a stable sort: every other test keeps its order)."""
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))


@pytest.fixture(scope="session")
def default_dataset():
    """The default nine-year synthetic market (2016-2024, default params): about 3.1 M bars, ~5 s."""
    return build_synthetic_dataset(MarketSpec())


@pytest.fixture(scope="session")
def default_sessions(default_dataset):
    return build_sessions(default_dataset.bars, DEFAULT_CUTOFF, default_dataset.manifest["rolls"])


@pytest.fixture(scope="session")
def small_dataset():
    """Half a year of the synthetic market, crossing a DST change and two rolls."""
    return build_synthetic_dataset(MarketSpec(start="2023-01-01", end="2023-06-30", seed=7))


@pytest.fixture(scope="session")
def small_sessions(small_dataset):
    return build_sessions(small_dataset.bars, DEFAULT_CUTOFF, small_dataset.manifest["rolls"])


@pytest.fixture(scope="session")
def rth_2016_2024():
    return calendar.rth_sessions("2016-01-01", "2024-12-31")
