"""A run's headline: the figures a reader should see first, each with what it is compared against
(:func:`headline`), the position-size rule (:func:`sizing`), the run's honesty flags (:func:`warnings`) and the
Markdown of a pull-request comment (:func:`markdown`)."""

from __future__ import annotations

import math

from almanac import robustness
from almanac.report.runs import Run


def _num(value, digits: int = 4, *, signed: bool = False, usd: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if usd:
        return f"{value:+,.0f} USD" if signed else f"{value:,.0f} USD"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _p(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def headline(run: Run) -> list[tuple[str, str, str]]:
    """``(measure, value, against what)`` rows: the figures a reader should see first, with their comparisons."""
    e = run.evaluate
    rows = [*_auc_rows(e), *_archetype_rows(e), *_oracle_rows(e)]
    held = robustness.describe(run.params, run.robustness, threshold=run.params.backtest.threshold)
    if held is not None:
        rows.append(("Oracle efficiency held out (defaults protocol)", *held))
    return rows + _probability_rows(e) + _trading_rows(run)


def _auc_rows(e: dict) -> list[tuple[str, str, str]]:
    """The out-of-fold AUC and its difference from each baseline's."""
    rows = []
    if "auc" in e:
        rows.append(
            (
                "AUC (out of fold)",
                _num(e["auc"]),
                f"95% CI {_num(e.get('auc_ci_low'))} to {_num(e.get('auc_ci_high'))} (block bootstrap "
                f"{_num(e.get('auc_block_ci_low'))} to {_num(e.get('auc_block_ci_high'))}); chance 0.5 "
                f"(sd {_num(e.get('null_auc_sd'))})",
            )
        )
        for name, label in (
            ("base_rate", "base rate"),
            ("open_to_cutoff_sign", "open-to-cutoff sign"),
            ("previous_day", "previous day"),
        ):
            if f"{name}_auc" in e and f"auc_minus_{name}" in e:
                rows.append(
                    (
                        f"vs {label}",
                        _num(e.get(f"auc_minus_{name}"), signed=True),
                        f"its AUC {_num(e[f'{name}_auc'])}; DeLong p {_p(e.get(f'delong_p_vs_{name}'))}; "
                        f"per-fold t-test p {_p(e.get(f'fold_ttest_p_vs_{name}'))}",
                    )
                )
            elif f"{name}_auc" in e:  # multiclass: no paired test of macro AUCs here, the difference only
                rows.append(
                    (f"vs {label}", _num(e["auc"] - e[f"{name}_auc"], signed=True), f"its AUC {_num(e[f'{name}_auc'])}")
                )
    return rows


def _archetype_rows(e: dict) -> list[tuple[str, str, str]]:
    """A multiclass target (archetypes): the macro F1 and each class's AUC (the AUC above is the macro one)."""
    if "macro_f1" not in e:
        return []
    classes = sorted(k.removeprefix("share_") for k in e if k.startswith("share_"))
    return [
        (
            "Macro F1 (archetypes)",
            _num(e["macro_f1"], 3),
            f"base rate {_num(e.get('base_rate_macro_f1'), 3)}; per class AUC (share of days): "
            + ", ".join(f"{c} {_num(e.get(f'auc_{c}'), 3)} ({_num(e.get(f'share_{c}'), 2)})" for c in classes),
        )
    ]


def _oracle_rows(e: dict) -> list[tuple[str, str, str]]:
    """The synthetic market's oracle: its AUC and the share of its edge over chance that the model reaches."""
    if "oracle_auc" not in e:
        return []
    return [
        (
            "Oracle AUC (synthetic truth)",
            _num(e["oracle_auc"]),
            f"the model reaches {_num(e.get('oracle_efficiency'), 2)} of the oracle's edge over 0.5 on this "
            "market (one draw)" + ("" if e.get("oracle_informative", True) else " (oracle not informative here)"),
        )
    ]


def _probability_rows(e: dict) -> list[tuple[str, str, str]]:
    """The probabilities as probabilities: Brier score, calibration error, information coefficient."""
    rows = []
    if "brier" in e:
        rows.append(
            (
                "Brier score",
                _num(e["brier"]),
                f"base rate {_num(e.get('base_rate_brier'))}; skill {_num(e.get('brier_skill'), 3, signed=True)}",
            )
        )
        top_label = " (top-label: the predicted class's probability)" if "macro_f1" in e else ""
        rows.append(
            (
                "Calibration error (ECE)" + top_label,
                _num(e.get("ece"), 3),
                f"95% CI {_num(e.get('ece_ci_low'), 3)} to {_num(e.get('ece_ci_high'), 3)}; a calibrated model with "
                f"these probabilities shows {_num(e.get('ece_null_mean'), 3)} by chance (95th percentile "
                f"{_num(e.get('ece_null_p95'), 3)}): "
                + (
                    "calibrated"
                    if e.get("calibration_ok")
                    else "NOT calibrated: thresholds act on distorted probabilities"
                ),
            )
        )
    if "ic" in e:
        rows.append(
            (
                "IC / rank IC",
                f"{_num(e['ic'], 3)} / {_num(e.get('rank_ic'), 3)}",
                f"t-statistics over folds {_num(e.get('ic_tstat'), 2)} / {_num(e.get('rank_ic_tstat'), 2)}",
            )
        )
    return rows


def _trading_rows(run: Run) -> list[tuple[str, str, str]]:
    """The backtest: trades, position size, hit rate, P&L, Sharpe and its deflated forms, drawdown."""
    b = run.backtest
    if "trades" not in b:
        return []
    return [
        (
            "Trades",
            f"{b['trades']} ({b.get('long_trades', 0)} long, {b.get('short_trades', 0)} short)",
            f"coverage {_num(b.get('coverage'), 3)} of {b.get('days')} days at threshold "
            + (
                f"{run.params.backtest.threshold}"
                if run.params.backtest.threshold_mode == "fixed"
                else f"chosen in fold (mean {_num(b.get('threshold_mean'), 3)})"
            ),
        ),
        ("Position size", *sizing(run)),
        ("Hit rate", _num(b.get("win_rate"), 3), "share of trades that made money after costs"),
        (
            "Stated vs realised, traded days",
            f"{_num(b.get('traded_confidence'), 3)} vs {_num(b.get('traded_hit_rate'), 3)}",
            "mean probability of the side taken against the share of those days whose label went that way "
            "(a calibrated model has them close)",
        ),
        (
            "Net P&L",
            _num(b.get("total_pnl_usd"), usd=True, signed=True),
            f"gross {_num(b.get('gross_pnl_usd'), usd=True, signed=True)}, costs "
            f"{_num(b.get('cost_usd'), usd=True)}; buy-and-hold from the cutoff "
            f"{_num(b.get('buy_hold_pnl_usd'), usd=True, signed=True)}",
        ),
        (
            "Sharpe (annualised)",
            _num(b.get("sharpe"), 2),
            f"95% CI {_num(b.get('sharpe_ci_low'), 2)} to {_num(b.get('sharpe_ci_high'), 2)} (block bootstrap); "
            f"PSR {_num(b.get('psr'), 3)}, DSR {_num(b.get('dsr'), 3)} over backtest.n_trials = "
            f"{run.params.backtest.n_trials}; buy-and-hold {_num(b.get('buy_hold_sharpe'), 2)}",
        ),
        *_trials_rows(run),
        (
            "Max drawdown",
            _num(b.get("max_drawdown"), usd=True),
            f"longest {b.get('longest_drawdown_days', 'n/a')} days; Calmar {_num(b.get('calmar'), 2)}, "
            f"Sortino {_num(b.get('sortino'), 2)}, profit factor {_num(b.get('profit_factor'), 2)}",
        ),
    ]


def _trials_rows(run: Run) -> list[tuple[str, str, str]]:
    """The DSR over the runs tried, when the run was read with them (:func:`almanac.report.with_trials`)."""
    if not run.trials:
        return []
    return [
        (
            "DSR over the runs tried",
            _num(run.trials["dsr"], 3),
            f"{run.trials['n']} independent trial(s) among {run.trials.get('runs', run.trials['n'])} run(s) "
            "on the same data and target (every commit and DVC experiment in git; runs trading alike count once); "
            "the benchmark is the best Sharpe ratio expected of that many unskilled trials"
            + ("" if run.trials["n"] >= 2 else ": one trial, nothing to deflate over"),
        )
    ]


def sizing(run: Run) -> tuple[str, str]:
    """``(value, detail)`` of the sizing rule (``backtest.sizing``) and what it did: one contract, or the contracts
    a trade the bet size gave, capped by the risk budget against the ATR known at the cutoff."""
    b, settings = run.backtest, run.params.backtest
    if settings.sizing == "fixed":
        return "1 contract a trade", "backtest.sizing: fixed (probability sizing: benchmarks/sizing.md)"
    return (
        f"{_num(b.get('contracts_mean'), 2)} contracts a trade (at most {b.get('contracts_max', 'n/a')})",
        f"backtest.sizing: probability: the bet size 2Φ(z) − 1 of the side's probability × "
        f"{settings.max_contracts} contracts, at least 1, capped at {settings.risk_usd:,.0f} USD / (ATR("
        f"{run.params.features.atr_days}) through the previous day × the point value); "
        f"{b.get('sized_out_days', 'n/a')} day(s) flat (over the budget, or no ATR); net "
        f"{_num(b.get('pnl_per_contract_usd'), usd=True, signed=True)} per contract",
    )


def warnings(run: Run) -> list[str]:
    """What a reader must not miss: the run's own honesty flags."""
    e, b = run.evaluate, run.backtest
    out = [f"Data: {w}" for w in run.ingest_warnings]  # accepted at ingest with a param: never silent
    missing = run.model[1].get("features_not_computed") or {}
    if missing:
        reasons = sorted(set(missing.values()))
        out.append(f"Features {', '.join(missing)} were {'; '.join(reasons)}: the model never saw them.")
    if b.get("degenerate"):
        out.append("The model's probabilities are (nearly) constant: its trades are not a signal.")
    if "calibration_ok" in e and not e["calibration_ok"]:
        out.append("The probabilities are not calibrated (ECE, Brier skill): the threshold acts on distorted values.")
    if "trades" in b and b["trades"] < b.get("psr_min_trades", 30):
        out.append(
            f"Only {b['trades']} trades: below the {b.get('psr_min_trades', 30)} a PSR needs to keep its "
            "false-positive rate (a simulation of zero-edge strategies, benchmarks/psr_null.md); PSR, DSR and the "
            "Sharpe interval are not reported."
        )
    if run.params.data.source == "synthetic":
        out.append(
            "These figures come from the synthetic market, whose signal was planted with a known strength: they "
            "show what the pipeline recovers, not an edge in real futures."
        )
    if run.params.backtest.n_trials == 1:
        out.append(
            "backtest.n_trials is 1: if this run was chosen among several experiments, set it to their number "
            "(the deflated Sharpe ratio corrects for the choice)."
        )
    return out


def markdown(run: Run) -> str:
    """The headline table as Markdown (what a pull-request comment shows)."""
    name, record = run.model
    lines = [
        "## Almanac Futures run",
        "",
        f"`{run.params.data.symbol}` {run.params.labels.target} at {run.params.features.cutoff} ET, "
        f"{run.params.data.start} to {run.params.data.end} ({run.params.data.source}); model "
        f"`{name or run.params.train.model}`"
        + (f", walk-forward CV AUC {_num(record.get('cv_score'))}" if record else "")
        + ".",
        "",
        "| measure | value | against |",
        "|---|---|---|",
        *[f"| {m} | {v} | {c} |" for m, v, c in headline(run)],
    ]
    flags = warnings(run)
    if flags:
        lines += ["", *[f"> **Warning:** {w}" for w in flags]]
    return "\n".join(lines) + "\n"
