"""Bad input: a TypeError or ValueError whose message names the function, the
argument and what was expected; the exact message for every kind of bad argument,
on every backend where the kind applies."""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import multiact
from multiact._table import TABLE

X = np.arange(8.0).reshape(2, 4)


def _raises(exc, message, call):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == message, str(info.value)


# -- the kinds of bad argument, each with its exact exception and message -------------------

def test_1_non_array_objects(target):
    _raises(TypeError, "multiact.gelu: argument 'x' must be an array (NumPy, JAX, PyTorch, CuPy, "
            "dask or any Array API array) or a Python number/sequence, got builtins.object",
            lambda: multiact.gelu(object()))
    _raises(TypeError, "multiact.softmax: argument 'x' must be an array (NumPy, JAX, PyTorch, "
            "CuPy, dask or any Array API array) or a Python number/sequence, got builtins.str",
            lambda: multiact.softmax("abc"))


def test_2_none():
    _raises(TypeError, "multiact.relu: argument 'x' must be an array (NumPy, JAX, PyTorch, CuPy, "
            "dask or any Array API array) or a Python number/sequence, got builtins.NoneType",
            lambda: multiact.relu(None))
    _raises(TypeError, "multiact.elu: argument 'alpha' must be a real number or an array, got "
            "None", lambda: multiact.elu(X, alpha=None))
    # other objects too: a parameter that takes a number or an array names both (it
    # said "must be an array" of a Fraction, a Decimal or an object)
    from decimal import Decimal
    from fractions import Fraction

    _raises(TypeError, "multiact.elu: argument 'alpha' must be a real number (an int or a "
            "float) or an array, got fractions.Fraction",
            lambda: multiact.elu(X, alpha=Fraction(1, 3)))
    _raises(TypeError, "multiact.prelu: argument 'weight' must be a real number (an int or a "
            "float) or an array, got decimal.Decimal", lambda: multiact.prelu(X, Decimal("0.5")))
    _raises(TypeError, "multiact.logsumexp: argument 'b' must be a real number (an int or a "
            "float) or an array, got object", lambda: multiact.logsumexp(X, b=object()))


def test_3_mixed_libraries():
    torch = pytest.importorskip("torch")
    t = torch.ones(2, 4)
    _raises(TypeError, "multiact.softmax: argument 'where' is a numpy array but 'x' is a torch "
            "array; pass arrays of one library (Python and NumPy scalars go with any)",
            lambda: multiact.softmax(t, where=np.ones((2, 4), bool)))
    _raises(TypeError, "multiact.logsumexp: argument 'b' is a torch array but 'a' is a numpy "
            "array; pass arrays of one library (Python and NumPy scalars go with any)",
            lambda: multiact.logsumexp(X, b=torch.ones(2, 4)))
    # scalars go with any backend, and never change the dtype
    assert multiact.elu(t, alpha=np.float32(0.5)).dtype == torch.float32
    assert multiact.leaky_relu(t, negative_slope=np.float64(0.1)).dtype == torch.float32


def test_4_float_input_to_one_hot(target):
    x = target.asarray(np.array([0.0, 1.0]), "float32")
    dt = str(x.dtype)
    _raises(TypeError, f"multiact.one_hot: argument 'x' must have an integer dtype, got {dt}",
            lambda: multiact.one_hot(x, 3))


def test_5_num_classes_not_positive(target):
    x = target.asarray(np.array([0, 1]), "int32")
    _raises(ValueError, "multiact.one_hot: argument 'num_classes' must be a positive int, got 0",
            lambda: multiact.one_hot(x, 0))
    _raises(TypeError, "multiact.one_hot: argument 'num_classes' must be an int, got float",
            lambda: multiact.one_hot(x, 2.0))
    _raises(TypeError, "multiact.one_hot: argument 'num_classes' must be an int, got bool",
            lambda: multiact.one_hot(x, True))


def test_6_axis_out_of_range(target):
    x = target.asarray(X)
    _raises(ValueError, "multiact.softmax: argument 'axis' is 2, out of range for an array of 2 "
            "dimension(s) (expected -2 <= axis < 2)", lambda: multiact.softmax(x, axis=2))
    _raises(ValueError, "multiact.glu: argument 'axis' is -3, out of range for an array of 2 "
            "dimension(s) (expected -2 <= axis < 2)", lambda: multiact.glu(x, axis=-3))
    _raises(TypeError, "multiact.logsumexp: argument 'axis' must be an int, got float",
            lambda: multiact.logsumexp(x, axis=1.5))


def test_7_duplicate_axis(target):
    x = target.asarray(X)
    _raises(ValueError, "multiact.softmax: argument 'axis' repeats an axis: (1, -1)",
            lambda: multiact.softmax(x, axis=(1, -1)))
    _raises(ValueError, "multiact.standardize: argument 'axis' repeats an axis: (0, 0)",
            lambda: multiact.standardize(x, axis=(0, 0)))


def test_8_glu_odd_size(target):
    x = target.asarray(np.ones((2, 3)))
    _raises(ValueError, "multiact.glu: argument 'x' must have an even size along axis 1, got 3",
            lambda: multiact.glu(x))


def test_9_mask_of_the_wrong_shape(target):
    x = target.asarray(X)
    _raises(ValueError, "multiact.softmax: argument 'where' has shape (3, 4), which does not "
            "broadcast to x's shape (2, 4)",
            lambda: multiact.softmax(x, where=target.asarray(np.ones((3, 4), bool))))
    _raises(ValueError, "multiact.logsumexp: argument 'where' has shape (5,), which does not "
            "broadcast to a's shape (2, 4)",
            lambda: multiact.logsumexp(x, where=target.asarray(np.ones(5, bool))))
    _raises(ValueError, "multiact.logsumexp: argument 'b' has shape (3, 4), which does not "
            "broadcast with a's shape (2, 4)",
            lambda: multiact.logsumexp(x, b=target.asarray(np.ones((3, 4)))))
    _raises(ValueError, "multiact.elu: argument 'alpha' has shape (3,), which does not "
            "broadcast to x's shape (2, 4)", lambda: multiact.elu(x, alpha=target.asarray(np.ones(3))))


