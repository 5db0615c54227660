"""CSV bytes -> an Arrow table with the canonical column names and the file line of every row.

pyarrow's multithreaded reader with typed columns is the fast path; only when something fails is the file re-read
as text to find the exact line and column to report.  Errors name the file, the line, the column and what to do.
A malformed *last* line (an interrupted download) is dropped and counted; a malformed line anywhere else is an
error.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from almanac.data_sources.columns import PRICE_COLUMNS, canonical_name, shown
from almanac.data_sources.vendors import VendorFormat
from almanac.errors import BarsError

MAX_LINE_BYTES = 1 << 16  # no bar line is anywhere near 64 KiB; a longer one is a corrupt file, not a bar
NUMERIC_KEYS = frozenset({*PRICE_COLUMNS, "volume", "up", "down"})


def read_csv_table(
    path: Path, fmt: VendorFormat, data: bytes, *, column_map: dict[str, str] | None
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
    header, names = _layout(path, fmt, first_line)
    end = len(data)
    last_start, last = _last_line(data, start)
    if (
        last
        and len(last.decode("utf-8", errors="replace").split(fmt.delimiter)) < len(names)
        and data.count(b"\n", start, last_start) > int(header)
    ):
        end = last_start  # an interrupted download: the last line stops mid-record
        repairs["truncated_last_line_dropped"] = 1
    canonical = [canonical_name(n, fmt, column_map) for n in names] if header else names
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
            f"{path}, line {line}: expected {len(names)} fields, got {len(bad_rows[0].split(fmt.delimiter))}: {shown(bad_rows[0])!r}; fix or remove the line"
        )
    table = table.rename_columns(canonical)
    return table, _record_lines(data, start, end, bool(header), table.num_rows) + lead, repairs


def _layout(path: Path, fmt: VendorFormat, first_line: str) -> tuple[bool, list[str]]:
    """Whether the file has a header line, and its column names, from its first line (refused when the
    delimiter or the header does not fit the format)."""
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
    return header, names


def _find_line(data: bytes, text: str) -> int:
    target = text.encode()
    for number, line in enumerate(data.splitlines(), start=1):
        if line.rstrip(b"\r") == target:
            return number
    return -1


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
    # No carriage return at all (memchr: a few ms) spares the second scan for "\n\r\n" (0.4 s on 400 MB).
    crlf = data.find(b"\r", start, end) >= 0
    if data.find(b"\n\n", start, end) < 0 and not (crlf and data.find(b"\n\r\n", start, end) >= 0):
        return np.arange(n_rows) + 1 + int(header)
    buf = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    newlines = np.flatnonzero(buf == ord("\n"))
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(buf)]])
    ends = ends - ((ends > starts) & (buf[np.maximum(ends - 1, 0)] == ord("\r")))
    return (np.flatnonzero(ends > starts) + 1)[int(header) : int(header) + n_rows]
