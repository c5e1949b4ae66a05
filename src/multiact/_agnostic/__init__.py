"""Generic definitions: every function once, against the namespace ``xp``.

``GENERIC`` maps each public name to its generic body ``f(xp, x, *params)``;
``STATIC`` names the parameters that select code paths (``axis``, ``approximate``,
...) rather than data, which a tracing backend (``jax.jit``) must treat as static.
``PRIMITIVES`` are the functions the standard lacks; a backend may supply a
native version of each (``backends/<name>.py``: ``extra``).
"""

from . import elementwise as _e
from . import reductions as _r
from . import _special
from . import extra as _x

GENERIC = {
    "celu": _e.celu,
    "elu": _e.elu,
    "gelu": _e.gelu,
    "glu": _r.glu,
    "hard_sigmoid": _e.hard_sigmoid,
    "hard_silu": _e.hard_silu,
    "hard_tanh": _e.hard_tanh,
    "leaky_relu": _e.leaky_relu,
    "log_sigmoid": _e.log_sigmoid,
    "log_softmax": _r.log_softmax,
    "logsumexp": _r.logsumexp,
    "one_hot": _r.one_hot,
    "relu": _e.relu,
    "relu6": _e.relu6,
    "selu": _e.selu,
    "sigmoid": _e.sigmoid,
    "silu": _e.silu,
    "soft_sign": _e.soft_sign,
    "softmax": _r.softmax,
    "softplus": _e.softplus,
    "standardize": _r.standardize,
    "tanh": _e.tanh,
    # beyond the seed set
    "identity": _x.identity,
    "mish": _x.mish,
    "squareplus": _x.squareplus,
    "sparse_plus": _x.sparse_plus,
    "sparse_sigmoid": _x.sparse_sigmoid,
    "log1mexp": _x.log1mexp,
    "logmeanexp": _x.logmeanexp,
    "softmin": _x.softmin,
    "hard_shrink": _x.hard_shrink,
    "soft_shrink": _x.soft_shrink,
    "tanh_shrink": _x.tanh_shrink,
    "threshold": _x.threshold,
    "prelu": _x.prelu,
    "sparsemax": _x.sparsemax,
}

STATIC = frozenset(
    {"axes", "axis", "approximate", "keepdims", "return_sign", "num_classes", "dtype"}
)

PRIMITIVES = {"ndtr": _special.ndtr}
