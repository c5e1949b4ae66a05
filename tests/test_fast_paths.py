"""The backends' faster formulations (docs/decisions.md 61, 62, 64): that they run,
and that they keep the row's bound against mpmath and the generic body's derivatives.
Each test fails if its path silently fell back to the generic body or lost accuracy."""

from __future__ import annotations

import math
import os
from unittest import mock

import numpy as np
import pytest

import multiact
from multiact._check import reference as R
from multiact._check.score import ulp_error
from multiact._table import BY_NAME


def _tails(dtype):
    """Dense points where the formulations differ most: both tails, and 0."""
    lo = -12.5 if dtype == "float32" else -37.0
    return np.concatenate([np.linspace(lo, 8.0, 6001), np.geomspace(1e-30, 1.0, 200),
                           -np.geomspace(1e-30, 1.0, 200), [0.0, 16.0, 30.0, 1e4, 3e38]])


def _worst(name, params, y, xs, dtype):
    hi, lo = R.elementwise(R.for_row(name), xs, **params)
    return float(ulp_error(y, hi, lo, dtype).max())


# -- JAX: the gate as one division, the derivative the generic body's --------------------

GATES = [("sigmoid", {}), ("silu", {}), ("gelu", {"approximate": True})]


def _generic(name, params):
    """The row's generic body on JAX's namespace, as a function of ``x``."""
    from multiact.backends import jax as jb

    body = BY_NAME[name].body
    return lambda t: body(jb.NS, t, *params.values())


@pytest.mark.backends("jax")
@pytest.mark.parametrize("name, params", GATES, ids=[g[0] for g in GATES])
def test_jax_gate_is_one_exp_and_one_division(target, name, params):
    # the formulation is a custom_jvp whose value has one exp (XLA's logistic for
    # sigmoid), one division, and at most the floor's select; the generic body's
    # sigmoid alone has two selects, gelu's a clip as well
    import jax

    x = target.asarray(np.linspace(-3, 3, 8), "float32")
    jaxpr = jax.make_jaxpr(lambda t: getattr(multiact, name)(t, **params))(x)
    text = str(jaxpr)
    assert "custom_jvp_call" in text, text
    assert text.count("select_n") <= 1 and "clamp" not in text and "max" not in text, text
    assert text.count(" exp ") + text.count(" logistic ") == 1, text
    assert text.count(" div ") <= 1, text


@pytest.mark.backends("jax")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, params", GATES, ids=[g[0] for g in GATES])
def test_jax_gate_within_the_bound_in_both_tails(target, name, params, dtype, report):
    # within the row's bound, or (where the generic body itself is not: tanh-GELU's
    # left tail moves by |2u| ulp per ulp of 2u, 130 near x = -9.5 in float32 and
    # 1280 near -21 in float64; sigmoid 2.2 ulp near -17 in float64, docs/decisions.md
    # 61) within an ulp of the generic body's error
    import jax

    from multiact._check.score import Cell

    xs = _tails(dtype).astype(dtype).astype(np.float64)
    x = target.asarray(xs, dtype)
    y = target.to_numpy(getattr(multiact, name)(x, **params))
    yg = target.to_numpy(jax.jit(_generic(name, params))(x))
    worst, generic = _worst(name, params, y, xs, dtype), _worst(name, params, yg, xs, dtype)
    bound = BY_NAME[name].bound(dtype, params)
    report(Cell(f"{name} (jax formulation, tails)", target.backend, target.device, dtype,
                xs.size, worst, bound, worst <= bound))
    assert worst <= max(bound, generic + 1.0), (name, dtype, worst, generic)


@pytest.mark.backends("jax")
@pytest.mark.parametrize("name, params", GATES, ids=[g[0] for g in GATES])
def test_jax_gate_derivatives_are_the_generic_bodys(target, name, params):
    import jax

    xs = np.concatenate([_tails("float64"), [-np.inf, np.inf, np.nan, -1e30, 1e30]])
    x = target.asarray(xs, "float64")
    f = lambda t: getattr(multiact, name)(t, **params)  # noqa: E731
    g = _generic(name, params)
    # the same up to how XLA fuses each (ulps; where a derivative crosses 0 it cancels)
    for d, rtol, atol in ((jax.grad, 1e-12, 1e-16), (lambda h: jax.grad(jax.grad(h)), 1e-9, 1e-15)):
        np.testing.assert_allclose(np.asarray(jax.vmap(d(f))(x)), np.asarray(jax.vmap(d(g))(x)),
                                   rtol=rtol, atol=atol, equal_nan=True)
    # relative accuracy of the first derivative in both tails (no s (1 - s)), away
    # from where its factors leave the normal range (XLA flushes subnormals)
    far = np.concatenate([np.linspace(-700.0, -10.0, 691), np.linspace(10.0, 700.0, 691)])
    dref = R.derivative(R.for_row(name), far, **params)
    got = np.asarray(jax.vmap(jax.grad(f))(target.asarray(far, "float64")))
    normal = np.abs(dref) > 1e-250
    assert normal.sum() > 600
    np.testing.assert_allclose(got[normal], dref[normal], rtol=1e-12, atol=0)


# -- JAX: exact GELU of half inputs by the float32 rational (decision 121) ---------------

@pytest.mark.backends("jax")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_jax_exact_gelu_of_half_inputs_on_every_value(target, dtype):
    # every finite value of |x| < 20: gelu and geglu (times b = 1) within the half
    # bound of SciPy's float64 value (the scorer's flush floor: XLA on CPU flushes
    # float32 subnormals); the gradient within 0.53 ulp of SciPy's float64 derivative
    # (rounded once, the same as the generic body's before); the second derivative
    # phi (2 - x^2) to an ulp of the dtype
    import jax
    import jax.numpy as jnp
    from _calls import exact_gelu_and_slope

    bits = np.arange(1 << 16, dtype=np.uint16)
    xs = bits.view(np.float16) if dtype == "float16" else \
        (bits.astype(np.uint32) << 16).view(np.float32)
    xs = xs[np.isfinite(xs) & (np.abs(xs) < 20)].astype(np.float64)
    x = target.asarray(xs, dtype)
    want, slope = exact_gelu_and_slope(xs)
    bound = BY_NAME["gelu"].bound(dtype, {"approximate": False})
    y = target.to_numpy(multiact.gelu(x, approximate=False))
    assert float(ulp_error(y, want, 0.0, dtype).max()) <= bound
    pairs = jnp.stack([x, jnp.ones_like(x)], axis=-1)
    yg = target.to_numpy(multiact.geglu(pairs, approximate=False))[..., 0]
    assert float(ulp_error(yg, want, 0.0, dtype).max()) <= bound
    f = lambda t: multiact.gelu(t, approximate=False).astype(jnp.float32)  # noqa: E731
    g = target.to_numpy(jax.vmap(jax.grad(f))(x))
    assert float(ulp_error(g, slope, 0.0, dtype).max()) <= 0.53  # (float16's -0.75244:
    # 0.5212, next to the derivative's root, as the generic body's)
    pts = np.array([-3.0, -0.75, -0.5, 0.0, 0.5, 2.0])
    g2 = np.asarray(jax.vmap(jax.grad(jax.grad(f)))(target.asarray(pts, dtype)))
    rtol = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}[dtype]  # (rounded to an ulp)
    np.testing.assert_allclose(g2, np.exp(-pts * pts / 2) / np.sqrt(2 * np.pi) * (2 - pts * pts),
                               rtol=rtol, atol=0)


@pytest.mark.backends("jax")
def test_jax_exact_gelu_of_half_and_float32_inputs_takes_no_generic_ndtr(target):
    # half inputs: the float32 rational; float32 ones (and integers, whose work is
    # float32 unless x64 is on) lowered for the CPU: _special.ndtr32, the one with
    # XLA's reduce_precision (decision 123); one exp each, and no expm1 or round (the
    # generic ndtr's split square).  Read from the lowered module: since decision 186
    # the jaxpr holds both platforms' forms, and lowering keeps the CPU's
    import jax

    cases = [("bfloat16", False), ("float16", False)]
    if jax.default_backend() == "cpu":
        cases.append(("float32", True))
        if not jax.config.jax_enable_x64:
            cases.append(("int32", True))
    for dtype, fit32 in cases:
        text = jax.jit(lambda t: multiact.gelu(t, approximate=False)).lower(
            target.asarray(np.linspace(-3, 3, 8), dtype)).as_text()
        assert text.count("stablehlo.exponential ") == 1, (dtype, text)
        assert "exponential_minus_one" not in text and "round_nearest" not in text, \
            (dtype, text)
        assert ("reduce_precision" in text) == fit32, (dtype, text)


# -- ndtr of float32 in float32 (decision 123) ----------------------------------------------

# the worst over every float32 of [-40, 40] on the CPU (decision 123), rounded up, per
# namespace: the CDF and exact GELU as JAX forms it from it, x * ndtr(x) rounded once
# more
# (on a GPU: conformance/test_jax.py, which the GPU runs take)
NDTR32_WORST = {"numpy": {"ndtr": 4.89, "gelu": 4.95},
                "jax": {"ndtr": 3.69, "gelu": 3.76}}


@pytest.mark.parametrize("backend", sorted(NDTR32_WORST))
def test_ndtr32_keeps_its_measured_worst(backend):
    # _special.ndtr32 on every 251st float32 of [-40, 40] against SciPy's float64 ndtr
    # (an independent formula): NumPy rounds every operation (Veltkamp's split; its
    # float32 exp 3.2-3.4 x 2^-24 off at worst), XLA contracts a multiply and an add
    # on the CPU (XLA's split), where JAX runs here whatever its default device.
    # Also +-inf, NaN and +-0.
    sp = pytest.importorskip("scipy.special")
    from multiact._agnostic import _special

    if backend == "jax":
        jax = pytest.importorskip("jax")
        from multiact.backends.jax import NS

        f = jax.jit(lambda t: _special.ndtr32(NS, t))
        cpu = jax.devices("cpu")[0]

        def run(x):
            return np.asarray(f(jax.device_put(x, cpu)))
    else:
        from multiact.backends.numpy import NS

        def run(x):
            return _special.ndtr32(NS, x)

    bits = np.arange(0, np.float32(40.0).view(np.int32), 251, dtype=np.int32)
    x = np.concatenate([-bits.view(np.float32), bits.view(np.float32)])
    cdf = run(x)
    assert cdf.dtype == np.float32
    x64 = x.astype(np.float64)
    for name, y, ref in (("ndtr", cdf, sp.ndtr(x64)), ("gelu", x * cdf, x64 * sp.ndtr(x64))):
        worst = float(ulp_error(y.astype(np.float64), ref, 0.0, "float32").max())
        assert worst <= NDTR32_WORST[backend][name], (backend, name, worst)
    special = run(np.array([-np.inf, np.inf, np.nan, 0.0, -0.0], np.float32))
    np.testing.assert_array_equal(special, [0.0, 1.0, np.nan, 0.5, 0.5])


# -- logsumexp without b: the maxima are not counted apart --------------------------------

