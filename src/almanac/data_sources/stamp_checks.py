"""Is the timestamp convention what the files declare?  Evidence from the volume profile and the daily halt.

Two mistakes are look-ahead: stamps a minute off (bar ends read as bar starts, or the reverse) and clocks some whole
hours off (a file, or part of one, written in another timezone).  :func:`stamp_check` says where the cash-open
volume jump lands (it must land in the bar labelled with the instrument's RTH open: 09:30 ET for ES, 09:00 for CL);
:func:`segment_checks` repeats it per file and month and refuses a whole-hour shift, judged by where the daily
Globex halt is empty (17:15-18:00 ET, never traded) and, where the files hold no whole days, by where the open's
volume jump or each day's first bar is.  The one-minute verdict is reported (the caller refuses or warns, by
``data.stamp_check``); a whole-hour shift is an error naming the file and lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from almanac import calendar, numerics
from almanac.config import DataParams
from almanac.errors import BarsError
from almanac.instruments import Instrument, instrument, root_of_all

ONE_MINUTE_VERDICTS = ("looks end-stamped", "looks early by a minute")


def one_minute_message(check: dict, flagged: list[dict], spec: Instrument, *, files: list[Path], stamp: str) -> str:
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
    minute = calendar.wall_clock_ns(bars["ts"], calendar.ET) // calendar.BAR_NS % 1440  # ET minute of the day
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
    wall_minute = calendar.wall_clock_ns(bars["ts"], calendar.ET) // calendar.BAR_NS  # ET minutes since 1970
    minute = wall_minute % 1440  # ET minute of the day
    file_code, files = pd.factorize(bars["file"])
    day = bars["trade_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    # Each date's month and day of the month from a table of the few thousand dates spanned (a calendar conversion
    # of every bar is slow).
    first = int(day.min())
    month_of = np.arange(first, int(day.max()) + 1).astype("datetime64[D]").astype("datetime64[M]")
    since_first = day - first
    month = month_of.astype(np.int64)[since_first]
    day_of_month = (day - month_of.astype("datetime64[D]").astype(np.int64)[since_first]).astype(np.intp)
    segment, keys = pd.factorize(file_code.astype(np.int64) * 100_000 + month)
    n = len(keys)
    volume = bars["volume"].to_numpy(dtype=np.float64)
    cell = segment * 1440 + minute  # (segment, ET minute of the day)
    profile = np.bincount(cell, weights=volume, minlength=n * 1440).reshape(n, 1440)
    # Trade dates per segment: a segment is one month, so (segment, day of the month) cells, no sort of the bars.
    days = (np.bincount(segment * 31 + day_of_month, minlength=n * 31).reshape(n, 31) > 0).sum(axis=1)
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
    counts = np.bincount(cell, minlength=n * 1440).reshape(n, 1440)
    del cell
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
    _refuse_shift_from_a_day(bars, wall_minute=wall_minute, file_code=file_code, files=files, shifts=shifts)
    del wall_minute
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
    bars: pd.DataFrame, *, wall_minute: np.ndarray, file_code: np.ndarray, files, shifts: np.ndarray
) -> None:
    """A clock shift that starts on any day, not only one that covers a month: per file and ET calendar day holding
    a whole day of trading (bars in 20 of 24 hours, from 2012-11-19 on), the daily halt (17:15-18:00 ET, never
    traded) must be empty; a day with bars in it while the same window some whole hours away is empty is shifted.
    The first such day is named with its first line (``wall_minute``: ET wall-clock minutes since 1970 of each
    bar; ``file_code`` indexes ``files``).  Calendar days, not trade dates: a shifted bar is assigned to a trade
    date by its shifted stamp, which scatters a shifted Globex day over two trade dates."""
    calendar_day = wall_minute // 1440  # the ET calendar day, in days since the epoch
    first, span = int(calendar_day.min()), int(calendar_day.max() - calendar_day.min()) + 1
    # (file, day, minute of the day) as a direct index: a few thousand days, no hashing of millions of keys
    cell = file_code.astype(np.int64) * (span * 1440) + (wall_minute - first * 1440)
    del calendar_day
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
