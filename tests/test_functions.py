"""Each function on every backend: type, dtype, device, the contract (docs/contract.md)'s named values."""

import math

import numpy as np
import pytest

import multiact
from multiact._check import reference as R
from multiact._table import BY_NAME, TABLE

# every row, from the table: a new row is picked up with no edit here
ELEMENTWISE = [i for i in TABLE if i.elementwise]
# one_hot takes indices, not values (its own tests: test_one_hot, tests/test_errors.py)
OF_VALUES = [i for i in TABLE if i.name != "one_hot"]
REDUCING = [i for i in OF_VALUES if not i.elementwise]
XS = np.array([-7.5, -3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 3.0, 6.0, 20.0])


def _ids(infos):
    return [i.name for i in infos]


def _call(info, x, **kw):
    """``info``'s function of ``x`` with the parameters of its first check case."""
    return getattr(multiact, info.name)(x, **{**info.cases[0].params, **kw})


def _values(info, xs):
    """``xs`` moved into the row's domain (``nonneg_input``: |xs|)."""
    return np.abs(xs) if info.nonneg_input else xs


@pytest.mark.parametrize("info", ELEMENTWISE, ids=_ids(ELEMENTWISE))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elementwise_contract_and_values(target, info, dtype):
    xs = _values(info, XS).astype(dtype)
    x = target.asarray(xs, dtype)
    y = _call(info, x)
    assert isinstance(y, target.array_type())
    assert y.dtype == x.dtype
    hi, _ = R.elementwise(R.for_row(info.name), xs.astype(float), **info.cases[0].params)
    rtol = 3e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(target.to_numpy(y), hi, rtol=rtol, atol=0)


@pytest.mark.parametrize("info", REDUCING, ids=_ids(REDUCING))
def test_reductions_contract(target, info):
    x = target.asarray(np.arange(12.0).reshape(3, 4) / 3, "float32")
    y = _call(info, x)
    assert isinstance(y, target.array_type())
    assert y.dtype == x.dtype


@pytest.mark.parametrize("info", OF_VALUES, ids=_ids(OF_VALUES))
def test_integer_and_bool_input_promote(target, info):
    x = target.asarray(np.array([[0, 1, 2, 3]]), "int32")
    y = _call(info, x)
    if info.keep_int:
        assert y.dtype == x.dtype
    else:
        assert "float" in str(y.dtype)
    b = target.asarray(np.array([[True, False, True, False]]))
    assert "float" in str(_call(info, b).dtype)


@pytest.mark.parametrize("dtype, data, params, want", [
    ("uint8", [0, 5], {"max_value": -1.0}, [0.0, -1.0]),  # a cap below the dtype: float
    ("int8", [-100, 0, 100], {"max_value": -200.0}, [0.0, 0.0, -200.0]),
    ("int32", [1, 2], {"max_value": 1e30}, [1, 2]),  # a cap above it caps nothing
    ("int8", [1, 2], {"threshold": 1e3}, [0, 0]),  # every entry at or below it
    ("int8", [-1, 2], {"threshold": -1e3}, [-1, 2]),  # every entry above it
    ("int8", [-1, 2], {"threshold": -1e3, "max_value": 1.0}, [-1, 1]),
    ("uint8", [0, 2], {"threshold": -1.0, "max_value": 1.0}, [0, 1]),
])
def test_relu_integer_parameters_beyond_the_dtype(target, dtype, data, params, want):
    # integers are kept where the result is one of the dtype: a threshold or cap
    # beyond its range selects as it would in the reals, never wraps or overflows
    x = target.asarray(np.array(data), dtype)
    y = multiact.relu(x, **params)
    want = np.array(want)
    assert ("float" in str(y.dtype)) == (want.dtype.kind == "f"), y.dtype
    if want.dtype.kind != "f":
        assert y.dtype == x.dtype
    np.testing.assert_array_equal(target.to_numpy(y), want)


@pytest.mark.dtypes("float32")
def test_relu_slope_below_a_threshold_only(target, dtype):
    # decision 163: s (x - t) was taken on every entry, and overflowed (NumPy warned,
    # an error in this suite) on an entry above the threshold, which it did not use
    data = np.array([3e38, 65504.0, -1.0, -np.inf, np.inf, 0.0], dtype)
    y = target.to_numpy(multiact.relu(target.asarray(data, dtype), negative_slope=-2.0,
                                      threshold=-3.4e38))
    np.testing.assert_array_equal(y, np.array([3e38, 65504.0, -1.0, np.inf, np.inf, 0.0], dtype))


def test_relu_of_ml_dtypes_bfloat16_with_a_cap_keeps_its_dtype():
    # decision 163: NumPy promotes ml_dtypes' bfloat16 with a Python float to float32,
    # and relu's cap gave a float32 result (without one, bfloat16)
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.array([70000.0, -1.0, 3.0], ml_dtypes.bfloat16)
    for params in ({"max_value": 65520.0}, {"max_value": 2.0, "negative_slope": 0.5},
                   {"threshold": 1.0}):
        y = multiact.relu(x, **params)
        assert y.dtype == x.dtype, (params, y.dtype)
    np.testing.assert_array_equal(multiact.relu(x, max_value=2.0).astype(np.float32),
                                  [2.0, 0.0, 2.0])


@pytest.mark.dtypes("float32", "float64")
@pytest.mark.parametrize("slope", [2.0, -2.0, 0.5, -0.5, -1.0])
def test_leaky_relu_slopes_beyond_one_near_the_max(target, dtype, slope):
    # decision 161: NumPy's fast path took s x everywhere, and warned "overflow
    # encountered in multiply" of leaky_relu(1e308, 2.0) (an error in this suite);
    # at 0 the slope's sign, as PyTorch's x > 0 ? x : s x (NumPy's min/max gave -0
    # at +0 for s = -2)
    big = float(np.finfo(dtype).max) * 0.75
    data = np.array([big, -big / 4, -1.0, -0.0, 0.0, 2.0, np.nan, np.inf, -np.inf], dtype)
    y = target.to_numpy(multiact.leaky_relu(target.asarray(data, dtype), slope))
    with np.errstate(over="ignore", invalid="ignore"):
        want = np.where(data > 0, data, data * np.array(slope, dtype))
    np.testing.assert_array_equal(y, want)
    n = np.isnan(want)
    np.testing.assert_array_equal(np.signbit(y)[~n], np.signbit(want)[~n])


@pytest.mark.dtypes("float16")
@pytest.mark.parametrize("params", [
    {"max_value": 1e5}, {"max_value": 65510.0}, {"max_value": 65530.0}, {"max_value": -1e5},
    {"max_value": -65510.0}, {"threshold": 1e5}, {"threshold": -1e5},
    {"threshold": -1e5, "max_value": 1e5}])
def test_relu_half_parameters_beyond_the_dtype(target, dtype, params):
    # decision 160: a cap or threshold beyond float16's range selects as in the reals,
    # the cap rounded; NumPy and JAX warned "overflow encountered in cast" (an error in
    # this suite)
    data = np.array([-np.inf, -1e-3, 2.0, 65504.0, np.inf, np.nan])
    x = target.asarray(data, dtype)
    y = target.to_numpy(multiact.relu(x, **params)).astype(np.float64)
    m, t = params.get("max_value"), params.get("threshold", 0.0)
    d = data.astype(np.float16).astype(np.float64)
    want = np.where(d <= t, 0.0, d if m is None else np.where(d >= m, m, d))
    with np.errstate(over="ignore"):
        want = want.astype(np.float16).astype(np.float64)
    np.testing.assert_array_equal(y, want)


@pytest.mark.dtypes("float32", "float64")
def test_squareplus_with_b_zero_is_relu(target, dtype):
    # (x + |x|) / 2: no 0 / 0 at x = 0 (NaN and a warning before), nor where x^2
    # underflows
    data = np.array([-2.0, -0.0, 0.0, 1e-30, -1e-30, 3.0])
    x = target.asarray(data, dtype)
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        y = target.to_numpy(multiact.squareplus(x, b=0.0))
    np.testing.assert_array_equal(y, np.maximum(data.astype(dtype), 0.0))


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32"])
def test_unsigned_integers_keep_their_values(target, dtype):
    # hard_tanh's -1 is none of an unsigned dtype's values (JAX wrapped it: 255
    # everywhere); torch has few operators for uint16 and uint32 (a TypeError naming
    # the dtype, tests/test_errors.py)
    if target.backend == "torch" and dtype != "uint8":
        pytest.skip("torch: a TypeError (tests/test_errors.py)")
    data = np.array([0, 1, 2, 7, 200])
    x = target.asarray(data, dtype)
    for f, want in ((multiact.hard_tanh, np.minimum(data, 1)),
                    (multiact.relu6, np.minimum(data, 6)), (multiact.relu, data)):
        y = f(x)
        assert y.dtype == x.dtype
        np.testing.assert_array_equal(target.to_numpy(y), want)


def test_softplus_with_a_huge_beta_is_finite(target):
    # a beta whose Dekker halves would overflow takes no correction (NaN at x = 0 in a
    # first version of decision 127): log(2) / beta at 0, x above it
    x = target.asarray(np.array([0.0, -1e-36, 1.0]), "float32")
    for beta in (1e35, target.asarray(np.array(1e35), "float32")):
        with np.errstate(all="ignore"):  # (only subnormal intermediates)
            y = target.to_numpy(multiact.softplus(x, beta=beta))
        np.testing.assert_allclose(y, [np.log(2) / 1e35, 6.443966e-36, 1.0], rtol=1e-6)


