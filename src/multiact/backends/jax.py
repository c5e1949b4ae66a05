"""JAX: the generic bodies, compiled with ``jax.jit``.

Reason (``adapt``, every function): speed.  Eager JAX runs a composite op by
op (``jax.nn.gelu`` eager is 5-30x slower than under ``jit``); each multiact
function is one cached executable instead.  Inside a user's
``jit``/``vmap``/``grad`` the inner ``jit`` is inlined, so transforms see the
generic body unchanged.  The row's static parameters (``axis``,
``approximate``, ...) are static; so are Python-number values of the others.

No native ``ndtr``: ``jax.scipy.special.ndtr`` loses 140 ulp (float32) and
1500 ulp (float64) in the left tail, measured against mpmath; the generic one
stays within 4 ulp, and its derivative is taken as ``phi`` (a ``jax.custom_jvp``,
``_ndtr_of``), not through the fit.

Special cases (below): ``tanh`` in float64 (accuracy); ``sigmoid``, ``silu`` and
``gelu`` (tanh form) (speed: the same formulas in fewer XLA instructions, each a
``jax.custom_jvp`` whose derivative is the generic body's, see ``_forward_of``);
the exact ``gelu`` and ``geglu`` of float16, bfloat16 and float32 (speed: the
float32 rational for ``ndtr`` of half inputs, ``_NS_HALF``; a float32 fit for
float32 ones where the computation is lowered for a CPU, ``_NS_F32``).
"""

from __future__ import annotations

import math
from functools import partial

import jax.numpy as _xp
import jax

from .._agnostic import _formulas as fm
from .._agnostic import _special
from .._agnostic import elementwise as _E
from .._agnostic import reductions as _Rd
from .._table import BY_NAME
from ..kernels import FIRST_VALUES, MOST_VALUES
from . import Backend, Namespace, special

def _split(v):
    """float32 or float64 ``v`` as ``hi + lo``, at most half the significand's bits
    each (12 of 24, or 26 of 53): ``hi`` is ``v`` rounded to them (XLA's
    reduce-precision, no multiply that a compiler could contract with the
    subtraction, as Veltkamp's ``c - (c - v)`` has), ``lo`` the exact rest."""
    f32 = v.dtype == _xp.float32
    hi = jax.lax.reduce_precision(v, exponent_bits=8 if f32 else 11,
                                  mantissa_bits=11 if f32 else 25)
    return hi, v - hi


def _refined(a, b, q):
    """``a / b`` from ``q``, a float32 quotient within a few ulp: one correction
    ``q + r / b`` with the remainder ``r = a - q b`` exact (Dekker's product ``q b =
    p + e`` of 12-bit halves; ``a - p`` exact by Sterbenz), for ``|a|`` above 2^-100
    (below, the product's low parts are subnormal: within an ulp).  The result is
    the correctly rounded quotient except within about 2^-20 ulp of a midpoint
    (``r / b`` is itself a division within 2 ulp).  It assumes XLA does not contract
    ``a - q b`` into an FMA (XLA's NVPTX backend does not: openxla/xla, 2026; one
    that did would correct by ``e`` twice, up to an ulp).  Where ``r / b`` is not
    finite (``b`` infinite or zero, ``q`` NaN) or ``q`` is zero, ``q`` itself."""
    qh, ql = _split(q)
    bh, bl = _split(b)
    p = q * b
    e = ((qh * bh - p) + qh * bl + ql * bh) + ql * bl
    c = ((a - p) - e) / b
    return _xp.where(_xp.isfinite(c) & (q != 0), q + c, q)


@jax.custom_jvp
def _divide_rn32(a, b):
    return _refined(a, b, a / b)


def _quotient_rule(divide):
    """The tangent rule of a ``jax.custom_jvp`` division: the quotient rule from its own
    quotient (not autodiff of how it corrects or chooses that quotient)."""
    def jvp(primals, tangents):
        (a, b), (da, db) = primals, tangents
        q = divide(a, b)
        return q, (da - q * db) / b

    return jvp


_divide_rn32.defjvp(_quotient_rule(_divide_rn32))


