"""Any other Array API namespace (array-api-strict, ...): the generic bodies, as they are.

No special cases, and three primitives (:func:`_shift`, :func:`_quotient`, :func:`_sum`): this is
the proof that the generic path uses nothing outside the standard.
"""

from __future__ import annotations

import math
import sys

from .._agnostic._formulas import reduced_axes
from . import Backend, Namespace


def _shift(ns, x, m):
    """``x - m``, an entry minus its slice's maximum (``_formulas.shift``).  Reason: no
    spurious warning.  A namespace built on NumPy (array-api-strict) warns where it
    overflows to ``-inf`` for an entry more than the dtype's range below the maximum,
    which is the limit there (decision 96; the NumPy backend's ``_shift``).  Only
    where NumPy is already imported: nothing is imported for it."""
    np = sys.modules.get("numpy")
    if np is None:
        return x - m
    with np.errstate(over="ignore"):
        return x - m


def _quotient(ns, a, b):
    """``a / b`` (``_formulas.quotient``).  Reason: no spurious warning, as
    :func:`_shift`: standardize's 0 / 0 of a constant slice with epsilon 0 is NaN
    (decision 130)."""
    np = sys.modules.get("numpy")
    if np is None:
        return a / b
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


def _sum(ns, x, axis=None, *, keepdims=False, dtype=None):
    """``sum`` of a float32 array accumulated in float64 (the standard's ``dtype=``),
    rounded once; of a float64 array, :func:`blocked_sum`.  Reason: accuracy.  A
    namespace may sum a slice in order, one term after another: array-api-strict
    does (NumPy's sum wherever its inner loop is not the reduced axis: across any
    axis but the last of a C-ordered array, along the last of a permuted one), off
    by up to n eps; a float32 softmax along axis 0 of 16384 x 2 went past its bound
    of 68 ulp (decision 188), a float64 standardize along axis 0 of 100000 x 2 was
    30.5 units off, the bound 2.5 (decision 189).  The standard has no strides to
    tell the layouts apart."""
    xp = ns._xp
    if dtype is None and x.dtype == ns.float32:
        if _holds_float64(xp, x):
            return ns.astype(xp.sum(x, axis=axis, keepdims=keepdims, dtype=ns.float64),
                             ns.float32)
        if x.ndim:  # (a device without float64, decision 232)
            return blocked_sum(xp, x, axis, keepdims)
    if dtype is None and x.dtype == ns.float64 and x.ndim:
        return blocked_sum(xp, x, axis, keepdims)
    return xp.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


#: (namespace, device) -> whether that device holds float64
_FLOAT64_ON: dict = {}


def _holds_float64(xp, x):
    """Whether ``x``'s device holds float64, by the namespace's inspection API.  The
    standard lets a device lack it (array-api-strict's ``Device('no_float64')``
    models one), and there the float64 sum raised the namespace's error, naming no
    function (decision 232); a namespace without the inspection API is taken to
    hold it, as before."""
    device = getattr(x, "device", None)
    try:
        return _FLOAT64_ON[xp, device]
    except KeyError:
        pass
    except TypeError:  # (an unhashable device: asked each time)
        return _ask_float64(xp, device)
    held = _ask_float64(xp, device)
    if len(_FLOAT64_ON) < 256:
        _FLOAT64_ON[xp, device] = held
    return held


def _ask_float64(xp, device):
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return True
    try:
        return "float64" in info().dtypes(device=device, kind="real floating")
    except Exception:  # (an inspection API that cannot answer for this device)
        return True


#: blocked_sum's block: the most terms it adds in order, whatever the layout
SUM_BLOCK = 32


def blocked_sum(xp, x, axis=None, keepdims=False):
    """The sum of ``x`` over ``axis`` in namespace ``xp`` that never adds more than
    ``SUM_BLOCK`` terms in order, whatever the namespace and the layout: one axis (a
    run of adjacent ones merged) at a time, each split (a view) into blocks of
    ``SUM_BLOCK`` whose sums are summed again in blocks (off by ``SUM_BLOCK`` eps a
    level, where a sum in order is off by n eps), in about one pass over memory.  For
    NumPy and namespaces over it, which add in order wherever their inner loop is not
    the reduced axis."""
    axes = reduced_axes(axis, x.ndim)
    # each run of adjacent reduced axes as one axis (a reshape: a view of a C-ordered
    # array), reduced from the last (the axes before keep their numbers)
    shape, runs, d = [], [], 0
    while d < x.ndim:
        e = d + 1
        if d in axes:
            while e < x.ndim and e in axes:
                e += 1
            runs.append(len(shape))
        shape.append(math.prod(x.shape[d:e]))
        d = e
    s = x if len(shape) == x.ndim else xp.reshape(x, tuple(shape))
    for a in reversed(runs):
        s = _blocks(xp, s, a)
    if keepdims:
        s = xp.reshape(s, tuple(1 if d in axes else x.shape[d] for d in range(x.ndim)))
    return s


def _blocks(xp, x, a):
    n = x.shape[a]
    if n <= SUM_BLOCK:
        return xp.sum(x, axis=a)
    k, at = n // SUM_BLOCK, (slice(None),) * a
    head = xp.reshape(x[at + (slice(0, k * SUM_BLOCK), ...)],
                      x.shape[:a] + (k, SUM_BLOCK) + x.shape[a + 1:])
    s = _blocks(xp, xp.sum(head, axis=a + 1), a)
    if k * SUM_BLOCK < n:
        s = s + xp.sum(x[at + (slice(k * SUM_BLOCK, None), ...)], axis=a)
    return s


#: the least version of the Array API standard the generic bodies are written for:
#: 2024.12 lets ``where`` take a Python scalar, which they pass (decision 138)
STANDARD = "2024.12"


class GenericBackend(Backend):
    def check_array(self, fname, pname, v, x, first="x"):
        # Reason: the contract's error.  An array argument on another device than x:
        # array_api_strict refused the mix in its own words ("Inputs to where must all
        # use the same device", "Arrays from two different devices ... can not be
        # combined"), naming neither the function nor the argument, and its
        # broadcast_arrays moved logsumexp's weight b to a's device without a word
        # (decision 228)
        dv, dx = self.ns.device_of(v), self.ns.device_of(x)
        if dv is not None and dx is not None and dv != dx:
            raise ValueError(f"multiact.{fname}: argument {pname!r} is on device {dv} but "
                             f"{first!r} is on {dx}; expected one device ({pname}.to_device("
                             f"{first}.device))")

    def on_error(self, exc, x, fname, argname="x"):
        # Reason: a clear error.  A namespace that implements an older standard
        # (array_api_strict.set_array_api_strict_flags(api_version="2023.12")) failed
        # deep in a body with an AttributeError ('float' object has no attribute 'dtype')
        # (only an error of the namespace's own: multiact's own errors are about the
        # call, "multiact.glu: ... even size", and stand)
        if not isinstance(exc, (AttributeError, TypeError)) or str(exc).startswith(
                "multiact."):
            return
        version = getattr(self.xp, "__array_api_version__", None)
        if isinstance(version, str) and version < STANDARD:
            raise TypeError(
                f"multiact.{fname}: argument {argname!r} is an array of {self.label}, "
                f"whose namespace implements the Array API standard {version}; multiact "
                f"needs {STANDARD} or later (where() with a Python scalar)") from exc


def backend(xp):
    """A backend for the Array API namespace ``xp``."""
    label = getattr(xp, "__name__", type(xp).__name__)
    return GenericBackend(Namespace(xp, "generic", {"shift": _shift, "quotient": _quotient,
                                                    "sum": _sum}, label=label))
