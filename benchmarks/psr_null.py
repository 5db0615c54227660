"""How many trades a PSR needs: the false-positive rate of PSR(0) for zero-edge strategies, by trade count.

A strategy with no edge trades ``k`` of ``T`` out-of-fold days (P&L zero on the others, a zero-mean fat-tailed
move on the trade days: the default synthetic market's own cutoff-to-close moves with random signs, kurtosis about
11, or Student-t moves); a valid test says PSR >= 0.95 on about 5 % of such strategies and PSR >= 0.99 on about
1 %.  This finds the smallest ``k`` from which both rates stay within 20 % of nominal (at most 6 % and 1.2 %), for
each kind of move and sample length, and writes the table to ``benchmarks/psr_null.md``.  The backtest reports no
PSR, DSR or Sharpe interval below the largest such ``k`` of its sample length (``almanac.ml.backtester.PSR_MIN_TRADES``).

    python benchmarks/psr_null.py [--draws 100000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from almanac.ml.backtester import PSR_MIN_TRADES
from almanac.ml.metrics import psr_null_rates

REPO = Path(__file__).resolve().parents[1]
TRADES = (41, 60, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1500)
DAYS = (500, 1754, 5000)  # two years, the default run's out-of-fold days, twenty years
TOLERANCE = 1.2  # within 20 % of nominal


def _es_moves():
    """Cutoff-to-close moves of the default synthetic ES market (points): the P&L a no-edge trade makes."""
    import almanac
    from almanac.config import DEFAULTS

    data = almanac.load_bars(DEFAULTS.data)
    sessions = almanac.build_sessions(data.bars, DEFAULTS.features.cutoff_time, data.manifest["rolls"])
    return (sessions["close"] - sessions["cutoff_price"]).to_numpy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000, help="strategies per cell")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "psr_null.md"))
    args = parser.parse_args(argv)
    from scipy import stats

    moves = _es_moves()
    kinds = {
        f"ES moves (kurtosis {stats.kurtosis(moves[np.isfinite(moves)], fisher=False):.0f})": {"moves": moves},
        "t(5)": {"tail_df": 5.0},
        "t(8)": {"tail_df": 8.0},
    }
    cells = [(kind, days) for kind in kinds for days in DAYS]
    lines = [
        f"Monte Carlo of PSR(0) for zero-edge strategies, {args.draws} per cell (fixed seeds: the same table on any "
        "machine).",
        "Each cell: P(PSR >= 0.95) / P(PSR >= 0.99); nominal 0.050 / 0.010, accepted up to 0.060 / 0.012 (✗: above).",
        "",
        "| trades | " + " | ".join(f"{kind}, {days} days" for kind, days in cells) + " |",
        "|---|" + "---|" * len(cells),
    ]
    smallest: dict[tuple[str, int], int] = {}
    for k in TRADES:  # rows
        row = []
        for kind, days in cells:
            if k > days:
                row.append("-")
                continue
            rates = psr_null_rates(k, days, draws=args.draws, seed=k * 1000 + days, **kinds[kind])
            ok = rates[0.95] <= 0.05 * TOLERANCE and rates[0.99] <= 0.01 * TOLERANCE
            if not ok:
                smallest.pop((kind, days), None)
            elif (kind, days) not in smallest:
                smallest[(kind, days)] = k
            row.append(f"{rates[0.95]:.3f} / {rates[0.99]:.3f}" + ("" if ok else " ✗"))
        lines.append(f"| {k} | " + " | ".join(row) + " |")
    bounds = {days: max(smallest.get((kind, days), max(TRADES)) for kind in kinds) for days in DAYS}
    lines += [
        "",
        "Smallest trade count from which every larger count tested stays within tolerance: "
        + "; ".join(f"{kind}, {days} days: {smallest.get((kind, days), 'not reached')}" for kind, days in cells)
        + ". By length, the largest over the kinds of move: "
        + ", ".join(f"{days} days: {bound}" for days, bound in bounds.items())
        + f". The code (almanac.ml.backtester.PSR_MIN_TRADES) uses {dict(PSR_MIN_TRADES)}.",
    ]
    Path(args.out).write_text("# PSR false positives by trade count\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
