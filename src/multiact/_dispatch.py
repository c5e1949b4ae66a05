"""From an input array to the backend that handles it.

``backend_of(x)`` looks ``type(x)`` up in a dict (one lookup on the hot path,
as einops' ``_backends`` does).  On a miss, the framework is recognised from the
type's module (``torch``, ``jax``, ``numpy``, ``cupy``, ``dask``), walking the
MRO so that subclasses (``nn.Parameter``, ``DTensor``, a user's subclass) find
their framework; its module ``multiact.backends.<name>`` is imported (the only
place a framework is imported, and only once one of its arrays was passed) and
its ``BACKEND`` cached for that type.  A framework's variable (flax NNX's
``Param``, a Keras ``Variable``) is converted to its array first, as its framework
converts it (``variable_backend``).  Any other array goes through
``array_api_compat.array_namespace`` to a generic backend for its namespace.

Creation runs under a lock (threads racing on a new type share one backend),
except while ``torch.compile`` traces the call: Dynamo cannot trace a lock, and
it traces the miss path (an ``import`` of an already-imported module) at
compile time without caching the result, so a first call inside a compiled
function, a checkpointed one or a ``torch.cond`` branch works.
"""

from __future__ import annotations

import sys

from ._locks import ForkSafeLock
from ._params import _compiling
from .backends import framework_of, generic, unconvertible

__all__ = ["backend_of", "backend_for_namespace"]

_BY_TYPE: dict = {}


def _dynamo_check(torch):
    """torch's ``torch.compiler.is_dynamo_compiling`` (``is_compiling`` in a torch
    without it), or None (a torch not yet imported whole)."""
    compiler = getattr(torch, "compiler", None)
    return (getattr(compiler, "is_dynamo_compiling", None) or
            getattr(compiler, "is_compiling", None))


def _tracing_unknown():
    """``_TRACING[0]`` until torch is taken (:func:`take_torch`): False without
    torch, else its answer.  Reads only: a write here, traced by Dynamo inside
    ``checkpoint`` or ``torch.cond``, was a side effect those refuse."""
    torch = sys.modules.get("torch")
    tracing = None if torch is None else _dynamo_check(torch)
    return tracing is not None and tracing()


def take_torch(torch):
    """``_TRACING[0]`` becomes torch's check, where no trace runs: at ``import
    multiact`` when torch came first, and when the torch backend is imported (the
    first call on a tensor)."""
    tracing = _dynamo_check(torch)
    if tracing is not None:
        _TRACING[0] = tracing


#: ``[f]``: ``f()`` says whether Dynamo traces this call, where the public functions
#: read no cache.  Reason: Dynamo guards a dict it reads by its size, so an eager
#: call on a type new to ``_BY_TYPE`` (a NumPy array, a Python float, an
#: ``nn.Parameter``) recompiled every compiled graph that called multiact, and the
#: eighth ended a ``fullgraph=True`` model in its recompile limit (decision 206).
#: ``_resolve`` writes nothing while compiling.  Eager, ``f`` is torch's function
#: that returns False (some 50 ns a call)
_TRACING = [_tracing_unknown]
if "torch" in sys.modules:  # (torch imported first, as usual: taken now)
    take_torch(sys.modules["torch"])
_BY_NS: dict = {}
_LOCK = ForkSafeLock(reentrant=True)
_PY_INPUT = (bool, int, float, list, tuple, range)


def backend_of(x, fname="", argname="x"):
    """The backend for ``x`` (cached per ``type(x)``; not read while Dynamo traces)."""
    be = None if _TRACING[0]() else _BY_TYPE.get(type(x))
    if be is None:
        be = _resolve(x, fname, argname)
    return be


_KERAS_PENDING = [True]
#: a parameter's value kept in a traced call whatever it is (``Backend.record``)
_KEEP = object()


def _resolve(x, fname, argname):
    if _compiling():
        # no write to the cache: a write is a side effect that Dynamo refuses inside
        # higher-order ops (checkpoint, cond), and nothing here needs caching
        return _create(x, fname, argname)
    with _LOCK:
        be = _BY_TYPE.get(type(x))
        if be is None:
            be = _create(x, fname, argname)
            if not (be.transient or type(x).__module__.startswith("torch._")):
                # torch's internal tensors (FakeTensor, FunctionalTensor: a patched
                # F.* called while a graph is traced) are never cached: Dynamo cannot
                # guard on a dict holding them
                _BY_TYPE[type(x)] = be
    if _KERAS_PENDING[0] and "keras" in sys.modules:
        # Keras imported after multiact, past the import watch: register with its
        # serialization (adapters.keras_in_process); a cache miss only, never the hot path
        from .adapters import keras_in_process

        if keras_in_process():
            _KERAS_PENDING[0] = False
    return be


