"""Contract codes and expiries, for every instrument of ``instruments.yaml``: the months and expiry rules the
synthetic market and the vendor-file loaders share.

Contract codes are root + month code + two-digit year (``ESH24``, ``CLF25``), the months and the expiry rule come
from the instrument table:

* ``third_friday`` (equity indices, quarterly H M U Z): the third Friday of the contract month, 08:30 CT (the
  Special Opening Quotation);
* ``crude_25th`` (CL, every month): three business days before the 25th calendar day of the month *before* the
  contract month, four when the 25th is not a business day (NYMEX rule 200101);
* ``third_last_business_day`` (GC): the third-last business day of the contract month;
* ``seventh_business_day_before_month_end`` (ZN): the seventh business day before the last business day of the
  contract month.

Business days are NYSE trading days (``exchange_calendars``), an approximation of each exchange's own holiday
list that is exact on all but a few days a year.  The roll rules and the continuous front series are in
:mod:`almanac.data_sources.contracts`, which re-exports these names.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from almanac import calendar as exchange_calendar
from almanac.instruments import MONTH_CODES as ALL_MONTH_CODES
from almanac.instruments import instrument

MONTH_CODES = {month: code for month, code in enumerate(ALL_MONTH_CODES, start=1)}  # 1 -> 'F', ..., 12 -> 'Z'
CODE_MONTHS = {v: k for k, v in MONTH_CODES.items()}


def third_friday(year: int, month: int) -> dt.date:
    """Third Friday of ``month``."""
    first = dt.date(year, month, 1)
    offset = (4 - first.weekday()) % 7  # Friday is weekday 4
    return first + dt.timedelta(days=offset + 14)


def _business_days(year: int, month: int) -> list[dt.date]:
    first = dt.date(year, month, 1)
    last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
    return [d.date() for d in exchange_calendar.trading_days(first, last)]


def _expiry(rule: str, year: int, month: int) -> dt.date:
    if rule == "third_friday":
        return third_friday(year, month)
    if rule == "third_last_business_day":
        return _business_days(year, month)[-3]
    if rule == "seventh_business_day_before_month_end":
        return _business_days(year, month)[-8]
    if rule == "crude_25th":
        before = pd.Timestamp(year, month, 1) - pd.DateOffset(months=1)
        the_25th = dt.date(before.year, before.month, 25)
        days = [d.date() for d in exchange_calendar.trading_days(the_25th - dt.timedelta(days=20), the_25th)]
        earlier = [d for d in days if d < the_25th]
        return earlier[-3] if days[-1] == the_25th else earlier[-4]
    raise ValueError(f"unknown expiry rule {rule!r}")


def contract_code(symbol: str, year: int, month: int) -> str:
    """``('ES', 2024, 3)`` -> ``'ESH24'``; KeyError for a month the symbol does not list (``('ES', 2024, 1)``)."""
    spec = instrument(symbol)
    if month not in spec.listed_month_numbers:
        raise KeyError(f"{symbol} has no contract in month {month} (its months: {spec.listed_months or spec.months})")
    return f"{symbol}{MONTH_CODES[month]}{year % 100:02d}"


_CODE_RE = re.compile(r"^([A-Z0-9]{1,4}?)([FGHJKMNQUVXZ])(\d{2})$")
# Two-digit years pivot at 1990: ES has traded since 1997, so ESZ99 is 1999 and ESH00 is 2000.
_CENTURY_PIVOT = 90


def parse_contract(code: str) -> tuple[str, int, int]:
    """``'ESH24'`` -> ``('ES', 2024, 3)``; raises ValueError on anything else (e.g. a spread ``ESH24-ESM24``, or
    a month the instrument does not trade such as ``ESF24``).

    Two-digit years from 90 are read as 19xx (``ESZ99`` expires in 1999), the rest as 20xx.
    """
    match = _CODE_RE.match(code)
    root, month, year = None, 0, 0
    if match is not None:
        root, letter, yy = match.groups()
        month, year = CODE_MONTHS[letter], (1900 if int(yy) >= _CENTURY_PIVOT else 2000) + int(yy)
    try:
        if root is None or month not in instrument(root).listed_month_numbers:
            raise KeyError(code)
    except KeyError:
        raise ValueError(f"{code!r} is not an outright contract code of a known instrument like 'ESH24'") from None
    return root, year, month


def expiry_date(code: str) -> dt.date:
    """Expiry of a contract code, by its instrument's rule (``'ESM24'`` -> 2024-06-21, ``'CLF25'`` -> 2024-12-17)."""
    root, year, month = parse_contract(code)
    return _expiry(instrument(root).expiry, year, month)


def contract_schedule(symbol: str, start, end) -> pd.DataFrame:
    """Every contract of ``symbol`` from the first that expires on or after ``start`` until one expiring more
    than 100 days after ``end``.

    Columns: ``contract``, ``expiry`` (date), ``expiry_utc`` (the instrument's ``expiry_ct`` as UTC), ``roll_date``
    (expiry minus ``roll_days_before_expiry`` calendar days: from this date on the calendar rule trades the next
    contract).
    """
    spec = instrument(symbol)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    rows = []
    year, month = start.year, start.month
    while True:  # one iteration per calendar month of the span (a few hundred at most)
        if month in spec.month_numbers:
            expiry = _expiry(spec.expiry, year, month)
            if pd.Timestamp(expiry) >= start:
                rows.append((contract_code(symbol, year, month), expiry))
                if pd.Timestamp(expiry) > end + pd.Timedelta(days=100):
                    break
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    out = pd.DataFrame(rows, columns=["contract", "expiry"])
    expiry_ts = pd.to_datetime(out["expiry"])
    hour, minute = (int(x) for x in spec.expiry_ct.split(":"))
    out["expiry_utc"] = (
        (expiry_ts + pd.Timedelta(hours=hour, minutes=minute)).dt.tz_localize("America/Chicago").dt.tz_convert("UTC")
    )
    out["roll_date"] = (expiry_ts - pd.Timedelta(days=spec.roll_days_before_expiry)).dt.date
    return out
