"""Parameter kinds: one validator per kind of parameter, shared by every function
that has a parameter of that kind (``docs/contract.md``, "errors").

A kind turns what the user passed into what the generic body takes, or raises a
``TypeError``/``ValueError`` that names the function, the argument and what was
expected.  A row of the function table (``_table.py``) lists its parameters as
``Param(name, kind, default)``; the generated public layer (``_api.py``) calls
``kind.check`` for every value that is not already in its normal form
(``kind.fast`` says which values those are, as a Python expression).

Nothing here imports a framework: arrays are handled through the backend that
``x`` resolved to.
"""

from __future__ import annotations

import math
import operator
import sys
from dataclasses import dataclass
from typing import Any

from ._agnostic._formulas import F32_MAX as _F32_MAX
from ._agnostic._formulas import F32_ZERO as _F32_ZERO

__all__ = ["Param", "Kind", "Real", "RealOrArray", "Scale", "Flag", "Approximate", "Axis",
           "Axes", "Mask", "Initial", "Count", "DType", "Weight", "REQUIRED", "broadcastable",
           "unexpected_arguments"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


def _typename(v, pname=None) -> str:
    """``v``'s type for an error message; with ``pname``, a parameter that must be
    a Python value, a JAX tracer's message says how to keep it one under jit."""
    t = type(v)
    name = t.__name__ if t.__module__ == "builtins" else f"{t.__module__.split('.')[0]}.{t.__name__}"
    if pname is not None and t.__module__.startswith("jax") and "Tracer" in t.__name__:
        # jax.jit traces every argument: this one sets the computation, so it stays a
        # Python value (decision 46; jax.nn.standardize takes a traced epsilon, and
        # multiact says how to keep it one: decision 174)
        name += (f" (a value that jax.jit, vmap or grad traces: {pname!r} must be a Python "
                 f"value; under jax.jit, mark the argument that carries it static, e.g. "
                 f"jax.jit(f, static_argnames={pname!r}))")
    elif pname is not None and t.__module__.partition(".")[0] in _DEVICE_LIBRARIES \
            and hasattr(v, "shape") and hasattr(v, "dtype"):
        # a concrete array of a library whose arrays may live on a device: never read
        # back to the host here (decision 166); to its user a jnp.float32(1e-3) is a
        # real number, so the message says what to pass (decision 186)
        name += (f" (an array, which multiact does not read back from its device: pass "
                 f"{pname!r} as a Python value, e.g. float(v), int(v) or bool(v))")
    return name


#: libraries whose arrays may live on a device: for a Python-valued parameter, never
#: read back, and the message says what to pass (NumPy's scalars, and its 0-d integer
#: arrays where an int is asked for, are read)
_DEVICE_LIBRARIES = frozenset({"jax", "jaxlib", "torch", "cupy", "dask"})


def _known(n) -> bool:
    """A dimension size that is known (dask reports NaN for unknown chunk sizes).
    A size that ``torch.jit.trace`` traces (a 0-d tensor) counts as unknown: made a
    Python bool it would print a TracerWarning into the user's program (torch's
    own broadcasting checks it when the trace runs)."""
    if isinstance(n, int):
        return True
    if type(n).__name__ == "Tensor" and type(n).__module__ == "torch":
        return False
    return n is not None and n == n and not isinstance(n, float)


def _nan(n) -> bool:
    """dask's size of an axis unknown until compute (NaN, after boolean indexing)."""
    return isinstance(n, float) and n != n


def broadcastable(shape, to) -> bool:
    """Whether an array of ``shape`` broadcasts to ``to`` without changing ``to``.

    Unknown sizes (``None``, NaN: dask after boolean indexing) match anything.
    """
    shape, to = tuple(shape), tuple(to)
    if len(shape) > len(to):
        return False
    for a, b in zip(reversed(shape), reversed(to)):
        if not (_known(a) and _known(b)):
            continue
        if a != 1 and a != b:
            return False
    return True


def broadcast_together(a, b) -> bool:
    """Whether shapes ``a`` and ``b`` broadcast with each other (unknown sizes match)."""
    for m, n in zip(reversed(tuple(a)), reversed(tuple(b))):
        if _known(m) and _known(n) and m != 1 and n != 1 and m != n:
            return False
    return True


def _shape_str(shape) -> str:
    return "(" + ", ".join("?" if not _known(n) else str(n) for n in shape) + \
        ("," if len(shape) == 1 else "") + ")"


_INF = float("inf")


#: the modules of NumPy's scalar types: NumPy's own and ml_dtypes' (bfloat16, the
#: float8 and int4 types: subclasses of ``numpy.generic`` that ``np.asarray(a)[0]`` of
#: a JAX bfloat16 array gives; they were refused, or taken as NumPy arrays: decision 210)
_SCALAR_MODULES = ("numpy", "ml_dtypes")


def _real_scalar(fname, pname, v):
    """A Python or NumPy real scalar as a Python int/float, or None if ``v`` is not one."""
    t = type(v)
    if t is float or t is int:
        return v
    if isinstance(v, bool) or t is bool:
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be a real number, got bool")
    if isinstance(v, float):
        return float(v)  # np.float64 is a float subclass, and would upcast float32
    if isinstance(v, int):
        return int(v)
    if t.__module__ in _SCALAR_MODULES and getattr(v, "shape", None) == () and \
            (t.__name__ != "ndarray" or _compiling()):
        # (a NumPy scalar reaches a function torch.compile traces as a 0-d
        # ``numpy.ndarray``, Dynamo's stand-in, whose ``item()`` is the number:
        # refused there, where the same call ran eagerly; decision 231)
        item = v.item()
        if isinstance(item, bool):
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a real number, "
                            f"got numpy.bool")
        if isinstance(item, (int, float)):
            return item
        if getattr(item, "dtype", None) is not None and item.dtype.kind == "f":
            f = float(item)  # longdouble (its .item() is itself): decision 166
            if (f != f) == (item != item) and (f == 0) == (item == 0) and \
                    (abs(f) == _INF) == (abs(item) == _INF):
                return f
            raise ValueError(f"multiact.{fname}: argument {pname!r} is {str(item)}, beyond "
                             f"float64's range; expected a real number that float64 holds")
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be real, got {_typename(v)}")
    return None


