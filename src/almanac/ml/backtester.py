"""Trading the predictions: one contract of ``data.symbol`` a day (or a size from the probability,
``backtest.sizing``), entered at the cutoff, exited at the RTH close.

Departures from the original design, for honesty (docs/honesty.md): a prediction made at the cutoff can
only be traded from the cutoff, so the entry is the cutoff price plus slippage, never the open; a "down"
prediction is a short (not a flat), and an abstention is flat (not a short).  Futures accounting: P&L in USD =
position x (exit - entry) x the instrument's dollars per point (``instruments.yaml``: ES $50, NQ $20, CL $1000),
commission per side and contract, slippage in ticks on both fills of every contract; the position is side x contracts (:func:`almanac.ml.decision.contracts`).  Days without a trade
earn exactly zero and count in the Sharpe ratio.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from almanac import schemas
from almanac.config import DEFAULTS, BacktestParams
from almanac.errors import AlmanacWarning
from almanac.features.regime import atr_through_previous
from almanac.instruments import instrument
from almanac.ml.decision import (  # shared with almanac predict
    contracts,
    label_sides,
    oof_side_probabilities,
    positions,
    side_probabilities,
)
from almanac.ml.metrics import (
    annualised_sharpe,
    deflated_sharpe_benchmark,
    probabilistic_sharpe,
    stationary_bootstrap_ci,
)
from almanac.sessions import indexed_by_trade_date, traded_symbol

TRADING_DAYS = 252


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Contract specification (dollars per point and tick, from ``instruments.yaml``; default ES: $50 a point,
    0.25 tick) and trading costs (``backtest.*``)."""

    point_value_usd: float = instrument(DEFAULTS.data.symbol).point_value_usd
    tick: float = instrument(DEFAULTS.data.symbol).tick
    commission_usd: float = DEFAULTS.backtest.commission_usd  # per side
    slippage_ticks: float = DEFAULTS.backtest.slippage_ticks  # per fill

    @classmethod
    def from_params(cls, backtest: BacktestParams, *, symbol: str = DEFAULTS.data.symbol) -> CostModel:
        """Costs of ``backtest.*`` on one contract of ``symbol`` (``data.symbol``)."""
        spec = instrument(symbol)
        return cls(
            point_value_usd=spec.point_value_usd,
            tick=spec.tick,
            commission_usd=backtest.commission_usd,
            slippage_ticks=backtest.slippage_ticks,
        )


def atr_at_cutoff(sessions: pd.DataFrame, atr_days: int = DEFAULTS.features.atr_days) -> pd.Series:
    """The Wilder ATR(``atr_days``) in index points that each trade date's cutoff knows: through the *previous* RTH
    session (NaN where that window misses a session), indexed by trade date; what probability sizing weighs the
    risk budget against.  ``sessions`` is the session table (every trading day, ``high, low, close, prev_close``),
    with a ``trade_date`` column or index; it is not mutated.

    Examples
    --------
    >>> days = pd.bdate_range("2024-01-02", periods=4)
    >>> s = pd.DataFrame({"trade_date": days, "high": [102.0, 103, 104, 105], "low": [98.0, 99, 100, 101],
    ...                   "close": [100.0, 101, 102, 103], "prev_close": [100.0, 100, 101, 102]})
    >>> atr_at_cutoff(s, 2).tolist()  # day 3 knows days 1-2; day 1 and 2 too few days
    [nan, nan, 4.0, 4.0]
    """
    return atr_through_previous(indexed_by_trade_date(sessions), atr_days).rename("atr_pts")


