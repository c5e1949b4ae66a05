"""The tracer's operations, each registered once with everything a kernel needs.

An expression graph (``_trace.py``) is made of nodes whose ``op`` names an
entry of :data:`OPS`.  The entry holds, in one place:

* ``triton``: its Triton spelling (``kernels/triton.py``);
* ``cuda``: its CUDA C++ spelling (``kernels/cuda_c.py``, CuPy kernels and the
  host compiler's test build);
* ``aten``: the PyTorch function that evaluates it on tensors (``kernels/
  inductor.py`` evaluates derivative graphs with it, and Inductor compiles them);
* ``grad``: its derivative rule, the rule autodiff applies to the same
  operation (``_trace.derivative``), or :data:`NO_GRADIENT` for an operation
  that has none (comparisons, ``round``, ``isinf``);
* ``xp``: the namespace function a generic body calls for it, if the tracing
  namespace offers it as such (``xp.exp``); arithmetic and comparisons come from
  the operators of the nodes instead;
* ``predicate``: its result is boolean.

A spelling is a format string over the arguments' expressions (``{0}``,
``{1}``, ...), the result's dtype (``{dt}``) and the first argument's
(``{src}``), or a callable ``f(node, *expressions)``.  A derivative rule is
``f(ns, node, g) -> [(argument, g * d node / d argument)]``, written against
the tracing namespace ``ns`` as the generic bodies are.  An ``aten`` function
is ``f(node, *values)``; values are tensors or Python numbers (constants).

Adding an operation is adding one entry; ``tests/test_kernels_registry.py``
fails for an entry without every spelling and rule.

Structural nodes are not operations and are not here: the leaves ``x``, ``g``,
``mask``, ``const``, ``ncols`` and the row reductions ``rmax``/``rsum``, which
the row printer lays out itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from .._agnostic._formulas import TWO_OVER_SQRT_PI
from .._agnostic._special import expm1_kahan


class Unsupported(Exception):
    """The body does something a kernel cannot express (it keeps its framework
    path); the message is the reason, which ``multiact.kernels.coverage()`` and
    ``multiact info`` report."""

__all__ = ["Op", "OPS", "LEAVES", "REDUCTIONS", "NO_GRADIENT", "LIBDEVICE", "C_TYPES",
           "TRITON_TYPES", "triton_cast"]

Spelling = Union[str, Callable]

#: nodes that are not operations (leaves, row reductions): laid out by the printers
LEAVES = ("x", "b", "g", "mask", "const", "ncols")
REDUCTIONS = ("rmax", "rsum")


def NO_GRADIENT(ns, node, g):  # noqa: N802 - a constant rule
    """The rule of an operation with no derivative (its result is boolean or
    piecewise constant): no contribution to any argument."""
    return []


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    triton: Spelling
    cuda: Spelling
    aten: Callable
    grad: Callable
    xp: str | None = None
    predicate: bool = False


OPS: dict = {}


def _op(name, arity, *, triton, cuda, aten, grad, xp=None, predicate=False):
    if name in OPS:
        raise ValueError(f"multiact: operation {name!r} registered twice")
    OPS[name] = Op(name, arity, triton, cuda, aten, grad, xp, predicate)


# -- dtype spellings ------------------------------------------------------------------------

TRITON_TYPES = {"float16": "tl.float16", "bfloat16": "tl.bfloat16", "float32": "tl.float32",
                "float64": "tl.float64", "bool": "tl.int1"}
#: C++ types of CuPy's kernels; float16 is CuPy's ``float16`` class (a typedef of
#: ``_Float16`` for the host compiler)
C_TYPES = {"float16": "float16", "float32": "float", "float64": "double", "bool": "bool"}


def triton_cast(expr, dtype, src):
    """A Triton conversion.  bfloat16 goes through the kernels' helpers
    (``triton.kernel_text``): the hardware's conversion on a GPU, and under
    Triton's interpreter, which otherwise truncates on the way down and flushes
    subnormals on the way up, the same rounding on the bits (float32's top half,
    to nearest even).  Other narrowing conversions round to nearest even."""
    if dtype == src:
        return expr
    if dtype == "bfloat16" and src == "float32":
        return f"_f32_to_bf16({expr})"
    if dtype == "float32" and src == "bfloat16":
        return f"_bf16_to_f32({expr})"
    if dtype == "float16" or (dtype == "float32" and src == "float64"):
        return f'{expr}.to({TRITON_TYPES[dtype]}, fp_downcast_rounding="rtne")'
    return f"{expr}.to({TRITON_TYPES[dtype]})"


# -- helpers for the spellings ----------------------------------------------------------------

def _torch():
    import torch

    return torch


class LibdeviceCall:
    """A libdevice function in Triton (``LD.exp(...)``: ``__nv_expf`` on NVIDIA,
    ``__ocml_exp_f32`` on AMD); ``host`` names the NumPy/SciPy function that
    Triton's interpreter runs in its place (``kernels/triton.py``)."""

    def __init__(self, name, host):
        self.name, self.host = name, host

    def __call__(self, node, *args):
        return f"LD.{self.name}({', '.join(args)})"


