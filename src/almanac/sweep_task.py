"""One experiment of a distributed sweep, as a worker runs it (``almanac sweep --backend dask``).

A worker keeps a clone of the repository from the sweep's git remote (one per worker, reused across tasks), checks
out the sweep's base commit, fetches the base's outputs from the DVC remote (so unchanged stages are checked out,
not recomputed), runs ``dvc exp run -n NAME -S ...`` and pushes the experiment: its git ref to the git remote and
its outputs to the DVC remote (``dvc exp push``).  The client then pulls it.

Exactly once: the experiment's name is fixed by the base commit and the settings (:func:`almanac.sweep.name`), a
task first asks the git remote for that name and returns ``"exists"`` when it is there (a task retried after its
worker died past the push), and a second push of the same name is refused by git.  A failed experiment is a
result, not an exception (``"failed"`` with the log's path and tail), so the scheduler does not retry a
deterministic failure; a worker that dies mid-task is the scheduler's to retry on another worker.

This module imports the standard library only: a worker unpickles :func:`run_task` without pandas or DVC's Python
API, and every git and DVC step is a subprocess with an argument list (no shell).
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

EXPS_REFS = "refs/exps"  # where DVC keeps experiments: refs/exps/<base[:2]>/<base[2:]>/<name>
LOG_TAIL = 20  # lines of a failed experiment's log sent back to the client


@dataclasses.dataclass(frozen=True)
class Task:
    """What a worker needs to run one experiment; every field is plain data (pickled to the worker)."""

    name: str  # the experiment's name (deterministic: almanac.sweep.name)
    overrides: tuple[str, ...]  # DVC -S settings, one value each: ("train.model=lightgbm", ...)
    base: str  # the commit every experiment of the sweep starts from (full sha)
    git_url: str  # the git remote the workers clone and push to
    dvc_remote: str  # the DVC remote's name ...
    dvc_url: str  # ... and its URL (set in the clone's config.local: it may live in the client's only)
    workdir: str = ""  # where the worker keeps its clone and logs; "" = the Dask worker's local directory


@dataclasses.dataclass(frozen=True)
class Result:
    """What came of a task: ``status`` is ``done``, ``exists`` (on the git remote already) or ``failed``."""

    name: str
    status: str
    worker: str
    seconds: float
    log: str = ""  # the experiment's log on the worker's machine
    tail: str = ""  # its last lines when it failed
    fetched_bytes: int = 0  # DVC cache bytes the worker fetched from the DVC remote for this task
    produced_bytes: int = 0  # DVC cache bytes the run created: what `dvc exp push` sends at most
    git_bytes: int = 0  # the clone's object store growth (git fetch and the experiment's commit)


def exp_ref(base: str, name: str) -> str:
    """The git ref DVC stores experiment ``name`` of commit ``base`` under."""
    return f"{EXPS_REFS}/{base[:2]}/{base[2:]}/{name}"


try:  # resolved here, in the parent: the child between fork and exec only calls it (no dlopen, no import)
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: a killed worker's run finishes on its own
    _PRCTL = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGKILL when the worker that started it dies (a killed worker leaves no orphan run)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _environment(repo: Path) -> dict:
    """The stages run the base commit's code (``PYTHONPATH=<clone>/src``) with this interpreter's tools."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(repo / "src"),
        "GIT_TERMINAL_PROMPT": "0",
    }


def run_command(args: list[str], cwd: Path, env: dict, *, log=None) -> subprocess.CompletedProcess:
    """Run ``args`` in ``cwd``; with ``log`` (an open file) its output goes there and the caller reads the exit code,
    without it a failure raises :class:`RuntimeError` with the command's message.  The command runs in a session
    of its own (a terminal's Ctrl-C reaches the sweep's client, which cancels; not each run) and dies with this
    process."""
    if log is not None:  # the experiment itself: its whole output to the log file
        return subprocess.run(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
                              preexec_fn=_die_with_parent, start_new_session=True)  # fmt: skip
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          preexec_fn=_die_with_parent, start_new_session=True)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} (in {cwd}): {(done.stderr or done.stdout).strip()[-2000:]}")
    return done


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def _worker_directory(task: Task) -> tuple[Path, str]:
    """This worker's own folder (its clone and logs) and its address, inside or outside a Dask worker."""
    try:
        from distributed import get_worker

        worker = get_worker()
        name, address, local = str(worker.name), worker.address, worker.local_directory
    except (ImportError, ValueError):  # called outside a worker: the tests' plain call, a debugging session
        name, address, local = f"pid{os.getpid()}", f"pid {os.getpid()}", os.getcwd()
    root = Path(task.workdir or local) / "almanac-sweep" / "".join(c if c.isalnum() else "-" for c in name)
    root.mkdir(parents=True, exist_ok=True)
    return root, address