def daily_pnl(sessions: pd.DataFrame, side: pd.Series, costs: CostModel) -> pd.DataFrame:
    """Per trade date: position, entry and exit prices, gross, costs and net P&L in USD.

    ``sessions`` indexed by trade date (``cutoff_price``, ``close``); ``side`` the signed contracts on the same dates
    (+n long, -n short, 0 flat; {-1, 0, 1} with one contract).  P&L and costs scale with the contracts.  A day without
    a cutoff price or close cannot be traded and is flat (``untradable`` True).
    """
    s = sessions.reindex(side.index)
    tradable = s["cutoff_price"].notna() & s["close"].notna()
    pos = side.where(tradable, 0).astype(np.int64)
    slip = costs.slippage_ticks * costs.tick
    direction = np.sign(pos)  # every contract fills at the same price: slippage per fill, not per contract
    entry = s["cutoff_price"] + direction * slip
    exit_ = s["close"] - direction * slip
    gross = (pos * (s["close"] - s["cutoff_price"]) * costs.point_value_usd).fillna(0.0)
    cost = pos.abs() * (2 * costs.commission_usd + 2 * slip * costs.point_value_usd)
    net = (pos * (exit_ - entry) * costs.point_value_usd).fillna(0.0) - pos.abs() * 2 * costs.commission_usd
    # The benchmark: long one contract from the cutoff to the close every tradable day, same costs.
    hold = tradable.astype(np.int64)
    hold_pnl = (hold * ((s["close"] - slip) - (s["cutoff_price"] + slip)) * costs.point_value_usd).fillna(0.0)
    hold_pnl = hold_pnl - hold * 2 * costs.commission_usd
    out = pd.DataFrame(
        {
            "position": pos,
            "entry": entry.where(pos != 0),
            "exit": exit_.where(pos != 0),
            "gross_pnl_usd": gross,
            "cost_usd": cost.astype(float),
            "pnl_usd": net,
            "hold_pnl_usd": hold_pnl,
            "untradable": ~tradable,
        },
        index=side.index,
    )
    out["equity_usd"] = out["pnl_usd"].cumsum()
    out["hold_equity_usd"] = out["hold_pnl_usd"].cumsum()  # the benchmark: long at every cutoff
    out["drawdown_usd"] = out["equity_usd"] - out["equity_usd"].cummax().clip(lower=0.0)
    return out


def summarize(pnl: pd.DataFrame, n_trials: int = 1) -> dict[str, float]:
    """Flat metrics of a daily P&L frame: ``sharpe`` (annualised sqrt(252), all days, flat days at zero),
    ``max_drawdown`` (largest peak-to-trough fall of cumulative P&L, USD, positive), ``win_rate`` (share of
    trades with positive net P&L), ``trades``, ``coverage`` (trades / days), ``total_pnl_usd``, ``avg_trade_usd``,
    ``psr`` (probability that the true Sharpe exceeds 0) and ``dsr`` (deflated for ``n_trials``, reported as
    ``n_trials_used``)."""
    r = pnl["pnl_usd"].to_numpy(dtype=float)
    traded = pnl["position"].to_numpy() != 0
    sd = r.std(ddof=1) if len(r) > 1 else float("nan")
    sharpe = float(r.mean() / sd * math.sqrt(TRADING_DAYS)) if sd and sd > 0 else 0.0
    n = len(r)
    benchmark = deflated_sharpe_benchmark(1.0 / max(n - 1, 1), n_trials)
    return {
        "sharpe": sharpe,
        "max_drawdown": float(-pnl["drawdown_usd"].min()) if n else 0.0,
        "win_rate": float((r[traded] > 0).mean()) if traded.any() else float("nan"),
        "trades": int(traded.sum()),
        "days": int(n),
        "coverage": float(traded.mean()) if n else 0.0,
        "total_pnl_usd": float(r.sum()),
        "avg_trade_usd": float(r[traded].mean()) if traded.any() else float("nan"),
        "long_trades": int((pnl["position"] > 0).sum()),
        "short_trades": int((pnl["position"] < 0).sum()),
        "untradable_days": int(pnl["untradable"].sum()),
        "psr": probabilistic_sharpe(r, 0.0),
        "dsr": probabilistic_sharpe(r, benchmark),
        "n_trials_used": int(n_trials),  # the trials dsr is deflated for (backtest.n_trials); almanac exps counts runs
        # What deflating this run among other experiments needs later (almanac exps): the moments of the P&L.
        "pnl_skew": float(stats.skew(r)) if n > 2 else float("nan"),
        "pnl_kurtosis": float(stats.kurtosis(r, fisher=False)) if n > 3 else float("nan"),
        **trade_statistics(pnl),
    }


