"""The NYSE calendar's memo on disk: exactly exchange_calendars' result, rebuilt when unreadable, optional."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from almanac import calendar

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_calendar(monkeypatch, tmp_path):
    """The module's in-process caches emptied before and after (the memo folder is the test's own)."""

    def clear() -> None:
        calendar._xnys.cache_clear()
        calendar._rth_sessions.cache_clear()
        calendar._BUILT.clear()
        calendar._CUTOFFS.clear()

    monkeypatch.setenv(calendar.MEMO_ENV, str(tmp_path / "memo"))
    clear()
    yield tmp_path / "memo"
    clear()


def library_calendar(first_year: int, last_year: int):
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads tz-aware Series.values, which pandas 3.1 deprecates: third-party.
        warnings.simplefilter("ignore", category=pd.errors.Pandas4Warning)
        return xcals.get_calendar("XNYS", start=f"{first_year}-01-01", end=f"{last_year}-12-31")


def assert_is_library_result(nyse, first_year: int, last_year: int) -> None:
    expected = library_calendar(first_year, last_year)
    np.testing.assert_array_equal(nyse.sessions.asi8, expected.sessions.asi8)
    assert nyse.sessions.dtype == expected.sessions.dtype
    pd.testing.assert_series_equal(nyse.schedule["close"], expected.schedule["close"], check_freq=False)
    # The frequency ('C', NYSE business days) is not kept: every caller selects sessions by a mask, which drops it.
    pd.testing.assert_index_equal(nyse.schedule.index, expected.schedule.index, exact=True, check_freq=False)


def test_memo_holds_exactly_the_library_result(fresh_calendar):
    built = calendar._xnys(2015, 2025)
    (path,) = fresh_calendar.glob("xnys-2015-2025-*.npz")
    assert f"xcals{xcals.__version__}" in path.name and f"pandas{pd.__version__}" in path.name
    calendar._xnys.cache_clear()
    memo = calendar._xnys(2015, 2025)
    assert memo is not built  # read back from the file
    assert_is_library_result(memo, 2015, 2025)
    assert_is_library_result(built, 2015, 2025)


def test_trade_dates_and_windows_from_the_memo_equal_a_fresh_build(fresh_calendar, monkeypatch):
    start, end = "2016-01-01", "2024-12-31"
    calendar.rth_sessions(start, end)  # writes the memo
    calendar._xnys.cache_clear(), calendar._rth_sessions.cache_clear(), calendar._BUILT.clear()
    from_memo = calendar.trading_days(start, end), calendar.rth_sessions(start, end)
    monkeypatch.setenv(calendar.MEMO_ENV, "")
    calendar._xnys.cache_clear(), calendar._rth_sessions.cache_clear(), calendar._BUILT.clear()
    built = calendar.trading_days(start, end), calendar.rth_sessions(start, end)
    pd.testing.assert_index_equal(from_memo[0], built[0], exact=True)
    pd.testing.assert_frame_equal(from_memo[1], built[1], check_freq=True)


@pytest.mark.parametrize("content", [b"", b"not a zip", None], ids=["empty", "garbage", "wrong-arrays"])
def test_an_unreadable_memo_is_rebuilt_and_replaced(fresh_calendar, content):
    calendar._xnys(2015, 2025)
    (path,) = fresh_calendar.glob("xnys-2015-2025-*.npz")
    if content is None:
        np.savez(path, sessions=np.array([3, 2, 1]), closes=np.array([1, 1, 1]))  # not increasing, closes too early
    else:
        path.write_bytes(content)
    calendar._xnys.cache_clear()
    assert_is_library_result(calendar._xnys(2015, 2025), 2015, 2025)
    with np.load(path) as memo:  # replaced by a good one
        assert len(memo["sessions"]) == len(library_calendar(2015, 2025).sessions)
    assert not list(fresh_calendar.glob("*.tmp"))


def test_a_folder_that_cannot_be_written_costs_only_the_build(fresh_calendar, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(calendar.MEMO_ENV, str(blocker / "memo"))
    assert_is_library_result(calendar._xnys(2015, 2025), 2015, 2025)


def test_the_memo_is_off_when_the_variable_is_empty(monkeypatch):
    monkeypatch.setenv(calendar.MEMO_ENV, "")
    assert calendar.memo_dir() is None
    monkeypatch.delenv(calendar.MEMO_ENV)
    assert calendar.memo_dir() is not None


def test_a_process_with_the_memo_does_not_import_exchange_calendars(fresh_calendar):
    code = (
        "import sys; from almanac import calendar as c; "
        "print(len(c.trading_days('2016-01-01', '2024-12-31')), 'exchange_calendars' in sys.modules)"
    )
    env = {**os.environ, calendar.MEMO_ENV: str(fresh_calendar), "PYTHONPATH": str(REPO / "src")}

    def run() -> str:
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout

    assert run().split() == ["2264", "True"]  # builds and writes the memo
    assert run().split() == ["2264", "False"]  # reads it
