"""The sections of what is learned and how it is judged: ``labels`` (the target), ``cv`` (walk-forward splits),
``train`` (the model, with one hyperparameter block per learner), ``evaluate`` and ``backtest``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from almanac.config.base import Section, _closest, _is_section

BASELINES = ("base_rate", "open_to_cutoff_sign", "previous_day")


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
