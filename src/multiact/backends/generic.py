"""Any other Array API namespace (array-api-strict, ...): the generic bodies, as they are.

No special cases, and three primitives (:func:`_shift`, :func:`_quotient`, :func:`_sum`): this is
the proof that the generic path uses nothing outside the standard.
"""

from __future__ import annotations

import sys

from . import Backend, Namespace


def _shift(ns, x, m):
    """``x - m``, an entry minus its slice's maximum (``_formulas.shift``).  Reason: no
    spurious warning.  A namespace built on NumPy (array-api-strict) warns where it
    overflows to ``-inf`` for an entry more than the dtype's range below the maximum,
    which is the limit there (decision 96; the NumPy backend's ``_shift``).  Only
    where NumPy is already imported: nothing is imported for it."""
    np = sys.modules.get("numpy")
    if np is None:
        return x - m
    with np.errstate(over="ignore"):
        return x - m


def _quotient(ns, a, b):
    """``a / b`` (``_formulas.quotient``).  Reason: no spurious warning, as
    :func:`_shift`: standardize's 0 / 0 of a constant slice with epsilon 0 is NaN
    (decision 130)."""
    np = sys.modules.get("numpy")
    if np is None:
        return a / b
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


def _sum(ns, x, axis=None, *, keepdims=False, dtype=None):
    """``sum`` of a float32 array accumulated in float64 (the standard's ``dtype=``),
    rounded once.  Reason: accuracy.  A namespace may sum a slice in order, one term
    after another: array-api-strict does (NumPy's sum across any axis but the
    last), off by up to n eps; a float32 softmax along axis 0 of 16384 x 2 went past
    its bound of 68 ulp (decision 188)."""
    if dtype is None and x.dtype == ns.float32:
        return ns.astype(ns._xp.sum(x, axis=axis, keepdims=keepdims, dtype=ns.float64),
                         ns.float32)
    return ns._xp.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


#: the least version of the Array API standard the generic bodies are written for:
#: 2024.12 lets ``where`` take a Python scalar, which they pass (decision 138)
STANDARD = "2024.12"


class GenericBackend(Backend):
    def on_error(self, exc, x, fname, argname="x"):
        # Reason: a clear error.  A namespace that implements an older standard
        # (array_api_strict.set_array_api_strict_flags(api_version="2023.12")) failed
        # deep in a body with an AttributeError ('float' object has no attribute 'dtype')
        # (only an error of the namespace's own: multiact's own errors are about the
        # call, "multiact.glu: ... even size", and stand)
        if not isinstance(exc, (AttributeError, TypeError)) or str(exc).startswith(
                "multiact."):
            return
        version = getattr(self.xp, "__array_api_version__", None)
        if isinstance(version, str) and version < STANDARD:
            raise TypeError(
                f"multiact.{fname}: argument {argname!r} is an array of {self.label}, "
                f"whose namespace implements the Array API standard {version}; multiact "
                f"needs {STANDARD} or later (where() with a Python scalar)") from exc


def backend(xp):
    """A backend for the Array API namespace ``xp``."""
    label = getattr(xp, "__name__", type(xp).__name__)
    return GenericBackend(Namespace(xp, "generic", {"shift": _shift, "quotient": _quotient,
                                                    "sum": _sum}, label=label))
