"""Stage ``train``: walk-forward out-of-fold predictions, per-fold scores, the final model and its registry.

Writes the out-of-fold predictions, the model (joblib), the registry JSON, ``metrics/train.json`` and the
per-fold plot CSV, at the paths given on the command line.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging
from pathlib import Path

import pandas as pd

from almanac.data_sources.store import read_json, read_table, write_csv, write_json, write_table
from almanac.ml.registry import model_signature, register, registry_entry
from almanac.ml.trainers import train
from almanac.stage_io import imports_done, read_params, run_stage, stage_parser

imports_done()

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
            "oof_shap": "out-of-fold SHAP values (each test day explained by its fold's model)",
            "model": "final model (joblib)",
            "registry": "model registry JSON (read too: versions accumulate)",
            "signature": "the model's feature names and classes (JSON), read by evaluate without unpickling it",
            "metrics": "train metrics JSON",
            "folds": "per-fold plot CSV",
        },
    )
    args = parser.parse_args(argv)
    params = read_params(args.params)
    target, settings = params.labels.target, params.train
    features = read_table(args.features).set_index("trade_date")
    labels = read_table(args.labels).set_index("trade_date")
    out = train(features, labels, read_table(args.sessions), target=target, settings=settings, cv=params.cv)
    write_table(out.oof, args.oof)
    empty = pd.DataFrame({"trade_date": pd.Series(dtype="datetime64[s]"), "fold": pd.Series(dtype="int64")})
    write_table(out.oof_shap if out.oof_shap is not None else empty, args.oof_shap)  # empty for a baseline
    sha256 = out.trainer.save(args.model, checksum_file=False)  # the registry records the checksum
    write_json(model_signature(out.trainer.classes_, out.trainer.feature_names_, sha256), args.signature)
    entry = registry_entry(
        model=settings.model,
        target=target,
        symbol=params.data.symbol,
        cutoff=params.features.cutoff,
        params={**settings.hyperparameters(), "cv": params.cv.model_dump()},
        feature_lineage=read_json(args.lineage),
        features=features,
        metrics=out.metrics,
        model_sha256=sha256,
    )
    # The registry persists between runs (dvc.yaml: persist: true): this model is registered and made current.
    previous = read_json(args.registry) if Path(args.registry).is_file() else None
    write_json(register(previous, entry), args.registry)
    write_json(out.metrics, args.metrics)
    write_csv(pd.DataFrame(out.folds), args.folds)
    log.info("%s on %s: mean walk-forward AUC %.4f over %d folds", settings.model, target,
             out.metrics["cv_auc_mean"], out.metrics["n_folds"])  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
