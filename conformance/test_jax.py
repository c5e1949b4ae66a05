"""JAX, every transform, for every function: jit (no recompilation on repeated
calls), vmap, grad, jvp, linearize, hessian, checkpoint, scan bodies, against
float64 finite differences (``jax.test_util.check_grads``), values against the
generic body run op by op (``jax.disable_jit``), and the default float32 mode
(x64 off) in a fresh process."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import multiact
from conformance.generic import generic
from multiact._dispatch import backend_of
from multiact._table import TABLE

jax = pytest.importorskip("jax")
jnp = jax.numpy
pytestmark = pytest.mark.backends("jax")

DIFFERENTIABLE = [info for info in TABLE if info.name != "one_hot"]


def _fn(info):
    f = getattr(multiact, info.name)
    p = dict(info.cases[0].params)
    return lambda t: f(t, **p)


def _data(info, target, shape=(3, 4)):
    x = np.linspace(-2.1, 1.9, int(np.prod(shape))).reshape(shape)
    if info.nonneg_input:
        x = np.abs(x) + 0.1
    return target.asarray(x, "float64")


@pytest.mark.parametrize("info", DIFFERENTIABLE, ids=lambda i: i.name)
def test_grads_against_finite_differences(target, info):
    from jax.test_util import check_grads

    check_grads(_fn(info), (_data(info, target),), order=2, modes=("fwd", "rev"),
                atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("info", DIFFERENTIABLE, ids=lambda i: i.name)
def test_jit_vmap_linearize_hessian_checkpoint_scan(target, info):
    fn = _fn(info)
    x = _data(info, target)
    # the generic body run eagerly, op by op (the backend jit-compiles every function:
    # fn(x) is already a jitted call)
    with jax.disable_jit():
        eager = np.asarray(generic(info, backend_of(x), x))
    np.testing.assert_allclose(np.asarray(fn(x)), eager, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(jax.jit(fn)(x)), eager, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(jax.vmap(fn)(x)),
                               np.stack([np.asarray(fn(r)) for r in x]), rtol=1e-13)
    t = jnp.linspace(-1, 1, x.size).reshape(x.shape)
    y, f_jvp = jax.linearize(fn, x)
    _, dy = jax.jvp(fn, (x,), (t,))
    np.testing.assert_allclose(np.asarray(f_jvp(t)), np.asarray(dy), rtol=1e-12, atol=1e-14)
    w = jnp.linspace(0.5, 1.5, int(np.prod(y.shape))).reshape(y.shape)

    def scalar(v):
        return jnp.sum(fn(v) * w)

    h = jax.hessian(scalar)(x)
    h2 = jax.jacfwd(jax.grad(scalar))(x)
    np.testing.assert_allclose(np.asarray(h), np.asarray(h2), rtol=1e-10, atol=1e-12)
    g = jax.grad(scalar)(x)
    gc = jax.grad(jax.checkpoint(scalar))(x)
    np.testing.assert_allclose(np.asarray(gc), np.asarray(g), rtol=1e-13, atol=1e-15)

    def body(carry, row):
        return carry + jnp.sum(fn(row)), fn(row)

    total, rows = jax.lax.scan(body, 0.0, x)
    np.testing.assert_allclose(np.asarray(rows), np.stack([np.asarray(fn(r)) for r in x]),
                               rtol=1e-13)
    gs = jax.grad(lambda v: jax.lax.scan(body, 0.0, v)[0])(x)
    assert np.all(np.isfinite(np.asarray(gs)))


@pytest.mark.parametrize("info", DIFFERENTIABLE, ids=lambda i: i.name)
def test_no_recompilation_on_repeated_calls(target, info):
    from multiact._dispatch import backend_of

    fn = _fn(info)
    x = _data(info, target)
    if fn(x) is x:  # (identity of float input: x itself, nothing compiled; decision 179)
        return
    be = backend_of(x)
    # the executables the backend compiled for this function (its body's, or its
    # special case's: the one the backend's table holds for this row)
    be_fns = [f for body, f in be._jitted.items()
              if body is info.body or body.__name__.endswith(f"_{info.name}_body")
              or body.__name__ == f"_{info.name}_body"]
    assert be_fns, f"no executable of {info.name}"
    jitted = [j for f in be_fns for j in getattr(f, "_variants", {None: f}).values()]
    before = [j._cache_size() for j in jitted]
    fn(x)
    fn(x)
    assert [j._cache_size() for j in jitted] == before


X32 = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    assert not jax.config.jax_enable_x64
    import multiact
    from multiact._table import TABLE
    x = jnp.linspace(-2.1, 1.9, 12).reshape(3, 4)
    for info in TABLE:
        if info.name == "one_hot":
            y = multiact.one_hot(jnp.array([0, 2]), 3)
            assert y.dtype == jnp.float32, y.dtype
            continue
        f = getattr(multiact, info.name)
        p = dict(info.cases[0].params)
        xin = jnp.abs(x) + 0.1 if info.nonneg_input else x
        y = jax.jit(lambda t: f(t, **p))(xin)
        assert y.dtype == jnp.float32, (info.name, y.dtype)
        g = jax.grad(lambda t: jnp.sum(f(t, **p)))(xin)
        assert g.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(g))), info.name
        np.testing.assert_allclose(np.asarray(y), np.asarray(f(np.asarray(xin, np.float64), **p)),
                                   rtol=3e-6, atol=1e-6)
    # a weakly typed float32 stays weak, every case (decision 224: soft_sign's float32
    # division cast it strong); exact GELU as jax.nn.gelu's, which is strong
    w = jnp.asarray(1.5)
    for info in TABLE:
        if not info.elementwise or info.name == "one_hot":
            continue
        for c in info.cases:
            p = dict(c.params)
            want = jax.nn.gelu(w, approximate=False).weak_type if (
                info.name == "gelu" and not p.get("approximate", True)) else True
            for y in (getattr(multiact, info.name)(w, **p),
                      jax.jit(lambda t: getattr(multiact, info.name)(t, **p))(1.5)):
                assert y.weak_type == want, (info.name, p)
    print("ok")
""")


