"""Bring your own data: every vendor format round-trips to the same canonical bars (docs/data_contracts.md).

One canonical set of bars is built in code; each test writes it in one vendor's exact layout (timezone, stamp
convention, delimiter, header) and checks that ``build_file_dataset`` gives back identical bars: ``ts`` the UTC
bar start, OHLC, ``volume`` int64 and ``trade_date``.  End-stamped formats (NinjaTrader, TradeStation) are written
with the bar's end and must come back shifted to the start.  Further tests cover per-contract Databento files
(calendar spreads, one-digit years, calendar and volume rolls) and the formats that need ``data.timezone``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from almanac import calendar
from almanac.data_sources.contract_codes import normalize_contract, spread_rows
from almanac.data_sources.files import _as_text, build_file_dataset, gap_report
from almanac.data_sources.validation import BarsError, check_canonical
from helpers import files_params

ET, CT = "America/New_York", "America/Chicago"
COMPARED = ["ts", "open", "high", "low", "close", "volume", "trade_date"]

# UTC bar start, open, high, low, close, volume, trade date.  Eastern time is UTC-5 until 2024-03-10 02:00, then
# UTC-4: the Globex reopen (18:00 ET) is 23:00 UTC before the change and 22:00 UTC after it.
_ROWS = [
    ("2024-03-06 23:00", 5120.00, 5121.25, 5119.75, 5121.00, 850, "2024-03-07"),  # Wed 18:00 ET: next trade date
    ("2024-03-07 08:00", 5118.50, 5119.00, 5117.25, 5117.75, 412, "2024-03-07"),  # 03:00 ET, European open
    ("2024-03-07 14:29", 5124.25, 5125.00, 5124.00, 5124.75, 1_310, "2024-03-07"),  # 09:29 ET
    ("2024-03-07 14:30", 5124.75, 5128.50, 5123.50, 5127.25, 14_875, "2024-03-07"),  # 09:30 ET: RTH open
    ("2024-03-07 14:31", 5127.25, 5127.75, 5125.00, 5125.50, 9_640, "2024-03-07"),
    ("2024-03-07 20:59", 5157.00, 5158.25, 5156.50, 5157.75, 11_002, "2024-03-07"),  # 15:59 ET: last RTH bar
    ("2024-03-07 21:59", 5158.00, 5158.25, 5157.75, 5158.25, 310, "2024-03-07"),  # 16:59 ET: before the break
    ("2024-03-07 23:59", 5160.25, 5160.50, 5159.75, 5160.00, 95, "2024-03-08"),  # ends at 00:00 UTC
    ("2024-03-08 04:59", 5162.50, 5162.75, 5162.25, 5162.75, 41, "2024-03-08"),  # 23:59 ET: ends at 00:00 ET
    ("2024-03-08 14:30", 5170.00, 5173.75, 5166.25, 5168.00, 16_230, "2024-03-08"),  # 09:30 ET
    ("2024-03-08 20:59", 5125.50, 5126.00, 5123.75, 5124.00, 12_411, "2024-03-08"),  # 15:59 ET
    ("2024-03-10 22:00", 5130.25, 5131.50, 5129.00, 5131.00, 2_104, "2024-03-11"),  # Sun 18:00 EDT (after DST)
    ("2024-03-11 06:00", 5128.00, 5128.25, 5127.50, 5127.75, 188, "2024-03-11"),  # 02:00 EDT
    ("2024-03-11 13:30", 5119.75, 5121.00, 5113.25, 5114.50, 15_003, "2024-03-11"),  # 09:30 EDT: RTH open
    ("2024-03-11 13:31", 5114.50, 5116.25, 5112.00, 5116.00, 8_870, "2024-03-11"),
    ("2024-03-11 19:59", 5117.25, 5118.00, 5116.75, 5117.50, 9_912, "2024-03-11"),  # 15:59 EDT
]


def canonical() -> pd.DataFrame:
    """The canonical bars every fixture is written from (ts = UTC bar start)."""
    frame = pd.DataFrame(_ROWS, columns=["ts", "open", "high", "low", "close", "volume", "trade_date"])
    frame["ts"] = pd.to_datetime(frame["ts"]).dt.tz_localize("UTC").dt.as_unit("ns")
    frame["volume"] = frame["volume"].astype(np.int64)
    frame["trade_date"] = pd.to_datetime(frame["trade_date"]).astype("datetime64[s]")
    return frame


def _local(ts: pd.Series, tz: str) -> pd.Series:
    return ts.dt.tz_convert(tz).dt.tz_localize(None)


def _px(bars: pd.DataFrame, sep: str = ",", fmt: str = "{:.2f}") -> list[str]:
    return [sep.join(fmt.format(v) for v in row) for row in bars[["open", "high", "low", "close"]].to_numpy()]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


# --- writers: one vendor layout each ----------------------------------------------------------------------------


def write_databento_iso(bars: pd.DataFrame, path: Path) -> Path:
    """Databento OHLCV-1m CSV with pretty_ts/pretty_px: ISO nanosecond UTC stamps, decimal prices."""
    header = "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol"
    stamps = bars["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
    px = _px(bars, fmt="{:.9f}")
    rows = [f"{t},33,1,5002,{p},{v},ESH4" for t, p, v in zip(stamps, px, bars["volume"], strict=True)]
    return _write(path, [header, *rows])


def write_databento_int(bars: pd.DataFrame, path: Path) -> Path:
    """Databento OHLCV-1m CSV without pretty flags: integer ns stamps, integer prices in units of 1e-9."""
    header = "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol"
    ns = bars["ts"].astype("int64")
    fixed = (bars[["open", "high", "low", "close"]].to_numpy() * 4).astype(np.int64) * 250_000_000  # exact ints
    rows = [
        f"{t},33,1,5002,{','.join(map(str, p))},{v},ESH4" for t, p, v in zip(ns, fixed, bars["volume"], strict=True)
    ]
    return _write(path, [header, *rows])


def write_firstrate(bars: pd.DataFrame, path: Path) -> Path:
    """FirstRate Data: no header, ``yyyy-MM-dd HH:mm:ss,o,h,l,c,v`` in US Eastern time, bar start."""
    stamps = _local(bars["ts"], ET).dt.strftime("%Y-%m-%d %H:%M:%S")
    return _write(path, [f"{t},{p},{v}" for t, p, v in zip(stamps, _px(bars), bars["volume"], strict=True)])


def _kibot_rows(bars: pd.DataFrame) -> list[str]:
    local = _local(bars["ts"], ET)
    dates, times = local.dt.strftime("%m/%d/%Y"), local.dt.strftime("%H:%M")
    return [f"{d},{t},{p},{v}" for d, t, p, v in zip(dates, times, _px(bars), bars["volume"], strict=True)]


def write_kibot(bars: pd.DataFrame, path: Path) -> Path:
    """Kibot: ``MM/DD/YYYY,HH:MM,o,h,l,c,v`` without a header, US Eastern, bar start."""
    return _write(path, _kibot_rows(bars))


def write_kibot_header(bars: pd.DataFrame, path: Path) -> Path:
    """Kibot with its optional header line."""
    return _write(path, ["Date,Time,Open,High,Low,Close,Volume", *_kibot_rows(bars)])


def write_sierra(bars: pd.DataFrame, path: Path) -> Path:
    """Sierra Chart 'Export Bar Data to Text File': ``2024/3/7, 08:30:00, ...`` in the chart's zone (Chicago)."""
    local = _local(bars["ts"], CT)
    dates = [f"{t.year}/{t.month}/{t.day}" for t in local]  # Sierra does not zero-pad month and day
    times = local.dt.strftime("%H:%M:%S")
    header = "Date, Time, Open, High, Low, Last, Volume, NumberOfTrades, BidVolume, AskVolume"
    rows = [
        f"{d}, {t}, {p}, {v}, {v // 3}, {v // 2}, {v - v // 2}"
        for d, t, p, v in zip(dates, times, _px(bars, sep=", "), bars["volume"], strict=True)
    ]
    return _write(path, [header, *rows])


