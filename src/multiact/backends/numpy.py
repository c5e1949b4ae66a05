"""NumPy: in-place ufunc chains, run block by block, and SciPy where it is accurate.

Reason for every special case here: speed and memory.  The generic bodies are
written for autodiff backends (``where`` on both branches, so derivatives are
right); NumPy has no autodiff, so each special case computes the same formula
(constants from ``_agnostic._formulas``) with a short chain of ufuncs writing
into the output buffer.  Large inputs are processed in blocks of ``BLOCK``
elements: the temporaries of a chain then live in cache and are the size of a
block, so peak memory is the output plus a few blocks, and a chain of passes
costs little more than one pass over memory.  Exponentials that may overflow
to ``inf`` are taken under ``errstate(over="ignore")``: ``1 / (1 + inf)`` *is*
the limit, so the overflow is not an error, and no warning reaches the user.
float32 and float64 arrays of at least one dimension only; half precision,
integers, 0-d input and array parameters use the generic body (which computes
halves in float32).  The conformance suite holds these to the same bounds and
checks them against the generic body.
"""

from __future__ import annotations

import math
from functools import partial

import array_api_compat.numpy as _xp
import numpy as np

from .._agnostic import _formulas as fm
from .._agnostic import _special
from .._agnostic import _gelu32_coeffs as _gelu32
from . import Backend, Namespace, defaults, special
from .generic import blocked_sum

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_FAST = frozenset({_F32, _F64})
_RELU = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                        np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                        np.uint64))
BLOCK = 1 << 14
_over = partial(np.errstate, over="ignore")


# -- the normal tail of float32 input, in float64, from NumPy's own ufuncs ------------------
#
# Reason: speed.  SciPy's ndtr and erfc are scalar C loops (exact GELU through them
# took 0.83x the time of 0.5 x erfc(-x / sqrt 2) at 1e7 float32); NumPy's ufuncs
# and BLAS are vectorised.  Phi(-a) = P(a) / (Q(a) exp(a^2 / 2)), a = |x|, with one
# rational P / Q of erfcx(a / sqrt 2) / 2 on [0, 13.5] (tools/fit_gelu32.py: 5e-9
# relative, every coefficient positive), in float64, far below a float32 ulp.
# P and Q are one matrix product of their coefficients with the powers of b = a /
# sqrt 2 (positive sums: no cancellation), and exp(b^2) divides rather than
# exp(-b^2) multiplies, so b^2 is both a power and the exponent.  exp(b^2)
# overflows to inf only where Phi(-a) is 0 in float64 (a > 37.7): P / inf is 0.
# +-inf is capped first (inf / inf would be NaN).  Blocks of _TAIL_BLOCK elements
# keep every temporary in cache.

_TAIL_CAP = np.float32(40.0)
_TAIL_BLOCK = BLOCK // 2  # its scratch (10 rows of float64) is then 1/6 of a 1e6 output


def _max_keeps_second_zero():
    """Whether ``np.maximum(0, -0.0)`` is -0.0 here, in its vector loop and its tail
    (x86's max returns the second of two equal operands; NumPy documents no order
    of signed zeros, and Arm's max takes +0 as the larger)."""
    z, m = np.zeros(67, np.float32), np.full(67, -0.0, np.float32)
    return bool(np.signbit(np.maximum(z, m)).all() and np.signbit(np.maximum(z[:1], m[:1])).all())


#: _gelu_exact32 copies x's sign onto every block where this is False
_MAX_KEEPS_SECOND_ZERO = _max_keeps_second_zero()
_SQRT_HALF = math.sqrt(0.5)
# rows against the powers b^0..b^5, b = a / sqrt 2: a P(a) (GELU's term), P(a), Q(a)
_TAIL_ROWS = (np.array([[0.0, *_gelu32.P], [*_gelu32.P, 0.0], _gelu32.Q])
              * np.sqrt(2.0) ** np.arange(6))
_TIMES_A, _PLAIN = _TAIL_ROWS[[0, 2]], _TAIL_ROWS[[1, 2]]


