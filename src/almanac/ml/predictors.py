"""Inference with a model saved by :meth:`almanac.ml.trainers.ModelTrainer.save` or the ``train`` stage, and the
trader's morning: :func:`predict_day` (``almanac predict``).

A model file is a pickle, and unpickling runs code: it is loaded only after its sha256 matches the one the
registry (or the checksum file written beside it) records (:func:`almanac.ml.registry.load_model`).  ``almanac
predict`` checks the file (sha256 and ``dvc.lock``'s md5) before it reads anything else, and unpickles it only when
the answer needs the registered model: a past day's probability is its fold model's, read from the out-of-fold
table, so that answer never imports scikit-learn or LightGBM (a second of the command's start-up).

The answer itself is :class:`almanac.ml.morning_answer.MorningPrediction`: a labelled day's from the out-of-fold
table (:mod:`almanac.ml.morning_answer`), today's or an in-sample one from bars (:mod:`almanac.ml.morning_bars`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from almanac import schemas
from almanac.config import DEFAULTS, Params
from almanac.data_sources.store import read_json, read_table
from almanac.ml import morning
from almanac.ml.morning_answer import MorningPrediction, out_of_fold_prediction
from almanac.ml.registry import current_record, load_model, verify_model
from almanac.paths import PipelineFiles  # re-exported: `from almanac.ml.predictors import PipelineFiles` works

NO_PREDICTION = -1


class ModelPredictor:
    """Make predictions with a trained model (and its optional scaler).

    ``registry_path`` / ``sha256`` say where the expected checksum comes from (default: the registry in the
    model's folder, else the ``.sha256`` file beside it); ``lock_path`` (a ``dvc.lock``) adds the md5 it records;
    a model that does not match is refused, unloaded.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        registry_path: str | Path | None = None,
        sha256: str | None = None,
        lock_path: str | Path | None = None,
    ):
        self.checkpoint = load_model(model_path, registry_path=registry_path, sha256=sha256, lock_path=lock_path)
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
        Feature rows indexed by ``trade_date`` (or with that column, as ``pd.read_parquet`` reads
        ``data/features.parquet``), one row per date, sorted, holding (at least) the model's features (numeric),
        computed with the pipeline's own code (:func:`almanac.features.ml_features.build_features`); checked as
        :mod:`almanac.schemas` says, not modified.
    model_path : str or Path, default 'models/model.joblib'
        A model saved by the ``train`` stage (or by ``ModelTrainer.save``, which writes its sha256 beside it).
    registry_path : str or Path, optional
        The registry recording the model's sha256 (default: ``model_registry.json`` beside the model).

    Returns
    -------
    DataFrame
        Indexed like ``features``; binary models give ``probability`` (P(up)), multiclass ones
        ``probability_<class>``.

    Raises
    ------
    almanac.errors.ModelIntegrityError
        Nothing records the model's sha256, or the file does not match it: it is never unpickled.
    FileNotFoundError
        A sha256 is recorded but no model is at ``model_path``.
    almanac.schemas.InputError
        ``features`` breaks its data contract or lacks one of the model's features.

    Examples
    --------
    A model trained on half a year of the synthetic market, saved with its checksum in a scratch folder:

    >>> import pathlib, tempfile
    >>> import almanac
    >>> data = almanac.load_bars(almanac.DataParams(start="2023-01-03", end="2023-06-30"))
    >>> sessions = almanac.build_sessions(data.bars, rolls=data.manifest["rolls"])
    >>> features, _ = almanac.build_features(data.bars, sessions, data.daily)
    >>> labels = almanac.build_labels(sessions, data.bars)
    >>> out = almanac.train(features, labels, sessions, settings=almanac.TrainParams(model="logistic"),
    ...                     cv=almanac.CVParams(min_train_days=60, test_days=20), explain=False)
    >>> folder = tempfile.TemporaryDirectory()
    >>> model_path = pathlib.Path(folder.name) / "model.joblib"
    >>> _ = out.trainer.save(model_path)  # and model.joblib.sha256 beside it
    >>> proba = almanac.predict(features.tail(3), model_path=model_path)
    >>> list(proba.columns), len(proba), bool(proba["probability"].between(0, 1).all())
    (['probability'], 3, True)
    >>> folder.cleanup()
    """
    predictor = ModelPredictor(model_path, registry_path=registry_path)
    features = schemas.features(features, fn="predict", names=predictor.feature_names)
    proba = predictor.predict_proba(features)
    if len(predictor.classes) == 2:
        return pd.DataFrame({"probability": proba[:, 1]}, index=features.index)
    return pd.DataFrame(
        {f"probability_{c}": proba[:, i] for i, c in enumerate(predictor.classes)}, index=features.index
    )


def predict_day(
    date: str | dt.date | None = None,
    *,
    params: Params,
    files: PipelineFiles | None = None,
    extra_bars: list[str | Path] = (),
    top: int = 5,
    in_sample: bool = False,
) -> MorningPrediction:
    """Predict the rest of ``date``'s session from what is known at its cutoff, with the registered model.

    The bars up to the cutoff of ``date`` (the pipeline's stored bars, plus ``extra_bars`` files such as this
    morning's, read with ``params.data``'s format and checks) go through the pipeline's own session and feature
    code; the model is loaded only after its sha256 matches the registry's current record.  The model file is
    checked (sha256 against the registry, md5 against ``dvc.lock``) for every answer, and unpickled only when its
    probability is the answer: a labelled day without ``extra_bars`` is answered from the out-of-fold table and the
    stored session table alone (no bars, no scikit-learn or LightGBM import).

    Parameters
    ----------
    date : str or date, optional
        The trade date; default the last one in the data.
    params : Params
        The pipeline's params (``params.yaml``); its cutoff, symbol and target must be the registered model's.
    files : PipelineFiles, optional
        Where the pipeline's outputs are (default: ``data/`` and ``models/`` of the working directory).
    extra_bars : list of path
        Vendor files with bars after the stored ones (bars already stored are not read twice).
    top : int
        How many SHAP contributions to report.
    in_sample : bool
        For a day the registered model was fitted on (a labelled day), answer with that model anyway, labelled
        in-sample.  By default such a day gets the out-of-fold probability of its walk-forward fold's model, the
        one the backtest traded (see :mod:`almanac.ml.morning`); a day of the first training window has none.

    Returns
    -------
    MorningPrediction
        With ``similar``, ``confidence`` and ``previous`` (:func:`almanac.ml.morning.track_record`) from the
        out-of-fold days before ``date`` only (None when the run has no ``oof.parquet``).

    Raises
    ------
    FileNotFoundError
        An ``extra_bars`` file does not exist.
    NotEnoughDataError
        The cutoff of ``date`` has not passed in the data, ``date`` is not a trade date of the data, the
        history the features need is missing, or ``date`` lies in the first training window (without
        ``in_sample``).
    ModelIntegrityError
        The model file does not match its registered sha256, or the registry's model was trained with another
        cutoff, symbol or target than ``params``.

    Examples
    --------
    >>> import almanac
    >>> from almanac.ml.predictors import predict_day
    >>> today = predict_day(params=almanac.load_params("params.yaml"))  # doctest: +SKIP
    >>> print(today.to_text())  # doctest: +SKIP
    """
    from almanac.errors import ModelIntegrityError

    files = files or PipelineFiles()
    name, record = current_record(read_json(files.registry), source=files.registry)
    wanted = {"cutoff_et": params.features.cutoff, "symbol": params.data.symbol, "target": params.labels.target}
    differ = {k: (record[k], v) for k, v in wanted.items() if k in record and record[k] != v}
    if differ:
        raise ModelIntegrityError(
            f"{files.registry}: the current model {name} was trained with "
            + ", ".join(f"{k} {was!r} but params say {now!r}" for k, (was, now) in differ.items())
            + "; run dvc repro to train a model for these params"
        )
    # dvc.lock (in git) records the model's md5 independently of the registry: both must agree with the file, for
    # every answer, before anything else is read; the file is unpickled (checked again) only when it answers.
    lock = files.models.parent / "dvc.lock"
    verify_model(files.model, registry_path=files.registry, lock_path=lock)
    sessions = read_table(files.sessions)
    stored_dates = pd.DatetimeIndex(sessions.loc[sessions["rth_bars"] > 0, "trade_date"])
    common = {
        "params": params, "files": files, "sessions": sessions, "top": top,
        "registered": {"model": name, "version": str(record.get("version", "")),
                       "model_sha256": str(record["model_sha256"])},
    }  # fmt: skip
    if not extra_bars and not in_sample:  # a stored, labelled day needs no bars: its fold model's answer
        day = pd.Timestamp(date) if date is not None else stored_dates[-1]
        stored = sessions.loc[sessions["trade_date"] == day]
        if (
            day in stored_dates
            and np.isfinite(stored["cutoff_price"].iloc[-1])
            and files.labels.is_file()
            and morning.fitted_on(files.labels, day, params.labels.target)
        ):
            return out_of_fold_prediction(day, stored.iloc[-1], new_bars=0, **common)
    from almanac.ml.morning_bars import predict_from_bars  # on use: it imports feature code a past day needs not

    def load_predictor() -> ModelPredictor:
        return ModelPredictor(files.model, registry_path=files.registry, lock_path=lock)

    return predict_from_bars(date, extra_bars=extra_bars, in_sample=in_sample, load_predictor=load_predictor,
                             **common)  # fmt: skip
