"""The embedded default data source: the seeded synthetic market (ES by default), assembled like any vendor's data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac import calendar, version
from almanac.data_sources.canonical import Dataset
from almanac.data_sources.contracts import build_continuous
from almanac.data_sources.validation import check_canonical
from almanac.instruments import instrument
from almanac.synth.market import MarketSpec, generate_market


def build_synthetic_dataset(spec: MarketSpec) -> Dataset:
    """Generate the synthetic market and assemble its continuous front series (calendar roll)."""
    market = generate_market(spec)
    dates = market.truth["trade_date"]
    rth = calendar.rth_sessions(dates.min(), dates.max(), rth=instrument(spec.symbol).rth)
    bars, rolls = build_continuous(
        market.contract_bars, symbol=spec.symbol, roll="calendar", rth_close_utc=rth["rth_close_utc"]
    )
    check_canonical(bars, spec.tick, source="synthetic bars")
    # Counted on integer codes (a groupby on millions of contract strings is slower); sorted by contract as before.
    codes, contracts = pd.factorize(market.contract_bars["contract"])
    per_contract = pd.Series(np.bincount(codes, minlength=len(contracts)), index=contracts).sort_index()
    manifest = {
        "source": "synthetic",
        "symbol": spec.symbol,
        "generator": spec.model_dump(exclude={"symbol", "start", "end"}),
        "almanac_version": version.__version__,
        "timestamp_convention": "bar start, UTC",
        "tick": spec.tick,
        "roll_rule": "calendar",
        "rolls": rolls,
        "rows": {
            "contract_bars": int(len(market.contract_bars)),
            "continuous_bars": int(len(bars)),
            "other_contract_bars_not_used": int(len(market.contract_bars) - len(bars)),
            "daily_series": int(len(market.daily)),
        },
        "rows_per_contract": {str(k): int(v) for k, v in per_contract.items()},
        "trade_dates": {"count": int(dates.size), "first": str(dates.min().date()), "last": str(dates.max().date())},
        "repairs": {},
        "warnings": [],
        "notes": "minutes without trades are absent (never zero-filled); holiday-morning Globex segments are not simulated",
    }
    return Dataset(bars=bars, daily=market.daily, manifest=manifest, truth=market.truth)
