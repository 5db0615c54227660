"""Model evaluation: the original design's :class:`ModelEvaluator` and the ``evaluate`` stage's :func:`evaluate`
(classification metrics against the baselines and the oracle, the ROC and confusion tables).

Calibration (:mod:`almanac.ml.calibration`), where and when the signal works (:mod:`almanac.ml.diagnostics`) and
SHAP (:mod:`almanac.ml.explanations`) have modules of their own.  Differences from the original design:
``detect_concept_drift`` scores AUC (the original said AUC but scored accuracy), and all curves are returned as small
tables so the pipeline can store them as DVC plots.

A binary target's scores need neither scikit-learn nor scipy.stats (:mod:`almanac.ml.curves` has their results
with numpy alone, the same bits); the functions for multiclass targets and the original design's class import
scikit-learn when called: importing ``sklearn.metrics`` (which loads ``scipy.stats``) was half the stage's time.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from almanac import schemas
from almanac.config import BASELINES, DEFAULTS, EvaluateParams
from almanac.errors import AlmanacWarning
from almanac.ml.calibration import calibration_table, ece_noise, expected_calibration_error
from almanac.ml.curves import binary_confusion_matrix, binary_roc_curve, ttest_1samp_pvalue
from almanac.ml.diagnostics import breakdown, information_coefficient, rolling_auc
from almanac.ml.explanations import compute_shap_values, shap_importance
from almanac.ml.metrics import (
    binary_auc,
    bootstrap_auc_ci,
    classification_scores,
    delong_test,
    null_auc_sd,
    rank_auc,
    resampled_rank_auc,
    stationary_bootstrap_ci,
)


class ModelEvaluator:
    """Comprehensive model evaluation."""

    def evaluate_classification(self, y_true, y_pred, y_proba=None, *, classes=None) -> dict:
        """Accuracy, confusion matrix and classification report; with ``y_proba`` (n x classes) also ``roc_auc``
        (binary; macro one-vs-rest when multiclass; NaN when ``y_true`` holds one class), Brier score and log loss.

        ``classes`` names the columns of ``y_proba`` (default: the sorted labels seen in ``y_true`` and ``y_pred``,
        which must then number as many as the columns; otherwise pass ``classes`` explicitly).
        """
        from sklearn.metrics import classification_report, confusion_matrix  # lazily (see the module docstring)

        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        labels = np.unique(np.concatenate([y_true, y_pred]))
        metrics = {
            "accuracy": float((y_true == y_pred).mean()),
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels),
            "classification_report": classification_report(y_true, y_pred, labels=labels, zero_division=0),
        }
        if y_proba is not None:
            y_proba = np.asarray(y_proba, dtype=float)
            if y_proba.ndim == 1:
                y_proba = np.column_stack([1 - y_proba, y_proba])
            classes = np.asarray(sorted(classes)) if classes is not None else labels
            if len(classes) == 1 and y_proba.shape[1] == 2 and classes[0] in (0, 1):
                classes = np.array([0, 1])  # a binary window holding one class
            if len(classes) != y_proba.shape[1]:
                raise ValueError(
                    f"y_proba has {y_proba.shape[1]} columns but the labels are {list(classes)}: pass classes="
                )
            unknown = ~np.isin(y_true, classes)
            if unknown.any():
                raise ValueError(f"labels {sorted(set(y_true[unknown]))} are not among classes {list(classes)}")
            codes = np.searchsorted(classes, y_true)
            scores = classification_scores(codes, y_proba, len(classes))
            metrics.update({"roc_auc": scores["auc"], "brier": scores["brier"], "log_loss": scores["log_loss"]})
        return metrics

    def compute_shap_values(
        self, model, X: pd.DataFrame, background_samples: int = 100, *, background: pd.DataFrame | None = None
    ) -> np.ndarray | None:
        """SHAP values of ``model`` on ``X`` (rows x features, classes last):
        :func:`almanac.ml.explanations.compute_shap_values`."""
        return compute_shap_values(model, X, background_samples, background=background)

    def detect_concept_drift(self, model, X_windows, y_windows) -> list[float]:
        """AUC of ``model`` on each (X, y) window, in order (NaN where a window holds a single class)."""
        scores = []
        for X_window, y_window in zip(X_windows, y_windows, strict=True):  # one iteration per window
            y = np.asarray(y_window)
            if len(np.unique(y)) < 2:
                scores.append(float("nan"))
                continue
            scores.append(binary_auc(y, model.predict_proba(X_window)[:, 1]))  # roc_auc_score's value
        return scores


def _per_fold_difference(fold: np.ndarray, y: np.ndarray, p: np.ndarray, base: np.ndarray, name: str) -> dict:
    """Mean over folds of (model AUC - baseline AUC) and its paired t-test p-value (two-sided, scipy's)."""
    diffs = []
    for f in np.unique(fold):  # one iteration per fold
        rows = fold == f
        if len(np.unique(y[rows])) == 2:
            diffs.append(rank_auc(y[rows], p[rows]) - rank_auc(y[rows], base[rows]))
    diffs = np.asarray(diffs)
    p_value = ttest_1samp_pvalue(diffs) if len(diffs) > 1 and diffs.std() > 0 else float("nan")
    return {
        f"fold_auc_minus_{name}": float(diffs.mean()) if len(diffs) else float("nan"),
        f"fold_ttest_p_vs_{name}": p_value,
    }


def roc_table(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """ROC curve points (false and true positive rates by threshold)."""
    fpr, tpr, thresholds = binary_roc_curve(np.asarray(y, dtype=int), np.asarray(p, dtype=float))  # roc_curve's
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.minimum(thresholds, 1.0), "chance": fpr})


