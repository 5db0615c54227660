"""The public API at the door (issue 21): every function takes the pipeline's files as ``pd.read_parquet`` and
``pd.read_csv`` read them, or as ``load_bars`` returns them, with the same bytes out as the stages' path
(``store.read_table``); a bad frame fails with one line naming the function, the argument and the column.

The functions of the trade-date tables (``train``, ``evaluate``, ``backtest``, ``predict``) have no timestamp
column: their "naive timestamps" case is a ``trade_date`` holding instants (a time of day) instead of dates.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import almanac
from almanac.config import load_params
from almanac.data_sources.store import read_json, read_table, write_json, write_table
from almanac.schemas import InputError
from helpers import small_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The small pipeline's files (bars -> train, written by the stages), its params and the frames read both
    ways: ``store`` (the stages' ``read_table``) and ``pandas`` (``pd.read_parquet``)."""
    root = tmp_path_factory.mktemp("boundary")
    params_path, files = small_pipeline(root)
    paths = {
        "bars": files.bars,
        "daily": files.daily,
        "sessions": files.sessions,
        "features": files.features,
        "labels": root / "data" / "labels.parquet",
        "oof": root / "data" / "predictions" / "oof.parquet",
    }
    return {
        "root": root,
        "files": files,
        "paths": paths,
        "params": load_params(params_path),
        "rolls": read_json(files.manifest)["rolls"],
        "store": {name: read_table(path) for name, path in paths.items()},
        "pandas": {name: pd.read_parquet(path) for name, path in paths.items()},
    }


def _bytes(frame: pd.DataFrame, path) -> bytes:
    write_table(frame, path)
    return path.read_bytes()


def _csv(frame: pd.DataFrame, path) -> pd.DataFrame:
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


# --- the same bytes whichever way the inputs were read ----------------------------------------------------------


def test_load_bars_gives_the_stage_bars(pipeline, tmp_path):
    data = almanac.load_bars(pipeline["params"].data, synthetic=pipeline["params"].synthetic)
    assert _bytes(data.bars, tmp_path / "bars.parquet") == pipeline["paths"]["bars"].read_bytes()
    assert _bytes(data.daily, tmp_path / "daily.parquet") == pipeline["paths"]["daily"].read_bytes()


@pytest.mark.parametrize("way", ["pandas", "csv"])
def test_build_sessions_reads_like_the_stage(pipeline, way, tmp_path):
    bars = pipeline["pandas"]["bars"]
    if way == "csv":
        bars = _csv(pipeline["store"]["bars"], tmp_path / "bars.csv")
        assert bars["ts"].dtype == "str" and bars["trade_date"].dtype == "str"  # text, as pandas reads a CSV
    cutoff = pipeline["params"].features.cutoff_time
    out = almanac.build_sessions(bars, cutoff, pipeline["rolls"])
    assert _bytes(out, tmp_path / "s.parquet") == pipeline["paths"]["sessions"].read_bytes()


@pytest.mark.parametrize("way", ["pandas", "csv", "load_bars"])
def test_build_features_reads_like_the_stage(pipeline, way, tmp_path):
    bars, sessions, daily = (pipeline["pandas"][k] for k in ("bars", "sessions", "daily"))
    if way == "csv":
        bars, sessions, daily = (
            _csv(pipeline["store"][k], tmp_path / f"{k}.csv") for k in ("bars", "sessions", "daily")
        )
        assert sessions["partial"].isna().all()  # '' read back as missing: the contract's "complete"
    if way == "load_bars":
        data = almanac.load_bars(pipeline["params"].data, synthetic=pipeline["params"].synthetic)
        bars, daily = data.bars, data.daily
        sessions = almanac.build_sessions(bars, pipeline["params"].features.cutoff_time, data.manifest["rolls"])
    features, lineage = almanac.build_features(bars, sessions, daily, settings=pipeline["params"].features)
    expected = pipeline["paths"]["features"].read_bytes()
    assert _bytes(features.reset_index(), tmp_path / "f.parquet") == expected
    assert lineage == read_json(pipeline["root"] / "data" / "features_lineage.json")


@pytest.mark.parametrize("way", ["pandas", "csv"])
def test_build_labels_reads_like_the_stage(pipeline, way, tmp_path):
    sessions, bars = pipeline["pandas"]["sessions"], pipeline["pandas"]["bars"]
    if way == "csv":
        sessions, bars = (_csv(pipeline["store"][k], tmp_path / f"{k}.csv") for k in ("sessions", "bars"))
    params = pipeline["params"]
    labels = almanac.build_labels(sessions, bars, settings=params.labels, atr_days=params.features.atr_days)
    assert _bytes(labels.reset_index(), tmp_path / "l.parquet") == pipeline["paths"]["labels"].read_bytes()


