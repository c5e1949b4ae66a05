"""multiact: one set of activation functions for every array library.

``multiact.gelu(x)`` takes a NumPy, JAX, PyTorch, CuPy, dask or any Array API
array and returns the same answer in the same type, on the same device, with
correct gradients.  Importing multiact imports no array framework: a backend is
loaded when the first array of its library is passed.
"""

from ._api import (
    celu, elu, gelu, glu, hard_sigmoid, hard_silu, hard_swish, hard_tanh, leaky_relu,
    log_sigmoid, log_softmax, logsumexp, one_hot, relu, relu6, selu, sigmoid, silu,
    soft_sign, softmax, softplus, standardize, swish, tanh,
)
from ._api_extra import (
    hard_shrink, identity, log1mexp, logmeanexp, mish, prelu, soft_shrink, softmin,
    sparse_plus, sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold,
)
from ._registry import ALIASES, Activation, get, names

# Other libraries' names for the same functions (the same objects).
hardswish = hard_silu
hardsigmoid = hard_sigmoid
hardtanh = hard_tanh
logsigmoid = log_sigmoid
softsign = soft_sign
hardshrink = hard_shrink
softshrink = soft_shrink
tanhshrink = tanh_shrink
linear = identity

__version__ = "0.1.0"
__all__ = [
    # seed set
    "celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
    "leaky_relu", "log_sigmoid", "log_softmax", "logsumexp", "one_hot", "relu", "relu6",
    "selu", "sigmoid", "silu", "soft_sign", "softmax", "softplus", "standardize", "swish",
    "tanh",
    # beyond
    "hard_shrink", "identity", "log1mexp", "logmeanexp", "mish", "prelu", "soft_shrink",
    "softmin", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink",
    "threshold",
    # aliases
    "hardswish", "hardsigmoid", "hardtanh", "logsigmoid", "softsign", "hardshrink",
    "softshrink", "tanhshrink", "linear",
    # registry
    "ALIASES", "Activation", "get", "names",
]
