"""PyTorch, native wrappers: the native kernels multiact calls, and the framework
paths built from them (the forwards and backwards that the eager routes of
``backends/torch.py`` run, each the fewest ATen passes that meet the contract).

The native kernels are bound when this module loads (``torch._C`` entry
points, not ``torch.nn.functional``), so a user who patches
``torch.nn.functional`` with multiact's functions does not make multiact call
itself.  Every formula here is a generic body's (``multiact._agnostic``),
written with fewer passes; each says what it saves and what it keeps.
"""

from __future__ import annotations

import math
import struct

import array_api_compat.torch as _xp
import torch
import torch._guards as _guards
import torch.autograd.forward_ad as _fwd_ad

from .._agnostic import _formulas as fm
from .._agnostic import _special
from .._agnostic import elementwise as _E
from .._agnostic import reductions as _Rd
from .. import kernels as _k
from . import Namespace

_VF = torch._C._VariableFunctions
_nn = torch._C._nn

# -- native kernels, bound at load ------------------------------------------------------
_relu, _selu, _tanh, _sigmoid = _VF.relu, _VF.selu, _VF.tanh, _VF.sigmoid
_softmax, _log_softmax = _VF.softmax, _VF.log_softmax
_relu6, _hardtanh, _leaky_relu, _elu = _nn.relu6, _nn.hardtanh, _nn.leaky_relu, _nn.elu
_softplus, _log_sigmoid, _hardsigmoid = _nn.softplus, _nn.log_sigmoid, _nn.hardsigmoid
_hardshrink, _threshold, _glu, _prelu = _VF.hardshrink, _VF.threshold, _nn.glu, _VF.prelu
_silu, _silu_, _hardswish, _mish, _mish_ = _nn.silu, _nn.silu_, _nn.hardswish, _nn.mish, _nn.mish_
_silu_backward = torch.ops.aten.silu_backward
_silu_backward_into = torch.ops.aten.silu_backward.grad_input
_mish_backward = torch.ops.aten.mish_backward
_softplus_backward = torch.ops.aten.softplus_backward
_softplus_backward_into = torch.ops.aten.softplus_backward.grad_input
_threshold_backward = torch.ops.aten.threshold_backward
_hardtanh_backward_into = torch.ops.aten.hardtanh_backward.grad_input
_erf, _erfc, _erfcx = torch.special.erf, torch.special.erfc, torch.special.erfcx
# Reason: accuracy.  MKL's first float32 erfc of a process (ATen's eager erfc) returned
# a part of a large call wrong: 8936 of 20005 entries off by up to 201 ulp, in 3 of
# 16 fresh processes (torch 2.13, this machine); none in 24 after one small call
# first.  Exact GELU's float32 framework path takes erfc from it: one small call of
# each dtype, now.
_erfc(torch.zeros(16)), _erfc(torch.zeros(16, dtype=torch.float64))


def _ndtr(ns, x):
    # Reason: speed.  A few native kernels instead of the ~80 of the piecewise
    # fit (torch.special.ndtr itself loses all digits in the left tail): float32
    # from erfc with a corrected argument (torch's float32 erfc is within an ulp
    # where GELU is above 1.5e-36, and Inductor vectorises it); otherwise
    # erf/erfcx.  The conformance suite measures both.
    if x.dtype == torch.float32:
        return _special.ndtr_from_erfc32(ns, x, _erfc)
    return _special.ndtr_from_native(ns, x, _erf, _erfcx)


def _maximum(ns, a, b):
    # Reason: array_api_compat's torch maximum/clip call torch.result_type, which
    # torch.compile cannot put in a graph (a graph break, an error with fullgraph).
    if isinstance(b, (int, float)):
        return torch.clamp(a, min=b)
    return torch.maximum(a, b)


def _clip(ns, x, lo, hi):
    return torch.clamp(x, lo, hi)  # propagates NaN, as the standard's clip


def _cumulative_sum(ns, x, axis=None, dtype=None, include_initial=False):
    # Reason: array_api_compat's torch cumulative_sum calls array_namespace, whose
    # lru_cache makes torch.compile print a UserWarning into the user's program
    # (sparsemax under torch.compile); torch.cumsum is the same sum.
    if dtype is not None or include_initial or axis is None:
        return _xp.cumulative_sum(x, axis=axis, dtype=dtype, include_initial=include_initial)
    return torch.cumsum(x, dim=axis)


#: the integer dtype of each float dtype's width: a select of the bits
_BITS = {torch.float32: torch.int32, torch.float64: torch.int64,
         torch.float16: torch.int16, torch.bfloat16: torch.int16}
_WHERE_BITS_FROM = 4096


def _where_bits(ns, cond, a, b):
    """``where(cond, a, b)`` as a select of the bits, where it applies.

    Reason: speed.  torch.where on CPU branches per element: on 1e5 float32 it
    takes 25 us when the condition is nearly constant and 170 us when it is not (a
    sign test of activations: the branch predictor fails half the time), 25 times
    an add.  An element-wise body's selects are of the second kind (``x > 0``,
    ``|x| <= lambd``): ``b ^ ((a ^ b) & -cond)`` on the integer views is four
    vectorised passes (about 32 us whatever the data; ``a & -cond`` when ``b`` is
    +0, 19 us) and exact, the selected operand's bits (NaN, inf, -0 included).
    A condition that is the same everywhere (a guard against an edge that no entry
    reached: one pass of ``aminmax`` finds it) gives a copy of the selected operand.
    Used by the element-wise framework paths only (``backends/torch.py``,
    ``_NS_GATES``); the softmax family's selects guard rare entries (the maxima,
    +-inf), where torch.where is faster.  Only CPU float tensors of one dtype (or
    a tensor and a Python number), at least _WHERE_BITS_FROM elements (the fixed
    cost of four ops), no gradient to record, plain eager mode; everything else is
    array_api_compat's where (torch.where)."""
    like = a if type(a) in _PLAIN else b
    bits = _BITS.get(getattr(like, "dtype", None))
    if (bits is None or type(cond) not in _PLAIN or cond.dtype != torch.bool
            or not eager(like) or like.device.type != "cpu" or cond.device.type != "cpu"):
        return _xp.where(cond, a, b)
    zero = []
    ops = []
    for v in (a, b):
        if type(v) in _PLAIN:
            # a view with the negative bit (x.conj().imag) cannot be viewed as integers
            if v.dtype != like.dtype or v.device.type != "cpu" or v.is_neg():
                return _xp.where(cond, a, b)
            zero.append(False)
        elif type(v) in (float, int):
            zero.append(v == 0 and math.copysign(1.0, v) > 0)
            v = _scalar(float(v), like)
        else:
            return _xp.where(cond, a, b)
        ops.append(v)
    a, b = ops
    if max(cond.numel(), a.numel(), b.numel()) < _WHERE_BITS_FROM or not cond.numel() or (
            torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)):
        # torch's own: a and b are tensors of one dtype here (a number is a cached 0-d
        # tensor), so array_api_compat's promotion has nothing to do (16 elements:
        # 1.6 us, its where with the 0-d tensor 4.0, with the number 3.1)
        return torch.where(cond, a, b)
    c8 = cond.view(torch.int8)  # 0 or 1
    lo, hi = c8.aminmax()  # one vectorised pass (4 us on 1e5)
    hi = hi.item()
    if lo.item() == hi:  # one branch everywhere (a guard that caught nothing): a copy
        v, w = (a, b) if hi else (b, a)
        shape = cond.shape
        if v.shape != shape or (w.shape != shape and w.dim()):
            shape = torch.broadcast_shapes(shape, a.shape, b.shape)
        if v.shape == shape:
            return v.clone()
        # vectorised, unlike a clone of an expand; on the CPU whatever the default device
        return torch.empty(shape, dtype=v.dtype, device=v.device).copy_(v)
    if zero[1]:
        r = torch.bitwise_and(a.view(bits), c8.neg())
    elif zero[0]:
        r = torch.bitwise_and(b.view(bits), c8 - 1)
    else:
        ai, bi = a.view(bits), b.view(bits)
        r = torch.bitwise_xor(ai, bi)
        if r.shape == cond.shape or not cond.dim():
            # in place: one new tensor, not three (each costs its page faults at 1e5)
            r = r.bitwise_and_(c8.neg()).bitwise_xor_(bi)
        else:
            r = torch.bitwise_xor(bi, torch.bitwise_and(r, c8.neg()))
    return r.view(like.dtype)


def _device_of(ns, x):
    # Reason: array_api_compat's device() runs its is_*_array tests, whose lru_cache
    # makes torch.compile print seven UserWarnings into the user's program (an integer
    # input promoted to float, one_hot: their device); a tensor's device is .device.
    return x.device


def _default_float(ns, x):
    # Reason: the same (array_api_compat's default_dtypes(device=...) of that device);
    # torch's default floating dtype is one for every device.
    return torch.get_default_dtype()


def _softplus_threshold(dtype):
    """torch's softplus ``threshold`` (in units of beta x, where it returns x) that is
    exact to half an ulp: 20 for float32 and below, 40 for float64."""
    return 40.0 if dtype == torch.float64 else 20.0


def _softplus_native(x, beta, wide):
    """torch's softplus, with :func:`_softplus_threshold`; ``wide``: of x in float64,
    rounded once to x's dtype (a beta that is not a power of 2: torch's rounded
    beta x is off by ``|beta x| 2^-53`` there, far below float32's ulp)."""
    if wide:
        return _softplus(x.to(torch.float64), beta, _softplus_threshold(torch.float64)).to(
            x.dtype)
    if beta == 1.0:  # torch's defaults, as ints (a float Scalar costs more)
        return _softplus(x) if x.dtype is not torch.float64 else _softplus(x, 1, 40)
    return _softplus(x, beta, _softplus_threshold(x.dtype))


def _softplus_native_bwd(x, g, beta, wide):
    """:func:`_softplus_native`'s backward: torch's, ``g sigmoid(beta x)``."""
    if wide:
        return _softplus_backward(g.to(torch.float64), x.to(torch.float64), beta,
                                  _softplus_threshold(torch.float64)).to(x.dtype)
    return _softplus_backward(g, x, beta, _softplus_threshold(x.dtype))


