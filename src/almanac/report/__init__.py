"""The run report (``almanac report``): headline metrics against the baselines and the oracle, as Markdown for a
pull-request comment, or as one self-contained HTML page with the charts and the trade list.

It reads only what the pipeline commits (``metrics/*.json``, ``plots/*.csv``, ``models/model_registry.json``,
``data/bars/manifest.json``, ``params.yaml``, ``benchmarks/robustness.json``), so it works on a fresh clone without
running anything.  Charts are the Plotly figures of
:mod:`almanac.viz.ml_plots` with plotly.js inline (``include_plotlyjs`` once for the page), so the file opens offline; div ids are fixed, so the
same run gives the same bytes.

The pieces: :mod:`~almanac.report.runs` reads a run, :mod:`~almanac.report.headline` makes its headline rows, warnings
and Markdown, :mod:`~almanac.report.page` its HTML page.
"""

from almanac.report.headline import headline, markdown, sizing, warnings
from almanac.report.page import to_html, trades
from almanac.report.runs import PLOT_FILES, Run, load_experiment, load_run, with_trials

__all__ = [
    "PLOT_FILES", "Run", "headline", "load_experiment", "load_run", "markdown", "sizing", "to_html", "trades",
    "warnings", "with_trials",
]  # fmt: skip
