"""The held-out figures of the defaults protocol (``benchmarks/robustness.json``, written by ``make robustness``).

Every default model setting was chosen on eight *selection* seeds of the synthetic market and is reported on five
*evaluation* seeds that chose nothing (docs/defaults.md).  A run's own oracle efficiency, AUC or Sharpe ratio is
one draw; what the pipeline can be expected to do is the distribution over the evaluation seeds.  This module finds
that distribution for a run: when the run is on the synthetic market under the protocol's conditions (everything
but ``synthetic.seed`` and ``train.*`` as the protocol ran it) and its ``train.*`` is one of the configurations
measured.  Otherwise there is nothing held out to quote, and :func:`held_out` says None.
"""

from __future__ import annotations

import json
from pathlib import Path

from almanac.config import Params

CONDITIONS = ("data", "synthetic", "features", "labels", "cv")  # sections that define the market and the target
PATH = Path("benchmarks") / "robustness.json"


def load(path: str | Path) -> dict:
    """The protocol's results, or ``{}`` when the file is absent (a repository without the benchmark)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else {}


MARKET_KEYS = ("symbol", "start", "end", "source")  # of ``data.*``: the rest only concerns vendor files


def conditions_of(params: Params) -> dict:
    """The params a held-out figure depends on besides the model: the market (``data.symbol/start/end/source`` and
    ``synthetic.*`` but the seed), ``features``, ``labels`` and ``cv``, as JSON-ready values."""
    dumped = json.loads(params.model_dump_json())
    out = {section: dumped[section] for section in CONDITIONS}
    out["data"] = {key: out["data"][key] for key in MARKET_KEYS}
    out["synthetic"].pop("seed")
    if out["synthetic"].get("start_price") is None:  # null: the instrument's own first price, the market it made
        from almanac.instruments import instrument

        out["synthetic"]["start_price"] = instrument(params.data.symbol).synthetic_start
    return out


def model_of(params: Params) -> dict:
    """What identifies a model configuration: ``train.model``, calibration, seed and the learner's own block."""
    train = json.loads(params.train.model_dump_json())
    out = {key: train[key] for key in ("model", "seed", "calibration", "calibration_fraction")}
    if params.train.model in train:
        out[params.train.model] = train[params.train.model]
    return out


def held_out(params: Params, results: dict) -> tuple[str, dict] | None:
    """``(configuration name, entry)`` of the protocol's results that ``params`` ran, or None when the run is not on
    the protocol's synthetic market or its model was not measured."""
    if not results or params.data.source != "synthetic" or results.get("conditions") != conditions_of(params):
        return None
    mine = model_of(params)
    for name, entry in results.get("configs", {}).items():
        if entry.get("model") == mine:
            return name, entry
    return None


def _spread(summary: dict, digits: int) -> str:
    return (
        f"{summary['mean']:.{digits}f} ± {summary['sd']:.{digits}f} "
        f"({summary['min']:.{digits}f} to {summary['max']:.{digits}f})"
    )


def describe(params: Params, results: dict, *, threshold: float | None = None) -> tuple[str, str] | None:
    """``(value, detail)`` for the report's headline: the held-out oracle efficiency of this run's configuration
    (mean ± sd) and a sentence with the rest of its distribution; None when there is none."""
    found = held_out(params, results)
    if found is None:
        return None
    name, entry = found
    evaluation, protocol = entry["evaluation"], results["protocol"]
    seeds = ", ".join(map(str, protocol["evaluation_seeds"]))
    efficiency = evaluation["oracle_efficiency"]
    parts = [
        f"range {efficiency['min']:.2f} to {efficiency['max']:.2f}",
        f"AUC {_spread(evaluation['auc'], 3)}",
        f"ECE {_spread(evaluation['ece'], 3)}",
    ]
    sharpe = evaluation.get(f"sharpe@{threshold}") if threshold is not None else None
    if sharpe and sharpe.get("mean") is not None:
        parts.append(f"Sharpe at threshold {threshold:g} {_spread(sharpe, 2)}")
    chosen = ", the protocol's choice," if name == results.get("chosen") else ""
    detail = (
        f"{name}{chosen} over {len(protocol['evaluation_seeds'])} evaluation seeds ({seeds}) that chose nothing: "
        + "; ".join(parts)
        + f". Chosen by {protocol['criterion']} ({len(protocol['selection_seeds'])} other seeds); this run is one "
        "draw (benchmarks/robustness.md)"
    )
    return f"{efficiency['mean']:.2f} ± {efficiency['sd']:.2f}", detail


def held_out_table(results: dict, params: Params | None = None) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: every candidate of the protocol with its held-out AUC, ECE, oracle efficiency and Sharpe
    (mean ± sd over the evaluation seeds), ranked as the protocol ranked them on the selection seeds; the chosen
    one and the one ``params`` ran are marked.  Empty without results."""
    if not results:
        return [], []
    threshold = results["threshold"]
    criterion = results["protocol"]["criterion"].split()[1]
    mine = held_out(params, results)[0] if params is not None and held_out(params, results) else None
    order = sorted(results["configs"], key=lambda n: -results["configs"][n]["selection"][criterion]["mean"])
    header = ["rank", "configuration", f"selection {criterion}", "AUC", "ECE", "oracle efficiency",
              f"Sharpe @ {threshold:g}"]  # fmt: skip
    rows = []
    for rank, name in enumerate(order, 1):  # sixteen candidates
        entry = results["configs"][name]
        marks = [m for m, on in (("chosen", name == results["chosen"]), ("this run", name == mine)) if on]
        held = entry["evaluation"]
        rows.append(
            [
                str(rank),
                name + (f" ({', '.join(marks)})" if marks else ""),
                f"{entry['selection'][criterion]['mean']:+.4f}",
                f"{held['auc']['mean']:.3f} ± {held['auc']['sd']:.3f}",
                f"{held['ece']['mean']:.3f} ± {held['ece']['sd']:.3f}",
                _spread(held["oracle_efficiency"], 2),
                f"{held[f'sharpe@{threshold}']['mean']:.2f} ± {held[f'sharpe@{threshold}']['sd']:.2f}",
            ]
        )
    return header, rows


def protocol_sentence(results: dict) -> str:
    """The protocol in one sentence (what the report and the ML Lab say above the table)."""
    if not results:
        return ""
    protocol = results["protocol"]
    return (
        f"Every default was chosen on {len(protocol['selection_seeds'])} selection seeds of the synthetic market "
        f"({protocol['criterion']}; the threshold by {protocol['threshold_criterion']}) and is reported on "
        f"{len(protocol['evaluation_seeds'])} evaluation seeds that chose nothing "
        f"({', '.join(map(str, protocol['evaluation_seeds']))}): mean ± sd over those. docs/defaults.md explains it."
    )
