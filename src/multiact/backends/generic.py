"""Any other Array API namespace (array-api-strict, ...): the generic bodies, as they are.

No primitives, no special cases: this is the proof that the generic path uses
nothing outside the standard.  One rule differs (:meth:`GenericBackend.generic`):
a body that shifts by the maximum runs with NumPy's overflow warning off.
"""

from __future__ import annotations

import sys

from . import Backend, Namespace


class GenericBackend(Backend):
    """The generic bodies on an Array API namespace."""

    def generic(self, row, body, x, *params):
        """Reason: no spurious warning.  A namespace built on NumPy (array-api-strict)
        warns where a shift by the maximum (``FuncInfo.max_shift``: the softmax family,
        sparsemax) overflows to ``-inf`` for an entry more than the dtype's range below
        the maximum, which is the limit there (the NumPy backend's ``_shift``).  Only
        where NumPy is already imported: nothing is imported for it."""
        np = sys.modules.get("numpy") if row.max_shift else None
        if np is None:
            return body(self.ns, x, *params)
        with np.errstate(over="ignore"):
            return body(self.ns, x, *params)


def backend(xp):
    """A backend for the Array API namespace ``xp``."""
    label = getattr(xp, "__name__", type(xp).__name__)
    return GenericBackend(Namespace(xp, "generic", label=label))
