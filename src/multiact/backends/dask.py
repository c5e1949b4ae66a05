"""dask.array: the generic bodies build the task graph; nothing is computed early.

Reductions (softmax, logsumexp, standardize) are written with ``max``/``sum``
over ``axis``, which dask evaluates correctly when the axis is split across
chunks.  No override is needed.
"""


def extra(name, ns):
    return None


def overrides(ns, generic):
    return {}
