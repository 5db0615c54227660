"""The ML Lab's page: its sections in the original design's order (:func:`layout`), the experiments table with its
progress line, and the runs started from the page (:func:`runs_view`)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from dash import dcc, html

from almanac.config import learner_names
from almanac.exp_table import display
from almanac.pages.lab_state import ExperimentsCache, RunQueue
from almanac.pages.lab_views import feature_sets, run_view
from almanac.viz import ml_plots

TICK_MS = 1000  # the page asks the server's memory for news every second; DVC runs only when something changed
COMPARED = ("roc", "calibration", "equity", "rolling_auc")


def _graph(graph_id: str, figure) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=figure, config={"displaylogo": False})


def layout(repo: Path, cache: ExperimentsCache | None = None, queue: RunQueue | None = None):
    """The page at each load: the run's part from :func:`run_view` (rebuilt only when the run's files changed), the
    experiments table from ``cache`` and the runs of ``queue``."""
    v = run_view(repo)
    problem, model, chosen, flags = v["problem"], v["model"], v["chosen"], v["flags"]
    table, error, version = cache.snapshot() if cache is not None else (None, "", 0)
    exps, progress, options = experiments_parts(table, error, cache)
    runs, runs_version = queue.runs() if queue is not None else ([], 0)
    return html.Div(
        [
            html.H2("ML Laboratory"),
            html.Div(problem, id="problem", className="error") if problem else html.Div(id="problem"),
            html.Div([html.P(f"Warning: {w}", className="warning") for w in flags], id="warnings"),
            html.Div(
                [
                    html.H3("1. Feature Engineering"),
                    html.P("The chart shows the selected families' features; Train fits on the selected families."),
                    dcc.Dropdown(
                        id="feature-sets",
                        options=[{"label": label, "value": key} for key, label in feature_sets().items()],
                        value=chosen,
                        multi=True,
                    ),
                    _graph("feature-importance-chart", v["importance"]),
                ]
            ),
            html.Div(
                [
                    html.H3("2. Model Training"),
                    dcc.Dropdown(
                        id="model-type",
                        options=[{"label": name, "value": name} for name in learner_names()],
                        value=model if model in learner_names() else "lightgbm",
                        clearable=False,
                    ),
                    html.Button("Train Model", id="train-btn", n_clicks=0),
                    html.Div(id="train-status"),
                    html.Div(runs_view(runs), id="lab-runs"),
                    _graph("cv-scores-chart", v["folds"]),
                ]
            ),
            html.Div(
                [
                    html.H3("3. Model Evaluation"),
                    _graph("confusion-matrix", v["confusion"]),
                    _graph("shap-summary", v["beeswarm"]),
                    _graph("drift-monitor", v["rolling_auc"]),
                    *([_graph("class-auc", v["class_auc"])] if v["class_auc"] is not None else []),
                ]
            ),
            html.Div(
                [
                    html.H3("4. Strategy Backtest"),
                    _graph("equity-curve", v["equity"]),
                    html.Div(v["metrics"], id="metrics-table"),
                ]
            ),
            v["held_out"],
            html.Div(
                [
                    html.H3("5. Experiments (dvc exp show)"),
                    html.Div(progress, id="experiments-progress"),
                    html.Div(exps, id="experiments-table"),
                ]
            ),
            html.Div(
                [
                    html.H3("6. Compare runs"),
                    dcc.Dropdown(
                        id="compare-runs", options=options, value=[], multi=True, placeholder="select two or more runs"
                    ),  # fmt: skip
                    html.Div(html.P("Select two or more runs to compare them."), id="compare-table"),
                    *[_graph(f"compare-{kind.replace('_', '-')}", ml_plots.empty(kind)) for kind in COMPARED],
                ]
            ),
            dcc.Store(id="seen", data=[version, runs_version]),
            dcc.Interval(id="tick", interval=TICK_MS, n_intervals=0),
        ],
        style={"fontFamily": "sans-serif", "margin": "16px", "maxWidth": "1200px"},
    )


def _experiments_view(table) -> html.Table:
    header, cells = display(table)
    rows = [
        html.Tr(
            [html.Td(c, className=f"state-{r.state}" if i == 2 else None) for i, c in enumerate(cells_of_row)],
            className="exp-row",
            **{"data-name": r.name, "data-state": r.state, "data-changed": r.changed or ""},
        )
        for r, cells_of_row in zip(table.loc[table["shown"].astype(bool)].itertuples(), cells, strict=True)
    ]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)], id="exp-table")


def experiments_parts(table, error: str, cache: ExperimentsCache | None):
    """The experiments table, its progress line and the compare choices, from the cache's snapshot."""
    if table is None:
        what = html.Div(f"Cannot list the experiments: {error}", className="error") if error else None
        return what or html.P("Loading the experiments…"), "", []
    shown = table.loc[table["shown"].astype(bool)]
    pending = int(shown["state"].isin(["queued", "running"]).sum())
    when = time.strftime("%H:%M:%S", time.localtime(cache.refreshed_at)) if cache is not None else ""
    took = f" in {cache.took:.1f} s" if cache is not None else ""
    progress = f"{pending} experiment(s) queued or running; " if pending else f"{len(shown)} runs, nothing running; "
    progress += f"listed at {when}{took} (refreshed when the experiments change)"
    if error:
        progress += f"; the last refresh failed: {error}"
    ran = shown.loc[pd.to_numeric(shown["auc"], errors="coerce").notna() | pd.to_numeric(shown["sharpe"],
                                                                                          errors="coerce").notna()]  # fmt: skip
    options = [{"label": f"{r.name} ({r.kind}{', ' + r.changed if r.changed else ''})", "value": r.name}
               for r in ran.itertuples()]  # fmt: skip
    return _experiments_view(table), progress, options


def runs_view(runs) -> html.Div:
    """The Lab's training runs: state, the stage DVC is running, time, and the log of a failed run."""
    if not runs:
        return html.Div()
    now = time.time()
    rows = []
    for r in reversed(runs):  # newest first
        state = f"running: {r.stage}" if r.state == "running" and r.stage else r.state
        seconds = (r.ended or now) - (r.started or r.submitted)
        detail = [html.Td(f"{seconds:.0f} s"), html.Td(str(r.log))]
        rows.append(
            html.Tr(
                [html.Td(r.name), html.Td(r.changed), html.Td(state, className=f"state-{r.state}"), *detail],
                className="lab-run",
                **{"data-name": r.name, "data-state": r.state, "data-stage": r.stage},
            )
        )
        if r.state == "failed":
            rows.append(html.Tr(html.Td(html.Pre(r.tail()), colSpan=5), className="lab-run-log"))
    header = html.Thead(html.Tr([html.Th(h) for h in ("run", "settings", "state", "time", "log")]))
    return html.Div([html.H4("Runs from this page"), html.Table([header, html.Tbody(rows)], id="lab-runs-table")])
