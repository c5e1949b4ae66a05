"""Keras's own activation tests, run against multiact.

The installed Keras's ``keras/src/activations/activations_test.py`` (imported from
the installed package, never copied) runs in a fresh process with its module's
``activations`` replaced by a name shim: every Keras activation that multiact has
(``multiact.get`` knows its name) is multiact's function, called with the Keras
function's own defaults for the parameters both share by name (Keras's exact
``gelu``, ``leaky_relu``'s slope 0.2); the rest stay Keras's.  Every test must pass
except those listed in ``NOT_ABOUT_MULTIACT``, and at least one test must exercise
each shimmed function, so a shim that silently kept Keras's functions fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None,
                                reason="Keras is not installed")

# test name -> why it cannot be about multiact (it checks Keras's own machinery)
NOT_ABOUT_MULTIACT = {
    "test_get_method": "checks keras.activations.get, which the shim does not replace",
}

PLUGIN = textwrap.dedent('''
    import inspect, json, os, types
    import multiact

    def _shim(real):
        names = {}
        shim = types.SimpleNamespace(**{n: getattr(real, n) for n in dir(real)
                                         if not n.startswith("__")})
        for name in dir(real):
            kfn = getattr(real, name)
            if name.startswith("_") or not callable(kfn) or isinstance(kfn, type):
                continue
            try:
                mfn = multiact.get(name)
            except (KeyError, ValueError, TypeError):
                continue
            try:
                kparams = inspect.signature(kfn).parameters
                mparams = inspect.signature(mfn).parameters
            except (TypeError, ValueError):
                continue
            defaults = {p: kparams[p].default for p in kparams if p in mparams
                        and kparams[p].default is not inspect.Parameter.empty}

            def call(x, *args, _m=mfn, _d=defaults, _n=name, **kw):
                USED.add(_n)
                return _m(x, *args, **{**_d, **kw})

            setattr(shim, name, call)
            names[name] = sorted(defaults)
        return shim, names

    USED = set()

    def pytest_collection_modifyitems(session, config, items):
        mods = {item.module for item in items}
        for mod in mods:
            mod.activations, names = _shim(mod.activations)
        config._multiact_names = names

    def pytest_sessionfinish(session, exitstatus):
        with open(os.environ["MULTIACT_SHIM_REPORT"], "w") as fh:
            json.dump({"shimmed": session.config._multiact_names, "used": sorted(USED)}, fh)
''')


@pytest.mark.parametrize("keras_backend", ["jax", "torch"])
def test_keras_activation_suite_against_multiact(keras_backend, tmp_path):
    spec = importlib.util.find_spec("keras")
    suite = os.path.join(os.path.dirname(spec.origin), "src", "activations",
                         "activations_test.py")
    if not os.path.exists(suite):
        pytest.skip("this Keras ships no activations_test.py")
    (tmp_path / "multiact_keras_shim.py").write_text(PLUGIN)
    report = tmp_path / "report.json"
    results = tmp_path / "results.xml"
    env = dict(os.environ, KERAS_BACKEND=keras_backend, MULTIACT_SHIM_REPORT=str(report),
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "multiact_keras_shim", "-p",
         "no:cacheprovider", "--rootdir", str(tmp_path), f"--junitxml={results}",
         "-W", "ignore", suite], capture_output=True, text=True, timeout=900, env=env,
        cwd=tmp_path)
    import xml.etree.ElementTree as ET

    assert results.exists(), out.stdout[-3000:] + out.stderr[-3000:]
    failed, passed = {}, []
    for case in ET.parse(results).iter("testcase"):
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            failed[case.get("name")] = (bad.get("message") or "")[:300]
        elif case.find("skipped") is None:
            passed.append(case.get("name"))
    unexplained = {k: v for k, v in failed.items() if k not in NOT_ABOUT_MULTIACT}
    assert not unexplained, unexplained
    stale = set(NOT_ABOUT_MULTIACT) - set(failed)
    assert not stale, f"these tests pass now: remove them from NOT_ABOUT_MULTIACT: {stale}"
    shim = json.loads(report.read_text())
    assert shim["shimmed"], "no Keras activation was replaced by multiact's"
    unused = set(shim["shimmed"]) - set(shim["used"])
    # Keras's aliases share one test (swish and silu, ...): every multiact function
    # the shim installed under some name must have been called
    functions = {multiact_name(n) for n in shim["shimmed"]}
    used = {multiact_name(n) for n in shim["used"]}
    assert functions <= used, f"shimmed but never called by Keras's tests: {unused}"
    assert len(passed) >= 40, (len(passed), out.stdout[-2000:])


def multiact_name(name):
    import multiact

    return multiact.get(name).__name__
