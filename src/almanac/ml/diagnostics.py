"""Where and when the out-of-fold signal works: its AUC over a trailing window (the drift monitor), per group of days
(the breakdown table) and its information coefficient against the return it is about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.ml.metrics import binary_auc, correlation, midranks, resampled_rank_auc


def rolling_auc(
    dates: pd.Series, y: np.ndarray, score: np.ndarray, *, window_days: int, step_days: int = 5
) -> pd.DataFrame:
    """AUC over the trailing ``window_days`` out-of-fold days, every ``step_days`` days (drift monitor)."""
    dates = pd.DatetimeIndex(dates)
    y, score = np.asarray(y, dtype=int), np.asarray(score, dtype=float)
    ends = np.arange(window_days, len(dates) + 1, step_days)
    windows = ends[:, None] - window_days + np.arange(window_days)[None, :]  # each window's rows
    aucs = resampled_rank_auc(y, score, windows)  # every window at once: rank_auc's values
    rows = [(dates[end - 1], float(auc)) for end, auc in zip(ends, aucs, strict=True)]  # one per plotted point
    return pd.DataFrame(rows, columns=["trade_date", "auc"])


def breakdown(
    oof: pd.DataFrame, y: np.ndarray, p: np.ndarray, *, returns: pd.Series | None, context: pd.DataFrame
) -> pd.DataFrame:
    """Per value of each ``context`` column: ``n_days``, ``auc`` (NaN with one class), ``hit_rate`` (share of
    days whose side, ``p >= 0.5`` up, was right) and ``signed_return_pct`` (mean of the side times the
    cutoff-to-close return: a cost-free P&L proxy).  Where the signal works and where it does not.

    Rows come group by group (``context``'s column order) and, within a group, in the natural order of its values:
    a categorical column's category order (weekdays Monday to Friday, terciles low to high), otherwise ascending
    (years, False before True).  ``label`` is ``"<group> <value> (<n_days>)"``, e.g. ``"weekday Mon (328)"``: the
    values repeat across groups (low, True), and a chart of the labels shows what each bar rests on."""
    dates = pd.DatetimeIndex(oof["trade_date"])
    ctx = context.reindex(dates)
    side = np.where(p >= 0.5, 1.0, -1.0)
    hit = (side > 0) == (y == 1)
    r = returns.reindex(dates).to_numpy(dtype=float) if returns is not None else np.full(len(p), np.nan)
    rows = []
    for column in ctx.columns:  # a handful of groupings
        values = ctx[column].to_numpy()
        for value in _natural_order(ctx[column]):  # a few values each
            rows_of = values == value
            both = len(np.unique(y[rows_of])) == 2
            rows.append(
                {
                    "group": column,
                    "value": str(value),
                    "n_days": int(rows_of.sum()),
                    "auc": binary_auc(y[rows_of], p[rows_of]) if both else float("nan"),
                    "hit_rate": float(hit[rows_of].mean()),
                    "signed_return_pct": float(np.nanmean(side[rows_of] * r[rows_of])),
                }
            )
    table = pd.DataFrame(rows, columns=["group", "value", "n_days", "auc", "hit_rate", "signed_return_pct"])
    return table.assign(label=table["group"] + " " + table["value"] + " (" + table["n_days"].astype(str) + ")")


def _natural_order(values: pd.Series) -> list:
    """The distinct values present in ``values``: in category order for a categorical, else ascending."""
    present = values.dropna()
    if isinstance(present.dtype, pd.CategoricalDtype):
        return [c for c in present.cat.categories if (present == c).any()]
    return sorted(pd.unique(present))


def information_coefficient(oof: pd.DataFrame, p: np.ndarray, returns: pd.Series) -> dict:
    """IC (Pearson) and rank IC (Spearman) of the signal ``p - 0.5`` against ``returns``, pooled and per fold.

    ``ic``/``rank_ic`` over all out-of-fold days; ``ic_fold_mean``/``rank_ic_fold_mean`` the mean of per-fold
    values and ``ic_tstat``/``rank_ic_tstat`` their t-statistic (mean / standard error over folds), the way
    Qlib's signal analysis reports them.  Spearman's is Pearson's on average ranks (``scipy.stats.rankdata``'s, by
    :func:`almanac.ml.metrics.midranks` without importing scipy.stats); both are computed without BLAS
    (:func:`almanac.ml.metrics.correlation`), so they do not vary with the CPU.
    """

    def spearman(x, y):
        return correlation(midranks(x), midranks(y))

    r = returns.reindex(pd.DatetimeIndex(oof["trade_date"])).to_numpy(dtype=float)
    signal = p - 0.5
    known = np.isfinite(r) & np.isfinite(signal)
    fold = oof["fold"].to_numpy()
    out = {}
    for name, corr in (("ic", correlation), ("rank_ic", spearman)):
        out[name] = corr(signal[known], r[known]) if known.sum() > 2 else float("nan")
        per_fold = np.array(
            [corr(signal[known & (fold == f)], r[known & (fold == f)]) for f in np.unique(fold[known])]
        )  # one value per fold
        mean = float(per_fold.mean()) if len(per_fold) else float("nan")
        se = per_fold.std(ddof=1) / np.sqrt(len(per_fold)) if len(per_fold) > 1 else float("nan")
        out[f"{name}_fold_mean"] = mean
        out[f"{name}_tstat"] = float(mean / se) if se and se > 0 else float("nan")
    return out
