"""Inference with a model saved by :meth:`almanac.ml.trainers.ModelTrainer.save`."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd

NO_PREDICTION = -1


class ModelPredictor:
    """Make predictions with a trained model (and its optional scaler)."""

    def __init__(self, model_path: str | Path):
        self.checkpoint = joblib.load(model_path)
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

    def predict_with_confidence(self, X: pd.DataFrame, threshold: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
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
