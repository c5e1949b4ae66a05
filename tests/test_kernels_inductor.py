"""The CPU kernels (Inductor compiling the generic bodies, and the derivative
graphs printed as ATen ops): scored against mpmath with the conformance
scorer, and their backward against autodiff of the generic body.  The switch
is set to ``fused`` so that the small test inputs take the kernels that large
tensors take by default."""

from __future__ import annotations

import numpy as np
import pytest
from _calls import tier_kernels_run

import multiact
from multiact import kernels
from multiact._check.score import score_case
from multiact._check.targets import Target
from multiact._table import BY_NAME, TABLE

torch = pytest.importorskip("torch")
pytest.importorskip("torch._inductor")

ELEMENTWISE = [i for i in TABLE if i.elementwise and i.name not in ("relu", "relu6",
                                                                      "hard_tanh", "identity")]
TARGET = Target("torch", "cpu")


@pytest.fixture(scope="module")
def inductor():
    from multiact.kernels import inductor as ki

    prev = kernels.set_mode("fused")
    yield ki
    kernels.set_mode(prev)
    from multiact.kernels._tier import FAILED, TIER

    failed = [s for s in TIER.slots.values() if s.state is FAILED]
    assert not failed, failed


def _ran_inductor(ki, fn):
    return tier_kernels_run(fn)


CASES = [(i, dict(c.params)) for i in ELEMENTWISE for c in i.cases]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("info, params", CASES, ids=[i.label(p) for i, p in CASES])
def test_forward_within_the_bounds(inductor, info, params, dtype):
    cell, calls = _ran_inductor(inductor, lambda: score_case(info, params, TARGET, dtype))
    native = ("leaky_relu", "elu", "celu", "selu", "softplus", "log_sigmoid", "tanh", "mish",
              "sigmoid", "hard_sigmoid")
    if info.name in native:
        assert not calls  # a native kernel
    else:
        assert calls, "the Inductor kernel did not run"
    assert cell.passed, cell.message()


def test_expm1_without_cancellation(inductor):
    x = torch.tensor([1e-300, 1e-12, 3.6e-8, 1e-3, 0.5, -1e-12, -0.5, -40.0, 40.0, 800.0,
                      -800.0, 0.0], dtype=torch.float64)
    from multiact.kernels._ops import OPS

    # the registry's ATen spelling of expm1, compiled: Kahan's form (Inductor's
    # own expm1 is exp(x) - 1)
    got = torch.compile(lambda t: OPS["expm1"].aten(None, t))(x)
    torch.testing.assert_close(got, torch.expm1(x), rtol=4e-16, atol=0)


@pytest.mark.parametrize("info", [i for i in ELEMENTWISE if i.name not in ("sigmoid",)],
                         ids=lambda i: i.name)
def test_backward_matches_autodiff_of_the_generic_body(inductor, info):
    from multiact.backends import torch as tb

    params = tuple(info.cases[0].params.get(p.name, p.default) for p in info.params)
    x = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    if info.nonneg_input:
        x = x.abs() + 1e-3
    xr = x.clone().requires_grad_(True)
    g = torch.cos(x)
    getattr(multiact, info.name)(xr, *params).backward(g)
    xg = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(info.body(tb.NS, xg, *params), xg, g)
    torch.testing.assert_close(xr.grad, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "logsumexp",
                                  "logmeanexp", "standardize"])
def test_rows_within_the_bounds(inductor, name):
    info = BY_NAME[name]
    for dtype in ("float32", "float64"):
        cell, calls = _ran_inductor(inductor, lambda: score_case(
            info, dict(info.cases[0].params), TARGET, dtype))
        assert calls and cell.passed, cell.message()