def test_elementwise_functions_keep_a_weak_type(target):
    # a weakly typed x (jnp.asarray(1.5)) stays weak, as in jax.nn: its product with a
    # float16 array is float16 (squareplus's scale, cast to x's dtype, made it strong:
    # decision 166)
    # Decision 228: a weakly typed integer (jnp.asarray(2), a Python int under jit)
    # too, as jnp.exp and jax.nn.softplus make it a weak float; a strongly typed
    # integer array stays strong, as in jnp.exp
    w, i = jnp.asarray(1.5), jnp.asarray(2)
    assert w.weak_type and i.weak_type
    strong = jnp.asarray([2, -3], jnp.int32)
    for info in TABLE:
        if not info.elementwise or info.name in ("one_hot",):
            continue
        f = functools.partial(getattr(multiact, info.name), **dict(info.cases[0].params))
        for y in (f(w), f(i), jax.jit(f)(2)):
            assert y.weak_type and (y * jnp.ones(3, jnp.float16)).dtype == jnp.float16, info.name
        assert not f(strong).weak_type, info.name


def test_a_shape_dtype_struct_is_refused_in_the_contracts_words(target):
    # decision 166: jit's refusal named a lambda's argument, not the function or x
    s = jax.ShapeDtypeStruct((2, 4), jnp.float32)
    for info in TABLE:
        if info.name == "one_hot":
            continue
        with pytest.raises(TypeError, match=(
                rf"^multiact\.{info.name}: argument '{info.first}' is a jax\.ShapeDtypeStruct, "
                rf"which holds no values; expected an array \(jax\.eval_shape")):
            getattr(multiact, info.name)(s, **dict(info.cases[0].params))
        out = jax.eval_shape(lambda t: getattr(multiact, info.name)(  # noqa: B023
            t, **dict(info.cases[0].params)), s)
        assert jax.tree_util.tree_leaves(out)[0].dtype == jnp.float32, info.name


