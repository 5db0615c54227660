"""docs/architecture.md's recipes are true: a toy model and a toy feature family, added in a copy of the repository
along exactly the files the recipes list, pass the suite's checks of the params schema, the params and pipeline
tables, DVC's graph and the feature registry, and the library uses them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COPIED = ["src/almanac", "stages", "tests", "docs", "dvc.yaml", "params.yaml", "pyproject.toml"]
CHECKS = [
    "tests/unit/test_config.py",
    "tests/unit/test_docs.py::test_the_pipeline_table_is_dvc_yaml",
    "tests/unit/test_docs.py::test_the_params_table_lists_every_key",
    "tests/unit/test_docs.py::test_every_unit_is_in_the_layering_table",
    "tests/unit/test_docs.py::test_imports_follow_the_layering",
    "tests/unit/test_ml_features.py",
    "tests/pipeline/test_dvc_graph.py",
]

TOY_FAMILY = '''"""A toy feature family: the previous session's RTH close-to-close return, in percent."""

import pandas as pd


def compute(bars, sessions: pd.DataFrame, daily, *, settings) -> pd.DataFrame:
    """One column, from sessions before each trade date only (``bars`` and ``daily`` are not used)."""
    close = sessions["close"].astype(float)
    return pd.DataFrame({"toy_prev_ret_pct": (close.shift(1) / close.shift(2) - 1.0) * 100.0}, index=sessions.index)


LINEAGE = {"toy_prev_ret_pct": ("{symbol} sessions (RTH)", "1 day", "previous RTH close")}
'''

TOY_MODEL = '''
    @staticmethod
    def create_toy(params=None):
        """A toy learner: a shallow decision tree."""
        from sklearn.pipeline import make_pipeline
        from sklearn.impute import SimpleImputer
        from sklearn.tree import DecisionTreeClassifier

        return make_pipeline(SimpleImputer(keep_empty_features=True), DecisionTreeClassifier(**_with_defaults("toy", params)))
