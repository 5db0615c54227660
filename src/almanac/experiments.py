"""DVC experiments as one table (``almanac exps``, ``make exp``, the ML Lab), and queueing a training run.

``dvc exp show --json`` nests params and metrics per file and per revision; this flattens it into one row per
baseline commit and per experiment, with the params that differ from the baseline and the columns that matter
(AUC with its CI, Brier, oracle efficiency, Sharpe, trades, DSR).  Every DVC call is an argument list run with
this interpreter's DVC (``python -m dvc``): nothing goes through a shell.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd

METRICS = {  # column -> (metrics file, key)
    "auc": ("metrics/evaluate.json", "auc"),
    "auc_ci_low": ("metrics/evaluate.json", "auc_ci_low"),
    "auc_ci_high": ("metrics/evaluate.json", "auc_ci_high"),
    "brier": ("metrics/evaluate.json", "brier"),
    "oracle_efficiency": ("metrics/evaluate.json", "oracle_efficiency"),
    "sharpe": ("metrics/backtest.json", "sharpe"),
    "sharpe_ci_low": ("metrics/backtest.json", "sharpe_ci_low"),
    "sharpe_ci_high": ("metrics/backtest.json", "sharpe_ci_high"),
    "trades": ("metrics/backtest.json", "trades"),
    "dsr": ("metrics/backtest.json", "dsr"),
    "days": ("metrics/backtest.json", "days"),
    "pnl_skew": ("metrics/backtest.json", "pnl_skew"),
    "pnl_kurtosis": ("metrics/backtest.json", "pnl_kurtosis"),
}
COLUMNS = ["name", "rev", "kind", "state", "changed", "data", *METRICS, "n_trials", "dsr_trials"]
DATA_SECTIONS = ("data.", "synthetic.")  # runs on the same data (these params equal) are trials of one selection
_LOCK = threading.Lock()  # one DVC command at a time from this process (DVC also locks the repository)


class DvcError(RuntimeError):
    """A DVC command failed; the message is DVC's last line."""


def dvc(*args: str, repo: str | Path = ".", timeout: float = 600) -> str:
    """Run ``dvc ARGS`` in ``repo`` and return its stdout; :class:`DvcError` with DVC's message on failure."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    with _LOCK:
        done = subprocess.run(
            [sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
        raise DvcError(f"dvc {' '.join(args[:2])}: {lines[-1] if lines else f'exit {done.returncode}'}")
    return done.stdout


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in (tree or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _row(entry: dict, *, kind: str, state: str, baseline_params: dict | None) -> dict:
    data = entry.get("data") or {}
    params = _flat(((data.get("params") or {}).get("params.yaml") or {}).get("data") or {})
    metrics = data.get("metrics") or {}
    row = {
        "name": entry.get("name") or ("workspace" if entry.get("rev") == "workspace" else str(entry.get("rev"))[:7]),
        "rev": "" if entry.get("rev") == "workspace" else str(entry.get("rev", ""))[:7],
        "kind": kind,
        "state": state,
        "changed": ""
        if baseline_params is None
        else ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if baseline_params.get(k) != v),
        "data": json.dumps({k: v for k, v in sorted(params.items()) if k.startswith(DATA_SECTIONS)}, default=str),
    }
    for column, (path, key) in METRICS.items():
        row[column] = ((metrics.get(path) or {}).get("data") or {}).get(key)
    return row, params


def parse(shown: list[dict]) -> pd.DataFrame:
    """Rows of ``dvc exp show --json``: the workspace, each baseline commit and its experiments (newest first)."""
    rows = []
    for baseline in shown:
        kind = "workspace" if baseline.get("rev") == "workspace" else "baseline"
        row, params = _row(baseline, kind=kind, state="done", baseline_params=None)
        rows.append(row)
        for experiment in baseline.get("experiments") or []:
            state = (experiment.get("executor") or {}).get("state") or "done"
            for rev in experiment.get("revs") or []:
                exp_row, _ = _row(rev, kind="experiment", state=state, baseline_params=params)
                exp_row["name"] = experiment.get("name") or exp_row["name"]
                rows.append(exp_row)
    return pd.DataFrame(rows, columns=COLUMNS)


def deflate(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``n_trials`` and ``dsr_trials``: each run's deflated Sharpe ratio among the runs on the same data.

    A trial is a baseline commit or an experiment with a backtest on the same data as the run (equal ``data.*`` and
    ``synthetic.*`` params: a strategy chosen among others on that data); the workspace row repeats one of them
    and does not count, and a run on other data (another symbol, other dates, another synthetic seed) is another
    selection.  The benchmark is the expected best Sharpe ratio of that many unskilled trials, with the variance
    of the trials' own Sharpe ratios (Bailey and López de Prado's deflated Sharpe ratio); the ``dsr`` of a single
    run only knows ``backtest.n_trials``.
    """
    from almanac.ml.metrics import deflated_sharpe_benchmark, psr_from_moments

    table = table.copy()
    daily = pd.to_numeric(table["sharpe"], errors="coerce") / math.sqrt(252)
    days = pd.to_numeric(table["days"], errors="coerce")
    skew = pd.to_numeric(table["pnl_skew"], errors="coerce")
    kurtosis = pd.to_numeric(table["pnl_kurtosis"], errors="coerce")
    trial = (table["kind"] != "workspace") & daily.notna() & days.gt(2)
    table["n_trials"] = 0
    table["dsr_trials"] = float("nan")
    for _, group in table.groupby("data", sort=False):  # one group per data set tried: a handful
        trials = group.index[trial[group.index]]
        n = len(trials)
        table.loc[group.index, "n_trials"] = n
        if n < 2:
            continue
        benchmark = deflated_sharpe_benchmark(float(daily[trials].var(ddof=1)), n)
        for i in group.index[(daily.notna() & days.notna())[group.index]]:  # one row per run
            table.loc[i, "dsr_trials"] = psr_from_moments(
                float(daily[i]), int(days[i]), skew=float(skew[i]), kurtosis=float(kurtosis[i]), benchmark_sr=benchmark
            )
    return table


