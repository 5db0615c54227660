"""Read one vendor file into raw bars with UTC bar-start timestamps and the file line of every row.

CSV goes through pyarrow's multithreaded reader with typed columns (the fast path); only when something fails
is the file re-read as text to find the exact line and column to report.  Errors name the file, the line, the
column and what to do.  A malformed *last* line (an interrupted download) is dropped and counted; a malformed
line anywhere else is an error.
"""

from __future__ import annotations

import dataclasses
import gzip
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from almanac.data_sources.vendors import FORMATS, VendorFormat
from almanac.errors import BarsError

PRICE_COLUMNS = ("open", "high", "low", "close")
MAX_ABS_VALUE = 1e9  # no futures price or one-minute volume comes near it: a larger number is a corrupt field
MAX_LINE_BYTES = 1 << 16  # no bar line is anywhere near 64 KiB; a longer one is a corrupt file, not a bar
# Magic numbers of compressed files that are refused (gzip is read).
_COMPRESSED = {b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"(\xb5/\xfd": "zstd"}
CANONICAL_KEYS = ("ts", "date", "time", "open", "high", "low", "close", "volume", "contract")


@dataclasses.dataclass
class RawBars:
    """Bars of one file before validation: ``ts`` (UTC bar start), OHLC, ``volume`` (float), ``contract``
    (str or missing), ``line`` (1-based line in the file); plus the repairs made while reading."""

    frame: pd.DataFrame
    repairs: dict[str, int]
    timezone: str
    stamp: str


RAW_ROOT = Path("data/raw")
"""Where the pipeline's vendor files live (``dvc add``-ed): the ``bars`` stage reads no file outside it."""


def confine(path: Path, root: Path | None, key: str) -> Path:
    """``path`` itself when ``root`` is None or when it resolves (links followed) to a file inside ``root``.

    Outside ``root`` a file is refused: DVC tracks the pipeline's inputs there, so a file read from elsewhere
    would change without ``dvc repro`` noticing and the outputs would go stale.
    """
    if root is None:
        return path
    resolved, inside = path.resolve(), root.resolve()
    if resolved == inside or inside in resolved.parents:
        return path
    link = f" (resolves to {resolved})" if resolved != path.absolute() else ""
    raise BarsError(
        f"{key}: {path}{link} is outside {root}/; the pipeline reads vendor files only from there, where DVC tracks "
        f"them: copy it under {root}/ and run `dvc add {root}/{path.name}`"
    )


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


def read_text_bytes(path: Path) -> bytes:
    """The bytes of a text file, gunzipped when the content is gzip (whatever the file is called); other
    compressed files are refused naming the compression."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise BarsError(
                f"{path}: gzip-compressed but cannot be unpacked ({err}); download the file again"
            ) from None
    for magic, kind in _COMPRESSED.items():
        if data.startswith(magic):
            raise BarsError(
                f"{path}: the file is {kind}-compressed; unpack it under data/raw/ and list the unpacked file"
            )
    return data


def _long_line(path: Path, data: bytes) -> None:
    """Refuse a line longer than :data:`MAX_LINE_BYTES` naming its 1-based line (a C-speed regex scan)."""
    match = re.search(rb"^[^\n]{%d}" % MAX_LINE_BYTES, data, re.MULTILINE)  # tried at line starts only: linear
    if match:
        line = data.count(b"\n", 0, match.start()) + 1
        raise BarsError(
            f"{path}, line {line}: the line is longer than {MAX_LINE_BYTES} bytes (a corrupt or binary file, "
            "not a bar); fix or remove the line"
        )


def _last_line(data: bytes, start: int) -> tuple[int, bytes]:
    """Where the last line of ``data[start:]`` begins (trailing newlines ignored) and its text; no copy of the body."""
    end = len(data)
    while end > start and data[end - 1 : end] in (b"\n", b"\r"):
        end -= 1
    cut = data.rfind(b"\n", start, end)
    return (cut + 1 if cut >= 0 else start), data[(cut + 1 if cut >= 0 else start) : end]


def _sniff_delimiter(line: str, expected: str) -> str | None:
    for candidate in (",", ";", "\t", "|"):
        if candidate != expected and line.count(candidate) >= 3 and line.count(expected) == 0:
            return candidate
    return None


def _record_lines(data: bytes, start: int, end: int, header: bool, n_rows: int) -> np.ndarray:
    """1-based line (counted from ``start``) of every record in ``data[start:end]``: the CSV reader skips empty
    lines, so only non-empty lines count.  Works on the bounds, without copying the file's bytes."""
    if data.find(b"\n\n", start, end) < 0 and data.find(b"\n\r\n", start, end) < 0:
        return np.arange(n_rows) + 1 + int(header)
    buf = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    newlines = np.flatnonzero(buf == ord("\n"))
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(buf)]])
    ends = ends - ((ends > starts) & (buf[np.maximum(ends - 1, 0)] == ord("\r")))
    return (np.flatnonzero(ends > starts) + 1)[int(header) : int(header) + n_rows]


