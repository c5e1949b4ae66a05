"""Gradients under jax.grad and torch.autograd: values, kinks, tails, masks."""

import math
import os

import numpy as np
import pytest

import multiact
from conformance.counterparts import counterpart
from multiact._check import reference as R
from multiact._table import TABLE, info_for

# every check case of every row (gelu's exact form, softplus with beta, ...), from the table
CASES = [(info, dict(c.params)) for info in TABLE for c in info.cases]
ELEMENTWISE = [(info, p) for info, p in CASES if info.elementwise]


def _ids(cases):
    return [info.label(p) for info, p in cases]


def _fn(info, params):
    f = getattr(multiact, info.name)
    return lambda t: f(t, **params)


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


@pytest.mark.parametrize("info, params", ELEMENTWISE, ids=_ids(ELEMENTWISE))
def test_elementwise_gradient_matches_mpmath(ad_target, info, params):
    xs = XS[XS > 0] if info.nonneg_input else XS
    g = grad_of(ad_target, _fn(info, params), xs)
    ref = R.derivative(R.for_row(info.name), xs, **params)
    assert np.all(np.isfinite(g))
    # tanh is the framework's own, whose derivative 1 - tanh(x)**2 is absolute-
    # accurate only (docs/decisions.md); every other one keeps relative accuracy.
    atol = 1e-15 if info.name == "tanh" else 1e-300
    np.testing.assert_allclose(g, ref, rtol=1e-9, atol=atol)


SIGNED = [(info, p) for info, p in ELEMENTWISE if not info.nonneg_input]  # (x >= 0 aside)


@pytest.mark.parametrize("info, params", SIGNED, ids=_ids(SIGNED))
def test_gradients_at_infinities_are_their_limits_not_nan(ad_target, info, params):
    # the contract: infinities give the limit, and so do their gradients.  Wherever
    # the gradient at the largest finite value is a number (or +-inf), the gradient at
    # the infinity is not NaN, in float32 and float64 (decision 149: squareplus's
    # x^2 had a NaN derivative at +-inf in float32, the review's finding)
    for dt, grad in ((np.float64, grad_of), (np.float32, grad32_of)):
        big = float(np.finfo(dt).max)
        near = grad(ad_target, _fn(info, params), np.array([-big, big], dt))
        at = grad(ad_target, _fn(info, params), np.array([-np.inf, np.inf], dt))
        assert not np.any(np.isnan(at) & ~np.isnan(near)), (dt, near, at)


# why: the kinks of these functions and the contract's derivative at each (docs/contract.md)
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


def test_exact_gelu_float64_derivative_in_both_tails(ad_target):
    # decision 209: PyTorch's eager backward took exp(-x^2 / 2) from exp(-fl(t)^2), t =
    # x / sqrt 2 and its square rounded: 1847 ulp at x = -37.3, where x phi(x) is the
    # derivative; the generic body's (JAX, torch.func) 3-5.  mpmath's reference
    from mpmath import mp, mpf, ncdf, npdf

    xs = np.concatenate([np.linspace(-37.5, -1.5, 1201), np.linspace(1.0, 8.5, 151)])
    g = grad_of(ad_target, lambda t: multiact.gelu(t, approximate=False), xs)
    with mp.workdps(40):
        want = np.array([float(ncdf(mpf(v)) + mpf(v) * npdf(mpf(v))) for v in xs])
    ulps = np.abs(g - want) / np.spacing(np.abs(want))
    assert ulps.max() <= 8, (ulps.max(), xs[ulps.argmax()])


def grad32_of(ad_target, f, x):
    """``grad_of`` in float32 (the input and the gradient)."""
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda t: jnp.sum(f(t)))(jnp.asarray(x, jnp.float32)))
    import torch

    t = torch.tensor(np.asarray(x), dtype=torch.float32, requires_grad=True)
    f(t).sum().backward()
    return t.grad.numpy()


def test_squareplus_far_left_gradient_in_float32(ad_target):
    # b / (4 x^2) (the next term is below float32's eps): the chain rule through
    # sqrt(x^2 + b) took b / (16 |x|^3), which underflows float32 from about 3e12
    # (half the gradient lost); b = 0 is relu, derivative 0 at its kink
    xs = np.array([-1e15, -1e13, -3e12, -1e9, -1e5])
    g = grad32_of(ad_target, multiact.squareplus, xs)
    np.testing.assert_allclose(g, 4.0 / (4.0 * xs * xs), rtol=3e-7)
    # decision 146: where x^2 underflows (|x| < 2^-64) the quotients' chain rule took
    # 0 times 1 / h^2 = inf, a NaN gradient; float32's b = 1e-300 is 0 there too
    tiny = np.array([-2.0, -2.0**-67, 0.0, 2.0**-71, 2.0**-120, 3.0])  # (normal: XLA flushes)
    for b in (0.0, 1e-300):
        g = grad32_of(ad_target, lambda t: multiact.squareplus(t, b=b), tiny)
        np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    g = grad_of(ad_target, lambda t: multiact.squareplus(t, b=0.0),
                np.array([-2.0**-526, 0.0, 2.0**-527]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])
    if ad_target.backend == "torch":  # (XLA flushes a subnormal b to 0: relu)
        # a subnormal b: torch took a Python number over a tensor as a reciprocal
        # times it, whose derivative squares 1 / h (inf below 2^-64): NaN
        b = float(np.float32(1e-40))
        x = np.array([-1e-19, 0.0, 1e-19, -3.0])
        g = grad32_of(ad_target, lambda t: multiact.squareplus(t, b=1e-40), x)
        r = np.sqrt(x * x + b)  # (x < 0: 1 + x / r written without cancellation)
        want = np.where(x < 0, 0.5 * b / ((r - x) * r), 0.5 * (1 + x / r))
        np.testing.assert_allclose(g, want, rtol=2e-6, atol=1e-44)  # (a subnormal at -3)


def test_squareplus_with_a_large_b_against_mpmath(ad_target):
    # decision 147: beyond |x| = 1e18 h was taken as |x| whatever b (b = 1e38, x =
    # -2e18: 1.25e19 for 4.1e18; float64 b = 1e100: 1.2e81 for 5e49); b / d's chain
    # rule squared d (torch's Python-number b: 1 / d^2 underflowed, the gradient 0 for
    # 1.6e-16 at b = 1e30, x = -4e22 in float32) or formed g d^-2 (JAX, flushed: 0
    # for 0.5 at b = 1e38, x = -100); a float32 b of 1e12 in float64 (the scale's
    # where of two numbers) took 4e-9 relative.  Against mpmath, the negative side
    # written without cancellation
    import mpmath

    mpmath.mp.dps = 60

    def want(x, b):
        x, b = mpmath.mpf(float(x)), mpmath.mpf(float(b))
        h = mpmath.sqrt(x * x + b)
        y = b / (2 * (h - x)) if x < 0 else (x + h) / 2
        return float(y), float(b / (2 * h * (h - x)) if x < 0 else (1 + x / h) / 2)

    cases = {np.float32: ((1e38, [-2e18, 2e18, -1e20, -100.0, 0.5, -3e38]),
                          (1e30, [-4e22, -1e19, 7e25]), (1e12, [-1e13, -3e12]),
                          (3.4e38, [-1e18, -1e17, 1e18, 0.0, -1.0])),  # (x^2 + b overflowed)
             np.float64: ((1e100, [-2e18, 2e18, -1e60, -1e40]), (1e12, [-1.1e13, -3e12]),
                          (1.7e308, [-1e200, -10.0, 1e200]))}
    for dt, rows in cases.items():
        for b, xs in rows:
            x = np.array(xs, dt)
            ref = np.array([want(v, dt(b)) for v in x])
            if dt == np.float64 and ad_target.backend == "jax":
                import jax

                if not jax.config.jax_enable_x64:
                    continue
            f = (lambda t: multiact.squareplus(t, b=b))  # noqa: E731
            g = grad_of(ad_target, f, x) if dt == np.float64 else grad32_of(ad_target, f, x)
            y = multiact.squareplus(x, b=b)
            np.testing.assert_allclose(y, ref[:, 0].astype(dt), rtol=4 * np.finfo(dt).eps)
            np.testing.assert_allclose(g, ref[:, 1], rtol=4 * np.finfo(dt).eps,
                                       atol=np.finfo(dt).tiny, err_msg=f"{dt} b={b}")


