"""CuPy: the generic bodies (they run on the GPU as CuPy kernels)."""

from __future__ import annotations


def extra(name, ns):
    # No native ndtr: torch.special.ndtr / jax.scipy.special.ndtr /
    # cupyx.scipy.special.ndtr lose up to all digits (torch), 140 ulp (jax,
    # float32) or 1500 ulp (float64) in the left tail, measured against mpmath;
    # the generic one stays within 4 ulp and is differentiable as written.
    return None


def overrides(ns, generic):
    return {}
