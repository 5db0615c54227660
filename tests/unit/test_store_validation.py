"""Parquet/JSON storage, the canonical-bars gate and the data loaders of the workflow API."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from almanac.data_sources import load_cross_asset_data, load_daily_data, load_minute_data
from almanac.data_sources.store import read_json, read_table, write_json, write_table
from almanac.data_sources.validation import BarsError, check_canonical

TICK = 0.25


def canonical_bars() -> pd.DataFrame:
    """Five valid canonical bars (ESH24, trade date 2024-01-03)."""
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-03 14:30", periods=5, freq="min", tz="UTC"),
            "open": [4000.00, 4000.50, 4001.00, 4000.75, 4000.25],
            "high": [4000.75, 4001.25, 4001.25, 4001.00, 4000.50],
            "low": [3999.75, 4000.25, 4000.50, 4000.00, 3999.50],
            "close": [4000.50, 4001.00, 4000.75, 4000.25, 4000.00],
            "volume": np.array([120, 80, 95, 60, 150], dtype=np.int64),
            "contract": "ESH24",
            "trade_date": pd.Series(pd.Timestamp("2024-01-03"), index=range(5)).astype("datetime64[s]"),
        }
    )
    return frame


# --- write_table / read_table ---------------------------------------------------------------------------------


def test_write_read_round_trip(tmp_path):
    frame = canonical_bars()
    path = tmp_path / "bars" / "ES.parquet"  # parent directories are created
    write_table(frame, path)
    back = read_table(path)
    pd.testing.assert_frame_equal(back, frame)
    assert back["trade_date"].dtype == "datetime64[s]"
    assert str(back["ts"].dt.tz) == "UTC"


def test_date_columns_are_stored_as_date32_and_timestamps_as_utc(tmp_path):
    frame = canonical_bars()
    frame["date"] = frame["trade_date"]
    write_table(frame, tmp_path / "t.parquet")
    schema = pq.read_schema(tmp_path / "t.parquet")
    assert schema.field("trade_date").type == pa.date32()
    assert schema.field("date").type == pa.date32()
    assert pa.types.is_timestamp(schema.field("ts").type)
    assert schema.field("ts").type.tz == "UTC"
    assert schema.field("volume").type == pa.int64()
    back = read_table(tmp_path / "t.parquet")
    assert back["date"].dtype == "datetime64[s]"
    assert (back["date"] == pd.Timestamp("2024-01-03")).all()


def test_write_table_does_not_store_the_index(tmp_path):
    frame = canonical_bars().set_index(pd.Index([10, 11, 12, 13, 14], name="row"))
    write_table(frame, tmp_path / "t.parquet")
    assert "row" not in pq.read_schema(tmp_path / "t.parquet").names
    assert read_table(tmp_path / "t.parquet").index.equals(pd.RangeIndex(5))


def test_writing_the_same_frame_twice_gives_identical_bytes(tmp_path):
    frame = canonical_bars()
    write_table(frame, tmp_path / "a.parquet")
    write_table(frame.copy(), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_read_table_with_filters_and_columns(tmp_path):
    frame = pd.concat([canonical_bars(), canonical_bars()], ignore_index=True)
    frame.loc[5:, "trade_date"] = pd.Timestamp("2024-01-04")
    frame.loc[5:, "ts"] = frame.loc[5:, "ts"] + pd.Timedelta(days=1)
    write_table(frame, tmp_path / "t.parquet")
    back = read_table(
        tmp_path / "t.parquet",
        filters=[("trade_date", ">=", pd.Timestamp("2024-01-04").date())],
        columns=["ts", "trade_date"],
    )
    assert list(back.columns) == ["ts", "trade_date"]
    assert len(back) == 5
    assert (back["trade_date"] == pd.Timestamp("2024-01-04")).all()


def test_read_table_on_a_missing_path_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "sessions.parquet"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        read_table(path)


# --- JSON -------------------------------------------------------------------------------------------------------


def test_write_json_sorts_keys_turns_nan_into_null_and_ends_with_a_newline(tmp_path):
    path = tmp_path / "metrics" / "m.json"
    write_json({"b": np.int64(2), "a": float("nan"), "c": {"z": np.float64(1.5), "y": [np.nan, np.bool_(True)]}}, path)
    text = path.read_text()
    assert text == (
        '{\n  "a": null,\n  "b": 2,\n  "c": {\n    "y": [\n      null,\n      true\n    ],\n    "z": 1.5\n  }\n}\n'
    )
    assert read_json(path) == {"a": None, "b": 2, "c": {"y": [None, True], "z": 1.5}}


def test_write_json_is_byte_stable_whatever_the_key_order(tmp_path):
    write_json({"x": 1, "a": {"q": 1.0, "b": 2}}, tmp_path / "one.json")
    write_json({"a": {"b": 2, "q": 1.0}, "x": 1}, tmp_path / "two.json")
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


# --- check_canonical --------------------------------------------------------------------------------------------


def test_check_canonical_passes_on_the_synthetic_bars(small_dataset):
    assert check_canonical(small_dataset.bars, TICK) is None


def test_check_canonical_passes_on_the_hand_made_bars_and_does_not_modify_them():
    bars = canonical_bars()
    before = bars.copy()
    assert check_canonical(bars, TICK) is None
    pd.testing.assert_frame_equal(bars, before)


def _drop_contract(b):
    return b.drop(columns="contract")


def _naive_ts(b):
    return b.assign(ts=b["ts"].dt.tz_localize(None))


def _chicago_ts(b):
    return b.assign(ts=b["ts"].dt.tz_convert("America/Chicago"))


def _duplicate_ts(b):
    b.loc[3, "ts"] = b.loc[2, "ts"]
    return b


def _unsorted_ts(b):
    b.loc[[2, 3], "ts"] = b.loc[[3, 2], "ts"].to_numpy()
    return b


def _nan_close(b):
    b.loc[2, "close"] = np.nan
    return b


def _inf_high(b):
    b.loc[1, "high"] = np.inf
    return b


def _off_grid_open(b):
    b.loc[1, "open"] = 4000.10
    return b


def _high_below_low(b):
    b.loc[4, "high"] = b.loc[4, "low"] - TICK
    return b


def _close_above_high(b):
    b.loc[0, "close"] = b.loc[0, "high"] + TICK
    return b


def _zero_volume(b):
    b.loc[3, "volume"] = 0
    return b


def _float_volume(b):
    return b.assign(volume=b["volume"].astype(np.float64))


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        pytest.param(_drop_contract, r"missing columns \['contract'\]", id="missing-column"),
        pytest.param(_naive_ts, r"column ts must be timezone-aware UTC, got datetime64\[\w+\]$", id="tz-naive-ts"),
        pytest.param(_chicago_ts, r"column ts must be timezone-aware UTC", id="non-utc-ts"),
        pytest.param(_duplicate_ts, r"row 3, column ts: duplicate timestamp", id="duplicate-ts"),
        pytest.param(_unsorted_ts, r"row 3, column ts: out-of-order timestamp", id="unsorted-ts"),
        pytest.param(_nan_close, r"row 2, column close: missing or non-finite price", id="nan-price"),
        pytest.param(_inf_high, r"row 1, column high: missing or non-finite price", id="inf-price"),
        pytest.param(_off_grid_open, r"row 1, column open: 4000.1 is not on the 0.25 tick grid", id="off-grid"),
        pytest.param(_high_below_low, r"row 4, columns open/high/low/close: inconsistent OHLC", id="high-below-low"),
        pytest.param(
            _close_above_high, r"row 0, columns open/high/low/close: inconsistent OHLC", id="close-above-high"
        ),
        pytest.param(_zero_volume, r"row 3, column volume: 0; minutes without trades must be absent", id="zero-volume"),
        pytest.param(_float_volume, r"column volume must be int64 contracts, got float64", id="float-volume"),
    ],
)
def test_check_canonical_names_the_violation(corrupt, message):
    bars = corrupt(canonical_bars())
    with pytest.raises(BarsError, match=f"^vendor.csv: {message}"):
        check_canonical(bars, TICK, source="vendor.csv")


def test_check_canonical_rejects_unparsed_string_timestamps():
    bars = canonical_bars()
    bars = bars.assign(ts=bars["ts"].astype(str))
    with pytest.raises(BarsError, match="column ts"):
        check_canonical(bars, TICK)


def test_bars_error_is_a_value_error():
    with pytest.raises(ValueError):
        check_canonical(_zero_volume(canonical_bars()), TICK)


# --- loaders ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, small_dataset, small_sessions):
    """A data directory laid out like the pipeline's output (bars, sessions and daily tables)."""
    root = tmp_path_factory.mktemp("data")
    write_table(small_dataset.bars, root / "bars" / "minute.parquet")
    write_json(small_dataset.manifest, root / "bars" / "manifest.json")
    write_table(small_dataset.daily, root / "bars" / "daily.parquet")
    write_table(small_sessions, root / "sessions.parquet")
    return root


