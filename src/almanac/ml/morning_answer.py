"""The answer of ``almanac predict``: :class:`MorningPrediction` (JSON, or a few lines for the terminal), and the
answer of a labelled day (:func:`out_of_fold_prediction`): the probability of its walk-forward fold's model and the
decision and size the backtest took on it.

Light on purpose: a past day's answer (:func:`almanac.ml.predictors.predict_day`) imports neither scikit-learn nor
the model libraries.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from almanac.config import Params
from almanac.data_sources.store import read_table
from almanac.instruments import instrument
from almanac.ml import morning
from almanac.ml.decision import ARCHETYPE_SIDES, oof_side_probabilities, positions, side_probabilities
from almanac.paths import PipelineFiles


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


def contracts_traded(side: int, p_long, p_short, *, day: pd.Timestamp, sessions: pd.DataFrame, params: Params) -> int:
    """The contracts ``side`` trades on ``day`` under ``backtest.sizing``: the backtest's own rule
    (:func:`almanac.ml.decision.contracts`, with the ATR known at the day's cutoff for probability sizing)."""
    from almanac.ml.decision import contracts

    settings, atr = params.backtest, None
    if settings.sizing != "fixed":
        from almanac.ml.pnl import atr_at_cutoff  # lazily: only probability sizing reads the ATR

        atr = atr_at_cutoff(sessions, params.features.atr_days).reindex(pd.DatetimeIndex([day])).to_numpy()
    n = contracts(
        np.array([side]), np.asarray(p_long)[:1], np.asarray(p_short)[:1], atr_pts=atr, sizing=settings.sizing,
        max_contracts=settings.max_contracts, risk_usd=settings.risk_usd,
        point_value_usd=instrument(params.data.symbol).point_value_usd,
    )  # fmt: skip
    return int(n[0])


def out_of_fold_prediction(
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
        contracts=contracts_traded(side, p_long, p_short, day=day, sessions=sessions, params=params),
        sizing=params.backtest.sizing,
    )  # fmt: skip
