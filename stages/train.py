"""Stage ``train``: walk-forward out-of-fold predictions, per-fold scores, the final model and its registry.

Writes ``data/predictions/oof.parquet``, ``models/model.joblib``, ``models/model_registry.json``,
``metrics/train.json`` and the per-fold plot ``plots/cv_folds.csv``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path

import pandas as pd

from almanac.data_sources.store import read_json, read_table, write_csv, write_json, write_table
from almanac.ml.experiment import model_params, registry_entry, train_model
from almanac.stage_io import read_stage_params, run_stage, stage_parser

PARAMS = (
    "labels.target",
    "cv.scheme", "cv.test_days", "cv.min_train_days", "cv.train_days", "cv.purge_days", "cv.embargo_days",
    "train.model", "train.seed",
    "train.logistic.C", "train.logistic.max_iter",
    "train.lightgbm.num_leaves", "train.lightgbm.learning_rate", "train.lightgbm.n_estimators",
    "train.lightgbm.min_child_samples", "train.lightgbm.subsample", "train.lightgbm.colsample_bytree",
    "train.xgboost.max_depth", "train.xgboost.learning_rate", "train.xgboost.n_estimators",
    "train.xgboost.min_child_weight", "train.xgboost.subsample", "train.xgboost.colsample_bytree",
)  # fmt: skip
log = logging.getLogger("stages.train")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={
            "features": "feature table",
            "lineage": "feature lineage",
            "labels": "label table",
            "sessions": "session table",
        },
        outputs={
            "oof": "out-of-fold predictions",
            "model": "final model (joblib)",
            "registry": "model registry JSON",
            "metrics": "train metrics JSON",
            "folds": "per-fold plot CSV",
        },
    )
    args = parser.parse_args(argv)
    params, _ = read_stage_params(args.params, PARAMS)
    features = read_table(args.features).set_index("trade_date")
    labels = read_table(args.labels).set_index("trade_date")
    target, model = params.labels.target, params.train.model
    out = train_model(features, labels, read_table(args.sessions), target, model, params.train, params.cv)
    write_table(out.oof, args.oof)
    out.trainer.save(args.model)
    sha = hashlib.sha256(Path(args.model).read_bytes()).hexdigest()
    hyper = {**model_params(params.train, model), "cv": dataclasses.asdict(params.cv)}
    write_json(registry_entry(model, target, hyper, read_json(args.lineage), features, out.metrics, sha), args.registry)
    write_json(out.metrics, args.metrics)
    write_csv(pd.DataFrame(out.folds), args.folds)
    log.info(
        "%s on %s: mean walk-forward AUC %.4f over %d folds",
        model,
        target,
        out.metrics["cv_auc_mean"],
        out.metrics["n_folds"],
    )


if __name__ == "__main__":
    run_stage(main)
