"""dvc.yaml <-> stage scripts consistency, and the real ``dvc repro`` on a small config."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import firstrate_lines, write_lines

REPO = Path(__file__).resolve().parents[2]
DVC = Path(sys.executable).with_name("dvc")


def dvc_stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def declared_outputs(stage: dict) -> list[str]:
    paths = []
    for kind in ("outs", "metrics", "plots"):
        for entry in stage.get(kind, []):
            paths.append(next(iter(entry)) if isinstance(entry, dict) else entry)
    return paths


def next_mornings_bars(minute_path: Path):
    """The last stored day's bars up to 10:20 ET moved three days on: a Friday's become the next Monday's morning
    (its overnight session from Sunday 18:00 ET), bars after every stored one."""
    import pandas as pd

    from almanac.data_sources.store import read_table

    bars = read_table(minute_path)
    bars = bars.loc[bars["trade_date"] == bars["trade_date"].max()]
    assert bars["trade_date"].iloc[0].day_name() == "Friday"
    local = bars["ts"].dt.tz_convert("America/New_York")
    bars = bars.loc[(local.dt.strftime("%H:%M") <= "10:20") | (local.dt.normalize() < local.dt.normalize().max())]
    return bars.assign(ts=bars["ts"] + pd.Timedelta(days=3), trade_date=bars["trade_date"] + pd.Timedelta(days=3))


def test_stage_commands_use_declared_paths_and_deps_exist():
    for name, stage in dvc_stages().items():
        cmd = stage["cmd"]
        assert f"stages/{name}.py" in cmd
        assert f"data/code_hashes/{name}.json" in stage["deps"] or name == "code_hashes"
        for out in declared_outputs(stage):
            assert out in cmd, f"{name}: output {out} not passed on the command line"
        produced = {out for other in dvc_stages().values() for out in declared_outputs(other)}
        for dep in stage["deps"]:
            if dep not in produced and not dep.startswith("data/"):
                assert (REPO / dep).exists(), f"{name}: dependency {dep} does not exist"


def test_stage_scripts_do_not_hard_code_data_paths():
    for name in dvc_stages():
        text = (REPO / "stages" / f"{name}.py").read_text()
        assert not re.search(r"['\"]data/", text), f"stages/{name}.py hard-codes a data path"


@pytest.mark.pipeline
def test_dvc_repro_on_a_small_config(tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    for item in ("src", "stages", "dvc.yaml", ".dvcignore", "data/raw"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(
            src, work / item, **({"ignore": shutil.ignore_patterns("__pycache__")} if src.is_dir() else {})
        )
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"].update({"start": "2024-03-01", "end": "2024-06-28"})
    params["cv"].update({"min_train_days": 30, "test_days": 20, "purge_days": 1, "embargo_days": 0})
    params["evaluate"].update({"rolling_days": 20, "bootstrap": 50})
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{DVC.parent}{os.pathsep}{os.environ['PATH']}"}

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    run("git", "init", "-q")
    run(str(DVC), "init", "-q")
    run(str(DVC), "repro")
    lock = (work / "dvc.lock").read_text()
    assert (work / "data" / "sessions.parquet").exists()
    again = run(str(DVC), "repro")
    assert "didn't change, skipping" in again and "Running stage" not in again
    assert "up to date" in run(str(DVC), "status")
    run(str(DVC), "repro", "--force")
    assert (work / "dvc.lock").read_text() == lock

    # This morning's bars (the README's `almanac predict --bars morning/today.csv`) leave the pipeline up to date;
    # the same file in data/raw, the bars stage's dependency, would not, and predict refuses it.
    morning = work / "morning" / "today.csv"
    morning.parent.mkdir()
    write_lines(morning, firstrate_lines(next_mornings_bars(work / "data" / "bars" / "minute.parquet")))
    printed = run(str(DVC.with_name("almanac")), "predict", "--bars", "morning/today.csv")
    assert "2024-07-01 at 10:15 ET" in printed and "similar days: the " in printed
    assert "up to date" in run(str(DVC), "status")
    shutil.copy(morning, work / "data" / "raw" / "today.csv")
    refused = subprocess.run([str(DVC.with_name("almanac")), "predict", "--bars", "data/raw/today.csv"], cwd=work,
                             env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert refused.returncode == 2 and "a dependency of the 'bars' stage" in refused.stderr
    assert "bars:" in run(str(DVC), "status")  # what the refusal prevents: data/raw changed
    (work / "data" / "raw" / "today.csv").unlink()
    assert "up to date" in run(str(DVC), "status")

    # A model change reruns only train, evaluate and backtest (and the one-second check of params.yaml, which
    # any edit reruns); everything upstream comes from the lock.
    params["train"]["model"] = "logistic"
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    ran = re.findall(r"Running stage '(\w+)'", run(str(DVC), "repro"))
    assert ran == ["check_params", "train", "evaluate", "backtest"]

    # A code edit reruns the hashing of the code and then only the stages that run the edited file.
    with (work / "src" / "almanac" / "ml" / "pnl.py").open("a") as handle:
        handle.write("\n# edited\n")
    assert "code_hashes:" in run(str(DVC), "status")
    ran = re.findall(r"Running stage '(\w+)'", run(str(DVC), "repro"))
    assert ran == ["code_hashes", "backtest"]
