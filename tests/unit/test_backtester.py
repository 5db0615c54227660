"""Backtest accounting: cutoff entry, futures costs, flat days, sign symmetry, summary metrics, original API."""

from __future__ import annotations

import math

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from almanac.ml.backtester import MLBacktester
from almanac.ml.decision import positions
from almanac.ml.metrics import probabilistic_sharpe
from almanac.ml.performance import summarize
from almanac.ml.pnl import CostModel, daily_pnl
from almanac.ml.predictors import ModelPredictor
from almanac.ml.registry import file_sha256

FREE = CostModel(commission_usd=0.0, slippage_ticks=0.0)


def sessions(cutoff, close, open_=None) -> pd.DataFrame:
    """A session table indexed by trade date (RTH open defaults to the cutoff price)."""
    cutoff = np.asarray(cutoff, dtype=float)
    return pd.DataFrame(
        {
            "open": cutoff if open_ is None else np.asarray(open_, dtype=float),
            "cutoff_price": cutoff,
            "close": np.asarray(close, dtype=float),
        },
        index=pd.bdate_range("2024-01-02", periods=len(cutoff), name="trade_date"),
    )


def sides(frame: pd.DataFrame, values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=np.int64), index=frame.index)


def random_market(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    cutoff = 5000 + np.round(rng.normal(0, 40, n) / 0.25) * 0.25
    close = cutoff + np.round(rng.normal(0, 20, n) / 0.25) * 0.25
    s = sessions(cutoff, close)
    return s, sides(s, rng.integers(-1, 2, n))


# --- positions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p_long", "threshold", "expected"),
    [
        (0.65, 0.6, 1),
        (0.35, 0.6, -1),
        (0.5, 0.6, 0),
        (0.6, 0.6, 1),  # inclusive
        (0.59, 0.6, 0),
        (0.41, 0.6, 0),
        (0.5, 0.5, 0),  # a tie trades neither way
        (0.51, 0.5, 1),
        (0.49, 0.5, -1),
        (np.nan, 0.5, 0),  # no probability, no trade
    ],
)
def test_positions_rules(p_long, threshold, expected):
    out = positions(np.array([p_long]), np.array([1 - p_long]), threshold)
    assert out.dtype == np.int64
    assert out.tolist() == [expected]


def test_positions_with_explicit_short_probabilities():
    # multiclass: P(TrendUp) and P(TrendDown) need not add up to one
    out = positions(np.array([0.7, 0.1, 0.3, 0.65]), np.array([0.1, 0.7, 0.3, 0.62]), 0.6)
    assert out.tolist() == [1, -1, 0, 0]


# --- daily_pnl ---------------------------------------------------------------------------------------------


def test_long_from_5000_to_5010_without_costs_earns_500():
    s = sessions([5000.0], [5010.0])
    row = daily_pnl(s, sides(s, [1]), FREE).iloc[0]
    assert (row["entry"], row["exit"]) == (5000.0, 5010.0)
    assert (row["gross_pnl_usd"], row["cost_usd"], row["pnl_usd"]) == (500.0, 0.0, 500.0)


def test_entry_and_exit_carry_slippage_and_costs_are_30_per_trade():
    s = sessions([5000.0, 5000.0, 5000.0], [5010.0, 4990.0, 5020.0])
    out = daily_pnl(s, sides(s, [1, -1, 0]), CostModel())
    # long: buy at the cutoff + 1 tick, sell at the close - 1 tick; short mirrored
    assert out["entry"].iloc[:2].tolist() == [5000.25, 4999.75]
    assert out["exit"].iloc[:2].tolist() == [5009.75, 4990.25]
    assert out["gross_pnl_usd"].tolist() == [500.0, 500.0, 0.0]
    assert out["cost_usd"].tolist() == [2 * 2.5 + 2 * 0.25 * 50, 30.0, 0.0]
    assert out["pnl_usd"].tolist() == [470.0, 470.0, 0.0]
    assert out["equity_usd"].tolist() == [470.0, 940.0, 940.0]
    assert out["entry"].iloc[2] != out["entry"].iloc[2]  # NaN: no fill on a flat day
    assert not out["untradable"].any()


