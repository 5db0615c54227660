"""Stage ``check_params``: validate the whole ``params.yaml`` before anything runs.

Every stage validates the whole file when it starts, but DVC starts a stage only when the params it declares
change: a misspelled section (``trian:``) or key under no stage's params changes nothing DVC watches, so
``dvc repro`` would say "up to date" and ``dvc exp run`` would record an experiment that silently ignored it.
This stage depends on the whole file, so any edit reruns it (in about a second) and a bad value fails
``dvc repro`` and ``dvc exp run`` with the message naming the key (and the closest valid name).  It writes nothing,
so no other stage depends on it or reruns because of it.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging

from almanac.stage_io import imports_done, read_params, run_stage, stage_parser

imports_done()

log = logging.getLogger("stages.check_params")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    args = stage_parser(__doc__, outputs={}).parse_args(argv)
    read_params(args.params)
    log.info("%s is valid", args.params)


if __name__ == "__main__":
    run_stage(main)
