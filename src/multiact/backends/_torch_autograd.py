"""PyTorch, autograd rules: the ``autograd.Function`` of every eager training
route, for the framework paths (``_torch_native.py``) and for the fused
kernels (``multiact.kernels``).

Element-wise: the forward, an accurate backward, ``jvp`` (the same product with
the tangent), ``vmap`` (element-wise: applied to the batched tensor), and a
double backward that recomputes through the generic body (differentiable as
written); each saves what PyTorch's own saves (the input; sigmoid: a tensor in
place of its output).  Rows: PyTorch's own fused softmax / log_softmax
backward from the saved output, with ``where``-masked entries given zero
gradient.
"""

from __future__ import annotations

import logging
import math
import time

import torch
import torch.autograd.forward_ad as _fwd_ad

from .. import kernels as _k
from .._agnostic import _formulas as fm
from .._agnostic import _special
from .._agnostic import reductions as _Rd
from .._locks import ForkSafeLock
from .._table import BY_NAME
from ..kernels import Miss
from ._torch_native import (NS, _gelu_erf_bwd, _gelu_erf_fwd, _gelu_f64_bwd, _gelu_f64_fwd,
                            _is_compiling,
                            _GELU_WORK, _HALF, _gelu_erf_wide, _gelu_erf_wide_bwd,
                            _gelu_half_erfc_bwd,
                            _gelu_half_erfc_fwd,
                            _gelu_tanh_bwd, _gelu_tanh_fwd, _hard_sigmoid_bwd, _hardshrink,
                            _hard_sigmoid_fwd, _hard_silu_bwd, _hard_silu_fwd,
                            _log_softmax_eager, _lse, _mish_bwd, _mish_fwd,
                            _quick_gelu_bwd, _quick_gelu_fwd, _relu2_bwd, _relu2_pair,
                            _gated_x3, _sigmoid, _sigmoid_bwd, _sigmoid_bwd_of_x, _sigmoid_pair,
                            _tanh_shrink_bwd_of_x, _tanh_shrink_fwd, _threshold_backward,
                            _silu_bwd, _silu_fwd, _soft_shrink, _soft_sign_bwd,
                            _soft_sign_fwd, _softmax_eager,
                            _softplus_native, _softplus_native_bwd,
                            _tanh_shrink_bwd, _tanh_shrink_pair)

_functorch_active = torch._C._are_functorch_transforms_active
_legacy_batched = torch._C._functorch.is_legacy_batchedtensor
_unwrap_dead = torch._functorch.utils.unwrap_dead_wrappers
_C_APPLY: dict = {}


def apply(fn, *args):
    """``fn.apply(*args)`` for the Functions below, called from the eager routes.

    Reason: speed.  ``Function.apply`` binds the arguments to ``forward``'s
    signature (``inspect.signature``) on every call of a Function with a
    ``setup_context``: about 10 us of the 18 us such a call costs (torch 2.13, 16
    elements), as much as the op on 1e5 elements.  These forwards take no default
    arguments, so the binding changes nothing; outside functorch's transforms and
    torch.compile, ``Function.apply`` then calls the C entry point with the dead
    functorch wrappers unwrapped, which is what this does."""
    if _functorch_active() or _is_compiling():
        return fn.apply(*args)
    f = _C_APPLY.get(fn)
    if f is None:
        f = _C_APPLY[fn] = super(torch.autograd.Function, fn).apply
    return f(*_unwrap_dead(args))


def _recorded(gx, x):
    """``gx``, a first derivative made for a double backward, recorded as a function
    of ``x`` where autograd did not record it: a piecewise-linear body (hard_sigmoid's
    Function, the kernel pairs of any such row) has a derivative that does not depend
    on ``x``, and a second backward raised "does not require grad".
    ``where(False, x, gx)`` is ``gx``, with derivative 0 in ``x``."""
    if gx.requires_grad or not x.requires_grad:
        return gx
    return in_x(gx, x)


def in_x(g, x):
    """``where(False, x, g)``: ``g``'s values, recorded as a function of ``x`` with
    derivative 0 (one pass)."""
    return torch.where(torch.zeros((), dtype=torch.bool, device=x.device), x, g)


def cotangent_in_x(held, grads):
    """A pre-hook of the node that made a piecewise-linear row's output from ``x``
    (``torch.Node.register_prehook``; ``held`` is ``[x]``): under ``create_graph`` the
    cotangent is :func:`in_x`'s, so that the first derivative, ``g`` times a
    derivative that does not depend on ``x``, is still recorded in ``x`` (decision
    201).  A first-order backward lets ``x`` go, as it frees the graph's saved
    tensors: a loop's ``loss`` of the step before, still bound, kept every such
    input otherwise."""
    g = grads[0]
    if not torch.is_grad_enabled():
        held.clear()
        return None
    if g is None or not held:
        return None
    x = held[0]
    # (x in the cotangent's dtype: the node expects its own output's)
    return (in_x(g, x if x.dtype == g.dtype else x.to(g.dtype)),) + tuple(grads[1:])


def _differentiable_vjp(name, params, x, g):
    """``g J`` at the saved ``x`` by autograd of ``name``'s generic body, where a
    Function's backward must itself be differentiable: under ``create_graph``
    (recorded, so that it differentiates again) and inside forward-mode AD's dual
    level (a dual cotangent carries its tangent through the body's ops, where a
    kernel or torch's ``silu_backward`` dropped or refused it: decision 197).  None
    elsewhere: the Function's own backward serves."""
    create = torch.is_grad_enabled()
    if not create and _fwd_ad._current_level < 0:
        return None
    with torch.enable_grad():
        y = BY_NAME[name].body(NS, x, *params)
        (gx,) = torch.autograd.grad(y, x, g, create_graph=create)
    return _recorded(gx, x) if create else gx


class _Elementwise(torch.autograd.Function):
    """Base of the element-wise Functions: forward, accurate backward, jvp (the
    same product f'(x) * t), vmap (element-wise: apply to the batched tensor),
    and a double backward that recomputes through the generic body.

    Each subclass, made by :func:`_function`, has its own ``forward``,
    ``backward``, ``jvp`` and ``vmap``, plain functions that close over its name,
    parameters and formulas.  Reason: compiled autograd
    (``torch._dynamo.compiled_autograd``) traces a Function's ``backward`` and
    takes only a function there; classmethods failed every backward of gelu,
    silu, mish, hard_sigmoid, hard_silu and soft_sign ("Expected FunctionType, got
    method"; decision 169)."""

    name = ""
    params: tuple = ()
    #: half tensors run through float32 and round once
    half_via_float = False

    @staticmethod
    def fwd(x):  # pragma: no cover - set per subclass
        raise NotImplementedError

    @staticmethod
    def bwd(x, g):  # pragma: no cover - set per subclass
        raise NotImplementedError

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])  # as torch's silu, gelu, hardswish, softsign
        ctx.save_for_forward(inputs[0])


