"""Quarterly equity-index contracts, expiries, roll rules and the continuous front series.

Every instrument whose sessions are modelled (``instruments.yaml``: ES, MES, NQ, MNQ, RTY, YM) is quarterly,
so contract codes here are quarterly.  ES contracts, for example, are quarterly (H, M, U, Z = Mar, Jun, Sep, Dec) and expire on the third Friday of the month at
08:30 CT (the Special Opening Quotation).  The continuous series uses one contract per trade date:

* ``calendar`` roll: switch 8 calendar days before expiry (the Thursday of the week before), CME's own
  convention for the equity-index roll;
* ``volume`` roll: switch to the contract that traded more on the *previous* trade date (never the same
  day's volume, which is not known at the open), and never back to an earlier expiry.

Long-window features must use returns, not spliced levels: the carry gap between contracts at a roll is a price
jump that nobody could trade.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from almanac.instruments import instrument

MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}
CODE_MONTHS = {v: k for k, v in MONTH_CODES.items()}
ROLL_RULES = ("calendar", "volume")


def third_friday(year: int, month: int) -> dt.date:
    """Third Friday of ``month``."""
    first = dt.date(year, month, 1)
    offset = (4 - first.weekday()) % 7  # Friday is weekday 4
    return first + dt.timedelta(days=offset + 14)


def contract_code(symbol: str, year: int, month: int) -> str:
    """``('ES', 2024, 3)`` -> ``'ESH24'``."""
    return f"{symbol}{MONTH_CODES[month]}{year % 100:02d}"


_CODE_RE = re.compile(r"^([A-Z]{1,4})([HMUZ])(\d{2})$")
# Two-digit years pivot at 1990: ES has traded since 1997, so ESZ99 is 1999 and ESH00 is 2000.
_CENTURY_PIVOT = 90


def parse_contract(code: str) -> tuple[str, int, int]:
    """``'ESH24'`` -> ``('ES', 2024, 3)``; raises ValueError on anything else (e.g. a spread ``ESH24-ESM24``).

    Two-digit years from 90 are read as 19xx (``ESZ99`` expires in 1999), the rest as 20xx.
    """
    match = _CODE_RE.match(code)
    if match is None:
        raise ValueError(f"{code!r} is not an outright quarterly contract code like 'ESH24'")
    root, month, yy = match.groups()
    year = (1900 if int(yy) >= _CENTURY_PIVOT else 2000) + int(yy)
    return root, year, CODE_MONTHS[month]


def expiry_date(code: str) -> dt.date:
    """Expiry (third Friday) of a contract code."""
    _, year, month = parse_contract(code)
    return third_friday(year, month)


def contract_schedule(symbol: str, start, end) -> pd.DataFrame:
    """Every quarterly contract whose life overlaps ``[start, end]`` (plus the next one).

    Columns: ``contract``, ``expiry`` (date), ``expiry_utc`` (08:30 CT as UTC), ``roll_date`` (expiry minus 8
    calendar days for the equity indices, ``roll_days_before_expiry`` in ``instruments.yaml``: from this date on
    the calendar rule trades the next contract).
    """
    spec = instrument(symbol)
    if spec.expiry != "third_friday" or spec.months != "HMUZ":
        raise ValueError(f"{symbol}: only quarterly third-Friday contracts are modelled, not {spec.expiry!r}")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    rows = []
    year, month = start.year, 3 * ((start.month - 1) // 3) + 3
    while True:
        expiry = third_friday(year, month)
        rows.append((contract_code(symbol, year, month), expiry))
        if pd.Timestamp(expiry) > end + pd.Timedelta(days=100):
            break
        month += 3
        if month > 12:
            year, month = year + 1, 3
    out = pd.DataFrame(rows, columns=["contract", "expiry"])
    expiry_ts = pd.to_datetime(out["expiry"])
    out["expiry_utc"] = (
        (expiry_ts + pd.Timedelta(hours=8, minutes=30)).dt.tz_localize("America/Chicago").dt.tz_convert("UTC")
    )
    out["roll_date"] = (expiry_ts - pd.Timedelta(days=spec.roll_days_before_expiry)).dt.date
    return out


def calendar_front(symbol: str, trade_dates) -> np.ndarray:
    """Front contract of each trade date under the calendar roll (vectorised)."""
    dates = pd.DatetimeIndex(trade_dates)
    schedule = contract_schedule(symbol, dates.min(), dates.max())
    roll = pd.to_datetime(schedule["roll_date"]).to_numpy()
    pos = np.searchsorted(roll, dates.to_numpy(), side="right")
    return schedule["contract"].to_numpy()[pos]


def _rth_close_prices(bars: pd.DataFrame, rth_close_utc: pd.Series) -> pd.DataFrame:
    """Last close at or before each trade date's RTH close, per (trade_date, contract)."""
    limit = bars["trade_date"].map(rth_close_utc)
    inside = bars["ts"] < limit
    last = bars.loc[inside].groupby(["trade_date", "contract"], sort=True)["close"].last()
    return last.unstack("contract")


