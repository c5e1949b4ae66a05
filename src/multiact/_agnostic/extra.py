"""Generic bodies beyond the seed set (issue #4): same rules as SPEC.md.

Written as the seed functions are: kinks by ``where`` (the smaller one-sided
derivative), no discarded branch that overflows or divides by zero, tails
without cancellation.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

from ._dtypes import as_param, as_work, finish
from .elementwise import _gated, _softplus, _squash
from .reductions import _count, _empty_along, _log_abs, _shift, _split_sums, softmax

_INF = math.inf
_NAN = math.nan


def identity(xp, x):
    x, dt = as_work(xp, x, "identity", keep_int=True, exact=True)
    return finish(xp, x, dt)


def mish(xp, x):
    # x * tanh(softplus(x)); -inf * 0 taken as 0 (the limit).
    x, dt = as_work(xp, x, "mish")
    return finish(xp, _gated(xp, x, xp.tanh(_softplus(xp, x))), dt)


def squareplus(xp, x, b=4.0):
    # (x + sqrt(x^2 + b)) / 2; for x < 0 as (b/4) / ((h - x)/2), no cancellation.
    # h = sqrt(x^2 + b) is |x| beyond 1e18 (b / x^2 below any eps), so x^2 never
    # overflows (XLA's and PyTorch's hypot are not overflow-safe everywhere).
    x, dt = as_work(xp, x, "squareplus")
    b = as_param(xp, b, x)
    a = xp.abs(x)
    big = a > 1.0e18
    as_ = xp.where(big, 0.0, a)
    h = xp.where(big, a, xp.sqrt(as_ * as_ + b))
    # x < 0: (b/4) / ((h - x)/2); x >= 0: x + (b/2) / (h + x).  Neither forms
    # h + |x| as a sum that could overflow before it is divided into.
    xn = xp.where(x < 0, x, 0.0)   # each branch sees only its own infinity
    xq = xp.where(x < 0, 0.0, x)
    neg = (b * 0.25) / (h * 0.5 - xn * 0.5)
    pos = xq + (b * 0.5) / (h + xq)
    return finish(xp, xp.where(x < 0, neg, pos), dt)


def sparse_plus(xp, x):
    # 0 (x <= -1), (x + 1)^2 / 4 (-1 < x < 1), x (x >= 1)
    x, dt = as_work(xp, x, "sparse_plus")
    xm = _squash(xp, x, 2.0)
    mid = (xm + 1.0) * (xm + 1.0) * 0.25
    return finish(xp, xp.where(x <= -1, 0.0, xp.where(x >= 1, x, mid)), dt)


def sparse_sigmoid(xp, x):
    # 0 (x <= -1), (x + 1) / 2, 1 (x >= 1); derivative 0 at both kinks
    x, dt = as_work(xp, x, "sparse_sigmoid")
    return finish(xp, xp.where(x <= -1, 0.0, xp.where(x >= 1, 1.0, (x + 1.0) * 0.5)), dt)


_LOG1MEXP_SWITCH = 1.7  # float64: log1p(-e^-x) above, its argument in (-0.19, 0)


def log1mexp(xp, x):
    """log(1 - exp(-x)) for x >= 0; -inf at 0, NaN below.

    ``log(-expm1(-x))`` below the switch, ``log1p(-exp(-x))`` above it.
    Maechler switches at ln 2; for float64 the switch is 1.7, which keeps
    log1p's argument above -0.19 (XLA's float64 log1p is 128 ulp off near
    -0.4; float32 is fine).
    """
    x, dt = as_work(xp, x, "log1mexp")
    switch = _LOG1MEXP_SWITCH if x.dtype == xp.float64 else math.log(2.0)
    pos = x > 0
    xs = xp.where(pos, x, 1.0)  # keeps the discarded branches finite
    lo = xs < switch
    small = xp.log(-xp.expm1(-xp.where(lo, xs, switch)))
    large = xp.log1p(-xp.exp(-xp.where(lo, 2.0, xs)))
    val = xp.where(lo, small, large)
    out = xp.where(x < 0, _NAN, xp.where(x == 0, -_INF, xp.where(pos, val, x)))  # NaN stays
    return finish(xp, out, dt)


def hard_shrink(xp, x, lambd=0.5):
    x, dt = as_work(xp, x, "hard_shrink")
    return finish(xp, xp.where(xp.abs(x) <= lambd, 0.0, x), dt)


def soft_shrink(xp, x, lambd=0.5):
    x, dt = as_work(xp, x, "soft_shrink")
    return finish(xp, xp.where(xp.abs(x) <= lambd, 0.0, xp.where(x < 0, x + lambd, x - lambd)), dt)


@lru_cache(maxsize=None)
def _tanh_shrink_series(n_terms=46):
    """Taylor coefficients of x - tanh(x) in powers of x^2, times x^3 (exact, from
    Bernoulli numbers): x - tanh x = sum_{n>=2} -2^{2n}(2^{2n}-1) B_{2n} x^{2n-1}/(2n)!"""
    bern = [Fraction(1)]
    for m in range(1, 2 * n_terms + 4):
        bern.append(-sum(math.comb(m + 1, k) * bern[k] for k in range(m)) / Fraction(m + 1))
    coeffs = []
    for n in range(2, n_terms + 2):
        c = Fraction(-(4 ** n) * (4 ** n - 1)) * bern[2 * n] / math.factorial(2 * n)
        coeffs.append(float(c))
    return tuple(reversed(coeffs))  # Horner order in x^2, multiplied by x^3


def tanh_shrink(xp, x):
    """x - tanh(x); |x| < 1 by its Taylor series (x - tanh x cancels near 0)."""
    x, dt = as_work(xp, x, "tanh_shrink")
    small = xp.abs(x) < 1
    xs = xp.where(small, x, 0.0)
    t = xs * xs
    acc = None
    for c in _tanh_shrink_series():
        acc = c if acc is None else acc * t + c
    series = acc * (t * xs)
    return finish(xp, xp.where(small, series, x - xp.tanh(x)), dt)


def threshold(xp, x, threshold, value):
    # torch.nn.functional.threshold: x if x > threshold else value (NaN stays NaN)
    x, dt = as_work(xp, x, "threshold")
    v = as_param(xp, value, x)
    return finish(xp, xp.where(x <= threshold, v, x), dt)


def prelu(xp, x, weight):
    # x if x > 0 else weight * x, weight along axis 1 (PyTorch's channel axis);
    # derivative at 0 is weight, as leaky_relu's.
    x, dt = as_work(xp, x, "prelu")
    w = as_param(xp, weight, x)
    if not isinstance(w, (int, float)) and x.ndim >= 2 and w.ndim == 1 and w.shape[0] != 1:
        w = xp.reshape(w, (w.shape[0],) + (1,) * (x.ndim - 2))
    elif not isinstance(w, (int, float)) and w.ndim == 1 and w.shape[0] == 1:
        w = xp.reshape(w, ())
    pos = x > 0
    return finish(xp, xp.where(pos, x, w * xp.where(pos, 0.0, x)), dt)


def softmin(xp, x, axes=(-1,), where=None, initial=None):
    x, dt = as_work(xp, x, "softmin")
    return finish(xp, softmax(xp, -x, axes, where, initial), dt)


def logmeanexp(xp, x, axes=None, where=None, keepdims=False):
    """log(mean(exp(x))) over ``axes`` counting only ``where``; a slice with
    nothing to count is NaN."""
    x, dt = as_work(xp, x, "logmeanexp")
    count, _ = _count(xp, x, axes, where)
    if _empty_along(x, axes):
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        out = xp.full(shape, _NAN, dtype=x.dtype)
    else:
        sh, m = _shift(xp, x, axes, where, None)
        t, r = _split_sums(xp, sh, xp.exp(sh), axes)
        # log((T + R) / n) as log1p(((T - n) + R) / n) near 1: the mean of
        # equal entries is exactly their value
        safe_n = count if isinstance(count, float) else xp.where(count > 0, count, 1.0)
        lse, total = _log_abs(xp, t / safe_n, r / safe_n)
        out = xp.where(total == 0, -_INF, m + lse)
        if not isinstance(count, float):
            out = xp.where(count > 0, out, _NAN)
        elif count == 0:
            out = xp.full_like(out, _NAN)
    if not keepdims:
        out = xp.reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in axes))
    return finish(xp, out, dt)


def sparsemax(xp, x, axis=-1):
    """Euclidean projection onto the simplex (Martins & Astudillo, 2016)."""
    x, dt = as_work(xp, x, "sparsemax")
    last = x.ndim - 1
    z = x if axis == last else xp.moveaxis(x, axis, -1)
    zs = xp.flip(xp.sort(z, axis=-1), axis=-1)  # descending
    n = z.shape[-1]
    k = xp.arange(1, n + 1, dtype=z.dtype, device=xp.device_of(z))
    cs = xp.cumulative_sum(zs, axis=-1)
    support = (1.0 + k * zs) > cs
    ksz = xp.sum(xp.astype(support, z.dtype), axis=-1, keepdims=True)
    tau = (xp.sum(xp.where(support, zs, 0.0), axis=-1, keepdims=True) - 1.0) / ksz
    y = xp.where(z - tau > 0, z - tau, 0.0)
    y = y if axis == last else xp.moveaxis(y, -1, axis)
    return finish(xp, y, dt)
