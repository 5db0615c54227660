"""almanac.ml.linear.LogisticRegression: scikit-learn's objective, solved to the same coefficients; the same bits
whatever BLAS kernel is loaded; a scikit-learn classifier that SHAP explains."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

from almanac.ml.linear import LogisticRegression, row_dot

SRC = Path(__file__).resolve().parents[2] / "src"


def _data(classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((600, 12))
    score = X @ (rng.standard_normal(12) * 0.4)
    if classes == 2:
        return X, (score + rng.logistic(size=600) > 0).astype(int)
    return X, np.digitize(score + rng.logistic(size=600), np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))


@pytest.mark.parametrize("classes", [2, 4])
@pytest.mark.parametrize("C", [1e-3, 0.1, 1.0, 1e4])
def test_same_solution_as_scikit_learn(classes, C):
    X, y = _data(classes)
    ours = LogisticRegression(C=C).fit(X, y)
    theirs = SklearnLogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(X, y)
    assert ours.coef_.shape == theirs.coef_.shape and ours.intercept_.shape == theirs.intercept_.shape
    assert np.abs(ours.predict_proba(X) - theirs.predict_proba(X)).max() < 1e-6
    assert np.abs(ours.coef_ - theirs.coef_).max() < 1e-5 * max(1.0, np.abs(theirs.coef_).max())
    assert ours.n_iter_ < 20


def test_a_classifier_like_scikit_learns():
    X, y = _data(2)
    labels = np.where(y == 1, "up", "down")
    model = LogisticRegression().fit(X, labels)
    assert model.classes_.tolist() == ["down", "up"]
    proba = model.predict_proba(X)
    assert proba.shape == (600, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) <= {"down", "up"}
    assert (model.predict(X) == np.where(proba[:, 1] > 0.5, "up", "down")).all()
    with pytest.raises(ValueError, match="two classes"):
        LogisticRegression().fit(X, np.zeros(600))


def test_row_dot_is_the_matrix_product():
    X, _ = _data(2)
    w = np.linspace(-1, 1, X.shape[1])
    assert np.allclose(row_dot(X, w), X @ w, rtol=0, atol=1e-12)


def test_shap_linear_explainer_reads_it():
    shap = pytest.importorskip("shap")
    X, y = _data(2)
    model = LogisticRegression().fit(X, y)
    values = shap.LinearExplainer(model, X[:100]).shap_values(X[:5])
    assert np.allclose(values, (X[:5] - X[:100].mean(axis=0)) * model.coef_[0])


_FIT = """
import hashlib, numpy as np
from almanac.ml.linear import LogisticRegression
rng = np.random.default_rng(3)
X = rng.standard_normal((700, 20)); y = (X[:, 0] + rng.logistic(size=700) > 0).astype(int)
m = LogisticRegression(C=0.5).fit(X, y)
print(hashlib.sha256(m.coef_.tobytes() + m.intercept_.tobytes() + m.predict_proba(X).tobytes()).hexdigest())
"""


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64", reason="x86-64 OpenBLAS kernels")
def test_same_bits_whatever_blas_kernel():
    digests = set()
    for kernel in ("", "Prescott", "Haswell"):
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel, "PYTHONPATH": str(SRC)}
        if kernel == "Haswell":
            from numpy._core._multiarray_umath import __cpu_features__

            if not (__cpu_features__.get("AVX2") and __cpu_features__.get("FMA3")):
                continue
        done = subprocess.run([sys.executable, "-c", _FIT], env=env, capture_output=True, text=True, check=True)
        digests.add(done.stdout.strip())
    assert len(digests) == 1