def write_ninjatrader(bars: pd.DataFrame, path: Path) -> Path:
    """NinjaTrader export: no header, ``yyyyMMdd HHmmss;o;h;l;c;v``, UTC, stamped at the bar's END."""
    end = (bars["ts"] + pd.Timedelta(minutes=1)).dt.tz_localize(None).dt.strftime("%Y%m%d %H%M%S")
    return _write(path, [f"{t};{p};{v}" for t, p, v in zip(end, _px(bars, sep=";"), bars["volume"], strict=True)])


def write_tradestation(bars: pd.DataFrame, path: Path) -> Path:
    """TradeStation: quoted header, ``MM/DD/YYYY,HH:MM``, exchange time (Chicago), bar END, volume = Up + Down."""
    end = _local(bars["ts"] + pd.Timedelta(minutes=1), CT)
    dates, times = end.dt.strftime("%m/%d/%Y"), end.dt.strftime("%H:%M")
    up = bars["volume"] // 2 + 1
    down = bars["volume"] - up
    header = '"Date","Time","Open","High","Low","Close","Up","Down"'
    rows = [f"{d},{t},{p},{u},{w}" for d, t, p, u, w in zip(dates, times, _px(bars), up, down, strict=True)]
    return _write(path, [header, *rows])


def write_generic_csv(bars: pd.DataFrame, path: Path) -> Path:
    """A user's own CSV: own column names and order, an extra column, local Eastern time, bar start."""
    stamps = _local(bars["ts"], ET).dt.strftime("%Y-%m-%d %H:%M:%S")
    header = "Vol,Datetime,O,H,L,C,Trades"
    rows = [f"{v},{t},{p},{v // 4}" for t, p, v in zip(stamps, _px(bars), bars["volume"], strict=True)]
    return _write(path, [header, *rows])


