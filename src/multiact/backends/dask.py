"""dask.array: the generic bodies build the task graph; nothing is computed early.
An element-wise function with Python-number parameters is NumPy's, one task per
block (``_per_block``, reason: speed), and so is softmax, log_softmax, softmin or
standardize where each block holds whole slices (``_whole_slices``).

Reductions (softmax, logsumexp, standardize) are written with ``max``/``sum``
over ``axis``, which dask evaluates correctly when the axis is split across
chunks; unknown chunk sizes (after boolean indexing) are counted lazily
(``_formulas.count``) and reduced axes dropped with ``squeeze``
(``_formulas.drop_axes``).  Seven primitives differ (below, each with its reason):
``clip``, ``max``, ``shift``, ``quotient``, ``sum_squares``, ``sum`` and ``sort``.
"""

from __future__ import annotations

from functools import partial

import array_api_compat.dask.array as _xp
import dask.array as _da
import numpy as _np

from .._agnostic._formulas import reduced_axes
from . import Backend, Namespace
from .generic import _sum as _generic_sum


def _clip(ns, x, lo, hi):
    # Reason: array_api_compat's dask clip broadcasts through the shape, which
    # unknown chunk sizes (NaN) break; dask's own clip is element-wise.
    return _da.clip(x, lo, hi)


def _max(ns, x, axis=None, keepdims=False):
    # Reason: boolean indexing leaves empty chunks of unknown size, on which dask's
    # max raises ("zero-size array to reduction operation maximum"), and so do the
    # known empty chunks that x.compute_chunk_sizes() leaves (decision 184).  With
    # -inf as the identity every non-empty slice keeps its maximum and an empty one
    # is -inf, which the bodies already treat as "nothing to reduce".
    if not any(c != c or c == 0 for cs in x.chunks for c in cs):  # no empty chunk
        return _da.max(x, axis=axis, keepdims=keepdims)
    import numpy as np

    def f(a, axis=None, keepdims=False, **_):
        return np.max(a, axis=axis, keepdims=keepdims, initial=-np.inf)

    return _da.reduction(x, f, f, axis=axis, keepdims=keepdims, dtype=x.dtype,
                         concatenate=True)


def _quiet_subtract(a, b):
    import numpy as np

    with np.errstate(over="ignore"):
        return np.subtract(a, b)


def _shift(ns, x, m):
    # Reason: no spurious warning (decision 96).  x - max overflowing to -inf is the
    # limit; NumPy warns when dask computes the block, where the call's errstate does
    # not reach, so each block's subtraction runs under its own.
    return _da.core.elemwise(_quiet_subtract, x, m)


def _quiet_divide(a, b):
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def _quotient(ns, a, b):
    # Reason: no spurious warning (decision 130), as _shift: standardize's 0 / 0 of
    # a constant slice with epsilon 0 is NaN, and NumPy warns when dask computes it
    return _da.core.elemwise(_quiet_divide, a, b)


def _quiet_sum_squares(a, axis=None, keepdims=False, **_):
    import numpy as np

    with np.errstate(over="ignore"):
        if a.dtype == np.float32:  # (in float64, as _sum: decision 188)
            return np.sum(a * a, axis=axis, keepdims=keepdims, dtype=np.float64)
        return _np_wide_sum(a * a, axis, keepdims)


def _np_wide_sum(a, axis, keepdims):
    from .numpy import wide_sum

    return wide_sum(a, axis, keepdims)


def _quiet_sum(a, axis=None, keepdims=False, **_):
    import numpy as np

    with np.errstate(over="ignore"):
        return _np_wide_sum(a, axis, keepdims)


def _sum(ns, x, axis=None, *, keepdims=False, dtype=None):
    # Reason: accuracy, as NumPy's primitive (decisions 188, 189): NumPy sums each
    # block in order across any axis but the last, off by up to n eps (a float32
    # softmax along axis 0 of 20000 x 8 was 401 ulp off, the bound 68).  A float32
    # array's sums accumulate in float64, rounded once: the generic backend's
    # primitive, through the standard's dtype=; a float64 block is summed by NumPy's
    # primitive (in blocks where NumPy would add in order), and the blocks' sums are
    # added as dask does
    if dtype is not None or x.dtype != _np.float64 or not x.ndim:
        return _generic_sum(ns, x, axis, keepdims=keepdims, dtype=dtype)
    return _da.reduction(x, _quiet_sum, _quiet_sum, axis=axis, keepdims=keepdims,
                         dtype=x.dtype)


