r"""Generic reductions and shape-changing functions: the softmax family,
logsumexp, logmeanexp, standardize, glu, one_hot, sparsemax.

``axes`` arrives normalised by the public layer: a sorted tuple of
non-negative ints (``axis`` for the single-axis functions: a non-negative int).
"""

from __future__ import annotations

import math

from . import _formulas as fm
from . import elementwise as E
from ._dtypes import as_param, as_work, default_float, device_of, finish

_INF = math.inf
_NAN = math.nan


def _empty(x):
    # any zero-size input: dask (and NumPy for a zero-size reduced axis) cannot
    # take the max of nothing; the result is decided by the shape alone.  Only
    # Python-int sizes count: unknown (None, NaN) and traced (jit.trace) sizes
    # are not known to be 0.
    return any(type(n) is int and n == 0 for n in x.shape)


def _reduced_shape(x, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(x.shape))


def softmax(xp, x, axis=(-1,), where=None, initial=None):
    r"""Softmax.

    .. math:: \mathrm{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},
              \quad m = \max_j x_j

    Masked-out entries (``where`` False) are 0.  A fully masked slice, or one
    that is all ``-inf``, is all 0 with zero gradient (never NaN).  ``+inf``
    entries take the limit: ``softmax([inf, 0]) == [1, 0]``.

    Args:
      x: input array.
      axis: int, tuple of ints, or None (all axes); default -1.
      where: optional boolean mask broadcastable to ``x``, from ``x``'s library.
      initial: optional scalar lower bound for the shift ``m`` (JAX's and Flax's
        signature): checked, and changes no value; never required.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.softmax(np.array([np.inf, 0.0, np.inf]))
      array([0.5, 0. , 0.5])
    """
    x, dt = as_work(xp, x, "softmax")
    if _empty(x):
        return finish(xp, x, dt)
    sh, _ = fm.shift_by_max(xp, x, axis, where)  # (initial: checked, changes nothing)
    e = xp.exp(sh)
    s = xp.sum(e, axis=axis, keepdims=True)
    # An all -inf / fully masked slice: e == 0 everywhere, 0 / 1 == 0.  A slice with
    # NaN sums NaN, which stays (s > 0 made it 1: every other entry of the slice came
    # out unnormalised where XLA's max had dropped the NaN; decision 178)
    return finish(xp, e / xp.where(s == 0, 1.0, s), dt)


def log_softmax(xp, x, axis=(-1,), where=None, initial=None):
    r"""Log-softmax.

    .. math:: \mathrm{log\_softmax}(x)_i = x_i - \log \sum_j e^{x_j}

    Masked-out entries are ``-inf``; a fully masked slice is all ``-inf`` (never
    NaN).  Entries near 0 keep relative accuracy:
    ``log_softmax([1 - log(eps), 0])[0]`` is ``-4.4e-8`` in float32, not 0.

    Args:
      x: input array.
      axis: int, tuple of ints, or None (all axes); default -1.
      where: optional boolean mask broadcastable to ``x``.
      initial: optional scalar lower bound for the shift: checked, and changes
        no value; never required.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.log_softmax(np.array([0.0, 0.0]))
      array([-0.69314718, -0.69314718])
    """
    x, dt = as_work(xp, x, "log_softmax")
    if _empty(x):
        return finish(xp, x, dt)
    sh, _ = fm.shift_by_max(xp, x, axis, where)  # (initial: checked, changes nothing)
    t, r = fm.unit_sums(xp, sh, xp.exp(sh), axis)
    lse, _ = fm.log_abs(xp, t, r)
    return finish(xp, sh - lse, dt)


def softmin(xp, x, axis=(-1,), where=None, initial=None):
    r"""Softmin: the softmax of ``-x``.

    .. math:: \mathrm{softmin}(x)_i = \frac{e^{-x_i}}{\sum_j e^{-x_j}}

    Args:
      x: input array.
      axis: int, tuple of ints or None; default -1.
      where: optional boolean mask.
      initial: optional scalar (a lower bound for the shift of ``-x``): checked,
        and changes no value; never required.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.softmin(np.array([0.0, np.log(3.0)]))
      array([0.75, 0.25])
    """
    x, dt = as_work(xp, x, "softmin")
    return finish(xp, softmax(xp, -x, axis, where, initial), dt)