def write_generic_parquet(bars: pd.DataFrame, path: Path) -> Path:
    """A user's own Parquet file: typed columns, naive local (Eastern) timestamps, own column names."""
    table = pa.table(
        {
            "time": pa.array(_local(bars["ts"], ET).to_numpy().astype("datetime64[us]")),
            "o": pa.array(bars["open"].to_numpy()),
            "h": pa.array(bars["high"].to_numpy()),
            "l": pa.array(bars["low"].to_numpy()),
            "c": pa.array(bars["close"].to_numpy()),
            "qty": pa.array(bars["volume"].to_numpy()),
        }
    )
    pq.write_table(table, path)
    return path


GENERIC_CSV_MAP = "ts=Datetime,open=O,high=H,low=L,close=C,volume=Vol"
GENERIC_PARQUET_MAP = "ts=time,open=o,high=h,low=l,close=c,volume=qty"

# (case id, writer, file name, files_params keyword arguments, expected contract)
CASES = [
    ("databento-iso", write_databento_iso, "glbx-ohlcv-1m.csv", {"format": "databento"}, "ESH24"),
    ("databento-int", write_databento_int, "glbx-ohlcv-1m.csv", {"format": "databento"}, "ESH24"),
    ("firstrate", write_firstrate, "ES_1min.txt", {"format": "firstrate"}, "ES-continuous"),
    ("kibot", write_kibot, "ES_continuous.txt", {"format": "kibot"}, "ES-continuous"),
    ("kibot-header", write_kibot_header, "ES_continuous.txt", {"format": "kibot"}, "ES-continuous"),
    ("sierra", write_sierra, "ESH24-CME.scid_BarData.txt", {"format": "sierra", "timezone": CT}, "ESH24"),
    ("ninjatrader", write_ninjatrader, "ES 03-24.Last.txt", {"format": "ninjatrader"}, "ESH24"),
    ("tradestation", write_tradestation, "ES_1min.txt", {"format": "tradestation", "timezone": CT}, "ES-continuous"),
    (
        "generic-csv",
        write_generic_csv,
        "bars.csv",
        {"format": "generic", "timezone": ET, "timestamp": "start", "columns": GENERIC_CSV_MAP},
        "ES-continuous",
    ),
    (
        "generic-parquet",
        write_generic_parquet,
        "bars.parquet",
        {"format": "generic", "timezone": ET, "timestamp": "start", "columns": GENERIC_PARQUET_MAP},
        "ES-continuous",
    ),
]


def test_canonical_set_is_what_it_claims():
    """The fixture itself: trade dates follow the calendar, it crosses the DST change and has 09:30 ET bars."""
    bars = canonical()
    assert (calendar.assign_trade_dates(bars["ts"]) == bars["trade_date"].to_numpy().astype("datetime64[D]")).all()
    local = bars["ts"].dt.tz_convert(ET)
    assert set(local.dt.strftime("%z")) == {"-0500", "-0400"}
    assert (local.dt.strftime("%H:%M") == "09:30").sum() == 3
    assert bars["trade_date"].nunique() == 3


