"""Engines: torch.compile without graph breaks (torch._dynamo.explain), dask
laziness and chunked reductions.  PyTorch's and JAX's transforms have their
own files (test_torch.py, test_jax.py)."""

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