def _elementwise_backward(name, params, bwd, ctx, g):
    """The backward of :func:`_function`'s Functions: ``bwd(x, g)``, billed to the
    compile tier's training kernel of the function; under ``create_graph``, the
    generic body's own derivative, recorded so that it differentiates again; under a
    compile (compiled autograd traces this), ``bwd`` alone, without the bill; inside
    forward-mode AD's dual level the generic body's too (:func:`_differentiable_vjp`)."""
    (x,) = ctx.saved_tensors
    gx = _differentiable_vjp(name, params, x, g)
    if gx is not None:
        return gx
    if _is_compiling() or x.numel() < _k.least(name, params, x, "train"):
        return bwd(x, g)
    t0 = time.perf_counter()
    gx = bwd(x, g)
    # the compile tier's bill for this function's training kernel (its backward)
    _k.spent_backward(name, x, params, time.perf_counter() - t0)
    return gx


def _function(name, fwd, bwd, params=(), suffix=""):
    """The :class:`_Elementwise` Function of ``name`` with ``params``: forward
    ``fwd(x)``, backward ``bwd(x, g)``, which is also its jvp."""

    def forward(x):
        return fwd(x)

    def backward(ctx, g):
        return _elementwise_backward(name, params, bwd, ctx, g)

    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return bwd(x, t)

    def vmap(info, in_dims, x):
        return cls.apply(x), in_dims[0]

    cls = type(f"_{name.title().replace('_', '')}{''.join(map(str, params))}{suffix}",
               (_Elementwise,),
               {"name": name, "params": params, "fwd": staticmethod(fwd),
                "bwd": staticmethod(bwd), "forward": staticmethod(forward),
                "backward": staticmethod(backward), "jvp": staticmethod(jvp),
                "vmap": staticmethod(vmap)})
    return cls


class _SavesSecond(torch.autograd.Function):
    """Base of the Functions that return ``(y, s)`` and save ``s``, what their
    backward needs, not ``x``: ``x`` stays free to be edited in place after the
    call.  ``s`` is a differentiable output of the Function (each says its
    derivative), so a double backward through the saved ``s`` reaches ``x``.
    Element-wise: vmap applies the Function to the batched tensor."""

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output[1])
        ctx.save_for_forward(output[1])
        ctx.set_materialize_grads(False)

    @classmethod
    def vmap(cls, info, in_dims, x):
        return cls.apply(x), (in_dims[0], in_dims[0])


class _Sigmoid(_SavesSecond):
    """sigmoid's Function returns ``(y, qs)``: ``qs`` is ``q = sigmoid(-|x|)``
    with the sign of ``-x``, and is what is saved (one tensor, as torch.sigmoid
    saves its output), not ``x``: ``x`` stays free to be edited in place after
    the call.  The backward ``q (1 - q)`` is accurate in both tails (torch's
    ``y (1 - y)`` loses every digit for x > 17 in float64).  ``qs`` is a
    differentiable output with derivative ``q (1 - q)``, so a double backward
    through the saved ``qs`` gives sigmoid'' (the sign it carries is sign(-x)).
    The framework path: the CPU tier's kernel pair (torch's forward, a compiled
    backward from ``x``: ``_sigmoid_bwd_of_x``) replaces it on large tensors."""

    @staticmethod
    def forward(x):
        return _sigmoid_pair(x)

    @staticmethod
    def backward(ctx, g, gq):
        (qs,) = ctx.saved_tensors
        if g is None and gq is None:
            return None
        if g is None or gq is None:
            return _sigmoid_bwd(qs, gq if g is None else g)
        return _sigmoid_bwd(qs, g + gq)

    @staticmethod
    def jvp(ctx, t):
        (qs,) = ctx.saved_tensors
        dt = _sigmoid_bwd(qs, t)
        return dt, dt


class _TanhShrink(_SavesSecond):
    """tanh_shrink's Function returns ``(y, t)``, ``t = tanh(x)``, and saves ``t``
    (as PyTorch's ``x - tanh(x)`` saves tanh's output), not ``x``: ``x`` stays free
    to be edited in place after the call.  The backward is ``t^2``; ``t`` is a
    differentiable output with derivative ``1 - t^2`` (PyTorch's tanh backward), so
    a double backward through the saved ``t`` gives the second derivative."""

    @staticmethod
    def forward(x):
        # one compiled kernel for the pair where the CPU tier has one
        return _k.torch_fuse("tanh_shrink_pair", _tanh_shrink_pair,
                             lambda: _tanh_shrink_pair(x), x)

    @staticmethod
    def backward(ctx, g, gt):
        (t,) = ctx.saved_tensors
        if g is None and gt is None:
            return None
        gx = None
        if g is not None:
            # (ATen's ops where a graph is recorded, or a dual cotangent's tangent is
            # carried: the kernel's storage reads dropped it, decision 197)
            gx = _k.torch_fuse("tanh_shrink_bwd", _tanh_shrink_bwd,
                               lambda: _tanh_shrink_bwd(t, g), t, g) \
                if not torch.is_grad_enabled() and _fwd_ad._current_level < 0 \
                else _tanh_shrink_bwd(t, g)
        if gt is not None:
            dt = gt * (1.0 - t * t)
            gx = dt if gx is None else gx + dt
        return gx

    @staticmethod
    def jvp(ctx, d):
        (t,) = ctx.saved_tensors
        return _tanh_shrink_bwd(t, d), d * (1.0 - t * t)


class _Relu2(_SavesSecond):
    """relu2's Function returns ``(y, r)``, ``r = relu(x)``, and saves ``r`` (as
    PyTorch's ``relu(x) ** 2`` saves relu's output), not ``x``: ``x`` stays free to
    be edited in place after the call.  The backward is ``2 r g`` (0 where ``x <=
    0``: :func:`_relu2_bwd`); ``r`` is a differentiable output with derivative ``[x >
    0]``, so a double backward through the saved ``r`` gives relu2'' = ``2 [x > 0]``.
    Reason: speed (autograd of the generic body: seven saved ops; 1e5 float32 with
    backward 5.9-7.5x ``relu(x) ** 2``'s)."""

    @staticmethod
    def forward(x):
        return _relu2_pair(x)

    @staticmethod
    def backward(ctx, g, gr):
        (r,) = ctx.saved_tensors
        if g is None and gr is None:
            return None
        gx = None if g is None else _relu2_bwd(r, g)
        if gr is not None:
            dr = _threshold_backward(gr, r, 0)
            gx = dr if gx is None else gx + dr
        return gx

    @staticmethod
    def jvp(ctx, d):
        (r,) = ctx.saved_tensors
        return _relu2_bwd(r, d), _threshold_backward(d, r, 0)


class _Shrink(torch.autograd.Function):
    """hard_shrink's and soft_shrink's Function on float32 and float64 tensors with a
    Python-number ``lambd``: forward torch's hardshrink, or ``x - clamp(x, -lambd,
    lambd)`` (``soft``; +0 in the band, as the generic body), saving ``x`` (as torch's
    hardshrink); backward ``g`` where ``|x| > lambd`` and at NaN (the generic body's),
    0 in the band and at its edges: torch's ``threshold_backward`` of ``|x|``, relu's
    backward, two passes.  Under ``create_graph`` the cotangent is tied to ``x`` by
    :func:`in_x` (``|x|`` detached), so the first derivative is recorded in ``x`` with
    derivative +0 (decision 201) and the output needs no hook.  Reason: speed; autograd of hard_shrink's selects and
    of ``clamp`` (two comparisons, an ``and`` and a ``where`` on the CPU) took 3.9x and
    5.0x ``F.hardshrink``'s and ``F.softshrink``'s pair at 1e5 float32 (decision
    220); torch's own backwards give 0 at NaN."""

    @staticmethod
    def forward(x, lambd, soft):
        return _soft_shrink(x, lambd) if soft else _hardshrink(x, lambd)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.lambd = inputs[1]
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if torch.is_grad_enabled():
            # create_graph: recorded in x through in_x, whose derivative is +0 (through
            # abs, threshold_backward's 0 took abs's sign: -0 at negative x, where
            # torch's own shrinks and the code before give +0; a review found it)
            gx = in_x(g, x if x.dtype == g.dtype else x.to(g.dtype))
            return _threshold_backward(gx, x.detach().abs(), ctx.lambd), None, None
        return _threshold_backward(g, x.abs(), ctx.lambd), None, None

    @staticmethod
    def jvp(ctx, t, _lambd, _soft):
        (x,) = ctx.saved_tensors
        return _threshold_backward(t, x.abs(), ctx.lambd)

    @staticmethod
    def vmap(info, in_dims, x, lambd, soft):
        return _Shrink.apply(x, lambd, soft), in_dims[0]


