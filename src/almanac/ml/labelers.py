"""Training labels, one per trade date, from the daily session table.

* ``rest_of_day``: RTH close > the price at the cutoff. The tradable target: a position opened at the cutoff
  earns exactly this move, and its null is 0.5.
* ``direction``: RTH close > RTH open (the original design's binary label). Largely decided by the cutoff:
  with a 10:15 cutoff even a martingale makes it ~70 % predictable, so it flatters every model.
* ``archetype``: the original design's range-completion rule — close in the top / middle / bottom third of the
  RTH range -> TrendUp / Range / TrendDown.

A label is missing (NaN / None) where the session lacks the prices it needs; the trainer drops those days and
reports how many.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.sessions import indexed_by_trade_date

ARCHETYPES = ("TrendDown", "Range", "TrendUp")


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


def build_labels(sessions: pd.DataFrame) -> pd.DataFrame:
    """All labels of the session table, as the ``labels`` stage writes them.

    Parameters
    ----------
    sessions : DataFrame
        The session table (``trade_date`` column or index; RTH ``open, high, low, close`` and ``cutoff_price``).

    Returns
    -------
    DataFrame
        Indexed by ``trade_date``: ``rest_of_day`` and ``direction`` (float 0/1, NaN when unknown) and
        ``archetype`` (str, or missing when unknown).

    Examples
    --------
    >>> import pandas as pd
    >>> sessions = pd.DataFrame({"trade_date": pd.to_datetime(["2024-03-04", "2024-03-05"]),
    ...     "open": [100.0, 100.0], "high": [104.0, 101.0], "low": [99.0, 96.0], "close": [103.5, 97.0],
    ...     "cutoff_price": [101.0, 99.5]})
    >>> build_labels(sessions)  # doctest: +NORMALIZE_WHITESPACE
                rest_of_day  direction  archetype
    trade_date
    2024-03-04          1.0        1.0    TrendUp
    2024-03-05          0.0        0.0  TrendDown
    """
    daily = indexed_by_trade_date(sessions)
    binary = BinaryLabeler()
    out = pd.DataFrame(
        {
            "rest_of_day": binary.label_rest_of_day(daily),
            "direction": binary.label_direction(daily),
            "archetype": DayArchetypeLabeler().label_by_range_completion(daily),
        }
    )
    out.index = pd.DatetimeIndex(out.index, name="trade_date")
    return out
