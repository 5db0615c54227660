"""Statistics that cannot fool: thin or constant results are flagged, oracle efficiency needs an oracle edge,
baselines are compared fold by fold, and the risk-coverage table agrees with the backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from almanac.config import BacktestParams
from almanac.errors import AlmanacWarning
from almanac.ml.backtester import backtest
from almanac.ml.evaluators import evaluate
from almanac.ml.models import BASELINES
from almanac.ml.pnl import CostModel
from almanac.ml.thresholds import risk_coverage


def _market(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2021-01-04", periods=n)
    move = rng.normal(0, 10, n)
    sessions = pd.DataFrame({"trade_date": days, "cutoff_price": 4000.0, "close": 4000.0 + np.round(move * 4) / 4})
    return sessions, pd.Series(move > 0, index=days)


def test_a_30_day_run_on_a_constant_model_is_flagged_not_celebrated():
    sessions, up = _market(30)
    oof = pd.DataFrame({"trade_date": sessions["trade_date"], "probability": 0.62})  # the fold base rate
    with pytest.warns(AlmanacWarning, match="backtest too thin to judge") as record:
        metrics, _ = backtest(oof, sessions)
    assert metrics["degenerate"] and np.isnan(metrics["psr"]) and np.isnan(metrics["dsr"])
    assert metrics["signal_sd"] == 0.0
    message = " ".join(str(w.message) for w in record)
    assert "30 out-of-fold days (< 60)" in message and "near-constant probabilities" in message


def test_few_trades_are_flagged():
    sessions, up = _market(300)
    p = np.full(300, 0.5)
    p[:10] = 0.9  # ten confident days: ten trades
    metrics, _ = backtest(pd.DataFrame({"trade_date": sessions["trade_date"], "probability": p}), sessions)
    assert metrics["trades"] == 10 and metrics["degenerate"] and np.isnan(metrics["psr"])


def test_a_real_signal_over_enough_days_is_not_flagged():
    sessions, up = _market(400)
    p = np.where(up.to_numpy(), 0.7, 0.3)
    metrics, _ = backtest(pd.DataFrame({"trade_date": sessions["trade_date"], "probability": p}), sessions)
    assert not metrics["degenerate"] and metrics["psr"] > 0.99


def test_risk_coverage_row_at_the_threshold_is_the_backtest():
    sessions, up = _market(400, seed=1)
    rng = np.random.default_rng(2)
    p = np.clip(0.5 + 0.15 * (up.to_numpy() - 0.5) + rng.normal(0, 0.1, 400), 0.01, 0.99)
    oof = pd.DataFrame({"trade_date": sessions["trade_date"], "probability": p})
    settings = BacktestParams(threshold=0.6)
    metrics, _ = backtest(oof, sessions, settings=settings)
    table = risk_coverage(oof, sessions, costs=CostModel.from_params(settings))
    row = table.loc[np.isclose(table["threshold"], 0.6)].iloc[0]
    assert row["trades"] == metrics["trades"]
    assert row["pnl_usd"] == pytest.approx(metrics["total_pnl_usd"])
    assert table["coverage"].is_monotonic_decreasing
    assert table["threshold"].iloc[0] == 0.5 and table["threshold"].iloc[-1] == 0.8


def _oof(p, y, fold, oracle_noise=None):
    frame = pd.DataFrame({"trade_date": pd.bdate_range("2020-01-01", periods=len(y)), "fold": fold, "y_true": y})
    frame["probability"] = p
    for name in BASELINES:
        frame[f"baseline_{name}"] = pd.Series(y).groupby(fold).transform("mean").to_numpy()  # a per-fold constant
    return frame


def test_oracle_efficiency_is_not_reported_without_an_oracle_edge():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1000)
    p = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(0, 0.2, 1000), 0.01, 0.99)
    frame = _oof(p, y, np.repeat(np.arange(5), 200))
    no_edge = pd.Series(0.5 + rng.normal(0, 1e-3, 1000), index=pd.DatetimeIndex(frame["trade_date"]))  # kappa = 0
    metrics, _ = evaluate(frame, classes=[0, 1], oracle=no_edge)
    assert abs(metrics["oracle_auc"] - 0.5) < 2 * metrics["null_auc_sd"]
    assert not metrics["oracle_informative"] and np.isnan(metrics["oracle_efficiency"])
    edge = pd.Series(np.where(y == 1, 0.6, 0.4), index=no_edge.index)
    metrics, _ = evaluate(frame, classes=[0, 1], oracle=edge)
    assert metrics["oracle_informative"] and 0 < metrics["oracle_efficiency"] < 1


def test_baselines_are_compared_fold_by_fold():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 1000)
    fold = np.repeat(np.arange(5), 200)
    p = np.clip(0.5 + 0.1 * (y - 0.5) + rng.normal(0, 0.2, 1000), 0.01, 0.99)
    metrics, _ = evaluate(_oof(p, y, fold), classes=[0, 1])
    per_fold = [roc_auc_score(y[fold == f], p[fold == f]) - 0.5 for f in range(5)]  # a constant has AUC 0.5
    assert metrics["fold_auc_minus_base_rate"] == pytest.approx(np.mean(per_fold))
    assert metrics["fold_ttest_p_vs_base_rate"] < 0.05
    # Pooled, the per-fold constants are not 0.5 against each other: the pooled difference is something else.
    assert metrics["auc_minus_base_rate"] != pytest.approx(metrics["fold_auc_minus_base_rate"])


def test_trade_statistics_against_a_hand_count():
    from almanac.ml.performance import yearly

    days = pd.bdate_range("2021-12-29", periods=6)  # three days in 2021, three in 2022
    sessions = pd.DataFrame(
        {"trade_date": days, "cutoff_price": 100.0, "close": [101.0, 99.0, 102.0, 100.0, 98.0, 103.0]}
    )
    oof = pd.DataFrame({"trade_date": days, "probability": [0.9, 0.9, 0.9, 0.1, 0.9, 0.5]})
    free = BacktestParams(commission_usd=0.0, slippage_ticks=0.0)
    metrics, equity = backtest(oof, sessions, settings=free)
    # long +50, long -50, long +100, short 0, long -100, flat (p 0.5 is neither side)
    assert equity["pnl_usd"].tolist() == [50.0, -50.0, 100.0, 0.0, -100.0, 0.0]
    assert metrics["profit_factor"] == pytest.approx(150 / 150)
    assert metrics["gross_pnl_usd"] == 0.0 and metrics["cost_usd"] == 0.0
    assert metrics["buy_hold_pnl_usd"] == pytest.approx(50 * (1 - 1 + 2 + 0 - 2 + 3))
    # equity 50, 0, 100, 100, 0, 0: under water on day 2, then days 5 and 6
    assert metrics["longest_drawdown_days"] == 2
    table = yearly(equity)
    assert table["year"].tolist() == [2021, 2022]
    assert table["pnl_usd"].tolist() == [100.0, -100.0]
    assert table["trades"].tolist() == [3, 2]
    assert table["buy_hold_pnl_usd"].tolist() == [100.0, 50.0]


def test_information_coefficient_pooled_and_per_fold():
    from scipy import stats

    rng = np.random.default_rng(4)
    n = 600
    fold = np.repeat(np.arange(4), 150)
    r = rng.normal(0, 1, n)
    p = np.clip(0.5 + 0.05 * r + rng.normal(0, 0.05, n), 0.01, 0.99)
    frame = _oof(p, (r > 0).astype(int), fold)
    returns = pd.Series(r, index=pd.DatetimeIndex(frame["trade_date"]))
    metrics, _ = evaluate(frame, classes=[0, 1], returns=returns)
    assert metrics["ic"] == pytest.approx(stats.pearsonr(p - 0.5, r)[0])
    assert metrics["rank_ic"] == pytest.approx(stats.spearmanr(p - 0.5, r)[0])
    per_fold = [stats.pearsonr(p[fold == f] - 0.5, r[fold == f])[0] for f in range(4)]
    assert metrics["ic_fold_mean"] == pytest.approx(np.mean(per_fold))
    assert metrics["ic_tstat"] == pytest.approx(np.mean(per_fold) / (np.std(per_fold, ddof=1) / 2))
    assert metrics["ic"] > 0.5 and metrics["ic_tstat"] > 5


def test_breakdown_by_group():
    from almanac.ml.diagnostics import breakdown

    rng = np.random.default_rng(5)
    n = 400
    y = rng.integers(0, 2, n)
    # Right on Mondays-to-Thursdays, a coin flip on Fridays.
    frame = _oof(np.where(y == 1, 0.6, 0.4), y, np.zeros(n, dtype=int))
    dates = pd.DatetimeIndex(frame["trade_date"])
    friday = dates.day_of_week == 4
    p = np.where(friday, rng.uniform(0.3, 0.7, n), np.where(y == 1, 0.6, 0.4))
    r = pd.Series(np.where(y == 1, 1.0, -1.0), index=dates)
    context = pd.DataFrame({"weekday": dates.day_name().str[:3]}, index=dates)
    table = breakdown(frame, y, p, returns=r, context=context).set_index("value")
    assert table.loc["Mon", "auc"] == 1.0 and table.loc["Mon", "hit_rate"] == 1.0
    assert table.loc["Mon", "signed_return_pct"] == 1.0
    assert 0.3 < table.loc["Fri", "auc"] < 0.7
    assert table["n_days"].sum() == n


def test_breakdown_rows_in_natural_order_labelled_with_their_days():
    """Weekdays Monday to Friday (a categorical's order, not the first day's), years ascending, False before True;
    each label carries the group's days, which the DVC chart shows beside each bar."""
    from almanac.ml.diagnostics import breakdown

    rng = np.random.default_rng(6)
    n = 300
    y = rng.integers(0, 2, n)
    frame = _oof(rng.uniform(0.3, 0.7, n), y, np.zeros(n, dtype=int))
    frame["trade_date"] = pd.bdate_range("2019-12-26", periods=n)  # starts on a Thursday, in the later year
    dates = pd.DatetimeIndex(frame["trade_date"])
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    context = pd.DataFrame(
        {
            "weekday": pd.Categorical(dates.day_name().str[:3], categories=weekdays),
            "year": dates.year[::-1],  # descending in the file: the table still lists them ascending
            "half_day": dates.day == 24,
        },
        index=dates,
    )
    returns = pd.Series(rng.normal(0, 1, n), index=dates)
    table = breakdown(frame, y, frame["probability"].to_numpy(), returns=returns, context=context)
    assert table["value"].tolist() == ["Mon", "Tue", "Wed", "Thu", "Fri", "2019", "2020", "2021", "False", "True"]
    counts = pd.Series(dates.day_name().str[:3]).value_counts()
    assert table["label"].iloc[0] == f"weekday Mon ({counts['Mon']})"
    assert table["label"].tolist() == [f"{g} {v} ({d})" for g, v, d in table[["group", "value", "n_days"]].to_numpy()]
    assert table.loc[table["group"] == "year", "n_days"].sum() == n


