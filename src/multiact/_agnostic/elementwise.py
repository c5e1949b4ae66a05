r"""Generic element-wise activations: one body each, written against ``xp``.

Every body takes the (extended) namespace ``xp`` first, then ``x`` and the
parameters in the order of its row in ``multiact._table``, already checked by
the public layer.  Its docstring is the public function's documentation.  The
formulas and constants come from ``_formulas`` (written once there).
"""

from __future__ import annotations

import math

from . import _formulas as fm
from ._dtypes import as_param, as_work, finish

_INF = math.inf
_NAN = math.nan


def relu(xp, x, negative_slope=0.0, max_value=None, threshold=0.0):
    r"""Rectified linear unit, with Keras's optional slope, cap and threshold.

    .. math::

        \mathrm{relu}(x) = \begin{cases} \min(x, m) & x > t \\
                                           s\,(x - t) & x \le t \end{cases}

    with :math:`s` = ``negative_slope``, :math:`m` = ``max_value`` (no cap when
    None) and :math:`t` = ``threshold``; at the defaults this is
    :math:`\max(x, 0)`.  The derivative is :math:`s` at :math:`x \le t` (so
    :math:`\mathrm{relu}'(0) = 0` at the defaults, on every autodiff backend)
    and 0 at :math:`x \ge m`.  Integer dtypes are kept when :math:`s = 0` and
    :math:`t`, :math:`m` are whole numbers, :math:`m` not below the dtype's range
    (a result of :math:`m` would not be one of its integers); NaN gives NaN.

    Args:
      x: input array (any supported library) or Python scalar/sequence.
      negative_slope: the slope below the threshold (real, default 0).
      max_value: the largest value returned above the threshold (real or None,
        default None: no cap).
      threshold: where the slope starts (real, default 0).

    Returns:
      An array of ``x``'s type, device and dtype.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.relu(np.array([-2.0, 0.0, 1.5]))
      array([0. , 0. , 1.5])
      >>> multiact.relu(np.array([-10.0, 0.0, 10.0]), negative_slope=0.5, max_value=5.0)
      array([-5.,  0.,  5.])
    """
    s, m, t = negative_slope, max_value, threshold
    if s == 0 and m is None and t == 0:
        x, dt = as_work(xp, x, "relu", keep_int=True, exact=True)
        return finish(xp, xp.where(x <= 0, 0, x), dt)
    # (whole numbers matter to integer dtypes only; not asked of a float x, whose
    # Python floats torch.compile would otherwise compile once per value)
    whole = not xp.isdtype(x.dtype, "real floating") and all(
        float(v).is_integer() for v in (m, t) if v is not None)
    if whole and m is not None and xp.isdtype(x.dtype, "integral"):
        whole = m >= xp.iinfo(x.dtype).min  # (a cap below the dtype: not an integer of it)
    x, dt = as_work(xp, x, "relu", keep_int=s == 0 and whole, exact=s == 0)
    if xp.isdtype(x.dtype, "integral"):  # s == 0, whole t and m: integer arithmetic
        # t and m taken into the dtype's range, where they select the same entries
        # (a cap at or above its largest value caps nothing; every entry is at or
        # below a threshold above it, and above one below it)
        lo, hi = xp.iinfo(x.dtype).min, xp.iinfo(x.dtype).max
        m = None if m is None or m >= hi else int(m)
        t = int(min(t, hi))
        below = (x < lo) if t < lo else (x <= t)  # (x < lo: nowhere, and in range)
    else:
        # (floats: an int beyond int32 was an OverflowError on JAX, which takes a
        # Python int as int32 even beside a float32 array; decision 170)
        s, m, t = float(s), None if m is None else float(m), float(t)
        m, t = _into_range(xp, x, m, t)
        below = x <= t
    high = x if m is None else xp.where(x >= m, xp.scalar_operand(m, x), x)
    # (s (x - t) only where it is selected: an entry above t could overflow there,
    # unused, and NumPy warned: relu(float32 3e38, negative_slope=-2, threshold=-3.4e38))
    low = 0 if s == 0 else s * (xp.where(below, x, xp.scalar_operand(t, x)) - t)
    y = xp.where(below, low, high)
    # (NumPy promotes ml_dtypes' bfloat16 with a Python float to float32: decision 163)
    return finish(xp, y if y.dtype == x.dtype else xp.astype(y, x.dtype), dt)


def _into_range(xp, x, m, t):
    """relu's cap ``m`` and threshold ``t`` beyond the finite range of ``x``'s float
    dtype (float16's is 65504; decision 125 takes half input's parameters to
    float32's), taken into it where they select the same entries and ``m`` is what it
    rounds to: NumPy and JAX cast a Python float to the array's dtype, and warned
    "overflow encountered in cast" of relu(float16, max_value=1e5) (decision 160)."""
    if max(abs(t), 0.0 if m is None else abs(m)) <= 65504.0:
        return m, t
    big = float(xp.finfo(x.dtype).max)
    edge = big + (math.ldexp(1.0, math.frexp(big)[1] - 1) - big / 2)  # (rounds to inf)
    if m is not None and abs(m) > big:
        m = math.copysign(math.inf if abs(m) >= edge else big, m)
    if abs(t) > big:  # x <= t: at most the largest (above), only -inf (below)
        t = big if t > 0 else -math.inf
    return m, t


