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


# How the archetype classes trade (``labels.target: archetype``): a position opened at the cutoff and closed at the
# RTH close earns the move into the close, so the classes that *close near the high* (trend up, and a reversal
# up from an early low) are long and their mirrors short; a range or an unclassified day is no trade.  P(long) is
# the sum of the long classes' probabilities, P(short) the short ones'; the threshold acts on those sums.  The
# range-completion rule's TrendUp / TrendDown (close in the top / bottom third) map the same way.
ARCHETYPE_SIDES = {"TrendUp": 1, "ReversalUp": 1, "TrendDown": -1, "ReversalDown": -1, "Range": 0, "Other": 0}


def side_probabilities(proba: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """``(P(long), P(short))`` per row of ``proba`` (rows x ``classes``): binary classes ``[0, 1]`` give
    ``(p1, p0)``; archetype classes are summed by :data:`ARCHETYPE_SIDES`.

    Examples
    --------
    >>> p_long, p_short = side_probabilities(np.array([[0.1, 0.2, 0.3, 0.4]]),
    ...                                      ["Range", "ReversalUp", "TrendDown", "TrendUp"])
    >>> round(float(p_long[0]), 6), round(float(p_short[0]), 6)
    (0.6, 0.3)
    """
    proba = np.asarray(proba, dtype=float)
    names = [str(c) for c in classes]
    if len(names) == 2 and not set(names) & set(ARCHETYPE_SIDES):
        return proba[:, 1], proba[:, 0]
    unknown = [c for c in names if c not in ARCHETYPE_SIDES]
    if unknown:
        raise ValueError(f"classes without a position: {', '.join(unknown)}; known: {', '.join(ARCHETYPE_SIDES)}")
    side = np.array([ARCHETYPE_SIDES[c] for c in names])
    return proba[:, side == 1].sum(axis=1), proba[:, side == -1].sum(axis=1)


def label_sides(y_true, classes=None) -> np.ndarray:
    """The side each day's realised label favoured: +1 where a long was right, -1 where a short was, 0 where neither
    (an archetype that trades no side), NaN where the label is unknown.  Binary labels: 1 (up) is +1, 0 is -1.

    Examples
    --------
    >>> label_sides([1.0, 0.0, float("nan")]).tolist()
    [1.0, -1.0, nan]
    >>> label_sides(["TrendUp", "Range", "ReversalDown"]).tolist()
    [1.0, 0.0, -1.0]
    """
    values = np.asarray(y_true, dtype=object)
    names = np.array([isinstance(v, str) for v in values], dtype=bool)
    if names.any():  # archetype classes
        return np.array([ARCHETYPE_SIDES.get(v, np.nan) if isinstance(v, str) else np.nan for v in values], float)
    numeric = values.astype(float)
    return np.where(np.isnan(numeric), np.nan, np.where(numeric == 1.0, 1.0, -1.0))
