"""Plotly figures of the pipeline's outputs (:mod:`almanac.viz.ml_plots`)."""
