"""Bayes-optimal (oracle) probabilities of the synthetic market's labels, in closed form, for any cutoff.

The oracle knows what the model says is knowable at the cutoff: the day's sigma, the score ``s`` revealed by the
early session, the intraday variance profile (including the day's news flags) and the realised open-to-cutoff
move ``x``.  In units of the day's sigma (Gaussian approximation of the Student-t minute shocks, which is
accurate for sums of dozens of minutes):

* prior from the revealed score: ``z | s ~ N(rho s, 1 - rho^2)``;
* the open-to-cutoff move ``x = kappa A_b z + mu_b + N(0, V_b)`` updates it to ``z | s, x ~ N(m, q)``;
* the rest of the day ``R = kappa A_a z + mu_a + N(0, V_a)``, so ``R | s, x ~ N(kappa A_a m + mu_a,
  kappa^2 A_a^2 q + V_a)``,

where ``A`` is the share of the RTH minutes (390 for ES, 330 for CL) of planted drift and ``V`` the share of the day's variance before
(``b``) and after (``a``) the cutoff.  ``rest_of_day`` (close > cutoff price) and ``direction`` (close > open)
follow from the normal CDF, with the half-tick that separates a strict "greater than" on the tick grid.
It assumes the order-flow channel has been seen, i.e. a cutoff at or after 10:00 ET.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

# The normal distribution function through scipy.special's ufunc, not scipy.stats.norm (about 0.7 s to import):
# norm.cdf(x) is ndtr(x), the same bits (tests/unit/test_metrics.py).
from scipy.special import ndtr

from almanac.instruments import instrument
from almanac.numerics import log, log1p
from almanac.sessions import traded_symbol
from almanac.synth import profile
from almanac.synth.profile import MINUTES_PER_DAY_FULL

TARGETS = ("rest_of_day", "direction")
HALF_DAY_CLOSE_MIN = 13 * 60


def _window_shares(truth: pd.DataFrame, cutoff_min: int, rth: tuple[int, int]) -> dict[str, np.ndarray]:
    minutes = np.arange(*rth)[None, :]
    half_day_close = min(HALF_DAY_CLOSE_MIN, rth[1])
    close = np.where(truth["half_day"].to_numpy(dtype=bool), half_day_close, rth[1])[:, None]
    news_0830 = truth["news_0830"].to_numpy(dtype=bool)[:, None]
    news_1000 = truth["news_1000"].to_numpy(dtype=bool)[:, None]
    shape = (len(truth), minutes.shape[1])
    w = profile.variance_weights(
        np.broadcast_to(minutes, shape), np.broadcast_to(news_0830, shape), np.broadcast_to(news_1000, shape), rth=rth
    )
    before = (minutes < cutoff_min) & (minutes < close)
    after = (minutes >= cutoff_min) & (minutes < close)
    return {
        "A_b": before.sum(axis=1) / (rth[1] - rth[0]),
        "A_a": after.sum(axis=1) / (rth[1] - rth[0]),
        "V_b": (w * before).sum(axis=1),
        "V_a": (w * after).sum(axis=1),
        "n_b": before.sum(axis=1),
        "n_a": after.sum(axis=1),
    }


def oracle_probability(
    truth: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    cutoff: dt.time,
    target: str = "rest_of_day",
    symbol: str | None = None,
) -> pd.Series:
    """Oracle ``P(target = 1 | information at the cutoff)`` per trade date.

    ``truth``: the synthetic truth table (``trade_date, sigma, s, news_0830, news_1000, half_day, kappa, rho,
    drift_daily``).  ``sessions``: the session table built at the same ``cutoff`` (``trade_date, open,
    cutoff_price``; ``contract`` names the instrument).  ``symbol``: the instrument whose tick and RTH window
    apply; default the one of the sessions' contracts (:func:`almanac.sessions.traded_symbol`).  Returns a Series
    indexed by ``trade_date`` (NaN where a session lacks prices).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown oracle target {target!r}; allowed: {', '.join(TARGETS)}")
    cutoff_min = cutoff.hour * 60 + cutoff.minute
    if cutoff_min < profile.CHANNEL_END_MIN:
        raise ValueError("the oracle assumes the order-flow channel has been seen: use a cutoff at or after 10:00 ET")
    data = truth.merge(sessions[["trade_date", "open", "cutoff_price"]], on="trade_date", how="inner", validate="1:1")
    spec = instrument(symbol or traded_symbol(sessions))
    shares = _window_shares(data, cutoff_min, spec.rth_minutes)
    sigma = data["sigma"].to_numpy()
    kappa = data["kappa"].to_numpy()
    rho = data["rho"].to_numpy()
    s = data["s"].to_numpy()
    mu_minute = data["drift_daily"].to_numpy() / MINUTES_PER_DAY_FULL / sigma
    x = log(data["cutoff_price"].to_numpy() / data["open"].to_numpy()) / sigma

    prior_var = 1.0 - rho**2
    known = prior_var <= 1e-12
    obs_precision = (kappa * shares["A_b"]) ** 2 / np.maximum(shares["V_b"], 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(known, np.inf, 1.0 / np.where(known, 1.0, prior_var) + obs_precision)
        numerator = rho * s / np.where(known, 1.0, prior_var) + kappa * shares["A_b"] * (
            x - mu_minute * shares["n_b"]
        ) / np.maximum(shares["V_b"], 1e-12)
        mean_z = np.where(known, s, numerator / precision)
        var_z = np.where(known, 0.0, 1.0 / precision)
    mean_r = kappa * shares["A_a"] * mean_z + mu_minute * shares["n_a"]
    sd_r = np.sqrt(kappa**2 * shares["A_a"] ** 2 * var_z + shares["V_a"])
    # Strictly greater on the tick grid: the unrounded close must clear the reference by half a tick.
    if target == "rest_of_day":
        half_tick = log1p(0.5 * spec.tick / data["cutoff_price"].to_numpy()) / sigma
        p = ndtr((mean_r - half_tick) / sd_r)  # scipy.stats.norm.cdf
    else:
        half_tick = log1p(0.5 * spec.tick / data["open"].to_numpy()) / sigma
        p = ndtr((x + mean_r - half_tick) / sd_r)  # scipy.stats.norm.cdf
    return pd.Series(p, index=pd.DatetimeIndex(data["trade_date"], name="trade_date"), name=f"oracle_{target}")
