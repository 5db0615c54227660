"""Feature engineering of the original design, computed at the decision cutoff.

``compute_early_session_features``, ``compute_cross_asset_features`` and ``compute_regime_features`` keep the
original design's names and first arguments; :func:`build_features` combines the enabled families of
:data:`FAMILIES` into the ``features`` stage's table and lineage.  A feature for trade date D reads only what
existed at D's cutoff: bars with ``ts + 1 min <= cutoff(D)``, session values of earlier dates, daily series with
``available_at <= cutoff(D)``.  The tests and the ``audit`` stage check this by perturbing the future.

Adding a family: a module with a ``compute(bars, sessions, daily, *, settings)`` function and a ``LINEAGE`` table,
one entry in :data:`FAMILIES`, and its on/off switch in ``FeaturesParams`` (see docs/architecture.md).  Lineage
texts are templates: ``{symbol}``, ``{rth_open}``, ``{first_bar_end}`` (the instrument's, from the bars) and every
``features.*`` key are filled in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from collections.abc import Callable

import pandas as pd

from almanac import schemas
from almanac.config import DEFAULTS, FeaturesParams, parse_cutoff
from almanac.errors import AlmanacWarning
from almanac.features import cross_asset, early_session, regime
from almanac.instruments import instrument
from almanac.sessions import build_sessions, session_windows, symbol_of
from almanac.sessions import indexed_by_trade_date as _indexed


@dataclasses.dataclass(frozen=True)
class FeatureFamily:
    """One family of features: how to compute it and where each of its columns comes from."""

    compute: Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame, FeaturesParams], pd.DataFrame]
    lineage: dict[str, tuple[str, str, str]]  # feature -> (source, window, as_of), formatted with the settings


# The session columns the families read (the rest of the session table is optional here).
SESSION_COLUMNS = ("trade_date", "open", "high", "low", "close", "eth_high", "eth_low", "prev_close")

FAMILIES: dict[str, FeatureFamily] = {
    "early_session": FeatureFamily(early_session.compute, early_session.LINEAGE),
    "cross_asset": FeatureFamily(cross_asset.compute, cross_asset.LINEAGE),
    "regime": FeatureFamily(regime.compute, regime.LINEAGE),
}


def _settings(settings: FeaturesParams | None, cutoff_time: str | dt.time | None = None) -> FeaturesParams:
    settings = settings or DEFAULTS.features
    if cutoff_time is not None:
        text = cutoff_time if isinstance(cutoff_time, str) else f"{cutoff_time:%H:%M}"
        settings = FeaturesParams(**{**settings.model_dump(), "cutoff": text})
    return settings


def compute_early_session_features(
    df_minute: pd.DataFrame,
    cutoff_time: str | dt.time | None = None,
    *,
    sessions: pd.DataFrame | None = None,
    settings: FeaturesParams | None = None,
) -> pd.DataFrame:
    """Early-session features per trade date, from canonical minute bars, as of ``cutoff_time`` (ET).

    Overnight gap %, overnight range % and volume (vs its average), first-window (09:30 -> cutoff) range in ATRs
    and volume (vs its average), open -> cutoff return, tick-rule delta ratios (an approximation of order flow),
    tests of the running high/low, cutoff price vs anchored VWAP, previous day's return.

    Parameters
    ----------
    df_minute : DataFrame
        Canonical minute bars (``ts`` UTC bar start, OHLC, ``volume``, ``contract``, ``trade_date``).
    cutoff_time : str or datetime.time, optional
        ET decision time; default ``settings.cutoff``.
    sessions : DataFrame, optional
        The session table (e.g. with roll gaps from the manifest); built from the bars when not given.
    settings : FeaturesParams, optional
        Window lengths; default the schema's.

    Returns
    -------
    DataFrame
        One row per trade date, one float column per feature.
    """
    settings = _settings(settings, cutoff_time)
    if sessions is None:
        sessions = build_sessions(df_minute, cutoff=settings.cutoff_time)
    return early_session.compute(df_minute, _indexed(sessions), None, settings=settings)


def compute_cross_asset_features(
    primary_df: pd.DataFrame,
    secondary_dfs: pd.DataFrame,
    cutoff_time: str | dt.time | None = None,
    *,
    symbol: str | None = None,
) -> pd.DataFrame:
    """Cross-asset features per trade date of ``primary_df`` (the session table or anything with trade dates).

    ``symbol``: the instrument whose RTH window clips the cutoff on half days; default ``data.symbol``'s.

    ``secondary_dfs``: the daily series in long format (``symbol, date, close, available_at``).  Each value is
    the latest one published at or before the trade date's cutoff (default ``features.cutoff``).
    """
    dates = _indexed(primary_df).index
    cutoff = parse_cutoff(_settings(None, cutoff_time).cutoff)
    return cross_asset.cross_asset_features(session_windows(dates, cutoff, symbol=symbol)["cutoff_utc"], secondary_dfs)


def compute_regime_features(df_daily: pd.DataFrame, *, settings: FeaturesParams | None = None) -> pd.DataFrame:
    """Regime features from the daily session table (ATR percentile rank, Garman-Klass volatility, ADX, days
    since the 60-day high/low), each through the previous trade date."""
    return regime.compute(None, _indexed(df_daily), None, settings=_settings(settings))


def build_features(
    bars: pd.DataFrame,
    sessions: pd.DataFrame,
    daily: pd.DataFrame,
    *,
    settings: FeaturesParams | None = None,
) -> tuple[pd.DataFrame, dict]:
    """The feature table and its lineage, as the ``features`` stage writes them.

    Parameters
    ----------
    bars : DataFrame
        Canonical minute bars (``ts`` UTC bar start, ``open, high, low, close, volume, contract, trade_date``),
        sorted by ``ts``.
    sessions : DataFrame
        The session table built at the same cutoff (:func:`almanac.sessions.build_sessions`), one row per trade
        date (``trade_date`` a column or the index), sorted.
    daily : DataFrame
        Cross-asset daily series in long format (``symbol, date, close, available_at``); may be empty.  Each
        frame as the stages read it, as ``load_bars`` returns it or as ``pd.read_parquet``/``pd.read_csv`` reads
        the pipeline's files (:mod:`almanac.schemas` converts and checks them); none is modified.
    settings : FeaturesParams, optional
        Cutoff, family switches and window lengths; default the schema's (``features.*``).

    Returns
    -------
    features : DataFrame
        Indexed by ``trade_date``, one float64 column per feature.
    lineage : dict
        For every feature its ``family``, ``source``, ``window`` and ``as_of``.

    Raises
    ------
    almanac.schemas.InputError
        A frame breaks its data contract (the message names the argument and the column) or ``settings`` is not
        a :class:`~almanac.config.FeaturesParams`.
    ValueError
        Every feature family is switched off.

    Examples
    --------
    >>> import almanac
    >>> data = almanac.load_bars(almanac.DataParams(start="2024-01-02", end="2024-03-28"))
    >>> sessions = almanac.build_sessions(data.bars, rolls=data.manifest["rolls"])
    >>> features, lineage = almanac.build_features(data.bars, sessions, data.daily)
    >>> lineage["gap_pct"]["family"], lineage["gap_pct"]["as_of"]
    ('early_session', '09:31 ET')
    """
    bars = schemas.table(bars, schemas.BARS, fn="build_features", arg="bars", sort_by="ts")
    sessions = schemas.table(sessions, schemas.SESSIONS, fn="build_features", arg="sessions",
                             required=SESSION_COLUMNS, optional=tuple(schemas.SESSIONS), trade_date="either")  # fmt: skip
    daily = schemas.table(daily, schemas.DAILY, fn="build_features", arg="daily")
    settings = schemas.params(settings, FeaturesParams, fn="build_features", arg="settings") or DEFAULTS.features
    enabled = [name for name in FAMILIES if getattr(settings, name)]
    if not enabled:
        raise ValueError("all feature families are switched off: enable at least one of " + ", ".join(FAMILIES))
    indexed = _indexed(sessions)
    parts = [FAMILIES[name].compute(bars, indexed, daily, settings=settings) for name in enabled]
    features = pd.concat(parts, axis=1).astype("float64")
    features.index = pd.DatetimeIndex(features.index, name="trade_date")
    symbol = symbol_of(bars)
    opens = instrument(symbol).rth_minutes[0]  # ET minute of the day; the first bar ends a minute later
    fmt = {**settings.model_dump(), "symbol": symbol, "rth_open": f"{opens // 60:02d}:{opens % 60:02d}",
           "first_bar_end": f"{(opens + 1) // 60:02d}:{(opens + 1) % 60:02d}"}  # fmt: skip
    lineage, missing = {}, []
    for family in enabled:
        for name, (source, window, as_of) in FAMILIES[family].lineage.items():
            entry = {
                "family": family,
                "source": source.format(**fmt),
                "window": window.format(**fmt),
                "as_of": as_of.format(**fmt).replace("cutoff", f"cutoff {settings.cutoff} ET"),
            }
            if name not in features.columns:
                # A switched-on family without its inputs (vendor data without data.daily_paths): said, not hidden.
                why = (
                    "no daily series given (data.daily_paths)"
                    if daily.empty
                    else "its series is not in the daily files"
                )
                entry.update(computed=False, why=f"not computed: {why}")
                missing.append(name)
            lineage[name] = entry
    if missing:
        message = f"features not computed: {', '.join(missing)} ({lineage[missing[0]]['why']})"
        warnings.warn(message, AlmanacWarning, stacklevel=2)
    return features, lineage
