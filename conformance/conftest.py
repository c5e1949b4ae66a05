"""Conformance suite: every function x backend x device x dtype against mpmath.

Selection (for CI matrices):
  pytest conformance --backend torch --backend jax --device cuda
  MULTIACT_BACKENDS=torch,jax MULTIACT_DEVICE=cuda pytest conformance
A backend or device asked for explicitly but missing is an error; one not asked
for and missing is skipped with its reason.  ``--report PATH`` writes the
function x backend x device x dtype matrix (worst ulp, bound) as JSON.
"""

from __future__ import annotations

import json
import os

import pytest

from multiact._check.targets import BACKENDS, Target, devices, dtypes_of

_MATRIX: dict = {}


def pytest_addoption(parser):
    g = parser.getgroup("multiact conformance")
    g.addoption("--backend", action="append", default=None,
                help="backend(s) to run (repeatable or comma separated); default: all installed")
    g.addoption("--device", default=None, help="device to run on (cpu, cuda)")
    g.addoption("--report", default=None, help="write the conformance matrix as JSON here")


def _requested(config):
    b = config.getoption("--backend") or []
    b = [x for item in b for x in item.split(",") if x]
    env_b = os.environ.get("MULTIACT_BACKENDS")
    if not b and env_b:
        b = [x for x in env_b.split(",") if x]
    d = config.getoption("--device") or os.environ.get("MULTIACT_DEVICE") or None
    return b, d


def _norm(d):
    return {"gpu": "cuda"}.get(d, d)


def pytest_configure(config):
    config.addinivalue_line("markers", "full: exhaustive sweeps, run with -m full")
    asked, dev = _requested(config)
    for b in asked:
        if b not in BACKENDS:
            raise pytest.UsageError(f"unknown backend {b!r}; known: {', '.join(BACKENDS)}")
        found = devices(b)
        if not found:
            raise pytest.UsageError(f"backend {b!r} was asked for but is not installed")
        if dev and _norm(dev) not in [_norm(x) for x in found]:
            raise pytest.UsageError(
                f"backend {b!r} has no device {dev!r} here (it sees {found})")
    config._multiact_targets = _targets(asked, dev)
    if dev and not config._multiact_targets:
        raise pytest.UsageError(f"device {dev!r} was asked for but no backend has it")


def _targets(asked, dev):
    out = []
    for b in BACKENDS:
        if asked and b not in asked:
            continue
        found = devices(b)
        if not found:
            out.append(pytest.param(None, id=f"{b}-missing",
                                    marks=pytest.mark.skip(reason=f"{b} is not installed")))
            continue
        for d in found:
            if dev and _norm(d) != _norm(dev):
                continue
            out.append(pytest.param(Target(b, d, dtypes_of(b)), id=f"{b}-{d}"))
    return out


def pytest_generate_tests(metafunc):
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", metafunc.config._multiact_targets)


def record(function, target, dtype, worst, bound):
    key = (function, target.backend, target.device, dtype)
    prev = _MATRIX.get(key)
    if prev is None or worst > prev[0]:
        _MATRIX[key] = (worst, bound)


@pytest.fixture
def report():
    return record


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--report")
    if not path:
        return
    rows = [{"function": f, "backend": b, "device": d, "dtype": t, "worst_ulp": w, "bound": bd,
             "passed": w <= bd} for (f, b, d, t), (w, bd) in sorted(_MATRIX.items())]
    with open(path, "w") as fh:
        json.dump({"exitstatus": int(exitstatus), "results": rows}, fh, indent=1)