#: the node of :class:`_Shrink`'s output, whose backward records its derivative in x
SHRINK_NODE = _Shrink._backward_cls


def _shrink_train(x, lambd, soft):
    return apply(_Shrink, x, lambd, soft)


class _SoftplusBeta(torch.autograd.Function):
    """softplus with a beta other than a power of 2 (a Python float), float32 or
    float64, on the framework path: returns ``(y, qs)``, ``qs`` is ``q =
    sigmoid(-beta |x|)`` with the sign of ``-x`` (as sigmoid's Function), and is
    what is saved, not ``x``.  Both come from one run of the generic body
    (``fm.softplus_beta``: its ``e = exp(-beta |x|)``, carried to an ulp, gives ``q
    = e / (1 + e)``).  The backward is ``sigmoid(beta x)``: ``1 - q`` where ``x > 0``,
    else ``q``; ``qs`` is a differentiable output with derivative ``beta q (1 - q)``,
    so a double backward through the saved ``qs`` gives softplus''.  Reason: speed.
    Autograd of the generic body recorded its twenty ops (the exact product of beta
    and x) and ran their derivatives: 1e6 float64 with backward 34-46 ms, a new
    process's first call 63 ms, ``F.softplus`` 3 ms (decision 128)."""

    @staticmethod
    def forward(x, beta):
        y, e = fm.softplus_beta(NS, x, beta)
        return y, (e / (1.0 + e)).copysign_(x).neg_()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output[1])
        ctx.save_for_forward(output[1])
        ctx.set_materialize_grads(False)
        ctx.beta = inputs[1]

    @staticmethod
    def backward(ctx, g, gq):
        (qs,) = ctx.saved_tensors
        gx = None
        if g is not None:  # 1 + qs where qs carries the sign bit (-0 too), else qs
            gx = g * (qs + qs.signbit())
        if gq is not None:
            dq = _sigmoid_bwd(qs, gq) * ctx.beta
            gx = dq if gx is None else gx + dq
        return gx, None

    @staticmethod
    def jvp(ctx, t, _beta):
        (qs,) = ctx.saved_tensors
        return t * (qs + qs.signbit()), _sigmoid_bwd(qs, t) * ctx.beta

    @staticmethod
    def vmap(info, in_dims, x, beta):
        return _SoftplusBeta.apply(x, beta), (in_dims[0], in_dims[0])


class _SoftplusNative(torch.autograd.Function):
    """softplus by torch's kernels (``_softplus_native``: a beta that is a power of 2,
    or float32 and the halves through float64), saving ``x`` as torch's does, with
    a double backward through the generic body.  Reason: accuracy.  torch's double
    backward is ``beta s (1 - s)``, and 0 beyond its threshold: softplus''(30) in
    float64 was 1e-3 off and softplus''(30) at beta 2 was 0 (its value 1.75e-26);
    the generic body's derivative, by autodiff, is ``beta e / (1 + e)^2`` (decision
    129).  The first backward is torch's, as before."""

    @staticmethod
    def forward(x, beta, wide):
        return _softplus_native(x, beta, wide)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0])
        ctx.beta, ctx.wide = inputs[1], inputs[2]

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        gx = _differentiable_vjp("softplus", (ctx.beta,), x, g)
        return (_softplus_native_bwd(x, g, ctx.beta, ctx.wide) if gx is None else gx), None, None

    @staticmethod
    def jvp(ctx, t, _beta, _wide):
        (x,) = ctx.saved_tensors
        return _softplus_native_bwd(x, t, ctx.beta, ctx.wide)

    @staticmethod
    def vmap(info, in_dims, x, beta, wide):
        return _SoftplusNative.apply(x, beta, wide), in_dims[0]


class _LogSigmoid(torch.autograd.Function):
    """log_sigmoid in eager training: torch's kernels, forward and backward, saving
    ``x`` and torch's buffer as ``F.logsigmoid`` does, with a double backward (and
    a dual cotangent's tangent) through the generic body.  Reason: accuracy.
    torch's double backward is ``-s (1 - s)``, ``s = sigmoid(x)``, which loses
    relative accuracy as ``x`` grows: float32 4.6e-4 relative at x = 10, 17% at
    15, 0 from 17 (log_sigmoid''(17) is -4.1e-8), float64 3.6e-8 at 20; the
    generic body's derivative, by autodiff of ``-softplus(-x)``, keeps it
    (decision 198).  The first backward is torch's, as before."""

    @staticmethod
    def forward(x):
        return torch.ops.aten.log_sigmoid_forward(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(inputs[0], output[1])
        ctx.save_for_forward(inputs[0], output[1])
        ctx.set_materialize_grads(False)  # (the buffer's cotangent: no zeros made)

    @staticmethod
    def backward(ctx, g, _gb):
        if g is None:
            return None
        x, buf = ctx.saved_tensors
        gx = _differentiable_vjp("log_sigmoid", (), x, g)
        return torch.ops.aten.log_sigmoid_backward(g, x, buf) if gx is None else gx

    @staticmethod
    def jvp(ctx, t):
        x, buf = ctx.saved_tensors
        return torch.ops.aten.log_sigmoid_backward(t, x, buf), None

    @staticmethod
    def vmap(info, in_dims, x):
        return _LogSigmoid.apply(x), (in_dims[0], in_dims[0])


def _log_sigmoid_train(x):
    return apply(_LogSigmoid, x)[0]


def _softplus_native_train(x, beta, wide):
    return apply(_SoftplusNative, x, beta, wide)


def _softplus_beta_train(x, beta):
    return apply(_SoftplusBeta, x, beta)[0]


def _relu2_train(x):
    return apply(_Relu2, x)[0]


def _tanh_shrink_train(x):
    return apply(_TanhShrink, x)[0]


def _sigmoid_train(x):
    return apply(_Sigmoid, x)[0]


_HardSigmoid = _function("hard_sigmoid", _hard_sigmoid_fwd, _hard_sigmoid_bwd)
_HardSilu = _function("hard_silu", _hard_silu_fwd, _hard_silu_bwd)
_SoftSign = _function("soft_sign", _soft_sign_fwd, _soft_sign_bwd)
_GeluTanh = _function("gelu", _gelu_tanh_fwd, _gelu_tanh_bwd, (True,))
_GeluErf = _function("gelu", _gelu_erf_fwd, _gelu_erf_bwd, (False,))
_GeluErf64 = _function("gelu", _gelu_f64_fwd, _gelu_f64_bwd, (False,), "Float64")
_GeluErfHalf = _function("gelu", _gelu_half_erfc_fwd, _gelu_half_erfc_bwd, (False,), "Half")
_SoftSign.half_via_float = _GeluTanh.half_via_float = True


_SilU = _function("silu", _silu_fwd, _silu_bwd)
_Mish = _function("mish", _mish_fwd, _mish_bwd)
_QuickGelu = _function("quick_gelu", _quick_gelu_fwd, _quick_gelu_bwd)
_QuickGelu.half_via_float = True
#: the element-wise Functions of the functions with no parameters, by name: the
#: formulas of their compiled training graphs' operator (``_graph_formulas``)
_PLAIN_FUNCTIONS = {c.name: c for c in _Elementwise.__subclasses__() if not c.params}


# -- the softmax family's framework paths ---------------------------------------------

def _softmax_vjp(y, g, dim):
    """``g J`` of softmax along ``dim`` from its output ``y``: ``y (g - sum(g y))``,
    torch's formula (its ``_softmax_backward_data``), as differentiable ops."""
    return y * (g - (g * y).sum(dim, keepdim=True))


def _log_softmax_vjp(y, g, dim):
    """``g J`` of log_softmax along ``dim`` from its output ``y``: ``g - exp(y)
    sum(g)``, torch's formula (its ``_log_softmax_backward_data``), as differentiable
    ops."""
    return g - y.exp() * g.sum(dim, keepdim=True)


class _SavesOutput(torch.autograd.Function):
    """A softmax-family Function of ``(x, dim)`` (log_softmax's: ``(x, dim,
    dtype)``, ``dtype`` the caller's where ``x`` is a half tensor's float32 copy)
    that saves its output, as torch's own do, for a backward and jvp along
    ``dim``."""

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.dim = inputs[1]
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)


