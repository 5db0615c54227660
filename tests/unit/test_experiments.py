"""``dvc exp show --json`` flattened into the experiments table, and queueing refuses bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from almanac.exp_table import text_table
from almanac.experiments import TRIALS_NOTE, parse


def entry(rev, model, auc, *, name=None, sharpe=1.5, seed=20161, target="rest_of_day", moments=None):
    return {
        "rev": rev,
        "name": name,
        "data": {
            "params": {
                "params.yaml": {
                    "data": {
                        "train": {"model": model, "seed": 42},
                        "labels": {"target": target},
                        "features": {"cutoff": "10:15"},
                        "data": {"symbol": "ES"},
                        "synthetic": {"seed": seed},
                    }
                }
            },
            "metrics": {
                "metrics/evaluate.json": {"data": {"auc": auc, "auc_ci_low": auc - 0.03, "auc_ci_high": auc + 0.03}},
                "metrics/backtest.json": {
                    "data": moments
                    or {"sharpe": sharpe, "trades": 100, "dsr": 0.9, "days": 1000, "pnl_skew": 0.1, "pnl_kurtosis": 4.0}
                },
            },
        },
    }


SHOWN = [
    entry("workspace", "lightgbm", 0.61),
    {
        **entry("a" * 40, "lightgbm", 0.61, name="main"),
        "experiments": [
            {
                "name": "exp-logit",
                "executor": {"state": "success"},
                "revs": [entry("b" * 40, "logistic", 0.58, sharpe=0.5)],
            },  # fmt: skip
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
    assert "0.580 [0.55, 0.61]" in text and "train.model=logistic" in text
    queued = next(line for line in text.splitlines() if line.startswith("exp-queued"))
    assert queued.split()[2] == "n/a"  # the queued row's AUC (name, state, AUC)
    assert " ".join(text.split()).endswith(TRIALS_NOTE)  # where the trials come from, under the table (wrapped)


def test_deflated_sharpe_over_the_trials_in_the_table():
    import math

    from almanac.experiments import deflate
    from almanac.ml.metrics import deflated_sharpe_benchmark, psr_from_moments

    table = deflate(parse(SHOWN))
    # main and exp-logit; the workspace repeats main; the queued run has neither params nor a backtest yet
    assert table["n_trials"].tolist() == [2, 2, 2, 0]
    daily = [1.5 / math.sqrt(252), 0.5 / math.sqrt(252)]
    mean = sum(daily) / 2
    benchmark = deflated_sharpe_benchmark(sum((d - mean) ** 2 for d in daily), 2)
    main = table.set_index("name").loc["main"]
    assert main["dsr_trials"] == pytest.approx(
        psr_from_moments(daily[0], 1000, skew=0.1, kurtosis=4.0, benchmark_sr=benchmark)
    )
    assert main["dsr_trials"] < psr_from_moments(daily[0], 1000, skew=0.1, kurtosis=4.0)  # deflating lowers it
    assert "DSR: 2 trials of 3 runs." in text_table(table)  # the workspace repeats main: one trial


def test_psr_from_moments_is_the_psr_of_the_series():
    from scipy import stats

    from almanac.ml.metrics import probabilistic_sharpe, psr_from_moments

    r = np.random.default_rng(0).standard_t(5, 800) + 0.05
    sr = r.mean() / r.std(ddof=1)
    moments = {"skew": stats.skew(r), "kurtosis": stats.kurtosis(r, fisher=False)}
    assert psr_from_moments(sr, len(r), **moments, benchmark_sr=0.02) == pytest.approx(
        probabilistic_sharpe(r, 0.02), rel=1e-12
    )


def test_a_run_on_other_data_is_another_selection_not_a_trial():
    from almanac.experiments import deflate

    other = {"name": "exp-seed7", "executor": {"state": "success"},
             "revs": [entry("d" * 40, "lightgbm", 0.56, sharpe=0.8, seed=7)]}  # fmt: skip
    shown = [SHOWN[0], {**SHOWN[1], "experiments": [*SHOWN[1]["experiments"], other]}]
    table = deflate(parse(shown)).set_index("name")
    assert table.loc["main", "n_trials"] == 2 and table.loc["exp-logit", "n_trials"] == 2  # the same data
    assert table.loc["exp-seed7", "n_trials"] == 1 and pd.isna(table.loc["exp-seed7", "dsr_trials"])  # alone
    assert table.loc["main", "dsr_trials"] == deflate(parse(SHOWN)).set_index("name").loc["main", "dsr_trials"]
    assert "DSR: each run over the trials on its own data and target." in text_table(table.reset_index())


def test_dsr_falls_as_the_trials_grow():
    from almanac.ml.metrics import deflated_sharpe_benchmark, psr_from_moments

    sr, variance = 0.1, 0.002
    dsr = [
        psr_from_moments(sr, 1000, skew=0.0, kurtosis=3.0, benchmark_sr=deflated_sharpe_benchmark(variance, n))
        for n in (1, 2, 5, 20, 100)
    ]
    assert all(a > b for a, b in zip(dsr, dsr[1:], strict=False)), dsr


# --- the set of trials: duplicates, other targets, unrelated runs ---------------------------------------------------


def _run_of(pnl: np.ndarray, rev: str, **kwargs) -> tuple[dict, pd.Series]:
    """An experiment entry whose backtest metrics are those of the daily P&L ``pnl``, and that P&L."""
    from scipy import stats

    days = pd.bdate_range("2018-01-02", periods=len(pnl))
    moments = {
        "sharpe": float(pnl.mean() / pnl.std(ddof=1) * np.sqrt(252)),
        "trades": int((pnl != 0).sum()),
        "days": len(pnl),
        "pnl_skew": float(stats.skew(pnl)),
        "pnl_kurtosis": float(stats.kurtosis(pnl, fisher=False)),
    }
    return entry(rev, kwargs.pop("model", "lightgbm"), 0.6, moments=moments, **kwargs), pd.Series(pnl, index=days)


def _deflated(runs: list[tuple[dict, pd.Series]]) -> pd.DataFrame:
    """``deflate`` over a baseline commit (the first run) and experiments (the others), with their P&L."""
    from almanac.experiments import deflate

    (head, head_pnl), others = runs[0], runs[1:]
    shown = [{**head, "experiments": [{"name": e["rev"][:6], "executor": {"state": "success"}, "revs": [e]}
                                      for e, _ in others]}]  # fmt: skip
    table = parse(shown)
    return deflate(table, dict(zip(table.index, [head_pnl, *[p for _, p in others]], strict=True)))


def _skilled(n: int = 5, seed: int = 0) -> list[tuple[dict, pd.Series]]:
    rng = np.random.default_rng(seed)
    return [_run_of(rng.standard_t(4, 1500) * 300 + 40 + 15 * k, f"{k:x}" * 40) for k in range(n)]


def test_an_exact_duplicate_run_does_not_raise_the_dsr():
    runs = _skilled()
    before = _deflated(runs)
    duplicate = _run_of(runs[2][1].to_numpy(), "f" * 40)
    after = _deflated([*runs, duplicate])
    assert after["n_runs"].iloc[0] == 6 and after["n_trials"].iloc[0] == before["n_trials"].iloc[0] == 5
    assert after["dsr_trials"].iloc[0] == before["dsr_trials"].iloc[0]


def test_a_near_duplicate_is_the_same_trial():
    runs = _skilled()
    near = runs[1][1].to_numpy() + np.random.default_rng(9).normal(0, 10, 1500)  # correlation ~0.999
    table = _deflated([*runs, _run_of(near, "e" * 40)])
    assert table["n_trials"].iloc[0] == 5 and table["n_runs"].iloc[0] == 6


def test_a_run_with_another_target_does_not_change_the_dsr():
    runs = _skilled()
    other = _run_of(np.random.default_rng(5).standard_t(4, 1500) * 300 + 200, "e" * 40, target="direction")
    before, after = _deflated(runs), _deflated([*runs, other])
    assert after["dsr_trials"].iloc[0] == before["dsr_trials"].iloc[0] and after["n_trials"].iloc[0] == 5
    assert after["n_trials"].iloc[-1] == 1  # it is a selection of its own


def test_an_independent_null_run_lowers_the_dsr():
    runs = _skilled()
    null = _run_of(np.random.default_rng(11).standard_t(4, 1500) * 300, "e" * 40)  # no edge
    before, after = _deflated(runs), _deflated([*runs, null])
    assert after["n_trials"].iloc[0] == 6
    assert after["dsr_trials"].iloc[0] < before["dsr_trials"].iloc[0]


def test_baselines_and_degenerate_runs_are_not_trials():
    runs = _skilled()
    rng = np.random.default_rng(12)
    baseline = _run_of(rng.standard_t(4, 1500) * 300, "e" * 40, model="base_rate")
    thin_pnl = np.zeros(1500)
    thin_pnl[:13] = rng.normal(500, 100, 13)
    thin, thin_series = _run_of(thin_pnl, "d" * 40)
    thin["data"]["metrics"]["metrics/backtest.json"]["data"]["degenerate"] = True
    before, after = _deflated(runs), _deflated([*runs, baseline, (thin, thin_series)])
    assert after["dsr_trials"].iloc[0] == before["dsr_trials"].iloc[0] and after["n_runs"].iloc[0] == 5


def test_deflate_within_a_key_counts_only_the_groups_trials():
    from almanac.experiments import deflate_within
    from almanac.ml.metrics import deflated_sharpe_benchmark, psr_from_moments

    def symbol_entry(rev, symbol, sharpe):
        row = entry(rev, "lightgbm", 0.6, name=rev[:3], sharpe=sharpe)
        row["data"]["params"]["params.yaml"]["data"]["data"]["symbol"] = symbol
        return row

    shown = [symbol_entry("1" * 40, "ES", 1.0), symbol_entry("2" * 40, "ES", 2.0),
             symbol_entry("3" * 40, "NQ", 0.5), symbol_entry("4" * 40, "NQ", 1.5), symbol_entry("5" * 40, "NQ", 0.2)]  # fmt: skip
    table = deflate_within(parse(shown), "data.symbol")
    assert table["group"].tolist() == ["ES", "ES", "NQ", "NQ", "NQ"]
    assert table["group_trials"].tolist() == [2, 2, 3, 3, 3]
    for group, sharpes in (("ES", [1.0, 2.0]), ("NQ", [0.5, 1.5, 0.2])):
        daily = np.array(sharpes) / np.sqrt(252)
        benchmark = deflated_sharpe_benchmark(float(np.var(daily, ddof=1)), len(daily))
        expected = [psr_from_moments(sr, 1000, skew=0.1, kurtosis=4.0, benchmark_sr=benchmark) for sr in daily]
        got = table.loc[table["group"] == group, "dsr_group"].to_numpy()
        assert np.allclose(got, expected, atol=1e-9)
    # ES's DSR does not see NQ's runs: the same two runs alone give the same DSR
    alone = deflate_within(parse(shown[:2]), "data.symbol")
    assert np.allclose(alone["dsr_group"], table["dsr_group"][:2])
