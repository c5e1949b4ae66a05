"""Generic reductions and shape-changing functions: softmax family, logsumexp,
standardize, glu, one_hot.

``axes`` arrives normalized by the public layer: a tuple of non-negative ints.
"""

from __future__ import annotations

import math

from ._dtypes import as_param, as_work, default_float, device_of, finish
from .elementwise import _sigmoid

_INF = math.inf
_NAN = math.nan


def _empty_along(x, axes):
    # any zero-size input: dask (and NumPy for a zero-size reduced axis) cannot
    # take the max of nothing; the result is decided by the shape alone.
    return any(n == 0 for n in x.shape)


def _shift(xp, x, axes, mask, initial):
    """Masked input shifted by its maximum, with SPEC.md's infinity rules.

    Returns ``(sh, m)``: ``sh`` is ``x - max`` (``-inf`` where masked out); where a
    slice holds ``+inf`` its ``+inf`` entries become 0 and the rest ``-inf`` (the
    limit); a slice with no finite maximum (all ``-inf``/masked) keeps ``-inf``.
    Every entry equal to the maximum is exactly 0 (``initial`` aside).
    """
    xm = x if mask is None else xp.where(mask, x, -_INF)
    m = xp.max(xm, axis=axes, keepdims=True)
    if initial is not None:
        m = xp.maximum(m, as_param(xp, initial, m))
    m_fin = xp.where(xp.isinf(m), 0.0, m)  # NaN stays NaN
    posinf = m == _INF
    sh = xp.where(posinf, 0.0, xm - m_fin)
    sh = xp.where(posinf & (xm != _INF), -_INF, sh)
    return sh, m


def _split_sums(xp, sh, e, axes):
    top = sh == 0
    t = xp.sum(xp.where(top, e, 0.0), axis=axes, keepdims=True)
    r = xp.sum(xp.where(top, 0.0, e), axis=axes, keepdims=True)
    return t, r


def _log_abs(xp, t, r):
    """``(log|t + r|, t + r)``: log1p near 1, log elsewhere, 0 where the sum is 0."""
    total = t + r
    u = (t - 1.0) + r
    # log1p near 1; not below u = -0.2, where XLA's float64 log1p is off by
    # up to 128 ulp (log there is well conditioned anyway)
    near1 = (u > -0.2) & (u < 0.5)
    v1 = xp.log1p(xp.where(near1, u, 0.0))
    v2 = xp.log(xp.where(near1 | (total == 0), 1.0, xp.abs(total)))
    return xp.where(near1, v1, v2), total


def softmax(xp, x, axes=(-1,), where=None, initial=None):
    x, dt = as_work(xp, x, "softmax")
    if _empty_along(x, axes):
        return finish(xp, x, dt)
    sh, _ = _shift(xp, x, axes, where, initial)
    e = xp.exp(sh)
    s = xp.sum(e, axis=axes, keepdims=True)
    # An all -inf / fully masked slice: e == 0 everywhere, 0 / 1 == 0.
    return finish(xp, e / xp.where(s > 0, s, 1.0), dt)


def log_softmax(xp, x, axes=(-1,), where=None, initial=None):
    x, dt = as_work(xp, x, "log_softmax")
    if _empty_along(x, axes):
        return finish(xp, x, dt)
    sh, _ = _shift(xp, x, axes, where, initial)
    t, r = _split_sums(xp, sh, xp.exp(sh), axes)
    lse, _ = _log_abs(xp, t, r)
    return finish(xp, sh - lse, dt)


