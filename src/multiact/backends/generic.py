"""Any other Array API namespace (array-api-strict, ...): the generic bodies, as they are.

No primitives, no special cases: this is the proof that the generic path uses
nothing outside the standard.
"""

from __future__ import annotations

from . import Backend, Namespace


def backend(xp):
    """A backend for the Array API namespace ``xp``."""
    label = getattr(xp, "__name__", type(xp).__name__)
    return Backend(Namespace(xp, "generic", label=label))
