"""Scores and statistics used by training, evaluation and the backtest.

Classification scores come from scikit-learn (the loops over thousands of resamples use :func:`rank_auc`, the
same AUC without scikit-learn's per-call validation).  Three statistics are written out here because no maintained
library provides them in this form: the probabilistic and deflated Sharpe ratios (Bailey & Lopez de Prado
2012, 2014: closed-form expressions, implemented as published), the fast DeLong test for two correlated AUCs
(Sun & Xu 2014) and a stratified bootstrap of the AUC.
"""

from __future__ import annotations

import math

import numpy as np

# The normal distribution through scipy.special's ufuncs, not scipy.stats.norm: importing scipy.stats costs the
# backtest stage about 0.7 s (it parses hundreds of docstrings), scipy.special about 0.1 s.  norm.cdf(x) is
# ndtr(x), norm.sf(x) is ndtr(-x) and norm.ppf(q) is ndtri(q) for the standard normal, the same bits (tested).
from scipy.special import ndtr, ndtri

from almanac import numerics
from almanac.ml.curves import binary_roc_curve, exact_binary_inputs

EULER_GAMMA = 0.5772156649015329


def classification_scores(y: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, float]:
    """``auc`` (macro one-vs-rest when multiclass), ``accuracy`` (argmax), ``brier`` (multiclass: mean sum of
    squares over classes) and ``log_loss`` for integer-coded labels ``y`` and an ``(n, n_classes)`` ``proba``.
    AUC is NaN when the labels hold a single class."""
    y = np.asarray(y, dtype=int)
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1 - 1e-15)
    proba = proba / proba.sum(axis=1, keepdims=True)
    if n_classes == 2 and len(y) and np.isin(y, (0, 1)).all() and np.isfinite(proba).all():
        return _binary_scores(y, proba)
    # Imported here: the backtest stage reads this module but not scikit-learn (about 0.15 s of its start).
    from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

    labels = np.arange(n_classes)
    present = np.unique(y)
    if n_classes == 2:
        auc = roc_auc_score(y, proba[:, 1]) if len(present) == 2 else float("nan")
        brier = brier_score_loss(y, proba[:, 1])
    else:
        auc = (
            roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels)
            if len(present) == n_classes
            else float("nan")
        )
        onehot = (y[:, None] == labels[None, :]).astype(float)
        brier = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    return {
        "auc": float(auc),
        "accuracy": float(accuracy_score(y, proba.argmax(axis=1))),
        "brier": float(brier),
        "log_loss": float(log_loss(y, proba, labels=labels)),
    }


def _binary_scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """:func:`classification_scores` of 0/1 labels and finite probabilities: scikit-learn's ``roc_auc_score``,
    ``accuracy_score``, ``brier_score_loss`` and ``log_loss`` (``labels=[0, 1]``) as scikit-learn 1.9 computes them
    once its input checks have passed, so the same bits (tested), except the log loss's logarithm, which is
    :func:`almanac.numerics.log` (the same bits on every CPU) where scikit-learn's is numpy's.  Those checks cost
    about 4 ms a call, a tenth of the train stage's time over its 56 folds; other inputs go through scikit-learn."""
    onehot = np.stack((1 - y, y), axis=1).astype(np.float64)  # sklearn's one-hot of the positive label 1
    brier = np.average(np.sum((onehot - np.stack((1 - proba[:, 1], proba[:, 1]), axis=1)) ** 2, axis=1)) * 0.5
    eps = np.finfo(np.float64).eps
    clipped = np.clip(proba, eps, 1 - eps)
    # scikit-learn's _xlogy, with the logarithm of almanac.numerics: numpy's np.log (what scikit-learn calls) picks
    # its code per CPU, so its last bits differ between machines; this one is the same everywhere (within an ulp
    # of numpy's).
    xlogy = np.where(onehot == 0.0, 0.0, onehot * numerics.log(clipped))
    return {
        "auc": binary_auc(y, proba[:, 1]) if 0 < y.sum() < len(y) else float("nan"),
        "accuracy": float(np.average(y == proba.argmax(axis=1))),
        "brier": float(brier),
        "log_loss": float(np.average(-np.sum(xlogy, axis=1))),
    }


def binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    """``sklearn.metrics.roc_auc_score(y, score)`` for 0/1 labels ``y`` holding both classes and finite scores:
    the area under scikit-learn's ROC curve (:func:`almanac.ml.curves.binary_roc_curve`), the same bits (tested),
    without its input checks (about 1.5 ms a call); other inputs go through scikit-learn itself."""
    y, score = np.asarray(y), np.asarray(score)
    if not exact_binary_inputs(y, score):
        from sklearn.metrics import roc_auc_score  # lazily, as in classification_scores

        return float(roc_auc_score(y, score))
    fpr, tpr, _ = binary_roc_curve(y, score)
    # scipy.integrate.trapezoid(tpr, fpr), what scikit-learn's auc returns, as scipy 1.17 sums it (the same bits,
    # tested): importing scipy.integrate loads scipy.sparse and scipy.linalg, about 0.2 s of a stage's start.
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2.0, dtype=np.float64))


def null_auc_sd(n_pos: int, n_neg: int) -> float:
    """Standard deviation of the AUC of an uninformative score: sqrt((m + n + 1) / (12 m n))."""
    return math.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))


def bootstrap_auc_ci(
    y: np.ndarray, score: np.ndarray, *, n_boot: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Stratified bootstrap (resampling days within each class) percentile interval of the AUC."""
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if n_boot <= 0 or len(pos) == 0 or len(neg) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = np.empty((n_boot, len(y)), dtype=np.intp)
    for i in range(n_boot):  # one iteration per bootstrap sample (a few hundred): the draws, in the seed's order
        idx[i] = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
    aucs = resampled_rank_auc(y, score, idx)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(aucs, tail)), float(np.quantile(aucs, 1.0 - tail))


def stationary_bootstrap_indices(rng: np.random.Generator, n: int, block_days: int) -> np.ndarray:
    """Row indices of one stationary-bootstrap resample of ``n`` rows with mean block length ``block_days``.

    The draws of ``arch.bootstrap.StationaryBootstrap.update_indices`` (``rng.integers(n, size=n)``, then
    ``rng.random(n)``; a row starts a new block when its uniform is at most ``1 / block_days``, otherwise it
    follows the previous row, wrapping at ``n``), so a seed gives arch's resamples, computed without a loop per
    row and without importing arch (with the numba it loads, about a second of every stage start).
    """
    start = rng.integers(n, size=n, dtype=np.int64)
    fresh = rng.random(n) <= 1.0 / block_days
    fresh[0] = True
    rows = np.arange(n)
    block_start = np.maximum.accumulate(np.where(fresh, rows, 0))
    return (start[block_start] + (rows - block_start)) % n


def stationary_bootstrap_ci(
    statistic, *arrays: np.ndarray, block_days: int, n_boot: int, seed: int, level: float = 0.95, of_resamples=None
) -> tuple[float, float]:
    """Percentile interval of ``statistic(*arrays)`` under the stationary bootstrap (Politis & Romano 1994).

    Days are resampled in runs of geometric length with mean ``block_days``, so the serial dependence of daily
    outcomes (volatility clusters, regimes) stays in each resample; an i.i.d. bootstrap would understate the
    uncertainty.  :func:`stationary_bootstrap_indices` draws the resamples (those of
    ``arch.bootstrap.StationaryBootstrap`` for the same seed); a resample where the statistic is undefined (NaN:
    one class only) is left out of the quantiles.  ``of_resamples`` (optional) computes the same values for all
    resamples at once from ``(*arrays, rows)``, ``rows`` holding one resample's indices per row (e.g.
    :func:`resampled_rank_auc` for :func:`rank_auc`).
    """
    n = len(arrays[0])
    if n_boot <= 0 or n < 2 * block_days:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    arrays = tuple(np.asarray(a) for a in arrays)
    rows = np.empty((n_boot, n), dtype=np.intp)
    for i in range(n_boot):  # one iteration per resample (its draws, in the seed's order)
        rows[i] = stationary_bootstrap_indices(rng, n, block_days)
    if of_resamples is not None:
        values = np.asarray(of_resamples(*arrays, rows), dtype=float)
    else:
        values = np.array([statistic(*(a[r] for a in arrays)) for r in rows], dtype=float)  # one per resample
    if np.isnan(values).all():
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0
    return float(np.nanquantile(values, tail)), float(np.nanquantile(values, 1.0 - tail))


def rank_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of binary ``y`` (0/1) by the Mann-Whitney rank formula, ties counted one half; NaN with one class.

    The same number as ``sklearn.metrics.roc_auc_score`` (to ~1e-15, tested), for the loops that compute
    thousands of AUCs (bootstrap resamples, rolling windows): scikit-learn's input validation costs about a
    millisecond a call, which made those loops most of the evaluate stage's time.
    """
    y = np.asarray(y)
    n_pos = int(np.count_nonzero(y == 1))
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = midranks(score)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def resampled_rank_auc(y: np.ndarray, score: np.ndarray, rows: np.ndarray, *, chunk: int = 256) -> np.ndarray:
    """:func:`rank_auc` of ``y[r], score[r]`` for each row ``r`` of the index array ``rows`` (bootstrap resamples,
    rolling windows): the same values bit for bit (tested), without sorting each resample.

    The scores are ranked once; a resample's midranks then follow from how many of its days fall in each tie
    group (exact integer counts), so the sum of its positives' midranks is exact, as it is in :func:`rank_auc`
    (multiples of one half), and so is every AUC.  Sorting a thousand resamples one by one was most of the evaluate
    stage's own time.  Rows go ``chunk`` at a time to bound the memory; NaN scores go row by row (scipy's ranks).
    """
    y, score, rows = np.asarray(y), np.asarray(score), np.atleast_2d(np.asarray(rows, dtype=np.intp))
    if score.dtype.kind == "f" and np.isnan(score).any():
        return np.array([rank_auc(y[r], score[r]) for r in rows], dtype=float)  # one per resample
    _, group = np.unique(score, return_inverse=True)  # tie groups in ascending order of score
    positive = y == 1
    blocks = [_resampled_rank_auc(positive, group, rows[i : i + chunk]) for i in range(0, len(rows), chunk)]
    return np.concatenate(blocks) if blocks else np.empty(0)


