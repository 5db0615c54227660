"""Feature engineering of the original design, computed at the decision cutoff.

``compute_early_session_features``, ``compute_cross_asset_features`` and ``compute_regime_features`` keep the
original design's names and first arguments; :func:`build_features` combines the enabled families into the
``features`` stage's table and lineage.  A feature for trade date D reads only what existed at D's cutoff:
bars with ``ts + 1 min <= cutoff(D)``, session values of earlier dates, daily series with
``available_at <= cutoff(D)``.  ``tests`` and the ``audit`` stage check this by perturbing the future.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from almanac.config import parse_cutoff
from almanac.features import cross_asset, early_session, regime
from almanac.sessions import build_sessions, session_windows
from almanac.sessions import indexed_by_trade_date as _indexed

FAMILIES = ("early_session", "cross_asset", "regime")


@dataclasses.dataclass(frozen=True)
class FeatureWindows:
    """Window lengths (trade days) of the features; the defaults are those of ``params.yaml``."""

    volume_avg_days: int = 10
    atr_days: int = 14
    rank_days: int = 252
    gk_days: int = 20
    adx_days: int = 14


def _cutoff(cutoff_time: str | dt.time) -> dt.time:
    return parse_cutoff(cutoff_time) if isinstance(cutoff_time, str) else cutoff_time


def compute_early_session_features(
    df_minute: pd.DataFrame,
    cutoff_time: str | dt.time = "10:15",
    sessions: pd.DataFrame | None = None,
    windows: FeatureWindows | None = None,
) -> pd.DataFrame:
    """Early-session features per trade date, from canonical minute bars, as of ``cutoff_time`` (ET).

    Overnight gap %, overnight range % and volume (vs its average), first-window (09:30 -> cutoff) range in ATRs
    and volume (vs its average), open -> cutoff return, tick-rule delta ratios (an approximation of order flow),
    tests of the running high/low, cutoff price vs anchored VWAP, previous day's return.  ``sessions`` (the
    session table, e.g. with roll gaps from the manifest) is built from the bars when not given.
    """
    windows = windows or FeatureWindows()
    cutoff = _cutoff(cutoff_time)
    sessions = _indexed(sessions if sessions is not None else build_sessions(df_minute, cutoff))
    stats = early_session.first_window_stats(df_minute, session_windows(sessions.index, cutoff))
    atr_prev = regime.atr(sessions, windows.atr_days).shift(1)
    return early_session.early_session_features(stats, sessions, atr_prev, windows.volume_avg_days)


def compute_cross_asset_features(
    primary_df: pd.DataFrame, secondary_dfs: pd.DataFrame, cutoff_time: str | dt.time = "10:15"
) -> pd.DataFrame:
    """Cross-asset features per trade date of ``primary_df`` (the session table or anything with trade dates).

    ``secondary_dfs``: the daily series in long format (``symbol, date, close, available_at``).  Each value is
    the latest one published at or before the trade date's cutoff.
    """
    dates = _indexed(primary_df).index
    cutoffs = session_windows(dates, _cutoff(cutoff_time))["cutoff_utc"]
    return cross_asset.cross_asset_features(cutoffs, secondary_dfs)


def compute_regime_features(df_daily: pd.DataFrame, windows: FeatureWindows | None = None) -> pd.DataFrame:
    """Regime features from the daily session table (ATR percentile rank, Garman-Klass volatility, ADX, days
    since the 60-day high/low), each through the previous trade date."""
    w = windows or FeatureWindows()
    return regime.regime_features(_indexed(df_daily), w.atr_days, w.rank_days, w.gk_days, w.adx_days)


def build_features(
    bars: pd.DataFrame,
    sessions: pd.DataFrame,
    daily: pd.DataFrame,
    cutoff: dt.time,
    families: dict[str, bool],
    windows: FeatureWindows,
) -> tuple[pd.DataFrame, dict]:
    """The feature table (indexed by ``trade_date``, one float column per feature) and its lineage.

    ``families`` switches each of :data:`FAMILIES` on or off; at least one must be on.
    """
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown feature families {sorted(unknown)}; known: {', '.join(FAMILIES)}")
    if not any(families.values()):
        raise ValueError("all feature families are switched off: enable at least one of " + ", ".join(FAMILIES))
    indexed = _indexed(sessions)
    parts, lineage_tables = [], []
    if families.get("early_session"):
        parts.append(compute_early_session_features(bars, cutoff, indexed, windows))
        lineage_tables.append(("early_session", early_session.LINEAGE))
    if families.get("cross_asset"):
        parts.append(compute_cross_asset_features(indexed, daily, cutoff))
        lineage_tables.append(("cross_asset", cross_asset.LINEAGE))
    if families.get("regime"):
        parts.append(compute_regime_features(indexed, windows))
        lineage_tables.append(("regime", regime.LINEAGE))
    features = pd.concat(parts, axis=1).astype("float64")
    features.index = pd.DatetimeIndex(features.index, name="trade_date")
    fmt = dataclasses.asdict(windows)
    lineage = {}
    for family, table in lineage_tables:
        for name, (source, window, as_of) in table.items():
            if name in features.columns:
                lineage[name] = {
                    "family": family,
                    "source": source.format(**fmt),
                    "window": window.format(**fmt),
                    "as_of": as_of.replace("cutoff", f"cutoff {cutoff:%H:%M} ET"),
                }
    return features, lineage