def test_10_mask_not_boolean(target):
    x = target.asarray(X)
    w = target.asarray(np.ones((2, 4)))
    _raises(TypeError, f"multiact.softmax: argument 'where' must be a boolean mask, got dtype "
            f"{w.dtype}", lambda: multiact.softmax(x, where=w))


@pytest.mark.parametrize("call, message", [
    (lambda x: multiact.softplus(x, beta=-1.0),
     "multiact.softplus: argument 'beta' must be a finite real number > 0, got -1.0"),
    (lambda x: multiact.softplus(x, beta=0.0),
     "multiact.softplus: argument 'beta' must be a finite real number > 0, got 0.0"),
    (lambda x: multiact.softplus(x, beta=float("nan")),
     "multiact.softplus: argument 'beta' must be a finite real number > 0, got nan"),
    (lambda x: multiact.elu(x, alpha=float("nan")),
     "multiact.elu: argument 'alpha' must be a finite real number, got nan"),
    (lambda x: multiact.celu(x, alpha=float("inf")),
     "multiact.celu: argument 'alpha' must be a finite real number > 0, got inf"),
    (lambda x: multiact.celu(x, alpha=0.0),
     "multiact.celu: argument 'alpha' must be a finite real number > 0, got 0.0"),
    (lambda x: multiact.leaky_relu(x, negative_slope=float("nan")),
     "multiact.leaky_relu: argument 'negative_slope' must be a finite real number, got nan"),
    (lambda x: multiact.squareplus(x, b=-1.0),
     "multiact.squareplus: argument 'b' must be a finite real number >= 0, got -1.0"),
    (lambda x: multiact.hard_shrink(x, lambd=-0.5),
     "multiact.hard_shrink: argument 'lambd' must be a finite real number >= 0, got -0.5"),
    (lambda x: multiact.standardize(x, epsilon=-1e-5),
     "multiact.standardize: argument 'epsilon' must be a finite real number >= 0, got -1e-05"),
    (lambda x: multiact.threshold(x, float("inf"), 0.0),
     "multiact.threshold: argument 'threshold' must be a finite real number, got inf"),
    (lambda x: multiact.softmax(x, initial=float("nan")),
     "multiact.softmax: argument 'initial' must be a real number below +inf (or -inf, or None), "
     "got nan"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_11_parameter_out_of_domain_nan_or_infinite(target, call, message):
    _raises(ValueError, message, lambda: call(target.asarray(X)))


# every row but tanh (the contract's one function that accepts complex input, below) and
# one_hot (indices: an integer dtype, test_4)
@pytest.mark.parametrize("info", [i for i in TABLE if i.name not in ("tanh", "one_hot")],
                         ids=lambda i: i.name)
def test_12_complex_input(info):
    _raises(TypeError, f"multiact.{info.name}: argument '{info.first}' must have a real dtype, "
            f"got complex128",
            lambda: getattr(multiact, info.name)(np.array([[1 + 1j, 2j]]), **info.cases[0].params))
    np.testing.assert_allclose(multiact.tanh(np.array([0.5 + 0.25j])),
                               np.tanh(np.array([0.5 + 0.25j])))


# -- other libraries' argument names: a hint ---------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: multiact.softmax(X, dim=1),
     "multiact.softmax: unexpected argument 'dim': multiact uses axis=, as JAX does (and NumPy)"),
    (lambda: multiact.relu(X, inplace=True),
     "multiact.relu: unexpected argument 'inplace': multiact never modifies its input; assign "
     "the result instead"),
    (lambda: multiact.hardtanh(X, min_val=-2.0, max_val=2.0),
     "multiact.hard_tanh: unexpected argument 'min_val': multiact.hard_tanh clips to [-1, 1]; "
     "for other bounds use multiact.relu6 or the framework's clip"),
    (lambda: multiact.softplus(X, threshold=20),
     "multiact.softplus: unexpected argument 'threshold': multiact.softplus is exact everywhere "
     "and needs no threshold; drop it"),
    (lambda: multiact.softmax(X, dtype=np.float32),
     "multiact.softmax: unexpected argument 'dtype': multiact keeps x's dtype; cast x first "
     "(x.to(dtype) / x.astype(dtype))"),
    (lambda: multiact.logsumexp(X, keepdim=True),
     "multiact.logsumexp: unexpected argument 'keepdim': multiact uses keepdims=, as NumPy and "
     "JAX do"),
    (lambda: multiact.gelu(X, foo=1),
     "multiact.gelu: unexpected argument 'foo' (it takes x, approximate)"),
    # PyTorch's positional forms
    (lambda: multiact.hardtanh(X, -2.0, 2.0),
     "multiact.hard_tanh: takes 1 positional argument (x) but 3 were given; PyTorch's "
     "hardtanh(x, min_val, max_val)? multiact.hard_tanh clips to [-1, 1]; for other bounds use "
     "the framework's clip"),
    (lambda: multiact.softplus(X, 1.0, 20.0),
     "multiact.softplus: takes 2 positional arguments (x, beta) but 3 were given; PyTorch's "
     "softplus(x, beta, threshold)? multiact.softplus is exact everywhere and needs no "
     "threshold; drop it"),
    (lambda: multiact.relu(X, True),
     "multiact.relu: takes 1 positional argument (x) but 2 were given; PyTorch's inplace flag? "
     "multiact never modifies its input; assign the result instead"),
    (lambda: multiact.softmax(X, 0, np.dtype("float32")),  # PyTorch's softmax(x, dim, dtype)
     "multiact.softmax: argument 'where' must be an array, got numpy.Float32DType; multiact "
     "keeps x's dtype: cast x first"),
    (lambda: multiact.gelu(X, True, 3),
     "multiact.gelu: takes 2 positional arguments (x, approximate) but 3 were given"),
])
def test_other_libraries_arguments_get_a_hint(call, message):
    _raises(TypeError, message, call)


