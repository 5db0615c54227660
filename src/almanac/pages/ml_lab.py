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
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from almanac import robustness
from almanac.config import learner_names
from almanac.experiments import display
from almanac.pages.lab_state import PENDING, DuplicateRunError, ExperimentsCache, RunQueue, run_plots
from almanac.paths import PipelineFiles
from almanac.report import Run, headline, load_run, warnings
from almanac.viz import ml_plots

TICK_MS = 1000  # the page asks the server's memory for news every second; DVC runs only when something changed
COMPARED = ("roc", "calibration", "equity", "rolling_auc")


def feature_sets() -> dict[str, str]:
    """The feature families of the registry (:data:`almanac.features.ml_features.FAMILIES`) and their labels."""
    from almanac.features.ml_features import FAMILIES

    return {name: name.replace("_", " ").title() for name in FAMILIES}


def _family_features() -> dict[str, list[str]]:
    from almanac.features.ml_features import FAMILIES

    return {name: list(family.lineage) for name, family in FAMILIES.items()}


def train_settings(model: str, families: list[str] | None) -> dict[str, object]:
    """The ``-S`` settings of a Train click: the model and each family on or off (:class:`ValueError` for a model
    that is not a ``train.model`` value: the request may come from anywhere)."""
    from almanac.config import model_names

    if model not in model_names():
        raise ValueError(f"train.model {model!r} is not one of {', '.join(model_names())}")
    chosen = set(families or [])
    return {"train.model": model, **{f"features.{name}": name in chosen for name in feature_sets()}}


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


def _beeswarm(repo: Path, run: Run | None):
    """The out-of-fold SHAP summary of the workspace's run (its ``oof_shap.parquet`` and feature table)."""
    from almanac.data_sources.store import read_table

    title = "SHAP summary"
    files = PipelineFiles.under(repo)
    shap_path, features_path = files.oof_shap, files.features
    if run is None or not shap_path.is_file() or not features_path.is_file():
        return ml_plots.empty(title)
    try:
        return ml_plots.shap_beeswarm(read_table(shap_path), read_table(features_path))
    except Exception as err:  # an unreadable file: say so in the chart
        return ml_plots.empty(title, f"cannot read the SHAP values: {err}")


_FILES = PipelineFiles()
RUN_FILES = ("params.yaml", _FILES.metrics, _FILES.plots, _FILES.registry, _FILES.manifest, _FILES.oof_shap,
             _FILES.features, robustness.PATH)  # fmt: skip
_views: dict[Path, tuple[tuple, dict]] = {}  # repo -> (files' stats, the run's part of the page)
_views_lock = threading.Lock()


