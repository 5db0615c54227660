"""CME session calendar: eras, trade dates, RTH windows (per instrument) and cutoff instants.

Everything is stored in UTC and converted with the tz database (never fixed offsets), so DST is handled by
``zoneinfo``.  NYSE trading days and early closes come from ``exchange_calendars`` (calendar ``XNYS``), a
maintained library, rather than a hand-written holiday list; its result is memoised on disk (:func:`memo_dir`),
so each stage does not build it again.

Globex session rules changed twice, so they are eras, not one constant:

* before 19 Nov 2012: the 15:30 CT reopen (after the 15:15-15:30 pause) already belonged to the next trade date;
* 19 Nov 2012 - 27 Jun 2021: 17:00-16:15 CT with a 15:15-15:30 CT pause;
* from 28 Jun 2021: 17:00-16:00 CT with the 16:00-17:00 CT maintenance break.

Trade date rule: a bar starting at or after the era's boundary (17:00 CT; 15:30 CT before 2012-11-19) on
calendar day D belongs to the next calendar day; a bar whose date is not an NYSE trading day (weekend, holiday
segment) rolls forward to the next trading day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import warnings
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from almanac.paths import atomic_path

CT = "America/Chicago"
ET = "America/New_York"
RTH_OPEN_ET = dt.time(9, 30)
RTH_CLOSE_ET = dt.time(16, 0)


@dataclasses.dataclass(frozen=True)
class SessionEra:
    """Globex session rules in force from ``first_date`` (a CT calendar date) on."""

    name: str
    first_date: dt.date
    boundary_ct: dt.time  # bars at or after this CT time belong to the next trade date
    open_ct: dt.time  # Globex open on the evening before the trade date
    close_ct: dt.time  # Globex close on a full trade date
    pause_ct: tuple[dt.time, dt.time] | None  # intraday halt [start, end) inside the session, if any


ERAS: tuple[SessionEra, ...] = (
    SessionEra("pre-2012", dt.date(1997, 9, 9), dt.time(15, 30), dt.time(15, 30), dt.time(15, 15), None),
    SessionEra(
        "2012-2021",
        dt.date(2012, 11, 19),
        dt.time(17, 0),
        dt.time(17, 0),
        dt.time(16, 15),
        (dt.time(15, 15), dt.time(15, 30)),
    ),
    SessionEra("2021-", dt.date(2021, 6, 28), dt.time(17, 0), dt.time(17, 0), dt.time(16, 0), None),
)


BAR_NS = 60 * 10**9  # one-minute bars, stamped at their start


def usable_at(ts_ns: np.ndarray, instant_ns: np.ndarray | int) -> np.ndarray:
    """The no-look-ahead rule: a bar starting at ``ts`` may be used at ``instant`` only if ``ts + 1 min <= instant``.

    Both in int64 nanoseconds since the epoch (see :func:`epoch_ns`).
    """
    return ts_ns + BAR_NS <= instant_ns


def epoch_ns(values) -> np.ndarray:
    """Tz-aware timestamps (Series, Index or array) as int64 nanoseconds since the epoch (NaT -> INT64 min)."""
    index = pd.DatetimeIndex(values)
    if index.tz is None:
        raise ValueError("epoch_ns needs timezone-aware timestamps")
    if index.unit == "ns":  # a tz-aware index holds its instants as UTC nanoseconds (NaT: INT64 min) already:
        # a copy of them is the chain's result (tested) without its two temporaries and per-element time-zone
        # pass: 0.01 s instead of 0.03 s of CPU on the 3 million bars' stamps
        return index.asi8.copy()
    return index.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy().astype(np.int64)


def era_for(date: dt.date | pd.Timestamp) -> SessionEra:
    """The session era whose rules apply on CT calendar ``date``."""
    date = pd.Timestamp(date).date()
    era = ERAS[0]
    for candidate in ERAS:
        if date >= candidate.first_date:
            era = candidate
    return era


class _Nyse(NamedTuple):
    """What the module reads of exchange_calendars' ``XNYS``: its sessions and each session's close."""

    sessions: pd.DatetimeIndex  # tz-naive midnights, as ``ExchangeCalendar.sessions``
    schedule: pd.DataFrame  # indexed by the sessions; ``close`` (tz-aware UTC), as ``ExchangeCalendar.schedule``


@functools.lru_cache(maxsize=16)
def _xnys(first_year: int, last_year: int) -> _Nyse:
    """NYSE sessions and closes of whole years, from exchange_calendars, memoised on disk (:func:`memo_dir`).

    Building the calendar costs 0.5-0.6 s (importing exchange_calendars and evaluating its holiday rules), paid by
    every stage that asks for trade dates; the memo is the library's own result, stored exactly (int64
    nanoseconds) under a name that holds the exchange_calendars and pandas versions, so an upgrade builds anew.
    """
    path = _memo_path(first_year, last_year)
    nyse = _read_memo(path) if path is not None else None
    if nyse is None:
        nyse = _build_xnys(first_year, last_year)
        if path is not None:
            _write_memo(path, nyse)
    return nyse


def _build_xnys(first_year: int, last_year: int) -> _Nyse:
    # Imported here: 0.2-0.3 s that the stages which never build a calendar (train, evaluate, backtest) skip.
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads tz-aware Series.values, which pandas 3.1 deprecates (Pandas4Warning);
        # harmless for the values it builds, and not ours to fix.
        warnings.simplefilter("ignore", category=pd.errors.Pandas4Warning)
        xnys = xcals.get_calendar("XNYS", start=f"{first_year}-01-01", end=f"{last_year}-12-31")
    closes = pd.DatetimeIndex(xnys.schedule["close"]).tz_convert("UTC").as_unit("ns").asi8
    return _from_arrays(xnys.sessions.as_unit("ns").asi8, closes)


def _from_arrays(sessions: np.ndarray, closes: np.ndarray) -> _Nyse:
    """The calendar from int64 nanoseconds, built the same way whether just computed or read from the memo (so
    no attribute, such as the index's business-day ``freq``, differs between the two)."""
    days = pd.DatetimeIndex(sessions.view("datetime64[ns]"))
    close = pd.DatetimeIndex(closes.view("datetime64[ns]")).tz_localize("UTC")
    return _Nyse(days, pd.DataFrame({"close": close}, index=days))


MEMO_ENV = "ALMANAC_CACHE_DIR"
"""Environment variable naming the folder of the calendar memo; set to an empty string to turn the memo off."""


def memo_dir() -> Path | None:
    """Folder of the NYSE calendar memo: ``$ALMANAC_CACHE_DIR`` or the user's cache folder (``platformdirs``).

    ``None`` when ``ALMANAC_CACHE_DIR`` is set empty (no memo: every process builds the calendar).
    """
    configured = os.environ.get(MEMO_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    import platformdirs  # a DVC dependency; imported only here

    return Path(platformdirs.user_cache_dir("almanac"))


def _memo_path(first_year: int, last_year: int) -> Path | None:
    folder = memo_dir()
    if folder is None:
        return None
    from importlib.metadata import version

    return folder / f"xnys-{first_year}-{last_year}-xcals{version('exchange_calendars')}-pandas{pd.__version__}.npz"


def _read_memo(path: Path) -> _Nyse | None:
    """The memo at ``path``, or ``None`` when it is missing or unreadable (then it is built and written anew)."""
    try:
        with np.load(path, allow_pickle=False) as memo:
            sessions, closes = memo["sessions"], memo["closes"]
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    ok = sessions.dtype == closes.dtype == np.int64 and sessions.shape == closes.shape and len(sessions) > 0
    if not ok or not (np.all(np.diff(sessions) > 0) and np.all(closes > sessions)):
        return None
    return _from_arrays(sessions, closes)


def _write_memo(path: Path, nyse: _Nyse) -> None:
    """Store ``nyse`` at ``path`` (written aside and renamed: concurrent stages never read half a file); a folder
    that cannot be written only costs the next process the build."""
    sessions, closes = nyse.sessions.asi8, pd.DatetimeIndex(nyse.schedule["close"]).asi8
    try:
        with atomic_path(path) as temporary, open(temporary, "wb") as out:
            np.savez(out, sessions=sessions, closes=closes)
    except OSError:
        return


_BUILT: list[tuple[int, int]] = []  # year ranges of the calendars built so far (each ~0.3 s to build)


def _calendar_for(start: pd.Timestamp, end: pd.Timestamp) -> _Nyse:
    # Cache by whole years (with a margin), and reuse any calendar already built that covers the request, so
    # the session table (years of history) and one day's cutoff share one calendar object.
    first, last = max(start.year - 1, 1990), end.year + 1
    for lo, hi in _BUILT:
        if lo <= first and last <= hi:
            return _xnys(lo, hi)
    _BUILT.append((first, last))
    return _xnys(first, last)


def prepare_calendar(start, end) -> None:
    """Build the NYSE calendar covering ``[start, end]`` now, so that later calls on any sub-range reuse it.

    For a caller about to query many short ranges inside a long one (the look-ahead audit's windows, each a
    year and a half): without it every range no calendar built so far covers builds its own (~0.3 s each).
    """
    _calendar_for(pd.Timestamp(start), pd.Timestamp(end))


def trading_days(start, end) -> pd.DatetimeIndex:
    """NYSE trading days in ``[start, end]`` as a tz-naive ``DatetimeIndex`` at midnight."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    sessions = _calendar_for(start, end).sessions
    return pd.DatetimeIndex(sessions[(sessions >= start) & (sessions <= end)], name="trade_date").as_unit("s")


def wall_clock_ns(ts, tz: str) -> np.ndarray:
    """Wall-clock time in ``tz`` of tz-aware timestamps ``ts`` (no NaT) as int64 nanoseconds since local 1970-01-01
    00:00, by pandas' conversion: ``// BAR_NS % 1440`` is the minute of the day, ``// DAY_NS`` the local date."""
    # Converted once for every field: pandas' .hour, .minute and .normalize() each convert the whole array again.
    return pd.DatetimeIndex(ts).tz_convert(tz).tz_localize(None).as_unit("ns").asi8


DAY_NS = 1440 * BAR_NS


def _minutes_ct(ts_utc: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    wall = wall_clock_ns(ts_utc, CT)
    return (wall // DAY_NS).astype("datetime64[D]"), wall // BAR_NS % 1440


def assign_trade_dates(ts_utc) -> np.ndarray:
    """Trade date (``datetime64[D]``) of each bar start ``ts_utc`` (tz-aware).  Vectorised.

    A bar at or after its era's boundary (17:00 CT; 15:30 CT before 2012-11-19) belongs to the next calendar
    day, and any date that is not an NYSE trading day rolls forward to the next one (weekend and holiday
    segments).  The input is not modified.
    """
    index = pd.DatetimeIndex(ts_utc)
    if index.tz is None:
        raise ValueError("assign_trade_dates needs timezone-aware timestamps (UTC)")
    if len(index) == 0:
        return np.array([], dtype="datetime64[D]")
    days, minutes = _minutes_ct(index)
    boundary = np.full(len(days), 17 * 60, dtype=np.int64)
    old = days < np.datetime64(ERAS[1].first_date, "D")
    boundary[old] = ERAS[0].boundary_ct.hour * 60 + ERAS[0].boundary_ct.minute
    candidate = days + (minutes >= boundary).astype("timedelta64[D]")
    lo, hi = pd.Timestamp(candidate.min()), pd.Timestamp(candidate.max()) + pd.Timedelta(days=10)
    sessions = trading_days(lo, hi).to_numpy().astype("datetime64[D]")
    # The position of every calendar day of the span, then one lookup per bar (no binary search per bar).
    span = np.arange(candidate.min(), candidate.max() + np.timedelta64(1, "D"))
    pos = np.searchsorted(sessions, span, side="left")[(candidate - span[0]).astype(np.int64)]
    if (pos >= len(sessions)).any():
        raise ValueError("bars fall after the last NYSE trading day known to exchange_calendars")
    return sessions[pos]


def rth_sessions(start, end, *, rth: tuple[dt.time, dt.time] | None = None) -> pd.DataFrame:
    """RTH window of every NYSE trading day in ``[start, end]``.

    ``rth`` is the instrument's window in ET (``Instrument.rth``); default the equity indices' 09:30-16:00.  On an
    NYSE half day the window ends at the NYSE early close (normally 13:00 ET) when that comes first: exact for
    the equity indices, an approximation for other hours (the exchanges' own early closes differ by minutes).
    Returns a frame indexed by ``trade_date`` (tz-naive midnight) with ``rth_open_utc`` and ``rth_close_utc``
    (tz-aware UTC) and ``half_day`` (True on NYSE early closes).
    """
    return _rth_sessions(pd.Timestamp(start), pd.Timestamp(end), rth).copy()


@functools.lru_cache(maxsize=32)
def _rth_sessions(start: pd.Timestamp, end: pd.Timestamp, rth: tuple[dt.time, dt.time] | None) -> pd.DataFrame:
    # Cached (callers get a copy): the session table, each feature family and the look-ahead audit's windows ask
    # for the same range several times in one run.
    opens, closes = rth or (RTH_OPEN_ET, RTH_CLOSE_ET)
    schedule = _calendar_for(start, end).schedule
    schedule = schedule[(schedule.index >= start) & (schedule.index <= end)]
    dates = pd.DatetimeIndex(schedule.index, name="trade_date").as_unit("s")
    nyse_close = pd.DatetimeIndex(schedule["close"].dt.tz_convert("UTC")).as_unit("s")
    close_et = nyse_close.tz_convert(ET)
    out = pd.DataFrame(
        {
            "rth_open_utc": local_instants(dates, opens),
            "rth_close_utc": np.minimum(local_instants(dates, closes), nyse_close),
        },
        index=dates,
    )
    out["half_day"] = (close_et.hour * 60 + close_et.minute) < 16 * 60
    return out


def local_instants(trade_dates, wall_time: dt.time, tz: str = ET) -> pd.DatetimeIndex:
    """``wall_time`` in ``tz`` on each trade date, as tz-aware UTC instants (DST-correct)."""
    dates = pd.DatetimeIndex(trade_dates).tz_localize(None).normalize()
    offset = pd.Timedelta(hours=wall_time.hour, minutes=wall_time.minute)
    return (dates + offset).tz_localize(tz).tz_convert("UTC").as_unit("s")


def cutoff_instants(trade_dates, cutoff: dt.time, *, rth: tuple[dt.time, dt.time] | None = None) -> pd.DatetimeIndex:
    """The decision cutoff (ET wall-clock) of each trade date as a UTC instant.

    A bar may be used at the cutoff only if ``ts + 1 minute <= cutoff``.  On half days a cutoff after the early
    close is clipped to the close (of the RTH window ``rth``, as in :func:`rth_sessions`).
    """
    dates = pd.DatetimeIndex(trade_dates)
    if len(dates) == 0:
        return pd.DatetimeIndex([], dtype="datetime64[s, UTC]", name="cutoff_utc")
    # Cached by the dates' values, like rth_sessions: the same trade dates are asked for several times in a run.
    key = (dates.asi8.tobytes(), str(dates.dtype), cutoff, rth)
    if key not in _CUTOFFS:
        if len(_CUTOFFS) >= 32:
            _CUTOFFS.pop(next(iter(_CUTOFFS)))  # the oldest
        _CUTOFFS[key] = _cutoff_instants(dates, cutoff, rth)
    return _CUTOFFS[key].copy()  # a new index object (its name may be set), sharing the immutable values


_CUTOFFS: dict[tuple, pd.DatetimeIndex] = {}


def _cutoff_instants(dates: pd.DatetimeIndex, cutoff: dt.time, rth) -> pd.DatetimeIndex:
    instants = local_instants(dates, cutoff)
    windows = rth_sessions(dates.min(), dates.max(), rth=rth).reindex(dates.tz_localize(None).normalize())
    if windows["rth_close_utc"].isna().any():
        missing = dates[windows["rth_close_utc"].isna().to_numpy()]
        raise ValueError(f"not NYSE trading days: {', '.join(str(d.date()) for d in missing[:5])}")
    close = pd.DatetimeIndex(windows["rth_close_utc"])
    return pd.DatetimeIndex(np.minimum(instants, close), name="cutoff_utc")


def globex_open_utc(trade_dates) -> pd.Series:
    """Globex open of each trade date (the era's open time, CT, on the calendar day before), as UTC.

    NaT before the 2012-11-19 era, whose Sunday and holiday openings followed other times.
    """
    dates = pd.DatetimeIndex(trade_dates).tz_localize(None).normalize().as_unit("s")
    era = ERAS[1]
    wall = pd.Timedelta(hours=era.open_ct.hour, minutes=era.open_ct.minute)
    opens = (dates - pd.Timedelta(days=1) + wall).tz_localize(CT).tz_convert("UTC")
    return pd.Series(opens, index=dates).where(dates >= pd.Timestamp(era.first_date))


def globex_sessions(trade_dates) -> pd.DataFrame:
    """Globex trading window of each trade date (used by the synthetic market).

    Columns ``open_utc``, ``close_utc``, ``pause_start_utc``, ``pause_end_utc`` (NaT when the era has no pause).
    The session opens at the era's open time on the calendar day before the trade date and closes at the era's
    close; on NYSE half days Globex closes 15 minutes after the early RTH close.  Holiday-morning segments are
    not modelled (the synthetic market does not trade them).
    """
    dates = pd.DatetimeIndex(trade_dates).tz_localize(None).normalize().as_unit("s")
    columns = ["open_utc", "close_utc", "pause_start_utc", "pause_end_utc"]
    if len(dates) == 0:
        empty = pd.DatetimeIndex([], dtype="datetime64[s, UTC]")
        return pd.DataFrame(
            {c: empty for c in columns}, index=pd.DatetimeIndex([], dtype="datetime64[s]", name="trade_date")
        )
    if dates.min() < pd.Timestamp(ERAS[1].first_date):
        raise ValueError("globex_sessions supports trade dates from 2012-11-19 on (the 17:00 CT open eras)")
    rth = rth_sessions(dates.min(), dates.max()).reindex(dates)
    if rth["rth_open_utc"].isna().any():
        bad = dates[rth["rth_open_utc"].isna().to_numpy()][:5]
        raise ValueError(f"not NYSE trading days: {', '.join(str(d.date()) for d in bad)}")
    modern = dates >= pd.Timestamp(ERAS[2].first_date)
    e2, e3 = ERAS[1], ERAS[2]

    def wall(t: dt.time) -> pd.Timedelta:
        return pd.Timedelta(hours=t.hour, minutes=t.minute)

    open_utc = (dates - pd.Timedelta(days=1) + wall(e2.open_ct)).tz_localize(CT).tz_convert("UTC")
    close_minutes = np.where(
        modern, wall(e3.close_ct) // pd.Timedelta(minutes=1), wall(e2.close_ct) // pd.Timedelta(minutes=1)
    )
    close_local = dates + pd.to_timedelta(close_minutes, unit="min")
    close_utc = pd.DatetimeIndex(close_local).tz_localize(CT).tz_convert("UTC")
    half = rth["half_day"].to_numpy(dtype=bool)
    early = pd.DatetimeIndex(rth["rth_close_utc"]) + pd.Timedelta(minutes=15)
    close_utc = pd.DatetimeIndex(np.where(half, early, close_utc))
    has_pause = ~modern & ~half
    pause_start = pd.DatetimeIndex((dates + wall(e2.pause_ct[0])).tz_localize(CT).tz_convert("UTC"))
    pause_end = pd.DatetimeIndex((dates + wall(e2.pause_ct[1])).tz_localize(CT).tz_convert("UTC"))
    out = pd.DataFrame(
        {
            "open_utc": open_utc.as_unit("s"),
            "close_utc": close_utc.as_unit("s"),
            "pause_start_utc": pause_start.where(has_pause).as_unit("s"),
            "pause_end_utc": pause_end.where(has_pause).as_unit("s"),
        },
        index=pd.DatetimeIndex(dates, name="trade_date"),
    )
    return out
