"""The real FirstRate ES sample (../shared/data/real, internal testing only; read in place, never copied).

``ES_1min_sample.csv``: no header, US Eastern, bar start, 2023-03-08 00:00 to 2023-03-23 16:59 ET, crossing the
2023-03-12 DST change.  Expected values below were read by hand from the raw file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from almanac.data_sources.files import build_file_dataset
from almanac.data_sources.validation import check_canonical
from almanac.sessions import build_sessions
from helpers import files_params

SAMPLE = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "es_1min_firstrate_2023-03"
) / "ES_1min_sample.csv"

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def dataset():
    if not SAMPLE.is_file():
        pytest.skip(f"real data not available: {SAMPLE}")
    return build_file_dataset(files_params(symbol="ES", paths=str(SAMPLE), format="firstrate"))


@pytest.fixture(scope="module")
def sessions(dataset):
    return build_sessions(dataset.bars, dt.time(10, 15), dataset.manifest["rolls"]).set_index("trade_date")


def test_loads_to_the_canonical_schema(dataset):
    bars = dataset.bars
    check_canonical(bars, 0.25, source=str(SAMPLE))
    assert list(bars.columns) == ["ts", "open", "high", "low", "close", "volume", "contract", "trade_date"]
    assert str(bars["ts"].dt.tz) == "UTC"
    assert bars["volume"].dtype == np.int64
    assert bars["trade_date"].dtype == "datetime64[s]"
    assert len(bars) == 16_200
    assert (bars["contract"] == "ES-continuous").all()


def test_trade_dates(dataset):
    bars, manifest = dataset.bars, dataset.manifest
    dates = pd.DatetimeIndex(np.unique(bars["trade_date"]))
    assert len(dates) == 12
    assert [str(d.date()) for d in dates] == [
        "2023-03-08", "2023-03-09", "2023-03-10", "2023-03-13", "2023-03-14", "2023-03-15",
        "2023-03-16", "2023-03-17", "2023-03-20", "2023-03-21", "2023-03-22", "2023-03-23",
    ]  # fmt: skip
    assert manifest["trade_dates"] == {"count": 12, "first": "2023-03-08", "last": "2023-03-23"}
    # The file starts at 00:00 ET on 2023-03-08 (17 hours of that session); every later session is complete:
    # 18:00-17:00 ET less the 17:00-18:00 break = 23 hours.
    counts = bars.groupby("trade_date").size()
    assert counts.iloc[0] == 17 * 60
    assert (counts.iloc[1:] == 23 * 60).all()


def test_trade_dates_agree_with_an_independent_eastern_time_rule(dataset):
    """In March 2023 (no holidays): a bar from 18:00 ET belongs to the next day, weekend days to Monday."""
    bars = dataset.bars
    local = bars["ts"].dt.tz_convert("America/New_York").dt.tz_localize(None)
    day = local.dt.normalize() + pd.to_timedelta((local.dt.hour >= 18).astype(int), unit="D")
    day = day + pd.to_timedelta(((7 - day.dt.day_of_week) % 7).where(day.dt.day_of_week >= 5, 0), unit="D")
    assert (day.to_numpy() == bars["trade_date"].to_numpy()).all()


def _bar(bars: pd.DataFrame, utc: str) -> pd.Series:
    rows = bars.loc[bars["ts"] == pd.Timestamp(utc, tz="UTC")]
    assert len(rows) == 1, utc
    return rows.iloc[0]


def test_sunday_open_after_the_dst_change(dataset):
    """Sunday 2023-03-12 18:00 EDT (UTC-4) is 22:00 UTC and opens Monday's session; Thursday's 18:00 EST bar was
    23:00 UTC."""
    sunday = _bar(dataset.bars, "2023-03-12 22:00")
    assert sunday["trade_date"] == pd.Timestamp("2023-03-13")
    assert (sunday["open"], sunday["close"], sunday["volume"]) == (3920.50, 3913.25, 4114)
    assert sunday["ts"].tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M %Z") == "2023-03-12 18:00 EDT"
    assert not (dataset.bars["ts"] == pd.Timestamp("2023-03-12 21:00", tz="UTC")).any()  # 17:00 EDT: the break
    thursday = _bar(dataset.bars, "2023-03-09 23:00")
    assert thursday["trade_date"] == pd.Timestamp("2023-03-10")
    assert (thursday["open"], thursday["close"], thursday["volume"]) == (3953.75, 3948.75, 1535)
    # 16:00-16:59 ET after the cash close still belongs to the same trade date (15:00-15:59 CT).
    after_close = _bar(dataset.bars, "2023-03-09 21:01")
    assert after_close["trade_date"] == pd.Timestamp("2023-03-09") and after_close["volume"] == 8542


@pytest.mark.parametrize(
    ("day", "rth_open", "rth_close", "cutoff_price"),
    [("2023-03-10", 3948.25, 3897.25, 3936.00), ("2023-03-15", 3890.75, 3928.75, 3892.50)],
)
def test_rth_sessions_match_the_raw_file(sessions, day, rth_open, rth_close, cutoff_price):
    """RTH open = 09:30 bar open, RTH close = 15:59 bar close, cutoff price = 10:14 bar close (read by hand)."""
    row = sessions.loc[pd.Timestamp(day)]
    assert row["open"] == rth_open
    assert row["close"] == rth_close
    assert row["cutoff_price"] == cutoff_price
    assert row["rth_bars"] == 390
    assert not row["half_day"] and not row["roll_day"]


def test_every_session_has_a_full_rth(sessions):
    assert len(sessions) == 12
    assert (sessions["rth_bars"] == 390).all()


def test_stamp_check_and_no_repairs(dataset):
    manifest = dataset.manifest
    assert manifest["stamp_check"]["verdict"] == "ok"
    assert manifest["stamp_check"]["days"] == 12
    assert manifest["repairs"] == {}
    assert manifest["timezone_of_files"] == "America/New_York"
    assert manifest["gaps"]["rth_minutes_missing"] == 0
    assert manifest["rows"]["read"] == manifest["rows"]["continuous_bars"] == 16_200


def _archetype_by_hand(day: pd.DataFrame, scale: float) -> str | None:
    """The archetype rule of docs/honesty.md for one day's RTH bars, written plainly (one day at a time) as an independent check."""
    o, h, lo, c = day["open"].iloc[0], day["high"].max(), day["low"].min(), day["close"].iloc[-1]
    r = h - lo
    if not np.isfinite(scale) or r <= 0:
        return None if not np.isfinite(scale) else "Other"
    clv, olv, body = (c - lo) / r, (o - lo) / r, c - o
    t_high, t_low = day.loc[day["high"] == h, "ts"].iloc[0], day.loc[day["low"] == lo, "ts"].iloc[0]
    zones = [1 if hi >= h - 0.15 * r and not low <= lo + 0.15 * r else -1 if low <= lo + 0.15 * r and not hi >= h - 0.15 * r else 0
             for hi, low in zip(day["high"], day["low"], strict=True)]  # fmt: skip
    tests = [z for z in zones if z]
    swings = sum(a != b for a, b in zip(tests, tests[1:], strict=False))
    if body >= 0.5 * r and olv <= 0.25 and clv >= 0.75 and r >= 0.8 * scale:
        return "TrendUp"
    if -body >= 0.5 * r and olv >= 0.75 and clv <= 0.25 and r >= 0.8 * scale:
        return "TrendDown"
    if t_low < t_high and o - lo >= 0.4 * r and clv >= 0.7:
        return "ReversalUp"
    if t_high < t_low and h - o >= 0.4 * r and clv <= 0.3:
        return "ReversalDown"
    if abs(body) <= 0.25 * r and r <= scale and 0.25 <= clv <= 0.75 and swings >= 3:
        return "Range"
    return "Other"


def test_archetypes_of_the_real_sessions_match_a_day_by_day_reading_of_the_rules(dataset, sessions):
    from almanac.features.regime import atr_through_previous
    from almanac.ml.labelers import build_labels

    labels = build_labels(sessions, dataset.bars, atr_days=3)["archetype"]
    scale = atr_through_previous(sessions, 3)
    local = dataset.bars["ts"].dt.tz_convert("America/New_York")
    rth = dataset.bars.loc[(local.dt.strftime("%H:%M") >= "09:30") & (local.dt.strftime("%H:%M") < "16:00")]
    by_hand = {d: _archetype_by_hand(rth.loc[rth["trade_date"] == d], float(scale.loc[d])) for d in sessions.index}
    assert {d: (None if pd.isna(v) else v) for d, v in labels.items()} == by_hand
    # 16 March 2023 opened at its low and closed near its high: a trend day; the first three have no ATR(3) yet.
    assert labels.loc["2023-03-16"] == "TrendUp" and labels.iloc[:3].isna().all()
    assert set(labels.dropna()) == {"Other", "TrendUp", "ReversalUp", "ReversalDown"}