class _LogSoftmax(_SavesOutput):
    """log_softmax with torch's memory and backward."""

    @staticmethod
    def forward(x, dim, dtype):
        return _log_softmax_eager(x, dim, dtype)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: differentiable ops
            return _log_softmax_vjp(y, g, ctx.dim), None, None
        return torch._log_softmax_backward_data(g, y, ctx.dim, y.dtype), None, None

    @staticmethod
    def jvp(ctx, t, _dim, _dtype):
        (y,) = ctx.saved_tensors
        return t - (y.exp() * t).sum(ctx.dim, keepdim=True)


class _Softmax(_SavesOutput):
    """softmax whose forward corrects torch's (a long slice divided by its sum:
    ``_softmax_eager``), with torch's backward from the output.  Reason: speed.
    Autograd through the division recorded it and one more pass backward (1.86x
    F.softmax forward plus backward at 1e7 float32)."""

    @staticmethod
    def forward(x, dim):  # (only slices too long for torch's sum in any dtype)
        return _softmax_eager(x, (dim,), None, None)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: differentiable ops
            return _softmax_vjp(y, g, ctx.dim), None
        return torch._softmax_backward_data(g, y, ctx.dim, y.dtype), None

    @staticmethod
    def jvp(ctx, t, _dim):
        (y,) = ctx.saved_tensors
        return y * (t - (y * t).sum(ctx.dim, keepdim=True))


class _LogSumExp(torch.autograd.Function):
    """logsumexp along ``dim`` of slices whose maximum ``m`` is finite: ``(m + r, r)``,
    ``r = log(sum(exp(x - m)))`` (``_lse``).  It saves ``x``, ``m`` and ``r`` (one
    value a slice each): the backward's weights are ``exp((x - m) - r)``.  torch's
    ``exp(x - out)`` from the rounded output is off by ``|out|`` ulp relatively (2e-4
    at 1e4 in float32; ``[1e30, 1e30]`` got the gradient ``[1, 1]``, not ``[.5, .5]``);
    ``r`` is small and carries every digit of the sum."""

    @staticmethod
    def forward(x, dim, m):
        r = _lse(x, dim, m)
        return m + r, r

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.dim = inputs[1]
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(inputs[0], inputs[2], output[1])
        ctx.save_for_forward(inputs[0], inputs[2], output[1])

    @staticmethod
    def backward(ctx, g, _gr):
        x, m, r = ctx.saved_tensors
        if torch.is_grad_enabled():
            # create_graph: the weights differentiable in x, through the shift by the
            # slice's maximum (the generic body's structure): the Hessian's diagonal
            # at a peaked slice's maximum is then R / S^2, where softmax's autograd
            # took w - w^2, which cancels (0 for 3.1e-15 on float32 [1e-3, -33.4]:
            # decision 218)
            e = torch.exp(x - x.amax(ctx.dim, keepdim=True))
            return g * (e / e.sum(ctx.dim, keepdim=True)), None, None
        return g * (x - m).sub_(r).exp_(), None, None

    @staticmethod
    def jvp(ctx, t, _dim, _m):
        x, m, r = ctx.saved_tensors
        return ((x - m - r).exp() * t).sum(ctx.dim, keepdim=True), None


# -- the fused kernels (multiact.kernels) ---------------------------------------------------

def _unviewed(t, shape):
    """``t``, a kernel's contiguous output made in a Function's forward, as a tensor
    of ``shape`` that is not a view (its storage, not a copy).  Reason: autograd
    refuses the caller's in-place ops (``y.mul_(2)``, ``F.dropout(y, inplace=True)``)
    on a Function's output that is a view made inside it, where torch's own ops,
    and the framework paths, allow them."""
    if t._base is None and t.shape == shape:
        return t
    if t.shape != shape:
        t = t.contiguous()
        return torch.empty(0, dtype=t.dtype, device=t.device).set_(
            t.untyped_storage(), t.storage_offset(), shape)
    return torch.empty(0, dtype=t.dtype, device=t.device).set_(  # (its strides: kernels.shaped)
        t.untyped_storage(), t.storage_offset(), shape, t.stride())


class _KernelElementwise(torch.autograd.Function):
    @staticmethod
    def forward(x, pair, info, params):
        y = pair.fwd(_k.flat(x))
        return _unviewed(_k.shaped(y, x), x.shape)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, pair, info, params = inputs
        ctx.pair, ctx.info, ctx.params = pair, info, params
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _kernel_vjp(ctx, x, g), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        (x,) = ctx.saved_tensors
        return _kernel_vjp(ctx, x, t)

    @staticmethod
    def vmap(info, in_dims, x, pair, row, params):
        return _KernelElementwise.apply(x, pair, row, params), in_dims[0]


def _kernel_cotangent(g, x):
    """Whether a backward kernel can take the cotangent ``g`` of ``x``: a plain tensor
    of ``x``'s dtype with storage, outside functorch's transforms.  Not a batched
    tensor of the legacy vmap (gradcheck's batched gradients): it has no storage,
    which the CPU tier's operators refuse with NotImplementedError and a Triton
    launch with a RuntimeError ("Cannot access data pointer of Tensor that doesn't
    have storage", found on an H200).  (Dynamo cannot trace the legacy check, and
    compiled autograd's graph holds no such tensor.)  Not inside forward-mode AD's
    dual level: a dual cotangent (forward over reverse: ``autograd.grad`` with a
    dual ``grad_outputs``) wants the tangent of ``g J``, which a kernel, reading
    storage, dropped (None, read as 0, with no error; decision 197)."""
    return not _functorch_active() and type(g) is torch.Tensor and g.dtype == x.dtype \
        and _fwd_ad._current_level < 0 and not _is_compiling() and not _legacy_batched(g)