def _divide_rn(ns, a, b):
    """_formulas.divide_rn for JAX.  Reason: accuracy.  XLA divides float32 on NVIDIA
    GPUs by div.full.f32 (within 2 ulp; openxla/xla#37181): soft_sign was 2.0 ulp
    off against its 1.5 bound on an H200.  One correction step (_refined), 14 more
    float32 operations in the fused loop, wherever the computation is not lowered for
    a CPU (XLA's CPU division is IEEE, and there the correction cost soft_sign 2.8x at
    1e6 float32): chosen when lowering, by ``jax.lax.platform_dependent`` (decision
    186)."""
    a, b = _xp.asarray(a), _xp.asarray(b)
    if _xp.result_type(a, b) != _xp.float32:
        return a / b
    # (no cast of a float32 operand: astype made a weakly typed one strong, and
    # soft_sign of jnp.asarray(1.5) lost JAX's weak type with x64 off, where
    # jax.nn.soft_sign keeps it; decision 224)
    a, b = (t if t.dtype == _xp.float32 else t.astype(_xp.float32) for t in (a, b))
    a, b = _xp.broadcast_arrays(a, b)
    return _divide_by_platform(a, b)


def _divide_plain(a, b):
    return a / b


@jax.custom_jvp
def _divide_by_platform(a, b):
    # chosen when lowered, for the platform lowered for (jax.export's platforms too:
    # decided by jax.default_backend() when traced, an artifact exported on a CPU for
    # CUDA lost the correction; decision 186); inside a custom_jvp, so that autodiff
    # never traces the switch's branches (see _ndtr32_value)
    return jax.lax.platform_dependent(a, b, cpu=_divide_plain, default=_divide_rn32)


_divide_by_platform.defjvp(_quotient_rule(_divide_by_platform))


def _cdf_of_slope_phi(value, pdf=_special.normal_pdf):
    """``value`` (a normal CDF of ``x``) as a ``jax.custom_jvp`` whose tangent is
    ``phi(x)``, with ``x^2 / 2`` unrounded (``pdf``: ``_special.normal_pdf``, or the
    float32 CDF's own ``exp(-x^2 / 2)`` over ``sqrt(2 pi)``), differentiable again
    (its derivative is ``-x phi(x)``): every order right, where autodiff of a fit
    differentiated its Horner sums (the generic fit's every piece on every element,
    forward and back: decision 122; the rational's sums, whose error the
    cancellation of ``Phi + x phi`` next to exact GELU's minimum amplifies: float16's
    gradient 0.698 ulp off there, decision 117)."""
    f = jax.custom_jvp(value)

    @f.defjvp
    def jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        a = _xp.abs(x)
        return f(x), t * pdf(NS, _xp.where(a > 40.0, 40.0, a))

    return f


# the generic normal CDF (_special.ndtr: no accurate native one in JAX)
_ndtr = _cdf_of_slope_phi(lambda x: _special.ndtr(NS, x))


def _ndtr_of(ns, x):
    """``ndtr`` for JAX: the generic fit's value, ``phi`` as its derivative
    (``jax.custom_jvp``).  Reason: speed.  ``jax.grad`` of exact GELU at 1e6
    float32 took 34.3 ms through the fit, 8.3 so (``jax.nn.gelu``'s gradient 1.2 ms:
    decision 122)."""
    return _ndtr(x)


def _dekker_split(ns, v):
    """_formulas.dekker_split for JAX: :func:`_split`.  Reason: accuracy, a
    precaution.  XLA contracts a multiply and an add into a fused multiply-add on the
    CPU (``jit(lambda a, b, c: a * b + c)`` rounds once); Veltkamp's split is not
    contracted today (its product has two uses), but would fail if it were, and
    ``reduce_precision`` has no multiply to contract."""
    return _split(v)


@jax.custom_jvp
def _quotient_of(a, b):
    return a / b


@_quotient_of.defjvp
def _quotient_jvp(primals, tangents):
    (a, b), (da, db) = primals, tangents
    q = a / b
    return q, (da - q * db) / b


def _quotient(ns, a, b):
    """_formulas.quotient for JAX: ``a / b`` whose derivative is the quotient rule
    ``(da - q db) / b``.  Reason: accuracy.  JAX differentiates a division as ``-g
    a b^-2``, formed as ``(g b^-2) a``: where ``g b^-2`` is subnormal XLA flushes it
    to 0, whatever ``a``; squareplus(-100, b=1e38) had the gradient 0 for 0.5, its
    quotient (b / d, d = 5e18, g = 1/4) (decision 147).  ``q db`` and ``g / b`` are
    within range wherever the gradient is."""
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return a / b
    return _quotient_of(a, b)