_DOMAINS = {
    "any": (lambda s: True, "a finite real number"),
    "positive": (lambda s: s > 0, "a finite real number > 0"),
    "nonneg": (lambda s: s >= 0, "a finite real number >= 0"),
}


def _wide_int(fname, pname, s, what):
    """``s``, or for an int beyond int64 (which PyTorch cannot take as a scalar) that
    int as a float; ``ValueError`` for one beyond float's range (Python's
    ``OverflowError`` otherwise, later, deep in the computation)."""
    if type(s) is int and not -2 ** 63 <= s < 2 ** 63:
        try:
            return float(s)
        except OverflowError:
            raise ValueError(f"multiact.{fname}: argument {pname!r} must be {what}, got an "
                             f"int beyond the float range ({len(str(abs(s)))} digits)") from None
    return s




def _jax_int(s, be, x, fname):
    """``s``, or for JAX an int beyond int32 with a floating ``x`` that int as a float.
    Reason: JAX without x64 takes a Python int as int32, and ``x > 2**31`` raised
    OverflowError where ``x > 2.0**31`` is computed (NumPy and PyTorch take both;
    decision 167).  A floating x compares and computes with the float as JAX would;
    so does an integer x that ``fname`` computes in floating point (all but the
    rows that keep integer dtypes, :func:`_keeps_int`: ``hard_shrink(int32 x,
    lambd=2**31)`` raised it; decision 170)."""
    if type(s) is int and not -2 ** 31 <= s < 2 ** 31 and be is not None and \
            be.framework == "jax" and (not be.ns.isdtype(x.dtype, ("integral", "bool"))
                                       or not _keeps_int(fname)):
        return float(s)
    return s


def _keeps_int(fname):
    """Whether ``fname`` may keep an integer input's dtype (the table's ``keep_int``:
    relu decides by its parameters' values, and makes them floats where it computes
    in floating point)."""
    from ._table import BY_NAME  # (the table is built from this module)

    row = BY_NAME.get(fname)
    return row is None or row.keep_int


def _check_domain(fname, pname, s, domain, be=None, x=None):
    ok, what = _DOMAINS[domain]
    s = _wide_int(fname, pname, s, what)
    # s - s == 0 is "finite" without math.isfinite, which torch.compile cannot
    # trace on a symbolic float (dynamic=True)
    if not (s - s == 0) or not ok(s):
        raise ValueError(f"multiact.{fname}: argument {pname!r} must be {what}, got {s!r}")
    # (a positive one that is 0 in float32 leaves its domain there: celu's alpha
    # gave NaN; another is rounded as float32 rounds it)
    if x is not None and (s > _F32_MAX or s < -_F32_MAX
                          or (domain == "positive" and s <= _F32_ZERO)):
        _check_range(fname, pname, s, be, x)
    return _jax_int(s, be, x, fname)


def _work_bits(be, x):
    """The bits of the dtype ``x`` is computed in: 64 for float64 (and integers
    where the default float is float64), else 32 (float32, the halves, the 8-bit
    floats)."""
    xp = be.ns
    dt = x.dtype
    if xp.isdtype(dt, ("integral", "bool")):
        dt = xp.default_float(x)
    return 64 if xp.isdtype(dt, "real floating") and xp.finfo(dt).bits >= 64 else 32


def _dtype_label(x):
    """``x``'s dtype as a message names it ("float32", not "torch.float32")."""
    return str(x.dtype).rpartition(".")[2]