def confusion_table(y_true: np.ndarray, y_pred: np.ndarray, labels: list) -> pd.DataFrame:
    """Long-format confusion matrix: actual, predicted, count."""
    from sklearn.metrics import confusion_matrix  # lazily (see the module docstring)

    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    return pd.DataFrame(
        [(str(a), str(p), int(matrix[i, j])) for i, a in enumerate(labels) for j, p in enumerate(labels)],
        columns=["actual", "predicted", "count"],
    )


def _class_name(value) -> str:
    """A class as a label: ``1.0`` (labels are stored as floats, NaN when unknown) -> ``'1'``; names unchanged."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def multiclass_scores(y_codes: np.ndarray, proba: np.ndarray, names: list[str]) -> dict[str, float]:
    """``macro_f1`` of the argmax prediction, and per class ``auc_<class>`` (one vs rest; NaN when the class is
    absent or alone), ``f1_<class>`` and ``share_<class>`` (its share of the days)."""
    from sklearn.metrics import f1_score, roc_auc_score  # lazily (see the module docstring)

    labels = np.arange(len(names))
    predicted = proba.argmax(axis=1)
    f1 = f1_score(y_codes, predicted, labels=labels, average=None, zero_division=0.0)
    out = {"macro_f1": float(f1.mean())}
    for k, name in enumerate(names):  # a handful of classes
        member = y_codes == k
        out[f"auc_{name}"] = (
            float(roc_auc_score(member, proba[:, k])) if 0 < member.sum() < len(member) else float("nan")
        )
        out[f"f1_{name}"] = float(f1[k])
        out[f"share_{name}"] = float(member.mean()) if len(member) else float("nan")
    return out


def _scores(y_codes: np.ndarray, proba: np.ndarray, n_classes: int, prefix: str) -> dict:
    return {f"{prefix}{k}": v for k, v in classification_scores(y_codes, proba, n_classes).items()}


def _matrix(oof: pd.DataFrame, prefix: str, classes: list) -> np.ndarray:
    if len(classes) == 2:
        p = oof[prefix].to_numpy()
        return np.column_stack([1 - p, p])
    return oof[[f"{prefix}_{c}" for c in classes]].to_numpy()


def evaluate(
    oof: pd.DataFrame,
    *,
    classes: list,
    shap_values: np.ndarray | None = None,
    feature_names: list[str] = (),
    oracle: pd.Series | None = None,
    returns: pd.Series | None = None,
    context: pd.DataFrame | None = None,
    settings: EvaluateParams | None = None,
) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Flat metrics and plot tables for out-of-fold predictions, against the baselines and the oracle.

    Parameters
    ----------
    oof : DataFrame
        Out-of-fold predictions as :func:`almanac.ml.trainers.train` returns them or ``pd.read_parquet`` reads
        ``data/predictions/oof.parquet`` (``trade_date`` column or index, one row per date, sorted; ``fold``,
        ``y_true``, the model's and the baselines' probability columns); converted and checked as
        :mod:`almanac.schemas` says, not modified.
    classes : list
        Sorted label classes (``[0.0, 1.0]`` for binary targets).
    shap_values : ndarray, optional
        SHAP values (rows x features[, classes]) for the importance plot; ``feature_names`` names the columns.
    feature_names : list of str, default ()
        Columns of ``shap_values``.
    oracle : Series, optional
        Bayes-optimal probabilities by trade date (synthetic data only): adds ``oracle_auc`` and
        ``oracle_efficiency``.
    returns : Series, optional
        The return the signal is about, by trade date (the pipeline: cutoff price to close, in percent): adds
        the information coefficient of ``probability - 0.5`` against it (binary targets).
    context : DataFrame, optional
        Grouping columns by trade date (e.g. ``year``, ``weekday``, ``half_day``, ``atr_tercile``): adds the
        ``breakdown`` table (per group: days, AUC, hit rate, mean signed return) for binary targets.
    settings : EvaluateParams, optional
        ``evaluate.*``; default the schema's.

    Returns
    -------
    metrics : dict
        Flat, stable keys (see ``metrics/evaluate.json`` in the README).
    plots : dict of DataFrame
        ``roc``, ``calibration``, ``confusion``, ``rolling_auc``, ``shap_importance`` tables.

    Raises
    ------
    almanac.schemas.InputError
        ``oof`` breaks its data contract or ``classes`` are not the sorted label classes (two or more).
    ValueError
        A ``y_true`` label that is not among ``classes``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 300).astype(float)
    >>> p = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(0, 0.2, 300), 0.01, 0.99)
    >>> oof = pd.DataFrame({"trade_date": pd.bdate_range("2020-01-01", periods=300), "fold": 0, "y_true": y,
    ...                     "probability": p, **{f"baseline_{b}": 0.5 for b in BASELINES}})
    >>> metrics, plots = evaluate(oof, classes=[0.0, 1.0], settings=EvaluateParams(bootstrap=0))
    >>> round(metrics["auc"], 3), metrics["n_days"], sorted(plots)
    (0.814, 300, ['calibration', 'confusion', 'roc', 'rolling_auc', 'shap_importance'])
    """
    settings = schemas.params(settings, EvaluateParams, fn="evaluate", arg="settings") or DEFAULTS.evaluate
    oof = _checked_oof(oof, classes)
    codes = np.searchsorted(np.array(classes), oof["y_true"].to_numpy())
    proba = _matrix(oof, "probability", classes)
    metrics = _scores(codes, proba, len(classes), "")
    metrics["n_days"] = len(oof)
    metrics.update(_against_baselines(oof, codes, proba, classes))
    binary = len(classes) == 2
    predicted = proba.argmax(axis=1)
    if not binary:
        metrics.update(multiclass_scores(codes, proba, [_class_name(c) for c in classes]))
    plots: dict[str, pd.DataFrame] = {"confusion": _confusion_days(oof, codes, predicted, classes)}
    if binary:
        scores, curves = _binary_scores(
            oof, codes, proba, predicted, auc=metrics["auc"], oracle=oracle, settings=settings
        )
        metrics.update(scores)
        plots.update(curves)
    if binary and returns is not None:
        metrics.update(information_coefficient(oof, proba[:, 1], returns))
    if binary and context is not None:
        plots["breakdown"] = breakdown(oof, codes, proba[:, 1], returns=returns, context=context)
    if not binary:
        metrics.update(_top_label_calibration(codes, proba, predicted, settings=settings))
    metrics.update(_against_the_base_rate(metrics))
    plots["shap_importance"] = shap_importance(shap_values, list(feature_names))
    metrics["shap_available"] = bool(plots["shap_importance"]["mean_abs_shap"].notna().any())
    return metrics, plots


