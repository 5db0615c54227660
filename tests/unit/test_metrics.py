"""Scores and statistics: classification scores vs scikit-learn, null AUC spread, bootstrap CI, DeLong, PSR/DSR."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

from almanac.ml.metrics import (
    EULER_GAMMA,
    bootstrap_auc_ci,
    classification_scores,
    deflated_sharpe_benchmark,
    delong_test,
    null_auc_sd,
    probabilistic_sharpe,
)

PHI = NormalDist()


def scored_days(n: int, strength: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, strength * y + rng.normal(size=n)


# --- classification_scores ---------------------------------------------------------------------------------


def test_binary_scores_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p1 = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(0, 0.15, 300), 0.01, 0.99)
    proba = np.column_stack([1 - p1, p1])
    out = classification_scores(y, proba, 2)
    assert out == pytest.approx(
        {
            "auc": roc_auc_score(y, p1),
            "accuracy": accuracy_score(y, (p1 > 0.5).astype(int)),
            "brier": brier_score_loss(y, p1),
            "log_loss": log_loss(y, proba),
        },
        abs=1e-12,
    )


def test_multiclass_scores_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 240)
    raw = rng.dirichlet([2, 2, 2], 240) + 0.5 * np.eye(3)[y]
    proba = raw / raw.sum(axis=1, keepdims=True)
    out = classification_scores(y, proba, 3)
    assert out["auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=1e-12)
    assert out["accuracy"] == pytest.approx(accuracy_score(y, proba.argmax(axis=1)))
    assert out["brier"] == pytest.approx(np.mean(np.sum((proba - np.eye(3)[y]) ** 2, axis=1)), abs=1e-12)
    assert out["log_loss"] == pytest.approx(log_loss(y, proba), abs=1e-12)


def test_scores_small_golden_case():
    out = classification_scores(np.array([0, 1, 1, 0]), np.array([[0.8, 0.2], [0.4, 0.6], [0.3, 0.7], [0.6, 0.4]]), 2)
    assert out["auc"] == 1.0
    assert out["accuracy"] == 1.0
    assert out["brier"] == pytest.approx((0.04 + 0.16 + 0.09 + 0.16) / 4)
    assert out["log_loss"] == pytest.approx(-(math.log(0.8) + math.log(0.6) + math.log(0.7) + math.log(0.6)) / 4)


def test_single_class_auc_is_nan_but_the_rest_is_scored():
    out = classification_scores(np.zeros(4, dtype=int), np.full((4, 2), 0.5), 2)
    assert math.isnan(out["auc"])
    assert out["brier"] == pytest.approx(0.25)
    assert out["log_loss"] == pytest.approx(math.log(2))
    assert math.isnan(classification_scores(np.array([0, 0, 1]), np.full((3, 3), 1 / 3), 3)["auc"])


# --- null AUC spread, bootstrap CI -------------------------------------------------------------------------


def test_null_auc_sd_formula():
    assert null_auc_sd(250, 250) == pytest.approx(math.sqrt(501 / (12 * 250 * 250)))
    assert 1.96 * null_auc_sd(250, 250) == pytest.approx(
        0.051, abs=5e-4
    )  # docs/synthetic_market.md: +-0.051 over 500 days
    assert null_auc_sd(10, 30) == pytest.approx(math.sqrt(41 / 3600))


def test_null_auc_sd_agrees_with_simulation():
    rng = np.random.default_rng(5)
    m, n, sims = 40, 60, 4000
    ranks = rng.random((sims, m + n)).argsort(axis=1).argsort(axis=1) + 1  # random scores, no ties
    aucs = (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    assert aucs.std() == pytest.approx(null_auc_sd(m, n), rel=0.05)


def test_bootstrap_ci_contains_the_auc_and_is_reproducible():
    y, score = scored_days(300, 0.6, seed=2)
    auc = roc_auc_score(y, score)
    low, high = bootstrap_auc_ci(y, score, n_boot=300, seed=7)
    assert low < auc < high
    assert high - low == pytest.approx(2 * 1.96 * 0.033, abs=0.03)  # roughly the normal-theory width
    assert bootstrap_auc_ci(y, score, n_boot=300, seed=7) == (low, high)
    assert bootstrap_auc_ci(y, score, n_boot=300, seed=8) != (low, high)


def test_bootstrap_ci_degenerate_inputs_are_nan():
    assert all(math.isnan(v) for v in bootstrap_auc_ci(np.ones(5, int), np.arange(5.0), n_boot=100, seed=0))
    assert all(math.isnan(v) for v in bootstrap_auc_ci(np.array([0, 1]), np.array([0.1, 0.9]), n_boot=0, seed=0))


# --- DeLong ------------------------------------------------------------------------------------------------


def test_delong_identical_scores_differ_by_zero():
    y, score = scored_days(200, 1.0, seed=3)
    diff, p = delong_test(y, score, score.copy())
    assert diff == 0.0
    assert math.isnan(p)  # zero variance of the difference: no test


def test_delong_clearly_better_score_has_small_p():
    y, good = scored_days(300, 2.0, seed=4)
    noise = np.random.default_rng(40).normal(size=300)
    diff, p = delong_test(y, good, noise)
    assert diff == pytest.approx(roc_auc_score(y, good) - roc_auc_score(y, noise), abs=1e-12)
    assert diff > 0.3
    assert p < 1e-8


def test_delong_is_antisymmetric_and_handles_ties():
    y, a = scored_days(150, 0.8, seed=6)
    b = np.round(a + np.random.default_rng(60).normal(0, 0.8, 150))  # integer scores: many ties
    diff, p = delong_test(y, a, b)
    assert diff == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)
    back, p_back = delong_test(y, b, a)
    assert back == pytest.approx(-diff, abs=1e-15)
    assert p_back == pytest.approx(p)
    assert 0 < p < 1


def test_delong_variance_is_close_to_a_paired_bootstrap():
    y, a = scored_days(400, 0.9, seed=9)
    b = 0.5 * a + np.random.default_rng(90).normal(size=400)
    diff, p = delong_test(y, a, b)
    delong_se = abs(diff) / PHI.inv_cdf(1 - p / 2)
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(300):  # resample days, both scores together
        idx = rng.integers(0, 400, 400)
        boot.append(roc_auc_score(y[idx], a[idx]) - roc_auc_score(y[idx], b[idx]))
    assert delong_se == pytest.approx(np.std(boot, ddof=1), rel=0.25)


def test_delong_single_class_is_nan():
    assert all(math.isnan(v) for v in delong_test(np.ones(4, int), np.arange(4.0), np.arange(4.0)))


# --- probabilistic and deflated Sharpe ---------------------------------------------------------------------

RETURNS = np.array([0.010, -0.005, 0.020, 0.003, -0.012, 0.007, 0.015, -0.002])


def psr_by_hand(r: np.ndarray, benchmark: float) -> float:
    t = len(r)
    mean = sum(r) / t
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / (t - 1))
    m2 = sum((x - mean) ** 2 for x in r) / t
    skew = (sum((x - mean) ** 3 for x in r) / t) / m2**1.5
    kurt = (sum((x - mean) ** 4 for x in r) / t) / m2**2  # not excess
    sr = mean / sd
    z = (sr - benchmark) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def test_psr_golden_value():
    assert probabilistic_sharpe(RETURNS) == pytest.approx(psr_by_hand(RETURNS, 0.0), abs=1e-12)
    assert probabilistic_sharpe(RETURNS) == pytest.approx(0.859726, abs=1e-6)
    assert probabilistic_sharpe(RETURNS, 0.1) == pytest.approx(psr_by_hand(RETURNS, 0.1), abs=1e-12)


def test_psr_is_one_half_at_its_own_sharpe():
    sr = RETURNS.mean() / RETURNS.std(ddof=1)
    assert probabilistic_sharpe(RETURNS, sr) == pytest.approx(0.5, abs=1e-12)


def test_psr_increases_with_the_sharpe_ratio():
    base = np.tile([-2.0, -1.0, 0.0, 1.0, 2.0], 10)  # symmetric: zero skew, so PSR is monotone in SR
    values = [probabilistic_sharpe(base + shift) for shift in (-0.5, -0.1, 0.0, 0.1, 0.3, 0.6)]
    assert values[2] == pytest.approx(0.5)
    assert all(a < b for a, b in zip(values, values[1:], strict=False))


def test_psr_decreases_with_the_benchmark():
    values = [probabilistic_sharpe(RETURNS, b) for b in (-0.2, 0.0, 0.2, 0.4)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_psr_degenerate_inputs():
    assert math.isnan(probabilistic_sharpe([0.01, 0.02]))  # fewer than three returns
    assert math.isnan(probabilistic_sharpe([470.0] * 10))  # no variance (exactly)
    with_nan = np.concatenate([RETURNS[:3], [np.nan], RETURNS[3:]])
    assert probabilistic_sharpe(with_nan) == probabilistic_sharpe(RETURNS)  # non-finite values dropped


# [0.01] * 10 has a float sd of ~2e-18, not 0, so the zero-variance guard is passed; the moments' own zero test
# (scipy.stats.skew's, which warned about catastrophic cancellation here) gives NaN.
def test_psr_of_a_nearly_constant_series_is_nan():
    assert math.isnan(probabilistic_sharpe([0.01] * 10))


def test_deflated_benchmark_is_zero_for_one_trial():
    assert deflated_sharpe_benchmark(0.3, 1) == 0.0
    assert deflated_sharpe_benchmark(0.3, 0) == 0.0


def test_deflated_benchmark_golden_value():
    expected = (1 - EULER_GAMMA) * PHI.inv_cdf(0.9) + EULER_GAMMA * PHI.inv_cdf(1 - 1 / (10 * math.e))
    assert deflated_sharpe_benchmark(1.0, 10) == pytest.approx(expected, abs=1e-9)
    assert deflated_sharpe_benchmark(1.0, 10) == pytest.approx(1.5746, abs=1e-4)
    assert deflated_sharpe_benchmark(4.0, 10) == pytest.approx(2 * expected, abs=1e-9)  # scales with sd(SR)


def test_deflated_benchmark_increases_with_trials():
    values = [deflated_sharpe_benchmark(0.01, n) for n in (1, 2, 5, 10, 100, 1000)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False))


def test_stationary_bootstrap_keeps_serial_dependence_in_the_interval():
    from almanac.ml.metrics import stationary_bootstrap_ci

    rng = np.random.default_rng(3)
    x = np.zeros(1500)
    for t in range(1, len(x)):  # AR(1), phi 0.9: strongly dependent days
        x[t] = 0.9 * x[t - 1] + rng.normal()
    iid = stationary_bootstrap_ci(np.mean, x, block_days=1, n_boot=400, seed=0)
    blocks = stationary_bootstrap_ci(np.mean, x, block_days=30, n_boot=400, seed=0)
    assert iid[0] < x.mean() < iid[1] and blocks[0] < x.mean() < blocks[1]
    # the long-run sd of an AR(1) mean is sqrt((1 + phi) / (1 - phi)) ~ 4.4 times the i.i.d. one
    assert (blocks[1] - blocks[0]) > 2.5 * (iid[1] - iid[0])
    assert stationary_bootstrap_ci(np.mean, x, block_days=30, n_boot=400, seed=0) == blocks  # seeded
    assert np.isnan(stationary_bootstrap_ci(np.mean, x[:40], block_days=30, n_boot=400, seed=0)).all()


@pytest.mark.parametrize(("n", "block_days", "seed"), [(1, 1, 0), (7, 3, 1), (500, 1, 2), (500, 10, 3), (2000, 50, 4)])
def test_stationary_bootstrap_resamples_are_archs(n, block_days, seed):
    """The same resamples as ``arch.bootstrap.StationaryBootstrap`` for the same generator, one after another."""
    bootstrap = pytest.importorskip("arch.bootstrap")
    from almanac.ml.metrics import stationary_bootstrap_indices

    x = np.arange(n)
    sampler = bootstrap.StationaryBootstrap(block_days, x, seed=np.random.default_rng(seed))
    ours = np.random.default_rng(seed)
    for (data,), _ in sampler.bootstrap(20):
        np.testing.assert_array_equal(x[stationary_bootstrap_indices(ours, n, block_days)], data)


@pytest.mark.parametrize(
    "kind", ["continuous", "ties", "integers", "nan", "empty", "booleans", "signed_zeros", "two", "all_equal"]
)
def test_midranks_are_scipys_average_ranks_bit_for_bit(kind):
    """The information coefficient's Spearman ranks (and the DeLong test's) without importing scipy.stats; NaN goes
    to scipy itself."""
    from scipy import stats

    from almanac.ml.metrics import midranks

    rng = np.random.default_rng(5)
    x = {
        "continuous": rng.normal(size=500),
        "ties": np.round(rng.random(500), 2),
        "integers": rng.integers(-3, 3, 500),
        "nan": np.r_[rng.normal(size=20), np.nan],
        "empty": np.array([]),
        "booleans": rng.random(500) < 0.3,
        "signed_zeros": np.where(rng.random(500) < 0.2, 1.0, np.where(rng.random(500) < 0.5, 0.0, -0.0)),
        "two": np.array([0.7, 0.2]),
        "all_equal": np.full(300, 0.52),
    }[kind]
    expected = stats.rankdata(x, method="average")
    np.testing.assert_array_equal(midranks(x), expected)
    assert midranks(x).dtype == expected.dtype


def test_block_auc_interval_skips_one_class_resamples():
    from almanac.ml.metrics import rank_auc, stationary_bootstrap_ci

    y = np.r_[np.zeros(200), np.ones(200)]  # sorted: many short-block resamples still hold both classes
    p = np.r_[np.linspace(0.1, 0.6, 200), np.linspace(0.4, 0.9, 200)]
    low, high = stationary_bootstrap_ci(rank_auc, y, p, block_days=5, n_boot=200, seed=1)
    assert 0.5 < low <= rank_auc(y, p) <= high <= 1.0


def test_rank_auc_is_scikit_learns_auc_with_ties_and_nan_with_one_class():
    from sklearn.metrics import roc_auc_score

    from almanac.ml.metrics import rank_auc

    rng = np.random.default_rng(3)
    for n in (5, 50, 1754):
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        score = np.round(rng.random(n) + 0.2 * y, 1)  # rounded: many ties
        assert rank_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-14)
    assert np.isnan(rank_auc(np.ones(4, dtype=int), np.arange(4.0)))


def _moment_inputs():
    rng = np.random.default_rng(11)
    yield from (rng.normal(size=n) for n in (3, 4, 7, 50, 1001, 2268))  # a few lengths, pairwise summation's blocks
    yield rng.standard_t(3, size=2000) * 500.0  # fat tails, dollar scale
    yield np.where(rng.random(2268) < 0.5, 0.0, rng.normal(0, 400, 2268))  # mostly-zero daily P&L
    yield np.round(rng.normal(size=300), 1)  # ties
    yield np.r_[rng.normal(size=20), np.nan]  # NaN propagates
    yield np.full(10, 470.0)  # no variance: NaN
    yield np.full(10, 0.01)  # variance ~1e-35, below scipy's zero test: NaN
    yield 1e6 + rng.normal(size=200)  # large mean
    yield np.array([1.0, 2.0, 1e300])  # overflowing powers
    yield rng.integers(-5, 5, 100)  # integers


@pytest.mark.filterwarnings("ignore:Precision loss occurred in moment calculation:RuntimeWarning")
@pytest.mark.parametrize("x", list(_moment_inputs()), ids=lambda x: f"n{len(x)}")
def test_skew_kurtosis_are_scipys(x):
    """The kurtosis bit for bit; the skew within two ulps (``m2 * sqrt(m2)`` for scipy's ``m2 ** 1.5``, whose
    ``power`` differs by CPU)."""
    from scipy import stats

    from almanac.ml.metrics import skew_kurtosis

    skew, kurtosis = skew_kurtosis(x)
    with np.errstate(all="ignore"):
        expected = (stats.skew(x), stats.kurtosis(x, fisher=False))
    np.testing.assert_array_equal(kurtosis, expected[1])  # NaN where scipy has NaN, else the same bits
    np.testing.assert_array_equal(np.isnan(skew), np.isnan(expected[0]))
    if np.isfinite(expected[0]):
        assert skew == pytest.approx(expected[0], rel=4.5e-16, abs=0.0)
    assert type(skew) is type(expected[0]) and type(kurtosis) is type(expected[1])


def test_normal_distribution_ufuncs_are_scipy_stats_norm_bit_for_bit():
    from scipy import stats
    from scipy.special import ndtr, ndtri

    rng = np.random.default_rng(12)
    x = np.r_[rng.normal(0, 3, 5000), rng.normal(0, 40, 500), 0.0, -0.0, 1e-300, 38.5, -38.5, np.inf, -np.inf, np.nan]
    np.testing.assert_array_equal(ndtr(x), stats.norm.cdf(x))
    np.testing.assert_array_equal(ndtr(-x), stats.norm.sf(x))
    q = np.r_[rng.random(5000), 0.5, 1e-300, 1.0 - 1e-16, 0.0, 1.0, np.nan, 1.0 - 1.0 / np.arange(2, 2000)]
    np.testing.assert_array_equal(ndtri(q), stats.norm.ppf(q))
    for value in (0.3, -2.5, 0.0):  # scalars as the metrics pass them
        assert float(ndtr(value)) == float(stats.norm.cdf(value))
        assert float(ndtr(-abs(value))) == float(stats.norm.sf(abs(value)))


@pytest.mark.parametrize("kind", ["continuous", "ties", "one_class_rows", "nan", "integers", "signed_zeros", "short"])
def test_resampled_rank_auc_is_rank_auc_of_each_resample_bit_for_bit(kind):
    from almanac.ml.metrics import rank_auc, resampled_rank_auc

    rng = np.random.default_rng(13)
    n = 2 if kind == "short" else 1754
    y = rng.integers(0, 2, n)
    score = rng.random(n) + 0.1 * y
    rows = rng.integers(0, n, (300, n))  # resamples with replacement: many ties
    rows[:50] = np.arange(n)[None, :] + np.zeros((50, 1), dtype=int)  # the sample itself
    if kind == "ties":
        score = np.round(score, 2)
    if kind == "one_class_rows":
        rows[::7] = np.flatnonzero(y == 1)[0]  # a single day repeated
        rows[3::7, : n // 2] = np.flatnonzero(y == 0)[:1]
    if kind == "nan":
        score[::97] = np.nan
    if kind == "integers":
        score = rng.integers(0, 4, n)
    if kind == "signed_zeros":
        score = np.where(rng.random(n) < 0.5, 0.0, -0.0) + np.where(rng.random(n) < 0.3, 1.0, 0.0)
    expected = np.array([rank_auc(y[r], score[r]) for r in rows])
    np.testing.assert_array_equal(resampled_rank_auc(y, score, rows, chunk=64), expected)  # NaN where NaN
    windows = np.arange(n - 1)[:, None] + np.arange(2)[None, :]  # short windows, as the rolling AUC's
    expected = np.array([rank_auc(y[r], score[r]) for r in windows])
    np.testing.assert_array_equal(resampled_rank_auc(y, score, windows), expected)
    assert resampled_rank_auc(y, score, rows[:0]).shape == (0,)


def test_bootstrap_intervals_are_those_of_one_auc_per_resample():
    """The bootstrap intervals compute their resamples' AUCs all at once (resampled_rank_auc): the interval of a loop
    calling rank_auc on each resample, with the seed's draws in the same order."""
    from almanac.ml.metrics import bootstrap_auc_ci, rank_auc, resampled_rank_auc, stationary_bootstrap_ci

    rng = np.random.default_rng(14)
    y = rng.integers(0, 2, 600)
    p = np.round(rng.random(600) + 0.2 * y, 2)
    expected = stationary_bootstrap_ci(rank_auc, y, p, block_days=20, n_boot=150, seed=3)
    assert (
        stationary_bootstrap_ci(rank_auc, y, p, block_days=20, n_boot=150, seed=3, of_resamples=resampled_rank_auc)
        == expected
    )
    draws = np.random.default_rng(4)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    aucs = []
    for _ in range(150):
        idx = np.concatenate([draws.choice(pos, len(pos)), draws.choice(neg, len(neg))])
        aucs.append(rank_auc(y[idx], p[idx]))
    assert bootstrap_auc_ci(y, p, n_boot=150, seed=4) == (np.quantile(aucs, 0.025), np.quantile(aucs, 0.975))