def test_squareplus_second_derivative_at_zero(ad_target):
    # decision 200: squareplus'' = b / (2 (x^2 + b)^(3/2)), 1 / (2 sqrt(b)) at 0; the
    # body squared |x|, whose second derivative at 0 is 0 on PyTorch (abs'(0) = 0):
    # twice the value there, under autograd and torch.func alike
    for b in (4.0, 0.5):
        want = 1.0 / (2.0 * math.sqrt(b))
        x = np.array([-0.0, 0.0, 1e-30, -1e-30])
        if ad_target.backend == "jax":
            import jax
            import jax.numpy as jnp

            f = jax.grad(jax.grad(lambda t: multiact.squareplus(t, b=b)))
            got = [float(f(jnp.float32(v))) for v in x]
        else:
            import torch

            t = torch.tensor(x, requires_grad=True)
            (g,) = torch.autograd.grad(multiact.squareplus(t, b=b).sum(), t, create_graph=True)
            (h,) = torch.autograd.grad(g.sum(), t)
            f = torch.func.grad(torch.func.grad(lambda u: multiact.squareplus(u, b=b)))
            got = h.tolist() + [float(f(torch.tensor(v, dtype=torch.float64))) for v in x]
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"b={b}")


def test_celu_alpha_gradient_with_a_tiny_or_huge_alpha_array(ad_target):
    # decision 149: x / alpha's derivative in alpha, -x / alpha^2, went through JAX's
    # alpha^-2 (inf below 1e-19, 0 above 1e19 in float32); celu divides by the
    # quotient primitive.  d/dalpha alpha expm1(x / alpha) at x / alpha = -1 is
    # expm1(-1) + 1/e = -0.26424112 whatever alpha
    want = math.expm1(-1.0) + math.exp(-1.0)
    for a in (1e-20, 1e20, 1.0):
        if ad_target.backend == "jax":
            import jax
            import jax.numpy as jnp

            g = float(jax.grad(lambda al: multiact.celu(jnp.float32(-a), alpha=al))(
                jnp.float32(a)))
        else:
            import torch

            al = torch.tensor(a, requires_grad=True)
            multiact.celu(torch.tensor(-a), alpha=al).backward()
            g = float(al.grad)
        assert abs(g - want) <= 4e-7 * abs(want), (a, g)
    # decision 152: at x = -inf the derivative in alpha was -inf times 0, NaN; its
    # limit is expm1(-inf) = -1 (x clamped below -745 alpha for every alpha)
    for a in (0.3, 1.5, 1e30):
        if ad_target.backend == "jax":
            g = float(jax.grad(lambda al: multiact.celu(jnp.float32(-jnp.inf), alpha=al))(
                jnp.float32(a)))
        else:
            al = torch.tensor(a, requires_grad=True)
            multiact.celu(torch.tensor(-math.inf), alpha=al).backward()
            g = float(al.grad)
        assert g == -1.0, (a, g)


def _celu_value_and_grads(ad_target, x, a):
    """celu(x, alpha=a) with an array alpha, and the derivatives of its sum in x and
    in alpha, as NumPy arrays"""
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        y = multiact.celu(jnp.asarray(x), alpha=jnp.asarray(a))
        gx, ga = jax.grad(lambda u, v: jnp.sum(multiact.celu(u, alpha=v)), (0, 1))(
            jnp.asarray(x), jnp.asarray(a))
        return np.asarray(y), np.asarray(gx), np.asarray(ga)
    import torch

    u, v = torch.tensor(x, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = multiact.celu(u, alpha=v)
    y.sum().backward()
    return y.detach().numpy(), u.grad.numpy(), v.grad.numpy()


def test_celu_alpha_gradient_keeps_relative_accuracy_near_zero(ad_target):
    # decision 193: autodiff of alpha expm1(t), t = x / alpha, gave expm1(t) - t e^t,
    # which cancels for small |t| (float32 2122 ulp at |t| near 1e-3, 1.9e6 near
    # 1e-6); against mpmath at x and alpha as rounded, with the value and the
    # derivative in x, over |t| from 1e-7 to 5 and alphas from 1e-3 to 1e3
    import mpmath

    mpmath.mp.dps = 50
    rng = np.random.default_rng(193)
    t = -np.concatenate([np.logspace(-7, np.log10(5.0), 300), [0.6931, 0.6932]])
    a = 10.0 ** rng.uniform(-3, 3, t.size)
    for dt in (np.float32, np.float64):
        if dt == np.float64 and ad_target.backend == "jax":
            import jax

            if not jax.config.jax_enable_x64:
                continue
        al, x = a.astype(dt), (t * a).astype(dt)
        ref = []
        for xi, ai in zip(x, al):
            u = mpmath.mpf(float(xi)) / mpmath.mpf(float(ai))
            ref.append([float(mpmath.mpf(float(ai)) * mpmath.expm1(u)),
                        float(mpmath.exp(u)), float(mpmath.expm1(u) - u * mpmath.exp(u))])
        ref = np.array(ref)
        y, gx, ga = _celu_value_and_grads(ad_target, x, al)
        eps = np.finfo(dt).eps
        for got, want, what in ((y, ref[:, 0], "value"), (gx, ref[:, 1], "d/dx"),
                                (ga, ref[:, 2], "d/dalpha")):
            np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=6 * eps,
                                       err_msg=f"{dt.__name__} {what}")


def test_celu_alpha_second_derivatives_in_float32(ad_target):
    # decision 193's series, differentiated twice: d2/dalpha2 = t^2 e^t / alpha and
    # d2/dx dalpha = -t e^t / alpha; float32 terms to t^9 gave 22 eps on |t| in [0.3,
    # ln 2) (a probe's), to t^12 4.1; against mpmath, 6 eps
    import mpmath

    mpmath.mp.dps = 50
    rng = np.random.default_rng(1930)
    t = -np.linspace(0.05, 1.5, 200)
    a = (10.0 ** rng.uniform(-2, 2, t.size)).astype(np.float32)
    x = (t * a).astype(np.float32)
    want = []
    for xi, ai in zip(x, a):
        u = mpmath.mpf(float(xi)) / mpmath.mpf(float(ai))
        e = mpmath.exp(u) / mpmath.mpf(float(ai))
        want.append([float(u * u * e), float(-u * e)])
    want = np.array(want)
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        def first(v, u):
            return jnp.sum(jax.grad(lambda q: jnp.sum(multiact.celu(u, alpha=q)))(v))

        gaa, gxa = jax.grad(first, (0, 1))(jnp.asarray(a), jnp.asarray(x))
    else:
        import torch

        u, v = torch.tensor(x, requires_grad=True), torch.tensor(a, requires_grad=True)
        (ga,) = torch.autograd.grad(multiact.celu(u, alpha=v).sum(), v, create_graph=True)
        gaa, gxa = torch.autograd.grad(ga.sum(), (v, u))
    eps = np.finfo(np.float32).eps
    np.testing.assert_allclose(np.asarray(gaa, np.float64), want[:, 0], rtol=6 * eps)
    np.testing.assert_allclose(np.asarray(gxa, np.float64), want[:, 1], rtol=6 * eps)


def test_celu_infinite_alpha_entry_takes_its_limit(ad_target):
    # decision 196: at alpha = inf, celu(x) = x with derivative 1 in x and 0 in
    # alpha (expm1(t) - t e^t at t = 0); the unselected branch's inf * 0 made both NaN
    x = np.array([-1.0, -1e-3, 0.5, -10.0, 0.0], np.float32)
    a = np.full(x.shape, np.inf, np.float32)
    y, gx, ga = _celu_value_and_grads(ad_target, x, a)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(np.asarray(gx), np.ones_like(x))
    np.testing.assert_array_equal(np.asarray(ga), np.zeros_like(x))


def test_celu_alpha_array_outside_its_domain_has_zero_gradients(ad_target):
    # decision 157: an array alpha at or below 0 is NaN where x <= 0, computed with 1
    # behind the select: its derivatives, in x and in alpha, are 0 there and where
    # x > 0 (alpha 0's was NaN where x > 0)
    x = np.array([3.0, -2.0, 3.0, -2.0, -2.0])
    a = np.array([0.0, -1.0, -1.0, 0.0, 0.5])
    c = np.array([1.0, 0.0, 1.0, 0.0, 1.0])  # (the NaN values selected away)
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        ga = np.asarray(jax.grad(lambda al: jnp.sum(jnp.where(
            jnp.asarray(c) > 0, multiact.celu(jnp.asarray(x), alpha=al), 0.0)))(
                jnp.asarray(a)))
    else:
        import torch

        al = torch.tensor(a, requires_grad=True)
        torch.where(torch.tensor(c) > 0, multiact.celu(torch.tensor(x), alpha=al),
                    0.0).sum().backward()
        ga = al.grad.numpy()
    t = -2.0 / 0.5
    assert np.array_equal(ga[:4], np.zeros(4)), ga
    np.testing.assert_allclose(ga[4], math.expm1(t) - t * math.exp(t), rtol=1e-13)


