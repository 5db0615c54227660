"""A past trade date in ``almanac predict``: the out-of-fold answer the backtest traded, and what happened.

The final model was fitted on every labelled day, so its probability for such a day is in sample: on the default
run it scores AUC 0.645 on the out-of-fold days (which it was fitted on) against 0.607 out of fold, and its
decision differs from the backtest's on 354 of the 1,754 days (with 4-leaf trees: 0.714 against 0.607, 412 days).  For a labelled day :func:`almanac.ml.predictors.predict_day` therefore
answers with the probability of that day's *fold* model (``data/predictions/oof.parquet``: fitted only on earlier
days), the decision the backtest took with it and that model's SHAP values (``oof_shap.parquet``); the final model's
answer is given only when asked for, labelled in-sample.  A day inside the first training window has no
out-of-sample probability at all.  Today (a session without a close yet) is out of sample for the final model.

What a trader asks next comes from the same out-of-fold history, and only from the days *before* the predicted
one (:func:`history_before`), so a past date is answered as it would have been that morning: the cutoff-to-close
move of the days with the nearest probability (:func:`similar_days`), how often a side this confident was right
(:func:`hit_rate_at_confidence`) and the previous trade date's answer (:func:`previous_day`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from almanac.config import Params
from almanac.data_sources.store import read_table
from almanac.errors import NotEnoughDataError
from almanac.ml.decision import label_sides, oof_side_probabilities, positions, side_probabilities

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


def out_of_fold_row(oof: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """``day``'s row of the out-of-fold predictions (the train stage's ``oof.parquet``); :class:`NotEnoughDataError`
    when the walk-forward never tested it (it lies in the first training window)."""
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


def thresholds(oof: pd.DataFrame, *, params: Params, sessions: pd.DataFrame) -> np.ndarray:
    """The threshold the backtest applied on each row of ``oof`` (the out-of-fold table): ``backtest.threshold``, or
    with ``threshold_mode: in_fold`` the one chosen on the out-of-fold days before the row's fold."""
    if params.backtest.threshold_mode == "fixed":
        return np.full(len(oof), params.backtest.threshold, dtype=float)
    from almanac.ml.pnl import CostModel  # lazily: only the in-fold thresholds need the P&L
    from almanac.ml.thresholds import in_fold_thresholds, oof_sides

    p_long, p_short = oof_sides(oof)
    costs = CostModel.from_params(params.backtest, symbol=params.data.symbol)
    return in_fold_thresholds(
        oof["fold"].to_numpy(), p_long, p_short, sessions=sessions, costs=costs, first=params.backtest.threshold
    )


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


# --- What a trader asks next, from the out-of-fold days before the predicted one -------------------------------

SIMILAR_DAYS = 100  # how many out-of-fold days with the nearest probability describe the expected move