def _binary_cases():
    rng = np.random.default_rng(15)
    for n in (2, 3, 9, 126, 1754):  # a fold's test block is 126 days
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        yield f"random{n}", y, np.clip(0.5 + 0.1 * (y - 0.5) + rng.normal(0, 0.1, n), 0.01, 0.99)
    y = rng.integers(0, 2, 500)
    yield "ties", y, np.round(rng.random(500) * 0.2 + 0.4 + 0.05 * y, 2)
    yield "few_values", y, rng.choice([0.3, 0.5, 0.7], 500)  # the baselines' handful of probabilities
    yield "constant", y, np.full(500, 0.52)
    yield "extremes", y, np.where(rng.random(500) < 0.5, 0.0, 1.0) * (1 - 1e-17) + rng.random(500) * 1e-16
    yield "signed_zero_scores", y, np.where(rng.random(500) < 0.5, 0.0, -0.0) + 0.5 * (rng.random(500) < 0.4)
    yield "one_class", np.ones(50, dtype=int), rng.random(50)
    yield "single_day", np.zeros(1, dtype=int), np.array([0.3])


@pytest.mark.parametrize(("name", "y", "p"), list(_binary_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_binary_classification_scores_are_scikit_learns_bit_for_bit(name, y, p):
    """The binary scores skip scikit-learn's input checks and compute what it computes: the same bits (the log
    loss to its last bit: its logarithm is almanac.numerics')."""
    from almanac.ml.metrics import binary_auc

    proba = np.column_stack([1 - p, p])
    got = classification_scores(y, proba, 2)
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    both = len(np.unique(y)) == 2
    expected = {
        "auc": roc_auc_score(y, clipped[:, 1]) if both else float("nan"),
        "accuracy": accuracy_score(y, clipped.argmax(axis=1)),
        "brier": brier_score_loss(y, clipped[:, 1]),
        "log_loss": log_loss(y, clipped, labels=[0, 1]),
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert type(got[key]) is float
        if key == "log_loss":  # almanac.numerics.log, scikit-learn numpy's log (its last bit differs by CPU)
            assert got[key] == pytest.approx(value, rel=1e-15, abs=0.0), key
        else:
            np.testing.assert_array_equal(got[key], value, err_msg=key)  # equal bits; NaN where NaN
    if both:
        assert binary_auc(y, p) == roc_auc_score(y, p)
        assert binary_auc(y == 1, p) == roc_auc_score(y == 1, p)  # boolean labels, as the per-class AUCs pass them


def test_binary_auc_leaves_other_inputs_to_scikit_learn():
    from almanac.ml.metrics import binary_auc

    with pytest.raises(ValueError, match="NaN"):
        binary_auc(np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]))  # scikit-learn's error, not a silent value
    y, p = np.array([1, 2, 2, 1]), np.array([0.1, 0.8, 0.6, 0.2])  # labels 1 and 2: scikit-learn's positive is 2
    assert binary_auc(y, p) == roc_auc_score(y, p) == 1.0


@pytest.mark.parametrize("n", [3, 8, 9, 17, 129, 1754, 2268])
def test_resampled_sharpe_is_annualised_sharpe_of_each_resample_bit_for_bit(n):
    from almanac.ml.metrics import annualised_sharpe, resampled_sharpe, stationary_bootstrap_ci

    rng = np.random.default_rng(16)
    daily = rng.standard_t(3, n) * 300.0 * (rng.random(n) < 0.5)  # fat-tailed P&L, flat half the days
    daily[:2] = [0.0, 250.0]
    rows = rng.integers(0, n, (300, n))
    rows[:3] = 0  # one day repeated: no variation, NaN
    expected = np.array([annualised_sharpe(daily[r]) for r in rows])
    np.testing.assert_array_equal(resampled_sharpe(daily, rows, chunk=64), expected)
    with_nan = np.r_[daily[:-1], np.nan]
    expected = np.array([annualised_sharpe(with_nan[r]) for r in rows])
    np.testing.assert_array_equal(resampled_sharpe(with_nan, rows), expected)
    if n >= 40:
        one_by_one = stationary_bootstrap_ci(annualised_sharpe, daily, block_days=20, n_boot=200, seed=5)
        at_once = stationary_bootstrap_ci(
            annualised_sharpe, daily, block_days=20, n_boot=200, seed=5, of_resamples=resampled_sharpe
        )
        assert at_once == one_by_one
