"""Special functions that the Array API standard lacks, written against it.

A backend that has a native, accurate version supplies it in its module
(``backends/<name>.py``: ``PRIMITIVES``); every other backend uses these.
"""

from __future__ import annotations

import math

from . import _formulas as _fm
from ._formulas import INV_SQRT2 as _INV_SQRT2
from ._formulas import INV_SQRT_2PI as _INV_SQRT_2PI
from ._formulas import LN2 as _LN2
from ._formulas import TWO_OVER_SQRT_PI as _TWO_OVER_SQRT_PI
from . import _gelu32_coeffs as _gelu32
from . import _gelu_slope_coeffs as _slope
from ._ndtr32_coeffs import PIECES as _PIECES32
from ._ndtr_coeffs import PIECES

__all__ = ["ndtr", "ndtr32", "gauss32", "ndtr_from_native", "ndtr_from_erfc32", "ndtr_rational",
           "gelu_rational", "gelu_ratio", "gelu_derivative_rational", "gelu_derivative_slope",
           "gelu_slope",
           "normal_pdf", "expm1_kahan"]

# Central series: Phi(x) = 1/2 + phi(x) * sum_n x^(2n+1) / (2n+1)!!  (|x| <= 1/2)
_SERIES = []
_df = 1.0
for _n in range(12):
    _df *= 2 * _n + 1
    _SERIES.append(1.0 / _df)
_SERIES = tuple(reversed(_SERIES))  # Horner order in x^2


def _horner(coeffs, t):
    acc = coeffs[0]
    for c in coeffs[1:]:
        acc = acc * t + c
    return acc


def _exp_half_square(xp, a):
    """exp(-a^2/2) for 0 <= a <= 40 without rounding a^2 (see normal_pdf)."""
    scale = 32.0 if a.dtype == xp.float32 else 1048576.0  # 2**5, 2**20 (longdouble too)
    hi = xp.round(a * scale) / scale
    lo = a - hi
    # exp(A) * exp(B) written as e + e * expm1(B): XLA rewrites a product of
    # exps into exp(A + B), which would round A + B and undo the split.
    e = xp.exp(-(hi * hi) * 0.5)
    return xp.carried(e, xp.expm1(-(lo * (hi + a)) * 0.5))


def ndtr_from_native(xp, x, erf, erfcx):
    """Normal CDF from a backend's native ``erf`` and ``erfcx``.

    |x| < 1/2: ``1/2 + erf(x / sqrt 2) / 2``.  Otherwise
    ``Phi(-a) = erfcx(a / sqrt 2) * exp(-a^2 / 2) / 2``: ``erfcx`` is well
    conditioned (rounding ``a / sqrt 2`` costs ~1 ulp, where ``erfc`` would cost
    ``a^2`` ulp) and the Gaussian factor is formed without rounding ``a^2``.
    A handful of kernels instead of the piecewise fit; the conformance suite
    holds it to the same bound.
    """
    a = xp.abs(x)
    central = a < 0.5
    at = xp.where(central, 0.5, xp.where(a > 40.0, 40.0, a))  # NaN stays NaN
    tail = (0.5 * erfcx(at * _INV_SQRT2)) * _exp_half_square(xp, at)
    mid = 0.5 + 0.5 * erf(xp.where(central, x, 0.0) * _INV_SQRT2)
    return xp.where(central, mid, xp.where(x < 0, tail, 1.0 - tail))


# -1/sqrt(2) as a float32 head and a tail; the head split in 12 + 12 bits (Dekker)
_C32 = -0.7071067690849304               # float32(-1/sqrt 2)
_C32_LO = -1.0 / math.sqrt(2.0) - _C32
_C32_H = -0.70703125                     # the head's top 12 bits
_C32_L = _C32 - _C32_H


def ndtr_from_erfc32(xp, x, erfc, gauss=None):
    """Normal CDF of float32 ``x`` from a float32 ``erfc`` accurate to an ulp.

    ``Phi(x) = erfc(t) / 2`` with ``t = -x / sqrt 2``; rounding ``t`` costs
    ``2 t^2`` ulp (9 ulp at x = -3), so the rounding error ``d`` of ``t``
    is formed exactly (Dekker's product of ``x`` and the split constant) and
    the first-order correction ``-d * 2/sqrt(pi) * exp(-t^2)`` is added.  Within
    2.1 ulp for GELU over ``x >= -12.5`` (measured against mpmath); below, the
    result is smaller than 1.5e-36.  No fused multiply-add may contract the
    products (NumPy, PyTorch and Inductor do not).  ``gauss``: ``exp(-x^2 / 2)``
    where the caller has it (to an eps: it only scales the correction), for
    ``exp(-t^2)``.
    """
    x = xp.where(x < -40.0, -40.0, xp.where(x > 40.0, 40.0, x))  # NaN stays NaN; Phi is 0 or 1
    t = x * _C32
    xh, xl = xp.dekker_split(x)
    d = (((xh * _C32_H - t) + xh * _C32_L) + xl * _C32_H) + xl * _C32_L
    d = d + x * _C32_LO
    gauss = xp.exp(-(t * t)) if gauss is None else gauss
    return 0.5 * (erfc(t) - d * _TWO_OVER_SQRT_PI * gauss)


