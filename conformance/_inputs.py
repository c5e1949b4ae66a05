"""Inputs and cached mpmath references for the conformance suite."""

from __future__ import annotations

import functools

import numpy as np

from multiact._check import reference as R
from multiact._check.run import elementwise_inputs
from multiact._check.score import round_to


def all_values(dtype):
    """Every finite, infinite and NaN value of a 16-bit float dtype, as float64."""
    bits = np.arange(1 << 16, dtype=np.uint32)
    with np.errstate(invalid="ignore"):  # signalling NaN patterns
        if dtype == "float16":
            return bits.astype(np.uint16).view(np.float16).astype(np.float64)
        return (bits << 16).view(np.float32).astype(np.float64)


@functools.lru_cache(maxsize=None)
def sweep(dtype, full=False):
    """The element-wise sweep: special values, kinks, a dense grid, the whole
    range log-spaced; for 16-bit dtypes every value (``full``) or every 13th."""
    if dtype in ("float16", "bfloat16"):
        v = all_values(dtype)
        v = v if full else np.concatenate([v[::13], elementwise_inputs(dtype)])
        return np.unique(round_to(v, dtype))
    x = elementwise_inputs(dtype, n_grid=1601)
    rng = np.random.default_rng(7)
    extra = np.concatenate([rng.uniform(-20, 20, 600), rng.standard_normal(300),
                            np.linspace(-3.2, 3.2, 257), np.linspace(5.8, 6.2, 41)])
    return np.unique(round_to(np.concatenate([x, extra]), dtype))


@functools.lru_cache(maxsize=None)
def reference(name, params, dtype, full=False):
    return R.elementwise(name, sweep(dtype, full), **dict(params))
