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

__all__ = ["elementwise_inputs", "sweep", "worst_cases", "WORST_CASES", "all_values",
           "reduction_inputs", "standardize_inputs", "glu_inputs", "sparsemax_inputs",
           "indices", "rows_inputs"]


# The worst cases of the element-wise rows (docs/decisions.md 66): tools/sweep_bounds.py
# (every row and check case, every local backend) and searches of every float32 in
# the tails; ``sweep`` adds them, so that ``multiact check`` and the conformance
# suite meet them.  (value as float.hex, whose worst case, the error found there)
WORST_CASES = {
    "float64": (
        ("-0x1.4f2772b4b7063p+4", "gelu, tanh form: 1876 ulp, NumPy"),
        ("-0x1.4ecddb3b488b1p+4", "gelu, tanh form: 1595 ulp, JAX"),
        ("-0x1.9d3ce8a2b2b7fp+8", "quick_gelu: 669 ulp, JAX"),
        ("-0x1.9e760d1b2c2a4p+8", "quick_gelu: 668 ulp, NumPy"),
        ("-0x1.62e6be96101ebp+9", "silu: exp(-x) overflows, 0 for 3.96e-306 (FTZ_FLOOR)"),
        ("-0x1.a09e629d2f0e2p+8", "quick_gelu: JAX flushes the gate (FTZ_FLOOR)"),
        ("-0x1.62cc9da2721d1p+9", "mish: JAX flushes the gate (FTZ_FLOOR)"),
        ("-0x1.395cddb0e7d7ep+53", "relu(negative_slope=0.1, threshold=-1): 1.11 ulp"),
        ("-0x1.61abdb7b6534ep+1", "sigmoid: 2.20 ulp, generic"),
        ("-0x1.1d1a0c4e61ed3p+0", "sigmoid: 2.20 ulp, JAX"),
        ("-0x1.2634458349dcbp+5", "sigmoid: 2.12 ulp, NumPy"),
        ("-0x1.d040f5e195b32p+3", "silu: 2.92 ulp, generic"),
        ("-0x1.1bef6d208932cp-2", "elu, celu: 3.93 ulp, JAX"),
        ("-0x1.061d9164563a8p-3", "celu(alpha=2): 3.81 ulp, JAX"),
        ("-0x1.2a442e9f9252ep-4", "selu: 5.37 ulp, JAX"),
        ("-0x1.82d264bbbfb5fp+1", "gelu, exact: 6.83 ulp, NumPy"),
        ("0x1.51393ff7467eap+0", "hard_silu: 2.19 ulp, JAX"),
        ("0x1.fd12be6764a94p+3", "mish: 5.36 ulp, JAX"),
        ("-0x1.2e37af510ae60p-5", "squareplus: 2.70 ulp"),
        ("0x1.ad5cd68b22e2bp+0", "log1mexp: 4.22 ulp, JAX"),
        ("0x1.049af7820ec3ap+0", "tanh_shrink: 8.07 ulp, JAX"),
        ("0x1.f6a56603e4a73p+7", "exponential: 1.64 ulp, JAX"),
    ),
    "float32": (
        ("-0x1.3349dcp+3", "gelu, tanh form: 200.5 ulp (every float32 in [-10.6, -6])"),
        ("-0x1.7bc9eap+5", "quick_gelu: 82.8 ulp (every float32 in [-60, -20])"),
        ("-0x1.005110p+24", "relu(negative_slope=0.1, threshold=-1): 1.40 ulp"),
        ("-0x1.0a90c4p+4", "sigmoid: 3.68 ulp, NumPy"),
        ("-0x1.ba7fecp+1", "sigmoid: 3.64 ulp, generic"),
        ("-0x1.56d6b2p+3", "silu: 4.57 ulp, generic"),
        ("-0x1.6b3e64p+5", "silu: 3.66 ulp, NumPy"),
        ("-0x1.056d66p+1", "softplus: 3.30 ulp"),
        ("-0x1.0587a4p-1", "softplus(beta=2): 3.10 ulp"),
        ("0x1.056d66p+1", "log_sigmoid: 3.30 ulp"),
        ("-0x1.1f249cp-4", "selu: 6.22 ulp, JAX"),
        ("-0x1.05f55cp-4", "elu: 5.71 ulp, JAX"),
        ("-0x1.065ddep-2", "celu(alpha=2): 5.32 ulp, JAX"),
        ("-0x1.1dfdbcp+1", "gelu, exact: 5.04 ulp, JAX (the generic ndtr; 0.04 since 123)"),
        ("-0x1.60c6bcp+3", "gelu, exact: 3.76 ulp, JAX (_special.ndtr32, decision 123)"),
        ("-0x1.8360acp+1", "gelu, exact: 4.37 ulp, generic"),
        ("0x1.62e2fep+6", "exponential: 5.51 ulp, JAX"),
        ("0x1.9fe900p+4", "exponential: 2.52 ulp, NumPy"),
        ("0x1.04f936p+0", "tanh_shrink: 10.55 ulp, JAX"),
        ("0x1.719ee2p-3", "tanh_shrink: 4.34 ulp, NumPy"),
        ("0x1.5f23bcp+0", "hard_silu: 2.25 ulp, JAX"),
        ("0x1.d6749cp-2", "log1mexp: 5.75 ulp, JAX"),
        ("0x1.0026c4p+0", "log1mexp: 4.31 ulp, NumPy"),
        ("0x1.481106p+2", "tanh: 4.90 ulp, JAX"),
        ("-0x1.9f9bfcp+1", "mish: 5.95 ulp, JAX"),
        ("-0x1.06f622p+1", "mish: 4.21 ulp, NumPy"),
        ("-0x1.94effep-11", "squareplus: 2.75 ulp"),
    ),
}


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


