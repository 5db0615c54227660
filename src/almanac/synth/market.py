"""The seeded synthetic market: per-contract 1-minute Globex bars with a planted, controllable signal.

The market is ``data.symbol``'s (ES by default): its contract months and expiries, tick grid and RTH window come
from the instrument table, so a CL market has monthly contracts, a 0.01 grid and its U-shaped day on
09:00-14:30 ET.  The price level is ``synthetic.start_price``, plausible for the instrument, or by default the
instrument's ``synthetic_start`` (``instruments.yaml``).

Model, per trade date ``d`` (all returns are log returns):

* daily volatility ``sigma_d`` follows an EGARCH(1,1) with leverage, driven by the day's own aggregate minute
  shock ``e_d``; persistence ``beta = 0.985``;
* minute ``m`` return: ``sigma_d * sqrt(w_m) * t_m`` with ``t_m`` a unit-variance Student-t (nu = 4) and
  ``w_m`` the intraday variance profile (:mod:`almanac.synth.profile`), plus three drifts:
  the equity drift ``mu / 1380`` per minute, the planted RTH drift ``kappa * sigma_d * z_d / N`` per RTH
  minute (N = 390 for 09:30-16:00), and an overnight drift ``lambda * sigma_d * s_d`` spread over the minutes
  before the RTH open;
* latent score ``z_d ~ N(0, 1)``; the early session reveals ``s_d = rho * z_d + sqrt(1 - rho^2) * eta_d``
  through the overnight drift and through order flow: up-ticking minutes trade ``exp(theta * s_d)`` times the
  volume of down-ticking ones from the Globex open to 10:00 ET;
* the contracts share one spot path ``L(t)`` and trade at ``exp(L(t) + carry * years_to_expiry)``;
  volume migrates to the next contract around the calendar roll (8 days before expiry for ES), giving a carry gap.

``kappa = 0`` makes every trade date's rest-of-day return a martingale difference (beyond the tiny equity
drift).  The truth table keeps ``sigma``, ``z`` and ``s`` so that :mod:`almanac.synth.oracle` can compute the
Bayes-optimal probabilities; features never read it.  One independent random stream is spawned per component,
so changing, e.g., the volume model leaves the price path unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from pydantic import model_validator

from almanac import calendar
from almanac.config import DEFAULTS, DataParams, Date, SyntheticParams
from almanac.contract_months import contract_schedule
from almanac.instruments import instrument
from almanac.numerics import exp, log
from almanac.synth import profile
from almanac.synth import volume as volume_model
from almanac.synth.contracts import contract_bars, contract_rows
from almanac.synth.cross_asset import ar1, generate_daily_series
from almanac.synth.profile import MINUTES_PER_DAY_FULL

_STREAMS = ("latent", "news", "minute", "range", "volume", "cross_asset")


class MarketSpec(SyntheticParams):
    """Knobs of the synthetic market: the ``synthetic.*`` params, the market and dates of ``data.*``, and model
    constants that are not params."""

    symbol: str = DEFAULTS.data.symbol
    start: Date = DEFAULTS.data.start
    end: Date = DEFAULTS.data.end
    nu: float = 4.0  # Student-t degrees of freedom of minute shocks
    egarch_beta: float = 0.985
    egarch_alpha: float = 0.14
    egarch_gamma: float = -0.12  # leverage: down days raise tomorrow's volatility
    drift_daily: float = 0.0007  # equity drift, log return per day
    overnight_channel: float = 0.15  # lambda: overnight drift per unit of revealed score, in daily sigmas
    flow_channel: float = 0.15  # theta: order-flow volume tilt per unit of revealed score
    carry_annual: float = 0.012  # financing minus dividends, per year
    daily_volume: float = 2.0e6  # contracts per full day, all contracts together
    news_0830_prob: float = 0.35
    news_1000_prob: float = 0.25
    roll_width_days: float = 0.8  # logistic width of the volume migration, in trade days
    roll_lead_days: int = 6  # the next contract starts trading this many trade days before the roll date

    @model_validator(mode="before")
    @classmethod
    def _instrument_start_price(cls, raw: Any) -> Any:
        # start_price null (the default) is the instrument's own first price, so a symbol sweep needs no price.
        if isinstance(raw, dict) and raw.get("start_price") is None:
            symbol = raw.get("symbol", DEFAULTS.data.symbol)
            raw = {**raw, "start_price": instrument(symbol).synthetic_start}
        return raw

    @classmethod
    def from_params(cls, data: DataParams, synthetic: SyntheticParams) -> MarketSpec:
        """The market ``params.yaml`` describes (``data.symbol/start/end`` and every ``synthetic.*`` key)."""
        return cls(symbol=data.symbol, start=data.start, end=data.end, **synthetic.model_dump())

    @property
    def tick(self) -> float:
        """The instrument's tick: the price grid of every bar."""
        return instrument(self.symbol).tick

    @property
    def rth(self) -> tuple[int, int]:
        """The instrument's RTH window in ET minutes of the day (``(570, 960)`` for ES)."""
        return instrument(self.symbol).rth_minutes


