"""Gaps and partial sessions: missing days never lend their neighbours' prices, unfinished days are never labelled.

The files are the synthetic market written as FirstRate files by the test; the real FirstRate sample (when
``../shared`` is there) adds a real two-files-months-apart case.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from almanac.cli import main as cli_main
from almanac.data_sources.files import build_file_dataset
from almanac.data_sources.store import write_json, write_table
from almanac.features.ml_features import build_features
from almanac.ml.labelers import build_labels
from almanac.sessions import build_sessions
from helpers import features_params, files_params, firstrate_lines, synthetic_bars, write_lines

CUTOFF = dt.time(10, 15)
SETTINGS = features_params(volume_avg_days=3, atr_days=3, rank_days=20, gk_days=3, adx_days=3, cross_asset=False)
REAL = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "es_1min_firstrate_2023-03"
) / "ES_1min_sample.csv"


@pytest.fixture(scope="module")
def months_apart(tmp_path_factory):
    """January and April 2024 of the synthetic market in two files: February and March are missing."""
    folder = tmp_path_factory.mktemp("apart")
    january = write_lines(folder / "jan.txt", firstrate_lines(synthetic_bars("2024-01-02", "2024-01-31")))
    april = write_lines(folder / "apr.txt", firstrate_lines(synthetic_bars("2024-04-01", "2024-04-30")))
    dataset = build_file_dataset(files_params(paths=f"{january},{april}"))
    sessions = build_sessions(dataset.bars, CUTOFF, dataset.manifest["rolls"])
    features, _ = build_features(dataset.bars, sessions, dataset.daily, settings=SETTINGS)
    return dataset, sessions.set_index("trade_date"), features


def test_sessions_have_a_row_for_every_missing_nyse_day(months_apart):
    _, sessions, _ = months_apart
    february_march = sessions.loc["2024-02-01":"2024-03-28"]
    assert len(february_march) == 40  # NYSE trading days of February and March 2024
    assert (february_march["partial"] == "no bars").all()
    assert february_march[["open", "close", "cutoff_price", "prev_close"]].isna().all().all()


def test_first_day_after_the_gap_takes_nothing_from_before_it(months_apart):
    _, sessions, features = months_apart
    first = pd.Timestamp("2024-04-01")
    assert np.isnan(sessions.loc[first, "prev_close"])
    row = features.loc[first]
    for name in ("gap_pct", "overnight_range_pct", "prev_day_ret_pct", "first_volume_rel", "overnight_volume_rel"):
        assert np.isnan(row[name]), name
    for name in ("atr_pct", "first_range_atr", "gk_vol_pct", "adx", "atr_pct_rank", "days_since_high"):
        assert np.isnan(row[name]), name
    # What the day itself shows by the cutoff is still there.
    assert np.isfinite(row["open_to_cutoff_ret_pct"]) and np.isfinite(row["vwap_dist_pct"])


def test_windows_recover_once_they_no_longer_reach_the_gap(months_apart):
    _, sessions, features = months_apart
    by_date = features
    april = sessions.loc["2024-04-01":].index
    # ATR(3) through the previous day needs 3 complete days and the close before them: the 5th April day.
    assert by_date.loc[april[:4], "atr_pct"].isna().all()
    assert by_date.loc[april[4:], "atr_pct"].notna().all()
    # Volume ratios against the previous 3 days: from the 4th April day.
    assert by_date.loc[april[:3], "first_volume_rel"].isna().all()
    assert by_date.loc[april[3:], "first_volume_rel"].notna().all()
    assert np.isfinite(by_date.loc[april[1], "gap_pct"])


def test_real_sample_and_a_later_month_make_no_cross_gap_features(tmp_path):
    if not REAL.is_file():
        pytest.skip(f"real data not available: {REAL}")
    may = synthetic_bars("2023-05-01", "2023-05-31")
    may = may.assign(**{c: may[c] + 2000.0 for c in ("open", "high", "low", "close")})  # near the real level
    later = write_lines(tmp_path / "may.txt", firstrate_lines(may))
    dataset = build_file_dataset(files_params(paths=f"{REAL},{later}"))
    sessions = build_sessions(dataset.bars, CUTOFF, dataset.manifest["rolls"]).set_index("trade_date")
    features, _ = build_features(dataset.bars, sessions.reset_index(), dataset.daily, settings=SETTINGS)
    assert np.isnan(sessions.loc["2023-05-01", "prev_close"])
    assert np.isnan(features.loc["2023-05-01", "gap_pct"])
    assert (sessions.loc["2023-03-24":"2023-04-28", "partial"] == "no bars").all()


def test_a_missing_day_in_the_middle_blanks_only_the_windows_that_need_it(tmp_path):
    bars = synthetic_bars("2024-04-01", "2024-04-30")
    holes = bars.loc[bars["trade_date"] != pd.Timestamp("2024-04-15")]
    path = write_lines(tmp_path / "apr.txt", firstrate_lines(holes))
    dataset = build_file_dataset(files_params(paths=str(path)))
    sessions = build_sessions(dataset.bars, CUTOFF, dataset.manifest["rolls"])
    features, _ = build_features(dataset.bars, sessions, dataset.daily, settings=SETTINGS)
    assert sessions.set_index("trade_date").loc["2024-04-15", "partial"] == "no bars"
    assert np.isnan(features.loc["2024-04-16", "gap_pct"])
    assert np.isnan(features.loc["2024-04-17", "prev_day_ret_pct"])  # yesterday's return needs the 15th's close
    assert np.isfinite(features.loc["2024-04-18", "prev_day_ret_pct"])
    assert features.loc["2024-04-16":"2024-04-19", "atr_pct"].isna().all()  # windows through the 15th
    assert np.isfinite(features.loc["2024-04-22", "atr_pct"])


# --- unfinished and stub days --------------------------------------------------------------------------------------


def _morning(tmp_path: Path, last_bar_et: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """April 2024 plus the bars of 1 May up to ``last_bar_et`` (a day not finished yet)."""
    bars = synthetic_bars("2024-04-01", "2024-05-01")
    end = pd.Timestamp(f"2024-05-01 {last_bar_et}", tz="America/New_York")
    bars = bars.loc[bars["ts"] <= end]
    path = write_lines(tmp_path / "es.txt", firstrate_lines(bars))
    dataset = build_file_dataset(files_params(paths=str(path)))
    sessions = build_sessions(dataset.bars, CUTOFF, dataset.manifest["rolls"])
    return sessions, build_labels(sessions, dataset.bars)


def test_a_day_not_finished_yet_is_never_labelled(tmp_path):
    sessions, labels = _morning(tmp_path, "10:20")
    today = sessions.set_index("trade_date").loc["2024-05-01"]
    assert today["partial"] == "ends before the close"
    assert np.isfinite(today["cutoff_price"])  # the morning's prediction has its inputs
    assert np.isnan(today["close"])
    assert labels.loc["2024-05-01"].isna().all()
    assert labels.loc["2024-04-30"].notna().all()


def test_a_trailing_stub_of_overnight_bars_gets_no_cutoff_price_and_no_label(tmp_path):
    sessions, labels = _morning(tmp_path, "03:00")
    stub = sessions.set_index("trade_date").loc["2024-05-01"]
    assert stub["partial"] == "no RTH bars; ends before the close"
    assert np.isnan(stub["cutoff_price"])
    assert labels.loc["2024-05-01"].isna().all()


def test_late_start_blanks_the_overnight_values(tmp_path):
    bars = synthetic_bars("2024-04-01", "2024-04-05")
    six = pd.Timestamp("2024-04-03 06:00", tz="America/New_York")
    late = bars.loc[~((bars["trade_date"] == pd.Timestamp("2024-04-03")) & (bars["ts"] < six))]
    path = write_lines(tmp_path / "es.txt", firstrate_lines(late))
    dataset = build_file_dataset(files_params(paths=str(path)))
    sessions = build_sessions(dataset.bars, CUTOFF, dataset.manifest["rolls"]).set_index("trade_date")
    day = sessions.loc["2024-04-03"]
    assert day["partial"] == "starts after the Globex open"
    assert day[["eth_open", "eth_high", "eth_low", "eth_close"]].isna().all()
    assert np.isfinite(day["close"]) and np.isfinite(day["cutoff_price"])
    features, _ = build_features(dataset.bars, sessions.reset_index(), dataset.daily, settings=SETTINGS)
    row = features.loc["2024-04-03"]
    assert np.isnan(row["overnight_range_pct"]) and np.isnan(row["overnight_volume_rel"])


# --- almanac info -------------------------------------------------------------------------------------------------


def test_almanac_info_reports_missing_and_partial_sessions(tmp_path, months_apart, capsys):
    dataset, sessions, _ = months_apart
    write_json(dataset.manifest, tmp_path / "bars" / "manifest.json")
    write_table(sessions.reset_index(), tmp_path / "sessions.parquet")
    assert cli_main(["--data-dir", str(tmp_path), "info"]) == 0
    out = capsys.readouterr().out
    assert (
        "missing     40 NYSE sessions without any bar: 2024-02-01, 2024-02-02, 2024-02-05, 2024-02-06, 2024-02-07 and 35 more"
        in out
    )
    partial = sessions.loc[(sessions["partial"] != "") & (sessions["partial"] != "no bars")]
    assert f"partial     {len(partial)} sessions" in out
    assert "sessions    RTH 09:30-16:00 ET (E-mini S&P 500, CME; tick 0.25, $50 a point, months HMUZ)" in out
    assert json.loads((tmp_path / "bars" / "manifest.json").read_text())["gaps"]["trading_days_without_bars"][:1] == [
        "2024-02-01"
    ]
