"""build_sessions on tiny hand-made bar frames (exact values) and on the small synthetic market."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from almanac.sessions import build_sessions

ET = "America/New_York"
CUTOFF = dt.time(10, 15)
BAR_COLUMNS = ["ts", "open", "high", "low", "close", "volume", "contract", "trade_date"]


def make_bars(rows: list[tuple]) -> pd.DataFrame:
    """Canonical bars from ``(trade_date, ET wall-clock bar start, open, high, low, close, volume[, contract])``."""
    records = []
    for row in rows:
        trade_date, local, o, h, low, c, v = row[:7]
        contract = row[7] if len(row) > 7 else "ESH24"
        ts = pd.Timestamp(local).tz_localize(ET).tz_convert("UTC")
        records.append((ts, float(o), float(h), float(low), float(c), v, contract, pd.Timestamp(trade_date)))
    frame = pd.DataFrame.from_records(records, columns=BAR_COLUMNS)
    frame["volume"] = frame["volume"].astype(np.int64)
    frame["trade_date"] = frame["trade_date"].astype("datetime64[s]")
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def row_of(sessions: pd.DataFrame, trade_date: str) -> pd.Series:
    match = sessions.loc[sessions["trade_date"] == pd.Timestamp(trade_date)]
    assert len(match) == 1
    return match.iloc[0]


# Fri 2024-03-08 (EST) and Mon 2024-03-11 (EDT: the US switched on Sun 2024-03-10), so the UTC offsets differ.
TWO_DAYS = [
    ("2024-03-08", "2024-03-07 18:00", 5000.00, 5002.00, 4999.00, 5001.00, 10),  # Globex evening open
    ("2024-03-08", "2024-03-08 03:00", 5001.00, 5005.00, 4995.50, 5004.00, 20),
    ("2024-03-08", "2024-03-08 09:29", 5004.00, 5006.00, 5003.00, 5005.25, 30),  # last overnight bar
    ("2024-03-08", "2024-03-08 09:30", 5005.50, 5010.00, 5004.00, 5008.00, 100),  # RTH open
    ("2024-03-08", "2024-03-08 10:13", 5008.00, 5009.00, 5007.00, 5008.50, 40),
    ("2024-03-08", "2024-03-08 10:14", 5008.50, 5009.00, 5006.00, 5007.75, 50),  # ends exactly at the cutoff
    ("2024-03-08", "2024-03-08 10:15", 5007.75, 5020.00, 5007.00, 5019.00, 60),  # starts at the cutoff
    ("2024-03-08", "2024-03-08 15:59", 5010.00, 5012.00, 4990.00, 4991.25, 200),  # RTH close
    ("2024-03-08", "2024-03-08 16:05", 4991.00, 5030.00, 4980.00, 5025.00, 70),  # post-close: neither RTH nor ETH
    ("2024-03-11", "2024-03-10 18:00", 5026.00, 5027.00, 5020.00, 5021.00, 15),
    ("2024-03-11", "2024-03-11 09:30", 5021.00, 5040.00, 5021.00, 5035.00, 120),
    ("2024-03-11", "2024-03-11 10:14", 5035.00, 5036.00, 5030.00, 5031.50, 25),
    ("2024-03-11", "2024-03-11 15:59", 5031.50, 5033.00, 5028.00, 5032.00, 90),
]


@pytest.fixture(scope="module")
def two_days() -> pd.DataFrame:
    return build_sessions(make_bars(TWO_DAYS), CUTOFF)


def test_one_row_per_trade_date_with_the_documented_columns(two_days):
    assert list(two_days["trade_date"]) == [pd.Timestamp("2024-03-08"), pd.Timestamp("2024-03-11")]
    assert two_days["trade_date"].dtype == "datetime64[s]"
    assert list(two_days.columns) == [
        "trade_date", "open", "high", "low", "close", "volume",
        "eth_open", "eth_high", "eth_low", "eth_close", "eth_volume",
        "prev_close", "cutoff_price", "half_day", "roll_day", "contract", "rth_bars", "partial",
    ]  # fmt: skip


def test_rth_prices_come_from_the_0930_and_1559_bars_and_skip_post_close_bars(two_days):
    day = row_of(two_days, "2024-03-08")
    assert day["open"] == 5005.50
    assert day["close"] == 4991.25
    assert day["high"] == 5020.00  # the 10:15 bar; the 16:05 bar's 5030 is after the close
    assert day["low"] == 4990.00  # not the 16:05 bar's 4980
    assert day["volume"] == 100 + 40 + 50 + 60 + 200
    assert day["rth_bars"] == 5


def test_rth_window_follows_daylight_saving_time(two_days):
    # On 2024-03-11 (EDT) the 09:30 ET bar is 13:30 UTC; a fixed EST offset would miss it.
    day = row_of(two_days, "2024-03-11")
    assert (day["open"], day["high"], day["low"], day["close"]) == (5021.00, 5040.00, 5021.00, 5032.00)
    assert day["volume"] == 120 + 25 + 90
    assert day["rth_bars"] == 3


def test_eth_columns_cover_the_trade_dates_bars_before_the_rth_open(two_days):
    day = row_of(two_days, "2024-03-08")
    assert (day["eth_open"], day["eth_high"], day["eth_low"], day["eth_close"]) == (5000.00, 5006.00, 4995.50, 5005.25)
    assert day["eth_volume"] == 10 + 20 + 30
    monday = row_of(two_days, "2024-03-11")  # the Sunday-evening bar belongs to Monday's overnight session
    assert (monday["eth_open"], monday["eth_close"], monday["eth_volume"]) == (5026.00, 5021.00, 15)


def test_cutoff_price_is_the_close_of_the_last_bar_ending_by_the_cutoff(two_days):
    assert row_of(two_days, "2024-03-08")["cutoff_price"] == 5007.75  # the 10:14 bar, not the 10:15 bar (5019)
    assert row_of(two_days, "2024-03-11")["cutoff_price"] == 5031.50


def test_cutoff_price_falls_back_to_an_earlier_bar_when_the_last_minute_did_not_trade():
    bars = make_bars([b for b in TWO_DAYS if not b[1].endswith("10:14")])
    sessions = build_sessions(bars, CUTOFF)
    assert row_of(sessions, "2024-03-08")["cutoff_price"] == 5008.50  # 10:13 bar
    assert row_of(sessions, "2024-03-11")["cutoff_price"] == 5035.00  # 09:30 bar


def test_an_overnight_bar_is_never_a_cutoff_price():
    # At a 09:30 cutoff only overnight bars have ended (the 09:29 bar closed at 5005.25): no cutoff price.
    sessions = build_sessions(make_bars(TWO_DAYS), dt.time(9, 30))
    assert np.isnan(row_of(sessions, "2024-03-08")["cutoff_price"])
    assert row_of(build_sessions(make_bars(TWO_DAYS), dt.time(9, 31)), "2024-03-08")["cutoff_price"] != 5005.25


def test_prev_close_is_the_previous_trade_dates_rth_close(two_days):
    assert np.isnan(row_of(two_days, "2024-03-08")["prev_close"])
    assert row_of(two_days, "2024-03-11")["prev_close"] == 4991.25


def test_flags_and_contract_on_ordinary_days(two_days):
    assert not two_days["half_day"].any()
    assert not two_days["roll_day"].any()
    assert list(two_days["contract"]) == ["ESH24", "ESH24"]


def test_input_frame_is_not_modified():
    bars = make_bars(TWO_DAYS)
    before = bars.copy()
    build_sessions(bars, CUTOFF)
    pd.testing.assert_frame_equal(bars, before)


HALF_DAY = [
    ("2024-11-27", "2024-11-26 18:00", 6000.00, 6001.00, 5999.00, 6000.50, 10),
    ("2024-11-27", "2024-11-27 09:30", 6000.50, 6003.00, 6000.00, 6002.00, 100),
    ("2024-11-27", "2024-11-27 15:59", 6002.00, 6004.00, 6001.00, 6003.50, 80),
    ("2024-11-29", "2024-11-28 18:00", 6003.50, 6005.00, 6003.00, 6004.00, 12),  # Thanksgiving evening
    ("2024-11-29", "2024-11-29 09:30", 6004.00, 6008.00, 6004.00, 6007.00, 90),
    ("2024-11-29", "2024-11-29 10:14", 6007.00, 6007.50, 6006.00, 6006.25, 30),
    ("2024-11-29", "2024-11-29 12:59", 6006.25, 6010.00, 6006.00, 6009.75, 70),  # last RTH minute of a half day
    ("2024-11-29", "2024-11-29 13:05", 6009.75, 6020.00, 5990.00, 6015.00, 40),  # after the 13:00 ET close
]


def test_half_day_closes_at_1300_et():
    sessions = build_sessions(make_bars(HALF_DAY), CUTOFF)
    half = row_of(sessions, "2024-11-29")
    assert half["half_day"]
    assert not row_of(sessions, "2024-11-27")["half_day"]
    assert (half["open"], half["high"], half["low"], half["close"]) == (6004.00, 6010.00, 6004.00, 6009.75)
    assert half["volume"] == 90 + 30 + 70
    assert half["rth_bars"] == 3
    assert half["prev_close"] == 6003.50  # Wednesday's close; Thanksgiving is not a trade date


def test_cutoff_after_a_half_days_close_is_clipped_to_the_close():
    sessions = build_sessions(make_bars(HALF_DAY), dt.time(14, 0))
    assert row_of(sessions, "2024-11-29")["cutoff_price"] == 6009.75  # 12:59 bar; the 13:05 bar is past the close
    assert row_of(sessions, "2024-11-27")["cutoff_price"] == 6002.00


ROLL = [
    ("2024-03-13", "2024-03-13 09:30", 5100.00, 5102.00, 5099.00, 5101.00, 100, "ESH24"),
    ("2024-03-13", "2024-03-13 15:59", 5101.00, 5106.00, 5100.00, 5105.00, 100, "ESH24"),
    ("2024-03-14", "2024-03-13 18:00", 5120.00, 5121.00, 5119.00, 5120.50, 10, "ESM24"),
    ("2024-03-14", "2024-03-14 09:30", 5121.00, 5125.00, 5118.00, 5124.00, 100, "ESM24"),
    ("2024-03-14", "2024-03-14 15:59", 5124.00, 5130.00, 5122.00, 5128.00, 100, "ESM24"),
    ("2024-03-15", "2024-03-15 09:30", 5128.00, 5129.00, 5126.00, 5127.00, 100, "ESM24"),
    ("2024-03-15", "2024-03-15 15:59", 5127.00, 5133.00, 5125.00, 5131.00, 100, "ESM24"),
]


def test_roll_day_prev_close_adds_the_manifest_gap():
    rolls = [{"trade_date": "2024-03-14", "from": "ESH24", "to": "ESM24", "gap_pts": 17.25}]
    sessions = build_sessions(make_bars(ROLL), CUTOFF, rolls)
    assert list(sessions["roll_day"]) == [False, True, False]
    assert list(sessions["contract"]) == ["ESH24", "ESM24", "ESM24"]
    assert row_of(sessions, "2024-03-14")["prev_close"] == 5105.00 + 17.25
    assert row_of(sessions, "2024-03-15")["prev_close"] == 5128.00  # no gap once both days are on ESM24


@pytest.mark.parametrize(
    "rolls",
    [
        pytest.param([{"trade_date": "2024-03-14", "from": "ESH24", "to": "ESM24", "gap_pts": None}], id="gap-none"),
        pytest.param(None, id="roll-not-listed"),
    ],
)
def test_roll_day_without_a_known_gap_has_nan_prev_close(rolls):
    sessions = build_sessions(make_bars(ROLL), CUTOFF, rolls)
    assert row_of(sessions, "2024-03-14")["roll_day"]
    assert np.isnan(row_of(sessions, "2024-03-14")["prev_close"])
    assert row_of(sessions, "2024-03-15")["prev_close"] == 5128.00


def test_day_with_only_overnight_bars_is_kept_with_nan_rth_prices():
    bars = make_bars(
        [
            ("2024-03-06", "2024-03-06 09:30", 5050.00, 5052.00, 5049.00, 5051.00, 100),
            ("2024-03-06", "2024-03-06 15:59", 5051.00, 5053.00, 5050.00, 5052.50, 100),
            ("2024-03-07", "2024-03-06 18:00", 5052.50, 5054.00, 5052.00, 5053.00, 11),
            ("2024-03-07", "2024-03-07 04:00", 5053.00, 5055.00, 5051.75, 5054.25, 22),
            ("2024-03-08", "2024-03-08 09:30", 5060.00, 5061.00, 5059.00, 5060.25, 100),
        ]
    )
    sessions = build_sessions(bars, CUTOFF)
    assert len(sessions) == 3
    day = row_of(sessions, "2024-03-07")
    assert day["rth_bars"] == 0
    assert day["volume"] == 0
    assert day[["open", "high", "low", "close"]].isna().all()
    assert (day["eth_open"], day["eth_high"], day["eth_low"], day["eth_close"]) == (5052.50, 5055.00, 5051.75, 5054.25)
    assert day["eth_volume"] == 33
    assert np.isnan(day["cutoff_price"])  # a stub day (overnight only) never takes an overnight price
    assert day["partial"] == "no RTH bars; ends before the close"
    assert row_of(sessions, "2024-03-06")["partial"] == "starts after the Globex open"
    assert row_of(sessions, "2024-03-08")["partial"] == "starts after the Globex open; ends before the close"
    assert day["prev_close"] == 5052.50
    assert np.isnan(row_of(sessions, "2024-03-08")["prev_close"])  # the previous trade date had no RTH close
    assert row_of(sessions, "2024-03-08")["eth_volume"] == 0
    assert np.isnan(row_of(sessions, "2024-03-08")["eth_open"])


def test_trade_date_that_is_not_an_nyse_day_raises():
    bars = make_bars([("2024-03-09", "2024-03-08 18:00", 5000.0, 5000.0, 5000.0, 5000.0, 1)])  # a Saturday
    with pytest.raises(ValueError, match="2024-03-09"):
        build_sessions(bars, CUTOFF)


def test_empty_bars_raise():
    with pytest.raises(ValueError, match="no bars"):
        build_sessions(make_bars(TWO_DAYS).iloc[:0], CUTOFF)


# --- no look-ahead -------------------------------------------------------------------------------------------

RANDOM_DATES = [pd.Timestamp("2024-03-06"), pd.Timestamp("2024-03-07"), pd.Timestamp("2024-03-08")]
KNOWN_AT_CUTOFF = [
    "open", "eth_open", "eth_high", "eth_low", "eth_close", "eth_volume",
    "prev_close", "cutoff_price", "half_day", "roll_day", "contract",
]  # fmt: skip


def random_bars(rng: np.random.Generator) -> pd.DataFrame:
    """Random bars on three trade dates: the 09:30 bar, the minutes around the cutoff, and ~60 random minutes of
    each Globex session (18:00 ET on the eve to 17:00 ET)."""
    frames = []
    for day in RANDOM_DATES:
        session_open = (day - pd.Timedelta(days=1) + pd.Timedelta(hours=18)).tz_localize(ET)
        offsets = rng.choice(23 * 60, size=60, replace=False)
        fixed = [(pd.Timestamp(day) + pd.Timedelta(hours=9, minutes=m)).tz_localize(ET) for m in (30, 73, 74, 75, 76)]
        starts = pd.DatetimeIndex(session_open + pd.to_timedelta(offsets, unit="min")).append(pd.DatetimeIndex(fixed))
        starts = starts.unique().sort_values().tz_convert("UTC")
        n = len(starts)
        o = 5000 + 0.25 * rng.integers(-400, 400, n)
        c = 5000 + 0.25 * rng.integers(-400, 400, n)
        frames.append(
            pd.DataFrame(
                {
                    "ts": starts,
                    "open": o,
                    "high": np.maximum(o, c) + 0.25 * rng.integers(0, 8, n),
                    "low": np.minimum(o, c) - 0.25 * rng.integers(0, 8, n),
                    "close": c,
                    "volume": rng.integers(1, 500, n).astype(np.int64),
                    "contract": "ESH24",
                    "trade_date": pd.Series(day, index=range(n)).astype("datetime64[s]"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), day=st.integers(0, len(RANDOM_DATES) - 1))
def test_bars_after_a_days_cutoff_do_not_change_what_is_known_at_the_cutoff(seed, day):
    rng = np.random.default_rng(seed)
    bars = random_bars(rng)
    trade_date = RANDOM_DATES[day]
    cutoff_utc = (trade_date + pd.Timedelta(hours=10, minutes=15)).tz_localize(ET).tz_convert("UTC")
    after = (bars["ts"] + pd.Timedelta(minutes=1) > cutoff_utc).to_numpy()
    assert after.any()

    perturbed = bars.copy()
    shift = 0.25 * rng.integers(1, 200, after.sum())
    for column in ("open", "high", "low", "close"):
        perturbed.loc[after, column] = perturbed.loc[after, column] + shift
    perturbed.loc[after, "high"] = perturbed.loc[after, "high"] + 50.0
    perturbed.loc[after, "volume"] = rng.integers(1, 10_000, after.sum())
    keep = ~after | (rng.random(len(bars)) < 0.7)  # also drop some of the later bars outright
    keep[np.flatnonzero(bars["trade_date"] == trade_date)[0]] = True  # leave day D itself in the table
    perturbed = perturbed.loc[keep].reset_index(drop=True)

    base = build_sessions(bars, CUTOFF).set_index("trade_date")
    other = build_sessions(perturbed, CUTOFF).set_index("trade_date")
    pd.testing.assert_frame_equal(other.loc[[trade_date], KNOWN_AT_CUTOFF], base.loc[[trade_date], KNOWN_AT_CUTOFF])
    earlier = base.index < trade_date
    pd.testing.assert_frame_equal(other.loc[earlier], base.loc[earlier])


def test_bars_at_and_after_the_cutoff_minute_do_not_change_the_cutoff_price():
    bars = make_bars(TWO_DAYS)
    at_or_after = (bars["ts"] >= pd.Timestamp("2024-03-08 10:15").tz_localize(ET)).to_numpy()
    perturbed = bars.copy()
    perturbed.loc[at_or_after, "close"] = perturbed.loc[at_or_after, "close"] + 100.0
    assert build_sessions(perturbed, CUTOFF)["cutoff_price"].iloc[0] == 5007.75
    one_minute_earlier = (bars["ts"] >= pd.Timestamp("2024-03-08 10:14").tz_localize(ET)).to_numpy()
    perturbed.loc[one_minute_earlier, "close"] = bars.loc[one_minute_earlier, "close"] + 100.0
    assert build_sessions(perturbed, CUTOFF)["cutoff_price"].iloc[0] == 5107.75  # the 10:14 bar is used


# --- the small synthetic market --------------------------------------------------------------------------------


def test_small_sessions_has_one_row_per_trade_date(small_dataset, small_sessions):
    dates = pd.DatetimeIndex(np.sort(small_dataset.bars["trade_date"].unique()))
    assert small_sessions["trade_date"].is_unique
    assert pd.DatetimeIndex(small_sessions["trade_date"]).equals(dates)
    assert (small_sessions["rth_bars"] > 0).all()


@pytest.mark.parametrize("trade_date", ["2023-01-10", "2023-03-09", "2023-03-15", "2023-05-26"])
def test_small_sessions_match_the_bars(small_dataset, small_sessions, trade_date):
    bars = small_dataset.bars
    day = bars.loc[bars["trade_date"] == pd.Timestamp(trade_date)]
    wall = day["ts"].dt.tz_convert(ET).dt.strftime("%H:%M")
    row = row_of(small_sessions, trade_date)
    assert row["open"] == day.loc[wall == "09:30", "open"].item()
    assert row["close"] == day.loc[wall == "15:59", "close"].item()
    assert row["cutoff_price"] == day.loc[wall == "10:14", "close"].item()
    rth = day.loc[(wall >= "09:30") & (wall < "16:00")]  # the eve's bars start at 18:00 ET or later
    assert row["high"] == rth["high"].max()
    assert row["low"] == rth["low"].min()
    assert row["volume"] == rth["volume"].sum()


def test_small_sessions_roll_day_uses_the_manifest_gap(small_dataset, small_sessions):
    rolls = small_dataset.manifest["rolls"]
    assert [r["trade_date"] for r in rolls] == ["2023-03-09", "2023-06-08"]
    roll_dates = small_sessions.loc[small_sessions["roll_day"], "trade_date"].dt.strftime("%Y-%m-%d")
    assert list(roll_dates) == ["2023-03-09", "2023-06-08"]
    for roll in rolls:
        day = small_sessions.index[small_sessions["trade_date"] == pd.Timestamp(roll["trade_date"])][0]
        previous_close = small_sessions.loc[day - 1, "close"]
        assert small_sessions.loc[day, "prev_close"] == pytest.approx(previous_close + roll["gap_pts"])
