"""CuPy: the generic bodies (each array operation is one CuPy kernel).

No native ``ndtr``: ``cupyx.scipy.special.ndtr`` loses up to 1500 ulp in the
far left tail (float64), measured against mpmath; the generic one stays within
a few ulp.
"""

from __future__ import annotations

import sys

import array_api_compat.cupy as _xp

from . import Backend, Registry

SPECIAL = Registry("cupy")

BACKEND = Backend(_xp, "cupy", module=sys.modules[__name__])
