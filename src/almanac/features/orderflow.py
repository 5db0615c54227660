"""Order-flow approximations from minute bars.

True order-flow delta needs tick data with aggressor flags.  From bars we can only approximate it: the tick rule
signs each bar's volume by the direction of its close-to-close change, carrying the last non-zero direction
through unchanged bars.  Everything named ``delta`` in this package is this approximation.

:func:`tick_rule_sign` lives in :mod:`almanac.tick_rule`, a layer below both the features and the synthetic
market (which signs its volume with it); it is re-exported here.
"""

from __future__ import annotations

from almanac.tick_rule import tick_rule_sign

__all__ = ["tick_rule_sign"]
