"""Errors whose message tells the user what is wrong and what to do (stages print them without a traceback).

Kept in a module without heavy imports so that every stage can catch them cheaply.
"""

from __future__ import annotations


class NotEnoughDataError(ValueError):
    """Too few trade dates for the walk-forward configuration."""


class BarsError(ValueError):
    """Bars violate the canonical contract or a vendor file cannot be read safely."""


class ModelIntegrityError(ValueError):
    """A model file does not match the sha256 recorded for it, or nothing records one: it is not unpickled."""


class CorruptFileError(ValueError):
    """A file the pipeline wrote cannot be read back (truncated, overwritten): restore or rebuild it."""


class AlmanacWarning(UserWarning):
    """Something the library did that a user should know of but that does not stop it: features not computed, a
    backtest too thin to judge, probabilities worse than the base rate, bars dropped or accepted with a doubt.

    Issued with :func:`warnings.warn`, so a notebook can filter or catch it (``warnings.simplefilter("ignore",
    AlmanacWarning)``, ``pytest.warns(AlmanacWarning)``); the stages log it (``WARNING <module>: <message>``, see
    :func:`almanac.stage_io.read_params`).
    """
