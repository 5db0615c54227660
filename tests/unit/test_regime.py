"""Regime features: Wilder ATR/ADX and Garman-Klass against reference loops, the one-day shift, roll gaps."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from almanac.config import FeaturesParams
from almanac.features import regime
from almanac.features.ml_features import compute_regime_features

N_DAYS = 140
WINDOWS = FeaturesParams(atr_days=5, rank_days=30, gk_days=7, adx_days=6)


def make_sessions(n: int = N_DAYS, seed: int = 3, roll_at: int | None = None, roll_gap: float = 0.0) -> pd.DataFrame:
    """A random-walk RTH session table on the 0.25 grid, indexed by trade date.

    With ``roll_at``, every level from that day on is in a new contract quoted ``roll_gap`` points higher, and
    ``prev_close`` on the roll day is the old close plus the gap (as ``build_sessions`` does with manifest rolls).
    """
    rng = np.random.default_rng(seed)
    close = 4000.0 + np.cumsum(rng.normal(0.0, 25.0, n))
    open_ = np.r_[4000.0, close[:-1]] + rng.normal(0.0, 8.0, n)
    high = np.maximum(open_, close) + rng.uniform(0.5, 20.0, n)
    low = np.minimum(open_, close) - rng.uniform(0.5, 20.0, n)
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close})
    frame = (frame / 0.25).round() * 0.25
    if roll_at is not None:
        frame.iloc[roll_at:] += roll_gap
    frame["prev_close"] = frame["close"].shift(1)
    if roll_at is not None:
        frame.loc[roll_at, "prev_close"] = frame.loc[roll_at - 1, "close"] + roll_gap
    frame.index = pd.DatetimeIndex(pd.bdate_range("2022-01-03", periods=n), name="trade_date")
    return frame


def ref_wilder(values: list[float], n: int) -> list[float]:
    """Wilder smoothing as a loop: y = x0 at the first observation, then y += (x - y) / n; NaN until n seen."""
    out, y, seen = [], math.nan, 0
    for x in values:
        if math.isnan(x):
            out.append(y if seen >= n else math.nan)
            continue
        y = x if seen == 0 else y + (x - y) / n
        seen += 1
        out.append(y if seen >= n else math.nan)
    return out


def ref_true_range(s: pd.DataFrame) -> list[float]:
    out = []
    for i in range(len(s)):
        h, low, prev = s["high"].iloc[i], s["low"].iloc[i], s["prev_close"].iloc[i]
        out.append(h - low if math.isnan(prev) else max(h - low, abs(h - prev), abs(low - prev)))
    return out


def ref_atr(s: pd.DataFrame, n: int) -> list[float]:
    return ref_wilder(ref_true_range(s), n)


def ref_adx(s: pd.DataFrame, n: int) -> list[float]:
    """Wilder's ADX as a loop: directional movement against the previous day's high/low (moved into today's
    contract by the roll gap), +DI/-DI from smoothed DM over smoothed TR, DX, and ADX = Wilder mean of DX."""
    plus_dm, minus_dm = [0.0], [0.0]
    for i in range(1, len(s)):
        gap = s["prev_close"].iloc[i] - s["close"].iloc[i - 1]
        up = s["high"].iloc[i] - (s["high"].iloc[i - 1] + gap)
        down = (s["low"].iloc[i - 1] + gap) - s["low"].iloc[i]
        plus_dm.append(up if up > down and up > 0 else 0.0)
        minus_dm.append(down if down > up and down > 0 else 0.0)
    tr = ref_atr(s, n)
    plus_s, minus_s = ref_wilder(plus_dm, n), ref_wilder(minus_dm, n)
    dx = []
    for p, m, t in zip(plus_s, minus_s, tr, strict=True):
        if math.isnan(t):
            dx.append(math.nan)
            continue
        pdi, mdi = 100.0 * p / t, 100.0 * m / t
        dx.append(100.0 * abs(pdi - mdi) / (pdi + mdi))
    return ref_wilder(dx, n)


def ref_garman_klass_pct(s: pd.DataFrame, n: int) -> list[float]:
    daily = [
        0.5 * math.log(h / low) ** 2 - (2 * math.log(2) - 1) * math.log(c / o) ** 2
        for o, h, low, c in zip(s["open"], s["high"], s["low"], s["close"], strict=True)
    ]
    return [math.nan if i < n - 1 else math.sqrt(sum(daily[i - n + 1 : i + 1]) / n) * 100 for i in range(len(s))]


def ref_days_since(closes: list[float], prev: list[float], window: int, highest: bool) -> list[float]:
    level, adjusted = 1.0, []
    for c, p in zip(closes, prev, strict=True):
        level *= 1.0 if math.isnan(p) else c / p
        adjusted.append(level)
    out = []
    for i in range(len(adjusted)):
        if i < window - 1:
            out.append(math.nan)
            continue
        chunk = adjusted[i - window + 1 : i + 1]
        best = max(chunk) if highest else min(chunk)
        out.append(float(window - 1 - chunk.index(best)))
    return out


@pytest.fixture(scope="module")
def sessions() -> pd.DataFrame:
    return make_sessions()


def test_wilder_atr_matches_the_reference_loop(sessions):
    for n in (1, 5, 14):
        np.testing.assert_allclose(regime.atr(sessions, n).to_numpy(), ref_atr(sessions, n), rtol=1e-12)
    assert regime.atr(sessions, 14).iloc[:13].isna().all()
    assert regime.atr(sessions, 14).iloc[13:].notna().all()


def test_true_range_takes_the_gap_to_the_previous_close():
    s = pd.DataFrame(
        {"open": [100.0, 111.0, 95.0], "high": [102.0, 112.0, 96.0], "low": [99.0, 110.0, 90.0]},
        index=pd.bdate_range("2024-01-02", periods=3),
    )
    s["close"] = [101.0, 111.0, 91.0]
    s["prev_close"] = s["close"].shift(1)
    # Day 1: H-L (no previous close); day 2 gaps up: |112-101| = 11; day 3 gaps down: |90-111| = 21.
    assert list(regime.true_range(s)) == [3.0, 11.0, 21.0]


def test_wilder_adx_matches_the_reference_loop(sessions):
    for n in (3, 6, 14):
        np.testing.assert_allclose(regime.adx(sessions, n).to_numpy(), ref_adx(sessions, n), rtol=1e-9, atol=1e-9)
    adx = regime.adx(sessions, 14).dropna()
    assert ((adx >= 0) & (adx <= 100)).all()
    assert regime.adx(sessions, 14).first_valid_index() == sessions.index[2 * 14 - 2]


def test_adx_is_high_in_a_steady_trend_and_low_in_a_range():
    n = 80
    idx = pd.bdate_range("2023-01-02", periods=n)
    trend = pd.DataFrame({"close": 4000.0 + 10.0 * np.arange(n)}, index=idx)
    trend["open"], trend["high"], trend["low"] = trend["close"] - 5, trend["close"] + 2, trend["close"] - 7
    trend["prev_close"] = trend["close"].shift(1)
    flat = pd.DataFrame({"close": 4000.0 + np.where(np.arange(n) % 2, 5.0, -5.0)}, index=idx)
    flat["open"], flat["high"], flat["low"] = 4000.0, flat["close"] + 3, flat["close"] - 3
    flat["prev_close"] = flat["close"].shift(1)
    assert regime.adx(trend, 14).iloc[-1] > 90
    assert regime.adx(flat, 14).iloc[-1] < 10


def test_garman_klass_matches_the_formula(sessions):
    np.testing.assert_allclose(
        regime.garman_klass_vol_pct(sessions, 7).to_numpy(), ref_garman_klass_pct(sessions, 7), rtol=1e-12
    )


def test_garman_klass_single_day_value():
    s = pd.DataFrame({"open": [100.0], "high": [103.0], "low": [98.0], "close": [102.0]})
    expected = math.sqrt(0.5 * math.log(103 / 98) ** 2 - (2 * math.log(2) - 1) * math.log(102 / 100) ** 2) * 100
    assert regime.garman_klass_vol_pct(s, 1).iloc[0] == pytest.approx(expected, rel=1e-12)


def test_features_are_the_indicators_through_the_previous_day(sessions):
    out = compute_regime_features(sessions, settings=WINDOWS)
    atr = np.array(ref_atr(sessions, 5))
    shifted = np.r_[np.nan, (atr / sessions["close"].to_numpy() * 100)[:-1]]
    np.testing.assert_allclose(out["atr_pct"].to_numpy(), shifted, rtol=1e-12)
    np.testing.assert_allclose(out["adx"].to_numpy(), np.r_[np.nan, ref_adx(sessions, 6)[:-1]], rtol=1e-9)
    np.testing.assert_allclose(
        out["gk_vol_pct"].to_numpy(), np.r_[np.nan, ref_garman_klass_pct(sessions, 7)[:-1]], rtol=1e-12
    )
    closes, prev = list(sessions["close"]), list(sessions["prev_close"])
    for name, highest in (("days_since_high", True), ("days_since_low", False)):
        expected = np.r_[np.nan, ref_days_since(closes, prev, 60, highest)[:-1]]
        np.testing.assert_array_equal(out[name].to_numpy(), expected)
    # Percentile rank of the ATR among the last 30 days (min 20), again as of the previous day.
    rank = pd.Series(atr, index=sessions.index).rolling(30, min_periods=20).rank(pct=True).shift(1)
    np.testing.assert_allclose(out["atr_pct_rank"].to_numpy(), rank.to_numpy(), rtol=1e-12)
    assert out["atr_pct_rank"].notna().sum() > 50


def test_days_since_high_on_a_monotone_series():
    n = 70
    s = pd.DataFrame({"close": 4000.0 + np.arange(n, dtype=float)}, index=pd.bdate_range("2023-01-02", periods=n))
    s["open"], s["high"], s["low"], s["prev_close"] = s["close"], s["close"] + 1, s["close"] - 1, s["close"].shift(1)
    out = compute_regime_features(s, settings=WINDOWS)
    assert out["days_since_high"].iloc[60:].eq(0).all()  # every day is a new closing high
    assert out["days_since_low"].iloc[60:].eq(59).all()  # the low is the oldest day of the 60-day window
    assert out[["days_since_high", "days_since_low"]].iloc[:60].isna().all().all()


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_perturbing_day_d_leaves_d_unchanged_and_moves_d_plus_one(sessions, direction):
    base = compute_regime_features(sessions, settings=WINDOWS)
    d = 100
    moved = sessions.copy()
    # A big, consistent move on D (a new 60-day closing high or low, a wide range), D+1's prev_close following.
    window = sessions["close"].iloc[d - 60 : d + 1]
    new_close = window.max() + 150.0 if direction > 0 else window.min() - 150.0
    moved.iloc[d, moved.columns.get_loc("close")] = new_close
    moved.iloc[d, moved.columns.get_loc("high")] = max(new_close, sessions["high"].iloc[d]) + 40.0
    moved.iloc[d, moved.columns.get_loc("low")] = min(new_close, sessions["low"].iloc[d]) - 40.0
    moved.iloc[d + 1, moved.columns.get_loc("prev_close")] = new_close
    out = compute_regime_features(moved, settings=WINDOWS)
    pd.testing.assert_frame_equal(out.iloc[: d + 1], base.iloc[: d + 1])
    extreme, other = ("days_since_high", "days_since_low") if direction > 0 else ("days_since_low", "days_since_high")
    changed = (out.iloc[d + 1] != base.iloc[d + 1]).drop(other)
    assert changed.all(), changed[~changed].index.tolist()
    assert out[extreme].iloc[d + 1] == 0


def test_a_roll_gap_does_not_create_a_true_range_spike():
    plain = make_sessions(seed=11)
    rolled = make_sessions(seed=11, roll_at=70, roll_gap=60.0)  # new contract 60 points (a big carry) higher
    # With prev_close expressed in the new contract, true range, ATR and ADX are as if nothing happened.
    np.testing.assert_allclose(regime.true_range(rolled).to_numpy(), regime.true_range(plain).to_numpy(), atol=1e-9)
    np.testing.assert_allclose(regime.atr(rolled, 14).to_numpy(), regime.atr(plain, 14).to_numpy(), atol=1e-9)
    np.testing.assert_allclose(regime.adx(rolled, 14).to_numpy(), regime.adx(plain, 14).to_numpy(), atol=1e-9)
    np.testing.assert_allclose(regime.adx(rolled, 14).to_numpy(), ref_adx(rolled, 14), rtol=1e-9, atol=1e-9)
    a, b = compute_regime_features(rolled, settings=WINDOWS), compute_regime_features(plain, settings=WINDOWS)
    for name in ("adx", "atr_pct_rank"):
        np.testing.assert_allclose(a[name].to_numpy(), b[name].to_numpy(), atol=1e-9, err_msg=name)


def test_a_spliced_prev_close_would_spike_the_true_range():
    rolled = make_sessions(seed=11, roll_at=70, roll_gap=150.0)
    spliced = rolled.copy()
    spliced["prev_close"] = spliced["close"].shift(1)  # old contract's close: a 150-point artificial gap
    tr_spliced, tr_rolled = regime.true_range(spliced), regime.true_range(rolled)
    assert tr_spliced.iloc[70] > tr_rolled.iloc[70] + 20.0
    assert tr_spliced.iloc[70] > 3 * tr_rolled.median()


def test_roll_days_in_the_small_market_have_ordinary_true_ranges(small_sessions):
    s = small_sessions.set_index("trade_date")
    tr = regime.true_range(s)
    typical = tr.median()
    for day in s.index[s["roll_day"]]:
        assert tr.loc[day] < 3 * typical, day
        assert tr.loc[day] == pytest.approx(ref_true_range(s.loc[[day]])[0])


def test_inputs_are_not_modified(sessions):
    before = sessions.copy()
    compute_regime_features(sessions, settings=WINDOWS)
    pd.testing.assert_frame_equal(sessions, before)


def test_accepts_a_trade_date_column(sessions):
    a = compute_regime_features(sessions, settings=WINDOWS)
    b = compute_regime_features(sessions.reset_index(), settings=WINDOWS)
    pd.testing.assert_frame_equal(a, b, check_freq=False)
