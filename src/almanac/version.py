"""The package's version: recorded in every manifest (``almanac_version``) and re-exported as ``almanac.__version__``.

A module of its own, below every other, so that a data source can stamp its manifest without importing the package
facade.  ``pyproject.toml`` reads the distribution's version from here.
"""

__version__ = "0.1.0"
