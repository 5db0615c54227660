"""The ``almanac`` command: check params, summarise the pipeline's data, score the synthetic oracle, predict a day.

Run it from the repository root (it reads ``params.yaml``, ``data/`` and ``models/`` there unless told otherwise).
``dvc repro`` runs the pipeline itself; this command is for looking at what it produced and for the trader's
morning (``almanac predict``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import typing
from pathlib import Path

from almanac import exp_table, sweep
from almanac.config import DEFAULTS, DataParams, ParamsError, dotted_keys, get_dotted, load_params, parse_cutoff
from almanac.doc_tables import params_table, pipeline_table
from almanac.paths import PipelineFiles


def _cmd_params(args: argparse.Namespace) -> int:
    if args.markdown:
        print(params_table())
        return 0
    if args.pipeline_markdown:
        import yaml

        print(pipeline_table(yaml.safe_load(Path(args.dvc_yaml).read_text())))
        return 0
    params = load_params(args.params)
    for key in dotted_keys():
        print(f"{key} = {get_dotted(params, key)}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from almanac.data_sources.store import read_json, read_table
    from almanac.instruments import instrument

    files = PipelineFiles(data=Path(args.data_dir))
    manifest = read_json(files.manifest)
    sessions = read_table(files.sessions)
    dates = manifest["trade_dates"]
    print(f"source      {manifest['source']} ({manifest['symbol']}, timestamps: {manifest['timestamp_convention']})")
    print(f"trade dates {dates['count']} from {dates['first']} to {dates['last']}")
    spec = instrument(manifest["symbol"])
    print(f"sessions    RTH {'-'.join(spec.rth_et)} ET ({spec.name}, {spec.exchange}; tick {spec.tick:g}, "
          f"${spec.point_value_usd:g} a point, months {spec.months})")  # fmt: skip
    print(f"bars        {manifest['rows']['continuous_bars']:,} in the continuous series")
    print(f"rolls       {len(manifest['rolls'])}; roll rule: {manifest['roll_rule']}")
    print(f"half days   {int(sessions['half_day'].sum())}")
    partial = sessions["partial"]
    missing = sessions.loc[partial == "no bars", "trade_date"]
    print(f"missing     {len(missing)} NYSE sessions without any bar{_listed(missing)}")
    incomplete = sessions.loc[(partial != "") & (partial != "no bars")]
    print(f"partial     {len(incomplete)} sessions{_listed(incomplete['trade_date'])}")
    for reason, count in partial[(partial != "") & (partial != "no bars")].value_counts().sort_index().items():
        print(f"              {count:5d} {reason}")
    repairs = manifest.get("repairs") or {}
    print("repairs     " + (", ".join(f"{k}: {v}" for k, v in sorted(repairs.items())) if repairs else "none"))
    lineage_path = files.lineage
    lineage = read_json(lineage_path) if lineage_path.is_file() else {}
    missing = {k: v["why"] for k, v in lineage.items() if not v.get("computed", True)}
    if missing:
        print(f"features    not computed: {', '.join(missing)} ({'; '.join(sorted(set(missing.values())))})")
    warnings = manifest.get("warnings") or []
    print("warnings    " + ("none" if not warnings else f"{len(warnings)}"))
    for warning in warnings:
        print(f"  WARNING: {warning}")
    return 0


def _listed(dates, most: int = 5) -> str:
    shown = ", ".join(str(d.date()) for d in dates.iloc[:most])
    return "" if len(dates) == 0 else f": {shown}" + (f" and {len(dates) - most} more" if len(dates) > most else "")


def _cutoff(text: str) -> str:
    """``--cutoff``: an ET time HH:MM, checked when the command line is read (argparse names the option)."""
    try:
        parse_cutoff(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _cmd_oracle(args: argparse.Namespace) -> int:
    from sklearn.metrics import roc_auc_score

    from almanac.data_sources.store import read_json, read_table
    from almanac.sessions import build_sessions
    from almanac.synth.oracle import oracle_probability

    files = PipelineFiles(data=Path(args.data_dir))
    params = load_params(args.params)
    truth = read_table(files.truth)
    if params.data.source != "synthetic" or truth.empty:
        print("error: the oracle exists only for the synthetic source (data.source: synthetic)", file=sys.stderr)
        return 2
    cutoff = parse_cutoff(args.cutoff)
    bars = read_table(files.bars)
    sessions = build_sessions(bars, cutoff, read_json(files.manifest)["rolls"])
    p = oracle_probability(truth, sessions, cutoff=cutoff, target=args.target, symbol=params.data.symbol)
    s = sessions.set_index("trade_date").loc[p.index]
    y = s["close"] > (s["cutoff_price"] if args.target == "rest_of_day" else s["open"])
    print(f"oracle {args.target} AUC at {args.cutoff} ET over {len(p)} days: {roc_auc_score(y, p):.4f}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import json

    from almanac.ml.predictors import predict_day

    params = load_params(args.params)
    if args.bars:
        _refuse_tracked(args.bars, Path(args.params).resolve().parent / "dvc.yaml")
    if args.format:
        params = params.model_copy(update={"data": params.data.model_copy(update={"format": args.format})})
    prediction = predict_day(
        args.date,
        params=params,
        files=PipelineFiles(data=Path(args.data_dir), models=Path(args.models_dir)),
        extra_bars=args.bars,
        top=args.top,
        in_sample=args.in_sample,
    )
    print(json.dumps(prediction.to_dict(), indent=2) if args.json else prediction.to_text())
    return 0


def _refuse_tracked(paths: list[str], dvc_yaml: Path) -> None:
    """``--bars`` files must stay out of the pipeline's inputs: a file under a dependency of a ``dvc.yaml`` stage
    (``data/raw``) would make ``dvc status`` report the stage changed and be ingested by the next ``dvc repro``."""
    if not dvc_yaml.is_file():
        return
    import yaml

    from almanac.ml.morning import MORNING_DIR, tracked_dependency

    stages = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages", {})
    for path in paths:
        hit = tracked_dependency(path, stages, root=dvc_yaml.parent)
        if hit is not None:
            raise ValueError(
                f"--bars {path}: this file lies in {hit[1]}, a dependency of the {hit[0]!r} stage of {dvc_yaml}, so "
                f"dvc status would report the pipeline changed and dvc repro would ingest it; put this morning's "
                f"files in {MORNING_DIR}/ instead (e.g. --bars {MORNING_DIR}/{Path(path).name}; untracked by git and DVC)"
            )


def _cmd_plots(args: argparse.Namespace) -> int:
    from almanac.dvc_plots import render

    page = render(args.revisions, out=args.out)
    print(f"{'compared ' + ', '.join(args.revisions) + ' with the workspace' if args.revisions else 'plots'}: {page}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from almanac.report import load_experiment, load_run, markdown, to_html, with_trials

    if args.exp:
        if args.html is not None:
            raise ValueError("--html reports the workspace's run (plots are not stored per experiment); drop --exp")
        run = load_experiment(args.exp)
    else:
        run = load_run(".", params=args.params)
    if args.trials:
        run = with_trials(run, args.exp or "workspace")
    if args.html is None:
        print(markdown(run), end="")
        return 0
    out = Path(args.html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_html(run), encoding="utf-8")
    print(f"report: {out.resolve()}")
    return 0


def _cmd_exps(args: argparse.Namespace) -> int:
    from almanac.experiments import experiments

    width = args.width or (shutil.get_terminal_size().columns if sys.stdout.isatty() else exp_table.WIDTH)
    table = experiments(".")
    if args.by:
        from almanac.experiments import daily_pnl

        try:
            text = exp_table.grouped_text(table, args.by, width=width, pnl=daily_pnl(table, "."))
        except ValueError as err:
            print(f"almanac exps --by: {err}", file=sys.stderr)
            return 2
        print(text, end="")
        return 0
    text = exp_table.text_table(table, columns=args.columns, sort=args.sort, reverse=args.reverse, width=width,
                                all_columns=args.all)  # fmt: skip
    print(text, end="")
    return 0


def _columns(text: str) -> list[str]:
    """``--columns``: names of the experiments table's columns, checked when the command line is read."""
    try:
        return exp_table.parse_columns(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _width(text: str) -> int:
    if not text.isdigit() or int(text) < 40:
        raise argparse.ArgumentTypeError(f"a number of characters, at least 40 (got {text!r})")
    return int(text)


def _cmd_lab(args: argparse.Namespace) -> int:
    from almanac.pages.ml_lab import serve

    print(f"ML Lab on http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    serve(".", host=args.host, port=args.port)
    return 0


def _add_params(sub) -> None:
    params = sub.add_parser("params", help="validate params.yaml and print every key")
    params.add_argument("--markdown", action="store_true", help="print docs/parameters.md's table of keys instead")
    params.add_argument(
        "--pipeline-markdown", action="store_true",
        help="print docs/pipeline.md's table of stages (params, data read, files written) from dvc.yaml instead",
    )  # fmt: skip
    params.add_argument("--dvc-yaml", default="dvc.yaml", help="pipeline file of --pipeline-markdown")
    params.set_defaults(func=_cmd_params)


def _add_info(sub) -> None:
    sub.add_parser("info", help="summarise the bars and sessions the pipeline produced").set_defaults(func=_cmd_info)


def _add_oracle(sub) -> None:
    oracle = sub.add_parser("oracle", help="AUC of the Bayes-optimal probabilities on the synthetic data")
    cutoff, target = DEFAULTS.features.cutoff, DEFAULTS.labels.target  # the schema's defaults, not a second copy
    oracle.add_argument("--cutoff", default=cutoff, type=_cutoff, help=f"ET cutoff HH:MM (default {cutoff})")
    oracle.add_argument("--target", default=target, choices=["rest_of_day", "direction"], help=f"default {target}")
    oracle.set_defaults(func=_cmd_oracle)


def _add_predict(sub) -> None:
    predict = sub.add_parser(
        "predict",
        help="P(up), the decision and its SHAP reasons for one day at the cutoff, with the registered model",
        description="Predict the rest of a trade date's session from the bars up to its cutoff (default: the last "
        "date in the data), with the model in models/ after checking its sha256 against the registry.",
    )
    predict.add_argument("--date", help="trade date YYYY-MM-DD (default: the last date in the data)")
    predict.add_argument(
        "--bars", nargs="+", default=[], metavar="FILE",
        help="vendor files with bars after the stored ones, e.g. this morning's in morning/ (untracked); a file "
        "under a dependency of dvc.yaml (data/raw) is refused",
    )  # fmt: skip
    predict.add_argument(
        "--format", choices=typing.get_args(DataParams.model_fields["format"].annotation),
        help="vendor format of --bars files (default: data.format)",
    )  # fmt: skip
    models_dir = PipelineFiles().models.as_posix()
    predict.add_argument(
        "--models-dir", default=models_dir, help=f"model and registry directory (default: {models_dir})"
    )
    predict.add_argument("--top", type=int, default=5, help="SHAP contributions to print (default 5)")
    predict.add_argument("--json", action="store_true", help="print JSON instead of text")
    predict.add_argument(
        "--in-sample", action="store_true",
        help="for a past day the registered model was fitted on: its in-sample answer instead of the out-of-fold "
        "probability the backtest traded",
    )  # fmt: skip
    predict.set_defaults(func=_cmd_predict)


def _add_plots(sub) -> None:
    plots = sub.add_parser(
        "plots",
        help="dvc plots show (or diff REV...) as an HTML page that works offline",
        description="Render the plots of dvc.yaml with DVC into dvc_plots/index.html, with the charting "
        "libraries inline (no CDN). With revisions, compare them with the workspace (dvc plots diff).",
    )
    plots.add_argument("revisions", nargs="*", help="git revisions or experiment names to compare (dvc plots diff)")
    plots.add_argument("-o", "--out", default="dvc_plots", help="output directory (default: dvc_plots)")
    plots.set_defaults(func=_cmd_plots)


def _add_report(sub) -> None:
    report = sub.add_parser(
        "report",
        help="headline metrics vs baselines and oracle (Markdown), or --html FILE: one offline page with charts",
        description="Summarise the committed run (metrics/, plots/, models/model_registry.json): Markdown on "
        "stdout, or with --html one self-contained HTML page (charts, breakdown, trade list).",
    )
    report.add_argument("--html", nargs="?", const="reports/report.html", metavar="FILE",
                        help="write the HTML page (default FILE: reports/report.html)")  # fmt: skip
    report.add_argument("--exp", metavar="NAME", help="a run of dvc exp show (experiment name or commit) instead")
    report.add_argument("--no-trials", dest="trials", action="store_false",
                        help="do not ask DVC for the runs tried (no deflated Sharpe over them)")  # fmt: skip
    report.set_defaults(func=_cmd_report)


def _add_exps(sub) -> None:
    exps = sub.add_parser(
        "exps",
        help="the DVC experiments: changed params, AUC with CI, Brier, oracle efficiency, Sharpe, trades, DSR",
        description="The workspace, the checked-out commit and its DVC experiments in one table, fitted to the "
        "width: the changed params are cut (with an ellipsis) to what the other columns leave, and lower-priority "
        f"columns ({', '.join(exp_table.DROP_FIRST)}) go first when that is too little. Columns: "
        f"{', '.join(exp_table.COLUMN_NAMES)}.",
    )
    shown = exps.add_mutually_exclusive_group()
    shown.add_argument(
        "--columns", type=_columns, metavar="A,B,...",
        help=f"the columns to show, in order (default: {', '.join(exp_table.TERMINAL)}); one of "
        f"{', '.join(exp_table.COLUMN_NAMES)}",
    )  # fmt: skip
    shown.add_argument("--all", action="store_true", help="every column, nothing cut")
    exps.add_argument(
        "--sort", choices=exp_table.COLUMN_NAMES, metavar="COLUMN",
        help="order the rows by COLUMN, best first: descending for auc, oracle_efficiency, sharpe, dsr, trades and "
        "trials; ascending for brier (lower is better) and the text columns; n/a last (default: dvc exp show's order)",
    )  # fmt: skip
    exps.add_argument("--reverse", action="store_true", help="with --sort: the other way round (n/a still last)")
    exps.add_argument(
        "--width", type=_width, metavar="N",
        help=f"characters per line (default: the terminal's width, {exp_table.WIDTH} when the output is not a "
        "terminal)",
    )  # fmt: skip
    exps.add_argument(
        "--by", metavar="KEY",
        help="group by a params key (data.symbol, synthetic.seed, train.model, ...): per group the runs, the best "
        "by Sharpe with its DSR over the group's trials only, and its spread over synthetic seeds",
    )  # fmt: skip
    exps.set_defaults(func=_cmd_exps)


def _add_lab(sub) -> None:
    lab = sub.add_parser(
        "lab", help="the ML Lab: a Dash page over the run, with a Train button (dvc exp run --temp) and run comparison"
    )
    lab.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    lab.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    lab.set_defaults(func=_cmd_lab)


# The subcommands in `almanac --help`'s order: each adds its parser, its arguments and its `_cmd_*` function.
SUBCOMMANDS = (_add_params, _add_info, _add_oracle, _add_predict, _add_plots, _add_report, _add_exps, sweep.add_parser,
               _add_lab)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface: the global options, then each of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(prog="almanac", description=__doc__.strip().splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    data_dir = PipelineFiles().data.as_posix()
    parser.add_argument("--data-dir", default=data_dir, help=f"pipeline data directory (default: {data_dir})")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``almanac`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, whether stdout is buffered or not
        return code
    except BrokenPipeError:  # `almanac predict | head`: the reader left; not an error (Python's documented idiom)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ParamsError, FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
