"""softplus with a beta: its far tails, tiny and huge betas, the second derivative,
its traced and compiled routes, and the scalar checks of decision 129.  The
references are mpmath's."""

import warnings

import numpy as np
import pytest
from mpmath import exp, log1p, mp, mpf

import multiact

mp.dps = 80


def _softplus(x, beta):
    if x == float("inf"):
        return x
    if x == float("-inf"):
        return 0.0
    b = mpf(beta)
    return float(log1p(exp(b * mpf(x))) / b)


def _sigmoid(z):
    return 1 / (1 + exp(-z))


# (beta, x): betas far from 1 at the far tails, where a cap of |x| at 1e30 stopped
# short of exp's 0 (beta 1e-30: softplus(-inf) was 3e29) or beta x overflowed
# (NumPy warned at beta 1e31, x = -1e10)
EDGES = [(1e-30, [-np.inf, -1e35, -1e31, -1e20, 0.0, 1e31, np.inf]),
         (2e-31, [-np.inf, -1e34, -1e31, 1e20, np.inf]),
         (1e31, [-np.inf, -1e10, -1e-27, 0.0, 1e-32, 1e20, np.inf]),
         (1e20, [-1e20, -1e-19, 0.0, 1e20]),
         (1.5, [-np.inf, -1e300, -417.0, -1.0, 0.0, 40.0, 1e300, np.inf]),
         # e = exp(beta x) subnormal where e / beta is not (a beta below 1/2)
         (1e-6, [-9e7, -8e7, -5e7, -1.0]),
         (1e-20, [-1.1e22, -9e21]),
         (1e-100, [-7.6e102, -7e102])]