def test_numpy_matrix_is_refused_not_silently_wrong():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    # why: one of each kind a matrix broke (a product in the body, a reduction, halves)
    for name in ("gelu", "hard_silu", "softmax", "glu"):
        _raises(TypeError, f"multiact.{name}: argument 'x' is a numpy.matrix, whose '*' is a "
                "matrix product; expected an array: pass numpy.asarray(...)",
                lambda: getattr(multiact, name)(m))
    _raises(TypeError, "multiact.softmax: argument 'where' is a numpy.matrix, whose '*' "
            "is a matrix product; expected an array: pass numpy.asarray(...)",
            lambda: multiact.softmax(np.ones((2, 2)), where=m > 1))
    ma = np.ma.array([1.0, -2.0, 3.0, 1e6], mask=[0, 1, 0, 1])
    for name in ("gelu", "sparsemax"):
        _raises(TypeError, f"multiact.{name}: argument 'x' is a numpy.ma.MaskedArray, whose "
                "mask multiact does not honour; expected an array: pass numpy.ma.getdata(...), "
                "with where= for the mask (the reductions)", lambda: getattr(multiact, name)(ma))
    _raises(TypeError, "multiact.logsumexp: argument 'b' is a numpy.matrix, whose '*' is a "
            "matrix product; expected an array: pass numpy.asarray(...)",
            lambda: multiact.logsumexp(np.ones((2, 2)), axis=-1, b=m))
    # other subclasses are NumPy arrays
    mm = np.arange(4.0).view(type("Sub", (np.ndarray,), {}))
    np.testing.assert_array_equal(multiact.relu(mm), [0.0, 1.0, 2.0, 3.0])


def test_torch_masked_tensor_is_refused_not_a_recursion_error():
    # decision 194: the bodies ended in a RecursionError (MaskedTensor's where) or in
    # torch's words (softmax: "_reduce_dim_args() got an unexpected keyword argument
    # 'keepdims'"); refused as numpy.ma.MaskedArray is, as input and as a parameter
    torch = pytest.importorskip("torch")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch's prototype warning)
        from torch.masked import masked_tensor

        mt = masked_tensor(torch.tensor([[-2.0, 100.0, 0.5]]),
                           torch.tensor([[True, False, True]]))
    for info in TABLE:
        if info.name != "one_hot":
            _raises(TypeError, f"multiact.{info.name}: argument '{info.first}' is a "
                    "torch.masked.MaskedTensor, whose mask multiact does not honour; expected "
                    f"a tensor: pass {info.first}.get_data(), with where={info.first}.get_mask() "
                    "for the mask (the reductions)",
                    lambda: getattr(multiact, info.name)(mt, **dict(info.cases[0].params)))
    _raises(TypeError, "multiact.celu: argument 'alpha' is a torch.masked.MaskedTensor, whose "
            "mask multiact does not honour; expected a tensor: pass alpha.get_data()",
            lambda: multiact.celu(torch.ones(3), alpha=mt))


def test_python_number_subclasses_are_python_numbers():
    # decision 194: a float subclass or an IntEnum member was refused as "not a Python
    # number"; NumPy input, as np.asarray takes them
    import enum

    class Celsius(float):
        pass

    class Level(enum.IntEnum):
        LOW = -1

    y = multiact.relu(Celsius(-1.5))
    assert type(y) is np.ndarray and y.dtype == np.float64 and y == 0.0
    y = multiact.softplus(Level.LOW)
    assert type(y) is np.ndarray and y == pytest.approx(np.log1p(np.exp(-1.0)), rel=1e-15)
    assert type(multiact.relu(np.float32(-2.0))) is np.float32  # (NumPy's own: a scalar)


def test_ndarray_subclasses_keep_their_class_in_every_function():
    # decision 194: softmin, logmeanexp and sparsemax gave a plain ndarray for a plain
    # subclass, which every other function keeps (as NumPy's ufuncs do)
    sub = type("Sub", (np.ndarray,), {})
    x = np.array([[-2.0, -0.5, 0.5, 3.0]], np.float32).view(sub)
    for info in TABLE:
        if info.name != "one_hot":
            p = dict(info.cases[0].params)
            y = getattr(multiact, info.name)(abs(x) if info.nonneg_input else x, **p)
            assert type(y) is sub, (info.name, type(y))
    # (and past the defaults: a masked softmax, logsumexp's pair, lost it too)
    assert type(multiact.softmax(x, where=np.asarray(x) > 0)) is sub
    assert [type(v) for v in multiact.logsumexp(x, axis=1, return_sign=True)] == [sub, sub]


def test_dask_arrays_of_masked_or_matrix_blocks_are_refused():
    # decision 166: the blocks' masks were dropped by some functions and half used by
    # others (standardize gave [-0.707, --, 1.414] for [1, --, 2]), and dtypes changed
    # at compute while the graph said float32
    da = pytest.importorskip("dask.array")
    data = da.from_array(np.array([[1.0, -999.0, 2.0]], np.float32), chunks=2)
    x = da.ma.masked_equal(data, -999.0)
    msg = ("multiact.{}: argument '{}' is a dask array whose blocks are numpy.ma.MaskedArray, "
           "whose mask multiact does not honour; expected an array: pass "
           "dask.array.ma.getdata(...), with where= for the mask (the reductions)")
    for info in TABLE:
        if info.name != "one_hot":
            _raises(TypeError, msg.format(info.name, info.first),
                    lambda: getattr(multiact, info.name)(x, **dict(info.cases[0].params)))
    _raises(TypeError, msg.format("softmax", "where"),
            lambda: multiact.softmax(data, where=x > 0))
    _raises(TypeError, msg.format("elu", "alpha"), lambda: multiact.elu(data, x))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        m = data.map_blocks(np.asmatrix)
    _raises(TypeError, "multiact.gelu: argument 'x' is a dask array whose blocks are "
            "numpy.matrix, whose '*' is a matrix product; expected an array: pass "
            "x.map_blocks(numpy.asarray)", lambda: multiact.gelu(m))
    np.testing.assert_allclose(multiact.softmax(data).compute(),  # plain blocks: computed
                               multiact.softmax(data.compute()), rtol=0, atol=0)