def test_negative_zero_and_wide_int_parameters_are_numbers(target):
    # decision 167: -0.0 went into the executable as data, and relu's and
    # standardize's Python tests of their parameters failed on the tracer; an int
    # beyond int32 overflowed JAX's int32 (x64 off) where NumPy and PyTorch take it.
    # Every real scalar parameter of every row, against NumPy's result.
    # Decision 170: the same for integer x, which every row but relu's few computes
    # in floating point (hard_shrink(int32 x, lambd=2**31) overflowed), and relu with
    # a slope or a cap that makes its result floating.  With x64 off, as JAX's users
    # have it (the suite turns it on: there a Python int is int64, and nothing
    # overflowed, so decision 167's ints were not tested here)
    xs = (np.array([-2.0, -0.0, 0.0, 0.5, 3e9], np.float32),
          np.array([-2, 0, 1, 5, 2 ** 30], np.int32))
    with jax.enable_x64(False):
        _every_real_parameter(xs)
    # the sign that a -0.0 slope gives its products (decision 150), compiled and not
    x = xs[0]
    f = multiact.leaky_relu
    for _ in range(2):
        assert np.array_equal(np.signbit(np.asarray(f(jnp.asarray(x), -0.0))),
                              np.signbit(f(x, -0.0)))


def _every_real_parameter(xs):
    from multiact._params import Real, RealOrArray, Weight

    tried = 0
    for x in xs:
        for info in TABLE:
            base = dict(info.cases[0].params)
            for p in info.params:
                if type(p.kind) not in (Real, RealOrArray, Weight):
                    continue
                for v in (-0.0, 2 ** 31, -(2 ** 40)):
                    kw = {**base, p.name: v}
                    f = getattr(multiact, info.name)
                    try:
                        want = f(x, **kw)
                    except ValueError:  # (outside the parameter's domain: NumPy refuses it)
                        continue
                    for _ in range(2):  # (the first call compiles; the second reuses it)
                        got = np.asarray(f(jnp.asarray(x), **kw))
                        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0,
                                                   err_msg=f"{info.name} {kw} {x.dtype}")
                    tried += 1
    assert tried >= 40, tried


def test_logsumexp_weakly_typed_b_keeps_the_dtype(target):
    # JAX's promotion: a weakly typed b (jnp.asarray(2.0), a Python number under jit)
    # takes a's dtype; a strongly typed float32 b promotes bfloat16 to float32
    a = jnp.asarray(np.array([0.0, 1.0, 2.0]), jnp.bfloat16)
    b = jnp.asarray(2.0)
    assert b.weak_type
    assert multiact.logsumexp(a, b=b).dtype == jax.nn.logsumexp(a, b=b).dtype == a.dtype
    assert jax.jit(lambda u, v: multiact.logsumexp(u, b=v))(a, 2.0).dtype == a.dtype
    strong = jnp.asarray(2.0, jnp.float32)
    assert multiact.logsumexp(a, b=strong).dtype == jax.nn.logsumexp(a, b=strong).dtype
    np.testing.assert_allclose(np.float32(multiact.logsumexp(a, b=jnp.asarray(2.0))),
                               np.log(2 * np.exp([0.0, 1.0, 2.0]).sum()), rtol=2 ** -8)
    # b's value is not rounded to a's dtype: it multiplies in the float32 work dtype
    h = jnp.asarray(np.array([0.0, 1.0, 2.0]), jnp.float16)
    for v in (1e5, 1e-8):
        want = np.log(v * np.exp([0.0, 1.0, 2.0]).sum())
        for got in (multiact.logsumexp(h, b=jnp.asarray(v)),
                    jax.jit(lambda u, w: multiact.logsumexp(u, b=w))(h, v)):
            assert got.dtype == h.dtype
            np.testing.assert_allclose(np.float32(got), want, rtol=2 ** -10)


def test_gradient_at_the_float_max_is_linear_in_the_cotangent(target):
    # d/dx of 4 f(x) is 4 f'(x) (scaling by 4 is exact) wherever that is finite, also
    # where the cotangent times x overflows: fm.gated's product x * gate had sent inf
    # * gate'(x) = inf * 0 (NaN: silu, gelu, mish, quick_gelu at 3e38)
    big = np.finfo(np.float32).max
    for info in TABLE:
        if not info.elementwise:
            continue
        f, p = getattr(multiact, info.name), dict(info.cases[0].params)
        x = jnp.asarray([big, 1e38, 2e4] + ([] if info.nonneg_input else [-big, -1e38]),
                        jnp.float32)
        g1 = np.asarray(jax.vmap(jax.grad(lambda t: f(t, **p)))(x))
        g4 = np.asarray(jax.vmap(jax.grad(lambda t: 4 * f(t, **p)))(x))
        with np.errstate(over="ignore"):
            ok = np.isfinite(4 * g1)
        np.testing.assert_array_equal(g4[ok], 4 * g1[ok], err_msg=info.name)