def _on_the_cpu(cpu, native, tangent):
    """A ``jax.custom_jvp`` function of ``x`` that is ``cpu(x)`` where lowered for a
    CPU and XLA's ``native(x)`` elsewhere (a GPU's is libdevice's), chosen when lowered
    by ``jax.lax.platform_dependent``, as :func:`_divide_by_platform`; its tangent
    ``tangent(x, y, t)``, so that autodiff never traces the switch's branches."""

    @jax.custom_jvp
    def f(x):
        return jax.lax.platform_dependent(x, cpu=cpu, default=native)

    @f.defjvp
    def jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        y = f(x)
        return y, tangent(x, y, t)

    return f


def _log1p_cpu(x):
    """float64 ``log1p``: XLA's on [-0.3, 0.4), where it is within 0.74 ulp;
    elsewhere ``log(u) + (x - (u - 1)) / u``, ``u = 1 + x`` rounded (the quotient
    adds back what the rounding of ``u`` lost; XLA's float64 ``log`` is within 0.52
    ulp), within 1.0 ulp; its NaN correction at ``u`` 0 or infinite is 0.  ``u - 1``
    is taken behind an optimization barrier: XLA's simplifier reads ``(x + 1) - 1``
    as ``x``, which left ``log(u)`` alone (1.9 ulp under ``jit``)."""
    u = x + 1.0
    c = (x - (jax.lax.optimization_barrier(u) - 1.0)) / u
    r = _xp.log(u) + _xp.where(_xp.isfinite(c), c, 0.0)
    return _xp.where((x >= -0.3) & (x < 0.4), _xp.log1p(x), r)


_log1p64 = _on_the_cpu(_log1p_cpu, _xp.log1p, lambda x, y, t: t / (1.0 + x))


def _log1p(ns, x):
    """``log1p`` for JAX; of float64, :func:`_log1p_cpu` on the CPU.  Reason:
    accuracy.  XLA's float64 ``log1p`` on the CPU is up to 128 ulp off on [-0.5,
    -0.3) and 1.9 on [0.4, 0.7) (jax 0.10.2, against mpmath; decision 189): float64
    softplus was 2.53 ulp off (the bound 2.5), softplus with beta 1.5 3.58 (the
    bound 3.0)."""
    x = _xp.asarray(x)
    return _log1p64(x) if x.dtype == _xp.float64 else _xp.log1p(x)


def _expm1_cpu(x):
    # _special.expm1_series: within 1.0 ulp (float64) and 1.1 (float32) on (-ln 2,
    # ln 2); alone at 1e6, 0.56 ms against XLA's 0.94 in float32, 2.20 against 1.96
    # in float64; elu at 1e6 float32 0.62 ms against 0.93 with XLA's (decision 189)
    return _special.expm1_series(NS, x)


_expm1_of = _on_the_cpu(_expm1_cpu, _xp.expm1, lambda x, y, t: t * (y + 1.0))


def _expm1(ns, x):
    """``expm1`` for JAX; of float32 and float64, :func:`_expm1_cpu` on the CPU.
    Reason: accuracy.  XLA's ``expm1`` on the CPU is up to 4.37 ulp off in float64
    and 5.53 in float32 on (-ln 2, ln 2) (jax 0.10.2, against mpmath; beyond, it is
    ``exp(x) - 1``, bit for bit): elu and celu with some alphas went past their
    bounds (5.03 ulp against 5 in float64, 6.80 against 6 in float32; decision
    189)."""
    x = _xp.asarray(x)
    return _expm1_of(x) if x.dtype in (_xp.float32, _xp.float64) else _xp.expm1(x)


def _carried(ns, v, d):
    """_formulas.carried for JAX: ``_formulas._carried``, scaled by 2^64.  Reason:
    accuracy.  Run op by op (``jax.disable_jit``), XLA flushes a subnormal ``v d`` to
    0: exact GELU's Gaussian lost its correction near the bottom of the normal range,
    62.8 ulp in float32 at x = -12.44 (the bound 5.5), 1.6e11 ulp (1.5e-5 relative)
    in float64 at -37.41, its float64 gradient too (decision 189)."""
    return fm._carried(v, d)


def _stop_gradient(ns, v):
    """_formulas.stop_gradient for JAX.  Reason: an autodiff rule (JAX's constant)."""
    return jax.lax.stop_gradient(v)