def test_numpy_memmap_gives_ndarrays_as_numpy_ufuncs_do(tmp_path):
    # decision 166: the generic bodies' empty_like kept the subclass (a memmap of no file)
    mm = np.memmap(tmp_path / "x", np.float32, "w+", shape=(2, 4))
    mm[:] = np.linspace(-3, 3, 8, dtype=np.float32).reshape(2, 4)
    assert type(np.exp(mm)) is np.ndarray
    for info in TABLE:
        if info.name == "one_hot":
            continue
        y = getattr(multiact, info.name)(mm, **dict(info.cases[0].params))
        for v in (y if isinstance(y, tuple) else (y,)):
            assert type(v) is np.ndarray, (info.name, type(v))
        want = getattr(multiact, info.name)(np.array(mm), **dict(info.cases[0].params))
        np.testing.assert_array_equal(y, want, err_msg=info.name)
    assert np.shares_memory(multiact.identity(mm), mm)  # identity: the input's data
    sub = np.linspace(-3, 3, 8).view(type("Sub", (np.ndarray,), {}))
    assert type(multiact.gelu(sub)) is type(np.exp(sub)) is type(sub)  # others are kept


def test_an_array_as_an_int_parameter_is_refused_not_computed():
    # decision 166: operator.index computed a dask graph (or would sync a device)
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")

    def refuse(*a, **k):
        raise AssertionError("computed")

    with dask.config.set(scheduler=refuse):
        hint = (" (an array, which multiact does not read back from its device: pass {!r} "
                "as a Python value, e.g. float(v), int(v) or bool(v))")
        _raises(TypeError, "multiact.one_hot: argument 'num_classes' must be an int, got "
                "dask.Array" + hint.format("num_classes"),
                lambda: multiact.one_hot(da.arange(3), da.asarray(3)))
        _raises(TypeError, "multiact.softmax: argument 'axis' must be an int, got dask.Array"
                + hint.format("axis"),
                lambda: multiact.softmax(da.ones((2, 2)), axis=da.asarray(0)))
    # NumPy's integers and 0-d integer arrays hold their value
    np.testing.assert_array_equal(multiact.softmax(np.ones((2, 2)), axis=np.array(0)),
                                  np.full((2, 2), 0.5))


def test_numpy_longdouble_scalar_parameters_are_real_numbers():
    # decision 166: its .item() is itself, refused as "must be real"
    x = np.array([-1.0, 2.0], np.longdouble)
    np.testing.assert_array_equal(multiact.elu(x, np.longdouble(2.0)), multiact.elu(x, 2.0))
    np.testing.assert_array_equal(multiact.leaky_relu(X, np.longdouble(0.25)),
                                  multiact.leaky_relu(X, 0.25))
    if np.finfo(np.longdouble).max > np.finfo(np.float64).max:  # (x86's 80-bit)
        for v in ("1e400", "1e-400"):
            _raises(ValueError, f"multiact.elu: argument 'alpha' is {v.replace('e4', 'e+4')}, "
                    f"beyond float64's range; expected a real number that float64 holds",
                    lambda: multiact.elu(x, np.longdouble(v)))


def _scalar_parameters():
    """(row, parameter name) of every real scalar parameter (not logsumexp's b, an
    operand)."""
    from multiact._params import Real, RealOrArray, Weight

    return [(info, p.name) for info in TABLE for p in info.params
            if type(p.kind) in (Real, RealOrArray, Weight)]


@pytest.mark.parametrize("info, pname", _scalar_parameters(),
                         ids=[f"{i.name}-{n}" for i, n in _scalar_parameters()])
def test_scalar_parameter_beyond_the_work_dtype(target, info, pname):
    # a float32 computation cannot hold the parameter: a ValueError naming it (NumPy
    # and JAX warned of an overflow in a cast, torch raised its own RuntimeError);
    # float64 computes it
    f = getattr(multiact, info.name)
    params = {**dict(info.cases[0].params), pname: 1e300}
    x = target.asarray(np.array([-1.0, 0.5]) + (2.0 if info.nonneg_input else 0.0), "float32")
    with pytest.raises(ValueError, match=rf"^multiact\.{info.name}: argument '{pname}' must be "
                                         r"within float32's range .*x's dtype float32 is "
                                         r"computed in float32\), got 1e\+300"):
        f(x, **params)
    if "float64" in target.dtypes:
        x64 = target.asarray(np.array([-1.0, 0.5]) + (2.0 if info.nonneg_input else 0.0),
                             "float64")
        with np.errstate(over="ignore", invalid="ignore"):  # (a real overflow: 1e300 x^2)
            assert "float64" in str(f(x64, **params).dtype)


def test_torch_wide_unsigned_dtypes_are_refused_by_name():
    # torch has no comparison for uint16/32/64 on the CPU: ATen's NotImplementedError
    # named neither the function nor the argument
    torch = pytest.importorskip("torch")
    for name in ("uint16", "uint32", "uint64"):
        if not hasattr(torch, name):
            continue
        x = torch.tensor([0, 1, 7], dtype=getattr(torch, name))
        for f in (multiact.relu, multiact.relu6, multiact.hard_tanh):
            with pytest.raises(TypeError, match=rf"^multiact\.{f.__name__}: argument 'x' has "
                                                rf"dtype torch\.{name}, .*expected a tensor of "
                                                "another dtype"):
                f(x)


