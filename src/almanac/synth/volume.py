"""The synthetic market's volume model: the expected contracts traded in each minute, all contracts together.

A day's level follows its volatility (``level ~ sigma^0.4`` times a lognormal day effect), spread over the day by
the intraday volume profile (:mod:`almanac.synth.profile`), tilted by the order flow that reveals the planted score
(:mod:`almanac.synth.market` describes the model), raised in active minutes (``|t|``) and multiplied by lognormal
minute noise.  :func:`~almanac.synth.contracts.contract_bars` splits it between the contracts and draws the volumes.
"""

from __future__ import annotations

import numpy as np

from almanac.numerics import exp, log
from almanac.synth import profile
from almanac.tick_rule import tick_rule_sign


def noise_factor(rng: np.random.Generator, n: int) -> np.ndarray:
    """The volume's lognormal noise ``exp(0.35 N - 0.35^2 / 2)`` (mean 1)."""
    noise = rng.standard_normal(n)
    noise *= 0.35
    noise -= 0.35**2 / 2
    return exp(noise)


def activity_factor(t: np.ndarray) -> np.ndarray:
    """The volume's activity factor ``0.75 + 0.25 |t| / 0.8`` of each minute's shock ``t``."""
    activity = np.abs(t)
    activity *= 0.25
    activity /= 0.8
    activity += 0.75
    return activity


def expected_volume(*, log_close, day, minute_et, index, sigma, s, level_shock, activity, noise, spec) -> np.ndarray:
    """Expected contracts traded in each minute, all contracts together (the Poisson mean before the roll split).

    Order flow reveals ``s``: up-ticking minutes in the channel window carry more volume when s > 0.  Every
    product is taken in place in the order of ``level * profile * tilt * activity * noise``.  ``log_close``: the
    spot path; ``day``, ``minute_et``, ``index``: each minute's trade-date position, ET minute of day and
    :func:`~almanac.synth.profile.table_index`; ``sigma``, ``s``: the days' volatility and revealed score;
    ``level_shock``: the days' standard normal level draws; ``activity`` and ``noise``: :func:`activity_factor`
    and :func:`noise_factor` of the minutes; ``spec``: the :class:`~almanac.synth.market.MarketSpec`.
    """
    spot_close = exp(log_close)
    spot_close /= spec.tick
    np.round(spot_close, out=spot_close)
    spot_close *= spec.tick
    flow = tick_rule_sign(spot_close, day)
    del spot_close
    flow *= profile.channel_mask(minute_et)
    # exp(theta s d) for d = direction x channel in {-1, 0, 1}: three values a day (rows of ``tilts``), looked up
    # per minute at 3 day + d + 1.
    tilts = np.column_stack([exp(-(spec.flow_channel * s)), np.ones(len(s)), exp(spec.flow_channel * s)]).ravel()
    position = day * 3
    flow += 1.0
    position += flow.astype(np.int64)
    del flow
    tilt = tilts[position]
    del position
    level = spec.daily_volume * exp(0.4 * (log(sigma) - log(sigma).mean()) + 0.12 * level_shock)
    expected = level[day]
    expected *= profile.volume_weights_at(index, rth=spec.rth)
    expected *= tilt
    del tilt
    expected *= activity  # 0.75 + 0.25 |t| / 0.8
    expected *= noise  # exp(0.35 N - 0.35^2 / 2)
    return expected