def trade_statistics(pnl: pd.DataFrame) -> dict[str, float]:
    """What a trader reads next to the Sharpe ratio, from the daily P&L frame.

    ``gross_pnl_usd`` and ``cost_usd`` (net = ``total_pnl_usd``), ``sortino`` (annualised, downside deviation
    over all days), ``calmar`` (annualised P&L / maximum drawdown), ``profit_factor`` (winning trades' P&L /
    losing trades' loss), ``longest_drawdown_days`` (trade dates spent below an earlier equity peak), and the
    benchmark of always being long one contract from the cutoff to the close, net of the same costs:
    ``buy_hold_pnl_usd`` and ``buy_hold_sharpe``.  ``avg_trade_usd`` is the expectancy per trade and
    ``coverage`` the exposure (share of days in the market).
    """
    r = pnl["pnl_usd"].to_numpy(dtype=float)
    traded = pnl["position"].to_numpy() != 0
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) if len(r) else 0.0
    drawdown = float(-pnl["drawdown_usd"].min()) if len(r) else 0.0
    wins, losses = r[traded & (r > 0)].sum(), -r[traded & (r < 0)].sum()
    under = (pnl["drawdown_usd"].to_numpy() < 0).astype(np.int64)
    runs = np.diff(np.flatnonzero(np.concatenate([[1], under == 0, [1]]))) - 1  # lengths of runs under water
    hold = pnl["hold_pnl_usd"].to_numpy(dtype=float)
    hold_sd = hold.std(ddof=1) if len(hold) > 1 else float("nan")
    return {
        "gross_pnl_usd": float(pnl["gross_pnl_usd"].sum()),
        "cost_usd": float(pnl["cost_usd"].sum()),
        "sortino": float(r.mean() / downside * math.sqrt(TRADING_DAYS)) if downside > 0 else float("nan"),
        "calmar": float(r.mean() * TRADING_DAYS / drawdown) if drawdown > 0 else float("nan"),
        "profit_factor": float(wins / losses) if losses > 0 else float("nan"),
        "longest_drawdown_days": int(runs.max()) if len(runs) else 0,
        "buy_hold_pnl_usd": float(hold.sum()),
        "buy_hold_sharpe": float(hold.mean() / hold_sd * math.sqrt(TRADING_DAYS)) if hold_sd > 0 else float("nan"),
    }


def yearly(pnl: pd.DataFrame) -> pd.DataFrame:
    """Per calendar year: days, trades, hit rate, net P&L, Sharpe, and the buy-and-hold benchmark's P&L.

    ``pnl``: the daily frame (indexed by trade date) or the equity table :func:`backtest` returns.
    """
    pnl = indexed_by_trade_date(pnl)
    year = pd.DatetimeIndex(pnl.index).year
    traded = pnl["position"] != 0
    frame = pnl.assign(year=year, traded=traded, hit=traded & (pnl["gross_pnl_usd"] > 0))
    grouped = frame.groupby("year")
    table = pd.DataFrame(
        {
            "days": grouped.size(),
            "trades": grouped["traded"].sum(),
            "hit_rate": grouped["hit"].sum() / grouped["traded"].sum().replace(0, np.nan),
            "pnl_usd": grouped["pnl_usd"].sum(),
            "sharpe": grouped["pnl_usd"].mean() / grouped["pnl_usd"].std(ddof=1) * math.sqrt(TRADING_DAYS),
            "buy_hold_pnl_usd": grouped["hold_pnl_usd"].sum(),
        }
    )
    return table.reset_index()


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


