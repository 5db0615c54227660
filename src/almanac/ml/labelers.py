"""Training labels, one per trade date, from the daily session table (and, for the archetypes, the minute bars).

* ``rest_of_day``: RTH close > the price at the cutoff. The tradable target: a position opened at the cutoff
  earns exactly this move, and its null is 0.5.
* ``direction``: RTH close > RTH open (the original design's binary label). Largely decided by the cutoff:
  with a 10:15 cutoff even a martingale makes it ~70 % predictable, so it flatters every model.
* ``archetype``: the day's type, by ``labels.archetype_rule``: ``intraday_structure`` (docs/honesty.md, from the RTH
  minute bars: TrendUp, TrendDown, ReversalUp, ReversalDown, Range, Other) or ``range_completion`` (the original
  design's daily-OHLC variant: close in the top / middle / bottom third of the RTH range -> TrendUp / Range /
  TrendDown).  How the classes trade: :data:`almanac.ml.decision.ARCHETYPE_SIDES`.

A label is missing (NaN / None) where the session lacks the prices it needs (a partial session, or the first
``features.atr_days`` sessions, which have no volatility scale yet); the trainer drops those days and reports
how many.  Labels describe the whole day: they are targets, never features.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from almanac import calendar, schemas
from almanac.config import DEFAULTS, LabelsParams
from almanac.errors import AlmanacWarning
from almanac.features.regime import atr_through_previous
from almanac.sessions import DayGroups, bar_masks, day_rows, indexed_by_trade_date, session_windows, symbol_of

ARCHETYPES = ("TrendDown", "Range", "TrendUp")  # range completion
STRUCTURES = ("TrendUp", "TrendDown", "ReversalUp", "ReversalDown", "Range", "Other")  # intraday structure


def _binary(condition: pd.Series, *inputs: pd.Series) -> pd.Series:
    known = pd.concat(inputs, axis=1).notna().all(axis=1)
    return condition.astype("float64").where(known)


class BinaryLabeler:
    """Binary labels: 1 (up) or 0 (down or unchanged)."""

    def label_direction(self, df_daily: pd.DataFrame) -> pd.Series:
        """Close > Open (1) or not (0); NaN where either is missing."""
        return _binary(df_daily["close"] > df_daily["open"], df_daily["close"], df_daily["open"]).rename("direction")

    def label_rest_of_day(self, df_daily: pd.DataFrame) -> pd.Series:
        """Close > cutoff price (1) or not (0); NaN where either is missing."""
        return _binary(
            df_daily["close"] > df_daily["cutoff_price"], df_daily["close"], df_daily["cutoff_price"]
        ).rename("rest_of_day")


def intraday_structure(df_minute: pd.DataFrame, df_daily: pd.DataFrame, *, band: float) -> pd.DataFrame:
    """Per trade date of ``df_daily`` (indexed by it), from its RTH minute bars: ``t_high`` and ``t_low`` (start
    of the first bar that reaches the day's RTH high / low) and ``swings``, the number of alternations between
    tests of the high and tests of the low (a bar tests the high when its high is within ``band`` x R of it, the
    low likewise; a bar that does both is neither).  Grouped, no loop per day."""
    days = df_daily.index
    never = pd.Series(pd.NaT, index=days, dtype="datetime64[ns, UTC]")
    out = pd.DataFrame({"t_high": never, "t_low": never, "swings": np.zeros(len(days), dtype=np.int64)}, index=days)
    if len(days) == 0 or len(df_minute) == 0:
        return out
    # The sessions' own RTH mask (the cutoff it also computes is not used here); a bar of a day that is not in
    # df_daily has no window row (-1) and is outside every mask.
    windows = session_windows(days, DEFAULTS.features.cutoff_time, symbol=symbol_of(df_minute))
    rows = day_rows(df_minute, windows)
    if not (rows >= 0).any():
        return out
    rth = bar_masks(df_minute, windows, rows=rows)[0]
    ts, high, low = (
        calendar.epoch_ns(df_minute["ts"])[rth],
        df_minute["high"].to_numpy()[rth],
        df_minute["low"].to_numpy()[rth],
    )
    rows = rows[rth]
    if len(ts) > 1 and not (ts[1:] >= ts[:-1]).all():  # each day's bars in time order (a stable sort, as before)
        order = np.argsort(ts, kind="stable")
        ts, high, low, rows = ts[order], high[order], low[order], rows[order]
    # Grouped on the arrays (DayGroups: one reduceat per column over the days' runs), not by a groupby.
    groups = DayGroups(rows, len(days))
    day_high, day_low = groups.max(high)[rows], groups.min(low)[rows]
    nat = np.iinfo(np.int64).min
    for column, reached in (("t_high", high == day_high), ("t_low", low == day_low)):
        first = DayGroups(rows[reached], len(days)).first(ts[reached], fill=nat)
        out[column] = pd.DatetimeIndex(first.view("M8[ns]")).tz_localize("UTC")
    width = band * (day_high - day_low)
    zone = (high >= day_high - width).astype(np.int8) - (low <= day_low + width).astype(np.int8)
    tests = zone != 0
    z, d = zone[tests], rows[tests]
    changed = (z[1:] != z[:-1]) & (d[1:] == d[:-1])
    out["swings"] = DayGroups(d[1:], len(days)).sum(changed)
    return out


class DayArchetypeLabeler:
    """Multi-class day types."""

    def label_by_range_completion(self, df_daily: pd.DataFrame) -> pd.Series:
        """TrendUp: close in the top third of the RTH range; TrendDown: bottom third; Range: middle third.

        A zero-range day (high == low) is Range.  Missing prices give None.
        """
        high, low, close = df_daily["high"], df_daily["low"], df_daily["close"]
        span = high - low
        location = ((close - low) / span.where(span > 0)).fillna(0.5)
        label = np.select([location >= 2 / 3, location <= 1 / 3], ["TrendUp", "TrendDown"], default="Range")
        out = pd.Series(label, index=df_daily.index, dtype="str", name="archetype")
        return out.where(pd.concat([high, low, close], axis=1).notna().all(axis=1))

    def label_by_intraday_structure(
        self,
        df_minute: pd.DataFrame,
        df_daily: pd.DataFrame,
        *,
        settings: LabelsParams | None = None,
        atr_days: int | None = None,
        scale: pd.Series | None = None,
    ) -> pd.Series:
        """The day archetypes of docs/honesty.md from the RTH session and its minute bars, checked in this order.

        With R = H - L, body B = C - O, close location CLV = (C - L) / R, open location OLV = (O - L) / R and
        ``scale`` the Wilder ATR of the RTH sessions through the previous day (``atr_days``, default
        ``features.atr_days``), thresholds from ``settings`` (``labels.*``):

        * TrendUp: B >= ``trend_body`` R, OLV <= ``trend_open_location``, CLV >= ``trend_close_location``,
          R >= ``trend_min_range`` scale; TrendDown mirrored;
        * ReversalUp: the low comes before the high, O - L >= ``reversal_extension`` R and CLV >=
          ``reversal_close_location`` (an early fall, then a close at the top); ReversalDown mirrored;
        * Range: |B| <= ``range_body`` R, R <= ``range_max_range`` scale, CLV within [``range_close_location``,
          1 - ``range_close_location``] and at least ``range_min_swings`` alternations between tests of the high
          and of the low (:func:`intraday_structure`);
        * Other: everything else, including a day without range.

        None where the session's prices, its bars or the scale are missing.
        """
        settings = settings or DEFAULTS.labels
        daily = indexed_by_trade_date(df_daily)
        o, h, lo, c = (daily[k].astype(float) for k in ("open", "high", "low", "close"))
        if scale is None:
            scale = atr_through_previous(daily, atr_days or DEFAULTS.features.atr_days)
        scale = scale.reindex(daily.index)
        shape = intraday_structure(df_minute, daily, band=settings.range_band)
        r = h - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            body, clv, olv = c - o, (c - lo) / r, (o - lo) / r
        big = r >= settings.trend_min_range * scale
        conditions = {
            "TrendUp": (body >= settings.trend_body * r) & (olv <= settings.trend_open_location)
            & (clv >= settings.trend_close_location) & big,
            "TrendDown": (-body >= settings.trend_body * r) & (olv >= 1 - settings.trend_open_location)
            & (clv <= 1 - settings.trend_close_location) & big,
            "ReversalUp": (shape["t_low"] < shape["t_high"]) & (o - lo >= settings.reversal_extension * r)
            & (clv >= settings.reversal_close_location),
            "ReversalDown": (shape["t_high"] < shape["t_low"]) & (h - o >= settings.reversal_extension * r)
            & (clv <= 1 - settings.reversal_close_location),
            "Range": (body.abs() <= settings.range_body * r) & (r <= settings.range_max_range * scale)
            & (clv >= settings.range_close_location) & (clv <= 1 - settings.range_close_location)
            & (shape["swings"] >= settings.range_min_swings),
        }  # fmt: skip
        positive = (r > 0).to_numpy()
        label = np.select(
            [positive & m.fillna(False).to_numpy(dtype=bool) for m in conditions.values()],
            list(conditions),
            default="Other",
        )
        known = pd.concat([o, h, lo, c, scale, shape["t_high"], shape["t_low"]], axis=1).notna().all(axis=1)
        return pd.Series(label, index=daily.index, dtype="str", name="archetype").where(known)


def build_labels(
    sessions: pd.DataFrame,
    bars: pd.DataFrame | None = None,
    *,
    settings: LabelsParams | None = None,
    atr_days: int | None = None,
) -> pd.DataFrame:
    """All labels of the session table, as the ``labels`` stage writes them.

    Parameters
    ----------
    sessions : DataFrame
        The session table (``trade_date`` column or index, one row per date, sorted; RTH ``open, high, low,
        close`` and ``cutoff_price``; ``prev_close`` for the archetypes' volatility scale).
    bars : DataFrame, optional
        Canonical minute bars (``ts, high, low, contract, trade_date``, sorted by ``ts``): needed by the
        ``intraday_structure`` archetype rule (without them the ``archetype`` column is empty, with a warning).
        Both frames as the stages read them, as ``load_bars`` returns them or as ``pd.read_parquet``/
        ``pd.read_csv`` reads the pipeline's files (:mod:`almanac.schemas`); neither is modified.
    settings : LabelsParams, optional
        ``labels.*`` (the archetype rule and its thresholds); default the schema's.
    atr_days : int, optional
        Length of the archetypes' volatility scale; default ``features.atr_days``.

    Returns
    -------
    DataFrame
        Indexed by ``trade_date``: ``rest_of_day`` and ``direction`` (float 0/1, NaN when unknown) and
        ``archetype`` (str, or missing when unknown).

    Raises
    ------
    almanac.schemas.InputError
        A frame breaks its data contract (a missing column, a wrong dtype, unsorted or repeated dates) or
        ``settings`` is not a :class:`~almanac.config.LabelsParams`.

    Examples
    --------
    >>> import pandas as pd
    >>> sessions = pd.DataFrame({"trade_date": pd.to_datetime(["2024-03-04", "2024-03-05"]),
    ...     "open": [100.0, 100.0], "high": [104.0, 101.0], "low": [99.0, 96.0], "close": [103.5, 97.0],
    ...     "cutoff_price": [101.0, 99.5]})
    >>> build_labels(sessions, settings=LabelsParams(archetype_rule="range_completion"))  # doctest: +NORMALIZE_WHITESPACE
                rest_of_day  direction  archetype
    trade_date
    2024-03-04          1.0        1.0    TrendUp
    2024-03-05          0.0        0.0  TrendDown
    """
    settings = schemas.params(settings, LabelsParams, fn="build_labels", arg="settings") or DEFAULTS.labels
    structure = settings.archetype_rule == "intraday_structure" and bars is not None
    needed = ["trade_date", "open", "high", "low", "close", "cutoff_price", *(["prev_close"] if structure else [])]
    sessions = schemas.table(sessions, schemas.SESSIONS, fn="build_labels", arg="sessions", required=needed,
                             trade_date="either")  # fmt: skip
    if bars is not None:
        bars = schemas.table(bars, schemas.BARS, fn="build_labels", arg="bars", sort_by="ts",
                             required=("ts", "high", "low", "contract", "trade_date"))  # fmt: skip
    daily = indexed_by_trade_date(sessions)
    binary = BinaryLabeler()
    archetypes = DayArchetypeLabeler()
    if settings.archetype_rule == "range_completion":
        archetype = archetypes.label_by_range_completion(daily)
    elif bars is None:  # the binary labels need no bars; say loudly that the archetypes were not computed
        warnings.warn(
            "archetype labels by intraday structure need the minute bars: build_labels(sessions, bars); the "
            "archetype column is left empty (labels.archetype_rule range_completion needs only the sessions)",
            AlmanacWarning,
            stacklevel=2,
        )
        archetype = pd.Series(None, index=daily.index, dtype="str", name="archetype")
    else:
        archetype = archetypes.label_by_intraday_structure(bars, daily, settings=settings, atr_days=atr_days)
    out = pd.DataFrame(
        {
            "rest_of_day": binary.label_rest_of_day(daily),
            "direction": binary.label_direction(daily),
            "archetype": archetype,
        }
    )
    out.index = pd.DatetimeIndex(out.index, name="trade_date")
    return out