def _check_range(fname, pname, s, be, x):
    """``ValueError`` for a scalar parameter beyond the largest value of the dtype
    ``x`` is computed in (float32 for float32, the halves, the 8-bit floats, and
    integers where the default float is float32).  It became inf there: NumPy and
    JAX warned of an overflow in a cast, torch raised its own RuntimeError, and
    some results were inf * 0 (decision 125).  The same for a positive one that is
    0 in float32 (celu's alpha = 1e-46: NaN; decision 129)."""
    if _work_bits(be, x) == 64:
        return
    name = _dtype_label(x)
    if -_F32_ZERO <= s <= _F32_ZERO:
        raise ValueError(f"multiact.{fname}: argument {pname!r} must be > 0 in float32 (x's "
                         f"dtype {name} is computed in float32, where it rounds to 0), "
                         f"got {s!r}")
    raise ValueError(f"multiact.{fname}: argument {pname!r} must be within float32's range "
                     f"(at most {_F32_MAX:.4g} in magnitude: x's dtype {name} is computed in "
                     f"float32), got {s!r}")


class Kind:
    """How one kind of parameter is checked and normalised."""

    #: the type annotation of the public signature (``ArrayT`` is x's type)
    annotation = "Any"
    #: whether jax.jit must treat it as static (it selects code, not data)
    static = False
    #: a Python expression in ``{v}`` that is True when the value needs no check
    fast = "False"
    #: whether the check needs ``x`` as an array (its ndim, shape or library)
    needs_array = False
    #: whether a valid value is already its own normal form (so the default,
    #: passed as the same object, needs no check)
    normal_default = True
    #: whether the array argument broadcasts together with this one: such a
    #: parameter is checked first, and ``widen`` gives the array the other checks
    #: (and the body) see
    widens = False
    #: whether ``check`` needs neither the backend nor ``x`` (so that a
    #: :class:`multiact.Activation`'s parameter is checked when it is made)
    alone = False

    def check(self, fname, pname, v, be, x, first="x"):  # pragma: no cover - abstract
        raise NotImplementedError

    def check_plain(self, fname, pname, v):
        """Check a plain Python value (an ``Activation``'s parameter) as far as that
        needs no array: what needs ``x`` (its shape, its library) waits for the call."""
        if self.alone:
            self.check(fname, pname, v, None, None)

    def widen(self, x, v, be):
        return x

    def describe(self) -> str:
        return self.annotation


@dataclass(frozen=True)
class Real(Kind):
    """A real scalar (Python or NumPy number), finite, in ``domain``; ``optional``:
    or None (Keras's ``relu(max_value=None)``: no cap)."""

    alone = True

    domain: str = "any"
    optional: bool = False

    @property
    def annotation(self):
        # (SupportsFloat: a NumPy scalar is taken at run time too; decision 181)
        return "SupportsFloat | None" if self.optional else "SupportsFloat"

    @property
    def fast(self):
        # a Python float still needs its finiteness and domain checked
        return "{v} is None" if self.optional else "False"

    def check(self, fname, pname, v, be, x, first="x"):
        if v is None and self.optional:
            return None
        s = _real_scalar(fname, pname, v)
        if s is None:
            what = "None or a real number" if self.optional else "a real number"
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be {what}, "
                            f"got {_typename(v, pname)}")
        return _check_domain(fname, pname, s, self.domain, be, x)

    def describe(self):
        return ("None, " if self.optional else "") + _DOMAINS[self.domain][1]


@dataclass(frozen=True)
class RealOrArray(Kind):
    """A real scalar in ``domain`` (as :class:`Real`), or an array of ``x``'s
    library, with a real dtype, that broadcasts to ``x``'s shape.  Array entries
    are data: their domain is not checked (that would need a device sync)."""

    domain: str = "any"
    optional: bool = False
    #: the least scalar for x computed in float32 and in float64 (softplus's beta:
    #: ``fm.SOFTPLUS_BETA_FLOOR``), or None
    floor: Any = None
    #: the largest, likewise (celu's alpha: ``fm.CELU_ALPHA_CEILING``), or None
    ceiling: Any = None
    needs_array = True

    @property
    def annotation(self):
        # (not ArrayT: x alone decides the result's type; a NumPy scalar, or an array
        # of another dtype, is a valid parameter: decision 151)
        return "SupportsFloat | ArrayLike | None" if self.optional else \
            "SupportsFloat | ArrayLike"

    @property
    def fast(self):
        return "{v} is None" if self.optional else "False"

    def check(self, fname, pname, v, be, x, first="x"):
        if v is None:
            if self.optional:
                return None
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a real number or an "
                            f"array, got None")
        if isinstance(v, (str, bytes, complex)):
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a real number or an "
                            f"array, got {_typename(v)}")
        s = _real_scalar(fname, pname, v)
        if s is not None:
            s = _check_domain(fname, pname, s, self.domain, be, x)
            # (float32's bounds are the narrower: x's dtype is looked at only outside
            # them, a small call's cost otherwise: celu(alpha=2.0) 2.8 -> 8.3 us)
            if self.floor is not None and x is not None and s < self.floor[0]:
                least = self.floor[_work_bits(be, x) == 64]
                if s < least:
                    raise ValueError(
                        f"multiact.{fname}: argument {pname!r} must be at least {least!r} "
                        f"for x of dtype {_dtype_label(x)}, got {s!r}")
            if self.ceiling is not None and x is not None and s > self.ceiling[0]:
                most = self.ceiling[_work_bits(be, x) == 64]
                if s > most:
                    raise ValueError(
                        f"multiact.{fname}: argument {pname!r} must be at most {most!r} "
                        f"for x of dtype {_dtype_label(x)}, got {s!r}")
            return s
        v = _real_array(fname, pname, v, be, x, first)
        _check_broadcast(fname, pname, v, x, first)
        return v

    def describe(self):
        what = _DOMAINS[self.domain][1]
        if self.floor is not None:
            what += f" (at least {self.floor[0]!r} for float32 x, {self.floor[1]!r} for float64)"
        if self.ceiling is not None:
            what += (f" (at most {self.ceiling[0]!r} for float32 x, {self.ceiling[1]!r} for "
                     f"float64)")
        what += ", or an array broadcastable to x"
        return ("None, " + what) if self.optional else what

    def check_plain(self, fname, pname, v):
        # a scalar, None or a string is checked as the call would; a tuple waits
        if v is None or isinstance(v, (str, bytes, complex, bool, int, float)):
            self.check(fname, pname, v, None, None)