def logsumexp(xp, a, axes=None, b=None, keepdims=False, return_sign=False, where=None):
    a, dt = as_work(xp, a, "logsumexp")
    mask = where
    if b is not None:
        b = as_param(xp, b, a)
        if not isinstance(b, (int, float)) and tuple(b.shape) != tuple(a.shape):
            a, b = xp.broadcast_arrays(a, b)
        # b == 0 excludes the entry, even an infinite one.
        nz = b != 0
        mask = nz if mask is None else (mask & nz)
    if _empty_along(a, axes):
        # sum over nothing is 0 (log: -inf); other empty inputs give empty output
        fill = -_INF if any(a.shape[i] == 0 for i in axes) else 0.0
        out = xp.full(tuple(1 if i in axes else n for i, n in enumerate(a.shape)),
                      fill, dtype=a.dtype, device=device_of(xp, a))
        sign = xp.zeros_like(out)
    else:
        sh, m = _shift(xp, a, axes, mask, None)
        e = xp.exp(sh)
        if b is not None:
            e = e * b
        t, r = _split_sums(xp, sh, e, axes)
        lse, total = _log_abs(xp, t, r)
        # total == 0 (all -inf, all excluded): -inf, and no gradient through m.
        out = xp.where(total == 0, -_INF, m + lse)
        # sign via where: array_api_compat's torch sign writes through a boolean
        # mask, which torch.func.vmap cannot batch (NaN stays NaN, 0 stays 0)
        sign = xp.where(total > 0, 1.0, xp.where(total < 0, -1.0, total))
        if not return_sign:
            out = xp.where(total < 0, _NAN, out)
    if not keepdims:
        # reshape, not squeeze: array_api_compat's torch squeeze over a tuple of
        # axes indexes with a boolean mask, which torch.func.vmap cannot batch
        shape = tuple(n for i, n in enumerate(out.shape) if i not in axes)
        out = xp.reshape(out, shape)
        sign = xp.reshape(sign, shape)
    out = finish(xp, out, dt)
    return (out, finish(xp, sign, dt)) if return_sign else out


def _count(xp, x, axes, where):
    """``(count, mask)``: entries counted per slice (a Python float without a
    mask) and the mask broadcast to ``x``'s shape (or None)."""
    if where is None:
        n = 1
        for a in axes:
            n *= x.shape[a]
        return float(n), None
    w = xp.broadcast_to(where, x.shape) if tuple(where.shape) != tuple(x.shape) else where
    return xp.sum(xp.astype(w, x.dtype), axis=axes, keepdims=True), w


def standardize(xp, x, axes=(-1,), mean=None, variance=None, epsilon=1e-5, where=None):
    x, dt = as_work(xp, x, "standardize")
    count, w = _count(xp, x, axes, where)

    def _mean(v):
        s = xp.sum(v if w is None else xp.where(w, v, 0.0), axis=axes, keepdims=True)
        if isinstance(count, float):
            return s / count if count > 0 else xp.full_like(s, _NAN)
        return xp.where(count > 0, s / xp.where(count > 0, count, 1.0), _NAN)

    mu = _mean(x) if mean is None else as_param(xp, mean, x)
    if variance is None:
        # Two-pass with the compensation term (Chan, Golub & LeVeque): the
        # deviations are taken from the data's own mean, whatever `mean` says.
        mu_data = mu if mean is None else _mean(x)
        d = x - mu_data
        var = _mean(d * d) - _mean(d) ** 2
        var = xp.where(var > 0, var, 0.0)  # the correction can round below 0
    else:
        var = as_param(xp, variance, x)
    den = math.sqrt(var + epsilon) if isinstance(var, (int, float)) else xp.sqrt(var + epsilon)
    return finish(xp, (x - mu) / den, dt)


def glu(xp, x, axis=-1):
    x, dt = as_work(xp, x, "glu")
    h = x.shape[axis] // 2
    first = [slice(None)] * x.ndim
    second = [slice(None)] * x.ndim
    first[axis] = slice(0, h)
    second[axis] = slice(h, 2 * h)
    return finish(xp, x[tuple(first)] * _sigmoid(xp, x[tuple(second)]), dt)


def one_hot(xp, x, num_classes, dtype=None, axis=-1):
    if not xp.isdtype(x.dtype, "integral"):
        raise TypeError(
            f"multiact.one_hot: argument 'x' must have an integer dtype, got {x.dtype}"
        )
    if dtype is None:
        dtype = default_float(xp, x)
    classes = xp.arange(num_classes, device=device_of(xp, x))
    xi = x if x.dtype == classes.dtype else xp.astype(x, classes.dtype)
    y = xp.astype(xi[..., None] == classes, dtype)
    nd = y.ndim
    ax = axis % nd
    return y if ax == nd - 1 else xp.moveaxis(y, -1, ax)
