"""The decision rule that turns probabilities into a position: one definition for the backtest and the morning.

Kept in a module of its own, free of heavy imports, so that ``almanac predict`` does not import the
backtester's statistics (scipy) to print a decision.
"""

from __future__ import annotations

import numpy as np


def positions(p_long: np.ndarray, p_short: np.ndarray, threshold: float) -> np.ndarray:
    """+1 (long) where ``p_long >= threshold``, -1 (short) where ``p_short >= threshold``, else 0 (abstain).

    Examples
    --------
    >>> positions([0.7, 0.3, 0.55], [0.3, 0.7, 0.45], 0.6).tolist()
    [1, -1, 0]
    """
    p_long, p_short = np.asarray(p_long, float), np.asarray(p_short, float)
    long_ = (p_long >= threshold) & ~(p_short >= threshold)
    short = (p_short >= threshold) & ~(p_long >= threshold)
    return np.where(long_, 1, np.where(short, -1, 0)).astype(np.int64)
