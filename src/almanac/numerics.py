"""Elementary functions that give the same bits on every CPU: ``exp``, ``log``, ``log1p``, ``expit``, ``logit``, ``erf``.

Why not ``np.exp`` and ``np.log``: numpy picks their float64 code path per CPU at import.  On a CPU with AVX-512
(numpy's ``X86_V4`` level) they run numpy's own vectorised algorithms, elsewhere the C library's; both are
accurate to about one unit in the last place, but not to the *same* last bit.  That was measured on this
pipeline: with ``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL"`` the synthetic market's ``sigma`` (``exp`` in the
EGARCH recursion) differed in the last bit on 80 of 2,264 days and the Garman-Klass feature (``log``) on 243, so
``data/truth/truth.parquet``, ``data/features.parquet`` and the model file hashed differently on an AVX2 and an
AVX-512 machine, and ``dvc.lock`` could not be shared.  ``log1p``, ``expm1`` and ``power`` go through Intel's SVML
on AVX-512 machines and differ the same way.  No maintained Python library offers a vectorised, correctly rounded
(hence CPU-independent) ``exp``/``log``, so they are written here.

How: the classic argument reduction and minimax polynomials of fdlibm (Sun Microsystems, 1993; its published
coefficients), evaluated with numpy's element-wise ``+ - * /``, ``rint``, ``frexp`` and ``ldexp`` only.  Those are
exactly rounded by IEEE 754 on every CPU and numpy never fuses two of them into one FMA, so the result is the same
bit pattern on any machine, any SIMD level and any thread count.  Accuracy, against extended precision
(``tests/unit/test_numerics.py``): ``exp`` and ``log`` below one unit in the last place (0.88 and 0.75 measured),
``log1p`` below 1.2; ``erf`` (fdlibm's ``s_erf.c`` on top of ``exp``, for the normal distribution function of the
bet size) within one unit of the C library's.  Speed: about 25 ns a value (``np.exp``: 2 ns), paid only where a result is stored.  Every function takes a scalar, an array or a
``pandas.Series`` (returned with its index) and never mutates its input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["erf", "exp", "expit", "log", "log1p", "logit"]

# ln 2 split in two: LN2_HI has 21 trailing zero bits, so k * LN2_HI is exact for every exponent k of a double.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
# exp: P1..P5 of the rational approximation R(r^2) with exp(r) = 1 + 2r / (R(r^2) - r) on |r| <= ln2 / 2.
_EXP_P = (
    1.66666666666666019037e-01,
    -2.77777777770155933842e-03,
    6.61375632143793436117e-05,
    -1.65339022054652515390e-06,
    4.13813679705723846039e-08,
)
EXP_OVERFLOW = 7.09782712893383973096e02  # above: inf
EXP_UNDERFLOW = -7.45133219101941108420e02  # below: 0
# log: Lg1..Lg7, log(1 + f) = 2s + s R(s^2) with s = f / (2 + f), on sqrt(2)/2 <= 1 + f < sqrt(2).
_LOG_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
SQRT_HALF = 7.07106781186547524401e-01
# erf: fdlibm's s_erf.c (its published coefficients), a rational approximation per range of |x|: PP/QQ below 0.84375
# (erf = x + x P(x^2)/Q(x^2)), PA/QA to 1.25 (erf = ERX + P(s)/Q(s), s = |x| - 1), RA/SA to 1/0.35 and RB/SB to 6
# (erfc = exp(-x^2 - 0.5625 + R/S(1/x^2)) / x); beyond 6, erf = 1 in double precision.
ERX = 8.45062911510467529297e-01  # erf(1) rounded to single precision
_ERF_PP = (
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
)
_ERF_QQ = (
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
)
_ERF_PA = (
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
)
_ERF_QA = (
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
)
_ERF_RA = (
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e01,
    -6.23753324503260060396e01,
    -1.62396669462573470355e02,
    -1.84605092906711035994e02,
    -8.12874355063065934246e01,
    -9.81432934416914548592e00,
)
_ERF_SA = (
    1.96512716674392571292e01,
    1.37657754143519042600e02,
    4.34565877475229228821e02,
    6.45387271733267880336e02,
    4.29008140027567833386e02,
    1.08635005541779435134e02,
    6.57024977031928170135e00,
    -6.04244152148580987438e-02,
)
_ERF_RB = (
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e01,
    -1.60636384855821916062e02,
    -6.37566443368389627722e02,
    -1.02509513161107724954e03,
    -4.83519191608651397019e02,
)
_ERF_SB = (
    3.03380607434824582924e01,
    3.25792512996573918826e02,
    1.53672958608443695994e03,
    3.19985821950859553908e03,
    2.55305040643316442583e03,
    4.74528541206955367215e02,
    -2.24409524465858183362e01,
)
ERF_TAIL = float(np.array(0x4006DB6E << 32, dtype=np.int64).view(np.float64))  # fdlibm's 1/0.35 (high word)
_CHUNK = 1 << 15  # elements per pass: a chunk's temporaries stay in the CPU cache (about 3x faster on 3 M values)


def _chunked(kernel, x):
    """Apply ``kernel`` (float64 array -> float64 array) to ``x`` by cache-sized chunks; keep scalars scalar and
    a Series a Series."""
    index = x.index if isinstance(x, pd.Series) else None
    name = x.name if isinstance(x, pd.Series) else None
    values = np.asarray(x, dtype=np.float64)
    flat = values.reshape(-1)
    out = np.empty_like(flat)
    for start in range(0, len(flat), _CHUNK):  # one iteration per 32 K values, each vectorised
        out[start : start + _CHUNK] = kernel(flat[start : start + _CHUNK])
    out = out.reshape(values.shape)
    if index is not None:
        return pd.Series(out, index=index, name=name)
    return out[()] if out.ndim == 0 else out


def _exp_kernel(x: np.ndarray) -> np.ndarray:
    if len(x) and x.min() >= EXP_UNDERFLOW and x.max() <= EXP_OVERFLOW:  # False with a NaN
        return _exp_in_range(x)
    finite = np.isfinite(x)
    y = _exp_in_range(np.clip(np.where(finite, x, 0.0), EXP_UNDERFLOW - 1.0, EXP_OVERFLOW))
    y = np.where(x > EXP_OVERFLOW, np.inf, np.where(x < EXP_UNDERFLOW, 0.0, y))
    return np.where(finite, y, np.where(np.isnan(x), np.nan, np.where(x > 0, np.inf, 0.0)))


def _exp_in_range(x: np.ndarray) -> np.ndarray:
    """The exp kernel on finite values no greater than ``EXP_OVERFLOW``: :func:`_exp_kernel` calls it on its input
    when every value is within ``[EXP_UNDERFLOW, EXP_OVERFLOW]`` (the usual case), and otherwise on clipped values
    before it patches NaN, inf and out-of-range results.  The polynomial is evaluated in place (about a third
    faster on millions of values than building a new array per operation)."""
    k = np.rint(x * INV_LN2)
    hi = x - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    t = r * r
    p1, p2, p3, p4, p5 = _EXP_P
    c = t * p5  # c = r - t (p1 + t (p2 + t (p3 + t (p4 + t p5)))), innermost first
    for p in (p4, p3, p2, p1):
        c += p
        c *= t
    np.subtract(r, c, out=c)
    r *= c  # r c / (2 - c), then y = 1 - ((lo - r c / (2 - c)) - hi)
    r /= 2.0 - c
    lo -= r
    lo -= hi
    np.subtract(1.0, lo, out=lo)
    with np.errstate(under="ignore"):
        return np.ldexp(lo, k.astype(np.int32))


def _log_kernel(x: np.ndarray) -> np.ndarray:
    positive = (x > 0) & np.isfinite(x)
    m, e = np.frexp(np.where(positive, x, 1.0))  # x = m 2^e, 0.5 <= m < 1 (subnormal x normalised)
    low = m < SQRT_HALF
    m = np.where(low, m + m, m)
    k = (e - low).astype(np.float64)
    f = m - 1.0  # exact: m is within a factor of two of 1
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    lg1, lg2, lg3, lg4, lg5, lg6, lg7 = _LOG_LG
    r = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7))) + w * (lg2 + w * (lg4 + w * lg6))
    hfsq = 0.5 * f * f
    y = k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
    special = np.where(x == 0, -np.inf, np.where(x == np.inf, np.inf, np.nan))  # 0, inf, negative or NaN
    return np.where(positive, y, special)


def _log1p_kernel(x: np.ndarray) -> np.ndarray:
    # u = 1 + x loses the low bits of x; log(u) + (x - (u - 1)) / u puts them back to first order (both differences
    # are exact by Sterbenz's lemma in their branch).
    u = 1.0 + x
    finite = np.isfinite(u) & (u > 0)
    safe = np.where(finite, u, 1.0)
    lost = np.where(safe > 2.0, 1.0 - (safe - x), x - (safe - 1.0))
    y = _log_kernel(safe) + lost / safe
    return np.where(u == 1.0, x, np.where(finite, y, _log_kernel(u)))


def _poly(x: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    """``c0 + x (c1 + x (c2 + ...))`` by Horner's rule (no FMA: numpy rounds every product and sum)."""
    out = np.full_like(x, coefficients[-1])
    for c in coefficients[-2::-1]:  # a handful of coefficients, each step vectorised
        out = c + x * out
    return out


