"""Inference with a model saved by :meth:`almanac.ml.trainers.ModelTrainer.save` or the ``train`` stage, and the
trader's morning: :func:`predict_day` (``almanac predict``).

A model file is a pickle, and unpickling runs code: it is loaded only after its sha256 matches the one the
registry (or the checksum file written beside it) records (:func:`almanac.ml.registry.load_model`).  ``almanac
predict`` checks the file (sha256 and ``dvc.lock``'s md5) before it reads anything else, and unpickles it only when
the answer needs the registered model: a past day's probability is its fold model's, read from the out-of-fold
table, so that answer never imports scikit-learn or LightGBM (a second of the command's start-up).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from almanac import schemas
from almanac.config import DEFAULTS, Params
from almanac.data_sources.store import read_json, read_table
from almanac.errors import NotEnoughDataError
from almanac.instruments import instrument
from almanac.ml import morning
from almanac.ml.decision import ARCHETYPE_SIDES, oof_side_probabilities, positions, side_probabilities
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


@dataclasses.dataclass(frozen=True)
class MorningPrediction:
    """One day's prediction at the cutoff, as ``almanac predict`` prints it."""

    trade_date: str
    cutoff_et: str
    cutoff_price: float
    contract: str
    target: str
    probabilities: dict[str, float]  # P(up) for binary targets ("up"), one per class otherwise
    decision: str  # long, short or abstain
    threshold: float
    model: str  # the registry name
    version: str
    model_sha256: str
    contributions: list[dict]  # the largest SHAP contributions: feature, value, shap (log-odds of the base model)
    new_bars: int  # bars taken from --bars files (0: the pipeline's stored bars only)
    source: str = "final_model"  # final_model (today), out_of_fold (a past day: its fold's model), in_sample
    fold: int | None = None  # out_of_fold: the walk-forward fold whose model gave the probability
    outcome: dict | None = None  # a past day: close, move_pts, move_usd, label, decision_right
    # From the out-of-fold days before this one only (almanac.ml.morning.track_record); None without oof.parquet:
    similar: dict | None = None  # the cutoff-to-close move of the days with the nearest probability
    confidence: dict | None = None  # how often a side at least this confident was right
    previous: dict | None = None  # the previous trade date's probability, decision and outcome
    contracts: int = 0  # contracts the decision trades under ``backtest.sizing`` (the backtest's rule; 0: abstain)
    sizing: str = "fixed"  # backtest.sizing

    def _size_text(self) -> str:
        if self.decision == "abstain":
            return ""
        n = f"{self.contracts} contract{'s' if self.contracts != 1 else ''}"
        if self.sizing == "fixed":
            return f" {n}"
        return f" {n} (backtest.sizing {self.sizing}: " + (
            "sized out by the risk budget)" if not self.contracts else "from the probability, within the risk budget)"
        )

    def to_dict(self) -> dict:
        """A JSON-ready dict (``almanac predict --json``)."""
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        """A few lines for the terminal."""
        probs = ", ".join(f"P({k}) = {v:.4f}" for k, v in self.probabilities.items())
        lines = [f"{self.trade_date} at {self.cutoff_et} ET ({self.contract} {self.cutoff_price:g}): {probs}"]
        explained = "the base model"
        if "up" not in self.probabilities:  # archetypes: the decision acts on each side's summed probability
            names = list(self.probabilities)
            summed = side_probabilities(np.array([list(self.probabilities.values())]), names)  # the decision's inputs
            lines.append(
                "sides: "
                + ", ".join(
                    f"{side} {p[0]:.4f} ({' + '.join(c for c in names if ARCHETYPE_SIDES[c] == sign) or 'no class'})"
                    for (side, sign), p in zip((("long", 1), ("short", -1)), summed, strict=True)
                )
            )
            explained = "TrendUp" if "TrendUp" in self.probabilities else list(self.probabilities)[-1]
        lines += [
            f"decision: {self.decision.upper()}{self._size_text()} (trade when the larger side reaches "
            f"{self.threshold:g})",
            f"probability {morning.SOURCES[self.source].format(fold=self.fold)}",
            f"model: {self.model} (version {self.version}, sha256 {self.model_sha256[:12]}… verified)",
        ]
        if self.outcome is not None:
            lines.append(f"outcome: {morning.outcome_text(self.outcome)}")
        lines += morning.track_record_lines(
            self.trade_date, similar=self.similar, confidence=self.confidence, previous=self.previous
        )
        if self.contributions:
            whose = f"fold {self.fold}'s model" if self.source == "out_of_fold" else "the registered model"
            lines.append(f"largest SHAP contributions ({whose}, log-odds of {explained}):")
            width = max(len(c["feature"]) for c in self.contributions)
            lines += [
                f"  {c['feature']:<{width}}  {c['shap']:+.4f}   (value {c['value']:.4g})" for c in self.contributions
            ]
        if self.new_bars:
            lines.append(f"{self.new_bars} bars read from the --bars files")
        return "\n".join(lines)


