"""The function table: one row per function, read by every layer.

A row (:class:`FuncInfo`) holds everything multiact knows about a function:

* its name and aliases, and its generic body (``_agnostic``), whose docstring is
  the public documentation;
* its parameters, each with a kind (``_params``: one validator per kind) and a
  default; the kinds say which arguments ``jax.jit`` must treat as static;
* the accuracy it promises (a ulp bound per dtype), the mpmath reference it is
  scored against, and the parameter sets it is checked with;
* the defaults of the other libraries (docs/defaults.md) and the hints given to
  users who pass another library's arguments.

What reads it: the public functions (``_api.py``, generated from this table by
``tools/generate.py``), ``get``/``names``/``Activation``, the backends (JAX's
static arguments, the fused kernels: every ``elementwise`` row), ``multiact
check`` and ``multiact info``, the conformance suite, the tests and the docs.
Adding a function means adding a generic body and a row here, then running
``python tools/generate.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from ._agnostic import _formulas as fm
from ._agnostic import elementwise as E
from ._agnostic import reductions as Rd
from ._params import (Approximate, Axes, Axis, Count, DType, Flag, Initial, Mask,
                      Param, Real, RealOrArray, Scale, Weight)

__all__ = ["FuncInfo", "Case", "TABLE", "ALIASES", "PRESETS", "info_for", "canonical_name"]

DTYPES = ("float64", "float32", "float16", "bfloat16")

# float16/bfloat16 are computed in float32 and rounded once: within half an ulp
# (plus the float32 error, far below a half-precision ulp).
_H = {"float16": 0.51, "bfloat16": 0.51}
_HR = {"float16": 1, "bfloat16": 1}  # reductions: float32 accumulation, then one rounding
_EXACT = {"float64": 0, "float32": 0, "float16": 0, "bfloat16": 0}


def _ulp(f64, f32, half=_H):
    return MappingProxyType({"float64": f64, "float32": f32, **half})


@dataclass(frozen=True)
class Case:
    """Parameters a function is checked with (``multiact check``, conformance),
    with bounds of their own where they differ from the row's."""

    params: Mapping[str, Any] = field(default_factory=dict)
    bounds: Mapping[str, float] | None = None