def _scratch(shape, dtype=np.float64):
    """An uninitialised array whose data starts on a 64-byte boundary (a cache line).

    Reason: speed.  ``np.empty`` aligns to 16 bytes; float64 ufuncs whose operands
    straddle cache lines (AVX-512 loads) ran twice as slowly on this machine's CPU
    (a float64 multiply of two 16384-element rows: 13.5 us unaligned, 6.7 us
    aligned), and where a block's scratch landed decided a 15% swing in exact GELU's
    time between runs.  Scratch only: the arrays returned to the caller are NumPy's
    own (``owndata``, no ``base``)."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape)) * dt.itemsize
    raw = np.empty(n + 64, np.uint8)
    skip = -raw.ctypes.data % 64
    return raw[skip:skip + n].view(dt).reshape(shape)


class _Tail32:
    """Scratch for the normal tail of float32 blocks of up to ``m`` elements, with
    its row views made once (a view costs as much as a short ufunc call)."""

    def __init__(self, m):
        v = _scratch((6, m))
        v[0] = 1.0
        pq = _scratch((2, m))
        self.m, self.full = m, (v, pq, _scratch(m), _scratch(m, np.float32))
        self.rows = (v[1], v[2], v[4], v[2:5:2], v[3:6:2], pq[0], pq[1])

    def __call__(self, x, rows, out):
        """``out`` <- R(a) / (Q(a) exp(a^2 / 2)) for the float32 1-d block ``x``,
        ``a = |x|``, R = a P (``_TIMES_A``) or P (``_PLAIN``); ``out`` float32 or
        float64, ``x.size`` long.  NaN stays NaN.  Under ``errstate(over="ignore")``."""
        v, pq, e, a32 = self.full
        b, b2, b4, b24, b35, p, q = self.rows
        k = x.size
        if k != self.m:
            v, pq, e, a32 = v[:, :k], pq[:, :k], e[:k], a32[:k]
            b, b2, b4, b24, b35, p, q = v[1], v[2], v[4], v[2:5:2], v[3:6:2], pq[0], pq[1]
        np.abs(x, out=a32)
        # +-inf (and NaN, which stays NaN); initial: an empty block has no max
        self.capped = not a32.max(initial=_TAIL_CAP) <= _TAIL_CAP
        if self.capped:
            np.minimum(a32, _TAIL_CAP, out=a32)
        np.multiply(a32, _SQRT_HALF, out=b, dtype=np.float64)  # b = a / sqrt 2, float64
        np.square(b, out=b2)
        np.square(b2, out=b4)
        np.multiply(b24, b, out=b35)                 # b^3, b^5
        np.matmul(rows, v, out=pq)
        np.exp(b2, out=e)
        np.multiply(q, e, out=e)
        return np.divide(p, e, out=out, casting="same_kind")


def _ndtr32(x):
    """Phi(x) of float32 ``x`` (any shape), rounded once to float32."""
    xf = np.ascontiguousarray(x, dtype=_F32).reshape(-1)
    q = np.empty(xf.size)
    tail = _Tail32(min(xf.size, _TAIL_BLOCK))
    with _over():
        for i in range(0, xf.size, _TAIL_BLOCK):
            tail(xf[i:i + _TAIL_BLOCK], _PLAIN, q[i:i + _TAIL_BLOCK])
    p = np.where(xf < 0, q, 1.0 - q).astype(_F32)  # 1 - q >= 1/2: no cancellation
    return p.reshape(np.shape(x))


def _scipy_special():
    try:
        import scipy.special as sp
    except ImportError:
        return None
    return sp


def _has_scipy():
    """Whether SciPy is installed (found, not imported)."""
    import importlib.util

    return importlib.util.find_spec("scipy") is not None


def _ndtr():
    # Reason: speed.  float32: _ndtr32 (above).  float64: scipy's ndtr is ~1500 ulp
    # off in the far left tail, so the erf/erfcx formulation
    # (_special.ndtr_from_native); without SciPy the generic ndtr.  SciPy is
    # imported at the first float64 call: imported with this module, it cost the
    # first NumPy call of every function 100-230 ms (decision 187).
    sp = []

    def ndtr(ns, x):
        if x.dtype == _F32:
            return _ndtr32(x)
        if x.dtype != np.float64:  # (SciPy has no longdouble erfcx)
            return _special.ndtr(ns, x)
        if not sp:
            sp.append(_scipy_special())
        if sp[0] is None:
            return _special.ndtr(ns, x)
        return _special.ndtr_from_native(ns, x, sp[0].erf, sp[0].erfcx)

    return {"ndtr": ndtr}


def _shift_primitive(ns, x, m):
    # Reason: no spurious warning (decision 96): the shift's overflow is the limit
    return _shift(x, m)


def _quotient(ns, a, b):
    # Reason: no spurious warning (decision 130): standardize's 0 / 0 (a constant
    # slice, epsilon 0) is NaN and a / 0 is +-inf, as torch and JAX give silently
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def _sum_squares(ns, d, axis=None, keepdims=False):
    # Reason: no spurious warning (decision 178): standardize's sum of squares past
    # the dtype's largest number is the contract's exception (the slice's output is
    # 0), not an overflow of the user's; torch and JAX give it silently
    with np.errstate(over="ignore"):
        return wide_sum(d * d, axis, keepdims)


def _in_order(x, axis):
    """Whether NumPy may sum ``x`` over ``axis`` (None, an int or a tuple) in order,
    one term after another: unless the one reduced axis (of more than one entry) is
    the one of least stride, which NumPy's inner loop takes and sums pairwise, or
    the reduced axes are the trailing ones of a C-ordered array (or the leading ones
    of a Fortran-ordered one), which it takes as one."""
    big = [d for d in range(x.ndim) if x.shape[d] > 1]
    axes = [d for d in fm.reduced_axes(axis, x.ndim) if x.shape[d] > 1]
    if not axes:
        return False
    if len(axes) == 1:
        return abs(x.strides[axes[0]]) != min(abs(x.strides[d]) for d in big)
    return not ((x.flags.c_contiguous and axes == big[len(big) - len(axes):]) or
                (x.flags.f_contiguous and axes == big[:len(axes)]))


def wide_sum(x, axis=None, keepdims=False):
    """``np.sum`` of ``x``; where NumPy would sum it in order (:func:`_in_order`), a
    float32 array is summed in float64 and rounded once, and another in blocks
    (``generic.blocked_sum``).  Reason: accuracy.  A sum in order is off by up to n
    eps: float32 softmax of 20000 x 8 along axis 0 was 401 ulp off (the bound is
    68), 87 along axis 0 of 2000 x 2000 (decision 188); float64 standardize along
    axis 0 of 100000 x 2 30.5 units (the bound 2.5; decision 189).  Pairwise, along
    the last axis, it is off by log n eps, and stays in ``x``'s dtype."""
    if not (x.ndim and x.dtype.kind == "f" and _in_order(x, axis)):
        return np.sum(x, axis=axis, keepdims=keepdims)
    if x.dtype == _F32:
        return np.sum(x, axis=axis, keepdims=keepdims, dtype=np.float64).astype(_F32)
    return blocked_sum(np, x, axis, keepdims)


