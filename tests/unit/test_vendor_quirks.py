"""Vendor files as they really arrive: headers that come and go, gzip, coarser bars, corrupt numbers and lines.

Each file is written by the test; where the real FirstRate sample is available (``../shared/data/real``, read in
place, never copied into the repository) it is used as the body, otherwise the test builds its own minutes.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from almanac.data_sources.cleaning import BAD_PRINT_WINDOW, _stretch_median
from almanac.data_sources.csv_reader import MAX_LINE_BYTES
from almanac.data_sources.files import build_file_dataset
from almanac.errors import AlmanacWarning, BarsError
from helpers import files_params, firstrate_lines, synthetic_bars

REAL = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "es_1min_firstrate_2023-03"
) / "ES_1min_sample.csv"
FIRSTRATE_HEADER = "timestamp,open,high,low,close,volume"


def minutes(first: str = "2024-03-07 09:30", n: int = 40, step: int = 1, price: float = 5000.0) -> list[str]:
    """``n`` FirstRate lines ``step`` minutes apart, a tick random walk (seeded) with consistent OHLC."""
    rng = np.random.default_rng(7)
    stamps = pd.date_range(first, periods=n, freq=f"{step}min")
    close = price + 0.25 * np.cumsum(rng.integers(-3, 4, n))
    open_ = np.concatenate([[price], close[:-1]])
    high = np.maximum(open_, close) + 0.25 * rng.integers(0, 3, n)
    low = np.minimum(open_, close) - 0.25 * rng.integers(0, 3, n)
    volume = rng.integers(100, 5000, n)
    return [
        f"{t:%Y-%m-%d %H:%M:%S},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{v}"
        for t, o, h, lo, c, v in zip(stamps, open_, high, low, close, volume, strict=True)
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def load(*paths: Path, **kwargs):
    kwargs.setdefault("format", "firstrate")
    return build_file_dataset(files_params(paths=",".join(map(str, paths)), **kwargs))


def error(*paths: Path, **kwargs) -> str:
    with pytest.raises(BarsError) as info:
        load(*paths, **kwargs)
    return str(info.value)


def real_lines(n: int | None = None) -> list[str]:
    if not REAL.is_file():
        pytest.skip(f"real data not available: {REAL}")
    lines = REAL.read_text().splitlines()
    return lines if n is None else lines[:n]


# --- headers ------------------------------------------------------------------------------------------------------


def test_firstrate_header_line_is_detected(tmp_path):
    body = minutes()
    plain = load(write(tmp_path / "plain.txt", body)).bars
    headed = load(write(tmp_path / "headed.txt", [FIRSTRATE_HEADER, *body])).bars
    pd.testing.assert_frame_equal(plain, headed)


def test_real_firstrate_sample_with_a_header_reads_the_same_bars(tmp_path):
    lines = real_lines()
    headed = load(write(tmp_path / "ES_1min_headed.csv", [FIRSTRATE_HEADER, *lines])).bars
    plain = build_file_dataset(files_params(paths=str(REAL), format="firstrate")).bars
    pd.testing.assert_frame_equal(plain, headed)
    assert len(headed) == 16_200


def test_header_and_headerless_files_mix_in_one_run(tmp_path):
    first = write(tmp_path / "a.txt", [FIRSTRATE_HEADER, *minutes("2024-03-07 09:30")])
    second = write(tmp_path / "b.txt", minutes("2024-03-08 09:30"))
    dataset = load(first, second)
    assert dataset.manifest["trade_dates"]["count"] == 2
    assert len(dataset.bars) == 80


def test_error_on_a_headered_firstrate_file_no_longer_mentions_ts_format(tmp_path):
    body = minutes()
    body[4] = body[4].replace("2024-03-07 09:34:00", "2024-03-07 9h34")
    path = write(tmp_path / "headed.txt", [FIRSTRATE_HEADER, *body])
    assert error(path).startswith(f"{path}, line 6, column datetime: '2024-03-07 9h34' is not a timestamp")


def test_generic_file_without_its_header_says_the_header_is_missing(tmp_path):
    path = write(tmp_path / "bars.csv", minutes())
    message = error(
        path,
        format="generic",
        timezone="America/New_York",
        timestamp="start",
        columns="ts=Datetime,open=Open,high=High,low=Low,close=Close,volume=Volume",
    )
    assert message == (
        f"{path}, line 1: the header line is missing (line 1 is a bar: '2024-03-07 09:30:00,5000.00,"
        f"{minutes()[0].split(',', 2)[2]}'); the generic format needs a first line naming the columns, mapped with "
        "data.columns"
    )


# --- compression --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ES_1min.csv.gz", "ES_1min.csv"], ids=["gz-suffix", "gzip-content-only"])
def test_gzip_files_are_read(tmp_path, name):
    body = minutes()
    plain = load(write(tmp_path / "plain.csv", body)).bars
    packed = tmp_path / name
    packed.write_bytes(gzip.compress(("\n".join(body) + "\n").encode(), mtime=0))
    pd.testing.assert_frame_equal(plain, load(packed).bars)


def test_real_sample_gzipped_reads_the_same_bars(tmp_path):
    packed = tmp_path / "ES_1min_sample.csv.gz"
    packed.write_bytes(gzip.compress(("\n".join(real_lines()) + "\n").encode(), mtime=0))
    plain = build_file_dataset(files_params(paths=str(REAL), format="firstrate")).bars
    pd.testing.assert_frame_equal(plain, load(packed).bars)


def test_zip_file_is_refused_as_compressed(tmp_path):
    path = tmp_path / "ES_1min.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ES_1min.csv", "\n".join(minutes()))
    assert error(path) == f"{path}: the file is zip-compressed; unpack it under data/raw/ and list the unpacked file"


def test_broken_gzip_is_refused(tmp_path):
    path = tmp_path / "ES_1min.csv.gz"
    path.write_bytes(gzip.compress(b"2024-03-07 09:30:00,1,1,1,1,1\n" * 100)[:40])
    assert error(path).startswith(f"{path}: gzip-compressed but cannot be unpacked")


# --- bar interval -------------------------------------------------------------------------------------------------


def test_five_minute_bars_are_refused(tmp_path):
    path = write(tmp_path / "ES_5min.txt", minutes(step=5))
    assert error(path).startswith(
        f"{path}: these are 5-minute bars (the usual spacing of consecutive bars), not 1-minute"
    )


def five_minutes(frame: pd.DataFrame) -> pd.DataFrame:
    """1-minute bars (a ``ts`` column) resampled to 5-minute bars: first open, max high, min low, last close."""
    return (
        frame.set_index("ts")
        .resample("5min")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
        .reset_index()
    )


def test_real_sample_resampled_to_five_minutes_is_refused(tmp_path):
    if not REAL.is_file():
        pytest.skip(f"real data not available: {REAL}")
    frame = pd.read_csv(REAL, header=None, names=["ts", "open", "high", "low", "close", "volume"])
    five = five_minutes(frame.assign(ts=pd.to_datetime(frame["ts"])))
    path = tmp_path / "ES_5min.csv"
    five.to_csv(path, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S")
    assert error(path).startswith(f"{path}: these are 5-minute bars")


def test_missing_minutes_do_not_make_a_file_look_coarser(tmp_path):
    body = minutes(n=200)
    keep = np.random.default_rng(3).random(200) > 0.6  # 60 % of the minutes had no trades: median step is 2
    thinned = [line for line, kept in zip(body, keep, strict=True) if kept]
    stamps = pd.to_datetime([line.split(",")[0] for line in thinned])
    assert np.median(np.diff(stamps.as_unit("ns").asi8)) / 60e9 == 2  # the median would call these 2-minute bars
    assert len(load(write(tmp_path / "thin.txt", thinned)).bars) == len(thinned)


def test_second_stamps_are_refused(tmp_path):
    body = minutes()
    body[2] = body[2].replace("09:32:00", "09:32:30")
    path = write(tmp_path / "ES.txt", body)
    assert error(path).startswith(
        f"{path}, line 3, column ts: 2024-03-07 14:32:30+00:00 (UTC) is not on a whole minute"
    )


# --- corrupt numbers and lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("volume", "inf", "'inf'"),
        ("volume", "1e30", "'1e+30'"),  # as the CSV reader parsed it
        ("close", "-inf", "'-inf'"),
        ("high", "9" * 60, "'1e+60'"),
    ],
)
def test_absurd_numbers_name_file_line_and_column(tmp_path, column, value, shown):
    body = minutes()
    fields = body[7].split(",")
    fields[["ts", "open", "high", "low", "close", "volume"].index(column)] = value
    body[7] = ",".join(fields)
    path = write(tmp_path / "ES.txt", [FIRSTRATE_HEADER, *body])
    assert error(path) == (
        f"{path}, line 9, column {column}: {shown} is not a plausible {column} (infinite or above 1e+09); fix or "
        "remove the bar"
    )


def test_a_50_mb_line_is_named_by_its_line(tmp_path):
    body = minutes()
    body[11] = body[11] + "," + "7" * (50 << 20)
    path = write(tmp_path / "ES.txt", body)
    assert error(path) == (
        f"{path}, line 12: the line is longer than {MAX_LINE_BYTES} bytes (a corrupt or binary file, not a bar); "
        "fix or remove the line"
    )


def test_a_long_line_that_fits_the_reader_is_still_named(tmp_path):
    body = minutes()
    body[3] = body[3] + ";" + "x" * (MAX_LINE_BYTES + 10)  # one field: the CSV reader alone would accept it
    path = write(tmp_path / "ES.txt", body)
    message = error(path)
    assert message.startswith(f"{path}, line 4, column volume: "), message
    assert len(message) < 300


# --- timestamps shifted part-way through a file -------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_months():
    """Two months of the synthetic market, with the US Eastern wall-clock stamp in ``local``."""
    bars = synthetic_bars("2024-01-02", "2024-02-29")
    return bars.assign(local=bars["ts"].dt.tz_convert("America/New_York").dt.tz_localize(None))


def _firstrate_lines(frame: pd.DataFrame) -> list[str]:
    # ``local`` (possibly shifted) is written as if it were the true wall clock.
    return firstrate_lines(frame.assign(ts=frame["local"].dt.tz_localize("America/New_York")))


def test_unshifted_months_pass_every_segment(tmp_path, two_months):
    dataset = load(write(tmp_path / "ES.txt", _firstrate_lines(two_months)))
    assert dataset.manifest["stamp_check"]["verdict"] == "ok"
    assert dataset.manifest["stamp_check"]["segments_flagged"] == []


def test_second_month_shifted_by_four_hours_is_an_error(tmp_path, two_months):
    february = (two_months["trade_date"] >= "2024-02-01").to_numpy()
    shifted = two_months.assign(local=two_months["local"].where(~february, two_months["local"] + pd.Timedelta(hours=4)))
    path = write(tmp_path / "ES.txt", _firstrate_lines(shifted))
    first_line = int(np.flatnonzero(february)[0]) + 1
    message = error(path)
    # The last shifted bars move past the 18:00 ET boundary into March: the February segment ends before them.
    assert message.startswith(f"{path}, lines {first_line}-"), message
    assert "(trade dates in 2024-02): the timestamps look shifted by +4 h" in message
    assert (
        "look shifted by +4 h (the cash-open volume jump is at 13:30 ET instead of 09:30; the daily halt shows at "
        "21:15-22:00 ET instead of 17:15-18:00)" in message
    )


def test_second_month_end_stamped_is_flagged_per_segment(tmp_path, two_months):
    february = (two_months["trade_date"] >= "2024-02-01").to_numpy()
    later = two_months.assign(local=two_months["local"].where(~february, two_months["local"] + pd.Timedelta(minutes=1)))
    path = write(tmp_path / "ES.txt", _firstrate_lines(later))
    assert f"{path} 2024-02: looks end-stamped" in error(path)  # half a file a minute off: refused too
    with pytest.warns(AlmanacWarning, match=re.escape(f"{path} 2024-02: looks end-stamped")):
        dataset = load(path, stamp_check="warn")
    flagged = dataset.manifest["stamp_check"]["segments_flagged"]
    assert [(s["file"], s["month"], s["verdict"]) for s in flagged] == [(str(path), "2024-02", "looks end-stamped")]
    assert f"{path} 2024-02: looks end-stamped" in dataset.manifest["warnings"][0]


# --- bad prints ---------------------------------------------------------------------------------------------------


def _with(lines: list[str], number: int, column: str, value: str) -> list[str]:
    """``lines`` with field ``column`` of 1-based line ``number`` replaced (high/low widened to keep OHLC valid)."""
    out = list(lines)
    fields = out[number - 1].split(",")
    names = ["ts", "open", "high", "low", "close", "volume"]
    fields[names.index(column)] = value
    prices = [float(f) for f in fields[1:5]]
    fields[2], fields[3] = f"{max(prices):.2f}", f"{min(prices):.2f}"
    out[number - 1] = ",".join(fields)
    return out


def test_the_real_sample_has_no_bad_prints():
    dataset = build_file_dataset(files_params(paths=str(REAL), format="firstrate")) if REAL.is_file() else None
    if dataset is None:
        pytest.skip(f"real data not available: {REAL}")
    assert "bad_prints_dropped" not in dataset.manifest["repairs"]


@pytest.mark.parametrize(
    ("number", "column", "factor"),
    [(5000, "high", 100.0), (9001, "low", None), (12000, "close", 1.08)],
    ids=["100x-spike", "low-of-a-tick", "8pct-outlier-close"],
)
def test_bad_prints_in_the_real_sample_stop_the_run_naming_the_line(tmp_path, number, column, factor):
    lines = real_lines()
    original = float(lines[number - 1].split(",")[["ts", "open", "high", "low", "close"].index(column)])
    value = "0.25" if factor is None else f"{round(original * factor * 4) / 4:.2f}"
    path = write(tmp_path / "ES.csv", _with(lines, number, column, value))
    message = error(path)
    assert message.startswith(f"{path}, line {number}, column {column}: {float(value)} is a bad print"), message
    assert message.endswith("fix the file, or set data.bad_prints=drop to drop and count them")


def test_bad_prints_can_be_dropped_and_counted(tmp_path):
    lines = _with(_with(real_lines(), 5000, "high", "400000.00"), 9001, "low", "0.25")
    dataset = load(write(tmp_path / "ES.csv", lines), bad_prints="drop")
    assert dataset.manifest["repairs"]["bad_prints_dropped"] == 2
    assert len(dataset.bars) == 16_200 - 2
    assert dataset.bars["high"].max() < 5000 and dataset.bars["low"].min() > 3000


def test_a_bad_print_in_the_first_bars_is_judged_against_the_following_ones(tmp_path):
    path = write(tmp_path / "ES.txt", _with(minutes(), 1, "high", "50000.00"))
    assert error(path).startswith(f"{path}, line 1, column high: 50000.0 is a bad print")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stretch_median_is_the_documented_window_in_every_stretch(seed):
    # Stretches of every length around the window (1 to 3 w), each row's reference computed one by one.
    rng = np.random.default_rng(seed)
    w = BAD_PRINT_WINDOW
    lengths = rng.choice([1, 2, w - 1, w, w + 1, 2 * w - 1, 2 * w, 2 * w + 1, 3 * w], size=40)
    key = np.repeat(np.arange(len(lengths)), lengths)
    values = np.round(rng.normal(4000, 5, len(key)) * 4) / 4
    expected = np.empty(len(key))
    for start, length in zip(np.cumsum(lengths) - lengths, lengths, strict=True):
        stretch = values[start : start + length]
        for p in range(length):
            if p >= w:
                expected[start + p] = np.median(stretch[p - w : p])
            elif length - 1 - p >= w:
                expected[start + p] = np.median(stretch[p + 1 : p + 1 + w])
            else:
                expected[start + p] = pd.Series(stretch).median()
    np.testing.assert_array_equal(_stretch_median(values, key), expected)
    assert len(_stretch_median(values[:0], key[:0])) == 0


def test_a_real_fast_market_is_not_a_bad_print(tmp_path):
    # A 2 % fall over three minutes (a CPI-day move) with wide ranges: genuine, kept.
    body = minutes(n=60)
    fields = [line.split(",") for line in body]
    for k, drop in zip(range(30, 60), [20, 40, 60] + [60] * 27, strict=True):
        ts, o, h, lo, c, v = fields[k]
        fields[k] = [ts, *(f"{float(x) - drop:.2f}" for x in (o, h, lo, c)), v]
    fields[30][3] = f"{float(fields[30][3]) - 5:.2f}"
    lines = [",".join(f) for f in fields]
    assert len(load(write(tmp_path / "ES.txt", lines)).bars) == 60


def _mixed_interval_file(tmp_path: Path, coarse: tuple[str, ...]) -> tuple[Path, list[str]]:
    """A FirstRate file of one week of 1-minute bars in which the trade dates ``coarse`` are 5-minute bars."""
    bars = synthetic_bars("2024-03-04", "2024-03-08")
    parts = []
    for day, group in bars.groupby("trade_date"):
        if str(day.date()) in coarse:
            five = five_minutes(group[["ts", "open", "high", "low", "close", "volume"]])
            group = five.assign(volume=five["volume"].astype(np.int64))
        parts.append(group)
    lines = firstrate_lines(pd.concat(parts, ignore_index=True))
    return write(tmp_path / "ES_mixed.txt", lines), lines


def test_days_of_coarser_bars_inside_a_minute_file_are_refused(tmp_path):
    path, lines = _mixed_interval_file(tmp_path, ("2024-03-06", "2024-03-07"))
    message = error(path)
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("2024-03-06 09:30"))
    assert message.startswith(
        f"{path}, line {first}: 2 trade date(s) are not 1-minute bars inside RTH: 2024-03-06 (5-minute), "
        "2024-03-07 (5-minute). A coarser bar holds prices from after its stamp"
    )
    assert "data.coarse_days: drop" in message


def test_coarser_days_are_dropped_and_counted_when_asked(tmp_path):
    path, _ = _mixed_interval_file(tmp_path, ("2024-03-06",))
    data = load(path, coarse_days="drop")
    dates = sorted({str(d.date()) for d in data.bars["trade_date"]})
    assert dates == ["2024-03-04", "2024-03-05", "2024-03-07", "2024-03-08"]
    assert data.manifest["repairs"]["coarse_interval_days_dropped"] == 1
    assert data.manifest["repairs"]["coarse_interval_bars_dropped"] > 200  # the whole Globex day, overnight too


def _whole_bar_times(lines: list[str], number: int, factor: float) -> list[str]:
    """``lines`` with every price of 1-based line ``number`` multiplied by ``factor`` (a whole bar 100x)."""
    out = list(lines)
    fields = out[number - 1].split(",")
    fields[1:5] = [f"{float(v) * factor:.2f}" for v in fields[1:5]]
    out[number - 1] = ",".join(fields)
    return out


def test_a_whole_bar_spike_is_a_bad_print_not_another_symbol(tmp_path):
    body = real_lines() if REAL.is_file() else minutes(n=400)
    lines = _whole_bar_times(body, 300, 100.0)
    path = write(tmp_path / "ES.csv", lines)
    message = error(path)
    assert message.startswith(f"{path}, line 300, column close: "), message
    assert "is a bad print (outside the plausible range of ES, 600 to 12000, while 99." in message
    assert "data.symbol" not in message and message.endswith("set data.bad_prints=drop to drop and count them")
    dataset = load(path, bad_prints="drop")
    assert dataset.manifest["repairs"]["bad_prints_dropped"] == 1 and len(dataset.bars) == len(body) - 1


def test_a_file_off_the_tick_grid_is_not_futures_data(tmp_path):
    rng = np.random.default_rng(0)
    stamps = pd.date_range("2024-03-07 09:30", periods=200, freq="1min")
    close = 510.0 + np.cumsum(rng.normal(0, 0.07, 200))  # an ETF near 510 dollars, priced in cents
    lines = [
        f"{t:%Y-%m-%d %H:%M:%S},{c:.2f},{c + 0.05:.2f},{c - 0.05:.2f},{c:.2f},1000"
        for t, c in zip(stamps, close, strict=True)
    ]
    path = write(tmp_path / "SPY.csv", lines)
    message = error(path)  # the values are checked before the range: the grid says it first
    assert "of the bars' prices are off the 0.25 tick grid" in message
    assert "this is not this futures contract's data (an ETF, an index or a back-adjusted series?)" in message


def test_a_shift_that_starts_mid_month_is_found_on_its_first_day(tmp_path, two_months):
    """+4 h from 2024-02-13 on for four trade dates: too little of the month to move the monthly check, but the
    daily halt of each of those days shows four hours late."""
    days = pd.DatetimeIndex(two_months["trade_date"])
    moved = np.asarray((days >= "2024-02-13") & (days <= "2024-02-16"))
    shifted = two_months.assign(local=two_months["local"].where(~moved, two_months["local"] + pd.Timedelta(hours=4)))
    path = write(tmp_path / "ES.txt", _firstrate_lines(shifted))
    message = error(path)
    # The first calendar day whose halt moved: 2024-02-13 (its bars from midnight on are the shifted session's).
    local = shifted["local"]
    first_line = int(np.flatnonzero(local.dt.date.astype(str) == "2024-02-13")[0]) + 1
    assert message.startswith(
        f"{path}, line {first_line} (2024-02-13, ET): the timestamps look shifted by +4 h "
        "from this day on (the daily halt shows at 21:15-22:00 ET instead of 17:15-18:00"
    ), message
    assert "4 day(s) of the file look so" in message  # 02-13 to 02-16


def test_a_shift_in_an_rth_only_file_is_found_on_its_first_day(tmp_path, two_months):
    """No whole days, so no daily halt to read: the first bar of each day is the open, and four days that start at
    13:30 ET instead of 09:30 are shifted."""
    clock = two_months["local"].dt.strftime("%H:%M")
    rth = two_months.loc[((clock >= "09:30") & (clock < "16:00")).to_numpy()]
    days = pd.DatetimeIndex(rth["trade_date"])
    moved = np.asarray((days >= "2024-02-13") & (days <= "2024-02-16"))
    shifted = rth.assign(local=rth["local"].where(~moved, rth["local"] + pd.Timedelta(hours=4)))
    path = write(tmp_path / "ES_rth.txt", _firstrate_lines(shifted))
    first_line = int(np.flatnonzero(moved)[0]) + 1
    assert error(path).startswith(
        f"{path}, line {first_line} (2024-02-13, ET): the timestamps look shifted by +4 h from this day on (its first "
        "bar is at 13:30 ET where the file's days start at 09:30; 4 day(s) of the file look so)"
    )
    assert len(load(write(tmp_path / "ES_rth_ok.txt", _firstrate_lines(rth))).bars) == len(rth)  # unshifted: fine
