"""L2-penalised logistic regression that gives the same coefficients, bit for bit, on every CPU.

Why not ``sklearn.linear_model.LogisticRegression``: its solvers (lbfgs, newton-cg, newton-cholesky, liblinear,
sag) compute their dot products with BLAS, and OpenBLAS picks its kernel per CPU (Haswell, SkylakeX, ...): the
kernels sum in different orders, so the fitted coefficients and every probability differ in the last bits from one
CPU to another (measured: ``OPENBLAS_CORETYPE=Haswell`` against the SkylakeX kernel moved 146 of 271 out-of-fold
probabilities by up to 5e-14 and changed the model file).  The stored predictions and model must not depend on the
machine, so the model is fitted here with the same objective as scikit-learn's (``0.5 ||W||^2 + C * sum of log
losses``, intercept not penalised, multinomial for more than two classes) by Newton's method, with every sum an
element-wise product reduced by numpy (no BLAS) and the exponentials of :mod:`almanac.numerics`.

It is a scikit-learn classifier (``fit``/``predict_proba``/``predict``, ``classes_``, ``coef_``, ``intercept_``,
``n_iter_``), so it composes in a ``Pipeline`` and ``shap.LinearExplainer`` explains it.  The objective is convex
and smooth; Newton's method with a backtracking line search reaches it to machine precision in a handful of
iterations on the pipeline's scaled features.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from almanac import numerics


def row_dot(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X @ w`` for a 2-D ``X`` and a vector ``w`` without BLAS: the row sums of ``X * w`` (the same bits on every
    CPU, whatever BLAS kernel numpy loaded)."""
    return (X * w).sum(axis=1)