def experiments(repo: str | Path = ".") -> pd.DataFrame:
    """The experiments table of ``repo`` (see :func:`parse`), deflated over its trials (:func:`deflate`)."""
    return deflate(parse(json.loads(dvc("exp", "show", "--json", repo=repo) or "[]")))


def display(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the table as people read it (the terminal and the ML Lab): AUC and Sharpe with their
    CIs, the DSR over the runs tried, and n/a where a metric does not exist."""

    def num(value, digits=3):
        return "n/a" if value is None or pd.isna(value) else f"{value:.{digits}f}"

    rows = []
    for r in table.itertuples():
        auc = f"{num(r.auc)} [{num(r.auc_ci_low)}, {num(r.auc_ci_high)}]"
        trades = "n/a" if r.trades is None or pd.isna(r.trades) else str(int(r.trades))
        sharpe = f"{num(r.sharpe, 2)} [{num(r.sharpe_ci_low, 2)}, {num(r.sharpe_ci_high, 2)}]"
        rows.append([r.name, r.kind, r.state, auc, num(r.brier, 4), num(r.oracle_efficiency, 2), sharpe,
                     trades, num(r.dsr_trials), r.changed or "-"])  # fmt: skip
    ran = pd.to_numeric(table["sharpe"], errors="coerce").notna()
    counts = pd.to_numeric(table.loc[ran, "n_trials"], errors="coerce").dropna().unique()
    if len(counts) == 1:  # one data set: one trial count for every row
        dsr_header = f"DSR ({int(counts[0])} trial{'s' if counts[0] != 1 else ''})"
    else:  # several data sets: each run is deflated over the runs on its own data
        dsr_header = "DSR (trials on the same data)"
    header = ["name", "kind", "state", "AUC [95% CI]", "Brier", "oracle eff", "Sharpe [95% CI]", "trades",
              dsr_header, "changed"]  # fmt: skip
    return header, rows


def text_table(table: pd.DataFrame) -> str:
    """The table for a terminal (:func:`display`), in aligned columns."""
    header, rows = display(table)
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]
    render = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    return "\n".join(render) + "\n"


def queue_training(model: str, *, repo: str | Path = ".", overrides: dict | None = None) -> str:
    """Queue ``dvc exp run --queue -S train.model=MODEL`` (from the workspace's params) and start one worker.

    The experiment runs in DVC's own temporary workspace, so the user's workspace is never touched, and two
    calls queue two experiments.  ``model`` must be a ``train.model`` value.  Returns DVC's message.
    """
    from almanac.config import model_names

    if model not in model_names():
        raise ValueError(f"train.model {model!r} is not one of {', '.join(model_names())}")
    sets = [f"train.model={model}", *(f"{k}={v}" for k, v in (overrides or {}).items())]
    out = dvc("exp", "run", "--queue", *[arg for s in sets for arg in ("-S", s)], repo=repo)
    dvc("queue", "start", "-j", "1", repo=repo)
    return out.strip().splitlines()[-1] if out.strip() else "queued"
