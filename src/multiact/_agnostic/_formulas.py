"""Constants and building blocks shared by the generic bodies and by every backend
that runs a formula its own way (NumPy's in-place chains, PyTorch's autograd
rules, the fused kernels).  Each formula and each constant is written here once.

The building blocks take the (extended) namespace ``xp`` first and work in the
working dtype (float32 or float64).  They are formulated so that the
derivative an autodiff backend takes of them is the one ``docs/contract.md``
promises: kinks by ``where`` on a closed/open comparison, no branch that
``where`` discards can overflow or produce NaN for finite input, and
exponentials of non-positive arguments only (no ``s * (1 - s)``, no
``expm1 + 1`` cancellation).
"""

from __future__ import annotations

import math

__all__ = [
    "SELU_SCALE", "SELU_ALPHA", "LN2", "GELU_C", "GELU_A", "GELU_B", "GELU_LIM",
    "INV_SQRT2", "INV_SQRT_2PI", "TWO_OVER_SQRT_PI", "QUICK_GELU_SCALE", "SILU_FLOOR",
    "HARD_SILU_FLOOR",
    "SOFT_SIGN_CAP", "TANH_BY_EXP", "squash", "sigmoid", "sigmoid_of_exp", "softplus",
    "softplus_beta",
    "expm1_neg", "gated", "gelu_two_u", "tanh_by_exp",
    "SHIFT_ERROR_NEAR", "shift_by_max", "shift_error", "split_sums", "unit_sums",
    "scaled_by_exp", "log_abs", "count", "drop_axes", "known",
]

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
#: float32's largest value (a parameter beyond it needs a wider work dtype)
F32_MAX = 3.4028234663852886e38
#: half float32's smallest subnormal: a nonzero Python number of at most this
#: magnitude is 0 in float32
F32_ZERO = 2.0 ** -150
#: the smallest normal numbers of float32 and float64
NORMAL_FLOOR = (2.0 ** -126, 2.0 ** -1022)
LN2 = math.log(2.0)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# tanh-GELU: x/2 (1 + tanh(u)) == x * sigmoid(2u), 2u = x * (GELU_A + GELU_B * x^2)
GELU_C = 0.044715
GELU_A = 2.0 * math.sqrt(2.0 / math.pi)
GELU_B = GELU_A * GELU_C
# |x| beyond which tanh-GELU's gate is exactly 0 or 1 in float32/float64, and
# below which x**3 cannot overflow float32.
GELU_LIM = 1.0e4
# quick_gelu: x * sigmoid(QUICK_GELU_SCALE * x) (CLIP's constant)
QUICK_GELU_SCALE = 1.702
# silu/gelu: below this, x * gate is -0 in every dtype (and -inf * 0 is not NaN)
SILU_FLOOR = -1.0e4
# silu/gelu/mish/quick_gelu: above this the gate is 1 in every dtype and x gate'(x)
# below any eps, so x * gate is x, derivative 1 (and a cotangent times x, which may
# overflow near the float max, never meets gate' = 0: inf * 0 is not NaN)
GATE_CEIL = 1.0e4
# hard_silu: below -3 it is exactly 0; clamping at -4 keeps -inf * 0 out
HARD_SILU_FLOOR = -4.0
# soft_sign: x / (|x| + 1) is +-1 beyond 1e30 in every dtype (and inf / inf is not NaN)
SOFT_SIGN_CAP = 1.0e30
# tanh_by_exp: from here on |tanh(x)| >= 1/2 (ln 3 / 2 = 0.5493...): nothing cancels
TANH_BY_EXP = 0.55

_INF = math.inf
_NAN = math.nan


# -- element-wise building blocks ------------------------------------------------

def squash(xp, x, lim):
    """``clip(x, -lim, lim)``: keeps NaN, derivative 1 on [-lim, lim] and 0 outside."""
    return xp.clip(x, -lim, lim)


def sigmoid(xp, x):
    """1 / (1 + exp(-x)): exp of a non-positive argument only; the numerator
    (1 or e) picks the branch, so both tails keep relative accuracy in the
    value and in the derivative."""
    neg = x < 0
    return sigmoid_of_exp(xp, neg, xp.exp(xp.where(neg, x, -x)))


def sigmoid_of_exp(xp, neg, e):
    """sigmoid(z) from ``e = exp(-|z|)`` and ``neg`` (z below 0; or at most 0, the
    same value): ``where(neg, e, 1) / (1 + e)``."""
    return xp.where(neg, e, 1.0) / (1.0 + e)


