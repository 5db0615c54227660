"""The results of scikit-learn and scipy.stats that the ``evaluate`` stage reports for a binary target, computed
with numpy alone: the ROC curve, the confusion counts and the one-sample t-test's p-value.

Each is the same operations in the same order as the library's (scikit-learn 1.9, scipy 1.17) once its input
checks have passed, so the same bits (tested on varied inputs against the libraries themselves); inputs outside
the exact path (NaN, labels other than 0/1, other shapes) go to the library, imported then.  Importing
``sklearn.metrics`` (which loads ``scipy.stats``) was about a second of the stage's two.
"""

from __future__ import annotations

import numpy as np

# scipy.special (already loaded by almanac.ml.metrics) holds the Student-t distribution function that
# scipy.stats.ttest_1samp calls, without importing scipy.stats.
from scipy.special import stdtr


def exact_binary_inputs(y: np.ndarray, score: np.ndarray) -> bool:
    """Whether ``y`` (0/1 labels holding both classes) and ``score`` (finite real numbers, one per label) are
    inputs that :func:`binary_roc_curve` computes itself (else it calls scikit-learn)."""
    return (
        y.ndim == 1
        and score.shape == y.shape
        and y.dtype.kind in "biuf"
        and score.dtype.kind in "biuf"
        and bool(np.isin(y, (0, 1)).all())
        and 0 < np.count_nonzero(y) < len(y)
        and bool(np.isfinite(score).all())
    )


def binary_roc_curve(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sklearn.metrics.roc_curve(y, score)`` (``drop_intermediate=True``): false and true positive rates and
    the thresholds (the first ``inf``, as in scikit-learn 1.3 and later), the same arrays bit for bit.

    Exact for 0/1 labels holding both classes and finite scores; other inputs go through scikit-learn itself
    (its errors and warnings included).
    """
    y, score = np.asarray(y), np.asarray(score)
    if not exact_binary_inputs(y, score):
        from sklearn.metrics import roc_curve  # lazily: only inputs off the exact path need scikit-learn

        return roc_curve(y, score)
    last = len(y) - 1
    order = last - np.flip(np.argsort(np.flip(score), kind="stable"))  # scikit-learn's stable descending sort
    ordered = score[order]
    ends = np.concatenate([np.nonzero(np.diff(ordered))[0], [last]])  # the last day of each distinct score
    tps = np.cumsum((y[order] == 1).astype(np.int32).astype(np.float64))[ends]  # exact counts
    fps = 1 + ends.astype(np.float64) - tps
    thresholds = ordered[ends]
    if len(fps) > 2:  # drop_intermediate: points collinear with their neighbours
        keep = np.nonzero(np.concatenate([[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]]))[0]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps = np.concatenate([[0.0], tps])
    fps = np.concatenate([[0.0], fps])
    thresholds = np.concatenate([[np.inf], thresholds.astype(np.float64)])
    return fps / fps[-1], tps / tps[-1], thresholds


def binary_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=[0, 1])``: ``[[tn, fp], [fn, tp]]`` as int64,
    counted with ``np.bincount`` (exact) for 0/1 integer or boolean labels; other inputs go through scikit-learn."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    exact = y_true.ndim == 1 and y_pred.shape == y_true.shape and y_true.dtype.kind in "biu"
    if not (exact and y_pred.dtype.kind in "biu" and np.isin(y_true, (0, 1)).all() and np.isin(y_pred, (0, 1)).all()):
        from sklearn.metrics import confusion_matrix  # lazily, as in binary_roc_curve

        return confusion_matrix(y_true, y_pred, labels=[0, 1])
    cells = 2 * y_true.astype(np.int64) + y_pred.astype(np.int64)
    return np.bincount(cells, minlength=4).astype(np.int64).reshape(2, 2)


def ttest_1samp_pvalue(a: np.ndarray) -> float:
    """``scipy.stats.ttest_1samp(a, 0.0).pvalue`` (two-sided) of a 1-D float array of two or more values: scipy's
    mean, variance (``ddof=1``, by squared deviations) and ``2 * stdtr(n - 1, -|t|)`` in its order, the same bits
    (tested), without importing scipy.stats.  Unlike scipy it does not warn on nearly constant data."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[0]
    mean = np.mean(a)
    deviation = a - np.mean(a, keepdims=True)
    v = np.mean(deviation**2) * (np.float64(n) / np.float64(n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean - np.float64(0.0)) / np.sqrt(v / n)
    return float(2 * stdtr(np.float64(n - 1), -np.abs(t)))