def _rational_tail(xp, x):
    """``(a, Phi(-a), exp(-a^2 / 2))``, ``a = |x|`` capped at 40 (NaN stays NaN), in
    ``x``'s dtype, one wider than the result's (float32 for a half tensor, float64
    for a float32 one): ``Phi(-a) = P(a) / Q(a) exp(-a^2 / 2)`` with
    ``_gelu32_coeffs``'s rational (5.1e-9 relative on [0, 13.5], where float32's
    normal range ends; every coefficient positive, so the Horner sums do not
    cancel) and ``a^2`` rounded (in float32: relative error up to half an ulp of
    ``a^2 / 2``, 3.8e-6 at a = 13.3, 1/1000 of a bfloat16 ulp).  Beyond 13.5 the
    rational is outside its fit, where the results are below float32's normal
    range."""
    a = xp.abs(x)
    a = xp.where(a > 40.0, 40.0, a)
    gauss = xp.exp(-(a * a) * 0.5)
    return a, gelu_ratio(xp, a) * gauss, gauss


def ndtr_rational(xp, x, exact_slope=None):
    """Normal CDF of a float16 or bfloat16 value computed in float32, to be rounded
    once to the half dtype: ``Phi(-a)`` of :func:`_rational_tail` for ``x < 0``,
    ``1 - Phi(-a)`` above (NaN stays NaN; ``-inf``: 0, ``+inf``: 1).  One ``exp`` and
    the rational, where :func:`ndtr_from_native` takes ``erf``, ``erfcx``, ``exp`` and
    ``expm1`` and selects; float32's error here (a few float32 ulp) is 1/100 of a
    half ulp, as :func:`gelu_rational`'s.  For the GPU kernels of the half dtypes
    (decision 117).  ``exact_slope``: a stop_gradient, given for a trace whose
    derivative is taken (the backward kernels): the value is the same, and its
    derivative is ``phi(x) = exp(-x^2 / 2) / sqrt(2 pi)`` from the same ``exp`` (0
    beyond |x| = 40, where it underflows), not the derivative of the rational's
    rounded sums, which the cancellation of ``Phi + x phi`` next to exact GELU's
    minimum amplifies."""
    _, tail, gauss = _rational_tail(xp, x)
    cdf = xp.where(x < 0, tail, 1.0 - tail)
    if exact_slope is None:
        return cdf
    sg = exact_slope
    xc = xp.where(x < -40.0, -40.0, xp.where(x > 40.0, 40.0, x))  # NaN stays NaN
    return sg(cdf) + (xc - sg(xc)) * sg(gauss * _INV_SQRT_2PI)  # (+ 0, of slope phi)


def gelu_ratio(xp, a):
    """``Phi(-a) exp(a^2 / 2)`` of ``a >= 0``: ``_gelu32_coeffs``'s rational ``P(a) /
    Q(a)`` (5.1e-9 relative on [0, 13.5]; every coefficient positive)."""
    return _horner(_gelu32.P[::-1], a) / _horner(_gelu32.Q[::-1], a)


def gelu_rational(xp, x):
    """Exact GELU ``x Phi(x)``, to be rounded once to a narrower dtype (``x`` is the
    value of a float16 or bfloat16 tensor in float32, or of a float32 one in
    float64): ``x - a Phi(-a)`` (``x >= 0``) or ``-a Phi(-a)``, ``a = |x|``
    (:func:`_rational_tail`).  No erfc.  Half tensors: float32's error here (a few
    ulp, up to 64 as ``x`` nears -13) is below 1/100 of a half ulp (every value:
    within 0.49993 ulp); float32 values (exact geglu's kernel): the fit's 0.043 ulp,
    within 0.585 ulp (decision 90).  In float32 for float32 the bound would not
    hold; exact GELU's float32 kernel sums only :func:`gelu_ratio` in float64
    (decision 109)."""
    a, tail, _ = _rational_tail(xp, x)
    at = a * tail
    return xp.where(x >= 0, x - at, -at)  # (+-0 keep their sign)


