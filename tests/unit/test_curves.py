"""almanac.ml.curves: scikit-learn's ROC curve and confusion counts and scipy's one-sample t-test, bit for bit."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import confusion_matrix, roc_curve

from almanac.ml.curves import binary_confusion_matrix, binary_roc_curve, ttest_1samp_pvalue


def _assert_same_bits(got, expected):
    """Equal values, dtypes and (floats) bits: signed zeros and NaN payloads included."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    if got.dtype.kind == "f":
        np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))


def _roc_cases():
    rng = np.random.default_rng(31)
    for n in (3, 9, 126, 1754):
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        yield f"random{n}", y, np.clip(0.5 + 0.1 * (y - 0.5) + rng.normal(0, 0.1, n), 0.01, 0.99)
    yield "two_rows", np.array([1, 0]), np.array([0.3, 0.7])
    yield "two_rows_tied", np.array([0, 1]), np.array([0.5, 0.5])
    y = rng.integers(0, 2, 500)
    y[:2] = [0, 1]
    yield "ties", y, np.round(rng.random(500) * 0.2 + 0.4 + 0.05 * y, 2)
    yield "few_values", y, rng.choice([0.3, 0.5, 0.7], 500)
    yield "all_equal", y, np.full(500, 0.52)
    yield "extremes", y, np.where(rng.random(500) < 0.5, 0.0, 1.0) * (1 - 1e-17) + rng.random(500) * 1e-16
    yield "huge_and_tiny", y, rng.choice([-1e308, -5e-324, 0.0, 5e-324, 1e308, 1.0], 500)
    yield "signed_zeros", y, np.where(rng.random(500) < 0.5, 0.0, -0.0) + 0.5 * (rng.random(500) < 0.4)
    yield "boolean_labels", y == 1, rng.random(500)
    yield "float_labels", y.astype(float), rng.random(500)
    yield "boolean_scores", y, rng.random(500) < 0.3 + 0.3 * y
    yield "integer_scores", y, rng.integers(-3, 4, 500)
    yield "float32_scores", y, rng.random(500).astype(np.float32)
    yield "perfect", np.r_[np.zeros(50, int), np.ones(50, int)], np.linspace(0, 1, 100)


@pytest.mark.parametrize(("name", "y", "score"), list(_roc_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_binary_roc_curve_is_scikit_learns_bit_for_bit(name, y, score):
    got = binary_roc_curve(y, score)
    with np.errstate(over="ignore", invalid="ignore"):  # scikit-learn's finiteness check sums the huge scores
        expected = roc_curve(y, score)
    assert len(got) == len(expected) == 3
    for ours, theirs in zip(got, expected, strict=True):
        _assert_same_bits(ours, theirs)
    assert got[2][0] == np.inf


def test_binary_roc_curve_leaves_other_inputs_to_scikit_learn():
    with pytest.raises(ValueError, match="NaN"):
        binary_roc_curve(np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]))  # scikit-learn's error
    y, p = np.array([1, 2, 2, 1]), np.array([0.1, 0.8, 0.6, 0.2])  # scikit-learn refuses to guess the positive label
    with pytest.raises(ValueError, match="pos_label"):
        binary_roc_curve(y, p)
    y, p = np.array([-1, 1, 1, -1]), np.array([0.1, 0.8, 0.6, 0.2])  # -1/1 labels: scikit-learn's positive is 1
    for ours, theirs in zip(binary_roc_curve(y, p), roc_curve(y, p), strict=True):
        _assert_same_bits(ours, theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one class: scikit-learn warns and returns NaN rates
        for ours, theirs in zip(binary_roc_curve(np.ones(5), np.arange(5.0)), roc_curve(np.ones(5), np.arange(5.0)),
                                strict=True):  # fmt: skip
            _assert_same_bits(ours, theirs)


@pytest.mark.parametrize("kind", ["random", "all_zero", "all_one", "one_row", "booleans", "uint8", "outside"])
def test_binary_confusion_matrix_is_scikit_learns(kind):
    rng = np.random.default_rng(32)
    y_true, y_pred = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    if kind == "all_zero":
        y_true, y_pred = np.zeros(20, int), np.zeros(20, int)
    elif kind == "all_one":
        y_pred = np.ones(300, int)
    elif kind == "one_row":
        y_true, y_pred = y_true[:1], y_pred[:1]
    elif kind == "booleans":
        y_true, y_pred = y_true == 1, y_pred == 1
    elif kind == "uint8":
        y_true, y_pred = y_true.astype(np.uint8), y_pred.astype(np.uint8)
    elif kind == "outside":  # a label outside [0, 1]: scikit-learn leaves the day out of the counts
        y_true[:5] = 2
    _assert_same_bits(binary_confusion_matrix(y_true, y_pred), confusion_matrix(y_true, y_pred, labels=[0, 1]))


def _ttest_cases():
    rng = np.random.default_rng(33)
    yield "two", np.array([0.1, 0.3])
    yield "folds", rng.normal(0.1, 0.05, 14)  # the evaluate stage's per-fold AUC differences
    yield "negative", rng.normal(-0.02, 0.05, 14)
    yield "many", rng.normal(0.0, 1.0, 2001)
    yield "tiny", rng.normal(1e-300, 1e-301, 30)
    yield "huge", rng.normal(1e150, 1e149, 30)
    yield "offset", 1e6 + rng.normal(0, 1e-3, 50)  # large mean, small spread
    yield "signed_zero_mean", np.array([-0.5, 0.5, -0.25, 0.25])
    yield "strong", rng.normal(5.0, 0.01, 14)  # a p-value far in the tail


@pytest.mark.parametrize(("name", "a"), list(_ttest_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_ttest_1samp_pvalue_is_scipys_bit_for_bit(name, a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's precision warning on nearly constant data
        expected = stats.ttest_1samp(a, 0.0).pvalue
    got = ttest_1samp_pvalue(a)
    assert type(got) is float
    assert np.float64(got).view(np.int64) == np.float64(expected).view(np.int64), (got, expected)


def test_the_binary_evaluation_modules_import_neither_scikit_learn_nor_scipy_stats():
    """A binary target's evaluation (and the oracle) loads none of the slow libraries: scikit-learn with the
    scipy.stats it imports was about a second of the evaluate stage's two."""
    code = (
        "import sys, almanac.ml.evaluators, almanac.ml.diagnostics, almanac.ml.explanations, "
        "almanac.ml.calibration, almanac.synth.oracle; "
        "print(sorted(m for m in ('sklearn', 'scipy.stats', 'scipy.integrate', 'lightgbm', 'shap') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
