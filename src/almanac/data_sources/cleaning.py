"""Checks and repairs of the bars read from vendor files, in the order the files source applies them.

Checks refuse what cannot be read safely, naming the file, the line, the column and what to do: bars that are not
1-minute bars on whole minutes, missing, non-positive or off-tick prices, inconsistent OHLC, fractional or negative
volumes, another market's prices.  Repairs are made only where the intent is unambiguous, and each is counted in
the manifest's ``repairs``: rows put back in time order, identical duplicate bars removed (conflicting ones are an
error), bad prints dropped (``data.bad_prints: drop``), trade dates of coarser RTH bars dropped
(``data.coarse_days: drop``).  ``repairs`` is the caller's dict of counts, updated in place; no input frame is
modified.
"""

from __future__ import annotations

from pathlib import Path
from warnings import warn  # `warnings` is the manifest's list here

import numpy as np
import pandas as pd

from almanac import calendar
from almanac.config import DataParams
from almanac.data_sources.validation import coarse_days
from almanac.errors import AlmanacWarning, BarsError
from almanac.instruments import Instrument, table

NOT_FUTURES_SHARE = 0.5  # more than this share of the bars off the tick grid: not the contract's data at all
BAD_PRINT_SHARE = 0.01  # implausible bars in a file whose median is plausible: bad prints, up to this share

BAD_PRINT_WINDOW = 30  # bars in the reference window
BAD_PRINT_BREAK_NS = 30 * calendar.BAR_NS  # a longer pause starts a new reference series
BAD_PRINT_FLOOR = 0.001  # the range scale is at least 0.1 % of the price (quiet nights have 1-tick ranges)


