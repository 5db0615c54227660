"""The public API: one curated surface, the same functions the stages call, keyword-only, documented, and
every default declared once (in the params schema)."""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import almanac

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "almanac"
FUNCTIONS = [
    "load_bars",
    "build_sessions",
    "build_features",
    "build_labels",
    "train",
    "evaluate",
    "backtest",
    "predict",
]


def test_the_curated_names_resolve():
    for name in almanac.__all__:
        assert getattr(almanac, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        almanac.nope  # noqa: B018


@pytest.mark.parametrize(
    ("stage", "name"),
    [("bars", "load_bars"), ("sessions", "build_sessions"), ("features", "build_features"), ("labels", "build_labels"),
     ("train", "train"), ("evaluate", "evaluate"), ("backtest", "backtest")],
)  # fmt: skip
def test_stages_call_the_public_functions(stage, name):
    """The stage imports the very function ``almanac.<name>`` is (no parallel implementation)."""
    tree = ast.parse((REPO / "stages" / f"{stage}.py").read_text())
    imported = {
        (node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    function = getattr(almanac, name)
    assert (function.__module__, name) in imported


def test_importing_one_module_does_not_import_the_package():
    code = "import sys, almanac.sessions; print(sorted(m for m in sys.modules if m.startswith('almanac')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "almanac.features" not in out and "almanac.ml" not in out, out


def _positional_heavy(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            names = [a.arg for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
            if len(names) > 3:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}({', '.join(names)})")
    return found


def test_public_functions_with_more_than_three_arguments_are_keyword_only():
    offenders = [row for path in sorted(SRC.rglob("*.py")) for row in _positional_heavy(path)]
    assert not offenders, "make the arguments after the third keyword-only:\n" + "\n".join(offenders)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_functions_have_numpydoc_sections_and_an_example(name):
    doc = inspect.getdoc(getattr(almanac, name)) or ""
    for section in ("Parameters", "Returns"):
        assert re.search(rf"^{section}\n-+$", doc, re.M), f"{name}: no {section} section"
    assert ">>> " in doc, f"{name}: no example"  # the full check of the 18 names: tests/unit/test_doctests.py


def test_the_docs_the_code_names_exist():
    """Every ``docs/*.md`` the package names exists (tests/unit/test_docs.py: nothing points outside the repository)."""
    for ref in re.findall(r"docs/[\w.-]+\.md", "".join(p.read_text() for p in SRC.rglob("*.py"))):
        assert (REPO / ref).is_file(), ref


# One knob of each section: (schema file edit, Python that reads the library's default of that knob).
ONE_EDIT = {
    "data.start": ("start: Date = Field(dt.date(2016, 1, 1)", "start: Date = Field(dt.date(2017, 1, 3)",
                   "from almanac.synth.market import MarketSpec; print(MarketSpec().start)", "2017-01-03"),
    "synthetic.kappa": ("kappa: float = Field(0.3,", "kappa: float = Field(0.35,",
                        "from almanac.synth.market import MarketSpec; print(MarketSpec().kappa)", "0.35"),
    "features.atr_days": ("atr_days: int = Field(14,", "atr_days: int = Field(15,",
                          "from almanac.features.ml_features import _settings; print(_settings(None).atr_days)", "15"),
    "labels.target": ('"rest_of_day",\n        description="`rest_of_day`', '"direction",\n        description="`rest_of_day`',
                      "import inspect, almanac.ml.trainers as t; print(t.DEFAULTS.labels.target)", "direction"),
    "cv.test_days": ("test_days: int = Field(126,", "test_days: int = Field(127,",
                     "from almanac.ml.cv import WalkForwardSplit; print(WalkForwardSplit().test_days)", "127"),
    "train.lightgbm.num_leaves": ("num_leaves: int = Field(2,", "num_leaves: int = Field(7,",
                                  "from almanac.ml.models import ModelFactory; print(ModelFactory.create_lightgbm().num_leaves)", "7"),
    "evaluate.calibration_bins": ("calibration_bins: int = Field(10,", "calibration_bins: int = Field(12,",
                                  "from almanac.ml import evaluators; print(evaluators.DEFAULTS.evaluate.calibration_bins)", "12"),
    "backtest.threshold": ("threshold: float = Field(\n        0.55,", "threshold: float = Field(\n        0.65,",
                           "import inspect; from almanac.ml.backtester import MLBacktester; "
                           "print(inspect.signature(MLBacktester.backtest_probabilities).parameters['threshold'].default)", "0.65"),
}  # fmt: skip


def test_changing_a_default_is_one_edit(tmp_path):
    """For one knob of each section, edit only its declaration in a copy of the package: the library follows."""
    assert {key.split(".")[0] for key in ONE_EDIT} == set(almanac.Params.model_fields)
    for key, (old, new, code, expected) in ONE_EDIT.items():
        copy = tmp_path / key / "almanac"
        shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
        found = [path for path in sorted((copy / "config").glob("*.py")) if old in path.read_text()]
        assert len(found) == 1 and found[0].read_text().count(old) == 1, f"{key}: the declaration {old!r} is not unique"
        found[0].write_text(found[0].read_text().replace(old, new))
        env = {"PYTHONPATH": str(copy.parent), "PATH": "/usr/bin:/bin"}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == expected, f"{key}: the library still says {done.stdout.strip()}"
