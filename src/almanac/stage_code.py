"""The code each pipeline stage runs, and its hashes: ``dvc.yaml``'s code dependencies, found rather than listed.

A stage must rerun when a file it executes changes, and only then.  :func:`stage_files` finds those files by a
static scan of the stage script's imports, transitively, lazy imports (inside functions) included: every file of
``src/almanac`` it can execute, with the data files those modules read (:data:`DATA_FILES`).  The
``code_hashes`` stage writes, per stage script, the sha256 of each of them (:func:`write_code_hashes`), and each
stage of ``dvc.yaml`` depends on its own ``data/code_hashes/<stage>.json``.  DVC compares those files by content,
so a stage reruns exactly when one of its files changes, as if ``dvc.yaml`` listed them all, without the ~200
entries that listing made in ``dvc.lock``, which DVC parses and rewrites after every stage (about 3 s of a 15 s
``dvc repro``).  A new module needs no ``dvc.yaml`` edit.

Imports nothing of the package but :mod:`almanac.paths`; no pandas, so the stage costs a Python start.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from almanac.paths import atomic_path

PACKAGE = "almanac"
# Data files that a module reads at run time: a stage that executes the module depends on them too.
DATA_FILES = {"almanac/instruments.py": "almanac/instruments.yaml"}


def module_file(name: str, src: Path) -> Path | None:
    """The file of module ``name`` under ``src`` (a module or a package's ``__init__.py``), or None."""
    base = src.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _statements(nodes: Iterable[ast.AST]) -> Iterable[ast.AST]:
    """Every statement in ``nodes`` and in the blocks nested in them (an import is a statement, so the scan need
    not visit the expressions, nine nodes in ten)."""
    for node in nodes:
        yield node
        for block in ("body", "orelse", "finalbody", "handlers", "cases"):
            yield from _statements(getattr(node, block, ()))


def imported_modules(path: Path) -> frozenset[str]:
    """The package's modules that ``path`` imports anywhere in it (parent packages included: they execute too)."""
    return _imported(path.read_text(), str(path))


@functools.cache  # keyed by the text: parsed once however many stages import the module, again once edited
def _imported(source: str, filename: str) -> frozenset[str]:
    names: set[str] = set()
    for node in _statements(ast.parse(source, filename=filename).body):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # submodules imported by name
    out = set()
    for name in names:
        parts = name.split(".")
        out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return frozenset(n for n in out if n.split(".")[0] == PACKAGE)


def stage_files(script: Path, src: Path) -> set[Path]:
    """Every file of ``src``'s package that running ``script`` can execute, and the data files they read."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        for name in imported_modules(todo.pop()):
            path = module_file(name, src)
            if path is not None and path not in seen:
                seen.add(path)
                todo.append(path)
    data = {src / DATA_FILES[key] for key in (p.relative_to(src).as_posix() for p in seen) if key in DATA_FILES}
    return seen | data


def code_hashes(script: Path, *, root: Path) -> dict:
    """``{"script": path, "files": {path: sha256}}`` of the stage script and :func:`stage_files`, paths relative
    to ``root`` (the repository) in sorted order, so the same files give the same bytes on any machine."""
    files = sorted({script, *stage_files(script, root / "src")}, key=lambda p: p.relative_to(root).as_posix())
    return {
        "script": script.relative_to(root).as_posix(),
        "files": {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
    }


def stage_scripts(root: Path) -> list[Path]:
    """The stage scripts of the repository ``root`` whose code is hashed: every ``stages/*.py`` but
    ``code_hashes.py``, the stage that hashes (it depends on all the code itself)."""
    return sorted(p for p in (root / "stages").glob("*.py") if p.stem != "code_hashes")


def write_code_hashes(scripts: Iterable[Path], out: Path, *, root: Path) -> list[str]:
    """Write ``out/<stage>.json`` (:func:`code_hashes`) for every stage script; returns the stage names."""
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for script in sorted(scripts):
        with atomic_path(out / f"{script.stem}.json") as temporary:
            temporary.write_text(json.dumps(code_hashes(script, root=root), indent=1) + "\n")
        names.append(script.stem)
    return names