NUMERIC_KEYS = frozenset({*PRICE_COLUMNS, "volume", "up", "down"})


def _read_csv(
    path: Path, fmt: VendorFormat, data: bytes, column_map: dict[str, str] | None
) -> tuple[pa.Table, np.ndarray, dict[str, int]]:
    """Parse CSV bytes; returns the table (canonical column names), the file line of every row and repairs.

    The fast path casts early: prices and volumes are read as float64 by Arrow's parser (the timestamps as
    text), so no text copy of the numbers is ever held.  If any field does not parse, the file is read again
    with every column as text, and the column checks name the first bad line.  The file's bytes are sliced by
    offsets, never copied.
    """
    repairs: dict[str, int] = {}
    start = re.match(rb"[\r\n]*", data).end()
    lead = data.count(b"\n", 0, start)  # blank lines before the first line of text
    text_head = data[start : start + 4096].decode("utf-8", errors="replace")
    first_line = text_head.splitlines()[0] if text_head.strip() else ""
    if not first_line.strip():
        raise BarsError(f"{path}: the file is empty; export the bars again")
    wrong = _sniff_delimiter(first_line, fmt.delimiter)
    if wrong is not None and fmt.name != "generic":
        raise BarsError(
            f"{path}, line 1: fields are separated by {wrong!r}, but the {fmt.name} format uses {fmt.delimiter!r}; check data.format"
        )
    looks_like_header = not any(ch.isdigit() for ch in first_line.split(fmt.delimiter)[0])
    header = fmt.header
    if header is None:  # detect: a header line has no digit in its first field
        header = looks_like_header
    elif header and not looks_like_header:
        raise BarsError(
            f"{path}, line 1: the header line is missing (line 1 is a bar: {first_line[:80]!r}); the {fmt.name} "
            "format needs a first line naming the columns"
            + (", mapped with data.columns" if fmt.name == "generic" else "; check data.format")
        )
    n_fields = len(first_line.split(fmt.delimiter))
    if header:
        names = [c.strip().strip('"').strip() for c in first_line.split(fmt.delimiter)]  # TradeStation quotes
    else:
        names = list(fmt.names)
        if fmt.name != "generic" and n_fields < len(names):
            raise BarsError(
                f"{path}, line 1: {n_fields} fields, the {fmt.name} format needs {len(names)} ({', '.join(names)})"
            )
        names += [f"extra_{i}" for i in range(n_fields - len(names))]
    end = len(data)
    last_start, last = _last_line(data, start)
    if (
        last
        and len(last.decode("utf-8", errors="replace").split(fmt.delimiter)) < len(names)
        and data.count(b"\n", start, last_start) > int(header)
    ):
        end = last_start  # an interrupted download: the last line stops mid-record
        repairs["truncated_last_line_dropped"] = 1
    canonical = [_canonical_name(n, fmt, column_map) for n in names] if header else names
    buffer = pa.py_buffer(data).slice(start, end - start)
    bad_rows: list[str] = []

    def on_invalid(row) -> str:
        bad_rows.append(row.text)
        return "skip"

    def read(types: dict[str, pa.DataType]) -> pa.Table:
        return pcsv.read_csv(
            buffer,
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1 if header else 0, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter=fmt.delimiter, invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )

    text = dict.fromkeys(names, pa.string())
    typed = {n: pa.float64() if c in NUMERIC_KEYS else pa.string() for n, c in zip(names, canonical, strict=True)}
    try:
        try:
            # Databento's fixed-point integer prices are told apart from decimals by their text: read as text.
            table = read(text if fmt.name == "databento" else typed)
        except pa.ArrowInvalid:
            bad_rows.clear()
            table = read(text)  # a field that is not a number: the column checks find its line
    except (pa.ArrowInvalid, UnicodeDecodeError) as err:
        _long_line(path, data)
        raise BarsError(f"{path}: not a readable {fmt.name} CSV file ({err}); export the bars again") from None
    if bad_rows:
        _long_line(path, data)
        line = _find_line(data[start:end], bad_rows[0]) + lead
        raise BarsError(
            f"{path}, line {line}: expected {len(names)} fields, got {len(bad_rows[0].split(fmt.delimiter))}: {_shown(bad_rows[0])!r}; fix or remove the line"
        )
    table = table.rename_columns(canonical)
    return table, _record_lines(data, start, end, bool(header), table.num_rows) + lead, repairs


