"""Each stage's ``main(argv)`` on a small synthetic configuration in ``tmp_path``."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import joblib
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from almanac.config import ParamsError
from almanac.data_sources.store import read_table
from almanac.ml.labelers import STRUCTURES
from almanac.ml.registry import file_sha256

REPO = Path(__file__).resolve().parents[2]


def load_stage(name: str):
    spec = importlib.util.spec_from_file_location(f"stage_{name}", REPO / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_params(path: Path, **overrides) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"].update({"start": "2024-02-01", "end": "2024-04-30"})
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        params[section][key] = value
    path.write_text(yaml.safe_dump(params))
    return path


def run_bars(tmp_path: Path, params: Path) -> dict[str, Path]:
    out = {
        "bars": tmp_path / "bars" / "ES.parquet",
        "daily": tmp_path / "bars" / "daily.parquet",
        "manifest": tmp_path / "bars" / "manifest.json",
        "truth": tmp_path / "truth" / "ES.parquet",
    }
    load_stage("bars").main(["--params", str(params), *[f"--{k}={v}" for k, v in out.items()]])
    return out


def test_bars_then_sessions(tmp_path):
    params = write_params(tmp_path / "params.yaml")
    out = run_bars(tmp_path, params)
    bars = read_table(out["bars"])
    manifest = json.loads(out["manifest"].read_text())
    assert manifest["source"] == "synthetic"
    assert manifest["rows"]["continuous_bars"] == len(bars)
    assert manifest["trade_dates"]["first"] == "2024-02-01" and manifest["trade_dates"]["last"] == "2024-04-30"
    assert [r["to"] for r in manifest["rolls"]] == ["ESM24"]  # ESH24 rolls on 2024-03-07
    assert manifest["rolls"][0]["trade_date"] == "2024-03-07"
    schema = pq.read_schema(out["bars"])
    assert str(schema.field("trade_date").type) == "date32[day]"
    assert str(schema.field("ts").type) == "timestamp[ns, tz=UTC]"

    sessions_path = tmp_path / "sessions.parquet"
    load_stage("sessions").main(
        [
            "--params",
            str(params),
            "--bars",
            str(out["bars"]),
            "--manifest",
            str(out["manifest"]),
            "--out",
            str(sessions_path),
        ]
    )
    sessions = read_table(sessions_path)
    assert len(sessions) == manifest["trade_dates"]["count"]
    assert sessions["trade_date"].is_monotonic_increasing
    roll = sessions.set_index("trade_date").loc[pd.Timestamp("2024-03-07")]
    assert bool(roll["roll_day"]) and roll["contract"] == "ESM24"


def test_bars_is_byte_identical_across_runs(tmp_path):
    params = write_params(tmp_path / "params.yaml", data__end="2024-02-20")
    first = run_bars(tmp_path / "a", params)
    second = run_bars(tmp_path / "b", params)
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key


def test_bars_fails_at_start_on_bad_params(tmp_path):
    params = write_params(tmp_path / "params.yaml", synthetic__kappa=-0.1)
    with pytest.raises(ParamsError, match="synthetic.kappa"):
        run_bars(tmp_path, params)
    assert not (tmp_path / "bars").exists()


def run(name: str, params: Path, **paths: Path) -> None:
    load_stage(name).main(["--params", str(params), *[f"--{k}={v}" for k, v in paths.items()]])


def run_until_labels(t: Path, params: Path) -> dict[str, Path]:
    """bars, sessions, features and labels into ``t``; returns the bars stage's outputs."""
    out = run_bars(t, params)
    run("sessions", params, bars=out["bars"], manifest=out["manifest"], out=t / "sessions.parquet")
    run(
        "features",
        params,
        bars=out["bars"],
        sessions=t / "sessions.parquet",
        daily=out["daily"],
        out=t / "features.parquet",
        lineage=t / "lineage.json",
    )
    run("labels", params, sessions=t / "sessions.parquet", bars=out["bars"], out=t / "labels.parquet")
    return out