def _create(x, fname, argname):
    t = type(x)
    torch = sys.modules.get("torch")
    if t in _PY_INPUT or t is complex:
        be = _python_backend(fname, argname)
    elif issubclass(t, (int, float)) and framework_of(t) is None:
        # a Python number's subclass (an IntEnum member, a float with a unit's name):
        # a Python number, NumPy input as NumPy takes it (refused as "not a Python
        # number" before: decision 194); NumPy's own scalars (np.float64 is a float)
        # are NumPy's, below
        be = _python_backend(fname, argname)
    elif torch is not None and "torch.fx" in sys.modules and \
            issubclass(t, sys.modules["torch.fx"].Proxy):
        from .backends.torch import FX_BACKEND

        be = FX_BACKEND
    elif torch is not None and issubclass(t, torch.Tensor):  # no MRO walk: Dynamo traces this
        # (Dynamo first: it would guard the compiled frame on sys.modules, and the
        # import then breaks that guard on the frame that made it)
        if not torch.compiler.is_dynamo_compiling() and \
                "multiact.backends.torch" not in sys.modules:
            _import_untraced(torch)
        from .backends import torch as mod

        plain = t is torch.Tensor or t is torch.nn.Parameter
        if not plain:
            refuse_masked_tensor(t, fname, argname)
        be = mod.BACKEND if plain else mod.subclass_backend()
    else:
        fw = framework_of(t)
        if fw == "jax":
            from .backends import jax as mod
        elif fw == "numpy":
            refuse_numpy_subclass(t, fname, argname)
            from .backends import numpy as mod
        elif fw == "cupy":
            from .backends import cupy as mod
        elif fw == "dask":
            from .backends import dask as mod
        else:
            mod = None
        if mod is not None:
            be = mod.BACKEND
            if fw == "numpy" and issubclass(t, sys.modules["numpy"].memmap):
                # its data as an ndarray, whose results are ndarrays, as NumPy's ufuncs
                # give (some were memmaps backed by no file: decision 166); other
                # subclasses are kept, as NumPy's ufuncs keep them
                be = mod.MEMMAP_BACKEND
        else:
            be = variable_backend(x, fname, argname) or _from_namespace(x, t, fname, argname)
    return be


def variable_backend(x, fname, argname):
    """The backend of a framework's variable, an object that wraps its array, that
    the framework's own functions take (decision 225), or None: a Keras
    ``Variable`` is its ``value``, what ``keras.ops`` compute on (one read a call);
    an object with ``__jax_array__`` (flax NNX's ``Param``), where JAX is imported,
    is what that gives, as ``jax.nn`` takes it (``as_jax_array``).  The result is
    the framework's array, as ``keras.ops`` and ``jax.nn`` return.  An array
    parameter that is one too (``_params``).  Cached by type (``_resolve``): one
    class of Keras variable holds one backend's arrays (tensors or tracers)."""
    keras = sys.modules.get("keras")
    if keras is not None:
        if isinstance(x, getattr(keras, "Variable", ())):
            try:
                value = x.value
            except Exception as e:
                raise unconvertible(fname, argname, e) from None
            return backend_of(value, fname, argname).coerced(keras_value)
        if isinstance(x, getattr(keras, "KerasTensor", ())):
            return None  # (no values: its __jax_array__ raises; refused with a hint)
    if hasattr(type(x), "__jax_array__") and "jax" in sys.modules:
        # (without JAX imported, no JAX array can come of it: refused as before)
        from .backends import jax as mod

        return mod.ARRAY_LIKE_BACKEND
    return None


def keras_value(v):
    """A Keras ``Variable``'s array (``keras.ops.convert_to_tensor`` takes the same)."""
    return v.value


def _import_untraced(torch):
    """Import the PyTorch backend outside the modes that trace the call (the first
    call of a process inside ``torch.export`` or ``torch.onnx.export``: fake tensors),
    outside ``torch.jit.trace``'s tracer and outside the function modes
    (``with torch.device("meta")``, ``torch.set_default_device``).
    Reason: its import runs tensor work (the warm-up call of erfc, whose reason is
    in ``_torch_native``; dtype probes), which under those modes would run on fake
    tensors (no warm-up) and leave dead nodes in the user's exported graph; under
    ``jit.trace`` it printed six ``TracerWarning``s about multiact's own constants,
    and raised ``SystemError`` where warnings are errors; under a meta device it
    raised "Tensor.item() cannot be called on meta tensors" for a CPU ``x``
    (decision 228)."""
    from torch.utils._python_dispatch import _disable_current_modes

    tracing = torch._C._get_tracing_state()
    if tracing is not None:
        torch._C._set_tracing_state(None)
    try:
        with _disable_current_modes(), torch._C.DisableTorchFunction():
            from .backends import torch as _  # noqa: F401
    finally:
        if tracing is not None:
            torch._C._set_tracing_state(tracing)


