"""The ML Lab's figures and tables, built from the pipeline's outputs: the run's part of the page (:func:`run_view`,
rebuilt only when the run's files change), the feature families of the registry and the comparison of runs
(:func:`compare_rows`)."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
from dash import html

from almanac import robustness
from almanac.paths import PipelineFiles
from almanac.report import Run, headline, load_run, warnings
from almanac.viz import ml_plots


def feature_sets() -> dict[str, str]:
    """The feature families of the registry (:data:`almanac.features.ml_features.FAMILIES`) and their labels."""
    from almanac.features.ml_features import FAMILIES

    return {name: name.replace("_", " ").title() for name in FAMILIES}


def family_features() -> dict[str, list[str]]:
    """Each feature family of the registry and its features' names (the importance chart's selection)."""
    from almanac.features.ml_features import FAMILIES

    return {name: list(family.lineage) for name, family in FAMILIES.items()}


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
