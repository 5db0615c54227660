"""The array reductions that replace pandas' groupby over the minute bars give pandas' values bit for bit.

``almanac.sessions.DayGroups`` (first, last, max, min, integer sum, size per trade date), the binary-searched
``bar_masks`` of sorted bars, the int64 sums of the overnight signed volume, the libyaml reading of
``instruments.yaml`` and the run-wise date checks of ``almanac.schemas`` are each compared with what they
replace, on varied inputs: NaN, unsorted rows, rows without a day, days without rows, all-NaN days, empty input.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml

from almanac import calendar, schemas
from almanac.instruments import TABLE
from almanac.ml.labelers import intraday_structure
from almanac.sessions import DayGroups, bar_masks, day_rows, session_windows


def _pandas(rows: np.ndarray, values: np.ndarray, n_days: int, how: str) -> np.ndarray:
    """What the code did before: a groupby over the day, reindexed to every day (NaN where none)."""
    kept = rows >= 0
    grouped = pd.Series(values[kept]).groupby(rows[kept], sort=True)
    result = getattr(grouped, how)().reindex(range(n_days))
    return result.to_numpy(dtype=np.float64, na_value=np.nan)


def _cases():
    yield np.zeros(0, dtype=np.int64), np.zeros(0), 3  # no rows at all
    yield np.array([-1, -1]), np.array([1.0, 2.0]), 2  # no row with a day
    yield np.array([0, 0, 2]), np.array([np.nan, np.nan, np.nan]), 3  # only NaN
    rng = np.random.default_rng(7)
    for case in range(30):
        n, n_days = int(rng.integers(0, 400)), int(rng.integers(1, 12))
        rows = np.sort(rng.integers(-1 if case % 3 == 0 else 0, n_days, n))
        if case % 2:  # days out of order: rows are regrouped, each day keeping its rows' order
            rows = rng.permutation(rows)
        values = rng.choice([1.25, 2.5, 3.0, 100.0, -7.5, 1e300, np.nan] if case % 4 else [0.5, 4.0], n)
        if case % 5 == 0 and n:
            values[rows == rows[0]] = np.nan  # a day with only NaN
        yield rows, values, n_days


@pytest.mark.parametrize("how", ["first", "last", "max", "min"])
def test_day_groups_reductions_are_pandas_groupby_bit_for_bit(how):
    for rows, values, n_days in _cases():
        got = getattr(DayGroups(rows, n_days), how)(values)
        expected = _pandas(rows, values, n_days, how)
        np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))  # NaN and bits alike


def test_day_groups_integer_sums_and_sizes():
    rng = np.random.default_rng(3)
    for rows, _, n_days in _cases():
        volume = rng.integers(0, 10_000, len(rows))
        groups = DayGroups(rows, n_days)
        kept = rows >= 0
        expected = pd.Series(volume[kept]).groupby(rows[kept]).sum().reindex(range(n_days)).fillna(0)
        np.testing.assert_array_equal(groups.sum(volume), expected.to_numpy().astype(np.int64))
        sizes = pd.Series(rows[kept]).value_counts().reindex(range(n_days)).fillna(0).astype(np.int64)
        np.testing.assert_array_equal(groups.size(), sizes.to_numpy())
        assert groups.sum(volume).dtype == np.int64
    with pytest.raises(TypeError):
        DayGroups(np.array([0, 1]), 2).sum(np.array([0.5, 1.5]))


def test_integer_sum_of_signed_volume_is_pandas_float_sum():
    """The overnight delta: the int64 sum of sign x volume equals pandas' (compensated) float sum of the floats."""
    rng = np.random.default_rng(11)
    rows = np.sort(rng.integers(0, 50, 200_000))
    sign = rng.choice([-1.0, 0.0, 1.0], len(rows))
    volume = rng.integers(0, 50_000, len(rows))
    expected = pd.Series(sign * volume).groupby(rows).sum().to_numpy()
    got = DayGroups(rows, 50).sum(sign.astype(np.int64) * volume).astype(np.float64)
    np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))


