"""From an input array to the functions that handle it.

``backend_of(x, fname)`` looks ``type(x)`` up in a dict (one lookup on the hot
path, as einops' ``_backends`` does).  On a miss it resolves the namespace with
``array_api_compat.array_namespace``, imports ``multiact.backends.<name>`` (the
only place a framework is imported, and only once one of its arrays was
passed), and builds a :class:`Backend`: the generic bodies bound to an extended
namespace, with the module's overrides on top.  Creation runs under a lock, so
threads that race on a new type share one Backend; reads take no lock.
"""

from __future__ import annotations

import importlib
import threading
from functools import partial

import array_api_compat as _compat

from ._agnostic import GENERIC, PRIMITIVES

__all__ = ["Backend", "backend_of", "backend_for_namespace"]

_BY_TYPE: dict = {}
_BY_NS: dict = {}
_LOCK = threading.RLock()
_PY_SCALARS = (bool, int, float, complex, list, tuple)


def _module_name(xp) -> str:
    if _compat.is_numpy_namespace(xp):
        return "numpy"
    if _compat.is_torch_namespace(xp):
        return "torch"
    if _compat.is_jax_namespace(xp):
        return "jax"
    if _compat.is_cupy_namespace(xp):
        return "cupy"
    if _compat.is_dask_namespace(xp):
        return "dask"
    return "generic"


class Namespace:
    """The namespace ``array_namespace`` resolved, plus what the standard lacks.

    Attribute reads go to the wrapped namespace once and are then cached on the
    instance, so ``xp.exp`` costs a plain attribute lookup.  ``ndtr`` (and any
    other name in ``PRIMITIVES``) comes from the backend module when it has a
    native version, else from the generic implementation.
    """

    def __init__(self, name, xp, module):
        d = self.__dict__
        d["_xp"] = xp
        d["_module"] = module
        d["name"] = name
        d["framework"] = _module_name(xp)
        d["work_floats"] = frozenset(_canonical(xp, getattr(xp, k)) for k in ("float32", "float64"))

    def __getattr__(self, attr):
        native = getattr(self._module, "extra", None)
        value = native(attr, self) if native is not None else None
        if value is None:
            if attr in PRIMITIVES:
                value = partial(PRIMITIVES[attr], self)
            else:
                value = getattr(self._xp, attr)
        self.__dict__[attr] = value
        return value

    def default_float(self, x):
        info = self._xp.__array_namespace_info__()
        try:
            return info.default_dtypes(device=self.device_of(x))["real floating"]
        except Exception:  # noqa: BLE001 - some namespaces reject device=None/tracers
            return info.default_dtypes()["real floating"]

    def device_of(self, x):
        try:
            return _compat.device(x)
        except Exception:  # noqa: BLE001 - e.g. a JAX tracer inside jit
            return None

    def __repr__(self):
        return f"<multiact namespace {self.name!r}>"


def _canonical(xp, dt):
    """The dtype object arrays report (``np.dtype``, not the scalar type)."""
    import warnings

    try:
        with warnings.catch_warnings():
            # JAX without x64 warns that float64 "will be truncated"; that is
            # exactly the dtype its arrays then report.
            warnings.simplefilter("ignore")
            return xp.empty((0,), dtype=dt).dtype
    except Exception:  # noqa: BLE001
        return dt


class Backend:
    """Everything multiact knows about one array namespace.

    ``generic`` holds the generic bodies bound to this namespace; the public
    functions are attributes (``backend.gelu``), the module's override where it
    has one (with its reason written next to it), else the generic body.
    """

    def __init__(self, xp):
        name = getattr(xp, "__name__", type(xp).__name__)
        modname = _module_name(xp)
        module = importlib.import_module(f"multiact.backends.{modname}")
        self.name = name
        self.framework = modname
        self.module = module
        self.xp = xp
        self.ns = Namespace(name, xp, module)
        self.generic = {k: partial(f, self.ns) for k, f in GENERIC.items()}
        impls = dict(self.generic)
        impls.update(module.overrides(self.ns, self.generic))
        self.overridden = frozenset(k for k in impls if impls[k] is not self.generic[k])
        self.__dict__.update(impls)

    @staticmethod
    def coerce(x):
        return x

    def same_library(self, other) -> bool:
        return other.framework == self.framework and other.name == self.name

    def __repr__(self):
        return f"<multiact backend {self.framework} ({self.name})>"


class _CoercingBackend:
    """Python scalars and sequences: treated as NumPy input (SPEC.md)."""

    def __init__(self, inner):
        import numpy as np

        self._np = np
        self.inner = inner
        self.name, self.framework, self.xp, self.ns = inner.name, inner.framework, inner.xp, inner.ns
        for fname in GENERIC:
            setattr(self, fname, self._wrap(getattr(inner, fname)))

    def _wrap(self, f):
        asarray = self._np.asarray

        def call(x, *args):
            return f(asarray(x), *args)

        return call

    def coerce(self, x):
        return self._np.asarray(x)

    def same_library(self, other) -> bool:
        return self.inner.same_library(other)


def backend_for_namespace(xp) -> Backend:
    be = _BY_NS.get(xp)
    if be is None:
        with _LOCK:
            be = _BY_NS.get(xp)
            if be is None:
                be = _BY_NS[xp] = Backend(xp)
    return be


def backend_of(x, fname="", argname="x"):
    """The :class:`Backend` for ``x`` (cached per ``type(x)``)."""
    try:
        return _BY_TYPE[type(x)]
    except KeyError:
        return _resolve(x, fname, argname)


def _resolve(x, fname, argname):
    t = type(x)
    with _LOCK:
        be = _BY_TYPE.get(t)
        if be is not None:
            return be
        if t in _PY_SCALARS:
            import numpy as np

            be = _CoercingBackend(backend_for_namespace(_compat.array_namespace(np.empty(0))))
        else:
            try:
                xp = _compat.array_namespace(x)
            except TypeError:
                raise TypeError(
                    f"multiact.{fname or '<function>'}: argument {argname!r} must be an array "
                    f"(NumPy, JAX, PyTorch, CuPy, dask or any Array API array) or a Python "
                    f"number/sequence, got {t.__module__}.{t.__qualname__}"
                ) from None
            be = backend_for_namespace(xp)
        _BY_TYPE[t] = be
        return be