def _to_float(ns, x, dtype):
    """_dtypes.to_float for JAX.  Reason: JAX's weak type.  A weakly typed integer
    (a Python int under ``jit``, ``jnp.asarray(2)``) became a strong float, where
    ``jnp.exp`` and ``jax.nn.softplus`` give a weak one (decision 228): the product
    of ``jax.jit(softplus)(2)`` and a bfloat16 array was float32.  ``x + 0.0`` is the
    conversion with JAX's promotion, which keeps the weak type (exact: an integer
    plus zero); a strongly typed ``x`` stays strong, as in ``jnp.exp``."""
    if getattr(x, "weak_type", False):
        y = x + 0.0
        if y.dtype == dtype:
            return y
    return x.astype(dtype)


PRIMITIVES = {"divide_rn": _divide_rn, "to_float": _to_float, "ndtr": _ndtr_of,
              "dekker_split": _dekker_split, "quotient": _quotient, "log1p": _log1p,
              "expm1": _expm1, "carried": _carried, "stop_gradient": _stop_gradient}
NS = Namespace(_xp, "jax", PRIMITIVES)


def _tanh_by_exp_beyond(ns, x):
    """tanh by ``fm.tanh_by_exp`` beyond |x| = TANH_BY_EXP, XLA's below."""
    return _xp.where(_xp.abs(x) >= fm.TANH_BY_EXP, fm.tanh_by_exp(ns, x), _xp.tanh(x))


def _tanh_body(ns, x):
    """tanh, float64 by multiact's own formula beyond |x| = TANH_BY_EXP."""
    if x.dtype != _xp.float64:
        return _E.tanh(ns, x)
    return _tanh_by_exp_beyond(ns, x)


#: the namespace of mish's and tanh_shrink's bodies: tanh by _tanh_by_exp_beyond (see
#: JaxBackend.mish)
_NS_TANH = NS.replacing({"tanh": _tanh_by_exp_beyond})


def _mish_body(ns, x):
    return _E.mish(_NS_TANH, x)


def _tanh_shrink_body(ns, x):
    return _E.tanh_shrink(_NS_TANH, x)


_WORK = (_xp.float32, _xp.float64)


def _forward_of(generic, nondiff=()):
    """Decorator: a ``jax.custom_jvp`` whose value is the decorated function (a
    cheaper XLA formulation of a generic body's formula, within the row's bounds)
    and whose tangent is the generic body's own (``jax.jvp`` of ``generic(NS, x,
    *static)``), so every derivative, at every order, is the one the contract and
    the tests know: relative accuracy in the tails, the kink and NaN rules, no
    ``inf * 0``.  ``nondiff`` are the positions of the static parameters.  Under
    differentiation both run (the value from the formulation, the tangent from the
    generic body's intermediates)."""
    def deco(fast):
        f = jax.custom_jvp(fast, nondiff_argnums=nondiff)

        def jvp(*args):
            *static, (x,), (t,) = args
            tangent = jax.checkpoint(  # (reverse mode saves x alone: _saving_x)
                lambda v, s: jax.jvp(lambda u: generic(NS, u, *static), (v,), (s,))[1])
            return fast(x, *static), tangent(x, t)

        f.defjvp(jvp)
        return f
    return deco


def _saving_x(body):
    """``body(NS, x, *params)`` (a generic body) under ``jax.checkpoint``, its array
    arguments its inputs and its Python values closed over.  Reason: memory.
    Reverse mode saved every intermediate of the body for the backward (a body
    keeps its accuracy in a dozen operations, and a half input's run in float32):
    1e6 float32 elements kept 21 MB for sigmoid, 39 for silu, 55 for GELU, 63 for
    squareplus, against 4, 12, 20 and 8 for jax.nn's, in bfloat16 the same float32
    bytes (a probe's count of jax.vjp's residuals).  Under the checkpoint the
    backward keeps the inputs and computes the intermediates again, in the fusion
    that reads them: the values are the same operations'.  Element-wise rows only:
    a reduction's backward computing its body again took 1.3-1.4x as long
    (softmax, logsumexp of 1000 x 1000 float32 under jit(grad) on a CPU; with its
    reductions kept by a policy, 2x), and keeps what it kept (decision 187)."""
    def run(x, *params):
        if not isinstance(x, jax.core.Tracer):  # (op by op: nothing to save, and a
            # checkpoint would trace the body at every call: 0.7 ms where it took 0.1)
            return body(NS, x, *params)
        at = [i for i, v in enumerate(params) if isinstance(v, jax.Array)]

        def inner(u, *arrays):
            p = list(params)
            for i, a in zip(at, arrays):
                p[i] = a
            return body(NS, u, *p)

        return jax.checkpoint(inner)(x, *[params[i] for i in at])

    return run


