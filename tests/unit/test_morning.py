"""The trader's morning: ``almanac predict`` / :func:`predict_day` on a small trained pipeline, and the registry's
versions.

The reference for every prediction is the pipeline itself: the final model's probability for the row of
``data/features.parquet`` that the ``features`` stage wrote for that day.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from almanac.config import load_params
from almanac.data_sources.store import read_table, write_table
from almanac.errors import ModelIntegrityError, NotEnoughDataError
from almanac.ml.decision import positions
from almanac.ml.evaluators import ModelEvaluator
from almanac.ml.predictors import ModelPredictor, PipelineFiles, predict_day
from helpers import firstrate_lines, small_pipeline, write_lines


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("morning")
    params, files = small_pipeline(root)
    return root, params, files


def pipeline_probability(files: PipelineFiles, day: pd.Timestamp) -> float:
    predictor = ModelPredictor(files.model, registry_path=files.registry)
    features = read_table(files.features).set_index("trade_date")
    return float(predictor.predict_proba(features.loc[[day], predictor.feature_names])[0, 1])


def oof_row(files: PipelineFiles, day: pd.Timestamp) -> pd.Series:
    oof = read_table(files.oof)
    return oof.loc[oof["trade_date"] == day].iloc[0]


def test_a_past_day_gets_the_out_of_fold_probability_the_backtest_traded(pipeline):
    root, params, files = pipeline
    settings = load_params(params)
    day = read_table(files.features)["trade_date"].iloc[-1]
    out = predict_day(params=settings, files=files)
    row = oof_row(files, day)
    assert out.trade_date == str(day.date()) and out.source == "out_of_fold" and out.fold == int(row["fold"])
    assert out.probabilities["up"] == row["probability"]  # exactly the fold model's, not the final model's
    p = out.probabilities["up"]
    side = int(positions(np.array([p]), np.array([1 - p]), settings.backtest.threshold)[0])
    assert out.decision == {1: "long", -1: "short", 0: "abstain"}[side]
    sessions = read_table(files.sessions).set_index("trade_date")
    close, cutoff = sessions.loc[day, "close"], sessions.loc[day, "cutoff_price"]
    assert out.outcome["close"] == close and out.outcome["move_pts"] == close - cutoff
    assert out.outcome["move_usd"] == (close - cutoff) * 50.0 and out.outcome["label"] == row["y_true"]
    right = None if side == 0 else (side == 1) == (row["y_true"] == 1.0)
    assert out.outcome["decision_right"] == right
    text = out.to_text()
    assert f"fold {out.fold}" in text and "what the backtest traded" in text and "outcome: close" in text
    shap_table = read_table(files.oof_shap).set_index("trade_date")
    for contribution in out.contributions:  # the fold model's SHAP values of that day
        assert contribution["shap"] == shap_table.loc[day, contribution["feature"]]
    in_sample = predict_day(params=settings, files=files, in_sample=True)
    assert in_sample.source == "in_sample" and "IN SAMPLE" in in_sample.to_text()
    assert in_sample.probabilities["up"] == pipeline_probability(files, day)  # exactly, not approximately
    registry = json.loads(files.registry.read_text())
    assert out.model == registry["current"]
    assert out.model_sha256 == registry["versions"][out.model]["model_sha256"]
    sessions = read_table(files.sessions).set_index("trade_date")
    assert out.cutoff_price == sessions.loc[day, "cutoff_price"] and out.cutoff_et == "10:15"


def test_earlier_dates_match_the_pipeline_too(pipeline):
    _, params, files = pipeline
    dates = read_table(files.features)["trade_date"]
    for day in dates.iloc[[-60, -25, -2]]:  # three dates: mid-history, a month back, the day before the last
        out = predict_day(day.date(), params=load_params(params), files=files)
        assert out.probabilities["up"] == oof_row(files, day)["probability"], day
        fitted = predict_day(day.date(), params=load_params(params), files=files, in_sample=True)
        assert fitted.probabilities["up"] == pipeline_probability(files, day), day


def test_a_day_of_the_first_training_window_has_no_out_of_sample_answer(pipeline):
    _, params, files = pipeline
    first_oof = read_table(files.oof)["trade_date"].min()
    sessions = read_table(files.sessions)
    day = sessions.loc[sessions["trade_date"] < first_oof, "trade_date"].iloc[-1]
    with pytest.raises(NotEnoughDataError, match=r"first training window .*no out-of-sample probability.*--in-sample"):
        predict_day(day.date(), params=load_params(params), files=files)
    fitted = predict_day(day.date(), params=load_params(params), files=files, in_sample=True)
    assert fitted.source == "in_sample" and fitted.probabilities["up"] == pipeline_probability(files, day)


def test_contributions_are_the_shap_values_of_the_evaluate_stage(pipeline):
    _, params, files = pipeline
    out = predict_day(params=load_params(params), files=files, top=30, in_sample=True)
    predictor = ModelPredictor(files.model, registry_path=files.registry)
    features = read_table(files.features).set_index("trade_date")
    X = features.loc[[pd.Timestamp(out.trade_date)], predictor.feature_names]
    reference = ModelEvaluator().compute_shap_values(predictor.model, X)  # shap.TreeExplainer
    reference = reference[0, :, 1] if reference.ndim == 3 else reference[0]
    got = {c["feature"]: c["shap"] for c in out.contributions}
    assert len(got) == len(predictor.feature_names)
    for name, value in zip(predictor.feature_names, reference, strict=True):
        assert got[name] == pytest.approx(value, abs=1e-9), name
    magnitudes = [abs(c["shap"]) for c in out.contributions]
    assert magnitudes == sorted(magnitudes, reverse=True)


def truncated_store(root, files: PipelineFiles, day: pd.Timestamp) -> PipelineFiles:
    """A copy of the pipeline's outputs whose bars, sessions, labels and predictions stop the evening before
    ``day`` (the store of a pipeline run the evening before)."""
    store = PipelineFiles(data=root / "data", models=root / "models")
    shutil.copytree(files.data, store.data)
    shutil.copytree(files.models, store.models)
    for path in (store.bars, store.sessions, store.labels, store.oof, store.oof_shap):
        table = read_table(path)
        write_table(table.loc[table["trade_date"] < day], path)
    return store


def morning_file(path, files: PipelineFiles, day: pd.Timestamp, until: str):
    """``day``'s bars up to ``until`` ET (bar start), as a FirstRate file: the overnight session and the morning."""
    bars = read_table(files.bars)
    bars = bars.loc[bars["trade_date"] == day]
    local = bars["ts"].dt.tz_convert("America/New_York")
    bars = bars.loc[(local.dt.strftime("%H:%M") <= until) | (local.dt.date < day.date())]
    return write_lines(path, firstrate_lines(bars)), len(bars)


