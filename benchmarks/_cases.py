"""What the benchmarks measure: the table's check cases (``multiact._table``) that
another library has a counterpart of (``conformance/counterparts.py``), so that a
new row, or a new spelling there, is measured with no edit here.

A case is ``(label, info, params)``: ``label`` is the case's label (``"gelu"``,
``"gelu(approximate=False)"``); element-wise rows take 1-d input, the others
(reductions over the last axis, ``glu``) ``(rows, 1000)`` input.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from conformance.counterparts import counterpart  # noqa: E402 - needs the repository root

import multiact  # noqa: E402
from multiact._table import TABLE  # noqa: E402


def cases(library=None, *, elementwise=None, cupy=False):
    """The check cases, in table order, that ``library`` has a counterpart of
    (any case where ``library`` is None); ``elementwise``: only those rows (True)
    or only the others (False).  A row that takes no floating-point array
    (``one_hot``) has no counterpart there."""
    out = []
    for info in TABLE:
        if elementwise is not None and info.elementwise != elementwise:
            continue
        for c in info.cases:
            params = dict(c.params)
            if library is not None and counterpart(library, info, params, cupy=cupy) is None:
                continue
            out.append((info.label(params), info, params))
    return out


def one_pass(library=None, *, cupy=False):
    """The cases of the element-wise rows, of the reductions with a row kernel (over
    the last axis) and of the gated rows (halves of the last axis): what the
    first-call and GPU tables measure."""
    return [c for c in cases(library, cupy=cupy)
            if c[1].elementwise or c[1].row_kernel or c[1].halves]


def ours(info, params):
    """multiact's function of the case, a callable of the array alone."""
    f = getattr(multiact, info.name)
    return f if not params else (lambda x: f(x, **params))


def native(libraries, info, params, *, cupy=False):
    """``{library: callable}`` for each of ``libraries`` that has a counterpart."""
    out = {}
    for lib in libraries:
        f = counterpart(lib, info, params, cupy=cupy)
        if f is not None:
            out[lib] = f
    return out


def select(found, wanted):
    """The cases of ``found`` whose label or function name is in ``wanted``
    (all where ``wanted`` is empty or None): the benchmarks' ``--function``."""
    if not wanted:
        return found
    return [c for c in found if c[0] in wanted or c[1].name in wanted]


def command(script, argv):
    """The table's Command line: ``python benchmarks/<script>`` and ``argv`` without
    ``--markdown PATH`` (where the table went, not how it was measured)."""
    shown, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--markdown":
            skip = True
        elif not a.startswith("--markdown="):
            shown.append(a)
    return " ".join([f"python benchmarks/{script}", *shown])
