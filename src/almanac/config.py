"""The params schema: every knob of ``params.yaml`` declared once, with its default, bounds and meaning.

``params.yaml`` is parsed once into frozen pydantic models.  Each section is a flat set of scalars so that
``dvc exp run -S section.key=value`` reaches every knob.  The library takes its defaults from these models
(:data:`DEFAULTS`), so changing a default is one edit here.  A bad value fails at stage start with a
:class:`ParamsError` naming the dotted key, the value and what is allowed (with the closest key for a typo).
Importing it reads one file: building :data:`DEFAULTS` checks ``data.symbol`` and ``features.cutoff`` against
the instrument table, which :mod:`almanac.instruments` loads from ``instruments.yaml``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import inspect
import re
import textwrap
import typing
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

BASELINES = ("base_rate", "open_to_cutoff_sign", "previous_day")


class ParamsError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


class _KeyError(ValueError):
    """A check across keys of one section, naming the key at fault."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _as_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, dt.date):
        return value
    raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD")


Date = Annotated[dt.date, BeforeValidator(_as_date)]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_cutoff(text: str) -> dt.time:
    """``'10:15'`` -> ``datetime.time(10, 15)``; a ValueError saying the form for anything else."""
    if not isinstance(text, str) or not _HHMM.match(text):
        raise ValueError(f"{text!r} is not a time HH:MM (ET, 24-hour), e.g. '10:15'")
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _rule(field) -> str:
    bounds = {}
    for item in field.metadata:
        for name in _BOUNDS:
            if getattr(item, name, None) is not None:
                bounds[name] = getattr(item, name)
    if "ge" in bounds and "le" in bounds:
        return f"must be between {bounds['ge']} and {bounds['le']}"
    return "must be " + " and ".join(f"{_BOUNDS[k]} {v}" for k, v in bounds.items())


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is Literal:
        return "{" + ", ".join(repr(v) for v in typing.get_args(annotation)) + "}"
    if annotation is dt.date:
        return "datetime.date"
    return getattr(annotation, "__name__", str(annotation))