def test_custom_costs():
    s = sessions([4000.0], [4000.0])
    costs = CostModel(point_value_usd=5.0, tick=0.25, commission_usd=1.0, slippage_ticks=2.0)  # micro contract
    row = daily_pnl(s, sides(s, [-1]), costs).iloc[0]
    assert (row["gross_pnl_usd"], row["cost_usd"], row["pnl_usd"]) == (0.0, 2 * 1.0 + 2 * 0.5 * 5.0, -7.0)


def test_flat_days_earn_exactly_zero_and_cost_nothing():
    s, side = random_market(300, seed=1)
    out = daily_pnl(s, side, CostModel())
    flat = out["position"] == 0
    assert flat.sum() > 50
    assert (out.loc[flat, ["gross_pnl_usd", "cost_usd", "pnl_usd"]] == 0.0).all().all()
    assert out.loc[flat, "entry"].isna().all()


def test_costs_never_help():
    s, side = random_market(300, seed=2)
    out = daily_pnl(s, side, CostModel())
    traded = out["position"] != 0
    assert (out["pnl_usd"] <= out["gross_pnl_usd"]).all()
    assert (out.loc[traded, "pnl_usd"] < out.loc[traded, "gross_pnl_usd"]).all()
    assert (out.loc[~traded, "pnl_usd"] == out.loc[~traded, "gross_pnl_usd"]).all()
    np.testing.assert_allclose(out["pnl_usd"], out["gross_pnl_usd"] - out["cost_usd"])


def test_flipping_every_signal_flips_gross_pnl_exactly():
    s, side = random_market(300, seed=3)
    out, flipped = daily_pnl(s, side, CostModel()), daily_pnl(s, -side, CostModel())
    np.testing.assert_array_equal(flipped["gross_pnl_usd"].to_numpy(), -out["gross_pnl_usd"].to_numpy())
    np.testing.assert_array_equal(flipped["cost_usd"].to_numpy(), out["cost_usd"].to_numpy())


@settings(max_examples=60, deadline=None)
@given(
    moves=st.lists(st.integers(-400, 400), min_size=1, max_size=30),
    raw_sides=st.lists(st.integers(-1, 1), min_size=30, max_size=30),
    commission=st.sampled_from([0.0, 1.25, 2.5]),
    slippage=st.sampled_from([0.0, 1.0, 2.0]),
)
def test_accounting_properties(moves, raw_sides, commission, slippage):
    s = sessions(np.full(len(moves), 5000.0), 5000.0 + 0.25 * np.array(moves))
    side = sides(s, raw_sides[: len(moves)])
    costs = CostModel(commission_usd=commission, slippage_ticks=slippage)
    out, flipped = daily_pnl(s, side, costs), daily_pnl(s, -side, costs)
    flat = side.to_numpy() == 0
    assert (out["pnl_usd"].to_numpy()[flat] == 0).all()
    assert (out["pnl_usd"] <= out["gross_pnl_usd"]).all()
    np.testing.assert_array_equal(flipped["gross_pnl_usd"].to_numpy(), -out["gross_pnl_usd"].to_numpy())
    per_trade = 2 * commission + 2 * slippage * 0.25 * 50
    np.testing.assert_allclose(out["cost_usd"], per_trade * (~flat))
    np.testing.assert_allclose(out["gross_pnl_usd"], side.to_numpy() * 0.25 * np.array(moves) * 50)


def test_days_without_cutoff_price_or_close_are_untradable_and_flat():
    s = sessions([5000.0, np.nan, 5000.0, 5000.0], [5010.0, 5010.0, np.nan, 5010.0])
    side = pd.Series([1, 1, -1, 1], index=[*s.index[:3], pd.Timestamp("2030-01-02")])  # last date: no session
    out = daily_pnl(s, side, CostModel())
    assert out["untradable"].tolist() == [False, True, True, True]
    assert out["position"].tolist() == [1, 0, 0, 0]
    assert out["pnl_usd"].tolist() == [470.0, 0.0, 0.0, 0.0]
    assert out["cost_usd"].tolist() == [30.0, 0.0, 0.0, 0.0]


