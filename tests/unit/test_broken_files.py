"""A corpus of broken vendor files: each gives a clear error or a documented, counted repair.

Every file is written by the test.  Errors are :class:`BarsError` whose message names the file, the line (asserted
exactly), the column where one applies and what to do.  Repairs (identical duplicates, unsorted rows, zero-volume
bars, a truncated last line) are counted in ``manifest['repairs']``.

Decided behaviour for mixed timezones: ISO 8601 timestamps that carry UTC offsets must carry one on every line,
and each offset must equal the declared ``data.timezone``'s offset at that instant; otherwise the load fails naming
the first offending line (a file that mixes offsets is not trusted to be in any one zone).
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from almanac.config import DataParams
from almanac.data_sources.files import build_file_dataset
from almanac.data_sources.validation import BarsError
from almanac.errors import AlmanacWarning
from helpers import files_params

# Six valid FirstRate lines (US Eastern, bar start), line numbers 1..6.
GOOD = [
    "2024-03-07 09:30:00,4000.25,4003.00,3999.50,4002.75,14875",
    "2024-03-07 09:31:00,4002.75,4003.25,4001.00,4001.50,9640",
    "2024-03-07 09:32:00,4001.50,4002.00,4000.25,4001.75,7012",
    "2024-03-07 09:33:00,4001.75,4002.50,4001.25,4002.25,6120",
    "2024-03-07 09:34:00,4002.25,4002.75,4001.75,4002.00,5874",
    "2024-03-07 09:35:00,4002.00,4002.25,4000.75,4001.00,6301",
]


def write(tmp_path: Path, lines: list[str], name: str = "ES_1min.txt", end: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + end).encode())
    return path


def firstrate(path: Path | str, **kwargs) -> DataParams:
    return files_params(symbol="ES", paths=str(path), format=kwargs.pop("format", "firstrate"), **kwargs)


def replaced(number: int, line: str, lines: list[str] = GOOD) -> list[str]:
    """``lines`` with line ``number`` (1-based) replaced."""
    out = list(lines)
    out[number - 1] = line
    return out


def error(source: DataParams) -> str:
    with pytest.raises(BarsError) as info:
        build_file_dataset(source)
    return str(info.value)


def assert_names(message: str, path: Path, *parts: str) -> None:
    assert message.startswith(f"{path}, "), message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


def test_the_good_file_loads(tmp_path):
    dataset = build_file_dataset(firstrate(write(tmp_path, GOOD)))
    assert len(dataset.bars) == 6
    assert dataset.manifest["repairs"] == {}


# --- unreadable files ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\r\n"], ids=["zero-bytes", "blank-lines", "crlf"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "ES_1min.txt"
    path.write_bytes(content)
    message = error(firstrate(path))
    assert message == f"{path}: the file is empty; export the bars again"


@pytest.mark.parametrize(
    ("fmt", "header", "kwargs"),
    [
        ("kibot", "Date,Time,Open,High,Low,Close,Volume", {}),
        ("tradestation", '"Date","Time","Open","High","Low","Close","Up","Down"', {"timezone": "America/Chicago"}),
    ],
)
def test_header_only(tmp_path, fmt, header, kwargs):
    path = write(tmp_path, [header])
    message = error(firstrate(path, format=fmt, **kwargs))
    assert message == f"{path}: only a header, no bars; export the bars again"


def test_wrong_delimiter(tmp_path):
    path = write(tmp_path, [line.replace(",", ";") for line in GOOD])
    message = error(firstrate(path))
    assert_names(message, path, "line 1:", "separated by ';'", "firstrate format uses ','", "check data.format")


def test_too_few_columns_for_the_format(tmp_path):
    path = write(tmp_path, [line.rsplit(",", 1)[0] for line in GOOD])  # volume missing everywhere
    message = error(firstrate(path))
    assert_names(message, path, "line 1:", "5 fields, the firstrate format needs 6")


def test_missing_column_in_the_generic_map(tmp_path):
    lines = ["Datetime,Open,High,Low,Close,Vol", *GOOD]
    path = write(tmp_path, lines, name="bars.csv")
    source = files_params(
        "ES", str(path), "generic", timezone="America/New_York", timestamp="start",
        columns="ts=Datetime,open=Open,high=High,low=Low,close=Close,volume=Volume",
    )  # fmt: skip
    message = error(source)
    assert_names(message, path, "line 1:", "missing column(s) volume", "columns found:", "map them with data.columns")


def test_tradestation_header_without_up(tmp_path):
    lines = [
        '"Date","Time","Open","High","Low","Close","Down"',
        "03/07/2024,08:31,4000.25,4003.00,3999.50,4002.75,7000",
    ]
    path = write(tmp_path, lines)
    message = error(firstrate(path, format="tradestation", timezone="America/Chicago"))
    assert_names(message, path, "line 1:", "missing column(s) up for the tradestation format", "check data.format")


def test_malformed_column_map_names_data_columns(tmp_path):
    path = write(tmp_path, ["Datetime,Open,High,Low,Close,Volume", *GOOD], name="bars.csv")
    source = files_params(
        "ES", str(path), "generic", timezone="UTC", timestamp="start", columns="ts=Datetime,price=Close"
    )
    with pytest.raises(BarsError, match=r"^data\.columns: 'price=Close' must be <canonical>=<file column>"):
        build_file_dataset(source)


# --- bad values ---------------------------------------------------------------------------------------------------


def test_unparseable_time(tmp_path):
    path = write(tmp_path, replaced(4, "2024-03-07 09:3x:00,4001.75,4002.50,4001.25,4002.25,6120"))
    message = error(firstrate(path))
    assert_names(
        message, path, "line 4, column datetime: '2024-03-07 09:3x:00' is not a timestamp", "set data.ts_format"
    )


def test_unparseable_date_with_a_header_counts_the_header_line(tmp_path):
    lines = [
        "Date,Time,Open,High,Low,Close,Volume",
        "03/07/2024,09:30,4000.25,4003.00,3999.50,4002.75,14875",
        "03/32/2024,09:31,4002.75,4003.25,4001.00,4001.50,9640",
    ]
    path = write(tmp_path, lines)
    message = error(firstrate(path, format="kibot"))
    assert_names(message, path, "line 3, column date/time: '03/32/2024 09:31' is not a timestamp")


def test_not_a_number(tmp_path):
    path = write(tmp_path, replaced(5, "2024-03-07 09:34:00,4002.25,4002.75,abc,4002.00,5874"))
    message = error(firstrate(path))
    assert_names(message, path, "line 5, column low: 'abc' is not a number", "fix or remove the bar")


def test_conflicting_duplicate_names_both_lines(tmp_path):
    path = write(tmp_path, [*GOOD[:4], GOOD[1].replace(",4001.50,9640", ",4001.75,9640"), GOOD[5]])
    message = error(firstrate(path))
    assert_names(message, path, "line 5, column ts:", "appears twice with different values", f"also {path} line 2")
    assert "remove one copy" in message


def test_conflicting_duplicate_across_two_files_names_both(tmp_path):
    first = write(tmp_path, GOOD[:3], name="ES_part1.txt")
    second = write(tmp_path, [GOOD[2].replace(",7012", ",7013"), *GOOD[3:]], name="ES_part2.txt")
    message = error(firstrate(f"{first},{second}"))
    assert_names(message, second, "line 1, column ts:", f"also {first} line 3", "split overlapping files")


def test_identical_duplicate_is_removed_and_counted(tmp_path):
    path = write(tmp_path, [*GOOD[:2], GOOD[1], *GOOD[2:]])
    dataset = build_file_dataset(firstrate(path))
    assert dataset.manifest["repairs"] == {"duplicate_bars_removed": 1}
    assert len(dataset.bars) == 6


def test_overlapping_files_with_identical_bars(tmp_path):
    """Two exports overlapping by two bars: the copies are removed; the overlap is also counted as reordering
    (in the concatenated input, the second file's first bars come after later bars of the first file)."""
    first = write(tmp_path, GOOD[:4], name="ES_part1.txt")
    second = write(tmp_path, GOOD[2:], name="ES_part2.txt")
    dataset = build_file_dataset(firstrate(f"{first},{second}"))
    assert dataset.manifest["repairs"] == {"duplicate_bars_removed": 2, "rows_reordered": 2}
    assert dataset.manifest["files"] == {str(first): 4, str(second): 4}
    assert len(dataset.bars) == 6
    assert dataset.bars["ts"].is_monotonic_increasing


def test_high_below_low(tmp_path):
    path = write(tmp_path, replaced(3, "2024-03-07 09:32:00,4001.50,4000.25,4002.00,4001.75,7012"))
    message = error(firstrate(path))
    assert_names(message, path, "line 3, column high: high is below low (value 4000.25)", "fix or remove the bar")


def test_high_below_close(tmp_path):
    path = write(tmp_path, replaced(2, "2024-03-07 09:31:00,4002.75,4003.25,4001.00,4003.50,9640"))
    message = error(firstrate(path))
    assert_names(message, path, "line 2, column high: high is below open or close")


@pytest.mark.parametrize("missing", ["nan", "", "NaN", "null"])
def test_missing_price(tmp_path, missing):
    path = write(tmp_path, replaced(4, f"2024-03-07 09:33:00,4001.75,4002.50,4001.25,{missing},6120"))
    message = error(firstrate(path))
    assert_names(message, path, "line 4, column close: missing price", "fix or remove the bar")


def test_negative_volume(tmp_path):
    path = write(tmp_path, replaced(2, "2024-03-07 09:31:00,4002.75,4003.25,4001.00,4001.50,-9640"))
    message = error(firstrate(path))
    assert_names(message, path, "line 2, column volume: volume is negative (value -9640.0)", "fix or remove the bar")


def test_non_integer_volume(tmp_path):
    path = write(tmp_path, replaced(6, "2024-03-07 09:35:00,4002.00,4002.25,4000.75,4001.00,63.5"))
    message = error(firstrate(path))
    assert_names(message, path, "line 6, column volume: volume must be a whole number of contracts (value 63.5)")


def test_off_grid_price(tmp_path):
    path = write(tmp_path, replaced(3, "2024-03-07 09:32:00,4000.10,4002.00,4000.00,4001.75,7012"))
    message = error(firstrate(path))
    assert_names(message, path, "line 3, column open: price is not on the 0.25 tick grid (value 4000.1)")


def test_unknown_contract_code(tmp_path):
    header = "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol"
    lines = [
        header,
        "2024-03-07T14:30:00.000000000Z,33,1,5002,4000.25,4003.00,3999.50,4002.75,14875,ESH4",
        "2024-03-07T14:31:00.000000000Z,33,1,5002,4002.75,4003.25,4001.00,4001.50,9640,ESX4",
    ]
    path = write(tmp_path, lines, name="glbx.csv")
    message = error(firstrate(path, format="databento"))
    assert_names(
        message,
        path,
        "line 3, column contract: 'ESX4' (1 row) is not an outright ES contract code; expected the root, "
        "a month of HMUZ and the year, like ESH24, ESH4, ESH2024 or 'ES 03-24'",
    )


# --- repairs ------------------------------------------------------------------------------------------------------


def test_unsorted_rows_are_reordered_and_counted(tmp_path):
    path = write(tmp_path, [GOOD[0], GOOD[2], GOOD[1], *GOOD[3:]])
    dataset = build_file_dataset(firstrate(path))
    assert dataset.manifest["repairs"] == {"rows_reordered": 2}  # the rows that moved
    expected = build_file_dataset(firstrate(write(tmp_path, GOOD, name="sorted.txt"))).bars
    pd.testing.assert_frame_equal(dataset.bars, expected)


def test_zero_volume_bar_is_dropped_and_counted(tmp_path):
    path = write(tmp_path, replaced(4, "2024-03-07 09:33:00,4001.75,4001.75,4001.75,4001.75,0"))
    dataset = build_file_dataset(firstrate(path))
    assert dataset.manifest["repairs"] == {"zero_volume_bars_dropped": 1}
    assert len(dataset.bars) == 5
    assert (dataset.bars["volume"] > 0).all()


@pytest.mark.parametrize("end", ["", "\n"], ids=["no-newline", "newline"])
def test_truncated_last_line_is_dropped_and_counted(tmp_path, end):
    path = write(tmp_path, [*GOOD, "2024-03-07 09:36:00,4001.00,40"], end=end)
    dataset = build_file_dataset(firstrate(path))
    assert dataset.manifest["repairs"] == {"truncated_last_line_dropped": 1}
    assert len(dataset.bars) == 6


def test_malformed_line_in_the_middle_is_an_error(tmp_path):
    path = write(tmp_path, replaced(3, "2024-03-07 09:32:00,4001.50,40"))
    message = error(firstrate(path))
    assert_names(message, path, "line 3: expected 6 fields, got 3", "fix or remove the line")


def test_extra_field_in_the_middle_is_an_error(tmp_path):
    path = write(tmp_path, replaced(5, GOOD[4] + ",1"))
    message = error(firstrate(path))
    assert_names(message, path, "line 5: expected 6 fields, got 7")


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    lines = ["", *GOOD[:2], "", *replaced(4, "2024-03-07 09:33:00,4001.75,4002.50,4001.25,4002.30,6120")[2:]]
    path = write(tmp_path, lines)
    message = error(firstrate(path))  # GOOD line 4 is now file line 6 (blank lines 1 and 4)
    assert_names(message, path, "line 6, column close: price is not on the 0.25 tick grid")
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert_names(error(firstrate(crlf)), crlf, "line 6, column close")


# --- timezones and stamps -----------------------------------------------------------------------------------------


def test_ambiguous_local_time(tmp_path):
    lines = [
        "2023-11-03 15:58:00,4341.25,4341.50,4340.75,4341.00,8120",  # Friday
        "2023-11-03 15:59:00,4341.00,4342.00,4340.50,4341.75,9310",
        "2023-11-05 01:30:00,4345.00,4345.25,4344.75,4345.00,120",  # clocks fall back: 01:30 happens twice
    ]
    path = write(tmp_path, lines)
    message = error(firstrate(path))
    assert_names(message, path, "line 3, column ts: local time 2023-11-05 01:30:00 is ambiguous", "data.timezone")


def test_nonexistent_local_time(tmp_path):
    lines = [
        "2024-03-08 15:59:00,5125.50,5126.00,5123.75,5124.00,12411",
        "2024-03-10 02:30:00,5130.25,5131.50,5129.00,5131.00,2104",  # clocks jump from 02:00 to 03:00
        "2024-03-10 18:00:00,5130.25,5131.50,5129.00,5131.00,2104",
    ]
    path = write(tmp_path, lines)
    message = error(firstrate(path))
    assert_names(message, path, "line 2, column ts: local time 2024-03-10 02:30:00 does not exist", "data.timezone")


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("2024-03-10 02:30:00", "line 1, column ts: local time 2024-03-10 02:30:00 does not exist"),
        ("2023-11-05 01:30:00", "line 1, column ts: local time 2023-11-05 01:30:00 is ambiguous"),
    ],
)
def test_dst_error_names_the_first_bad_line_and_its_own_kind(tmp_path, first, expected):
    """A file with both kinds of DST trouble: the message describes the first bad line, with that line's kind."""
    other = "2023-11-05 01:30:00" if first.startswith("2024") else "2024-03-10 02:30:00"
    lines = [f"{first},5130.25,5131.50,5129.00,5131.00,2104", f"{other},4345.00,4345.25,4344.75,4345.00,120"]
    assert expected in error(firstrate(write(tmp_path, lines)))


