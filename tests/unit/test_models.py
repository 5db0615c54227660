"""ModelFactory (registry, typo hints, determinism) and the baselines (exact frequencies)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from almanac.config import learner_names
from almanac.ml.linear import LogisticRegression
from almanac.ml.models import (
    BASELINES,
    BaseRateClassifier,
    ModelFactory,
    SignClassifier,
    baseline_inputs,
    is_baseline,
)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    """300 trade dates: the baselines' two inputs plus one informative feature and one noise feature."""
    rng = np.random.default_rng(11)
    n = 300
    X = pd.DataFrame(
        {
            "open_to_cutoff_ret_pct": rng.normal(0, 0.5, n),
            "prev_day_ret_pct": rng.normal(0, 1.0, n),
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
        },
        index=pd.bdate_range("2021-01-01", periods=n, name="trade_date"),
    )
    y = pd.Series((X["signal"] + X["open_to_cutoff_ret_pct"] + 0.5 * rng.normal(size=n) > 0).astype(int), X.index)
    return X, y


# --- ModelFactory ------------------------------------------------------------------------------------------


def test_registry_holds_the_learners_and_baselines():
    assert list(ModelFactory.registry()) == [*learner_names(), *BASELINES]
    assert learner_names() == ["logistic", "lightgbm", "xgboost"]
    assert list(BASELINES) == ["base_rate", "open_to_cutoff_sign", "previous_day"]


@pytest.mark.parametrize("name", [*learner_names(), *BASELINES])
def test_every_registered_model_fits_and_gives_probabilities(name, data):
    X, y = data
    params = {"n_estimators": 20} if name in ("lightgbm", "xgboost") else None
    model = ModelFactory.create(name, params).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert set(np.unique(model.predict(X))) <= {0, 1}


def test_unknown_model_suggests_the_closest_name():
    with pytest.raises(ValueError, match=r"unknown model 'xgbost' \(did you mean 'xgboost'\?\); valid: logistic, "):
        ModelFactory.create("xgbost")


def test_unknown_model_without_a_close_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        ModelFactory.create("zzz")
    assert "did you mean" not in str(info.value)
    assert str(info.value).endswith("valid: logistic, lightgbm, xgboost, base_rate, open_to_cutoff_sign, previous_day")


def test_is_baseline():
    assert [is_baseline(n) for n in ("base_rate", "previous_day", "logistic", "xgboost")] == [True, True, False, False]


def test_logistic_is_a_pipeline_with_imputer_and_scaler_inside():
    model = ModelFactory.create_logistic({"C": 0.1})
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["impute", "scale", "model"]
    assert isinstance(model.named_steps["impute"], SimpleImputer)
    assert model.named_steps["impute"].strategy == "median"
    assert isinstance(model.named_steps["scale"], StandardScaler)
    assert isinstance(model.named_steps["model"], LogisticRegression)
    # given params are merged with the defaults, not replacing them
    assert model.named_steps["model"].get_params()["C"] == 0.1
    assert model.named_steps["model"].get_params()["max_iter"] == 1000
    assert model.named_steps["model"].get_params()["random_state"] == 42


def test_logistic_accepts_missing_feature_values(data):
    X, y = data
    X = X.copy()
    X.loc[X.index[::7], "signal"] = np.nan
    proba = ModelFactory.create("logistic").fit(X, y).predict_proba(X)
    assert np.isfinite(proba).all()
    # the median is imputed: a row with a NaN scores like the same row with the training median
    model = ModelFactory.create("logistic").fit(X, y)
    row = X.iloc[[0]].copy()
    row.loc[:, "signal"] = np.nan
    filled = row.copy()
    filled.loc[:, "signal"] = X["signal"].median()
    np.testing.assert_allclose(model.predict_proba(row), model.predict_proba(filled))


