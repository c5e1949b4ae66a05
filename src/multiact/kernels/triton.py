"""Triton kernels for PyTorch tensors, printed from the traced generic bodies.

* element-wise: one kernel forward (``y = f(x)``) and one backward
  (``gx = g * f'(x)``, the symbolic derivative of the same graph), one pass
  over memory each;
* gated (glu, swiglu, geglu: ``x`` viewed as ``(outer, 2, m)``, the halves
  ``a = x[:, 0]`` and ``b = x[:, 1]``): one kernel forward (``y = f(a, b)``) and
  one backward writing both halves of the gradient (``g df/da``, ``g df/db``),
  one pass each, as Liger's fused SwiGLU/GeGLU kernels;
* reductions over the last axis (softmax, log_softmax, softmin, logsumexp,
  logmeanexp, standardize, with or without ``where``): one program per row.
  A row that fits one block (``SINGLE_MAX`` entries) is read once and written
  once; a longer row is reduced stage by stage in chunks (one read per stage,
  then the write).

The kernels' math goes through ``LD`` (libdevice: ``__nv_expf``, ...; on AMD
``__ocml_exp_f32``, ...) rather than Triton's fast approximations (``tl.exp``
is ``ex2.approx`` after a rounding of ``x log2 e``, 100 ulp off near x = 80),
and float32 division is ``tl.div_rn`` (IEEE).  Under ``TRITON_INTERPRET=1``
(Triton's interpreter, which runs kernels on CPU tensors with NumPy), ``LD`` is
bound to the NumPy/SciPy functions the registry (``_ops.py``) names, so the
same kernel source runs there: that is how CI tests the kernels' logic without
a GPU.  Accuracy on a GPU is measured by ``conformance/gpu.sh``.

Every kernel is compiled with floating-point contraction off
(:data:`COMPILE_OPTIONS`: no ``a*b+c`` becomes an FMA), as the interpreter and
the host compiler compute, and as ``_special.ndtr_from_erfc32``'s exact
products need: a GPU then differs from the interpreter only by libdevice's
documented accuracy.

Kernels are generated once per (function, parameters, dtype) and cached; the
parameters (Python scalars) are baked in as constants.  A kernel that cannot be
printed is remembered with its reason (:func:`failures`).
"""

from __future__ import annotations

import contextlib

import linecache
import math
import os

try:
    import torch
except ImportError:  # printing sources (coverage, ahead-of-time compiles) needs no torch
    torch = None

from .._locks import ForkSafeLock
from ._ops import LIBDEVICE, TRITON_TYPES as _TL, triton_cast as _to
from ._tier import Pair
from ._trace import (ROWS, Node, Unsupported, _topo, derivative, derivatives,
                     gpu_ndtr, print_node, trace_elementwise, trace_gated, trace_rows)

__all__ = ["available", "interpreted", "forward", "backward", "rows", "has_elementwise", "ROWS",
           "COMPILE_OPTIONS", "elementwise_kernel_source", "gated_kernel_source",
           "rows_kernel_source", "kernel_text", "failures", "gated_forward", "gated_backward",
           "gated_pair", "gated_builder"]

SINGLE_MAX = 8192          # a row up to this many entries is one block, read once
CHUNK = 2048               # the chunk of a longer row
ELEM_BLOCK = 1024
#: Triton's compile options for every kernel, at launch and ahead of time:
#: contraction into FMA off (see the module docstring)
COMPILE_OPTIONS = {"enable_fp_fusion": False}

_LOCK = ForkSafeLock()
_CACHE: dict = {}
_FAILED: dict = {}


def interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


# -- libdevice under the interpreter ------------------------------------------------------

class _NumpyLibdevice:
    """libdevice's functions for Triton's interpreter, computed with the NumPy/SciPy
    function the registry names (``_ops.LIBDEVICE``) in the operands' dtype (the
    interpreter hands kernels NumPy-backed tensors)."""

    def __getattr__(self, name):
        import importlib

        import numpy as np

        call = LIBDEVICE.get(name)
        if call is None:
            raise AttributeError(name)
        module, _, attr = call.host.rpartition(".")
        fn = getattr(importlib.import_module(module), attr)

        def call(*args):
            import triton.language as tl
            from triton.runtime.interpreter import TensorHandle

            datas = [a.handle.data for a in args]
            with np.errstate(all="ignore"):
                out = np.asarray(fn(*datas)).astype(datas[0].dtype, copy=False)
            first = args[0]
            return tl.core.tensor(TensorHandle(out, first.dtype.scalar), first.type)

        setattr(self, name, call)
        return call