def test_rows_masked_and_training(inductor):
    x = torch.tensor(np.random.default_rng(0).standard_normal((5, 40)) * 3)
    m = torch.tensor(np.random.default_rng(1).random((5, 40)) > 0.3)
    m[0] = False
    from multiact.backends import torch as tb

    for name in ("softmax", "log_softmax", "logsumexp"):
        f = getattr(multiact, name)
        xr = x.clone().requires_grad_(True)
        y, calls = _ran_inductor(inductor, lambda: f(xr, axis=-1, where=m))
        assert calls
        w = torch.cos(torch.arange(y.numel(), dtype=y.dtype)).reshape(y.shape)
        (y.nan_to_num(neginf=0.0) * w).sum().backward()
        xg = x.clone().requires_grad_(True)
        info = BY_NAME[name]
        args = [{"axis": (1,), "where": m}.get(p.name, p.default) for p in info.params]
        yg = info.body(tb.NS, xg, *args)
        torch.testing.assert_close(y, yg, rtol=1e-12, atol=1e-14)
        (want,) = torch.autograd.grad((yg.nan_to_num(neginf=0.0) * w).sum(), xg)
        torch.testing.assert_close(xr.grad, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_training_pair_in_one_kernel(inductor, dtype):
    # sigmoid's training forward (value and saved pair) and its backward are each
    # one compiled kernel; values against an independent float64 formula; the
    # input stays free to be edited in place (the pair saves no input).
    import math

    xs = [-800.0, -40.0, -17.5, -1.0, -0.0, 0.0, 1e-8, 0.5, 17.5, 30.0, 40.0, 800.0]
    x = torch.tensor(xs, dtype=dtype, requires_grad=True)
    g = torch.linspace(-2.0, 2.0, len(xs), dtype=dtype)

    def run():
        y = multiact.sigmoid(x)
        y.backward(g)
        return y

    y, calls = _ran_inductor(inductor, run)
    assert [c[:3] for c in calls] == [("fuse", "inductor", "sigmoid_pair"),
                                      ("fuse", "inductor", "sigmoid_bwd")]

    def ref_sig(v):
        return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))

    def ref_grad(v):  # sigmoid(|v|) sigmoid(-|v|), no cancellation in either tail
        e = math.exp(-abs(v))
        return e / (1.0 + e) ** 2

    want_y = torch.tensor([ref_sig(v) for v in xs], dtype=torch.float64)
    want_g = torch.tensor([ref_grad(v) for v in xs], dtype=torch.float64) * g.double()
    name = str(dtype).removeprefix("torch.")
    tol = BY_NAME["sigmoid"].bound(name) * torch.finfo(dtype).eps  # the one bounds table
    torch.testing.assert_close(y.detach().double(), want_y, rtol=tol, atol=0)
    torch.testing.assert_close(x.grad.double(), want_g, rtol=2 * tol, atol=0)
    # in-place edit after the call, as torch.sigmoid allows
    x2 = torch.randn(8, dtype=dtype, requires_grad=True).clone()
    y2 = multiact.sigmoid(x2)
    with torch.no_grad():
        x2.mul_(2.0)
    y2.sum().backward()


@pytest.mark.parametrize("name, params", [("gelu", {}), ("silu", {}), ("hard_silu", {}),
                                          ("soft_sign", {}), ("squareplus", {"b": 0.5}),
                                          ("tanh_shrink", {}), ("sigmoid", {}),
                                          ("log_softmax", {}),
                                          ("softmax", {}), ("logsumexp", {"axis": -1})])
def test_double_backward_through_the_kernels(inductor, name, params):
    # the kernels' backward with create_graph (a gradient penalty), against float64
    # finite differences
    f = getattr(multiact, name)
    x = torch.linspace(-2.1, 1.9, 12, dtype=torch.float64).reshape(3, 4).requires_grad_(True)
    _, calls = _ran_inductor(inductor, lambda: f(x, **params).sum().backward())
    assert calls, "the Inductor kernels did not run"
    assert torch.autograd.gradgradcheck(lambda t: f(t, **params), (x,))
