"""Any other Array API namespace (array-api-strict, ...): the generic bodies, as they are.

No special cases, and two primitives (:func:`_shift`, :func:`_quotient`): this is the proof that the
generic path uses nothing outside the standard.
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


def backend(xp):
    """A backend for the Array API namespace ``xp``."""
    label = getattr(xp, "__name__", type(xp).__name__)
    return Backend(Namespace(xp, "generic", {"shift": _shift, "quotient": _quotient},
                             label=label))