@dataclass(frozen=True)
class Scale(RealOrArray):
    """logsumexp's ``b``: None, a finite real scalar, or an array of ``x``'s library
    with a real dtype that broadcasts *together* with ``x`` (as SciPy's and JAX's
    ``b``: ``x`` of shape (4, 1, 2, 1) with ``b`` of shape (3, 1, 5)).  ``x`` is
    broadcast with it before ``axis`` and ``where`` are checked, so they refer to
    the joint shape.  A floating ``b`` takes part in the result's dtype (the body
    promotes; decisions 1)."""

    optional: bool = True
    widens = True

    def check(self, fname, pname, v, be, x, first="x"):
        if v is None:
            return None
        if isinstance(v, (str, bytes, complex)):
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a real number or an "
                            f"array, got {_typename(v)}")
        s = _real_scalar(fname, pname, v)
        if s is not None:
            return _jax_int(_check_domain(fname, pname, s, self.domain), be, x, fname)
        v = _real_array(fname, pname, v, be, x, first)
        if not broadcast_together(v.shape, x.shape):
            raise ValueError(f"multiact.{fname}: argument {pname!r} has shape "
                             f"{_shape_str(v.shape)}, which does not broadcast with {first}'s "
                             f"shape {_shape_str(x.shape)}")
        return v

    def widen(self, x, v, be):
        if v is None or isinstance(v, (int, float)) or broadcastable(v.shape, x.shape):
            return x
        return be.ns.broadcast_arrays(x, v)[0]

    def describe(self):
        return ("None, a finite real number, or an array that broadcasts with a (a floating "
                "one takes part in the result's dtype)")


#: ``(namespace, dtype) -> whether the dtype is real`` (floating or integer): the
#: three ``isdtype`` calls through the namespace's wrappers took 2-3 us of a 16-element
#: prelu with a weight tensor whose kernel takes 1.5
_REAL_DTYPES: dict = {}


def _real_dtype(ns, dt):
    if _compiling():  # (Dynamo guards a dict it reads by its size: a new entry after
        return _is_real(ns, dt)  # a compile recompiled every graph that read it)
    try:
        return _REAL_DTYPES[ns, dt]
    except KeyError:
        real = _is_real(ns, dt)
        if len(_REAL_DTYPES) < 256:
            _REAL_DTYPES[ns, dt] = real
        return real
    except TypeError:  # (an unhashable dtype)
        return _is_real(ns, dt)


def _is_real(ns, dt):
    return not ns.isdtype(dt, "complex floating") and (
        ns.isdtype(dt, "real floating") or ns.isdtype(dt, "integral"))