def build_continuous(
    bars: pd.DataFrame, *, symbol: str, roll: str, rth_close_utc: pd.Series
) -> tuple[pd.DataFrame, list[dict]]:
    """Assemble the continuous front series from per-contract minute bars.

    ``bars`` holds canonical columns (``ts`` UTC, OHLC, ``volume``, ``contract``, ``trade_date``) for one or more
    outright contracts; ``rth_close_utc`` maps each trade date to its RTH close.  Returns the bars of one
    contract per trade date (sorted by ``ts``) and the list of rolls, each ``{trade_date, from, to, gap_pts}``
    where ``gap_pts`` is the new contract's RTH close minus the old one's on the trade date before the roll
    (the carry gap; ``None`` when either contract has no bar there).  The input is not modified.
    """
    if roll not in ROLL_RULES:
        raise ValueError(f"unknown roll rule {roll!r}; allowed: {', '.join(ROLL_RULES)}")
    dates = pd.DatetimeIndex(np.sort(bars["trade_date"].unique()))
    calendar = pd.Series(calendar_front(symbol, dates), index=dates)
    if roll == "calendar":
        chosen = calendar
    else:
        volume = bars.groupby(["trade_date", "contract"])["volume"].sum().unstack("contract").reindex(dates)
        volume = volume.fillna(0)
        expiry_rank = pd.Series({c: expiry_date(c) for c in volume.columns}).rank(method="first").astype(int)
        volume = volume[expiry_rank.sort_values().index]
        # Only the previous trade date's volume is known when today's session opens.
        previous = volume.shift(1)
        leader = np.where(previous.notna().all(axis=1), previous.to_numpy().argmax(axis=1), -1)
        first_rank = volume.columns.get_indexer(calendar.iloc[:1])[0]
        leader[0] = first_rank if leader[0] < 0 else leader[0]
        leader = np.maximum.accumulate(np.where(leader < 0, 0, leader))
        chosen = pd.Series(volume.columns.to_numpy()[leader], index=dates)
    present = bars.groupby(["trade_date", "contract"]).size()
    keys = pd.MultiIndex.from_arrays([chosen.index, chosen.to_numpy()])
    missing = ~keys.isin(present.index)
    if missing.any():
        bad = [f"{d.date()} ({c})" for d, c in keys[missing][:5]]
        raise ValueError(f"the {roll} roll picks a contract with no bars on: {', '.join(bad)}")
    pick = bars["contract"] == bars["trade_date"].map(chosen).astype(bars["contract"].dtype)
    out = bars.loc[pick.to_numpy()].sort_values("ts", kind="stable").reset_index(drop=True)

    switches = np.flatnonzero(chosen.to_numpy()[1:] != chosen.to_numpy()[:-1]) + 1
    closes = _rth_close_prices(bars, rth_close_utc) if len(switches) else None
    rolls = []
    for i in switches:  # one iteration per roll (four a year), not per bar
        before, day = dates[i - 1], dates[i]
        old, new = chosen.iloc[i - 1], chosen.iloc[i]
        gap = None
        if closes is not None and old in closes.columns and new in closes.columns:
            value = closes.at[before, new] - closes.at[before, old]
            gap = None if pd.isna(value) else float(value)
        rolls.append({"trade_date": str(day.date()), "from": old, "to": new, "gap_pts": gap})
    return out, rolls
