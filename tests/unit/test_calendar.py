"""Session calendar: eras, trade dates, RTH windows, cutoff instants and Globex windows.

Every instant is built from a wall-clock time with the tz database (``tz_localize``), never a fixed offset.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from almanac import calendar

CT = "America/Chicago"
ET = "America/New_York"


def ct(wall: str) -> pd.Timestamp:
    """A Chicago wall-clock time as a UTC instant (DST from the tz database)."""
    return pd.Timestamp(wall).tz_localize(CT).tz_convert("UTC")


def et(wall: str) -> pd.Timestamp:
    """A New York wall-clock time as a UTC instant."""
    return pd.Timestamp(wall).tz_localize(ET).tz_convert("UTC")


def utc(wall: str) -> pd.Timestamp:
    return pd.Timestamp(wall, tz="UTC")


def trade_date_of(instant: pd.Timestamp) -> dt.date:
    """Trade date of one bar start, through the vectorised function."""
    out = calendar.assign_trade_dates(pd.DatetimeIndex([instant]))
    assert out.dtype == np.dtype("datetime64[D]")
    assert len(out) == 1
    return pd.Timestamp(out[0]).date()


@functools.cache
def nyse_sessions() -> frozenset[dt.date]:
    """NYSE trading days 2012-2026 straight from exchange_calendars (independent of almanac.calendar)."""
    with warnings.catch_warnings():
        # Named exception: exchange_calendars 4.13 reads tz-aware ``Series.values`` while building a calendar,
        # which pandas 3.1 deprecates.  Third-party, and only this oracle's construction is shielded.
        warnings.filterwarnings(
            "ignore", message="Series.values returning an ndarray", category=pd.errors.Pandas4Warning
        )
        xnys = xcals.get_calendar("XNYS", start="2012-01-01", end="2026-12-31")
    return frozenset(d.date() for d in xnys.sessions)


# --- trade-date boundary (17:00 CT) ------------------------------------------------------------------


def test_sunday_evening_open_belongs_to_monday():
    assert ct("2024-01-07 17:00") == utc("2024-01-07 23:00")
    assert trade_date_of(ct("2024-01-07 17:00")) == dt.date(2024, 1, 8)


def test_monday_1659_ct_belongs_to_monday():
    assert trade_date_of(ct("2024-01-08 16:59")) == dt.date(2024, 1, 8)


def test_monday_1700_ct_belongs_to_tuesday():
    assert trade_date_of(ct("2024-01-08 17:00")) == dt.date(2024, 1, 9)


def test_last_second_before_boundary_stays_on_the_day():
    assert trade_date_of(ct("2024-01-08 16:59:59")) == dt.date(2024, 1, 8)


def test_friday_1700_ct_rolls_to_monday():
    assert trade_date_of(ct("2024-01-05 17:00")) == dt.date(2024, 1, 8)


def test_saturday_bar_rolls_to_monday():
    assert trade_date_of(ct("2024-01-06 12:00")) == dt.date(2024, 1, 8)


def test_boundary_follows_dst_in_spring():
    # Monday after the 2024-03-10 change: 17:00 CDT is 22:00 UTC (it was 23:00 UTC the week before).
    assert trade_date_of(utc("2024-03-11 21:59")) == dt.date(2024, 3, 11)
    assert trade_date_of(utc("2024-03-11 22:00")) == dt.date(2024, 3, 12)


def test_boundary_follows_dst_in_autumn():
    # Monday after the 2024-11-03 change: 17:00 CST is 23:00 UTC again.
    assert trade_date_of(utc("2024-11-04 22:59")) == dt.date(2024, 11, 4)
    assert trade_date_of(utc("2024-11-04 23:00")) == dt.date(2024, 11, 5)


# --- holiday segments roll forward ------------------------------------------------------------------


def test_mlk_day_bar_rolls_to_tuesday():
    assert trade_date_of(ct("2024-01-15 10:00")) == dt.date(2024, 1, 16)


def test_thanksgiving_morning_bar_rolls_to_friday():
    assert trade_date_of(ct("2024-11-28 09:00")) == dt.date(2024, 11, 29)


def test_good_friday_morning_bar_rolls_to_monday():
    assert trade_date_of(ct("2024-03-29 08:00")) == dt.date(2024, 4, 1)


def test_christmas_eve_evening_bar_skips_christmas():
    assert trade_date_of(ct("2024-12-24 17:00")) == dt.date(2024, 12, 26)


# --- eras -------------------------------------------------------------------------------------------


def test_eras_are_ordered_and_named():
    assert [era.name for era in calendar.ERAS] == ["pre-2012", "2012-2021", "2021-"]
    firsts = [era.first_date for era in calendar.ERAS]
    assert firsts == sorted(firsts)
    assert firsts[1:] == [dt.date(2012, 11, 19), dt.date(2021, 6, 28)]


def test_era_rules():
    pre, mid, modern = calendar.ERAS
    assert pre.boundary_ct == dt.time(15, 30)
    assert (mid.boundary_ct, mid.close_ct, mid.pause_ct) == (
        dt.time(17, 0),
        dt.time(16, 15),
        (dt.time(15, 15), dt.time(15, 30)),
    )
    assert (modern.boundary_ct, modern.close_ct, modern.pause_ct) == (dt.time(17, 0), dt.time(16, 0), None)


@pytest.mark.parametrize(
    ("date", "name"),
    [
        (dt.date(2005, 3, 1), "pre-2012"),
        (dt.date(2012, 11, 18), "pre-2012"),
        (dt.date(2012, 11, 19), "2012-2021"),
        (dt.date(2021, 6, 27), "2012-2021"),
        (dt.date(2021, 6, 28), "2021-"),
        (dt.date(2024, 7, 10), "2021-"),
    ],
)
def test_era_for_switches_on_first_date(date, name):
    assert calendar.era_for(date).name == name


def test_era_for_accepts_timestamps():
    assert calendar.era_for(pd.Timestamp("2019-06-12")).name == "2012-2021"


def test_pre_2012_reopen_at_1530_ct_belongs_to_next_day():
    assert trade_date_of(ct("2012-11-15 15:30")) == dt.date(2012, 11, 16)
    assert trade_date_of(ct("2012-11-15 15:45")) == dt.date(2012, 11, 16)


def test_pre_2012_bar_before_the_pause_stays_on_the_day():
    assert trade_date_of(ct("2012-11-15 15:14")) == dt.date(2012, 11, 15)


def test_pre_2012_friday_reopen_rolls_to_monday():
    assert trade_date_of(ct("2012-11-16 15:45")) == dt.date(2012, 11, 19)


def test_first_sunday_open_of_the_2012_era_belongs_to_monday():
    assert trade_date_of(ct("2012-11-18 17:00")) == dt.date(2012, 11, 19)


def test_2012_era_monday_afternoon_bar_after_1530_stays_on_the_day():
    # From 2012-11-19 the 15:30 reopen no longer starts the next trade date.
    assert trade_date_of(ct("2012-11-19 15:45")) == dt.date(2012, 11, 19)


def test_2012_era_boundary_is_1700_ct():
    assert trade_date_of(ct("2019-06-12 17:00")) == dt.date(2019, 6, 13)
    assert trade_date_of(ct("2019-06-12 16:10")) == dt.date(2019, 6, 12)


def test_2021_era_boundary_is_1700_ct():
    assert trade_date_of(ct("2023-06-14 17:00")) == dt.date(2023, 6, 15)
    assert trade_date_of(ct("2023-06-14 15:59")) == dt.date(2023, 6, 14)


# --- assign_trade_dates: input handling ---------------------------------------------------------------


def test_assign_trade_dates_rejects_naive_timestamps():
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.assign_trade_dates(pd.DatetimeIndex(["2024-01-08 15:00"]))


def test_assign_trade_dates_empty_input_gives_empty_day_array():
    out = calendar.assign_trade_dates(pd.DatetimeIndex([], tz="UTC"))
    assert out.dtype == np.dtype("datetime64[D]")
    assert out.shape == (0,)


def test_assign_trade_dates_does_not_depend_on_input_timezone():
    instants = pd.DatetimeIndex([ct("2024-01-07 17:00"), ct("2024-01-08 16:59"), ct("2024-01-08 17:00")])
    np.testing.assert_array_equal(
        calendar.assign_trade_dates(instants), calendar.assign_trade_dates(instants.tz_convert(CT))
    )


def test_assign_trade_dates_accepts_series_and_leaves_it_unchanged():
    bars = pd.Series([ct("2024-01-05 17:00"), ct("2024-01-08 09:00")])
    before = bars.copy()
    out = calendar.assign_trade_dates(bars)
    np.testing.assert_array_equal(out, np.array(["2024-01-08", "2024-01-08"], dtype="datetime64[D]"))
    pd.testing.assert_series_equal(bars, before)


def test_assign_trade_dates_on_100k_minutes():
    # Consecutive minutes 2024-01-05 .. 2024-03-14: weekends, MLK day, Presidents' Day and the March DST change.
    index = pd.date_range("2024-01-05 00:00", periods=100_000, freq="min", tz="UTC")
    out = calendar.assign_trade_dates(index)
    assert out.shape == (100_000,)
    assert out.dtype == np.dtype("datetime64[D]")
    assert (np.diff(out.astype(np.int64)) >= 0).all()  # sorted bars give non-decreasing trade dates
    spot = {
        utc("2024-01-05 22:59"): "2024-01-05",  # Friday 16:59 CST
        utc("2024-01-05 23:00"): "2024-01-08",  # Friday 17:00 CST -> Monday
        utc("2024-01-15 16:00"): "2024-01-16",  # MLK day 10:00 CST
        utc("2024-02-19 15:00"): "2024-02-20",  # Presidents' Day
        utc("2024-03-08 22:59"): "2024-03-08",  # Friday 16:59 CST
        utc("2024-03-11 21:59"): "2024-03-11",  # Monday 16:59 CDT
        utc("2024-03-11 22:00"): "2024-03-12",  # Monday 17:00 CDT
    }
    positions = index.get_indexer(list(spot))
    assert (positions >= 0).all()
    np.testing.assert_array_equal(out[positions], np.array(list(spot.values()), dtype="datetime64[D]"))
    # Vectorised result equals element-wise results on a sample.
    for pos in range(0, 100_000, 9_973):
        assert pd.Timestamp(out[pos]).date() == trade_date_of(index[pos])
    assert set(pd.DatetimeIndex(out).date) <= nyse_sessions()


@pytest.mark.parametrize("tz", [CT, ET, "Europe/London", "Asia/Tokyo", "Australia/Sydney", "UTC"])
@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_wall_clock_ns_gives_pandas_local_fields(tz, unit):
    # Minutes across every DST change of 2023-2024 in both hemispheres, plus random instants back to 1990 with
    # seconds; the input in UTC and in another zone.
    rng = np.random.default_rng(7)
    minutes = pd.date_range("2023-01-01", "2024-12-31", freq="7min", tz="UTC")
    seconds = pd.to_datetime(rng.integers(631_152_000, 1_900_000_000, 5_000), unit="s", utc=True)
    for index in (minutes.append(seconds).as_unit(unit), seconds.tz_convert(ET).as_unit(unit)):
        wall = calendar.wall_clock_ns(pd.Series(index), tz)
        local = index.tz_convert(tz)
        np.testing.assert_array_equal(wall // calendar.BAR_NS % 1440, (local.hour * 60 + local.minute).to_numpy())
        np.testing.assert_array_equal(
            (wall // calendar.DAY_NS).astype("datetime64[D]"),
            local.tz_localize(None).normalize().to_numpy().astype("datetime64[D]"),
        )
        np.testing.assert_array_equal(wall, local.tz_localize(None).as_unit("ns").asi8)


# --- RTH sessions, half days and cutoffs ------------------------------------------------------------


def test_christmas_has_no_rth_session():
    rth = calendar.rth_sessions("2024-12-23", "2024-12-27")
    assert list(rth.index.date) == [
        dt.date(2024, 12, 23),
        dt.date(2024, 12, 24),
        dt.date(2024, 12, 26),
        dt.date(2024, 12, 27),
    ]


def test_rth_sessions_frame_shape():
    rth = calendar.rth_sessions("2024-01-08", "2024-01-12")
    assert list(rth.columns) == ["rth_open_utc", "rth_close_utc", "half_day"]
    assert rth.index.name == "trade_date"
    assert rth.index.tz is None
    assert str(rth["rth_open_utc"].dt.tz) == "UTC"
    assert len(rth) == 5


@pytest.mark.parametrize("date", ["2024-11-29", "2024-12-24"])
def test_early_closes_are_half_days_closing_1300_et(date):
    rth = calendar.rth_sessions("2024-11-25", "2024-12-31")
    assert bool(rth.loc[date, "half_day"]) is True
    assert rth.loc[date, "rth_close_utc"] == utc(f"{date} 18:00")
    assert rth.loc[date, "rth_close_utc"] == et(f"{date} 13:00")


def test_day_before_thanksgiving_is_a_full_day():
    rth = calendar.rth_sessions("2024-11-25", "2024-12-31")
    assert bool(rth.loc["2024-11-27", "half_day"]) is False
    assert rth.loc["2024-11-27", "rth_close_utc"] == utc("2024-11-27 21:00")


def test_half_days_in_2024():
    rth = calendar.rth_sessions("2024-01-01", "2024-12-31")
    half = rth.index[rth["half_day"]].strftime("%Y-%m-%d").tolist()
    assert half == ["2024-07-03", "2024-11-29", "2024-12-24"]


@pytest.mark.parametrize(
    ("date", "open_utc", "close_utc"),
    [
        ("2024-01-10", "14:30", "21:00"),  # EST
        ("2024-07-10", "13:30", "20:00"),  # EDT
        ("2024-03-11", "13:30", "20:00"),  # first trading day after the 2024-03-10 change
        ("2024-11-04", "14:30", "21:00"),  # first trading day after the 2024-11-03 change
        ("2024-03-08", "14:30", "21:00"),  # last trading day before the spring change
    ],
)
def test_rth_window_in_utc_follows_dst(date, open_utc, close_utc):
    rth = calendar.rth_sessions(date, date)
    assert len(rth) == 1
    assert rth["rth_open_utc"].iloc[0] == utc(f"{date} {open_utc}")
    assert rth["rth_close_utc"].iloc[0] == utc(f"{date} {close_utc}")


@pytest.mark.parametrize(
    ("date", "expected_utc"),
    [
        ("2024-01-10", "15:15"),
        ("2024-07-10", "14:15"),
        ("2024-03-11", "14:15"),
        ("2024-11-04", "15:15"),
    ],
)
def test_cutoff_1015_et_in_utc(date, expected_utc):
    out = calendar.cutoff_instants(pd.DatetimeIndex([date]), dt.time(10, 15))
    assert out.name == "cutoff_utc"
    assert str(out.tz) == "UTC"
    assert list(out) == [utc(f"{date} {expected_utc}")]


def test_cutoff_instants_keep_input_order():
    dates = pd.DatetimeIndex(["2024-07-10", "2024-01-10"])
    out = calendar.cutoff_instants(dates, dt.time(10, 15))
    assert list(out) == [utc("2024-07-10 14:15"), utc("2024-01-10 15:15")]


def test_cutoff_after_early_close_is_clipped_to_the_close():
    out = calendar.cutoff_instants(pd.DatetimeIndex(["2024-11-29", "2024-11-27"]), dt.time(14, 0))
    assert list(out) == [utc("2024-11-29 18:00"), utc("2024-11-27 19:00")]


def test_cutoff_before_early_close_is_not_clipped():
    out = calendar.cutoff_instants(pd.DatetimeIndex(["2024-11-29"]), dt.time(10, 15))
    assert list(out) == [utc("2024-11-29 15:15")]


def test_cutoff_instants_raise_for_a_holiday():
    with pytest.raises(ValueError, match="2024-12-25"):
        calendar.cutoff_instants(pd.DatetimeIndex(["2024-12-24", "2024-12-25"]), dt.time(10, 15))


def test_local_instants_use_the_tz_database():
    out = calendar.local_instants(pd.DatetimeIndex(["2024-01-10", "2024-07-10"]), dt.time(9, 30))
    assert list(out) == [utc("2024-01-10 14:30"), utc("2024-07-10 13:30")]


def test_trading_days_skip_weekends_and_holidays():
    days = calendar.trading_days("2024-03-28", "2024-04-02")
    assert list(days.strftime("%Y-%m-%d")) == ["2024-03-28", "2024-04-01", "2024-04-02"]
    assert days.tz is None


# --- Globex sessions --------------------------------------------------------------------------------


def test_globex_2012_era_session_with_pause():
    g = calendar.globex_sessions(pd.DatetimeIndex(["2020-01-10"]))
    row = g.loc["2020-01-10"]
    assert row["open_utc"] == utc("2020-01-09 23:00")
    assert row["open_utc"] == ct("2020-01-09 17:00")
    assert row["close_utc"] == ct("2020-01-10 16:15")
    assert row["pause_start_utc"] == ct("2020-01-10 15:15")
    assert row["pause_end_utc"] == ct("2020-01-10 15:30")


def test_globex_2021_era_session_closes_1600_without_pause():
    g = calendar.globex_sessions(pd.DatetimeIndex(["2024-07-10"]))
    row = g.loc["2024-07-10"]
    assert row["open_utc"] == ct("2024-07-09 17:00")
    assert row["close_utc"] == ct("2024-07-10 16:00")
    assert row["close_utc"] == utc("2024-07-10 21:00")
    assert pd.isna(row["pause_start_utc"])
    assert pd.isna(row["pause_end_utc"])


def test_globex_half_day_closes_1215_ct():
    g = calendar.globex_sessions(pd.DatetimeIndex(["2024-11-29"]))
    row = g.loc["2024-11-29"]
    assert row["close_utc"] == ct("2024-11-29 12:15")
    assert pd.isna(row["pause_start_utc"])


def test_globex_era_switch_on_2021_06_28():
    g = calendar.globex_sessions(pd.DatetimeIndex(["2021-06-25", "2021-06-28"]))
    assert g.loc["2021-06-25", "close_utc"] == ct("2021-06-25 16:15")
    assert g.loc["2021-06-25", "pause_start_utc"] == ct("2021-06-25 15:15")
    assert g.loc["2021-06-28", "open_utc"] == ct("2021-06-27 17:00")
    assert g.loc["2021-06-28", "close_utc"] == ct("2021-06-28 16:00")
    assert pd.isna(g.loc["2021-06-28", "pause_start_utc"])


def test_globex_columns_are_utc():
    g = calendar.globex_sessions(pd.DatetimeIndex(["2020-01-10", "2024-07-10"]))
    assert list(g.columns) == ["open_utc", "close_utc", "pause_start_utc", "pause_end_utc"]
    assert all(str(g[col].dt.tz) == "UTC" for col in g.columns)
    assert g.index.name == "trade_date"


def test_globex_sessions_reject_dates_before_2012_11_19():
    with pytest.raises(ValueError, match="2012-11-19"):
        calendar.globex_sessions(pd.DatetimeIndex(["2012-11-16"]))


def test_globex_sessions_accept_the_first_2012_era_day():
    g = calendar.globex_sessions(pd.DatetimeIndex(["2012-11-19"]))
    assert g.loc["2012-11-19", "open_utc"] == ct("2012-11-18 17:00")


def test_globex_sessions_empty_input_gives_empty_frame():
    g = calendar.globex_sessions(pd.DatetimeIndex([]))
    assert list(g.columns) == ["open_utc", "close_utc", "pause_start_utc", "pause_end_utc"]
    assert len(g) == 0


def test_cutoff_instants_empty_input_gives_empty_index():
    out = calendar.cutoff_instants(pd.DatetimeIndex([]), dt.time(10, 15))
    assert len(out) == 0


def test_globex_sessions_reject_a_non_trading_day():
    with pytest.raises(ValueError, match="2024-12-25"):
        calendar.globex_sessions(pd.DatetimeIndex(["2024-12-24", "2024-12-25"]))


# --- properties -------------------------------------------------------------------------------------

FIRST_MINUTE = int(pd.Timestamp("2013-01-01", tz="UTC").timestamp()) // 60
LAST_MINUTE = int(pd.Timestamp("2025-12-31 23:59", tz="UTC").timestamp()) // 60
FIRST_DAY = dt.date(2013, 1, 1)
N_DAYS = (dt.date(2025, 12, 31) - FIRST_DAY).days + 1


def minute_to_utc(minute: int) -> pd.Timestamp:
    return pd.Timestamp(minute * 60, unit="s", tz="UTC")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=FIRST_MINUTE, max_value=LAST_MINUTE))
def test_property_trade_date_is_a_trading_day_soon_after_the_bar(minute):
    instant = minute_to_utc(minute)
    ct_date = instant.tz_convert(CT).date()
    trade_date = trade_date_of(instant)
    assert trade_date in nyse_sessions()
    assert ct_date <= trade_date <= ct_date + dt.timedelta(days=5)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=FIRST_MINUTE, max_value=LAST_MINUTE))
def test_property_trade_date_matches_reference_rule(minute):
    instant = minute_to_utc(minute)
    local = instant.tz_convert(CT)
    candidate = local.date() + dt.timedelta(days=int(local.time() >= dt.time(17, 0)))
    expected = min(d for d in nyse_sessions() if d >= candidate)
    assert trade_date_of(instant) == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=N_DAYS - 1), st.integers(min_value=0, max_value=17 * 60 - 1))
def test_property_bars_before_1700_ct_on_a_trading_day_stay_on_it(day_offset, minute_of_day):
    day = FIRST_DAY + dt.timedelta(days=day_offset)
    assume(day in nyse_sessions())  # weekdays only, so no DST gap or overlap below
    instant = ct(f"{day} {minute_of_day // 60:02d}:{minute_of_day % 60:02d}")
    assert trade_date_of(instant) == day


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=FIRST_MINUTE, max_value=LAST_MINUTE), min_size=1, max_size=50))
def test_property_vectorised_equals_elementwise(minutes):
    index = pd.DatetimeIndex([minute_to_utc(m) for m in minutes])
    out = calendar.assign_trade_dates(index)
    assert [pd.Timestamp(d).date() for d in out] == [trade_date_of(ts) for ts in index]


def test_cached_windows_are_copies_the_caller_may_change():
    first = calendar.rth_sessions("2024-01-08", "2024-01-12")
    first.loc[:, "half_day"] = True
    first["extra"] = 1
    assert not calendar.rth_sessions("2024-01-08", "2024-01-12")["half_day"].any()
    assert "extra" not in calendar.rth_sessions("2024-01-08", "2024-01-12").columns
    dates = pd.DatetimeIndex(["2024-01-08", "2024-01-09"])
    cut = calendar.cutoff_instants(dates, dt.time(10, 15))
    cut.name = "changed"
    assert calendar.cutoff_instants(dates, dt.time(10, 15)).name == "cutoff_utc"


@pytest.mark.parametrize("tz", ["UTC", CT, ET, "Asia/Tokyo"])
@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_epoch_ns_equals_the_conversion_chain(tz, unit):
    """epoch_ns reads a nanosecond index's int64 directly: the same values as pandas' conversion chain, for every
    zone (DST changes included), NaT, Series, Index and array inputs, and a copy the caller may change."""
    rng = np.random.default_rng(7)
    utc = pd.to_datetime(rng.integers(-(2**40), 2**40, 500) * 10**9 // 997, unit="ns", utc=True)
    stamps = pd.DatetimeIndex([*utc, pd.NaT, pd.Timestamp("2024-03-10 07:00", tz="UTC"), pd.NaT]).tz_convert(tz)
    stamps = stamps.as_unit(unit)
    chain = stamps.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy().astype(np.int64)
    for values in (stamps, pd.Series(stamps), stamps.array):
        out = calendar.epoch_ns(values)
        assert out.dtype == np.int64 and np.array_equal(out, chain)
        out[:] = 0
        assert np.array_equal(calendar.epoch_ns(values), chain)  # the input is not a view of the result
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.epoch_ns(stamps.tz_localize(None))
