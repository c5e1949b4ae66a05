"""Trace a generic body into an expression graph: the one source of every kernel.

The generic bodies (``multiact._agnostic``) are written against a namespace
``xp``.  Run against :class:`TraceNamespace`, they build a graph of
:class:`Node` objects instead of computing: the same formula, with the same
branches, constants and dtype rules (half precision computed in float32).
``kernels/triton.py`` and ``kernels/cuda_c.py`` print that graph as kernel
source, so a kernel computes exactly what the generic body computes, and its
backward is the symbolic derivative of the same graph (:func:`derivative`),
which is what autodiff of the generic body gives.

An element-wise body becomes a graph of one input ``x`` (and, for the
backward, a cotangent ``g``).  A gated body (a row with ``halves``: glu,
swiglu, geglu) becomes an element-wise graph of its two halves, ``x`` (the
first) and ``b`` (the second): ``fm.halves`` asks the namespace to split, and
this one answers with the two leaves.  A reduction body over the last axis (softmax,
log_softmax, softmin, logsumexp, logmeanexp, standardize) becomes a graph over
one row, whose ``rmax``/``rsum`` nodes reduce the row (``ncols`` is the row
length, ``mask`` the ``where`` argument).
"""

from __future__ import annotations

from .._agnostic import _formulas, _special
from .._table import TABLE
from ._ops import LEAVES, OPS, Unsupported

__all__ = ["Node", "TraceNamespace", "trace_elementwise", "trace_gated", "trace_rows",
           "derivative", "derivatives", "gpu_ndtr",
           "FLOATS", "ROWS", "Unsupported", "print_node"]

FLOATS = ("float16", "bfloat16", "float32", "float64")
#: the reductions over the last axis that have row kernels
#: the functions with a row kernel (their rows in the table say so)
ROWS = tuple(info.name for info in TABLE if info.row_kernel)
_ORDER = {"bool": 0, "int32": 1, "float16": 2, "bfloat16": 2, "float32": 3, "float64": 4}


class Node:
    """One operation of the graph.  ``op`` names it, ``args`` are Nodes, ``value``
    holds a constant, ``dtype`` is the result's dtype name; ``elem`` says the
    value varies along the row (it depends on an element of ``x`` or ``mask``
    other than through an ``rmax``/``rsum``), else it is one value per row."""

    __slots__ = ("op", "args", "value", "dtype", "elem", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, op, args=(), dtype="float32", value=None):
        self.op, self.args, self.dtype, self.value = op, tuple(args), dtype, value
        if op in ("x", "b", "g", "mask"):
            self.elem = True
        elif op in ("rmax", "rsum", "const", "ncols"):
            self.elem = False
        else:
            self.elem = any(a.elem for a in self.args)

    # structure used by the generic bodies --------------------------------------------
    @property
    def shape(self):
        return (1, 2) if self.elem else (1, 1)

    @property
    def ndim(self):
        return len(self.shape)

    def __bool__(self):
        raise Unsupported("a data-dependent Python branch")

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"Node({self.op}, {self.dtype})"

    # arithmetic ----------------------------------------------------------------------
    def _bin(self, op, other, rev=False):
        other = _lift(other, self)
        a, b = (other, self) if rev else (self, other)
        dt = "bool" if OPS[op].predicate else _promote(a.dtype, b.dtype)
        return Node(op, (a, b), dt)

    def __add__(self, o): return self._bin("add", o)
    def __radd__(self, o): return self._bin("add", o, True)
    def __sub__(self, o): return self._bin("sub", o)
    def __rsub__(self, o): return self._bin("sub", o, True)
    def __mul__(self, o): return self._bin("mul", o)
    def __rmul__(self, o): return self._bin("mul", o, True)
    def __truediv__(self, o): return self._bin("div", o)
    def __rtruediv__(self, o): return self._bin("div", o, True)
    def __lt__(self, o): return self._bin("lt", o)
    def __le__(self, o): return self._bin("le", o)
    def __gt__(self, o): return self._bin("gt", o)
    def __ge__(self, o): return self._bin("ge", o)
    def __eq__(self, o): return self._bin("eq", o)  # noqa: E704 - element-wise, as arrays
    def __ne__(self, o): return self._bin("ne", o)
    def __and__(self, o): return self._bin("and", o)
    def __or__(self, o): return self._bin("or", o)

    def __neg__(self):
        return Node("neg", (self,), self.dtype)

    def __invert__(self):
        return Node("not", (self,), "bool")

    def __pow__(self, k):
        if k == 2:
            return self * self
        raise Unsupported(f"power {k!r}")


