"""Intraday variance and volume profiles of the synthetic ES market, by ET minute of day.

Shapes follow the stylised facts of ES (docs/synthetic_market.md): an Asian-session trough, a European-open bump
around 02:00-04:00 ET, 08:30 and 10:00 ET news spikes on release days, a U-shaped RTH with open minutes ~4x
the midday variance and ~7x the midday volume, and a quiet post-close hour.  The oracle reuses these exact
functions, so generator and oracle can never disagree about where the variance of a day sits.
"""

from __future__ import annotations

import numpy as np

RTH_OPEN_MIN = 9 * 60 + 30
RTH_CLOSE_MIN = 16 * 60
RTH_MINUTES_FULL = RTH_CLOSE_MIN - RTH_OPEN_MIN  # 390
NEWS_0830_MIN = 8 * 60 + 30
NEWS_1000_MIN = 10 * 60
# The planted score is revealed by order flow from the Globex open up to this ET minute (exclusive).
CHANNEL_END_MIN = 10 * 60


def _since(minute: np.ndarray, start: int) -> np.ndarray:
    """Minutes elapsed since ``start`` on a 24 h clock that wraps at 18:00 ET (the Globex open)."""
    return (minute - start) % 1440


def _raw_variance(minute: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray) -> np.ndarray:
    m = minute.astype(np.float64)
    v = np.full(m.shape, 0.22)  # Asian session trough
    v = np.where((m >= 18 * 60) & (m < 18 * 60 + 30), 0.22 + 0.5 * np.exp(-(m - 18 * 60) / 6.0), v)
    europe = (m >= 2 * 60) & (m < 8 * 60 + 30)
    v = np.where(europe, 0.32 + 0.35 * np.exp(-np.maximum(m - 3 * 60, 0.0) / 45.0), v)
    v = np.where((m >= 8 * 60 + 30) & (m < RTH_OPEN_MIN), 0.65, v)
    rth = (m >= RTH_OPEN_MIN) & (m < RTH_CLOSE_MIN)
    t_open = m - RTH_OPEN_MIN
    t_close = RTH_CLOSE_MIN - 1 - m
    u_shape = 1.5 * (1.0 + 3.5 * np.exp(-t_open / 10.0) + 1.0 * np.exp(-t_close / 60.0) + 0.8 * np.exp(-t_close / 6.0))
    v = np.where(rth, u_shape, v)
    v = np.where((m >= RTH_CLOSE_MIN) & (m < 18 * 60), 0.35, v)
    spike_0830 = 14.0 * np.exp(-np.maximum(m - NEWS_0830_MIN, 0.0) / 2.0) * (m >= NEWS_0830_MIN)
    spike_1000 = 6.0 * np.exp(-np.maximum(m - NEWS_1000_MIN, 0.0) / 2.0) * (m >= NEWS_1000_MIN)
    v = v + np.where(news_0830 & (m < NEWS_0830_MIN + 30), spike_0830, 0.0)
    v = v + np.where(news_1000 & (m < NEWS_1000_MIN + 30), spike_1000, 0.0)
    return v


def _full_day_minutes() -> np.ndarray:
    # A modern full session: 18:00 ET (17:00 CT) to 17:00 ET (16:00 CT) next day, 1380 minutes.
    return (18 * 60 + np.arange(1380)) % 1440


_NO = np.zeros(1380, dtype=bool)
_VARIANCE_NORM = float(_raw_variance(_full_day_minutes(), _NO, _NO).sum())


def variance_weights(minute_et: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray) -> np.ndarray:
    """Share of a full no-news day's variance carried by each minute (sums to 1 over a full no-news day).

    ``minute_et`` is the ET minute of day (0..1439) of each bar start; ``news_*`` flag release days per bar.
    """
    return _raw_variance(np.asarray(minute_et), np.asarray(news_0830), np.asarray(news_1000)) / _VARIANCE_NORM


def _raw_volume(minute: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray) -> np.ndarray:
    m = minute.astype(np.float64)
    u = np.full(m.shape, 0.065)
    u = np.where((m >= 18 * 60) & (m < 18 * 60 + 30), 0.065 + 0.25 * np.exp(-(m - 18 * 60) / 5.0), u)
    u = np.where((m >= 2 * 60) & (m < 8 * 60 + 30), 0.11 + 0.1 * np.exp(-np.maximum(m - 3 * 60, 0) / 60.0), u)
    u = np.where((m >= 8 * 60 + 30) & (m < RTH_OPEN_MIN), 0.25, u)
    rth = (m >= RTH_OPEN_MIN) & (m < RTH_CLOSE_MIN)
    t_open = m - RTH_OPEN_MIN
    t_close = RTH_CLOSE_MIN - 1 - m
    u_shape = 1.0 + 7.0 * np.exp(-t_open / 12.0) + 1.5 * np.exp(-t_close / 45.0) + 5.0 * np.exp(-t_close / 3.0)
    u = np.where(rth, u_shape, u)
    u = np.where((m >= RTH_CLOSE_MIN) & (m < 18 * 60), 0.12, u)
    u = u + np.where(
        news_0830 & (m >= NEWS_0830_MIN) & (m < NEWS_0830_MIN + 10), 1.2 * np.exp(-(m - NEWS_0830_MIN) / 3.0), 0.0
    )
    u = u + np.where(
        news_1000 & (m >= NEWS_1000_MIN) & (m < NEWS_1000_MIN + 10), 1.5 * np.exp(-(m - NEWS_1000_MIN) / 3.0), 0.0
    )
    return u


_VOLUME_NORM = float(_raw_volume(_full_day_minutes(), _NO, _NO).sum())


def volume_weights(minute_et: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray) -> np.ndarray:
    """Expected share of a full no-news day's volume traded in each minute (same inputs as variance_weights)."""
    return _raw_volume(np.asarray(minute_et), np.asarray(news_0830), np.asarray(news_1000)) / _VOLUME_NORM


def rth_mask(minute_et: np.ndarray, close_min: np.ndarray | int = RTH_CLOSE_MIN) -> np.ndarray:
    """True for minutes inside RTH (09:30 ET up to the day's close, exclusive)."""
    minute_et = np.asarray(minute_et)
    return (minute_et >= RTH_OPEN_MIN) & (minute_et < close_min)


def channel_mask(minute_et: np.ndarray) -> np.ndarray:
    """True for minutes in which order flow reveals the planted score: the Globex open to 10:00 ET."""
    minute_et = np.asarray(minute_et)
    return (minute_et >= 18 * 60) | (minute_et < CHANNEL_END_MIN)