@pytest.mark.parametrize("target", ["rest_of_day", "archetype"])
def test_whole_chain_writes_every_declared_metric(tmp_path, target):
    params = write_params(tmp_path / "params.yaml")
    raw = yaml.safe_load(params.read_text())
    raw["labels"]["target"] = target
    raw["data"].update({"start": "2023-06-01", "end": "2024-06-28"})
    raw["cv"].update({"min_train_days": 100, "test_days": 40, "embargo_days": 2})
    raw["evaluate"].update({"rolling_days": 40, "bootstrap": 50})
    params.write_text(yaml.safe_dump(raw))
    out = run_until_labels(tmp_path, params)
    t = tmp_path
    run(
        "train", params, features=t / "features.parquet", lineage=t / "lineage.json", labels=t / "labels.parquet",
        sessions=t / "sessions.parquet", oof=t / "oof.parquet", oof_shap=t / "oof_shap.parquet", model=t / "model.joblib", registry=t / "registry.json",
        signature=t / "signature.json", metrics=t / "train.json", folds=t / "folds.csv",
    )  # fmt: skip
    plots = {
        name: t / f"{name}.csv"
        for name in ("roc", "calibration", "confusion", "rolling_auc", "shap_importance", "breakdown")
    }
    run(
        "evaluate", params, oof=t / "oof.parquet", oof_shap=t / "oof_shap.parquet", model=t / "model.joblib", registry=t / "registry.json",
        signature=t / "signature.json", features=t / "features.parquet",
        sessions=t / "sessions.parquet", truth=out["truth"], metrics=t / "evaluate.json", **plots,
    )  # fmt: skip
    run(
        "backtest",
        params,
        oof=t / "oof.parquet",
        sessions=t / "sessions.parquet",
        metrics=t / "backtest.json",
        equity=t / "equity.csv",
        risk_coverage=t / "risk_coverage.csv",
        yearly=t / "yearly.csv",
    )
    run(
        "audit",
        params,
        bars=out["bars"],
        daily=out["daily"],
        manifest=out["manifest"],
        features=t / "features.parquet",
        metrics=t / "audit.json",
    )

    # The signature the evaluate stage reads instead of unpickling the model: the model's own lists, same types.
    checkpoint, signature = joblib.load(t / "model.joblib"), json.loads((t / "signature.json").read_text())
    assert signature["model_sha256"] == file_sha256(t / "model.joblib")
    assert signature["feature_names"] == checkpoint["feature_names"]
    assert signature["classes"] == checkpoint["classes"]  # 0.0/1.0, or the archetypes' names
    assert len(signature["classes"]) == 2 if target == "rest_of_day" else len(signature["classes"]) > 2

    lineage = json.loads((t / "lineage.json").read_text())
    features = read_table(t / "features.parquet")
    assert set(lineage) == set(features.columns) - {"trade_date"}
    assert all(set(v) == {"family", "source", "window", "as_of"} for v in lineage.values())
    train = json.loads((t / "train.json").read_text())
    assert train["n_folds"] >= 3 and train["n_oof_days"] > 100
    evaluate = json.loads((t / "evaluate.json").read_text())
    keys = ["auc", "accuracy", "brier", "log_loss", "base_rate_auc", "open_to_cutoff_sign_auc", "previous_day_auc"]
    if target == "rest_of_day":
        keys += ["oracle_auc", "oracle_efficiency", "auc_ci_low", "auc_ci_high", "delong_p_vs_base_rate"]
    for key in keys:
        assert key in evaluate and evaluate[key] == evaluate[key], key  # present and not NaN
    backtest = json.loads((t / "backtest.json").read_text())
    for key in ("sharpe", "max_drawdown", "win_rate", "trades", "coverage", "total_pnl_usd", "psr", "degenerate"):
        assert key in backtest, key
    by_year = pd.read_csv(t / "yearly.csv")
    assert by_year["pnl_usd"].sum() == pytest.approx(backtest["total_pnl_usd"], abs=0.01 * len(by_year))
    table = pd.read_csv(t / "risk_coverage.csv")
    if target == "rest_of_day":
        assert table["threshold"].tolist()[0] == 0.5 and table["coverage"].is_monotonic_decreasing
    assert json.loads((t / "audit.json").read_text())["violations"] == 0
    registry = json.loads((t / "registry.json").read_text())
    (entry,) = registry["versions"].values()
    assert registry["current"] in registry["versions"]
    assert entry["model"] == "lightgbm" and len(entry["model_sha256"]) == 64
    equity = pd.read_csv(t / "equity.csv")
    assert len(equity) == train["n_oof_days"]
    assert equity["hold_equity_usd"].iloc[-1] == pytest.approx(backtest["buy_hold_pnl_usd"], abs=0.01)
    confusion = pd.read_csv(t / "confusion.csv")  # one row per day: DVC's confusion template counts rows
    assert len(confusion) == train["n_oof_days"] and list(confusion.columns) == ["trade_date", "actual", "predicted"]
    if target == "rest_of_day":
        assert confusion.eval("actual == 1 and predicted == 1").sum() == evaluate["tp"]
        assert pd.read_csv(t / "breakdown.csv")["label"].is_unique
    oof = read_table(t / "oof.parquet")
    if target == "archetype":  # multiclass: one probability column per class, summing to one
        columns = [c for c in oof.columns if c.startswith("probability_")]
        assert (oof[columns].sum(axis=1) - 1).abs().max() < 1e-9
        assert {"TrendUp", "TrendDown", "ReversalUp", "ReversalDown", "Other"} <= set(oof["y_true"]) <= set(STRUCTURES)
        assert {c.removeprefix("probability_") for c in columns} == set(oof["y_true"])
        assert evaluate["macro_f1"] > evaluate["base_rate_macro_f1"]
        assert all(0 <= evaluate[f"auc_{c}"] <= 1 for c in set(oof["y_true"]))
    binary_only = {"roc", "calibration", "rolling_auc", "breakdown"} if target == "archetype" else set()
    for name, path in plots.items():
        assert (len(pd.read_csv(path)) > 0) != (name in binary_only), path


