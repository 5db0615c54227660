"""Read one vendor file into raw bars with UTC bar-start timestamps and the file line of every row.

The file's format (:mod:`~almanac.data_sources.vendors`) says its layout, timezone and stamp convention; CSV text
is parsed by :mod:`~almanac.data_sources.csv_reader`, Parquet by pyarrow, and the columns become numbers and UTC
bar starts by :mod:`~almanac.data_sources.columns`.  What is vendor-specific in the reading is here: Databento's
``ts_event``, ``symbol`` and fixed-point prices, TradeStation's up and down volumes, end stamps moved to the bar's
start.  Errors name the file, the line, the column and what to do.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from almanac.data_sources.columns import (
    PRICE_COLUMNS,
    canonical_name,
    localize,
    read_numbers,
    read_timestamps,
    require_columns,
)
from almanac.data_sources.csv_reader import read_csv_table
from almanac.data_sources.raw_files import read_text_bytes
from almanac.data_sources.vendors import FORMATS, VendorFormat
from almanac.errors import BarsError


@dataclasses.dataclass
class RawBars:
    """Bars of one file before validation: ``ts`` (UTC bar start), OHLC, ``volume`` (float), ``contract``
    (str or missing), ``line`` (1-based line in the file); plus the repairs made while reading."""

    frame: pd.DataFrame
    repairs: dict[str, int]
    timezone: str
    stamp: str


def read_bars_file(
    path: Path,
    *,
    fmt_name: str,
    timezone: str = "",
    stamp: str = "",
    column_map: dict[str, str] | None = None,
    ts_format: str = "",
) -> RawBars:
    """Read one file of ``fmt_name`` into :class:`RawBars` (see the module docstring)."""
    fmt = FORMATS[fmt_name]
    tz = timezone or fmt.timezone
    stamp = stamp or fmt.stamp
    if tz is None:
        raise BarsError(
            f"data.timezone: the {fmt_name} format does not say which timezone its times are in; set it (e.g. 'America/New_York')"
        )
    if stamp is None:
        raise BarsError(f"data.timestamp: say whether the {fmt_name} file stamps bars at their 'start' or 'end'")
    if path.suffix == ".parquet":
        table, lines, repairs = _read_parquet(path, fmt, column_map)
    else:
        data = read_text_bytes(path)
        table, lines, repairs = read_csv_table(path, fmt, data, column_map=column_map)
        del data  # the parsed table holds everything now: free the file's bytes before building the frame
        if table.num_rows == 0:
            raise BarsError(f"{path}: only a header, no bars; export the bars again")
    volume_cols = ["up", "down"] if fmt_name == "tradestation" else ["volume"]
    ts_needed = (
        ["ts"]
        if (fmt_name == "generic" and "ts" in table.column_names)
        else list(fmt.ts_columns if fmt_name != "generic" else ("date", "time"))
    )
    if fmt_name == "databento":
        ts_needed = ["ts_event"]
    require_columns(table.column_names, [*ts_needed, *PRICE_COLUMNS, *volume_cols], path, fmt=fmt)
    if fmt_name == "databento":
        table = table.rename_columns(["ts" if n == "ts_event" else n for n in table.column_names])
    if "ts" in table.column_names and pa.types.is_timestamp(table.column("ts").type):
        ts = pd.DatetimeIndex(table.column("ts").to_pandas()).as_unit("ns")
    else:
        ts = read_timestamps(table, fmt, ts_format, path=path, lines=lines, tz=tz)
    stamps = dict.fromkeys(("ts", *fmt.ts_columns, "date", "time"))  # (dropped once each: no longer needed)
    table = table.drop_columns([c for c in stamps if c in table.column_names])
    # Databento fixed-point prices are integers in units of 1e-9 (a decimal point means they were exported as
    # decimals).  Judged on the first close: a file is one or the other.
    first_close = str(table.column("close")[0]).strip()
    scale = 1e9 if fmt_name == "databento" and first_close.isdigit() and len(first_close) > 8 else 1.0
    # Column by column, each dropped from the Arrow table once converted: one copy of the numbers at a time.
    frame = pd.DataFrame({"ts": localize(ts, tz, path=path, lines=lines)})
    del ts
    for name in PRICE_COLUMNS:
        frame[name] = read_numbers(table.column(name), name, path, lines=lines, scale=scale)
        table = table.drop_columns([name])
    frame["volume"] = sum(read_numbers(table.column(c), c, path, lines=lines) for c in volume_cols)
    frame["line"] = lines
    if stamp == "end":
        frame["ts"] = frame["ts"] - pd.Timedelta(minutes=1)  # normalise to bar start
    contract_col = "symbol" if fmt_name == "databento" else "contract"
    if contract_col in table.column_names:  # categorical: a few distinct codes over millions of rows
        codes = pc.utf8_trim_whitespace(table.column(contract_col)).dictionary_encode().combine_chunks()
        frame["contract"] = pd.Categorical.from_codes(
            codes.indices.to_numpy(zero_copy_only=False), categories=codes.dictionary.to_pylist()
        )
    else:
        frame["contract"] = pd.Categorical.from_codes(np.full(len(frame), -1, dtype=np.int8), categories=[])
    frame["file"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[str(path)])
    del table
    pa.default_memory_pool().release_unused()  # hand the CSV reader's buffers back to the system
    return RawBars(frame=frame, repairs=repairs, timezone=tz, stamp=stamp)


def _read_parquet(
    path: Path, fmt: VendorFormat, column_map: dict[str, str] | None
) -> tuple[pa.Table, np.ndarray, dict]:
    """A Parquet file as the CSV reader returns it: canonical column names, every column but timestamps as text
    (so the column checks are the same), row ``i`` reported as line ``i + 2`` (as if under a header)."""
    table = pq.read_table(path)
    table = table.rename_columns([canonical_name(n, fmt, column_map) for n in table.column_names])
    repairs = {}
    if table.num_rows == 0:
        raise BarsError(f"{path}: no bars in the file")
    table = pa.table(
        {
            n: (
                table.column(n)
                if pa.types.is_timestamp(table.column(n).type)
                else pc.cast(table.column(n), pa.string())
            )
            for n in table.column_names
        }
    )
    lines = np.arange(table.num_rows) + 2  # Parquet: row i reported as line i + 2, as if under a header
    return table, lines, repairs
