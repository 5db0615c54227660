"""Stage ``features``: the feature table (one row per trade date) and its lineage JSON.

Every feature of trade date D reads only what existed at D's cutoff (``features.cutoff``).
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging

from almanac.data_sources.store import read_table, write_json, write_table
from almanac.features.ml_features import build_features
from almanac.stage_io import imports_done, read_params, run_stage, stage_parser

imports_done()

log = logging.getLogger("stages.features")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={"bars": "canonical minute bars", "sessions": "session table", "daily": "cross-asset daily series"},
        outputs={"out": "feature table", "lineage": "feature lineage JSON"},
    )
    args = parser.parse_args(argv)
    params = read_params(args.params)
    # Contract codes as categories (a few codes over 3 million bars): no string per bar is built.
    bars = read_table(args.bars, categorical=("contract",))
    features, lineage = build_features(
        bars, read_table(args.sessions), read_table(args.daily), settings=params.features
    )
    write_table(features.reset_index(), args.out)
    write_json(lineage, args.lineage)
    log.info("wrote %d features for %d trade dates", features.shape[1], len(features))


if __name__ == "__main__":
    run_stage(main)