def _softplus_carried(x, beta):
    """softplus of a float64 CPU tensor with a ``beta`` from 1/2 to 1e30 that is not a
    power of 2 (a Python float), on a device where :func:`_fma_exact` holds: torch's
    softplus, whose rounded ``p = fl(beta x)`` sent ``|beta x|`` half-ulps into its exp
    (457 ulp at beta 1.5, x = -417), plus that rounding's first-order effect,
    ``sigmoid(p) d / beta`` with ``d = beta x - p`` from one exact multiply-add (its
    square, below ``2^-80`` of the result, is left out).  torch returns x where ``beta
    x`` passes its threshold; the threshold is ``beta u``, ``u`` the power of 2 that
    puts it in [40, 80) (exact: there the result is x to half an ulp), and ``x`` is
    clamped to ``u`` in the correction, where ``d`` is then 0, as below ``-1e4 /
    beta`` (exp 0: no NaN from ``-inf``).  Reason: speed.  Six passes where the
    generic body's Dekker product and carried exponential took twenty (1e6: 10 ms
    against ``F.softplus``'s 2, a first call 34 ms against a limit of 38; decision
    208); the same bounds (a beta below 1/2, where ``exp`` is subnormal and the result
    is not, keeps the generic body's ``exp(p / 2)``)."""
    u = 2.0 ** math.ceil(math.log2(_softplus_threshold(torch.float64) / beta))
    xc = x.clamp(-fm.SOFTPLUS_CAP / beta, u)
    p = xc * beta
    nd = torch.addcmul(p, xc, _device_scalar(beta, x), value=-1.0, out=p)  # -d, in p
    # -d sigmoid(p), in xc, by torch's softplus backward, whose exp(p) / (1 +
    # exp(p)) is subnormal where exp(p) is (torch's sigmoid, 1 / (1 + exp(-p)), is 0
    # below -709.8: 56 ulp at beta 0.75, x = -946.9).  Two new tensors, not four: a
    # new 8 MB tensor costs its page faults, as much as a pass (1e6: 14 ms, not 8)
    c = _softplus_backward_into(nd, xc, beta, beta * u, grad_input=xc)
    return _softplus(x, beta, beta * u, out=nd).add_(c, alpha=-1.0 / beta)


def _two_product(ns, b, x, p=None):
    """_formulas.two_product, where ``b`` is a Python number: ``d = b x - p`` from one
    fused multiply-add (``torch.addcmul``, rounded once on this build and device:
    :func:`_fma_exact`; the error of a product is a float, so the multiply-add is
    exact), in plain eager mode and under ``torch.jit.trace`` (Inductor writes addcmul
    as a product and a sum; ONNX has no fused multiply-add: ``NS_ONNX`` keeps
    Dekker's).  Reason: speed.  Dekker's product is nine passes (a split, four
    products and their sums), this is two; softplus's beta x (decision 128).  And
    accuracy in a trace: TorchScript's optimizer pooled beta and its Veltkamp head
    (0.3 and 0.29999999701976776) into one constant, and Dekker's error came out
    0 (softplus(x, 0.3) 1.2e-6 off in float64; decision 129).  Elsewhere: Dekker's."""
    if isinstance(b, (int, float)) and type(x) in _PLAIN and x.dtype in _WIDE \
            and not _is_compiling() and not _functorch_active() and _fwd_ad._current_level < 0:
        # the check and the factor outside a trace: a trace would record the check's
        # ops, and the factor's creation in one run of the trace and not the next
        tracing = torch._C._get_tracing_state()
        if tracing is not None:
            torch._C._set_tracing_state(None)
        try:
            c = _device_scalar(float(b), x) if _fma_exact(x.device, x.dtype) else None
        finally:
            if tracing is not None:
                torch._C._set_tracing_state(tracing)
        if c is not None:
            if p is None:
                # x times the factor itself, not the Python number: a trace recorded
                # both as constants, and the first backward of its graph (TorchScript's
                # profiling run) took b x's derivative as float32's beta where the
                # factor fed addcmul (softplus(x, 0.3) float64's gradient 4e-8 off;
                # decision 211); the same bits otherwise
                p = x * c
            return p, torch.addcmul(p, x, c, value=-1.0).neg_()
    return fm.two_product(ns, b, x, p)


def _moveaxis(ns, x, source, destination):
    # Reason: torch.func.vmap has no batching rule for aten::moveaxis (array_api_compat's
    # moveaxis): sparsemax and one_hot with an axis other than the last raised under
    # vmap (decision 136); movedim, the same view, has one.
    return torch.movedim(x, source, destination)


def _stop_gradient(ns, v):
    # Reason: an autodiff rule (_formulas.stop_gradient): autograd's constant
    return v.detach()


def _scalar_operand(ns, v, like):
    """_formulas.scalar_operand for PyTorch.  Reason: torch.compile's stale floats
    (pytorch/pytorch#194976, #197889; torch 2.13 has them).  Under its default
    ``specialize_float=False`` a Python float argument that Dynamo makes dynamic (at
    its second value) becomes a 0-d tensor input where arithmetic and comparisons
    use it; where it is also an operation's scalar operand (``torch.where``'s
    branch, ``clamp``'s bound, ``threshold``), the graph carried the value it was
    traced with, which torch's caches then served for every later value, silently:
    ``relu(x, max_value=m)``, ``threshold`` and ``soft_shrink`` (in training) in a
    compiled function gave the second call's value for every later one (decision
    229).  A 0-d tensor of ``like``'s dtype, made by an addition, makes every use
    a tensor's: one graph serves every value, right.  Not while exporting (an
    exported program keeps the number as a constant) nor outside Dynamo."""
    if type(v) in (float, int) and _dynamo_tracing() and not _is_exporting():
        # (of shape (1,), then 0-d: under a torch.func transform in the graph, a 0-d
        # tensor plus the float reached Inductor as Python's add of a SymFloat, which
        # it cannot lower, "x must be Tensor or scalar, got SymFloat")
        return (like.new_zeros((1,)) + v).squeeze(0)
    return v


_is_exporting = torch.compiler.is_exporting

PRIMITIVES = {"ndtr": _ndtr, "maximum": _maximum, "clip": _clip,
              "cumulative_sum": _cumulative_sum, "device_of": _device_of,
              "default_float": _default_float, "two_product": _two_product,
              "moveaxis": _moveaxis, "stop_gradient": _stop_gradient,
              "scalar_operand": _scalar_operand}

#: the torch namespace with its primitives: what the generic bodies run on (and
#: the CPU kernels compile: handed to multiact.kernels)
NS = Namespace(_xp, "torch", PRIMITIVES)
_k.bind_torch(NS)


# -- ONNX export ------------------------------------------------------------------------
#
# ONNX has no log1p, expm1, erfc or erfcx.  torch.onnx translates log1p as Log(1 + x),
# expm1 as Exp(x) - 1 and erfc as 1 - Erf(x), which lose every digit where the contract
# needs them (onnxruntime, float32: softplus(-22.9) 0 where it is 1.1e-10, elu 357 ulp
# at -5e-4, exact GELU 0 from x = -6.5), and it has no translation of a stable sort.
# While torch.onnx.export traces a model (decision 110), the generic bodies run on
# NS_ONNX: these primitives, written with ONNX's operators, at their accuracy.


def _log1p_onnx(ns, x):
    """``log1p`` from ``Log`` alone: ``log(u) x / (u - 1)``, ``u = 1 + x`` rounded
    (the ratio undoes the rounding of ``u``: Goldberg 1991, Theorem 4); ``x`` where
    ``u == 1``, ``u`` where it is +inf (-inf: the ratio's NaN, as log1p's).
    Reason: ONNX has no Log1p."""
    u = x + 1.0
    d = u - 1.0
    r = torch.log(u) * (x / torch.where(d == 0, 1.0, d))
    return torch.where(d == 0, x, torch.where(u == math.inf, u, r))


def _expm1_onnx(ns, x):
    """``expm1`` from ``Exp`` and ``Log``: ``(u - 1) x / log(u)``, ``u = exp(x)``
    (Kahan's form: the ratio undoes the rounding of ``u``); ``x`` where ``u == 1``,
    ``u - 1`` where it is ``-1`` or infinite.  Reason: ONNX has no Expm1."""
    u = torch.exp(x)
    d = u - 1.0
    lg = torch.log(u)
    r = d * (x / torch.where(lg == 0, 1.0, lg))
    return torch.where(u == 1.0, x, torch.where((d == -1.0) | torch.isinf(u), d, r))


def _sort_onnx(ns, x, /, *, axis=-1, descending=False, stable=True):
    """``sort``'s values by ``aten.sort`` without ``stable``: equal entries are equal
    values, so a stable sort's values are any sort's.  Reason: torch.onnx has no
    translation of ``aten.sort.stable`` (sparsemax)."""
    return torch.sort(x, dim=axis, descending=descending).values


#: the namespace of the generic bodies while torch.onnx.export traces a model:
#: ``ndtr`` is the generic fit's (no erfc, no erfcx)
NS_ONNX = NS.replacing({"log1p": _log1p_onnx, "expm1": _expm1_onnx, "sort": _sort_onnx,
                        "ndtr": _special.ndtr, "two_product": fm.two_product})

_SCALARS: dict = {}
_dynamo_tracing = torch.compiler.is_dynamo_compiling  # False but where Dynamo traces
_PLAIN = (torch.Tensor, torch.nn.Parameter)


def _scalar(v, like, device="cpu"):
    """``v`` as a 0-d tensor of ``like``'s dtype, cached, on the CPU (which every
    device accepts for a 0-d operand) or ``device``.  Reason: speed on small tensors.
    An op with a Python float converts it to a Scalar, which costs as much as the op
    itself on 16 elements; a 0-d tensor of the same dtype gives the same bits.
    Under torch.compile (a CPU kernel compiled from a framework path's ops) a
    constant, uncached: a read of the cache would guard the kernel on its
    contents.  Where AOTAutograd traces a custom operator's formulas (``like`` a
    FunctionalTensor: ``_torch_autograd.GRAPH_OPS``), an op of the graph: a cached
    tensor there would be a constant that Inductor refuses ("Unexpected fake buffer")."""
    if _dynamo_tracing():
        return torch.tensor(v, dtype=like.dtype, device=device)
    if type(like) not in _PLAIN:
        return torch.full((), v, dtype=like.dtype, device=device)
    key = (v, math.copysign(1.0, v), like.dtype, device)  # -0.0 == 0.0 as a key, not as bits
    t = _SCALARS.get(key)
    if t is None:
        # on the CPU (or the device asked for), not the default device; a normal
        # tensor even under inference_mode, which would make an inference tensor that
        # a later trace recording a gradient cannot save ("Inference tensors cannot be
        # saved for backward": torch.jit.trace of softplus after a call under
        # inference_mode; decision 211)
        with torch.inference_mode(False):
            t = _SCALARS[key] = torch.tensor(v, dtype=like.dtype, device=device)
    return t