def _libdevice():
    if interpreted():
        return _NumpyLibdevice()
    from triton.language.extra import libdevice

    return libdevice


# -- printing a graph as Triton code ------------------------------------------------------

def _const(v, dtype):
    if dtype == "bool":
        return f"tl.full([], {bool(v)}, tl.int1)"
    if math.isnan(v):
        lit = 'float("nan")'
    elif math.isinf(v):
        lit = 'float("inf")' if v > 0 else '-float("inf")'
    else:
        lit = repr(float(v))
    return f"tl.full([], {lit}, {_TL[dtype]})"


def _expr(node, name):
    """The Triton expression of ``node`` given the names of its arguments."""
    return print_node(node, name, "triton", _const)


def _emit(nodes, name, lines, indent, out=None):
    """Assign every node to a variable, in order.  An element-wise ``out`` that is a
    narrowing conversion converts only the lanes in bounds (``inb``): padding
    lanes hold what the formula gives for x = 0, which may not fit the dtype."""
    pad = " " * indent
    for node in nodes:
        if id(node) in name:
            continue
        var = f"v{len(name)}"
        if node is out and node.op == "astype" and node.elem:
            arg = name[id(node.args[0])]
            expr = _to(f"tl.where(inb, {arg}, 0)", node.dtype, node.args[0].dtype)
        else:
            expr = _expr(node, name)
        lines.append(f"{pad}{var} = {expr}")
        name[id(node)] = var


def _store(expr):
    # padding lanes hold whatever the formula gives for x = 0 (they are not
    # stored); zero them so that no conversion of theirs can overflow
    return f"tl.where(inb, {expr}, 0)"


def elementwise_source(fname, inputs, out):
    """Source of an element-wise kernel over contiguous tensors: ``inputs`` are
    the graph's leaves (``x``, and ``g`` for a backward), ``out`` its result."""
    args = ", ".join(f"{n.op}_ptr" for n in inputs)
    lines = ["@triton.jit",
             f"def {fname}({args}, out_ptr, n, BLOCK: tl.constexpr):",
             "    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)",
             "    inb = offs < n"]
    name = {}
    for leaf in inputs:
        var = f"v{len(name)}"
        lines.append(f"    {var} = tl.load({leaf.op}_ptr + offs, mask=inb, other=0)")
        name[id(leaf)] = var
    _emit(_topo(out), name, lines, 4, out)
    lines.append(f"    tl.store(out_ptr + offs, {_store(name[id(out)])}, mask=inb)")
    return "\n".join(lines) + "\n"


def gated_source(fname, a, b, outs, g=None):
    """Source of a gated kernel over a contiguous ``(outer, 2, m)`` tensor, ``n =
    outer * m`` elements of each half: the leaves ``a`` (``x``, first half) and
    ``b`` (second half) are read from ``x_ptr``; the forward (``outs = (y,)``)
    writes ``(outer, m)``, the backward (``g`` given, ``outs = (ga, gb)``) reads
    ``g`` ``(outer, m)`` and writes both halves of an ``(outer, 2, m)`` gradient."""
    args = "x_ptr, " + ("g_ptr, " if g is not None else "") + "out_ptr, n, m"
    lines = ["@triton.jit",
             f"def {fname}({args}, BLOCK: tl.constexpr):",
             "    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)",
             "    inb = offs < n",
             "    ia = offs + (offs // m) * m",          # row r: r * 2m + c = offs + r * m
             "    v0 = tl.load(x_ptr + ia, mask=inb, other=0)",
             "    v1 = tl.load(x_ptr + ia + m, mask=inb, other=0)"]
    name = {id(a): "v0", id(b): "v1"}
    if g is not None:
        lines.append("    v2 = tl.load(g_ptr + offs, mask=inb, other=0)")
        name[id(g)] = "v2"
    for out in outs:
        _emit(_topo(out), name, lines, 4, out)
    if g is None:
        lines.append(f"    tl.store(out_ptr + offs, {_store(name[id(outs[0])])}, mask=inb)")
    else:
        lines.append(f"    tl.store(out_ptr + ia, {_store(name[id(outs[0])])}, mask=inb)")
        lines.append(f"    tl.store(out_ptr + ia + m, {_store(name[id(outs[1])])}, mask=inb)")
    return "\n".join(lines) + "\n"


