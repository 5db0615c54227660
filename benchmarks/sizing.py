"""Fixed against probability sizing (``backtest.sizing``), on the seeds of the defaults protocol.

The protocol's rule (docs/defaults.md): a default changes only if the candidate wins on the eight *selection* seeds,
and the five *evaluation* seeds, which choose nothing, say how much it wins by.  For each seed: the synthetic market of the committed params with that ``synthetic.seed``, the default model's
out-of-fold probabilities (walk-forward, as the ``train`` stage makes them), then the same probabilities backtested
under each rule of :data:`RULES`.  The decision (threshold 0.55) is the same in every rule, so the days traded are
the same except where the risk budget allows no contract; only the size differs.  ``max_contracts`` and ``risk_usd``
are the schema's defaults, set before this run and not tuned on any seed.

    python benchmarks/sizing.py [--jobs 2] [--out benchmarks/sizing]

Writes ``<out>.json`` (per seed and summary) and ``<out>.md`` (one table per group of seeds).  About 40 s per seed
and process (13 seeds: about 4 minutes with two processes).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The protocol's seeds (benchmarks/robustness.json, docs/defaults.md): selection seeds choose, evaluation seeds report.
PROTOCOL = json.loads((REPO / "benchmarks" / "robustness.json").read_text())["protocol"]
GROUPS = {"selection": tuple(PROTOCOL["selection_seeds"]), "evaluation": tuple(PROTOCOL["evaluation_seeds"])}
# name -> backtest.* overrides; the rest is the committed params.yaml.
RULES: dict[str, dict] = {
    "fixed (1 contract)": {"sizing": "fixed"},
    "probability": {"sizing": "probability"},
    "probability, no risk budget": {"sizing": "probability", "risk_usd": 1e12},
}
HEADING = (
    "# Position sizing on the protocol's seeds\n\n"
    'Written by `python benchmarks/sizing.py`; how to read it: docs/defaults.md ("Position sizing").\n\n'
)
KEYS = ("sharpe", "total_pnl_usd", "max_drawdown", "trades", "contracts_mean", "pnl_per_contract_usd", "sized_out_days")


def measure(seed: int) -> dict[str, dict]:
    """Each rule's backtest metrics on the market of ``seed`` (the default model's out-of-fold probabilities)."""
    import almanac
    from almanac.ml.pnl import CostModel

    sys.path.insert(0, str(REPO / "benchmarks"))
    from model_table import _params

    params = _params({"synthetic.seed": seed})
    data = almanac.load_bars(params.data, synthetic=params.synthetic)
    sessions = almanac.build_sessions(data.bars, params.features.cutoff_time, data.manifest["rolls"])
    features, _ = almanac.build_features(data.bars, sessions, data.daily, settings=params.features)
    labels = almanac.build_labels(sessions, data.bars, settings=params.labels, atr_days=params.features.atr_days)
    run = almanac.train(features, labels, sessions, target=params.labels.target, settings=params.train,
                        cv=params.cv, explain=False)  # fmt: skip
    costs = CostModel.from_params(params.backtest, symbol=params.data.symbol)
    out = {}
    for name, overrides in RULES.items():
        settings = params.backtest.model_copy(update={**overrides, "bootstrap": 0})
        metrics, _ = almanac.backtest(run.oof, sessions, settings=settings, costs=costs,
                                      atr_days=params.features.atr_days)  # fmt: skip
        if settings.sizing == "fixed":  # one contract a trade
            metrics |= {"contracts_mean": 1.0, "pnl_per_contract_usd": metrics["avg_trade_usd"], "sized_out_days": 0}
        out[name] = {key: metrics[key] for key in KEYS}
        print(f"seed {seed}: {name}: Sharpe {metrics['sharpe']:.2f}", file=sys.stderr)
    return out


def summarise(results: dict[int, dict], seeds) -> dict:
    """Per rule and key: mean, sd and range over ``seeds``; and the paired Sharpe difference to fixed sizing (with its
    t-statistic over the seeds and the number of seeds where the rule is better)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from model_table import _summary  # the defaults protocol's summary: one definition

    table = {
        rule: {key: _summary([results[s][rule][key] for s in seeds]) for key in KEYS} for rule in RULES
    }  # fmt: skip
    fixed = next(iter(RULES))
    for rule in RULES:
        diffs = [results[s][rule]["sharpe"] - results[s][fixed]["sharpe"] for s in seeds]
        s = _summary(diffs)
        t = s["mean"] / (s["sd"] / math.sqrt(s["n"])) if s["sd"] > 0 else float("nan")
        table[rule]["sharpe_minus_fixed"] = {**s, "wins": sum(d > 0 for d in diffs), "t": t}
    return table


