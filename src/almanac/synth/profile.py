"""Intraday variance and volume profiles of the synthetic market, by ET minute of day.

Shapes follow the stylised facts of ES (docs/synthetic_market.md): an Asian-session trough, a European-open bump
around 02:00-04:00 ET, 08:30 and 10:00 ET news spikes on release days, a U-shaped RTH with open minutes ~4x
the midday variance and ~7x the midday volume, and a quiet post-close hour.  The U sits on the instrument's own
RTH window (``rth``: ET minutes of the day, 09:30-16:00 = ``(570, 960)`` for the equity indices, 09:00-14:30 for
CL); each window has its own normalisation.  The oracle reuses these exact functions, so generator and oracle
can never disagree about where the variance of a day sits.
"""

from __future__ import annotations

import functools

import numpy as np

from almanac.numerics import exp

RTH_OPEN_MIN = 9 * 60 + 30  # the equity indices' window, the default everywhere here
RTH_CLOSE_MIN = 16 * 60
RTH_MINUTES_FULL = RTH_CLOSE_MIN - RTH_OPEN_MIN  # 390
EQUITY_RTH = (RTH_OPEN_MIN, RTH_CLOSE_MIN)
NEWS_0830_MIN = 8 * 60 + 30
NEWS_1000_MIN = 10 * 60
# The planted score is revealed by order flow from the Globex open up to this ET minute (exclusive).
CHANNEL_END_MIN = 10 * 60
MINUTES_PER_DAY_FULL = 1380  # a full Globex day, 23 hours: the unit of the per-minute equity drift


def _since(minute: np.ndarray, start: int) -> np.ndarray:
    """Minutes elapsed since ``start`` on a 24 h clock that wraps at 18:00 ET (the Globex open)."""
    return (minute - start) % 1440


def _raw_variance(minute: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray, rth: tuple[int, int]) -> np.ndarray:
    open_min, close_min = rth
    m = minute.astype(np.float64)
    v = np.full(m.shape, 0.22)  # Asian session trough
    v = np.where((m >= 18 * 60) & (m < 18 * 60 + 30), 0.22 + 0.5 * exp(-(m - 18 * 60) / 6.0), v)
    europe = (m >= 2 * 60) & (m < 8 * 60 + 30)
    v = np.where(europe, 0.32 + 0.35 * exp(-np.maximum(m - 3 * 60, 0.0) / 45.0), v)
    v = np.where((m >= 8 * 60 + 30) & (m < open_min), 0.65, v)
    inside = (m >= open_min) & (m < close_min)
    t_open = m - open_min
    t_close = close_min - 1 - m
    u_shape = 1.5 * (1.0 + 3.5 * exp(-t_open / 10.0) + 1.0 * exp(-t_close / 60.0) + 0.8 * exp(-t_close / 6.0))
    v = np.where(inside, u_shape, v)
    v = np.where((m >= close_min) & (m < 18 * 60), 0.35, v)
    spike_0830 = 14.0 * exp(-np.maximum(m - NEWS_0830_MIN, 0.0) / 2.0) * (m >= NEWS_0830_MIN)
    spike_1000 = 6.0 * exp(-np.maximum(m - NEWS_1000_MIN, 0.0) / 2.0) * (m >= NEWS_1000_MIN)
    v = v + np.where(news_0830 & (m < NEWS_0830_MIN + 30), spike_0830, 0.0)
    v = v + np.where(news_1000 & (m < NEWS_1000_MIN + 30), spike_1000, 0.0)
    return v


def _full_day_minutes() -> np.ndarray:
    # A modern full session: 18:00 ET (17:00 CT) to 17:00 ET (16:00 CT) next day, 1380 minutes.
    return (18 * 60 + np.arange(1380)) % 1440


_NO = np.zeros(1380, dtype=bool)


@functools.cache
def _norm(raw, rth: tuple[int, int]) -> float:
    return float(raw(_full_day_minutes(), _NO, _NO, rth).sum())


@functools.cache
def _table(raw, rth: tuple[int, int]) -> np.ndarray:
    """``raw`` at every ET minute of the day (columns) for each news case (rows: no news, 10:00 only, 08:30 only,
    both): a profile depends on nothing else, so millions of bars read it instead of recomputing it."""
    minute = np.arange(1440)
    rows = [raw(minute, np.full(1440, a), np.full(1440, b), rth) for a in (False, True) for b in (False, True)]
    table = np.stack(rows)
    table.flags.writeable = False
    return table