def _levels(out):
    """The stage of every node: 0 for what needs no reduction, k + 1 for an
    ``rmax``/``rsum`` whose argument needs stage-k results."""
    level = {}
    for node in _topo(out):
        if node.op in ("x", "mask", "const", "ncols"):
            level[id(node)] = 0
            continue
        lv = max((level[id(a)] for a in node.args), default=0)
        level[id(node)] = lv + 1 if node.op in ("rmax", "rsum") else lv
    return level


_ACC = {"rmax": ("-float('inf')", "_max_nan({acc}, tl.where(inb, {v}, -float('inf')))",
                 "tl.reduce({acc}, 0, _max_nan)"),
        "rsum": ("0.0", "{acc} + tl.where(inb, {v}, 0.0)", "tl.sum({acc}, axis=0)")}


def rows_source(fname, x, mask, out, single):
    """Source of a row kernel: one program per row of a contiguous (rows, ncols)
    tensor.  ``single``: the row is one block, loaded once; else chunks of CHUNK."""
    order = _topo(out)
    level = _levels(out)
    reductions = [n for n in order if n.op in ("rmax", "rsum")]
    stages = sorted({level[id(r)] for r in reductions})
    args = "x_ptr, " + ("mask_ptr, " if mask is not None else "") + "out_ptr, ncols"
    lines = ["@triton.jit", f"def {fname}({args}, BLOCK: tl.constexpr):",
             "    row = tl.program_id(0).to(tl.int64)",
             "    base = row * ncols"]
    name = {}

    def load(pad, name_):
        lines.append(f"{pad}v_x = tl.load(x_ptr + base + offs, mask=inb, other=0)")
        name_[id(x)] = "v_x"
        if mask is not None:
            lines.append(f"{pad}v_m = tl.load(mask_ptr + base + offs, mask=inb, other=0) != 0")
            name_[id(mask)] = "v_m"

    def ncols_nodes(name_):
        for n in order:
            if n.op == "ncols":
                name_[id(n)] = f"tl.cast(ncols, {_TL[n.dtype]})"

    def scalars_up_to(stage, name_, pad):
        # per-row values computable from the reductions of stages <= stage
        todo = [n for n in order if not n.elem and n.op not in ("rmax", "rsum", "ncols")
                and level[id(n)] <= stage and id(n) not in name_]
        _emit(todo, name_, lines, len(pad))

    if single:
        lines += ["    offs = tl.arange(0, BLOCK)", "    inb = offs < ncols"]
        load("    ", name)
        ncols_nodes(name)
        scalars_up_to(0, name, "    ")
        for stage in stages:
            needed = [n for n in order if n.elem and level[id(n)] < stage]
            _emit(needed, name, lines, 4)
            for r in reductions:
                if level[id(r)] != stage:
                    continue
                v = name[id(r.args[0])]
                var = f"v{len(name)}"
                if r.op == "rmax":
                    lines.append(f"    {var} = tl.reduce(tl.where(inb, {v}, -float('inf')), 0, "
                                 f"_max_nan)")
                else:
                    lines.append(f"    {var} = tl.sum(tl.where(inb, {v}, 0.0), axis=0)")
                name[id(r)] = var
            scalars_up_to(stage, name, "    ")
        _emit(order, name, lines, 4, out)
        if out.elem:
            lines.append(f"    tl.store(out_ptr + base + offs, {_store(name[id(out)])}, "
                         f"mask=inb)")
        else:
            lines.append(f"    tl.store(out_ptr + row, {name[id(out)]})")
        return "\n".join(lines) + "\n"

    ncols_nodes(name)
    scalars_up_to(0, name, "    ")
    for stage in stages:
        accs = []
        for r in reductions:
            if level[id(r)] != stage:
                continue
            init = _ACC[r.op][0]
            acc = f"acc{len(accs)}_{stage}"
            # each position adds its chunks in order, off by up to ncols / CHUNK ulp
            # on a peaked row (kernels.LONG_ROW): a float32 sum accumulates in
            # float64, a float64 one with Kahan's compensation (nothing is wider;
            # the kernels are compiled without contraction, which would undo it)
            wide = r.op == "rsum" and r.dtype == "float32"
            kahan = r.op == "rsum" and r.dtype == "float64"
            lines.append(f"    {acc} = tl.full([BLOCK], {init}, "
                         f"{'tl.float64' if wide else _TL[r.dtype]})")
            if kahan:
                lines.append(f"    {acc}_c = tl.full([BLOCK], 0.0, tl.float64)")
            accs.append((r, acc, wide, kahan))
        lines += ["    for start in range(0, ncols, BLOCK):",
                  "        offs = start + tl.arange(0, BLOCK)",
                  "        inb = offs < ncols"]
        inner = dict(name)
        load("        ", inner)
        needed = [n for n in order if n.elem and level[id(n)] < stage]
        _emit(needed, inner, lines, 8)
        for r, acc, wide, kahan in accs:
            v = inner[id(r.args[0])]
            if kahan:  # (acc - acc_c is the sum so far)
                lines += [f"        {acc}_y = tl.where(inb, {v}, 0.0) - {acc}_c",
                          f"        {acc}_t = {acc} + {acc}_y",
                          f"        {acc}_c = ({acc}_t - {acc}) - {acc}_y",
                          f"        {acc} = {acc}_t"]
                continue
            lines.append(f"        {acc} = " + _ACC[r.op][1].format(
                acc=acc, v=f"{v}.to(tl.float64)" if wide else v))
        for r, acc, wide, kahan in accs:
            var = f"r{len(name)}"
            lines.append(f"    {var} = " + _ACC[r.op][2].format(
                acc=f"({acc} - {acc}_c)" if kahan else acc) + (".to(tl.float32)" if wide else ""))
            name[id(r)] = var
        scalars_up_to(stage, name, "    ")
    if out.elem:
        lines += ["    for start in range(0, ncols, BLOCK):",
                  "        offs = start + tl.arange(0, BLOCK)",
                  "        inb = offs < ncols"]
        inner = dict(name)
        load("        ", inner)
        _emit(order, inner, lines, 8, out)
        lines.append(f"        tl.store(out_ptr + base + offs, {_store(inner[id(out)])}, "
                     f"mask=inb)")
    else:
        _emit([n for n in order if not n.elem], name, lines, 4)
        lines.append(f"    tl.store(out_ptr + row, {name[id(out)]})")
    return "\n".join(lines) + "\n"


