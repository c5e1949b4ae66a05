"""Any other Array API namespace (array-api-strict, ...): the generic bodies, as they are.

No special cases, and one primitive (:func:`_shift`): this is the proof that the
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


def backend(xp):
    """A backend for the Array API namespace ``xp``."""
    label = getattr(xp, "__name__", type(xp).__name__)
    return Backend(Namespace(xp, "generic", {"shift": _shift}, label=label))
