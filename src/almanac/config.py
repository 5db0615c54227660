"""Typed, validated pipeline parameters.

``params.yaml`` is parsed once into frozen dataclasses.  Every section is a flat set of scalars so that
``dvc exp run -S section.key=value`` reaches every knob.  Validation fails at stage start with a
:class:`ParamsError` naming the dotted key, the value and what is allowed.  Nothing here reads a file at import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

import yaml

SOURCES = ("synthetic",)
SYMBOLS = ("ES",)


class ParamsError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


@dataclasses.dataclass(frozen=True)
class DataParams:
    """``data.*``: which market, which dates, where the bars come from."""

    symbol: str = "ES"
    start: dt.date = dt.date(2016, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)
    source: str = "synthetic"


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
    """``features.*``: the decision cutoff (ET wall-clock time, ``HH:MM``)."""

    cutoff: str = "10:15"


@dataclasses.dataclass(frozen=True)
class Params:
    """All sections of ``params.yaml``."""

    data: DataParams = dataclasses.field(default_factory=DataParams)
    synthetic: SyntheticParams = dataclasses.field(default_factory=SyntheticParams)
    features: FeaturesParams = dataclasses.field(default_factory=FeaturesParams)


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
    if d.end < d.start:
        raise ParamsError(f"data.end: {d.end} is before data.start {d.start}; data.end must be on or after it")
    if not 0 <= s.seed < 2**63:
        raise ParamsError(f"synthetic.seed: {s.seed} must be a non-negative integer below 2**63")
    if s.kappa < 0:
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


def load_params(path: str | Path) -> Params:
    """Read and validate ``params.yaml`` (or any file of the same shape)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from err
    if raw is not None and not isinstance(raw, Mapping):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    try:
        return params_from_dict(raw)
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
