"""Regime features from the daily RTH session table, all through the *previous* trade date.

Formulas (docs/honesty.md): Wilder ATR (TR = max(H-L, |H-Cprev|, |L-Cprev|), smoothing alpha = 1/n);
Wilder ADX; Garman-Klass variance 0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2.  These are a few lines on top of
pandas' exponentially weighted means; the indicator packages on PyPI either need the TA-Lib C library or do not
support pandas 3, so they are written here, against the published formulas.

Across a roll the previous day's levels are shifted by the carry gap (``prev_close - close.shift(1)``), so no
range or directional move is ever measured across two different contracts.  Long windows use returns, not
spliced levels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from almanac.numerics import exp, log


def gap_within(s: pd.DataFrame, n: int) -> pd.Series:
    """True where one of the ``n`` sessions ending at each row has no RTH close (no bars, or a partial day).

    The session table has a row for every NYSE trading day, so a window of ``n`` rows is ``n`` trading days; a
    window feature that would span a missing session is NaN rather than silently reaching further back.
    """
    missing = s["close"].isna().astype(np.float64)
    return missing.rolling(n, min_periods=1).max().astype(bool)


def atr_through_previous(s: pd.DataFrame, n: int) -> pd.Series:
    """Wilder ATR(n) through the previous session: NaN where those ``n`` days or the close before them are
    incomplete."""
    return atr(s, n).where(~gap_within(s, n + 1)).shift(1)


def _roll_gap(s: pd.DataFrame) -> pd.Series:
    """Price offset of the previous trade date into today's contract (0 except on roll days)."""
    return (s["prev_close"] - s["close"].shift(1)).fillna(0.0)


def true_range(s: pd.DataFrame) -> pd.Series:
    """Wilder's true range of each RTH session against the previous close in the same contract."""
    prev = s["prev_close"]
    return (
        pd.concat([s["high"] - s["low"], (s["high"] - prev).abs(), (s["low"] - prev).abs()], axis=1)
        .max(axis=1, skipna=False)
        .fillna(s["high"] - s["low"])
    )


def wilder(values: pd.Series, n: int) -> pd.Series:
    """Wilder's smoothing: an exponential mean with alpha = 1/n, seeded after ``n`` observations."""
    return values.ewm(alpha=1.0 / n, adjust=False, min_periods=n).mean()


def atr(s: pd.DataFrame, n: int) -> pd.Series:
    """Wilder ATR(n) of RTH sessions, including the current day (shift it before using it as a feature)."""
    return wilder(true_range(s), n)


def adx(s: pd.DataFrame, n: int) -> pd.Series:
    """Wilder ADX(n), including the current day."""
    gap = _roll_gap(s)
    up = s["high"] - (s["high"].shift(1) + gap)
    down = (s["low"].shift(1) + gap) - s["low"]
    plus_dm = up.where((up > down) & (up > 0), 0.0)
    minus_dm = down.where((down > up) & (down > 0), 0.0)
    tr = wilder(true_range(s), n)
    plus_di = 100.0 * wilder(plus_dm, n) / tr
    minus_di = 100.0 * wilder(minus_dm, n) / tr
    dx = 100.0 * (plus_di - minus_di).abs() / (plus_di + minus_di)
    return wilder(dx, n)


def garman_klass_vol_pct(s: pd.DataFrame, n: int) -> pd.Series:
    """Rolling Garman-Klass daily volatility of RTH sessions over ``n`` days, in percent (current day incl.)."""
    var = 0.5 * log(s["high"] / s["low"]) ** 2 - (2.0 * log(2.0) - 1.0) * log(s["close"] / s["open"]) ** 2
    return np.sqrt(var.rolling(n, min_periods=n).mean()) * 100.0


def _days_since_extreme(values: np.ndarray, window: int, highest: bool) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) < window:
        return out
    views = sliding_window_view(np.nan_to_num(values, nan=-np.inf if highest else np.inf), window)
    position = views.argmax(axis=1) if highest else views.argmin(axis=1)
    out[window - 1 :] = window - 1 - position
    return out


def regime_features(
    sessions: pd.DataFrame, *, atr_days: int, rank_days: int, gk_days: int, adx_days: int
) -> pd.DataFrame:
    """Regime family, indexed like ``sessions`` (by trade date); every value is known at the previous close."""
    s = sessions
    atr_now = atr(s, atr_days).where(~gap_within(s, atr_days + 1))
    rank = atr_now.rolling(rank_days, min_periods=max(rank_days // 2, 20)).rank(pct=True).where(atr_now.notna())
    log_ret = log(s["close"] / s["prev_close"]).fillna(0.0)
    adjusted = exp(log_ret.cumsum()).to_numpy()  # back-adjusted close: returns, not spliced levels
    window = 60
    complete_window = ~gap_within(s, window + 1)
    return pd.DataFrame(
        {
            "atr_pct_rank": rank.shift(1),
            "atr_pct": (atr_now / s["close"] * 100.0).shift(1),
            "gk_vol_pct": garman_klass_vol_pct(s, gk_days).where(~gap_within(s, gk_days)).shift(1),
            "adx": adx(s, adx_days).where(~gap_within(s, 2 * adx_days + 1)).shift(1),
            "days_since_high": pd.Series(_days_since_extreme(adjusted, window, True), index=s.index)
            .where(complete_window)
            .shift(1),
            "days_since_low": pd.Series(_days_since_extreme(adjusted, window, False), index=s.index)
            .where(complete_window)
            .shift(1),
        },
        index=s.index,
    )


def compute(bars, sessions: pd.DataFrame, daily, *, settings) -> pd.DataFrame:
    """The family for the feature registry: :func:`regime_features` with the windows of ``settings``
    (``FeaturesParams``); ``sessions`` indexed by trade date, ``bars`` and ``daily`` are not used."""
    return regime_features(
        sessions,
        atr_days=settings.atr_days,
        rank_days=settings.rank_days,
        gk_days=settings.gk_days,
        adx_days=settings.adx_days,
    )


LINEAGE = {
    "atr_pct_rank": (
        "{symbol} sessions (RTH)",
        "percentile of ATR({atr_days}) among the last {rank_days} days",
        "previous RTH close",
    ),
    "atr_pct": ("{symbol} sessions (RTH)", "ATR({atr_days}) as % of the close", "previous RTH close"),
    "gk_vol_pct": ("{symbol} sessions (RTH)", "Garman-Klass volatility over {gk_days} days", "previous RTH close"),
    "adx": ("{symbol} sessions (RTH)", "Wilder ADX({adx_days})", "previous RTH close"),
    "days_since_high": (
        "{symbol} sessions (RTH), back-adjusted closes",
        "days since the 60-day closing high",
        "previous RTH close",
    ),
    "days_since_low": (
        "{symbol} sessions (RTH), back-adjusted closes",
        "days since the 60-day closing low",
        "previous RTH close",
    ),
}
