"""Stage ``sessions``: the daily session table (one row per trade date).

RTH and overnight OHLCV, previous RTH close in the same contract, the price at the cutoff, half-day and roll
flags.  The cutoff price depends on ``features.cutoff``, so a cutoff change reruns this stage (about a second).
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging

from almanac.data_sources.store import read_json, read_table, write_table
from almanac.sessions import build_sessions
from almanac.stage_io import imports_done, read_params, run_stage, stage_parser

imports_done()

log = logging.getLogger("stages.sessions")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={"bars": "canonical minute bars", "manifest": "bars manifest (rolls)"},
        outputs={"out": "session table"},
    )
    args = parser.parse_args(argv)
    params = read_params(args.params)
    rolls = read_json(args.manifest).get("rolls", [])
    # Contract codes as categories (a few codes over 3 million bars): no string per bar is built.
    bars = read_table(args.bars, categorical=("contract",))
    sessions = build_sessions(bars, params.features.cutoff_time, rolls)
    write_table(sessions, args.out)
    log.info("wrote %d sessions to %s", len(sessions), args.out)


if __name__ == "__main__":
    run_stage(main)