def relu6(xp, x):
    r"""ReLU capped at 6.

    .. math:: \mathrm{relu6}(x) = \min(\max(x, 0), 6)

    The derivative is 0 at both kinks (0 and 6).  Integer dtypes are kept.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.relu6(np.array([-1.0, 3.0, 7.0]))
      array([0., 3., 6.])
    """
    x, dt = as_work(xp, x, "relu6", keep_int=True, exact=True)
    return finish(xp, xp.where(x <= 0, 0, xp.where(x >= 6, 6, x)), dt)


def hard_tanh(xp, x):
    r"""Hard tanh.

    .. math:: \mathrm{hard\_tanh}(x) = \mathrm{clip}(x, -1, 1)

    The derivative is 0 at :math:`\pm 1`.  Integer dtypes are kept.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.hard_tanh(np.array([-2.0, 0.5, 2.0]))
      array([-1. ,  0.5,  1. ])
    """
    x, dt = as_work(xp, x, "hard_tanh", keep_int=True, exact=True)
    top = xp.where(x >= 1, 1, x)
    if xp.isdtype(x.dtype, "unsigned integer"):  # (-1 is none of its values: JAX wraps it)
        return finish(xp, top, dt)
    return finish(xp, xp.where(x <= -1, -1, top), dt)


def leaky_relu(xp, x, negative_slope=0.01):
    r"""Leaky ReLU.

    .. math:: \mathrm{leaky\_relu}(x) = \begin{cases} x & x \ge 0 \\
              \alpha x & x < 0 \end{cases}, \quad \alpha = \mathtt{negative\_slope}

    The derivative at 0 is ``negative_slope``.

    Args:
      x: input array.
      negative_slope: finite scalar, or array of ``x``'s library broadcastable
        to ``x`` (default 0.01, as JAX and PyTorch; Keras uses 0.2).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.leaky_relu(np.array([-2.0, 3.0]), negative_slope=0.1)
      array([-0.2,  3. ])
    """
    x, dt = as_work(xp, x, "leaky_relu")
    s = as_param(xp, negative_slope, x)
    pos = x > 0
    xn = xp.where(pos, 0.0, x)
    if isinstance(s, (int, float)) and s == 0:
        # 0 x is -0 for every finite x < 0, and its limit at -inf; 0 * -inf is NaN
        # (torch's and JAX's leaky_relu give NaN there, and NumPy warned; decision 149)
        xn = xp.where(xn == -_INF, -1.0, xn)
    return finish(xp, xp.where(pos, x, s * xn), dt)


def sigmoid(xp, x):
    r"""Logistic sigmoid.

    .. math:: \mathrm{sigmoid}(x) = \frac{1}{1 + e^{-x}}

    Stable for every ``x`` (``sigmoid(-1e4) == 0``, no overflow warning), with a
    derivative that keeps relative accuracy in both tails.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.sigmoid(np.array([-1e4, 0.0, 2.0]))
      array([0.        , 0.5       , 0.88079708])
    """
    x, dt = as_work(xp, x, "sigmoid")
    return finish(xp, fm.sigmoid(xp, x), dt)


def silu(xp, x):
    r"""SiLU (swish).

    .. math:: \mathrm{silu}(x) = x \cdot \mathrm{sigmoid}(x)

    ``silu(-inf) == 0``.  :func:`swish` is the same function object.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.silu(np.array([-1.0, 0.0, 1.0]))
      array([-0.26894142,  0.        ,  0.73105858])
    """
    x, dt = as_work(xp, x, "silu")
    return finish(xp, fm.gated(xp, x, fm.sigmoid(xp, x)), dt)


def softplus(xp, x, beta=1.0):
    r"""Softplus.

    .. math:: \mathrm{softplus}(x) = \frac{1}{\beta}\log(1 + e^{\beta x})

    computed as ``max(x, 0) + log1p(exp(-beta |x|)) / beta`` (``logaddexp(x, 0)``
    accuracy; ``softplus(1e4) == 1e4``).  PyTorch's ``threshold`` (where it
    switches to ``x``) is an approximation that this form does not need.

    Args:
      x: input array.
      beta: finite scalar > 0, or array (default 1.0, as PyTorch).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.softplus(np.array([-30.0, 0.0, 1e4]))
      array([9.35762297e-14, 6.93147181e-01, 1.00000000e+04])
    """
    x, dt = as_work(xp, x, "softplus")
    if isinstance(beta, (int, float)) and beta == 1:
        return finish(xp, fm.softplus(xp, x), dt)
    return finish(xp, fm.softplus_beta(xp, x, beta)[0], dt)


