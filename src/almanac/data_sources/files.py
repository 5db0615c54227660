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

This module assembles the dataset (:func:`build_file_dataset`: the steps in order, the manifest); the steps are in
the modules of their concern: which files (:mod:`~almanac.data_sources.raw_files`), reading one file
(:mod:`~almanac.data_sources.readers`), the checks and repairs of the bars (:mod:`~almanac.data_sources.cleaning`),
contract codes (:mod:`~almanac.data_sources.contract_codes`), the timestamp convention
(:mod:`~almanac.data_sources.stamp_checks`).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from warnings import warn  # `warnings` is the manifest's list here

import numpy as np
import pandas as pd
import pyarrow as pa

from almanac import calendar, version
from almanac.config import DataParams
from almanac.data_sources.canonical import Dataset
from almanac.data_sources.cleaning import (
    check_interval,
    check_plausible,
    check_values,
    dedupe,
    drop_bad_prints,
    drop_coarse_days,
)
from almanac.data_sources.columns import parse_column_map
from almanac.data_sources.contract_codes import (
    contract_from_filename,
    normalized_codes,
    off_cycle_rows,
    refuse_missing_codes,
    refuse_other_markets,
    refuse_unknown_codes,
    repeated_code,
    spread_rows,
)
from almanac.data_sources.contracts import build_continuous
from almanac.data_sources.daily import read_daily_series
from almanac.data_sources.raw_files import expand_paths
from almanac.data_sources.readers import read_bars_file
from almanac.data_sources.stamp_checks import ONE_MINUTE_VERDICTS, one_minute_message, segment_checks, stamp_check
from almanac.data_sources.validation import CANONICAL_COLUMNS, check_canonical
from almanac.errors import AlmanacWarning, BarsError
from almanac.instruments import Instrument, instrument
from almanac.sessions import day_rows

log = logging.getLogger(__name__)
TRUTH_COLUMNS = {"trade_date": "datetime64[s]", "sigma": "float64", "z": "float64", "s": "float64"}


def build_file_dataset(source: DataParams, *, raw_root: Path | None = None) -> Dataset:
    """Read, validate and assemble the user's files (see the module docstring); with ``raw_root`` (the
    ``bars`` stage passes :data:`~almanac.data_sources.raw_files.RAW_ROOT`) every file must lie inside it."""
    spec = instrument(source.symbol)
    column_map = parse_column_map(source.columns) if source.format == "generic" else None
    files = expand_paths(source.paths, root=raw_root)
    repairs: dict[str, int] = {}  # what was changed, counted by kind in the manifest
    warnings: list[str] = []  # what was accepted with a param: kept in the manifest, shown by info, report, Lab
    bars, file_rows, timezone, stamp = _read_files(files, source, column_map, repairs)
    # Each step returns the bars it keeps; rebinding `bars` frees the previous copy (twenty years of bars are GBs).
    # Calendar spreads go before the value checks: their prices are differences (negative, off the tick grid).
    bars = _drop_rows(bars, spread_rows(bars["contract"]), "spread_rows_dropped", repairs)
    check_values(bars, spec.tick, traded_below_zero=spec.price_range[0] < 0)
    bars = check_plausible(bars, spec, source, repairs=repairs)
    bars, continuous_vendor = _resolve_contracts(bars, source, spec, repairs)
    bars = _drop_rows(bars, bars["volume"].to_numpy() == 0, "zero_volume_bars_dropped", repairs)
    bars = dedupe(bars, repairs)
    bars = drop_bad_prints(bars, source, repairs)
    bars["trade_date"] = calendar.assign_trade_dates(bars["ts"]).astype("datetime64[s]")
    bars = drop_coarse_days(bars, source, spec, repairs=repairs, warnings=warnings)
    flagged_segments = segment_checks(bars, open_minute=spec.rth_minutes[0])
    bars = _within_dates(bars, source, files, repairs)
    bars["volume"] = bars["volume"].astype(np.int64)
    canonical, rolls = _continuous_series(bars, source, spec, files)
    rows_per_contract = {str(k): int(v) for k, v in bars.groupby("contract", observed=True).size().items()}
    del bars  # the canonical series is all that is needed from here: keep one copy of the bars in memory
    canonical = canonical.assign(contract=_as_text(canonical["contract"]))
    check_canonical(canonical, spec.tick, source=", ".join(map(str, files)))
    check = _check_stamps(canonical, flagged_segments, source, spec, files, stamp, warnings)
    daily = _daily_series(source, canonical, raw_root, repairs)
    manifest = _manifest(
        source,
        spec,
        canonical,
        daily,
        file_rows=file_rows,
        timezone=timezone,
        stamp=stamp,
        rolls=rolls,
        continuous_vendor=continuous_vendor,
        rows_per_contract=rows_per_contract,
        repairs=repairs,
        check=check,
        warnings=warnings,
    )
    truth = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in TRUTH_COLUMNS.items()})
    return Dataset(bars=canonical, daily=daily, manifest=manifest, truth=truth)