def _sum_squares(ns, d, axis=None, keepdims=False):
    # Reason: no spurious warning (decisions 178, 185), as NumPy's primitive: a
    # standardize slice whose sum of squares passes the dtype's largest number is
    # the contract's exception (its output is 0), and NumPy warned "overflow
    # encountered in multiply" when dask computed the block, where the call's
    # errstate does not reach: each block's squares and sums run under their own
    s = _da.reduction(d, _quiet_sum_squares, _quiet_sum, axis=axis, keepdims=keepdims,
                      dtype=_np.float64 if d.dtype == _np.float32 else d.dtype)
    return s.astype(d.dtype) if s.dtype != d.dtype else s


def _sort(ns, x, axis=-1, descending=False, stable=True):
    # Reason: pickling.  array_api_compat's dask sort maps its NumPy wrapper over the
    # blocks, a function the standard library's pickle cannot find by its name
    # (array_api_compat 1.16): sparsemax's lazy result alone refused
    # ``pickle.dumps`` (decision 194).  NumPy's own sort, on one chunk along
    # ``axis``, as array_api_compat's (stable or not: equal values are alike)
    if x.numblocks[axis] > 1:
        # (the other axes "auto", where their sizes are known: dask cannot size
        # chunks of unknown size, as after boolean indexing; decision 232)
        known = all(n == n for c in x.chunks for n in c)
        x = x.rechunk({i: -1 if i == axis % x.ndim else "auto" for i in range(x.ndim)}
                      if known else {axis % x.ndim: -1})
    y = _da.map_blocks(_np.sort, x, axis=axis, dtype=x.dtype, meta=x._meta)
    return _da.flip(y, axis) if descending else y


PRIMITIVES = {"clip": _clip, "max": _max, "shift": _shift, "quotient": _quotient,
              "sum_squares": _sum_squares, "sum": _sum, "sort": _sort}


class DaskBackend(Backend):
    """dask: the generic bodies, on arrays whose blocks are plain NumPy arrays; an
    element-wise function with Python-number parameters is NumPy's, block by block
    (:func:`_per_block`)."""

    def generic(self, row, body, x, *params):
        # Reason: a dask array of masked blocks (dask.array.ma) or matrices is what
        # NumPy refuses as x (decision 96), one graph later: the blocks' masks were
        # dropped by some operations and kept by others, and dtypes changed at compute
        # while the graph's said float32 (decision 166).  The type of x is dask's
        # either way, so the check is per call, on its blocks' type (``_meta``).
        _refuse_blocks(x, row.name, row.first)
        if type(getattr(x, "_meta", None)) is _NDARRAY and (
                (row.elementwise and all(type(p) in _CONSTANTS for p in params))
                or _whole_slices(row, x, params)):
            return _per_block(row, x, params)
        if type(getattr(x, "_meta", None)) is _NDARRAY and _gated_halves(row, x, params):
            return _gated_per_block(row, x, params)
        params = tuple(_aligned(v, x, row.name, q.name, row.first,
                                type(q.kind).__name__ == "Scale")
                       if type(q.kind).__name__ in _ALIGNED_KINDS else v
                       for v, q in zip(params, row.params))
        return body(self.ns, x, *params)

    def check_array(self, fname, pname, v, x, first="x"):
        _refuse_blocks(v, fname, pname)


#: the parameter types of a per-block call: Python numbers, bools and None (an array
#: parameter is a dask array of its own, and takes the generic body)
_CONSTANTS = (float, int, bool, type(None))


def _numpy_block(name, params, block):
    """NumPy's function ``name`` of one block (a module-level function of plain
    arguments: dask tokenizes it in microseconds, where a bound method of the NumPy
    backend was pickled whole, 14.5 ms a call)."""
    from . import numpy as _np_backend

    return getattr(_np_backend.BACKEND, name)(block, *params)


