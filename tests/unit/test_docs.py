"""The README and docs/ stay true: generated tables equal their generators, links resolve, nothing points outside
the repository, and the package's imports follow the layering docs/architecture.md draws."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import yaml

from almanac.doc_tables import params_table, pipeline_table

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "almanac"
DOCS = REPO / "docs"

# Edges that break the layering today: known exceptions, to be removed (the test fails once one is gone).
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def _between(text: str, name: str) -> str:
    return text.split(f"<!-- {name}:start -->\n", 1)[1].split(f"\n<!-- {name}:end -->", 1)[0]


def test_the_pipeline_table_is_dvc_yaml():
    table = _between((DOCS / "pipeline.md").read_text(), "pipeline")
    expected = pipeline_table(yaml.safe_load((REPO / "dvc.yaml").read_text()))
    assert table == expected, "docs/pipeline.md's table is stale: paste `almanac params --pipeline-markdown` into it"


def test_the_params_table_lists_every_key():
    assert _between((DOCS / "parameters.md").read_text(), "params") == params_table()


def test_the_readme_is_a_front_page_that_links_the_architecture_first():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert links and links[0] == "docs/data.md" or "docs/architecture.md" in links
    documentation = text.split("## Documentation\n", 1)[1]
    assert re.findall(r"\]\(([^)#]+)", documentation)[0] == "docs/architecture.md"


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    files = []
    for name in names.decode().split("\0"):
        path = REPO / name
        if name and path.is_file() and b"\0" not in path.read_bytes()[:8192]:
            files.append(path)
    return files


def test_relative_links_of_the_docs_resolve():
    for page in [REPO / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).resolve().exists(), f"{page.relative_to(REPO)}: {target} does not exist"


# The original design's documents and the folder beside the repository: what a clone does not have.
OUTSIDE = re.compile(r"DESIGN ?§|DESIGN\.md|ML_ARCHITECTURE|\.\./shared|shared/(?:seed|data)|/work/")
# The licensed real-data samples the `real_data` tests read in place (never copied in) are the one exception:
# these files locate them, and they skip where the samples are absent.
REAL_DATA_READERS = {
    "tests/conftest.py", "tests/pipeline/test_docs_byod.py", "tests/unit/test_daily_files.py",
    "tests/unit/test_firstrate_real.py", "tests/unit/test_gaps_partial.py", "tests/unit/test_instruments.py",
    "tests/unit/test_nq_real.py", "tests/unit/test_vendor_quirks.py", "pyproject.toml", ".ci/run",
}  # fmt: skip


def test_no_file_points_outside_the_repository():
    found = []
    for path in _tracked_text_files():
        name = str(path.relative_to(REPO))
        if name == "tests/unit/test_docs.py":
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            match = OUTSIDE.search(line)
            if match and not (name in REAL_DATA_READERS and "DESIGN" not in match.group()):
                found.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not found, "references to files outside the repository:\n" + "\n".join(found)


def _layers() -> dict[str, int]:
    table = _between((DOCS / "architecture.md").read_text(), "layers")
    layers = {}
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for unit in re.findall(r"`(\w+)`", cells[1]):
            layers[unit] = int(cells[0])
    return layers


def _unit(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _edges() -> dict[tuple[str, str], set[str]]:
    edges: dict[tuple[str, str], set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        source = _unit(".".join(p for p in parts if p != "__init__"))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [f"almanac.{a.name}" for a in node.names] if node.module == "almanac" else [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "almanac" and _unit(name) != source:
                    edges.setdefault((source, _unit(name)), set()).add(str(path.relative_to(SRC)))
    return edges


def test_every_unit_is_in_the_layering_table():
    layers = _layers()
    units = {
        p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()
    }
    assert units == set(layers), f"missing: {sorted(units - set(layers))}, stale: {sorted(set(layers) - units)}"


def test_imports_follow_the_layering():
    layers, edges = _layers(), _edges()
    upward = {edge: files for edge, files in edges.items() if layers[edge[1]] >= layers[edge[0]]}
    new = {edge: files for edge, files in upward.items() if edge not in KNOWN_EXCEPTIONS}
    assert not new, "imports against docs/architecture.md's layering: " + "; ".join(
        f"{a} -> {b} ({', '.join(sorted(f))})" for (a, b), f in sorted(new.items())
    )
    gone = KNOWN_EXCEPTIONS - set(upward)
    assert not gone, f"no longer needed: remove {sorted(gone)} from KNOWN_EXCEPTIONS and docs/architecture.md"


def _module_imports() -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports (lazy imports included)."""
    modules = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = [p for p in path.relative_to(SRC.parent).with_suffix("").parts if p != "__init__"]
        modules[".".join(parts)] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level and node.module in modules:
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(modules)
                targets |= subs or {node.module}
        graph[name] = targets - {name}
    return graph


def test_no_module_imports_one_that_imports_it_back():
    import graphlib

    graph = _module_imports()
    assert "almanac.ml.morning_bars" in graph["almanac.ml.predictors"]  # the scan sees a lazy import (predict_day's)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        raise AssertionError(f"an import cycle (a lazy import is one too): {' -> '.join(err.args[1])}") from None


def test_modules_and_functions_stay_short():
    """The house style's sizes: a module over 400 lines or a function over 100 is split along its seams."""
    long_modules, long_functions = [], []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") > 400:
            long_modules.append(f"{path.relative_to(SRC)} ({text.count(chr(10))} lines)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 100:
                long_functions.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert not long_modules and not long_functions, f"split: {long_modules + long_functions}"