GENERIC_ISO = "ts=Time,open=Open,high=High,low=Low,close=Close,volume=Volume"
ISO_LINES = [
    "Time,Open,High,Low,Close,Volume",
    "2024-03-08T09:30:00-05:00,5170.00,5173.75,5166.25,5168.00,16230",
    "2024-03-08T09:31:00-05:00,5168.00,5169.00,5167.25,5168.75,9102",
    "2024-03-11T09:30:00-04:00,5119.75,5121.00,5113.25,5114.50,15003",  # after the DST change
    "2024-03-11T09:31:00-04:00,5114.50,5116.25,5112.00,5116.00,8870",
]


def _iso_source(path: Path, tz: str = "America/New_York") -> DataParams:
    return files_params("ES", str(path), "generic", timezone=tz, timestamp="start", columns=GENERIC_ISO)


def test_iso_offsets_that_match_the_declared_zone_load(tmp_path):
    bars = build_file_dataset(_iso_source(write(tmp_path, ISO_LINES, name="bars.csv"))).bars
    assert bars["ts"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2024-03-08 14:30",
        "2024-03-08 14:31",
        "2024-03-11 13:30",
        "2024-03-11 13:31",
    ]


def test_mixed_utc_offsets_are_an_error(tmp_path):
    lines = replaced(4, "2024-03-08T14:32:00+00:00,5168.75,5169.00,5167.25,5168.50,7001", ISO_LINES)
    path = write(tmp_path, lines, name="bars.csv")
    message = error(_iso_source(path))
    assert_names(
        message,
        path,
        "line 4, column ts: '2024-03-08T14:32:00+00:00' has UTC offset +0 min",
        "data.timezone America/New_York is at -300 min",
        "set data.timezone",
    )


