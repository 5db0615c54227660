"""What the ``bars`` stage produces, from either source: :class:`Dataset` and :func:`load_bars`."""

from __future__ import annotations

from pathlib import Path

from almanac import schemas
from almanac.config import DEFAULTS, DataParams, SyntheticParams
from almanac.data_sources.canonical import Dataset

__all__ = ["Dataset", "load_bars"]


def load_bars(
    data: DataParams | None = None, *, synthetic: SyntheticParams | None = None, raw_root: Path | None = None
) -> Dataset:
    """Canonical bars of the market ``data`` describes: the seeded synthetic market or the user's vendor files.

    Parameters
    ----------
    data : DataParams, optional
        ``data.*``: symbol, date range, source and (for ``files``) the vendor files and their format; default
        the schema's (the synthetic market, 2016-2024).
    synthetic : SyntheticParams, optional
        ``synthetic.*``: seed and planted signal of the synthetic market (ignored for ``files``).
    raw_root : Path, optional
        ``files``: refuse any file (bars or daily series) that does not resolve to a path inside this folder.
        The ``bars`` stage passes ``data/raw``, where DVC tracks the inputs; default: read files anywhere.

    Returns
    -------
    Dataset
        ``bars`` (``ts`` UTC bar start, ``open, high, low, close`` float64, ``volume`` int64, ``contract``,
        ``trade_date``; one contract per trade date), ``daily`` (``symbol, date, close, available_at``),
        ``manifest`` (provenance, rolls, row counts, repairs) and ``truth`` (synthetic latent variables; empty
        for files).

    Raises
    ------
    almanac.schemas.InputError
        ``data`` or ``synthetic`` is not a params section (a mapping: ``almanac.DataParams(**mapping)`` builds one).
    almanac.errors.BarsError
        ``files``: a vendor file that cannot be read safely or bars that break the canonical contract (the message
        names the file, row and column).

    Examples
    --------
    >>> import almanac
    >>> data = almanac.load_bars(almanac.DataParams(start="2024-03-04", end="2024-03-08"))
    >>> data.manifest["trade_dates"]
    {'count': 5, 'first': '2024-03-04', 'last': '2024-03-08'}
    >>> [(r["trade_date"], r["from"], r["to"]) for r in data.manifest["rolls"]]
    [('2024-03-07', 'ESH24', 'ESM24')]
    """
    data = schemas.params(data, DataParams, fn="load_bars", arg="data") or DEFAULTS.data
    synthetic = schemas.params(synthetic, SyntheticParams, fn="load_bars", arg="synthetic")
    if data.source == "synthetic":
        from almanac.data_sources.synthetic import build_synthetic_dataset
        from almanac.synth.market import MarketSpec

        return build_synthetic_dataset(MarketSpec.from_params(data, synthetic or DEFAULTS.synthetic))
    from almanac.data_sources.files import build_file_dataset

    return build_file_dataset(data, raw_root=raw_root)
