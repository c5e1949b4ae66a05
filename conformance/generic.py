"""A function's generic body, run as it is: what a backend's special cases and
its rule for every function (JAX's ``jit``, the fused kernels, NumPy's blocks)
are compared with.

``generic(info, be, x, params)`` checks and normalises the parameters through
their kinds in the order the public function does (``tools/generate.py``: a
parameter that broadcasts with ``x`` first; a value the kind's fast test accepts,
or the default object itself, unchanged), then calls ``info.body(be.ns, x, ...)``
on the backend's namespace, with no backend rule in between.
"""

from __future__ import annotations


def _unchecked(p, v):
    """Whether the public function passes ``v`` on as it is (``_identity_default``
    and ``Kind.fast`` in tools/generate.py)."""
    if p.default is not None and v is p.default and p.kind.normal_default:
        return True
    fast = p.kind.fast
    return fast != "False" and bool(eval(fast.format(v="v"), {}, {"v": v}))  # noqa: S307


def arguments(info, be, x, params=None):
    """``(x, args)``: ``x`` (widened where a parameter broadcasts with it) and the
    body's parameters in order, as the public function hands them to ``be``."""
    params = dict(info.cases[0].params if params is None else params)
    values = {p.name: params.get(p.name, p.default) for p in info.params}
    for p in sorted(info.params, key=lambda p: not p.kind.widens):
        v = values[p.name]
        if _unchecked(p, v):
            continue
        v = values[p.name] = p.kind.check(info.name, p.name, v, be, x, info.first)
        if p.kind.widens:
            x = p.kind.widen(x, v, be)
    return x, [values[p.name] for p in info.params]


def generic(info, be, x, params=None):
    """``info``'s generic body on ``be``'s namespace, with ``params`` (default: the
    row's first check case) checked and normalised as the public function does."""
    x, args = arguments(info, be, x, params)
    return info.body(be.ns, x, *args)