def log_sigmoid(xp, x):
    r"""Log-sigmoid.

    .. math:: \mathrm{log\_sigmoid}(x) = \log \mathrm{sigmoid}(x) = -\mathrm{softplus}(-x)

    Stable for every ``x`` (``log_sigmoid(-1e4) == -1e4``).

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.log_sigmoid(np.array([-1e4, 0.0]))
      array([-1.00000000e+04, -6.93147181e-01])
    """
    x, dt = as_work(xp, x, "log_sigmoid")
    return finish(xp, -fm.softplus(xp, -x), dt)


def elu(xp, x, alpha=1.0):
    r"""Exponential linear unit.

    .. math:: \mathrm{elu}(x) = \begin{cases} x & x > 0 \\
              \alpha (e^{x} - 1) & x \le 0 \end{cases}

    ``elu(-1e4) == -alpha``; the derivative keeps relative accuracy for x << 0.

    Args:
      x: input array.
      alpha: finite scalar, or array broadcastable to ``x`` (default 1.0).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.elu(np.array([-1e4, -1.0, 2.0]))
      array([-1.        , -0.63212056,  2.        ])
    """
    x, dt = as_work(xp, x, "elu")
    a = as_param(xp, alpha, x)
    # NaN fails x <= 0 and takes the identity: derivative 1, PyTorch's (decision 55;
    # with x > 0 it took the exponential's, NaN on JAX: decision 176)
    neg_side = x <= 0
    neg = a * fm.expm1_neg(xp, xp.where(neg_side, x, 0.0))
    return finish(xp, xp.where(neg_side, neg, x), dt)


def celu(xp, x, alpha=1.0):
    r"""Continuously-differentiable exponential linear unit.

    .. math:: \mathrm{celu}(x) = \begin{cases} x & x > 0 \\
              \alpha (e^{x / \alpha} - 1) & x \le 0 \end{cases}

    Args:
      x: input array.
      alpha: finite scalar > 0, or array broadcastable to ``x`` (default 1.0);
        an entry of an array at or below 0 gives NaN where ``x <= 0``.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.celu(np.array([-1.0, 2.0]), alpha=2.0)
      array([-0.78693868,  2.        ])
    """
    x, dt = as_work(xp, x, "celu")
    a = as_param(xp, alpha, x)
    valid = None
    if not isinstance(a, (int, float)):
        # an array alpha is data, not checked as a number is (alpha > 0): an entry
        # at or below 0 is outside the function's domain, NaN where x <= 0, computed
        # with 1 (the clamp below, -745 alpha, gave -alpha for a negative one: 1 for
        # celu(-2, -1); and 0's derivative in alpha was NaN where x > 0; decision 157)
        valid = a > 0
        a = xp.where(valid, a, 1.0)
    neg_side = x <= 0  # (NaN takes the identity, derivative 1: as elu)
    xn = xp.where(neg_side, x, 0.0)
    # x/alpha could overflow for tiny alpha; below -745 alpha, exp(x/alpha) is 0
    # even in float64, so clamping there changes neither value nor derivative.  For
    # every alpha whose -745 alpha is within range (float32 celu with alpha 3e38
    # warned of it): at x = -inf the derivative in alpha, expm1(t) - t e^t, was -inf
    # times 0 (NaN for its limit -1; decision 152), and the clamped t is -745
    lim = 4.0e35 if x.dtype == xp.float32 else 2.0e305
    if isinstance(a, (int, float)):  # (a Python number, as as_param leaves one)
        floor = -745.0 * a if a < lim else -_INF
    else:
        small = a < lim
        floor = xp.where(small, -745.0 * xp.where(small, a, 1.0), -_INF)
    xn = xp.where(xn < floor, floor, xn)
    # where x / alpha is above -2^-30, alpha expm1(x / alpha) is x + (x / 2) (x /
    # alpha) to 2^-62, and x / alpha may underflow (alpha 1e30, x = -1e-20: 0 for
    # -1e-20; decision 129); the derivatives, 1 + x / alpha and 1 / alpha, hold
    # (the shortcut's operands 0 elsewhere: at x = -inf, alpha >= 1, it was -inf + inf)
    t = xp.quotient(xn, a)  # (an array alpha: JAX's derivative of x / alpha, decision 149)
    if valid is None:
        tiny = t > -9.313225746154785e-10
        ts, xs = xp.where(tiny, t, 0.0), xp.where(tiny, xn, 0.0)
        neg = xp.where(tiny, xs + (xs * 0.5) * ts, a * fm.expm1_neg(xp, t))
    else:
        # an array alpha has a derivative: autodiff of alpha expm1(t) gives expm1(t) -
        # t e^t, which cancels for small |t| (2e6 ulp at t = -1e-6); on |t| < ln 2,
        # x + x t p(t), expm1's series (fm.expm1_rest), differentiates term by term to
        # -t^2 (p + t p'), with no cancellation (decision 193); the shortcut above is
        # its first term.  The far branch's alpha is 1 where unselected: an infinite
        # entry there made inf * 0, NaN derivatives in x and alpha (decision 196)
        near = t > -fm.LN2
        ts, xs = xp.where(near, t, 0.0), xp.where(near, xn, 0.0)
        far = xp.where(near, 1.0, a) * fm.expm1_neg(xp, t)
        neg = xp.where(near, xs + xs * (ts * fm.expm1_rest(xp, ts)), far)
    if valid is not None:
        neg = xp.where(valid, neg, _NAN)
    return finish(xp, xp.where(neg_side, neg, x), dt)


