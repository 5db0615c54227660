"""Stage ``audit``: look-ahead check of the feature code on the pipeline's own data; ``metrics/audit.json``.

Recomputes the features of sample trade dates from data cut at their cutoff and fails the pipeline (non-zero
exit) if any value differs from the full-data features.
"""

from __future__ import annotations

import logging

from almanac.config import parse_cutoff
from almanac.data_sources.store import read_json, read_table, write_json
from almanac.features.audit import audit_lookahead
from almanac.stage_io import feature_settings, read_stage_params, run_stage, stage_parser

PARAMS = (
    "features.cutoff", "features.early_session", "features.cross_asset", "features.regime",
    "features.volume_avg_days", "features.atr_days", "features.rank_days", "features.gk_days", "features.adx_days",
)  # fmt: skip
log = logging.getLogger("stages.audit")


class LookAheadError(RuntimeError):
    """A feature changed when the future was removed."""


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        inputs={
            "bars": "minute bars",
            "daily": "daily series",
            "manifest": "bars manifest",
            "features": "feature table",
        },
        outputs={"metrics": "audit metrics JSON"},
    )
    args = parser.parse_args(argv)
    params, _ = read_stage_params(args.params, PARAMS)
    f = params.features
    result = audit_lookahead(
        read_table(args.bars), read_table(args.daily), read_json(args.manifest).get("rolls", []),
        read_table(args.features).set_index("trade_date"), parse_cutoff(f.cutoff),
        *feature_settings(params),
    )  # fmt: skip
    write_json({k: v for k, v in result.items() if k != "failures"}, args.metrics)
    if result["violations"]:
        shown = "; ".join(
            f"{x['trade_date']} {x['feature']}: {x['full']} vs {x['at_cutoff']}" for x in result["failures"][:10]
        )
        raise LookAheadError(f"look-ahead in {result['violations']} feature values: {shown}")
    log.info("no look-ahead in %d features over %d dates", result["features_checked"], result["dates_checked"])


if __name__ == "__main__":
    run_stage(main)
