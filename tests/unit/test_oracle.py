"""The closed-form oracle against a Monte Carlo of the generator's own RTH process."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from almanac.synth import market, profile
from almanac.synth.oracle import oracle_probability

N_DAYS = 40_000  # AUC sampling sd ~0.003 at this size, so a 0.01 tolerance is > 3 sd
AUC_TOLERANCE = 0.01


def simulate_rth(kappa: float, rho: float, cutoff: dt.time, n_days: int, seed: int):
    """Simulate ``n_days`` RTH sessions with the generator's own minute model (profile, Student-t shocks,
    drifts, news spikes, tick rounding) and return the truth table, session prices and realised labels."""
    spec = market.MarketSpec(kappa=kappa, rho=rho)
    rng = np.random.default_rng(seed)
    minutes = np.arange(profile.RTH_OPEN_MIN, profile.RTH_CLOSE_MIN)
    day = np.repeat(np.arange(n_days), len(minutes))
    minute_et = np.tile(minutes, n_days)
    news_0830 = rng.random(n_days) < spec.news_0830_prob
    news_1000 = rng.random(n_days) < spec.news_1000_prob
    w = profile.variance_weights(minute_et, news_0830[day], news_1000[day])
    sigma = 0.011 * np.exp(0.35 * rng.standard_normal(n_days) - 0.35**2 / 2)
    z = rng.standard_normal(n_days)
    s = rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n_days)
    t = market.draw_minute_shocks(rng, len(day), spec.nu)
    r = market.minute_returns(t, w=w, day=day, minute_et=minute_et, sigma=sigma, z=z, s=s, spec=spec)
    log_price = np.log(4000.0) + np.concatenate([[0.0], np.cumsum(r)])
    first = np.arange(n_days) * len(minutes)
    cut = cutoff.hour * 60 + cutoff.minute - profile.RTH_OPEN_MIN

    def on_grid(x):
        return np.round(np.exp(x) / spec.tick) * spec.tick  # the market's own grid (MarketSpec.tick)

    open_px = on_grid(log_price[first])
    cutoff_px = on_grid(log_price[first + cut])
    close_px = on_grid(log_price[first + len(minutes)])
    dates = pd.date_range("1900-01-01", periods=n_days, freq="D")
    truth = pd.DataFrame(
        {
            "trade_date": dates,
            "sigma": sigma,
            "z": z,
            "s": s,
            "news_0830": news_0830,
            "news_1000": news_1000,
            "half_day": False,
            "kappa": kappa,
            "rho": rho,
            "drift_daily": spec.drift_daily,
        }
    )
    sessions = pd.DataFrame({"trade_date": dates, "open": open_px, "cutoff_price": cutoff_px})
    labels = {"rest_of_day": close_px > cutoff_px, "direction": close_px > open_px}
    return truth, sessions, labels


def expected_auc_if_calibrated(p: np.ndarray, rng: np.random.Generator, reps: int = 20) -> float:
    """AUC the probabilities would score if they were exactly right (labels drawn from them)."""
    return float(np.mean([roc_auc_score(rng.random(len(p)) < p, p) for _ in range(reps)]))


@pytest.mark.slow
@pytest.mark.parametrize(("kappa", "rho", "cutoff"), [(0.5, 0.8, dt.time(10, 15)), (0.2, 0.5, dt.time(11, 30))])
@pytest.mark.parametrize("target", ["rest_of_day", "direction"])
def test_closed_form_matches_monte_carlo(kappa, rho, cutoff, target):
    truth, sessions, labels = simulate_rth(kappa, rho, cutoff, N_DAYS, seed=11)
    p = oracle_probability(truth, sessions, cutoff=cutoff, target=target).to_numpy()
    y = labels[target]
    realised = roc_auc_score(y, p)
    assert abs(realised - expected_auc_if_calibrated(p, np.random.default_rng(5))) < AUC_TOLERANCE
    # Calibration: in each decile of p, the realised frequency is within 0.03 of the mean probability.
    decile = pd.qcut(p, 10, labels=False)
    table = pd.DataFrame({"p": p, "y": y, "bin": decile}).groupby("bin").mean()
    assert (table["p"] - table["y"]).abs().max() < 0.03


def test_martingale_oracle_is_uninformative_for_rest_of_day():
    truth, sessions, labels = simulate_rth(0.0, 0.8, dt.time(10, 30), 20_000, seed=3)
    p = oracle_probability(truth, sessions, cutoff=dt.time(10, 30), target="rest_of_day")
    # With kappa = 0 only the tiny equity drift and tick rounding move p: all days look alike.
    assert p.std() < 0.01
    assert abs(roc_auc_score(labels["rest_of_day"], p) - 0.5) < 0.02


def test_direction_is_predictable_even_in_a_martingale():
    # docs/synthetic_market.md: close > open is largely decided by the cutoff, Bayes AUC ~0.68-0.73.
    truth, sessions, labels = simulate_rth(0.0, 0.8, dt.time(10, 30), 20_000, seed=4)
    auc = roc_auc_score(
        labels["direction"], oracle_probability(truth, sessions, cutoff=dt.time(10, 30), target="direction")
    )
    assert 0.66 < auc < 0.75


def test_oracle_auc_grows_with_kappa_and_rho():
    aucs = []
    for kappa, rho in [(0.2, 0.5), (0.3, 0.8), (0.5, 0.8)]:
        truth, sessions, labels = simulate_rth(kappa, rho, dt.time(10, 30), 20_000, seed=9)
        p = oracle_probability(truth, sessions, cutoff=dt.time(10, 30), target="rest_of_day")
        aucs.append(roc_auc_score(labels["rest_of_day"], p))
    assert aucs == sorted(aucs)
    assert 0.52 < aucs[0] < 0.58 and 0.64 < aucs[2] < 0.72


def test_oracle_rejects_early_cutoff_and_unknown_target(small_dataset, small_sessions):
    with pytest.raises(ValueError, match="10:00"):
        oracle_probability(small_dataset.truth, small_sessions, cutoff=dt.time(9, 45))
    with pytest.raises(ValueError, match="unknown oracle target"):
        oracle_probability(small_dataset.truth, small_sessions, cutoff=dt.time(10, 15), target="archetype")


def test_oracle_on_generated_market_beats_chance(default_dataset, default_sessions):
    p = oracle_probability(default_dataset.truth, default_sessions, cutoff=dt.time(10, 15))
    s = default_sessions.set_index("trade_date").loc[p.index]
    y = s["close"] > s["cutoff_price"]
    # Default kappa 0.3, rho 0.8: closed-form oracle AUC ~0.61 (+-0.012 sampling sd over 2264 days).
    assert 0.57 < roc_auc_score(y, p) < 0.66


def test_oracle_defaults_to_the_sessions_instrument():
    truth, sessions, _ = simulate_rth(0.3, 0.8, dt.time(10, 30), 200, seed=2)
    cl = sessions.assign(contract="CLM24")  # CL: 0.01 tick, RTH 09:00-14:30
    p = oracle_probability(truth, cl, cutoff=dt.time(10, 30))
    pd.testing.assert_series_equal(p, oracle_probability(truth, cl, cutoff=dt.time(10, 30), symbol="CL"))
    assert not np.allclose(p, oracle_probability(truth, cl, cutoff=dt.time(10, 30), symbol="ES"))
    with pytest.raises(ValueError, match="several instruments"):
        oracle_probability(truth, cl.assign(contract=["CLM24", "ESM24"] * 100), cutoff=dt.time(10, 30))