def test_train_reads_like_the_stage(pipeline, tmp_path):
    params, frames = pipeline["params"], pipeline["pandas"]
    out = almanac.train(frames["features"], frames["labels"], frames["sessions"], target=params.labels.target,
                        settings=params.train, cv=params.cv)  # fmt: skip
    assert _bytes(out.oof, tmp_path / "oof.parquet") == pipeline["paths"]["oof"].read_bytes()
    write_json(out.metrics, tmp_path / "train.json")  # 12 significant digits, as the stage writes them
    assert (tmp_path / "train.json").read_bytes() == (pipeline["root"] / "metrics" / "train.json").read_bytes()


def _same_metrics(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        both_nan = isinstance(a[key], float) and math.isnan(a[key]) and math.isnan(b[key])
        assert both_nan or a[key] == b[key], key


def test_evaluate_reads_like_the_stage(pipeline):
    classes = sorted(pipeline["store"]["labels"][pipeline["params"].labels.target].dropna().unique())
    settings = pipeline["params"].evaluate
    m_store, p_store = almanac.evaluate(pipeline["store"]["oof"], classes=classes, settings=settings)
    m_pandas, p_pandas = almanac.evaluate(pipeline["pandas"]["oof"], classes=classes, settings=settings)
    _same_metrics(m_store, m_pandas)
    assert p_store.keys() == p_pandas.keys()
    for name in p_store:
        pd.testing.assert_frame_equal(p_store[name], p_pandas[name], check_exact=True)


@pytest.mark.parametrize("sizing", ["fixed", "probability"])
def test_backtest_reads_like_the_stage(pipeline, sizing):
    settings = pipeline["params"].backtest.model_copy(update={"sizing": sizing})
    store = pipeline["store"]
    m_store, e_store = almanac.backtest(store["oof"], store["sessions"].set_index("trade_date"), settings=settings)
    m_pandas, e_pandas = almanac.backtest(pipeline["pandas"]["oof"], pipeline["pandas"]["sessions"], settings=settings)
    _same_metrics(m_store, m_pandas)
    pd.testing.assert_frame_equal(e_store, e_pandas, check_exact=True)


def test_predict_reads_like_the_stage(pipeline):
    files = pipeline["files"]
    store = almanac.predict(pipeline["store"]["features"].set_index("trade_date"), model_path=files.model)
    pandas = almanac.predict(pipeline["pandas"]["features"], model_path=files.model)
    pd.testing.assert_frame_equal(store, pandas, check_exact=True)
    assert store.index.dtype == "datetime64[s]"


# --- bad inputs fail at the door, in one line --------------------------------------------------------------------


def _fails(call, message: str) -> None:
    with pytest.raises(InputError) as caught:
        call()
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(ts=frame["ts"].dt.tz_localize(None))


def _swap(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows 0 and 1 swapped."""
    return frame.iloc[[1, 0, *range(2, len(frame))]]


def _instants(frame: pd.DataFrame) -> pd.DataFrame:
    """Trade dates at 14:30 (instants) instead of midnight."""
    return frame.assign(trade_date=pd.DatetimeIndex(frame["trade_date"]) + pd.Timedelta(hours=14, minutes=30))


BARS_COLUMNS = "ts, open, high, low, close, volume, contract, trade_date"
NAIVE_TS = (
    "column ts: expected timezone-aware timestamps (UTC), got naive datetime64[ns] (if they are UTC: "
    ".dt.tz_localize('UTC'))"
)


def _unsorted_ts(fn: str, bars: pd.DataFrame) -> str:
    first, second = bars["ts"].iloc[0], bars["ts"].iloc[1]
    return (
        f"{fn}: bars, column ts: expected rows in ascending ts order without repeats; row 1 ({first}) is earlier "
        f"than row 0 ({second}) (sort them: bars.sort_values('ts'))"
    )


def _unsorted_dates(fn: str, arg: str, frame: pd.DataFrame, fix: str) -> str:
    first, second = (pd.Timestamp(frame["trade_date"].iloc[i]) for i in (0, 1))
    return (
        f"{fn}: {arg}, column trade_date: expected rows in ascending trade_date order without repeats; row 1 "
        f"({first}) is earlier than row 0 ({second}) (one row per date: {fix})"
    )


def _instant_message(fn: str, arg: str, frame: pd.DataFrame) -> str:
    first = pd.Timestamp(frame["trade_date"].iloc[0]) + pd.Timedelta(hours=14, minutes=30)
    return f"{fn}: {arg}, column trade_date: expected dates at midnight (a trade date, not an instant), got {first}"


def test_build_sessions_refuses_bad_bars(pipeline):
    bars = pipeline["store"]["bars"].head(3000)
    call = lambda b: lambda: almanac.build_sessions(b)  # noqa: E731
    _fails(call(bars.drop(columns="volume")),
           f"build_sessions: bars: missing column 'volume'; expected columns {BARS_COLUMNS}")  # fmt: skip
    _fails(call(bars.assign(volume=bars["volume"].astype(str))),
           "build_sessions: bars, column volume: expected int64 integers, got str")  # fmt: skip
    _fails(call(_naive(bars)), f"build_sessions: bars, {NAIVE_TS}")
    _fails(call(_swap(bars)), _unsorted_ts("build_sessions", bars))
    _fails(lambda: almanac.build_sessions(bars, "10h15"),
           "build_sessions: cutoff: '10h15' is not a time HH:MM (ET, 24-hour), e.g. '10:15'")  # fmt: skip


def test_build_features_refuses_bad_inputs(pipeline):
    store = pipeline["store"]
    bars, sessions, daily = store["bars"], store["sessions"], store["daily"]
    call = lambda b=bars, s=sessions, d=daily: lambda: almanac.build_features(b, s, d)  # noqa: E731
    _fails(call(b=bars.drop(columns="contract")),
           f"build_features: bars: missing column 'contract'; expected columns {BARS_COLUMNS}")  # fmt: skip
    _fails(call(s=sessions.drop(columns="prev_close")),
           "build_features: sessions: missing column 'prev_close'; expected columns trade_date, open, high, low, "
           "close, eth_high, eth_low, prev_close")  # fmt: skip
    _fails(call(b=bars.assign(close=bars["close"].astype(str))),
           "build_features: bars, column close: expected float64 numbers, got str")  # fmt: skip
    _fails(call(b=_naive(bars)), f"build_features: bars, {NAIVE_TS}")
    _fails(call(d=daily.assign(available_at=daily["available_at"].dt.tz_localize(None))),
           NAIVE_TS.replace("column ts", "build_features: daily, column available_at"))  # fmt: skip
    _fails(call(b=_swap(bars)), _unsorted_ts("build_features", bars))
    _fails(call(s=_swap(sessions)),
           _unsorted_dates("build_features", "sessions", sessions, "sessions.sort_values('trade_date')"))  # fmt: skip
    _fails(lambda: almanac.build_features(bars, sessions, daily, settings={"cutoff": "10:00"}),
           "build_features: settings: expected almanac.FeaturesParams, got dict (almanac.FeaturesParams(**settings) "
           "builds one from a mapping)")  # fmt: skip


def test_build_features_accepts_daily_in_any_order(pipeline, tmp_path):
    store = pipeline["store"]
    daily = store["daily"].sample(frac=1.0, random_state=0)
    features, _ = almanac.build_features(store["bars"], store["sessions"], daily, settings=pipeline["params"].features)
    assert _bytes(features.reset_index(), tmp_path / "f.parquet") == pipeline["paths"]["features"].read_bytes()


def test_build_labels_refuses_bad_inputs(pipeline):
    sessions, bars = pipeline["store"]["sessions"], pipeline["store"]["bars"]
    call = lambda s=sessions, b=bars: lambda: almanac.build_labels(s, b)  # noqa: E731
    _fails(call(s=sessions.drop(columns="cutoff_price")),
           "build_labels: sessions: missing column 'cutoff_price'; expected columns trade_date, open, high, low, "
           "close, cutoff_price, prev_close")  # fmt: skip
    _fails(call(s=sessions.assign(close=sessions["close"].astype(str))),
           "build_labels: sessions, column close: expected float64 numbers, got str")  # fmt: skip
    _fails(call(b=_naive(bars)), f"build_labels: bars, {NAIVE_TS}")
    _fails(call(s=_swap(sessions)),
           _unsorted_dates("build_labels", "sessions", sessions, "sessions.sort_values('trade_date')"))  # fmt: skip
    _fails(call(b=_swap(bars)), _unsorted_ts("build_labels", bars))


def test_train_refuses_bad_inputs(pipeline):
    store = pipeline["store"]
    features, labels, sessions = store["features"], store["labels"], store["sessions"]
    call = lambda f=features, la=labels, s=sessions: lambda: almanac.train(f, la, s)  # noqa: E731
    _fails(call(la=labels.drop(columns="rest_of_day")),
           "train: labels: missing column 'rest_of_day'; expected columns trade_date, rest_of_day")  # fmt: skip
    _fails(call(f=features.drop(columns="trade_date")),
           "train: features: missing column 'trade_date'; expected columns trade_date, "
           + ", ".join(c for c in features.columns if c != "trade_date"))  # fmt: skip
    _fails(call(f=features.assign(gap_pct=features["gap_pct"].astype(str))),
           "train: features, column gap_pct: expected float64 numbers, got str")  # fmt: skip
    _fails(call(f=_instants(features)), _instant_message("train", "features", features))
    _fails(call(la=_swap(labels)), _unsorted_dates("train", "labels", labels, "labels.sort_values('trade_date')"))
    _fails(lambda: almanac.train(features, labels, sessions, target="up"),
           "train: target: expected one of rest_of_day, direction, archetype, got 'up'")  # fmt: skip


def test_evaluate_refuses_bad_oof(pipeline):
    oof = pipeline["store"]["oof"]
    call = lambda o: lambda: almanac.evaluate(o, classes=[0.0, 1.0])  # noqa: E731
    _fails(call(oof.drop(columns="y_true")),
           "evaluate: oof: missing column 'y_true'; expected columns trade_date, fold, y_true, probability, "
           "baseline_base_rate, baseline_open_to_cutoff_sign, baseline_previous_day")  # fmt: skip
    _fails(call(oof.assign(probability=oof["probability"].astype(str))),
           "evaluate: oof, column probability: expected float64 numbers, got str")  # fmt: skip
    _fails(call(_instants(oof)), _instant_message("evaluate", "oof", oof))
    _fails(call(_swap(oof)), _unsorted_dates("evaluate", "oof", oof, "oof.sort_values('trade_date')"))


def test_backtest_refuses_bad_inputs(pipeline):
    oof, sessions = pipeline["store"]["oof"], pipeline["store"]["sessions"]
    call = lambda o=oof, s=sessions: lambda: almanac.backtest(o, s)  # noqa: E731
    _fails(call(o=oof.drop(columns="probability")),
           "backtest: oof: missing column 'probability'; expected columns trade_date, probability")  # fmt: skip
    _fails(call(s=sessions.assign(cutoff_price=sessions["cutoff_price"].astype(str))),
           "backtest: sessions, column cutoff_price: expected float64 numbers, got str")  # fmt: skip
    _fails(call(o=_instants(oof)), _instant_message("backtest", "oof", oof))
    _fails(call(o=oof.assign(trade_date=pd.DatetimeIndex(oof["trade_date"]).tz_localize("UTC"))),
           "backtest: oof, column trade_date: expected dates (datetime64, datetime.date or ISO text) without a "
           "timezone, got datetime64[s, UTC]")  # fmt: skip
    _fails(call(o=_swap(oof)), _unsorted_dates("backtest", "oof", oof, "oof.sort_values('trade_date')"))


def test_predict_refuses_bad_features(pipeline):
    features, model = pipeline["store"]["features"], pipeline["files"].model
    call = lambda f: lambda: almanac.predict(f, model_path=model)  # noqa: E731
    _fails(call(features.drop(columns="gap_pct")),
           "predict: features: missing column 'gap_pct'; expected columns trade_date, "
           + ", ".join(c for c in features.columns if c != "trade_date"))  # fmt: skip
    _fails(call(features.assign(gap_pct=features["gap_pct"].astype(str))),
           "predict: features, column gap_pct: expected float64 numbers, got str")  # fmt: skip
    _fails(call(_instants(features)), _instant_message("predict", "features", features))
    _fails(
        call(_swap(features)), _unsorted_dates("predict", "features", features, "features.sort_values('trade_date')")
    )


def test_load_bars_refuses_what_is_not_its_params():
    _fails(lambda: almanac.load_bars({"start": "2024-01-02"}),
           "load_bars: data: expected almanac.DataParams, got dict (almanac.DataParams(**data) builds one from a "
           "mapping)")  # fmt: skip
    _fails(lambda: almanac.load_bars(synthetic=almanac.DataParams()),
           "load_bars: synthetic: expected almanac.SyntheticParams, got DataParams")  # fmt: skip
