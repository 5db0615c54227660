"""DVC experiments as one table (``almanac exps``, ``make exp``, the ML Lab) and the deflated Sharpe ratio over them.

``dvc exp show --json`` nests params and metrics per file and per revision; this flattens it into one row per
baseline commit and per experiment, with the params that differ from the baseline and the columns that matter
(AUC with its CI, Brier, oracle efficiency, Sharpe, trades, DSR; :mod:`almanac.exp_table` formats them for the
ML Lab and the terminal).  Every DVC call is an argument list run with this interpreter's DVC (``python -m dvc``):
nothing goes through a shell.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from almanac.paths import PipelineFiles

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
    "degenerate": ("metrics/backtest.json", "degenerate"),
}
COLUMNS = ["name", "rev", "kind", "state", "changed", "data", "target", "model", *METRICS, "full_rev", "shown",
           "n_runs", "n_trials", "dsr_trials", "params"]  # fmt: skip
DATA_SECTIONS = ("data.", "synthetic.")  # runs on the same data (these params equal) are trials of one selection
SAME_TRIAL_CORRELATION = 0.9  # runs whose daily P&L correlate at least this much, pairwise, are one trial
MIN_COMMON_DAYS = 60  # fewer shared days: no correlation is measured and the runs count as separate trials
EQUITY = PipelineFiles().equity.as_posix()  # the daily P&L of a run (committed with it: DVC keeps plots in git)
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


def _selection(params: dict) -> dict:
    """What puts a run in a selection of trials: its data (``data.*``, ``synthetic.*``), its target and its model."""
    return {
        "data": json.dumps({k: v for k, v in sorted(params.items()) if k.startswith(DATA_SECTIONS)}, default=str),
        "target": params.get("labels.target", "rest_of_day"),
        "model": params.get("train.model"),
    }


def _row(entry: dict, *, kind: str, state: str, baseline_params: dict | None) -> dict:
    data = entry.get("data") or {}
    params = _flat(((data.get("params") or {}).get("params.yaml") or {}).get("data") or {})
    metrics = data.get("metrics") or {}
    rev = str(entry.get("rev", ""))
    row = {
        "name": entry.get("name") or ("workspace" if rev == "workspace" else rev[:7]),
        "rev": "" if rev == "workspace" else rev[:7],
        "kind": kind,
        "state": state,
        "changed": ""
        if baseline_params is None
        else ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if baseline_params.get(k) != v),
        **_selection(params),
        "full_rev": "" if rev == "workspace" else rev,
        "shown": True,
        "params": params,  # every flat params key, for grouping by any of them (almanac exps --by)
    }
    for column, (path, key) in METRICS.items():
        row[column] = ((metrics.get(path) or {}).get("data") or {}).get(key)
    return row, params


def parse(shown: list[dict], *, head: str | None = None) -> pd.DataFrame:
    """Rows of ``dvc exp show --json``: the workspace, each baseline commit and its experiments.  ``shown`` is False
    for baseline commits other than ``head`` (the checked-out commit): they count as trials, but the table people
    read lists the workspace, ``head`` and every experiment."""
    rows = []
    for baseline in shown:
        kind = "workspace" if baseline.get("rev") == "workspace" else "baseline"
        row, params = _row(baseline, kind=kind, state="done", baseline_params=None)
        row["shown"] = kind == "workspace" or head is None or str(baseline.get("rev", "")).startswith(head)
        rows.append(row)
        for experiment in baseline.get("experiments") or []:
            state = (experiment.get("executor") or {}).get("state") or "done"
            for rev in experiment.get("revs") or []:
                exp_row, _ = _row(rev, kind="experiment", state=state, baseline_params=params)
                exp_row["name"] = experiment.get("name") or exp_row["name"]
                rows.append(exp_row)
    return pd.DataFrame(rows, columns=COLUMNS)


def daily_pnl(table: pd.DataFrame, repo: str | Path = ".") -> dict:
    """Each run's daily P&L (``pnl_usd`` by trade date, from its ``plots/equity.csv``), keyed by the table's index:
    the workspace's file on disk, every other run's from git (``git cat-file --batch``, one process for all).  Runs
    whose file is missing or has no ``pnl_usd`` column are left out."""
    repo = Path(repo)
    out, wanted = {}, {}
    for i, row in table.iterrows():  # one row per run: dozens
        if row["kind"] == "workspace":
            if (repo / EQUITY).is_file():
                out[i] = _pnl_series((repo / EQUITY).read_text())
        elif row["full_rev"] and pd.notna(row["sharpe"]):
            wanted[i] = f"{row['full_rev']}:{EQUITY}"
    if wanted:
        printed = _git(repo, "cat-file", "--batch", stdin="\n".join(wanted.values()) + "\n")
        for i, text in zip(wanted, _batch_objects(printed), strict=False):
            if text is not None:
                out[i] = _pnl_series(text)
    return {i: series for i, series in out.items() if series is not None}


def _batch_objects(stdout: str) -> list[str | None]:
    """The objects ``git cat-file --batch`` printed, in request order (None for a missing one)."""
    objects, position = [], 0
    while position < len(stdout):
        end = stdout.index("\n", position)
        header = stdout[position:end].split()
        if len(header) == 2 and header[1] == "missing":
            objects.append(None)
            position = end + 1
            continue
        size = int(header[2])
        body = stdout[end + 1 : end + 1 + size]  # git reports bytes; the CSVs are ASCII
        objects.append(body)
        position = end + 1 + size + 1
    return objects


def _pnl_series(text: str) -> pd.Series | None:
    frame = pd.read_csv(io.StringIO(text))
    if "pnl_usd" not in frame or "trade_date" not in frame:
        return None
    return pd.Series(frame["pnl_usd"].to_numpy(dtype=float), index=pd.to_datetime(frame["trade_date"]))


def trial_clusters(runs: list, pnl: dict, table: pd.DataFrame) -> np.ndarray:
    """Cluster label of each run in ``runs`` (index labels of ``table``): runs whose daily P&L correlate at
    :data:`SAME_TRIAL_CORRELATION` or more with every other member of their cluster (complete linkage) are one
    trial.  Correlations are over the days both runs have (at least :data:`MIN_COMMON_DAYS`, else the runs count
    as separate trials); identical P&L series are the same trial however short.  Two runs without a P&L series are
    the same trial only when their backtest metrics are identical."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    k = len(runs)
    if k < 2:
        return np.ones(k, dtype=int)
    series = {i: pnl[r] for i, r in enumerate(runs) if r in pnl}
    similarity = np.zeros((k, k))
    if series:
        aligned = pd.DataFrame({i: s[~s.index.duplicated()] for i, s in series.items()})
        # pandas' pairwise-complete correlation (its own loops, no BLAS): each pair over the days both runs have.
        rho = aligned.corr(min_periods=MIN_COMMON_DAYS).fillna(0.0)
        idx = list(series)
        similarity[np.ix_(idx, idx)] = rho.to_numpy()
        # identical series: one trial however short (a re-run, an applied experiment)
        fingerprint = np.array([hash((s.index.asi8.tobytes(), s.to_numpy().tobytes())) for s in series.values()])
        block = similarity[np.ix_(idx, idx)]
        block[np.equal.outer(fingerprint, fingerprint)] = 1.0
        similarity[np.ix_(idx, idx)] = block
    # Runs without a series: the same trial when their backtest metrics are identical, else unrelated.
    keys = ["sharpe", "days", "pnl_skew", "pnl_kurtosis", "trades"]
    code, _ = pd.factorize(pd.Series([tuple(table.loc[r, keys].tolist()) for r in runs]))
    has = np.isin(np.arange(k), list(series))
    without = ~np.logical_and.outer(has, has)
    similarity[without] = np.equal.outer(code, code)[without]
    np.fill_diagonal(similarity, 1.0)
    distance = squareform(np.clip(1.0 - similarity, 0.0, 2.0), checks=False)
    return fcluster(linkage(distance, method="complete"), t=1.0 - SAME_TRIAL_CORRELATION, criterion="distance")


