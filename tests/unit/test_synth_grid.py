"""The synthetic market's minute grid (``minute_grid``, built from two runs of minutes per session) against the
per-minute definition it replaced: every whole minute from the open to the close, less those starting in the pause."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from almanac import calendar
from almanac.synth.market import epoch_seconds, minute_grid


def _per_minute(sessions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The definition, minute by minute: each whole minute open + 60 k that ends by the close, less those that start
    at pause_start <= t < pause_end."""
    ts, day = [], []
    for i, row in enumerate(sessions.itertuples()):  # a handful of test sessions
        start, stop = pd.Timestamp(row.open_utc).value // 10**9, pd.Timestamp(row.close_utc).value // 10**9
        for t in range(start, stop - 59, 60):
            paused = pd.notna(row.pause_start_utc) and (
                pd.Timestamp(row.pause_start_utc).value // 10**9 <= t < pd.Timestamp(row.pause_end_utc).value // 10**9
            )
            if not paused:
                ts.append(t)
                day.append(i)
    return np.array(ts, dtype=np.int64), np.array(day, dtype=np.int64)


def _sessions(rows: list[tuple]) -> pd.DataFrame:
    columns = ["open_utc", "close_utc", "pause_start_utc", "pause_end_utc"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.apply(lambda c: pd.to_datetime(c, utc=True, format="ISO8601"))


EDGES = [
    ("2024-01-01 23:00", "2024-01-02 22:00", None, None),  # no pause
    ("2024-01-02 23:00", "2024-01-03 22:15", "2024-01-03 21:15", "2024-01-03 21:30"),  # the pre-2021 halt
    ("2024-01-03 23:00", "2024-01-04 22:00", "2024-01-04 21:15:30", "2024-01-04 21:30:10"),  # off the minute grid
    ("2024-01-04 23:00", "2024-01-05 22:00", "2024-01-04 22:00", "2024-01-04 23:30"),  # starts before the open
    ("2024-01-05 23:00", "2024-01-06 22:00", "2024-01-06 21:50", "2024-01-06 23:00"),  # runs past the close
    ("2024-01-06 23:00", "2024-01-07 01:00", "2024-01-07 00:30", "2024-01-07 00:10"),  # ends before it starts
    ("2024-01-07 23:00", "2024-01-08 01:00", "2024-01-07 20:00", "2024-01-07 21:00"),  # wholly before the open
    ("2024-01-08 23:00", "2024-01-09 01:00", "2024-01-09 03:00", "2024-01-09 04:00"),  # wholly after the close
    ("2024-01-09 23:00", "2024-01-10 01:00", "2024-01-09 23:00", "2024-01-10 01:00"),  # the whole session
    ("2024-01-10 23:00", "2024-01-10 23:00:30", None, None),  # shorter than a minute
]


@pytest.mark.parametrize("rows", [EDGES, EDGES[:1], EDGES[1:3], EDGES[8:9]])
def test_minute_grid_matches_the_per_minute_definition(rows):
    ts, day = minute_grid(_sessions(rows))
    expected_ts, expected_day = _per_minute(_sessions(rows))
    assert ts.dtype == np.int64 and day.dtype == expected_day.dtype
    np.testing.assert_array_equal(ts, expected_ts)
    np.testing.assert_array_equal(day, expected_day)


def test_minute_grid_on_real_sessions_with_and_without_the_halt():
    sessions = calendar.globex_sessions(calendar.trading_days("2020-12-21", "2021-01-08"))  # the halt ended in 2021
    assert sessions["pause_start_utc"].notna().any() and sessions["pause_start_utc"].isna().any()
    ts, day = minute_grid(sessions)
    expected_ts, expected_day = _per_minute(sessions)
    np.testing.assert_array_equal(ts, expected_ts)
    np.testing.assert_array_equal(day, expected_day)
    assert (epoch_seconds(sessions["open_utc"]) == ts[np.searchsorted(day, np.arange(len(sessions)))]).all()
