"""Names, configs and the :class:`Activation` value.

``get`` turns a name, a config dict, a callable or an :class:`Activation` into
something callable on any array; ``names()`` lists every accepted name.
"""

from __future__ import annotations

import copyreg

import math
from typing import TYPE_CHECKING, Any, Callable

from . import _api
from .adapters import flax_module, keras_layer, torch_module
from ._table import ALIASES, BY_NAME, PRESETS, canonical_name
from ._params import Axes, Flag, signed

if TYPE_CHECKING:
    from ._typing import ActivationFn, ArrayT

# The public function of every row (aliases are the same objects; where another
# library's *default* differs, docs/defaults.md says so and the parameter is
# offered, never a second function).
_CANONICAL = {name: getattr(_api, name) for name in BY_NAME}


def names() -> list[str]:
    """Every name :func:`get` accepts as it is spelled, canonical names, aliases
    and other libraries' names with parameters (``"GELU"``), sorted.  :func:`get`
    also takes them in any case, with ``-`` for ``_``, and PyTorch's class names
    without the ``_`` (``"LeakyReLU"``).  A name with parameters is matched as
    spelled: ``"GELU"`` is PyTorch's exact form, ``"Gelu"`` multiact's ``gelu``
    (decision 145).

    >>> import multiact
    >>> "hardswish" in multiact.names() and "gelu" in multiact.names()
    True
    """
    return sorted({*BY_NAME, *ALIASES, *PRESETS})


def canonical(name, who="get"):
    return canonical_name(name, who)


def function(name):
    return _CANONICAL[canonical(name)]


_PLAIN = (bool, int, float, str, type(None))


def _plain(value):
    if isinstance(value, _PLAIN):
        return not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, tuple):
        return all(_plain(v) for v in value)
    return False


class Activation:
    """An activation with its parameters, as a small immutable value.

    Callable on any array; hashable, comparable, picklable; ``to_config()`` /
    ``from_config()`` round-trip through plain Python (JSON-able) data.

    >>> import numpy as np, multiact
    >>> act = multiact.Activation("leaky_relu", negative_slope=0.2)
    >>> act
    Activation('leaky_relu', negative_slope=0.2)
    >>> act(np.array([-1.0, 1.0]))
    array([-0.2,  1. ])
    >>> multiact.Activation.from_config(act.to_config()) == act
    True
    """

    # __weakref__: jax.jit(activation) keeps a weak reference to the function it
    # compiles (it raised "cannot create weak reference"; decision 151)
    __slots__ = ("_name", "_params", "_fn", "_key", "__weakref__")

    def __init__(self, name: str, **params: Any) -> None:
        if isinstance(name, str) and name in PRESETS:
            # another library's name for a function with parameters, its defaults: a
            # parameter given with it wins, as in nn.GELU(approximate="tanh")
            # (decision 145)
            name, preset = PRESETS[name]
            params = {**preset, **params}
        key = canonical(name, "Activation")
        fn = _CANONICAL[key]
        row = BY_NAME[key].params
        accepted = [q.name for q in row]
        kinds = {q.name: q.kind for q in row}
        for p, val in params.items():
            if p not in accepted:
                hint = BY_NAME[key].hints.get(p)  # (the call's: "multiact uses axis=")
                raise TypeError(
                    f"multiact.Activation: {key}() has no parameter {p!r} "
                    f"(it takes {', '.join(accepted) or 'none'})" + (f"; {hint}" if hint else "")
                )
            if isinstance(val, list):
                val = tuple(val)
                params[p] = val
            if isinstance(val, _PLAIN) or _plain(val):
                # a value the call would refuse (celu's alpha=-1, NaN, axis="x") is
                # refused now, with the call's message (or as much of it as needs no x)
                kinds[p].check_plain(key, p, val)
            if not _plain(val):
                raise TypeError(
                    f"multiact.Activation: parameter {p!r} must be a plain Python value "
                    f"(bool, int, float, str, None or a tuple of them) so that the config "
                    f"is serializable, got {type(val).__name__}; call multiact.{key} directly "
                    f"to pass arrays"
                )
        missing = [q.name for q in row if q.required and q.name not in params]
        if missing:
            raise TypeError(f"multiact.Activation: {key}() needs {', '.join(map(repr, missing))}")
        object.__setattr__(self, "_name", key)
        object.__setattr__(self, "_params", tuple(sorted(params.items())))
        object.__setattr__(self, "_fn", fn)
        # equality and hash: every parameter, a default as the value it stands for, so
        # that Activation("glu") == Activation("glu", axis=-1) (decision 139)
        full = {q.name: q.default for q in row if not q.required and _plain(q.default)}
        # and a flag as the bool it stands for: approximate="tanh" is True (decision
        # 179); axes as the sorted tuple they stand for: axis=-1 is (-1,), (1, 0) is
        # (0, 1) (decision 183)
        same = {p: _same(kinds[p], key, p, v) for p, v in {**full, **params}.items()}
        object.__setattr__(self, "_key", (key, tuple(sorted(same.items()))))

    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def __call__(self, x: ArrayT) -> ArrayT:
        return self._fn(x, **dict(self._params))

    def __setattr__(self, key, value):
        raise AttributeError("multiact.Activation is immutable")

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self._params)
        return f"Activation({self._name!r}{args})"

    def __eq__(self, other):
        if not isinstance(other, Activation):
            return NotImplemented
        return self._key == other._key

    def __hash__(self):
        return hash((Activation, self._key))

    def __reduce__(self):
        # Activation.__new__ and plain data (decision 187): torch.load's default,
        # weights_only=True, loads it once Activation is allowed
        # (torch.serialization.add_safe_globals), where the private function that
        # rebuilt it had to be allowed too
        return (copyreg.__newobj__, (Activation,), (self._name, self._params))

    def __setstate__(self, state):
        if hasattr(self, "_key"):  # (unpickling only: an Activation is immutable)
            raise AttributeError("multiact.Activation is immutable")
        name, params = state
        Activation.__init__(self, name, **dict(params))

    def to_config(self) -> dict[str, Any]:
        """``{"name": ..., **params}``: plain Python data (JSON-able)."""
        return {"name": self._name, **{k: (list(v) if isinstance(v, tuple) else v)
                                      for k, v in self._params}}

    def get_config(self) -> dict[str, Any]:
        """:meth:`to_config` under Keras' name for it: an Activation passed as a Keras
        layer's ``activation=`` saves with the model (decision 143)."""
        return self.to_config()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Activation:
        if not isinstance(config, dict) or "name" not in config:
            raise TypeError("multiact.Activation.from_config: expected a dict with a 'name' key, "
                            f"got {config!r}")
        params = dict(config)
        return cls(params.pop("name"), **params)

    def to_torch(self) -> Any:
        """A ``torch.nn.Module`` applying this activation (imports PyTorch)."""
        return torch_module(self)

    def to_flax(self) -> Any:
        """A Flax NNX module applying this activation (imports Flax)."""
        return flax_module(self)

    def to_keras(self, **kwargs: Any) -> Any:
        """A Keras 3 layer applying this activation, saved and loaded as itself
        (imports Keras; registers multiact with Keras' serialization).  ``kwargs``:
        Keras' own layer arguments (``name``, ``dtype``: ``to_keras(dtype="float32")``
        keeps a final softmax in float32 under a mixed precision policy).  Keras' masks
        pass through where the output keeps the input's shape."""
        return keras_layer(self, **kwargs)