def selu(xp, x):
    r"""Scaled exponential linear unit.

    .. math:: \mathrm{selu}(x) = \lambda \begin{cases} x & x > 0 \\
              \alpha (e^{x} - 1) & x \le 0 \end{cases}

    with :math:`\lambda = 1.0507009873554804934193349852946` and
    :math:`\alpha = 1.6732632423543772848170429916717`.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.selu(np.array([-1.0, 0.0, 1.0]))
      array([-1.11133074,  0.        ,  1.05070099])
    """
    x, dt = as_work(xp, x, "selu")
    neg_side = x <= 0  # (NaN takes the identity, derivative lambda: as elu)
    neg = (fm.SELU_SCALE * fm.SELU_ALPHA) * fm.expm1_neg(xp, xp.where(neg_side, x, 0.0))
    return finish(xp, xp.where(neg_side, neg, fm.SELU_SCALE * xp.where(neg_side, 0.0, x)), dt)


def gelu(xp, x, approximate=True):
    r"""Gaussian error linear unit.

    Exact (``approximate=False``):

    .. math:: \mathrm{gelu}(x) = \frac{x}{2}\,\mathrm{erfc}\!\left(-\frac{x}{\sqrt 2}\right)
              = x\,\Phi(x)

    Approximate (``approximate=True``, the default, as in JAX; PyTorch's default
    is the exact form):

    .. math:: \mathrm{gelu}(x) = \frac{x}{2}\left(1 + \tanh\!\left(\sqrt{2/\pi}
              \,(x + 0.044715 x^3)\right)\right)

    evaluated as :math:`x\,\mathrm{sigmoid}(2u)`, which keeps relative accuracy
    in the left tail where ``1 + tanh`` cancels.  ``gelu(-inf) == 0``.

    Args:
      x: input array.
      approximate: whether to use the tanh approximation: a bool, or PyTorch's
        strings ``"tanh"`` (True) and ``"none"`` (False).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.gelu(np.array([-1.0, 0.0, 1.0]), approximate=False)
      array([-0.15865525,  0.        ,  0.84134475])
    """
    x, dt = as_work(xp, x, "gelu")
    if approximate:
        gate = fm.sigmoid(xp, fm.gelu_two_u(xp, fm.squash(xp, x, fm.GELU_LIM)))
    else:
        # x/2 erfc(-x/sqrt 2) == x * Phi(x); Phi comes from the backend (native)
        # or from the generic accurate implementation (_special.ndtr).
        gate = xp.ndtr(x)
    return finish(xp, fm.gated(xp, x, gate), dt)


def hard_sigmoid(xp, x):
    r"""Hard sigmoid.

    .. math:: \mathrm{hard\_sigmoid}(x) = \mathrm{relu6}(x + 3) / 6

    The derivative is 0 at the kinks :math:`\pm 3`.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.hard_sigmoid(np.array([-4.0, 0.0, 1.5]))
      array([0.  , 0.5 , 0.75])
    """
    # The middle branch through clip: NaN stays NaN with derivative 0 there, as
    # PyTorch's hardsigmoid (its backward is 1/6 only inside (-3, 3)).
    x, dt = as_work(xp, x, "hard_sigmoid")
    mid = (fm.squash(xp, x, 3.0) + 3.0) / 6.0
    return finish(xp, xp.where(x <= -3, 0.0, xp.where(x >= 3, 1.0, mid)), dt)


def hard_silu(xp, x):
    r"""Hard SiLU (hard swish).

    .. math:: \mathrm{hard\_silu}(x) = x \cdot \mathrm{hard\_sigmoid}(x)

    At the kinks the derivative is the smaller one-sided one (-1/2 at -3, 1 at
    3).  :func:`hard_swish` is the same function object.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.hard_silu(np.array([-1.0, 1.0, 4.0]))
      array([-0.33333333,  0.66666667,  4.        ])
    """
    # Kinks: at -3 the middle branch (slope -1/2 < 0), at 3 the identity
    # (slope 1 < 3/2): the smaller one-sided derivative, as the contract asks.
    # NaN fails both comparisons and takes the identity (derivative 1, as
    # PyTorch's hardswish); the discarded branch sees 0 there, not NaN, whose
    # derivative (times the 0 cotangent) was NaN on JAX (decision 176).
    x, dt = as_work(xp, x, "hard_silu")
    xm = fm.squash(xp, xp.where(x < 3, x, 0.0), 4.0)  # keeps the discarded branch finite
    mid = xm * (xm + 3.0) / 6.0
    return finish(xp, xp.where(x < -3, 0.0, xp.where(x < 3, mid, x)), dt)


