"""Typed, validated pipeline parameters.

``params.yaml`` is parsed once into frozen dataclasses.  Every section is a flat set of scalars so that
``dvc exp run -S section.key=value`` reaches every knob.  Validation fails at stage start with a
:class:`ParamsError` naming the dotted key, the value and what is allowed.  Nothing here reads a file at import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

import yaml

SOURCES = ("synthetic", "files")
FORMATS = ("databento", "firstrate", "kibot", "ninjatrader", "tradestation", "sierra", "generic")
STAMPS = ("", "start", "end")
ROLLS = ("calendar", "volume")
SYMBOLS = ("ES",)
TARGETS = ("rest_of_day", "direction", "archetype")
CV_SCHEMES = ("expanding", "sliding")
MODELS = ("logistic", "lightgbm", "xgboost", "base_rate", "open_to_cutoff_sign", "previous_day")


class ParamsError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


@dataclasses.dataclass(frozen=True)
class DataParams:
    """``data.*``: which market, which dates, where the bars come from."""

    symbol: str = "ES"
    start: dt.date = dt.date(2016, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)
    source: str = "synthetic"
    paths: str = ""  # files: comma-separated files or globs under data/raw/
    format: str = "firstrate"
    timezone: str = ""  # '' = the format's default
    timestamp: str = ""  # '' = the format's default; start | end
    columns: str = ""  # generic: 'ts=Datetime,open=Open,...'
    ts_format: str = ""  # strptime format overriding the format's default
    roll: str = "calendar"
    daily_paths: str = ""  # 'VIX=data/raw/vix.csv,...'
    daily_available_at: str = ""  # 'VIX=16:15,...' overrides of the publication times (ET)


@dataclasses.dataclass(frozen=True)
class SyntheticParams:
    """``synthetic.*``: the seeded synthetic market (used when ``data.source`` is ``synthetic``)."""

    seed: int = 20161
    kappa: float = 0.3
    rho: float = 0.8
    daily_vol_pct: float = 1.1
    start_price: float = 2000.0


@dataclasses.dataclass(frozen=True)
class FeaturesParams:
    """``features.*``: the decision cutoff (ET wall-clock ``HH:MM``), family switches and window lengths."""

    cutoff: str = "10:15"
    early_session: bool = True
    cross_asset: bool = True
    regime: bool = True
    volume_avg_days: int = 10
    atr_days: int = 14
    rank_days: int = 252
    gk_days: int = 20
    adx_days: int = 14


@dataclasses.dataclass(frozen=True)
class LabelsParams:
    """``labels.*``: which label the model is trained on."""

    target: str = "rest_of_day"


@dataclasses.dataclass(frozen=True)
class CVParams:
    """``cv.*``: walk-forward splitting by trade date."""

    scheme: str = "expanding"
    test_days: int = 126
    min_train_days: int = 504
    train_days: int = 756
    purge_days: int = 1
    embargo_days: int = 5


@dataclasses.dataclass(frozen=True)
class LogisticParams:
    """``train.logistic.*``."""

    C: float = 1.0
    max_iter: int = 1000


@dataclasses.dataclass(frozen=True)
class LightGBMParams:
    """``train.lightgbm.*`` (defaults of the original design)."""

    num_leaves: int = 31
    learning_rate: float = 0.05
    n_estimators: int = 100
    min_child_samples: int = 20
    subsample: float = 1.0
    colsample_bytree: float = 1.0


@dataclasses.dataclass(frozen=True)
class XGBoostParams:
    """``train.xgboost.*`` (defaults of the original design)."""

    max_depth: int = 6
    learning_rate: float = 0.05
    n_estimators: int = 100
    min_child_weight: float = 1.0
    subsample: float = 1.0
    colsample_bytree: float = 1.0


@dataclasses.dataclass(frozen=True)
class TrainParams:
    """``train.*``: the model and its hyperparameters (one flat block per model)."""

    model: str = "lightgbm"
    seed: int = 42
    logistic: LogisticParams = dataclasses.field(default_factory=LogisticParams)
    lightgbm: LightGBMParams = dataclasses.field(default_factory=LightGBMParams)
    xgboost: XGBoostParams = dataclasses.field(default_factory=XGBoostParams)


@dataclasses.dataclass(frozen=True)
class EvaluateParams:
    """``evaluate.*``: drift window, calibration bins, bootstrap size."""

    rolling_days: int = 126
    calibration_bins: int = 10
    bootstrap: int = 1000
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class BacktestParams:
    """``backtest.*``: abstention threshold and costs (ES: $50 a point, 0.25 tick)."""

    threshold: float = 0.6
    commission_usd: float = 2.5
    slippage_ticks: float = 1.0
    n_trials: int = 1


@dataclasses.dataclass(frozen=True)
class Params:
    """All sections of ``params.yaml``."""

    data: DataParams = dataclasses.field(default_factory=DataParams)
    synthetic: SyntheticParams = dataclasses.field(default_factory=SyntheticParams)
    features: FeaturesParams = dataclasses.field(default_factory=FeaturesParams)
    labels: LabelsParams = dataclasses.field(default_factory=LabelsParams)
    cv: CVParams = dataclasses.field(default_factory=CVParams)
    train: TrainParams = dataclasses.field(default_factory=TrainParams)
    evaluate: EvaluateParams = dataclasses.field(default_factory=EvaluateParams)
    backtest: BacktestParams = dataclasses.field(default_factory=BacktestParams)


_CUTOFF_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _closest(name: str, allowed: list[str]) -> str:
    match = difflib.get_close_matches(name, allowed, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _coerce(key: str, value: Any, kind: type) -> Any:
    """Convert a YAML scalar to ``kind`` or raise a ParamsError naming ``key``."""
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ParamsError(f"{key}: {value!r} must be a finite number")
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ParamsError(f"{key}: {value!r} is not a date; write it as YYYY-MM-DD")
    raise ParamsError(f"{key}: {value!r} has type {type(value).__name__}, expected {kind.__name__}")


def _build_section(name: str, cls: type, raw: Any) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{name}: expected a mapping of keys, got {type(raw).__name__}")
    hints = get_type_hints(cls)
    allowed = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in raw.items():
        if key not in allowed:
            raise ParamsError(
                f"{name}.{key}: unknown key{_closest(str(key), allowed)}; allowed keys: {', '.join(allowed)}"
            )
        if dataclasses.is_dataclass(hints[key]):
            values[key] = _build_section(f"{name}.{key}", hints[key], value)
        else:
            values[key] = _coerce(f"{name}.{key}", value, hints[key])
    return cls(**values)


def _check(params: Params) -> None:
    d, s, f = params.data, params.synthetic, params.features
    if d.symbol not in SYMBOLS:
        raise ParamsError(f"data.symbol: {d.symbol!r} is not supported; allowed values: {', '.join(SYMBOLS)}")
    if d.source not in SOURCES:
        raise ParamsError(
            f"data.source: {d.source!r} is not a known source{_closest(d.source, list(SOURCES))}; "
            f"allowed values: {', '.join(SOURCES)}"
        )
    _one_of("data.format", d.format, FORMATS)
    _one_of("data.timestamp", d.timestamp, STAMPS)
    _one_of("data.roll", d.roll, ROLLS)
    if d.timezone:
        try:
            zoneinfo.ZoneInfo(d.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ParamsError(
                f"data.timezone: {d.timezone!r} is not a tz database name (e.g. 'America/New_York', 'UTC')"
            ) from None
    if d.source == "files" and not d.paths.strip():
        raise ParamsError(
            "data.paths: data.source is 'files' but no files are listed; e.g. 'data/raw/ES_1min.csv' or 'data/raw/*.csv'"
        )
    for part in filter(None, (p.strip() for p in d.daily_available_at.split(","))):
        name, _, when = part.partition("=")
        if not name.strip() or not _CUTOFF_RE.match(when.strip()):
            raise ParamsError(f"data.daily_available_at: {part!r} must look like VIX=16:15 (ET, HH:MM)")
    if d.end < d.start:
        raise ParamsError(f"data.end: {d.end} is before data.start {d.start}; data.end must be on or after it")
    if not 0 <= s.seed < 2**63:
        raise ParamsError(f"synthetic.seed: {s.seed} must be a non-negative integer below 2**63")
    if not s.kappa >= 0:
        raise ParamsError(f"synthetic.kappa: {s.kappa} must be >= 0 (0 is a martingale, no planted signal)")
    if not 0 <= s.rho <= 1:
        raise ParamsError(f"synthetic.rho: {s.rho} must be between 0 and 1")
    if not 0.05 <= s.daily_vol_pct <= 10:
        raise ParamsError(f"synthetic.daily_vol_pct: {s.daily_vol_pct} must be between 0.05 and 10 (percent)")
    if not s.start_price > 10:
        raise ParamsError(f"synthetic.start_price: {s.start_price} must be above 10 index points")
    if not _CUTOFF_RE.match(f.cutoff):
        raise ParamsError(f"features.cutoff: {f.cutoff!r} must be a time HH:MM (ET), e.g. '10:15'")
    if not dt.time(9, 31) <= parse_cutoff(f.cutoff) <= dt.time(15, 59):
        raise ParamsError(f"features.cutoff: {f.cutoff!r} must fall inside RTH, between 09:31 and 15:59 ET")
    _check_learning(params)


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParamsError(
            f"{key}: {value!r} is not allowed{_closest(value, list(allowed))}; allowed values: {', '.join(allowed)}"
        )


def _at_least(key: str, value: float, low: float) -> None:
    if not value >= low:
        raise ParamsError(f"{key}: {value} must be >= {low}")


def _check_learning(params: Params) -> None:
    f, cv, train, ev, bt = params.features, params.cv, params.train, params.evaluate, params.backtest
    for key in ("volume_avg_days", "atr_days", "gk_days", "adx_days"):
        _at_least(f"features.{key}", getattr(f, key), 2)
    _at_least("features.rank_days", f.rank_days, 20)
    _one_of("labels.target", params.labels.target, TARGETS)
    _one_of("cv.scheme", cv.scheme, CV_SCHEMES)
    _at_least("cv.test_days", cv.test_days, 5)
    _at_least("cv.min_train_days", cv.min_train_days, 20)
    _at_least("cv.train_days", cv.train_days, 20)
    _at_least("cv.purge_days", cv.purge_days, 0)
    _at_least("cv.embargo_days", cv.embargo_days, 0)
    _one_of("train.model", train.model, MODELS)
    _at_least("train.seed", train.seed, 0)
    _at_least("train.logistic.max_iter", train.logistic.max_iter, 10)
    if not train.logistic.C > 0:
        raise ParamsError(f"train.logistic.C: {train.logistic.C} must be > 0")
    for model in ("lightgbm", "xgboost"):
        block = getattr(train, model)
        _at_least(f"train.{model}.n_estimators", block.n_estimators, 1)
        if not 0 < block.learning_rate <= 1:
            raise ParamsError(f"train.{model}.learning_rate: {block.learning_rate} must be in (0, 1]")
        for key in ("subsample", "colsample_bytree"):
            if not 0 < getattr(block, key) <= 1:
                raise ParamsError(f"train.{model}.{key}: {getattr(block, key)} must be in (0, 1]")
    _at_least("train.lightgbm.num_leaves", train.lightgbm.num_leaves, 2)
    _at_least("train.lightgbm.min_child_samples", train.lightgbm.min_child_samples, 1)
    _at_least("train.xgboost.max_depth", train.xgboost.max_depth, 1)
    _at_least("train.xgboost.min_child_weight", train.xgboost.min_child_weight, 0)
    _at_least("evaluate.rolling_days", ev.rolling_days, 20)
    _at_least("evaluate.calibration_bins", ev.calibration_bins, 2)
    _at_least("evaluate.bootstrap", ev.bootstrap, 0)
    _at_least("evaluate.seed", ev.seed, 0)
    if not 0.5 <= bt.threshold <= 1:
        raise ParamsError(f"backtest.threshold: {bt.threshold} must be between 0.5 (always trade) and 1")
    _at_least("backtest.commission_usd", bt.commission_usd, 0)
    _at_least("backtest.slippage_ticks", bt.slippage_ticks, 0)
    _at_least("backtest.n_trials", bt.n_trials, 1)


def get_dotted(params: Params, key: str) -> Any:
    """Value of a dotted key such as ``train.lightgbm.num_leaves``."""
    value: Any = params
    for part in key.split("."):
        value = getattr(value, part)
    return value


def dotted_keys(obj: Any = None, prefix: str = "") -> list[str]:
    """Every leaf key of the params schema, dotted (``data.symbol``, ..., ``train.xgboost.subsample``)."""
    obj = Params() if obj is None else obj
    keys = []
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        name = f"{prefix}{field.name}"
        keys.extend(dotted_keys(value, f"{name}.") if dataclasses.is_dataclass(value) else [name])
    return keys


def parse_cutoff(text: str) -> dt.time:
    """``'10:15'`` -> ``datetime.time(10, 15)``."""
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


def params_from_dict(raw: Mapping[str, Any] | None) -> Params:
    """Validate a parsed ``params.yaml`` mapping and return typed :class:`Params`."""
    raw = dict(raw or {})
    sections = {f.name: f.type for f in dataclasses.fields(Params)}
    hints = get_type_hints(Params)
    built = {}
    for name, value in raw.items():
        if name not in sections:
            raise ParamsError(
                f"{name}: unknown section{_closest(str(name), list(sections))}; allowed: {', '.join(sections)}"
            )
        built[name] = _build_section(name, hints[name], value)
    params = Params(**built)
    _check(params)
    return params


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without base-60 integers.

    PyYAML reads an unquoted ``10:15`` as the integer 615 (YAML 1.1 sexagesimal), and ``dvc exp run -S`` rewrites
    params.yaml without the quotes around ``'10:15'``; so integers are resolved without the base-60 form and
    ``10:15`` stays the string it looks like.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))


def load_params(path: str | Path) -> Params:
    """Read and validate ``params.yaml`` (or any file of the same shape)."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from err
    if raw is not None and not isinstance(raw, Mapping):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    try:
        return params_from_dict(raw)
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