def test_logsumexp_unit_sums_keep_the_rest_and_the_bound(target, report):
    # fm.unit_sums: S = sum(exp(a - max)) and the rest R apart, log1p(R) where
    # 1 <= S < 1.5; slices with one maximum and a tiny rest, several maxima, the
    # switch, +-inf and NaN
    from multiact._check.score import Cell

    # (well-conditioned slices: where the result cancels, m + log(S) with m near
    # -log(S), no split keeps 1 ulp)
    rows = np.array([[0.0, -40.0, -50.0, -60.0], [0.0, -20.0, -21.0, -22.0],
                     [5.0, -40.0, -50.0, -60.0], [0.0, 0.0, -40.0, -41.0],
                     [-3.0, -3.0, -50.0, -60.0], [3.0, 3.0, 3.0, 3.0],
                     [1e30, 1e30, -1e30, 0.0], [-np.inf, 0.0, -45.0, -np.inf]])
    for dtype in ("float32", "float64"):
        r = rows.astype(dtype).astype(np.float64)
        y = target.to_numpy(multiact.logsumexp(target.asarray(r, dtype), axis=-1))
        ref, _ = R.logsumexp(r)
        err = ulp_error(y, ref, 0.0, dtype)
        worst, bound = float(err.max()), BY_NAME["logsumexp"].bound(dtype)
        report(Cell("logsumexp (unit sums, small rests)", target.backend, target.device, dtype,
                    r.shape[0], worst, bound, worst <= bound))
        assert worst <= bound, (dtype, err)
    special = target.to_numpy(multiact.logsumexp(target.asarray(np.array(
        [[np.inf, 0.0], [-np.inf, -np.inf], [np.nan, 0.0], [np.inf, np.inf]]), "float32"), axis=-1))
    np.testing.assert_array_equal(special, [np.inf, -np.inf, np.nan, np.inf])


@pytest.mark.backends("jax")
def test_jax_logsumexp_sums_exp_unselected(target):
    # one of the two sums takes exp itself, with the shift's rounding added (no
    # select between them: XLA fuses the subtraction, the exponential, its
    # correction and the sum; decision 215), the other the rest; no count
    import jax

    x = target.asarray(np.linspace(-3, 3, 12).reshape(3, 4), "float32")
    eqns = jax.make_jaxpr(lambda t: multiact.logsumexp(t, axis=-1))(x).jaxpr
    inner = [e for e in eqns.eqns if e.primitive.name in ("pjit", "jit")]
    body = inner[0].params["jaxpr"].jaxpr if inner else eqns
    def name(e):  # jnp.where is a jit of select_n
        return e.params.get("name", e.primitive.name) if e.primitive.name in ("pjit", "jit") \
            else e.primitive.name

    producers = {id(v): name(e) for e in body.eqns for v in e.outvars}
    sums = [e for e in body.eqns if e.primitive.name == "reduce_sum"]
    assert len(sums) == 2, [name(e) for e in body.eqns]
    assert sorted(producers[id(e.invars[0])] for e in sums) == ["_where", "add"]


# -- NumPy: exact GELU of float32 from NumPy's own ufuncs -----------------------------------

def _no_scipy_special(monkeypatch):
    sp = pytest.importorskip("scipy.special")

    def boom(*a, **k):
        raise AssertionError("SciPy called")

    for f in ("ndtr", "erfc", "erf", "erfcx"):
        monkeypatch.setattr(sp, f, boom)


@pytest.mark.backends("numpy")
def test_numpy_exact_gelu_float32_calls_no_scipy(target, monkeypatch):
    _no_scipy_special(monkeypatch)
    rng = np.random.default_rng(3)
    for shape in [(7,), (3, 5), (70_001,), (40, 2_000)]:
        x = (rng.standard_normal(shape) * 4).astype(np.float32)
        y = multiact.gelu(x, approximate=False)
        assert y.dtype == np.float32 and y.shape == x.shape
        yt = multiact.gelu(x.T, approximate=False)  # not contiguous
        np.testing.assert_array_equal(yt, y.T)
    # the generic body's normal CDF on float32 (0-d, half precision) is the same one
    np.testing.assert_array_equal(multiact.gelu(np.float32(-3.0), approximate=False),
                                  multiact.gelu(np.array([-3.0], np.float32),
                                                approximate=False)[0])
    assert multiact.gelu(np.array([-1.0], np.float16), approximate=False).dtype == np.float16
    with pytest.raises(AssertionError, match="SciPy called"):  # float64: SciPy's erf/erfcx
        multiact.gelu(np.array([-1.0]), approximate=False)


@pytest.mark.backends("numpy")
def test_numpy_exact_gelu_float32_within_the_bound(target, report):
    from multiact._check.score import Cell

    xs = np.concatenate([_tails("float32"), np.linspace(-13.5, -12.5, 2001)])
    x32 = xs.astype(np.float32)
    big = np.concatenate([x32, np.random.default_rng(4).standard_normal(100_000).astype(
        np.float32) * 5])  # blocks, not one piece
    y = multiact.gelu(big, approximate=False)[:x32.size].astype(np.float64)
    params = {"approximate": False}
    worst, bound = _worst("gelu", params, y, x32.astype(np.float64), "float32"), \
        BY_NAME["gelu"].bound("float32", params)
    report(Cell("gelu(approximate=False) (numpy float32, NumPy ufuncs)", "numpy", "cpu",
                "float32", xs.size, worst, bound, worst <= bound))
    assert worst <= bound, worst
    special = multiact.gelu(np.array([-np.inf, np.inf, np.nan, -0.0, 3e38, -3e38], np.float32),
                            approximate=False)
    np.testing.assert_array_equal(special, np.array([0.0, np.inf, np.nan, 0.0, 3e38, 0.0],
                                                    np.float32))


@pytest.mark.backends("numpy")
def test_numpy_exact_gelu_float32_memory_and_no_warning(target):
    import tracemalloc
    import warnings

    x = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32) * 30
    x[::1000] = np.inf
    multiact.gelu(x[:10], approximate=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracemalloc.start()
        y = multiact.gelu(x, approximate=False)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak / y.nbytes <= 1.25, peak / y.nbytes


@pytest.mark.backends("numpy")
def test_numpy_exact_gelu_scratch_on_cache_lines(target):
    # float64 ufuncs over scratch that straddles cache lines ran up to twice as slowly
    from multiact.backends import numpy as nb

    tail = nb._Tail32(8192)
    for a in tail.full:
        assert a.ctypes.data % 64 == 0 and a.flags.c_contiguous
    for shape, dt in [((6, 8191), np.float64), (5, np.float32), (1, np.float64)]:
        s = nb._scratch(shape, dt)
        assert s.ctypes.data % 64 == 0 and s.dtype == dt and s.shape == np.empty(shape).shape


# -- PyTorch: selects of the bits on CPU (torch.where branches per element) --------------

def _where_cases(torch):
    g = torch.Generator().manual_seed(0)
    for dt in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        x = (torch.randn(64, 80, generator=g) * 4).to(dt)
        x[0, :6] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 1e-40])
        other = (torch.randn(64, 80, generator=g) * 4).to(dt)
        for cond in (x > 0, x > 1e30, x > -1e30, (x.abs() < 1).T.contiguous().T,
                     x.amax(-1, keepdim=True) > 9):
            for a, b in ((x, other), (x, 0.0), (0.0, x), (x, -1e4), (-0.0, x), (x, 2),
                         (x.T.contiguous().T, other[:1]), (x[0, 0], x)):
                yield cond, a, b


@pytest.mark.backends("torch")
def test_torch_where_bits_is_torch_where_to_the_bit(target):
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn

    n = 0
    for cond, a, b in _where_cases(torch):
        want = torch.where(cond, a, b)
        got = tn._where_bits(tn.NS, cond, a, b)
        assert got.dtype == want.dtype and got.shape == want.shape
        bits = tn._BITS[want.dtype]
        assert torch.equal(got.view(bits), want.view(bits)), (cond.shape, type(a), type(b))
        n += 1
    assert n == 4 * 5 * 8


@pytest.mark.backends("torch")
def test_torch_where_bits_runs_where_it_should_and_only_there(target):
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode
    from multiact.backends import _torch_native as tn

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.add(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    x = torch.randn(20_000) * 3  # (below the CPU tier's least floor)
    seen: set = set()
    with Ops():
        y = multiact.sparse_plus(x)  # below the tier: the element-wise framework path
    assert "where" not in seen and "bitwise_and" in seen
    xm = x.clamp(-1.0, 1.0)
    want = torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (xm + 1.0) * (xm + 1.0) * 0.25))
    torch.testing.assert_close(y, want, rtol=0, atol=0)
    # a gradient to record, a small tensor, CUDA-less others: torch.where itself
    xg = x.clone().requires_grad_()
    for args in [(x > 0, xg, 0.0), (x[:100] > 0, x[:100], 0.0)]:
        seen.clear()
        with Ops():
            tn._where_bits(tn.NS, *args)
        assert "where" in seen
    y = multiact.sparse_plus(xg)
    y.sum().backward()
    torch.testing.assert_close(xg.grad, torch.where(x <= -1, 0.0, torch.where(x >= 1, 1.0,
                                                                           (xm + 1.0) * 0.5)),
                               rtol=0, atol=0)
    # the softmax family's namespace keeps torch.where (its selects guard rare entries)
    assert getattr(tn.NS.where, "func", None) is not tn._where_bits


@pytest.mark.backends("torch")
def test_torch_where_bits_edges(target):
    # a default device, a view with the negative bit, an empty condition that
    # broadcasts: torch.where's answers (found in review)
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn

    x = torch.randn(5000)
    with torch.device("meta"):
        assert multiact.relu2(-x.abs()).device.type == "cpu"  # the uniform shortcut
        assert multiact.relu2(x).device.type == "cpu"  # caches its 0-d operand
    torch.testing.assert_close(multiact.relu2(-x.abs()), torch.zeros(5000), rtol=0, atol=0)
    xn = torch.randn(8192, dtype=torch.complex64).conj().imag
    assert xn.is_neg()
    torch.testing.assert_close(multiact.relu2(xn), torch.relu(xn.resolve_neg()) ** 2,
                               rtol=0, atol=0)
    assert tn._where_bits(tn.NS, torch.zeros(0, 1, dtype=torch.bool), torch.randn(1, 5000),
                          0.0).shape == (0, 5000)


@pytest.mark.backends("torch")
def test_torch_native_prelu_threshold_are_the_generic_bodies(target):
    # torch's leaky_relu / threshold serve Python-number parameters: the generic
    # bodies' values to the bit, and parameters beyond the dtype's range (which torch
    # refuses: float16's 1e5) go to the generic body, computed in float32; beyond
    # float32's (1e39), a ValueError (decision 125), but for float64
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn

    x = torch.randn(8192, dtype=torch.float64) * 3
    x[:5] = torch.tensor([0.0, -0.0, float("nan"), float("inf"), -float("inf")])
    for dt in (torch.float32, torch.float64, torch.float16):
        xd = x.to(dt)
        for w in (0.25, -2.5, 0, -0.0, 3, 1e5, 1e39):
            if w == 1e39 and dt != torch.float64:
                with pytest.raises(ValueError, match=r"^multiact\.prelu: argument 'weight' "
                                                     r"must be within float32's range"):
                    multiact.prelu(xd, w)
                continue
            want = BY_NAME["prelu"].body(tn.NS, xd, w)
            got = multiact.prelu(xd, w)
            assert torch.equal(got.view(tn._BITS[dt])[5:], want.view(tn._BITS[dt])[5:]) and \
                torch.equal(got.isnan(), want.isnan()), (dt, w)
    xh = x.half()
    for t, v in ((0.5, -1.0), (-1, 2), (1e5, 0.0), (0.0, -1e5)):
        # x <= t ? v : x, computed in float32 and rounded once (1e5: float16's inf)
        xw = xh.float()
        want = torch.where(xw <= torch.tensor(t, dtype=torch.float32),
                           torch.tensor(v, dtype=torch.float32), xw).half()
        torch.testing.assert_close(multiact.threshold(xh, t, v), want, rtol=0, atol=0,
                                   equal_nan=True)
    with pytest.raises(ValueError, match=r"^multiact\.threshold: argument 'threshold' must be "
                                         r"within float32's range"):
        multiact.threshold(x.float(), 1e39, 0.0)