def soft_sign(xp, x):
    r"""Soft sign.

    .. math:: \mathrm{soft\_sign}(x) = \frac{x}{|x| + 1}

    ``soft_sign(inf) == 1``.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.soft_sign(np.array([-1.0, 0.0, np.inf]))
      array([-0.5,  0. ,  1. ])
    """
    # |x| < 1: x / (|x| + 1);  |x| >= 1: +-(1 - 1/(|x| + 1)).  The second form
    # has no cancellation in its derivative (1/(1+|x|)^2) and gives +-1 at +-inf.
    x, dt = as_work(xp, x, "soft_sign")
    a = xp.abs(x)
    small = a < 1
    xs = xp.where(small, x, 0.0)
    near = xp.divide_rn(xs, xp.abs(xs) + 1.0)  # (the bound, 1.5 ulp, leaves no room for
    r = xp.divide_rn(1.0, a + 1.0)             # a division within 2: _formulas.divide_rn)
    far = xp.where(x < 0, r - 1.0, 1.0 - r)
    return finish(xp, xp.where(small, near, far), dt)


def tanh(xp, x):
    r"""Hyperbolic tangent; the one function that accepts complex input.

    .. math:: \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}

    Args:
      x: input array (real or complex).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.tanh(np.array([0.0, 1.0]))
      array([0.        , 0.76159416])
    """
    x, dt = as_work(xp, x, "tanh", complex_ok=True)
    return finish(xp, xp.tanh(x), dt)


# -- beyond the seed set ------------------------------------------------------------

def identity(xp, x):
    r"""Identity (Keras calls it ``linear``).

    .. math:: \mathrm{identity}(x) = x

    Integer dtypes are kept; bool is promoted to the default float dtype.
    Float input is returned as it is (as ``jax.nn.identity`` and
    ``torch.nn.Identity`` do).

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.identity(np.array([-1.0, 2.0]))
      array([-1.,  2.])
    """
    x, dt = as_work(xp, x, "identity", keep_int=True, exact=True)
    return finish(xp, x, dt)


def mish(xp, x):
    r"""Mish.

    .. math:: \mathrm{mish}(x) = x \tanh(\mathrm{softplus}(x))

    ``mish(-inf) == 0``.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.mish(np.array([-1.0, 0.0, 1.0]))
      array([-0.30340146,  0.        ,  0.86509839])
    """
    x, dt = as_work(xp, x, "mish")
    return finish(xp, fm.gated(xp, x, xp.tanh(fm.softplus(xp, x))), dt)


def squareplus(xp, x, b=4.0):
    r"""Squareplus.

    .. math:: \mathrm{squareplus}(x) = \frac{x + \sqrt{x^2 + b}}{2}

    Written without cancellation for x < 0 and without overflow of ``x**2``.
    With :math:`b = 0` it is relu, with relu's derivative 0 at 0.

    Args:
      x: input array.
      b: finite scalar >= 0, or array (default 4, as JAX).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.squareplus(np.array([-3.0, 0.0, 3.0]))
      array([0.30277564, 1.        , 3.30277564])
    """
    # h = sqrt(x^2 + b) is |x| where b / x^2 < 2^-60 (x^2 + b rounds to x^2 in
    # float32 and float64): the chain rule through the square root would take b /
    # (16 |x|^3), which underflows float32 from |x| ~ 3e12 (b = 4), half the
    # gradient lost.  x < 0: (b/4) / d, d = (h - x)/2; x >= 0: x + (b/4) / d, d =
    # (h + x)/2, with h/2 and x/2 halved first, so that neither sum can overflow.
    # Beyond |x| = 1e18 everything is scaled by s = 2^-64 (exact: a power of 2), h
    # = sqrt((s x)^2 + s^2 b) / s: x^2 would overflow float32 there, and b is not
    # negligible against x^2 below |x| ~ 2^30 sqrt(b) (decision 147: with h = |x|
    # there, b = 1e38 and x = -2e18 gave 1.25e19 for 4e18); so is every x for a
    # float32 b above 2^126, where x^2 + b may overflow.  Each quotient takes the
    # scaled d, of order s |x| or above, so that the chain rule's 1 / d^2 (JAX's y^-2)
    # stays in range: unscaled, it underflowed float32 beyond |x| ~ 2e19, the
    # gradient 0 for b = 1e30 and x = -4e22 (1.6e-16); its numerator b r, r = 2^-32,
    # cannot overflow (b / d could)
    x, dt = as_work(xp, x, "squareplus")
    b = as_param(xp, b, x)
    f32 = x.dtype == xp.float32
    if isinstance(b, (int, float)) and (b == 0 or (b <= fm.F32_ZERO and f32)):
        # b 0 in x's dtype: relu, and its derivative.  The quotients below took the
        # chain rule through 1 / h^2, which overflows where x^2 underflows (|x| <
        # 2^-64 in float32): 0 times inf, a NaN gradient (decision 146)
        return finish(xp, xp.where(x <= 0, 0.0, x), dt)
    a = xp.abs(x)
    if isinstance(b, (int, float)):
        far = a > (-1.0 if f32 and b > 2.0**126 else 1.0e18)
    else:
        far = (a > 1.0e18) | (b > 2.0**126) if f32 else a > 1.0e18
    # (1 in x's dtype elsewhere, and JAX's weak type kept: decision 166)
    r = xp.where(far, 2.0**-32, xp.ones_like(x))
    s = r * r
    h, flat = _squareplus_root(xp, x * s, (b * s) * s, f32)   # (b s s: XLA flushes s s)
    xn = xp.where(x < 0, x, 0.0) * s  # each branch sees only its own infinity
    xq = xp.where(x < 0, 0.0, x)
    # ((b r) / d) (r / 4): the same bits as (b / d) / 4 where r = 1 (powers of 2),
    # and b / d <= 2 sqrt(b) cannot overflow unscaled (d >= sqrt(b) / 2); a
    # subnormal b / 4 would have underflowed
    br, r4 = b * r, r * 0.25
    neg = xp.quotient(br, h * 0.5 - xn * 0.5) * r4  # (JAX's derivative: decision 147)
    pos = xq + xp.quotient(br, h * 0.5 + (xq * s) * 0.5) * r4
    return finish(xp, xp.where((x < 0) | (flat & (x == 0)), neg, pos), dt)


