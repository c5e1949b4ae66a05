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

__version__ = "0.1.0"
__all__ = [
    "celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
    "leaky_relu", "log_sigmoid", "log_softmax", "logsumexp", "one_hot", "relu", "relu6",
    "selu", "sigmoid", "silu", "soft_sign", "softmax", "softplus", "standardize", "swish",
    "tanh",
]
