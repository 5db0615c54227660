"""The tick rule: each minute bar's trade direction from its close-to-close change.

A low-level piece shared by the order-flow features (:mod:`almanac.features.orderflow`, which re-exports it)
and the synthetic market's volume model (:mod:`almanac.synth.market`), so neither imports the other's layer.
"""

from __future__ import annotations

import numpy as np


def tick_rule_sign(close: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """Tick-rule direction (+1, -1, 0) of each bar from its close-to-close change.

    Unchanged bars take the previous non-zero direction.  With ``group`` (e.g. trade-date codes, sorted), the
    first bar of each group and any carry across a group boundary are 0.  Vectorised; inputs are not modified.
    """
    close = np.asarray(close, dtype=np.float64)
    n = len(close)
    change = np.zeros(n)
    change[1:] = np.diff(close)
    sign = np.sign(change)
    start = np.zeros(n, dtype=bool)
    if n:
        start[0] = True
    if group is not None:
        group = np.asarray(group)
        start[1:] |= group[1:] != group[:-1]
    sign[start] = 0.0
    # Forward-fill non-zero signs, but never across a group start.
    anchor = np.where((sign != 0) | start, np.arange(n), 0)
    anchor = np.maximum.accumulate(anchor)
    return sign[anchor]
