"""Element-wise functions: accuracy over the whole dtype range (the one scorer
of ``multiact check``, on a denser sweep), parameters in every form, strided and
transposed inputs, and agreement of every backend special case (and backend
rule) with the generic body."""

from __future__ import annotations

import numpy as np
import pytest

import multiact
from conformance.generic import arguments
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
@pytest.mark.parametrize("info, params", CASES, ids=IDS)
def test_strided_and_transposed_inputs(target, dtype, info, params):
    base = np.linspace(-5, 5, 40).reshape(4, 10)
    if info.nonneg_input:
        base = np.abs(base)
    x = target.asarray(base, dtype)
    xs = x[:, ::3]                       # non-contiguous view
    xt = x.T if target.backend != "array_api_strict" else target.asarray(base.T, dtype)
    # equal up to a few ulp: SIMD bodies and scalar tails of a kernel may round
    # differently (PyTorch), and strided inputs move elements between them
    rtol = 5e-7 if dtype == "float32" else 1e-15
    f = getattr(multiact, info.name)
    full = target.to_numpy(f(x, **params))
    np.testing.assert_allclose(target.to_numpy(f(xs, **params)), full[:, ::3], rtol=rtol)
    np.testing.assert_allclose(target.to_numpy(f(xt, **params)), full.T, rtol=rtol)


@pytest.mark.dtypes("float64", "float32")
def test_parameter_broadcast_against_x(target, dtype):
    base = np.linspace(-5, 5, 40).reshape(4, 10)
    x = target.asarray(base, dtype)
    a = target.asarray(np.array([0.5, 1.0, 2.0, 4.0]).reshape(4, 1), dtype)
    got = target.to_numpy(multiact.elu(x, alpha=a))
    want = target.to_numpy(multiact.elu(x, alpha=1.0)) * np.where(base > 0, 1,
                                                                   [[0.5], [1], [2], [4]])
    np.testing.assert_allclose(got, np.where(base > 0, base, want), rtol=1e-6)


def _runs_its_own(target, info, params, dtype=None):
    """Whether ``target``'s backend runs something of its own for ``info``'s function:
    a special case, or its rule for every function (a jit, a kernel, blocks)."""
    from multiact._dispatch import backend_of
    from multiact.backends import Backend

    be = backend_of(target.asarray(np.zeros(1), "float32"))
    return info.name in be.special_cases or type(be).generic is not Backend.generic


# elsewhere the backend runs the generic body itself: nothing to compare (deselected);
# float64 too: a generic body's error of a few float32 ulp is within twice the bound
# there, and is billions of ulp in float64 (docs/decisions.md 60)
@pytest.mark.cells_where(predicate=_runs_its_own)
@pytest.mark.dtypes("float32", "float64")
@pytest.mark.parametrize("info, params", CASES, ids=IDS)
def test_special_case_agrees_with_generic(target, dtype, info, params):
    """What a backend runs in place of the generic body (its special case, or its
    rule for every function: a jit, a kernel, blocks) gives what the generic body
    gives (run as it is: ``conformance/generic.py``)."""
    from multiact._dispatch import backend_of

    xs = sweep(dtype, dense=True)
    x = target.asarray(xs, dtype)
    be = backend_of(x)
    x, args = arguments(info, be, x, params)
    with np.errstate(over="ignore"):
        ours = target.to_numpy(getattr(be, info.name)(x, *args))
        generic = target.to_numpy(info.body(be.ns, x, *args))
    err = ulp_error(ours, generic, 0.0, dtype)
    # both are within the bound of the truth, so within twice it of each other
    # (XLA fuses differently under jit; in gelu's ill-conditioned tail 1 ulp of
    # difference in u becomes ~100 in the result)
    assert float(err.max()) <= max(1.0, 2 * info.bound(dtype, params))
