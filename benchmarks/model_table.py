"""How the defaults are chosen, out of sample: every candidate model on many synthetic markets, the choice made on
selection seeds, every claim measured on evaluation seeds that chose nothing (``make robustness``).

Protocol (stated before the run; docs/defaults.md explains it):

1. Candidates: the configurations of :data:`CONFIGS` (models, tree sizes, regularisation, calibration), everything
   else at the committed params.
2. Selection seeds (:data:`SELECTION_SEEDS`, eight synthetic markets): each candidate's out-of-fold metrics on
   each.  The model default is the candidate with the best **mean Brier skill** over them (a proper score: it rewards
   ranking the days and saying probabilities that come true, which a probability threshold needs); each learner's
   own block (``train.logistic.*``, ``train.xgboost.*``, ...) defaults to that learner's best candidate by the same
   criterion; then ``backtest.threshold`` is the value of :data:`THRESHOLDS` with the best mean net Sharpe ratio of
   the chosen model over the same seeds.
3. Evaluation seeds (:data:`EVALUATION_SEEDS`, five markets including the default run's 20161): never used to
   choose anything; every figure about the pipeline's power is their mean, standard deviation and range.

    python benchmarks/model_table.py [--jobs 2] [--out benchmarks/robustness]

Writes ``<out>.json`` (read by ``almanac report`` and the ML Lab) and ``<out>.md`` (both tables).  About a minute per
seed and process on a 2-core machine: ~7 minutes with two processes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import math
import os
import platform
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SELECTION_SEEDS = (101, 202, 303, 404, 505, 606, 707, 808)
EVALUATION_SEEDS = (20161, 7, 99, 1001, 1002)
THRESHOLDS = (0.5, 0.55, 0.6, 0.65)
CRITERION = "brier_skill"
# name -> train.* overrides (dotted, as dvc exp run -S takes them); the rest stays at the committed params.
CONFIGS: dict[str, dict] = {
    "logistic C=1": {"train.model": "logistic", "train.logistic.C": 1.0},
    "logistic C=0.1": {"train.model": "logistic", "train.logistic.C": 0.1},
    "logistic C=0.01": {"train.model": "logistic", "train.logistic.C": 0.01},
    "LightGBM 2 leaves, 50 rows": {"train.model": "lightgbm", "train.lightgbm.num_leaves": 2,
                                   "train.lightgbm.min_child_samples": 50},
    "LightGBM 2 leaves, 100 rows": {"train.model": "lightgbm", "train.lightgbm.num_leaves": 2,
                                    "train.lightgbm.min_child_samples": 100},
    "LightGBM 4 leaves, 50 rows": {"train.model": "lightgbm", "train.lightgbm.num_leaves": 4,
                                   "train.lightgbm.min_child_samples": 50},
    "LightGBM 4 leaves, 100 rows": {"train.model": "lightgbm", "train.lightgbm.num_leaves": 4,
                                    "train.lightgbm.min_child_samples": 100},
    "LightGBM 8 leaves, 50 rows": {"train.model": "lightgbm", "train.lightgbm.num_leaves": 8,
                                   "train.lightgbm.min_child_samples": 50},
    "LightGBM 8 leaves, 100 rows": {"train.model": "lightgbm", "train.lightgbm.num_leaves": 8,
                                    "train.lightgbm.min_child_samples": 100},
    "LightGBM 31 leaves, 20 rows": {"train.model": "lightgbm", "train.lightgbm.num_leaves": 31,
                                    "train.lightgbm.min_child_samples": 20},
    "LightGBM 4 leaves, 50 rows, sigmoid calibration": {
        "train.model": "lightgbm", "train.lightgbm.num_leaves": 4, "train.lightgbm.min_child_samples": 50,
        "train.calibration": "sigmoid"},
    "LightGBM 31 leaves, 20 rows, sigmoid calibration": {
        "train.model": "lightgbm", "train.lightgbm.num_leaves": 31, "train.lightgbm.min_child_samples": 20,
        "train.calibration": "sigmoid"},
    "XGBoost depth 1": {"train.model": "xgboost", "train.xgboost.max_depth": 1, "train.xgboost.min_child_weight": 20.0},
    "XGBoost depth 2": {"train.model": "xgboost", "train.xgboost.max_depth": 2, "train.xgboost.min_child_weight": 20.0},
    "XGBoost depth 3": {"train.model": "xgboost", "train.xgboost.max_depth": 3, "train.xgboost.min_child_weight": 20.0},
    "XGBoost depth 6, min child weight 1": {"train.model": "xgboost", "train.xgboost.max_depth": 6,
                                            "train.xgboost.min_child_weight": 1.0},
}  # fmt: skip
METRICS = {"auc": 3, "brier_skill": 4, "ece": 3, "oracle_efficiency": 2, "sharpe": 2, "trades": 0}


def _params(overrides: dict):
    """The committed params.yaml with ``overrides`` (dotted keys) applied, validated."""
    import yaml

    from almanac.config import params_from_dict

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        target = raw
        for part in parents:
            target = target[part]
        target[leaf] = value
    return params_from_dict(raw)


def measure(seed: int) -> dict[str, dict]:
    """Each configuration's out-of-fold metrics, and net Sharpe per threshold, on the market of ``seed``."""
    import almanac
    from almanac.ml.pnl import CostModel
    from almanac.synth.oracle import oracle_probability

    base = _params({"synthetic.seed": seed})
    data = almanac.load_bars(base.data, synthetic=base.synthetic)
    sessions = almanac.build_sessions(data.bars, base.features.cutoff_time, data.manifest["rolls"])
    features, _ = almanac.build_features(data.bars, sessions, data.daily, settings=base.features)
    labels = almanac.build_labels(sessions, data.bars, settings=base.labels, atr_days=base.features.atr_days)
    oracle = oracle_probability(data.truth, sessions, cutoff=base.features.cutoff_time, symbol=base.data.symbol)
    costs = CostModel.from_params(base.backtest, symbol=base.data.symbol)
    out = {}
    for name, overrides in CONFIGS.items():  # sixteen configurations
        params = _params({"synthetic.seed": seed, **overrides})
        run = almanac.train(features, labels, sessions, target=params.labels.target, settings=params.train,
                            cv=params.cv, explain=False)  # fmt: skip
        metrics, _ = almanac.evaluate(run.oof, classes=run.classes, oracle=oracle,
                                      settings=params.evaluate.model_copy(update={"bootstrap": 0}))  # fmt: skip
        row = {key: metrics.get(key) for key in ("auc", "brier_skill", "ece", "oracle_efficiency")}
        for threshold in THRESHOLDS:  # the backtest at each candidate threshold
            settings = params.backtest.model_copy(update={"threshold": threshold, "bootstrap": 0})
            trading, _ = almanac.backtest(run.oof, sessions, settings=settings, costs=costs)
            row[f"sharpe@{threshold}"] = trading["sharpe"]
            row[f"trades@{threshold}"] = trading["trades"]
        out[name] = row
        print(f"seed {seed}: {name}: AUC {row['auc']:.4f}, Brier skill {row['brier_skill']:+.4f}", file=sys.stderr)
    return out


