"""Gradients under jax.grad and torch.autograd: values, kinks, tails, masks."""

import math

import numpy as np
import pytest

import multiact
from multiact._check import reference as R
from multiact._table import BY_NAME

ELEMENTWISE = ["celu", "elu", "gelu", "hard_sigmoid", "hard_silu", "hard_tanh", "leaky_relu",
               "log_sigmoid", "relu", "relu6", "selu", "sigmoid", "silu", "soft_sign",
               "softplus", "tanh",
               "identity", "mish", "squareplus", "sparse_plus", "sparse_sigmoid", "hard_shrink",
               "soft_shrink", "tanh_shrink"]


def grad_of(ad_target, f, x):
    """Elementwise gradient of sum(f(x)) at float64 x, as NumPy."""
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda t: jnp.sum(f(t)))(jnp.asarray(x)))
    import torch

    t = torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=True)
    f(t).sum().backward()
    return t.grad.numpy()


XS = np.array([-40.0, -30.0, -7.0, -3.0, -1.0, -0.3, 0.0, 0.4, 1.0, 3.0, 6.0, 9.0, 30.0])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_gradient_matches_mpmath(ad_target, name):
    g = grad_of(ad_target, getattr(multiact, name), XS)
    ref = R.derivative(R.for_row(name), XS)
    assert np.all(np.isfinite(g))
    # tanh is the framework's own, whose derivative 1 - tanh(x)**2 is absolute-
    # accurate only (docs/decisions.md); every other one keeps relative accuracy.
    atol = 1e-15 if name == "tanh" else 1e-300
    np.testing.assert_allclose(g, ref, rtol=1e-9, atol=atol)


@pytest.mark.parametrize("name, x, expected", [
    ("relu", 0.0, 0.0), ("relu6", 0.0, 0.0), ("relu6", 6.0, 0.0),
    ("hard_tanh", 1.0, 0.0), ("hard_tanh", -1.0, 0.0), ("leaky_relu", 0.0, 0.01),
    ("hard_sigmoid", -3.0, 0.0), ("hard_sigmoid", 3.0, 0.0),
    ("hard_silu", -3.0, -0.5), ("hard_silu", 3.0, 1.0),
    ("sparse_sigmoid", -1.0, 0.0), ("sparse_sigmoid", 1.0, 0.0),
    ("hard_shrink", 0.5, 0.0), ("soft_shrink", -0.5, 0.0),
])
def test_kink_convention(ad_target, name, x, expected):
    assert grad_of(ad_target, getattr(multiact, name), np.array([x]))[0] == expected


def test_tail_relative_accuracy(ad_target):
    s30 = 1 / (1 + math.exp(30))
    g = grad_of(ad_target, multiact.sigmoid, np.array([30.0]))[0]
    assert g == pytest.approx(s30 * (1 - s30), rel=1e-9)
    g = grad_of(ad_target, multiact.elu, np.array([-30.0]))[0]
    assert g == pytest.approx(math.exp(-30), rel=1e-9)


def test_relu_grad_under_jit():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    g = jax.jit(jax.grad(lambda x: multiact.relu(x).sum()))(jnp.zeros(3))
    np.testing.assert_array_equal(np.asarray(g), [0.0, 0.0, 0.0])


def test_softmax_fully_masked_zero_gradient(ad_target):
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [-np.inf, -np.inf, -np.inf]])
    m = np.array([[True, False, True], [False, False, False], [True, True, True]])
    w = np.array([[1.0, 2.0, 3.0]] * 3)

    def make(fn):
        def f(t):
            xm = ad_target.mod.asarray(m)
            ww = ad_target.mod.asarray(w)
            return fn(t, where=xm) * ww
        return f

    g = grad_of(ad_target, make(multiact.softmax), x)
    assert np.all(np.isfinite(g))
    assert np.all(g[1:] == 0) and g[0, 1] == 0
    g = grad_of(ad_target, make(lambda t, where: multiact.log_softmax(t, where=where)
                           * ad_target.mod.asarray(np.array(m, dtype=float))), x)
    assert np.all(np.isfinite(g)) and g[0, 1] == 0 and np.all(g[1] == 0)


