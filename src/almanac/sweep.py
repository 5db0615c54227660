"""``almanac sweep``: a grid of DVC experiments, on this machine (DVC's queue) or on a Dask cluster.

The grid is DVC's ``-S`` syntax, expanded by DVC's own Hydra sweeper (``-S train.model=logistic,lightgbm
-S features.cutoff=10:15,10:30`` is four experiments), so a sweep means what ``dvc exp run --queue -S`` means.
Every experiment gets a name fixed by the base commit and its settings (:func:`name`): a sweep run twice, or a
task retried, never makes a second experiment.  Two backends:

- ``local``: DVC's queue on this machine (``dvc exp run --queue`` per experiment, ``dvc queue start -j N``).
- ``dask``: one Dask task per experiment (:func:`almanac.sweep_task.run_task`) on a scheduler (``--scheduler``)
  or on a ``LocalCluster`` of ``N`` worker processes on 127.0.0.1 (``--local-cluster N``).  Workers clone the git
  remote, fetch the base's outputs from the DVC remote and push each experiment back; this client pulls each one
  as it finishes, so at the end the experiments are here like any other (``dvc exp show``, ``almanac exps``, the
  ML Lab, the deflated Sharpe ratio's count of runs tried).

Before a Dask sweep starts, :func:`check_base` makes sure the workers can start from the base: the params are
the commit's, the commit is on the git remote, and its outputs are in the DVC remote; it says what to run if not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from almanac.sweep_backends import SweepError, SweepInterrupted, command_environment, dvc, pull, run_dask, run_local
from almanac.sweep_task import Result, Task, exp_ref, remote_names, run_command

PREFIX = "sw-"  # experiment names of sweeps: sw-<12 hex digits of sha256(base commit, sorted settings)>
TRACKED = ("params.yaml", "dvc.yaml", "dvc.lock")  # must equal the base commit's: the experiments start from it


def grid(settings: list[str]) -> list[tuple[str, ...]]:
    """The experiments of ``-S`` settings, as ``dvc exp run --queue -S ...`` expands them (DVC's Hydra sweeper)."""
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import get_hydra_sweeps

    if not settings:
        return [()]
    points = get_hydra_sweeps(to_path_overrides(settings))
    return [
        tuple(override if path == "params.yaml" else f"{path}:{override}" for path, overrides in point.items()
              for override in overrides)
        for point in points
    ]  # fmt: skip


def _canonical(override: str) -> str:
    """``key=value`` with the value as Hydra reads it, so ``cutoff='10:15'`` and ``cutoff=10:15`` are one run."""
    from dvc.utils.hydra import to_hydra_overrides

    path, _, text = override.rpartition(":") if ":" in override.split("=", 1)[0] else ("", "", override)
    (parsed,) = to_hydra_overrides([text])
    return f"{path}:{parsed.key_or_group}={json.dumps(parsed.value(), sort_keys=True, default=str)}"


def name(base: str, overrides: tuple[str, ...]) -> str:
    """The experiment's name: fixed by the base commit and the settings (in any order, however quoted)."""
    text = "\n".join([base, *sorted(_canonical(o) for o in overrides)])
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()[:12]


def _git(repo: Path, *args: str) -> str:
    return run_command(["git", *args], repo, command_environment()).stdout.strip()


def git_url(repo: Path, remote: str) -> str:
    """The URL of git remote ``remote``; a local path made absolute (workers clone it from elsewhere)."""
    try:
        url = _git(repo, "remote", "get-url", remote)
    except RuntimeError:
        raise SweepError(f"no git remote {remote!r}: add the remote the workers clone from, e.g. "
                         f"`git remote add {remote} <url>` (--git-remote names another)") from None  # fmt: skip
    if "://" not in url and not url.startswith("git@") and not Path(url).is_absolute():
        url = str((repo / url).resolve())
    return url


def dvc_url(repo: Path, remote: str | None) -> tuple[str, str]:
    """The DVC remote's name (``remote`` or the default) and URL; a local path made absolute."""
    from almanac.experiments import DvcError

    try:
        remote = remote or dvc("remote", "default", repo=repo).strip()
    except DvcError:  # DVC says "No default remote set" with a failing exit
        remote = ""
    if not remote:
        raise SweepError("no DVC remote: the workers fetch and push outputs through one; add it with "
                         "`dvc remote add -d store s3://bucket/path` (or a shared folder) and `dvc push`")  # fmt: skip
    try:
        url = dvc("config", f"remote.{remote}.url", repo=repo).strip()
    except DvcError:
        url = ""
    if not url:
        raise SweepError(f"no DVC remote {remote!r}: see `dvc remote list`")
    if "://" not in url and not Path(url).is_absolute():  # DVC reads a relative path from the config's folder
        url = str((repo / ".dvc" / url).resolve())
    return remote, url


def _committed(repo: Path, paths: tuple[str, ...]) -> str:
    """HEAD's sha, once ``paths`` are checked to be HEAD's: the experiments start from the commit."""
    changed = _git(repo, "diff", "--name-only", "HEAD", "--", *paths).split()
    if changed:
        raise SweepError(f"{', '.join(changed)} {'differs' if len(changed) == 1 else 'differ'} from the last commit "
                         "(a previous `dvc exp run` applied its settings?): commit, or restore with "
                         f"`git checkout {' '.join(changed)}`, then run the sweep again")  # fmt: skip
    return _git(repo, "rev-parse", "HEAD")


def check_base(repo: Path, git_remote: str, dvc_remote: str | None) -> tuple[str, str, str, str]:
    """Check that workers can start from HEAD; returns ``(base, git_url, dvc_remote, dvc_url)``."""
    base = _committed(repo, TRACKED)
    url = git_url(repo, git_remote)
    _git(repo, "fetch", "-q", git_remote)
    if not _git(repo, "branch", "-r", "--contains", base, "--list", f"{git_remote}/*"):
        raise SweepError(f"the base commit {base[:7]} is not on the git remote {git_remote!r}: the workers clone "
                         f"it from there; run `git push {git_remote} HEAD`")  # fmt: skip
    remote, durl = dvc_url(repo, dvc_remote)
    status = json.loads(dvc("status", "--cloud", "-r", remote, "--json", repo=repo) or "{}")
    missing = sorted(path for path, state in status.items() if state != "deleted")  # "deleted": not checked out here
    if missing:
        raise SweepError(f"{len(missing)} outputs of {base[:7]} are not in the DVC remote {remote!r} "
                         f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): the workers fetch them "
                         f"from there; run `dvc push -r {remote}` (after `dvc repro` if they are not built)")  # fmt: skip
    return base, url, remote, durl


