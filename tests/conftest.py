"""One ``xp`` fixture over every backend, skipping the missing ones inside the
fixture (as array-api-extra does).  JAX runs in x64 mode so float64 is float64."""

from __future__ import annotations

import enum
import importlib.util

import numpy as np
import pytest


class Backend(enum.Enum):
    NUMPY = "numpy"
    TORCH = "torch"
    JAX = "jax"
    ARRAY_API_STRICT = "array_api_strict"
    DASK = "dask"
    CUPY = "cupy"


def _have(mod):
    return importlib.util.find_spec(mod) is not None


if _have("jax"):
    import jax

    jax.config.update("jax_enable_x64", True)


class XP:
    """Makes arrays of one backend from NumPy data and brings results back."""

    def __init__(self, backend):
        self.backend = backend
        self.name = backend.value
        if backend is Backend.NUMPY:
            import numpy as mod
        elif backend is Backend.TORCH:
            import torch as mod
        elif backend is Backend.JAX:
            import jax.numpy as mod
        elif backend is Backend.ARRAY_API_STRICT:
            import array_api_strict as mod
        elif backend is Backend.DASK:
            import dask.array as mod
        else:
            import cupy as mod
        self.mod = mod

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        if self.backend is Backend.TORCH:
            return self.mod.asarray(a)
        if self.backend is Backend.DASK:
            return self.mod.from_array(a, chunks=tuple(max(1, (n + 1) // 2) for n in a.shape))
        return self.mod.asarray(a)

    def np(self, y):
        if self.backend is Backend.TORCH:
            return y.detach().cpu().numpy()
        if self.backend is Backend.DASK:
            return np.asarray(y.compute())
        if self.backend is Backend.ARRAY_API_STRICT:
            return np.asarray(y._array)
        if self.backend is Backend.CUPY:
            return y.get()
        return np.asarray(y)

    def array_type(self):
        if self.backend is Backend.JAX:
            import jax

            return jax.Array
        if self.backend is Backend.TORCH:
            return self.mod.Tensor
        if self.backend is Backend.DASK:
            return self.mod.Array
        if self.backend is Backend.ARRAY_API_STRICT:
            return type(self.mod.asarray(0.0))
        return self.mod.ndarray

    def dtype(self, name):
        if self.backend is Backend.DASK:
            return np.dtype(name)
        return getattr(self.mod, name)

    def __repr__(self):
        return self.name


@pytest.fixture(params=list(Backend), ids=lambda b: b.value)
def xp(request):
    b = request.param
    if not _have(b.value):
        pytest.skip(f"{b.value} is not installed")
    if b is Backend.CUPY:
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() == 0:
                pytest.skip("no CUDA device")
        except Exception:  # noqa: BLE001
            pytest.skip("CuPy needs a CUDA device")
    return XP(b)


@pytest.fixture(params=[b for b in Backend if b in (Backend.TORCH, Backend.JAX)],
                ids=lambda b: b.value)
def adxp(request):
    """Autodiff backends."""
    if not _have(request.param.value):
        pytest.skip(f"{request.param.value} is not installed")
    return XP(request.param)