def check_interval(frame: pd.DataFrame, path: Path) -> None:
    """Refuse a file that is not 1-minute bars stamped on whole minutes.

    The interval is the most common spacing of consecutive bars of one contract.  Not the median: vendors leave
    out minutes without trades, and where more than half the minutes are missing (overnight, thin contracts)
    the median is 2 or 3 minutes while the commonest step is still one minute.  Coarser bars are refused rather than read as minutes: a 5-minute bar stamped 10:10
    holds prices up to 10:15, so at a 10:12 cutoff it would let later prices into ``cutoff_price``.
    """
    ts = calendar.epoch_ns(frame["ts"])
    off_minute = ts % calendar.BAR_NS != 0
    if off_minute.any():
        i = int(np.flatnonzero(off_minute)[0])
        raise BarsError(
            f"{path}, line {frame['line'].iloc[i]}, column ts: {frame['ts'].iloc[i]} (UTC) is not on a whole minute; "
            "almanac reads 1-minute bars stamped on the minute (tick or second bars must be resampled first)"
        )
    key, _ = pd.factorize(frame["contract"], use_na_sentinel=True)
    order = np.lexsort((ts, key))
    step = np.diff(ts[order])
    # Steps within one contract and one stretch of trading (an hour or more is a break, not a bar interval);
    # a handful of steps say nothing, so tiny files are not judged.
    step = step[(np.diff(key[order]) == 0) & (step > 0) & (step < 60 * calendar.BAR_NS)]
    if len(step) < 10:
        return
    minutes = int(np.bincount(step // calendar.BAR_NS).argmax())
    if minutes != 1:
        raise BarsError(
            f"{path}: these are {minutes}-minute bars (the usual spacing of consecutive bars), not 1-minute bars; "
            "almanac needs 1-minute bars (a coarser bar holds prices from after its stamp, which would leak past "
            "the cutoff); export 1-minute bars"
        )


def check_values(frame: pd.DataFrame, tick: float, *, traded_below_zero: bool = False) -> None:
    """Prices present, positive and on the tick grid; OHLC consistent; volumes whole and non-negative.

    ``traded_below_zero``: the instrument has traded at negative prices (CL in April 2020); such bars are still
    refused, and the message says why (the features' log returns are undefined there)."""

    def fail(mask: np.ndarray, column: str, why: str) -> None:
        i = int(np.flatnonzero(mask)[0])
        row = frame.iloc[i]
        raise BarsError(
            f"{row['file']}, line {row['line']}, column {column}: {why} (value {row.get(column, '')}); fix or remove the bar"
        )

    for column in ("open", "high", "low", "close"):
        values = frame[column].to_numpy()
        if np.isnan(values).any():
            fail(np.isnan(values), column, "missing price")
        if (values <= 0).any():
            why = "price must be positive"
            if traded_below_zero:
                why += (
                    " (this market did trade at or below zero, but the features' log returns are undefined there: "
                    "start data.start after those days or remove them)"
                )
            fail(values <= 0, column, why)
        ticks = values / tick  # |ticks - round(ticks)| > 1e-6, in place (no four temporaries of every price)
        off = np.round(ticks)
        off = np.abs(np.subtract(ticks, off, out=off), out=off) > 1e-6
        if off.any() and off.mean() > NOT_FUTURES_SHARE:
            row = frame.iloc[int(np.flatnonzero(off)[0])]
            raise BarsError(
                f"{row['file']}, line {row['line']}, column {column}: {off.mean():.2%} of the bars' prices are off the "
                f"{tick} tick grid (value {row[column]}): this is not this futures contract's data (an ETF, an index "
                "or a back-adjusted series?); check data.symbol and the file"
            )
        if off.any():
            fail(off, column, f"price is not on the {tick} tick grid")
    o, h, low, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    if (h < low).any():
        fail(h < low, "high", "high is below low")
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    if (h < top).any():
        fail(h < top, "high", "high is below open or close")
    if (low > bottom).any():
        fail(low > bottom, "low", "low is above open or close")
    volume = frame["volume"].to_numpy()
    if np.isnan(volume).any():
        fail(np.isnan(volume), "volume", "missing volume")
    if (volume < 0).any():
        fail(volume < 0, "volume", "volume is negative")
    if (volume != np.round(volume)).any():
        fail(volume != np.round(volume), "volume", "volume must be a whole number of contracts")


def check_plausible(
    frame: pd.DataFrame, spec: Instrument, source: DataParams, *, repairs: dict[str, int]
) -> pd.DataFrame:
    """Prices outside the instrument's plausible range (``instruments.yaml``) mean another market's data, unless
    nearly all the bars are plausible: then the few that are not (a whole bar 100 times too high) are bad prints,
    dropped and counted with ``data.bad_prints: drop`` and refused as bad prints otherwise."""
    low, high = spec.price_range
    close = frame["close"].to_numpy()
    outside = (close < low) | (close > high)
    median = float(np.median(close)) if len(close) else float("nan")
    if outside.any() and low <= median <= high and outside.mean() <= BAD_PRINT_SHARE:
        if source.bad_prints == "drop":
            repairs["bad_prints_dropped"] = repairs.get("bad_prints_dropped", 0) + int(outside.sum())
            return frame.loc[~outside].reset_index(drop=True)
        row = frame.iloc[int(np.flatnonzero(outside)[0])]
        raise BarsError(
            f"{row['file']}, line {row['line']}, column close: {row['close']} is a bad print (outside the plausible "
            f"range of {spec.root}, {low:g} to {high:g}, while {1 - outside.mean():.2%} of the bars are inside it; "
            f"{int(outside.sum())} such bars in all); fix the file, or set data.bad_prints=drop to drop and count them"
        )
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        row = frame.iloc[i]
        others = [r for r, o in table().items() if r != spec.root and o.price_range[0] <= median <= o.price_range[1]]
        guess = f"; prices like these are {', '.join(others)}" if others else ""
        raise BarsError(
            f"{row['file']}, line {row['line']}, column close: {row['close']} is outside the plausible range of "
            f"{spec.root} ({low:g} to {high:g}; median of the data {median:g}{guess}); is this another "
            "instrument's data? Check data.symbol"
        )
    return frame


def dedupe(frame: pd.DataFrame, repairs: dict[str, int]) -> pd.DataFrame:
    """Put rows in time order (counted), drop identical duplicates (counted), refuse conflicting ones."""
    key, _ = pd.factorize(frame["contract"], use_na_sentinel=True)  # integer codes: fast to sort and compare
    ts = calendar.epoch_ns(frame["ts"])
    order = np.lexsort((ts, key))
    # Moved rows, compared with the file order within each contract: a time-sorted file that interleaves several
    # contracts (Databento) is in order.
    out_of_order = int((order != np.argsort(key, kind="stable")).sum())
    if out_of_order:
        repairs["rows_reordered"] = repairs.get("rows_reordered", 0) + out_of_order
    frame = frame.iloc[order].reset_index(drop=True)
    key, ts = key[order], ts[order]
    same_slot = (ts[1:] == ts[:-1]) & (key[1:] == key[:-1])
    if not same_slot.any():
        return frame
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy()
    identical = same_slot & (values[1:] == values[:-1]).all(axis=1)
    conflicting = same_slot & ~identical
    if conflicting.any():
        i = int(np.flatnonzero(conflicting)[0])
        a, b = frame.iloc[i], frame.iloc[i + 1]
        raise BarsError(
            f"{b['file']}, line {b['line']}, column ts: bar {a['ts']} appears twice with different values (also {a['file']} line "
            f"{a['line']}); remove one copy or split overlapping files"
        )
    repairs["duplicate_bars_removed"] = repairs.get("duplicate_bars_removed", 0) + int(identical.sum())
    return frame.loc[~np.concatenate([[False], identical])].reset_index(drop=True)


def find_bad_prints(frame: pd.DataFrame, ranges: float) -> tuple[np.ndarray, np.ndarray]:
    """Bars with a price far from their neighbours (a 100x spike, a low of 0.25 among prices near 4000).

    ``frame`` is sorted by contract then time.  The reference is the median close of the previous
    :data:`BAD_PRINT_WINDOW` bars of the same contract and trading stretch (see :func:`_stretch_median` for
    the first bars of a stretch: a data-cleaning decision, not a signal); the scale is the median high-low
    range of those bars, at least 0.1 % of the price.  A bar is bad when its open, high, low or close is more than ``ranges`` scales from the
    reference.  Medians, so one bad print cannot hide its neighbour.  Returns the bad-bar mask and, per bar,
    the index (0-3 = open, high, low, close) of its furthest price.
    """
    contract, _ = pd.factorize(frame["contract"], use_na_sentinel=True)
    ts = calendar.epoch_ns(frame["ts"])
    # A series restarts at each new contract and after each break of more than BAD_PRINT_BREAK (the daily
    # maintenance halt, a weekend, a month missing from the files): prices before a break are no reference.
    restart = np.concatenate([[True], (np.diff(contract) != 0) | (np.diff(ts) > BAD_PRINT_BREAK_NS)])
    key = np.cumsum(restart) - 1
    close = frame["close"].to_numpy(dtype=np.float64)
    reference = _stretch_median(close, key)
    scale = _stretch_median(frame["high"].to_numpy(dtype=np.float64) - frame["low"].to_numpy(dtype=np.float64), key)
    scale = np.maximum(scale, BAD_PRINT_FLOOR * np.abs(reference))
    # The furthest price of each bar, one column at a time (no n x 4 temporaries).  Ties name the close, then
    # the open: the high or low had to stretch to contain them.
    # In place into two buffers, and copyto rather than boolean-index assignment (which gathers and scatters).
    furthest = np.zeros(len(close))
    column = np.full(len(close), 3, dtype=np.int8)
    distance, further = np.empty(len(close)), np.empty(len(close), dtype=bool)
    for index in (3, 0, 1, 2):  # close, open, high, low
        name = ("open", "high", "low", "close")[index]
        np.subtract(frame[name].to_numpy(dtype=np.float64), reference, out=distance)
        np.divide(np.abs(distance, out=distance), scale, out=distance)
        np.greater(distance, furthest, out=further)  # NaN (a series too short to judge) is never further
        np.copyto(furthest, distance, where=further)
        np.copyto(column, np.int8(index), where=further)
    return furthest > ranges, column


def _stretch_median(values: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Median of the :data:`BAD_PRINT_WINDOW` values before each one within its stretch (``key``, sorted runs).

    Near a stretch's start, where the trailing window would reach into the previous stretch, the window of the
    values after it is used instead, and in a stretch too short for either, the stretch's own median.  One
    rolling median over the whole array, then the few rows near a stretch start as a small 2-D block: no
    Python loop over stretches or bars.
    """
    n, w = len(values), BAD_PRINT_WINDOW
    # bottleneck's move_median (the maintained C accelerator pandas lists as optional): the same values as
    # pandas' rolling median, six times faster, which is most of the bad-print check on twenty years of bars.
    import bottleneck

    previous = np.concatenate([[np.nan], values[:-1]]) if n else values
    out = bottleneck.move_median(previous, window=w, min_count=w) if n >= w else np.full(n, np.nan)
    starts = np.flatnonzero(np.concatenate([[True], np.diff(key) != 0]))
    lengths = np.diff(np.concatenate([starts, [n]]))
    # The first w rows of each stretch (in row order) and the rows after each of them in its stretch: built per
    # stretch (a few thousand x w), not per bar.
    first_rows = np.arange(w)[None, :] < lengths[:, None]
    early = (starts[:, None] + np.arange(w))[first_rows]
    remaining = ((lengths - 1)[:, None] - np.arange(w))[first_rows]
    ahead = early[remaining >= w]
    if len(ahead):
        out[ahead] = np.median(values[ahead[:, None] + np.arange(1, w + 1)], axis=1)
    short = early[remaining < w]
    if len(short):
        # Each short stretch's own median: the groupby on those stretches' rows only (a group's median depends on
        # its own values alone, so this is the median over all rows, without grouping millions of them).
        stretch = np.unique(np.searchsorted(starts, short, side="right") - 1)
        sizes = lengths[stretch]
        rows = np.repeat(starts[stretch] - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
        whole = pd.Series(values[rows], index=rows).groupby(key[rows]).transform("median")
        out[short] = whole.loc[short].to_numpy()
    return out


def drop_bad_prints(frame: pd.DataFrame, source: DataParams, repairs: dict[str, int]) -> pd.DataFrame:
    """Bad prints (:func:`find_bad_prints`, ``data.bad_print_ranges``) refused (``data.bad_prints: error``) or
    dropped and counted (``drop``)."""
    bad, column = find_bad_prints(frame, source.bad_print_ranges)
    if not bad.any():
        return frame
    if source.bad_prints == "error":
        i = int(np.flatnonzero(bad)[0])
        row, name = frame.iloc[i], ("open", "high", "low", "close")[column[i]]
        raise BarsError(
            f"{row['file']}, line {row['line']}, column {name}: {row[name]} is a bad print (more than "
            f"{source.bad_print_ranges:g} recent 1-minute ranges from the median of the bars around it; "
            f"{int(bad.sum())} such bars in all); fix the file, or set data.bad_prints=drop to drop and count them"
        )
    repairs["bad_prints_dropped"] = repairs.get("bad_prints_dropped", 0) + int(bad.sum())
    return frame.loc[~bad].reset_index(drop=True)


def drop_coarse_days(
    bars: pd.DataFrame, source: DataParams, spec: Instrument, *, repairs: dict[str, int], warnings: list[str]
) -> pd.DataFrame:
    """Refuse (``data.coarse_days: error``) or drop and count (``drop``) the trade dates of a file whose RTH bars
    are coarser than 1 minute (:func:`almanac.data_sources.validation.coarse_days`)."""
    bad = coarse_days(bars, rth=spec.rth_minutes)
    if bad.empty:
        return bars

    def listed(with_file: bool) -> str:  # the first five days, each with its spacing
        days = [
            (f"{r.file} " if with_file else "") + f"{r.trade_date:%Y-%m-%d} ({r.spacing_min}-minute)"
            for r in bad.head(5).itertuples(index=False)
        ]
        return ", ".join(days) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")

    if source.coarse_days == "error":
        first = bad.iloc[0]
        raise BarsError(
            f"{first['file']}, line {first['line']}: {len(bad)} trade date(s) are not 1-minute bars inside RTH: "
            f"{listed(False)}. A coarser bar holds prices from after its stamp, which would leak past the cutoff; "
            "export 1-minute bars for those days, or set data.coarse_days: drop to leave them out (counted)"
        )
    keys = pd.MultiIndex.from_arrays([bars["file"].astype(str), bars["trade_date"]])
    drop = keys.isin(pd.MultiIndex.from_arrays([bad["file"], pd.DatetimeIndex(bad["trade_date"])]))
    repairs["coarse_interval_days_dropped"] = len(bad)
    repairs["coarse_interval_bars_dropped"] = int(drop.sum())
    warnings.append(
        f"dropped {len(bad)} trade date(s) of coarser-than-1-minute RTH bars (data.coarse_days: drop): {listed(True)}"
    )
    warn(warnings[-1], AlmanacWarning, stacklevel=2)
    return bars.loc[~drop].reset_index(drop=True)