def _kernel_vjp(ctx, x, g):
    """``g * f'(x)``: the backward kernel on plain tensors; through the generic
    body when a graph of the backward is wanted (double backward), when
    torch.func batches it (a kernel cannot read a batched tensor's storage), or
    when the kernel rejects the call."""
    create = torch.is_grad_enabled()
    if not create and _kernel_cotangent(g, x):
        try:
            return _k.shaped(ctx.pair.bwd(_k.flat(x), _k.flat(g, x)), x)
        except (NotImplementedError, Miss):  # a kernel that refuses the call; a miss
            pass
    if _is_compiling() and not create:  # (compiled autograd: _body_vjp)
        return _body_vjp(lambda t: ctx.info.body(NS, t, *ctx.params), x, g)
    with torch.enable_grad():
        xr = x if create else x.detach().requires_grad_(True)
        y = ctx.info.body(NS, xr, *ctx.params)
        (gx,) = torch.autograd.grad(y, xr, g, create_graph=create)
        return _recorded(gx, xr) if create else gx


def _body_vjp(f, x, g):
    """``g J_f(x)`` by ``torch.func.vjp``: a kernel Function's backward where compiled
    autograd traces it.  Reason: Dynamo traces ``torch.func.vjp`` and not
    ``torch.autograd.grad`` ("Unsupported: using torch.autograd.grad"), and the
    kernel itself, called from a traced backward, broke the graph and printed
    Dynamo's warnings into the user's program (decision 169)."""
    return torch.func.vjp(f, x)[1](g)[0]


def fused_elementwise(pair, info, x, params):
    """``info``'s function of ``x`` by the kernel ``pair`` (forward and backward),
    recording a gradient; None where ``pair`` is None (no kernel)."""
    if pair is None:
        return None
    return apply(_KernelElementwise, x, pair, info, params)


class _KernelGated(torch.autograd.Function):
    """A gated row (glu, swiglu, geglu) by its kernel pair over ``x3``, the input
    viewed as ``(outer, 2, m)`` (``params`` with the axis set to 1)."""

    @staticmethod
    def forward(x3, pair, info, params):
        # the kernel's own output, (outer, 1, m), not a view of it: a view made here
        # refuses the caller's in-place ops (fused_gated reshapes it outside)
        return pair.fwd(x3)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x3, pair, info, params = inputs
        ctx.pair, ctx.info, ctx.params = pair, info, params
        ctx.save_for_backward(x3)

    @staticmethod
    def backward(ctx, g):
        (x3,) = ctx.saved_tensors
        # a plain cotangent: the backward kernel (both halves in one pass); else
        # (double backward, torch.func, the legacy vmap of gradcheck's batched
        # gradients, which the framework pair's in-place ops refuse too) autograd of
        # the generic body
        if not torch.is_grad_enabled() and _kernel_cotangent(g, x3):
            try:
                g2 = g.reshape(x3.shape[0], x3.shape[2]).contiguous()
                return (ctx.pair.bwd(x3, g2).view(x3.shape), None, None, None)
            except (NotImplementedError, Miss):
                pass
        create = torch.is_grad_enabled()
        if _is_compiling() and not create:  # (compiled autograd: _body_vjp)
            return (_body_vjp(lambda t: ctx.info.body(NS, t, *ctx.params).reshape(g.shape),
                              x3, g), None, None, None)
        with torch.enable_grad():
            xr = x3 if create else x3.detach().requires_grad_(True)
            y = ctx.info.body(NS, xr, *ctx.params).reshape(g.shape)
            (gx,) = torch.autograd.grad(y, xr, g, create_graph=create)
            gx = _recorded(gx, xr) if create else gx
        return gx, None, None, None


def fused_gated(pair, info, x3, params):
    """A gated row's function of ``x3`` by the kernel ``pair``, recording a gradient:
    ``(outer, m)``, a view of the Function's output made outside it."""
    return apply(_KernelGated, x3, pair, info, params).reshape(x3.shape[0], x3.shape[2])


class _KernelRows(torch.autograd.Function):
    @staticmethod
    def forward(x, fwd, info, params, where, bwd):
        y = fwd(x, params, where)
        return _unviewed(y, y.shape)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, fwd, info, params, where, bwd = inputs
        ctx.rule, ctx.where = info.row_backward, where
        if info.row_backward == "logsumexp":
            ctx.save_for_backward(x, output)  # the gradient is exp(x - lse), as torch's
        elif info.row_backward == "vjp":
            ctx.save_for_backward(x)
            ctx.info, ctx.params, ctx.bwd = info, params, bwd
        else:
            ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, g):
        rule = ctx.rule
        if rule == "vjp":
            return (_rows_vjp(ctx, g),) + (None,) * 5
        if rule == "logsumexp":
            x, out = ctx.saved_tensors
            # exp(x - lse) is softmax(x) where lse is finite (0 at -inf entries); a
            # row with lse = +-inf (+inf entries, nothing to sum) takes the generic
            # softmax's limits ([inf, 0] -> [1, 0], all -inf -> 0)
            p = (x - out.unsqueeze(-1)).exp()
            if ctx.where is not None:
                p = p.masked_fill(~ctx.where.expand(p.shape), 0.0)
            # divided by its own sum: the rounded lse shifts every exp(x - lse) of a row
            # by one factor, exp(-delta), off by |lse| ulp (2e-4 at 1e4 in float32,
            # every digit at 1e30); the sum (in float64 for float32: a float32 sum of a
            # long peaked row is off by up to n / lanes ulp) takes it out.  (Only masked
            # rows train here: decision 116.)
            s = p.sum(-1, keepdim=True, dtype=torch.float64 if p.dtype == torch.float32
                      else None)
            p = p / s.to(p.dtype)
            gx = g.unsqueeze(-1) * _lse_limits(p, x, out, ctx.where)
        else:
            (y,) = ctx.saved_tensors
            if rule == "log_softmax":
                gx = torch._log_softmax_backward_data(g, y, -1, y.dtype)
            else:
                gx = torch._softmax_backward_data(g, y, -1, y.dtype)
                if rule == "softmin":
                    gx = -gx
        if ctx.where is not None:
            gx = gx.masked_fill(~ctx.where.expand(gx.shape), 0.0)
        return gx, None, None, None, None, None


def _lse_limits(p, x, out, where):
    """``p`` (softmax of the rows of ``x`` from their logsumexp ``out``), with the
    generic softmax's limits where ``out`` is infinite: a row holding ``+inf`` (left
    in by ``where``) shares 1 among its ``+inf`` entries, a row with nothing to sum
    (all ``-inf``, or all left out) is 0; NaN rows are NaN in ``p`` already.  On
    CPU, one host read finds whether any row is infinite; on a GPU (where a read
    waits for the device, and fails under CUDA graph capture) and in compiled
    autograd, the limits in closed form without one: four passes over the row's
    elements (decision 187)."""
    bad = torch.isinf(out).unsqueeze(-1)
    if x.is_cpu and not _is_compiling():
        if not bool(bad.any()):
            return p
        return torch.where(bad, _Rd.softmax(NS, x, (x.ndim - 1,), where, None), p)
    top = x == math.inf
    if where is not None:
        top = top & where
    n = top.sum(-1, keepdim=True, dtype=torch.float32)  # (exact past 256: not bfloat16)
    return torch.where(bad, (top / n.clamp_min(1.0)).to(p.dtype), p)