def _resampled_rank_auc(positive: np.ndarray, group: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`resampled_rank_auc` of a block of rows: per resample and tie group, its days and its positives."""
    k, m = rows.shape
    n_groups = int(group.max()) + 1 if len(group) else 0
    keys = group[rows] + n_groups * np.arange(k)[:, None]  # (resample, tie group) as one index
    days = np.bincount(keys.ravel(), minlength=k * n_groups).reshape(k, n_groups)
    pos = np.bincount(keys[positive[rows]], minlength=k * n_groups).reshape(k, n_groups)
    below = np.cumsum(days, axis=1) - days  # days ranked below each tie group
    twice_rank_sum = (pos * (2 * below + days + 1)).sum(axis=1)  # a group's midrank is below + (days + 1) / 2
    n_pos = pos.sum(axis=1)
    n_neg = m - n_pos
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (twice_rank_sum / 2.0 - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos == 0) | (n_neg == 0), np.nan, auc)


def annualised_sharpe(daily: np.ndarray) -> float:
    """Mean over standard deviation of daily values, times sqrt(252); NaN without variation."""
    sd = np.std(daily, ddof=1)
    return float(np.mean(daily) / sd * np.sqrt(252)) if sd > 0 else float("nan")


def resampled_sharpe(daily: np.ndarray, rows: np.ndarray, *, chunk: int = 256) -> np.ndarray:
    """:func:`annualised_sharpe` of ``daily[r]`` for each row ``r`` of the index array ``rows`` (the backtest's
    bootstrap), all at once: numpy reduces each contiguous row as it reduces a 1-D array, so the same bits (tested)."""
    daily, rows = np.asarray(daily, dtype=float), np.atleast_2d(np.asarray(rows, dtype=np.intp))
    out = np.empty(len(rows))
    for i in range(0, len(rows), chunk):  # a few blocks of resamples, to bound the memory
        values = daily[rows[i : i + chunk]]
        sd = np.std(values, axis=1, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[i : i + chunk] = np.where(sd > 0, np.mean(values, axis=1) / sd * np.sqrt(252), np.nan)
    return out


def midranks(x: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(x, method="average")`` of a 1-D array: the same values (a tie group's first rank
    plus half its size less one, exact in floating point), without scipy's array-API dispatch, which cost five
    times the sort itself on the evaluate stage's thousands of resamples."""
    x = np.asarray(x)
    if x.ndim != 1 or (x.dtype.kind == "f" and np.isnan(x).any()):
        from scipy import stats  # lazily: only this rare case needs scipy.stats (slow to import)

        return stats.rankdata(x, method="average")  # NaN propagation and other shapes as scipy has them
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    first = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    counts = np.diff(first, append=len(x))
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat((first + 1).astype(np.float64) + (counts.astype(np.float64) - 1) / 2, counts)
    return ranks


def delong_test(y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray) -> tuple[float, float]:
    """Fast DeLong test of AUC(a) == AUC(b) on the same labelled days.  Returns (AUC(a) - AUC(b), two-sided p)."""
    y = np.asarray(y, dtype=int)
    order = np.argsort(-y, kind="stable")  # positives first
    m = int(y.sum())
    n = len(y) - m
    if m == 0 or n == 0:
        return float("nan"), float("nan")
    scores = np.vstack([np.asarray(score_a, float)[order], np.asarray(score_b, float)[order]])
    aucs, v01, v10 = [], [], []
    for s in scores:  # two scores
        tx, ty, tz = midranks(s[:m]), midranks(s[m:]), midranks(s)
        aucs.append((tz[:m].sum() - m * (m + 1) / 2.0) / (m * n))
        v01.append((tz[:m] - tx) / n)
        v10.append(1.0 - (tz[m:] - ty) / m)
    sx, sy = _covariance(np.array(v01)), _covariance(np.array(v10))
    var = (sx[0, 0] + sx[1, 1] - 2 * sx[0, 1]) / m + (sy[0, 0] + sy[1, 1] - 2 * sy[0, 1]) / n
    diff = aucs[0] - aucs[1]
    if var <= 0:
        return float(diff), float("nan")
    z = diff / math.sqrt(var)
    return float(diff), float(2.0 * ndtr(-abs(z)))  # scipy.stats.norm.sf(abs(z))


def _covariance(rows: np.ndarray) -> np.ndarray:
    """``np.cov(rows)`` from element-wise products and sums: ``np.cov`` multiplies with BLAS, whose kernel (and so
    the last bits) varies per CPU."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    k = len(rows)
    return np.array(
        [[(centred[i] * centred[j]).sum() / (rows.shape[1] - 1) for j in range(k)] for i in range(k)]
    )  # a 2 x 2 matrix


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation from element-wise products and sums (``scipy.stats.pearsonr`` takes norms with BLAS,
    whose kernel varies per CPU); NaN when either series is constant.  Spearman's is this on the ranks."""
    dx = np.asarray(x, dtype=float) - np.mean(x)
    dy = np.asarray(y, dtype=float) - np.mean(y)
    scale = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / scale) if scale > 0 else float("nan")


