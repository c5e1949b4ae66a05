"""The public functions: validate the arguments, pick the backend, delegate.

Each function resolves its backend from ``x`` (a ``type(x)`` dict lookup), checks
its parameters, and calls the backend's implementation: a native override where
the backend module has one, else the generic body in ``multiact._agnostic``.
"""

from __future__ import annotations

from . import _validate as v
from ._dispatch import backend_of

__all__ = [
    "celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
    "leaky_relu", "log_sigmoid", "log_softmax", "logsumexp", "one_hot", "relu", "relu6",
    "selu", "sigmoid", "silu", "soft_sign", "softmax", "softplus", "standardize", "swish",
    "tanh",
]


# -- element-wise, no parameters -------------------------------------------------

def relu(x):
    r"""Rectified linear unit.

    .. math:: \mathrm{relu}(x) = \max(x, 0)

    with :math:`\nabla\mathrm{relu}(0) = 0` on every autodiff backend.  Integer
    dtypes are kept; NaN gives NaN.

    Args:
      x: input array (any supported library) or Python scalar/sequence.

    Returns:
      An array of ``x``'s type, device and dtype.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.relu(np.array([-2.0, 0.0, 1.5]))
      array([0. , 0. , 1.5])
    """
    return backend_of(x, "relu").relu(x)


def relu6(x):
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
    return backend_of(x, "relu6").relu6(x)


def hard_tanh(x):
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
    return backend_of(x, "hard_tanh").hard_tanh(x)


def sigmoid(x):
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
    return backend_of(x, "sigmoid").sigmoid(x)


def silu(x):
    r"""SiLU (swish): :math:`x \cdot \mathrm{sigmoid}(x)`.

    ``silu(-inf) == 0``.  :func:`swish` is the same function object.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.silu(np.array([-1.0, 0.0, 1.0]))
      array([-0.26894142,  0.        ,  0.73105858])
    """
    return backend_of(x, "silu").silu(x)


def softplus(x, beta=1.0):
    r"""Softplus.

    .. math:: \mathrm{softplus}(x) = \frac{1}{\beta}\log(1 + e^{\beta x})

    computed as ``max(x, 0) + log1p(exp(-|x|))`` (``logaddexp(x, 0)`` accuracy;
    ``softplus(1e4) == 1e4``).  PyTorch's ``threshold`` (where it switches to
    ``x``) is an approximation that this form does not need.

    Args:
      x: input array.
      beta: positive scalar or array (default 1.0, as PyTorch).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.softplus(np.array([-30.0, 0.0, 1e4]))
      array([9.35762297e-14, 6.93147181e-01, 1.00000000e+04])
    """
    be = backend_of(x, "softplus")
    if type(beta) is not float:
        beta = v.param("softplus", "beta", beta, be, x)
        if isinstance(beta, (int, float)) and not beta > 0:
            raise ValueError(f"multiact.softplus: argument 'beta' must be > 0, got {beta!r}")
    return be.softplus(x, beta)


def log_sigmoid(x):
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
    return backend_of(x, "log_sigmoid").log_sigmoid(x)


def selu(x):
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
    return backend_of(x, "selu").selu(x)


def hard_sigmoid(x):
    r"""Hard sigmoid: :math:`\mathrm{relu6}(x + 3) / 6`.

    The derivative is 0 at the kinks :math:`\pm 3`.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.hard_sigmoid(np.array([-4.0, 0.0, 1.5]))
      array([0.  , 0.5 , 0.75])
    """
    return backend_of(x, "hard_sigmoid").hard_sigmoid(x)


def hard_silu(x):
    r"""Hard SiLU (hard swish): :math:`x \cdot \mathrm{hard\_sigmoid}(x)`.

    At the kinks the derivative is the smaller one-sided one (-1/2 at -3, 1 at
    3).  :func:`hard_swish` is the same function object.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.hard_silu(np.array([-1.0, 1.0, 4.0]))
      array([-0.33333333,  0.66666667,  4.        ])
    """
    return backend_of(x, "hard_silu").hard_silu(x)


def soft_sign(x):
    r"""Soft sign: :math:`x / (|x| + 1)`.

    ``soft_sign(inf) == 1``.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.soft_sign(np.array([-1.0, 0.0, np.inf]))
      array([-0.5,  0. ,  1. ])
    """
    return backend_of(x, "soft_sign").soft_sign(x)


def tanh(x):
    r"""Hyperbolic tangent, :math:`\tanh(x)`; the one function that accepts complex input.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.tanh(np.array([0.0, 1.0]))
      array([0.        , 0.76159416])
    """
    return backend_of(x, "tanh").tanh(x)


