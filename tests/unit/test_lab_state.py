"""The ML Lab's background state (:mod:`almanac.pages.lab_state`): the experiments cache refreshes only when the
experiments change, and the run queue returns at once, follows DVC's stages, refuses duplicates and reports a
failure with its log."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest

from almanac.pages.lab_state import DuplicateRunError, ExperimentsCache, RunQueue, fingerprint, run_name, run_plots
from almanac.pages.lab_views import compare_rows, feature_sets
from almanac.pages.ml_lab import train_settings


def _git_repo(path):
    for args in (["init", "-q"], ["config", "user.name", "t"], ["config", "user.email", "t@x.invalid"]):
        subprocess.run(["git", *args], cwd=path, check=True)
    (path / "params.yaml").write_text("train:\n  model: lightgbm\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=path, check=True)
    return path


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_cache_refreshes_when_the_experiments_change_and_not_on_a_timer(tmp_path):
    repo = _git_repo(tmp_path)
    calls = []

    def loader(path):
        calls.append(time.monotonic())
        return pd.DataFrame({"name": [f"run{len(calls)}"]})

    cache = ExperimentsCache(repo, interval=0.1, loader=loader)
    try:
        assert cache.wait(0, timeout=10)
        time.sleep(1.0)  # ten checks of the fingerprint, nothing changed
        assert len(calls) == 1
        version = cache.snapshot()[2]
        (repo / "params.yaml").write_text("train:\n  model: logistic\n")  # the workspace's params changed
        assert cache.wait(version, timeout=10)
        assert cache.snapshot()[0]["name"].iloc[0] == "run2"
        version = cache.snapshot()[2]
        subprocess.run(["git", "update-ref", "refs/exps/ab/" + "c" * 38 + "/exp1", "HEAD"], cwd=repo, check=True)
        assert cache.wait(version, timeout=10)  # a new experiment ref
        assert len(calls) == 3
        version = cache.snapshot()[2]
        cache.invalidate()  # a run of the Lab ended
        assert cache.wait(version, timeout=10) and len(calls) == 4
    finally:
        cache.close()


def test_a_failing_refresh_keeps_the_last_table_and_says_why(tmp_path):
    repo = _git_repo(tmp_path)
    outcomes = [pd.DataFrame({"name": ["a"]}), RuntimeError("dvc exp show: broken")]

    def loader(path):
        result = outcomes.pop(0) if outcomes else pd.DataFrame({"name": ["b"]})
        if isinstance(result, Exception):
            raise result
        return result

    cache = ExperimentsCache(repo, interval=0.1, loader=loader)
    try:
        assert cache.wait(0)
        cache.invalidate()
        assert cache.wait(1)
        table, error, _ = cache.snapshot()
        assert table["name"].tolist() == ["a"] and error == "dvc exp show: broken"
    finally:
        cache.close()


def test_fingerprint_moves_with_refs_head_and_metrics(tmp_path):
    repo = _git_repo(tmp_path)
    first = fingerprint(repo)
    assert fingerprint(repo) == first
    (repo / "metrics").mkdir()
    (repo / "metrics" / "backtest.json").write_text("{}")
    second = fingerprint(repo)
    assert second != first
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "next"], cwd=repo, check=True)
    assert fingerprint(repo) != second


def _script(body: str):
    """A stand-in for ``dvc exp run``: a Python one-liner per run."""
    return lambda run: [sys.executable, "-c", body]


def test_the_queue_returns_at_once_follows_the_stages_and_refuses_a_duplicate(tmp_path):
    body = (
        "import time\n"
        "for stage in ('check_params', 'train', 'evaluate'):\n"
        "    print(f\"Running stage '{stage}':\", flush=True); time.sleep(0.4)\n"
    )
    ended = []
    queue = RunQueue(tmp_path, command=_script(body), on_done=lambda: ended.append(1))
    try:
        start = time.monotonic()
        run = queue.submit({"train.model": "logistic", "features.regime": False})
        assert time.monotonic() - start < 0.5  # returns before the run
        assert run.settings == (("features.regime", "false"), ("train.model", "logistic"))
        with pytest.raises(DuplicateRunError, match="already"):
            queue.submit({"features.regime": False, "train.model": "logistic"})
        assert queue.pending({"train.model": "logistic", "features.regime": False}).name == run.name
        other = queue.submit({"train.model": "xgboost", "features.regime": False})  # another config queues behind
        seen = set()

        def stage_of_first():
            runs, _ = queue.runs()
            seen.add((runs[0].state, runs[0].stage))
            return runs[1].state == "done"

        assert wait_until(stage_of_first)
        assert ("running", "train") in seen  # the stage DVC was running, read from the log
        runs, _ = queue.runs()
        assert [r.state for r in runs] == ["done", "done"] and runs[0].stage == "evaluate"
        assert runs[0].ended <= runs[1].started  # one at a time
        assert len(ended) == 2 and other.name != run.name
        again = queue.submit({"train.model": "logistic", "features.regime": False})  # done: may run again
        assert again.name == run.name + "-2"
    finally:
        queue.close()


def test_a_failed_run_reports_its_log(tmp_path):
    body = "import sys\nprint(\"Running stage 'train':\")\nprint('ERROR: stage train failed: boom')\nsys.exit(3)\n"
    queue = RunQueue(tmp_path, command=_script(body))
    try:
        queue.submit({"train.model": "logistic"})
        assert wait_until(lambda: queue.runs()[0][0].state == "failed")
        run = queue.runs()[0][0]
        assert run.returncode == 3 and run.stage == "train"
        assert run.log.is_file() and run.log.parent == tmp_path / ".dvc" / "tmp" / "lab"
        assert "boom" in run.tail()
    finally:
        queue.close()


def test_closing_cancels_the_queued_and_terminates_the_running_run(tmp_path):
    queue = RunQueue(tmp_path, command=_script("import time; time.sleep(60)"))
    queue.submit({"train.model": "logistic"})
    queue.submit({"train.model": "xgboost"})
    assert wait_until(lambda: queue.runs()[0][0].state == "running")
    start = time.monotonic()
    queue.close()
    assert time.monotonic() - start < 10
    assert [r.state for r in queue.runs()[0]] == ["cancelled", "cancelled"]


def test_run_names_are_stable_and_free():
    settings = (("train.model", "logistic"),)
    name = run_name(settings, set())
    assert name.startswith("lab-logistic-") and run_name(settings, set()) == name
    assert run_name(settings, {name}) == name + "-2"
    assert run_name(settings, {name, name + "-2"}) == name + "-3"


def test_train_settings_switch_the_unselected_families_off():
    families = list(feature_sets())
    from almanac.features.ml_features import FAMILIES

    assert families == list(FAMILIES)  # the Lab's choices come from the registry
    with pytest.raises(ValueError, match="train.model 'lightgbm; touch x' is not one of"):
        train_settings("lightgbm; touch x", families)
    settings = train_settings("xgboost", families[:1])
    assert settings == {"train.model": "xgboost", **{f"features.{f}": f == families[0] for f in families}}


def test_compare_rows_put_runs_side_by_side_with_differences():
    table = pd.DataFrame({
        "name": ["workspace", "exp-a"], "kind": ["workspace", "experiment"], "changed": ["", "train.model=logistic"],
        "auc": [0.60, 0.58], "auc_ci_low": [0.57, 0.55], "auc_ci_high": [0.63, 0.61], "brier": [0.24, 0.245],
        "oracle_efficiency": [0.9, 0.7], "sharpe": [1.2, 0.8], "sharpe_ci_low": [0.5, 0.1], "sharpe_ci_high": [1.9, 1.5],
        "trades": [400, 380], "days": [500, 500], "dsr_trials": [0.97, 0.80], "n_trials": [2, 2],
    })  # fmt: skip
    header, rows = compare_rows(table, ["workspace", "exp-a"])
    assert header == ["measure", "workspace", "exp-a", "Δ exp-a − workspace"]
    by = {r[0]: r[1:] for r in rows}
    assert by["AUC"] == ["0.6000", "0.5800", "-0.0200"]
    assert by["Sharpe (net)"] == ["1.20", "0.80", "-0.40"]
    assert by["DSR over the runs tried"] == ["0.970", "0.800", "-0.170"]
    assert by["changed params"] == ["-", "train.model=logistic", ""]
    assert all(len(r) == len(header) for r in rows)


def test_run_plots_read_the_workspace_from_disk_and_experiments_from_git(tmp_path):
    repo = _git_repo(tmp_path)
    (repo / "plots").mkdir()
    (repo / "plots" / "roc.csv").write_text("fpr,tpr\n0,0\n1,1\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "run"], cwd=repo, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    (repo / "plots" / "roc.csv").write_text("fpr,tpr\n0,0\n0.5,0.7\n1,1\n")  # the workspace moved on
    table = pd.DataFrame({"name": ["workspace", "exp"], "kind": ["workspace", "experiment"], "full_rev": ["", sha]})
    plots = run_plots(table, ["workspace", "exp"], repo)
    assert len(plots["roc"]["workspace"]) == 3 and len(plots["roc"]["exp"]) == 2
    assert plots["equity"] == {}