def local_names(repo: Path, base: str) -> set[str]:
    """Names of ``base``'s experiments in this repository."""
    refs = _git(repo, "for-each-ref", "--format=%(refname)", exp_ref(base, ""))
    return {ref.rsplit("/", 1)[1] for ref in refs.splitlines() if ref}


@dataclasses.dataclass
class Plan:
    """A sweep, decided: the base commit, every experiment's task, and the ones that need no run."""

    base: str
    tasks: list[Task]
    here: set[str]  # already in this repository
    remote: set[str]  # on the git remote, not here: pulled without a run

    @property
    def to_run(self) -> list[Task]:
        """The tasks to run: neither here nor on the remote."""
        return [t for t in self.tasks if t.name not in self.here and t.name not in self.remote]


def plan(repo: Path, settings: list[str], *, backend: str, git_remote: str = "origin",
         dvc_remote: str | None = None, workdir: str = "") -> Plan:  # fmt: skip
    """Expand and name the grid; for Dask, check the base (:func:`check_base`) and what the remote has."""
    points = grid(settings)
    if backend == "local":
        base = _committed(repo, ("params.yaml",))  # queued runs start from the workspace's params
        tasks = [Task(name(base, p), p, base, "", "", "", workdir) for p in points]
        return Plan(base, tasks, local_names(repo, base), set())
    base, url, remote, durl = check_base(repo, git_remote, dvc_remote)
    tasks = [Task(name(base, p), p, base, url, remote, durl, workdir) for p in points]
    here = local_names(repo, base)
    return Plan(base, tasks, here, remote_names(url, base) - here)


def main_sweep(repo: Path, settings: list[str], *, backend: str, jobs: int = 2, scheduler: str | None = None,
               local_cluster: int = 0, git_remote: str = "origin", dvc_remote: str | None = None,
               workdir: str = "", retries: int = 1, pull_cache: bool = True,
               echo: Callable[[str], None] = print) -> list[Result]:  # fmt: skip
    """Plan and run a sweep; returns one result per experiment of the grid (the ones already here included)."""
    decided = plan(repo, settings, backend=backend, git_remote=git_remote, dvc_remote=dvc_remote, workdir=workdir)
    by_name = {t.name: t for t in decided.tasks}
    if len(by_name) < len(decided.tasks):
        echo(f"sweep: {len(decided.tasks) - len(by_name)} settings repeat another's: one experiment each")
    results = [Result(n, "exists", "here", 0.0) for n in sorted(decided.here & set(by_name))]
    for n in sorted(decided.remote & set(by_name)):
        pull(repo, git_remote, by_name[n], with_cache=pull_cache)
        results.append(Result(n, "exists", "remote", 0.0))
    if results:
        echo(f"sweep: {len(results)} of {len(by_name)} experiments exist already (here or on the remote)")
    todo = list({t.name: t for t in decided.to_run}.values())
    if todo and backend == "local":
        results += run_local(repo, todo, jobs=jobs, echo=echo)
    elif todo:
        results += run_dask(repo, todo, scheduler=scheduler, local_cluster=local_cluster, retries=retries,
                            pull_cache=pull_cache, git_remote=git_remote, echo=echo)  # fmt: skip
    return results


