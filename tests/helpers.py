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


def synthetic_bars(start: str, end: str):
    """Canonical minute bars of the default synthetic market between two dates."""
    import almanac

    return almanac.load_bars(almanac.DataParams(start=start, end=end)).bars


def firstrate_lines(bars) -> list[str]:
    """Canonical bars as FirstRate lines (US Eastern wall clock, bar start, no header)."""
    local = bars["ts"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d %H:%M:%S")
    prices = bars[["open", "high", "low", "close"]].map(lambda v: f",{v:.2f}").sum(axis=1)
    return (local + prices + "," + bars["volume"].astype(str)).tolist()


def write_lines(path, lines: list[str]):
    """Write ``lines`` (newline-terminated) to ``path`` and return it."""
    path.write_text("\n".join(lines) + "\n")
    return path
