"""Element-wise functions: accuracy over the whole dtype range (the one scorer
of ``multiact check``, on a denser sweep), parameters in every form, strided
inputs, and agreement of every backend special case with the generic body."""

from __future__ import annotations

import numpy as np
import pytest

import multiact
from multiact._check.inputs import sweep
from multiact._check.score import score_case, ulp_error
from multiact._table import TABLE

CASES = [(info, dict(c.params)) for info in TABLE if info.elementwise for c in info.cases]
IDS = [info.label(p) for info, p in CASES]


def _run(target, info, params, dtype, report, **kw):
    cell = score_case(info, params, target, dtype, dense=True, **kw)
    report(cell)
    assert cell.passed, cell.message()


@pytest.mark.parametrize("info, params", CASES, ids=IDS)
def test_accuracy(target, dtype, info, params, report):
    _run(target, info, params, dtype, report)


@pytest.mark.full
@pytest.mark.dtypes("float16", "bfloat16")
@pytest.mark.parametrize("info, params", CASES, ids=IDS)
def test_accuracy_every_half_value(target, dtype, info, params, report):
    _run(target, info, params, dtype, report, full=True)


def _zero_d(target, x, xs, v, dtype):
    return target.asarray(np.array(v), dtype)


def _full(target, x, xs, v, dtype):
    return target.asarray(np.full(xs.shape, v), dtype)


PARAM_CASES = [(i, p) for i, p in CASES if i.name in ("elu", "celu", "leaky_relu") and p]


@pytest.mark.dtypes("float64", "float32")
@pytest.mark.parametrize("form", [_zero_d, _full], ids=["0d-array", "full-array"])
@pytest.mark.parametrize("info, params", PARAM_CASES, ids=[i.label(p) for i, p in PARAM_CASES])
def test_parameter_as_array(target, dtype, info, params, form, report):
    _run(target, info, params, dtype, report, param_form=form)


@pytest.mark.dtypes("float64", "float32")
def test_strided_and_broadcast_inputs(target, dtype):
    base = np.linspace(-5, 5, 40).reshape(4, 10)
    x = target.asarray(base, dtype)
    xs = x[:, ::3]                       # non-contiguous view
    xt = x.T if target.backend != "array_api_strict" else target.asarray(base.T, dtype)
    # equal up to a few ulp: SIMD bodies and scalar tails of a kernel may round
    # differently (PyTorch), and strided inputs move elements between them
    rtol = 5e-7 if dtype == "float32" else 1e-15
    for name in ("gelu", "sigmoid", "elu", "relu", "softplus", "hard_silu", "soft_sign", "mish"):
        f = getattr(multiact, name)
        np.testing.assert_allclose(target.to_numpy(f(xs)), target.to_numpy(f(x))[:, ::3],
                                   rtol=rtol)
        np.testing.assert_allclose(target.to_numpy(f(xt)), target.to_numpy(f(x)).T, rtol=rtol)
    a = target.asarray(np.array([0.5, 1.0, 2.0, 4.0]).reshape(4, 1), dtype)
    got = target.to_numpy(multiact.elu(x, alpha=a))
    want = target.to_numpy(multiact.elu(x, alpha=1.0)) * np.where(base > 0, 1,
                                                                   [[0.5], [1], [2], [4]])
    np.testing.assert_allclose(got, np.where(base > 0, base, want), rtol=1e-6)


@pytest.mark.parametrize("info, params", CASES, ids=IDS)
def test_special_case_agrees_with_generic(target, info, params):
    """What a backend runs in place of the generic body (its special case, or its
    rule for every function: a jit, a kernel, blocks) gives what the generic body
    gives.  Where the backend runs the body as it is, there is nothing to compare."""
    from multiact._dispatch import backend_of
    from multiact.backends import Backend

    dtype = "float32"
    xs = sweep(dtype, dense=True)
    x = target.asarray(xs, dtype)
    be = backend_of(x)
    if info.name not in be.special_cases and type(be).generic is Backend.generic:
        pytest.skip(f"{be.label} runs the generic body of {info.name} as it is")
    args = [params.get(p.name, p.default) for p in info.params]
    with np.errstate(over="ignore"):
        ours = target.to_numpy(getattr(be, info.name)(x, *args))
        generic = target.to_numpy(info.body(be.ns, x, *args))
    err = ulp_error(ours, generic, 0.0, dtype)
    # both are within the bound of the truth, so within twice it of each other
    # (XLA fuses differently under jit; in gelu's ill-conditioned tail 1 ulp of
    # difference in u becomes ~100 in the result)
    assert float(err.max()) <= max(1.0, 2 * info.bound(dtype, params))