def test_python_float_parameter_never_upcasts(target):
    x = target.asarray(XS, "float32")
    for y in (multiact.elu(x, 0.5), multiact.celu(x, 2.0), multiact.leaky_relu(x, 0.2),
              multiact.elu(x, np.float64(0.5)), multiact.standardize(x, epsilon=np.float64(1e-3))):
        assert y.dtype == x.dtype


@pytest.mark.dtypes("float16")
def test_half_precision_keeps_dtype(target, dtype):
    for info in OF_VALUES:
        x = target.asarray(_values(info, XS), dtype)
        with np.errstate(over="ignore"):  # a real overflow: exponential(20) in float16
            assert _call(info, x).dtype == x.dtype, info.name


def test_input_never_mutated(target):
    data = np.array([[-3.0, 0.0, 2.0, np.inf], [1.0, -np.inf, 5.0, 0.5]])
    x = target.asarray(data, "float64")
    # non-finite input may warn (docs/decisions.md 8): inf - inf in standardize, a
    # slice with nothing in sparsemax's support
    with np.errstate(invalid="ignore", divide="ignore"):
        for info in OF_VALUES:
            y = _call(info, x if not info.nonneg_input else abs(x))
            if target.backend == "dask":
                y.compute()
        multiact.softmax(x, where=target.asarray(data > 0))
    np.testing.assert_array_equal(target.to_numpy(x), data)


def test_zero_d_and_empty(target):
    x0 = target.asarray(np.array(-2.0))
    assert target.to_numpy(multiact.relu(x0)).shape == ()
    assert float(target.to_numpy(multiact.sigmoid(x0))) == pytest.approx(1 / (1 + math.e**2))
    assert target.to_numpy(multiact.softmax(x0, axis=None)) == 1.0
    e = target.asarray(np.zeros((0, 3)))
    assert target.to_numpy(multiact.gelu(e)).shape == (0, 3)
    assert target.to_numpy(multiact.softmax(e)).shape == (0, 3)
    assert target.to_numpy(multiact.softmax(target.asarray(np.zeros((2, 0))))).shape == (2, 0)
    lse = target.to_numpy(multiact.logsumexp(target.asarray(np.zeros((2, 0))), axis=-1))
    assert lse.shape == (2,) and np.all(lse == -np.inf)


@pytest.mark.parametrize("info", [i for i in TABLE if not i.elementwise and i.name != "one_hot"],
                         ids=lambda i: i.name)
def test_an_empty_batch_keeps_the_graph(info):
    # a training step on an empty batch: every reduction's result stays attached to the
    # input, so backward() gives the input a (empty) gradient (logmeanexp's NaN of an
    # empty reduction had no graph: backward() raised)
    torch = pytest.importorskip("torch")

    e = torch.randn(0, 4, requires_grad=True)
    f = getattr(multiact, info.name)
    y = f(e, axis=0) if any(p.name == "axis" for p in info.params) else f(e)
    assert y.requires_grad
    y.sum().backward()
    assert e.grad is not None and e.grad.shape == (0, 4)


# -- the contract (docs/contract.md) "extremes" ---------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extremes(target, dtype):
    def f(name, v, **k):
        return target.to_numpy(getattr(multiact, name)(target.asarray(np.array([v]), dtype),
                                                       **k))[0]

    assert f("softplus", 1e4) == 1e4
    assert f("log_sigmoid", -1e4) == -1e4
    assert f("sigmoid", -1e4) == 0
    assert f("elu", -1e4) == -1
    big = float(np.finfo(dtype).max)
    assert np.isfinite(f("gelu", big)) and np.isfinite(f("gelu", big, approximate=False))
    assert f("soft_sign", np.inf) == 1
    assert f("silu", -np.inf) == 0
    assert f("gelu", -np.inf) == 0 and f("gelu", -np.inf, approximate=False) == 0
    assert f("hard_silu", -np.inf) == 0
    for info in ELEMENTWISE:
        assert np.isnan(target.to_numpy(_call(info, target.asarray(np.array([np.nan]), dtype)))[0]), \
            info.name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_warning_and_finite_for_finite_inputs(dtype):
    fi = np.finfo(dtype)
    x = np.array([-fi.max, -1e30, -1e4, -88.0, -fi.tiny, 0.0, fi.tiny, 88.0, 1e4, 1e30,
                  fi.max / 2], dtype)
    # pytest.ini turns RuntimeWarning into an error.  Finite wherever the exact value
    # (mpmath) is finite in the dtype: selu(max / 2) overflows, as it should.
    from multiact._check.score import round_to

    for info in ELEMENTWISE:
        xs = _values(info, x)
        hi, _ = R.elementwise(R.for_row(info.name), xs.astype(float), **info.cases[0].params)
        finite = np.isfinite(round_to(hi, dtype))
        # where the exact value is finite: no warning (an error here), a finite result
        y = _call(info, xs[finite])
        assert not np.any(np.isnan(y)), info.name
        assert np.all(np.isfinite(y)), (info.name, xs[finite][~np.isfinite(y)])
        # where it overflows (relu2, exponential of 1e30): inf, the warning NumPy gives
        # for a real overflow allowed (decision 7)
        with np.errstate(over="ignore"):
            y = _call(info, xs[~finite])
        assert np.array_equal(y, round_to(hi, dtype)[~finite]), (info.name, xs[~finite], y)


@pytest.mark.parametrize("b", [1e-50, 1e40, -1e-50, 1e-40, 1e-310])
def test_logsumexp_with_a_python_weight_that_float32_does_not_hold(target, b):
    # decision 146: 1e-50 is 0 in float32 and 1e40 inf, and the result was -inf or
    # inf (as SciPy's and JAX's) where log(2 |b|) is a float32 like any other;
    # a subnormal weight kept few digits
    x = target.asarray(np.zeros(2), "float32")
    y, sign = (target.to_numpy(v) for v in multiact.logsumexp(x, b=b, return_sign=True))
    want = math.log(2.0) + math.log(abs(b))
    np.testing.assert_allclose(y, want, rtol=2 ** -23)
    assert sign == math.copysign(1.0, b)
    assert y.dtype == np.float32


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log1mexp_below_its_domain_is_nan_without_a_warning(target, dtype):
    # the contract: NaN for x < 0, without a warning (-max squared warned of an
    # overflow in NumPy, decision 146); pytest.ini makes a RuntimeWarning an error
    x = np.array([-np.finfo(dtype).max, -1e30, -1.0, -np.finfo(dtype).tiny, np.nan], dtype)
    y = target.to_numpy(multiact.log1mexp(target.asarray(x, dtype)))
    assert np.all(np.isnan(y)), y


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps,
                    reason="longdouble is float64 on this platform")
def test_numpy_longdouble_is_at_least_float64_accurate():
    # decision 146: NumPy's longdouble kept its dtype but took float32's settings in
    # a few bodies (tanh_shrink 1.2e-9 off, log1mexp's switch), and SciPy's erfcx
    # (exact gelu) refused it with SciPy's words; it is now held to float64's bounds
    from multiact._check.score import ulp_of

    rng = np.random.default_rng(146)
    xs = np.concatenate([rng.uniform(-20, 20, 200), rng.uniform(-1, 1, 100),
                         -np.logspace(-8, 2.5, 40), np.logspace(-8, 2.5, 40)])
    for info in ELEMENTWISE:
        if info.name == "one_hot":
            continue
        for case in info.cases:
            params = dict(case.params)
            if any(hasattr(v, "shape") for v in params.values()):
                continue
            x = _values(info, xs)
            y = getattr(multiact, info.name)(x.astype(np.longdouble), **params)
            assert y.dtype == np.longdouble, info.name
            hi, lo = R.elementwise(R.for_row(info.name), x, **params)
            ok = np.isfinite(hi)
            err = np.abs((y[ok] - np.longdouble(1) * hi[ok]) - lo[ok]) / ulp_of(hi[ok], "float64")
            bound = (case.bounds or info.bounds)["float64"]
            assert np.max(err) <= max(bound, 0.5), (info.label(params), float(np.max(err)),
                                                     x[ok][np.argmax(err)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("info", REDUCING, ids=_ids(REDUCING))
def test_reductions_finite_for_finite_inputs(info, dtype):
    fi = np.finfo(dtype)
    x = np.array([[-fi.max, -1e30, -1e4, -88.0, -fi.tiny, 0.0, fi.tiny, 88.0, 1e4, 1e30]], dtype)
    if info.name == "standardize":
        # data whose variance exceeds the dtype's range is out of scope
        # (docs/decisions.md, 96); within it, no warning either
        x = x[:, 1:] / 1e20
    y = _call(info, x)
    assert np.all(np.isfinite(y)), y


# -- softmax / log_softmax / logsumexp rows of the contract (docs/contract.md) -----------------------------

def test_softmax_masks_and_infinities(target):
    x = target.asarray(np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf]]))
    m = target.asarray(np.array([[True, False, True], [False, False, False], [True, True, True]]))
    y = target.to_numpy(multiact.softmax(x, where=m))
    np.testing.assert_allclose(y[0], [1 / (1 + math.e**2), 0, math.e**2 / (1 + math.e**2)])
    np.testing.assert_array_equal(y[1:], 0.0)
    ly = target.to_numpy(multiact.log_softmax(x, where=m))
    assert ly[0, 1] == -np.inf and np.all(ly[1:] == -np.inf)
    s = target.to_numpy(multiact.softmax(target.asarray(np.array([[np.inf, 0.0], [np.inf, np.inf]]))))
    np.testing.assert_array_equal(s, [[1.0, 0.0], [0.5, 0.5]])
    s3 = target.to_numpy(multiact.softmax(target.asarray(np.array([np.inf, 0.0, np.inf]))))
    np.testing.assert_array_equal(s3, [0.5, 0.0, 0.5])