def _compiling():
    """Whether torch.compile is tracing this call, on this thread (the library imports
    no framework: a torch that is not loaded traces nothing; its backend's
    ``_torch_native._is_compiling`` says why the process-wide flag is not enough,
    decision 167)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    # (written out, not the backend's function: a lookup of the backend's module in
    # sys.modules was a Dynamo guard that the first call inside torch.compile, which
    # imports it, broke on its own frame)
    c = torch.compiler
    return c.is_compiling() and (c.is_dynamo_compiling() or sys.modules[
        "torch._guards"].TracingContext.try_get() is not None)


def _real_array(fname, pname, v, be, x, first="x"):
    """``v`` as an array of ``x``'s library with a real (floating or integer) dtype
    (a parameter that takes a real number too: its kind tried that first)."""
    v = _same_library_array(fname, pname, v, be, x, first,
                            "a real number (an int or a float) or an array")
    if not _real_dtype(be.ns, v.dtype):
        raise TypeError(f"multiact.{fname}: argument {pname!r} must have a real dtype, "
                        f"got {v.dtype}")
    return v


def _refuse_non_array(fname, pname, v, expected="an array"):
    """``TypeError`` for a ``v`` that is no array (a list or tuple passes: it is
    converted with ``x``'s library at the call); ``expected``: what the parameter
    takes, as the message names it."""
    if isinstance(v, (list, tuple)):
        return
    if not (hasattr(v, "shape") and hasattr(v, "dtype")):  # a framework object, not an array
        hint = ("; multiact keeps x's dtype: cast x first" if "dtype" in type(v).__name__.lower()
                else "")
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be {expected}, got "
                        f"{_typename(v)}{hint}")


#: -0.0 as :func:`signed` gives it
_NEGATIVE_ZERO = ("float", "-0.0")


def signed(v):
    """A parameter's value as equality should see it where a zero's sign matters:
    -0.0 apart from 0.0, which it equals (and hashes as), though threshold's value,
    leaky_relu's slope and relu's threshold of -0.0 give results of another sign
    (decision 150).  ``Activation``'s equality and the FX record's test for a
    default compare by it (decision 228)."""
    if isinstance(v, float) and v == 0.0 and math.copysign(1.0, v) < 0:
        return _NEGATIVE_ZERO
    return v


def _same_library_array(fname, pname, v, be, x, first="x", expected="an array"):
    if isinstance(v, (list, tuple)):
        return be.asarray_like(v, x, fname, pname)
    owned = be.owns(v)
    if not owned:
        from ._dispatch import variable_backend

        vb = variable_backend(v, fname, pname)  # a framework's variable: its array, as
        if vb is not None:  #                     for the input (decision 225)
            v = vb.coerce(v, fname, pname)
            owned = be.owns(v)
    _refuse_non_array(fname, pname, v, expected)
    if not owned:
        from ._dispatch import symbolic_hint

        raise TypeError(
            f"multiact.{fname}: argument {pname!r} is a {be.library_of(v)} array but "
            f"{first!r} is a {be.label} array; pass arrays of one library (Python and "
            f"NumPy scalars go with any){symbolic_hint(type(v), fname)}")
    be.check_array(fname, pname, v, x, first)
    if be.framework == "numpy":  # (no other backend takes a NumPy array)
        from ._dispatch import refuse_numpy_subclass

        refuse_numpy_subclass(type(v), fname, pname)
    elif be.framework == "torch" and type(v).__module__ != "torch":  # (a subclass)
        from ._dispatch import refuse_masked_tensor

        refuse_masked_tensor(type(v), fname, pname)
    return v


def _check_broadcast(fname, pname, v, x, first="x"):
    if not broadcastable(v.shape, x.shape):
        raise ValueError(f"multiact.{fname}: argument {pname!r} has shape {_shape_str(v.shape)}, "
                         f"which does not broadcast to {first}'s shape {_shape_str(x.shape)}")


@dataclass(frozen=True)
class Flag(Kind):
    """A bool (Python or NumPy)."""

    alone = True

    annotation = "bool"
    static = True
    fast = "{v} is True or {v} is False"

    def check(self, fname, pname, v, be, x, first="x"):
        if isinstance(v, bool):
            return v
        if type(v).__module__ == "numpy" and type(v).__name__ in ("bool", "bool_"):
            return bool(v)  # NumPy's bool scalar: numpy.bool (NumPy 2), numpy.bool_ (1.x)
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be a bool, got {_typename(v, pname)}")

    def describe(self):
        return "a bool"


@dataclass(frozen=True)
class Approximate(Flag):
    """gelu's form: a bool, or PyTorch's strings ``"tanh"`` (True) and ``"none"`` (False)."""

    annotation = 'bool | Literal["none", "tanh"]'

    def check(self, fname, pname, v, be, x, first="x"):
        if isinstance(v, str):
            if v == "tanh":
                return True
            if v == "none":
                return False
            raise ValueError(f"multiact.{fname}: argument {pname!r} must be a bool, 'tanh' or "
                             f"'none' (PyTorch's names), got {v!r}")
        return super().check(fname, pname, v, be, x)

    def describe(self):
        return "a bool, or 'tanh' / 'none'"


def _index(fname, pname, v):
    if isinstance(v, bool):
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be an int, got bool")
    if not isinstance(v, int) and hasattr(v, "shape") and \
            not type(v).__module__.startswith("numpy"):
        # an array of a library: its int would be a compute (dask's __index__) or a
        # device sync; a NumPy integer or 0-d array holds its value (decision 166)
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be an int, got "
                        f"{_typename(v, pname)}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"multiact.{fname}: argument {pname!r} must be an int, "
                        f"got {_typename(v, pname)}") from None


def _one_axis(fname, pname, a, ndim):
    a = _index(fname, pname, a)
    if ndim == 0:  # a 0-d array has no axis to name (see Axes for what it accepts)
        raise ValueError(f"multiact.{fname}: argument {pname!r} is {a}, out of range for a 0-d "
                         f"array (it has no axes)")
    if not -ndim <= a < ndim:
        raise ValueError(f"multiact.{fname}: argument {pname!r} is {a}, out of range for an "
                         f"array of {ndim} dimension(s) (expected -{ndim} <= {pname} < {ndim})")
    return a % ndim


@dataclass(frozen=True)
class Axis(Kind):
    """One axis of ``x`` (an int, negative counts from the end); ``extra`` adds
    that many axes to ``x.ndim`` (one_hot's new axis)."""

    extra: int = 0
    min_ndim: int = 1
    #: whether a 0-d ``x`` takes axis 0 or -1 as "no axis", as :class:`Axes` (the
    #: contract; sparsemax: a slice of one entry, decision 140)
    scalar: bool = False
    annotation = "SupportsIndex"  # (a NumPy integer is taken too; decision 181)
    static = True
    needs_array = True
    normal_default = False

    def check(self, fname, pname, v, be, x, first="x"):
        if self.scalar and x.ndim == 0:
            if _index(fname, pname, v) in (0, -1):
                return -1
            # (the contract's words for a 0-d array, as Axes says them: "at least 1
            # dimension" was wrong, 0-d input is taken; decision 178's probe)
            raise ValueError(f"multiact.{fname}: argument {pname!r} is {_index(fname, pname, v)}, "
                             f"out of range for a 0-d array (expected 0 or -1)")
        if x.ndim + self.extra < self.min_ndim:
            raise ValueError(f"multiact.{fname}: argument 'x' must have at least "
                             f"{self.min_ndim} dimension(s), got {x.ndim}-d")
        return _one_axis(fname, pname, v, x.ndim + self.extra)

    def check_plain(self, fname, pname, v):
        _index(fname, pname, v)  # its type; its range waits for x.ndim

    def describe(self):
        return "an int"


@dataclass(frozen=True)
class Axes(Kind):
    """An int, a tuple of ints or None (every axis), normalised to a tuple of
    non-negative ints.  A 0-d ``x`` has no axis -1, but ``axis=0``/``-1``, and
    a tuple of one of them, are accepted there (as PyTorch accepts ``dim=0``,
    ``-1``, ``(0,)`` on 0-d tensors) and mean "no axis"."""

    annotation = "SupportsIndex | tuple[SupportsIndex, ...] | None"
    static = True
    needs_array = True
    normal_default = False

    def check(self, fname, pname, v, be, x, first="x"):
        ndim = x.ndim
        if v is None:
            return tuple(range(ndim))
        if isinstance(v, (tuple, list)):
            if ndim == 0:
                return self._zero_d(fname, pname, v, tuple(v))
            out = tuple(_one_axis(fname, pname, a, ndim) for a in v)
            if len(set(out)) != len(out):
                raise ValueError(f"multiact.{fname}: argument {pname!r} repeats an axis: {v!r}")
            return tuple(sorted(out))
        if ndim == 0:
            return self._zero_d(fname, pname, v, (v,))
        return (_one_axis(fname, pname, v, ndim),)

    @staticmethod
    def _zero_d(fname, pname, v, axes):
        """Axes of a 0-d array: each 0 or -1 (the one pseudo-axis), at most once."""
        seq = isinstance(v, (tuple, list))
        for a in axes:
            if _index(fname, pname, a) not in (0, -1):
                raise ValueError(f"multiact.{fname}: argument {pname!r} is "
                                 f"{tuple(v) if seq else v!r}, out of range for a 0-d array "
                                 f"(expected 0, -1, None or ()"
                                 f"{', or a tuple of one 0 or -1' if seq else ''})")
        if len(axes) > 1:
            raise ValueError(f"multiact.{fname}: argument {pname!r} repeats an axis: {v!r}")
        return ()

    def check_plain(self, fname, pname, v):
        # the types (None, an int, a tuple or list of ints); the range and the
        # repeats (-1 and ndim - 1 are one axis) wait for x.ndim
        for a in (() if v is None else v if isinstance(v, (tuple, list)) else (v,)):
            _index(fname, pname, a)

    def describe(self):
        return "an int, a tuple of ints or None"


@dataclass(frozen=True)
class Mask(Kind):
    """None, or a boolean array of ``x``'s library (or a Python bool/sequence)
    that broadcasts to ``x``'s shape."""

    annotation = "ArrayLike | Sequence[Any] | bool | None"  # (a bool mask of x's library)
    fast = "{v} is None"
    needs_array = True

    def check(self, fname, pname, v, be, x, first="x"):
        if v is None:
            return None
        t = type(v)
        if t.__module__ == "numpy" and t.__name__ in ("bool", "bool_") and v.shape == ():
            v = bool(v)  # (a NumPy scalar goes with any library, as a Python bool)
        if isinstance(v, bool):
            v = be.asarray_like(v, x, fname, pname)
        else:
            v = _same_library_array(fname, pname, v, be, x, first)
        if not be.ns.isdtype(v.dtype, "bool"):
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a boolean mask, "
                            f"got dtype {v.dtype}")
        _check_broadcast(fname, pname, v, x, first)
        return v

    def check_plain(self, fname, pname, v):
        if v is not None and not isinstance(v, bool):
            _refuse_non_array(fname, pname, v)  # (its library, dtype and shape wait for x)

    def describe(self):
        return "None or a boolean array broadcastable to x"


@dataclass(frozen=True)
class Initial(Kind):
    """None, or a real scalar lower bound for the softmax shift (``-inf`` allowed,
    NaN and ``+inf`` not): checked, then None.  The softmax family is the same for
    every shift, and the shift is each slice's own maximum; one above it only
    underflowed entries (``softmax([0, 1], initial=800)`` was ``[0, 0]``, and
    log_softmax's ``-inf``: decision 177)."""

    alone = True

    annotation = "SupportsFloat | None"
    fast = "{v} is None"

    def check(self, fname, pname, v, be, x, first="x"):
        if v is None:
            return None
        s = _real_scalar(fname, pname, v)
        if s is None:
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a real number or "
                            f"None, got {_typename(v, pname)}")
        s = _wide_int(fname, pname, s, "a real number below +inf (or -inf, or None)")
        if s != s or s == math.inf:
            raise ValueError(f"multiact.{fname}: argument {pname!r} must be a real number below "
                             f"+inf (or -inf, or None), got {s!r}")
        if x is not None and (s > _F32_MAX or s < -_F32_MAX) and _work_bits(be, x) == 32:
            # computed in float32: one above its range is refused (decision 125), one
            # below is -inf, as float32 rounds it (NumPy warned of the cast)
            if s > 0:
                _check_range(fname, pname, s, be, x)
        return None

    def describe(self):
        return "None or a real number (-inf allowed)"


