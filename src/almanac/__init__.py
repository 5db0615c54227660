"""Almanac Futures: a reproducible machine-learning research pipeline for intraday futures.

The public API is the handful of functions the pipeline's stages call, one per step::

    import almanac
    data = almanac.load_bars(almanac.DataParams(start="2023-01-03", end="2023-06-30"))
    sessions = almanac.build_sessions(data.bars, rolls=data.manifest["rolls"])
    features, lineage = almanac.build_features(data.bars, sessions, data.daily)
    labels = almanac.build_labels(sessions, data.bars)
    out = almanac.train(features, labels, sessions, cv=almanac.CVParams(min_train_days=60, test_days=20))
    metrics, plots = almanac.evaluate(out.oof, classes=out.classes)
    trading, equity = almanac.backtest(out.oof, sessions)

Settings are the params sections (``almanac.DataParams``, ``FeaturesParams``, ``TrainParams``, ...): the same
objects ``params.yaml`` is parsed into, with the same defaults.  Names are resolved lazily, so importing one
module (as each stage does) does not import the whole package.
"""

from __future__ import annotations

import importlib

from almanac.version import __version__ as __version__  # re-exported: almanac.__version__

_API = {
    "load_bars": "almanac.data_sources.dataset",
    "build_sessions": "almanac.sessions",
    "build_features": "almanac.features.ml_features",
    "build_labels": "almanac.ml.labelers",
    "train": "almanac.ml.trainers",
    "evaluate": "almanac.ml.evaluators",
    "backtest": "almanac.ml.backtester",
    "predict": "almanac.ml.predictors",
    "Params": "almanac.config",
    "DataParams": "almanac.config",
    "SyntheticParams": "almanac.config",
    "FeaturesParams": "almanac.config",
    "LabelsParams": "almanac.config",
    "CVParams": "almanac.config",
    "TrainParams": "almanac.config",
    "EvaluateParams": "almanac.config",
    "BacktestParams": "almanac.config",
    "load_params": "almanac.config",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value  # resolve once
        return value
    raise AttributeError(f"module 'almanac' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
