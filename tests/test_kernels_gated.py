"""The gated rows' fused kernels (glu, swiglu, geglu: every row with ``halves``),
forward and backward, from every printer: Triton (under Triton's interpreter, the
README's second pass: tests/test_kernels_triton.py, with the helpers of this
file), Inductor (PyTorch on CPU) and the CUDA C++ of CuPy's kernels (compiled
for the host).  Values are scored against mpmath within the
row's bounds, gradients against autograd of the generic body in float64, and
each test asserts that its kernel ran."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import multiact
from multiact import kernels
from multiact._check import reference as R
from multiact._check.inputs import rows_inputs
from multiact._check.score import score_case, ulp_error
from multiact._check.targets import Target
from multiact._table import BY_NAME, TABLE
from multiact.kernels._coverage import gated_cases

GATED = [i for i in TABLE if i.halves and i.fused]
CASES = list(gated_cases())
INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
SHAPES = [((6, 2 * 37), -1), ((3, 10, 5), 1), ((1, 8), 1), ((4, 2), -1)]


def _kw(info, params):
    """The public function's keywords of a case (its axis left to each call)."""
    return {p.name: v for p, v in zip(info.params, params) if p.name != "axis"}


def test_every_gated_row_has_cases():
    assert GATED and {i.name for i, _, _ in CASES} == {i.name for i in GATED}


def _grad_of_generic(info, x, axis, kw, g):
    import torch

    from multiact.backends import torch as tb

    xr = x.detach().double().requires_grad_(True)
    names = [p.name for p in info.params]
    args = [axis if n == "axis" else kw.get(n, p.default) for n, p in zip(names, info.params)]
    y = info.body(tb.NS, xr, *args)
    (gx,) = torch.autograd.grad(y, xr, g.double())
    return gx


def _run_both(info, params, dtype, shape, axis):
    import torch

    kw = _kw(info, params)
    f = getattr(multiact, info.name)
    x = (torch.linspace(-6, 6, int(np.prod(shape)), dtype=torch.float64) ** 3 / 9).reshape(
        shape).to(dtype)
    xr = x.clone().requires_grad_(True)
    y = f(xr, axis=axis, **kw)
    g = torch.linspace(-1, 1, y.numel(), dtype=torch.float64).reshape(y.shape).to(dtype)
    y.backward(g)
    return x, y, g, xr.grad, kw


def _check_backward(info, x, g, grad, axis, kw, dtype):
    import torch

    want = _grad_of_generic(info, x, axis, kw, g)
    rtol = {torch.float64: 1e-12, torch.float32: 2e-5}.get(dtype, 3e-2)
    torch.testing.assert_close(grad.double(), want, rtol=rtol, atol=rtol * float(
        want.abs().max()))


def case_params(info, params):
    return {k: v for k, v in _kw(info, params).items()}


# -- Inductor (PyTorch on CPU) --------------------------------------------------------------

@pytest.mark.skipif(INTERPRETED, reason="under TRITON_INTERPRET=1 the fused mode takes Triton")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("info, params, label", CASES, ids=[c[2] for c in CASES])
def test_inductor_gated_kernels(info, params, label, dtype):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch._inductor")
    from _calls import tier_kernels_run

    prev = kernels.set_mode("fused")
    try:
        dt = getattr(torch, dtype)
        for shape, axis in SHAPES[:2]:
            (x, y, g, grad, kw), ran = tier_kernels_run(
                lambda: _run_both(info, params, dt, shape, axis))
            assert any(k[0] == "gated-train" for k in ran), ran
            _check_backward(info, x, g, grad, axis, kw, dt)
        cell, ran = tier_kernels_run(lambda: score_case(
            info, case_params(info, params), Target("torch", "cpu"), dtype))
        # (a forward the backend registered as native, glu's, is torch's: no kernel)
        native = kernels._own(info.name, params, dtype).native
        assert any(k[0] == "gated-forward" for k in ran) != native, ran
        assert cell.passed, cell.message()
    finally:
        kernels.set_mode(prev)


@pytest.mark.skipif(INTERPRETED, reason="under TRITON_INTERPRET=1 the fused mode takes Triton")
@pytest.mark.parametrize("dtype, within", [("float32", 0.6), ("float16", 0.501),
                                           ("bfloat16", 0.501)])
