"""Engines: dask laziness and chunked reductions.  PyTorch's and JAX's transforms
have their own files (test_torch.py: torch.compile with ``fullgraph=True``, so a
graph break fails there; test_jax.py)."""

from __future__ import annotations

import numpy as np
import pytest

import multiact
from multiact._table import TABLE

# every row of values (one_hot takes indices)
OF_VALUES = [i for i in TABLE if i.name != "one_hot"]


def _no_compute(*args, **kwargs):
    raise AssertionError("dask computed before compute() was called")


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", OF_VALUES, ids=lambda i: i.name)
def test_dask_stays_lazy_and_chunked_reductions_are_right(target, info):
    import dask
    import dask.array as da

    data = np.random.default_rng(8).standard_normal((6, 40)) * 3
    if info.nonneg_input:
        data = np.abs(data) + 0.1
    x = da.from_array(data, chunks=(3, 7))      # the reduction axis is split
    f = getattr(multiact, info.name)
    p = dict(info.cases[0].params)
    with dask.config.set(scheduler=_no_compute):
        y = f(x, **p)
    assert isinstance(y, da.Array)
    if info.elementwise or info.row_kernel == "same":
        assert y.chunks == x.chunks             # the input's chunks, not one block
    np.testing.assert_allclose(y.compute(), f(data, **p), rtol=1e-13, atol=1e-300)
