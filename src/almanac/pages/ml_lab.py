"""The ML Lab (the original design's ``pages/ml_lab.py``): a Dash page over the pipeline's outputs.

Sections as in the design: 1 feature sets and their importance, 2 model type and a Train button, 3 evaluation
(confusion matrix, SHAP summary, drift monitor), 4 backtest (equity curve and metrics table), plus the DVC
experiments table.  Train queues a real ``dvc exp run --queue -S train.model=...`` and starts one worker
(:func:`almanac.experiments.queue_training`): the experiment runs in DVC's temporary workspace, so the page never
changes the user's workspace, and two clicks queue two experiments.  The table polls ``dvc exp show`` and shows
each experiment's state until it is done.

Every callback catches its errors and shows them in the page; a repository without a run shows what to do.
Run it with ``almanac lab`` (binds 127.0.0.1; ``--port``).  Dash serves its own scripts: the page works offline.
"""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Input, Output, State, dcc, html

from almanac import robustness
from almanac.config import learner_names
from almanac.experiments import display, experiments, queue_training
from almanac.report import Run, headline, load_run, warnings
from almanac.viz import ml_plots

FEATURE_SETS = {"early_session": "Early Session", "cross_asset": "Cross-Asset", "regime": "Regime"}
POLL_MS = 4000


def _family_features() -> dict[str, list[str]]:
    from almanac.features.ml_features import FAMILIES

    return {name: list(FAMILIES[name].lineage) for name in FEATURE_SETS}


def _load(repo: Path) -> tuple[Run | None, str]:
    try:
        return load_run(repo), ""
    except FileNotFoundError as err:
        return None, f"No pipeline run yet: {err}"
    except Exception as err:  # a broken params file or output: say so in the page
        return None, f"Cannot read the run: {err}"


def _metrics_table(run: Run | None) -> html.Table | html.P:
    if run is None:
        return html.P("No metrics yet.", className="empty")
    rows = [html.Tr([html.Td(m), html.Td(v), html.Td(c)]) for m, v, c in headline(run)]
    return html.Table(
        [html.Thead(html.Tr([html.Th("measure"), html.Th("value"), html.Th("against")])), html.Tbody(rows)],
        id="metrics-headline",
    )


def _held_out(run: Run | None) -> html.Div:
    """The defaults protocol's held-out table (benchmarks/robustness.json): what the pipeline does on markets that
    chose nothing, beside this run's single draw."""
    header, rows = robustness.held_out_table(run.robustness, run.params) if run is not None else ([], [])
    if not rows:
        return html.Div(id="held-out")
    return html.Div(
        [
            html.H3("Defaults chosen out of sample (held-out seeds)"),
            html.P(robustness.protocol_sentence(run.robustness)),
            html.Table(
                [
                    html.Thead(html.Tr([html.Th(h) for h in header])),
                    html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows]),
                ],
                id="held-out-table",
            ),  # fmt: skip
        ],
        id="held-out",
    )


def _graph(graph_id: str, figure) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=figure, config={"displaylogo": False})


