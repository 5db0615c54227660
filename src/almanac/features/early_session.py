"""Early-session features: what the market has shown between the Globex open and the cutoff.

Every quantity here reads only bars that end by the cutoff of their own trade date (``ts + 1 min <= cutoff``)
and session values of earlier trade dates.  Windows are grouped reductions over bars, never a loop per day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.config import FeaturesParams
from almanac.features import regime
from almanac.features.orderflow import tick_rule_sign
from almanac.instruments import instrument, root_of
from almanac.sessions import DayGroups, bar_dates, bar_masks, day_rows, session_windows, symbol_of

# A bar "tests" the running high (low) when it comes within this many ticks of the high (low) set by the earlier
# bars of the window; consecutive touching bars are one test.
TEST_TOLERANCE_TICKS = 2


def window_masks(
    bars: pd.DataFrame, windows: pd.DataFrame, *, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over ``bars``: (first window 09:30 -> cutoff, overnight bars before the RTH open).

    ``windows`` as returned by :func:`almanac.sessions.session_windows`; ``rows`` as
    :func:`almanac.sessions.day_rows` returns them (computed when not given).  The cutoff never lies after the RTH
    close, so the first window is the RTH bars usable at the cutoff.
    """
    in_rth, overnight, usable = bar_masks(bars, windows, rows=rows)
    return in_rth & usable, overnight


def _episodes(touch: pd.Series, day: pd.Series) -> pd.Series:
    """Count runs of True per day (a run continuing from the previous bar of the same day is one episode)."""
    previous = touch.groupby(day, sort=False).shift(1, fill_value=False)
    return (touch & ~previous).groupby(day, sort=True).sum()


