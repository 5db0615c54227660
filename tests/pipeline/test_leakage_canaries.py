"""Leakage canaries on small synthetic markets (docs/synthetic_market.md).

* A martingale (kappa = 0, three seeds) must score chance: every model's out-of-fold rest-of-day AUC within 3
  null standard deviations of 0.5 (sd from the test-day counts).  A leak anywhere (features, labels, folds) shows up here.
* A planted signal (kappa = 0.5, rho = 0.8) must be learned: LightGBM and logistic reach at least
  0.5 + 0.6 (oracle AUC - 0.5) and no more than the oracle + 3 sd (beating the Bayes-optimal is a leak).

Five years (2018-2022) with one-year minimum training and quarterly test blocks give ~1000 test days
(null sd ~0.018).  LightGBM is regularised for this sample size (small trees, slow learning); the original
design's defaults (31 leaves, 100 trees at 0.05) overfit 250-day training sets, which would test the
hyperparameters rather than leakage.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from almanac.config import CVParams, LightGBMParams, TrainParams, learner_names
from almanac.data_sources.synthetic import build_synthetic_dataset
from almanac.features.ml_features import build_features
from almanac.ml.labelers import build_labels
from almanac.ml.metrics import null_auc_sd
from almanac.ml.models import BASELINES
from almanac.ml.trainers import train
from almanac.sessions import build_sessions
from almanac.synth.market import MarketSpec
from almanac.synth.oracle import oracle_probability

pytestmark = pytest.mark.slow
CUTOFF = dt.time(10, 15)
CV = CVParams(scheme="expanding", test_days=63, min_train_days=252, purge_days=1, embargo_days=5)
TRAIN = TrainParams(
    lightgbm=LightGBMParams(
        num_leaves=4, min_child_samples=40, n_estimators=300, learning_rate=0.02, colsample_bytree=0.8
    )
)


def market(kappa: float, rho: float, seed: int):
    data = build_synthetic_dataset(MarketSpec(start="2018-01-01", end="2022-12-31", seed=seed, kappa=kappa, rho=rho))
    sessions = build_sessions(data.bars, CUTOFF, data.manifest["rolls"])
    features, _ = build_features(data.bars, sessions, data.daily)
    return data, sessions, features, build_labels(sessions, data.bars)


@pytest.fixture(scope="module", params=[101, 202, 303], ids=lambda seed: f"seed{seed}")
def null_market(request):
    return market(0.0, 0.8, seed=request.param)


@pytest.fixture(scope="module")
def signal_market():
    return market(0.5, 0.8, seed=102)


def oof_auc(market_data, model: str) -> tuple[float, float, np.ndarray, np.ndarray]:
    _, sessions, features, labels = market_data
    settings = TRAIN.model_copy(update={"model": model})
    out = train(features, labels, sessions, target="rest_of_day", settings=settings, cv=CV)
    y, p = out.oof["y_true"].to_numpy(), out.oof["probability"].to_numpy()
    return roc_auc_score(y, p), null_auc_sd(int(y.sum()), int((y == 0).sum())), y, out.oof["trade_date"]


@pytest.mark.parametrize("model", [*learner_names(), *BASELINES])
def test_martingale_scores_chance(null_market, model):
    auc, sd, _, _ = oof_auc(null_market, model)
    assert abs(auc - 0.5) <= 3 * sd, f"{model}: AUC {auc:.4f} is more than 3 sd ({sd:.4f}) from 0.5 on a martingale"


@pytest.mark.parametrize("model", ["lightgbm", "logistic"])
def test_planted_signal_is_learned_but_never_beats_the_oracle(signal_market, model):
    data, sessions, _, _ = signal_market
    auc, sd, y, dates = oof_auc(signal_market, model)
    oracle = oracle_probability(data.truth, sessions, cutoff=CUTOFF, target="rest_of_day").reindex(dates).to_numpy()
    oracle_auc = roc_auc_score(y, oracle)
    assert auc >= 0.5 + 0.6 * (oracle_auc - 0.5), f"{model}: AUC {auc:.4f}, oracle {oracle_auc:.4f}"
    assert auc <= oracle_auc + 3 * sd, f"{model}: AUC {auc:.4f} beats the oracle {oracle_auc:.4f} by > 3 sd: a leak"