def _bars(days: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    """Minute bars every 7 minutes from the Globex open to after the RTH close of each day."""
    frames = []
    for day in days:
        start = calendar.globex_open_utc(pd.DatetimeIndex([day])).iloc[0]
        ts = pd.date_range(start, periods=200, freq="7min")
        frames.append(pd.DataFrame({"ts": ts, "trade_date": day}))
    bars = pd.concat(frames, ignore_index=True)
    bars["trade_date"] = bars["trade_date"].astype("datetime64[s]")
    bars["high"] = 100.0 + rng.integers(0, 8, len(bars)) * 0.25
    bars["low"] = bars["high"] - rng.integers(0, 4, len(bars)) * 0.25
    bars["contract"] = "ESM24"
    return bars


def _compared_masks(bars: pd.DataFrame, windows: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """The masks by comparing each bar with its own window (the implementation the sorted path replaced)."""
    row = day_rows(bars, windows)
    ts = calendar.epoch_ns(bars["ts"])

    def per_bar(column: str) -> np.ndarray:
        return np.append(calendar.epoch_ns(windows[column]), np.iinfo(np.int64).min)[row]

    rth_open, rth_close, cut = per_bar("rth_open_utc"), per_bar("rth_close_utc"), per_bar("cutoff_utc")
    return (ts >= rth_open) & (ts < rth_close), ts < rth_open, calendar.usable_at(ts, cut)


def test_bar_masks_of_sorted_bars_are_the_per_bar_comparisons():
    rng = np.random.default_rng(5)
    days = calendar.trading_days(pd.Timestamp("2024-11-25"), pd.Timestamp("2024-12-06"))  # a half day inside
    bars = _bars(days, rng)
    for cutoff in (dt.time(9, 31), dt.time(10, 15), dt.time(16, 0)):
        windows = session_windows(days, cutoff)
        variants = [windows, windows.drop(windows.index[[2, 5]])]  # days without a window
        gaps = windows.copy()
        for row, column in ((1, "rth_open_utc"), (3, "rth_close_utc"), (4, "cutoff_utc"), (6, "rth_open_utc")):
            gaps.iloc[row, gaps.columns.get_loc(column)] = pd.NaT
        gaps.iloc[6, gaps.columns.get_loc("rth_close_utc")] = pd.NaT
        variants.append(gaps)
        for frame in variants:
            got = bar_masks(bars, frame)
            for mask, expected in zip(got, _compared_masks(bars, frame), strict=True):
                np.testing.assert_array_equal(mask, expected)
        # Shuffled bars take the comparison path: the same mask for each bar.
        order = rng.permutation(len(bars))
        shuffled = bars.iloc[order].reset_index(drop=True)
        for mask, expected in zip(bar_masks(shuffled, windows), bar_masks(bars, windows), strict=True):
            np.testing.assert_array_equal(mask, expected[order])


def test_intraday_structure_does_not_depend_on_the_bars_order():
    rng = np.random.default_rng(9)
    days = calendar.trading_days(pd.Timestamp("2024-03-04"), pd.Timestamp("2024-03-15"))
    bars = _bars(days, rng)
    daily = pd.DataFrame(index=pd.DatetimeIndex(days[1:], name="trade_date"))  # a day of bars not in the table
    expected = intraday_structure(bars, daily, band=0.1)
    shuffled = bars.iloc[rng.permutation(len(bars))].reset_index(drop=True)
    pd.testing.assert_frame_equal(intraday_structure(shuffled, daily, band=0.1), expected)
    assert (expected["swings"] > 0).any() and expected["t_high"].notna().all()


def test_instrument_table_reads_as_safe_load():
    text = TABLE.read_text()
    assert yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == yaml.safe_load(text)


def test_date_checks_find_a_bad_row_inside_a_run_of_dates():
    """schemas checks the dates on the first row of each run: a NaT or an instant inside a run is still caught,
    and the message names the first bad row."""
    dates = pd.Series(pd.to_datetime(["2024-03-04"] * 3 + ["2024-03-05"] * 3).astype("datetime64[s]"))
    frame = pd.DataFrame({"trade_date": dates, "x": 1.0})
    assert schemas.table(frame, {"trade_date": schemas.DATE}, fn="f", arg="a") is frame
    missing = frame.assign(trade_date=dates.where(dates.index != 4))
    with pytest.raises(schemas.InputError, match="missing values"):
        schemas.table(missing, {"trade_date": schemas.DATE}, fn="f", arg="a")
    instant = dates.copy()
    instant.iloc[[2, 4]] = [pd.Timestamp("2024-03-04 14:30"), pd.Timestamp("2024-03-05 09:00")]
    with pytest.raises(schemas.InputError, match="got 2024-03-04 14:30:00$"):
        schemas.table(frame.assign(trade_date=instant), {"trade_date": schemas.DATE}, fn="f", arg="a")
