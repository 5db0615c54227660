"""The columns of a vendor file: their names and their values.

Names: the generic format's ``data.columns`` mapping, each vendor's header aliases (Sierra's ``Last`` is the close),
the columns a format requires.  Values: text or parsed columns -> float64 numbers and timestamps (naive local, or
UTC where the text carries offsets) -> UTC.  Errors name the file, the line, the column and what to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from almanac.data_sources.vendors import VendorFormat
from almanac.errors import BarsError

PRICE_COLUMNS = ("open", "high", "low", "close")
MAX_ABS_VALUE = 1e9  # no futures price or one-minute volume comes near it: a larger number is a corrupt field
CANONICAL_KEYS = ("ts", "date", "time", "open", "high", "low", "close", "volume", "contract")


def parse_column_map(text: str) -> dict[str, str]:
    """``'ts=Datetime,open=Open,...'`` -> ``{'ts': 'Datetime', 'open': 'Open', ...}`` (generic format)."""
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key not in CANONICAL_KEYS or not value:
            raise BarsError(
                f"data.columns: {part!r} must be <canonical>=<file column> with canonical one of {', '.join(CANONICAL_KEYS)}"
            )
        mapping[key] = value
    missing = [k for k in (*PRICE_COLUMNS, "volume") if k not in mapping]
    if "ts" not in mapping and not {"date", "time"} <= set(mapping):
        missing.insert(0, "ts (or date and time)")
    if missing:
        raise BarsError(
            f"data.columns: missing {', '.join(missing)}; e.g. 'ts=Datetime,open=Open,high=High,low=Low,close=Close,volume=Volume'"
        )
    return mapping


def canonical_name(name: str, fmt: VendorFormat, column_map: dict[str, str] | None) -> str:
    """The canonical key of the file column ``name``: by ``column_map`` (generic format) or the vendor's aliases."""
    if column_map is not None:
        reverse = {v: k for k, v in column_map.items()}
        return reverse.get(name, name)
    key = name.strip().lower().replace(" ", "_")
    aliases = {"last": "close" if fmt.name == "sierra" else "last", "vol": "volume", "totalvolume": "volume"}
    if fmt.ts_columns == ("datetime",):  # FirstRate's header names it 'timestamp'; others 'date_time'
        aliases.update(timestamp="datetime", date_time="datetime")
    return aliases.get(key, key)


def require_columns(table_columns: list[str], needed: list[str], path: Path, *, fmt: VendorFormat) -> None:
    """Refuse a file without every column of ``needed``, naming those missing and those found."""
    missing = [c for c in needed if c not in table_columns]
    if missing:
        raise BarsError(
            f"{path}, line 1: missing column(s) {', '.join(missing)} for the {fmt.name} format; columns found: "
            f"{', '.join(table_columns)}"
            + ("; map them with data.columns" if fmt.name == "generic" else "; check data.format")
        )


def read_numbers(
    column: pa.ChunkedArray, name: str, path: Path, *, lines: np.ndarray, scale: float = 1.0
) -> np.ndarray:
    """Text column -> float64 (divided by ``scale``).  Arrow's cast is the fast path; only when it fails is the
    column re-parsed to find the first line that is not a number.  Infinite or absurdly large values (an
    overflowed or corrupt field) are an error naming the line."""
    if pa.types.is_floating(column.type):  # parsed by the CSV reader already (nulls: missing values)
        values = pc.fill_null(column, np.nan).to_numpy()
    else:
        try:
            values = pc.cast(pc.utf8_trim_whitespace(column), pa.float64()).to_numpy(zero_copy_only=False)
            values = values.astype(np.float64, copy=False)  # object with None where a field was empty
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = _parse_numbers(column, name, path, lines)
    if scale != 1.0:
        # Divide (exact for tick prices), never multiply by 1/scale (off by one ulp for e.g. 4000.25).
        values = values / scale
    absurd = np.abs(values) > MAX_ABS_VALUE  # inf too; NaN (a missing value) is reported later, as missing

    def raw_text(i: int) -> str:  # the field as written, or as the CSV reader parsed it
        return f"{values[i] * scale:g}" if pa.types.is_floating(column.type) else str(column[i])

    if absurd.any():
        i = int(np.flatnonzero(absurd)[0])
        raise BarsError(
            f"{path}, line {lines[i]}, column {name}: {shown(raw_text(i))!r} is not a plausible {name} (infinite or above "
            f"{MAX_ABS_VALUE:.0e}); fix or remove the bar"
        )
    return values.astype(np.float64, copy=False)


def _parse_numbers(column: pa.ChunkedArray, name: str, path: Path, lines: np.ndarray) -> np.ndarray:
    values = pd.to_numeric(pd.Series(column.to_numpy(zero_copy_only=False)).str.strip(), errors="coerce").to_numpy(
        dtype=np.float64
    )
    raw = column.to_numpy(zero_copy_only=False)
    bad = np.isnan(values) & ~np.isin(raw, ["nan", "NaN", "", "null", "NA"])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BarsError(
            f"{path}, line {lines[i]}, column {name}: {shown(raw[i])!r} is not a number; fix or remove the bar"
        )
    return values