def _stats(repo: Path) -> tuple:
    out = []
    for name in RUN_FILES:
        path = repo / name
        for p in sorted(path.iterdir()) if path.is_dir() else [path]:
            try:
                st = p.stat()
                out.append((str(p), st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((str(p), None))
    return tuple(out)


def run_view(repo: Path) -> dict:
    """The run's part of the page (its figures, tables and warnings), built once per state of the run's files: a
    page load rebuilds nothing while the run has not changed."""
    key = _stats(repo)
    with _views_lock:
        cached = _views.get(repo)
        if cached is not None and cached[0] == key:
            return cached[1]
    run, problem = _load(repo)
    p = run.plots if run is not None else {}

    def fig(builder, name, *args):
        frame = p.get(name) if run is not None else None
        return builder(frame, *args) if frame is not None else ml_plots.empty(builder.__doc__.split(" (")[0])

    view = {
        "run": run,
        "problem": problem,
        "model": run.params.train.model if run is not None else "lightgbm",
        "chosen": [f for f in feature_sets() if run is None or getattr(run.params.features, f, True)],
        "flags": warnings(run) if run is not None else [],
        "importance": fig(ml_plots.shap_importance, "shap_importance"),
        "folds": fig(ml_plots.folds, "cv_folds"),
        "confusion": fig(ml_plots.confusion, "confusion"),
        "beeswarm": _beeswarm(repo, run),
        "rolling_auc": fig(ml_plots.rolling_auc, "rolling_auc"),
        "class_auc": ml_plots.class_auc(run.evaluate) if run is not None and "macro_f1" in run.evaluate else None,
        "equity": fig(ml_plots.equity, "equity"),
        "metrics": _metrics_table(run),
        "held_out": _held_out(run),
    }
    with _views_lock:
        _views[repo] = (key, view)
    return view


def layout(repo: Path, cache: ExperimentsCache | None = None, queue: RunQueue | None = None):
    """The page at each load: the run's part from :func:`run_view` (rebuilt only when the run's files changed), the
    experiments table from ``cache`` and the runs of ``queue``."""
    v = run_view(repo)
    problem, model, chosen, flags = v["problem"], v["model"], v["chosen"], v["flags"]
    table, error, version = cache.snapshot() if cache is not None else (None, "", 0)
    exps, progress, options = _experiments_parts(table, error, cache)
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
                    html.Div(_runs_view(runs), id="lab-runs"),
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


def _experiments_parts(table, error: str, cache: ExperimentsCache | None):
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


def _runs_view(runs) -> html.Div:
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


def _num(value, digits: int = 3, *, signed: bool = False) -> str:
    v = pd.to_numeric(value, errors="coerce")
    return "n/a" if pd.isna(v) else f"{v:{'+' if signed else ''}.{digits}f}"


COMPARE_ROWS = [  # (label, column, digits)
    ("AUC", "auc", 4), ("AUC CI low", "auc_ci_low", 4), ("AUC CI high", "auc_ci_high", 4), ("Brier", "brier", 4),
    ("oracle efficiency", "oracle_efficiency", 3), ("Sharpe (net)", "sharpe", 2), ("Sharpe CI low", "sharpe_ci_low", 2),
    ("Sharpe CI high", "sharpe_ci_high", 2), ("trades", "trades", 0), ("days", "days", 0),
    ("DSR over the runs tried", "dsr_trials", 3), ("trials (runs) on its data", "n_trials", 0),
]  # fmt: skip


def compare_rows(table: pd.DataFrame, names: list[str]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: each metric of the runs ``names`` side by side, with each run's difference from the
    first; the DSR is deflated over every run tried on the same data (:func:`almanac.experiments.deflate`)."""
    picked = [table.loc[table["name"] == n].iloc[0] for n in names if (table["name"] == n).any()]
    if not picked:
        return [], []
    base = picked[0]
    header = ["measure", base["name"]]
    for r in picked[1:]:
        header += [r["name"], f"Δ {r['name']} − {base['name']}"]
    rows = []
    for label, column, digits in COMPARE_ROWS:
        cells = [label, _num(base[column], digits)]
        for r in picked[1:]:
            a, b = pd.to_numeric(r[column], errors="coerce"), pd.to_numeric(base[column], errors="coerce")
            cells += [_num(r[column], digits), "n/a" if pd.isna(a) or pd.isna(b) else _num(a - b, digits, signed=True)]
        rows.append(cells)
    rows.append(["changed params", base["changed"] or "-", *[c for r in picked[1:] for c in (r["changed"] or "-", "")]])
    return header, rows


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
    families = _family_features()

    @app.callback(Output("feature-importance-chart", "figure"), Input("feature-sets", "value"))
    def _importance(selected):
        run = run_view(repo)["run"]
        if run is None:
            return ml_plots.empty("Feature importance")
        chosen = [f for family in (selected or []) for f in families.get(family, [])]
        return ml_plots.shap_importance(run.plots["shap_importance"], chosen)

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
        return html.Div(message, className="ok"), _runs_view(queue.runs()[0])

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
        exps, progress, options = _experiments_parts(table, error, cache)
        if seen and seen[0] == version:
            exps = progress = options = dash.no_update
        return exps, progress, options, _runs_view(runs), [version, runs_version]

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

    return app


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
