"""Stage ``evaluate``: ``metrics/evaluate.json`` and the plots ROC, calibration, confusion, rolling AUC, SHAP.

Scores the out-of-fold probabilities against the baselines on the same days and, on synthetic data (when the
truth file exists), against the Bayes-optimal oracle.
"""

from __future__ import annotations

import logging
from pathlib import Path

import joblib
import pandas as pd

from almanac.config import parse_cutoff
from almanac.data_sources.store import read_table, write_csv, write_json
from almanac.ml.evaluators import ModelEvaluator
from almanac.ml.experiment import evaluate_predictions
from almanac.stage_io import read_stage_params, run_stage, stage_parser
from almanac.synth.oracle import TARGETS as ORACLE_TARGETS
from almanac.synth.oracle import oracle_probability

PARAMS = (
    "labels.target",
    "features.cutoff",
    "evaluate.rolling_days",
    "evaluate.calibration_bins",
    "evaluate.bootstrap",
    "evaluate.seed",
)
PLOTS = {"roc": ["fpr", "tpr", "threshold"], "calibration": ["bin", "bin_low", "bin_high", "mean_predicted", "observed", "count"],
         "confusion": ["actual", "predicted", "count"], "rolling_auc": ["trade_date", "auc", "oracle_auc"], "shap_importance": ["feature", "mean_abs_shap"]}  # fmt: skip
SHAP_MAX_ROWS = 2000
log = logging.getLogger("stages.evaluate")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={
            "oof": "out-of-fold predictions",
            "model": "final model",
            "features": "feature table",
            "sessions": "session table",
            "truth": "synthetic truth table (empty for vendor data)",
        },
        outputs={"metrics": "evaluate metrics JSON", **{name: f"{name} plot CSV" for name in PLOTS}},
    )
    args = parser.parse_args(argv)
    params, _ = read_stage_params(args.params, PARAMS)
    ev, target = params.evaluate, params.labels.target
    oof = read_table(args.oof)
    checkpoint = joblib.load(args.model)
    features = read_table(args.features).set_index("trade_date")
    names = checkpoint["feature_names"]
    rows = features.reindex(columns=names) if set(names) <= set(features.columns) else None
    shap_values = None
    if rows is not None:
        sample = rows.iloc[:: max(len(rows) // SHAP_MAX_ROWS, 1)]
        shap_values = ModelEvaluator().compute_shap_values(checkpoint["model"], sample)
    oracle = None
    truth = read_table(args.truth) if Path(args.truth).exists() else pd.DataFrame()
    if not truth.empty and target in ORACLE_TARGETS:  # only the synthetic source has a truth table
        oracle = oracle_probability(truth, read_table(args.sessions), parse_cutoff(params.features.cutoff), target)
    metrics, plots = evaluate_predictions(
        oof,
        checkpoint["classes"],
        shap_values,
        names,
        oracle,
        ev.rolling_days,
        ev.calibration_bins,
        ev.bootstrap,
        ev.seed,
    )
    write_json(metrics, args.metrics)
    for name, columns in PLOTS.items():
        write_csv(plots.get(name, pd.DataFrame(columns=columns)).reindex(columns=columns), getattr(args, name))
    log.info("out-of-fold AUC %.4f over %d days", metrics["auc"], metrics["n_days"])


if __name__ == "__main__":
    run_stage(main)