_PRELUDE = '''
@triton.jit
def _max_nan(a, b):
    return tl.maximum(a, b, propagate_nan=tl.PropagateNan.ALL)

'''
#: bfloat16's conversions under Triton's interpreter, whose own truncate on the way
#: down and flush subnormals on the way up: round to nearest even on the bits
_BF16_INTERPRETED = '''
@triton.jit
def _bf16_to_f32(v):
    return (v.to(tl.uint16, bitcast=True).to(tl.uint32) << 16).to(tl.float32, bitcast=True)


@triton.jit
def _f32_to_bf16(v):
    u = v.to(tl.uint32, bitcast=True)
    r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    r = tl.where(v != v, 0x7FC0, r)
    return r.to(tl.uint16).to(tl.bfloat16, bitcast=True)

'''
#: ... and on a GPU, the hardware's (one ``cvt.rn.bf16.f32`` on NVIDIA from sm_80),
#: the same rounding to nearest even.  Reason: speed.  The bit form took about six
#: instructions an element more (PTX of one block of 1024 for sm_90, bfloat16
#: forward: silu 351 against 305, sigmoid 303 against 256, hard_silu 242 against
#: 190; ``tools/ptx_count.py``), where the half kernels ran 1.3-1.7x PyTorch's on an
#: H200 (decision 119)
_BF16_GPU = '''
@triton.jit
def _bf16_to_f32(v):
    return v.to(tl.float32)


@triton.jit
def _f32_to_bf16(v):
    return v.to(tl.bfloat16, fp_downcast_rounding="rtne")

'''


def kernel_text(source):
    """The module text a kernel's ``source`` is compiled from (imports, helpers:
    bfloat16's conversions as the interpreter needs them, where it runs)."""
    bf16 = _BF16_INTERPRETED if interpreted() else _BF16_GPU
    return "import triton\nimport triton.language as tl\n" + _PRELUDE + bf16 + source


