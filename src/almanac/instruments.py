"""The instrument table (``instruments.yaml``): one place for what a futures symbol is.

Point value, tick, contract months and expiry rule, Globex and RTH times, roll rule, plausible prices, the
synthetic market's first price.  It is data, not code: adding a contract is a YAML entry (validated here), and
the calendar, contracts, file checks, synthetic market and backtest read it.  Only instruments whose sessions the
pipeline models (NYSE trading days, the Globex eras, the instrument's own RTH window) may be ``data.symbol``; a
row marked ``not modelled`` is described but refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TABLE = Path(__file__).with_name("instruments.yaml")
MONTH_CODES = "FGHJKMNQUVXZ"  # January .. December
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Instrument(BaseModel):
    """One futures contract specification (a row of ``instruments.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str
    name: str
    exchange: str
    point_value_usd: float = Field(gt=0)
    tick: float = Field(gt=0)
    months: str  # the contract cycle the continuous series rolls through
    listed_months: str = ""  # every month with a listed contract, when more than the cycle (gold: all twelve)
    expiry: Literal["third_friday", "crude_25th", "third_last_business_day", "seventh_business_day_before_month_end"]
    expiry_ct: str
    roll_days_before_expiry: int = Field(ge=0)
    globex_ct: tuple[str, str]
    rth_et: tuple[str, str]
    price_range: tuple[float, float]
    synthetic_start: float  # the synthetic market's first price when ``synthetic.start_price`` is null
    sessions: Literal["modelled", "not modelled"]

    @field_validator("months", "listed_months")
    @classmethod
    def _month_codes(cls, value: str, info) -> str:
        if info.field_name == "listed_months" and value == "":
            return value
        if not value or any(code not in MONTH_CODES for code in value):
            raise ValueError(f"{value!r}: contract months are month codes out of {MONTH_CODES}")
        return value

    @field_validator("globex_ct", "rth_et", "expiry_ct")
    @classmethod
    def _times(cls, value: tuple[str, str] | str) -> tuple[str, str] | str:
        if not all(_TIME.match(t) for t in ((value,) if isinstance(value, str) else value)):
            raise ValueError(f"{value!r}: times are 'HH:MM'")
        return value

    @model_validator(mode="after")
    def _plausible_start(self) -> Instrument:
        low, high = self.price_range
        if not low <= self.synthetic_start <= high:
            raise ValueError(f"synthetic_start {self.synthetic_start:g} is outside price_range {low:g} to {high:g}")
        return self

    @property
    def month_numbers(self) -> tuple[int, ...]:
        """Contract months of the cycle as numbers (``HMUZ`` -> 3, 6, 9, 12)."""
        return tuple(MONTH_CODES.index(code) + 1 for code in self.months)

    @property
    def listed_month_numbers(self) -> tuple[int, ...]:
        """Every month with a listed contract (the cycle unless ``listed_months`` says more)."""
        return tuple(MONTH_CODES.index(code) + 1 for code in (self.listed_months or self.months))

    @property
    def rth(self) -> tuple[dt.time, dt.time]:
        """The RTH window (ET) used for labels."""
        return tuple(dt.time.fromisoformat(t) for t in self.rth_et)  # type: ignore[return-value]

    @property
    def rth_minutes(self) -> tuple[int, int]:
        """The RTH window as ET minutes of the day (``(570, 960)`` for 09:30-16:00)."""
        return tuple(t.hour * 60 + t.minute for t in self.rth)  # type: ignore[return-value]


@functools.cache
def table() -> dict[str, Instrument]:
    """Every instrument of ``instruments.yaml`` by root, validated."""
    # libyaml's parser when PyYAML has it: the same mapping as yaml.safe_load (same resolver and constructor; tested),
    # in 1 ms instead of 35 ms in every stage.
    raw = yaml.load(TABLE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {root: Instrument(root=root, **spec) for root, spec in raw.items()}


def modelled() -> list[str]:
    """Roots that may be ``data.symbol``."""
    return [root for root, spec in table().items() if spec.sessions == "modelled"]


def instrument(root: str) -> Instrument:
    """The specification of ``root`` (``'ES'``); KeyError naming the known roots otherwise."""
    try:
        return table()[root]
    except KeyError:
        raise KeyError(f"{root!r} is not in the instrument table; known: {', '.join(table())}") from None


_ROOT = re.compile(r"^([A-Z0-9]{1,4}?)(?:[FGHJKMNQUVXZ]\d{2}|-continuous)$")


def root_of(contract: str) -> str:
    """Instrument root of a canonical contract name (``'ESM24'`` -> ``'ES'``, ``'MNQ-continuous'`` -> ``'MNQ'``)."""
    match = _ROOT.match(contract)
    if match is None or match.group(1) not in table():
        raise KeyError(f"{contract!r} is not a contract of a known instrument ({', '.join(table())})")
    return match.group(1)


def root_of_all(contracts) -> str | None:
    """The one instrument root of the canonical contract names ``contracts`` (empty names skipped); ``None`` when
    there is none.  Raises ``ValueError`` naming the roots when the contracts belong to several instruments, or the
    contract whose instrument is not in the table."""
    roots = set()
    for code in dict.fromkeys(str(c) for c in contracts if c):  # one iteration per distinct contract
        try:
            roots.add(root_of(code))
        except KeyError as err:
            raise ValueError(err.args[0]) from None
    if len(roots) > 1:
        raise ValueError(f"the contracts belong to several instruments ({', '.join(sorted(roots))}): one per table")
    return roots.pop() if roots else None
