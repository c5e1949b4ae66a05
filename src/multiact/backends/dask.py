"""dask.array: the generic bodies build the task graph; nothing is computed early.

Reductions (softmax, logsumexp, standardize) are written with ``max``/``sum``
over ``axis``, which dask evaluates correctly when the axis is split across
chunks; unknown chunk sizes (after boolean indexing) are counted lazily
(``_formulas.count``) and reduced axes dropped with ``squeeze``
(``_formulas.drop_axes``).  No special case is needed.
"""

from __future__ import annotations

import array_api_compat.dask.array as _xp

from . import Backend

BACKEND = Backend(_xp, "dask")