def test_gated_export_with_symbolic_sizes(target):
    # jax.export with a symbolic size: an even one (2*k) exports, and the exported
    # function's values are the eager ones; one not known to be even is refused
    # (as jax.nn.glu refuses it), where the split had dropped an odd input's last entry
    export = pytest.importorskip("jax.export")
    (n,), (k,) = export.symbolic_shape("n"), export.symbolic_shape("k")
    x = jnp.asarray(np.linspace(-2.0, 2.0, 10), jnp.float32)
    for f in (multiact.glu, multiact.swiglu, multiact.geglu):
        e = export.export(jax.jit(f))(jax.ShapeDtypeStruct((2 * k,), jnp.float32))
        np.testing.assert_array_equal(np.asarray(e.call(x)), np.asarray(f(x)))
        with pytest.raises(ValueError, match=rf"^multiact\.{f.__name__}: argument 'x' must have "
                                             r"an even size along axis 0, got the symbolic "
                                             r"size n, not known to be even"):
            export.export(jax.jit(f))(jax.ShapeDtypeStruct((n,), jnp.float32))


def test_x64_off(target):
    import os

    # JAX_PLATFORMS names a plugin ("cuda", "rocm"), not "gpu": "gpu" asks for both
    # and fails where one is missing (jax 0.11 on an H200: "Backend 'rocm' is not in
    # the list of known backends")
    platform = target.device
    if platform == "gpu":
        platform = "rocm" if "rocm" in str(jax.devices("gpu")[0]).lower() else "cuda"
    env = dict(os.environ, JAX_ENABLE_X64="0", JAX_PLATFORMS=platform)
    out = subprocess.run([sys.executable, "-c", X32], capture_output=True, text=True,
                         timeout=600, env=env)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


NEW_VALUES = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    import multiact
    from multiact.backends import jax as bj
    x = jnp.linspace(-3.0, 2.0, 64)
    slopes = [0.01 + i / 1000 for i in range(bj.FIRST_VALUES + 20)]
    for s in slopes:  # an annealed slope: a new value every call
        y = multiact.leaky_relu(x, s)
        assert np.array_equal(np.asarray(y), np.where(np.asarray(x) >= 0, x, np.asarray(x) * s))
    (f,) = [f for b, f in bj.BACKEND._jitted.items() if b.__name__ == "leaky_relu"]
    variant = f._variants[(1,)]
    print(variant._cache_size())
    multiact.leaky_relu(x, slopes[-1])  # a value that comes back compiles
    multiact.leaky_relu(x, slopes[-1])
    print(variant._cache_size())
    big = jnp.linspace(-3.0, 2.0, bj.OP_BY_OP)  # a large array: a compile at once (the
    multiact.leaky_relu(big, 0.5)  # op-by-op path costs more than a compile there)
    print(variant._cache_size())
