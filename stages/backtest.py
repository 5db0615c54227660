"""Stage ``backtest``: trade the out-of-fold probabilities from the cutoff to the RTH close.

Writes ``metrics/backtest.json`` and ``plots/equity.csv``.  One ES contract, long above the threshold, short
below ``1 - threshold``, flat otherwise; entry at the cutoff price plus slippage, exit at the close.
"""

from __future__ import annotations

import logging

from almanac.data_sources.store import read_table, write_csv, write_json
from almanac.ml.backtester import CostModel
from almanac.ml.experiment import backtest_predictions
from almanac.stage_io import read_stage_params, run_stage, stage_parser

PARAMS = ("backtest.threshold", "backtest.commission_usd", "backtest.slippage_ticks", "backtest.n_trials")
log = logging.getLogger("stages.backtest")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={"oof": "out-of-fold predictions", "sessions": "session table"},
        outputs={"metrics": "backtest metrics JSON", "equity": "equity curve CSV"},
    )
    args = parser.parse_args(argv)
    params, _ = read_stage_params(args.params, PARAMS)
    bt = params.backtest
    oof = read_table(args.oof)
    classes = sorted(oof["y_true"].unique()) if "probability" not in oof.columns else [0.0, 1.0]
    costs = CostModel(commission_usd=bt.commission_usd, slippage_ticks=bt.slippage_ticks)
    metrics, equity = backtest_predictions(
        oof, read_table(args.sessions).set_index("trade_date"), classes, bt.threshold, costs, bt.n_trials
    )
    write_json(metrics, args.metrics)
    write_csv(equity, args.equity)
    log.info("%d trades, Sharpe %.2f, total %.0f USD", metrics["trades"], metrics["sharpe"], metrics["total_pnl_usd"])


if __name__ == "__main__":
    run_stage(main)