def _confusion_days(oof: pd.DataFrame, codes: np.ndarray, predicted: np.ndarray, classes: list) -> pd.DataFrame:
    """The ``confusion`` table: each day's ``trade_date``, ``actual`` and ``predicted`` class."""
    # One row per day, as DVC's confusion template counts rows (an aggregated table would draw one solid block).
    return pd.DataFrame(
        {
            "trade_date": pd.DatetimeIndex(oof["trade_date"]).strftime("%Y-%m-%d"),
            "actual": np.array([_class_name(c) for c in classes])[codes],
            "predicted": np.array([_class_name(c) for c in classes])[predicted],
        }
    )


def _checked_oof(oof, classes: list) -> pd.DataFrame:
    """``oof`` converted and checked as :mod:`almanac.schemas` says, for these ``classes``."""
    if isinstance(classes, (str, bytes)) or len(classes) < 2:
        raise schemas.InputError(f"evaluate: classes: expected the sorted label classes (two or more), got {classes!r}")
    suffixes = [""] if len(classes) == 2 else [f"_{c}" for c in classes]
    scored = [f"{p}{x}" for p in ("probability", *(f"baseline_{b}" for b in BASELINES)) for x in suffixes]
    numeric = all(isinstance(c, (int, float, np.number)) and not isinstance(c, bool) for c in classes)
    spec = {"trade_date": schemas.DATE, "fold": schemas.INT, "y_true": schemas.FLOAT if numeric else schemas.TEXT,
            **dict.fromkeys(scored, schemas.FLOAT)}  # fmt: skip
    return schemas.table(oof, spec, fn="evaluate", arg="oof", trade_date="column")


