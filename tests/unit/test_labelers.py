"""Labels on tiny hand-made session tables: exact values, ties, missing prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from almanac.config import LabelsParams
from almanac.ml.labelers import ARCHETYPES, BinaryLabeler, DayArchetypeLabeler, build_labels

NAN = np.nan


def daily(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(
        {k: np.asarray(v, dtype=float) for k, v in columns.items()},
        index=pd.bdate_range("2024-03-04", periods=n, name="trade_date"),
    )


# --- BinaryLabeler -----------------------------------------------------------------------------------------


def test_label_direction_exact_values_ties_and_missing():
    frame = daily(open=[100.0, 100.0, 100.0, NAN, 100.0], close=[101.0, 99.0, 100.0, 100.0, NAN])
    out = BinaryLabeler().label_direction(frame)
    assert out.name == "direction"
    assert out.dtype == np.float64
    # up -> 1, down -> 0, unchanged -> 0, a missing open or close -> NaN
    np.testing.assert_array_equal(out.to_numpy(), [1.0, 0.0, 0.0, NAN, NAN])
    pd.testing.assert_index_equal(out.index, frame.index)


def test_label_rest_of_day_compares_close_with_the_cutoff_price():
    frame = daily(
        open=[90.0, 110.0, 100.0, 100.0, 100.0],
        cutoff_price=[100.0, 100.0, 100.0, NAN, 100.0],
        close=[100.25, 99.75, 100.0, 101.0, NAN],
    )
    out = BinaryLabeler().label_rest_of_day(frame)
    assert out.name == "rest_of_day"
    np.testing.assert_array_equal(out.to_numpy(), [1.0, 0.0, 0.0, NAN, NAN])


def test_rest_of_day_and_direction_differ_when_the_open_to_cutoff_move_decides():
    # opened 90, 10:15 at 100, closed 95: up on the day, down after the cutoff
    frame = daily(open=[90.0], cutoff_price=[100.0], close=[95.0])
    assert BinaryLabeler().label_direction(frame).iloc[0] == 1.0
    assert BinaryLabeler().label_rest_of_day(frame).iloc[0] == 0.0


def test_binary_labels_do_not_mutate_the_input():
    frame = daily(open=[100.0, NAN], cutoff_price=[101.0, 99.0], close=[102.0, 98.0])
    before = frame.copy()
    BinaryLabeler().label_direction(frame)
    BinaryLabeler().label_rest_of_day(frame)
    pd.testing.assert_frame_equal(frame, before)


# --- DayArchetypeLabeler -----------------------------------------------------------------------------------


def test_range_completion_thirds():
    # range 100-110: close location 0.9, 0.1, 0.5, 0.7, 0.3; then a zero-range day
    frame = daily(
        high=[110.0, 110.0, 110.0, 110.0, 110.0, 100.0],
        low=[100.0, 100.0, 100.0, 100.0, 100.0, 100.0],
        close=[109.0, 101.0, 105.0, 107.0, 103.0, 100.0],
    )
    out = DayArchetypeLabeler().label_by_range_completion(frame)
    assert out.name == "archetype"
    assert out.tolist() == ["TrendUp", "TrendDown", "Range", "TrendUp", "TrendDown", "Range"]


@pytest.mark.parametrize("missing", ["high", "low", "close"])
def test_range_completion_missing_price_gives_missing_label(missing):
    prices = {"high": [110.0, 110.0], "low": [100.0, 100.0], "close": [109.0, 109.0]}
    prices[missing] = [prices[missing][0], NAN]
    out = DayArchetypeLabeler().label_by_range_completion(daily(**prices))
    assert out.iloc[0] == "TrendUp"
    assert pd.isna(out.iloc[1])


def test_range_completion_is_a_string_series_of_known_archetypes():
    rng = np.random.default_rng(0)
    low = 4000 + rng.normal(0, 10, 50)
    high = low + rng.uniform(0, 40, 50)
    close = low + rng.uniform(0, 1, 50) * (high - low)
    out = DayArchetypeLabeler().label_by_range_completion(daily(high=high, low=low, close=close))
    assert pd.api.types.is_string_dtype(out)
    assert set(out) <= set(ARCHETYPES)
    location = (close - low) / (high - low)
    np.testing.assert_array_equal(out.to_numpy() == "TrendUp", location >= 2 / 3)
    np.testing.assert_array_equal(out.to_numpy() == "TrendDown", location <= 1 / 3)


# --- build_labels ------------------------------------------------------------------------------------------


def test_build_labels_columns_and_values():
    sessions = daily(
        open=[100.0, 100.0, 100.0],
        high=[110.0, 104.0, 100.0],
        low=[99.0, 94.0, 100.0],
        cutoff_price=[101.0, 103.0, 100.0],
        close=[109.0, 95.0, 100.0],
    ).reset_index()
    completion = LabelsParams(archetype_rule="range_completion")
    out = build_labels(sessions, settings=completion)
    assert list(out.columns) == ["rest_of_day", "direction", "archetype"]
    assert isinstance(out.index, pd.DatetimeIndex)
    assert out.index.name == "trade_date"
    assert out["rest_of_day"].tolist() == [1.0, 0.0, 0.0]
    assert out["direction"].tolist() == [1.0, 0.0, 0.0]
    assert out["archetype"].tolist() == ["TrendUp", "TrendDown", "Range"]
    pd.testing.assert_frame_equal(build_labels(sessions.set_index("trade_date"), settings=completion), out)
