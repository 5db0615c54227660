"""``almanac report``: the Markdown headline and the self-contained HTML page, drawn in headless Chromium.

Built from the run this repository commits (``metrics/``, ``plots/``, ``models/model_registry.json``), so the
figures checked here are the ones the README quotes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from almanac.report import load_run, markdown, to_html, trades
from helpers import screenshot

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run():
    return load_run(REPO, params=REPO / "params.yaml")


def test_markdown_headline_quotes_the_metrics_files(run):
    text = markdown(run)
    evaluate = json.loads((REPO / "metrics" / "evaluate.json").read_text())
    backtest = json.loads((REPO / "metrics" / "backtest.json").read_text())
    assert f"| AUC (out of fold) | {evaluate['auc']:.4f} | 95% CI {evaluate['auc_ci_low']:.4f}" in text
    assert f"| Trades | {backtest['trades']} (" in text
    assert f"| Sharpe (annualised) | {backtest['sharpe']:.2f} |" in text
    assert "synthetic market" in text  # the honesty flag for synthetic figures
    command = [sys.executable, "-m", "almanac.cli", "report", "--no-trials"]  # the trials row asks DVC
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == text


def test_report_needs_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="no train.json, evaluate.json, backtest.json; run the pipeline"):
        load_run(tmp_path, params=REPO / "params.yaml")


def test_trade_list_is_the_equity_days_with_a_position(run):
    listed = trades(run)
    equity = pd.read_csv(REPO / "plots" / "equity.csv")
    backtest = json.loads((REPO / "metrics" / "backtest.json").read_text())
    assert len(listed) == backtest["trades"] == int((equity["position"] != 0).sum())
    assert listed["pnl_usd"].sum() == pytest.approx(backtest["total_pnl_usd"], abs=0.5 * len(listed))
    assert ((listed["exit"] - listed["entry"]) * listed["side"].map({"long": 1, "short": -1}) * 50 - 5).round(
        2
    ).tolist() == listed["pnl_usd"].round(2).tolist()  # entry at the cutoff fill, exit at the close fill, ES


def test_html_is_self_contained_deterministic_and_draws_every_chart(run, page, tmp_path):
    first = to_html(run)
    assert first == to_html(run)  # same run, same bytes
    path = tmp_path / "report.html"
    path.write_text(first, encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8", timeout=60_000)
    assert [url for url in page.requests if not url.startswith(("file:", "data:"))] == []  # works offline
    drawn = page.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot')].map(d => [d.id,"
        " d.querySelectorAll('g.trace path, g.hm image').length])"  # a heatmap is drawn as an image
    )
    assert {name for name, _ in drawn} == {
        "chart-equity", "chart-drawdown", "chart-yearly", "chart-calibration", "chart-roc", "chart-rolling_auc",
        "chart-shap", "chart-folds", "chart-confusion",
    }  # fmt: skip
    assert all(paths > 0 for _, paths in drawn), drawn
    rows = page.evaluate("document.querySelectorAll('table.trades tbody tr').length")
    assert rows == len(trades(run))
    breakdown = page.evaluate(
        "[...document.querySelectorAll('table.breakdown tr')].map(r => [...r.children].map(c => c.textContent))"
    )
    csv = pd.read_csv(REPO / "plots" / "breakdown.csv")  # the signed-return column the CSV has is shown
    assert breakdown[0] == ["group", "value", "days", "AUC", "hit rate", "signed return %"]
    assert [row[-1] for row in breakdown[1:]] == [f"{v:+.3f}" for v in csv["signed_return_pct"]]
    headline = page.inner_text("table.headline")
    assert f"{run.evaluate['auc']:.4f}" in headline and f"{run.evaluate['oracle_auc']:.4f}" in headline
    screenshot(page, "report")
