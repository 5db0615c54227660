"""Bring your own data: vendor files -> validated canonical bars, cross-asset daily series and a manifest.

Checks on every file (errors name the file, the line, the column and what to do): required columns, parseable
timestamps, timezone (ambiguous or nonexistent local times raise; UTC offsets written in ISO timestamps must be on
every line and equal data.timezone's offset at that instant), OHLC consistency, prices on the tick grid,
no missing or negative prices or volumes.  Repairs are made only where the intent is unambiguous and each is
counted in the manifest: identical duplicate bars removed, rows put back in time order, zero-volume bars removed
(a minute without trades is absent, never filled), a truncated last line dropped, calendar spreads dropped.
Conflicting duplicates are an error.  Gaps are reported, never filled.  A start/end stamp sanity check (the
cash-open volume spike must land in the bar labelled with the instrument's RTH open: 09:30 ET for ES, 09:00 for
CL) warns loudly when the declared convention looks wrong.
"""

from __future__ import annotations

import datetime as dt
import glob
import logging
import re
from pathlib import Path
from warnings import warn  # `warnings` is the manifest's list here

import numpy as np
import pandas as pd
import pyarrow as pa

import almanac
from almanac import calendar, numerics
from almanac.config import DataParams
from almanac.data_sources.canonical import Dataset
from almanac.data_sources.contracts import build_continuous, contract_code, parse_contract
from almanac.data_sources.daily import read_daily_series
from almanac.data_sources.readers import confine, parse_column_map, read_bars_file
from almanac.data_sources.validation import check_canonical, coarse_days
from almanac.errors import AlmanacWarning, BarsError
from almanac.instruments import Instrument, instrument, root_of_all, table

log = logging.getLogger(__name__)
TRUTH_COLUMNS = {"trade_date": "datetime64[s]", "sigma": "float64", "z": "float64", "s": "float64"}


def expand_paths(spec: str, key: str = "data.paths", *, root: Path | None = None) -> list[Path]:
    """Files named by a comma-separated list of paths or globs, sorted; none matching is an error, and so is a
    file outside ``root`` (see :func:`confine`)."""
    files: list[Path] = []
    for pattern in filter(None, (p.strip() for p in spec.split(","))):
        matches = sorted(glob.glob(pattern)) if any(ch in pattern for ch in "*?[") else [pattern]
        if not matches or not all(Path(m).is_file() for m in matches):
            raise BarsError(f"{key}: {pattern!r} matches no file; put the files under data/raw/ and list them here")
        files.extend(confine(Path(m), root, key) for m in matches)
    if not files:
        raise BarsError(f"{key}: empty; list the vendor files (e.g. data/raw/ES_1min.csv)")
    return files


_FILENAME_CODE = re.compile(r"(?<![A-Z])([A-Z]{1,3})([FGHJKMNQUVXZ])(\d{1,2})(?!\d)")
_NINJA_CODE = re.compile(r"([A-Z]{1,3}) (\d{2})-(\d{2})")
_FULL_YEAR_CODE = re.compile(r"([A-Z]{1,3})([FGHJKMNQUVXZ])(\d{4})")  # ESH2024 (in a contract column only)


def normalize_contract(code: str | None, year_hint: int) -> str | None:
    """Contract code with a two-digit year (``ESH4`` in 2023 -> ``ESH24``; ``ES 03-24`` -> ``ESH24``); None when
    it is not an outright code of a known instrument in one of that instrument's contract months (``ESX24``)."""
    if code is None or code != code:
        return None
    code = code.strip().upper()
    ninja = _NINJA_CODE.fullmatch(code)
    if ninja:
        root, month, yy = ninja.groups()
        try:
            return contract_code(root, 2000 + int(yy), int(month))
        except KeyError:  # an unknown root, or a month the instrument does not trade
            return None
    match = _FILENAME_CODE.fullmatch(code) or _FULL_YEAR_CODE.fullmatch(code)
    if not match:
        return None
    root, month_code, digits = match.groups()
    if len(digits) == 4:  # ESH2024
        out = f"{root}{month_code}{digits[2:]}"
    elif len(digits) == 2:
        out = f"{root}{month_code}{digits}"
    else:
        year = year_hint - year_hint % 10 + int(digits)
        if year < year_hint - 1:
            year += 10  # ESH0 traded in late 2019 is the 2020 contract
        out = f"{root}{month_code}{year % 100:02d}"
    try:
        parse_contract(out)
    except ValueError:
        return None
    return out


def _categorical(value: str | None, n: int) -> pd.Categorical:
    """``value`` repeated ``n`` times as a categorical (missing when None): no ``n`` string copies."""
    if value is None:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=[])
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def _contract_from_filename(path: Path) -> str | None:
    stem = path.name.upper()
    for pattern in (_NINJA_CODE, _FILENAME_CODE):
        found = pattern.search(stem)
        if found:
            return found.group(0)
    return None


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