def test_logsumexp_gradients(ad_target):
    g = grad_of(ad_target, lambda t: multiact.logsumexp(t), np.array([-np.inf, -np.inf]))
    np.testing.assert_array_equal(g, [0.0, 0.0])
    g = grad_of(ad_target, lambda t: multiact.logsumexp(t), np.array([np.inf, 0.0]))
    np.testing.assert_array_equal(g, [1.0, 0.0])
    x = np.array([0.3, -1.2, 2.0, 2.0])
    g = grad_of(ad_target, lambda t: multiact.logsumexp(t), x)
    np.testing.assert_allclose(g, np.exp(x) / np.exp(x).sum(), rtol=1e-13)


def test_softmax_gradient_with_ties(ad_target):
    x = np.array([2.0, 2.0, -1.0])
    c = np.array([1.0, -2.0, 0.5])
    g = grad_of(ad_target, lambda t: multiact.log_softmax(t) * ad_target.mod.asarray(c), x)
    p = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(g, c - p * c.sum(), rtol=1e-13)


ALL = ELEMENTWISE + ["softmax", "log_softmax", "logsumexp", "standardize", "glu", "softmin",
                     "logmeanexp", "sparsemax"]


@pytest.mark.parametrize("name", ALL)
def test_jax_transforms(name):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    f = getattr(multiact, name)
    x = jnp.asarray(np.linspace(-2, 2, 12).reshape(3, 4))
    eager = np.asarray(f(x))
    np.testing.assert_allclose(np.asarray(jax.jit(f)(x)), eager, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(jax.vmap(f)(x)), np.stack([np.asarray(f(r)) for r in x]),
                               rtol=1e-14)
    g = jax.grad(lambda t: jnp.sum(f(t)))(x)
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize("name", ALL)
def test_torch_autograd_gradcheck(name):
    torch = pytest.importorskip("torch")
    f = getattr(multiact, name)
    x = torch.tensor(np.linspace(-2.1, 1.9, 12).reshape(3, 4), dtype=torch.float64,
                     requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: f(t), (x,))


def test_log1mexp_gradient(ad_target):
    x = np.array([1e-8, 0.3, 1.0, 1.69, 1.71, 5.0, 40.0])
    g = grad_of(ad_target, multiact.log1mexp, x)
    np.testing.assert_allclose(g, R.derivative(R.for_row("log1mexp"), x), rtol=1e-9)


def test_prelu_and_threshold_gradients(ad_target):
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    g = grad_of(ad_target, lambda t: multiact.prelu(t, 0.25), x)
    np.testing.assert_array_equal(g, [0.25, 0.25, 1.0, 1.0])
    g = grad_of(ad_target, lambda t: multiact.threshold(t, 0.5, -1.0), x)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 1.0])


# -- the gradient at a NaN input: PyTorch's own, on every route --------------------------------

def _torch_twins():
    """multiact row -> (PyTorch's function, multiact's parameters) for every row with
    a counterpart in torch / torch.nn.functional."""
    import torch
    import torch.nn.functional as F

    return {
        "relu": (F.relu, {}), "relu6": (F.relu6, {}), "hard_tanh": (F.hardtanh, {}),
        "leaky_relu": (F.leaky_relu, {}), "sigmoid": (torch.sigmoid, {}), "silu": (F.silu, {}),
        "softplus": (F.softplus, {}),
        "softplus(beta)": (lambda t: F.softplus(t, beta=3), {"beta": 3}),
        "log_sigmoid": (F.logsigmoid, {}), "elu": (F.elu, {}),
        "celu": (F.celu, {}), "selu": (F.selu, {}), "tanh": (torch.tanh, {}),
        "gelu": (lambda t: F.gelu(t, approximate="tanh"), {"approximate": True}),
        "gelu(exact)": (F.gelu, {"approximate": False}),
        "hard_sigmoid": (F.hardsigmoid, {}), "hard_silu": (F.hardswish, {}),
        "soft_sign": (F.softsign, {}), "mish": (F.mish, {}), "identity": (lambda t: t * 1, {}),
        "hard_shrink": (F.hardshrink, {}), "soft_shrink": (F.softshrink, {}),
        "tanh_shrink": (F.tanhshrink, {}),
        "threshold": (lambda t: F.threshold(t, 0.5, -1.0), {"threshold": 0.5, "value": -1.0}),
        "prelu": (lambda t: F.prelu(t, torch.full((1,), 0.25, dtype=t.dtype, device=t.device)),
                  {"weight": 0.25}),
        "softmax": (lambda t: F.softmax(t, -1), {}),
        "log_softmax": (lambda t: F.log_softmax(t, -1), {}),
        "softmin": (lambda t: F.softmin(t, -1), {}),
        "logsumexp": (lambda t: torch.logsumexp(t, -1), {"axis": -1}),
        "glu": (lambda t: F.glu(t, -1), {}),
        "standardize": (lambda t: F.layer_norm(t, t.shape[-1:]), {}),
    }


