"""What the ML Lab keeps between requests, so that no request waits on DVC.

Two background threads per Lab process:

- :class:`ExperimentsCache` holds the experiments table (:func:`almanac.experiments.experiments`: ``dvc exp show``
  plus the trials read from git).  It recomputes it only when the experiments change: it watches a cheap
  fingerprint (the git refs of commits and experiments, ``HEAD``, the workspace's params, lock and metrics, and
  DVC's own experiment run and queue folders) and refreshes when it moves.  A page load reads the table from
  memory.
- :class:`RunQueue` runs the Lab's training requests one at a time, each as ``dvc exp run --temp -n NAME -S ...``
  (DVC's temporary workspace: the user's workspace is never touched), with its output in a log file under
  ``.dvc/tmp/lab/``.  A request returns at once; the queue reports each run's state (queued, running and the
  stage DVC is running, done, failed with its log) and refuses a second request for a config already queued or
  running, so a double click cannot add a duplicate trial to the deflated Sharpe ratio.

Both are plain threads (no task broker): the Lab is one process on the user's machine, and DVC's own queue
(``dvc queue``) starts celery workers that outlive the page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from almanac.experiments import _batch_objects, _git, experiments
from almanac.paths import PipelineFiles

LOG_DIR = Path(".dvc") / "tmp" / "lab"  # inside DVC's own ignored temporary folder
_STAGE = re.compile(r"Running stage '([^']+)'")
PENDING = ("queued", "running")


def _stat(path: Path) -> tuple:
    try:
        s = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path), s.st_mtime_ns, s.st_size)


def fingerprint(repo: Path) -> tuple:
    """What changes when the experiments table would: refs of commits and experiments (one ``git for-each-ref``),
    ``HEAD``, the workspace's params, lock and metrics, and the entries of DVC's experiment run and queue folders
    (names and modification times, not their contents)."""
    refs = _git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps", "refs/heads", "refs/tags")
    head = _git(repo, "rev-parse", "HEAD")
    files = [repo / "params.yaml", repo / "dvc.lock", *sorted((repo / PipelineFiles().metrics).glob("*.json"))]
    queue = []
    for folder in ("run", "celery"):
        root = repo / ".dvc" / "tmp" / "exps" / folder
        if root.is_dir():
            for entry in sorted(root.iterdir()):  # a handful of entries: one per queued or running experiment
                queue.append(_stat(entry))
                if entry.is_dir():
                    queue += [_stat(p) for p in sorted(entry.iterdir())]
    return (refs, head, tuple(_stat(p) for p in files), tuple(queue))


class ExperimentsCache:
    """The experiments table of ``repo``, recomputed in a background thread when :func:`fingerprint` changes (checked
    every ``interval`` seconds) or when :meth:`invalidate` is called."""

    def __init__(self, repo: str | Path, *, interval: float = 1.0, loader=experiments):
        self.repo = Path(repo)
        self.interval = interval
        self._loader = loader
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.table: pd.DataFrame | None = None
        self.error = ""
        self.version = 0
        self.refreshed_at = 0.0
        self.took = 0.0
        self._thread = threading.Thread(target=self._watch, name="lab-experiments", daemon=True)
        self._thread.start()

    def snapshot(self) -> tuple[pd.DataFrame | None, str, int]:
        """``(table, error, version)``: the latest table (None before the first refresh), the error of the latest
        refresh ("" when it worked) and a number that grows at each refresh."""
        with self._lock:
            return self.table, self.error, self.version

    def invalidate(self) -> None:
        """Refresh now (a run of the Lab finished)."""
        self._wake.set()

    def wait(self, version: int = 0, timeout: float = 60) -> bool:
        """Block until a refresh newer than ``version`` has happened (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.snapshot()[2] > version:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        """Stop the watcher thread."""
        self._stop.set()
        self._wake.set()

    def _refresh(self) -> None:
        start = time.monotonic()
        try:
            table, error = self._loader(self.repo), ""
        except Exception as err:  # shown in the page; the previous table stays
            table, error = None, str(err)
        with self._lock:
            if table is not None:
                self.table = table
            self.error = error
            self.version += 1
            self.refreshed_at = time.time()
            self.took = time.monotonic() - start

    def _watch(self) -> None:
        seen = None
        while not self._stop.is_set():
            woken = self._wake.is_set()
            self._wake.clear()
            try:
                now = fingerprint(self.repo)
            except OSError:
                now = None
            if woken or now != seen:
                # ``seen`` is the state *before* the refresh: a change made while DVC lists (an experiment that ends
                # meanwhile) triggers the next refresh instead of being taken for already seen.  ``dvc exp show``
                # itself leaves the fingerprint unchanged, so this does not loop.
                seen = now
                self._refresh()
            self._wake.wait(self.interval)


@dataclasses.dataclass
class LabRun:
    """One training request of the Lab."""

    name: str
    settings: tuple[tuple[str, str], ...]  # (params key, value), sorted: what ``-S`` sets
    log: Path
    state: str = "queued"  # queued, running, done, failed, cancelled
    stage: str = ""  # the stage DVC is running (from its log)
    submitted: float = dataclasses.field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    returncode: int | None = None

    @property
    def changed(self) -> str:
        """The settings as the experiments table shows changed params."""
        return ", ".join(f"{k}={v}" for k, v in self.settings)

    def tail(self, lines: int = 12) -> str:
        """The last ``lines`` lines of the run's log."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


class DuplicateRunError(ValueError):
    """The same config is already queued or running."""


def run_name(settings: tuple[tuple[str, str], ...], taken: set[str]) -> str:
    """``lab-<model>-<digest of the settings>``, with ``-2``, ``-3``... when that name is taken (DVC refuses a
    second experiment of one name on a baseline)."""
    model = dict(settings).get("train.model", "run")
    digest = hashlib.sha256(repr(settings).encode()).hexdigest()[:6]
    base = f"lab-{model}-{digest}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


class RunQueue:
    """The Lab's training runs: ``dvc exp run --temp`` one at a time in a worker thread (see the module docstring).

    ``taken`` returns the experiment names that exist already (the cache's table), so a new run gets a free name;
    ``on_done`` is called after each run ends (the Lab refreshes its experiments cache).
    """

    def __init__(self, repo: str | Path, *, taken=lambda: set(), on_done=lambda: None, command=None):
        self.repo = Path(repo)
        self.log_dir = self.repo / LOG_DIR
        self._taken = taken
        self._on_done = on_done
        self._command = command or (lambda run: [sys.executable, "-m", "dvc", "exp", "run", "--temp", "-n", run.name,
                                                 *[a for k, v in run.settings for a in ("-S", f"{k}={v}")]])  # fmt: skip
        self._lock = threading.Condition()
        self._runs: list[LabRun] = []
        self._process: subprocess.Popen | None = None
        self._stop = False
        self.version = 0
        self._thread = threading.Thread(target=self._work, name="lab-runs", daemon=True)
        self._thread.start()

    def submit(self, settings: dict[str, object]) -> LabRun:
        """Queue a run with ``settings`` (params key -> value); :class:`DuplicateRunError` when the same settings
        are queued or running."""
        key = tuple(sorted((str(k), _text(v)) for k, v in settings.items()))
        with self._lock:
            for run in self._runs:
                if run.settings == key and run.state in PENDING:
                    raise DuplicateRunError(f"{run.name} with {run.changed} is already {run.state}")
            name = run_name(key, set(self._taken()) | {r.name for r in self._runs})
            self.log_dir.mkdir(parents=True, exist_ok=True)
            run = LabRun(name=name, settings=key, log=self.log_dir / f"{name}.log")
            self._runs.append(run)
            self.version += 1
            self._lock.notify_all()
            return run

    def pending(self, settings: dict[str, object]) -> LabRun | None:
        """The queued or running run with exactly ``settings``, if any."""
        key = tuple(sorted((str(k), _text(v)) for k, v in settings.items()))
        with self._lock:
            return next((r for r in self._runs if r.settings == key and r.state in PENDING), None)

    def runs(self) -> tuple[list[LabRun], int]:
        """Copies of every run, oldest first, and the queue's version (grows at each change of state or stage)."""
        with self._lock:
            return [dataclasses.replace(r) for r in self._runs], self.version

    def close(self, timeout: float = 10) -> None:
        """Stop: cancel the queued runs and terminate the running one (its temporary workspace is DVC's to clean)."""
        with self._lock:
            self._stop = True
            for run in self._runs:
                if run.state == "queued":
                    run.state = "cancelled"
            process = self._process
            self._lock.notify_all()
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        self._thread.join(timeout=timeout)

    def _next(self) -> LabRun | None:
        with self._lock:
            while not self._stop:
                run = next((r for r in self._runs if r.state == "queued"), None)
                if run is not None:
                    run.state, run.started = "running", time.time()
                    self.version += 1
                    return run
                self._lock.wait()
            return None

    def _work(self) -> None:
        while (run := self._next()) is not None:
            env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
            with open(run.log, "w", encoding="utf-8") as log:
                try:
                    process = subprocess.Popen(
                        self._command(run), cwd=self.repo, env=env, stdout=log, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )  # fmt: skip
                except OSError as err:
                    log.write(f"could not start DVC: {err}\n")
                    process = None
                with self._lock:
                    self._process = process
                while process is not None and process.poll() is None:
                    if self._stop:  # close() may have come before the process was registered: stop it here too
                        process.terminate()
                        try:
                            process.wait(timeout=10)
                        except subprocess.TimeoutExpired:
                            process.kill()
                        break
                    time.sleep(0.25)
                    self._follow(run)
            self._follow(run)
            with self._lock:
                code = -1 if process is None else process.returncode
                run.returncode, run.ended = code, time.time()
                run.state = "done" if code == 0 else ("cancelled" if self._stop else "failed")
                self._process = None
                self.version += 1
            self._on_done()

    def _follow(self, run: LabRun) -> None:
        """The stage DVC is running, from the last ``Running stage '...'`` line of the run's log."""
        try:
            text = run.log.read_text(errors="replace")
        except OSError:
            return
        stages = _STAGE.findall(text)
        if stages and stages[-1] != run.stage:
            with self._lock:
                live = next(r for r in self._runs if r.name == run.name)
                live.stage = run.stage = stages[-1]
                self.version += 1


def _text(value) -> str:
    """A params value as ``-S`` takes it (YAML: ``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Paths relative to the repository, in POSIX form: also ``git cat-file``'s ``<rev>:<path>`` of another run.
PLOTS = {name: PipelineFiles().plot(name).as_posix() for name in ("roc", "calibration", "equity", "rolling_auc")}


def run_plots(table: pd.DataFrame, names: list[str], repo: str | Path) -> dict[str, dict[str, pd.DataFrame]]:
    """``{plot: {run name: table}}`` of the runs ``names`` (rows of the experiments table): the workspace's from
    disk, every other run's from git (DVC keeps ``plots/`` in git: ``cache: false``), one ``git cat-file`` for all.
    A run without a plot file is left out of that plot."""
    import io

    repo = Path(repo)
    out: dict[str, dict[str, pd.DataFrame]] = {plot: {} for plot in PLOTS}
    wanted = []
    for name in names:
        rows = table.loc[table["name"] == name]
        if rows.empty:
            continue
        row = rows.iloc[0]
        for plot, path in PLOTS.items():
            if row["kind"] == "workspace":
                if (repo / path).is_file():
                    out[plot][name] = pd.read_csv(repo / path)
            elif row["full_rev"]:
                wanted.append((plot, name, f"{row['full_rev']}:{path}"))
    if wanted:
        printed = _git(repo, "cat-file", "--batch", stdin="\n".join(w[2] for w in wanted) + "\n")
        for (plot, name, _), text in zip(wanted, _batch_objects(printed), strict=False):
            if text:
                out[plot][name] = pd.read_csv(io.StringIO(text))
    return out
