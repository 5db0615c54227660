"""Instruments with other hours, end to end: a synthetic CL market (NYMEX, RTH 09:00-14:30 ET, monthly contracts,
a 0.01 tick, $1000 a point) through bars, sessions, features, labels, train, evaluate and backtest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from almanac import calendar
from almanac.data_sources.contracts import expiry_date
from almanac.data_sources.store import read_table
from helpers import run_stage, small_pipeline

CL = {"data.symbol": "CL", "synthetic.start_price": 70.0, "features.cutoff": "10:15"}


@pytest.fixture(scope="module")
def crude(tmp_path_factory):
    root = tmp_path_factory.mktemp("crude")
    params, files = small_pipeline(root, overrides=CL)
    run_stage("evaluate", params, oof=root / "data/predictions/oof.parquet", oof_shap=root / "data/predictions/oof_shap.parquet",
              model=files.model, registry=files.registry, signature=files.signature, features=files.features, sessions=files.sessions,
              truth=root / "data/truth/truth.parquet", metrics=root / "metrics/evaluate.json",
              **{name: root / f"plots/{name}.csv" for name in ("roc", "calibration", "confusion", "rolling_auc",
                                                               "shap_importance", "breakdown")})  # fmt: skip
    run_stage("backtest", params, oof=root / "data/predictions/oof.parquet", sessions=files.sessions,
              metrics=root / "metrics/backtest.json", equity=root / "plots/equity.csv",
              risk_coverage=root / "plots/risk_coverage.csv", yearly=root / "plots/yearly.csv")  # fmt: skip
    return root, files


def _et(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert(calendar.ET)


def test_bars_are_monthly_crude_contracts_on_the_cent_grid(crude):
    root, files = crude
    bars = read_table(files.bars)
    contracts = sorted(bars["contract"].unique(), key=expiry_date)
    months = "NQUVXZFGHJKMNQ"  # June 2023 (front: July) to June 2024 (front after the 17 June roll: August)
    assert contracts == [f"CL{m}{23 if i < 6 else 24}" for i, m in enumerate(months)]
    cents = bars[["open", "high", "low", "close"]].to_numpy() * 100
    assert np.allclose(cents, np.round(cents), atol=1e-6)
    manifest = json.loads(files.manifest.read_text())
    assert manifest["symbol"] == "CL" and manifest["tick"] == 0.01


def test_sessions_use_crudes_own_rth_window(crude):
    root, files = crude
    bars, sessions = read_table(files.bars), read_table(files.sessions).set_index("trade_date")
    local = _et(bars["ts"])
    minute = local.dt.hour * 60 + local.dt.minute
    day = pd.Timestamp("2024-03-06")  # a full Wednesday
    today = bars.loc[(bars["trade_date"] == day).to_numpy()]
    m = minute.loc[today.index]
    row = sessions.loc[day]
    assert row["rth_bars"] == 330  # 09:00-14:30: five and a half hours
    assert row["open"] == today.loc[m == 9 * 60, "open"].item()  # the 09:00 bar, not 09:30
    assert row["close"] == today.loc[m == 14 * 60 + 29, "close"].item()  # the bar ending 14:30, not 16:00
    assert row["high"] == today.loc[(m >= 540) & (m < 870), "high"].max()
    assert row["cutoff_price"] == today.loc[m == 10 * 60 + 14, "close"].item()  # the bar ending at 10:15
    assert row["eth_close"] == today.loc[m == 8 * 60 + 59, "close"].item()  # overnight ends at crude's open
    half = sessions.loc[pd.Timestamp("2023-11-24")]  # the day after Thanksgiving: NYSE closes at 13:00
    assert half["half_day"] and half["rth_bars"] == 240


def test_the_model_learns_the_planted_signal_and_the_oracle_sees_it(crude):
    root, _ = crude
    metrics = json.loads((root / "metrics/evaluate.json").read_text())
    assert metrics["oracle_informative"] and metrics["oracle_auc"] > 0.6
    assert metrics["n_days"] > 100


def test_backtest_prices_crude_at_1000_dollars_a_point_and_a_cent_tick(crude):
    root, files = crude
    equity = pd.read_csv(root / "plots/equity.csv")
    traded = equity.loc[equity["position"] != 0]
    assert len(traded) > 10
    params = __import__("almanac").load_params(root / "params.yaml")
    slip = params.backtest.slippage_ticks * 0.01
    sessions = read_table(files.sessions).set_index("trade_date")
    s = sessions.loc[pd.to_datetime(traded["trade_date"])]
    side = traded["position"].to_numpy()
    assert np.allclose(traded["entry"], s["cutoff_price"].to_numpy() + side * slip)
    assert np.allclose(traded["exit"], s["close"].to_numpy() - side * slip)
    expected = side * (traded["exit"] - traded["entry"]) * 1000.0 - 2 * params.backtest.commission_usd
    assert np.allclose(traded["pnl_usd"], expected)


def test_feature_lineage_names_crude_and_its_own_open(crude):
    root, _ = crude
    lineage = json.loads((root / "data" / "features_lineage.json").read_text())
    assert lineage["gap_pct"]["as_of"] == "09:01 ET"
    assert lineage["overnight_range_pct"]["source"] == "CL minute bars before 09:00 ET"
    assert lineage["atr_pct"]["source"] == "CL sessions (RTH)"


@pytest.mark.parametrize(
    ("symbol", "price", "rth_bars", "contracts"),
    [("GC", 2000.0, 310, ["GCJ24", "GCM24"]),  # 08:20-13:30; gold rolls 30 days before expiry (26 Apr)
     ("ZN", 110.0, 400, ["ZNM24"]),  # 08:20-15:00; ZNH24 rolled on 18 Feb, before these dates
     ("NQ", 15000.0, 390, ["NQH24", "NQM24"]),
     ("YM", 35000.0, 390, ["YMH24", "YMM24"])],
)  # fmt: skip
def test_every_instrument_has_a_synthetic_market_on_its_own_grid_hours_and_contracts(
    symbol, price, rth_bars, contracts
):
    from almanac.config import params_from_dict
    from almanac.data_sources.synthetic import build_synthetic_dataset
    from almanac.instruments import instrument
    from almanac.sessions import build_sessions
    from almanac.synth.market import MarketSpec

    raw = {"data": {"symbol": symbol, "start": "2024-03-01", "end": "2024-04-30"}, "synthetic": {"start_price": price}}
    params = params_from_dict(raw)
    data = build_synthetic_dataset(MarketSpec.from_params(params.data, params.synthetic))
    tick = instrument(symbol).tick
    assert data.manifest["tick"] == tick
    ticks = data.bars[["open", "high", "low", "close"]].to_numpy() / tick
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)
    assert sorted(data.bars["contract"].unique(), key=expiry_date) == contracts
    sessions = build_sessions(data.bars, params.features.cutoff_time, data.manifest["rolls"])
    assert (sessions["rth_bars"] == rth_bars).all() and (sessions["partial"] == "").all()
