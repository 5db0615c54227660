"""Daily cross-asset files (docs/data_contracts.md): Yahoo CSV with 'null' rows, FRED CSV with '.', generic two-column
CSV with M/D/YYYY dates; missing values dropped and counted; ``available_at`` from each series' publication time
(ET, DST-correct, overridable); errors naming file and line; and the real daily files in ../shared/data/real.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from almanac.data_sources.daily import DEFAULT_AVAILABLE_AT, read_daily_file, read_daily_series
from almanac.data_sources.files import build_file_dataset
from almanac.data_sources.validation import BarsError
from helpers import files_params

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2024-03-07,103.230003,103.300003,102.750000,102.790001,102.790001,0
2024-03-08,null,null,null,null,null,null
2024-03-11,102.709999,102.900002,102.650002,102.870003,102.870003,0
2024-03-12,102.870003,103.099998,102.790001,102.949997,102.949997,0
"""
FRED = """DATE,DCOILWTICO
2024-03-07,78.93
2024-03-08,.
2024-03-11,77.95
2024-03-12,.
2024-03-13,79.72
"""
GENERIC = """Date,vix
3/7/2024,14.44
3/8/2024,14.74
3/11/2024,
3/12/2024,13.75
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yahoo_null_rows_are_dropped_and_counted(tmp_path):
    path = write(tmp_path, "DX-Y.NYB.csv", YAHOO)
    series, dropped = read_daily_file(path, "DX")
    assert dropped == 1
    assert series["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-07", "2024-03-11", "2024-03-12"]
    assert series["close"].tolist() == [102.790001, 102.870003, 102.949997]  # the Close column, not Adj Close
    assert series["date"].dtype == "datetime64[s]"


def test_fred_dots_are_dropped_and_counted(tmp_path):
    series, dropped = read_daily_file(write(tmp_path, "DCOILWTICO.csv", FRED), "WTI")
    assert dropped == 2
    assert series["close"].tolist() == [78.93, 77.95, 79.72]


def test_generic_two_columns_with_month_day_year(tmp_path):
    series, dropped = read_daily_file(write(tmp_path, "vix.csv", GENERIC), "VIX")
    assert dropped == 1  # an empty value is missing too
    assert series["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-07", "2024-03-08", "2024-03-12"]
    assert series["close"].tolist() == [14.44, 14.74, 13.75]


def test_gzip_files_are_read(tmp_path):
    path = tmp_path / "vix.csv.gz"
    path.write_bytes(gzip.compress(GENERIC.encode()))
    series, dropped = read_daily_file(path, "VIX")
    assert len(series) == 3 and dropped == 1


def test_series_in_long_format_with_counted_repairs(tmp_path):
    spec = (
        f"DX={write(tmp_path, 'dx.csv', YAHOO)},WTI={write(tmp_path, 'cl.csv', FRED)},"
        f"VIX={write(tmp_path, 'vix.csv', GENERIC)}"
    )
    daily, repairs = read_daily_series(spec)
    assert list(daily.columns) == ["symbol", "date", "close", "available_at"]
    assert daily["symbol"].value_counts().to_dict() == {"DX": 3, "WTI": 3, "VIX": 3}
    assert repairs == {
        "daily_DX_missing_values_dropped": 1,
        "daily_WTI_missing_values_dropped": 2,
        "daily_VIX_missing_values_dropped": 1,
    }
    assert str(daily["available_at"].dt.tz) == "UTC"


# --- available_at ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "et", "winter_utc", "summer_utc"),
    [
        ("VIX", "16:15", "2024-03-08 21:15", "2024-03-11 20:15"),
        ("DX", "17:00", "2024-03-08 22:00", "2024-03-11 21:00"),
        ("TNX", "15:00", "2024-03-08 20:00", "2024-03-11 19:00"),
        ("WTI", "14:30", "2024-03-08 19:30", "2024-03-11 18:30"),
    ],
)
def test_default_publication_times_are_eastern_and_dst_correct(tmp_path, symbol, et, winter_utc, summer_utc):
    """Friday 2024-03-08 is EST (UTC-5); Monday 2024-03-11, after the 2024-03-10 change, is EDT (UTC-4)."""
    assert DEFAULT_AVAILABLE_AT[symbol] == et
    path = write(tmp_path, "s.csv", "Date,value\n2024-03-08,1.5\n2024-03-11,1.25\n")
    daily, _ = read_daily_series(f"{symbol}={path}")
    expected = pd.to_datetime([winter_utc, summer_utc]).tz_localize("UTC")
    assert daily["available_at"].tolist() == expected.tolist()


def test_publication_times_can_be_overridden(tmp_path):
    path = write(tmp_path, "s.csv", "Date,value\n2024-03-08,1.5\n2024-07-01,1.25\n")
    daily, _ = read_daily_series(f"VIX={path},GOLD={path}", "VIX=16:30, GOLD=13:30")
    at = daily.set_index(["symbol", daily["date"].dt.strftime("%Y-%m-%d")])["available_at"].dt.strftime("%H:%M")
    assert at.to_dict() == {
        ("VIX", "2024-03-08"): "21:30",
        ("VIX", "2024-07-01"): "20:30",
        ("GOLD", "2024-03-08"): "18:30",
        ("GOLD", "2024-07-01"): "17:30",
    }


def test_a_series_without_a_publication_time_is_an_error(tmp_path):
    path = write(tmp_path, "gc.csv", "Date,value\n2024-03-08,2150.5\n")
    with pytest.raises(BarsError, match=r"^data\.daily_available_at: no publication time for GOLD; add GOLD=HH:MM"):
        read_daily_series(f"GOLD={path}")


def test_no_daily_files_gives_an_empty_long_table():
    daily, repairs = read_daily_series("")
    assert daily.empty and repairs == {}
    assert list(daily.columns) == ["symbol", "date", "close", "available_at"]
    assert str(daily["available_at"].dt.tz) == "UTC"


def test_bars_dataset_carries_the_daily_series_of_its_window(tmp_path):
    """Through build_file_dataset: the daily rows of the bars' dates plus a month before, repairs in the manifest."""
    bars = tmp_path / "ES_1min.txt"
    bars.write_text(
        "2024-03-11 09:30:00,5119.75,5121.00,5113.25,5114.50,15003\n"
        "2024-03-12 09:30:00,5120.00,5122.00,5119.00,5121.50,14011\n"
    )
    lines = ["DATE,DCOILWTICO"] + [
        f"{d:%Y-%m-%d},{'.' if d.day == 15 else f'{70 + d.day / 10:.2f}'}"
        for d in pd.bdate_range("2024-01-02", "2024-03-29")
    ]
    cl = write(tmp_path, "DCOILWTICO.csv", "\n".join(lines) + "\n")
    dataset = build_file_dataset(files_params("ES", str(bars), "firstrate", daily_paths=f"WTI={cl}"))
    daily = dataset.daily
    # 31 days before the first trade date (2024-03-11) is Friday 2024-02-09.
    assert daily["date"].min() == pd.Timestamp("2024-02-09") and daily["date"].max() == pd.Timestamp("2024-03-12")
    # Counted over the whole file (Jan 15, Feb 15 and Mar 15), not only the kept window.
    assert dataset.manifest["repairs"] == {"daily_WTI_missing_values_dropped": 3}
    assert not (daily["date"].dt.day == 15).any()
    assert dataset.manifest["rows"]["daily_series"] == len(daily)


