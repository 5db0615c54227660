"""Checks of the canonical minute-bar contract (docs/data_contracts.md).

``check_canonical`` is the last gate before bars are written: whatever the source, the stored table must obey
the contract that every later stage relies on.  Errors name the first offending row and column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.calendar import epoch_ns
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
    step = np.diff(values)
    if (step <= 0).any():
        row = _first(step <= 0) + 1
        kind = "duplicate" if step[row - 1] == 0 else "out-of-order"
        raise BarsError(
            f"{source}: row {row}, column ts: {kind} timestamp {ts.iloc[row]}; bars must be strictly increasing"
        )
    # Column by column (no n x 4 copies: this runs on tens of millions of values).
    for name in PRICE_COLUMNS:
        values = bars[name].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            raise BarsError(f"{source}: row {_first(bad)}, column {name}: missing or non-finite price")
        ticks = values / tick
        off = np.abs(ticks - np.round(ticks)) > 1e-6
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