@pytest.mark.backends("torch")
def test_torch_prelu_weight_tensor_is_torchs_prelu_with_the_bodys_values(target):
    # a 1-d weight tensor takes torch.prelu (one kernel, not the body's four ops): the
    # body's values and input gradient to the bit (NaN's payload aside), the weight's
    # gradient to within the sum's order, a weight of another dtype cast as the body
    # casts it; a 1-d x with a weight per entry (torch's channel axis is 1), a half x
    # with a wider weight (the body works in float32) and a half x whose weight is
    # trained (torch rounds each product of its gradient's sum) keep the body
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn
    from multiact.backends import torch as tb

    body = BY_NAME["prelu"].body
    special = torch.tensor([0.0, -0.0, float("nan"), float("inf"), -float("inf"), 1e-40,
                            -1e-40, 3.0, -3.0])
    calls = []
    real = tn._prelu
    for dt in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        for shape, n in (((2, 9), 9), ((2, 9, 3), 1), ((9,), 1), ((9,), 9), ((3, 9, 2, 2), 9)):
            x = (torch.randn(shape, dtype=torch.float64) * 10).to(dt)
            x.view(-1)[:9] = special.to(dt)
            for wdt in {dt, torch.float64}:
                w = torch.randn(n, dtype=wdt)
                xa, wa = x.clone().requires_grad_(), w.clone().requires_grad_()
                xb, wb = x.clone().requires_grad_(), w.clone().requires_grad_()
                with mock.patch.object(tb, "_prelu",
                                       side_effect=lambda *a: calls.append(1) or real(*a)):
                    del calls[:]
                    got = multiact.prelu(xa, wa)
                native = bool(calls)
                assert native == ((len(shape) > 1 or n == 1) and dt in tn._WIDE)
                with torch.no_grad():
                    del calls[:]
                    with mock.patch.object(tb, "_prelu",
                                           side_effect=lambda *a: calls.append(1) or real(*a)):
                        assert torch.equal(multiact.prelu(x, w).isnan(), got.isnan())
                    assert bool(calls) == ((len(shape) > 1 or n == 1)
                                           and (wdt == dt or dt in tn._WIDE))
                want = body(tn.NS, xb, wb)
                assert got.dtype == want.dtype == dt and got.shape == want.shape
                assert torch.equal(got.isnan(), want.isnan())
                assert torch.equal(got.nan_to_num(0).view(tn._BITS[dt]),
                                   want.nan_to_num(0).view(tn._BITS[dt])), (dt, shape, wdt)
                g = torch.randn(shape, dtype=torch.float64).to(dt)
                got.backward(g)
                want.backward(g)
                assert torch.equal(xa.grad.view(tn._BITS[dt]), xb.grad.view(tn._BITS[dt]))
                assert wa.grad.dtype == wdt
                ok = ~(wa.grad.isnan() | wb.grad.isnan())
                torch.testing.assert_close(wa.grad[ok], wb.grad[ok], rtol=1e-12, atol=1e-4)
                assert torch.equal(wa.grad.isnan(), wb.grad.isnan())
    x, w = torch.randn(3, 8), torch.full((8,), 0.25)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # (torch.prelu's would be bfloat16)
        assert multiact.prelu(x, w).dtype == torch.float32
        assert torch.equal(multiact.prelu(x, w), body(tn.NS, x, w))
    x = torch.randn(5, 3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.rand(4, dtype=torch.float64, requires_grad=True)
    f = lambda x, w: multiact.prelu(x.transpose(1, 2), w)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x, w)) and torch.autograd.gradgradcheck(f, (x, w))


@pytest.mark.backends("numpy")
@pytest.mark.parametrize("keeps", [True, False])
def test_numpy_exact_gelu_of_float32_keeps_the_sign_of_zero(target, keeps, monkeypatch):
    # gelu(x) has x's sign: -0.0 for -0.0 and -inf, as float64 and the other
    # backends give (the float32 chain's relu(x) - a Phi(-a) gave +0.0 for both);
    # blocks with and without an infinity (the tail's cap) take different steps, and
    # where np.maximum would not keep -0.0 (keeps=False) every block copies the sign
    from multiact.backends import numpy as nb

    if keeps and not nb._MAX_KEEPS_SECOND_ZERO:
        pytest.skip("this NumPy's maximum does not return its second zero")
    monkeypatch.setattr(nb, "_MAX_KEEPS_SECOND_ZERO", keeps)
    for x in ([-0.0, 0.0, -1.0, 2.0], [-np.inf, -0.0, 0.0, np.inf, -1.0]):
        x32 = np.array(x * 3000, np.float32)
        y = multiact.gelu(x32, approximate=False)
        want = multiact.gelu(x32.astype(np.float64), approximate=False).astype(np.float32)
        np.testing.assert_array_equal(np.signbit(y), np.signbit(want))
        np.testing.assert_array_equal(np.signbit(y[:len(x)]), np.signbit(np.array(x)))
        np.testing.assert_array_equal(y, want)  # (every value: exact at these points)


@pytest.mark.backends("torch")
@pytest.mark.parametrize("rows", [64, 32])
def test_torch_eager_logsumexp_is_the_split_sum(target, rows):
    # every slice's maxima counted and its rest summed apart (decision 214): values
    # are the generic body's (fm.unit_sums, fm.log_abs) to within the summation
    # order, on small and large tensors
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn

    g = torch.Generator().manual_seed(5)
    x = torch.randn(rows, 300, generator=g, dtype=torch.float64) * 3
    x[::3, 7] += 40.0  # a third of the rows: one dominant entry, S < 1.5
    x[1, :2] = 50.0    # a tied maximum: S >= 2
    x[2, 5:] = -torch.inf  # -inf entries: terms of 0
    for dim in (1, 0):
        m = x.amax(dim, keepdim=True)
        got = m + tn._lse(x, dim, m)
        want = BY_NAME["logsumexp"].body(tn.NS, x, (dim,), keepdims=True)
        torch.testing.assert_close(got, want, rtol=2 ** -52, atol=0)
    got = tn._lse(torch.tensor([[0.0, -40.0]], dtype=torch.float64), 1,
                  torch.tensor([[0.0]], dtype=torch.float64))
    assert float(got) == pytest.approx(4.248354255291589e-18, rel=1e-15)


@pytest.mark.backends("torch")
@pytest.mark.parametrize("reps", [1, 20])
def test_torch_eager_logsumexp_sums_a_split_slice_in_float64(target, reps):
    # decision 214: a slice near 0 is split, its maxima counted and its rest summed
    # apart, in float64: torch.sum of the rest in float32 lost the terms below half an
    # ulp of the rest's own partial sums ([0, -0.6] + [-16.2] * 3000: 14.9 ulp, the
    # bound 12).  One row (the small path) and twenty (the gather), forward and the
    # CPU training Function's
    torch = pytest.importorskip("torch")
    from multiact._check import reference as R
    from multiact._check.score import round_to, shift_scaled_error

    for d, n in ((-16.2, 3000), (-16.4, 1000)):
        data = round_to(np.array([[0.0, -0.6] + [d] * n]), "float32")
        want = R.logsumexp(data)[0]
        x = torch.tensor(np.tile(data, (reps, 1)), dtype=torch.float32)
        for t in (x, x.clone().requires_grad_()):
            y = multiact.logsumexp(t, axis=-1).detach()[:1].double().numpy()
            err = float(shift_scaled_error(y, want, data, "float32")[0])
            assert err <= BY_NAME["logsumexp"].bound("float32"), (d, n, t.requires_grad, err)


@pytest.mark.backends("torch")
def test_torch_tanh_shrink_in_place_is_the_generic_body_to_the_bit(target):
    # the eager forward writes the generic body's continued fraction again, in place:
    # it must give the same bits (every value of a dense sample, and the special ones)
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn

    for dt in (torch.float32, torch.float64):
        x = torch.cat([torch.linspace(-3, 3, 20001, dtype=dt),
                       torch.randn(20000, generator=torch.Generator().manual_seed(2),
                                   dtype=dt) * 4,
                       torch.tensor([0.0, -0.0, 1.0, -1.0, float("nan"), float("inf"),
                                     -float("inf"), 1e-30, -1e-300], dtype=dt)])
        got, want = tn._tanh_shrink_fwd(x), BY_NAME["tanh_shrink"].body(tn.NS, x)
        bits = tn._BITS[dt]
        assert torch.equal(got.view(bits), want.view(bits)), dt
        before = x.clone()
        tn._tanh_shrink_fwd(x)
        assert torch.equal(x.view(bits), before.view(bits))  # the input is not written


