"""A past trade date in ``almanac predict``: the out-of-fold answer the backtest traded, and what happened.

The final model was fitted on every labelled day, so its probability for such a day is in sample: on the default
run it scores AUC 0.645 on the out-of-fold days (which it was fitted on) against 0.607 out of fold, and its
decision differs from the backtest's on 354 of the 1,754 days (with 4-leaf trees: 0.714 against 0.607, 412 days).  For a labelled day :func:`almanac.ml.predictors.predict_day` therefore
answers with the probability of that day's *fold* model (``data/predictions/oof.parquet``: fitted only on earlier
days), the decision the backtest took with it and that model's SHAP values (``oof_shap.parquet``); the final model's
answer is given only when asked for, labelled in-sample.  A day inside the first training window has no
out-of-sample probability at all.  Today (a session without a close yet) is out of sample for the final model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.config import Params
from almanac.data_sources.store import read_table
from almanac.errors import NotEnoughDataError
from almanac.ml.decision import label_sides

SOURCES = {  # how ``almanac predict`` says where the probability comes from
    "final_model": "from the registered model: this day is after every day it was fitted on",
    "out_of_fold": "from the walk-forward model of fold {fold}, fitted only on earlier days: what the backtest traded",
    "in_sample": "IN SAMPLE: from the registered model, which was fitted on this very day, so it flatters the model "
    "(without --in-sample: the out-of-fold probability the backtest traded)",
}


def label_on(labels_path, day: pd.Timestamp, target: str):
    """``day``'s ``target`` label from the label table (NaN when unknown or absent)."""
    labels = read_table(labels_path, columns=["trade_date", target], filters=[("trade_date", "==", day)])
    return labels[target].iloc[0] if len(labels) else float("nan")


def fitted_on(labels_path, day: pd.Timestamp, target: str) -> bool:
    """True when ``day`` has a known ``target`` label, i.e. the final model was fitted on it."""
    return bool(pd.notna(label_on(labels_path, day, target)))


def out_of_fold_row(oof_path, day: pd.Timestamp) -> pd.Series:
    """``day``'s row of the out-of-fold predictions; :class:`NotEnoughDataError` when the walk-forward never
    tested it (it lies in the first training window)."""
    oof = read_table(oof_path)
    row = oof.loc[oof["trade_date"] == day]
    if row.empty:
        first = oof["trade_date"].min()
        raise NotEnoughDataError(
            f"{day.date()} lies in the walk-forward's first training window (out-of-fold days start "
            f"{first.date() if pd.notna(first) else 'nowhere'}): every model was fitted on it, so there is no "
            "out-of-sample probability; --in-sample shows the registered model's fitted answer, labelled in-sample"
        )
    return row.iloc[0]


def probabilities_of(row: pd.Series) -> dict[str, float]:
    """``{"up": p}`` for a binary row, ``{class: p}`` for an archetype row (the columns ``predict_day`` prints)."""
    if "probability" in row.index:
        return {"up": float(row["probability"])}
    return {c.removeprefix("probability_"): float(row[c]) for c in row.index if c.startswith("probability_")}


def threshold_on(day: pd.Timestamp, *, params: Params, oof_path, sessions: pd.DataFrame) -> float:
    """The threshold the backtest applied on ``day``: ``backtest.threshold``, or with ``threshold_mode: in_fold``
    the one chosen on the out-of-fold days before ``day``'s fold."""
    if params.backtest.threshold_mode == "fixed":
        return params.backtest.threshold
    from almanac.ml.backtester import CostModel, in_fold_thresholds, oof_sides  # lazily: scipy

    oof = read_table(oof_path)
    p_long, p_short = oof_sides(oof)
    costs = CostModel.from_params(params.backtest, symbol=params.data.symbol)
    chosen = in_fold_thresholds(
        oof["fold"].to_numpy(), p_long, p_short, sessions=sessions, costs=costs, first=params.backtest.threshold
    )
    return float(chosen[np.flatnonzero(oof["trade_date"].to_numpy() == np.datetime64(day))[0]])


def outcome(session: pd.Series, label, side: int, *, point_value_usd: float) -> dict | None:
    """What happened after the cutoff: the close, the move from the cutoff in points and in USD for one contract,
    the label, and whether the decision was right (None when it abstained).  None before the session closed."""
    close = session.get("close")
    if close is None or not np.isfinite(close):
        return None
    move = float(close - session["cutoff_price"])
    favoured = label_sides(np.array([label], dtype=object))[0]
    return {
        "close": float(close),
        "move_pts": move,
        "move_usd": move * point_value_usd,
        "label": label if isinstance(label, str) else (None if pd.isna(label) else float(label)),
        "decision_right": None if side == 0 or not np.isfinite(favoured) else bool(favoured == side),
    }


def out_of_fold_contributions(oof_shap_path, features_path, day: pd.Timestamp, *, top: int) -> list[dict]:
    """The ``top`` SHAP values of ``day`` under its fold's model (the train stage's ``oof_shap.parquet``), with the
    feature values; empty when the run has none (a baseline)."""
    shap_table = read_table(oof_shap_path)
    row = shap_table.loc[shap_table["trade_date"] == day]
    names = [c for c in shap_table.columns if c not in ("trade_date", "fold")]
    if row.empty or not names:
        return []
    values = row.iloc[0][names].to_numpy(dtype=float)
    features = read_table(features_path, columns=["trade_date", *names], filters=[("trade_date", "==", day)])
    order = np.argsort(-np.abs(values), kind="stable")[:top]
    return [{"feature": names[i], "value": float(features[names[i]].iloc[0]), "shap": float(values[i])} for i in order]
