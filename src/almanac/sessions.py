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


def _run_starts(values: np.ndarray) -> np.ndarray:
    """The positions where a run of equal consecutive values starts (a few thousand trade dates over millions of
    sorted bars): what the per-day work below looks up once per run instead of once per bar."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))


def day_rows(bars: pd.DataFrame, windows: pd.DataFrame) -> np.ndarray:
    """Each bar's row in ``windows`` (its trade date's position in ``windows.index``; -1 when absent)."""
    dates = bars["trade_date"].to_numpy()
    if len(dates) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = _run_starts(dates)
    found = windows.index.get_indexer(pd.DatetimeIndex(dates[starts]))
    return np.repeat(found.astype(np.int64), np.diff(np.append(starts, len(dates))))


def bar_dates(bars: pd.DataFrame) -> np.ndarray:
    """The distinct trade dates of ``bars``, sorted (``datetime64[s]``): ``np.unique`` of one date per run of
    equal dates, not a hash of every bar's."""
    dates = bars["trade_date"].to_numpy()
    return np.unique(dates[_run_starts(dates)])


def bar_masks(
    bars: pd.DataFrame, windows: pd.DataFrame, *, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks over ``bars`` for their own trade date's windows: (RTH, overnight before the RTH open,
    usable at the cutoff).  ``windows`` as returned by :func:`session_windows`; ``rows`` as :func:`day_rows`
    returns them (computed when not given)."""
    row = day_rows(bars, windows) if rows is None else rows
    ts = calendar.epoch_ns(bars["ts"])
    if len(ts) > 1 and (ts[1:] > ts[:-1]).all():
        return _sorted_bar_masks(ts, row, windows)
    # Each bar's window row looked up once for the three columns (not a reindex per column); a trade date
    # without a window gets NaT's integer, as a reindex gives.

    def per_bar(column: str) -> np.ndarray:
        values = np.append(calendar.epoch_ns(windows[column]), np.iinfo(np.int64).min)
        return values[row]  # row -1 (no window) reads the appended NaT

    rth_open, rth_close, cut = per_bar("rth_open_utc"), per_bar("rth_close_utc"), per_bar("cutoff_utc")
    return (ts >= rth_open) & (ts < rth_close), ts < rth_open, calendar.usable_at(ts, cut)


def _sorted_bar_masks(ts: np.ndarray, row: np.ndarray, windows: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """:func:`bar_masks` of bars in strictly increasing time: within each run of bars of one trade date the RTH
    open, RTH close and cutoff are three positions found by binary search, and each mask is runs of True and
    False (the same masks as comparing every bar with its window, without gathering three windows per bar)."""
    n, nat = len(ts), np.iinfo(np.int64).min
    starts = _run_starts(row)
    ends = np.append(starts[1:], n)

    def position(column: str, side: str = "left", shift: int = 0) -> np.ndarray:
        """Per run: the first bar at or after (``side='right'``: after) the run's window instant minus
        ``shift``, within the run; the run's start where the instant is NaT or the run has no window."""
        instant = np.append(calendar.epoch_ns(windows[column]), nat)[row[starts]]
        found = np.searchsorted(ts, np.where(instant == nat, nat, instant - shift), side=side)
        return np.where(instant == nat, starts, np.clip(found, starts, ends))

    # A NaT open puts the run's start: every bar is at or after it (and none before it), as the comparisons say.
    rth_open, cut = position("rth_open_utc"), position("cutoff_utc", "right", calendar.BAR_NS)
    rth_close = np.maximum(position("rth_close_utc"), rth_open)

    def runs(*bounds: np.ndarray, first: bool) -> np.ndarray:
        """True/False alternating (starting with ``first``) over the pieces between consecutive ``bounds``."""
        edges = np.stack([starts, *bounds, ends], axis=1)
        values = np.tile(np.arange(len(bounds) + 1) % 2 == (0 if first else 1), len(starts))
        return np.repeat(values, np.diff(edges, axis=1).ravel())

    return runs(rth_open, rth_close, first=False), runs(rth_open, first=True), runs(cut, first=True)


