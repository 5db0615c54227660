"""What every data source produces: :class:`Dataset`.

It sits below :mod:`almanac.data_sources.dataset` (``load_bars``, which picks a source) and the sources themselves
(:mod:`~almanac.data_sources.synthetic`, :mod:`~almanac.data_sources.files`), so they need not import each other.
"""

from __future__ import annotations

import dataclasses

import pandas as pd


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Canonical minute bars, cross-asset daily series, provenance, and (synthetic only) the truth table."""

    bars: pd.DataFrame
    daily: pd.DataFrame
    manifest: dict
    truth: pd.DataFrame | None = None
