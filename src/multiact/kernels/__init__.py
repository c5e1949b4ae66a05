"""Fused kernels: one kernel per function instead of a chain of framework ops.

The switch ``MULTIACT_KERNELS`` (read when this module is first imported, and
by :func:`set_mode`):

* unset or ``auto``: the default choice per device (see ``docs/decisions.md``);
* ``fused``: the fused kernels wherever their logic can run, CPU tensors
  included (Triton under ``TRITON_INTERPRET=1``);
* ``framework``: never; the framework-op paths only.

The backends ask :func:`torch_forward` / :func:`torch_train` for a kernel; a
``None`` answer means "no kernel applies here, use your own path".
"""

from __future__ import annotations

import os

__all__ = ["mode", "set_mode", "torch_forward", "torch_train"]

_MODES = ("auto", "fused", "framework")
_STATE = {"mode": None}


def _parse(value):
    v = (value or "auto").strip().lower()
    if v not in _MODES:
        raise ValueError(f"multiact: MULTIACT_KERNELS must be one of {', '.join(_MODES)} "
                         f"(or unset), got {value!r}")
    return v


def mode() -> str:
    m = _STATE["mode"]
    if m is None:
        m = _STATE["mode"] = _parse(os.environ.get("MULTIACT_KERNELS"))
    return m


def set_mode(value) -> str:
    """Set the switch for this process (``None``: back to ``MULTIACT_KERNELS``);
    returns the previous mode."""
    prev = mode()
    _STATE["mode"] = _parse(value) if value is not None else None
    return prev


def torch_forward(name, x, params):
    """A fused forward of row ``name`` for the eager tensor ``x``, or None."""
    if mode() == "framework":
        return None
    return None


def torch_train(name, x, params):
    """A fused forward with a fused backward (an autograd.Function), or None."""
    if mode() == "framework":
        return None
    return None
