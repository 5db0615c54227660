"""DVC's dependency graph is true by construction: each stage's declared deps and params are what it uses.

* code: each stage depends on ``data/code_hashes/<stage>.json``, the hashes of every file of ``src/almanac`` its
  script can execute (:mod:`almanac.stage_code`: a static import scan, lazy imports included, with the data files
  those modules read), and on no source file directly; the ``code_hashes`` stage depends on all the code;
* params: the ``params.<section>[.<key>]`` chains a stage script reads are exactly its declared ``params``
  (a library function given a whole section reads the whole section);
* commands: no ``${...}`` interpolation, so no params value ever reaches a shell.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
import yaml

from almanac.config import DEFAULTS, dotted_keys
from almanac.stage_code import code_hashes, stage_files, stage_scripts, write_code_hashes

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
# Properties of a section that derive from one key.
DERIVED = {"features.cutoff_time": "features.cutoff"}


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


@pytest.mark.parametrize("name", [name for name in STAGES if name != "code_hashes"])
def test_a_stage_depends_on_its_code_hashes_and_on_no_source_file(name):
    deps = STAGES[name]["deps"]
    assert deps[0] == f"data/code_hashes/{name}.json", f"dvc.yaml stage {name!r}: its first dep is its code hashes"
    direct = [d for d in deps if d.startswith(("src/", "stages/"))]
    assert not direct, f"dvc.yaml stage {name!r}: {direct} are covered by data/code_hashes/{name}.json"
    assert STAGES[name]["cmd"].split()[2] == f"stages/{name}.py"


def test_the_code_hashes_stage_depends_on_all_the_code_and_writes_one_file_per_stage(tmp_path):
    stage = STAGES["code_hashes"]
    assert stage["deps"] == ["src/almanac", "stages"] and stage["outs"] == ["data/code_hashes"]
    assert sorted(write_code_hashes(stage_scripts(REPO), tmp_path, root=REPO)) == sorted(set(STAGES) - {"code_hashes"})
    backtest = json.loads((tmp_path / "backtest.json").read_text())
    assert backtest["script"] == "stages/backtest.py" and "src/almanac/ml/backtester.py" in backtest["files"]
    assert list(backtest["files"]) == sorted(backtest["files"])


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for item in ("src/almanac", "stages"):
        shutil.copytree(REPO / item, root / item, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _hashes(root: Path) -> dict[str, dict]:
    return {p.stem: code_hashes(p, root=root) for p in stage_scripts(root)}


@pytest.mark.parametrize(
    ("edited", "stages"),
    [
        ("src/almanac/ml/pnl.py", {"backtest"}),  # one stage's module
        ("src/almanac/synth/oracle.py", {"evaluate"}),
        ("src/almanac/ml/models.py", {"train", "evaluate"}),  # evaluate imports it lazily (ml.explanations)
        ("src/almanac/instruments.yaml", set(STAGES) - {"code_hashes"}),  # a data file instruments.py reads
        ("stages/train.py", {"train"}),
        ("src/almanac/experiments.py", set()),  # no stage runs it
    ],
)
def test_an_edit_changes_the_code_hashes_of_exactly_the_stages_that_run_the_file(tmp_path, edited, stages):
    root = _copy(tmp_path)
    before = _hashes(root)
    with (root / edited).open("a") as handle:
        handle.write("\n# edited\n")
    after = _hashes(root)
    assert {name for name in before if before[name] != after[name]} == stages


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
    names = {p.relative_to(SRC).as_posix() for p in stage_files(script, SRC)}
    # registry imports models lazily inside load_model; models imports config and sessions at the top.
    assert {
        "almanac/ml/registry.py",
        "almanac/ml/models.py",
        "almanac/config/__init__.py",
        "almanac/sessions.py",
    } <= names
    assert {"almanac/__init__.py", "almanac/ml/__init__.py"} <= names


def test_the_import_scan_sees_an_import_added_after_a_first_scan(tmp_path):
    script = tmp_path / "stage.py"
    script.write_text("import logging\n")
    assert stage_files(script, SRC) == set()
    script.write_text("import logging\n\nfrom almanac.errors import BarsError\n")
    assert {p.relative_to(SRC).as_posix() for p in stage_files(script, SRC)} == {
        "almanac/__init__.py",
        "almanac/version.py",
        "almanac/errors.py",
    }


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
            # the output itself, or the folder output it is in (data/code_hashes/<stage>.json)
            for out in (o for o in producer if dep == o or dep.startswith(f"{o}/")):
                after[producer[out]].add(name)
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
