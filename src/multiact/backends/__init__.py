"""One module per framework, imported only when one of its arrays is passed.

A backend module holds only what differs for its framework, each item with its
reason next to it:

* ``PRIMITIVES``: native versions of functions the Array API standard lacks
  (``ndtr`` for exact GELU), where they are accurate enough, and native
  spellings of standard functions where the wrapped one does not suit the
  framework (PyTorch's ``maximum``/``clip``, which ``torch.compile`` can trace);
* special cases: plain module-level functions registered against a row of the
  function table with ``@SPECIAL.register(name, reason=...)``.  Each decides
  only *how* a formula runs (an in-place chain, an autograd rule, a fused
  kernel), never *what* it computes: the formulas and constants come from
  ``multiact._agnostic``; where a special case does not apply it calls the
  generic body (``G.<name>``);
* ``adapt(info, impl)`` (optional): a rule applied to every function (JAX's
  ``jit`` with the row's static arguments).

Each module ends with ``BACKEND = Backend(...)``; ``multiact._dispatch`` maps
array types to these objects.  ``multiact info NAME`` lists, per backend,
device and dtype, which implementation runs and why.
"""

from __future__ import annotations

import inspect
from functools import partial

from .._agnostic import PRIMITIVES as _GENERIC_PRIMITIVES

__all__ = ["Namespace", "Generic", "Registry", "Backend"]


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


class Generic:
    """The generic bodies bound to one namespace: ``G.gelu(x, approximate)``."""

    def __init__(self, ns):
        from .._table import TABLE

        self.ns = ns
        for info in TABLE:
            setattr(self, info.name, partial(info.body, ns))

    def __getitem__(self, name):
        return getattr(self, name)


class Special:
    """A special case: a plain function, the row it serves, and why it exists."""

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


class Registry:
    """The special cases of one backend module, by row name."""

    def __init__(self, framework):
        self.framework = framework
        self.items: dict[str, Special] = {}

    def register(self, name, *, reason):
        """Register the decorated module-level function as ``name``'s special case."""
        from .._table import BY_NAME

        if name not in BY_NAME:
            raise KeyError(f"{self.framework}: no row named {name!r} in the function table")
        if not reason:
            raise ValueError(f"{self.framework}.{name}: a special case needs its reason")

        def deco(func):
            if name in self.items:
                raise ValueError(f"{self.framework}.{name} is registered twice")
            self.items[name] = Special(name, func, reason)
            return func

        return deco


class Backend:
    """Everything multiact knows about one array library.

    The public functions are attributes (``backend.gelu``): the backend module's
    special case where it has one, else the generic body, then the module's
    ``adapt`` rule.  ``generic`` holds the generic bodies bound to this
    namespace (what every special case must agree with; the conformance suite
    checks that they do).
    """

    def __init__(self, xp, framework, module=None, label=None, generic=None):
        from .._table import TABLE

        self.framework = framework
        self.label = label or framework
        self.xp = xp
        if generic is None:
            primitives = getattr(module, "PRIMITIVES", None)
            generic = Generic(Namespace(xp, framework, primitives, self.label))
        self.ns = generic.ns
        self.generic = generic
        self.module = module
        registry = getattr(module, "SPECIAL", None)
        self.special = dict(registry.items) if registry is not None else {}
        adapt = getattr(module, "adapt", None)
        for info in TABLE:
            impl = self.special[info.name].func if info.name in self.special \
                else getattr(self.generic, info.name)
            if adapt is not None:
                impl = adapt(info, impl)
            setattr(self, info.name, impl)

    @staticmethod
    def coerce(x, fname=""):
        """``x`` as an array of this library (Python input: ``np.asarray``)."""
        return x

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