@dataclass(frozen=True)
class FuncInfo:
    """One row of the table (see the module docstring)."""

    name: str
    body: Callable
    params: tuple = ()
    aliases: tuple = ()
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
                                       # other libraries' names for this function with
                                       # parameters (HF's "gelu_new"): multiact.get gives
                                       # an Activation (decision 145)
    family: str = "elementwise"        # "elementwise" | "reduction" | "shape"
    first: str = "x"                   # the name of the array argument
    bounds: Mapping[str, float] = field(default_factory=lambda: _ulp(0, 0))
    cases: tuple = (Case(),)
    defaults: tuple | None = None      # (multiact, jax.nn, torch F, keras) as text
    hints: Mapping[str, str] = field(default_factory=dict)
    keep_int: bool = False             # integer input keeps its dtype (relu, ...)
    nonneg_input: bool = False         # defined for x >= 0 only (log1mexp): tests sample there
    halves: bool = False               # "shape": x is split in two halves along axis, the
                                       # gated functions (glu): fm.halves' errors, tests
    # what runs where (backends and kernels read these):
    fused: bool = True                 # element-wise: fused kernels (identity returns x itself)
    blockwise: bool = True             # element-wise, NumPy: the generic body block by block
    row_kernel: str | None = None      # reductions over the last axis with a row kernel: its
                                       # output, "same" (x's shape) or "per_row" (one a row)
    row_backward: str | None = None    # the PyTorch backward that a row kernel's training uses
                                       # from its saved output: "softmax", "log_softmax",
                                       # "softmin" (softmax's, negated), "logsumexp" (the
                                       # softmax of the saved input); "vjp": the generic
                                       # body's own derivative, compiled (CPU)
    vjp: Callable | None = None        # "vjp": that derivative written out, ``(xp, x, g,
                                       # *params) -> g J(x)``, compiled in place of
                                       # autograd's of the body (faster code)
    exp_sums: bool = False             # a row kernel's sums add exp(x - max), terms over many
                                       # orders: summed wide on long rows (kernels.LONG_ROW)
    square_sums: bool = False          # its sums add squares of deviations, which one far
                                       # entry spans over many orders: the same (decision 163)
    linear: bool = False               # piecewise linear in x (relu, hard_shrink, sparsemax):
                                       # a derivative constant between kinks, which PyTorch's
                                       # autograd of the body leaves unrecorded in x; the
                                       # torch backend records it (decision 201)
    row_loop: bool = True              # a "same" row kernel on the CPU is one loop over the
                                       # rows (decision 75); False where its output takes a
                                       # log of the row's sums, which that loop would call
                                       # again for every vector of entries (decision 190)

    @property
    def elementwise(self) -> bool:
        return self.family == "elementwise"

    @property
    def wide_sums(self) -> bool:
        """Whether a CPU row kernel sums a long row wide (float32 in float64; a float64
        row takes the eager path): ``exp_sums`` or ``square_sums``."""
        return self.exp_sums or self.square_sums

    @property
    def static(self) -> tuple:
        """Names of the parameters that select code (jax.jit static arguments)."""
        return tuple(p.name for p in self.params if p.kind.static)

    @property
    def doc(self) -> str:
        return self.body.__doc__ or ""

    def label(self, params=None) -> str:
        if not params:
            return self.name
        return self.name + "(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")"

    def bound(self, dtype: str, params: Mapping | None = None) -> float:
        """The ulp bound for ``dtype`` with ``params`` (a case's own bounds first)."""
        params = dict(params or {})
        for case in self.cases:
            if case.bounds is None:
                continue
            # a case without parameters is the defaults' (softplus's beta = 1)
            want = case.params or {p.name: p.default for p in self.params}
            if all(params.get(k, self.param(k).default) == v for k, v in want.items()):
                return case.bounds[dtype]
        return self.bounds[dtype]

    def args(self, params=None):
        """The parameter values in order (``params`` or the first check case's,
        defaults elsewhere): what the generic body and the kernels take."""
        params = dict(self.cases[0].params if params is None else params)
        return tuple(params.get(p.name, p.default) for p in self.params)

    def param(self, name):
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


# Hints for arguments of other libraries (the user gets a TypeError with the hint).
_AXIS_HINT = {"dim": "multiact uses axis=, as JAX does (and NumPy)"}
_INPLACE = {"inplace": "multiact never modifies its input; assign the result instead"}
_DTYPE_HINT = {"dtype": "multiact keeps x's dtype; cast x first (x.to(dtype) / x.astype(dtype))"}

_SOFTMAX_PARAMS = (Param("axis", Axes(), -1), Param("where", Mask(), None),
                   Param("initial", Initial(), None))
_SOFTMAX_HINTS = {**_AXIS_HINT, **_DTYPE_HINT}
# exp(x - max) carries the rounding of x - max, half an ulp of |x - max| < 708
# (float64) or 87 (float32), relative 2^-44 or 2^-18: up to 512 and 64 ulps of a
# result near the top of its binade, with exp's and the sum's own; softmax's
# entries, and log_softmax's near 0 (-log1p(sum exp(x - max)) there; decision 146)
_SOFTMAX_BOUNDS = _ulp(520, 68, _HR)


def _row(name, body, *params, **kw) -> FuncInfo:
    hints = {**_INPLACE, **kw.pop("hints", {})}
    return FuncInfo(name, body, tuple(params), hints=MappingProxyType(hints), **kw)


