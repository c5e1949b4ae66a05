"""Helpers for the kernel tests: what ran while ``fn`` ran; exact GELU's half-precision
references."""

from __future__ import annotations


def calls_to(module, attr, fn):
    """``(fn(), calls)``: ``calls`` holds the first argument of every call to
    ``module.attr`` made while ``fn`` ran (a profile hook would disturb Triton's
    interpreter)."""
    calls = []
    orig = getattr(module, attr)

    def counting(*a, **k):
        calls.append(a[0])
        return orig(*a, **k)

    setattr(module, attr, counting)
    try:
        out = fn()
    finally:
        setattr(module, attr, orig)
    return out, calls


def tier_kernels_run(fn):
    """``(fn(), keys)``: the keys of the compile tier's kernels that served a call
    while ``fn`` ran, in the order their slots were made."""
    from multiact.kernels._tier import TIER

    before = {k: s.hits for k, s in list(TIER.slots.items())}
    out = fn()
    return out, [k for k, s in list(TIER.slots.items()) if s.hits > before.get(k, 0)]


def exact_gelu_and_slope(x):
    """Exact GELU and its derivative at the float64 ``x`` (NumPy) from SciPy's
    ``ndtr``: an independent formula, whose float64 error is far below a half ulp."""
    import numpy as np
    from scipy.special import ndtr

    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    return x * ndtr(x), ndtr(x) + x * phi


def torch_ops_run(fn):
    """``(fn(), ops)``: the names of the ATen operators (overload packets) that ran
    while ``fn`` ran, in order, seen by a ``TorchDispatchMode``."""
    from torch.utils._python_dispatch import TorchDispatchMode

    ops = []

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            ops.append(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    with Ops():
        out = fn()
    return out, ops
