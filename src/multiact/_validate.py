"""Argument checks of the public layer.  Every error names the function, the
argument and what was expected (SPEC.md, "errors")."""

from __future__ import annotations

import math
import operator

from ._dispatch import backend_of


def _kind(be) -> str:
    return be.name if be.framework == "generic" else be.framework


def scalar(fname, pname, v, *, allow_none=False):
    """A real Python or NumPy scalar, returned as a Python int/float."""
    if v is None and allow_none:
        return None
    if isinstance(v, bool):
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be a real number, got bool")
    if isinstance(v, float):
        return float(v)  # np.float64 is a float subclass, and would upcast float32
    if isinstance(v, int):
        return int(v)
    if type(v).__module__ == "numpy" and hasattr(v, "item") and getattr(v, "shape", None) == () \
            and type(v).__name__ != "ndarray":
        item = v.item()
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            return item
    raise TypeError(
        f"multiact.{fname}: argument {pname!r} must be a real number, got {type(v).__name__}"
    )


def param(fname, pname, v, be, x, *, allow_none=False):
    """A scalar-or-array parameter (``alpha``, ``b``, ``mean``, ...).

    Python and NumPy scalars are accepted with any backend and returned as Python
    numbers (which never upcast ``x``); arrays must come from ``x``'s library.
    """
    if v is None and allow_none:
        return None
    t = type(v)
    if t is float or t is int:
        return v
    if isinstance(v, (bool, complex, str, bytes)):
        raise TypeError(
            f"multiact.{fname}: argument {pname!r} must be a real number or an array, "
            f"got {type(v).__name__}"
        )
    if isinstance(v, (int, float)) or (
        t.__module__ == "numpy" and t.__name__ != "ndarray" and hasattr(v, "item")
    ):
        return scalar(fname, pname, v)
    if isinstance(v, (list, tuple)):
        v = be.xp.asarray(v, device=be.ns.device_of(x))
    else:
        other = backend_of(v, fname, pname)
        if not be.same_library(other):
            raise TypeError(
                f"multiact.{fname}: argument {pname!r} is a {_kind(other)} array but 'x' is a "
                f"{_kind(be)} array; pass arrays of one library (Python and NumPy scalars "
                f"go with any)"
            )
    if be.ns.isdtype(v.dtype, "complex floating"):
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be real, got dtype {v.dtype}")
    return v


def mask(fname, v, be, x, pname="where"):
    """A boolean mask from ``x``'s library (or a Python bool/sequence)."""
    if v is None:
        return None
    if isinstance(v, (bool, list, tuple)):
        v = be.xp.asarray(v, device=be.ns.device_of(x))
    else:
        other = backend_of(v, fname, pname)
        if not be.same_library(other):
            raise TypeError(
                f"multiact.{fname}: argument {pname!r} is a {_kind(other)} array but 'x' is a "
                f"{_kind(be)} array; pass arrays of one library"
            )
    if not be.ns.isdtype(v.dtype, "bool"):
        raise TypeError(
            f"multiact.{fname}: argument {pname!r} must be a boolean mask, got dtype {v.dtype}"
        )
    return v


def flag(fname, pname, v):
    if isinstance(v, bool):
        return v
    if type(v).__name__ == "bool_" and type(v).__module__ == "numpy":
        return bool(v)
    raise TypeError(f"multiact.{fname}: argument {pname!r} must be a bool, got {type(v).__name__}")


def _index(fname, pname, v):
    if isinstance(v, bool):
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be an int, got bool")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(
            f"multiact.{fname}: argument {pname!r} must be an int, got {type(v).__name__}"
        ) from None


def one_axis(fname, axis, ndim, pname="axis"):
    a = _index(fname, pname, axis)
    if not -ndim <= a < ndim:
        raise ValueError(
            f"multiact.{fname}: argument {pname!r} is {a}, out of range for an array of "
            f"{ndim} dimension(s) (expected -{ndim} <= {pname} < {ndim})"
        )
    return a % ndim


def axes(fname, axis, ndim, pname="axis"):
    """``int``, tuple of ints or ``None`` (all axes) -> tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        out = tuple(one_axis(fname, a, ndim, pname) for a in axis)
        if len(set(out)) != len(out):
            raise ValueError(f"multiact.{fname}: argument {pname!r} repeats an axis: {axis!r}")
        return out
    if ndim == 0:
        raise ValueError(
            f"multiact.{fname}: argument 'x' is 0-d, so {pname}={axis!r} does not exist "
            f"(expected {pname}=None or a tuple ())"
        )
    return (one_axis(fname, axis, ndim, pname),)


def positive_int(fname, pname, v):
    n = _index(fname, pname, v)
    if n <= 0:
        raise ValueError(f"multiact.{fname}: argument {pname!r} must be a positive int, got {n}")
    return n


def nonneg_scalar(fname, pname, v):
    s = scalar(fname, pname, v)
    if not s >= 0 or math.isinf(s):
        raise ValueError(
            f"multiact.{fname}: argument {pname!r} must be a finite number >= 0, got {s!r}"
        )
    return s
