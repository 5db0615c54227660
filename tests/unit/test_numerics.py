"""almanac.numerics: accurate to under one unit in the last place, exact special values, the same bits whatever
SIMD level numpy dispatches to, and the only place in the package that evaluates exp/log."""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from almanac import numerics

SRC = Path(__file__).resolve().parents[2] / "src" / "almanac"
EXTENDED = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant


def _ulps(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Error of ``ours`` in units of the last place of the float64 nearest to the extended-precision reference."""
    nearest = reference.astype(np.float64)
    return np.abs(ours.astype(np.longdouble) - reference) / np.spacing(np.abs(nearest)).astype(np.longdouble)


@pytest.mark.skipif(not EXTENDED, reason="long double is no wider than double here: no reference")
@pytest.mark.parametrize(
    ("function", "reference", "low", "high"),
    [
        (numerics.exp, np.exp, -700.0, 700.0),
        (numerics.exp, np.exp, -1.0, 1.0),
        (numerics.log, np.log, 1e-300, 1e300),
        (numerics.log, np.log, 0.5, 2.0),
        (numerics.log1p, np.log1p, -0.999, 10.0),
        (numerics.log1p, np.log1p, -1e-10, 1e-10),
    ],
)
def test_below_one_ulp_against_extended_precision(function, reference, low, high):
    rng = np.random.default_rng(0)
    if function is numerics.log and low > 0 and high / low > 1e6:
        x = np.exp(rng.uniform(np.log(low), np.log(high), 200_000))  # log-uniform over the range
    else:
        x = rng.uniform(low, high, 200_000)
    # log1p is log(1 + x) plus a first-order correction: one more rounding (measured: at most 1.19 ulps).
    bound = 1.5 if function is numerics.log1p else 1.0
    assert _ulps(function(x), reference(x.astype(np.longdouble))).max() < bound


@pytest.mark.parametrize(
    ("low", "high"), [(-0.9, 0.9), (0.8, 1.3), (1.2, 2.9), (2.8, 6.5), (-6.5, -0.8), (-1e-8, 1e-8)]
)
def test_erf_within_one_ulp_of_the_c_library(low, high):
    import math

    x = np.random.default_rng(3).uniform(low, high, 20_000)
    reference = np.array([math.erf(v) for v in x])  # glibc's erf: itself within about one ulp
    assert (np.abs(numerics.erf(x) - reference) <= np.spacing(np.abs(reference))).all()


def test_erf_special_values():
    with np.errstate(all="raise", under="ignore"):
        out = numerics.erf(np.array([0.0, np.inf, -np.inf, 6.0, -6.0, 1e-300]))
        assert out.tolist() == [0.0, 1.0, -1.0, 1.0, -1.0, numerics.erf(1e-300)]
        assert np.isnan(numerics.erf(np.nan))
    assert numerics.erf(1e-300) == pytest.approx(1.1283791670955126e-300, rel=1e-15)  # 2x/sqrt(pi)


def test_special_values_and_edges():
    with np.errstate(all="raise"):  # no floating-point warning on any special input
        assert numerics.exp(np.array([0.0, np.inf, -np.inf, 710.0, -746.0])).tolist() == [1.0, np.inf, 0.0, np.inf, 0.0]
        assert np.isnan(numerics.exp(np.nan))
        assert numerics.log(np.array([1.0, 0.0, np.inf])).tolist() == [0.0, -np.inf, np.inf]
        assert np.isnan(numerics.log(np.array([-1.0, np.nan]))).all()
        assert numerics.log1p(np.array([0.0, -1.0, np.inf])).tolist() == [0.0, -np.inf, np.inf]
        assert numerics.log1p(1e-300) == 1e-300
        assert numerics.logit(np.array([0.5, 0.0, 1.0])).tolist() == [0.0, -np.inf, np.inf]
    assert numerics.log(5e-324) == pytest.approx(np.log(5e-324), rel=1e-15)  # the smallest subnormal
    assert numerics.exp(-740.0) == pytest.approx(np.exp(-740.0), rel=1e-3)  # a subnormal result
    assert numerics.expit(np.array([-800.0, 0.0, 800.0])).tolist() == [0.0, 0.5, 1.0]


def test_shapes_scalars_and_series_are_kept():
    assert isinstance(numerics.exp(1.0), float) and numerics.exp(1.0) == pytest.approx(np.e, rel=1e-16)
    grid = np.linspace(0.1, 2.0, 12).reshape(3, 4)
    assert numerics.log(grid).shape == (3, 4)
    series = pd.Series([1.0, np.e], index=pd.Index(["a", "b"]), name="x")
    out = numerics.log(series)
    assert isinstance(out, pd.Series) and out.index.tolist() == ["a", "b"] and out.name == "x"
    big = np.linspace(-5, 5, 100_001)  # several chunks: the same values as one pass
    assert np.array_equal(numerics.exp(big), np.concatenate([numerics.exp(part) for part in np.array_split(big, 7)]))
    before = big.copy()
    numerics.exp(big)
    assert np.array_equal(big, before)  # the input is never mutated


def _dispatch_levels() -> list[str]:
    """numpy's dispatchable SIMD features this CPU has (switching them off changes numpy's code paths)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


