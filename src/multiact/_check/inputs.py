"""The data every function is checked on (``multiact check`` and ``conformance/``).

All of it is float64 NumPy data whose values are representable in the dtype
being checked (``round_to``), so the mpmath reference is computed on exactly
the values the function sees.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .score import FORMATS, round_to

__all__ = ["elementwise_inputs", "sweep", "all_values", "reduction_inputs",
           "standardize_inputs", "glu_inputs", "sparsemax_inputs", "indices", "rows_inputs"]


def elementwise_inputs(dtype, n_grid=241, seed=0):
    """Special values, kinks, a dense grid over the interesting region, and a
    log-spaced sweep over the whole finite range of ``dtype`` (as float64)."""
    p, tiny, big = FORMATS[dtype]
    special = [0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5, math.inf, -math.inf, math.nan,
               tiny, -tiny, tiny * 2.0 ** -(p - 1), big, -big, 2.0**-p, -(2.0**-p)]
    grid = np.linspace(-12, 12, n_grid)
    lmax = math.log10(big)
    logs = np.logspace(math.log10(tiny), lmax - 1e-3, 200)
    rng = np.random.default_rng(seed)
    rand = rng.standard_normal(200) * 4
    x = np.concatenate([special, grid, logs, -logs, rand, np.linspace(-0.75, 0.75, 61)])
    return np.unique(round_to(x, dtype)) if dtype != "float64" else np.asarray(x)


def all_values(dtype):
    """Every finite, infinite and NaN value of a 16-bit float dtype, as float64."""
    bits = np.arange(1 << 16, dtype=np.uint32)
    with np.errstate(invalid="ignore"):  # signalling NaN patterns
        if dtype == "float16":
            return bits.astype(np.uint16).view(np.float16).astype(np.float64)
        return (bits << 16).view(np.float32).astype(np.float64)


@functools.lru_cache(maxsize=None)
def sweep(dtype, full=False, dense=False):
    """The element-wise sweep.  ``multiact check``: ``elementwise_inputs``.
    ``dense`` (conformance): also a dense grid, random values and the kinks;
    for 16-bit dtypes every value (``full``) or every 13th."""
    if not dense:
        return elementwise_inputs(dtype)
    if dtype in ("float16", "bfloat16"):
        v = all_values(dtype)
        v = v if full else np.concatenate([v[::13], elementwise_inputs(dtype)])
        return np.unique(round_to(v, dtype))
    x = elementwise_inputs(dtype, n_grid=1601)
    rng = np.random.default_rng(7)
    # and past the grid, where the functions' tails and thresholds lie (softplus
    # returns x above 20 in float32 and 40 in float64; exp overflows at 89 and 710):
    # 120 points a decade from 12 to 1e4 (the log-spaced sweep has one every 3 decades)
    tails = np.geomspace(12.0, 1e4, 360)
    extra = np.concatenate([rng.uniform(-20, 20, 600), rng.standard_normal(300),
                            np.linspace(-3.2, 3.2, 257), np.linspace(5.8, 6.2, 41),
                            tails, -tails])
    return np.unique(round_to(np.concatenate([x, extra]), dtype))


def reduction_inputs(dtype, seed=1):
    """Rows with -inf entries, an all -inf row, +inf entries, an offset row and a
    row whose log_softmax is near 0 (relative accuracy there)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 34)) * 3
    x[1, ::3] = -np.inf                        # some -inf entries
    x[2, :] = -np.inf                          # an all -inf slice
    x[3, 5] = np.inf                           # a +inf entry (the limit)
    x[3, 9] = np.inf
    x[4] += 60.0                               # offset data
    x[5, 0] = 1.0 - math.log(2.0 ** -(FORMATS[dtype][0] - 1))  # log_softmax near 0
    x[5, 1:] = -40.0 if dtype == "float64" else -20.0
    return round_to(x, dtype)


def standardize_inputs(dtype, seed=2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 64))
    if dtype in ("float64", "float32"):
        x[1] = x[1] * 1e-3 + 1e4  # large mean: one-pass variance loses every digit
    else:
        x[1] = x[1] * 0.05 + 10.0
    x[2] *= 100
    return round_to(x, dtype)


def glu_inputs(dtype):
    # sigmoid(b) kept normal: XLA flushes subnormal intermediates, which would
    # zero a normal a * sigmoid(b)
    return np.clip(standardize_inputs(dtype), -80.0, 80.0)


def sparsemax_inputs(dtype, seed=9):
    return round_to(np.random.default_rng(seed).standard_normal((5, 12)) * 2, dtype)


def indices():
    return np.array([[0, 3, -1], [4, 2, 9]])


def rows_inputs(kind, dtype):
    """The data of a reduction row's check (``Rows.inputs``)."""
    return {"reduction": reduction_inputs, "standardize": standardize_inputs,
            "glu": glu_inputs, "sparsemax": sparsemax_inputs}[kind](dtype)
