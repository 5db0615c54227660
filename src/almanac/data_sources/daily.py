"""Daily cross-asset files: Yahoo-style CSV (``null`` rows), FRED CSV (``.`` for missing) and generic CSV.

``data.daily_paths`` names one file per series, ``SYMBOL=path`` separated by commas, e.g.
``VIX=data/raw/vix.csv.gz,DX=data/raw/DX-Y.NYB.csv,TNX=data/raw/^TNX.csv,WTI=data/raw/DCOILWTICO.csv``.  Each value
becomes known at its series' publication time on its own date (``available_at``, ET), by default VIX 16:15, DX
17:00, TNX 15:00, WTI 14:30, overridable with ``data.daily_available_at`` (``VIX=16:15,WTI=14:30``).  Missing values
are dropped and counted, never filled.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd

from almanac import calendar, instruments
from almanac.data_sources.columns import MAX_ABS_VALUE
from almanac.data_sources.raw_files import confine, read_text_bytes
from almanac.errors import BarsError

DEFAULT_AVAILABLE_AT = {"VIX": "16:15", "DX": "17:00", "TNX": "15:00", "WTI": "14:30"}
MISSING = ["null", ".", "", "NaN", "nan", "NA"]
COLUMNS = ["symbol", "date", "close", "available_at"]


def _pairs(text: str, key: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise BarsError(f"{key}: {part!r} must look like SYMBOL=value (e.g. VIX=data/raw/vix.csv)")
        out[name.strip().upper()] = value.strip()
    return out


def _value_column(frame: pd.DataFrame, path: Path) -> str:
    lowered = {c.lower().strip(): c for c in frame.columns}
    if "close" in lowered:
        return lowered["close"]  # Yahoo: Date,Open,High,Low,Close,Adj Close,Volume
    if len(frame.columns) == 2:
        return frame.columns[1]  # FRED (DATE,SERIES) and generic (date,value)
    raise BarsError(
        f"{path}, line 1: cannot tell which column holds the value; expected a Close column or exactly two columns"
    )


def read_daily_file(path: Path, symbol: str) -> tuple[pd.DataFrame, int]:
    """One series: ``symbol, date, close`` and the number of missing rows dropped.

    Errors name the file and the 1-based line: an empty or compressed-but-broken file, a line with another
    number of fields than the header, a date or value that does not parse, an infinite or absurd value.
    """
    content = read_text_bytes(path).decode("utf-8", errors="replace")
    if not content.strip():
        raise BarsError(f"{path}: the file is empty; download the series again")
    # Daily files are small (tens of thousands of lines): a line-by-line field count gives the exact line.
    rows = csv.reader(io.StringIO(content))
    width = len(next(rows))
    for number, row in enumerate(rows, start=2):
        if row and len(row) != width:
            raise BarsError(
                f"{path}, line {number}: {len(row)} fields where the header has {width}; fix or remove the line"
            )
    frame = pd.read_csv(
        io.StringIO(content), na_values=MISSING, keep_default_na=False, dtype=str, skip_blank_lines=False
    )
    blank = frame.isna().all(axis=1).to_numpy()  # empty lines: kept while reading so that line numbers stay true
    lines = (np.arange(len(frame)) + 2)[~blank]  # the header is line 1
    frame = frame.loc[~blank].reset_index(drop=True)
    if frame.empty:
        raise BarsError(f"{path}: no rows")
    date_col = frame.columns[0]
    value_col = _value_column(frame, path)
    raw_dates = frame[date_col].str.strip()
    # The file's date format is the one that parses more rows; the first row it fails on is the error.
    iso = pd.to_datetime(raw_dates, format="%Y-%m-%d", errors="coerce")
    us = pd.to_datetime(raw_dates, format="%m/%d/%Y", errors="coerce")
    dates = iso if iso.notna().sum() >= us.notna().sum() else us
    if dates.isna().any():
        i = int(dates.isna().to_numpy().argmax())
        raise BarsError(
            f"{path}, line {lines[i]}, column {date_col}: {raw_dates.iloc[i]!r} is not a date (YYYY-MM-DD or M/D/YYYY)"
        )
    values = pd.to_numeric(frame[value_col], errors="coerce")
    text = frame[value_col]
    bad = values.isna() & text.notna()
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise BarsError(
            f"{path}, line {lines[i]}, column {value_col}: {text.iloc[i]!r} is not a number (missing values must be 'null' or '.')"
        )
    absurd = (values.abs() > MAX_ABS_VALUE).to_numpy()  # inf too
    if absurd.any():
        i = int(absurd.argmax())
        raise BarsError(
            f"{path}, line {lines[i]}, column {value_col}: {text.iloc[i]!r} is not a plausible value (infinite or "
            f"above {MAX_ABS_VALUE:.0e}); fix or remove the row"
        )
    keep = values.notna().to_numpy()
    out = pd.DataFrame(
        {"symbol": symbol, "date": dates.to_numpy()[keep].astype("datetime64[s]"), "close": values.to_numpy()[keep]}
    )
    if out["date"].duplicated().any():
        i = int(out["date"].duplicated().to_numpy().argmax())
        first = int((out["date"] == out["date"].iloc[i]).to_numpy().argmax())
        kept_lines = lines[keep]
        raise BarsError(
            f"{path}, line {kept_lines[i]}, column {date_col}: date {out['date'].iloc[i].date()} appears twice (also "
            f"line {kept_lines[first]}); remove one of the rows"
        )
    return out.sort_values("date", kind="stable").reset_index(drop=True), int((~keep).sum())


def read_daily_series(
    paths: str, available_at: str = "", *, root: Path | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """All series named in ``data.daily_paths`` in long format with ``available_at`` (UTC), plus repairs; with
    ``root``, every file must lie inside it."""
    files = _pairs(paths, "data.daily_paths")
    times = {**DEFAULT_AVAILABLE_AT, **_pairs(available_at, "data.daily_available_at")}
    frames, repairs = [], {}
    roots = instruments.table()
    clash = [name for name in files if name in roots]
    if clash:
        name = clash[0]
        raise BarsError(
            f"data.daily_paths: {name!r} is an instrument root ({roots[name].name} futures); a cross-asset daily "
            f"series needs a name of its own (e.g. WTI for the crude spot price, DX for the dollar index)"
        )
    for symbol, path in files.items():  # one iteration per series
        if not Path(path).is_file():
            raise BarsError(f"data.daily_paths: {path!r} (series {symbol}) does not exist")
        confine(Path(path), root, "data.daily_paths")
        if symbol not in times:
            raise BarsError(f"data.daily_available_at: no publication time for {symbol}; add {symbol}=HH:MM (ET)")
        series, dropped = read_daily_file(Path(path), symbol)
        hour, minute = (int(x) for x in times[symbol].split(":"))
        series["available_at"] = calendar.local_instants(series["date"], dt.time(hour, minute)).as_unit("ns")
        frames.append(series)
        if dropped:
            repairs[f"daily_{symbol}_missing_values_dropped"] = dropped
    if not frames:
        empty = pd.DataFrame(
            {
                "symbol": pd.Series(dtype="str"),
                "date": pd.Series(dtype="datetime64[s]"),
                "close": pd.Series(dtype="float64"),
            }
        )
        empty["available_at"] = pd.Series(dtype="datetime64[ns, UTC]")
        return empty[COLUMNS], repairs
    return pd.concat(frames, ignore_index=True)[COLUMNS], repairs
