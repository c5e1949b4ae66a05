"""Which fused kernels exist, and why a missing one is missing.

For every element-wise row of the function table (each of its check cases:
``gelu`` and ``gelu(approximate=False)`` are different kernels), every gated row
(``halves``: glu, swiglu, geglu; forward and backward over both halves) and every
row kernel (``ROWS``, with and without ``where``), per printer and dtype: whether
the kernel's source can be printed, or the reason it cannot (the message of the
:class:`~multiact.kernels._trace.Unsupported` that stopped it, a printer's
documented exclusion, or a build that failed in this process).  Nothing is
compiled here; ``multiact compile`` compiles what this lists as ok.
"""

from __future__ import annotations

from .._table import BY_NAME, TABLE, canonical_name
from ._tier import FAILED, TIER
from ._trace import FLOATS, ROWS, Unsupported

__all__ = ["coverage", "elementwise_cases", "gated_cases", "row_params", "PRINTERS",
           "ELEMENTWISE_KERNELS", "ROW_KERNELS"]

#: the printers: Triton (PyTorch on CUDA), CUDA C++ (CuPy), Inductor (PyTorch on CPU)
PRINTERS = ("triton", "cuda_c", "inductor")
ELEMENTWISE_KERNELS = ("forward", "backward")
ROW_KERNELS = ("rows", "rows+where")
_NO_CUDA_ROWS = ("CuPy reductions run the generic body, one CuPy kernel per operation "
                 "(docs/decisions.md, 36)")


def elementwise_cases(functions=None):
    """``(info, params, label)`` for each check case of each element-wise row
    (``params``: the values in the body's order)."""
    for info in TABLE:
        if not info.elementwise or (functions and info.name not in functions):
            continue
        seen = set()
        for case in info.cases:
            params = info.args(case.params)
            if params in seen:
                continue
            seen.add(params)
            yield info, params, info.label(dict(case.params))


def gated_cases(functions=None):
    """``(info, params, label)`` for each check case of each gated row with fused
    kernels (``params``: the body's, the axis set to 1, as the backends pass them
    for the input viewed as ``(outer, 2, m)``)."""
    for info in TABLE:
        if not (info.halves and info.fused) or (functions and info.name not in functions):
            continue
        names = [p.name for p in info.params]
        seen = set()
        for case in info.cases:
            params = list(info.args(case.params))
            params[names.index("axis")] = 1
            params = tuple(params)
            if params in seen:
                continue
            seen.add(params)
            yield info, params, info.label({k: v for k, v in case.params.items()
                                            if k != "axis"})


def row_params(info):
    """The parameters of a row kernel as the torch backend passes them: the
    body's, with the axis normalised to the last one (``where`` is the kernel's
    mask argument)."""
    params = list(info.args())
    params[0] = (1,)
    return tuple(params)


def _entry(function, printer, kernel, dtype, reason):
    return {"function": function, "printer": printer, "kernel": kernel, "dtype": dtype,
            "ok": reason is None, "reason": reason}


def _reason(make):
    try:
        make()
    except Unsupported as e:
        return str(e) or type(e).__name__
    return None


# the printers' modules import torch or CuPy: imported where they are used

def _triton(elementwise, gated, rows, dtypes):
    from . import triton as kt

    failed = kt.failures()
    out = []
    for info, params, label in elementwise:
        pkey = kt._params_key(params)
        for backward, kernel in ((False, "forward"), (True, "backward")):
            for dt in dtypes:
                reason = _reason(lambda: kt.elementwise_kernel_source(info, dt, params, backward))
                if reason is None:
                    reason = next((r for k, r in failed.items() if k[:4] == (
                        "bwd" if backward else "fwd", info.name, dt, pkey)), None)
                out.append(_entry(label, "triton", kernel, dt, reason))
    for info, params, label in gated:
        pkey = kt._params_key(params)
        for backward, kernel in ((False, "forward"), (True, "backward")):
            for dt in dtypes:
                reason = _reason(lambda: kt.gated_kernel_source(info, dt, params, backward))
                if reason is None:
                    reason = next((r for k, r in failed.items() if k[:4] == (
                        "gated-bwd" if backward else "gated-fwd", info.name, dt, pkey)), None)
                out.append(_entry(label, "triton", kernel, dt, reason))
    for info in rows:
        params = row_params(info)
        for masked, kernel in ((False, "rows"), (True, "rows+where")):
            for dt in dtypes:
                reason = None
                for single in (True, False):
                    reason = reason or _reason(
                        lambda: kt.rows_kernel_source(info, dt, params, masked, single))
                if reason is None:
                    reason = next((r for k, r in failed.items()
                                   if k[0] == "rows" and k[1:3] == (info.name, dt)
                                   and k[4] == masked), None)
                out.append(_entry(info.name, "triton", kernel, dt, reason))
    return out