@pytest.mark.parametrize(("writer", "name", "kwargs", "contract"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_format_round_trips_to_the_canonical_bars(tmp_path, writer, name, kwargs, contract):
    expected = canonical()
    path = writer(expected, tmp_path / name)
    dataset = build_file_dataset(files_params(symbol="ES", paths=str(path), **kwargs))
    bars = dataset.bars
    pd.testing.assert_frame_equal(bars[COMPARED], expected[COMPARED], check_exact=True)
    assert bars["ts"].dtype == "datetime64[ns, UTC]"
    assert bars["volume"].dtype == np.int64
    assert bars["trade_date"].dtype == "datetime64[s]"
    assert (bars["contract"] == contract).all()
    check_canonical(bars, 0.25)
    manifest = dataset.manifest
    assert manifest["repairs"] == {}
    assert manifest["rows"]["read"] == len(expected)
    stamp = "end" if kwargs["format"] in ("ninjatrader", "tradestation") else "start"
    assert manifest["timestamp_convention"].startswith(f"files stamp bar {stamp}")


def test_end_stamped_files_are_shifted_back_by_one_minute(tmp_path):
    """Read as start-stamped, a NinjaTrader file is exactly one minute late: the shift is the stamp convention."""
    expected = canonical()
    path = write_ninjatrader(expected, tmp_path / "ES 03-24.Last.txt")
    as_end = build_file_dataset(files_params("ES", str(path), "ninjatrader")).bars
    as_start = build_file_dataset(files_params("ES", str(path), "ninjatrader", timestamp="start")).bars
    assert ((as_start["ts"] - as_end["ts"]) == pd.Timedelta(minutes=1)).all()
    pd.testing.assert_series_equal(as_end["ts"], expected["ts"])


def test_databento_fixed_point_prices_are_exact_at_every_price_level(tmp_path):
    """Integer 1e-9 prices equal the decimal prices exactly, also where x * 1e-9 is one ulp off (4000-4096)."""
    expected = canonical()
    prices = ["open", "high", "low", "close"]
    expected[prices] = expected[prices] - 1100.0  # 4018.50 .. 4063.50
    from_int = build_file_dataset(
        files_params("ES", str(write_databento_int(expected, tmp_path / "a.csv")), "databento")
    )
    from_iso = build_file_dataset(
        files_params("ES", str(write_databento_iso(expected, tmp_path / "b.csv")), "databento")
    )
    pd.testing.assert_frame_equal(from_int.bars[COMPARED], expected[COMPARED], check_exact=True)
    pd.testing.assert_frame_equal(from_int.bars, from_iso.bars, check_exact=True)


# --- per-contract Databento files: spreads, one-digit years, rolls ------------------------------------------------

_DATABENTO_HEADER = "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol"


def _contract_rows(day: str, symbol: str, price: float, volume: int) -> list[str]:
    """Two RTH bars (09:30 and 15:59 ET) and one overnight bar (the 18:00 ET reopen before ``day``) of one
    instrument on trade date ``day``; prices may be negative (calendar spreads)."""
    date = pd.Timestamp(day)
    local = [
        (date - pd.Timedelta(days=1)).replace(hour=18),  # Sunday evening for a Monday
        date.replace(hour=9, minute=30),
        date.replace(hour=15, minute=59),
    ]
    rows = []
    for i, stamp in enumerate(local):
        utc = stamp.tz_localize(ET).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
        p = price + 0.25 * i
        rows.append(f"{utc},33,1,5002,{p:.2f},{p + 0.5:.2f},{p - 0.5:.2f},{p:.2f},{volume},{symbol}")
    return rows


# Trade dates around the March 2024 roll (ESH24 expires Fri 2024-03-15; the calendar roll is Thu 2024-03-07).
# ESM4 out-trades ESH4 from 2024-03-05 on, so the volume roll (previous day's volume) switches on 2024-03-06.
_VOLUMES = {
    "2024-03-01": (900_000, 90_000),
    "2024-03-04": (850_000, 300_000),
    "2024-03-05": (400_000, 700_000),
    "2024-03-06": (200_000, 1_100_000),
    "2024-03-07": (100_000, 1_200_000),
    "2024-03-08": (60_000, 1_300_000),
    "2024-03-11": (30_000, 1_250_000),
    "2024-03-12": (20_000, 1_400_000),
}


def write_per_contract_databento(path: Path) -> tuple[Path, int]:
    """ESH4, ESM4, a far ESU4 and ESH4-ESM4 calendar-spread rows (negative prices) in one file; returns the path
    and the number of spread rows."""
    rows, spreads = [], 0
    for day, (front, back) in _VOLUMES.items():
        rows += _contract_rows(day, "ESH4", 5100.00, front // 3)
        rows += _contract_rows(day, "ESM4", 5160.00, back // 3)  # carry: June trades 60 points over March
        rows += _contract_rows(day, "ESU4", 5220.00, 7)
        spread = _contract_rows(day, "ESH4-ESM4", -60.05, 11)  # spreads tick in 0.05: off the ES grid
        rows += spread
        spreads += len(spread)
    rows.sort(key=lambda row: row.split(",")[0])  # Databento sorts by ts_event, instruments interleaved
    path.write_text("\n".join([_DATABENTO_HEADER, *rows]) + "\n")
    return path, spreads


@pytest.mark.parametrize(
    ("roll", "switch"),
    [("calendar", "2024-03-07"), ("volume", "2024-03-06")],
)
def test_per_contract_databento_builds_one_continuous_series(tmp_path, roll, switch):
    path, spreads = write_per_contract_databento(tmp_path / "glbx-mdp3-ohlcv-1m.csv")
    dataset = build_file_dataset(files_params("ES", str(path), "databento", roll=roll))
    bars, manifest = dataset.bars, dataset.manifest
    check_canonical(bars, 0.25)
    assert manifest["repairs"] == {"spread_rows_dropped": spreads}
    assert not bars["contract"].str.contains("-").any()
    per_day = bars.groupby("trade_date")["contract"].agg(["nunique", "first"])
    assert (per_day["nunique"] == 1).all()
    expected = pd.Series(
        np.where(per_day.index < pd.Timestamp(switch), "ESH24", "ESM24"), index=per_day.index, name="first"
    )
    pd.testing.assert_series_equal(per_day["first"], expected, check_dtype=False)
    assert len(bars) == 3 * len(_VOLUMES)
    # The carry gap: ESM minus ESH RTH close on the trade date before the roll (both 15:59 bars close at +0.50).
    assert manifest["rolls"] == [{"trade_date": switch, "from": "ESH24", "to": "ESM24", "gap_pts": 60.0}]
    assert manifest["roll_rule"] == roll
    assert set(manifest["rows_per_contract"]) == {"ESH24", "ESM24", "ESU24"}


def test_volume_roll_ignores_the_same_days_volume(tmp_path):
    """ESM4 first out-trades ESH4 on 2024-03-05: the volume rule may only act on it the next trade date."""
    path, _ = write_per_contract_databento(tmp_path / "glbx.csv")
    bars = build_file_dataset(files_params("ES", str(path), "databento", roll="volume")).bars
    front = bars.groupby("trade_date")["contract"].first()
    assert front[pd.Timestamp("2024-03-05")] == "ESH24"
    assert front[pd.Timestamp("2024-03-06")] == "ESM24"


def test_every_roll_is_listed(tmp_path):
    """Two quarterly rolls (Dec 2023 and Mar 2024) in one per-contract file: both appear in manifest['rolls']."""
    rows = []
    for day in ("2023-12-05", "2023-12-06", "2023-12-07", "2023-12-08", "2024-03-06", "2024-03-07"):
        rows += _contract_rows(day, "ESZ3", 4600.00, 1000) if day < "2024" else []
        rows += _contract_rows(day, "ESH4", 4650.00, 500)
        rows += _contract_rows(day, "ESM4", 4700.00, 100)
    path = tmp_path / "glbx.csv"
    path.write_text("\n".join([_DATABENTO_HEADER, *rows]) + "\n")
    dataset = build_file_dataset(files_params("ES", str(path), "databento"))
    rolls = dataset.manifest["rolls"]
    assert [(r["trade_date"], r["from"], r["to"]) for r in rolls] == [
        ("2023-12-07", "ESZ23", "ESH24"),
        ("2024-03-07", "ESH24", "ESM24"),
    ]
    assert dataset.bars.groupby("trade_date")["contract"].nunique().eq(1).all()


def test_one_digit_databento_years_are_resolved_by_the_bar_date(tmp_path):
    """Databento's raw symbols carry one year digit: ESH4 traded in December 2023 is ESH24, not ESH14 or ESH34."""
    assert normalize_contract("ESH4", 2023) == "ESH24"
    assert normalize_contract("ESZ3", 2023) == "ESZ23"
    assert normalize_contract("ESH0", 2019) == "ESH20"
    assert normalize_contract("ESH24", 2023) == "ESH24"
    assert normalize_contract("ES 03-24", 2023) == "ESH24"
    rows = _contract_rows("2023-12-05", "ESZ3", 4600.00, 1000) + _contract_rows("2023-12-05", "ESH4", 4650.00, 500)
    path = tmp_path / "glbx.csv"
    path.write_text("\n".join([_DATABENTO_HEADER, *rows]) + "\n")
    dataset = build_file_dataset(files_params("ES", str(path), "databento"))
    assert dataset.manifest["rows_per_contract"] == {"ESH24": 3, "ESZ23": 3}
    assert (dataset.bars["contract"] == "ESZ23").all()  # before the 2023-12-07 calendar roll


# --- formats that carry no timezone ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writer", "name", "kwargs"),
    [
        (write_sierra, "ESH24.txt", {"format": "sierra"}),
        (write_tradestation, "ES.txt", {"format": "tradestation"}),
        (write_generic_csv, "bars.csv", {"format": "generic", "timestamp": "start", "columns": GENERIC_CSV_MAP}),
        (
            write_generic_parquet,
            "bars.parquet",
            {"format": "generic", "timestamp": "start", "columns": GENERIC_PARQUET_MAP},
        ),
    ],
    ids=["sierra", "tradestation", "generic-csv", "generic-parquet"],
)
def test_missing_timezone_is_a_clear_error(tmp_path, writer, name, kwargs):
    path = writer(canonical(), tmp_path / name)
    with pytest.raises(BarsError, match=r"^data\.timezone: the \w+ format does not say which timezone"):
        build_file_dataset(files_params(symbol="ES", paths=str(path), **kwargs))


def test_generic_needs_the_stamp_convention(tmp_path):
    path = write_generic_csv(canonical(), tmp_path / "bars.csv")
    with pytest.raises(BarsError, match=r"^data\.timestamp: .*'start' or 'end'"):
        build_file_dataset(files_params("ES", str(path), "generic", timezone=ET, columns=GENERIC_CSV_MAP))


def test_four_digit_years_are_read():
    assert normalize_contract("ESH2024", 2023) == "ESH24"
    assert normalize_contract("NQZ2025", 2025) == "NQZ25"


@pytest.mark.parametrize(
    ("codes", "symbol", "named"),
    [
        (("NQX3",), "NQ", "'NQX3' (6 rows) is not an outright NQ contract code"),  # a month NQ does not list
        (("garbage",), "ES", "'garbage' (6 rows) is not an outright ES contract code"),
        (("ESX4", "garbage"), "ES", "'ESX4' (3 rows), 'garbage' (3 rows) are not an outright ES contract code"),
    ],
)
def test_contract_codes_that_match_no_contract_are_refused_not_spliced(tmp_path, codes, symbol, named):
    price = 18000.0 if symbol == "NQ" else 5100.0
    rows = []
    for i, code in enumerate(codes * (2 // len(codes))):
        rows += _contract_rows(f"2023-12-0{5 + i}", code, price, 1000)
    path = tmp_path / "glbx.csv"
    path.write_text("\n".join([_DATABENTO_HEADER, *rows]) + "\n")
    with pytest.raises(BarsError) as info:
        build_file_dataset(files_params(symbol, str(path), "databento"))
    message = str(info.value)
    assert message.startswith(f"{path}, line 2, column contract: {named}"), message
    assert f"like {symbol}H24, {symbol}H4, {symbol}H2024 or '{symbol} 03-24'" in message


def test_a_four_digit_year_file_builds_its_contracts(tmp_path):
    rows = _contract_rows("2023-12-05", "ESZ2023", 4600.00, 1000) + _contract_rows(
        "2023-12-05", "ESH2024", 4650.00, 500
    )
    path = tmp_path / "glbx.csv"
    path.write_text("\n".join([_DATABENTO_HEADER, *rows]) + "\n")
    dataset = build_file_dataset(files_params("ES", str(path), "databento"))
    assert dataset.manifest["rows_per_contract"] == {"ESH24": 3, "ESZ23": 3}


def test_the_format_names_of_the_readers_and_the_schema_are_one_list():
    """``vendors.FORMATS`` and ``DataParams.format``'s allowed values name the same formats (a format added to one
    only is either unreadable or unreachable from params.yaml)."""
    import typing

    from almanac.config import DataParams
    from almanac.data_sources.vendors import FORMATS, FORMATS_REQUIRING_TIMEZONE

    assert set(typing.get_args(DataParams.model_fields["format"].annotation)) == set(FORMATS)
    assert set(FORMATS_REQUIRING_TIMEZONE) <= set(FORMATS)


def test_spread_rows_of_a_categorical_column_are_those_of_its_text():
    codes = ["ESH4-ESM4", "ESH4", None, "ES 03-24", "ESM4:ESU4", " es 06-24 ", "ES-X", "ESH4"] * 3
    text = pd.Series(codes, dtype="str")
    expected = spread_rows(text)
    assert expected.tolist() == [True, False, False, False, True, False, True, False] * 3
    assert (spread_rows(text.astype("category")) == expected).all()
    assert not spread_rows(pd.Series(pd.Categorical([None, None], categories=[]))).any()


@pytest.mark.parametrize(
    "codes", [["ESH24", None, "ESM24", "ESH24"], ["ES-continuous"] * 5, [None, None], ["ESZ24"] * 3 + [" es 03-25 "]]
)
def test_contract_text_is_astype_str_to_the_stored_bytes(codes):
    categorical = pd.Series(pd.Categorical(codes), index=np.arange(10, 10 + len(codes)), name="contract")
    expected = categorical.astype("str")
    pd.testing.assert_series_equal(_as_text(categorical), expected)
    tables = [pa.Table.from_pandas(s.to_frame(), preserve_index=False) for s in (_as_text(categorical), expected)]
    assert tables[0].equals(tables[1]) and tables[0].schema == tables[1].schema
    assert [t.column(0).num_chunks for t in tables] == [1, 1]
    pd.testing.assert_series_equal(_as_text(expected), expected)


def _gaps_one_day_at_a_time(bars: pd.DataFrame) -> dict:
    """gap_report's contract, day by day (a reference for small frames whose dates are NYSE sessions)."""
    windows = calendar.rth_sessions(bars["trade_date"].min(), bars["trade_date"].max())
    missing, with_rth = {}, set()
    for day in bars["trade_date"].drop_duplicates().sort_values():
        open_utc, close_utc = windows.loc[day, ["rth_open_utc", "rth_close_utc"]]
        ts = bars.loc[bars["trade_date"] == day, "ts"]
        present = int(((ts >= open_utc) & (ts < close_utc)).sum())
        missing[day] = max(int((close_utc - open_utc).total_seconds() // 60) - present, 0)
        if present:
            with_rth.add(day)
    worst = sorted(((d, v) for d, v in missing.items() if v > 0), key=lambda item: -item[1])[:10]
    return {
        "rth_minutes_missing": sum(missing.values()),
        "days_with_missing_rth_minutes": sum(v > 0 for v in missing.values()),
        "worst_days": {str(d.date()): v for d, v in worst},
        "trading_days_without_bars": sorted(str(d.date()) for d in windows.index if d not in with_rth),
    }


def test_gap_report_equals_its_day_by_day_definition():
    # Three weeks around Thanksgiving (the 29th a half day) with random minutes left out, a day with evening bars
    # only and a trading day without bars.
    rng = np.random.default_rng(3)
    ts = pd.date_range("2024-11-18 00:00", "2024-12-06 23:59", freq="min", tz="UTC")
    ts = ts[(rng.random(len(ts)) < 0.9) & (ts.normalize() != pd.Timestamp("2024-11-26", tz="UTC"))]
    bars = pd.DataFrame({"ts": ts, "trade_date": calendar.assign_trade_dates(ts).astype("datetime64[s]")})
    evening_only = (bars["trade_date"] == pd.Timestamp("2024-12-03")) & (bars["ts"].dt.hour < 22)
    bars = bars.loc[~evening_only].reset_index(drop=True)
    expected = _gaps_one_day_at_a_time(bars)
    # 2024-12-09: the Friday evening's bars belong to Monday, which has no RTH bars here
    assert expected["trading_days_without_bars"] == ["2024-11-26", "2024-12-03", "2024-12-09"]
    assert expected["days_with_missing_rth_minutes"] > 10
    assert gap_report(bars) == expected
