"""The function x backend x device x dtype matrix behind ``multiact check``."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from . import reference as R
from .accuracy import bound
from .score import FORMATS, round_to, scaled_error, ulp_error
from .targets import discover

ELEMENTWISE_CASES = [
    ("relu", {}), ("relu6", {}), ("hard_tanh", {}), ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}), ("sigmoid", {}), ("silu", {}), ("softplus", {}),
    ("log_sigmoid", {}), ("elu", {}), ("elu", {"alpha": 0.5}), ("celu", {}),
    ("celu", {"alpha": 2.0}), ("selu", {}), ("gelu", {}), ("gelu", {"approximate": False}),
    ("hard_sigmoid", {}), ("hard_silu", {}), ("soft_sign", {}), ("tanh", {}),
    ("softplus", {"beta": 2.0}),
    # beyond the seed set
    ("identity", {}), ("mish", {}), ("squareplus", {}), ("squareplus", {"b": 0.5}),
    ("sparse_plus", {}), ("sparse_sigmoid", {}), ("log1mexp", {}), ("hard_shrink", {}),
    ("soft_shrink", {"lambd": 1.0}), ("tanh_shrink", {}),
    ("threshold", {"threshold": 0.5, "value": -1.0}), ("prelu", {"weight": 0.25}),
]
REDUCTION_CASES = [("softmax", {}), ("log_softmax", {}), ("logsumexp", {}),
                   ("standardize", {}), ("glu", {}), ("one_hot", {})]


def label(name, params):
    if not params:
        return name
    return name + "(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")"


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


def reduction_inputs(dtype, seed=1):
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


@dataclass
class Result:
    function: str
    backend: str
    device: str
    dtype: str
    n: int
    worst_ulp: float
    bound: float
    passed: bool
    note: str = ""


def _reference_cache():
    cache = {}

    def get(key, compute):
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    return get


def _contract(target, x, y, dtype, expect_dtype=None):
    """Type, dtype and device of the output equal the input's."""
    problems = []
    if type(y) is not type(x) and target.backend != "jax":
        problems.append(f"type {type(y).__name__} != {type(x).__name__}")
    want = expect_dtype or dtype
    got = target.dtype_name(y)
    if got != want:
        problems.append(f"dtype {got} != {want}")
    if target.device_of(y) != target.device_of(x):
        problems.append(f"device {target.device_of(y)} != {target.device_of(x)}")
    return "; ".join(problems)


def _score(name, target, dtype, x, y, hi, lo, params, expect_dtype=None):
    note = _contract(target, x, y, dtype, expect_dtype)
    err = ulp_error(target.to_numpy(y), hi, lo, dtype)
    worst = float(np.max(err)) if err.size else 0.0
    b = bound(name, dtype, params.get("approximate", True))
    return worst, b, (worst <= b and not note), note


def run_target(target, ref, functions=None, dtypes=None):
    import multiact

    results = []
    for dtype in target.dtypes:
        if dtypes and dtype not in dtypes:
            continue
        xs = target.inputs(elementwise_inputs(dtype), dtype)
        for name, params in ELEMENTWISE_CASES:
            if functions and name not in functions:
                continue
            hi, lo = ref((name, tuple(params.items()), dtype, target.flushes_subnormals),
                         lambda n=name, p=params, v=xs: R.elementwise(n, v, **p))
            try:
                x = target.asarray(xs, dtype)
                y = getattr(multiact, name)(x, **params)
                worst, b, ok, note = _score(name, target, dtype, x, y, hi, lo, params)
            except Exception as e:  # noqa: BLE001 - a crash is a failed cell, reported
                worst, b, ok, note = math.inf, bound(name, dtype, params.get("approximate", True)), \
                    False, f"{type(e).__name__}: {e}"
            results.append(Result(label(name, params), target.backend, target.device, dtype,
                                  xs.size, worst, b, ok, note))
        results += _reductions(target, ref, dtype, functions)
    return results


def _reductions(target, ref, dtype, functions):
    import multiact

    out = []
    xr = reduction_inputs(dtype)
    xsd = standardize_inputs(dtype)
    for name, params in REDUCTION_CASES:
        if functions and name not in functions:
            continue
        b = bound(name, dtype) if name != "one_hot" else 0
        try:
            if name == "one_hot":
                idx = np.array([[0, 3, -1], [4, 2, 9]])
                x = target.asarray(idx, "int32" if target.backend != "numpy" else "int64")
                y = multiact.one_hot(x, 5, dtype=_dtype_obj(target, dtype))
                want = (idx[..., None] == np.arange(5)).astype(np.float64)
                note = _contract(target, x, y, dtype, expect_dtype=dtype)
                worst = float(np.max(np.abs(target.to_numpy(y) - want)))
                ok = worst == 0 and not note
                xsize = idx.size
            else:
                data = xr if name not in ("standardize", "glu") else xsd
                if name == "glu":
                    # keep sigmoid(b) normal: XLA flushes subnormal intermediates,
                    # which would zero a normal a * sigmoid(b)
                    data = np.clip(data, -80.0, 80.0)
                x = target.asarray(data, dtype)
                y = getattr(multiact, name)(x, **params)
                if name == "softmax":
                    hi = ref((name, dtype), lambda d=data: R.softmax(d))
                elif name == "log_softmax":
                    hi = ref((name, dtype), lambda d=data: R.softmax(d, log=True))
                elif name == "logsumexp":
                    y = multiact.logsumexp(x, axis=-1)
                    hi = ref((name, dtype), lambda d=data: R.logsumexp(d)[0])
                elif name == "standardize":
                    hi = ref((name, dtype), lambda d=data: R.standardize(d))
                    mu, sd = data.mean(-1, keepdims=True), data.std(-1, keepdims=True)
                    err = scaled_error(target.to_numpy(y), hi, 1 + np.abs(mu) / sd, dtype)
                    note = _contract(target, x, y, dtype)
                    worst = float(err.max())
                    out.append(Result(name, target.backend, target.device, dtype, data.size,
                                      worst, b, worst <= b and not note, note))
                    continue
                else:
                    hi = ref((name, dtype), lambda d=data: R.glu(d))
                worst, b, ok, note = _score(name, target, dtype, x, y, hi, 0.0, params)
                xsize = data.size
        except Exception as e:  # noqa: BLE001
            worst, ok, note, xsize = math.inf, False, f"{type(e).__name__}: {e}", 0
        out.append(Result(name, target.backend, target.device, dtype, xsize, worst, b, ok, note))
    return out


def _dtype_obj(target, dtype):
    if target.backend == "torch":
        import torch

        return getattr(torch, dtype)
    if target.backend == "jax":
        import jax.numpy as jnp

        return getattr(jnp, dtype)
    if target.backend == "array_api_strict":
        import array_api_strict as xs

        return getattr(xs, dtype)
    if target.backend == "cupy":
        import cupy

        return getattr(cupy, dtype)
    return np.dtype(dtype)


def run(backends=None, device=None, functions=None, dtypes=None, progress=None):
    targets = discover(backends, device)
    ref = _reference_cache()
    results = []
    for t in targets:
        t0 = time.perf_counter()
        # Accuracy only: results that truly exceed the dtype's range (selu(max))
        # overflow with a warning; warnings are the conformance suite's business.
        with np.errstate(over="ignore"):
            results += run_target(t, ref, functions, dtypes)
        if progress:
            progress(f"{t.label}: {time.perf_counter() - t0:.1f}s")
    return targets, results


def as_dicts(results):
    return [asdict(r) for r in results]