def test_drawdown_is_measured_from_the_running_peak_including_the_start():
    # zero costs; points -2, +4, -6, +1 -> P&L -100, +200, -300, +50 -> equity -100, 100, -200, -150
    s = sessions([5000.0] * 4, [4998.0, 5004.0, 4994.0, 5001.0])
    out = daily_pnl(s, sides(s, [1, 1, 1, 1]), FREE)
    assert out["equity_usd"].tolist() == [-100.0, 100.0, -200.0, -150.0]
    assert out["drawdown_usd"].tolist() == [-100.0, 0.0, -300.0, -250.0]
    assert summarize(out)["max_drawdown"] == 300.0


def test_input_frames_are_not_mutated():
    s, side = random_market(20, seed=4)
    s_before, side_before = s.copy(), side.copy()
    daily_pnl(s, side, CostModel())
    pd.testing.assert_frame_equal(s, s_before)
    pd.testing.assert_series_equal(side, side_before)


# --- summarize ---------------------------------------------------------------------------------------------


def test_summarize_against_hand_computation():
    # 6 days: long +10 pts, flat, short -4 pts (wins), long -3 pts, flat, untradable; default costs
    s = sessions([5000.0] * 5 + [np.nan], [5010.0, 5000.0, 4996.0, 4997.0, 5000.0, 5000.0])
    out = daily_pnl(s, sides(s, [1, 0, -1, 1, 0, 1]), CostModel())
    r = [470.0, 0.0, 170.0, -180.0, 0.0, 0.0]
    assert out["pnl_usd"].tolist() == r
    mean = sum(r) / 6
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / 5)
    m = summarize(out)
    assert m["sharpe"] == pytest.approx(mean / sd * math.sqrt(252), rel=1e-12)  # flat days count as zeros
    assert m["trades"] == 3
    assert m["days"] == 6
    assert m["coverage"] == pytest.approx(0.5)
    assert m["win_rate"] == pytest.approx(2 / 3)
    assert m["total_pnl_usd"] == 460.0
    assert m["avg_trade_usd"] == pytest.approx(460.0 / 3)
    assert (m["long_trades"], m["short_trades"], m["untradable_days"]) == (2, 1, 1)
    assert m["max_drawdown"] == 180.0  # 640 -> 460
    assert m["psr"] == pytest.approx(probabilistic_sharpe(np.array(r)))
    assert m["dsr"] == m["psr"]  # one trial: no deflation


def test_dsr_deflates_with_more_trials():
    s, side = random_market(250, seed=5)
    pnl = daily_pnl(s, side, CostModel())
    one, many = summarize(pnl, n_trials=1), summarize(pnl, n_trials=100)
    assert one["dsr"] == one["psr"]
    assert 0.01 < one["psr"] < 0.99
    assert many["dsr"] < many["psr"] == one["psr"]


def test_summarize_all_flat():
    s, _ = random_market(10, seed=6)
    m = summarize(daily_pnl(s, sides(s, [0] * 10), CostModel()))
    assert (m["sharpe"], m["trades"], m["coverage"], m["total_pnl_usd"], m["max_drawdown"]) == (0.0, 0, 0.0, 0.0, 0.0)
    assert math.isnan(m["win_rate"])
    assert math.isnan(m["avg_trade_usd"])


# --- MLBacktester ------------------------------------------------------------------------------------------


def test_backtest_probabilities_defaults_short_to_one_minus_long():
    s = sessions([5000.0] * 3, [5010.0, 4990.0, 5005.0])
    p_long = pd.Series([0.7, 0.2, 0.55], index=s.index)
    result = MLBacktester().backtest_probabilities(s.reset_index(), p_long, threshold=0.6)
    assert result["pnl"]["position"].tolist() == [1, -1, 0]
    assert result["equity_curve"].tolist() == [470.0, 940.0, 940.0]
    assert result["trades"] == 2


@pytest.fixture
def predictor(tmp_path) -> ModelPredictor:
    """A saved model whose P(up) is sigmoid(feature ``logit_up``)."""
    X = pd.DataFrame({"logit_up": np.linspace(-2, 2, 20)})
    model = LogisticRegression().fit(X, (X["logit_up"] > 0).astype(int))
    model.coef_, model.intercept_ = np.array([[1.0]]), np.array([0.0])
    path = tmp_path / "es_classifier_v1.pkl"
    joblib.dump({"model": model, "scaler": None, "classes": [0, 1], "feature_names": ["logit_up"]}, path)
    return ModelPredictor(path, sha256=file_sha256(path))


