"""Look-ahead audit of the real feature code.

For sample trade dates D, recompute every feature from data cut at D's cutoff — bars of D after the cutoff and
every later day removed, daily series published after the cutoff removed — and compare with the features
computed on the full data.  Any difference means a feature read something that did not exist at the cutoff.
The recomputation keeps ``HISTORY_DAYS`` of history before D: enough for every window (the longest is the
252-day ATR rank; Wilder smoothing forgets its start within a few hundred days), so results agree to ~1e-12.
The session table is rebuilt from all of it; the features read the bars of D and of the last
``features.volume_avg_days`` + :data:`BAR_MARGIN_DAYS` days only (see :func:`_recompute`).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from almanac import calendar
from almanac.config import DEFAULTS, FeaturesParams
from almanac.features.ml_features import build_features
from almanac.sessions import build_sessions, rth_window, symbol_of

HISTORY_DAYS = 420
BAR_MARGIN_DAYS = 20  # bar days the features get beyond the volume averages' window (they need none)
RTOL = 1e-8


def audit_dates(trade_dates: pd.DatetimeIndex, n_dates: int, warmup: int = HISTORY_DAYS) -> pd.DatetimeIndex:
    """``n_dates`` trade dates spread evenly after the warm-up (the last date always included)."""
    dates = pd.DatetimeIndex(trade_dates).sort_values()
    usable = dates[min(warmup, max(len(dates) - 1, 0)) :]
    positions = np.unique(np.linspace(0, len(usable) - 1, min(n_dates, len(usable))).round().astype(int))
    return usable[positions]


def cut_at(
    bars: pd.DataFrame, daily: pd.DataFrame, date: pd.Timestamp, *, cutoff: dt.time, history_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bars and daily series as they existed at ``date``'s cutoff, with ``history_days`` trade dates of history."""
    return _Cutter(bars, daily).cut(date, cutoff=cutoff, history_days=history_days)


class _Cutter:
    """:func:`cut_at` for many dates: the whole-data arrays (bar instants, trade dates, publication instants) are
    computed once instead of once per date."""

    def __init__(self, bars: pd.DataFrame, daily: pd.DataFrame) -> None:
        self.bars, self.daily = bars, daily
        self.rth = rth_window(symbol_of(bars))
        self.trade_date = bars["trade_date"].to_numpy()
        self.ts = calendar.epoch_ns(bars["ts"])
        self.available = calendar.epoch_ns(daily["available_at"])
        # Bars sorted by time with their trade dates in order (as the pipeline's are): every cut is one block of
        # rows, found by binary search and sliced, instead of two masks over all the bars and a copy per date.
        self.in_order = bool(np.all(np.diff(self.ts) > 0) and np.all(self.trade_date[1:] >= self.trade_date[:-1]))
        if self.in_order:  # np.unique's values without sorting the 3 million bars: each date's first bar
            first = np.ones(len(self.trade_date), dtype=bool)
            first[1:] = self.trade_date[1:] != self.trade_date[:-1]
            self.dates = self.trade_date[first]
        else:
            self.dates = np.unique(self.trade_date)

    def _start(self, date: pd.Timestamp, history_days: int) -> np.datetime64:
        """The trade date ``history_days`` dates with bars before ``date`` (the first one if there are fewer)."""
        return self.dates[max(np.searchsorted(self.dates, np.datetime64(date, "s")) - history_days, 0)]

    def since(self, bars: pd.DataFrame, date: pd.Timestamp, history_days: int) -> pd.DataFrame:
        """The rows of ``bars`` (a cut of this cutter's bars) from ``history_days`` dates with bars before ``date``."""
        trade_date, start = bars["trade_date"].to_numpy(), self._start(date, history_days)
        if self.in_order:
            return bars.iloc[np.searchsorted(trade_date, start, side="left") :]
        return bars.loc[trade_date >= start]

    def cut(self, date: pd.Timestamp, *, cutoff: dt.time, history_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        cut_ns = calendar.epoch_ns(calendar.cutoff_instants(pd.DatetimeIndex([date]), cutoff, rth=self.rth))[0]
        start = self._start(date, history_days)
        daily = self.daily.loc[self.available <= cut_ns]
        if self.in_order:
            first = np.searchsorted(self.trade_date, start, side="left")
            # usable_at(ts, cut) is ts + 1 min <= cut, i.e. ts <= cut - 1 min
            end = np.searchsorted(self.ts, cut_ns - calendar.BAR_NS, side="right")
            return self.bars.iloc[first : max(first, end)], daily
        keep = (self.trade_date >= start) & calendar.usable_at(self.ts, cut_ns)
        return self.bars.loc[keep], daily


def _recompute(cutter: _Cutter, date: pd.Timestamp, cutoff: dt.time, rolls, settings, columns) -> pd.Series:
    """``date``'s features recomputed from the data cut at its cutoff, in ``columns``' order.

    The session table is built from ``HISTORY_DAYS`` of cut bars (the regime family's ATR rank and Wilder
    smoothing read all of it), but the features from the last ``volume_avg_days`` + :data:`BAR_MARGIN_DAYS` days
    of them: the only family that reads bars, early_session, reads D's bars and, for its volume averages, the
    ``volume_avg_days`` before.  D's row is the same bit for bit (tests/unit/test_audit.py) at a fraction of the
    cost.  Had a feature read older bars, its row would differ and the audit fail: a false alarm (raise
    :data:`BAR_MARGIN_DAYS`), never a leak hidden, since every input is still cut at D's cutoff.
    """
    cut_bars, cut_daily = cutter.cut(date, cutoff=cutoff, history_days=HISTORY_DAYS)
    sessions = build_sessions(cut_bars, cutoff, rolls)
    feature_bars = cutter.since(cut_bars, date, settings.volume_avg_days + BAR_MARGIN_DAYS)
    at_cutoff, _ = build_features(feature_bars, sessions, cut_daily, settings=settings)
    return at_cutoff.reindex(columns=columns).loc[date]


_FORKED: tuple = ()  # what the forked workers of audit_lookahead read: inherited, never pickled


def _recompute_forked(date: pd.Timestamp) -> pd.Series:
    return _recompute(_FORKED[0], date, *_FORKED[1:])


def _recompute_all(cutter: _Cutter, dates, cutoff, rolls, settings, columns, jobs: int) -> list[pd.Series]:
    args = (cutoff, rolls, settings, columns)
    if jobs <= 1 or len(dates) <= 1 or "fork" not in mp.get_all_start_methods():
        return [_recompute(cutter, date, *args) for date in dates]  # one recomputation per audited date
    global _FORKED
    # Forked workers share the bars with this process (copy on write) instead of receiving them pickled; each
    # window's computation is the same whichever process runs it, so the results do not depend on ``jobs``.
    _FORKED = (cutter, *args)
    try:
        with ProcessPoolExecutor(min(jobs, len(dates)), mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_recompute_forked, dates))
    finally:
        _FORKED = ()


