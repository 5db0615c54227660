"""The whole settings of a run: :class:`Params` (every section of ``params.yaml``), its defaults :data:`DEFAULTS`,
and the schema's keys by dotted name (``train.lightgbm.num_leaves``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from almanac.config.base import _document_fields, _is_section, _KeyError
from almanac.config.inputs import DataParams, FeaturesParams, SyntheticParams
from almanac.config.modelling import BacktestParams, CVParams, EvaluateParams, LabelsParams, TrainParams


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
