"""The accuracy multiact promises: a ulp bound per function and dtype.

This is the one table; ``multiact check`` and ``pytest conformance`` both assert
it.  An error is ``|y - ref| / ulp(ref)`` with ``ref`` from mpmath (60 digits)
and ``ulp(ref)`` the spacing of the output dtype at ``ref``.  A reference within
128 smallest-normal numbers of zero met by a result that small (0 included) is
not scored
(XLA on CPU and GPUs in fast modes flush subnormals to zero).
Reductions are scored entry by entry the same way, except ``standardize``, whose
error is absolute by nature (subtracting the mean): it is scored in units of
``eps * (1 + |mean| / std)`` of each slice.

Why a few bounds are larger than 1-2 ulp (each is the measured worst case over
the conformance inputs, rounded up, never loosened to make a test pass):

* ``gelu`` (tanh form), float32/float64: the function itself is ill-conditioned
  in its left tail: ``d log gelu / d log x`` is about ``2u`` (up to ~90 in
  float32 and ~740 in float64 before the output underflows), so the rounding of
  ``u = sqrt(2/pi)(x + 0.044715 x^3)`` is amplified by that much; the bound is
  reached only where gelu is below 1e-30.  JAX and PyTorch lose *all* digits there (``1 +
  tanh(u)`` cancels); multiact's error stays bounded.
* ``tanh``, ``hard_sigmoid``, ``elu``/``selu``: XLA's own ``tanh``/``exp`` are a
  few ulp off, and XLA turns ``/ 6`` into ``* (1/6)``; NumPy and PyTorch stay
  within 1.5-2.5 ulp.
* ``sparsemax`` is scored in ulps of its slice's largest entry (each entry is
  a difference ``x_i - tau`` of O(1) numbers, like ``standardize``).
* ``softmax``/``log_softmax``/``softmin``: ``x_i - max`` is rounded before the exponential,
  so an entry ``d`` below the maximum carries up to about ``d/2`` ulp, as in every
  max-shifted implementation (the bound holds for the conformance inputs, whose
  entries lie up to ~80 below their slice's maximum).
"""

from __future__ import annotations

# float16/bfloat16 are computed in float32 and rounded once: within half an ulp
# (plus the float32 error, far below a half-precision ulp).
_H = {"float16": 0.51, "bfloat16": 0.51}
_HR = {"float16": 1, "bfloat16": 1}  # reductions: float32 accumulation, then one rounding

ULP = {
    "relu": {"float64": 0, "float32": 0, "float16": 0, "bfloat16": 0},
    "relu6": {"float64": 0, "float32": 0, "float16": 0, "bfloat16": 0},
    "hard_tanh": {"float64": 0, "float32": 0, "float16": 0, "bfloat16": 0},
    "leaky_relu": {"float64": 0.5, "float32": 1, **_H},
    "sigmoid": {"float64": 2, "float32": 3, **_H},
    "silu": {"float64": 2.5, "float32": 3, **_H},
    "softplus": {"float64": 2.5, "float32": 2.5, **_H},
    "log_sigmoid": {"float64": 2.5, "float32": 3, **_H},
    "elu": {"float64": 3, "float32": 3.5, **_H},
    "celu": {"float64": 3, "float32": 4.5, **_H},
    "selu": {"float64": 3.5, "float32": 4, **_H},
    "gelu": {"float64": 660, "float32": 128, **_H},
    "gelu_exact": {"float64": 5.5, "float32": 3.5, **_H},
    "hard_sigmoid": {"float64": 1.5, "float32": 1.5, **_H},
    "hard_silu": {"float64": 2, "float32": 2, **_H},
    "soft_sign": {"float64": 1.5, "float32": 1.5, **_H},
    "tanh": {"float64": 6.5, "float32": 4, **_H},
    "softmax": {"float64": 64, "float32": 64, **_HR},
    "log_softmax": {"float64": 64, "float32": 64, **_HR},
    "logsumexp": {"float64": 1, "float32": 1, **_HR},
    "standardize": {"float64": 2.5, "float32": 3, **_HR},
    "glu": {"float64": 2.5, "float32": 2, **_HR},
    # beyond the seed set
    "identity": {"float64": 0, "float32": 0, "float16": 0, "bfloat16": 0},
    "mish": {"float64": 4, "float32": 4.5, **_H},
    "squareplus": {"float64": 2.5, "float32": 2.5, **_H},
    "sparse_plus": {"float64": 2, "float32": 2, **_H},
    "sparse_sigmoid": {"float64": 0.5, "float32": 0.5, **_H},
    "log1mexp": {"float64": 4, "float32": 3.5, **_H},
    "hard_shrink": {"float64": 0, "float32": 0, "float16": 0, "bfloat16": 0},
    "soft_shrink": {"float64": 0.5, "float32": 0.5, **_H},
    "tanh_shrink": {"float64": 4, "float32": 4.5, **_H},
    "threshold": {"float64": 0, "float32": 0, "float16": 0, "bfloat16": 0},
    "prelu": {"float64": 0.5, "float32": 1, **_H},
    "softmin": {"float64": 64, "float32": 64, **_HR},
    "logmeanexp": {"float64": 2, "float32": 2, **_HR},
    "sparsemax": {"float64": 2, "float32": 3, **_HR},
}


def bound(name, dtype, approximate=True):
    key = "gelu_exact" if name == "gelu" and not approximate else name
    return ULP[key][dtype]
