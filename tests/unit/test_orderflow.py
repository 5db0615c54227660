"""The tick-rule sign: exact small cases and a reference loop on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from almanac.features.orderflow import tick_rule_sign


def reference_tick_rule(close: list[float], group: list[int] | None = None) -> list[float]:
    """Bar-by-bar tick rule: 0 on the first bar of each group, else the sign of the close change, carrying the
    last direction through unchanged closes."""
    out = []
    last = 0.0
    for i, price in enumerate(close):
        if i == 0 or (group is not None and group[i] != group[i - 1]):
            last = 0.0
        elif price > close[i - 1]:
            last = 1.0
        elif price < close[i - 1]:
            last = -1.0
        out.append(last)
    return out


@pytest.mark.parametrize(
    ("close", "expected"),
    [
        ([4000.0, 4000.25, 4000.25, 4000.0, 4000.0, 4000.0, 4000.5], [0, 1, 1, -1, -1, -1, 1]),
        ([4000.0, 4000.0, 4000.0, 4000.25], [0, 0, 0, 1]),  # no direction to carry before the first change
        ([4000.0, 3999.75, 3999.75, 3999.75], [0, -1, -1, -1]),
        ([4000.0], [0]),
    ],
)
def test_tick_rule_without_groups(close, expected):
    np.testing.assert_array_equal(tick_rule_sign(np.array(close)), np.array(expected, dtype=np.float64))


def test_empty_input():
    out = tick_rule_sign(np.array([]))
    assert out.shape == (0,)


def test_group_boundaries_reset_to_zero_and_block_the_carry():
    close = np.array([10.0, 11.0, 11.0, 11.0, 11.0, 10.0, 10.0, 12.0, 12.0, 12.0])
    group = np.array([1, 1, 1, 2, 2, 2, 2, 3, 3, 3])
    # Group 2 opens unchanged from group 1's last close and stays flat: it must not inherit group 1's +1.
    expected = np.array([0, 1, 1, 0, 0, -1, -1, 0, 0, 0], dtype=np.float64)
    np.testing.assert_array_equal(tick_rule_sign(close, group), expected)


def test_a_jump_across_a_group_boundary_is_not_a_direction():
    close = np.array([10.0, 10.0, 20.0, 20.0])
    group = np.array([0, 0, 1, 1])
    np.testing.assert_array_equal(tick_rule_sign(close, group), [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(tick_rule_sign(close), [0.0, 0.0, 1.0, 1.0])


def test_inputs_are_not_modified():
    close = np.array([1.0, 2.0, 2.0, 1.0])
    group = np.array([0, 0, 1, 1])
    tick_rule_sign(close, group)
    np.testing.assert_array_equal(close, [1.0, 2.0, 2.0, 1.0])
    np.testing.assert_array_equal(group, [0, 0, 1, 1])


# Prices on a small tick grid so that unchanged closes (the carry case) are common.
closes = st.lists(st.integers(-4, 4).map(lambda k: 4000.0 + 0.25 * k), min_size=0, max_size=60)


@settings(max_examples=300, deadline=None)
@given(close=closes)
def test_matches_the_reference_loop(close):
    out = tick_rule_sign(np.array(close, dtype=np.float64))
    assert set(np.unique(out)) <= {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(out, np.array(reference_tick_rule(close), dtype=np.float64))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_matches_the_reference_loop_with_groups(data):
    close = data.draw(closes)
    steps = data.draw(st.lists(st.integers(0, 1), min_size=len(close), max_size=len(close)))
    group = list(np.cumsum(steps))  # sorted group codes, e.g. trade-date codes
    out = tick_rule_sign(np.array(close, dtype=np.float64), np.array(group, dtype=np.int64))
    assert set(np.unique(out)) <= {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(out, np.array(reference_tick_rule(close, group), dtype=np.float64))


@settings(max_examples=200, deadline=None)
@given(close=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40))
def test_output_is_a_direction_for_any_finite_closes(close):
    out = tick_rule_sign(np.array(close))
    assert out.shape == (len(close),)
    assert set(np.unique(out)) <= {-1.0, 0.0, 1.0}
    assert out[0] == 0.0
