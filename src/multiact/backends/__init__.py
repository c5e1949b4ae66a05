"""One module per framework, imported only when one of its arrays is passed.

A backend is a :class:`Backend`: the table's functions are its methods
(``_functions.py``, generated from the table: each runs the function's generic
body on the backend's namespace through :meth:`Backend.generic`).  A backend
module holds only what differs for its framework, each item with its reason
next to it:

* ``PRIMITIVES``: native versions of functions the Array API standard lacks
  (``ndtr`` for exact GELU), where they are accurate enough, and native
  spellings of standard functions where the wrapped one does not suit the
  framework (PyTorch's ``maximum``/``clip``, which ``torch.compile`` can trace);
* special cases: methods of the backend's class that override a function,
  marked ``@special(reason)``.  Each decides only *how* a formula runs (an
  in-place chain, an autograd rule, a fused kernel), never *what* it computes:
  the formulas and constants come from ``multiact._agnostic``; where a special
  case does not apply it calls the generic method (``super().gelu(...)``);
* ``generic``: the one rule applied to every function without a special case
  (JAX's ``jit``, CuPy's and PyTorch's fused kernels, NumPy's blocks).

Each module ends with ``BACKEND = ...``; ``multiact._dispatch`` maps array
types to these objects.  ``multiact info NAME`` lists, per backend, device and
dtype, which implementation runs and why.
"""

from __future__ import annotations

import copy
import inspect
from functools import partial

from .._agnostic import PRIMITIVES as _GENERIC_PRIMITIVES
from .._table import BY_NAME as _ROWS
from ._functions import Functions

__all__ = ["Namespace", "Backend", "special", "defaults", "framework_of"]


class Namespace:
    """The namespace ``array_namespace`` resolved, plus what the standard lacks.

    The wrapped namespace's public names are copied onto the instance when it is
    made, so ``xp.exp`` costs a plain attribute lookup and a read never writes
    (``torch.compile`` refuses a write inside ``checkpoint`` or ``cond``).  ``ndtr``
    (and any other name in ``multiact._agnostic.PRIMITIVES``) comes from the
    backend module's ``PRIMITIVES`` when it has a native version, else from the
    generic implementation.
    """

    def __init__(self, xp, framework, primitives=None, label=None):
        d = self.__dict__
        d["_xp"] = xp
        d["_primitives"] = dict(primitives or {})
        d["framework"] = framework
        d["label"] = label or framework
        d["work_floats"] = frozenset(_canonical(xp, getattr(xp, k)) for k in ("float32", "float64"))
        import warnings

        with warnings.catch_warnings():  # a deprecated name may warn when read
            warnings.simplefilter("ignore")
            for attr in dir(xp):
                if not attr.startswith("_") and attr not in d:
                    try:
                        d[attr] = getattr(xp, attr)
                    except AttributeError:
                        pass
        for attr, fn in _GENERIC_PRIMITIVES.items():
            d[attr] = partial(self._primitives.get(attr, fn), self)
        for attr, fn in self._primitives.items():
            d[attr] = partial(fn, self)

    def replacing(self, primitives):
        """This namespace with some of its primitives replaced (the CPU kernels'
        ``expm1``, say)."""
        return Namespace(self._xp, self.framework, {**self._primitives, **primitives},
                         self.label)

    def __getattr__(self, attr):
        # names the namespace resolves lazily (not in its dir()); nothing is cached
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self._xp, attr)

    def default_float(self, x):
        info = self._xp.__array_namespace_info__()
        try:
            return info.default_dtypes(device=self.device_of(x))["real floating"]
        except Exception:  # noqa: BLE001 - some namespaces reject device=None/tracers
            return info.default_dtypes()["real floating"]

    def device_of(self, x):
        import array_api_compat

        try:
            return array_api_compat.device(x)
        except Exception:  # noqa: BLE001 - e.g. a JAX tracer inside jit
            return None

    def __repr__(self):
        return f"<multiact namespace {self.label!r}>"


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


class _Roots:
    """The framework an array type belongs to, from its module (and its bases')."""

    ROOTS = {"torch": "torch", "jax": "jax", "jaxlib": "jax", "numpy": "numpy",
             "cupy": "cupy", "dask": "dask"}

    @classmethod
    def of(cls, t):
        for base in t.__mro__:
            root = cls.ROOTS.get(base.__module__.partition(".")[0])
            if root is not None:
                return root
        return None


framework_of = _Roots.of


def unconvertible(fname, argname, exc):
    """The contract's error for an argument that its conversion to an array (a
    variable's: :meth:`Backend.coerced`) failed on with ``exc``."""
    return TypeError(f"multiact.{fname or '<function>'}: argument {argname!r} could not be "
                     f"made an array ({type(exc).__name__}: {exc})")


def defaults(name):
    """The defaults of function ``name``'s parameters, in order: a special case whose
    fast path holds at the defaults only (``relu``'s Keras parameters) compares its
    arguments with them, and so needs no edit when the row gains a parameter."""
    return tuple(p.default for p in _ROWS[name].params)


