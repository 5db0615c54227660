"""The synthetic market's work on a worker thread (``market._in_background``) gives the values of one thread.

The worker draws each random stream in the order a single thread would (range: high then low; volume: the daily
level, then the minute noise), and the work it takes over (activity, noise factor, contract rows) equals the plain
formulas; ``contract_bars`` gives the same bars with the rows computed beforehand or by itself.  The profiles'
pre-divided weight tables give the bits of dividing each looked-up value.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from almanac import calendar
from almanac.contract_months import contract_schedule
from almanac.numerics import exp
from almanac.synth import market, profile
from almanac.synth.contracts import contract_bars, contract_rows

SEED = 7


def _streams(seed: int = SEED) -> dict:
    children = np.random.SeedSequence(seed).spawn(len(market._STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(market._STREAMS, children, strict=True)}


def _grid(spec: market.MarketSpec):
    dates = calendar.trading_days(spec.start, spec.end)
    ts, day = market.minute_grid(calendar.globex_sessions(dates))
    return dates, ts, day, contract_schedule(spec.symbol, dates.min(), dates.max())


def test_worker_draws_are_one_threads_draws():
    spec = market.MarketSpec(start="2024-03-01", end="2024-03-20", seed=SEED)
    dates, ts, day, schedule = _grid(spec)
    n, n_days = len(day), len(dates)
    with ThreadPoolExecutor(max_workers=1) as pool:
        work = market._in_background(pool, _streams(), ts=ts, day=day, dates=dates, schedule=schedule, spec=spec)
        got = {name: future.result() for name, future in work.items()}
    streams = _streams()  # the same draws, in one thread, in the order of the single-threaded generator
    t = streams["minute"].standard_t(spec.nu, size=n) / math.sqrt(spec.nu / (spec.nu - 2.0))
    high = np.abs(streams["range"].standard_normal(n))
    low = np.abs(streams["range"].standard_normal(n))
    level_shock = streams["volume"].standard_normal(n_days)
    noise = exp(0.35 * streams["volume"].standard_normal(n) - 0.35**2 / 2)
    expected = {
        "t": t,
        "high": high,
        "low": low,
        "level_shock": level_shock,
        "noise": noise,
        "activity": 0.75 + 0.25 * np.abs(t) / 0.8,
    }
    for name, values in expected.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    for mine, reference in zip(got["rows"], contract_rows(ts, day, dates, schedule=schedule, spec=spec), strict=True):
        np.testing.assert_array_equal(mine, reference)


def test_contract_bars_with_rows_given_equal_rows_computed():
    spec = market.MarketSpec(start="2024-03-01", end="2024-03-20", seed=SEED)
    dates, ts, day, schedule = _grid(spec)
    rng = np.random.default_rng(1)
    close = np.cumsum(rng.normal(0.0, 1e-4, len(ts))) + math.log(5000.0)
    spread = np.abs(rng.normal(0.0, 1e-4, len(ts)))

    def path():
        return {
            "ts": ts.copy(),
            "day": day.copy(),
            "close": close.copy(),
            "high": close + spread,
            "low": close - spread,
            "expected": np.full(len(ts), 2.0),  # some minutes draw no trade: those rows are dropped
            "open_first": math.log(5000.0),
        }

    rows = contract_rows(ts, day, dates, schedule=schedule, spec=spec)
    given = contract_bars(path(), dates, schedule, rng=np.random.default_rng(2), spec=spec, rows=rows)
    computed = contract_bars(path(), dates, schedule, rng=np.random.default_rng(2), spec=spec)
    pd.testing.assert_frame_equal(given, computed)
    assert 0 < len(given) < len(rows[0])


def test_profile_weights_looked_up_equal_the_table_divided_per_minute():
    """The pre-divided tables give the bits of the former lookup-then-divide, for both windows and every case."""
    rng = np.random.default_rng(3)
    minute = rng.integers(0, 1440, 20_000)
    news_0830, news_1000 = rng.random(20_000) < 0.35, rng.random(20_000) < 0.25
    case = 2 * news_0830.astype(np.int64) + news_1000.astype(np.int64)
    for rth in (profile.EQUITY_RTH, (540, 870)):
        for raw, weights in (
            (profile._raw_variance, profile.variance_weights),
            (profile._raw_volume, profile.volume_weights),
        ):
            former = profile._table(raw, rth)[case, minute] / profile._norm(raw, rth)
            np.testing.assert_array_equal(weights(minute, news_0830, news_1000, rth=rth), former)
            index = profile.table_index(minute, news_0830, news_1000)
            at = profile.variance_weights_at if raw is profile._raw_variance else profile.volume_weights_at
            np.testing.assert_array_equal(at(index, rth=rth), former)
    assert profile.variance_weights(600, False, True) == profile._table(profile._raw_variance, profile.EQUITY_RTH)[
        1, 600
    ] / profile._norm(profile._raw_variance, profile.EQUITY_RTH)
