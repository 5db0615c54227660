"""What ``almanac predict`` adds after the probability (:mod:`almanac.ml.morning`): the move of days with a similar
probability, the hit rate at this confidence and the previous trade date, on a small synthetic out-of-fold table.

Every number is recomputed here the slow, obvious way (a loop over days, Python's sort), and nothing on or after
the predicted date may move it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from almanac.ml import morning
from almanac.ml.decision import ARCHETYPE_SIDES, label_sides

REPO = Path(__file__).resolve().parents[2]
POINT_VALUE = 50.0
CLASSES = ["Other", "Range", "ReversalDown", "ReversalUp", "TrendDown", "TrendUp"]


def synthetic(n: int = 260, *, archetype: bool = False, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(oof, sessions)``: ``n`` business days of sessions (a few without bars, a few without a close); the
    out-of-fold rows start after a 40-day first training window, in folds of 30 days, probabilities on a 0.01 grid
    (so that many tie) and labels that follow the cutoff-to-close move."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=n).as_unit("s")
    cutoff = 4000 + rng.normal(0, 20, n).cumsum().round(2)
    move = (rng.normal(0, 15, n) * 4).round() / 4
    close = cutoff + move
    close[[50, 120]] = np.nan  # no close known (a partial session)
    rth_bars = np.full(n, 390)
    rth_bars[[99, 180]] = 0  # NYSE sessions without a bar
    sessions = pd.DataFrame(
        {"trade_date": dates, "cutoff_price": cutoff, "close": close, "rth_bars": rth_bars, "contract": "ESH3"}
    )
    days = np.flatnonzero(rth_bars > 0)
    days = days[days >= 40]
    oof = pd.DataFrame({"trade_date": dates[days], "fold": (days - 40) // 30})
    if archetype:
        raw = rng.dirichlet(np.ones(len(CLASSES)), len(days)).round(2)
        raw[:, -1] = 1.0 - raw[:, :-1].sum(axis=1)
        for i, c in enumerate(CLASSES):
            oof[f"probability_{c}"] = raw[:, i]
        oof["y_true"] = pd.Series(rng.choice(CLASSES, len(days)), dtype="str")
        oof.loc[oof.index[[7, 30]], "y_true"] = None
    else:
        oof["probability"] = rng.integers(30, 71, len(days)) / 100
        oof["y_true"] = np.where(move[days] > 0, 1.0, 0.0)
        oof.loc[oof.index[[7, 30]], "y_true"] = np.nan
    return oof, sessions


def sides_of(row: pd.Series) -> tuple[float, float]:
    if "probability" in row.index:
        return row["probability"], 1.0 - row["probability"]
    long_ = sum(row[f"probability_{c}"] for c in CLASSES if ARCHETYPE_SIDES[c] == 1)
    short = sum(row[f"probability_{c}"] for c in CLASSES if ARCHETYPE_SIDES[c] == -1)
    return long_, short


def earlier_days(oof, sessions, day) -> list[dict]:
    """The out-of-fold days before ``day``, one dict each, by a loop."""
    by_date = {r.trade_date: r for r in sessions.itertuples()}
    out = []
    for _, row in oof.iterrows():
        if row["trade_date"] >= day:
            continue
        s = by_date[row["trade_date"]]
        p_long, p_short = sides_of(row)
        out.append(
            {"date": row["trade_date"], "p_long": p_long, "p_short": p_short, "move": s.close - s.cutoff_price,
             "label": label_sides(np.array([row["y_true"]], dtype=object))[0]}
        )  # fmt: skip
    return out


@pytest.mark.parametrize("archetype", [False, True])
@pytest.mark.parametrize("position", [60, 150, 255])
def test_similar_days_are_the_k_nearest_earlier_days(archetype, position):
    oof, sessions = synthetic(archetype=archetype)
    day = sessions["trade_date"].iloc[position]
    probabilities = morning.probabilities_of(oof.iloc[min(position, len(oof) - 1)])
    p_long, p_short = sides_of(pd.Series({f"probability_{k}": v for k, v in probabilities.items()}) if archetype
                               else pd.Series({"probability": probabilities["up"]}))  # fmt: skip
    got = morning.track_record(oof, sessions, day, probabilities=probabilities, threshold=np.full(len(oof), 0.55),
                               point_value_usd=POINT_VALUE)["similar"]  # fmt: skip
    known = [d for d in earlier_days(oof, sessions, day) if np.isfinite(d["move"])]
    score = (lambda d: d["p_long"]) if not archetype else (lambda d: d["p_long"] - d["p_short"])
    today = p_long if not archetype else p_long - p_short
    nearest = sorted(known, key=lambda d: (abs(score(d) - today), -d["date"].value))[: morning.SIMILAR_DAYS]
    assert got["days"] == len(nearest) == min(len(known), morning.SIMILAR_DAYS) and got["k"] == morning.SIMILAR_DAYS
    if not nearest:
        assert got["median_pts"] is None
        return
    moves = np.array([d["move"] for d in nearest])
    assert got["median_pts"] == np.median(moves)
    assert (got["p10_pts"], got["p90_pts"]) == tuple(np.percentile(moves, [10, 90]))
    assert got["median_usd"] == pytest.approx(np.median(moves) * POINT_VALUE, rel=1e-12)
    assert got["p90_usd"] == pytest.approx(np.percentile(moves, 90) * POINT_VALUE, rel=1e-12)
    assert got["up_share"] == sum(m > 0 for m in moves) / len(moves)
    assert got["low"] == min(score(d) for d in nearest) and got["high"] == max(score(d) for d in nearest)
    assert got["last"] < str(day.date()) and got["matched_on"] == ("P(up)" if not archetype else "P(long) - P(short)")


@pytest.mark.parametrize("archetype", [False, True])
@pytest.mark.parametrize("p_up", [0.5, 0.58, 0.3, 0.71])
def test_hit_rate_counts_earlier_days_at_least_this_confident(archetype, p_up):
    oof, sessions = synthetic(archetype=archetype)
    day = sessions["trade_date"].iloc[200]
    if archetype:  # the same side probabilities, spread over the classes
        probabilities = dict.fromkeys(CLASSES, 0.0) | {"TrendUp": p_up * 0.6, "ReversalUp": p_up * 0.4,
                                                       "TrendDown": (1 - p_up) * 0.5, "Range": (1 - p_up) * 0.5}  # fmt: skip
        p_long, p_short = sides_of(pd.Series({f"probability_{c}": v for c, v in probabilities.items()}))
    else:
        probabilities, p_long, p_short = {"up": p_up}, p_up, 1.0 - p_up
    got = morning.track_record(oof, sessions, day, probabilities=probabilities, threshold=np.full(len(oof), 0.55),
                               point_value_usd=POINT_VALUE)["confidence"]  # fmt: skip
    confidence = max(p_long, p_short)
    counted = [
        d for d in earlier_days(oof, sessions, day)
        if max(d["p_long"], d["p_short"]) >= confidence and d["p_long"] != d["p_short"] and np.isfinite(d["label"])
    ]  # fmt: skip
    right = sum(d["label"] == (1 if d["p_long"] > d["p_short"] else -1) for d in counted)
    assert got["confidence"] == confidence and got["days"] == len(counted) and got["right"] == right
    assert got["hit_rate"] == (right / len(counted) if counted else None)
    assert bool(counted) == (archetype or p_up < 0.71)  # the binary synthetic probabilities stop at 0.70
    assert got["side"] == ("long" if p_long > p_short else "short" if p_short > p_long else "none")


@pytest.mark.parametrize("archetype", [False, True])
def test_previous_day_is_the_last_session_with_bars_before(archetype):
    oof, sessions = synthetic(archetype=archetype)
    threshold = np.linspace(0.52, 0.6, len(oof))  # in_fold: one per row
    after_gap = sessions["trade_date"].iloc[100]  # the session before it (99) has no bar: 98 is the previous day
    got = morning.previous_day(oof, sessions, after_gap, threshold=threshold, point_value_usd=POINT_VALUE)
    previous = sessions.iloc[98]
    row_at = int(np.flatnonzero(oof["trade_date"] == previous["trade_date"])[0])
    row = oof.iloc[row_at]
    p_long, p_short = sides_of(row)
    side = 1 if p_long >= threshold[row_at] > p_short else -1 if p_short >= threshold[row_at] > p_long else 0
    assert got["trade_date"] == str(previous["trade_date"].date()) and got["fold"] == row["fold"]
    assert got["threshold"] == threshold[row_at] and got["decision"] == {1: "long", -1: "short", 0: "abstain"}[side]
    assert got["probabilities"] == morning.probabilities_of(row)
    move = previous["close"] - previous["cutoff_price"]
    assert got["outcome"]["move_pts"] == move and got["outcome"]["move_usd"] == move * POINT_VALUE
    label = label_sides(np.array([row["y_true"]], dtype=object))[0]
    assert got["outcome"]["decision_right"] == (None if side == 0 or not np.isfinite(label) else label == side)
    in_window = morning.previous_day(oof, sessions, sessions["trade_date"].iloc[20], threshold=threshold,
                                     point_value_usd=POINT_VALUE)  # fmt: skip
    assert in_window["trade_date"] == str(sessions["trade_date"].iloc[19].date()) and in_window["decision"] is None
    assert morning.previous_day(oof, sessions, sessions["trade_date"].iloc[0], threshold=threshold,
                                point_value_usd=POINT_VALUE) is None  # fmt: skip


@pytest.mark.parametrize("archetype", [False, True])
def test_nothing_on_or_after_the_day_is_used(archetype):
    """Rewriting every out-of-fold row and session from ``day`` on (probabilities, labels, closes), and dropping
    them, leaves the whole track record unchanged."""
    oof, sessions = synthetic(archetype=archetype)
    day = sessions["trade_date"].iloc[170]
    probabilities = morning.probabilities_of(oof.iloc[100])
    threshold = np.full(len(oof), 0.55)
    reference = morning.track_record(
        oof, sessions, day, probabilities=probabilities, threshold=threshold, point_value_usd=50.0
    )
    later_oof, later_sessions = oof["trade_date"] >= day, sessions["trade_date"] >= day
    rng = np.random.default_rng(9)
    changed_oof = oof.copy()
    for column in [c for c in oof.columns if c.startswith("probability")]:
        changed_oof.loc[later_oof, column] = rng.permutation(oof.loc[later_oof, column].to_numpy())
    changed_oof.loc[later_oof, "y_true"] = oof.loc[later_oof, "y_true"].iloc[::-1].to_numpy()
    changed_sessions = sessions.copy()
    changed_sessions.loc[later_sessions, "close"] = sessions.loc[later_sessions, "close"] + 500.0
    for frames in ((changed_oof, changed_sessions), (oof.loc[~later_oof], sessions.loc[~later_sessions])):
        again = morning.track_record(*frames, day, probabilities=probabilities, threshold=threshold[: len(frames[0])],
                                     point_value_usd=50.0)  # fmt: skip
        assert again == reference
    assert reference["similar"]["last"] < str(day.date()) and reference["previous"]["trade_date"] < str(day.date())
    before = morning.history_before(oof, sessions, day)
    assert (before["trade_date"] < day).all() and len(before) == int((oof["trade_date"] < day).sum())


def test_the_inputs_are_not_modified():
    oof, sessions = synthetic()
    copies = oof.copy(), sessions.copy()
    morning.track_record(oof, sessions, sessions["trade_date"].iloc[200], probabilities={"up": 0.6},
                         threshold=np.full(len(oof), 0.55), point_value_usd=50.0)  # fmt: skip
    pd.testing.assert_frame_equal(oof, copies[0])
    pd.testing.assert_frame_equal(sessions, copies[1])


@pytest.mark.parametrize("archetype", [False, True])
def test_column_label_sides_equal_the_decision_modules(archetype):
    oof, _ = synthetic(archetype=archetype)
    expected = np.array([label_sides(np.array([v], dtype=object))[0] for v in oof["y_true"]])  # value by value
    np.testing.assert_array_equal(label_sides(oof["y_true"].to_numpy()), expected)  # the column at once


def test_the_text_says_the_rule_and_the_counts():
    oof, sessions = synthetic()
    day = sessions["trade_date"].iloc[200]
    record = morning.track_record(oof, sessions, day, probabilities={"up": 0.62}, threshold=np.full(len(oof), 0.55),
                                  point_value_usd=50.0)  # fmt: skip
    text = "\n".join(morning.track_record_lines(str(day.date()), **record))
    s, c = record["similar"], record["confidence"]
    assert f"the {s['days']} out-of-fold days before {day.date()} with P(up) nearest 0.6200" in text
    assert f"median {s['median_pts']:+.2f} points" in text and "10-90 %" in text
    assert f"was right on {c['right']} of {c['days']} earlier out-of-fold days" in text
    assert f"previous trade date {record['previous']['trade_date']}: P(up) = " in text
    empty = morning.track_record(oof, sessions, sessions["trade_date"].iloc[10], probabilities={"up": 0.62},
                                 threshold=np.full(len(oof), 0.55), point_value_usd=50.0)  # fmt: skip
    assert empty["similar"]["days"] == 0 and empty["confidence"]["hit_rate"] is None
    lines = morning.track_record_lines("2023-01-16", **empty)
    assert any("no out-of-fold day before 2023-01-16" in line for line in lines)
    assert any("no out-of-fold probability (in the first training window)" in line for line in lines)


def test_a_file_inside_a_pipeline_dependency_is_named():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert morning.tracked_dependency(REPO / "data" / "raw" / "x.csv", stages, root=REPO) == ("bars", "data/raw")
    assert morning.tracked_dependency(REPO / "data" / "raw", stages, root=REPO) == ("bars", "data/raw")
    assert morning.tracked_dependency(REPO / "data/raw/sub/../y.csv", stages, root=REPO) == ("bars", "data/raw")
    assert morning.tracked_dependency(REPO / "morning" / "x.csv", stages, root=REPO) is None
    assert morning.tracked_dependency(REPO / "data" / "rawish.csv", stages, root=REPO) is None  # a prefix, not a folder
    assert morning.tracked_dependency(REPO / "params.yaml", stages, root=REPO)[1] == "params.yaml"
    moved = {"bars": {"wdir": "sub", "deps": ["inputs"]}, "t": {"do": {"deps": ["${item}/x", "other"]}}}
    assert morning.tracked_dependency(REPO / "sub" / "inputs" / "a.csv", moved, root=REPO) == ("bars", "inputs")
    assert morning.tracked_dependency(REPO / "other" / "a.csv", moved, root=REPO) == ("t", "other")


def test_the_morning_folder_is_untracked():
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "/morning/*" in ignored and "/morning/" in (REPO / ".dvcignore").read_text().splitlines()
    for page in ("README.md", "docs/morning.md"):
        text = (REPO / page).read_text()
        assert "almanac predict --bars morning/today.csv" in text and "data/raw/today.csv" not in text, page
