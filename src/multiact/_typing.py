"""Types of the public API: a function keeps its input's array type.

``ArrayT`` is any array with a ``shape`` and a ``dtype`` (NumPy, PyTorch, JAX,
CuPy, dask, Array API arrays); Python numbers and sequences are NumPy input,
so they give ``numpy.ndarray``.  Nothing here imports a framework at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Sequence, TypeVar, Union

__all__ = ["ActivationFn", "ArrayLike", "ArrayT", "PyInput", "NDArray"]


class ArrayLike(Protocol):
    """What multiact needs of an array type (for type checkers only)."""

    @property
    def shape(self) -> Any: ...

    @property
    def dtype(self) -> Any: ...


ArrayT = TypeVar("ArrayT", bound=ArrayLike)

class ActivationFn(Protocol):
    """What ``multiact.get`` returns: a function of one array that keeps its type."""

    def __call__(self, x: ArrayT, /) -> ArrayT: ...


#: Python input, treated as NumPy input
PyInput = Union[float, int, bool, Sequence[Any]]

if TYPE_CHECKING:
    from numpy.typing import NDArray
else:
    NDArray = Any