# -- element-wise, with parameters ---------------------------------------------

def leaky_relu(x, negative_slope=0.01):
    r"""Leaky ReLU.

    .. math:: \mathrm{leaky\_relu}(x) = \begin{cases} x & x \ge 0 \\
              \alpha x & x < 0 \end{cases}, \quad \alpha = \mathtt{negative\_slope}

    The derivative at 0 is ``negative_slope``.

    Args:
      x: input array.
      negative_slope: scalar, or array of ``x``'s library broadcastable to ``x``
        (default 0.01, as JAX and PyTorch; Keras uses 0.2).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.leaky_relu(np.array([-2.0, 3.0]), negative_slope=0.1)
      array([-0.2,  3. ])
    """
    be = backend_of(x, "leaky_relu")
    if type(negative_slope) is not float:
        negative_slope = v.param("leaky_relu", "negative_slope", negative_slope, be, x)
    return be.leaky_relu(x, negative_slope)


def elu(x, alpha=1.0):
    r"""Exponential linear unit.

    .. math:: \mathrm{elu}(x) = \begin{cases} x & x > 0 \\
              \alpha (e^{x} - 1) & x \le 0 \end{cases}

    ``elu(-1e4) == -alpha``; the derivative keeps relative accuracy for x << 0.

    Args:
      x: input array.
      alpha: scalar or array broadcastable to ``x`` (default 1.0).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.elu(np.array([-1e4, -1.0, 2.0]))
      array([-1.        , -0.63212056,  2.        ])
    """
    be = backend_of(x, "elu")
    if type(alpha) is not float:
        alpha = v.param("elu", "alpha", alpha, be, x)
    return be.elu(x, alpha)


def celu(x, alpha=1.0):
    r"""Continuously-differentiable exponential linear unit.

    .. math:: \mathrm{celu}(x) = \begin{cases} x & x > 0 \\
              \alpha (e^{x / \alpha} - 1) & x \le 0 \end{cases}

    Args:
      x: input array.
      alpha: positive scalar, or array broadcastable to ``x`` (default 1.0).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.celu(np.array([-1.0, 2.0]), alpha=2.0)
      array([-0.78693868,  2.        ])
    """
    be = backend_of(x, "celu")
    if type(alpha) is not float:
        alpha = v.param("celu", "alpha", alpha, be, x)
    if isinstance(alpha, (int, float)) and not alpha > 0:
        raise ValueError(f"multiact.celu: argument 'alpha' must be > 0, got {alpha!r}")
    return be.celu(x, alpha)


def gelu(x, approximate=True):
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
      approximate: whether to use the tanh approximation (bool).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.gelu(np.array([-1.0, 0.0, 1.0]), approximate=False)
      array([-0.15865525,  0.        ,  0.84134475])
    """
    be = backend_of(x, "gelu")
    if approximate is not True and approximate is not False:
        approximate = v.flag("gelu", "approximate", approximate)
    return be.gelu(x, approximate)


# -- reductions and shape-changing functions -----------------------------------

def glu(x, axis=-1):
    r"""Gated linear unit: :math:`a \cdot \mathrm{sigmoid}(b)` where ``a, b`` are
    the first and second halves of ``x`` along ``axis``.

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
    be = backend_of(x, "glu")
    x = be.coerce(x)
    if x.ndim == 0:
        raise ValueError("multiact.glu: argument 'x' must have at least one dimension, got 0-d")
    ax = v.one_axis("glu", axis, x.ndim)
    n = x.shape[ax]
    if n is not None and n % 2:
        raise ValueError(
            f"multiact.glu: argument 'x' must have an even size along axis {axis}, got {n}"
        )
    return be.glu(x, ax)


