"""Distributed arrays: dask (lazy, chunked reductions) and JAX arrays sharded over
several devices (the output keeps the input's sharding)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import multiact


def test_dask_softmax_chunked_along_axis_is_lazy_and_right():
    dask = pytest.importorskip("dask")
    import dask.array as da

    data = np.random.default_rng(0).standard_normal((8, 300)) * 4
    x = da.from_array(data, chunks=(4, 70))  # the softmax axis is split in 5 chunks

    def refuse(*args, **kwargs):
        raise AssertionError("computed before compute()")

    with dask.config.set(scheduler=refuse):
        y = multiact.softmax(x)
        lse = multiact.logsumexp(x, axis=1)
        z = multiact.standardize(x, axis=1)
    np.testing.assert_allclose(y.compute(), multiact.softmax(data), rtol=1e-14)
    np.testing.assert_allclose(lse.compute(), multiact.logsumexp(data, axis=1), rtol=1e-14)
    np.testing.assert_allclose(z.compute(), multiact.standardize(data, axis=1), rtol=1e-12)
    assert y.chunks == x.chunks


SHARDED = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import multiact
    devs = jax.devices()
    assert len(devs) == 8, devs
    mesh = Mesh(np.array(devs).reshape(4, 2), ("data", "model"))
    sh = NamedSharding(mesh, P("data", "model"))
    x = jax.device_put(jnp.arange(64.0).reshape(8, 8) / 10 - 3, sh)
    for name in ("gelu", "relu", "silu", "softplus", "elu", "mish"):
        f = getattr(multiact, name)
        for y in (f(x), jax.jit(f)(x)):
            assert y.sharding.is_equivalent_to(x.sharding, 2), (name, y.sharding)
            np.testing.assert_allclose(np.asarray(y), np.asarray(f(np.asarray(x))), rtol=1e-5)
    for name in ("softmax", "log_softmax", "standardize"):
        f = getattr(multiact, name)
        y = jax.jit(f)(x)
        assert y.sharding.is_equivalent_to(x.sharding, 2), (name, y.sharding)
        np.testing.assert_allclose(np.asarray(y), np.asarray(f(np.asarray(x))), rtol=1e-5, atol=1e-6)
    print("ok")
""")


def test_jax_sharded_arrays_keep_their_sharding():
    pytest.importorskip("jax")
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
