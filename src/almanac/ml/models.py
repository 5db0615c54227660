"""Model definitions: the original design's ``ModelFactory`` plus honest baselines.

Every model is a scikit-learn classifier with ``predict_proba``.  Preprocessing lives inside the estimator
(the logistic model is a ``Pipeline`` of imputer, scaler and regression), so it is fitted inside each walk-forward
fold.  Seeds and thread counts are fixed: the same data gives the same model, bit for bit.

Baselines (what a model has to beat): ``base_rate`` (training class frequencies), ``open_to_cutoff_sign``
(class frequencies given the sign of the open -> cutoff move) and ``previous_day`` (given the sign of the previous
day's return).  They read :func:`baseline_inputs`, derived from the session table, so they exist whatever
feature families are switched on.

Adding a learner: its hyperparameter block in ``almanac.config`` (a ``Section`` field of ``TrainParams``) and a
``create_<name>`` method here; ``train.model`` accepts it from then on (see docs/architecture.md).
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from almanac import numerics
from almanac.config import BASELINES, DEFAULTS, TrainParams, model_names
from almanac.ml.linear import LogisticRegression
from almanac.sessions import indexed_by_trade_date

__all__ = ["BASELINES", "ModelFactory", "baseline_inputs", "is_baseline"]


def _with_defaults(name: str, params: dict | None) -> dict:
    """Keyword arguments of learner ``name``: the schema's defaults (``train.<name>.*``, ``train.seed``), then
    ``params``."""
    return {**DEFAULTS.train.hyperparameters(name), **(params or {})}


class BaseRateClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the training class frequencies for every row."""

    def fit(self, X, y):
        """Learn the class frequencies of ``y``."""
        self.classes_, counts = np.unique(np.asarray(y), return_counts=True)
        self.class_prior_ = counts / counts.sum()
        return self

    def predict_proba(self, X):
        """The class prior for every row of ``X``."""
        check_is_fitted(self)
        return np.tile(self.class_prior_, (len(X), 1))

    def predict(self, X):
        """The most frequent training class."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class SignClassifier(ClassifierMixin, BaseEstimator):
    """Class frequencies conditional on the sign of one input column (Laplace-smoothed)."""

    def __init__(self, column="open_to_cutoff_ret_pct"):
        self.column = column

    def _sign(self, X) -> np.ndarray:
        if not isinstance(X, pd.DataFrame) or self.column not in X.columns:
            raise ValueError(f"SignClassifier needs a DataFrame with column {self.column!r}")
        return np.sign(X[self.column].fillna(0.0).to_numpy())

    def fit(self, X, y):
        """Learn P(class | sign) on the training rows."""
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        sign = self._sign(X)
        onehot = (y[:, None] == self.classes_[None, :]).astype(float)
        self.table_ = {}
        for value in (-1.0, 0.0, 1.0):  # three sign buckets
            rows = onehot[sign == value]
            self.table_[value] = (rows.sum(axis=0) + 1.0) / (len(rows) + len(self.classes_))
        return self

    def predict_proba(self, X):
        """P(class | sign of the column) for every row."""
        check_is_fitted(self)
        sign = self._sign(X)
        out = np.empty((len(sign), len(self.classes_)))
        for value, probs in self.table_.items():
            out[sign == value] = probs
        return out

    def predict(self, X):
        """The most probable class per row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class TimeCalibratedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fitted on all its training rows whose probabilities are recalibrated out of sample.

    ``fit`` fits an inner clone of ``estimator`` on the first ``1 - fraction`` of the rows (in trade-date order),
    learns a calibration map from its predictions on the last ``fraction`` (rows it never saw) to their labels,
    then fits the model itself on all the rows and applies the map to its predictions.  Inside a walk-forward fold
    the calibration rows are the end of the training block, never test days.  The map is non-decreasing
    (``sigmoid``: Platt's logistic fit on the log-odds, replaced by the held-out frequency if its slope is not
    positive; ``isotonic``: scikit-learn's ``IsotonicRegression``, clipped away from 0 and 1), so within a fold a
    binary model's ranking is kept or flattened, never reversed; multiclass maps are one-vs-rest, renormalised.  Why not ``CalibratedClassifierCV``: it calibrates the models it fits on the rows it is given
    (its folds ignore time order) or a frozen model on rows that model may have trained on; here the map must
    come from an earlier model's predictions on later days and be applied to the model fitted on all of them.
    """

    def __init__(self, estimator=None, method="sigmoid", fraction=0.2):
        self.estimator = estimator
        self.method = method
        self.fraction = fraction

    def fit(self, X, y):
        """Fit the calibration map out of sample, then the model on every row."""
        from sklearn.base import clone

        y = np.asarray(y)
        cut = int(round(len(y) * (1.0 - self.fraction)))
        if len(np.unique(y[:cut])) < 2 or len(np.unique(y[cut:])) < 2:
            raise ValueError(
                f"calibration needs two classes in both the first {cut} and the last {len(y) - cut} training rows"
            )
        inner = clone(self.estimator).fit(_rows(X, slice(0, cut)), y[:cut])
        held_out = _place(inner, inner.predict_proba(_rows(X, slice(cut, None))), np.unique(y))
        self.model_ = clone(self.estimator).fit(X, y)
        self.classes_ = np.asarray(self.model_.classes_)
        self.maps_ = [self._fit_map(held_out[:, k], (y[cut:] == c).astype(int)) for k, c in enumerate(self.classes_)]
        return self

    def _fit_map(self, p: np.ndarray, hit: np.ndarray):
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            return IsotonicRegression(y_min=CALIBRATION_EPS, y_max=1 - CALIBRATION_EPS, out_of_bounds="clip").fit(
                p, hit
            )
        platt = LogisticRegression(C=1e6).fit(_logit(p)[:, None], hit)
        if platt.coef_[0, 0] <= 0:
            # On held-out days the model ranked worse than chance: a calibration map must not turn that into a
            # reversed signal, so it says the held-out frequency to every row (no skill claimed).
            return float(hit.mean())
        return platt

    def _apply(self, model_map, p: np.ndarray) -> np.ndarray:
        if isinstance(model_map, float):
            return np.full(len(p), model_map)
        if self.method == "isotonic":
            return model_map.predict(p)
        return model_map.predict_proba(_logit(p)[:, None])[:, 1]

    def predict_proba(self, X):
        """Calibrated class probabilities (rows sum to 1)."""
        check_is_fitted(self)
        raw = self.model_.predict_proba(X)
        if len(self.classes_) == 2:
            p = self._apply(self.maps_[1], raw[:, 1])
            return np.column_stack([1 - p, p])
        out = np.column_stack([self._apply(m, raw[:, k]) for k, m in enumerate(self.maps_)])
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class per row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


CALIBRATION_EPS = 1e-3  # isotonic probabilities stay inside [0.001, 0.999]: one surprise is not infinite loss


def _logit(p: np.ndarray) -> np.ndarray:
    # Clipped only to keep the log finite (a tree model can say exactly 0 or 1); a wider clip would tie, and so
    # reorder, the most confident predictions.
    p = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)
    return numerics.logit(p)


def _place(model, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``proba`` with one column per class of ``classes`` (a class the inner model never saw gets 0)."""
    out = np.zeros((len(proba), len(classes)))
    out[:, np.searchsorted(classes, np.asarray(model.classes_))] = proba
    return out


def _rows(X, rows: slice):
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def explained_model(model):
    """The fitted model whose inputs are the features (unwraps :class:`TimeCalibratedClassifier`), for SHAP."""
    return model.model_ if isinstance(model, TimeCalibratedClassifier) else model


class NoExplainerError(TypeError):
    """A model with features has no SHAP explainer registered in :data:`EXPLAINERS`."""


# How each learner's SHAP values are computed, keyed by the estimator's class (subclasses inherit it):
# "lightgbm" (LightGBM's own TreeSHAP, ``pred_contrib``: what shap.TreeExplainer calls for it), "xgboost"
# (shap.TreeExplainer; the morning uses the library's own TreeSHAP, ``pred_contribs``),
# "tree" (shap.TreeExplainer: a scikit-learn tree or forest), "linear" (shap.LinearExplainer on the coefficients),
# None (a baseline: no features, nothing to explain).  A new learner
# registers its estimator class here; a model with features and no entry fails loudly instead of reporting no
# importance.
EXPLAINERS: dict[type, str | None] = {
    lgb.LGBMClassifier: "lightgbm",
    LogisticRegression: "linear",
    BaseRateClassifier: None,
    SignClassifier: None,
}


# Learners whose library is imported only when one of their models is built (xgboost: 0.1 s of every stage
# start otherwise): their class joins EXPLAINERS once the library is loaded, which an instance of it implies.
_LAZY_EXPLAINERS = {("xgboost", "XGBClassifier"): "xgboost"}


def _register_loaded_learners() -> None:
    for (module, name), kind in _LAZY_EXPLAINERS.items():
        if module in sys.modules:
            EXPLAINERS.setdefault(getattr(sys.modules[module], name), kind)


def explainer_of(model) -> tuple[str | None, object]:
    """``(kind, estimator)``: the :data:`EXPLAINERS` kind of ``model``'s final estimator (a ``Pipeline``'s last
    step, a :class:`TimeCalibratedClassifier`'s fitted model) and that estimator; ``"linear"`` for an unregistered
    estimator with fitted coefficients (``coef_``, ``intercept_``: scikit-learn's linear classifiers).  Raises
    :class:`NoExplainerError` naming the class when no entry covers it."""
    _register_loaded_learners()
    estimator = explained_model(model)
    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    for cls in type(estimator).__mro__:  # the most specific registered class wins
        if cls in EXPLAINERS:
            return EXPLAINERS[cls], estimator
    if hasattr(estimator, "coef_") and hasattr(estimator, "intercept_"):
        return "linear", estimator  # fitted coefficients (scikit-learn's linear classifiers): LinearExplainer
    raise NoExplainerError(
        f"no SHAP explainer for {type(estimator).__module__}.{type(estimator).__qualname__}: register its class "
        f"in almanac.ml.models.EXPLAINERS ({', '.join(sorted({k for k in (*EXPLAINERS.values(), *_LAZY_EXPLAINERS.values()) if k}))}, or None "
        "for a model without features)"
    )


class ModelFactory:
    """Factory for creating models with consistent interfaces (names as in ``train.model``)."""

    @staticmethod
    def create_logistic(params=None):
        """Baseline learner: fast, interpretable.  Median imputation and scaling inside the pipeline; the regression
        is :class:`almanac.ml.linear.LogisticRegression` (scikit-learn's objective, the same bits on every CPU)."""
        # Imported here: sklearn.impute loads sklearn.neighbors (about 0.05 s), which only this learner needs.
        from sklearn.impute import SimpleImputer

        params = _with_defaults("logistic", params)
        return Pipeline(
            [
                # A feature with no value yet in a short training window (e.g. the 252-day ATR rank) is kept,
                # filled with 0, so the columns never change between folds and the final model.
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(**params)),
            ]
        )

    @staticmethod
    def create_lightgbm(params=None):
        """Production learner: gradient-boosted trees; handles missing values natively."""
        fixed = {"n_jobs": 1, "deterministic": True, "force_col_wise": True, "verbose": -1}
        merged = {**_with_defaults("lightgbm", params), **fixed}
        if merged.get("subsample", 1.0) < 1.0:
            merged.setdefault("subsample_freq", 1)  # LightGBM ignores row subsampling unless bagging is enabled
        return lgb.LGBMClassifier(**merged)

    @staticmethod
    def create_xgboost(params=None):
        """Gradient-boosted trees, XGBoost's histogram method."""
        import xgboost as xgb  # imported lazily: only a run that trains it pays for the import

        fixed = {"n_jobs": 1, "tree_method": "hist", "verbosity": 0}
        return xgb.XGBClassifier(**{**_with_defaults("xgboost", params), **fixed})

    @staticmethod
    def create_base_rate(params=None):
        """Baseline: training class frequencies."""
        return BaseRateClassifier()

    @staticmethod
    def create_open_to_cutoff_sign(params=None):
        """Baseline: class frequencies given the sign of the open -> cutoff move."""
        return SignClassifier(column="open_to_cutoff_ret_pct")

    @staticmethod
    def create_previous_day(params=None):
        """Baseline: class frequencies given the sign of the previous day's return."""
        return SignClassifier(column="prev_day_ret_pct")

    @classmethod
    def registry(cls) -> dict[str, Callable]:
        """Short name -> constructor (the only way ``train.model`` becomes an estimator)."""
        return {name: getattr(cls, f"create_{name}") for name in model_names()}

    @classmethod
    def create(cls, name: str, params: dict | None = None):
        """Create model ``name`` with ``params``; unknown names fail listing the valid ones."""
        registry = cls.registry()
        if name not in registry:
            close = difflib.get_close_matches(name, list(registry), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown model {name!r}{hint}; valid: {', '.join(registry)}")
        return registry[name](params)

    @classmethod
    def from_params(cls, train: TrainParams, name: str | None = None):
        """Model ``name`` (default ``train.model``) configured by its ``train.<name>.*`` block and ``train.seed``,
        wrapped in :class:`TimeCalibratedClassifier` when ``train.calibration`` is not ``none`` (baselines are
        frequencies already and are never wrapped)."""
        name = name or train.model
        model = cls.create(name, train.hyperparameters(name))
        if train.calibration == "none" or is_baseline(name):
            return model
        return TimeCalibratedClassifier(model, method=train.calibration, fraction=train.calibration_fraction)


def is_baseline(name: str) -> bool:
    """True for the baseline models, which read :func:`baseline_inputs` instead of the features."""
    return name in BASELINES


def baseline_inputs(sessions: pd.DataFrame) -> pd.DataFrame:
    """Inputs of the baselines from the session table, indexed by ``trade_date``: ``open_to_cutoff_ret_pct``
    (cutoff price vs RTH open) and ``prev_day_ret_pct`` (previous day's close-to-close return)."""
    s = indexed_by_trade_date(sessions)
    return pd.DataFrame(
        {
            "open_to_cutoff_ret_pct": (s["cutoff_price"] / s["open"] - 1.0) * 100.0,
            "prev_day_ret_pct": ((s["close"] / s["prev_close"] - 1.0) * 100.0).shift(1),
        },
        index=pd.DatetimeIndex(s.index, name="trade_date"),
    )