def _check_values(frame: pd.DataFrame, tick: float, *, traded_below_zero: bool = False) -> None:
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
        off = np.abs(values / tick - np.round(values / tick)) > 1e-6
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
    if (h < np.maximum(o, c)).any():
        fail(h < np.maximum(o, c), "high", "high is below open or close")
    if (low > np.minimum(o, c)).any():
        fail(low > np.minimum(o, c), "low", "low is above open or close")
    volume = frame["volume"].to_numpy()
    if np.isnan(volume).any():
        fail(np.isnan(volume), "volume", "missing volume")
    if (volume < 0).any():
        fail(volume < 0, "volume", "volume is negative")
    if (volume != np.round(volume)).any():
        fail(volume != np.round(volume), "volume", "volume must be a whole number of contracts")


BAD_PRINT_WINDOW = 30  # bars in the reference window
BAD_PRINT_BREAK_NS = 30 * calendar.BAR_NS  # a longer pause starts a new reference series
BAD_PRINT_FLOOR = 0.001  # the range scale is at least 0.1 % of the price (quiet nights have 1-tick ranges)


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
    furthest = np.zeros(len(close))
    column = np.full(len(close), 3, dtype=np.int8)
    for index in (3, 0, 1, 2):  # close, open, high, low
        name = ("open", "high", "low", "close")[index]
        distance = np.abs(frame[name].to_numpy(dtype=np.float64) - reference) / scale
        further = distance > furthest  # NaN (a series too short to judge) is never further
        furthest[further] = distance[further]
        column[further] = index
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
    position = np.arange(n) - np.repeat(starts, lengths)
    remaining = np.repeat(starts + lengths, lengths) - 1 - np.arange(n)
    early = np.flatnonzero(position < w)
    ahead = early[remaining[early] >= w]
    if len(ahead):
        out[ahead] = np.median(values[ahead[:, None] + np.arange(1, w + 1)], axis=1)
    short = early[remaining[early] < w]
    if len(short):
        whole = pd.Series(values).groupby(key).transform("median").to_numpy()
        out[short] = whole[short]
    return out


def _bad_prints(frame: pd.DataFrame, source: DataParams, repairs: dict[str, int]) -> pd.DataFrame:
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


def _refuse_unknown_codes(bars: pd.DataFrame, raw_codes: pd.Series, source: DataParams, spec: Instrument) -> None:
    """Contract codes given but not read as a contract of the symbol are an error naming them, never dropped into
    a "continuous" series: a wrong code on every row (``NQX3`` for a quarterly product, ``garbage``) would otherwise
    make a file of several contracts look like one spliced series."""
    unread = (raw_codes.notna() & bars["contract"].isna()).to_numpy()
    if not unread.any():
        return
    values = raw_codes[unread].astype(str).value_counts()
    first = bars.loc[unread].iloc[0]
    seen = ", ".join(f"{v!r} ({n:,} row{'s' if n != 1 else ''})" for v, n in values.head(5).items())
    example = contract_code(source.symbol, 2024, spec.month_numbers[0])
    raise BarsError(
        f"{first['file']}, line {first['line']}, column contract: {seen}{' and more' if len(values) > 5 else ''} "
        f"{'is' if len(values) == 1 else 'are'} not an outright {source.symbol} contract code; expected the root, a "
        f"month of {spec.listed_months or spec.months} and the year, like {example}, {example[:-2]}{example[-1]}, "
        f"{example[:-2]}20{example[-2:]} or '{source.symbol} {spec.month_numbers[0]:02d}-24'; fix the codes or check "
        "data.symbol"
    )


