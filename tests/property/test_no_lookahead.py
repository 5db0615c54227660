"""No look-ahead: whatever happens after trade date D's cutoff, D's features (and every earlier day's) stay put.

For a trade date D of the half-year synthetic market, every bar with ``ts + 1 min > cutoff(D)`` (the rest of D
and every later day) and every daily value with ``available_at > cutoff(D)`` is either perturbed (prices scaled
by a random factor and put back on the 0.25 grid, OHLC kept consistent, volumes redrawn) or deleted.  Sessions and
features are rebuilt from scratch with the manifest's rolls; the rows up to D must be exactly equal (NaN == NaN).
Controls show the check has teeth: the same perturbation applied before the cutoff moves D's features.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from almanac.config import FeaturesParams
from almanac.features.ml_features import build_features
from almanac.sessions import build_sessions

ET = "America/New_York"
TICK = 0.25
ONE_MINUTE = pd.Timedelta(minutes=1)
PRICES = ["open", "high", "low", "close"]
CUTOFFS = (dt.time(10, 15), dt.time(9, 45), dt.time(11, 30))
ROLL_DAY = dt.date(2023, 3, 9)  # ESH23 -> ESM23 (manifest roll, carry gap 6.25)
AFTER_DST = dt.date(2023, 3, 13)  # first trade date in EDT (clocks changed Sun 2023-03-12)
SECOND_ROLL = dt.date(2023, 6, 8)


def cutoff_utc(date: pd.Timestamp, cutoff: dt.time) -> pd.Timestamp:
    """The cutoff instant, worked out independently of the package (tz database, no fixed offset)."""
    return pd.Timestamp(dt.datetime.combine(date.date(), cutoff)).tz_localize(ET).tz_convert("UTC")


def features_of(bars: pd.DataFrame, daily: pd.DataFrame, rolls: list[dict], cutoff: dt.time) -> pd.DataFrame:
    sessions = build_sessions(bars, cutoff, rolls)
    features, _ = build_features(bars, sessions, daily, settings=FeaturesParams(cutoff=f"{cutoff:%H:%M}"))
    return features


def perturb_bars(bars: pd.DataFrame, mask: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Scale each selected bar's prices by its own random factor, back on the tick grid; redraw its volume.

    Rounding to the grid is monotone, so ``low <= open, close <= high`` survives.
    """
    out = bars.copy()
    n = int(mask.sum())
    factor = rng.uniform(0.8, 1.25, n)[:, None]
    scaled = np.round(out.loc[mask, PRICES].to_numpy() * factor / TICK) * TICK
    out.loc[mask, PRICES] = scaled
    out.loc[mask, "volume"] = rng.integers(1, 20_000, n, dtype=np.int64)
    return out


def perturb_daily(daily: pd.DataFrame, mask: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    out = daily.copy()
    out.loc[mask, "close"] = out.loc[mask, "close"].to_numpy() * rng.uniform(0.5, 2.0, int(mask.sum()))
    return out


class Market(tuple):
    """Bars, daily series, rolls, trade dates and the untouched features for each cutoff (short repr, so that
    hypothesis reports stay readable)."""

    def __repr__(self) -> str:
        return "<small synthetic market>"


@pytest.fixture(scope="module")
def market(small_dataset):
    bars, daily, rolls = small_dataset.bars, small_dataset.daily, small_dataset.manifest["rolls"]
    baseline = {cutoff: features_of(bars, daily, rolls, cutoff) for cutoff in CUTOFFS}
    dates = pd.DatetimeIndex(np.sort(bars["trade_date"].unique()))
    return Market((bars, daily, rolls, dates, baseline))


def snap(dates: pd.DatetimeIndex, day: dt.date) -> pd.Timestamp:
    """The first trade date on or after ``day``."""
    return dates[min(int(dates.searchsorted(pd.Timestamp(day))), len(dates) - 1)]


def test_the_chosen_special_days_are_what_they_claim(small_sessions):
    s = small_sessions.set_index("trade_date")
    assert s.loc[pd.Timestamp(ROLL_DAY), "roll_day"] and s.loc[pd.Timestamp(SECOND_ROLL), "roll_day"]
    before, after = (cutoff_utc(pd.Timestamp(d), dt.time(10, 15)) for d in (dt.date(2023, 3, 10), AFTER_DST))
    assert (before.hour, after.hour) == (15, 14)  # 10:15 EST, then 10:15 EDT


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # Any trade date, the first one included (nothing of the daily series is published by its cutoff yet).
    day=st.dates(min_value=dt.date(2023, 1, 3), max_value=dt.date(2023, 6, 30)),
    cutoff=st.sampled_from(CUTOFFS),
    seed=st.integers(0, 2**32 - 1),
)
@example(day=ROLL_DAY, cutoff=dt.time(10, 15), seed=1)
@example(day=AFTER_DST, cutoff=dt.time(10, 15), seed=2)
@example(day=SECOND_ROLL, cutoff=dt.time(9, 45), seed=3)
@example(day=dt.date(2023, 1, 4), cutoff=dt.time(10, 15), seed=4)  # one day of history
@example(day=dt.date(2023, 6, 30), cutoff=dt.time(10, 15), seed=6)  # the last day: only its own afternoon
@example(day=dt.date(2023, 5, 26), cutoff=dt.time(11, 30), seed=5)  # the Friday before Memorial Day
def test_nothing_after_the_cutoff_moves_the_features_up_to_that_day(market, day, cutoff, seed):
    bars, daily, rolls, dates, baseline = market
    date = snap(dates, day)
    base = baseline[cutoff]
    cut = cutoff_utc(date, cutoff)
    future_bars = (bars["ts"] + ONE_MINUTE > cut).to_numpy()
    future_daily = (daily["available_at"] > cut).to_numpy()
    assert future_bars.any() and future_daily.any()
    rng = np.random.default_rng(seed)
    upto = base.loc[:date]

    perturbed = features_of(
        perturb_bars(bars, future_bars, rng), perturb_daily(daily, future_daily, rng), rolls, cutoff
    )
    pd.testing.assert_frame_equal(perturbed.loc[:date], upto, check_exact=True)
    # The perturbation is real: the rest of the table moved (unless D is the last date).
    if date < dates[-1]:
        later = perturbed.loc[perturbed.index > date]
        assert not later.equals(base.loc[later.index])

    deleted = features_of(bars.loc[~future_bars], daily.loc[~future_daily], rolls, cutoff)
    assert deleted.index[-1] == date
    # A series with nothing published yet gives no column; the full data must then have nothing for it either.
    absent = upto.columns.difference(deleted.columns)
    assert upto[absent].isna().all().all(), f"values exist before anything was published: {list(absent)}"
    pd.testing.assert_frame_equal(deleted, upto[deleted.columns], check_exact=True)


