"""Reading and writing the pipeline's tables (Parquet) and small JSON documents, deterministically.

Dates are stored as Arrow ``date32`` and come back as ``datetime64[s]`` (midnight, tz-naive); timestamps are
stored as UTC and come back tz-aware.  JSON is written with sorted keys and a trailing newline so that the same
content always gives the same bytes (DVC hashes files, so byte-identical output is what reproducibility means).
Every write is atomic: the file is written under a temporary name in the same folder, flushed to disk and
renamed over the target, so a killed stage leaves the previous file or none, never a truncated one.
JSON floats keep 12 significant digits: statistics that come from libraries (scipy's distributions, scikit-learn's
scores) call the C library's functions, whose last bit could differ on another machine, and that must not change
a file's hash (the package's own arithmetic is CPU-independent: ``almanac.numerics``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from almanac.errors import CorruptFileError
from almanac.paths import atomic_path  # every write of this module goes through it

DATE_COLUMNS = ("trade_date", "date")
JSON_DIGITS = 12


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` (no index) to Parquet, storing ``trade_date``/``date`` columns as ``date32``."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in DATE_COLUMNS:
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(i, name, table.column(name).cast(pa.date32()))
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary, compression="zstd", row_group_size=1 << 20)


def read_table(path: str | Path, filters=None, columns=None, *, categorical: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a table written by :func:`write_table`; date columns come back as ``datetime64[s]``, ``categorical``
    text columns as categories (a few contract codes over millions of rows: no string per row)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found; run the stage that produces it (dvc repro)")
    try:
        table = pq.read_table(path, filters=filters, columns=columns, read_dictionary=list(categorical) or None)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as err:
        raise CorruptFileError(
            f"{path}: not a readable Parquet file ({str(err).splitlines()[0][:120]}); the pipeline wrote it, so "
            f"restore it with `dvc checkout {path}` or rebuild it with `dvc repro`"
        ) from None
    for name in DATE_COLUMNS:  # date32 -> seconds in Arrow: pandas gets datetime64[s] without a conversion pass
        if name in table.column_names and table.schema.field(name).type == pa.date32():
            table = table.set_column(table.column_names.index(name), name, table.column(name).cast(pa.timestamp("s")))
    frame = table.to_pandas(date_as_object=False)
    for name in DATE_COLUMNS:
        if name in frame.columns and frame[name].dtype != "datetime64[s]":
            frame[name] = frame[name].astype("datetime64[s]")
    return frame


def write_csv(frame: pd.DataFrame, path: str | Path, *, exact: tuple[str, ...] = ()) -> None:
    """Write a small table (a DVC plot) as CSV with 6 significant digits, so reruns give the same bytes.

    ``exact`` columns (prices on the tick grid) are written in full (shortest repr; NaN as empty).
    """
    frame = frame.assign(**{c: frame[c].map(lambda v: "" if pd.isna(v) else repr(float(v))) for c in exact})
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False, float_format="%.6g", lineterminator="\n")


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) else float(f"{value:.{JSON_DIGITS}g}")
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def write_json(obj: Any, path: str | Path) -> None:
    """Write ``obj`` as pretty, key-sorted JSON (NaN becomes null)."""
    text = json.dumps(_clean(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def read_json(path: str | Path) -> Any:
    """Read a JSON document written by :func:`write_json`."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptFileError(
            f"{path}: not readable JSON ({err}); the pipeline wrote it, so restore it with `dvc checkout {path}` "
            "or rebuild it with `dvc repro`"
        ) from None
