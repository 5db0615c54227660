"""Stylised facts of the default synthetic ES market (docs/synthetic_market.md) on the 2016-2024 sample.

Every statistic is measured on the session fixture ``default_dataset`` (nine years, ~2260 trade dates, ~3.1 M
continuous front-month bars) and checked against a band stated in ``BANDS`` below: the docs/synthetic_market.md target
widened by the sampling error of ~2260 days.  The per-contract and determinism checks regenerate short ranges.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from scipy import stats
from statsmodels.tsa.stattools import acf

from almanac import calendar
from almanac.data_sources.synthetic import build_synthetic_dataset
from almanac.sessions import build_sessions
from almanac.synth import profile
from almanac.synth.cross_asset import AVAILABLE_AT_ET
from almanac.synth.market import MarketSpec, generate_market

pytestmark = pytest.mark.slow

INF = math.inf
TICK = 0.25
ET = "America/New_York"
CUTOFF = dt.time(10, 15)

# (low, high) bands, inclusive.  Sampling errors are for n ≈ 2260 trade dates unless stated otherwise.
BANDS: dict[str, tuple[float, float]] = {
    # docs 1.0-1.2 %; the generator pins mean sigma^2 at 1.1 %, the realised sd's sampling se is ~3 % (~0.035 pt).
    "daily_vol_pct": (1.0, 1.2),
    # docs persistence 0.98-0.99; the EGARCH beta estimate's se is ~0.005-0.01 on 2260 days, so widen to 0.95-0.995.
    "egarch_beta": (0.95, 0.995),
    # Leverage effect: gamma < 0 and significant (|t| > 3; the model sets -0.12, estimates sit near -0.1 with t ~ -8).
    "egarch_gamma_tstat": (-INF, -3.0),
    # Volatility clustering: ACF of |r| must beat 3x the white-noise se 1/sqrt(n) (~0.063); the model gives ~0.2-0.3.
    "abs_acf_noise_multiple": (3.0, INF),
    # Fat tails: docs asks for fat tails; excess kurtosis > 1 (a normal gives 0 +- 0.1 on 2260 days).
    "daily_excess_kurtosis": (1.0, INF),
    # Minute Student-t nu ~ 4 (docs); an ML fit on ~50 k standardised minutes has se ~0.1, rounding shifts it a bit.
    "minute_t_df": (3.0, 6.0),
    # Standardised minutes have unit variance by construction: t scale * sqrt(nu/(nu-2)) within 10 %.
    "minute_unit_variance_scale": (0.9, 1.1),
    # docs 52-54 %; a proportion's se over 2260 days is ~1.05 pt, so +- 2 se gives 50-56 %.
    "up_day_share": (0.50, 0.56),
    # docs 60-70 %; the ratio of two variances has se ~3 pt, but the docs range is already that wide.
    "rth_variance_share": (0.60, 0.70),
    # docs 0.5-0.6 x daily sd; the ratio's se is ~0.015, inside the docs range.
    "overnight_gap_sd_ratio": (0.50, 0.60),
    # docs open minutes ~3-5x midday variance; ~11 k open and ~135 k midday minutes keep the t4 sampling error < 10 %.
    "open_midday_variance_ratio": (3.0, 5.0),
    # docs 5-10x midday volume; daily volume levels are common to both windows, so the ratio is nearly exact.
    "open_midday_volume_ratio": (5.0, 10.0),
    # European-open bump over the Asian trough: the profile gives ~2.5x; 1.5 keeps clear of t4 sampling noise.
    "europe_asia_variance_ratio": (1.5, INF),
    # 08:30 news minute vs the same minute on quiet days: the profile gives ~22x; > 5x is "several times" with
    # room for the heavy-tailed t4 squares (a mean over ~800 news days has a 99 % range of about 0.75-1.6x).
    "news_0830_variance_ratio": (5.0, INF),
    # 10:00 news minute: the profile gives ~4.4x over the U-shape's 10:00 level; > 2x leaves the same t4 margin.
    "news_1000_variance_ratio": (2.0, INF),
    # docs 1.6-2.4 M contracts per day; the generator targets 2.0 M (all contracts), mean and median alike.
    "daily_volume_millions": (1.6, 2.4),
    # docs "most in RTH": more than 70 % of each sample's volume (the profile gives ~83 %).
    "rth_volume_share": (0.70, 1.0),
    # A carry gap is positive and plausible: a few points (low rates) to ~60 points (2023 rates); the model's
    # 1.2 %/yr carry on 2000-6000 points gives ~6-18.
    "roll_gap_pts": (1.0, 60.0),
    # docs corr(ES, VIX change) ~ -0.75; its se is ~0.01 on 2260 days, +-0.10 is the tolerance of "about".
    "corr_vix_change": (-0.85, -0.65),
    # docs dollar -0.1...-0.4 (the model sets -0.25, se ~0.02).
    "corr_dx_log_change": (-0.40, -0.10),
    # docs crude +0.2...+0.4 (the model sets +0.30, se ~0.02).
    "corr_wti_log_change": (0.20, 0.40),
    # Regime-switching 10Y sign: the 252-day rolling corr must pass beyond +-0.2 (its se is ~0.06; regimes are +-0.4).
    "tnx_rolling_corr_abs_extreme": (0.20, 1.0),
}

# Volume migration at a roll: share of the next contract in each day's volume (logistic of width 0.8 days).
ROLL_SHARE_FIRST_DAY_MAX = 0.10  # first day the next contract trades (6 trade days before the roll): "small"
ROLL_SHARE_AFTER_2_DAYS_MIN = 0.90  # two trade days after the roll the old contract is nearly gone


def in_band(value: float, name: str) -> bool:
    low, high = BANDS[name]
    return low <= value <= high


def band_message(value: float, name: str) -> str:
    return f"{name} = {value:.4f}, band {BANDS[name]}"


# ---------------------------------------------------------------------------------------------------------------
# Module fixtures: daily returns, the minute-level frame, the EGARCH fit.


@pytest.fixture(scope="module")
def daily(default_sessions) -> pd.DataFrame:
    """Per trade date: the close-to-close return (within contract), the RTH return and the overnight gap."""
    sessions = default_sessions.set_index("trade_date")
    out = pd.DataFrame(
        {
            "ret": np.log(sessions["close"] / sessions["prev_close"]),
            "rth": np.log(sessions["close"] / sessions["open"]),
            "gap": np.log(sessions["open"] / sessions["prev_close"]),
        }
    )
    return out.dropna()


@pytest.fixture(scope="module")
def minutes(default_dataset) -> pd.DataFrame:
    """One row per continuous bar: ET minute of day, the day's truth sigma and news flags, volume, and the minute log
    return (close over the previous bar's close, same trade date, previous bar exactly one minute earlier)."""
    bars = default_dataset.bars
    truth = default_dataset.truth
    day = truth["trade_date"].to_numpy().astype("datetime64[s]")
    pos = pd.Index(day).get_indexer(bars["trade_date"].to_numpy())
    assert (pos >= 0).all()
    local = bars["ts"].dt.tz_convert(ET)
    minute_et = (local.dt.hour * 60 + local.dt.minute).to_numpy().astype(np.int64)
    ts_ns = calendar.epoch_ns(bars["ts"])
    trade_date = bars["trade_date"].to_numpy()
    consecutive = np.r_[False, (np.diff(ts_ns) == 60 * 10**9) & (trade_date[1:] == trade_date[:-1])]
    log_close = np.log(bars["close"].to_numpy())
    ret = np.where(consecutive, np.r_[np.nan, np.diff(log_close)], np.nan)
    return pd.DataFrame(
        {
            "minute_et": minute_et,
            "sigma": truth["sigma"].to_numpy()[pos],
            "news_0830": truth["news_0830"].to_numpy(dtype=bool)[pos],
            "news_1000": truth["news_1000"].to_numpy(dtype=bool)[pos],
            "volume": bars["volume"].to_numpy(),
            "ret": ret,
        }
    )


def window(minutes: pd.DataFrame, start: str, end: str) -> np.ndarray:
    """Mask of bars whose ET start is in [start, end) ("HH:MM"); a window may wrap past midnight."""
    lo, hi = (int(t[:2]) * 60 + int(t[3:]) for t in (start, end))
    m = minutes["minute_et"].to_numpy()
    return ((m >= lo) & (m < hi)) if lo < hi else ((m >= lo) | (m < hi))


def mean_sq_sigma_standardised(minutes: pd.DataFrame, mask: np.ndarray) -> float:
    """Mean of (minute return / day sigma)^2 over the masked bars with a valid one-minute return."""
    z = (minutes["ret"] / minutes["sigma"]).to_numpy()[mask]
    z = z[np.isfinite(z)]
    assert z.size > 500, "too few minutes in the window"
    return float(np.mean(z**2))


@pytest.fixture(scope="module")
def egarch_fit(daily):
    # Returns in percent: the scale arch expects (no DataScaleWarning); the fit emits no convergence warning here.
    return arch_model(daily["ret"] * 100.0, vol="EGARCH", p=1, o=1, q=1).fit(disp="off")


# ---------------------------------------------------------------------------------------------------------------
# Daily volatility, clustering, tails, up days


def test_sample_spans_nine_years(daily):
    assert 2250 <= len(daily) <= 2270  # NYSE days 2016-2024 minus the first (no previous close)


def test_daily_volatility_in_band(daily):
    sd_pct = float(daily["ret"].std() * 100.0)
    assert in_band(sd_pct, "daily_vol_pct"), band_message(sd_pct, "daily_vol_pct")


def test_egarch_persistence(egarch_fit):
    assert egarch_fit.convergence_flag == 0
    beta = float(egarch_fit.params["beta[1]"])
    assert in_band(beta, "egarch_beta"), band_message(beta, "egarch_beta")


def test_egarch_leverage_effect(egarch_fit):
    gamma = float(egarch_fit.params["gamma[1]"])
    assert gamma < 0.0, f"EGARCH asymmetry gamma = {gamma:.4f}: down days must raise volatility"
    t_stat = float(egarch_fit.tvalues["gamma[1]"])
    assert in_band(t_stat, "egarch_gamma_tstat"), band_message(t_stat, "egarch_gamma_tstat")


@pytest.mark.parametrize("lag", [1, 20])
def test_abs_return_autocorrelation_above_noise(daily, lag):
    abs_ret = daily["ret"].abs().to_numpy()
    rho = float(acf(abs_ret, nlags=lag, fft=True)[lag])
    multiple = rho * math.sqrt(len(abs_ret))  # in units of the white-noise se 1/sqrt(n)
    assert rho > 0.0
    assert in_band(multiple, "abs_acf_noise_multiple"), f"acf|r| lag {lag} = {rho:.4f}; " + band_message(
        multiple, "abs_acf_noise_multiple"
    )


def test_daily_excess_kurtosis(daily):
    kurt = float(stats.kurtosis(daily["ret"], fisher=True))
    assert in_band(kurt, "daily_excess_kurtosis"), band_message(kurt, "daily_excess_kurtosis")


@pytest.fixture(scope="module")
def standardised_rth_minutes(minutes) -> np.ndarray:
    """RTH minute returns / (sigma_d * sqrt(w_m)): unit-variance Student-t draws if the generator is right.

    RTH only, where a 0.25 tick is small next to a minute's sd; every 17th minute (~52 k) keeps the fit fast."""
    weights = profile.variance_weights(
        minutes["minute_et"].to_numpy(), minutes["news_0830"].to_numpy(), minutes["news_1000"].to_numpy()
    )
    z = minutes["ret"].to_numpy() / (minutes["sigma"].to_numpy() * np.sqrt(weights))
    rth = window(minutes, "09:30", "16:00") & np.isfinite(z)
    return z[rth][::17]


def test_standardised_minutes_are_student_t_nu4(standardised_rth_minutes):
    sample = standardised_rth_minutes
    assert sample.size > 40_000
    nu, _, scale = stats.t.fit(sample, floc=0.0)
    assert in_band(nu, "minute_t_df"), band_message(nu, "minute_t_df")
    unit_scale = scale * math.sqrt(nu / (nu - 2.0))
    assert in_band(unit_scale, "minute_unit_variance_scale"), band_message(unit_scale, "minute_unit_variance_scale")


def test_up_day_share(daily):
    share = float((daily["ret"] > 0).mean())
    assert in_band(share, "up_day_share"), band_message(share, "up_day_share")


# ---------------------------------------------------------------------------------------------------------------
# RTH vs overnight, intraday shape


def test_rth_share_of_daily_variance(daily):
    share = float(daily["rth"].var() / daily["ret"].var())
    assert in_band(share, "rth_variance_share"), band_message(share, "rth_variance_share")


def test_overnight_gap_sd_ratio(daily):
    ratio = float(daily["gap"].std() / daily["ret"].std())
    assert in_band(ratio, "overnight_gap_sd_ratio"), band_message(ratio, "overnight_gap_sd_ratio")


def test_u_shape_open_vs_midday_variance(minutes):
    ratio = mean_sq_sigma_standardised(minutes, window(minutes, "09:30", "09:35")) / mean_sq_sigma_standardised(
        minutes, window(minutes, "12:00", "13:00")
    )
    assert in_band(ratio, "open_midday_variance_ratio"), band_message(ratio, "open_midday_variance_ratio")


def test_u_shape_open_vs_midday_volume(minutes):
    volume = minutes["volume"].to_numpy()
    ratio = volume[window(minutes, "09:30", "09:35")].mean() / volume[window(minutes, "12:00", "13:00")].mean()
    assert in_band(ratio, "open_midday_volume_ratio"), band_message(ratio, "open_midday_volume_ratio")


def test_asian_trough_below_european_open(minutes):
    asia = mean_sq_sigma_standardised(minutes, window(minutes, "20:00", "01:00"))
    europe = mean_sq_sigma_standardised(minutes, window(minutes, "02:00", "04:00"))
    ratio = europe / asia
    assert in_band(ratio, "europe_asia_variance_ratio"), band_message(ratio, "europe_asia_variance_ratio")


@pytest.mark.parametrize(("flag", "start", "end"), [("news_0830", "08:30", "08:31"), ("news_1000", "10:00", "10:01")])
def test_news_minute_spike(minutes, flag, start, end):
    minute = window(minutes, start, end)
    news = minutes[flag].to_numpy()
    assert 300 < np.count_nonzero(minute & news) < np.count_nonzero(minute & ~news)
    ratio = mean_sq_sigma_standardised(minutes, minute & news) / mean_sq_sigma_standardised(minutes, minute & ~news)
    name = f"{flag}_variance_ratio"
    assert in_band(ratio, name), band_message(ratio, name)


# ---------------------------------------------------------------------------------------------------------------
# Grid, types, timestamps, volume


def test_prices_on_tick_grid_and_consistent(default_dataset):
    bars = default_dataset.bars
    for column in ("open", "high", "low", "close"):
        assert bars[column].dtype == np.float64
        ticks = bars[column].to_numpy() / TICK
        assert np.array_equal(ticks, np.round(ticks)), f"{column} off the {TICK} grid"
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()


def test_volume_is_positive_int64(default_dataset):
    volume = default_dataset.bars["volume"]
    assert volume.dtype == np.int64
    assert (volume > 0).all()


def test_ts_strictly_increasing_utc(default_dataset):
    ts = default_dataset.bars["ts"]
    assert isinstance(ts.dtype, pd.DatetimeTZDtype)
    assert str(ts.dt.tz) == "UTC"
    assert (np.diff(calendar.epoch_ns(ts)) > 0).all()


def test_trade_date_follows_calendar(default_dataset):
    bars = default_dataset.bars
    expected = calendar.assign_trade_dates(bars["ts"])
    actual = bars["trade_date"].to_numpy().astype("datetime64[D]")
    mismatches = np.count_nonzero(actual != expected)
    assert mismatches == 0, f"{mismatches} bars with a trade_date the calendar would not assign"


def test_daily_volume_level(default_dataset):
    per_day = default_dataset.bars.groupby("trade_date")["volume"].sum() / 1e6
    for name, value in (("mean", per_day.mean()), ("median", per_day.median())):
        assert in_band(float(value), "daily_volume_millions"), f"{name}: " + band_message(
            value, "daily_volume_millions"
        )


def test_most_volume_in_rth(default_dataset, default_sessions):
    share = float(default_sessions["volume"].sum() / default_dataset.bars["volume"].sum())
    assert in_band(share, "rth_volume_share"), band_message(share, "rth_volume_share")


# ---------------------------------------------------------------------------------------------------------------
# Contracts and rolls


def quarterly_expiries(start: str, end: str) -> pd.DatetimeIndex:
    """Third Fridays of Mar/Jun/Sep/Dec (computed here independently of almanac.data_sources.contracts)."""
    fridays = pd.date_range(start, end, freq="WOM-3FRI")
    return fridays[fridays.month % 3 == 0]


def es_code(expiry: pd.Timestamp) -> str:
    return f"ES{'HMUZ'[expiry.month // 3 - 1]}{expiry.year % 100:02d}"


def test_contract_codes_are_quarterly_and_in_order(default_dataset):
    contracts = default_dataset.bars["contract"]
    assert contracts.str.fullmatch(r"ES[HMUZ]\d{2}").all()
    in_order = list(pd.unique(contracts))
    expected = [es_code(e) for e in quarterly_expiries("2016-01-01", "2025-03-31")]
    assert in_order == expected  # ESH16, ESM16, ..., ESZ24, ESH25 (front after the Dec 2024 roll)


def test_one_contract_per_trade_date_switching_on_calendar_roll(default_dataset):
    per_day = default_dataset.bars.groupby("trade_date")["contract"].agg(["nunique", "first"])
    assert (per_day["nunique"] == 1).all()
    expiries = quarterly_expiries("2016-01-01", "2025-12-31")
    roll_dates = expiries - pd.Timedelta(days=8)  # the Thursday of the week before expiry
    # Front on day d: the first contract whose roll date is still after d (switch on the first trade date >= roll).
    front = np.searchsorted(roll_dates.to_numpy(), per_day.index.to_numpy(), side="right")
    expected = [es_code(expiries[i]) for i in front]
    wrong = per_day.index[per_day["first"].to_numpy() != np.array(expected)]
    assert len(wrong) == 0, f"front contract differs from the calendar roll on {list(wrong[:5])}"


def test_manifest_rolls(default_dataset, default_sessions):
    rolls = default_dataset.manifest["rolls"]
    assert len(rolls) == 36  # four a year, 2016-2024
    trade_dates = pd.DatetimeIndex(default_sessions["trade_date"])
    expiries = quarterly_expiries("2016-01-01", "2024-12-31")
    closes = default_sessions.set_index("trade_date")["close"]
    carry = default_dataset.manifest["generator"]["carry_annual"]
    for roll, expiry, next_expiry in zip(
        rolls, expiries, expiries[1:].append(quarterly_expiries("2025-01-01", "2025-03-31")), strict=True
    ):
        first_on_or_after = trade_dates[trade_dates >= expiry - pd.Timedelta(days=8)][0]
        assert roll["trade_date"] == str(first_on_or_after.date())
        assert (roll["from"], roll["to"]) == (es_code(expiry), es_code(next_expiry))
        gap = roll["gap_pts"]
        assert gap is not None and in_band(gap, "roll_gap_pts"), f"{roll}: " + band_message(
            gap or math.nan, "roll_gap_pts"
        )
        # The gap is the model's carry over the quarter between the two expiries, up to 2 ticks of rounding.
        day_before = trade_dates[trade_dates.get_loc(first_on_or_after) - 1]
        years = (next_expiry - expiry).days / 365.25
        expected_gap = closes.loc[day_before] * math.expm1(carry * years)
        assert gap == pytest.approx(expected_gap, abs=2 * TICK), roll


@pytest.fixture(scope="module")
def half_year_market():
    return generate_market(MarketSpec(start="2023-01-01", end="2023-06-30"))


@pytest.mark.parametrize(
    ("old", "new", "roll_date"), [("ESH23", "ESM23", "2023-03-09"), ("ESM23", "ESU23", "2023-06-08")]
)
def test_volume_migrates_to_next_contract_around_roll(half_year_market, old, new, roll_date):
    bars = half_year_market.contract_bars
    volume = bars.groupby(["trade_date", "contract"])["volume"].sum().unstack("contract").fillna(0)
    share = (volume[new] / volume[[old, new]].sum(axis=1)).loc[volume[new] > 0]
    roll = pd.Timestamp(roll_date)
    k = share.index.get_loc(roll)
    assert k == 6  # the next contract starts trading six trade days before the roll
    assert share.iloc[0] < ROLL_SHARE_FIRST_DAY_MAX, share.head(8)
    assert share.iloc[k - 1] < 0.5 <= share.iloc[k], "the majority must move to the next contract on the roll date"
    assert share.iloc[k + 2] > ROLL_SHARE_AFTER_2_DAYS_MIN, share.iloc[: k + 4]
    assert share.iloc[: k + 4].is_monotonic_increasing, share.iloc[: k + 4]


# ---------------------------------------------------------------------------------------------------------------
# Cross-asset daily series


@pytest.fixture(scope="module")
def cross_asset_changes(default_dataset, daily) -> pd.DataFrame:
    wide = default_dataset.daily.pivot(index="date", columns="symbol", values="close")
    changes = pd.DataFrame(
        {
            "ES": daily["ret"],
            "VIX": wide["VIX"].diff(),
            "DX": np.log(wide["DX"]).diff(),
            "WTI": np.log(wide["WTI"]).diff(),
            "TNX": np.log(wide["TNX"]).diff(),
        }
    )
    return changes.dropna()


@pytest.mark.parametrize(
    ("symbol", "band"), [("VIX", "corr_vix_change"), ("DX", "corr_dx_log_change"), ("WTI", "corr_wti_log_change")]
)
def test_cross_asset_correlation(cross_asset_changes, symbol, band):
    assert len(cross_asset_changes) > 2200
    corr = float(cross_asset_changes["ES"].corr(cross_asset_changes[symbol]))
    assert in_band(corr, band), band_message(corr, band)


def test_ten_year_yield_correlation_switches_sign(cross_asset_changes):
    rolling = cross_asset_changes["ES"].rolling(252).corr(cross_asset_changes["TNX"]).dropna()
    assert in_band(float(rolling.max()), "tnx_rolling_corr_abs_extreme"), band_message(
        rolling.max(), "tnx_rolling_corr_abs_extreme"
    )
    assert in_band(float(-rolling.min()), "tnx_rolling_corr_abs_extreme"), band_message(
        -rolling.min(), "tnx_rolling_corr_abs_extreme"
    )


def test_daily_available_at_documented_times(default_dataset):
    daily = default_dataset.daily
    assert set(daily["symbol"].unique()) == {"VIX", "DX", "TNX", "WTI"}
    assert str(daily["available_at"].dt.tz) == "UTC"
    local = daily["available_at"].dt.tz_convert(ET)
    assert (local.dt.tz_localize(None).dt.normalize() == daily["date"]).all(), "value published on another date"
    wall = local.dt.strftime("%H:%M")
    assert (wall == daily["symbol"].map(AVAILABLE_AT_ET)).all()
    assert AVAILABLE_AT_ET == {"VIX": "16:15", "DX": "17:00", "TNX": "15:00", "WTI": "14:30"}  # as documented
    rth_open = calendar.rth_sessions("2016-01-01", "2024-12-31")["rth_open_utc"]
    assert (daily["available_at"] > daily["date"].map(rth_open)).all(), "a daily value known before that day's open"


@pytest.mark.parametrize(("date", "utc_time"), [("2024-01-02", "21:15"), ("2024-07-01", "20:15")])
def test_vix_available_at_is_dst_correct(default_dataset, date, utc_time):
    daily = default_dataset.daily
    row = daily.loc[(daily["symbol"] == "VIX") & (daily["date"] == pd.Timestamp(date))]
    assert len(row) == 1
    assert row["available_at"].iloc[0] == pd.Timestamp(f"{date} {utc_time}", tz="UTC")  # EST = UTC-5, EDT = UTC-4


# ---------------------------------------------------------------------------------------------------------------
# Determinism and the planted drift

SHORT = {"start": "2024-01-01", "end": "2024-02-15"}


def test_same_spec_gives_identical_market():
    first, second = generate_market(MarketSpec(**SHORT)), generate_market(MarketSpec(**SHORT))
    for name in ("contract_bars", "daily", "truth", "schedule"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name), obj=name)