def _read_files(
    files: list[Path], source: DataParams, column_map: dict[str, str] | None, repairs: dict[str, int]
) -> tuple[pd.DataFrame, dict[str, int], str, str]:
    """Every file read (:func:`~almanac.data_sources.readers.read_bars_file`) and its bar interval checked, then
    all concatenated in order.  Returns the bars (``file`` and ``contract`` categorical; a file without contract
    codes takes the one in its name, if any), the rows read per file, and the timezone and stamp convention the
    files were read with; the readers' repairs are added to ``repairs``."""
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
            frame["contract"] = repeated_code(contract_from_filename(path), len(frame))
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
    return bars, file_rows, timezone, stamp


def _as_text(codes: pd.Series) -> pd.Series:
    """A contract column as ``str`` (the stored type); a categorical one by taking its converted categories."""
    if not isinstance(codes.dtype, pd.CategoricalDtype):
        return codes.astype("str")
    # astype("str") of a categorical makes a Python string per row (1.2 s on twenty years of bars); taking the few
    # converted categories by the codes is the same array (code -1 stays missing), tested.
    text = pd.array(np.asarray(codes.cat.categories, dtype=object), dtype="str")
    return pd.Series(text.take(codes.cat.codes.to_numpy(), allow_fill=True), index=codes.index, name=codes.name)


def _drop_rows(bars: pd.DataFrame, drop: np.ndarray, repair: str, repairs: dict[str, int]) -> pd.DataFrame:
    """``bars`` without the rows of the mask ``drop``, counted as ``repairs[repair]`` (when there are any)."""
    if not drop.any():
        return bars
    repairs[repair] = int(drop.sum())
    return bars.loc[~drop].reset_index(drop=True)


def _resolve_contracts(
    bars: pd.DataFrame, source: DataParams, spec: Instrument, repairs: dict[str, int]
) -> tuple[pd.DataFrame, bool]:
    """Contract codes normalised (:mod:`~almanac.data_sources.contract_codes`; unknown codes, other markets' and
    rows without a code among coded ones are errors), off-cycle contracts dropped and counted.  Returns the bars
    and whether the vendor supplied one continuous series (no codes at all: ``<symbol>-continuous``)."""
    raw_codes = bars["contract"]
    if raw_codes.notna().any():
        bars = bars.assign(contract=normalized_codes(raw_codes, bars["ts"].dt.year.to_numpy()))
        refuse_unknown_codes(bars, raw_codes, source=source, spec=spec)
    refuse_other_markets(bars, source.symbol)
    continuous_vendor = bars["contract"].isna().all()
    if continuous_vendor:
        return bars.assign(contract=repeated_code(f"{source.symbol}-continuous", len(bars))), continuous_vendor
    refuse_missing_codes(bars, source, spec)
    off_cycle = off_cycle_rows(bars["contract"], spec)
    if off_cycle.any():
        repairs["off_cycle_contract_rows_dropped"] = int(off_cycle.sum())
        log.info("dropped %d rows of contracts outside %s's %s cycle", int(off_cycle.sum()), source.symbol, spec.months)
        bars = bars.loc[~off_cycle].reset_index(drop=True)
        bars["contract"] = bars["contract"].cat.remove_unused_categories()
    return bars, continuous_vendor


def _within_dates(bars: pd.DataFrame, source: DataParams, files: list[Path], repairs: dict[str, int]) -> pd.DataFrame:
    """The bars of the trade dates from ``data.start`` to ``data.end`` (those outside counted); none is an error."""
    inside = (bars["trade_date"] >= pd.Timestamp(source.start)) & (bars["trade_date"] <= pd.Timestamp(source.end))
    bars = _drop_rows(bars, ~inside.to_numpy(), "bars_outside_data_range", repairs)
    if bars.empty:
        raise BarsError(
            f"no bars between data.start {source.start} and data.end {source.end} in {', '.join(map(str, files))}"
        )
    return bars


def _continuous_series(
    bars: pd.DataFrame, source: DataParams, spec: Instrument, files: list[Path]
) -> tuple[pd.DataFrame, list[dict]]:
    """The canonical columns as one series in time order, with its rolls: the front contract of each trade date by
    ``data.roll`` when the bars hold several contracts (a contract missing where it is needed is an error)."""
    canonical = bars[list(CANONICAL_COLUMNS)]
    if bars["contract"].nunique() <= 1:
        return canonical.sort_values("ts", kind="stable").reset_index(drop=True), []
    rth = calendar.rth_sessions(bars["trade_date"].min(), bars["trade_date"].max(), rth=spec.rth)
    try:
        return build_continuous(canonical, symbol=source.symbol, roll=source.roll, rth_close_utc=rth["rth_close_utc"])
    except ValueError as err:  # a user-data problem: report it as one (the stage exits with the message)
        raise BarsError(
            f"data.roll {source.roll!r}: {err} in {', '.join(map(str, files))}; add that contract's bars for "
            "those dates or use the other data.roll rule"
        ) from None


