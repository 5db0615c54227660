"""Trading the predictions: one contract of ``data.symbol`` a day (or a size from the probability,
``backtest.sizing``), entered at the cutoff, exited at the RTH close.

Departures from the original design, for honesty (docs/honesty.md): a prediction made at the cutoff can
only be traded from the cutoff, so the entry is the cutoff price plus slippage, never the open; a "down"
prediction is a short (not a flat), and an abstention is flat (not a short).  Futures accounting: P&L in USD =
position x (exit - entry) x the instrument's dollars per point (``instruments.yaml``: ES $50, NQ $20, CL $1000),
commission per side and contract, slippage in ticks on both fills of every contract; the position is side x contracts (:func:`almanac.ml.decision.contracts`).  Days without a trade
earn exactly zero and count in the Sharpe ratio.

This module holds the original design's :class:`MLBacktester`, the ``backtest`` stage's :func:`backtest` and the
check that a result is thick enough for a significance claim (:func:`flag_degenerate`); what a position earns is
:mod:`almanac.ml.pnl`, the summary statistics :mod:`almanac.ml.performance`, the threshold sweep
:mod:`almanac.ml.thresholds`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from almanac import schemas
from almanac.config import DEFAULTS, BacktestParams
from almanac.errors import AlmanacWarning
from almanac.ml.decision import contracts, label_sides, positions, side_probabilities  # shared with almanac predict
from almanac.ml.metrics import annualised_sharpe, resampled_sharpe, stationary_bootstrap_ci
from almanac.ml.performance import sizing_statistics, stated_and_realised, summarize
from almanac.ml.pnl import CostModel, atr_at_cutoff, daily_pnl
from almanac.ml.thresholds import in_fold_thresholds, oof_sides
from almanac.sessions import indexed_by_trade_date, traded_symbol

MIN_DAYS = 60  # fewer out-of-fold days: no Sharpe-based significance is reported
MIN_TRADES = 30  # fewer trades: likewise
MIN_SIGNAL_SD = 0.005  # probabilities varying less than this within a fold carry no day-to-day signal
# How many trades a PSR needs to keep its false-positive rate within 20 % of nominal, by the number of out-of-fold
# days: a Monte Carlo of zero-edge strategies trading the synthetic market's own cutoff-to-close moves (kurtosis 11)
# and Student-t moves (benchmarks/psr_null.py, table in benchmarks/psr_null.md; tests/unit/test_psr_null.py reruns a
# small version).  With few trades among many flat days the sample skew and kurtosis are noise and the PSR's normal
# approximation says "significant" far too often (41 trades in 1754 days: P(PSR >= 0.99) 3 %, nominal 1 %).  A run
# takes the row of the shortest simulated length at or above its own; beyond the last row the bound grows with the
# length (an extrapolation: 20 % of the days).  Below it psr, dsr and the Sharpe interval are NaN: no claim is the
# conservative choice against any approximation.
PSR_MIN_TRADES = ((500, 400), (1754, 600), (5000, 1000))


def psr_min_trades(days: int) -> int:
    """Trades a backtest of ``days`` out-of-fold days needs before its PSR, DSR and Sharpe interval are reported
    (:data:`PSR_MIN_TRADES`).

    Examples
    --------
    >>> psr_min_trades(1754), psr_min_trades(300), psr_min_trades(3000), psr_min_trades(10_000)
    (600, 400, 1000, 2000)
    """
    for length, trades in PSR_MIN_TRADES:
        if days <= length:
            return trades
    last_days, last_trades = PSR_MIN_TRADES[-1]
    return max(last_trades, math.ceil(last_trades * days / last_days))


def within_fold_sd(signal: np.ndarray, folds: np.ndarray | None) -> float:
    """Pooled standard deviation of ``signal`` around its fold's mean: the day-to-day variation a model's
    probabilities carry.  A model that predicts one number per fold (the base rate) has exactly 0, however much
    that number moves from fold to fold."""
    signal = np.asarray(signal, dtype=float)
    if len(signal) == 0:
        return 0.0
    if folds is None:
        return float(np.nanstd(signal))
    means = pd.Series(signal).groupby(np.asarray(folds)).transform("mean").to_numpy()
    return float(np.sqrt(np.nanmean((signal - means) ** 2)))


def flag_degenerate(metrics: dict, signal: np.ndarray, folds: np.ndarray | None = None) -> dict:
    """Mark results too thin or too constant to support a significance claim.

    ``degenerate`` is True (with a warning; ``psr``/``dsr`` NaN) for fewer than :data:`MIN_DAYS` days, fewer than
    :data:`MIN_TRADES` trades, or probabilities that barely move from day to day *within* a fold
    (``signal_sd_within_fold`` below :data:`MIN_SIGNAL_SD`; ``folds`` gives each day's fold, ``signal_sd`` stays the
    overall spread).  With fewer trades than :func:`psr_min_trades` of the days ``psr``, ``dsr`` and
    ``sharpe_ci_*`` are NaN too (``psr_min_trades`` echoes the bound): their false-positive rate is not what they
    claim there.
    """
    signal = np.asarray(signal, dtype=float)
    signal_sd = float(np.nanstd(signal)) if len(signal) else 0.0
    spread = within_fold_sd(signal, folds)
    reasons = []
    if metrics["days"] < MIN_DAYS:
        reasons.append(f"{metrics['days']} out-of-fold days (< {MIN_DAYS})")
    if metrics["trades"] < MIN_TRADES:
        reasons.append(f"{metrics['trades']} trades (< {MIN_TRADES})")
    if spread < MIN_SIGNAL_SD:
        reasons.append(f"near-constant probabilities within folds (sd {spread:.4f} < {MIN_SIGNAL_SD})")
    needed = psr_min_trades(metrics["days"])
    out = {
        **metrics, "signal_sd": signal_sd, "signal_sd_within_fold": spread, "degenerate": bool(reasons),
        "psr_min_trades": needed,
    }  # fmt: skip
    if reasons:
        out["psr"] = out["dsr"] = float("nan")
        warnings.warn(
            f"backtest too thin to judge: {'; '.join(reasons)}; psr and dsr are not reported (Sharpe "
            f"{metrics['sharpe']:.2f} means nothing here)",
            AlmanacWarning, stacklevel=2,
        )  # fmt: skip
    elif metrics["trades"] < needed:
        out["psr"] = out["dsr"] = out["sharpe_ci_low"] = out["sharpe_ci_high"] = float("nan")
        warnings.warn(
            f"{int(metrics['trades'])} trades in {int(metrics['days'])} days: fewer than the {int(needed)} a PSR "
            "needs to keep its false-positive rate (benchmarks/psr_null.md); psr, dsr and the Sharpe interval are not "
            "reported",
            AlmanacWarning, stacklevel=2,
        )  # fmt: skip
    return out


class MLBacktester:
    """Test ML predictions as a trading strategy (one contract, cutoff to close)."""

    def __init__(self, predictor=None, costs: CostModel | None = None):
        self.predictor = predictor
        self.costs = costs or CostModel()

    def backtest_probabilities(
        self,
        df_daily: pd.DataFrame,
        p_long: pd.Series,
        p_short: pd.Series | None = None,
        *,
        threshold: float | np.ndarray = DEFAULTS.backtest.threshold,
        n_trials: int = DEFAULTS.backtest.n_trials,
        sizing: BacktestParams | None = None,
        atr_pts: pd.Series | None = None,
    ) -> dict:
        """Backtest given probabilities per trade date (use out-of-fold ones for an honest figure).

        ``p_short`` defaults to ``1 - p_long`` (binary up/down); ``threshold`` is one value or one per day (in the
        order of ``p_long``).  ``sizing`` gives ``backtest.sizing``, ``max_contracts`` and ``risk_usd`` (default one
        contract a trade); probability sizing needs ``atr_pts`` (:func:`atr_at_cutoff`, by trade date).  Returns the
        summary metrics plus ``pnl`` (the daily frame) and ``equity_curve`` (cumulative USD).
        """
        daily = indexed_by_trade_date(df_daily)
        p_short = 1.0 - p_long if p_short is None else p_short
        long_, short = p_long.to_numpy(), p_short.reindex(p_long.index).to_numpy()
        side = positions(long_, short, threshold)
        sizing = sizing or DEFAULTS.backtest
        size = contracts(
            side, long_, short, atr_pts=None if atr_pts is None else atr_pts.reindex(p_long.index).to_numpy(),
            sizing=sizing.sizing, max_contracts=sizing.max_contracts, risk_usd=sizing.risk_usd,
            point_value_usd=self.costs.point_value_usd,
        )  # fmt: skip
        pnl = daily_pnl(daily, pd.Series(side * size, index=p_long.index), self.costs)
        return {**summarize(pnl, n_trials), "pnl": pnl, "equity_curve": pnl["equity_usd"]}

    def backtest_signals(
        self, df_daily: pd.DataFrame, features_df: pd.DataFrame, threshold: float = DEFAULTS.backtest.threshold
    ) -> dict:
        """The original design's call: predict ``features_df`` with the predictor and trade the signals.

        With a model trained on these same days (``train_final``) this is an in-sample backtest and flatters the
        model; the pipeline's ``backtest`` stage uses out-of-fold probabilities instead.  Keys of the original
        (``sharpe_ratio``, ``max_drawdown``, ``total_trades``, ``win_rate``, ``equity_curve``) are included.
        """
        if self.predictor is None:
            raise ValueError("backtest_signals needs a predictor; use backtest_probabilities for given probabilities")
        proba = self.predictor.predict_proba(features_df)
        long_, short = side_probabilities(proba, list(self.predictor.classes))
        p_long = pd.Series(long_, index=features_df.index)
        p_short = pd.Series(short, index=features_df.index)
        result = self.backtest_probabilities(df_daily, p_long, p_short, threshold=threshold)
        result.update({"sharpe_ratio": result["sharpe"], "total_trades": result["trades"]})
        return result


def backtest(
    oof: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    settings: BacktestParams | None = None,
    costs: CostModel | None = None,
    atr_days: int = DEFAULTS.features.atr_days,
) -> tuple[dict, pd.DataFrame]:
    """Trade out-of-fold probabilities from the cutoff to the RTH close, one contract a day (``backtest.sizing:
    fixed``) or a size from the probability (``probability``: :func:`almanac.ml.decision.contracts`).

    Parameters
    ----------
    oof : DataFrame
        Out-of-fold predictions (``trade_date`` and ``probability``, or one ``probability_<class>`` column per
        archetype, traded as :data:`almanac.ml.decision.ARCHETYPE_SIDES` says), one row per date, sorted.
    sessions : DataFrame
        The session table (``cutoff_price``, ``close``; ``high, low, prev_close`` for probability sizing),
        ``trade_date`` a column or the index.  Both frames as the stages read them or as ``pd.read_parquet``/
        ``pd.read_csv`` reads the pipeline's files, converted and checked as :mod:`almanac.schemas` says; neither
        is modified.
    settings : BacktestParams, optional
        ``backtest.*`` (threshold, sizing, costs, number of trials); default the schema's.
    costs : CostModel, optional
        Contract and costs; default the sessions' own instrument (the root of their ``contract`` codes, else
        ``data.symbol``'s default) with the costs of ``settings``.
    atr_days : int, default 14
        ``features.atr_days``: the ATR that probability sizing weighs ``backtest.risk_usd`` against, through the
        previous session (:func:`atr_at_cutoff`); not read by fixed sizing.

    Returns
    -------
    metrics : dict
        Flat metrics (see ``metrics/backtest.json`` in the README); with probability sizing also ``contracts_mean``
        and ``contracts_max`` (per trade), ``pnl_per_contract_usd`` (net P&L over the contracts traded) and
        ``sized_out_days`` (days the decision traded but the risk budget or an unknown ATR allowed no contract).
    equity : DataFrame
        ``trade_date, p_long, threshold, position`` (signed contracts), ``entry, exit`` (fill prices, slippage
        included; empty when flat), ``gross_pnl_usd, pnl_usd, hold_pnl_usd, equity_usd, drawdown_usd,
        hold_equity_usd`` per out-of-fold day.  The threshold choice (``in_fold``), the risk-coverage table and the
        buy-and-hold benchmark stay at one contract.

    Raises
    ------
    almanac.schemas.InputError
        A frame breaks its data contract or a settings argument is not its params section.
    ValueError
        ``backtest.threshold_mode: in_fold`` without the ``fold`` column of the out-of-fold predictions.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.bdate_range("2024-01-02", periods=3)
    >>> sessions = pd.DataFrame({"trade_date": days, "cutoff_price": [100.0, 100.0, 100.0],
    ...                          "close": [101.0, 99.0, 100.5]})
    >>> oof = pd.DataFrame({"trade_date": days, "probability": [0.7, 0.2, 0.55]})
    >>> metrics, equity = backtest(oof, sessions, settings=BacktestParams(commission_usd=0, slippage_ticks=0))
    >>> equity["pnl_usd"].tolist(), metrics["trades"]  # at the default threshold 0.55 the third day trades too
    ([50.0, 50.0, 25.0], 3)
    """
    settings = schemas.params(settings, BacktestParams, fn="backtest", arg="settings") or DEFAULTS.backtest
    costs = schemas.params(costs, CostModel, fn="backtest", arg="costs")
    oof, sessions = _checked_inputs(oof, sessions, sized=settings.sizing != "fixed")
    # One contract of the instrument the sessions trade (their contract codes), not data.symbol's default.
    costs = costs or CostModel.from_params(settings, symbol=traded_symbol(sessions))
    p_long, p_short = oof_sides(oof)
    threshold = _thresholds(oof, p_long, p_short, sessions=sessions, costs=costs, settings=settings)
    atr_pts = atr_at_cutoff(sessions, atr_days) if settings.sizing != "fixed" else None
    result = MLBacktester(costs=costs).backtest_probabilities(
        sessions, p_long, p_short, threshold=threshold, n_trials=settings.n_trials, sizing=settings, atr_pts=atr_pts
    )
    result["threshold_mean"] = float(threshold.mean()) if len(threshold) else float("nan")
    pnl = result.pop("pnl")
    result.pop("equity_curve")
    result["sharpe_ci_low"], result["sharpe_ci_high"] = stationary_bootstrap_ci(
        annualised_sharpe, pnl["pnl_usd"].to_numpy(dtype=float), block_days=settings.block_days,
        n_boot=settings.bootstrap, seed=settings.seed, of_resamples=resampled_sharpe,
    )  # fmt: skip
    folds = oof["fold"].to_numpy() if "fold" in oof.columns else None
    result = flag_degenerate(result, p_long.to_numpy(dtype=float), folds)
    if settings.sizing != "fixed":
        result.update(sizing_statistics(pnl, positions(p_long.to_numpy(), p_short.to_numpy(), threshold)))
    if "y_true" in oof.columns:
        position = np.sign(pnl["position"].reindex(p_long.index).to_numpy())  # the side taken
        result.update(
            stated_and_realised(
                position, p_long.to_numpy(), p_short.to_numpy(), sides=label_sides(oof["y_true"].to_numpy())
            )
        )
    return result, _equity_table(pnl, p_long, threshold)


def _checked_inputs(oof, sessions, *, sized: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``oof`` and ``sessions`` converted and checked as :mod:`almanac.schemas` says (``sized``: probability sizing
    also needs the sessions' ``high, low, prev_close`` for the ATR)."""
    spec, required = _oof_spec(oof)
    oof = schemas.table(oof, spec, fn="backtest", arg="oof", required=required, optional=("fold",), trade_date="column")
    sized = ["high", "low", "prev_close"] if sized else []
    sessions = schemas.table(sessions, schemas.SESSIONS, fn="backtest", arg="sessions",
                             required=["trade_date", "cutoff_price", "close", *sized], trade_date="either")  # fmt: skip
    return oof, sessions