def test_offsets_of_another_zone_are_an_error(tmp_path):
    """A constant -05:00 is New York only in winter: after 2024-03-10 it is not the declared zone's offset."""
    lines = [ISO_LINES[0], ISO_LINES[1], ISO_LINES[3].replace("09:30:00-04:00", "08:30:00-05:00")]
    path = write(tmp_path, lines, name="bars.csv")
    message = error(_iso_source(path))
    assert_names(message, path, "line 3, column ts:", "offset -300 min", "America/New_York is at -240 min")
    assert "line 2" in error(_iso_source(path, tz="UTC"))


def test_offsets_on_some_lines_only_are_an_error(tmp_path):
    lines = replaced(3, "2024-03-08T09:31:00,5168.00,5169.00,5167.25,5168.75,9102", ISO_LINES)
    path = write(tmp_path, lines, name="bars.csv")
    message = error(_iso_source(path))
    assert_names(message, path, "line 3, column ts: '2024-03-08T09:31:00' has no UTC offset, but line 2 has one")


def _opening_minutes(stamp_shift: int) -> list[str]:
    """FirstRate lines for 09:25-09:40 ET on four trade dates, the cash-open spike in the bar starting at 09:30;
    ``stamp_shift`` minutes are added to every stamp (1 = the vendor stamped bar ends)."""
    lines = []
    for day in ("2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"):
        for minute in range(25, 41):
            start = pd.Timestamp(f"{day} 09:{minute:02d}") + pd.Timedelta(minutes=stamp_shift)
            volume = {30: 15_000, 31: 9_000}.get(minute, 1_000 + 10 * minute)
            lines.append(f"{start:%Y-%m-%d %H:%M:%S},5000.00,5001.00,4999.00,5000.50,{volume}")
    return lines


