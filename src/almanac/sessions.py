"""The daily session table: one row per trade date, built from canonical minute bars.

Columns (docs/data_contracts.md):

* ``open, high, low, close, volume``: RTH of the trade date, in the instrument's window (``instruments.yaml``:
  09:30-16:00 ET for the equity indices, 09:00-14:30 for CL), or to the NYSE early close on half days;
* ``eth_open, eth_high, eth_low, eth_close, eth_volume``: the overnight session, i.e. the trade date's bars
  before the RTH open;
* ``prev_close``: the previous trade date's RTH close *in the same contract* (on a roll day the old contract's
  close plus the carry gap recorded at the roll, so the overnight gap is not polluted by the roll);
* ``cutoff_price``: close of the last bar that ends at or before the cutoff (``ts + 1 min <= cutoff``), and
  only if at least one RTH bar ends by then (an overnight price is never a cutoff price);
* ``half_day`` (NYSE early close), ``roll_day`` (first trade date on a new contract), ``contract``,
  ``rth_bars`` (number of RTH bars; 0 means no RTH data that day and NaN RTH prices);
* ``partial``: why the session is incomplete, ``''`` when it is not: ``no bars`` (an NYSE trading day inside
  the data with no bar at all), ``no RTH bars``, ``starts after the Globex open`` (first bar more than
  :data:`LATE_MINUTES` after it; judged from the 2012-11-19 session era on), ``ends before the close`` (last bar
  ends more than :data:`LATE_MINUTES` before the RTH close: a day not finished yet, or a file that stops).

There is a row for every NYSE trading day from the first to the last trade date with bars, so "the previous
session" is the previous trading day, never the last day that happens to have data: after a day without bars
``prev_close`` is NaN.  What a partial session cannot know is NaN too: the RTH ``high, low, close`` of a
session that ends before the close (so it is never labelled), the overnight ``eth_*`` values of one that starts
after the Globex open.

All reductions are grouped (no Python loop per day); inputs are not modified.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from almanac import calendar, schemas
from almanac.config import DEFAULTS
from almanac.instruments import instrument, root_of, root_of_all

LATE_MINUTES = 15  # how far the first (last) bar may start after the Globex open (end before the RTH close)


def _by_day(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    grouped = frame.groupby("trade_date", sort=True)
    out = pd.DataFrame(
        {
            f"{prefix}open": grouped["open"].first(),
            f"{prefix}high": grouped["high"].max(),
            f"{prefix}low": grouped["low"].min(),
            f"{prefix}close": grouped["close"].last(),
            f"{prefix}volume": grouped["volume"].sum(),
        }
    )
    return out


def rth_window(symbol: str | None = None) -> tuple[dt.time, dt.time]:
    """The RTH window (ET) of ``symbol`` from the instrument table; default ``data.symbol``'s."""
    return instrument(symbol or DEFAULTS.data.symbol).rth


def symbol_of(bars: pd.DataFrame) -> str:
    """The instrument of canonical bars, from their contract codes (``ESM24``, ``CL-continuous``): bars know
    their market, so nothing downstream needs ``data.symbol`` passed beside them.  Default ``data.symbol``'s
    when there are no bars."""
    if len(bars) == 0:
        return DEFAULTS.data.symbol
    return root_of(str(bars["contract"].iloc[0]))


def traded_symbol(frame: pd.DataFrame) -> str:
    """The one instrument whose contracts ``frame`` (a session table, bars, out-of-fold rows) names in its
    ``contract`` column (``ESH25``, ``NQM24``, ``CL-continuous``), so that defaults that depend on the instrument
    (dollars a point, tick, RTH window) follow the data.  ``data.symbol``'s default when ``frame`` has no
    ``contract`` column or no contract (days without bars have none).

    Raises ``ValueError`` naming the roots when the contracts belong to several instruments, or the contract when
    its instrument is not in ``instruments.yaml``.
    """
    if "contract" not in frame.columns:
        return DEFAULTS.data.symbol
    return root_of_all(pd.unique(frame["contract"].dropna())) or DEFAULTS.data.symbol