def test_torch_layouts_other_than_strided_are_right_or_refused():
    """Every row on a sparse COO, a sparse CSR, an mkldnn and two nested tensors
    (jagged, strided): torch's value where torch's ops compute it (each entry equal
    to the dense call's), else the contract's TypeError, never ATen's
    NotImplementedError (decision 108)."""
    import warnings

    torch = pytest.importorskip("torch")
    dense = torch.tensor([[0.0, -1.5, 0.0, 2.0], [3.0, 0.0, -0.5, 0.0]])

    def parts(r):
        return list(r.unbind())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        inputs = {"has layout torch.sparse_coo": (dense.to_sparse(), lambda r: [r.to_dense()]),
                  "has layout torch.sparse_csr": (dense.to_sparse_csr(),
                                                  lambda r: [r.to_dense()]),
                  "has layout torch._mkldnn": (dense.to_mkldnn(), lambda r: [r.to_dense()]),
                  "is a nested tensor (layout torch.jagged)": (
                      torch.nested.nested_tensor([dense, dense[:1]], layout=torch.jagged), parts),
                  "is a nested tensor (layout torch.strided)": (
                      torch.nested.nested_tensor([dense, dense[:1]]), parts)}
    computed, refused = set(), set()
    for info in TABLE:
        params = {k: v for k, v in info.cases[0].params.items() if not hasattr(v, "shape")}
        if len(params) < len(info.cases[0].params) or info.name == "one_hot":
            continue
        f = getattr(multiact, info.name)
        for what, (x, unpack) in inputs.items():
            try:
                out = f(x, **params)  # the array argument first, by position
            except TypeError as e:
                assert str(e).startswith(
                    f"multiact.{info.name}: argument '{info.first}' {what}, on which "
                    f"multiact's {info.name} needs an operator that PyTorch lacks ("), str(e)
                assert str(e).endswith("); expected a dense tensor (layout torch.strided)"), \
                    str(e)
                refused.add((info.name, what.split()[-1]))
                continue
            got = unpack(out)
            dense_parts = [dense] if len(got) == 1 else [dense, dense[:1]]
            for g, d in zip(got, dense_parts, strict=True):
                torch.testing.assert_close(g, f(d, **params), rtol=3e-7, atol=0,
                                           equal_nan=True, msg=f"{info.name}: {what}")
            computed.add((info.name, what.split()[-1]))
    # why: both outcomes are reached (a check that could never refuse proves nothing)
    assert ("relu", "torch.sparse_coo") in computed and ("gelu", "torch.sparse_coo") in refused
    assert ("gelu", "torch.jagged)") in computed and ("glu", "torch.jagged)") in refused
    assert ("gelu", "torch.strided)") in refused and ("gelu", "torch._mkldnn") in refused
    x = dense.to_sparse()
    _raises(TypeError, "multiact.sigmoid: argument 'x' has layout torch.sparse_coo, on "
            "which multiact's sigmoid needs an operator that PyTorch lacks "
            "(NotImplementedError: Could not run "
            "'aten::sigmoid' with arguments from the 'SparseCPU' backend); expected a dense "
            "tensor (layout torch.strided)", lambda: multiact.sigmoid(x))
    assert x.layout == torch.sparse_coo and torch.equal(x.to_dense(), dense)  # not mutated
    # multiact's own error about the call stands on any layout: glu's odd axis was
    # "an operator that PyTorch lacks", a TypeError (decision 232)
    odd = dense[:, :3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        sparse = (odd.to_sparse(), odd.to_sparse_csr())
    for y in sparse:
        _raises(ValueError, "multiact.glu: argument 'x' must have an even size along "
                "axis 1, got 3", lambda: multiact.glu(y))


def test_torch_array_arguments_on_another_device_or_layout_or_as_a_dtype():
    """A mask, weight or slope tensor on another device (meta stands for a GPU here)
    or of a sparse layout, and a tensor given as a dtype: the contract's errors, where
    torch's operators said it in their own words (decision 146). A 0-d CPU tensor
    goes with any device, as in torch."""
    torch = pytest.importorskip("torch")
    x = torch.linspace(-2.0, 2.0, 12).reshape(3, 4)
    meta = {"device": "meta"}
    _raises(ValueError, "multiact.softmax: argument 'where' is on device meta but 'x' is on "
            "cpu; expected one device (where.to(x.device))",
            lambda: multiact.softmax(x, where=torch.ones(3, 4, dtype=torch.bool, **meta)))
    for call, pname in ((lambda v: multiact.leaky_relu(x, negative_slope=v), "negative_slope"),
                        (lambda v: multiact.prelu(x, v), "weight"),
                        (lambda v: multiact.logsumexp(x, b=v), "b"),
                        (lambda v: multiact.standardize(x, mean=v), "mean")):
        with pytest.raises(ValueError, match=rf"argument '{pname}' is on device meta but "):
            call(torch.full((4,), 0.25, **meta))
        cpu_scalar = call(torch.tensor(0.25))  # a 0-d CPU tensor: as a Python number
        torch.testing.assert_close(cpu_scalar, call(0.25) if pname != "weight" else
                                   multiact.prelu(x, torch.full((1,), 0.25)))
    sparse = torch.ones(3, 4, dtype=torch.bool).to_sparse()
    _raises(TypeError, "multiact.softmax: argument 'where' has layout torch.sparse_coo; "
            "expected the layout of 'x' (torch.strided)", lambda: multiact.softmax(x, where=sparse))
    # a jagged mask of a jagged tensor: torch's where computes it (the review)
    comps = [torch.tensor([[1.0, -2.0], [3.0, 4.0]]), torch.tensor([[0.0, 1.0]])]
    nested = torch.nested.nested_tensor(comps, layout=torch.jagged)
    got = multiact.softmax(nested, where=nested > 0)
    for g, c in zip(got.unbind(), comps, strict=True):
        torch.testing.assert_close(g, multiact.softmax(c, where=c > 0))
    _raises(TypeError, "multiact.one_hot: argument 'dtype' must be a dtype of torch, got "
            "tensor(0.5000)", lambda: multiact.one_hot(torch.tensor([1, 2]), 3,
                                                        dtype=torch.tensor(0.5)))
    assert multiact.one_hot(torch.tensor([1, 2]), 3, dtype=torch.float16).dtype == torch.float16



def test_dtypes_that_cannot_hold_the_result_are_refused():
    """Decision 228: JAX's 2-bit integers under the rows that keep integer dtypes
    (relu6 of uint2 3 was 2: its 6 wrapped; hard_tanh of int2 was all -1, XLA's
    clamp), float8_e8m0fnu (no zero, no sign: threshold(0.25, 0.5, -1) was 1 on
    PyTorch) and PyTorch's packed float4_e2m1fn_x2 (torch's NotImplementedError)
    get the contract's TypeError; a 2-bit integer still becomes a float elsewhere."""
    arrays = []
    jnp = pytest.importorskip("jax.numpy")
    for dt in ("int2", "uint2"):
        if hasattr(jnp, dt):
            x = jnp.asarray([0, 1], getattr(jnp, dt))
            for name in ("relu", "relu6", "hard_tanh"):
                _raises(TypeError, f"multiact.{name}: argument 'x' has dtype {dt}, too narrow "
                        f"for {name}, which keeps integer dtypes; expected an integer of 4 "
                        f"bits or more (cast x to int8)", lambda: getattr(multiact, name)(x))
            got = multiact.gelu(x, approximate=False)
            assert jnp.issubdtype(got.dtype, jnp.floating)  # (the default float)
            assert float(got[1]) == pytest.approx(0.8413447, 1e-6)
    if hasattr(jnp, "float8_e8m0fnu"):
        arrays.append(jnp.ones(3, jnp.float8_e8m0fnu))
        arrays.append(np.ones(3, jnp.float8_e8m0fnu))  # (ml_dtypes' NumPy dtype)
    torch = pytest.importorskip("torch")
    if hasattr(torch, "float8_e8m0fnu"):
        arrays.append(torch.ones(3).to(torch.float8_e8m0fnu))
    assert arrays
    for x in arrays:
        for name in ("gelu", "relu", "softmax"):
            _raises(TypeError, f"multiact.{name}: argument 'x' has dtype {x.dtype}, which holds "
                    f"neither zero nor negative values; expected a floating dtype with a sign "
                    f"(cast x to float32)", lambda: getattr(multiact, name)(x))
    if hasattr(torch, "float4_e2m1fn_x2"):
        x = torch.zeros(4, dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
        _raises(TypeError, "multiact.gelu: argument 'x' has unsupported dtype "
                "torch.float4_e2m1fn_x2", lambda: multiact.gelu(x))


def test_array_api_arguments_on_another_device():
    """array_api_strict's second device: an array argument (a mask, a weight, a
    slope) on another device than the input is the contract's ``ValueError``, where
    the library refused it in its own words or, for logsumexp's ``b`` that needs
    broadcasting, moved it without a word (decision 228). Both on that device: the
    result stays there."""
    xs = pytest.importorskip("array_api_strict")
    other = xs.Device("device1")
    x = xs.reshape(xs.linspace(-2.0, 2.0, 12), (3, 4))
    _raises(ValueError, "multiact.logsumexp: argument 'b' is on device "
            "array_api_strict.Device('device1') but 'a' is on "
            "array_api_strict.Device('CPU_DEVICE'); expected one device (b.to_device(a.device))",
            lambda: multiact.logsumexp(x, b=xs.full((4,), 0.5, device=other)))
    calls = ((lambda v, x: multiact.softmax(x, where=v > 0), "where"),
             (lambda v, x: multiact.leaky_relu(x, negative_slope=v), "negative_slope"),
             (lambda v, x: multiact.prelu(x, v), "weight"),
             (lambda v, x: multiact.celu(x, alpha=v + 1.0), "alpha"),
             (lambda v, x: multiact.logsumexp(x, b=v, axis=-1), "b"),
             (lambda v, x: multiact.standardize(x, mean=v), "mean"))
    for call, pname in calls:
        for shape in ((4,), (1, 4)):
            with pytest.raises(ValueError, match=rf"multiact\.\w+: argument '{pname}' is on "
                               r"device array_api_strict\.Device\('device1'\) but '[xa]' is on"):
                call(xs.full(shape, 0.25, device=other), x)
        got = call(xs.full((4,), 0.25, device=other), xs.asarray(x, device=other))
        assert got.device == other
        want = call(xs.full((4,), 0.25), x)
        assert xs.all(xs.asarray(got, device=x.device) == want), pname

def test_reductions_of_a_jagged_tensor_along_any_axis_are_right_or_refused():
    """Each reduction row over every axis of a jagged nested tensor: each component's
    dense value, or the layout's TypeError. standardize along the ragged axis counted
    its slices from the shape's symbol and gave numbers in the hundreds (decision 146)."""
    torch = pytest.importorskip("torch")
    comps = [torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64),
             torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], dtype=torch.float64)]
    x = torch.nested.nested_tensor(comps, layout=torch.jagged)  # (2, j1, 2), ragged axis 1
    computed, refused = set(), set()
    for info in TABLE:
        if not any(p.name == "axis" for p in info.params) or info.name == "one_hot":
            continue
        f = getattr(multiact, info.name)
        kind = next(type(p.kind).__name__ for p in info.params if p.name == "axis")
        for axis in (1, 2, -1) + ((None, (1, 2)) if kind == "Axes" else ()):
            try:
                out = f(x, axis=axis)
            except TypeError as e:
                assert str(e).startswith(f"multiact.{info.name}: argument '{info.first}' is a "
                                         f"nested tensor (layout torch.jagged)"), str(e)
                refused.add((info.name, axis))
                continue
            # a component's axis is the jagged one's less 1 (no batch axis)
            dense_axis = axis if isinstance(axis, int) and axis < 0 else axis - 1
            for got, c in zip(out.unbind(), comps, strict=True):
                torch.testing.assert_close(got, f(c, axis=dense_axis), rtol=3e-7, atol=0)
            computed.add((info.name, axis))
    # why: both outcomes are reached, and the ragged axis is never computed
    assert ("standardize", -1) in computed and ("softmax", 2) in computed
    assert {("standardize", 1), ("standardize", None), ("standardize", (1, 2))} <= refused
    assert not {(n, a) for n, a in computed if a in (1, None, (1, 2))}


