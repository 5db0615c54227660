"""``almanac sweep``'s grid and names: DVC's own expansion of ``-S``, and a name fixed by the base and the settings."""

from __future__ import annotations

import argparse

import pytest

from almanac import sweep
from almanac.sweep_backends import describe
from almanac.sweep_task import Result, exp_ref

BASE = "5b5c12af2a08ac8e22dc14751d815610df545683"


def test_the_grid_is_dvcs_expansion_of_the_settings():
    points = sweep.grid(["train.model=logistic,lightgbm", "features.cutoff='10:15','10:30'"])
    assert points == [
        ("train.model=logistic", "features.cutoff='10:15'"),
        ("train.model=logistic", "features.cutoff='10:30'"),
        ("train.model=lightgbm", "features.cutoff='10:15'"),
        ("train.model=lightgbm", "features.cutoff='10:30'"),
    ]
    assert sweep.grid(["synthetic.seed=range(1,4)"]) == [(f"synthetic.seed={s}",) for s in (1, 2, 3)]
    assert sweep.grid(["train.seed=7"]) == [("train.seed=7",)]
    assert sweep.grid([]) == [()]


def test_names_are_fixed_by_the_base_and_the_settings_in_any_order_or_quoting():
    one = sweep.name(BASE, ("train.model=logistic", "features.cutoff='10:15'"))
    assert one.startswith(sweep.PREFIX) and len(one) == len(sweep.PREFIX) + 12
    assert sweep.name(BASE, ("features.cutoff=10:15", "train.model=logistic")) == one
    assert sweep.name(BASE, ('features.cutoff="10:15"', "train.model='logistic'")) == one
    assert sweep.name(BASE, ("train.model=logistic", "features.cutoff='10:30'")) != one
    assert sweep.name("0" * 40, ("train.model=logistic", "features.cutoff='10:15'")) != one
    assert sweep.name(BASE, ("train.seed=1",)) != sweep.name(BASE, ("train.seed='1'",))  # an int is not a str


def test_every_point_of_a_grid_gets_its_own_name():
    points = sweep.grid(["train.model=logistic,lightgbm,xgboost", "synthetic.seed=range(1,21)"])
    assert len({sweep.name(BASE, p) for p in points}) == len(points) == 60


def test_an_experiment_lives_where_dvc_keeps_it():
    assert exp_ref(BASE, "sw-1") == f"refs/exps/5b/{BASE[2:]}/sw-1"


def test_the_plan_runs_only_what_is_neither_here_nor_on_the_remote():
    tasks = [sweep.Task(f"sw-{i}", (), BASE, "", "", "") for i in range(4)]
    plan = sweep.Plan(BASE, tasks, here={"sw-0"}, remote={"sw-2"})
    assert [t.name for t in plan.to_run] == ["sw-1", "sw-3"]


def test_a_finished_task_says_what_happened_and_where_its_log_is():
    done = Result("sw-1", "done", "tcp://127.0.0.1:1", 12.34, "/w/logs/sw-1.log", "", 2_700_000, 40_000)
    assert describe(done, ("train.model=logistic",)) == (
        "sw-1 done in 12.3 s on tcp://127.0.0.1:1: train.model=logistic (fetched 2.7 MB, pushed <= 40 kB)"
    )
    failed = Result("sw-2", "failed", "tcp://127.0.0.1:2", 3.0, "/w/logs/sw-2.log", "ERROR: bad\nmore")
    text = describe(failed, ("train.model=nope",))
    assert text.startswith("sw-2 FAILED train.model=nope (log /w/logs/sw-2.log on tcp://127.0.0.1:2)")
    assert "\n    ERROR: bad\n    more" in text
    assert "already on the remote" in describe(Result("sw-3", "exists", "remote", 0.0), ())


def test_dask_needs_a_scheduler_or_a_local_cluster():
    parser = argparse.ArgumentParser()
    sweep.add_parser(parser.add_subparsers())
    args = parser.parse_args(["sweep", "--backend", "dask", "-S", "train.seed=1,2"])
    with pytest.raises(sweep.SweepError, match="--scheduler tcp://HOST:PORT or --local-cluster N"):
        sweep.command(args)
