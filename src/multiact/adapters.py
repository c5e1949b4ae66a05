"""Adapters that put an :class:`~multiact.Activation` into model code: a
``torch.nn.Module``, a Flax NNX module, a Keras 3 layer.  Each imports its
framework only when it is called (``Activation.to_torch()``, ``.to_flax()``,
``.to_keras()``).

Keras: whenever Keras is in the process, multiact's functions and layer are
registered with its serialization, with no call from the user (see
:func:`keras_in_process`), so that a saved model never names a multiact
function by the bare name Keras would load as its own function.
"""

from __future__ import annotations

import sys

from ._locks import ForkSafeLock

__all__ = ["torch_module", "flax_module", "keras_layer", "register_keras", "keras_in_process",
           "watch_keras_import"]

_CLASSES: dict = {}
# Reason: one class per framework in the process.  Threads making their first
# to_torch() at once each made a class, and every class but the one this module
# names could not be pickled (torch.save of the model failed; decision 183)
_LOCK = ForkSafeLock()


def _activation(who, activation):
    """``activation`` if it is a :class:`multiact.Activation`, else the ``TypeError``
    naming ``who`` and the argument."""
    from ._registry import Activation

    if not isinstance(activation, Activation):
        from ._table import canonical_name

        # (an activation module, torch.nn.ReLU(): its class's name; torch.nn.Linear()
        # is no activation, though Keras' "linear" names identity)
        t = type(activation)
        name = activation if isinstance(activation, str) else getattr(
            activation, "__name__", t.__name__ if "activation" in t.__module__ else None)
        try:  # (a name multiact knows: a string, or one of its functions)
            hint = f"multiact.Activation({canonical_name(name)!r})"
        except (TypeError, ValueError):
            hint = "multiact.Activation('gelu')"
        raise TypeError(f"multiact.adapters.{who}: argument 'activation' must be a "
                        f"multiact.Activation (for example {hint}), got "
                        f"{type(activation).__name__}")
    return activation


def torch_module(activation):
    """A ``torch.nn.Module`` applying ``activation`` (no parameters of its own)."""
    return _torch_class()(_activation("torch_module", activation))


def _class_once(key, module, extra, who, make):
    """The adapter class ``key``: ``make(framework)`` once per process, under the
    lock, named in this module (picklable by reference: :func:`__getattr__`)."""
    cls = _CLASSES.get(key)
    if cls is not None:
        return cls
    framework = _framework(module, extra, who)
    with _LOCK:
        cls = _CLASSES.get(key)
        if cls is None:
            cls = make(framework)
            cls.__module__ = __name__
            globals()[cls.__qualname__] = _CLASSES[key] = cls
    return cls


def _torch_class():
    return _class_once("torch", "torch", "torch", "multiact.Activation.to_torch()",
                       _make_torch_class)


def _make_torch_class(torch):
    from ._registry import _CANONICAL  # (multiact's functions by canonical name)

    class ActivationModule(torch.nn.Module):
        """A ``torch.nn.Module`` around a :class:`multiact.Activation`."""

        def __init__(self, activation):
            super().__init__()
            self.activation = activation  # (checked: __setattr__)

        def _plain_attributes(self, act):
            # (the function's name, not the function: a saved model then loads under
            # torch.load's weights_only with the public classes allowed, decision 187)
            for k in self.__dict__.get("_call", (None, ()))[1]:
                self.__dict__.pop(k, None)  # (another function's parameters)
            for k, v in act.params.items():
                super().__setattr__(k, v)  # (plain attributes: forward reads them)
            super().__setattr__("_call", (act.name, tuple(act.params)))

        def forward(self, x):
            if not torch.jit.is_scripting():  # (torch.jit.script compiled torch.fx.Proxy
                # and failed in its source: its message about the Activation is the one
                # to give; decision 187)
                if isinstance(x, torch.fx.Proxy):
                    # Reason: torch.fx.symbolic_trace (FX quantization and other FX
                    # tools) hands forward a Proxy, which no array function takes: the
                    # module is recorded as one call of itself, as FX records torch.nn's
                    # own activations (decision 183)
                    return _fx_call(self, x)
                return _module_call(self, x, _CANONICAL)
            return self.activation(x)  # (what torch.jit.script compiles, and refuses)

        def extra_repr(self):
            return repr(self.activation)

        # Reason: torch.nn's activations keep their parameters as attributes, read and
        # written by model code (a schedule's `model.act.negative_slope = s`, as on
        # torch.nn.LeakyReLU); here such a write made an attribute that nothing read,
        # silently (decision 230).  Each parameter reads as the activation's (its
        # default where it was not given), and a write replaces the activation with
        # one of the new value, checked as Activation checks it.
        def __getattr__(self, name):
            act = self.__dict__.get("activation")
            full = {} if act is None else _row_params(act)[1]
            if name in full:  # (every parameter: a default where it was not given)
                return full[name]
            if name == "_call" and act is not None:  # (a module saved before decision 230)
                return act.name, tuple(act.params)
            return super().__getattr__(name)

        def __setattr__(self, name, value):
            # (a parameter's write, as the Flax and Keras adapters': _attribute_written)
            name, value = _attribute_written(self, "ActivationModule", name, value)
            super().__setattr__(name, value)
            if name == "activation":  # (in __init__, a parameter's write, a whole one)
                self._plain_attributes(value)

    ActivationModule.__qualname__ = "ActivationModule"
    return ActivationModule


