"""Sweep throughput: the same 6 experiments with DVC's queue (``-j 2``) and on a Dask LocalCluster of 2 workers.

In a scratch clone of the committed repository on the default params (9 years): a bare git repository as the git
remote, a folder as the DVC remote holding the base's outputs (taken from this checkout's DVC cache, or rebuilt by
``dvc repro`` when it lacks them).  The grid retrains every run (``train.model`` x ``train.seed``); the queue
runs first, its experiments are removed, then the Dask sweep runs the same names.  Reported: wall time,
experiments a minute, and what each Dask task moved through the remotes (the DVC cache bytes it fetched, the bytes
its run added to the cache, which ``dvc exp push`` sends at most, and its clone's git object growth).  The queue
moves nothing through remotes: its runs share this machine's cache.

    python benchmarks/sweep.py [--out benchmarks/results.md]   # replaces the sweep block of results.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GRID = ["train.model=logistic,lightgbm,xgboost", "train.seed=1,2"]
START, END = "<!-- sweep:start -->", "<!-- sweep:end -->"


def _env(repo: Path) -> dict:
    return {**os.environ, "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(repo / "src"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip


def _run(args: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=_env(cwd), capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: {done.stdout}{done.stderr}")
    return done


def published(root: Path) -> Path:
    """A clone of this repository's HEAD with its outputs, pushed to a bare git remote and a folder DVC remote."""
    dvc = [sys.executable, "-m", "dvc"]
    repo = root / "repo"
    _run(["git", "clone", "-q", str(REPO), str(repo)], root)
    for key, value in (("user.name", "almanac bench"), ("user.email", "bench@almanac-futures.invalid")):
        _run(["git", "config", key, value], repo)
    _run(["git", "init", "-q", "--bare", str(root / "origin.git")], root)
    _run(["git", "remote", "set-url", "origin", str(root / "origin.git")], repo)
    _run(["git", "push", "-q", "origin", "HEAD:main"], repo)
    _run([*dvc, "remote", "add", "--local", "here", str(REPO / ".dvc" / "cache")], repo)  # same layout as a remote
    if _run([*dvc, "pull", "-q", "-r", "here"], repo, check=False).returncode != 0:
        _run([*dvc, "repro", "-q"], repo)
    _run([*dvc, "remote", "add", "--local", "-d", "store", str(root / "store")], repo)
    _run([*dvc, "push", "-q", "-r", "store"], repo)
    return repo


def measure() -> list[str]:
    """Both backends on the same grid; the rows of results.md's sweep table."""
    from almanac import sweep

    rows = []
    with tempfile.TemporaryDirectory(prefix="almanac-sweep-bench-") as tmp:
        repo = published(Path(tmp))
        cwd = Path.cwd()
        os.chdir(repo)  # DVC and the stages run in the repository (the CLI's working directory)
        try:
            for backend, options in (("local", {"jobs": 2}), ("dask", {"local_cluster": 2})):
                started = time.monotonic()
                results = sweep.main_sweep(repo, GRID, backend=backend, echo=lambda line: print(line, flush=True),
                                           **options)  # fmt: skip
                wall = time.monotonic() - started
                done = [r for r in results if r.status == "done"]
                if len(done) != len(results):
                    raise SystemExit(f"{backend}: {len(results) - len(done)} experiments did not run: {results}")
                rows.append(_row(backend, wall, done))
                _run([sys.executable, "-m", "dvc", "exp", "remove", "-q", "--all-commits"], repo)
                _run([sys.executable, "-m", "dvc", "queue", "remove", "-q", "--all"], repo, check=False)
        finally:
            os.chdir(cwd)
    return rows


def _mb(values: list[int]) -> str:
    return f"{statistics.mean(values) / 1e6:.1f} (max {max(values) / 1e6:.1f})"


def _row(backend: str, wall: float, done: list) -> str:
    what = "DVC queue, -j 2" if backend == "local" else "Dask LocalCluster, 2 workers"
    if backend == "local":
        moved = "- | - | -"
    else:
        moved = " | ".join(_mb([getattr(r, f) for r in done]) for f in ("fetched_bytes", "produced_bytes", "git_bytes"))
    return f"| {what} | {len(done)} | {wall:.1f} | {len(done) / wall * 60:.1f} | {moved} |"


def block(rows: list[str]) -> str:
    """The sweep table with its heading, between markers (``--out`` replaces it in place)."""
    return "\n".join([
        START,
        f"Sweep throughput ({len(GRID)} keys: {'; '.join(GRID)}; default params, each run retrains): MB per task as "
        "mean (max).",
        "",
        "| sweep | experiments | wall s | experiments a minute | MB fetched from the DVC remote | MB added to the "
        "cache (pushed at most) | MB of git objects |",
        "|---|---|---|---|---|---|---|",
        *rows,
        END,
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> str:
    """Measure; with ``--out``, replace the sweep block of that file (or add it before the earlier figures)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="", help="results.md to update in place")
    args = parser.parse_args(argv)
    text = block(measure())
    print(text)
    if args.out:
        out = Path(args.out)
        current = out.read_text()
        if START in current:
            before, _, rest = current.partition(START)
            current = before + text + rest.partition(END)[2]
        else:
            head, mark, earlier = current.partition("## Earlier figures")
            current = head.rstrip("\n") + "\n\n" + text + "\n\n" + mark + earlier
        out.write_text(current)
    return text


if __name__ == "__main__":
    main()
