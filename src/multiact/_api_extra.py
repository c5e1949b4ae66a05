"""Public functions beyond the seed set (same rules as SPEC.md)."""

from __future__ import annotations

from . import _validate as v
from ._dispatch import backend_of

__all__ = ["identity", "mish", "squareplus", "sparse_plus", "sparse_sigmoid", "log1mexp",
           "logmeanexp", "softmin", "hard_shrink", "soft_shrink", "tanh_shrink", "threshold",
           "prelu", "sparsemax"]


def identity(x):
    r"""Identity: :math:`\mathrm{identity}(x) = x` (Keras calls it ``linear``).

    Integer dtypes are kept; bool is promoted to the default float dtype.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.identity(np.array([-1.0, 2.0]))
      array([-1.,  2.])
    """
    return backend_of(x, "identity").identity(x)


def mish(x):
    r"""Mish: :math:`x \tanh(\mathrm{softplus}(x))`.

    ``mish(-inf) == 0``.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.mish(np.array([-1.0, 0.0, 1.0]))
      array([-0.30340146,  0.        ,  0.86509839])
    """
    return backend_of(x, "mish").mish(x)


def squareplus(x, b=4.0):
    r"""Squareplus: :math:`(x + \sqrt{x^2 + b}) / 2`.

    Written without cancellation for x < 0 and without overflow of ``x**2``.

    Args:
      x: input array.
      b: non-negative scalar or array (default 4, as JAX).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.squareplus(np.array([-3.0, 0.0, 3.0]))
      array([0.30277564, 1.        , 3.30277564])
    """
    be = backend_of(x, "squareplus")
    b = v.param("squareplus", "b", b, be, x)
    if isinstance(b, (int, float)) and not b >= 0:
        raise ValueError(f"multiact.squareplus: argument 'b' must be >= 0, got {b!r}")
    return be.squareplus(x, b)


def sparse_plus(x):
    r"""Sparse plus: 0 for :math:`x \le -1`, :math:`(x + 1)^2 / 4` for
    :math:`-1 < x < 1`, :math:`x` for :math:`x \ge 1`.

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.sparse_plus(np.array([-2.0, 0.0, 2.0]))
      array([0.  , 0.25, 2.  ])
    """
    return backend_of(x, "sparse_plus").sparse_plus(x)


def sparse_sigmoid(x):
    r"""Sparse sigmoid: 0 for :math:`x \le -1`, :math:`(x + 1) / 2` for
    :math:`-1 < x < 1`, 1 for :math:`x \ge 1` (derivative 0 at both kinks).

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.sparse_sigmoid(np.array([-2.0, 0.0, 2.0]))
      array([0. , 0.5, 1. ])
    """
    return backend_of(x, "sparse_sigmoid").sparse_sigmoid(x)


def log1mexp(x):
    r""":math:`\log(1 - e^{-x})` for :math:`x \ge 0`, stable over the whole range.

    ``log1mexp(0) == -inf``; negative input gives NaN (no warning).

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.log1mexp(np.array([1e-10, 1.0, 50.0]))
      array([-2.30258509e+01, -4.58675145e-01, -1.92874985e-22])
    """
    return backend_of(x, "log1mexp").log1mexp(x)