def history_before(oof: pd.DataFrame, sessions: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The out-of-fold days strictly before ``day``, with what happened on each.

    ``oof`` is the train stage's out-of-fold table (``trade_date``, ``fold``, ``y_true``, ``probability`` or
    ``probability_<class>``); ``sessions`` the session table (``trade_date``, ``cutoff_price``, ``close``).  Returns
    one row per out-of-fold day before ``day``, in date order: ``trade_date``, ``fold``, ``p_long``, ``p_short``
    (:func:`~almanac.ml.decision.oof_side_probabilities`), ``label_side`` (the side the label favoured: +1, -1, 0 for an archetype that trades
    no side, NaN unknown) and ``move_pts`` (close - cutoff price, index points; NaN without both).  Nothing on or
    after ``day`` is read past the first filter, so a past date is described as that morning could have.  The
    inputs are not modified.
    """
    past = oof.loc[oof["trade_date"] < day].sort_values("trade_date", kind="stable")
    p_long, p_short = oof_side_probabilities(past)
    before = sessions.loc[sessions["trade_date"] < day].drop_duplicates("trade_date").set_index("trade_date")
    move = (before["close"] - before["cutoff_price"]).reindex(pd.DatetimeIndex(past["trade_date"]))
    return pd.DataFrame(
        {
            "trade_date": past["trade_date"].to_numpy(),
            "fold": past["fold"].to_numpy(),
            "p_long": p_long,
            "p_short": p_short,
            "label_side": label_sides(past["y_true"].to_numpy()),
            "move_pts": move.to_numpy(dtype=float),
        }
    )


def similar_days(
    history: pd.DataFrame, p_long: float, p_short: float, *, binary: bool, point_value_usd: float, k: int = SIMILAR_DAYS
) -> dict:
    """The cutoff-to-close move of the ``k`` days of ``history`` (:func:`history_before`) whose probability was
    nearest to today's, in points and in USD for one contract.

    The rule: binary targets match on P(up), archetype targets on P(long) - P(short) (the side sums the decision
    acts on); the ``k`` days with the smallest absolute difference among those with a known move, a tie going to
    the more recent day.  Returns ``days`` (how many were used, at most ``k``), ``k``, ``matched_on``, the range of
    the matched quantity (today's ``value``; among them ``low`` and ``high``), their first and last date, the median and the 10 % and
    90 % quantiles of the move (``median_pts``, ``p10_pts``, ``p90_pts`` and the same ``_usd``, numpy's linear
    interpolation) and ``up_share`` (the share that closed above the cutoff); the statistics are None without any
    such day.
    """
    known = history.loc[np.isfinite(history["move_pts"].to_numpy(dtype=float))]
    score_past = known["p_long"].to_numpy(dtype=float)
    score = float(p_long)
    if not binary:
        score_past = score_past - known["p_short"].to_numpy(dtype=float)
        score = float(p_long) - float(p_short)
    distance = np.abs(score_past - score)
    recency = -np.arange(len(known))  # history is in date order: a later day sorts first among equals
    chosen = np.lexsort((recency, distance))[:k]
    moves = known["move_pts"].to_numpy(dtype=float)[chosen]
    out = {
        "days": int(len(chosen)),
        "k": int(k),
        "matched_on": "P(up)" if binary else "P(long) - P(short)",
        "value": score,
    }
    if not len(chosen):
        none = ("low", "high", "first", "last", "median_pts", "p10_pts", "p90_pts", "median_usd", "p10_usd", "p90_usd")
        return {**out, **dict.fromkeys(none), "up_share": None}
    p10, median, p90 = (float(q) for q in np.quantile(moves, [0.1, 0.5, 0.9]))
    dates = pd.DatetimeIndex(known["trade_date"].to_numpy()[chosen])
    return {
        **out,
        "low": float(score_past[chosen].min()),
        "high": float(score_past[chosen].max()),
        "first": str(dates.min().date()),
        "last": str(dates.max().date()),
        "median_pts": median,
        "p10_pts": p10,
        "p90_pts": p90,
        "median_usd": median * point_value_usd,
        "p10_usd": p10 * point_value_usd,
        "p90_usd": p90 * point_value_usd,
        "up_share": float((moves > 0).mean()),
    }


def _side_name(side: float) -> str:
    return {1: "long", -1: "short"}.get(int(side), "none")


def hit_rate_at_confidence(history: pd.DataFrame, p_long: float, p_short: float) -> dict:
    """How often a side at least this confident was right, on the days of ``history`` (:func:`history_before`).

    Today's side is the one with the larger probability and its confidence that probability (the decision trades it
    once it reaches the threshold).  A past day counts when its own larger side's probability is at least today's
    confidence (a tie between its sides counts nowhere) and its label is known; it was right when the label favoured
    that side (:func:`~almanac.ml.decision.label_sides`: for archetypes a Range or Other day is right for neither).
    Returns ``side``, ``confidence``, ``days``, ``right`` and ``hit_rate`` (None without such a day).
    """
    confidence = max(float(p_long), float(p_short))
    past_long, past_short = history["p_long"].to_numpy(dtype=float), history["p_short"].to_numpy(dtype=float)
    past_side = np.sign(past_long - past_short)
    label = history["label_side"].to_numpy(dtype=float)
    counted = (np.maximum(past_long, past_short) >= confidence) & (past_side != 0) & np.isfinite(label)
    right = int((label[counted] == past_side[counted]).sum())
    days = int(counted.sum())
    return {
        "side": _side_name(np.sign(float(p_long) - float(p_short))),
        "confidence": confidence,
        "days": days,
        "right": right,
        "hit_rate": right / days if days else None,
    }


def previous_day(
    oof: pd.DataFrame,
    sessions: pd.DataFrame,
    day: pd.Timestamp,
    *,
    threshold: np.ndarray,
    point_value_usd: float,
) -> dict | None:
    """The previous trade date's out-of-fold answer and outcome, as ``almanac predict`` would have given it.

    The previous trade date is the last session of ``sessions`` before ``day`` with RTH bars (None when there is
    none); ``threshold`` is the backtest's threshold per row of ``oof`` (:func:`thresholds`).  Returns
    ``trade_date``, ``fold``, ``probabilities`` (:func:`probabilities_of`), ``decision`` (long, short or abstain),
    ``threshold`` and ``outcome`` (:func:`outcome`); without an out-of-fold row (the first training window) the
    last four are None.
    """
    before = sessions.loc[(sessions["trade_date"] < day) & (sessions["rth_bars"] > 0)]
    if before.empty:
        return None
    session = before.sort_values("trade_date", kind="stable").iloc[-1]
    date = session["trade_date"]
    at = np.flatnonzero(oof["trade_date"].to_numpy() == np.datetime64(date))
    empty = {"fold": None, "probabilities": None, "decision": None, "threshold": None, "outcome": None}
    if not len(at):
        return {"trade_date": str(date.date()), **empty}
    row = oof.iloc[at[0]]
    p_long, p_short = oof_side_probabilities(oof.iloc[at[:1]])
    side = int(positions(p_long, p_short, float(threshold[at[0]]))[0])
    return {
        "trade_date": str(date.date()),
        "fold": int(row["fold"]),
        "probabilities": probabilities_of(row),
        "decision": {1: "long", -1: "short", 0: "abstain"}[side],
        "threshold": float(threshold[at[0]]),
        "outcome": outcome(session, row["y_true"], side, point_value_usd=point_value_usd),
    }


def track_record(
    oof: pd.DataFrame,
    sessions: pd.DataFrame,
    day: pd.Timestamp,
    *,
    probabilities: dict[str, float],
    threshold: np.ndarray,
    point_value_usd: float,
) -> dict:
    """What a trader asks after ``day``'s probabilities (``{"up": p}`` or ``{class: p}``), from the out-of-fold days
    before ``day`` only: ``{"similar": similar_days(...), "confidence": hit_rate_at_confidence(...),
    "previous": previous_day(...)}``.  ``threshold`` is the backtest's per row of ``oof`` (:func:`thresholds`)."""
    history = history_before(oof, sessions, day)
    binary = "up" in probabilities
    if binary:
        p_long, p_short = probabilities["up"], 1.0 - probabilities["up"]
    else:
        sides = side_probabilities(np.array([list(probabilities.values())]), list(probabilities))
        p_long, p_short = float(sides[0][0]), float(sides[1][0])
    return {
        "similar": similar_days(history, p_long, p_short, binary=binary, point_value_usd=point_value_usd),
        "confidence": hit_rate_at_confidence(history, p_long, p_short),
        "previous": previous_day(oof, sessions, day, threshold=threshold, point_value_usd=point_value_usd),
    }