def layout(repo: Path):
    """The page, read afresh at each page load (the run may have changed)."""
    run, problem = _load(repo)
    p = run.plots if run is not None else {}

    def table(name):
        return p.get(name) if run is not None else None

    def fig(builder, name, *args):
        frame = table(name)
        return builder(frame, *args) if frame is not None else ml_plots.empty(builder.__doc__.split(" (")[0])

    model = run.params.train.model if run is not None else "lightgbm"
    flags = warnings(run) if run is not None else []
    return html.Div(
        [
            html.H2("ML Laboratory"),
            html.Div(problem, id="problem", className="error") if problem else html.Div(id="problem"),
            html.Div([html.P(f"Warning: {w}", className="warning") for w in flags], id="warnings"),
            html.Div(
                [
                    html.H3("1. Feature Engineering"),
                    dcc.Dropdown(
                        id="feature-sets",
                        options=[{"label": label, "value": key} for key, label in FEATURE_SETS.items()],
                        value=list(FEATURE_SETS),
                        multi=True,
                    ),
                    _graph("feature-importance-chart", fig(ml_plots.shap_importance, "shap_importance")),
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
                    _graph("cv-scores-chart", fig(ml_plots.folds, "cv_folds")),
                ]
            ),
            html.Div(
                [
                    html.H3("3. Model Evaluation"),
                    _graph("confusion-matrix", fig(ml_plots.confusion, "confusion")),
                    _graph("shap-summary", fig(ml_plots.shap_importance, "shap_importance")),
                    _graph("drift-monitor", fig(ml_plots.rolling_auc, "rolling_auc")),
                    *(
                        [_graph("class-auc", ml_plots.class_auc(run.evaluate))]
                        if run is not None and "macro_f1" in run.evaluate
                        else []
                    ),
                ]
            ),
            html.Div(
                [
                    html.H3("4. Strategy Backtest"),
                    _graph("equity-curve", fig(ml_plots.equity, "equity")),
                    html.Div(_metrics_table(run), id="metrics-table"),
                ]
            ),
            _held_out(run),
            html.Div(
                [
                    html.H3("5. Experiments (dvc exp show)"),
                    html.Div(id="experiments-progress"),
                    html.Div(html.P("Loading the experiments…"), id="experiments-table"),
                    dcc.Interval(id="poll", interval=POLL_MS, n_intervals=0),
                ]
            ),
        ],
        style={"fontFamily": "sans-serif", "margin": "16px", "maxWidth": "1200px"},
    )


def _experiments_view(table) -> tuple[html.Table, str]:
    header, cells = display(table)
    rows = [
        html.Tr(
            [html.Td(c, className=f"state-{r.state}" if i == 2 else None) for i, c in enumerate(cells_of_row)],
            className="exp-row",
            **{"data-name": r.name, "data-state": r.state, "data-changed": r.changed or ""},
        )
        for r, cells_of_row in zip(table.itertuples(), cells, strict=True)
    ]
    pending = table["state"].isin(["queued", "running"]).sum()
    progress = f"{pending} experiment(s) queued or running…" if pending else f"{len(table)} rows, nothing running."
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)], id="exp-table"), progress


def create_app(repo: str | Path = ".") -> dash.Dash:
    """The Dash app over the repository at ``repo``."""
    repo = Path(repo).resolve()
    app = dash.Dash(__name__, title="Almanac Futures ML Lab", serve_locally=True)
    app.layout = lambda: layout(repo)
    families = _family_features()

    @app.callback(Output("feature-importance-chart", "figure"), Input("feature-sets", "value"))
    def _importance(selected):
        run, _ = _load(repo)
        if run is None:
            return ml_plots.empty("Feature importance")
        chosen = [f for family in (selected or []) for f in families.get(family, [])]
        return ml_plots.shap_importance(run.plots["shap_importance"], chosen)

    @app.callback(
        Output("train-status", "children"),
        Input("train-btn", "n_clicks"),
        State("model-type", "value"),
        prevent_initial_call=True,
    )
    def _train(n_clicks, model):
        try:
            message = queue_training(model, repo=repo)
        except Exception as err:  # shown in the page, never a traceback
            return html.Div(f"Could not queue the experiment: {err}", className="error")
        return html.Div(f"{message} A worker runs it; the table below follows its progress.", className="ok")

    @app.callback(
        Output("experiments-table", "children"),
        Output("experiments-progress", "children"),
        Input("poll", "n_intervals"),
    )
    def _experiments(_):
        try:
            table, progress = _experiments_view(experiments(repo))
        except Exception as err:
            return html.Div(f"Cannot list the experiments: {err}", className="error"), ""
        return table, progress

    return app


def serve(repo: str | Path = ".", *, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Run the ML Lab until interrupted."""
    create_app(repo).run(host=host, port=port, debug=False)
