"""The ML Lab (the original design's ``pages/ml_lab.py``): a Dash page over the pipeline's outputs.

Sections as in the design: 1 feature sets and their importance, 2 model type and a Train button, 3 evaluation
(confusion matrix, SHAP summary, drift monitor), 4 backtest (equity curve and metrics table), plus the DVC
experiments table and a comparison of runs.

No request waits on DVC (:mod:`almanac.pages.lab_state`): the experiments table comes from a cache that a
background thread refreshes when the experiments change, and Train hands the run to a queue that runs
``dvc exp run --temp`` in DVC's temporary workspace (the user's workspace is never touched) and returns at once.
The page follows the run's state (queued, running and which stage, done, failed with its log); Train is disabled
while the same config is queued or running, and the queue refuses a duplicate, so a double click adds no trial.
Train uses the selected feature families (the others are switched off with ``-S features.<family>=false``).

Compare: select two or more runs for their metrics side by side (differences against the first, DSR over the
runs tried) and ROC, calibration, equity and rolling AUC overlaid.

Every callback catches its errors and shows them in the page; a repository without a run shows what to do.
Run it with ``almanac lab`` (binds 127.0.0.1; ``--port``).  Dash serves its own scripts: the page works offline.

This module wires the callbacks; :mod:`~almanac.pages.lab_layout` lays the page out from the figures and tables
that :mod:`~almanac.pages.lab_views` builds.
"""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from almanac.pages.lab_layout import COMPARED, experiments_parts, layout, runs_view
from almanac.pages.lab_state import PENDING, DuplicateRunError, ExperimentsCache, RunQueue, run_plots
from almanac.pages.lab_views import compare_rows, family_features, feature_sets, run_view
from almanac.viz import ml_plots


def train_settings(model: str, families: list[str] | None) -> dict[str, object]:
    """The ``-S`` settings of a Train click: the model and each family on or off (:class:`ValueError` for a model
    that is not a ``train.model`` value: the request may come from anywhere)."""
    from almanac.config import model_names

    if model not in model_names():
        raise ValueError(f"train.model {model!r} is not one of {', '.join(model_names())}")
    chosen = set(families or [])
    return {"train.model": model, **{f"features.{name}": name in chosen for name in feature_sets()}}


def create_app(repo: str | Path = ".", *, refresh_seconds: float = 1.0) -> dash.Dash:
    """The Dash app over the repository at ``repo``, with its experiments cache and run queue (``app.lab_cache``,
    ``app.lab_queue``; :func:`close` stops them)."""
    repo = Path(repo).resolve()
    app = dash.Dash(__name__, title="Almanac Futures ML Lab", serve_locally=True)
    cache = ExperimentsCache(repo, interval=refresh_seconds)

    def taken() -> set[str]:
        table = cache.snapshot()[0]
        return set() if table is None else set(table["name"].astype(str))

    queue = RunQueue(repo, taken=taken, on_done=cache.invalidate)
    app.lab_cache, app.lab_queue = cache, queue
    app.layout = lambda: layout(repo, cache, queue)
    _importance_callback(app, repo)
    _train_callbacks(app, queue)
    _news_callback(app, cache, queue)
    _compare_callback(app, repo, cache)
    return app


def _importance_callback(app: dash.Dash, repo: Path) -> None:
    """Section 1: the importance chart shows the selected families' features."""
    families = family_features()

    @app.callback(Output("feature-importance-chart", "figure"), Input("feature-sets", "value"))
    def _importance(selected):
        run = run_view(repo)["run"]
        if run is None:
            return ml_plots.empty("Feature importance")
        chosen = [f for family in (selected or []) for f in families.get(family, [])]
        return ml_plots.shap_importance(run.plots["shap_importance"], chosen)


