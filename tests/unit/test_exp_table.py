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
from almanac.exp_table import text_table
from almanac.experiments import TRIALS_NOTE, deflate, parse

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


def _sweep_run(i, symbol, seed, model, sharpe, auc):
    changes = {"data.symbol": symbol, "synthetic.seed": seed, "train.model": model}
    return experiment(f"exp-{symbol.lower()}-{seed}-{model[:4]}", "success", f"{i:x}" * 40, changes=changes,
                      auc=(auc, auc - 0.03, auc + 0.03), brier=0.245, eff=0.8, sharpe=(sharpe, sharpe - 0.8,
                      sharpe + 0.8), trades=1000)  # fmt: skip


# `dvc exp run --queue -S data.symbol=ES,NQ -S synthetic.seed=1,2,3` and one logistic ES run, from main
SWEEP = [
    {
        **run("a" * 40, name="main", **MAIN),
        "experiments": [
            _sweep_run(1, "ES", 1, "lightgbm", 1.90, 0.601),
            _sweep_run(2, "ES", 2, "lightgbm", 1.20, 0.588),
            _sweep_run(3, "ES", 3, "lightgbm", 1.55, 0.596),
            _sweep_run(4, "NQ", 1, "lightgbm", 0.40, 0.552),
            _sweep_run(5, "NQ", 2, "lightgbm", 1.10, 0.571),
            _sweep_run(6, "NQ", 3, "lightgbm", 0.75, 0.560),
            _sweep_run(7, "ES", 1, "logistic", 2.10, 0.604),
        ],
    }
]


@pytest.fixture(scope="module")
def sweep():
    return deflate(parse(SWEEP, head="a" * 40))


def test_by_symbol_groups_with_the_best_run_its_dsr_in_the_group_and_the_spread_over_seeds(sweep):
    text = exp_table.grouped_text(sweep, "data.symbol")
    assert text == golden("by_symbol")
    es, nq = (block.splitlines() for block in text.split("\n\n")[:2])
    assert es[0].startswith("data.symbol=ES: 5 runs; best by Sharpe: main (Sharpe 2.26")
    assert "over 5 trials of 5 runs in the group" in es[0]  # NQ's runs are not among ES's trials
    assert es[1].startswith("  held out over 4 seeds of the best run's settings (20161, 1, 2, 3)")
    assert nq[0].startswith("data.symbol=NQ: 3 runs; best by Sharpe: exp-nq-2-ligh (Sharpe 1.10")
    # NQ's three seeds of the same settings: mean 0.75, sd 0.35, 0.40 to 1.10
    assert nq[2] == "    Sharpe 0.75 ± 0.35 (0.40 to 1.10), AUC 0.561 ± 0.010 (0.552 to 0.571)"
    assert max(len(line) for line in text.splitlines()) <= 120


def test_by_seed_groups_each_seed_without_a_spread_over_seeds(sweep):
    text = exp_table.grouped_text(sweep, "synthetic.seed")
    assert text == golden("by_seed")
    heads = [line for line in text.splitlines() if line.startswith("synthetic.seed=")]
    assert [h.split(":")[0] for h in heads] == ["synthetic.seed=20161", "synthetic.seed=1", "synthetic.seed=2",
                                                 "synthetic.seed=3"]  # fmt: skip
    assert "held out" not in text


def test_by_an_unknown_key_names_the_closest(sweep, monkeypatch, capsys):
    with pytest.raises(ValueError, match=r"no run has the params key 'data.symbl' \(did you mean data.symbol\?\)"):
        exp_table.grouped_text(sweep, "data.symbl")
    monkeypatch.setattr("almanac.experiments.experiments", lambda repo: sweep)
    monkeypatch.setattr("almanac.experiments.daily_pnl", lambda table, repo: {})
    assert main(["exps", "--by", "data.symbol"]) == 0
    assert capsys.readouterr().out == golden("by_symbol")
    assert main(["exps", "--by", "nope"]) == 2