def _morning_bars(paths: list[Path], params: Params, stored_tail: pd.DataFrame) -> pd.DataFrame:
    """Canonical bars of the user's extra files (this morning), read and checked by the pipeline's file reader.

    A file without contract codes continues the contract of the last stored bar.
    """
    from almanac.data_sources.files import build_file_dataset  # lazily: only with --bars

    missing = [str(p) for p in paths if not p.exists() and not set("*?[") & set(str(p))]
    if missing:  # said here: the reader's own message would point to data.paths and data/raw
        raise FileNotFoundError(f"--bars: no such file: {', '.join(missing)}")
    source = params.data.model_copy(
        update={
            "source": "files",
            "paths": ",".join(str(p) for p in paths),
            "daily_paths": "",
            "daily_available_at": "",
            "end": dt.date(2099, 12, 31),
        }
    )
    bars = build_file_dataset(source).bars
    if not stored_tail.empty and (bars["contract"] == f"{params.data.symbol}-continuous").all():
        bars = bars.assign(contract=str(stored_tail["contract"].iloc[-1]))
    return bars


def _refuse_missing(row: pd.Series, names: list[str], stored: pd.DataFrame, sessions: pd.DataFrame, date) -> None:
    """Stop when a feature the model learned with is NaN on ``date``, saying which and what history is missing."""
    learned = stored[names].notna().mean() >= 0.5 if len(stored) else pd.Series(True, index=names)
    missing = [n for n in names if pd.isna(row[n]) and bool(learned[n])]
    if not missing:
        return
    before = sessions.loc[sessions["trade_date"] < date].tail(DEFAULTS.features.rank_days)
    empty = before.loc[before["rth_bars"] == 0, "trade_date"]
    notes = []
    if len(before) < DEFAULTS.features.rank_days:
        notes.append(f"the data holds only {len(before)} sessions before it")
    if len(empty):
        listed = ", ".join(str(d.date()) for d in empty.iloc[-5:])
        more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
        notes.append(f"sessions without RTH bars in the {len(before)} before it: {listed}{more}")
    holes = "; " + "; ".join(notes) if notes else ""
    raise NotEnoughDataError(
        f"{date.date()}: the history these features need is missing, so no prediction is made: "
        f"{', '.join(missing)}{holes}. Add the missing bars (or daily series) and run dvc repro"
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
            return _out_of_fold_prediction(day, stored.iloc[-1], new_bars=0, **common)
    return _predict_from_bars(date, extra_bars=extra_bars, in_sample=in_sample, lock=lock, **common)


def _contracts(side: int, p_long, p_short, day: pd.Timestamp, *, sessions: pd.DataFrame, params: Params) -> int:
    """The contracts ``side`` trades on ``day`` under ``backtest.sizing``: the backtest's own rule
    (:func:`almanac.ml.decision.contracts`, with the ATR known at the day's cutoff for probability sizing)."""
    from almanac.ml.decision import contracts

    settings, atr = params.backtest, None
    if settings.sizing != "fixed":
        from almanac.ml.backtester import atr_at_cutoff  # lazily: only probability sizing reads the ATR

        atr = atr_at_cutoff(sessions, params.features.atr_days).reindex(pd.DatetimeIndex([day])).to_numpy()
    n = contracts(
        np.array([side]), np.asarray(p_long)[:1], np.asarray(p_short)[:1], atr_pts=atr, sizing=settings.sizing,
        max_contracts=settings.max_contracts, risk_usd=settings.risk_usd,
        point_value_usd=instrument(params.data.symbol).point_value_usd,
    )  # fmt: skip
    return int(n[0])


def _out_of_fold_prediction(
    day: pd.Timestamp, today: pd.Series, *, params: Params, files: PipelineFiles, sessions: pd.DataFrame,
    registered: dict, top: int, new_bars: int,
) -> MorningPrediction:  # fmt: skip
    """A labelled day's answer: the probability of its walk-forward fold's model, what the backtest traded."""
    oof = read_table(files.oof)
    row = morning.out_of_fold_row(oof, day)
    probabilities = morning.probabilities_of(row)
    at = np.flatnonzero(oof["trade_date"].to_numpy() == np.datetime64(day))[:1]
    p_long, p_short = oof_side_probabilities(oof.iloc[at])
    chosen = morning.thresholds(oof, params=params, sessions=sessions)  # the backtest's, per out-of-fold day
    threshold = float(chosen[at[0]])
    side = int(positions(p_long[:1], p_short[:1], threshold)[0])
    point_value = instrument(params.data.symbol).point_value_usd
    return MorningPrediction(
        trade_date=str(day.date()), cutoff_et=params.features.cutoff, cutoff_price=float(today["cutoff_price"]),
        contract=str(today["contract"]), target=params.labels.target, probabilities=probabilities,
        decision={1: "long", -1: "short", 0: "abstain"}[side], threshold=threshold, **registered,
        contributions=morning.out_of_fold_contributions(files.oof_shap, files.features, day, top=top),
        new_bars=new_bars, source="out_of_fold", fold=int(row["fold"]),
        outcome=morning.outcome(today, row["y_true"], side, point_value_usd=point_value),
        **morning.track_record(oof, sessions, day, probabilities=probabilities, threshold=chosen, point_value_usd=point_value),
        contracts=_contracts(side, p_long, p_short, day, sessions=sessions, params=params),
        sizing=params.backtest.sizing,
    )  # fmt: skip


def _predict_from_bars(
    date, *, params: Params, files: PipelineFiles, sessions: pd.DataFrame, registered: dict, top: int,
    extra_bars, in_sample: bool, lock: Path,
) -> MorningPrediction:  # fmt: skip
    """The answer built from bars: today's (with ``extra_bars``), or the registered model's in-sample one."""
    from almanac import calendar
    from almanac.features.ml_features import build_features
    from almanac.sessions import build_sessions, rth_window, symbol_of

    cutoff = params.features.cutoff_time
    manifest = read_json(files.manifest)
    stored = sessions  # the pipeline's session table; ``sessions`` becomes the one rebuilt with the --bars files
    stored_dates = pd.DatetimeIndex(sessions.loc[sessions["rth_bars"] > 0, "trade_date"])
    settings = params.features
    # The bar-based features look back over a few sessions (the volume averages); earlier history reaches the
    # features through the stored session table (the regime windows).  One read covers the last stored days.
    lookback = settings.volume_avg_days + 5
    bars = read_table(files.bars, filters=[("trade_date", ">=", stored_dates[-lookback - 1].to_pydatetime())])

    new = pd.DataFrame(columns=bars.columns)
    if extra_bars:
        new = _morning_bars([Path(p) for p in extra_bars], params, bars)
        new = new.loc[new["ts"] > bars["ts"].max()].reset_index(drop=True)
        if new.empty:
            raise NotEnoughDataError(
                f"{', '.join(map(str, extra_bars))}: no bar after the last stored one "
                f"({bars['ts'].max().tz_convert(calendar.ET):%Y-%m-%d %H:%M} ET)"
            )
    all_dates = stored_dates.union(pd.DatetimeIndex(new["trade_date"].unique()))
    day = pd.Timestamp(date) if date is not None else all_dates[-1]
    if day not in all_dates:
        raise NotEnoughDataError(
            f"{day.date()} is not a trade date with bars in the data ({all_dates[0].date()} to {all_dates[-1].date()}"
            f"{' incl. --bars' if extra_bars else ''}); give a date in that range or add its bars with --bars"
        )
    first = all_dates[max(all_dates.get_loc(day) - lookback, 0)]
    if first < bars["trade_date"].min():
        bars = read_table(files.bars, filters=[("trade_date", ">=", first.to_pydatetime())])
    bars = bars.loc[(bars["trade_date"] >= first) & (bars["trade_date"] <= day)].reset_index(drop=True)
    new_used = new.loc[new["trade_date"] <= day]
    if len(new_used):
        bars = pd.concat([bars, new_used[bars.columns]], ignore_index=True)
        first_new = new_used["trade_date"].min()
        fresh = build_sessions(bars, cutoff, rolls=manifest.get("rolls"))
        sessions = pd.concat(
            [sessions.loc[sessions["trade_date"] < first_new], fresh.loc[fresh["trade_date"] >= first_new]],
            ignore_index=True,
        )
    sessions = sessions.loc[sessions["trade_date"] <= day].reset_index(drop=True)
    today = sessions.iloc[-1]
    seen = bars.loc[bars["trade_date"] == day, "ts"]
    # The cutoff has passed in the data when the day has a cutoff price and its bars reach the cutoff: a file
    # that stops at 10:05 gives a 10:05 "cutoff price" but says nothing yet about 10:05-10:15.
    instant = calendar.cutoff_instants(pd.DatetimeIndex([day]), cutoff, rth=rth_window(symbol_of(bars)))[0]
    reached = len(seen) > 0 and seen.max() + pd.Timedelta(minutes=1) >= instant
    if today["trade_date"] != day or not np.isfinite(today["cutoff_price"]) or not reached:
        last = (
            f"its last bar starts at {seen.max().tz_convert(calendar.ET):%H:%M} ET" if len(seen) else "it has no bars"
        )
        raise NotEnoughDataError(
            f"{day.date()}: the cutoff {settings.cutoff} ET has not passed in the data ({last}; a bar that ends by "
            "the cutoff is needed); add the bars up to the cutoff with --bars"
        )
    fitted = morning.fitted_on(files.labels, day, params.labels.target) if files.labels.is_file() else False
    if fitted and not in_sample:  # a past day: what the backtest traded, from the model of its fold
        return _out_of_fold_prediction(
            day, today, params=params, files=files, sessions=stored, registered=registered, top=top,
            new_bars=int(len(new_used)),
        )  # fmt: skip
    predictor = ModelPredictor(files.model, registry_path=files.registry, lock_path=lock)
    features, _ = build_features(bars, sessions, read_table(files.daily), settings=settings)
    X = features.loc[[day], predictor.feature_names]
    history = read_table(files.features, columns=predictor.feature_names)
    _refuse_missing(X.iloc[0], predictor.feature_names, history, sessions, day)

    proba = predictor.predict_proba(X)[0]
    classes = [str(c) for c in predictor.classes]
    if len(classes) == 2:
        probabilities = {"up": float(proba[1])}
    else:
        probabilities = {c: float(p) for c, p in zip(classes, proba, strict=True)}
    p_long, p_short = side_probabilities(proba[None, :], classes)
    threshold = params.backtest.threshold
    side = int(positions(p_long, p_short, threshold)[0])
    point_value = instrument(params.data.symbol).point_value_usd
    track = {}
    if files.oof.is_file():  # the out-of-fold days before this one (a first run without predictions has none)
        oof = read_table(files.oof)
        chosen = morning.thresholds(oof, params=params, sessions=stored)
        track = morning.track_record(
            oof, stored, day, probabilities=probabilities, threshold=chosen, point_value_usd=point_value
        )
    return MorningPrediction(
        trade_date=str(day.date()),
        cutoff_et=settings.cutoff,
        cutoff_price=float(today["cutoff_price"]),
        contract=str(today["contract"]),
        target=params.labels.target,
        probabilities=probabilities,
        decision={1: "long", -1: "short", 0: "abstain"}[side],
        threshold=threshold,
        **registered,
        contributions=_contributions(
            predictor,
            X,
            history=history,
            top=top,
            explained_class=classes.index("TrendUp") if "TrendUp" in classes else len(classes) - 1,
        ),
        new_bars=int(len(new_used)),
        source="in_sample" if fitted else "final_model",
        outcome=morning.outcome(
            today, morning.label_on(files.labels, day, params.labels.target), side, point_value_usd=point_value
        )
        if fitted
        else None,
        **track,
        contracts=_contracts(side, p_long, p_short, day, sessions=sessions, params=params),
        sizing=params.backtest.sizing,
    )


def _contributions(
    predictor: ModelPredictor, X: pd.DataFrame, *, history: pd.DataFrame, top: int, explained_class: int
) -> list[dict]:
    """The ``top`` SHAP contributions to this one prediction (empty for the baselines, which have no features).

    Tree models use their own library's exact TreeSHAP (``pred_contrib``: the algorithm ``shap.TreeExplainer``
    runs, without importing ``shap``, which would cost the morning command half a second); the logistic
    pipeline goes through :meth:`ModelEvaluator.compute_shap_values` with the training rows as background.
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
        from almanac.ml.evaluators import ModelEvaluator

        values = ModelEvaluator().compute_shap_values(predictor.model, X, background=history)
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