@dataclass(frozen=True)
class Count(Kind):
    """A positive Python int (``num_classes``)."""

    alone = True

    annotation = "SupportsIndex"
    static = True
    normal_default = False

    def check(self, fname, pname, v, be, x, first="x"):
        n = _index(fname, pname, v)
        if n <= 0:
            raise ValueError(f"multiact.{fname}: argument {pname!r} must be a positive int, "
                             f"got {n}")
        if n >= 2 ** 63:  # (no library makes that axis: Python's OverflowError, later)
            raise ValueError(f"multiact.{fname}: argument {pname!r} must be a positive int "
                             f"below 2**63, got an int of {len(str(n))} digits")
        return n

    def describe(self):
        return "a positive int"


#: the dtype names a ``dtype`` argument may give for any library (decision 131): the
#: Array API's, and bfloat16, each taken from x's namespace where it has it
DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
               "uint64", "float16", "bfloat16", "float32", "float64", "complex64",
               "complex128")


_PY_TYPES = (bool, int, float, complex)  # read differently by each library (decision 165)


def _dtype_of(be, v):
    """``v`` where it is a dtype of ``be``'s namespace (its ``isdtype`` takes it), else
    None (namespaces raise different errors for a non-dtype; array_api_compat's
    torch ``isdtype`` takes a tensor for a dtype).  Python's own ``bool``, ``int``,
    ``float`` and ``complex`` are no library's dtype: JAX read ``float`` as float32,
    dask as float64, NumPy and PyTorch refused it (decision 165)."""
    if any(v is t for t in _PY_TYPES):
        return None
    if not isinstance(v, type) and (hasattr(v, "__array_namespace__") or
                                    hasattr(v, "__array__")):  # an array (np.float32 is a type)
        return None
    try:
        ok = be.ns.isdtype(v, ("bool", "integral", "real floating", "complex floating"))
    except Exception:  # noqa: BLE001
        ok = False
    return v if ok else None


