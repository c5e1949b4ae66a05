"""JAX: the generic bodies, compiled with ``jax.jit``.

Reason: speed.  Eager JAX runs a composite op by op (``jax.nn.gelu`` eager is
5-30x slower than under ``jit``); each multiact function is one cached
executable instead.  Inside a user's ``jit``/``vmap``/``grad`` the inner ``jit``
is inlined, so transforms see the generic body unchanged.  Parameters that pick
code paths (``axis``, ``approximate``, ...) are static.
"""

from __future__ import annotations

import inspect

import jax

from .._agnostic import STATIC


def extra(name, ns):
    # No native ndtr: torch.special.ndtr / jax.scipy.special.ndtr /
    # cupyx.scipy.special.ndtr lose up to all digits (torch), 140 ulp (jax,
    # float32) or 1500 ulp (float64) in the left tail, measured against mpmath;
    # the generic one stays within 4 ulp and is differentiable as written.
    return None


def overrides(ns, generic):
    out = {}
    for fname, bound in generic.items():
        params = list(inspect.signature(bound).parameters)
        static = tuple(i for i, p in enumerate(params) if p in STATIC)
        out[fname] = jax.jit(bound, static_argnums=static)
    return out
