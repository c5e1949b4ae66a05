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

import sys
from functools import partial

import array_api_compat.numpy as _xp
import numpy as np

from .._agnostic import _formulas as fm
from .._agnostic import _special
from . import Backend, Generic, Namespace, Registry

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_FAST = frozenset({_F32, _F64})
_RELU = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                        np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                        np.uint64))
BLOCK = 1 << 14
_over = partial(np.errstate, over="ignore")


def _ndtr():
    # Reason: speed.  float32: scipy.special.ndtr is one C loop computed in
    # double (0.5 ulp).  float64: scipy's ndtr is ~1500 ulp off in the far
    # left tail, so the erf/erfcx formulation (_special.ndtr_from_native).
    try:
        import scipy.special as sp
    except ImportError:
        return {}

    def ndtr(ns, x):
        if x.dtype == _F32:
            return sp.ndtr(x)
        return _special.ndtr_from_native(ns, x, sp.erf, sp.erfcx)

    return {"ndtr": ndtr}


class _NativeOrder(Generic):
    """The generic bodies, behind one rule for non-native byte order.

    Reason: correctness.  A ``'>f4'``/``'>f8'`` array (on a little-endian machine)
    is not ``float32``/``float64`` to a dtype test (``x.dtype == np.float64`` is
    False, so no special case applies and a body's float64 switch is missed), and
    ufuncs with ``casting='no'`` (``clip``) refuse it.  Every special case falls back
    to the generic body for such input, so the rule lives here, off the hot path:
    a native copy, then the backend's own route for it (the values of native input).
    """

    def __init__(self, ns):
        super().__init__(ns)
        for name in list(vars(self)):
            if name != "ns":
                setattr(self, name, self._native(name, getattr(self, name)))

    @staticmethod
    def _native(name, body):
        def run(x, *params):
            if not x.dtype.isnative:
                return getattr(BACKEND, name)(x.astype(x.dtype.newbyteorder("=")), *params)
            return body(x, *params)

        run.__name__ = run.__qualname__ = name
        run.__wrapped__ = body
        return run


PRIMITIVES = _ndtr()
NS = Namespace(_xp, "numpy", PRIMITIVES)
G = _NativeOrder(NS)
SPECIAL = Registry("numpy")


def _ok(x):
    # float32/float64 arrays of at least one dimension: NumPy returns scalars,
    # not arrays, for 0-d operands, and the chains write into their `out`.
    return x.dtype in _FAST and x.ndim > 0


def blockwise(chain, x):
    """``chain(xb, ob)`` (which writes its result into ``ob``) over ``x`` block by
    block; a non-contiguous ``x`` is done in one piece."""
    out = np.empty_like(x)
    n = x.size
    if n <= 2 * BLOCK or not (x.flags.c_contiguous and out.flags.c_contiguous):
        chain(x, out)
        return out
    xf, of = x.reshape(-1), out.reshape(-1)
    for i in range(0, n, BLOCK):
        chain(xf[i:i + BLOCK], of[i:i + BLOCK])
    return out


def _generic_into(name, *params):
    body = getattr(G, name)

    def chain(xb, ob):
        ob[...] = body(xb, *params)

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


def _elu_like(x, t, alpha, inner_scale, outer_pos):
    # alpha * expm1(min(x, 0) * inner) + outer_pos * max(x, 0)
    np.minimum(x, 0, out=t)
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


def _mish_chain(x, t):
    # x * tanh(softplus(x)); at -inf the gate is 0 and x * 0 is taken as 0
    _softplus_chain(x, t)
    np.tanh(t, out=t)
    return np.multiply(np.maximum(x, fm.SILU_FLOOR), t, out=t)


# -- the special cases ------------------------------------------------------------------

def _chain_case(name, chain, *, reason):
    """Register ``chain`` (float32/float64, >= 1-d) for ``name``; else the generic body."""
    generic = getattr(G, name)

    def run(x):
        if _ok(x):
            return blockwise(chain, x)
        return generic(x)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"NumPy {name}: {chain.__name__} block by block, else the generic body."
    run.__wrapped__ = chain
    SPECIAL.register(name, reason=reason)(run)
    return run


_ZERO = {d: d.type(0) for d in _RELU}


@SPECIAL.register("relu", reason="speed: one np.maximum (NaN propagates, integer dtypes kept)")
def relu(x):
    z = _ZERO.get(x.dtype)
    if z is not None:
        return np.maximum(x, z)
    return G.relu(x)