def _summary(values: list[float]) -> dict:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return {"mean": None, "sd": None, "min": None, "max": None, "n": 0}
    return {
        "mean": statistics.fmean(finite),
        "sd": statistics.stdev(finite) if len(finite) > 1 else 0.0,
        "min": min(finite),
        "max": max(finite),
        "n": len(finite),
    }


def choose(results: dict[int, dict]) -> dict:
    """Apply the protocol to per-seed results: the chosen configuration and threshold, and both tables (each
    configuration with its ``model`` identity, :func:`almanac.robustness.model_of`, for the report to match)."""
    from almanac.robustness import model_of

    def score(name: str) -> float:
        return statistics.fmean(results[s][name][CRITERION] for s in SELECTION_SEEDS)

    chosen = max(CONFIGS, key=score)
    learners = {}
    for name, overrides in CONFIGS.items():  # each learner's best candidate: its block's defaults
        learner = overrides["train.model"]
        if learner not in learners or score(name) > score(learners[learner]):
            learners[learner] = name
    threshold = max(
        THRESHOLDS, key=lambda t: statistics.fmean(results[s][chosen][f"sharpe@{t}"] for s in SELECTION_SEEDS)
    )
    configs = {}
    for name, overrides in CONFIGS.items():
        entry = {"params": overrides, "model": model_of(_params(overrides)), "selection": {}, "evaluation": {}}
        for group, seeds in (("selection", SELECTION_SEEDS), ("evaluation", EVALUATION_SEEDS)):
            for key in ("auc", "brier_skill", "ece", "oracle_efficiency"):
                values = [results[s][name][key] for s in seeds]
                entry[group][key] = {**_summary(values), "values": dict(zip(map(str, seeds), values, strict=True))}
            for t in THRESHOLDS:
                entry[group][f"sharpe@{t}"] = _summary([results[s][name][f"sharpe@{t}"] for s in seeds])
                entry[group][f"trades@{t}"] = _summary([results[s][name][f"trades@{t}"] for s in seeds])
        configs[name] = entry
    return {"chosen": chosen, "threshold": threshold, "learners": learners, "configs": configs}


def _fmt(summary: dict, digits: int, *, spread: bool) -> str:
    if summary["mean"] is None:
        return "n/a"
    mean = f"{summary['mean']:.{digits}f}"
    if not spread:
        return mean
    return f"{mean} ± {summary['sd']:.{digits}f} ({summary['min']:.{digits}f} to {summary['max']:.{digits}f})"


