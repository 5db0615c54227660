"""Cross-asset features: as-of join on the publication instant, change columns, missing series."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from almanac.features import cross_asset
from almanac.features.ml_features import compute_cross_asset_features

ET = "America/New_York"
CUTOFF = dt.time(10, 15)
# Mon 2024-03-11 is the first EDT trade date (clocks changed Sun 03-10); Fri 03-08 is still EST.
DATES = pd.DatetimeIndex(["2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12"], name="trade_date")


def at(local: str) -> pd.Timestamp:
    return pd.Timestamp(local).tz_localize(ET).tz_convert("UTC")


def daily(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    """Long daily frame from ``(symbol, date, close, ET publication time)``."""
    frame = pd.DataFrame(
        {
            "symbol": pd.Series([r[0] for r in rows], dtype="str"),
            "date": pd.to_datetime([r[1] for r in rows]).as_unit("s"),
            "close": [float(r[2]) for r in rows],
            "available_at": pd.DatetimeIndex([at(r[3]) for r in rows]).as_unit("ns"),
        }
    )
    return frame


def primary(dates=DATES) -> pd.DataFrame:
    return pd.DataFrame({"trade_date": dates, "close": np.arange(len(dates), dtype=float)})


VIX_EVENING = [  # VIX settles and is published 16:15 ET
    ("VIX", "2024-03-05", 14.0, "2024-03-05 16:15"),
    ("VIX", "2024-03-06", 15.0, "2024-03-06 16:15"),
    ("VIX", "2024-03-07", 17.5, "2024-03-07 16:15"),
    ("VIX", "2024-03-08", 16.0, "2024-03-08 16:15"),
    ("VIX", "2024-03-11", 19.0, "2024-03-11 16:15"),
    ("VIX", "2024-03-12", 30.0, "2024-03-12 16:15"),  # same-day close: never usable at 10:15 on 03-12
]


def test_a_value_published_the_previous_evening_is_used_at_the_next_cutoff():
    out = compute_cross_asset_features(primary(), daily(VIX_EVENING), "10:15")
    assert list(out.columns) == ["vix_change", "vix_level"]
    # D's 10:15 sees D-1's 16:15 close: 03-07 -> 03-06's 15.0 (change +1.0 from 14.0), ...
    assert list(out["vix_level"]) == [15.0, 17.5, 16.0, 19.0]
    np.testing.assert_allclose(out["vix_change"].to_numpy(), [1.0, 2.5, -1.5, 3.0])
    assert 30.0 not in set(out["vix_level"])


def test_a_same_day_print_is_used_only_once_published_by_the_cutoff():
    rows = [
        ("TNX", "2024-03-11", 4.10, "2024-03-11 15:00"),
        ("TNX", "2024-03-12", 4.25, "2024-03-12 09:00"),  # same-day print before the cutoff: usable on 03-12
        ("WTI", "2024-03-11", 78.0, "2024-03-11 14:30"),
        ("WTI", "2024-03-12", 80.0, "2024-03-12 10:30"),  # same-day print after the cutoff: not usable at 10:15
    ]
    dates = pd.DatetimeIndex(["2024-03-12"], name="trade_date")
    at_1015 = compute_cross_asset_features(primary(dates), daily(rows), "10:15").iloc[0]
    assert at_1015["tnx_change_bp"] == pytest.approx((4.25 - 4.10) * 100)
    assert math.isnan(at_1015["wti_ret_pct"])  # the only WTI value published by 10:15 has no predecessor
    at_1045 = compute_cross_asset_features(primary(dates), daily(rows), "10:45").iloc[0]
    assert at_1045["wti_ret_pct"] == pytest.approx(((80.0 / 78.0) - 1) * 100)
    assert at_1045["tnx_change_bp"] == pytest.approx(15.0)


def test_the_as_of_join_is_on_available_at_not_on_date():
    rows = [
        ("VIX", "2024-03-08", 16.0, "2024-03-08 16:15"),
        # Dated 03-11 but published 10:30 ET (a late vendor file): too late for 03-11's 10:15, fine for 03-12.
        ("VIX", "2024-03-11", 21.0, "2024-03-11 10:30"),
    ]
    dates = pd.DatetimeIndex(["2024-03-11", "2024-03-12"], name="trade_date")
    out = compute_cross_asset_features(primary(dates), daily(rows), CUTOFF)
    assert list(out["vix_level"]) == [16.0, 21.0]


def test_a_value_published_exactly_at_the_cutoff_is_usable():
    rows = [
        ("DX", "2024-03-08", 103.0, "2024-03-08 17:00"),
        ("DX", "2024-03-12", 104.0, "2024-03-12 10:15"),
    ]
    dates = pd.DatetimeIndex(["2024-03-12"], name="trade_date")
    out = compute_cross_asset_features(primary(dates), daily(rows), CUTOFF)
    assert out["dx_ret_pct"].iloc[0] == pytest.approx(((104.0 / 103.0) - 1) * 100)
    one_minute_early = compute_cross_asset_features(primary(dates), daily(rows), "10:14")
    assert math.isnan(one_minute_early["dx_ret_pct"].iloc[0])


def test_cutoff_instant_follows_daylight_saving_time():
    # 10:15 EDT on 03-11 is 14:15 UTC; a value published 14:30 UTC (10:30 EDT) is after it, though it would be
    # before a fixed-EST cutoff (15:15 UTC).
    rows = [
        ("VIX", "2024-03-08", 16.0, "2024-03-08 16:15"),
        ("VIX", "2024-03-11", 25.0, "2024-03-11 10:30"),
    ]
    dates = pd.DatetimeIndex(["2024-03-11"], name="trade_date")
    assert compute_cross_asset_features(primary(dates), daily(rows), CUTOFF)["vix_level"].iloc[0] == 16.0


def test_change_columns_are_expressed_in_their_units():
    rows = []
    for symbol, values, hour in (
        ("VIX", [15.0, 18.0], "16:15"),
        ("DX", [100.0, 101.0], "17:00"),
        ("TNX", [4.00, 3.87], "15:00"),
        ("WTI", [80.0, 76.0], "14:30"),
    ):
        rows += [
            (symbol, "2024-03-07", values[0], f"2024-03-07 {hour}"),
            (symbol, "2024-03-08", values[1], f"2024-03-08 {hour}"),
        ]
    dates = pd.DatetimeIndex(["2024-03-11"], name="trade_date")
    out = compute_cross_asset_features(primary(dates), daily(rows), CUTOFF).iloc[0]
    assert out["vix_change"] == pytest.approx(3.0)  # points
    assert out["vix_level"] == 18.0
    assert out["dx_ret_pct"] == pytest.approx(1.0)  # simple return, %
    assert out["tnx_change_bp"] == pytest.approx(-13.0)  # yield % -> basis points
    assert out["wti_ret_pct"] == pytest.approx(((76 / 80) - 1) * 100)
    assert set(out.index) == {"vix_change", "vix_level", "dx_ret_pct", "tnx_change_bp", "wti_ret_pct"}


def test_missing_series_give_no_columns():
    rows = [("DX", "2024-03-07", 100.0, "2024-03-07 17:00"), ("DX", "2024-03-08", 99.0, "2024-03-08 17:00")]
    out = compute_cross_asset_features(primary(), daily(rows), CUTOFF)
    assert list(out.columns) == ["dx_ret_pct"]
    assert out.index.equals(DATES)


def test_unknown_symbols_are_ignored():
    rows = [("GC", "2024-03-07", 2100.0, "2024-03-07 13:30"), ("VIX", "2024-03-07", 15.0, "2024-03-07 16:15")]
    out = compute_cross_asset_features(primary(), daily(rows), CUTOFF)
    assert list(out.columns) == ["vix_change", "vix_level"]


def test_changes_are_versus_the_previous_publication_of_the_same_series():
    frame = daily(
        [
            ("VIX", "2024-03-07", 15.0, "2024-03-07 16:15"),
            ("DX", "2024-03-07", 100.0, "2024-03-07 17:00"),
            ("VIX", "2024-03-08", 18.0, "2024-03-08 16:15"),
            ("DX", "2024-03-08", 102.0, "2024-03-08 17:00"),
        ]
    ).iloc[::-1]
    out = cross_asset.series_changes(frame)
    vix = out.loc[out["symbol"] == "VIX", "change"].to_numpy()
    dx = out.loc[out["symbol"] == "DX", "change"].to_numpy()
    assert math.isnan(vix[0]) and vix[1] == pytest.approx(3.0)
    assert math.isnan(dx[0]) and dx[1] == pytest.approx(((1.02) - 1) * 100)


def test_inputs_are_not_modified():
    frame = daily(VIX_EVENING)
    before = frame.copy()
    compute_cross_asset_features(primary(), frame, CUTOFF)
    pd.testing.assert_frame_equal(frame, before)


def test_small_market_uses_only_values_published_by_each_cutoff(small_dataset, small_sessions):
    out = compute_cross_asset_features(small_sessions, small_dataset.daily, CUTOFF)
    d = small_dataset.daily
    for trade_date in small_sessions["trade_date"].iloc[[5, 40, 80, -1]]:
        cutoff = at(f"{trade_date.date()} 10:15")
        vix = d.loc[(d["symbol"] == "VIX") & (d["available_at"] <= cutoff)].sort_values("available_at")
        assert out.loc[trade_date, "vix_level"] == vix["close"].iloc[-1]
        assert vix["date"].iloc[-1] < trade_date  # in the synthetic market: the previous day's close
        assert out.loc[trade_date, "vix_change"] == pytest.approx(vix["close"].iloc[-1] - vix["close"].iloc[-2])


def test_an_empty_daily_frame_gives_no_columns():
    empty = daily(VIX_EVENING).iloc[:0]
    out = compute_cross_asset_features(primary(), empty, CUTOFF)
    assert list(out.columns) == []
    assert out.index.equals(DATES)