def _squareplus_root(xp, xs, bs, f32):
    """``(h, flat)``: squareplus's ``h = sqrt(a^2 + bs)`` of the scaled ``xs = s x``,
    ``a = |xs|``, and ``bs = s^2 b`` (a function of its own: its temporaries end
    with it, which keeps NumPy's block-by-block peak near the output's size), and
    where ``a^2 + bs`` is 0.  ``h`` is ``a`` where ``bs < 2^-60 a^2``, and where
    ``a^2`` would overflow: float64 beyond 1e150 (below sqrt(max), 1.3e154: b is
    negligible there), and +inf in either dtype (float32's scaled |x| is otherwise
    below 1.9e19), whose square is kept out of the product: its derivative there, 0
    times inf, was a NaN gradient at +-inf.  The square is of ``xs``, not of ``a``
    (the same bits): PyTorch's ``abs'(0)`` is 0, and ``|x|^2``'s second derivative at
    0 was 0, squareplus''(0) twice its value (decision 200)."""
    a = xp.abs(xs)
    huge = a > (2.0e19 if f32 else 1.0e150)
    sq = xp.where(huge, 0.0, xs)
    sq = sq * sq
    big = huge | (bs < sq * 2.0**-60)
    u = sq + bs
    # u = 0: b = 0 (in x's dtype) and x^2 below the smallest subnormal, where h = 0
    # would make both quotients 0 / 0; h = 1 there leaves them 0 (their b is).  At x
    # = 0 it is relu's kink (b = 0): the negative branch, whose derivative is the
    # smaller one-sided one, 0
    flat = u == 0
    return xp.where(big, a, xp.sqrt(xp.where(flat | big, 1.0, u))), flat


def sparse_plus(xp, x):
    r"""Sparse plus.

    .. math:: \mathrm{sparse\_plus}(x) = \begin{cases} 0 & x \le -1 \\
              (x + 1)^2 / 4 & -1 < x < 1 \\ x & x \ge 1 \end{cases}

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.sparse_plus(np.array([-2.0, 0.0, 2.0]))
      array([0.  , 0.25, 2.  ])
    """
    x, dt = as_work(xp, x, "sparse_plus")
    # the discarded branch kept finite by a select, not a clip: NaN reaches the middle
    # branch, whose derivative depends on x (decision 55: NaN; torch's clamp gave 0)
    xm = xp.where(xp.abs(x) >= 2.0, 0.0, x)
    mid = (xm + 1.0) * (xm + 1.0) * 0.25
    return finish(xp, xp.where(x <= -1, 0.0, xp.where(x >= 1, x, mid)), dt)


def sparse_sigmoid(xp, x):
    r"""Sparse sigmoid (derivative 0 at both kinks).

    .. math:: \mathrm{sparse\_sigmoid}(x) = \begin{cases} 0 & x \le -1 \\
              (x + 1) / 2 & -1 < x < 1 \\ 1 & x \ge 1 \end{cases}

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.sparse_sigmoid(np.array([-2.0, 0.0, 2.0]))
      array([0. , 0.5, 1. ])
    """
    x, dt = as_work(xp, x, "sparse_sigmoid")
    return finish(xp, xp.where(x <= -1, 0.0, xp.where(x >= 1, 1.0, (x + 1.0) * 0.5)), dt)


_LOG1MEXP_SWITCH = 1.7  # float64: log1p(-e^-x) above, its argument in (-0.19, 0)


