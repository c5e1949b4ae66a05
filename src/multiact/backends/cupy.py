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
import cupy as _cp

from .. import kernels as _kernels
from .._agnostic import _formulas as fm
from . import Backend, Namespace


def _clip(ns, x, lo, hi):
    # Reason: no host read.  array_api_compat's clip for CuPy (its generic one) assigns
    # through boolean masks, and CuPy reads each mask's count back to the host: the
    # GPU's queue drained on every call of a body that clips (tanh GELU, hard_sigmoid,
    # soft_shrink, ... where no kernel serves).  cupy.clip is one kernel; x's dtype is
    # kept, as the standard's clip keeps it (rounding is monotonic: clipping by bounds
    # of a wider dtype and rounding once is clipping by the bounds rounded; decision 187)
    return _cp.clip(x, lo, hi).astype(x.dtype, copy=False)


PRIMITIVES = {"clip": _clip}
NS = Namespace(_xp, "cupy", PRIMITIVES)


class CupyBackend(Backend):
    """CuPy: the rule for every function (``generic``): an element-wise row gets its
    fused kernel for float input with Python-number parameters, unless
    ``MULTIACT_KERNELS=framework``, and so does a gated row (one kernel over the
    two halves, read in place); everything else the generic body."""

    def generic(self, row, body, x, *params):
        # Reason: the device.  CuPy computes on the current device, which need not be
        # x's (an array made under ``with cupy.cuda.Device(1)``, used outside it): a
        # kernel there reads x across devices, or fails without peer access, and the
        # result lands on the current device.  multiact's result is on x's device
        # (the standard's rule; PyTorch's), so the call runs under x's (decision 187)
        device = getattr(x, "device", None)
        i = getattr(device, "id", None)  # (a cupy.cuda.Device)
        if i is not None and i != _cp.cuda.runtime.getDevice():
            with device:
                return self._generic(row, body, x, *params)
        return self._generic(row, body, x, *params)

    def _generic(self, row, body, x, *params):
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
