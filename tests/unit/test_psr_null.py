"""The PSR holds its false-positive rate only with enough trades: a small version of benchmarks/psr_null.py's Monte
Carlo, and the backtest's refusal to report PSR, DSR and the Sharpe interval below the bound it found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from almanac.errors import AlmanacWarning
from almanac.ml.backtester import MIN_TRADES, backtest, psr_min_trades
from almanac.ml.metrics import probabilistic_sharpe, psr_null_rates

DAYS = 1754  # the default run's out-of-fold days


def test_the_simulated_psr_is_the_pipelines_psr():
    rng = np.random.default_rng(0)
    pnl = np.zeros(DAYS)
    pnl[rng.choice(DAYS, 200, replace=False)] = rng.standard_t(4, 200)
    rates = psr_null_rates(200, DAYS, draws=1, seed=0)
    assert set(rates) == {0.95, 0.99}
    # the moment formulas of the simulation reproduce probabilistic_sharpe on a concrete series
    from scipy import stats

    x = pnl[pnl != 0]
    mean = x.sum() / DAYS
    m2 = (x**2).sum() / DAYS - mean**2
    sr = mean / np.sqrt(m2 * DAYS / (DAYS - 1))
    assert sr == pytest.approx(pnl.mean() / pnl.std(ddof=1), rel=1e-12)
    assert stats.skew(pnl) == pytest.approx(
        ((x**3).sum() / DAYS - 3 * mean * (x**2).sum() / DAYS + 2 * mean**3) / m2**1.5, rel=1e-9
    )
    assert 0.0 <= probabilistic_sharpe(pnl) <= 1.0


def test_few_trades_inflate_false_positives_and_the_bound_holds_them():
    # A quick version of benchmarks/psr_null.py (t(5) moves, 20,000 draws; the bound itself came from 100,000 draws
    # per cell and ES-like moves).  Tolerance: 20 % above nominal plus two Monte Carlo standard errors.
    draws = 20_000

    def limit(level):
        nominal = 1.0 - level
        return 1.2 * nominal + 2.0 * np.sqrt(nominal * (1.0 - nominal) / draws)

    sparse = psr_null_rates(41, DAYS, draws=draws, seed=1, tail_df=5.0)  # 41 trades in seven years
    assert sparse[0.99] > limit(0.99) and sparse[0.95] > limit(0.95)  # well above nominal: why the bound exists
    for trades, seed in ((psr_min_trades(DAYS), 2), (1500, 3)):
        rates = psr_null_rates(trades, DAYS, draws=draws, seed=seed, tail_df=5.0)
        assert rates[0.95] <= limit(0.95) and rates[0.99] <= limit(0.99), (trades, rates)


def _sessions_and_oof(trades: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2017-01-02", periods=DAYS)
    move = np.round(rng.standard_t(4, DAYS) * 8 * 4) / 4
    sessions = pd.DataFrame({"trade_date": days, "cutoff_price": 4000.0, "close": 4000.0 + move})
    p = np.full(DAYS, 0.5) + rng.normal(0, 0.01, DAYS)  # a model with day-to-day variation, rarely confident
    confident = rng.choice(DAYS, trades, replace=False)
    p[confident] = np.where(move[confident] > 0, 0.8, 0.2)  # right on every trade: a huge Sharpe on few trades
    folds = np.repeat(np.arange(14), -(-DAYS // 14))[:DAYS]
    y = (move > 0).astype(float)
    return sessions, pd.DataFrame({"trade_date": days, "fold": folds, "y_true": y, "probability": p})


def test_a_sparse_trader_gets_no_psr_dsr_or_sharpe_interval():
    sessions, oof = _sessions_and_oof(41)
    with pytest.warns(AlmanacWarning, match="41 trades in 1754 days: fewer than"):
        metrics, _ = backtest(oof, sessions)
    assert metrics["trades"] == 41 and MIN_TRADES <= 41 < psr_min_trades(DAYS) and not metrics["degenerate"]
    assert np.isnan(metrics["psr"]) and np.isnan(metrics["dsr"])
    assert np.isnan(metrics["sharpe_ci_low"]) and np.isnan(metrics["sharpe_ci_high"])
    assert metrics["psr_min_trades"] == psr_min_trades(DAYS) == 600 and metrics["sharpe"] > 0  # the Sharpe is shown
    sessions, oof = _sessions_and_oof(psr_min_trades(DAYS) + 50)
    metrics, _ = backtest(oof, sessions)
    assert metrics["psr"] > 0.99 and np.isfinite(metrics["sharpe_ci_low"])
