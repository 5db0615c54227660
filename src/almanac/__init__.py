"""Almanac Futures: a reproducible machine-learning research pipeline for intraday futures."""

__version__ = "0.1.0"