def _train_callbacks(app: dash.Dash, queue: RunQueue) -> None:
    """Section 2: Train queues a run of the selected model and families; the button is disabled while the same
    config is queued or running."""

    @app.callback(
        Output("train-status", "children"),
        Output("lab-runs", "children", allow_duplicate=True),
        Input("train-btn", "n_clicks"),
        State("model-type", "value"),
        State("feature-sets", "value"),
        prevent_initial_call=True,
    )
    def _train(n_clicks, model, selected):
        if not selected:
            return html.Div("Select at least one feature family to train on.", className="error"), dash.no_update
        try:
            submitted = queue.submit(train_settings(model, selected))
        except DuplicateRunError as err:
            return html.Div(f"Not queued: {err}.", className="error"), dash.no_update
        except Exception as err:  # shown in the page, never a traceback
            return html.Div(f"Could not queue the experiment: {err}", className="error"), dash.no_update
        message = f"Queued experiment {submitted.name} ({submitted.changed}); the runs below follow its progress."
        return html.Div(message, className="ok"), runs_view(queue.runs()[0])

    @app.callback(
        Output("train-btn", "disabled"),
        Output("train-btn", "title"),
        Input("model-type", "value"),
        Input("feature-sets", "value"),
        Input("tick", "n_intervals"),
    )
    def _train_enabled(model, selected, _):
        if not selected:
            return True, "select at least one feature family"
        try:
            waiting = queue.pending(train_settings(model, selected))
        except ValueError as err:
            return True, str(err)
        return (True, f"{waiting.name} with this config is {waiting.state}") if waiting else (False, "")


def _news_callback(app: dash.Dash, cache: ExperimentsCache, queue: RunQueue) -> None:
    """Sections 2 and 5 follow the experiments and the page's runs: re-rendered only when something changed."""

    @app.callback(
        Output("experiments-table", "children"),
        Output("experiments-progress", "children"),
        Output("compare-runs", "options"),
        Output("lab-runs", "children"),
        Output("seen", "data"),
        Input("tick", "n_intervals"),
        State("seen", "data"),
    )
    def _news(_, seen):
        table, error, version = cache.snapshot()
        runs, runs_version = queue.runs()
        running = any(r.state in PENDING for r in runs)
        if seen == [version, runs_version] and not running:
            raise PreventUpdate  # nothing changed: no DVC call, no re-render
        exps, progress, options = experiments_parts(table, error, cache)
        if seen and seen[0] == version:
            exps = progress = options = dash.no_update
        return exps, progress, options, runs_view(runs), [version, runs_version]


def _compare_callback(app: dash.Dash, repo: Path, cache: ExperimentsCache) -> None:
    """Section 6: the selected runs' metrics side by side and their curves overlaid."""

    @app.callback(
        Output("compare-table", "children"),
        *[Output(f"compare-{kind.replace('_', '-')}", "figure") for kind in COMPARED],
        Input("compare-runs", "value"),
    )
    def _compare(names):
        names = list(names or [])
        table = cache.snapshot()[0]
        if len(names) < 2 or table is None:
            return (html.P("Select two or more runs to compare them."),
                    *[ml_plots.empty(kind.replace("_", " "), "select two or more runs") for kind in COMPARED])  # fmt: skip
        try:
            header, rows = compare_rows(table, names)
            plots = run_plots(table, names, repo)
        except Exception as err:
            return html.Div(f"Cannot compare: {err}", className="error"), *[dash.no_update] * len(COMPARED)
        view = html.Table(
            [html.Thead(html.Tr([html.Th(h) for h in header])),
             html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
            id="compare-metrics",
        )  # fmt: skip
        return view, *[ml_plots.overlay(kind, plots[kind]) for kind in COMPARED]


def close(app: dash.Dash) -> None:
    """Stop the app's run queue (terminating a running experiment) and its experiments watcher."""
    app.lab_queue.close()
    app.lab_cache.close()


def serve(repo: str | Path = ".", *, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Run the ML Lab until interrupted (or terminated: SIGTERM stops the queue's running experiment too)."""
    import signal

    app = create_app(repo)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        app.run(host=host, port=port, debug=False)
    except KeyboardInterrupt:
        pass
    finally:
        close(app)