def _compile(key, source, fname):
    """Turn generated source into a Triton kernel (the source is registered with
    linecache, where Triton's JIT reads it)."""
    import triton
    import triton.language as tl

    text = kernel_text(source)
    filename = f"<multiact-triton-{abs(hash(key)):x}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = {"triton": triton, "tl": tl, "LD": _libdevice(), "__name__": "multiact_kernels"}
    exec(compile(text, filename, "exec"), scope)  # noqa: S102 - our own generated source
    return scope[fname]


def _kernel(key, build):
    """The kernel of ``key``, built once; None if it cannot be printed, with the
    reason remembered (:func:`failures`)."""
    k = _CACHE.get(key)
    if k is None and key not in _FAILED:
        with _LOCK:
            k = _CACHE.get(key)
            if k is None and key not in _FAILED:
                try:
                    k = _CACHE[key] = build()
                except Unsupported as e:
                    _FAILED[key] = str(e)
    return k


def failures():
    """The kernels that could not be built in this process, with the reasons:
    ``{(kind, name, dtype, params_key, ...): reason}`` (``kind``: ``"fwd"``,
    ``"bwd"`` or ``"rows"``)."""
    return dict(_FAILED)


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _params_key(params):
    from . import _pkey  # (the sign of a float 0 in the key)

    return _pkey(params)


def _launch(kern, grid, *args, **kw):
    """Launch, with :data:`COMPILE_OPTIONS` (the interpreter accepts and ignores
    them); under the interpreter, NumPy's floating-point warnings are silenced
    (a GPU raises none: an overflow to inf is the formula's intended limit).  On
    the device of the first tensor, ``args[0]``: Triton launches on the current
    device (and its current stream), which need not be the tensor's (a model on
    ``cuda:1``; the compile thread, whose current device is 0 whatever the
    caller's is), as ATen and Inductor switch to it (decision 187)."""
    kw = {**kw, **COMPILE_OPTIONS}
    if interpreted():
        import numpy as np

        with np.errstate(all="ignore"):
            kern[grid](*args, **kw)
        return
    device = args[0].device
    other = device.type == "cuda" and device.index != torch.cuda.current_device()
    with torch.cuda.device(device) if other else contextlib.nullcontext():
        kern[grid](*args, **kw)


def _launchable(x):
    return (x.device.type == "cuda" or (interpreted() and x.device.type == "cpu")) \
        and x.dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16) \
        and x.numel() > 0


def _elementwise_kernel(info, dt, params, backward):
    key = ("bwd" if backward else "fwd", info.name, dt, _params_key(params), interpreted())
    return _kernel(key, lambda: _compile(
        ("elementwise", info.name, dt, params, backward),
        elementwise_kernel_source(info, dt, params, backward), "kernel"))


def has_elementwise(info, x, params):
    """Whether forward and backward kernels exist for ``info`` on ``x`` (built now)."""
    if not _launchable(x):
        return False
    dt = _dtype_name(x)
    return _elementwise_kernel(info, dt, params, False) is not None and \
        _elementwise_kernel(info, dt, params, True) is not None