def _oof_spec(oof) -> tuple[dict[str, str], list[str]]:
    """What :func:`backtest` needs of ``oof``: the spec and required columns of :func:`almanac.schemas.table`."""
    columns = list(oof.columns) if isinstance(oof, pd.DataFrame) else []
    proba = ["probability"] if "probability" in columns else [c for c in columns if c.startswith("probability_")]
    proba = proba or ["probability"]
    spec = {"trade_date": schemas.DATE, "fold": schemas.INT, **dict.fromkeys(proba, schemas.FLOAT)}
    return spec, ["trade_date", *proba]


def _thresholds(
    oof: pd.DataFrame, p_long: pd.Series, p_short: pd.Series, *, sessions: pd.DataFrame, costs: CostModel,
    settings: BacktestParams,
) -> np.ndarray:  # fmt: skip
    """The threshold of each out-of-fold day: ``backtest.threshold``, or the in-fold choice
    (:func:`almanac.ml.thresholds.in_fold_thresholds`) with ``threshold_mode: in_fold``."""
    threshold = np.full(len(p_long), settings.threshold)
    if settings.threshold_mode == "in_fold":
        if "fold" not in oof.columns:
            raise ValueError("backtest.threshold_mode in_fold needs the out-of-fold predictions' fold column")
        threshold = in_fold_thresholds(
            oof["fold"].to_numpy(), p_long, p_short, sessions=sessions, costs=costs, first=settings.threshold
        )
    return threshold


def _equity_table(pnl: pd.DataFrame, p_long: pd.Series, threshold: np.ndarray) -> pd.DataFrame:
    """The ``equity`` table :func:`backtest` returns, from the daily P&L frame and the probability and threshold
    acted on."""
    pnl = pnl.assign(
        p_long=p_long.reindex(pnl.index),  # the probability acted on (P(up); P(long classes) for archetypes)
        threshold=pd.Series(threshold, index=p_long.index).reindex(pnl.index),
    )
    columns = ["trade_date", "p_long", "threshold", "position", "entry", "exit", "gross_pnl_usd", "pnl_usd", "hold_pnl_usd",
               "equity_usd", "drawdown_usd", "hold_equity_usd"]  # fmt: skip
    return pnl.reset_index()[columns]