def deflate(table: pd.DataFrame, pnl: dict | None = None) -> pd.DataFrame:
    """Add ``n_runs``, ``n_trials`` and ``dsr_trials``: each run's deflated Sharpe ratio among the trials of its
    selection.

    A selection is the runs on the same data (equal ``data.*`` and ``synthetic.*`` params: another symbol, other
    dates or another synthetic seed is another selection) with the same ``labels.target``.  Its runs are the
    workspace, every commit and every experiment with a backtest, except degenerate backtests and the baseline
    models (nobody would select them).  Runs that trade alike are not independent trials: runs whose daily P&L
    (``pnl``, from :func:`daily_pnl`) correlate at :data:`SAME_TRIAL_CORRELATION` or more are clustered into one
    trial (:func:`trial_clusters`), so an exact or near duplicate adds nothing, while an unrelated run adds one.
    ``n_trials`` is the number of clusters, ``n_runs`` the runs; the benchmark is the best Sharpe ratio expected of
    ``n_trials`` unskilled trials with the variance of the clusters' Sharpe ratios (each the mean of its runs'),
    Bailey and López de Prado's deflated Sharpe ratio in the clustered form López de Prado recommends.  A single
    run's own ``dsr`` only knows ``backtest.n_trials``.
    """
    groups = [group.index for _, group in table.groupby(["data", "target"], sort=False)]  # a handful
    return _deflate_groups(table, pnl, groups, ("n_runs", "n_trials", "dsr_trials"))