@functools.cache
def _weights(raw, rth: tuple[int, int]) -> np.ndarray:
    """``_table`` divided by the full no-news day's sum, flattened: the weights themselves (each the same quotient
    as dividing the looked-up value), so millions of bars are looked up without a division each."""
    weights = (_table(raw, rth) / _norm(raw, rth)).ravel()
    weights.flags.writeable = False
    return weights


def table_index(minute_et: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray) -> np.ndarray:
    """Each bar's position in a profile's flattened table (news case times 1440 plus the ET minute of day), for
    :func:`variance_weights_at` and :func:`volume_weights_at`: computed once for both profiles."""
    case = 2 * np.asarray(news_0830, dtype=np.int64) + np.asarray(news_1000, dtype=np.int64)
    return case * 1440 + np.asarray(minute_et, dtype=np.int64)  # broadcast as the table's [case, minute] would


def variance_weights(
    minute_et: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray, *, rth: tuple[int, int] = EQUITY_RTH
) -> np.ndarray:
    """Share of a full no-news day's variance carried by each minute (sums to 1 over a full no-news day).

    ``minute_et`` is the ET minute of day (0..1439) of each bar start; ``news_*`` flag release days per bar;
    ``rth`` the RTH window in ET minutes of the day.
    """
    return variance_weights_at(table_index(minute_et, news_0830, news_1000), rth=rth)


def variance_weights_at(index: np.ndarray, *, rth: tuple[int, int] = EQUITY_RTH) -> np.ndarray:
    """:func:`variance_weights` of the bars at ``index`` (their :func:`table_index`)."""
    return _weights(_raw_variance, rth)[index]


def _raw_volume(minute: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray, rth: tuple[int, int]) -> np.ndarray:
    open_min, close_min = rth
    m = minute.astype(np.float64)
    u = np.full(m.shape, 0.065)
    u = np.where((m >= 18 * 60) & (m < 18 * 60 + 30), 0.065 + 0.25 * exp(-(m - 18 * 60) / 5.0), u)
    u = np.where((m >= 2 * 60) & (m < 8 * 60 + 30), 0.11 + 0.1 * exp(-np.maximum(m - 3 * 60, 0) / 60.0), u)
    u = np.where((m >= 8 * 60 + 30) & (m < open_min), 0.25, u)
    inside = (m >= open_min) & (m < close_min)
    t_open = m - open_min
    t_close = close_min - 1 - m
    u_shape = 1.0 + 7.0 * exp(-t_open / 12.0) + 1.5 * exp(-t_close / 45.0) + 5.0 * exp(-t_close / 3.0)
    u = np.where(inside, u_shape, u)
    u = np.where((m >= close_min) & (m < 18 * 60), 0.12, u)
    u = u + np.where(
        news_0830 & (m >= NEWS_0830_MIN) & (m < NEWS_0830_MIN + 10), 1.2 * exp(-(m - NEWS_0830_MIN) / 3.0), 0.0
    )
    u = u + np.where(
        news_1000 & (m >= NEWS_1000_MIN) & (m < NEWS_1000_MIN + 10), 1.5 * exp(-(m - NEWS_1000_MIN) / 3.0), 0.0
    )
    return u


def volume_weights(
    minute_et: np.ndarray, news_0830: np.ndarray, news_1000: np.ndarray, *, rth: tuple[int, int] = EQUITY_RTH
) -> np.ndarray:
    """Expected share of a full no-news day's volume traded in each minute (same inputs as variance_weights)."""
    return volume_weights_at(table_index(minute_et, news_0830, news_1000), rth=rth)


def volume_weights_at(index: np.ndarray, *, rth: tuple[int, int] = EQUITY_RTH) -> np.ndarray:
    """:func:`volume_weights` of the bars at ``index`` (their :func:`table_index`)."""
    return _weights(_raw_volume, rth)[index]


def rth_mask(minute_et: np.ndarray, *, rth: tuple[int, int] = EQUITY_RTH) -> np.ndarray:
    """True for minutes inside the RTH window ``rth`` (ET minutes of the day; open inclusive, close exclusive)."""
    minute_et = np.asarray(minute_et)
    return (minute_et >= rth[0]) & (minute_et < rth[1])


def channel_mask(minute_et: np.ndarray) -> np.ndarray:
    """True for minutes in which order flow reveals the planted score: the Globex open to 10:00 ET."""
    minute_et = np.asarray(minute_et)
    return (minute_et >= 18 * 60) | (minute_et < CHANNEL_END_MIN)
