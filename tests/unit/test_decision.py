"""The size of a position (``backtest.sizing``): AFML's bet size from a probability, capped by a risk budget."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from almanac.ml.decision import bet_size, contracts, positions, side_probabilities

# Probability sizing with ES-like numbers: 10 contracts at p = 1, 10,000 USD a day against the ATR, $50 a point.
SIZED = {"sizing": "probability", "max_contracts": 10, "risk_usd": 10_000.0, "point_value_usd": 50.0}


def afml(p: float) -> float:
    """The reference: 2 Φ(z) - 1 with scipy's Φ."""
    return float(2.0 * ndtr((p - 0.5) / np.sqrt(p * (1.0 - p))) - 1.0)


def sized(p_long, atr_pts, threshold=0.55, **overrides):
    p_long = np.atleast_1d(np.asarray(p_long, dtype=float))
    side = positions(p_long, 1.0 - p_long, threshold)
    atr = np.broadcast_to(np.asarray(atr_pts, dtype=float), p_long.shape)
    return contracts(side, p_long, 1.0 - p_long, atr_pts=atr, **{**SIZED, **overrides})


# --- bet_size ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("p", "expected"), [(0.5, 0.0), (0.6, 0.16174), (0.9, 0.81757), (1.0, 1.0)])
def test_bet_size_golden_values(p, expected):
    assert float(bet_size(p)) == pytest.approx(expected, abs=1e-5)
    assert float(bet_size(p)) == pytest.approx(afml(p) if p < 1 else 1.0, abs=1e-15)


def test_bet_size_is_odd_around_one_half_and_bounded():
    p = np.linspace(0.0, 1.0, 2001)
    m = bet_size(p)
    np.testing.assert_allclose(m, -bet_size(1.0 - p), atol=1e-15)
    assert m[0] == -1.0 and m[-1] == 1.0 and (np.abs(m) <= 1.0).all()
    assert np.isnan(bet_size([np.nan, -0.1, 1.1])).all()  # no size from a probability that is not one


def test_bet_size_is_increasing_in_p():
    assert (np.diff(bet_size(np.linspace(0.0, 1.0, 10_001))) >= 0).all()
    assert (np.diff(bet_size(np.linspace(0.01, 0.99, 10_001))) > 0).all()  # strictly, until it saturates at ±1


# --- contracts -----------------------------------------------------------------------------------------------


def test_fixed_sizing_is_one_contract_whenever_the_decision_trades():
    side = np.array([1, -1, 0, 1])
    out = contracts(side, [0.9, 0.1, 0.5, 0.56], [0.1, 0.9, 0.5, 0.44])
    assert out.dtype == np.int64 and out.tolist() == [1, 1, 0, 1]
    # the ATR and the budget are not read
    assert contracts(side, [0.9, 0.1, 0.5, 0.56], [0.1, 0.9, 0.5, 0.44], atr_pts=[np.nan] * 4, risk_usd=1.0).tolist() == [
        1, 1, 0, 1,
    ]  # fmt: skip


def test_probability_sizing_values_at_a_generous_budget():
    # ATR 10 points: 10,000 / (10 x 50) = 20 contracts allowed, more than max_contracts
    assert sized([0.55, 0.6, 0.7, 0.9, 1.0], 10.0).tolist() == [1, 2, 3, 8, 10]  # 0.80, 1.62, 3.37, 8.18, 10


def test_at_least_one_contract_when_the_decision_trades():
    # p = 0.55 is a bet size of 0.08: 0.4 of five contracts, rounded to 0, but the threshold said trade
    assert sized([0.55], 10.0, max_contracts=5).tolist() == [1]


def test_zero_when_the_decision_abstains():
    p = np.array([0.5, 0.52, 0.48, np.nan])  # all below the threshold 0.55 either way (or no probability)
    assert sized(p, 10.0).tolist() == [0, 0, 0, 0]
    side = np.zeros(3, dtype=np.int64)  # the decision abstains even where the probability is extreme
    assert contracts(side, [0.99, 0.01, 0.9], [0.01, 0.99, 0.1], atr_pts=[10.0, 10.0, 10.0], **SIZED).tolist() == [
        0,
        0,
        0,
    ]


def test_the_risk_budget_caps_the_size():
    # p = 0.9 wants 8 contracts; one contract risks ATR x $50
    atr = np.array([10.0, 40.0, 100.0, 199.0, 200.0, 201.0, 250.0])
    assert sized(np.full(7, 0.9), atr).tolist() == [8, 5, 2, 1, 1, 0, 0]  # floor(10,000 / (ATR x 50))


def test_unknown_atr_means_no_trade():
    assert sized([0.9, 0.9], [np.nan, 20.0]).tolist() == [0, 8]


def test_shorts_are_sized_by_the_short_probability():
    assert sized([0.1, 0.9, 0.4, 0.6], 10.0).tolist() == [8, 8, 2, 2]
    assert positions([0.1, 0.4], [0.9, 0.6], 0.55).tolist() == [-1, -1]


def test_archetypes_are_sized_by_the_summed_side_probability():
    classes = ["Other", "Range", "ReversalDown", "ReversalUp", "TrendDown", "TrendUp"]
    proba = np.array([[0.05, 0.05, 0.0, 0.3, 0.0, 0.6], [0.1, 0.3, 0.1, 0.1, 0.3, 0.1]])
    p_long, p_short = side_probabilities(proba, classes)
    side = positions(p_long, p_short, 0.55)
    assert side.tolist() == [1, 0]
    out = contracts(side, p_long, p_short, atr_pts=[10.0, 10.0], **SIZED)
    assert out.tolist() == [8, 0]  # P(long) = 0.9: bet size 0.82


@settings(max_examples=100, deadline=None)
@given(
    p=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=40),
    atr=st.floats(1.0, 400.0),
    max_contracts=st.integers(1, 50),
    risk_usd=st.floats(100.0, 1e6),
)
def test_size_is_monotone_in_p_and_bounded(p, atr, max_contracts, risk_usd):
    p = np.sort(np.asarray(p))
    confident = p[p >= 0.55]  # every one trades long
    out = sized(confident, atr, max_contracts=max_contracts, risk_usd=risk_usd)
    assert (np.diff(out) >= 0).all()
    cap = np.floor(risk_usd / (atr * 50.0))
    assert (out <= min(max_contracts, cap)).all()
    assert (out >= min(1, cap)).all()


def test_sizing_errors_say_the_fix():
    with pytest.raises(ValueError, match="sizing 'kelly': one of fixed, probability"):
        contracts([1], [0.9], [0.1], sizing="kelly")
    with pytest.raises(ValueError, match="needs atr_pts"):
        contracts([1], [0.9], [0.1], sizing="probability", max_contracts=10, risk_usd=1e4, point_value_usd=50.0)
