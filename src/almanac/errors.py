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