def add_parser(sub) -> None:
    """``almanac sweep``'s arguments, on the CLI's subparsers."""
    sweep = sub.add_parser(
        "sweep",
        help="a grid of DVC experiments (-S key=a,b ...) on DVC's queue or a Dask cluster; then the table",
        description="Expand the -S grid as `dvc exp run --queue` does, name every experiment from the base commit "
        "and its settings (a rerun or a retry never makes a second one), run them, and print `almanac exps`. "
        "--backend dask: workers clone the git remote at HEAD, fetch its outputs from the DVC remote, run "
        "`dvc exp run` and `dvc exp push`; each finished experiment is pulled here. HEAD must be on the git remote "
        "and its outputs in the DVC remote (the command checks and says what to run).",
    )
    sweep.add_argument("-S", "--set-param", dest="settings", action="append", default=[], metavar="KEY=A,B",
                       help="a params key and its values, DVC's syntax (repeat for a grid)")  # fmt: skip
    sweep.add_argument("--backend", choices=("local", "dask"), default=None,
                       help="local: DVC's queue here; dask: a Dask cluster (default: dask when --scheduler or "
                       "--local-cluster is given, else local)")  # fmt: skip
    sweep.add_argument("-j", "--jobs", type=int, default=2, help="local: experiments at a time (default 2)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="dask: the scheduler of a running cluster")
    where.add_argument("--local-cluster", type=int, metavar="N", default=0,
                       help="dask: start a LocalCluster of N worker processes on 127.0.0.1")  # fmt: skip
    sweep.add_argument("--git-remote", default="origin", help="dask: the git remote workers clone (default origin)")
    sweep.add_argument("--dvc-remote", default=None, help="dask: the DVC remote (default: DVC's default remote)")
    sweep.add_argument("--workdir", default="",
                       help="dask: where each worker keeps its clone and logs (default: the worker's local "
                       "directory)")  # fmt: skip
    sweep.add_argument(
        "--retries",
        type=int,
        default=1,
        help="dask: retries of a task that raised (a worker that died is retried regardless)",
    )
    sweep.add_argument(
        "--no-cache",
        action="store_true",
        help="dask: pull the experiments' git refs only (metrics, params, plots), not their outputs",
    )
    sweep.set_defaults(func=command)


def command(args) -> int:
    """Run ``almanac sweep``; 1 when an experiment failed, 130 on Ctrl-C (finished experiments are kept)."""
    backend = args.backend or ("dask" if args.scheduler or args.local_cluster else "local")
    if backend == "dask" and not (args.scheduler or args.local_cluster):
        raise SweepError("--backend dask needs --scheduler tcp://HOST:PORT or --local-cluster N")
    started = time.monotonic()
    try:
        results = main_sweep(Path("."), args.settings, backend=backend, jobs=args.jobs, scheduler=args.scheduler,
                             local_cluster=args.local_cluster, git_remote=args.git_remote,
                             dvc_remote=args.dvc_remote, workdir=args.workdir, retries=args.retries,
                             pull_cache=not args.no_cache)  # fmt: skip
    except SweepInterrupted as stop:
        print(f"sweep interrupted: {len(stop.results)} experiments finished and pulled; {len(stop.cancelled)} "
              "cancelled (run the same command again to finish them: finished ones are not run twice)",
              file=sys.stderr)  # fmt: skip
        return 130
    failed = [r for r in results if r.status == "failed"]
    ran = [r for r in results if r.status == "done"]
    minutes = (time.monotonic() - started) / 60
    print(f"sweep: {len(results)} experiments, {len(ran)} run ({len(ran) / minutes:.1f} a minute), "
          f"{len(results) - len(ran) - len(failed)} there already, {len(failed)} failed")  # fmt: skip
    from almanac.exp_table import text_table
    from almanac.experiments import experiments

    print(text_table(experiments(".")), end="")
    return 1 if failed else 0
