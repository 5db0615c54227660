"""Stage ``features``: ``data/features.parquet`` (one row per trade date) and ``data/features_lineage.json``.

Every feature of trade date D reads only what existed at D's cutoff (``features.cutoff``).
"""

from __future__ import annotations

import logging

from almanac.config import parse_cutoff
from almanac.data_sources.store import read_table, write_json, write_table
from almanac.features.ml_features import build_features
from almanac.stage_io import feature_settings, read_stage_params, run_stage, stage_parser

PARAMS = (
    "features.cutoff", "features.early_session", "features.cross_asset", "features.regime",
    "features.volume_avg_days", "features.atr_days", "features.rank_days", "features.gk_days", "features.adx_days",
)  # fmt: skip
log = logging.getLogger("stages.features")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={"bars": "canonical minute bars", "sessions": "session table", "daily": "cross-asset daily series"},
        outputs={"out": "feature table", "lineage": "feature lineage JSON"},
    )
    args = parser.parse_args(argv)
    params, _ = read_stage_params(args.params, PARAMS)
    families, windows = feature_settings(params)
    features, lineage = build_features(
        read_table(args.bars),
        read_table(args.sessions),
        read_table(args.daily),
        parse_cutoff(params.features.cutoff),
        families,
        windows,
    )
    write_table(features.reset_index(), args.out)
    write_json(lineage, args.lineage)
    log.info("wrote %d features for %d trade dates", features.shape[1], len(features))


if __name__ == "__main__":
    run_stage(main)
