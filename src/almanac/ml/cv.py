"""Walk-forward splitting by trade date, usable as a scikit-learn CV splitter.

Test blocks of ``test_days`` consecutive trade dates follow each other; each block is trained only on dates
strictly before it.  Between the last training date and the first test date a gap of ``purge_days +
embargo_days`` trade dates is left out of training:

* purge (Lopez de Prado, AFML ch. 7): drop training samples whose label interval overlaps the test block.  Our
  labels resolve on their own trade date, so one day is already conservative; longer horizons need more.
* embargo: a further gap that keeps serially correlated features (10- to 252-day windows) of the last training
  days from describing the first test days.

``expanding`` trains on everything before the gap; ``sliding`` on the last ``train_days`` dates before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from almanac.config import DEFAULTS, CVParams
from almanac.errors import NotEnoughDataError

__all__ = ["NotEnoughDataError", "WalkForwardSplit"]

SCHEMES = ("expanding", "sliding")
_CV = DEFAULTS.cv


class WalkForwardSplit(BaseCrossValidator):
    """Walk-forward splitter over trade dates (see the module docstring).

    ``split(X, y, groups)`` takes the trade date of each row from ``groups`` or, if omitted, from ``X``'s
    index; rows sharing a date always land on the same side.  Defaults are those of ``cv.*``.

    Parameters
    ----------
    test_days : int
        Trade dates per test block.
    min_train_days : int
        Trade dates before the first test block's gap.
    scheme : {"expanding", "sliding"}
        Train on everything before the gap, or on the last ``train_days`` dates before it.
    train_days : int
        Training window of the sliding scheme.
    purge_days, embargo_days : int
        Trade dates left out between training and test (their sum is the gap).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> dates = pd.bdate_range("2024-01-01", periods=12)
    >>> cv = WalkForwardSplit(test_days=3, min_train_days=4, purge_days=1, embargo_days=1)
    >>> [(train.tolist(), test.tolist()) for train, test in cv.split(np.zeros(12), groups=dates)]
    [([0, 1, 2, 3], [6, 7, 8]), ([0, 1, 2, 3, 4, 5, 6], [9, 10, 11])]
    """

    def __init__(
        self,
        *,
        test_days: int = _CV.test_days,
        min_train_days: int = _CV.min_train_days,
        scheme: str = _CV.scheme,
        train_days: int = _CV.train_days,
        purge_days: int = _CV.purge_days,
        embargo_days: int = _CV.embargo_days,
    ):
        self.test_days = test_days
        self.min_train_days = min_train_days
        self.scheme = scheme
        self.train_days = train_days
        self.purge_days = purge_days
        self.embargo_days = embargo_days

    @classmethod
    def from_params(cls, cv: CVParams) -> WalkForwardSplit:
        """The splitter ``cv.*`` describes."""
        return cls(**cv.model_dump())

    @classmethod
    def from_n_splits(
        cls, n_dates: int, n_splits: int, *, purge_days: int = 1, embargo_days: int = 0
    ) -> WalkForwardSplit:
        """Roughly ``TimeSeriesSplit(n_splits)``'s shape, by date: ``n_splits`` equal test blocks after a first
        training block of the same size."""
        test_days = max(n_dates // (n_splits + 1), 1)
        gap = purge_days + embargo_days
        return cls(
            test_days=test_days,
            min_train_days=max(n_dates - n_splits * test_days - gap, 1),
            purge_days=purge_days,
            embargo_days=embargo_days,
        )

    def _dates(self, X, groups) -> np.ndarray:
        if groups is not None:
            return np.asarray(pd.DatetimeIndex(groups))
        if isinstance(getattr(X, "index", None), pd.DatetimeIndex):
            return np.asarray(X.index)
        raise ValueError("WalkForwardSplit needs the trade dates: pass groups= or an X indexed by trade date")

    def _blocks(self, unique_dates: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {self.scheme!r}; allowed: {', '.join(SCHEMES)}")
        n = len(unique_dates)
        gap = self.purge_days + self.embargo_days
        first_test = self.min_train_days + gap
        needed = first_test + self.test_days
        if n < needed:
            raise NotEnoughDataError(
                f"walk-forward needs at least {needed} trade days (min_train_days {self.min_train_days} + purge "
                f"{self.purge_days} + embargo {self.embargo_days} + one test block of {self.test_days}); the data has {n}. "
                "Load more history or lower cv.min_train_days / cv.test_days."
            )
        blocks = []
        for start in range(first_test, n, self.test_days):  # one iteration per fold
            test = np.arange(start, min(start + self.test_days, n))
            train_end = start - gap
            train_start = 0 if self.scheme == "expanding" else max(train_end - self.train_days, 0)
            blocks.append((np.arange(train_start, train_end), test))
        return blocks

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds for these dates."""
        return len(self._blocks(np.unique(self._dates(X, groups))))

    def split(self, X, y=None, groups=None):
        """Yield ``(train_rows, test_rows)`` integer positions, in date order."""
        dates = self._dates(X, groups)
        unique_dates, codes = np.unique(dates, return_inverse=True)
        for train_days, test_days in self._blocks(unique_dates):
            train = np.flatnonzero(np.isin(codes, train_days))
            test = np.flatnonzero(np.isin(codes, test_days))
            yield train, test

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover - split() is overridden
        for _, test in self.split(X, y, groups):
            yield test