def log1mexp(xp, x):
    r""":math:`\log(1 - e^{-x})` for :math:`x \ge 0`, stable over the whole range.

    .. math:: \mathrm{log1mexp}(x) = \log(1 - e^{-x})

    ``log1mexp(0) == -inf``; negative input gives NaN (no warning).

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.log1mexp(np.array([1e-10, 1.0, 50.0]))
      array([-2.30258509e+01, -4.58675145e-01, -1.92874985e-22])
    """
    # log(-expm1(-x)) below the switch, log1p(-exp(-x)) above it.  Maechler
    # switches at ln 2; for float64 the switch is 1.7, which keeps log1p's
    # argument above -0.19 (XLA's float64 log1p is 128 ulp off near -0.4).
    # Below 1e-8, log(x) - x/2 (the next term, x^2/24, is below any eps there):
    # expm1 of a tiny argument underflows to 0 in some vector libraries (Sleef).
    x, dt = as_work(xp, x, "log1mexp")
    switch = fm.LN2 if x.dtype == xp.float32 else _LOG1MEXP_SWITCH
    pos = x > 0
    xs = xp.where(pos, x, 1.0)  # keeps the discarded branches finite
    lo = xs < switch
    tiny = xs < 1.0e-8
    xt = xp.where(tiny, xs, 1.0e-8)
    small = xp.log(-xp.expm1(-xp.where(lo & ~tiny, xs, switch)))
    small = xp.where(tiny, xp.log(xt) - 0.5 * xt, small)
    large = xp.log1p(-xp.exp(-xp.where(lo, 2.0, xs)))
    val = xp.where(lo, small, large)
    # NaN: x x, NaN with a NaN derivative (decision 55; x gave 1), of 0 where x is
    # not NaN (inf x inf's derivative, inf, times the select's 0 was NaN; -1e308
    # squared warned of an overflow in NumPy, decision 146)
    xn = xp.where(xp.isnan(x), x, 0.0)
    out = xp.where(x < 0, _NAN, xp.where(x == 0, -_INF, xp.where(pos, val, xn * xn)))
    return finish(xp, out, dt)


def hard_shrink(xp, x, lambd=0.5):
    r"""Hard shrink (PyTorch).

    .. math:: \mathrm{hard\_shrink}(x) = \begin{cases} x & |x| > \lambda \\
              0 & \text{otherwise} \end{cases}

    Args:
      x: input array.
      lambd: finite scalar >= 0 (default 0.5, as PyTorch).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.hard_shrink(np.array([-1.0, 0.3, 0.7]))
      array([-1. ,  0. ,  0.7])
    """
    x, dt = as_work(xp, x, "hard_shrink")
    return finish(xp, xp.where(xp.abs(x) <= lambd, 0.0, x), dt)


def soft_shrink(xp, x, lambd=0.5):
    r"""Soft shrink (PyTorch).

    .. math:: \mathrm{soft\_shrink}(x) = \begin{cases} x - \lambda & x > \lambda \\
              x + \lambda & x < -\lambda \\ 0 & \text{otherwise} \end{cases}

    Args:
      x: input array.
      lambd: finite scalar >= 0 (default 0.5, as PyTorch).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.soft_shrink(np.array([-1.0, 0.3, 0.75]))
      array([-0.5 ,  0.  ,  0.25])
    """
    x, dt = as_work(xp, x, "soft_shrink")
    # x - clip(x, -lambd, lambd): x -+ lambd to the bit outside the band, never
    # beyond the range (x + lambd of a large positive x, the branch not taken,
    # overflowed and NumPy warned: decision 149); the band selected to 0, so that its
    # edges' derivative is 0 whatever a framework's clip gives at a bound (JAX's 1/2)
    lo, hi = xp.scalar_operand(-lambd, x), xp.scalar_operand(lambd, x)
    return finish(xp, xp.where(xp.abs(x) <= lambd, 0.0, x - xp.clip(x, lo, hi)), dt)


# Lambert's continued fraction: 2 ulp at |x| < 1 in float64 from depth 8; float32 (and
# half, computed in float32) 2.94 ulp from depth 5, as at depth 9 (every 200th of
# 2e5 float32 in (-1, 1) against mpmath), 4.5 at depth 4
_TANH_CF_DEPTH = {64: 9, 32: 5}


def tanh_shrink(xp, x):
    r"""Tanh shrink, with relative accuracy near 0.

    .. math:: \mathrm{tanh\_shrink}(x) = x - \tanh(x)

    For :math:`|x| < 1`, where the difference cancels, from Lambert's continued
    fraction :math:`\tanh x = x / (1 + u)`, :math:`u = x^2 / (3 + x^2 / (5 + \dots))`,
    as :math:`x u / (1 + u)`: nothing cancels.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.tanh_shrink(np.array([1e-3, 2.0]))
      array([3.33333200e-10, 1.03597242e+00])
    """
    x, dt = as_work(xp, x, "tanh_shrink")
    small = xp.abs(x) < 1
    xs = xp.clip(x, -1.0, 1.0)  # x where it is used; finite elsewhere (no NaN to mask)
    t = xs * xs
    # (NumPy's longdouble takes float64's depth: at least float64's accuracy)
    depth = _TANH_CF_DEPTH[32 if x.dtype == xp.float32 else 64]
    d = 2.0 * depth + 1.0
    for k in range(depth - 1, 0, -1):
        d = (2.0 * k + 1.0) + t / d
    u = t / d
    near = xs * u / (1.0 + u)
    return finish(xp, xp.where(small, near, x - xp.tanh(x)), dt)


