"""Benchmark the ML Lab in headless Chromium: time from page load to the experiments table, and from a Train click
to the run showing on the page, idle and with both cores busy.

A scratch git + DVC repository with the tests' small run (``tests/helpers.dvc_repository``) is served by
``almanac lab`` from ``--src`` (default: this checkout's ``src``; give an older checkout's ``src`` to measure
it the same way).  Each load is timed after a first load has warmed the server; Train is timed from the click to
the run's row (this Lab) or the "Queued experiment" message (the Lab before the run queue).

    python benchmarks/lab.py [--src DIR] [--repeat 5] [--busy 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
TRAIN_SHOWN = "tr.lab-run, #train-status .ok, #train-status .error"


def _spin(stop) -> None:  # one busy core
    while not stop.is_set():
        sum(range(10_000))


@contextlib.contextmanager
def busy(cores: int):
    """Keep ``cores`` processes spinning (a machine under load)."""
    stop = multiprocessing.Event()
    workers = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(cores)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=5)


@contextlib.contextmanager
def lab(repo: Path, env: dict):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "almanac.cli", "lab", "--port", str(port)], cwd=repo, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        stop = [sys.executable, "-m", "dvc", "queue", "stop", "--kill"]  # the Lab before the run queue used DVC's
        subprocess.run(stop, cwd=repo, env=env, capture_output=True, check=False)


def measure(repo: Path, env: dict, repeat: int) -> dict:
    from playwright.sync_api import sync_playwright

    loads, trains = [], []
    with lab(repo, env) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#exp-table tr.exp-row", timeout=300_000)  # warm: the first listing
        for _ in range(repeat):
            start = time.monotonic()
            page.reload()
            page.wait_for_selector("#exp-table tr.exp-row", timeout=300_000)
            loads.append(time.monotonic() - start)
        for model in ("logistic", "xgboost")[: max(1, min(2, repeat))]:
            page.reload()
            page.wait_for_selector("#exp-table tr.exp-row", timeout=300_000)
            page.locator("#model-type").click()
            page.get_by_role("option", name=model, exact=True).click()
            page.keyboard.press("Escape")
            start = time.monotonic()
            page.locator("#train-btn").click()
            page.wait_for_selector(TRAIN_SHOWN, timeout=300_000)
            trains.append(time.monotonic() - start)
        browser.close()
    return {"page_to_table_s": loads, "train_to_queued_s": trains}


def main(argv: list[str] | None = None) -> dict:
    from helpers import dvc_repository

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=str(REPO / "src"), help="the almanac package to serve (its src folder)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--busy", type=int, default=2, help="busy cores for the loaded measurement (default 2)")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="almanac-lab-bench-") as tmp:
        for load in (0, args.busy):
            repo, env = dvc_repository(Path(tmp) / f"repo{load}")
            env = {**env, "PYTHONPATH": args.src}
            with busy(load):
                results[f"busy {load}"] = measure(repo, env, args.repeat)
    for name, r in results.items():
        print(f"{name}: page to table median {statistics.median(r['page_to_table_s']):.2f} s "
              f"(max {max(r['page_to_table_s']):.2f}), Train to queued median {statistics.median(r['train_to_queued_s']):.2f} s "
              f"(max {max(r['train_to_queued_s']):.2f})")  # fmt: skip
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    main()