@pytest.mark.backends("torch")
@pytest.mark.parametrize("name, new", [("silu", 1), ("quick_gelu", 1), ("sigmoid", 1)])
def test_torch_eager_backward_makes_no_tensor_more_with_the_same_bits(target, name, new):
    # decision 203: the framework paths' backwards of silu, quick_gelu and sigmoid
    # write their result into a tensor they made (every new 1e7-element tensor
    # costs its page faults: silu's clamp; sigmoid's, since decision 217, |qs|
    # alone), and give the bits of the out-of-place form;
    # where g may not be written into (a graph recorded, another dtype, a batched
    # g under vmap) they take the out-of-place form
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode

    from multiact._agnostic import _formulas as fm
    from multiact.backends import _torch_native as tn

    gen = torch.Generator().manual_seed(5)
    special = [0.0, -0.0, 1e-30, -1e-30, 17.0, -17.0, 90.0, -90.0, 1e4, -1e4, 3e38,
               -3e38, float("inf"), -float("inf"), float("nan")]
    x = torch.cat([torch.randn(tn._INTO_BYTES // 4, generator=gen) * 6,
                   torch.tensor(special)])
    g = torch.randn(x.shape, generator=gen)
    g[::7] = float("inf")  # inf * 0 where the derivative is 0: NaN either way
    silu_b = torch.ops.aten.silu_backward
    if name == "sigmoid":
        qs = tn._sigmoid_pair(x)[1]
        run = lambda gg: tn._sigmoid_bwd(qs, gg)  # noqa: E731
        q = qs.abs()
        # (q (1 - q) as q - q^2 out of place: decision 217; one new tensor, |qs|)
        slope = torch.addcmul(q, q, q, value=-1.0)
        old = lambda gg: gg * slope  # noqa: E731
    else:
        bwd = {"silu": tn._silu_bwd, "quick_gelu": tn._quick_gelu_bwd}[name]
        run = lambda gg: bwd(x, gg)  # noqa: E731
        u = (x.clamp(fm.SILU_FLOOR, tn._finite_max(x)) if name == "silu" else
             x.clamp(-fm.GELU_LIM, fm.GELU_LIM) * fm.QUICK_GELU_SCALE)
        old = lambda gg: silu_b(gg, u)  # noqa: E731

    def same_bits(a, b):
        nan = torch.isnan(b)
        ints = {torch.float32: torch.int32, torch.float64: torch.int64}[b.dtype]
        return (a.dtype == b.dtype and torch.equal(torch.isnan(a), nan)
                and torch.equal(a[~nan].view(ints), b[~nan].view(ints)))

    made = []

    class New(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            writes = func._schema.name.endswith("_") or any(
                a.alias_info is not None and a.alias_info.is_write
                for a in func._schema.arguments)
            out = func(*args, **(kwargs or {}))
            if not writes and isinstance(out, torch.Tensor) and out.numel() == x.numel():
                made.append(str(func))  # (a constant's 0-d tensor is not counted)
            return out

    x_before, g_before = x.clone(), g.clone()
    with New(), torch.no_grad():  # (a backward runs with grad mode off)
        got = run(g)
    assert len(made) == new, made
    assert same_bits(got, old(g))
    assert torch.equal(x.view(torch.int32), x_before.view(torch.int32))  # not written
    assert torch.equal(g, g_before)
    # the out-of-place form where g may not be written into: another dtype, a graph
    # recorded (create_graph), a batched g (vmap)
    with torch.no_grad():
        assert same_bits(run(g.double()), old(g.double()))
        batched = torch.func.vmap(run)(torch.stack([g, 2 * g]))
        # (autograd's is_grads_batched: the old vmap, whose batched g is a plain type)
        legacy = torch._vmap_internals._vmap(run)(torch.stack([g, 2 * g]))
    with torch.enable_grad():
        y = run(g.clone().requires_grad_())
        assert y.requires_grad and same_bits(y.detach(), old(g))
    # (a few ulp: ATen's vector loop and its scalar tail round silu_backward apart,
    # and a batched call splits the loop elsewhere; the code before did the same)
    for b, gg in zip(batched, (g, 2 * g)):
        torch.testing.assert_close(b, old(gg), rtol=1e-6, atol=0, equal_nan=True)
    assert same_bits(legacy[0], old(g)) and same_bits(legacy[1], old(2 * g))
    assert torch.equal(g, g_before)
    # and through the public function's backward (the framework path below the tier)
    from multiact import kernels

    prev = kernels.set_mode("framework")
    try:
        xr = x[:1000].clone().requires_grad_()
        gb = torch.stack([g[:1000], -g[:1000]])
        (jac,) = torch.autograd.grad(getattr(multiact, name)(xr), xr, gb,
                                     is_grads_batched=True)
        each = [torch.autograd.grad(getattr(multiact, name)(xr), xr, gg)[0] for gg in gb]
        assert all(same_bits(j, e) for j, e in zip(jac, each))
    finally:
        kernels.set_mode(prev)


@pytest.mark.backends("torch")
@pytest.mark.parametrize("name, eager", [("quick_gelu", "_quick_gelu_eager"),
                                         ("relu2", "_relu2_fwd")])
def test_torch_own_forward_is_the_generic_body_to_the_bit(target, name, eager):
    # decision 100: quick_gelu's eager forward's three passes (half tensors through
    # float32) claim the generic body's values to the bit, the body's gate being the
    # backend's own sigmoid (_NS_GATES, as the body's calls below the tier run it);
    # decision 105: relu2's two passes too (a half tensor's square in its own dtype)
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn
    from multiact.backends import torch as tb

    for dt in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        big = torch.finfo(dt).max
        x = torch.cat([torch.linspace(-12, 12, 20001, dtype=torch.float64),
                       torch.randn(20000, generator=torch.Generator().manual_seed(3),
                                   dtype=torch.float64) * 6,
                       torch.tensor([0.0, -0.0, 1.0, -1.0, float("nan"), float("inf"),
                                     -float("inf"), 1e-30, -1e-30, -1e4, 1e4, -1e5, 1e5,
                                     -60.0, 60.0, -big, big])]).to(dt)
        before = x.clone()
        got = getattr(tb, eager)(x)
        want = BY_NAME[name].body(tb._NS_GATES, x)
        bits = tn._BITS[dt]
        assert got.dtype == dt
        nan = want.isnan()
        assert torch.equal(got.isnan(), nan), dt  # (a NaN's payload and sign may differ)
        assert torch.equal(got[~nan].view(bits), want[~nan].view(bits)), dt
        assert torch.equal(x.view(bits), before.view(bits))  # the input is not written


@pytest.mark.backends("torch")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_standardize_centred_layer_norm_within_the_bound_and_its_limits(
        target, dtype, monkeypatch, request):
    # decision 88: the framework path of unmasked standardize over trailing axes
    # (the data's own moments) of a float32/float64 CPU tensor is x - mean(x) times
    # the rstd of torch's layer norm of it: within the bound on rows of 7 and 3000
    # entries (normal, offset by 1e4 and 10, heavy-tailed with a mean, skewed, and
    # sorted evenly spaced rows with a mean, where the layer norm of x itself is 4.5
    # units over: decision 87), and of 65537 with an entry far out last, against
    # mpmath; its slices with non-finite moments (an inf, a NaN, a variance
    # that overflows) are the generic body's, to the bit; epsilon 0 on a constant
    # slice is the generic body's.  Masks, given moments, other axes and half types
    # do not take it
    torch = pytest.importorskip("torch")
    from multiact import kernels
    from multiact._check.score import round_to, scaled_error, standardize_scale
    from multiact.backends import _torch_native as tn

    seen = []
    real = torch.native_layer_norm
    monkeypatch.setattr(torch, "native_layer_norm",
                        lambda *a: seen.append(a[1]) or real(*a))
    prev = kernels.set_mode("framework")  # (the fused mode takes the row kernel)
    request.addfinalizer(lambda: kernels.set_mode(prev))
    rng = np.random.default_rng(11)
    dt = getattr(torch, dtype)
    for n in (7, 3000, 65537):
        z = rng.standard_normal((5, n))
        data = round_to(np.vstack([z[0], z[1] * 1e-3 + 1e4, rng.standard_t(3, n) * 3 + 2000,
                                   z[3] * 0.05 + 10, rng.exponential(1.0, n) * 100,
                                   np.linspace(15.8, 16.3, n), np.linspace(7.3, 9.3, n)]),
                        dtype) if n < 65537 else round_to(np.vstack([
                            np.r_[np.zeros(n - 1), 1.0], np.r_[np.sin(np.arange(n - 1)), 3e4]]),
                            dtype)  # far out last (the layer norm's own output: 3-10 units)
        seen.clear()
        y = multiact.standardize(torch.tensor(data, dtype=dt)).double().numpy()
        assert seen == [(n,)]  # (once: the whole call)
        ref = R.standardize(data)
        err = scaled_error(y, ref, standardize_scale(data, ref), dtype)
        assert float(err.max()) <= BY_NAME["standardize"].bound(dtype), float(err.max())
    big = 1e30 if dtype == "float32" else 1e300
    odd = torch.tensor([[1.0, math.inf, 2.0], [1.0, -math.inf, 2.0], [1.0, math.nan, 2.0],
                        [big, -big, 3 * big], [1.0, 2.0, 4.0]], dtype=dt)
    for rows in ([0], [1], [2], [3], [0, 4], [3, 4]):
        x = odd[rows]
        want = BY_NAME["standardize"].body(tn.NS, x, (1,))
        got = multiact.standardize(x)
        assert torch.equal(got.isnan(), want.isnan()), rows
        assert torch.equal(got.nan_to_num(), want.nan_to_num()), rows
    for c in (torch.full((2, 5), 0.1, dtype=dt), torch.full((2, 3), 0.1, dtype=dt)):
        want = BY_NAME["standardize"].body(tn.NS, c, (1,), None, None, 0.0)
        got = multiact.standardize(c, epsilon=0.0)  # (non-finite: rstd is inf)
        assert torch.equal(got.isnan(), want.isnan()) and not got.isfinite().any()
        assert torch.equal(got.nan_to_num(), want.nan_to_num())
    # two trailing axes (layer norm's normalized_shape), and a leading one (not)
    x = torch.tensor(rng.standard_normal((3, 4, 50)) * 2 + 5, dtype=dt)
    seen.clear()
    torch.testing.assert_close(multiact.standardize(x, axis=(-2, -1)),
                               BY_NAME["standardize"].body(tn.NS, x, (1, 2)),
                               rtol=0, atol=8 * torch.finfo(dt).eps)
    assert seen == [(4, 50)]
    seen.clear()
    multiact.standardize(x, axis=0)
    multiact.standardize(x, where=x > 5)
    multiact.standardize(x, mean=5.0)
    multiact.standardize(x.to(torch.bfloat16))
    assert not seen
    assert multiact.standardize(torch.full((1, 8), 1e8, dtype=torch.bfloat16)).eq(0).all()


@pytest.mark.backends("torch")
def test_torch_glu_inference_is_torchs_and_training_keeps_its_own_backward(target):
    # decision 89: CPU inference is torch's glu, to the bit, in every float dtype and
    # along any axis; training never takes torch's backward (s (1 - s) is 0 in
    # float32 for b > 16.6): above the tier its pair's forward is torch's glu
    # (_glu_rows), its backward compiled
    torch = pytest.importorskip("torch")
    import mpmath as mp

    from multiact import kernels
    from multiact.backends import _torch_native as tn
    from multiact.kernels._tier import TIER

    x = torch.randn(64, 10, dtype=torch.float64) * 8
    for dt in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        for axis in (-1, 0):
            xd = x.to(dt)
            assert torch.equal(multiact.glu(xd, axis=axis), torch.nn.functional.glu(xd, axis))
    a, b = 2.0, 20.0
    want = float(mp.mpf(a) / (1 + mp.exp(-b)) / (1 + mp.exp(b)))  # a s(b) s(-b)

    def grad_b():
        xr = torch.tensor([a, a, b, b] * 64, dtype=torch.float32).view(64, 4)
        y = multiact.glu(xr.requires_grad_(True))
        y.sum().backward()
        return y.grad_fn.next_functions[0][0], float(
            ((xr.grad[:, 2:].double() - want) / want).abs().max())

    fn, err = grad_b()  # the framework path: its own Function (_GATED_PAIRS)
    assert type(fn).__name__ == "_KernelGatedBackward" and err < 4e-7
    # its products in an order where neither a huge a nor a tiny g over- or
    # underflows a partial product (the gradient a normal float32)
    for a_, b_, g_ in ((1e20, 60.0, 1e-20), (3.4e38, 0.0, 3.0), (1e30, 80.0, 1.0),
                       (1e30, -80.0, 1e10)):
        xr = torch.tensor([[a_, b_]], requires_grad=True)
        multiact.glu(xr).backward(torch.tensor([[g_]]))
        s_, q_ = 1 / (1 + mp.exp(-b_)), 1 / (1 + mp.exp(b_))
        torch.testing.assert_close(xr.grad.double(), torch.tensor(
            [[float(g_ * s_), float(mp.mpf(g_) * a_ * s_ * q_)]], dtype=torch.float64),
            rtol=2.0**-22, atol=0)
    if os.environ.get("TRITON_INTERPRET") == "1":
        return  # (the fused mode's CPU route is then Triton's)
    prev = kernels.set_mode("fused")
    try:
        # the tier's pair (the slot test_kernels_gated's shapes take)
        assert grad_b()[1] < 4e-7
    finally:
        kernels.set_mode(prev)
    pairs = [s for k, s in list(TIER.slots.items()) if k[0] == "gated-train" and k[2] == "glu"
             and s.kernel is not None]
    assert pairs and all(s.kernel.fwd is tn._glu_rows for s in pairs)



@pytest.mark.backends("torch")
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_torch_softmax_family_under_compile_takes_the_operators(target, name):
    # decision 111: in a torch.compile graph that records a gradient (CPU, a plain
    # tensor), softmax and log_softmax are multiact's operators: the generic body's
    # bits forward, torch's backward formula from the output (no operator call left
    # for Inductor), every order right under backend="eager", and the eager path's
    # gradient on the slices with infinite entries (softmax: 0 where one holds +inf)
    torch = pytest.importorskip("torch")
    import math
    import torch._dynamo
    from torch._dynamo.backends.common import aot_autograd
    from torch._functorch.aot_autograd import make_boxed_func
    from multiact.backends import _torch_native as tn
    from multiact._agnostic import reductions as Rd

    inf = math.inf
    gen = torch.Generator().manual_seed(111)  # (the same draws every run)
    special = torch.tensor([[inf, 0.0, 1.0, 2.0], [-inf] * 4, [inf, inf, 0.0, -1.0],
                            [-inf, 0.0, 1.0, 2.0], [1e30, -1e30, 0.0, 3.0],
                            [-60.0, 0.0, 1e-8, 1.0]])
    x64 = torch.cat([torch.randn(58, 4, dtype=torch.float64, generator=gen) * 8, special.double()])
    g64 = torch.randn(64, 4, dtype=torch.float64, generator=gen)

    fn, body_of = getattr(multiact, name), getattr(Rd, name)

    def lsm(t):
        return fn(t, axis=-1)

    def vjp(y, g):  # float64, with the terms' size for the tolerance (it cancels)
        if name == "log_softmax":
            e, s = y.exp(), g.sum(1, keepdim=True)
            return g - e * s, g.abs() + e * g.abs().sum(1, keepdim=True)
        gy = g * y
        return gy - y * gy.sum(1, keepdim=True), gy.abs() + y * gy.abs().sum(1, keepdim=True)

    for dt in (torch.float32, torch.bfloat16):
        x, g = x64.to(dt), g64.to(dt)
        xe = x.clone().requires_grad_(True)
        (ge,) = torch.autograd.grad(lsm(xe), xe, g)  # the eager path's gradient
        for backend in ("aot_eager", "eager"):
            torch._dynamo.reset()
            xr = x.clone().requires_grad_(True)
            y = torch.compile(lsm, fullgraph=True, backend=backend)(xr)
            (gx,) = torch.autograd.grad(y, xr, g)
            body = body_of(tn.NS, x, (1,), None, None)
            assert torch.equal(y.detach(), body), (dt, backend)
            want, size = vjp(body.double(), g.double())
            if name == "softmax":  # (0 on the slices that hold +inf: the limit's)
                want = want.masked_fill((x == inf).any(1, keepdim=True), 0.0)
            tol = 4 * torch.finfo(dt).eps * size
            assert ((gx.double() - want).abs() <= tol).all(), (dt, backend)
            assert ((gx.double() - ge.double()).abs() <= 2 * tol).all(), (dt, backend)
    graphs = []

    def keep(gm, example_inputs):
        graphs.append(gm)
        return make_boxed_func(gm)

    torch._dynamo.reset()
    xr = x64.float().requires_grad_(True)
    torch.compile(lsm, fullgraph=True, backend=aot_autograd(
        fw_compiler=keep, bw_compiler=keep))(xr).backward(g64.float())
    targets = {str(n.target) for gm in graphs for n in gm.graph.nodes}
    assert len(graphs) == 2 and not any("multiact" in t for t in targets), targets
    for shape, axis in (((0, 3), 0), ((3, 0), 0), ((3, 0), -1), ((0,), 0)):
        for backend in ("aot_eager", "eager"):  # (empty: the body, as eager)
            torch._dynamo.reset()
            xe = torch.empty(shape, requires_grad=True)
            y = torch.compile(lambda t: fn(t, axis=axis), fullgraph=True, backend=backend)(xe)
            assert y.shape == xe.shape, (shape, backend)
    dynamo = []  # (the operator in Dynamo's graph: else the body's autograd was tested)
    torch._dynamo.reset()
    torch.compile(lsm, fullgraph=True, backend=lambda gm, ex: dynamo.append(gm) or gm)(xr)
    assert f"multiact.{name}.default" in {str(n.target) for n in dynamo[0].graph.nodes}
    # second and third order under backend="eager", against autograd of the float64 body
    t = torch.randn(5, 6, dtype=torch.float64, generator=gen) * 3
    w = torch.randn(5, 6, dtype=torch.float64, generator=gen)

    def loss(u, f):
        return (f(u) * w).square().sum()

    td = t.clone().requires_grad_(True)
    with torch.enable_grad():
        (r1,) = torch.autograd.grad(loss(td, lambda u: body_of(tn.NS, u, (1,), None, None)),
                                    td, create_graph=True)
        (r2,) = torch.autograd.grad((r1 * w).sum(), td, create_graph=True)  # (a plain sum
        (r3,) = torch.autograd.grad((r2 * w).sum(), td)  # of a row's is 0: shift invariance)
    torch._dynamo.reset()
    f = torch.compile(lambda u: loss(u, lsm), fullgraph=True, backend="eager")
    tc = t.float().requires_grad_(True)
    (c1,) = torch.autograd.grad(f(tc), tc, create_graph=True)
    (c2,) = torch.autograd.grad((c1 * w.float()).sum(), tc, create_graph=True)
    (c3,) = torch.autograd.grad((c2 * w.float()).sum(), tc)
    for c, r in ((c1, r1), (c2, r2), (c3, r3)):
        torch.testing.assert_close(c.double(), r, rtol=2e-5,
                                   atol=2e-5 * float(r.detach().abs().max()))


def _graph_targets(torch, f, x, named=False):
    """The targets of Dynamo's graph of ``f(x)`` (``fullgraph``): which operators a
    compiled graph calls before AOTAutograd decomposes them (``named``: with their
    string arguments, ``"multiact.elementwise.default(sigmoid)"``)."""
    import torch._dynamo

    graphs = []
    torch._dynamo.reset()
    torch.compile(f, fullgraph=True, backend=lambda gm, ex: graphs.append(gm) or gm)(x)
    return {str(n.target) + (f"({','.join(a for a in n.args if isinstance(a, str))})"
                             if named else "")
            for gm in graphs for n in gm.graph.nodes}


def _compiled_runs(torch, f, x, g, backends=("aot_eager", "eager")):
    """``(backend, y, gx, ge)`` for each backend: ``f(x)`` compiled (``fullgraph``) and
    its gradient ``gx`` for the cotangent ``g``, and ``ge``, the eager path's gradient."""
    import torch._dynamo

    xe = x.clone().requires_grad_(True)
    (ge,) = torch.autograd.grad(f(xe), xe, g)
    for backend in backends:
        torch._dynamo.reset()
        xr = x.clone().requires_grad_(True)
        y = torch.compile(f, fullgraph=True, backend=backend)(xr)
        (gx,) = torch.autograd.grad(y, xr, g)
        yield backend, y.detach(), gx, ge


def _no_operator_left(torch, f, x):
    """Compile ``f`` by AOTAutograd (forward and backward graphs kept), run ``f(x)``
    and its backward: both graphs, and no multiact operator left in them (each
    decomposed into its formula's ops, which Inductor would fuse)."""
    import torch._dynamo
    from torch._dynamo.backends.common import aot_autograd
    from torch._functorch.aot_autograd import make_boxed_func

    graphs = []

    def keep(gm, example_inputs):
        graphs.append(gm)
        return make_boxed_func(gm)

    torch._dynamo.reset()
    torch.compile(f, fullgraph=True, backend=aot_autograd(fw_compiler=keep, bw_compiler=keep))(
        x.clone().requires_grad_(True)).sum().backward()
    targets = {str(n.target) for gm in graphs for n in gm.graph.nodes}
    assert len(graphs) == 2 and not any("multiact" in t for t in targets), targets


def _orders_agree(torch, body, fn, t, w, v, *, dtype=None, orders=3, rtol=1e-12,
                  square=True):
    """The first ``orders`` derivatives of ``sum((f(u) w)^2)`` (``square``; else of
    ``sum(f(u) w)``), each next one of ``sum(d v)``: by autograd of the float64
    generic ``body`` and of ``fn`` compiled with ``backend="eager"`` on ``t`` in
    ``dtype``, which agree to ``rtol`` of each order's largest.  An order with no graph
    left (a piecewise polynomial's) is 0."""
    import torch._dynamo

    def derivs(f, u, wv, vv):
        u = u.clone().requires_grad_(True)
        y = f(u) * wv
        d, out = (y.square() if square else y).sum(), []
        for k in range(orders):
            dk = torch.autograd.grad(d, u, create_graph=k < orders - 1)[0] \
                if d.requires_grad else torch.zeros_like(u)
            out.append(dk)
            d = (dk * vv).sum()
        return out

    with torch.enable_grad():
        want = derivs(body, t, w, v)
    dt = dtype or t.dtype
    torch._dynamo.reset()
    got = derivs(torch.compile(fn, fullgraph=True, backend="eager"), t.to(dt), w.to(dt),
                 v.to(dt))
    for c, r in zip(got, want):
        torch.testing.assert_close(c.double(), r.detach(), rtol=rtol,
                                   atol=rtol * float(r.detach().abs().max()))


@pytest.mark.backends("torch")
def test_torch_elementwise_under_compile_takes_the_operators(target):
    # decision 115: in a torch.compile graph that records a gradient (CPU, a plain float
    # tensor), the element-wise functions so routed are multiact::elementwise, the CPU
    # kernels' own formulas (kernels.own) forward and backward: their bits, no
    # operator call left for Inductor, every order right under backend="eager"
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from multiact.backends import _torch_autograd as ta
    from multiact.backends import _torch_native as tn

    probe = torch.randn(8, requires_grad=True)
    routed = [info.name for info in multiact._table.TABLE if info.elementwise
              and not info.params and f"multiact.elementwise.default({info.name})" in
              _graph_targets(torch, getattr(multiact, info.name), probe, named=True)]
    assert {"sigmoid", "silu", "quick_gelu"} <= set(routed), routed
    x64 = torch.cat([torch.linspace(-30, 30, 2001, dtype=torch.float64),
                     torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 1e30, -1e30,
                                   3.0, -3.0, 1e-30])])
    gen = torch.Generator().manual_seed(115)
    g64 = torch.randn(x64.numel(), dtype=torch.float64, generator=gen)

    def bits(a, b):
        nan = a.isnan()
        return torch.equal(nan, b.isnan()) and torch.equal(
            a[~nan].view(tn._BITS[a.dtype]), b[~nan].view(tn._BITS[b.dtype]))

    for name in routed:
        fn = getattr(multiact, name)
        for dt in (torch.float32, torch.bfloat16):
            x, g = x64.to(dt), g64.to(dt)
            xw, gw = x.float(), g.float()  # (a half tensor's in float32, rounded once)
            fwd, bwd = ta._graph_formulas(name)  # (the eager Function's, or sigmoid's pair)
            want_y, want_g = fwd(xw).to(dt), bwd(xw, gw).to(dt)
            for backend, y, gx, ge in _compiled_runs(torch, fn, x, g):
                assert bits(y, want_y), (name, dt, backend)
                assert bits(gx, want_g), (name, dt, backend)
                if dt == torch.float32:
                    assert bits(gx, ge), (name, dt, backend)
                else:  # (the eager path's half formulas may round more than once)
                    torch.testing.assert_close(gx, ge, rtol=2 * torch.finfo(dt).eps, atol=0,
                                               equal_nan=True)
        _no_operator_left(torch, fn, x64.float())
        # second and third order under backend="eager", against autograd of the
        # float64 body (the backward operator's rule: the traced second derivative)
        t = torch.tensor([-20.0, -3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 2.5, 4.0, 20.0],
                         dtype=torch.float64)
        w = torch.linspace(-1.0, 2.0, t.numel(), dtype=torch.float64)
        _orders_agree(torch, lambda u, name=name: BY_NAME[name].body(tn.NS, u), fn, t, w, w,
                      dtype=torch.float32, rtol=2e-6, square=False)
    # no gradient recorded, an exported program, a CUDA-less meta tensor: no operator
    plain = torch.randn(8)
    assert not any("multiact" in t for t in _graph_targets(torch, multiact.sigmoid, plain))


