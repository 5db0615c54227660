"""build_features: family switches, lineage, the original API, and cutoff dependence on the small market."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pydantic
import pytest

from almanac.config import FeaturesParams, Params
from almanac.features import cross_asset, early_session, regime
from almanac.features.ml_features import (
    FAMILIES,
    build_features,
    compute_early_session_features,
    compute_regime_features,
)
from almanac.sessions import build_sessions

CUTOFF = dt.time(10, 15)
FAMILY_COLUMNS = {
    "early_session": list(early_session.LINEAGE),
    "cross_asset": list(cross_asset.LINEAGE),
    "regime": list(regime.LINEAGE),
}
# Early-session features that do not depend on the cutoff: everything known by 09:31.
CUTOFF_FREE = ["gap_pct", "overnight_range_pct", "overnight_volume_rel", "overnight_delta_ratio", "prev_day_ret_pct"]


def build(dataset, sessions, cutoff=CUTOFF, families=None, windows=None):
    settings = FeaturesParams(cutoff=f"{cutoff:%H:%M}", **(families or {}), **(windows or {}))
    return build_features(dataset.bars, sessions, dataset.daily, settings=settings)


@pytest.fixture(scope="module")
def full(small_dataset, small_sessions):
    return build(small_dataset, small_sessions)


def test_all_families_give_every_column_as_float_indexed_by_trade_date(full, small_sessions):
    features, _ = full
    expected = FAMILY_COLUMNS["early_session"] + FAMILY_COLUMNS["cross_asset"] + FAMILY_COLUMNS["regime"]
    assert list(features.columns) == expected
    assert (features.dtypes == "float64").all()
    assert features.index.name == "trade_date"
    assert list(features.index) == list(small_sessions["trade_date"])


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_alone_gives_only_its_columns(small_dataset, small_sessions, full, family):
    features, lineage = build(small_dataset, small_sessions, families={f: f == family for f in FAMILIES})
    assert list(features.columns) == FAMILY_COLUMNS[family]
    assert set(lineage) == set(FAMILY_COLUMNS[family])
    assert {entry["family"] for entry in lineage.values()} == {family}
    pd.testing.assert_frame_equal(features, full[0][FAMILY_COLUMNS[family]])


def test_two_families_give_the_union(small_dataset, small_sessions):
    features, lineage = build(
        small_dataset, small_sessions, families={"early_session": True, "cross_asset": False, "regime": True}
    )
    assert list(features.columns) == FAMILY_COLUMNS["early_session"] + FAMILY_COLUMNS["regime"]
    assert set(lineage) == set(features.columns)


def test_all_families_off_raises(small_dataset, small_sessions):
    with pytest.raises(ValueError, match="all feature families are switched off"):
        build(small_dataset, small_sessions, families=dict.fromkeys(FAMILIES, False))


def test_every_family_has_a_switch_in_the_params_schema():
    assert set(FAMILIES) <= set(FeaturesParams.model_fields)
    assert all(isinstance(getattr(FeaturesParams(), name), bool) for name in FAMILIES)


def test_unknown_family_switch_is_refused(small_dataset, small_sessions):
    with pytest.raises(pydantic.ValidationError, match="orderflow"):
        build(small_dataset, small_sessions, families={"orderflow": True, "regime": True})


def test_lineage_describes_every_column(full):
    features, lineage = full
    assert set(lineage) == set(features.columns)
    for name, entry in lineage.items():
        assert set(entry) == {"family", "source", "window", "as_of"}, name
        assert all(isinstance(v, str) and v for v in entry.values()), name
        assert "{" not in entry["source"] + entry["window"], name  # window placeholders are filled in
        assert entry["family"] in FAMILIES
    assert lineage["first_volume_rel"]["window"] == "window volume / mean of previous 10 days"
    assert lineage["first_range_atr"]["source"].endswith("RTH ATR(14)")
    assert lineage["atr_pct_rank"]["window"] == "percentile of ATR(14) among the last 252 days"
    assert lineage["open_to_cutoff_ret_pct"]["as_of"] == "cutoff 10:15 ET"
    assert lineage["adx"]["as_of"] == "previous RTH close"
    assert lineage["vix_change"]["as_of"].startswith("available_at <= cutoff 10:15 ET")


def test_lineage_follows_the_windows_and_cutoff(small_dataset, small_sessions):
    windows = dict(volume_avg_days=5, atr_days=7, rank_days=60, gk_days=10, adx_days=9)
    sessions = build_sessions(small_dataset.bars, dt.time(10, 30), small_dataset.manifest["rolls"])
    _, lineage = build(small_dataset, sessions, dt.time(10, 30), windows=windows)
    assert lineage["overnight_volume_rel"]["window"] == "overnight volume / mean of previous 5 days"
    assert lineage["adx"]["window"] == "Wilder ADX(9)"
    assert lineage["gk_vol_pct"]["window"] == "Garman-Klass volatility over 10 days"
    assert lineage["vwap_dist_pct"]["as_of"] == "cutoff 10:30 ET"


def test_original_api_without_sessions(small_dataset, small_sessions, full):
    bars = small_dataset.bars
    out = compute_early_session_features(bars, cutoff_time="10:15")
    assert list(out.columns) == FAMILY_COLUMNS["early_session"]
    assert len(out) == len(small_sessions)
    # Without the manifest's rolls the session table cannot bridge a roll: up to the first roll day everything
    # equals the full build; on the roll day the gap is unknown (NaN) rather than a spliced, untradable jump.
    first_roll = pd.Timestamp(small_dataset.manifest["rolls"][0]["trade_date"])
    before = out.index < first_roll
    # (the family's own frame keeps the test counts as integers; build_features makes every column float)
    pd.testing.assert_frame_equal(
        out.loc[before].astype("float64"), full[0].loc[before, FAMILY_COLUMNS["early_session"]], check_freq=False
    )
    assert np.isnan(out.loc[first_roll, "gap_pct"])
    assert not np.isnan(full[0].loc[first_roll, "gap_pct"])
    # The window features of the roll day do not depend on the previous close.
    for name in ["open_to_cutoff_ret_pct", "first_delta_ratio", "high_tests", "low_tests", "vwap_dist_pct"]:
        assert out.loc[first_roll, name] == full[0].loc[first_roll, name], name


def test_original_api_accepts_time_objects_and_default_cutoff(small_dataset):
    bars = small_dataset.bars
    a = compute_early_session_features(bars)
    b = compute_early_session_features(bars, dt.time(10, 15))
    pd.testing.assert_frame_equal(a, b)


def test_regime_features_from_the_session_table(small_sessions, full):
    out = compute_regime_features(small_sessions)
    pd.testing.assert_frame_equal(out, full[0][FAMILY_COLUMNS["regime"]], check_names=False)


@pytest.fixture(scope="module")
def by_cutoff(small_dataset):
    out = {}
    for cutoff in (dt.time(10, 0), dt.time(10, 30)):
        sessions = build_sessions(small_dataset.bars, cutoff, small_dataset.manifest["rolls"])
        out[cutoff] = build(small_dataset, sessions, cutoff)[0]
    return out


def test_window_features_depend_on_the_cutoff(by_cutoff):
    early, late = by_cutoff[dt.time(10, 0)], by_cutoff[dt.time(10, 30)]
    window_features = [c for c in FAMILY_COLUMNS["early_session"] if c not in CUTOFF_FREE]
    for name in window_features:
        both = early[name].notna() & late[name].notna()
        assert both.sum() > 50, name
        assert (early.loc[both, name] != late.loc[both, name]).mean() > 0.3, name
    # A longer window only adds bars: its range is at least as wide and it holds at least as many tests.
    both = early["first_range_atr"].notna() & late["first_range_atr"].notna()
    assert (late.loc[both, "first_range_atr"] >= early.loc[both, "first_range_atr"]).all()
    assert (late["high_tests"] >= early["high_tests"]).all()
    assert (late["low_tests"] >= early["low_tests"]).all()


def test_features_known_before_the_cutoff_do_not_depend_on_it(by_cutoff):
    early, late = by_cutoff[dt.time(10, 0)], by_cutoff[dt.time(10, 30)]
    same = CUTOFF_FREE + FAMILY_COLUMNS["regime"] + FAMILY_COLUMNS["cross_asset"]
    pd.testing.assert_frame_equal(early[same], late[same])


def test_inputs_are_not_modified(small_dataset, small_sessions):
    bars, daily, sessions = small_dataset.bars.copy(), small_dataset.daily.copy(), small_sessions.copy()
    build(small_dataset, small_sessions)
    pd.testing.assert_frame_equal(small_dataset.bars, bars)
    pd.testing.assert_frame_equal(small_dataset.daily, daily)
    pd.testing.assert_frame_equal(small_sessions, sessions)


def test_cross_asset_without_daily_series_is_said_not_hidden(small_dataset, small_sessions):
    """Vendor bars without data.daily_paths: the cross-asset family is on but has nothing to read; the lineage, a
    warning (AlmanacWarning, which the features stage logs), the registry record and the report all say so."""
    from almanac.errors import AlmanacWarning
    from almanac.ml.registry import registry_entry
    from almanac.report import Run, warnings

    empty = small_dataset.daily.iloc[0:0]
    with pytest.warns(AlmanacWarning, match="features not computed: vix_change"):
        features, lineage = build_features(small_dataset.bars, small_sessions, empty, settings=FeaturesParams())
    names = list(cross_asset.LINEAGE)
    assert not set(names) & set(features.columns)
    for name in names:
        assert lineage[name]["computed"] is False
        assert lineage[name]["why"] == "not computed: no daily series given (data.daily_paths)"
    (name, record), = registry_entry(
        model="lightgbm", target="rest_of_day", symbol="ES", cutoff="10:15", params={}, feature_lineage=lineage,
        features=features, metrics={"cv_auc_mean": 0.5}, model_sha256="0" * 64,
    ).items()  # fmt: skip
    assert record["feature_set"] == "early_session+regime"
    assert set(record["features_not_computed"]) == set(names)
    run = Run(params=Params(), train={}, evaluate={}, backtest={},
              registry={"current": name, "versions": {name: record}}, plots={})  # fmt: skip
    assert any(w.startswith("Features vix_change") and "the model never saw them" in w for w in warnings(run))
