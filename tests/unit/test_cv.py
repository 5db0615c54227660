"""WalkForwardSplit: folds by trade date, test after train, purge + embargo gap, no overlap, sklearn-compatible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from almanac.ml.cv import NotEnoughDataError, WalkForwardSplit


def trade_dates(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2020-01-01", periods=n, name="trade_date")


def features(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n, dtype=float)}, index=trade_dates(n))


def date_folds(splitter: WalkForwardSplit, X: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds as positions of unique trade dates (X has one row per date, in order)."""
    return list(splitter.split(X))


# Fixed configuration used by several tests: 300 dates, test blocks of 50, 100 training days, gap 1 + 2 = 3.
N, TEST, MIN_TRAIN, PURGE, EMBARGO = 300, 50, 100, 1, 2
GAP = PURGE + EMBARGO


@pytest.fixture(params=["expanding", "sliding"])
def splitter(request) -> WalkForwardSplit:
    return WalkForwardSplit(
        test_days=TEST,
        min_train_days=MIN_TRAIN,
        scheme=request.param,
        train_days=80,
        purge_days=PURGE,
        embargo_days=EMBARGO,
    )


def test_fold_count_and_last_block_is_the_remainder(splitter):
    folds = date_folds(splitter, features(N))
    # test blocks start at 103, 153, 203, 253; the last one holds the 47 remaining dates
    assert [test[0] for _, test in folds] == [103, 153, 203, 253]
    assert [len(test) for _, test in folds] == [50, 50, 50, 47]


def test_every_test_date_is_after_every_train_date(splitter):
    X = features(N)
    for train, test in splitter.split(X):
        assert X.index[train].max() < X.index[test].min()


def test_gap_between_train_and_test_is_purge_plus_embargo_dates(splitter):
    for train, test in date_folds(splitter, features(N)):
        assert test[0] - train[-1] - 1 == GAP  # dates left out between the two sides


def test_test_blocks_do_not_overlap_and_cover_the_tail(splitter):
    tests = [test for _, test in date_folds(splitter, features(N))]
    joined = np.concatenate(tests)
    assert len(np.unique(joined)) == len(joined)
    np.testing.assert_array_equal(joined, np.arange(MIN_TRAIN + GAP, N))


def test_expanding_trains_on_everything_before_the_gap():
    split = WalkForwardSplit(
        test_days=TEST, min_train_days=MIN_TRAIN, scheme="expanding", purge_days=PURGE, embargo_days=EMBARGO
    )
    for train, test in date_folds(split, features(N)):
        np.testing.assert_array_equal(train, np.arange(0, test[0] - GAP))
    first_train, _ = next(split.split(features(N)))
    assert len(first_train) == MIN_TRAIN


def test_sliding_trains_on_the_last_train_days_dates():
    split = WalkForwardSplit(
        test_days=TEST,
        min_train_days=MIN_TRAIN,
        scheme="sliding",
        train_days=80,
        purge_days=PURGE,
        embargo_days=EMBARGO,
    )
    for train, test in date_folds(split, features(N)):
        assert len(train) == 80
        assert train[-1] == test[0] - GAP - 1
        np.testing.assert_array_equal(np.diff(train), 1)


def test_sliding_with_long_window_starts_at_the_first_date():
    split = WalkForwardSplit(
        test_days=TEST,
        min_train_days=MIN_TRAIN,
        scheme="sliding",
        train_days=10_000,
        purge_days=PURGE,
        embargo_days=EMBARGO,
    )
    expanding = WalkForwardSplit(
        test_days=TEST, min_train_days=MIN_TRAIN, scheme="expanding", purge_days=PURGE, embargo_days=EMBARGO
    )
    for (a_train, a_test), (b_train, b_test) in zip(
        split.split(features(N)), expanding.split(features(N)), strict=True
    ):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)


def test_rows_sharing_a_date_stay_on_one_side():
    rng = np.random.default_rng(3)
    dates = trade_dates(120)
    row_dates = np.repeat(dates, 3)[rng.permutation(360)]  # three rows per date, shuffled
    X = pd.DataFrame({"x": rng.normal(size=360)})  # RangeIndex: the dates come from groups=
    split = WalkForwardSplit(test_days=20, min_train_days=40, purge_days=1, embargo_days=1)
    n_folds = 0
    for train, test in split.split(X, groups=row_dates):
        train_dates, test_dates = set(row_dates[train]), set(row_dates[test])
        assert not train_dates & test_dates
        assert len(test) == 3 * len(test_dates)  # every row of a test date is in the test set
        assert len(train) == 3 * len(train_dates)
        assert max(train_dates) < min(test_dates)
        n_folds += 1
    assert n_folds == 4  # (120 - 42) / 20, rounded up


def test_get_n_splits_matches_split(splitter):
    X = features(N)
    assert splitter.get_n_splits(X) == len(list(splitter.split(X))) == 4
    assert splitter.get_n_splits(groups=X.index) == 4


