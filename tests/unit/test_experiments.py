"""``dvc exp show --json`` flattened into the experiments table, and queueing refuses bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from almanac.experiments import parse, queue_training, text_table


def entry(rev, model, auc, *, name=None, sharpe=1.5):
    return {
        "rev": rev,
        "name": name,
        "data": {
            "params": {
                "params.yaml": {"data": {"train": {"model": model, "seed": 42}, "features": {"cutoff": "10:15"}}}
            },
            "metrics": {
                "metrics/evaluate.json": {"data": {"auc": auc, "auc_ci_low": auc - 0.03, "auc_ci_high": auc + 0.03}},
                "metrics/backtest.json": {"data": {"sharpe": sharpe, "trades": 100, "dsr": 0.9}},
            },
        },
    }


SHOWN = [
    entry("workspace", "lightgbm", 0.61),
    {
        **entry("a" * 40, "lightgbm", 0.61, name="main"),
        "experiments": [
            {"name": "exp-logit", "executor": {"state": "success"}, "revs": [entry("b" * 40, "logistic", 0.58)]},
            {"name": "exp-queued", "executor": {"state": "queued"}, "revs": [{"rev": "c" * 40, "data": {}}]},
        ],
    },
]


def test_rows_changed_params_and_states():
    table = parse(SHOWN)
    assert table["name"].tolist() == ["workspace", "main", "exp-logit", "exp-queued"]
    assert table["kind"].tolist() == ["workspace", "baseline", "experiment", "experiment"]
    assert table["state"].tolist() == ["done", "done", "success", "queued"]
    logit = table.set_index("name").loc["exp-logit"]
    assert logit["changed"] == "train.model=logistic" and logit["auc"] == 0.58 and logit["trades"] == 100
    assert pd.isna(table.set_index("name").loc["exp-queued", "auc"])  # nothing measured yet
    text = text_table(table)
    assert "0.580 [0.550, 0.610]" in text and "train.model=logistic" in text
    assert text.splitlines()[-1].split()[3] == "n/a"  # the queued row's AUC


def test_queue_training_refuses_an_unknown_model(tmp_path):
    with pytest.raises(ValueError, match="train.model 'lightgbm; touch x' is not one of"):
        queue_training("lightgbm; touch x", repo=tmp_path)