# --- errors ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DATE,X\n2024-03-07,1.5\n2024-03-08,1.5\n2024-03-32,1.5\n", "line 4, column DATE: '2024-03-32' is not a date"),
        ("Date,vix\n3/7/2024,14.4\n13/8/2024,14.7\n3/11/2024,15\n", "line 3, column Date: '13/8/2024' is not a date"),
        ("Date,vix\n3/7/2024,14.4\n2024-03-08,14.7\n3/11/2024,15\n", "line 3, column Date: '2024-03-08' is not a date"),
        ("DATE,X\n2024-03-07,1.5\n2024-03-08,n/a\n", "line 3, column X: 'n/a' is not a number"),
        (YAHOO.replace("102.870003,102.870003", "1O2.87,102.870003"), "line 4, column Close: '1O2.87' is not a number"),
        (
            "DATE,X\n2024-03-07,1.5\n2024-03-08,.\n2024-03-07,1.5\n",
            "line 4, column DATE: date 2024-03-07 appears twice (also line 2)",
        ),
        ("DATE,X\n2024-03-07,1.5\n\n2024-03-08,x\n", "line 4, column X: 'x' is not a number"),  # blank line 3 counts
    ],
    ids=["iso-date", "mdy-date", "mixed-date-formats", "number", "yahoo-number", "duplicate", "after-blank-line"],
)
def test_bad_values_name_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "series.csv", text)
    with pytest.raises(BarsError) as info:
        read_daily_file(path, "X")
    assert str(info.value).startswith(f"{path}, {message}"), str(info.value)