def test_a_per_fold_base_rate_is_near_constant_however_its_folds_differ():
    """The base-rate model says one number per fold; across folds those numbers spread (here sd 0.0058, above a
    0.005 rule on the overall spread), but within a fold it carries no day-to-day signal at all."""
    sessions, up = _market(1400, seed=4)
    folds = np.repeat(np.arange(10), 140)
    rates = 0.5 + 0.0058 * np.sqrt(10 / 9) * (np.arange(10) - 4.5) / np.arange(10).std()
    oof = pd.DataFrame({"trade_date": sessions["trade_date"], "fold": folds, "probability": rates[folds]})
    metrics, _ = backtest(oof, sessions, settings=BacktestParams(threshold=0.5))
    assert metrics["signal_sd"] > 0.005 and metrics["signal_sd_within_fold"] < 1e-12
    assert metrics["degenerate"] and np.isnan(metrics["psr"])


def test_stated_confidence_against_the_realised_hit_rate_on_traded_days():
    sessions, up = _market(600, seed=5)
    rng = np.random.default_rng(6)
    right = rng.random(600) < 0.6  # the side is right on 60 % of the days, whatever the model says
    p = np.where(right == up.to_numpy(), 0.7, 0.3)  # says 0.7 for its side every day: overconfident
    y = up.to_numpy().astype(float)
    oof = pd.DataFrame({"trade_date": sessions["trade_date"], "fold": 0, "y_true": y, "probability": p})
    metrics, _ = backtest(oof, sessions)
    assert metrics["traded_confidence"] == pytest.approx(0.7)
    assert metrics["traded_hit_rate"] == pytest.approx(right.mean())  # 0.6: the gap is the overconfidence