def _floored(x):
    """``fm.gated``'s floor: ``x`` raised to ``SILU_FLOOR`` (``-inf * 0`` is not NaN)."""
    return _xp.where(x < fm.SILU_FLOOR, fm.SILU_FLOOR, x)


# -- element-wise: the gate as one division ---------------------------------------------
#
# XLA compiles an element-wise body to one vectorised loop, and at 1e6 float32 its
# cost follows its instruction count (the generic tanh-GELU's clip, two NaN-
# propagating min/max, costs about 8%).  The generic sigmoid, where(x < 0, e, 1) /
# (1 + e) with e = exp(-|x|), keeps the derivative's relative accuracy in both
# tails; its value is no more accurate than 1 / (1 + exp(-x)) (both: exp, one
# addition, one division; exp(-x) overflows to inf only where sigmoid(x) is below
# the smallest normal, which XLA flushes to 0).  So the value is XLA's shortest
# form and the derivative the generic body's.  x sigmoid(z) is x / (1 + exp(-z)):
# one division and no multiplication.  float32/float64 only; other dtypes (the
# generic body computes halves in float32, rejects integers/complex as it does)
# take the generic body.

@_forward_of(_E.sigmoid)
def _sigmoid(x):
    return jax.lax.logistic(x)  # XLA: 1 / (1 + exp(-x))


@_forward_of(_E.silu)
def _silu(x):
    return _floored(x) / (1.0 + _xp.exp(-x))


@_forward_of(_E.gelu, nondiff=(1,))
def _gelu(x, approximate):
    # x sigmoid(2u), 2u = x (A + B x^2) formed in fm.gelu_two_u's order (in the
    # left tail the result moves by |2u| ulp per ulp of 2u) and negated exactly;
    # no clip: 2u overflows to +-inf only where the gate is exactly 1 or 0 (the
    # clip is there for the derivative, which is the generic body's).
    return _floored(x) / (1.0 + _xp.exp(x * (-fm.GELU_A - fm.GELU_B * (x * x))))


def _sigmoid_body(ns, x):
    return _sigmoid(x) if x.dtype in _WORK else _E.sigmoid(ns, x)


def _silu_body(ns, x):
    return _silu(x) if x.dtype in _WORK else _E.silu(ns, x)


def _softplus_body(ns, x, beta=1.0):
    if x.dtype in _WORK and isinstance(beta, (int, float)) and beta != 1:
        return _softplus_beta(x, beta)
    return _E.softplus(ns, x, beta)


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _softplus_beta(x, beta):
    return fm.softplus_beta(NS, x, beta)[0]


@_softplus_beta.defjvp
def _softplus_beta_jvp(beta, primals, tangents):
    # sigmoid(beta x) from the body's e = exp(-beta |x|), carried to an ulp
    (x,), (t,) = primals, tangents
    y, e = fm.softplus_beta(NS, x, beta)
    return y, t * fm.sigmoid_of_exp(NS, x <= 0, e)


_HALF = (_xp.float16, _xp.bfloat16)


# the normal CDF of a half input's float32 value (_special.ndtr_rational)
_ndtr_rational = _cdf_of_slope_phi(lambda x: _special.ndtr_rational(NS, x))


#: the namespace of the exact form's half inputs (gelu, geglu): the float32
#: rational for ndtr.  Reason: speed.  The generic ndtr (a piecewise fit for
#: float64's accuracy, some 85 Horner steps and two exps) is far more than a half
#: value needs; the rational's few float32 ulp are 1/100 of a half ulp (decisions
#: 82, 117).
_NS_HALF = NS.replacing({"ndtr": lambda ns, x: _ndtr_rational(x)})


# the normal CDF of a float32 input (_special.ndtr32), its tangent from the same
# exp(-x^2 / 2) (_special.gauss32: one exp, where normal_pdf takes exp and expm1)
def _ndtr32_value(x):
    # chosen when lowering, for the platform lowered for (decision 186): the float32
    # fit on a CPU, the generic ndtr elsewhere (jax.default_backend() at the trace
    # had an export for CUDA made on a CPU take the CPU's fit).  Inside the
    # custom_jvp, so that autodiff takes the tangent below and never the switch
    # (differentiating through it traced both branches' derivatives: jit(grad) of
    # exact GELU's first call 141-153 ms before the switch, 349-403 ms with it)
    return jax.lax.platform_dependent(x, cpu=partial(_special.ndtr32, NS),
                                      default=partial(_special.ndtr, NS))


