"""``pip install .`` gives a package whose every stage runs: each third-party module that ``src/almanac`` imports
(lazy imports included) comes from a distribution that ``pyproject.toml`` declares, and ``requirements.txt`` pins
every declared distribution."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "almanac"


def _canonical(name: str) -> str:
    """PEP 503 normalised distribution name (``PyYAML`` and ``pyyaml``, ``vl_convert-python`` and ``vl-convert-python``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip()).group())


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {_requirement_name(spec) for spec in project["dependencies"]}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module name -> the files of ``src/almanac`` that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "almanac" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(SRC)))
    return found


def test_the_scan_sees_lazy_and_optional_imports():
    imports = _third_party_imports()
    # lazy ones too (dvc_plots, sweep)
    assert {"pandas", "sklearn", "vl_convert", "dash", "distributed"} <= set(imports)


def test_declared_dependencies_cover_every_third_party_import():
    declared, distributions = _declared(), importlib.metadata.packages_distributions()
    missing = []
    for module, files in sorted(_third_party_imports().items()):
        provided_by = {_canonical(d) for d in distributions.get(module, [])}
        if not provided_by:
            missing.append(f"{module} (no installed distribution provides it; imported by {', '.join(sorted(files))})")
        elif not provided_by & declared:
            missing.append(f"{'/'.join(sorted(provided_by))} (for `import {module}` in {', '.join(sorted(files))})")
    assert not missing, "add to pyproject.toml's [project] dependencies:\n" + "\n".join(missing)


def test_requirements_pin_every_declared_dependency():
    pinned = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pinned[_canonical(name)] = version
    unpinned = sorted(name for name in _declared() if not pinned.get(name))
    assert not unpinned, f"pin in requirements.txt (name==version): {unpinned}"
