"""Stage ``evaluate``: ``metrics/evaluate.json`` and the plots ROC, calibration, confusion, rolling AUC, SHAP.

Scores the out-of-fold probabilities against the baselines on the same days and, on synthetic data (when the
truth table is not empty), against the Bayes-optimal oracle.  SHAP importance is out of fold too: the mean |SHAP|
of each test day under its own fold's model (``data/predictions/oof_shap.parquet`` from the train stage).
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging

import pandas as pd

from almanac.data_sources.store import read_table, write_csv, write_json
from almanac.ml.evaluators import evaluate
from almanac.ml.registry import read_signature, verify_model
from almanac.stage_io import imports_done, read_params, run_stage, stage_parser
from almanac.synth.oracle import TARGETS as ORACLE_TARGETS
from almanac.synth.oracle import oracle_probability

imports_done()

PLOTS = {"roc": ["fpr", "tpr", "threshold", "chance"], "calibration": ["bin", "bin_low", "bin_high", "mean_predicted", "observed", "count", "perfect"],
         "confusion": ["trade_date", "actual", "predicted"], "rolling_auc": ["trade_date", "auc", "oracle_auc"], "shap_importance": ["feature", "mean_abs_shap"],
         "breakdown": ["group", "value", "n_days", "auc", "hit_rate", "signed_return_pct", "label"]}  # fmt: skip
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
log = logging.getLogger("stages.evaluate")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={
            "oof": "out-of-fold predictions",
            "oof_shap": "out-of-fold SHAP values (train stage)",
            "model": "final model (its sha256 is checked; it is not unpickled)",
            "registry": "model registry (the model's recorded sha256)",
            "signature": "the model's feature names and classes (train stage)",
            "features": "feature table",
            "sessions": "session table",
            "truth": "synthetic truth table (empty for vendor data)",
        },
        outputs={"metrics": "evaluate metrics JSON", **{name: f"{name} plot CSV" for name in PLOTS}},
    )
    args = parser.parse_args(argv)
    params = read_params(args.params)
    target = params.labels.target
    # The model's feature names and classes from its signature, checked against the model file: unpickling the
    # model would import its library and scikit-learn (about a second) for these two lists.
    checkpoint = read_signature(args.signature, model_sha256=verify_model(args.model, registry_path=args.registry))
    features = read_table(args.features).set_index("trade_date")
    names = checkpoint["feature_names"]
    # Importance out of fold: each test day's SHAP values come from the model of its fold (the train stage).
    oof_shap = read_table(args.oof_shap)
    shap_values = oof_shap[names].to_numpy(dtype=float) if len(oof_shap) and set(names) <= set(oof_shap) else None
    oracle = None
    truth = read_table(args.truth)
    sessions = read_table(args.sessions)
    if not truth.empty and target in ORACLE_TARGETS:  # only the synthetic source has a truth table
        oracle = oracle_probability(
            truth, sessions, cutoff=params.features.cutoff_time, target=target, symbol=params.data.symbol
        )
    s = sessions.set_index("trade_date")
    rest_of_day = (s["close"] / s["cutoff_price"] - 1.0) * 100.0  # what the signal is about, cutoff to close
    context = breakdown_context(s, features)
    metrics, plots = evaluate(
        read_table(args.oof),
        classes=checkpoint["classes"],
        shap_values=shap_values,
        feature_names=names,
        oracle=oracle,
        returns=rest_of_day,
        context=context,
        settings=params.evaluate,
    )
    write_json(metrics, args.metrics)
    for name, columns in PLOTS.items():
        write_csv(plots.get(name, pd.DataFrame(columns=columns)).reindex(columns=columns), getattr(args, name))
    log.info("out-of-fold AUC %.4f over %d days", metrics["auc"], metrics["n_days"])


def breakdown_context(sessions: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Groupings of the breakdown table by trade date: year, weekday, half day, roll week (the roll day and the
    four trade dates after it), and terciles of ATR and VIX where those features exist.  The terciles are cut
    over the whole sample: this is a description of where the signal worked, not an input to it."""
    dates = pd.DatetimeIndex(sessions.index)
    roll = sessions["roll_day"].to_numpy(dtype=bool)
    roll_week = pd.Series(roll).rolling(5, min_periods=1).max().to_numpy(dtype=bool)
    context = pd.DataFrame(
        {
            "year": dates.year,
            "weekday": pd.Categorical(dates.day_name().str[:3], categories=WEEKDAYS),  # Mon to Fri in the table
            "half_day": sessions["half_day"].to_numpy(dtype=bool),
            "roll_week": roll_week,
        },
        index=dates,
    )
    for name, column in (("atr_tercile", "atr_pct"), ("vix_tercile", "vix_level")):
        if column in features.columns:
            values = features[column].reindex(dates)
            context[name] = pd.qcut(values, 3, labels=["low", "mid", "high"])  # categorical: low to high, NaN kept
    return context


if __name__ == "__main__":
    run_stage(main)
