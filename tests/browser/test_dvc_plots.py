"""``almanac plots`` (``dvc plots show`` / ``diff`` with the libraries inline) drawn in headless Chromium.

The plot CSVs are the committed outputs of the pipeline (``plots/``), rendered by the real DVC from this
repository's ``dvc.yaml`` in a scratch git + DVC repository.  Each chart must draw marks, offline; dates must be
on a time axis, SHAP bars largest first, the confusion matrix four cells, the diagonals and the oracle drawn.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import screenshot

REPO = Path(__file__).resolve().parents[2]
PLOTS = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
TITLES = [next(iter(entry)) for entry in PLOTS]
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t.invalid",
}

CHARTS = """() => window.almanacViews.map(view => {
  const root = view.container();
  const drawn = {};
  root.querySelectorAll('g[class*="mark-"]').forEach(group => {
    const kind = [...group.classList].find(name => name.startsWith('mark-'));
    const items = [...group.querySelectorAll(':scope > path, :scope > line')]
      .filter(item => (item.getAttribute('d') || '').length > 2 || item.tagName === 'line');
    drawn[kind] = (drawn[kind] || 0) + items.length;
  });
  return {
    title: [...root.querySelectorAll('g.role-title text')].map(t => t.textContent).join(' '),
    drawn: drawn,
    axes: [...root.querySelectorAll('g.role-axis')].map(a => a.getAttribute('aria-label') || ''),
    legend: [...root.querySelectorAll('g.role-legend-label text')].map(t => t.textContent),
    yLabels: [...root.querySelectorAll('g.role-axis')].filter(a => (a.getAttribute('aria-label') || '')
      .startsWith('Y-axis')).flatMap(a => [...a.querySelectorAll('g.role-axis-label text')].map(t => t.textContent)),
  };
})"""


def run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def scratch(tmp_path) -> Path:
    """A git + DVC repository holding this repository's dvc.yaml, plot template and committed plot CSVs."""
    shutil.copy(REPO / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copytree(REPO / "plots", tmp_path / "plots")
    run(["git", "init", "-q"], tmp_path)
    run([sys.executable, "-m", "dvc", "init", "-q"], tmp_path)
    shutil.copytree(REPO / ".dvc" / "plots", tmp_path / ".dvc" / "plots")
    run(["git", "add", "-A"], tmp_path)
    run(["git", "commit", "-qm", "plots"], tmp_path)
    return tmp_path


def draw(page, scratch: Path, *revisions: str) -> dict[str, dict]:
    out = run([sys.executable, "-m", "almanac.cli", "plots", *revisions], scratch)
    html = Path(out.strip().rsplit(": ", 1)[1])
    assert html.is_file() and "cdn." not in html.read_text().split("<body>", 1)[1]  # no CDN script in the page
    page.goto(html.as_uri())
    page.wait_for_function(f"window.almanacViews.length + window.almanacErrors.length >= {len(TITLES)}", timeout=60_000)
    assert page.evaluate("window.almanacErrors") == []
    assert [url for url in page.requests if not url.startswith(("file:", "data:"))] == []  # works offline
    charts = {}
    for chart in page.evaluate(CHARTS):
        title = next(t for t in TITLES if t in chart["title"] or chart["title"].startswith(t))
        charts[title] = chart
    assert sorted(charts) == sorted(TITLES)
    return charts


def chart(charts: dict, start: str) -> dict:
    return next(c for t, c in charts.items() if t.startswith(start))


def test_every_plot_draws_its_data_offline(page, scratch):
    charts = draw(page, scratch)
    screenshot(page, "dvc_plots_show")
    for title, found in charts.items():
        marks = sum(n for kind, n in found["drawn"].items() if kind in ("mark-line", "mark-rect", "mark-symbol"))
        assert marks > 0, f"{title}: nothing drawn ({found['drawn']})"
    for start in ("Rolling AUC", "Equity", "Drawdown"):  # dates on a time axis, not epoch numbers
        axes = chart(charts, start)["axes"]
        assert any(a.startswith("X-axis") and "time scale" in a for a in axes), (start, axes)
    roc = chart(charts, "ROC")
    assert roc["drawn"]["mark-line"] >= 2 and {"tpr", "chance"} <= set(roc["legend"])
    calibration = chart(charts, "Calibration")
    assert {"observed", "perfect"} <= set(calibration["legend"])
    assert {"auc", "oracle_auc"} <= set(chart(charts, "Rolling AUC")["legend"])
    assert {"equity_usd", "hold_equity_usd"} <= set(chart(charts, "Equity")["legend"])
    shap = pd.read_csv(REPO / "plots" / "shap_importance.csv")
    largest_first = shap.sort_values("mean_abs_shap", ascending=False, kind="stable")["feature"].tolist()
    assert chart(charts, "SHAP")["yLabels"] == largest_first
    confusion = chart(charts, "Confusion")
    assert confusion["drawn"]["mark-rect"] >= 4  # four cells (and their hover layers), not one solid block
    days = pd.read_csv(REPO / "plots" / "confusion.csv")
    assert days.groupby(["actual", "predicted"]).size().nunique() > 1  # the cells differ: not an aggregate


def test_diff_draws_both_revisions(page, scratch):
    equity = pd.read_csv(scratch / "plots" / "equity.csv")
    equity["equity_usd"] = equity["equity_usd"] * 0.5
    equity.to_csv(scratch / "plots" / "equity.csv", index=False)
    charts = draw(page, scratch, "HEAD")
    screenshot(page, "dvc_plots_diff")
    legend = chart(charts, "Equity")["legend"]
    assert "HEAD" in legend and "workspace" in legend, legend
    assert re.search(r"workspace", " ".join(chart(charts, "ROC")["legend"]))
