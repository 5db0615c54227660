"""The look-ahead audit: clean features pass, leaky ones are named with their date; date spreading; cut_at."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from almanac.features import audit
from almanac.features.ml_features import build_features

ET = "America/New_York"
CUTOFF = dt.time(10, 15)
ONE_MINUTE = pd.Timedelta(minutes=1)


@pytest.fixture(scope="module")
def features(small_dataset, small_sessions) -> pd.DataFrame:
    out, _ = build_features(small_dataset.bars, small_sessions, small_dataset.daily)
    return out


@pytest.fixture
def spread_dates(monkeypatch):
    """Audit several dates of the half-year market: the default warm-up (420 days) leaves only its last date."""
    original = audit.audit_dates
    monkeypatch.setattr(audit, "audit_dates", lambda dates, n: original(dates, n, warmup=20))
    return lambda dates, n: [str(d.date()) for d in original(dates, n, warmup=20)]


def run_audit(dataset, features, n_dates=6):
    return audit.audit_lookahead(
        dataset.bars, dataset.daily, features, rolls=dataset.manifest["rolls"], n_dates=n_dates
    )


def test_clean_features_have_no_violations(small_dataset, features):
    result = run_audit(small_dataset, features)
    assert result["violations"] == 0, result["failures"][:5]
    assert result["failures"] == []
    assert result["dates_checked"] == 1  # 124 trade dates < the 420-day warm-up: only the last one
    assert result["features_checked"] == features.shape[1]
    assert result["max_abs_diff"] == 0.0


def test_clean_features_have_no_violations_on_several_dates(small_dataset, features, spread_dates):
    result = run_audit(small_dataset, features)
    assert result["dates_checked"] == 6
    assert result["violations"] == 0, result["failures"][:5]


def test_same_day_close_in_a_feature_is_caught_with_date_and_name(
    small_dataset, small_sessions, features, spread_dates
):
    leaky = features.copy()
    s = small_sessions.set_index("trade_date")
    # "gap" computed with the same-day RTH close: the whole day's return, known only at 16:00.
    leaky["gap_pct"] = ((s["close"] / s["prev_close"] - 1.0) * 100.0).to_numpy()
    result = run_audit(small_dataset, leaky)
    checked = spread_dates(features.index, 6)
    assert result["violations"] == len(checked)
    assert {(f["trade_date"], f["feature"]) for f in result["failures"]} == {(d, "gap_pct") for d in checked}
    failure = result["failures"][0]
    assert failure["at_cutoff"] == pytest.approx(features.loc[pd.Timestamp(failure["trade_date"]), "gap_pct"])
    assert result["max_abs_diff"] > 0


def test_tomorrows_value_is_caught(small_dataset, features):
    leaky = features.copy()
    leaky["vix_change"] = leaky["vix_change"].shift(-1)  # next day's value: NaN on the last date
    result = run_audit(small_dataset, leaky)
    assert result["violations"] == 1
    (failure,) = result["failures"]
    assert failure["trade_date"] == str(features.index[-1].date())
    assert failure["feature"] == "vix_change"
    assert np.isnan(failure["full"]) and not np.isnan(failure["at_cutoff"])


def test_leaky_feature_code_is_caught(small_dataset, monkeypatch, spread_dates):
    """Feature code that reads the same-day RTH close computes different values once the future is cut away."""
    honest = audit.build_features

    def leaky_build(bars, sessions, daily, *, settings=None):
        features, lineage = honest(bars, sessions, daily, settings=settings)
        close = sessions.set_index("trade_date")["close"]  # the same-day RTH close: known only at 16:00
        features["same_day_close"] = close.reindex(features.index).to_numpy()
        return features, lineage

    monkeypatch.setattr(audit, "build_features", leaky_build)
    sessions = audit.build_sessions(small_dataset.bars, CUTOFF, small_dataset.manifest["rolls"])
    full, _ = leaky_build(small_dataset.bars, sessions, small_dataset.daily)
    result = run_audit(small_dataset, full)
    assert result["violations"] == 6
    assert {f["feature"] for f in result["failures"]} == {"same_day_close"}
    assert [f["trade_date"] for f in result["failures"]] == spread_dates(full.index, 6)


def test_forked_workers_give_the_same_result(small_dataset, features, spread_dates):
    """Recomputing the dates in two processes changes nothing, failures and their order included."""
    leaky = features.copy()
    leaky["gap_pct"] = leaky["gap_pct"] + 1.0
    runs = [
        audit.audit_lookahead(
            small_dataset.bars, small_dataset.daily, leaky, rolls=small_dataset.manifest["rolls"], n_dates=4, jobs=jobs
        )
        for jobs in (1, 2)
    ]
    assert runs[0]["violations"] == 4
    assert runs[0] == runs[1]


@pytest.mark.parametrize("margin", [audit.BAR_MARGIN_DAYS, 0])
def test_features_from_the_recent_bars_equal_those_from_the_whole_window(small_dataset, small_sessions, margin):
    """The audit's features read only the last volume_avg_days + BAR_MARGIN_DAYS days of bars (the session table
    is built from the whole window): each audited date's row is the one the whole window gives, bit for bit —
    also with no margin at all.  A feature that came to read older bars fails here first."""
    bars, daily, rolls = small_dataset.bars, small_dataset.daily, small_dataset.manifest["rolls"]
    settings = audit.DEFAULTS.features
    columns = build_features(bars, small_sessions, daily)[0].columns
    dates = audit.audit_dates(small_sessions["trade_date"], 6, warmup=settings.volume_avg_days + margin + 10)
    cutter = audit._Cutter(bars, daily)
    for date in dates:
        cut_bars, cut_daily = cutter.cut(date, cutoff=CUTOFF, history_days=audit.HISTORY_DAYS)
        whole, _ = build_features(cut_bars, audit.build_sessions(cut_bars, CUTOFF, rolls), cut_daily)
        recent = cutter.since(cut_bars, date, settings.volume_avg_days + margin)
        assert recent["trade_date"].nunique() == settings.volume_avg_days + margin + 1  # fewer than the window's
        if margin == audit.BAR_MARGIN_DAYS:
            row = audit._recompute(cutter, date, CUTOFF, rolls, settings, columns)
        else:
            row = build_features(recent, audit.build_sessions(cut_bars, CUTOFF, rolls), cut_daily)[0].loc[date]
        np.testing.assert_array_equal(row.to_numpy(), whole.reindex(columns=columns).loc[date].to_numpy())


def test_categorical_contracts_give_the_same_audit(small_dataset, features, spread_dates):
    """The stage reads the contract codes as categories; the audit's result is the same as with text."""
    categorical = small_dataset.bars.assign(contract=small_dataset.bars["contract"].astype("category"))
    leaky = features.assign(gap_pct=features["gap_pct"] + 1.0)
    datasets = [small_dataset, dataclasses.replace(small_dataset, bars=categorical)]
    runs = [run_audit(dataset, leaky) for dataset in datasets]
    assert runs[0]["violations"] == 6
    assert runs[0] == runs[1]