TABLE: tuple[FuncInfo, ...] = (
    # -- element-wise, seed set ------------------------------------------------------
    # Keras's parameters: at the defaults an exact selection; a slope rounds x - t and
    # the product (1 ulp), or only the difference when the slope is a power of 2
    # keyword-only: relu(x, True) is PyTorch's inplace flag, and gets that hint
    _row("relu", E.relu, Param("negative_slope", Real(), 0.0, keyword_only=True),
         Param("max_value", Real(optional=True), None, keyword_only=True),
         Param("threshold", Real(), 0.0, keyword_only=True),
         bounds=_ulp(0, 0, _EXACT), linear=True, keep_int=True,
         cases=(Case(), Case({"negative_slope": 0.5, "max_value": 5.0, "threshold": 5.0},
                             bounds=_ulp(0.5, 0.5)),
                # 0.1 (x - t): half an ulp of x - t times 0.1 is up to 0.8 ulp of the
                # result, then its rounding (and float32's rounded 0.1): 1.11 and 1.40
                # measured (float32: every value of 4 binades)
                Case({"negative_slope": 0.1, "threshold": -1.0}, bounds=_ulp(1.3, 1.5))),
         defaults=("relu; negative_slope=0, max_value=None, threshold=0", "relu", "relu",
                   "relu(negative_slope=0.0, max_value=None, threshold=0.0)")),
    _row("relu6", E.relu6, bounds=_ulp(0, 0, _EXACT), keep_int=True, linear=True,
         defaults=("min(max(x, 0), 6)", "relu6", "relu6", "relu6")),
    _row("hard_tanh", E.hard_tanh, aliases=("hardtanh",), bounds=_ulp(0, 0, _EXACT), keep_int=True,
         linear=True,
         hints={"*": "PyTorch's hardtanh(x, min_val, max_val)? multiact.hard_tanh clips to "
                     "[-1, 1]; for other bounds use the framework's clip",
                "min_val": "multiact.hard_tanh clips to [-1, 1]; for other bounds use "
                           "multiact.relu6 or the framework's clip",
                "max_val": "multiact.hard_tanh clips to [-1, 1]; for other bounds use "
                           "multiact.relu6 or the framework's clip"},
         defaults=("clip(x, -1, 1)", "same", "hardtanh(min_val=-1, max_val=1): other bounds "
                   "are the framework's clip", "hard_tanh (same)")),
    _row("leaky_relu", E.leaky_relu, Param("negative_slope", RealOrArray(), 0.01),
         linear=True, bounds=_ulp(0.5, 1), cases=(Case(), Case({"negative_slope": 0.2})),
         defaults=("negative_slope=0.01", "negative_slope=0.01", "negative_slope=0.01",
                   "negative_slope=0.2: pass negative_slope=0.2")),
    # decision 66: float64 2.20 (generic, x = -2.76; JAX's logistic 2.15), float32 3.68
    # (NumPy, x = -16.66: every float32 of 2^-4 <= |x| <= 128)
    _row("sigmoid", E.sigmoid, bounds=_ulp(3, 4),
         defaults=("sigmoid", "sigmoid", "sigmoid", "sigmoid")),
    # decision 66: float64 2.92 (generic, x = -14.51), float32 4.57 (generic, x = -10.71:
    # every float32 of 2^-4 <= |x| <= 128)
    _row("silu", E.silu, aliases=("swish",), bounds=_ulp(3.5, 5),
         defaults=("silu, swish", "silu, swish", "silu", "silu, swish")),
    _row("softplus", E.softplus,
         Param("beta", RealOrArray("positive", floor=fm.SOFTPLUS_BETA_FLOOR), 1.0),
         # decision 66: float32 3.30 (generic and NumPy, x = -2.04; every float32 of
         # 2^-4 <= |x| <= 128)
         # a beta whose product beta x is rounded (not a power of 2): one ulp more,
         # for the division by beta and the exact product's correction (decision
         # 127: 2.68 in float64 at beta = 0.3, 4.06 in JAX's float32 at 1.5); float32
         # on NumPy's ufuncs (NumPy, dask, array-api-strict: exp within 2.4 ulp,
         # log1p 1.8): 5.81 at beta = 0.3, every float32 of 0.5 <= -beta x <= 8
         # (decision 155)
         bounds=_ulp(3.0, 6.5), cases=(Case(bounds=_ulp(2.5, 4)),
                                     Case({"beta": 2.0}, bounds=_ulp(2.5, 4)),
                                     Case({"beta": 1.5})),
         hints={"threshold": "multiact.softplus is exact everywhere and needs no threshold; "
                             "drop it",
                "*": "PyTorch's softplus(x, beta, threshold)? multiact.softplus is exact "
                     "everywhere and needs no threshold; drop it"},
         defaults=("beta=1, exact everywhere", "no parameters", "beta=1, threshold=20 (returns "
                   "x above it; multiact needs no threshold)", "no parameters")),
    # float32 3.30 (x = 2.04, -softplus(-x); decision 66)
    _row("log_sigmoid", E.log_sigmoid, aliases=("logsigmoid",), bounds=_ulp(2.5, 4),
         defaults=("log_sigmoid", "log_sigmoid", "logsigmoid", "log_sigmoid")),
    # elu, celu, selu: XLA's expm1 (JAX), decision 66: float64 3.93, 3.93, 5.37; float32
    # 5.71, 5.71, 6.22 (every float32 in [-32, -2^-4])
    _row("elu", E.elu, Param("alpha", RealOrArray(), 1.0), bounds=_ulp(5, 6), cases=(Case(), Case({"alpha": 0.5})),
         defaults=("alpha=1.0", "alpha=1.0", "alpha=1.0", "alpha=1.0")),
    _row("celu", E.celu, Param("alpha", RealOrArray("positive", floor=fm.CELU_ALPHA_FLOOR,
                                                  ceiling=fm.CELU_ALPHA_CEILING), 1.0), bounds=_ulp(5, 6), cases=(Case(), Case({"alpha": 2.0}), Case({"alpha": 0.3})),
         defaults=("alpha=1.0", "alpha=1.0", "alpha=1.0", "alpha=1.0")),
    _row("selu", E.selu, bounds=_ulp(6.5, 6.5),
         defaults=("selu", "selu", "selu", "selu")),
    # tanh form: one rounding of 2u = x (A + B x^2) moves the result by |2u| ulp (decision
    # 66).  float32: 200.5 ulp at x = -9.6028, the worst of every float32 in [-10.6, -6]
    # (NumPy, JAX).  float64: 2u's four roundings and B's, (2 + 0.95 * 2.08) u, times
    # |2u| <= 704.5 (below, results are within 1024 smallest normals of 0): 2830;
    # measured 1876 on 12e6 random x in [-21.15, -20.3].  Exact form: 6.83 (NumPy
    # float64, x = -3.02), 5.04 (JAX float32, x = -2.23: every float32 of 2^-4 <= -x <= 128;
    # since decision 123 3.76 at x = -11.02, every float32 of |x| <= 40)
    _row("gelu", E.gelu, Param("approximate", Approximate(), True), bounds=_ulp(2830, 208),
         # Hugging Face's config names, and PyTorch's class (nn.GELU() is exact)
         presets={"gelu_new": {"approximate": True}, "gelu_pytorch_tanh": {"approximate": True},
                  "gelu_fast": {"approximate": True}, "gelu_python": {"approximate": False},
                  "GELU": {"approximate": False}},
         cases=(Case(), Case({"approximate": False}, bounds=_ulp(8.5, 5.5))),
         defaults=("approximate=True", "approximate=True", "approximate='none' (exact): "
                   "approximate=False or 'none'", "approximate=False: pass approximate=False")),
    _row("hard_sigmoid", E.hard_sigmoid, aliases=("hardsigmoid",), linear=True,
         bounds=_ulp(1.5, 1.5),
         defaults=("relu6(x + 3) / 6", "same", "same (hardsigmoid)",
                   "same in Keras 3 (Keras 2: clip(0.2 x + 0.5, 0, 1))")),
    # decision 66: 2.19 and 2.25 (JAX; every float32 of 2^-12 <= |x| <= 3)
    _row("hard_silu", E.hard_silu, aliases=("hard_swish", "hardswish"), bounds=_ulp(3, 2.5),
         defaults=("x * hard_sigmoid(x)", "same (hard_silu, hard_swish)", "hardswish",
                   "hard_silu, hard_swish")),
    _row("soft_sign", E.soft_sign, aliases=("softsign",), bounds=_ulp(1.5, 1.5),
         defaults=("soft_sign", "soft_sign", "softsign", "softsign")),
    # float32: XLA's tanh (JAX) 4.90 at x = 5.13, every float32 in [2^-4, 16] (decision 66)
    _row("tanh", E.tanh, bounds=_ulp(4, 5.5),
         defaults=("tanh (complex too)", "tanh", "tanh", "tanh")),
    # -- element-wise, beyond the seed set ---------------------------------------------
    _row("identity", E.identity, aliases=("linear",), bounds=_ulp(0, 0, _EXACT), keep_int=True,
         linear=True,
         fused=False, blockwise=False,
         defaults=("identity", "identity", "nn.Identity", "linear")),
    # decision 66: 5.36 (JAX, x = 15.9) and 5.95 (JAX, x = -3.25; every float32 in [-128, -2^-4])
    _row("mish", E.mish, bounds=_ulp(6.5, 6.5),
         defaults=("mish", "-", "mish", "mish")),
    _row("squareplus", E.squareplus, Param("b", RealOrArray("nonneg"), 4.0),
         # decision 66: 2.70 (x = -0.037) and 2.75 (x = -0.00077, every float32 of
         # 2^-12 <= -x <= 8)
         bounds=_ulp(3.5, 3), cases=(Case(), Case({"b": 0.5})),
         defaults=("b=4", "b=4", "-", "squareplus(b=4)")),
    _row("sparse_plus", E.sparse_plus, bounds=_ulp(2, 2),
         defaults=("sparse_plus", "sparse_plus", "-", "sparse_plus")),
    _row("sparse_sigmoid", E.sparse_sigmoid, linear=True, bounds=_ulp(0.5, 0.5),
         defaults=("sparse_sigmoid", "sparse_sigmoid", "-", "sparse_sigmoid")),
    # decision 66: 4.22 (JAX, x = 1.68) and 5.75 (JAX, x = 0.46; every float32 in [2^-4, 64])
    _row("log1mexp", E.log1mexp, bounds=_ulp(5.5, 6), nonneg_input=True,
         defaults=("log(1 - exp(-x)), x >= 0", "-", "-", "-")),
    _row("hard_shrink", E.hard_shrink, Param("lambd", Real("nonneg"), 0.5),
         aliases=("hardshrink",), linear=True, bounds=_ulp(0, 0, _EXACT),
         defaults=("lambd=0.5", "-", "hardshrink(lambd=0.5)", "hard_shrink(threshold=0.5)")),
    _row("soft_shrink", E.soft_shrink, Param("lambd", Real("nonneg"), 0.5),
         aliases=("softshrink",), linear=True, bounds=_ulp(0.5, 0.5),
         cases=(Case({"lambd": 1.0}),),
         defaults=("lambd=0.5", "-", "softshrink(lambd=0.5)", "soft_shrink(threshold=0.5)")),
    # x - tanh(x) just above |x| = 1 quadruples tanh's error: XLA's tanh (JAX) measured
    # 8.07 and 10.55 (every float32 in [2^-4, 16]) at x = 1.02 (decision 66); 4.3 elsewhere
    _row("tanh_shrink", E.tanh_shrink, aliases=("tanhshrink",), bounds=_ulp(10, 11),
         defaults=("x - tanh(x), accurate near 0", "-", "tanhshrink", "tanh_shrink")),
    _row("threshold", E.threshold, Param("threshold", Real()), Param("value", RealOrArray()),
         linear=True, bounds=_ulp(0, 0, _EXACT),
         cases=(Case({"threshold": 0.5, "value": -1.0}),),
         defaults=("threshold, value required", "-", "same", "threshold(threshold, "
                   "default_value)")),
    _row("prelu", E.prelu, Param("weight", Weight()), linear=True, bounds=_ulp(0.5, 1),
         cases=(Case({"weight": 0.25}),),
         defaults=("weight: scalar or per channel (axis 1)", "-", "same (learnable in "
                   "nn.PReLU)", "-")),
    # like tanh-GELU: the rounding of 1.702 x (and of 1.702) is amplified by the
    # condition number 1.702|x|, up to ~745 (float64) and ~104 (float32) in the tail;
    # measured worst 630 and 107 ulps, as PyTorch's and JAX's own x * sigmoid(1.702 x).
    # float64 (decision 66): 669 measured at x = -413.24; (1 + 0.23) u (the product's
    # rounding and 1.702's) times |1.702 x| <= 707.5 (results above 1024 smallest
    # normals) is 870.  float32: 82.8, the worst of every float32 in [-60, -20]
    _row("quick_gelu", E.quick_gelu, bounds=_ulp(870, 128),
         defaults=("x sigmoid(1.702 x)", "-", "-", "-")),
    _row("relu2", E.relu2, bounds=_ulp(0.5, 0.5),
         defaults=("max(x, 0)^2", "-", "-", "-")),
    # XLA's exp (JAX), decision 66: 1.64 (x = 251.3) and 5.51 (near its overflow, x = 88.72,
    # every float32 in [2^-4, 89])
    _row("exponential", E.exponential, bounds=_ulp(2, 6),
         defaults=("exp(x)", "-", "-", "same")),
    # -- reductions and shape-changing functions ---------------------------------------
    _row("softmax", Rd.softmax, *_SOFTMAX_PARAMS, family="reduction", bounds=_SOFTMAX_BOUNDS,
         hints=_SOFTMAX_HINTS, row_kernel="same", row_backward="softmax", exp_sums=True,
         defaults=("axis=-1", "axis=-1", "dim has no default: pass axis", "axis=-1")),
    _row("log_softmax", Rd.log_softmax, *_SOFTMAX_PARAMS, family="reduction",
         bounds=_SOFTMAX_BOUNDS, hints=_SOFTMAX_HINTS, row_kernel="same",
         row_backward="log_softmax", exp_sums=True, row_loop=False,
         defaults=("axis=-1", "axis=-1", "dim has no default: pass axis", "axis=-1")),
    _row("softmin", Rd.softmin, *_SOFTMAX_PARAMS, family="reduction", bounds=_SOFTMAX_BOUNDS,
         hints=_SOFTMAX_HINTS, row_kernel="same", row_backward="softmin", exp_sums=True,
         defaults=("axis=-1", "not in jax.nn", "dim has no default", "not in Keras")),
    # logsumexp, logmeanexp (decision 162): a search of ~100k rows near 0 found 31.6
    # units float64 and 11.1 float32 (logmeanexp 14.6 and 13.9) on every backend,
    # where the check's rows reach 0.5: the shift x - m's rounding weighs e^(x - m)
    # against the ulp of a maximum near 0 ([-3.52e-15, -33.28]: 31.6).  logsumexp
    # now adds that rounding back (decision 215: at most 9.9 and 9 on its search);
    # the bounds stay for decision 214's rows
    _row("logsumexp", Rd.logsumexp, Param("axis", Axes(), None),
         Param("b", Scale(), None), Param("keepdims", Flag(), False),
         Param("return_sign", Flag(), False), Param("where", Mask(), None),
         family="reduction", first="a", bounds=_ulp(40, 12, _HR), row_kernel="per_row",
         row_backward="logsumexp", exp_sums=True,
         cases=(Case({"axis": -1}),), hints={**_AXIS_HINT, "keepdim": "multiact uses "
                                             "keepdims=, as NumPy and JAX do"},
         defaults=("axis=None (all axes)", "axis=None", "torch.logsumexp: dim required",
                   "keras.ops.logsumexp: axis=None")),
    _row("logmeanexp", Rd.logmeanexp, Param("axis", Axes(), None), Param("where", Mask(), None),
         Param("keepdims", Flag(), False), family="reduction", bounds=_ulp(16, 16, _HR),
         cases=(Case({"axis": -1}),), row_kernel="per_row", exp_sums=True,
         hints={**_AXIS_HINT, "keepdim": "multiact uses keepdims=, as NumPy and JAX do"},
         defaults=("axis=None (all axes)", "-", "-", "-")),
    _row("standardize", Rd.standardize, Param("axis", Axes(), -1),
         Param("mean", RealOrArray(optional=True), None),
         Param("variance", RealOrArray("nonneg", optional=True), None),
         Param("epsilon", Real("nonneg"), 1e-5), Param("where", Mask(), None),
         row_kernel="same", row_backward="vjp", vjp=Rd.standardize_vjp, family="reduction",
         square_sums=True,
         # in units of eps (1 + |mean| / std + |y|) (decision 86): measured at most
         # 1.84 (JAX float32) and 1.71 (NumPy float64) on 3600 rows of 1000, 0.32
         # half; the final rounding alone is under 0.5 of them
         bounds=_ulp(2.5, 2.5, {"float16": 0.5, "bfloat16": 0.5}), hints=_AXIS_HINT,
         defaults=("epsilon=1e-5, two-pass variance", "epsilon=1e-5, algorithm='fast' "
                   "(one-pass; 'stable' is two-pass)", "layer_norm (no mask, no stats)", "-")),
    # sigmoid's bounds and the product's rounding
    _row("glu", Rd.glu, Param("axis", Axis(), -1), family="shape", halves=True,
         bounds=_ulp(3.5, 4.5, _HR), hints=_AXIS_HINT,
         defaults=("axis=-1", "axis=-1", "dim=-1", "axis=-1")),
    # silu's bound and the product's rounding
    _row("swiglu", Rd.swiglu, Param("axis", Axis(), -1), family="shape", halves=True,
         bounds=_ulp(4, 5.5, _HR), hints=_AXIS_HINT,
         defaults=("silu(a) * b, halves along axis=-1", "-", "-", "-")),
    # gelu's bounds (tanh form: the rounding of 2u in the tail) and the product's rounding
    _row("geglu", Rd.geglu, Param("axis", Axis(), -1), Param("approximate", Approximate(), True),
         family="shape", halves=True, bounds=_ulp(2831, 209, _HR), hints=_AXIS_HINT,
         cases=(Case(), Case({"approximate": False}, bounds=_ulp(9, 6, _HR))),
         defaults=("gelu(a) * b, halves along axis=-1, approximate=True", "-", "-", "-")),
    _row("one_hot", Rd.one_hot, Param("num_classes", Count()),
         Param("dtype", DType(), None, keyword_only=True),
         Param("axis", Axis(extra=1, min_ndim=0), -1, keyword_only=True),
         family="shape", bounds=_ulp(0, 0, _EXACT), cases=(Case({"num_classes": 5}),),
         hints=_AXIS_HINT,
         defaults=("dtype=None: default float dtype", "dtype=float", "F.one_hot: int64, no "
                   "dtype: pass dtype=torch.int64", "keras.ops.one_hot: float32")),
    _row("sparsemax", Rd.sparsemax, Param("axis", Axis(scalar=True), -1), family="shape",
         linear=True, bounds=_ulp(2, 3, _HR), hints=_AXIS_HINT,
         defaults=("axis=-1", "-", "-", "sparsemax(axis=-1)")),
)