TWINS = ["relu", "relu6", "hard_tanh", "leaky_relu", "sigmoid", "silu", "softplus",
         "softplus(beta)", "log_sigmoid",
         "elu", "celu", "selu", "tanh", "gelu", "gelu(exact)", "hard_sigmoid", "hard_silu",
         "soft_sign", "mish", "identity", "hard_shrink", "soft_shrink", "tanh_shrink",
         "threshold", "prelu", "softmax", "log_softmax", "softmin", "logsumexp", "glu",
         "standardize"]


@pytest.mark.backends("torch")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", TWINS)
def test_gradient_at_nan_is_pytorchs(target, name, dtype):
    # NaN in a row of x: the gradient PyTorch gives, on the eager route (native
    # kernels, autograd.Functions) and on the generic route (torch.func: what
    # torch.compile, torch.export and vmap run), the NaN row and the clean one alike
    import torch
    from torch.func import grad

    tf, params = _torch_twins()[name]
    f = getattr(multiact, name.split("(")[0])
    data = np.array([[np.nan, -1.5, 0.25, 2.0], [-0.75, 0.5, 1.0, 3.5]])
    x = torch.tensor(data, dtype=getattr(torch, dtype), device=target.device,
                     requires_grad=True)

    def loss(fn, t):
        y = fn(t)
        w = torch.linspace(0.5, 1.5, y.numel(), dtype=y.dtype, device=y.device)
        return (y * w.reshape(y.shape)).sum()

    (want,) = torch.autograd.grad(loss(tf, x), x)
    (eager,) = torch.autograd.grad(loss(lambda t: f(t, **params), x), x)
    generic = grad(lambda t: loss(lambda u: f(u, **params), t))(x.detach())
    tol = {"rtol": 1e-6, "atol": 1e-7} if dtype == "float32" else {"rtol": 1e-7, "atol": 1e-12}
    if name in ("hard_shrink", "soft_shrink"):
        # docs/decisions.md, difference `nan-grad-shrink`: PyTorch's backward at NaN is 0
        # in its vectorised loop and the incoming gradient in its scalar tail; multiact's
        # is the incoming gradient wherever the NaN is
        from conformance import differences

        assert "nan-grad-shrink" in differences.load()
        at = x.detach().isnan()
        cot = torch.linspace(0.5, 1.5, 8, dtype=x.dtype, device=x.device).reshape(2, 4)
        want = torch.where(at & (want == 0), cot, want)
    for route, got in (("eager", eager), ("generic", generic)):
        torch.testing.assert_close(got, want, equal_nan=True, **tol,
                                   msg=lambda m: f"{name} ({route} route): {m}")


def test_mish_at_minus_inf_and_nan(ad_target):
    # mish(-inf) == 0 with gradient 0 (PyTorch: NaN), and a NaN input keeps a NaN gradient
    x = np.array([-np.inf, np.nan, 1.0])
    y = ad_target.to_numpy(multiact.mish(ad_target.asarray(x)))
    assert y[0] == 0 and np.isnan(y[1])
    g = grad_of(ad_target, multiact.mish, x)
    assert g[0] == 0 and np.isnan(g[1]) and g[2] == pytest.approx(1.0490362200997922, rel=1e-12)
