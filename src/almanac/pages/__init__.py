"""Dash pages (the original design's ``pages/``): :mod:`almanac.pages.ml_lab`."""