def markdown(report: dict) -> str:
    """Both tables: the candidates ranked by the criterion on the selection seeds, and the held-out figures."""
    chosen, threshold, configs = report["chosen"], report["threshold"], report["configs"]
    order = sorted(configs, key=lambda n: -configs[n]["selection"][CRITERION]["mean"])
    lines = [
        f"Machine: {report['machine']}; {report['date']}; committed params.yaml otherwise (9 years, cutoff "
        f"{report['cutoff']}, κ {report['kappa']}, ρ {report['rho']}).",
        "",
        f"Selection seeds {', '.join(map(str, SELECTION_SEEDS))}; evaluation seeds "
        f"{', '.join(map(str, EVALUATION_SEEDS))} (never used to choose). Criterion: mean {CRITERION} over the "
        f"selection seeds; then `backtest.threshold` by mean net Sharpe of the chosen model over the same seeds.",
        "",
        f"**Chosen: {chosen}**, threshold {threshold}. Each learner's block defaults to its best candidate: "
        + ", ".join(f"{learner}: {name}" for learner, name in report["learners"].items())
        + ".",
        "",
        "### Selection seeds (means over 8 markets; the choice is made here)",
        "",
        "| rank | configuration | Brier skill | AUC | ECE | oracle efficiency | "
        + " | ".join(f"Sharpe @ {t}" for t in THRESHOLDS)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(THRESHOLDS),
    ]
    for rank, name in enumerate(order, 1):
        s = configs[name]["selection"]
        cells = [_fmt(s[k], d, spread=False) for k, d in (("brier_skill", 4), ("auc", 3), ("ece", 3),
                                                           ("oracle_efficiency", 2))]  # fmt: skip
        cells += [_fmt(s[f"sharpe@{t}"], 2, spread=False) for t in THRESHOLDS]
        mark = " **(chosen)**" if name == chosen else ""
        lines.append(f"| {rank} | {name}{mark} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Evaluation seeds (held out: mean ± sd, range over 5 markets)",
        "",
        f"| configuration | AUC | Brier skill | ECE | oracle efficiency | Sharpe @ {threshold} | trades @ {threshold} |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in order:
        e = configs[name]["evaluation"]
        cells = [_fmt(e[k], d, spread=True) for k, d in (("auc", 3), ("brier_skill", 4), ("ece", 3),
                                                          ("oracle_efficiency", 2))]  # fmt: skip
        cells += [_fmt(e[f"sharpe@{threshold}"], 2, spread=True), _fmt(e[f"trades@{threshold}"], 0, spread=True)]
        mark = " **(chosen)**" if name == chosen else ""
        lines.append(f"| {name}{mark} | " + " | ".join(cells) + " |")
    per_seed = configs[chosen]["evaluation"]["oracle_efficiency"]["values"]
    lines += [
        "",
        "Oracle efficiency of the chosen configuration per evaluation seed: "
        + ", ".join(f"{seed}: {value:.2f}" for seed, value in per_seed.items())
        + f". The default run (seed {EVALUATION_SEEDS[0]}) is one draw of this distribution.",
    ]
    return "\n".join(lines) + "\n"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next(
            (x.split(":", 1)[1].strip() for x in cpuinfo.read_text().splitlines() if x.startswith("model name")), cpu
        )
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="processes (one market each)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "robustness"), help="output path without suffix")
    parser.add_argument("--from-json", action="store_true", help="redo the tables from <out>.json's per-seed results")
    args = parser.parse_args(argv)
    seeds = [*SELECTION_SEEDS, *EVALUATION_SEEDS]
    assert not set(SELECTION_SEEDS) & set(EVALUATION_SEEDS), "selection and evaluation seeds must be disjoint"
    if args.from_json:
        saved = json.loads(Path(f"{args.out}.json").read_text())
        results = {int(seed): rows for seed, rows in saved["per_seed"].items()}
        machine, date = saved["machine"], saved["date"]
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = dict(zip(seeds, pool.map(measure, seeds), strict=True))
        machine = _machine()
        date = dt.date.today().isoformat()
    from almanac.robustness import conditions_of

    base = _params({})
    report = {
        "protocol": {
            "selection_seeds": list(SELECTION_SEEDS),
            "evaluation_seeds": list(EVALUATION_SEEDS),
            "criterion": f"mean {CRITERION} over the selection seeds",
            "threshold_criterion": "mean net Sharpe of the chosen model over the selection seeds",
            "thresholds": list(THRESHOLDS),
        },
        "machine": machine,
        "date": date,
        "conditions": conditions_of(base),
        "cutoff": base.features.cutoff,
        "kappa": base.synthetic.kappa,
        "rho": base.synthetic.rho,
        "target": base.labels.target,
        "symbol": base.data.symbol,
        **choose(results),
        "per_seed": {str(seed): rows for seed, rows in results.items()},
    }
    Path(f"{args.out}.json").write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")
    text = markdown(report)
    Path(f"{args.out}.md").write_text("# Defaults chosen out of sample\n\n" + text)
    print(text)


if __name__ == "__main__":
    main()