def _whole_slices(row, x, params):
    """Whether ``row``, a reduction whose output has ``x``'s shape (softmax,
    log_softmax, softmin, standardize: ``row_kernel == "same"``), may run NumPy's
    function block by block: its parameters are Python values (no mask, mean or
    variance array) and each block holds whole slices (every reduced axis is one
    chunk).  Reason: speed.  The generic body is one dask operation per array
    operation, and its reductions more: log_softmax of 2000 x 2000 float64 in
    blocks of 100 x 2000 was 760 tasks and 139 ms, NumPy's function per block 40
    tasks and 47 ms (decision 188).  A slice split across chunks keeps the
    generic body, whose reductions dask combines."""
    if row.row_kernel != "same" or x.ndim == 0 or \
            not all(type(p) in _CONSTANTS or type(p) is tuple for p in params):
        return False
    axes = reduced_axes(params[_axis_at(row)], x.ndim)
    return all(x.numblocks[a] == 1 for a in axes)


def _per_block(row, x, params):
    """``row``'s element-wise function of ``x`` as NumPy computes it, one task per
    block (``map_blocks``).  Reason: speed.  The generic body is one dask operation,
    so one task per block, for each of its array operations: exact GELU's generic
    ``ndtr`` put 92,800 tasks into the graph of a 2000 x 2000 array of 400 blocks,
    which computed in 5.5-6.1 s against 0.1 s for a ``map_blocks`` of SciPy's
    formula (decision 184).  NumPy's functions are the same bodies (with NumPy's
    special cases: SciPy's ``ndtr``, in-place chains), so the values are NumPy's,
    bit for bit, and within the table's bounds."""
    return x.map_blocks(partial(_numpy_block, row.name, params),
                        **_numpy_result(row, x, params))


def _numpy_result(row, x, params):
    """``map_blocks``'s ``dtype``, ``meta`` and ``name`` for NumPy's function of
    ``x``'s blocks: the dtype from an empty block (``x._meta`` of a 0-d array holds
    its value: computed there, it warned of an overflow at the call)."""
    with _np.errstate(all="ignore"):  # (x's number of axes: a reduction's axis)
        dt = _numpy_block(row.name, params, _np.empty((0,) * max(x.ndim, 1), x.dtype)).dtype
    return {"dtype": dt, "meta": _np.empty((0,) * x.ndim, dt),
            "name": f"{row.name}-{_da.core.tokenize(x, row.name, params)}"}


def _axis_at(row):
    """The position of ``row``'s ``axis`` among its parameters."""
    return [q.name for q in row.params].index("axis")


def _gated_halves(row, x, params):
    """Whether ``row`` is a gated function (glu, swiglu, geglu) whose parameters are
    Python values and whose split axis has a known, even, nonzero size (else the
    generic body, whose ``fm.halves`` gives the errors)."""
    if not row.halves or x.ndim == 0 or \
            not all(type(p) in _CONSTANTS or type(p) is str for p in params):
        return False
    n = x.shape[params[_axis_at(row)] % x.ndim]
    return type(n) is int and n > 0 and n % 2 == 0


def _gated_per_block(row, x, params):
    """A gated function of ``x`` as NumPy computes it, one task per block of the
    halves ``a`` and ``b`` (``b`` rechunked as ``a``): NumPy's function of the two
    blocks side by side.  Reason: speed.  The generic body is one dask operation for
    each of its array operations: exact geglu of 2000 x 4000 float64 in 400 blocks
    was 47,200 tasks and 6.5 s, ``gelu(a) * b`` by hand 1,200 tasks and 0.9 s
    (decision 205).  Element-wise in ``a`` and ``b``, so NumPy's values, bit for
    bit."""
    i = _axis_at(row)
    axis = params[i] % x.ndim
    params = params[:i] + (axis,) + params[i + 1:]
    h = x.shape[axis] // 2
    cut = [slice(None)] * x.ndim
    a = x[tuple(cut[:axis] + [slice(0, h)] + cut[axis + 1:])]
    b = x[tuple(cut[:axis] + [slice(h, 2 * h)] + cut[axis + 1:])].rechunk(a.chunks)
    return _da.map_blocks(partial(_gated_block, row.name, params, axis), a, b,
                          **_numpy_result(row, x, params))


def _gated_block(name, params, axis, ab, bb):
    """NumPy's gated function ``name`` of one block of ``a`` and ``b`` side by side."""
    return _numpy_block(name, params, _np.concatenate([ab, bb], axis))


def _unknown(n):
    return n != n  # (dask's NaN size)


#: the parameter kinds that broadcast against x's trailing axes (prelu's weight lines
#: up with axis 1, and the body reshapes it first: its check refuses unknown sizes,
#: ``_params.Weight``)
_ALIGNED_KINDS = frozenset({"Mask", "RealOrArray", "Scale"})


