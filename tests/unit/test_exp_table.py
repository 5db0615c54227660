"""``almanac exps`` in a terminal: golden text of a fixed ``dvc exp show --json``, 120 columns by default, chosen
columns, sorting, every column; and the ML Lab's ``(header, rows)``.

The golden files are under ``tests/golden/``: when a change to the table is meant, print the new text with
``text_table`` and read it before replacing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from almanac import exp_table
from almanac.cli import main
from almanac.experiments import TRIALS_NOTE, deflate, parse, text_table

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def run(rev, *, name=None, changes=None, auc=None, brier=None, eff=None, sharpe=None, trades=None):
    """One run of ``dvc exp show --json``: the default params with ``changes`` (dotted keys), and its metrics."""
    params = {
        "data": {"symbol": "ES"},
        "synthetic": {"seed": 20161},
        "features": {"cutoff": "10:15"},
        "labels": {"target": "rest_of_day"},
        "train": {"model": "lightgbm", "lightgbm": {"num_leaves": 2}, "xgboost": {"max_depth": 1}},
    }
    for key, value in (changes or {}).items():
        *path, last = key.split(".")
        node = params
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    metrics = {}
    if auc is not None:
        metrics = {
            "metrics/evaluate.json": {"data": {"auc": auc[0], "auc_ci_low": auc[1], "auc_ci_high": auc[2],
                                               "brier": brier, "oracle_efficiency": eff}},
            "metrics/backtest.json": {"data": {"sharpe": sharpe[0], "sharpe_ci_low": sharpe[1],
                                               "sharpe_ci_high": sharpe[2], "trades": trades, "days": 1754,
                                               "pnl_skew": 0.1, "pnl_kurtosis": 4.0, "dsr": 0.9}},
        }  # fmt: skip
    return {"rev": rev, "name": name, "data": {"params": {"params.yaml": {"data": params}}, "metrics": metrics}}


def experiment(name, state, rev, **kwargs):
    return {"name": name, "executor": {"state": state}, "revs": [run(rev, **kwargs)]}


MAIN = {"auc": (0.6071, 0.5812, 0.6334), "brier": 0.24131, "eff": 0.953, "sharpe": (2.262, 1.43, 3.14), "trades": 1099}
SHOWN = [
    run("workspace", **MAIN),
    {
        **run("a" * 40, name="main", **MAIN),
        "experiments": [
            experiment(
                "exp-xgb",
                "success",
                "b" * 40,
                auc=(0.5934, 0.5661, 0.6207),
                brier=0.24402,
                eff=0.81,
                sharpe=(1.874, 1.02, 2.71),
                trades=1187,
                changes={"train.model": "xgboost", "features.cutoff": "10:30", "train.xgboost.max_depth": 3},
            ),
            experiment(
                "exp-logit",
                "success",
                "c" * 40,
                auc=(0.6102, 0.5843, 0.6361),
                brier=0.24087,
                eff=0.981,
                sharpe=(2.405, 1.58, 3.27),
                trades=1136,
                changes={"train.model": "logistic"},
            ),
            experiment(
                "exp-deep",
                "success",
                "d" * 40,
                auc=(0.5522, 0.5249, 0.5795),
                brier=0.25713,
                eff=0.43,
                sharpe=(-0.312, -1.19, 0.58),
                trades=1402,
                changes={"train.lightgbm.num_leaves": 63},
            ),
            experiment("exp-queued", "queued", "e" * 40, changes={"train.model": "xgboost"}),
        ],
    },  # fmt: skip
]


@pytest.fixture(scope="module")
def table():
    return deflate(parse(SHOWN))


def golden(name: str) -> str:
    return (GOLDEN / f"exps_{name}.txt").read_text(encoding="utf-8")


def test_the_default_fits_120_columns(table):
    text = text_table(table)
    assert text == golden("default")
    assert max(len(line) for line in text.splitlines()) <= 120
    assert "features.cutoff=10:30, t…" in text  # the changed params are cut with an ellipsis
    assert " ".join(text.split()).endswith(TRIALS_NOTE)  # the note on the trials, wrapped


def test_chosen_columns_in_their_order(table):
    text = text_table(table, columns=["name", "sharpe", "dsr", "changed"])
    assert text == golden("columns")
    assert text.splitlines()[0].split() == ["name", "Sharpe", "[95%", "CI]", "DSR", "changed"]


def test_sort_by_sharpe_best_first_and_reversed(table):
    text = text_table(table, sort="sharpe")
    assert text == golden("sort_sharpe")
    names = [line.split()[0] for line in text.splitlines()[1:7]]
    assert names == ["exp-logit", "workspace", "main", "exp-xgb", "exp-deep", "exp-queued"]  # n/a last
    reversed_names = [line.split()[0] for line in text_table(table, sort="sharpe", reverse=True).splitlines()[1:7]]
    assert reversed_names == ["exp-deep", "exp-xgb", "workspace", "main", "exp-logit", "exp-queued"]  # ties stable
    brier = [line.split()[0] for line in text_table(table, sort="brier").splitlines()[1:4]]
    assert brier == ["exp-logit", "workspace", "main"]  # lower is better: ascending


def test_all_columns_nothing_cut(table):
    text = text_table(table, all_columns=True)
    assert text == golden("all")
    assert "features.cutoff=10:30, train.model=xgboost, train.xgboost.max_depth=3" in text
    header = text.splitlines()[0]
    assert all(exp_table.COLUMNS[name].header.split()[0] in header for name in exp_table.COLUMN_NAMES)


def test_a_narrow_width_drops_the_lowest_priority_columns_first(table):
    header = text_table(table, width=108).splitlines()[0]
    assert "oracle eff" not in header and "Brier" in header  # oracle_efficiency goes first, then brier
    text = text_table(table, width=90)
    assert text.splitlines()[0].split() == ["name", "AUC", "[95%", "CI]", "Sharpe", "[95%", "CI]", "DSR", "changed"]
    assert max(len(line) for line in text.splitlines()) <= 90
    chosen = text_table(table, columns=["name", "oracle_efficiency", "changed"], width=40)
    assert "oracle eff" in chosen.splitlines()[0]  # chosen columns are never dropped


def test_the_lab_keeps_its_columns(table):
    """The ML Lab reads ``display(table)``: its header and one row per shown run, ``state`` at index 2."""
    header, rows = exp_table.display(table)
    assert header == ["name", "kind", "state", "AUC [95% CI]", "Brier", "oracle eff", "Sharpe [95% CI]", "trades",
                      "DSR (4 trials of 5 runs)", "changed"]  # fmt: skip
    assert [r[2] for r in rows] == ["done", "done", "success", "success", "success", "queued"]
    assert rows[2][9] == "features.cutoff=10:30, train.model=xgboost, train.xgboost.max_depth=3"  # not cut


def test_an_unknown_column_is_named(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["exps", "--columns", "name,sharp"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "unknown column 'sharp' (did you mean sharpe?)" in err
    assert "choose from name, rev, kind, state" in err
    with pytest.raises(SystemExit):
        main(["exps", "--sort", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_the_command_passes_its_options(table, monkeypatch, capsys):
    monkeypatch.setattr("almanac.experiments.experiments", lambda repo: table)
    assert main(["exps", "--columns", "name,sharpe,dsr,changed"]) == 0
    assert capsys.readouterr().out == golden("columns")
    assert main(["exps", "--sort", "sharpe"]) == 0  # not a terminal: 120 columns
    assert capsys.readouterr().out == golden("sort_sharpe")
    assert main(["exps", "--all"]) == 0
    assert capsys.readouterr().out == golden("all")
    assert main(["exps", "--width", "90"]) == 0
    assert capsys.readouterr().out == text_table(table, width=90)
