"""A framework's variable, an object that wraps its array, is input as its
framework's own functions take it (decision 225): flax NNX's ``Param`` as
``jnp.asarray`` makes it (``jax.nn``'s functions take it so), a Keras ``Variable``
as its ``value`` (``keras.ops``'s); the result is the framework's array, the values
and gradients those of the array itself.  A Keras functional model's symbolic
tensor holds no values: refused, with where to call multiact instead."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import multiact
from multiact._table import TABLE


def _shaped_rows():
    # every function that its input alone can call (not threshold's, prelu's or
    # one_hot's required parameters): a (4, 6) input suits each (glu halves its last
    # axis; the reductions reduce it)
    return [row.name for row in TABLE
            if all(p.default is not inspect.Parameter.empty for p in
                   list(inspect.signature(getattr(multiact, row.name)).parameters.values())[1:]
                   if p.kind is not p.VAR_POSITIONAL and p.kind is not p.VAR_KEYWORD)]


@pytest.mark.parametrize("name", _shaped_rows())
def test_a_flax_param_is_its_array(name):
    pytest.importorskip("flax")
    import jax
    import jax.numpy as jnp
    from flax import nnx

    value = jnp.linspace(-4.0, 4.0, 24, dtype=jnp.float32).reshape(4, 6)
    f = getattr(multiact, name)
    want = f(value)

    class M(nnx.Module):
        def __init__(self):
            self.p = nnx.Param(value)

    m = M()
    got = f(m.p)
    assert type(got) is type(want)
    assert got.dtype == want.dtype and bool(jnp.array_equal(got, want, equal_nan=True))
    # in a module under nnx.jit, and its gradient with respect to the parameter
    jitted = nnx.jit(lambda mod: f(mod.p))(m)
    assert bool(jnp.array_equal(jitted, jax.jit(f)(value), equal_nan=True))
    if not jnp.issubdtype(want.dtype, jnp.floating):
        return
    grads = nnx.grad(lambda mod: jnp.sum(f(mod.p) * jnp.arange(want.size).reshape(want.shape)
                                         if want.ndim else f(mod.p)))(m)
    ref = jax.grad(lambda v: jnp.sum(f(v) * jnp.arange(want.size).reshape(want.shape)
                                     if want.ndim else f(v)))(value)
    assert bool(jnp.array_equal(grads.p[...], ref))


def test_a_flax_variable_as_an_array_parameter_is_its_array():
    pytest.importorskip("flax")
    import jax.numpy as jnp
    from flax import nnx

    x = jnp.linspace(-2.0, 2.0, 6, dtype=jnp.float32)
    for f, kw in ((multiact.softmax, {"where": x > 0}), (multiact.softplus, {"beta": jnp.float32(1.5)}),
                  (multiact.logsumexp, {"b": x * 0 + 2})):
        (name, v), = kw.items()
        got = f(x, **{name: nnx.Variable(v)})
        assert bool(jnp.array_equal(got, f(x, **kw))), f
    # an array parameter is still of the input's library
    with pytest.raises(TypeError, match=r"'where' is a jax array but 'x' is a numpy array"):
        multiact.softmax(np.asarray(x), where=nnx.Variable(x > 0))


def test_a_flax_variable_of_a_number_is_weak_as_jax_nn_takes_it():
    pytest.importorskip("flax")
    import jax
    from flax import nnx

    import jax.numpy as jnp

    # what the number gives (weak), as jax.nn's own function takes the variable
    assert jax.nn.softplus(nnx.Variable(1.5)).weak_type
    for f in (multiact.softplus, multiact.gelu, multiact.silu):
        got, want = f(nnx.Variable(1.5)), f(jnp.asarray(1.5))
        assert want.weak_type and got.weak_type and got.dtype == want.dtype, f


def test_an_array_like_without_jax_is_refused_as_before():
    # an object with __jax_array__ where JAX is not installed: no JAX array can come of
    # it, so the contract's refusal (an import error before the mend)
    code = textwrap.dedent("""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "jax" or name.startswith("jax.") or name in ("jaxlib", "flax"):
                    raise ModuleNotFoundError(f"No module named {name!r}")
        sys.meta_path.insert(0, Block())
        import numpy as np, multiact
        class Q:
            def __jax_array__(self):
                raise RuntimeError
        for call in (lambda: multiact.gelu(Q()), lambda: multiact.softplus(np.ones(3), beta=Q())):
            try:
                call()
            except TypeError as e:
                print(str(e).split(":")[0], str(e).split("'")[1])
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.stdout.split() == ["multiact.gelu", "x", "multiact.softplus", "beta"], \
        out.stdout + out.stderr[-2000:]