def test_mish_and_tanh_shrink_derivatives_near_one_in_float32(ad_target):
    # decision 141: XLA's float32 tanh is exactly +-1 beyond |x| = 7.9, and autodiff's
    # 1 - tanh^2 was 0 there: JAX's mish'(8) was 1.0 (28 ulp), tanh_shrink'(-8.36) 1.0
    from mpmath import exp, log1p, mp, mpf, tanh

    def ulps(g, ref):
        r = np.array(ref, float)
        return np.abs(g.astype(np.float64) - r) / np.spacing(np.abs(r.astype(np.float32)))

    xs = np.array([6.0, 8.0, 10.0, -3.0, 0.5], np.float32)
    ref = []
    with mp.workdps(40):  # (not mp.dps: the references of other tests keep theirs)
        for v in xs:
            sp = log1p(exp(mpf(float(v))))
            ref.append(float(tanh(sp) + mpf(float(v)) * (1 - tanh(sp) ** 2) /
                             (1 + exp(-mpf(float(v))))))
    assert np.max(ulps(grad32_of(ad_target, multiact.mish, xs), ref)) <= 2.0
    xs = np.array([-8.36, 3.0, 9.5, 0.3], np.float32)
    with mp.workdps(40):
        ref = [float(tanh(mpf(float(v))) ** 2) for v in xs]
    assert np.max(ulps(grad32_of(ad_target, multiact.tanh_shrink, xs), ref)) <= 2.0


