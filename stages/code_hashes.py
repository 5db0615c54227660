"""Stage ``code_hashes``: per stage script, the sha256 of every file of ``src/almanac`` it runs.

Writes ``<code_hashes>/<stage>.json`` for every other script in ``stages/`` (:mod:`almanac.stage_code`: a static scan of
the script's imports, lazy ones included, and the data files those modules read).  Each stage of ``dvc.yaml``
depends on its own file, so DVC reruns a stage exactly when a file it runs changes.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic garbage collection until the imports are done: almanac.stage_io.imports_done

import logging
from pathlib import Path

from almanac.stage_code import stage_scripts, write_code_hashes
from almanac.stage_io import imports_done, run_stage, stage_parser

imports_done()

log = logging.getLogger("stages.code_hashes")
ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    args = stage_parser(__doc__, outputs={"code_hashes": "folder of one JSON per stage"}).parse_args(argv)
    names = write_code_hashes(stage_scripts(ROOT), Path(args.code_hashes), root=ROOT)
    log.info("hashed the code of %d stages: %s", len(names), ", ".join(names))


if __name__ == "__main__":
    run_stage(main)
