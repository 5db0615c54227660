"""The decision rule that turns probabilities into a position, and the size of that position: one definition for
the backtest and the morning.

Kept in a module of its own, free of heavy imports, so that ``almanac predict`` does not import the
backtester's statistics (scipy) to print a decision.
"""

from __future__ import annotations

import math

import numpy as np

from almanac.numerics import erf


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


SIZINGS = ("fixed", "probability")  # backtest.sizing


def bet_size(p) -> np.ndarray:
    """The bet size of a two-class probability (López de Prado, *Advances in Financial Machine Learning*, ch. 10):
    ``m = 2 Φ(z) - 1`` with ``z = (p - 1/2) / sqrt(p (1 - p))``, in [-1, 1]: 0 at p = 1/2, ±1 at p = 1 and 0, odd
    around 1/2 and increasing in ``p``.  ``Φ`` through :func:`almanac.numerics.erf` (``2 Φ(z) - 1 = erf(z / √2)``),
    so the size is the same on every CPU.  NaN where ``p`` is NaN or outside [0, 1].

    Examples
    --------
    >>> bet_size([0.5, 0.55, 0.6, 0.9, 1.0]).round(4).tolist()
    [0.0, 0.0801, 0.1617, 0.8176, 1.0]
    """
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # p = 0 or 1: z = ±inf, erf = ±1
        x = (p - 0.5) / np.sqrt(2.0 * p * (1.0 - p))  # z / √2
    return np.asarray(erf(x), dtype=float)


def contracts(
    side,
    p_long,
    p_short,
    *,
    atr_pts=None,
    sizing: str = "fixed",
    max_contracts: int = 1,
    risk_usd: float = math.inf,
    point_value_usd: float = 1.0,
) -> np.ndarray:
    """How many contracts each day trades (``backtest.sizing``); the position is ``side * contracts``.

    ``side`` is :func:`positions`' decision (+1, -1, 0); ``p_long`` and ``p_short`` the probabilities it acted on
    (for archetypes the side sums of :func:`side_probabilities`); ``atr_pts`` the Wilder ATR in index points known at
    each day's cutoff (through the previous session: ``almanac.ml.pnl.atr_at_cutoff``).  All are arrays of one
    length (or scalars).

    * ``fixed``: one contract on every day that trades, 0 when the decision abstains (``atr_pts`` is not read).
    * ``probability``: the bet size :func:`bet_size` of the side's probability, ``round(|m| * max_contracts)`` (half
      up), at least one contract (the threshold decides *whether* to trade, the size only *how much*), and at most
      ``floor(risk_usd / (atr_pts * point_value_usd))``, the contracts whose one-ATR move stays within the day's risk
      budget in USD.  A day whose single contract would exceed the budget, or whose ATR is unknown (NaN: a missing
      session in the ATR window), is not traded: the budget is a hard limit.

    Returns non-negative int64 counts.

    Examples
    --------
    >>> side = positions([0.6, 0.9, 0.9, 0.5], [0.4, 0.1, 0.1, 0.5], 0.55)
    >>> contracts(side, [0.6, 0.9, 0.9, 0.5], [0.4, 0.1, 0.1, 0.5]).tolist()
    [1, 1, 1, 0]
    >>> contracts(side, [0.6, 0.9, 0.9, 0.5], [0.4, 0.1, 0.1, 0.5], atr_pts=[40.0, 40.0, 100.0, 40.0],
    ...           sizing="probability", max_contracts=10, risk_usd=10_000, point_value_usd=50).tolist()  # caps 5, 5, 2
    [2, 5, 2, 0]
    """
    if sizing not in SIZINGS:
        raise ValueError(f"sizing {sizing!r}: one of {', '.join(SIZINGS)}")
    side = np.asarray(side)
    trades = side != 0
    if sizing == "fixed":
        return trades.astype(np.int64)
    if atr_pts is None:
        raise ValueError("sizing 'probability' needs atr_pts, the ATR known at each day's cutoff")
    p_side = np.where(side > 0, np.asarray(p_long, dtype=float), np.asarray(p_short, dtype=float))
    scaled = np.abs(bet_size(np.where(trades, p_side, 0.5))) * max_contracts
    wanted = np.clip(np.floor(scaled + 0.5), 1, max_contracts)
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = np.floor(risk_usd / (np.asarray(atr_pts, dtype=float) * point_value_usd))
    cap = np.where(np.isfinite(cap) & (cap > 0), cap, 0.0)  # unknown ATR (NaN) or zero ATR (inf): no size
    return np.where(trades, np.minimum(wanted, cap), 0.0).astype(np.int64)


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


def oof_side_probabilities(oof) -> tuple[np.ndarray, np.ndarray]:
    """``(P(long), P(short))`` per row of an out-of-fold table (the train stage's ``oof.parquet``): ``probability`` and
    its complement for a binary target, the ``probability_<class>`` columns summed by :data:`ARCHETYPE_SIDES`
    otherwise: what the backtest and ``almanac predict`` decide on.

    Examples
    --------
    >>> import pandas as pd
    >>> p_long, p_short = oof_side_probabilities(pd.DataFrame({"probability": [0.6, 0.3]}))
    >>> p_long.tolist(), p_short.tolist()
    ([0.6, 0.3], [0.4, 0.7])
    """
    if "probability" in oof.columns:
        p = oof["probability"].to_numpy(dtype=float)
        return p, 1.0 - p
    columns = [c for c in oof.columns if c.startswith("probability_")]
    return side_probabilities(oof[columns].to_numpy(dtype=float), [c.removeprefix("probability_") for c in columns])


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
    numeric = np.asarray(y_true)
    if numeric.dtype.kind in "biuf":  # binary labels as numbers: no look at each value
        numeric = numeric.astype(float)
        return np.where(np.isnan(numeric), np.nan, np.where(numeric == 1.0, 1.0, -1.0))
    values = np.asarray(y_true, dtype=object)
    names = np.array([isinstance(v, str) for v in values], dtype=bool)
    if names.any():  # archetype classes
        return np.array([ARCHETYPE_SIDES.get(v, np.nan) if isinstance(v, str) else np.nan for v in values], float)
    numeric = values.astype(float)
    return np.where(np.isnan(numeric), np.nan, np.where(numeric == 1.0, 1.0, -1.0))
