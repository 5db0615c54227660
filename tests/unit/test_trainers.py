"""ModelTrainer: walk-forward out-of-fold predictions without look-ahead, label handling, save/load round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from almanac.ml.cv import WalkForwardSplit
from almanac.ml.models import ModelFactory
from almanac.ml.predictors import ModelPredictor
from almanac.ml.trainers import ModelTrainer

N = 395
# first test date at 150 + 1 + 4 = 155; (395 - 155) / 60 = 4 folds of 60 days
SPLIT = WalkForwardSplit(test_days=60, min_train_days=150, purge_days=1, embargo_days=4)
FIRST_TEST, N_FOLDS = 155, 4


def make_data(seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.normal(size=(N, 3)), columns=["signal", "noise_a", "noise_b"], index=pd.bdate_range("2019-01-01", periods=N)
    )
    y = pd.Series((X["signal"] + 0.7 * rng.normal(size=N) > 0).astype(int), index=X.index, name="rest_of_day")
    return X, y


def archetypes(X: pd.DataFrame) -> pd.Series:
    s = X["signal"]
    return pd.Series(np.where(s > 0.4, "TrendUp", np.where(s < -0.4, "TrendDown", "Range")), index=X.index)


FIT_LOG: list[tuple[pd.Timestamp, int]] = []
PREDICT_LOG: list[pd.Timestamp] = []


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """A base-rate classifier that logs the dates it was fitted on and asked about."""

    def fit(self, X, y):
        FIT_LOG.append((X.index.max(), len(X)))
        self.classes_, counts = np.unique(y, return_counts=True)
        self.prior_ = counts / counts.sum()
        return self

    def predict_proba(self, X):
        PREDICT_LOG.append(X.index.min())
        return np.tile(self.prior_, (len(X), 1))


SCALER_LOG: list[tuple[pd.Timestamp, np.ndarray]] = []


class RecordingScaler(StandardScaler):
    """StandardScaler that logs the last date and the means of each fit."""

    def fit(self, X, y=None, sample_weight=None):
        super().fit(X, y, sample_weight)
        SCALER_LOG.append((X.index.max(), self.mean_.copy()))
        return self


@pytest.fixture(autouse=True)
def _clear_logs():
    FIT_LOG.clear()
    PREDICT_LOG.clear()
    SCALER_LOG.clear()


@pytest.fixture(scope="module")
def logistic_run() -> ModelTrainer:
    X, y = make_data()
    trainer = ModelTrainer(ModelFactory.create("logistic"), splitter=SPLIT)
    trainer.scores_ = trainer.train_walk_forward(X, y)
    return trainer


def test_returns_one_auc_per_fold_and_learns_the_signal(logistic_run):
    assert len(logistic_run.scores_) == N_FOLDS
    assert min(logistic_run.scores_) > 0.75


def test_fold_auc_is_the_auc_of_that_fold_oof_rows(logistic_run):
    oof = logistic_run.oof_
    for fold, auc in enumerate(logistic_run.scores_):
        rows = oof.loc[oof["fold"] == fold]
        assert auc == pytest.approx(roc_auc_score(rows["y_true"], rows["probability"]), abs=1e-9)


def test_oof_has_one_row_per_test_day(logistic_run):
    X, y = make_data()
    oof = logistic_run.oof_
    assert list(oof.columns) == ["trade_date", "fold", "y_true", "probability"]
    assert len(oof) == N - FIRST_TEST
    assert oof["trade_date"].is_unique
    np.testing.assert_array_equal(oof["trade_date"].to_numpy(), X.index[FIRST_TEST:].to_numpy())
    assert oof["fold"].value_counts().sort_index().tolist() == [60] * N_FOLDS
    np.testing.assert_array_equal(oof["y_true"].to_numpy(), y.iloc[FIRST_TEST:].to_numpy())
    assert oof["probability"].between(0, 1).all()


def test_folds_record_dates_and_sizes(logistic_run):
    X, _ = make_data()
    first = logistic_run.folds_[0]
    assert first["train_start"] == str(X.index[0].date())
    assert first["train_end"] == str(X.index[149].date())
    assert first["test_start"] == str(X.index[FIRST_TEST].date())
    assert (first["n_train"], first["n_test"]) == (150, 60)
    for fold in logistic_run.folds_:
        assert fold["train_end"] < fold["test_start"]
        assert {"auc", "accuracy", "brier", "log_loss"} <= set(fold)


def test_a_fold_model_never_sees_a_test_day():
    X, y = make_data()
    trainer = ModelTrainer(RecordingClassifier(), splitter=SPLIT)
    trainer.train_walk_forward(X, y)
    assert len(FIT_LOG) == len(PREDICT_LOG) == N_FOLDS
    # The folds run FOLD_THREADS at a time, so the logs hold them in the order they finished: by date, fold order.
    fits, predictions = sorted(FIT_LOG), sorted(PREDICT_LOG)
    for (last_train, n_train), first_test in zip(fits, predictions, strict=True):
        # purge 1 + embargo 4 trade dates lie strictly between the two sides
        assert len(pd.bdate_range(last_train, first_test)) - 2 == 5
        assert n_train >= 150
    assert [n for _, n in fits] == [150, 210, 270, 330]  # expanding
    with pytest.raises(NotFittedError):
        check_is_fitted(trainer.model)  # folds fit clones, never the caller's model


def test_unlabelled_days_are_dropped_and_counted():
    X, y = make_data()
    y = y.astype(float)
    missing = X.index[[3, 40, 200, 201, 300, 390, 394]]
    y.loc[missing] = np.nan
    trainer = ModelTrainer(ModelFactory.create("logistic"), splitter=SPLIT)
    trainer.train_walk_forward(X, y)
    assert trainer.n_unlabeled_ == 7
    assert not trainer.oof_["trade_date"].isin(missing).any()
    assert len(trainer.oof_) == (N - 7) - FIRST_TEST  # the splitter counts labelled days


def test_labels_are_aligned_by_date_not_position():
    X, y = make_data()
    shuffled = y.sample(frac=1.0, random_state=0)
    a = ModelTrainer(ModelFactory.create("logistic"), splitter=SPLIT)
    b = ModelTrainer(ModelFactory.create("logistic"), splitter=SPLIT)
    assert a.train_walk_forward(X, y) == b.train_walk_forward(X, shuffled)
    pd.testing.assert_frame_equal(a.oof_, b.oof_)


def test_multiclass_string_labels_give_a_probability_column_per_class():
    X, _ = make_data()
    trainer = ModelTrainer(ModelFactory.create("logistic"), splitter=SPLIT)
    scores = trainer.train_walk_forward(X, archetypes(X))
    np.testing.assert_array_equal(trainer.classes_, ["Range", "TrendDown", "TrendUp"])
    columns = ["probability_Range", "probability_TrendDown", "probability_TrendUp"]
    assert list(trainer.oof_.columns) == ["trade_date", "fold", "y_true", *columns]
    np.testing.assert_allclose(trainer.oof_[columns].sum(axis=1), 1.0, atol=1e-9)
    assert set(trainer.oof_["y_true"]) == {"Range", "TrendDown", "TrendUp"}
    assert min(scores) > 0.8  # macro one-vs-rest AUC


def no_trend_down_early(X: pd.DataFrame) -> pd.Series:
    """Archetypes where the first 160 days (all of fold 0's training) hold no TrendDown, the middle class."""
    labels = archetypes(X)
    early = labels.index[:160]
    labels.loc[early] = labels.loc[early].replace("TrendDown", "Range")
    return labels


def test_fold_missing_a_class_gets_zero_probability_for_it():
    X, _ = make_data()
    params = {"n_estimators": 20, "min_child_samples": 5}
    trainer = ModelTrainer(ModelFactory.create("lightgbm", params), splitter=SPLIT)
    trainer.train_walk_forward(X, no_trend_down_early(X))
    fold0 = trainer.oof_.loc[trainer.oof_["fold"] == 0]
    assert (fold0["probability_TrendDown"] == 0.0).all()
    np.testing.assert_allclose(fold0[["probability_Range", "probability_TrendUp"]].sum(axis=1), 1.0)
    assert (trainer.oof_.loc[trainer.oof_["fold"] > 0, "probability_TrendDown"] > 0).all()


def test_fold_missing_a_class_with_xgboost():
    X, _ = make_data()
    trainer = ModelTrainer(ModelFactory.create("xgboost", {"n_estimators": 10}), splitter=SPLIT)
    trainer.train_walk_forward(X, no_trend_down_early(X))
    fold0 = trainer.oof_.loc[trainer.oof_["fold"] == 0]
    assert (fold0["probability_TrendDown"] == 0.0).all()


def test_external_scaler_is_fitted_inside_each_fold():
    X, y = make_data()
    scaler = RecordingScaler()
    trainer = ModelTrainer(LogisticRegression(), scaler=scaler, splitter=SPLIT)
    trainer.train_walk_forward(X, y)
    assert len(SCALER_LOG) == N_FOLDS
    # In the order the folds finished (FOLD_THREADS at a time): sorted by date, fold order.
    for fold, (last_date, mean) in zip(trainer.folds_, sorted(SCALER_LOG, key=lambda entry: entry[0]), strict=True):
        assert str(last_date.date()) == fold["train_end"]
        train = X.loc[fold["train_start"] : fold["train_end"]]
        np.testing.assert_allclose(mean, train.mean().to_numpy())  # training rows only
    assert not hasattr(scaler, "mean_")  # the caller's scaler is cloned, not fitted


def test_original_workflow_with_n_splits_and_in_place_final_fit(tmp_path):
    X, y = make_data()
    model = ModelFactory.create_lightgbm({"n_estimators": 20})
    trainer = ModelTrainer(model)
    scores = trainer.train_walk_forward(X, y, n_splits=5)
    assert len(scores) == 5
    assert len(trainer.oof_) == 5 * (N // 6)
    trainer.train_final(X, y)
    check_is_fitted(model)  # the original design's step 4 explains the caller's `model`
    trainer.save(tmp_path / "models" / "es_classifier_v1.pkl")
    assert (tmp_path / "models" / "es_classifier_v1.pkl").exists()


@pytest.mark.parametrize("scaler", [None, StandardScaler()], ids=["no-scaler", "scaler"])
def test_train_final_save_and_predictor_round_trip(tmp_path, scaler):
    X, y = make_data()
    trainer = ModelTrainer(ModelFactory.create("logistic") if scaler is None else LogisticRegression(), scaler=scaler)
    trainer.train_final(X, y)
    path = tmp_path / "model.joblib"
    trainer.save(path)
    predictor = ModelPredictor(path)
    assert predictor.feature_names == ["signal", "noise_a", "noise_b"]
    np.testing.assert_array_equal(predictor.classes, [0, 1])
    inputs = X if trainer.scaler is None else pd.DataFrame(trainer.scaler.transform(X), X.index, X.columns)
    expected = trainer.model.predict_proba(inputs)
    np.testing.assert_allclose(predictor.predict_proba(X), expected)
    np.testing.assert_allclose(predictor.predict_proba(X[X.columns[::-1]]), expected)  # columns by name


def test_a_single_label_class_raises():
    X, _ = make_data()
    with pytest.raises(ValueError, match=r"need at least two label classes to train, got \[(np\.int64\()?1\)?\]"):
        ModelTrainer(ModelFactory.create("logistic"), splitter=SPLIT).train_walk_forward(X, pd.Series(1, X.index))


def test_features_must_be_indexed_by_date():
    X, y = make_data()
    with pytest.raises(ValueError, match="X must be indexed by trade date"):
        ModelTrainer(ModelFactory.create("logistic")).train_walk_forward(X.reset_index(drop=True), y)


def test_shap_values_are_out_of_fold_each_day_explained_by_its_folds_model():
    import almanac
    from almanac.config import CVParams

    data = almanac.load_bars(almanac.DataParams(start="2023-01-03", end="2023-09-29"))
    sessions = almanac.build_sessions(data.bars, rolls=data.manifest["rolls"])
    features, _ = almanac.build_features(data.bars, sessions, data.daily)
    labels = almanac.build_labels(sessions, data.bars)
    out = almanac.train(features, labels, sessions, cv=CVParams(min_train_days=60, test_days=30, embargo_days=2))
    shap = out.oof_shap
    assert shap["trade_date"].tolist() == out.oof["trade_date"].tolist()
    assert shap["fold"].tolist() == out.oof["fold"].tolist()
    # TreeSHAP is additive: log-odds = base value of the explaining model + the row's SHAP sum.  The base value
    # is one constant per fold (per model), and differs between folds: each day was explained by its own fold.
    p = out.oof["probability"].to_numpy()
    base = np.log(p / (1 - p)) - shap[list(features.columns)].sum(axis=1).to_numpy()
    per_fold = pd.Series(base).groupby(shap["fold"].to_numpy())
    assert (per_fold.max() - per_fold.min()).max() < 1e-6
    assert per_fold.first().nunique() > 1  # not one model for all days (two small folds may share a base rate)


@pytest.mark.parametrize("name", ["lightgbm", "logistic"])
def test_folds_on_threads_give_what_one_thread_gives(name, monkeypatch):
    """The walk-forward folds run FOLD_THREADS at a time: the predictions, scores and SHAP values are the same bits
    as with one thread, in fold order."""
    from almanac.ml import trainers

    X, y = make_data()
    params = {"n_estimators": 20, "min_child_samples": 5} if name == "lightgbm" else None
    runs = {}
    for threads in (1, 3):
        monkeypatch.setattr(trainers, "FOLD_THREADS", threads)
        trainer = ModelTrainer(ModelFactory.create(name, params), splitter=SPLIT)
        trainer.train_walk_forward(X, y, explain=True)
        runs[threads] = trainer
    pd.testing.assert_frame_equal(runs[1].oof_, runs[3].oof_, check_exact=True)
    pd.testing.assert_frame_equal(runs[1].oof_shap_, runs[3].oof_shap_, check_exact=True)
    assert runs[1].folds_ == runs[3].folds_ and len(runs[1].folds_) > 2