def test_end_stamped_data_declared_as_start_is_refused(tmp_path):
    path = write(tmp_path, _opening_minutes(stamp_shift=1))
    with pytest.raises(BarsError) as info:
        build_file_dataset(firstrate(path))
    assert str(info.value) == (
        f"{path}: the 09:30 ET cash-open volume spike is one minute late (median volume by bar: 09:28 1,270, 09:29 1,280, "
        f"09:30 1,290, 09:31 15,000; {path} 2024-03: looks end-stamped): the stamps were read as bar starts but look "
        "like bar ends, and a one-minute shift is look-ahead at the cutoff. Check data.timestamp (start or end) and "
        "data.timezone; or set data.stamp_check: warn to accept it (recorded in the manifest)"
    )


def test_start_stamped_data_declared_as_end_is_refused(tmp_path):
    path = write(tmp_path, _opening_minutes(stamp_shift=0))
    with pytest.raises(BarsError, match=r"one minute early .*read as bar ends but look like bar starts"):
        build_file_dataset(firstrate(path, timestamp="end"))


def test_a_stamp_accepted_with_warn_is_recorded_not_forgotten(tmp_path):
    path = write(tmp_path, _opening_minutes(stamp_shift=1))
    with pytest.warns(AlmanacWarning, match="TIMESTAMP CONVENTION LOOKS WRONG") as record:
        dataset = build_file_dataset(firstrate(path, stamp_check="warn"))
    check = dataset.manifest["stamp_check"]
    assert check["verdict"] == "looks end-stamped" and check["days"] == 4 and check["median_volume_0931"] == 15_000
    (warning,) = dataset.manifest["warnings"]
    assert "one minute late" in warning and warning.endswith("(accepted: data.stamp_check: warn)")
    (warned,) = [w for w in record if issubclass(w.category, AlmanacWarning)]
    assert str(warned.message) == f"TIMESTAMP CONVENTION LOOKS WRONG: {warning}"