def _aligned(v, x, fname, pname, first, joint=False):
    """The array parameter ``v`` (a mask, a weight) of ``x``'s call, checked block
    by block against ``x`` where a size is unknown (boolean indexing).  Reason:
    dask's operations broadcast such blocks as NumPy broadcasts them, so a block of
    1 entry stretched over one of 2 where ``v`` had 3 rows and ``x`` 4: logsumexp's
    ``b`` and the softmax family's ``where`` gave values where NumPy's shape check
    raises (decision 184).  The check runs when the graph does (the sizes are not
    known before); it raises the contract's ``ValueError``, and a size-1 axis of
    ``v`` known as such still broadcasts.  An axis of ``x`` known as 1 broadcasts
    only where ``joint`` (logsumexp's ``b`` broadcasts together with ``a``); a mask
    or a parameter of unknown size there was stretched over ``x``, whose result
    then had another shape than ``x`` (decision 204).  Else ``v`` itself."""
    if not isinstance(v, _da.Array) or v.ndim > x.ndim:
        return v
    off = x.ndim - v.ndim
    axes = tuple(i for i in range(v.ndim)
                 if (_unknown(v.shape[i]) or _unknown(x.shape[i + off]))
                 and v.shape[i] != 1 and (x.shape[i + off] != 1 or not joint))
    for i in axes:
        if _unknown(v.shape[i]) and not _unknown(x.shape[i + off]) and x.shape[i + off] != 1:
            # dask refuses to broadcast an unknown size with a known one, in its own
            # words at the call ("operands could not be broadcast together with
            # shapes (nan, 3) (2, 3)"), naming no function (decision 232)
            raise ValueError(f"multiact.{fname}: argument {pname!r} has an unknown size "
                             f"along axis {i + off}, where {first} has {x.shape[i + off]} "
                             f"(after boolean indexing): call compute_chunk_sizes() on it, "
                             f"so that it can be checked against {first}")
        if x.shape[i + off] == 1 and v.numblocks[i] > 1:
            # x's one block meets each of v's: a block's size cannot tell v's whole
            # size there (three blocks of 1 passed, blocks of 1, 0 and 0 raised)
            raise ValueError(f"multiact.{fname}: argument {pname!r} has an unknown size "
                             f"along axis {i + off}, in {v.numblocks[i]} blocks, where "
                             f"{first} has 1 (after boolean indexing): call "
                             f"compute_chunk_sizes() on it, so that it can be checked "
                             f"against {first}")
    if not axes:
        return v
    return _da.core.elemwise(partial(_aligned_block, fname, pname, first, axes, off), v, x,
                             dtype=v.dtype)


def _aligned_block(fname, pname, first, axes, off, vb, xb):
    for i in axes:
        n, m = vb.shape[i], xb.shape[i + off]
        if n != m:
            raise ValueError(f"multiact.{fname}: argument {pname!r} does not line up with "
                             f"{first}: along axis {i + off} a block of {n} "
                             f"entr{'y' if n == 1 else 'ies'} meets one of {m} (sizes unknown "
                             f"until compute, after boolean indexing: call "
                             f"compute_chunk_sizes() on both, and rechunk them alike)")
    return _np.broadcast_to(vb, _np.broadcast_shapes(vb.shape, xb.shape))


def _refuse_blocks(v, fname, pname):
    """NumPy's refusal of ``numpy.ma.MaskedArray`` and ``numpy.matrix`` for a dask
    array whose blocks are one (``_dispatch.refuse_numpy_subclass``)."""
    meta = getattr(v, "_meta", None)
    if meta is not None and type(meta) is not _NDARRAY:
        from .._dispatch import refuse_numpy_subclass

        try:
            refuse_numpy_subclass(type(meta), fname, pname)
        except TypeError as e:
            said = str(e).replace(" is a numpy.", " is a dask array whose blocks are numpy.", 1)
            said = said.replace("numpy.asarray(...)", f"{pname}.map_blocks(numpy.asarray)")
            raise TypeError(said.replace("numpy.ma.getdata(...)",
                                         "dask.array.ma.getdata(...)")) from None


_NDARRAY = _np.ndarray

BACKEND = DaskBackend(Namespace(_xp, "dask", PRIMITIVES))