@pytest.mark.backends("torch")
def test_torch_softmin_under_compile_takes_softmaxs_operator(target):
    # decision 115: in a torch.compile graph that records a gradient (CPU), softmin is
    # softmax's operator of -x (decision 111): the body's bits, the eager path's
    # gradient (0 on a slice that holds -inf, softmax's limit), a right second order
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from multiact._agnostic import reductions as Rd
    from multiact.backends import _torch_native as tn

    gen = torch.Generator().manual_seed(1151)
    special = torch.tensor([[-math.inf, 0.0, 1.0, 2.0], [math.inf] * 4,
                            [-math.inf, -math.inf, 0.0, 1.0], [1e30, -1e30, 0.0, 3.0]])
    x64 = torch.cat([torch.randn(12, 4, dtype=torch.float64, generator=gen) * 8,
                     special.double()])
    g64 = torch.randn(16, 4, dtype=torch.float64, generator=gen)

    def f(t):
        return multiact.softmin(t, axis=-1)

    assert "multiact.softmax.default" in _graph_targets(torch, f, x64.float().requires_grad_())
    for dt in (torch.float32, torch.float64, torch.bfloat16):
        x, g = x64.to(dt), g64.to(dt)
        for backend, y, gx, ge in _compiled_runs(torch, f, x, g):
            body = Rd.softmin(tn.NS, x, (1,), None, None)
            nan = body.isnan()
            assert torch.equal(nan, y.isnan()) and torch.equal(y[~nan], body[~nan])
            tol = 4 * torch.finfo(dt).eps * (g.abs().double().max() + 1)
            assert float((gx.double() - ge.double()).nan_to_num(0.0).abs().max()) <= tol
            assert torch.equal(gx.isnan(), ge.isnan()), (dt, backend)
    t = torch.randn(5, 6, dtype=torch.float64, generator=gen) * 3
    w = torch.randn(5, 6, dtype=torch.float64, generator=gen)
    _orders_agree(torch, lambda u: Rd.softmin(tn.NS, u, (1,), None, None), f, t, w, w,
                  dtype=torch.float32, orders=2, rtol=2e-5)


