"""Daily cross-asset series of the synthetic market: VIX-, dollar-index-, 10Y-yield- and crude-like.

Each series is tied to the same day's ES RTH close-to-close return, so a feature that reads a value before its
``available_at`` instant sees the day's outcome: exactly the leak the look-ahead audit must catch.

* ``VIX``: 100 * sqrt(252) * tomorrow's model sigma (floored) * 1.1 (a variance risk premium) with a little noise; its
  daily change correlates about -0.75 with the ES return through the EGARCH leverage term.
* ``DX``: log change with sd 0.4 % and correlation about -0.25 with ES, slowly mean-reverting.
* ``WTI``: log change with sd 2.2 % and correlation about +0.3 with ES.
* ``TNX`` (10Y yield, percent): log change with sd 3 %, correlation +/-0.4 with ES, the sign switching between
  regimes that last about 300 trade days on average (stock-bond correlation regimes); mean-reverting.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pandas as pd

from almanac import calendar
from almanac.numerics import exp

# Publication times (ET wall clock) of each daily value on its own date.
AVAILABLE_AT_ET = {"VIX": "16:15", "DX": "17:00", "TNX": "15:00", "WTI": "14:30"}
START_LEVEL = {"DX": 95.0, "WTI": 50.0, "TNX": 2.0}


def _correlated(rng: np.random.Generator, u: np.ndarray, corr: np.ndarray | float, sd: float) -> np.ndarray:
    corr = np.broadcast_to(np.asarray(corr, dtype=np.float64), u.shape)
    return sd * (corr * u + np.sqrt(1.0 - corr**2) * rng.standard_normal(len(u)))


def ar1(increments: np.ndarray, phi: float) -> np.ndarray:
    """AR(1) recursion ``x_t = increment_t + phi x_{t-1}`` from ``x_{-1} = 0`` (float64, one value per day).

    The same two roundings per step as ``scipy.signal.lfilter([1], [1, -phi], increments)``, so the same bits,
    without importing ``scipy.signal`` (half a second or more per process, for a few thousand days).
    """
    values = np.asarray(increments, dtype=np.float64)
    steps = itertools.accumulate(values.tolist(), lambda x, increment: increment + phi * x)
    return np.fromiter(steps, dtype=np.float64, count=len(values))


def _mean_reverting(increments: np.ndarray, phi: float) -> np.ndarray:
    """AR(1) log level ``x_t = phi x_{t-1} + increment_t`` around 0."""
    return ar1(increments, phi)


def generate_daily_series(
    dates: pd.DatetimeIndex, *, sigma: np.ndarray, log_close: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Long-format daily series (``symbol, date, close, available_at``) for the trade ``dates``.

    ``sigma`` is the model's daily sigma per date and ``log_close`` the spot log price at each RTH close.
    """
    ret = np.diff(log_close, prepend=log_close[0])
    u = ret / sigma  # standardised same-day ES return (first day: 0)
    n = len(dates)
    closes = {}
    next_sigma = np.append(sigma[1:], sigma[-1])
    # AR(1) log-noise (coefficient 0.9) around the sigma-implied level.
    noise = ar1(rng.standard_normal(n) * 0.01, 0.9)
    # A floor of 0.4 % daily keeps the index in its historical range (VIX has never printed below 9).
    closes["VIX"] = 100.0 * math.sqrt(252.0) * np.sqrt(next_sigma**2 + 0.004**2) * 1.1 * exp(noise)
    closes["DX"] = START_LEVEL["DX"] * exp(_mean_reverting(_correlated(rng, u, -0.25, 0.004), 0.999))
    closes["WTI"] = START_LEVEL["WTI"] * exp(np.cumsum(_correlated(rng, u, 0.30, 0.022)))
    flips = rng.random(n) < 1.0 / 300.0
    regime = np.where(np.cumsum(flips) % 2 == 0, 1.0, -1.0)
    closes["TNX"] = START_LEVEL["TNX"] * exp(_mean_reverting(_correlated(rng, u, 0.40 * regime, 0.03), 0.997))
    frames = []
    for symbol, values in closes.items():  # four series
        hour, minute = (int(x) for x in AVAILABLE_AT_ET[symbol].split(":"))
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "date": dates,
                    "close": np.round(values, 4),
                    "available_at": calendar.local_instants(dates, dt.time(hour, minute)).as_unit("ns"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
