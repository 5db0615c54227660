"""The README's model table: out-of-fold AUC, Brier skill, ECE and oracle efficiency of each model configuration
on the default synthetic market with several seeds (the pipeline's own functions, default params otherwise).

    python benchmarks/model_table.py [--seeds 20161 7 99]

Prints one Markdown row per configuration, each figure as ``seed1 / seed2 / ...``.  Takes about a minute per
seed on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys

import almanac
from almanac.config import DEFAULTS, LightGBMParams, SyntheticParams, TrainParams, XGBoostParams
from almanac.synth.oracle import oracle_probability

CONFIGS = {
    "LightGBM 31 leaves, 20 rows per leaf (the old default)": TrainParams(
        model="lightgbm", lightgbm=LightGBMParams(num_leaves=31, min_child_samples=20)
    ),
    "LightGBM 4 leaves, 50 rows per leaf (**default**)": TrainParams(model="lightgbm"),
    "XGBoost depth 6 (the old default)": TrainParams(
        model="xgboost", xgboost=XGBoostParams(max_depth=6, min_child_weight=1.0)
    ),
    "XGBoost depth 2, min child weight 20 (**default**)": TrainParams(model="xgboost"),
    "logistic": TrainParams(model="logistic"),
    "LightGBM 31 leaves with `train.calibration: sigmoid`": TrainParams(
        model="lightgbm", calibration="sigmoid", lightgbm=LightGBMParams(num_leaves=31, min_child_samples=20)
    ),
}
KEYS = {"auc": 3, "brier_skill": 3, "ece": 3, "oracle_efficiency": 2}


def measure(seed: int) -> dict[str, dict[str, float]]:
    """Every configuration's evaluate metrics on the synthetic market with ``seed``."""
    synthetic = SyntheticParams(**{**DEFAULTS.synthetic.model_dump(), "seed": seed})
    data = almanac.load_bars(DEFAULTS.data, synthetic=synthetic)
    sessions = almanac.build_sessions(data.bars, rolls=data.manifest["rolls"])
    features, _ = almanac.build_features(data.bars, sessions, data.daily)
    labels = almanac.build_labels(sessions, data.bars)
    oracle = oracle_probability(data.truth, sessions, cutoff=DEFAULTS.features.cutoff_time, target="rest_of_day")
    out = {}
    for name, settings in CONFIGS.items():  # six configurations
        run = almanac.train(features, labels, sessions, settings=settings)
        metrics, _ = almanac.evaluate(run.oof, classes=run.classes, oracle=oracle)
        out[name] = metrics
        print(f"seed {seed}: {name}: AUC {metrics['auc']:.4f}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[20161, 7, 99])
    args = parser.parse_args(argv)
    results = {seed: measure(seed) for seed in args.seeds}
    seeds = " / ".join(map(str, args.seeds))
    print(f"| model | AUC ({seeds}) | Brier skill | ECE | oracle efficiency |")
    print("|---|---|---|---|---|")
    for name in CONFIGS:
        cells = []
        for key, digits in KEYS.items():
            values = [results[seed][name].get(key, float("nan")) for seed in args.seeds]
            cells.append(" / ".join(f"{v:+.{digits}f}" if key == "brier_skill" else f"{v:.{digits}f}" for v in values))
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