def gelu_derivative_rational(xp, x):
    """Exact GELU's derivative ``Phi(x) + x phi(x)`` of a half tensor's value in
    float32, to be rounded once (as :func:`gelu_rational`), both terms from
    :func:`_rational_tail`'s.  The sum cancels at its root (-0.7518), but no float16
    or bfloat16 value lies near enough to it for float32's rounding to reach 1/100
    of a half ulp (every value: within 0.5002 ulp).  float32 tensors take
    :func:`gelu_derivative_slope`."""
    _, tail, gauss = _rational_tail(xp, x)
    xc = xp.where(x < -40.0, -40.0, xp.where(x > 40.0, 40.0, x))  # NaN stays NaN
    return xp.where(x < 0, tail, 1.0 - tail) + xc * (gauss * _INV_SQRT_2PI)


def gelu_derivative_slope(xp, x):
    """Exact GELU's derivative of a float32 tensor's value in float64, to be rounded
    once: ``E H`` (``x < 0``) or ``1 - E H``, ``a = |x|`` capped at 40 (NaN stays
    NaN), ``E = exp(-a^2 / 2)`` (``a^2`` exact) and ``H(a) = (A0 - a) P(a) / Q(a)``
    (``_gelu_slope_coeffs``, tools/fit_gelu_slope.py: 1.1e-10 relative), whose
    root ``A0`` is GELU's minimum: ``A0 - a`` is exact near it, so the derivative
    keeps its relative accuracy through the root with no second formula (within
    0.5 ulp and the fit's 0.001; decision 104).  ``-inf``: -0 (gelu' is negative
    below the root); ``+inf``: 1."""
    a = xp.abs(x)
    a = xp.where(a > 40.0, 40.0, a)
    t = xp.exp(-(a * a) * 0.5) * gelu_slope(xp, a)
    return xp.where(x < 0, t, 1.0 - t)


def gelu_slope(xp, a):
    """``H(a) = (A0 - a) P(a) / Q(a)`` of ``a >= 0`` (``_gelu_slope_coeffs``): exact
    GELU's derivative is ``exp(-a^2 / 2) H(a)`` (``x = -a < 0``) or one minus it."""
    return (_slope.A0 - a) * (_horner(_slope.P[::-1], a) / _horner(_slope.Q[::-1], a))


def normal_pdf(xp, a):
    """exp(-a^2/2)/sqrt(2 pi) for |a| <= 40, with a^2/2 formed without rounding.

    A plain ``exp(-a*a/2)`` loses ``a^2 * eps`` relative accuracy (about 700 ulp
    at a = 37).  Writing ``a = hi + lo`` with ``hi`` on a grid of 2**-k keeps
    ``hi*hi`` exact (``hi`` has at most 26 bits for float64, 11 for float32) and
    leaves a small ``lo*(hi + a)`` term.  The split uses ``round`` rather than
    Veltkamp's trick, which a compiler that contracts to FMA (XLA) defeats.
    """
    return _exp_half_square(xp, a) * _INV_SQRT_2PI


def ndtr(xp, x):
    """Standard normal CDF, relative accuracy of a few ulp over the whole range.

    |x| < 1/2: ``1/2 + phi(x) * S(x)`` (Marsaglia's series, all terms positive);
    otherwise ``Phi(-a) = phi(a) * h(a) / a`` with ``h = a * Mills ratio`` fitted
    piecewise (see tools/fit_ndtr.py), and ``Phi(a) = 1 - Phi(-a)``.
    """
    a = xp.abs(x)
    central = a < 0.5
    # Clamp into the fitted range; NaN stays NaN (both comparisons are False).
    at = xp.where(a < 0.5, 0.5, xp.where(a > 40.0, 40.0, a))
    h = None
    for kind, lo, hi, coeffs in PIECES:
        v = at if kind == "z" else 1.0 / at
        t = (2.0 * v - (lo + hi)) / (hi - lo)
        piece = _horner(coeffs, t)
        if h is None:
            h = piece
        else:
            inside = (at >= lo) if kind == "z" else (at >= 1.0 / hi)
            h = xp.where(inside, piece, h)
    tail = normal_pdf(xp, at) * h / at
    xc = xp.where(central, x, 0.0)
    mid = 0.5 + normal_pdf(xp, xc) * (xc * _horner(_SERIES, xc * xc))
    return xp.where(central, mid, xp.where(x < 0, tail, 1.0 - tail))


_CUTS32 = tuple(p[0] for p in _PIECES32[1:])  # the pieces' lower ends, after the first
# per field (lo, kind, mid, head, tail, c1 .. c7), the pieces' values
_COLUMNS32 = tuple(zip(*(p[:5] + p[5] for p in _PIECES32)))
_RATIO32 = min(p[0] for p in _PIECES32 if p[1] != "phi")  # below: Phi(-a) itself
_TAIL32 = min(p[0] for p in _PIECES32 if p[1] == "tail")  # above: in 1 / a^2


