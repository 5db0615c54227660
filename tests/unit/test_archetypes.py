"""Day archetypes by intraday structure (docs/honesty.md): each class from a day whose minute path is written here,
the order of the checks, what is unknown, the multiclass metrics and how the classes trade."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from almanac import calendar
from almanac.config import BacktestParams, EvaluateParams, LabelsParams
from almanac.errors import AlmanacWarning
from almanac.ml.backtester import backtest
from almanac.ml.decision import ARCHETYPE_SIDES, side_probabilities
from almanac.ml.evaluators import evaluate, multiclass_scores
from almanac.ml.labelers import DayArchetypeLabeler, build_labels, intraday_structure
from almanac.ml.pnl import CostModel
from almanac.ml.thresholds import risk_coverage
from almanac.sessions import build_sessions

DAYS = pd.DatetimeIndex(["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11",
                         "2024-03-12", "2024-03-13", "2024-03-14"])  # fmt: skip


def _path(*legs: tuple[float, int]) -> np.ndarray:
    """390 RTH closes from 100: each leg moves linearly to a level over a number of minutes; the rest is flat."""
    out, level = [], 100.0
    for target, minutes in legs:
        out.extend(np.linspace(level, target, minutes + 1)[1:])
        level = target
    out.extend([level] * (390 - len(out)))
    return np.round(np.array(out[:390]) * 4) / 4


PATHS = {
    "TrendUp": _path((110, 380)),
    "TrendDown": _path((90, 380)),
    "ReversalUp": _path((94, 60), (104, 300)),  # an early fall to the low, then a close at the top
    "ReversalDown": _path((106, 60), (96, 300)),
    "Range": _path((102, 40), (98, 60), (102, 60), (98, 60), (102, 60), (100, 60)),  # both ends tested again and again
    "one swing": _path((102, 100), (98, 100), (100, 100)),  # range-shaped, tested once each: Other
    "high first": _path((104, 60), (94, 100), (103, 200)),  # closes high after a fall, but the high came first
    "small trend": _path((105, 380)),  # a trend's shape on half the usual range
    "flat": np.full(390, 100.0),
}


def _bars(paths: dict[str, np.ndarray]) -> pd.DataFrame:
    frames = []
    for day, closes in zip(DAYS, paths.values(), strict=True):
        start = calendar.local_instants(pd.DatetimeIndex([day]), dt.time(9, 30))[0]
        opens = np.concatenate([[100.0], closes[:-1]])
        frames.append(
            pd.DataFrame(
                {
                    "ts": pd.date_range(start, periods=390, freq="min").as_unit("ns"),
                    "open": opens,
                    "high": np.maximum(opens, closes),
                    "low": np.minimum(opens, closes),
                    "close": closes,
                    "volume": 100,
                    "contract": "ESH24",
                    "trade_date": day,
                }
            )
        )
    bars = pd.concat(frames, ignore_index=True)
    bars["trade_date"] = bars["trade_date"].astype("datetime64[s]")
    return bars


@pytest.fixture(scope="module")
def labelled():
    bars = _bars(PATHS)
    sessions = build_sessions(bars)
    scale = pd.Series(10.0, index=DAYS)  # the previous days' ATR: ten points
    labels = DayArchetypeLabeler().label_by_intraday_structure(bars, sessions, scale=scale)
    return dict(zip(PATHS, labels.tolist(), strict=True)), bars, sessions


@pytest.mark.parametrize("name", ["TrendUp", "TrendDown", "ReversalUp", "ReversalDown", "Range"])
def test_each_archetype_from_its_own_intraday_path(labelled, name):
    assert labelled[0][name] == name


@pytest.mark.parametrize(
    ("name", "why"),
    [("one swing", "a range needs each extreme tested more than once"),
     ("high first", "a reversal up needs the low before the high"),
     ("small trend", "a trend needs a range of at least 0.8 of the recent ATR"),
     ("flat", "no range at all")],
)  # fmt: skip
def test_days_that_miss_one_condition_are_other(labelled, name, why):
    assert labelled[0][name] == "Other", why


def test_swings_count_alternations_between_tests_of_the_high_and_of_the_low(labelled):
    _, bars, sessions = labelled
    shape = intraday_structure(bars, sessions.set_index("trade_date"), band=0.15)
    swings = dict(zip(PATHS, shape["swings"], strict=True))
    assert swings["Range"] == 4 and swings["one swing"] == 1  # top, bottom, top, bottom, top
    assert (shape["t_low"] < shape["t_high"]).tolist()[2] and (shape["t_high"] < shape["t_low"]).tolist()[3]


def test_thresholds_come_from_params(labelled):
    _, bars, sessions = labelled
    strict = LabelsParams(range_min_swings=5)  # the Range day alternates four times
    labels = DayArchetypeLabeler().label_by_intraday_structure(
        bars, sessions, settings=strict, scale=pd.Series(10.0, index=DAYS)
    )
    assert labels.iloc[4] == "Other"
    loose = LabelsParams(trend_min_range=0.4)
    labels = DayArchetypeLabeler().label_by_intraday_structure(
        bars, sessions, settings=loose, scale=pd.Series(10.0, index=DAYS)
    )
    assert labels.iloc[7] == "TrendUp"  # the small trend, once half the ATR is enough


def test_unknown_without_a_scale_or_a_finished_session(labelled):
    _, bars, sessions = labelled
    scale = pd.Series(10.0, index=DAYS)
    scale.iloc[0] = np.nan  # no ATR history yet
    cut = bars.loc[~((bars["trade_date"] == DAYS[1]) & (bars["ts"] >= bars["ts"].iloc[390 + 200]))]
    partial = build_sessions(cut)  # the second day stops at 12:50: its close is unknown
    labels = DayArchetypeLabeler().label_by_intraday_structure(cut, partial, scale=scale)
    assert labels.iloc[:2].isna().all() and labels.iloc[2:].notna().all()


def test_the_stage_default_scale_is_the_atr_through_the_previous_day(labelled):
    _, bars, sessions = labelled
    labels = build_labels(sessions, bars, atr_days=3)
    assert labels["archetype"].iloc[:3].isna().all()  # three days to seed ATR(3), and it is the previous day's
    assert labels["archetype"].iloc[3:].notna().all()
    with pytest.warns(AlmanacWarning, match="archetype labels by intraday structure need the minute bars"):
        without_bars = build_labels(sessions)  # the binary labels need no bars; the archetypes do, and say so
    assert without_bars["archetype"].isna().all() and without_bars["rest_of_day"].notna().all()


def test_classes_trade_by_their_documented_side():
    classes = ["Other", "Range", "ReversalDown", "ReversalUp", "TrendDown", "TrendUp"]
    proba = np.array([[0.1, 0.1, 0.1, 0.3, 0.1, 0.3], [0.0, 0.0, 0.45, 0.05, 0.45, 0.05]])
    p_long, p_short = side_probabilities(proba, classes)
    np.testing.assert_allclose(p_long, [0.6, 0.1])
    np.testing.assert_allclose(p_short, [0.2, 0.9])
    assert {c: ARCHETYPE_SIDES[c] for c in classes} == {
        "Other": 0, "Range": 0, "ReversalDown": -1, "ReversalUp": 1, "TrendDown": -1, "TrendUp": 1,
    }  # fmt: skip
    with pytest.raises(ValueError, match="classes without a position: Sideways"):
        side_probabilities(proba[:, :2], ["Other", "Sideways"])


def test_the_backtest_trades_the_summed_side_probabilities():
    days = pd.bdate_range("2024-01-02", periods=3)
    sessions = pd.DataFrame({"trade_date": days, "cutoff_price": 100.0, "close": [101.0, 99.0, 100.5]})
    oof = pd.DataFrame(
        {
            "trade_date": days,
            "probability_ReversalUp": [0.35, 0.0, 0.3],
            "probability_TrendUp": [0.35, 0.1, 0.2],
            "probability_TrendDown": [0.1, 0.4, 0.2],
            "probability_ReversalDown": [0.0, 0.3, 0.1],
            "probability_Other": [0.2, 0.2, 0.2],
        }
    )
    settings = BacktestParams(commission_usd=0, slippage_ticks=0, threshold=0.6, bootstrap=0)
    metrics, equity = backtest(oof, sessions, settings=settings)
    assert equity["position"].tolist() == [1, -1, 0]  # 0.7 long, 0.7 short, 0.5 neither
    assert equity["pnl_usd"].tolist() == [50.0, 50.0, 0.0] and metrics["trades"] == 2
    table = risk_coverage(oof, sessions, costs=CostModel())
    assert table.loc[table["threshold"] == 0.5, "trades"].item() == 3


def test_multiclass_metrics_macro_f1_and_per_class_auc():
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.4, 0.5, 0.1], [0.1, 0.8, 0.1], [0.1, 0.7, 0.2], [0.1, 0.2, 0.7],
                      [0.6, 0.1, 0.3]])  # fmt: skip
    scores = multiclass_scores(y, proba, ["A", "B", "C"])
    # predictions 0 1 1 1 2 0: F1 A = 0.5, B = 0.8, C = 2/3
    assert scores["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert scores["auc_A"] == pytest.approx(7 / 8) and scores["auc_B"] == 1.0 and scores["auc_C"] == 1.0
    assert scores["share_C"] == pytest.approx(1 / 3)


def test_evaluate_reports_the_multiclass_metrics_for_archetypes():
    rng = np.random.default_rng(1)
    classes = ["Other", "ReversalUp", "TrendUp"]
    y = rng.choice(classes, 300)
    raw = rng.random((300, 3)) + 2.0 * (np.array(classes)[None, :] == y[:, None])
    proba = raw / raw.sum(axis=1, keepdims=True)
    oof = pd.DataFrame({"trade_date": pd.bdate_range("2020-01-01", periods=300), "fold": np.repeat([0, 1], 150),
                        "y_true": y, **{f"probability_{c}": proba[:, i] for i, c in enumerate(classes)}})  # fmt: skip
    for name in ("base_rate", "open_to_cutoff_sign", "previous_day"):
        for c in classes:
            oof[f"baseline_{name}_{c}"] = 1 / 3
    metrics, plots = evaluate(oof, classes=classes, settings=EvaluateParams(bootstrap=0))
    assert metrics["macro_f1"] > 0.9 and min(metrics[f"auc_{c}"] for c in classes) > 0.9
    assert metrics["base_rate_macro_f1"] < 0.4
    assert set(plots["confusion"]["actual"]) == set(classes)


def test_the_per_class_auc_figure_draws_each_class_and_only_for_multiclass():
    from almanac.viz.ml_plots import class_auc

    evaluate = {"auc_TrendUp": 0.76, "share_TrendUp": 0.12, "auc_Other": 0.54, "share_Other": 0.61, "macro_f1": 0.2}
    bars = class_auc(evaluate).data[0]
    assert list(bars.x) == ["Other", "TrendUp"] and list(bars.y) == [0.54, 0.76]
    assert list(bars.text) == ["61% of days", "12% of days"]
    assert class_auc({"auc": 0.6}).data == ()  # a binary run: an empty figure with a note
