"""The answer of ``almanac predict`` built from bars (:func:`predict_from_bars`): this morning's, with the stored bars
and the ``--bars`` files going through the pipeline's own session and feature code, or the registered model's
in-sample answer for a past day.  The registered model is loaded (and its checksums checked again) only after the
bars show that the cutoff has passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from almanac.config import DEFAULTS, Params
from almanac.data_sources.store import read_json, read_table
from almanac.errors import NotEnoughDataError
from almanac.instruments import instrument
from almanac.ml import morning
from almanac.ml.decision import positions, side_probabilities
from almanac.ml.explanations import shap_contributions
from almanac.ml.morning_answer import MorningPrediction, contracts_traded, out_of_fold_prediction
from almanac.paths import PipelineFiles


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


def predict_from_bars(
    date, *, params: Params, files: PipelineFiles, sessions: pd.DataFrame, registered: dict, top: int,
    extra_bars, in_sample: bool, load_predictor: Callable[[], Any],
) -> MorningPrediction:  # fmt: skip
    """The answer built from bars: today's (with ``extra_bars``), or the registered model's in-sample one.

    ``sessions`` is the pipeline's session table, ``registered`` the registry's ``model``, ``version`` and
    ``model_sha256``; ``load_predictor`` returns the registered model's
    :class:`~almanac.ml.predictors.ModelPredictor`, called only when the answer needs it (passed in: that module
    calls this one).  A labelled day without ``in_sample`` gets its out-of-fold answer.
    """
    from almanac.features.ml_features import build_features

    stored = sessions  # the pipeline's session table; ``sessions`` becomes the one rebuilt with the --bars files
    day, bars, sessions, new_used = _bars_through(
        date, params=params, files=files, sessions=sessions, extra_bars=extra_bars
    )
    today = sessions.iloc[-1]
    _refuse_before_the_cutoff(day, today, bars, params.features)
    fitted = morning.fitted_on(files.labels, day, params.labels.target) if files.labels.is_file() else False
    if fitted and not in_sample:  # a past day: what the backtest traded, from the model of its fold
        return out_of_fold_prediction(
            day, today, params=params, files=files, sessions=stored, registered=registered, top=top,
            new_bars=int(len(new_used)),
        )  # fmt: skip
    predictor = load_predictor()
    features, _ = build_features(bars, sessions, read_table(files.daily), settings=params.features)
    X = features.loc[[day], predictor.feature_names]
    history = read_table(files.features, columns=predictor.feature_names)
    _refuse_missing(X.iloc[0], predictor.feature_names, history, sessions, day)
    return _model_answer(
        day, today, predictor, X, history=history, params=params, files=files, stored=stored, sessions=sessions,
        registered=registered, top=top, new_bars=int(len(new_used)), fitted=fitted,
    )  # fmt: skip


def _bars_through(
    date, *, params: Params, files: PipelineFiles, sessions: pd.DataFrame, extra_bars
) -> tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(day, bars, sessions, new_used)``: the trade date (``date``, default the last one with bars), the bars of
    the sessions its features look back over through ``day``, the session table through ``day`` (rebuilt from the
    first ``--bars`` day on) and the bars taken from the ``extra_bars`` files."""
    from almanac import calendar
    from almanac.sessions import build_sessions

    cutoff = params.features.cutoff_time
    manifest = read_json(files.manifest)
    stored_dates = pd.DatetimeIndex(sessions.loc[sessions["rth_bars"] > 0, "trade_date"])
    # The bar-based features look back over a few sessions (the volume averages); earlier history reaches the
    # features through the stored session table (the regime windows).  One read covers the last stored days.
    lookback = params.features.volume_avg_days + 5
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
    return day, bars, sessions, new_used


def _refuse_before_the_cutoff(day: pd.Timestamp, today: pd.Series, bars: pd.DataFrame, settings) -> None:
    """Stop unless the cutoff of ``day`` has passed in ``bars`` (``today``: the last session, ``settings`` the
    features section)."""
    from almanac import calendar
    from almanac.sessions import rth_window, symbol_of

    seen = bars.loc[bars["trade_date"] == day, "ts"]
    # The cutoff has passed in the data when the day has a cutoff price and its bars reach the cutoff: a file
    # that stops at 10:05 gives a 10:05 "cutoff price" but says nothing yet about 10:05-10:15.
    instant = calendar.cutoff_instants(pd.DatetimeIndex([day]), settings.cutoff_time, rth=rth_window(symbol_of(bars)))[
        0
    ]
    reached = len(seen) > 0 and seen.max() + pd.Timedelta(minutes=1) >= instant
    if today["trade_date"] != day or not np.isfinite(today["cutoff_price"]) or not reached:
        last = (
            f"its last bar starts at {seen.max().tz_convert(calendar.ET):%H:%M} ET" if len(seen) else "it has no bars"
        )
        raise NotEnoughDataError(
            f"{day.date()}: the cutoff {settings.cutoff} ET has not passed in the data ({last}; a bar that ends by "
            "the cutoff is needed); add the bars up to the cutoff with --bars"
        )


def _model_answer(
    day: pd.Timestamp, today: pd.Series, predictor, X: pd.DataFrame, *, history: pd.DataFrame,
    params: Params, files: PipelineFiles, stored: pd.DataFrame, sessions: pd.DataFrame, registered: dict, top: int,
    new_bars: int, fitted: bool,
) -> MorningPrediction:  # fmt: skip
    """The registered model's answer for ``day`` from its features ``X``; ``stored`` is the pipeline's session table,
    ``sessions`` the one rebuilt with the --bars files, ``fitted`` whether the model was fitted on ``day``."""
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
        cutoff_et=params.features.cutoff,
        cutoff_price=float(today["cutoff_price"]),
        contract=str(today["contract"]),
        target=params.labels.target,
        probabilities=probabilities,
        decision={1: "long", -1: "short", 0: "abstain"}[side],
        threshold=threshold,
        **registered,
        contributions=shap_contributions(
            predictor,
            X,
            history=history,
            top=top,
            explained_class=classes.index("TrendUp") if "TrendUp" in classes else len(classes) - 1,
        ),
        new_bars=new_bars,
        source="in_sample" if fitted else "final_model",
        outcome=morning.outcome(
            today, morning.label_on(files.labels, day, params.labels.target), side, point_value_usd=point_value
        )
        if fitted
        else None,
        **track,
        contracts=contracts_traded(side, p_long, p_short, day=day, sessions=sessions, params=params),
        sizing=params.backtest.sizing,
    )
