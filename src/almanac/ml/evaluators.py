"""Model evaluation: classification metrics, SHAP importance, drift (rolling AUC), calibration and ROC data.

Differences from the original design: ``detect_concept_drift`` scores AUC (the original said AUC but scored
accuracy), and all curves are returned as small tables so the pipeline can store them as DVC plots.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score, roc_curve
from sklearn.pipeline import Pipeline

from almanac.ml.metrics import classification_scores


class ModelEvaluator:
    """Comprehensive model evaluation."""

    def evaluate_classification(self, y_true, y_pred, y_proba=None, classes=None) -> dict:
        """Accuracy, confusion matrix and classification report; with ``y_proba`` (n x classes) also ``roc_auc``
        (binary; macro one-vs-rest when multiclass; NaN when ``y_true`` holds one class), Brier score and log loss.

        ``classes`` names the columns of ``y_proba`` (default: the sorted labels seen in ``y_true`` and ``y_pred``,
        which must then number as many as the columns; otherwise pass ``classes`` explicitly).
        """
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

    def compute_shap_values(self, model, X: pd.DataFrame, background_samples: int = 100) -> np.ndarray | None:
        """SHAP values (rows x features; multiclass: averaged magnitude is left to the caller, classes last).

        Trees (LightGBM, XGBoost) use ``shap.TreeExplainer``; the logistic pipeline uses ``LinearExplainer`` on
        its imputed, scaled inputs with ``background_samples`` rows as background.  Baselines have no features
        to explain and return ``None``.
        """
        import shap  # imported lazily: it is slow to import and only needed here

        estimator = model.steps[-1][1] if isinstance(model, Pipeline) else model
        name = type(estimator).__name__
        if name in ("LGBMClassifier", "XGBClassifier"):
            with warnings.catch_warnings():
                # shap announces that LightGBM binary output layouts changed; both layouts are handled below.
                warnings.filterwarnings(
                    "ignore", message="LightGBM binary classifier with TreeExplainer", category=UserWarning
                )
                values = shap.TreeExplainer(estimator).shap_values(X)
        elif name == "LogisticRegression":
            prep = model[:-1] if isinstance(model, Pipeline) else None
            data = prep.transform(X) if prep is not None else X.to_numpy()
            background = data[np.linspace(0, len(data) - 1, min(background_samples, len(data))).astype(int)]
            values = shap.LinearExplainer(estimator, background).shap_values(data)
        else:
            return None
        values = np.asarray(values)
        if values.ndim == 3 and values.shape[0] == len(X) and values.shape[1] == X.shape[1]:
            return values  # rows x features x classes
        if values.ndim == 3:  # classes x rows x features (older layouts)
            return np.moveaxis(values, 0, -1)
        return values

    def detect_concept_drift(self, model, X_windows, y_windows) -> list[float]:
        """AUC of ``model`` on each (X, y) window, in order (NaN where a window holds a single class)."""
        scores = []
        for X_window, y_window in zip(X_windows, y_windows, strict=True):  # one iteration per window
            y = np.asarray(y_window)
            if len(np.unique(y)) < 2:
                scores.append(float("nan"))
                continue
            scores.append(float(roc_auc_score(y, model.predict_proba(X_window)[:, 1])))
        return scores


def shap_importance(values: np.ndarray | None, feature_names: list[str]) -> pd.DataFrame:
    """Mean |SHAP| per feature (averaged over classes when multiclass), largest first."""
    if values is None:
        return pd.DataFrame({"feature": feature_names, "mean_abs_shap": np.nan})
    magnitude = np.abs(values)
    if magnitude.ndim == 3:
        magnitude = magnitude.mean(axis=2)
    out = pd.DataFrame({"feature": feature_names, "mean_abs_shap": magnitude.mean(axis=0)})
    return out.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)


def rolling_auc(
    dates: pd.Series, y: np.ndarray, score: np.ndarray, window_days: int, step_days: int = 5
) -> pd.DataFrame:
    """AUC over the trailing ``window_days`` out-of-fold days, every ``step_days`` days (drift monitor)."""
    dates = pd.DatetimeIndex(dates)
    y, score = np.asarray(y, dtype=int), np.asarray(score, dtype=float)
    rows = []
    for end in range(window_days, len(dates) + 1, step_days):  # one iteration per plotted point
        yy, ss = y[end - window_days : end], score[end - window_days : end]
        auc = roc_auc_score(yy, ss) if len(np.unique(yy)) == 2 else np.nan
        rows.append((dates[end - 1], auc))
    return pd.DataFrame(rows, columns=["trade_date", "auc"])


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int) -> pd.DataFrame:
    """Reliability curve: per equal-width probability bin, mean predicted, observed frequency and count."""
    p = np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": np.asarray(y, dtype=float)})
    table = (
        frame.groupby("bin")
        .agg(mean_predicted=("p", "mean"), observed=("y", "mean"), count=("y", "size"))
        .reset_index()
    )
    table["bin_low"] = edges[table["bin"]]
    table["bin_high"] = edges[table["bin"] + 1]
    return table[["bin", "bin_low", "bin_high", "mean_predicted", "observed", "count"]]


def roc_table(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """ROC curve points (false and true positive rates by threshold)."""
    fpr, tpr, thresholds = roc_curve(np.asarray(y, dtype=int), np.asarray(p, dtype=float))
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.minimum(thresholds, 1.0)})


def confusion_table(y_true: np.ndarray, y_pred: np.ndarray, labels: list) -> pd.DataFrame:
    """Long-format confusion matrix: actual, predicted, count."""
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    return pd.DataFrame(
        [(str(a), str(p), int(matrix[i, j])) for i, a in enumerate(labels) for j, p in enumerate(labels)],
        columns=["actual", "predicted", "count"],
    )
