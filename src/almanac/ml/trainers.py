"""Walk-forward training with the original design's ``ModelTrainer`` interface.

Each fold clones the model, fits it (and the optional external scaler) on the fold's training days only and
predicts the fold's test days, so every out-of-fold probability comes from a model that never saw that day or
anything after it.  Labels are integer-coded against the sorted set of classes; rows without a label are left
out and counted.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone

from almanac import schemas
from almanac.config import DEFAULTS, CVParams, LabelsParams, TrainParams
from almanac.ml.cv import WalkForwardSplit
from almanac.ml.metrics import classification_scores
from almanac.ml.models import BASELINES, ModelFactory, baseline_inputs, is_baseline
from almanac.ml.registry import file_sha256, sidecar_path
from almanac.paths import atomic_path

FOLD_THREADS = min(2, os.cpu_count() or 1)  # walk-forward folds fitted at once (the pipeline's machine has 2 cores)


class ModelTrainer:
    """Train a model with walk-forward validation; ``train_final`` then fits it on all labelled days.

    ``scaler`` (optional, as in the original design) is cloned and fitted inside each fold; the project's own
    models carry their preprocessing inside the estimator instead.  ``splitter`` defaults to a
    :class:`WalkForwardSplit` built from ``n_splits``.
    """

    def __init__(self, model, scaler=None, splitter: WalkForwardSplit | None = None):
        self.model = model
        self.scaler = scaler
        self.splitter = splitter

    def _prepare(self, X: pd.DataFrame, y: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
        if not isinstance(X.index, pd.DatetimeIndex):
            raise ValueError("X must be indexed by trade date")
        y = pd.Series(y).reindex(X.index)
        known = y.notna().to_numpy()
        self.n_unlabeled_ = int((~known).sum())
        self.classes_ = np.array(sorted(y[known].unique()))
        if len(self.classes_) < 2:
            raise ValueError(f"need at least two label classes to train, got {list(self.classes_)}")
        codes = np.searchsorted(self.classes_, y[known].to_numpy())
        self.feature_names_ = list(X.columns)
        return X.loc[known], codes

    def _fit(self, X: pd.DataFrame, codes: np.ndarray, in_place: bool = False):
        """Fit on ``codes``; a fold lacking a class is fitted on contiguous codes (XGBoost requires 0..k-1), and
        the returned ``present`` maps the model's columns back to the full class list."""
        model = self.model if in_place else clone(self.model)
        scaler = (self.scaler if in_place else clone(self.scaler)) if self.scaler is not None else None
        data = X if scaler is None else pd.DataFrame(scaler.fit_transform(X), index=X.index, columns=X.columns)
        present = np.unique(codes)
        model.fit(data, np.searchsorted(present, codes))
        return model, scaler, present

    def _proba(self, model, scaler, present: np.ndarray, X: pd.DataFrame) -> np.ndarray:
        data = X if scaler is None else pd.DataFrame(scaler.transform(X), index=X.index, columns=X.columns)
        raw = model.predict_proba(data)
        out = np.zeros((len(X), len(self.classes_)))
        out[:, present[np.asarray(model.classes_, dtype=int)]] = raw  # a class absent from the fold gets 0
        return out

    def train_walk_forward(
        self, X: pd.DataFrame, y: pd.Series, n_splits: int = 5, *, explain: bool = False
    ) -> list[float]:
        """Walk-forward validation (no look-ahead); returns the per-fold AUC.

        Also sets ``oof_`` (trade_date, fold, y_true, probability columns) and ``folds_`` (per-fold dates,
        sizes and scores).  With ``explain``, ``oof_shap_`` holds each test day's SHAP values from *its fold's*
        model (``trade_date``, ``fold`` and one column per feature; binary: log-odds of class 1, multiclass: the
        mean absolute value over classes), so feature importance is measured out of fold like every other score.
        """
        X, codes = self._prepare(X, y)
        splitter = self.splitter or WalkForwardSplit.from_n_splits(X.index.nunique(), n_splits)
        splits = list(splitter.split(X, groups=X.index))
        # The folds are independent, so FOLD_THREADS of them run at once (LightGBM, XGBoost and numpy release the
        # GIL while they compute); each fold is the same computation as on its own and they are collected in fold
        # order, so nothing depends on the number of threads.
        with ThreadPoolExecutor(max_workers=max(1, min(FOLD_THREADS, len(splits)))) as pool:
            done = list(
                pool.map(
                    lambda k: self._walk_forward_fold(X, codes, k, *splits[k], explain=explain), range(len(splits))
                )
            )
        self.oof_ = pd.concat([frame for _, frame, _ in done], ignore_index=True)
        self.folds_ = [record for record, _, _ in done]
        explained = [shap for _, _, shap in done if shap is not None]
        self.oof_shap_ = pd.concat(explained, ignore_index=True) if explained else None
        return [f["auc"] for f in self.folds_]

    def _walk_forward_fold(
        self, X: pd.DataFrame, codes: np.ndarray, fold: int, train: np.ndarray, test: np.ndarray, *, explain: bool
    ) -> tuple[dict, pd.DataFrame, pd.DataFrame | None]:
        """One fold of :meth:`train_walk_forward`: its record (dates, sizes, scores), its out-of-fold rows and (with
        ``explain``) its test days' SHAP values."""
        dates = X.index
        model, scaler, present = self._fit(X.iloc[train], codes[train])
        proba = self._proba(model, scaler, present, X.iloc[test])
        explained = None
        if explain and scaler is None:
            explained = self._fold_shap(model, X.iloc[train], X.iloc[test], fold=fold, present=present)
        record = {
            "fold": fold,
            "train_start": str(dates[train[0]].date()),
            "train_end": str(dates[train[-1]].date()),
            "test_start": str(dates[test[0]].date()),
            "test_end": str(dates[test[-1]].date()),
            "n_train": len(train),
            "n_test": len(test),
            **classification_scores(codes[test], proba, len(self.classes_)),
        }
        frame = pd.DataFrame({"trade_date": dates[test], "fold": fold, "y_true": self.classes_[codes[test]]})
        return record, pd.concat([frame, self._proba_frame(proba, len(test))], axis=1), explained

    def _fold_shap(
        self, model, X_train: pd.DataFrame, X_test: pd.DataFrame, *, fold: int, present: np.ndarray
    ) -> pd.DataFrame | None:
        from almanac.ml.explanations import compute_shap_values  # lazily: shap is slow to import

        if len(present) < 2:  # a fold that saw one class has a constant model: nothing to explain
            return None
        values = compute_shap_values(model, X_test, background=X_train)
        if values is None:  # a baseline: nothing to explain
            return None
        values = np.asarray(values, dtype=float)
        if values.ndim == 3:  # rows x features x classes
            values = values[:, :, -1] if len(present) == 2 else np.abs(values).mean(axis=2)
        frame = pd.DataFrame(values, columns=X_test.columns)
        frame.insert(0, "fold", fold)
        frame.insert(0, "trade_date", X_test.index)
        return frame

    def _proba_frame(self, proba: np.ndarray, n: int) -> pd.DataFrame:
        if len(self.classes_) == 2:
            return pd.DataFrame({"probability": proba[:, 1]}, index=range(n))
        return pd.DataFrame({f"probability_{c}": proba[:, i] for i, c in enumerate(self.classes_)}, index=range(n))

    def train_final(self, X: pd.DataFrame, y: pd.Series) -> None:
        """Train ``self.model`` (and scaler) in place on all labelled days, as the original design does, so the
        caller's model object is the fitted one.  Folds of ``train_walk_forward`` use clones and never touch it."""
        X, codes = self._prepare(X, y)
        self._fit(X, codes, in_place=True)

    def save(self, path: str | Path, *, checksum_file: bool = True) -> str:
        """Save model, scaler, classes and feature names in one joblib file; return its sha256.

        With ``checksum_file`` the sha256 is also written beside it (``<path>.sha256``), so that
        :class:`~almanac.ml.predictors.ModelPredictor` can verify the file before unpickling it.  The pipeline
        records the checksum in its registry instead.
        """
        checkpoint = {
            "model": self.model,
            "scaler": self.scaler,
            "classes": list(self.classes_),
            "feature_names": self.feature_names_,
        }
        with atomic_path(path) as temporary:
            joblib.dump(checkpoint, temporary)
        digest = file_sha256(path)
        if checksum_file:
            with atomic_path(sidecar_path(path)) as temporary:
                temporary.write_text(f"{digest}  {Path(path).name}\n")
        return digest


