"""The one scorer: the error of a result against its reference, and the cell
of the function x backend x device x dtype matrix that ``multiact check`` and
the conformance suite both report (``score_case``).

An error is ``|y - ref| / ulp(ref)`` with ``ref`` from mpmath (60 digits) and
``ulp(ref)`` the spacing of the output dtype at ``ref``.  A reference within 1024
smallest-normal numbers of zero met by a result that small (0 included) is not
scored (XLA on CPU and GPUs in fast modes flush subnormals to zero; a gate
flushed to 0 times |x| < 1024 lands there: docs/decisions.md 66).
``standardize`` is scored in units of ``eps * (1 + |mean| / std + |ref|)`` of
each slice and entry (subtracting the mean is its conditioning; an entry far
out from the mean has a relative error: decision 86), ``sparsemax`` in ulps of each
slice's largest entry (each entry is a difference of O(1) numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# (mantissa bits incl. the implicit one, smallest normal, largest finite)
FORMATS = {
    "float64": (53, 2.0**-1022, float(np.finfo(np.float64).max)),
    "float32": (24, 2.0**-126, float(np.finfo(np.float32).max)),
    "float16": (11, 2.0**-14, 65504.0),
    "bfloat16": (8, 2.0**-126, float.fromhex("0x1.fep127")),
}


FTZ_FLOOR = 1024.0


def round_to(x, dtype):
    """float64 values rounded to ``dtype`` (round-half-even), as float64."""
    x = np.asarray(x, dtype=np.float64)
    if dtype == "float64":
        return x.copy()
    if dtype in ("float32", "float16"):
        with np.errstate(over="ignore"):
            return x.astype(dtype).astype(np.float64)
    # bfloat16: round the float32 bit pattern to its top 16 bits
    f = x.astype(np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    out = rounded.astype(np.uint32).view(np.float32).astype(np.float64)
    return np.where(np.isnan(x), np.nan, out)


def ulp_of(ref, dtype):
    p, tiny, _ = FORMATS[dtype]
    a = np.abs(np.asarray(ref, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log2(np.where(a > 0, a, 1.0)))
    return np.maximum(np.exp2(e - (p - 1)), tiny * 2.0 ** (1 - p))


def ulp_error(y, hi, lo, dtype):
    """Per-entry error of ``y`` (float64 values of a ``dtype`` result) in ulps.

    NaN must match NaN; a reference that is infinite, or that rounds to infinity
    in ``dtype``, must be matched exactly; a finite reference met by an infinite
    or NaN result is an infinite error.
    """
    y = np.asarray(y, dtype=np.float64)
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), y.shape)
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), y.shape)
    ref_d = round_to(hi, dtype)
    err = np.zeros(y.shape)
    nan_ref, nan_y = np.isnan(hi), np.isnan(y)
    inf_ref = np.isinf(ref_d) & ~nan_ref
    special = nan_ref | inf_ref | nan_y | np.isinf(y)
    ok_special = (nan_ref & nan_y) | (inf_ref & (y == ref_d))
    err[special & ~ok_special] = math.inf
    fin = ~special
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs((y[fin] - hi[fin]) - lo[fin])
    err[fin] = diff / ulp_of(hi[fin], dtype)
    # Flush-to-zero (XLA on CPU, GPUs in fast modes): a reference within
    # FTZ_FLOOR smallest-normals of zero met by a result that small (0 included)
    # is not an error: a gate that is subnormal (flushed, or overflowed in
    # x / (1 + exp(-x))) times |x| < 1024 lands there: silu's and mish's gates
    # are subnormal down to x = -745 in float64, quick_gelu's to -438.
    # A float16 result is computed in float32 and rounded once: what could flush is
    # float32's, 2^-112 of float16's smallest normal (its floor was 1024 of float16's
    # own, 1/16: every float16 result below it passed, whatever its value)
    tiny = FORMATS["float32" if dtype == "float16" else dtype][1]
    ftz = fin & (np.abs(hi) <= FTZ_FLOOR * tiny) & (np.abs(y) <= FTZ_FLOOR * tiny)
    err[ftz] = np.minimum(err[ftz], 0.0)
    return err


def standardize_scale(data, ref):
    """The unit of standardize's error, over ``eps``: ``1 + |mean| / std`` of each
    slice of ``data`` (the counted entries), plus ``|ref|`` of each entry."""
    return 1 + np.abs(data.mean(-1, keepdims=True)) / data.std(-1, keepdims=True) \
        + np.abs(np.asarray(ref, dtype=np.float64))


def shift_scaled_error(y, ref, data, dtype):
    """Per-row error of a ``max + log(sum)`` result (logsumexp, logmeanexp) in ulps
    of the larger of the reference and the row's largest finite entry: where the
    result is near 0 and the maximum is not, the sum cancels the maximum, and an
    ulp of the inputs there is many of the result (the result is ill-conditioned:
    decision 146).  Elsewhere the ulps of the result (:func:`ulp_error`)."""
    err = ulp_error(y, ref, 0.0, dtype)
    finite = np.isfinite(data)
    m = np.max(np.where(finite, data, -np.inf), axis=-1)
    m = np.where(np.any(finite, axis=-1), np.abs(m), 0.0)
    ok = np.isfinite(ref) & np.isfinite(np.asarray(y, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        shifted = np.abs(np.asarray(y, dtype=np.float64) - ref) / ulp_of(m, dtype)
    return np.where(ok & (m > np.abs(ref)), np.minimum(err, shifted), err)


def scaled_error(y, ref, scale, dtype):
    """``|y - ref| / (eps * scale)``, for results whose natural error is absolute
    (standardize: :func:`standardize_scale`).  NaN must match NaN."""
    p = FORMATS[dtype][0]
    y = np.asarray(y, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    err = np.abs(y - ref) / (2.0 ** (1 - p) * np.asarray(scale))
    both_nan = np.isnan(y) & np.isnan(ref)
    err[both_nan] = 0.0
    err[np.isnan(err)] = np.inf
    return err


# -- cells of the matrix ------------------------------------------------------------------

@dataclass
class Cell:
    """One cell: a function (with parameters), a target, a dtype, and the verdict."""

    function: str
    backend: str
    device: str
    dtype: str
    n: int
    worst: float
    bound: float
    passed: bool
    note: str = ""
    where: str = ""

    def message(self) -> str:
        return (f"{self.function} on {self.backend}:{self.device} {self.dtype}: worst "
                f"{_fmt(self.worst)} ulp (bound {self.bound}){' at ' + self.where if self.where else ''}"
                f"{'; ' + self.note if self.note else ''}")


def _fmt(x):
    if x == math.inf:
        return "inf"
    return f"{x:.2f}" if x < 1000 else f"{x:.3g}"


def contract(target, x, y, dtype):
    """Type, dtype and device of the output equal the input's ('' when they do)."""
    problems = []
    if type(y) is not type(x) and target.backend != "jax":
        problems.append(f"type {type(y).__name__} != {type(x).__name__}")
    got = target.dtype_name(y)
    if got != dtype:
        problems.append(f"dtype {got} != {dtype}")
    if target.device_of(y) != target.device_of(x):
        problems.append(f"device {target.device_of(y)} != {target.device_of(x)}")
    return "; ".join(problems)