def logsumexp(xp, a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    r"""Log of the sum of exponentials.

    .. math:: \mathrm{logsumexp}(a) = \log \sum_i b_i e^{a_i}

    ``b == 0`` excludes an entry (even ``inf``); all ``-inf`` gives ``-inf`` with
    zero gradient; small terms are kept (``logsumexp([0, -40]) == 4.248e-18`` in
    float64); float16/bfloat16 accumulate in float32.  A negative sum is NaN
    unless ``return_sign=True``, which returns ``(log|sum|, sign)``.

    Args:
      a: input array.
      axis: int, tuple of ints, or None (all axes, the default), of the shape ``a``
        and ``b`` broadcast to.
      b: optional scale factors, a scalar or an array that broadcasts with ``a`` (as
        in SciPy and JAX); a floating ``b`` takes part in the result's dtype
        (``float32`` ``a`` with ``float64`` ``b`` gives ``float64``).
      keepdims: keep the reduced axes as size-1 dimensions.
      return_sign: also return the sign of the sum.
      where: optional boolean mask of the entries to include.

    Example:
      >>> import numpy as np, multiact
      >>> float(multiact.logsumexp(np.array([0.0, -40.0])))
      4.248354255291589e-18
    """
    a, dt = as_work(xp, a, "logsumexp", argname="a")
    # a floating b takes part in the result's dtype; JAX's weakly typed one
    # (jnp.asarray(2.0), a Python number under jit) does not, as in JAX's promotion
    if b is not None and not isinstance(b, (int, float)) and not getattr(
            b, "weak_type", False) and xp.isdtype(b.dtype, "real floating"):
        a, dt = _promote_with(xp, a, dt, b.dtype)
    mask, nz, lb = where, None, None
    if b is not None:
        b = as_param(xp, b, a)
        if isinstance(b, (int, float)) and b == 0:
            b = xp.zeros_like(a)  # every entry excluded
        elif isinstance(b, (int, float)) and not (
                fm.NORMAL_FLOOR[1] <= abs(b) and (a.dtype != xp.float32 or
                                                  fm.NORMAL_FLOOR[0] <= abs(b) <= fm.F32_MAX)):
            # a Python weight that a's dtype does not hold (float32: 1e-50 is 0, 1e40
            # inf; a subnormal keeps few digits): log|b| joins the result, which holds
            # it (-inf and inf before, as SciPy's and JAX's; decision 146)
            lb, sb, b = math.log(abs(b)), math.copysign(1.0, b), None
        if b is not None and not isinstance(b, (int, float)):
            if fm.same_shape(b.shape, a.shape):
                pass
            elif all(fm.known(n) for n in a.shape + b.shape):
                a, b = xp.broadcast_arrays(a, b)
            else:  # dask's unknown sizes, which broadcast_arrays refuses: by an operation
                a, b = a + xp.zeros_like(b), b + xp.zeros_like(a)
            # b == 0 excludes the entry, even an infinite one.
            nz = b != 0
            mask = nz if mask is None else (mask & nz)
    if _empty(a):
        # sum over nothing is 0 (log: -inf); other empty inputs give empty output
        # (a sum of nothing: 0, and a graph for autodiff, so backward() gives 0)
        fill = -_INF if any(a.shape[i] == 0 for i in axis) else 0.0
        out = xp.sum(a, axis=axis, keepdims=True) * 0.0 + fill
        sign = xp.zeros_like(out)
    else:
        # with weights, the result takes no derivative through the shift, only
        # through the sums: autodiff of m + log(T + R) in m is 1 - (T + R) / (1 + u),
        # a rounding, sent to the maximum's entry, whose derivative is its weight's
        # share (32% off at a share of 2e-7 in float32; decision 195); without
        # weights it cancels exactly (T is 1, and 1 + u is T + R), and m's derivative
        # stays (an all -inf or +inf slice's: the contract's limits)
        sh, m = fm.shift_by_max(xp, a, axis, mask, constant=b is not None)
        # each term e^(a - m) to the first order: the rounded shift's error added, as a
        # constant of differentiation, where the shift's rounding was 16.5-21.8 ulp of
        # float32 results near 0 (decision 215); the derivatives are the shift by m's
        e = xp.exp(sh)
        e = e + xp.stop_gradient(e * fm.shift_error(xp, a, sh, m))
        if b is None:
            t, r = fm.unit_sums(xp, sh, e, axis)
        else:
            eb = e * b
            if nz is not None:
                # an entry that b == 0 excludes adds 0, with the derivative in its b
                # that the sum has there, e^(a - m): autodiff of the masked exp gave
                # 0, and a weight at 0 got no gradient (decision 129); none where
                # e^(a - m) overflows, or beyond a slice that is all excluded
                off = ~nz if where is None else (where & ~nz)
                off = off & (xp.abs(a) < _INF) & (xp.abs(m) < _INF)
                g = xp.shift(xp.where(off, a, 0.0), xp.stop_gradient(xp.where(off, m, 0.0)))
                g = xp.where(off & (g < (88.0 if a.dtype == xp.float32 else 709.0)), g, -_INF)
                eb = eb + xp.exp(g) * b
            t, r = fm.split_sums(xp, sh, eb, axis)
        lse, total = fm.log_abs(xp, t, r)
        if lb is not None:
            lse, total = lse + lb, total * sb
        if b is not None:  # (+inf's: m's derivative, the contract's [1, 0] for [inf, 0])
            m = xp.where(m == _INF, m, xp.stop_gradient(m))
        # total == 0 (all -inf, all excluded): -inf, and no gradient through m.
        out = xp.where(total == 0, -_INF, m + lse)
        # sign via where: array_api_compat's torch sign writes through a boolean
        # mask, which torch.func.vmap cannot batch (NaN stays NaN, 0 stays 0)
        sign = xp.where(total > 0, 1.0, xp.where(total < 0, -1.0, total))
        if not return_sign:
            out = xp.where(total < 0, _NAN, out)
    if not keepdims:
        out = fm.drop_axes(xp, out, axis)
        sign = fm.drop_axes(xp, sign, axis)
    out = finish(xp, out, dt)
    return (out, finish(xp, sign, dt)) if return_sign else out


def _promote_with(xp, x, dt, other):
    """``(x, dt)`` of ``as_work`` for the floating dtype ``x``'s promotes to with
    ``other`` (the Array API's rule: the wider one; float16 with bfloat16 is float32).
    Comparing sizes, not ``result_type`` (which torch.compile cannot trace on tensors)."""
    have = x.dtype if dt is None else dt
    if other == have:
        return x, dt
    mine, theirs = xp.finfo(have).bits, xp.finfo(other).bits
    if theirs < mine:
        return x, dt
    if theirs == mine:  # float16 and bfloat16: float32 (x is float32 already)
        return x, None
    if theirs < 32:     # a half other with integer-promoted x cannot be wider; kept
        return x, dt
    return (x if x.dtype == other else xp.astype(x, other)), None


def logmeanexp(xp, x, axis=None, where=None, keepdims=False):
    r"""Log of the mean of exponentials.

    .. math:: \mathrm{logmeanexp}(x) = \log \frac{1}{n}\sum_i e^{x_i}

    As accurate as :func:`logsumexp` (the mean of equal entries is exactly
    their value; entries near their maximum keep their digits through ``expm1``);
    a slice with nothing to count is NaN.  Where the result is near 0 while the
    maximum is not, the two parts of ``max + log(mean(exp(x - max)))`` cancel and
    the error is relative to the maximum.

    Args:
      x: input array.
      axis: int, tuple of ints or None (all axes, the default).
      where: optional boolean mask of the entries to count.
      keepdims: keep the reduced axes as size-1 dimensions.

    Example:
      >>> import numpy as np, multiact
      >>> float(multiact.logmeanexp(np.array([2.0, 2.0, 2.0])))
      2.0
    """
    x, dt = as_work(xp, x, "logmeanexp")
    n, w = fm.count(xp, x, axis, where)
    if _empty(x):
        # NaN (nothing to count, or empty output), and a graph for autodiff, as
        # logsumexp's: an empty batch's backward() gives 0 (a full NaN had no graph)
        out = xp.sum(x, axis=axis, keepdims=True) * 0.0 + _NAN
    else:
        sh, m = fm.shift_by_max(xp, x, axis, where)
        # (a Python or symbolic count is positive here: torch.export's dynamic sizes)
        # (type, not isinstance: NumPy's sum of a 0-d mask is a float64 scalar, a float
        # subclass, which may be 0: it was -inf with two warnings; decision 178)
        counted = type(n) is float or type(n).__name__ in _SYMBOLIC
        safe_n = n if counted else xp.where(n > 0, n, 1.0)
        e = xp.exp(sh)
        total = xp.sum(e, axis=axis, keepdims=True)
        # u = mean(exp(sh)) - 1, the mean's difference from 1, term by term: expm1(sh)
        # for the entries near the maximum (sh > -1), where exp's rounding of each term
        # was an absolute error of eps / 2 (every digit of a result near 0; decision
        # 133), and exp(sh) - 1 of the rest as (their sum - their count), which keeps
        # their small terms' digits (a count is exact; an entry not counted is none)
        far = sh <= -1.0
        k = far if w is None else far & w
        s_far = xp.sum(xp.where(far, e, 0.0), axis=axis, keepdims=True)
        k_far = xp.sum(xp.astype(k, e.dtype), axis=axis, keepdims=True)
        s_near = xp.sum(xp.where(far, 0.0, xp.expm1(xp.where(far, 0.0, sh))), axis=axis,
                        keepdims=True)
        u = ((s_far - k_far) + s_near) / safe_n
        near = u > -0.2  # (log1p as in fm.log_abs; log(total / n) is accurate below)
        lse = xp.where(near, xp.log1p(xp.where(near, u, 0.0)),
                       xp.log(xp.where(near | (total == 0), 1.0, total / safe_n)))
        out = xp.where(total == 0, -_INF, m + lse)
        if not counted:
            out = xp.where(n > 0, out, _NAN)
    if not keepdims:
        out = fm.drop_axes(xp, out, axis)
    return finish(xp, out, dt)


def standardize(xp, x, axis=(-1,), mean=None, variance=None, epsilon=1e-5, where=None):
    r"""Standardize.

    .. math:: \mathrm{standardize}(x) = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}

    The mean and variance are taken over ``axis`` counting only ``where``; the
    variance uses the (compensated) two-pass formula, so data with a large mean
    keeps its digits.  A slice with nothing to count gives NaN (no warning), with a
    zero gradient: a padded row that the loss selects away leaks no NaN.

    Args:
      x: input array.
      axis: int, tuple of ints or None; default -1.
      mean: optional precomputed mean (scalar or array broadcastable to ``x``).
      variance: optional precomputed variance (scalar >= 0 or array).
      epsilon: finite scalar >= 0 added to the variance (default 1e-5).
      where: optional boolean mask of the entries to count.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.standardize(np.array([1e8 + 1, 1e8 + 3]), epsilon=0.0)
      array([-1.,  1.])
    """
    x, dt = as_work(xp, x, "standardize")
    s = _standardize_stats(xp, x, axis, mean, variance, epsilon, where)
    far = None if s.w is None else _padding(xp, x, s.w)
    if s.w is None and s.d is not None and mean is None:
        t = s.d  # (x - mu: the deviations the statistics took)
    else:
        t = (x if far is None else xp.where(far, 0.0, x)) - s.mu
    # the deviation from the mean corrected by the compensation term (s.dbar: the
    # mean's rounding, |mean| / std units of an entry's error before; decision 160)
    y = xp.quotient(t if s.dbar is None or mean is not None else t - s.dbar, s.den)
    if far is not None:
        # its value by constants: no derivative, in x or the statistics (decision 154;
        # NaN as the mask's 0 or 1 times NaN)
        nan = xp.astype(far, x.dtype) * _NAN
        y = xp.where(far, xp.where(x > 0, _INF, xp.where(x < 0, -_INF, nan)), y)
    return finish(xp, y if s.undefined is None else xp.where(s.undefined, _NAN, y), dt)


def _padding(xp, x, w):
    """Where ``x`` is NaN or infinite and the mask ``w`` leaves it out (padding).
    Such an entry's output is ``+-inf`` or NaN, as ``(x - mean) / sigma`` is
    where ``mean`` and ``sigma`` are finite, but no derivative reaches the slice's
    statistics from it: ``0 * NaN`` would make every entry's gradient NaN where
    a loss selects the entry away."""
    return ~(w | (xp.abs(x) < _INF))


class _Stats:
    """What :func:`standardize` takes of a slice, and its derivative with it:
    ``mu`` (the mean used), ``den`` (``sqrt(var + epsilon)``), ``var`` (None
    where the variance is given), ``d`` and ``dbar`` (the deviations from the
    data's own mean and their mean: the compensation term), ``n`` and ``w``
    (:func:`fm.count`'s count and mask), ``undefined`` (where a statistic the
    slice needs has nothing to count: its output is NaN; None where none can be).
    Such a slice computes with a mean of 0 and ``den`` 1 behind the select, so its
    gradient is 0, not NaN: a padded row selected away by the loss leaks NaN
    nowhere (decision 134)."""

    __slots__ = ("mu", "den", "var", "d", "dbar", "n", "w", "undefined")


#: the types of torch's symbolic sizes (torch.compile's dynamic shapes, where a custom
#: operator's formula is traced: ``_torch_autograd.GRAPH_OPS``): a count of them is a
#: number, not an array, as a Python float is (by name: this module imports no framework)
_SYMBOLIC = ("SymInt", "SymFloat")


def _standardize_stats(xp, x, axis, mean, variance, epsilon, where):
    s = _Stats()
    s.n, s.w = n, w = fm.count(xp, x, axis, where)
    if w is not None:  # the statistics of the counted entries only (_padding)
        x = xp.where(w, x, 0.0)

    counts = not (type(n) is float or type(n).__name__ in _SYMBOLIC)  # an array (or NumPy scalar)
    s.undefined = (n == 0) if counts and (mean is None or variance is None) else None

    def _mean(v, sum_=xp.sum):  # (sum_: xp.sum_squares for the mean of v's squares)
        t = sum_(v if w is None else xp.where(w, v, 0.0), axis=axis, keepdims=True)
        if not counts:
            return t / n if n > 0 else xp.full_like(t, _NAN)
        return t / xp.where(n > 0, n, 1.0)  # (0 where nothing is counted: s.undefined)

    s.mu = _mean(x) if mean is None else as_param(xp, mean, x)
    s.var = s.d = s.dbar = None
    if variance is None or mean is None:
        # Two-pass with the compensation term (Chan, Golub & LeVeque): the
        # deviations are taken from the data's own mean, whatever `mean` says (and
        # corrected by their mean in the output where it is the data's: decision 160)
        s.d = x - (s.mu if mean is None else _mean(x))
        s.dbar = _mean(s.d)
    if variance is None:
        if epsilon == 0:  # (0 where every deviation is dbar: a constant slice's 0 / 0
            # is NaN; XLA's mean(d d) - dbar^2 multiplies by 1 / n, and left 1e-24 there)
            var = _mean(s.d - s.dbar, xp.sum_squares)
        else:
            squares = _mean(s.d, xp.sum_squares)
            # a mean of squares past the dtype's largest number is inf, and dbar^2 was
            # too: inf - inf, NaN, taken for 0 below, and the slice came out at +-inf
            # (x - mean over sqrt(epsilon)) where the contract says 0.  There the
            # correction is 0: an infinite variance (decision 178)
            dbar = xp.where(squares == _INF, 0.0, s.dbar)
            var = squares - dbar * dbar
        s.var = var = xp.where(var > 0, var, 0.0)  # the correction can round below 0
    else:
        var = as_param(xp, variance, x)
    if isinstance(var, (int, float)):
        s.den = math.sqrt(var + epsilon)  # a Python number: no math on a symbolic value
        if s.undefined is not None and s.den == 0.0:  # (x / 0's derivative: 0 inf NaN)
            s.den = xp.where(s.undefined, 1.0, s.n * 0.0)  # (n: finite counts)
    elif s.undefined is None:
        s.den = xp.sqrt(var + epsilon)
    else:  # (epsilon 0: sqrt's derivative at a variance of 0 is inf, 0 inf NaN)
        s.den = xp.sqrt(xp.where(s.undefined, 1.0, var + epsilon))
    return s


def standardize_vjp(xp, x, g, axis=(-1,), mean=None, variance=None, epsilon=1e-5,
                    where=None):
    r"""The vector-Jacobian product ``g J(x)`` of :func:`standardize` (its
    arguments as there), written out.

    .. math:: \bar x_j = \frac{1}{\sigma}\Big(g_j - w_j \frac{\sum_i g_i}{n}
              - w_j (d_j - \bar d) \frac{\sum_i g_i (x_i - \mu)}{n \sigma^2}\Big)

    with ``w`` the mask (1 where counted), ``n`` the count, ``d = x - mean_w(x)``,
    ``\bar d = mean_w(d)`` (the compensation term's), ``\sigma = sqrt(var +
    epsilon)``; the second term only where the mean is the data's (``mean`` None),
    the third only where the variance is (``variance`` None) and positive (the
    clamp at 0 passes no gradient).  The sums over ``i`` take every entry: each
    output depends on the slice's mean and variance, counted or not.  Autograd's
    derivative of the body, in closed form: the CPU tier's compiled backward
    (``FuncInfo.vjp``; Inductor's code of autograd's divides each element by
    ``\sigma`` twice: 1.51-1.54x ``F.layer_norm``'s backward on rows of 10000
    float32, this 0.99-1.07x; decision 84).
    ``1 / \sigma`` is taken once a slice and each term multiplied by it: one more
    rounding than a division, a fraction of the sums' own.
    """
    x, dt = as_work(xp, x, "standardize")
    g = g if g.dtype == x.dtype else xp.astype(g, x.dtype)
    s = _standardize_stats(xp, x, axis, mean, variance, epsilon, where)
    if s.w is not None:  # padding: its output is constant (_padding)
        far = _padding(xp, x, s.w)
        x, g = xp.where(far, 0.0, x), xp.where(far, 0.0, g)

    def counted(v, zero=0.0):  # v where counted, else zero (a select: v may be NaN)
        return v if s.w is None else xp.where(s.w, v, zero)

    r = 1.0 / s.den if not isinstance(s.den, float) else \
        (1.0 / s.den if s.den else math.inf)
    n = s.n if s.undefined is None else xp.where(s.undefined, 1.0, s.n)
    gx = g * r
    if mean is None:
        # + (r - r): NaN where sigma = 0 (autograd's sum of the slice's g / 0, +-inf, is
        # NaN), else 0; a slice's scalar
        gx = gx - counted(xp.sum(g, axis=axis, keepdims=True) / n * r + (r - r))
    if variance is None:
        c = xp.sum(g * (x - s.mu), axis=axis, keepdims=True) / (n * s.den * s.den) * r
        # not counted: 0 d, as autograd's (the derivative of d d, times 0)
        gx = gx - counted((s.d - s.dbar) * xp.where(s.var > 0, c, 0.0), 0.0 * s.d)
    if s.undefined is not None:  # a slice with nothing to count: 0 (decision 134)
        gx = xp.where(s.undefined, 0.0, gx)
    return finish(xp, gx, dt)


def glu(xp, x, axis=-1):
    r"""Gated linear unit.

    .. math:: \mathrm{glu}(x) = a \cdot \mathrm{sigmoid}(b)

    where ``a, b`` are the first and second halves of ``x`` along ``axis``.

    Args:
      x: input array; its size along ``axis`` must be even.
      axis: the axis to split (int, default -1).

    Raises:
      ValueError: if the size along ``axis`` is odd.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.glu(np.array([1.0, 2.0, 0.0, 100.0]))
      array([0.5, 2. ])
    """
    x, dt = as_work(xp, x, "glu")
    a, b = fm.halves(xp, x, axis, "glu")
    return finish(xp, a * E.activation_of(xp, "sigmoid", b), dt)


def swiglu(xp, x, axis=-1):
    r"""SwiGLU, the gate of LLaMA- and PaLM-style MLPs.

    .. math:: \mathrm{swiglu}(x) = \mathrm{silu}(a) \cdot b

    where ``a, b`` are the first and second halves of ``x`` along ``axis`` (as
    :func:`glu` splits), and ``silu`` is multiact's (accurate in both tails).

    Args:
      x: input array; its size along ``axis`` must be even.
      axis: the axis to split (int, default -1).

    Raises:
      ValueError: if the size along ``axis`` is odd.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.swiglu(np.array([0.0, 2.0, 3.0, 0.5]))
      array([0.        , 0.88079708])
    """
    x, dt = as_work(xp, x, "swiglu")
    a, b = fm.halves(xp, x, axis, "swiglu")
    return finish(xp, E.activation_of(xp, "silu", a) * b, dt)


def geglu(xp, x, axis=-1, approximate=True):
    r"""GeGLU, the GELU-gated unit of T5- and Gemma-style MLPs.

    .. math:: \mathrm{geglu}(x) = \mathrm{gelu}(a) \cdot b

    where ``a, b`` are the first and second halves of ``x`` along ``axis`` (as
    :func:`glu` splits), and ``gelu`` is multiact's, in the tanh form by default
    (``approximate=False``: the exact form).

    Args:
      x: input array; its size along ``axis`` must be even.
      axis: the axis to split (int, default -1).
      approximate: the tanh form (True, the default) or the exact one (False).

    Raises:
      ValueError: if the size along ``axis`` is odd.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.geglu(np.array([0.0, 2.0, 3.0, 0.5]), approximate=False)
      array([0.        , 0.97724987])
    """
    x, dt = as_work(xp, x, "geglu")
    a, b = fm.halves(xp, x, axis, "geglu")
    return finish(xp, E.activation_of(xp, "gelu", a, approximate) * b, dt)


def one_hot(xp, x, num_classes, dtype=None, axis=-1):
    r"""One-hot encoding: ``x[..., None] == arange(num_classes)``, moved to ``axis``.

    .. math:: \mathrm{one\_hot}(x)_{\dots, k} = [x_{\dots} = k], \quad 0 \le k < n

    Indices outside ``[0, num_classes)`` give all-zero rows.

    Args:
      x: integer array of indices (any supported library).
      num_classes: positive Python int.
      dtype: output dtype, a dtype of ``x``'s library or its name (``"float32"``,
        resolved in that library); default: that library's default real floating
        dtype on ``x``'s device.
      axis: where the new axis goes (default -1).

    Raises:
      TypeError: if ``x`` is not an integer array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.one_hot(np.array([0, 2, -1]), 3)
      array([[1., 0., 0.],
             [0., 0., 1.],
             [0., 0., 0.]])
    """
    if not xp.isdtype(x.dtype, "integral"):
        raise TypeError(f"multiact.one_hot: argument 'x' must have an integer dtype, "
                        f"got {x.dtype}")
    if dtype is None:
        dtype = default_float(xp, x)
    classes = xp.arange(num_classes, device=device_of(xp, x))
    xi = x if x.dtype == classes.dtype else xp.astype(x, classes.dtype)
    y = xp.astype(xi[..., None] == classes, dtype)
    nd = y.ndim
    ax = axis % nd
    return y if ax == nd - 1 else xp.moveaxis(y, -1, ax)


def sparsemax(xp, x, axis=-1):
    r"""Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of ``x``
    onto the probability simplex along ``axis``.

    .. math:: \mathrm{sparsemax}(x) = \mathrm{argmin}_{p \in \Delta} \|p - x\|^2
              = \max(x - \tau, 0)

    Args:
      x: input array; a 0-d one is a slice of one entry (1, NaN stays NaN).
      axis: int (default -1; 0 or -1 for 0-d ``x``).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.sparsemax(np.array([1.0, 0.8, -1.0]))
      array([0.6, 0.4, 0. ])
    """
    if x.ndim == 0:  # (axis 0 or -1: "no axis", as softmax's; decision 140)
        return xp.reshape(sparsemax(xp, xp.reshape(x, (1,)), 0), ())
    x, dt = as_work(xp, x, "sparsemax")
    if not fm.known(x.shape[axis]):  # (only the sorted axis's: decision 232)
        raise ValueError(f"multiact.sparsemax: argument 'x' has an unknown size along axis "
                         f"{axis}, and sorting needs it (dask: call x.compute_chunk_sizes() "
                         f"first)")
    if _empty(x):
        return finish(xp, x, dt)
    last = x.ndim - 1
    z = x if axis == last else xp.moveaxis(x, axis, -1)
    # shifted by the maximum, with softmax's infinity rules (+inf entries share the
    # mass: [inf, 0] gives [1, 0]); every entry at or below max - 1 is outside the
    # support (tau >= max - 1), so raising those more than 2 below it to -2 changes
    # nothing but keeps k * zs and the sums finite ([1e308, -1e308]: no overflow)
    z0, m = fm.shift_by_max(xp, z, (last,), None)
    z = xp.where(z0 < -2.0, -2.0, z0)  # NaN stays NaN
    zs = xp.flip(xp.sort(z, axis=-1), axis=-1)  # descending
    k = xp.cumulative_sum(xp.ones_like(zs), axis=-1)  # 1..n, of zs's kind (DTensor too)
    cs = xp.cumulative_sum(zs, axis=-1)
    support = (1.0 + k * zs) > cs
    ksz = xp.sum(xp.astype(support, z.dtype), axis=-1, keepdims=True)
    # (no support: a NaN slice, answered below)
    tau = (xp.sum(xp.where(support, zs, 0.0), axis=-1, keepdims=True) - 1.0) / \
        xp.where(ksz > 0, ksz, 1.0)
    y = xp.where(z - tau > 0, z - tau, 0.0)
    # a slice holding NaN is NaN; an all -inf slice is 0 (softmax's rule). NaN by its
    # own test, not the maximum's: XLA's max of a row dropped a NaN in arrays of some
    # 4096 entries and up, and the slice came back finite, summing to 2.7 (decision 164)
    # The NaN is the unclipped z0 times NaN there (0 times 0 elsewhere, so that no
    # cotangent meets a NaN factor): a constant NaN had gradient 0 where XLA's max had
    # dropped the NaN, under jax.jit, where PyTorch's is NaN (decisions 55 and 180), and
    # so had the clipped z at every entry the clip had raised (decision 192)
    bad = xp.any(xp.isnan(z), axis=-1, keepdims=True) | (m != m)
    y = xp.where(bad, xp.where(bad, z0, 0.0) * xp.where(bad, _NAN, xp.zeros_like(m)), y)
    y = xp.where(m == -_INF, 0.0, y)
    y = y if axis == last else xp.moveaxis(y, -1, axis)
    return finish(xp, y, dt)