def test_which_column_holds_the_value(tmp_path):
    path = write(tmp_path, "s.csv", "Date,Bid,Ask\n2024-03-07,1.5,1.75\n")
    with pytest.raises(BarsError, match=r"s\.csv, line 1: cannot tell which column holds the value"):
        read_daily_file(path, "X")


def test_missing_file_and_malformed_spec_name_data_daily_paths(tmp_path):
    with pytest.raises(BarsError, match=r"^data\.daily_paths: '.*nope\.csv' \(series VIX\) does not exist"):
        read_daily_series(f"VIX={tmp_path / 'nope.csv'}")
    with pytest.raises(BarsError, match=r"^data\.daily_paths: 'vix\.csv' must look like SYMBOL=value"):
        read_daily_series("vix.csv")


def test_all_values_missing_leaves_an_empty_series(tmp_path):
    series, dropped = read_daily_file(write(tmp_path, "s.csv", "DATE,X\n2024-03-07,.\n2024-03-08,.\n"), "X")
    assert series.empty and dropped == 2


# --- the real files ---------------------------------------------------------------------------------------------------

# file, symbol, data rows in the file (^TNX ends with a 'null' row for 2023-01-01), missing rows, first date, last date, (date, close) read by hand from the file
REAL_FILES = [
    ("daily_macro_marti1/DX-Y.NYB.csv", "DX", 16_210, 2_937, "1971-01-04", "2023-03-23", ("2023-03-23", 102.529999)),
    ("daily_macro_marti1/^TNX.csv", "TNX", 7_690, 1_410, "1998-01-02", "2022-12-30", ("1998-01-02", 5.655)),
    ("daily_macro_marti1/DCOILWTICO.csv", "WTI", 9_548, 326, "1986-01-02", "2022-08-08", ("1986-01-03", 26.0)),
    ("daily_arch_pkg/vix.csv.gz", "VIX", 1_305, 46, "2014-01-03", "2019-01-03", ("2014-01-03", 13.76)),
    ("daily_arch_pkg/wti.csv.gz", "WTI", 8_611, 290, "1986-01-02", "2019-01-03", ("1986-01-02", 25.56)),
]


