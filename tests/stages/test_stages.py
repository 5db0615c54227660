"""Each stage's ``main(argv)`` on a small synthetic configuration in ``tmp_path``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from almanac.config import ParamsError
from almanac.data_sources.store import read_table

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