def audit_lookahead(
    bars: pd.DataFrame,
    daily: pd.DataFrame,
    full_features: pd.DataFrame,
    *,
    rolls: list[dict] | None = None,
    settings: FeaturesParams | None = None,
    n_dates: int = 12,
    jobs: int | None = 1,
) -> dict:
    """Compare ``full_features`` with features recomputed from data cut at each audit date's cutoff.

    ``jobs`` > 1 recomputes the dates in that many forked processes (where the platform forks), ``None`` in one
    per CPU this process may use; the result is the same for every ``jobs``.

    Returns ``{dates_checked, features_checked, violations, max_abs_diff, failures}`` where ``failures`` lists
    ``{trade_date, feature, full, at_cutoff}`` for every mismatch (empty when the features are clean).
    """
    settings = settings or DEFAULTS.features
    cutoff = settings.cutoff_time
    failures, max_diff = [], 0.0
    dates = audit_dates(full_features.index, n_dates)
    cutter = _Cutter(bars, daily)
    if len(cutter.dates):  # one NYSE calendar for every window below, not one per window
        calendar.prepare_calendar(cutter.dates[0], cutter.dates[-1])
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cut_rows = _recompute_all(cutter, dates, cutoff, rolls, settings, full_features.columns, jobs)
    for date, cut_row in zip(dates, cut_rows, strict=True):
        full_row = full_features.loc[date]
        both_nan = full_row.isna() & cut_row.isna()
        diff = (full_row - cut_row).abs()
        bad = ~both_nan & ~(diff <= RTOL * np.maximum(full_row.abs(), 1.0))
        max_diff = max(max_diff, float(diff[~both_nan].fillna(np.inf).max()) if (~both_nan).any() else 0.0)
        for feature in full_features.columns[bad.to_numpy()]:
            failures.append(
                {
                    "trade_date": str(date.date()),
                    "feature": feature,
                    "full": full_row[feature],
                    "at_cutoff": cut_row[feature],
                }
            )
    return {
        "dates_checked": len(dates),
        "features_checked": int(full_features.shape[1]),
        "violations": len(failures),
        "max_abs_diff": max_diff,
        "failures": failures,
    }
