"""Vendor minute-bar formats: layouts, default timezones and timestamp conventions (docs/data_contracts.md).

| format | layout | timezone | stamp |
|---|---|---|---|
| ``databento`` | CSV ``ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol`` (ts as ISO or int ns; int prices are x1e-9) | UTC | start |
| ``firstrate`` | ``datetime,open,high,low,close,volume``; header line ``timestamp,open,...`` optional (detected) | America/New_York | start |
| ``kibot`` | ``Date,Time,Open,High,Low,Close,Volume`` (header optional; ``MM/DD/YYYY,HH:MM``) | America/New_York | start |
| ``sierra`` | Sierra Chart text export ``Date, Time, Open, High, Low, Last, Volume, ...`` | chart setting: ``data.timezone`` required | start |
| ``ninjatrader`` | no header: ``yyyyMMdd HHmmss;open;high;low;close;volume`` | UTC | **end** |
| ``tradestation`` | ``Date,Time,Open,High,Low,Close,Up,Down`` (volume = Up + Down) | chart setting: ``data.timezone`` required | **end** |
| ``generic`` | CSV or Parquet with a column mapping (``data.columns``) | ``data.timezone`` required | ``data.timestamp`` required |

Files may be gzip-compressed (detected from the content). A one-minute mix-up between start and end stamps is look-ahead, so end-stamped bars are moved to their start on
load and the convention is recorded in the manifest.
"""

from __future__ import annotations

import dataclasses

FORMATS_REQUIRING_TIMEZONE = ("sierra", "tradestation", "generic")


@dataclasses.dataclass(frozen=True)
class VendorFormat:
    """How one vendor lays out a minute-bar file."""

    name: str
    timezone: str | None  # None: the file carries no timezone; the user must declare data.timezone
    stamp: str | None  # "start" | "end" | None (must be declared)
    delimiter: str = ","
    header: bool | None = False  # True: has a header; False: none; None: detect
    names: tuple[str, ...] = ()  # column names in file order (for headerless files, or canonical header names)
    ts_columns: tuple[str, ...] = ("datetime",)  # one combined column, or (date, time)
    ts_formats: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S",)  # strptime formats tried in order


FORMATS: dict[str, VendorFormat] = {
    "databento": VendorFormat(
        "databento", "UTC", "start", header=True,
        names=("ts_event", "rtype", "publisher_id", "instrument_id", "open", "high", "low", "close", "volume", "symbol"),
        ts_columns=("ts_event",), ts_formats=(),
    ),
    "firstrate": VendorFormat("firstrate", "America/New_York", "start", header=None, names=("datetime", "open", "high", "low", "close", "volume")),
    "kibot": VendorFormat(
        "kibot", "America/New_York", "start", header=None,
        names=("date", "time", "open", "high", "low", "close", "volume"), ts_columns=("date", "time"),
        ts_formats=("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"),
    ),
    "sierra": VendorFormat(
        "sierra", None, "start", header=True, names=("date", "time", "open", "high", "low", "last", "volume"),
        ts_columns=("date", "time"), ts_formats=("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S"),
    ),
    "ninjatrader": VendorFormat(
        "ninjatrader", "UTC", "end", delimiter=";", names=("datetime", "open", "high", "low", "close", "volume"),
        ts_formats=("%Y%m%d %H%M%S",),
    ),
    "tradestation": VendorFormat(
        "tradestation", None, "end", header=True, names=("date", "time", "open", "high", "low", "close", "up", "down"),
        ts_columns=("date", "time"), ts_formats=("%m/%d/%Y %H%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"),
    ),
    "generic": VendorFormat("generic", None, None, header=True, ts_formats=()),
}  # fmt: skip