def test_boosters_keep_their_fixed_settings_over_params():
    lgbm = ModelFactory.create("lightgbm", {"n_jobs": 8, "num_leaves": 7}).get_params()
    assert (lgbm["n_jobs"], lgbm["deterministic"], lgbm["num_leaves"], lgbm["random_state"]) == (1, True, 7, 42)
    xgbm = ModelFactory.create("xgboost", {"n_jobs": 8, "max_depth": 3}).get_params()
    assert (xgbm["n_jobs"], xgbm["tree_method"], xgbm["max_depth"], xgbm["random_state"]) == (1, "hist", 3, 42)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_booster_fits_are_deterministic(name, data):
    X, y = data
    # row and column subsampling make the seed matter
    params = {"n_estimators": 30, "subsample": 0.7, "colsample_bytree": 0.7}
    first = ModelFactory.create(name, params).fit(X, y).predict_proba(X)
    second = ModelFactory.create(name, params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


# --- baselines ---------------------------------------------------------------------------------------------


def test_base_rate_returns_the_training_class_frequencies():
    model = BaseRateClassifier().fit(np.zeros((4, 1)), [0, 0, 0, 1])
    np.testing.assert_array_equal(model.classes_, [0, 1])
    np.testing.assert_allclose(model.predict_proba(np.zeros((3, 1))), [[0.75, 0.25]] * 3)
    np.testing.assert_array_equal(model.predict(np.zeros((2, 1))), [0, 0])


def test_base_rate_with_string_classes():
    model = BaseRateClassifier().fit(np.zeros((5, 1)), ["Range", "TrendUp", "TrendUp", "TrendDown", "TrendUp"])
    np.testing.assert_array_equal(model.classes_, ["Range", "TrendDown", "TrendUp"])
    np.testing.assert_allclose(model.predict_proba(np.zeros((1, 1))), [[0.2, 0.2, 0.6]])
    assert model.predict(np.zeros((1, 1)))[0] == "TrendUp"


def test_base_rate_before_fit_raises():
    with pytest.raises(NotFittedError):
        BaseRateClassifier().predict_proba(np.zeros((1, 1)))


def sign_frame(values) -> pd.DataFrame:
    return pd.DataFrame({"x": values, "other": 0.0})


def test_sign_classifier_laplace_smoothed_frequencies():
    # sign -1: y 0, 0      -> (2+1)/(2+2), (0+1)/(2+2) = 0.75, 0.25
    # sign +1: y 1, 1, 0   -> (1+1)/(3+2), (2+1)/(3+2) = 0.4, 0.6
    # sign  0: y 1, 0 (a NaN input counts as 0)    -> 0.5, 0.5
    X = sign_frame([-1.0, -2.0, 3.0, 4.0, 5.0, 0.0, np.nan])
    model = SignClassifier(column="x").fit(X, [0, 0, 1, 1, 0, 1, 0])
    proba = model.predict_proba(sign_frame([-7.0, 0.0, 2.0, np.nan]))
    np.testing.assert_allclose(proba, [[0.75, 0.25], [0.5, 0.5], [0.4, 0.6], [0.5, 0.5]])
    np.testing.assert_array_equal(model.predict(sign_frame([-7.0, 2.0])), [0, 1])


def test_sign_classifier_empty_bucket_is_uniform():
    model = SignClassifier(column="x").fit(sign_frame([1.0, 2.0, -1.0]), [1, 1, 0])
    np.testing.assert_allclose(model.predict_proba(sign_frame([0.0])), [[0.5, 0.5]])


def test_sign_classifier_needs_its_column():
    model = SignClassifier(column="prev_day_ret_pct")
    with pytest.raises(ValueError, match="SignClassifier needs a DataFrame with column 'prev_day_ret_pct'"):
        model.fit(sign_frame([1.0, -1.0]), [1, 0])
    with pytest.raises(ValueError, match="'prev_day_ret_pct'"):
        model.fit(np.array([[1.0], [-1.0]]), [1, 0])


@pytest.mark.parametrize("labels", [[0, 2, 1, 1, 2], ["0", "2", "1", "1", "2"]], ids=["int-codes", "str-codes"])
def test_sign_classifier_multiclass(labels):
    # sign -1: y 0, 2     -> (1+1)/(2+3), (0+1)/5, (1+1)/5 = 0.4, 0.2, 0.4
    # sign +1: y 1, 1, 2  -> (0+1)/(3+3), (2+1)/6, (1+1)/6
    # sign  0: no rows    -> 1/3 each
    model = SignClassifier(column="x").fit(sign_frame([-1.0, -1.0, 1.0, 1.0, 1.0]), labels)
    np.testing.assert_array_equal(model.classes_, sorted(set(labels)))
    proba = model.predict_proba(sign_frame([-3.0, 3.0, 0.0]))
    np.testing.assert_allclose(proba, [[0.4, 0.2, 0.4], [1 / 6, 3 / 6, 2 / 6], [1 / 3, 1 / 3, 1 / 3]])
    assert model.predict(sign_frame([3.0]))[0] == labels[2]


def test_factory_baselines_read_their_columns(data):
    X, y = data
    assert ModelFactory.create("open_to_cutoff_sign").column == "open_to_cutoff_ret_pct"
    assert ModelFactory.create("previous_day").column == "prev_day_ret_pct"
    model = ModelFactory.create("open_to_cutoff_sign").fit(X, y)
    up = (X["open_to_cutoff_ret_pct"] > 0).to_numpy()
    expected_up = (y[up].sum() + 1) / (up.sum() + 2)
    np.testing.assert_allclose(model.predict_proba(X)[up, 1], expected_up)


def test_baseline_inputs_from_sessions():
    sessions = pd.DataFrame(
        {
            "trade_date": pd.to_datetime(["2024-03-04", "2024-03-05", "2024-03-06"]),
            "open": [100.0, 102.0, 100.0],
            "cutoff_price": [101.0, 100.98, 100.0],
            "close": [102.0, 99.96, 101.0],
            "prev_close": [100.0, 102.0, 99.96],
        }
    )
    before = sessions.copy()
    out = baseline_inputs(sessions)
    assert list(out.columns) == ["open_to_cutoff_ret_pct", "prev_day_ret_pct"]
    assert isinstance(out.index, pd.DatetimeIndex)
    assert out.index.name == "trade_date"
    np.testing.assert_allclose(out["open_to_cutoff_ret_pct"], [1.0, -1.0, 0.0], atol=1e-9)
    # the previous day's close-to-close return, known before today's open
    np.testing.assert_allclose(out["prev_day_ret_pct"], [np.nan, 2.0, -2.0], atol=1e-9)
    pd.testing.assert_frame_equal(sessions, before)  # input not mutated
    pd.testing.assert_frame_equal(baseline_inputs(sessions.set_index("trade_date")), out)
