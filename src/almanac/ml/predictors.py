"""Inference with a model saved by :meth:`almanac.ml.trainers.ModelTrainer.save` or the ``train`` stage.

A model file is a pickle, and unpickling runs code: it is loaded only after its sha256 matches the one the
registry (or the checksum file written beside it) records (:func:`almanac.ml.registry.load_model`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from almanac.config import DEFAULTS
from almanac.ml.registry import load_model

NO_PREDICTION = -1


class ModelPredictor:
    """Make predictions with a trained model (and its optional scaler).

    ``registry_path`` / ``sha256`` say where the expected checksum comes from (default: the registry in the
    model's folder, else the ``.sha256`` file beside it); a model that does not match is refused, unloaded.
    """

    def __init__(self, model_path: str | Path, *, registry_path: str | Path | None = None, sha256: str | None = None):
        self.checkpoint = load_model(model_path, registry_path=registry_path, sha256=sha256)
        self.model = self.checkpoint["model"]
        self.scaler = self.checkpoint["scaler"]
        self.classes = np.asarray(self.checkpoint["classes"])
        self.feature_names = list(self.checkpoint["feature_names"])

    def _inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names if c not in X.columns]
        if missing:
            raise ValueError(f"features missing for this model: {missing}")
        X = X[self.feature_names]
        if self.scaler is None:
            return X
        return pd.DataFrame(self.scaler.transform(X), index=X.index, columns=X.columns)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in the order of ``self.classes`` (sorted labels)."""
        raw = self.model.predict_proba(self._inputs(X))
        out = np.zeros((len(X), len(self.classes)))
        out[:, np.asarray(self.model.classes_, dtype=int)] = raw
        return out

    def predict_with_confidence(
        self, X: pd.DataFrame, threshold: float = DEFAULTS.backtest.threshold
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predict only where the top class probability reaches ``threshold``.

        Returns ``(predictions, max_proba)``: the predicted label, or -1 ("no prediction") below the threshold.
        For binary labels 1 means up and 0 down; the backtester trades 0 as a short and -1 as flat.
        """
        proba = self.predict_proba(X)
        max_proba = proba.max(axis=1)
        labels = self.classes[proba.argmax(axis=1)]
        predictions = (
            np.where(max_proba >= threshold, labels, NO_PREDICTION)
            if labels.dtype.kind in "if"
            else np.where(max_proba >= threshold, labels, str(NO_PREDICTION))
        )
        return predictions, max_proba


def predict(
    features: pd.DataFrame, *, model_path: str | Path = "models/model.joblib", registry_path: str | Path | None = None
) -> pd.DataFrame:
    """Class probabilities of the saved model for each row of ``features``.

    Parameters
    ----------
    features : DataFrame
        Feature rows indexed by ``trade_date`` holding (at least) the model's features, computed with the
        pipeline's own code (:func:`almanac.features.ml_features.build_features`).
    model_path : str or Path
        A model saved by the ``train`` stage.
    registry_path : str or Path, optional
        The registry recording the model's sha256 (default: ``model_registry.json`` beside the model).

    Returns
    -------
    DataFrame
        Indexed like ``features``; binary models give ``probability`` (P(up)), multiclass ones
        ``probability_<class>``.
    """
    predictor = ModelPredictor(model_path, registry_path=registry_path)
    proba = predictor.predict_proba(features)
    if len(predictor.classes) == 2:
        return pd.DataFrame({"probability": proba[:, 1]}, index=features.index)
    return pd.DataFrame(
        {f"probability_{c}": proba[:, i] for i, c in enumerate(predictor.classes)}, index=features.index
    )