def _coarse_days(
    bars: pd.DataFrame, source: DataParams, spec: Instrument, repairs: dict[str, int], warnings: list[str]
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


NOT_FUTURES_SHARE = 0.5  # more than this share of the bars off the tick grid: not the contract's data at all
BAD_PRINT_SHARE = 0.01  # implausible bars in a file whose median is plausible: bad prints, up to this share


def _check_plausible(
    frame: pd.DataFrame, spec: Instrument, source: DataParams, repairs: dict[str, int]
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


def _dedupe(frame: pd.DataFrame, repairs: dict[str, int]) -> pd.DataFrame:
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


ONE_MINUTE_VERDICTS = ("looks end-stamped", "looks early by a minute")


def _one_minute_message(check: dict, flagged: list[dict], spec: Instrument, files: list[Path], stamp: str) -> str:
    """What the one-minute stamp check found, in one sentence with its evidence and the fix."""
    verdict = check["verdict"] if check["verdict"] in ONE_MINUTE_VERDICTS else flagged[0]["verdict"]
    where = "; ".join(f"{s['file']} {s['month']}: {s['verdict']}" for s in flagged[:5]) or "every file and month"
    medians = ", ".join(f"{k[-4:-2]}:{k[-2:]} {v:,.0f}" for k, v in check.items() if k.startswith("median_volume_"))
    late = verdict == "looks end-stamped"
    if late and stamp == "start":
        reading = "the stamps were read as bar starts but look like bar ends"
    elif not late and stamp == "end":
        reading = "the stamps were read as bar ends but look like bar starts"
    else:
        reading = f"the stamps, read as bar {stamp}s, sit a minute {'late' if late else 'early'}"
    return (
        f"{', '.join(map(str, files))}: the {spec.rth_et[0]} ET cash-open volume spike is one minute "
        f"{'late' if late else 'early'} (median volume by bar: {medians or 'see the manifest'}; {where}): "
        f"{reading}, and a one-minute shift is look-ahead at the cutoff. Check data.timestamp (start or end) and "
        "data.timezone"
    )


def stamp_check(bars: pd.DataFrame, *, open_minute: int | None = None) -> dict:
    """Where the cash-open volume jump lands: for start stamps, volume jumps up *into* the bar labelled with the
    RTH open (``open_minute``, ET minute of the day: 570 = 09:30 for the equity indices, 540 = 09:00 for CL;
    default the RTH open of the bars' instrument, named by their contract codes).

    Takes the median volume of the bars labelled 09:28 to 09:31 ET (for ES) over the trade dates that have all four,
    and the jump into each of the last three (the ratio to the minute before).  ``verdict`` is ``ok`` (the biggest
    jump is into 09:30), ``looks end-stamped`` (into 09:31: the stamps are a minute late), ``looks early by a
    minute`` (into 09:29), ``no clear spike`` (no jump of :data:`SPIKE_RATIO`) or ``not enough data``.  Jumps, not
    levels: the minutes after the open trade nearly as much as the open itself, but the minute before it does not.
    """
    open_minute = _open_minute(bars) if open_minute is None else open_minute
    local = bars["ts"].dt.tz_convert(calendar.ET)
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    day = bars["trade_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    checks = _opening_checks(
        np.zeros(len(bars), dtype=np.int64), day, minute, bars["volume"].to_numpy(), open_minute=open_minute
    )
    return checks.get(0, {"verdict": "not enough data", "days": 0})


def _open_minute(bars: pd.DataFrame) -> int:
    """ET minute of the day of the RTH open of the instrument the bars' contract codes name (data.symbol's default
    without any)."""
    symbol = root_of_all(pd.unique(bars["contract"].dropna())) or DataParams().symbol
    return instrument(symbol).rth_minutes[0]


VERDICTS = {0: "ok", 1: "looks end-stamped", -1: "looks early by a minute"}  # by the jump's minute - the open


def _opening_checks(
    segment: np.ndarray, day: np.ndarray, minute: np.ndarray, volume: np.ndarray, *, open_minute: int
) -> dict[int, dict]:
    """:func:`stamp_check`'s verdict for every segment code in ``segment`` that has the opening bars: one pivot
    of the few opening bars, medians over each segment's days."""
    opening_minutes = [open_minute - 2, open_minute - 1, open_minute, open_minute + 1]
    pick = np.isin(minute, opening_minutes)
    opening = pd.DataFrame({"segment": segment[pick], "day": day[pick], "minute": minute[pick], "volume": volume[pick]})
    wide = opening.pivot_table(index=["segment", "day"], columns="minute", values="volume", aggfunc="sum")
    wide = wide.reindex(columns=opening_minutes).dropna()
    counted = wide.groupby(level="segment").size()
    checks = {}
    for i, median in wide.groupby(level="segment").median().iterrows():  # one row per segment
        days = int(counted[i])
        if days < 3:
            checks[int(i)] = {"verdict": "not enough data", "days": days}
            continue
        jumps = median.iloc[1:].to_numpy() / np.maximum(median.iloc[:-1].to_numpy(), 1.0)  # into open-1, open, +1
        peak = int(jumps.argmax()) - 1
        checks[int(i)] = {
            "verdict": VERDICTS[peak] if jumps.max() >= SPIKE_RATIO else "no clear spike",
            "days": days,
            **{f"median_volume_{m // 60:02d}{m % 60:02d}": float(median[m]) for m in opening_minutes},
        }
    return checks


SPIKE_RATIO = 1.2  # the biggest jump into one of the opening minutes must be at least this ratio (the open is a jump)
SHIFT_MIN_DAYS = 5  # a segment with fewer trade dates is not judged
SHIFT_MARGIN = 0.25  # log-ratio by which another whole-hour shift must beat none
SHIFT_WINDOW = 30  # minutes after (before) the open whose volumes are compared
HALT_ET = (
    17 * 60,
    18 * 60,
)  # the daily Globex halt in ET minutes of the day (16:00-17:00 CT; 16:15-17:00 CT before 2021)
HALT_QUIET_ET = (17 * 60 + 15, 18 * 60)  # the part of it without a bar in every era from 2012-11-19 on


def _hhmm(minute: int) -> str:
    return f"{minute % 1440 // 60:02d}:{minute % 60:02d}"


def _open_jump(
    volume_by_minute: np.ndarray, shift_hours: np.ndarray, *, open_minute: int, width: int = SHIFT_WINDOW
) -> np.ndarray:
    """log(volume in the ``width`` minutes after the cash open / the ``width`` before), with every stamp moved
    back by each of ``shift_hours``; one row per segment, one column per shift."""

    def window(first: np.ndarray) -> np.ndarray:  # sum over minutes [first, first + width), wrapping at midnight
        idx = (first[:, None] + np.arange(width)) % 1440
        return volume_by_minute[:, idx].sum(axis=2)

    opening = open_minute + 60 * shift_hours
    return numerics.log((window(opening) + 1) / (window(opening - width) + 1))


def segment_checks(bars: pd.DataFrame, *, open_minute: int | None = None) -> list[dict]:
    """The stamp checks per segment (one file, one calendar month of trade dates), so that a file whose second
    half was written in another timezone cannot hide behind its first half.

    Two checks: the whole-hour shift of the stamps (anything but 0 is an error, raised here naming the file and
    lines), judged by where the daily Globex halt (17:15-18:00 ET) is empty when the segment holds whole Globex
    days from 2012-11-19 on, else by the whole-hour shift that best puts the cash-open volume jump at the RTH open
    ``open_minute`` (ET minute of the day; 570 = 09:30; default the bars' instrument's); and the one-minute :func:`stamp_check` (reported).  ``bars``
    carries ``file`` and ``line`` besides the canonical columns.  Integer keys and ``bincount`` throughout: one
    pass over the bars, no loop over segments.
    """
    open_minute = _open_minute(bars) if open_minute is None else open_minute
    local = bars["ts"].dt.tz_convert(calendar.ET)
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    file_code, files = pd.factorize(bars["file"])
    month = bars["trade_date"].to_numpy().astype("datetime64[M]").astype(np.int64)
    segment, keys = pd.factorize(file_code.astype(np.int64) * 100_000 + month)
    n = len(keys)
    volume = bars["volume"].to_numpy(dtype=np.float64)
    profile = np.bincount(segment * 1440 + minute, weights=volume, minlength=n * 1440).reshape(n, 1440)
    day = bars["trade_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    days = np.bincount(np.unique(segment.astype(np.int64) * 1_000_000 + day) // 1_000_000, minlength=n)
    shifts = np.arange(-12, 13)
    zero = list(shifts).index(0)
    jump = _open_jump(profile, shifts, open_minute=open_minute)
    # A shift whose "before" window falls in the daily halt (no trading by design) would see the Globex reopen as a
    # jump out of nothing: 09:00 (CL's open) + 9 h is 18:00.  Those shifts are not candidates.
    before = (open_minute + 60 * shifts[:, None] - np.arange(1, SHIFT_WINDOW + 1)[None, :]) % 1440
    jump[:, ((before >= HALT_ET[0]) & (before < HALT_ET[1])).any(axis=1)] = -np.inf
    best = shifts[jump.argmax(axis=1)]
    margin = jump.max(axis=1) - jump[:, zero]
    shifted = (best != 0) & (margin > SHIFT_MARGIN) & (days >= SHIFT_MIN_DAYS)
    # The daily halt is the stronger evidence where a segment holds the whole Globex day (bars in 20 of 24 hours)
    # from the 2012-11-19 era on: 17:15-18:00 ET never trades, whatever the instrument's volume profile.  An empty
    # halt where it belongs clears the segment (the volume jump is left to the instruments it was tuned on);
    # an empty hour elsewhere, with bars in the halt, is a shift.
    counts = np.bincount(segment * 1440 + minute, minlength=n * 1440).reshape(n, 1440)
    first_day = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_day, segment, day)
    in_quiet, empty, whole_day = _halt_evidence(counts, shifts)
    judged = whole_day & (first_day >= MODERN_HALT_DAY) & (days >= SHIFT_MIN_DAYS)
    halt_clear = judged & empty[:, zero]
    halt_moved = judged & ~empty[:, zero] & empty.any(axis=1)
    halt_shift = shifts[np.where(empty, in_quiet, np.inf).argmin(axis=1)]
    best = np.where(halt_moved, halt_shift, best)
    shifted = halt_moved | (shifted & ~halt_clear)

    def describe(i: int) -> tuple[str, str]:
        return str(files[keys[i] // 100_000]), str(np.datetime64(int(keys[i] % 100_000), "M"))

    if shifted.any():
        i = int(np.flatnonzero(shifted)[0])
        file, when = describe(i)
        lines = bars["line"].to_numpy()[segment == i]
        h = int(best[i])
        evidence = []
        if h == shifts[jump[i].argmax()]:
            evidence.append(
                f"the cash-open volume jump is at {_hhmm(open_minute + 60 * h)} ET instead of {_hhmm(open_minute)}"
            )
        if halt_moved[i]:
            evidence.append(
                f"the daily halt shows at {_hhmm(HALT_QUIET_ET[0] + 60 * h)}-{_hhmm(HALT_QUIET_ET[1] + 60 * h)} ET "
                f"instead of {_hhmm(HALT_QUIET_ET[0])}-{_hhmm(HALT_QUIET_ET[1])}"
            )
        raise BarsError(
            f"{file}, lines {lines.min()}-{lines.max()} (trade dates in {when}): the timestamps look shifted by "
            f"{h:+d} h ({'; '.join(evidence)}); part of the file was written in another timezone? Fix those lines or "
            "check data.timezone"
        )
    _refuse_shift_from_a_day(bars, minute=minute, day=day, file_code=file_code, files=files, shifts=shifts)
    # The one-minute check of stamp_check, per segment.
    report = []
    for i, check in _opening_checks(
        segment, day, minute, volume, open_minute=open_minute
    ).items():  # one entry per segment
        if check["verdict"] in ("looks end-stamped", "looks early by a minute"):
            file, when = describe(i)
            report.append({"file": file, "month": when, **check})
    return report


MODERN_HALT_DAY = np.datetime64(calendar.ERAS[1].first_date, "D").astype(np.int64)  # the halt's era starts


def _halt_evidence(counts: np.ndarray, shifts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the daily halt says, per row of ``counts`` (bars per ET minute of the day: one row per month or day):
    ``in_quiet`` (bars in the quiet part of the halt, 17:15-18:00 ET, moved by each of ``shifts`` hours), ``empty``
    (that window holds next to nothing) and ``whole_day`` (bars in 20 of 24 hours: the halt can be read at all)."""
    width = HALT_QUIET_ET[1] - HALT_QUIET_ET[0]
    quiet = (HALT_QUIET_ET[0] + 60 * shifts[:, None] + np.arange(width)[None, :]) % 1440
    in_quiet = counts[:, quiet].sum(axis=2)  # rows x shifts
    per_minute = counts.sum(axis=1) / np.maximum((counts > 0).sum(axis=1), 1)
    empty = in_quiet <= 0.01 * per_minute[:, None] * width
    whole_day = (counts.reshape(len(counts), 24, 60) > 0).any(axis=2).sum(axis=1) >= 20
    return in_quiet, empty, whole_day


def _refuse_shift_from_a_day(
    bars: pd.DataFrame, *, minute: np.ndarray, day: np.ndarray, file_code: np.ndarray, files, shifts: np.ndarray
) -> None:
    """A clock shift that starts on any day, not only one that covers a month: per file and ET calendar day holding
    a whole day of trading (bars in 20 of 24 hours, from 2012-11-19 on), the daily halt (17:15-18:00 ET, never
    traded) must be empty; a day with bars in it while the same window some whole hours away is empty is shifted.
    The first such day is named with its first line (``minute``, ``day``: ET minute of the day and trade date of
    each bar; ``file_code`` indexes ``files``).  Calendar days, not trade dates: a shifted bar is assigned to a
    trade date by its shifted stamp, which scatters a shifted Globex day over two trade dates."""
    utc_minute = calendar.epoch_ns(bars["ts"]) // calendar.BAR_NS
    offset = (minute - utc_minute % 1440 + 720) % 1440 - 720  # the ET offset of each bar, in minutes (-300/-240)
    calendar_day = (utc_minute + offset) // 1440  # the ET calendar day, in days since the epoch
    first, span = int(calendar_day.min()), int(calendar_day.max() - calendar_day.min()) + 1
    # (file, day) as a direct index: a few thousand days, no hashing of millions of keys
    cell = (file_code.astype(np.int64) * span + (calendar_day - first)) * 1440 + minute
    every = np.bincount(cell, minlength=(int(file_code.max()) + 1) * span * 1440).reshape(-1, 1440)
    keys = np.flatnonzero(every.any(axis=1))  # the (file, day) cells with bars
    counts = every[keys]
    file_of, day_of = keys // span, keys % span + first

    def first_line(g: int) -> int:  # the first line of the (file, day) row ``g``: only for the day named
        return int(bars["line"].to_numpy()[cell // 1440 == keys[g]].min())

    in_quiet, empty, whole_day = _halt_evidence(counts, shifts)
    _refuse_shift_in_session_files(counts, whole_day=whole_day, file_of=file_of, day_of=day_of, files=files,
                                   first_line=first_line)  # fmt: skip
    zero = list(shifts).index(0)
    moved = whole_day & (day_of >= MODERN_HALT_DAY) & ~empty[:, zero] & empty.any(axis=1)
    if not moved.any():
        return
    g = int(np.flatnonzero(moved)[0])  # keys are sorted by file, then day
    # The emptiest window some whole hours away is the halt; among equally empty ones, the nearest shift.
    h = int(shifts[np.lexsort((np.abs(shifts), np.where(empty[g], in_quiet[g], np.inf)))[0]])
    date = np.datetime64(int(day_of[g]), "D")
    later = int(moved[file_of == file_of[g]].sum())
    raise BarsError(
        f"{files[file_of[g]]}, line {first_line(g)} ({date}, ET): the timestamps look shifted by {h:+d} h "
        f"from this day on (the daily halt shows at {_hhmm(HALT_QUIET_ET[0] + 60 * h)}-"
        f"{_hhmm(HALT_QUIET_ET[1] + 60 * h)} ET instead of {_hhmm(HALT_QUIET_ET[0])}-{_hhmm(HALT_QUIET_ET[1])}; "
        f"{later} day(s) of the file look so); part of the file was written in another timezone? Fix those "
        "lines or check data.timezone"
    )


def _refuse_shift_in_session_files(
    counts: np.ndarray, *, whole_day: np.ndarray, file_of: np.ndarray, day_of: np.ndarray, files, first_line
) -> None:
    """The same for a file without whole days (RTH only, or one session a day): there is no daily halt to read, but
    each day's first bar is at the same minute (the open) on most days; a day whose first bar is whole hours away
    from that minute is shifted.  ``counts``: bars per (file, ET calendar day) row and minute of the day."""
    first_minute = (counts > 0).argmax(axis=1)
    enough = counts.sum(axis=1) >= 60  # a stub of a day says nothing
    for f in np.unique(file_of):  # one iteration per file
        rows = file_of == f
        judged = rows & enough
        if whole_day[rows].any() or judged.sum() < SHIFT_MIN_DAYS:
            continue  # whole days (the halt decides) or too few days to know the usual start
        values, freq = np.unique(first_minute[judged], return_counts=True)
        if freq.max() < 0.5 * judged.sum():
            continue  # no usual start: nothing to compare with
        usual = int(values[freq.argmax()])
        delta = first_minute - usual
        moved = judged & (delta != 0) & (delta % 60 == 0)
        if not moved.any():
            continue
        g = int(np.flatnonzero(moved)[0])
        h = int(delta[g] // 60)
        raise BarsError(
            f"{files[f]}, line {first_line(g)} ({np.datetime64(int(day_of[g]), 'D')}, ET): the timestamps look shifted by "
            f"{h:+d} h from this day on (its first bar is at {_hhmm(int(first_minute[g]))} ET where the file's days "
            f"start at {_hhmm(usual)}; {int(moved.sum())} day(s) of the file look so); part of the file was written in "
            "another timezone? Fix those lines or check data.timezone"
        )


def gap_report(bars: pd.DataFrame, *, rth: tuple[dt.time, dt.time] | None = None) -> dict:
    """RTH minutes (of the window ``rth``, ET; default the equity indices') without a bar, per trade date
    (reported, never filled)."""
    windows = calendar.rth_sessions(bars["trade_date"].min(), bars["trade_date"].max(), rth=rth)
    day = pd.DatetimeIndex(bars["trade_date"])
    open_ns = calendar.epoch_ns(windows["rth_open_utc"].reindex(day))
    close_ns = calendar.epoch_ns(windows["rth_close_utc"].reindex(day))
    ts = calendar.epoch_ns(bars["ts"])
    in_rth = (ts >= open_ns) & (ts < close_ns)
    present = pd.Series(in_rth).groupby(bars["trade_date"].to_numpy()).sum()
    expected = ((windows["rth_close_utc"] - windows["rth_open_utc"]).dt.total_seconds() // 60).reindex(present.index)
    missing = (expected - present).clip(lower=0).astype(int)
    worst = missing[missing > 0].sort_values(ascending=False, kind="stable").head(10)
    no_rth = sorted(
        str(d.date())
        for d in windows.index[(windows.index >= day.min()) & (windows.index <= day.max())].difference(
            present.index[present > 0]
        )
    )
    return {
        "rth_minutes_missing": int(missing.sum()),
        "days_with_missing_rth_minutes": int((missing > 0).sum()),
        "worst_days": {str(pd.Timestamp(d).date()): int(v) for d, v in worst.items()},
        "trading_days_without_bars": no_rth,
    }


def build_file_dataset(source: DataParams, *, raw_root: Path | None = None) -> Dataset:
    """Read, validate and assemble the user's files (see the module docstring); with ``raw_root`` (the
    ``bars`` stage passes :data:`RAW_ROOT`) every file must lie inside it."""
    spec = instrument(source.symbol)
    tick = spec.tick
    column_map = parse_column_map(source.columns) if source.format == "generic" else None
    files = expand_paths(source.paths, root=raw_root)
    repairs: dict[str, int] = {}
    warnings: list[str] = []  # what was accepted with a param: kept in the manifest, shown by info, report, Lab
    frames, file_rows = [], {}
    # One set of categories for every file, so that the column stays categorical through the concat.
    names = list(dict.fromkeys(str(p) for p in files))  # a file listed twice is one category
    for path in files:  # one iteration per file
        raw = read_bars_file(
            path,
            fmt_name=source.format,
            timezone=source.timezone,
            stamp=source.timestamp,
            column_map=column_map,
            ts_format=source.ts_format,
        )
        for key, value in raw.repairs.items():
            repairs[key] = repairs.get(key, 0) + value
        frame = raw.frame
        frame["file"] = pd.Categorical.from_codes(
            np.full(len(frame), names.index(str(path)), dtype=np.int32), categories=names
        )
        if frame["contract"].isna().all():
            frame["contract"] = _categorical(_contract_from_filename(path), len(frame))
        check_interval(frame, path)
        frames.append(frame)
        file_rows[str(path)] = len(frame)
        timezone, stamp = raw.timezone, raw.stamp
    # Contract codes are categorical (a few codes over millions of rows); with one set of categories for all
    # files they stay categorical through the concat, and string checks run on the categories only.
    categories = sorted(set().union(*(f["contract"].cat.categories for f in frames)))
    for frame in frames:
        frame["contract"] = frame["contract"].cat.set_categories(categories)
    bars = pd.concat(frames, ignore_index=True)
    del frames, frame, raw  # the concat copied them: keep one copy of the bars alive, not two
    pa.default_memory_pool().release_unused()  # hand the CSV reader's buffers back to the system
    # Calendar spreads ('ESH4-ESM4') go before the value checks: their prices are differences (negative, off
    # the outright tick grid).  NinjaTrader's outright codes ('ES 03-24') also contain a dash.
    contracts = bars["contract"]
    spread = (
        contracts.str.contains("-", regex=False, na=False) | contracts.str.contains(":", regex=False, na=False)
    ) & ~contracts.str.strip().str.upper().str.fullmatch(_NINJA_CODE.pattern, na=False)
    if spread.any():
        repairs["spread_rows_dropped"] = int(spread.sum())
        bars = bars.loc[~spread.to_numpy()].reset_index(drop=True)
    _check_values(bars, tick, traded_below_zero=spec.price_range[0] < 0)
    bars = _check_plausible(bars, spec, source, repairs)
    raw_codes = bars["contract"]
    if raw_codes.notna().any():
        # Normalise each distinct (code, year) once, then broadcast: no Python loop over bars.
        codes, uniques = pd.factorize(bars["contract"], use_na_sentinel=True)
        pair = codes.astype(np.int64) * 10_000 + bars["ts"].dt.year.to_numpy()
        distinct, inverse = np.unique(pair, return_inverse=True)
        names = np.array(
            [normalize_contract(uniques[p // 10_000], int(p % 10_000)) if p // 10_000 >= 0 else None for p in distinct],
            dtype=object,
        )
        labels, positions = pd.factorize(names, use_na_sentinel=True)  # distinct normalised codes (None -> -1)
        bars["contract"] = pd.Categorical.from_codes(labels[inverse], categories=list(positions))
        _refuse_unknown_codes(bars, raw_codes, source, spec)
    # Normalised codes are root + month + two-digit year: the root is all but the last three characters.
    roots = pd.Series(bars["contract"].cat.categories, dtype="str").str[:-3]
    foreign_codes = np.flatnonzero((roots != source.symbol).to_numpy())
    foreign = np.isin(bars["contract"].cat.codes.to_numpy(), foreign_codes)
    if foreign.any():
        bad = bars.loc[foreign].iloc[0]
        raise BarsError(
            f"{bad['file']}, line {bad['line']}, column contract: {bad['contract']} is not a {source.symbol} contract; "
            "check data.symbol or remove the other market's rows"
        )
    continuous_vendor = bars["contract"].isna().all()
    if continuous_vendor:
        bars["contract"] = _categorical(f"{source.symbol}-continuous", len(bars))
    elif bars["contract"].isna().any():
        bad = bars.loc[bars["contract"].isna()].iloc[0]
        raise BarsError(
            f"{bad['file']}, line {bad['line']}, column contract: not an outright {source.symbol} contract code (its "
            f"months: {spec.listed_months or spec.months}, e.g. {contract_code(source.symbol, 2024, spec.month_numbers[0])}); remove the "
            "row or fix the symbol"
        )
    if not continuous_vendor:
        # Listed months outside the cycle (gold's serial months in a whole-product download): the continuous
        # series never rolls into them, so their rows are dropped and counted.
        cycle = pd.Series(bars["contract"].cat.categories, dtype="str").str[-3].isin(list(spec.months)).to_numpy()
        off_cycle = np.isin(bars["contract"].cat.codes.to_numpy(), np.flatnonzero(~cycle))
        if off_cycle.any():
            repairs["off_cycle_contract_rows_dropped"] = int(off_cycle.sum())
            log.info(
                "dropped %d rows of contracts outside %s's %s cycle", int(off_cycle.sum()), source.symbol, spec.months
            )
            bars = bars.loc[~off_cycle].reset_index(drop=True)
            bars["contract"] = bars["contract"].cat.remove_unused_categories()
    zero = bars["volume"].to_numpy() == 0
    if zero.any():
        repairs["zero_volume_bars_dropped"] = int(zero.sum())
        bars = bars.loc[~zero].reset_index(drop=True)
    bars = _dedupe(bars, repairs)
    bars = _bad_prints(bars, source, repairs)
    bars["trade_date"] = calendar.assign_trade_dates(bars["ts"]).astype("datetime64[s]")
    bars = _coarse_days(bars, source, spec, repairs, warnings)
    open_minute = spec.rth_minutes[0]
    flagged_segments = segment_checks(bars, open_minute=open_minute)
    inside = (bars["trade_date"] >= pd.Timestamp(source.start)) & (bars["trade_date"] <= pd.Timestamp(source.end))
    if (~inside).any():
        repairs["bars_outside_data_range"] = int((~inside).sum())
        bars = bars.loc[inside.to_numpy()].reset_index(drop=True)
    if bars.empty:
        raise BarsError(
            f"no bars between data.start {source.start} and data.end {source.end} in {', '.join(map(str, files))}"
        )
    bars["volume"] = bars["volume"].astype(np.int64)
    canonical = bars[["ts", "open", "high", "low", "close", "volume", "contract", "trade_date"]]
    rolls: list[dict] = []
    if bars["contract"].nunique() > 1:
        rth = calendar.rth_sessions(bars["trade_date"].min(), bars["trade_date"].max(), rth=spec.rth)
        try:
            canonical, rolls = build_continuous(
                canonical, symbol=source.symbol, roll=source.roll, rth_close_utc=rth["rth_close_utc"]
            )
        except ValueError as err:  # a user-data problem: report it as one (the stage exits with the message)
            raise BarsError(
                f"data.roll {source.roll!r}: {err} in {', '.join(map(str, files))}; add that contract's bars for "
                "those dates or use the other data.roll rule"
            ) from None
    else:
        canonical = canonical.sort_values("ts", kind="stable").reset_index(drop=True)
    rows_per_contract = {str(k): int(v) for k, v in bars.groupby("contract", observed=True).size().items()}
    del bars  # the canonical series is all that is needed from here: keep one copy of the bars in memory
    canonical = canonical.assign(contract=canonical["contract"].astype("str"))
    check_canonical(canonical, tick, source=", ".join(map(str, files)))
    check = stamp_check(canonical, open_minute=open_minute)
    check["segments_flagged"] = flagged_segments
    if check["verdict"] in ONE_MINUTE_VERDICTS or flagged_segments:
        message = _one_minute_message(check, flagged_segments, spec, files, stamp)
        if source.stamp_check == "error":
            raise BarsError(message + "; or set data.stamp_check: warn to accept it (recorded in the manifest)")
        warnings.append(message + " (accepted: data.stamp_check: warn)")
        warn(f"TIMESTAMP CONVENTION LOOKS WRONG: {warnings[-1]}", AlmanacWarning, stacklevel=2)
    daily, daily_repairs = read_daily_series(source.daily_paths, source.daily_available_at, root=raw_root)
    # Keep the bars' date range plus a month before it (features need each series' previous value).
    first_date, last_date = canonical["trade_date"].min() - pd.Timedelta(days=31), canonical["trade_date"].max()
    daily = daily.loc[(daily["date"] >= first_date) & (daily["date"] <= last_date)].reset_index(drop=True)
    for key, value in daily_repairs.items():
        repairs[key] = repairs.get(key, 0) + value
    dates = canonical["trade_date"]
    manifest = {
        "source": "files",
        "symbol": source.symbol,
        "format": source.format,
        "files": file_rows,
        "almanac_version": almanac.__version__,
        "timezone_of_files": timezone,
        "timestamp_convention": f"files stamp bar {stamp}; stored as bar start, UTC",
        "tick": tick,
        "roll_rule": source.roll
        if rolls
        else (
            "none: the vendor supplied one continuous series (rolls unknown)"
            if continuous_vendor
            else "none: one contract"
        ),
        "rolls": rolls,
        "rows": {
            "read": int(sum(file_rows.values())),
            "continuous_bars": int(len(canonical)),
            "daily_series": int(len(daily)),
        },
        "rows_per_contract": rows_per_contract,
        "trade_dates": {
            "count": int(dates.nunique()),
            "first": str(dates.min().date()),
            "last": str(dates.max().date()),
        },
        "repairs": dict(sorted(repairs.items())),
        "gaps": gap_report(canonical, rth=spec.rth),
        "stamp_check": check,
        "warnings": warnings,
        "notes": "minutes without trades are absent (never zero-filled)",
    }
    truth = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in TRUTH_COLUMNS.items()})
    return Dataset(bars=canonical, daily=daily, manifest=manifest, truth=truth)