def test_works_as_cv_in_cross_val_score_with_groups():
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})  # no DatetimeIndex
    y = (X["signal"] + 0.5 * rng.normal(size=n) > 0).astype(int)
    split = WalkForwardSplit(test_days=50, min_train_days=100, purge_days=1, embargo_days=2)
    scores = cross_val_score(LogisticRegression(), X, y, groups=trade_dates(n), cv=split, scoring="roc_auc")
    assert len(scores) == 4
    assert scores.min() > 0.8  # the planted signal is learned in every fold


@pytest.mark.parametrize(("n_dates", "n_splits", "purge", "embargo"), [(300, 5, 1, 0), (512, 4, 1, 5), (61, 3, 2, 3)])
def test_from_n_splits_gives_n_splits_equal_folds(n_dates, n_splits, purge, embargo):
    split = WalkForwardSplit.from_n_splits(n_dates, n_splits, purge_days=purge, embargo_days=embargo)
    folds = list(split.split(features(n_dates)))
    assert len(folds) == n_splits
    assert {len(test) for _, test in folds} == {n_dates // (n_splits + 1)}
    assert folds[-1][1][-1] == n_dates - 1  # the last block ends on the last date


def test_not_enough_data_says_what_it_has_and_needs():
    split = WalkForwardSplit(test_days=10, min_train_days=90, purge_days=1, embargo_days=5)
    with pytest.raises(NotEnoughDataError, match=r"at least 106 trade days.*the data has 100"):
        list(split.split(features(100)))
    assert len(list(split.split(features(106)))) == 1  # exactly enough is one fold


def test_not_enough_data_is_a_value_error():
    assert issubclass(NotEnoughDataError, ValueError)


def test_without_dates_raises():
    X = pd.DataFrame({"x": np.arange(400.0)})  # RangeIndex, no groups
    with pytest.raises(ValueError, match="groups="):
        list(WalkForwardSplit().split(X))
    with pytest.raises(ValueError, match="groups="):
        WalkForwardSplit().get_n_splits(X)


def test_unknown_scheme_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown scheme 'rolling'; allowed: expanding, sliding"):
        list(WalkForwardSplit(test_days=10, min_train_days=20, scheme="rolling").split(features(100)))


@settings(max_examples=150, deadline=None)
@given(
    n_dates=st.integers(1, 300),
    test_days=st.integers(1, 60),
    min_train=st.integers(1, 120),
    purge=st.integers(0, 5),
    embargo=st.integers(0, 10),
    scheme=st.sampled_from(["expanding", "sliding"]),
    train_days=st.integers(1, 150),
    rows_per_date=st.integers(1, 3),
)
def test_walk_forward_invariants(n_dates, test_days, min_train, purge, embargo, scheme, train_days, rows_per_date):
    split = WalkForwardSplit(
        test_days=test_days,
        min_train_days=min_train,
        scheme=scheme,
        train_days=train_days,
        purge_days=purge,
        embargo_days=embargo,
    )
    dates = np.repeat(trade_dates(n_dates), rows_per_date)
    X = pd.DataFrame({"x": np.zeros(len(dates))})
    gap = purge + embargo
    if n_dates < min_train + gap + test_days:
        with pytest.raises(NotEnoughDataError):
            list(split.split(X, groups=dates))
        return
    unique = trade_dates(n_dates)
    tested = []
    for train, test in split.split(X, groups=dates):
        train_pos = unique.get_indexer(np.unique(dates[train]))
        test_pos = unique.get_indexer(np.unique(dates[test]))
        assert train_pos.max() < test_pos.min()
        assert test_pos.min() - train_pos.max() - 1 >= gap
        assert len(test_pos) <= test_days
        assert len(train) == rows_per_date * len(train_pos)  # a date is never split between sides
        assert len(test) == rows_per_date * len(test_pos)
        if scheme == "sliding":
            assert len(train_pos) == min(train_days, test_pos.min() - gap)
        else:
            assert train_pos.min() == 0
        tested.append(test_pos)
    joined = np.concatenate(tested)
    np.testing.assert_array_equal(joined, np.arange(min_train + gap, n_dates))  # no overlap, nothing skipped
    assert split.get_n_splits(X, groups=dates) == len(tested)


@settings(max_examples=100, deadline=None)
@given(
    n_splits=st.integers(1, 10),
    purge=st.integers(0, 3),
    embargo=st.integers(0, 6),
    extra=st.integers(0, 300),
)
def test_from_n_splits_property(n_splits, purge, embargo, extra):
    n_dates = (n_splits + 1) * (purge + embargo + 1) + extra  # enough dates for a block per fold and the gap
    split = WalkForwardSplit.from_n_splits(n_dates, n_splits, purge_days=purge, embargo_days=embargo)
    folds = list(split.split(features(n_dates)))
    assert len(folds) == n_splits
    assert folds[-1][1][-1] == n_dates - 1
    assert all(len(test) == n_dates // (n_splits + 1) for _, test in folds)