def _rows_vjp(ctx, g):
    """``g J(x)`` of a ``"vjp"`` row: its compiled backward on plain tensors; autograd
    of the generic body where a graph of the backward is wanted (double backward),
    where torch.func batches it, or where the kernel rejects the call."""
    (x,) = ctx.saved_tensors
    create = torch.is_grad_enabled()
    if not create and _kernel_cotangent(g, x):
        try:
            return ctx.bwd(x, g, ctx.where)
        except (NotImplementedError, Miss):
            pass
    args = list(ctx.params)
    names = [p.name for p in ctx.info.params]
    args[0], args[names.index("where")] = (x.ndim - 1,), ctx.where
    if _is_compiling() and not create:  # (compiled autograd: _body_vjp)
        return _body_vjp(lambda t: ctx.info.body(NS, t, *args), x, g)
    with torch.enable_grad():
        xr = x if create else x.detach().requires_grad_(True)
        (gx,) = torch.autograd.grad(ctx.info.body(NS, xr, *args), xr, g, create_graph=create)
        return _recorded(gx, xr) if create else gx


def fused_rows(fwd, info, x, params, where, bwd=None):
    """A row reduction by the kernel ``fwd(x, params, where)``, recording a gradient
    (by the kernel ``bwd(x, g, where)`` where the row's backward is ``"vjp"``)."""
    return apply(_KernelRows, x, fwd, info, params, where, bwd)


# -- torch.compile graphs that record a gradient: custom operators (decision 111) -----------

def _gelu_erf_graph_fwd(x: torch.Tensor) -> torch.Tensor:
    """``multiact::gelu_erf``: exact GELU of a float32 or half CPU tensor by the CPU
    tier's formula (:func:`_torch_native._gelu_erf_wide`)."""
    return _gelu_erf_wide(x)