def test_double_backward_of_a_piecewise_linear_function():
    # hard_sigmoid's Function recomputes a double backward through the generic body,
    # whose derivative (1/6 inside (-3, 3)) does not depend on x: a second backward
    # raised "does not require grad"; it is 0 (torch's own has none)
    torch = pytest.importorskip("torch")
    x = torch.linspace(-4, 4, 9, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(multiact.hard_sigmoid(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert torch.equal(h, torch.zeros_like(x))
    np.testing.assert_array_equal(g.detach().numpy(), np.where(np.abs(x.detach().numpy()) < 3,
                                                                1 / 6, 0.0))


def test_mish_second_derivative_under_torch_func():
    # torch's mish double backward takes exp(x), which overflows above 88.7 in float32
    # (NaN); mish is x from 40 on, its derivatives 1 and 0
    torch = pytest.importorskip("torch")
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([30.0, 100.0, 800.0], dtype=dtype)
        g2 = torch.func.vmap(torch.func.grad(torch.func.grad(multiact.mish)))(x)
        assert torch.isfinite(g2).all() and (g2.abs() < 1e-9).all(), (dtype, g2)


def test_log_sigmoid_second_derivative_under_torch_func_without_a_warning():
    # decision 189: torch's logsigmoid kernel under torch.func gave 0 for
    # log_sigmoid''(45) (-2.9e-20) and 1e-3 relative error at 30, and vmap(hessian)
    # printed torch's warning of a resized buffer; the generic body serves torch.func
    torch = pytest.importorskip("torch")
    x = torch.tensor([30.0, 45.0, -30.0, 0.5, -700.0, 700.0], dtype=torch.float64)
    g2 = torch.func.vmap(torch.func.grad(torch.func.grad(multiact.log_sigmoid)))(x)
    want = [-1 / (math.exp(v / 2) + math.exp(-v / 2)) ** 2 for v in x.tolist()]
    np.testing.assert_allclose(g2.numpy(), want, rtol=1e-13, atol=0)
    # (a fresh process: torch prints its warning once; its own DeprecationWarnings are
    # hidden by Python's default filters, as in a user's program)
    code = ("import torch, multiact\n"
            "x = torch.randn(3, 6, dtype=torch.float64)\n"
            "f = lambda t: multiact.log_sigmoid(t).sum()\n"
            "h = torch.func.vmap(torch.func.hessian(f))(x)\n"
            "assert h.isfinite().all()\n")
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0 and not out.stderr, out.stderr[-2000:]


@pytest.mark.backends("torch")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_sigmoid_second_derivative_through_autograd_and_forward_ad(target, dtype):
    # decision 198: torch's double backward of logsigmoid, -s (1 - s), was 17% off at
    # x = 15 and 0 from 17 in float32 (log_sigmoid''(17) = -4.1e-8), 3.6e-8 relative at
    # 20 in float64; so was forward over reverse (a dual x).  Against the closed form
    # -1 / (e^(x/2) + e^(-x/2))^2, computed in float64 at x as rounded
    import torch
    import torch.autograd.forward_ad as fwAD

    dt = getattr(torch, dtype)
    top = 80.0 if dtype == "float32" else 700.0
    x = torch.linspace(-top, top, 801, dtype=dt)
    want = np.array([-1 / (math.exp(v / 2) + math.exp(-v / 2)) ** 2 for v in x.tolist()])
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(multiact.log_sigmoid(xr).sum(), xr, create_graph=True)
    (h_bwd,) = torch.autograd.grad(g.sum(), xr)
    with fwAD.dual_level():
        d = fwAD.make_dual(x.clone().requires_grad_(True), torch.ones_like(x))
        (g,) = torch.autograd.grad(multiact.log_sigmoid(d).sum(), d, create_graph=True)
        h_fwd = fwAD.unpack_dual(g).tangent
    tiny = float(torch.finfo(dt).tiny)
    for h in (h_bwd, h_fwd):
        np.testing.assert_allclose(h.detach().double().numpy(), want,
                                   rtol=8 * float(torch.finfo(dt).eps),
                                   atol=tiny)


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


def test_log_softmax_cotangent_of_an_entry_left_out(ad_target):
    # decision 202: an entry left out is -inf; a cotangent on it is summed into the kept
    # entries' gradients, as torch.masked.log_softmax's (jax.nn's drops it), on every
    # backend alike. Reference: g_j - p_j sum(g) over the kept j, 0 elsewhere (NumPy)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 7)) * 2
    m = rng.random((4, 7)) > 0.35
    m[1] = False
    m[2, 0] = True
    g = rng.standard_normal((4, 7))
    e = np.where(m, np.exp(x - np.where(m, x, -np.inf).max(-1, keepdims=True)), 0.0)
    p = e / np.maximum(e.sum(-1, keepdims=True), 1e-300)
    want = np.where(m, g - p * g.sum(-1, keepdims=True), 0.0)
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        _, vjp = jax.vjp(lambda t: multiact.log_softmax(t, where=jnp.asarray(m)),
                         jnp.asarray(x))
        got = np.asarray(vjp(jnp.asarray(g))[0])
    else:
        import torch

        xr = torch.tensor(x, requires_grad=True)
        y = multiact.log_softmax(xr, where=torch.tensor(m))
        (got,) = torch.autograd.grad(y, xr, torch.tensor(g))
        got = got.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_logsumexp_gradients(ad_target):
    g = grad_of(ad_target, lambda t: multiact.logsumexp(t), np.array([-np.inf, -np.inf]))
    np.testing.assert_array_equal(g, [0.0, 0.0])
    g = grad_of(ad_target, lambda t: multiact.logsumexp(t), np.array([np.inf, 0.0]))
    np.testing.assert_array_equal(g, [1.0, 0.0])
    x = np.array([0.3, -1.2, 2.0, 2.0])
    g = grad_of(ad_target, lambda t: multiact.logsumexp(t), x)
    np.testing.assert_allclose(g, np.exp(x) / np.exp(x).sum(), rtol=1e-13)


@pytest.mark.parametrize("epsilon", [1e-5, 0.0])
def test_standardize_padded_row_leaks_no_nan(ad_target, epsilon):
    # decision 134: a fully masked row (padding) is NaN, and its gradient is 0, not NaN:
    # a loss that selects it away kept a NaN gradient for the whole row, and NaN then
    # reached the weights before it (the mean and variance were NaN behind the select)
    m = np.array([[True, True, True, False], [False] * 4])
    x = np.array([[1.0, 2.0, 4.0, 7.0], [0.5, -1.0, 2.0, 3.0]])
    c = np.array([1.0, -2.0, 0.5, 0.0])
    mm = ad_target.mod.asarray(m)

    def loss(t):
        y = multiact.standardize(t, where=mm, epsilon=epsilon)
        return y[0] * ad_target.mod.asarray(c)

    g = grad_of(ad_target, loss, x)
    assert np.all(g[1] == 0) and np.all(np.isfinite(g[0]))
    d = x[0, :3] - x[0, :3].mean()  # the counted row's own gradient, written out
    s = np.sqrt((d * d).mean() + epsilon)
    cc = c[:3]
    want = (cc - cc.mean() - d * (cc * d).mean() / s ** 2) / s
    np.testing.assert_allclose(g[0, :3], want, rtol=1e-12, atol=1e-14)
    assert g[0, 3] == 0
    y = ad_target.to_numpy(multiact.standardize(ad_target.asarray(x), where=mm))
    assert np.all(np.isnan(y[1])) and np.all(np.isfinite(y[0]))


@pytest.mark.parametrize("pad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("mean", [None, 2.0])
def test_standardize_padding_entries_leak_no_nan(ad_target, pad, mean):
    # decision 154: a masked-out NaN or inf (padding in a partly counted slice) made
    # every entry's gradient NaN where the loss selects the padding away (0 * NaN in
    # the derivative of the statistics); its value stays (x - mean) / sigma's
    m = np.array([[True, True, False, True, True]])
    x = np.array([[0.0, 1.0, pad, 2.0, 3.0]])
    c = np.array([1.0, -2.0, 0.0, 0.5, 3.0])  # (the padding's output: selected away)
    mm = ad_target.mod.asarray(m)

    def loss(t):
        y = multiact.standardize(t, where=mm, mean=mean)
        return ad_target.mod.where(mm, y, 0.0)[0] * ad_target.mod.asarray(c)

    g = grad_of(ad_target, loss, x)
    xs, cc = x[0, m[0]], c[m[0]]
    mu = xs.mean() if mean is None else mean
    d = xs - xs.mean()  # the counted entries' gradient, written out
    s = np.sqrt((d * d).mean() + 1e-5)
    want = (cc - (cc.mean() if mean is None else 0.0) - d * (cc * (xs - mu)).mean() / s ** 2) / s
    np.testing.assert_allclose(g[0, m[0]], want, rtol=1e-12, atol=1e-14)
    assert g[0, 2] == 0
    y = ad_target.to_numpy(multiact.standardize(ad_target.asarray(x), where=mm, mean=mean))
    np.testing.assert_allclose(y[0, m[0]], (xs - mu) / s, rtol=1e-13)
    assert np.isnan(y[0, 2]) if math.isnan(pad) else y[0, 2] == pad
    # a cotangent at the padding itself (a loss that reads it, already not finite):
    # its derivative is 0, by autodiff of the body and by the CPU tier's written-out
    # standardize_vjp alike
    from multiact._agnostic.reductions import standardize_vjp

    cot = np.array([[0.0, 0.0, 7.0, 0.0, 0.0]])
    gp = grad_of(ad_target, lambda t: multiact.standardize(t, where=mm, mean=mean)
                 * ad_target.mod.asarray(cot), x)
    assert np.all(gp == 0), gp
    if ad_target.backend == "torch":
        import torch

        from multiact.backends.torch import NS
        gv = standardize_vjp(NS, torch.tensor(x), torch.tensor(cot), (-1,), mean, None, 1e-5,
                             torch.tensor(m))
        assert np.all(gv.numpy() == 0), gv


def test_softmax_gradient_with_ties(ad_target):
    x = np.array([2.0, 2.0, -1.0])
    c = np.array([1.0, -2.0, 0.5])
    g = grad_of(ad_target, lambda t: multiact.log_softmax(t) * ad_target.mod.asarray(c), x)
    p = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(g, c - p * c.sum(), rtol=1e-13)


def test_log1mexp_gradient(ad_target):
    x = np.array([1e-8, 0.3, 1.0, 1.69, 1.71, 5.0, 40.0])
    g = grad_of(ad_target, multiact.log1mexp, x)
    np.testing.assert_allclose(g, R.derivative(R.for_row("log1mexp"), x), rtol=1e-9)


@pytest.mark.parametrize("name", ["log1mexp", "sparse_plus"])
def test_gradient_at_nan_where_it_depends_on_x_without_a_pytorch_twin(ad_target, name):
    # decision 55's rule for the rows no PyTorch op mirrors: NaN where the derivative
    # depends on x (log1mexp gave 1, sparse_plus 0 on PyTorch: a clip's derivative);
    # the finite entries and +inf as before (decision 137)
    x = np.array([np.nan, 0.3, 1.5, np.inf])
    g = grad_of(ad_target, getattr(multiact, name), x)
    assert np.isnan(g[0]) and np.all(np.isfinite(g[1:])), g
    want = R.derivative(R.for_row(name), x[1:3])
    np.testing.assert_allclose(g[1:3], want, rtol=1e-9)
    assert g[3] == (0.0 if name == "log1mexp" else 1.0)


def test_prelu_and_threshold_gradients(ad_target):
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    g = grad_of(ad_target, lambda t: multiact.prelu(t, 0.25), x)
    np.testing.assert_array_equal(g, [0.25, 0.25, 1.0, 1.0])
    g = grad_of(ad_target, lambda t: multiact.threshold(t, 0.5, -1.0), x)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 1.0])


# -- the gradient at a NaN input: PyTorch's own, on every route --------------------------------

def _twins():
    """Every check case with a PyTorch counterpart (conformance/counterparts.py),
    but one_hot (no gradient)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return []
    return [(info, p) for info, p in CASES
            if info.name != "one_hot" and counterpart("torch", info, p) is not None]


TWINS = _twins()


@pytest.mark.backends("torch")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("info, params", TWINS, ids=_ids(TWINS))
def test_gradient_at_nan_is_pytorchs(target, info, params, dtype):
    # NaN in a row of x: the gradient PyTorch gives, on the eager route (native
    # kernels, autograd.Functions) and on the generic route (torch.func: what
    # torch.compile, torch.export and vmap run), the NaN row and the clean one alike
    import torch
    from torch.func import grad

    tf, f = counterpart("torch", info, params), getattr(multiact, info.name)
    data = np.array([[np.nan, -1.5, 0.25, 2.0], [-0.75, 0.5, 1.0, 3.5]])
    x = torch.tensor(data, dtype=getattr(torch, dtype), device=target.device,
                     requires_grad=True)

    def loss(fn, t):
        y = fn(t)
        w = torch.linspace(0.5, 1.5, y.numel(), dtype=y.dtype, device=y.device)
        return (y * w.reshape(y.shape)).sum()

    if info.name == "celu":
        # difference `celu-gradient`: PyTorch's celu differentiates with alpha rounded to
        # float32; multiact's, with alpha as given, is its elu kernel's (input scale 1 /
        # alpha, the call F.celu makes), whose NaN rule is the same
        from conformance import differences

        assert "celu-gradient" in differences.load()
        alpha = params.get("alpha", 1.0)
        tf = lambda t: torch.ops.aten.elu(t, alpha, 1.0, 1.0 / alpha)  # noqa: E731
    (want,) = torch.autograd.grad(loss(tf, x), x)
    (eager,) = torch.autograd.grad(loss(lambda t: f(t, **params), x), x)
    generic = grad(lambda t: loss(lambda u: f(u, **params), t))(x.detach())
    tol = {"rtol": 1e-6, "atol": 1e-7} if dtype == "float32" else {"rtol": 1e-7, "atol": 1e-12}
    if info.name == "standardize" and dtype == "float32":
        # its gradients sum terms of order 1, and one near 0 keeps their roundings (at
        # 3.5 in the clean row, 0.0177: PyTorch's and multiact's each 7e-8 from
        # float64's, on either side; decision 160): two ulps of 1
        tol["atol"] = 2 * 2.0**-23
    if info.name in ("hard_shrink", "soft_shrink"):
        # docs/decisions.md, difference `nan-grad-shrink`: PyTorch's backward at NaN is 0
        # in its vectorised loop and the incoming gradient in its scalar tail; multiact's
        # is the incoming gradient wherever the NaN is
        from conformance import differences

        assert "nan-grad-shrink" in differences.load()
        at = x.detach().isnan()
        cot = torch.linspace(0.5, 1.5, 8, dtype=x.dtype, device=x.device).reshape(2, 4)
        want = torch.where(at & (want == 0), cot, want)
    if info.name == "hard_silu":
        # difference `nan-grad-hardswish`: NaN in PyTorch's vectorised float64 loop (a
        # machine without AVX-512), the incoming gradient elsewhere; multiact's: that
        from conformance import differences

        assert "nan-grad-hardswish" in differences.load()
        cot = torch.linspace(0.5, 1.5, 8, dtype=x.dtype, device=x.device).reshape(2, 4)
        want = torch.where(x.detach().isnan() & want.isnan(), cot, want)
    for route, got in (("eager", eager), ("generic", generic)):
        torch.testing.assert_close(got, want, equal_nan=True, **tol,
                                   msg=lambda m: f"{info.label(params)} ({route} route): {m}")


ELEMENTWISE_TWINS = [(info, p) for info, p in TWINS if info.elementwise]


@pytest.mark.parametrize("info, params", ELEMENTWISE_TWINS, ids=_ids(ELEMENTWISE_TWINS))
def test_gradient_at_nan_is_pytorchs_scalar_one_on_every_autodiff_backend(ad_target, info,
                                                                           params):
    # decision 176: JAX's gradient at NaN was NaN for elu, celu, selu and hard_silu
    # (the exponential's branch, or a discarded branch's NaN derivative times 0), where
    # PyTorch's is the identity's.  The reference: PyTorch's own backward of a
    # one-entry tensor (its scalar loop; decision 55), in float64, at the NaN of a row
    # of eight (long enough for PyTorch's vectorised loop)
    import torch

    tf = counterpart("torch", info, params)
    if info.name == "celu":  # (difference `celu-gradient`: the elu kernel's, as above)
        alpha = params.get("alpha", 1.0)
        tf = lambda t: torch.ops.aten.elu(t, alpha, 1.0, 1.0 / alpha)  # noqa: E731
    one = torch.tensor([math.nan], dtype=torch.float64, requires_grad=True)
    (want,) = torch.autograd.grad(tf(one).sum(), one)
    x = np.array([np.nan, -1.5, 0.25, 2.0, -0.75, 0.5, 1.0, 3.5])
    got = grad_of(ad_target, lambda t: getattr(multiact, info.name)(t, **params), x)
    if ad_target.backend == "torch" and info.name in ("hard_tanh", "relu6"):
        # difference `nan-grad-hardtanh`: PyTorch's kernel, 0 in its vectorised loop
        from conformance import differences

        assert "nan-grad-hardtanh" in differences.load()
        assert got[0] in (0.0, want.item()), got
        return
    np.testing.assert_equal(got[0], want.item(), err_msg=info.label(params))


def test_mish_at_minus_inf_and_nan(ad_target):
    # mish(-inf) == 0 with gradient 0 (PyTorch: NaN), and a NaN input keeps a NaN gradient
    x = np.array([-np.inf, np.nan, 1.0])
    y = ad_target.to_numpy(multiact.mish(ad_target.asarray(x)))
    assert y[0] == 0 and np.isnan(y[1])
    g = grad_of(ad_target, multiact.mish, x)
    assert g[0] == 0 and np.isnan(g[1]) and g[2] == pytest.approx(1.0490362200997922, rel=1e-12)


# why: the rows whose body is fm.gated (x times a gate that is 0 at -inf, 1 at +inf)
GATED_AT_INF = [("silu", {}), ("mish", {}), ("gelu", {"approximate": True}),
                ("gelu", {"approximate": False}), ("quick_gelu", {})]


@pytest.mark.parametrize("name, params", GATED_AT_INF,
                         ids=[n + "".join(f"-{v}" for v in p.values()) for n, p in GATED_AT_INF])
def test_gated_gradients_at_the_infinities(ad_target, name, params):
    # f(+inf) = inf with f'(+inf) = 1, the limit (PyTorch's silu and mish, and JAX's
    # autodiff of each, give inf * 0 = NaN); f(-inf) = 0 with f'(-inf) = 0; NaN keeps NaN
    f = _fn(info_for(name), params)
    x = np.array([-np.inf, np.nan, np.inf, 50.0])
    y = ad_target.to_numpy(f(ad_target.asarray(x)))
    assert y[0] == 0 and np.isnan(y[1]) and y[2] == np.inf and y[3] == 50.0
    g = grad_of(ad_target, f, x)
    assert g[0] == 0 and np.isnan(g[1]) and g[2] == 1 and g[3] == 1, g
    if ad_target.backend == "torch":  # torch.func: the generic route (torch.compile's)
        import torch
        from torch.func import grad

        t = torch.tensor(x, dtype=torch.float64)
        gf = grad(lambda u: f(u).sum())(t).numpy()
        assert gf[0] == 0 and np.isnan(gf[1]) and gf[2] == 1 and gf[3] == 1, gf
    if name in ("silu", "quick_gelu"):
        # only +inf is selected: above it the second derivative is still the product's,
        # k e / (1 + e)^2 (2 + k x (e - 1) / (1 + e)), e = exp(-k x) (float64 formula)
        k = 1.0 if name == "silu" else 1.702
        xs = np.array([30.0, 43.0, 60.0])
        e = np.exp(-k * xs)
        want = k * e / (1 + e) ** 2 * (2 + k * xs * (e - 1) / (1 + e))
        if ad_target.backend == "jax":
            import jax

            d2 = jax.vmap(jax.grad(jax.grad(lambda v: f(v))))(ad_target.asarray(xs))
            got = np.asarray(d2)
        else:
            import torch

            t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
            (d1,) = torch.autograd.grad(f(t).sum(), t, create_graph=True)
            (d2,) = torch.autograd.grad(d1.sum(), t)
            got = d2.numpy()
        rtol = 1e-9 if got.dtype == np.float64 else 1e-4
        np.testing.assert_allclose(got, want.astype(got.dtype), rtol=rtol, atol=0)


# one of each kind of kernel Function: element-wise, gated (forward native and compiled), row
# why: each kind returns its output in its own way (_torch_autograd._unviewed, fused_gated),
# and takes its cotangent in its own backward
KERNEL_KINDS = ["silu", "glu", "geglu", "standardize"]


@pytest.mark.backends("torch")
@pytest.mark.parametrize("mode", ["auto", "fused"])
@pytest.mark.parametrize("name", KERNEL_KINDS)
def test_outputs_take_in_place_ops_in_training(target, name, mode):
    # a kernel route's output is the Function's own tensor, not a view made inside
    # it, which autograd would refuse to modify in place (y.mul_, F.dropout(...,
    # inplace=True)); torch's ops allow it, and so does every route here.  The
    # gradient is then that of 2 f(x).  (softmax and log_softmax save their output,
    # as torch's do: an in-place change of it fails at backward, as there.)
    import torch

    from multiact import kernels

    prev = kernels.set_mode(mode)
    try:
        x = torch.linspace(-3, 3, 64 * 6, dtype=torch.float32).reshape(64, 6)
        grads = []
        for inplace in (True, False):
            xr = x.clone().requires_grad_(True)
            y = getattr(multiact, name)(xr)
            # a kernel's Function made y (or the view of its output): on the Inductor
            # route (under the interpreter, standardize took the generic body here)
            if mode == "fused" and os.environ.get("TRITON_INTERPRET") != "1":
                fn = y.grad_fn
                fn = fn if "Kernel" in type(fn).__name__ else fn.next_functions[0][0]
                assert type(fn).__name__.startswith("_Kernel"), type(fn).__name__
            y = y.mul_(2) if inplace else y * 2
            y.sum().backward()
            grads.append(xr.grad)
    finally:
        kernels.set_mode(prev)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)


DIFFERENTIABLE = [(info, p) for info, p in CASES if info.name != "one_hot"]


def _dual_cotangent_error(f, x):
    """forward over reverse: ``autograd.grad(f(x), x, dual(g, dg))``, whose tangent is
    ``dg J`` (the backward is linear in its cotangent); its largest error against
    the plain backward of ``dg``, relative to that's largest entry"""
    import torch
    import torch.autograd.forward_ad as fwAD

    xr = x.clone().requires_grad_(True)
    y = f(xr)
    # (not a linear ramp: on short rows it lies near the span of 1 and standardize's
    # output, which its derivative removes, and the rest cancels)
    dg = torch.cos(torch.arange(y.numel(), dtype=x.dtype) * 0.7).reshape(y.shape)
    with fwAD.dual_level():
        (gx,) = torch.autograd.grad(y, xr, fwAD.make_dual(torch.ones_like(y), dg))
        tangent = fwAD.unpack_dual(gx).tangent
    (want,) = torch.autograd.grad(f(xr), xr, dg)
    assert tangent is not None, "the tangent was dropped"
    return float((tangent - want).abs().max() / want.abs().max().clamp_min(1e-300))


# why: decision 197: a kernel's backward read the dual cotangent's storage and dropped its
# tangent (None, read as 0); torch's silu_backward and mish_backward raise
# NotImplementedError there.  Every row, on the route that the process's mode gives (the
# README's fused pass: the Triton kernels)
@pytest.mark.backends("torch")
@pytest.mark.parametrize("info, params", DIFFERENTIABLE, ids=_ids(DIFFERENTIABLE))
def test_a_dual_cotangent_carries_its_tangent(target, info, params):
    import torch

    x = 2.0 * torch.sin(torch.arange(64, dtype=torch.float64)).reshape(4, 16)
    if info.nonneg_input:
        x = x.abs() + 0.1
    assert _dual_cotangent_error(_fn(info, params), x) <= 1e-12


# the CPU tier's kernel Functions of each kind (KERNEL_KINDS), and tanh_shrink's pair of ATen
# ops fused (kernels.torch_fuse)
@pytest.mark.backends("torch")
@pytest.mark.parametrize("name", KERNEL_KINDS + ["tanh_shrink"])
def test_a_dual_cotangent_carries_its_tangent_through_the_kernels(target, name):
    import torch

    from multiact import kernels

    prev = kernels.set_mode("fused")
    try:
        x = 3.0 * torch.sin(torch.arange(64 * 6, dtype=torch.float32)).reshape(64, 6)
        assert _dual_cotangent_error(getattr(multiact, name), x) <= 4e-6
    finally:
        kernels.set_mode(prev)


def _second_order(f, x, linear):
    """A plain double backward of ``f`` at ``x`` (``create_graph``, then autograd of the
    first derivative): its error against the central difference of the first
    derivative along a direction, relative to the terms' scale; for a piecewise-linear
    row (``linear``), that the first derivative is recorded and its derivative 0"""
    import torch

    def first(t, create):
        tr = t if create else t.detach().requires_grad_(True)
        y = f(tr)
        c = torch.cos(torch.arange(y.numel(), dtype=t.dtype) * 0.7).reshape(y.shape)
        (g,) = torch.autograd.grad((y * c).sum(), tr, create_graph=create)
        return g

    c2 = torch.sin(torch.arange(x.numel(), dtype=x.dtype) * 1.3).reshape(x.shape)
    v = torch.cos(torch.arange(x.numel(), dtype=x.dtype) * 2.1).reshape(x.shape)
    xr = x.clone().requires_grad_(True)
    g = first(xr, True)
    assert g.requires_grad, "the first derivative is not recorded in x"
    (h,) = torch.autograd.grad((g * c2).sum(), xr)
    if linear:
        assert torch.equal(h, torch.zeros_like(h))
    eps = 1e-5
    diff = ((first(x + eps * v, False) - first(x - eps * v, False)) * c2).sum() / (2 * eps)
    scale = float((h * v).abs().sum()) + float(first(x, False).abs().max())
    return abs(float((h * v).sum() - diff)) / scale


# why: decision 201: the piecewise-linear rows' first derivative (autograd of selects and
# clamps) was not recorded in x, and a second backward raised "does not require grad"
# where torch's relu, hardshrink and prelu give 0.  Every row, float64, and the
# array-slope forms of leaky_relu and prelu; identity returns its input (as nn.Identity)
@pytest.mark.backends("torch")
@pytest.mark.parametrize("info, params", DIFFERENTIABLE + [
    (info_for("leaky_relu"), {"negative_slope": "tensor"}),
    (info_for("prelu"), {"weight": "tensor"})], ids=_ids(DIFFERENTIABLE) + [
    "leaky_relu(tensor slope)", "prelu(tensor weight)"])
def test_a_double_backward_is_recorded_and_right(target, info, params):
    import torch

    x = 2.0 * torch.sin(torch.arange(64, dtype=torch.float64) + 0.5).reshape(4, 16)
    if info.nonneg_input:
        x = x.abs() + 0.1
    params = {k: torch.linspace(0.05, 0.3, 16, dtype=torch.float64) if v == "tensor" else v
              for k, v in params.items()}
    f = _fn(info, params)
    if info.name == "identity":
        xr = x.clone().requires_grad_(True)
        assert f(xr) is xr
        return
    assert _second_order(f, x, info.linear) <= 1e-8
    if info.linear:  # and inside forward-mode AD's dual level (forward over reverse)
        import torch.autograd.forward_ad as fwAD

        xr = x.clone().requires_grad_(True)
        with fwAD.dual_level():
            (g,) = torch.autograd.grad(f(fwAD.make_dual(xr, torch.ones_like(xr))).sum(), xr,
                                       create_graph=True)
            (h,) = torch.autograd.grad(g.sum(), xr)
        assert torch.equal(h, torch.zeros_like(h))


# why: decision 201: the tie of a piecewise-linear row's cotangent to x held x outside the
# saved-tensor hooks, so a non-reentrant checkpoint kept every block's input
@pytest.mark.backends("torch")
@pytest.mark.parametrize("name", ["hard_shrink", "sparse_sigmoid", "sparsemax"])
def test_a_checkpoint_frees_a_linear_rows_input(target, name):
    import weakref

    import torch
    from torch.utils.checkpoint import checkpoint

    inp = torch.linspace(-2.0, 2.0, 64, dtype=torch.float64).reshape(4, 16).requires_grad_(True)
    held = []

    def block(t):
        h = t * 2.0
        held.append(weakref.ref(h))
        return getattr(multiact, name)(h)

    y = checkpoint(block, inp, use_reentrant=False)
    assert held[0]() is None, "the checkpointed block's input is still held"
    y.sum().backward()
    xr = inp.detach().requires_grad_(True)
    block(xr).sum().backward()
    torch.testing.assert_close(inp.grad, xr.grad, rtol=0, atol=0)


# why: decision 201: the tie held x until the graph was freed, so a training loop's loss of
# the step before, still bound, kept every such input past its backward
@pytest.mark.backends("torch")
@pytest.mark.parametrize("name", ["hard_shrink", "sparse_sigmoid", "sparsemax"])
def test_a_first_order_backward_lets_a_linear_rows_input_go(target, name):
    import weakref

    import torch

    inp = torch.linspace(-2.0, 2.0, 64, dtype=torch.float64).reshape(4, 16).requires_grad_(True)
    h = inp * 2.0
    held = weakref.ref(h)
    loss = getattr(multiact, name)(h).sum()
    del h
    assert held() is not None  # (the tie keeps it until a backward, as F.hardshrink's graph)
    loss.backward()
    assert held() is None, "the input is still held after the backward"
    assert loss.grad_fn is not None


def test_a_backward_kernel_never_takes_a_legacy_batched_cotangent():
    # gradcheck's batched gradients vmap the backward with the legacy vmap, whose
    # tensors have no storage: a Triton launch refuses them with a RuntimeError (found
    # on an H200), not the NotImplementedError of the CPU tier's operators.  The kernel
    # must not be called then; the generic body's autograd answers instead.
    torch = pytest.importorskip("torch")
    from torch._vmap_internals import _vmap

    from multiact.backends import _torch_autograd as ta
    from multiact.backends.torch import NS

    info = info_for("silu")
    batched = []

    def bwd(x, g):
        if ta._legacy_batched(g):
            batched.append(g)
            raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")
        return torch.full_like(x, 7.0)

    class Ctx:
        pair = type("Pair", (), {"bwd": staticmethod(bwd)})
        params = ()

    Ctx.info = info
    x = torch.linspace(-3.0, 3.0, 6, dtype=torch.float64)
    gs = torch.linspace(-1.0, 1.0, 12, dtype=torch.float64).reshape(2, 6)
    with torch.no_grad():
        assert torch.equal(ta._kernel_vjp(Ctx, x, gs[0]), torch.full_like(x, 7.0))
        got = _vmap(lambda g: ta._kernel_vjp(Ctx, x, g))(gs)
    xr = x.clone().requires_grad_(True)
    for g, row in zip(gs, got):
        (want,) = torch.autograd.grad(info.body(NS, xr), xr, g)
        torch.testing.assert_close(row, want, rtol=0, atol=0)
    assert not batched


def _lse_ad_dtypes(ad_target):
    """float32, and float64 where the backend holds it (JAX: with x64)."""
    if ad_target.backend == "jax":
        import jax

        return (np.float32, np.float64) if jax.config.jax_enable_x64 else (np.float32,)
    return (np.float32, np.float64)


def _lse_weights(a, b):
    """logsumexp's gradient, ``b e^a / sum(b e^a)`` row by row, from mpmath."""
    import mpmath

    mpmath.mp.dps = 50
    want = np.empty(a.shape)
    for i in range(len(a)):
        terms = [mpmath.mpf(float(v)) * mpmath.exp(mpmath.mpf(float(u)))
                 for u, v in zip(a[i], b[i])]
        total = mpmath.fsum(terms)
        want[i] = [float(t / total) for t in terms]
    return want


def _lse_grad(ad_target, a, b):
    """The gradient of ``sum(logsumexp(a, axis=1, b=b))``: JAX's grad, or PyTorch's
    autograd."""
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda u: jnp.sum(multiact.logsumexp(
            u, axis=1, b=jnp.asarray(b))))(jnp.asarray(a)), np.float64)
    import torch

    t = torch.tensor(a, requires_grad=True)
    multiact.logsumexp(t, axis=1, b=torch.tensor(b)).sum().backward()
    return t.grad.numpy().astype(np.float64)


