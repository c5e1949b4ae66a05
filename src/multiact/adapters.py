"""Adapters that put an :class:`~multiact.Activation` into model code: a
``torch.nn.Module``, a Flax NNX module.  Each imports its framework only when
it is called (``Activation.to_torch()``, ``.to_flax()``).
"""

from __future__ import annotations

__all__ = ["torch_module", "flax_module"]

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