def test_sparsemax_nan_infinities_and_extremes(target):
    # NaN in a slice: that slice is NaN; +inf entries share the mass (softmax's rule);
    # an all -inf slice is 0; finite entries anywhere in the range: no overflow
    # (decision 96; before: [0, inf, inf], [inf, inf], and inf with warnings)
    import warnings

    rows = [([np.nan, 0.0, 1.0], [np.nan] * 3), ([np.inf, 0.0, 1.0], [1, 0, 0]),
            ([np.inf, 0.0, np.inf], [0.5, 0, 0.5]), ([-np.inf] * 3, [0, 0, 0]),
            ([2.0, -np.inf, 1.5], [0.75, 0, 0.25])]
    big = {"float32": 3e38, "float64": 1e308}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in ("float32", "float64"):
            for row, want in rows + [([big[dtype], -big[dtype], 0.0], [1, 0, 0]),
                                     ([0.0, 1e30, 0.5], [0, 1, 0])]:
                x = target.asarray(np.array(row), dtype)
                y = target.to_numpy(multiact.sparsemax(x))
                np.testing.assert_array_equal(y, np.array(want, dtype), err_msg=str(row))


def test_log_softmax_relative_accuracy_near_zero(target):
    eps = float(np.finfo(np.float32).eps)
    x = target.asarray(np.array([1 - math.log(eps), 0.0]), "float32")
    y = target.to_numpy(multiact.log_softmax(x))
    assert y[0] == pytest.approx(-4.4e-8, rel=0.02)


@pytest.mark.parametrize("copies", [1, 3000])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_softmax_family_rows_the_native_kernel_gets_wrong(dtype, copies):
    # torch's own log_softmax and softmax serve the eager CPU path; the slices they
    # get wrong are corrected: NaN for +inf entries or nothing finite computed again
    # by the generic body (equal to it to the bit), log_softmax's slices near 0 by
    # the split sum; every other slice, and those near 0, within the row's
    # bound of mpmath; along the last axis and another; small and large tensors
    # (log_softmax checks a large one's slices first, and corrects a few near-0 rows
    # apart), below the CPU kernels' size
    torch = pytest.importorskip("torch")
    from multiact._check.reference import LOG_SOFTMAX
    from multiact._check.score import ulp_error
    from multiact._table import BY_NAME
    from multiact.backends import torch as tb

    eps = float(np.finfo(dtype).eps)
    rows = np.array([[0.3, -1.2, 2.0, 0.0], [1 - math.log(eps), 0.0, -5.0, -9.0],
                     [np.inf, 0.0, 1.0, 2.0], [-np.inf] * 4, [np.nan, 1.0, 2.0, 3.0],
                     [50.0, 0.0, 0.0, 0.0], [-1.0, -1.0, -1.0, -1.0]])
    rows = rows.astype(dtype).astype(np.float64)
    ref = np.tile(LOG_SOFTMAX.f(rows), (copies, 1))
    rows = np.tile(rows, (copies, 1))
    assert rows.size < multiact.kernels.MIN_NUMEL
    bad = (rows == np.inf).any(-1) | np.isnan(rows).any(-1) | (rows == -np.inf).all(-1)
    for x_np, axis, ref_x in ((rows, -1, ref), (rows.T[None], 1, ref.T[None])):
        x = torch.tensor(x_np, dtype=getattr(torch, dtype))
        sel = bad if axis == -1 else bad[None, :]
        for name in ("softmax", "log_softmax"):
            got = getattr(multiact, name)(x, axis=axis)
            want = BY_NAME[name].body(tb.NS, x, (axis % x.ndim,), None, None)
            fixed = np.broadcast_to(np.expand_dims(sel, axis), x_np.shape)
            assert fixed.any() and not fixed.all()
            torch.testing.assert_close(got[torch.tensor(fixed)], want[torch.tensor(fixed)],
                                       rtol=0, atol=0, equal_nan=True)
            if name == "log_softmax":
                near = np.broadcast_to(np.expand_dims(want.amax(axis).numpy() > -0.03, axis),
                                       x_np.shape)
                assert (near & ~fixed).any()
                ok = ~fixed
                err = ulp_error(got.double().numpy()[ok], ref_x[ok], 0.0, dtype)
                assert float(err.max()) <= BY_NAME["log_softmax"].bound(dtype)


