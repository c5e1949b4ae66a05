"""Generic element-wise activations: one body each, written against ``xp``.

Every function takes the (extended) namespace ``xp`` first.  The formulations are
chosen so that, on any autodiff backend, the derivative that falls out of the
expression is the one SPEC.md promises:

* kinks use ``where`` on a closed/open comparison, so the derivative at the kink
  is the branch SPEC.md names (``relu'(0) = 0``, ...);
* no branch that ``where`` discards can overflow, divide by zero or produce NaN
  for finite input (no RuntimeWarning, no NaN leaking into gradients);
* exponentials are taken of arguments <= 0 only, so tails keep relative
  accuracy in values *and* derivatives (no ``s * (1 - s)``, no ``expm1 + 1``).
"""

from __future__ import annotations

import math

from ._dtypes import as_param, as_work, finish

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_LN2 = math.log(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
# |x| beyond which tanh-GELU's gate is exactly 0 or 1 in float32/float64, and
# below which x**3 cannot overflow float32.
_GELU_LIM = 1.0e4


# -- building blocks (work dtype in, work dtype out) ---------------------------

def _squash(xp, x, lim):
    """``clip(x, -lim, lim)`` that keeps NaN and has derivative 1 on [-lim, lim]."""
    return xp.where(x > lim, lim, xp.where(x < -lim, -lim, x))


def _sigmoid(xp, x):
    # exp of a non-positive argument only; numerator 1 or e picks the branch.
    neg = x < 0
    e = xp.exp(xp.where(neg, x, -x))
    return xp.where(neg, e, 1.0) / (1.0 + e)


def _softplus(xp, x):
    # max(x, 0) + log1p(exp(-|x|)), with |x| written so that d/dx is sigmoid(x)
    # also at 0 (d|x|/dx at 0 is 0 on JAX and PyTorch).
    pos = x > 0
    e = xp.exp(xp.where(pos, -x, x))
    return xp.where(pos, x, 0.0) + xp.log1p(e)


def _expm1_neg(xp, x):
    """expm1 for x <= 0 whose derivative keeps relative accuracy.

    Autodiff of ``expm1`` gives ``expm1(x) + 1``, which cancels for x << 0
    (elu'(-30) would be off by 1e-3 relative in float64).  Below -ln 2,
    ``exp(x) - 1`` is exact to an ulp and differentiates to ``exp(x)``.
    """
    return xp.where(x < -_LN2, xp.exp(x) - 1.0, xp.expm1(x))


def _gated(xp, x, gate):
    """``x * gate`` with ``0`` where the gate underflowed (so -inf * 0 is 0)."""
    return xp.where(gate == 0, 0.0, x) * gate


# -- public generic bodies -----------------------------------------------------

def relu(xp, x):
    x, dt = as_work(xp, x, "relu", keep_int=True, exact=True)
    return finish(xp, xp.where(x <= 0, 0, x), dt)


def relu6(xp, x):
    x, dt = as_work(xp, x, "relu6", keep_int=True, exact=True)
    return finish(xp, xp.where(x <= 0, 0, xp.where(x >= 6, 6, x)), dt)


def hard_tanh(xp, x):
    x, dt = as_work(xp, x, "hard_tanh", keep_int=True, exact=True)
    return finish(xp, xp.where(x <= -1, -1, xp.where(x >= 1, 1, x)), dt)


def leaky_relu(xp, x, negative_slope=0.01):
    x, dt = as_work(xp, x, "leaky_relu")
    s = as_param(xp, negative_slope, x)
    pos = x > 0
    return finish(xp, xp.where(pos, x, s * xp.where(pos, 0.0, x)), dt)


def sigmoid(xp, x):
    x, dt = as_work(xp, x, "sigmoid")
    return finish(xp, _sigmoid(xp, x), dt)


def silu(xp, x):
    x, dt = as_work(xp, x, "silu")
    return finish(xp, _gated(xp, x, _sigmoid(xp, x)), dt)


def softplus(xp, x, beta=1.0):
    # log(1 + exp(beta x)) / beta (PyTorch's beta; its `threshold` is only an
    # approximation knob, which this exact form does not need)
    x, dt = as_work(xp, x, "softplus")
    if isinstance(beta, (int, float)) and beta == 1:
        return finish(xp, _softplus(xp, x), dt)
    # max(x, 0) + log1p(exp(-beta |x|)) / beta: beta * x never overflows
    # (|x| is capped at 1e30, where exp(-beta |x|) is 0 for any beta > 1e-28)
    b = as_param(xp, beta, x)
    pos = x > 0
    xs = _squash(xp, x, 1.0e30)
    e = xp.exp(b * xp.where(pos, -xs, xs))
    return finish(xp, xp.where(pos, x, 0.0) + xp.log1p(e) / b, dt)


def log_sigmoid(xp, x):
    x, dt = as_work(xp, x, "log_sigmoid")
    return finish(xp, -_softplus(xp, -x), dt)


def elu(xp, x, alpha=1.0):
    x, dt = as_work(xp, x, "elu")
    a = as_param(xp, alpha, x)
    pos = x > 0
    neg = a * _expm1_neg(xp, xp.where(pos, 0.0, x))
    return finish(xp, xp.where(pos, x, neg), dt)


def celu(xp, x, alpha=1.0):
    x, dt = as_work(xp, x, "celu")
    a = as_param(xp, alpha, x)
    pos = x > 0
    xn = xp.where(pos, 0.0, x)
    # x/alpha could overflow for tiny alpha; below -745 alpha, exp(x/alpha) is 0
    # even in float64, so clamping there changes neither value nor derivative.
    floor = -745.0 * a
    xn = xp.where(xn < floor, floor, xn)
    neg = a * _expm1_neg(xp, xn / a)
    return finish(xp, xp.where(pos, x, neg), dt)


def selu(xp, x):
    x, dt = as_work(xp, x, "selu")
    pos = x > 0
    neg = (SELU_SCALE * SELU_ALPHA) * _expm1_neg(xp, xp.where(pos, 0.0, x))
    return finish(xp, xp.where(pos, SELU_SCALE * xp.where(pos, x, 0.0), neg), dt)


def gelu(xp, x, approximate=True):
    x, dt = as_work(xp, x, "gelu")
    if approximate:
        # x/2 (1 + tanh(u)) == x * sigmoid(2u): no cancellation in the left tail.
        xc = _squash(xp, x, _GELU_LIM)
        two_u = (2.0 * _SQRT_2_OVER_PI) * xc * (1.0 + _GELU_C * (xc * xc))
        gate = _sigmoid(xp, two_u)
    else:
        # x/2 erfc(-x/sqrt 2) == x * Phi(x); Phi comes from the backend (native)
        # or from the generic accurate implementation (_special.ndtr).
        gate = xp.ndtr(x)
    return finish(xp, _gated(xp, x, gate), dt)


def hard_sigmoid(xp, x):
    x, dt = as_work(xp, x, "hard_sigmoid")
    return finish(xp, xp.where(x <= -3, 0.0, xp.where(x >= 3, 1.0, (x + 3.0) / 6.0)), dt)


def hard_silu(xp, x):
    # Kinks: at -3 the middle branch (slope -1/2 < 0), at 3 the identity
    # (slope 1 < 3/2): the smaller one-sided derivative, as SPEC.md asks.
    x, dt = as_work(xp, x, "hard_silu")
    xm = _squash(xp, x, 4.0)  # keeps the discarded branch finite
    mid = xm * (xm + 3.0) / 6.0
    return finish(xp, xp.where(x < -3, 0.0, xp.where(x >= 3, x, mid)), dt)


def soft_sign(xp, x):
    # |x| < 1: x / (|x| + 1);  |x| >= 1: +-(1 - 1/(|x| + 1)).  The second form
    # has no cancellation in its derivative (1/(1+|x|)^2) and gives +-1 at +-inf.
    x, dt = as_work(xp, x, "soft_sign")
    a = xp.abs(x)
    small = a < 1
    xs = xp.where(small, x, 0.0)
    near = xs / (xp.abs(xs) + 1.0)
    r = 1.0 / (a + 1.0)
    far = xp.where(x < 0, r - 1.0, 1.0 - r)
    return finish(xp, xp.where(small, near, far), dt)


def tanh(xp, x):
    x, dt = as_work(xp, x, "tanh", complex_ok=True)
    return finish(xp, xp.tanh(x), dt)
