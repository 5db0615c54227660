"""Plotly figures of a run's outputs (the original design's ``viz/ml_plots.py``): one builder per chart, shared
by the HTML report (:mod:`almanac.report`) and the ML Lab page (:mod:`almanac.pages.ml_lab`).

Each builder takes the tables the pipeline writes (``plots/*.csv``) and returns a figure; an empty table gives
a figure that says there is nothing to draw, never an exception.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

LAYOUT = {"template": "plotly_white", "height": 380, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
          "legend": {"orientation": "h", "y": -0.2}}  # fmt: skip


def figure(title: str, x_title: str = "", y_title: str = "") -> go.Figure:
    """An empty figure in the house layout."""
    fig = go.Figure()
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, **LAYOUT)
    return fig


def empty(title: str, why: str = "nothing to draw yet: run the pipeline (dvc repro)") -> go.Figure:
    """A figure that says why it is empty."""
    fig = figure(title)
    fig.add_annotation(text=why, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def equity(eq: pd.DataFrame) -> go.Figure:
    """Equity of the model and of buy-and-hold from the cutoff (``plots/equity.csv``)."""
    title = "Equity, one contract after costs"
    if eq.empty:
        return empty(title)
    fig = figure(title, "trade date", "USD")
    fig.add_scatter(x=eq["trade_date"], y=eq["equity_usd"], name="model", mode="lines")
    if "hold_equity_usd" in eq:
        fig.add_scatter(x=eq["trade_date"], y=eq["hold_equity_usd"], name="long at every cutoff", mode="lines")
    return fig


def drawdown(eq: pd.DataFrame) -> go.Figure:
    """Drawdown of the model's equity."""
    if eq.empty:
        return empty("Drawdown")
    fig = figure("Drawdown", "trade date", "USD")
    fig.add_scatter(x=eq["trade_date"], y=eq["drawdown_usd"], name="drawdown", mode="lines", fill="tozeroy")
    return fig


def yearly(table: pd.DataFrame) -> go.Figure:
    """P&L per year against buy-and-hold (``plots/yearly.csv``)."""
    if table.empty:
        return empty("P&L by year")
    fig = figure("P&L by year", "year", "USD")
    fig.add_bar(x=table["year"].astype(str), y=table["pnl_usd"], name="model")
    fig.add_bar(x=table["year"].astype(str), y=table["buy_hold_pnl_usd"], name="buy-and-hold")
    return fig


def calibration(table: pd.DataFrame) -> go.Figure:
    """Reliability curve with the perfect diagonal (``plots/calibration.csv``); each bin is labelled with its number
    of days, so a point far from the diagonal can be read against how few days it rests on."""
    title = "Calibration (out of fold; days per bin)"
    if table.empty:
        return empty(title, "no calibration curve: binary targets only")
    fig = figure(title, "mean predicted P(up)", "observed frequency of up")
    fig.add_scatter(x=[0, 1], y=[0, 1], name="perfect", mode="lines", line={"dash": "dash", "color": "grey"})
    fig.add_scatter(
        x=table["mean_predicted"], y=table["observed"], name="model", mode="lines+markers+text",
        text=[f"n={n}" for n in table["count"]], textposition="top center", hovertemplate="%{text}<extra></extra>",
    )  # fmt: skip
    return fig


def roc(table: pd.DataFrame, auc: float | None = None) -> go.Figure:
    """ROC curve with the chance diagonal (``plots/roc.csv``)."""
    title = "ROC (out of fold)" + (f", AUC {auc:.4f}" if auc is not None else "")
    if table.empty:
        return empty(title, "no ROC curve: binary targets only")
    fig = figure(title, "false positive rate", "true positive rate")
    fig.add_scatter(x=[0, 1], y=[0, 1], name="chance", mode="lines", line={"dash": "dash", "color": "grey"})
    fig.add_scatter(x=table["fpr"], y=table["tpr"], name="model", mode="lines")
    return fig


def rolling_auc(table: pd.DataFrame) -> go.Figure:
    """The drift monitor: rolling AUC of the model and of the synthetic oracle (``plots/rolling_auc.csv``)."""
    title = "Rolling AUC (drift monitor)"
    if table.empty:
        return empty(title, "no rolling AUC: binary targets only")
    fig = figure(title, "trade date", "AUC")
    fig.add_scatter(x=table["trade_date"], y=table["auc"], name="model", mode="lines")
    if "oracle_auc" in table and table["oracle_auc"].notna().any():
        fig.add_scatter(x=table["trade_date"], y=table["oracle_auc"], name="oracle", mode="lines")
    fig.add_hline(y=0.5, line={"dash": "dot", "color": "grey"})
    return fig


