"""Fused CPU kernels for PyTorch tensors: the generic bodies compiled by Inductor.

``torch.compile`` turns a chain of ATen ops into one vectorised C++ loop (one
pass over memory), compiled with the host's C++ compiler and cached on disk by
Inductor.  The forward of an element-wise function is its generic body; the
backward is the derivative of the traced body (``_trace.derivative``) printed
as ATen ops; a reduction over the last axis is its generic body over a 2-d
view (Inductor fuses the row's reductions into one loop nest).

The compile tier (``_tier.py``) decides when a kernel is compiled (off the
caller's thread, once it has proven hot) and holds it; this module says how.
Every kernel is compiled with dynamic shapes behind a function of its own (its
own code object, so Dynamo's per-code cache never mixes kernels) that raises
``Miss`` when it runs uncompiled, and is called with Dynamo's guards past its
frame hook (``_direct``), or through ``torch._dynamo.run``: a call whose guards
fail never compiles on the caller's thread, it raises ``Miss`` and the caller
takes its framework path.  Calls run with the gradient
off and autocast off, the state the kernel was compiled in, so the guards on
global state hold; element-wise inputs are flattened to one dimension and rows
to two, so one kernel serves every shape.

Two primitives differ from the eager torch namespace, each for a measured reason:

* ``expm1``: Inductor (torch 2.13) computes it as ``exp(x) - 1``, off by
  ``eps / |x|`` relatively near 0 (1e-3 at x = 1e-12 in float64, every digit
  in float32); here it is Kahan's ``(u - 1) x / log(u)``, ``u = exp(x)``, for
  ``|x| < ln 2`` (within an ulp or two; Inductor neither reassociates nor
  contracts it), and ``exp(x) - 1`` beyond, where it does not cancel;
* ``ndtr`` in float32: erfc of a corrected argument
  (``_special.ndtr_from_erfc32``), which Inductor vectorises.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import time
import types

import torch

from .._agnostic._special import expm1_kahan as _expm1
from ._ops import LEAVES, OPS
from .._table import TABLE
from . import _STATE, _own
from ._tier import FAILED, TIER, Miss, Pair
from ._trace import (ROWS, Node, Unsupported, _topo, derivative, derivatives, trace_elementwise,
                     trace_gated)

__all__ = ["available", "builder", "rows_builder", "rows_vjp_builder", "gated_builder",
           "fuse_builder", "warm", "ROWS"]

# Inductor's own compile workers are processes; one compile at a time runs in
# this process instead (the tier compiles one kernel at a time anyway, and no
# pool outlives the program).  Inductor decides whether a loop runs on every
# core from the sample's sizes, and its disk cache does not key on them: a
# kernel once compiled on a small sample stayed single-threaded for every later
# process (2.5x slower at 1e7).  Every kernel here is compiled on a large sample
# (SAMPLE_NUMEL), and a minimum chunk one element below Inductor's default (no
# measurable effect) keys these compiles apart from any made with the defaults.
_OPTIONS = {"compile_threads": 1, "cpp.min_chunk_size": 511}


def _floats_constant():
    """Python floats in a body (a formula's constants, its coefficient tuples) as
    constants of the graph.  Dynamo's default (``specialize_float=False``) makes
    each a graph input, a tensor that ``torch.as_tensor`` makes on every call:
    exact GELU's rational (11 coefficients) cost ~80 us a call so (1000 elements:
    105 us against the framework path's 26).  Only where a patch of Dynamo's config
    is the patching thread's own (a ``ContextVar``, as in torch 2.13): the tier
    compiles on its own thread, and a process-wide patch would reach the user's
    ``torch.compile`` on theirs meanwhile (an older torch keeps the default)."""
    cfg = torch._dynamo.config
    entry = getattr(cfg, "_config", {}).get("specialize_float")
    if isinstance(getattr(entry, "user_override", None), contextvars.ContextVar):
        return cfg.patch(specialize_float=True)
    return contextlib.nullcontext()


#: the elements of the sample a kernel is compiled on (at least)
SAMPLE_NUMEL = 1 << 20
_SEQ = itertools.count()
_CACHE: dict = {}  # derivative graphs (ATen functions), by function, dtype and parameters


def available() -> bool:
    return hasattr(torch, "compile")


def _autocast_on():
    from . import autocast_on

    return autocast_on("cpu")


def _compile(label, f, arity, sample):
    """``f`` compiled by Inductor, now, on ``sample``; returns the caller that runs
    the compiled code only (``Miss`` where its guards reject a call)."""
    from ..backends._torch_native import _is_compiling  # (this thread's compile only:
    #                                                      decision 167)

    scope = {"inner": f, "_compiling": _is_compiling, "Miss": Miss}
    name = f"multiact_kernel_{next(_SEQ)}"
    params = ", ".join(f"a{i}" for i in range(arity))
    # named parameters: behind *args Inductor's loops ran 1.5x slower (torch 2.13)
    exec(f"def {name}({params}):\n    if not _compiling():\n        raise Miss\n"  # noqa: S102
         f"    return inner({params})\n", scope)
    fn = scope[name]
    fn.__qualname__ = f"{name} ({label})"
    compiled = torch.compile(fn, dynamic=True, fullgraph=True, options=_OPTIONS)
    # in the state every call runs in (``call``): the guards expect it
    with torch.no_grad(), torch.autocast("cpu", enabled=False), \
            _floats_constant():
        try:
            compiled(*sample)
        except Miss:  # (the stub ran as it is: nothing was compiled)
            raise RuntimeError("torch.compile ran the kernel's function eagerly "
                               "(TORCHDYNAMO_DISABLE=1, or a compiler stance other than "
                               "'default')") from None
        guards, direct = _direct(fn, sample)
    run_only = torch._dynamo.run(compiled)
    names = [f"a{i}" for i in range(arity)]

    def run(args):
        # Dynamo's guards, then its compiled code, both called here: the same
        # checks and the same code as Dynamo's frame hook runs, without it; only
        # where Dynamo would run it (its stance the default; no torch.compile's
        # frame hook active, as in a frame it fell back from; not traced by one)
        if direct is not None and not _is_compiling() and \
                _DYNAMO.module._stance.stance == "default" and _DYNAMO.hook() is None \
                and guards(dict(zip(names, args))):
            return direct(*args)
        return run_only(*args)

    set_grad, grad_on = torch._C._set_grad_enabled, torch.is_grad_enabled

    def call(*args):
        # the kernel was compiled for tensors that do not require a gradient (the
        # guards check it): an autograd.Function's forward hands it its inputs
        args = [a.detach() if a.requires_grad else a for a in args]
        prev = grad_on()
        if prev:
            set_grad(False)
        try:
            if _autocast_on():
                with torch.autocast("cpu", enabled=False):
                    return run(args)
            return run(args)
        finally:
            if prev:
                set_grad(True)

    call.__qualname__ = call.__name__ = name
    if direct is not None:  # a torch.compile's hook never traces these frames
        _DYNAMO.skip(call.__code__)
        _DYNAMO.skip(run.__code__)
    return call


class _Dynamo:
    """Dynamo's private hooks that :func:`_direct` takes (torch 2.13), looked up by
    the first compile (importing ``torch._dynamo`` takes a second: never on a
    caller's first call); ``ok`` False where this torch lacks one."""

    ok = None

    def load(self):
        if self.ok is None:
            try:
                from torch._C._dynamo.eval_frame import get_eval_frame_callback
                from torch._dynamo import eval_frame

                self.module, self.hook = eval_frame, get_eval_frame_callback
                self.entries = eval_frame._debug_get_cache_entry_list
                self.skip = eval_frame.skip_code
                # (module._stance: replaced, not changed, by torch.compiler.set_stance)
                self.ok = isinstance(eval_frame._stance.stance, str)
            except Exception:  # noqa: BLE001 - another torch: every call through Dynamo
                self.ok = False
        return self.ok


_DYNAMO = _Dynamo()


def _direct(fn, sample):
    """``(guards, code)`` of ``fn``'s one Dynamo cache entry: its guards' check (of
    the arguments by name; C++, 0.5-1.4 us) and the code Dynamo runs when they
    pass (its compiled graph's call), as a function whose frames a torch.compile
    hook skips.  Reason: speed.  A call through Dynamo's frame hook cost 15-50 us
    more (torch 2.13: 25 against 11 us at 4096 float32 elements, 102 against 60
    us at 524288, ``torch.mul`` 59): at 2^18 elements, where the tier starts,
    that is as much as the kernel.  ``(None, None)`` where torch lacks these
    hooks (private API), the entry is not plain, or its check does not answer
    ``True`` for ``sample`` and ``False`` for it in another dtype: every call
    then goes through Dynamo."""
    if not _DYNAMO.load():
        return None, None
    try:
        entries = _DYNAMO.entries(fn.__code__)
        if len(entries) != 1 or entries[0].code.co_freevars:
            return None, None
        entry, names = entries[0], [f"a{i}" for i in range(len(sample))]
        check = entry.guard_manager.check
        other = torch.float32 if sample[0].dtype == torch.float64 else torch.float64
        if check(dict(zip(names, sample))) is not True or \
                check(dict(zip(names, [sample[0].to(other), *sample[1:]]))) is not False:
            return None, None
        _DYNAMO.skip(entry.code)
        return check, types.FunctionType(entry.code, fn.__globals__, fn.__name__)
    except Exception:  # noqa: BLE001 - a torch without them: Dynamo's own call
        return None, None


def _namespace(long=None):
    """The torch backend's namespace (handed over: ``kernels.bind_torch``) with
    Inductor's primitives (the module docstring); ``long``: the row kernels' for
    rows longer than ``kernels.long_row``, ``"sums"`` whose float32 sums accumulate
    in float64 (its reason there; 1 ulp of log_softmax at 131072 entries of randn *
    5, from 279), ``"squares"`` whose sums of squares do (``_formulas.sum_squares``:
    standardize's; its other sums in float64 too cost 2.3x ``F.layer_norm`` at 1e7,
    and the tier retired the kernel)."""
    key = f"inductor_ns_{long}" if long else "inductor_ns"
    ns = _STATE.get(key)
    if ns is None:
        base = _STATE["torch_ns"].replacing({"expm1": _expm1})
        if long == "sums":
            base = base.replacing({"sum": _in_float64(base.sum)})
        elif long == "squares":
            base = base.replacing({"sum_squares": _squares_in_float64})
        ns = _STATE[key] = base
    return ns


def _long_kind(info, long):
    """The long-row namespace a row kernel takes (:func:`_namespace`), or None."""
    return ("squares" if info.square_sums else "sums") if long else None


def _squares_in_float64(ns, d, axis=None, keepdims=False):
    """``sum_squares`` of a float32 array accumulated in float64, by the namespace's
    own ``sum`` (the row kernels' broadcast one), rounded to float32 once.  Each square
    is rounded in float32 first (one rounding each, of either sign: the sum's order
    was what lost digits), and overflows where the eager paths' do (a deviation beyond
    1.8e19: decision 160's limit)."""
    return _in_float64(ns.sum)(ns, d * d, axis=axis, keepdims=keepdims)


def _in_float64(sum_):
    """``sum_`` (the namespace's) accumulating a float32 array in float64, its
    result rounded to float32 once."""
    def sum64(ns, x, axis=None, *, keepdims=False, dtype=None):
        if dtype is None and x.dtype == torch.float32:
            return sum_(x, axis=axis, keepdims=keepdims, dtype=torch.float64).to(x.dtype)
        return sum_(x, axis=axis, keepdims=keepdims, dtype=dtype)

    return sum64


def _wide(reduce):
    """``reduce`` (the namespace's ``sum`` or ``max``) whose ``keepdims`` result is
    broadcast back to its input's shape."""
    def wide(ns, x, axis=None, *, keepdims=False, **kw):
        y = reduce(x, axis=axis, keepdims=keepdims, **kw)
        return y.expand(x.shape) if keepdims else y

    return wide


def _rows_namespace(long=None):
    """The namespace of the row kernels whose output has the input's shape
    (``row_kernel="same"`` and ``row_loop``): a slice's reductions are broadcast
    over the slice where they are taken, so whatever the body computes from them
    is computed in the loop that writes the output, from the row's scalars.
    Reason: speed.  Inductor keeps a per-slice value that needs ``log`` or ``exp``
    as a buffer of its own, computed in a loop of its own between the reductions
    and the output, and then cannot put a row's loops under one loop over the
    rows: each pass reads the whole input from memory, not the row from cache
    (decision 75).  Not where the output takes a libm call of the row's values
    (log_softmax's logs of its sums): the C++ makes the call again for every
    vector of entries, which costs more than the passes (decision 190).  Not for
    standardize's vector-Jacobian product, whose loops Inductor fuses by row
    anyway (autograd's graph, before decision 84: 23.4 ms widened 27.4 ms)."""
    key = f"inductor_rows_ns_{long}" if long else "inductor_rows_ns"
    ns = _STATE.get(key)
    if ns is None:
        base = _namespace(long)
        ns = _STATE[key] = base.replacing({"sum": _wide(base.sum), "max": _wide(base.max)})
    return ns


def _forward_fn(info, params):
    body, ns = info.body, _namespace()
    return lambda t: body(ns, t, *params)


def builder(kind, info, dtype, params):
    """``build(slot, sample)`` for an element-wise kernel: ``forward`` (one kernel,
    ``x -> f(x)``) or ``train`` (a :class:`Pair` of the forward and the backward
    kernel, ``(x, g) -> g f'(x)``), over 1-d tensors: the generic body and its
    traced derivative, or the backend's own formulas where it registered them
    (``kernels.own``; a forward of ATen's own kernels is not compiled)."""
    own = _own(info.name, params, dtype)

    def forward(slot, sample):
        if own.native:
            return own.fwd
        fwd = own.fwd or _forward_fn(info, params)
        return _compile(slot.label + (" forward" if kind == "train" else ""), fwd, 1, sample[:1])

    if kind == "forward":
        return forward

    def build(slot, sample):
        # Unsupported (no traced derivative): this kernel fails, alone
        bwd = own.bwd or _backward_fn(info, dtype, params)
        return Pair(forward(slot, sample),
                    _compile(slot.label + " backward", bwd, 2, sample))

    return build


def _rows_fn(info, params, wide=True, long=False, body=None):
    """``f(t, *where)``: the row's generic body over axis 1 of a 2-d ``t``; with
    ``wide``, on the namespace of :func:`_rows_namespace` where the output has the
    input's shape; ``long``: for rows longer than ``kernels.long_row``.  With
    ``body`` (``FuncInfo.vjp``), ``f(t, g, *where)`` of that function."""
    vjp, body = body is not None, body or info.body
    kind = _long_kind(info, long)
    one_loop = wide and info.row_kernel == "same" and info.row_loop
    ns = _rows_namespace(kind) if one_loop else _namespace(kind)
    names = [p.name for p in info.params]
    args = list(params)
    args[0] = (1,)
    i = names.index("where")

    def f(t, *w):
        a = list(args)
        a[i] = w[0] if w else None
        return body(ns, t, *a)

    def f_vjp(t, g, *w):
        a = list(args)
        a[i] = w[0] if w else None
        return body(ns, t, g, *a)

    return f_vjp if vjp else f


def rows_vjp_builder(info, params, masked, long=False):
    """``build(slot, sample)`` for a row's training (``row_backward == "vjp"``): a
    :class:`Pair` of its row kernel and the vector-Jacobian product of its generic
    body, ``(x, g[, where]) -> g J(x)``, compiled: the row's own, written out
    (``FuncInfo.vjp``), else autograd's derivative of the body (``torch.func.vjp``)
    as one graph, which Inductor fuses into a few loops (standardize at 1e7:
    autograd op by op took 6.2x ``F.layer_norm``'s forward plus backward; the graph
    1.51-1.54x its backward, the written-out one 0.99-1.07x: decision 84)."""
    f = _rows_fn(info, params, long=long)
    if info.vjp is not None:
        vjp = _rows_fn(info, params, False, long, info.vjp)
    else:
        plain = _rows_fn(info, params, False, long)

        def vjp(t, g, *w):
            return torch.func.vjp(lambda u: plain(u, *w), t)[1](g)[0]

    def build(slot, sample):
        x, g, *w = sample
        fwd = _compile(slot.label + " forward", f, 1 + masked, (x, *w))
        return Pair(fwd, _compile(slot.label + " backward", vjp, 2 + masked, sample))

    return build


def rows_builder(info, params, masked, long=False):
    """``build(slot, sample)`` for a reduction over the last axis of a 2-d tensor
    (``params`` as the body takes them; the axis is set to 1), of rows longer than
    ``kernels.long_row`` where ``long``."""
    f = _rows_fn(info, params, long=long)
    return lambda slot, sample: _compile(slot.label, f, 1 + masked, sample)


def gated_builder(kind, info, dtype, params):
    """``build(slot, sample)`` for a gated row (glu, swiglu, geglu) over ``x3``, the
    input viewed as ``(outer, 2, m)`` (``params`` with the axis set to 1):
    ``forward`` (its generic body) or ``train`` (a :class:`Pair` with the traced
    derivatives of both halves, written by one loop); the backend's own formulas
    where it registered them (``kernels.own``: ``fwd(x3)``, ``bwd(x3, g)``), its
    native forward (the training pair's only: inference is the backend's) called
    as it is."""
    body, ns = info.body, _namespace()
    own = _own(info.name, params, dtype)
    assert own.fwd is not None or not own.native, info.name  # (a native forward: its own)

    def generic(t):
        return body(ns, t, *params)

    fwd = generic if own.native else own.fwd or generic  # (compiled)
    if kind == "forward":
        return lambda slot, sample: _compile(slot.label, fwd, 1, sample[:1])

    def build(slot, sample):
        bwd = own.bwd or gated_backward_fn(info, dtype, params)
        return Pair(own.fwd if own.native else
                    _compile(slot.label + " forward", fwd, 1, sample[:1]),
                    _compile(slot.label + " backward", bwd, 2, sample))

    return build


def fuse_builder(fn, arity):
    """``build(slot, sample)`` for a function of ATen ops that a backend writes for
    itself (tanh_shrink's training pair)."""
    return lambda slot, sample: _compile(slot.label, fn, arity, sample)


def sample_numel(n):
    """The elements to compile an element-wise kernel on, for a call of ``n``."""
    return max(n, SAMPLE_NUMEL)


def sample_rows(rows, cols):
    """``(rows, cols)`` to compile a row kernel on, for a call of that shape (one
    row stays one row, and one column one column: each is a kernel of its own, as
    Dynamo specializes a size of 1).  Never two equal sizes:
    Dynamo would give both one symbol, and guard every call on rows == cols."""
    r, c = (1 if rows == 1 else max(rows, 1024), 1 if cols == 1 else max(cols, 1024))
    return (r + 1 if r == c else r, c)


def warm(functions=None, dtypes=("float32", "float64", "float16", "bfloat16"), progress=None):
    """Compile every CPU kernel now (element-wise forward, forward and backward,
    and the row kernels, for rows of at most and of more than ``long_row`` entries,
    with and without a mask, with their training pairs where
    the backward is compiled: ``"vjp"``; the gated rows' forward and training pair,
    for calls of many rows and of one) for each check case of each
    selected function; one report dict per kernel."""
    from .. import kernels as K  # (this package, fully imported by now)
    from ..backends import torch as _backend  # noqa: F401 - binds the namespace the
    # bodies run on and registers the backend's own formulas (kernels.own)

    out = []
    n = SAMPLE_NUMEL
    for info in TABLE:
        if functions and info.name not in functions:
            continue
        for dtype in dtypes:
            dt = getattr(torch, dtype)
            jobs = []
            if info.elementwise:
                for case in info.cases:
                    params = info.args(dict(case.params))
                    x = torch.zeros(n, dtype=dt)
                    for kind in ("forward", "train"):
                        if kind == "forward" and K._own(info.name, params, dtype).native:
                            continue  # ATen's own forward: nothing to compile
                        slot = K._elementwise_slot(kind, info, x, params, "inductor")
                        sample = (x,) if kind == "forward" else (x, torch.zeros_like(x))
                        jobs.append((slot, sample))
            elif info.name in ROWS:
                params = _rows_params(info)
                # rows of at most long_row(dtype) entries, and longer (their own)
                longest = K.long_row(dtype)
                for cols, masked in itertools.product((longest, longest + 1), (False, True)):
                    call = torch.zeros(2, cols, dtype=dt)  # (the calls the kernel serves)
                    if K._eager_rows(info, call, params, True if masked else None,
                                     "inductor"):
                        continue  # ATen's own (kernels.own), or no float64 kernel
                    x = torch.zeros(*sample_rows(256, cols), dtype=dt)
                    w = (torch.ones(x.shape, dtype=torch.bool),) if masked else ()
                    slot = K._rows_slot("rows", info, call, params, masked, "inductor",
                                        torch.ones(call.shape, dtype=torch.bool) if masked
                                        else None)  # (its kind: the caller's mode)
                    if any(slot is j[0] for j in jobs):
                        continue  # one kernel for every length (no wide_sums)
                    jobs.append((slot, (x,) + w))
                    if info.row_backward == "vjp":  # and its training pair
                        slot = K._rows_slot("train", info, call, params, masked, "inductor")
                        jobs.append((slot, (x, torch.zeros_like(x)) + w))
            elif info.halves:  # the gated rows, over x viewed as (outer, 2, m)
                i = [p.name for p in info.params].index("axis")
                for case in info.cases:
                    params = info.args(dict(case.params))
                    params = params[:i] + (1,) + params[i + 1:]
                    # (a call of many rows, and of one: a size 1 is a kernel of its own)
                    for call in (torch.zeros(64, 2, 4096, dtype=dt),
                                 torch.zeros(1, 2, 4096, dtype=dt)):
                        for kind in ("forward", "train"):
                            if kind == "forward" and K._own(info.name, params, dtype).native:
                                continue  # ATen's own forward (F.glu): nothing to compile
                            slot = K._gated_slot(kind, info, call, params, "inductor")
                            if not any(slot is j[0] for j in jobs):
                                jobs.append((slot, K._gated_sample(call, kind == "train")()))
            for slot, sample in jobs:
                if progress:
                    progress(f"multiact compile: {slot.label}...")
                t0 = time.perf_counter()
                TIER.compile_now(slot, sample)
                out.append({"function": info.name, "dtype": dtype, "kernel": slot.label,
                            "target": "cpu (Inductor)", "ok": slot.state is not FAILED,
                            "seconds": round(time.perf_counter() - t0, 3),
                            "error": slot.reason if slot.state is FAILED else ""})
    return out


def _rows_params(info):
    """The parameters a row kernel is compiled with by default (as the torch
    backend passes them: axis normalised, no mask, Python-scalar statistics)."""
    return tuple((1,) if p.name == "axis" else p.default for p in info.params)


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
    run = _aten_of((gx,), dtype)

    def f(xv, gv):
        return run({id(x): xv, id(g): gv})[0]

    _CACHE[key] = f
    return f


def gated_backward_fn(info, dtype, params):
    """A function ``(x3, g2) -> (outer, 2, m)`` of ATen ops: the derivatives of the
    traced gated body with respect to both halves, stacked (one loop)."""
    key = ("gated-graph", info.name, dtype, params)
    f = _CACHE.get(key)
    if f is not None:
        return f
    a, b, y = trace_gated(info, dtype, params, ndtr="erfc32")
    g = Node("g", (), dtype)
    run = _aten_of(derivatives((a, b), y, g), dtype)

    def f(x3, g2):
        outs = run({id(a): x3[:, 0], id(b): x3[:, 1], id(g): g2})
        return torch.stack([o.expand(g2.shape) for o in outs], 1)

    _CACHE[key] = f
    return f


def _aten_of(outs, dtype):
    """``run(leaves) -> [tensor, ...]``: the graphs ``outs`` evaluated node by node
    in ATen ops (Dynamo traces it into one graph) from the leaves' tensors
    (``{id(leaf): tensor}``), each result in ``dtype``; raises :class:`Unsupported`
    for an operation with no ATen form."""
    orders = [_topo(o) for o in outs]
    for order in orders:
        for n in order:
            if n.op not in OPS and n.op not in LEAVES:
                raise Unsupported(f"no ATen form for {n.op}")
    want = _DT[dtype]

    def run(val):
        val = dict(val)
        for order in orders:
            for n in order:
                if id(n) in val:
                    continue
                if n.op == "const":
                    v = n.value
                    val[id(n)] = bool(v) if n.dtype == "bool" else float(v)
                    continue
                val[id(n)] = OPS[n.op].aten(n, *[val[id(q)] for q in n.args])
        res = [val[id(o)] for o in outs]
        return [r.to(want) if r.dtype != want else r for r in res]

    return run