def probabilistic_sharpe(returns: np.ndarray, benchmark_sr: float = 0.0) -> float:
    """PSR(SR*) = Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2)), per-period SR, skew g3 and
    (non-excess) kurtosis g4 of the per-period returns."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    if len(r) < 3 or r.std(ddof=1) <= 1e-12 * max(abs(r.mean()), 1e-300):
        return float("nan")  # a (numerically) constant series has no Sharpe ratio
    sr = r.mean() / r.std(ddof=1)
    skew, kurtosis = skew_kurtosis(r)
    return psr_from_moments(sr, len(r), skew=skew, kurtosis=kurtosis, benchmark_sr=benchmark_sr)


def skew_kurtosis(x: np.ndarray) -> tuple[np.float64, np.float64]:
    """``scipy.stats.skew(x)`` and ``scipy.stats.kurtosis(x, fisher=False)`` of a 1-D array (biased; kurtosis
    not in excess; NaN when the variance is zero to rounding).

    The same operations in the same order as scipy 1.17's ``_moment`` (central moments by squaring), without
    importing scipy.stats, which was about 0.7 s of the backtest stage's start; the kurtosis has scipy's bits, the
    skew divides by ``m2 * sqrt(m2)`` where scipy raises ``m2`` to the power 1.5 (numpy's ``power`` picks its code
    per CPU, ``sqrt`` is exact everywhere): within an ulp or two of scipy's (tested on varied inputs).  Unlike
    scipy it does not warn about catastrophic cancellation on nearly constant data.
    """
    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=0, keepdims=True)
    with np.errstate(all="ignore"):  # overflow and 0 / 0 give inf and NaN, as in scipy
        d = x - mean
        square = d**2
        m2, m3, m4 = np.mean(square, axis=0), np.mean(square * d, axis=0), np.mean(square**2, axis=0)
        zero = m2 <= (np.finfo(m2.dtype).eps * np.squeeze(mean, axis=0)) ** 2
        skew = np.where(zero, np.nan, m3 / (m2 * np.sqrt(m2)))[()]  # m2 ** 1.5 (pow) differs by CPU; sqrt does not
        kurtosis = np.where(zero, np.nan, m4 / m2**2.0)[()]
    return skew, kurtosis


def psr_from_moments(sr: float, n: int, *, skew: float, kurtosis: float, benchmark_sr: float = 0.0) -> float:
    """:func:`probabilistic_sharpe` from a per-period Sharpe ratio, the number of periods and the skew and
    (non-excess) kurtosis of the returns: what a metrics file keeps of a run, so that runs can be deflated later."""
    values = (sr, skew, kurtosis, benchmark_sr)
    if n < 3 or not all(math.isfinite(v) for v in values):
        return float("nan")
    denom = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    if denom <= 0:
        return float("nan")
    return float(ndtr((sr - benchmark_sr) * math.sqrt(n - 1) / math.sqrt(denom)))  # scipy.stats.norm.cdf


def deflated_sharpe_benchmark(sr_trials_var: float, n_trials: int) -> float:
    """Expected maximum per-period SR of ``n_trials`` unskilled trials:
    sqrt(Var(SR)) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))."""
    if n_trials <= 1:
        return 0.0
    z1 = ndtri(1.0 - 1.0 / n_trials)  # scipy.stats.norm.ppf
    z2 = ndtri(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(sr_trials_var) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def psr_null_rates(
    n_trades: int,
    n_days: int,
    *,
    draws: int,
    seed: int,
    tail_df: float = 6.0,
    moves: np.ndarray | None = None,
    levels=(0.95, 0.99),
) -> dict[float, float]:
    """Monte Carlo of the PSR's false-positive rate for a strategy with no edge that trades ``n_trades`` of
    ``n_days`` days: the share of ``draws`` such strategies whose PSR(0) reaches each of ``levels``.

    Each draw's daily P&L is zero on the flat days and, on the trade days, a zero-mean fat-tailed move: a
    Student-t with ``tail_df`` degrees of freedom, or (``moves``) a resample of given moves with random signs (e.g.
    a market's cutoff-to-close moves: their tails and scale, no edge).  Its PSR is :func:`probabilistic_sharpe`'s
    formula from the same moments (biased skew and non-excess kurtosis, Sharpe with ``ddof=1``).  A valid test has
    a rate near ``1 - level``; with few trades the sample skew and kurtosis of a mostly-zero series are too noisy
    and the rate is well above it.
    """
    rng = np.random.default_rng(seed)
    if moves is None:
        x = rng.standard_t(tail_df, size=(draws, n_trades))
    else:
        moves = np.asarray(moves, dtype=float)
        x = rng.choice(moves[np.isfinite(moves)], size=(draws, n_trades)) * rng.choice([-1.0, 1.0], (draws, n_trades))
    x2 = x * x
    s1, s2, s3, s4 = x.sum(axis=1), x2.sum(axis=1), (x2 * x).sum(axis=1), (x2 * x2).sum(axis=1)
    mean = s1 / n_days  # the flat days add zeros to every sum
    m2 = s2 / n_days - mean**2
    m3 = s3 / n_days - 3 * mean * s2 / n_days + 2 * mean**3
    m4 = s4 / n_days - 4 * mean * s3 / n_days + 6 * mean**2 * s2 / n_days - 3 * mean**4
    sr = mean / np.sqrt(m2 * n_days / (n_days - 1))
    skew, kurtosis = m3 / (m2 * np.sqrt(m2)), m4 / m2**2
    denom = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    z = np.where(denom > 0, sr * math.sqrt(n_days - 1) / np.sqrt(np.where(denom > 0, denom, 1.0)), -np.inf)
    psr = ndtr(z)  # scipy.stats.norm.cdf
    return {level: float((psr >= level).mean()) for level in levels}