def shap_importance(table: pd.DataFrame, features: list[str] | None = None) -> go.Figure:
    """Mean |SHAP| per feature, largest at the top (``plots/shap_importance.csv``), optionally only ``features``."""
    title = "Feature importance (mean |SHAP| out of fold)"
    if table.empty or not table["mean_abs_shap"].notna().any():
        return empty(title, "no SHAP values (a baseline model, or no run yet)")
    if features is not None:
        table = table.loc[table["feature"].isin(features)]
        if table.empty:
            return empty(title, "no feature of the selected sets is in the model")
    table = table.sort_values("mean_abs_shap", kind="stable")
    fig = figure(title, "mean |SHAP| (log-odds)")
    fig.add_bar(x=table["mean_abs_shap"], y=table["feature"], orientation="h", name="mean |SHAP|")
    fig.update_layout(height=max(380, 18 * len(table) + 100))
    return fig


def folds(table: pd.DataFrame) -> go.Figure:
    """AUC per walk-forward test block (``plots/cv_folds.csv``)."""
    title = "AUC per walk-forward test block"
    if table.empty:
        return empty(title)
    fig = figure(title, "fold", "AUC")
    fig.add_bar(x=table["fold"], y=table["auc"], name="AUC")
    fig.add_hline(y=0.5, line={"dash": "dot", "color": "grey"})
    return fig


def confusion(days: pd.DataFrame) -> go.Figure:
    """Confusion matrix of the out-of-fold days (``plots/confusion.csv``: one row per day)."""
    title = "Confusion matrix (out of fold)"
    if days.empty:
        return empty(title)
    labels = sorted(set(days["actual"].astype(str)) | set(days["predicted"].astype(str)))
    counts = pd.crosstab(days["actual"].astype(str), days["predicted"].astype(str)).reindex(
        index=labels, columns=labels, fill_value=0
    )
    fig = figure(title, "predicted", "actual")
    fig.add_heatmap(
        z=counts.to_numpy(), x=labels, y=labels, colorscale="Blues", text=counts.to_numpy(), texttemplate="%{text}",
        hovertemplate="actual %{y}, predicted %{x}: %{z} days<extra></extra>",
    )  # fmt: skip
    return fig


def class_auc(evaluate: dict) -> go.Figure:
    """One-vs-rest AUC per class with each class's share of the days (multiclass targets: the archetypes)."""
    title = "AUC per class (one vs rest, out of fold)"
    classes = sorted(k.removeprefix("share_") for k in evaluate if k.startswith("share_"))
    if not classes:
        return empty(title, "binary target: see the ROC curve")
    fig = figure(title, "class", "AUC")
    fig.add_bar(
        x=classes, y=[evaluate.get(f"auc_{c}") for c in classes], name="AUC",
        text=[f"{evaluate[f'share_{c}']:.0%} of days" for c in classes], textposition="outside",
    )  # fmt: skip
    fig.add_hline(y=0.5, line={"dash": "dot", "color": "grey"})
    return fig