#: the libdevice functions the Triton spellings call, by name
LIBDEVICE: dict = {}


def _ld(name, host):
    call = LIBDEVICE[name] = LibdeviceCall(name, host)
    return call


def _cmath(name):
    """A CUDA math function: ``expf`` for float32, ``exp`` for double (and for
    the host compiler's overloads)."""
    def spell(node, a):
        return f"{name}{'f' if node.dtype == 'float32' else ''}({a})"
    return spell


def _detached(a):
    return a.detach() if hasattr(a, "detach") else a


def _triton_div(node, a, b):
    # IEEE division: Triton's ``/`` is div.full.f32 (2 ulp) for float32 on
    # NVIDIA; tl.div_rn is div.rn.f32 there and the correctly rounded division on
    # AMD (libdevice's div_rn has no AMD counterpart).  float64 ``/`` is
    # div.rn.f64 on NVIDIA and IEEE division on AMD.
    if node.dtype == "float32":
        return f"tl.div_rn({a}, {b})"
    if node.dtype == "float64":
        return f"({a} / {b})"
    raise Unsupported(f"division in {node.dtype} (the bodies divide in float32 or float64)")


def _sign(ns, x):
    def c(v):
        return ns.astype(v, x.dtype)
    return ns.where(x > 0, c(1.0), ns.where(x < 0, c(-1.0), c(0.0)))


# -- the operations -------------------------------------------------------------------------

def _infix(name, sym, aten, grad, predicate=False):
    form = f"({{0}} {sym} {{1}})"
    _op(name, 2, triton=form, cuda=form, aten=aten, grad=grad, predicate=predicate)


_infix("add", "+", lambda n, a, b: a + b, lambda ns, n, g: [(n.args[0], g), (n.args[1], g)])
_infix("sub", "-", lambda n, a, b: a - b, lambda ns, n, g: [(n.args[0], g), (n.args[1], -g)])
_infix("mul", "*", lambda n, a, b: a * b,
       lambda ns, n, g: [(n.args[0], g * n.args[1]), (n.args[1], g * n.args[0])])
# the divisor's derivative -g (q / b), q = a / b, as torch's (decision 147): -(g a) /
# (b b) squared b, subnormal near 1e-19 in float32 (squareplus's d with a subnormal b:
# 2.8e-5 off) and inf beyond 1.8e19
_op("div", 2, triton=_triton_div, cuda="({0} / {1})", aten=lambda n, a, b: a / b,
    grad=lambda ns, n, g: [(n.args[0], g / n.args[1]),
                           (n.args[1], -(g * (n / n.args[1])))])
_infix("lt", "<", lambda n, a, b: a < b, NO_GRADIENT, predicate=True)
_infix("le", "<=", lambda n, a, b: a <= b, NO_GRADIENT, predicate=True)
_infix("gt", ">", lambda n, a, b: a > b, NO_GRADIENT, predicate=True)
_infix("ge", ">=", lambda n, a, b: a >= b, NO_GRADIENT, predicate=True)
_infix("eq", "==", lambda n, a, b: a == b, NO_GRADIENT, predicate=True)
_infix("ne", "!=", lambda n, a, b: a != b, NO_GRADIENT, predicate=True)
# Triton: via int32 (the interpreter's & rejects a scalar with a block)
_op("and", 2, triton="(({0}.to(tl.int32) * {1}.to(tl.int32)) != 0)", cuda="({0} && {1})",
    aten=lambda n, a, b: a & b, grad=NO_GRADIENT, predicate=True)
_op("or", 2, triton="(({0}.to(tl.int32) + {1}.to(tl.int32)) != 0)", cuda="({0} || {1})",
    aten=lambda n, a, b: a | b, grad=NO_GRADIENT, predicate=True)
_op("not", 1, triton="({0} == 0)", cuda="(!{0})", aten=lambda n, a: ~a, grad=NO_GRADIENT,
    predicate=True)
_op("neg", 1, triton="(-{0})", cuda="(-{0})", aten=lambda n, a: -a,
    grad=lambda ns, n, g: [(n.args[0], -g)])
# the value, with no derivative: a trace's stop_gradient (TraceNamespace.ndtr's
# "rational32_slope": a derivative given by a formula of its own)
_op("detach", 1, triton="{0}", cuda="{0}", aten=lambda n, a: _detached(a), grad=NO_GRADIENT)
# where: the derivative of the branch taken
_op("where", 3, triton="tl.where({0}, {1}, {2})", cuda="({0} ? {1} : {2})",
    aten=lambda n, c, a, b: _torch().where(c, a, b),
    grad=lambda ns, n, g: [(n.args[1], ns.where(n.args[0], g, 0.0)),
                           (n.args[2], ns.where(n.args[0], 0.0, g))])
_op("astype", 1, triton=lambda node, a: triton_cast(a, node.dtype, node.args[0].dtype),
    cuda=lambda node, a: f"(({C_TYPES[node.dtype]})({a}))",
    aten=lambda n, a: a.to(getattr(_torch(), n.dtype)),
    grad=lambda ns, n, g: [(n.args[0], ns.astype(g, n.args[0].dtype))])
