"""The pipeline's train / evaluate / backtest steps as library functions (the stages only move files).

``train_model`` runs the walk-forward for the chosen model *and* every baseline on the same folds, then fits
the final model on all labelled days.  ``evaluate_predictions`` scores the out-of-fold probabilities against
the baselines and, on synthetic data, the oracle.  ``backtest_predictions`` trades them from the cutoff.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pandas as pd

from almanac.config import CVParams, TrainParams
from almanac.ml import evaluators
from almanac.ml.backtester import CostModel, MLBacktester
from almanac.ml.cv import WalkForwardSplit
from almanac.ml.metrics import bootstrap_auc_ci, classification_scores, delong_test, null_auc_sd
from almanac.ml.models import BASELINES, ModelFactory, baseline_inputs, is_baseline
from almanac.ml.trainers import ModelTrainer


def model_params(train: TrainParams, name: str) -> dict:
    """Keyword arguments of model ``name`` from ``train.<name>.*`` plus the seed."""
    if name == "logistic":
        return {"C": train.logistic.C, "max_iter": train.logistic.max_iter, "random_state": train.seed}
    if name in ("lightgbm", "xgboost"):
        return {**dataclasses.asdict(getattr(train, name)), "random_state": train.seed}
    return {}


def splitter_from(cv: CVParams) -> WalkForwardSplit:
    """The walk-forward splitter configured by ``cv.*``."""
    return WalkForwardSplit(cv.test_days, cv.min_train_days, cv.scheme, cv.train_days, cv.purge_days, cv.embargo_days)


@dataclasses.dataclass
class TrainOutput:
    """Result of :func:`train_model`."""

    oof: pd.DataFrame
    folds: list[dict]
    trainer: ModelTrainer
    metrics: dict
    classes: list


def _proba_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("probability")]


def train_model(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    sessions: pd.DataFrame,
    target: str,
    model: str,
    train: TrainParams,
    cv: CVParams,
) -> TrainOutput:
    """Walk-forward out-of-fold predictions for ``model`` and every baseline, and the final fitted model.

    ``oof`` columns: ``trade_date, fold, y_true``, the model's ``probability`` (binary: P(class 1); multiclass:
    ``probability_<class>``), and ``baseline_<name>`` (binary) / ``baseline_<name>_<class>`` columns.
    """
    y = labels[target]
    model_inputs = baseline_inputs(sessions) if is_baseline(model) else features
    X = model_inputs.reindex(labels.index)
    splitter = splitter_from(cv)
    trainer = ModelTrainer(ModelFactory.create(model, model_params(train, model)), splitter=splitter)
    trainer.train_walk_forward(X, y)
    oof = trainer.oof_
    base_X = baseline_inputs(sessions).reindex(labels.index)
    for name in BASELINES:  # three baselines, same folds
        base = ModelTrainer(ModelFactory.create(name), splitter=splitter)
        base.train_walk_forward(base_X, y)
        for column in _proba_columns(base.oof_):
            oof[column.replace("probability", f"baseline_{name}")] = base.oof_[column].to_numpy()
    trainer.train_final(X, y)
    auc = np.array([f["auc"] for f in trainer.folds_], dtype=float)
    metrics = {
        "cv_auc_mean": float(np.nanmean(auc)),
        "cv_auc_std": float(np.nanstd(auc, ddof=1)) if len(auc) > 1 else 0.0,
        "cv_auc_min": float(np.nanmin(auc)),
        "cv_auc_max": float(np.nanmax(auc)),
        "n_folds": len(auc),
        "n_oof_days": len(oof),
        "n_train_days_final": int(labels[target].notna().sum()),
        "n_unlabeled_days": trainer.n_unlabeled_,
        "n_features": len(trainer.feature_names_),
    }
    return TrainOutput(oof=oof, folds=trainer.folds_, trainer=trainer, metrics=metrics, classes=list(trainer.classes_))


def registry_entry(
    model: str,
    target: str,
    params: dict,
    feature_lineage: dict,
    features: pd.DataFrame,
    metrics: dict,
    model_sha256: str,
) -> dict:
    """The model registry record (the original design's ``model_registry.json``), without wall-clock times.

    The version is a content hash of model name, params, target and feature set, so the same experiment always
    gets the same version and any change gets a new one.
    """
    feature_set = sorted(features.columns)
    identity = json.dumps(
        {"model": model, "params": params, "target": target, "features": feature_set}, sort_keys=True, default=str
    )
    version = hashlib.sha256(identity.encode()).hexdigest()[:12]
    families = sorted({v["family"] for v in feature_lineage.values()})
    name = f"es_{target}_{model}_{version}"
    return {
        name: {
            "model": model,
            "version": version,
            "target": target,
            "params": params,
            "feature_set": "+".join(families),
            "features": feature_set,
            "data_range": f"{features.index.min().date()} to {features.index.max().date()}",
            "cv_score": metrics["cv_auc_mean"],
            "cv_metric": "auc (mean over walk-forward folds)",
            "model_sha256": model_sha256,
        }
    }


def _scores(y_codes: np.ndarray, proba: np.ndarray, n_classes: int, prefix: str) -> dict:
    return {f"{prefix}{k}": v for k, v in classification_scores(y_codes, proba, n_classes).items()}


def _matrix(oof: pd.DataFrame, prefix: str, classes: list) -> np.ndarray:
    if len(classes) == 2:
        p = oof[prefix].to_numpy()
        return np.column_stack([1 - p, p])
    return oof[[f"{prefix}_{c}" for c in classes]].to_numpy()


def evaluate_predictions(
    oof: pd.DataFrame,
    classes: list,
    shap_values,
    feature_names: list[str],
    oracle: pd.Series | None,
    rolling_days: int,
    bins: int,
    n_boot: int,
    seed: int,
) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Flat metrics and plot tables for out-of-fold predictions (see ``metrics/evaluate.json`` in the README)."""
    classes_arr = np.array(classes)
    codes = np.searchsorted(classes_arr, oof["y_true"].to_numpy())
    n_classes = len(classes)
    proba = _matrix(oof, "probability", classes)
    metrics = _scores(codes, proba, n_classes, "")
    metrics["n_days"] = len(oof)
    binary = n_classes == 2
    for name in BASELINES:
        base = _matrix(oof, f"baseline_{name}", classes)
        metrics.update(_scores(codes, base, n_classes, f"{name}_"))
        if binary:
            diff, p_value = delong_test(codes, proba[:, 1], base[:, 1])
            metrics[f"auc_minus_{name}"] = diff
            metrics[f"delong_p_vs_{name}"] = p_value
    plots: dict[str, pd.DataFrame] = {}
    predicted = proba.argmax(axis=1)
    plots["confusion"] = evaluators.confusion_table(
        classes_arr[codes].astype(str), classes_arr[predicted].astype(str), [str(c) for c in classes]
    )
    if binary:
        n_pos, n_neg = int(codes.sum()), int((codes == 0).sum())
        metrics["null_auc_sd"] = null_auc_sd(n_pos, n_neg)
        metrics["auc_ci_low"], metrics["auc_ci_high"] = bootstrap_auc_ci(codes, proba[:, 1], n_boot, seed)
        tn, fp, fn, tp = (int(x) for x in plots["confusion"]["count"])
        metrics.update({"tn": tn, "fp": fp, "fn": fn, "tp": tp})
        plots["roc"] = evaluators.roc_table(codes, proba[:, 1])
        plots["calibration"] = evaluators.calibration_table(codes, proba[:, 1], bins)
        plots["rolling_auc"] = evaluators.rolling_auc(oof["trade_date"], codes, proba[:, 1], rolling_days)
        if oracle is not None:
            p_oracle = oracle.reindex(pd.DatetimeIndex(oof["trade_date"])).to_numpy()
            known = np.isfinite(p_oracle)
            from sklearn.metrics import roc_auc_score

            metrics["oracle_auc"] = float(roc_auc_score(codes[known], p_oracle[known]))
            metrics["oracle_efficiency"] = (
                (metrics["auc"] - 0.5) / (metrics["oracle_auc"] - 0.5) if metrics["oracle_auc"] != 0.5 else float("nan")
            )
            oracle_roll = evaluators.rolling_auc(oof["trade_date"][known], codes[known], p_oracle[known], rolling_days)
            plots["rolling_auc"] = plots["rolling_auc"].merge(
                oracle_roll.rename(columns={"auc": "oracle_auc"}), on="trade_date", how="left"
            )
    plots["shap_importance"] = evaluators.shap_importance(shap_values, feature_names)
    top = plots["shap_importance"]["mean_abs_shap"]
    metrics["shap_available"] = bool(top.notna().any())
    return metrics, plots


def backtest_predictions(
    oof: pd.DataFrame, sessions: pd.DataFrame, classes: list, threshold: float, costs: CostModel, n_trials: int
) -> tuple[dict, pd.DataFrame]:
    """Trade the out-of-fold probabilities from the cutoff; returns flat metrics and the equity table."""
    index = pd.DatetimeIndex(oof["trade_date"], name="trade_date")
    if len(classes) == 2:
        p_long = pd.Series(oof["probability"].to_numpy(), index=index)
        p_short = 1.0 - p_long
    else:
        p_long = pd.Series(oof["probability_TrendUp"].to_numpy(), index=index)
        p_short = pd.Series(oof["probability_TrendDown"].to_numpy(), index=index)
    result = MLBacktester(costs=costs).backtest_probabilities(sessions, p_long, p_short, threshold, n_trials)
    pnl = result.pop("pnl")
    result.pop("equity_curve")
    equity = pnl.reset_index()[["trade_date", "position", "pnl_usd", "equity_usd", "drawdown_usd"]]
    return result, equity