def test_row_functions_of_a_jagged_tensor_that_records_a_gradient_are_refused():
    # decision 166: the forward was right, and loss.backward() then failed in ATen's
    # words (aten._nested_sum_backward), far from the call
    torch = pytest.importorskip("torch")
    comps = [torch.randn(3, 8, dtype=torch.float64), torch.randn(5, 8, dtype=torch.float64)]
    no_backward = set()
    for info in TABLE:  # each row: refused at the call, or its backward runs
        if not any(p.name == "axis" for p in info.params) or info.name == "one_hot":
            continue
        f = getattr(multiact, info.name)
        x = torch.nested.nested_tensor(comps, layout=torch.jagged, requires_grad=True)
        try:
            y = f(x)
        except TypeError as e:
            assert str(e).startswith(f"multiact.{info.name}: argument '{info.first}' is a "
                                     f"nested tensor (layout torch.jagged), on which "), str(e)
            if "aten._nested_sum_backward, which a call that records a gradient" in str(e):
                no_backward.add(info.name)
                with torch.no_grad():  # no gradient recorded: computed
                    for got, c in zip(f(x).unbind(), comps, strict=True):
                        torch.testing.assert_close(got, f(c), rtol=3e-7, atol=0)
            continue
        (y.values() if y.is_nested else y).pow(2).sum().backward()
        assert x.grad is not None, info.name
    # why: the refusal is reached (softmax's forward computed a jagged tensor)
    assert "softmax" in no_backward and "standardize" in no_backward, no_backward