@pytest.mark.parametrize("rows", [64, 512])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_log_softmax_peaked_rows(dtype, rows):
    # a trained classifier's logits: most slices' largest output near 0, so torch's
    # eager output has those computed again (all at once, along the last axis and
    # another; a small tensor every slice by the split sum, a larger one every row
    # and torch's rows back into the others: a tie for the maximum, a NaN row, an
    # all -inf row among them), within the bound of mpmath
    torch = pytest.importorskip("torch")
    from multiact._check.reference import LOG_SOFTMAX
    from multiact._check.score import ulp_error
    from multiact._table import BY_NAME

    x_np = np.random.default_rng(3).standard_normal((rows, 50))
    x_np[:, 7] += np.linspace(6.0, 30.0, rows)  # a few slices not near 0
    x_np[1, 0] = x_np[1, 7]  # (not near 0: a tie for the maximum)
    x_np = x_np.astype(dtype).astype(np.float64)
    if rows > 64:  # (the slices that torch makes NaN: the generic body's values)
        x_np[2, 5], x_np[3] = np.inf, -np.inf
    ref = LOG_SOFTMAX.f(x_np)
    assert 0.75 < (ref.max(-1) > -0.03).mean() < 1  # most: all at once
    t = torch.tensor(x_np, dtype=getattr(torch, dtype))
    # the last axis, contiguous and as a permuted view's (CTC's logits.transpose(0,
    # 1)), and another axis
    three = t.reshape(2, rows // 2, 50).transpose(0, 1)
    for xx, axis, want in ((t, -1, ref), (three, -1, ref.reshape(2, rows // 2, 50)
                                          .transpose(1, 0, 2)), (t.T.contiguous(), 0, ref.T)):
        got = multiact.log_softmax(xx, axis=axis)
        err = ulp_error(got.double().numpy(), want, 0.0, dtype)
        assert float(err.max()) <= BY_NAME["log_softmax"].bound(dtype)


@pytest.mark.parametrize("case", ["near 0, long", "near -0.06", "near -0.03, short",
                                  "skewed, long across"])
def test_torch_softmax_family_where_torch_kernel_is_off(case):
    # torch's log_softmax is off where its log(S) error is large against the output:
    # slices whose largest entry is near 0 (up to -0.5: computed again), and long
    # slices along an axis other than the last (summed in order: the generic body);
    # every entry within the bound of mpmath, both layouts where both apply
    torch = pytest.importorskip("torch")
    from multiact._check.reference import LOG_SOFTMAX
    from multiact._check.score import ulp_error

    gen = torch.Generator().manual_seed(0)
    if case == "near 0, long":      # largest output about -1e-3 over 30000 entries
        x = torch.rand(30000, 4, generator=gen)
        x[0] = math.log(30000 / 0.001) + 0.5
    elif case == "near -0.06":      # above the old threshold (-0.03): 613 ulp before
        x = torch.rand(3000, 4, generator=gen)
        x[0] = math.log(3000 / 0.06) + 0.5
    elif case == "near -0.03, short":  # 40 entries: 121 ulp before
        x = (torch.randn(40, 3000, generator=gen) * 2)[:, 1260:1264].contiguous()
    else:                           # 3000 entries across, no slice near 0
        x = torch.randn(3000, 4, generator=gen, dtype=torch.float64).mul(5).float()
    ref = LOG_SOFTMAX.f(x.double().T.numpy()).T
    outs = [(multiact.log_softmax(x, axis=0), ref)]
    if case != "skewed, long across":
        outs.append((multiact.log_softmax(x.T.contiguous(), axis=-1).T, ref))
    else:
        outs.append((multiact.softmax(x, axis=0), np.exp(ref)))
    for y, want in outs:
        assert float(ulp_error(y.double().numpy(), want, 0.0, "float32").max()) <= 64
    # a slice whose rest vanishes: its maximum is +0 (not log1p(-0) = -0)
    for t in (torch.tensor([3.0]), torch.tensor([0.0, -float("inf")]),
              torch.tensor([0.0, -200.0])):
        assert not torch.signbit(multiact.log_softmax(t)[0])


def _peaked_rows(n, dtype="float32"):
    """Two rows of ``n`` logits of ``dtype`` (as float64 values): two maxima (0)
    and the rest at -16.6 (float32, and the half dtypes, summed in float32) or
    -36.7 (float64), whose exp is just above half an ulp of a running sum near 1
    (each such term counts double in a sum that holds a maximum), in two places."""
    row = np.full(n, -36.7 if dtype == "float64" else -16.6)
    row[:2] = 0.0
    rows = np.stack([row, np.roll(row, 7)])
    if dtype == "bfloat16":  # (NumPy has no bfloat16)
        torch = pytest.importorskip("torch")
        return torch.tensor(rows).to(torch.bfloat16).double().numpy()
    return rows.astype(dtype).astype(np.float64)


def _long_row_cases():
    # float32 and float64: kernels.LONG_ROW + 1 and longer; the half dtypes (summed
    # in float32, rounded once) at their own limit (kernels.HALF_LONG_ROWS), where
    # torch's own sums still serve, and one past it
    from multiact.kernels import long_row

    out = [(n, dt) for dt in ("float32", "float64") for n in (129, 1024, 4096)]
    return out + [(long_row(dt) + k, dt) for dt in ("float16", "bfloat16") for k in (0, 1)]


@pytest.mark.parametrize("n, dtype", _long_row_cases())
def test_torch_softmax_family_peaked_long_rows(n, dtype):
    # torch's CPU softmax and log_softmax sum a slice in float32 one term after
    # another (a vector lane's share along the last axis, all of it across): on a
    # peaked slice every term in a maximum's lane rounds the same way (up to n /
    # lanes ulp: 247 at 4096 here, 1024 across at 1024; kernels.LONG_ROW).  Longer
    # slices are corrected: within the bound of mpmath, along the last axis and
    # across, in the framework paths
    torch = pytest.importorskip("torch")
    from multiact._check.reference import LOG_SOFTMAX
    from multiact._check.score import ulp_error

    x_np = _peaked_rows(n, dtype)
    ref = LOG_SOFTMAX.f(x_np)
    prev = multiact.kernels.set_mode("framework")
    try:
        for f, sign, want in ((multiact.log_softmax, 1, ref), (multiact.softmax, 1, np.exp(ref)),
                              (multiact.softmin, -1, np.exp(ref))):
            for xx, axis, w in ((x_np, -1, want), (x_np.T.copy(), 0, want.T)):
                got = f(torch.tensor(sign * xx, dtype=getattr(torch, dtype)), axis=axis)
                err = ulp_error(got.double().numpy(), w, 0.0, dtype)
                assert float(err.max()) <= BY_NAME[f.__name__].bound(dtype), (f, axis)
    finally:
        multiact.kernels.set_mode(prev)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_torch_half_softmax_across_an_axis(dtype):
    # torch's half softmax rounds once along the last axis (multiact takes it
    # there), but along another axis it rounds the part of each slice its vector
    # loop leaves over in half precision: 1.36 ulp of bfloat16 on (3, 50, 31) along
    # axis 1, against the bound of 1; such slices go through float32
    torch = pytest.importorskip("torch")
    from multiact._check.reference import LOG_SOFTMAX
    from multiact._check.score import ulp_error

    prev = multiact.kernels.set_mode("framework")
    try:
        for shape, axis in (((3, 50, 31), 1), ((300, 100), 0), ((64, 300), 1)):
            x = (torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 5).to(
                getattr(torch, dtype))
            rows = x.double().movedim(axis, -1)
            want = np.exp(LOG_SOFTMAX.f(rows.reshape(-1, shape[axis]).numpy())).reshape(
                rows.shape)
            for f, sign in ((multiact.softmax, 1), (multiact.softmin, -1)):
                got = f(sign * x, axis=axis).double().movedim(axis, -1).numpy()
                err = ulp_error(got, want, 0.0, dtype)
                assert float(err.max()) <= BY_NAME[f.__name__].bound(dtype), (f, shape, axis)
    finally:
        multiact.kernels.set_mode(prev)


def test_torch_softmax_family_peaked_huge_slices():
    # past 2^20 entries torch.sum's float32 cascade is off by more (97 eps at 2^22
    # across, on peaked slices): the eager corrections and logsumexp's sums take
    # such slices in float64, within the bound of mpmath (89.6 ulp of softmax and
    # 96 of logsumexp before); the rows are 0 or lo, so log S = log(2 + (n - 2)
    # exp(lo))
    torch = pytest.importorskip("torch")
    import mpmath as mp
    from multiact._check.score import ulp_error

    n = 1 << 22
    x = torch.full((n, 2), -16.6)
    x[:2, 0] = 0.0
    x[7:9, 1] = 0.0
    lo = float(x[2, 0])
    log_s = mp.log(2 + (n - 2) * mp.exp(lo))
    ref = np.where(x.numpy() == 0, float(-log_s), float(lo - log_s))
    prev = multiact.kernels.set_mode("framework")
    try:
        for f, want in ((multiact.log_softmax, ref), (multiact.softmax, np.exp(ref))):
            err = ulp_error(f(x, axis=0).double().numpy(), want, 0.0, "float32")
            assert float(err.max()) <= BY_NAME[f.__name__].bound("float32"), f
        err = ulp_error(multiact.logsumexp(x, axis=0).double().numpy(), float(log_s), 0.0,
                        "float32")
        assert float(err.max()) <= BY_NAME["logsumexp"].bound("float32")
    finally:
        multiact.kernels.set_mode(prev)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_torch_half_exact_gelu_framework_path_on_every_half_value(dtype):
    # the half tensors' own Function (decision 82: float32 erfc of the rounded
    # argument, uncorrected, rounded once; a float32 backward): every value of the
    # dtype, one call (65536 entries: below the tier, the framework path), value
    # and gradient within the half bound (measured 0.49993 and 0.50008 at most)
    # against float64 erfc and exp (SciPy); -inf, inf and NaN as the contract says
    torch = pytest.importorskip("torch")
    special = pytest.importorskip("scipy.special")
    from multiact._check.score import ulp_error

    dt = getattr(torch, dtype)
    x = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).view(dt).clone()
    x.requires_grad_()
    prev = multiact.kernels.set_mode("framework")
    try:
        y = multiact.gelu(x, approximate=False)
        assert type(y.grad_fn).__name__ == "_GeluFalseHalfBackward"
        y.backward(torch.ones_like(y))
        zeros = torch.tensor([0.0, -0.0], dtype=dt, requires_grad=True)
        z = multiact.gelu(zeros, approximate=False)  # +-0 keep their sign, value and
        z.backward(torch.tensor([-0.0, 0.0], dtype=dt))  # gradient (g = -0 gives -0)
    finally:
        multiact.kernels.set_mode(prev)
    assert torch.signbit(z.detach()).tolist() == [False, True]
    assert torch.signbit(zeros.grad).tolist() == [True, False]
    assert y.dtype == x.grad.dtype == dt
    xd = x.detach().double().numpy()
    fin = np.isfinite(xd)
    xf = xd[fin]
    cdf = 0.5 * special.erfc(-xf / math.sqrt(2.0))
    dwant = cdf + xf * np.exp(-xf * xf / 2.0) / math.sqrt(2.0 * math.pi)
    bound = BY_NAME["gelu"].bound(dtype, {"approximate": False})
    assert float(ulp_error(y.detach().double().numpy()[fin], xf * cdf, 0.0, dtype).max()) <= bound
    assert float(ulp_error(x.grad.double().numpy()[fin], dwant, 0.0, dtype).max()) <= 0.51
    ends = multiact.gelu(torch.tensor([-math.inf, math.inf, math.nan], dtype=dt),
                         approximate=False).tolist()
    assert ends[:2] == [0.0, math.inf] and math.isnan(ends[2])


_FIRST_ERFC = """
import torch, multiact
x = torch.linspace(-12.0, 6.0, 20001)
a = multiact.gelu(x, approximate=False)
b = multiact.gelu(x, approximate=False)
print(int((a != b).sum()))
"""


def test_torch_first_exact_gelu_of_a_process_is_right():
    # MKL's first float32 erfc of a process returned part of a large call wrong
    # (8936 of 20005 entries, 201 ulp) in about one fresh process in five or ten
    # (here 4004 of 20001 gelu values, 83 ulp); the torch backend makes a small call
    # first.  Twelve fresh processes: their first exact GELU equals their second
    pytest.importorskip("torch")
    import subprocess
    import sys

    # (one after another: run side by side, they met the race far less often)
    runs = [subprocess.run([sys.executable, "-c", _FIRST_ERFC], capture_output=True,
                           text=True, timeout=300) for _ in range(12)]
    assert all(r.returncode == 0 for r in runs), [r.stderr[-500:] for r in runs]
    assert [r.stdout.strip() for r in runs] == ["0"] * 12


def test_torch_exact_gelu_float64_without_a_fused_multiply_add(monkeypatch):
    # the float64 framework path corrects erfc's argument with one fused multiply-add
    # (torch.addcmul); where a probe finds addcmul is not one, the generic body runs
    torch = pytest.importorskip("torch")
    from multiact.backends import _torch_native as tn
    from multiact.backends import torch as tb

    x = torch.linspace(-30, 5, 1001, dtype=torch.float64)
    assert tn._fma_exact(x.device, x.dtype)  # this build: the fast path
    fast = multiact.gelu(x, approximate=False)
    monkeypatch.setitem(tn._FMA, (x.device.type, x.dtype), False)
    slow = multiact.gelu(x, approximate=False)
    assert torch.equal(slow, BY_NAME["gelu"].body(tb.NS, x, False))
    torch.testing.assert_close(fast, slow, rtol=8 * 2**-52, atol=0)


def test_torch_exact_gelu_float32_in_float32(monkeypatch):
    # the float32 framework path computes in float32 (erfc of a corrected argument,
    # one fused multiply-add): no float64 tensor is made; without the fused
    # multiply-add it takes the float64 form, and the two agree to the bound
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode
    from multiact.backends import _torch_native as tn

    class Dtypes(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for o in (out if isinstance(out, (tuple, list)) else (out,)):
                if isinstance(o, torch.Tensor):
                    seen.add(o.dtype)
            return out

    x = torch.linspace(-13, 6, 1001, dtype=torch.float32)
    assert tn._fma_exact(x.device, x.dtype)  # this build: the float32 form
    seen: set = set()
    with Dtypes():
        fast = tn._gelu_erf_fwd(x)
    assert seen == {torch.float32}
    assert torch.equal(multiact.gelu(x, approximate=False), fast)
    monkeypatch.setitem(tn._FMA, (x.device.type, x.dtype), False)
    seen.clear()
    with Dtypes():
        slow = tn._gelu_erf_fwd(x)
    assert torch.float64 in seen
    from multiact._check.score import ulp_error

    hi, lo = R.elementwise(R.for_row("gelu"), x.double().numpy(), approximate=False)
    bound = BY_NAME["gelu"].bound("float32", {"approximate": False})
    for y in (fast, slow):
        assert float(ulp_error(y.double().numpy(), hi, lo, "float32").max()) <= bound


def test_logsumexp_rules(target):
    f = lambda a, **k: target.to_numpy(multiact.logsumexp(target.asarray(np.array(a)), **k))  # noqa: E731
    assert float(f([0.0, -40.0])) == pytest.approx(4.248354255291589e-18, rel=1e-12)
    assert float(f([-np.inf, -np.inf])) == -np.inf
    assert float(f([np.inf, 0.0])) == np.inf
    assert float(f([np.inf, 1.0], b=target.asarray(np.array([0.0, 1.0])))) == 1.0
    # a Python scalar b: log(b) added; b = 0 excludes every entry (even inf)
    np.testing.assert_allclose(f(np.ones((2, 3)), axis=1, b=2.0), [1 + math.log(6.0)] * 2,
                               rtol=1e-15)
    np.testing.assert_array_equal(f([[1.0, np.inf]], axis=1, b=0), [-np.inf])
    assert np.isnan(f([0.0, 1.0], b=target.asarray(np.array([1.0, -1.0]))))
    v, s = multiact.logsumexp(target.asarray(np.array([0.0, 1.0])), b=target.asarray(np.array([1.0, -1.0])),
                              return_sign=True)
    assert float(target.to_numpy(s)) == -1.0
    assert float(target.to_numpy(v)) == pytest.approx(math.log(math.e - 1))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(f(x, axis=1, keepdims=True), np.log(np.exp(x).sum(1, keepdims=True)))
    np.testing.assert_allclose(f(x, axis=(0, 1)), np.log(np.exp(x).sum()))
    w = np.array([[True, False, True], [False, False, False]])
    got = f(x, axis=1, where=target.asarray(w))
    np.testing.assert_allclose(got, [np.log(1 + np.exp(2.0)), -np.inf])


def test_logsumexp_a_and_b_broadcast_together(target):
    # as scipy.special.logsumexp and jax.nn.logsumexp: b need not broadcast *to* a's
    # shape; the two broadcast together, and axis counts the axes of the result
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 1, 2, 1))
    b = rng.uniform(0.5, 2.0, (3, 1, 5))
    ab, bb = np.broadcast_arrays(a, b)
    for axis, keep in ((None, False), (-1, False), ((0, 2), True), (1, False)):
        got = multiact.logsumexp(target.asarray(a), axis=axis, b=target.asarray(b), keepdims=keep)
        want = np.log(np.sum(bb * np.exp(ab), axis=axis, keepdims=keep))
        assert isinstance(got, target.array_type())
        np.testing.assert_allclose(target.to_numpy(got), want, rtol=1e-13)
    # b with more dimensions than a: the result has b's leading axes
    got = multiact.logsumexp(target.asarray(a[0, 0]), axis=0, b=target.asarray(b))
    want = np.log(np.sum(np.broadcast_to(b, (3, 2, 5)) * np.exp(a[0, 0])[None], axis=0))
    np.testing.assert_allclose(target.to_numpy(got), want, rtol=1e-13)
    v, sgn = multiact.logsumexp(target.asarray(a), b=target.asarray(-b), axis=-1, return_sign=True)
    assert tuple(v.shape) == (4, 3, 2) and np.all(target.to_numpy(sgn) == -1)
    with pytest.raises(ValueError, match=r"^multiact\.logsumexp: argument 'b' has shape "
                                         r"\(3,\), which does not broadcast with a's shape "
                                         r"\(2, 4\)$"):
        multiact.logsumexp(target.asarray(np.ones((2, 4))), b=target.asarray(np.ones(3)))


