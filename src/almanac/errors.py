"""Errors whose message tells the user what is wrong and what to do (stages print them without a traceback).

Kept in a module without heavy imports so that every stage can catch them cheaply.
"""

from __future__ import annotations


class NotEnoughDataError(ValueError):
    """Too few trade dates for the walk-forward configuration."""