def test_logsumexp_gradient_at_a_weighted_maximum_keeps_relative_accuracy(ad_target):
    # decision 195: autodiff through the slice's maximum m sent a rounding of eps to
    # the maximum's entry, whose derivative is its share of the sum: float32 2.567e-7
    # for 3.759e-7 (32% off) at a = [0.5, 3, 2], b = [1, 1e-7, 0.5]; against mpmath
    rng = np.random.default_rng(195)
    for dt in _lse_ad_dtypes(ad_target):
        for share in (1e-3, 1e-7, 1e-12):
            a = rng.normal(size=(4, 6)).astype(dt)
            b = rng.uniform(0.5, 2.0, size=(4, 6)).astype(dt)
            top = np.argmax(a, axis=1)
            b[np.arange(4), top] = share  # (the maximum's weight: its share is tiny)
            np.testing.assert_allclose(_lse_grad(ad_target, a, b), _lse_weights(a, b),
                                       rtol=8 * np.finfo(dt).eps,
                                       err_msg=f"{dt.__name__} share {share}")


def test_logsumexp_second_derivative_of_a_peaked_slice(ad_target):
    # decision 215: autodiff keeps the shift by the maximum's structure (its error is
    # added as a constant), whose second derivative along the maximum is R / (1 +
    # R)^2, relatively accurate; w - w^2 from a constant maximum cancelled (JAX's
    # hessian -1.3e-8 for 3.1e-15 on [1e-3, -33.4], torch.func's 0); decision 218:
    # PyTorch's eager double backward too
    import mpmath

    mpmath.mp.dps = 50
    for dt in _lse_ad_dtypes(ad_target):
        for row in ([1e-3, -33.4], [3.5, -20.0], [5.0, -30.0], [-2.0, -2.5, -40.0]):
            a = np.array(row, dt)
            e = [mpmath.exp(mpmath.mpf(float(v))) for v in a]
            total = mpmath.fsum(e)
            want = [float(t * (total - t) / total**2) for t in e]  # (w (1 - w), exactly)
            if ad_target.backend == "jax":
                import jax
                import jax.numpy as jnp

                h = np.asarray(jax.hessian(lambda u: multiact.logsumexp(u))(jnp.asarray(a)))
            else:
                import torch

                h = torch.func.hessian(lambda u: multiact.logsumexp(u))(
                    torch.tensor(a)).numpy()
                # and eager autograd's double backward (a gradient penalty's
                # create_graph), plain and with an entry masked out: the Function's
                # weights through the shift by the maximum (decision 218; softmax's
                # autograd gave 0 for 3.1e-15 on [1e-3, -33.4])
                for mask in (None, [True] * len(row) + [False]):
                    x = torch.tensor(np.append(a, 9.0) if mask else a, requires_grad=True)
                    kw = {} if mask is None else {"where": torch.tensor(mask)}
                    (g,) = torch.autograd.grad(multiact.logsumexp(x, **kw), x,
                                               create_graph=True)
                    d = [torch.autograd.grad(g[i], x, retain_graph=True)[0][i].item()
                         for i in range(len(row))]
                    np.testing.assert_allclose(d, want, rtol=16 * np.finfo(dt).eps,
                                               err_msg=f"eager {dt.__name__} {row} {mask}")
            np.testing.assert_allclose(np.diag(h), want, rtol=16 * np.finfo(dt).eps,
                                       err_msg=f"{dt.__name__} {row}")


