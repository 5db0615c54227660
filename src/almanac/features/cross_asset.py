"""Cross-asset features: the latest value of each daily series that was *published* by the cutoff.

A daily value is joined to trade date D only if its ``available_at <= cutoff(D)`` (an as-of join on the
publication instant, not on the date): normally that is the previous day's value.  Using a same-day close before
it exists is the classic leak this guards against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from almanac.sessions import session_windows, symbol_of

# How each series' change is expressed: simple return in percent (not a log return: WTI crude printed a negative
# price on 2020-04-20), or a difference in the given unit.
CHANGES = {
    "VIX": ("vix_change", "diff", 1.0),
    "DX": ("dx_ret_pct", "return", 100.0),
    "TNX": ("tnx_change_bp", "diff", 100.0),  # yield in percent -> basis points
    "WTI": ("wti_ret_pct", "return", 100.0),
}
LEVELS = {"VIX": "vix_level"}


def series_changes(daily: pd.DataFrame) -> pd.DataFrame:
    """Add each series' change versus its previous observation (known at the same ``available_at``)."""
    out = daily.sort_values(["symbol", "available_at"], kind="stable").copy()
    if out.empty:
        out["change"] = pd.Series(dtype="float64")
        return out
    previous = out.groupby("symbol", sort=False)["close"].shift(1)
    kind = out["symbol"].map({k: v[1] for k, v in CHANGES.items()})
    scale = out["symbol"].map({k: v[2] for k, v in CHANGES.items()})
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero previous price gives inf/NaN, not a warning
        change = np.where(kind == "return", out["close"] / previous - 1.0, out["close"] - previous)
    out["change"] = change * scale
    return out


def cross_asset_features(cutoffs: pd.Series, daily: pd.DataFrame) -> pd.DataFrame:
    """One column per series change (and the VIX level), as of each trade date's cutoff.

    ``cutoffs``: UTC cutoff instant per trade date (index ``trade_date``).  ``daily``: long format ``symbol,
    date, close, available_at``.  Series absent from ``daily`` give no columns.
    """
    left = pd.DataFrame({"trade_date": cutoffs.index, "cutoff_utc": cutoffs.to_numpy()}).sort_values("cutoff_utc")
    left["cutoff_utc"] = left["cutoff_utc"].dt.as_unit("ns")
    changes = series_changes(daily)
    changes["available_at"] = changes["available_at"].dt.as_unit("ns")
    out = pd.DataFrame(index=pd.DatetimeIndex(cutoffs.index, name="trade_date"))
    for symbol, (name, _, _) in CHANGES.items():
        right = changes.loc[changes["symbol"] == symbol, ["available_at", "close", "change"]]
        if right.empty:
            continue
        joined = pd.merge_asof(
            left, right, left_on="cutoff_utc", right_on="available_at", direction="backward", allow_exact_matches=True
        )
        joined = joined.set_index("trade_date")
        out[name] = joined["change"]
        if symbol in LEVELS:
            out[LEVELS[symbol]] = joined["close"]
    return out


def compute(bars, sessions: pd.DataFrame, daily: pd.DataFrame, *, settings) -> pd.DataFrame:
    """The family for the feature registry: :func:`cross_asset_features` at the cutoff of ``settings``
    (``FeaturesParams``) for the trade dates of ``sessions`` (indexed by trade date); ``bars`` only name the
    instrument, whose RTH window clips the cutoff on half days."""
    windows = session_windows(sessions.index, settings.cutoff_time, symbol=symbol_of(bars))
    return cross_asset_features(windows["cutoff_utc"], daily)


LINEAGE = {
    "vix_change": (
        "daily VIX",
        "change vs the previous published close",
        "available_at <= cutoff (VIX closes 16:15 ET)",
    ),
    "vix_level": ("daily VIX", "latest published close", "available_at <= cutoff (VIX closes 16:15 ET)"),
    "dx_ret_pct": ("daily dollar index", "return vs the previous close, %", "available_at <= cutoff (17:00 ET)"),
    "tnx_change_bp": ("daily 10Y yield", "change vs the previous close, bp", "available_at <= cutoff (15:00 ET)"),
    "wti_ret_pct": ("daily crude", "return vs the previous close, %", "available_at <= cutoff (14:30 ET)"),
}
