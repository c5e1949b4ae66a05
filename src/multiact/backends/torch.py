"""PyTorch, routing: which implementation a call takes.

Every special case below chooses one of three routes:

* **eager inference** (a plain ``Tensor``/``Parameter``, no gradient recorded,
  no ``torch.compile``/``jit.trace``/``torch.func``/forward-AD): the fastest
  forward that gives the contract's values: a native kernel, a fused kernel
  (``multiact.kernels``, once the compile tier has compiled it), or the
  framework path (``_torch_native.py``: the shortest chain of native ops);
* **eager training** (the same, recording a gradient): an
  ``autograd.Function`` (``_torch_autograd.py``) with that forward and an
  accurate backward, saving what PyTorch saves, or the fused kernels' pair;
* **everything else** (``torch.compile``, ``torch.export``, ``jit.trace``,
  ``torch.func``, forward-mode AD, tensor subclasses such as ``DTensor``): the
  generic body, plain ATen ops whose derivatives are the contract's at every
  order, with no data-dependent branch (traced graphs are the same on every
  call and can be saved), no custom op (exported programs load without
  multiact), and nothing a compiler cannot fuse.  Native kernels whose own
  derivative is accurate are used on every route.  The exception: a torch.compile
  graph on CPU, where some functions take faster formulas of their own
  (decisions 107, 111 and 115), as custom operators with their own autograd
  where the graph records a gradient, which AOTAutograd decomposes into their
  ops (none is left in the compiled graph).

The rule for the functions with no special case (:meth:`TorchBackend.generic`):
a fused kernel on the eager routes where one runs, the generic body elsewhere.
"""

from __future__ import annotations

import sys
from functools import partial

import torch

from .. import _dispatch
from .. import kernels as _k
from .._params import _SCALAR_MODULES, _real_scalar, signed
from ..kernels._tier import Pair as _Pair
from . import Backend, defaults, special
from ._torch_autograd import GRAPH_OPS, SHRINK_NODE, graph_ops_ready
from ._torch_autograd import apply as _apply
from ._torch_autograd import cotangent_in_x as _cotangent_in_x
from ._torch_autograd import (_GeluErf, _GeluErf64, _GeluErfHalf, _GeluTanh, _HardSigmoid,
                              _HardSilu, _LogSoftmax, _LogSumExp, _Mish, _QuickGelu, _SilU,
                              _Softmax, _SoftSign, _log_sigmoid_train, _softplus_beta_train,
                              _softplus_native_train, _relu2_train, _shrink_train,
                              _sigmoid_train, _tanh_shrink_train, fused_elementwise,
                              fused_gated, fused_rows)
from ._torch_native import (_FLOATS, _HALF, _NOT_NATIVE, _WIDE, NS, _elu, _fma_exact,
                            _soft_shrink,
                            _geglu_erf_wide, _gelu_erf_wide,
                            _gelu_erf_wide_bwd, _gelu_tanh_bwd_one_exp,
                            _gelu_tanh_fwd, _glu, _glu_rows, _glu_rows_bwd,
                            _hard_sigmoid_bwd, _hard_sigmoid_fwd, _hard_silu_bwd,
                            _hard_silu_fwd, _hardshrink, _hardtanh, _in_order, _layer_norm_dims,
                            _leaky_relu, _prelu,
                            _log_sigmoid, _log_softmax_eager, _masked_out,
                            _mish, _mish_bwd, _mish_fwd, _plain, _relu, _relu2_fwd, _relu6,
                            _selu, _sigmoid,
                            _sigmoid_bwd_of_x, _silu_bwd, _silu_fwd, _soft_sign_bwd,
                            _soft_sign_fwd, _softmax_eager, _softplus_carried, _softplus_native,
                            _standardize_centred, _tanh,
                            _tanh_shrink_fwd,
                            _threshold, _where_bits, eager, recording)
from ._torch_native import (_autocast_kept, _dynamo_tracing, _functorch_active,
                            _functorch_higher_order, _fwd_ad, _scalar_operand)
from ._torch_native import _gated_x3
from ._torch_native import NS_ONNX
from ._torch_native import PRIMITIVES  # noqa: F401 - the namespace's natives, for kernels
from .._agnostic import _formulas as fm
from .._agnostic._special import expm1_kahan
from .._table import BY_NAME

_KSTATE = _k._STATE
_RELU_DEFAULTS = defaults("relu")
try:
    _k.mode()  # read MULTIACT_KERNELS now, so the fast paths below can see it
except ValueError:
    pass  # a bad value: the error is raised where the mode is first needed


def _half_via_float(f):
    """``f`` on half tensors through float32, rounded once."""
    def run(x):
        return f(x.float()).to(x.dtype) if x.dtype in _HALF else f(x)
    run.__name__ = f.__name__
    return run


def _fits(v, x):
    """Whether the Python number ``v`` is within ``x``'s dtype's range: torch's native
    ops refuse a Scalar that overflows it, where the generic bodies round it to inf."""
    return abs(v) <= torch.finfo(x.dtype).max


def _applier(fn):
    """``x -> fn.apply(x)`` (through ``_torch_autograd.apply``: its reason there)."""
    def run(x):
        return _apply(fn, x)
    run.__name__ = fn.__name__
    return run


def _elementwise(x, name, params, fwd, train):
    """The eager routes of an element-wise special case: ``fwd`` (or a fused kernel)
    in inference, ``train`` (an ``_Elementwise`` Function, or a fused kernel pair)
    when recording a gradient.  What the CPU kernels compile: the ``kernels.own``
    registrations below (a forward ``native`` there is ``fwd`` itself on CPU, on
    every route; CUDA takes the Triton kernel, one launch)."""
    if recording(x):
        apply = _applier(train) if hasattr(train, "apply") else train
        timed = hasattr(train, "bwd")
        if x.dtype in _HALF and hasattr(train, "apply") and train.half_via_float:
            apply = _half_via_float(apply)
            timed = False  # (its Function's backward bills the float32 copy's kernel)
        return _k.torch_train(name, x, params, apply, fused_elementwise, timed)
    return _k.torch_forward(name, x, params, fwd)


#: the saved-tensor hooks in force (checkpoint's, ``save_on_cpu``'s), or None
_saved_tensors_hooks = getattr(torch._C._autograd, "_top_saved_tensors_default_hooks",
                               lambda ignore_tracing: ())


def _recorded_in_x(y, x):
    """``y``, the output of a piecewise-linear row (the table's ``linear``) at ``x``,
    whose first derivative a double backward will find recorded in ``x``.  Reason:
    correctness.  Such a row's derivative is constant between its kinks: autograd of
    its body (selects, clamps) or of a kernel made ``g J`` from the cotangent alone,
    and a second backward that reaches only ``x`` raised "element 0 of tensors does
    not require grad", where torch's own relu, hardshrink and prelu record their
    backward in ``x`` (its derivative 0).  A pre-hook on ``y``'s node ties the
    cotangent to ``x`` under ``create_graph`` (one pass there, none in a first
    backward).  It holds ``x`` until a first-order backward or the graph's end, as
    torch's hardshrink saves it, so not where saved-tensor hooks decide what a graph
    keeps (non-reentrant checkpoint, ``save_on_cpu``): a reference of its own would
    defeat them.  Inside forward-mode AD's dual level too (forward over reverse).
    Costs 10-20 us a training call (registering it, and its Python call in the
    backward; decision 201).  Not on the shrinks' own Function's output, whose
    backward reads ``x`` (decision 220)."""
    if y is not x and recording(x) and eager(x, dual=True) and y.grad_fn is not None \
            and type(y.grad_fn) is not SHRINK_NODE and _saved_tensors_hooks(False) is None:
        y.grad_fn.register_prehook(partial(_cotangent_in_x, [x]))
    return y


def _rows_kernel(name, x, axis, params, where, eager_path):
    """A row kernel over the last axis of an eager tensor (``params`` as the body
    takes them, the axis normalised) where one applies, else ``eager_path()``."""
    if not eager(x) or len(axis) != 1 or axis[0] != x.ndim - 1 or x.dtype not in _FLOATS \
            or (where is not None and where.device != x.device):
        return eager_path()
    if recording(x):
        return _k.torch_rows_train(name, x, params, where, eager_path, fused_rows)
    return _k.torch_rows(name, x, params, where, eager_path)


def _softmax_path(x, axis, where, initial):
    """softmax's framework path (softmin's, of ``-x``): torch's softmax, checked
    (``_softmax_eager``); recording a gradient on slices too long for torch's sum,
    the ``_Softmax`` Function, which saves its output alone (autograd of the
    division saved the undivided output and the sums too: softmin kept one more
    tensor of x's size than ``F.softmin``; decision 187)."""
    if recording(x) and _plain(x, axis, where, initial) and not _in_order(x, axis[0]):
        xw = x.float() if x.dtype in _HALF else x  # (as _softmax_eager)
        y = _apply(_Softmax, xw, axis[0])
        return y.to(x.dtype) if xw is not x else y
    return _softmax_eager(x, axis, where, initial)


def _framework_path(body, x, params, like=None):
    """A row's generic body on the framework path (no kernel for this call, or none
    ready yet): its inner activations (``activation_of``: a gated row's gate,
    quick_gelu's sigmoid) are this backend's own functions (_NS_GATES: native
    kernels, accurate backwards); on the CPU tier they run unbilled, so that the
    row's own kernel alone is billed and compiled, never one of theirs.  Where the
    kernel is Triton's or is compiled on the caller's thread: the generic chain.
    Below the row's tier too, where an inner function's own floor (kernels.tier_from:
    exact GELU's 2^15) would otherwise bill and compile a kernel of its own that the
    row's calls were never measured on (decision 92)."""
    t = x if like is None else like
    r = _k._route(t)
    if r is None and (t.is_cuda or t.numel() < _k.LOWEST_FLOOR):
        return body(_NS_GATES, x, *params)
    if r is None or (r == "tier" and x.is_cpu):
        with _k.unbilled():
            return body(_NS_GATES, x, *params)
    return body(NS, x, *params)