'''


def _recipe_files(title: str) -> list[str]:
    """The files a recipe of docs/architecture.md lists: its numbered items' leading ``path``s."""
    text = (REPO / "docs" / "architecture.md").read_text()
    section = text.split(f"### {title}", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. `([^`]+)`", section, re.M)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r} is not unique"
    path.write_text(text.replace(old, new))


def _add_family(root: Path) -> set[str]:
    (root / "src/almanac/features/toy.py").write_text(TOY_FAMILY)
    ml = root / "src/almanac/features/ml_features.py"
    _edit(ml, "from almanac.features import cross_asset, early_session, regime",
          "from almanac.features import cross_asset, early_session, regime, toy")  # fmt: skip
    _edit(ml, '    "regime": FeatureFamily(regime.compute, regime.LINEAGE),\n',
          '    "regime": FeatureFamily(regime.compute, regime.LINEAGE),\n'
          '    "toy": FeatureFamily(toy.compute, toy.LINEAGE),\n')  # fmt: skip
    _edit(root / "src/almanac/config/inputs.py", '    regime: bool = Field(True, description="regime family on/off")\n',
          '    regime: bool = Field(True, description="regime family on/off")\n'
          '    toy: bool = Field(True, description="toy family on/off")\n')  # fmt: skip
    _edit(root / "params.yaml", "  regime: true ", "  toy: true\n  regime: true ")
    tests = root / "tests/unit/test_ml_features.py"  # tests: the registry test lists every family's columns
    _edit(tests, "from almanac.features import cross_asset, early_session, regime",
          "from almanac.features import cross_asset, early_session, regime, toy")  # fmt: skip
    _edit(
        tests,
        '    "regime": list(regime.LINEAGE),\n',
        '    "regime": list(regime.LINEAGE),\n    "toy": list(toy.LINEAGE),\n',
    )
    _edit(tests, ' + FAMILY_COLUMNS["cross_asset"] + FAMILY_COLUMNS["regime"]\n',
          ' + FAMILY_COLUMNS["cross_asset"] + FAMILY_COLUMNS["regime"] + FAMILY_COLUMNS["toy"]\n')  # fmt: skip
    _edit(tests, '"cross_asset": False, "regime": True}', '"cross_asset": False, "regime": True, "toy": False}')
    return {"src/almanac/features/toy.py", "src/almanac/features/ml_features.py", "src/almanac/config/inputs.py",
            "params.yaml", "docs/parameters.md", "docs/data_contracts.md"}  # fmt: skip


def _add_model(root: Path) -> set[str]:
    config = root / "src/almanac/config/modelling.py"
    _edit(config, "class TrainParams(Section):",
          'class ToyParams(Section):\n    """``train.toy.*``: a toy learner\'s keyword arguments."""\n\n'
          '    max_depth: int = Field(2, ge=1, description="tree depth")\n\n\nclass TrainParams(Section):')  # fmt: skip
    _edit(config, "    xgboost: XGBoostParams = Field(default_factory=XGBoostParams)\n",
          "    xgboost: XGBoostParams = Field(default_factory=XGBoostParams)\n"
          "    toy: ToyParams = Field(default_factory=ToyParams)\n")  # fmt: skip
    _edit(config, '"`logistic`, `lightgbm`, `xgboost`, ', '"`logistic`, `lightgbm`, `xgboost`, `toy`, ')
    models = root / "src/almanac/ml/models.py"
    _edit(
        models,
        "\n    @staticmethod\n    def create_base_rate(",
        TOY_MODEL + "\n    @staticmethod\n    def create_base_rate(",
    )
    params = root / "params.yaml"
    text = params.read_text()
    head, rest = text.split("\nevaluate:", 1)
    params.write_text(head.rstrip("\n") + "\n  toy:\n    max_depth: 2\n\nevaluate:" + rest)
    return {"src/almanac/config/modelling.py", "src/almanac/ml/models.py", "params.yaml", "docs/parameters.md"}


@pytest.mark.pipeline
def test_a_toy_model_and_feature_family_along_the_recipes(tmp_path):
    root = tmp_path / "repo"
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    family, model = _add_family(root), _add_model(root)
    touched = family | model
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    table = subprocess.run([sys.executable, "-m", "almanac.cli", "params", "--markdown"], cwd=root, env=env,
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    docs = root / "docs" / "parameters.md"
    text = docs.read_text()
    head, rest = text.split("<!-- params:start -->\n", 1)
    docs.write_text(
        head + "<!-- params:start -->\n" + table + "<!-- params:end -->" + rest.split("<!-- params:end -->", 1)[1]
    )
    data_contracts = root / "docs" / "data_contracts.md"
    data_contracts.write_text(data_contracts.read_text() + "\nToy family: `toy_prev_ret_pct`.\n")

    changed = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and before.get(p) != p.read_bytes()}
    changed = {p for p in changed if "__pycache__" not in p and not p.startswith("tests/")}
    assert changed == touched
    assert {f.replace("<family>", "toy") for f in _recipe_files("A feature family")} == family
    assert {f.replace("<name>", "toy") for f in _recipe_files("A model")} == model

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CHECKS,
         # tests that spell out the current feature set (tests aside: they name the new family too)
         "--deselect", "tests/unit/test_ml_features.py::test_cross_asset_without_daily_series_is_said_not_hidden"],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]

    def printed(code: str) -> str:  # what ``code`` prints, run with the copy's package
        return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                              check=True).stdout  # fmt: skip

    used = printed(
        "import almanac; from almanac.features.ml_features import FAMILIES; "
        "from almanac.ml.models import ModelFactory; p = almanac.load_params('params.yaml'); "
        "print(sorted(FAMILIES), p.train.toy.max_depth, type(ModelFactory.from_params(p.train, 'toy')).__name__)"
    )
    assert used.strip() == "['cross_asset', 'early_session', 'regime', 'toy'] 2 Pipeline"
    # No dvc.yaml edit: the stages that run the family's code depend on it through their code hashes.
    hashed = printed(
        "from pathlib import Path; from almanac.stage_code import code_hashes; "
        "print(*sorted(s for s in ('features', 'audit', 'labels', 'train') "
        "if 'src/almanac/features/toy.py' in code_hashes(Path('stages', s + '.py').resolve(), root=Path.cwd())['files']))"
    )
    assert hashed.split() == ["audit", "features"]