def _device_scalar(v, like):
    """:func:`_scalar` on ``like``'s device: an operand of ``torch.addcmul``, whose
    CUDA kernel refuses a CPU ``self`` ("CPU Scalar support for self argument is not
    supported") and, in older torch, a CPU factor."""
    return _scalar(v, like, "cpu" if like.device.type == "cpu" else like.device)


def _autocast_kept(y, x):
    """``y`` in ``x``'s dtype.  Reason: the contract's dtype rule (decision 22).  CUDA
    autocast runs some native ops in float32 whatever their input (``exp``,
    ``softplus``, ``softmax``: found on an H200), and a half tensor's path may
    compute in float32; their result is then rounded once, to ``x``'s dtype."""
    return y if y.dtype is x.dtype else y.to(x.dtype)


# Tuples, not sets: torch.compile traces `dtype in tuple` without a graph break.
_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
_HALF = (torch.float16, torch.bfloat16)
_WIDE = (torch.float32, torch.float64)
#: dtypes that relu6's and hard_tanh's native clamps refuse or would not promote:
#: bool and complex (the generic body promotes or raises), the 8-bit floats (no CPU
#: clamp kernel: the generic body, through float32)
_NOT_NATIVE = (torch.bool, torch.complex64, torch.complex128, torch.complex32) + tuple(
    getattr(torch, n) for n in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                                "float8_e5m2fnuz", "float8_e8m0fnu") if hasattr(torch, n))

_compile_flag = torch.compiler.is_compiling
_dynamo_compiling = torch.compiler.is_dynamo_compiling
_is_tracing = torch._C._is_tracing


def _is_compiling():
    """Whether torch.compile or export is tracing this call, on this thread.

    Reason: ``torch.compiler.is_compiling()`` is one flag for the process, held
    while any thread compiles.  The CPU tier's own background compile set it for
    the caller's thread too: for its seconds every call there took the generic
    body, 3-7x slower and rounded otherwise (softmax across axis 0 differed in 70%
    of its entries, by up to 7 ulp), and built another autograd graph (decision
    167).  A compile of this thread's traces a frame (Dynamo folds
    ``is_dynamo_compiling`` to True there) or holds a tracing context (AOTAutograd,
    export: thread-local); no flag, the common case, costs one call."""
    return _compile_flag() and (_dynamo_compiling() or _guards.TracingContext.try_get()
                                is not None)

_functorch_active = torch._C._are_functorch_transforms_active
# (getattr: a torch without the dispatch modes' slots, older than the floor of 2.1 is
# thought to be, untested, detects no tracer here rather than failing to import)
_dispatch_modes = getattr(torch._C, "_len_torch_dispatch_stack", lambda: 0)
_PROXY = getattr(getattr(torch._C, "_TorchDispatchModeKey", None), "PROXY", None)
_dispatch_mode = getattr(torch._C, "_get_dispatch_mode", None) if _PROXY is not None else None
_dispatch_mode = _dispatch_mode or (lambda key: None)


def _functorch_higher_order():
    """Whether torch.func is taking a derivative of order two or more here: two of its
    active transforms are ``grad``s or ``jvp``s (``hessian``, ``grad(grad)``,
    ``jacfwd(jacrev)``), not ``vmap(grad)``'s per-sample gradients."""
    try:
        from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters
        kinds = (torch._C._functorch.TransformType.Grad,
                 torch._C._functorch.TransformType.Jvp)
    except (ImportError, AttributeError):  # (a torch without them: every level counts)
        return True
    return sum(i.key() in kinds for i in retrieve_all_functorch_interpreters()) >= 2


def eager(x, dual=False) -> bool:
    """A plain tensor in plain eager mode (the first two routes).  Not under make_fx's
    tracer (a ProxyTorchDispatchMode): in its default "real" mode the tensors are plain,
    and the eager routes' host reads (softmax's NaN check, ...) raised "trying to get
    value out of a tracing tensor".  The generic body traces there, as under "fake".
    (Any other dispatch mode, an op counter, keeps the eager routes; the stack's
    length first: one C call, some 40 ns, where no mode is on.)  ``dual``: inside
    forward-mode AD's dual level too."""
    return (type(x) in _PLAIN and not _is_compiling() and not _is_tracing()
            and not _functorch_active() and (dual or _fwd_ad._current_level < 0)
            and (not _dispatch_modes() or _dispatch_mode(_PROXY) is None))


def recording(x) -> bool:
    return x.requires_grad and torch.is_grad_enabled()


def _into(g, out) -> bool:
    """Whether a backward may write ``g``'s product into ``out``, a new tensor of its
    own (decision 203): past 32 MiB (glibc's largest threshold for mapping a new
    block afresh: beyond it every new tensor is mapped and page-faulted anew, and
    writing in place changes nothing else; below, it moved malloc's threshold, and
    a later first call elsewhere paid the page faults: softplus(beta=1.5) 1000x1000
    float64 in benchmarks/first_call.py, 38-48 ms for 26-35; and the check costs
    1-2 us), a plain eager ``g`` of ``out``'s shape and dtype, grad mode
    off (``create_graph`` records), no functorch transform or forward-AD level, and
    ``g``'s dispatch keys ``out``'s (a batched ``g`` of autograd's
    ``is_grads_batched``, whose old vmap has no rule for an in-place op into a plain
    tensor: ``jacobian(vectorize=True)``, gradcheck's batched grad).  Reason: speed;
    every new tensor of 1e7 float32 costs its page faults, 8-9 ms here, more than a
    pass over memory (past 32 MB glibc maps each one afresh)."""
    # (eager first, in _plain_cotangent: a traced size compared with the threshold was
    # a guard on a dynamic size, and the CPU tier's compile of the backward failed)
    return _plain_cotangent(g, out) and out.numel() * out.element_size() > _INTO_BYTES


def _plain_cotangent(g, like) -> bool:
    """Whether a backward may hand ``g`` to an ``out=`` op or write into a tensor of its
    own beside ``like`` (:func:`_into`'s conditions but the size): a plain eager ``g``
    of ``like``'s shape and dtype, grad mode off, no functorch transform or forward-AD
    level, and ``g``'s dispatch keys ``like``'s (a batched ``g`` of autograd's
    ``is_grads_batched`` has no vmap rule for an ``out=`` or in-place op)."""
    return (eager(g) and not torch.is_grad_enabled()
            and g.shape == like.shape and g.dtype == like.dtype
            and torch._C._dispatch_keys(g) == torch._C._dispatch_keys(like))


_INTO_BYTES = 32 << 20


# -- the framework paths of element-wise functions --------------------------------------
#
# Forward (eager inference) and backward (eager training) of the functions whose
# native forward misses a limit or whose native backward loses accuracy.  Each
# is written from the formulas of _agnostic._formulas, in fewer passes than the
# generic body (a measured reason each: docs/performance.md); a fused kernel
# (multiact.kernels) replaces the chain where one applies.

def _silu_fwd(x):
    # silu(-inf) is NaN in torch (-inf / inf); below SILU_FLOOR silu is -0.  Two
    # passes, the second in place (one allocation: a fresh one costs a pass).
    return _silu_(torch.maximum(x, _scalar(fm.SILU_FLOOR, x)))


def _silu_bwd(x, g):
    # torch's own silu backward (one pass; as accurate as sigmoid(x) (1 + x
    # sigmoid(-x)), measured) at x clamped to [-1e4, the largest finite value]: 0 at
    # -inf, 1 at +inf (torch's: inf * 0; at the largest value it is 1 + x * 0), NaN
    # at NaN
    u = x.clamp(fm.SILU_FLOOR, _finite_max(x))
    return _silu_backward_into(g, u, grad_input=u) if _into(g, u) else _silu_backward(g, u)


def _quick_gelu_fwd(x):
    # x sigmoid(k x), k = QUICK_GELU_SCALE, with the generic body's values to the bit
    # in three passes and two new tensors (the body: ten ops, 2-3.5x x * sigmoid(k x)
    # on 1e6 elements): x raised to SILU_FLOOR (quick_gelu(-inf) = -0, not -inf * 0;
    # the body's gate is exactly 0 there too), and above, where k x may overflow, its
    # sigmoid is 1, as the body's clip at GELU_LIM gives.  NaN kept.
    xc = torch.maximum(x, _scalar(fm.SILU_FLOOR, x))
    return torch.mul(xc, _scalar(fm.QUICK_GELU_SCALE, x)).sigmoid_().mul_(xc)


def _quick_gelu_bwd(x, g):
    # d/dx x sigmoid(k x) = silu'(k x): torch's silu backward (one pass) at k x, x
    # clamped to +-GELU_LIM, beyond which the derivative is exactly 0 or 1 (+-inf and
    # an overflowing k x stay out of inf * 0: quick_gelu'(+inf) = 1); NaN kept
    u = x.clamp(-fm.GELU_LIM, fm.GELU_LIM).mul_(_scalar(fm.QUICK_GELU_SCALE, x))
    return _silu_backward_into(g, u, grad_input=u) if _into(g, u) else _silu_backward(g, u)


def _relu2_fwd(x):
    # relu(x)^2 in two passes and one new tensor (the generic body's values to the bit:
    # a half tensor's square rounds once either way, as float32's product of two half
    # values is exact); NaN kept, +-0 and -inf give +0
    r = torch.relu(x)
    return r.mul_(r)


def _relu2_pair(x):
    """``(relu2(x), r)``, ``r = relu(x)``: what relu2's Function returns and saves."""
    r = torch.relu(x)
    return r * r, r


def _relu2_bwd(r, g):
    """``g relu2'(x) = 2 r g`` from ``r = relu(x)``: 0 wherever ``x <= 0`` whatever
    ``g`` (inf and NaN too), NaN at NaN (torch's relu backward, threshold_backward on
    the saved output, as ``relu(x) ** 2``'s autograd gives); ``r g`` first, so that
    ``2 g`` cannot overflow where ``2 r g`` does not.  Half tensors in float32, one
    rounding."""
    w = r.float() if r.dtype in _HALF else r
    gw = g.float() if g.dtype in _HALF else g
    if torch.is_grad_enabled():  # create_graph: differentiable ops
        return (_threshold_backward(w * gw, w, 0) * 2.0).to(g.dtype)
    return _threshold_backward(w * gw, w, 0).mul_(2.0).to(g.dtype)


