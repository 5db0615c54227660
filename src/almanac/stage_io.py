"""Glue shared by the stage scripts: argument parsing and the declared-params contract.

Each stage module declares ``PARAMS``, the dotted ``params.yaml`` keys it reads; ``dvc.yaml`` must list exactly
those (a test checks), so ``dvc.lock`` and ``dvc params diff`` stay truthful.
"""

from __future__ import annotations

import argparse
import logging

from almanac.config import Params, get_dotted, load_params


def stage_parser(
    doc: str | None, outputs: dict[str, str], inputs: dict[str, str] | None = None
) -> argparse.ArgumentParser:
    """A parser with ``--params`` plus one required ``--<name>`` path option per input and output."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    for name, help_text in {**(inputs or {}), **outputs}.items():
        parser.add_argument(f"--{name}", required=True, help=help_text)
    return parser


def read_stage_params(path: str, declared: tuple[str, ...]) -> tuple[Params, dict]:
    """Load and validate the params file; return it with the values of the ``declared`` dotted keys."""
    params = load_params(path)
    values = {}
    for key in declared:
        values[key] = get_dotted(params, key)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return params, values