def test_this_mornings_file_gives_the_pipelines_prediction(pipeline, tmp_path):
    _, params, files = pipeline
    day = read_table(files.features)["trade_date"].iloc[-1]
    store = truncated_store(tmp_path, files, day)
    path, rows = morning_file(tmp_path / "today.csv", files, day, until="10:20")
    out = predict_day(params=load_params(params), files=store, extra_bars=[path])
    assert out.trade_date == str(day.date()) and out.new_bars == rows
    assert out.source == "final_model" and out.outcome is None  # today: after every day the model was fitted on
    assert out.probabilities["up"] == pipeline_probability(files, day)


def test_refuses_before_the_cutoff_has_passed(pipeline, tmp_path):
    _, params, files = pipeline
    day = read_table(files.features)["trade_date"].iloc[-1]
    store = truncated_store(tmp_path, files, day)
    path, _ = morning_file(tmp_path / "early.csv", files, day, until="10:05")
    with pytest.raises(NotEnoughDataError, match=r"cutoff 10:15 ET has not passed .*last bar starts at 10:05 ET"):
        predict_day(params=load_params(params), files=store, extra_bars=[path])


def test_refuses_without_the_history_the_features_need(pipeline):
    _, params, files = pipeline
    second = read_table(files.sessions)["trade_date"].iloc[1]
    with pytest.raises(NotEnoughDataError, match=r"history these features need is missing.*atr_pct.*only 1 sessions"):
        predict_day(second.date(), params=load_params(params), files=files, in_sample=True)
    with pytest.raises(NotEnoughDataError, match="2024-07-04 is not a trade date with bars"):
        predict_day("2024-07-04", params=load_params(params), files=files)