def _module_call(module, x, functions):
    """An ActivationModule's call: its function, by name, with each parameter read
    from the module's own attribute, as torch.nn's activations read theirs, not from
    the Activation: Dynamo makes a float that changes between calls an input of one
    graph, where it guarded on a new Activation at each value (decision 230)."""
    name, names = module._call
    return functions[name](x, **{k: getattr(module, k) for k in names})


def _fx_call(module, x):
    """The node of an FX graph that calls ``module`` on the proxy ``x``: a
    ``call_module`` where the module is part of the traced root (a leaf, as
    ``torch.nn.GELU``), else (the module is the root itself) a ``call_function`` of
    the public function, with the activation's parameters as keyword arguments."""
    tracer = x.tracer
    if tracer.root is not module:
        return tracer.create_proxy("call_module", tracer.path_of_module(module), (x,), {})
    act = module.activation
    return tracer.create_proxy("call_function", act._fn, (x,), act.params)


def flax_module(activation):
    """A Flax NNX module applying ``activation``.

    The activation is a hashable, immutable attribute, so NNX treats it as
    static: ``nnx.jit`` and ``nnx.Sequential`` take the module as they take any.
    """
    return _flax_class()(_activation("flax_module", activation))


def _flax_class():
    return _class_once("flax", "flax.nnx", "flax", "multiact.Activation.to_flax()",
                       _make_flax_class)


def _parameter_of(layer, name):
    """A Flax or Keras adapter's attribute ``name`` that is none of its own: the
    activation's parameter of that name (its default where it gives none), else
    ``AttributeError``.  Reason: the framework's own activation layers keep their
    parameters as attributes (``keras.layers.LeakyReLU().negative_slope``), as
    ``ActivationModule`` does (decision 230); decision 234."""
    act = layer.__dict__.get("activation")
    full = {} if act is None else _row_params(act)[1]
    if name in full:
        return full[name]
    raise AttributeError(f"{type(layer).__name__!r} object has no attribute {name!r}")


def _attribute_written(layer, who, name, value):
    """``(name, value)`` that an adapter (torch, Flax, Keras) stores for a write of ``name``:
    a parameter's write replaces the activation with one of the new value (checked
    as ``Activation`` checks it), and the activation itself is checked.  Reason: a
    write such as ``layer.negative_slope = 0.5`` made an attribute that nothing
    read, silently, and ``layer.activation = "gelu"`` failed at the next call, in
    Python's words (decision 234)."""
    act = layer.__dict__.get("activation")
    if act is not None and name in _row_params(act)[1] and not hasattr(type(layer), name):
        # (a name the framework's class has is its own: Keras's Layer.dtype, not
        # one_hot's dtype)
        return "activation", type(act)(act.name, **{**act.params, name: value})
    if name == "activation":
        value = _activation(who, value)
        for k in _row_params(value)[1]:  # (a plain attribute of that name, written
            layer.__dict__.pop(k, None)  # for an earlier function, would hide it)
    return name, value


def _attribute_or_base(layer, cls, name):
    """:func:`_parameter_of`, else the base classes' ``__getattr__`` where they have
    one (a Keras layer on the torch backend is a ``torch.nn.Module``, whose
    submodules and parameters its ``__getattr__`` serves)."""
    try:
        return _parameter_of(layer, name)
    except AttributeError:
        base = getattr(super(cls, layer), "__getattr__", None)
        if base is None:
            raise
        return base(name)


def _make_flax_class(nnx):
    class FlaxActivation(nnx.Module):
        # (rngs: what flax.nnx.bridge.ToLinen hands a module; an activation has none)
        def __init__(self, activation, *, rngs=None):
            self.activation = activation  # (checked: __setattr__)

        def __call__(self, x):
            return self.activation(x)

        def __getattr__(self, name):
            return _attribute_or_base(self, FlaxActivation, name)

        def __setattr__(self, name, value):
            super().__setattr__(*_attribute_written(self, "FlaxActivation", name, value))

        def __repr__(self):
            return f"FlaxActivation({self.activation!r})"

    FlaxActivation.__qualname__ = "FlaxActivation"
    return FlaxActivation


