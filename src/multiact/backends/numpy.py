"""NumPy: the generic bodies, with SciPy's normal CDF for float32 when SciPy is installed."""

from __future__ import annotations

from functools import partial

import numpy as np

from .._agnostic import _special

_F32 = np.dtype(np.float32)


def extra(name, ns):
    if name == "ndtr":
        # Reason: speed.  scipy.special.ndtr is one C loop (computed in double,
        # 0.5 ulp for float32) where the generic piecewise fit is ~60 array
        # passes.  Not for float64: in the far left tail it is ~1500 ulp off,
        # where the generic version stays within 4 (measured against mpmath;
        # the conformance suite checks both paths).  SciPy stays optional.
        try:
            from scipy.special import ndtr
        except ImportError:
            return None
        generic = partial(_special.ndtr, ns)

        def fast_ndtr(x):
            return ndtr(x) if x.dtype == _F32 else generic(x)

        return fast_ndtr
    return None


def overrides(ns, generic):
    return {}
