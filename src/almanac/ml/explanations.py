"""SHAP values, computed as the model's entry in :data:`almanac.ml.models.EXPLAINERS` says: the out-of-fold values the
``train`` stage stores, the importance table of the ``evaluate`` stage and the reasons ``almanac predict`` prints.

Neither ``shap`` nor the model libraries are imported before a model needs them: they are slow to import, and the
morning command's tree models use their own library's TreeSHAP.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def compute_shap_values(
    model, X: pd.DataFrame, background_samples: int = 100, *, background: pd.DataFrame | None = None
) -> np.ndarray | None:
    """SHAP values (rows x features; multiclass: averaged magnitude is left to the caller, classes last).

    The method follows the estimator's entry in :data:`almanac.ml.models.EXPLAINERS`: trees (LightGBM,
    XGBoost, any tree ensemble ``shap.TreeExplainer`` reads) use ``shap.TreeExplainer`` (LightGBM: the same call
    without shap, :func:`lightgbm_tree_shap`); linear models (the logistic pipeline) use ``LinearExplainer`` on
    their imputed, scaled inputs with ``background_samples`` rows of ``background`` (default ``X`` itself) as
    background.  Baselines have no features to explain and return ``None``; a model with no entry raises
    :class:`almanac.ml.models.NoExplainerError`.
    """
    from almanac.ml.models import explained_model, explainer_of  # lazily: the model libraries are slow

    kind, estimator = explainer_of(model)
    if kind is None:
        return None
    if kind == "lightgbm":
        return lightgbm_tree_shap(estimator, X)
    import shap  # imported lazily: it is slow to import and only needed here

    model = explained_model(model)
    if kind in ("xgboost", "tree"):
        values = shap.TreeExplainer(estimator).shap_values(X)
    elif kind == "linear":
        from sklearn.pipeline import Pipeline  # lazily: the evaluate stage reads this module without scikit-learn

        prep = model[:-1] if isinstance(model, Pipeline) else None
        data = prep.transform(X) if prep is not None else X.to_numpy()
        pool = data if background is None else (prep.transform(background) if prep is not None else background)
        pool = np.asarray(pool)
        rows = pool[np.linspace(0, len(pool) - 1, min(background_samples, len(pool))).astype(int)]
        values = shap.LinearExplainer(estimator, rows).shap_values(data)
    else:
        raise ValueError(f"unknown SHAP explainer kind {kind!r} in almanac.ml.models.EXPLAINERS")
    values = np.asarray(values)
    if values.ndim == 3 and values.shape[0] == len(X) and values.shape[1] == X.shape[1]:
        return values  # rows x features x classes
    if values.ndim == 3:  # classes x rows x features (older layouts)
        return np.moveaxis(values, 0, -1)
    return values


def lightgbm_tree_shap(estimator, X: pd.DataFrame) -> np.ndarray:
    """``shap.TreeExplainer(estimator).shap_values(X)`` of a fitted ``LGBMClassifier``: rows x features (binary:
    log-odds of the second class), multiclass rows x features x classes.

    For a LightGBM model without background data shap itself calls LightGBM's TreeSHAP,
    ``booster_.predict(X, num_iteration=-1, pred_contrib=True)``, and drops the bias column (shap 0.51,
    ``TreeExplainer.shap_values``); this is that call and that reshaping, so the same numbers (tested bit for
    bit), without importing shap (about 0.5 s) or building its explainer, which parses every tree of the model
    (most of the train stage's SHAP time, once per fold).
    """
    phi = estimator.booster_.predict(X, num_iteration=-1, pred_contrib=True)
    n_features = X.shape[1]
    if phi.shape[1] == n_features + 1:
        return phi[:, :-1]
    by_class = phi.reshape(X.shape[0], phi.shape[1] // (n_features + 1), n_features + 1)
    return np.ascontiguousarray(np.moveaxis(by_class[:, :, :-1], 1, -1))  # classes last, as shap


def shap_importance(values: np.ndarray | None, feature_names: list[str]) -> pd.DataFrame:
    """Mean |SHAP| per feature (averaged over classes when multiclass), largest first."""
    if values is None:
        return pd.DataFrame({"feature": feature_names, "mean_abs_shap": np.nan})
    magnitude = np.abs(values)
    if magnitude.ndim == 3:
        magnitude = magnitude.mean(axis=2)
    out = pd.DataFrame({"feature": feature_names, "mean_abs_shap": magnitude.mean(axis=0)})
    return out.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)


def shap_contributions(
    predictor, X: pd.DataFrame, *, history: pd.DataFrame, top: int, explained_class: int
) -> list[dict]:
    """The ``top`` SHAP contributions to this one prediction (empty for the baselines, which have no features):
    ``almanac predict``'s reasons.

    ``predictor`` is a :class:`~almanac.ml.predictors.ModelPredictor` (its ``model`` and ``feature_names`` are read),
    ``X`` the one row of its features, ``history`` the training rows.  Tree models use their own library's exact
    TreeSHAP (``pred_contrib``: the algorithm ``shap.TreeExplainer`` runs, without importing ``shap``, which would cost
    the morning command half a second); the logistic pipeline goes through :func:`compute_shap_values` with the
    training rows as background.
    """
    from almanac.ml.models import explainer_of

    kind, estimator = explainer_of(predictor.model)  # EXPLAINERS: how this learner's SHAP values are computed
    if kind is None:  # a baseline: no features
        return []
    if kind == "lightgbm":
        values = np.asarray(estimator.predict(X, pred_contrib=True), dtype=float)
    elif kind == "xgboost":
        import xgboost

        values = estimator.get_booster().predict(xgboost.DMatrix(X), pred_contribs=True)
    else:
        values = compute_shap_values(predictor.model, X, background=history)
    values = np.asarray(values, dtype=float)
    n = X.shape[1]
    if kind in ("lightgbm", "xgboost"):
        # Binary: rows x (features + bias), log-odds of code 1.  Multiclass: per class (in the order of the
        # fitted model's classes_) features + bias.
        seen = [int(c) for c in estimator.classes_]
        if len(seen) == 2:
            row = values.reshape(len(X), n + 1)[0, :n] * (1.0 if explained_class == seen[1] else -1.0)
        else:
            row = values.reshape(len(X), len(seen), n + 1)[0, seen.index(explained_class), :n]
    else:
        row = values[0, :, explained_class] if values.ndim == 3 else values[0]
    order = np.argsort(-np.abs(row), kind="stable")[:top]
    return [{"feature": predictor.feature_names[i], "value": float(X.iloc[0, i]), "shap": float(row[i])} for i in order]