# NaN in either gives NaN (fmax and a plain comparison would drop it); ties go to
# the first argument (clamp's derivative)
_op("max", 2, triton="tl.maximum({0}, {1}, propagate_nan=tl.PropagateNan.ALL)",
    cuda="(({0} >= {1} || {0} != {0}) ? {0} : {1})",
    aten=lambda n, a, b: _torch().maximum(_torch().as_tensor(a), _torch().as_tensor(b)),
    grad=lambda ns, n, g: [(n.args[0], ns.where(n.args[0] >= n.args[1], g, 0.0)),
                           (n.args[1], ns.where(n.args[0] >= n.args[1], 0.0, g))])
_op("min", 2, triton="tl.minimum({0}, {1}, propagate_nan=tl.PropagateNan.ALL)",
    cuda="(({0} <= {1} || {0} != {0}) ? {0} : {1})",
    aten=lambda n, a, b: _torch().minimum(_torch().as_tensor(a), _torch().as_tensor(b)),
    grad=lambda ns, n, g: [(n.args[0], ns.where(n.args[0] <= n.args[1], g, 0.0)),
                           (n.args[1], ns.where(n.args[0] <= n.args[1], 0.0, g))])
# abs' derivative at 0 is 0
_op("abs", 1, xp="abs", triton="tl.abs({0})", cuda=_cmath("fabs"),
    aten=lambda n, a: _torch().abs(a), grad=lambda ns, n, g: [(n.args[0], g * _sign(ns, n.args[0]))])
_op("isinf", 1, xp="isinf", triton="(tl.abs({0}) == float('inf'))", cuda="isinf({0})",
    aten=lambda n, a: _torch().isinf(a), grad=NO_GRADIENT, predicate=True)
_op("isnan", 1, xp="isnan", triton="({0} != {0})", cuda="isnan({0})",
    aten=lambda n, a: _torch().isnan(a), grad=NO_GRADIENT, predicate=True)
_op("round", 1, xp="round", triton=_ld("rint", "numpy.rint"), cuda=_cmath("rint"),
    aten=lambda n, a: _torch().round(a), grad=NO_GRADIENT)
_op("exp", 1, xp="exp", triton=_ld("exp", "numpy.exp"), cuda=_cmath("exp"),
    aten=lambda n, a: _torch().exp(a), grad=lambda ns, n, g: [(n.args[0], g * n)])


def _aten_expm1(n, a):
    # Kahan's form: Inductor's own expm1 is exp(x) - 1 (kernels/inductor.py)
    return expm1_kahan(_torch(), a)


_op("expm1", 1, xp="expm1", triton=_ld("expm1", "numpy.expm1"), cuda=_cmath("expm1"),
    aten=_aten_expm1, grad=lambda ns, n, g: [(n.args[0], g * (n + 1.0))])
_op("log", 1, xp="log", triton=_ld("log", "numpy.log"), cuda=_cmath("log"),
    aten=lambda n, a: _torch().log(a), grad=lambda ns, n, g: [(n.args[0], g / n.args[0])])
_op("log1p", 1, xp="log1p", triton=_ld("log1p", "numpy.log1p"), cuda=_cmath("log1p"),
    aten=lambda n, a: _torch().log1p(a),
    grad=lambda ns, n, g: [(n.args[0], g / (n.args[0] + 1.0))])
_op("tanh", 1, xp="tanh", triton=_ld("tanh", "numpy.tanh"), cuda=_cmath("tanh"),
    aten=lambda n, a: _torch().tanh(a), grad=lambda ns, n, g: [(n.args[0], g * (1.0 - n * n))])
_op("sqrt", 1, xp="sqrt", triton=_ld("sqrt", "numpy.sqrt"), cuda=_cmath("sqrt"),
    aten=lambda n, a: _torch().sqrt(a), grad=lambda ns, n, g: [(n.args[0], g / (n * 2.0))])
_op("erf", 1, xp="erf", triton=_ld("erf", "scipy.special.erf"), cuda=_cmath("erf"),
    aten=lambda n, a: _torch().special.erf(a),
    grad=lambda ns, n, g: [(n.args[0], g * TWO_OVER_SQRT_PI * ns.exp(-(n.args[0] * n.args[0])))])
_op("erfc", 1, xp="erfc", triton=_ld("erfc", "scipy.special.erfc"), cuda=_cmath("erfc"),
    aten=lambda n, a: _torch().special.erfc(a),
    grad=lambda ns, n, g: [(n.args[0], g * (-TWO_OVER_SQRT_PI) * ns.exp(-(n.args[0] * n.args[0])))])
_op("erfcx", 1, xp="erfcx", triton=_ld("erfcx", "scipy.special.erfcx"), cuda=_cmath("erfcx"),
    aten=lambda n, a: _torch().special.erfcx(a),
    grad=lambda ns, n, g: [(n.args[0], g * (n.args[0] * n * 2.0 - TWO_OVER_SQRT_PI))])