def _hard_sigmoid_fwd(x):
    # CUDA's float64 hardsigmoid computes in float32: the generic body there.
    if x.dtype == torch.float64 and x.device.type != "cpu":
        return _E.hard_sigmoid(NS, x)
    return _hardsigmoid(x)


def _hard_sigmoid_bwd(x, g):
    """``g / 6`` on (-3, 3), 0 elsewhere, in x's dtype: torch's own backward
    multiplies by a float32 1/6 (3.0e-8 relative in float64, an ulp off in float32
    on a third of the values).  NaN is not inside (-3, 3): 0 there, as torch's.  An
    eager tensor's by relu6's backward (``hardtanh_backward`` into ``g / 6``, a
    tensor of its own) of ``x`` with NaN made 3 (on the edge: 0; that backward's
    scalar tail passes a NaN's gradient through where its vector loop gives 0):
    three passes, the same bits, where the comparisons and the select took six
    (decision 222: 16 elements 15.5 -> 7.3 us, 1e5 float32 99 -> 28 us, 1e7 33 ->
    19 ms); a compiled kernel's (traced), a batched ``g``'s (autograd's
    ``is_grads_batched``: no vmap rule for an ``out=`` op) and a differentiable
    call's by the select."""
    if eager(x) and _plain_cotangent(g, x):
        r = g / 6.0
        return _hardtanh_backward_into(r, x.nan_to_num(3.0), -3.0, 3.0, grad_input=r)
    return _where_bits(NS, (x > -3) & (x < 3), g / 6.0, 0.0)  # a select of bits, not masked_fill


def _hard_silu_fwd(x):
    # hardswish(-inf) is NaN (-inf * 0): clamp at HARD_SILU_FLOOR, where it is 0.
    # float16: torch computes in float32 and rounds once (x * 6 fits).  Elsewhere
    # torch forms x * 6, which overflows near the max (and CUDA's float64 runs
    # in float32): x * hard_sigmoid(x) then.
    if x.dtype == torch.float16:
        return _hardswish(x.clamp(min=fm.HARD_SILU_FLOOR))
    if x.dtype == torch.bfloat16:
        return _hard_silu_fwd(x.float()).to(x.dtype)
    return x.clamp(min=fm.HARD_SILU_FLOOR).mul_(_hard_sigmoid_fwd(x))


def _hard_silu_bwd(x, g):
    # The contract's kink rule: -1/2 at -3, 1 at 3 (torch 2.13's hardswish gives 0 at -3);
    # NaN takes the identity's 1, as torch's hardswish and the generic body.
    # float16 and bfloat16 in float32, rounded once, as torch's hardswish backward:
    # in the half dtype ``+ 3``, ``/ 6`` and ``g *`` each rounded (1 ulp off on 6,659
    # float16 values of (-3, 3) with g = 1, where ``F.hardswish`` is on none; decision
    # 213)
    if x.dtype in _HALF:
        return _hard_silu_bwd(x.float(), g.float()).to(x.dtype)
    mid = x.mul(2.0).add_(3.0).div_(6.0)  # (2x + 3) / 6, one new tensor
    # (eager first: a traced size compared with the floor is a guard on a dynamic size,
    # and the CPU tier's compiled backward missed on every other size)
    if x.dtype in _HARD_SILU_EDGES and eager(x) and x.numel() >= _WHERE_BITS_FROM and \
            _plain_cotangent(g, x):
        # Reason: speed, the same bits (decision 223).  The middle piece by relu6's
        # backward (hardtanh_backward, open at both ends: -3 taken in by the float
        # below it) into ``mid``, the top's 1 by relu's (threshold_backward of a 1,
        # from the float below 3), of x with NaN made 4 (the top: the identity's 1);
        # then one product with g (``g * 1`` where the select gave it: an infinite g
        # stays infinite).  Eight passes, where the comparisons and selects of bits
        # took some fourteen; below _WHERE_BITS_FROM the selects are torch.where,
        # fewer ops, and the pair was 4% faster with them at 16 elements.
        low, below3 = _HARD_SILU_EDGES[x.dtype]
        xs = x.nan_to_num(4.0)
        _hardtanh_backward_into(mid, xs, low, 3.0, grad_input=mid)
        top = _threshold_backward(_scalar(1.0, x, x.device).expand(x.shape), xs, below3)
        return mid.add_(top).mul_(g)
    return g * _where_bits(NS, x < -3, 0.0, _where_bits(NS, x < 3, mid, 1.0))


#: hard_silu's eager backward (_hard_silu_bwd): the floats just below -3 and just
#: below 3 in each dtype, the ends of its pieces as relu6's and relu's backwards
#: take them (open intervals)
_HARD_SILU_EDGES = {dt: (float(torch.nextafter(torch.tensor(-3.0, dtype=dt),
                                               torch.tensor(-4.0, dtype=dt))),
                         float(torch.nextafter(torch.tensor(3.0, dtype=dt),
                                               torch.tensor(0.0, dtype=dt))))
                    for dt in (torch.float32, torch.float64)}


def _soft_sign_fwd(x):
    # softsign(inf) is NaN (inf / inf); |x| = SOFT_SIGN_CAP already gives +-1.
    xc = x.clamp(-fm.SOFT_SIGN_CAP, fm.SOFT_SIGN_CAP)
    return xc / (xc.abs() + 1.0)


def _soft_sign_bwd(x, g):
    # 1 / (1 + |x|)^2 directly: autograd of x / (|x| + 1) subtracts two terms.
    return g / (x.abs() + 1.0).square()


def _mish_fwd(x):
    # torch's mish of x raised to the floor (mish(-inf) is NaN in torch, -0 here), in
    # place on the clamped copy: one allocation
    return _mish_(x.clamp(min=fm.SILU_FLOOR))


def _mish_bwd(x, g):
    # torch's mish backward at x raised to the floor: clamp keeps NaN, so mish'(NaN) is
    # NaN (autograd through clamp would give 0 there), and below the floor mish' has
    # underflowed to 0 either way.  Two passes, where a select before torch's mish
    # took four (torch.where costs four clamps on CPU).
    # The top at the largest finite value: mish'(+inf) is 1 (torch's: inf * 0).
    return _mish_backward(g, x.clamp(fm.SILU_FLOOR, _finite_max(x)))


def _finite_max(x):
    """The largest finite value of ``x``'s dtype (a clamp there turns only ``+inf``)."""
    return torch.finfo(x.dtype).max


def _tanh_shrink_fwd(x):
    """tanh_shrink of an eager float32/float64 tensor: the generic body's formula in
    its order (Lambert's continued fraction below |x| = 1, ``x - tanh(x)`` above),
    each step in place where it can be: the same values to the bit, with five new
    tensors instead of about twenty (at 1e5 elements a new tensor's page faults cost
    as much as the op).  Elsewhere the generic body."""
    if x.dtype not in _WIDE or not eager(x):
        return _E.tanh_shrink(NS, x)
    depth = _E._TANH_CF_DEPTH[64 if x.dtype == torch.float64 else 32]
    xs = x.clamp(-1.0, 1.0)
    t = xs * xs
    d = torch.div(t, 2.0 * depth + 1.0).add_(2.0 * depth - 1.0)  # (2k + 1) + t / d, k = depth - 1
    for k in range(depth - 2, 0, -1):
        torch.div(t, d, out=d).add_(2.0 * k + 1.0)
    u = torch.div(t, d, out=d)
    near = xs.mul_(u)                      # x u
    near.div_(u.add_(1.0))                 # / (1 + u)
    far = _tanh(x)
    torch.sub(x, far, out=far)             # x - tanh(x)
    return _where_bits(NS, x.abs() < 1, near, far)


def _tanh_shrink_pair(x):
    """``(tanh_shrink(x), tanh(x))``: the value (the generic body, its continued
    fraction near 0) and what the backward needs."""
    return _tanh_shrink_fwd(x), _tanh(x)


def _tanh_shrink_bwd(t, g):
    """``g tanh_shrink'(x)`` from the saved ``t = tanh(x)``: ``t^2``, where nothing
    cancels; autograd through the generic body differentiates its continued fraction
    (some forty ops, each saving a tensor: 20x F.tanhshrink forward plus backward on
    1e6 elements)."""
    return g * (t * t)


