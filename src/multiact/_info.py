"""``multiact.info(name)`` / ``multiact info NAME``: which implementation runs,
per backend, device, dtype and route, why, and where it is.

The answer is observed, not declared: the function is called on a small input
of each installed backend, device and dtype (and, for autodiff backends, with a
gradient being recorded) while a profile hook notes which of multiact's
implementations ran: a backend's special case (with the reason it was
registered with), a fused kernel, or the generic body of the row.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Sequence

from . import _api
from ._dispatch import backend_of
from ._table import info_for
from .kernels import MIN_NUMEL, coverage, floor_where, mode, status

__all__ = ["info", "InfoReport"]


@dataclass
class InfoRow:
    function: str
    backend: str
    device: str
    dtype: str
    route: str
    implementation: str
    why: str
    where: str


class InfoReport(list):
    """The rows of :func:`info` (dicts); shown as a table."""

    def __init__(self, name, rows, not_run, notes=()):
        super().__init__(rows)
        self.name = name
        self.not_run = not_run
        self.notes = list(notes)

    def __str__(self):
        if not self:
            return f"multiact.info({self.name!r}): no backend installed"
        cols = ("backend", "device", "dtype", "route", "implementation", "why", "where")
        width = {c: max(len(c), *(len(str(r[c])) for r in self)) for c in cols[:5]}
        lines = [f"multiact.info({self.name!r}): what runs, why, and where",
                 "  ".join(c.ljust(width[c]) for c in cols[:5]) + "  why / where"]
        for r in self:
            lines.append("  ".join(str(r[c]).ljust(width[c]) for c in cols[:5])
                         + f"  {r['why']}  [{r['where']}]")
        for label, why in self.not_run:
            lines.append(f"not run: {label} ({why})")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    __repr__ = __str__


def _short(path):
    import os

    marker = os.sep + "multiact" + os.sep
    return "multiact" + os.sep + path.split(marker, 1)[1] if marker in path else path


def _where(code):
    return f"{_short(code.co_filename)}:{code.co_firstlineno}"


def _observe(call):
    """Run ``call()`` and return the code objects of multiact's modules it entered."""
    seen = []

    def hook(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if "multiact" in code.co_filename:
                seen.append(code)

    old = sys.getprofile()
    sys.setprofile(hook)
    try:
        call()
    finally:
        sys.setprofile(old)
    return seen


def _classify(row, be, codes):
    """(implementation, why, where) from the code objects that ran."""
    import os

    special = be.special_cases.get(row.name)
    special_code = None
    if special is not None:
        import inspect

        special_code = inspect.unwrap(special.func).__code__
    kernel = next((c for c in codes if os.sep + "kernels" + os.sep in c.co_filename
                   and (c.co_filename.endswith("triton.py") and c.co_name == "_launch"
                        or c.co_filename.endswith("inductor.py") and c.co_name == "call"
                        or c.co_filename.endswith("cuda_c.py") and c.co_name == "cupy_kernel")),
                  None)
    body = row.body.__code__
    ran_body = body in codes
    ran_special = special_code is not None and special_code in codes
    if kernel is not None:
        tech = {"triton.py": "Triton", "inductor.py": "Inductor",
                "cuda_c.py": "CUDA C++"}[kernel.co_filename.rsplit(os.sep, 1)[-1]]
        return (f"fused kernel ({tech})", "one pass over memory, printed from the generic "
                "body (kernels/)", _where(kernel))
    blocks = next((c for c in codes if c.co_name == "_per_block"
                   and c.co_filename.endswith(os.sep + "dask.py")), None)
    if blocks is not None:
        return ("NumPy's function, per block", "one task per block, NumPy's values "
                "(backends/dask.py: _per_block)", _where(blocks))
    if ran_special and not ran_body:
        return ("special case", special.reason, _short(special.where))
    if ran_special and ran_body:
        return ("generic body (via the special case)",
                "the special case does not apply here", _where(body))
    if ran_body:
        how = "jax.jit of the generic body" if be.framework == "jax" else "generic body"
        return (how, "the definition, written once against the namespace", _where(body))
    return ("?", "not observed", "?")


def _sample(row, target, dtype):
    """A small input and parameters for ``row`` on ``target`` (a conformance target)."""
    import numpy as np

    params = dict(row.cases[0].params)
    if row.name == "one_hot":
        x = target.asarray(np.array([0, 2, 1]), "int64" if target.backend != "jax" else "int32")
        return x, params
    data = np.linspace(-2.0, 2.0, 8).reshape(2, 4)
    if row.nonneg_input:
        data = np.abs(data) + 0.5
    return target.asarray(data, dtype), params


_PRINTER_NAMES = {"triton": "Triton", "cuda_c": "CUDA C++ (CuPy)", "inductor": "Inductor"}
_PRINTER_NEEDS = {"triton": ("torch", "triton"), "cuda_c": ("cupy",), "inductor": ("torch",)}
#: the backend whose rows a printer's kernels serve
_PRINTER_BACKEND = {"triton": "torch", "cuda_c": "cupy", "inductor": "torch"}


def _missing_kernels(row, shown=None):
    """Notes for the fused kernels ``row`` lacks, with the reasons, for the printers
    whose framework is installed (``multiact.kernels.coverage``) and, where ``shown``
    (the backends of the report's rows) is given, whose backend has a row there: the
    CuPy note was printed under ``--backend numpy`` and on machines without a GPU."""
    if not row.elementwise and not row.row_kernel and not row.halves:
        return []
    printers = [p for p, needs in _PRINTER_NEEDS.items()
                if all(importlib.util.find_spec(m) is not None for m in needs)
                and (shown is None or _PRINTER_BACKEND[p] in shown)]
    if not printers:
        return []
    groups = {}
    for e in coverage([row.name], printers=printers):
        if not e["ok"]:
            g = groups.setdefault((e["printer"], e["reason"]), ({}, {}, {}))
            for part, key in zip(g, ("function", "kernel", "dtype")):
                part[e[key]] = None
    return [f"no {_PRINTER_NAMES[p]} kernel for {', '.join(f)} {', '.join(k)} in "
            f"{', '.join(d)}: {reason}" for (p, reason), (f, k, d) in groups.items()]


def info(name: str, *, backends: Sequence[str] | None = None,
         device: str | None = None) -> InfoReport:
    """Which implementation of ``name`` runs, per backend, device, dtype and route.

    For each installed backend and device (and each dtype it has), calls the
    function on a small input, without and (for PyTorch) with a gradient
    being recorded, and reports what ran: a special case of the
    backend module (and the reason it exists), a fused kernel, or the generic
    body, with its file and line.

    Args:
      name: a function name or alias (``"gelu"``, ``"hardswish"``).
      backends: optional list of backend names to look at (default: all installed).
      device: optional device (``"cpu"``, ``"cuda"``).

    Returns:
      An :class:`InfoReport`: a list of dicts (one per backend, device, dtype and
      route), shown as a table.

    Example:
      >>> import multiact
      >>> report = multiact.info("relu", backends=["numpy"])
      >>> report[0]["implementation"], report[0]["dtype"]
      ('special case', 'float64')
    """
    from ._check.targets import (BACKENDS, available, discover,  # (imports NumPy)
                                 unknown_selection, x64_kept)

    row = info_for(name)
    fn = getattr(_api, row.name)
    if isinstance(backends, str):
        raise TypeError(f"multiact.info: argument 'backends' must be a list of backend "
                        f"names, got the string {backends!r}")
    error = unknown_selection(backends, device)  # (the command line's check)
    if error:
        raise ValueError(f"multiact.info: argument "
                         f"{'device' if error.startswith('unknown device') else 'backends'!r}: "
                         f"{error}")
    with x64_kept():  # (JAX's float64 rows need x64 mode: the caller's setting comes back)
        return _info_rows(row, fn, backends, device, discover(backends, device),
                          [(b, "not installed") for b in (backends or BACKENDS)
                           if not available(b)])


def _info_rows(row, fn, backends, device, targets, not_run):
    rows = []
    for t in targets:
        for dtype in t.dtypes:
            x, params = _sample(row, t, dtype)
            be = backend_of(x)
            routes = [("inference", x)]
            if t.backend == "torch" and row.name != "one_hot":
                routes.append(("training", x.detach().requires_grad_(True)))
            for route, arg in routes:
                try:
                    codes = _observe(lambda a=arg: fn(a, **params))
                    impl, why, where = _classify(row, be, codes)
                except Exception as e:  # noqa: BLE001 - a dtype the backend lacks, say
                    impl, why, where = "error", f"{type(e).__name__}: {e}", "-"
                rows.append(InfoRow(row.name, t.backend, t.device, dtype, route, impl, why,
                                    where).__dict__)
            if row.name == "one_hot":
                break
    notes = _missing_kernels(row, {t.backend for t in targets})
    if any(t.backend == "torch" and t.device == "cpu" for t in targets):
        from .kernels import inductor  # (imports torch: torch is a target here)

        if mode() == "fused":
            # (decision 34: every size, compiled on first use on the caller's thread;
            # the rows above show it)
            notes.append("torch on CPU: MULTIACT_KERNELS=fused: calls of every size take a "
                         "fused kernel where the row has one, compiled at its first call on "
                         "the caller's thread")
        elif mode() != "framework" and inductor.available():  # only a route that can run
            below = floor_where(row.name)
            notes.append(f"torch on CPU: these rows are for small tensors; from "
                         f"{MIN_NUMEL:,} elements"
                         + (f" ({below}: kernels.tier_from)" if below else "")
                         + f", eager calls take an Inductor kernel where "
                         f"the row has one, once it is compiled in the background "
                         f"(MULTIACT_KERNELS={mode()})")
    for k in status(row.name):
        if k["state"] in ("failed", "retired"):
            notes.append(f"kernel {k['kernel']}: {k['state']} ({k['reason']}); the "
                         f"framework path is used")
    return InfoReport(row.name, rows, not_run, notes)