VERDICTS = {None: "no trade", True: "the decision was right", False: "the decision was wrong"}


def outcome_text(o: dict) -> str:
    """One line of :func:`outcome`'s dict: the close, the move from the cutoff and the verdict."""
    return (
        f"close {o['close']:g}, {o['move_pts']:+g} points from the cutoff ({o['move_usd']:+,.0f} USD a contract "
        f"before costs); {VERDICTS[o['decision_right']]}"
    )


def _probabilities_text(probabilities: dict[str, float]) -> str:
    if "up" in probabilities:
        return f"P(up) = {probabilities['up']:.4f}"
    p_long, p_short = side_probabilities(np.array([list(probabilities.values())]), list(probabilities))
    return f"P(long) = {p_long[0]:.4f}, P(short) = {p_short[0]:.4f}"


def track_record_lines(
    trade_date: str, *, similar: dict | None, confidence: dict | None, previous: dict | None
) -> list:
    """The terminal lines of :func:`track_record`'s parts (absent parts give no line)."""
    lines = []
    if similar is not None and similar["days"]:
        s = similar
        lines += [
            f"similar days: the {s['days']} out-of-fold days before {trade_date} with {s['matched_on']} nearest "
            f"{s['value']:.4f} ({s['low']:.4f} to {s['high']:.4f}, {s['first']} to {s['last']})",
            f"  cutoff to close: median {s['median_pts']:+.2f} points ({s['median_usd']:+,.0f} USD), 10-90 % "
            f"{s['p10_pts']:+.2f} to {s['p90_pts']:+.2f} points ({s['p10_usd']:+,.0f} to {s['p90_usd']:+,.0f} USD); "
            f"{s['up_share']:.0%} closed above the cutoff",
        ]
    elif similar is not None:
        lines.append(f"similar days: no out-of-fold day before {trade_date} with a known move")
    if confidence is not None:
        c = confidence
        lines.append(
            f"at this confidence: a side at P >= {c['confidence']:.4f} was right on {c['right']:,} of {c['days']:,} "
            f"earlier out-of-fold days"
            + (f" ({c['hit_rate']:.1%}; today's side: {c['side']})" if c["days"] else f" (today's side: {c['side']})")
        )
    if previous is not None:
        head = f"previous trade date {previous['trade_date']}: "
        if previous["probabilities"] is None:
            lines.append(head + "no out-of-fold probability (in the first training window)")
        else:
            lines.append(
                head + f"{_probabilities_text(previous['probabilities'])}, {previous['decision'].upper()} "
                f"(fold {previous['fold']}); "
                + (outcome_text(previous["outcome"]) if previous["outcome"] is not None else "no close")
            )
    return lines