def _ndtr32_pdf(ns, a):
    return jax.lax.platform_dependent(
        a, cpu=lambda t: _special.gauss32(NS, t) * fm.INV_SQRT_2PI,
        default=partial(_special.normal_pdf, NS))


_ndtr32 = _cdf_of_slope_phi(_ndtr32_value, _ndtr32_pdf)

#: the namespace of the exact form's float32 inputs (gelu, geglu): where the
#: computation is lowered for a CPU, ndtr in float32 (_special.ndtr32).  Reason:
#: speed.  The generic ndtr, a fit for float64's accuracy evaluated in float32, made
#: exact GELU 4.9x ``jax.jit(jax.nn.gelu)`` at 1e5 float32, 5.3x at 1e6, 2.9x at 1e7;
#: float32 has no wider format here to lean on, as float64 may be off.  Elsewhere the
#: generic ndtr stays until a GPU has measured the fit's accuracy with its own exp
#: (decision 123; chosen when lowering since decision 186: _ndtr32_value).
_NS_F32 = NS.replacing({"ndtr": lambda ns, x: _ndtr32(x)})


def _exact_ns(ns, x):
    """The namespace of the exact form's normal CDF for ``x``'s dtype (integers and
    bools work in the default float dtype)."""
    if x.dtype in _HALF:
        return _NS_HALF
    work = x.dtype if _xp.issubdtype(x.dtype, _xp.floating) else \
        jax.dtypes.canonicalize_dtype(_xp.float64)
    return _NS_F32 if work == _xp.float32 else ns


def _gelu_body(ns, x, approximate=True):
    if approximate and x.dtype in _WORK:
        return _gelu(x, True)
    return _E.gelu(ns if approximate else _exact_ns(ns, x), x, approximate)


def _geglu_body(ns, x, axis=-1, approximate=True):
    return _Rd.geglu(ns if approximate else _exact_ns(ns, x), x, axis, approximate)


_GATE_REASON = ("speed: the value as XLA's shortest form, x / (1 + exp(-z)) (measured "
                "against jax.jit(jax.nn.*) at 1e6 float32: docs/decisions.md 61), the "
                "derivative the generic body's (jax.custom_jvp)")


# A function's Python-number parameter values compiled at their first call
# (kernels.FIRST_VALUES); a value after these runs its body op by op (no compile)
# until it comes back, on arrays of fewer than OP_BY_OP elements, and none beyond
# kernels.MOST_VALUES values of a function (decision 156).
#: op by op costs about what a compile does at 2^20 float32 elements on a CPU, and more
#: above (27-37 ms against a 50 ms compile and a 3.5 ms run; 175-350 ms at 2^22)
OP_BY_OP = 1 << 16


def _jit(info, bound):
    """jax.jit ``bound`` (signature ``(x, *params)``) with the row's static
    parameters static; Python-number values of the other parameters are made
    static too (one compile per value), because a Python float passed to a
    jitted function becomes a device array on every call (~2 us).

    Only the first ``FIRST_VALUES`` values of a function compile at their first
    call; a later one, on fewer than ``OP_BY_OP`` elements, runs ``bound`` op by op
    (XLA's op-by-op dispatch: 0.1-1.3 ms on 1000 elements once its primitives are
    compiled for that shape and dtype, where a compile takes 30-50 ms) and compiles
    when it comes back, up to ``MOST_VALUES`` values (a larger array compiles as it
    did: op by op costs more than a compile there).  Reason: a
    parameter annealed in eager code (a new slope every step) compiled at every
    call, and the executables grew without bound."""
    names = [p.name for p in info.params]
    static = tuple(i + 1 for i, n in enumerate(names) if n in info.static)
    optional = tuple(i + 1 for i, n in enumerate(names) if n not in info.static)
    plain = jax.jit(bound, static_argnums=static)
    if not optional:
        return plain
    cache = {(): plain}
    ready, once = {}, set()  # values (with their positions): their executable; seen once

    def call(*args):
        key = tuple(i for i in optional if i < len(args) and type(args[i]) in (float, int))
        if not key:
            return plain(*args)
        if any(args[i] == 0 and math.copysign(1.0, args[i]) < 0 for i in key):
            args = tuple(_NEG0 if i in key and a == 0 and math.copysign(1.0, a) < 0 else a
                         for i, a in enumerate(args))
        values = (key,) + tuple((type(args[i]), args[i]) for i in key)
        f = ready.get(values)
        if f is None:
            if len(ready) >= FIRST_VALUES and _size(args[0]) < OP_BY_OP and (
                    values not in once or len(ready) >= MOST_VALUES):
                if len(once) >= 4 * MOST_VALUES:
                    once.clear()
                once.add(values)
                return bound(*_signed(args))
            once.discard(values)
            f = cache.get(key)
            if f is None:
                f = cache[key] = jax.jit(_own(bound), static_argnums=static + key)
            ready[values] = f
        return f(*args)

    call.__name__ = info.name
    call.__wrapped__ = bound
    call._variants = cache
    return call


