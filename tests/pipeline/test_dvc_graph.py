"""DVC's dependency graph is true by construction: each stage's declared deps and params are what it uses.

* code: every file of ``src/almanac`` a stage script executes (static import scan, lazy imports included) is
  in its ``deps``, with the data files those modules read (the instrument table), and every code file in its
  ``deps`` is executed; a folder in ``deps`` stands for every file in it (DVC hashes it whole, ignoring what
  ``.dvcignore`` lists), so it is allowed only where the stage executes all of them: a shorter ``dvc.lock``, which
  DVC rewrites after every stage, with the same precision;
* params: the ``params.<section>[.<key>]`` chains a stage script reads are exactly its declared ``params``
  (a library function given a whole section reads the whole section);
* commands: no ``${...}`` interpolation, so no params value ever reaches a shell.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from almanac.config import DEFAULTS, dotted_keys

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


def module_file(name: str) -> Path | None:
    """The file of module ``name`` under ``src/`` (a module or a package's ``__init__.py``), or None."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # submodules imported by name
    out = set()
    for name in names:
        parts = name.split(".")
        out.update(".".join(parts[: i + 1]) for i in range(len(parts)))  # parent packages execute too
    return {n for n in out if n.split(".")[0] == "almanac"}


def local_files(script: Path) -> set[Path]:
    """Every file under ``src/almanac`` that running ``script`` executes (transitively)."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        current = todo.pop()
        for name in _imported(current):
            path = module_file(name)
            if path is not None and path not in seen:
                seen.add(path)
                todo.append(path)
    return seen


STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
# Data files that a module reads: a stage that executes the module depends on them too.
DATA_FILES = {SRC / "almanac" / "instruments.py": SRC / "almanac" / "instruments.yaml"}
# Properties of a section that derive from one key.
DERIVED = {"features.cutoff_time": "features.cutoff"}


def _files(path: Path) -> set[Path]:
    """``path``, or the files under the folder ``path`` that DVC hashes (``.dvcignore``: no ``__pycache__``)."""
    if not path.is_dir():
        return {path}
    return {p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _code_deps(stage: dict) -> set[Path]:
    return {f for d in stage["deps"] if d.startswith("src/") for f in _files(REPO / d)}


def params_read(script: Path) -> set[str]:
    """Dotted params keys read by ``script``: the longest chain of schema fields after ``params.``."""
    tree = ast.parse(script.read_text())
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    chains = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:  # whole chains only
            parts, cur = [], node
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id == "params":
                chains.append(list(reversed(parts)))
    keys = set()
    for chain in chains:
        dotted = ".".join(chain)
        if dotted in DERIVED:
            keys.add(DERIVED[dotted])
            continue
        model, used = DEFAULTS, []
        for part in chain:
            if part not in type(model).model_fields:
                break
            used.append(part)
            model = getattr(model, part)
        keys.add(".".join(used))
    # A chain that is a prefix of another (``params.train`` passed on, ``params.train.model`` logged) is the
    # wider read.
    return {k for k in keys if not any(k.startswith(f"{other}.") for other in keys)}


@pytest.mark.parametrize("name", list(STAGES))
def test_deps_list_every_module_the_stage_imports(name):
    stage = STAGES[name]
    script = REPO / "stages" / f"{name}.py"
    needed = local_files(script)
    needed |= {DATA_FILES[p] for p in needed if p in DATA_FILES}
    declared = _code_deps(stage)
    missing = sorted(str(p.relative_to(REPO)) for p in needed - declared)
    stale = sorted(str(p.relative_to(REPO)) for p in declared - needed)
    folders = [d for d in stage["deps"] if (REPO / d).is_dir() and d.startswith("src/")]
    assert not missing, f"dvc.yaml stage {name!r}: add to deps: {missing}"
    assert not stale, (
        f"dvc.yaml stage {name!r}: not executed by the stage: {stale}; remove them from deps, or list the files "
        f"of a folder dep ({folders}) the stage does execute instead of the folder"
    )
    assert f"stages/{name}.py" in stage["deps"]


def test_a_folder_dep_stands_for_the_files_dvc_hashes_in_it(tmp_path):
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    for name in ("pkg/__init__.py", "pkg/a.py", "pkg/table.yaml", "pkg/__pycache__/a.cpython-311.pyc", "one.py"):
        (tmp_path / name).write_text("")
    assert _files(tmp_path / "pkg") == {tmp_path / "pkg" / n for n in ("__init__.py", "a.py", "table.yaml")}
    assert _files(tmp_path / "one.py") == {tmp_path / "one.py"}


@pytest.mark.parametrize("name", list(STAGES))
def test_params_are_exactly_what_the_stage_reads(name):
    read = params_read(REPO / "stages" / f"{name}.py")
    assert read == set(STAGES[name].get("params", [])), f"stage {name!r} reads {sorted(read)}"


def test_every_params_key_is_read_by_some_stage():
    declared = {p for stage in STAGES.values() for p in stage.get("params", [])}
    unread = [k for k in dotted_keys() if not any(k == d or k.startswith(f"{d}.") for d in declared)]
    assert not unread, f"params no stage reads: {unread}"


def test_the_import_scan_sees_lazy_imports(tmp_path):
    script = tmp_path / "stage.py"
    script.write_text("def main():\n    from almanac.ml.registry import load_model\n")
    names = {p.relative_to(REPO / "src").as_posix() for p in local_files(script)}
    # registry imports models lazily inside load_model; models imports config and sessions at the top.
    assert {
        "almanac/ml/registry.py",
        "almanac/ml/models.py",
        "almanac/config/__init__.py",
        "almanac/sessions.py",
    } <= names
    assert {"almanac/__init__.py", "almanac/ml/__init__.py"} <= names


def test_the_params_scan_reads_sections_and_keys(tmp_path):
    script = tmp_path / "stage.py"
    script.write_text(
        "def main(params):\n    f(params.train, params.features.cutoff_time, params.data.symbol)\n    g(params.train.model)\n"
    )
    assert params_read(script) == {"train", "features.cutoff", "data.symbol"}


def test_no_command_interpolates_params():
    for name, stage in STAGES.items():
        assert "${" not in stage["cmd"], f"{name}: a params value would be pasted into a shell command"


def test_a_failed_stage_invalidates_exactly_the_metrics_of_the_stages_after_it():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]

    def outputs(stage):
        return [
            next(iter(e)) if isinstance(e, dict) else e for k in ("outs", "metrics", "plots") for e in stage.get(k, [])
        ]

    producer = {out: name for name, stage in stages.items() for out in outputs(stage)}
    after = {name: set() for name in stages}
    for name, stage in stages.items():
        for dep in stage["deps"]:
            if dep in producer:
                after[producer[dep]].add(name)
    for name, stage in stages.items():
        later, todo = set(), list(after[name])
        while todo:
            child = todo.pop()
            if child not in later:
                later.add(child)
                todo += after[child]
        expected = {next(iter(m)) for child in later for m in stages[child].get("metrics", [])}
        words = stage["cmd"].split()
        listed = set(words[words.index("--invalidates") + 1 :]) if "--invalidates" in words else set()
        assert listed == expected, f"{name}: --invalidates should list {sorted(expected)}"