def stated_and_realised(position: np.ndarray, p_long: np.ndarray, p_short: np.ndarray, *, sides: np.ndarray) -> dict:
    """On the days that trade: ``traded_confidence``, the mean probability of the side taken (what the model
    said), and ``traded_hit_rate``, the share of those days whose label favoured that side (what happened); a
    calibrated model has the two close.  ``sides`` is :func:`almanac.ml.decision.label_sides` of the labels."""
    traded = (position != 0) & np.isfinite(sides)
    if not traded.any():
        return {"traded_confidence": float("nan"), "traded_hit_rate": float("nan")}
    stated = np.where(position > 0, p_long, p_short)[traded]
    return {
        "traded_confidence": float(stated.mean()),
        "traded_hit_rate": float((sides[traded] == position[traded]).mean()),
    }


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
    spec, required = _oof_spec(oof)
    oof = schemas.table(oof, spec, fn="backtest", arg="oof", required=required, optional=("fold",), trade_date="column")
    sized = ["high", "low", "prev_close"] if settings.sizing != "fixed" else []
    sessions = schemas.table(sessions, schemas.SESSIONS, fn="backtest", arg="sessions",
                             required=["trade_date", "cutoff_price", "close", *sized], trade_date="either")  # fmt: skip
    # One contract of the instrument the sessions trade (their contract codes), not data.symbol's default.
    costs = costs or CostModel.from_params(settings, symbol=traded_symbol(sessions))
    p_long, p_short = oof_sides(oof)
    threshold = np.full(len(p_long), settings.threshold)
    if settings.threshold_mode == "in_fold":
        if "fold" not in oof.columns:
            raise ValueError("backtest.threshold_mode in_fold needs the out-of-fold predictions' fold column")
        threshold = in_fold_thresholds(
            oof["fold"].to_numpy(), p_long, p_short, sessions=sessions, costs=costs, first=settings.threshold
        )
    atr_pts = atr_at_cutoff(sessions, atr_days) if settings.sizing != "fixed" else None
    result = MLBacktester(costs=costs).backtest_probabilities(
        sessions, p_long, p_short, threshold=threshold, n_trials=settings.n_trials, sizing=settings, atr_pts=atr_pts
    )
    result["threshold_mean"] = float(threshold.mean()) if len(threshold) else float("nan")
    pnl = result.pop("pnl")
    result.pop("equity_curve")
    result["sharpe_ci_low"], result["sharpe_ci_high"] = stationary_bootstrap_ci(
        annualised_sharpe, pnl["pnl_usd"].to_numpy(dtype=float), block_days=settings.block_days,
        n_boot=settings.bootstrap, seed=settings.seed,
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
    pnl["p_long"] = p_long.reindex(pnl.index)  # the probability acted on (P(up); P(long classes) for archetypes)
    pnl["threshold"] = pd.Series(threshold, index=p_long.index).reindex(pnl.index)
    columns = ["trade_date", "p_long", "threshold", "position", "entry", "exit", "gross_pnl_usd", "pnl_usd", "hold_pnl_usd",
               "equity_usd", "drawdown_usd", "hold_equity_usd"]  # fmt: skip
    equity = pnl.reset_index()[columns]
    return result, equity


def _oof_spec(oof) -> tuple[dict[str, str], list[str]]:
    """What :func:`backtest` needs of ``oof``: the spec and required columns of :func:`almanac.schemas.table`."""
    columns = list(oof.columns) if isinstance(oof, pd.DataFrame) else []
    proba = ["probability"] if "probability" in columns else [c for c in columns if c.startswith("probability_")]
    proba = proba or ["probability"]
    spec = {"trade_date": schemas.DATE, "fold": schemas.INT, **dict.fromkeys(proba, schemas.FLOAT)}
    return spec, ["trade_date", *proba]


def sizing_statistics(pnl: pd.DataFrame, side: np.ndarray) -> dict[str, float]:
    """What probability sizing did, from the daily P&L frame (signed contracts in ``position``) and the decision
    ``side`` (+1, -1, 0) of the same days: ``contracts_mean`` and ``contracts_max`` over the days that trade,
    ``pnl_per_contract_usd`` (net P&L over the contracts traded) and ``sized_out_days`` (the decision traded on a
    tradable day, the size was 0: the risk budget or an unknown ATR)."""
    size = np.abs(pnl["position"].to_numpy())
    traded = size > 0
    total = int(size.sum())
    return {
        "contracts_mean": float(size[traded].mean()) if traded.any() else float("nan"),
        "contracts_max": int(size.max()) if len(size) else 0,
        "pnl_per_contract_usd": float(pnl["pnl_usd"].sum() / total) if total else float("nan"),
        "sized_out_days": int(((np.asarray(side) != 0) & ~traded & ~pnl["untradable"].to_numpy()).sum()),
    }


def oof_sides(oof: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """``(P(long), P(short))`` by trade date from out-of-fold predictions: ``probability`` and its complement for
    a binary target, the archetype classes' ``probability_<class>`` columns summed by side otherwise."""
    index = pd.DatetimeIndex(oof["trade_date"], name="trade_date")
    long_, short = oof_side_probabilities(oof)
    return pd.Series(long_, index=index), pd.Series(short, index=index)


RISK_COVERAGE_THRESHOLDS = np.round(np.arange(0.50, 0.801, 0.025), 3)


def in_fold_thresholds(
    folds: np.ndarray, p_long: pd.Series, p_short: pd.Series, *, sessions: pd.DataFrame, costs: CostModel, first: float
) -> np.ndarray:
    """Per day, the threshold chosen without its own test block: for each fold, the one of
    :data:`RISK_COVERAGE_THRESHOLDS` with the best net P&L on the out-of-fold days of the *earlier* folds (days
    inside that fold's training window, predicted out of sample); ``first`` for the first fold, which has none.
    Ties go to the higher threshold (fewer trades).
    """
    daily = indexed_by_trade_date(sessions)
    out = np.full(len(folds), first, dtype=float)
    for fold in np.unique(folds):  # a dozen folds, each a threshold sweep over the earlier days
        past = folds < fold
        if not past.any():
            continue
        totals = [
            (round(pnl["pnl_usd"].sum(), 6), t)
            for t, pnl in pnl_by_threshold(p_long[past], p_short[past], daily=daily, costs=costs)
        ]
        out[folds == fold] = max(totals)[1]  # best P&L; a tie goes to the higher threshold
    return out


def pnl_by_threshold(p_long: pd.Series, p_short: pd.Series, *, daily: pd.DataFrame, costs: CostModel):
    """``(threshold, daily P&L frame)`` for each of :data:`RISK_COVERAGE_THRESHOLDS`: the one threshold sweep
    that the risk-coverage table and the in-fold threshold choice both read."""
    long_, short = p_long.to_numpy(dtype=float), p_short.to_numpy(dtype=float)
    for threshold in RISK_COVERAGE_THRESHOLDS:  # thirteen thresholds, each vectorised over the days
        side = pd.Series(positions(long_, short, float(threshold)), index=p_long.index)
        yield float(threshold), daily_pnl(daily, side, costs)


def risk_coverage(oof: pd.DataFrame, sessions: pd.DataFrame, *, costs: CostModel) -> pd.DataFrame:
    """Coverage, hit rate and P&L if the threshold were each of 0.500, 0.525, ..., 0.800 (any target: the
    archetypes trade their summed side probabilities).

    A look at the whole trade-off, not a way to pick the threshold: every row uses the same out-of-fold
    probabilities, so choosing the best row afterwards is in-sample selection.
    """
    p_long, p_short = oof_sides(oof)
    rows = []
    for threshold, pnl in pnl_by_threshold(p_long, p_short, daily=indexed_by_trade_date(sessions), costs=costs):
        traded = pnl["position"] != 0
        rows.append(
            {
                "threshold": threshold,
                "coverage": float(traded.mean()) if len(pnl) else 0.0,
                "trades": int(traded.sum()),
                "hit_rate": float((pnl.loc[traded, "gross_pnl_usd"] > 0).mean()) if traded.any() else float("nan"),
                "pnl_usd": float(pnl["pnl_usd"].sum()),
                "avg_trade_usd": float(pnl.loc[traded, "pnl_usd"].mean()) if traded.any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)