def _parameters(model: type[BaseModel]) -> str:
    """The numpydoc ``Parameters`` section of a params model, from its fields: type, default, bounds, meaning."""
    lines = ["Parameters", "----------"]
    for name, field in model.model_fields.items():
        if field.default_factory is not None:
            default = f"{field.default_factory.__name__}()"  # a section: its own defaults
        else:
            default = str(field.default) if isinstance(field.default, dt.date) else repr(field.default)
        lines.append(f"{name} : {_type_name(field.annotation)}, default {default}")
        if field.default_factory is not None and not field.description:
            lines.append(f"    the ``{name}.*`` block: the keys of :class:`{field.annotation.__name__}`")
        rule = _rule(field) if any(hasattr(m, k) for m in field.metadata for k in _BOUNDS) else ""
        text = (field.description or "").strip() + (f"; {rule}" if rule else "")
        lines.extend(textwrap.wrap(text, 112, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


SECTION_RAISES = """Raises
------
pydantic.ValidationError
    An unknown key, a value of the wrong type (strictly typed: ``'14'`` is no ``int``) or out of its bounds;
    through :func:`load_params` the same problem is a :class:`ParamsError` naming the dotted key."""


def _document_fields(model: type[BaseModel]) -> None:
    """Put the ``Parameters`` section, generated from the fields, after the summary of ``model``'s docstring (the
    defaults are declared once, in the fields), and the ``Raises`` every section shares unless it says its own."""
    doc = inspect.cleandoc(model.__doc__ or "")
    match = re.search(r"^\w[\w ]*\n-+$", doc, re.M)
    head, tail = (doc[: match.start()].rstrip(), doc[match.start() :]) if match else (doc.rstrip(), "")
    raises = "" if re.search(r"^Raises\n-+$", tail, re.M) else SECTION_RAISES
    model.__doc__ = "\n\n".join(part for part in (head, _parameters(model), raises, tail) if part) + "\n"


class Section(BaseModel):
    """Base of every params section: unknown keys are errors, values are immutable and strictly typed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Generate each section's ``Parameters`` docstring section from its fields."""
        super().__pydantic_init_subclass__(**kwargs)
        _document_fields(cls)


class DataParams(Section):
    """``data.*``: which market, which dates, where the bars come from.

    Raises
    ------
    pydantic.ValidationError
        An unknown key, a value of the wrong type (strictly typed: ``'14'`` is no ``int``) or out of its bounds;
        through :func:`load_params` the same problem is a :class:`ParamsError` naming the dotted key.
        Also an instrument root that ``instruments.yaml`` does not list (with the closest one), ``end`` before
        ``start``, or ``source='files'`` without ``paths``.

    Examples
    --------
    >>> import almanac
    >>> data = almanac.DataParams(start="2024-03-04", end="2024-03-08")
    >>> data.symbol, data.start, data.source
    ('ES', datetime.date(2024, 3, 4), 'synthetic')
    >>> almanac.DataParams(symbol="ESX")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for DataParams
    symbol
      Value error, 'ESX' is not allowed (did you mean 'ES'?); allowed values: ES, MES, ...
    """

    symbol: str = Field(
        "ES",
        description="instrument root from `src/almanac/instruments.yaml`: ES, MES, NQ, MNQ, RTY, YM, CL, GC, ZN "
        "(the synthetic market too, at the instrument's own price level)",
    )
    start: Date = Field(dt.date(2016, 1, 1), description="first trade date (YYYY-MM-DD)")
    end: Date = Field(dt.date(2024, 12, 31), description="last trade date; must not be before `data.start`")
    source: Literal["synthetic", "files"] = Field(
        "synthetic", description="where the bars come from: `synthetic` or `files`"
    )
    paths: str = Field("", description="`files`: comma-separated files or globs under `data/raw/`")
    format: Literal["databento", "firstrate", "kibot", "ninjatrader", "tradestation", "sierra", "generic"] = Field(
        "firstrate", description="`files`: the vendor layout (the table in docs/data.md)"
    )
    timezone: str = Field("", description="`files`: tz database name of the timestamps; `''` = the format's default")
    timestamp: Literal["", "start", "end"] = Field(
        "", description="`files`: `start` or `end` (what a stamp marks); `''` = the format's default"
    )
    columns: str = Field(
        "", description="`generic`: column map `ts=…,open=…,high=…,low=…,close=…,volume=…[,contract=…]`"
    )
    ts_format: str = Field("", description="`files`: `strptime` format overriding the format's default")
    roll: Literal["calendar", "volume"] = Field("calendar", description="several contracts: `calendar` or `volume`")
    bad_prints: Literal["error", "drop"] = Field(
        "error", description="`files`: a bar far from its neighbours stops the run (`error`) or is dropped and counted"
    )
    stamp_check: Literal["error", "warn"] = Field(
        "error",
        description="`files`: the cash-open volume spike a minute off the open's bar (end stamps read as start, or "
        "the reverse: look-ahead) stops the run (`error`) or is accepted and recorded as a warning (`warn`)",
    )
    coarse_days: Literal["error", "drop"] = Field(
        "error",
        description="`files`: a trade date whose RTH bars are coarser than 1 minute stops the run (`error`) or is "
        "dropped and counted (`drop`)",
    )
    bad_print_ranges: float = Field(
        40.0,
        ge=5,
        description="`files`: a bad print is this many recent 1-minute ranges away from the previous 30 bars' median",
    )
    daily_paths: str = Field("", description="`files`: `SYMBOL=path` list of daily cross-asset files")
    daily_available_at: str = Field("", description="`files`: publication-time overrides, `SYMBOL=HH:MM` ET")

    @field_validator("symbol")
    @classmethod
    def _known_symbol(cls, value: str) -> str:
        from almanac import instruments  # reads the table on first use, not at import

        allowed = instruments.modelled()
        if value in allowed:
            return value
        if value in instruments.table():
            spec = instruments.instrument(value)
            raise ValueError(
                f"{value!r} ({spec.name}, {spec.exchange}) is in the instrument table but its sessions are not "
                f"modelled yet (RTH {'-'.join(spec.rth_et)} ET); allowed values: {', '.join(allowed)}"
            )
        raise ValueError(f"{value!r} is not allowed{_closest(value, allowed)}; allowed values: {', '.join(allowed)}")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not a tz database name (e.g. 'America/New_York', 'UTC')") from None
        return value

    @field_validator("daily_available_at")
    @classmethod
    def _publication_times(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, _, when = part.partition("=")
            if not name.strip() or not _HHMM.match(when.strip()):
                raise ValueError(f"{part!r} must look like VIX=16:15 (ET, HH:MM)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DataParams:
        if self.end < self.start:
            raise _KeyError("end", f"{self.end} is before data.start {self.start}; data.end must be on or after it")
        if self.source == "files" and not self.paths.strip():
            raise _KeyError(
                "paths",
                "data.source is 'files' but no files are listed; e.g. 'data/raw/ES_1min.csv' or 'data/raw/*.csv'",
            )
        return self


class SyntheticParams(Section):
    """``synthetic.*``: the seeded synthetic market (used when ``data.source`` is ``synthetic``).

    Examples
    --------
    >>> import almanac
    >>> almanac.SyntheticParams().kappa, almanac.SyntheticParams(kappa=0.0).kappa  # 0: no planted signal
    (0.3, 0.0)
    >>> data = almanac.load_bars(almanac.DataParams(start="2024-03-04", end="2024-03-05"),
    ...                          synthetic=almanac.SyntheticParams(seed=7))
    >>> data.manifest["generator"]["seed"], len(data.truth)
    (7, 2)
    """

    seed: int = Field(
        20161,
        ge=0,
        lt=2**63,
        description="seed; each component (latent, news, minute shocks, ranges, volume, cross-asset) gets its own spawned stream",
    )
    kappa: float = Field(0.3, ge=0, description="planted signal strength, ≥ 0 (0 = martingale)")
    rho: float = Field(0.8, ge=0, le=1, description="share of the latent score the early session reveals, 0–1")
    daily_vol_pct: float = Field(1.1, ge=0.05, le=10, description="average daily volatility in percent (0.05–10)")
    start_price: float | None = Field(
        None,
        gt=10,
        description="price on the first day; null: `data.symbol`'s `synthetic_start` in instruments.yaml (ES 2000, "
        "NQ 4500, CL 40), so `-S data.symbol=ES,NQ,CL` sweeps; a number must be plausible for `data.symbol`",
    )


class FeaturesParams(Section):
    """``features.*``: the decision cutoff (ET wall-clock ``HH:MM``), family switches and window lengths.

    Raises
    ------
    pydantic.ValidationError
        An unknown key, a value of the wrong type (strictly typed: ``'14'`` is no ``int``) or out of its bounds;
        through :func:`load_params` the same problem is a :class:`ParamsError` naming the dotted key.
        Also a cutoff that is not ``HH:MM``; one outside the instrument's RTH is refused by :class:`Params`,
        which knows ``data.symbol``.

    Examples
    --------
    >>> import almanac
    >>> settings = almanac.FeaturesParams(cutoff="10:30", regime=False)
    >>> settings.cutoff_time, settings.atr_days
    (datetime.time(10, 30), 14)
    >>> almanac.FeaturesParams(cutoff="10h30")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for FeaturesParams
    cutoff
      Value error, '10h30' must be a time HH:MM (ET), e.g. '10:15' ...
    """

    cutoff: str = Field(
        "10:15",
        description="decision time, ET `HH:MM`, inside `data.symbol`'s RTH (ES 09:31–15:59, CL 09:01–14:29; "
        "clipped to the close on half days)",
    )
    early_session: bool = Field(True, description="early-session family on/off")
    cross_asset: bool = Field(True, description="cross-asset family on/off")
    regime: bool = Field(True, description="regime family on/off")
    volume_avg_days: int = Field(10, ge=2, description="volume ratios are against the mean of this many previous days")
    atr_days: int = Field(14, ge=2, description="Wilder ATR length")
    rank_days: int = Field(252, ge=20, description="ATR percentile-rank window")
    gk_days: int = Field(20, ge=2, description="Garman–Klass volatility window")
    adx_days: int = Field(14, ge=2, description="Wilder ADX length")

    @field_validator("cutoff")
    @classmethod
    def _a_time(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} must be a time HH:MM (ET), e.g. '10:15'")
        return value  # inside the instrument's RTH: checked by Params, which knows data.symbol

    @property
    def cutoff_time(self) -> dt.time:
        """``cutoff`` as a :class:`datetime.time`."""
        return parse_cutoff(self.cutoff)


class LabelsParams(Section):
    """``labels.*``: which label the model is trained on, and the day-archetype rule's thresholds (docs/honesty.md).

    Fractions of the day's RTH range R = H - L unless said otherwise; ``scale`` is the Wilder ATR of the RTH
    sessions through the previous day (``features.atr_days``).

    Examples
    --------
    >>> import almanac
    >>> almanac.LabelsParams().target, almanac.LabelsParams(target="archetype").archetype_rule
    ('rest_of_day', 'intraday_structure')
    >>> almanac.LabelsParams(target="close")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for LabelsParams
    target
      Input should be 'rest_of_day', 'direction' or 'archetype' ...
    """

    target: Literal["rest_of_day", "direction", "archetype"] = Field(
        "rest_of_day",
        description="`rest_of_day`, `direction` or `archetype` (multiclass, by `labels.archetype_rule`)",
    )
    archetype_rule: Literal["intraday_structure", "range_completion"] = Field(
        "intraday_structure",
        description="`intraday_structure` (TrendUp / TrendDown / ReversalUp / ReversalDown / Range / Other from "
        "the minute bars) or `range_completion` (close in the top / middle / bottom third: TrendUp / Range / "
        "TrendDown)",
    )
    trend_body: float = Field(0.5, ge=0, le=1, description="trend: the body abs(close - open) at least this share of R")
    trend_open_location: float = Field(
        0.25, ge=0, le=0.5, description="trend up: open in the bottom this share of R (down: top)"
    )
    trend_close_location: float = Field(
        0.75, ge=0.5, le=1, description="trend up: close location (C - L) / R at least this (down: at most 1 - this)"
    )
    trend_min_range: float = Field(0.8, ge=0, description="trend: R at least this many `scale`s")
    reversal_extension: float = Field(
        0.4, ge=0, le=1, description="reversal up: open-to-low fall at least this share of R, low before the high"
    )
    reversal_close_location: float = Field(
        0.7, ge=0.5, le=1, description="reversal up: CLV at least this (down: at most 1 - this)"
    )
    range_body: float = Field(0.25, ge=0, le=1, description="range: the body abs(close - open) at most this share of R")
    range_max_range: float = Field(1.0, gt=0, description="range: R at most this many `scale`s")
    range_close_location: float = Field(
        0.25, ge=0, le=0.5, description="range: close location between this and 1 - this"
    )
    range_band: float = Field(
        0.15, gt=0, lt=0.5, description="range: a bar within this share of R of the high (low) tests it"
    )
    range_min_swings: int = Field(
        3, ge=1, description="range: alternations between tests of the high and of the low (3 = each tested twice)"
    )


class CVParams(Section):
    """``cv.*``: walk-forward splitting by trade date (the keyword arguments of ``WalkForwardSplit``).

    Examples
    --------
    >>> import almanac
    >>> cv = almanac.CVParams(min_train_days=60, test_days=20)
    >>> cv.scheme, cv.test_days, cv.purge_days, cv.embargo_days
    ('expanding', 20, 1, 5)
    >>> almanac.CVParams(test_days=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for CVParams
    test_days
      Input should be greater than or equal to 5 ...
    """

    scheme: Literal["expanding", "sliding"] = Field("expanding", description="`expanding` or `sliding` walk-forward")
    test_days: int = Field(126, ge=5, description="trade days per test block")
    min_train_days: int = Field(504, ge=20, description="trade days before the first test block")
    train_days: int = Field(756, ge=20, description="training window (sliding only)")
    purge_days: int = Field(1, ge=0, description="trade days dropped before each test block (label overlap)")
    embargo_days: int = Field(5, ge=0, description="further gap (serially correlated features)")


class LogisticParams(Section):
    """``train.logistic.*``: scikit-learn ``LogisticRegression`` (imputer and scaler inside its pipeline)."""

    C: float = Field(0.01, gt=0, description="inverse regularisation strength (chosen out of sample: docs/defaults.md)")
    max_iter: int = Field(1000, ge=10, description="cap on Newton iterations (it converges in fewer than ten)")


class LightGBMParams(Section):
    """``train.lightgbm.*``: ``lightgbm.LGBMClassifier`` keyword arguments."""

    num_leaves: int = Field(2, ge=2, description="leaves per tree (chosen out of sample: docs/defaults.md)")
    learning_rate: float = Field(0.05, gt=0, le=1, description="shrinkage")
    n_estimators: int = Field(100, ge=1, description="boosting rounds")
    min_child_samples: int = Field(50, ge=1, description="minimum rows per leaf")
    subsample: float = Field(1.0, gt=0, le=1, description="row subsampling per tree")
    colsample_bytree: float = Field(1.0, gt=0, le=1, description="column subsampling per tree")


class XGBoostParams(Section):
    """``train.xgboost.*``: ``xgboost.XGBClassifier`` keyword arguments."""

    max_depth: int = Field(1, ge=1, description="tree depth (chosen out of sample: docs/defaults.md)")
    learning_rate: float = Field(0.05, gt=0, le=1, description="shrinkage")
    n_estimators: int = Field(100, ge=1, description="boosting rounds")
    min_child_weight: float = Field(20.0, ge=0, description="minimum hessian per leaf")
    subsample: float = Field(1.0, gt=0, le=1, description="row subsampling per tree")
    colsample_bytree: float = Field(1.0, gt=0, le=1, description="column subsampling per tree")


class TrainParams(Section):
    """``train.*``: the model and its hyperparameters (one flat block per learner).

    Raises
    ------
    pydantic.ValidationError
        An unknown key, a value of the wrong type (strictly typed: ``'14'`` is no ``int``) or out of its bounds;
        through :func:`load_params` the same problem is a :class:`ParamsError` naming the dotted key.
        Also a ``model`` that is neither a learner nor a baseline (with the closest name).

    Examples
    --------
    >>> import almanac
    >>> settings = almanac.TrainParams(model="logistic")
    >>> settings.hyperparameters()
    {'C': 0.01, 'max_iter': 1000, 'random_state': 42}
    >>> almanac.TrainParams(model="lightgbn")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for TrainParams
    model
      Value error, 'lightgbn' is not allowed (did you mean 'lightgbm'?); allowed values: logistic, ...
    """

    model: str = Field(
        "lightgbm",
        description="`logistic`, `lightgbm`, `xgboost`, `base_rate`, `open_to_cutoff_sign`, `previous_day`",
    )
    seed: int = Field(42, ge=0, description="seed of every model")
    calibration: Literal["none", "sigmoid", "isotonic"] = Field(
        "none",
        description="recalibrate probabilities on the last `calibration_fraction` of each training block: "
        "`none`, `sigmoid` (Platt) or `isotonic`",
    )
    calibration_fraction: float = Field(
        0.2, gt=0, lt=0.5, description="share of each training block (its latest days) that fits the calibration"
    )
    logistic: LogisticParams = Field(default_factory=LogisticParams)
    lightgbm: LightGBMParams = Field(default_factory=LightGBMParams)
    xgboost: XGBoostParams = Field(default_factory=XGBoostParams)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        allowed = model_names()
        if value not in allowed:
            raise ValueError(
                f"{value!r} is not allowed{_closest(value, allowed)}; allowed values: {', '.join(allowed)}"
            )
        return value

    def hyperparameters(self, name: str | None = None) -> dict[str, Any]:
        """Keyword arguments of learner ``name`` (default: ``model``) from its block, plus ``random_state``."""
        name = name or self.model
        if name not in learner_names():
            return {}
        return {**getattr(self, name).model_dump(), "random_state": self.seed}


def learner_names() -> list[str]:
    """Models with a hyperparameter block under ``train`` (``logistic``, ``lightgbm``, ``xgboost``)."""
    return [name for name, field in TrainParams.model_fields.items() if _is_section(field.annotation)]


def model_names() -> list[str]:
    """Every valid ``train.model``: the learners and the baselines."""
    return [*learner_names(), *BASELINES]


class EvaluateParams(Section):
    """``evaluate.*``: drift window, calibration bins, bootstrap size.

    Examples
    --------
    >>> import almanac
    >>> settings = almanac.EvaluateParams(bootstrap=0)  # no confidence intervals: fast
    >>> settings.bootstrap, settings.calibration_bins, settings.rolling_days
    (0, 10, 126)
    """

    rolling_days: int = Field(126, ge=20, description="window of the rolling AUC (drift) plot")
    calibration_bins: int = Field(10, ge=2, description="reliability-curve bins")
    bootstrap: int = Field(1000, ge=0, description="bootstrap resamples of the AUC intervals (0 = off)")
    block_days: int = Field(
        10, ge=1, description="mean block length (days) of the stationary bootstrap of `auc_block_ci_*`"
    )
    seed: int = Field(0, ge=0, description="bootstrap seed")


class BacktestParams(Section):
    """``backtest.*``: abstention threshold, position size and costs.

    Examples
    --------
    >>> import almanac
    >>> settings = almanac.BacktestParams(threshold=0.6, commission_usd=0.0)
    >>> settings.threshold, settings.sizing, settings.slippage_ticks
    (0.6, 'fixed', 1.0)
    >>> almanac.BacktestParams(threshold=0.4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for BacktestParams
    threshold
      Input should be greater than or equal to 0.5 ...
    """

    threshold: float = Field(
        0.55,
        ge=0.5,
        le=1,
        description="trade only when max(p, 1 − p) ≥ threshold (0.5 = always trade; chosen out of sample: "
        "docs/defaults.md)",
    )
    threshold_mode: Literal["fixed", "in_fold"] = Field(
        "fixed",
        description="`fixed`: `backtest.threshold` on every day; `in_fold`: each test block uses the threshold "
        "(0.500–0.800) with the best net P&L on the out-of-fold days before it (`backtest.threshold` for the first)",
    )
    sizing: Literal["fixed", "probability"] = Field(
        "fixed",
        description="contracts per trade: `fixed` one; `probability` López de Prado's bet size 2Φ(z) − 1, "
        "z = (p − ½)/√(p(1 − p)), of the side's probability × `backtest.max_contracts` (rounded, at least 1), "
        "capped by `backtest.risk_usd` against the ATR known at the cutoff (`features.atr_days`; a day whose one "
        "contract exceeds the budget is flat). `fixed` until the held-out comparison says otherwise "
        "(benchmarks/sizing.md)",
    )
    max_contracts: int = Field(10, ge=1, description="probability sizing: contracts at a bet size of 1 (p = 1)")
    risk_usd: float = Field(
        10000.0,
        gt=0,
        description="probability sizing: the day's risk budget in USD; at most risk_usd / (ATR in points × the "
        "point value) contracts",
    )
    commission_usd: float = Field(2.5, ge=0, description="per side, per contract")
    slippage_ticks: float = Field(1.0, ge=0, description="per fill")
    n_trials: int = Field(1, ge=1, description="number of experiments tried, for the deflated Sharpe ratio")
    bootstrap: int = Field(1000, ge=0, description="stationary-bootstrap resamples of the Sharpe interval (0 = off)")
    block_days: int = Field(10, ge=1, description="mean block length (days) of that bootstrap")
    seed: int = Field(0, ge=0, description="bootstrap seed")


class Params(BaseModel):
    """All sections of ``params.yaml``: the whole settings of a run, each section with its defaults.

    Raises
    ------
    pydantic.ValidationError
        A bad value in any section (see each section's class), an unknown section, or settings that do not fit
        the instrument: ``features.cutoff`` outside ``data.symbol``'s RTH, a synthetic ``start_price``
        implausible for it.  :func:`load_params` and :func:`params_from_dict` raise :class:`ParamsError` instead.

    Examples
    --------
    >>> import almanac
    >>> params = almanac.Params(data=almanac.DataParams(symbol="CL"), features=almanac.FeaturesParams(cutoff="09:45"),
    ...                         synthetic=almanac.SyntheticParams(start_price=70.0))
    >>> params.data.symbol, params.features.cutoff, params.train.model
    ('CL', '09:45', 'lightgbm')
    >>> almanac.Params(data=almanac.DataParams(symbol="CL"),
    ...                synthetic=almanac.SyntheticParams(start_price=2000.0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for Params
      Value error, 2000 is not a plausible CL price ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: DataParams = Field(default_factory=DataParams)
    synthetic: SyntheticParams = Field(default_factory=SyntheticParams)
    features: FeaturesParams = Field(default_factory=FeaturesParams)
    labels: LabelsParams = Field(default_factory=LabelsParams)
    cv: CVParams = Field(default_factory=CVParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    backtest: BacktestParams = Field(default_factory=BacktestParams)

    @model_validator(mode="after")
    def _fits_the_instrument(self) -> Params:
        """The cutoff inside ``data.symbol``'s RTH; the synthetic market's price plausible for it."""
        from almanac import instruments  # reads the table on first use, not at import

        spec = instruments.instrument(self.data.symbol)
        low, high = spec.price_range
        price = self.synthetic.start_price
        if self.data.source == "synthetic" and price is not None and not low <= price <= high:
            raise _KeyError(
                "synthetic.start_price",
                f"{price:g} is not a plausible {self.data.symbol} price ({low:g} to {high:g}); set it for the "
                f"synthetic {self.data.symbol} market, e.g. -S synthetic.start_price={spec.synthetic_start:g}, or null "
                "for the instrument's own (synthetic_start in instruments.yaml)",
            )
        minutes = [t.hour * 60 + t.minute for t in spec.rth]
        first, last = minutes[0] + 1, minutes[1] - 1  # at least one bar after the open; one before the close
        cutoff = self.features.cutoff_time
        if not first <= cutoff.hour * 60 + cutoff.minute <= last:
            raise _KeyError(
                "features.cutoff",
                f"{self.features.cutoff!r} must fall inside RTH of {self.data.symbol} ({'-'.join(spec.rth_et)} ET), "
                f"between {first // 60:02d}:{first % 60:02d} and {last // 60:02d}:{last % 60:02d} ET",
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, raw: Any) -> Any:
        # An empty section in YAML (``data:``) reads as None: it keeps the defaults.
        if isinstance(raw, dict):
            return {name: {} if value is None else value for name, value in raw.items()}
        return raw


_document_fields(Params)
DEFAULTS = Params()
"""The schema's defaults: the library's default settings come from here, never from a second copy."""


# --- error messages ---------------------------------------------------------------------------------------------


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _closest(name: str, allowed: list[str]) -> str:
    match = difflib.get_close_matches(name, allowed, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _model_at(loc: tuple) -> tuple[type[BaseModel], Any]:
    """The model class that owns the last element of ``loc`` and that element's field info (or None)."""
    model: type[BaseModel] = Params
    for part in loc[:-1]:
        model = model.model_fields[part].annotation
    return model, model.model_fields.get(loc[-1]) if loc else None


_TYPES = {"int_type": "int", "float_type": "float", "bool_type": "bool", "string_type": "str", "date_type": "date"}


def _message(error: dict) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc)
    kind, value = error["type"], error.get("input")
    model, field = _model_at(loc) if loc else (Params, None)
    if kind == "extra_forbidden":
        allowed = list(model.model_fields)
        what = "unknown section" if model is Params else "unknown key"
        label = "allowed" if model is Params else "allowed keys"
        return f"{key}: {what}{_closest(str(loc[-1]), allowed)}; {label}: {', '.join(allowed)}"
    if kind == "value_error":
        cause = error["ctx"]["error"]
        if isinstance(cause, _KeyError):
            return f"{key}.{cause.key}: {cause}" if key else f"{cause.key}: {cause}"
        return f"{key}: {cause}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{key}: expected a mapping of keys, got {type(value).__name__}"
    if kind == "literal_error":
        allowed = [str(a) for a in typing.get_args(field.annotation)]
        return f"{key}: {value!r} is not allowed{_closest(str(value), allowed)}; allowed values: {', '.join(allowed)}"
    if kind in _TYPES:
        return f"{key}: {value!r} has type {type(value).__name__}, expected {_TYPES[kind]}"
    if kind == "finite_number":
        return f"{key}: {value!r} must be a finite number"
    if kind.startswith(("greater_than", "less_than")):
        return f"{key}: {value!r} {_rule(field)}"
    return f"{key}: {value!r}: {error['msg']}"


def params_from_dict(raw: Mapping[str, Any] | None) -> Params:
    """Validate a parsed ``params.yaml`` mapping and return typed :class:`Params`.

    Raises :class:`ParamsError` naming the first bad dotted key (and how many more problems there are).
    """
    try:
        return Params.model_validate(dict(raw or {}))
    except ValidationError as err:
        errors = err.errors(include_url=False)
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ParamsError(_message(errors[0]) + more) from None


# --- dotted keys ------------------------------------------------------------------------------------------------


def get_dotted(params: BaseModel, key: str) -> Any:
    """Value of a dotted key such as ``train.lightgbm.num_leaves``."""
    value: Any = params
    for part in key.split("."):
        value = getattr(value, part)
    return value


def dotted_keys(model: type[BaseModel] = Params, prefix: str = "") -> list[str]:
    """Every leaf key of the schema, dotted (``data.symbol``, ..., ``train.xgboost.subsample``)."""
    keys = []
    for name, field in model.model_fields.items():
        if _is_section(field.annotation):
            keys.extend(dotted_keys(field.annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def describe(key: str) -> tuple[Any, str]:
    """``(default, description)`` of a dotted leaf key, from the schema."""
    *sections, name = key.split(".")
    model: type[BaseModel] = Params
    for part in sections:
        model = model.model_fields[part].annotation
    field = model.model_fields[name]
    return field.get_default(call_default_factory=True), field.description or ""


# --- reading params.yaml ----------------------------------------------------------------------------------------


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
# YAML 1.1 wants a dot and a signed exponent in a float, so ``1e-07`` (how ``dvc exp run -S train.logistic.C=1e-7``
# writes the number back, YAML 1.2 style) would read as a string; scientific notation is a number here.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))


def yaml_params(text: str) -> Any:
    """Parse the text of a ``params.yaml`` as the pipeline does (times stay strings, ``1e-07`` is a number), without
    validating it: an older commit's file may predate today's schema."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe


def load_params(path: str | Path) -> Params:
    """Read and validate the whole ``params.yaml`` (or any file of the same shape), as every stage does first.

    Parameters
    ----------
    path : str or Path
        A YAML file of sections (``data:``, ``train:``, ...); a missing or empty section keeps its defaults.
        Times such as ``cutoff: 10:15`` stay text even unquoted (:func:`yaml_params`).

    Returns
    -------
    Params
        Every section, validated; what the file does not set is the schema's default.

    Raises
    ------
    ParamsError
        The file is not YAML or not a mapping, or a key is unknown, of the wrong type or out of range: one line
        naming the file and the dotted key (with the closest key for a typo).
    FileNotFoundError
        No file at ``path``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import almanac
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "params.yaml"
    >>> _ = path.write_text("features:\\n  cutoff: 10:30\\ntrain:\\n  model: logistic\\n")
    >>> params = almanac.load_params(path)
    >>> params.features.cutoff, params.train.model, params.cv.test_days
    ('10:30', 'logistic', 126)
    >>> _ = path.write_text("cv:\\n  test_dayz: 20\\n")
    >>> almanac.load_params(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    almanac.config.ParamsError: .../params.yaml: cv.test_dayz: unknown key (did you mean 'test_days'?); ...
    >>> folder.cleanup()
    """
    path = Path(path)
    try:
        raw = yaml_params(path.read_text())
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from err
    if raw is not None and not isinstance(raw, Mapping):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    try:
        return params_from_dict(raw)
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