def _gelu_erf_graph_bwd(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``multiact::gelu_erf_backward``: ``g gelu'(x)`` by the CPU tier's backward
    formula (:func:`_torch_native._gelu_erf_wide_bwd`)."""
    return _gelu_erf_wide_bwd(x, g)


def _gelu_erf_graph_bwd_vjp(ctx, gg):
    """The backward operator's own backward: d/dg ``gelu'(x) gg``; d/dx ``g gg
    gelu''(x)``, ``gelu'' = phi(x) (2 - x^2)``, as plain differentiable ops (a
    further order differentiates them), one dtype wider (``a^2`` is exact there:
    ``2 - a^2`` keeps its digits near the root sqrt 2), rounded once, with ``|x|``
    capped at 40 (0, not inf * 0, at the infinities)."""
    g, x = ctx.saved_tensors
    w = _GELU_WORK[x.dtype]
    a = x.abs().to(w)
    a = NS.where(a > 40.0, 40.0, a)
    second = _special.normal_pdf(NS, a) * (2.0 - a * a)
    return GRAPH_OPS["gelu_erf_backward"](gg, x), (gg.to(w) * g.to(w) * second).to(gg.dtype)


def _rows_work(t):
    """``t`` in the dtype the softmax family's backward formulas run in: float32 for a
    half tensor (the forward's own rule: computed in float32, rounded once)."""
    return t.float() if t.dtype in _HALF else t


def _softmax_graph_fwd(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``multiact::softmax``: the generic body along ``dim``, and which slices hold
    ``+inf`` (kept dimension; their output is the limit, whose gradient is 0: the
    body's autograd, the eager path's, gives 0 there, where ``y``'s formula would not:
    ``softmax([inf, inf, 0])`` is ``[.5, .5, 0]``, as of ``[9, 9, -99]``)."""
    return _Rd.softmax(NS, x, (dim,), None, None), x.amax(dim, keepdim=True) == math.inf


def _softmax_graph_fake(x, dim):
    sh = list(x.shape)
    if sh:
        sh[dim] = 1
    return torch.empty_like(x), x.new_empty(sh, dtype=torch.bool)


def _softmax_graph_bwd(g: torch.Tensor, y: torch.Tensor, inf: torch.Tensor,
                       dim: int) -> torch.Tensor:
    """``multiact::softmax_backward``: :func:`_softmax_vjp`, rounded once; 0 on the
    slices that hold ``+inf``."""
    gx = _softmax_vjp(_rows_work(y), _rows_work(g), dim)
    return NS.where(inf, 0.0, gx).to(g.dtype)


def _softmax_graph_bwd_vjp(ctx, gg):
    """The backward operator's own backward (``J`` is symmetric): d/dg ``y (gg -
    sum(gg y))``; d/dy ``gg (g - sum(g y)) - g sum(gg y)``; 0 on the ``+inf``
    slices."""
    g, y, inf = ctx.saved_tensors
    dim = ctx.dim
    gw, yw, ggw = _rows_work(g), _rows_work(y), _rows_work(gg)
    dy = ggw * (gw - (gw * yw).sum(dim, keepdim=True)) - gw * (ggw * yw).sum(dim, keepdim=True)
    return (GRAPH_OPS["softmax_backward"](gg, y, inf, dim), NS.where(inf, 0.0, dy).to(y.dtype),
            None, None)


def _log_softmax_graph_fwd(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``multiact::log_softmax``: the generic body along ``dim``."""
    return _Rd.log_softmax(NS, x, (dim,), None, None)


def _log_softmax_graph_bwd(g: torch.Tensor, y: torch.Tensor, dim: int) -> torch.Tensor:
    """``multiact::log_softmax_backward``: :func:`_log_softmax_vjp`, rounded once."""
    return _log_softmax_vjp(_rows_work(y), _rows_work(g), dim).to(g.dtype)


def _log_softmax_graph_bwd_vjp(ctx, gg):
    """The backward operator's own backward: d/dg ``gg - sum(gg exp(y))``; d/dy ``-gg
    exp(y) sum(g)``."""
    g, y = ctx.saved_tensors
    dim = ctx.dim
    gw, ew, ggw = _rows_work(g), _rows_work(y).exp(), _rows_work(gg)
    dg = ggw - (ggw * ew).sum(dim, keepdim=True)
    dy = -ggw * ew * gw.sum(dim, keepdim=True)
    return dg.to(g.dtype), dy.to(y.dtype), None


def _double_vjp(f, g, x, gg):
    """``(d/dg, d/dx)`` of ``<gg, g J_f(x)>``: a backward operator's own backward, by
    ``torch.func.vjp`` through ``f``'s ops, twice (the generic body's autograd: the
    eager Functions' double backward, ``_elementwise_backward``), differentiable ops
    whose own derivatives are autograd's, so every order is the body's."""
    def first(gv, xv):
        return torch.func.vjp(f, xv)[1](gv)[0]

    return torch.func.vjp(first, g, x)[1](gg)


def _standardize_graph_fwd(x: torch.Tensor, dim: int, epsilon: float) -> torch.Tensor:
    """``multiact::standardize_axis``: the generic body along ``dim`` (no mask, no
    given statistics)."""
    return _Rd.standardize(NS, x, (dim,), None, None, epsilon, None)


def _standardize_graph_bwd(g: torch.Tensor, x: torch.Tensor, dim: int,
                           epsilon: float) -> torch.Tensor:
    """``multiact::standardize_axis_backward``: the vector-Jacobian product written out
    (``reductions.standardize_vjp``: decision 84's, the CPU tier's training kernel)."""
    return _Rd.standardize_vjp(NS, x, g, (dim,), None, None, epsilon, None)


def _standardize_graph_bwd_vjp(ctx, gg):
    """The backward operator's own backward: through the body (:func:`_double_vjp`;
    through the written-out product, a row whose variance overflows gave NaN where
    the body gives 0)."""
    g, x = ctx.saved_tensors
    dim, epsilon = ctx.dim, ctx.epsilon
    return (*_double_vjp(lambda u: _standardize_graph_fwd(u, dim, epsilon), g, x, gg),
            None, None)


#: the element-wise functions whose eager Function saves another tensor than ``x``
#: (``_SavesSecond``): their forward and their backward from ``x``, for
#: ``_graph_formulas`` (sigmoid's: its CPU kernels' pair, ``kernels.own``)
_OF_X = {"sigmoid": (_sigmoid, _sigmoid_bwd_of_x),
         "tanh_shrink": (_tanh_shrink_fwd, _tanh_shrink_bwd_of_x)}


def _logsumexp_graph_fwd(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``multiact::logsumexp_axis``: the generic body along ``dim``, the dimension kept."""
    return _Rd.logsumexp(NS, x, (dim,), None, True, False, None)


def _logsumexp_graph_bwd(g: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                         dim: int) -> torch.Tensor:
    """``multiact::logsumexp_axis_backward``: ``g softmax(x)``, softmax by its generic
    body (from ``x``: torch's ``exp(x - y)`` from the rounded output is off by ``|y|``
    ulp relatively, every digit at 1e30: ``[1e30, 1e30]`` got ``[1, 1]``); its limits
    where ``y`` is ``+inf`` (the ``+inf`` entries share it) and NaN, 0 where every
    entry is ``-inf`` (the body's gradient there); a half tensor's in float32,
    rounded once."""
    xw = _rows_work(x)
    w = _Rd.softmax(NS, xw, (dim,), None, None)
    return (_rows_work(g) * torch.where(_rows_work(y) == -math.inf, 0.0, w)).to(x.dtype)


def _logsumexp_graph_bwd_vjp(ctx, gg):
    """The backward operator's own backward: through the body (:func:`_double_vjp`);
    ``y`` only selects the all ``-inf`` slices (no gradient)."""
    g, x, y = ctx.saved_tensors
    dim = ctx.dim
    dg, dx = _double_vjp(lambda u: _logsumexp_graph_fwd(u, dim), g, x, gg)
    return dg, dx, None, None


def _gated_graph_fwd(x: torch.Tensor, name: str, dim: int) -> torch.Tensor:
    """``multiact::gated``: the gated row ``name``'s generic body over ``x`` viewed as
    ``(outer, 2, m)`` (glu, swiglu)."""
    x3, shape = _gated_x3(x, dim)
    return BY_NAME[name].body(NS, x3, 1).reshape(shape)


def _gated_graph_bwd(g: torch.Tensor, x: torch.Tensor, name: str, dim: int) -> torch.Tensor:
    """``multiact::gated_backward``: both halves' gradients by the traced body's
    derivatives, written by one loop (``inductor.gated_backward_fn``: the CPU tier's
    training kernel); a half tensor's in float32, rounded once."""
    from ..kernels.inductor import gated_backward_fn  # (imports nothing more)

    x3 = _gated_x3(_rows_work(x), dim)[0]
    f = gated_backward_fn(BY_NAME[name], _k._dtype_name(x3.dtype), (1,))
    return f(x3, _rows_work(g).reshape(x3.shape[0], x3.shape[2])).reshape(x.shape).to(x.dtype)


def _gated_graph_bwd_vjp(ctx, gg):
    """The backward operator's own backward: through the body (:func:`_double_vjp`)."""
    g, x = ctx.saved_tensors
    name, dim = ctx.name, ctx.dim
    return (*_double_vjp(lambda u: _gated_graph_fwd(u, name, dim), g, x, gg), None, None)


def _graph_formulas(name):
    """``(fwd(x), bwd(x, g))`` of the element-wise operator for ``name``: its eager
    training Function's (``_Elementwise``: the accurate backward, from ``x``), or,
    where that Function saves another tensor, the same from ``x`` (``_OF_X``)."""
    fn = _PLAIN_FUNCTIONS.get(name)
    return (fn.fwd, fn.bwd) if fn is not None else _OF_X[name]


def _elementwise_graph_fwd(x: torch.Tensor, name: str) -> torch.Tensor:
    """``multiact::elementwise``: the function ``name`` of ``x`` by its formula
    (:func:`_graph_formulas`); a half tensor's in float32, rounded once."""
    return _graph_formulas(name)[0](_rows_work(x)).to(x.dtype)


def _elementwise_graph_bwd(g: torch.Tensor, x: torch.Tensor, name: str) -> torch.Tensor:
    """``multiact::elementwise_backward``: ``g f'(x)`` by its formula from ``x``
    (:func:`_graph_formulas`); a half tensor's in float32, rounded once."""
    return _graph_formulas(name)[1](_rows_work(x), _rows_work(g)).to(g.dtype)


def _elementwise_graph_bwd_vjp(ctx, gg):
    """The backward operator's own backward: through the generic body
    (:func:`_double_vjp`; the traced body's second derivative, tried first, gave NaN
    at the infinities where the body's autograd gives 0: soft_sign), one dtype wider
    for a half tensor."""
    g, x = ctx.saved_tensors
    body = BY_NAME[ctx.name].body
    dg, dx = _double_vjp(lambda u: body(NS, u), _rows_work(g), _rows_work(x), _rows_work(gg))
    return dg.to(g.dtype), dx.to(x.dtype), None


def _save_inputs(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _save_output(ctx, inputs, output):  # (x, dim): the output, as torch's does
    ctx.save_for_backward(output)
    ctx.dim = inputs[1]


def _save_rows_bwd(ctx, inputs, output):  # (g, y, dim)
    ctx.save_for_backward(inputs[0], inputs[1])
    ctx.dim = inputs[2]


def _save_softmax(ctx, inputs, output):  # (x, dim): the output and its +inf slices
    ctx.save_for_backward(*output)
    ctx.dim = inputs[1]


def _save_softmax_bwd(ctx, inputs, output):  # (g, y, inf, dim)
    ctx.save_for_backward(*inputs[:3])
    ctx.dim = inputs[3]


def _save_named(ctx, inputs, output):  # (x, name) or (g, x, name)
    ctx.save_for_backward(*inputs[:-1])
    ctx.name = inputs[-1]


def _save_standardize(ctx, inputs, output):  # (x, dim, epsilon) or (g, x, dim, epsilon)
    ctx.save_for_backward(*inputs[:-2])
    ctx.dim, ctx.epsilon = inputs[-2:]


def _save_logsumexp(ctx, inputs, output):  # (x, dim): x and the output
    ctx.save_for_backward(inputs[0], output)
    ctx.dim = inputs[1]


def _save_logsumexp_bwd(ctx, inputs, output):  # (g, x, y, dim)
    ctx.save_for_backward(*inputs[:3])
    ctx.dim = inputs[3]


def _save_gated(ctx, inputs, output):  # (x, name, dim) or (g, x, name, dim)
    ctx.save_for_backward(*inputs[:-2])
    ctx.name, ctx.dim = inputs[-2:]


def _gelu_erf_graph_vjp(ctx, g):
    return GRAPH_OPS["gelu_erf_backward"](g, *ctx.saved_tensors)


def _softmax_graph_vjp(ctx, g, _g_inf):
    return GRAPH_OPS["softmax_backward"](g, *ctx.saved_tensors, ctx.dim), None


def _log_softmax_graph_vjp(ctx, g):
    return GRAPH_OPS["log_softmax_backward"](g, *ctx.saved_tensors, ctx.dim), None


def _standardize_graph_vjp(ctx, g):
    gx = GRAPH_OPS["standardize_axis_backward"](g, *ctx.saved_tensors, ctx.dim, ctx.epsilon)
    return gx, None, None


def _logsumexp_graph_vjp(ctx, g):
    return GRAPH_OPS["logsumexp_axis_backward"](g, *ctx.saved_tensors, ctx.dim), None


def _gated_graph_vjp(ctx, g):
    return GRAPH_OPS["gated_backward"](g, *ctx.saved_tensors, ctx.name, ctx.dim), None, None


def _elementwise_graph_vjp(ctx, g):
    return GRAPH_OPS["elementwise_backward"](g, *ctx.saved_tensors, ctx.name), None


#: each operator's formula, setup_context and vjp (a backward operator before the
#: operator whose vjp calls it)
_GRAPH_OPS = {
    "gelu_erf_backward": (_gelu_erf_graph_bwd, _save_inputs, _gelu_erf_graph_bwd_vjp),
    "gelu_erf": (_gelu_erf_graph_fwd, _save_inputs, _gelu_erf_graph_vjp),
    "softmax_backward": (_softmax_graph_bwd, _save_softmax_bwd, _softmax_graph_bwd_vjp),
    "softmax": (_softmax_graph_fwd, _save_softmax, _softmax_graph_vjp),
    "log_softmax_backward": (_log_softmax_graph_bwd, _save_rows_bwd,
                             _log_softmax_graph_bwd_vjp),
    "log_softmax": (_log_softmax_graph_fwd, _save_output, _log_softmax_graph_vjp),
    "elementwise_backward": (_elementwise_graph_bwd, _save_named, _elementwise_graph_bwd_vjp),
    "elementwise": (_elementwise_graph_fwd, _save_named, _elementwise_graph_vjp),
    "standardize_axis_backward": (_standardize_graph_bwd, _save_standardize,
                                  _standardize_graph_bwd_vjp),
    "standardize_axis": (_standardize_graph_fwd, _save_standardize, _standardize_graph_vjp),
    "gated_backward": (_gated_graph_bwd, _save_gated, _gated_graph_bwd_vjp),
    "gated": (_gated_graph_fwd, _save_gated, _gated_graph_vjp),
    "logsumexp_axis_backward": (_logsumexp_graph_bwd, _save_logsumexp_bwd,
                                _logsumexp_graph_bwd_vjp),
    "logsumexp_axis": (_logsumexp_graph_fwd, _save_logsumexp, _logsumexp_graph_vjp),
}


#: each operator's fake (its output's shape, dtype and strides under FakeTensorMode):
#: ``empty_like`` its first argument, or for these its formula itself, run on the fake
#: tensors (the operators of decision 115: their outputs' shapes and strides are the
#: formulas' own, whatever the input's layout)
_FAKES = {"softmax": _softmax_graph_fake}
_FORMULA_FAKES = ("elementwise", "elementwise_backward", "standardize_axis",
                  "standardize_axis_backward", "gated", "gated_backward", "logsumexp_axis",
                  "logsumexp_axis_backward")


def _graph_ops():
    """``{name: operator}`` of ``_GRAPH_OPS``: each ``multiact::name`` a custom operator
    with its own autograd, decomposed into its formula's ops where AOTAutograd traces
    a graph (``register_torch_dispatch`` of FunctionalTensorMode, as
    ``torch.library.triton_op`` does), so that Inductor fuses them; elsewhere
    (``backend="eager"``) the same formulas run as ops.  Reason: speed and a right
    double backward.  In a training graph the generic body's autograd took 10.3 ms on
    1M float32 exact GELU with backward, these 3.9 (``F.gelu`` 2.7); an
    autograd.Function's backward lost GELU's part of a double backward under
    ``backend="eager"`` with no error (decision 107), a custom operator's does not.
    Empty where this torch has no ``custom_op`` with ``register_torch_dispatch``, or
    refuses the definitions: the bodies then."""
    custom_op = getattr(torch.library, "custom_op", None)
    try:
        from torch._subclasses.functional_tensor import FunctionalTensorMode
    except ImportError:  # pragma: no cover - old torch
        return {}
    if custom_op is None:  # pragma: no cover - old torch
        return {}

    def decomposed(formula):
        def rule(mode, op, types, args, kwargs):
            with mode:
                return formula(*args, **kwargs)
        return rule

    ops = {}
    try:
        for name, (formula, setup, vjp) in _GRAPH_OPS.items():
            op = custom_op(f"multiact::{name}", formula, mutates_args=())
            if not hasattr(op, "register_torch_dispatch"):  # pragma: no cover - old torch
                return {}
            op.register_fake(formula if name in _FORMULA_FAKES else
                             _FAKES.get(name, lambda *a: torch.empty_like(a[0])))
            op.register_torch_dispatch(FunctionalTensorMode, decomposed(formula))
            op.register_autograd(vjp, setup_context=setup)
            ops[name] = op
    except RuntimeError as e:  # (a torch that refuses them: the bodies, and one log line)
        logging.getLogger("multiact").info("multiact's compiled training operators: %s", e)
        return {}
    return ops


#: ``_graph_ops()``'s operators, once :func:`graph_ops_ready` has defined them
GRAPH_OPS: dict = {}
_GRAPH_TRIED: list = []
_GRAPH_LOCK = ForkSafeLock()


def _graph_ops_ready() -> bool:
    """Whether ``GRAPH_OPS`` holds the operators, defining them on the first call.
    Reason: first calls.  Defining them takes some 9 ms, which only a torch.compile
    graph that records a gradient needs; the backend's import (every process's first
    call) does not pay it.  Dynamo runs this at trace time and takes its result as a
    constant (marked below as ``assume_constant_result`` marks), so the definitions
    are not traced."""
    with _GRAPH_LOCK:
        if not _GRAPH_TRIED:
            _GRAPH_TRIED.append(True)
            GRAPH_OPS.update(_graph_ops())
    return bool(GRAPH_OPS)


# Dynamo runs a function so marked and takes its result as a constant: what
# ``torch.compiler.assume_constant_result`` does (read in torch 2.13), without the import
# of Dynamo it makes first (about a second, which a first call must not pay:
# tests/test_tier.py).  Were the mark ever ignored, Dynamo would trace the lock and
# the definitions: the fullgraph tests of decision 111 would fail.
_graph_ops_ready._dynamo_marked_constant = True  # type: ignore[attr-defined]
graph_ops_ready = _graph_ops_ready