def _promote(a, b):
    if a == "bool" and b == "bool":
        return "bool"
    return a if _ORDER.get(a, 0) >= _ORDER.get(b, 0) else b


def _lift(v, like):
    """A Python scalar as a constant of ``like``'s dtype (Python scalars are weak)."""
    if isinstance(v, Node):
        return v
    if isinstance(v, bool):
        return Node("const", (), "bool", bool(v))
    if isinstance(v, (int, float)):
        dt = like.dtype if like.dtype != "bool" else "float32"
        if dt == "int32" and isinstance(v, float):
            dt = "float32"
        return Node("const", (), dt, float(v))
    raise Unsupported(f"a {type(v).__name__} operand")


class _Finfo:
    def __init__(self, dtype):
        self.bits = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}[dtype]
        self.max = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38,
                    "float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308}[dtype]


def _un(op):
    """The namespace function of the one-argument operation ``op``."""
    def f(self, x):
        if not isinstance(x, Node):
            raise Unsupported(f"{op.xp} of a Python number")
        return Node(op.name, (x,), "bool" if op.predicate else x.dtype)
    f.__name__ = op.xp
    return f


class TraceNamespace:
    """The namespace the generic bodies see while they are traced."""

    framework = "trace"
    label = "trace"
    activation = None  # a gated body's gates are traced from their generic bodies
    float16, bfloat16, float32, float64 = "float16", "bfloat16", "float32", "float64"
    bool = "bool"
    work_floats = frozenset(("float32", "float64"))

    def __init__(self, ndtr="native"):
        self._ndtr = ndtr
        self.b = None  # the second half's leaf, once a gated body has split

    # dtypes ----------------------------------------------------------------------------
    def isdtype(self, dt, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        for k in kinds:
            if k == "real floating" and dt in FLOATS:
                return True
            if k == "bool" and dt == "bool":
                return True
            if k == "integral" and dt == "int32":
                return True
        return False

    def finfo(self, dt):
        return _Finfo(dt)

    def astype(self, x, dtype):
        x = _lift(x, Node("const", (), dtype))
        return x if x.dtype == dtype else Node("astype", (x,), dtype)

    def default_float(self, x):
        return "float32"

    def ones_like(self, x):
        return _lift(1.0, x)  # (a constant of x's dtype; squareplus's 1 where not scaled)

    def device_of(self, x):
        return None

    # element-wise ---------------------------------------------------------------------
    def where(self, c, a, b):
        like = a if isinstance(a, Node) else (b if isinstance(b, Node) else c)
        a, b = _lift(a, like), _lift(b, like)
        return Node("where", (c, a, b), _promote(a.dtype, b.dtype))

    # the one-argument functions of the registry (xp.exp, xp.erfcx, ...) are
    # added below the class

    def shift(self, x, m):
        return x - m  # _formulas.shift: the subtraction (no warning to silence in a kernel)

    def quotient(self, a, b):
        return a / b  # _formulas.quotient: the division (no warning to silence in a kernel)

    def sum_squares(self, d, axis=None, keepdims=False):
        return self.sum(d * d, axis=axis, keepdims=keepdims)  # (_formulas.sum_squares)

    def divide_rn(self, a, b):
        return a / b  # _formulas.divide_rn: a kernel's division is IEEE (tl.div_rn, CUDA's /)

    def dekker_split(self, v):
        # _formulas.dekker_split, as written: the kernels are compiled without
        # contraction (Triton's enable_fp_fusion=False, NVRTC's --fmad=false)
        return _formulas.dekker_split(self, v)

    def two_product(self, b, x, p=None):
        # _formulas.two_product, as written (the kernels are compiled without contraction)
        return _formulas.two_product(self, b, x, p)

    def carried(self, v, d):
        return _formulas.carried(self, v, d)  # as written: a kernel keeps subnormals

    def maximum(self, a, b):
        like = a if isinstance(a, Node) else b
        a, b = _lift(a, like), _lift(b, like)
        return Node("max", (a, b), _promote(a.dtype, b.dtype))

    def minimum(self, a, b):
        like = a if isinstance(a, Node) else b
        a, b = _lift(a, like), _lift(b, like)
        return Node("min", (a, b), _promote(a.dtype, b.dtype))

    def clip(self, x, lo, hi):
        return self.minimum(self.maximum(x, lo), hi)

    def ndtr(self, x):
        # The normal CDF (written once, in _special): from erf and erfcx, which
        # every GPU has accurate versions of; or, for the CPU compiler, float32
        # from erfc with a corrected argument (as the eager torch path).
        if self._ndtr == "erfc32" and x.dtype == "float32":
            return _special.ndtr_from_erfc32(self, x, self.erfc)
        if self._ndtr == "rational32" and x.dtype == "float32":
            return _special.ndtr_rational(self, x)
        if self._ndtr == "rational32_slope" and x.dtype == "float32":
            return _special.ndtr_rational(self, x, exact_slope=self.stop_gradient)
        return _special.ndtr_from_native(self, x, self.erf, self.erfcx)

    def stop_gradient(self, x):
        """``x``'s value, through which no derivative flows (the ``detach`` node)."""
        return Node("detach", (x,), x.dtype)

    def scalar_operand(self, v, like):
        return v  # _formulas.scalar_operand: a kernel's parameter is its own operand

    # reductions over the row ----------------------------------------------------------
    def _check_axis(self, axis):
        if axis not in ((1,), 1, -1, (-1,)):
            raise Unsupported(f"a reduction over axis {axis!r}")

    def max(self, x, axis=None, keepdims=False):
        self._check_axis(axis)
        return Node("rmax", (x,), x.dtype)

    def sum(self, x, axis=None, keepdims=False):
        self._check_axis(axis)
        return Node("rsum", (x,), x.dtype)

    def count_along(self, x, axes, where):
        """The number of entries of a row (``_formulas.count``'s hook)."""
        n = Node("ncols", (), "float32" if x.dtype != "float64" else "float64")
        if where is None:
            return n, None
        return self.sum(self.astype(where, x.dtype), axis=axes), where

    def reshape(self, x, shape):
        return x

    def squeeze(self, x, axis=None):
        return x

    def broadcast_to(self, x, shape):
        return x

    def split_halves(self, x, axis, fname):
        """``fm.halves``' hook: the halves of the element ``x`` (the leaf ``x``, or
        the leaf cast to the working dtype) are ``x`` and a second leaf ``b``."""
        leaf = x.args[0] if x.op == "astype" else x
        if leaf.op != "x" or self.b is not None:
            raise Unsupported("a split of anything but the input")
        self.b = Node("b", (), leaf.dtype)
        return x, (self.b if leaf is x else Node("astype", (self.b,), x.dtype))

    def __getattr__(self, name):
        raise Unsupported(f"xp.{name}")


for _op in OPS.values():
    if _op.xp is not None:
        if _op.arity != 1:
            raise TypeError(f"multiact: registry entry {_op.name!r}: only one-argument "
                            f"operations are offered as xp functions")
        setattr(TraceNamespace, _op.xp, _un(_op))
del _op


def gpu_ndtr(dtype, backward):
    """How a GPU kernel (Triton's, CuPy's) of ``dtype`` takes the normal CDF (exact
    GELU, exact geglu): for float16 and bfloat16 ``"rational32"``
    (``_special.ndtr_rational``: the float32 rational of the CPU tier's half
    kernels, one ``exp``), and for their backward kernels ``"rational32_slope"``
    (the same value, whose derivative is ``phi(x)`` from the same ``exp``, not the
    derivative of the rational's sums); ``"native"`` (``erf``, ``erfcx``, ``exp``,
    ``expm1``) for float32 and float64.  Reason: speed.  A half tensor's value is
    computed in float32, where the rational's few ulp are 1/100 of a half ulp; the
    native form's four libdevice functions and selects made exact GELU's bfloat16
    kernels 1504 and 1938 PTX instructions a block of 1024 (sm_90; forward,
    backward), now 490 and 677 (bfloat16 ran 6.68x ``F.gelu`` on an H200,
    compute-bound).  The backward's phi keeps the gradient within the half bound
    next to the derivative's root, where ``Phi + x phi`` cancels (float16: 0.5012
    ulp at -0.74756; autodiff of the rational was 0.698, the native form 0.5212;
    every value under Triton's interpreter, decision 117).  float32 keeps the native
    form: the rational in float32 is 7.4 ulp, over the 5.5-ulp bound."""
    if dtype in ("bfloat16", "float16"):
        return "rational32_slope" if backward else "rational32"
    return "native"


def trace_elementwise(info, dtype, params, ndtr="native"):
    """The graph of ``info``'s body on one element of ``dtype``, with ``params``
    (Python scalars) baked in; raises :class:`Unsupported` if it cannot be."""
    if dtype not in FLOATS:
        raise Unsupported(f"dtype {dtype}")
    ns = TraceNamespace(ndtr)
    x = Node("x", (), dtype)
    y = info.body(ns, x, *params)
    if not isinstance(y, Node):
        raise Unsupported("the body returned no expression")
    return x, y


def trace_gated(info, dtype, params, ndtr="native"):
    """The graph of a gated body (a row with ``halves``) on one element of each half:
    ``(a, b, y)``, the leaves ``x`` (first half) and ``b`` (second half) and the
    result; raises :class:`Unsupported` if it cannot be."""
    if dtype not in FLOATS:
        raise Unsupported(f"dtype {dtype}")
    ns = TraceNamespace(ndtr)
    x = Node("x", (), dtype)
    y = info.body(ns, x, *params)
    if not isinstance(y, Node) or ns.b is None:
        raise Unsupported("the body is not a split into halves combined element-wise")
    return x, ns.b, y


def trace_rows(info, dtype, params, masked=False):
    """The graph of a reduction body over one row (last axis): ``(x, mask, y)``."""
    if dtype not in FLOATS:
        raise Unsupported(f"dtype {dtype}")
    ns = TraceNamespace()
    x = Node("x", (), dtype)
    mask = Node("mask", (), "bool") if masked else None
    names = [p.name for p in info.params]
    args = list(params)
    if "where" in names:
        args[names.index("where")] = mask
    y = info.body(ns, x, *args)
    if isinstance(y, tuple) or not isinstance(y, Node):
        raise Unsupported("the body returned no single expression")
    return x, mask, y


# -- the derivative ----------------------------------------------------------------------

def derivative(x, y, g):
    """``g * dy/dx`` for an element-wise graph ``y(x)``: reverse accumulation over
    the graph with each operation's rule (``_ops.py``), the rules autodiff
    applies to the same operations (``where`` selects the derivative of the
    branch taken; comparisons, ``round`` and ``isinf`` have none; ``abs``'
    derivative at 0 is 0)."""
    return derivatives((x,), y, g)[0]


def derivatives(leaves, y, g):
    """``g * dy/dl`` for each leaf ``l`` of ``leaves`` (a gated graph's ``x`` and
    ``b``), by the one reverse accumulation of :func:`derivative`."""
    ns = TraceNamespace()
    order = _topo(y)
    adj = {id(y): g if y.dtype == g.dtype else Node("astype", (g,), y.dtype)}
    for node in reversed(order):
        gn = adj.get(id(node))
        if gn is None or node.op in LEAVES:
            continue
        op = OPS.get(node.op)
        if op is None:
            raise Unsupported(f"no derivative rule for {node.op}")
        for arg, contrib in op.grad(ns, node, gn):
            if contrib is None or arg.dtype == "bool":
                continue
            prev = adj.get(id(arg))
            adj[id(arg)] = contrib if prev is None else prev + contrib
    out = []
    for leaf in leaves:
        gl = adj.get(id(leaf))
        out.append(Node("mul", (g, Node("const", (), g.dtype, 0.0)), g.dtype) if gl is None
                   else gl)
    return out


def _topo(root):
    seen, order = set(), []

    def visit(n):
        stack = [(n, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for a in node.args:
                if id(a) not in seen:
                    stack.append((a, False))

    visit(root)
    return order


# -- printing a node as source text (the spellings are the registry's) ---------------------

def print_node(node, name, language, const):
    """``node`` as an expression of a kernel language: ``language`` is the
    registry's field (``"triton"`` or ``"cuda"``), whose spelling is a format
    string over the arguments' names (``{0}``, ``{1}``, ...), the result's dtype
    (``{dt}``) and the first argument's (``{src}``), or a callable
    ``f(node, *names)``; ``const(value, dtype)`` prints constants."""
    if node.op == "const":
        return const(node.value, node.dtype)
    op = OPS.get(node.op)
    if op is None:
        raise Unsupported(f"no {language} form for {node.op}")
    t = getattr(op, language)
    a = [name[id(arg)] for arg in node.args]
    if callable(t):
        return t(node, *a)
    src = node.args[0].dtype if node.args else node.dtype
    return t.format(*a, dt=node.dtype, src=src)