@pytest.mark.dtypes("float32", "float16")
def test_logsumexp_b_takes_part_in_the_dtype(target, dtype):
    # Array API promotion, as SciPy and JAX: float32 a with float64 b is float64 (a
    # half a with a float32 b is float32); a Python number or an integer b changes nothing
    a = target.asarray(np.array([[0.0, -40.0], [1.0, 2.0]]), dtype)
    b64 = target.asarray(np.array([1.0, 0.5]), "float64")
    y = multiact.logsumexp(a, axis=-1, b=b64)
    assert y.dtype == b64.dtype
    np.testing.assert_allclose(target.to_numpy(y), [np.log1p(0.5 * np.exp(-40.0)),
                                               np.log(np.exp(1.0) + 0.5 * np.exp(2.0))],
                               rtol=1e-15 if dtype == "float32" else 1e-3)
    b32 = target.asarray(np.array([1.0, 0.5]), "float32")
    want = "float32"
    assert str(multiact.logsumexp(a, axis=-1, b=b32).dtype).endswith(want)
    assert multiact.logsumexp(a, axis=-1, b=2.0).dtype == a.dtype
    assert multiact.logsumexp(a, axis=-1, b=target.asarray(np.array([1, 2]), "int32")).dtype == a.dtype


@pytest.mark.dtypes("float16")
def test_logsumexp_half_accumulates_in_float32(target, dtype):
    x = target.asarray(np.zeros(70000), dtype)
    y = multiact.logsumexp(x)
    assert y.dtype == x.dtype
    assert float(target.to_numpy(y)) == pytest.approx(math.log(70000), rel=1e-3)


def test_standardize_large_mean_two_pass(target):
    rng = np.random.default_rng(0)
    d = 1e8 + rng.standard_normal((3, 50))
    y = target.to_numpy(multiact.standardize(target.asarray(d), epsilon=0.0))
    ref = (d - d.mean(-1, keepdims=True)) / d.std(-1, keepdims=True)
    np.testing.assert_allclose(y, ref, atol=1e-7)


@pytest.mark.dtypes("float32", "float64")
def test_standardize_constant_rows_at_an_offset_are_zero(target, dtype):
    # decision 160: the deviations are corrected by their mean (the compensation
    # term), so the mean's rounding leaves no trace: float32 rows of 7 entries of
    # 1.1e18 gave 2.2e13 for 0 (within the old error unit,
    # |mean| / std ulps); masked too
    d = np.array([[1.1e18] * 7, [4.4e15] * 7, [123.456] * 7, [-3.3e5] * 7])
    x = target.asarray(d, dtype)
    np.testing.assert_array_equal(target.to_numpy(multiact.standardize(x)), 0.0)
    w = target.asarray(np.array([[True] * 6 + [False]] * 4))
    np.testing.assert_array_equal(target.to_numpy(multiact.standardize(x, where=w)), 0.0)


@pytest.mark.dtypes("float32", "float64")
def test_standardize_constant_rows_with_epsilon_zero_or_a_given_variance(target, dtype):
    # decision 163 (a review of 160): with epsilon 0 a constant slice is 0 / 0, NaN on
    # every backend (XLA's mean(d d) - dbar^2 left ~1e-24, and JAX gave 0); with a
    # given variance the deviations are corrected by their mean too (1.1e18 gave 2.2e13)
    x = target.asarray(np.full((2, 7), 0.1), dtype)
    assert np.all(np.isnan(target.to_numpy(multiact.standardize(x, epsilon=0.0))))
    x = target.asarray(np.full((2, 7), 1.1e18), dtype)
    np.testing.assert_array_equal(target.to_numpy(multiact.standardize(x, variance=0.0)), 0.0)


def test_standardize_where_and_given_stats(target):
    d = np.array([[1.0, 2.0, 3.0, 100.0]])
    w = np.array([[True, True, True, False]])
    y = target.to_numpy(multiact.standardize(target.asarray(d), where=target.asarray(w), epsilon=0.0))
    np.testing.assert_allclose(y[0, :3], [-1.224744871391589, 0, 1.224744871391589])
    y2 = target.to_numpy(multiact.standardize(target.asarray(d), mean=2.0, variance=4.0, epsilon=0.0))
    np.testing.assert_allclose(y2, (d - 2) / 2)
    empty = target.to_numpy(multiact.standardize(target.asarray(d), where=target.asarray(np.zeros_like(w))))
    assert np.all(np.isnan(empty))


@pytest.mark.parametrize("dtype, rows", [
    ("float32", [[1e-8, 2e-8, 3e-8], [-1e-6, -3e-6, -2e-6]]),
    ("float64", [[1e-17, 3e-17, 2e-17], [-1e-9, -2e-9, -4e-9]]),
])
def test_logmeanexp_of_entries_near_their_maximum_near_zero(target, dtype, rows):
    # decision 133: exp's rounding of each term near 1 was an absolute error of eps / 2:
    # float32 logmeanexp([1e-8, 2e-8, 3e-8]) was 8.96e-8 (above the maximum), 2e-8 true
    if dtype not in target.dtypes:
        pytest.skip(f"{target.label}: no {dtype}")
    from mpmath import exp, log, mp, mpf

    d = np.array(rows, dtype)
    y = target.to_numpy(multiact.logmeanexp(target.asarray(d), axis=-1))
    with mp.workdps(40):  # (not mp.dps: the references of other tests keep theirs)
        want = [float(log(sum(exp(mpf(float(v))) for v in row) / len(row))) for row in d]
    np.testing.assert_allclose(y, np.array(want, dtype), rtol=2 * np.finfo(dtype).eps, atol=0)
    m = target.asarray(np.array([[True, True, False], [False, True, True]]))
    y = target.to_numpy(multiact.logmeanexp(target.asarray(d), axis=-1, where=m))
    with mp.workdps(40):
        want = [float(log((exp(mpf(float(d[0, 0]))) + exp(mpf(float(d[0, 1])))) / 2)),
                float(log((exp(mpf(float(d[1, 1]))) + exp(mpf(float(d[1, 2])))) / 2))]
    np.testing.assert_allclose(y, np.array(want, dtype), rtol=2 * np.finfo(dtype).eps, atol=0)