def _erf_kernel(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    # |x| < 0.84375 (every branch is evaluated on inputs clipped into its range: no warning on inf or NaN)
    v = np.where(a < 0.84375, x, 0.0)
    z = v * v
    small = v + v * (_poly(z, _ERF_PP) / (1.0 + z * _poly(z, _ERF_QQ)))
    # 0.84375 <= |x| < 1.25
    s = np.clip(a, 0.84375, 1.25) - 1.0
    middle = ERX + _poly(s, _ERF_PA) / (1.0 + s * _poly(s, _ERF_QA))
    # 1.25 <= |x| < 6: erfc(|x|) = exp(-h^2 - 0.5625) exp((h - |x|)(h + |x|) + R/S) / |x|, with h = |x| cut to its
    # high 32 bits so that h^2 is exact (fdlibm's splitting of -x^2)
    t = np.clip(a, 1.25, 6.0)
    w = 1.0 / (t * t)
    first = t < ERF_TAIL
    r = np.where(first, _poly(w, _ERF_RA), _poly(w, _ERF_RB))
    q = 1.0 + w * np.where(first, _poly(w, _ERF_SA), _poly(w, _ERF_SB))
    h = (t.view(np.int64) & np.int64(-(1 << 32))).view(np.float64)
    tail = 1.0 - _exp_kernel(-h * h - 0.5625) * _exp_kernel((h - t) * (h + t) + r / q) / t
    magnitude = np.where(a < 1.25, middle, np.where(a < 6.0, tail, 1.0))
    signed = np.where(x < 0, -magnitude, magnitude)
    return np.where(a < 0.84375, small, np.where(np.isnan(x), np.nan, signed))


def exp(x):
    """``e**x``, the same bits on every CPU (see the module docstring); inf above 709.78, 0 below -745.13."""
    return _chunked(_exp_kernel, x)


def log(x):
    """Natural logarithm, the same bits on every CPU; ``-inf`` at 0, NaN below 0 (no warning)."""
    return _chunked(_log_kernel, x)


def log1p(x):
    """``log(1 + x)``, accurate for small ``x`` and the same bits on every CPU; NaN below -1."""
    return _chunked(_log1p_kernel, x)


def expit(x):
    """The logistic function ``1 / (1 + exp(-x))``, the same bits on every CPU."""
    return _chunked(lambda v: 1.0 / (1.0 + _exp_kernel(-v)), x)


def erf(x):
    """The error function, the same bits on every CPU (fdlibm's rational approximations, ``exp`` above); ``±1`` at
    ``±inf`` and from ``|x| >= 6``.  The normal distribution function is ``Φ(z) = (1 + erf(z / √2)) / 2``.

    Examples
    --------
    >>> float(erf(0.0)), round(float(erf(1.0)), 9), float(erf(-np.inf))
    (0.0, 0.842700793, -1.0)
    """
    return _chunked(_erf_kernel, x)


def logit(p):
    """``log(p / (1 - p))``, the inverse of :func:`expit`; ``±inf`` at 1 and 0."""

    def kernel(v):
        with np.errstate(divide="ignore"):
            return _log_kernel(v / (1.0 - v))

    return _chunked(kernel, p)
