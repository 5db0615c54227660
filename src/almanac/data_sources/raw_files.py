"""Which vendor files are read, and their bytes.

``data.paths`` names the files as a comma-separated list of paths or globs; the pipeline reads them only from
:data:`RAW_ROOT`, where DVC tracks them (:func:`confine`).  A text file is read whole and gunzipped when its content
is gzip, whatever it is called; other compressions are refused naming them (:func:`read_text_bytes`).
"""

from __future__ import annotations

import glob
import gzip
import zlib
from pathlib import Path

from almanac.errors import BarsError

# Magic numbers of compressed files that are refused (gzip is read).
_COMPRESSED = {b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"(\xb5/\xfd": "zstd"}

RAW_ROOT = Path("data/raw")
"""Where the pipeline's vendor files live (``dvc add``-ed): the ``bars`` stage reads no file outside it."""


def confine(path: Path, root: Path | None, key: str) -> Path:
    """``path`` itself when ``root`` is None or when it resolves (links followed) to a file inside ``root``.

    Outside ``root`` a file is refused: DVC tracks the pipeline's inputs there, so a file read from elsewhere
    would change without ``dvc repro`` noticing and the outputs would go stale.
    """
    if root is None:
        return path
    resolved, inside = path.resolve(), root.resolve()
    if resolved == inside or inside in resolved.parents:
        return path
    link = f" (resolves to {resolved})" if resolved != path.absolute() else ""
    raise BarsError(
        f"{key}: {path}{link} is outside {root}/; the pipeline reads vendor files only from there, where DVC tracks "
        f"them: copy it under {root}/ and run `dvc add {root}/{path.name}`"
    )


def expand_paths(spec: str, key: str = "data.paths", *, root: Path | None = None) -> list[Path]:
    """Files named by a comma-separated list of paths or globs, sorted; none matching is an error, and so is a
    file outside ``root`` (see :func:`confine`)."""
    files: list[Path] = []
    for pattern in filter(None, (p.strip() for p in spec.split(","))):
        matches = sorted(glob.glob(pattern)) if any(ch in pattern for ch in "*?[") else [pattern]
        if not matches or not all(Path(m).is_file() for m in matches):
            raise BarsError(f"{key}: {pattern!r} matches no file; put the files under data/raw/ and list them here")
        files.extend(confine(Path(m), root, key) for m in matches)
    if not files:
        raise BarsError(f"{key}: empty; list the vendor files (e.g. data/raw/ES_1min.csv)")
    return files


def read_text_bytes(path: Path) -> bytes:
    """The bytes of a text file, gunzipped when the content is gzip (whatever the file is called); other
    compressed files are refused naming the compression."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise BarsError(
                f"{path}: gzip-compressed but cannot be unpacked ({err}); download the file again"
            ) from None
    for magic, kind in _COMPRESSED.items():
        if data.startswith(magic):
            raise BarsError(
                f"{path}: the file is {kind}-compressed; unpack it under data/raw/ and list the unpacked file"
            )
    return data