def test_standardize_zero_spread_with_epsilon_zero(target):
    # decision 130: 0 / 0 of a constant slice is NaN, a / 0 is +-inf, as torch and
    # JAX give; with no warning (RuntimeWarning is an error in this suite: NumPy,
    # dask and array-api-strict warned of the division)
    d = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
    y = target.to_numpy(multiact.standardize(target.asarray(d), epsilon=0.0))
    assert np.all(np.isnan(y[0]))
    np.testing.assert_allclose(y[1], [-1.224744871391589, 0, 1.224744871391589])
    y2 = target.to_numpy(multiact.standardize(target.asarray(d), variance=0.0, epsilon=0.0))
    assert np.all(np.isnan(y2[0])) and np.isnan(y2[1][1])
    assert (y2[1][0], y2[1][2]) == (-np.inf, np.inf)


def test_glu(target):
    d = np.array([[1.0, 2.0, 0.0, 100.0], [3.0, 4.0, -100.0, 0.0]])
    y = target.to_numpy(multiact.glu(target.asarray(d)))
    np.testing.assert_allclose(y, [[0.5, 2.0], [3.0 / (1 + math.exp(100)), 2.0]])
    y0 = target.to_numpy(multiact.glu(target.asarray(d), axis=0))
    np.testing.assert_allclose(y0, d[:1] / (1 + np.exp(-d[1:])))