def _fmt(s: dict, digits: int) -> str:
    return f"{s['mean']:,.{digits}f} ± {s['sd']:,.{digits}f} ({s['min']:,.{digits}f} to {s['max']:,.{digits}f})"


def markdown(report: dict) -> str:
    """One table per group of seeds: each rule's figures (mean ± sd, range), and the per-seed Sharpe ratios."""
    lines = [
        f"Committed params.yaml but the seed (default model, threshold {report['threshold']}, "
        f"`backtest.max_contracts` {report['max_contracts']}, `backtest.risk_usd` {report['risk_usd']:,.0f}, "
        f"ATR({report['atr_days']}) through the previous day); {report['date']}. Mean ± sd (range) over the seeds; "
        "Sharpe − fixed is paired by seed (t over the seeds; seeds where the rule is better).",
    ]
    for group, seeds in report["groups"].items():
        table = report["summary"][group]
        lines += [
            "",
            f"### {group.capitalize()} seeds ({', '.join(map(str, seeds))})",
            "",
            "| rule | net Sharpe | Sharpe − fixed (t; better) | net P&L USD | max drawdown USD | trades | "
            "sized-out days | contracts per trade | P&L per contract USD |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for rule in RULES:
            t = table[rule]
            d = t["sharpe_minus_fixed"]
            paired = f"{d['mean']:+.2f} ± {d['sd']:.2f} (t {d['t']:.2f}; {d['wins']}/{d['n']})" if d["sd"] else "—"
            lines.append(
                f"| {rule} | {_fmt(t['sharpe'], 2)} | {paired} | {_fmt(t['total_pnl_usd'], 0)} "
                f"| {_fmt(t['max_drawdown'], 0)} | {t['trades']['mean']:,.0f} | {t['sized_out_days']['mean']:,.0f} "
                f"| {t['contracts_mean']['mean']:.2f} | {_fmt(t['pnl_per_contract_usd'], 1)} |"
            )
        lines += [
            "",
            "Net Sharpe per seed ("
            + ", ".join(RULES)
            + "): "
            + "; ".join(
                f"{seed}: " + ", ".join(f"{report['per_seed'][str(seed)][rule]['sharpe']:.2f}" for rule in RULES)
                for seed in seeds
            )
            + ".",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="processes (one market each)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "sizing"), help="output path without suffix")
    args = parser.parse_args(argv)
    seeds = [seed for group in GROUPS.values() for seed in group]
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(zip(seeds, pool.map(measure, seeds), strict=True))
    sys.path.insert(0, str(REPO / "benchmarks"))
    from model_table import _params

    base = _params({})
    report = {
        "date": dt.date.today().isoformat(),
        "groups": {group: list(seeds) for group, seeds in GROUPS.items()},
        "threshold": base.backtest.threshold,
        "max_contracts": base.backtest.max_contracts,
        "risk_usd": base.backtest.risk_usd,
        "atr_days": base.features.atr_days,
        "summary": {group: summarise(results, seeds) for group, seeds in GROUPS.items()},
        "per_seed": {str(seed): rows for seed, rows in results.items()},
    }
    Path(f"{args.out}.json").write_text(json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    Path(f"{args.out}.md").write_text(HEADING + text)
    print(text)


if __name__ == "__main__":
    main()