def test_first_day_with_nothing_published_yet(market):
    bars, daily, rolls, dates, baseline = market
    cutoff = dt.time(10, 15)
    date, base = dates[0], baseline[cutoff]
    cut = cutoff_utc(date, cutoff)
    future_daily = (daily["available_at"] > cut).to_numpy()
    assert future_daily.all()  # the first values are published the first evening
    future_bars = (bars["ts"] + ONE_MINUTE > cut).to_numpy()
    at_cutoff = features_of(bars.loc[~future_bars], daily.loc[~future_daily], rolls, cutoff)
    # Compared like the audit does: absent columns count as NaN.
    pd.testing.assert_frame_equal(at_cutoff.reindex(columns=base.columns), base.loc[:date], check_exact=True)


@pytest.mark.parametrize("day", [ROLL_DAY, AFTER_DST, SECOND_ROLL, dt.date(2023, 4, 20)])
def test_control_perturbing_bars_before_the_cutoff_moves_the_days_features(market, day):
    bars, daily, rolls, dates, baseline = market
    cutoff = dt.time(10, 15)
    date, base = snap(dates, day), baseline[cutoff]
    cut = cutoff_utc(date, cutoff)
    ts = bars["ts"]
    first_window = (bars["trade_date"] == date) & (ts + ONE_MINUTE <= cut) & (ts >= cut - pd.Timedelta(minutes=45))
    moved = features_of(perturb_bars(bars, first_window.to_numpy(), np.random.default_rng(0)), daily, rolls, cutoff)
    changed = moved.loc[date].ne(base.loc[date]) & ~(moved.loc[date].isna() & base.loc[date].isna())
    assert changed.any()
    assert changed["open_to_cutoff_ret_pct"] and changed["first_volume_rel"]
    pd.testing.assert_frame_equal(moved.loc[moved.index < date], base.loc[base.index < date])


def test_control_the_last_bar_before_the_cutoff_counts_and_the_one_at_it_does_not(market):
    bars, daily, rolls, dates, baseline = market
    cutoff = dt.time(10, 15)
    date, base = pd.Timestamp(AFTER_DST), baseline[cutoff]
    cut = cutoff_utc(date, cutoff)
    for start, should_move in ((cut - ONE_MINUTE, True), (cut, False)):
        one = (bars["ts"] == start).to_numpy()
        assert one.sum() == 1
        shifted = bars.copy()
        shifted.loc[one, PRICES] = shifted.loc[one, PRICES].to_numpy() + 10 * TICK
        shifted.loc[one, "volume"] = shifted.loc[one, "volume"].to_numpy() * 3
        row = features_of(shifted, daily, rolls, cutoff).loc[date]
        assert bool(row["open_to_cutoff_ret_pct"] != base.loc[date, "open_to_cutoff_ret_pct"]) is should_move, start


def test_control_the_previous_day_moves_regime_and_previous_day_features(market):
    bars, daily, rolls, dates, baseline = market
    cutoff = dt.time(10, 15)
    date, base = pd.Timestamp(dt.date(2023, 4, 20)), baseline[cutoff]
    yesterday = dates[dates.get_loc(date) - 1]
    rth_close_bar = (bars["ts"] == cutoff_utc(yesterday, dt.time(15, 59))).to_numpy()
    moved = features_of(perturb_bars(bars, rth_close_bar, np.random.default_rng(3)), daily, rolls, cutoff)
    for name in ("prev_day_ret_pct", "gap_pct", "atr_pct", "gk_vol_pct"):
        assert moved.loc[date, name] != base.loc[date, name], name


def test_control_a_daily_value_published_before_the_cutoff_moves_cross_asset_features(market):
    bars, daily, rolls, dates, baseline = market
    cutoff = dt.time(10, 15)
    date, base = pd.Timestamp(AFTER_DST), baseline[cutoff]
    published = (daily["available_at"] <= cutoff_utc(date, cutoff)).to_numpy()
    latest = np.zeros(len(daily), dtype=bool)
    for symbol in ("VIX", "DX", "TNX", "WTI"):
        rows = np.flatnonzero(published & (daily["symbol"] == symbol).to_numpy())
        latest[rows[np.argmax(daily["available_at"].to_numpy()[rows])]] = True
    moved = features_of(bars, perturb_daily(daily, latest, np.random.default_rng(4)), rolls, cutoff)
    for name in ("vix_change", "vix_level", "dx_ret_pct", "tnx_change_bp", "wti_ret_pct"):
        assert moved.loc[date, name] != base.loc[date, name], name