class DayGroups:
    """Rows grouped by their trade date's position (``rows``, as :func:`day_rows` gives them; -1 = no day), for
    the reductions pandas' ``groupby("trade_date")`` makes, with the same values: ``first``/``last`` (in row
    order), ``max``/``min``, ``size`` and integer ``sum``, NaN skipped as pandas skips it, one value per day of
    ``n_days`` (``fill`` where a day has no row, as a reindex gives).

    Sorted bars have their days in contiguous runs: each reduction is then one ``reduceat`` over the runs, with no
    factorising, sorting or hashing of millions of keys (pandas' groupby spent most of the sessions stage there).
    Rows out of day order are put in order first (a stable sort: each day's rows keep their order).  A group's
    ``max``/``min`` of signed zeros may differ from pandas' in the sign of the zero (prices are positive).
    """

    def __init__(self, rows: np.ndarray, n_days: int) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0 or (rows[0] >= 0 and bool(np.all(rows[1:] >= rows[:-1]))):
            self.order = None
        else:
            kept = np.flatnonzero(rows >= 0)
            self.order = kept[np.argsort(rows[kept], kind="stable")]
            rows = rows[self.order]
        self.rows, self.n_days = rows, n_days
        self.starts = _run_starts(rows)
        self.day = rows[self.starts]

    def _ordered(self, values: np.ndarray) -> tuple[DayGroups, np.ndarray]:
        values = np.asarray(values)
        values = values if self.order is None else values[self.order]
        if values.dtype.kind == "f":
            known = ~np.isnan(values)
            if not known.all():  # NaN skipped, as pandas' grouped reductions skip it
                return DayGroups(self.rows[known], self.n_days), values[known]
        return self, values

    def _spread(self, per_day: np.ndarray, fill) -> np.ndarray:
        out = np.full(self.n_days, fill, dtype=np.result_type(per_day.dtype, np.asarray(fill).dtype))
        out[self.day] = per_day
        return out

    def first_position(self) -> np.ndarray:
        """The position (in the rows given) of each day's first row; -1 for a day without rows."""
        return self._spread(self.starts if self.order is None else self.order[self.starts], -1)

    def first(self, values: np.ndarray, fill=np.nan) -> np.ndarray:
        """Each day's first non-NaN value."""
        groups, values = self._ordered(values)
        return groups._spread(values[groups.starts], fill)

    def last(self, values: np.ndarray, fill=np.nan) -> np.ndarray:
        """Each day's last non-NaN value."""
        groups, values = self._ordered(values)
        ends = np.append(groups.starts[1:], len(values)) if len(values) else groups.starts
        return groups._spread(values[ends - 1], fill)

    def max(self, values: np.ndarray, fill=np.nan) -> np.ndarray:
        """Each day's largest value (NaN skipped)."""
        groups, values = self._ordered(values)
        per_day = np.maximum.reduceat(values, groups.starts) if len(values) else values
        return groups._spread(per_day, fill)

    def min(self, values: np.ndarray, fill=np.nan) -> np.ndarray:
        """Each day's smallest value (NaN skipped)."""
        groups, values = self._ordered(values)
        per_day = np.minimum.reduceat(values, groups.starts) if len(values) else values
        return groups._spread(per_day, fill)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Each day's sum of integers (0 for a day without rows), exact in int64."""
        values = np.asarray(values)
        if values.dtype.kind not in "iub":
            raise TypeError(f"DayGroups.sum adds integers, got {values.dtype}")
        values = (values if self.order is None else values[self.order]).astype(np.int64, copy=False)
        return self._spread(np.add.reduceat(values, self.starts) if len(values) else values, 0)

    def size(self) -> np.ndarray:
        """Each day's number of rows (0 for a day without rows)."""
        return self._spread(np.diff(np.append(self.starts, len(self.rows))), 0)


_ETH = ("open", "high", "low", "close")


def _partial(ts: np.ndarray, groups: DayGroups, windows: pd.DataFrame, rth_bars: pd.Series) -> pd.Series:
    """The ``partial`` column: the reasons a session is incomplete, joined by ``'; '`` (``''`` = complete).

    ``ts``: the bars' stamps in epoch nanoseconds, grouped by ``groups`` (all bars by day)."""

    def stamps(values: np.ndarray) -> pd.Series:
        return pd.Series(pd.DatetimeIndex(values.view("M8[ns]")).tz_localize("UTC"), index=windows.index)

    nat = np.iinfo(np.int64).min
    first, last = stamps(groups.min(ts, fill=nat)), stamps(groups.max(ts, fill=nat))
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


def _first_contract(contract: pd.Series, groups: DayGroups, days: pd.Index) -> pd.Series:
    """Each day's first contract code as text (``str``; NaN on a day without one), whether ``contract`` is text
    or categorical (the stage reads it as categories: no string per bar); ``groups``: all the bars by day."""
    known = contract.notna().to_numpy()
    if known.all():
        first = groups.first_position()
    else:  # a day's first code that is not missing, as pandas' first() takes it
        first = groups.first(np.where(known, np.arange(len(known)), np.nan))
        first = np.where(np.isnan(first), -1, first).astype(np.int64)
    taken = contract.iloc[np.maximum(first, 0)].astype("str")
    return taken.set_axis(days).where(first >= 0)


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
    dates = bar_dates(bars)
    days = calendar.trading_days(pd.Timestamp(dates[0]), pd.Timestamp(dates[-1]))
    foreign = pd.DatetimeIndex(dates).difference(days)
    if len(foreign):
        raise ValueError(f"trade dates that are not NYSE trading days: {', '.join(str(d.date()) for d in foreign[:5])}")
    windows = session_windows(days, cutoff, symbol=symbol or symbol_of(bars))
    n_days = len(windows)
    rows = day_rows(bars, windows)
    in_rth, overnight, usable = bar_masks(bars, windows, rows=rows)
    # Grouped on the arrays (DayGroups), each selection taking only the column it reduces.
    prices = {k: bars[k].to_numpy() for k in ("open", "high", "low", "close")}
    volume = bars["volume"].to_numpy()
    columns = {}
    for prefix, mask in (("", in_rth), ("eth_", overnight)):
        groups = DayGroups(rows[mask], n_days)
        columns[f"{prefix}open"] = groups.first(prices["open"][mask])
        columns[f"{prefix}high"] = groups.max(prices["high"][mask])
        columns[f"{prefix}low"] = groups.min(prices["low"][mask])
        columns[f"{prefix}close"] = groups.last(prices["close"][mask])
        columns[f"{prefix}volume"] = groups.sum(volume[mask])
        if not prefix:
            columns["rth_bars"] = groups.size()
    out = pd.DataFrame(columns, index=windows.index)
    rth_by_cutoff = DayGroups(rows[in_rth & usable], n_days).size()
    cutoff_price = DayGroups(rows[usable], n_days).last(prices["close"][usable])
    out["cutoff_price"] = np.where(rth_by_cutoff > 0, cutoff_price, np.nan)
    everyday = DayGroups(rows, n_days)
    out["contract"] = _first_contract(bars["contract"], everyday, windows.index)
    out["partial"] = _partial(calendar.epoch_ns(bars["ts"]), everyday, windows, out["rth_bars"])
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
