"""Model evaluation: classification metrics, SHAP importance, drift (rolling AUC), calibration and ROC data.

Differences from the original design: ``detect_concept_drift`` scores AUC (the original said AUC but scored
accuracy), and all curves are returned as small tables so the pipeline can store them as DVC plots.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix, f1_score, roc_auc_score, roc_curve
from sklearn.pipeline import Pipeline

from almanac import schemas
from almanac.config import BASELINES, DEFAULTS, EvaluateParams
from almanac.errors import AlmanacWarning
from almanac.ml.metrics import (
    bootstrap_auc_ci,
    classification_scores,
    correlation,
    delong_test,
    null_auc_sd,
    rank_auc,
    stationary_bootstrap_ci,
)

ECE_NULL_DRAWS = 1000  # label draws from the model's own probabilities: the ECE a calibrated model shows by chance
ECE_NULL_QUANTILE = 0.95  # an ECE above this quantile of that null is evidence of miscalibration


class ModelEvaluator:
    """Comprehensive model evaluation."""

    def evaluate_classification(self, y_true, y_pred, y_proba=None, *, classes=None) -> dict:
        """Accuracy, confusion matrix and classification report; with ``y_proba`` (n x classes) also ``roc_auc``
        (binary; macro one-vs-rest when multiclass; NaN when ``y_true`` holds one class), Brier score and log loss.

        ``classes`` names the columns of ``y_proba`` (default: the sorted labels seen in ``y_true`` and ``y_pred``,
        which must then number as many as the columns; otherwise pass ``classes`` explicitly).
        """
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        labels = np.unique(np.concatenate([y_true, y_pred]))
        metrics = {
            "accuracy": float((y_true == y_pred).mean()),
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels),
            "classification_report": classification_report(y_true, y_pred, labels=labels, zero_division=0),
        }
        if y_proba is not None:
            y_proba = np.asarray(y_proba, dtype=float)
            if y_proba.ndim == 1:
                y_proba = np.column_stack([1 - y_proba, y_proba])
            classes = np.asarray(sorted(classes)) if classes is not None else labels
            if len(classes) == 1 and y_proba.shape[1] == 2 and classes[0] in (0, 1):
                classes = np.array([0, 1])  # a binary window holding one class
            if len(classes) != y_proba.shape[1]:
                raise ValueError(
                    f"y_proba has {y_proba.shape[1]} columns but the labels are {list(classes)}: pass classes="
                )
            unknown = ~np.isin(y_true, classes)
            if unknown.any():
                raise ValueError(f"labels {sorted(set(y_true[unknown]))} are not among classes {list(classes)}")
            codes = np.searchsorted(classes, y_true)
            scores = classification_scores(codes, y_proba, len(classes))
            metrics.update({"roc_auc": scores["auc"], "brier": scores["brier"], "log_loss": scores["log_loss"]})
        return metrics

    def compute_shap_values(
        self, model, X: pd.DataFrame, background_samples: int = 100, *, background: pd.DataFrame | None = None
    ) -> np.ndarray | None:
        """SHAP values (rows x features; multiclass: averaged magnitude is left to the caller, classes last).

        The method follows the estimator's entry in :data:`almanac.ml.models.EXPLAINERS`: trees (LightGBM,
        XGBoost, any tree ensemble ``shap.TreeExplainer`` reads) use ``shap.TreeExplainer``; linear models (the logistic pipeline) use ``LinearExplainer`` on
        their imputed, scaled inputs with ``background_samples`` rows of ``background`` (default ``X`` itself) as
        background.  Baselines have no features to explain and return ``None``; a model with no entry raises
        :class:`almanac.ml.models.NoExplainerError`.
        """
        from almanac.ml.models import explained_model, explainer_of  # lazily: the model libraries are slow

        kind, estimator = explainer_of(model)
        if kind is None:
            return None
        import shap  # imported lazily: it is slow to import and only needed here

        model = explained_model(model)
        if kind in ("lightgbm", "xgboost", "tree"):
            with warnings.catch_warnings():
                # shap announces that LightGBM binary output layouts changed; both layouts are handled below.
                warnings.filterwarnings(
                    "ignore", message="LightGBM binary classifier with TreeExplainer", category=UserWarning
                )
                values = shap.TreeExplainer(estimator).shap_values(X)
        elif kind == "linear":
            prep = model[:-1] if isinstance(model, Pipeline) else None
            data = prep.transform(X) if prep is not None else X.to_numpy()
            pool = data if background is None else (prep.transform(background) if prep is not None else background)
            pool = np.asarray(pool)
            rows = pool[np.linspace(0, len(pool) - 1, min(background_samples, len(pool))).astype(int)]
            values = shap.LinearExplainer(estimator, rows).shap_values(data)
        else:
            raise ValueError(f"unknown SHAP explainer kind {kind!r} in almanac.ml.models.EXPLAINERS")
        values = np.asarray(values)
        if values.ndim == 3 and values.shape[0] == len(X) and values.shape[1] == X.shape[1]:
            return values  # rows x features x classes
        if values.ndim == 3:  # classes x rows x features (older layouts)
            return np.moveaxis(values, 0, -1)
        return values

    def detect_concept_drift(self, model, X_windows, y_windows) -> list[float]:
        """AUC of ``model`` on each (X, y) window, in order (NaN where a window holds a single class)."""
        scores = []
        for X_window, y_window in zip(X_windows, y_windows, strict=True):  # one iteration per window
            y = np.asarray(y_window)
            if len(np.unique(y)) < 2:
                scores.append(float("nan"))
                continue
            scores.append(float(roc_auc_score(y, model.predict_proba(X_window)[:, 1])))
        return scores


def shap_importance(values: np.ndarray | None, feature_names: list[str]) -> pd.DataFrame:
    """Mean |SHAP| per feature (averaged over classes when multiclass), largest first."""
    if values is None:
        return pd.DataFrame({"feature": feature_names, "mean_abs_shap": np.nan})
    magnitude = np.abs(values)
    if magnitude.ndim == 3:
        magnitude = magnitude.mean(axis=2)
    out = pd.DataFrame({"feature": feature_names, "mean_abs_shap": magnitude.mean(axis=0)})
    return out.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)


def rolling_auc(
    dates: pd.Series, y: np.ndarray, score: np.ndarray, *, window_days: int, step_days: int = 5
) -> pd.DataFrame:
    """AUC over the trailing ``window_days`` out-of-fold days, every ``step_days`` days (drift monitor)."""
    dates = pd.DatetimeIndex(dates)
    y, score = np.asarray(y, dtype=int), np.asarray(score, dtype=float)
    rows = []
    for end in range(window_days, len(dates) + 1, step_days):  # one iteration per plotted point
        yy, ss = y[end - window_days : end], score[end - window_days : end]
        auc = rank_auc(yy, ss)
        rows.append((dates[end - 1], auc))
    return pd.DataFrame(rows, columns=["trade_date", "auc"])


def breakdown(
    oof: pd.DataFrame, y: np.ndarray, p: np.ndarray, *, returns: pd.Series | None, context: pd.DataFrame
) -> pd.DataFrame:
    """Per value of each ``context`` column: ``n_days``, ``auc`` (NaN with one class), ``hit_rate`` (share of
    days whose side, ``p >= 0.5`` up, was right) and ``signed_return_pct`` (mean of the side times the
    cutoff-to-close return: a cost-free P&L proxy).  Where the signal works and where it does not.

    Rows come group by group (``context``'s column order) and, within a group, in the natural order of its values:
    a categorical column's category order (weekdays Monday to Friday, terciles low to high), otherwise ascending
    (years, False before True).  ``label`` is ``"<group> <value> (<n_days>)"``, e.g. ``"weekday Mon (328)"``: the
    values repeat across groups (low, True), and a chart of the labels shows what each bar rests on."""
    dates = pd.DatetimeIndex(oof["trade_date"])
    ctx = context.reindex(dates)
    side = np.where(p >= 0.5, 1.0, -1.0)
    hit = (side > 0) == (y == 1)
    r = returns.reindex(dates).to_numpy(dtype=float) if returns is not None else np.full(len(p), np.nan)
    rows = []
    for column in ctx.columns:  # a handful of groupings
        values = ctx[column].to_numpy()
        for value in _natural_order(ctx[column]):  # a few values each
            rows_of = values == value
            both = len(np.unique(y[rows_of])) == 2
            rows.append(
                {
                    "group": column,
                    "value": str(value),
                    "n_days": int(rows_of.sum()),
                    "auc": float(roc_auc_score(y[rows_of], p[rows_of])) if both else float("nan"),
                    "hit_rate": float(hit[rows_of].mean()),
                    "signed_return_pct": float(np.nanmean(side[rows_of] * r[rows_of])),
                }
            )
    table = pd.DataFrame(rows, columns=["group", "value", "n_days", "auc", "hit_rate", "signed_return_pct"])
    return table.assign(label=table["group"] + " " + table["value"] + " (" + table["n_days"].astype(str) + ")")


def _natural_order(values: pd.Series) -> list:
    """The distinct values present in ``values``: in category order for a categorical, else ascending."""
    present = values.dropna()
    if isinstance(present.dtype, pd.CategoricalDtype):
        return [c for c in present.cat.categories if (present == c).any()]
    return sorted(pd.unique(present))


def information_coefficient(oof: pd.DataFrame, p: np.ndarray, returns: pd.Series) -> dict:
    """IC (Pearson) and rank IC (Spearman) of the signal ``p - 0.5`` against ``returns``, pooled and per fold.

    ``ic``/``rank_ic`` over all out-of-fold days; ``ic_fold_mean``/``rank_ic_fold_mean`` the mean of per-fold
    values and ``ic_tstat``/``rank_ic_tstat`` their t-statistic (mean / standard error over folds), the way
    Qlib's signal analysis reports them.  Spearman's is Pearson's on ``scipy.stats.rankdata`` ranks; both are
    computed without BLAS (:func:`almanac.ml.metrics.correlation`), so they do not vary with the CPU.
    """
    from scipy import stats

    def spearman(x, y):
        return correlation(stats.rankdata(x), stats.rankdata(y))

    r = returns.reindex(pd.DatetimeIndex(oof["trade_date"])).to_numpy(dtype=float)
    signal = p - 0.5
    known = np.isfinite(r) & np.isfinite(signal)
    fold = oof["fold"].to_numpy()
    out = {}
    for name, corr in (("ic", correlation), ("rank_ic", spearman)):
        out[name] = corr(signal[known], r[known]) if known.sum() > 2 else float("nan")
        per_fold = np.array(
            [corr(signal[known & (fold == f)], r[known & (fold == f)]) for f in np.unique(fold[known])]
        )  # one value per fold
        mean = float(per_fold.mean()) if len(per_fold) else float("nan")
        se = per_fold.std(ddof=1) / np.sqrt(len(per_fold)) if len(per_fold) > 1 else float("nan")
        out[f"{name}_fold_mean"] = mean
        out[f"{name}_tstat"] = float(mean / se) if se and se > 0 else float("nan")
    return out


def _per_fold_difference(fold: np.ndarray, y: np.ndarray, p: np.ndarray, base: np.ndarray, name: str) -> dict:
    """Mean over folds of (model AUC - baseline AUC) and its paired t-test p-value (two-sided, scipy)."""
    from scipy import stats

    diffs = []
    for f in np.unique(fold):  # one iteration per fold
        rows = fold == f
        if len(np.unique(y[rows])) == 2:
            diffs.append(rank_auc(y[rows], p[rows]) - rank_auc(y[rows], base[rows]))
    diffs = np.asarray(diffs)
    p_value = float(stats.ttest_1samp(diffs, 0.0).pvalue) if len(diffs) > 1 and diffs.std() > 0 else float("nan")
    return {
        f"fold_auc_minus_{name}": float(diffs.mean()) if len(diffs) else float("nan"),
        f"fold_ttest_p_vs_{name}": p_value,
    }


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int) -> pd.DataFrame:
    """Reliability curve: per equal-width probability bin, mean predicted, observed frequency and count."""
    p = np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = _bin_of(p, bins)
    frame = pd.DataFrame({"bin": which, "p": p, "y": np.asarray(y, dtype=float)})
    table = (
        frame.groupby("bin")
        .agg(mean_predicted=("p", "mean"), observed=("y", "mean"), count=("y", "size"))
        .reset_index()
    )
    table["bin_low"] = edges[table["bin"]]
    table["bin_high"] = edges[table["bin"] + 1]
    table["perfect"] = table["mean_predicted"]  # the diagonal, drawn beside the observed frequencies
    return table[["bin", "bin_low", "bin_high", "mean_predicted", "observed", "count", "perfect"]]


def _bin_of(p: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bin of each probability (the bins of :func:`calibration_table`)."""
    return np.clip(np.digitize(p, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)


def _ece_rows(bin_index: np.ndarray, gap: np.ndarray, bins: int) -> np.ndarray:
    """ECE of each row of ``gap`` (predicted minus observed per day) with the days' bins ``bin_index`` (same shape):
    sum over bins of |sum of gaps in the bin| / days, which is the count-weighted |mean predicted - observed|."""
    rows, n = gap.shape
    keys = (np.arange(rows)[:, None] * bins + bin_index).reshape(-1)
    sums = np.bincount(keys, weights=gap.reshape(-1), minlength=rows * bins).reshape(rows, bins)
    return np.abs(sums).sum(axis=1) / n


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int) -> float:
    """ECE of probabilities ``p`` for 0/1 outcomes ``y`` over ``bins`` equal-width bins (count-weighted
    |mean predicted - observed frequency|); NaN without days."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if len(p) == 0:
        return float("nan")
    return float(_ece_rows(_bin_of(p, bins)[None, :], (p - y)[None, :], bins)[0])


def ece_noise(
    y: np.ndarray, p: np.ndarray, *, bins: int, n_boot: int, seed: int, level: float = 0.95
) -> dict[str, float]:
    """How much of an ECE is noise: ``ece_ci_low/high``, the percentile interval of the ECE over ``n_boot``
    bootstrap resamples of the days, and ``ece_null_mean``/``ece_null_p95``, the ECE that a *perfectly calibrated*
    model with these very probabilities shows by chance (outcomes drawn as Bernoulli(p), :data:`ECE_NULL_DRAWS`
    times).  With a few hundred days per bin the null is far from zero (the default run: about 0.02), so an ECE is
    judged against it rather than against a fixed number."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    n = len(p)
    out = dict.fromkeys(("ece_ci_low", "ece_ci_high", "ece_null_mean", "ece_null_p95"), float("nan"))
    if n == 0:
        return out
    rng = np.random.default_rng(seed)
    home = _bin_of(p, bins)
    draws = (rng.random((ECE_NULL_DRAWS, n)) < p).astype(float)  # outcomes of a calibrated forecaster
    null = _ece_rows(np.broadcast_to(home, draws.shape), p - draws, bins)
    out["ece_null_mean"], out["ece_null_p95"] = float(null.mean()), float(np.quantile(null, ECE_NULL_QUANTILE))
    if n_boot > 0:
        idx = rng.integers(0, n, size=(n_boot, n))
        boot = _ece_rows(home[idx], p[idx] - y[idx], bins)
        tail = (1.0 - level) / 2.0
        out["ece_ci_low"], out["ece_ci_high"] = float(np.quantile(boot, tail)), float(np.quantile(boot, 1.0 - tail))
    return out


def roc_table(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """ROC curve points (false and true positive rates by threshold)."""
    fpr, tpr, thresholds = roc_curve(np.asarray(y, dtype=int), np.asarray(p, dtype=float))
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.minimum(thresholds, 1.0), "chance": fpr})