def shap_beeswarm(shap: pd.DataFrame, features: pd.DataFrame, top: int = 10) -> go.Figure:
    """The SHAP summary, beeswarm-style: for the ``top`` features by mean |SHAP|, one point per out-of-fold day at
    its SHAP value (under its fold's model, ``data/predictions/oof_shap.parquet``), coloured by the feature's value
    that day (its percentile among the days shown, low blue to high red; grey when missing), points of similar
    value stacked apart so the density shows.  ``features`` is the feature table (``trade_date`` and the columns).

    shap's own ``summary_plot`` draws with matplotlib; this is the same picture in Plotly, for the Lab."""
    title = f"SHAP summary (out of fold, {top} largest features)"
    names = [c for c in shap.columns if c not in ("trade_date", "fold")]
    if shap.empty or not names:
        return empty(title, "no SHAP values (a baseline model, or no run yet)")
    order = shap[names].abs().mean().sort_values(ascending=False, kind="stable").index[:top].tolist()
    days = pd.DatetimeIndex(pd.to_datetime(shap["trade_date"]))
    values = features.set_index(pd.DatetimeIndex(pd.to_datetime(features["trade_date"]))).reindex(days)
    long = pd.DataFrame({
        "feature": pd.Categorical(pd.Series(order).repeat(len(shap)).to_numpy(), categories=order),
        "trade_date": list(days.strftime("%Y-%m-%d")) * len(order),
        "shap": pd.concat([shap[c] for c in order], ignore_index=True).to_numpy(dtype=float),
        "value": pd.concat([values[c].reset_index(drop=True) if c in values else pd.Series([float("nan")] * len(shap))
                            for c in order], ignore_index=True).to_numpy(dtype=float),
    })  # fmt: skip
    long["colour"] = long.groupby("feature", observed=True)["value"].rank(pct=True)
    # Beeswarm: within each feature, points in the same 1/60 of the SHAP range alternate above and below the row.
    span = float(long["shap"].max() - long["shap"].min()) or 1.0
    long["bin"] = ((long["shap"] - long["shap"].min()) / span * 60).round()
    k = long.groupby(["feature", "bin"], observed=True).cumcount()
    depth = long.groupby(["feature", "bin"], observed=True)["shap"].transform("size").max()
    offset = ((k + 1) // 2) * ((k % 2) * 2 - 1) / max(float(depth), 1.0) * 0.8
    long["y"] = (len(order) - 1 - long["feature"].cat.codes).astype(float) + offset
    fig = figure(title, "SHAP value (log-odds of up)")
    fig.add_scatter(
        x=long["shap"], y=long["y"], mode="markers", name="days",
        marker={"size": 4, "color": long["colour"], "colorscale": "RdBu_r", "cmin": 0, "cmax": 1,
                "colorbar": {"title": "feature value", "tickvals": [0, 1], "ticktext": ["low", "high"]}},
        customdata=pd.DataFrame({"f": long["feature"].astype(str), "d": long["trade_date"],
                                 "v": long["value"]}).to_numpy(),
        hovertemplate="%{customdata[0]} on %{customdata[1]}: value %{customdata[2]:.4g}, SHAP %{x:+.4f}<extra></extra>",
    )  # fmt: skip
    fig.update_yaxes(tickvals=list(range(len(order))), ticktext=order[::-1], range=[-0.6, len(order) - 0.4])
    fig.add_vline(x=0, line={"color": "grey", "width": 1})
    fig.update_layout(height=max(380, 34 * len(order) + 120), showlegend=False)
    return fig


REFERENCE = {"color": "grey", "dash": "dash"}  # chance, perfect calibration, oracle, buy-and-hold


def overlay(kind: str, runs: dict[str, pd.DataFrame]) -> go.Figure:
    """Several runs on one chart (the Lab's comparison): ``kind`` is ``roc``, ``calibration``, ``equity`` or
    ``rolling_auc`` and ``runs`` maps each run's name to its ``plots/<kind>.csv``.  Each run is a solid coloured
    line; the reference (chance, perfect calibration, AUC 0.5) is grey and dashed."""
    x, y, titles = {
        "roc": ("fpr", "tpr", ("ROC (out of fold)", "false positive rate", "true positive rate")),
        "calibration": ("mean_predicted", "observed", ("Calibration (out of fold)", "mean predicted P(up)",
                                                        "observed frequency of up")),
        "equity": ("trade_date", "equity_usd", ("Equity, one contract after costs", "trade date", "USD")),
        "rolling_auc": ("trade_date", "auc", ("Rolling AUC", "trade date", "AUC")),
    }[kind]  # fmt: skip
    drawn = {name: t for name, t in runs.items() if not t.empty and {x, y} <= set(t.columns)}
    if not drawn:
        return empty(titles[0], "none of the selected runs has this chart")
    fig = figure(*titles)
    if kind in ("roc", "calibration"):
        fig.add_scatter(x=[0, 1], y=[0, 1], name="chance" if kind == "roc" else "perfect", mode="lines", line=REFERENCE)
    if kind == "rolling_auc":
        fig.add_hline(y=0.5, line=REFERENCE)
    for name, table in drawn.items():
        fig.add_scatter(x=table[x], y=table[y], name=name, mode="lines+markers" if kind == "calibration" else "lines")
    return fig
