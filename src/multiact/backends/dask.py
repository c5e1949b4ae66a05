"""dask.array: the generic bodies build the task graph; nothing is computed early.

Reductions (softmax, logsumexp, standardize) are written with ``max``/``sum``
over ``axis``, which dask evaluates correctly when the axis is split across
chunks; unknown chunk sizes (after boolean indexing) are counted lazily
(``_formulas.count``) and reduced axes dropped with ``squeeze``
(``_formulas.drop_axes``).  No special case is needed.
"""

from __future__ import annotations

import sys

import array_api_compat.dask.array as _xp
import dask.array as _da

from . import Backend


def _clip(ns, x, lo, hi):
    # Reason: array_api_compat's dask clip broadcasts through the shape, which
    # unknown chunk sizes (NaN) break; dask's own clip is element-wise.
    return _da.clip(x, lo, hi)


PRIMITIVES = {"clip": _clip}

BACKEND = Backend(_xp, "dask", module=sys.modules[__name__])