def test_an_array_like_that_cannot_be_made_an_array_is_refused_by_name():
    pytest.importorskip("jax")

    class Broken:
        def __jax_array__(self):
            raise RuntimeError("holds no values")

    with pytest.raises(TypeError, match=r"multiact\.softplus: argument 'x' could not be "
                                        r"made an array \(RuntimeError: holds no values\)"):
        multiact.softplus(Broken())


KERAS = """
import numpy as np
import keras
import multiact

v = keras.Variable(np.linspace(-3, 3, 24).reshape(4, 6).astype("float32"))
for name in ("softplus", "gelu", "silu", "softmax", "log_softmax", "standardize", "glu",
             "logsumexp", "sparsemax"):
    f = getattr(multiact, name)
    y, r = f(v), f(v.value)
    assert type(y) is type(r), (name, type(y), type(r))
    assert np.array_equal(keras.ops.convert_to_numpy(y), keras.ops.convert_to_numpy(r)), name

# as an array parameter too
b = keras.Variable(1.5)
y = multiact.softplus(v.value, beta=b)
assert np.array_equal(keras.ops.convert_to_numpy(y),
                      keras.ops.convert_to_numpy(multiact.softplus(v.value, beta=b.value)))

# a layer's weight through multiact, trained by fit: its gradient arrives
class Scale(keras.layers.Layer):
    def build(self, shape):
        self.raw = self.add_weight(shape=(shape[-1],), initializer="zeros", name="raw")

    def call(self, x):
        return x * multiact.softplus(self.raw)

keras.utils.set_random_seed(0)
X = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
inp = keras.Input((8,))
layer = Scale()
model = keras.Model(inp, layer(inp))
model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
loss = model.fit(X, 3 * X, epochs=6, batch_size=16, verbose=0, shuffle=False).history["loss"]
assert loss[-1] < loss[0] / 2, loss
assert float(np.min(keras.ops.convert_to_numpy(layer.raw))) > 0.5, layer.raw

# a symbolic tensor: refused by name, with where to call multiact, as x or a parameter
for call, pname in ((lambda: multiact.gelu(keras.Input((4,))), "x"),
                    (lambda: multiact.softplus(v.value, beta=keras.Input((6,))), "beta")):
    try:
        call()
    except TypeError as e:
        assert f"argument {pname!r}" in str(e) and "keras.layers.Activation(multiact." in str(e), e
    else:
        raise AssertionError("a KerasTensor was taken")

# a variable whose value cannot be had: the contract's error, by name
class Lazy(keras.Variable):
    @property
    def value(self):
        raise RuntimeError("not initialised")

lazy = Lazy(np.ones(3, "float32"))
for call, pname in ((lambda: multiact.gelu(lazy), "x"),
                    (lambda: multiact.softplus(v.value, beta=lazy), "beta")):
    try:
        call()
    except TypeError as e:
        assert f"argument {pname!r} could not be made an array (RuntimeError: not initialised)" \
            in str(e), e
    else:
        raise AssertionError("a variable without a value was taken")
print("ok")
"""


@pytest.mark.parametrize("backend,extra", [("jax", {}), ("torch", {}),
                                           ("jax", {"KERAS_NNX_ENABLED": "true"})],
                         ids=["jax", "torch", "jax-nnx"])
def test_a_keras_variable_is_its_value(backend, extra):
    # (not imported here: Keras picks its backend when first imported)
    for module in ("keras", backend) + (("flax",) if extra else ()):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu", **extra)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(KERAS)], capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
    assert "warn" not in out.stderr.lower(), out.stderr[-3000:]
