"""The real FirstRate NQ sample (../shared/data/real, internal testing only; read in place, never copied).

``NQ_1min_sample.csv``: a header row, US Eastern, bar start, 2026-02-15 18:00 to 2026-03-02 18:38 ET; Presidents' Day
(2026-02-16: NYSE closed, CME equity futures until 13:00 ET) and a trailing stub of the next Globex session.
The RTH open and close of every day below are the ones shared/data/real/README.md read from the raw file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from almanac.config import BacktestParams
from almanac.data_sources.files import build_file_dataset
from almanac.errors import BarsError
from almanac.ml.backtester import backtest
from almanac.ml.pnl import CostModel
from almanac.sessions import build_sessions
from helpers import files_params

SAMPLE = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "nq_1min_firstrate_2026-02"
) / "NQ_1min_sample.csv"
RTH = {  # open / close per trade date, from the README of the samples
    "2026-02-17": (24659.25, 24776.5), "2026-02-18": (24809.5, 24957.5), "2026-02-19": (24833.75, 24863.5),
    "2026-02-20": (24715.25, 25075.0), "2026-02-23": (24981.0, 24768.0), "2026-02-24": (24805.0, 25030.0),
    "2026-02-25": (25160.25, 25383.5), "2026-02-26": (25342.0, 25083.0), "2026-02-27": (24815.25, 24998.5),
    "2026-03-02": (24644.50, 25023.25),
}  # fmt: skip

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def dataset():
    if not SAMPLE.is_file():
        pytest.skip(f"real data not available: {SAMPLE}")
    return build_file_dataset(files_params(symbol="NQ", paths=str(SAMPLE), format="firstrate"))


@pytest.fixture(scope="module")
def sessions(dataset):
    return build_sessions(dataset.bars, dt.time(10, 15), dataset.manifest["rolls"]).set_index("trade_date")


def test_every_bar_is_read_as_nq(dataset):
    assert len(dataset.bars) == 14_972  # the headered file's rows, none dropped
    assert (dataset.bars["contract"] == "NQ-continuous").all()
    assert dataset.manifest["repairs"] == {}


def test_sessions_are_the_files_rth_open_and_close(sessions):
    full = sessions.loc[sessions["rth_bars"] > 0]
    assert {str(d.date()): (row.open, row.close) for d, row in full.iterrows()} == RTH


def test_presidents_day_is_not_a_trade_date_and_its_bars_belong_to_the_next_session(dataset, sessions):
    assert pd.Timestamp("2026-02-16") not in sessions.index
    local = dataset.bars["ts"].dt.tz_convert("America/New_York")
    holiday = dataset.bars.loc[local.dt.date == dt.date(2026, 2, 16)]
    assert (holiday["trade_date"] == pd.Timestamp("2026-02-17")).all()
    clock = local.dt.strftime("%H:%M")
    holiday_day = local.dt.date == dt.date(2026, 2, 16)
    assert ((clock >= "09:30") & (clock < "13:00") & holiday_day).sum() == 210  # trading until 13:00 ET
    assert not ((clock >= "13:00") & (clock < "18:00") & holiday_day).any()


def test_the_trailing_stub_is_flagged_not_traded(dataset, sessions):
    stub = sessions.loc[pd.Timestamp("2026-03-03")]
    assert stub["rth_bars"] == 0 and "no RTH bars" in stub["partial"] and np.isnan(stub["close"])
    assert dataset.manifest["gaps"]["trading_days_without_bars"] == ["2026-03-03"]


def test_pnl_is_twenty_dollars_a_point(sessions):
    days = sessions.index[sessions["rth_bars"] > 0]
    oof = pd.DataFrame({"trade_date": days, "probability": 0.9})  # long every day
    settings = BacktestParams(commission_usd=0.0, slippage_ticks=0.0, bootstrap=0)
    costs = CostModel.from_params(settings, symbol="NQ")
    _, equity = backtest(oof, sessions.reset_index(), settings=settings, costs=costs)
    moves = (sessions.loc[days, "close"] - sessions.loc[days, "cutoff_price"]).to_numpy()
    assert costs.point_value_usd == 20.0
    assert equity["pnl_usd"].tolist() == (moves * 20.0).tolist()


def test_the_same_file_labelled_es_is_refused():
    if not SAMPLE.is_file():
        pytest.skip(f"real data not available: {SAMPLE}")
    with pytest.raises(BarsError, match=r"line 2, column close: 24828.0 is outside the plausible range of ES.*NQ"):
        build_file_dataset(files_params(symbol="ES", paths=str(SAMPLE), format="firstrate"))
