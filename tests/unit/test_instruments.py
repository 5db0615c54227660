"""The instrument table: one place for each contract's specification, read by files, contracts and the backtest.

No real NQ minute sample is available to the tests (none ships in ``../shared/data/real``): NQ files here are
the synthetic market scaled to NQ's price level and written with NQ contract codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from almanac.data_sources.contracts import calendar_front
from almanac.data_sources.files import build_file_dataset
from almanac.errors import BarsError
from almanac.instruments import instrument, modelled, root_of, table
from almanac.ml.backtester import backtest
from almanac.ml.pnl import CostModel
from almanac.sessions import build_sessions
from helpers import files_params, firstrate_lines, synthetic_bars, write_lines

REQUIRED = {"ES", "MES", "NQ", "MNQ", "RTY", "YM", "CL", "GC", "ZN"}


def test_the_table_holds_the_required_contracts_with_their_published_specifications():
    assert set(table()) >= REQUIRED
    specs = {root: (s.point_value_usd, s.tick, s.months, s.exchange) for root, s in table().items()}
    assert specs["ES"] == (50, 0.25, "HMUZ", "CME")
    assert specs["MES"] == (5, 0.25, "HMUZ", "CME")
    assert specs["NQ"] == (20, 0.25, "HMUZ", "CME")
    assert specs["MNQ"] == (2, 0.25, "HMUZ", "CME")
    assert specs["RTY"] == (50, 0.1, "HMUZ", "CME")
    assert specs["YM"] == (5, 1.0, "HMUZ", "CBOT")
    assert specs["CL"] == (1000, 0.01, "FGHJKMNQUVXZ", "NYMEX")
    assert specs["GC"] == (100, 0.1, "GJMQVZ", "COMEX")
    assert specs["ZN"] == (1000, 1 / 64, "HMUZ", "CBOT")
    assert instrument("CL").rth_et == ("09:00", "14:30")
    assert instrument("CL").price_range[0] < 0  # crude settled below zero in April 2020


def test_every_instrument_has_modelled_sessions_in_its_own_rth_window():
    assert modelled() == ["ES", "MES", "NQ", "MNQ", "RTY", "YM", "CL", "GC", "ZN"]
    assert {r: s.rth_et for r, s in table().items() if s.rth_et != ("09:30", "16:00")} == {
        "CL": ("09:00", "14:30"), "GC": ("08:20", "13:30"), "ZN": ("08:20", "15:00"),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("contract", "root"), [("ESM24", "ES"), ("MESM24", "MES"), ("NQH25", "NQ"), ("MNQ-continuous", "MNQ")]
)
def test_root_of_a_contract(contract, root):
    assert root_of(contract) == root


def test_contract_schedule_uses_the_symbols_own_codes():
    assert list(calendar_front("NQ", pd.DatetimeIndex(["2024-03-01", "2024-03-14", "2024-06-14"]))) == [
        "NQH24",
        "NQM24",
        "NQU24",
    ]


@pytest.fixture(scope="module")
def april():
    return synthetic_bars("2024-04-01", "2024-04-30")


def _scaled(bars: pd.DataFrame, factor: float, tick: float = 0.25) -> pd.DataFrame:
    prices = {c: np.round(bars[c] * factor / tick) * tick for c in ("open", "high", "low", "close")}
    return bars.assign(**prices)


def test_nq_prices_labelled_es_are_refused(tmp_path, april):
    path = write_lines(tmp_path / "ES_1min.txt", firstrate_lines(_scaled(april, 8.0)))
    with pytest.raises(BarsError) as info:
        build_file_dataset(files_params("ES", str(path)))
    message = str(info.value)
    assert message.startswith(f"{path}, line 1, column close: ")
    assert "is outside the plausible range of ES (600 to 12000; median of the data 1" in message
    assert "prices like these are NQ, MNQ, YM); is this another instrument's data? Check data.symbol" in message


def test_nq_files_load_as_nq_with_nq_contracts(tmp_path, april):
    nq = _scaled(april, 8.0)
    path = write_lines(tmp_path / "NQM24_1min.txt", firstrate_lines(nq))
    dataset = build_file_dataset(files_params("NQ", str(path)))
    assert set(dataset.bars["contract"]) == {"NQM24"}
    assert dataset.manifest["tick"] == 0.25 and dataset.manifest["symbol"] == "NQ"


def test_another_markets_contract_codes_are_refused(tmp_path, april):
    path = write_lines(tmp_path / "NQM24_1min.txt", firstrate_lines(_scaled(april, 8.0)))
    with pytest.raises(BarsError) as info:
        build_file_dataset(files_params("MNQ", str(path)))
    assert str(info.value) == (
        f"{path}, line 1, column contract: NQM24 is not a MNQ contract; check data.symbol or remove the other "
        "market's rows"
    )


def test_rty_tick_grid_is_its_own(tmp_path, april):
    rty = _scaled(april, 1.0, tick=0.1)  # prices near 2000 on a 0.1 grid: off the ES grid, on RTY's
    path = write_lines(tmp_path / "RTY_1min.txt", [line for line in firstrate_lines(rty)])
    assert len(build_file_dataset(files_params("RTY", str(path))).bars) == len(rty)
    with pytest.raises(BarsError, match="is not on the 0.25 tick grid"):
        build_file_dataset(files_params("ES", str(path)))


def test_crude_files_load_on_crudes_hours_and_a_price_below_zero_says_why_it_is_refused(tmp_path, april):
    crude = _scaled(april, 70 / 5000, tick=0.01)  # ES-shaped prices moved to ~70 dollars on the cent grid
    path = write_lines(tmp_path / "CLK24_1min.txt", firstrate_lines(crude))
    dataset = build_file_dataset(files_params("CL", str(path)))
    assert set(dataset.bars["contract"]) == {"CLK24"} and dataset.manifest["tick"] == 0.01
    lines = firstrate_lines(crude)
    stamp = lines[5].split(",")[0]
    lines[5] = f"{stamp},-37.63,-37.63,-37.63,-37.63,12"  # 20 April 2020 style
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BarsError) as info:
        build_file_dataset(files_params("CL", str(path)))
    assert str(info.value) == (
        f"{path}, line 6, column open: price must be positive (this market did trade at or below zero, but the "
        "features' log returns are undefined there: start data.start after those days or remove them) (value "
        "-37.63); fix or remove the bar"
    )


def test_a_crude_file_written_in_central_time_is_caught_by_where_the_daily_halt_falls(tmp_path, april):
    # Crude's volume does not jump at 09:00 the way ES's jumps at 09:30 (this file is ES-shaped): the empty daily
    # halt, 17:15-18:00 ET in every market and era since 2012, is what places the clock.
    crude = _scaled(april, 70 / 5000, tick=0.01)
    central = crude.assign(ts=crude["ts"].dt.tz_convert("America/Chicago").dt.tz_localize(None).dt.tz_localize(
        "America/New_York", ambiguous="NaT", nonexistent="NaT"))  # fmt: skip
    path = write_lines(tmp_path / "CLK24_1min.txt", firstrate_lines(central.dropna(subset=["ts"])))
    with pytest.raises(BarsError) as info:
        build_file_dataset(files_params("CL", str(path)))
    assert "the timestamps look shifted by -1 h (" in str(info.value)
    assert "the daily halt shows at 16:15-17:00 ET instead of 17:15-18:00); part of the file" in str(info.value)


def test_gold_serial_months_in_a_download_are_dropped_and_counted_not_an_error(tmp_path, april):
    gold = _scaled(april, 0.5, tick=0.1)  # ~2,500 dollars on gold's 0.1 grid
    june = write_lines(tmp_path / "GCM24_1min.txt", firstrate_lines(gold))
    may = write_lines(tmp_path / "GCK24_1min.txt", firstrate_lines(gold.iloc[:3000]))  # a serial month, two days
    dataset = build_file_dataset(files_params("GC", f"{june},{may}"))
    assert set(dataset.bars["contract"]) == {"GCM24"} and len(dataset.bars) == len(gold)
    assert dataset.manifest["repairs"]["off_cycle_contract_rows_dropped"] == 3000
    # ES lists no serial months: an ESX4 row stays an error (test_broken_files.test_unknown_contract_code).


@pytest.mark.parametrize(("symbol", "dollars"), [("ES", 50), ("MES", 5), ("NQ", 20), ("MNQ", 2), ("YM", 5)])
def test_the_backtest_prices_pnl_in_the_symbols_own_dollars(april, symbol, dollars):
    sessions = build_sessions(april).set_index("trade_date")
    day = sessions.index[3]
    oof = pd.DataFrame({"trade_date": [day], "probability": [0.9]})
    free = CostModel.from_params(_no_costs(), symbol=symbol)
    assert (free.point_value_usd, free.tick) == (dollars, instrument(symbol).tick)
    metrics, equity = backtest(oof, sessions, settings=_no_costs(), costs=free)
    move = sessions.loc[day, "close"] - sessions.loc[day, "cutoff_price"]
    assert metrics["total_pnl_usd"] == pytest.approx(move * dollars)


def _no_costs():
    from almanac.config import BacktestParams

    return BacktestParams(commission_usd=0.0, slippage_ticks=0.0)


def test_the_synthetic_first_price_must_be_plausible_for_the_instrument():
    from pydantic import ValidationError

    from almanac.instruments import Instrument

    row = instrument("CL").model_dump()
    assert Instrument(**row).synthetic_start == 40.0
    with pytest.raises(ValidationError, match="synthetic_start 2000 is outside price_range -50 to 250"):
        Instrument(**{**row, "synthetic_start": 2000.0})
