"""Stage ``bars``: canonical minute bars, cross-asset daily series, manifest (and the synthetic truth table).

Writes ``data/bars/<SYMBOL>.parquet``, ``data/bars/daily.parquet``, ``data/bars/manifest.json`` and, for the
synthetic source, ``data/truth/<SYMBOL>.parquet``.
"""

from __future__ import annotations

import logging

from almanac.data_sources.files import FileSource, build_file_dataset
from almanac.data_sources.store import write_json, write_table
from almanac.data_sources.synthetic import build_synthetic_dataset
from almanac.stage_io import read_stage_params, run_stage, stage_parser
from almanac.synth.market import MarketSpec

PARAMS = (
    "data.symbol",
    "data.start",
    "data.end",
    "data.source",
    "data.paths",
    "data.format",
    "data.timezone",
    "data.timestamp",
    "data.columns",
    "data.ts_format",
    "data.roll",
    "data.daily_paths",
    "data.daily_available_at",
    "synthetic.seed",
    "synthetic.kappa",
    "synthetic.rho",
    "synthetic.daily_vol_pct",
    "synthetic.start_price",
)
log = logging.getLogger("stages.bars")


def main(argv: list[str] | None = None) -> None:
    """Run the stage (see the module docstring); ``argv`` defaults to ``sys.argv``."""
    parser = stage_parser(
        __doc__,
        outputs={
            "bars": "canonical minute bars",
            "daily": "cross-asset daily series",
            "manifest": "provenance JSON",
            "truth": "synthetic truth table",
        },
    )
    args = parser.parse_args(argv)
    params, _ = read_stage_params(args.params, PARAMS)
    data, synthetic = params.data, params.synthetic
    if data.source == "synthetic":
        spec = MarketSpec(
            symbol=data.symbol, start=str(data.start), end=str(data.end), seed=synthetic.seed, kappa=synthetic.kappa,
            rho=synthetic.rho, daily_vol_pct=synthetic.daily_vol_pct, start_price=synthetic.start_price,
        )  # fmt: skip
        dataset = build_synthetic_dataset(spec)
    else:
        source = FileSource(
            symbol=data.symbol, paths=data.paths, format=data.format, timezone=data.timezone, timestamp=data.timestamp,
            columns=data.columns, ts_format=data.ts_format, roll=data.roll, start=str(data.start), end=str(data.end),
            daily_paths=data.daily_paths, daily_available_at=data.daily_available_at,
        )  # fmt: skip
        dataset = build_file_dataset(source)
    write_table(dataset.bars, args.bars)
    write_table(dataset.daily, args.daily)
    write_table(dataset.truth, args.truth)
    write_json(dataset.manifest, args.manifest)
    log.info(
        "wrote %d bars over %d trade dates to %s",
        len(dataset.bars),
        dataset.manifest["trade_dates"]["count"],
        args.bars,
    )


if __name__ == "__main__":
    run_stage(main)
