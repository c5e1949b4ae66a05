"""Fused kernels: one kernel per function instead of a chain of framework ops.

Every kernel is printed from the function's generic body (``_trace.py`` traces
the body into an expression graph), so it computes the formula the generic
body computes, and its backward is the derivative of the same graph.  One
place per technology:

* ``triton.py``: PyTorch tensors on CUDA (element-wise forward and backward,
  row kernels for the softmax family, logsumexp, logmeanexp, standardize);
  on CPU tensors under ``TRITON_INTERPRET=1``, Triton's interpreter runs the
  same kernels (how CI tests their logic without a GPU);
* ``cuda_c.py``: CuPy ``ElementwiseKernel`` (CUDA C++ printed from the same
  graphs); on CPU the same C++ compiles with the host compiler for tests;
* ``inductor.py``: PyTorch tensors on CPU: the generic bodies (and the printed
  derivative graphs) compiled by Inductor into vectorised C++ loops.

The switch ``MULTIACT_KERNELS`` (read at first use; :func:`set_mode` for tests):

* unset or ``auto``: kernels where they are the fast path: CUDA tensors
  (Triton), CuPy arrays, and CPU tensors of at least ``MIN_NUMEL`` elements
  (Inductor; compiling costs seconds on first use, guards ~20 us a call);
* ``fused``: kernels wherever their logic can run: CPU tensors of any size,
  through Triton's interpreter when ``TRITON_INTERPRET=1`` is set (how CI tests
  the GPU kernels' logic), else through Inductor;
* ``framework``: never; the framework-op paths only.

A backend asks :func:`torch_forward`, :func:`torch_train` or
:func:`torch_rows`; ``None`` means "no kernel applies here, use your own path".
:func:`coverage` lists which kernels exist, and the reason for each that does not.
"""

from __future__ import annotations

import os

__all__ = ["mode", "set_mode", "torch_forward", "torch_train", "torch_rows", "torch_fuse",
           "torch_rows_train", "coverage"]

_MODES = ("auto", "fused", "framework")
_STATE = {"mode": None, "triton": None}
MIN_NUMEL = 1 << 18


def _parse(value):
    v = (value or "auto").strip().lower()
    if v not in _MODES:
        raise ValueError(f"multiact: MULTIACT_KERNELS must be one of {', '.join(_MODES)} "
                         f"(or unset), got {value!r}")
    return v


def mode() -> str:
    """The switch: 'auto', 'fused' or 'framework'."""
    m = _STATE["mode"]
    if m is None:
        m = _STATE["mode"] = _parse(os.environ.get("MULTIACT_KERNELS"))
    return m


def set_mode(value):
    """Set the switch for this process (``None``: back to ``MULTIACT_KERNELS``);
    returns the previous mode."""
    prev = mode()
    _STATE["mode"] = _parse(value) if value is not None else None
    return prev


def _triton():
    t = _STATE["triton"]
    if t is None:
        from . import triton as t

        t = _STATE["triton"] = t if t.available() else False
    return t


def _interpreted():
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _for_torch(x, cpu=True):
    """The kernel module (triton or inductor) for the eager tensor ``x``, or None;
    ``cpu=False``: not the CPU compiler (the framework's one native kernel is as fast)."""
    m = mode()
    if m == "framework":
        return None
    dev = x.device.type
    if dev == "cuda" or (m == "fused" and dev == "cpu" and _interpreted()):
        t = _triton()
        return t or None
    if cpu and dev == "cpu" and (m == "fused" or x.numel() >= MIN_NUMEL):
        from . import inductor

        return inductor if inductor.available() else None
    return None


def _row(name):
    from .._table import BY_NAME

    return BY_NAME[name]


def torch_forward(name, x, params, cpu=True):
    """``name``'s function of the eager tensor ``x`` by one fused kernel, or None."""
    t = _for_torch(x, cpu)
    return None if t is None else t.forward(_row(name), x, params)


def torch_train(name, x, params):
    """The same, recording a gradient: an autograd.Function whose forward and
    backward are one kernel each; None where no kernel applies."""
    t = _for_torch(x)
    if t is None:
        return None
    from ._torch import fused_elementwise

    return fused_elementwise(t, _row(name), x, params)


def torch_rows(name, x, params, where):
    """A reduction over the last axis by one kernel per row, or None."""
    t = _for_torch(x)
    return None if t is None else t.rows(_row(name), x, params, where)


def torch_rows_train(name, x, params, where):
    """The same, recording a gradient (softmax, log_softmax, softmin, logsumexp)."""
    t = _for_torch(x)
    if t is None:
        return None
    from ._torch import fused_rows

    return fused_rows(t, _row(name), x, params, where)


def torch_fuse(key, fn, *tensors):
    """``fn(*tensors)`` (ATen ops, written by a backend) by one compiled kernel where
    the CPU compiler applies to ``tensors[0]``; None elsewhere (on CUDA the Triton
    kernels are printed from the table's rows, not from ATen functions)."""
    t = _for_torch(tensors[0])
    if t is None or not hasattr(t, "fuse"):
        return None
    return t.fuse(key, fn, *tensors)


def coverage(functions=None, dtypes=None, printers=None):
    """Which fused kernels exist: one dict per element-wise function case and row
    kernel, printer (``"triton"``, ``"cuda_c"``, ``"inductor"``), kernel
    (``"forward"``, ``"backward"``, ``"rows"``, ``"rows+where"``) and dtype, with
    ``"ok"`` and, where there is no kernel, the ``"reason"`` (``kernels/_coverage.py``).

    Example:
      >>> from multiact import kernels
      >>> [e["reason"] for e in kernels.coverage(["relu"], ["bfloat16"], ["cuda_c"])][0][:40]
      'CuPy kernels are built for float16, floa'
    """
    from ._coverage import coverage as _coverage

    return _coverage(functions, dtypes, printers)