def _check_stamps(
    canonical: pd.DataFrame,
    flagged_segments: list[dict],
    source: DataParams,
    spec: Instrument,
    files: list[Path],
    stamp: str,
    warnings: list[str],
) -> dict:
    """The manifest's ``stamp_check`` (:func:`~almanac.data_sources.stamp_checks.stamp_check` with the segments
    :func:`~almanac.data_sources.stamp_checks.segment_checks` flagged); a stamp a minute off anywhere is an error,
    or with ``data.stamp_check: warn`` a warning added to ``warnings``."""
    check = stamp_check(canonical, open_minute=spec.rth_minutes[0])
    check["segments_flagged"] = flagged_segments
    if check["verdict"] in ONE_MINUTE_VERDICTS or flagged_segments:
        message = one_minute_message(check, flagged_segments, spec, files=files, stamp=stamp)
        if source.stamp_check == "error":
            raise BarsError(message + "; or set data.stamp_check: warn to accept it (recorded in the manifest)")
        warnings.append(message + " (accepted: data.stamp_check: warn)")
        # stacklevel: the warning points at the caller of build_file_dataset
        warn(f"TIMESTAMP CONVENTION LOOKS WRONG: {warnings[-1]}", AlmanacWarning, stacklevel=3)
    return check


def _daily_series(
    source: DataParams, canonical: pd.DataFrame, raw_root: Path | None, repairs: dict[str, int]
) -> pd.DataFrame:
    """The cross-asset daily series of ``data.daily_paths`` over the bars' dates (their repairs added to
    ``repairs``)."""
    daily, daily_repairs = read_daily_series(source.daily_paths, source.daily_available_at, root=raw_root)
    # Keep the bars' date range plus a month before it (features need each series' previous value).
    first_date, last_date = canonical["trade_date"].min() - pd.Timedelta(days=31), canonical["trade_date"].max()
    daily = daily.loc[(daily["date"] >= first_date) & (daily["date"] <= last_date)].reset_index(drop=True)
    for key, value in daily_repairs.items():
        repairs[key] = repairs.get(key, 0) + value
    return daily


def _manifest(
    source: DataParams,
    spec: Instrument,
    canonical: pd.DataFrame,
    daily: pd.DataFrame,
    *,
    file_rows: dict[str, int],
    timezone: str,
    stamp: str,
    rolls: list[dict],
    continuous_vendor: bool,
    rows_per_contract: dict[str, int],
    repairs: dict[str, int],
    check: dict,
    warnings: list[str],
) -> dict:
    """The provenance of the files' dataset (docs/data_contracts.md): what was read, how, what was repaired."""
    dates = canonical["trade_date"]
    return {
        "source": "files",
        "symbol": source.symbol,
        "format": source.format,
        "files": file_rows,
        "almanac_version": version.__version__,
        "timezone_of_files": timezone,
        "timestamp_convention": f"files stamp bar {stamp}; stored as bar start, UTC",
        "tick": spec.tick,
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


def gap_report(bars: pd.DataFrame, *, rth: tuple[dt.time, dt.time] | None = None) -> dict:
    """RTH minutes (of the window ``rth``, ET; default the equity indices') without a bar, per trade date
    (reported, never filled)."""
    windows = calendar.rth_sessions(bars["trade_date"].min(), bars["trade_date"].max(), rth=rth)
    day = pd.DatetimeIndex(bars["trade_date"])
    # Each bar's row of the session table, looked up once for both bounds; a date not in it gets NaT's INT64 min
    # (no bar is in its RTH), as the reindexed NaT did.
    row = day_rows(bars, windows)
    nat = np.iinfo(np.int64).min
    open_ns = np.append(calendar.epoch_ns(windows["rth_open_utc"]), nat)[row]
    close_ns = np.append(calendar.epoch_ns(windows["rth_close_utc"]), nat)[row]
    ts = calendar.epoch_ns(bars["ts"])
    in_rth = (ts >= open_ns) & (ts < close_ns)
    if (row >= 0).all():  # RTH bars per date counted by the table's rows (no grouping of every bar by its date)
        seen = np.bincount(row, minlength=len(windows)) > 0
        counts = np.bincount(row[in_rth], minlength=len(windows))[seen]
        present = pd.Series(counts, index=pd.DatetimeIndex(windows.index[seen], name=None))
    else:
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
