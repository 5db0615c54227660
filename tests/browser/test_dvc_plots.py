"""``almanac plots`` (``dvc plots show`` / ``diff`` with the libraries inline) drawn in headless Chromium.

The plot CSVs are the committed outputs of the pipeline (``plots/``), rendered by the real DVC from this
repository's ``dvc.yaml`` in a scratch git + DVC repository.  Each chart must draw marks, offline; dates must be
on a time axis, SHAP bars largest first, the confusion matrix four cells, the diagonals and the oracle drawn; the
model solid in its revision's colour and the references grey and dashed; the breakdown's groups in their natural
order (Monday to Friday, years ascending) with their days; each calibration point labelled with its days.
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


# What each line mark drew (read from Vega's scenegraph, not the SVG): its y field, revision, colour and dash;
# and the text of the text marks (not axis or legend labels).
SCENE = """() => window.almanacViews.map(view => {
  const lines = [], texts = [];
  const walk = mark => {
    if (mark.marktype === 'line') {
      mark.items.forEach(item => lines.push({field: item.datum.field === undefined ? null : item.datum.field,
        rev: item.datum.rev, stroke: item.stroke, dash: item.strokeDash || null}));
    } else if (mark.marktype === 'text' && mark.role === 'mark') {
      mark.items.forEach(item => texts.push(item.text));
    } else if (mark.marktype === 'group') {
      mark.items.forEach(group => (group.items || []).forEach(walk));
    }
  };
  walk(view.scenegraph().root);
  return {title: [...view.container().querySelectorAll('g.role-title text')].map(t => t.textContent).join(' '),
          lines: lines, texts: texts};
})"""
GREY = "#888888"
MODEL_AND_REFERENCE = {"ROC": ("tpr", "chance"), "Calibration": ("observed", "perfect"),
                       "Rolling AUC": ("auc", "oracle_auc"), "Equity": ("equity_usd", "hold_equity_usd")}  # fmt: skip


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
    for start, (_, reference) in MODEL_AND_REFERENCE.items():  # the revision's colour, and the reference by name
        found = chart(charts, start)
        assert found["drawn"]["mark-line"] >= 2 and {"workspace", reference} <= set(found["legend"]), found
    shap = pd.read_csv(REPO / "plots" / "shap_importance.csv")
    largest_first = shap.sort_values("mean_abs_shap", ascending=False, kind="stable")["feature"].tolist()
    assert chart(charts, "SHAP")["yLabels"] == largest_first
    confusion = chart(charts, "Confusion")
    assert confusion["drawn"]["mark-rect"] >= 4  # four cells (and their hover layers), not one solid block
    days = pd.read_csv(REPO / "plots" / "confusion.csv")
    assert days.groupby(["actual", "predicted"]).size().nunique() > 1  # the cells differ: not an aggregate


def saturated(colour: str) -> bool:
    """A colour, not a grey: ``#rrggbb`` whose channels differ by more than 40."""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return re.fullmatch(r"#[0-9a-f]{6}", colour) is not None and max(channels) - min(channels) > 40


def scenes(page) -> dict[str, dict]:
    return {next(t for t in TITLES if t in s["title"]): s for s in page.evaluate(SCENE)}


def test_model_solid_in_colour_references_grey_dashed(page, scratch):
    draw(page, scratch)
    drawn = scenes(page)
    for start, (model, reference) in MODEL_AND_REFERENCE.items():
        lines = chart(drawn, start)["lines"]
        assert {line["field"] for line in lines} == {model, reference}, (start, lines)
        for line in lines:
            if line["field"] == model:
                assert line["dash"] is None and saturated(line["stroke"]), (start, line)  # solid, coloured
            else:
                assert line["stroke"] == GREY and line["dash"] and min(line["dash"]) > 0, (start, line)  # dashed
    for start in ("Drawdown", "Risk-coverage"):  # one y field: the model, solid and coloured
        assert all(line["dash"] is None and saturated(line["stroke"]) for line in chart(drawn, start)["lines"])


def test_breakdown_in_natural_order_with_days_and_calibration_counts(page, scratch):
    charts = draw(page, scratch)
    labels = chart(charts, "AUC by")["yLabels"]
    breakdown = pd.read_csv(scratch / "plots" / "breakdown.csv")
    assert labels == breakdown["label"].tolist()  # the file's order: Vega-Lite's alphabetical sort is off
    assert all(re.search(r" \(\d+\)$", label) for label in labels), labels  # every group with its days
    weekdays = [re.fullmatch(r"weekday (\w+) \((\d+)\)", label) for label in labels if label.startswith("weekday")]
    assert [m[1] for m in weekdays] == ["Mon", "Tue", "Wed", "Thu", "Fri"], labels
    days = breakdown.loc[breakdown["group"] == "weekday"].set_index("value")["n_days"]
    assert [int(m[2]) for m in weekdays] == [int(days[m[1]]) for m in weekdays]
    years = [int(label.split()[1]) for label in labels if label.startswith("year ")]
    assert years == sorted(years) and len(years) > 1
    calibration = pd.read_csv(scratch / "plots" / "calibration.csv")
    texts = chart(scenes(page), "Calibration")["texts"]
    assert texts == [f"n={n}" for n in calibration["count"]]  # each point labelled with its bin's days


def test_diff_draws_both_revisions(page, scratch):
    equity = pd.read_csv(scratch / "plots" / "equity.csv")
    equity["equity_usd"] = equity["equity_usd"] * 0.5
    equity.to_csv(scratch / "plots" / "equity.csv", index=False)
    charts = draw(page, scratch, "HEAD")
    screenshot(page, "dvc_plots_diff")
    legend = chart(charts, "Equity")["legend"]
    assert "HEAD" in legend and "workspace" in legend, legend
    assert re.search(r"workspace", " ".join(chart(charts, "ROC")["legend"]))
    equity = [line for line in chart(scenes(page), "Equity")["lines"] if line["field"] == "equity_usd"]
    colours = {line["rev"]: line["stroke"] for line in equity}
    assert set(colours) == {"HEAD", "workspace"} and len(set(colours.values())) == 2  # one colour per revision
    assert all(saturated(c) for c in colours.values())