#: A gated row's framework path in training on CPU (float32, float64): its forward
#: and both halves' backward in ATen ops, as one autograd.Function (the kernels'
#: pair's, ``fused_gated``), not autograd of the generic body, which assembles each
#: half's gradient apart (glu at 1e5 float32 with backward: 3.3-4.4x ``F.glu``'s,
#: 1.9-2.4x so).  Reason: speed.
_GATED_PAIRS = {"glu": _Pair(_glu_rows, _glu_rows_bwd)}


def _gated(row, body, x, params):
    """A gated row (glu, swiglu, geglu) by one kernel forward and one backward
    (both halves of the gradient) over ``x`` viewed as ``(outer, 2, m)``, where one
    applies; the generic body elsewhere (an odd size: its error).  The output has
    the layout ``F.glu`` gives (``x``'s order of strides, :func:`_gated_layout`)."""
    i = [p.name for p in row.params].index("axis")
    axis = params[i]
    n = x.shape[axis]
    if n % 2:
        return body(NS, x, *params)
    x3, shape = _gated_x3(x, axis)
    p3 = params[:i] + (1,) + params[i + 1:]
    own = _GATED_PAIRS.get(row.name) if x.dtype in _WIDE and x.is_cpu else None
    def path():
        if own is not None and recording(x):
            return fused_gated(own, row, x3, p3)
        return _framework_path(body, x, params, x3)

    if recording(x):
        y = _k.torch_gated_train(row.name, x3, p3, path, fused_gated)
    else:
        y = _k.torch_gated(row.name, x3, p3, path)
    y = y.view(shape) if y.shape != shape else y
    return y if x.is_contiguous() else _gated_layout(y, x, axis)