class _NegativeZero:
    """-0.0 as a static argument of its own.  Reason: jit's cache of static values
    takes -0.0 for 0.0 (equal, and hashing alike), which gave the other's sign of zero
    (threshold's value, leaky_relu's slope); passed as data instead, it reached the
    bodies' Python tests of their parameters as a tracer, and relu(x,
    negative_slope=-0.0) failed (decision 167).  The jitted function gets -0.0."""

    __slots__ = ()

    def __hash__(self):
        return hash("multiact: -0.0")

    def __eq__(self, other):
        return type(other) is _NegativeZero

    def __repr__(self):
        return "-0.0"


_NEG0 = _NegativeZero()


def _signed(args):
    """``args`` with -0.0 where :data:`_NEG0` stands for it."""
    return tuple(-0.0 if a is _NEG0 else a for a in args)


def _own(bound):
    """``bound`` as a function object of its own, for one set of static positions.
    Reason: jit's trace cache keys on the function and the static values, not their
    positions, and None has no leaves: standardize(x, mean=4.0) and then
    standardize(x, variance=4.0) on one ``bound`` took the first one's executable,
    and gave its values (decision 161).  -0.0 comes as :data:`_NEG0` (decision 167)."""
    def own(*args):
        return bound(*_signed(args))
    return own


def _size(x):
    size = getattr(x, "size", None)
    return size if isinstance(size, int) else 0


def _ids(devices):
    """Device ids, as JAX's own messages give them: ``[0, 1]``."""
    return sorted(d.id for d in devices)


