"""Roll rules and the continuous front series, for every instrument of ``instruments.yaml``.

Contract codes, expiry rules and the contract schedule are in :mod:`almanac.contract_months` (a layer below both
the data sources and the synthetic market, which share them) and are re-exported here.  The continuous series
uses one contract per trade date:

* ``calendar`` roll: switch ``roll_days_before_expiry`` calendar days before expiry (8 for the equity indices: the
  Thursday of the week before, CME's own convention; for GC and ZN 30, before first notice);
* ``volume`` roll: switch to the contract that traded more on the *previous* trade date (never the same
  day's volume, which is not known at the open), and never back to an earlier expiry.

Long-window features must use returns, not spliced levels: the carry gap between contracts at a roll is a price
jump that nobody could trade.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.contract_months import (
    CODE_MONTHS,
    MONTH_CODES,
    contract_code,
    contract_schedule,
    expiry_date,
    parse_contract,
    third_friday,
)

__all__ = [
    "CODE_MONTHS",
    "MONTH_CODES",
    "ROLL_RULES",
    "build_continuous",
    "calendar_front",
    "contract_code",
    "contract_schedule",
    "expiry_date",
    "parse_contract",
    "third_friday",
]

ROLL_RULES = ("calendar", "volume")


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
    # Contracts and trade dates as integer codes: one hash pass over the contract strings, then integer
    # comparisons per bar (a string lookup and comparison per bar took most of the time on millions of bars).
    codes, contracts = pd.factorize(bars["contract"])
    day = np.searchsorted(dates.to_numpy(), pd.DatetimeIndex(bars["trade_date"]).to_numpy())
    chosen_code = contracts.get_indexer(chosen.to_numpy())
    pick = codes == np.where(chosen_code < 0, -2, chosen_code)[day]  # -1 is factorize's code of a missing contract
    missing = np.ones(len(dates), dtype=bool)
    missing[day[pick]] = False  # the chosen contract has a bar that day
    if missing.any():
        bad = [f"{d.date()} ({c})" for d, c in zip(dates[missing][:5], chosen.to_numpy()[missing][:5], strict=True)]
        raise ValueError(f"the {roll} roll picks a contract with no bars on: {', '.join(bad)}")
    out = bars.loc[pick]
    ts = pd.DatetimeIndex(out["ts"]).asi8
    if not (len(ts) < 2 or (ts[1:] > ts[:-1]).all()):  # per-contract bars picked in roll order are in time order
        out = out.sort_values("ts", kind="stable")
    out = out.reset_index(drop=True)

    switches = np.flatnonzero(chosen.to_numpy()[1:] != chosen.to_numpy()[:-1]) + 1
    # The gaps need the RTH closes of the trade dates before the rolls only (a few a year, not every bar's day).
    # The bars of those dates through their positions in ``dates`` (the hash lookup of every bar's date was slower).
    is_eve = np.zeros(len(dates), dtype=bool)
    is_eve[switches - 1] = True
    closes = _rth_close_prices(bars.loc[is_eve[day]], rth_close_utc) if len(switches) else None
    rolls = []
    for i in switches:  # one iteration per roll (four a year), not per bar
        before, day = dates[i - 1], dates[i]
        old, new = chosen.iloc[i - 1], chosen.iloc[i]
        gap = None
        if closes is not None and old in closes.columns and new in closes.columns:
            value = closes.at[before, new] - closes.at[before, old]
            gap = None if pd.isna(value) else round(float(value), 10)  # a 0.01 grid is not exact in binary
        rolls.append({"trade_date": str(day.date()), "from": old, "to": new, "gap_pts": gap})
    return out, rolls
