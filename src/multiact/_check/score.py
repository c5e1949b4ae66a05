"""Error in ulps of a result against a double-double reference."""

from __future__ import annotations

import math

import numpy as np

# (mantissa bits incl. the implicit one, smallest normal, largest finite)
FORMATS = {
    "float64": (53, 2.0**-1022, float(np.finfo(np.float64).max)),
    "float32": (24, 2.0**-126, float(np.finfo(np.float32).max)),
    "float16": (11, 2.0**-14, 65504.0),
    "bfloat16": (8, 2.0**-126, float.fromhex("0x1.fep127")),
}


FTZ_FLOOR = 128.0


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
    # is not an error: a flushed subnormal gate times |x| <= 128 lands there.
    tiny = FORMATS[dtype][1]
    ftz = fin & (np.abs(hi) <= FTZ_FLOOR * tiny) & (np.abs(y) <= FTZ_FLOOR * tiny)
    err[ftz] = np.minimum(err[ftz], 0.0)
    return err


def scaled_error(y, ref, scale, dtype):
    """``|y - ref| / (eps * scale)``, for results whose natural error is absolute
    (standardize: ``scale = 1 + |mean| / std`` of each slice).  NaN must match NaN."""
    p = FORMATS[dtype][0]
    y = np.asarray(y, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    err = np.abs(y - ref) / (2.0 ** (1 - p) * np.asarray(scale))
    both_nan = np.isnan(y) & np.isnan(ref)
    err[both_nan] = 0.0
    err[np.isnan(err)] = np.inf
    return err