BY_NAME: Mapping[str, FuncInfo] = MappingProxyType({f.name: f for f in TABLE})

# Other libraries' names for the same functions (the same objects).
ALIASES: Mapping[str, str] = MappingProxyType(
    {a: f.name for f in TABLE for a in f.aliases})

# Other libraries' names for a function with parameters, spelled exactly as there:
# name -> (row name, parameters) (decision 145)
PRESETS: Mapping[str, tuple] = MappingProxyType(
    {n: (f.name, MappingProxyType(dict(p))) for f in TABLE for n, p in f.presets.items()})


def canonical_name(name, who="get") -> str:
    """The row name for ``name`` (a name or an alias, any case, '-' for '_')."""
    import difflib

    if not isinstance(name, str):
        raise TypeError(f"multiact.{who}: argument 'name' must be a str, "
                        f"got {type(name).__name__}")
    for key in (name, name.lower().replace("-", "_")):
        if key in BY_NAME:
            return key
        if key in ALIASES:
            return ALIASES[key]
    if name in PRESETS:  # the row of a name with parameters (multiact info, check)
        return PRESETS[name][0]
    # PyTorch's class names ("LeakyReLU", "LogSoftmax"): any case, without the '_'
    # (decision 144; "GELU" and "ReLU6" were found, "LeakyReLU" was not)
    folded = _folded().get(name.lower().replace("-", "").replace("_", ""))
    if folded is not None:
        return folded
    close = difflib.get_close_matches(name.lower(), sorted({*BY_NAME, *ALIASES, *PRESETS}), n=3,
                                      cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"multiact.{who}: unknown activation {name!r}{hint} "
                     f"(multiact.names() lists them all)")


_FOLDED: dict = {}


def _folded() -> dict:
    """Every name and alias without '_', to its row (one row each: no two collide)."""
    if not _FOLDED:
        for n in (*BY_NAME, *ALIASES):
            _FOLDED[n.replace("_", "")] = n if n in BY_NAME else ALIASES[n]
    return _FOLDED


def info_for(name) -> FuncInfo:
    """The row of ``name`` (a name or an alias)."""
    return BY_NAME[canonical_name(name, "info")]


