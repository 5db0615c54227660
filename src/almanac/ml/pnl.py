"""What a position earns: the contract and its costs (:class:`CostModel`), the daily P&L of signed contracts held from
the cutoff to the RTH close (:func:`daily_pnl`, futures accounting as :mod:`almanac.ml.backtester` describes it), and
the ATR known at the cutoff that probability sizing weighs the risk budget against (:func:`atr_at_cutoff`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from almanac.config import DEFAULTS, BacktestParams
from almanac.features.regime import atr_through_previous
from almanac.instruments import instrument
from almanac.sessions import indexed_by_trade_date


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
