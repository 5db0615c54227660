"""The public API's inputs checked and normalised at the door (docs/data_contracts.md, *What the public API
accepts*).

Each public function (``almanac.build_sessions``, ``build_features``, ...) passes its frames through
:func:`table` first.  What is convertible without guessing is converted exactly as
:func:`almanac.data_sources.store.read_table` would have read it, so a frame from ``pd.read_parquet`` or
``pd.read_csv`` of the pipeline's own files gives the same bytes out as the stages' path: dates (``datetime.date``
objects, ISO text, any datetime64 unit) become ``datetime64[s]``; timestamps with a timezone (or ISO text with an
offset) become UTC nanoseconds; integer prices become float64, integral floats int64.  What is not convertible fails
with one line naming the function, the argument, the column and what was expected (:class:`InputError`): a missing
column, a wrong dtype, naive timestamps, unsorted or repeated rows.  A frame that already obeys the contract (the
stages' own reads) is returned as it is, not copied: the checks take about 50 ms on the default 3.1 million bars.

Hand-written rather than pandera: pandera's import alone takes 0.36 s and its dtype checks 0.1 s on the default
3.1 million bars, about 3 s over the six stages that would pay them (the budget is 2 % of ``dvc repro --force``,
0.8 s); its messages name neither the function nor the argument, and ``date32`` as pandas reads it (Python dates)
needs a custom coercion anyway.  Values (tick grid, OHLC order, volume > 0) are the bars stage's business
(:func:`almanac.data_sources.validation.check_canonical`), not checked again here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from almanac.config import parse_cutoff

__all__ = ["BARS", "DAILY", "LABELS", "SESSIONS", "InputError", "cutoff", "features", "params", "table"]


class InputError(ValueError):
    """A public function's input breaks its data contract; the message is one line: function, argument, column,
    what was expected."""


UTC, DATE, FLOAT, INT, TEXT, FLAG, BOOL = "utc", "date", "float", "int", "text", "flag", "bool"
_EXPECTED = {
    UTC: "timezone-aware timestamps (UTC)",
    DATE: "dates (datetime64, datetime.date or ISO text)",
    FLOAT: "float64 numbers",
    INT: "int64 integers",
    TEXT: "text (str, object or category)",
    FLAG: "text ('' when complete)",
    BOOL: "bool",
}

BARS = {"ts": UTC, "open": FLOAT, "high": FLOAT, "low": FLOAT, "close": FLOAT, "volume": INT, "contract": TEXT,
        "trade_date": DATE}  # fmt: skip
DAILY = {"symbol": TEXT, "date": DATE, "close": FLOAT, "available_at": UTC}
SESSIONS = {
    "trade_date": DATE,
    **dict.fromkeys(["open", "high", "low", "close"], FLOAT),
    "volume": INT,
    **dict.fromkeys(["eth_open", "eth_high", "eth_low", "eth_close"], FLOAT),
    "eth_volume": INT,
    "prev_close": FLOAT,
    "cutoff_price": FLOAT,
    "half_day": BOOL,
    "roll_day": BOOL,
    "contract": TEXT,
    "rth_bars": INT,
    "partial": FLAG,
}
LABELS = {"trade_date": DATE, "rest_of_day": FLOAT, "direction": FLOAT, "archetype": TEXT}
_DAY_S = 86_400


def _fail(where: str, column: str, what: str) -> InputError:
    return InputError(f"{where}, column {column}: {what}")


def _utc(values: pd.Series, where: str, column: str) -> pd.Series:
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        if str(dtype.tz) == "UTC" and dtype.unit == "ns":
            return values
        return values.dt.tz_convert("UTC").dt.as_unit("ns")
    if dtype.kind == "M":
        raise _fail(where, column, f"expected {_EXPECTED[UTC]}, got naive {dtype} (if they are UTC: "
                                   f".dt.tz_localize('UTC'))")  # fmt: skip
    if dtype.kind not in "OU" and not pd.api.types.is_string_dtype(dtype):
        raise _fail(where, column, f"expected {_EXPECTED[UTC]}, got {dtype}")
    try:
        parsed = pd.to_datetime(values, format="ISO8601")
    except (ValueError, TypeError):
        try:  # offsets that differ (a DST change in local time): each is still a definite instant
            parsed = pd.to_datetime(values, format="ISO8601", utc=True)
        except (ValueError, TypeError):
            raise _fail(where, column, f"expected {_EXPECTED[UTC]}, got values like {values.iloc[0]!r}") from None
    if not isinstance(parsed.dtype, pd.DatetimeTZDtype):
        raise _fail(where, column, f"expected {_EXPECTED[UTC]}, got naive times like {values.iloc[0]!r} (no offset)")
    return _utc(parsed, where, column)


def _parse_dates(values: pd.Series, where: str, column: str) -> pd.Series:
    codes, uniques = pd.factorize(values)  # a few thousand dates over millions of bars: parse each once
    try:
        parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="ISO8601") if len(uniques) else None
    except (ValueError, TypeError):
        raise _fail(where, column, f"expected {_EXPECTED[DATE]}, got values like {uniques[0]!r}") from None
    if parsed is None:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[s]", name=values.name)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        raise _fail(where, column, f"expected {_EXPECTED[DATE]} without a timezone, got values like {uniques[0]!r}")
    taken = parsed.to_numpy().astype("datetime64[s]")[codes]
    taken[codes < 0] = np.datetime64("NaT")
    return pd.Series(taken, index=values.index, name=values.name)


def _date(values: pd.Series, where: str, column: str) -> pd.Series:
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        raise _fail(where, column, f"expected {_EXPECTED[DATE]} without a timezone, got {dtype}")
    if dtype.kind == "M":
        out = values if dtype == "datetime64[s]" else values.astype("datetime64[s]")
    elif dtype.kind in "OU" or pd.api.types.is_string_dtype(dtype):
        out = _parse_dates(values, where, column)
    else:
        raise _fail(where, column, f"expected {_EXPECTED[DATE]}, got {dtype}")
    seconds = out.to_numpy().view(np.int64)
    # Checked on the first row of each run of equal values (a few thousand dates over millions of bars): one
    # comparison per row instead of a NaT test and two divisions; the first bad row starts a run.
    starts = np.flatnonzero(np.concatenate([[True], seconds[1:] != seconds[:-1]])) if len(seconds) else seconds
    if (seconds[starts] == np.iinfo(np.int64).min).any():  # NaT
        raise _fail(where, column, "expected a date on every row, got missing values")
    if (seconds[starts] % _DAY_S).any():
        row = int(starts[np.flatnonzero(seconds[starts] % _DAY_S)[0]])
        raise _fail(where, column, f"expected dates at midnight (a trade date, not an instant), got {out.iloc[row]}")
    return out


def _float(values: pd.Series, where: str, column: str) -> pd.Series:
    dtype = values.dtype
    if dtype == np.float64:
        return values
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return pd.Series(values.to_numpy(dtype=np.float64, na_value=np.nan), index=values.index, name=values.name)
    raise _fail(where, column, f"expected {_EXPECTED[FLOAT]}, got {dtype}")


def _int(values: pd.Series, where: str, column: str) -> pd.Series:
    dtype = values.dtype
    if dtype == np.int64:
        return values
    if pd.api.types.is_integer_dtype(dtype) and not values.hasnans:
        return values.astype(np.int64)
    if pd.api.types.is_float_dtype(dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isfinite(numbers).all() and (numbers == np.round(numbers)).all():
            return pd.Series(numbers.astype(np.int64), index=values.index, name=values.name)
    raise _fail(where, column, f"expected {_EXPECTED[INT]}, got {dtype}")


def _text(values: pd.Series, where: str, column: str) -> pd.Series:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or dtype.kind == "O" or pd.api.types.is_string_dtype(dtype):
        return values
    raise _fail(where, column, f"expected {_EXPECTED[TEXT]}, got {dtype}")


def _flag(values: pd.Series, where: str, column: str) -> pd.Series:
    # pd.read_csv reads '' as NaN, and a column of only '' as float64 NaN: both mean "complete" here.
    if values.dtype.kind == "f" and values.isna().all():
        return pd.Series("", index=values.index, dtype="str", name=values.name)
    values = _text(values, where, column)
    return values.fillna("").astype("str") if values.hasnans else values


def _bool(values: pd.Series, where: str, column: str) -> pd.Series:
    dtype = values.dtype
    if dtype == np.bool_:
        return values
    if pd.api.types.is_bool_dtype(dtype) and not values.hasnans:  # nullable boolean without missing values
        return values.astype(bool)
    raise _fail(where, column, f"expected {_EXPECTED[BOOL]}, got {dtype}")


_CONVERT = {UTC: _utc, DATE: _date, FLOAT: _float, INT: _int, TEXT: _text, FLAG: _flag, BOOL: _bool}


def _sorted(values: np.ndarray, where: str, column: str, shown: pd.Series | pd.Index, fix: str) -> None:
    step = np.diff(values)
    bad = np.flatnonzero(step <= 0)
    if len(bad):
        shown = shown.array if isinstance(shown, pd.Series) else shown
        row = int(bad[0]) + 1
        kind = "repeats" if step[row - 1] == 0 else "is earlier than"
        raise _fail(where, column, f"expected rows in ascending {column} order without repeats; row {row} "
                                   f"({shown[row]}) {kind} row {row - 1} ({shown[row - 1]}) ({fix})")  # fmt: skip


def table(
    frame,
    spec: dict[str, str],
    *,
    fn: str,
    arg: str,
    required: list[str] | tuple[str, ...] | None = None,
    optional: tuple[str, ...] = (),
    sort_by: str | None = None,
    trade_date: str | None = None,
) -> pd.DataFrame:
    """``frame`` checked against ``spec`` (column -> kind) and normalised as the pipeline reads it; raises
    :class:`InputError` (one line naming ``fn``, ``arg`` and the column) if it cannot be.

    ``required`` columns must be present (default: every column of ``spec``); ``optional`` ones are normalised
    when present.  ``trade_date`` places the trade date: ``"index"`` (a ``trade_date`` column becomes the index),
    ``"column"`` (a ``trade_date`` index becomes a column) or ``"either"`` (left where it is); the trade dates
    must then be sorted and unique.  ``sort_by`` names a column that must be strictly increasing (``ts``).
    Columns not in ``spec`` pass through.  The input is never modified; it is returned itself when nothing
    needed converting.
    """
    where = f"{fn}: {arg}"
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{where}: expected a pandas DataFrame, got {type(frame).__name__}")
    required = list(spec) if required is None else list(required)
    in_index = trade_date is not None and frame.index.name == "trade_date" and "trade_date" not in frame.columns
    present = set(frame.columns) | ({"trade_date"} if in_index else set())
    missing = [c for c in required if c not in present]
    if missing:
        hint = f" (it is the index: {arg}.reset_index())" if frame.index.name == missing[0] else ""
        raise InputError(f"{where}: missing column {missing[0]!r}{hint}; expected columns {', '.join(required)}")
    out, given_in_index = frame, in_index
    if trade_date == "index" and not in_index:
        out, in_index = out.set_index("trade_date"), True
    elif trade_date == "column" and in_index:
        out, in_index = out.reset_index(), False
    if in_index:
        index = _date(out.index.to_series(), where, "trade_date")
        if index.dtype != out.index.dtype:
            out = out.set_axis(pd.DatetimeIndex(index, name="trade_date"), axis=0)
    changed = {}
    for column in dict.fromkeys([*required, *optional]):
        if column not in out.columns:
            continue  # an optional column left out, or the trade date in the index
        values = out[column]
        converted = _CONVERT[spec[column]](values, where, column)
        if converted is not values:
            changed[column] = converted
    if changed:
        out = out.assign(**changed)
    if sort_by is not None:
        fix = f"sort them: {arg}.sort_values({sort_by!r})"
        _sorted(pd.DatetimeIndex(out[sort_by]).asi8, where, sort_by, out[sort_by], fix)
    if trade_date is not None:
        dates = out.index if in_index else pd.DatetimeIndex(out["trade_date"])
        fix = f"{arg}.sort_index()" if given_in_index else f"{arg}.sort_values('trade_date')"
        _sorted(pd.DatetimeIndex(dates).asi8, where, "trade_date", dates, f"one row per date: {fix}")
    return out


def features(frame, *, fn: str, arg: str = "features", names: list[str] | None = None) -> pd.DataFrame:
    """A feature table indexed by ``trade_date`` (a ``trade_date`` column becomes the index), one row per date,
    sorted; ``names`` (default every column) must be present and numeric, and become float64."""
    if names is None:
        names = [c for c in frame.columns if c != "trade_date"] if isinstance(frame, pd.DataFrame) else []
    spec = {"trade_date": DATE, **dict.fromkeys(names, FLOAT)}
    return table(frame, spec, fn=fn, arg=arg, trade_date="index")


def params(value, cls: type, *, fn: str, arg: str):
    """``value`` if it is a ``cls`` (a params section) or None; otherwise one line saying what to pass."""
    if value is None or isinstance(value, cls):
        return value
    raise InputError(
        f"{fn}: {arg}: expected almanac.{cls.__name__}, got {type(value).__name__}"
        + (f" (almanac.{cls.__name__}(**{arg}) builds one from a mapping)" if isinstance(value, dict) else "")
    )


def cutoff(value, *, fn: str):
    """The ET decision time: a ``datetime.time``, ``'HH:MM'`` text or None (the default)."""
    if value is None or isinstance(value, dt.time):
        return value
    try:
        return parse_cutoff(value)
    except ValueError as err:
        raise InputError(f"{fn}: cutoff: {err}") from None
