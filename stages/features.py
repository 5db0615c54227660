"""Stage ``features``: the feature table (one row per trade date) and its lineage JSON.

Every feature of trade date D reads only what existed at D's cutoff (``features.cutoff``).
"""

from __future__ import annotations

import logging

from almanac.data_sources.store import read_table, write_json, write_table
from almanac.features.ml_features import build_features
from almanac.stage_io import read_params, run_stage, stage_parser

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
    features, lineage = build_features(
        read_table(args.bars), read_table(args.sessions), read_table(args.daily), settings=params.features
    )
    write_table(features.reset_index(), args.out)
    write_json(lineage, args.lineage)
    log.info("wrote %d features for %d trade dates", features.shape[1], len(features))


if __name__ == "__main__":
    run_stage(main)
