"""The synthetic market's per-contract bars: the spot path split into the listed contracts with carry.

Each contract trades ``exp(L(t) + carry * years_to_expiry)`` on the instrument's tick grid, and the day's volume
migrates to the next contract around the calendar roll (a logistic share over ``roll_width_days``), starting
``roll_lead_days`` trade days before it (:mod:`almanac.synth.market` describes the model).

The arrays are millions of values: every step works in place or on one gathered copy, so that the stage's memory
peak, and with it the time spent on fresh pages, stays low.  In-place arithmetic keeps the formula's operand order
(``a * b == b * a`` and ``a + b == b + a`` exactly in IEEE 754), so the values are those of the plain expressions.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from almanac import calendar
from almanac.numerics import exp

SECONDS_PER_YEAR = 365.25 * 86400.0


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + exp(-x))


def _rows(ts, day, dates64, schedule: pd.DataFrame, expiry_s: np.ndarray, spec):
    """For each contract, the minutes it trades (indices into the spot path) and its share of each minute's volume.

    Returns the concatenated minute indices, contract codes (positions in ``schedule``) and volume shares, contract
    by contract.
    """
    n_days = len(dates64)
    day_start = np.searchsorted(day, np.arange(n_days), side="left")
    day_end = np.searchsorted(day, np.arange(n_days), side="right")
    roll_k = np.searchsorted(dates64, pd.to_datetime(schedule["roll_date"]).to_numpy().astype("datetime64[D]"))
    index_parts, contract_parts, share_parts = [], [], []
    for i in range(len(schedule)):  # one iteration per contract (~4 a year)
        first_day = 0 if i == 0 else max(roll_k[i - 1] - spec.roll_lead_days, 0)
        last_day = min(
            int(np.searchsorted(dates64, np.datetime64(schedule["expiry"].iloc[i], "D"), side="right")) - 1, n_days - 1
        )
        if first_day >= n_days or last_day < first_day:
            continue
        idx = np.arange(day_start[first_day], day_end[last_day])
        idx = idx[ts[idx] < expiry_s[i]]
        # The shares depend on the day only: computed once a day and looked up per minute (the same values).
        k = np.arange(first_day, last_day + 1).astype(np.float64)
        rising = np.ones(len(k)) if i == 0 else _logistic((k - roll_k[i - 1] + 0.5) / spec.roll_width_days)
        falling = 1.0 - _logistic((k - roll_k[i] + 0.5) / spec.roll_width_days)
        index_parts.append(idx)
        contract_parts.append(np.full(len(idx), i, dtype=np.int32))
        share_parts.append((rising * falling)[day[idx] - first_day])
    return np.concatenate(index_parts), np.concatenate(contract_parts), np.concatenate(share_parts)


def _to_grid(log_price: np.ndarray, carry: np.ndarray, tick: float) -> np.ndarray:
    """``round(exp(log_price + carry) / tick) * tick``; ``log_price`` (a gathered copy) is overwritten."""
    log_price += carry
    price = exp(log_price)
    price /= tick
    np.round(price, out=price)
    price *= tick
    return price


def _prices(path: dict, idx: np.ndarray, carry: np.ndarray, tick: float) -> tuple[np.ndarray, ...]:
    """The rows' open, high, low and close on the tick grid, with ``carry`` (log, per row) added."""
    log_close = path.pop("close")
    log_open = log_close[idx - 1]  # the previous minute's close (index -1 wraps: fixed just below)
    log_open[idx == 0] = path.pop("open_first")
    open_px = _to_grid(log_open, carry, tick)
    del log_open
    close_px = _to_grid(log_close[idx], carry, tick)
    del log_close
    high_px = _to_grid(path.pop("high")[idx], carry, tick)
    np.maximum(high_px, np.maximum(open_px, close_px), out=high_px)
    low_px = _to_grid(path.pop("low")[idx], carry, tick)
    np.minimum(low_px, np.minimum(open_px, close_px), out=low_px)
    return open_px, high_px, low_px, close_px


