"""Data access: the pipeline's canonical minute bars, session table and cross-asset daily series.

``load_minute_data`` and ``load_daily_data`` are the calls of the original design's workflow (step 1).  They
read what the ``bars`` and ``sessions`` stages wrote under ``data_dir`` (default ``data``, relative to the
working directory, i.e. the repository root when run there), so run ``dvc repro`` (or ``make repro``) first.
The output paths are fixed (``data/bars/minute.parquet``, whatever the symbol): no user-controlled string
becomes a path in ``dvc.yaml``.  The symbol is checked against the manifest.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from almanac.data_sources.store import read_json, read_table

__all__ = ["load_minute_data", "load_daily_data", "load_cross_asset_data"]

BARS_FILE = Path("bars") / "minute.parquet"
MANIFEST_FILE = Path("bars") / "manifest.json"


def _date_filter(column: str, start, end) -> list:
    filters = []
    if start is not None:
        filters.append((column, ">=", pd.Timestamp(start).date()))
    if end is not None:
        filters.append((column, "<=", pd.Timestamp(end).date()))
    return filters or None


def _check_symbol(symbol: str, data_dir: Path) -> None:
    manifest = read_json(data_dir / MANIFEST_FILE)
    if manifest.get("symbol") != symbol:
        raise FileNotFoundError(
            f"the pipeline's data under {data_dir} is {manifest.get('symbol')!r}, not {symbol!r}: set data.symbol "
            "and run dvc repro"
        )


def load_minute_data(symbol: str, start=None, end=None, *, data_dir: str | Path = "data") -> pd.DataFrame:
    """Canonical minute bars of ``symbol`` for trade dates in ``[start, end]``.

    Columns: ``ts`` (UTC bar start), ``open, high, low, close`` (float64 index points), ``volume`` (int64),
    ``contract`` (str), ``trade_date`` (datetime64[s]); sorted by ``ts``.
    """
    _check_symbol(symbol, Path(data_dir))
    return read_table(Path(data_dir) / BARS_FILE, filters=_date_filter("trade_date", start, end))


def load_daily_data(symbol: str, start=None, end=None, *, data_dir: str | Path = "data") -> pd.DataFrame:
    """The daily session table (one row per trade date, RTH ``open, high, low, close, volume`` and the rest).

    Indexed by ``trade_date``.  ``symbol`` must be the symbol the pipeline ran on.
    """
    _check_symbol(symbol, Path(data_dir))
    frame = read_table(Path(data_dir) / "sessions.parquet", filters=_date_filter("trade_date", start, end))
    return frame.set_index("trade_date")


def load_cross_asset_data(start=None, end=None, *, data_dir: str | Path = "data") -> pd.DataFrame:
    """Cross-asset daily series in long format: ``symbol, date, close, available_at`` (UTC)."""
    return read_table(Path(data_dir) / "bars" / "daily.parquet", filters=_date_filter("date", start, end))