def ndtr32(xp, x):
    """Standard normal CDF of float32 ``x`` in float32 arithmetic, within a few ulp
    (decision 123), for a backend whose float32 work has no wider format to lean on
    (JAX, where float64 may be off).

    ``Phi(-a)``, ``a = |x|``, from one polynomial of degree 7 per piece of ``a``
    (``_ndtr32_coeffs``, tools/fit_ndtr32.py): below 1.5, ``Phi(-a)`` itself; up to 4,
    ``Phi(-a) exp(a^2 / 2)``; above, ``a Phi(-a) exp(a^2 / 2)`` in ``1 / a^2``.  Each
    polynomial is in a variable centred on its piece, where its constant term (a
    float32 pair) dominates, so its Horner sum rounds about once; the pieces'
    coefficients are selected, and the sum is taken once; ``exp(-a^2 / 2)`` is
    :func:`gauss32`.  ``Phi(a) = 1 - Phi(-a)``.
    NaN stays NaN; ``-inf``: 0; ``+inf``: 1."""
    a = xp.abs(x)
    a = xp.where(a > 40.0, 40.0, a)  # NaN stays NaN
    above = [a >= lo for lo in _CUTS32]

    def pick(values):  # each element's piece's value
        r = xp.asarray(values[0], dtype=x.dtype)
        for m, value in zip(above, values[1:]):
            r = xp.where(m, xp.asarray(value, dtype=x.dtype), r)
        return r

    tail = a >= _TAIL32
    v = xp.where(tail, 1.0 / xp.where(tail, a * a, 1.0), a - pick(_COLUMNS32[2]))
    higher = _COLUMNS32[5:]  # c1 .. c7
    r = pick(higher[-1])
    for values in higher[-2::-1]:
        r = r * v + pick(values)
    p = (r * v + pick(_COLUMNS32[4])) + pick(_COLUMNS32[3])
    q = p * xp.where(a < _RATIO32, 1.0, gauss32(xp, a))
    q = q / xp.where(tail, a, 1.0)
    return xp.where(x < 0, q, 1.0 - q)


def gauss32(xp, a):
    """``exp(-a^2 / 2)`` of float32 ``a`` in ``[0, 40]`` in float32: ``exp(-h)`` of
    ``h``, ``a^2 / 2`` rounded, times ``1 - l`` (to first order: ``l <= h 2^-24``) of
    its exact rest ``l`` (Dekker's product of ``xp.dekker_split``'s halves), where
    ``exp(-a * a / 2)`` is off by up to ``h`` ulp (64 measured at a = 13).  Its
    derivative by autodiff is ``-a`` times it (the rest's derivative is 0)."""
    ah, al = xp.dekker_split(a)
    h = (a * a) * 0.5
    rest = (((ah * ah) * 0.5 - h) + ah * al) + (al * al) * 0.5
    return xp.carried(xp.exp(-h), -rest)


def expm1_series(xp, x):
    """``expm1`` of float32 or float64 ``x``: on ``|x| < ln 2`` its Taylor series,
    ``x + x^2 (1/2 + x (1/6 + ...))`` in Horner's form, within 1.0 ulp in float64
    and 1.1 in float32 (1.4 where no multiply-add is contracted); beyond, ``exp(x) -
    1``, which cancels at most a factor of 2 there.  For a namespace whose own
    ``expm1`` is off near 0 (XLA's on the CPU: 4.8 ulp in float32, 3.4 in float64,
    decision 189)."""
    near = xp.abs(x) < _LN2
    t = xp.where(near, x, 0.0)
    p = _fm.expm1_rest(xp, t)
    # (x itself at 0: -0.0 + +0.0 would lose the sign of a -0.0)
    return xp.where(near, xp.where(t == 0.0, x, t + (t * t) * p), xp.exp(x) - 1.0)


def expm1_kahan(xp, x):
    """``expm1`` from ``exp`` and ``log`` without cancellation (Kahan), for a
    compiler whose own ``expm1`` is ``exp(x) - 1`` (Inductor, torch 2.13: every
    digit lost in float32 near 0).

    ``|x| >= ln 2``: ``exp(x) - 1`` has no cancellation.  Below:
    ``(u - 1) x / log(u)``, ``u = exp(x)``, within an ulp or two (the rounding
    errors of ``u - 1`` and ``log(u)`` cancel); ``u == 1`` means ``|x|`` is below
    eps, where ``expm1(x) == x``.  Nothing may reassociate it.
    """
    u = xp.exp(x)
    um1 = u - 1.0
    near = (x < _LN2) & (x > -_LN2) & (u != 1.0)
    safe = xp.where(near, u, 2.0)
    kahan = (safe - 1.0) * xp.where(near, x, 1.0) / xp.log(safe)
    return xp.where(near, kahan, xp.where(u == 1.0, x, um1))