def test_backtest_signals_enters_at_the_cutoff_not_the_open(predictor):
    # day 1: up prediction, open 4900 -> cutoff 5000 -> close 5010; day 2: down, open 5100 -> 5000 -> 4990;
    # day 3: no prediction.  Open-based P&L would be +5500 - 30 on each trade.
    daily = sessions([5000.0, 5000.0, 5000.0], [5010.0, 4990.0, 4900.0], open_=[4900.0, 5100.0, 5000.0])
    p_up = np.array([0.7, 0.2, 0.5])
    features = pd.DataFrame({"logit_up": np.log(p_up / (1 - p_up))}, index=daily.index)
    results = MLBacktester(predictor).backtest_signals(daily, features, threshold=0.6)
    assert results["pnl"]["position"].tolist() == [1, -1, 0]
    assert results["pnl"]["entry"].iloc[:2].tolist() == [5000.25, 4999.75]
    assert results["equity_curve"].tolist() == [470.0, 940.0, 940.0]
    assert results["total_trades"] == 2
    assert results["win_rate"] == 1.0
    assert results["max_drawdown"] == 0.0
    assert results["sharpe_ratio"] == results["sharpe"]
    assert results["sharpe_ratio"] == pytest.approx(np.mean([470, 470, 0]) / np.std([470, 470, 0], ddof=1) * 252**0.5)


def test_backtest_signals_accepts_a_trade_date_column(predictor):
    daily = sessions([5000.0, 5000.0], [5010.0, 5020.0])
    features = pd.DataFrame({"logit_up": [2.0, 2.0]}, index=daily.index)
    by_column = MLBacktester(predictor).backtest_signals(daily.reset_index(), features)
    assert by_column["equity_curve"].tolist() == [470.0, 470.0 + 970.0]


def test_backtest_signals_needs_a_predictor():
    daily = sessions([5000.0], [5010.0])
    with pytest.raises(ValueError, match="backtest_signals needs a predictor"):
        MLBacktester().backtest_signals(daily, pd.DataFrame({"x": [0.0]}, index=daily.index))


def test_in_fold_threshold_is_chosen_on_earlier_folds_only():
    from almanac.config import BacktestParams
    from almanac.ml.backtester import backtest

    days = pd.bdate_range("2024-01-02", periods=30)
    fold = np.repeat([0, 1, 2], 10)
    # Confident calls (0.9 / 0.1) are right, timid ones (0.55 / 0.45) wrong: trading only the confident pays.
    p = np.tile([0.9, 0.1, 0.55, 0.45, 0.9, 0.1, 0.55, 0.45, 0.9, 0.1], 3)
    up = np.tile([1, -1, -1, 1, 1, -1, -1, 1, 1, -1], 3).astype(float)
    sessions = pd.DataFrame({"trade_date": days, "cutoff_price": 100.0, "close": 100.0 + up})
    oof = pd.DataFrame({"trade_date": days, "fold": fold, "probability": p})
    settings = BacktestParams(threshold_mode="in_fold", threshold=0.5, commission_usd=0, slippage_ticks=0)
    metrics, equity = backtest(oof, sessions, settings=settings)
    chosen = equity.groupby(fold)["threshold"].first().tolist()
    assert chosen[0] == 0.5  # nothing before the first block: backtest.threshold
    assert chosen[1] > 0.55 and chosen[2] > 0.55  # learnt from the earlier blocks: skip the timid calls
    # No look-ahead: the last block's own outcomes do not move its threshold.
    flipped = sessions.assign(close=np.where(fold == 2, 100.0 - up, 100.0 + up))
    _, again = backtest(oof, flipped, settings=settings)
    assert again.groupby(fold)["threshold"].first().tolist() == chosen
    assert metrics["threshold_mean"] == pytest.approx(np.mean(equity["threshold"]))


# --- position sizing (backtest.sizing) -----------------------------------------------------------------------


