"""Transforms and engines: jax.jit/vmap/grad/jvp, torch.compile without graph
breaks, torch.func, dask laziness and chunked reductions."""

from __future__ import annotations

import numpy as np
import pytest

import multiact

ALL = ["celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_tanh", "leaky_relu",
       "log_sigmoid", "log_softmax", "logsumexp", "relu", "relu6", "selu", "sigmoid", "silu",
       "soft_sign", "softmax", "softplus", "standardize", "tanh",
       "identity", "mish", "squareplus", "sparse_plus", "sparse_sigmoid", "hard_shrink",
       "soft_shrink", "tanh_shrink", "softmin", "logmeanexp", "sparsemax"]
DATA = np.linspace(-4.1, 3.9, 24).reshape(4, 6)


@pytest.mark.backends("jax")
@pytest.mark.parametrize("name", ALL)
def test_jax_jit_vmap_grad_jvp(target, name):
    import jax
    import jax.numpy as jnp

    f = getattr(multiact, name)
    x = target.asarray(DATA, "float64")
    eager = np.asarray(f(x))
    np.testing.assert_allclose(np.asarray(jax.jit(f)(x)), eager, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(jax.vmap(f)(x)),
                               np.stack([np.asarray(f(r)) for r in x]), rtol=1e-13)
    g = np.asarray(jax.grad(lambda t: jnp.sum(f(t) ** 2))(x))
    _, t = jax.jvp(lambda t: jnp.sum(f(t) ** 2), (x,), (jnp.ones_like(x),))
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(float(t), g.sum(), rtol=1e-10, atol=1e-12)
    # no recompilation on a repeated call with the same shapes
    be_fn = getattr(__import__("multiact._dispatch", fromlist=["_"]).backend_of(x), name)
    jitted = list(getattr(be_fn, "_variants", {None: be_fn}).values())
    before = [j._cache_size() for j in jitted]
    f(x)
    f(x)
    assert [j._cache_size() for j in jitted] == before


@pytest.mark.backends("torch")
@pytest.mark.parametrize("name", ["relu", "gelu", "sigmoid", "softplus", "elu", "softmax",
                                  "log_softmax", "logsumexp", "standardize", "glu"])
def test_torch_compile_no_graph_break(target, name):
    import torch
    import torch._dynamo

    f = getattr(multiact, name)
    x = target.asarray(DATA, "float32")
    f(x)  # the first call ever creates the backend (an import): not part of the graph
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(f)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons


@pytest.mark.backends("torch")
def test_torch_compile_fullgraph_runs(target):
    import torch

    x = target.asarray(DATA, "float32")
    g = torch.compile(multiact.gelu, fullgraph=True, backend="aot_eager")
    np.testing.assert_allclose(target.to_numpy(g(x)), target.to_numpy(multiact.gelu(x)), rtol=1e-6)


@pytest.mark.backends("torch")
@pytest.mark.parametrize("name", ["gelu", "silu", "elu", "softplus", "softmax", "logsumexp"])
def test_torch_func_vmap_grad(target, name):
    import torch
    from torch.func import grad, vmap

    f = getattr(multiact, name)
    x = target.asarray(DATA, "float64")
    np.testing.assert_allclose(target.to_numpy(vmap(f)(x)),
                               np.stack([target.to_numpy(f(r)) for r in x]), rtol=1e-13)
    w = torch.linspace(-1.0, 2.0, x.shape[-1], dtype=x.dtype, device=x.device)  # sum(softmax) has zero gradient
    g = grad(lambda t: (f(t) * w).sum())(x)
    t = x.clone().requires_grad_(True)
    (f(t) * w).sum().backward()
    np.testing.assert_allclose(target.to_numpy(g), target.to_numpy(t.grad), rtol=1e-13)


def _no_compute(*args, **kwargs):
    raise AssertionError("dask computed before compute() was called")


@pytest.mark.backends("dask")
@pytest.mark.parametrize("name", ALL)
def test_dask_stays_lazy_and_chunked_reductions_are_right(target, name):
    import dask
    import dask.array as da

    data = np.random.default_rng(8).standard_normal((6, 40)) * 3
    x = da.from_array(data, chunks=(3, 7))      # the reduction axis is split
    with dask.config.set(scheduler=_no_compute):
        y = getattr(multiact, name)(x)
    assert isinstance(y, da.Array)
    np.testing.assert_allclose(y.compute(), getattr(multiact, name)(data), rtol=1e-13, atol=1e-300)
