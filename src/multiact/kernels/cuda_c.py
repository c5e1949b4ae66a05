"""CUDA C++ printed from the traced generic bodies: CuPy ``ElementwiseKernel``s.

One kernel per element-wise function and dtype, forward (``y = f(x)``) and
backward (``y = g * f'(x)``, the derivative of the same graph, for programs
and for the ahead-of-time compile; CuPy has no autograd to call it).  A gated
row (glu, swiglu, geglu) is a kernel of its two halves ``x`` and ``b`` (CuPy
reads the strided halves of the input in place): forward ``y = f(x, b)``,
backward ``ya = g df/dx`` and ``yb = g df/db`` in one kernel.  float16
computes in float32 (as the generic body does; a graph's exact float16
selections, ``relu`` and the like, are float32 values rounded to float16,
which is float16's own result), float32 and float64 in their own precision;
the parameters (Python scalars) are baked in as exact hexadecimal constants.
The kernel body is plain C++ over the typed CUDA math functions (``expf``,
``erfcxf``, ...), with IEEE division (CuPy compiles without fast math) and no
contraction into FMA (:data:`CUPY_OPTIONS`).  The spellings are the registry's
(``_ops.py``).

:func:`host_library` compiles the same body, in a loop, with the host C++
compiler into a shared library for NumPy arrays: the tests run the exact
kernel text on CPU (``tests/test_kernels.py``), against the generic body.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import math
import os
import struct
import subprocess
import tempfile

from .._locks import ForkSafeLock
from ._ops import C_TYPES as _C
from ._trace import (Node, Unsupported, _topo, derivatives, gpu_ndtr, print_node,
                     trace_elementwise, trace_gated)

__all__ = ["body", "kernel_source", "cupy_kernel", "host_library", "cupy_forward", "cupy_gated",
           "CUPY_OPTIONS", "DTYPES", "failures", "launch_failures"]

#: the dtypes of CuPy's kernels (CuPy arrays of other float dtypes keep the generic body)
DTYPES = ("float16", "float32", "float64")
#: NVRTC options of every kernel: no contraction of ``a*b+c`` into FMA (the host
#: compiler's ``-ffp-contract=off``; NVRTC's default is ``--fmad=true``)
CUPY_OPTIONS = ("--fmad=false",)
_LOCK = ForkSafeLock()
_CACHE: dict = {}
_FAILED: dict = {}
_BROKEN: dict = {}
_LOG = logging.getLogger("multiact")


def _const(v, dtype):
    if dtype == "bool":
        return "true" if v else "false"
    # infinities and NaN from their bits (NVRTC has no <math.h> macros)
    if math.isnan(v):
        return "__int_as_float(0x7fc00000)" if dtype != "float64" else \
            "__longlong_as_double(0x7ff8000000000000LL)"
    if math.isinf(v):
        lit = "__int_as_float(0x7f800000)" if dtype != "float64" else \
            "__longlong_as_double(0x7ff0000000000000LL)"
        return lit if v > 0 else f"(-{lit})"
    if dtype == "float64":
        return f"{float(v).hex()}"
    # the float32 (or float16: float16 nodes are float values, see body) the
    # kernel computes with
    fmt = "f" if dtype == "float32" else "e"
    try:
        v = struct.unpack(fmt, struct.pack(fmt, v))[0]
    except OverflowError:
        return _const(math.copysign(math.inf, v), dtype)
    return f"{v.hex()}f"


def _expr(node, name):
    return print_node(node, name, "cuda", _const)


def body(inputs, outs):
    """The C++ statements computing the results ``outs`` (``(node, variable)``
    pairs: ``y``, or a gated backward's ``ya`` and ``yb``) from the leaves
    ``inputs`` (the nodes ``x``, ``b``, ``g``, read from the variables of those
    names).  float16 values are held in float variables, rounded to float16 once
    per float16 node (float16 arithmetic: float's result, which has more than
    twice float16's digits, rounded)."""
    name = {}
    lines = []
    for leaf in inputs:
        if leaf.dtype == "float16":  # CuPy's float16 class: to float, once
            var = f"v{len(name)}"
            lines.append(f"float {var} = (float)({leaf.op});")
            name[id(leaf)] = var
        else:
            name[id(leaf)] = leaf.op
    for out, target in outs:
        result = out
        if out.op == "astype" and out.dtype == "float16":  # half out: the float, rounded once
            result = out.args[0]
        for node in _topo(result):
            if id(node) in name:
                continue
            var = f"v{len(name)}"
            expr = _expr(node, name)
            if node.dtype == "float16":
                expr = f"(float)(float16)({expr})"
            lines.append(f"{'float' if node.dtype == 'float16' else _C[node.dtype]} {var} = "
                         f"{expr};")
            name[id(node)] = var
        lines.append(f"{target} = ({_C[out.dtype]})({name[id(result)]});")
    return "\n".join(lines)


def _cast(node, dtype):
    return node if node.dtype == dtype else Node("astype", (node,), dtype)


def _graph(info, dtype, params, backward):
    """``(leaves, ((result, variable), ...))`` of ``info``'s kernel."""
    if info.halves:
        a, b, y = trace_gated(info, dtype, params, ndtr=gpu_ndtr(dtype, backward))
        if backward:
            g = Node("g", (), dtype)
            ga, gb = derivatives((a, b), y, g)
            return (a, b, g), ((_cast(ga, dtype), "ya"), (_cast(gb, dtype), "yb"))
        leaves = (a, b)
    else:
        x, y = trace_elementwise(info, dtype, params, ndtr=gpu_ndtr(dtype, backward))
        if backward:
            g = Node("g", (), dtype)
            (gx,) = derivatives((x,), y, g)
            return (x, g), ((_cast(gx, dtype), "y"),)
        leaves = (x,)
    if y.dtype != dtype:
        raise Unsupported("output dtype differs from the input's")
    return leaves, ((y, "y"),)


def kernel_source(info, dtype, params, backward=False):
    """``(in_params, out_params, operation)`` of ``info``'s CuPy kernel for
    ``dtype``: the arguments of ``cupy.ElementwiseKernel``.  Raises
    :class:`Unsupported` with the reason where there is none."""
    if dtype not in DTYPES:
        raise Unsupported(f"CuPy kernels are built for {', '.join(DTYPES)}; {dtype} arrays "
                          f"keep the generic body")
    inputs, outs = _graph(info, dtype, params, backward)
    # NumPy dtype names: CuPy reads "float" as NumPy's float, which is float64
    in_params = ", ".join(f"{dtype} {leaf.op}" for leaf in inputs)
    out_params = ", ".join(f"{dtype} {target}" for _, target in outs)
    return in_params, out_params, body(inputs, outs)


def _key(info, dtype, params, backward):
    from . import _pkey  # (the sign of a float 0 in the key: decision 150's)

    return ("cupy", info.name, dtype, _pkey(params), "bwd" if backward else "fwd")


def cupy_kernel(info, dtype, params, backward=False):
    """The ``cupy.ElementwiseKernel`` of ``info`` for ``dtype`` (cached; its name
    is the same in every process, so CuPy's kernel cache on disk serves it)."""
    key = _key(info, dtype, params, backward)
    k = _CACHE.get(key)
    if k is None:
        with _LOCK:
            k = _CACHE.get(key)
            if k is None:
                import cupy

                in_params, out_params, op = kernel_source(info, dtype, params, backward)
                digest = hashlib.sha256(repr(key).encode()).hexdigest()[:12]
                k = _CACHE[key] = cupy.ElementwiseKernel(
                    in_params, out_params, op, f"multiact_{info.name}_{dtype}_{key[-1]}_{digest}",
                    options=CUPY_OPTIONS)
    return k


def failures():
    """The kernels that could not be built in this process, with the reasons."""
    return dict(_FAILED)


def launch_failures():
    """The kernels whose compile or launch raised in this process (``{key: reason}``;
    decision 53, :func:`_launch`): their calls take the generic body, and
    ``kernels.coverage`` (so ``multiact info`` and ``multiact compile``) lists them as
    failed with the reason, beside :func:`failures` (the kernels that could not be
    printed)."""
    return dict(_BROKEN)


def _forward_kernel(info, x, params):
    """The forward kernel of ``info`` for ``x``'s dtype, or None (remembered)."""
    dtype = str(x.dtype)
    if dtype not in DTYPES or x.size == 0:
        return None
    key = _key(info, dtype, params, False)
    if key in _FAILED or key in _BROKEN:
        return None
    if key not in _CACHE:
        from . import first_values

        # (a new parameter value: NVRTC on the caller's thread; decision 187)
        if not first_values("cupy", info.name).admit(key[3]):
            return None
    try:
        return cupy_kernel(info, dtype, params)
    except Unsupported as e:
        _FAILED[key] = str(e)
        return None


def _launch(info, x, params, *arrays):
    """The forward kernel of ``info`` on ``arrays``, or None: where there is none, and
    where its compile or launch raises (decision 53: CuPy compiles a kernel with NVRTC
    on its first call, so an unsupported arch or an old driver raises there).  A
    failure costs that kernel only: it is remembered with the first line of its
    error (:func:`launch_failures`, ``multiact.info``), one INFO line goes to the
    ``multiact`` logger, and its calls take the generic body from then on.  Running
    out of memory is the call's error, not the kernel's: it propagates.  (An
    array on a device the current one cannot read is no longer a launch's error:
    the call runs under ``x``'s device, ``CupyBackend.generic``; decision 187.)"""
    k = _forward_kernel(info, x, params)
    if k is None:
        return None
    try:
        return k(*arrays)
    except MemoryError:  # (CuPy's OutOfMemoryError among them)
        raise
    except Exception as e:  # noqa: BLE001 - a kernel that fails costs itself only
        key = _key(info, str(x.dtype), params, False)
        from ._tier import failure_reason

        reason = failure_reason(e)
        with _LOCK:
            _CACHE.pop(key, None)
            _BROKEN[key] = reason
        _LOG.info("multiact: kernel %s %s forward [CuPy] unavailable, the generic body is "
                  "used (%s)", info.name, key[2], reason)
        return None


def cupy_forward(info, x, params):
    """``info``'s function of the CuPy array ``x`` by one kernel, or None."""
    return _launch(info, x, params, x)


def cupy_gated(info, a, b, params):
    """A gated row's function of the two halves ``a``, ``b`` of a CuPy array (strided
    views, read in place: ``fm.halves``) by one kernel, or None."""
    return _launch(info, a, params, a, b)


# -- the same text on the host, for tests ---------------------------------------------------

_HOST_PRELUDE = r"""
#include <cmath>
#include <cstdint>
#include <cstring>
using std::isinf; using std::isnan;
typedef _Float16 float16;
static double erfcx(double x) {
  if (x < 26.0) {            /* exp(x^2) without rounding x^2: x = hi + lo */
    double hi = std::nearbyint(x * 1048576.0) / 1048576.0, lo = x - hi;
    return std::exp(hi * hi) * std::exp(lo * (hi + x)) * std::erfc(x);
  }
  double t = 1.0 / (2.0 * x * x), s = 1.0, term = 1.0;   /* asymptotic series */
  for (int k = 1; k < 12; ++k) { term *= -(2 * k - 1) * t; s += term; }
  return s / (x * 1.7724538509055160273);
}
static float erfcxf(float x) { return (float)erfcx((double)x); }
static float __int_as_float(int32_t i) { float f; std::memcpy(&f, &i, 4); return f; }
static double __longlong_as_double(int64_t i) { double d; std::memcpy(&d, &i, 8); return d; }
"""


def host_library(info, dtype, params, backward=False):
    """The kernel body of ``info`` compiled for the host: a function ``f(x)``
    (``f(x, g)`` for the backward; a gated row's ``f(x, b)`` and ``f(x, b, g)``,
    the latter returning both halves' gradients) over NumPy arrays of ``dtype``;
    raises RuntimeError if the host compiler fails."""
    in_params, out_params, src = kernel_source(info, dtype, params, backward)
    t = _C[dtype]
    leaves = tuple(p.split()[1] for p in in_params.split(", "))
    targets = tuple(p.split()[1] for p in out_params.split(", "))
    args = "".join(f"const {t}* {v}s, " for v in leaves) + \
        "".join(f"{t}* {v}s, " for v in targets)
    reads = " ".join(f"{t} {v} = {v}s[i];" for v in leaves)
    decls = " ".join(f"{t} {v};" for v in targets)
    writes = " ".join(f"{v}s[i] = {v};" for v in targets)
    text = (_HOST_PRELUDE + f'extern "C" void kernel({args}long n) {{\n'
            f"  for (long i = 0; i < n; ++i) {{\n    {reads} {decls}\n"
            + "\n".join("    " + line for line in src.splitlines())
            + f"\n    {writes}\n  }}\n}}\n")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    d = os.path.join(tempfile.gettempdir(), "multiact-host-kernels")
    os.makedirs(d, exist_ok=True)
    so = os.path.join(d, f"{info.name}_{dtype}_{digest}.so")
    if not os.path.exists(so):
        cpp = so[:-3] + ".cpp"
        with open(cpp, "w") as f:
            f.write(text)
        cmd = [os.environ.get("CXX", "g++"), "-O2", "-std=c++17", "-ffp-contract=off",
               "-fno-fast-math", "-shared", "-fPIC", cpp, "-o", so + ".tmp"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.CalledProcessError) as e:
            raise RuntimeError(f"host compiler failed: {getattr(e, 'stderr', e)}") from e
        os.replace(so + ".tmp", so)
    lib = ctypes.CDLL(so)
    fn = lib.kernel
    fn.restype = None

    def run(*arrays):
        import numpy as np

        arrays = [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
        if len(arrays) != len(leaves) or any(a.shape != arrays[0].shape for a in arrays):
            raise ValueError(f"host_library({info.name}): takes {len(leaves)} arrays of one "
                             f"shape")
        ys = [np.empty_like(arrays[0]) for _ in targets]
        fn(*[a.ctypes.data_as(ctypes.c_void_p) for a in arrays + ys],
           ctypes.c_long(arrays[0].size))
        return ys[0] if len(ys) == 1 else tuple(ys)

    return run