@dataclasses.dataclass
class TrainOutput:
    """Result of :func:`train`: out-of-fold predictions, per-fold scores, the fitted trainer and flat metrics."""

    oof: pd.DataFrame
    folds: list[dict]
    trainer: ModelTrainer
    metrics: dict
    classes: list
    oof_shap: pd.DataFrame | None = None  # SHAP values of each test day from its fold's model (None: a baseline)


def _proba_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("probability")]


def train(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    target: str | None = None,
    settings: TrainParams | None = None,
    cv: CVParams | None = None,
    explain: bool = True,
) -> TrainOutput:
    """Walk-forward out-of-fold predictions for the model and every baseline, and the final fitted model.

    Parameters
    ----------
    features : DataFrame
        The feature table, indexed by ``trade_date`` (or with a ``trade_date`` column, as ``pd.read_parquet``
        reads ``data/features.parquet``), one row per date, sorted; numeric columns.
    labels : DataFrame
        The label table, indexed by ``trade_date`` or with that column (a column per target; NaN where unknown).
    sessions : DataFrame
        The session table (the baselines read the open -> cutoff move and the previous day's return from it).
        Dates and dtypes of the three frames are converted and checked as :mod:`almanac.schemas` says; no input
        is modified.
    target : str, optional
        Label column to learn; default ``labels.target``.
    settings : TrainParams, optional
        ``train.*``: the model and its hyperparameters; default the schema's.
    cv : CVParams, optional
        ``cv.*``: the walk-forward splitter; default the schema's.
    explain : bool, default True
        Compute each test day's SHAP values under its fold's model (``oof_shap``); ``False`` skips them (the
        default-selection benchmark, which only scores predictions).

    Returns
    -------
    TrainOutput
        ``oof`` (``trade_date, fold, y_true``, the model's ``probability`` — binary: P(class 1), multiclass:
        ``probability_<class>`` — and ``baseline_<name>[_<class>]`` columns on the same folds), ``folds``,
        the ``trainer`` holding the final model, flat ``metrics`` and the sorted ``classes``.

    Raises
    ------
    almanac.schemas.InputError
        A frame breaks its data contract, ``target`` is not a column of ``labels`` or a settings argument is not
        its params section.
    almanac.errors.NotEnoughDataError
        Fewer labelled trade dates than ``cv`` needs for its first training block and one test block.

    Examples
    --------
    >>> import almanac
    >>> from almanac.config import CVParams
    >>> data = almanac.load_bars(almanac.DataParams(start="2023-01-03", end="2023-06-30"))
    >>> sessions = almanac.build_sessions(data.bars, rolls=data.manifest["rolls"])
    >>> features, _ = almanac.build_features(data.bars, sessions, data.daily)
    >>> labels = almanac.build_labels(sessions, data.bars)
    >>> out = almanac.train(features, labels, sessions, cv=CVParams(min_train_days=60, test_days=20))
    >>> out.metrics["n_folds"], list(out.oof.columns[:4])
    (3, ['trade_date', 'fold', 'y_true', 'probability'])
    """
    target = target or DEFAULTS.labels.target
    targets = typing.get_args(LabelsParams.model_fields["target"].annotation)
    if target not in targets:
        raise schemas.InputError(f"train: target: expected one of {', '.join(targets)}, got {target!r}")
    settings = schemas.params(settings, TrainParams, fn="train", arg="settings") or DEFAULTS.train
    cv = schemas.params(cv, CVParams, fn="train", arg="cv") or DEFAULTS.cv
    features = schemas.features(features, fn="train")
    labels = schemas.table(labels, schemas.LABELS, fn="train", arg="labels", required=("trade_date", target),
                           trade_date="index")  # fmt: skip
    sessions = schemas.table(sessions, schemas.SESSIONS, fn="train", arg="sessions",
                             required=("trade_date", "open", "close", "prev_close", "cutoff_price"), trade_date="either")  # fmt: skip
    splitter = WalkForwardSplit.from_params(cv)
    y = labels[target]
    base_X = baseline_inputs(sessions).reindex(labels.index)
    X = base_X if is_baseline(settings.model) else features.reindex(labels.index)
    trainer = ModelTrainer(ModelFactory.from_params(settings), splitter=splitter)
    trainer.train_walk_forward(X, y, explain=explain and not is_baseline(settings.model))
    oof = trainer.oof_
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
        "n_train_days_final": int(y.notna().sum()),
        "n_unlabeled_days": trainer.n_unlabeled_,
        "n_features": len(trainer.feature_names_),
    }
    return TrainOutput(
        oof=oof, folds=trainer.folds_, trainer=trainer, metrics=metrics, classes=list(trainer.classes_),
        oof_shap=trainer.oof_shap_,
    )  # fmt: skip
