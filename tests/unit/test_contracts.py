"""Quarterly contracts, expiries, roll dates and the continuous front series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from almanac import calendar
from almanac.data_sources.contracts import (
    build_continuous,
    calendar_front,
    contract_code,
    contract_schedule,
    expiry_date,
    parse_contract,
    third_friday,
)

ET = "America/New_York"


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2024, 3, dt.date(2024, 3, 15)),
        (2024, 6, dt.date(2024, 6, 21)),
        (2024, 9, dt.date(2024, 9, 20)),
        (2024, 12, dt.date(2024, 12, 20)),
        (2023, 9, dt.date(2023, 9, 15)),  # the 1st is a Friday
        (2024, 11, dt.date(2024, 11, 15)),  # the 1st is a Friday
        (2025, 3, dt.date(2025, 3, 21)),  # the 1st is a Saturday
    ],
)
def test_third_friday(year, month, expected):
    assert third_friday(year, month) == expected
    assert third_friday(year, month).weekday() == 4


@pytest.mark.parametrize(
    ("year", "month", "code"),
    [(2024, 3, "ESH24"), (2024, 6, "ESM24"), (2025, 9, "ESU25"), (2009, 12, "ESZ09")],
)
def test_contract_code_and_parse_contract_round_trip(year, month, code):
    assert contract_code("ES", year, month) == code
    assert parse_contract(code) == ("ES", year, month)


def test_contract_code_rejects_a_non_quarterly_month():
    with pytest.raises(KeyError):
        contract_code("ES", 2024, 1)


@pytest.mark.parametrize("code", ["ESH4-ESM4", "ESH4", "ESF24", "ESH2X", "H24", "", "esh24"])
def test_parse_contract_rejects_non_outright_codes(code):
    with pytest.raises(ValueError, match="not an outright contract code of a known instrument"):
        parse_contract(code)


@pytest.mark.parametrize(
    ("code", "expiry"),
    [
        ("CLG24", dt.date(2024, 1, 22)),  # 25 Dec 2023 is a holiday: four business days before it
        ("CLH24", dt.date(2024, 2, 20)),  # 25 Jan 2024 (Thu) is a business day: three business days before it
        ("CLK20", dt.date(2020, 4, 21)),  # the contract that settled at -37.63 on 20 Apr 2020 expired the next day
        ("CLF25", dt.date(2024, 12, 19)),
        ("GCG24", dt.date(2024, 2, 27)),  # third-last business day of February 2024
        ("ZNH24", dt.date(2024, 3, 19)),  # seventh business day before 28 Mar (29 Mar was Good Friday)
        ("ZNZ24", dt.date(2024, 12, 19)),
    ],
)
def test_expiry_rules_of_the_other_instruments_match_the_exchanges_published_last_trading_days(code, expiry):
    assert expiry_date(code) == expiry


def test_crude_has_a_contract_every_month_and_rolls_three_days_before_expiry():
    schedule = contract_schedule("CL", "2024-01-01", "2024-06-30")
    assert list(schedule["contract"][:6]) == ["CLG24", "CLH24", "CLJ24", "CLK24", "CLM24", "CLN24"]
    assert all(e - r == dt.timedelta(days=3) for e, r in zip(schedule["expiry"], schedule["roll_date"], strict=True))
    assert schedule.set_index("contract").at["CLG24", "expiry_utc"] == pd.Timestamp("2024-01-22 19:30", tz="UTC")


def test_a_month_the_instrument_does_not_list_is_not_a_contract():
    with pytest.raises(ValueError):
        parse_contract("ZNF24")  # the 10-year note lists H M U Z only
    assert parse_contract("GCJ24") == ("GC", 2024, 4)
    assert parse_contract("GCH24") == ("GC", 2024, 3)  # gold lists serial months, outside its G J M Q V Z cycle
    assert expiry_date("GCH24") == dt.date(2024, 3, 26)  # third-last business day (29 Mar was Good Friday)
    assert "GCH24" not in set(contract_schedule("GC", "2024-01-01", "2024-12-31")["contract"])  # never rolled into


def test_parse_contract_rejects_a_spread_with_two_digit_years():
    with pytest.raises(ValueError):
        parse_contract("ESH24-ESM24")


def test_parse_contract_round_trips_a_1990s_contract():
    assert parse_contract(contract_code("ES", 1999, 12)) == ("ES", 1999, 12)


def test_expiry_date():
    assert expiry_date("ESM24") == dt.date(2024, 6, 21)
    assert expiry_date("ESZ23") == dt.date(2023, 12, 15)


def test_contract_schedule_for_2024():
    schedule = contract_schedule("ES", "2024-01-01", "2024-12-31")
    assert list(schedule["contract"][:5]) == ["ESH24", "ESM24", "ESU24", "ESZ24", "ESH25"]
    assert list(schedule["expiry"][:4]) == [
        dt.date(2024, 3, 15), dt.date(2024, 6, 21), dt.date(2024, 9, 20), dt.date(2024, 12, 20),
    ]  # fmt: skip
    assert list(schedule["roll_date"][:4]) == [
        dt.date(2024, 3, 7), dt.date(2024, 6, 13), dt.date(2024, 9, 12), dt.date(2024, 12, 12),
    ]  # fmt: skip
    assert pd.Timestamp(schedule["expiry"].iloc[-1]) > pd.Timestamp("2024-12-31")


def test_roll_date_is_the_thursday_eight_days_before_expiry():
    schedule = contract_schedule("ES", "2016-01-01", "2024-12-31")
    assert len(schedule) >= 36
    for expiry, roll in zip(schedule["expiry"], schedule["roll_date"], strict=True):
        assert expiry - roll == dt.timedelta(days=8)
        assert roll.weekday() == 3


def test_expiry_utc_is_0830_chicago_time():
    schedule = contract_schedule("ES", "2024-01-01", "2024-12-31").set_index("contract")
    assert schedule.loc["ESH24", "expiry_utc"] == pd.Timestamp("2024-03-15 13:30", tz="UTC")  # CDT, UTC-5
    assert schedule.loc["ESZ24", "expiry_utc"] == pd.Timestamp("2024-12-20 14:30", tz="UTC")  # CST, UTC-6
    local = schedule["expiry_utc"].dt.tz_convert("America/Chicago")
    assert (local.dt.hour == 8).all()
    assert (local.dt.minute == 30).all()


@pytest.mark.parametrize(
    ("trade_date", "front"),
    [
        ("2024-03-06", "ESH24"),
        ("2024-03-07", "ESM24"),  # roll date: the next contract from this day on
        ("2024-03-08", "ESM24"),
        ("2024-03-15", "ESM24"),  # expiry day of ESH24
        ("2024-06-12", "ESM24"),
        ("2024-06-13", "ESU24"),
        ("2024-12-11", "ESZ24"),
        ("2024-12-12", "ESH25"),  # the roll crosses the year
    ],
)
def test_calendar_front_around_roll_dates(trade_date, front):
    assert list(calendar_front("ES", [trade_date])) == [front]


def test_calendar_front_vectorised_over_a_roll():
    dates = pd.DatetimeIndex(["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-20"])
    assert list(calendar_front("ES", dates)) == ["ESH24", "ESH24", "ESM24", "ESM24", "ESM24"]


# --- build_continuous on a hand-made two-contract market ------------------------------------------------------

DATES = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11"]
# Daily volume (ESH24, ESM24): ESM24 first out-trades ESH24 on 03-05; ESH24 is ahead again on 03-06.
VOLUMES = {
    "2024-03-04": (1000, 100),
    "2024-03-05": (400, 900),
    "2024-03-06": (800, 300),
    "2024-03-07": (200, 1000),
    "2024-03-08": (100, 1000),
    "2024-03-11": (50, 1000),
}


def h_close(i: int) -> float:
    return 5000.0 + 4.0 * i


def m_close(i: int) -> float:
    return h_close(i) + 18.0 + 0.25 * i  # carry gap 18.00, 18.25, 18.50, ... on day i


def two_contract_bars(volumes: dict[str, tuple[int, int]] = VOLUMES) -> pd.DataFrame:
    """Two bars per contract and trade date (09:30 and 15:59 ET); on 03-06 also a 16:05 ET post-close bar."""
    rows = []
    for i, day in enumerate(DATES):
        for contract, close, volume in (("ESH24", h_close(i), volumes[day][0]), ("ESM24", m_close(i), volumes[day][1])):
            rows.append(
                (f"{day} 09:30", close - 1.0, close + 0.5, close - 1.5, close - 0.5, volume // 2, contract, day)
            )
            rows.append(
                (f"{day} 15:59", close - 0.5, close + 0.25, close - 0.75, close, volume - volume // 2, contract, day)
            )
            if day == "2024-03-06":
                rows.append((f"{day} 16:05", close, close + 100.0, close, close + 100.0, 1, contract, day))
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume", "contract", "trade_date"])
    frame["ts"] = pd.to_datetime(frame["ts"]).dt.tz_localize(ET).dt.tz_convert("UTC")
    frame["volume"] = frame["volume"].astype(np.int64)
    frame["trade_date"] = pd.to_datetime(frame["trade_date"]).astype("datetime64[s]")
    return frame.sort_values(["ts", "contract"], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def rth_close():
    return calendar.rth_sessions("2024-03-01", "2024-03-29")["rth_close_utc"]


def contract_by_day(bars: pd.DataFrame) -> dict[str, str]:
    per_day = bars.groupby("trade_date")["contract"].unique()
    assert all(len(c) == 1 for c in per_day)
    return {str(d.date()): c[0] for d, c in per_day.items()}


def test_calendar_roll_switches_on_the_roll_date(rth_close):
    out, rolls = build_continuous(two_contract_bars(), symbol="ES", roll="calendar", rth_close_utc=rth_close)
    assert contract_by_day(out) == dict(zip(DATES, ["ESH24"] * 3 + ["ESM24"] * 3, strict=True))
    assert rolls == [{"trade_date": "2024-03-07", "from": "ESH24", "to": "ESM24", "gap_pts": 18.50}]


def test_volume_roll_switches_the_day_after_the_crossover_and_never_back(rth_close):
    out, rolls = build_continuous(two_contract_bars(), symbol="ES", roll="volume", rth_close_utc=rth_close)
    # ESM24 out-traded ESH24 on 03-05, so 03-06 is the first day on ESM24 (03-05's own volume is not known at
    # its open); ESH24 leading again on 03-06 does not switch back.
    assert contract_by_day(out) == dict(zip(DATES, ["ESH24"] * 2 + ["ESM24"] * 4, strict=True))
    assert rolls == [{"trade_date": "2024-03-06", "from": "ESH24", "to": "ESM24", "gap_pts": 18.25}]


def test_volume_roll_does_not_switch_on_a_tie(rth_close):
    volumes = dict(VOLUMES, **{"2024-03-05": (600, 600), "2024-03-06": (300, 800)})
    out, rolls = build_continuous(two_contract_bars(volumes), symbol="ES", roll="volume", rth_close_utc=rth_close)
    assert contract_by_day(out) == dict(zip(DATES, ["ESH24"] * 3 + ["ESM24"] * 3, strict=True))
    assert [r["trade_date"] for r in rolls] == ["2024-03-07"]


def test_roll_gap_uses_the_rth_close_not_a_post_close_bar(rth_close):
    # On 03-06 both contracts print a 16:05 ET bar 100 points higher; the gap must still be 18.50.
    _, rolls = build_continuous(two_contract_bars(), symbol="ES", roll="calendar", rth_close_utc=rth_close)
    assert rolls[0]["gap_pts"] == m_close(2) - h_close(2)


def test_roll_gap_is_none_when_the_new_contract_did_not_trade_the_day_before(rth_close):
    bars = two_contract_bars()
    bars = bars.loc[~((bars["contract"] == "ESM24") & (bars["trade_date"] == pd.Timestamp("2024-03-06")))]
    _, rolls = build_continuous(bars, symbol="ES", roll="calendar", rth_close_utc=rth_close)
    assert rolls == [{"trade_date": "2024-03-07", "from": "ESH24", "to": "ESM24", "gap_pts": None}]


def test_continuous_bars_are_one_contracts_bars_sorted_by_ts(rth_close):
    bars = two_contract_bars()
    out, _ = build_continuous(bars, symbol="ES", roll="calendar", rth_close_utc=rth_close)
    assert list(out.columns) == list(bars.columns)
    assert out["ts"].is_monotonic_increasing
    assert out["ts"].is_unique
    assert out.index.equals(pd.RangeIndex(len(out)))
    assert len(out) == 2 * len(DATES) + 1  # two bars a day plus ESH24's 16:05 bar on 03-06
    expected = bars.loc[
        ((bars["contract"] == "ESH24") & (bars["trade_date"] < pd.Timestamp("2024-03-07")))
        | ((bars["contract"] == "ESM24") & (bars["trade_date"] >= pd.Timestamp("2024-03-07")))
    ].reset_index(drop=True)
    pd.testing.assert_frame_equal(out, expected)


def test_build_continuous_does_not_modify_its_input(rth_close):
    bars = two_contract_bars()
    before = bars.copy()
    build_continuous(bars, symbol="ES", roll="volume", rth_close_utc=rth_close)
    pd.testing.assert_frame_equal(bars, before)


def test_calendar_roll_onto_a_contract_without_bars_raises_naming_the_date(rth_close):
    bars = two_contract_bars()
    bars = bars.loc[~((bars["contract"] == "ESM24") & (bars["trade_date"] == pd.Timestamp("2024-03-08")))]
    with pytest.raises(ValueError, match=r"calendar roll picks a contract with no bars on: 2024-03-08 \(ESM24\)"):
        build_continuous(bars, symbol="ES", roll="calendar", rth_close_utc=rth_close)


def test_volume_roll_onto_a_contract_without_bars_raises_naming_the_date(rth_close):
    # ESH24 led on 03-04, so the volume rule keeps it on 03-05, when it has no bars.
    bars = two_contract_bars()
    bars = bars.loc[~((bars["contract"] == "ESH24") & (bars["trade_date"] == pd.Timestamp("2024-03-05")))]
    with pytest.raises(ValueError, match=r"volume roll picks a contract with no bars on: 2024-03-05 \(ESH24\)"):
        build_continuous(bars, symbol="ES", roll="volume", rth_close_utc=rth_close)


def test_unknown_roll_rule_raises(rth_close):
    with pytest.raises(ValueError, match="unknown roll rule 'open_interest'; allowed: calendar, volume"):
        build_continuous(two_contract_bars(), symbol="ES", roll="open_interest", rth_close_utc=rth_close)


def test_volume_roll_across_the_1999_2000_boundary():
    dates = ["1999-12-07", "1999-12-08", "1999-12-09", "1999-12-10"]
    volumes = {"ESZ99": [1000, 300, 200, 100], "ESH00": [100, 900, 1000, 1000]}  # ESH00 leads from 12-08
    rows = [
        (pd.Timestamp(f"{day} 15:59", tz=ET).tz_convert("UTC"), 1400.0, 1400.0, 1400.0, 1400.0, volumes[c][i], c, day)
        for i, day in enumerate(dates)
        for c in volumes
    ]
    bars = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume", "contract", "trade_date"])
    bars["volume"] = bars["volume"].astype(np.int64)
    bars["trade_date"] = pd.to_datetime(bars["trade_date"]).astype("datetime64[s]")
    rth_close = calendar.rth_sessions("1999-12-01", "1999-12-31")["rth_close_utc"]
    out, rolls = build_continuous(bars, symbol="ES", roll="volume", rth_close_utc=rth_close)
    assert contract_by_day(out) == dict(zip(dates, ["ESZ99", "ESZ99", "ESH00", "ESH00"], strict=True))
    assert [r["trade_date"] for r in rolls] == ["1999-12-09"]
