"""CuPy: one fused kernel per element-wise function (``kernels/cuda_c.py``:
CUDA C++ printed from the generic body, as a ``cupy.ElementwiseKernel``); the
generic bodies for everything else (each array operation is one CuPy kernel).

Reason for the kernels (``adapt``, every element-wise row): speed.  A generic
body is a chain of array operations, each one pass over memory; the fused
kernel is one pass, computing the same formula (it is printed from it).

No native ``ndtr``: ``cupyx.scipy.special.ndtr`` loses up to 1500 ulp in the far
left tail (float64), measured against mpmath; the kernels use the erf/erfcx
formulation of ``_special.ndtr_from_native`` with CUDA's ``erff``/``erfcxf``.
"""

from __future__ import annotations

import sys

import array_api_compat.cupy as _xp

from . import Backend, Registry

SPECIAL = Registry("cupy")
_SCALARS = (float, int, bool)


def adapt(info, impl):
    """Element-wise rows: the fused kernel for float input with Python-scalar
    parameters, unless ``MULTIACT_KERNELS=framework``; else ``impl``."""
    if not info.elementwise:
        return impl
    from .. import kernels
    from ..kernels import cuda_c

    def run(x, *params):
        if kernels.mode() != "framework" and all(type(p) in _SCALARS for p in params):
            y = cuda_c.cupy_forward(info, x, params)
            if y is not None:
                return y
        return impl(x, *params)

    run.__name__ = run.__qualname__ = info.name
    run.__wrapped__ = impl
    return run


BACKEND = Backend(_xp, "cupy", module=sys.modules[__name__])
