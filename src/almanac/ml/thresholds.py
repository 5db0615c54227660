"""The probability threshold swept over :data:`RISK_COVERAGE_THRESHOLDS`: the risk-coverage table and the in-fold
threshold choice (``backtest.threshold_mode: in_fold``) read the same sweep of the out-of-fold side probabilities
(:func:`oof_sides`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.ml.decision import oof_side_probabilities, positions
from almanac.ml.pnl import CostModel, daily_pnl
from almanac.sessions import indexed_by_trade_date


def oof_sides(oof: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """``(P(long), P(short))`` by trade date from out-of-fold predictions: ``probability`` and its complement for
    a binary target, the archetype classes' ``probability_<class>`` columns summed by side otherwise."""
    index = pd.DatetimeIndex(oof["trade_date"], name="trade_date")
    long_, short = oof_side_probabilities(oof)
    return pd.Series(long_, index=index), pd.Series(short, index=index)


RISK_COVERAGE_THRESHOLDS = np.round(np.arange(0.50, 0.801, 0.025), 3)


def in_fold_thresholds(
    folds: np.ndarray, p_long: pd.Series, p_short: pd.Series, *, sessions: pd.DataFrame, costs: CostModel, first: float
) -> np.ndarray:
    """Per day, the threshold chosen without its own test block: for each fold, the one of
    :data:`RISK_COVERAGE_THRESHOLDS` with the best net P&L on the out-of-fold days of the *earlier* folds (days
    inside that fold's training window, predicted out of sample); ``first`` for the first fold, which has none.
    Ties go to the higher threshold (fewer trades).
    """
    daily = indexed_by_trade_date(sessions)
    out = np.full(len(folds), first, dtype=float)
    for fold in np.unique(folds):  # a dozen folds, each a threshold sweep over the earlier days
        past = folds < fold
        if not past.any():
            continue
        totals = [
            (round(pnl["pnl_usd"].sum(), 6), t)
            for t, pnl in pnl_by_threshold(p_long[past], p_short[past], daily=daily, costs=costs)
        ]
        out[folds == fold] = max(totals)[1]  # best P&L; a tie goes to the higher threshold
    return out


def pnl_by_threshold(p_long: pd.Series, p_short: pd.Series, *, daily: pd.DataFrame, costs: CostModel):
    """``(threshold, daily P&L frame)`` for each of :data:`RISK_COVERAGE_THRESHOLDS`: the one threshold sweep
    that the risk-coverage table and the in-fold threshold choice both read."""
    long_, short = p_long.to_numpy(dtype=float), p_short.to_numpy(dtype=float)
    for threshold in RISK_COVERAGE_THRESHOLDS:  # thirteen thresholds, each vectorised over the days
        side = pd.Series(positions(long_, short, float(threshold)), index=p_long.index)
        yield float(threshold), daily_pnl(daily, side, costs)


def risk_coverage(oof: pd.DataFrame, sessions: pd.DataFrame, *, costs: CostModel) -> pd.DataFrame:
    """Coverage, hit rate and P&L if the threshold were each of 0.500, 0.525, ..., 0.800 (any target: the
    archetypes trade their summed side probabilities).

    A look at the whole trade-off, not a way to pick the threshold: every row uses the same out-of-fold
    probabilities, so choosing the best row afterwards is in-sample selection.
    """
    p_long, p_short = oof_sides(oof)
    rows = []
    for threshold, pnl in pnl_by_threshold(p_long, p_short, daily=indexed_by_trade_date(sessions), costs=costs):
        traded = pnl["position"] != 0
        rows.append(
            {
                "threshold": threshold,
                "coverage": float(traded.mean()) if len(pnl) else 0.0,
                "trades": int(traded.sum()),
                "hit_rate": float((pnl.loc[traded, "gross_pnl_usd"] > 0).mean()) if traded.any() else float("nan"),
                "pnl_usd": float(pnl["pnl_usd"].sum()),
                "avg_trade_usd": float(pnl.loc[traded, "pnl_usd"].mean()) if traded.any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)