def _sum(ns, x, axis=None, *, keepdims=False, dtype=None):
    # Reason: accuracy (wide_sum): the generic bodies' sums (standardize's, the
    # softmax family's where a slice has no finite maximum or takes a mask)
    if dtype is None:
        return wide_sum(x, axis, keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


PRIMITIVES = {**_ndtr(), "shift": _shift_primitive, "quotient": _quotient,
              "sum_squares": _sum_squares, "sum": _sum}
NS = Namespace(_xp, "numpy", PRIMITIVES)


def _ok(x):
    # float32/float64 arrays of at least one dimension: NumPy returns scalars,
    # not arrays, for 0-d operands, and the chains write into their `out`.
    return x.dtype in _FAST and x.ndim > 0


def blockwise(chain, x, block=BLOCK):
    """``chain(xb, ob)`` (which writes its result into ``ob``) over ``x`` block by
    block; a non-contiguous ``x`` is done in one piece."""
    out = np.empty_like(x)
    n = x.size
    if n <= 2 * block or not (x.flags.c_contiguous and out.flags.c_contiguous):
        chain(x, out)
        return out
    xf, of = x.reshape(-1), out.reshape(-1)
    for i in range(0, n, block):
        chain(xf[i:i + block], of[i:i + block])
    return out


def _generic_into(body, *params):
    """The generic ``body`` as a chain ``(xb, ob)`` writing into ``ob``."""
    def chain(xb, ob):
        ob[...] = body(NS, xb, *params)

    return chain


# -- chains: (x, out) -> out ----------------------------------------------------------

def _sigmoid_into(x, t):
    """t <- 1 / (1 + exp(-x)); exp overflow gives the limit 0."""
    np.negative(x, out=t)
    with _over():
        np.exp(t, out=t)
    t += 1
    return np.divide(1, t, out=t)


def _softplus_neg_abs(x, t):
    """t <- log1p(exp(-|x|)) (never overflows)."""
    np.abs(x, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    return np.log1p(t, out=t)


def _silu_chain(x, t):
    # max(x, SILU_FLOOR) / (1 + exp(-x)): silu(-inf) = -0, not -inf / inf.
    np.negative(x, out=t)
    with _over():
        np.exp(t, out=t)
    t += 1
    return np.divide(np.maximum(x, fm.SILU_FLOOR), t, out=t)


def _softplus_chain(x, t):
    _softplus_neg_abs(x, t)
    t += np.maximum(x, 0)
    return t


def _log_sigmoid_chain(x, t):
    _softplus_neg_abs(x, t)
    return np.subtract(np.minimum(x, 0), t, out=t)


def _elu_like(x, t, alpha, outer_pos):
    # alpha * expm1(min(x, 0)) + outer_pos * max(x, 0)
    np.minimum(x, 0, out=t)
    np.expm1(t, out=t)
    t *= alpha
    p = np.maximum(x, 0)
    if outer_pos != 1.0:
        p *= outer_pos  # selu(x) > max overflows, a real one: NumPy warns (decision 7)
    t += p
    return t


def _gelu_tanh_chain(x, t):
    # x / (1 + exp(-2u)), 2u = x (A + B x^2) (fm.gelu_two_u); the cube overflows
    # to inf only where the gate is exactly 0 or 1.
    with _over():
        np.multiply(x, x, out=t)
        t *= fm.GELU_B
        t += fm.GELU_A
        t *= x
        np.negative(t, out=t)
        np.exp(t, out=t)
    t += 1
    return np.divide(np.maximum(x, fm.SILU_FLOOR), t, out=t)


def _gelu_exact_chain(x, t):
    p = NS.ndtr(x)
    return np.multiply(np.maximum(x, -40.0), p, out=t)


def _gelu_exact32(x):
    """x Phi(x) of float32 ``x`` as relu(x) - a Phi(-a), a = |x| (no select, no
    cancellation: a Phi(-a) <= |x| / 2): the tail term in float64 (_Tail32),
    rounded to float32, then the difference rounded once (0.73 ulp at worst,
    measured); block by block into the output."""
    x = np.ascontiguousarray(x)
    # twice the block where the scratch still is within 1/4 of the output: fewer
    # calls (a block's fixed cost, some 7 us, is 0.9 ns an element at 8192)
    block = 2 * _TAIL_BLOCK if x.size >= 160 * _TAIL_BLOCK else _TAIL_BLOCK
    tail = _Tail32(min(x.size, block) if x.size > 2 * block else x.size)
    g32 = _scratch(tail.m, _F32)
    zero = _F32.type(0)

    def chain(xb, ob):
        if xb.ndim != 1:
            xb, ob = xb.reshape(-1), ob.reshape(-1)
        g = g32 if xb.size == tail.m else g32[:xb.size]
        tail(xb, _TIMES_A, g)
        # relu(x) with x's zero when x is -0.0 (np.maximum gives its second
        # operand of two equal ones here), so gelu(-0.0) = -0.0 - 0 = -0.0 as
        # elsewhere; gelu(-inf) = 0 - 0 is given x's sign, -0.0, where the block
        # was capped (an infinity or NaN in it), and every block where np.maximum
        # does not keep the second zero (gelu has x's sign everywhere)
        np.maximum(zero, xb, out=ob)
        np.subtract(ob, g, out=ob)
        if tail.capped or not _MAX_KEEPS_SECOND_ZERO:
            np.copysign(ob, xb, out=ob)
        return ob

    with _over():
        return blockwise(chain, x, block)


def _hard_sigmoid_chain(x, t):
    np.add(x, 3, out=t)
    np.clip(t, 0, 6, out=t)
    t /= 6
    return t


def _hard_silu_chain(x, t):
    xc = np.maximum(x, fm.HARD_SILU_FLOOR)  # hard_silu(-inf) = 0, not -inf * 0
    np.add(xc, 3, out=t)
    np.clip(t, 0, 6, out=t)
    t /= 6
    t *= xc  # after the division: xc * 6 would overflow near the max
    return t


def _soft_sign_chain(x, t):
    # clip to +-SOFT_SIGN_CAP first: inf / inf would be NaN; x / (|x| + 1) is +-1 there.
    xc = np.clip(x, -fm.SOFT_SIGN_CAP, fm.SOFT_SIGN_CAP)
    np.abs(xc, out=t)
    t += 1
    return np.divide(xc, t, out=t)


def _squareplus32(x, t, b):
    # float32 x in float64: h = sqrt(x^2 + b) with no overflow (x^2 <= 1.2e77) and no
    # cancellation: x < 0 takes (b / 2) / (h - x), the rest (x + h) / 2 (h >= |x|),
    # rounded to float32 once (within 0.51 ulp; the bound is 3.5).  Limits: -inf ->
    # (b / 2) / inf = 0, +inf -> inf, NaN -> NaN (the branch not taken may divide by
    # 0 or take inf - inf: silenced, and so is the cast of a result past float32's
    # largest to inf, the generic body's limit there)
    v = x.astype(np.float64)
    h = np.multiply(v, v)
    h += b
    np.sqrt(h, out=h)
    with np.errstate(all="ignore"):
        neg = np.subtract(h, v)
        np.divide(b * 0.5, neg, out=neg)
        h += v
        h *= 0.5
        np.copyto(t, np.where(v < 0, neg, h), casting="same_kind")
    return t


def _mish_chain(x, t):
    # x * tanh(softplus(x)); at -inf the gate is 0 and x * 0 is taken as 0
    _softplus_chain(x, t)
    np.tanh(t, out=t)
    return np.multiply(np.maximum(x, fm.SILU_FLOOR), t, out=t)


# -- the special cases ------------------------------------------------------------------

_ZERO = {d: d.type(0) for d in _RELU}
_RELU_DEFAULTS = defaults("relu")
# what the exact form's chain runs here (multiact.info reports only what can run)
_EXACT_NDTR = ("exact form: float32 relu(x) - |x| Phi(-|x|) from NumPy's ufuncs (_Tail32), "
               + ("float64 through SciPy's erf/erfcx" if _has_scipy() else
                  "float64 through the generic ndtr"))
_CHAIN = "speed and memory: in-place chain, block by block"


# -- softmax family ---------------------------------------------------------------------

def _finite_max(x, axes, *params):
    """The max over ``axes`` when the fast path applies: no mask, initial or b,
    float32/64, every slice with a finite max (+inf entries, all -inf slices
    and NaN take the generic body)."""
    if x.dtype not in _FAST or x.size == 0 or x.ndim == 0 or any(p is not None for p in params):
        return None
    m = np.max(x, axis=axes, keepdims=True)
    return m if np.isfinite(m).all() else None


def _shift(x, m):
    """``x - m`` of a slice and its maximum, under ``errstate(over="ignore")``: an
    entry more than the dtype's range below the maximum becomes ``-inf``, whose
    exponential, 0, is the limit (``softmax(float32([3e38, -3e38]))`` is ``[1, 0]``
    without a warning; torch and JAX give the same, silently).  Only this
    subtraction: a real overflow elsewhere in a body still warns (decision 7)."""
    with _over():
        return np.subtract(x, m)


def _lse(x, axes, m, exact_shift=False):
    """``(x - m, log(sum(exp(x - m))))`` with the generic split sum
    (``_formulas.split_sums``/``log_abs``): the maxima count exactly 1 each, the
    rest is summed apart; the full-size passes run in place.  ``exact_shift``
    (logsumexp, whose result may be near 0 where ``x - m`` is not): where some
    slice's result and maximum are both near 0 (``fm.SHIFT_ERROR_NEAR``), those
    slices' rest is taken again with a shift that does not round: by 0 where the
    maximum is near 0, the rest scaled by ``e^-m`` (``fm.scaled_by_exp``), and a
    float32 rest summed in float64 (the generic body adds each term's shift error,
    ``fm.shift_error``: four passes more on every call).
    Reason: accuracy (22 ulp of float32 and 63 of float64 near 0, the bounds 12 and
    40: decision 215), at no cost elsewhere: four more passes where a slice needs
    them (1.9x the time of the rest on float32 rows all near 0, where a shift and exp
    in float64 took 4.5x)."""
    sh = _shift(x, m)
    top = sh == 0
    e = np.exp(sh)
    np.copyto(e, 0, where=top)
    rest = wide_sum(e, axes, True)
    count = top.sum(axis=axes, keepdims=True).astype(x.dtype)
    lse, _ = fm.log_abs(NS, count, rest)
    if exact_shift:
        near = (np.abs(m) < fm.SHIFT_ERROR_NEAR) & (np.abs(m + lse) < fm.SHIFT_ERROR_NEAR)
        if near.any():
            lo = np.where(np.abs(m) < fm.SHIFT_ERROR_NEAR, m, 0.0)
            w = _shift(x, m - lo)
            np.exp(w, out=w)
            np.copyto(w, 0, where=top)
            r = np.sum(w, axis=axes, keepdims=True, dtype=np.float64) if x.dtype == _F32 \
                else wide_sum(w, axes, True)
            r = fm.scaled_by_exp(NS, r, lo.astype(np.float64))
            wide, _ = fm.log_abs(NS, count.astype(np.float64), r)
            lse = np.where(near, wide.astype(x.dtype), lse)
    return sh, lse


_NDARRAY = np.ndarray


def _kind_of(x, y):
    """``y`` (a function's result: an array, or ``logsumexp``'s pair) as the kind of
    NumPy object ``x`` is: a NumPy scalar for a NumPy scalar (``np.float32(2)``), else
    an array, 0-d included.  Reason: the public functions are typed ``(x: ArrayT) ->
    ArrayT`` (a Python number or sequence: ``ndarray``), and NumPy's ufuncs return a
    scalar for a 0-d array where some of its functions return a 0-d array: the
    bodies' results were of either kind, function by function (``relu(np.array(0.5))``
    a ``np.float64``, ``gelu``'s a 0-d array; decision 124)."""
    if type(y) is tuple:
        return tuple(_kind_of(x, v) for v in y)
    if isinstance(x, np.generic):
        return y[()] if type(y) is np.ndarray and not y.ndim else y
    y = np.asarray(y) if isinstance(y, np.generic) else y
    if type(y) is np.ndarray and type(x) is not np.ndarray:
        # an ndarray subclass's result is of its class, as a ufunc's and a reduction's
        # are (its __array_wrap__): softmin, logmeanexp and sparsemax, whose bodies end
        # in a function that drops it, gave a plain ndarray (decision 194)
        return x.__array_wrap__(y)
    return y


class NumpyBackend(Backend):
    """NumPy: in-place ufunc chains, block by block; the generic bodies elsewhere.

    The rule for every function (``generic``), reason: correctness and memory.
    Input in non-native byte order (``'>f4'`` on a little-endian machine) is not
    ``float32``/``float64`` to a dtype test, and ufuncs with ``casting='no'``
    (``clip``) refuse it: it is copied to native order and takes the route of
    native input (the same values).  Element-wise rows marked ``blockwise`` run
    their generic body block by block (temporaries the size of a block).  A result
    is of the input's kind (:func:`_kind_of`): an array for an array, 0-d included,
    a NumPy scalar for a NumPy scalar.
    """

    def coerce(self, x, fname, argname="x"):
        try:
            if self.convert is not None:  # (a variable: Keras' on its NumPy backend)
                x = self.convert(x)
            return np.asarray(x)
        except (TypeError, ValueError) as e:
            raise TypeError(f"multiact.{fname}: argument {argname!r} could not be made a "
                            f"NumPy array ({type(e).__name__}: {e})") from None

    def generic(self, row, body, x, *params):
        if not x.dtype.isnative:
            return getattr(self, row.name)(x.astype(x.dtype.newbyteorder("=")), *params)
        if row.elementwise and row.blockwise and _ok(x) \
                and all(p is None or isinstance(p, (int, float)) for p in params):
            return blockwise(_generic_into(body, *params), x)
        y = body(NS, x, *params)
        return y if type(y) is _NDARRAY and type(x) is _NDARRAY else _kind_of(x, y)

    @special("speed: one np.maximum (NaN propagates, integer dtypes kept), at the "
             "parameters' defaults (not 0-d: a ufunc's scalar result)")
    def relu(self, x, *params):
        z = _ZERO.get(x.dtype)
        if z is not None and params == _RELU_DEFAULTS and x.ndim:
            return np.maximum(x, z)
        return super().relu(x, *params)

    @special("speed: np.maximum then an in-place np.minimum")
    def relu6(self, x):
        if x.dtype in _RELU and x.ndim:
            y = np.maximum(x, x.dtype.type(0))
            return np.minimum(y, x.dtype.type(6), out=y)
        return super().relu6(x)

    @special("speed: one np.clip")
    def hard_tanh(self, x):
        if x.dtype in _RELU and x.ndim and x.dtype.kind != "u":
            return np.clip(x, x.dtype.type(-1), x.dtype.type(1))
        return super().hard_tanh(x)

    @special("speed: max(x, s x) for |s| <= 1; s x only where x <= 0 for |s| > 1")
    def leaky_relu(self, x, negative_slope=0.01):
        s = negative_slope
        if _ok(x) and isinstance(s, float) and s:  # (a 0 slope: 0 * inf is NaN)
            if abs(s) > 1:  # (s x where x > 0 could overflow, and warn, unused:
                # leaky_relu(1e308, 2.0); decision 161)
                y = x.copy()
                return np.multiply(x, s, out=y, where=x <= 0)  # (s 0 at 0, as x > 0 ? x : s x)
            y = np.multiply(x, s)
            return np.maximum(x, y, out=y)
        return super().leaky_relu(x, negative_slope)

    @special("speed: np.tanh without the generic dtype rules")
    def tanh(self, x):
        return np.tanh(x) if _ok(x) else super().tanh(x)

    @special(_CHAIN)
    def sigmoid(self, x):
        return blockwise(_sigmoid_into, x) if _ok(x) else super().sigmoid(x)

    @special(_CHAIN)
    def silu(self, x):
        return blockwise(_silu_chain, x) if _ok(x) else super().silu(x)

    @special(_CHAIN)
    def log_sigmoid(self, x):
        return blockwise(_log_sigmoid_chain, x) if _ok(x) else super().log_sigmoid(x)

    @special(_CHAIN)
    def hard_sigmoid(self, x):
        return blockwise(_hard_sigmoid_chain, x) if _ok(x) else super().hard_sigmoid(x)

    @special(_CHAIN)
    def hard_silu(self, x):
        return blockwise(_hard_silu_chain, x) if _ok(x) else super().hard_silu(x)

    @special(_CHAIN)
    def soft_sign(self, x):
        return blockwise(_soft_sign_chain, x) if _ok(x) else super().soft_sign(x)

    @special(_CHAIN)
    def mish(self, x):
        return blockwise(_mish_chain, x) if _ok(x) else super().mish(x)

    @special("speed: float32 in float64, block by block, for a Python number b in (0, "
             "1e30] (no overflow of x^2, no cancellation; half the generic body's scaled "
             "form's time at 1e6, which float64 input keeps)")
    def squareplus(self, x, b=4.0):
        if _ok(x) and x.dtype == _F32 and type(b) in (int, float) and 0 < b <= 1e30:
            return blockwise(partial(_squareplus32, b=float(b)), x)
        return super().squareplus(x, b)

    @special(_CHAIN + " (beta == 1)")
    def softplus(self, x, beta=1.0):
        if _ok(x) and type(beta) in (int, float) and beta == 1:
            return blockwise(_softplus_chain, x)
        return super().softplus(x, beta)

    @special("speed and memory: in-place expm1 chain, block by block (scalar alpha)")
    def elu(self, x, alpha=1.0):
        if _ok(x) and isinstance(alpha, float):
            return blockwise(partial(_elu_like, alpha=alpha, outer_pos=1.0), x)
        return super().elu(x, alpha)

    @special("speed and memory: in-place expm1 chain, block by block (alpha 1)")
    def celu(self, x, alpha=1.0):
        # alpha 1 only (elu): the chain's x / alpha underflowed for a large alpha
        # (1e30: celu(-1e-20) was 0), and 1 / alpha overflowed for a tiny one (0 *
        # inf made x > 0 NaN); the generic body takes both (decision 129)
        if _ok(x) and isinstance(alpha, float) and alpha == 1.0:
            return blockwise(partial(_elu_like, alpha=1.0, outer_pos=1.0), x)
        return super().celu(x, alpha)

    @special("speed and memory: in-place expm1 chain, block by block")
    def selu(self, x):
        if _ok(x):
            return blockwise(partial(_elu_like, alpha=fm.SELU_SCALE * fm.SELU_ALPHA,
                                     outer_pos=fm.SELU_SCALE), x)
        return super().selu(x)

    @special(f"speed and memory: in-place chain (tanh form); {_EXACT_NDTR}")
    def gelu(self, x, approximate=True):
        if not _ok(x):
            return super().gelu(x, approximate)
        if approximate:
            return blockwise(_gelu_tanh_chain, x)
        if x.dtype == _F32:
            return _gelu_exact32(x)
        return blockwise(_gelu_exact_chain, x)

    @special("speed: plain exp/sum in place where every slice has a finite max (checked on "
             "the host, free for NumPy)")
    def softmax(self, x, axis=(-1,), where=None, initial=None):
        m = _finite_max(x, axis, where, initial)
        if m is None:
            return super().softmax(x, axis, where, initial)
        y = _shift(x, m)
        np.exp(y, out=y)
        y /= wide_sum(y, axis, True)
        return y

    @special("speed: the generic split sum with the full-size passes in place (finite-max "
             "slices)")
    def log_softmax(self, x, axis=(-1,), where=None, initial=None):
        m = _finite_max(x, axis, where, initial)
        if m is None:
            return super().log_softmax(x, axis, where, initial)
        sh, lse = _lse(x, axis, m)
        sh -= lse
        return sh

    @special("speed: the generic split sum with the full-size passes in place (finite-max "
             "slices, no b/where/sign)")
    def logsumexp(self, a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
        m = None if return_sign else _finite_max(a, axis, b, where)
        if m is None:
            return super().logsumexp(a, axis, b, keepdims, return_sign, where)
        _, lse = _lse(a, axis, m, exact_shift=True)
        out = m + lse
        return out if keepdims else np.squeeze(out, axis=axis)


BACKEND = NumpyBackend(NS)
#: Python numbers and sequences are NumPy input (the contract): this backend
#: makes them arrays first (the public functions call ``coerce``)
PYTHON_BACKEND = NumpyBackend(NS, python=True)
#: ``numpy.memmap`` input: ``coerce``'s ``np.asarray`` takes its data as an ndarray
#: (``_dispatch``; decision 166)
MEMMAP_BACKEND = NumpyBackend(NS, python=True)
