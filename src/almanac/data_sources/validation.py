"""Checks of the canonical minute-bar contract (docs/data_contracts.md).

``check_canonical`` is the last gate before bars are written: whatever the source, the stored table must obey
the contract that every later stage relies on.  Errors name the first offending row and column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.calendar import epoch_ns, wall_clock_ns
from almanac.errors import BarsError

__all__ = ["CANONICAL_COLUMNS", "PRICE_COLUMNS", "BarsError", "check_canonical"]

CANONICAL_COLUMNS = ("ts", "open", "high", "low", "close", "volume", "contract", "trade_date")
PRICE_COLUMNS = ("open", "high", "low", "close")


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def check_canonical(bars: pd.DataFrame, tick: float, source: str = "bars") -> None:
    """Raise :class:`BarsError` unless ``bars`` obeys the canonical contract.

    Checks: exact columns; ``ts`` tz-aware UTC, strictly increasing (sorted, no duplicates); finite prices on
    the ``tick`` grid with ``low <= open, close <= high``; int64 volumes > 0 (minutes without trades are absent,
    never zero-filled).  The frame is not modified.
    """
    missing = [c for c in CANONICAL_COLUMNS if c not in bars.columns]
    if missing:
        raise BarsError(f"{source}: missing columns {missing}; canonical columns are {list(CANONICAL_COLUMNS)}")
    ts = bars["ts"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype) or str(ts.dt.tz) != "UTC":
        raise BarsError(f"{source}: column ts must be timezone-aware UTC, got {ts.dtype}")
    values = epoch_ns(ts)
    later = values[1:] > values[:-1]
    if not later.all():
        row = _first(~later) + 1
        kind = "duplicate" if values[row] == values[row - 1] else "out-of-order"
        raise BarsError(
            f"{source}: row {row}, column ts: {kind} timestamp {ts.iloc[row]}; bars must be strictly increasing"
        )
    del values, later
    # Column by column, in place where possible (no n x 4 copies: this runs on tens of millions of values).
    for name in PRICE_COLUMNS:
        values = bars[name].to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.all():
            raise BarsError(f"{source}: row {_first(~finite)}, column {name}: missing or non-finite price")
        ticks = np.divide(values, tick)
        off = np.round(ticks)
        np.subtract(ticks, off, out=off)
        np.abs(off, out=off)
        off = off > 1e-6  # |ticks - round(ticks)| > 1e-6
        if off.any():
            row = _first(off)
            raise BarsError(f"{source}: row {row}, column {name}: {values[row]} is not on the {tick} tick grid")
    o, h, low, c = (bars[name].to_numpy(dtype=np.float64) for name in PRICE_COLUMNS)
    inconsistent = (low > np.minimum(o, c)) | (h < np.maximum(o, c)) | (low <= 0)
    if inconsistent.any():
        row = _first(inconsistent)
        raise BarsError(
            f"{source}: row {row}, columns open/high/low/close: inconsistent OHLC {[o[row], h[row], low[row], c[row]]}"
        )
    if bars["volume"].dtype != np.int64:
        raise BarsError(f"{source}: column volume must be int64 contracts, got {bars['volume'].dtype}")
    nonpositive = bars["volume"].to_numpy() <= 0
    if nonpositive.any():
        row = _first(nonpositive)
        raise BarsError(
            f"{source}: row {row}, column volume: {bars['volume'].iloc[row]}; minutes without trades must be absent"
        )


MIN_DAY_STEPS = 10  # fewer RTH steps than this on a day (a stub): its spacing is not judged


def coarse_days(bars: pd.DataFrame, *, rth: tuple[int, int]) -> pd.DataFrame:
    """The trade dates of each file whose RTH bars are not 1-minute bars.

    A file's interval is checked as a whole when it is read; a file can still mix intervals (a 1-minute export
    with some days of 5-minute bars), and on such a day a bar stamped 10:10 holds prices up to 10:15, so a 10:12
    cutoff would read a price from after the cutoff.  Per file, contract and trade date, the spacing is the most
    common step between consecutive bars inside RTH (``rth``: ET minutes of the day), robust to minutes without
    trades like the file check; days with fewer than :data:`MIN_DAY_STEPS` steps are not judged.

    ``bars`` needs ``ts`` (UTC), ``file`` and ``contract`` (categorical), ``trade_date`` and ``line``.  Returns one
    row per coarse day: ``file``, ``trade_date``, ``spacing_min`` and ``line`` (the day's first RTH bar), ordered
    by file and date.
    """
    columns = ["file", "trade_date", "spacing_min", "line"]
    ts = epoch_ns(bars["ts"])
    minute = wall_clock_ns(bars["ts"], "America/New_York") // 60_000_000_000 % 1440
    inside = np.flatnonzero((minute >= rth[0]) & (minute < rth[1]))
    if len(inside) == 0:
        return pd.DataFrame(columns=columns)
    day = bars["trade_date"].to_numpy().astype("datetime64[D]").astype(np.int64)[inside]
    file_code = np.asarray(bars["file"].cat.codes, dtype=np.int64)[inside]
    contract_code = np.asarray(bars["contract"].cat.codes, dtype=np.int64)[inside] + 1  # -1 (no code) -> 0
    width = int(contract_code.max()) + 1
    key = (file_code * width + contract_code) * 1_000_000 + (day - day.min())  # one integer per group
    group, _ = pd.factorize(key)
    order = np.lexsort((ts[inside], group))
    step = np.diff(ts[inside][order]) // 60_000_000_000
    owner = group[order][1:]
    valid = (np.diff(group[order]) == 0) & (step > 0) & (step < 60)
    n_groups = int(group.max()) + 1
    counts = np.bincount(owner[valid] * 60 + step[valid], minlength=n_groups * 60).reshape(n_groups, 60)
    spacing = counts.argmax(axis=1)  # the commonest step; ties go to the shorter
    bad = np.flatnonzero((spacing != 1) & (counts.sum(axis=1) >= MIN_DAY_STEPS))
    if len(bad) == 0:
        return pd.DataFrame(columns=columns)
    first = np.full(n_groups, -1, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(group[order])) + 1]
    first[group[order][starts]] = inside[order][starts]  # each group's earliest RTH bar (a row of bars)
    rows = bars.iloc[first[bad]]
    out = pd.DataFrame(
        {
            "file": rows["file"].astype(str).to_numpy(),
            "trade_date": rows["trade_date"].to_numpy(),
            "spacing_min": spacing[bad].astype(np.int64),
            "line": rows["line"].to_numpy(),
        }
    )
    out = out.sort_values(["file", "trade_date"], kind="stable").drop_duplicates(["file", "trade_date"])
    return out.reset_index(drop=True)
