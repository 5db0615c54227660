"""Small builders shared by the tests (on the path through ``pythonpath`` in pyproject.toml)."""

from __future__ import annotations

from almanac.config import DataParams, FeaturesParams


def files_params(symbol: str = "ES", paths: str = "", format: str = "firstrate", **kwargs) -> DataParams:
    """``data.*`` for vendor files, with a date range wide enough for any file a test writes."""
    kwargs.setdefault("start", "1997-09-09")
    kwargs.setdefault("end", "2099-12-31")
    return DataParams(symbol=symbol, source="files", paths=paths, format=format, **kwargs)


def features_params(**kwargs) -> FeaturesParams:
    """``features.*`` with the given overrides (e.g. short windows for small samples)."""
    return FeaturesParams(**kwargs)