def test_load_minute_data_filters_trade_dates_inclusively(data_dir, small_dataset):
    bars = load_minute_data("ES", "2023-02-01", "2023-02-03", data_dir=data_dir)
    bars_all = small_dataset.bars
    window = (bars_all["trade_date"] >= pd.Timestamp("2023-02-01")) & (
        bars_all["trade_date"] <= pd.Timestamp("2023-02-03")
    )
    expected = bars_all.loc[window].reset_index(drop=True)
    assert sorted(bars["trade_date"].unique()) == [pd.Timestamp(d) for d in ("2023-02-01", "2023-02-02", "2023-02-03")]
    pd.testing.assert_frame_equal(bars, expected)
    assert bars["ts"].min() < pd.Timestamp("2023-02-01", tz="UTC")  # the 02-01 overnight bars start on 01-31


def test_load_minute_data_without_bounds_returns_everything(data_dir, small_dataset):
    pd.testing.assert_frame_equal(load_minute_data("ES", data_dir=data_dir), small_dataset.bars)


def test_load_minute_data_with_only_a_start(data_dir):
    bars = load_minute_data("ES", start="2023-06-29", data_dir=data_dir)
    assert sorted(bars["trade_date"].unique()) == [pd.Timestamp("2023-06-29"), pd.Timestamp("2023-06-30")]