def softmax(x, axis=-1, where=None, initial=None):
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
      initial: optional scalar lower bound for the shift ``m``; never required.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.softmax(np.array([np.inf, 0.0, np.inf]))
      array([0.5, 0. , 0.5])
    """
    be = backend_of(x, "softmax")
    x = be.coerce(x)
    axes = v.axes("softmax", axis, x.ndim)
    where = v.mask("softmax", where, be, x)
    initial = v.scalar("softmax", "initial", initial, allow_none=True)
    return be.softmax(x, axes, where, initial)


def log_softmax(x, axis=-1, where=None, initial=None):
    r"""Log-softmax.

    .. math:: \mathrm{log\_softmax}(x)_i = x_i - \log \sum_j e^{x_j}

    Masked-out entries are ``-inf``; a fully masked slice is all ``-inf`` (never
    NaN).  Entries near 0 keep relative accuracy:
    ``log_softmax([1 - log(eps), 0])[0]`` is ``-4.4e-8`` in float32, not 0.

    Args:
      x: input array.
      axis: int, tuple of ints, or None (all axes); default -1.
      where: optional boolean mask broadcastable to ``x``.
      initial: optional scalar lower bound for the shift; never required.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.log_softmax(np.array([0.0, 0.0]))
      array([-0.69314718, -0.69314718])
    """
    be = backend_of(x, "log_softmax")
    x = be.coerce(x)
    axes = v.axes("log_softmax", axis, x.ndim)
    where = v.mask("log_softmax", where, be, x)
    initial = v.scalar("log_softmax", "initial", initial, allow_none=True)
    return be.log_softmax(x, axes, where, initial)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    r"""Log of the sum of exponentials.

    .. math:: \mathrm{logsumexp}(a) = \log \sum_i b_i e^{a_i}

    ``b == 0`` excludes an entry (even ``inf``); all ``-inf`` gives ``-inf`` with
    zero gradient; small terms are kept (``logsumexp([0, -40]) == 4.248e-18`` in
    float64); float16/bfloat16 accumulate in float32.  A negative sum is NaN
    unless ``return_sign=True``, which returns ``(log|sum|, sign)``.

    Args:
      a: input array.
      axis: int, tuple of ints, or None (all axes, the default).
      b: optional scale factors, scalar or array broadcastable to ``a``.
      keepdims: keep the reduced axes as size-1 dimensions.
      return_sign: also return the sign of the sum.
      where: optional boolean mask of the entries to include.

    Example:
      >>> import numpy as np, multiact
      >>> float(multiact.logsumexp(np.array([0.0, -40.0])))
      4.248354255291589e-18
    """
    be = backend_of(a, "logsumexp", "a")
    a = be.coerce(a)
    axes = v.axes("logsumexp", axis, a.ndim)
    b = v.param("logsumexp", "b", b, be, a, allow_none=True)
    keepdims = v.flag("logsumexp", "keepdims", keepdims)
    return_sign = v.flag("logsumexp", "return_sign", return_sign)
    where = v.mask("logsumexp", where, be, a)
    return be.logsumexp(a, axes, b, keepdims, return_sign, where)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    r"""Standardize: :math:`(x - \mu) / \sqrt{\sigma^2 + \epsilon}`.

    The mean and variance are taken over ``axis`` counting only ``where``; the
    variance uses the (compensated) two-pass formula, so data with a large mean
    keeps its digits.  A slice with nothing to count gives NaN (no warning).

    Args:
      x: input array.
      axis: int, tuple of ints or None; default -1.
      mean: optional precomputed mean (scalar or array broadcastable to ``x``).
      variance: optional precomputed variance.
      epsilon: non-negative scalar added to the variance (default 1e-5).
      where: optional boolean mask of the entries to count.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.standardize(np.array([1e8 + 1, 1e8 + 3]), epsilon=0.0)
      array([-1.,  1.])
    """
    be = backend_of(x, "standardize")
    x = be.coerce(x)
    axes = v.axes("standardize", axis, x.ndim)
    mean = v.param("standardize", "mean", mean, be, x, allow_none=True)
    variance = v.param("standardize", "variance", variance, be, x, allow_none=True)
    epsilon = v.nonneg_scalar("standardize", "epsilon", epsilon)
    where = v.mask("standardize", where, be, x)
    return be.standardize(x, axes, mean, variance, epsilon, where)


def one_hot(x, num_classes, *, dtype=None, axis=-1):
    r"""One-hot encoding: ``x[..., None] == arange(num_classes)``, moved to ``axis``.

    Indices outside ``[0, num_classes)`` give all-zero rows.

    Args:
      x: integer array of indices (any supported library).
      num_classes: positive Python int.
      dtype: output dtype, a dtype of ``x``'s library; default: that library's
        default real floating dtype on ``x``'s device.
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
    be = backend_of(x, "one_hot")
    x = be.coerce(x)
    num_classes = v.positive_int("one_hot", "num_classes", num_classes)
    ax = v.one_axis("one_hot", axis, x.ndim + 1)
    if dtype is not None:
        try:
            ok = be.ns.isdtype(dtype, ("bool", "integral", "real floating", "complex floating"))
        except Exception:  # noqa: BLE001
            ok = False
        if not ok:
            raise TypeError(
                f"multiact.one_hot: argument 'dtype' must be a dtype of {v._kind(be)}, got {dtype!r}"
            )
    return be.one_hot(x, num_classes, dtype, ax)


# Aliases are the same objects.
swish = silu
hard_swish = hard_silu
