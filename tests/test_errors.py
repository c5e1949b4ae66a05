"""Bad arguments: TypeError/ValueError naming the function, the argument and what was expected."""

import numpy as np
import pytest

import multiact

X = np.arange(8.0).reshape(2, 4)


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: multiact.glu(np.ones((2, 3))), ValueError, r"multiact\.glu: argument 'x' must have an even size along axis 1, got 3"),
    (lambda: multiact.glu(np.float64(1.0)), ValueError, r"multiact\.glu: argument 'x' must have at least 1 dimension\(s\), got 0-d"),
    (lambda: multiact.softmax(X, axis=2), ValueError, r"multiact\.softmax: argument 'axis' is 2, out of range"),
    (lambda: multiact.softmax(X, axis=(0, 0)), ValueError, r"multiact\.softmax: argument 'axis' repeats"),
    (lambda: multiact.softmax(X, axis=1.5), TypeError, r"multiact\.softmax: argument 'axis' must be an int"),
    (lambda: multiact.softmax(X, where=np.ones((2, 4))), TypeError, r"multiact\.softmax: argument 'where' must be a boolean mask"),
    (lambda: multiact.softmax(X, initial="a"), TypeError, r"multiact\.softmax: argument 'initial' must be a real number"),
    (lambda: multiact.one_hot(np.array([0.0, 1.0]), 3), TypeError, r"multiact\.one_hot: argument 'x' must have an integer dtype"),
    (lambda: multiact.one_hot(np.array([0, 1]), 0), ValueError, r"multiact\.one_hot: argument 'num_classes' must be a positive int"),
    (lambda: multiact.one_hot(np.array([0, 1]), 2.0), TypeError, r"multiact\.one_hot: argument 'num_classes' must be an int"),
    (lambda: multiact.one_hot(np.array([0, 1]), True), TypeError, r"multiact\.one_hot: argument 'num_classes' must be an int, got bool"),
    (lambda: multiact.one_hot(np.array([0, 1]), 3, dtype="nope"), TypeError, r"multiact\.one_hot: argument 'dtype' must be a dtype"),
    (lambda: multiact.one_hot(np.array([0, 1]), 3, axis=3), ValueError, r"multiact\.one_hot: argument 'axis'"),
    (lambda: multiact.celu(X, alpha=0.0), ValueError, r"multiact\.celu: argument 'alpha' must be a finite real number > 0, got 0\.0"),
    (lambda: multiact.elu(X, alpha="x"), TypeError, r"multiact\.elu: argument 'alpha' must be a real number or an array"),
    (lambda: multiact.elu(X, alpha=1j), TypeError, r"multiact\.elu: argument 'alpha'"),
    (lambda: multiact.gelu(X, approximate="fast"), ValueError, r"multiact\.gelu: argument 'approximate' must be a bool, 'tanh' or 'none'"),
    (lambda: multiact.gelu(X, approximate=1), TypeError, r"multiact\.gelu: argument 'approximate' must be a bool"),
    (lambda: multiact.standardize(X, epsilon=-1.0), ValueError, r"multiact\.standardize: argument 'epsilon' must be a finite real number >= 0"),
    (lambda: multiact.logsumexp(X, keepdims=1), TypeError, r"multiact\.logsumexp: argument 'keepdims' must be a bool"),
    (lambda: multiact.logsumexp(X, b="s"), TypeError, r"multiact\.logsumexp: argument 'b'"),
    (lambda: multiact.leaky_relu(X, negative_slope=None), TypeError, r"multiact\.leaky_relu: argument 'negative_slope'"),
])
def test_bad_arguments(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_mixed_namespaces_name_both():
    torch = pytest.importorskip("torch")
    t = torch.ones(2, 4)
    with pytest.raises(TypeError, match=r"multiact\.softmax: argument 'where' is a numpy array but 'x' is a torch array"):
        multiact.softmax(t, where=np.ones((2, 4), bool))
    with pytest.raises(TypeError, match=r"multiact\.elu: argument 'alpha' is a numpy array but 'x' is a torch array"):
        multiact.elu(t, alpha=np.array(0.5))
    with pytest.raises(TypeError, match=r"multiact\.logsumexp: argument 'b' is a torch array but 'x' is a numpy array"):
        multiact.logsumexp(X, b=torch.ones(2, 4))
    # scalars go with any backend
    assert multiact.elu(t, alpha=np.float32(0.5)).dtype == torch.float32
    assert multiact.leaky_relu(t, negative_slope=np.float64(0.1)).dtype == torch.float32


def test_parameter_arrays_of_the_same_library(xp):
    x = xp.asarray(np.array([-1.0, -2.0, 3.0]), "float32")
    a = xp.asarray(np.array([0.5, 2.0, 1.0]), "float64")
    y = multiact.elu(x, alpha=a)
    assert y.dtype == x.dtype  # the output dtype is decided by x alone
    np.testing.assert_allclose(xp.to_numpy(y), [0.5 * np.expm1(-1), 2 * np.expm1(-2), 3.0], rtol=1e-6)
