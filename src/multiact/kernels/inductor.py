"""Fused CPU kernels for PyTorch tensors: the generic bodies compiled by Inductor.

``torch.compile`` turns a chain of ATen ops into one vectorised C++ loop (one
pass over memory), compiled with the host's C++ compiler and cached on disk by
Inductor.  The forward of an element-wise function is its generic body; the
backward is the derivative of the traced body (``_trace.derivative``) printed
as ATen ops; a reduction over the last axis is its generic body (Inductor
fuses the row's reductions into one loop nest).  Same API as ``triton.py``.

Compiling costs seconds per function and dtype on first use (then Inductor's
cache on disk), and calling a compiled function costs ~20 us of guards, so the
kernels serve large tensors only (``MIN_NUMEL``, in ``kernels/__init__.py``).
Where compiling fails (no C++ compiler), the framework paths stay, and
``multiact info`` shows which one runs.

Two primitives differ from the eager torch namespace, each for a measured reason:

* ``expm1``: Inductor (torch 2.13) computes it as ``exp(x) - 1``, off by
  ``eps / |x|`` relatively near 0 (1e-3 at x = 1e-12 in float64, every digit
  in float32); here it is Kahan's ``(u - 1) x / log(u)``, ``u = exp(x)``, for
  ``|x| < ln 2`` (``_special.expm1_kahan``: within an ulp or two; Inductor
  neither reassociates nor contracts it), and ``exp(x) - 1`` beyond, where it
  does not cancel (the registry's ATen spelling of ``expm1`` is the same form);
* ``ndtr`` in float64: the erf/erfcx form is not vectorised by Inductor
  (erfcx is a scalar call); exact GELU in float64 keeps its framework path.
  (float32 takes the erfc form, ``_special.ndtr_from_erfc32``, which it is.)
"""

from __future__ import annotations

import logging
import threading

import torch

from .._agnostic._special import expm1_kahan as _expm1
from ._ops import LEAVES, OPS
from ._trace import ROWS, Node, Unsupported, _topo, derivative, trace_elementwise

__all__ = ["available", "forward", "backward", "rows", "fuse", "has_elementwise", "ROWS"]
_LOG = logging.getLogger("multiact")
_LOCK = threading.Lock()
_CACHE: dict = {}
_STATE = {"broken": None}


def available() -> bool:
    return _STATE["broken"] is None


def _compile(key, make, arity):
    """``torch.compile`` of ``make()`` (cached).  Each kernel gets a function of its
    own (its own code object), so Dynamo's per-code cache never mixes them, with
    ``arity`` named parameters: behind ``*args`` Inductor's loops ran 1.5x slower
    (silu at 1e7: 34 ms against 21 ms, torch 2.13)."""
    key = key + (arity,)
    fn = _CACHE.get(key)
    if fn is not None:
        return fn
    with _LOCK:
        fn = _CACHE.get(key)
        if fn is None:
            inner = make()
            scope = {"inner": inner}
            name = "k_" + "_".join(str(abs(hash(p))) for p in key)[:120]
            params = ", ".join(f"a{i}" for i in range(arity))
            exec(f"def {name}({params}):\n    return inner({params})\n", scope)  # noqa: S102
            fn = _CACHE[key] = torch.compile(scope[name], dynamic=True, fullgraph=True)
    return fn


def _run(key, make, *args):
    if _STATE["broken"] is not None:
        return None
    try:
        return _compile(key, make, len(args))(*args)
    except Unsupported:
        raise
    except Exception as e:  # noqa: BLE001 - no compiler, an Inductor limitation: fall back
        _STATE["broken"] = f"{type(e).__name__}: {e}"
        _LOG.info("multiact: Inductor kernels unavailable, framework paths used (%s)",
                  _STATE["broken"][:300])
        return None


_GI = []


def _G():
    """The generic bodies bound to the torch namespace with Inductor-safe primitives."""
    if not _GI:
        import array_api_compat.torch as xp

        from ..backends import Generic, Namespace
        from ..backends.torch import PRIMITIVES

        _GI.append(Generic(Namespace(xp, "torch", {**PRIMITIVES, "expm1": _expm1})))
    return _GI[0]