def test_load_minute_data_for_another_symbol_says_which_symbol_the_data_is(data_dir):
    with pytest.raises(FileNotFoundError, match="is .ES., not .NQ."):
        load_minute_data("NQ", data_dir=data_dir)


def test_load_daily_data_is_the_session_table_indexed_by_trade_date(data_dir, small_sessions):
    daily = load_daily_data("ES", "2023-03-08", "2023-03-10", data_dir=data_dir)
    assert daily.index.name == "trade_date"
    assert list(daily.index) == [pd.Timestamp(d) for d in ("2023-03-08", "2023-03-09", "2023-03-10")]
    expected = small_sessions.set_index("trade_date").loc["2023-03-08":"2023-03-10"]
    pd.testing.assert_frame_equal(daily, expected)


def test_load_daily_data_for_another_symbol_raises(data_dir):
    with pytest.raises(FileNotFoundError, match="is .ES., not .NQ."):
        load_daily_data("NQ", data_dir=data_dir)


def test_load_cross_asset_data_filters_on_date_inclusively(data_dir, small_dataset):
    daily = load_cross_asset_data("2023-01-03", "2023-01-05", data_dir=data_dir)
    assert list(daily.columns) == ["symbol", "date", "close", "available_at"]
    assert sorted(daily["date"].unique()) == [pd.Timestamp(d) for d in ("2023-01-03", "2023-01-04", "2023-01-05")]
    source = small_dataset.daily
    expected = source.loc[(source["date"] >= "2023-01-03") & (source["date"] <= "2023-01-05")].reset_index(drop=True)
    pd.testing.assert_frame_equal(daily, expected)
    assert str(daily["available_at"].dt.tz) == "UTC"


def test_a_truncated_parquet_output_says_how_to_restore_it(tmp_path):
    from almanac.data_sources.store import read_table, write_table
    from almanac.errors import CorruptFileError

    path = tmp_path / "features.parquet"
    write_table(pd.DataFrame({"trade_date": pd.bdate_range("2024-01-02", periods=500), "x": np.arange(500.0)}), path)
    with open(path, "r+b") as handle:
        handle.truncate(1000)  # truncate -s 1000
    with pytest.raises(
        CorruptFileError, match=rf"^{path}: not a readable Parquet file .*`dvc checkout {path}`.*dvc repro"
    ):
        read_table(path)


def test_a_truncated_json_output_says_how_to_restore_it(tmp_path):
    from almanac.data_sources.store import read_json, write_json
    from almanac.errors import CorruptFileError

    path = tmp_path / "manifest.json"
    write_json({"rolls": [], "repairs": {"a": 1}}, path)
    path.write_text(path.read_text()[:10])
    with pytest.raises(CorruptFileError, match=rf"^{path}: not readable JSON .*`dvc checkout {path}`"):
        read_json(path)


def test_a_stage_reading_a_corrupted_input_prints_one_line(tmp_path):
    import shutil
    import subprocess
    import sys

    from almanac.data_sources.store import write_table

    repo = Path(__file__).resolve().parents[2]
    shutil.copy(repo / "params.yaml", tmp_path / "params.yaml")
    features = tmp_path / "features.parquet"
    write_table(
        pd.DataFrame({"trade_date": pd.bdate_range("2024-01-02", periods=500), "x": np.arange(500.0)}), features
    )
    with open(features, "r+b") as handle:
        handle.truncate(1000)
    args = [sys.executable, str(repo / "stages" / "train.py"), "--params", "params.yaml", "--features", str(features)]
    outputs = ("lineage", "labels", "sessions", "oof", "oof_shap", "model", "registry", "signature", "metrics", "folds")
    for name in outputs:
        args += [f"--{name}", str(tmp_path / f"{name}.out")]
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {features}: not a readable Parquet file")
