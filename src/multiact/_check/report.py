"""One JSON schema for the conformance matrix, written by ``multiact check
--json`` and by ``pytest conformance --report``.

``{"schema": "multiact-conformance/1", "multiact": version, "versions":
{library: version}, "command": ..., "targets": ["torch:cpu", ...], "not_run":
[{"target": ..., "why": ...}], "cells": [{"function", "backend", "device",
"dtype", "n", "worst_ulp", "bound", "passed", "note"}], "summary": {"passed":
n, "failed": n}}``
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import sys

SCHEMA = "multiact-conformance/1"
LIBRARIES = ("numpy", "torch", "jax", "jaxlib", "cupy", "dask", "array_api_strict",
             "array_api_compat", "scipy", "mpmath", "triton")


def versions():
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _num(v):
    return v if math.isfinite(v) else ("inf" if v > 0 else "nan" if v != v else "-inf")


def make_report(cells, targets, not_run, command=None):
    from .. import __version__

    rows = [{"function": c.function, "backend": c.backend, "device": c.device, "dtype": c.dtype,
             "n": c.n, "worst_ulp": _num(c.worst), "bound": c.bound, "passed": c.passed,
             "note": c.note} for c in cells]
    failed = sum(not c.passed for c in cells)
    return {"schema": SCHEMA, "multiact": __version__, "versions": versions(),
            "command": command or " ".join(sys.argv), "targets": list(targets),
            "not_run": [{"target": t, "why": w} for t, w in not_run], "cells": rows,
            "summary": {"passed": len(cells) - failed, "failed": failed}}
