"""Experiments without surprises: the sweep starts from the committed params, a DVC remote round-trips the
outputs, and the pull-request workflow is a valid GitHub Actions workflow running the commands docs/pipeline.md names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import dvc_repository

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, env: dict, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if ok:
        assert done.returncode == 0, f"{' '.join(map(str, args))}: {done.stdout}{done.stderr}"
    return done


def test_sweep_refuses_params_left_over_from_an_applied_experiment(tmp_path):
    repo, env = dvc_repository(tmp_path / "repo", repro=False)
    (repo / "Makefile").write_bytes((REPO / "Makefile").read_bytes())
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["model"] = "xgboost"  # what `dvc exp run -S train.model=xgboost` leaves in the workspace
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    venv = BIN.parent
    done = run(["make", "-o", f"{venv}/bin/.installed", "sweep", f"VENV={venv}"], repo, env, ok=False)
    assert done.returncode != 0
    assert "params.yaml differs from the last commit" in done.stdout + done.stderr
    assert "Queued" not in run([sys.executable, "-m", "dvc", "queue", "status"], repo, env).stdout


@pytest.mark.pipeline
def test_a_dvc_remote_round_trips_every_output_without_recomputing(tmp_path):
    repo, env = dvc_repository(tmp_path / "repo")
    dvc = [sys.executable, "-m", "dvc"]
    run([*dvc, "remote", "add", "-d", "store", str(tmp_path / "remote")], repo, env)
    run([*dvc, "push", "-q"], repo, env)
    run(["git", "commit", "-qam", "remote"], repo, env)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path, env)
    clone_env = {**env, "PYTHONPATH": str(clone / "src")}
    run([*dvc, "pull", "-q"], clone, clone_env)
    for path in ("data/bars/minute.parquet", "data/features.parquet", "models/model.joblib", "data/sessions.parquet"):
        assert (clone / path).read_bytes() == (repo / path).read_bytes(), path
    assert "up to date" in run([*dvc, "status"], clone, clone_env).stdout
    again = run([*dvc, "repro"], clone, clone_env).stdout
    assert "Running stage" not in again  # pulled, not recomputed


def test_pull_request_workflow_is_valid_and_runs_the_documented_commands():
    workflow = REPO / ".github" / "workflows" / "cml.yaml"
    check = BIN / "check-jsonschema"
    done = subprocess.run(
        [str(check), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True, text=True, check=False, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    spec = yaml.safe_load(workflow.read_text())
    assert list(spec[True]) == ["pull_request"]  # YAML 1.1 reads the key `on` as True
    script = "\n".join(step.get("run", "") for step in spec["jobs"]["report"]["steps"])
    for command in ("make repro", "almanac report", "dvc metrics diff main", "cml comment create"):
        assert command in script, command
    docs = (REPO / "docs" / "pipeline.md").read_text()
    assert ".github/workflows/cml.yaml" in docs and "dvc remote add" in docs


@pytest.mark.pipeline
def test_report_of_an_experiment_and_dsr_over_the_runs_tried(tmp_path):
    import json

    repo, env = dvc_repository(tmp_path / "repo")
    dvc = [sys.executable, "-m", "dvc"]
    run([*dvc, "exp", "run", "-q", "-n", "logit", "-S", "train.model=logistic"], repo, env)
    report = [sys.executable, "-m", "almanac.cli", "report"]
    shown = run([*report, "--exp", "logit", "--no-trials"], repo, env).stdout
    metrics = json.loads((repo / "metrics" / "evaluate.json").read_text())  # applied: the experiment's own
    assert f"| AUC (out of fold) | {metrics['auc']:.4f} |" in shown and "model `logistic`" in shown
    deflated = run(report, repo, env).stdout
    line = next(x for x in deflated.splitlines() if x.startswith("| DSR over the runs tried"))
    # the baseline (LightGBM), the experiment and the workspace it was applied to (the same P&L: one trial)
    assert "2 independent trial(s) among 3 run(s)" in line and "n/a" not in line.split("|")[2]
    missing = run([*report, "--exp", "nope"], repo, env, ok=False)
    assert missing.returncode == 2 and "'nope' is not a run in dvc exp show" in missing.stderr

    # Committing the applied experiment (what DVC's own hint says to do) keeps every run a trial.
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "logistic"], repo, env)
    from almanac.exp_table import text_table
    from almanac.experiments import TRIALS_NOTE, experiments

    table = experiments(repo)
    assert "logit" in table["name"].tolist()  # the experiment of the earlier commit is still listed
    workspace = table.set_index("name").loc["workspace"]
    assert workspace["n_runs"] == 4 and workspace["n_trials"] == 2 and pd.notna(workspace["dsr_trials"])
    text = text_table(table)
    assert "DSR: 2 trials of 4 runs." in text and TRIALS_NOTE in " ".join(text.split())


def test_a_misspelled_section_fails_dvc_repro_and_dvc_exp_run(tmp_path):
    """No stage declares a ``trian`` section, so without the check_params stage DVC would say "up to date"."""
    repo, env = dvc_repository(tmp_path / "repo")
    dvc = [sys.executable, "-m", "dvc"]
    params = repo / "params.yaml"
    good = params.read_text()
    params.write_text(good + "\ntrian:\n  model: xgboost\n")
    for command in (["repro"], ["exp", "run"]):
        done = run([*dvc, *command], repo, env, ok=False)
        assert done.returncode != 0, command
        assert "trian: unknown section (did you mean 'train'?)" in done.stdout + done.stderr, command
    params.write_text(good + "# an edit no stage reads\n")
    done = run([*dvc, "repro"], repo, env)
    ran = [line for line in done.stdout.splitlines() if line.startswith("Running stage")]
    assert ran == ["Running stage 'check_params':"]  # the check reruns on any edit; nothing else does