_DIGEST = """
import hashlib, numpy as np
from almanac import numerics
x = np.random.default_rng(1).standard_normal(300_000) * 50
parts = [numerics.exp(x), numerics.log(np.abs(x) + 1e-3), numerics.log1p(np.abs(x)), numerics.expit(x),
         numerics.erf(x / 20)]
print(hashlib.sha256(b"".join(p.tobytes() for p in parts)).hexdigest())
"""


def test_same_bits_whatever_numpy_dispatches():
    levels = _dispatch_levels()
    if not levels:
        pytest.skip("numpy dispatches no SIMD level above its baseline on this CPU")
    digests = set()
    for disabled in ("", " ".join(levels)):
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": disabled, "PYTHONPATH": str(SRC.parent)}
        done = subprocess.run([sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True)
        digests.add(done.stdout.strip())
    assert len(digests) == 1
    x = np.random.default_rng(1).standard_normal(300_000) * 50
    parts = [numerics.exp(x), numerics.log(np.abs(x) + 1e-3), numerics.log1p(np.abs(x)), numerics.expit(x)]
    parts.append(numerics.erf(x / 20))
    assert hashlib.sha256(b"".join(p.tobytes() for p in parts)).hexdigest() in digests


# Calls whose float64 result depends on the CPU (numpy's per-CPU SIMD paths for exp/log and Intel's SVML for
# log1p/expm1/power/..., or BLAS/LAPACK kernels chosen per CPU): inside the package they go through
# almanac.numerics, almanac.ml.linear or the element-wise helpers in almanac.ml.metrics.
CPU_DEPENDENT = {
    "np": {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "power", "float_power", "sinh", "cosh", "tanh",
           "arcsinh", "arccosh", "arctanh", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "cbrt",
           "dot", "vdot", "inner", "matmul", "tensordot", "einsum", "cov", "corrcoef", "linalg"},
    "math": {"exp", "expm1", "log", "log1p", "log2", "log10", "pow"},
    "stats": {"pearsonr", "spearmanr", "linregress"},
}  # fmt: skip
ALLOWED = {"numerics.py"}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append(f"{where}: @ (BLAS)")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in CPU_DEPENDENT.get(node.value.id, ()):
                found.append(f"{where}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in (
            "sklearn.linear_model",
            "scipy.linalg",
            "numpy.linalg",
        ):
            found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and _fractional(node.right):
            found.append(f"{where}: ** {node.right.value} (pow)")
    return found


def _fractional(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, float) and not node.value.is_integer()


def test_package_evaluates_exp_and_log_only_through_numerics():
    offences = [o for path in sorted(SRC.rglob("*.py")) if path.name not in ALLOWED for o in _offences(path)]
    assert not offences, "CPU-dependent float calls (use almanac.numerics / almanac.ml.linear):\n" + "\n".join(offences)


def test_the_scan_sees_what_it_forbids(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import numpy as np\nimport math\na = np.log(2) + math.exp(1)\nb = a @ a\nc = a ** 0.5\n")
    assert len(_offences(sample)) == 4


@pytest.mark.parametrize("scale", [1.0, 30.0, 700.0])
def test_exp_in_range_path_gives_the_general_paths_bits(scale):
    """A chunk with every value in range takes the short path; one NaN sends the same chunk down the general
    path (clipping and patching): the two must agree bit for bit."""
    rng = np.random.default_rng(7)
    x = np.clip(rng.normal(0.0, scale, 20_000), numerics.EXP_UNDERFLOW, numerics.EXP_OVERFLOW)
    x[:4] = [numerics.EXP_UNDERFLOW, numerics.EXP_OVERFLOW, -0.0, 5e-324]
    short = numerics.exp(x)
    general = numerics.exp(np.append(x, np.nan))[:-1]
    np.testing.assert_array_equal(short.view(np.int64), general.view(np.int64))