@pytest.mark.dtypes("float32", "float64")  # (the halves compute in float32)
@pytest.mark.parametrize("beta, xs", EDGES, ids=[str(b) for b, _ in EDGES])
def test_far_tails_and_extreme_betas(target, dtype, beta, xs):
    xs = np.array(xs)
    if dtype == "float32" and beta < 1e-31:  # (below float32's floor: refused)
        with pytest.raises(ValueError, match=r"softplus: argument 'beta'"):
            multiact.softplus(target.asarray(np.ones(2), dtype), beta)
        return
    if dtype == "float32":
        xs = xs[np.abs(xs) < 3e38]
        xs = np.concatenate([xs, [-np.inf, np.inf]]) if beta != 1e20 else xs
    x = target.asarray(xs, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = target.to_numpy(multiact.softplus(x, beta))
    xr = target.to_numpy(x).astype(np.float64)  # (the input, as rounded to the dtype)
    # the exact beta: float32's rounding of it is carried (decision 127)
    want = np.array([_softplus(v, beta) for v in xr])
    with np.errstate(over="ignore", under="ignore"):
        want = want.astype(dtype)  # (0 and inf where the dtype's range ends)
    if target.flushes_subnormals(dtype):  # (a subnormal result: 0 there)
        want[np.abs(want) < np.finfo(dtype).tiny] = 0.0
        y = np.where(np.abs(y) < np.finfo(dtype).tiny, 0.0, y)
    np.testing.assert_allclose(y, want, rtol=8 * np.finfo(dtype).eps, atol=0)


# (dtype, beta, beta x): betas above 1e30, whose product with x was not corrected
# (float64 169 ulp at beta 1e31, beta x = -500; 18 at 3e290; float32 6.6 at 1e31, its
# bound 6.5; probes'), at results in the dtype's normal range
HUGE = [("float64", 3e30, [-100.0, -5.5]), ("float64", 1e31, [-500.0, -700.0, -30.0]),
        ("float64", 2.5270403575724018e123, [-283.4, -1.0]),
        ("float64", 3e290, [-37.22, -2.0]), ("float64", 1e299, [-10.0, -0.5]),
        ("float32", 1e31, [-12.0, -1.0]), ("float32", 1e35, [-3.0, -0.5])]


@pytest.mark.parametrize("dtype, beta, us", HUGE, ids=[f"{d}-{b}" for d, b, _ in HUGE])
def test_huge_betas_carry_the_products_rounding(target, dtype, beta, us):
    # decision 195: above 1e30 beta x went uncorrected (the split's tail of x may be
    # subnormal there): its error now comes from b 2^-64 and x 2^64; a Python beta and
    # an array beta
    xs = np.array(us, dtype) / np.array(beta, dtype)
    want = np.array([_softplus(float(v), beta) for v in xs])
    x = target.asarray(xs, dtype)
    if dtype == "float32":  # (an array holds float32's beta: its own reference)
        arr = np.float32(beta)
        pairs = ((beta, want), (target.asarray(np.full(xs.size, arr), dtype),
                                np.array([_softplus(float(v), float(arr)) for v in xs])))
    else:
        pairs = ((beta, want), (target.asarray(np.full(xs.size, beta), dtype), want))
    for b, want in pairs:
        y = target.to_numpy(multiact.softplus(x, b))
        np.testing.assert_allclose(y, want.astype(dtype), rtol=4 * np.finfo(dtype).eps,
                                   atol=0)


# the worst of 2e6 points each before (NumPy's ufuncs: 7.19, 5.91 and 6.39 ulp)
TINY_EXP = {1e-3: [-40885.0078125, -78321.7734375, -56129.44140625],
            0.03: [-1644.991455078125, -1734.5989990234375, -2474.82275390625],
            0.3: [-288.773193359375, -210.0215301513672, -288.7109069824219]}


@pytest.mark.dtypes("float32")
@pytest.mark.parametrize("beta", sorted(TINY_EXP))
def test_float32_within_its_bound_where_exp_is_tiny(target, dtype, beta):
    # decision 155: where exp(beta x) is tiny but normal (-87 < beta x < -40), e /
    # beta was taken from two exps (h h / beta), each adding its error: 6.93 ulp on
    # NumPy's ufuncs at beta = 1e-3, 4.73 on JAX at 0.03; only a subnormal e needs
    # that.  The reference: float64 (far below a float32 ulp here; mpmath is slow)
    from multiact._table import BY_NAME

    xs = np.concatenate([np.linspace(-87.0 / beta, -40.0 / beta, 200001),
                         TINY_EXP[beta]]).astype(np.float32)
    y = target.to_numpy(multiact.softplus(target.asarray(xs, dtype), beta))
    want = np.log1p(np.exp(beta * xs.astype(np.float64))) / beta
    ulps = np.abs(y.astype(np.float64) - want) / np.spacing(want.astype(np.float32))
    assert ulps.max() <= BY_NAME["softplus"].bound("float32", {"beta": beta})


@pytest.mark.parametrize("beta", [1e-30, 1.5, 1e31])
def test_gradient_at_the_far_tails(ad_target, beta):
    xs = [-np.inf, -1e300, -1e31, 0.0, 1e31, 1e300, np.inf]
    y, g = _value_and_grad(ad_target, lambda t: multiact.softplus(t, beta), np.array(xs))
    want = [0.0 if v * beta < -800 else 1.0 if v * beta > 800 else
            float(_sigmoid(mpf(beta) * mpf(v))) for v in xs]
    np.testing.assert_allclose(g, want, rtol=1e-14, atol=0)


def _value_and_grad(ad_target, f, xs, dtype="float64"):
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        x = jnp.asarray(xs, getattr(jnp, dtype))
        return np.asarray(f(x)), np.asarray(jax.grad(lambda t: jnp.sum(f(t)))(x))
    import torch

    t = torch.tensor(xs, dtype=getattr(torch, dtype), requires_grad=True)
    y = f(t)
    y.sum().backward()
    return y.detach().numpy(), t.grad.numpy()


# (dtype, beta, x): the positive tail, where PyTorch's double backward beta s (1 - s)
# lost relative accuracy and is 0 beyond its threshold (softplus''(30) at beta 2 in
# float64 was 0, its value 1.75e-26)
SECOND = [("float64", 1.0, 30.0), ("float64", 2.0, 30.0), ("float64", 1.5, 300.0),
          ("float32", 1.0, 15.0), ("float32", 1.5, 25.0), ("float32", 0.5, 60.0),
          ("float64", 1.0, -30.0), ("float32", 1.5, -20.0)]


@pytest.mark.parametrize("dtype, beta, x", SECOND, ids=[f"{d}-{b}-{x}" for d, b, x in SECOND])
def test_second_derivative_in_both_tails(ad_target, dtype, beta, x):
    b = mpf(beta)  # (the exact beta: float32's rounding of it is carried)
    e = exp(-abs(b * mpf(x)))
    want = float(b * e / (1 + e) ** 2)  # (beta s (1 - s), without 1 - s's cancellation)
    assert want > 0
    rtol = 4 * float(np.finfo(dtype).eps)  # (0.6 eps measured on every route)
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        f = jax.grad(jax.grad(lambda t: multiact.softplus(t, beta)))
        got = float(f(jnp.asarray(x, getattr(jnp, dtype))))
        assert got == pytest.approx(want, rel=rtol)
        return
    import torch

    t = torch.tensor([x], dtype=getattr(torch, dtype), requires_grad=True)
    (g,) = torch.autograd.grad(multiact.softplus(t, beta).sum(), t, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), t)
    assert h.item() == pytest.approx(want, rel=rtol)
    f = torch.func.grad(torch.func.grad(lambda v: multiact.softplus(v, beta)))
    assert f(torch.tensor(x, dtype=getattr(torch, dtype))).item() == pytest.approx(want, rel=rtol)