def test_exact_geglu_forward_kernel_holds_no_erfc(dtype, within):
    # the backend's own forward (kernels.own): gelu's rational one dtype wider
    # (float64; float32 for the half dtypes) times b, rounded once (decision 90's
    # formula), so within 0.6 ulp of mpmath in float32 (and about half an ulp in
    # the half dtypes) where the generic body's loop (float32 erfc, two roundings)
    # is held to the bounds of 6 and 1; at GELU's minimum too; the training pair's
    # forward is the same kernel
    from types import SimpleNamespace
    from unittest import mock

    torch = pytest.importorskip("torch")
    from torch._inductor.graph import GraphLowering

    from multiact.backends import torch as _tb  # noqa: F401 - registers kernels.own
    from multiact.kernels import inductor as ki

    info, dt = BY_NAME["geglu"], getattr(torch, dtype)
    params = (1, False)
    sample = (torch.zeros(1025, 2, 1024, dtype=dt), torch.zeros(1025, 1024, dtype=dt))
    code = []
    with mock.patch.object(GraphLowering, "save_output_code", code.append):
        fwd = ki.gated_builder("forward", info, dtype, params)(
            SimpleNamespace(label="test geglu forward"), sample[:1])
        pair = ki.gated_builder("train", info, dtype, params)(
            SimpleNamespace(label="test geglu train"), sample)
    assert len(code) == 3 and not any("erfc" in c or "erf(" in c for c in code[:2])
    a = np.concatenate([np.linspace(-13, 8, 631), np.linspace(-1.6, -0.2, 141),
                        -0.7517915 + np.arange(-8, 9) * 6e-8])
    big = {"float16": (-300.0, 1000.0)}.get(dtype, (-3.0e5, 3.0e30))  # (finite in dtype)
    b = np.resize([1.0, big[0], 7.25e-3, -1.5, big[1]], a.size)
    # (n, 2): halves of the last axis, rounded to the dtype
    data = torch.tensor(np.stack([a, b], axis=-1)).to(dt)
    want = R.geglu(data.double().numpy(), approximate=False)[:, 0]
    # (outer, 2, m) with no size 1 (a kernel of its own: the guards refuse it here)
    x3 = data.T.reshape(2, 3, -1).transpose(0, 1).contiguous()
    for k in (fwd, pair.fwd):
        got = k(x3)
        assert got.shape == (3, 1, a.size // 3) and got.dtype == dt
        assert float(ulp_error(got.double().numpy().ravel(), want, 0.0, dtype).max()) <= within
    special = torch.tensor([[-math.inf, math.inf, math.nan], [1.0, 1.0, 1.0],
                            [0.0, -0.0, 2.0], [1.0, 1.0, math.inf]], dtype=dt).reshape(2, 2, 3)
    y = fwd(special).ravel()
    assert y[[0, 1, 3, 5]].tolist() == [0.0, math.inf, 0.0, math.inf] and y[2].isnan()
    assert torch.signbit(y[[3, 4]]).tolist() == [False, True]


# -- CuPy's CUDA C++, compiled for the host -------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("info, params, label", CASES, ids=[c[2] for c in CASES])
def test_cuda_c_gated_kernels_on_the_host(info, params, label, dtype):
    torch = pytest.importorskip("torch")
    from multiact.kernels import cuda_c

    ref = R.for_row(info.name)
    data = rows_inputs(ref.inputs, dtype)
    h = data.shape[-1] // 2
    a = np.ascontiguousarray(data[:, :h]).astype(dtype)
    b = np.ascontiguousarray(data[:, h:]).astype(dtype)
    try:
        fwd = cuda_c.host_library(info, dtype, params)
        bwd = cuda_c.host_library(info, dtype, params, backward=True)
    except RuntimeError as e:  # pragma: no cover - no host compiler
        pytest.skip(str(e))
    y = fwd(a, b)
    rp = {k: v for k, v in _kw(info, params).items() if k in ref.params}
    want = ref.f(data, **rp)
    err = ulp_error(y.astype(np.float64), want, 0.0, dtype)
    bound = info.bound(dtype, _kw(info, params))
    assert float(np.max(err)) <= bound, (float(np.max(err)), bound)
    g = np.linspace(-1, 1, y.size).reshape(y.shape).astype(dtype)
    ga, gb = bwd(a, b, g)
    x = torch.tensor(data.astype(dtype).astype(np.float64))
    gw = _grad_of_generic(info, x, -1, _kw(info, params), torch.tensor(g.astype(np.float64)))
    got = np.concatenate([ga, gb], axis=-1).astype(np.float64)
    rtol = {"float64": 1e-12, "float32": 2e-5}.get(dtype, 3e-2)
    np.testing.assert_allclose(got, gw.numpy(), rtol=rtol, atol=rtol * float(gw.abs().max()))


INNER = [(i, p) for i, p, _ in CASES] + [(BY_NAME["quick_gelu"], ())]


@pytest.mark.parametrize("info, params", INNER, ids=[f"{i.name}-{n}"
                                                     for n, (i, p) in enumerate(INNER)])
def test_above_the_tier_an_inner_activation_bills_no_kernel_of_its_own(info, params, monkeypatch):
    # before its own kernel is ready, a call above the CPU tier's size runs the inner
    # activation (a gated row's gate, quick_gelu's sigmoid) as the backend's own
    # special case (native kernels, accurate backward: not the generic chain),
    # unbilled: it makes no slot but the row's own, and its values are those of the
    # framework path below the tier
    torch = pytest.importorskip("torch")
    from multiact.backends import torch as tb

    if kernels.mode() != "auto":
        pytest.skip("the CPU tier is the auto mode's")
    monkeypatch.setattr(kernels.TIER, "slots", {})  # no kernel of an earlier test is ready
    inner = []
    for name in ("sigmoid", "silu", "gelu"):
        def spy(x, *a, _f=getattr(tb.BACKEND, name), _n=name):
            inner.append(_n)
            return _f(x, *a)
        monkeypatch.setattr(tb.BACKEND, name, spy)
    kw = _kw(info, params) if info.halves else {}
    f = getattr(multiact, info.name)
    x = (torch.linspace(-6, 6, 2 * kernels.MIN_NUMEL, dtype=torch.float32) ** 3 / 9)
    x = x.reshape(512, -1)
    xr = x.clone().requires_grad_(True)
    y = f(xr, **kw)
    y.backward(torch.ones_like(y))
    # (a gated row with its own framework pair, glu's, calls no inner activation; nor
    # does quick_gelu's own Function, whose gate is torch's sigmoid in place)
    own_pair = info.name in tb._GATED_PAIRS or info.name == "quick_gelu"
    assert len(inner) == (0 if own_pair else 1)
    made = {k["kernel"] for k in kernels.status()}
    assert made and all(k.startswith(info.name) for k in made), made
    ys = torch.cat([f(x[i:i + 8], **kw) for i in range(0, 512, 8)])  # below the tier
    torch.testing.assert_close(y.detach(), ys, rtol=0, atol=0)