@SPECIAL.register("relu6", reason="speed: np.maximum then an in-place np.minimum")
def relu6(x):
    if x.dtype in _RELU and x.ndim:
        y = np.maximum(x, x.dtype.type(0))
        return np.minimum(y, x.dtype.type(6), out=y)
    return G.relu6(x)


@SPECIAL.register("hard_tanh", reason="speed: one np.clip")
def hard_tanh(x):
    if x.dtype in _RELU and x.ndim and x.dtype.kind != "u":
        return np.clip(x, x.dtype.type(-1), x.dtype.type(1))
    return G.hard_tanh(x)


@SPECIAL.register("leaky_relu", reason="speed: max(x, s x) for s <= 1, min for s > 1")
def leaky_relu(x, negative_slope=0.01):
    if _ok(x) and isinstance(negative_slope, float):
        y = np.multiply(x, negative_slope)
        return (np.maximum if negative_slope <= 1 else np.minimum)(x, y, out=y)
    return G.leaky_relu(x, negative_slope)


@SPECIAL.register("tanh", reason="speed: np.tanh without the generic dtype rules")
def tanh(x):
    if _ok(x):
        return np.tanh(x)
    return G.tanh(x)


sigmoid = _chain_case("sigmoid", _sigmoid_into, reason="speed and memory: in-place chain")
silu = _chain_case("silu", _silu_chain, reason="speed and memory: in-place chain")
log_sigmoid = _chain_case("log_sigmoid", _log_sigmoid_chain,
                          reason="speed and memory: in-place chain")
hard_sigmoid = _chain_case("hard_sigmoid", _hard_sigmoid_chain,
                           reason="speed and memory: in-place chain")
hard_silu = _chain_case("hard_silu", _hard_silu_chain, reason="speed and memory: in-place chain")
soft_sign = _chain_case("soft_sign", _soft_sign_chain, reason="speed and memory: in-place chain")
mish = _chain_case("mish", _mish_chain, reason="speed and memory: in-place chain")


@SPECIAL.register("softplus", reason="speed and memory: in-place chain (beta == 1)")
def softplus(x, beta=1.0):
    if _ok(x) and type(beta) in (int, float) and beta == 1:
        return blockwise(_softplus_chain, x)
    return G.softplus(x, beta)


@SPECIAL.register("elu", reason="speed and memory: in-place expm1 chain (scalar alpha)")
def elu(x, alpha=1.0):
    if _ok(x) and isinstance(alpha, float):
        return blockwise(partial(_elu_like, alpha=alpha, inner_scale=1.0, outer_pos=1.0), x)
    return G.elu(x, alpha)


@SPECIAL.register("celu", reason="speed and memory: in-place expm1 chain (scalar alpha)")
def celu(x, alpha=1.0):
    if _ok(x) and isinstance(alpha, float):
        return blockwise(partial(_elu_like, alpha=alpha, inner_scale=1.0 / alpha, outer_pos=1.0),
                         x)
    return G.celu(x, alpha)


@SPECIAL.register("selu", reason="speed and memory: in-place expm1 chain")
def selu(x):
    if _ok(x):
        return blockwise(partial(_elu_like, alpha=fm.SELU_SCALE * fm.SELU_ALPHA, inner_scale=1.0,
                                 outer_pos=fm.SELU_SCALE), x)
    return G.selu(x)


# what the exact form's chain runs here (multiact.info reports only what can run)
_EXACT_NDTR = ("SciPy's ndtr (exact form; float64 through SciPy's erf/erfcx)" if PRIMITIVES
               else "the generic ndtr (exact form)")


@SPECIAL.register("gelu", reason=f"speed and memory: in-place chain (tanh form); {_EXACT_NDTR}")
def gelu(x, approximate=True):
    if not _ok(x):
        return G.gelu(x, approximate)
    return blockwise(_gelu_tanh_chain if approximate else _gelu_exact_chain, x)


# Functions whose generic body is already a short chain: run block by block for
# memory (temporaries the size of a block, not of the input).
def _blockwise_generic(name):
    generic = getattr(G, name)

    def run(x, *params):
        if _ok(x) and all(isinstance(p, (int, float)) for p in params):
            return blockwise(_generic_into(name, *params), x)
        return generic(x, *params)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"NumPy {name}: the generic body block by block (scalar parameters)."
    SPECIAL.register(name, reason="memory: the generic body block by block, so its "
                                  "temporaries are the size of a block")(run)
    return run