def softplus(xp, x):
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)), with |x| written so that
    the derivative is sigmoid(x) also at 0."""
    pos = x > 0
    e = xp.exp(xp.where(pos, -x, x))
    return xp.where(pos, x, 0.0) + xp.log1p(e)


def expm1_neg(xp, x):
    """expm1 for x <= 0 whose derivative keeps relative accuracy.

    Autodiff of ``expm1`` gives ``expm1(x) + 1``, which cancels for x << 0
    (elu'(-30) would be off by 1e-3 relative in float64).  Below -ln 2,
    ``exp(x) - 1`` is exact to an ulp and differentiates to ``exp(x)``.
    """
    return xp.where(x < -LN2, xp.exp(x) - 1.0, xp.expm1(x))


#: expm1_rest's coefficients, 1/k! for k = 2, 3, ...: terms to x^12 for float32, x^17
#: for float64 (for expm1 itself x^9 would do in float32, the first left out below 2^-25
#: of the result on |x| < ln 2, as x^18 below 2^-54 in float64; celu's second
#: derivatives in alpha differentiate the series twice: 22 eps with x^9, 4.1 with x^12)
EXPM1_TERMS = {True: tuple(1.0 / math.factorial(k) for k in range(2, 13)),
               False: tuple(1.0 / math.factorial(k) for k in range(2, 18))}


def expm1_rest(xp, t):
    """``p`` with ``expm1(t) = t + t^2 p`` on ``|t| < ln 2``: the Taylor series ``1/2 +
    t (1/6 + t (1/24 + ...)`` in Horner's form, float32 or float64 ``t``.  Autodiff of
    a form built on it differentiates the series term by term, with no cancellation
    (celu's derivative in alpha, decision 193)."""
    c = EXPM1_TERMS[t.dtype == xp.float32]
    p = c[-1]
    for k in reversed(c[:-1]):
        p = p * t + k
    return p


def gated(xp, x, gate):
    """``x * gate`` for a gate that is 0 at ``-inf`` (and below ``SILU_FLOOR``) and 1
    at ``+inf``: ``x`` is raised to the floor below it, so ``-inf * 0`` is 0, not
    NaN (and the derivative, ``x``'s times a gate that has underflowed, is the
    same); above ``GATE_CEIL`` (+inf included) the result is ``x`` itself,
    selected, so the derivative there is 1, not ``inf * 0`` (at +inf, or where a
    cotangent times ``x`` overflows near the float max), and the product sees a
    finite stand-in (autodiff sends the unselected product a zero cotangent, which
    an infinite factor would still turn into NaN).  The gate is 1 there and ``x
    gate'`` below any eps: every derivative, the second too, is the product's to the
    last bit.  ``where``, not
    ``maximum``/``clip``: their derivative at NaN is 0 (autodiff masks it), and a
    NaN input must give a NaN gradient (PyTorch's silu, gelu and mish do)."""
    top, xs = gated_input(xp, x)
    return xp.where(top, x, xs * gate)


def gated_input(xp, x):
    """``gated``'s selects: ``top`` (``x > GATE_CEIL``, where the result is ``x``)
    and ``xs``, the ``x`` its product sees (raised to ``SILU_FLOOR``, the top
    replaced by a finite stand-in); for a backend whose native function forms the
    product."""
    top = x > GATE_CEIL
    return top, xp.where(x < SILU_FLOOR, SILU_FLOOR, xp.where(top, 1.0, x))


def tanh_by_exp(xp, x):
    """tanh for ``|x| >= TANH_BY_EXP`` as ``sign(x) (1 - 2e / (1 + e))``, ``e =
    exp(-2|x|)``: ``2e / (1 + e) <= 1/2`` is subtracted from 1 without cancellation,
    so the result is within about an ulp whenever ``exp`` is; its derivative (by
    autodiff) is ``4e / (1 + e)^2``, relative-accurate where tanh is near +-1 (``1 -
    tanh^2`` is not).  ``-x``/``x`` by ``where``: NaN stays NaN, +-inf gives +-1."""
    neg = x < 0
    e = xp.exp(-2.0 * xp.where(neg, -x, x))
    t = 1.0 - 2.0 * e / (1.0 + e)
    return xp.where(neg, -t, t)


def gelu_two_u(xp, x):
    """2u = 2 sqrt(2/pi) (x + 0.044715 x^3) = x (A + B x^2), for |x| <= GELU_LIM."""
    return x * (GELU_A + GELU_B * (x * x))


# -- reduction building blocks ----------------------------------------------------

def known(n) -> bool:
    """Whether a dimension size is known: the standard says None for an unknown
    size, dask reports NaN.  (Under ``jit.trace`` a size is a traced value: known.)"""
    return n is not None and not (isinstance(n, float) and n != n)


def same_shape(s, t) -> bool:
    """Whether shapes ``s`` and ``t`` are the same, for a branch that only picks the
    cheaper of two right forms: sizes compare as Python ints, or as the same object
    (dask's unknown NaN); anything else (a size ``torch.jit.trace`` traces, which a
    comparison would make a Python bool, with a TracerWarning) counts as different,
    and the general form is taken."""
    return len(s) == len(t) and all(
        m is n or (type(m) is int and type(n) is int and m == n) for m, n in zip(s, t))


def halves(xp, x, axis, fname):
    """The first and second halves of ``x`` along ``axis`` (a gated function's
    ``a`` and ``b``); ``fname``'s errors for a size that is unknown or odd.  A
    namespace that splits in its own way offers ``split_halves`` (the kernels'
    tracer: two leaves)."""
    own = getattr(xp, "split_halves", None)
    if own is not None:
        return own(x, axis, fname)
    n = x.shape[axis]
    if not known(n):
        raise ValueError(f"multiact.{fname}: argument 'x' has an unknown size along axis "
                         f"{axis}, and the split needs it (dask: call "
                         f"x.compute_chunk_sizes() first)")
    if type(n) is int and n % 2:  # (a size traced by jit.trace was checked eagerly)
        raise ValueError(f"multiact.{fname}: argument 'x' must have an even size along axis "
                         f"{axis}, got {n}")
    if type(n).__name__ == "SymInt" and n % 2:
        # a size torch.export or torch.compile keeps symbolic: the test is torch's
        # guard on its parity (an exported program then refuses an odd size at its
        # call, as F.glu's does; an odd one's last entry was dropped, silently:
        # decision 233)
        raise ValueError(f"multiact.{fname}: argument 'x' must have an even size along axis "
                         f"{axis}, got {n}")
    if xp.framework == "jax" and type(n) is not int and n % 2 != 0:
        # a size jax.export keeps symbolic: its parity must be known (2*k is even; k
        # is not known to be, and an odd one's last entry was dropped at the call)
        raise ValueError(f"multiact.{fname}: argument 'x' must have an even size along axis "
                         f"{axis}, got the symbolic size {n}, not known to be even (export "
                         f"with a size such as 2*k)")
    h = n // 2
    first = [slice(None)] * x.ndim
    second = [slice(None)] * x.ndim
    first[axis] = slice(0, h)
    second[axis] = slice(h, 2 * h)
    return x[tuple(first)], x[tuple(second)]


def divide_rn(xp, a, b):
    """``a / b`` correctly rounded (a namespace primitive).  Every framework's
    division is, except XLA's float32 division on NVIDIA GPUs (``div.full.f32``,
    within 2 ulp: openxla/xla#37181), which JAX's primitive corrects (to the rounded
    quotient but within 2^-20 ulp of a midpoint); a body whose bound leaves no room
    for 2 ulp divides by this."""
    return a / b


def stop_gradient(xp, v):
    """``v`` as a constant of differentiation: no derivative flows through it (a
    namespace primitive).  logsumexp's shift by its slice's maximum ``m`` with
    weights ``b``: the result does not depend on ``m``, but autodiff of ``m + log(sum
    b e^(a - m))`` sent ``1 - total / (1 + u)``, a rounding of eps, to the maximum's
    entry, whose own derivative may be far smaller (decision 195).  PyTorch's is
    ``detach``, JAX's ``lax.stop_gradient``, the kernel tracer's its ``detach`` node
    (``TraceNamespace.stop_gradient``, which the half dtypes' slope of the normal CDF
    takes too); a namespace without autodiff has ``v``."""
    return v


def scalar_operand(xp, v, like):
    """``v``, a parameter that may be a Python number, where it is an operation's
    operand rather than a term of arithmetic (a select's branch, a clip's bound): a
    namespace primitive, ``v`` itself but on PyTorch under ``torch.compile``, where it
    is a 0-d tensor of ``like``'s dtype made by arithmetic (``_scalar_operand``,
    decision 229: a float Dynamo made dynamic, used both ways, was burned into a
    graph that torch's caches then served for every other value)."""
    return v


def carried(xp, v, d):
    """``v (1 + d)`` as ``v + v d``, one rounding (a namespace primitive): ``v`` an
    exponential, ``d`` a small correction of its argument.  JAX's is
    :func:`_carried`, scaled: XLA flushes a subnormal ``v d`` to 0 when it runs op by
    op, which dropped the correction of exact GELU's Gaussian near the bottom of the
    normal range (decision 189)."""
    return v + v * d


def dekker_split(xp, v):
    """float32 or float64 ``v`` as ``hi + lo`` exactly, ``hi`` with at most half of
    the significand's bits (float32: 12 of 24; float64: 26 of 53), so that a product
    of two heads, or of a head and a tail, is exact (Dekker); ``|v|`` below the
    dtype's largest value over ``2^s + 1``.  Veltkamp's split, ``p = v (2^s + 1)``,
    ``hi = p - (p - v)`` (``s`` 12 or 27): a namespace primitive, because a compiler
    that contracted ``v (2^s + 1) - v`` into a fused multiply-add would defeat it.
    XLA contracts a multiply and an add on the CPU; it leaves this one alone today
    (``p`` has two uses), which nothing promises, so JAX's split is XLA's
    ``reduce_precision``, with no multiply to contract."""
    return _veltkamp(v, 4097.0 if v.dtype == xp.float32 else 134217729.0)


#: softplus_beta's cap on |x| below the split's range (float32 x (2^12 + 1), float64
#: x (2^27 + 1) finite), by "x is float32"
_SPLIT_RANGE = {True: 1.0e34, False: 1.0e300}
#: the least Python beta for softplus, for float32 and float64 x: beta x at the split's
#: range (1e34, 1e300) at most -1000 (float32) or -1e4 (float64), where exp(beta x) /
#: beta is 0 (below, the cap on |x|, which the split needs, stopped short of that)
SOFTPLUS_BETA_FLOOR = (1.0e-31, 1.0e-296)
#: the least Python alpha for celu, for float32 and float64 x: the smallest normal
#: numbers.  A subnormal alpha is 0 where XLA flushes subnormals (JAX's celu(0, 1e-39)
#: in float32 was NaN) and its 1 / alpha overflows (torch's kernel raised; decision 132)
CELU_ALPHA_FLOOR = NORMAL_FLOOR
#: the largest, their reciprocals: above, 1 / alpha is subnormal, and XLA, which turns
#: x / alpha into x (1 / alpha) for a constant alpha, flushed it to 0 (JAX's float32
#: celu(-1e38, 3e38) was -1e38, not -8.5e37; decision 142)
CELU_ALPHA_CEILING = (2.0 ** 126, 2.0 ** 1022)
#: powers of 2 (a beta x of one of them is exact): a tuple, which torch.compile
#: traces ``in``
POW2 = tuple(2.0 ** k for k in range(-20, 21))


def _veltkamp(v, factor):
    """``v`` (an array, or a Python float) as ``hi + lo``: Veltkamp's split by
    ``factor = 2^s + 1``, ``hi`` the leading ``p - s`` of its format's ``p`` bits,
    ``lo`` the exact rest.  Plain arithmetic (a Python float's: ``torch.compile``
    traces and folds it, where ``math.frexp`` and ``struct`` break its graph)."""
    c = v * factor
    hi = c - (c - v)
    return hi, v - hi


def _bits(k):
    """``_veltkamp``'s factor for a Python float (float64's 53 bits) rounded to ``k``."""
    return float(2 ** (53 - k) + 1)


def two_parts(v, f32):
    """A Python float ``v`` as ``(hi, lo)``: ``hi`` rounded to float32's 24 bits
    (``f32``) or ``v`` itself (float64), ``lo = v - hi`` (a float32 pair holds 48 of
    ``v``'s bits: what a parameter rounded to x's dtype lost; ``lo`` rounds to
    float32 where it meets x)."""
    return _veltkamp(v, _bits(24)) if f32 else (v, 0.0)


def two_product(xp, b, x, p=None):
    """``(p, d)``: ``p = fl(b x)`` and its rounding error ``d = b x - p``, exactly
    (Dekker's product: the halves' products are exact; a namespace primitive), for a
    Python number ``b`` (already in x's dtype: ``two_parts``) or an array; ``|x|``
    and ``|b|`` below the dtype's largest value over ``2^s + 1`` (``dekker_split``).
    The error's derivative is 0 (its terms cancel ``p``'s), so ``p + d``
    differentiates to ``b``.  ``p``: the product, where a backend forms it its own
    way.  (XLA contracts on the CPU; the error terms are exact products, which a
    contraction leaves exact, and softplus measured the same with ``p`` behind an
    optimization barrier.)"""
    if p is None:
        p = b * x
    xh, xl = xp.dekker_split(x)
    if isinstance(b, (int, float)):
        # (a tail of 0 still takes its products: a beta that Dynamo makes a symbolic
        # float has a tail that its simplifier reads as 0, and the graph computes)
        bh, bl = _veltkamp(b, _bits(12 if x.dtype == xp.float32 else 26))
    else:
        bh, bl = xp.dekker_split(b)
    return p, (((bh * xh - p) + bh * xl) + bl * xh) + bl * xl


def softplus_beta(xp, x, beta):
    """``softplus(x) = log(1 + exp(beta x)) / beta`` for a beta other than 1 (a
    Python number or an array), ``x`` float32 or float64: ``(y, e)``, ``e = exp(-beta
    |x|)`` carried to an ulp (the derivative ``sigmoid(beta x)`` is ``where(x > 0, 1,
    e) / (1 + e)``: a backend's own backward takes it from ``e``).  A Python beta is
    at least ``SOFTPLUS_BETA_FLOOR`` of the dtype (the parameter's check)."""
    # max(x, 0) + log1p(exp(-beta |x|)) / beta.  -|x| as where(pos, -x, x)
    # (derivative sigmoid(x) at 0 too), capped by a where (a NaN input keeps its NaN
    # gradient, as with beta == 1 and PyTorch).  beta * x is rounded: its error (and
    # a number beta's own rounding to x's dtype) is carried to exp as a factor 1 + d
    # (the two_product primitive), where the rounded product sent |beta x| half-ulps
    # into exp's result (457 ulp in float64 at beta = 1.5, x = -417)
    f32 = x.dtype == xp.float32
    pos = x > 0
    xn = xp.where(pos, -x, x)
    bl, d, tail = 0.0, None, False
    if isinstance(beta, (int, float)):
        # the cap: where beta x passes -1e4 (exp is 0 from there on: the derivative
        # too), and below the split's range (|x| (2^s + 1) finite; the floor on beta
        # puts -1e4 first); the product can then neither overflow (NumPy warned of
        # beta = 1e31 at x = -1e10) nor stop short of exp's 0 (a beta of 1e-30 had
        # softplus(-inf) = 3e29, from a cap at -1e30)
        lim = min(SOFTPLUS_CAP / beta, _SPLIT_RANGE[f32])
        xn = xp.where(xn < -lim, -lim, xn)
        if beta in POW2:  # beta x exact
            b = beta
            p = b * xn
        else:
            b, bl = two_parts(float(beta), f32)
            if beta > SCALED_BETA:
                # beta x is below -1e4 wherever |x| passes 1e4 / beta, and below it the
                # split's tail of x would be subnormal, which XLA flushes: the error of
                # the same product from (b 2^-64) (x 2^64), whose halves are normal
                # (decision 195: uncorrected, 169 ulp in float64 at beta 1e31)
                p = b * xn
                d = xp.two_product(b * _TWO_M64, xn * _TWO64, p)[1]
            else:
                p, d = xp.two_product(b, xn)
            tail = f32  # beta's own rounding to float32 (float64's bl is 0)
            if tail and beta < 1.0e-29:  # (lo subnormal, which XLA reads as 0: scaled)
                d = d + (bl * _TWO64) * (xn * _TWO_M64)
            elif tail:
                d = d + bl * xn
    else:
        from ._dtypes import as_param

        # an array beta: the same cap, entry by entry (below 1e4 over the split's
        # range, the range: entries are data, a floor is not checked); a beta above
        # SCALED_BETA takes the scaled product (as a number's)
        b = as_param(xp, beta, x)
        rng = _SPLIT_RANGE[f32]
        low = b < SOFTPLUS_CAP / rng
        lim = xp.where(low, rng, SOFTPLUS_CAP / xp.where(low, 1.0, b))
        xn = xp.where(xn < -lim, -lim, xn)
        big = xp.abs(b) > SCALED_BETA
        p = b * xn
        d = xp.two_product(xp.where(big, b * _TWO_M64, b),
                           xp.where(big, xp.where(big, xn, 0.0) * _TWO64, xn), p)[1]
    e = xp.exp(p) if d is None else _carried(xp.exp(p), d)
    q = xp.log1p(e) / b
    if not isinstance(beta, (int, float)) or beta < 0.5:
        # a beta below 1/2: where e is subnormal, e / beta may not be.  There
        # (_SUBNORMAL_EXP) log1p(e) is e, and e / beta is h (h / beta), h = exp(beta x / 2),
        # which is normal wherever the result is (beta at least its floor): at beta
        # 1e-6 the subnormal e was 67 ulp off at x = -9e7, at 1e-20 it was 0 at
        # -1.1e22 (decision 129)
        h = xp.exp(p * 0.5)
        q = xp.where(p < _SUBNORMAL_EXP[f32], h * ((h if d is None else _carried(h, d)) / b), q)
    if tail:  # dividing by float32's b, not by beta = b + bl
        q = q - q * (bl / b)
    return xp.where(pos, x, 0.0) + q, e


#: softplus_beta's cap on ``-beta x``: exp is 0 beyond it in every dtype (the derivative
#: too), and the product of a capped x neither overflows nor stops short of exp's 0
SOFTPLUS_CAP = 1.0e4

#: softplus_beta's least beta whose product with x takes its error from b 2^-64 and x
#: 2^64: where beta x is above -1e4, |x| is below 1e4 / beta, and the split's tail of x,
#: 2^-12 (float32) or 2^-27 (float64) of it, may be subnormal from about 1e30 in float32
#: (1e296 in float64, whose split of beta itself overflows above 1.3e300: one threshold
#: serves both, the scaled product being as exact).  Beyond 1e30 no product was
#: corrected (169 ulp in float64 at beta 1e31, x = -5e-29, against the bound of 3;
#: decision 195)
SCALED_BETA = 1.0e30

#: below this argument exp is subnormal (float32's smallest normal is e^-87.34, float64's
#: e^-708.4): softplus_beta's e / beta is taken as h (h / beta) there only, as each of
#: the two exps adds its error (NumPy's float32 exp is within 2.4 ulp: 5.9 ulp of
#: softplus at beta 0.3, where the branch began at beta x = -40; decision 155)
_SUBNORMAL_EXP = {True: -87.0, False: -708.0}

#: 2^64 and 2^-64: scalings that keep a product of a small value out of the subnormals
_TWO64, _TWO_M64 = 2.0 ** 64, 2.0 ** -64


def _carried(v, d):
    """``v (1 + d)`` (softplus_beta: an exponential and the error of its argument) as
    ``v + v d``, which rounds once; scaled by 2^64 so that ``v d`` is not subnormal
    (a flush to zero, XLA's on the CPU, dropped it: 44 ulp) unless ``d`` is below
    2^-64, where it is nothing (the cap on |x| keeps ``beta x`` finite, ``d`` too)."""
    vs = v * _TWO64
    return (vs + vs * d) * _TWO_M64


def shift(xp, x, m):
    """``x - m``: an entry minus its slice's maximum (a namespace primitive).  Where
    it overflows to ``-inf`` (an entry more than the dtype's range below the
    maximum) that is the limit, not an error: NumPy's namespaces take it without
    the overflow warning (decision 96); everywhere else it is the subtraction."""
    return x - m


def sum_squares(xp, d, axis=None, keepdims=False):
    """``sum(d * d)`` over ``axis`` (a namespace primitive): standardize's sum of
    squared deviations.  The CPU row kernels of rows longer than
    ``kernels.LONG_ROW`` accumulate a float32 one in float64: one entry far out
    spans the squares over many orders, and a lane adds its terms in order (7.26
    units of a float32 row of 5000 with one entry of 1e15, against the bound of 2.5;
    decision 163).  Everywhere else the sum of the products."""
    return xp.sum(d * d, axis=axis, keepdims=keepdims)


def quotient(xp, a, b):
    """``a / b`` (a namespace primitive): standardize's centred value over its
    slice's ``sqrt(var + epsilon)``, squareplus's quotients.  With epsilon 0 a
    constant slice is 0 / 0, NaN, and a given variance of 0 gives +-inf, as every
    framework's division does: NumPy's namespaces take it without the
    invalid/divide warning (decision 130).  JAX's derivative is the quotient rule
    ``(da - q db) / b`` (decision 147): its own, ``-g a b^-2``, forms ``g b^-2``
    first, which XLA flushes to 0 where it is subnormal (squareplus's gradient 0
    for 0.5 at b = 1e38).  Everywhere else it is the division."""
    return a / b


def shift_by_max(xp, x, axes, mask, constant=False):
    """Masked input shifted by its maximum, with the contract's infinity rules.

    Returns ``(sh, m)``: ``sh`` is ``x - max`` (``-inf`` where masked out); where a
    slice holds ``+inf`` its ``+inf`` entries become 0 and the rest ``-inf`` (the
    limit); a slice with no finite maximum (all ``-inf``/masked) keeps ``-inf``.
    Every entry equal to the maximum is exactly 0.  ``constant``: the shift is a
    constant of differentiation (``stop_gradient``; ``m`` itself is not).
    """
    xm = x if mask is None else xp.where(mask, x, -_INF)
    m = xp.max(xm, axis=axes, keepdims=True)
    m_fin = xp.where(xp.isinf(m), 0.0, m)  # NaN stays NaN
    if constant:
        m_fin = xp.stop_gradient(m_fin)
    posinf = m == _INF
    sh = xp.where(posinf, 0.0, xp.shift(xm, m_fin))
    sh = xp.where(posinf & (xm != _INF), -_INF, sh)
    return sh, m


def shift_error(xp, x, sh, m):
    """``(x - m) - sh``: what the rounded shift ``sh = x - m`` of an entry by its
    slice's maximum left out, as a constant of differentiation (logsumexp adds
    ``e^sh d``, so that its terms are ``e^(x - m)`` to the first order).  ``(x - sh) -
    m`` is exact where ``|x| >= |m|`` (Fast2Sum), which is where the error weighs: a
    maximum near 0 and entries far below it (``x - m`` rounds to half an ulp of ``x``,
    alike in every term: 16.5-21.8 ulp of float32 logsumexps near 0 and 57-63 of
    float64 ones, the bounds 12 and 40; decision 215); where ``|m| > |x|`` it is
    within half an ulp of ``m``, that error's size.  0 wherever ``sh`` or ``m`` is not
    finite (masked, ``-inf`` and ``+inf`` entries, a slice of ``-inf``), computed from
    finite stand-ins there, so no invalid operation is taken (NumPy's warning); an
    entry whose shift overflowed (``sh`` is ``-inf``) takes ``x - m`` again, through
    ``shift``, which overflows as the shift did, silently."""
    sh0 = xp.where(sh > -_INF, sh, 0.0)
    d = xp.shift(x - sh0, xp.where(xp.abs(m) < _INF, m, 0.0))
    return xp.stop_gradient(xp.where(xp.abs(d) < _INF, d, 0.0))


#: PyTorch's and NumPy's forward paths of logsumexp shift a slice whose maximum is
#: below this in magnitude by 0, not by the maximum (where a slice near 0 needs it):
#: elsewhere the shift's rounding is within a few ulp of the larger of the result and
#: the maximum (decision 215)
SHIFT_ERROR_NEAR = 4.0


def scaled_by_exp(xp, v, lo):
    """``v e^-lo`` (a sum of a slice shifted by 0, as if shifted by its maximum
    ``lo``): ``v + v expm1(-lo)`` where ``lo <= 0``, which rounds about once (``v
    e^-lo`` rounded ``e^-lo`` and the product: 10.8 ulp of a float32 logsumexp near 0
    where this gave 9.2, the bound 12, in decision 215's first version, which scaled
    the generic body's sums), ``v e^-lo`` above, where ``1 + expm1(-lo)`` cancels."""
    return xp.where(lo > 0, v * xp.exp(-lo), v + v * xp.expm1(-lo))


def split_sums(xp, sh, e, axes):
    """``(T, R)``: the sum of ``e`` over the slice's maxima (``sh == 0``; each is
    exactly 1 without ``b``) and over the rest, apart, so that terms below eps
    are kept (``log_abs``)."""
    top = sh == 0
    t = xp.sum(xp.where(top, e, 0.0), axis=axes, keepdims=True)
    r = xp.sum(xp.where(top, 0.0, e), axis=axes, keepdims=True)
    return t, r


def unit_sums(xp, sh, e, axes):
    """``split_sums`` where every weight is 1 (no ``b``) and each slice's maximum is
    shifted to exactly 0 (an all ``-inf`` slice sums 0):
    each maximum contributes exactly 1, so ``S = sum(e) = T + R`` and ``T``, the
    count of the maxima, is ``S - R`` rounded to an integer (its derivative is
    ``S - R``'s, the maxima's terms').  Two sums, as ``split_sums``, but ``S`` sums
    ``e`` itself (no select before it), so a compiler can fuse it with the
    exponential.  ``T`` is counted, not taken as ``S``: a sum of every term at once
    loses the terms below half an ulp of the partial sums that hold the maxima (XLA's
    float32 sum of ``[0, 0] + [-16.6] * 300``: 15.4 ulp of its logsumexp, the bound
    12; decision 214), where ``R`` apart keeps them.  ``R``'s own sum still loses
    the terms below half an ulp of its large terms (JAX: 34 ulp on ``[0, -0.6] +
    [-17.5] * 3000``; left, decision 214).  (Where ``S`` is so large that its own
    error reaches 1/2, the count is off by that error, as ``S`` was.)"""
    s = xp.sum(e, axis=axes, keepdims=True)
    r = xp.sum(xp.where(sh == 0, 0.0, e), axis=axes, keepdims=True)
    d = s - r
    return xp.round(d) + (d - xp.stop_gradient(d)), r


def log_abs(xp, t, r):
    """``(log|t + r|, t + r)``: ``log1p((t - 1) + r)`` near 1 (where ``t`` counts
    the maxima exactly, so a rest below eps is kept), ``log`` elsewhere, 0
    where the sum is 0.  Not log1p below u = -0.2, where XLA's float64 log1p is
    off by up to 128 ulp (log is well conditioned there anyway)."""
    total = t + r
    u = (t - 1.0) + r
    near1 = (u > -0.2) & (u < 0.5)
    v1 = xp.log1p(xp.where(near1, u, 0.0))
    v2 = xp.log(xp.where(near1 | (total == 0), 1.0, xp.abs(total)))
    return xp.where(near1, v1, v2), total


def count(xp, x, axes, where):
    """``(n, mask)``: entries counted per slice and the mask broadcast to ``x``'s
    shape (or None).  ``n`` is a Python float when every size is a known int and
    there is no mask, else an array (dask's unknown chunk sizes are counted,
    lazily; sizes traced by ``jit.trace`` stay in the graph)."""
    if xp.framework == "trace":  # a kernel being traced: the row length is a kernel value
        return xp.count_along(x, axes, where)
    if where is None:
        sizes = [x.shape[a] for a in axes]
        n = 1
        for s in sizes:
            n = n * s
        if all(type(s) is int for s in sizes):
            return float(n), None
        if all(known(s) for s in sizes):  # traced sizes (jit.trace): their product, traced
            return n, None
        return xp.sum(xp.ones_like(x), axis=axes, keepdims=True), None
    if same_shape(where.shape, x.shape):
        w = where
    elif all(known(n) for n in x.shape + where.shape):
        w = xp.broadcast_to(where, x.shape)
    else:  # dask's unknown sizes, which broadcast_to refuses: broadcast by an operation
        w = xp.logical_and(xp.ones_like(x, dtype=xp.bool), where)
    return xp.sum(xp.astype(w, x.dtype), axis=axes, keepdims=True), w


def reduced_axes(axis, nd):
    """The axes, non-negative, sorted and each once, that a reduction's ``axis`` (None,
    an int or a tuple) names in ``nd`` dimensions."""
    if not nd:
        return ()
    axes = range(nd) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    return tuple(sorted({a % nd for a in axes}))


def drop_axes(xp, y, axes):
    """``y`` (reduced with keepdims) without the ``axes``.  ``reshape`` where the
    shape is known (``squeeze`` over a tuple of axes indexes with a boolean mask
    in array_api_compat's torch, which ``torch.func.vmap`` cannot batch);
    ``squeeze`` where it is not (dask's unknown chunk sizes)."""
    if not axes:
        return y
    shape = tuple(n for i, n in enumerate(y.shape) if i not in axes)
    if all(known(n) for n in shape):
        return xp.reshape(y, shape)
    return xp.squeeze(y, axis=axes)
