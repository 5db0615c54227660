"""ModelPredictor on hand-made checkpoints whose probabilities are known exactly."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from almanac.ml.models import BaseRateClassifier
from almanac.ml.predictors import NO_PREDICTION, ModelPredictor
from almanac.ml.registry import file_sha256

P_UP = np.array([0.65, 0.35, 0.5, 0.9, 0.59, 0.41])


def logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def sigmoid_model(names: list[str]) -> LogisticRegression:
    """A logistic regression whose P(code 1) is sigmoid(first feature): fitted, then its weights pinned."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, len(names))), columns=names)
    model = LogisticRegression().fit(X, (X[names[0]] > 0).astype(int))
    model.coef_ = np.zeros_like(model.coef_)
    model.coef_[0, 0] = 1.0
    model.intercept_ = np.zeros_like(model.intercept_)
    return model


def save(tmp_path, model, classes, names, scaler=None):
    path = tmp_path / "model.joblib"
    joblib.dump({"model": model, "scaler": scaler, "classes": classes, "feature_names": names}, path)
    return ModelPredictor(path, sha256=file_sha256(path))


def inputs(p_up=P_UP) -> pd.DataFrame:
    return pd.DataFrame({"logit_up": logit(p_up), "other": 1.0}, index=pd.bdate_range("2024-01-02", periods=len(p_up)))


def test_predict_proba_columns_follow_the_classes(tmp_path):
    predictor = save(tmp_path, sigmoid_model(["logit_up", "other"]), ["down", "up"], ["logit_up", "other"])
    proba = predictor.predict_proba(inputs())
    np.testing.assert_allclose(proba[:, 1], P_UP)
    np.testing.assert_allclose(proba[:, 0], 1 - P_UP)
    np.testing.assert_array_equal(predictor.classes, ["down", "up"])


def test_predict_proba_places_a_class_the_model_never_saw(tmp_path):
    # the final fit saw codes 0 and 2 only (no "b"): its two columns go to classes "a" and "c"
    model = BaseRateClassifier().fit(np.zeros((5, 1)), [0, 0, 2, 2, 2])
    predictor = save(tmp_path, model, ["a", "b", "c"], ["x"])
    proba = predictor.predict_proba(pd.DataFrame({"x": [0.0, 1.0]}))
    np.testing.assert_allclose(proba, [[0.4, 0.0, 0.6], [0.4, 0.0, 0.6]])


def test_predict_with_confidence_integer_classes(tmp_path):
    predictor = save(tmp_path, sigmoid_model(["logit_up", "other"]), [0, 1], ["logit_up", "other"])
    predictions, max_proba = predictor.predict_with_confidence(inputs(), threshold=0.6)
    # P(up) 0.65 -> 1; 0.35 -> 0 (down, max 0.65); 0.5 -> abstain; 0.9 -> 1; 0.59 and 0.41 -> abstain (max 0.59)
    np.testing.assert_array_equal(predictions, [1, 0, NO_PREDICTION, 1, NO_PREDICTION, NO_PREDICTION])
    assert NO_PREDICTION == -1
    np.testing.assert_allclose(max_proba, [0.65, 0.65, 0.5, 0.9, 0.59, 0.59])


def test_predict_with_confidence_string_classes(tmp_path):
    predictor = save(tmp_path, sigmoid_model(["logit_up", "other"]), ["down", "up"], ["logit_up", "other"])
    predictions, _ = predictor.predict_with_confidence(inputs(), threshold=0.6)
    assert list(predictions) == ["up", "down", "-1", "up", "-1", "-1"]


def test_threshold_at_one_half_always_predicts(tmp_path):
    predictor = save(tmp_path, sigmoid_model(["logit_up", "other"]), [0, 1], ["logit_up", "other"])
    predictions, _ = predictor.predict_with_confidence(inputs(np.array([0.65, 0.35, 0.51, 0.49])), threshold=0.5)
    np.testing.assert_array_equal(predictions, [1, 0, 1, 0])


def test_threshold_is_inclusive(tmp_path):
    model = BaseRateClassifier().fit(np.zeros((4, 1)), [0, 1, 1, 1])  # P(1) = 0.75 exactly
    predictor = save(tmp_path, model, [0, 1], ["x"])
    X = pd.DataFrame({"x": [0.0]})
    assert predictor.predict_with_confidence(X, threshold=0.75)[0][0] == 1
    assert predictor.predict_with_confidence(X, threshold=0.7500001)[0][0] == NO_PREDICTION


def test_multiclass_predictions_are_class_labels(tmp_path):
    model = BaseRateClassifier().fit(np.zeros((10, 1)), [0, 1, 1, 2, 2, 2, 2, 2, 2, 2])
    predictor = save(tmp_path, model, ["Range", "TrendDown", "TrendUp"], ["x"])
    predictions, max_proba = predictor.predict_with_confidence(pd.DataFrame({"x": [0.0]}), threshold=0.6)
    assert list(predictions) == ["TrendUp"]
    np.testing.assert_allclose(max_proba, [0.7])
    predictions, _ = predictor.predict_with_confidence(pd.DataFrame({"x": [0.0]}), threshold=0.8)
    assert list(predictions) == ["-1"]


def test_missing_feature_columns_are_named(tmp_path):
    predictor = save(tmp_path, sigmoid_model(["a", "b", "c"]), [0, 1], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"features missing for this model: \['b', 'c'\]"):
        predictor.predict_proba(pd.DataFrame({"a": [0.0], "z": [1.0]}))


def test_extra_and_reordered_columns_are_fine(tmp_path):
    predictor = save(tmp_path, sigmoid_model(["logit_up", "other"]), [0, 1], ["logit_up", "other"])
    X = inputs()
    shuffled = X.assign(extra=9.0)[["extra", "other", "logit_up"]]
    np.testing.assert_array_equal(predictor.predict_proba(shuffled), predictor.predict_proba(X))


def test_scaler_is_applied_before_the_model(tmp_path):
    X = inputs()
    scaler = StandardScaler().fit(X)
    predictor = save(tmp_path, sigmoid_model(["logit_up", "other"]), [0, 1], ["logit_up", "other"], scaler=scaler)
    z = (X["logit_up"] - X["logit_up"].mean()) / X["logit_up"].std(ddof=0)
    np.testing.assert_allclose(predictor.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)))


def test_morning_reasons_fail_loudly_for_a_model_without_an_explainer():
    """``almanac predict``'s reasons dispatch through the same registry as the evaluate stage's importance."""
    from types import SimpleNamespace

    from sklearn.neighbors import KNeighborsClassifier

    from almanac.ml.explanations import shap_contributions
    from almanac.ml.models import NoExplainerError

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = KNeighborsClassifier(n_neighbors=1).fit(X, [0, 1, 0, 1])
    predictor = SimpleNamespace(model=model, feature_names=["a", "b"])
    with pytest.raises(NoExplainerError, match="KNeighborsClassifier"):
        shap_contributions(predictor, X.iloc[:1], history=X, top=2, explained_class=1)