def worst_cases(dtype):
    """The worst cases of the element-wise rows found by ``tools/sweep_bounds.py`` and
    by searches of every float32 value (docs/decisions.md 66), as float64."""
    return np.array([float.fromhex(h) for h, _ in WORST_CASES.get(dtype, ())])


@functools.lru_cache(maxsize=None)
def sweep(dtype, full=False, dense=False):
    """The element-wise sweep.  ``multiact check``: ``elementwise_inputs`` and the
    rows' worst cases (``worst_cases``).  ``dense`` (conformance): also a dense
    grid, random values and the kinks; for 16-bit dtypes every value (``full``) or
    every 13th."""
    if not dense:
        return np.concatenate([elementwise_inputs(dtype), worst_cases(dtype)])
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
                            tails, -tails, worst_cases(dtype)])
    return np.unique(round_to(np.concatenate([x, extra]), dtype))


def reduction_inputs(dtype, seed=1):
    """Rows with -inf entries, an all -inf row, +inf entries, an offset row, a
    row whose log_softmax is near 0 (relative accuracy there), a row spread over
    exp's whole range below its maximum (softmax's rounding of ``x - max``) and a
    row whose logsumexp is near 0 where its maximum is not (decision 146)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 34)) * 3
    x[1, ::3] = -np.inf                        # some -inf entries
    x[2, :] = -np.inf                          # an all -inf slice
    x[3, 5] = np.inf                           # a +inf entry (the limit)
    x[3, 9] = np.inf
    x[4] += 60.0                               # offset data
    x[5, 0] = 1.0 - math.log(2.0 ** -(FORMATS[dtype][0] - 1))  # log_softmax near 0
    x[5, 1:] = -40.0 if dtype == "float64" else -20.0
    # exp(x - max) normal down to -708 (float64) or -87 (float32 and the halves,
    # computed in float32): |x - max| rounds to half an ulp of 512 or 64
    low = 708.0 if dtype == "float64" else 87.0
    x[6] = math.e - rng.uniform(0.0, low, 34)
    x[6, 0] = math.e  # (a maximum with every bit: x - max rounds)
    # logsumexp near 0: entries log(1/34), their maximum about -2.4
    x[7] = math.log(1.0 / 34.0) + rng.standard_normal(34) * 1e-3
    return round_to(x, dtype)


def _normal_rows(dtype, seed, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, n))
    if dtype in ("float64", "float32"):
        x[1] = x[1] * 1e-3 + 1e4  # large mean: one-pass variance loses every digit
    else:
        x[1] = x[1] * 0.05 + 10.0
    x[2] *= 100
    return x


def standardize_inputs(dtype, seed=2):
    """Rows of 1024 (a sum's rounding grows with the row): normal ones, one with a
    large mean, and a heavy-tailed one with a mean (Student's t, 3 degrees of
    freedom, times 3 plus 2000: entries up to 6.4 standard deviations out, and
    the mean's rounding; decision 86)."""
    tail = np.random.default_rng(seed + 1).standard_t(3, (1, 1024)) * 3 + 2000
    return round_to(np.vstack([_normal_rows(dtype, seed, 1024), tail]), dtype)


def glu_inputs(dtype):
    # sigmoid(b) kept normal: XLA flushes subnormal intermediates, which would
    # zero a normal a * sigmoid(b)
    return np.clip(round_to(_normal_rows(dtype, 2, 64), dtype), -80.0, 80.0)


def sparsemax_inputs(dtype, seed=9):
    return round_to(np.random.default_rng(seed).standard_normal((5, 12)) * 2, dtype)


def indices():
    return np.array([[0, 3, -1], [4, 2, 9]])


def rows_inputs(kind, dtype):
    """The data of a reduction row's check (``Rows.inputs``)."""
    return {"reduction": reduction_inputs, "standardize": standardize_inputs,
            "glu": glu_inputs, "sparsemax": sparsemax_inputs}[kind](dtype)