def _cuda_c(elementwise, gated, rows, dtypes):
    from . import cuda_c

    # (a kernel whose compile or launch raised in this process is not ok either:
    # decision 182, as the Triton and Inductor slots that failed)
    failed = {**cuda_c.failures(), **cuda_c.launch_failures()}
    out = []
    for info, params, label in elementwise + gated:
        for backward, kernel in ((False, "forward"), (True, "backward")):
            for dt in dtypes:
                reason = _reason(lambda: cuda_c.kernel_source(info, dt, params, backward))
                if reason is None:
                    reason = failed.get(cuda_c._key(info, dt, params, backward))
                out.append(_entry(label, "cuda_c", kernel, dt, reason))
    for info in rows:
        for kernel in ROW_KERNELS:
            for dt in dtypes:
                out.append(_entry(info.name, "cuda_c", kernel, dt, _NO_CUDA_ROWS))
    return out


def _inductor(elementwise, gated, rows, dtypes):
    try:
        from . import inductor
    except ImportError as e:
        missing = f"needs PyTorch ({e})"
        inductor = None
    out = []

    def failed(name, dt):
        # a kernel of the compile tier that failed in this process, with its reason
        return next((s.reason for s in list(TIER.slots.values()) if s.state is FAILED
                     and s.key[1] == "inductor" and s.key[2] == name and dt in s.key), None)

    for info, params, label in elementwise:
        for kernel in ELEMENTWISE_KERNELS:
            for dt in dtypes:
                reason = missing if inductor is None else None
                if reason is None and kernel == "backward":
                    reason = _reason(lambda: inductor._backward_fn(info, dt, params))
                out.append(_entry(label, "inductor", kernel, dt, reason or failed(info.name, dt)))
    for info, params, label in gated:
        for kernel in ELEMENTWISE_KERNELS:
            for dt in dtypes:
                reason = missing if inductor is None else None
                if reason is None and kernel == "backward":
                    reason = _reason(lambda: inductor.gated_backward_fn(info, dt, params))
                out.append(_entry(label, "inductor", kernel, dt, reason or failed(info.name, dt)))
    for info in rows:
        for kernel in ROW_KERNELS:
            for dt in dtypes:
                reason = missing if inductor is None else failed(info.name, dt)
                out.append(_entry(info.name, "inductor", kernel, dt, reason))
    return out


def coverage(functions=None, dtypes=None, printers=None):
    """One dict per (function case, printer, kernel, dtype): ``{"function",
    "printer", "kernel", "dtype", "ok", "reason"}``; see the module docstring.

    Args:
      functions: names to look at (default: every element-wise row, every gated
        row and every row-kernel function).
      dtypes: dtype names (default: float16, bfloat16, float32, float64).
      printers: some of ``"triton"``, ``"cuda_c"``, ``"inductor"`` (default: all).
    """
    for arg, value in (("functions", functions), ("dtypes", dtypes), ("printers", printers)):
        if isinstance(value, str):
            raise TypeError(f"multiact.kernels.coverage: argument {arg!r} must be a list of "
                            f"names, got the string {value!r}")
    if functions is not None:
        functions = [canonical_name(f, "kernels.coverage") for f in functions]
    dtypes = tuple(FLOATS if dtypes is None else dtypes)
    for d in dtypes:
        if d not in FLOATS:
            raise ValueError(f"multiact.kernels.coverage: unknown dtype {d!r} (known: "
                             f"{', '.join(FLOATS)})")
    printers = tuple(PRINTERS if printers is None else printers)
    for p in printers:
        if p not in PRINTERS:
            raise ValueError(f"multiact.kernels.coverage: unknown printer {p!r} (known: "
                             f"{', '.join(PRINTERS)})")
    elementwise = list(elementwise_cases(functions))
    gated = list(gated_cases(functions))
    rows = [BY_NAME[n] for n in ROWS if not functions or n in functions]
    make = {"triton": _triton, "cuda_c": _cuda_c, "inductor": _inductor}
    out = []
    for p in printers:
        out += make[p](elementwise, gated, rows, dtypes)
    return out