def test_one_hot(target):
    idx = target.asarray(np.array([0, 2, -1, 3]), "int64")
    y = multiact.one_hot(idx, 3)
    assert isinstance(y, target.array_type()) and "float" in str(y.dtype)
    np.testing.assert_array_equal(target.to_numpy(y), [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    y0 = multiact.one_hot(idx, 3, axis=0, dtype=target.dtype_object("int32"))
    assert target.to_numpy(y0).shape == (3, 4) and "int32" in str(y0.dtype)
    np.testing.assert_array_equal(target.to_numpy(y0), target.to_numpy(y).T)


def test_one_hot_dtype_by_name(target):
    # decision 131: one spelling for every library, the dtype's name, resolved in x's
    # library (NumPy, PyTorch and array-api-strict refused "int32"; JAX and dask took it)
    idx = target.asarray(np.array([0, 2, -1]), "int64")
    for name in ("int32", "float32", "bool"):
        y = multiact.one_hot(idx, 3, dtype=name)
        assert isinstance(y, target.array_type()) and y.dtype == target.dtype_object(name)
        np.testing.assert_array_equal(target.to_numpy(y), np.eye(3, dtype=name)[[0, 2, 0]]
                                      * np.array([[1], [1], [0]], dtype=name))
    for bad in ("float", "f4", "int"):  # names outside DTYPE_NAMES, even where x's library
        with pytest.raises(TypeError, match=(  # takes them
                r"multiact\.one_hot: argument 'dtype' must be a dtype of \w+ or the name of "
                r"one \(bool, int8, .*float32, float64.*\), got '" + bad + "'")):
            multiact.one_hot(idx, 3, dtype=bad)
    for bad in (float, int, bool, complex):  # decision 165: JAX read float as float32,
        with pytest.raises(TypeError, match=(  # dask as float64, the others refused it
                r"^multiact\.one_hot: argument 'dtype' must be a dtype of \w+ or the name "
                r"of one \(bool, .*\), got <class '" + bad.__name__ + "'>$")):
            multiact.one_hot(idx, 3, dtype=bad)


def test_prelu_weight_of_one_entry_or_one_per_channel(target):
    # as F.prelu: a one-element weight for any input (0-d included), one weight per
    # channel (axis 1; axis 0 of 1-d input) for input of any rank
    def ref(d, w):
        w = np.asarray(w, float)
        if w.size > 1 and d.ndim >= 2:
            w = w.reshape((-1,) + (1,) * (d.ndim - 2))
        return np.where(d > 0, d, w.reshape(()) * d if w.size == 1 else w * d)

    rng = np.random.default_rng(0)
    for shape in [(), (5,), (2, 3), (2, 3, 4), (2, 3, 2, 2)]:
        d = rng.standard_normal(shape)
        weights = [[0.25]] + ([np.linspace(0.1, 0.5, shape[1] if len(shape) > 1 else shape[0])]
                              if shape else [])
        for w in weights:
            for wt in (target.asarray(np.asarray(w)), target.asarray(np.asarray(w).reshape(()))
                       if len(w) == 1 else target.asarray(np.asarray(w))):
                y = multiact.prelu(target.asarray(d), wt)
                assert isinstance(y, target.array_type())
                np.testing.assert_allclose(target.to_numpy(y), ref(d, w), rtol=1e-15, atol=0)
    x = target.asarray(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"^multiact\.prelu: argument 'weight' has 4 entries; "
                                         r"expected 1 or the number of channels, 3$"):
        multiact.prelu(x, target.asarray(np.ones(4)))
    with pytest.raises(ValueError, match=r"^multiact\.prelu: argument 'weight' has 2 entries; "
                                         r"expected 1 \(x is 0-d\)$"):
        multiact.prelu(target.asarray(np.array(1.0)), target.asarray(np.ones(2)))


# the rows whose output has x's shape or one entry per slice (a 0-d x: a 0-d result)
SHAPE_KEEPING = [i for i in OF_VALUES if i.elementwise or i.row_kernel]


@pytest.mark.parametrize("info", SHAPE_KEEPING, ids=_ids(SHAPE_KEEPING))
@pytest.mark.parametrize("value", [np.float32(-1.5), np.float64(0.5), np.asarray(2.0), -1.0],
                         ids=["np.float32", "np.float64", "0d-array", "python-float"])
def test_numpy_scalars_and_0d_arrays(info, value):
    value = abs(value) if info.nonneg_input else value
    y = _call(info, value)
    assert np.ndim(y) == 0
    assert np.asarray(y).dtype == np.asarray(value).dtype
    # the kind of the input (decision 124): a NumPy scalar for a NumPy scalar, else
    # an array (NumPy's ufuncs give a scalar for a 0-d array; the API is typed
    # ``ArrayT -> ArrayT``, a Python number ``-> ndarray``)
    assert type(y) is (type(value) if isinstance(value, np.generic) else np.ndarray)


@pytest.mark.parametrize("info", list(BY_NAME.values()), ids=list(BY_NAME))
def test_numpy_arrays_give_arrays(info):
    # every case of every row on 1-d NumPy input, full reductions included (0-d
    # results): an ndarray, never a NumPy scalar (decision 124)
    for case in info.cases:
        x = np.abs(np.linspace(-2.0, 2.0, 6)) + 0.5 if info.nonneg_input else \
            np.linspace(-2.0, 2.0, 6)
        if info.name == "one_hot":
            x = np.arange(3)
        try:
            y = getattr(multiact, info.name)(x, **dict(case.params))
        except (TypeError, ValueError):
            continue  # a case for another shape (glu's halves, an array parameter)
        for v in (y if isinstance(y, tuple) else (y,)):
            assert type(v) is np.ndarray, (info.name, case.params, type(v))


@pytest.mark.parametrize("info", list(BY_NAME.values()), ids=list(BY_NAME))
def test_numpy_non_native_byte_order(info):
    # '>f4'/'>f8' here (and '<' on a big-endian machine): the values of native-order
    # input, in native byte order; the input is left as it was
    import sys

    order = ">" if sys.byteorder == "little" else "<"
    data = np.linspace(-3.0, 3.0, 24).reshape(2, 3, 4)
    if info.nonneg_input:
        data = np.abs(data) + 0.1
    kinds = ["i8", "i4"] if info.name == "one_hot" else ["f4", "f8"]
    if info.name == "one_hot":
        data = np.array([[0, 2, 1], [4, 3, 0]])
    params = dict(info.cases[0].params)
    f = getattr(multiact, info.name)
    for kind in kinds:
        x = data.astype(order + kind)
        before = x.copy()
        y, want = f(x, **params), f(data.astype(kind), **params)
        assert y.dtype == want.dtype and y.dtype.isnative, (kind, y.dtype)
        np.testing.assert_array_equal(y, want)
        np.testing.assert_array_equal(x, before)
        assert x.dtype == before.dtype


def test_zero_slope_and_huge_lambd_give_the_limits_without_warnings(target):
    # decision 149: leaky_relu and prelu with a slope of 0 gave NaN at -inf (0 * -inf;
    # NumPy also at +inf, max(x, 0 x), with a warning), where the limit is -0 and
    # +inf; soft_shrink's branch not taken, x + lambd of a large positive x,
    # overflowed and NumPy warned
    import warnings

    inf = np.inf
    x = target.asarray(np.array([-inf, inf, -2.0, 3.0, np.nan]))
    want = np.array([-0.0, inf, -0.0, 3.0, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y in (multiact.leaky_relu(x, negative_slope=0.0), multiact.prelu(x, 0.0),
                  multiact.prelu(x, 0)):
            y = target.to_numpy(y)
            np.testing.assert_array_equal(y, want)
            np.testing.assert_array_equal(np.signbit(y[:3]), [True, False, True])
        big = np.array([3e38, -3e38, 1e38, -0.5, 2e38, np.nan, inf], np.float32)
        y = target.to_numpy(multiact.soft_shrink(target.asarray(big), lambd=1e38))
        lam = np.float32(1e38)
        np.testing.assert_array_equal(y, np.array(
            [big[0] - lam, big[1] + lam, 0.0, 0.0, big[4] - lam, np.nan, inf], np.float32))


def test_numpy_peak_memory_is_about_the_output():
    """NumPy runs each chain block by block: peak memory is the output plus a few
    blocks (at most 2x the output, the target; measured 1.0-1.15x)."""
    import tracemalloc

    x = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32)
    worst = {}
    for info in ELEMENTWISE:
        if not info.blockwise:  # (identity returns its input)
            continue
        p = dict(info.cases[0].params)
        xi = np.abs(x) + 0.1 if info.nonneg_input else x
        f = getattr(multiact, info.name)
        f(xi[:10], **p)
        tracemalloc.start()
        y = f(xi, **p)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        worst[info.name] = peak / y.nbytes
    assert max(worst.values()) <= 1.25, worst


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2"])
def test_torch_8bit_floats_compute_in_float32_and_round_once(dtype):
    # PyTorch has few kernels of its own for its 8-bit floats (torch.relu,
    # torch.clamp: NotImplementedError on CPU): every function computes them in
    # float32 and rounds once, selections included (exact both ways)
    torch = pytest.importorskip("torch")
    dt = getattr(torch, dtype)
    x = torch.linspace(-6, 6, 16).reshape(2, 8).to(dt)
    before = x.clone()
    for info in TABLE:
        if info.name == "one_hot":  # (indices, not floats)
            continue
        params = dict(info.cases[0].params)
        f = getattr(multiact, info.name)
        xi = x.abs() if info.nonneg_input else x
        y = f(xi, **params)
        want = f(xi.float(), **params).to(dt)
        assert y.dtype == dt, (info.name, y.dtype)
        torch.testing.assert_close(y.float(), want.float(), rtol=0, atol=0, equal_nan=True,
                                   msg=info.name)
    assert torch.equal(x.view(torch.uint8), before.view(torch.uint8))


def _float_rows_on(x):
    """``(name, function, input, params)`` of every row's first check case on ``x``
    (``|x|`` where the row takes nonnegative input), but one_hot's (indices, not
    floats)."""
    for info in TABLE:
        if info.name != "one_hot":
            yield (info.name, getattr(multiact, info.name),
                   np.abs(x) if info.nonneg_input else x, dict(info.cases[0].params))


@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e4m3fn"])
def test_numpy_arrays_of_ml_dtypes_floats_compute_in_float32(dtype):
    # np.asarray of a JAX bfloat16 or float8 array holds ml_dtypes' dtypes, which
    # NumPy's isdtype refuses: every function computes them in float32 and rounds
    # once, as it does JAX's and PyTorch's; ml_dtypes' int4 is refused by name
    ml = pytest.importorskip("ml_dtypes")
    import warnings

    dt = np.dtype(getattr(ml, dtype))
    x = np.linspace(-6, 6, 16).reshape(2, 8).astype(dt)
    before = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, f, xi, params in _float_rows_on(x):
            y, want = f(xi, **params), f(xi.astype(np.float32), **params).astype(dt)
            assert y.dtype == dt, (name, y.dtype)
            np.testing.assert_array_equal(y.astype(np.float64), want.astype(np.float64),
                                          err_msg=name)
    np.testing.assert_array_equal(x.view(np.uint8), before.view(np.uint8))
    with pytest.raises(TypeError, match=r"^multiact\.gelu: argument 'x' has unsupported "
                                        r"dtype int4$"):
        multiact.gelu(np.zeros(4, dtype=ml.int4))
    if hasattr(np, "dtypes") and hasattr(np.dtypes, "StringDType"):  # (NumPy >= 2)
        # another dtype NumPy's isdtype refuses: the contract's message, not NumPy's
        with pytest.raises(TypeError, match=r"^multiact\.gelu: argument 'x' has "
                                            r"unsupported dtype StringDType\(\)$"):
            multiact.gelu(np.array(["a"], dtype=np.dtypes.StringDType()))
    # as array parameters too (each dtype check goes through the namespace's isdtype)
    xf = np.linspace(-3, 3, 8, dtype=np.float32)
    np.testing.assert_array_equal(multiact.prelu(xf, np.asarray([0.25], dt)),
                                  multiact.prelu(xf, np.float32(np.asarray(0.25, dt))))
    assert multiact.logsumexp(xf, b=np.ones(8, dt)) == multiact.logsumexp(xf)
    with pytest.raises(TypeError, match=r"^multiact\.one_hot: argument 'x' must have an "
                                        rf"integer dtype, got {dt}$"):
        multiact.one_hot(np.array([0, 1]).astype(dt), 3)
    with pytest.raises(TypeError, match=r"^multiact\.prelu: argument 'weight' must have a "
                                        r"real dtype, got int4$"):
        multiact.prelu(xf, np.zeros(1, dtype=ml.int4))


@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e4m3fn"])
def test_dask_arrays_of_ml_dtypes_floats_compute_in_float32(dtype):
    # dask's isdtype answers False for ml_dtypes' floats, where NumPy's raises: the
    # namespace's isdtype (_dtypes.isdtype, every backend's) makes them real floating
    # there too, so a dask array of them computes in float32 and rounds once, as the
    # NumPy array it wraps does; as a parameter too
    ml = pytest.importorskip("ml_dtypes")
    da = pytest.importorskip("dask.array")
    dt = np.dtype(getattr(ml, dtype))
    x = np.linspace(-6, 6, 16).reshape(2, 8).astype(dt)
    for name, f, xi, params in _float_rows_on(x):
        y = f(da.from_array(xi, chunks=(1, 8)), **params)
        assert y.dtype == dt, (name, y.dtype)
        np.testing.assert_array_equal(np.asarray(y.compute()).astype(np.float64),
                                      f(xi, **params).astype(np.float64), err_msg=name)
    xf = da.from_array(np.linspace(-3, 3, 8, dtype=np.float32))
    w = da.from_array(np.asarray([0.25], dt))
    np.testing.assert_array_equal(multiact.prelu(xf, w).compute(),
                                  multiact.prelu(xf, 0.25).compute())
    with pytest.raises(TypeError, match=r"^multiact\.gelu: argument 'x' has unsupported "
                                        r"dtype int4$"):
        multiact.gelu(da.from_array(np.zeros(4, dtype=ml.int4)))


def test_flush_to_zero_floor_forgives_only_what_could_flush():
    # the scorer forgives a result flushed to 0 within FTZ_FLOOR smallest normals of
    # float32 (a subnormal gate times |x|), never a float16 value that float32 holds
    # (that floor was 1/16 in float16, where 0 passed for gelu(-3) = -0.00405)
    from multiact._check.score import ulp_error

    assert ulp_error([0.0], [-0.00405], 0.0, "float16")[0] > 1e3
    assert ulp_error([0.0], [-1e-6], 0.0, "float16")[0] > 10
    assert ulp_error([0.0], [-1e-36], 0.0, "float32")[0] == 0.0
    assert ulp_error([0.0], [-1e-36], 0.0, "bfloat16")[0] == 0.0
    assert ulp_error([0.0], [-1e-36], 0.0, "float16")[0] == 0.0  # (below float16's range)


def test_a_parameter_of_minus_zero_keeps_its_sign(target):
    # JAX's jit cache of static parameters took -0.0 for 0.0 (equal, and hashed alike):
    # the second call returned the first one's sign of zero
    x = target.asarray([-3.0], "float32")
    for f, name in ((multiact.threshold, "value"), (multiact.leaky_relu, "negative_slope")):
        for v in (0.0, -0.0, 0.0):
            kw = {"threshold": 0.0, name: v} if name == "value" else {name: v}
            got = target.to_numpy(f(x, **kw))[0]
            want = -3.0 * v if name == "negative_slope" else v
            assert got == 0 and math.copysign(1.0, got) == math.copysign(1.0, want), (f, v)


def test_initial_is_checked_and_changes_no_value(target):
    # decision 177: the softmax family is the same for every shift; an initial above a
    # slice's maximum underflowed its entries (softmax([0, 1], initial=800) was [0, 0],
    # log_softmax's -inf; decision 129 had called that the limit).  Now each slice's
    # own maximum shifts it, whatever the initial; a slice with nothing finite is as
    # without one (0, -inf); NaN and +inf are still refused
    rows = np.array([[1.0, 2.0], [-1e4, -1e4 - 1.0], [-np.inf, -np.inf], [np.inf, 0.0]])
    mask = np.array([[True, True], [True, False], [True, True], [True, True]])
    for dtype in ("float32", "float64"):
        x = target.asarray(rows, dtype)
        w = target.asarray(mask)
        for name in ("softmax", "softmin", "log_softmax"):
            f = getattr(multiact, name)
            for initial in (-np.inf, -1e30, 0.5, 1000.0, 1e30):
                for where in (None, w):
                    got = target.to_numpy(f(x, where=where, initial=initial))
                    want = target.to_numpy(f(x, where=where))
                    np.testing.assert_array_equal(got, want, err_msg=f"{name} {initial}")
        y = target.to_numpy(multiact.softmax(x, initial=1000.0))
        np.testing.assert_allclose(y[0], [0.26894142, 0.73105858], rtol=1e-6)
        with pytest.raises(ValueError, match=r"multiact\.softmax: argument 'initial'"):
            multiact.softmax(x, initial=float("nan"))


def test_celu_with_a_large_alpha_keeps_tiny_inputs(target):
    # x / alpha underflowed: celu(-1e-20, alpha=1e30) was 0; it is x (1 + x / (2 alpha))
    # (torch's kernel too: -0 and 100 ulp at -1e-10, decision 132)
    x = target.asarray([-1e-20, -1e-10, -1.0], "float32")
    y = target.to_numpy(multiact.celu(x, alpha=1e30))
    np.testing.assert_allclose(y, [-1e-20, -1e-10, -1.0], rtol=2e-7)
    x = target.asarray([-1e-300, -1e-10, -1.0], "float64")
    y = target.to_numpy(multiact.celu(x, alpha=1e300))
    np.testing.assert_allclose(y, [-1e-300, -1e-10, -1.0], rtol=4e-16)


def test_celu_with_an_array_alpha_outside_its_domain_is_nan(target):
    # decision 157: an array alpha is not checked as a number is; an entry at or
    # below 0 gave a finite value (the clamp at -745 alpha: celu(-2, -1) was 1)
    x = target.asarray([-2.0, -1e-3, 0.0, 3.0, -2.0], "float32")
    a = target.asarray([-1.0, 0.0, -2.0, -1.0, 0.5], "float32")
    y = target.to_numpy(multiact.celu(x, a))
    assert np.isnan(y[:3]).all() and y[3] == 3.0
    np.testing.assert_allclose(y[4], 0.5 * np.expm1(-4.0), rtol=2e-7)


def test_celu_alpha_below_the_normal_numbers_is_refused(target):
    # decision 132: a subnormal alpha was 0 where XLA flushes subnormals (JAX's
    # celu(0, 1e-39) in float32 was NaN) and torch's kernel raised (1 / alpha overflows)
    # (the bound printed whole: "at least 1.17549e-38, got 1.17549e-38" refused the
    # printed number; decision 161)
    for dt, alpha, least in (("float32", 1e-39, r"1\.1754943508222875e-38"),
                             ("float64", 1e-310, r"2\.2250738585072014e-308")):
        x = target.asarray([0.0, -1.0], dt)
        with pytest.raises(ValueError, match=(
                rf"multiact\.celu: argument 'alpha' must be at least {least} for x of dtype "
                rf"{dt}, got {alpha}")):
            multiact.celu(x, alpha)
        y = target.to_numpy(multiact.celu(x, 2.0 ** (-126 if dt == "float32" else -1022)))
        assert y[0] == 0 and y[1] == -(2.0 ** (-126 if dt == "float32" else -1022))


def test_celu_alpha_up_to_the_reciprocal_of_the_least_normal_number(target):
    # decision 142: above 2^126 (float32), 1 / alpha is subnormal: XLA turned x / alpha
    # into x (1 / alpha) and flushed it (JAX's celu(-1e38, 3e38) was -1e38); NumPy
    # warned of -745 alpha's overflow.  At the ceiling: no warning, the right value
    with pytest.raises(ValueError, match=r"multiact\.celu: argument 'alpha' must be at most "
                                         r"8\.507059173023462e\+37 for x of dtype float32, got "
                                         r"3e\+38"):
        multiact.celu(target.asarray([-1.0], "float32"), 3e38)
    a = 2.0 ** 126
    y = target.to_numpy(multiact.celu(target.asarray([-1e38, -1.0, 2.0], "float32"), a))
    want = np.array([a * math.expm1(-1e38 / a), -1.0, 2.0], np.float32)
    np.testing.assert_allclose(y, want, rtol=4 * np.finfo(np.float32).eps)


def test_sparsemax_slice_holding_nan_is_nan_in_a_large_array(target):
    # decision 164: the NaN rule read the slice's maximum, and XLA's max of a row
    # dropped the NaN in arrays of some 4096 entries and up (JAX gave a finite row
    # summing to 2.7)
    x = np.random.default_rng(0).normal(size=(32, 200))
    x[1, 0] = np.nan
    y = target.to_numpy(multiact.sparsemax(target.asarray(x)))
    assert np.isnan(y[1]).all() and not np.isnan(np.delete(y, 1, axis=0)).any()
    np.testing.assert_allclose(np.delete(y, 1, axis=0).sum(-1), 1.0, rtol=1e-6)


def test_sparsemax_of_a_0d_input_is_a_slice_of_one_entry(target):
    # decision 140: axis 0 or -1 on a 0-d input means "no axis" (the contract), as in
    # softmax: one entry takes the whole mass; NaN stays NaN, -inf alone is 0
    for v, want in ((1.5, 1.0), (-3.0, 1.0), (np.inf, 1.0), (-np.inf, 0.0)):
        for axis in (-1, 0):
            y = multiact.sparsemax(target.asarray(np.array(v)), axis=axis)
            assert isinstance(y, target.array_type()) and y.shape == ()
            assert float(target.to_numpy(y)) == want
    assert np.isnan(float(target.to_numpy(multiact.sparsemax(target.asarray(np.array(np.nan))))))
    # (other axes: out of range for a 0-d array, as the other reductions say; decision 178)
    with pytest.raises(ValueError, match=r"sparsemax: argument 'axis' is 1, out of range for "
                                         r"a 0-d array \(expected 0 or -1\)"):
        multiact.sparsemax(target.asarray(np.array(1.0)), axis=1)


def test_a_slice_holding_nan_is_nan_whole_at_every_size(target):
    # decision 178: XLA's max drops NaN in large reductions (decision 164); softmax's
    # NaN sum was then taken for 1 (s > 0 failed), and every other entry of the slice
    # came out unnormalised on JAX from 4096 elements (255 ones in a row of 256)
    for shape in ((4, 8), (16, 256), (2, 4096)):
        x = np.zeros(shape, np.float32)
        x[1, 5] = np.nan
        for name in ("softmax", "softmin", "log_softmax"):
            y = target.to_numpy(getattr(multiact, name)(target.asarray(x, "float32")))
            assert np.isnan(y[1]).all(), (name, shape)
            assert not np.isnan(np.delete(y, 1, axis=0)).any(), (name, shape)


def test_logmeanexp_of_a_0d_input_with_nothing_counted_is_nan(target):
    # decision 178: NumPy's count of a 0-d mask is a float64 scalar (a float subclass)
    # taken for a Python count: -inf and two warnings where the contract says NaN
    import warnings

    for dtype in ("float32", "float64"):
        x = target.asarray(np.array(2.0), dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = target.to_numpy(multiact.logmeanexp(x, where=target.asarray(np.array(False))))
            z = target.to_numpy(multiact.logmeanexp(x, where=target.asarray(np.array(True))))
        assert np.isnan(y) and z == 2.0, (dtype, y, z)


def test_standardize_past_the_sum_of_squares_range_is_the_contracts_zero(target):
    # decision 178: a float32 slice whose mean of squared deviations overflows, with a
    # deviation mean whose square overflows too, had a variance of inf - inf = NaN,
    # taken for 0: the slice came out at +-inf (x - mean over sqrt(epsilon)), where
    # the contract's exception says 0.  And NumPy's overflow warnings stay inside
    import warnings

    for row in ([-5e37, 0.0, 0.0, 0.0], [-1.0, 0.0, 1.0, -3e38]):
        x = target.asarray(np.array(row), "float32")
        with warnings.catch_warnings():
            # (dask's and array_api_strict's NumPy underneath warn, outside a backend's
            # reach: dask computes later, and the strict namespace has no errstate)
            warnings.simplefilter("ignore" if target.backend in ("dask", "array_api_strict")
                                  else "error")
            y = target.to_numpy(multiact.standardize(x))
        np.testing.assert_array_equal(y, np.zeros(4, np.float32), err_msg=str(row))
        y64 = target.to_numpy(multiact.standardize(target.asarray(np.array(row), "float64")))
        d = np.array(row) - np.mean(row)
        np.testing.assert_allclose(y64, d / np.sqrt(np.mean(d * d) + 1e-5), rtol=1e-12)


def test_a_device_without_float64_computes_every_function():
    """Decision 232: the standard lets a device lack float64 (array-api-strict's
    ``Device('no_float64')`` models one). Every reduction summed float32 in float64
    there, and raised the namespace's own error, naming no function. Now each check
    case, on float32 and on int32 input, gives its result on that device, in the
    dtype the default device gives (float32 for what is float64 there), the value
    the default device gives to float32's rounding."""
    xs = pytest.importorskip("array_api_strict")
    dev, home = xs.Device("no_float64"), xs.Device("CPU_DEVICE")
    grid = np.linspace(-3, 3, 24).reshape(4, 6)
    for info in TABLE:
        f = getattr(multiact, info.name)
        for case in info.cases:
            p = dict(case.params)
            if info.name == "one_hot":
                inputs = (np.array([0, 2, 1], dtype=np.int32),)
            else:
                g = np.abs(grid) + 0.1 if info.nonneg_input else grid
                inputs = (g.astype(np.float32), np.round(g).astype(np.int32))
            for a in inputs:
                want = f(xs.asarray(a), **p)
                got = f(xs.asarray(a, device=dev), **p)
                for w, y in zip(want if isinstance(want, tuple) else (want,),
                                got if isinstance(got, tuple) else (got,), strict=True):
                    # (an int input's result: the device's default float, float32 there)
                    dtype = xs.float32 if w.dtype == xs.float64 else w.dtype
                    assert y.device == dev and y.dtype == dtype, (info.label(p), a.dtype)
                    np.testing.assert_allclose(np.asarray(xs.asarray(y, device=home)),
                                               np.asarray(xs.astype(w, dtype)), rtol=4e-7,
                                               atol=1e-7,
                                               err_msg=f"{info.label(p)} {a.dtype}")