def first_window_stats(bars: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Per trade date over the bars from 09:30 ET up to the cutoff.

    Columns: ``fw_open, fw_high, fw_low, fw_close, fw_volume, fw_vwap`` (anchored 09:30, typical price
    (H+L+C)/3), ``fw_delta`` (tick-rule signed volume; an approximation of order-flow delta), ``fw_high_tests``
    and ``fw_low_tests`` (tests of the running high/low), plus the overnight ``on_delta`` and ``on_volume``.
    """
    rows = day_rows(bars, windows)  # also grouped by below
    first, overnight = window_masks(bars, windows, rows=rows)
    fw = bars.loc[first, ["trade_date", "open", "high", "low", "close", "volume"]]
    day = fw["trade_date"]
    grouped = fw.groupby("trade_date", sort=True)
    typical = (fw["high"] + fw["low"] + fw["close"]) / 3.0
    codes = day.to_numpy().astype(np.int64)
    signed = tick_rule_sign(fw["close"].to_numpy(), codes) * fw["volume"].to_numpy()
    out = pd.DataFrame(
        {
            "fw_open": grouped["open"].first(),
            "fw_high": grouped["high"].max(),
            "fw_low": grouped["low"].min(),
            "fw_close": grouped["close"].last(),
            "fw_volume": grouped["volume"].sum(),
            "fw_vwap": (typical * fw["volume"]).groupby(day, sort=True).sum() / grouped["volume"].sum(),
            "fw_delta": pd.Series(signed, index=fw.index).groupby(day, sort=True).sum(),
        }
    )
    tol = TEST_TOLERANCE_TICKS * (instrument(root_of(bars["contract"].iloc[0])).tick if len(bars) else 0.0)
    prior_high = grouped["high"].cummax().groupby(day, sort=False).shift(1)
    prior_low = grouped["low"].cummin().groupby(day, sort=False).shift(1)
    out["fw_high_tests"] = _episodes((fw["high"] >= prior_high - tol) & prior_high.notna(), day)
    out["fw_low_tests"] = _episodes((fw["low"] <= prior_low + tol) & prior_low.notna(), day)

    # The overnight bars (two thirds of all) reduced on their arrays, not copied into a frame and grouped.
    rows = rows[overnight]
    on_volume = bars["volume"].to_numpy()[overnight]
    on_sign = tick_rule_sign(bars["close"].to_numpy()[overnight], rows).astype(np.int64)
    groups = DayGroups(rows, len(windows))
    has_bars = groups.size() > 0
    # The signed volumes are integers: their int64 sum is exact, so it is the float sum pandas' groupby gives
    # (whose compensation term stays 0 on integers, while every partial sum is below 2 ** 53).
    on = pd.DataFrame(
        {
            "on_delta": np.where(has_bars, groups.sum(on_sign * on_volume).astype(np.float64), np.nan),
            "on_volume": groups.sum(on_volume),
        },
        index=windows.index,
    )
    out = out.join(on.loc[has_bars], how="outer")
    out.index = pd.DatetimeIndex(out.index, name="trade_date")
    return out


def early_session_features(
    stats: pd.DataFrame, sessions: pd.DataFrame, *, atr_prev: pd.Series, volume_avg_days: int
) -> pd.DataFrame:
    """The early-session feature family from window stats and the session table.

    ``sessions`` is indexed by trade date (RTH ``open``, ``prev_close``, ``eth_high``, ``eth_low``, ``close``);
    ``atr_prev`` is the Wilder ATR of RTH through the previous trade date.  Ratios to averages use the previous
    ``volume_avg_days`` trade dates only.
    """
    s = sessions
    st = stats.reindex(s.index)
    if "partial" in s.columns:  # an overnight session seen only in part has no overnight volume or delta
        late = s["partial"].str.contains("starts after the Globex open", regex=False).to_numpy()
        st.loc[late, ["on_volume", "on_delta"]] = np.nan
    prev_close = s["prev_close"]
    min_periods = max(volume_avg_days // 2, 1)
    # Averages over the previous days are NaN when one of those days is missing or partial.
    complete_average = ~regime.gap_within(s, volume_avg_days).shift(1, fill_value=False)

    def vs_average(values: pd.Series) -> pd.Series:
        average = values.rolling(volume_avg_days, min_periods=min_periods).mean().shift(1)
        return values / average.where(complete_average)

    prev_day_ret = (s["close"] / s["prev_close"] - 1.0) * 100.0
    return pd.DataFrame(
        {
            # The first-window open, not the session's RTH open: if nothing traded from 09:30 to the cutoff, the
            # session's first RTH bar starts after the cutoff and its open does not exist yet.
            "gap_pct": (st["fw_open"] / prev_close - 1.0) * 100.0,
            "overnight_range_pct": (s["eth_high"] - s["eth_low"]) / prev_close * 100.0,
            "overnight_volume_rel": vs_average(st["on_volume"]),
            "overnight_delta_ratio": st["on_delta"] / st["on_volume"],
            "first_range_atr": (st["fw_high"] - st["fw_low"]) / atr_prev,
            "first_volume_rel": vs_average(st["fw_volume"]),
            "open_to_cutoff_ret_pct": (st["fw_close"] / st["fw_open"] - 1.0) * 100.0,
            "first_delta_ratio": st["fw_delta"] / st["fw_volume"],
            "high_tests": st["fw_high_tests"],
            "low_tests": st["fw_low_tests"],
            "vwap_dist_pct": (st["fw_close"] / st["fw_vwap"] - 1.0) * 100.0,
            "prev_day_ret_pct": prev_day_ret.shift(1),
        },
        index=s.index,
    )


def compute(
    bars: pd.DataFrame, sessions: pd.DataFrame, daily: pd.DataFrame | None, *, settings: FeaturesParams
) -> pd.DataFrame:
    """The family for the feature registry: window stats of ``bars`` at ``settings.cutoff``, then the features.

    ``sessions`` is indexed by trade date; ``daily`` is not used.
    """
    # Windows of the days that have bars only (the others have no stats): one calendar over the bars' range.
    days = bar_dates(bars) if len(bars) else sessions.index
    stats = first_window_stats(bars, session_windows(days, settings.cutoff_time, symbol=symbol_of(bars)))
    atr_prev = regime.atr_through_previous(sessions, settings.atr_days)
    return early_session_features(stats, sessions, atr_prev=atr_prev, volume_avg_days=settings.volume_avg_days)


LINEAGE = {
    "gap_pct": (
        "{symbol} minute bars: RTH open vs previous RTH close (same contract)",
        "previous RTH close -> {rth_open} ET",
        "{first_bar_end} ET",
    ),
    "overnight_range_pct": (
        "{symbol} minute bars before {rth_open} ET",
        "Globex open -> {rth_open} ET",
        "{rth_open} ET",
    ),
    "overnight_volume_rel": (
        "{symbol} minute bars before {rth_open} ET",
        "overnight volume / mean of previous {volume_avg_days} days",
        "{rth_open} ET",
    ),
    "overnight_delta_ratio": (
        "{symbol} minute bars before {rth_open} ET (tick rule, approximation)",
        "Globex open -> {rth_open} ET",
        "{rth_open} ET",
    ),
    "first_range_atr": (
        "{symbol} minute bars {rth_open} -> cutoff; RTH ATR({atr_days})",
        "{rth_open} ET -> cutoff; ATR through previous day",
        "cutoff",
    ),
    "first_volume_rel": (
        "{symbol} minute bars {rth_open} -> cutoff",
        "window volume / mean of previous {volume_avg_days} days",
        "cutoff",
    ),
    "open_to_cutoff_ret_pct": ("{symbol} minute bars {rth_open} -> cutoff", "{rth_open} ET -> cutoff", "cutoff"),
    "first_delta_ratio": (
        "{symbol} minute bars {rth_open} -> cutoff (tick rule, approximation)",
        "{rth_open} ET -> cutoff",
        "cutoff",
    ),
    "high_tests": (
        "{symbol} minute bars {rth_open} -> cutoff",
        f"touches within {TEST_TOLERANCE_TICKS} ticks of the running high",
        "cutoff",
    ),
    "low_tests": (
        "{symbol} minute bars {rth_open} -> cutoff",
        f"touches within {TEST_TOLERANCE_TICKS} ticks of the running low",
        "cutoff",
    ),
    "vwap_dist_pct": (
        "{symbol} minute bars {rth_open} -> cutoff",
        "cutoff price vs VWAP anchored {rth_open} ET (typical price)",
        "cutoff",
    ),
    "prev_day_ret_pct": ("{symbol} sessions", "previous day's RTH close-to-close return", "previous RTH close"),
}