def test_logsumexp_gradient_in_a_weight_at_zero(ad_target):
    # d/db_i log sum b e^a = e^(a_i) / S also where b_i == 0 (it was 0: the entry's
    # exp was masked out, and a weight at 0 never moved)
    a, b = np.array([0.0, 1.0, -np.inf]), np.array([0.0, 2.0, 0.0])
    want = np.exp(a) / (2.0 * math.e)
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        got = np.asarray(jax.grad(lambda w: multiact.logsumexp(jnp.asarray(a), b=w))(
            jnp.asarray(b)))
    else:
        import torch

        w = torch.tensor(b, requires_grad=True)
        multiact.logsumexp(torch.tensor(a), b=w).backward()
        got = w.grad.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_sparsemax_gradient_at_a_nan_slice_is_nan_where_the_clip_raised_entries(ad_target):
    # decision 192 (a probe): the slice's NaN was the clipped z times NaN, and the clip
    # (entries more than 2 below the maximum raised to -2) sends them a cotangent of 0:
    # where XLA's max dropped the NaN (float32 rows of some 4096 entries and up,
    # decision 164), 15041 of 16384 entries' gradients were 0 under jax.jit
    x = np.random.default_rng(0).standard_normal((4, 8192)).astype(np.float32) * 3
    x[:, 4097] = np.nan
    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        g = np.asarray(jax.jit(jax.grad(lambda t: multiact.sparsemax(t).sum()))(
            jnp.asarray(x)))
    else:
        import torch

        t = torch.tensor(x, requires_grad=True)
        multiact.sparsemax(t).sum().backward()
        g = t.grad.numpy()
    assert np.isnan(g).all(), int(np.isfinite(g).sum())