def session_windows(trade_dates, cutoff: dt.time, *, symbol: str | None = None) -> pd.DataFrame:
    """RTH open/close of ``symbol`` (default ``data.symbol``'s) and the cutoff instant (UTC) for each trade date,
    indexed by ``trade_date``."""
    dates = pd.DatetimeIndex(np.unique(np.asarray(trade_dates, dtype="datetime64[s]")))
    window = rth_window(symbol)
    rth = calendar.rth_sessions(dates.min(), dates.max(), rth=window).reindex(dates)
    if rth["rth_open_utc"].isna().any():
        bad = dates[rth["rth_open_utc"].isna().to_numpy()][:5]
        raise ValueError(f"trade dates that are not NYSE trading days: {', '.join(str(d.date()) for d in bad)}")
    rth["cutoff_utc"] = calendar.cutoff_instants(dates, cutoff, rth=window)
    rth.index.name = "trade_date"
    return rth


def indexed_by_trade_date(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by ``trade_date`` (whether that is a column or already the index)."""
    return frame.set_index("trade_date") if "trade_date" in frame.columns else frame


def bar_masks(bars: pd.DataFrame, windows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks over ``bars`` for their own trade date's windows: (RTH, overnight before the RTH open,
    usable at the cutoff).  ``windows`` as returned by :func:`session_windows`."""
    # Each bar's window row looked up once for the three columns (not a reindex per column); a trade date
    # without a window gets NaT's integer, as a reindex gives.
    row = windows.index.get_indexer(pd.DatetimeIndex(bars["trade_date"]))

    def per_bar(column: str) -> np.ndarray:
        values = np.append(calendar.epoch_ns(windows[column]), np.iinfo(np.int64).min)
        return values[row]  # row -1 (no window) reads the appended NaT

    rth_open, rth_close, cut = per_bar("rth_open_utc"), per_bar("rth_close_utc"), per_bar("cutoff_utc")
    ts = calendar.epoch_ns(bars["ts"])
    return (ts >= rth_open) & (ts < rth_close), ts < rth_open, calendar.usable_at(ts, cut)


_ETH = ("open", "high", "low", "close")


def _partial(bars: pd.DataFrame, windows: pd.DataFrame, rth_bars: pd.Series) -> pd.Series:
    """The ``partial`` column: the reasons a session is incomplete, joined by ``'; '`` (``''`` = complete)."""
    grouped = bars.groupby("trade_date")["ts"]
    first = grouped.min().reindex(windows.index)
    last = grouped.max().reindex(windows.index)
    late = pd.Timedelta(minutes=LATE_MINUTES)
    open_utc = calendar.globex_open_utc(windows.index)
    reasons = {
        "no bars": first.isna(),
        "no RTH bars": first.notna() & (rth_bars == 0),
        "starts after the Globex open": (first > open_utc + late).fillna(False),
        "ends before the close": (last + pd.Timedelta(minutes=1) < windows["rth_close_utc"] - late).fillna(False),
    }
    out = pd.Series("", index=windows.index, dtype="str")
    for reason, mask in reasons.items():  # four reasons, each vectorised over the days
        mask = mask.to_numpy(dtype=bool)
        out = out.mask(mask, np.where(out == "", reason, out + "; " + reason))
    return out


def _roll_gaps(roll_day: pd.Series, rolls: list[dict] | None) -> pd.Series:
    """What to add to the previous RTH close to express it in the day's contract: the carry gap recorded at each
    roll (``gap_pts``), 0 on other days."""
    # A roll whose carry gap is unknown leaves prev_close NaN on that day rather than a spliced, untradable gap.
    gap = pd.Series(np.where(roll_day, np.nan, 0.0), index=roll_day.index)
    for roll in rolls or []:  # one entry per roll (a few a year)
        when = pd.Timestamp(roll["trade_date"])
        if when in gap.index and roll.get("gap_pts") is not None:
            gap.loc[when] = float(roll["gap_pts"])
    return gap


COLUMNS = ("trade_date", "open", "high", "low", "close", "volume", "eth_open", "eth_high", "eth_low", "eth_close",
           "eth_volume", "prev_close", "cutoff_price", "half_day", "roll_day", "contract", "rth_bars", "partial")  # fmt: skip
"""The session table's columns, in order (the module docstring says what each holds)."""


def build_sessions(
    bars: pd.DataFrame, cutoff: dt.time | None = None, rolls: list[dict] | None = None, *, symbol: str | None = None
) -> pd.DataFrame:
    """Aggregate canonical minute bars into the session table described in the module docstring.

    Parameters
    ----------
    bars : DataFrame
        Canonical minute bars: ``ts`` (UTC bar start), ``open, high, low, close, volume, contract, trade_date``,
        sorted by ``ts``; as ``load_bars`` returns them or ``pd.read_parquet``/``pd.read_csv`` reads them
        (:mod:`almanac.schemas`).  Not modified.
    cutoff : datetime.time or str, optional
        ET decision time of ``cutoff_price`` (``'10:15'`` works too); default ``features.cutoff`` of the schema.
    rolls : list of dict, optional
        The manifest's roll list (``trade_date``, ``gap_pts``) used to express ``prev_close`` in the new
        contract on roll days.
    symbol : str, optional
        The instrument whose RTH window the sessions use; default the bars' own (:func:`symbol_of`).

    Returns
    -------
    DataFrame
        One row per trade date, columns as in the module docstring.

    Raises
    ------
    almanac.schemas.InputError
        ``bars`` break their data contract (a missing column, naive timestamps, unsorted rows) or ``cutoff`` is
        not ``HH:MM``.
    KeyError
        ``symbol`` (or the bars' contract root) is not in ``instruments.yaml``.

    Examples
    --------
    >>> import almanac
    >>> data = almanac.load_bars(almanac.DataParams(start="2024-03-04", end="2024-03-08"))
    >>> sessions = almanac.build_sessions(data.bars, rolls=data.manifest["rolls"])
    >>> print(sessions[["trade_date", "roll_day", "contract"]].tail(2).to_string(index=False))
    trade_date  roll_day contract
    2024-03-07      True    ESM24
    2024-03-08     False    ESM24
    """
    bars = schemas.table(bars, schemas.BARS, fn="build_sessions", arg="bars", sort_by="ts")
    cutoff = schemas.cutoff(cutoff, fn="build_sessions") or DEFAULTS.features.cutoff_time
    if bars.empty:
        raise ValueError("no bars to build sessions from")
    days = calendar.trading_days(bars["trade_date"].min(), bars["trade_date"].max())
    foreign = pd.DatetimeIndex(bars["trade_date"].unique()).difference(days)
    if len(foreign):
        raise ValueError(f"trade dates that are not NYSE trading days: {', '.join(str(d.date()) for d in foreign[:5])}")
    windows = session_windows(days, cutoff, symbol=symbol or symbol_of(bars))
    in_rth, overnight, usable = bar_masks(bars, windows)

    # Each selection copies only the columns it aggregates (not the contract codes and stamps of 3 M bars).
    ohlcv = bars[["trade_date", "open", "high", "low", "close", "volume"]]
    rth_rows = ohlcv.loc[in_rth]
    out = pd.DataFrame(index=windows.index)
    out = out.join(_by_day(rth_rows, "")).join(_by_day(ohlcv.loc[overnight], "eth_"))
    out["rth_bars"] = rth_rows.groupby("trade_date").size().reindex(out.index).fillna(0).astype(np.int64)
    rth_by_cutoff = ohlcv.loc[in_rth & usable, ["trade_date"]].groupby("trade_date").size()
    rth_by_cutoff = rth_by_cutoff.reindex(out.index).fillna(0)
    out["cutoff_price"] = (
        ohlcv.loc[usable, ["trade_date", "close"]]
        .groupby("trade_date")["close"]
        .last()
        .reindex(out.index)
        .where(rth_by_cutoff > 0)
    )
    out["contract"] = bars.groupby("trade_date")["contract"].first().reindex(out.index)
    out["partial"] = _partial(bars, windows, out["rth_bars"])
    out.loc[out["partial"].str.contains("ends before the close"), ["high", "low", "close"]] = np.nan
    out.loc[out["partial"].str.contains("starts after the Globex open"), [f"eth_{k}" for k in _ETH]] = np.nan
    out["half_day"] = windows["half_day"].astype(bool)
    out["roll_day"] = out["contract"].ne(out["contract"].shift(1)) & out["contract"].shift(1).notna()

    out["prev_close"] = out["close"].shift(1) + _roll_gaps(out["roll_day"], rolls)
    volume_cols = ["volume", "eth_volume"]
    out[volume_cols] = out[volume_cols].fillna(0).astype(np.int64)
    out["partial"] = out["partial"].astype("str")
    out.index = pd.DatetimeIndex(out.index, name="trade_date")
    return out.reset_index()[list(COLUMNS)]
