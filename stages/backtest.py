"""Stage ``backtest``: trade the out-of-fold probabilities from the cutoff to the RTH close.

Writes ``metrics/backtest.json``, the equity curve CSV, P&L per year and the risk-coverage table (coverage, hit rate and P&L
for thresholds 0.50-0.80; a view of the trade-off, not a way to pick the threshold).  Long above the threshold, short
below ``1 - threshold``, flat otherwise; one contract, or with ``backtest.sizing: probability`` a size from the probability
capped by ``backtest.risk_usd`` against the ATR(``features.atr_days``) known at the cutoff; entry at the cutoff price plus
slippage, exit at the close.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging

from almanac.data_sources.store import read_table, write_csv, write_json
from almanac.ml.backtester import backtest
from almanac.ml.performance import yearly
from almanac.ml.pnl import CostModel
from almanac.ml.thresholds import risk_coverage
from almanac.stage_io import imports_done, read_params, run_stage, stage_parser

imports_done()

log = logging.getLogger("stages.backtest")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={"oof": "out-of-fold predictions", "sessions": "session table"},
        outputs={
            "metrics": "backtest metrics JSON",
            "equity": "equity curve CSV",
            "risk_coverage": "coverage, hit rate and P&L per threshold CSV",
            "yearly": "P&L per calendar year CSV",
        },
    )
    args = parser.parse_args(argv)
    params = read_params(args.params)
    sessions = read_table(args.sessions).set_index("trade_date")
    costs = CostModel.from_params(params.backtest, symbol=params.data.symbol)  # P&L in the symbol's own dollars
    oof = read_table(args.oof)
    metrics, equity = backtest(oof, sessions, settings=params.backtest, costs=costs, atr_days=params.features.atr_days)
    write_json(metrics, args.metrics)
    write_csv(equity, args.equity, exact=("entry", "exit"))  # fill prices in full: the report's trade list
    write_csv(risk_coverage(oof, sessions, costs=costs), args.risk_coverage)
    write_csv(yearly(equity), args.yearly)
    log.info("%d trades, Sharpe %.2f, total %.0f USD", metrics["trades"], metrics["sharpe"], metrics["total_pnl_usd"])


if __name__ == "__main__":
    run_stage(main)