def special(reason):
    """Mark a backend method as the special case of its function, with its reason
    (``multiact info`` shows it; a special case without one is refused)."""
    if not reason:
        raise ValueError("a special case needs its reason")

    def mark(func):
        func.special_reason = reason
        return func

    return mark


class Special:
    """A special case: its function's name, the method, and why it exists."""

    __slots__ = ("name", "func", "reason", "where")

    def __init__(self, name, func, reason):
        self.name, self.func, self.reason = name, func, reason
        try:
            code = inspect.unwrap(func).__code__
            self.where = f"{code.co_filename}:{code.co_firstlineno}"
        except AttributeError:
            self.where = "?"

    def __repr__(self):
        return f"<special case {self.name} at {self.where}: {self.reason}>"


class Backend(Functions):
    """Everything multiact knows about one array library.

    The table's functions are methods (``backends/_functions.py``, generated):
    the generic body through :meth:`generic`, unless the backend's class
    overrides the method with a special case (marked :func:`special`, with its
    reason).  ``generic`` is the one rule a backend applies to every function
    it does not special-case (JAX compiles, CuPy fuses, NumPy runs in blocks).
    """

    #: chosen for one call, never cached for the input's type (``_dispatch``)
    transient = False

    def __init__(self, ns, label=None, python=False):
        self.ns = ns
        self.xp = ns._xp
        self.framework = ns.framework
        self.label = label or ns.label
        self.python = python  # Python numbers and sequences: coerced to arrays first

    def generic(self, row, body, x, *params):
        """``row``'s generic ``body`` on this namespace (what every function runs
        where the backend has no special case)."""
        return body(self.ns, x, *params)

    @property
    def special_cases(self):
        """The special cases of this backend's class, by function name."""
        from .._table import BY_NAME

        out = {}
        for name in BY_NAME:
            func = getattr(type(self), name, None)
            reason = getattr(func, "special_reason", None)
            if reason is not None:
                out[name] = Special(name, func, reason)
        return out

    #: the conversion of a framework's variable to its array (:meth:`coerced`)
    convert = None
    #: a tracer's backend (torch.fx's ``Proxy``): the public functions hand the call
    #: to :meth:`record`, before any check (``python`` set)
    records = False

    def record(self, fname, x, params):
        """The traced call of public function ``fname`` (its name: a parameter may
        shadow it, threshold's) on ``x`` with ``params`` (``(name, value,
        default)``; a value that is its default is left out): a backend with
        ``records`` set."""
        raise NotImplementedError

    def coerce(self, x, fname, argname="x"):
        """``x`` as an array of this library (Python input: ``np.asarray``; a
        variable: :meth:`coerced`)."""
        if self.convert is None:
            return x
        try:
            return self.convert(x)
        except Exception as e:
            raise unconvertible(fname, argname, e) from None

    def coerced(self, convert):
        """This backend for objects that become its library's arrays through
        ``convert`` (a framework's variable, which wraps its array: ``_dispatch``): a
        copy whose :meth:`coerce`, which the public functions call first (``python``
        set), converts.  The copy shares the backend's caches (JAX's executables)."""
        c = copy.copy(self)
        c.python, c.convert = True, convert
        return c

    def check_array(self, fname, pname, v, x, first="x"):
        """Raise the contract's error where the array argument ``v`` (a mask, a
        weight) cannot take part in a call on ``x``: another device, another layout
        (PyTorch's); else return."""

    def on_error(self, exc, x, fname, argname="x"):
        """The public function's call raised ``exc``: raise the contract's
        ``TypeError`` where ``x`` is a kind of array this library accepts but the
        function cannot be computed on (the backend knows which: PyTorch's sparse,
        mkldnn and nested tensors); else return, and ``exc`` goes on unchanged."""

    def owns(self, v):
        """Whether ``v`` is an array of this backend's library."""
        fw = framework_of(type(v))
        if fw is not None or self.framework != "generic":
            return fw == self.framework
        import array_api_compat

        try:
            return array_api_compat.array_namespace(v) is self.xp
        except TypeError:
            return False

    def library_of(self, v):
        """A label for the library of the array ``v`` (error messages)."""
        return framework_of(type(v)) or type(v).__module__.partition(".")[0]

    def asarray_like(self, v, x, fname, pname):
        """A Python bool/number/sequence as an array of this library on ``x``'s device."""
        try:
            return self.xp.asarray(v, device=self.ns.device_of(x))
        except (TypeError, ValueError) as e:
            raise TypeError(f"multiact.{fname}: argument {pname!r} could not be made an array "
                            f"({type(e).__name__}: {e})") from None

    def same_library(self, other) -> bool:
        return other.framework == self.framework and other.label == self.label

    def __repr__(self):
        return f"<multiact backend {self.label}>"