@dataclasses.dataclass(frozen=True)
class SyntheticMarket:
    """Output of :func:`generate_market`.

    ``contract_bars``: canonical per-contract minute bars (``ts`` UTC bar start, OHLC on the 0.25 grid,
    ``volume`` int64, ``contract`` categorical, ``trade_date``), sorted by ``contract`` then ``ts``; ``daily``: cross-asset
    daily series (long format with ``available_at``); ``truth``: one row per trade date with the latent
    variables; ``schedule``: the contracts and their expiries.
    """

    contract_bars: pd.DataFrame
    daily: pd.DataFrame
    truth: pd.DataFrame
    schedule: pd.DataFrame


def epoch_seconds(values) -> np.ndarray:
    """Tz-aware timestamps as int64 seconds since the epoch."""
    return calendar.epoch_ns(values) // 1_000_000_000


def minute_grid(sessions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every minute start of every Globex session (seconds since the epoch, UTC) and its day index."""
    open_s = epoch_seconds(sessions["open_utc"])
    counts = (epoch_seconds(sessions["close_utc"]) - open_s) // 60
    has_pause = sessions["pause_start_utc"].notna().to_numpy()
    # Minute k of a session starts at open + 60 k; a pause drops the k with pause_start <= open + 60 k < pause_end,
    # i.e. ceil((pause_start - open) / 60) <= k < ceil((pause_end - open) / 60).  So a session is two runs of
    # minutes, [0, first) and [end, counts), built directly: no per-minute pause test over the whole grid (the
    # grid and its temporaries were the stage's largest fresh allocation before the prices).
    pause_start = np.where(has_pause, epoch_seconds(sessions["pause_start_utc"]), open_s)
    pause_end = np.where(has_pause, epoch_seconds(sessions["pause_end_utc"]), open_s)
    first = np.where(has_pause, np.clip(-((open_s - pause_start) // 60), 0, counts), counts)
    end = np.where(has_pause, np.clip(-((open_s - pause_end) // 60), first, counts), counts)
    lengths = np.column_stack([first, counts - end]).ravel()
    starts = np.column_stack([open_s, open_s + 60 * end]).ravel()
    ts = np.arange(int(lengths.sum()), dtype=np.int64)
    ts *= 60
    ts += np.repeat(starts - 60 * (np.cumsum(lengths) - lengths), lengths)  # run start + 60 x minutes into the run
    day = np.repeat(np.arange(len(sessions)), first + counts - end)
    return ts, day


def et_minute_of_day(ts_s: np.ndarray) -> np.ndarray:
    """ET minute of day (0..1439) of UTC epoch seconds, DST-correct."""
    ts_s = np.asarray(ts_s, dtype=np.int64)
    if len(ts_s) == 0:
        return np.array([], dtype=np.int64)
    # New York's UTC offset changes only on whole UTC hours, so the tz database is asked once per hour of the
    # span (tens of thousands) rather than once per minute (millions), and each minute adds its hour's offset.
    hour = ts_s // 3600
    first = hour.min()
    utc = pd.DatetimeIndex(((first + np.arange(hour.max() - first + 1)) * 3600).astype("datetime64[s]"))
    offset_s = (utc.tz_localize("UTC").tz_convert(calendar.ET).tz_localize(None) - utc).total_seconds()
    hour -= first
    local_s = offset_s.to_numpy().astype(np.int64)[hour]
    del hour
    local_s += ts_s  # in place: a few fewer 3 M-value temporaries
    local_s //= 60
    local_s %= 24 * 60
    return local_s


def draw_minute_shocks(rng: np.random.Generator, n: int, nu: float) -> np.ndarray:
    """Unit-variance Student-t shocks."""
    t = rng.standard_t(nu, size=n)
    t /= math.sqrt(nu / (nu - 2.0))  # in place: the same bits as ``t / c``
    return t


def _abs_normal(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal(n)
    return np.abs(x, out=x)


def _in_background(pool: ThreadPoolExecutor, streams: dict, *, ts, day, dates, schedule, spec: MarketSpec) -> dict:
    """Submit the market's random draws, which depend on sizes only, and the work that reads only them and the
    minute grid (numpy runs both without holding the GIL).

    ``pool`` has one worker, which runs its tasks in submission order, so each stream is drawn in the same order
    as in a single thread (range: high then low; volume: the daily level, the minute noise, then the Poisson
    volumes of :func:`~almanac.synth.contracts.contract_bars`): the same values, while the main thread computes
    the profiles and the price path.  Returns futures by name.
    """
    n, n_days = len(day), len(dates)
    range_, volume = streams["range"], streams["volume"]
    t = pool.submit(draw_minute_shocks, streams["minute"], n, spec.nu)
    return {
        "t": t,
        "high": pool.submit(_abs_normal, range_, n),
        "low": pool.submit(_abs_normal, range_, n),
        "level_shock": pool.submit(volume.standard_normal, n_days),
        "noise": pool.submit(volume_model.noise_factor, volume, n),
        # t is drawn by then: the worker ran its task first.  No task writes into an array another one reads.
        "activity": pool.submit(lambda: volume_model.activity_factor(t.result())),
        "rows": pool.submit(contract_rows, ts, day, dates, schedule=schedule, spec=spec),
    }


def egarch_sigma(e: np.ndarray, spec: MarketSpec) -> np.ndarray:
    """Daily sigma from the EGARCH recursion on the days' standardised shocks ``e``.

    ``log sigma_d^2 - m = beta (log sigma_{d-1}^2 - m) + alpha (|e_{d-1}| - E|e|) + gamma e_{d-1}``.  With a
    persistence of 0.985 a nine-year sample can sit far from the stationary mean, so the level ``m`` is set so
    that the sample's mean ``sigma^2`` matches the target: total daily variance, including the planted and
    overnight drifts, equals ``daily_vol_pct`` squared on every sample.  A constant shift of ``log sigma^2``
    leaves the dynamics unchanged.
    """
    beta, alpha, gamma = spec.egarch_beta, spec.egarch_alpha, spec.egarch_gamma
    innovation = alpha * (np.abs(e) - math.sqrt(2.0 / math.pi)) + gamma * e
    # Day d's deviation reads the shocks of days before d only: the AR(1) of the innovations, one day late.
    deviation = np.concatenate([[0.0], ar1(innovation[:-1], beta)])
    target = (spec.daily_vol_pct / 100.0) ** 2 / (1.0 + spec.kappa**2 + spec.overnight_channel**2)
    sigma = exp(deviation / 2.0)
    return sigma * math.sqrt(target / np.mean(sigma**2))


def daily_shock(t: np.ndarray, w: np.ndarray, *, day: np.ndarray, n_days: int) -> np.ndarray:
    """Each day's standardised aggregate shock: sum(sqrt(w) t) / sqrt(sum w)."""
    num = np.bincount(day, weights=np.sqrt(w) * t, minlength=n_days)
    den = np.sqrt(np.bincount(day, weights=w, minlength=n_days))
    return num / den


def minute_returns(
    t: np.ndarray,
    *,
    w: np.ndarray,
    day: np.ndarray,
    minute_et: np.ndarray,
    sigma: np.ndarray,
    z: np.ndarray,
    s: np.ndarray,
    spec: MarketSpec,
) -> np.ndarray:
    """Log return of each minute: noise plus the equity, planted-RTH and overnight-channel drifts."""
    n_days = len(sigma)
    sig = sigma[day]
    rth = profile.rth_mask(minute_et, rth=spec.rth)
    overnight = (minute_et >= 18 * 60) | (minute_et < spec.rth[0])
    n_overnight = np.maximum(np.bincount(day, weights=overnight, minlength=n_days), 1.0)
    # In place, each product and sum in the order of the formula (the same roundings as the plain expression
    # ``sig * sqrt(w) * t + drift + rth * (kappa * sig * z / N) + ...``; a * b == b * a exactly): 3 M-value arrays
    # are reused instead of a new one per operation.
    r = np.sqrt(w)
    r *= sig
    r *= t
    r += spec.drift_daily / MINUTES_PER_DAY_FULL
    # The drifts' factors depend on the day only: each day's product, in the formula's order, is looked up per
    # minute (the same values as the per-minute products).
    planted = sigma * spec.kappa
    planted *= z
    planted /= spec.rth[1] - spec.rth[0]
    planted = planted[day]
    planted *= rth
    r += planted
    del planted
    revealed = sigma * spec.overnight_channel
    revealed *= s
    revealed /= n_overnight
    revealed = revealed[day]
    revealed *= overnight
    r += revealed
    return r


def _latent(rng: np.random.Generator, n_days: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    z = rng.standard_normal(n_days)
    eta = rng.standard_normal(n_days)
    return z, rho * z + math.sqrt(max(1.0 - rho**2, 0.0)) * eta


def generate_market(spec: MarketSpec) -> SyntheticMarket:
    """Generate the synthetic market described in the module docstring.  Deterministic in ``spec``."""
    streams = dict(
        zip(
            _STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(len(_STREAMS))),
            strict=True,
        )
    )
    dates = calendar.trading_days(spec.start, spec.end)
    if len(dates) == 0:
        raise ValueError(f"no NYSE trading days between {spec.start} and {spec.end}")
    sessions = calendar.globex_sessions(dates)
    rth = calendar.rth_sessions(dates.min(), dates.max(), rth=instrument(spec.symbol).rth)
    n_days = len(dates)

    ts, day = minute_grid(sessions)
    news = streams["news"].random(n_days) < spec.news_0830_prob, streams["news"].random(n_days) < spec.news_1000_prob
    z, s = _latent(streams["latent"], n_days, spec.rho)
    schedule = contract_schedule(spec.symbol, dates.min(), dates.max())
    with ThreadPoolExecutor(max_workers=1) as pool:  # beside the arithmetic below (see the helper)
        work = _in_background(pool, streams, ts=ts, day=day, dates=dates, schedule=schedule, spec=spec)
        minute_et = et_minute_of_day(ts)
        table_index = profile.table_index(minute_et, news[0][day], news[1][day])  # read by both profiles
        # The per-minute arrays (3 M values each) are built by helpers that return only what the next step reads,
        # so their temporaries are freed on return, and contract_bars frees each array of ``path`` once it has read
        # it: the stage's memory peak stays low (every fresh page is a page fault, ~1 s of system time per GB).
        sigma, path = _price_path(work, day=day, minute_et=minute_et, index=table_index, z=z, s=s, spec=spec)
        path["expected"] = volume_model.expected_volume(
            log_close=path["close"], day=day, minute_et=minute_et, index=table_index, sigma=sigma, s=s, spec=spec,
            level_shock=work.pop("level_shock").result(), activity=work.pop("activity").result(),
            noise=work.pop("noise").result(),
        )  # fmt: skip
        rows = work.pop("rows").result()
    del minute_et, table_index, work
    rth_close_idx = _last_index_before(ts, day, epoch_seconds(rth["rth_close_utc"]), n_days)
    daily = generate_daily_series(
        dates, sigma=sigma, log_close=path["close"][rth_close_idx], rng=streams["cross_asset"]
    )
    path.update(ts=ts, day=day, open_first=log(spec.start_price))
    del ts, day
    bars = contract_bars(path, dates, schedule, rng=streams["volume"], spec=spec, rows=rows)

    truth = pd.DataFrame(
        {
            "trade_date": dates,
            "sigma": sigma,
            "z": z,
            "s": s,
            "news_0830": news[0],
            "news_1000": news[1],
            "half_day": rth["half_day"].to_numpy(dtype=bool),
            "kappa": spec.kappa,
            "rho": spec.rho,
            "drift_daily": spec.drift_daily,
        }
    )
    return SyntheticMarket(contract_bars=bars, daily=daily, truth=truth, schedule=schedule)


def _price_path(draws: dict, *, day, minute_et, index, z, s, spec: MarketSpec) -> tuple[np.ndarray, dict]:
    """Daily sigma and the spot log ``close``, ``high`` and ``low`` of every minute.

    ``draws``: the futures of :func:`_in_background` (each result is taken once, then worked on in place);
    ``index``: each minute's :func:`~almanac.synth.profile.table_index`.
    """
    n_days = len(z)
    w = profile.variance_weights_at(index, rth=spec.rth)
    t = draws.pop("t").result()
    sigma = egarch_sigma(daily_shock(t, w, day=day, n_days=n_days), spec)
    log_close = minute_returns(t, w=w, day=day, minute_et=minute_et, sigma=sigma, z=z, s=s, spec=spec)
    np.cumsum(log_close, out=log_close)  # the returns' running sum, in place
    log_close += log(spec.start_price)
    log_open = np.concatenate([[log(spec.start_price)], log_close[:-1]])
    spread = sigma[day]  # sigma_d sqrt(w) 0.6, in place in the formula's order
    spread *= np.sqrt(w)
    spread *= 0.6
    del w
    # high = max(open, close) + spread |N|, low = min(open, close) - spread |N| (two draws, high's first).
    log_high = draws.pop("high").result()
    log_high *= spread
    log_high += np.maximum(log_open, log_close)
    log_low = draws.pop("low").result()
    log_low *= spread
    np.subtract(np.minimum(log_open, log_close), log_low, out=log_low)
    return sigma, {"close": log_close, "high": log_high, "low": log_low}


def _last_index_before(ts: np.ndarray, day: np.ndarray, limit: np.ndarray, n_days: int) -> np.ndarray:
    """Index of the last minute of each day starting before ``limit[day]`` (the RTH close bar)."""
    before = ts < limit[day]
    idx = np.full(n_days, -1, dtype=np.int64)
    np.maximum.at(idx, day[before], np.flatnonzero(before))
    return idx
