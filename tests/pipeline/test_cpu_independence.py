"""The same params give the same bytes whatever the CPU: every stage of ``dvc.yaml`` on a small config, in fresh
interpreters that differ in numpy's SIMD level (``NPY_DISABLE_CPU_FEATURES``), OpenBLAS's kernel
(``OPENBLAS_CORETYPE``) and the thread counts, hashes every output identically, for a tree model and for the
logistic model (the one that used BLAS).  ``.ci/run`` adds the cross-machine check: ``dvc repro`` on CI's CPU must
reproduce the committed ``dvc.lock``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SMALL = {  # nine months: every stage, a few walk-forward folds, in seconds
    "data.start": "2023-09-01",
    "data.end": "2024-06-28",
    "cv.min_train_days": 80,
    "cv.test_days": 30,
    "cv.embargo_days": 2,
    "evaluate.rolling_days": 30,
    "evaluate.bootstrap": 50,
    "backtest.bootstrap": 50,
}
MODELS = ("lightgbm", "logistic")

_RUN = """
import json, sys
from pathlib import Path
import threadpoolctl, yaml
from helpers import run_dvc_stages

base, small = Path(sys.argv[1]), json.loads(sys.argv[2])
raw = yaml.safe_load(Path(sys.argv[3]).read_text())
out = {}
for model in sys.argv[4:]:
    root = base / model
    root.mkdir(parents=True)
    for dotted, value in {**small, "train.model": model}.items():
        section, key = dotted.split(".", 1)
        raw[section][key] = value
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    out[model] = run_dvc_stages(root)
blas = sorted({i.get("architecture") or "" for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"})
print(json.dumps({"hashes": out, "openblas": blas}))
"""


def _numpy_levels() -> list[str]:
    """numpy's dispatchable SIMD levels that this CPU has, lowest first (``X86_V3``, ``X86_V4``, ``AVX512_ICL``)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def _variants() -> list[tuple[str, dict[str, str]]]:
    levels = _numpy_levels()
    variants = []
    if levels:
        variants.append(("numpy baseline SIMD only", {"NPY_DISABLE_CPU_FEATURES": " ".join(levels)}))
    avx512 = [name for name in levels if name == "X86_V4" or name.startswith("AVX512")]
    if avx512 and len(avx512) < len(levels):  # what an AVX2 machine runs
        variants.append(("numpy without AVX-512", {"NPY_DISABLE_CPU_FEATURES": " ".join(avx512)}))
    if platform.machine() in ("x86_64", "AMD64"):
        variants.append(
            ("OpenBLAS generic kernel, 2 threads",
             {"OPENBLAS_CORETYPE": "Prescott", "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"})
        )  # fmt: skip
        from numpy._core._multiarray_umath import __cpu_features__

        if __cpu_features__.get("AVX2") and __cpu_features__.get("FMA3"):
            variants.append(("OpenBLAS Haswell kernel", {"OPENBLAS_CORETYPE": "Haswell"}))
    return variants


def _run(tmp: Path, env_changes: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NPY_", "OPENBLAS_", "OMP_", "MKL_"))}
    env.update(env_changes)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests")])
    args = [sys.executable, "-c", _RUN, str(tmp), json.dumps(SMALL), str(REPO / "params.yaml"), *MODELS]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The pipeline with the machine's own dispatch, one thread everywhere."""
    return _run(tmp_path_factory.mktemp("reference"), {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})


@pytest.mark.pipeline
@pytest.mark.parametrize(("name", "env_changes"), _variants(), ids=[name for name, _ in _variants()])
def test_every_output_is_byte_identical_under(name, env_changes, reference, tmp_path):
    run = _run(tmp_path, env_changes)
    if "OPENBLAS_CORETYPE" in env_changes:  # the variant really loaded another kernel
        assert run["openblas"] != reference["openblas"] or env_changes["OPENBLAS_CORETYPE"] in reference["openblas"]
    for model in MODELS:
        ours, theirs = run["hashes"][model], reference["hashes"][model]
        assert set(ours) == set(theirs) and len(ours) >= 20
        differ = sorted(path for path in ours if ours[path] != theirs[path])
        assert not differ, f"{model}, {name}: {', '.join(differ)} differ from the reference run"


def test_variants_cover_what_this_cpu_can_switch():
    names = [name for name, _ in _variants()]
    if platform.machine() in ("x86_64", "AMD64"):
        assert "OpenBLAS generic kernel, 2 threads" in names
    if _numpy_levels():
        assert "numpy baseline SIMD only" in names


def test_the_small_config_is_valid():
    from almanac.config import params_from_dict

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    for dotted, value in SMALL.items():
        section, key = dotted.split(".", 1)
        raw[section][key] = value
    params_from_dict(raw)
