"""Stage ``labels``: the label table with ``rest_of_day``, ``direction`` and ``archetype`` per trade date."""

from __future__ import annotations

import logging

from almanac.data_sources.store import read_table, write_table
from almanac.ml.labelers import build_labels
from almanac.stage_io import read_params, run_stage, stage_parser

log = logging.getLogger("stages.labels")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(__doc__, inputs={"sessions": "session table"}, outputs={"out": "label table"})
    args = parser.parse_args(argv)
    read_params(args.params)  # validates the whole file: a typo anywhere fails every stage
    labels = build_labels(read_table(args.sessions))
    write_table(labels.reset_index(), args.out)
    log.info("wrote labels for %d trade dates", len(labels))


if __name__ == "__main__":
    run_stage(main)
