"""multiact: one set of activation functions for every array library.

``multiact.gelu(x)`` takes a NumPy, JAX, PyTorch, CuPy, dask or any Array API
array and returns the same answer in the same type, on the same device, with
correct gradients.  Importing multiact imports no array framework: a backend is
loaded when the first array of its library is passed.

Every function is one row of ``multiact._table`` and one generic body in
``multiact._agnostic``; ``multiact.info(name)`` shows what runs where.
"""

from ._api import *  # noqa: F401,F403 - the public functions and their aliases
from ._api import __all__ as _FUNCTIONS
from ._info import info
from ._registry import Activation, get, names
from .adapters import register_keras
from ._table import ALIASES

__version__ = "0.2.0"
__all__ = [*_FUNCTIONS, "ALIASES", "Activation", "get", "names", "info", "register_keras"]