def _same(kind, fname, pname, v):
    """A parameter's value as :class:`Activation`'s equality compares it."""
    if isinstance(kind, Flag):
        return kind.check(fname, pname, v, None, None)
    if isinstance(kind, Axes) and v is not None:
        return tuple(sorted(v)) if isinstance(v, tuple) else (v,)
    return signed(v)  # (an Activation used as a key: a jit static argument, a cache)


def _rebuild(name, params):
    # (what pickles made before decision 187 name: they still load)
    return Activation(name, **dict(params))


def get(identifier: str | dict[str, Any] | Callable[..., Any] | None) -> ActivationFn:
    """Resolve an activation the way model configs name them.

    * a name (``"gelu"``, an alias such as ``"hardswish"``): that function;
    * another library's name for a function with parameters, spelled as there
      (Hugging Face's ``"gelu_new"``, PyTorch's class ``"GELU"``, whose default is
      exact): an :class:`Activation` with them (``multiact.PRESETS`` lists them).
      Plain ``"gelu"`` is multiact's own, ``approximate=True`` (JAX's default);
      Hugging Face's and Keras' ``"gelu"`` are exact:
      ``{"name": "gelu", "approximate": False}``;
    * a config dict ``{"name": "leaky_relu", "negative_slope": 0.2}``: an
      :class:`Activation`;
    * an :class:`Activation` or any other callable: returned as it is;
    * ``None``: :func:`identity` (as Keras' ``get(None)``).

    Unknown names raise ``ValueError`` listing the closest known names.

    >>> import multiact
    >>> multiact.get("hardswish") is multiact.hard_silu
    True
    >>> multiact.get({"name": "leaky_relu", "negative_slope": 0.2})
    Activation('leaky_relu', negative_slope=0.2)
    >>> multiact.get("GELU")
    Activation('gelu', approximate=False)
    """
    if identifier is None:
        return _CANONICAL["identity"]
    if isinstance(identifier, str):
        if identifier in PRESETS:
            return Activation(identifier)
        return function(identifier)
    if isinstance(identifier, dict):
        return Activation.from_config(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        "multiact.get: argument 'identifier' must be a name, a config dict, a callable or None, "
        f"got {type(identifier).__name__}"
    )