def sized_market(n: int = 200, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A session table with the columns the ATR needs and out-of-fold probabilities, ``n`` days."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2024-01-02", periods=n, name="trade_date")
    prev = 4000 + np.round(np.cumsum(rng.normal(0, 30, n)) / 0.25) * 0.25
    cutoff = prev + np.round(rng.normal(0, 10, n) / 0.25) * 0.25
    close = cutoff + np.round(rng.normal(0, 20, n) / 0.25) * 0.25
    high = np.maximum.reduce([prev, cutoff, close]) + np.round(rng.uniform(0, 30, n) / 0.25) * 0.25
    low = np.minimum.reduce([prev, cutoff, close]) - np.round(rng.uniform(0, 30, n) / 0.25) * 0.25
    s = pd.DataFrame(
        {"cutoff_price": cutoff, "close": close, "high": high, "low": low, "prev_close": np.r_[prev[0], close[:-1]]},
        index=days,
    )
    oof = pd.DataFrame({"trade_date": days, "probability": np.clip(rng.normal(0.5, 0.15, n), 0.01, 0.99)})
    return s, oof


def test_probability_sizing_scales_pnl_and_costs_by_the_contracts():
    from almanac.config import BacktestParams
    from almanac.ml.backtester import backtest
    from almanac.ml.pnl import atr_at_cutoff

    s, oof = sized_market()
    fixed = BacktestParams(bootstrap=0)
    prob = fixed.model_copy(update={"sizing": "probability", "max_contracts": 10, "risk_usd": 10_000.0})
    m1, one = backtest(oof, s, settings=fixed)
    m2, sized = backtest(oof, s, settings=prob)
    n = sized["position"].abs().to_numpy()
    assert set(np.unique(n)) > {0, 1}  # several sizes occur
    np.testing.assert_array_equal(np.sign(sized["position"]) * (n > 0), one["position"] * (n > 0))  # same side
    # every contract fills at one contract's prices (slippage per fill); P&L and gross are the contracts times one's
    traded = n > 0
    np.testing.assert_array_equal(sized.loc[traded, ["entry", "exit"]], one.loc[traded, ["entry", "exit"]])
    for column in ("pnl_usd", "gross_pnl_usd"):
        np.testing.assert_allclose(sized[column], n * one[column], rtol=1e-12, atol=1e-9)
    per_contract_cost = 2 * 2.5 + 2 * 0.25 * 50
    assert m2["cost_usd"] == pytest.approx(per_contract_cost * n.sum())
    assert m1["cost_usd"] == pytest.approx(per_contract_cost * m1["trades"])
    # the sizes are the rule's: the bet size of the side's probability, capped by 10,000 USD / (ATR x $50)
    from almanac.ml.decision import contracts

    p = oof["probability"].to_numpy()
    side = positions(p, 1 - p, 0.55)
    expected = contracts(side, p, 1 - p, atr_pts=atr_at_cutoff(s, 14).to_numpy(), sizing="probability", max_contracts=10,
                         risk_usd=10_000.0, point_value_usd=50.0)  # fmt: skip
    np.testing.assert_array_equal(n, expected)
    # the benchmark stays one contract
    np.testing.assert_array_equal(sized["hold_pnl_usd"], one["hold_pnl_usd"])
    # what the metrics report
    assert m2["trades"] == int(traded.sum())
    assert m2["contracts_mean"] == pytest.approx(n[traded].mean())
    assert m2["contracts_max"] == int(n.max())
    assert m2["pnl_per_contract_usd"] == pytest.approx(sized["pnl_usd"].sum() / n.sum())
    assert m2["sized_out_days"] == int(((side != 0) & ~traded).sum())
    assert not {"contracts_mean", "contracts_max", "pnl_per_contract_usd", "sized_out_days"} & set(m1)


def test_fixed_sizing_ignores_the_sizing_knobs_and_the_atr():
    from almanac.config import BacktestParams
    from almanac.ml.backtester import backtest

    s, oof = sized_market()
    m1, one = backtest(oof, s, settings=BacktestParams(bootstrap=0))
    m2, other = backtest(oof, s.drop(columns=["high", "low"]), settings=BacktestParams(
        bootstrap=0, max_contracts=50, risk_usd=1.0), atr_days=3)  # fmt: skip
    pd.testing.assert_frame_equal(one, other)
    assert m1 == pytest.approx(m2, nan_ok=True)
    assert set(one["position"].unique()) <= {-1, 0, 1}


