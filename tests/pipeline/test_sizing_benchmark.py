"""The sizing comparison (benchmarks/sizing.py): run on the protocol's seeds with the committed sizing knobs, its
table is the committed results' (not hand-edited), and the default stays what the docs say was decided."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from almanac.config import DEFAULTS

REPO = Path(__file__).resolve().parents[2]
RESULTS = json.loads((REPO / "benchmarks" / "sizing.json").read_text())


def _benchmark():
    spec = importlib.util.spec_from_file_location("sizing_benchmark", REPO / "benchmarks" / "sizing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_on_the_protocols_seeds_with_the_committed_knobs():
    protocol = json.loads((REPO / "benchmarks" / "robustness.json").read_text())["protocol"]
    assert RESULTS["groups"] == {"selection": protocol["selection_seeds"], "evaluation": protocol["evaluation_seeds"]}
    backtest = DEFAULTS.backtest
    assert (RESULTS["threshold"], RESULTS["max_contracts"], RESULTS["risk_usd"]) == (
        backtest.threshold, backtest.max_contracts, backtest.risk_usd,
    )  # fmt: skip
    assert RESULTS["atr_days"] == DEFAULTS.features.atr_days


def test_the_table_is_the_results_and_fixed_sizing_matches_the_defaults_protocol():
    module = _benchmark()
    assert (REPO / "benchmarks" / "sizing.md").read_text() == module.HEADING + module.markdown(RESULTS)
    robustness = json.loads((REPO / "benchmarks" / "robustness.json").read_text())
    chosen = robustness["configs"][robustness["chosen"]]["evaluation"][f"sharpe@{robustness['threshold']}"]
    fixed = RESULTS["summary"]["evaluation"]["fixed (1 contract)"]["sharpe"]
    assert abs(fixed["mean"] - chosen["mean"]) < 1e-9  # the same backtest as `make robustness` on the same seeds


def test_fixed_stays_the_default():
    assert DEFAULTS.backtest.sizing == "fixed"
    assert "`fixed` stays the default" in (REPO / "docs" / "defaults.md").read_text()
