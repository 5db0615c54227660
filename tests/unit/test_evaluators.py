"""ModelEvaluator and the plot tables, checked against scikit-learn and hand-computed values."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    classification_report,
    confusion_matrix,
    log_loss,
    roc_auc_score,
    roc_curve,
)

from almanac.ml.calibration import calibration_table
from almanac.ml.diagnostics import rolling_auc
from almanac.ml.evaluators import ModelEvaluator, confusion_table, roc_table
from almanac.ml.explanations import shap_importance
from almanac.ml.models import ModelFactory

EV = ModelEvaluator()


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(21)
    n = 80
    X = pd.DataFrame(
        {"signal": rng.normal(size=n), "weak": rng.normal(size=n), "noise": rng.normal(size=n)},
        index=pd.bdate_range("2022-01-03", periods=n),
    )
    y = pd.Series((2 * X["signal"] + 0.5 * X["weak"] + rng.normal(size=n) > 0).astype(int), index=X.index)
    return X, y


@pytest.fixture(scope="module")
def binary_case():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200)
    p1 = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, 200), 0.02, 0.98)
    return y, (p1 > 0.5).astype(int), np.column_stack([1 - p1, p1])


# --- evaluate_classification -------------------------------------------------------------------------------


def test_evaluate_classification_small_golden_case():
    out = EV.evaluate_classification([1, 0, 1, 1], [1, 0, 0, 1])
    assert set(out) == {"accuracy", "confusion_matrix", "classification_report"}
    assert out["accuracy"] == 0.75
    np.testing.assert_array_equal(out["confusion_matrix"], [[1, 0], [1, 2]])


def test_evaluate_classification_binary_matches_sklearn(binary_case):
    y, y_pred, proba = binary_case
    out = EV.evaluate_classification(y, y_pred, proba)
    assert set(out) == {"accuracy", "confusion_matrix", "classification_report", "roc_auc", "brier", "log_loss"}
    assert out["accuracy"] == pytest.approx(accuracy_score(y, y_pred))
    np.testing.assert_array_equal(out["confusion_matrix"], confusion_matrix(y, y_pred))
    assert out["classification_report"] == classification_report(y, y_pred, zero_division=0)
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]), abs=1e-12)
    assert out["brier"] == pytest.approx(brier_score_loss(y, proba[:, 1]), abs=1e-12)
    assert out["log_loss"] == pytest.approx(log_loss(y, proba), abs=1e-12)


def test_evaluate_classification_accepts_a_one_column_probability(binary_case):
    y, y_pred, proba = binary_case
    one = EV.evaluate_classification(y, y_pred, proba[:, 1])
    two = EV.evaluate_classification(y, y_pred, proba)
    assert (one["roc_auc"], one["brier"], one["log_loss"]) == pytest.approx(
        (two["roc_auc"], two["brier"], two["log_loss"])
    )


def test_evaluate_classification_multiclass_string_labels_matches_sklearn():
    rng = np.random.default_rng(8)
    classes = np.array(["Range", "TrendDown", "TrendUp"])
    codes = rng.integers(0, 3, 150)
    raw = rng.dirichlet([1, 1, 1], 150) + 0.8 * np.eye(3)[codes]
    proba = raw / raw.sum(axis=1, keepdims=True)
    y, y_pred = classes[codes], classes[proba.argmax(axis=1)]
    out = EV.evaluate_classification(y, y_pred, proba)
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=1e-12)
    assert out["log_loss"] == pytest.approx(log_loss(y, proba, labels=classes), abs=1e-12)
    assert out["brier"] == pytest.approx(np.mean(np.sum((proba - np.eye(3)[codes]) ** 2, axis=1)), abs=1e-12)
    np.testing.assert_array_equal(out["confusion_matrix"], confusion_matrix(y, y_pred, labels=classes))


def test_evaluate_classification_on_a_window_with_one_class():
    proba = np.array([[0.1, 0.9], [0.2, 0.8], [0.6, 0.4]])
    out = EV.evaluate_classification([1, 1, 1], [1, 1, 0], proba)
    assert np.isnan(out["roc_auc"])  # as classification_scores does for a single class
    assert out["brier"] == pytest.approx((0.01 + 0.04 + 0.36) / 3)
    assert out["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4])))


def test_evaluate_classification_never_scores_misaligned_probability_columns():
    classes = ["Range", "TrendDown", "TrendUp"]  # the model's classes; this window holds no Range day
    y = np.array(["TrendDown", "TrendUp", "TrendUp", "TrendDown"])
    proba = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7], [0.1, 0.7, 0.2]])
    with contextlib.suppress(ValueError):  # refusing to guess which column is which is acceptable ...
        out = EV.evaluate_classification(y, y, proba)
        # ... silently scoring the Range and TrendDown columns as if they were TrendDown and TrendUp is not
        assert out["log_loss"] == pytest.approx(log_loss(y, proba, labels=classes))
        assert np.isnan(out["roc_auc"]) or out["roc_auc"] == pytest.approx(1.0)  # undefined, or the true 1.0


# --- SHAP --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "logistic"])
def test_shap_values_are_rows_by_features(name, data):
    X, y = data
    params = {"n_estimators": 20, "min_child_samples": 5} if name == "lightgbm" else None
    params = {"n_estimators": 20, "min_child_weight": 1.0} if name == "xgboost" else params  # 80 rows
    model = ModelFactory.create(name, params).fit(X, y)
    values = EV.compute_shap_values(model, X)
    assert values.shape == (80, 3)
    importance = shap_importance(values, list(X.columns))
    assert importance["feature"].iloc[0] == "signal"  # the planted feature matters most


def test_tree_shap_values_add_up_to_the_raw_score(data):
    X, y = data
    model = ModelFactory.create("lightgbm", {"n_estimators": 20, "min_child_samples": 5}).fit(X, y)
    values = EV.compute_shap_values(model, X)
    offset = model.predict(X, raw_score=True) - values.sum(axis=1)
    np.testing.assert_allclose(offset, offset[0], atol=1e-6)  # the same expected value for every row


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("missing", [False, True])
def test_lightgbm_shap_values_are_shaps_tree_explainer_bit_for_bit(data, classes, missing):
    """LightGBM's SHAP values are computed without shap (:func:`lightgbm_tree_shap`): the same bits as
    ``shap.TreeExplainer``, binary and multiclass, with missing feature values."""
    import shap

    from almanac.ml.explanations import lightgbm_tree_shap

    X, y = data
    X = X.mask(np.arange(len(X))[:, None] % 7 == np.arange(X.shape[1])[None, :]) if missing else X  # NaN cells
    y = np.digitize(X["signal"].fillna(0.0), [-0.5, 0.5]) if classes == 3 else y
    model = ModelFactory.create("lightgbm", {"n_estimators": 30, "min_child_samples": 5}).fit(X, y)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer", category=UserWarning)
        expected = shap.TreeExplainer(model).shap_values(X)
    got = lightgbm_tree_shap(model, X)
    assert got.shape == expected.shape == ((80, 3) if classes == 2 else (80, 3, 3))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(EV.compute_shap_values(model, X), expected)


def test_logistic_shap_values_are_coefficient_times_centred_input(data):
    X, y = data
    model = ModelFactory.create("logistic").fit(X, y)
    values = EV.compute_shap_values(model, X)  # 80 rows <= 100 background samples: all rows are background
    Z = model[:-1].transform(X)
    coef = model.named_steps["model"].coef_[0]
    np.testing.assert_allclose(values, coef * (Z - Z.mean(axis=0)), atol=1e-9)


def test_shap_values_of_a_bare_logistic_regression(data):
    X, y = data
    model = LogisticRegression().fit(X, y)  # the original design's create_logistic: no pipeline
    values = EV.compute_shap_values(model, X)
    np.testing.assert_allclose(values, model.coef_[0] * (X - X.mean()).to_numpy(), atol=1e-9)


def test_multiclass_shap_values_put_classes_last(data):
    X, _ = data
    y3 = np.digitize(X["signal"], [-0.5, 0.5])
    model = ModelFactory.create("lightgbm", {"n_estimators": 10, "min_child_samples": 5}).fit(X, y3)
    values = EV.compute_shap_values(model, X)
    assert values.shape == (80, 3, 3)
    assert shap_importance(values, list(X.columns))["feature"].iloc[0] == "signal"


def test_baselines_have_no_shap_values(data):
    X, y = data
    model = ModelFactory.create("base_rate").fit(X, y)
    assert EV.compute_shap_values(model, X) is None
    importance = shap_importance(None, ["a", "b"])
    assert list(importance["feature"]) == ["a", "b"]
    assert importance["mean_abs_shap"].isna().all()


def test_a_model_with_features_and_no_explainer_fails_loudly(data):
    """SHAP dispatches on the estimator's registered class (``EXPLAINERS``), not on its class name: an unknown
    learner is an error naming it, never a silent "no importance"."""
    from sklearn.neighbors import KNeighborsClassifier

    from almanac.ml.models import NoExplainerError

    X, y = data
    with pytest.raises(NoExplainerError, match=r"sklearn\.neighbors.*KNeighborsClassifier.*EXPLAINERS"):
        EV.compute_shap_values(KNeighborsClassifier().fit(X, y), X)


def test_a_registered_or_inherited_explainer_applies(data, monkeypatch):
    """A subclass of a registered learner (whatever its name) inherits its explainer; a new learner registers its
    class and is explained."""
    import lightgbm
    from sklearn.tree import DecisionTreeClassifier

    from almanac.ml import models

    class RenamedBooster(lightgbm.LGBMClassifier):
        pass

    X, y = data
    booster = RenamedBooster(n_estimators=10, min_child_samples=5, verbose=-1).fit(X, y)
    assert EV.compute_shap_values(booster, X).shape == (80, 3)
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    monkeypatch.setitem(models.EXPLAINERS, DecisionTreeClassifier, "tree")
    assert EV.compute_shap_values(tree, X).shape[:2] == (80, 3)


def test_shap_importance_orders_by_mean_absolute_value():
    values = np.array([[1.0, -3.0, 2.0, 0.0], [-1.0, 3.0, -2.0, 2.0]])  # mean |.|: a 1, b 3, c 2, d 1
    out = shap_importance(values, ["d_tie", "b", "c", "a_tie"])
    assert list(out["feature"]) == ["b", "c", "a_tie", "d_tie"]  # ties broken by name
    np.testing.assert_allclose(out["mean_abs_shap"], [3.0, 2.0, 1.0, 1.0])


def test_shap_importance_averages_classes():
    values = np.zeros((2, 2, 2))
    values[:, 0, :] = [[1.0, 3.0], [-1.0, -3.0]]  # feature x: mean |.| over classes and rows = 2
    values[:, 1, 0] = 5.0  # feature y: (5 + 0) / 2 = 2.5
    out = shap_importance(values, ["x", "y"])
    assert list(out["feature"]) == ["y", "x"]
    np.testing.assert_allclose(out["mean_abs_shap"], [2.5, 2.0])


# --- drift -------------------------------------------------------------------------------------------------


def test_concept_drift_scores_auc_not_accuracy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    X = pd.DataFrame({"x": x})
    y = (x > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    model.coef_, model.intercept_ = np.array([[1.0]]), np.array([5.0])  # P(1) = sigmoid(x + 5) > 0.5 everywhere
    assert (model.predict(X) == 1).all()  # accuracy is the base rate, the ranking is intact
    windows_X, windows_y = [X[:100], X[100:]], [y[:100], 1 - y[100:]]  # the relation flips in window 2
    assert model.score(X[:100], y[:100]) == pytest.approx(y[:100].mean())
    assert EV.detect_concept_drift(model, windows_X, windows_y) == [1.0, 0.0]


def test_concept_drift_single_class_window_is_nan_and_lengths_must_match():
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    scores = EV.detect_concept_drift(model, [X, X[:2]], [[0, 0, 1, 1], [0, 0]])
    assert scores[0] == 1.0
    assert np.isnan(scores[1])
    with pytest.raises(ValueError):
        EV.detect_concept_drift(model, [X, X], [[0, 0, 1, 1]])


def test_rolling_auc_windows():
    rng = np.random.default_rng(9)
    dates = pd.bdate_range("2024-01-01", periods=23)
    y = rng.integers(0, 2, 23)
    y[:10] = [0, 1] * 5
    score = rng.uniform(size=23)
    out = rolling_auc(pd.Series(dates), y, score, window_days=10, step_days=5)
    assert list(out.columns) == ["trade_date", "auc"]
    assert list(out["trade_date"]) == [dates[9], dates[14], dates[19]]  # windows end at days 10, 15, 20
    for end, auc in zip([10, 15, 20], out["auc"], strict=True):
        assert auc == pytest.approx(roc_auc_score(y[end - 10 : end], score[end - 10 : end]))


def test_rolling_auc_single_class_window_is_nan():
    out = rolling_auc(
        pd.Series(pd.bdate_range("2024-01-01", periods=4)),
        [1, 1, 0, 1],
        [0.1, 0.2, 0.3, 0.4],
        window_days=2,
        step_days=2,
    )
    assert np.isnan(out["auc"].iloc[0])
    assert out["auc"].iloc[1] == 1.0  # y 0 scored 0.3, y 1 scored 0.4


# --- calibration, ROC and confusion tables -----------------------------------------------------------------


def test_calibration_table_golden():
    p = np.array([0.05, 0.15, 0.12, 0.95, 1.0, 0.0])
    y = np.array([0, 1, 0, 1, 1, 0])
    out = calibration_table(y, p, bins=10)
    assert list(out.columns) == ["bin", "bin_low", "bin_high", "mean_predicted", "observed", "count", "perfect"]
    assert (out["perfect"] == out["mean_predicted"]).all()
    assert list(out["bin"]) == [0, 1, 9]  # p = 1.0 belongs to the last bin
    assert list(out["count"]) == [2, 2, 2]
    np.testing.assert_allclose(out["observed"], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(out["mean_predicted"], [0.025, 0.135, 0.975])
    np.testing.assert_allclose(out["bin_low"], [0.0, 0.1, 0.9])
    np.testing.assert_allclose(out["bin_high"], [0.1, 0.2, 1.0])


def test_calibration_table_invariants():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p).astype(int)
    out = calibration_table(y, p, bins=8)
    assert out["count"].sum() == 500
    assert out["observed"].between(0, 1).all()
    assert (out["mean_predicted"] >= out["bin_low"]).all()
    assert (out["mean_predicted"] <= out["bin_high"]).all()


def test_roc_table_matches_sklearn_with_thresholds_capped(binary_case):
    y, _, proba = binary_case
    out = roc_table(y, proba[:, 1])
    fpr, tpr, _ = roc_curve(y, proba[:, 1])
    np.testing.assert_allclose(out["fpr"], fpr)
    np.testing.assert_allclose(out["tpr"], tpr)
    assert (out["fpr"].iloc[0], out["tpr"].iloc[0]) == (0.0, 0.0)
    assert (out["fpr"].iloc[-1], out["tpr"].iloc[-1]) == (1.0, 1.0)
    assert out["threshold"].max() == 1.0  # sklearn's first threshold is +inf
    assert (out["chance"] == out["fpr"]).all()  # the diagonal drawn beside the curve
    assert np.isfinite(out["threshold"]).all()


def test_confusion_table_long_format():
    out = confusion_table(np.array(["up", "up", "down", "up"]), np.array(["up", "down", "down", "up"]), ["down", "up"])
    assert list(out.columns) == ["actual", "predicted", "count"]
    assert out.to_dict("records") == [
        {"actual": "down", "predicted": "down", "count": 1},
        {"actual": "down", "predicted": "up", "count": 0},
        {"actual": "up", "predicted": "down", "count": 1},
        {"actual": "up", "predicted": "up", "count": 2},
    ]


def test_evaluate_classification_with_explicit_classes_scores_the_right_columns():
    classes = ["Range", "TrendDown", "TrendUp"]
    y = np.array(["TrendDown", "TrendUp", "TrendUp", "TrendDown"])
    proba = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7], [0.1, 0.7, 0.2]])
    out = EV.evaluate_classification(y, y, proba, classes=classes)
    assert out["log_loss"] == pytest.approx(log_loss(y, proba, labels=classes))
    with pytest.raises(ValueError, match="pass classes="):
        EV.evaluate_classification(y, y, proba)