def test_breakdown_groups_are_in_calendar_and_tercile_order():
    """The evaluate stage's groupings: weekdays and terciles as categoricals (Monday to Friday, low to high), so the
    breakdown table and its chart list them in that order whatever day the data starts on."""
    dates = pd.bdate_range("2024-01-04", periods=30)  # a Thursday
    sessions = pd.DataFrame({"roll_day": False, "half_day": False}, index=dates)
    features = pd.DataFrame({"atr_pct": range(30), "vix_level": [float("nan")] * 3 + list(range(27))}, index=dates)
    context = load_stage("evaluate").breakdown_context(sessions, features)
    assert list(context["weekday"].cat.categories[:5]) == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert list(context["atr_tercile"].cat.categories) == ["low", "mid", "high"]
    assert context["vix_tercile"].isna().sum() == 3  # no VIX yet: in no tercile


def test_too_few_days_stops_with_a_clear_message(tmp_path):
    params = write_params(tmp_path / "params.yaml")  # three months: far fewer than the default 636 days
    run_until_labels(tmp_path, params)
    t = tmp_path
    argv = [
        "--params", str(params), f"--features={t / 'features.parquet'}", f"--lineage={t / 'lineage.json'}",
        f"--labels={t / 'labels.parquet'}", f"--sessions={t / 'sessions.parquet'}", f"--oof={t / 'oof.parquet'}", f"--oof_shap={t / 's.parquet'}",
        f"--model={t / 'model.joblib'}", f"--registry={t / 'r.json'}", f"--signature={t / 'g.json'}", f"--metrics={t / 'm.json'}",
        f"--folds={t / 'f.csv'}",
    ]  # fmt: skip
    stage = load_stage("train")
    from almanac.stage_io import run_stage

    with pytest.raises(SystemExit) as exit_info:
        run_stage(lambda: stage.main(argv))
    message = str(exit_info.value.code)
    assert message.startswith("error: walk-forward needs at least 636 trade days")
    assert "the data has 62" in message


def test_a_failed_train_removes_the_later_stages_metrics(tmp_path):
    """DVC deletes a failed stage's own outputs, not the evaluation of the previous model: the stage does."""
    import subprocess
    import sys

    params = write_params(tmp_path / "params.yaml", cv__min_train_days=5000)  # more days than the data has
    stale = [tmp_path / "evaluate.json", tmp_path / "backtest.json"]
    for path in stale:
        path.write_text('{"auc": 0.9}')
    args = [f"--{k}={tmp_path / k}" for k in ("features", "lineage", "labels", "sessions", "oof", "oof_shap", "model", "registry",
                                              "signature", "metrics", "folds")]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(REPO / "stages" / "train.py"), "--params", str(params), *args,
         "--invalidates", *map(str, stale)],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert done.returncode == 1 and "error:" in done.stderr and "Traceback" not in done.stderr
    assert not any(path.exists() for path in stale)
    assert "removed the later stages' metrics of an earlier run" in done.stderr
