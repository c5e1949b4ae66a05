"""High-precision references, computed with mpmath from the definitions in SPEC.md.

Nothing here calls multiact: each function is the textbook formula evaluated at
60 significant digits (mathematically equivalent rewrites are used only where
the textbook form would need more digits, e.g. tanh-GELU's ``1 + tanh(u)`` is
``2 sigmoid(2u)``).  Results are returned as double-double pairs ``(hi, lo)`` so
that float64 outputs can be scored to a fraction of an ulp.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

mp.mp.dps = 60

SELU_SCALE = mp.mpf("1.0507009873554804934193349852946")
SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")
_INF = math.inf


def _sig(x):
    return 1 / (1 + mp.exp(-x))


def _gelu_tanh(x):
    u = mp.sqrt(2 / mp.pi) * (x + mp.mpf("0.044715") * x**3)
    return x * _sig(2 * u)


def _gelu_erf(x):
    # mpmath's erfc overflows for |x| ~ 1e30; beyond |x| = 40 the result is x or
    # below 1e-340 (0 in every dtype here).
    if x > 40:
        return x
    if x < -40:
        return mp.mpf(0)
    return x / 2 * mp.erfc(-x / mp.sqrt(2))


def _hard_sigmoid(x):
    return min(max(x + 3, 0), 6) / 6


ELEMENTWISE = {
    # name: (f(x, **params), (limit at -inf, limit at +inf))
    "relu": (lambda x: max(x, 0), (0.0, _INF)),
    "relu6": (lambda x: min(max(x, 0), 6), (0.0, 6.0)),
    "hard_tanh": (lambda x: min(max(x, -1), 1), (-1.0, 1.0)),
    "leaky_relu": (lambda x, negative_slope=0.01: x if x >= 0 else mp.mpf(negative_slope) * x,
                   (-_INF, _INF)),
    "sigmoid": (_sig, (0.0, 1.0)),
    "silu": (lambda x: x * _sig(x), (0.0, _INF)),
    "softplus": (lambda x, beta=1.0: mp.log(1 + mp.exp(mp.mpf(beta) * x)) / mp.mpf(beta),
                 (0.0, _INF)),
    "log_sigmoid": (lambda x: -mp.log(1 + mp.exp(-x)), (-_INF, 0.0)),
    "elu": (lambda x, alpha=1.0: x if x > 0 else mp.mpf(alpha) * mp.expm1(x), (None, _INF)),
    "celu": (lambda x, alpha=1.0: x if x > 0 else mp.mpf(alpha) * mp.expm1(x / mp.mpf(alpha)),
             (None, _INF)),
    "selu": (lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * mp.expm1(x)),
             (float(-SELU_SCALE * SELU_ALPHA), _INF)),
    "gelu": (lambda x, approximate=True: _gelu_tanh(x) if approximate else _gelu_erf(x),
             (0.0, _INF)),
    "hard_sigmoid": (_hard_sigmoid, (0.0, 1.0)),
    "hard_silu": (lambda x: x * _hard_sigmoid(x), (0.0, _INF)),
    "soft_sign": (lambda x: x / (abs(x) + 1), (-1.0, 1.0)),
    "tanh": (mp.tanh, (-1.0, 1.0)),
    # beyond the seed set
    "identity": (lambda x: x, (-_INF, _INF)),
    "mish": (lambda x: x * mp.tanh(mp.log(1 + mp.exp(x))), (0.0, _INF)),
    "squareplus": (lambda x, b=4.0: _squareplus(x, b), (0.0, _INF)),
    "sparse_plus": (lambda x: mp.mpf(0) if x <= -1 else (x if x >= 1 else (x + 1) ** 2 / 4),
                    (0.0, _INF)),
    "sparse_sigmoid": (lambda x: mp.mpf(0) if x <= -1 else (mp.mpf(1) if x >= 1 else (x + 1) / 2),
                       (0.0, 1.0)),
    "log1mexp": (lambda x: mp.mpf("nan") if x < 0 else (mp.mpf("-inf") if x == 0
                                                        else mp.log(-mp.expm1(-x))),
                 (math.nan, 0.0)),
    "hard_shrink": (lambda x, lambd=0.5: x if abs(x) > mp.mpf(lambd) else mp.mpf(0),
                    (-_INF, _INF)),
    "soft_shrink": (lambda x, lambd=0.5: x - mp.mpf(lambd) if x > mp.mpf(lambd)
                    else (x + mp.mpf(lambd) if x < -mp.mpf(lambd) else mp.mpf(0)), (-_INF, _INF)),
    "tanh_shrink": (lambda x: _tanh_shrink(x), (-_INF, _INF)),
    "threshold": (lambda x, threshold=0.5, value=-1.0: mp.mpf(value) if x <= mp.mpf(threshold)
                  else x, (None, _INF)),
    "prelu": (lambda x, weight=0.25: x if x > 0 else mp.mpf(weight) * x, (-_INF, _INF)),
}


def _squareplus(x, b):
    # x + sqrt(x^2 + b) cancels for x << 0: enough digits for |x|^2 / b
    digits = 60 + 2 * int(abs(mp.log10(abs(x) + 1)))
    with mp.workdps(digits):
        return +((x + mp.sqrt(x * x + mp.mpf(b))) / 2)


def _tanh_shrink(x):
    if abs(x) < mp.mpf("1e-3"):  # independent: the series, where x - tanh x cancels
        x2 = x * x
        return x * x2 * (mp.mpf(1) / 3 - x2 * (mp.mpf(2) / 15 - x2 * (mp.mpf(17) / 315
                                                                       - x2 * mp.mpf(62) / 2835)))
    with mp.workdps(120):
        return +(x - mp.tanh(x))

# d/dx, for gradient checks (at kinks: SPEC.md's convention).
DERIVATIVE = {
    "relu": lambda x: mp.mpf(1) if x > 0 else mp.mpf(0),
    "relu6": lambda x: mp.mpf(1) if 0 < x < 6 else mp.mpf(0),
    "hard_tanh": lambda x: mp.mpf(1) if -1 < x < 1 else mp.mpf(0),
    "leaky_relu": lambda x, negative_slope=0.01: mp.mpf(1) if x > 0 else mp.mpf(negative_slope),
    "sigmoid": lambda x: _sig(x) * _sig(-x),
    "silu": lambda x: _sig(x) * (1 + x * _sig(-x)),
    "softplus": _sig,
    "log_sigmoid": lambda x: _sig(-x),
    "elu": lambda x, alpha=1.0: mp.mpf(1) if x > 0 else mp.mpf(alpha) * mp.exp(x),
    "celu": lambda x, alpha=1.0: mp.mpf(1) if x > 0 else mp.exp(x / mp.mpf(alpha)),
    "selu": lambda x: SELU_SCALE * (1 if x > 0 else SELU_ALPHA * mp.exp(x)),
    "gelu": lambda x, approximate=True: mp.diff(_gelu_tanh, x) if approximate
    else mp.ncdf(x) + x * mp.npdf(x),
    "hard_sigmoid": lambda x: mp.mpf(1) / 6 if -3 < x < 3 else mp.mpf(0),
    "hard_silu": lambda x: mp.mpf(0) if x < -3 else (mp.mpf(1) if x >= 3 else (2 * x + 3) / 6),
    "soft_sign": lambda x: 1 / (1 + abs(x)) ** 2,
    "tanh": lambda x: 1 / mp.cosh(x) ** 2,
    "identity": lambda x: mp.mpf(1),
    "mish": lambda x: mp.diff(lambda t: t * mp.tanh(mp.log(1 + mp.exp(t))), x),
    "squareplus": lambda x, b=4.0: (1 + x / mp.sqrt(x * x + mp.mpf(b))) / 2,
    "sparse_plus": lambda x: mp.mpf(0) if x <= -1 else (mp.mpf(1) if x >= 1 else (x + 1) / 2),
    "sparse_sigmoid": lambda x: mp.mpf(1) / 2 if -1 < x < 1 else mp.mpf(0),
    "log1mexp": lambda x: 1 / mp.expm1(x),
    "hard_shrink": lambda x, lambd=0.5: mp.mpf(1) if abs(x) > lambd else mp.mpf(0),
    "soft_shrink": lambda x, lambd=0.5: mp.mpf(1) if abs(x) > lambd else mp.mpf(0),
    "tanh_shrink": lambda x: mp.tanh(x) ** 2,
}


def _dd(r):
    """mpf -> (hi, lo) float64 pair; infinities and NaN pass through."""
    if isinstance(r, float):
        return r, 0.0
    if mp.isnan(r):
        return math.nan, 0.0
    if mp.isinf(r):
        return (math.inf if r > 0 else -math.inf), 0.0
    hi = float(r)
    if math.isinf(hi):
        return hi, 0.0
    return hi, float(r - mp.mpf(hi))


def elementwise(name, x, **params):
    """Reference of an element-wise function at every value of float64 array ``x``.

    Returns ``(hi, lo)`` float64 arrays.
    """
    f, (lo_lim, hi_lim) = ELEMENTWISE[name]
    if lo_lim is None:  # -alpha (elu, celu), value (threshold)
        lo_lim = float(params["value"]) if "value" in params else -float(params.get("alpha", 1.0))
    flat = np.asarray(x, dtype=np.float64).ravel()
    hi = np.empty_like(flat)
    lo = np.zeros_like(flat)
    for i, v in enumerate(flat.tolist()):
        if math.isnan(v):
            hi[i] = math.nan
        elif math.isinf(v):
            hi[i] = hi_lim if v > 0 else lo_lim
        else:
            hi[i], lo[i] = _dd(f(mp.mpf(v), **params))
    return hi.reshape(np.shape(x)), lo.reshape(np.shape(x))


def derivative(name, x, **params):
    d = DERIVATIVE[name]
    flat = np.asarray(x, dtype=np.float64).ravel()
    out = np.array([float(d(mp.mpf(v), **params)) for v in flat.tolist()])
    return out.reshape(np.shape(x))


# -- reductions over the last axis of 2-D float64 inputs ----------------------

def _rows(x, where):
    x = np.asarray(x, dtype=np.float64)
    w = np.ones(x.shape, bool) if where is None else np.broadcast_to(where, x.shape)
    return x, w


def _lse_row(vals, weights):
    """log|sum w e^v| and its sign, by the definition (infinities by their limit)."""
    terms = [(v, w) for v, w in zip(vals, weights) if w != 0]
    if any(math.isnan(v) or math.isnan(w) for v, w in terms):
        return math.nan, math.nan
    infs = [w for v, w in terms if v == _INF]
    if infs:
        s = sum(infs)
        return (_INF if s != 0 else math.nan), float(np.sign(s)) if s != 0 else math.nan
    fin = [(mp.mpf(v), mp.mpf(w)) for v, w in terms if v != -_INF]
    if not fin:
        return -_INF, 0.0
    m = max(v for v, _ in fin)
    s = mp.fsum(w * mp.exp(v - m) for v, w in fin)
    if s == 0:
        return -_INF, 0.0
    return m + mp.log(abs(s)), (1.0 if s > 0 else -1.0)


def softmax(x, where=None, log=False):
    x, w = _rows(x, where)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        vals = [v if ok else -_INF for v, ok in zip(x[i], w[i])]
        if any(math.isnan(v) for v in vals):
            out[i] = math.nan
            continue
        infs = [v == _INF for v in vals]
        if any(infs):
            k = sum(infs)
            p = [mp.mpf(1) / k if f else mp.mpf(0) for f in infs]
        elif all(v == -_INF for v in vals):
            p = [mp.mpf(0)] * len(vals)
            if log:
                out[i] = -_INF
                continue
        else:
            lse, _ = _lse_row(vals, [1.0] * len(vals))
            if log:
                out[i] = [float(mp.mpf(v) - lse) if v != -_INF else -_INF for v in vals]
                continue
            p = [mp.exp(mp.mpf(v) - lse) if v != -_INF else mp.mpf(0) for v in vals]
        out[i] = [float(mp.log(q)) if q > 0 else -_INF for q in p] if log else [float(q) for q in p]
    return out


def logsumexp(x, b=None, where=None):
    """Row-wise (last axis) logsumexp of 2-D ``x``; returns (value, sign) float64 arrays."""
    x, w = _rows(x, where)
    bb = np.ones(x.shape) if b is None else np.broadcast_to(np.asarray(b, float), x.shape)
    val = np.empty(x.shape[0])
    sgn = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        weights = [float(bv) if ok else 0.0 for bv, ok in zip(bb[i], w[i])]
        v, s = _lse_row(list(x[i]), weights)
        val[i], sgn[i] = float(v), s
    return val, sgn


def standardize(x, epsilon=1e-5, where=None):
    x, w = _rows(x, where)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        sel = [mp.mpf(v) for v, ok in zip(x[i], w[i]) if ok]
        if not sel:
            out[i] = math.nan
            continue
        mu = mp.fsum(sel) / len(sel)
        var = mp.fsum((v - mu) ** 2 for v in sel) / len(sel)
        den = mp.sqrt(var + mp.mpf(epsilon))
        out[i] = [float((mp.mpf(v) - mu) / den) for v in x[i]]
    return out


def glu(x):
    x = np.asarray(x, dtype=np.float64)
    h = x.shape[-1] // 2
    a, b = x[..., :h], x[..., h:]
    return np.vectorize(lambda p, q: float(mp.mpf(p) * _sig(mp.mpf(q))))(a, b)


def sparsemax(x):
    """Row-wise sparsemax of 2-D ``x`` by bisection on tau (sum(max(x - tau, 0)) = 1)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for i, row in enumerate(x):
        z = [mp.mpf(v) for v in row]
        lo, hi = max(z) - 1, max(z)
        for _ in range(200):
            mid = (lo + hi) / 2
            if mp.fsum(max(v - mid, 0) for v in z) > 1:
                lo = mid
            else:
                hi = mid
        tau = (lo + hi) / 2
        out[i] = [float(max(v - tau, 0)) for v in z]
    return out


def logmeanexp(x, where=None):
    val, _ = logsumexp(x, where=where)
    x, w = _rows(x, where)
    n = w.sum(-1)
    return np.array([float(mp.mpf(v) - mp.log(k)) if k > 0 else math.nan
                     for v, k in zip(val, n)])
