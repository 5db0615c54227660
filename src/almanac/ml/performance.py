"""Summary statistics of a daily P&L frame (:func:`almanac.ml.pnl.daily_pnl`): the flat metrics of
``metrics/backtest.json`` (Sharpe ratio, drawdown, PSR and DSR, what a trader reads beside them), the table per
calendar year, what probability sizing did, and the confidence stated on the days that trade against their hit rate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from almanac.ml.metrics import deflated_sharpe_benchmark, probabilistic_sharpe, skew_kurtosis
from almanac.sessions import indexed_by_trade_date

TRADING_DAYS = 252


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
    skew, kurtosis = skew_kurtosis(r) if n > 2 else (float("nan"), float("nan"))  # scipy.stats' (same bits)
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
        "pnl_skew": float(skew),
        "pnl_kurtosis": float(kurtosis) if n > 3 else float("nan"),
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

    ``pnl``: the daily frame (indexed by trade date) or the equity table :func:`almanac.ml.backtester.backtest` returns.
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