def test_refuses_a_model_trained_for_other_params(pipeline, tmp_path):
    _, params, files = pipeline
    other = load_params(params)
    other = other.model_copy(update={"features": other.features.model_copy(update={"cutoff": "10:30"})})
    with pytest.raises(ModelIntegrityError, match=r"cutoff_et '10:15' but params say '10:30'.*dvc repro"):
        predict_day(params=other, files=files)


def test_refuses_a_replaced_model_file(pipeline, tmp_path):
    _, params, files = pipeline
    store = PipelineFiles(data=files.data, models=tmp_path / "models")
    shutil.copytree(files.models, store.models)
    with open(store.model, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="does not match the recorded"):
        predict_day(params=load_params(params), files=store)


def test_a_model_changed_with_its_registry_is_refused_by_dvc_lock(pipeline, tmp_path):
    """Editing the registry together with the model defeats the registry's sha256; dvc.lock (in git) still holds
    the trained model's md5, and predict refuses before unpickling."""
    import hashlib

    from almanac.ml.registry import file_sha256

    _, params, files = pipeline
    root = tmp_path / "repo"
    store = PipelineFiles(data=files.data, models=root / "models")
    shutil.copytree(files.models, store.models)
    trained = hashlib.md5(store.model.read_bytes()).hexdigest()
    (root / "dvc.lock").write_text(
        f"schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: models/model.joblib\n      md5: {trained}\n"
    )
    assert predict_day(params=load_params(params), files=store).model_sha256  # untouched: loads
    with open(store.model, "ab") as handle:
        handle.write(b"\0")
    registry = json.loads(store.registry.read_text())
    registry["versions"][registry["current"]]["model_sha256"] = file_sha256(store.model)  # the registry "agrees"
    store.registry.write_text(json.dumps(registry))
    with pytest.raises(ModelIntegrityError, match=r"is not the .* that .*dvc.lock records for it"):
        predict_day(params=load_params(params), files=store, in_sample=True)
    with pytest.raises(ModelIntegrityError, match=r"is not the .* that .*dvc.lock records for it"):
        predict_day(params=load_params(params), files=store)  # a past day's answer never unpickles, but checks


