"""Safety: a replaced model file is never unpickled, and a typo anywhere in params.yaml stops every stage.

The hostile model is a real pickle whose loading would create a marker file; the tests assert the marker never
appears, through the library (``ModelPredictor``) and through the ``evaluate`` stage as ``dvc repro`` runs it.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from almanac.errors import ModelIntegrityError
from almanac.ml.models import BaseRateClassifier
from almanac.ml.predictors import ModelPredictor
from almanac.ml.registry import file_sha256, model_signature, read_signature

REPO = Path(__file__).resolve().parents[2]


class _Hostile:
    """Unpickling this object calls ``Path.touch(marker)``: proof that the file was loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def swapped_model(tmp_path):
    """A trained model recorded in a registry, then replaced by a hostile pickle of the same name."""
    model = tmp_path / "model.joblib"
    joblib.dump({"model": BaseRateClassifier(), "classes": [0, 1], "feature_names": ["x"], "scaler": None}, model)
    registry = tmp_path / "model_registry.json"
    registry.write_text(json.dumps({"es_rest_of_day_x": {"model_sha256": file_sha256(model)}}))
    marker = tmp_path / "PWNED"
    model.write_bytes(pickle.dumps(_Hostile(marker)))
    return model, registry, marker


def test_the_hostile_pickle_really_runs_code_when_loaded(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.joblib"
    path.write_bytes(pickle.dumps(_Hostile(marker)))
    joblib.load(path)  # the unsafe thing the pipeline must never do with an unchecked file
    assert marker.exists()


def test_model_predictor_refuses_a_replaced_model_without_loading_it(swapped_model):
    model, registry, marker = swapped_model
    with pytest.raises(ModelIntegrityError) as info:
        ModelPredictor(model, registry_path=registry)
    assert str(info.value).startswith(f"{model}: sha256 ")
    assert "does not match the recorded" in str(info.value)
    assert not marker.exists()


def test_model_predictor_refuses_a_model_nobody_recorded(tmp_path):
    marker = tmp_path / "PWNED"
    model = tmp_path / "model.joblib"
    model.write_bytes(pickle.dumps(_Hostile(marker)))
    with pytest.raises(ModelIntegrityError, match="no sha256 is recorded for this model"):
        ModelPredictor(model)
    assert not marker.exists()


def test_evaluate_stage_refuses_a_replaced_model_without_loading_it(swapped_model, tmp_path):
    model, registry, marker = swapped_model
    missing = str(tmp_path / "not-read.parquet")
    done = subprocess.run(
        [
            sys.executable, "stages/evaluate.py", "--oof", missing, "--oof_shap", missing, "--model", str(model), "--registry", str(registry),
            "--signature", missing,
            "--features", missing, "--sessions", missing, "--truth", missing, "--metrics", str(tmp_path / "m.json"),
            *[arg for name in ("roc", "calibration", "confusion", "rolling_auc", "shap_importance", "breakdown")
              for arg in (f"--{name}", str(tmp_path / f"{name}.csv"))],
        ],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: {model}: sha256 "), done.stderr
    assert "Traceback" not in done.stderr
    assert not marker.exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"train": {"modle": "xgboost"}}, "train.modle: unknown key (did you mean 'model'?)"),
        ({"trian": {"model": "xgboost"}}, "trian: unknown section (did you mean 'train'?)"),
        ({"backtest": {"treshold": 0.7}}, "backtest.treshold: unknown key (did you mean 'threshold'?)"),
    ],
    ids=["key", "section", "other-stage"],
)
def test_a_typo_anywhere_stops_a_stage_that_does_not_read_that_section(tmp_path, edit, expected):
    import yaml

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for section, values in edit.items():
        params.setdefault(section, {}).update(values)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    # The labels stage reads labels.* only; it still validates the whole file first, as `dvc repro` runs it.
    done = subprocess.run(
        [sys.executable, "stages/labels.py", "--params", str(path), "--sessions", str(tmp_path / "s.parquet"), "--bars", str(tmp_path / "b.parquet"),
         "--out", str(tmp_path / "l.parquet")],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {path}: {expected}"), done.stderr


# --- vendor files only from data/raw ------------------------------------------------------------------------------


@pytest.fixture
def raw(tmp_path):
    """A data/raw folder with one valid file, and the same file outside it."""
    from helpers import firstrate_lines, synthetic_bars, write_lines

    lines = firstrate_lines(synthetic_bars("2024-04-01", "2024-04-03"))
    root = tmp_path / "data" / "raw"
    root.mkdir(parents=True)
    inside = write_lines(root / "ES.txt", lines)
    outside = write_lines(tmp_path / "elsewhere.txt", lines)
    return root, inside, outside


def _load(root: Path, paths: str, **kwargs):
    from almanac.data_sources.dataset import load_bars
    from helpers import files_params

    return load_bars(files_params(paths=paths, **kwargs), raw_root=root)


def test_files_inside_data_raw_are_read(raw):
    root, inside, _ = raw
    assert len(_load(root, str(inside)).bars) > 0


def test_a_file_outside_data_raw_is_refused(raw):
    from almanac.errors import BarsError

    root, _, outside = raw
    with pytest.raises(BarsError) as info:
        _load(root, str(outside))
    assert str(info.value) == (
        f"data.paths: {outside} is outside {root}/; the pipeline reads vendor files only from there, where DVC "
        f"tracks them: copy it under {root}/ and run `dvc add {root}/elsewhere.txt`"
    )


@pytest.mark.parametrize("how", ["symlink", "dotdot"])
def test_a_path_that_resolves_outside_data_raw_is_refused(raw, how):
    from almanac.errors import BarsError

    root, _, outside = raw
    if how == "symlink":
        path = root / "link.txt"
        path.symlink_to(outside)
    else:
        path = root / ".." / ".." / "elsewhere.txt"
    with pytest.raises(BarsError) as info:
        _load(root, str(path))
    assert str(info.value).startswith(f"data.paths: {path} (resolves to {outside.resolve()}) is outside {root}/")


def test_a_daily_series_outside_data_raw_is_refused(raw, tmp_path):
    from almanac.errors import BarsError

    root, inside, _ = raw
    vix = tmp_path / "vix.csv"
    vix.write_text("date,close\n2024-03-28,13.0\n2024-04-01,13.5\n")
    with pytest.raises(BarsError, match=r"^data\.daily_paths: .*vix\.csv is outside"):
        _load(root, str(inside), daily_paths=f"VIX={vix}")


def test_the_bars_stage_confines_files_to_data_raw(tmp_path):
    import yaml

    outside = tmp_path / "ES.txt"
    from helpers import firstrate_lines, synthetic_bars, write_lines

    write_lines(outside, firstrate_lines(synthetic_bars("2024-04-01", "2024-04-03")))
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"].update(source="files", paths=str(outside), start="2024-04-01", end="2024-04-03")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    done = subprocess.run(
        [sys.executable, "stages/bars.py", "--params", str(path), *[arg for name in ("bars", "daily", "manifest", "truth")
         for arg in (f"--{name}", str(tmp_path / f"{name}.out"))]],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: data.paths: {outside} is outside data/raw/"), done.stderr


# --- atomic writes ------------------------------------------------------------------------------------------------


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    import pandas as pd

    from almanac.data_sources.store import read_table, write_json, write_table

    path = tmp_path / "table.parquet"
    write_table(pd.DataFrame({"x": [1.0, 2.0]}), path)
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error type for an unconvertible column
        write_table(pd.DataFrame({"x": [object(), object()]}), path)
    assert path.read_bytes() == before
    assert read_table(path)["x"].tolist() == [1.0, 2.0]
    with pytest.raises(ValueError):
        write_json({"x": float("inf")}, tmp_path / "m.json")  # NaN becomes null, infinity is refused
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.parquet"]


def test_a_killed_writer_never_leaves_a_truncated_file(tmp_path):
    import signal
    import time

    import pandas as pd

    from almanac.data_sources.store import read_table, write_table

    path = tmp_path / "big.parquet"
    write_table(pd.DataFrame({"x": [0.0]}), path)
    before = path.read_bytes()
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import numpy as np, pandas as pd, sys; from almanac.data_sources.store import write_table\n"
         "frame = pd.DataFrame(np.random.default_rng(0).normal(size=(3_000_000, 4)), columns=list('abcd'))\n"
         "print('writing', flush=True); write_table(frame, sys.argv[1])", str(path)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout.readline().strip() == "writing"
    time.sleep(0.2)  # inside pq.write_table (about 1 s for this frame)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    content = path.read_bytes()
    assert content == before or len(read_table(path)) == 3_000_000  # the old file, or the whole new one
    if content == before:
        assert writer.returncode == -signal.SIGKILL


def test_a_signature_of_another_model_is_refused(tmp_path):
    """The evaluate stage reads the model's feature names and classes from its signature: one written for another
    model file (a retrain without it) is refused, naming the file."""
    path = tmp_path / "model_signature.json"
    path.write_text(json.dumps(model_signature([0.0, 1.0], ["gap_pct"], "0" * 64)))
    with pytest.raises(ModelIntegrityError, match=r"model_signature.json: describes the model with sha256 0{16}…"):
        read_signature(path, model_sha256="f" * 64)
    assert read_signature(path, model_sha256="0" * 64) == {
        "model_sha256": "0" * 64, "feature_names": ["gap_pct"], "classes": [0.0, 1.0]
    }  # fmt: skip
