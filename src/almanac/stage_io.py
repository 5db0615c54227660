"""Glue shared by the stage scripts: argument parsing and the declared-params contract.

Each stage module declares ``PARAMS``, the dotted ``params.yaml`` keys it reads; ``dvc.yaml`` must list exactly
those (a test checks), so ``dvc.lock`` and ``dvc params diff`` stay truthful.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable

from almanac.config import Params, ParamsError, get_dotted, load_params
from almanac.data_sources.validation import BarsError
from almanac.errors import NotEnoughDataError
from almanac.features.ml_features import FAMILIES, FeatureWindows

# Errors whose message already says what is wrong and what to do: shown without a traceback.
USER_ERRORS = (ParamsError, BarsError, NotEnoughDataError, FileNotFoundError)


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


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a user error (bad params, bad data, too few days) exits 1 with its message only."""
    try:
        main()
    except USER_ERRORS as err:
        sys.exit(f"error: {err}")


def feature_settings(params: Params) -> tuple[dict[str, bool], FeatureWindows]:
    """The feature family switches and window lengths of ``features.*`` (shared by ``features`` and ``audit``)."""
    f = params.features
    families = {name: getattr(f, name) for name in FAMILIES}
    windows = FeatureWindows(**{field.name: getattr(f, field.name) for field in dataclasses.fields(FeatureWindows)})
    return families, windows