MORNING_DIR = "morning"  # this morning's files: untracked (.gitignore, .dvcignore), no stage depends on it


def tracked_dependency(path: str | Path, stages: dict, *, root: str | Path) -> tuple[str, str] | None:
    """``(stage, dependency)`` when ``path`` is a dependency of a ``dvc.yaml`` stage or lies under one, else None.

    ``stages`` is the ``stages`` mapping of a parsed ``dvc.yaml`` in the folder ``root`` (dependencies are relative
    to it, or to a stage's ``wdir``); paths are compared resolved, so ``./data/raw/../raw/x.csv`` and symbolic
    links count.  A file there changes the pipeline's inputs: ``dvc status`` reports the stage changed and the
    next ``dvc repro`` ingests it.  Templated entries (``${...}``) are skipped.
    """
    target = Path(path).resolve()
    for name, stage in (stages or {}).items():
        stage = stage.get("do", stage) if isinstance(stage, dict) else {}  # foreach/matrix stages keep theirs in do
        base = Path(root) / str(stage.get("wdir", "."))
        for dep in stage.get("deps", []) or []:
            dep = next(iter(dep)) if isinstance(dep, dict) else str(dep)
            if "${" in dep:
                continue
            if target.is_relative_to((base / dep).resolve()):
                return str(name), dep
    return None