@dataclass(frozen=True)
class DType(Kind):
    """None, a dtype of ``x``'s library, or the name of one (``"float32"``, one of
    :data:`DTYPE_NAMES`), resolved in ``x``'s namespace: one spelling for every
    library (decision 131)."""

    annotation = "Any"
    static = True
    fast = "{v} is None"

    def check(self, fname, pname, v, be, x, first="x"):
        if v is None:
            return None
        if not isinstance(v, str) and not any(v is t for t in _PY_TYPES):
            if _dtype_of(be, v) is None:
                raise TypeError(f"multiact.{fname}: argument {pname!r} must be a dtype of "
                                f"{be.label}, got {v!r}")
            return v
        dt = _dtype_of(be, getattr(be.ns, v, v)) if isinstance(v, str) and \
            v in DTYPE_NAMES else None
        if dt is None:  # (a name outside DTYPE_NAMES is refused, even where x's library
            #              takes it: one spelling for every library)
            names = ", ".join(n for n in DTYPE_NAMES
                              if _dtype_of(be, getattr(be.ns, n, n)) is not None)
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a dtype of "
                            f"{be.label} or the name of one ({names}), got {v!r}")
        return dt

    def check_plain(self, fname, pname, v):
        # a Python scalar is no library's dtype, nor a string that names none; a
        # dtype object or a name waits for x's library
        if isinstance(v, (bytes, bool, int, float, complex)) or (
                isinstance(v, str) and v not in DTYPE_NAMES):
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a dtype of x's "
                            f"library or the name of one ({', '.join(DTYPE_NAMES)}), "
                            f"got {v!r}")

    def describe(self):
        return "None, a dtype of x's library, or its name (\"float32\")"


