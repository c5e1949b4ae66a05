"""NumPy: in-place ufunc chains for speed, SciPy where it is accurate.

Reason for every override here: speed and memory.  The generic bodies are
written for autodiff backends (``where`` on both branches, so derivatives are
right); NumPy has no autodiff, so each override computes the same values with
a short chain of ufuncs writing into one output buffer (at most one temporary
of the output's size).  Exponentials that may overflow to ``inf`` are taken
under ``errstate(over="ignore")``: ``1 / (1 + inf)`` *is* the limit, so the
overflow is not an error, and no warning reaches the user.  float32 and
float64 only; half precision, integers and array parameters use the generic
body (which computes halves in float32).  The conformance suite holds these
to the same ulp table and checks them against the generic body.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from .._agnostic import _special
from .._agnostic.elementwise import SELU_ALPHA, SELU_SCALE

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_FAST = frozenset({_F32, _F64})
_RELU = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                        np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                        np.uint64))
_A = 2.0 * math.sqrt(2.0 / math.pi)
_B = _A * 0.044715
_over = partial(np.errstate, over="ignore")


def extra(name, ns):
    if name == "ndtr":
        try:
            import scipy.special as sp
        except ImportError:
            return None
        # Reason: speed.  float32: scipy.special.ndtr is one C loop computed in
        # double (0.5 ulp).  float64: scipy's ndtr is ~1500 ulp off in the far
        # left tail, so the erf/erfcx formulation (_special.ndtr_from_native).
        native = partial(_special.ndtr_from_native, ns, erf=sp.erf, erfcx=sp.erfcx)

        def ndtr(x):
            return sp.ndtr(x) if x.dtype == _F32 else native(x)

        return ndtr
    return None


def _ok(x):
    # float32/float64 arrays of at least one dimension: NumPy returns scalars,
    # not arrays, for 0-d operands, and the chains write into their `out`.
    return x.dtype in _FAST and x.ndim > 0


def _sigmoid_into(x, t):
    """t <- 1 / (1 + exp(-x)); exp overflow gives the limit 0."""
    np.negative(x, out=t)
    with _over():
        np.exp(t, out=t)
    t += 1
    return np.divide(1, t, out=t)


def _softplus_neg_abs(x):
    """log1p(exp(-|x|)) in a fresh buffer (never overflows)."""
    t = np.abs(x)
    np.negative(t, out=t)
    np.exp(t, out=t)
    return np.log1p(t, out=t)


def overrides(ns, generic):
    g = generic

    def relu(x):
        if x.dtype in _RELU:
            return np.maximum(x, x.dtype.type(0))  # NaN propagates; ints kept
        return g["relu"](x)

    def relu6(x):
        if x.dtype in _RELU and x.ndim:
            y = np.maximum(x, x.dtype.type(0))
            return np.minimum(y, x.dtype.type(6), out=y)
        return g["relu6"](x)

    def hard_tanh(x):
        if x.dtype in _RELU and x.ndim and x.dtype.kind != "u":
            return np.clip(x, x.dtype.type(-1), x.dtype.type(1))
        return g["hard_tanh"](x)

    def leaky_relu(x, negative_slope=0.01):
        # max(x, s x) for s <= 1 (min for s > 1): one product, one comparison.
        if _ok(x) and isinstance(negative_slope, float):
            y = np.multiply(x, negative_slope)
            return (np.maximum if negative_slope <= 1 else np.minimum)(x, y, out=y)
        return g["leaky_relu"](x, negative_slope)

    def sigmoid(x):
        if _ok(x):
            return _sigmoid_into(x, np.empty_like(x))
        return g["sigmoid"](x)

    def silu(x):
        # max(x, -1e4) / (1 + exp(-x)): silu(-inf) = -0, not -inf / inf.
        if _ok(x):
            t = np.negative(x)
            with _over():
                np.exp(t, out=t)
            t += 1
            return np.divide(np.maximum(x, -1.0e4), t, out=t)
        return g["silu"](x)

    def softplus(x, beta=1.0):
        if _ok(x) and type(beta) in (int, float) and beta == 1:
            t = _softplus_neg_abs(x)
            t += np.maximum(x, 0)
            return t
        return g["softplus"](x, beta)

    def log_sigmoid(x):
        if _ok(x):
            t = _softplus_neg_abs(x)
            return np.subtract(np.minimum(x, 0), t, out=t)
        return g["log_sigmoid"](x)

    def _elu_like(x, alpha, inner_scale, outer_pos):
        # alpha * expm1(min(x, 0) * inner) + outer_pos * max(x, 0)
        t = np.minimum(x, 0)
        if inner_scale != 1.0:
            t *= inner_scale
        np.expm1(t, out=t)
        t *= alpha
        p = np.maximum(x, 0)
        if outer_pos != 1.0:
            with _over():  # selu(x) > max overflows: the true result is inf
                p *= outer_pos
        t += p
        return t

    def elu(x, alpha=1.0):
        if _ok(x) and isinstance(alpha, float):
            return _elu_like(x, alpha, 1.0, 1.0)
        return g["elu"](x, alpha)

    def celu(x, alpha=1.0):
        if _ok(x) and isinstance(alpha, float):
            return _elu_like(x, alpha, 1.0 / alpha, 1.0)
        return g["celu"](x, alpha)

    def selu(x):
        if _ok(x):
            return _elu_like(x, SELU_SCALE * SELU_ALPHA, 1.0, SELU_SCALE)
        return g["selu"](x)

    gelu_generic = g["gelu"]

    def gelu(x, approximate=True):
        if not _ok(x):
            return gelu_generic(x, approximate)
        if approximate:
            # x / (1 + exp(-2u)), 2u = x (A + B x^2); the cube overflows to inf
            # only where the gate is exactly 0 or 1.
            with _over():
                t = np.multiply(x, x)
                t *= _B
                t += _A
                t *= x
                np.negative(t, out=t)
                np.exp(t, out=t)
            t += 1
            return np.divide(np.maximum(x, -1.0e4), t, out=t)
        p = ns.ndtr(x)
        return np.multiply(np.maximum(x, -40.0), p, out=p if p.dtype == x.dtype else None)

    def hard_sigmoid(x):
        if _ok(x):
            t = np.add(x, 3)
            np.clip(t, 0, 6, out=t)
            t /= 6
            return t
        return g["hard_sigmoid"](x)

    def hard_silu(x):
        if _ok(x):
            xc = np.maximum(x, -4.0)  # hard_silu(-inf) = 0, not -inf * 0
            t = np.add(xc, 3)
            np.clip(t, 0, 6, out=t)
            t /= 6
            t *= xc  # after the division: xc * 6 would overflow near the max
            return t
        return g["hard_silu"](x)

    def tanh(x):
        if _ok(x):
            return np.tanh(x)
        return g["tanh"](x)

    def soft_sign(x):
        # clip to +-1e30 first: inf / inf would be NaN; x / (|x| + 1) is +-1 there.
        if _ok(x):
            xc = np.clip(x, -1.0e30, 1.0e30)
            a = np.abs(xc)
            a += 1
            return np.divide(xc, a, out=a)
        return g["soft_sign"](x)

    def _finite_max(x, axes, *params):
        """The max over ``axes`` when the fast path applies: no mask, initial or
        b, float32/64, every slice with a finite max (+inf entries, all -inf
        slices and NaN take the generic body)."""
        if x.dtype not in _FAST or x.size == 0 or x.ndim == 0 or any(p is not None for p in params):
            return None
        m = np.max(x, axis=axes, keepdims=True)
        return m if np.isfinite(m).all() else None

    def _lse(x, axes, m):
        # As the generic body: the maxima count exactly 1 each, the rest is
        # summed apart, log1p((count - 1) + rest) keeps terms below eps.
        sh = np.subtract(x, m)
        top = sh == 0
        e = np.exp(sh)
        np.copyto(e, 0, where=top)
        rest = e.sum(axis=axes, keepdims=True)
        count = top.sum(axis=axes, keepdims=True).astype(x.dtype)
        count -= 1
        count += rest
        return sh, np.log1p(count, out=count)

    def softmax(x, axes=(-1,), where=None, initial=None):
        m = _finite_max(x, axes, where, initial)
        if m is None:
            return g["softmax"](x, axes, where, initial)
        y = np.subtract(x, m)
        np.exp(y, out=y)
        y /= y.sum(axis=axes, keepdims=True)
        return y

    def log_softmax(x, axes=(-1,), where=None, initial=None):
        m = _finite_max(x, axes, where, initial)
        if m is None:
            return g["log_softmax"](x, axes, where, initial)
        sh, lse = _lse(x, axes, m)
        sh -= lse
        return sh

    def logsumexp(a, axes=None, b=None, keepdims=False, return_sign=False, where=None):
        m = None if return_sign else _finite_max(a, axes, b, where)
        if m is None:
            return g["logsumexp"](a, axes, b, keepdims, return_sign, where)
        _, lse = _lse(a, axes, m)
        out = m + lse
        return out if keepdims else np.squeeze(out, axis=axes)

    return dict(relu=relu, relu6=relu6, hard_tanh=hard_tanh, leaky_relu=leaky_relu,
                sigmoid=sigmoid, silu=silu, softplus=softplus, log_sigmoid=log_sigmoid,
                elu=elu, celu=celu, selu=selu, gelu=gelu, hard_sigmoid=hard_sigmoid,
                hard_silu=hard_silu, tanh=tanh, soft_sign=soft_sign, softmax=softmax,
                log_softmax=log_softmax, logsumexp=logsumexp)
