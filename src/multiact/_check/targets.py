"""The installed backends and the devices each one sees.

A target converts float64 NumPy data into its own arrays of a given dtype on a
given device, and back.  Nothing is imported until a target is asked for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field

import numpy as np

BACKENDS = ("numpy", "torch", "jax", "cupy", "array_api_strict", "dask")
ALL_DTYPES = ("float64", "float32", "float16", "bfloat16")


@dataclass
class Target:
    backend: str
    device: str
    dtypes: tuple = field(default=ALL_DTYPES)

    @property
    def label(self):
        return f"{self.backend}:{self.device}"

    def flushes_subnormals(self, dtype):
        """Whether ``dtype``'s subnormal inputs read as zero here: XLA on CPU (DAZ),
        and CuPy's float32, since CuPy compiles every kernel, its own and
        multiact's, with ``-ftz=true`` after the caller's options (found on an
        H200, where log1mexp of the least subnormal gave -inf; its float64 keeps
        subnormals, and its float16 computes in float32, where they are normal).
        multiact promises nothing for subnormal inputs there, so the sweeps leave
        them out."""
        return self.backend == "jax" or (self.backend == "cupy" and dtype == "float32")

    def inputs(self, xs, dtype):
        if not self.flushes_subnormals(dtype):
            return xs
        from .score import FORMATS

        tiny = FORMATS[dtype][1]
        return xs[~((xs != 0) & (np.abs(xs) < tiny))]

    @property
    def name(self):
        return self.backend

    @property
    def mod(self):
        """The library's array module (numpy, torch, jax.numpy, cupy, dask.array, ...)."""
        import importlib

        return importlib.import_module({"jax": "jax.numpy", "dask": "dask.array"}.get(
            self.backend, self.backend))

    def array_type(self):
        b = self.backend
        if b == "jax":
            import jax

            return jax.Array
        if b == "torch":
            import torch

            return torch.Tensor
        if b == "dask":
            import dask.array as da

            return da.Array
        if b == "array_api_strict":
            import array_api_strict as xs

            return type(xs.asarray(0.0))
        return self.mod.ndarray

    def __repr__(self):
        return self.label

    # -- conversion -----------------------------------------------------------
    def asarray(self, a, dtype=None):
        """NumPy data as an array of this library, on this device, in ``dtype``
        (a name; default: the data's own dtype)."""
        a = np.asarray(a)
        dtype = dtype or a.dtype.name
        b = self.backend
        if b == "numpy":
            return a.astype(dtype)
        if b == "torch":
            import torch

            return torch.as_tensor(a).to(device=self.device, dtype=getattr(torch, dtype))
        if b == "jax":
            import jax
            import jax.numpy as jnp

            dev = jax.devices(self.device)[0]
            return jax.device_put(jnp.asarray(a, dtype=getattr(jnp, dtype)), dev)
        if b == "cupy":
            import cupy

            return cupy.asarray(a.astype(dtype))
        if b == "array_api_strict":
            import array_api_strict as xs

            return xs.asarray(a.astype(dtype))
        if b == "dask":
            import dask.array as da

            a = a.astype(dtype)
            return da.from_array(a, chunks=tuple(max(1, (n + 1) // 2) for n in a.shape))
        raise ValueError(b)

    def to_numpy(self, y):
        """Back to NumPy, in the same dtype (bfloat16, which NumPy lacks, as float64)."""
        b = self.backend
        if b == "torch":
            import torch

            y = y.detach()
            if y.dtype == torch.bfloat16:
                y = y.double()
            return y.cpu().numpy()
        if b == "jax":
            if str(y.dtype) == "bfloat16":
                y = y.astype("float64" if _jax_x64() else "float32")
            return np.asarray(y)
        if b == "cupy":
            return y.get()
        if b == "array_api_strict":
            import array_api_strict as xs

            return np.asarray(xs.asarray(y, copy=True)._array)
        if b == "dask":
            return np.asarray(y.compute())
        return np.asarray(y)

    def dtype_object(self, dtype):
        """The dtype object of this library named ``dtype``."""
        b = self.backend
        if b == "torch":
            import torch

            return getattr(torch, dtype)
        if b == "jax":
            import jax.numpy as jnp

            return getattr(jnp, dtype)
        if b == "array_api_strict":
            import array_api_strict as xs

            return getattr(xs, dtype)
        if b == "cupy":
            import cupy

            return getattr(cupy, dtype)
        return np.dtype(dtype)

    def dtype_name(self, y):
        return str(y.dtype).replace("torch.", "").replace("array_api_strict.", "")

    def device_of(self, y):
        b = self.backend
        if b == "torch":
            return y.device.type
        if b == "jax":
            return next(iter(y.devices())).platform
        if b == "cupy":
            return "cuda"
        return "cpu"


def _jax_x64():
    import jax

    return bool(jax.config.jax_enable_x64)


def available(name) -> bool:
    mod = {"array_api_strict": "array_api_strict", "dask": "dask"}.get(name, name)
    return importlib.util.find_spec(mod) is not None


def unknown_selection(backends, device):
    """The message for an unknown device or backend (``multiact check``, ``multiact
    info`` and :func:`multiact.info`), or None."""
    if device is not None and normalize_device(device) not in ("cpu", "cuda"):
        return f"unknown device {device!r} (known: cpu, cuda)"
    for b in backends or ():
        if b not in BACKENDS:
            return f"unknown backend {b!r} (known: {', '.join(BACKENDS)})"
    return None


@contextlib.contextmanager
def x64_kept():
    """JAX's x64 mode as it was before the block (:func:`devices` turns it on for
    float64): ``multiact.info`` reports, and left a user's JAX in float64 (decision
    151); ``multiact check`` and the conformance suite keep it on."""
    jax = sys.modules.get("jax")
    before = bool(jax.config.jax_enable_x64) if jax is not None else \
        os.environ.get("JAX_ENABLE_X64", "").lower() in ("1", "true", "yes", "on")
    try:
        yield
    finally:
        jax = sys.modules.get("jax")
        if jax is not None and bool(jax.config.jax_enable_x64) != before:
            jax.config.update("jax_enable_x64", before)


def devices(name) -> list:
    """The devices ``name`` sees here ('cpu', 'cuda'); [] when not installed."""
    if not available(name):
        return []
    if name == "torch":
        import torch

        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if name == "jax":
        import jax

        # float64 needs x64 mode; multiact check and the conformance suite turn
        # it on (the default float dtype of JAX becomes float64 with it).
        jax.config.update("jax_enable_x64", True)
        out = ["cpu"]
        try:
            if jax.devices("gpu"):
                out.append("gpu")
        except RuntimeError:
            pass
        return out
    if name == "cupy":
        try:
            import cupy

            return ["cuda"] if cupy.cuda.runtime.getDeviceCount() > 0 else []
        except Exception:  # noqa: BLE001 - no driver, no device
            return []
    return ["cpu"]


def dtypes_of(name) -> tuple:
    if name in ("numpy", "cupy", "dask"):
        return ("float64", "float32", "float16")
    if name == "array_api_strict":
        return ("float64", "float32")
    return ALL_DTYPES


def normalize_device(d):
    """'gpu' and 'cuda' name the same device kind."""
    return {"gpu": "cuda"}.get(d, d)


def discover(backends=None, device=None):
    """Targets for the requested backends/device (None: everything installed)."""
    out = []
    for b in backends or BACKENDS:
        for d in devices(b):
            if device is not None and normalize_device(d) != normalize_device(device):
                continue
            out.append(Target(b, d, dtypes_of(b)))
    return out


def unavailable(backend, device=None):
    """Why ``backend`` has no target here (on ``device``, where given), as the "not
    run" footer says it, or None (``multiact check`` and ``multiact info`` refuse a
    ``--backend`` with these words)."""
    if not available(backend):
        return "not installed"
    devs = devices(backend)
    if not devs:
        return "no device (CuPy needs a CUDA GPU)"
    if device is not None and normalize_device(device) not in map(normalize_device, devs):
        return f"no such device here (it sees {', '.join(devs)})"
    return None


def not_run(backends=None, device=None):
    """``[(target, why)]`` for the requested backends that have no target here."""
    out = []
    for b in backends or BACKENDS:
        why = unavailable(b, device)
        if why is not None:
            out.append((f"{b}:{normalize_device(device)}" if why.startswith("no such device")
                        else b, why))
        elif device is None and b in ("torch", "jax") and "cuda" not in map(normalize_device,
                                                                             devices(b)):
            out.append((f"{b}:cuda", "no CUDA device here"))
    return out
