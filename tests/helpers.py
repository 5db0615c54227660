"""Small builders shared by the tests (on the path through ``pythonpath`` in pyproject.toml)."""

from __future__ import annotations

from almanac.config import DataParams, FeaturesParams


def files_params(symbol: str = "ES", paths: str = "", format: str = "firstrate", **kwargs) -> DataParams:
    """``data.*`` for vendor files, with a date range wide enough for any file a test writes."""
    kwargs.setdefault("start", "1997-09-09")
    kwargs.setdefault("end", "2099-12-31")
    return DataParams(symbol=symbol, source="files", paths=paths, format=format, **kwargs)


def features_params(**kwargs) -> FeaturesParams:
    """``features.*`` with the given overrides (e.g. short windows for small samples)."""
    return FeaturesParams(**kwargs)


def synthetic_bars(start: str, end: str):
    """Canonical minute bars of the default synthetic market between two dates."""
    import almanac

    return almanac.load_bars(almanac.DataParams(start=start, end=end)).bars


def firstrate_lines(bars) -> list[str]:
    """Canonical bars as FirstRate lines (US Eastern wall clock, bar start, no header)."""
    local = bars["ts"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d %H:%M:%S")
    prices = bars[["open", "high", "low", "close"]].map(lambda v: f",{v:.2f}").sum(axis=1)
    return (local + prices + "," + bars["volume"].astype(str)).tolist()


def write_lines(path, lines: list[str]):
    """Write ``lines`` (newline-terminated) to ``path`` and return it."""
    path.write_text("\n".join(lines) + "\n")
    return path


def run_stage(name: str, params, **paths) -> None:
    """Run ``stages/<name>.py``'s ``main`` with ``--params`` and ``--key=path`` arguments, in this process."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "stages" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"stage_{name}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--params", str(params), *[f"--{k}={v}" for k, v in paths.items()]])


def small_pipeline(root, *, overrides: dict | None = None):
    """bars -> sessions -> features -> labels -> train on thirteen months of the synthetic market, laid out under
    ``root`` as the pipeline lays out the repository (``data/``, ``models/``, ``params.yaml``).

    Returns ``(params_path, PipelineFiles)``.  ``overrides`` maps ``section.key`` to values.
    """
    from pathlib import Path

    import yaml

    from almanac.ml.predictors import PipelineFiles

    root = Path(root)
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    raw["data"].update({"start": "2023-06-01", "end": "2024-06-28"})
    raw["cv"].update({"min_train_days": 100, "test_days": 40, "embargo_days": 2})
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".", 1)
        target = raw[section]
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    files = PipelineFiles(data=root / "data", models=root / "models")
    if not files.bars.exists():
        run_stage("bars", params, bars=files.bars, daily=files.daily, manifest=files.manifest,
                  truth=root / "data" / "truth" / "truth.parquet")  # fmt: skip
        run_stage("sessions", params, bars=files.bars, manifest=files.manifest, out=files.sessions)
        run_stage("features", params, bars=files.bars, sessions=files.sessions, daily=files.daily,
                  out=files.features, lineage=root / "data" / "features_lineage.json")  # fmt: skip
        run_stage("labels", params, sessions=files.sessions, bars=files.bars, out=root / "data" / "labels.parquet")
    run_stage("train", params, features=files.features, lineage=root / "data" / "features_lineage.json",
              labels=root / "data" / "labels.parquet", sessions=files.sessions,
              oof=root / "data" / "predictions" / "oof.parquet", oof_shap=root / "data" / "predictions" / "oof_shap.parquet",
              model=files.model, registry=files.registry, signature=files.signature,
              metrics=root / "metrics" / "train.json", folds=root / "plots" / "cv_folds.csv")  # fmt: skip
    return params, files


def screenshot(page, name: str):
    """Save a full-page screenshot of a Playwright ``page`` as ``test-artifacts/<name>.png`` (for people to look at)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


SMALL_RUN = {  # a few months of the synthetic market: the whole pipeline in seconds
    "data.start": "2024-01-02",
    "data.end": "2024-06-28",
    "cv.min_train_days": 40,
    "cv.test_days": 20,
    "cv.purge_days": 1,
    "cv.embargo_days": 0,
    "evaluate.rolling_days": 20,
    "evaluate.bootstrap": 50,
}


def dvc_repository(path, overrides: dict | None = None, *, repro: bool = True):
    """A scratch git + DVC repository with this project's code, ``dvc.yaml`` and a small ``params.yaml``
    (:data:`SMALL_RUN` plus ``overrides``), committed; with ``repro`` the pipeline has run and its lock and
    outputs are committed too.  Returns ``(path, env)``: the environment to run git/dvc with.
    """
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    repo, path = Path(__file__).resolve().parents[1], Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for item in ("src", "stages", "dvc.yaml", ".dvcignore", "data/raw", "models/model_registry.json", "pyproject.toml"):
        source = repo / item
        (path / item).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, path / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            shutil.copy(source, path / item)
    (path / "models" / "model_registry.json").unlink(missing_ok=True)  # versions of this run only
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    for dotted, value in {**SMALL_RUN, **(overrides or {})}.items():
        section, key = dotted.split(".", 1)
        raw[section][key] = value
    (path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (path / ".gitignore").write_text("dvc_plots/\n__pycache__/\n")
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(path / "src"),
        "GIT_AUTHOR_NAME": "Almanac test",
        "GIT_AUTHOR_EMAIL": "test@almanac.invalid",
        "GIT_COMMITTER_NAME": "Almanac test",
        "GIT_COMMITTER_EMAIL": "test@almanac.invalid",
    }

    def run(*args: str) -> None:
        done = subprocess.run(args, cwd=path, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"

    run("git", "init", "-q")
    run(sys.executable, "-m", "dvc", "init", "-q")
    shutil.copytree(repo / ".dvc" / "plots", path / ".dvc" / "plots")
    if repro:
        run(sys.executable, "-m", "dvc", "repro", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "baseline")
    return path, env


def run_dvc_stages(root, stages: list[str] | None = None) -> dict[str, str]:
    """Run ``dvc.yaml``'s stage commands (exactly their arguments) in ``root``, in pipeline order, in this process,
    and return the md5 of every output and metrics file they declare, and of every file in a folder output
    (``path -> md5``).

    ``root`` holds a ``params.yaml``; one interpreter runs every stage (DVC starts one per stage, a second of imports
    each), so what the process inherits (environment, CPU dispatch, thread counts) applies to all of them.
    """
    import hashlib
    import importlib.util
    import os
    import shlex
    from pathlib import Path

    import yaml

    repo, root = Path(__file__).resolve().parents[1], Path(root)
    declared = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    outputs, here = [], Path.cwd()
    os.chdir(root)
    try:
        for name, stage in declared.items():  # in pipeline order
            if stages is not None and name not in stages:
                continue
            paths = [
                next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", []) + stage.get("metrics", [])
            ]
            for path in paths:
                (root / path).parent.mkdir(parents=True, exist_ok=True)
            words = shlex.split(stage["cmd"])
            script = next(w for w in words if w.startswith("stages/"))
            spec = importlib.util.spec_from_file_location(f"stage_{name}", repo / script)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.main(words[words.index(script) + 1 :])
            outputs += paths
    finally:
        os.chdir(here)
    files = [
        f for path in outputs for f in (sorted((root / path).rglob("*")) if (root / path).is_dir() else [root / path])
    ]
    return {f.relative_to(root).as_posix(): hashlib.md5(f.read_bytes()).hexdigest() for f in files if f.is_file()}
