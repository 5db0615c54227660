"""``almanac sweep`` on a Dask LocalCluster: two worker processes on 127.0.0.1, a bare git repository in a temporary
folder as the git remote and a local folder as the DVC remote.  One sweep goes through the faults a cluster has
(a worker killed mid-run, Ctrl-C, a failing experiment, the command run again) and must still end with every
experiment exactly once, byte-identical to the same experiments run with plain ``dvc exp run``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import dvc_repository

pytestmark = pytest.mark.pipeline

BIN = Path(sys.executable).parent
DVC = [sys.executable, "-m", "dvc"]
# Four experiments in which only the backtest reruns: what is tested is the sweep's machinery, not training's cost.
GRID = ["-S", "backtest.threshold=0.55,0.6", "-S", "backtest.commission_usd=2.5,5.0"]
GOOD = [(f"backtest.threshold={t}", f"backtest.commission_usd={c}") for t in ("0.55", "0.6") for c in ("2.5", "5.0")]
COMPARED = ("dvc.lock", "metrics/train.json", "metrics/evaluate.json", "metrics/backtest.json", "metrics/audit.json")


def run(args: list[str], cwd: Path, env: dict, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)
    if ok:
        assert done.returncode == 0, f"{' '.join(map(str, args))}: {done.stdout}{done.stderr}"
    return done


def sweep_command(*extra: str) -> list[str]:
    return [str(BIN / "almanac"), "sweep", "--local-cluster", "2", *GRID, *extra]


def _busy_worker(repo: Path, seen: set[str], timeout: float = 240) -> tuple[str, int]:
    """The first task (name, worker pid) whose `dvc exp run` is running a stage, not one of ``seen``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for busy in (repo / ".dvc" / "tmp" / "sweep").glob("**/almanac-sweep/*/busy"):
            try:
                name, pid = busy.read_text().split()
            except (FileNotFoundError, ValueError):
                continue
            log = busy.parent / "logs" / f"{name}.log"
            if name not in seen and log.exists() and "Running stage" in log.read_text(errors="replace"):
                return name, int(pid)
        time.sleep(0.2)
    raise AssertionError("no worker ran a stage")


def _wait_for(path: Path, text: str, process: subprocess.Popen, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = path.read_text()
        if text in out:
            return out
        assert process.poll() is None, f"the sweep ended before {text!r}:\n{out}"
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} in:\n{path.read_text()}")


def _exps(repo: Path, env: dict) -> dict[str, str]:
    refs = run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], repo, env).stdout.split()
    return {ref.rsplit("/", 1)[1]: ref for ref in refs if "/exec/" not in ref}


def test_a_sweep_waits_for_its_base_survives_a_killed_worker_and_ctrl_c_and_equals_plain_dvc_exp_run(tmp_path):
    root = tmp_path
    repo, env = dvc_repository(root / "repo")
    run(["git", "init", "-q", "--bare", str(root / "origin.git")], root, env)
    run(["git", "remote", "add", "origin", str(root / "origin.git")], repo, env)
    run([*DVC, "remote", "add", "-d", "store", str(root / "store")], repo, env)
    run(["git", "commit", "-qam", "the DVC remote"], repo, env)

    # Before workers could start from it, the sweep says what to run, and starts nothing.
    done = run(sweep_command(), repo, env, ok=False)
    assert done.returncode == 2 and "is not on the git remote 'origin'" in done.stderr
    assert "git push origin HEAD" in done.stderr
    run(["git", "push", "-q", "origin", "HEAD:main"], repo, env)
    done = run(sweep_command(), repo, env, ok=False)
    assert done.returncode == 2 and "not in the DVC remote 'store'" in done.stderr
    assert "dvc push -r store" in done.stderr
    params = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(params.replace("seed: 42", "seed: 43"))
    done = run(sweep_command(), repo, env, ok=False)
    assert done.returncode == 2 and "params.yaml differs from the last commit" in done.stderr
    (repo / "params.yaml").write_text(params)
    assert not _exps(repo, env), "nothing may start before the checks pass"
    run([*DVC, "push", "-q"], repo, env)

    out = tmp_path / "sweep.log"
    with out.open("w") as log:  # a session of its own: Ctrl-C below goes to it and its workers, as from a terminal
        first = subprocess.Popen(sweep_command(), cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)  # fmt: skip
    try:
        killed, pid = _busy_worker(repo, set())
        os.kill(pid, signal.SIGKILL)  # mid-run: its task goes to the other worker (the nanny restarts this one)
        _wait_for(out, " done in ", first)
        os.killpg(first.pid, signal.SIGINT)
        assert first.wait(timeout=120) == 130, out.read_text()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    text = out.read_text()
    assert "sweep interrupted" in text and "cancelled" in text
    pulled = _exps(repo, env)
    assert pulled, "the experiments that finished before Ctrl-C are pulled"

    again = run(sweep_command(), repo, env, ok=False)  # the same command finishes the sweep
    assert again.returncode == 0, again.stdout + again.stderr
    names = _exps(repo, env)
    assert len(names) == 4 and set(pulled) <= set(names), again.stdout
    on_remote = run(["git", "ls-remote", str(root / "origin.git"), "refs/exps/*"], repo, env).stdout.splitlines()
    assert sorted(line.rsplit("/", 1)[1] for line in on_remote) == sorted(names)  # each exactly once
    assert killed in names
    for name in names:
        assert f"{name} " in again.stdout  # listed, whether run now or before
    assert "DSR" in again.stdout

    # The same four experiments with plain `dvc exp run`, in the client's workspace.
    from almanac.sweep import name as sweep_name

    base = run(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()
    for i, settings in enumerate(GOOD):  # each from the base, as a fresh clone would run it (the registry appends)
        run(["git", "reset", "-q", "--hard", "HEAD"], repo, env)
        run([*DVC, "checkout", "-q", "--force"], repo, env)
        run([*DVC, "exp", "run", "-q", "-n", f"plain-{i}", *[w for s in settings for w in ("-S", s)]], repo, env)
        ref_plain, ref_sweep = _exps(repo, env)[f"plain-{i}"], names[sweep_name(base, settings)]
        for path in COMPARED:
            plain = run(["git", "show", f"{ref_plain}:{path}"], repo, env).stdout
            swept = run(["git", "show", f"{ref_sweep}:{path}"], repo, env).stdout
            assert plain == swept, f"{settings} {path}"
    listed = run([str(BIN / "almanac"), "exps", "--all"], repo, env).stdout
    assert all(name in listed for name in names)

    # A failed experiment is a result with its log, not an exception the scheduler would retry; nothing is pushed.
    import dataclasses

    from almanac.sweep import plan
    from almanac.sweep_task import run_task

    run(["git", "reset", "-q", "--hard", "HEAD"], repo, env)  # the plain runs applied their params
    (task,) = plan(repo, ["backtest.threshold=1.5"], backend="dask").tasks  # above 1: check_params refuses it
    failed = run_task(dataclasses.replace(task, workdir=str(tmp_path / "worker")))
    assert failed.status == "failed" and Path(failed.log).is_file(), failed
    assert "backtest.threshold" in failed.tail and "backtest.threshold" in Path(failed.log).read_text()
    assert task.name not in run(["git", "ls-remote", str(root / "origin.git")], repo, env).stdout