def test_start_stamped_data_passes_the_stamp_check_quietly(tmp_path):
    path = write(tmp_path, _opening_minutes(stamp_shift=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", AlmanacWarning)
        dataset = build_file_dataset(firstrate(path))
    assert dataset.manifest["stamp_check"]["verdict"] == "ok"


def test_declaring_end_fixes_the_end_stamped_file(tmp_path):
    path = write(tmp_path, _opening_minutes(stamp_shift=1))
    dataset = build_file_dataset(firstrate(path, timestamp="end"))
    assert dataset.manifest["stamp_check"]["verdict"] == "ok"
    assert dataset.manifest["timestamp_convention"].startswith("files stamp bar end")


# --- paths --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["nothing_*.csv", "missing.csv"])
def test_path_matching_nothing(tmp_path, pattern):
    spec = str(tmp_path / pattern)
    message = error(firstrate(spec))
    assert message.startswith(f"data.paths: {spec!r} matches no file")
    assert "data/raw/" in message


def test_volume_stays_integer_after_repairs(tmp_path):
    path = write(tmp_path, [GOOD[1], GOOD[0], *GOOD[2:], GOOD[5]])
    bars = build_file_dataset(firstrate(path)).bars
    assert bars["volume"].dtype == np.int64


def test_roll_to_a_contract_without_bars(tmp_path):
    """Per-contract Kibot files (the contract in the file name): the calendar roll moves to ESM24 on 2024-03-07,
    but the ESM24 file has no bar that day."""
    march = write(
        tmp_path,
        [
            "03/06/2024,09:30,5100.00,5101.00,5099.00,5100.50,100",
            "03/07/2024,09:30,5100.00,5101.00,5099.00,5100.50,100",
            "03/08/2024,09:30,5100.00,5101.00,5099.00,5100.50,100",
        ],
        name="ESH24.txt",
    )
    june = write(
        tmp_path,
        ["03/06/2024,09:30,5160.00,5161.00,5159.00,5160.50,50", "03/08/2024,09:30,5160.00,5161.00,5159.00,5160.50,90"],
        name="ESM24.txt",
    )
    message = error(firstrate(f"{march},{june}", format="kibot"))
    assert message.startswith("data.roll 'calendar': the calendar roll picks a contract with no bars on: 2024-03-07")
    assert str(june) in message and "use the other data.roll rule" in message


def test_an_accepted_stamp_warning_is_shown_by_info_the_report_and_the_lab(tmp_path, capsys):
    """The manifest keeps the warning (in git: dvc.yaml commits it), and every place that shows a run shows it."""
    from almanac.cli import main as cli_main
    from almanac.data_sources.store import write_json, write_table
    from almanac.report import load_run, markdown, warnings
    from almanac.sessions import build_sessions

    path = write(tmp_path, _opening_minutes(stamp_shift=1))
    dataset = build_file_dataset(firstrate(path, stamp_check="warn"))
    (warning,) = dataset.manifest["warnings"]
    root = tmp_path / "repo"
    write_json(dataset.manifest, root / "data" / "bars" / "manifest.json")
    sessions = build_sessions(dataset.bars, dt.time(10, 15), dataset.manifest["rolls"])
    write_table(sessions, root / "data" / "sessions.parquet")
    assert cli_main(["--data-dir", str(root / "data"), "info"]) == 0
    assert f"WARNING: {warning}" in capsys.readouterr().out
    for name, content in (("train", {}), ("evaluate", {}), ("backtest", {})):
        write_json(content, root / "metrics" / f"{name}.json")
    (root / "params.yaml").write_text("data:\n  source: files\n  paths: data/raw/ES.txt\n")
    run = load_run(root)
    assert f"Data: {warning}" in warnings(run)  # the ML Lab shows warnings(run) at the top of the page
    assert f"> **Warning:** Data: {warning}" in markdown(run)


def test_the_stamp_check_defaults_to_the_bars_instruments_open():
    """Without ``open_minute`` the check looks for the jump at the RTH open of the bars' own instrument (CL opens
    at 09:00 ET, not at the equity indices' 09:30)."""
    from almanac.data_sources.stamp_checks import stamp_check

    rows = [
        (pd.Timestamp(day, tz="America/New_York") + pd.Timedelta(minutes=m), 100 if m >= 540 else 10, day)
        for day in pd.bdate_range("2024-03-04", periods=20)
        for m in range(530, 580)  # 08:50-09:39 ET
    ]
    bars = pd.DataFrame(rows, columns=["ts", "volume", "trade_date"]).assign(contract="CLM24")
    bars["ts"] = bars["ts"].dt.tz_convert("UTC")
    assert stamp_check(bars)["verdict"] == "ok"
    assert stamp_check(bars, open_minute=570)["verdict"] == "no clear spike"
    assert stamp_check(bars.assign(contract="ESM24"))["verdict"] == "no clear spike"