def test_different_seed_gives_different_market():
    first = generate_market(MarketSpec(**SHORT))
    other = generate_market(MarketSpec(**SHORT, seed=MarketSpec().seed + 1))
    assert not np.allclose(first.truth["sigma"], other.truth["sigma"])
    merged = first.contract_bars.merge(other.contract_bars, on=["ts", "contract"], suffixes=("", "_other"))
    assert len(merged) > 0.9 * len(first.contract_bars)
    assert (merged["close"] != merged["close_other"]).mean() > 0.5


def test_kappa_zero_differs_only_through_drift():
    """kappa changes neither the latent variables nor the shocks: sigma is rescaled by a constant (total daily
    variance stays at the target), and the RTH return differs by exactly the planted drift kappa * sigma * z."""
    default = MarketSpec(**SHORT)
    null = MarketSpec(**SHORT, kappa=0.0)
    ds_default, ds_null = build_synthetic_dataset(default), build_synthetic_dataset(null)
    truth_default, truth_null = ds_default.truth, ds_null.truth
    for column in ("trade_date", "z", "s", "news_0830", "news_1000", "half_day"):
        pd.testing.assert_series_equal(truth_default[column], truth_null[column])
    # egarch_sigma targets daily_vol^2 / (1 + kappa^2 + lambda^2): same shape, constant scale factor.
    lam = default.overnight_channel
    factor = math.sqrt((1 + lam**2) / (1 + default.kappa**2 + lam**2))
    np.testing.assert_allclose(truth_default["sigma"] / truth_null["sigma"], factor, rtol=1e-12)

    s_default = build_sessions(ds_default.bars, CUTOFF, ds_default.manifest["rolls"])
    s_null = build_sessions(ds_null.bars, CUTOFF, ds_null.manifest["rolls"])
    pd.testing.assert_series_equal(s_default["trade_date"], s_null["trade_date"])
    rth_default = np.log(s_default["close"] / s_default["open"]).to_numpy()
    rth_null = np.log(s_null["close"] / s_null["open"]).to_numpy()
    planted = (
        default.kappa
        * truth_default["sigma"].to_numpy()
        * truth_default["z"].to_numpy()
        * s_default["rth_bars"].to_numpy()
        / 390
    )
    residual = rth_default - factor * rth_null - planted
    # Left over: tick rounding of two open and two close prices (~1e-4) and a rescaled 0.02 bp equity drift.
    assert np.abs(residual).max() < 0.1 * planted.std(), (np.abs(residual).max(), planted.std())


@pytest.mark.parametrize(("symbol", "first", "tick"), [("ES", 2000.0, 0.25), ("NQ", 4500.0, 0.25), ("CL", 40.0, 0.01)])
def test_each_instrument_starts_at_its_own_price_on_its_own_tick(symbol, first, tick):
    # start_price null (the default): the instrument's synthetic_start, so `-S data.symbol=ES,NQ,CL` needs no price
    import almanac
    from almanac.instruments import instrument

    data = almanac.load_bars(almanac.DataParams(symbol=symbol, start="2016-01-04", end="2016-01-08"))
    assert data.manifest["generator"]["start_price"] == first == instrument(symbol).synthetic_start
    prices = data.bars[["open", "high", "low", "close"]].to_numpy()
    low, high = instrument(symbol).price_range
    assert low <= prices.min() and prices.max() <= high
    assert 0.9 * first < np.median(prices) < 1.1 * first  # a week at about 1 % a day stays near the start
    assert np.allclose(prices / tick, np.round(prices / tick), atol=1e-6)