def _against_baselines(oof: pd.DataFrame, codes: np.ndarray, proba: np.ndarray, classes: list) -> dict:
    """Each baseline's scores (``<baseline>_*``) and, for a binary target, the model's AUC against it."""
    n_classes, binary = len(classes), len(classes) == 2
    metrics = {}
    for name in BASELINES:
        base = _matrix(oof, f"baseline_{name}", classes)
        metrics.update(_scores(codes, base, n_classes, f"{name}_"))
        if not binary:
            metrics[f"{name}_macro_f1"] = multiclass_scores(codes, base, [str(c) for c in classes])["macro_f1"]
        if binary:
            diff, p_value = delong_test(codes, proba[:, 1], base[:, 1])
            metrics[f"auc_minus_{name}"] = diff
            metrics[f"delong_p_vs_{name}"] = p_value
            # Per fold: pooled AUC across folds mixes each fold's constant (the base rate's pooled AUC is not
            # 0.5); the mean of per-fold differences with a paired t-test compares like with like.
            metrics.update(_per_fold_difference(oof["fold"].to_numpy(), codes, proba[:, 1], base[:, 1], name))
    return metrics


def _binary_scores(
    oof: pd.DataFrame, codes: np.ndarray, proba: np.ndarray, predicted: np.ndarray, *, auc: float,
    oracle: pd.Series | None, settings: EvaluateParams,
) -> tuple[dict, dict[str, pd.DataFrame]]:  # fmt: skip
    """A binary target's AUC intervals, confusion counts and calibration, the ``roc``, ``calibration`` and
    ``rolling_auc`` tables, and the oracle's AUC beside the model's ``auc``."""
    metrics, plots = {}, {}
    n_pos, n_neg = int(codes.sum()), int((codes == 0).sum())
    metrics["null_auc_sd"] = null_auc_sd(n_pos, n_neg)
    metrics["auc_block_ci_low"], metrics["auc_block_ci_high"] = stationary_bootstrap_ci(
        rank_auc, codes, proba[:, 1], block_days=settings.block_days, n_boot=settings.bootstrap,
        seed=settings.seed, of_resamples=resampled_rank_auc,
    )  # fmt: skip
    metrics["auc_ci_low"], metrics["auc_ci_high"] = bootstrap_auc_ci(
        codes, proba[:, 1], n_boot=settings.bootstrap, seed=settings.seed
    )
    tn, fp, fn, tp = (int(x) for x in binary_confusion_matrix(codes, predicted).ravel())
    metrics.update({"tn": tn, "fp": fp, "fn": fn, "tp": tp})
    plots["roc"] = roc_table(codes, proba[:, 1])
    plots["calibration"] = calibration_table(codes, proba[:, 1], settings.calibration_bins)
    metrics["ece"] = expected_calibration_error(codes, proba[:, 1], settings.calibration_bins)
    metrics.update(
        ece_noise(codes, proba[:, 1], bins=settings.calibration_bins, n_boot=settings.bootstrap, seed=settings.seed)
    )
    plots["rolling_auc"] = rolling_auc(oof["trade_date"], codes, proba[:, 1], window_days=settings.rolling_days)
    if oracle is not None:
        p_oracle = oracle.reindex(pd.DatetimeIndex(oof["trade_date"])).to_numpy()
        known = np.isfinite(p_oracle)
        metrics["oracle_auc"] = binary_auc(codes[known], p_oracle[known])  # roc_auc_score's value
        # Efficiency divides by the oracle's edge: when that edge is within 2 null standard deviations of
        # nothing (a market without signal, kappa = 0), the ratio is noise over noise and is not reported.
        metrics["oracle_informative"] = bool(abs(metrics["oracle_auc"] - 0.5) > 2 * metrics["null_auc_sd"])
        metrics["oracle_efficiency"] = (
            (auc - 0.5) / (metrics["oracle_auc"] - 0.5) if metrics["oracle_informative"] else float("nan")
        )
        oracle_roll = rolling_auc(
            oof["trade_date"][known], codes[known], p_oracle[known], window_days=settings.rolling_days
        )
        plots["rolling_auc"] = plots["rolling_auc"].merge(
            oracle_roll.rename(columns={"auc": "oracle_auc"}), on="trade_date", how="left"
        )
    return metrics, plots


