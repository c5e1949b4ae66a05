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
  ``|x| < ln 2`` (within an ulp or two; Inductor neither reassociates nor
  contracts it), and ``exp(x) - 1`` beyond, where it does not cancel;
* ``ndtr`` in float64: the erf/erfcx form is not vectorised by Inductor
  (erfcx is a scalar call); exact GELU in float64 keeps its framework path.
  (float32 takes the erfc form, ``_special.ndtr_from_erfc32``, which it is.)
"""

from __future__ import annotations

import logging
import threading

import torch

from ._trace import Node, Unsupported, _topo, derivative, trace_elementwise

__all__ = ["available", "forward", "backward", "rows", "fuse", "has_elementwise", "ROWS"]

ROWS = ("softmax", "log_softmax", "softmin", "logsumexp", "logmeanexp", "standardize")
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


def _expm1(ns, x):
    """expm1 without cancellation under Inductor (Kahan; see the module docstring)."""
    # |x| >= ln 2: exp(x) - 1 has no cancellation.  Below: Kahan's form; u == 1
    # means x is below eps, where expm1(x) == x.
    u = ns.exp(x)
    um1 = u - 1.0
    near = (x < 0.6931471805599453) & (x > -0.6931471805599453) & (u != 1.0)
    safe = ns.where(near, u, 2.0)
    kahan = (safe - 1.0) * ns.where(near, x, 1.0) / ns.log(safe)
    return ns.where(near, kahan, ns.where(u == 1.0, x, um1))


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
    # exact GELU in float64 (see the module docstring)
    return info.name == "gelu" and params and params[0] is False and dtype != "float32"


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
_SPECIAL = {"erf": torch.special.erf, "erfc": torch.special.erfc, "erfcx": torch.special.erfcx}


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
        if n.op not in _EVAL and n.op not in ("x", "g", "const"):
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
            val[id(n)] = _EVAL[n.op](n, *[val[id(a)] for a in n.args])
        out = val[id(gx)]
        return out.to(_DT[dtype]) if out.dtype != _DT[dtype] else out

    _CACHE[key] = f
    return f


def _where(n, c, a, b):
    return torch.where(c, a, b)


class _NS_EVAL:
    """The few namespace functions ``_expm1`` uses, on tensors."""

    exp, log, where = torch.exp, torch.log, staticmethod(torch.where)


_EVAL = {
    "add": lambda n, a, b: a + b, "sub": lambda n, a, b: a - b, "mul": lambda n, a, b: a * b,
    "div": lambda n, a, b: a / b, "lt": lambda n, a, b: a < b, "le": lambda n, a, b: a <= b,
    "gt": lambda n, a, b: a > b, "ge": lambda n, a, b: a >= b, "eq": lambda n, a, b: a == b,
    "ne": lambda n, a, b: a != b, "and": lambda n, a, b: a & b, "or": lambda n, a, b: a | b,
    "neg": lambda n, a: -a, "not": lambda n, a: ~a, "where": _where,
    "max": lambda n, a, b: torch.maximum(torch.as_tensor(a), torch.as_tensor(b)),
    "min": lambda n, a, b: torch.minimum(torch.as_tensor(a), torch.as_tensor(b)),
    "astype": lambda n, a: a.to(_DT[n.dtype]),
    "abs": lambda n, a: torch.abs(a), "exp": lambda n, a: torch.exp(a),
    "expm1": lambda n, a: _expm1(_NS_EVAL, a), "log": lambda n, a: torch.log(a),
    "log1p": lambda n, a: torch.log1p(a), "tanh": lambda n, a: torch.tanh(a),
    "sqrt": lambda n, a: torch.sqrt(a), "round": lambda n, a: torch.round(a),
    "isinf": lambda n, a: torch.isinf(a), "isnan": lambda n, a: torch.isnan(a),
    "erf": lambda n, a: _SPECIAL["erf"](a), "erfc": lambda n, a: _SPECIAL["erfc"](a),
    "erfcx": lambda n, a: _SPECIAL["erfcx"](a),
}