def forward(info, x, params):
    """``info``'s function of the torch tensor ``x`` by one Triton kernel, or None."""
    if not _launchable(x):
        return None
    kern = _elementwise_kernel(info, _dtype_name(x), params, False)
    if kern is None:
        return None
    from . import flat, shaped

    xc = flat(x)  # (x's memory order where x is dense: its layout kept, decision 148)
    out = torch.empty(xc.shape, dtype=x.dtype, device=x.device)
    n = xc.numel()
    _launch(kern, (-(-n // ELEM_BLOCK),), xc, out, n, BLOCK=ELEM_BLOCK)
    return shaped(out, x)


def backward(info, x, g, params):
    """``g * f'(x)`` by one Triton kernel, or None."""
    if not _launchable(x) or g.dtype != x.dtype:
        return None
    kern = _elementwise_kernel(info, _dtype_name(x), params, True)
    if kern is None:
        return None
    from . import flat, shaped

    xc, gc = flat(x), flat(g, x)
    out = torch.empty(xc.shape, dtype=x.dtype, device=x.device)
    n = xc.numel()
    _launch(kern, (-(-n // ELEM_BLOCK),), xc, gc, out, n, BLOCK=ELEM_BLOCK)
    return shaped(out, x)


def elementwise_kernel_source(info, dt, params, backward):
    """The Triton source of ``info``'s forward (``y = f(x)``) or backward
    (``gx = g * f'(x)``) kernel for dtype ``dt``, named ``kernel``, with
    arguments ``(x_ptr, [g_ptr,] out_ptr, n, BLOCK)``; raises
    :class:`Unsupported` with the reason if there is none."""
    x, y = trace_elementwise(info, dt, params, ndtr=gpu_ndtr(dt, backward))
    if backward:
        g = Node("g", (), dt)
        gx = derivative(x, y, g)
        if gx.dtype != dt:
            gx = Node("astype", (gx,), dt)
        return elementwise_source("kernel", (x, g), gx)
    if y.dtype != dt:
        raise Unsupported("output dtype differs from the input's")
    return elementwise_source("kernel", (x,), y)


def gated_kernel_source(info, dt, params, backward):
    """The Triton source of a gated row's forward (``y = f(a, b)``) or backward
    (``g df/da``, ``g df/db`` into the two halves) kernel for dtype ``dt``, named
    ``kernel``, with arguments ``(x_ptr, [g_ptr,] out_ptr, n, m, BLOCK)``; raises
    :class:`Unsupported` with the reason if there is none."""
    a, b, y = trace_gated(info, dt, params, ndtr=gpu_ndtr(dt, backward))
    if backward:
        g = Node("g", (), dt)
        outs = [d if d.dtype == dt else Node("astype", (d,), dt)
                for d in derivatives((a, b), y, g)]
        return gated_source("kernel", a, b, outs, g)
    if y.dtype != dt:
        raise Unsupported("output dtype differs from the input's")
    return gated_source("kernel", a, b, (y,))


def rows_kernel_source(info, dt, params, masked, single):
    """The Triton source of ``info``'s row kernel (``single``: one block per row,
    else chunks), named ``kernel``, with arguments ``(x_ptr, [mask_ptr,] out_ptr,
    ncols, BLOCK)``; raises :class:`Unsupported` with the reason if there is none."""
    x, mask, y = trace_rows(info, dt, params, masked)
    return rows_source("kernel", x, mask, y, single)


def rows(info, x, params, where=None):
    """A row-wise reduction of the torch tensor ``x`` over its last axis by one
    kernel per row (``params`` as the row's body takes them, axis normalised), or
    None.  ``where`` (a boolean tensor broadcastable to ``x``) is expanded."""
    if info.name not in ROWS or not _launchable(x) or x.ndim == 0:
        return None
    dt = _dtype_name(x)
    ncols = x.shape[-1]
    single = ncols <= SINGLE_MAX
    masked = where is not None
    key = ("rows", info.name, dt, _params_key(params), masked, single, interpreted())
    kern = _kernel(key, lambda: _compile(
        ("rows", info.name, dt, params, masked, single),
        rows_kernel_source(info, dt, params, masked, single), "kernel"))
    if kern is None:
        return None
    xc = x.contiguous()
    nrows = xc.numel() // ncols
    per_row = info.row_kernel == "per_row"
    out = torch.empty(x.shape[:-1] if per_row else x.shape, dtype=x.dtype, device=x.device)
    block = block_of(ncols)
    args = [xc]
    if where is not None:
        args.append(where.expand(x.shape).contiguous().to(torch.int8))
    args += [out, ncols]
    _launch(kern, (nrows,), *args, BLOCK=block)
    return out


def block_of(ncols):
    """The block a row of ``ncols`` entries is processed in (a kernel variant each)."""
    return max(16, 1 << (ncols - 1).bit_length()) if ncols <= SINGLE_MAX else CHUNK


# -- the compile tier (CUDA, default mode): kernels built off the caller's thread ---------

def _warmed(kern, launch, sample):
    """Launch ``kern`` once on ``sample`` (which compiles it for that device, on the
    compile thread) and return the launcher."""
    launch(kern, *sample)
    return lambda *args: launch(kern, *args)


def _launch_elementwise(kern, *tensors):
    n = tensors[0].numel()
    out = torch.empty_like(tensors[0])
    _launch(kern, (-(-n // ELEM_BLOCK),), *tensors, out, n, BLOCK=ELEM_BLOCK)
    return out


def _required(info, dt, params, backward):
    kern = _elementwise_kernel(info, dt, params, backward)
    if kern is None:
        key = ("bwd" if backward else "fwd", info.name, dt, _params_key(params), interpreted())
        raise Unsupported(_FAILED.get(key, f"no Triton kernel for {info.name} {dt}"))
    return kern


def builder(kind, info, dt, params):
    """``build(slot, sample)`` for the compile tier: ``forward`` (a launcher over
    1-d tensors) or ``train`` (a Pair of the forward and backward launchers)."""
    if kind == "forward":
        return lambda slot, sample: _warmed(_required(info, dt, params, False),
                                            _launch_elementwise, sample[:1])
    return lambda slot, sample: Pair(
        _warmed(_required(info, dt, params, False), _launch_elementwise, sample[:1]),
        _warmed(_required(info, dt, params, True), _launch_elementwise, sample))


def pair(info, dt, params):
    """The forward and backward launchers of ``info`` on the caller's thread (the
    ``fused`` mode), or None where there is no kernel."""
    fwd = _elementwise_kernel(info, dt, params, False)
    bwd = _elementwise_kernel(info, dt, params, True)
    if fwd is None or bwd is None:
        return None
    return Pair(lambda x: _launch_elementwise(fwd, x), lambda x, g: _launch_elementwise(bwd, x, g))


# -- gated kernels: x as (outer, 2, m) ----------------------------------------------------

def _gated_kernel(info, dt, params, backward):
    key = ("gated-bwd" if backward else "gated-fwd", info.name, dt, _params_key(params),
           interpreted())
    kern = _kernel(key, lambda: _compile(
        ("gated", info.name, dt, params, backward),
        gated_kernel_source(info, dt, params, backward), "kernel"))
    if kern is None:
        raise Unsupported(_FAILED.get(key, f"no Triton kernel for {info.name} {dt}"))
    return kern


def _launch_gated_fwd(kern, x3):
    outer, _, m = x3.shape
    out = torch.empty((outer, m), dtype=x3.dtype, device=x3.device)
    n = outer * m
    _launch(kern, (-(-n // ELEM_BLOCK),), x3, out, n, m, BLOCK=ELEM_BLOCK)
    return out


def _launch_gated_bwd(kern, x3, g2):
    outer, _, m = x3.shape
    out = torch.empty_like(x3)
    n = outer * m
    _launch(kern, (-(-n // ELEM_BLOCK),), x3, g2.contiguous(), out, n, m, BLOCK=ELEM_BLOCK)
    return out


def gated_forward(info, x3, params):
    """A gated row's function of the contiguous ``(outer, 2, m)`` tensor ``x3``:
    ``(outer, m)``, by one kernel (raises :class:`Unsupported` where there is none)."""
    return _launch_gated_fwd(_gated_kernel(info, _dtype_name(x3), params, False), x3)


def gated_backward(info, x3, g2, params):
    """Its gradient ``(outer, 2, m)`` for the cotangent ``g2`` ``(outer, m)``."""
    return _launch_gated_bwd(_gated_kernel(info, _dtype_name(x3), params, True), x3, g2)


def gated_pair(info, dt, params):
    """The forward and backward launchers of a gated row (the ``fused`` mode)."""
    fwd = _gated_kernel(info, dt, params, False)
    bwd = _gated_kernel(info, dt, params, True)
    return Pair(lambda x3: _launch_gated_fwd(fwd, x3),
                lambda x3, g2: _launch_gated_bwd(bwd, x3, g2))


def gated_builder(kind, info, dt, params):
    """``build(slot, sample)`` for the compile tier: ``forward`` (a launcher of
    ``x3``) or ``train`` (a Pair), compiled by a first launch on the sample."""
    def build(slot, sample):
        p = gated_pair(info, dt, params)
        p.fwd(sample[0])
        if kind == "forward":
            return p.fwd
        p.bwd(*sample)
        return p

    return build


def rows_builder(info, dt, params, masked):
    """``build(slot, sample)`` for a row kernel over a 2-d tensor (the compile tier)."""
    def build(slot, sample):
        y = rows(info, *sample[:1], params, sample[1] if masked else None)
        if y is None:
            raise Unsupported(f"no Triton row kernel for {info.name} {dt}")
        return lambda x2, *w: rows(info, x2, params, w[0] if w else None)

    return build
