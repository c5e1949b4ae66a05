"""CUDA C++ printed from the traced generic bodies: CuPy ``ElementwiseKernel``s.

One kernel per element-wise function and dtype (float16 computes in float32,
as the generic body does; float32 and float64 in their own precision), the
parameters (Python scalars) baked in as exact hexadecimal constants.  The
kernel body is plain C++ over the typed CUDA math functions (``expf``,
``erfcxf``, ...), with IEEE division (CuPy compiles without fast math).

:func:`host_library` compiles the same body, in a loop, with the host C++
compiler into a shared library for NumPy arrays: the tests run the exact
kernel text on CPU (``tests/test_kernels.py``), against the generic body.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import subprocess
import tempfile
import threading

from ._trace import INFIX, Unsupported, _topo, print_node, trace_elementwise

__all__ = ["body", "cupy_kernel", "host_library", "cupy_forward"]

_C = {"float16": "float16", "float32": "float", "float64": "double", "bool": "bool"}
_MATH = ("exp", "expm1", "log", "log1p", "tanh", "sqrt", "erf", "erfc", "erfcx", "round", "abs")
_LOCK = threading.Lock()
_CACHE: dict = {}


def _fn(op, dtype):
    name = {"round": "rint", "abs": "fabs"}.get(op, op)
    return name + ("f" if dtype == "float32" else "")


def _const(v, dtype):
    if dtype == "bool":
        return "true" if v else "false"
    # infinities and NaN from their bits (NVRTC has no <math.h> macros)
    if math.isnan(v):
        return "__int_as_float(0x7fc00000)" if dtype == "float32" else \
            "__longlong_as_double(0x7ff8000000000000LL)"
    if math.isinf(v):
        lit = "__int_as_float(0x7f800000)" if dtype == "float32" else \
            "__longlong_as_double(0x7ff0000000000000LL)"
        return lit if v > 0 else f"(-{lit})"
    if dtype == "float32":
        import struct

        v = struct.unpack("f", struct.pack("f", v))[0]  # the float32 the kernel computes with
        return f"{v.hex()}f"
    return f"{float(v).hex()}"


_TABLE = {
    **INFIX,
    "div": "({0} / {1})", "and": "({0} && {1})", "or": "({0} || {1})", "not": "(!{0})",
    "where": "({0} ? {1} : {2})", "astype": lambda node, a: f"(({_C[node.dtype]})({a}))",
    "isinf": "isinf({0})", "isnan": "isnan({0})",
    # NaN in either gives NaN (fmax would drop it)
    "max": "(({0} >= {1} || {0} != {0}) ? {0} : {1})",
    "min": "(({0} <= {1} || {0} != {0}) ? {0} : {1})",
    **{op: (lambda op: lambda node, a: f"{_fn(op, node.dtype)}({a})")(op) for op in _MATH},
}


def _expr(node, name):
    return print_node(node, name, _TABLE, _const)


def body(x, y):
    """The C++ statements computing ``y`` from the element ``x`` (named ``x``)
    into the output ``y``."""
    name = {id(x): "x"}
    lines = []
    out = y
    if y.op == "astype" and y.dtype == "float16":  # half in, half out: float inside
        out = y.args[0]
    for node in _topo(out):
        if id(node) in name:
            continue
        var = f"v{len(name)}"
        t = _C[node.dtype]
        if t == "float16":
            raise Unsupported("half-precision arithmetic")  # the bodies compute in float32
        lines.append(f"{t} {var} = {_expr(node, name)};")
        name[id(node)] = var
    lines.append(f"y = ({_C[y.dtype]})({name[id(out)]});")
    return "\n".join(lines)


def _source(info, dtype, params):
    x, y = trace_elementwise(info, dtype, params)
    if y.dtype != dtype:
        raise Unsupported("output dtype differs from the input's")
    return body(x, y)


def cupy_kernel(info, dtype, params):
    """The ``cupy.ElementwiseKernel`` of ``info`` for ``dtype`` (cached)."""
    key = ("cupy", info.name, dtype, tuple((type(p).__name__, p) for p in params))
    k = _CACHE.get(key)
    if k is None:
        with _LOCK:
            k = _CACHE.get(key)
            if k is None:
                import cupy

                src = _source(info, dtype, params)
                k = _CACHE[key] = cupy.ElementwiseKernel(
                    f"{_C[dtype]} x", f"{_C[dtype]} y", src,
                    f"multiact_{info.name}_{dtype}_{abs(hash(key)):x}")
    return k


def cupy_forward(info, x, params):
    """``info``'s function of the CuPy array ``x`` by one kernel, or None."""
    dtype = str(x.dtype)
    if dtype not in ("float16", "float32", "float64") or x.size == 0:
        return None
    try:
        k = cupy_kernel(info, dtype, params)
    except Unsupported:
        return None
    return k(x)


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


def host_library(info, dtype, params):
    """The kernel body of ``info`` compiled for the host: a function
    ``f(x, y, n)`` over NumPy arrays of ``dtype``; None without a C++ compiler."""
    src = _source(info, dtype, params)
    t = _C[dtype]
    text = (_HOST_PRELUDE + f'extern "C" void kernel(const {t}* xs, {t}* ys, long n) {{\n'
            f"  for (long i = 0; i < n; ++i) {{\n    {t} x = xs[i]; {t} y;\n"
            + "\n".join("    " + line for line in src.splitlines())
            + "\n    ys[i] = y;\n  }\n}\n")
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

    def run(x):
        import numpy as np

        x = np.ascontiguousarray(x, dtype=dtype)
        y = np.empty_like(x)
        fn(x.ctypes.data_as(ctypes.c_void_p), y.ctypes.data_as(ctypes.c_void_p),
           ctypes.c_long(x.size))
        return y

    return run