def _find_line(data: bytes, text: str) -> int:
    target = text.encode()
    for number, line in enumerate(data.splitlines(), start=1):
        if line.rstrip(b"\r") == target:
            return number
    return -1


def _canonical_name(name: str, fmt: VendorFormat, column_map: dict[str, str] | None) -> str:
    if column_map is not None:
        reverse = {v: k for k, v in column_map.items()}
        return reverse.get(name, name)
    key = name.strip().lower().replace(" ", "_")
    aliases = {"last": "close" if fmt.name == "sierra" else "last", "vol": "volume", "totalvolume": "volume"}
    if fmt.ts_columns == ("datetime",):  # FirstRate's header names it 'timestamp'; others 'date_time'
        aliases.update(timestamp="datetime", date_time="datetime")
    return aliases.get(key, key)


def _require(table_columns: list[str], needed: list[str], path: Path, fmt: VendorFormat) -> None:
    missing = [c for c in needed if c not in table_columns]
    if missing:
        raise BarsError(
            f"{path}, line 1: missing column(s) {', '.join(missing)} for the {fmt.name} format; columns found: "
            f"{', '.join(table_columns)}"
            + ("; map them with data.columns" if fmt.name == "generic" else "; check data.format")
        )


def _numbers(column: pa.ChunkedArray, name: str, path: Path, lines: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
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
            f"{path}, line {lines[i]}, column {name}: {_shown(raw_text(i))!r} is not a plausible {name} (infinite or above "
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
            f"{path}, line {lines[i]}, column {name}: {_shown(raw[i])!r} is not a number; fix or remove the bar"
        )
    return values


def _shown(text: str) -> str:
    """A field as it may appear in a one-line message (long ones cut)."""
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _timestamps(
    table: pa.Table, fmt: VendorFormat, ts_format: str, path: Path, lines: np.ndarray, tz: str
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
        table = pq.read_table(path)
        table = table.rename_columns([_canonical_name(n, fmt, column_map) for n in table.column_names])
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
    else:
        data = read_text_bytes(path)
        table, lines, repairs = _read_csv(path, fmt, data, column_map)
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
    _require(table.column_names, [*ts_needed, *PRICE_COLUMNS, *volume_cols], path, fmt)
    if fmt_name == "databento":
        table = table.rename_columns(["ts" if n == "ts_event" else n for n in table.column_names])
    if "ts" in table.column_names and pa.types.is_timestamp(table.column("ts").type):
        ts = pd.DatetimeIndex(table.column("ts").to_pandas()).as_unit("ns")
    else:
        ts = _timestamps(table, fmt, ts_format, path, lines, tz)
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
        frame[name] = _numbers(table.column(name), name, path, lines, scale=scale)
        table = table.drop_columns([name])
    frame["volume"] = sum(_numbers(table.column(c), c, path, lines) for c in volume_cols)
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