def _gated_layout(y, x, axis):
    """A gated row's output ``y`` of a non-contiguous ``x`` in the layout that
    ``F.glu`` and the framework path give: that of ``x``'s half along ``axis``
    (``empty_like``: a dense ``x``'s order of strides).  Reason: the contract's
    layout.  The kernels and the training pairs read ``x`` made contiguous, so
    swiglu's and geglu's output changed layout when their kernel was swapped in,
    and glu's in training (decision 221); one more pass, for these inputs only."""
    out = torch.empty_like(x.narrow(axis, 0, x.shape[axis] // 2), dtype=y.dtype)
    return y if out.stride() == y.stride() else out.copy_(y)


_REASON_BWD = "speed, and an accurate backward"
#: the gated rows that a compiled CPU training graph takes as ``GRAPH_OPS["gated"]``
#: (exact geglu's gate takes exact GELU's operators; tanh geglu keeps the body, at
#: 1.04-1.09x PyTorch's compiled form with backward)
_GRAPH_GATED = ("glu", "swiglu")
_GRAPH_NOTE = ("; in a torch.compile graph that records a gradient, on CPU, a custom operator "
               "of its eager formulas (speed: decision 115)")
_NOT_FUSED = ("auto", "framework")  # kernels' modes set (None: not yet read)
_gelu_tanh_eager = _half_via_float(_gelu_tanh_fwd)
_quick_gelu_eager = _half_via_float(_QuickGelu.fwd)


# -- what the CPU tier compiles for the special cases (kernels.own) ---------------------
#
# The generic body and its traced derivative, except where the backend's own formula
# is faster or is the only accurate one; one registration per function, its reason
# above it (measured at 1e7 float32 in one interleaved run: docs/performance.md).
# A backward registered here is the Function's accurate backward (its reason there),
# compiled as written: Inductor's C++ rounds every op (no fused multiply-add).  A
# forward "native" is ATen's own kernels, called as they are: nothing to compile.

_WORK = ("float32", "float64")


def _formulas(fwd=None, bwd=None, native=False):
    """``kernels.own``'s formulas; ``native``: True, or ``_WORK`` (in float32 and
    float64 only: half tensors compile the same ops)."""
    return lambda params, dtype: _k.Own(fwd, bwd, native is True or dtype in (native or ()))


# torch's forward meets the contract and its loop beat the compiled body; the
# backward recomputes q = sigmoid(-|x|) from the saved x (the pair 1.10-1.13x torch's
# forward plus backward, from 1.6-1.85x with q saved as a second output)
_k.own("sigmoid", _formulas(_sigmoid, _sigmoid_bwd_of_x, native=True))
# the same (1.11x with backward, from 1.50x)
_k.own("hard_sigmoid", _formulas(_hard_sigmoid_fwd, _hard_sigmoid_bwd, native=True))
# torch's silu after the clamp: its two ATen passes beat Inductor's one loop (1.16x
# forward, 1.11x with backward, from 1.31x and 1.22x in the same runs); not in
# bfloat16, where the compiled loop is faster (4e6: 1.51x, 1.18x with backward,
# against 1.69x, 1.43x; float16 the same either way)
_k.own("silu", _formulas(_silu_fwd, _silu_bwd, native=_WORK))
# the framework path's forward ops: fewer selects than the generic body
_k.own("hard_silu", _formulas(_hard_silu_fwd, _hard_silu_bwd))  # forward 1.09x, from 1.37x
# torch's mish after the clamp (a compiled forward was 1.11x, torch's 1.03x); the
# pair 1.07x with backward, from 1.37x with no kernel; not in bfloat16 (4e6: the
# compiled loop 0.96x, 1.96x with backward against torch's 1.13x, 2.23x, of F.mish)
_k.own("mish", _formulas(_mish_fwd, _mish_bwd, native=_WORK))
_k.own("soft_sign", _formulas(None, _soft_sign_bwd))
# glu's training forward: torch's glu, one pass (decision 89), the compiled backward kept
_k.own("glu", _formulas(_glu_rows, native=True))


def _own_gelu(params, dtype):
    # tanh: the framework path's forward ops, half tensors through float32 as there
    # (with backward 1.15x, from 1.23x), and its backward from one exp (0.98-1.07x).
    # Exact float32 and half (decisions 82, 90): no erfc, one loop each way over the
    # tensors, a rational one dtype wider (float32: the rationals' sums in float64,
    # the rest in float32, 2.33 and 2.40 ulp, decision 109; before decision 90, ATen's
    # erfc run ahead of the loop, 2.1 and 4.6 ulp, 1.3-2.3x the time); float64:
    # the generic body and its traced derivative
    if params[0]:
        return _k.Own(_gelu_tanh_eager, _gelu_tanh_bwd_one_exp)
    if dtype == "float64":
        return None
    return _k.Own(_gelu_erf_wide, _gelu_erf_wide_bwd)


_k.own("gelu", _own_gelu)


# -- the CPU tier's floors below kernels.MIN_NUMEL (kernels.tier_from) -----------------
#
# A function whose framework path is many passes (or a slow ATen op) per element takes
# its kernel from fewer elements: above each floor its kernel's call, ~20 us of guards
# included, beat the framework path on this machine (64-row tensors of 2^10 to 2^18
# elements, float32, and float16 and bfloat16 for exact GELU, the fused mode's kernel
# against the framework path, the best of 5 x 200 calls each way, inference and
# forward plus backward apart; decision 92), each floor two to eight times the
# crossing, for the machine's noise.  Not registered: a kind whose kernel
# lost at some size below 2^18 (silu both ways; mish and soft_sign in training; tanh
# GELU and hard_silu forward; sigmoid's training pair, even near 2^16), kinds and
# dtypes not measured.  float16 and bfloat16 were measured again for the floors below
# (decision 93): every kernel there won at and above float32's floor in both (0.21-0.99
# of the framework path's time), except tanh GELU's training (its half calls go
# through a float32 copy: left at float32).

#: the dtypes whose floors were measured (decision 93), tanh GELU's aside
_FLOORED = ("float32", "float16", "bfloat16")


def _tier_from(n, kinds=("forward", "train", "fuse"), dtypes=("float32",)):
    """``kernels.tier_from``'s floor: ``n`` elements for ``kinds`` in ``dtypes``, else
    MIN_NUMEL."""
    return lambda params, dtype, kind: n if dtype in dtypes and kind in kinds else None


#: exact GELU's dtypes that take :func:`_gelu_erf_wide` in a graph Dynamo traces
_GELU_GRAPH = (torch.float32, torch.float16, torch.bfloat16)
_is_exporting = torch.compiler.is_exporting


def _traced_cpu(x):
    """Whether ``x`` is a CPU tensor in a graph that Dynamo traces for torch.compile,
    not for torch.export (an exported program keeps ATen ops: decision 110), nor
    under functorch's transforms or forward-mode AD (no vmap or jvp rule for
    ``GRAPH_OPS``): exact GELU, softmax and log_softmax then take the routes of
    decisions 107 and 111 below."""
    return (_dynamo_tracing() and not _is_exporting() and x.device.type == "cpu"
            and not _functorch_active() and _fwd_ad._current_level < 0)


def _expm1_graph(ns, x):
    """Kahan's expm1 (``_special.expm1_kahan``) whose derivative is ``exp(x)`` at every
    order: Kahan's value of ``x`` taken as a constant, plus ``u - u``, ``u = exp(x)``
    and the second ``u`` a constant (0, whose derivative is ``exp(x)``); from ln 2 up,
    ``u - 1`` itself (no cancellation; ``u`` may be inf there).  Reason: an autodiff
    rule.  Autograd of Kahan's formula gave the first derivative but not the second:
    0 where ``exp(x) == 1``, off by about eps / |x| near 0 (elu'' 1.0625 at -1e-6 in
    float32, 0 at -1e-8; exact GELU float64 in a compiled double backward +0.19 at x
    = -1.5 for -0.032; decision 212)."""
    u = torch.exp(x)
    k = expm1_kahan(ns, x.detach())
    return torch.where(x < fm.LN2, k - (u.detach() - u), u - 1.0)


def _elu_graph(x, alpha, scale, input_scale):
    """torch's elu kernel (``scale`` x above 0, ``scale alpha expm1(input_scale x)``
    at and below it) in a torch.compile graph on CPU, with Kahan's expm1.  Reason:
    accuracy.  Inductor's expm1 is ``exp(x) - 1`` (decision 35): the kernel it makes of
    ``F.elu`` was far off near 0 (torch's own compiled ``F.elu`` alike; decision 135).
    The select is torch's: NaN takes the positive branch, value NaN and gradient
    ``scale``, as its elu_backward; the negative branch sees 0 there (and for x > 0:
    exp's overflow, inf times the select's zero cotangent, was a NaN gradient)."""
    neg = _expm1_graph(NS, torch.where(x <= 0, x, 0.0) * input_scale) * (alpha * scale)
    return torch.where(x <= 0, neg, x * scale if scale != 1.0 else x)


def _graph_training(x):
    """Whether ``x``, in such a graph, records a gradient and takes ``GRAPH_OPS``'s
    custom operators (decision 111): a plain tensor's (a subclass's, such as
    DTensor's, would need rules of its own for them: the generic body), on a torch
    that has them (defined by the first such call: ``graph_ops_ready``).  softmax and
    log_softmax check first that ``x`` is not empty: the body returns an empty input
    itself, which an operator may not."""
    return (x.requires_grad and torch.is_grad_enabled() and type(x) is torch.Tensor
            and graph_ops_ready())


def _graph_elementwise(x):
    """Whether an element-wise function of ``x`` that calls this is ``GRAPH_OPS``'s
    ``elementwise`` operator, its eager formulas forward and backward
    (``_torch_autograd._graph_formulas``): a float tensor in a torch.compile graph that
    records a gradient, on CPU (decision 115).  Reason: speed.  Inductor's partitioner
    saved the generic body's selects for the backward as bool tensors, which its CPU
    loops write at about 5 ns an element (torch 2.13, AVX2): sigmoid with backward took 1.29-1.41x
    ``torch.sigmoid``'s compiled, these 0.96-1.13x."""
    return x.dtype in _FLOATS and _traced_cpu(x) and _graph_training(x)


def _in_graph(x):
    """Whether exact GELU of ``x`` (float32 or half) is the CPU tier's formulas in a
    torch.compile graph (:func:`_traced_cpu`): as plain ops where no gradient is
    recorded (decision 107), else as ``GRAPH_OPS``'s ``gelu_erf`` (decision 111).
    Autograd through the rational is slow and 102 ulp off; an autograd.Function
    lost GELU's part of a double backward under ``backend="eager"``, with no error."""
    return _traced_cpu(x) and (not (x.requires_grad and torch.is_grad_enabled())
                               or _graph_training(x))


def _gelu_tier_from(params, dtype, kind):
    # exact GELU: ten passes and ATen's erfc against one loop (the crossing near 2^13
    # in float32, 2^12-2^13 in float16 and bfloat16; at 1e5 float32 the kernel 87 us
    # against 136, with backward 344 against 702).  tanh GELU's training pair (the
    # crossing near 2^14; at 2^16 141 us against 297); its forward kernel lost below 1e5
    if params[0]:
        return 1 << 15 if kind == "train" and dtype == "float32" else None
    return None if dtype == "float64" else 1 << 15


_k.tier_from("gelu", _gelu_tier_from, "32,768 for the exact form in float32 and the half "
             "dtypes, and for the tanh form's training in float32")
# tanh_shrink: the continued fraction's ~17 passes (the crossing near 2^11 forward,
# 2^12 with backward: its pair and backward kernels, kernels.torch_fuse's keys)
for _key in ("tanh_shrink", "tanh_shrink_pair", "tanh_shrink_bwd"):
    _k.tier_from(_key, _tier_from(1 << 14, dtypes=_FLOORED), "16,384; float32, float16, bfloat16")
# (quick_gelu had one from 2^15 until its own Function, decision 100: its framework
# path is now three passes, and its kernels lost to it below 2^18; they keep the
# generic body, one loop, which beats the passes at 1e7 by their new tensors' cost)
# (relu2 had one from 2^15 until its own Function, decision 105: its framework path
# is now two passes forward, three backward, and at 2^16 and 2^18 its kernels took
# 2-4x as long; from 2^18 the tier's timed calls keep or retire them)
# training pairs alone (their forwards are ATen's own, or lost below 1e5): hard_silu
# (below 2^12; at 2^14 77 us against 111; after decision 223's backward, 2^14 0.88-1.06
# of the framework path's time, 2^15 0.77-0.92, float16, bfloat16, float32)
_k.tier_from("hard_silu", _tier_from(1 << 14, ("train",), _FLOORED),
             "16,384 for training; float32, float16, bfloat16")
# (hard_sigmoid had one from 2^15 until decision 222's backward, three passes: its
# training kernels then took 1.08-1.60x the framework path's time at 2^14-2^17 in
# float32, float16 and bfloat16, 0.94-1.11x at 2^18, 0.83-0.98x at 2^19)
# logsumexp and logmeanexp along the last axis (rows of 64, 200 and 1000 entries,
# 2^11-2^16 elements).  logsumexp's framework path (_lse; ten ops up to 2^14
# elements, the gathered rest above; measured before decision 214, whose split of
# every slice in float64 up to 2^14 and of the slices near 0 above was not measured
# against these) against the row kernel's call (26-68 us):
# forward 0.62-0.85 of its time at 2^12-2^13 in float32, 0.19-0.97 above, 0.76-1.00
# at 2^11 (float16 and bfloat16: 0.47-0.82 from 2^11); with backward it lost in
# float32 up to 2^14 (0.93-1.52) and won from 2^15 (0.52-0.56; 0.45-0.75 up to 2^18),
# in the half dtypes from 2^12 (0.72-0.85, 0.47 at 2^15).  logmeanexp's framework
# path (the generic body) 0.15-0.31 of its time forward from 2^12
def _logsumexp_tier_from(params, dtype, kind):
    if dtype not in _FLOORED:
        return None
    return {"forward": 1 << 12, "train": 1 << 16 if dtype == "float32" else 1 << 14}.get(kind)


_k.tier_from("logsumexp", _logsumexp_tier_from,
             "4,096 (training: 65,536 in float32, 16,384 in float16 and bfloat16)")
_k.tier_from("logmeanexp", _tier_from(1 << 12, ("forward",), _FLOORED),
             "4,096; float32, float16, bfloat16")


def _own_geglu(params, dtype):
    # exact float32 and half: gelu's rational one dtype wider times b, rounded once
    # (1e7 float32 forward 0.84-0.98x F.gelu(a) * b, from 1.74x through the generic
    # body's erfc; decision 91).  Its backward stays the traced derivative (float32
    # erfc): both halves' gradients from the rational took 30-36 ms at 5e6 pairs
    # against 20-22 (writing two halves is two loops, each the rational's work)
    if params[1] or dtype == "float64":
        return None
    return _k.Own(_geglu_erf_wide)


_k.own("geglu", _own_geglu)
# geglu (x viewed as (outer, 2, m); the floor counts both halves): the exact form's
# kernels (the rational forward, decision 91) against the framework path's erfc,
# 0.54-0.86 of its time forward from 2^12 in float32 (0.25-0.74 in float16 and
# bfloat16), 0.41-0.92 with backward (0.41-0.93; halves of 512 and 4096 entries); the
# tanh form's training pair 0.55-0.83 from 2^15 (0.49-0.84), even at 2^13-2^14, its
# forward even or slower below 2^17 in float32.  glu's and swiglu's kernels lost at
# every size below 2^17 in float32, both ways (glu's forward is ATen's own)
def _geglu_tier_from(params, dtype, kind):
    if dtype not in _FLOORED:
        return None
    exact = not params[1]  # (params: the axis, approximate)
    return {"forward": 1 << 13 if exact else None,
            "train": 1 << 14 if exact else 1 << 15}.get(kind)


_k.tier_from("geglu", _geglu_tier_from, "8,192 for the exact form (16,384 for training), "
             "32,768 for the tanh form's training; float32, float16, bfloat16")


def _own_softmax(params, dtype):
    # torch's softmax, its output checked by the slices' first entries, beat the
    # compiled row on CPU (1.04-1.06x F.softmax at 1e7 float32 against 1.11x; with
    # backward 1.00x against 1.04-1.06x): no unmasked row kernel where the eager
    # path is torch's alone (no initial; rows of at most kernels.long_row).  Half
    # tensors too, whose eager path is torch's half kernel: bfloat16 (10000, 1000)
    # 1.08x F.softmax, with backward 1.03x, against the kernel's 1.40x and 1.11x;
    # (256, 2048) 1.35x and 1.14x against 2.63x and 1.49x
    return _k.Own(native=True) if params[2] is None else None


_k.own("softmax", _own_softmax)


#: torch's unsigned dtypes wider than 8 bits, with few operators (no comparison on
#: the CPU: relu, relu6 and hard_tanh of them failed in ATen's words)
_SHELL_UNSIGNED = tuple(getattr(torch, n) for n in ("uint16", "uint32", "uint64")
                        if hasattr(torch, n))


#: mish(x) is x from here on in float64 and below (1 - tanh(softplus(x)) is 2 e^-2x,
#: 1e-35; so are its derivatives, to 1e-33): the select's, not torch's mish
_MISH_TOP = 40.0

#: the betas for which torch's softplus is taken: powers of 2, where beta x is exact
_POW2 = fm.POW2
#: the largest beta of ``_softplus_carried`` (the generic body's own bound for a
#: product it takes unscaled)
_CARRIED_BETA = fm.SCALED_BETA


def _ragged_reduction(x, axis):
    """A nested tensor reduced along its ragged dimension (or every dimension) is
    refused, as the layout's other failures are (decision 108).

    Reason: a missing primitive.  The generic body counts a slice's entries from
    ``x.shape``, where a jagged tensor's ragged size is a symbol (``j1``), not each
    component's length: standardize gave numbers in the hundreds, with no error.
    torch has no masked select on nested tensors to count them otherwise; the
    other reductions fail in ATen there already (decision 146)."""
    ragged = getattr(x, "_ragged_idx", None)
    if axis is None or ragged is None or any(a % x.dim() == ragged for a in axis):
        raise NotImplementedError("a slice along the ragged dimension has as many entries "
                                  "as its component")  # on_error names the layout


def _prelu_transformed(weight):
    """Whether a transform is on that torch's prelu kernel serves wrongly, so that
    prelu takes the generic body: forward-mode AD (a dual level, or torch.func's
    ``jvp``), where torch's derivative at x = 0 is 1 and the contract's the weight,
    the smaller one-sided one (reverse mode gives the weight); or a weight that
    ``torch.func.vmap`` batches (an ensemble's stacked parameters), where torch's
    batching rule resizes its output and prints torch's deprecation ``UserWarning``
    ("An output with one or more elements was resized").  Other transforms keep
    torch's kernel (``vmap`` over x, ``grad``, per-sample gradients: 1.7-5x faster
    than the body there).  Reason: the contract's derivative and no framework warning
    (decision 228)."""
    if _fwd_ad._current_level >= 0:
        return True
    if not _functorch_active():
        return False
    if _dynamo_tracing():  # (Dynamo cannot call into functorch's wrappers: the body)
        return True
    t = weight
    while _functorch_wrapped(t):
        if _batched(t):
            return True
        t = _unwrapped(t)
    from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters

    jvp = torch._C._functorch.TransformType.Jvp
    return any(i.key() == jvp for i in retrieve_all_functorch_interpreters())


_functorch_wrapped = torch._C._functorch.is_functorch_wrapped_tensor
_batched = torch._C._functorch.is_batchedtensor
_unwrapped = torch._C._functorch.get_unwrapped


def _check_array(self, fname, pname, v, x, first="x"):
    """``Backend.check_array``: an array argument (a mask, a weight, a slope) on
    another device than ``x`` is the contract's ``ValueError`` (a 0-d CPU tensor
    goes with any device, as in torch's own operators); one of another layout than
    ``x``'s (a sparse mask of a dense ``x``) is its ``TypeError``.

    Reason: a missing primitive.  torch's operators refuse the mix in their own
    words (``RuntimeError: Expected all tensors to be on the same device``, or
    ``Tensor on device cpu is not on the expected device meta``), naming neither
    the function nor the argument: a mask left on the CPU is the common mistake on
    a GPU (decision 146); a sparse mask ended in ``NotImplementedError`` from
    ``aten::where``."""
    if v.layout is not x.layout:  # (a jagged mask of a jagged x is right: torch's where)
        raise TypeError(f"multiact.{fname}: argument {pname!r} has layout {v.layout}; "
                        f"expected the layout of {first!r} ({x.layout})")
    if v.device != x.device and not (v.ndim == 0 and v.device.type == "cpu"):
        raise ValueError(f"multiact.{fname}: argument {pname!r} is on device {v.device} but "
                         f"{first!r} is on {x.device}; expected one device ({pname}.to("
                         f"{first}.device))")


def _refuse_layout(self, exc, x, fname, argname="x"):
    """``Backend.on_error``: a failed call on a tensor of another layout than
    strided, or of one of the unsigned dtypes that torch has few operators for
    (``_SHELL_UNSIGNED``), raises the contract's ``TypeError``.

    Reason: a missing primitive.  torch's other layouts (sparse COO, CSR, CSC, BSR,
    BSC; mkldnn) and its nested tensors (jagged, or strided: ``is_nested``) are
    tensors too, and torch has kernels for some ops on some of them: relu, tanh and
    relu2 of a sparse tensor are right (0 maps to 0), the element-wise functions of
    a jagged tensor too; most other calls reach an op with none and fail in ATen's
    words (a NotImplementedError naming ``aten::maximum``).  Only a failed call
    comes here, so the check costs the calls that succeed nothing (decision 108).
    multiact's own errors are about the call (``multiact.glu: ... even size``) and
    stand: they were reported as an operator PyTorch lacks (decision 232)."""
    if not isinstance(x, torch.Tensor) or str(exc).startswith("multiact."):
        return
    layout = x.layout
    if x.is_nested:
        what = f"is a nested tensor (layout {layout})"
    elif layout is not torch.strided:
        what = f"has layout {layout}"
    elif x.dtype in _SHELL_UNSIGNED and isinstance(exc, NotImplementedError):
        said = (str(exc).strip().splitlines() or [""])[0]
        raise TypeError(
            f"multiact.{fname}: argument {argname!r} has dtype {x.dtype}, on which "
            f"PyTorch has too few operators to compute {fname} ({type(exc).__name__}: "
            f"{said[:200]}); expected a tensor of another dtype (torch.uint8, a signed "
            f"integer or a floating dtype)") from exc
    else:
        return
    said = (str(exc).strip().splitlines() or [""])[0].split(". ")[0].rstrip(".")
    said = said if len(said) <= 200 else said[:197] + "..."
    raise TypeError(
        f"multiact.{fname}: argument {argname!r} {what}, on which multiact's {fname} "
        f"needs an operator that PyTorch lacks ({type(exc).__name__}: {said}); expected "
        f"a dense tensor (layout torch.strided)") from exc


class TorchBackend(Backend):
    """PyTorch: the three routes of the module docstring."""

    def owns(self, v):
        # Reason: a missing case.  Backend.owns walks type(v).__mro__, which Dynamo
        # cannot iterate for nn.Parameter: an nn.Parameter weight, alpha or b under
        # torch.compile(fullgraph=True) or torch.export(strict=True) raised
        # Unsupported ("missing tp_iter").  Every tensor subclass is torch's
        return isinstance(v, torch.Tensor) or super().owns(v)

    def generic(self, row, body, x, *params):
        y = self._generic_route(row, body, x, *params)
        return _recorded_in_x(y, x) if row.linear else y

    def _generic_route(self, row, body, x, *params):
        # Reason: speed where a kernel runs.  An element-wise function with no special
        # case, on an eager float tensor with Python-number parameters: one fused
        # kernel forward (and backward when recording) instead of the generic body's
        # chain of ops, where one runs; the generic body elsewhere.
        if row.fused and row.elementwise and x.dtype in _FLOATS and eager(x) \
                and all(type(p) in _k.CONSTANTS for p in params):
            def path(t):
                return _framework_path(body, t, params)

            if recording(x):
                return _k.torch_train(row.name, x, params, path, fused_elementwise)
            return _k.torch_forward(row.name, x, params, path)
        if row.halves and row.fused and x.dtype in _FLOATS and eager(x) \
                and all(type(p) in _k.CONSTANTS for p in params):
            return _gated(row, body, x, params)
        if row.name in _GRAPH_GATED and x.dtype in _FLOATS and _traced_cpu(x) and x.ndim \
                and -x.ndim <= params[0] < x.ndim and x.shape[params[0]] % 2 == 0 \
                and x.numel() and _graph_training(x):
            # (sizes tested after Dynamo's check: under jit.trace a size is a traced
            # value, whose truth torch.jit warns of; CI caught it, as in decision 111)
            # Reason: speed.  One operator of the body and of both halves' traced
            # derivatives, written by one loop (decision 115): autograd of the body
            # assembled the halves' gradients apart (swiglu 1.4-2.4x PyTorch's
            # compiled form with backward, glu 1.3-1.5x)
            # (in the layout of the eager call and of F.glu, decision 233)
            return _gated_layout(GRAPH_OPS["gated"](x, row.name, params[0] % x.ndim), x,
                                 params[0])
        return body(_NS_GRAPH if _traced_cpu(x) else NS, x, *params)

    on_error = _refuse_layout
    check_array = _check_array

    # -- native kernels: right values and derivatives on every route -----------------------

    @special("speed: a float tensor is the body's answer itself, returned without the "
             "generic route's checks (1.0 us a call against torch.nn.Identity's 0.85)")
    def identity(self, x):
        return x if x.dtype in _FLOATS else super().identity(x)

    @special("speed: torch.relu, whose backward gives relu'(0) = 0, at the parameters' "
             "defaults")
    def relu(self, x, *params):
        if params == _RELU_DEFAULTS:
            try:
                return _relu(x)
            except RuntimeError:  # bool and complex dtypes: the generic body promotes or raises
                pass
        return super().relu(x, *params)

    @special("speed: relu6 is hardtanh(0, 6), whose backward is 0 at both kinks; keeps "
             "integer dtypes and NaN")
    def relu6(self, x):
        if x.dtype in _NOT_NATIVE:
            return super().relu6(x)
        return _relu6(x)

    @special("speed: hardtanh's backward is 0 at +-1 (not uint8: torch's refuses its -1)")
    def hard_tanh(self, x):
        if x.dtype in _NOT_NATIVE or x.dtype == torch.uint8:
            return super().hard_tanh(x)
        return _hardtanh(x, -1.0, 1.0)

    @special("speed: backward `x > 0 ? g : g * slope` (slope at 0)")
    def leaky_relu(self, x, negative_slope=0.01):
        if x.dtype in _FLOATS and type(negative_slope) is float and negative_slope:
            return _leaky_relu(x, negative_slope)  # (a 0 slope: torch's 0 * -inf, NaN)
        return super().leaky_relu(x, negative_slope)

    @special("speed: torch's leaky_relu for a Python-number weight, torch's prelu for a 1-d "
             "weight tensor (16 elements: 4.5 us with the weight's checks, F.prelu 1.5, the "
             "generic body's four ops 21.6), one "
             "native kernel each: x > 0 ? x : w x, the generic body's values to the bit (-0, "
             "inf and NaN included; in the half dtypes w x is exact in float32, rounded once "
             "either way) and its backward (the weight at 0; the weight's gradient x g where "
             "x <= 0, summed)")
    def prelu(self, x, weight):
        if x.dtype in _FLOATS and type(weight) in (float, int) and weight and _fits(weight, x):
            return _leaky_relu(x, float(weight))
        if x.dtype in _FLOATS and isinstance(weight, torch.Tensor) and weight.ndim == 1 \
                and (x.ndim >= 2 or weight.shape[0] == 1) \
                and (x.dtype in _WIDE and weight.dtype in _FLOATS or weight.dtype == x.dtype
                     and not (weight.requires_grad and torch.is_grad_enabled())) \
                and not _k.autocast_on(x.device.type) and not _prelu_transformed(weight):
            # (the weight was checked: of size 1 or x.shape[1]; torch's channel axis is 1,
            # and a 1-d x has one channel, so a 1-d x with a weight per entry keeps the
            # body; cast to x's dtype as the body casts it, differentiably.  A half x's
            # body works in float32: another weight dtype is not rounded to x's there,
            # and the weight's gradient is summed in float32, where torch's rounds each
            # product and partial sum, 0.49 relative off in bfloat16, 0.027 in float16:
            # a half x takes torch's kernel only with a half weight it does not train.
            # Not under autocast: prelu is on CPU autocast's lower-precision list, a
            # float32 x would come back bfloat16, decision 22.  Not where
            # _prelu_transformed says, decision 228)
            return _prelu(x, weight if weight.dtype == x.dtype else weight.to(x.dtype))
        return super().prelu(x, weight)

    @special("speed: torch's threshold for Python-number parameters, one native kernel: x <= t "
             "? v : x, the generic body's values and backward (0 at and below t; NaN keeps "
             "x and its gradient)")
    def threshold(self, x, threshold, value):
        if x.dtype in _WIDE and type(threshold) in (float, int) \
                and not (_dynamo_tracing() and not _is_exporting()) \
                and type(value) in (float, int) and _fits(threshold, x) and _fits(value, x):
            # (not in a graph Dynamo traces for torch.compile: torch's threshold takes
            # its numbers as scalar operands, which it served stale: decision 229; an
            # exported program keeps them as constants)
            return _threshold(x, threshold, value)
        return super().threshold(x, threshold, value)

    @special("speed: torch's glu in CPU inference, one native kernel (its gate, 1 / (1 + "
             "exp(-b)), is 0 below b = -88.7, where sigmoid(b) is subnormal: decision 89); "
             "in training it is the forward (the tier's pair, and the framework path in "
             "float32 and float64), the backward not torch's (s (1 - s) loses every digit "
             "for b > 17) but the tier's compiled one or _glu_rows_bwd's ATen ops")
    def glu(self, x, axis=-1):
        # (the fused mode's route on CPU is Inductor's, or under TRITON_INTERPRET=1
        # the Triton kernel's, which the interpreter is there to run)
        if not recording(x) and x.dtype in _FLOATS and x.is_cpu and eager(x) \
                and x.shape[axis] % 2 == 0 \
                and (_KSTATE["mode"] in _NOT_FUSED or _k._route(x) != "triton"):
            return _glu(x, axis)
        return super().glu(x, axis)

    @special("speed: elu uses expm1 forward and alpha * exp(x) backward; in a "
             "torch.compile graph on CPU written out with Kahan's expm1 (_elu_graph)")
    def elu(self, x, alpha=1.0):
        if x.dtype in _FLOATS and type(alpha) is float:
            if _traced_cpu(x):
                return _elu_graph(x, alpha, 1.0, 1.0)
            # the default alpha passed as torch's own default: converting a Python
            # float to a Scalar costs a quarter of a small call
            return _elu(x) if alpha == 1.0 else _elu(x, alpha)
        return super().elu(x, alpha)

    @special("speed: celu is torch's elu kernel with input scale 1/alpha, as torch's celu "
             "calls it; by elu itself, whose derivative takes the scale as given.  torch's "
             "celu differentiates with 1 / float32(alpha) (derivatives.yaml's "
             "alpha.toFloat()): a float64 gradient 1.3e-6 relative off at alpha 0.3, x = "
             "-10, 1 - 5e-8 at x = 0, alpha 1e-3, and a RuntimeError beyond float32's range.  "
             "Above alpha = 2 the kernel's x / alpha can underflow: x itself where |x| < "
             "alpha 2^-60 (decision 132)")
    def celu(self, x, alpha=1.0):
        if x.dtype in _FLOATS and type(alpha) is float:
            if _traced_cpu(x):
                y = _elu_graph(x, alpha, 1.0, 1.0 / alpha)
            else:  # (alpha 1 by elu's defaults: a float Scalar costs a small call more)
                y = _elu(x) if alpha == 1.0 else _elu(x, alpha, 1.0, 1.0 / alpha)
            # celu(-1e-10, 1e30) in float32 was 100 ulp off, celu(-1e-20, 1e30) -0.
            # Below |x / alpha| = 2^-60, celu(x) = x (1 + x / (2 alpha)) is x to 2^-61,
            # and x / alpha is normal in float32 and float64 above 2^-126 alpha
            return y if alpha <= 2.0 else torch.where(x.abs() < alpha * 2.0 ** -60, x, y)
        return super().celu(x, alpha)

    @special("speed: the elu kernel with SELU's constants (_elu_graph in a torch.compile "
             "graph on CPU)")
    def selu(self, x):
        if x.dtype in _FLOATS:
            if _traced_cpu(x):
                return _elu_graph(x, fm.SELU_ALPHA, fm.SELU_SCALE, 1.0)
            return _selu(x)
        return super().selu(x)

    @special("speed: softplus returns x above `threshold` (in units of beta x); 20 is exact "
             "to half an ulp for float32 and below, float64 needs 40; its float32 result "
             "under CUDA autocast rounded to x's dtype.  A beta that is a power of 2 only "
             "(beta x exact: torch's rounded product sent |beta x| half-ulps into exp, 457 "
             "ulp in float64 at beta = 1.5); other betas: a float32 or half CPU tensor by "
             "torch's softplus in float64, rounded once, float64 by torch's softplus with the "
             "rounding's effect added from one exact multiply-add (decision 208; a beta "
             "below 1/2 or above 1e30: the generic body, which carries it, decision "
             "127).  Recording a gradient: torch's backward, its double backward through "
             "the generic body (torch's is 0 beyond its threshold); under torch.func and "
             "forward-mode AD the generic body (decision 129); in a torch.compile graph "
             "torch's softplus and its double backward (decision 212)")
    def softplus(self, x, beta=1.0):
        if x.dtype in _FLOATS and type(beta) is float:
            # float32 and the halves on the CPU with a beta that is not a power of 2:
            # torch's softplus in float64, rounded once.  Reason: speed and accuracy.
            # beta x in float64 is off by |beta x| 2^-53, far below an ulp of float32
            # (decision 127); three passes where the generic body's exact product took
            # twenty (a GPU's kernel is the generic body's, in one pass)
            native = beta == 1.0 or beta in _POW2
            wide = not native and x.dtype is not torch.float64 and not x.is_cuda \
                and _KSTATE["mode"] in _NOT_FUSED
            if native or wide:
                if x.requires_grad and recording(x):
                    # (under autocast: torch's ops, which autocast casts, and their
                    # autograd; double backward as torch's: decision 129)
                    if eager(x) and not _k.autocast_on(x.device.type):
                        if wide:  # (three passes: the CPU tier's one-pass kernel once hot)
                            return _k.torch_train(
                                "softplus", x, (beta,),
                                lambda t: _softplus_native_train(t, beta, True),
                                fused_elementwise)
                        return _softplus_native_train(x, beta, False)
                elif wide and eager(x):
                    return _k.torch_forward("softplus", x, (beta,),
                                            lambda t: _softplus_native(t, beta, True))
                if (_functorch_active() or _fwd_ad._current_level >= 0) \
                        and not _dynamo_tracing():
                    return super().softplus(x, beta)
                return _autocast_kept(_softplus_native(x, beta, wide), x)
            if x.dtype in _WIDE and eager(x) and recording(x):
                # Reason: speed.  One run of the generic body gives the value and the
                # derivative's factor, saved for the backward (``_SoftplusBeta``), where
                # autograd of the body recorded twenty ops
                return _k.torch_train("softplus", x, (beta,),
                                      lambda t: _softplus_beta_train(t, beta),
                                      fused_elementwise)
            if x.dtype is torch.float64 and 0.5 <= beta <= _CARRIED_BETA and not x.is_cuda \
                    and eager(x) and _fma_exact(x.device, x.dtype):
                # float64: torch's softplus and its product's error carried.  Reason:
                # speed; six passes for the generic body's twenty (decision 208)
                return _k.torch_forward("softplus", x, (beta,),
                                        lambda t: _softplus_carried(t, beta))
        return super().softplus(x, beta)

    @special("speed: logsigmoid is min(x, 0) - log1p(exp(-|x|)); where torch.func takes a "
             "derivative of order two or more, the generic body: there torch's kernel keeps "
             "a buffer that vmap resizes, with a warning (vmap(hessian)), and its second "
             "derivative is 0 where it is -2.9e-20 (x = 45; decision 189).  Eager training: "
             "torch's kernels, with a double backward through the generic body (torch's, "
             "-s (1 - s), was 17% off at x = 15 in float32; decision 198); under forward-mode "
             "AD the generic body (torch's forward derivative of its backward is that)")
    def log_sigmoid(self, x):
        if x.dtype in _FLOATS and not (_functorch_active() and not _dynamo_tracing()
                                       and _functorch_higher_order()) \
                and not (_fwd_ad._current_level >= 0 and not _dynamo_tracing()):
            if x.requires_grad and recording(x) and eager(x) \
                    and not _k.autocast_on(x.device.type):
                return _log_sigmoid_train(x)
            return _log_sigmoid(x)
        return super().log_sigmoid(x)

    @special("speed: torch.tanh without the generic dtype rules")
    def tanh(self, x):
        if x.dtype in _FLOATS:
            return _tanh(x)
        return super().tanh(x)

    @special("speed: torch's mish on x raised to -1e4 (mish(-inf) is NaN in torch, -0 "
             "here; below the floor mish' underflows anyway): by clamp, and mish in place, in "
             "inference; in eager training torch's mish backward at the clamped x (NaN kept: "
             "mish'(NaN) is NaN) and +inf lowered to the largest finite value (mish'(+inf) is "
             "1), compiled on the CPU tier; elsewhere by where (clamp's derivative at NaN is 0)")
    def mish(self, x):
        if x.dtype in _FLOATS:
            if eager(x):
                return _elementwise(x, "mish", (), _mish_fwd, _Mish)
            # fm.gated's selects: mish'(+inf) is 1 (torch's mish there: inf * 0), and
            # from 40 on (_MISH_TOP), where torch's double backward takes exp(x), which
            # overflows above 88.7 in float32 (NaN under torch.func's grad of grad)
            _, xs = fm.gated_input(NS, x)
            top = x > _MISH_TOP
            if x.dtype in _HALF:
                # torch's half mish derivative is computed in half: under torch.func and
                # forward-mode AD mish'(-1.19) was 0 in float16 (4,329 values more than
                # an ulp off, up to 1,150); through float32, rounded once (decision 185)
                xs = xs.float()
            return torch.where(top, x, _mish(torch.where(top, 1.0, xs)).to(x.dtype))
        return super().mish(x)

    @special("speed: x sigmoid(1.702 x) in three ATen passes (the generic body's ten; its "
             "values to the bit), half tensors through float32, and torch's silu backward "
             "at 1.702 x (quick_gelu'(x) = silu'(1.702 x), one pass)" + _GRAPH_NOTE)
    def quick_gelu(self, x):
        if x.dtype not in _FLOATS or not eager(x):
            if _graph_elementwise(x):
                return GRAPH_OPS["elementwise"](x, "quick_gelu")
            return super().quick_gelu(x)
        return _elementwise(x, "quick_gelu", (), _quick_gelu_eager, _QuickGelu)

    # -- element-wise with an accurate backward --------------------------------------------

    @special("speed: torch.sigmoid forward; an accurate backward q (1 - q), q = "
             "sigmoid(-|x|), saved (or, on a kernel route, recomputed from x) (torch's y (1 - y) "
             "loses every digit for x > 17 in float64)" + _GRAPH_NOTE)
    def sigmoid(self, x):
        # Reason: speed on small tensors.  Inference on a CPU tensor is torch.sigmoid
        # whatever the kernels' mode but "fused": the routes' checks cost as much
        # as the op on 16 elements, so the cheapest ones decide first.
        if not x.requires_grad and _KSTATE["mode"] in _NOT_FUSED and x.dtype in _FLOATS \
                and not x.is_cuda and eager(x):
            return _sigmoid(x)
        if x.dtype not in _FLOATS or not eager(x):
            if _graph_elementwise(x):
                return GRAPH_OPS["elementwise"](x, "sigmoid")
            return super().sigmoid(x)
        return _elementwise(x, "sigmoid", (), _sigmoid, _sigmoid_train)

    @special("speed: torch's silu and its backward; silu(-inf) = 0 (NaN in torch)" + _GRAPH_NOTE)
    def silu(self, x):
        if x.dtype not in _FLOATS or not eager(x):
            if _graph_elementwise(x):
                return GRAPH_OPS["elementwise"](x, "silu")
            return super().silu(x)
        return _elementwise(x, "silu", (), _silu_fwd, _SilU)

    @special(f"{_REASON_BWD} (torch's backward uses a float32 1/6)")
    def hard_sigmoid(self, x):
        if x.dtype not in _FLOATS or not eager(x):
            return super().hard_sigmoid(x)
        return _elementwise(x, "hard_sigmoid", (), _hard_sigmoid_fwd, _HardSigmoid)

    @special(f"{_REASON_BWD} (the contract's kink rule); hard_silu(-inf) = 0 and no "
             "overflow near the max" + _GRAPH_NOTE)
    def hard_silu(self, x):
        if x.dtype not in _FLOATS or not eager(x):
            if _graph_elementwise(x):
                return GRAPH_OPS["elementwise"](x, "hard_silu")
            return super().hard_silu(x)
        return _elementwise(x, "hard_silu", (), _hard_silu_fwd, _HardSilu)

    @special(f"{_REASON_BWD}; soft_sign(inf) = 1{_GRAPH_NOTE}")
    def soft_sign(self, x):
        if x.dtype not in _FLOATS or not eager(x):
            if _graph_elementwise(x):
                return GRAPH_OPS["elementwise"](x, "soft_sign")
            return super().soft_sign(x)
        return _elementwise(x, "soft_sign", (), _half_via_float(_soft_sign_fwd), _SoftSign)

    @special("speed: torch.exp, one native kernel (the generic body's one op; a compiled "
             "loop of it ran at 1.23x), and its backward from the saved output; its float32 "
             "result under CUDA autocast rounded to x's dtype")
    def exponential(self, x):
        if x.dtype in _FLOATS and eager(x):
            return _autocast_kept(torch.exp(x), x)
        return super().exponential(x)

    @special("speed: torch's hardshrink in inference (the generic body's values to the bit: "
             "+0 in the band, NaN kept); in training its own Function, torch's hardshrink "
             "forward and a backward of relu's threshold_backward on |x|, whose gradient at "
             "NaN is the incoming one, as the generic body's (torch's hardshrink backward "
             "gives 0 there; decision 220)")
    def hard_shrink(self, x, lambd=0.5):
        if x.dtype in _WIDE and eager(x) and type(lambd) in (float, int):
            if not recording(x):
                return _hardshrink(x, lambd)
            # Reason: speed.  Autograd of the body's selects took 3.9x F.hardshrink's
            # pair at 1e5 (decision 220); the tier's kernel pair once hot
            return _recorded_in_x(_elementwise(x, "hard_shrink", (lambd,),
                                               lambda t: _hardshrink(t, lambd),
                                               lambda t: _shrink_train(t, lambd, False)), x)
        return super().hard_shrink(x, lambd)

    @special("speed: x - clamp(x, -lambd, lambd), two native ops, instead of the generic "
             "body's selects (torch.where costs 10x an add on CPU); the same values (+0 in the "
             "band) and gradients (0 in the band, at its edges too); in eager training its "
             "own Function, whose backward is relu's threshold_backward on |x| (clamp's took "
             "four ops; decision 220); in a torch.compile graph on CPU x - clamp (its "
             "autograd saves one mask, the body's two)")
    def soft_shrink(self, x, lambd=0.5):
        def fwd(t):
            return _soft_shrink(t, lambd)

        if x.dtype not in _WIDE or not eager(x):
            if x.dtype in _WIDE and type(lambd) in (float, int) and _traced_cpu(x):
                # Reason: speed.  Its autograd saves one mask for the backward, the
                # generic body's two (Inductor's CPU loops write a bool tensor at
                # about 5 ns an element: with backward 1.90-2.06x PyTorch's compiled);
                # lambd as a 0-d tensor (clamp's scalar bounds were served stale with
                # a new lambd: decision 229)
                return _soft_shrink(x, _scalar_operand(NS, lambd, x))
            return super().soft_shrink(x, lambd)

        return _recorded_in_x(_elementwise(x, "soft_shrink", (lambd,), fwd,
                                           lambda t: _shrink_train(t, lambd, True)), x)

    @special("speed: relu(x)^2 in two ATen passes (the generic body's values to the bit); "
             "in training its own Function, saving relu(x) (as torch's relu(x) ** 2 does), "
             "backward 2 relu(x) g in three passes (half tensors in float32)")
    def relu2(self, x):
        if x.dtype not in _FLOATS or not eager(x):
            return super().relu2(x)
        return _elementwise(x, "relu2", (), _relu2_fwd, _relu2_train)

    @special("speed: a backward tanh(x)^2 (nothing cancels) from the saved tanh(x), "
             "instead of autograd through the continued fraction near 0 (about 40 saved ops); "
             "the forward is the generic body's formula in place (five new tensors, not "
             "twenty; the same values to the bit)" + _GRAPH_NOTE)
    def tanh_shrink(self, x):
        if x.dtype not in _FLOATS or not eager(x):
            if _graph_elementwise(x):
                return GRAPH_OPS["elementwise"](x, "tanh_shrink")
            return super().tanh_shrink(x)
        if not recording(x):  # a kernel where one is ready, else the body in place
            return _k.torch_forward("tanh_shrink", x, (), _tanh_shrink_fwd)
        if x.is_cuda or _k._route(x) == "triton":  # Triton's pair, one launch each way
            return _k.torch_train("tanh_shrink", x, (), _tanh_shrink_train, fused_elementwise)
        return _tanh_shrink_train(x)  # (its pair and backward kernels: kernels.torch_fuse)

    @special("accuracy and speed: tanh form as x sigmoid(2u) (torch's 1 + tanh(u) cancels in "
             "the left tail); exact form through erfc of a corrected argument (float32 in "
             "float32, float64 in float64); accurate backwards; in a torch.compile graph "
             "on CPU the exact form is the CPU kernels' formulas (speed; with a gradient, "
             "as custom operators with their own autograd, decomposed for Inductor)")
    def gelu(self, x, approximate=True):
        if not approximate and x.dtype in _GELU_GRAPH and _in_graph(x):
            # Reason: speed.  The CPU tier's kernel formula: Inductor fuses it in
            # 1.5 ms on 1M float32 (decision 109; the rational wholly in float64 1.9,
            # the body 4.3, F.gelu compiled 0.9); with backward 3.9 ms (the body's
            # autograd 10.3, F.gelu 2.7; decision 111)
            if x.requires_grad and torch.is_grad_enabled():
                return GRAPH_OPS["gelu_erf"](x)
            return _gelu_erf_wide(x)
        if x.dtype not in _FLOATS or not eager(x):
            return super().gelu(x, approximate)
        if not approximate and x.dtype in _HALF:
            # Reason: speed.  A float32 computation, rounded once, is exact GELU of a
            # half tensor to the half bound: the half tensors' own kernels where they
            # run (a Triton kernel loads and stores the half dtype and computes in
            # float32), else their own Function (decision 82).  (CUDA took the float32
            # path, two conversions more each way: 36% of the GPU time of a bfloat16
            # fwd+bwd on an H200.)
            return _elementwise(x, "gelu", (False,), _GeluErfHalf.fwd, _GeluErfHalf)
        if approximate:
            return _elementwise(x, "gelu", (True,), _gelu_tanh_eager, _GeluTanh)
        if x.dtype == torch.float64 and not _fma_exact(x.device, x.dtype):
            return super().gelu(x, False)  # (the generic body, or its kernel)
        fn = _GeluErf64 if x.dtype == torch.float64 else _GeluErf
        return _elementwise(x, "gelu", (False,), fn.fwd, fn)

    # -- softmax family --------------------------------------------------------------------

    @special("speed: on CPU torch's softmax (even where a row kernel runs, on rows of at "
             "most 128; a half tensor's own half kernel, which sums in float32, on rows of "
             "at most 4096 float16, 32768 bfloat16), checked for NaN slices (+inf entries "
             "and all -inf slices are NaN in torch: the generic body there), its longer "
             "slices divided "
             "by their sum (torch's in-order float32 sum is off there); with a mask, of "
             "the input with the entries left out at -inf; elsewhere one row "
             "kernel where one runs; in a torch.compile graph that records a gradient, on "
             "CPU, a custom operator: the body, and torch's backward from the output")
    def softmax(self, x, axis=(-1,), where=None, initial=None):
        if where is None and initial is None and len(axis) == 1 and x.dtype in _FLOATS \
                and _traced_cpu(x) and x.numel() and _graph_training(x):
            # Reason: speed.  torch's backward from the output, fused by Inductor
            # (decision 111): autograd of the body took two more reductions
            # (of x made contiguous: its output's layout is then the eager call's
            # and F.softmax's, contiguous; decision 233)
            return GRAPH_OPS["softmax"](x.contiguous(), axis[0])[0]

        return _rows_kernel("softmax", x, axis, ((1,), None, initial), where,
                            lambda: _softmax_path(x, axis, where, initial))

    @special("speed: one row kernel where one runs; on CPU torch's log_softmax (slices of "
             "at most 128 along the last axis, 32 across, where its in-order float32 sum is "
             "within the bound; 32 and 256 times that for float16 and bfloat16, computed in "
             "float32), with the slices whose largest entry is above -0.5 (where "
             "torch's log(1 + R) is off by more than the bound) computed again by the split "
             "sum, the NaN ones by the generic body, and longer slices by the split sum; "
             "with a mask, of the input with the entries left out at -inf; "
             "torch's backward; in a torch.compile graph that records a gradient, on CPU, "
             "a custom operator: the body, and torch's backward from the output")
    def log_softmax(self, x, axis=(-1,), where=None, initial=None):
        if where is None and initial is None and len(axis) == 1 and x.dtype in _FLOATS \
                and _traced_cpu(x) and x.numel() and _graph_training(x):
            # Reason: speed.  torch's backward from the output, fused by Inductor
            # (decision 111)
            return GRAPH_OPS["log_softmax"](x.contiguous(), axis[0])  # (softmax's)

        def path():
            # (with a mask: of x with the entries left out at -inf, whose generic
            # body's values are the masked ones', NaN slices and all; decision 173)
            xs = _masked_out(x, axis, where, initial)
            if xs is None:  # (contiguous, as torch's and the eager paths' output is: a
                # graph Dynamo traces takes the body, which kept x's layout; decision 233)
                return super(TorchBackend, self).log_softmax(
                    x.contiguous(), axis,
                    where.contiguous() if isinstance(where, torch.Tensor) else where,
                    initial)
            xw = xs.float() if x.dtype in _HALF else xs
            y = _apply(_LogSoftmax, xw, axis[0], x.dtype) if recording(xw) else \
                _log_softmax_eager(xw, axis[0], x.dtype)
            return y.to(x.dtype) if xw is not xs else y

        return _rows_kernel("log_softmax", x, axis, ((1,), None, initial), where, path)

    @special("speed; torch.logsumexp drops terms below eps (logsumexp([0, -40]) == 0): the "
             "split sum, with a backward exp((x - m) - r) from the slice's max m and the "
             "sum's log r (torch's exp(x - lse) loses |lse| ulp); in a torch.compile graph "
             "that records a gradient, on CPU, a custom operator of the body and softmax(x)")
    def logsumexp(self, a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
        if b is None and not return_sign and where is None and axis is not None and \
                len(axis) == 1 and a.dtype in _FLOATS and _traced_cpu(a) and a.numel() and \
                _graph_training(a):
            # Reason: speed.  The body forward, g softmax(x) backward (decisions 115
            # and 116): autograd of the body's split sum took 1.7x torch's compiled
            # logsumexp with backward
            y = GRAPH_OPS["logsumexp_axis"](a, axis[0] % a.ndim)
            return y if keepdims else y.squeeze(axis[0])

        def path():
            # (with a mask: of x with the entries left out at -inf, as softmax's path;
            # a slice with nothing left has no finite max and takes the generic body)
            xs = None if return_sign or b is not None else _masked_out(a, axis, where, None)
            if xs is None:
                return super(TorchBackend, self).logsumexp(a, axis, b, keepdims, return_sign,
                                                           where)
            m = xs.detach().amax(axis[0], keepdim=True)  # not recorded: nothing to save
            if not bool(torch.isfinite(m).all()):
                return super(TorchBackend, self).logsumexp(a, axis, b, keepdims, return_sign,
                                                           where)
            xw, m = (xs.float(), m.float()) if a.dtype in _HALF else (xs, m)
            y = (_apply(_LogSumExp, xw, axis[0], m) if recording(xw) else
                 _LogSumExp.forward(xw, axis[0], m))[0]
            if not keepdims:
                y = y.squeeze(axis[0])
            return y.to(a.dtype)

        if b is not None or return_sign or (where is None and recording(a) and a.is_cpu):
            # (CPU training with no mask: the framework path's Function, exp((x - m) -
            # r) from the saved statistics, 0.84-0.88x torch's forward plus backward at
            # 1e7, where the kernels' pair, renormalizing exp(x - lse), took 1.30-1.39x:
            # decision 116; on a GPU, not measured, the pair stays)
            return path()
        y = _rows_kernel("logsumexp", a, axis, ((1,), None, False, False, None), where, path)
        return y.unsqueeze(-1) if keepdims and y.ndim < a.ndim else y

    @special("speed: one row kernel where one runs; elsewhere softmax's path (torch's "
             "softmax, checked) of -x, as the generic body is softmax of -x; in a "
             "torch.compile graph that records a gradient, on CPU, softmax's operator of -x")
    def softmin(self, x, axis=(-1,), where=None, initial=None):
        if where is None and initial is None and len(axis) == 1 and x.dtype in _FLOATS \
                and _traced_cpu(x) and x.numel() and _graph_training(x):
            # Reason: speed.  softmax's operator (decision 111) of -x (decision 115):
            # autograd of torch's checked softmax of -x took 1.4-1.8x F.softmin's
            return GRAPH_OPS["softmax"](-x.contiguous(), axis[0])[0]  # (softmax's)

        def path():
            if x.dtype not in _FLOATS:
                return super(TorchBackend, self).softmin(x, axis, where, initial)
            return _softmax_path(-x, axis, where, initial)

        return _rows_kernel("softmin", x, axis, ((1,), None, initial), where, path)

    @special("speed where a kernel runs: one row kernel (inference)")
    def logmeanexp(self, x, axis=None, where=None, keepdims=False):
        y = _rows_kernel("logmeanexp", x, axis, ((1,), None, False), where,
                         lambda: super(TorchBackend, self).logmeanexp(x, axis, where, keepdims))
        return y.unsqueeze(-1) if keepdims and y.ndim < x.ndim else y

    @special("speed where a kernel runs: one row kernel (scalar or no mean/variance); in "
             "training on CPU with it a compiled vector-Jacobian product of the generic "
             "body; on the framework path on CPU, float32 and float64 over trailing axes "
             "with the data's moments and no mask, x - mean(x) times the rstd of torch's "
             "layer norm of it (_standardize_centred); in a torch.compile graph that records "
             "a gradient, on CPU, a custom operator: the body and its written-out vjp")
    def standardize(self, x, axis=(-1,), mean=None, variance=None, epsilon=1e-5, where=None):
        if mean is None and variance is None and where is None and len(axis) == 1 \
                and x.dtype in _FLOATS and type(epsilon) is float and _traced_cpu(x) \
                and x.numel() and _graph_training(x):
            # Reason: speed.  The body forward, its written-out vjp backward (decision
            # 84's), fused by Inductor (decision 115): autograd of the body took
            # 1.7-3.0x F.layer_norm's compiled form with backward, this 1.3x
            return GRAPH_OPS["standardize_axis"](x.contiguous(), axis[0],
                                                 epsilon)  # (softmax's)

        def path():
            # contiguous, as the row kernel's and F.layer_norm's are: the framework
            # path kept a transposed x's layout (or a mask's), so the layout changed
            # when the kernel was swapped in (decision 221)
            xc = x.contiguous()
            wc = where.contiguous() if isinstance(where, torch.Tensor) else where
            if mean is None and variance is None and where is None and not recording(x):
                k = _layer_norm_dims(xc, axis)
                y = _standardize_centred(xc, k, epsilon) if k else None
                if y is not None:
                    return y
            return super(TorchBackend, self).standardize(xc, axis, mean, variance, epsilon,
                                                         wc)

        if not (type(mean) is float or mean is None) or not (type(variance) is float or
                                                             variance is None):
            return path()
        return _rows_kernel("standardize", x, axis, ((1,), mean, variance, epsilon, None),
                            where, path)


BACKEND = TorchBackend(NS)
# Reason: speed of the framework path of bodies that call another activation
# (``elementwise.activation_of``: a gated row's gate, quick_gelu's sigmoid): that
# activation is this backend's own function of the name (its special case: torch's
# native kernel where it is right, with its accurate backward), not the generic
# chain of about six ATen ops (``_framework_path``); and its selects are of the bits
# (``_where_bits``: torch.where branches per element on CPU).
_NS_GATES = NS.replacing({"where": _where_bits})
_NS_GATES.__dict__["activation"] = lambda name, x, *params: getattr(BACKEND, name)(x, *params)


def _graph_activation(name, x, *params):
    """An activation inside another body (``activation_of``) in a torch.compile graph
    on CPU: gelu is this backend's, so that exact geglu's gate takes exact GELU's
    graph routes (decisions 107 and 111: the CPU tier's formulas, as operators when
    recording a gradient); every other the generic body.  Reason: speed.  Exact geglu
    with backward took 3.59-3.73x PyTorch's compiled form through the body's erfc,
    1.28-1.82x so.  (glu's and swiglu's gates through the element-wise operators of
    decision 115 measured no faster, 1.45-1.56x against 1.30-1.47x: with a gradient
    those rows are ``GRAPH_OPS["gated"]``, in ``TorchBackend.generic``.)"""
    if name == "gelu":
        return BACKEND.gelu(x, *params)
    return BY_NAME[name].body(_NS_GRAPH, x, *params)


# Reason: accuracy.  Inductor's expm1 is exp(x) - 1 on CPU (decision 35): a body's
# expm1 in a torch.compile graph there is Kahan's (log1mexp compiled was -inf below x =
# 3e-8 in float32; decision 135)
_NS_GRAPH = NS.replacing({"expm1": _expm1_graph})
_NS_GRAPH.__dict__["activation"] = _graph_activation

def _nested_backward(x):
    """A nested tensor whose call records a gradient is refused by the reductions
    (``family == "reduction"``: they sum along a slice), as the layout's other
    failures are (decision 108).

    Reason: a missing primitive.  Their forward is right, but PyTorch has no backward
    of a nested tensor's sum (``aten._nested_sum_backward``): ``loss.backward()``
    failed far from the call, in ATen's words (decision 166)."""
    if recording(x):
        raise NotImplementedError("the backward of its sum, aten._nested_sum_backward, "
                                  "which a call that records a gradient needs")


# Tensor subclasses other than Parameter (DTensor, FakeTensor, FunctionalTensor, a
# user's subclass with __torch_function__): the generic bodies, whose ATen ops
# all have sharding rules and subclass support (torch's hardtanh_backward, say,
# has no DTensor sharding rule).  A backend of its own, so the plain path pays
# nothing for the check: _dispatch maps these types here.
class _SubclassBackend(Backend):
    on_error = _refuse_layout  # a jagged nested tensor is a subclass
    check_array = _check_array

    def generic(self, row, body, x, *params):
        # Reason: correctness.  A jagged tensor's reduction that records a gradient
        # has no backward in PyTorch (``_nested_backward``; decision 166); after the
        # body, so that a forward PyTorch cannot compute says so first
        y = body(self.ns, x, *params)
        if row.family == "reduction" and x.is_nested:
            _nested_backward(x)
        return y

    @special("correctness: a jagged nested tensor reduced along its ragged dimension "
             "is refused (its slices' counts are not in its shape; decision 146)")
    def standardize(self, x, axis=(-1,), mean=None, variance=None, epsilon=1e-5, where=None):
        if x.is_nested:
            _ragged_reduction(x, axis)
        return super().standardize(x, axis, mean, variance, epsilon, where)


SUBCLASS_BACKEND = _SubclassBackend(NS)


class _OnnxExportBackend(_SubclassBackend):
    """While ``torch.onnx.export`` traces a model: every function by its generic
    body on ``NS_ONNX`` (log1p, expm1, ndtr and sort written with ONNX's operators,
    ``_torch_native``), never a native kernel whose ONNX translation loses digits
    (decision 110).  Chosen per call, never cached (``transient``)."""

    transient = True


ONNX_BACKEND = _OnnxExportBackend(NS_ONNX, label="torch (ONNX export)")


class _FxRecorder(Backend):
    """The backend of ``torch.fx.Proxy`` input.  Reason: ``torch.fx.symbolic_trace``
    (FX quantization, torchvision's feature extraction, other FX tools) runs a
    model's ``forward`` on proxies, where ``F.gelu`` records itself as one
    ``call_function`` node (``__torch_function__``) and multiact's functions refused
    the proxy: a model that called one could not be traced (decision 227).  The
    call is recorded as one node of the public function, its parameters as keyword
    arguments, before any check: the graph's run checks them on tensors."""

    records = True

    def __init__(self):
        super().__init__(NS, label="torch.fx", python=True)

    def record(self, fname, x, params):
        from .. import _api
        from .._dispatch import _KEEP

        kwargs = {n: _fx_number(fname, n, v) for n, v, d in params
                  if d is _KEEP or not _is_default(v, d)}
        return x.tracer.create_proxy("call_function", getattr(_api, fname), (x,), kwargs)


def _fx_number(fname, pname, v):
    """A NumPy scalar (ml_dtypes' too) as the Python number it holds, as the kinds
    take it (``_params._real_scalar``; a NumPy bool its bool): FX refused
    ``np.float32`` in a graph, and wrote ``np.float64(1.5)`` into its code, which then
    ran without ``np`` (a ``NameError``)."""
    if type(v).__module__ not in _SCALAR_MODULES or type(v).__name__ == "ndarray":
        return v
    item = v.item()
    return item if isinstance(item, bool) else _real_scalar(fname, pname, v)


def _is_default(v, d):
    """``v`` is the default ``d`` (the row's object, or a literal: a proxy is none;
    -0.0 is not 0.0: relu's threshold of -0.0 gives another sign, decision 228)."""
    return v is d or (type(v) is type(d) and type(v) in (int, float, bool, str, tuple)
                      and signed(v) == signed(d))


#: torch.fx's proxies (``_dispatch``)
FX_BACKEND = _FxRecorder()


def subclass_backend():
    """The backend of a tensor subclass (FakeTensor while a model is traced):
    ``ONNX_BACKEND`` while ``torch.onnx.export`` traces one (torch.onnx is
    imported by then; nothing here imports it), else ``SUBCLASS_BACKEND``."""
    onnx = sys.modules.get("torch.onnx")
    if onnx is not None and onnx.is_in_onnx_export():
        return ONNX_BACKEND
    return SUBCLASS_BACKEND


# the public functions' check for Dynamo's trace, taken now that torch is here (where
# multiact was imported first; decision 206): a module's import runs untraced
_dispatch.take_torch(torch)