def test_numpy_bool_scalars_are_flags():
    np.testing.assert_array_equal(multiact.gelu(X, approximate=np.bool_(False)),
                                  multiact.gelu(X, approximate=False))
    np.testing.assert_array_equal(multiact.logsumexp(X, keepdims=np.True_),
                                  multiact.logsumexp(X, keepdims=True))


def test_numpy_bool_scalar_masks_go_with_any_library(target):
    # as the error message says: Python and NumPy scalars go with any library
    # (np.True_ was "a numpy array but 'x' is a torch array"; decision 161)
    x = target.asarray(X)
    for name in [i.name for i in TABLE if any(p.name == "where" for p in i.params)]:
        f = getattr(multiact, name)
        for flag in (np.True_, np.False_):
            np.testing.assert_array_equal(target.to_numpy(f(x, where=flag)),
                                          target.to_numpy(f(x, where=bool(flag))), err_msg=name)


def test_ml_dtypes_scalars_are_numpy_scalars(target):
    # decision 210: ml_dtypes' scalars (bfloat16, float8: numpy.generic subclasses, what
    # np.asarray(a)[0] of a JAX bfloat16 array gives) were refused by the real-only
    # parameters and taken as NumPy arrays by the others ("a numpy array but 'x' is a
    # torch array"); now each is the Python number it holds, as a NumPy scalar is
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = target.asarray(X)
    for s in (ml_dtypes.bfloat16(0.5), ml_dtypes.float8_e4m3fn(0.5)):
        for f, kw in ((multiact.hard_shrink, "lambd"), (multiact.elu, "alpha"),
                      (multiact.leaky_relu, "negative_slope")):
            np.testing.assert_array_equal(target.to_numpy(f(x, **{kw: s})),
                                          target.to_numpy(f(x, **{kw: 0.5})))
        np.testing.assert_array_equal(target.to_numpy(multiact.standardize(x, epsilon=s)),
                                      target.to_numpy(multiact.standardize(x, epsilon=0.5)))


def test_torch_spellings_accepted():
    np.testing.assert_array_equal(multiact.gelu(X, approximate="tanh"), multiact.gelu(X))
    np.testing.assert_array_equal(multiact.gelu(X, approximate="none"),
                                  multiact.gelu(X, approximate=False))
    _raises(ValueError, "multiact.gelu: argument 'approximate' must be a bool, 'tanh' or 'none' "
            "(PyTorch's names), got 'fast'", lambda: multiact.gelu(X, approximate="fast"))


def test_zero_d_input_takes_axis_0_and_minus_1(target):
    x = target.asarray(np.array(2.0))
    for axis in (0, -1, None, ()):
        assert float(target.to_numpy(multiact.softmax(x, axis=axis))) == 1.0
        assert float(target.to_numpy(multiact.log_softmax(x, axis=axis))) == 0.0
        assert float(target.to_numpy(multiact.logsumexp(x, axis=axis))) == 2.0
    _raises(ValueError, "multiact.softmax: argument 'axis' is 1, out of range for a 0-d array "
            "(expected 0, -1, None or ())", lambda: multiact.softmax(x, axis=1))
    # (sparsemax's one axis: "must have at least 1 dimension(s)" was said of an input
    # it takes; decision 178)
    assert float(target.to_numpy(multiact.sparsemax(x, axis=0))) == 1.0
    _raises(ValueError, "multiact.sparsemax: argument 'axis' is 1, out of range for a 0-d array "
            "(expected 0 or -1)", lambda: multiact.sparsemax(x, axis=1))