""")


def test_new_parameter_values_after_the_first_compile_nothing(target):
    # decision 156: a new Python-number value compiled at every call (30-50 ms each,
    # executables without bound); after FIRST_VALUES values a new one runs op by op
    # until it comes back.  A fresh process: the values other tests compiled count
    import os

    env = dict(os.environ, JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", NEW_VALUES], capture_output=True, text=True,
                         timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    from multiact.backends import jax as bj

    n = bj.FIRST_VALUES
    assert out.stdout.split() == [str(n), str(n + 1), str(n + 2)]


def test_a_value_in_another_parameter_is_another_executable(target):
    # decision 161: jit's trace cache keys on the function and the static values, not
    # their positions: standardize(x, mean=v) and then standardize(x, variance=v) took
    # the first call's executable, and its values (an array in the other slot too)
    x = target.asarray(np.array([-1.5, 0.5, 2.0, 3.0]), "float32")
    a = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    d = np.array([-1.5, 0.5, 2.0, 3.0], np.float32)
    calls = [({"mean": 4.25}, {"variance": 4.25}),
             ({"mean": target.asarray(a, "float32"), "variance": 2.25},
              {"mean": 2.25, "variance": target.asarray(a, "float32")})]
    for first, second in calls:
        for params in (first, second):
            got = target.to_numpy(multiact.standardize(x, **params))
            mine = {k: v if isinstance(v, float) else a for k, v in params.items()}
            want = multiact.standardize(d, **mine)
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=str(mine))


def test_float64_tanh_within_the_bound_where_xla_misses(target, report):
    # XLA's float64 tanh is 6.5 ulp off near |x| = 19 and 4.1 in [2, 5]; multiact's
    # is within the row's bound (4) there and everywhere, with a derivative that keeps
    # relative accuracy where tanh is near +-1 (4e / (1 + e)^2, not 1 - tanh^2)
    from multiact._check import reference as R
    from multiact._check.score import Cell, ulp_error
    from multiact._table import BY_NAME

    row = BY_NAME["tanh"]
    rng = np.random.default_rng(11)
    a = np.concatenate([rng.uniform(0.0, 0.6, 4000), rng.uniform(0.5, 5.0, 8000),
                        rng.uniform(5.0, 20.0, 8000), np.linspace(18.9, 19.2, 2001),
                        [0.5493061443340549, 0.55, 2.0, 1e-300, 19.06154746539849, 40.0]])
    xs = np.concatenate([a, -a])
    hi, lo = R.elementwise(R.for_row(row.name), xs)
    y = multiact.tanh(target.asarray(xs, "float64"))
    err = ulp_error(target.to_numpy(y), hi, lo, "float64")
    worst = float(err.max())
    report(Cell("tanh(jax float64, XLA's weak range)", target.backend, target.device, "float64",
                xs.size, worst, row.bound("float64"), worst <= row.bound("float64")))
    assert worst <= row.bound("float64") == 4, (worst, xs[np.argmax(err)])
    g = np.asarray(jax.vmap(jax.grad(multiact.tanh))(target.asarray(xs, "float64")))
    dref = R.derivative(R.for_row(row.name), xs)
    far = np.abs(xs) >= 0.55
    np.testing.assert_allclose(g[far], dref[far], rtol=1e-13, atol=0)
    np.testing.assert_allclose(g, dref, rtol=1e-13, atol=2e-16)


def _dense_scores(target, report, name, params, dtype, xs, what):
    """``name(x, **params)`` of ``dtype`` at every value of ``xs`` (float64 values of
    that dtype) against mpmath, under ``jit`` and op by op: the worst error within the
    row's bound, each reported."""
    from multiact._check import reference as R
    from multiact._check.score import Cell, ulp_error
    from multiact._table import BY_NAME

    hi, lo = R.elementwise(R.for_row(name), xs, **params)
    b = BY_NAME[name].bound(dtype, params)
    fn = lambda t: getattr(multiact, name)(t, **params)  # noqa: E731
    for how in ("jit", "op by op"):
        x = target.asarray(xs, dtype)
        if how == "jit":
            y = jax.jit(fn)(x)
        else:
            with jax.disable_jit():
                y = fn(x)
        err = ulp_error(target.to_numpy(y), hi, lo, dtype)
        worst = float(err.max())
        report(Cell(f"{name}{params or ''} (jax {dtype}, {how}, {what})", target.backend,
                    target.device, dtype, xs.size, worst, b, worst <= b))
        assert worst <= b, (how, worst, xs[np.argmax(err)])


@pytest.mark.parametrize("name, params", [("softplus", {}), ("softplus", {"beta": 1.5}),
                                          ("log_sigmoid", {})])
def test_float64_log1p_within_the_bounds_where_xla_misses(target, report, name, params):
    # XLA's float64 log1p on the CPU is up to 128 ulp off on [-0.5, -0.3) and 1.9 on
    # [0.4, 0.7): softplus was 2.53 ulp off (the bound 2.5), softplus(beta=1.5) 3.58
    # (3.0), log_sigmoid 2.51 (2.5) (decision 189)
    xs = np.concatenate([np.linspace(-2.0, 2.0, 20001), np.linspace(-2.0, 1.0, 6001),
                         np.random.default_rng(12).uniform(-1.0, 0.0, 4000)])
    _dense_scores(target, report, name, params, "float64", xs, "XLA's log1p range")


@pytest.mark.parametrize("name, params, dtype, at", [
    ("elu", {"alpha": 4.456858042423722}, "float64", -0.2513823806911903),
    ("celu", {"alpha": 4.348734214365287}, "float64", -1.125163962558198),
    ("elu", {"alpha": 4.041483581896132}, "float32", -0.1273537129163742),
    ("celu", {"alpha": 0.25177352017764126}, "float32", -0.0320642925798893)])