def test_a_beta_below_the_floor_or_a_parameter_that_is_0_in_float32_is_refused(target):
    x32 = target.asarray(np.ones(3), "float32")
    x64 = target.asarray(np.ones(3), "float64") if "float64" in target.dtypes else None
    with pytest.raises(ValueError, match=r"softplus: argument 'beta' must be at least 1e-31"):
        multiact.softplus(x32, 1e-32)
    with pytest.raises(ValueError, match=r"softplus: argument 'beta' must be > 0 in float32"):
        multiact.softplus(x32, 1e-46)
    with pytest.raises(ValueError, match=r"celu: argument 'alpha' must be > 0 in float32"):
        multiact.celu(x32, alpha=1e-46)
    if x64 is not None:
        with pytest.raises(ValueError, match=r"softplus: argument 'beta' must be at least 1e-296"):
            multiact.softplus(x64, 1e-297)
        multiact.softplus(x64, 1e-32)
        # a subnormal alpha is refused (decision 132: it was -0 where subnormals flush,
        # XLA's on the CPU, and NaN at 0 in float32)
        with pytest.raises(ValueError, match=r"celu: argument 'alpha' must be at least"):
            multiact.celu(x64, alpha=1e-310)


def test_celu_with_a_tiny_alpha_on_numpy():
    # its in-place chain multiplies by 1 / alpha (a subnormal alpha, now refused, made it
    # overflow: 0 * inf was NaN); the least alpha, the smallest normal number
    for dt, alpha in ((np.float32, 2.0 ** -126), (np.float64, 2.0 ** -1022)):
        y = multiact.celu(np.array([-1.0, 0.5, 2.0], dt), alpha=alpha)
        np.testing.assert_array_equal(y, np.array([-alpha, 0.5, 2.0], dt))


def test_initial_beyond_float32s_range(target):
    x = target.asarray([1.0, 2.0, 3.0], "float32")
    with pytest.raises(ValueError, match=r"softmax: argument 'initial' must be within float32"):
        multiact.softmax(x, initial=1e39)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = target.to_numpy(multiact.log_softmax(x, initial=-1e39))
    np.testing.assert_array_equal(got, target.to_numpy(multiact.log_softmax(x)))


@pytest.mark.backends("torch")
def test_torch_two_product_is_dekkers():
    import torch

    from multiact._agnostic import _formulas as fm
    from multiact.backends._torch_native import NS, _fma_exact, _two_product

    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        if not _fma_exact(torch.device("cpu"), dtype):  # (then both are Dekker's)
            pytest.skip("torch.addcmul is not one rounding on this build")
        x = torch.randn(10007, dtype=dtype, generator=g) * 100
        b = fm.two_parts(1.702, dtype == torch.float32)[0]
        p1, d1 = _two_product(NS, b, x)
        p2, d2 = fm.two_product(NS, b, x)
        assert torch.equal(p1, p2) and torch.equal(d1, d2) and d1.abs().max() > 0