def confusion_table(y_true: np.ndarray, y_pred: np.ndarray, labels: list) -> pd.DataFrame:
    """Long-format confusion matrix: actual, predicted, count."""
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    return pd.DataFrame(
        [(str(a), str(p), int(matrix[i, j])) for i, a in enumerate(labels) for j, p in enumerate(labels)],
        columns=["actual", "predicted", "count"],
    )


def _class_name(value) -> str:
    """A class as a label: ``1.0`` (labels are stored as floats, NaN when unknown) -> ``'1'``; names unchanged."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def multiclass_scores(y_codes: np.ndarray, proba: np.ndarray, names: list[str]) -> dict[str, float]:
    """``macro_f1`` of the argmax prediction, and per class ``auc_<class>`` (one vs rest; NaN when the class is
    absent or alone), ``f1_<class>`` and ``share_<class>`` (its share of the days)."""
    labels = np.arange(len(names))
    predicted = proba.argmax(axis=1)
    f1 = f1_score(y_codes, predicted, labels=labels, average=None, zero_division=0.0)
    out = {"macro_f1": float(f1.mean())}
    for k, name in enumerate(names):  # a handful of classes
        member = y_codes == k
        out[f"auc_{name}"] = (
            float(roc_auc_score(member, proba[:, k])) if 0 < member.sum() < len(member) else float("nan")
        )
        out[f"f1_{name}"] = float(f1[k])
        out[f"share_{name}"] = float(member.mean()) if len(member) else float("nan")
    return out


def _scores(y_codes: np.ndarray, proba: np.ndarray, n_classes: int, prefix: str) -> dict:
    return {f"{prefix}{k}": v for k, v in classification_scores(y_codes, proba, n_classes).items()}


def _matrix(oof: pd.DataFrame, prefix: str, classes: list) -> np.ndarray:
    if len(classes) == 2:
        p = oof[prefix].to_numpy()
        return np.column_stack([1 - p, p])
    return oof[[f"{prefix}_{c}" for c in classes]].to_numpy()


def evaluate(
    oof: pd.DataFrame,
    *,
    classes: list,
    shap_values: np.ndarray | None = None,
    feature_names: list[str] = (),
    oracle: pd.Series | None = None,
    returns: pd.Series | None = None,
    context: pd.DataFrame | None = None,
    settings: EvaluateParams | None = None,
) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Flat metrics and plot tables for out-of-fold predictions, against the baselines and the oracle.

    Parameters
    ----------
    oof : DataFrame
        Out-of-fold predictions as :func:`almanac.ml.trainers.train` returns them or ``pd.read_parquet`` reads
        ``data/predictions/oof.parquet`` (``trade_date`` column or index, one row per date, sorted; ``fold``,
        ``y_true``, the model's and the baselines' probability columns); converted and checked as
        :mod:`almanac.schemas` says, not modified.
    classes : list
        Sorted label classes (``[0.0, 1.0]`` for binary targets).
    shap_values : ndarray, optional
        SHAP values (rows x features[, classes]) for the importance plot; ``feature_names`` names the columns.
    feature_names : list of str, default ()
        Columns of ``shap_values``.
    oracle : Series, optional
        Bayes-optimal probabilities by trade date (synthetic data only): adds ``oracle_auc`` and
        ``oracle_efficiency``.
    returns : Series, optional
        The return the signal is about, by trade date (the pipeline: cutoff price to close, in percent): adds
        the information coefficient of ``probability - 0.5`` against it (binary targets).
    context : DataFrame, optional
        Grouping columns by trade date (e.g. ``year``, ``weekday``, ``half_day``, ``atr_tercile``): adds the
        ``breakdown`` table (per group: days, AUC, hit rate, mean signed return) for binary targets.
    settings : EvaluateParams, optional
        ``evaluate.*``; default the schema's.

    Returns
    -------
    metrics : dict
        Flat, stable keys (see ``metrics/evaluate.json`` in the README).
    plots : dict of DataFrame
        ``roc``, ``calibration``, ``confusion``, ``rolling_auc``, ``shap_importance`` tables.

    Raises
    ------
    almanac.schemas.InputError
        ``oof`` breaks its data contract or ``classes`` are not the sorted label classes (two or more).
    ValueError
        A ``y_true`` label that is not among ``classes``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 300).astype(float)
    >>> p = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(0, 0.2, 300), 0.01, 0.99)
    >>> oof = pd.DataFrame({"trade_date": pd.bdate_range("2020-01-01", periods=300), "fold": 0, "y_true": y,
    ...                     "probability": p, **{f"baseline_{b}": 0.5 for b in BASELINES}})
    >>> metrics, plots = evaluate(oof, classes=[0.0, 1.0], settings=EvaluateParams(bootstrap=0))
    >>> round(metrics["auc"], 3), metrics["n_days"], sorted(plots)
    (0.814, 300, ['calibration', 'confusion', 'roc', 'rolling_auc', 'shap_importance'])
    """
    settings = schemas.params(settings, EvaluateParams, fn="evaluate", arg="settings") or DEFAULTS.evaluate
    if isinstance(classes, (str, bytes)) or len(classes) < 2:
        raise schemas.InputError(f"evaluate: classes: expected the sorted label classes (two or more), got {classes!r}")
    suffixes = [""] if len(classes) == 2 else [f"_{c}" for c in classes]
    scored = [f"{p}{x}" for p in ("probability", *(f"baseline_{b}" for b in BASELINES)) for x in suffixes]
    numeric = all(isinstance(c, (int, float, np.number)) and not isinstance(c, bool) for c in classes)
    spec = {"trade_date": schemas.DATE, "fold": schemas.INT, "y_true": schemas.FLOAT if numeric else schemas.TEXT,
            **dict.fromkeys(scored, schemas.FLOAT)}  # fmt: skip
    oof = schemas.table(oof, spec, fn="evaluate", arg="oof", trade_date="column")
    classes_arr = np.array(classes)
    codes = np.searchsorted(classes_arr, oof["y_true"].to_numpy())
    n_classes = len(classes)
    proba = _matrix(oof, "probability", classes)
    metrics = _scores(codes, proba, n_classes, "")
    metrics["n_days"] = len(oof)
    binary = n_classes == 2
    for name in BASELINES:
        base = _matrix(oof, f"baseline_{name}", classes)
        metrics.update(_scores(codes, base, n_classes, f"{name}_"))
        if not binary:
            metrics[f"{name}_macro_f1"] = multiclass_scores(codes, base, [str(c) for c in classes])["macro_f1"]
        if binary:
            diff, p_value = delong_test(codes, proba[:, 1], base[:, 1])
            metrics[f"auc_minus_{name}"] = diff
            metrics[f"delong_p_vs_{name}"] = p_value
            # Per fold: pooled AUC across folds mixes each fold's constant (the base rate's pooled AUC is not
            # 0.5); the mean of per-fold differences with a paired t-test compares like with like.
            metrics.update(_per_fold_difference(oof["fold"].to_numpy(), codes, proba[:, 1], base[:, 1], name))
    plots: dict[str, pd.DataFrame] = {}
    predicted = proba.argmax(axis=1)
    if not binary:
        metrics.update(multiclass_scores(codes, proba, [_class_name(c) for c in classes]))
    # One row per day, as DVC's confusion template counts rows (an aggregated table would draw one solid block).
    plots["confusion"] = pd.DataFrame(
        {
            "trade_date": pd.DatetimeIndex(oof["trade_date"]).strftime("%Y-%m-%d"),
            "actual": np.array([_class_name(c) for c in classes])[codes],
            "predicted": np.array([_class_name(c) for c in classes])[predicted],
        }
    )
    if binary:
        n_pos, n_neg = int(codes.sum()), int((codes == 0).sum())
        metrics["null_auc_sd"] = null_auc_sd(n_pos, n_neg)
        metrics["auc_block_ci_low"], metrics["auc_block_ci_high"] = stationary_bootstrap_ci(
            rank_auc, codes, proba[:, 1], block_days=settings.block_days, n_boot=settings.bootstrap,
            seed=settings.seed,
        )  # fmt: skip
        metrics["auc_ci_low"], metrics["auc_ci_high"] = bootstrap_auc_ci(
            codes, proba[:, 1], n_boot=settings.bootstrap, seed=settings.seed
        )
        tn, fp, fn, tp = (int(x) for x in confusion_matrix(codes, predicted, labels=[0, 1]).ravel())
        metrics.update({"tn": tn, "fp": fp, "fn": fn, "tp": tp})
        plots["roc"] = roc_table(codes, proba[:, 1])
        plots["calibration"] = calibration_table(codes, proba[:, 1], settings.calibration_bins)
        metrics["ece"] = expected_calibration_error(codes, proba[:, 1], settings.calibration_bins)
        metrics.update(
            ece_noise(codes, proba[:, 1], bins=settings.calibration_bins, n_boot=settings.bootstrap, seed=settings.seed)
        )
        plots["rolling_auc"] = rolling_auc(oof["trade_date"], codes, proba[:, 1], window_days=settings.rolling_days)
        if oracle is not None:
            p_oracle = oracle.reindex(pd.DatetimeIndex(oof["trade_date"])).to_numpy()
            known = np.isfinite(p_oracle)
            metrics["oracle_auc"] = float(roc_auc_score(codes[known], p_oracle[known]))
            # Efficiency divides by the oracle's edge: when that edge is within 2 null standard deviations of
            # nothing (a market without signal, kappa = 0), the ratio is noise over noise and is not reported.
            metrics["oracle_informative"] = bool(abs(metrics["oracle_auc"] - 0.5) > 2 * metrics["null_auc_sd"])
            metrics["oracle_efficiency"] = (
                (metrics["auc"] - 0.5) / (metrics["oracle_auc"] - 0.5)
                if metrics["oracle_informative"]
                else float("nan")
            )
            oracle_roll = rolling_auc(
                oof["trade_date"][known], codes[known], p_oracle[known], window_days=settings.rolling_days
            )
            plots["rolling_auc"] = plots["rolling_auc"].merge(
                oracle_roll.rename(columns={"auc": "oracle_auc"}), on="trade_date", how="left"
            )
    if binary and returns is not None:
        metrics.update(information_coefficient(oof, proba[:, 1], returns))
    if binary and context is not None:
        plots["breakdown"] = breakdown(oof, codes, proba[:, 1], returns=returns, context=context)
    if not binary:
        # Top-label calibration (Guo et al. 2017): the stated probability of the predicted class against how often
        # it was the class.  Under calibration the argmax is right with probability max(p), so the null is the
        # binary one on (confidence, correct).
        confidence, correct = proba.max(axis=1), (predicted == codes).astype(float)
        metrics["ece"] = expected_calibration_error(correct, confidence, settings.calibration_bins)
        metrics.update(
            ece_noise(correct, confidence, bins=settings.calibration_bins, n_boot=settings.bootstrap,
                      seed=settings.seed)
        )  # fmt: skip
    # Calibration against the simplest honest forecast, the training base rate (same folds), and against the ECE a
    # calibrated model with these probabilities would show by chance.
    metrics["brier_skill"] = 1.0 - metrics["brier"] / metrics["base_rate_brier"]
    metrics["calibration_ok"] = bool(
        metrics["brier"] < metrics["base_rate_brier"]
        and metrics["log_loss"] < metrics["base_rate_log_loss"]
        and metrics["ece"] <= metrics["ece_null_p95"]
    )
    if metrics["brier"] >= metrics["base_rate_brier"] or metrics["log_loss"] >= metrics["base_rate_log_loss"]:
        warnings.warn(
            f"the model's probabilities are worse than the base rate (Brier {metrics['brier']:.4f} vs "
            f"{metrics['base_rate_brier']:.4f}, log loss {metrics['log_loss']:.4f} vs "
            f"{metrics['base_rate_log_loss']:.4f}): they are overconfident, and a probability threshold acting on "
            "them means little; try train.calibration or simpler hyperparameters",
            AlmanacWarning, stacklevel=2,
        )  # fmt: skip
    plots["shap_importance"] = shap_importance(shap_values, list(feature_names))
    metrics["shap_available"] = bool(plots["shap_importance"]["mean_abs_shap"].notna().any())
    return metrics, plots