def test_sparsemax_gradient_at_a_nan_slice_is_nan_under_jit_too(ad_target):
    # decision 180: under jax.jit, where XLA's max drops a NaN (decision 164), the
    # slice's NaN was a constant, whose gradient is 0: [0, 0, 0] where eager JAX and
    # PyTorch give NaN (decision 55).  The other slices keep theirs, finite
    x = np.array([[np.nan, 1.0, 2.0], [0.5, 1.0, 1.2], [0.1, 0.2, 0.3]])
    w = np.arange(1.0, 4.0)

    def loss(t):
        y = multiact.sparsemax(t)
        return (y * (jnp.asarray(w) if ad_target.backend == "jax" else
                     torch.as_tensor(w))).sum(axis=-1)

    if ad_target.backend == "jax":
        import jax
        import jax.numpy as jnp

        routes = {"eager": jax.grad(lambda t: loss(t).sum()),
                  "jit": jax.jit(jax.grad(lambda t: loss(t).sum()))}
        grads = {k: np.asarray(g(jnp.asarray(x))) for k, g in routes.items()}
    else:
        import torch

        t = torch.tensor(x, requires_grad=True)
        loss(t).sum().backward()
        grads = {"eager": t.grad.numpy()}
    # the clean slices' gradient, J^T w with J = diag(s) - s s^T / |S| (s: the
    # support's indicator, from the sorted slice: 1 + k z_(k) > sum of the top k)
    want = []
    for row in x[1:]:
        z = np.sort(row)[::-1]
        k = np.arange(1, z.size + 1)
        size = int(np.sum(1 + k * z > np.cumsum(z)))
        s = row >= z[size - 1]
        want.append(np.where(s, w - w[s].mean(), 0.0))
    for route, g in grads.items():
        assert np.isnan(g[0]).all(), (route, g)
        np.testing.assert_allclose(g[1:], want, atol=1e-12, err_msg=route)


def test_mish_half_derivative_under_torch_func_and_forward_ad():
    # decision 185: away from eager autograd (torch.func, forward-mode AD) mish took
    # torch's own on the half tensor, whose derivative is computed in half: mish'(-1.19)
    # was 0 in float16 (4,329 values more than an ulp off, up to 1,150).  Now through
    # float32, rounded once: every float16 value of [-20, 20] within an ulp of an
    # independent float64 formula
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as fwd

    bits = np.arange(0, 1 << 16, dtype=np.uint16).view(np.float16)
    xs = bits[np.isfinite(bits) & (np.abs(bits) <= 20)].astype(np.float64)
    t = np.tanh(np.logaddexp(0.0, xs))
    ref = t + xs * (1.0 - t * t) / (1.0 + np.exp(-xs))
    for dtype, np_dtype in ((torch.float16, np.float16), (torch.bfloat16, None)):
        x = torch.tensor(xs, dtype=dtype)
        got_func = torch.func.vmap(torch.func.grad(multiact.mish))(x)
        with fwd.dual_level():
            got_fwd = fwd.unpack_dual(multiact.mish(fwd.make_dual(x, torch.ones_like(x)))).tangent
        keep = x.double().numpy() == xs  # (bfloat16: the values it holds exactly)
        r = torch.tensor(ref[keep], dtype=torch.float64)
        spacing = torch.tensor(np.spacing(np.abs(ref[keep]).astype(np.float16))
                               if np_dtype else np.abs(ref[keep]) * 2.0 ** -7 + 2.0 ** -133)
        for name, got in (("torch.func.grad", got_func), ("forward AD", got_fwd)):
            assert got.dtype == dtype
            err = ((got[torch.from_numpy(keep)].double() - r).abs() / spacing).max().item()
            assert err <= 1.0, (dtype, name, err)