@pytest.mark.backends("torch")
@pytest.mark.parametrize("beta", [0.55, 0.75, 1.5, 7 / 3, 10.0, 1000.0, 1e20, 1e30])
def test_torch_float64_carried_route_within_the_bound_at_its_edges(beta, monkeypatch):
    # decision 208: float64 with a beta that is not a power of 2 takes torch's softplus
    # and the product's error carried.  Its edges: the threshold beta u (u the power
    # of 2 where the correction is clamped) and its neighbours, exp(beta x) subnormal
    # (torch's sigmoid was 0 there: 56 ulp at beta 0.75), the cap at -1e4 / beta, the
    # infinities and NaN; a dense sweep between
    import math

    import torch

    from multiact._table import BY_NAME
    from multiact.backends import torch as torch_backend

    if not torch_backend._fma_exact(torch.device("cpu"), torch.float64):
        pytest.skip("torch.addcmul is not one rounding on this build: the generic body")
    calls = []
    carried = torch_backend._softplus_carried
    monkeypatch.setattr(torch_backend, "_softplus_carried",
                        lambda t, b: calls.append(b) or carried(t, b))
    u = 2.0 ** math.ceil(math.log2(40.0 / beta))
    edges = [u, 40.0 / beta, 80.0 / beta, -708.0 / beta, -709.9 / beta, -745.0 / beta,
             -1.0e4 / beta, 0.0, -0.0, 1.0 / beta, -1.0 / beta]
    xs = np.concatenate([np.nextafter(edges, -np.inf), edges, np.nextafter(edges, np.inf),
                         np.linspace(-750.0 / beta, 90.0 / beta, 1501),
                         -np.logspace(-20, 4, 200) / beta])
    y = multiact.softplus(torch.tensor(xs), beta).numpy()
    assert calls == [beta]
    want = np.array([_softplus(v, beta) for v in xs])
    ulps = np.abs(y - want) / np.maximum(np.spacing(np.abs(want)), 5e-324)
    assert ulps.max() <= BY_NAME["softplus"].bound("float64", {"beta": beta}), xs[ulps.argmax()]
    ends = multiact.softplus(torch.tensor([-np.inf, np.inf, np.nan]), beta).tolist()
    assert ends[:2] == [0.0, np.inf] and np.isnan(ends[2])


@pytest.mark.backends("torch")
@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")
def test_torch_jit_trace_keeps_the_products_error():
    # TorchScript's optimizer pooled beta and its Veltkamp head (0.3 and
    # 0.29999999701976776) into one constant: the trace was 1.2e-6 off
    import torch

    x = torch.tensor([-417.0, -1.3, 2.0], dtype=torch.float64)
    for beta in (0.3, 1.702):
        traced = torch.jit.trace(lambda t, b=beta: multiact.softplus(t, b), (x,))
        want = [_softplus(v, beta) for v in x.tolist()]
        np.testing.assert_allclose(traced(x).numpy(), want, rtol=4e-16, atol=5e-324)
        # and the first backward of a trace recording a gradient (decision 211: the
        # profiling run took beta x's derivative with float32's beta, 4e-8 off)
        w = x.clone().requires_grad_()
        traced = torch.jit.trace(lambda t, b=beta: multiact.softplus(t, b), (w,),
                                 check_trace=False)
        traced(w).sum().backward()
        want = [float(_sigmoid(mpf(beta) * mpf(v))) for v in x.tolist()]
        np.testing.assert_allclose(w.grad.numpy(), want, rtol=4e-16, atol=5e-324)


@pytest.mark.backends("torch")
@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")
def test_torch_cached_scalars_made_under_inference_mode_are_normal_tensors(monkeypatch):
    # decision 211: the cache of 0-d constants kept an inference tensor made under
    # inference_mode, which a later torch.jit.trace recording a gradient could not
    # save ("Inference tensors cannot be saved for backward")
    import torch

    from multiact.backends import _torch_native

    monkeypatch.setattr(_torch_native, "_SCALARS", {})
    x = torch.linspace(-50.0, 50.0, 101, dtype=torch.float64)
    with torch.inference_mode():
        multiact.softplus(x, 1.5)
        multiact.softplus(x, 0.3)
    assert _torch_native._SCALARS
    assert not any(t.is_inference() for t in _torch_native._SCALARS.values())
    w = x.clone().requires_grad_()
    traced = torch.jit.trace(lambda t: multiact.softplus(t, 0.3), (w,), check_trace=False)
    traced(w).sum().backward()
    want = [float(_sigmoid(mpf(0.3) * mpf(v))) for v in x.tolist()]
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-14, atol=0)


@pytest.mark.backends("torch")
def test_torch_compile_with_a_symbolic_beta():
    # a second beta makes Dynamo's beta a symbolic float: a test on the tail of its
    # split (`if not bl`) read 0 from the simplifier while the graph computed it
    import torch

    class Softplus(torch.nn.Module):
        def __init__(self, beta):
            super().__init__()
            self.beta = beta

        def forward(self, t):
            return multiact.softplus(t, self.beta)

    x = torch.tensor([-417.0, -1.3], dtype=torch.float64)
    for beta in (1.5, 0.3, 1.702):
        got = torch.compile(Softplus(beta), backend="eager")(x)
        want = [_softplus(v, beta) for v in x.tolist()]
        np.testing.assert_allclose(got.numpy(), want, rtol=4e-16, atol=5e-324)