def test_unsorted_bars_are_cut_like_sorted_ones(small_dataset):
    """Bars out of time order take the masking path and keep the same rows."""
    bars, daily = small_dataset.bars, small_dataset.daily
    shuffled = bars.sample(frac=1.0, random_state=0)
    date = pd.Timestamp("2023-03-13")
    in_order, _ = audit.cut_at(bars, daily, date, cutoff=CUTOFF, history_days=5)
    out_of_order, _ = audit.cut_at(shuffled, daily, date, cutoff=CUTOFF, history_days=5)
    pd.testing.assert_frame_equal(out_of_order.sort_index(), in_order)
    dates = np.unique(bars["trade_date"].to_numpy())  # what both paths' trade dates must be
    np.testing.assert_array_equal(audit._Cutter(bars, daily).dates, dates)
    np.testing.assert_array_equal(audit._Cutter(shuffled, daily).dates, dates)
    recent = audit._Cutter(bars, daily).since(in_order, date, 2)
    pd.testing.assert_frame_equal(audit._Cutter(shuffled, daily).since(out_of_order, date, 2).sort_index(), recent)
    assert recent["trade_date"].nunique() == 3 and recent["trade_date"].max() == date


def test_small_rounding_differences_are_tolerated(small_dataset, features):
    noisy = features.copy()
    noisy["atr_pct"] = noisy["atr_pct"] * (1 + 1e-12)
    assert run_audit(small_dataset, noisy)["violations"] == 0


def test_audit_dates_spread_evenly_after_the_warmup():
    dates = pd.bdate_range("2016-01-04", periods=1000)
    picked = audit.audit_dates(dates, 12)
    assert len(picked) == 12
    assert picked[0] == dates[audit.HISTORY_DAYS]
    assert picked[-1] == dates[-1]
    assert picked.is_monotonic_increasing and picked.is_unique
    gaps = np.diff(dates.get_indexer(picked))
    assert gaps.max() - gaps.min() <= 1  # even spacing up to rounding


def test_audit_dates_sorts_and_handles_short_histories():
    dates = pd.bdate_range("2023-01-02", periods=50)
    assert list(audit.audit_dates(dates[::-1], 5)) == [dates[-1]]  # shorter than the warm-up: the last date
    assert list(audit.audit_dates(dates, 100, warmup=45)) == list(dates[45:])  # fewer usable dates than asked
    assert list(audit.audit_dates(dates, 1, warmup=10)) == [dates[10]]
    picked = audit.audit_dates(dates, 3, warmup=0)
    assert list(picked) == [dates[0], dates[24], dates[49]]  # linspace 0, 24.5, 49 rounded half to even


@pytest.mark.parametrize("trade_date", ["2023-03-09", "2023-03-13", "2023-05-26"])
@pytest.mark.parametrize("history_days", [5, 1000])
def test_cut_at_keeps_exactly_what_existed_at_the_cutoff(small_dataset, trade_date, history_days):
    bars, daily = small_dataset.bars, small_dataset.daily
    date = pd.Timestamp(trade_date)
    cut_bars, cut_daily = audit.cut_at(bars, daily, date, cutoff=CUTOFF, history_days=history_days)
    cutoff = pd.Timestamp(f"{trade_date} 10:15").tz_localize(ET).tz_convert("UTC")  # DST-aware, independently
    dates = np.sort(bars["trade_date"].unique())
    start = dates[max(int(np.searchsorted(dates, date)) - history_days, 0)]
    expected = (bars["ts"] + ONE_MINUTE <= cutoff) & (bars["trade_date"] >= start)
    pd.testing.assert_frame_equal(cut_bars, bars.loc[expected])
    pd.testing.assert_frame_equal(cut_daily, daily.loc[daily["available_at"] <= cutoff])
    # The last bar kept is the one starting 10:14 ET on the trade date; nothing of the 10:15 bar or later.
    assert cut_bars["ts"].max() == cutoff - ONE_MINUTE
    assert cut_bars["trade_date"].max() == date
    assert cut_bars["trade_date"].nunique() == min(history_days, int(np.searchsorted(dates, date))) + 1
    # Daily rows: the previous evenings' closes only (nothing in the synthetic market is published before 10:15).
    assert (cut_daily["date"] < date).all()
    assert cut_daily.groupby("symbol")["date"].max().eq(pd.Timestamp(dates[np.searchsorted(dates, date) - 1])).all()
