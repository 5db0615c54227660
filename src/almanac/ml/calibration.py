"""Calibration of out-of-fold probabilities: the reliability table, the expected calibration error (ECE) and how
much of an ECE is noise (its bootstrap interval, and the ECE a calibrated model with the same probabilities shows by
chance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ECE_NULL_DRAWS = 1000  # label draws from the model's own probabilities: the ECE a calibrated model shows by chance
ECE_NULL_QUANTILE = 0.95  # an ECE above this quantile of that null is evidence of miscalibration


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int) -> pd.DataFrame:
    """Reliability curve: per equal-width probability bin, mean predicted, observed frequency and count."""
    p = np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = _bin_of(p, bins)
    frame = pd.DataFrame({"bin": which, "p": p, "y": np.asarray(y, dtype=float)})
    table = (
        frame.groupby("bin")
        .agg(mean_predicted=("p", "mean"), observed=("y", "mean"), count=("y", "size"))
        .reset_index()
    )
    table["bin_low"] = edges[table["bin"]]
    table["bin_high"] = edges[table["bin"] + 1]
    table["perfect"] = table["mean_predicted"]  # the diagonal, drawn beside the observed frequencies
    return table[["bin", "bin_low", "bin_high", "mean_predicted", "observed", "count", "perfect"]]


def _bin_of(p: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bin of each probability (the bins of :func:`calibration_table`)."""
    return np.clip(np.digitize(p, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)


def _ece_rows(bin_index: np.ndarray, gap: np.ndarray, bins: int) -> np.ndarray:
    """ECE of each row of ``gap`` (predicted minus observed per day) with the days' bins ``bin_index`` (same shape):
    sum over bins of |sum of gaps in the bin| / days, which is the count-weighted |mean predicted - observed|."""
    rows, n = gap.shape
    keys = (np.arange(rows)[:, None] * bins + bin_index).reshape(-1)
    sums = np.bincount(keys, weights=gap.reshape(-1), minlength=rows * bins).reshape(rows, bins)
    return np.abs(sums).sum(axis=1) / n


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int) -> float:
    """ECE of probabilities ``p`` for 0/1 outcomes ``y`` over ``bins`` equal-width bins (count-weighted
    |mean predicted - observed frequency|); NaN without days."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if len(p) == 0:
        return float("nan")
    return float(_ece_rows(_bin_of(p, bins)[None, :], (p - y)[None, :], bins)[0])


def ece_noise(
    y: np.ndarray, p: np.ndarray, *, bins: int, n_boot: int, seed: int, level: float = 0.95
) -> dict[str, float]:
    """How much of an ECE is noise: ``ece_ci_low/high``, the percentile interval of the ECE over ``n_boot``
    bootstrap resamples of the days, and ``ece_null_mean``/``ece_null_p95``, the ECE that a *perfectly calibrated*
    model with these very probabilities shows by chance (outcomes drawn as Bernoulli(p), :data:`ECE_NULL_DRAWS`
    times).  With a few hundred days per bin the null is far from zero (the default run: about 0.02), so an ECE is
    judged against it rather than against a fixed number."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    n = len(p)
    out = dict.fromkeys(("ece_ci_low", "ece_ci_high", "ece_null_mean", "ece_null_p95"), float("nan"))
    if n == 0:
        return out
    rng = np.random.default_rng(seed)
    home = _bin_of(p, bins)
    draws = (rng.random((ECE_NULL_DRAWS, n)) < p).astype(float)  # outcomes of a calibrated forecaster
    null = _ece_rows(np.broadcast_to(home, draws.shape), p - draws, bins)
    out["ece_null_mean"], out["ece_null_p95"] = float(null.mean()), float(np.quantile(null, ECE_NULL_QUANTILE))
    if n_boot > 0:
        idx = rng.integers(0, n, size=(n_boot, n))
        boot = _ece_rows(home[idx], p[idx] - y[idx], bins)
        tail = (1.0 - level) / 2.0
        out["ece_ci_low"], out["ece_ci_high"] = float(np.quantile(boot, tail)), float(np.quantile(boot, 1.0 - tail))
    return out