@pytest.mark.backends("torch")
def test_torch_standardize_under_compile_takes_the_operators(target):
    # decision 115: in a torch.compile graph that records a gradient (CPU, no mask, no
    # given statistics), standardize is multiact::standardize_axis: the body's bits
    # forward,
    # its written-out vjp's bits backward (no operator call left for Inductor), every
    # order right under backend="eager"; with a mask or statistics, and empty, the body
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from multiact._agnostic import reductions as Rd
    from multiact.backends import _torch_native as tn

    gen = torch.Generator().manual_seed(1152)
    x64 = torch.randn(16, 32, dtype=torch.float64, generator=gen) * 3 + 5
    x64[3] = 7.0  # (a constant slice: sigma 0)
    x64[4, 5] = 1e6
    g64 = torch.randn(16, 32, dtype=torch.float64, generator=gen)

    def f(t):
        return multiact.standardize(t, axis=-1)

    def bits(a, b):
        nan = a.isnan()
        return torch.equal(nan, b.isnan()) and torch.equal(a[~nan], b[~nan])

    assert "multiact.standardize_axis.default" in _graph_targets(
        torch, f, x64.float().requires_grad_(True))
    for other in (lambda t: multiact.standardize(t, where=t > 4),
                  lambda t: multiact.standardize(t, mean=0.0)):
        assert not any("multiact" in t for t in _graph_targets(
            torch, other, x64.float().requires_grad_(True)))
    for dt in (torch.float32, torch.float64, torch.bfloat16):
        x, g = x64.to(dt), g64.to(dt)
        for backend, y, gx, ge in _compiled_runs(torch, f, x, g):
            assert bits(y, Rd.standardize(tn.NS, x, (1,), None, None, 1e-5, None))
            assert bits(gx, Rd.standardize_vjp(tn.NS, x, g, (1,), None, None, 1e-5, None))
            torch.testing.assert_close(gx, ge, rtol=8 * torch.finfo(dt).eps,
                                       atol=8 * torch.finfo(dt).eps * float(ge.abs().max()))
    _no_operator_left(torch, f, x64.float())
    for shape in ((0, 3), (3, 0)):  # (empty: the body, as eagerly)
        torch._dynamo.reset()
        xe = torch.empty(shape, requires_grad=True)
        assert torch.compile(f, fullgraph=True, backend="aot_eager")(xe).shape == shape
    t = torch.randn(5, 6, dtype=torch.float64, generator=gen) * 3 + 1
    w = torch.randn(5, 6, dtype=torch.float64, generator=gen)
    _orders_agree(torch, lambda u: Rd.standardize(tn.NS, u, (1,), None, None, 1e-5, None),
                  f, t, w, w)


