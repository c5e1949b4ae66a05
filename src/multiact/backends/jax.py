"""JAX: the generic bodies, compiled with ``jax.jit``.

Reason (``adapt``, every function): speed.  Eager JAX runs a composite op by
op (``jax.nn.gelu`` eager is 5-30x slower than under ``jit``); each multiact
function is one cached executable instead.  Inside a user's
``jit``/``vmap``/``grad`` the inner ``jit`` is inlined, so transforms see the
generic body unchanged.  The row's static parameters (``axis``,
``approximate``, ...) are static; so are Python-number values of the others.

No native ``ndtr``: ``jax.scipy.special.ndtr`` loses 140 ulp (float32) and
1500 ulp (float64) in the left tail, measured against mpmath; the generic one
stays within 4 ulp and is differentiable as written.

One special case, ``tanh`` in float64 (below).
"""

from __future__ import annotations

import jax.numpy as _xp
import jax

from .._agnostic import _formulas as fm
from .._agnostic import elementwise as _E
from .._table import BY_NAME
from . import Backend, Namespace, special

NS = Namespace(_xp, "jax")


def _tanh_body(ns, x):
    """tanh, float64 by multiact's own formula beyond |x| = TANH_BY_EXP."""
    if x.dtype != _xp.float64:
        return _E.tanh(ns, x)
    return _xp.where(_xp.abs(x) >= fm.TANH_BY_EXP, fm.tanh_by_exp(ns, x), _xp.tanh(x))


def _jit(info, bound):
    """jax.jit ``bound`` (signature ``(x, *params)``) with the row's static
    parameters static; Python-number values of the other parameters are made
    static too (one compile per value), because a Python float passed to a
    jitted function becomes a device array on every call (~2 us)."""
    names = [p.name for p in info.params]
    static = tuple(i + 1 for i, n in enumerate(names) if n in info.static)
    optional = tuple(i + 1 for i, n in enumerate(names) if n not in info.static)
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

    call.__name__ = info.name
    call.__wrapped__ = bound
    call._variants = cache
    return call


class JaxBackend(Backend):
    """JAX: every function (the generic body, or a special case's body) is one
    ``jax.jit`` executable (``generic``; the module docstring)."""

    def __init__(self, ns):
        super().__init__(ns)
        self._jitted = {}

    def generic(self, row, body, x, *params):
        f = self._jitted.get(body)
        if f is None:
            f = self._jitted[body] = _jit(row, lambda t, *p: body(NS, t, *p))
        return f(x, *params)

    @special("accuracy: XLA's float64 tanh is 6.5 ulp off near |x| = 19 and 4.1 in [2, 5] "
             "(measured against mpmath); for |x| >= 0.55 the formula 1 - 2e / (1 + e) "
             "(_formulas.tanh_by_exp, 1.4 ulp, derivative 4e / (1 + e)^2), XLA's own below "
             "(3.5 ulp): within 4 ulp")
    def tanh(self, x):
        return self.generic(_TANH, _tanh_body, x)


_TANH = BY_NAME["tanh"]
BACKEND = JaxBackend(NS)
