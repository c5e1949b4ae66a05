"""Shared by ``tests/`` and ``conformance/``: one per-library fixture.

``target`` is a :class:`multiact._check.targets.Target` (the same converter
``multiact check`` uses): it makes arrays of one backend on one device from
NumPy data and brings results back.  Only cells that apply are generated:

* one ``target`` per installed backend and device (``--backend``/``--device``
  or ``MULTIACT_BACKENDS``/``MULTIACT_DEVICE`` select; asking for a missing one
  is an error; backends that are not installed are listed once, at the end);
* a test that also takes ``dtype`` gets one cell per dtype that target has
  (``@pytest.mark.dtypes(...)`` narrows them);
* ``@pytest.mark.backends("torch", ...)`` limits a test to those backends,
  ``@pytest.mark.autodiff`` (or taking ``ad_target``) to torch and jax;
* ``@pytest.mark.cells_where(predicate=f)`` keeps the cells of a parametrized test
  for which ``f(**params)`` (the cell's parameters by name: ``target``,
  ``info``, ...) is true; the others are deselected, not skipped.

``--report PATH`` writes the conformance matrix (the JSON schema of
``multiact check --json``, ``_check/report.py``).
"""

from __future__ import annotations

import os

import pytest

from multiact._check.targets import BACKENDS, Target, devices, dtypes_of, normalize_device
from multiact._check.targets import not_run as _not_run

_CELLS: list = []


def pytest_addoption(parser):
    g = parser.getgroup("multiact")
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


def pytest_configure(config):
    config.addinivalue_line("markers", "full: exhaustive sweeps, run with -m full")
    config.addinivalue_line("markers", "backends(*names): only these backends")
    config.addinivalue_line("markers", "autodiff: only backends with autodiff (torch, jax)")
    config.addinivalue_line("markers", "dtypes(*names): only these dtypes")
    config.addinivalue_line("markers", "cells_where(predicate=f): only the cells for which "
                            "f(**params) is true (the others are deselected)")
    if config.getoption("--report") and getattr(config.option, "numprocesses", None):
        # each pytest-xdist worker holds a part of the matrix, and the file would be
        # written empty: refused, not silently incomplete
        raise pytest.UsageError("--report writes the matrix one process collects: run it "
                                "without -n (pytest-xdist)")
    asked, dev = _requested(config)
    for b in asked:
        if b not in BACKENDS:
            raise pytest.UsageError(f"unknown backend {b!r}; known: {', '.join(BACKENDS)}")
        found = devices(b)
        if not found:
            raise pytest.UsageError(f"backend {b!r} was asked for but is not installed here")
        if dev and normalize_device(dev) not in [normalize_device(x) for x in found]:
            raise pytest.UsageError(f"backend {b!r} has no device {dev!r} here (it sees {found})")
    targets = []
    for b in BACKENDS:
        if asked and b not in asked:
            continue
        for d in devices(b):
            if dev and normalize_device(d) != normalize_device(dev):
                continue
            targets.append(Target(b, d, dtypes_of(b)))
    if dev and not targets:
        raise pytest.UsageError(f"device {dev!r} was asked for but no backend has it")
    config._multiact_targets = targets
    config._multiact_not_run = _not_run(asked or None, dev)


def _applies(metafunc, target):
    m = metafunc.definition.get_closest_marker("backends")
    if m is not None and target.backend not in m.args:
        return False
    autodiff = metafunc.definition.get_closest_marker("autodiff") or \
        "ad_target" in metafunc.fixturenames
    if autodiff and target.backend not in ("torch", "jax"):
        return False
    return True


def pytest_generate_tests(metafunc):
    if "target" not in metafunc.fixturenames:
        return
    targets = [t for t in metafunc.config._multiact_targets if _applies(metafunc, t)]
    if "dtype" in metafunc.fixturenames and not any(
            "dtype" in getattr(m, "args", ("",))[0] for m in metafunc.definition.iter_markers(
                "parametrize")):
        m = metafunc.definition.get_closest_marker("dtypes")
        cells = [(t, d) for t in targets for d in t.dtypes if m is None or d in m.args]
        metafunc.parametrize("target, dtype", cells, ids=[f"{t.backend}-{t.device}-{d}"
                                                          for t, d in cells])
    else:
        metafunc.parametrize("target", targets, ids=[f"{t.backend}-{t.device}" for t in targets])


def _cell_applies(item):
    m = item.get_closest_marker("cells_where")
    if m is None or not hasattr(item, "callspec"):
        return True
    # a keyword: a marker given one callable alone would decorate it instead
    return bool(m.kwargs["predicate"](**item.callspec.params))


def pytest_collection_modifyitems(config, items):
    """Tests whose backends are not selected (``--backend``) get no cell, and cells a
    ``cells_where`` predicate rejects are not run: deselected, not reported as
    skipped."""
    keep, drop = [], []
    for item in items:
        m = item.get_closest_marker("skip")
        if m is not None and "got empty parameter set" in str(m.kwargs.get("reason", "")):
            drop.append(item)
        elif not _cell_applies(item):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def report():
    """Record a conformance cell (``multiact._check.score.Cell``) for ``--report``."""
    return _CELLS.append


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for label, why in getattr(config, "_multiact_not_run", ()):
        terminalreporter.write_line(f"multiact: not run: {label} ({why})")
    if os.environ.get("TRITON_INTERPRET", "0") in ("", "0"):
        terminalreporter.write_line("multiact: not run: tests/test_kernels_triton.py (needs "
                                    "TRITON_INTERPRET=1 from the start: the README's second pass)")


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--report")
    if not path:
        return
    import json

    from multiact._check.report import make_report

    cfg = session.config
    data = make_report(_CELLS, [t.label for t in cfg._multiact_targets], cfg._multiact_not_run,
                       command="pytest " + " ".join(cfg.invocation_params.args))
    data["exitstatus"] = int(exitstatus)
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
