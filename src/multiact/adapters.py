"""Adapters that put an :class:`~multiact.Activation` into model code: a
``torch.nn.Module``, a Flax NNX module, a Keras 3 layer.  Each imports its
framework only when it is called (``Activation.to_torch()``, ``.to_flax()``,
``.to_keras()``).
"""

from __future__ import annotations

__all__ = ["torch_module", "flax_module", "keras_layer", "register_keras"]

_CLASSES: dict = {}


def torch_module(activation):
    """A ``torch.nn.Module`` applying ``activation`` (no parameters of its own)."""
    cls = _CLASSES.get("torch")
    if cls is None:
        import torch

        class ActivationModule(torch.nn.Module):
            """A ``torch.nn.Module`` around a :class:`multiact.Activation`."""

            def __init__(self, activation):
                super().__init__()
                self.activation = activation

            def forward(self, x):
                return self.activation(x)

            def extra_repr(self):
                return repr(self.activation)

        ActivationModule.__module__ = __name__
        ActivationModule.__qualname__ = "ActivationModule"
        cls = _CLASSES["torch"] = ActivationModule
        globals()["ActivationModule"] = cls  # picklable by reference
    return cls(activation)


def flax_module(activation):
    """A Flax NNX module applying ``activation``.

    The activation is a hashable, immutable attribute, so NNX treats it as
    static: ``nnx.jit`` and ``nnx.Sequential`` take the module as they take any.
    """
    cls = _CLASSES.get("flax")
    if cls is None:
        from flax import nnx

        class FlaxActivation(nnx.Module):
            def __init__(self, activation):
                self.activation = activation

            def __call__(self, x):
                return self.activation(x)

            def __repr__(self):
                return f"FlaxActivation({self.activation!r})"

        FlaxActivation.__module__ = __name__
        FlaxActivation.__qualname__ = "FlaxActivation"
        cls = _CLASSES["flax"] = FlaxActivation
        globals()["FlaxActivation"] = cls
    return cls(activation)


def register_keras():
    """Register multiact with Keras 3's serialization (idempotent): the layer class
    of :func:`keras_layer`, and every multiact function under the package
    ``multiact``, so that ``keras.layers.Activation(multiact.gelu)`` saves as
    ``"multiact>gelu"`` and loads back as multiact's gelu (unregistered, Keras
    stores the bare name ``"gelu"`` and loads its own exact GELU instead)."""
    cls = _CLASSES.get("keras")
    if cls is not None:
        return cls
    import keras

    import multiact

    from ._table import TABLE

    @keras.saving.register_keras_serializable(package="multiact")
    class MultiactActivation(keras.layers.Layer):
        """A Keras 3 layer applying a :class:`multiact.Activation` (no weights)."""

        def __init__(self, activation, **kwargs):
            super().__init__(**kwargs)
            if isinstance(activation, dict):
                activation = multiact.Activation.from_config(activation)
            self.activation = activation

        def call(self, x):
            return self.activation(x)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "activation": self.activation.to_config()}

    MultiactActivation.__module__ = __name__
    MultiactActivation.__qualname__ = "MultiactActivation"
    globals()["MultiactActivation"] = MultiactActivation
    for info in TABLE:
        fn = getattr(multiact, info.name)
        keras.saving.register_keras_serializable(package="multiact", name=info.name)(fn)
    _CLASSES["keras"] = MultiactActivation
    return MultiactActivation


def keras_layer(activation):
    """A Keras 3 layer applying ``activation``; it saves and loads as itself (the
    activation's config is in the layer's config)."""
    return register_keras()(activation)
