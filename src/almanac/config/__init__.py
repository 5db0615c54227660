"""The params schema: every knob of ``params.yaml`` declared once, with its default, bounds and meaning.

``params.yaml`` is parsed once into frozen pydantic models.  Each section is a flat set of scalars so that
``dvc exp run -S section.key=value`` reaches every knob.  The library takes its defaults from these models
(:data:`DEFAULTS`), so changing a default is one edit here.  A bad value fails at stage start with a
:class:`ParamsError` naming the dotted key, the value and what is allowed (with the closest key for a typo).
Importing it reads one file: building :data:`DEFAULTS` checks ``data.symbol`` and ``features.cutoff`` against
the instrument table, which :mod:`almanac.instruments` loads from ``instruments.yaml``.

The schema by concern: :mod:`~almanac.config.base` (what every section shares), :mod:`~almanac.config.inputs`
(``data``, ``synthetic``, ``features``), :mod:`~almanac.config.modelling` (``labels``, ``cv``, ``train``,
``evaluate``, ``backtest``) and :mod:`~almanac.config.params` (:class:`Params`, :data:`DEFAULTS`, dotted keys).
This module reads a params file (:func:`load_params`), and every name of the schema is imported from it.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from almanac.config.base import SECTION_RAISES, Date, Section, _closest, _KeyError, _rule, parse_cutoff
from almanac.config.inputs import DataParams, FeaturesParams, SyntheticParams
from almanac.config.modelling import (
    BASELINES,
    BacktestParams,
    CVParams,
    EvaluateParams,
    LabelsParams,
    LightGBMParams,
    LogisticParams,
    TrainParams,
    XGBoostParams,
    learner_names,
    model_names,
)
from almanac.config.params import DEFAULTS, Params, describe, dotted_keys, get_dotted

__all__ = [
    "BASELINES", "DEFAULTS", "SECTION_RAISES", "BacktestParams", "CVParams", "DataParams", "Date", "EvaluateParams",
    "FeaturesParams", "LabelsParams", "LightGBMParams", "LogisticParams", "Params", "ParamsError", "Section",
    "SyntheticParams", "TrainParams", "XGBoostParams", "describe", "dotted_keys", "get_dotted", "learner_names",
    "load_params", "model_names", "params_from_dict", "parse_cutoff", "yaml_params",
]  # fmt: skip


class ParamsError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


# --- error messages ---------------------------------------------------------------------------------------------


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