squareplus = _blockwise_generic("squareplus")
sparse_plus = _blockwise_generic("sparse_plus")
sparse_sigmoid = _blockwise_generic("sparse_sigmoid")
log1mexp = _blockwise_generic("log1mexp")
soft_shrink = _blockwise_generic("soft_shrink")
hard_shrink = _blockwise_generic("hard_shrink")
tanh_shrink = _blockwise_generic("tanh_shrink")
threshold = _blockwise_generic("threshold")
prelu = _blockwise_generic("prelu")


# -- softmax family ---------------------------------------------------------------------

def _finite_max(x, axes, *params):
    """The max over ``axes`` when the fast path applies: no mask, initial or b,
    float32/64, every slice with a finite max (+inf entries, all -inf slices
    and NaN take the generic body)."""
    if x.dtype not in _FAST or x.size == 0 or x.ndim == 0 or any(p is not None for p in params):
        return None
    m = np.max(x, axis=axes, keepdims=True)
    return m if np.isfinite(m).all() else None


def _lse(x, axes, m):
    """``(x - m, log(sum(exp(x - m))))`` with the generic split sum
    (``_formulas.split_sums``/``log_abs``): the maxima count exactly 1 each, the
    rest is summed apart; the full-size passes run in place."""
    sh = np.subtract(x, m)
    top = sh == 0
    e = np.exp(sh)
    np.copyto(e, 0, where=top)
    rest = e.sum(axis=axes, keepdims=True)
    count = top.sum(axis=axes, keepdims=True).astype(x.dtype)
    lse, _ = fm.log_abs(NS, count, rest)
    return sh, lse


@SPECIAL.register("softmax", reason="speed: plain exp/sum in place where every slice has a "
                                    "finite max (checked on the host, free for NumPy)")
def softmax(x, axis=(-1,), where=None, initial=None):
    m = _finite_max(x, axis, where, initial)
    if m is None:
        return G.softmax(x, axis, where, initial)
    y = np.subtract(x, m)
    np.exp(y, out=y)
    y /= y.sum(axis=axis, keepdims=True)
    return y


@SPECIAL.register("log_softmax", reason="speed: the generic split sum with the full-size "
                                        "passes in place (finite-max slices)")
def log_softmax(x, axis=(-1,), where=None, initial=None):
    m = _finite_max(x, axis, where, initial)
    if m is None:
        return G.log_softmax(x, axis, where, initial)
    sh, lse = _lse(x, axis, m)
    sh -= lse
    return sh


@SPECIAL.register("logsumexp", reason="speed: the generic split sum with the full-size "
                                      "passes in place (finite-max slices, no b/where/sign)")
def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    m = None if return_sign else _finite_max(a, axis, b, where)
    if m is None:
        return G.logsumexp(a, axis, b, keepdims, return_sign, where)
    _, lse = _lse(a, axis, m)
    out = m + lse
    return out if keepdims else np.squeeze(out, axis=axis)


BACKEND = Backend(_xp, "numpy", module=sys.modules[__name__], generic=G)


# -- Python numbers and sequences: NumPy input (the contract) ---------------------------------

def _coerce_for(fname, argname="x"):
    def coerce(x):
        try:
            return np.asarray(x)
        except (TypeError, ValueError) as e:
            raise TypeError(f"multiact.{fname}: argument {argname!r} could not be made a NumPy "
                            f"array ({type(e).__name__}: {e})") from None
    return coerce


class _PythonBackend:
    """NumPy's backend behind ``np.asarray`` (Python numbers and sequences)."""

    def __init__(self, inner):
        from .._table import TABLE

        self.inner = inner
        for k in ("framework", "label", "xp", "ns", "generic", "special", "module"):
            setattr(self, k, getattr(inner, k))
        for info in TABLE:
            setattr(self, info.name, self._wrap(info, getattr(inner, info.name)))

    @staticmethod
    def _wrap(info, f):
        coerce = _coerce_for(info.name, info.first)

        def call(x, *args):
            return f(coerce(x), *args)

        call.__name__ = info.name
        call.__wrapped__ = f
        return call

    def coerce(self, x, fname="<function>"):
        return _coerce_for(fname)(x)

    def asarray_like(self, v, x, fname, pname):
        return self.inner.asarray_like(v, x, fname, pname)

    def same_library(self, other):
        return self.inner.same_library(other)


PYTHON_BACKEND = _PythonBackend(BACKEND)