#: the classes made on first use, by the name pickle looks them up by
_LAZY = {"ActivationModule": _torch_class, "FlaxActivation": _flax_class,
         "MultiactActivation": lambda: register_keras()}


def __getattr__(name):
    # Reason: a module, a model or a process (spawn) pickled with one of these classes
    # loads in a new process: pickle finds the class by name here, before any
    # to_torch() there made it (decision 143)
    make = _LAZY.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return make()


def _output_shape(activation, shape):
    """The shape ``activation`` gives an input of ``shape`` (Keras' ``None`` sizes
    kept): the gated rows halve their axis, one_hot adds its classes, logsumexp and
    logmeanexp reduce; every other row keeps the shape.  ``logsumexp(...,
    return_sign=True)``: the two outputs' shapes (the value's, the sign's)."""
    info, p = _row_params(activation)
    if p.get("return_sign"):
        one = _output_shape(_with_params(activation, return_sign=False), shape)
        return one, one
    shape, nd = tuple(shape), len(shape)
    if info.halves:
        ax = p["axis"] % nd
        if shape[ax] is not None and shape[ax] % 2:
            # when the model is built, as Keras' own layers refuse a shape, not at the
            # first batch (decision 189)
            raise ValueError(f"multiact.{info.name}: argument 'x' must have an even size "
                             f"along axis {ax}, got {shape[ax]}")
        return shape[:ax] + (None if shape[ax] is None else shape[ax] // 2,) + shape[ax + 1:]
    if info.name == "one_hot":
        ax = p["axis"] % (nd + 1)
        return shape[:ax] + (p["num_classes"],) + shape[ax:]
    if info.name in ("logsumexp", "logmeanexp"):
        axes = _reduced_axes(p["axis"], nd)
        if p["keepdims"]:
            return tuple(1 if i in axes else n for i, n in enumerate(shape))
        return tuple(n for i, n in enumerate(shape) if i not in axes)
    return shape


def _row_params(activation):
    """``(row, params)``: ``activation``'s table row and every parameter's value, a
    default where it gives none."""
    from ._table import BY_NAME

    info = BY_NAME[activation.name]
    return info, {**{q.name: q.default for q in info.params if not q.required},
                  **activation.params}


def _reduced_axes(axis, nd):
    """The axes (non-negative, a set) that a reduction's ``axis`` names in ``nd``
    dimensions: ``_formulas.reduced_axes``."""
    from ._agnostic._formulas import reduced_axes

    return set(reduced_axes(axis, nd))


def _with_params(activation, **changed):
    """``activation`` with the parameters ``changed``."""
    from ._registry import Activation

    return Activation(activation.name, **{**activation.params, **changed})


def _output_mask(activation, shape, mask):
    """The Keras mask of ``activation``'s output: the input's ``mask`` where no axis
    but the last changes (every element-wise row, the softmax family, standardize; a
    gated row over the last axis; a reduction of the last axis with ``keepdims``), as
    ``keras.layers.Activation`` passes it, else None (an axis before the last
    removed, added or halved: the mask no longer lines up).  ``return_sign``: one
    for each output."""
    info, p = _row_params(activation)
    nd = len(shape)
    last = {nd - 1} if nd else set()
    if mask is None:
        kept = None
    elif info.halves:
        kept = mask if nd and p["axis"] % nd == nd - 1 else None
    elif info.name == "one_hot":
        kept = None
    elif info.name in ("logsumexp", "logmeanexp"):
        axes = _reduced_axes(p["axis"], nd)
        kept = mask if not axes or (p["keepdims"] and axes <= last) else None
    else:
        kept = mask
    return [kept, kept] if p.get("return_sign") else kept


def register_keras():
    """Register multiact with Keras 3's serialization (idempotent): the layer class
    of :func:`keras_layer`, and every multiact function under the package
    ``multiact``, so that ``keras.layers.Activation(multiact.gelu)`` saves as
    ``"multiact>gelu"`` and loads back as multiact's gelu (unregistered, Keras
    stores the bare name ``"gelu"`` and loads its own exact GELU instead).

    Done with no call from the user whenever Keras is in the process: at ``import
    multiact`` when Keras is imported, right after Keras' import otherwise (an
    import watch), and on the first dispatch of an array type after Keras' import."""
    cls = _CLASSES.get("keras")
    if cls is not None:
        return cls
    keras = _framework("keras", "keras", "multiact.register_keras()")

    import multiact

    from ._table import TABLE

    @keras.saving.register_keras_serializable(package="multiact")
    class MultiactActivation(keras.layers.Layer):
        """A Keras 3 layer applying a :class:`multiact.Activation` (no weights)."""

        def __init__(self, activation, **kwargs):
            super().__init__(**kwargs)
            if isinstance(activation, dict):
                activation = multiact.Activation.from_config(activation)
            self.activation = _activation("MultiactActivation", activation)
            # Reason: Keras' masks (Embedding(mask_zero=True), Masking) pass through,
            # as through keras.layers.Activation: a layer without it dropped the mask,
            # and an LSTM after it read the padding (decision 183)
            self.supports_masking = True

        def call(self, x):
            return self.activation(x)

        def __getattr__(self, name):
            return _attribute_or_base(self, MultiactActivation, name)

        def __setattr__(self, name, value):
            super().__setattr__(*_attribute_written(self, "MultiactActivation", name, value))

        def compute_output_shape(self, input_shape):
            return _output_shape(self.activation, input_shape)

        def compute_mask(self, inputs, mask=None):
            return _output_mask(self.activation, tuple(inputs.shape), mask)

        def get_config(self):
            return {**super().get_config(), "activation": self.activation.to_config()}

    MultiactActivation.__module__ = __name__
    MultiactActivation.__qualname__ = "MultiactActivation"
    globals()["MultiactActivation"] = MultiactActivation
    for info in TABLE:
        fn = getattr(multiact, info.name)
        keras.saving.register_keras_serializable(package="multiact", name=info.name)(fn)
    # an Activation itself as a layer's activation= (multiact.get({"name": "elu", ...}))
    keras.saving.register_keras_serializable(package="multiact", name="Activation")(
        multiact.Activation)
    _CLASSES["keras"] = MultiactActivation
    _unwatch()
    return MultiactActivation


def _framework(module, extra, who):
    """Import ``module`` for ``who``, or say which extra installs what is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if not e.name:
            raise
        raise ModuleNotFoundError(
            f"{who} needs {extra} ({e.name.partition('.')[0]} is not installed): "
            f"pip install 'multiact[{extra}]'", name=e.name) from e


# -- Keras in the process: registration with no call from the user ----------------------

def _keras_ready():
    """The keras module when it is imported and done initialising, else None."""
    keras = sys.modules.get("keras")
    if keras is None or getattr(getattr(keras, "__spec__", None), "_initializing", False):
        return None
    return keras


def keras_in_process():
    """Register with Keras if Keras is imported (and not yet registered).  True when
    nothing is left to do (registered, or the attempt failed and said why); False
    while Keras is not (fully) imported.  Called at ``import multiact``, after Keras'
    own import (the import watch), and on the dispatch's cache-miss path: never on a
    hot path."""
    if "keras" in _CLASSES:
        return True
    if _keras_ready() is None:
        return False
    return _try_register()


def _try_register():
    try:
        register_keras()
    except Exception as e:  # noqa: BLE001 - never break the user's import or call
        import warnings

        warnings.warn(f"multiact could not register its functions with Keras "
                      f"({type(e).__name__}: {e}); a saved model may name them by their bare "
                      f"names: call multiact.register_keras() to see why", stacklevel=2)
        _unwatch()
        _CLASSES["keras"] = None  # not again on every dispatch miss (register_keras retries)
    return True


class _KerasWatch:
    """A finder at the front of ``sys.meta_path`` that answers only for ``keras``:
    it finds Keras' spec with the other finders and, once Keras' module has run,
    registers multiact (then leaves ``sys.meta_path``).  Installed by ``import
    multiact`` when Keras is not imported yet; nothing is imported by it."""

    def __init__(self):
        self.busy = False

    def find_spec(self, name, path=None, target=None):
        if name != "keras" or self.busy:
            return None
        import importlib.util

        self.busy = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module):
            run(module)
            try:
                del loader.exec_module  # the loader's own method again
            except AttributeError:
                pass
            # Keras' module has run (importlib still marks it initialising until
            # this returns, so not keras_in_process's check)
            if "keras" not in _CLASSES:
                _try_register()

        loader.exec_module = exec_module
        return spec

    def invalidate_caches(self):
        pass


_WATCH: list = []


def watch_keras_import():
    """Register now if Keras is imported, else watch for its import."""
    if keras_in_process() or _WATCH:
        return
    w = _KerasWatch()
    _WATCH.append(w)
    sys.meta_path.insert(0, w)


def _unwatch():
    while _WATCH:
        w = _WATCH.pop()
        try:
            sys.meta_path.remove(w)
        except ValueError:
            pass


def keras_layer(activation, **kwargs):
    """A Keras 3 layer applying ``activation``; it saves and loads as itself (the
    activation's config is in the layer's config).  ``kwargs``: Keras' own layer
    arguments (``name``, ``dtype``, ...)."""
    _activation("keras_layer", activation)
    _framework("keras", "keras", "multiact.Activation.to_keras()")
    return register_keras()(activation, **kwargs)
