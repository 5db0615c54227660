"""The report as one self-contained HTML page: the headline and warnings, the charts of
:mod:`almanac.viz.ml_plots` (plotly.js inline, fixed div ids), the breakdown by group and the trade list."""

from __future__ import annotations

import html

import pandas as pd

from almanac import robustness
from almanac.report.headline import _num, headline, markdown, sizing, warnings
from almanac.report.runs import Run


def _figures(run: Run) -> list[tuple[str, object]]:
    from almanac.viz import ml_plots

    p = run.plots
    return [
        ("equity", ml_plots.equity(p["equity"])),
        ("drawdown", ml_plots.drawdown(p["equity"])),
        ("yearly", ml_plots.yearly(p["yearly"])),
        ("calibration", ml_plots.calibration(p["calibration"])),
        ("roc", ml_plots.roc(p["roc"], run.evaluate.get("auc"))),
        ("rolling_auc", ml_plots.rolling_auc(p["rolling_auc"])),
        ("shap", ml_plots.shap_importance(p["shap_importance"])),
        ("folds", ml_plots.folds(p["cv_folds"])),
        ("confusion", ml_plots.confusion(p["confusion"])),  # per class for the archetypes
        *([("class_auc", ml_plots.class_auc(run.evaluate))] if "macro_f1" in run.evaluate else []),
    ]


def _table(rows: list[list[str]], header: list[str], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def trades(run: Run) -> pd.DataFrame:
    """The trade list: every out-of-fold day with a position (entry at the cutoff, exit at the RTH close), its side
    and contracts (the equity table's ``position`` is side x contracts)."""
    eq = run.plots["equity"]
    if eq.empty or "position" not in eq:
        return pd.DataFrame(columns=["trade_date", "side", "contracts", "p_long", "entry", "exit", "pnl_usd"])
    t = eq.loc[eq["position"] != 0]
    return pd.DataFrame(
        {
            "trade_date": t["trade_date"],
            "side": t["position"].gt(0).map({True: "long", False: "short"}),
            "contracts": t["position"].abs().astype(int),
            "p_long": t.get("p_long"),
            "entry": t.get("entry"),
            "exit": t.get("exit"),
            "pnl_usd": t["pnl_usd"],
        }
    ).reset_index(drop=True)


def to_html(run: Run) -> str:
    """One self-contained page: headline, warnings, charts, breakdown, the trade list."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    name, record = run.model
    summary = markdown(run).splitlines()[2].replace("`", "")
    charts = "".join(
        f'<div class="chart">{pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"chart-{key}", config={"displaylogo": False})}</div>'
        for key, fig in _figures(run)
    )  # fmt: skip
    flags = "".join(f'<p class="warning">Warning: {html.escape(w)}</p>' for w in warnings(run))
    listed = trades(run)
    trade_rows = [
        [r.trade_date, r.side, r.contracts, _num(r.p_long, 3), f"{r.entry:g}", f"{r.exit:g}", f"{r.pnl_usd:+,.2f}"]
        for r in listed.itertuples()
    ]
    breakdown = run.plots["breakdown"]
    breakdown_rows = (
        [[r.group, r.value, r.n_days, _num(r.auc, 3), _num(r.hit_rate, 3), _num(r.signed_return_pct, 3, signed=True)]
         for r in breakdown.itertuples()]
        if not breakdown.empty
        else []
    )  # fmt: skip
    header, rows = robustness.held_out_table(run.robustness, run.params)
    held_out = (
        f"<h2>Defaults chosen out of sample</h2><p>{html.escape(robustness.protocol_sentence(run.robustness))}</p>"
        + _table(rows, header, "held-out")
        if rows
        else ""
    )
    model_line = (
        f"Model {html.escape(name)} (version {html.escape(str(record.get('version', '')))}, "
        f"sha256 {html.escape(str(record.get('model_sha256', ''))[:12])}…), features "
        f"{html.escape(str(record.get('feature_set', '')))}, data {html.escape(str(record.get('data_range', '')))}."
        if record
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Almanac Futures report</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; font-size: 14px; }}
.warning {{ background: #fff3cd; border-left: 4px solid #e0a800; padding: 8px; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }}
.trades {{ max-height: 480px; overflow-y: scroll; display: block; }}
</style>
</head>
<body>
<h1>Almanac Futures report</h1>
<p>{html.escape(summary)}</p>
<p>{model_line}</p>
{flags}
<h2>Headline (out of fold, walk-forward)</h2>
{_table([list(r) for r in headline(run)], ["measure", "value", "against"], "headline")}
{held_out}
<h2>Charts</h2>
<div class="charts">{charts}</div>
<h2>Where the signal works: AUC, hit rate and signed return by group</h2>
<p>Signed return: the mean cutoff-to-close return, in percent, in the direction the model leaned (up when P(up)
&ge; 0.5), over every day of the group, before costs.</p>
{_table(breakdown_rows, ["group", "value", "days", "AUC", "hit rate", "signed return %"], "breakdown")}
<h2>Trades ({len(listed)})</h2>
<p>Entry at the cutoff price plus slippage, exit at the RTH close; P&amp;L of all the contracts after commission and
slippage. Size: {html.escape(sizing(run)[0])} ({html.escape(sizing(run)[1])}).</p>
{_table(trade_rows, ["trade date", "side", "contracts", "P(long)", "entry", "exit", "P&L USD"], "trades")}
</body>
</html>
"""