def contract_rows(ts: np.ndarray, day: np.ndarray, dates: pd.DatetimeIndex, *, schedule: pd.DataFrame, spec):
    """The rows of :func:`contract_bars` before the volume draw: for each contract of ``schedule``, the minutes it
    trades (indices into the minute grid ``ts``, ``day``), its position in ``schedule`` and its share of each
    minute's volume; concatenated contract by contract."""
    dates64 = dates.to_numpy().astype("datetime64[D]")
    return _rows(ts, day, dates64, schedule, _expiry_seconds(schedule), spec)


def _expiry_seconds(schedule: pd.DataFrame) -> np.ndarray:
    return calendar.epoch_ns(schedule["expiry_utc"]) // 1_000_000_000


def contract_bars(
    path: dict, dates: pd.DatetimeIndex, schedule: pd.DataFrame, *, rng: np.random.Generator, spec, rows=None
) -> pd.DataFrame:
    """Split the spot path into the ``schedule``'s contracts with carry, migrating volume around each roll.

    ``path`` holds the spot path's per-minute arrays: ``ts`` and ``day`` (each minute's start in epoch seconds and
    its trade-date index), the log ``close``, ``high`` and ``low``, ``expected`` (the minute's expected volume, all
    contracts together) and the scalar ``open_first`` (the first minute's log open; every other minute opens at
    the previous close).  Each array is taken out of ``path`` once read, so that the caller holds no reference and
    its memory (tens of MB) is freed before the next column is built.  The volumes are Poisson draws from ``rng``;
    minutes without trades are dropped.  Returns the canonical columns (``contract`` categorical: the schedule's
    codes), sorted by contract then ``ts``.  ``spec`` is the market's :class:`~almanac.synth.market.MarketSpec` (not
    imported here: that module imports this one); ``rows``, when given, is :func:`contract_rows` of the same inputs
    (computed beforehand, beside other work).
    """
    dates64 = dates.to_numpy().astype("datetime64[D]")
    expiry_s = _expiry_seconds(schedule)
    idx, code, share = (
        contract_rows(path["ts"], path["day"], dates, schedule=schedule, spec=spec) if rows is None else rows
    )
    lam = path.pop("expected")[idx]
    lam *= share
    del share
    ts = path.pop("ts")
    carry = expiry_s[code] - ts[idx]
    carry = carry / SECONDS_PER_YEAR  # years to expiry
    carry *= spec.carry_annual
    # The Poisson draw (a third of this function's time) runs on a worker thread, without the GIL, while this
    # thread prices every row; the rows without trades (3 %) are dropped afterwards.  Each value is the one it had
    # when they were dropped first (every step is element-wise), and ``rng`` is drawn from by one thread only.
    with ThreadPoolExecutor(max_workers=1) as pool:
        drawn = pool.submit(rng.poisson, lam)
        del lam
        prices = _prices(path, idx, carry, spec.tick)
        del carry
        volume = drawn.result()
    traded = volume > 0
    open_px, high_px, low_px, close_px = (price[traded] for price in prices)
    del prices
    idx, code, volume = idx[traded], code[traded], volume[traded]
    del traded
    ts = ts[idx]
    ts *= 1_000_000_000  # nanoseconds
    trade_date = dates64.astype("datetime64[s]")[path.pop("day")[idx]]
    del idx
    # The contract as a category of the schedule's codes: one byte a bar instead of a string, until the front series
    # is cut (the data source turns the codes it keeps into text).
    contract = pd.Categorical.from_codes(code, categories=pd.Index(schedule["contract"]), validate=False)
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts.view("datetime64[ns]"), copy=False).tz_localize("UTC"),
            "open": open_px,
            "high": high_px,
            "low": low_px,
            "close": close_px,
            "volume": volume.astype(np.int64, copy=False),
            "contract": contract,
            "trade_date": trade_date,
        },
        copy=False,  # the columns are this function's own arrays: no copy into one 2-D block (~0.1-0.4 s)
    )
