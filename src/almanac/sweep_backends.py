"""The two ways :mod:`almanac.sweep` runs its experiments: DVC's queue on this machine (:func:`run_local`) and
Dask (:func:`run_dask`: one :func:`almanac.sweep_task.run_task` per experiment on a scheduler or a LocalCluster on
127.0.0.1, each finished experiment pulled here as it ends), and how a finished task is reported (:func:`describe`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from almanac.sweep_task import Result, Task, run_command


class SweepError(RuntimeError):
    """The sweep cannot start; the message says what to run."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C: queued tasks were cancelled; ``results`` holds what finished (pulled) before it."""

    def __init__(self, results: list[Result], cancelled: list[str]):
        super().__init__(f"{len(cancelled)} experiments cancelled")
        self.results, self.cancelled = results, cancelled


def dvc(*args: str, repo: Path) -> str:
    """``dvc ARGS`` in ``repo`` (:func:`almanac.experiments.dvc`, imported on use: the CLI starts without pandas)."""
    from almanac.experiments import dvc as run_dvc

    return run_dvc(*args, repo=repo)


def command_environment() -> dict:
    """This process's environment for git and DVC: no analytics, no password prompt (a sweep runs unattended)."""
    return {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}


def _size(number: int) -> str:
    return f"{number / 1e6:.1f} MB" if number >= 100_000 else f"{number / 1e3:.0f} kB"


def describe(result: Result, overrides: tuple[str, ...]) -> str:
    """One line for a finished task."""
    settings = " ".join(overrides) or "(base params)"
    if result.status == "failed":
        where = f"log {result.log} on {result.worker}" if result.log else f"on {result.worker}"
        return f"{result.name} FAILED {settings} ({where})\n    " + result.tail.replace("\n", "\n    ")
    if result.status == "exists":
        return f"{result.name} already on the remote: {settings} (pulled, not run again)"
    moved = f"fetched {_size(result.fetched_bytes)}, pushed <= {_size(result.produced_bytes)}"
    return f"{result.name} done in {result.seconds:.1f} s on {result.worker}: {settings} ({moved})"


def run_dask(repo: Path, tasks: list[Task], *, scheduler: str | None = None, local_cluster: int = 0,
             retries: int = 1, pull_cache: bool = True, git_remote: str = "origin",
             echo: Callable[[str], None] = print) -> list[Result]:  # fmt: skip
    """Run ``tasks`` on Dask, pulling each finished experiment; see the module's docstring."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:  # workers on this machine: their clones and logs stay in .dvc/tmp (a rerun reuses them)
        scratch = repo.resolve() / ".dvc" / "tmp" / "sweep"
        scratch.mkdir(parents=True, exist_ok=True)
        tasks = [t if t.workdir else dataclasses.replace(t, workdir=str(scratch / "workers")) for t in tasks]
        cluster = LocalCluster(n_workers=local_cluster, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0", local_directory=str(scratch),
                               silence_logs=logging.ERROR)  # fmt: skip
    client = Client(cluster or scheduler, timeout=60)
    echo(f"sweep: {len(tasks)} experiments on {cluster.scheduler_address if cluster else scheduler} "
         f"({len(client.scheduler_info()['workers'])} workers)")  # fmt: skip
    token = uuid.uuid4().hex[:8]  # a second sweep on the same scheduler gets new tasks, not the old results
    futures = {client.submit(_task_entry, task, key=f"almanac-sweep-{task.name}-{token}", pure=False,
                             retries=retries): task for task in tasks}  # fmt: skip
    results: list[Result] = []
    try:
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as err:  # the task raised on every try, or its workers kept dying (KilledWorker)
                result = Result(task.name, "failed", "", 0.0, tail=f"{type(err).__name__}: {err}")
            if result.status != "failed":
                pull(repo, git_remote, task, with_cache=pull_cache)
            results.append(result)
            echo(f"[{len(results)}/{len(tasks)}] " + describe(result, task.overrides))
    except KeyboardInterrupt:
        finished = {result.name for result in results}
        left = [future for future, task in futures.items() if task.name not in finished]
        client.cancel(left)  # queued ones never start; a running one may still push (a rerun pulls it, not reruns)
        raise SweepInterrupted(results, [futures[f].name for f in left]) from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results


def _task_entry(task: Task) -> Result:
    from almanac.sweep_task import run_task

    return run_task(task)


def pull(repo: Path, git_remote: str, task: Task, *, with_cache: bool = True) -> None:
    """Bring a finished experiment here: its git ref and, with ``with_cache``, its outputs."""
    dvc("exp", "pull", *([] if with_cache else ["--no-cache"]), "-r", task.dvc_remote, git_remote, task.name,
        repo=repo)  # fmt: skip


def run_local(repo: Path, tasks: list[Task], *, jobs: int = 2, poll: float = 5.0,
              echo: Callable[[str], None] = print) -> list[Result]:  # fmt: skip
    """Run ``tasks`` with DVC's queue on this machine, ``jobs`` at a time."""
    started = time.monotonic()
    dvc("queue", "remove", "--success", "--failed", repo=repo)  # earlier sweeps' finished tasks (their runs stay)
    for task in tasks:
        dvc("exp", "run", "--queue", "-n", task.name, *[w for o in task.overrides for w in ("-S", o)], repo=repo)
    scratch = repo / ".dvc" / "tmp" / "sweep"
    scratch.mkdir(parents=True, exist_ok=True)
    with (scratch / "queue-start.log").open("w") as log:  # a file, not a pipe: the workers it starts inherit it
        started_queue = run_command([sys.executable, "-m", "dvc", "queue", "start", "-j", str(jobs)], repo, command_environment(),
                                    log=log)  # fmt: skip
    if started_queue.returncode != 0:
        raise SweepError(f"dvc queue start failed: see {scratch / 'queue-start.log'}")
    names = {task.name for task in tasks}
    try:
        while True:
            states = _queue_states(repo, names)
            running = [n for n, state in states.items() if state in ("Queued", "Running")]
            echo(f"{time.strftime('%H:%M:%S')} sweep: {len(states) - len(running)} done, "
                 f"{sum(s == 'Running' for s in states.values())} running, "
                 f"{sum(s == 'Queued' for s in states.values())} queued")  # fmt: skip
            if not running:
                break
            time.sleep(poll)
    except KeyboardInterrupt:
        dvc("queue", "remove", "--queued", repo=repo)
        dvc("queue", "kill", *[n for n, s in _queue_states(repo, names).items() if s == "Running"], repo=repo)
        raise SweepInterrupted([], sorted(names)) from None
    finally:
        dvc("queue", "stop", repo=repo)
    seconds = round(time.monotonic() - started, 2)
    results = []
    for task in tasks:
        state = states.get(task.name, "Failed")
        log = f"dvc queue logs {task.name}"
        results.append(Result(task.name, "done" if state == "Success" else "failed", "this machine", seconds,
                              log=log if state != "Success" else ""))  # fmt: skip
    return results


def _queue_states(repo: Path, names: set[str]) -> dict[str, str]:
    """``dvc queue status`` as name -> Queued | Running | Success | Failed, for the sweep's names."""
    states = {}
    for line in dvc("queue", "status", repo=repo).splitlines():
        words = line.split()
        if len(words) >= 3 and words[1] in names:
            states[words[1]] = words[-1]
    return states