def _gram(X: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``X.T @ diag(weight) @ X`` without BLAS (rows summed in order)."""
    return ((X * weight[:, None])[:, :, None] * X[:, None, :]).sum(axis=0)


def _cholesky_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``A x = b`` for a symmetric positive definite ``A`` by a Cholesky factorisation written with
    element-wise sums (numpy's ``linalg`` calls LAPACK, whose kernels vary per CPU like BLAS's)."""
    n = len(b)
    L = np.zeros_like(A)
    for j in range(n):  # one column per parameter (a few dozen)
        diag = A[j, j] - (L[j, :j] * L[j, :j]).sum()
        L[j, j] = np.sqrt(max(diag, 1e-300))
        L[j + 1 :, j] = (A[j + 1 :, j] - (L[j + 1 :, :j] * L[j, :j]).sum(axis=1)) / L[j, j]
    y = np.zeros(n)
    for i in range(n):  # forward substitution
        y[i] = (b[i] - (L[i, :i] * y[:i]).sum()) / L[i, i]
    x = np.zeros(n)
    for i in range(n - 1, -1, -1):  # back substitution
        x[i] = (y[i] - (L[i + 1 :, i] * x[i + 1 :]).sum()) / L[i, i]
    return x


def _log_sum_exp(Z: np.ndarray) -> np.ndarray:
    top = Z.max(axis=1)
    return top + numerics.log(numerics.exp(Z - top[:, None]).sum(axis=1))


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression with scikit-learn's L2 objective, fitted by Newton's method in CPU-independent
    arithmetic (see the module docstring).

    Parameters
    ----------
    C : float
        Inverse regularisation strength (``train.logistic.C``), as in scikit-learn.
    max_iter : int
        Cap on Newton iterations (``train.logistic.max_iter``); convergence usually takes fewer than ten.
    tol : float
        Stop when no coefficient moves by more than ``tol`` (relative to its size, at least 1).
    random_state : int, optional
        Accepted for the shared ``train.seed`` and ignored: Newton's method draws nothing at random.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> model = LogisticRegression(C=1.0).fit(X, y)
    >>> np.round(model.predict_proba(X)[:, 1], 3).tolist()
    [0.192, 0.382, 0.618, 0.808]
    """

    def __init__(self, C=1.0, max_iter=100, tol=1e-10, random_state=None):
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the coefficients on ``X`` (rows x features) and labels ``y``; returns ``self``."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, codes = np.unique(y, return_inverse=True)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(f"need at least two classes to fit, got {list(self.classes_)}")
        design = np.column_stack([X, np.ones(len(X))])
        columns = 1 if k == 2 else k
        onehot = (codes == 1).astype(float)[:, None] if k == 2 else (codes[:, None] == np.arange(k)).astype(float)
        theta = np.zeros((columns, design.shape[1]))  # one row per class (binary: class 1), intercept last
        penalty = np.ones(design.shape[1])  # the objective is 0.5 |W|^2 + C * sum of losses
        penalty[-1] = 0.0  # the intercept is not penalised
        # Multinomial intercepts are defined up to a common shift: the Hessian is singular along it, and the
        # gradient never has a component along it, so adding that direction's outer product leaves the step
        # unchanged while making the system positive definite (the intercepts keep summing to zero).
        shift = np.zeros((columns, design.shape[1]))
        shift[:, -1] = 1.0 if k > 2 else 0.0
        shift = shift.reshape(-1)
        objective = self._objective(design, onehot, theta, penalty)
        self.n_iter_ = 0
        for _ in range(self.max_iter):  # Newton iterations, about ten
            gradient, hessian = self._derivatives(design, onehot, theta, penalty)
            step = _cholesky_solve(hessian + np.outer(shift, shift), gradient.reshape(-1)).reshape(theta.shape)
            scale = 1.0
            for _halving in range(50):  # backtracking: the objective must not rise
                candidate = theta - scale * step
                value = self._objective(design, onehot, candidate, penalty)
                if value <= objective:
                    break
                scale *= 0.5
            else:
                break
            moved = np.abs(candidate - theta).max() / max(1.0, np.abs(candidate).max())
            theta, objective = candidate, value
            self.n_iter_ += 1
            if moved <= self.tol:
                break
        self.coef_ = theta[:, :-1].copy()
        self.intercept_ = theta[:, -1].copy()
        return self

    def _scores(self, design: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return np.column_stack([row_dot(design, row) for row in theta])  # one column per class row

    def _objective(self, design, onehot, theta, penalty) -> float:
        Z = self._scores(design, theta)
        if theta.shape[0] == 1:  # binary: log(1 + e^z) - y z, computed without overflow
            z = Z[:, 0]
            losses = np.maximum(z, 0.0) + numerics.log1p(numerics.exp(-np.abs(z))) - onehot[:, 0] * z
        else:
            losses = _log_sum_exp(Z) - (Z * onehot).sum(axis=1)
        return float(0.5 * (theta * theta * penalty).sum() + self.C * losses.sum())

    def _derivatives(self, design, onehot, theta, penalty) -> tuple[np.ndarray, np.ndarray]:
        """Gradient (classes x parameters) and Hessian (flattened parameters squared) of the objective."""
        P = self._probabilities(design, theta)
        residual = P - onehot
        gradient = np.stack([(design * residual[:, [c]]).sum(axis=0) for c in range(theta.shape[0])])
        gradient = self.C * gradient + theta * penalty
        rows, width = theta.shape
        hessian = np.zeros((rows * width, rows * width))
        for a in range(rows):  # one block per pair of classes (binary: one block)
            for b in range(a, rows):
                weight = P[:, a] * ((a == b) - P[:, b]) if rows > 1 else P[:, 0] * (1.0 - P[:, 0])
                block = self.C * _gram(design, weight)
                hessian[a * width : (a + 1) * width, b * width : (b + 1) * width] = block
                hessian[b * width : (b + 1) * width, a * width : (a + 1) * width] = block.T
        hessian += np.diag(np.tile(penalty, rows))
        return gradient, hessian

    @staticmethod
    def _probabilities(design: np.ndarray, theta: np.ndarray) -> np.ndarray:
        Z = np.column_stack([row_dot(design, row) for row in theta])
        if theta.shape[0] == 1:
            return numerics.expit(Z)
        E = numerics.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def predict_proba(self, X):
        """Class probabilities, one column per entry of ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        design = np.column_stack([X, np.ones(len(X))])
        theta = np.column_stack([self.coef_, self.intercept_])
        P = self._probabilities(design, theta)
        return np.column_stack([1.0 - P[:, 0], P[:, 0]]) if len(self.classes_) == 2 else P

    def predict(self, X):
        """The most probable class per row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
