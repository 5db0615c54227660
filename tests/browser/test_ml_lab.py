"""The ML Lab (``almanac lab``) in headless Chromium, over a real scratch git + DVC repository.

The page must load with every graph drawing data, Train must queue real DVC experiments (two quick clicks: two
experiments, the workspace untouched), and a repository without a run must say what to do, not fail.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import dvc_repository, screenshot

GRAPHS = ["feature-importance-chart", "cv-scores-chart", "confusion-matrix", "shap-summary", "drift-monitor",
          "equity-curve"]  # fmt: skip
DRAWN = """ids => ids.map(id => {
  const gd = document.querySelector('#' + id + ' .js-plotly-plot');
  if (!gd || !gd.calcdata) return [id, 0, false];
  const points = gd.calcdata.reduce((n, trace) => n + trace.filter(p => p && !p.empty).length, 0);
  return [id, points, !!gd.querySelector('.main-svg')];
})"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lab(repo: Path, env: dict):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile(mode="w+") as log:  # the server's output, outside the repository
        server = subprocess.Popen(
            [sys.executable, "-m", "almanac.cli", "lab", "--port", str(port)], cwd=repo, env=env, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(url, timeout=1).read()
                    break
                except OSError:
                    if server.poll() is not None:
                        log.seek(0)
                        pytest.fail(f"almanac lab stopped: {log.read()}")
                    time.sleep(0.25)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)
            stop = [sys.executable, "-m", "dvc", "queue", "stop", "--kill"]
            subprocess.run(stop, cwd=repo, env=env, capture_output=True, check=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return dvc_repository(tmp_path_factory.mktemp("lab") / "repo")


def git_state(repo: Path, env: dict) -> str:
    done = subprocess.run(["git", "status", "--porcelain"], cwd=repo, env=env, capture_output=True, text=True)
    return done.stdout


def test_page_draws_every_graph_and_train_queues_real_experiments(trained, page):
    repo, env = trained
    before = {p: (repo / p).read_bytes() for p in ("params.yaml", "metrics/evaluate.json", "dvc.lock")}
    with lab(repo, env) as url:
        page.goto(url)
        page.wait_for_selector("#exp-table tr.exp-row", timeout=60_000)
        drawn = page.evaluate(DRAWN, GRAPHS)
        assert all(points > 0 and svg for _, points, svg in drawn), drawn
        assert page.locator("#metrics-headline tbody tr").count() >= 8
        assert [u for u in page.requests if not u.startswith(url)] == []  # Dash serves its own scripts: offline
        screenshot(page, "ml_lab")

        page.locator("#model-type").click()
        page.get_by_role("option", name="logistic", exact=True).click()
        page.keyboard.press("Escape")
        assert page.inner_text("#model-type") == "logistic"
        page.locator("#train-btn").click()
        page.locator("#train-btn").click()  # a second, quick click: a second experiment, nothing corrupted
        page.wait_for_function(
            'document.querySelectorAll(\'tr.exp-row[data-changed="train.model=logistic"][data-state="success"]\')'
            ".length >= 2",
            timeout=240_000,
        )
        assert "Queued experiment" in page.inner_text("#train-status")
        assert page.locator('tr.exp-row[data-state="failed"]').count() == 0
        screenshot(page, "ml_lab_trained")
    assert {p: (repo / p).read_bytes() for p in before} == before  # the workspace is not touched
    assert git_state(repo, env) == ""


def test_feature_sets_filter_the_importance_chart(trained, page):
    repo, env = trained
    with lab(repo, env) as url:
        page.goto(url)
        page.wait_for_selector("#feature-importance-chart .js-plotly-plot .main-svg")
        bars = "document.querySelector('#feature-importance-chart .js-plotly-plot').calcdata[0].length"
        everything = page.evaluate(bars)
        page.locator("#feature-sets").click()
        page.get_by_role("option", name="Regime", exact=True).click()  # deselect one of the three sets
        page.keyboard.press("Escape")
        page.wait_for_function(f"{bars} < {everything}")


def test_a_repository_without_a_run_says_what_to_do(tmp_path, page):
    repo, env = dvc_repository(tmp_path / "empty", repro=False)
    with lab(repo, env) as url:
        page.goto(url)
        page.wait_for_selector("#problem")
        assert "No pipeline run yet" in page.inner_text("#problem") and "dvc repro" in page.inner_text("#problem")
        page.wait_for_selector("#exp-table tr.exp-row", timeout=60_000)
        text = page.inner_text("body")
        assert "Traceback" not in text and "nothing to draw yet" in page.content()
        screenshot(page, "ml_lab_empty")
