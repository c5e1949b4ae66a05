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

import array_api_compat.cupy as _xp

from .. import kernels as _kernels
from .._agnostic import _formulas as fm
from . import Backend, Namespace

NS = Namespace(_xp, "cupy")


class CupyBackend(Backend):
    """CuPy: the rule for every function (``generic``): an element-wise row gets its
    fused kernel for float input with Python-number parameters, unless
    ``MULTIACT_KERNELS=framework``, and so does a gated row (one kernel over the
    two halves, read in place); everything else the generic body."""

    def generic(self, row, body, x, *params):
        if row.elementwise and row.fused and _kernels.mode() != "framework" \
                and all(type(p) in _kernels.CONSTANTS for p in params):
            from ..kernels import cuda_c

            y = cuda_c.cupy_forward(row, x, params)
            if y is not None:
                return y
        elif row.halves and row.fused and _kernels.mode() != "framework" \
                and all(type(p) in _kernels.CONSTANTS for p in params):
            from ..kernels import cuda_c

            i = [p.name for p in row.params].index("axis")
            if x.shape[params[i]] % 2 == 0:  # (an odd size: the body's error)
                a, b = fm.halves(NS, x, params[i], row.name)
                # the kernel is the same for every axis: keyed with axis 1, as PyTorch's
                y = cuda_c.cupy_gated(row, a, b, params[:i] + (1,) + params[i + 1:])
            else:
                y = None
            if y is not None:
                return y
        return body(NS, x, *params)


BACKEND = CupyBackend(NS)