@pytest.mark.backends("torch")
def test_torch_gated_rows_under_compile_take_the_operators(target):
    # decision 115: in a torch.compile graph that records a gradient (CPU), glu and
    # swiglu are multiact::gated: the body's bits over (outer, 2, m), both halves'
    # traced derivatives backward (the CPU tier's training kernel's formula, its
    # bits), no operator call left for Inductor, every order right under
    # backend="eager"; every axis; an odd or empty axis the body, as eagerly
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from multiact.backends import _torch_native as tn
    from multiact.kernels.inductor import gated_backward_fn

    gen = torch.Generator().manual_seed(1153)
    x64 = torch.randn(6, 8, 4, dtype=torch.float64, generator=gen) * 4
    x64[0, 0, 0], x64[1, 5, 1], x64[2, 1, 2] = math.inf, -math.inf, math.nan
    routed = [info.name for info in multiact._table.TABLE if info.halves
              and "multiact.gated.default" in _graph_targets(
                  torch, getattr(multiact, info.name), x64.float().requires_grad_(True))]
    assert set(routed) == {"glu", "swiglu"}, routed

    def bits(a, b):
        nan = a.isnan()
        return torch.equal(nan, b.isnan()) and torch.equal(a[~nan], b[~nan])

    for name in routed:
        fn = getattr(multiact, name)
        for axis in (-1, 1, 0):
            f = (lambda t, axis=axis, fn=fn: fn(t, axis=axis))
            shape = list(x64.shape)
            shape[axis] //= 2
            g64 = torch.randn(shape, dtype=torch.float64, generator=gen)
            for dt in (torch.float32, torch.bfloat16):
                x, g = x64.to(dt), g64.to(dt)
                d = axis % 3
                outer = math.prod(x.shape[:d])
                x3 = x.float().reshape(outer, 2, -1)
                want_y = BY_NAME[name].body(tn.NS, x3, 1).reshape(shape).to(dt)
                want_g = gated_backward_fn(BY_NAME[name], "float32", (1,))(
                    x3, g.float().reshape(outer, -1)).reshape(x.shape).to(dt)
                for backend, y, gx, ge in _compiled_runs(torch, f, x, g):
                    assert bits(y, want_y) and bits(gx, want_g), (name, axis, dt)
                    torch.testing.assert_close(y, f(x), rtol=4 * torch.finfo(dt).eps,
                                               atol=1e-30, equal_nan=True)  # (eager's)
                    # (the eager path's gradient; where a half is infinite the body's
                    # autograd, as the compiled body's before, may give NaN for +-inf)
                    fin = x.isfinite().all(d, keepdim=True).expand(x.shape)
                    # (silu' crosses 0 near -1.278: an error for the gradient's scale)
                    eps = torch.finfo(dt).eps
                    torch.testing.assert_close(gx[fin], ge[fin], rtol=8 * eps, atol=8 * eps *
                                               float(ge[fin].abs().max()), equal_nan=True)
        _no_operator_left(torch, fn, x64.float())
        for shape in ((0, 4), (3, 0)):  # (empty: the body)
            torch._dynamo.reset()
            assert torch.compile(fn, fullgraph=True, backend="aot_eager")(
                torch.empty(shape, requires_grad=True)).shape == (shape[0], shape[1] // 2)
        t = torch.randn(3, 8, dtype=torch.float64, generator=gen) * 2
        w = torch.randn(3, 4, dtype=torch.float64, generator=gen)
        _orders_agree(torch, lambda u, name=name: BY_NAME[name].body(tn.NS, u, -1), fn,
                      t, w, t)


@pytest.mark.backends("torch")
def test_torch_logsumexp_under_compile_takes_the_operators(target):
    # decision 115: in a torch.compile graph that records a gradient (CPU, one axis, no
    # b, no mask, no sign), logsumexp is multiact::logsumexp_axis: the body's bits
    # forward,
    # torch's g exp(x - y) backward with the body's limits on infinite slices (the
    # eager path's gradient), no operator call left for Inductor, a right second order
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from multiact._agnostic import reductions as Rd
    from multiact.backends import _torch_native as tn

    inf = math.inf
    gen = torch.Generator().manual_seed(1154)
    special = torch.tensor([[inf, 0.0, 1.0], [-inf, -inf, -inf], [inf, inf, 0.0],
                            [-inf, 0.0, 1.0], [math.nan, 0.0, 1.0], [inf, -inf, 0.0],
                            [1e30, -1e30, 3.0], [0.0, -40.0, -80.0]])
    x64 = torch.cat([torch.randn(24, 3, dtype=torch.float64, generator=gen) * 6,
                     special.double()])
    assert "multiact.logsumexp_axis.default" in _graph_targets(
        torch, lambda t: multiact.logsumexp(t, axis=-1), x64.float().requires_grad_(True))
    assert not any("multiact" in t for t in _graph_targets(
        torch, lambda t: multiact.logsumexp(t, axis=-1, b=t), x64.float().requires_grad_(True)))
    for keepdims in (False, True):
        def f(t, keepdims=keepdims):
            return multiact.logsumexp(t, axis=-1, keepdims=keepdims)

        for dt in (torch.float32, torch.float64, torch.bfloat16):
            x = x64.to(dt)
            body = Rd.logsumexp(tn.NS, x, (1,), None, keepdims, False, None)
            g = torch.randn(body.shape, dtype=torch.float64, generator=gen).to(dt)
            for backend, y, gx, ge in _compiled_runs(torch, f, x, g):
                nan = body.isnan()
                assert torch.equal(y.isnan(), nan) and torch.equal(y[~nan], body[~nan])
                # a weight exp((x - m) - r) moves by eps |x - m| relatively for the
                # rounding of x - m (decision 116: not by |y|; the 1e30 row's weights
                # are 1/2 to the bit, where exp(x - y) gave 1)
                xd = x.double()
                spread = (xd - xd.amax(1, keepdim=True)).abs().nan_to_num(0.0, 0.0, 0.0)
                scale = spread + 1
                assert torch.equal(gx.isnan(), ge.isnan()), (dt, backend)
                err = (gx.double() - ge.double()).nan_to_num(0.0).abs()
                tol = 4 * torch.finfo(dt).eps * ge.double().abs() * scale
                assert ((err <= tol) | ge.isnan()).all(), (dt, backend)
    _no_operator_left(torch, lambda t: multiact.logsumexp(t, axis=-1), x64.float())
    for shape in ((0, 3), (3, 0)):  # (empty: the body)
        torch._dynamo.reset()
        xe = torch.empty(shape, requires_grad=True)
        assert torch.compile(lambda t: multiact.logsumexp(t, axis=-1), fullgraph=True,
                             backend="aot_eager")(xe).shape == (shape[0],)
    t = torch.randn(5, 6, dtype=torch.float64, generator=gen) * 3
    w = torch.randn(5, dtype=torch.float64, generator=gen)
    _orders_agree(torch, lambda u: Rd.logsumexp(tn.NS, u, (1,), None, False, False, None),
                  lambda u: multiact.logsumexp(u, axis=-1), t, w, t)


@pytest.mark.backends("torch")
def test_torch_graph_operators_pass_opcheck(target):
    # decision 115's operators against torch.library.opcheck (schema, autograd
    # registration, fake tensors: shapes and strides of the real outputs, and
    # AOTAutograd with dynamic shapes), on a transposed input too; a review found the
    # first fakes of two backward operators shaped as their cotangent, not as x
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_autograd as ta

    assert ta.graph_ops_ready()
    ops = ta.GRAPH_OPS
    for x in (torch.randn(3, 8, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64).T):
        xr = x.clone().requires_grad_(True)
        y = ops["logsumexp_axis"](x, 1)
        args = {"elementwise": (xr, "silu"), "elementwise_backward": (x, xr, "silu"),
                "standardize_axis": (xr, 1, 1e-5),
                "standardize_axis_backward": (x, xr, 1, 1e-5),
                "gated": (xr, "swiglu", 1), "gated_backward": (x[:, :4], xr, "swiglu", 1),
                "logsumexp_axis": (xr, 1), "logsumexp_axis_backward": (y, xr, y, 1)}
        assert set(args) == set(ta._FORMULA_FAKES)
        for name, a in args.items():
            result = torch.library.opcheck(ops[name], a)
            assert set(result.values()) == {"SUCCESS"}, (name, result)


@pytest.mark.backends("torch")
def test_torch_graph_operators_under_dynamic_shapes_and_at_extremes(target):
    # decision 115, found by a review: standardize's operator under dynamic shapes (the
    # body's count a SymInt there), soft_sign's second derivative at the infinities (0,
    # as the body's autograd gives), standardize's double backward on a row whose
    # variance overflows (0, not NaN), and logsumexp's gradient at large logits on
    # every route (torch's exp(x - lse) from the rounded lse gave [1, 1] for [1e30,
    # 1e30]; 2e-4 off at 1e4 in float32)
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from multiact import kernels

    torch._dynamo.reset()
    f = torch.compile(multiact.standardize, backend="aot_eager")
    for n in (6, 8, 10):  # (the third compile marks the axis dynamic)
        x = torch.randn(4, n, dtype=torch.float64, requires_grad=True)
        torch.testing.assert_close(f(x), multiact.standardize(x.detach()))
    torch._dynamo.reset()
    f = torch.compile(multiact.standardize, dynamic=True)
    x = torch.randn(5, 8, requires_grad=True)
    f(x).sum().backward()
    assert x.grad is not None and bool(x.grad.isfinite().all())
    for name, xs in (("soft_sign", [math.inf, -math.inf, 1e30, 2.0]),
                     ("standardize", [1e30, -1e30, 1.0, 2.0])):
        fn = getattr(multiact, name)
        plain, compiled = [], []
        for route, out in ((fn, plain), (torch.compile(fn, backend="eager"), compiled)):
            torch._dynamo.reset()
            t = torch.tensor([xs], requires_grad=True)
            (g1,) = torch.autograd.grad(route(t).sum(), t, create_graph=True)
            (g2,) = torch.autograd.grad((g1 * torch.tensor([[1.0, 2.0, 3.0, 4.0]])).sum(), t)
            out.append(g2)
        assert torch.equal(compiled[0].isnan(), plain[0].isnan()), (name, compiled, plain)
        assert not bool(compiled[0][0, :2].isnan().any()), (name, compiled)
    big = torch.tensor([[1e30, 1e30, 1.0, -2.0], [1e4, 1e4, 1.0, -2.0]] * 300)
    want = torch.tensor([[0.5, 0.5, 0.0, 0.0]] * 600)
    prev = kernels.mode()
    try:
        for mode in ("framework", "fused"):
            kernels.set_mode(mode)
            x = big.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(multiact.logsumexp(x, axis=-1).sum(), x)
            torch.testing.assert_close(g, want, rtol=2e-7, atol=1e-30), mode
    finally:
        kernels.set_mode(prev)
    torch._dynamo.reset()
    x = big.clone().requires_grad_(True)
    y = torch.compile(lambda t: multiact.logsumexp(t, axis=-1), backend="aot_eager")(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(g, want, rtol=2e-7, atol=1e-30)


@pytest.mark.backends("torch")
def test_torch_soft_shrink_under_compile_is_its_eager_formula(target):
    # decision 115: in a torch.compile graph on CPU soft_shrink is x - clamp(x, -l, l),
    # as eagerly (its autograd saves one mask for the backward, the body's selects two):
    # the eager path's values and gradients, bit for bit (+0 in the band, 0 gradient in
    # it and at its edges, NaN kept, the incoming gradient at NaN as the body's)
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from multiact.backends import _torch_native as tn

    x64 = torch.tensor([-3.0, -1.0, -0.5, -0.0, 0.0, 0.25, 1.0, 1.5, math.inf, -math.inf,
                        math.nan, 1e30])
    g = torch.linspace(-2.0, 3.0, x64.numel())
    for dt in (torch.float32, torch.float64):
        x = x64.to(dt)

        def f(t):
            return multiact.soft_shrink(t, lambd=1.0)

        assert "clamp" in str(_graph_targets(torch, f, x.clone().requires_grad_(True)))
        xe = x.clone().requires_grad_(True)
        ye = f(xe)
        (ge,) = torch.autograd.grad(ye, xe, g.to(dt))
        body = BY_NAME["soft_shrink"].body(tn.NS, x, 1.0)
        for backend in ("aot_eager", "inductor"):
            torch._dynamo.reset()
            xr = x.clone().requires_grad_(True)
            y = torch.compile(f, fullgraph=True, backend=backend)(xr)
            (gx,) = torch.autograd.grad(y, xr, g.to(dt))
            for a, b in ((y.detach(), ye.detach()), (y.detach(), body), (gx, ge)):
                nan = a.isnan()
                assert torch.equal(nan, b.isnan()) and torch.equal(
                    a[~nan].view(tn._BITS[dt]), b[~nan].view(tn._BITS[dt])), (dt, backend)


@pytest.mark.backends("torch")
def test_torch_gates_under_compile_take_the_graph_routes(target):
    # decision 115: in a torch.compile graph on CPU, exact geglu's gelu is the
    # backend's, so exact GELU's graph routes reach it: multiact::gelu_erf (decision
    # 111) when recording a gradient and _gelu_erf_wide (decision 107) when not;
    # quick_gelu is multiact::elementwise itself; glu and swiglu multiact::gated.
    # Values and gradients as eagerly; exact geglu within its bound (mpmath).
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from mpmath import mp

    gen = torch.Generator().manual_seed(1150)
    x = (torch.randn(16, 64, generator=gen) * 4).requires_grad_(True)
    # the rows whose bodies call activation_of; tanh geglu's gelu has no graph route
    cases = [(info.name, dict(c.params)) for info in multiact._table.TABLE
             if info.halves or info.name == "quick_gelu" for c in info.cases
             if not (info.name == "geglu" and dict(c.params).get("approximate", True))]
    assert len(cases) == 4, cases
    for name, params in cases:
        fn = getattr(multiact, name)

        def f(t, fn=fn, params=params):
            return fn(t, **params)

        ops = {t for t in _graph_targets(torch, f, x) if t.startswith("multiact.")}
        assert ops == ({"multiact.gelu_erf.default"} if name == "geglu" else
                       {"multiact.elementwise.default"} if name == "quick_gelu" else
                       {"multiact.gated.default"}), name
        torch._dynamo.reset()
        y = torch.compile(f, fullgraph=True, backend="aot_eager")(x)
        (gx,) = torch.autograd.grad(y, x, torch.ones_like(y))
        xe = x.detach().clone().requires_grad_(True)
        ye = f(xe)
        (ge,) = torch.autograd.grad(ye, xe, torch.ones_like(ye))
        torch.testing.assert_close(y.detach(), ye.detach(), rtol=4e-6, atol=1e-30)
        torch.testing.assert_close(gx, ge, rtol=4e-6, atol=1e-6)
    # exact geglu without a gradient: the tier's formula, within the bound of mpmath's
    torch._dynamo.reset()
    xv = x.detach()
    assert "multiact.gelu_erf.default" not in _graph_targets(
        torch, lambda t: multiact.geglu(t, approximate=False), xv)
    y = torch.compile(lambda t: multiact.geglu(t, approximate=False), fullgraph=True,
                      backend="aot_eager")(xv)
    a, b = xv[:, :32].double(), xv[:, 32:].double()
    want = torch.tensor([[float(mp.mpf(u) * mp.ncdf(u) * v) for u, v in zip(ra, rb)]
                         for ra, rb in zip(a.tolist(), b.tolist())], dtype=torch.float64)
    err = ((y.double() - want).abs() / torch.finfo(torch.float32).eps / want.abs().clamp(
        min=torch.finfo(torch.float32).tiny))
    assert float(err.max()) <= 9, float(err.max())


@pytest.mark.backends("torch")
def test_torch_exact_gelu_under_compile_is_the_tiers_formulas(target):
    # decision 107: in a graph Dynamo traces (CPU, float32 and the half dtypes) exact
    # GELU is _gelu_erf_wide, the CPU tier's own rational one dtype wider: the same
    # bits as it run eagerly (the sign of zero included).  Decision 111: a graph that
    # records a gradient takes it too, and _gelu_erf_wide_bwd's bits backward, through
    # custom operators that AOTAutograd decomposes into their ops (no operator call
    # left for Inductor) and that keep a double backward right under backend="eager"
    # (a Function's backward dropped GELU's part there); torch.export keeps the body
    torch = pytest.importorskip("torch")
    import torch._dynamo
    from mpmath import mp
    from multiact.backends import _torch_native as tn

    x64 = torch.cat([torch.linspace(-14, 14, 4001, dtype=torch.float64),
                     torch.tensor([0.0, -0.0, float("inf"), -float("inf"), float("nan"),
                                   -40.0, 41.0, -0.7518])])

    def bits(a, b):
        nan = a.isnan()
        return torch.equal(nan, b.isnan()) and torch.equal(
            a[~nan].view(tn._BITS[a.dtype]), b[~nan].view(tn._BITS[b.dtype]))

    def gelu(t):
        return multiact.gelu(t, approximate=False)

    for dt in (torch.float32, torch.float16, torch.bfloat16):
        x = x64.to(dt)
        torch._dynamo.reset()
        assert bits(torch.compile(gelu, fullgraph=True, backend="aot_eager")(x),
                    tn._gelu_erf_wide(x)), dt
    x = x64.float()
    body = BY_NAME["gelu"].body(tn.NS, x, False)
    assert not bits(body, tn._gelu_erf_wide(x))  # (the two formulas: else nothing tested)
    g = torch.linspace(-3, 3, x.numel())
    graphs = []

    from torch._dynamo.backends.common import aot_autograd
    from torch._functorch.aot_autograd import make_boxed_func

    def keep(gm, example_inputs):
        graphs.append(gm)
        return make_boxed_func(gm)

    for dt in (torch.float32, torch.bfloat16):
        xr, gd = x.to(dt).requires_grad_(True), g.to(dt)
        for backend in ("aot_eager", "eager"):
            torch._dynamo.reset()
            y = torch.compile(gelu, fullgraph=True, backend=backend)(xr)
            (gx,) = torch.autograd.grad(y, xr, gd)
            assert bits(y.detach(), tn._gelu_erf_wide(xr.detach())), (dt, backend)
            assert bits(gx, tn._gelu_erf_wide_bwd(xr.detach(), gd)), (dt, backend)
    torch._dynamo.reset()
    xr = x.clone().requires_grad_(True)
    y = torch.compile(gelu, fullgraph=True, backend=aot_autograd(fw_compiler=keep,
                                                                  bw_compiler=keep))(xr)
    y.backward(g)
    targets = {str(n.target) for gm in graphs for n in gm.graph.nodes}
    assert len(graphs) == 2 and not any("multiact" in t for t in targets), targets
    dynamo = []
    torch._dynamo.reset()
    torch.compile(gelu, fullgraph=True, backend=lambda gm, ex: dynamo.append(gm) or gm)(xr)
    assert "multiact.gelu_erf.default" in {str(n.target) for n in dynamo[0].graph.nodes}
    torch._dynamo.reset()
    f = torch.compile(lambda t: gelu(t) + t ** 3, fullgraph=True, backend="eager")
    t = torch.tensor([0.5, -1.0, 2.0, -1.4142135, 7.0], requires_grad=True)
    (gt,) = torch.autograd.grad(f(t).sum(), t, create_graph=True)
    (gtt,) = torch.autograd.grad(gt.sum(), t)
    want = [float((2 - v * v) * mp.npdf(v)) + 6 * v for v in t.tolist()]
    torch.testing.assert_close(gtt, torch.tensor(want), rtol=1e-5, atol=1e-6)
    # the second derivative one dtype wider, rounded once (near its root sqrt 2, where
    # 2 - x^2 cancels), and 0 (not inf * 0) far out and at the infinities
    for dt, far in ((torch.float32, 1e30), (torch.float16, 300.0), (torch.bfloat16, 1e30)):
        torch._dynamo.reset()
        f2 = torch.compile(gelu, fullgraph=True, backend="eager")
        vals = [-1.4140625, 1.0, -3.0, far, -far, float("inf"), -float("inf")]
        u = torch.tensor(vals, dtype=dt, requires_grad=True)
        (gu,) = torch.autograd.grad(f2(u).sum(), u, create_graph=True)
        (guu,) = torch.autograd.grad(gu.sum(), u)
        want = torch.tensor([float((2 - mp.mpf(v) ** 2) * mp.npdf(v)) if abs(v) < 50 else 0.0
                             for v in u.tolist()], dtype=dt)
        torch.testing.assert_close(guu, want, rtol=torch.finfo(dt).eps, atol=0)
    # the backward's own gradient with respect to g, and a third order, by autograd of
    # the float64 body (the operators' rules against the body's)
    td = t.detach().double().requires_grad_(True)
    with torch.enable_grad():
        (g1,) = torch.autograd.grad(BY_NAME["gelu"].body(tn.NS, td, False).sum(), td,
                                    create_graph=True)
        (g2,) = torch.autograd.grad(g1.sum(), td, create_graph=True)
        (g3,) = torch.autograd.grad(g2.sum(), td)
    tt = t.detach().clone().requires_grad_(True)
    (ht,) = torch.autograd.grad(f(tt).sum(), tt, create_graph=True)
    (htt,) = torch.autograd.grad(ht.sum(), tt, create_graph=True)
    (httt,) = torch.autograd.grad(htt.sum(), tt)
    torch.testing.assert_close(httt.double(), g3 + 6, rtol=1e-5, atol=1e-6)

    class M(torch.nn.Module):
        def forward(self, u):
            return gelu(u)

    assert bits(torch.export.export(M(), (x,)).module()(x), body)


def test_torch_exact_gelu_keeps_addcmuls_operands_on_the_tensors_device(monkeypatch):
    # A CUDA addcmul refuses a CPU 0-d `self` ("CPU Scalar support for self argument is
    # not supported"), which the CPU accepts: found on an H200.  The meta device stands
    # in for a GPU here: every addcmul of exact GELU's framework routes (each dtype's
    # forward and backward) must take its operands from the input's device.
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn

    monkeypatch.setitem(tn._FMA, ("meta", torch.float32), True)  # (meta has no values)
    addcmul = torch.addcmul
    seen = []

    def checked(*args, **kwargs):
        devices = {a.device for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)}
        seen.append(devices)
        assert devices == {torch.device("meta")}, devices
        return addcmul(*args, **kwargs)

    monkeypatch.setattr(torch, "addcmul", checked)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        x = torch.ones(5, dtype=dtype, device="meta", requires_grad=True)
        y = multiact.gelu(x, approximate=False)
        y.sum().backward()
        assert y.device.type == "meta" and x.grad.device.type == "meta"
    x = torch.ones(5, dtype=torch.float64, device="meta")  # (float64's routes, directly)
    assert tn._gelu_f64_fwd(x).device.type == tn._gelu_f64_bwd(x, x).device.type == "meta"
    assert len(seen) >= 6


def test_jax_float32_division_is_corrected_to_the_rounded_quotient():
    # XLA divides float32 on NVIDIA GPUs by div.full.f32 (within 2 ulp): soft_sign was
    # 2.0 ulp off on an H200 against its 1.5 bound.  The JAX namespace's divide_rn
    # corrects a quotient up to a few ulp off to the correctly rounded one; here the
    # CPU's quotient, moved 1 and 2 ulp either way, stands in for the GPU's.
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    from multiact.backends import jax as mj

    rng = np.random.default_rng(5)
    a = np.concatenate([rng.uniform(-1, 1, 50000), rng.uniform(-1e30, 1e30, 1000),
                        [1e-20, -3e-20, 1.0, 0.5]]).astype(np.float32)
    b = np.concatenate([np.abs(a[:50000]) + 1, rng.uniform(1e-3, 1e3, 1004)]).astype(np.float32)
    want = (a.astype(np.float64) / b.astype(np.float64)).astype(np.float32)
    refine = jax.jit(mj._refined)
    for ulps in (-2, -1, 1, 2):
        q = a / b
        for _ in range(abs(ulps)):
            q = np.nextafter(q, np.float32(np.copysign(np.inf, ulps)))
        got = np.asarray(refine(jnp.asarray(a), jnp.asarray(b), jnp.asarray(q)))
        assert np.array_equal(got, want), (ulps, np.flatnonzero(got != want)[:5])
    # the corrected division (what a GPU runs; the CPU's primitive is plain division)
    # keeps the division's IEEE cases, and its derivative is the quotient's
    div = mj._divide_rn32
    got = np.asarray(div(jnp.asarray([1.0, -0.0, np.inf, 1.0, 0.0], jnp.float32),
                         jnp.asarray([np.inf, 2.0, 2.0, 0.0, 0.0], jnp.float32)))
    np.testing.assert_array_equal(got, np.float32([0.0, -0.0, np.inf, np.inf, np.nan]))
    assert np.signbit(got[1])
    da, db = jax.grad(div, argnums=(0, 1))(jnp.float32(3.0), jnp.float32(4.0))
    assert (float(da), float(db)) == (0.25, -0.1875)


@pytest.mark.backends("torch")
def test_torch_masked_softmax_is_torchs_softmax_of_the_masked_input(target):
    # decision 173: softmax(x, where=mask) took the generic body (a dozen passes),
    # log_softmax too,
    # 12-23x torch's softmax of x.masked_fill(~mask, -inf) on attention scores.  Now
    # that, in four ops, with the generic body's values where that is NaN (a slice
    # with nothing left, +inf or NaN among the entries kept); NaN and infinities
    # left out leak nothing; broadcast masks, half tensors, long rows, softmin, and
    # the gradient (0 where left out) against float64
    torch = pytest.importorskip("torch")
    from _calls import torch_ops_run

    gen = torch.Generator().manual_seed(173)
    inf, nan = math.inf, math.nan
    x = torch.randn(2, 3, 6, 6, generator=gen) * 4
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    _, seen = torch_ops_run(lambda: multiact.softmax(x, where=causal))
    passes = [op for op in seen if op not in ("detach", "_local_scalar_dense")]
    assert len(passes) <= 4 and "_softmax" in passes, seen  # (~mask, fill, softmax, NaN check)
    special = torch.tensor([[1.0, nan, 2.0, inf], [nan, inf, -inf, 3.0], [inf, 1.0, 2.0, 3.0],
                            [-inf, -inf, 1.0, 2.0], [nan, nan, nan, nan]])
    keep = torch.tensor([[True, False, True, False], [False, False, False, False],
                         [True, True, True, True], [True, True, False, True],
                         [True, True, False, False]])
    cases = [(x, causal), (x, causal.expand(2, 3, 6, 6)), (special, keep),
             (torch.randn(3, 5000, generator=gen) * 9, torch.rand(3, 5000, generator=gen) > 0.3)]
    for name in ("softmax", "softmin", "log_softmax"):
        f = getattr(multiact, name)
        _, seen = torch_ops_run(lambda: f(x, where=causal))
        # (torch's own kernel; log_softmax's slices near 0, one-entry rows here, are
        # computed again by its split sum: the framework path's accuracy)
        assert ("_log_softmax" if name == "log_softmax" else "_softmax") in seen, seen
        for t, w in cases:
            for dtype in (torch.float32, torch.float64, torch.bfloat16):
                y = f(t.to(dtype), where=w)
                want = f(t.to(dtype).double().numpy(), where=w.numpy())
                assert y.dtype == dtype and y.shape == t.shape
                ok = np.isclose(y.double().numpy(), want, rtol=0.01 if dtype == torch.bfloat16
                                else 4e-6 if dtype == torch.float32 else 1e-13,
                                atol=1e-30, equal_nan=True)
                assert ok.all(), (name, dtype, y, want)
        t = x.clone().requires_grad_(True)
        g = torch.randn(x.shape, generator=gen)
        (got,) = torch.autograd.grad(f(t, where=causal), t, g)
        t64 = x.double().requires_grad_(True)
        (want,) = torch.autograd.grad(f(t64, axis=-1, where=causal), t64, g.double())
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-6)
        assert not got[..., ~causal].any()