def shown(text: str) -> str:
    """A field as it may appear in a one-line message (long ones cut)."""
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def read_timestamps(
    table: pa.Table, fmt: VendorFormat, ts_format: str, *, path: Path, lines: np.ndarray, tz: str
) -> pd.DatetimeIndex:
    """Naive local (or UTC-aware, when the text carries offsets) timestamps of every row.

    ISO 8601 text with UTC offsets must carry one on every line, each equal to the offset of ``tz`` (the
    declared data.timezone) at that instant: mixed or inconsistent offsets are an error naming the line.
    """
    cols = [c for c in fmt.ts_columns] if "ts" not in table.column_names else ["ts"]
    if fmt.name == "generic" and "ts" not in table.column_names:
        cols = ["date", "time"]
    text = (
        table.column(cols[0])
        if len(cols) == 1
        else pc.binary_join_element_wise(table.column(cols[0]), table.column(cols[1]), " ")
    )
    text = pc.utf8_trim_whitespace(text)
    formats = (ts_format,) if ts_format else fmt.ts_formats
    for candidate in formats:
        parsed = pc.strptime(text, format=candidate, unit="s", error_is_null=True)
        if parsed.null_count == 0:
            return pd.DatetimeIndex(parsed.to_numpy(zero_copy_only=False)).as_unit("ns")
    raw = pd.Series(text.to_numpy(zero_copy_only=False))
    if not formats:  # ISO 8601 text or integer nanoseconds (Databento)
        if raw.str.fullmatch(r"\d{15,}").all():
            return pd.DatetimeIndex(raw.astype("int64").to_numpy(), tz="UTC").as_unit("ns")
        has_offset = pc.match_substring_regex(text, r"(?:Z|[+-]\d\d:?\d\d)$").to_numpy(zero_copy_only=False)
        if has_offset.any() and not has_offset.all():
            i, j = int(np.flatnonzero(~has_offset)[0]), int(np.flatnonzero(has_offset)[0])
            raise BarsError(
                f"{path}, line {lines[i]}, column {'/'.join(cols)}: {raw.iloc[i]!r} has no UTC offset, but line "
                f"{lines[j]} has one ({raw.iloc[j]!r}); write every timestamp with its offset or none"
            )
        parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=bool(has_offset.any()))
        if parsed.notna().all():
            index = pd.DatetimeIndex(parsed).as_unit("ns")
            if has_offset.any():
                _check_offsets(index, text, tz, path, lines, "/".join(cols), raw)
            return index
        bad = int(np.flatnonzero(parsed.isna().to_numpy())[0])
    else:
        best = pc.strptime(text, format=formats[0], unit="s", error_is_null=True)
        bad = int(np.flatnonzero(pd.isna(best.to_numpy(zero_copy_only=False)))[0])
    shown = ", ".join(formats) if formats else "ISO 8601"
    raise BarsError(
        f"{path}, line {lines[bad]}, column {'/'.join(cols)}: {raw.iloc[bad]!r} is not a timestamp ({shown}); fix the line or set data.ts_format"
    )


def _check_offsets(
    index: pd.DatetimeIndex, text: pa.ChunkedArray, tz: str, path: Path, lines: np.ndarray, column: str, raw: pd.Series
) -> None:
    """Each written UTC offset (``Z``, ``-05:00``) must be ``tz``'s offset at that instant."""
    parts = pc.extract_regex(text, r"(?P<sign>[+-])(?P<hh>\d\d):?(?P<mm>\d\d)$")  # null for 'Z'
    hours, minutes = (pc.cast(pc.struct_field(parts, [k]), pa.int64()) for k in (1, 2))
    size = pc.fill_null(pc.add(pc.multiply(hours, 60), minutes), 0).to_numpy()
    negative = pc.fill_null(pc.equal(pc.struct_field(parts, [0]), "-"), False).to_numpy(zero_copy_only=False)
    written = np.where(negative, -size, size)
    naive_utc = index.tz_localize(None)
    expected = ((index.tz_convert(tz).tz_localize(None) - naive_utc) // pd.Timedelta(minutes=1)).to_numpy()
    wrong = written != expected
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise BarsError(
            f"{path}, line {lines[i]}, column {column}: {raw.iloc[i]!r} has UTC offset {int(written[i]):+d} min, but "
            f"data.timezone {tz} is at {int(expected[i]):+d} min at that instant (mixed or wrong offsets); set "
            "data.timezone to the zone the file was written in, or fix the line"
        )


def localize(naive: pd.DatetimeIndex, tz: str, *, path: Path, lines: np.ndarray) -> pd.DatetimeIndex:
    """Local wall-clock times -> UTC; ambiguous or nonexistent local times (DST changes) raise naming the line."""
    if naive.tz is not None:
        return naive.tz_convert("UTC")
    try:
        return naive.tz_localize(tz, ambiguous="raise", nonexistent="raise").tz_convert("UTC")
    except Exception as err:  # pytz/zoneinfo raise several types; report them all the same way
        trial = naive.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        i = int(np.flatnonzero(trial.isna())[0]) if trial.isna().any() else 0
        kind = (
            "does not exist (clocks jump forward)"
            if "nonexistent" in type(err).__name__.lower() or "exist" in str(err)
            else "is ambiguous (clocks fall back)"
        )
        raise BarsError(
            f"{path}, line {lines[i]}, column ts: local time {naive[i]} {kind} in {tz}; ES does not trade then, so the "
            "timezone (data.timezone) or the timestamps are wrong"
        ) from None