def test_the_risk_budget_sees_only_the_atr_known_at_the_cutoff():
    from almanac.config import BacktestParams
    from almanac.ml.backtester import backtest
    from almanac.ml.pnl import atr_at_cutoff

    s, oof = sized_market()
    day = 120
    later = s.copy()
    moved = later.index >= later.index[day]  # the day itself and every later day: wider ranges, other closes
    later.loc[moved, "high"] += 40.0
    later.loc[moved, "low"] -= 40.0
    later.loc[moved, "close"] += 5.0
    np.testing.assert_array_equal(atr_at_cutoff(s).iloc[: day + 1], atr_at_cutoff(later).iloc[: day + 1])
    settings = BacktestParams(bootstrap=0, sizing="probability", risk_usd=12_000.0)
    _, a = backtest(oof, s, settings=settings)
    _, b = backtest(oof, later, settings=settings)
    np.testing.assert_array_equal(a["position"].iloc[: day + 1], b["position"].iloc[: day + 1])


def test_stated_and_realised_read_the_side_of_a_sized_position():
    from almanac.config import BacktestParams
    from almanac.ml.backtester import backtest

    s, oof = sized_market()
    oof = oof.assign(y_true=(s["close"].to_numpy() > s["cutoff_price"].to_numpy()).astype(float)).iloc[20:]
    m1, _ = backtest(oof, s, settings=BacktestParams(bootstrap=0))
    m2, _ = backtest(oof, s, settings=BacktestParams(bootstrap=0, sizing="probability", risk_usd=1e9))
    assert m2["sized_out_days"] == 0
    assert (m2["traded_confidence"], m2["traded_hit_rate"]) == (m1["traded_confidence"], m1["traded_hit_rate"])


def test_three_contracts_earn_three_times_one_and_pay_three_times_the_costs():
    s = sessions([5000.0, 5000.0], [5010.0, 4990.0])
    one = daily_pnl(s, sides(s, [1, -1]), CostModel())
    three = daily_pnl(s, sides(s, [3, -3]), CostModel())
    assert three["entry"].tolist() == one["entry"].tolist() == [5000.25, 4999.75]  # the same fills
    assert three["cost_usd"].tolist() == [90.0, 90.0]
    assert three["pnl_usd"].tolist() == [3 * 470.0, 3 * 470.0]
    assert three["gross_pnl_usd"].tolist() == [1500.0, 1500.0]


def one_day_each(contracts: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sessions of ``contracts`` (one day each, +1 point from the cutoff to the close) and a long signal."""
    days = pd.bdate_range("2024-01-02", periods=len(contracts))
    frame = pd.DataFrame({"trade_date": days, "cutoff_price": 100.0, "close": 101.0, "contract": contracts})
    return pd.DataFrame({"trade_date": days, "probability": 0.9}), frame


@pytest.mark.parametrize(("contract", "point_value_usd"), [("NQM24", 20.0), ("ESM24", 50.0), ("CLM24", 1000.0)])
def test_backtest_without_costs_prices_the_sessions_own_instrument(contract, point_value_usd):
    from almanac import backtest
    from almanac.config import BacktestParams

    oof, frame = one_day_each([contract, contract])
    _, equity = backtest(oof, frame, settings=BacktestParams(commission_usd=0, slippage_ticks=0))
    assert equity["pnl_usd"].tolist() == [point_value_usd, point_value_usd]


@pytest.mark.parametrize(
    ("contracts", "message"), [(["ESH24", "NQM24"], "several instruments (ES, NQ)"), (["ZZH24"], "'ZZH24'")]
)
def test_backtest_without_costs_refuses_mixed_or_unknown_instruments(contracts, message):
    from almanac import backtest

    oof, frame = one_day_each(contracts)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        backtest(oof, frame)
    backtest(oof, frame, costs=CostModel())  # explicit costs need no instrument from the data