def _gated_x3(x, dim):
    """``(x3, shape)``: ``x`` (contiguous) viewed as ``(outer, 2, m)`` around ``dim`` (a
    non-negative axis of even size), whose halves along ``dim`` are its two middle
    slices, and the shape of a gated row's output.  For the eager routes' kernels
    and the compiled graphs' operator (``_torch_autograd.GRAPH_OPS["gated"]``) alike."""
    n = x.shape[dim]
    outer, m = math.prod(x.shape[:dim]), math.prod(x.shape[dim + 1:]) * (n // 2)
    return x.contiguous().view(outer, 2, m), x.shape[:dim] + (n // 2,) + x.shape[dim + 1:]


def _tanh_shrink_bwd_of_x(x, g):
    """:func:`_tanh_shrink_bwd` from ``x``, ``tanh(x)`` recomputed: the backward of
    tanh_shrink's operator in a compiled training graph, which saves ``x``
    (``_torch_autograd._graph_formulas``)."""
    return _tanh_shrink_bwd(_tanh(x), g)


def _gelu_tanh_fwd(x):
    # x * sigmoid(2u) (fm.gelu_two_u): torch's 0.5 x (1 + tanh(u)) cancels in the
    # left tail (all digits lost near x = -9).  2u is formed in the generic body's
    # order, x (A + B (x x)): in the tail the result moves by |2u| ulp per ulp of
    # 2u, so another order (one addcmul) differs from the other routes by up to
    # 130 ulp.  One clamp (below, SILU_FLOOR: gelu(-inf) = -0, not -inf * 0; above,
    # the gate is exactly 1 once x^2 overflows), then in place.
    xc = torch.maximum(x, _scalar(fm.SILU_FLOOR, x))
    v = torch.mul(xc, xc).mul_(_scalar(fm.GELU_B, x)).add_(_scalar(fm.GELU_A, x)).mul_(xc)
    return v.sigmoid_().mul_(xc)


def _gelu_tanh_bwd(x, g):
    # d/dx x s(2u) = s + x s(2u) s(-2u) 2u'; with x clamped to +-GELU_LIM in the
    # gate (s (1 - s) is exactly 0 there, so x * 0 stays 0: no inf * 0).
    xc = x.clamp(-fm.GELU_LIM, fm.GELU_LIM)
    x2 = xc.square()
    v = x2.mul(fm.GELU_B).add_(fm.GELU_A).mul_(xc)
    s, sn = _sigmoid(v), _sigmoid(-v)
    dv = x2.mul_(3.0 * fm.GELU_B).add_(fm.GELU_A)
    return g * (s + xc * s * sn * dv)


def _gelu_tanh_bwd_one_exp(x, g):
    """:func:`_gelu_tanh_bwd`'s derivative from one ``exp``, for the compiled
    backward only: ``e = exp(-|v|)`` as ``fm.sigmoid`` takes it, ``s = (1 or e) /
    (1 + e)`` and ``s (1 - s) = e / (1 + e)^2``.  Reason: speed.  Two sigmoids are
    two exps and two divisions an element: the kernel 0.83-0.91x the backward of
    ``F.gelu(approximate="tanh")`` at 1e7 float32, 1.07-1.09x with them
    (uncommitted probe); in eager, where each op is a pass, the two sigmoids are
    fewer (0.88 against 1.13 ms at 1e5).  The same error on float32 (at most 98
    ulp, at x = -9.4: 2u's rounding, as the forward's), and no flush to 0 where
    the derivative nears float32's smallest normal (x = -10.2)."""
    xc = x.clamp(-fm.GELU_LIM, fm.GELU_LIM)
    x2 = xc * xc
    v = (x2 * fm.GELU_B + fm.GELU_A) * xc
    e = torch.exp(-v.abs())
    r = 1.0 / (1.0 + e)
    s = torch.where(v >= 0, r, e * r)
    return g * (s + xc * (e * r * r) * (x2 * (3.0 * fm.GELU_B) + fm.GELU_A))


def _gelu_erf_fwd(x):
    # x Phi(x) of float32 x in float32, Phi(x) = erfc(t) / 2 with t = fl(-x / sqrt 2);
    # torch's own gelu, x (1 + erf(x / sqrt 2)) / 2, cancels for x < -1.  Rounding t
    # costs t^2 ulp (85 at x = -13), so erfc(t) is corrected to first order by t's
    # rounding error d: erfc(t + d) = erfc(t) (1 - d R(t)), R = 2/sqrt(pi) exp(-t^2) /
    # erfc(t) = 2t (1 + O(1/t^2)) for t > 0 (its own error is a fraction of the
    # correction, under 0.3 ulp), and 0 to an ulp for x > 0, where the correction is
    # dropped (it is formed from x clamped to [-40, 0]).  d is exact: one fused
    # multiply-add (torch.addcmul, checked by _fma_exact) and C's own rounding (rho).
    # Ten passes in float32, 3.4 ulp (every float32 of -9 <= x <= 6; below, the result
    # is under 1e-35); no float64 (which took five passes over 8-byte data, twice the
    # time at 1e7).  Where addcmul is not one rounding, that float64 form.
    if not _fma_exact(x.device, x.dtype):
        return _gelu_erf_fwd_via64(x)
    c = _device_scalar(_C32, x)
    xn = x.clamp(-40.0, 0.0)
    t = xn * c
    f = torch.addcmul(t, xn, c, value=-1.0, out=xn)    # t - x C32, exact: -d up to rho
    f.add_(t, alpha=-_RHO32)                            # -d
    torch.addcmul(_device_scalar(0.5, x), t, f, out=f)  # (1 - 2 t d) / 2
    torch.mul(x, c, out=t)
    _erfc(t, out=t).mul_(f)                             # Phi(x)
    # times x clamped below: x Phi(x) = -0 at -inf (not -inf * 0)
    return t.mul_(torch.clamp(x, min=-40.0, out=f))


def _gelu_erfc_in(x, work):
    """``x erfc(fl(-x / sqrt 2)) / 2`` computed in the wider dtype ``work`` and
    rounded once to ``x``'s: rounding ``t`` costs ``t^2`` ulp of ``work``, far below
    an ulp of ``x``'s dtype (float32 in float64: 0.5 ulp; a half dtype in float32:
    within 0.5001 ulp on every value).  Five passes: the clamp (gelu(-inf) = -0),
    the conversion, erfc in place, one addcmul rounds to ``x``'s dtype."""
    xw = x.clamp(min=-40.0).to(work)
    t = xw * -fm.INV_SQRT2
    _erfc(t, out=t)
    return torch.addcmul(_device_scalar(-0.0, xw), t, xw, value=0.5, out=torch.empty_like(x))


def _gelu_erf_fwd_via64(x):
    # x Phi(x) of float32 x in float64, rounded once (0.5 ulp)
    return _gelu_erfc_in(x, torch.float64)


def _gelu_half_erfc_fwd(x):
    """Exact GELU of a float16 or bfloat16 ``x`` on the framework path: in float32,
    rounded once (:func:`_gelu_erfc_in`); ``t``'s rounding is not corrected, as
    float32's own path must (its ten passes).  Reason: speed."""
    return _gelu_erfc_in(x, torch.float32)


def _gelu_half_erfc_bwd(x, g):
    """``g gelu'(x)`` of half ``x`` and ``g``: :func:`_gelu_erfc_grad` in float32, times
    ``g`` in float32, rounded once (every half value: within 0.5002 ulp, also at
    the sum's root, near which no half value lies close enough to matter)."""
    d = _gelu_erfc_grad(x, torch.float32)
    return torch.addcmul(_device_scalar(-0.0, d), g, d).to(g.dtype)  # (g may be batched)


# -- exact GELU of float64 tensors: erfc of the rounded argument, corrected -----------------
#
# Reason: speed.  The generic body's normal CDF (erf and erfcx, _special.ndtr_from_native)
# is some thirty ATen ops; here erfc(t), t = fl(-x / sqrt 2), is corrected to first order
# by t's rounding error d: erfc(t + d) = erfc(t) - d 2/sqrt(pi) exp(-t^2).  d comes from
# one fused multiply-add (t - x C rounded once is exact): torch.addcmul is one on the CPU
# (ATen's vectorised kernels use fmadd) and on CUDA (the compiler contracts it), and
# _fma_exact() checks that on this build and device before the path is used; where it is
# not, the generic body runs.  Ten passes instead of thirty.
_C64 = -0.7071067811865476                         # -1/sqrt(2) rounded


def _rounding_of(c):
    """The relative error of the double ``c`` as -1/sqrt(2) (40 digits of decimal)."""
    import decimal

    with decimal.localcontext() as ctx:
        ctx.prec = 40
        exact = -1 / decimal.Decimal(2).sqrt()
        return float((exact - decimal.Decimal(c)) / decimal.Decimal(c))


_RHO64 = _rounding_of(_C64)                          # -1/sqrt(2) = C (1 + rho)
_C32 = struct.unpack("f", struct.pack("f", _C64))[0]   # -1/sqrt(2) in float32
_RHO32 = _rounding_of(_C32)
_FMA: dict = {}


def _fma_exact(device, dtype):
    """Whether ``torch.addcmul(t, x, c, value=-1)`` is ``t - x c`` rounded once on
    ``device`` (checked once, on sizes that take the vectorised and the scalar code)."""
    key = (device.type, dtype)
    ok = _FMA.get(key)
    if ok is None:
        if device.type == "meta":
            # A meta tensor (torch.device("meta") model building, shape inference) has
            # no values to test (.tolist() raised "Cannot copy out of meta tensor"), and
            # needs none: every route gives the same shape and dtype.  False: the routes
            # that need no answer (exact GELU's float64 form, Dekker's product), valid
            # on any device.  Here, on a miss only: no other call pays for the test, and
            # a test that sets the key (meta standing in for a GPU) keeps its answer.
            _FMA[key] = False
            return False
        from fractions import Fraction

        vals = [(-1) ** i * (1.0 + i / 7.0) * 10.0 ** (i % 13 - 6) for i in range(77)]
        x = torch.tensor(vals, dtype=dtype, device=device)
        c = torch.tensor(_C64, dtype=dtype, device=device)
        t = x * c
        ok = True
        for n in (1, 3, 7, 16, 33, 77):
            d = torch.addcmul(t[:n], x[:n], c, value=-1.0).tolist()
            want = [float(Fraction(tv) - Fraction(xv) * Fraction(c.item()))
                    for tv, xv in zip(t[:n].tolist(), x[:n].tolist())]
            ok = ok and d == want
        ok = _FMA[key] = bool(ok)
    return ok


def _gelu_f64_parts(x, rest=False):
    """``(xb, 2 Phi(xb), exp(-t^2))`` for float64 ``x`` clamped to [-40, 40], ``t =
    fl(xb C)``; ``rest``: and ``r + 2 t d``, where ``t^2 = fl(t^2) + r`` and ``xb /
    sqrt 2 = t + d``, with which ``exp(-xb^2 / 2)`` is ``exp(-fl(t^2)) (1 - r - 2 t
    d)`` to first order (:func:`_gelu_f64_bwd`)."""
    xb = x.clamp(-40.0, 40.0)
    t = xb * _C64
    dn = torch.addcmul(t, xb, _device_scalar(_C64, xb), value=-1.0)  # t - x C, exact
    dn.add_(t, alpha=-_RHO64)                                 # -(d): the rest of 1/sqrt 2
    g = torch.addcmul(_device_scalar(-0.0, xb), t, t, value=-1.0)
    c = torch.addcmul(g, t, t).addcmul_(t, dn, value=-2.0) if rest else None  # r - 2 t dn
    g.exp_()
    return xb, _erfc(t).addcmul_(dn, g, value=fm.TWO_OVER_SQRT_PI), g, c


def _gelu_f64_fwd(x):
    _, phi2, _, _ = _gelu_f64_parts(x)
    # times x clamped below only: x Phi(x) = x above 40, -0 at -inf (not -inf * 0);
    # (x / 2) first, exactly, so that a subnormal result is rounded once
    return torch.addcmul(_device_scalar(-0.0, x), x.clamp(min=-40.0), phi2, value=0.5)


def _gelu_f64_bwd(x, g):
    # d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi), whose
    # exp(-t^2) is corrected for the roundings of t = x / sqrt 2 and of t^2: they sent
    # |t^2| ulp into the left tail, where x phi(x) is the derivative (1847 ulp at x =
    # -37.3, the generic body's derivative 9; decision 209)
    xb, phi2, e, c = _gelu_f64_parts(x, True)
    e.addcmul_(e, c, value=-1.0)
    return g * e.mul_(xb).mul_(fm.INV_SQRT_2PI).add_(phi2, alpha=0.5)  # g may be batched


def _gelu_erfc_grad(x, work):
    """``gelu'(x) = erfc(t) / 2 + x phi(x)`` in the wider dtype ``work``."""
    xw = x.to(work).clamp_(-40.0, 40.0)
    p = _erfc(xw * -fm.INV_SQRT2).mul_(0.5)
    pdf = torch.exp(xw.square() * -0.5).mul_(fm.INV_SQRT_2PI)
    return p.add_(pdf.mul_(xw))


def _gelu_erf_bwd(x, g):
    return g * _gelu_erfc_grad(x, torch.float64).to(g.dtype)


def _glu_rows(x3):
    """glu of ``x3``, the input viewed as ``(outer, 2, m)``: torch's own (one
    pass; its gate flushes below the smallest normal, as decision 89 allows), the
    forward of the CPU tier's training pair (``kernels.own``; at 1e7 float32 the
    compiled loop took 1.8-1.9x ``F.glu``)."""
    return _glu(x3, 1)


def _glu_rows_bwd(x3, g):
    """glu's gradient at ``x3`` (``(outer, 2, m)``) for the cotangent ``g`` (``(outer,
    m)``), both halves, in seven ATen passes: ``g s`` and ``(a (s q)) g``, ``s =
    sigmoid(b)``, ``q = sigmoid(-b)`` (no ``1 - s``: relative accuracy in both
    tails).  ``a s'`` first: no overflow (``s' <= 1/4``), where ``g a`` first
    overflowed at ``a = 3.4e38, g = 3`` and ``g s q`` first underflowed at ``a =
    1e20, b = 60, g = 1e-20``; torch's float32 sigmoid is 0 beyond +-88.7, where the
    gate's derivative is within the flush floor (decision 89).  The framework path's
    training backward in float32 and float64 (with :func:`_glu_rows` forward).
    Reason: speed; autograd of the generic body assembled each half's gradient
    apart (1e5 float32 with the forward: 1.9-2.4x ``F.glu``'s pair, from 3.3-4.4x)."""
    a, b = x3[:, 0], x3[:, 1]
    if _is_compiling():  # compiled autograd traces it: no out= into a strided half
        s = _sigmoid(b)  # (the same products in the same order, the same bits)
        return torch.stack((s * g, _sigmoid(torch.neg(b)) * s * a * g), 1)
    out = torch.empty_like(x3)
    ga, gb = out[:, 0], out[:, 1]
    _sigmoid(b, out=ga)
    torch.neg(b, out=gb)
    gb.sigmoid_().mul_(ga).mul_(a).mul_(g)
    ga.mul_(g)
    return out


#: exact GELU's compiled kernels work one dtype wider than the tensor's
_GELU_WORK = {torch.float32: torch.float64, torch.float16: torch.float32,
              torch.bfloat16: torch.float32}


def _gelu_erf_wide(x):
    """Exact GELU of a float32, float16 or bfloat16 ``x`` in the compiled loop that
    reads and writes ``x``'s dtype (``kernels.own``; no erfc, no wider tensor):
    float32 by :func:`_gelu_erf_f32`; half tensors by ``_special.gelu_rational`` in
    float32, rounded once (decision 82: bfloat16 524288 2.95x ``F.gelu``, 5.42x
    through erfc).  Reason: speed."""
    if x.dtype == torch.float32:
        return _gelu_erf_f32(x)
    return _special.gelu_rational(NS, x.to(_GELU_WORK[x.dtype])).to(x.dtype)


def _gelu_erf_f32(x):
    """Exact GELU of a float32 ``x``: ``x - a T g`` (``x >= 0``) or ``-a T g``, ``a =
    |x|`` capped at 40, ``T = P(a) / Q(a)`` (``_special.gelu_ratio``), ``g = exp(-a^2
    / 2)``.  ``a^2 / 2`` is exact in float64 and split there, ``hs + hl``: ``exp(-hs)``
    in float32 and the rest, ``a T (1 - hl)`` (the first order of ``exp(-hl)``, ``hl``
    below 4e-6), in float64, rounded once.  Reason: speed, within the bound
    (decision 109: 2.33 ulp on every float32 of [-14.5, 12], against 5.5; 1e6
    elements 2.9x ``F.gelu``, 1e7 1.46x, where the whole formula in float64, 0.585
    ulp, took 4.1x and 1.71x).  Float64 is what the rational's sums need: in float32
    they alone are off by up to 6.7 ulp, the whole by 7.4."""
    d, hs, c, _ = _half_square_split(x)
    at = (d * _special.gelu_ratio(NS, d) * c).to(torch.float32) * NS.exp(-hs)
    return NS.where(x >= 0, x - at, -at)  # (+-0 keep their sign)


def _half_square_split(x, shift_above=None):
    """``(d, hs, c, far)`` of a float32 ``x`` for the float32 kernels' ``exp(-a^2 /
    2)``, ``a = |x|`` capped at 40: ``d = a`` in float64, ``h = d^2 / 2`` (exact: 48
    bits) split as ``hs`` (float32, the argument of the kernel's float32 ``exp``) and
    ``hl = h - hs`` (exact: what rounding 48 bits to 24 leaves fits in float64),
    whose ``exp(-hl)`` is ``c = 1 - hl`` to first order (``hl`` below 4e-6), for the
    caller's float64 product.  ``shift_above``: where ``h`` is above it (``far``),
    ``h - 16`` is split instead (exact: both are multiples of ``h``'s last bit), and
    the caller multiplies by ``_E_M16``.  Reason: one float32 ``exp``, where
    ``_special``'s ``_exp_half_square`` (one dtype throughout) takes an ``exp`` and
    an ``expm1``.  (An Inductor that folded ``hs``'s round trip to ``h`` would make
    ``hl`` 0: the kernel test's bounds, 40 ulp off at a = 13, would catch it.)"""
    a = x.abs()
    d = NS.where(a > 40.0, 40.0, a).to(torch.float64)
    h = (d * d) * 0.5
    far = None
    if shift_above is not None:
        far = h > shift_above
        h = NS.where(far, h - 16.0, h)
    hs = h.to(torch.float32)
    return d, hs, 1.0 - (h - hs.to(torch.float64)), far


def _gelu_erf_wide_bwd(x, g):
    """``g gelu'(x)`` of float32 or half ``x`` and ``g`` (as :func:`_gelu_erf_wide`):
    float32 by :func:`_gelu_erf_f32_bwd`; half tensors by
    ``_special.gelu_derivative_rational`` in float32, rounded once (bfloat16 with
    the forward: 2.05x ``F.gelu``'s pair, 4.08x through erfc in float32)."""
    if x.dtype == torch.float32:
        return _gelu_erf_f32_bwd(x, g)
    xw = x.to(torch.float32)
    return (g.to(torch.float32) * _special.gelu_derivative_rational(NS, xw)).to(g.dtype)


#: e^-16 in float64: where a^2/2 > 64 the backward's float32 exp takes a^2/2 - 16,
#: so that its result is normal wherever the derivative is (up to a = 14.4; unshifted,
#: exp(-a^2/2) is subnormal above a = 13.2, where a phi(a) is not: 4.7 raw ulp at
#: -13.3).  Not below: there exp(16) and the factor e^-16 would round twice more, and
#: gelu'(0) came out 2 ulp under 1/2
_E_M16 = math.exp(-16.0)


def _gelu_erf_f32_bwd(x, g):
    """``g gelu'(x)`` of float32 ``x`` and ``g``: ``t = exp(-a^2 / 2) H(a)`` (``x <
    0``) or ``1 - t``, ``a = |x|`` capped at 40, ``H = (A0 - a) P(a) / Q(a)``
    (``_special.gelu_slope``: one rational through the derivative's root, decision
    104) and the factor ``1 - hl`` in float64, rounded once, ``exp`` in float32
    (:func:`_gelu_erf_f32`'s split; shifted by 16 where ``a^2 / 2 > 64``).  Reason:
    speed, within 2.40 raw ulp on every float32 of [-15, 12] (decision 109; 1e6
    1.9-2.2x ATen's ``gelu_backward``, 1e7 1.4x, where decision 104's float64 form,
    0.5013 ulp, took 2.5-3.0x and 1.6-1.7x)."""
    d, hs, c, far = _half_square_split(x, shift_above=64.0)
    k = _special.gelu_slope(NS, d) * c
    t = NS.where(far, k * _E_M16, k).to(torch.float32) * NS.exp(-hs)
    return g * NS.where(x < 0, t, 1.0 - t)


def _geglu_erf_wide(x3):
    """Exact geglu of a float32 or half ``x3`` (the input viewed as ``(outer, 2,
    m)``): ``gelu(a) b`` one dtype wider (:func:`_gelu_erf_wide`'s rational),
    rounded once, in one compiled loop (``kernels.own``).  Reason: speed; the
    generic body's compiled loop ran erfc in float32 (1e7 float32: 1.74x ``F.gelu(a)
    * b``, two passes against its one), and accuracy (one rounding, not two)."""
    w = _GELU_WORK[x3.dtype]
    a, b = x3[:, :1].to(w), x3[:, 1:].to(w)  # ((outer, 1, m): the generic body's shape)
    return (_special.gelu_rational(NS, a) * b).to(x3.dtype)


def _soft_shrink(x, lambd):
    """soft_shrink as ``x - clamp(x, -lambd, lambd)``: two native ops, +0 in the band
    (torch's softshrink gives -0 at negative x there), NaN kept."""
    return x - x.clamp(-lambd, lambd)


def _sigmoid_pair(x):
    """``(sigmoid(x), qs)``: ``qs`` is ``sigmoid(-|x|)`` with the sign of ``-x``."""
    # the sign of -x by copysign, not a select (torch.where branches per element on
    # CPU: _where_bits); at x = -0 the sign differs from x >= 0's, where nothing reads
    # it (q (1 - q) and its derivative, (1 - 2q) = 0, do not depend on it).  In place
    # on |x|: at 1e5 elements every new tensor costs its page faults, as much as an op.
    return _sigmoid(x), x.abs().neg_().sigmoid_().copysign_(x).neg_()


def _sigmoid_bwd(qs, g):
    """``g sigmoid'(x)`` from the saved ``qs``: ``q (1 - q)``, as ``q - q^2``, accurate
    in both tails."""
    q = qs.abs()
    if torch.is_grad_enabled():  # create_graph: differentiable ops, the same bits
        return g * torch.addcmul(q, q, q, value=-1.0)
    # the same product, q - q^2 in one pass in place on |qs| (q^2 <= q / 2: no
    # cancellation), and g's product too where _into allows (decision 203; g may be
    # batched: gradcheck's batched grad).  Three passes, where 1 - q, its product
    # and g's were five (decision 217)
    s = q.addcmul_(q, q, value=-1.0)
    return s.mul_(g) if _into(g, s) else g * s


def _sigmoid_bwd_of_x(x, g):
    """The same from ``x`` (what the CPU tier's kernel pair saves: decision 68):
    ``q = sigmoid(-|x|)`` recomputed in the backward kernel.  Reason: speed.  The
    pair then writes one tensor forward (torch's sigmoid) and reads two backward,
    as torch's own; saving ``q`` costs the forward a second output (1e7 float32:
    forward plus backward 1.5-1.8x torch's, from the page faults of that tensor)."""
    return _sigmoid_bwd(_sigmoid(x.abs().neg()), g)



# -- the framework paths of the softmax family -------------------------------------------

def _lse(x, dim, m):
    """``log(sum(exp(x - m)))`` along ``dim`` for slices with a finite max ``m``: the
    generic body's split sum (``fm.unit_sums``, ``fm.log_abs``), ``T`` the count of
    the maxima (each term exactly 1) and ``R`` the sum of the rest, apart.  What
    differs is which slices are summed apart, and how.  ``S = sum(exp(x - m))`` in
    the tensor's dtype is within some 18 eps of itself (torch.sum's cascade:
    _CASCADE; it loses the terms below half an ulp of a partial sum that holds a
    large term), so its log within as many eps absolute, 4.5 ulp of a result or
    maximum of magnitude 4 or more; a slice of ``n < 25`` entries within ``n - 1``
    half eps (any order of a sum of positive terms), as far from 0 as ``(n - 1) /
    6``.  Where both are below that (a slice near 0), and where ``S < 1.5``
    (``log1p(R)``), the slices are split, ``T`` and ``R`` summed in float64 (a
    float32 slice's terms: none is lost; a float64 slice's rest is torch's float64
    sum, which loses as the float32 one did, past the bound only on slices of
    millions of entries: decision 214): gathered, or where most slices are such,
    every slice in place.  Reason: speed and accuracy.  The split of every
    slice in the tensor's dtype took 2.2x the time of this path's forward at 1e7
    float32 (rows of 10000 entries of randn, none of them split here), and still
    lost the terms below half an ulp of the rest's own partial sums (``[0, -0.6] +
    [-16.2] * 3000`` in float32: 14.9 ulp); ``log(S)`` in float32 was 16.6 ulp on
    ``[0, 0] + [-16.6] * 300``, the bound 12 (decision 214).  Up to _SPLIT_ALL
    elements, where an op's fixed cost is most of its time, every slice is split
    and the host read is skipped."""
    if x.numel() <= _SPLIT_ALL:
        return _lse_split(x, m, dim).to(x.dtype)
    e = torch.sub(x, m).exp_()
    s = _slice_sum(e, dim)  # (float64 past 2^20 entries: 96 ulp of a peaked slice's
    # logsumexp at 2^22 with torch.sum's float32 cascade)
    lse = torch.log(s)
    near = _LSE_APART * min(x.shape[dim] - 1, 24) / 24  # (short slices: n - 1 roundings)
    apart = (s < 1.5) | ((m.abs() < near) & ((m + lse).abs() < near))
    many = int(apart.sum())
    if 2 * many > apart.numel():  # most slices: each in place, no gather
        del e
        return torch.where(apart, _lse_split(x, m, dim).to(x.dtype), lse)
    if many:
        pick = apart.movedim(dim, -1).squeeze(-1)  # the slices to split, gathered
        xs, ms = x.movedim(dim, -1)[pick], m.movedim(dim, -1)[pick]
        lse.movedim(dim, -1)[pick] = _lse_split(xs, ms, -1).to(lse.dtype)
    return lse


def _lse_split(x, m, dim):
    """_lse's split of the slices of ``x`` (maxima ``m``) along ``dim``: the maxima
    counted and the rest of ``exp(x - m)`` summed apart, both in float64, and their
    log (``fm.log_abs``), in float64.  The shift does not round: a float32 slice's
    is taken in float64 (exact, and so its exp: one conversion more), a float64
    slice whose maximum is near 0 (``fm.SHIFT_ERROR_NEAR``) is shifted by 0 and its
    rest scaled by ``e^-m`` (``fm.scaled_by_exp``; a few ops more, on one value a
    slice, where the generic body adds each term's shift error, ``fm.shift_error``,
    four ops an entry; this forward has its own backward).  Reason: accuracy.  These
    are the slices near 0, where the rounded shift was 17 ulp of float32 results and
    62 of float64 ones (the bounds 12 and 40; decision 215)."""
    top = x == m
    t = top.sum(dim, keepdim=True, dtype=torch.float64)  # (exact: a count)
    if x.dtype == torch.float32:
        r = x.double().sub_(m).exp_().masked_fill_(top, 0.0)
        r = r.sum(dim, keepdim=True)
    else:
        lo = torch.where(m.abs() < fm.SHIFT_ERROR_NEAR, m, 0.0)
        r = torch.sub(x, m - lo).exp_().masked_fill_(top, 0.0)
        r = fm.scaled_by_exp(NS, r.sum(dim, keepdim=True), lo)
    return fm.log_abs(NS, t, r)[0]


#: _lse splits the slices whose result and maximum are both below this in magnitude:
#: torch.sum's cascade of a slice is within some 18 eps of the sum (_CASCADE), and
#: its log within as many eps absolute, 4.5 ulp of a result of 4 or more (an ulp is
#: 4 eps there; the bounds 12 and 40)
_LSE_APART = 4.0


#: log_softmax: torch's value is kept where every entry of the slice is below
#: -NEAR0.  torch's value is off by the error of its log(S), S the slice's sum,
#: which is some eps of S (its rounding, the terms' exp, the summation): near the
#: largest entry, y ~ -log(S), that is eps / |y| of y, 2 / |y| ulp an eps of error
#: (1/2 ulp at -0.03 was 17 ulp for the rounding of S alone, and measured up to 613
#: ulp with the rest; the bound is 64).  A slice closer to 0 is computed again
#: (_near0_slices).
_LOG_SOFTMAX_NEAR0 = 0.5
#: softmax's and log_softmax's eager checks of torch's output: from this size on,
#: one pass over it costs more than one more op
_LARGE = 1 << 16
#: torch's softmax and log_softmax along an axis other than the last sum each
#: slice in order, one term after another: past this length their sum may be off
#: by more than the bound (kernels.LONG_ROW's reason; along the last axis that
#: limit is kernels.long_row, where each vector lane sums a part of the row; for
#: the half dtypes this one is as many times longer).
_ACROSS = 32


#: _lse and log_softmax split every slice (no host read, no gather of the slices
#: that need it) up to this many elements
_SPLIT_ALL = 1 << 14


#: torch.sum's float32 cascade is off by at most 18 eps of a peaked slice's sum up to
#: this length (measured 2^14-2^20, last axis and across), and by more past it (97
#: eps at 2^22 across): longer float32 slices are summed in float64 (_slice_sum)
_CASCADE = 1 << 20


def _slice_sum(t, dim):
    """The sums of ``t``'s slices along ``dim`` (kept), within some eps: torch.sum's
    cascade, in float64 for a float32 slice longer than _CASCADE."""
    if t.dtype == torch.float32 and t.shape[dim] > _CASCADE:
        return t.sum(dim, keepdim=True, dtype=torch.float64).to(t.dtype)
    return t.sum(dim, keepdim=True)


def _in_order(x, dim, dtype=None):
    """Whether torch's sum of each slice of ``x`` along ``dim`` (in its softmax and
    log_softmax) is within the bound of ``dtype`` (default ``x``'s; a half input's
    where ``x`` is its float32 copy): at most ``kernels.long_row`` entries along
    the last axis, _ACROSS across (as many times longer for a half dtype as its
    long_row is: the same margin)."""
    limit = _k.long_row(_k._dtype_name(dtype or x.dtype))
    return x.shape[dim] <= (limit if dim == x.ndim - 1 else _ACROSS * limit // _k.LONG_ROW)


def _log_softmax_eager(x, dim, dtype=None):
    """torch's log_softmax, with the slices it gets wrong computed again: those
    whose largest entry is near 0 (_near0_slices), and a NaN slice (+inf entries,
    nothing to sum) by the generic body; slices too long for torch's sum
    (_in_order; ``dtype``: the caller's, where ``x`` is a half tensor's float32
    copy) all by the split sum.  The result is contiguous, as torch's is: the split
    sum's took a channels_last ``x``'s layout, so the layout hung on the values
    (decision 166); torch's kernel makes ``x`` contiguous first anyway."""
    x = x.contiguous()
    if not _in_order(x, dim, dtype):
        m, i = x.max(dim, keepdim=True)  # (torch.max's index: argmax was 2.5x as slow)
        if math.isfinite(float(m.sum())):  # (a sum that overflows: the generic body)
            return _split_sum(x, dim, m, i)
        return _Rd.log_softmax(NS, x, (dim,), None, None)
    y = _log_softmax(x, dim)
    # Each slice's largest entry first, where y is large: one pass over y whether
    # or not a slice is near 0 (a bad slice cost two, 1.37x F.log_softmax at 1e7
    # with 9 of 10000 rows bad, 1.21x so).  A small y checks its maximum alone
    # first: one op less where none is (16 elements: 4.1x F.log_softmax, 5.2x).
    top = y.amax(dim, keepdim=True) if y.numel() >= _LARGE else y
    largest = float(top.max())  # NaN where a slice is NaN
    if largest <= -_LOG_SOFTMAX_NEAR0:  # every slice (NaN compares False)
        return y
    if largest == largest and (x.shape[dim] == x.numel() or x.numel() <= _SPLIT_ALL):
        # one slice, near 0; or a small tensor (no NaN slice) with one near 0: the
        # split sum of every slice, where finding and merging the near ones cost more
        # ops than it saves (float32 of randn * 8: (32, 10) 49 us, now 28; (256, 10)
        # 80, now 54; (64, 100) 64, now 38)
        return _split_sum(x, dim, *x.max(dim, keepdim=True))
    if top is y:
        top = y.amax(dim, keepdim=True)
    near = top > -_LOG_SOFTMAX_NEAR0
    last = dim == x.ndim - 1
    if largest != largest:  # (three ops fewer where no slice is NaN)
        nan = top != top
        if last:  # only those rows
            n = x.shape[-1]
            rows = nan.view(-1).nonzero().view(-1)
            fixed = _Rd.log_softmax(NS, x.reshape(-1, n).index_select(0, rows), (1,), None,
                                    None)
            y.view(-1, n).index_copy_(0, rows, fixed)
        else:
            y = torch.where(nan, _Rd.log_softmax(NS, x, (dim,), None, None), y)
    rows = near.view(-1).nonzero().view(-1) if last else None
    if last and 2 * rows.numel() < near.numel():  # a few rows: only those
        n = x.shape[-1]
        y.view(-1, n).index_copy_(0, rows, _near0_slices(
            x.reshape(-1, n).index_select(0, rows), 1))
    elif last:  # most rows: every row, then torch's (or the NaN rows' fix) back into
        # the others (where a select over the whole took 69 us of 290 on (1024, 128)
        # float32 of randn * 8, 760 rows near)
        n = x.shape[-1]
        out = _near0_slices(x, dim)  # (x is contiguous: its rows are viewed below)
        if rows.numel() < near.numel():
            far = near.view(-1).logical_not().nonzero().view(-1)
            out.view(-1, n).index_copy_(0, far, y.view(-1, n).index_select(0, far))
        return out
    elif bool(near.any()):
        y = torch.where(near, _near0_slices(x, dim), y)
    return y


def _near0_slices(x, dim):
    """log_softmax of the slices of ``x`` (finite maxima) whose sum S = 1 + R is
    below 1.65 (largest output above -0.5): one maximum (two would make S >= 2),
    and the split sum (_split_sum), where torch rounds 1 + R before its log."""
    return _split_sum(x, dim, *x.max(dim, keepdim=True))  # (torch.max's index:
    # argmax was 2.5x as slow; amax, an eq and a masked fill, 1.4x on 1024 x 128)


def _split_sum(x, dim, m, i):
    """log_softmax of ``x`` along ``dim`` with the slices' finite maxima ``m`` at
    ``i``: ``x - m - log1p(R)``, R the sum of the other entries' exp(x - m)
    (_slice_sum), as the generic body's split sum computes it where a slice
    has one maximum; with more (where S >= 2 and ``log1p`` has nothing to keep)
    R counts them but one, the same to an ulp of log(S).  Five passes (the
    maximum, exp of the difference, the sum, the difference again into exp's
    tensor, log1p(R) off it), where the generic body took a dozen (peaked logits,
    256 x 1000 float32, most slices near 0: 2.7 ms, 0.6 ms so).  The difference is
    taken twice, not kept: one tensor fewer, whose page faults cost more than the
    pass at 1e7 (1.70-1.95x F.log_softmax, 2.3-2.5x kept; 6% slower at 1e5)."""
    e = torch.sub(x, m).exp_()
    r = _slice_sum(e.scatter_(dim, i, 0.0), dim)
    return torch.sub(x, m, out=e).sub_(torch.log1p(r))


def _plain(x, axes, *params):
    """The framework fast path applies: an eager CPU tensor (a host check costs
    nothing there), one axis, no mask/initial/b, not empty."""
    if not x.is_cpu or len(axes) != 1 or x.dtype not in _FLOATS or not eager(x) \
            or x.numel() == 0:  # (after eager: a traced tensor's size is no Python int)
        return False
    for p in params:
        if p is not None:
            return False
    return True


def _softmax_eager(x, axis, where, initial):
    """torch's softmax, its slices too long for its sum (_in_order) divided by
    their sum (_slice_sum), and its NaN slices (+inf entries, nothing to
    sum) by the generic body.  A half tensor's rows (the last axis) within
    _in_order take torch's half kernel, which sums in float32 and rounds once
    (within 0.51 ulp on randn rows of 16-4096 entries, scaled by 1, 5 and 20);
    its other slices go through float32 (along another axis torch's half kernel
    rounds the part of each slice its vector loop leaves over in half precision:
    1.36 ulp of bfloat16 on (3, 50, 31) along axis 1, against the bound of 1).
    Reason: speed (bfloat16 256 x 2048 with backward: 2.3x F.softmax through
    float32, 1.13x so).

    With a mask ``where`` (of ``x``'s shape or one that broadcasts to it): the same
    of ``x`` with the entries left out at -inf, whose exp is 0 (their NaN and
    infinities go with them); a slice with nothing left is NaN there, and takes the
    generic body (0s).  Reason: speed; masked attention's ``softmax(s, where=m)``
    took the generic body's dozen passes, 12-23x torch's softmax of
    ``s.masked_fill(~m, -inf)``, 5-14x with backward (decision 173).

    The result is contiguous, as torch's is, whatever the values: the generic
    body's for a NaN slice took a transposed ``x``'s layout (decision 221)."""
    x = x.contiguous()
    xs = _masked_out(x, axis, where, initial)
    if xs is None:  # (the mask contiguous too: a channels_last one made the body's
        # output channels_last, in a graph Dynamo traces; decision 233)
        return _Rd.softmax(NS, x, axis, where.contiguous() if isinstance(
            where, torch.Tensor) else where, initial)
    x_in, x = x, xs
    dim = axis[0]
    long = not _in_order(x, dim)
    xw = x.float() if x.dtype in _HALF and (long or dim != x.ndim - 1) else x
    y = _softmax(xw, dim)
    if long:
        # torch's y is e / S' for the S' it summed: the sum of y is S / S', and y
        # divided by it is e / S, within _slice_sum's error (its lowest level sums
        # 16 terms a lane in order), where softmax's own sum was off by n / lanes
        # ulp.  Two more passes: 1.25-1.76x F.softmax, where the generic body was
        # 6-7.5x.
        s = _slice_sum(y.detach(), dim)
        total = float(s.sum())  # (a NaN slice sums to NaN: no check of y below)
        if total != total:
            return _Rd.softmax(NS, x_in, axis, where, initial)
        y = y / s if torch.is_grad_enabled() and y.requires_grad else y.div_(s)
        return _autocast_kept(y, x)
    # torch's softmax is NaN exactly where a slice holds +inf, NaN, or nothing
    # finite: those take the generic body's limits.  Such a slice's sum is NaN, so
    # each of its entries is: a large y's slices' first entries tell (a sum of all
    # of y was one more pass: 1.16x F.softmax at 1e7, 1.03x so; the view costs
    # 1 us, a sixth of a 16-element call)
    yd = y.detach()
    total = float((yd.select(axis[0], 0) if yd.numel() >= _LARGE else yd).sum())
    if total != total:
        return _Rd.softmax(NS, x_in, axis, where, initial)
    return _autocast_kept(y, x_in)


def _masked_out(x, axis, where, initial):
    """``x`` for softmax's, log_softmax's and logsumexp's framework paths (:func:`_plain`), with
    the entries that ``where`` leaves out at -inf; None where those paths do not
    apply (not :func:`_plain`, a mask that is not bool, or one that would broadcast
    ``x`` to a larger shape; ``initial`` is always None here, decision 177).  The generic body's values for that input are the masked ones, its
    NaN slices' too (decision 173)."""
    if where is None:
        return x if _plain(x, axis, initial) else None
    if not _plain(x, axis, initial) or where.dtype != torch.bool or not eager(where) or \
            torch.broadcast_shapes(where.shape, x.shape) != x.shape:
        return None
    return x.masked_fill(torch.logical_not(where), float("-inf"))


# -- standardize ----------------------------------------------------------------------

def _layer_norm_dims(x, axis):
    """How many trailing dimensions ``axis`` is (``F.layer_norm``'s
    ``normalized_shape``), or 0 where it is not a run of trailing dimensions or
    the call is not a plain eager CPU one of float32 or float64 (torch's half
    kernels give ``x rstd - mean rstd``, rounded: -640 where 0 is right, on a
    constant bfloat16 row of 1e8)."""
    k = len(axis)
    if not k or not x.is_cpu or x.dtype not in _WIDE or not eager(x) or x.numel() == 0 \
            or sorted(a % x.ndim for a in axis) != list(range(x.ndim - k, x.ndim)):
        return 0
    return k


def _standardize_centred(x, k, epsilon):
    """standardize over the last ``k`` dimensions (the data's own mean and variance, no
    mask): ``d = x - mean(x)`` times the ``rstd`` of torch's layer norm of ``d``, or
    None where a slice's moments are not finite (an infinite or NaN entry, a variance
    that overflows: the layer norm gives NaN there, where the generic body's limits are
    the contract's).  The two-pass variance: the mean, then Welford's sums over the
    deviations for ``rstd`` (of ``x`` itself Welford's running sums drift on sorted rows
    with a mean, 4.5 units over a bound of 2.5: decision 87), and ``(d - mean(d))
    rstd``.  Reason: speed of the framework path (below the tier, and above it until
    the row kernel is ready): seven passes, where the generic body takes some ten ops
    (decision 88).  Epsilon 0 on a constant slice: the generic body's limits (``rstd``
    is inf, and ``d - mean(d)`` 0: NaN)."""
    dims = tuple(range(x.ndim - k, x.ndim))
    d = torch.sub(x, x.mean(dims, keepdim=True))
    _, mean, rstd = torch.native_layer_norm(d, d.shape[x.ndim - k:], None, None, epsilon)
    # finite means and 0 < rstd <= inf (epsilon 0 on a constant slice: inf, and d
    # inf out, the generic body's limits), in one check: mean + 1 / rstd is finite
    # (1 / rstd is at most the largest finite sqrt(var + epsilon))
    if not bool(torch.isfinite(mean + rstd.reciprocal()).all()):
        return None
    # (d - mean(d)) rstd: the deviations corrected by the generic body's compensation
    # term, torch's own sum of them (a constant float32 row of 1.1e18 gave 2.2e13 for
    # 0: the mean's rounding over sqrt(epsilon); decision 160). Not the layer norm's
    # mean of d: it is merged from its vector lanes' and the row's last entries',
    # summed apart, which cancels where those entries lie far out (one 1.0 after
    # 100000 zeros: 6.2 units float64, 4.2 float32; a sine row ending in 3e5: 37)
    # and moves every output by as much (decision 88)
    return d.sub_(d.mean(dims, keepdim=True)).mul_(rstd)
