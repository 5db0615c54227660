"""Stage ``backtest`` with ``backtest.sizing: probability``: signed contracts in the equity table, the sizing metrics,
and fixed sizing unchanged by the sizing knobs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from almanac.data_sources.store import write_table

REPO = Path(__file__).resolve().parents[2]


def _stage():
    spec = importlib.util.spec_from_file_location("stage_backtest", REPO / "stages" / "backtest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(11)
    n = 120
    days = pd.bdate_range("2024-01-02", periods=n)
    prev = 4000 + np.round(np.cumsum(rng.normal(0, 30, n)) / 0.25) * 0.25
    cutoff = prev + np.round(rng.normal(0, 10, n) / 0.25) * 0.25
    close = cutoff + np.round(rng.normal(0, 20, n) / 0.25) * 0.25
    sessions = pd.DataFrame(
        {
            "trade_date": days, "prev_close": np.r_[prev[0], close[:-1]], "cutoff_price": cutoff, "close": close,
            "high": np.maximum(cutoff, close) + 15.0, "low": np.minimum(cutoff, close) - 15.0,
        }
    )  # fmt: skip
    oof = pd.DataFrame({"trade_date": days, "fold": np.repeat([0, 1, 2], 40), "probability": rng.uniform(0.2, 0.8, n)})
    write_table(sessions, tmp_path / "sessions.parquet")
    write_table(oof, tmp_path / "oof.parquet")
    return tmp_path / "oof.parquet", tmp_path / "sessions.parquet"


def _run(tmp_path: Path, name: str, **backtest) -> tuple[dict, pd.DataFrame]:
    oof, sessions = _inputs(tmp_path)
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["backtest"].update(backtest)
    params = tmp_path / f"{name}.yaml"
    params.write_text(yaml.safe_dump(raw))
    out = tmp_path / name
    _stage().main(
        ["--params", str(params), "--oof", str(oof), "--sessions", str(sessions),
         "--metrics", str(out / "backtest.json"), "--equity", str(out / "equity.csv"),
         "--risk_coverage", str(out / "risk_coverage.csv"), "--yearly", str(out / "yearly.csv")]
    )  # fmt: skip
    return json.loads((out / "backtest.json").read_text()), pd.read_csv(out / "equity.csv")


def test_probability_sizing_through_the_stage(tmp_path):
    fixed, one = _run(tmp_path, "fixed")
    sized, many = _run(tmp_path, "probability", sizing="probability", max_contracts=10, risk_usd=20_000.0)
    contracts = many["position"].abs()
    assert contracts.max() > 1 and sized["contracts_max"] == contracts.max()
    assert sized["contracts_mean"] == pytest.approx(contracts[contracts > 0].mean(), rel=1e-9)  # JSON: 12 digits
    traded = contracts > 0
    np.testing.assert_allclose(many.loc[traded, "pnl_usd"], contracts[traded] * one.loc[traded, "pnl_usd"])
    assert "contracts_mean" not in fixed and set(one["position"]) <= {-1, 0, 1}
    # fixed sizing does not read the sizing knobs: the same bytes whatever they say
    _run(tmp_path, "fixed_knobs", max_contracts=3, risk_usd=1.0)
    for name in ("backtest.json", "equity.csv", "risk_coverage.csv", "yearly.csv"):
        assert (tmp_path / "fixed" / name).read_bytes() == (tmp_path / "fixed_knobs" / name).read_bytes(), name