def refuse_numpy_subclass(t, fname, argname):
    """``numpy.matrix`` and ``numpy.ma.MaskedArray`` are refused, as input and as an
    array parameter (``b``, ``where``, ...: ``_params``), where a body written for
    arrays would be silently wrong (decision 96): a matrix's ``*`` is a matrix
    product (``gelu`` of a 2x2 matrix was off in every entry); a masked array's mask
    is honoured by some NumPy operations and not others (``sparsemax`` and
    ``standardize`` counted the masked entries).  Other subclasses (``memmap``) are
    NumPy arrays."""
    np = sys.modules.get("numpy")
    if np is None:
        return
    name = fname or "<function>"
    if issubclass(t, np.matrix):
        raise TypeError(
            f"multiact.{name}: argument {argname!r} is a numpy.matrix, whose '*' is a "
            f"matrix product; expected an array: pass numpy.asarray(...)")
    ma = sys.modules.get("numpy.ma")  # (no masked array before numpy.ma is imported)
    if ma is not None and issubclass(t, ma.MaskedArray):
        raise TypeError(
            f"multiact.{name}: argument {argname!r} is a numpy.ma.MaskedArray, whose mask "
            f"multiact does not honour; expected an array: pass numpy.ma.getdata(...), with "
            f"where= for the mask (the reductions)")


def refuse_masked_tensor(t, fname, argname):
    """``torch.masked.MaskedTensor`` is refused, as input and as an array parameter,
    as ``numpy.ma.MaskedArray`` is (decision 96): its operators honour the mask in
    some functions and not others, and the bodies ended in a ``RecursionError`` (its
    ``where``) or in torch's own words (``_reduce_dim_args() got an unexpected keyword
    argument 'keepdims'``), naming neither function nor argument (decision 194)."""
    masked = sys.modules.get("torch.masked")
    if masked is not None and issubclass(t, masked.MaskedTensor):
        hint = (f", with where={argname}.get_mask() for the mask (the reductions)"
                if argname in ("x", "a") else "")
        raise TypeError(
            f"multiact.{fname or '<function>'}: argument {argname!r} is a "
            f"torch.masked.MaskedTensor, whose mask multiact does not honour; expected a "
            f"tensor: pass {argname}.get_data(){hint}")


def _from_namespace(x, t, fname, argname):
    import array_api_compat

    try:
        xp = array_api_compat.array_namespace(x)
    except TypeError:
        raise TypeError(
            f"multiact.{fname or '<function>'}: argument {argname!r} must be an array (NumPy, "
            f"JAX, PyTorch, CuPy, dask or any Array API array) or a Python number/sequence, "
            f"got {t.__module__}.{t.__qualname__}{symbolic_hint(t, fname)}") from None
    return backend_for_namespace(xp)


def symbolic_hint(t, fname):
    """A Keras functional model's symbolic tensor holds no values: where a layer
    computes on it (decision 225)."""
    keras = sys.modules.get("keras")
    sym = getattr(keras, "KerasTensor", None) if keras is not None else None
    if sym is not None and issubclass(t, sym):
        return (f" (a symbolic tensor of a Keras functional model: call multiact in a "
                f"layer, keras.layers.Activation(multiact.{fname or 'gelu'}) or "
                f"keras.layers.Lambda(...))")
    return ""


def backend_for_namespace(xp):
    """The backend of an Array API namespace (one per namespace)."""
    import array_api_compat as c

    for test, name in ((c.is_numpy_namespace, "numpy"), (c.is_torch_namespace, "torch"),
                       (c.is_jax_namespace, "jax"), (c.is_cupy_namespace, "cupy"),
                       (c.is_dask_namespace, "dask")):
        if test(xp):
            import importlib

            return importlib.import_module(f"multiact.backends.{name}").BACKEND
    be = _BY_NS.get(xp)
    if be is None:
        with _LOCK:
            be = _BY_NS.get(xp)
            if be is None:
                be = _BY_NS[xp] = generic.backend(xp)
    return be


_PYTHON = []


def _python_backend(fname, argname):
    """Python numbers and sequences are NumPy input (the contract)."""
    if not _PYTHON:
        try:
            from .backends import numpy as mod
        except ImportError:
            raise TypeError(
                f"multiact.{fname or '<function>'}: Python numbers and sequences are NumPy "
                f"input, and NumPy is not installed: pip install 'multiact[numpy]' "
                f"(or pass an array of your framework)") from None
        _PYTHON.append(mod.PYTHON_BACKEND)
    return _PYTHON[0]
