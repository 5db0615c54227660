"""The sections of what the model sees: ``data`` (which market and dates, where the bars come from), ``synthetic``
(the seeded synthetic market) and ``features`` (the decision cutoff, the feature families, their windows)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Literal

from pydantic import Field, field_validator, model_validator

from almanac.config.base import _HHMM, Date, Section, _closest, _KeyError, parse_cutoff


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