def logmeanexp(x, axis=None, where=None, keepdims=False):
    r"""Log of the mean of exponentials: :math:`\log \frac{1}{n}\sum_i e^{x_i}`.

    As accurate as :func:`logsumexp` (the mean of equal entries is exactly
    their value); a slice with nothing to count is NaN.

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
    be = backend_of(x, "logmeanexp")
    x = be.coerce(x)
    axes = v.axes("logmeanexp", axis, x.ndim)
    where = v.mask("logmeanexp", where, be, x)
    keepdims = v.flag("logmeanexp", "keepdims", keepdims)
    return be.logmeanexp(x, axes, where, keepdims)


def softmin(x, axis=-1, where=None, initial=None):
    r"""Softmin: :math:`\mathrm{softmax}(-x)`.

    Args:
      x: input array.
      axis: int, tuple of ints or None; default -1.
      where: optional boolean mask.
      initial: optional scalar (applies to ``-x``), never required.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.softmin(np.array([0.0, np.log(3.0)]))
      array([0.75, 0.25])
    """
    be = backend_of(x, "softmin")
    x = be.coerce(x)
    axes = v.axes("softmin", axis, x.ndim)
    where = v.mask("softmin", where, be, x)
    initial = v.scalar("softmin", "initial", initial, allow_none=True)
    return be.softmin(x, axes, where, initial)


def _lambd(fname, lambd):
    lambd = v.scalar(fname, "lambd", lambd)
    if not lambd >= 0:
        raise ValueError(f"multiact.{fname}: argument 'lambd' must be >= 0, got {lambd!r}")
    return lambd


def hard_shrink(x, lambd=0.5):
    r"""Hard shrink: :math:`x` if :math:`|x| > \lambda`, else 0.

    Args:
      x: input array.
      lambd: non-negative scalar (default 0.5, as PyTorch).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.hard_shrink(np.array([-1.0, 0.3, 0.7]))
      array([-1. ,  0. ,  0.7])
    """
    be = backend_of(x, "hard_shrink")
    return be.hard_shrink(x, _lambd("hard_shrink", lambd))


def soft_shrink(x, lambd=0.5):
    r"""Soft shrink: :math:`x - \lambda` if :math:`x > \lambda`, :math:`x + \lambda`
    if :math:`x < -\lambda`, else 0.

    Args:
      x: input array.
      lambd: non-negative scalar (default 0.5, as PyTorch).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.soft_shrink(np.array([-1.0, 0.3, 0.75]))
      array([-0.5 ,  0.  ,  0.25])
    """
    be = backend_of(x, "soft_shrink")
    return be.soft_shrink(x, _lambd("soft_shrink", lambd))


def tanh_shrink(x):
    r"""Tanh shrink: :math:`x - \tanh(x)`, with relative accuracy near 0 (Taylor
    series for :math:`|x| < 1`, where the difference cancels).

    Args:
      x: input array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.tanh_shrink(np.array([1e-3, 2.0]))
      array([3.33333200e-10, 1.03597242e+00])
    """
    return backend_of(x, "tanh_shrink").tanh_shrink(x)


def threshold(x, threshold, value):
    r"""Threshold (PyTorch): :math:`x` if :math:`x > \mathrm{threshold}`, else ``value``.

    Args:
      x: input array.
      threshold: real scalar.
      value: real scalar or array.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.threshold(np.array([-1.0, 0.5, 2.0]), 1.0, -5.0)
      array([-5., -5.,  2.])
    """
    be = backend_of(x, "threshold")
    t = v.scalar("threshold", "threshold", threshold)
    value = v.param("threshold", "value", value, be, x)
    return be.threshold(x, t, value)


def prelu(x, weight):
    r"""Parametric ReLU (PyTorch): :math:`x` if :math:`x > 0`, else
    :math:`w \cdot x`, with ``weight`` of size 1 or one per channel (axis 1).

    Args:
      x: input array.
      weight: scalar, or 1-d array of size 1 or ``x.shape[1]``, from ``x``'s library.

    Example:
      >>> import numpy as np, multiact
      >>> multiact.prelu(np.array([[-1.0, 2.0], [-3.0, 4.0]]), np.array([0.1, 0.2]))
      array([[-0.1,  2. ],
             [-0.3,  4. ]])
    """
    be = backend_of(x, "prelu")
    x = be.coerce(x)
    w = v.param("prelu", "weight", weight, be, x)
    if not isinstance(w, (int, float)):
        if w.ndim > 1:
            raise ValueError(f"multiact.prelu: argument 'weight' must be 0-d or 1-d, got {w.ndim}-d")
        if w.ndim == 1 and w.shape[0] != 1:
            channels = x.shape[1] if x.ndim >= 2 else (x.shape[0] if x.ndim == 1 else 1)
            if w.shape[0] != channels:
                raise ValueError(
                    f"multiact.prelu: argument 'weight' has {w.shape[0]} entries; expected 1 or "
                    f"the number of channels, {channels}"
                )
    return be.prelu(x, w)


def sparsemax(x, axis=-1):
    r"""Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of ``x``
    onto the probability simplex along ``axis``.

    Args:
      x: input array.
      axis: int (default -1).

    Example:
      >>> import numpy as np, multiact
      >>> multiact.sparsemax(np.array([1.0, 0.8, -1.0]))
      array([0.6, 0.4, 0. ])
    """
    be = backend_of(x, "sparsemax")
    x = be.coerce(x)
    if x.ndim == 0:
        raise ValueError("multiact.sparsemax: argument 'x' must have at least one dimension, got 0-d")
    return be.sparsemax(x, v.one_axis("sparsemax", axis, x.ndim))