_REF_CACHE: dict = {}


def _cached(key, compute):
    v = _REF_CACHE.get(key)
    if v is None:
        v = _REF_CACHE[key] = compute()
    return v


def score_case(info, params, target, dtype, *, dense=False, full=False, param_form=None,
               call=None):
    """Run ``info``'s function with ``params`` on ``target`` in ``dtype`` and score it.

    Element-wise rows run on the sweep (``inputs.sweep``), reductions on their
    row's data (``Rows.inputs``); the reference is the row's.  ``param_form``
    turns each scalar parameter into another form (a 0-d or full array of the
    target) before the call.  ``call(fn, x, kwargs)``, where given, makes the call
    (the conformance suite's ONNX export: the function run by onnxruntime).  A crash
    is a failed cell, with its message.
    """
    import multiact

    from . import inputs as I
    from . import reference as R

    fn = getattr(multiact, info.name)
    if call is None:
        def call(f, x, kw):
            return f(x, **kw)
    label = info.label(params)
    b = info.bound(dtype, params)
    ref = R.for_row(info.name)
    try:
        if isinstance(ref, R.Scalar):
            xs = target.inputs(I.sweep(dtype, full, dense), dtype)
            key = (info.name, tuple(sorted(params.items())), dtype, full, dense, xs.size)
            hi, lo = _cached(key, lambda: R.elementwise(ref, xs, **params))
            x = target.asarray(xs, dtype)
            kw = dict(params)
            if param_form is not None:
                kw = {k: param_form(target, x, xs, v, dtype) for k, v in kw.items()}
            with np.errstate(over="ignore"):  # true overflow (selu(max)) is inf by design
                y = call(fn, x, kw)
                note = contract(target, x, y, dtype)
                err = ulp_error(target.to_numpy(y), hi, lo, dtype)  # dask computes here
            n, at = xs.size, xs
        elif ref.error == "exact":
            idx = I.indices()
            x = target.asarray(idx, "int32" if target.backend == "jax" else "int64")
            y = call(fn, x, {**params, "dtype": target.dtype_object(dtype)})
            note = contract(target, target.asarray(idx, dtype), y, dtype)
            want = ref.f(idx, **params)
            err = np.abs(target.to_numpy(y) - want)
            n, at = idx.size, None
        else:
            data = I.rows_inputs(ref.inputs, dtype)
            x = target.asarray(data, dtype)
            y = call(fn, x, params)
            note = contract(target, x, y, dtype)
            rp = {k: v for k, v in params.items() if k in ref.params}
            want = _cached((info.name, dtype, tuple(sorted(rp.items()))),
                           lambda: ref.f(data, **rp))
            yn = target.to_numpy(y)
            if ref.error == "scaled_mean":
                err = scaled_error(yn, want, standardize_scale(data, want), dtype)
            elif ref.error == "scaled_max":
                err = scaled_error(yn, want, np.max(np.abs(want), axis=-1, keepdims=True), dtype)
            elif ref.error == "scaled_shift":
                err = shift_scaled_error(yn, want, data, dtype)
            else:
                err = ulp_error(yn, want, 0.0, dtype)
            n, at = data.size, None
        worst = float(np.max(err)) if err.size else 0.0
        where = ""
        if worst > b and at is not None:
            i = int(np.argmax(err))
            where = f"x={at[i]!r} (got {target.to_numpy(y).ravel()[i]!r}, want {hi[i]!r})"
        return Cell(label, target.backend, target.device, dtype, n, worst, b,
                    worst <= b and not note, note, where)
    except Exception as e:  # noqa: BLE001 - a crash is a failed cell, reported
        if type(e).__name__ == "MissingExtra":
            raise
        return Cell(label, target.backend, target.device, dtype, 0, math.inf, b, False,
                    f"{type(e).__name__}: {e}")
