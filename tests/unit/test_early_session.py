"""Early-session features on a tiny hand-made market (golden values) and window edge cases.

Four trade dates around the 2024 US DST change (Thu 03-07, Fri 03-08 in EST; Mon 03-11, Tue 03-12 in EDT). The
first three are plain; Tue 2024-03-12 is the golden day whose every window statistic is worked out by hand below.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from almanac.config import FeaturesParams
from almanac.features import early_session
from almanac.features.ml_features import compute_early_session_features
from almanac.sessions import build_sessions, session_windows

ET = "America/New_York"
CUTOFF = dt.time(10, 15)
BAR_COLUMNS = ["ts", "open", "high", "low", "close", "volume", "contract", "trade_date"]
# Short windows so that four days are enough: volume ratios vs the mean of the 2 previous days, ATR(2).
WINDOWS = FeaturesParams(volume_avg_days=2, atr_days=2)
GOLDEN = pd.Timestamp("2024-03-12")


def make_bars(rows: list[tuple], contracts: dict[str, str] | None = None) -> pd.DataFrame:
    """Canonical bars from ``(trade_date, ET wall-clock bar start, open, high, low, close, volume)``; the contract
    is ESH24 unless ``contracts`` maps the trade date to another."""
    records = []
    for trade_date, local, o, h, low, c, v in rows:
        ts = pd.Timestamp(local).tz_localize(ET).tz_convert("UTC")
        contract = (contracts or {}).get(trade_date, "ESH24")
        records.append((ts, float(o), float(h), float(low), float(c), v, contract, pd.Timestamp(trade_date)))
    frame = pd.DataFrame.from_records(records, columns=BAR_COLUMNS)
    frame["ts"] = frame["ts"].dt.as_unit("ns")
    frame["volume"] = frame["volume"].astype(np.int64)
    frame["trade_date"] = frame["trade_date"].astype("datetime64[s]")
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


PLAIN_DAYS = [
    # Thu 2024-03-07: RTH O 5002 H 5010 L 4996 C 5008; overnight volume 150, first-window volume 300.
    ("2024-03-07", "2024-03-06 18:00", 5000, 5002, 4998, 5001, 100),
    ("2024-03-07", "2024-03-07 09:29", 5001, 5003, 5000, 5002, 50),
    ("2024-03-07", "2024-03-07 09:30", 5002, 5006, 5001, 5005, 200),
    ("2024-03-07", "2024-03-07 10:14", 5005, 5007, 5004, 5006, 100),
    ("2024-03-07", "2024-03-07 15:59", 5006, 5010, 4996, 5008, 300),
    # Fri 2024-03-08: RTH O 5007 H 5015 L 5000 C 5004; overnight volume 80, first-window volume 600.
    ("2024-03-08", "2024-03-07 18:00", 5008, 5009, 5005, 5006, 80),
    ("2024-03-08", "2024-03-08 09:30", 5007, 5012, 5006, 5011, 400),
    ("2024-03-08", "2024-03-08 10:14", 5011, 5013, 5009, 5010, 200),
    ("2024-03-08", "2024-03-08 15:59", 5010, 5015, 5000, 5004, 300),
    # Mon 2024-03-11 (EDT): RTH O 5005 H 5020 L 5002 C 5016; overnight volume 60, first-window volume 900.
    ("2024-03-11", "2024-03-10 18:00", 5004, 5006, 5001, 5005, 60),
    ("2024-03-11", "2024-03-11 09:30", 5005, 5008, 5003, 5007, 500),
    ("2024-03-11", "2024-03-11 10:14", 5007, 5009, 5006, 5008, 400),
    ("2024-03-11", "2024-03-11 15:59", 5008, 5020, 5002, 5016, 300),
]

GOLDEN_OVERNIGHT = [
    ("2024-03-12", "2024-03-11 18:00", 5016, 5018, 5012, 5013, 40),  # first bar: tick rule 0
    ("2024-03-12", "2024-03-12 03:00", 5013, 5015, 5010, 5014.25, 70),  # up: +70
    ("2024-03-12", "2024-03-12 09:29", 5014.25, 5016, 5014, 5014.25, 30),  # unchanged: carries +, +30
]
GOLDEN_FIRST_WINDOW = [
    # start                            O        H        L        C     V    tick  high test      low test
    ("2024-03-12", "2024-03-12 09:30", 5020, 5022, 5019, 5021, 1000),  # 0   (first bar)     (first bar)
    ("2024-03-12", "2024-03-12 09:31", 5021, 5021.75, 5020, 5021.5, 500),  # +   5021.75>=5021.5  no
    ("2024-03-12", "2024-03-12 09:32", 5021.5, 5021.5, 5018, 5018.5, 600),  # -   5021.5>=5021.5   5018<=5019.5
    ("2024-03-12", "2024-03-12 09:33", 5018.5, 5019, 5017, 5017.25, 400),  # -   no               5017<=5018.5
    ("2024-03-12", "2024-03-12 09:34", 5017.25, 5020, 5017.25, 5020, 300),  # +   no               5017.25<=5017.5
    ("2024-03-12", "2024-03-12 09:35", 5020, 5021, 5019.5, 5020, 200),  # + (carried) no      no
    ("2024-03-12", "2024-03-12 10:00", 5020, 5020, 5018, 5018, 350),  # -   no               5018>5017.5: no
    ("2024-03-12", "2024-03-12 10:14", 5020, 5022.5, 5019.75, 5022, 250),  # +   new high: 2nd test  no
]
GOLDEN_AFTER_CUTOFF = [
    ("2024-03-12", "2024-03-12 10:15", 5022, 5030, 5010, 5029, 5000),  # starts at the cutoff: excluded
    ("2024-03-12", "2024-03-12 15:59", 5029, 5031, 5025, 5030, 800),
]
GOLDEN_DAY = GOLDEN_OVERNIGHT + GOLDEN_FIRST_WINDOW + GOLDEN_AFTER_CUTOFF
ALL_ROWS = PLAIN_DAYS + GOLDEN_DAY


def typical_vwap(rows: list[tuple]) -> float:
    typical = np.array([(h + low + c) / 3.0 for _, _, _, h, low, c, _ in rows])
    volume = np.array([v for *_, v in rows], dtype=float)
    return float((typical * volume).sum() / volume.sum())


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return make_bars(ALL_ROWS)


@pytest.fixture(scope="module")
def sessions(bars) -> pd.DataFrame:
    return build_sessions(bars, CUTOFF)


@pytest.fixture(scope="module")
def stats(bars, sessions) -> pd.DataFrame:
    return early_session.first_window_stats(bars, session_windows(sessions["trade_date"], CUTOFF))


@pytest.fixture(scope="module")
def features(bars, sessions) -> pd.DataFrame:
    return compute_early_session_features(bars, CUTOFF, sessions=sessions, settings=WINDOWS)


def test_hand_computed_vwap_matches_the_literal():
    # (H+L+C)*V summed over the window is 54,214,662.5; / 3 / 3600 contracts.
    assert typical_vwap(GOLDEN_FIRST_WINDOW) == pytest.approx(54_214_662.5 / 3 / 3600, abs=1e-9)
    assert typical_vwap(GOLDEN_FIRST_WINDOW) == pytest.approx(5019.876157, abs=1e-6)


def test_first_window_runs_from_0930_to_the_last_bar_ending_by_the_cutoff(stats):
    day = stats.loc[GOLDEN]
    assert day["fw_open"] == 5020.0  # the 09:30 bar; the 09:29 bar is overnight
    assert day["fw_close"] == 5022.0  # the 10:14 bar ends exactly at 10:15
    assert day["fw_high"] == 5022.5  # not the 10:15 bar's 5030
    assert day["fw_low"] == 5017.0  # not the 10:15 bar's 5010
    assert day["fw_volume"] == 3600  # not the 10:15 bar's 5000
    assert day["fw_vwap"] == pytest.approx(5019.876157, abs=1e-6)


def test_first_window_delta_is_tick_rule_signed_volume(stats):
    # Signs 0, +, -, -, +, + (unchanged close carries), -, + over volumes 1000 .. 250.
    assert stats.loc[GOLDEN, "fw_delta"] == 0 + 500 - 600 - 400 + 300 + 200 - 350 + 250


def test_tests_of_the_running_high_and_low_are_counted_as_episodes(stats):
    # High: 09:31-09:32 touch within 2 ticks of 5022 (one episode), 10:14 breaks out to 5022.5 (a second).
    assert stats.loc[GOLDEN, "fw_high_tests"] == 2
    # Low: 09:32, 09:33, 09:34 touch consecutively (one episode); 10:00's 5018 is 4 ticks above 5017.
    assert stats.loc[GOLDEN, "fw_low_tests"] == 1


def test_overnight_delta_and_volume_use_only_bars_before_0930(stats):
    day = stats.loc[GOLDEN]
    assert day["on_volume"] == 40 + 70 + 30
    assert day["on_delta"] == 0 + 70 + 30
    assert stats.loc[pd.Timestamp("2024-03-07"), "on_volume"] == 150


def test_plain_days_window_stats(stats):
    # Mon 2024-03-11 is in EDT: the 09:30 ET bar is 13:30 UTC, found via the tz database.
    monday = stats.loc[pd.Timestamp("2024-03-11")]
    assert (monday["fw_open"], monday["fw_high"], monday["fw_low"], monday["fw_close"]) == (5005, 5009, 5003, 5008)
    assert monday["fw_volume"] == 900
    assert monday["fw_delta"] == 400  # 09:30 bar 0, 10:14 bar up


def test_gap_and_overnight_range_are_relative_to_the_previous_rth_close(features):
    day = features.loc[GOLDEN]
    assert day["gap_pct"] == pytest.approx((5020 / 5016 - 1) * 100, rel=1e-12)
    assert day["overnight_range_pct"] == pytest.approx((5018 - 5010) / 5016 * 100, rel=1e-12)


def test_open_to_cutoff_return_delta_ratios_and_vwap_distance(features):
    day = features.loc[GOLDEN]
    assert day["open_to_cutoff_ret_pct"] == pytest.approx((5022 / 5020 - 1) * 100, rel=1e-12)
    assert day["first_delta_ratio"] == pytest.approx(-100 / 3600, rel=1e-12)
    assert day["overnight_delta_ratio"] == pytest.approx(100 / 140, rel=1e-12)
    assert day["vwap_dist_pct"] == pytest.approx((5022 / (54_214_662.5 / 3 / 3600) - 1) * 100, rel=1e-9)
    assert (day["high_tests"], day["low_tests"]) == (2, 1)


def test_first_range_is_in_atrs_through_the_previous_day_only(features):
    # TR: 03-07 14 (no previous close), 03-08 max(15, 7, 8) = 15, 03-11 max(18, 16, 2) = 18.
    # Wilder ATR(2), alpha 1/2: 14 -> 14.5 -> 16.25.  Today's TR (21) must not enter: that would give 18.625.
    assert features.loc[GOLDEN, "first_range_atr"] == pytest.approx((5022.5 - 5017) / 16.25, rel=1e-12)
    # ATR(2) needs two days: on 03-08 only one TR exists before the day.
    assert np.isnan(features.loc[pd.Timestamp("2024-03-08"), "first_range_atr"])
    assert features.loc[pd.Timestamp("2024-03-11"), "first_range_atr"] == pytest.approx((5009 - 5003) / 14.5)


def test_volume_ratios_use_the_mean_of_the_previous_days_only(features):
    day = features.loc[GOLDEN]
    # Previous two days (03-08, 03-11): first-window 600 and 900, overnight 80 and 60.  03-07 and today excluded.
    assert day["first_volume_rel"] == pytest.approx(3600 / 750, rel=1e-12)
    assert day["overnight_volume_rel"] == pytest.approx(140 / 70, rel=1e-12)
    # min_periods = volume_avg_days // 2 = 1: the second day already has a ratio, the first has none.
    assert np.isnan(features.loc[pd.Timestamp("2024-03-07"), "first_volume_rel"])
    assert features.loc[pd.Timestamp("2024-03-08"), "first_volume_rel"] == pytest.approx(600 / 300)


def test_prev_day_return_is_yesterdays_close_to_close(features):
    assert features.loc[GOLDEN, "prev_day_ret_pct"] == pytest.approx((5016 / 5004 - 1) * 100, rel=1e-12)
    assert features.loc[pd.Timestamp("2024-03-11"), "prev_day_ret_pct"] == pytest.approx((5004 / 5008 - 1) * 100)
    assert features["prev_day_ret_pct"].iloc[:2].isna().all()


def test_bars_after_the_cutoff_do_not_move_any_feature(bars, features):
    cut = pd.Timestamp("2024-03-12 10:15").tz_localize(ET).tz_convert("UTC")
    wild = bars.copy()
    after = wild["ts"] + pd.Timedelta(minutes=1) > cut
    wild.loc[after, ["open", "high", "low", "close"]] = [[9000.0, 9100.0, 1000.0, 1000.25]] * int(after.sum())
    wild.loc[after, "volume"] = 10**6
    again = compute_early_session_features(wild, CUTOFF, sessions=build_sessions(wild, CUTOFF), settings=WINDOWS)
    pd.testing.assert_frame_equal(again, features)


def test_a_later_cutoff_takes_the_1015_bar_in(bars):
    later = compute_early_session_features(
        bars, "10:16", sessions=build_sessions(bars, dt.time(10, 16)), settings=WINDOWS
    )
    day = later.loc[GOLDEN]
    assert day["open_to_cutoff_ret_pct"] == pytest.approx((5029 / 5020 - 1) * 100)
    assert day["first_range_atr"] == pytest.approx((5030 - 5010) / 16.25)


def test_roll_day_gap_is_measured_against_the_previous_close_in_the_new_contract():
    bars = make_bars(ALL_ROWS, contracts={"2024-03-12": "ESM24"})
    rolls = [{"trade_date": "2024-03-12", "from": "ESH24", "to": "ESM24", "gap_pts": 20.0}]
    with_gap = compute_early_session_features(
        bars, CUTOFF, sessions=build_sessions(bars, CUTOFF, rolls), settings=WINDOWS
    ).loc[GOLDEN]
    assert with_gap["gap_pct"] == pytest.approx((5020 / (5016 + 20) - 1) * 100, rel=1e-12)
    assert with_gap["overnight_range_pct"] == pytest.approx(8 / 5036 * 100, rel=1e-12)
    # Without the manifest's carry gap the roll day's gap is unknown, not a spliced jump.
    unknown = compute_early_session_features(bars, CUTOFF, sessions=build_sessions(bars, CUTOFF), settings=WINDOWS).loc[
        GOLDEN
    ]
    assert np.isnan(unknown["gap_pct"]) and np.isnan(unknown["overnight_range_pct"])
    assert unknown["first_range_atr"] == pytest.approx(5.5 / 16.25)  # ATR through 03-11 is not affected


def test_empty_first_window_gives_nan_window_features():
    rows = PLAIN_DAYS + GOLDEN_OVERNIGHT + GOLDEN_AFTER_CUTOFF  # golden day without a single bar before 10:15
    bars = make_bars(rows)
    out = compute_early_session_features(bars, CUTOFF, sessions=build_sessions(bars, CUTOFF), settings=WINDOWS).loc[
        GOLDEN
    ]
    for name in ["first_range_atr", "open_to_cutoff_ret_pct", "first_delta_ratio", "vwap_dist_pct"]:
        assert np.isnan(out[name]), name
    assert out["overnight_delta_ratio"] == pytest.approx(100 / 140)


@pytest.mark.parametrize(
    ("rows", "cutoff"),
    [
        # Nothing trades 09:30-10:14: at 10:15 the gap is unknown, with the future it is 5022/5016 - 1.
        (PLAIN_DAYS + GOLDEN_OVERNIGHT + GOLDEN_AFTER_CUTOFF, dt.time(10, 15)),
        # A 09:31 cutoff (the earliest params.yaml accepts) on a day whose 09:30 minute did not trade.
        (PLAIN_DAYS + GOLDEN_OVERNIGHT + GOLDEN_FIRST_WINDOW[1:] + GOLDEN_AFTER_CUTOFF, dt.time(9, 31)),
    ],
    ids=["empty-first-window", "0931-cutoff-missing-0930-bar"],
)
def test_gap_pct_does_not_read_an_rth_open_printed_after_the_cutoff(rows, cutoff):
    full = make_bars(rows)
    cut_instant = pd.Timestamp(dt.datetime.combine(GOLDEN.date(), cutoff)).tz_localize(ET).tz_convert("UTC")
    cut = full.loc[full["ts"] + pd.Timedelta(minutes=1) <= cut_instant]
    with_future = compute_early_session_features(full, cutoff, sessions=build_sessions(full, cutoff), settings=WINDOWS)
    at_cutoff = compute_early_session_features(cut, cutoff, sessions=build_sessions(cut, cutoff), settings=WINDOWS)
    pd.testing.assert_series_equal(with_future.loc[GOLDEN], at_cutoff.loc[GOLDEN])


def test_window_masks_split_overnight_and_first_window(bars, sessions):
    first, overnight = early_session.window_masks(bars, session_windows(sessions["trade_date"], CUTOFF))
    local = bars["ts"].dt.tz_convert(ET).dt.strftime("%H:%M")
    golden = (bars["trade_date"] == GOLDEN).to_numpy()
    assert list(local[golden & first]) == ["09:30", "09:31", "09:32", "09:33", "09:34", "09:35", "10:00", "10:14"]
    assert list(local[golden & overnight]) == ["18:00", "03:00", "09:29"]


def test_inputs_are_not_modified(bars, sessions):
    before_bars, before_sessions = bars.copy(), sessions.copy()
    compute_early_session_features(bars, CUTOFF, sessions=sessions, settings=WINDOWS)
    pd.testing.assert_frame_equal(bars, before_bars)
    pd.testing.assert_frame_equal(sessions, before_sessions)
