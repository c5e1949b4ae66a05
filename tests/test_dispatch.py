import importlib.util
import subprocess
import sys
import threading

import numpy as np
import pytest

import multiact
from multiact._dispatch import backend_of


def test_import_loads_no_framework():
    code = ("import sys, multiact; "
            "print(sorted(m for m in ('torch', 'jax', 'cupy', 'dask', 'numpy', 'scipy', 'keras', "
            "'flax') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_backend_loaded_only_for_its_arrays():
    # (and SciPy only for what needs it, float64 exact GELU's erf/erfcx: imported with
    # the NumPy backend, it cost every function's first NumPy call 100-230 ms;
    # decision 187)
    code = ("import sys, numpy, multiact; multiact.relu(numpy.ones(2)); "
            "multiact.gelu(numpy.ones(2, numpy.float32), approximate=False); "
            "print('torch' in sys.modules, 'jax' in sys.modules, 'scipy' in sys.modules); "
            "multiact.gelu(numpy.ones(2), approximate=False); print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    want = "False False False\n" + str(importlib.util.find_spec("scipy") is not None)
    assert out.stdout.strip() == want


def test_cache_per_type_and_namespace(target):
    x = target.asarray([1.0, 2.0])
    assert backend_of(x) is backend_of(target.asarray([3.0]))


def test_aliases_are_the_same_objects():
    assert multiact.swish is multiact.silu
    assert multiact.hard_swish is multiact.hard_silu


def test_a_default_parameter_is_not_checked_again():
    """A parameter left at its default skips its validator by identity (``beta is
    _softplus_beta_default`` in the generated function): the signature's default
    must be the row's own object.  A literal ``1.0`` there is another float, and
    softplus's every call checked its beta again (0.65 µs of a 2.8 µs call)."""
    import inspect

    from multiact import _params
    from multiact._table import TABLE

    skipped = 0
    for info in TABLE:
        sig = inspect.signature(getattr(multiact, info.name)).parameters
        for p in info.params:
            if p.default is not _params.REQUIRED and p.default is not None \
                    and p.kind.normal_default:
                assert sig[p.name].default is p.default, (info.name, p.name)
                skipped += 1
    assert skipped >= 10  # why: the float defaults (softplus's beta, elu's alpha, ...)


@pytest.mark.parametrize("value, expected", [(-1.0, 0.0), (2, 2), ([1.0, -2.0], [1.0, 0.0]),
                                             (range(-1, 2), [0, 0, 1])])  # (range: decision 166)
def test_python_scalars_and_sequences_are_numpy_input(value, expected):
    y = multiact.relu(value)
    assert type(y) is np.ndarray  # (decision 124)
    np.testing.assert_array_equal(y, expected)


def test_python_scalar_float_function():
    y = multiact.sigmoid(0.0)
    assert type(y) is np.ndarray and y.dtype == np.float64 and float(y) == 0.5


def test_unsupported_input_names_function():
    with pytest.raises(TypeError, match=r"multiact\.gelu: argument 'x' must be an array"):
        multiact.gelu("abc")
    with pytest.raises(TypeError, match=r"multiact\.softmax: argument 'x'"):
        multiact.softmax(object())


def test_thread_safety_mixing_backends():
    mods = [np]
    for name in ("torch", "jax.numpy", "dask.array", "array_api_strict"):
        try:
            mods.append(__import__(name, fromlist=["_"]))
        except ImportError:
            pass
    from multiact import _dispatch

    # start from an empty cache so that threads race on creation
    _dispatch._BY_TYPE.clear()
    _dispatch._BY_NS.clear()
    errors, seen = [], []
    barrier = threading.Barrier(8)

    def work(i):
        try:
            barrier.wait()
            for k in range(30):
                mod = mods[(i + k) % len(mods)]
                x = mod.asarray(np.array([-1.0, 0.0, 2.0]))
                y = multiact.relu(x)
                s = multiact.softmax(x)
                yy = np.asarray(y.compute() if hasattr(y, "compute") else
                                (y._array if hasattr(y, "_array") else y))
                assert yy.tolist() == [0.0, 0.0, 2.0]
                assert type(s) is type(x) or "jax" in type(x).__module__
                seen.append(backend_of(x))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    # one Backend per namespace, however many threads raced to create it
    assert len({id(b) for b in seen}) == len({b.framework + b.label for b in seen})