def threshold(xp, x, threshold, value):
    r"""Threshold (PyTorch).

    .. math:: \mathrm{threshold}(x) = \begin{cases} x & x > \mathrm{threshold} \\
              \mathrm{value} & \text{otherwise} \end{cases}

    Args:
      x: input array.
      threshold: finite scalar.
      value: finite scalar, or array broadcastable to ``x``.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.threshold(np.array([-1.0, 0.5, 2.0]), 1.0, -5.0)
      array([-5., -5.,  2.])
    """
    x, dt = as_work(xp, x, "threshold")
    v = xp.scalar_operand(as_param(xp, value, x), x)
    return finish(xp, xp.where(x <= threshold, v, x), dt)


def prelu(xp, x, weight):
    r"""Parametric ReLU (PyTorch).

    .. math:: \mathrm{prelu}(x) = \begin{cases} x & x > 0 \\
              w \cdot x & \text{otherwise} \end{cases}

    with ``weight`` of size 1 or one per channel (axis 1; axis 0 of a 1-d
    ``x``).  The derivative at 0 is ``weight``, as leaky_relu's.

    Args:
      x: input array.
      weight: finite scalar, or 1-d array of size 1 or ``x.shape[1]``, from
        ``x``'s library.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.prelu(np.array([[-1.0, 2.0], [-3.0, 4.0]]), np.array([0.1, 0.2]))
      array([[-0.1,  2. ],
             [-0.3,  4. ]])
    """
    x, dt = as_work(xp, x, "prelu")
    w = as_param(xp, weight, x)
    # (checked: 1-d of size 1 or x.shape[1]) along axis 1; of size 1 that broadcasts
    # as a scalar, and a 0-d x keeps its shape; no size is compared here (a size that
    # torch.jit.trace traces would be made a Python bool, with a TracerWarning)
    if not isinstance(w, (int, float)) and x.ndim >= 2 and w.ndim == 1:
        w = xp.reshape(w, (-1,) + (1,) * (x.ndim - 2))
    elif not isinstance(w, (int, float)) and w.ndim == 1 and x.ndim == 0:
        w = xp.reshape(w, ())
    pos = x > 0
    xn = xp.where(pos, 0.0, x)
    if isinstance(w, (int, float)) and w == 0:  # (leaky_relu's: 0 * -inf is NaN)
        xn = xp.where(xn == -_INF, -1.0, xn)
    return finish(xp, xp.where(pos, x, w * xn), dt)


def activation_of(xp, name, x, *params):
    """The element-wise function ``name`` inside another body: the backend's own (its
    special case: a native kernel where one is right, an accurate backward) where the
    namespace offers one (``xp.activation``), else the generic body.  The kernels'
    tracer offers none, so a fused kernel is printed from the generic bodies."""
    own = getattr(xp, "activation", None)
    if own is not None:
        return own(name, x, *params)
    return _BODIES[name](xp, x, *params)


def quick_gelu(xp, x):
    r"""Quick GELU (CLIP; transformers' ``quick_gelu``).

    .. math:: \mathrm{quick\_gelu}(x) = x \cdot \mathrm{sigmoid}(1.702\,x)

    Stable for every ``x`` (``quick_gelu(-inf) == 0``), the sigmoid in the form that
    keeps relative accuracy in both tails.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.quick_gelu(np.array([-1.0, 0.0, 1.0]))
      array([-0.15420423,  0.        ,  0.84579577])
    """
    x, dt = as_work(xp, x, "quick_gelu")
    # 1.702 x would overflow near the float maximum; the gate is 0 or 1 past GELU_LIM
    gate = activation_of(xp, "sigmoid", fm.QUICK_GELU_SCALE * fm.squash(xp, x, fm.GELU_LIM))
    return finish(xp, fm.gated(xp, x, gate), dt)


def relu2(xp, x):
    r"""Squared ReLU (So et al., Primer; transformers' ``relu2``).

    .. math:: \mathrm{relu2}(x) = \max(x, 0)^2

    with :math:`\mathrm{relu2}'(x) = 2\max(x, 0)`.  Integer inputs are promoted to
    the default floating dtype (a square overflows integers silently).  Overflow
    above the square root of the dtype's maximum is real: the result is ``inf``.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.relu2(np.array([-2.0, 0.0, 1.5]))
      array([0.  , 0.  , 2.25])
    """
    x, dt = as_work(xp, x, "relu2")
    r = xp.where(x <= 0, 0.0, x)
    return finish(xp, r * r, dt)


def exponential(xp, x):
    r"""Exponential activation (Keras's ``exponential``).

    .. math:: \mathrm{exponential}(x) = e^x

    The backend's own ``exp``.  Overflow above ``log`` of the dtype's maximum is
    real: the result is ``inf``.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.exponential(np.array([-1.0, 0.0, 1.0]))
      array([0.36787944, 1.        , 2.71828183])
    """
    x, dt = as_work(xp, x, "exponential")
    return finish(xp, xp.exp(x), dt)


# the bodies by name, for activation_of (a dict, which torch.compile traces; globals() it does not)
_BODIES = {k: v for k, v in list(globals().items()) if callable(v) and not k.startswith("_")}
