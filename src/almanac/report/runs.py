"""What one pipeline run produced, as the report reads it: the committed outputs of the workspace
(:func:`load_run`) or a run of ``dvc exp show`` (:func:`load_experiment`), and the runs tried beside it
(:func:`with_trials`)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from almanac import robustness
from almanac.config import Params, load_params
from almanac.paths import PipelineFiles


@dataclasses.dataclass(frozen=True)
class Run:
    """What one pipeline run produced (the committed outputs)."""

    params: Params
    train: dict
    evaluate: dict
    backtest: dict
    registry: dict
    plots: dict[str, pd.DataFrame]
    trials: dict = dataclasses.field(default_factory=dict)  # {"n": trials, "runs": runs, "dsr": deflated over them}
    robustness: dict = dataclasses.field(default_factory=dict)  # benchmarks/robustness.json: the held-out figures
    ingest_warnings: list = dataclasses.field(default_factory=list)  # data/bars/manifest.json's "warnings"

    @property
    def model(self) -> tuple[str, dict]:
        """``(name, record)`` of the current registered model (empty when there is no registry)."""
        name = self.registry.get("current", "")
        return name, self.registry.get("versions", {}).get(name, {})


PLOT_FILES = ("cv_folds", "roc", "calibration", "rolling_auc", "shap_importance", "equity", "yearly", "breakdown",
              "confusion")  # fmt: skip


def load_run(root: str | Path = ".", *, params: str | Path = "params.yaml") -> Run:
    """Read a run's outputs under ``root`` (the repository root); missing files give empty tables."""
    root = Path(root)
    files = PipelineFiles.under(root)

    def json_or_empty(path: Path) -> dict:
        return json.loads(path.read_text()) if path.is_file() else {}

    missing = [name for name in ("train", "evaluate", "backtest") if not files.metric(name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{files.metrics}: no {', '.join(m + '.json' for m in missing)}; run the pipeline first (dvc repro)"
        )
    plots = {}
    for name in PLOT_FILES:
        path = files.plot(name)
        plots[name] = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    return Run(
        params=load_params(root / params),
        train=json_or_empty(files.train_metrics),
        evaluate=json_or_empty(files.evaluate_metrics),
        backtest=json_or_empty(files.backtest_metrics),
        registry=json_or_empty(files.registry),
        plots=plots,
        robustness=robustness.load(root / robustness.PATH),
        ingest_warnings=json_or_empty(files.manifest).get("warnings", []),
    )


def load_experiment(name: str, repo: str | Path = ".") -> Run:
    """A run of ``dvc exp show`` (an experiment name, or a commit / revision prefix) as a :class:`Run`: its params
    and metrics (plots are not part of ``dvc exp show``: the Markdown report needs none)."""
    from almanac.experiments import dvc

    found = None
    for baseline in json.loads(dvc("exp", "show", "--json", repo=repo) or "[]"):
        candidates = [(baseline.get("name"), baseline)]
        for experiment in baseline.get("experiments") or []:
            candidates += [(experiment.get("name"), rev) for rev in experiment.get("revs") or []]
        for label, entry in candidates:
            if name in (label, entry.get("name")) or str(entry.get("rev", "")).startswith(name):
                found = entry
    if found is None or not (found.get("data") or {}).get("metrics"):
        raise FileNotFoundError(f"{name!r} is not a run in dvc exp show (or it has no metrics yet)")
    data = found["data"]
    metrics = {Path(path).stem: (value.get("data") or {}) for path, value in data["metrics"].items()}
    params = Params.model_validate(data["params"]["params.yaml"]["data"])
    return Run(
        params=params, train=metrics.get("train", {}), evaluate=metrics.get("evaluate", {}),
        backtest=metrics.get("backtest", {}), registry={}, plots={n: pd.DataFrame() for n in PLOT_FILES},
        robustness=robustness.load(Path(repo) / robustness.PATH),
    )  # fmt: skip


def with_trials(run: Run, name: str = "workspace", repo: str | Path = ".") -> Run:
    """``run`` with its Sharpe ratio deflated over every run in ``dvc exp show`` (:func:`experiments.deflate`);
    unchanged when there is no DVC repository to ask."""
    from almanac.experiments import DvcError, experiments

    try:
        table = experiments(repo)
    except (DvcError, OSError, ValueError):
        return run
    rows = table.loc[table["name"] == name]
    dsr = float(rows["dsr_trials"].iloc[0]) if len(rows) else float("nan")
    n = int(rows["n_trials"].iloc[0]) if len(rows) else 0  # independent trials among the runs on this run's data
    runs = int(rows["n_runs"].iloc[0]) if len(rows) else 0
    return dataclasses.replace(run, trials={"n": n, "runs": runs, "dsr": dsr})
