"""The defaults are the out-of-sample protocol's choice (benchmarks/model_table.py, ``make robustness``): selection and
evaluation seeds are disjoint and large enough, params.yaml holds what the protocol chose, the tables are the
committed results' (not hand-edited), and the README and docs/defaults.md quote the held-out distribution."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from almanac.config import DEFAULTS, load_params
from almanac.robustness import conditions_of, describe, held_out, model_of

REPO = Path(__file__).resolve().parents[2]
RESULTS = json.loads((REPO / "benchmarks" / "robustness.json").read_text())


def _protocol():
    spec = importlib.util.spec_from_file_location("model_table", REPO / "benchmarks" / "model_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_selection_and_evaluation_seeds_are_disjoint_and_enough():
    protocol = RESULTS["protocol"]
    selection, evaluation = set(protocol["selection_seeds"]), set(protocol["evaluation_seeds"])
    assert len(selection) >= 8 and len(evaluation) >= 5 and not selection & evaluation
    assert DEFAULTS.synthetic.seed in evaluation  # the default run's market chose nothing
    assert set(RESULTS["per_seed"]) == {str(s) for s in selection | evaluation}


def test_the_defaults_are_what_the_protocol_chose():
    chosen = RESULTS["configs"][RESULTS["chosen"]]
    assert model_of(DEFAULTS) == chosen["model"]
    assert DEFAULTS.backtest.threshold == RESULTS["threshold"]
    for learner, name in RESULTS["learners"].items():  # each learner's block: its best candidate
        for dotted, value in RESULTS["configs"][name]["params"].items():
            if dotted == "train.model":
                continue  # the learner's block, not the model in use
            section, *keys = dotted.split(".")
            target = getattr(DEFAULTS, section)
            for key in keys:
                target = getattr(target, key)
            assert target == value, (learner, dotted)
    assert load_params(REPO / "params.yaml") == DEFAULTS  # params.yaml says the same


def test_the_protocol_ran_under_the_default_runs_conditions():
    assert RESULTS["conditions"] == conditions_of(DEFAULTS)  # else rerun make robustness
    explicit = DEFAULTS.model_copy(update={"synthetic": DEFAULTS.synthetic.model_copy(update={"start_price": 2000.0})})
    assert conditions_of(explicit) == conditions_of(DEFAULTS)  # null start price: ES's own 2000, the same market
    assert held_out(DEFAULTS, RESULTS)[0] == RESULTS["chosen"]


def test_the_choice_and_the_tables_follow_from_the_per_seed_results():
    protocol = _protocol()
    results = {int(seed): rows for seed, rows in RESULTS["per_seed"].items()}
    redone = protocol.choose(results)
    assert (redone["chosen"], redone["threshold"], redone["learners"]) == (
        RESULTS["chosen"], RESULTS["threshold"], RESULTS["learners"]
    )  # fmt: skip
    markdown = (REPO / "benchmarks" / "robustness.md").read_text()
    assert protocol.markdown(RESULTS) in markdown


def test_the_readme_and_the_report_quote_the_held_out_distribution():
    efficiency = RESULTS["configs"][RESULTS["chosen"]]["evaluation"]["oracle_efficiency"]
    quoted = f"{efficiency['mean']:.2f} ± {efficiency['sd']:.2f} ({efficiency['min']:.2f} to {efficiency['max']:.2f})"
    for page in ("README.md", "docs/defaults.md"):
        text = (REPO / page).read_text()
        assert quoted in text and "held out" in text.lower(), page
    value, detail = describe(DEFAULTS, RESULTS, threshold=DEFAULTS.backtest.threshold)
    assert value == f"{efficiency['mean']:.2f} ± {efficiency['sd']:.2f}" and "evaluation seeds" in detail
    other = DEFAULTS.model_copy(update={"synthetic": DEFAULTS.synthetic.model_copy(update={"kappa": 0.5})})
    assert describe(other, RESULTS) is None  # another market: nothing held out to quote