def _top_label_calibration(
    codes: np.ndarray, proba: np.ndarray, predicted: np.ndarray, *, settings: EvaluateParams
) -> dict:
    """A multiclass target's ``ece`` and its noise (:func:`almanac.ml.calibration.ece_noise`)."""
    # Top-label calibration (Guo et al. 2017): the stated probability of the predicted class against how often
    # it was the class.  Under calibration the argmax is right with probability max(p), so the null is the
    # binary one on (confidence, correct).
    confidence, correct = proba.max(axis=1), (predicted == codes).astype(float)
    metrics = {"ece": expected_calibration_error(correct, confidence, settings.calibration_bins)}
    metrics.update(
        ece_noise(correct, confidence, bins=settings.calibration_bins, n_boot=settings.bootstrap,
                  seed=settings.seed)
    )  # fmt: skip
    return metrics


def _against_the_base_rate(metrics: dict) -> dict:
    """``brier_skill`` and ``calibration_ok`` from ``metrics``; a warning when the probabilities are worse than the
    base rate's."""
    # Calibration against the simplest honest forecast, the training base rate (same folds), and against the ECE a
    # calibrated model with these probabilities would show by chance.
    out = {"brier_skill": 1.0 - metrics["brier"] / metrics["base_rate_brier"]}
    out["calibration_ok"] = bool(
        metrics["brier"] < metrics["base_rate_brier"]
        and metrics["log_loss"] < metrics["base_rate_log_loss"]
        and metrics["ece"] <= metrics["ece_null_p95"]
    )
    if metrics["brier"] >= metrics["base_rate_brier"] or metrics["log_loss"] >= metrics["base_rate_log_loss"]:
        warnings.warn(
            f"the model's probabilities are worse than the base rate (Brier {metrics['brier']:.4f} vs "
            f"{metrics['base_rate_brier']:.4f}, log loss {metrics['log_loss']:.4f} vs "
            f"{metrics['base_rate_log_loss']:.4f}): they are overconfident, and a probability threshold acting on "
            "them means little; try train.calibration or simpler hyperparameters",
            AlmanacWarning, stacklevel=3,  # the caller of evaluate
        )  # fmt: skip
    return out
