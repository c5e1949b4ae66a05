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


def _jit_with_scalar_statics(bound, static, optional):
    """jax.jit ``bound``; Python-number values of the ``optional`` parameters are
    made static too (one compile per value), because a Python float passed to a
    jitted function is turned into a device array on every call (~2 us)."""
    plain = jax.jit(bound, static_argnums=static)
    if not optional:
        return plain
    cache = {(): plain}

    def call(*args):
        key = tuple(i for i in optional if i < len(args) and type(args[i]) in (float, int))
        f = cache.get(key)
        if f is None:
            f = cache[key] = jax.jit(bound, static_argnums=static + key)
        return f(*args)

    call.__name__ = getattr(bound, "__name__", "multiact")
    call._variants = cache
    return call


def overrides(ns, generic):
    out = {}
    for fname, bound in generic.items():
        params = list(inspect.signature(bound).parameters)
        static = tuple(i for i, p in enumerate(params) if p in STATIC)
        optional = tuple(i for i, p in enumerate(params) if i > 0 and p not in STATIC)
        out[fname] = _jit_with_scalar_statics(bound, static, optional)
    return out


_FLAX_CLASS = []


def flax_module(activation):
    """A Flax NNX module applying ``activation`` (``Activation.to_flax()``).

    The activation is a hashable, immutable attribute, so NNX treats it as
    static: ``nnx.jit`` and ``nnx.Sequential`` take the module as they take any.
    """
    if not _FLAX_CLASS:
        from flax import nnx

        class FlaxActivation(nnx.Module):
            def __init__(self, activation):
                self.activation = activation

            def __call__(self, x):
                return self.activation(x)

            def __repr__(self):
                return f"FlaxActivation({self.activation!r})"

        _FLAX_CLASS.append(FlaxActivation)
    return _FLAX_CLASS[0](activation)