def _raw_missing(path: Path) -> tuple[int, int]:
    """Rows and rows whose value field is 'null' or '.', counted from the raw text (independently of the reader)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        rows = [line.rstrip("\r\n").split(",") for line in handle.read().splitlines()[1:] if line.strip()]
    value = 4 if len(rows[0]) == 7 else 1  # Yahoo: Close; FRED / two-column: the value
    return len(rows), sum(row[value] in ("null", ".") for row in rows)


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "symbol", "n_rows", "n_missing", "first", "last", "spot"),
    REAL_FILES,
    ids=[f[0].split("/")[1] for f in REAL_FILES],
)
def test_real_daily_files_load_with_gaps_counted(name, symbol, n_rows, n_missing, first, last, spot):
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"real data not available: {path}")
    assert _raw_missing(path) == (n_rows, n_missing)
    daily, repairs = read_daily_series(f"{symbol}={path}")
    assert repairs == {f"daily_{symbol}_missing_values_dropped": n_missing}
    assert len(daily) == n_rows - n_missing
    assert np.isfinite(daily["close"]).all()
    if symbol == "WTI" and last == "2022-08-08":  # WTI spot settled at -36.98 on 2020-04-20: a real negative price
        assert daily.loc[daily["close"] <= 0, "date"].tolist() == [pd.Timestamp("2020-04-20")]
    else:
        assert (daily["close"] > 0).all()
    assert daily["date"].is_monotonic_increasing and not daily["date"].duplicated().any()
    assert str(daily["date"].min().date()) == first and str(daily["date"].max().date()) == last
    row = daily.loc[daily["date"] == pd.Timestamp(spot[0])]
    assert row["close"].tolist() == [spot[1]]
    hour, minute = (int(x) for x in DEFAULT_AVAILABLE_AT[symbol].split(":"))
    local = daily["available_at"].dt.tz_convert("America/New_York")
    assert ((local.dt.hour == hour) & (local.dt.minute == minute)).all()
    assert (local.dt.tz_localize(None).dt.normalize() == daily["date"]).all()


@pytest.mark.real_data
def test_real_daily_series_together():
    names = {f[1] if f[0] != "daily_arch_pkg/wti.csv.gz" else "WTI_ARCH": REAL / f[0] for f in REAL_FILES}
    if not all(p.is_file() for p in names.values()):
        pytest.skip(f"real data not available: {REAL}")
    daily, repairs = read_daily_series(",".join(f"{k}={v}" for k, v in names.items()), "WTI_ARCH=14:30")
    assert set(daily["symbol"]) == {"DX", "TNX", "WTI", "VIX", "WTI_ARCH"}
    assert sum(repairs.values()) == sum(f[3] for f in REAL_FILES)
    # VIX on 2014-01-03 (EST) is known at 16:15 ET = 21:15 UTC; DXY on 2022-07-01 (EDT) at 17:00 ET = 21:00 UTC.
    at = daily.set_index(["symbol", "date"])["available_at"]
    assert at[("VIX", pd.Timestamp("2014-01-03"))] == pd.Timestamp("2014-01-03 21:15", tz="UTC")
    assert at[("DX", pd.Timestamp("2022-07-01"))] == pd.Timestamp("2022-07-01 21:00", tz="UTC")


def test_a_daily_series_named_like_an_instrument_is_refused(tmp_path):
    path = write(tmp_path, "DCOILWTICO.csv", FRED)
    with pytest.raises(BarsError) as info:
        read_daily_series(f"CL={path}", "CL=14:30")
    assert str(info.value) == (
        "data.daily_paths: 'CL' is an instrument root (WTI crude oil futures); a cross-asset daily series needs a "
        "name of its own (e.g. WTI for the crude spot price, DX for the dollar index)"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "{path}: the file is empty; download the series again"),
        (b"date,close\n2024-01-02,13.5\n2024-01-03,inf\n",
         "{path}, line 3, column close: 'inf' is not a plausible value (infinite or above 1e+09); fix or remove the row"),
        (b"date,close\n2024-01-02,13.5\n2024-01-03,1e30\n",
         "{path}, line 3, column close: '1e30' is not a plausible value (infinite or above 1e+09); fix or remove the row"),
        (b"date,close\n2024-01-02,13.5,7,8\n2024-01-03,14\n",
         "{path}, line 2: 4 fields where the header has 2; fix or remove the line"),
        (b"\x1f\x8b\x08broken",
         "{path}: gzip-compressed but cannot be unpacked (Compressed file ended before the end-of-stream marker was "
         "reached); download the file again"),
    ],
    ids=["empty", "inf", "1e30", "extra-fields", "broken-gzip"],
)  # fmt: skip
def test_broken_daily_files_name_the_file_and_line(tmp_path, content, expected):
    path = tmp_path / "vix.csv"
    path.write_bytes(content)
    with pytest.raises(BarsError) as info:
        read_daily_series(f"VIX={path}")
    assert str(info.value) == expected.format(path=path)


def test_a_gzipped_daily_file_is_read(tmp_path):
    plain = write(tmp_path, "vix.csv", "date,close\n2024-01-02,13.5\n2024-01-03,14.0\n")
    packed = tmp_path / "vix.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    pd.testing.assert_frame_equal(read_daily_series(f"VIX={plain}")[0], read_daily_series(f"VIX={packed}")[0])
