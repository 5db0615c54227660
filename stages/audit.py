"""Stage ``audit``: look-ahead check of the feature code on the pipeline's own data; ``metrics/audit.json``.

Recomputes the features of sample trade dates from data cut at their cutoff and fails the pipeline (non-zero
exit) if any value differs from the full-data features.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging

from almanac.data_sources.store import read_json, read_table, write_json
from almanac.features.audit import audit_lookahead
from almanac.stage_io import imports_done, read_params, run_stage, stage_parser

imports_done()

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
    params = read_params(args.params)
    features = read_table(args.features).set_index("trade_date")
    # Contract codes come categorical (a few codes over 3 million bars): the audit's 12 rebuilds of sessions and
    # features take and group integer codes, not strings (~20 % faster; the same values, bit for bit).
    bars = read_table(args.bars, categorical=("contract",))
    result = audit_lookahead(
        bars,
        read_table(args.daily),
        features,
        rolls=read_json(args.manifest).get("rolls", []),
        settings=params.features,
        jobs=None,  # the dates on every CPU: the same result, sooner
    )
    write_json({k: v for k, v in result.items() if k != "failures"}, args.metrics)
    if result["violations"]:
        shown = "; ".join(
            f"{x['trade_date']} {x['feature']}: {x['full']} vs {x['at_cutoff']}" for x in result["failures"][:10]
        )
        raise LookAheadError(f"look-ahead in {result['violations']} feature values: {shown}")
    log.info("no look-ahead in %d features over %d dates", result["features_checked"], result["dates_checked"])


if __name__ == "__main__":
    run_stage(main)
