"""Write 20 years of 1-minute ES-like bars as one FirstRate CSV, for the ingest benchmark (``make bench``).

A seeded random walk on the 0.25 tick grid over every weekday Globex session (18:00 ET the evening before to
16:59 ET, 1,380 bars), 2005-2024: about 7.2 M rows and 400 MB.  Volume follows the intraday shape the stamp
checks look for (thin overnight, a spike in the 09:30 ET bar, heavy into the close).  The synthetic market itself
starts in 2012 (its session eras), so it cannot provide twenty years.

    python benchmarks/twenty_years.py OUT.csv
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd


def main(out: str) -> int:
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2005-01-03", "2024-12-31")
    minute_of_session = np.arange(1380)
    offsets = (pd.to_timedelta(minute_of_session, unit="min") - pd.Timedelta(hours=6)).to_numpy()
    stamps = (days.to_numpy()[:, None] + offsets[None, :]).ravel()
    n = len(stamps)
    close = np.round(np.clip(1200.0 + np.cumsum(rng.integers(-2, 3, n) * 0.25), 700, 11000) * 4) / 4
    open_ = np.concatenate([[1200.0], close[:-1]])
    high = np.maximum(open_, close) + 0.25 * rng.integers(0, 3, n)
    low = np.minimum(open_, close) - 0.25 * rng.integers(0, 3, n)
    et_minute = (minute_of_session + 18 * 60) % 1440  # the session starts at 18:00 ET
    shape = np.where((et_minute >= 570) & (et_minute < 960), 1500.0, 200.0)
    shape[et_minute == 570] = 9000.0
    shape[et_minute == 959] = 6000.0
    volume = np.maximum(1, np.tile(shape, len(days)) * rng.lognormal(0.0, 0.3, n)).astype(np.int64)
    frame = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(stamps).strftime("%Y-%m-%d %H:%M:%S"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    )
    frame.to_csv(out, header=False, index=False, float_format="%.2f")
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