def test_command_line_json_and_errors(pipeline):
    root, params, files = pipeline
    command = [sys.executable, "-m", "almanac.cli", "--params", str(params), "--data-dir", str(files.data)]
    done = subprocess.run(
        [*command, "predict", "--models-dir", str(files.models), "--json"], capture_output=True, text=True, cwd=root
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed == json.loads(json.dumps(predict_day(params=load_params(params), files=files).to_dict()))
    text = subprocess.run([*command, "predict", "--models-dir", str(files.models)], capture_output=True, text=True)
    assert "P(up) = " in text.stdout and "verified" in text.stdout and "largest SHAP contributions" in text.stdout
    bad = subprocess.run(
        [*command, "predict", "--models-dir", str(files.models), "--date", "2024-07-04"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: 2024-07-04") and "Traceback" not in bad.stderr


def test_registry_keeps_every_version_and_names_the_current_one(tmp_path):
    params, files = small_pipeline(tmp_path)
    first = json.loads(files.registry.read_text())
    (lightgbm,) = first["versions"]
    assert first["current"] == lightgbm
    small_pipeline(tmp_path, overrides={"train.model": "logistic"})
    second = json.loads(files.registry.read_text())
    assert list(second["versions"]) == [lightgbm, second["current"]] and "logistic" in second["current"]
    out = predict_day(params=load_params(params), files=files, in_sample=True)  # the logistic model, shap's
    assert out.model == second["current"] and len(out.contributions) == 5
    assert out.probabilities["up"] == pipeline_probability(files, pd.Timestamp(out.trade_date))
    small_pipeline(tmp_path)  # lightgbm again: the same version, re-registered in place and current again
    third = json.loads(files.registry.read_text())
    assert list(third["versions"]) == list(second["versions"]) and third["current"] == lightgbm
    assert third["versions"][lightgbm] == first["versions"][lightgbm]
    record = third["versions"][lightgbm]
    for key in ("version", "params", "data_range", "cv_score", "model_sha256", "cutoff_et", "symbol", "target"):
        assert key in record, key


def test_the_docs_example_runs(pipeline, monkeypatch, capsys):
    root, _, files = pipeline
    readme = (Path(__file__).resolve().parents[2] / "docs" / "morning.md").read_text()
    block = readme.split("The same from Python (`almanac.ml.predictors`):", 1)[1].split("```python\n", 1)[1]
    monkeypatch.chdir(root)  # the example runs from the repository root: params.yaml, data/, models/
    exec(compile(block.split("```", 1)[0], "docs/morning.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "P(up) = " in printed and json.loads(files.registry.read_text())["current"].split("_")[-1] in printed


def test_a_reader_that_stops_early_is_not_an_error(pipeline):
    root, params, files = pipeline
    command = [sys.executable, "-m", "almanac.cli", "--params", str(params), "--data-dir", str(files.data),
               "predict", "--models-dir", str(files.models)]  # fmt: skip
    for unbuffered in ("1", ""):  # stdout written at once, or flushed at the end
        env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root, env=env)
        process.stdout.close()  # like `almanac predict | head -0`: the reader is gone before anything is printed
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 0 and b"Traceback" not in errors and b"BrokenPipe" not in errors, errors


def test_an_archetype_model_decides_on_each_sides_summed_probability(tmp_path):
    params, files = small_pipeline(tmp_path, overrides={"labels.target": "archetype"})
    settings = load_params(params)
    day = read_table(files.features)["trade_date"].iloc[-1]
    fitted = predict_day(params=settings, files=files, in_sample=True)
    predictor = ModelPredictor(files.model, registry_path=files.registry)
    features = read_table(files.features).set_index("trade_date")
    expected = predictor.predict_proba(features.loc[[day], predictor.feature_names])[0]
    assert list(fitted.probabilities.values()) == expected.tolist()  # exactly the pipeline's final model
    out = predict_day(params=settings, files=files)  # the out-of-fold answer, per class
    row = oof_row(files, day)
    assert out.probabilities == {c: row[f"probability_{c}"] for c in out.probabilities}
    p = out.probabilities
    long_ = p.get("TrendUp", 0.0) + p.get("ReversalUp", 0.0)
    short = p.get("TrendDown", 0.0) + p.get("ReversalDown", 0.0)
    side = int(positions(np.array([long_]), np.array([short]), settings.backtest.threshold)[0])
    assert out.decision == {1: "long", -1: "short", 0: "abstain"}[side]
    assert f"sides: long {long_:.4f} (" in out.to_text() and f"short {short:.4f} (" in out.to_text()
    # The track record matches on the sides the decision acts on, from the out-of-fold days before this one.
    oof = read_table(files.oof)
    past = oof.loc[oof["trade_date"] < day]
    summed = {s: past[[f"probability_{c}" for c in names]].sum(axis=1) for s, names in
              (("long", ["ReversalUp", "TrendUp"]), ("short", ["ReversalDown", "TrendDown"]))}  # fmt: skip
    assert out.similar["matched_on"] == "P(long) - P(short)" and out.similar["days"] == min(100, len(past))
    assert out.similar["value"] == pytest.approx(long_ - short, abs=1e-12)
    conf = max(long_, short)
    mask = (np.maximum(summed["long"], summed["short"]) >= conf - 1e-12) & (summed["long"] != summed["short"])
    assert out.confidence["days"] == int((mask & past["y_true"].notna()).sum())
    assert "with P(long) - P(short) nearest" in out.to_text() and out.previous["trade_date"] < out.trade_date


def recomputed_track_record(files: PipelineFiles, day: pd.Timestamp, p_up: float, threshold: float) -> dict:
    """``similar``, ``confidence`` and ``previous`` from the pipeline's files, read with pandas alone, the obvious
    way: the out-of-fold days before ``day`` joined to their sessions."""
    oof = pd.read_parquet(files.oof)
    sessions = pd.read_parquet(files.sessions)
    for frame in (oof, sessions):
        frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    past = oof.loc[oof["trade_date"] < day].merge(sessions, on="trade_date", how="left")
    past["move"] = past["close"] - past["cutoff_price"]
    known = past.loc[past["move"].notna()].copy()
    known["distance"] = (known["probability"] - p_up).abs()
    nearest = known.sort_values(["distance", "trade_date"], ascending=[True, False]).head(100)
    confidence = max(p_up, 1 - p_up)
    side = np.where(past["probability"] > 0.5, 1.0, np.where(past["probability"] < 0.5, -1.0, 0.0))
    counted = (np.maximum(past["probability"], 1 - past["probability"]) >= confidence) & (side != 0)
    counted &= past["y_true"].notna()
    right = (np.where(past["y_true"] == 1.0, 1.0, -1.0) == side)[counted]
    with_bars = sessions.loc[(sessions["trade_date"] < day) & (sessions["rth_bars"] > 0)]
    previous = with_bars.iloc[-1]
    row = oof.loc[oof["trade_date"] == previous["trade_date"]].iloc[0]
    decision = int(positions(np.array([row["probability"]]), np.array([1 - row["probability"]]), threshold)[0])
    move = previous["close"] - previous["cutoff_price"]
    return {
        "similar": {"days": len(nearest), "median_pts": float(nearest["move"].median()),
                    "p10_pts": float(nearest["move"].quantile(0.1)), "p90_pts": float(nearest["move"].quantile(0.9)),
                    "median_usd": float(nearest["move"].median()) * 50.0,
                    "up_share": float((nearest["move"] > 0).mean()), "last": str(nearest["trade_date"].max().date())},
        "confidence": {"days": int(counted.sum()), "right": int(right.sum()), "hit_rate": float(right.mean())},
        "previous": {"trade_date": str(previous["trade_date"].date()), "probabilities": {"up": row["probability"]},
                     "decision": {1: "long", -1: "short", 0: "abstain"}[decision],
                     "move_pts": move, "move_usd": move * 50.0,
                     "decision_right": None if decision == 0 else decision == (1 if row["y_true"] == 1.0 else -1)},
    }  # fmt: skip


def assert_track_record(out, expected: dict) -> None:
    similar, confidence, previous = out.similar, out.confidence, out.previous
    for key, value in expected["similar"].items():
        assert similar[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value), key
    assert {k: confidence[k] for k in expected["confidence"]} == expected["confidence"]
    e = expected["previous"]
    assert previous["trade_date"] == e["trade_date"] and previous["probabilities"] == e["probabilities"]
    assert previous["decision"] == e["decision"] and previous["outcome"]["move_pts"] == e["move_pts"]
    assert previous["outcome"]["move_usd"] == e["move_usd"]
    assert previous["outcome"]["decision_right"] == e["decision_right"]


def test_the_track_record_of_a_past_day_is_recomputed_from_the_pipelines_files(pipeline):
    _, params, files = pipeline
    settings = load_params(params)
    for day in read_table(files.features)["trade_date"].iloc[[-1, -30]]:
        out = predict_day(day.date(), params=settings, files=files)
        expected = recomputed_track_record(files, day, out.probabilities["up"], settings.backtest.threshold)
        assert_track_record(out, expected)
        assert out.similar["last"] < out.trade_date and out.previous["trade_date"] < out.trade_date
        text = out.to_text()
        assert f"similar days: the {out.similar['days']} out-of-fold days before {out.trade_date}" in text
        assert f"previous trade date {out.previous['trade_date']}: P(up) = " in text
        printed = json.loads(json.dumps(out.to_dict()))
        assert printed["similar"] == out.similar and printed["previous"]["decision"] == out.previous["decision"]
    in_sample = predict_day(day.date(), params=settings, files=files, in_sample=True)  # the same history
    assert in_sample.previous == out.previous and in_sample.similar["days"] == out.similar["days"]


def test_this_morning_reads_only_the_days_before_it(pipeline, tmp_path):
    """Today (the final model, this morning's file) on a store that stops the evening before: the same history as
    the full store's past-day answer for that date, which has every later day in its files."""
    _, params, files = pipeline
    settings = load_params(params)
    day = read_table(files.features)["trade_date"].iloc[-1]
    store = truncated_store(tmp_path, files, day)
    path, _ = morning_file(tmp_path / "today.csv", files, day, until="10:20")
    today = predict_day(params=settings, files=store, extra_bars=[path])
    assert today.source == "final_model" and today.outcome is None
    expected = recomputed_track_record(files, day, today.probabilities["up"], settings.backtest.threshold)
    assert_track_record(today, expected)  # from the full files: nothing on or after the day changes it
    assert today.previous == predict_day(day.date(), params=settings, files=files).previous


def test_a_past_days_answer_does_not_import_the_models_library(pipeline):
    """The default answer (the last, labelled day) is its fold model's probability from oof.parquet, bit for bit,
    after the model file's checks, without unpickling it: scikit-learn and LightGBM are not imported."""
    root, params, files = pipeline
    script = (
        "import json, sys; from almanac.cli import main; "
        f"main(['--params', {str(params)!r}, '--data-dir', {str(files.data)!r}, 'predict', '--models-dir', "
        f"{str(files.models)!r}, '--json']); "
        "print(json.dumps(sorted(m for m in ('sklearn', 'lightgbm', 'xgboost', 'joblib', 'scipy', 'shap') "
        "if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    *answer, imported = done.stdout.strip().splitlines()
    assert json.loads(imported) == []
    answer = json.loads("\n".join(answer))
    row = oof_row(files, pd.Timestamp(answer["trade_date"]))
    assert answer["probabilities"]["up"].hex() == float(row["probability"]).hex()  # the same bits
    in_sample = predict_day(pd.Timestamp(answer["trade_date"]).date(), params=load_params(params), files=files,
                            in_sample=True)  # fmt: skip
    assert in_sample.probabilities["up"].hex() == pipeline_probability(files, pd.Timestamp(answer["trade_date"])).hex()


def test_this_mornings_file_goes_in_the_morning_folder(pipeline, tmp_path):
    """``--bars`` refuses a file under a dependency of dvc.yaml (data/raw: the bars stage's) and reads one from
    morning/."""
    _, params, files = pipeline
    day = read_table(files.features)["trade_date"].iloc[-1]
    truncated_store(tmp_path, files, day)  # data/ and models/ of the evening before, under tmp_path
    shutil.copy(params, tmp_path / "params.yaml")
    shutil.copy(Path(__file__).resolve().parents[2] / "dvc.yaml", tmp_path / "dvc.yaml")
    (tmp_path / "morning").mkdir()
    path, rows = morning_file(tmp_path / "morning" / "today.csv", files, day, until="10:20")
    (tmp_path / "data" / "raw").mkdir(parents=True, exist_ok=True)
    shutil.copy(path, tmp_path / "data" / "raw" / "today.csv")
    command = [sys.executable, "-m", "almanac.cli", "predict", "--json", "--bars"]
    refused = subprocess.run([*command, "data/raw/today.csv"], capture_output=True, text=True, cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--bars data/raw/today.csv: this file lies in data/raw, a dependency of the 'bars' stage" in refused.stderr
    assert "put this morning's files in morning/" in refused.stderr
    done = subprocess.run([*command, "morning/today.csv"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["new_bars"] == rows and answer["source"] == "final_model" and answer["trade_date"] == str(day.date())
    assert answer["probabilities"]["up"] == pipeline_probability(files, day)
    missing = subprocess.run([*command, "morning/nothing.csv"], capture_output=True, text=True, cwd=tmp_path)
    assert missing.returncode == 2 and "--bars: no such file: morning/nothing.csv" in missing.stderr


def test_predict_sizes_a_day_as_the_backtest_did(pipeline):
    """``backtest.sizing: probability``: the contracts ``almanac predict`` states for a past day are the backtest's
    own for that day (one rule, :func:`almanac.ml.decision.contracts`, with the ATR known at the cutoff)."""
    from almanac.ml.backtester import backtest
    from almanac.ml.pnl import CostModel

    root, params, files = pipeline
    base = load_params(params)
    settings = base.model_copy(
        update={"backtest": base.backtest.model_copy(update={"sizing": "probability", "max_contracts": 10,
                                                             "risk_usd": 6_000.0})}
    )  # fmt: skip
    sessions = read_table(files.sessions)
    costs = CostModel.from_params(settings.backtest, symbol=settings.data.symbol)
    _, equity = backtest(read_table(files.oof), sessions, settings=settings.backtest, costs=costs,
                         atr_days=settings.features.atr_days)  # fmt: skip
    equity = equity.set_index("trade_date") if "trade_date" in equity else equity
    traded = equity.loc[equity["position"] != 0]
    assert traded["position"].abs().nunique() > 1  # the sizes vary: the comparison means something
    for day in [*traded.index[-6:], equity.index[equity["position"] == 0][-1]]:
        out = predict_day(pd.Timestamp(day).date(), params=settings, files=files)
        assert out.sizing == "probability"
        assert out.contracts == abs(int(equity.loc[day, "position"])), day
        assert ("contract" in out.to_text().splitlines()[1]) == (out.contracts > 0)