def test_expm1_within_the_bounds_where_xla_misses(target, report, name, params, dtype, at):
    # XLA's expm1 on the CPU is up to 4.37 ulp off in float64 and 5.53 in float32 on
    # (-ln 2, ln 2): elu and celu with these alphas went past their bounds (5.03 ulp
    # against 5, 6.80 against 6; decision 189), at ``at`` and elsewhere
    xs = np.concatenate([np.linspace(-1.5, 0.0, 12001), [at]]).astype(dtype).astype(float)
    _dense_scores(target, report, name, params, dtype, xs, "XLA's expm1 range")


@pytest.mark.parametrize("dtype, lo, hi", [("float32", -12.9, -11.5),
                                           ("float64", -37.5, -37.2)])
def test_exact_gelu_op_by_op_near_the_bottom_of_the_normal_range(target, report, dtype, lo,
                                                                 hi):
    # op by op XLA flushed the Gaussian's subnormal correction: 62.8 ulp in float32 at
    # -12.44 (the bound 5.5), 1.6e11 ulp in float64 at -37.41, the float64 gradient
    # 1.8e-5 off there (decision 189)
    from multiact._check import reference as R

    xs = np.linspace(lo, hi, 3001).astype(dtype).astype(float)
    _dense_scores(target, report, "gelu", {"approximate": False}, dtype, xs,
                  "the normal range's bottom")
    if dtype == "float64":
        x = np.array([-37.41273545590932, -37.3])
        with jax.disable_jit():
            g = np.asarray(jax.vmap(jax.grad(
                lambda t: multiact.gelu(t, approximate=False)))(target.asarray(x, dtype)))
        want = R.derivative(R.for_row("gelu"), x, approximate=False)
        np.testing.assert_allclose(g, want, rtol=1e-14, atol=0)


def test_float32_normal_cdf_fit_on_this_device(target, report):
    # _special.ndtr32 (decision 123) on the target's device, every 251st float32 of
    # [-40, 40] against SciPy's float64 ndtr: exact GELU formed from it within the
    # row's float32 bound.  JAX takes the fit only where its default backend is the
    # CPU; on a GPU this measures it with that GPU's exp before the fit may be taken
    # there.
    sp = pytest.importorskip("scipy.special")
    from multiact._agnostic import _special
    from multiact._check.score import Cell, ulp_error
    from multiact._table import BY_NAME
    from multiact.backends.jax import NS

    bound = BY_NAME["gelu"].cases[1].bounds["float32"]
    bits = np.arange(0, np.float32(40.0).view(np.int32), 251, dtype=np.int32)
    x = np.concatenate([-bits.view(np.float32), bits.view(np.float32)])
    cdf = target.to_numpy(jax.jit(lambda t: _special.ndtr32(NS, t))(
        target.asarray(x, "float32")))
    x64 = x.astype(np.float64)
    for label, y, ref in (("ndtr32", cdf, sp.ndtr(x64)),
                          ("x * ndtr32 (exact gelu)", x * cdf, x64 * sp.ndtr(x64))):
        worst = float(ulp_error(y.astype(np.float64), ref, 0.0, "float32").max())
        report(Cell(f"{label}, float32 fit", target.backend, target.device, "float32",
                    x.size, worst, bound, worst <= bound))
        assert worst <= bound, (label, worst)


def test_a_traced_python_valued_parameter_is_refused_with_the_way_to_keep_it(target):
    # decision 174: jax.jit(multiact.standardize)(x, epsilon=1e-3) traced epsilon and
    # was refused as "got jax.DynamicJaxprTracer"; the message now names
    # static_argnames, and that way works
    from multiact._params import REQUIRED, Axes, Axis, Count, Flag, Initial, Real

    python_valued = (Real, Flag, Axis, Axes, Initial, Count)
    x = target.asarray(np.linspace(0.1, 2.0, 12).reshape(3, 4), "float32")
    tried = set()
    for info in TABLE:
        f = getattr(multiact, info.name)
        t = x.astype(jnp.int32) if info.name == "one_hot" else x
        base = dict(info.cases[0].params)
        static = tuple(p.name for p in info.params
                       if isinstance(p.kind, python_valued) and p.name in base)
        for p in info.params:
            if not isinstance(p.kind, python_valued):
                continue
            v = base.get(p.name, p.default)
            if v is None or v is REQUIRED:
                v = -1 if isinstance(p.kind, (Axis, Axes)) else 5 if isinstance(
                    p.kind, Count) else 1.0
            others = {k: w for k, w in base.items() if k != p.name}
            with pytest.raises(TypeError, match=rf"multiact\.{info.name}: argument "
                               rf"'{p.name}' .*static_argnames='{p.name}'"):
                jax.jit(lambda t, v: f(t, **others, **{p.name: v}))(t, v)
            names = tuple(dict.fromkeys(static + (p.name,)))
            got = jax.jit(f, static_argnames=names)(t, **others, **{p.name: v})
            want = f(t, **others, **{p.name: v})
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
            tried.add((info.name, p.name))
    assert ("standardize", "epsilon") in tried  # (the call that was found)