class JaxBackend(Backend):
    """JAX: every function (the generic body, or a special case's body) is one
    ``jax.jit`` executable (``generic``; the module docstring)."""

    def __init__(self, ns):
        super().__init__(ns)
        self._jitted = {}

    def generic(self, row, body, x, *params):
        f = self._jitted.get(body)
        if f is None:
            f = self._jitted[body] = _jit(row, _saving_x(body) if row.elementwise else
                                          lambda t, *p: body(NS, t, *p))
        return f(x, *params)

    def check_array(self, fname, pname, v, x, first="x"):
        # Reason: the contract's error.  Arrays committed to different devices: jit
        # refused them in words that named a lambda's arguments ('t' and 'p[1]' of
        # 'JaxBackend.generic.<locals>.<lambda>'), neither the function nor its
        # arguments (decision 226).  Under a trace JAX places the values itself.
        if isinstance(v, jax.core.Tracer) or isinstance(x, jax.core.Tracer) or \
                not (isinstance(v, jax.Array) and isinstance(x, jax.Array)):
            return
        if v.committed and x.committed:
            dv, dx = v.sharding.device_set, x.sharding.device_set
            if dv != dx:
                raise ValueError(
                    f"multiact.{fname}: argument {pname!r} is on devices {_ids(dv)} but "
                    f"{first!r} is on {_ids(dx)} (both committed: jax.device_put); expected "
                    f"one set of devices")

    def on_error(self, exc, x, fname, argname="x"):
        # Reason: the contract's error.  A jax.ShapeDtypeStruct is JAX's but holds no
        # values: jit refused it in words that named neither the function nor x, and a
        # lambda's argument ('t'; decision 166)
        if isinstance(x, jax.ShapeDtypeStruct):
            raise TypeError(
                f"multiact.{fname}: argument {argname!r} is a jax.ShapeDtypeStruct, which "
                f"holds no values; expected an array (jax.eval_shape(multiact.{fname}, s) "
                f"gives the result's shape and dtype)") from None

    @special("accuracy: XLA's float64 tanh is 6.5 ulp off near |x| = 19 and 4.1 in [2, 5] "
             "(measured against mpmath); for |x| >= 0.55 the formula 1 - 2e / (1 + e) "
             "(_formulas.tanh_by_exp, 1.4 ulp, derivative 4e / (1 + e)^2), XLA's own below "
             "(3.5 ulp): within 4 ulp")
    def tanh(self, x):
        return self.generic(_TANH, _tanh_body, x)

    @special("accuracy: XLA's float32 tanh is exactly +-1 beyond |x| = 7.9, so autodiff's "
             "derivative of the body's tanh there, 1 - tanh^2, was 0: mish'(8) 1.0 where it "
             "is 1.0000033 (28 ulp; jax.nn.mish's too).  The body with tanh by "
             "fm.tanh_by_exp beyond TANH_BY_EXP (derivative 4e / (1 + e)^2; decision 141)")
    def mish(self, x):
        return self.generic(_MISH, _mish_body, x)

    @special("accuracy: tanh_shrink'(x) = tanh(x)^2, which autodiff took as 1 - (1 - "
             "tanh^2) from XLA's saturated float32 tanh: 1.0 at x = -8.36, 2 ulp off; the "
             "body with tanh by fm.tanh_by_exp beyond TANH_BY_EXP (decision 141)")
    def tanh_shrink(self, x):
        return self.generic(_TANH_SHRINK, _tanh_shrink_body, x)

    @special("no copy: float input is returned as it is (the contract), where the jitted "
             "body's output is a new buffer (a 4096 x 4096 float32 array: 44 ms and 64 MiB; "
             "jax.nn.identity copies too); other dtypes take the body (integers kept, bool "
             "promoted; decision 179)")
    def identity(self, x):
        if isinstance(x, jax.Array) and _xp.issubdtype(x.dtype, _xp.floating):
            return x
        return super().identity(x)

    @special(_GATE_REASON)
    def sigmoid(self, x):
        return self.generic(_SIGMOID, _sigmoid_body, x)

    @special(_GATE_REASON)
    def silu(self, x):
        return self.generic(_SILU, _silu_body, x)

    @special(_GATE_REASON + "; tanh form only (the exact form is the generic body, its "
             "ndtr for half inputs the float32 rational, for float32 ones on the CPU "
             "_special.ndtr32: speed, decisions 121 and 123)")
    def gelu(self, x, approximate=True):
        return self.generic(_GELU, _gelu_body, x, approximate)

    @special("accuracy: softplus with a Python beta other than 1, float32 and float64: "
             "its derivative sigmoid(beta x) from the body's e = exp(-beta |x|) "
             "(jax.custom_jvp).  Autodiff of the body's exact product sent cotangents "
             "near float32's smallest normal through its error terms, where XLA flushes "
             "subnormals: float32 gradients of 1e-35 to 5e-35 were 2624 ulp off at beta "
             "0.3 (decision 129)")
    def softplus(self, x, beta=1.0):
        return self.generic(_SOFTPLUS, _softplus_body, x, beta)

    @special("speed: the exact form's ndtr for half inputs the float32 rational, for "
             "float32 ones on the CPU _special.ndtr32 (decisions 121, 123); otherwise the "
             "generic body")
    def geglu(self, x, axis=-1, approximate=True):
        return self.generic(_GEGLU, _geglu_body, x, axis, approximate)


_TANH = BY_NAME["tanh"]
_MISH = BY_NAME["mish"]
_TANH_SHRINK = BY_NAME["tanh_shrink"]
_SIGMOID = BY_NAME["sigmoid"]
_SILU = BY_NAME["silu"]
_GELU = BY_NAME["gelu"]
_SOFTPLUS = BY_NAME["softplus"]
_GEGLU = BY_NAME["geglu"]
BACKEND = JaxBackend(NS)


def as_jax_array(x):
    """An object that JAX's own functions take through ``__jax_array__`` (flax NNX's
    ``Param``, every ``nnx.Variable``), as they take it: what its ``__jax_array__``
    gives, made an array where it is none (a Python number: weakly typed, as
    ``jax.nn.softplus(nnx.Variable(1.5))`` is; ``jnp.asarray`` of the variable itself
    was strong, and 3x slower).  Reason: ``array_api_compat`` resolves such an
    object to ``jax.numpy``, but it is no array: the bodies' comparisons raised
    Python's ``TypeError`` on it, and ``jax.jit`` refused it ("Triggering
    __jax_array__() during abstractification is no longer supported"), where
    ``jax.nn``'s functions take it (decision 225)."""
    v = x.__jax_array__()
    return v if isinstance(v, jax.Array) else _xp.asarray(v)


#: objects with ``__jax_array__`` that are no JAX arrays (``_dispatch``)
ARRAY_LIKE_BACKEND = BACKEND.coerced(as_jax_array)