def _moments(table: pd.DataFrame) -> tuple[pd.Series, ...]:
    """Daily Sharpe ratio, days, skew and kurtosis of each run's backtest, as numbers (NaN when missing)."""
    daily = pd.to_numeric(table["sharpe"], errors="coerce") / math.sqrt(252)
    return daily, *(pd.to_numeric(table[c], errors="coerce") for c in ("days", "pnl_skew", "pnl_kurtosis"))


def trial_mask(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """``(ran, trial)``: runs with a backtest of more than two days that is not degenerate, and of those the ones
    that count as trials (finished, not a baseline model)."""
    from almanac.config import BASELINES

    daily, days, _, _ = _moments(table)
    degenerate = table["degenerate"].map(lambda v: v is True or v == "true")
    ran = daily.notna() & days.gt(2) & ~degenerate
    return ran, ran & ~table["model"].isin(BASELINES) & table["state"].isin(["done", "success"])


def _deflate_groups(table: pd.DataFrame, pnl: dict | None, groups: list, names: tuple[str, str, str]) -> pd.DataFrame:
    """A copy of ``table`` with the columns ``names`` (runs, trials, DSR): each row's deflated Sharpe ratio over the
    trials of its group (``groups``: lists of index labels; a row in none keeps 0, 0 and NaN)."""
    from almanac.ml.metrics import deflated_sharpe_benchmark, psr_from_moments

    table = table.copy()
    pnl = pnl or {}
    daily, days, skew, kurtosis = _moments(table)
    ran, trial = trial_mask(table)
    n_runs, n_trials, dsr = names
    table[n_runs] = 0
    table[n_trials] = 0
    table[dsr] = float("nan")
    for index in groups:
        runs = list(index[trial[index]])
        if not runs:
            continue
        clusters = trial_clusters(runs, pnl, table)
        cluster_sr = pd.Series(daily[runs].to_numpy()).groupby(clusters).mean()
        n = len(cluster_sr)
        table.loc[index, n_runs] = len(runs)
        table.loc[index, n_trials] = n
        if n < 2:
            continue
        benchmark = deflated_sharpe_benchmark(float(cluster_sr.var(ddof=1)), n)
        for i in index[ran[index]]:  # one row per run
            table.loc[i, dsr] = psr_from_moments(
                float(daily[i]), int(days[i]), skew=float(skew[i]), kurtosis=float(kurtosis[i]), benchmark_sr=benchmark
            )
    return table


def param_value(params, key: str) -> str:
    """The value of the flat params key ``key`` in a row's ``params`` as text (``'n/a'`` when the run lacks it)."""
    if not isinstance(params, dict) or key not in params:
        return "n/a"
    return str(params[key])


def deflate_within(table: pd.DataFrame, key: str, pnl: dict | None = None) -> pd.DataFrame:
    """Add ``group`` (the value of the params key ``key``, e.g. ``data.symbol``, as text), ``group_runs``,
    ``group_trials`` and ``dsr_group``: each run's deflated Sharpe ratio over the trials of its group only.

    :func:`deflate`'s machinery on other groups: the trials are the group's runs with a backtest, except degenerate
    backtests and the baseline models; runs whose daily P&L (``pnl``) correlate at :data:`SAME_TRIAL_CORRELATION`
    or more are one trial.  A group is whatever shares the value of ``key``, whatever else differs (another seed or
    model is another trial of the group).  ``table`` is not mutated; a run without ``key`` is in group ``'n/a'``.
    """
    table = table.copy()
    table["group"] = table["params"].map(lambda params: param_value(params, key))
    groups = [group.index for _, group in table.groupby("group", sort=False)]
    return _deflate_groups(table, pnl, groups, ("group_runs", "group_trials", "dsr_group"))


_EXP_REF = re.compile(r"^refs/exps/[0-9a-f]{2}/[0-9a-f]{38}/(?P<name>[^/]+)$")  # DVC's experiment refs


def _git(repo: str | Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else ""


def history(repo: str | Path = ".", *, known: set[str] = frozenset()) -> pd.DataFrame:
    """Every run the repository holds, read from git (rows in :func:`parse`'s layout, ``shown`` False): each commit
    on a branch or tag and each finished DVC experiment (``refs/exps``), with the params and backtest metrics it
    committed.  Runs whose sha is in ``known`` (the rows ``dvc exp show`` already listed) are left out.

    This is the ledger of trials: git keeps it, so committing ``dvc.lock`` after an experiment keeps the experiment
    (its ref stays) and every earlier commit stays a trial; ``dvc exp remove`` removes one.  One ``git cat-file``
    process reads every run's files, so a long history costs little (``dvc exp show --all-commits`` takes about
    20 s on this repository's 77 commits).
    """
    runs: dict[str, tuple[str, str]] = {}
    for sha in _git(repo, "rev-list", "--branches", "--tags").split():
        runs[sha] = ("baseline", sha[:7])
    for line in _git(repo, "for-each-ref", "refs/exps", "--format=%(objectname) %(refname)").splitlines():
        sha, ref = line.split(" ", 1)
        match = _EXP_REF.match(ref)
        if match:
            runs[sha] = ("experiment", match["name"])
    runs = {sha: run for sha, run in runs.items() if sha not in known}
    wanted = [f"{sha}:{path}" for sha in runs for path in ("params.yaml", "metrics/backtest.json")]
    objects = _batch_objects(_git(repo, "cat-file", "--batch", stdin="\n".join(wanted) + "\n")) if wanted else []
    rows = []
    for (sha, (kind, name)), params_text, metrics_text in zip(runs.items(), objects[::2], objects[1::2], strict=False):
        if params_text is None or metrics_text is None:
            continue  # a commit before the backtest existed: no run to count
        rows.append(_history_row(sha, kind, name, params_text, metrics_text))
    return pd.DataFrame(rows, columns=COLUMNS)


def _history_row(sha: str, kind: str, name: str, params_text: str, metrics_text: str) -> dict:
    from almanac.config import yaml_params

    try:
        params = _flat(yaml_params(params_text) or {})
        metrics = json.loads(metrics_text)
    except (ValueError, TypeError):
        params, metrics = {}, {}
    row = {column: None for column in COLUMNS}
    row.update(name=name, rev=sha[:7], kind=kind, state="done", changed="", full_rev=sha, shown=False, params=params)
    row.update(_selection(params))
    for column, (path, key) in METRICS.items():
        if path == "metrics/backtest.json":
            row[column] = metrics.get(key)
    return row


def experiments(repo: str | Path = ".") -> pd.DataFrame:
    """The experiments table of ``repo``: what ``dvc exp show`` lists (the workspace, the checked-out commit and its
    experiments), plus every other run in the repository's history (:func:`history`, not shown but counted),
    deflated over the trials (:func:`deflate`)."""
    head = _git(repo, "rev-parse", "HEAD").strip() or None
    table = parse(json.loads(dvc("exp", "show", "--json", repo=repo) or "[]"), head=head)
    known = set(table["full_rev"].dropna())
    table = pd.concat([table, history(repo, known=known)], ignore_index=True)
    return deflate(table, daily_pnl(table, repo))


TRIALS_NOTE = (
    "DSR over the runs tried: every commit on a branch and every DVC experiment of the repository (read from git) on "
    "the same data and target, degenerate and baseline backtests left out; runs whose daily P&L correlate at "
    f"{SAME_TRIAL_CORRELATION} or more count as one trial."
)