def _excluded(info, params, dtype=None):
    """Why this compiler has no kernel for ``info`` (exact GELU in float64, see the
    module docstring), or None."""
    if info.name == "gelu" and params and params[0] is False and dtype != "float32":
        return ("exact GELU runs in float32 only (float64: Inductor does not vectorise "
                "erfcx; float16/bfloat16 go through float32)")
    return None


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _ok(x):
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64, torch.float16,
                                                  torch.bfloat16) and x.numel() > 0


def has_elementwise(info, x, params):
    if not _ok(x) or not available() or _excluded(info, params, _dtype_name(x)):
        return False
    try:
        _backward_fn(info, _dtype_name(x), params)
    except Unsupported:
        return False
    return True


def forward(info, x, params):
    if not _ok(x) or _excluded(info, params, _dtype_name(x)):
        return None
    body = getattr(_G(), info.name)
    return _run(("fwd", info.name, _dtype_name(x), params),
                lambda: (lambda t: body(t, *params)), x)


def backward(info, x, g, params):
    if not _ok(x) or g.dtype != x.dtype or _excluded(info, params, _dtype_name(x)):
        return None
    try:
        make = _backward_fn(info, _dtype_name(x), params)
    except Unsupported:
        return None
    return _run(("bwd", info.name, _dtype_name(x), params), lambda: make, x, g)


def rows(info, x, params, where=None):
    if info.name not in ROWS or not _ok(x) or x.ndim == 0:
        return None
    body = getattr(_G(), info.name)
    names = [p.name for p in info.params]
    args = list(params)
    args[0] = (x.ndim - 1,)
    i = names.index("where")
    per_row = info.name in ("logsumexp", "logmeanexp")

    def make():
        def f(t, *w):
            a = list(args)
            a[i] = w[0] if w else None
            y = body(t, *a)
            return y
        return f

    key = ("rows", info.name, _dtype_name(x), tuple(map(repr, params)), where is not None,
           x.ndim)
    y = _run(key, make, x, *((where,) if where is not None else ()))
    if y is not None and per_row:
        y = y.reshape(x.shape[:-1])
    return y


def fuse(key, fn, *tensors):
    """``fn(*tensors)``, a function of ATen ops that a backend writes for itself
    (sigmoid's output and saved pair), compiled into one kernel; None where this
    compiler does not apply."""
    if not all(_ok(t) for t in tensors):
        return None
    return _run(("fuse", key) + tuple(_dtype_name(t) for t in tensors), lambda: fn, *tensors)


# -- the derivative graph, printed as ATen ops ----------------------------------------------

_DT = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
       "bfloat16": torch.bfloat16}


def _backward_fn(info, dtype, params):
    """A function ``(x, g) -> g * f'(x)`` of ATen ops: the derivative graph of the
    traced generic body, evaluated node by node (Dynamo traces it into one graph)."""
    key = ("graph", info.name, dtype, params)
    f = _CACHE.get(key)
    if f is not None:
        return f
    x, y = trace_elementwise(info, dtype, params, ndtr="erfc32")
    g = Node("g", (), dtype)
    gx = derivative(x, y, g)
    order = _topo(gx)
    for n in order:
        if n.op not in OPS and n.op not in LEAVES:
            raise Unsupported(f"no ATen form for {n.op}")

    def f(xv, gv):
        val = {id(x): xv, id(g): gv}
        for n in order:
            if id(n) in val:
                continue
            if n.op == "const":
                v = n.value
                val[id(n)] = bool(v) if n.dtype == "bool" else float(v)
                continue
            val[id(n)] = OPS[n.op].aten(n, *[val[id(a)] for a in n.args])
        out = val[id(gx)]
        return out.to(_DT[dtype]) if out.dtype != _DT[dtype] else out

    _CACHE[key] = f
    return f