def test_identity_returns_float_input_itself(target):
    # decision 179: the jitted body's output was a new buffer (the contract: "returned
    # as it is"); integers are kept and bool promoted, by the body
    for dtype in (jnp.float32, jnp.float64, jnp.bfloat16, jnp.float16):
        x = jnp.ones((3, 5), dtype)
        assert multiact.identity(x) is x
    assert multiact.identity(jnp.arange(3)).dtype == jnp.arange(3).dtype
    assert jnp.issubdtype(multiact.identity(jnp.array([True, False])).dtype, jnp.floating)
    x = jnp.linspace(-1.0, 1.0, 6)
    np.testing.assert_array_equal(jax.jit(multiact.identity)(x), x)
    np.testing.assert_array_equal(jax.grad(lambda t: multiact.identity(t).sum())(x),
                                  np.ones(6))


def test_an_export_for_another_platform_takes_that_platforms_formulas(target):
    # decision 186: the CPU's formulas (IEEE division, exact GELU's float32 fit) were
    # chosen by jax.default_backend() when traced, so an artifact exported on a CPU
    # for CUDA had neither the corrected division (decision 113) nor the generic ndtr;
    # now jax.lax.platform_dependent chooses when lowering, for the export's platforms
    if target.device != "cpu":
        pytest.skip("compares the CPU's lowering with another platform's")
    spec = jax.ShapeDtypeStruct((1024,), jnp.float32)
    x = jnp.linspace(-14.0, 10.0, 1024, dtype=jnp.float32)
    # the marks: the corrected division splits with reduce_precision (_split), and so
    # does the float32 fit of exact GELU (_NS_F32); the generic ndtr does not
    for f, on_cpu, on_cuda in ((multiact.soft_sign, False, True),
                               (lambda t: multiact.gelu(t, approximate=False), True, False)):
        cpu = jax.export.export(jax.jit(f), platforms=("cpu",))(spec)
        cuda = jax.export.export(jax.jit(f), platforms=("cuda",))(spec)
        assert ("reduce_precision" in cpu.mlir_module(),
                "reduce_precision" in cuda.mlir_module()) == (on_cpu, on_cuda)
        np.testing.assert_array_equal(np.asarray(cpu.call(x)), np.asarray(jax.jit(f)(x)))
    both = jax.export.export(jax.jit(multiact.soft_sign), platforms=("cpu", "cuda"))(spec)
    np.testing.assert_array_equal(np.asarray(both.call(x)), np.asarray(multiact.soft_sign(x)))


def test_reverse_mode_of_an_elementwise_row_keeps_its_input_alone():
    # decision 187: reverse mode kept every intermediate of the generic body (a dozen
    # operations, a half input's in float32): jax.vjp of 1e6 float32 kept 21 MB for
    # sigmoid, 39 for silu, 55 for GELU, 63 for squareplus (jax.nn's: 4, 12, 20, 8).
    # Under jax.checkpoint the backward keeps x and computes them again.
    x = jax.numpy.linspace(-5.0, 5.0, 4096, dtype=jax.numpy.float32).reshape(64, 64)
    xh = x.astype(jax.numpy.bfloat16)
    for info in TABLE:
        if not info.elementwise or info.nonneg_input:
            continue
        f = _fn(info)
        for t in (x, xh):
            res = jax.jit(lambda v: jax.vjp(f, v)[1])(t)
            kept = sum(a.nbytes for a in jax.tree_util.tree_leaves(res)
                       if getattr(a, "size", 0) > 1)
            assert kept <= t.nbytes, (info.name, str(t.dtype), kept)