def test_zero_d_input_takes_tuple_axes_as_pytorch_takes_dim_tuples(target):
    # torch.logsumexp(t0d, dim=(0,)) works: a tuple of 0/-1 is "no axis" as the int is
    x = target.asarray(np.array(2.0))
    for axis in ((0,), (-1,), [0]):
        assert float(target.to_numpy(multiact.logsumexp(x, axis=axis))) == 2.0
        assert float(target.to_numpy(multiact.softmax(x, axis=axis))) == 1.0
        assert float(target.to_numpy(multiact.logmeanexp(x, axis=axis, keepdims=True))) == 2.0
    _raises(ValueError, "multiact.logsumexp: argument 'axis' is (1,), out of range for a 0-d "
            "array (expected 0, -1, None or (), or a tuple of one 0 or -1)",
            lambda: multiact.logsumexp(x, axis=(1,)))
    _raises(ValueError, "multiact.logsumexp: argument 'axis' repeats an axis: (0, -1)",
            lambda: multiact.logsumexp(x, axis=(0, -1)))
    for axis in (0, -1, (0,), (0, -1), (3,)):  # never "expected -0 <= axis < 0"
        try:
            multiact.standardize(x, axis=axis)
        except ValueError as e:
            assert "-0" not in str(e), e


# -- clear messages for inputs NumPy itself would reject ------------------------------------

def test_ragged_list_and_string_parameters():
    with pytest.raises(TypeError, match=r"^multiact\.gelu: argument 'x' could not be made a NumPy "
                                        r"array \(ValueError: .*inhomogeneous"):
        multiact.gelu([[1.0, 2.0], [3.0]])
    _raises(TypeError, "multiact.elu: argument 'alpha' must have a real dtype, got <U1",
            lambda: multiact.elu(X, alpha=np.array(["a"])))
    _raises(TypeError, "multiact.elu: argument 'alpha' must be a real number or an array, got str",
            lambda: multiact.elu(X, alpha="a"))


def test_python_input_without_numpy_says_which_extra():
    code = textwrap.dedent("""
        import sys
        sys.modules["numpy"] = None     # as if NumPy were not installed
        import multiact
        try:
            multiact.gelu([1.0, 2.0])
        except TypeError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == (
        "multiact.gelu: Python numbers and sequences are NumPy input, and NumPy is not "
        "installed: pip install 'multiact[numpy]' (or pass an array of your framework)"), out


# -- no spurious warnings -------------------------------------------------------------------

def test_no_spurious_warnings(target):
    import warnings

    big = float(np.finfo(np.float32).max)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = multiact.squareplus(target.asarray(np.array([big / 2, big, -big], np.float32)))
        # 1/big is subnormal: XLA flushes it to 0 (docs/decisions.md)
        np.testing.assert_allclose(target.to_numpy(y), [big / 2, big, 1 / big], rtol=1e-6,
                                   atol=3e-39 if target.backend == "jax" else 0)
        e = target.to_numpy(multiact.sparsemax(target.asarray(np.zeros((2, 0)))))
        assert e.shape == (2, 0)
        assert np.isnan(target.to_numpy(multiact.log1mexp(target.asarray(np.array([-1.0]))))).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # an entry more than float32's range below the maximum: the shift overflows to
        # -inf, whose exponential (0) is the limit (log_softmax's -6e38 rounds to -inf)
        x = target.asarray(np.array([3e38, -3e38, 0.0], np.float32))
        for kw in ({}, {"where": target.asarray(np.array([True, True, False]))}):
            np.testing.assert_array_equal(target.to_numpy(multiact.softmax(x, **kw)), [1, 0, 0])
        np.testing.assert_array_equal(target.to_numpy(multiact.log_softmax(x)),
                                      np.float32([0, -np.inf, -3e38]))
        for y in (multiact.logsumexp(x), multiact.logmeanexp(x),
                  multiact.logsumexp(x, b=target.asarray(np.ones(3, np.float32)))):
            assert float(target.to_numpy(y)) == float(np.float32(3e38))


def test_a_real_overflow_warns_on_numpy_at_every_size():
    # decision 7: selu(x) above max / 1.0507 is inf, and NumPy says so, whether the
    # array takes the in-place chain (1-d and up) or the generic body (0-d)
    big = np.float32(3.4e38)
    for x in (big, np.array([big, 1.0], np.float32), np.full(40000, big, np.float32)):
        with pytest.warns(RuntimeWarning, match="overflow"):
            y = multiact.selu(x)
        assert np.all(np.ravel(y)[:1] == np.inf)


def test_messages_name_the_function_for_every_row():
    from multiact._table import TABLE

    for info in TABLE:
        with pytest.raises((TypeError, ValueError)) as e:
            getattr(multiact, info.name)(object(), **info.cases[0].params)
        assert re.match(rf"multiact\.{info.name}: argument '{info.first}'", str(e.value))


def test_an_array_api_namespace_of_an_older_standard_is_named():
    # decision 138: the generic bodies pass Python scalars to where (the standard
    # 2024.12); array-api-strict set to 2023.12 failed with an AttributeError deep in
    # a body ('float' object has no attribute 'dtype')
    xs = pytest.importorskip("array_api_strict")
    xs.set_array_api_strict_flags(api_version="2023.12")
    try:
        for name in ("mish", "softmax", "gelu"):
            with pytest.raises(TypeError, match=(
                    rf"multiact\.{name}: argument 'x' is an array of array_api_strict, whose "
                    r"namespace implements the Array API standard 2023\.12; multiact needs "
                    r"2024\.12 or later")):
                getattr(multiact, name)(xs.asarray([1.0, 2.0]))
        with pytest.raises(ValueError, match=r"multiact\.glu: .*even"):  # (its own error)
            multiact.glu(xs.asarray([1.0, 2.0, 3.0]))
    finally:
        xs.reset_array_api_strict_flags()
    assert float(multiact.relu(xs.asarray([1.0]))[0]) == 1.0
