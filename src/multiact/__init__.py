"""multiact: one set of activation functions for every array library.

``multiact.gelu(x)`` takes a NumPy, JAX, PyTorch, CuPy, dask or any Array API
array and returns the same answer in the same type, on the same device, with
correct gradients.  Importing multiact imports no array framework: a backend is
loaded when the first array of its library is passed.

Every function is one row of ``multiact._table`` and one generic body in
``multiact._agnostic``; ``multiact.info(name)`` shows what runs where;
``multiact.compile()`` compiles the fused kernels ahead of time.
"""

from typing import Any, Callable, Sequence

from ._api import *  # noqa: F401,F403 - the public functions and their aliases
from ._api import __all__ as _FUNCTIONS
from ._info import info
from ._registry import Activation, get, names
from .adapters import register_keras
from ._table import ALIASES, PRESETS

__version__ = "0.2.0"


def compile(targets: str | Sequence[str] | None = None,  # noqa: A001
            functions: Sequence[str] | None = None, dtypes: Sequence[str] | None = None,
            progress: Callable[[str], object] | None = None) -> list[dict[str, Any]]:
    """Compile every fused kernel; returns one dict per kernel and target:
    ``{"function", "dtype", "kernel", "target", "ok", "seconds", "error"}``.

    Args:
      targets: GPUs to compile for ahead of time, without one: ``"cuda:90"``,
        ``"hip:gfx942"``, comma-separated or a list.  The Triton kernels are
        compiled for every target (cubin, hsaco), the CuPy kernels by NVRTC for
        the NVIDIA ones; artifacts are kept in ``~/.cache/multiact/aot``
        (``$MULTIACT_CACHE/aot``).  Default: the local device's caches are
        warmed (a CUDA GPU: Triton's; CPU: Inductor's).
      functions: function names (default: every function with fused kernels).
      dtypes: ``"float32"``, ``"float16"``, ``"bfloat16"``, ``"float64"`` (default: all).
      progress: called with a line of text now and then (default: silent).

    ``multiact compile --target ...`` is the same from the shell
    (``src/multiact/kernels/aot.py``).  Not in ``__all__``: a star import would
    hide Python's built-in ``compile``.
    """
    from .kernels.aot import compile_kernels

    return compile_kernels(targets, functions, dtypes, progress)
__all__ = [*_FUNCTIONS, "ALIASES", "PRESETS", "Activation", "get", "names", "info", "register_keras"]

# Keras in the process: multiact registers with its serialization now (Keras imported
# first) or right after Keras' import (multiact first); imports nothing itself.
from .adapters import watch_keras_import as _watch_keras

_watch_keras()
del _watch_keras