def test_hard_silu_half_derivative_rounded_once():
    # decision 213: the backward of hard_silu's framework path formed (2x + 3) / 6 and
    # its product with g in the half dtype, three roundings: 1 ulp off on 6,659 float16
    # values of (-3, 3) with g = 1, where F.hardswish (float32, rounded once) is on
    # none.  Every float16 and bfloat16 value of (-3, 3), g = 1 and a random g, against
    # float64 rounded once
    torch = pytest.importorskip("torch")
    import ml_dtypes

    rng = np.random.default_rng(0)
    prev = multiact.kernels.set_mode("framework")
    try:
        grads = []
        for dtype, np_dtype in ((torch.float16, np.float16),
                                (torch.bfloat16, ml_dtypes.bfloat16)):
            vals = np.arange(0, 1 << 16, dtype=np.uint16).view(np_dtype).astype(np.float32)
            xs = vals[np.isfinite(vals) & (np.abs(vals) < 3)].astype(np.float64)
            for gs in (np.ones_like(xs), rng.permutation(xs)):
                x = torch.tensor(xs, dtype=dtype, requires_grad=True)
                multiact.hard_silu(x).backward(torch.tensor(gs, dtype=dtype))
                grads.append((dtype, np_dtype, xs, gs, x.grad))
    finally:
        multiact.kernels.set_mode(prev)
    for dtype, np_dtype, xs, gs, got in grads:
        ref = gs * (2.0 * xs + 3.0) / 6.0
        spacing = np.spacing(np.abs(ref).astype(np_dtype)).astype(np.float64)
        err = np.abs(got.double().numpy() - ref) / spacing
        assert got.dtype == dtype and err.max() <= 0.5 + 2.0 ** -10, (dtype, err.max())


def test_logsumexp_row_backward_takes_the_limits_with_no_host_read(monkeypatch):
    # decision 187: the backward of a logsumexp row kernel read one bool back from the
    # device on every call (whether any row's logsumexp was infinite), a wait for the
    # GPU in every CUDA training step, and an error under CUDA graph capture.  Off the
    # CPU it now takes the generic softmax's limits in closed form, with no read: on
    # "meta" tensors (no values to read: a read raises) it runs; on CPU tensors, with
    # the closed form forced, it gives the generic softmax's values on rows holding
    # +inf, all -inf, NaN, and left out by a mask.
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_autograd as ta
    from multiact.backends.torch import NS
    from multiact._agnostic import reductions as Rd

    inf, nan = math.inf, math.nan
    x = torch.tensor([[inf, 0.0, inf, 1.0], [-inf, -inf, -inf, -inf], [0.0, nan, 1.0, 2.0],
                      [1.0, 2.0, 3.0, 4.0], [inf, 1.0, 2.0, 0.0], [0.0, 1.0, inf, 2.0]])
    where = torch.tensor([[True, True, True, True], [True, True, True, True],
                          [True, True, True, True], [True, True, True, True],
                          [False, True, True, True], [False, False, False, False]])
    for w in (None, where):
        out = multiact.logsumexp(x, axis=-1, where=w)
        e = torch.exp(x - out.unsqueeze(-1)).nan_to_num(0.0)  # (the finite rows' p)
        if w is not None:
            e = e.masked_fill(~w, 0.0)
        p = e / e.sum(-1, keepdim=True)
        p[2] = nan
        monkeypatch.setattr(ta, "_is_compiling", lambda: True)
        got = ta._lse_limits(p, x, out, w)
        monkeypatch.undo()
        want = Rd.softmax(NS, x, (1,), w, None)
        if w is not None:
            got, want = got.masked_fill(~w, 0.0), want.masked_fill(~w, 0.0)
        torch.testing.assert_close(got, want, equal_nan=True, rtol=0, atol=1e-7)
        assert torch.equal(ta._lse_limits(p, x, out, w).isnan(), got.isnan())  # CPU's read
    m = x.to("meta")
    got = ta._lse_limits(torch.empty_like(m), m, torch.empty(6, device="meta"),
                         where.to("meta"))
    assert got.shape == x.shape and got.device.type == "meta"


def test_softmin_of_long_rows_saves_its_output_alone():
    # decision 187: softmin's framework path on slices too long for torch's sum
    # recorded the division by the sums, saving the undivided output (and the sums):
    # one tensor of x's size more than F.softmin, whose saved output the next layer
    # shares.  It takes softmax's Function (of -x) now, as softmax does.
    torch = pytest.importorskip("torch")
    from multiact import kernels

    prev = kernels.set_mode("framework")
    try:
        for f in (multiact.softmax, multiact.softmin):
            x = torch.randn(8, 1000, dtype=torch.float32, requires_grad=True)
            saved = []
            with torch.autograd.graph.saved_tensors_hooks(
                    lambda t: saved.append(t) or t, lambda t: t):
                y = f(x)
            ptrs = {t.untyped_storage().data_ptr() for t in saved}
            assert ptrs == {y.untyped_storage().data_ptr()}, f.__name__
            want = torch.softmax(-x.double() if f is multiact.softmin else x.double(), -1)
            torch.testing.assert_close(y.double(), want, rtol=1e-6, atol=0)
            g = torch.autograd.grad(y[:, 0].sum(), x)[0]
            gw = torch.autograd.grad(torch.softmax(-x if f is multiact.softmin else x, -1)[:, 0]
                                     .sum(), x)[0]
            torch.testing.assert_close(g, gw, rtol=1e-5, atol=1e-7)
    finally:
        kernels.set_mode(prev)


# why: decision 220: the shrinks' Function tied its first derivative to x through abs,
# whose sign made the double backward -0 at negative x (torch's own shrinks give +0); and
# its backward is the generic body's, g at NaN, 0 in the band and at its edges
@pytest.mark.backends("torch")
@pytest.mark.parametrize("name", ["hard_shrink", "soft_shrink"])
def test_the_shrinks_eager_derivatives(target, name):
    import torch

    x = torch.tensor([-2.0, -0.5, -0.3, 0.0, 0.3, 0.5, 2.0, float("nan"), -float("inf")],
                     dtype=torch.float64, requires_grad=True)
    g = torch.arange(1.0, 10.0, dtype=torch.float64)
    (d,) = torch.autograd.grad(getattr(multiact, name)(x, 0.5), x, g, create_graph=True)
    assert d.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0, 8.0, 9.0]
    (h,) = torch.autograd.grad(d.sum(), x)
    assert torch.equal(h, torch.zeros_like(h)) and not bool(h.signbit().any())


def _hard_slope(name, x, g):
    """hard_sigmoid's and hard_silu's ``g f'(x)`` in x's NumPy dtype, rounded as the
    contract writes them: ``g / 6`` on (-3, 3), else 0 (NaN too); ``g (2x + 3) / 6``
    on [-3, 3), ``g`` from 3 on and at NaN (the identity's), 0 below -3."""
    dt = x.dtype.type
    with np.errstate(invalid="ignore", over="ignore"):
        if name == "hard_sigmoid":
            return np.where((x > -3) & (x < 3), g / dt(6), dt(0))
        mid = (x * dt(2) + dt(3)) / dt(6)
        return g * np.where(x < -3, dt(0), np.where((x < 3), mid, dt(1)))


# why: decisions 222 and 223: the eager backwards of hard_sigmoid and hard_silu take
# torch's relu6 and relu backwards, open intervals whose ends are moved by one float
# and whose NaN is made a number first (relu6's backward passes a NaN's gradient in
# its scalar tail and not in its vector loop); an end off by one float, or the top's 1
# added as g (0 * inf), gives other bits
@pytest.mark.backends("torch")
@pytest.mark.parametrize("name", ["hard_sigmoid", "hard_silu"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_hard_functions_eager_backward_bits(target, name, dtype):
    import torch
    from multiact import kernels

    edges = [v for e in (-3.0, 3.0, -1.5, 0.0)
             for v in (np.nextafter(np.array(e, dtype), -np.inf), np.array(e, dtype),
                       np.nextafter(np.array(e, dtype), np.inf))]
    special = np.array(edges + [np.nan, np.inf, -np.inf, -0.0], dtype)
    rng = np.random.default_rng(0)
    for n in (16, 4099):  # (a vector loop and its tail)
        x = (rng.standard_normal(n) * 4).astype(dtype)
        x[rng.choice(n, special.size * 3)] = np.tile(special, 3)
        x[-special.size:] = special  # (the tail's entries too: NaN last)
        x[-1] = np.nan
        g = rng.standard_normal(n).astype(dtype)
        g[rng.choice(n, 4)] = np.array([np.inf, -np.inf, 0.0, -0.0], dtype)
        prev = kernels.set_mode("framework")
        try:
            xt = torch.tensor(x, requires_grad=True)
            getattr(multiact, name)(xt).backward(torch.tensor(g))
        finally:
            kernels.set_mode(prev)
        got, want = xt.grad.numpy(), _hard_slope(name, x, g)
        assert np.array_equal(got, want, equal_nan=True), (x[got != want], got[got != want])
        assert np.array_equal(np.signbit(got), np.signbit(want))