@pytest.mark.backends("torch")
def test_torch_masked_logsumexp_is_the_framework_paths_of_the_masked_input(target):
    # decision 175: logsumexp(x, where=mask) took the generic body (a dozen passes
    # and their backward).  Now the framework path (split sum, its Function) of
    # x.masked_fill(~mask, -inf); a slice with nothing left, or +inf or NaN among
    # the entries kept, the generic body's values; NaN and infinities left out leak
    # nothing; broadcast masks, keepdims, half tensors, the gradient (0 where left
    # out) against float64
    torch = pytest.importorskip("torch")
    from _calls import torch_ops_run

    gen = torch.Generator().manual_seed(175)
    inf, nan = math.inf, math.nan
    x = torch.randn(2, 3, 6, 6, generator=gen) * 4
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    _, plain = torch_ops_run(lambda: multiact.logsumexp(x, axis=-1))
    _, seen = torch_ops_run(lambda: multiact.logsumexp(x, axis=-1, where=causal))
    assert seen == ["logical_not", "masked_fill"] + plain, (seen, plain)
    special = torch.tensor([[1.0, nan, 2.0, inf], [nan, inf, -inf, 3.0], [inf, 1.0, 2.0, 3.0],
                            [-inf, -inf, 1.0, 2.0], [nan, nan, nan, nan], [-inf, -inf, 0, 0]])
    keep = torch.tensor([[True, False, True, False], [False, False, False, False],
                         [True, True, True, True], [True, True, False, True],
                         [True, True, False, False], [True, True, False, False]])
    cases = [(x, causal), (x, causal.expand(2, 3, 6, 6)), (special, keep),
             (torch.randn(3, 5000, generator=gen) * 9, torch.rand(3, 5000, generator=gen) > 0.3)]
    for t, w in cases:
        for dtype in (torch.float32, torch.float64, torch.bfloat16):
            for keepdims in (False, True):
                y = multiact.logsumexp(t.to(dtype), axis=-1, where=w, keepdims=keepdims)
                want = multiact.logsumexp(t.to(dtype).double().numpy(), axis=-1,
                                          where=np.broadcast_to(w.numpy(), t.shape),
                                          keepdims=keepdims)
                assert y.dtype == dtype and y.shape == want.shape
                ok = np.isclose(y.double().numpy(), want, rtol=0.01 if dtype == torch.bfloat16
                                else 4e-7 if dtype == torch.float32 else 1e-15,
                                atol=0, equal_nan=True)
                assert ok.all(), (dtype, y, want)
    t = x.clone().requires_grad_(True)
    g = torch.randn(x.shape[:-1], generator=gen)
    (got,) = torch.autograd.grad(multiact.logsumexp(t, axis=-1, where=causal), t, g)
    t64 = x.double().requires_grad_(True)
    m = t64.masked_fill(~causal, -inf)
    (want,) = torch.autograd.grad(torch.logsumexp(m, -1), t64, g.double())
    torch.testing.assert_close(got.double(), want, rtol=1e-6, atol=1e-7)
    assert not got[..., ~causal].any()


@pytest.mark.backends("torch")
def test_torch_identity_returns_a_float_tensor_itself(target):
    # decision 216: a float tensor is returned as it is, without the generic route
    # (the body's answer, and jax.nn.identity's); integers are kept, bool promoted,
    # and a gradient flows through
    torch = pytest.importorskip("torch")
    for dt in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        x = torch.arange(4.0).to(dt)
        assert multiact.identity(x) is x
    xi = torch.arange(4, dtype=torch.int32)
    yi = multiact.identity(xi)
    assert yi.dtype == torch.int32 and torch.equal(yi, xi)
    yb = multiact.identity(torch.tensor([True, False]))
    assert yb.dtype == torch.get_default_dtype() and yb.tolist() == [1.0, 0.0]
    xg = torch.tensor([1.0, -2.0], requires_grad=True)
    multiact.identity(xg).mul(3.0).sum().backward()
    assert xg.grad.tolist() == [3.0, 3.0]