@dataclass(frozen=True)
class Weight(Kind):
    """prelu's weight: a real scalar, or a 0-d/1-d array of ``x``'s library with
    one entry (for ``x`` of any rank, 0-d included, as ``F.prelu``) or one per
    channel (axis 1; axis 0 of a 1-d ``x``).  Not a broadcast: a per-channel
    weight lines up with axis 1 whatever ``x``'s rank."""

    annotation = "SupportsFloat | ArrayLike"
    needs_array = True

    def check(self, fname, pname, v, be, x, first="x"):
        s = _real_scalar(fname, pname, v) if not isinstance(v, (list, tuple)) else None
        if s is not None:
            return _check_domain(fname, pname, s, "any", be, x)
        if v is None or isinstance(v, (str, bytes, complex)):
            raise TypeError(f"multiact.{fname}: argument {pname!r} must be a real number or an "
                            f"array, got {_typename(v)}")
        w = _real_array(fname, pname, v, be, x, first)
        if w.ndim > 1:
            raise ValueError(f"multiact.{fname}: argument {pname!r} must be 0-d or 1-d, "
                             f"got {w.ndim}-d")
        n = w.shape[0] if w.ndim == 1 else 1
        channels = 1 if x.ndim == 0 else x.shape[1] if x.ndim >= 2 else x.shape[0]
        if _nan(n) or (_nan(channels) and n != 1):  # (a size jit.trace traces is
            # never NaN: compared first, it was made a bool, with a TracerWarning)
            # Reason: dask's blocks of unknown size broadcast as NumPy's do, so a
            # weight block of 1 entry was stretched over a channel block of 2, values
            # where NumPy raises (decision 204); one block's size cannot tell a weight
            # of 1 entry from one per channel
            has = "an unknown number of entries" if _nan(n) else f"{n} entries"
            chan = ("an unknown number of channels" if _nan(channels) else
                    f"{channels} channel{'' if channels == 1 else 's'}")
            raise ValueError(f"multiact.{fname}: argument {pname!r} has {has}, and x has "
                             f"{chan} (sizes unknown until compute, after boolean "
                             f"indexing): call compute_chunk_sizes() on both, so that the "
                             f"weight lines up with the channels")
        if _known(n) and n != 1:
            if x.ndim == 0:
                raise ValueError(f"multiact.{fname}: argument {pname!r} has {n} entries; "
                                 f"expected 1 (x is 0-d)")
            if _known(channels) and n != channels:
                raise ValueError(f"multiact.{fname}: argument {pname!r} has {n} entries; "
                                 f"expected 1 or the number of channels, {channels}")
        return w

    def describe(self):
        return "a real number, or a 1-d array with 1 or x.shape[1] entries"

    check_plain = RealOrArray.check_plain


@dataclass(frozen=True)
class Param:
    """One parameter of a public function: its name, kind and default."""

    name: str
    kind: Kind
    default: Any = REQUIRED
    keyword_only: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def unexpected_arguments(info, kwargs, positional=()):
    """Raise the TypeError for arguments ``info``'s function does not take, with
    a hint where the name is another library's (``dim=``, ``inplace=``, ...), or
    where extra positional arguments look like another library's (PyTorch's
    ``hardtanh(x, min_val, max_val)``, ``softplus(x, beta, threshold)``, a
    trailing ``inplace`` flag)."""
    if positional:
        names = [info.first] + [p.name for p in info.params if not p.keyword_only]
        given = len(names) + len(positional)
        hint = info.hints.get("*")
        if hint is None and all(isinstance(a, bool) for a in positional):
            hint = "PyTorch's inplace flag? " + info.hints["inplace"]
        raise TypeError(f"multiact.{info.name}: takes {len(names)} positional argument"
                        f"{'s' if len(names) > 1 else ''} ({', '.join(names)}) but {given} "
                        f"were given" + (f"; {hint}" if hint else ""))
    name = next(iter(kwargs))
    hint = info.hints.get(name)
    takes = ", ".join([info.first] + [p.name for p in info.params])
    if hint:
        raise TypeError(f"multiact.{info.name}: unexpected argument {name!r}: {hint}")
    raise TypeError(f"multiact.{info.name}: unexpected argument {name!r} (it takes {takes})")