def _clone(task: Task, root: Path, env: dict) -> Path:
    """The worker's clone at the base commit, clean; a fresh clone when the last task here died mid-run."""
    repo, busy = root / "repo", root / "busy"
    if busy.exists() and repo.exists():  # the worker was killed during a task: its clone is in an unknown state
        aside = root / f"abandoned-{time.time_ns()}"
        repo.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    busy.write_text(f"{task.name} {os.getpid()}\n")  # what runs here, and which process runs it
    if not (repo / ".git").exists():
        run_command(["git", "clone", "-q", "--no-checkout", task.git_url, str(repo)], root, env)
        run_command(["git", "config", "user.name", "almanac sweep"], repo, env)  # the experiments' commits
        run_command(["git", "config", "user.email", "sweep@almanac-futures.invalid"], repo, env)
    run_command(["git", "fetch", "-q", "origin"], repo, env)
    run_command(["git", "checkout", "-q", "--force", "--detach", task.base], repo, env)
    run_command(["git", "clean", "-q", "-fd"], repo, env)
    dvc = [sys.executable, "-m", "dvc"]
    run_command([*dvc, "remote", "add", "--local", "--force", task.dvc_remote, task.dvc_url], repo, env)
    return repo


def remote_names(git_url: str, base: str, *, env: dict | None = None) -> set[str]:
    """Names of ``base``'s experiments on the git remote."""
    listed = run_command(["git", "ls-remote", git_url, exp_ref(base, "*")], Path.cwd(), env or _environment(Path.cwd()))
    return {line.rsplit("/", 1)[1] for line in listed.stdout.splitlines() if line.strip()}


def run_task(task: Task) -> Result:
    """Run one experiment on this worker and push it; see the module's docstring."""
    started = time.monotonic()
    root, address = _worker_directory(task)
    env = _environment(root / "repo")
    if task.name in remote_names(task.git_url, task.base, env=env):
        return Result(task.name, "exists", address, round(time.monotonic() - started, 2))
    repo = _clone(task, root, env)
    dvc = [sys.executable, "-m", "dvc"]
    cache, git_objects = repo / ".dvc" / "cache", repo / ".git" / "objects"
    before_pull, git_before = _size(cache), _size(git_objects)
    run_command([*dvc, "pull", "-q", "--force", "-r", task.dvc_remote], repo, env)
    after_pull = _size(cache)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    log = logs / f"{task.name}.log"
    settings = [word for override in task.overrides for word in ("-S", override)]
    with log.open("w") as out:
        done = run_command([*dvc, "exp", "run", "-n", task.name, *settings], repo, env, log=out)
    if done.returncode != 0:
        (root / "busy").unlink()
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-LOG_TAIL:])
        return Result(task.name, "failed", address, round(time.monotonic() - started, 2), str(log), tail,
                      after_pull - before_pull)  # fmt: skip
    produced = _size(cache) - after_pull
    try:
        run_command([*dvc, "exp", "push", "-r", task.dvc_remote, "origin", task.name], repo, env)
    except RuntimeError:
        if task.name not in remote_names(task.git_url, task.base, env=env):
            raise
        (root / "busy").unlink()  # another run of this task pushed first (git refused the second): one experiment
        return Result(task.name, "exists", address, round(time.monotonic() - started, 2), str(log))
    (root / "busy").unlink()
    return Result(task.name, "done", address, round(time.monotonic() - started, 2), str(log), "",
                  after_pull - before_pull, produced, _size(git_objects) - git_before)  # fmt: skip
