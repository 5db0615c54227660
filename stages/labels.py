"""Stage ``labels``: the label table with ``rest_of_day``, ``direction`` and ``archetype`` per trade date.

The archetypes (``labels.archetype_rule: intraday_structure``) read the RTH minute bars: when the low and the high
came, and how often the day went back to test them.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging

from almanac.data_sources.store import read_table, write_table
from almanac.ml.labelers import build_labels
from almanac.stage_io import imports_done, read_params, run_stage, stage_parser

imports_done()

log = logging.getLogger("stages.labels")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__, inputs={"sessions": "session table", "bars": "canonical minute bars"}, outputs={"out": "label table"}
    )
    args = parser.parse_args(argv)
    params = read_params(args.params)  # validates the whole file: a typo anywhere fails every stage
    bars = None
    if params.labels.archetype_rule == "intraday_structure":
        bars = read_table(args.bars, columns=["ts", "high", "low", "contract", "trade_date"], categorical=("contract",))
    labels = build_labels(read_table(args.sessions), bars, settings=params.labels, atr_days=params.features.atr_days)
    write_table(labels.reset_index(), args.out)
    log.info("wrote labels for %d trade dates", len(labels))


if __name__ == "__main__":
    run_stage(main)
