"""PyTorch: native kernels where they match SPEC.md, generic bodies elsewhere."""

from __future__ import annotations

import torch

# relu keeps integer dtypes (SPEC.md) and torch.relu does too; bool and complex
# go to the generic body (promotion / the TypeError SPEC.md asks for).
_NOT_NATIVE = (torch.bool, torch.complex64, torch.complex128, torch.complex32)


def extra(name, ns):
    # No native ndtr: torch.special.ndtr / jax.scipy.special.ndtr /
    # cupyx.scipy.special.ndtr lose up to all digits (torch), 140 ulp (jax,
    # float32) or 1500 ulp (float64) in the left tail, measured against mpmath;
    # the generic one stays within 4 ulp and is differentiable as written.
    return None


def overrides(ns, generic):
    generic_relu = generic["relu"]

    def relu(x):
        # Reason: speed (one kernel instead of compare + where).  torch.relu's
        # backward is `grad * (out > 0)`, so relu'(0) == 0 as SPEC.md asks.
        if x.dtype in _NOT_NATIVE:  # a tuple: torch.compile traces it without a break
            return generic_relu(x)
        return torch.relu(x)

    return {"relu": relu}
