"""The run report (``almanac report``): headline metrics against the baselines and the oracle, as Markdown for a
pull-request comment, or as one self-contained HTML page with the charts and the trade list.

It reads only what the pipeline commits (``metrics/*.json``, ``plots/*.csv``, ``models/model_registry.json``,
``data/bars/manifest.json``, ``params.yaml``, ``benchmarks/robustness.json``), so it works on a fresh clone without
running anything.  Charts are the Plotly figures of
:mod:`almanac.viz.ml_plots` with plotly.js inline (``include_plotlyjs`` once for the page), so the file opens offline; div ids are fixed, so the
same run gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from pathlib import Path

import pandas as pd

from almanac import robustness
from almanac.config import Params, load_params
from almanac.paths import PipelineFiles


@dataclasses.dataclass(frozen=True)
class Run:
    """What one pipeline run produced (the committed outputs)."""

    params: Params
    train: dict
    evaluate: dict
    backtest: dict
    registry: dict
    plots: dict[str, pd.DataFrame]
    trials: dict = dataclasses.field(default_factory=dict)  # {"n": trials, "runs": runs, "dsr": deflated over them}
    robustness: dict = dataclasses.field(default_factory=dict)  # benchmarks/robustness.json: the held-out figures
    ingest_warnings: list = dataclasses.field(default_factory=list)  # data/bars/manifest.json's "warnings"

    @property
    def model(self) -> tuple[str, dict]:
        """``(name, record)`` of the current registered model (empty when there is no registry)."""
        name = self.registry.get("current", "")
        return name, self.registry.get("versions", {}).get(name, {})


PLOT_FILES = ("cv_folds", "roc", "calibration", "rolling_auc", "shap_importance", "equity", "yearly", "breakdown",
              "confusion")  # fmt: skip


def load_run(root: str | Path = ".", *, params: str | Path = "params.yaml") -> Run:
    """Read a run's outputs under ``root`` (the repository root); missing files give empty tables."""
    root = Path(root)
    files = PipelineFiles.under(root)

    def json_or_empty(path: Path) -> dict:
        return json.loads(path.read_text()) if path.is_file() else {}

    missing = [name for name in ("train", "evaluate", "backtest") if not files.metric(name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{files.metrics}: no {', '.join(m + '.json' for m in missing)}; run the pipeline first (dvc repro)"
        )
    plots = {}
    for name in PLOT_FILES:
        path = files.plot(name)
        plots[name] = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    return Run(
        params=load_params(root / params),
        train=json_or_empty(files.train_metrics),
        evaluate=json_or_empty(files.evaluate_metrics),
        backtest=json_or_empty(files.backtest_metrics),
        registry=json_or_empty(files.registry),
        plots=plots,
        robustness=robustness.load(root / robustness.PATH),
        ingest_warnings=json_or_empty(files.manifest).get("warnings", []),
    )


def load_experiment(name: str, repo: str | Path = ".") -> Run:
    """A run of ``dvc exp show`` (an experiment name, or a commit / revision prefix) as a :class:`Run`: its params
    and metrics (plots are not part of ``dvc exp show``: the Markdown report needs none)."""
    from almanac.experiments import dvc

    found = None
    for baseline in json.loads(dvc("exp", "show", "--json", repo=repo) or "[]"):
        candidates = [(baseline.get("name"), baseline)]
        for experiment in baseline.get("experiments") or []:
            candidates += [(experiment.get("name"), rev) for rev in experiment.get("revs") or []]
        for label, entry in candidates:
            if name in (label, entry.get("name")) or str(entry.get("rev", "")).startswith(name):
                found = entry
    if found is None or not (found.get("data") or {}).get("metrics"):
        raise FileNotFoundError(f"{name!r} is not a run in dvc exp show (or it has no metrics yet)")
    data = found["data"]
    metrics = {Path(path).stem: (value.get("data") or {}) for path, value in data["metrics"].items()}
    params = Params.model_validate(data["params"]["params.yaml"]["data"])
    return Run(
        params=params, train=metrics.get("train", {}), evaluate=metrics.get("evaluate", {}),
        backtest=metrics.get("backtest", {}), registry={}, plots={n: pd.DataFrame() for n in PLOT_FILES},
        robustness=robustness.load(Path(repo) / robustness.PATH),
    )  # fmt: skip


def with_trials(run: Run, name: str = "workspace", repo: str | Path = ".") -> Run:
    """``run`` with its Sharpe ratio deflated over every run in ``dvc exp show`` (:func:`experiments.deflate`);
    unchanged when there is no DVC repository to ask."""
    from almanac.experiments import DvcError, experiments

    try:
        table = experiments(repo)
    except (DvcError, OSError, ValueError):
        return run
    rows = table.loc[table["name"] == name]
    dsr = float(rows["dsr_trials"].iloc[0]) if len(rows) else float("nan")
    n = int(rows["n_trials"].iloc[0]) if len(rows) else 0  # independent trials among the runs on this run's data
    runs = int(rows["n_runs"].iloc[0]) if len(rows) else 0
    return dataclasses.replace(run, trials={"n": n, "runs": runs, "dsr": dsr})


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
    e, b = run.evaluate, run.backtest
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
    if "macro_f1" in e:  # a multiclass target (archetypes): the AUC above is the macro one-vs-rest AUC
        classes = sorted(k.removeprefix("share_") for k in e if k.startswith("share_"))
        rows.append(
            (
                "Macro F1 (archetypes)",
                _num(e["macro_f1"], 3),
                f"base rate {_num(e.get('base_rate_macro_f1'), 3)}; per class AUC (share of days): "
                + ", ".join(f"{c} {_num(e.get(f'auc_{c}'), 3)} ({_num(e.get(f'share_{c}'), 2)})" for c in classes),
            )
        )
    if "oracle_auc" in e:
        rows.append(
            (
                "Oracle AUC (synthetic truth)",
                _num(e["oracle_auc"]),
                f"the model reaches {_num(e.get('oracle_efficiency'), 2)} of the oracle's edge over 0.5 on this "
                "market (one draw)" + ("" if e.get("oracle_informative", True) else " (oracle not informative here)"),
            )
        )
    held = robustness.describe(run.params, run.robustness, threshold=run.params.backtest.threshold)
    if held is not None:
        rows.append(("Oracle efficiency held out (defaults protocol)", *held))
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
    if "trades" in b:
        rows += [
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
            *(
                [
                    (
                        "DSR over the runs tried",
                        _num(run.trials["dsr"], 3),
                        f"{run.trials['n']} independent trial(s) among {run.trials.get('runs', run.trials['n'])} run(s) "
                        "on the same data and target (every commit and DVC experiment in git; runs trading alike count once); "
                        "the benchmark is the best Sharpe ratio expected of that many unskilled trials"
                        + ("" if run.trials["n"] >= 2 else ": one trial, nothing to deflate over"),
                    )
                ]
                if run.trials
                else []
            ),
            (
                "Max drawdown",
                _num(b.get("max_drawdown"), usd=True),
                f"longest {b.get('longest_drawdown_days', 'n/a')} days; Calmar {_num(b.get('calmar'), 2)}, "
                f"Sortino {_num(b.get('sortino'), 2)}, profit factor {_num(b.get('profit_factor'), 2)}",
            ),
        ]
    return rows


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


# --- HTML ---------------------------------------------------------------------------------------------------


def _figures(run: Run) -> list[tuple[str, object]]:
    from almanac.viz import ml_plots

    p = run.plots
    return [
        ("equity", ml_plots.equity(p["equity"])),
        ("drawdown", ml_plots.drawdown(p["equity"])),
        ("yearly", ml_plots.yearly(p["yearly"])),
        ("calibration", ml_plots.calibration(p["calibration"])),
        ("roc", ml_plots.roc(p["roc"], run.evaluate.get("auc"))),
        ("rolling_auc", ml_plots.rolling_auc(p["rolling_auc"])),
        ("shap", ml_plots.shap_importance(p["shap_importance"])),
        ("folds", ml_plots.folds(p["cv_folds"])),
        ("confusion", ml_plots.confusion(p["confusion"])),  # per class for the archetypes
        *([("class_auc", ml_plots.class_auc(run.evaluate))] if "macro_f1" in run.evaluate else []),
    ]


def _table(rows: list[list[str]], header: list[str], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def trades(run: Run) -> pd.DataFrame:
    """The trade list: every out-of-fold day with a position (entry at the cutoff, exit at the RTH close), its side
    and contracts (the equity table's ``position`` is side x contracts)."""
    eq = run.plots["equity"]
    if eq.empty or "position" not in eq:
        return pd.DataFrame(columns=["trade_date", "side", "contracts", "p_long", "entry", "exit", "pnl_usd"])
    t = eq.loc[eq["position"] != 0]
    return pd.DataFrame(
        {
            "trade_date": t["trade_date"],
            "side": t["position"].gt(0).map({True: "long", False: "short"}),
            "contracts": t["position"].abs().astype(int),
            "p_long": t.get("p_long"),
            "entry": t.get("entry"),
            "exit": t.get("exit"),
            "pnl_usd": t["pnl_usd"],
        }
    ).reset_index(drop=True)


def to_html(run: Run) -> str:
    """One self-contained page: headline, warnings, charts, breakdown, the trade list."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    name, record = run.model
    summary = markdown(run).splitlines()[2].replace("`", "")
    charts = "".join(
        f'<div class="chart">{pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"chart-{key}", config={"displaylogo": False})}</div>'
        for key, fig in _figures(run)
    )  # fmt: skip
    flags = "".join(f'<p class="warning">Warning: {html.escape(w)}</p>' for w in warnings(run))
    listed = trades(run)
    trade_rows = [
        [r.trade_date, r.side, r.contracts, _num(r.p_long, 3), f"{r.entry:g}", f"{r.exit:g}", f"{r.pnl_usd:+,.2f}"]
        for r in listed.itertuples()
    ]
    breakdown = run.plots["breakdown"]
    breakdown_rows = (
        [[r.group, r.value, r.n_days, _num(r.auc, 3), _num(r.hit_rate, 3), _num(r.signed_return_pct, 3, signed=True)]
         for r in breakdown.itertuples()]
        if not breakdown.empty
        else []
    )  # fmt: skip
    header, rows = robustness.held_out_table(run.robustness, run.params)
    held_out = (
        f"<h2>Defaults chosen out of sample</h2><p>{html.escape(robustness.protocol_sentence(run.robustness))}</p>"
        + _table(rows, header, "held-out")
        if rows
        else ""
    )
    model_line = (
        f"Model {html.escape(name)} (version {html.escape(str(record.get('version', '')))}, "
        f"sha256 {html.escape(str(record.get('model_sha256', ''))[:12])}…), features "
        f"{html.escape(str(record.get('feature_set', '')))}, data {html.escape(str(record.get('data_range', '')))}."
        if record
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Almanac Futures report</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; font-size: 14px; }}
.warning {{ background: #fff3cd; border-left: 4px solid #e0a800; padding: 8px; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }}
.trades {{ max-height: 480px; overflow-y: scroll; display: block; }}
</style>
</head>
<body>
<h1>Almanac Futures report</h1>
<p>{html.escape(summary)}</p>
<p>{model_line}</p>
{flags}
<h2>Headline (out of fold, walk-forward)</h2>
{_table([list(r) for r in headline(run)], ["measure", "value", "against"], "headline")}
{held_out}
<h2>Charts</h2>
<div class="charts">{charts}</div>
<h2>Where the signal works: AUC, hit rate and signed return by group</h2>
<p>Signed return: the mean cutoff-to-close return, in percent, in the direction the model leaned (up when P(up)
&ge; 0.5), over every day of the group, before costs.</p>
{_table(breakdown_rows, ["group", "value", "days", "AUC", "hit rate", "signed return %"], "breakdown")}
<h2>Trades ({len(listed)})</h2>
<p>Entry at the cutoff price plus slippage, exit at the RTH close; P&amp;L of all the contracts after commission and
slippage. Size: {html.escape(sizing(run)[0])} ({html.escape(sizing(run)[1])}).</p>
{_table(trade_rows, ["trade date", "side", "contracts", "P(long)", "entry", "exit", "P&L USD"], "trades")}
</body>
</html>
"""
