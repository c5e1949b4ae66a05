"""PyTorch: native kernels where they meet the contract, fused kernels where
they do not, and the generic body wherever PyTorch transforms the call.

Every special case below chooses one of three routes:

* **eager inference** (a plain ``Tensor``/``Parameter``, no gradient recorded,
  no ``torch.compile``/``jit.trace``/``torch.func``/forward-AD): the fastest
  forward that gives the contract's values: a native kernel, a fused kernel
  (``multiact.kernels``), or the shortest chain of native ops;
* **eager training** (the same, recording a gradient): an
  ``autograd.Function`` with that forward and an accurate backward, saving
  what PyTorch saves (``jvp`` and ``vmap`` rules included; a double backward
  recomputes through the generic body, which is differentiable as written);
* **everything else** (``torch.compile``, ``torch.export``, ``jit.trace``,
  ``torch.func``, forward-mode AD, tensor subclasses such as ``DTensor``): the
  generic body, plain ATen ops whose derivatives are the contract's at every
  order, with no data-dependent branch (traced graphs are the same on every
  call and can be saved), no custom op (exported programs load without
  multiact), and nothing a compiler cannot fuse.  Native kernels whose own
  derivative is accurate are used on every route.

The native kernels are bound when this module loads (``torch._C`` entry
points, not ``torch.nn.functional``), so a user who patches
``torch.nn.functional`` with multiact's functions does not make multiact call
itself.
"""

from __future__ import annotations

import math
import sys
import time

import array_api_compat.torch as _xp
import torch
import torch.autograd.forward_ad as _fwd_ad

from .._agnostic import _formulas as fm
from .._agnostic import _special
from .. import kernels as _k
from . import Backend, Generic, Namespace, Registry

_VF = torch._C._VariableFunctions
_nn = torch._C._nn

# -- native kernels, bound at load ------------------------------------------------------
_relu, _celu, _selu, _tanh, _sigmoid = _VF.relu, _VF.celu, _VF.selu, _VF.tanh, _VF.sigmoid
_softmax, _log_softmax = _VF.softmax, _VF.log_softmax
_relu6, _hardtanh, _leaky_relu, _elu = _nn.relu6, _nn.hardtanh, _nn.leaky_relu, _nn.elu
_softplus, _log_sigmoid, _hardsigmoid = _nn.softplus, _nn.log_sigmoid, _nn.hardsigmoid
_silu, _silu_, _hardswish, _mish = _nn.silu, _nn.silu_, _nn.hardswish, _nn.mish
_silu_backward = torch.ops.aten.silu_backward
_erf, _erfc, _erfcx = torch.special.erf, torch.special.erfc, torch.special.erfcx


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


PRIMITIVES = {"ndtr": _ndtr, "maximum": _maximum, "clip": _clip}

_SCALARS: dict = {}


def _scalar(v, like):
    """``v`` as a 0-d tensor of ``like``'s dtype, cached, on the CPU (which every
    device accepts for a 0-d operand).  Reason: speed on small tensors.  An op
    with a Python float converts it to a Scalar, which costs as much as the op
    itself on 16 elements; a 0-d tensor of the same dtype gives the same bits."""
    key = (v, like.dtype)
    t = _SCALARS.get(key)
    if t is None:
        t = _SCALARS[key] = torch.tensor(v, dtype=like.dtype)
    return t
NS = Namespace(_xp, "torch", PRIMITIVES)
G = Generic(NS)
SPECIAL = Registry("torch")

# Tuples, not sets: torch.compile traces `dtype in tuple` without a graph break.
_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
_HALF = (torch.float16, torch.bfloat16)
_NOT_NATIVE = (torch.bool, torch.complex64, torch.complex128, torch.complex32)
_PLAIN = (torch.Tensor, torch.nn.Parameter)

_is_compiling = torch.compiler.is_compiling
_is_tracing = torch._C._is_tracing
_functorch_active = torch._C._are_functorch_transforms_active


def eager(x) -> bool:
    """A plain tensor in plain eager mode (the first two routes)."""
    return (type(x) in _PLAIN and not _is_compiling() and not _is_tracing()
            and not _functorch_active() and _fwd_ad._current_level < 0)


def recording(x) -> bool:
    return x.requires_grad and torch.is_grad_enabled()


# -- native kernels: right values and derivatives on every route ---------------------------

@SPECIAL.register("relu", reason="speed: torch.relu, whose backward gives relu'(0) = 0")
def relu(x):
    try:
        return _relu(x)
    except RuntimeError:  # bool and complex dtypes: the generic body promotes or raises
        return G.relu(x)


@SPECIAL.register("relu6", reason="speed: relu6 is hardtanh(0, 6), whose backward is 0 at "
                                  "both kinks; keeps integer dtypes and NaN")
def relu6(x):
    if x.dtype in _NOT_NATIVE:
        return G.relu6(x)
    return _relu6(x)


@SPECIAL.register("hard_tanh", reason="speed: hardtanh's backward is 0 at +-1")
def hard_tanh(x):
    if x.dtype in _NOT_NATIVE:
        return G.hard_tanh(x)
    return _hardtanh(x, -1.0, 1.0)


@SPECIAL.register("leaky_relu", reason="speed: backward `x > 0 ? g : g * slope` (slope at 0)")
def leaky_relu(x, negative_slope=0.01):
    if x.dtype in _FLOATS and type(negative_slope) is float:
        return _leaky_relu(x, negative_slope)
    return G.leaky_relu(x, negative_slope)


@SPECIAL.register("elu", reason="speed: elu uses expm1 forward and alpha * exp(x) backward")
def elu(x, alpha=1.0):
    if x.dtype in _FLOATS and type(alpha) is float:
        # the default alpha passed as torch's own default: converting a Python
        # float to a Scalar costs a quarter of a small call
        return _elu(x) if alpha == 1.0 else _elu(x, alpha)
    return G.elu(x, alpha)


@SPECIAL.register("celu", reason="speed: celu is elu with input scale 1/alpha (same kernel)")
def celu(x, alpha=1.0):
    if x.dtype in _FLOATS and type(alpha) is float:
        return _celu(x, alpha)
    return G.celu(x, alpha)


@SPECIAL.register("selu", reason="speed: the elu kernel with SELU's constants")
def selu(x):
    if x.dtype in _FLOATS:
        return _selu(x)
    return G.selu(x)


@SPECIAL.register("softplus", reason="speed: softplus returns x above `threshold` (in units "
                                     "of beta x); 20 is exact to half an ulp for float32 and "
                                     "below, float64 needs 40")
def softplus(x, beta=1.0):
    if x.dtype in _FLOATS and type(beta) is float:
        if beta == 1.0:  # torch's defaults, as ints (a float Scalar costs more)
            return _softplus(x) if x.dtype is not torch.float64 else _softplus(x, 1, 40)
        return _softplus(x, beta, 40.0 if x.dtype == torch.float64 else 20.0)
    return G.softplus(x, beta)


@SPECIAL.register("log_sigmoid", reason="speed: logsigmoid is min(x, 0) - log1p(exp(-|x|))")
def log_sigmoid(x):
    if x.dtype in _FLOATS:
        return _log_sigmoid(x)
    return G.log_sigmoid(x)


@SPECIAL.register("tanh", reason="speed: torch.tanh without the generic dtype rules")
def tanh(x):
    if x.dtype in _FLOATS:
        return _tanh(x)
    return G.tanh(x)


@SPECIAL.register("mish", reason="speed: torch's mish on x raised to -1e4 (mish(-inf) is "
                                 "NaN in torch, -0 here; below the floor mish' underflows "
                                 "anyway): by clamp in inference, by where when a gradient "
                                 "may be taken (clamp's derivative at NaN is 0, mish'(NaN) "
                                 "is NaN)")
def mish(x):
    if x.dtype in _FLOATS:
        if eager(x) and not recording(x):
            return _mish(x.clamp(min=fm.SILU_FLOOR))
        return _mish(torch.where(x < fm.SILU_FLOOR, fm.SILU_FLOOR, x))
    return G.mish(x)


# -- element-wise with an accurate backward -----------------------------------------------
#
# Forward (eager inference) and backward (eager training) of the functions whose
# native forward misses a limit or whose native backward loses accuracy.  Each
# forward/backward is written from the formulas of _agnostic._formulas; a fused
# kernel (multiact.kernels) replaces the chain where one applies.

def _sigmoid_fwd(x):
    return _sigmoid(x)


def _silu_fwd(x):
    # silu(-inf) is NaN in torch (-inf / inf); below SILU_FLOOR silu is -0.  Two
    # passes, the second in place (one allocation: a fresh one costs a pass).
    return _silu_(torch.maximum(x, _scalar(fm.SILU_FLOOR, x)))


def _silu_bwd(x, g):
    # torch's own silu backward (one pass; as accurate as sigmoid(x) (1 + x
    # sigmoid(-x)), measured) at x clamped as the forward is: 0 at -inf, NaN at NaN
    return _silu_backward(g, x.clamp(min=fm.SILU_FLOOR))


def _hard_sigmoid_fwd(x):
    # CUDA's float64 hardsigmoid computes in float32: the generic body there.
    if x.dtype == torch.float64 and x.device.type != "cpu":
        return G.hard_sigmoid(x)
    return _hardsigmoid(x)


def _hard_sigmoid_bwd(x, g):
    # 1/6 on (-3, 3) in x's dtype: torch's own backward uses a float32 1/6.  NaN is
    # not inside (-3, 3): 0 there, as torch's.
    return (g / 6.0).masked_fill_(~((x > -3) & (x < 3)), 0.0)


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
    # The contract's kink rule: -1/2 at -3, 1 at 3 (torch's hardswish gives 3/2 at 3);
    # NaN takes the identity's 1, as torch's hardswish and the generic body.
    mid = (2.0 * x + 3.0) / 6.0
    return g * torch.where(x < -3, 0.0, torch.where(x < 3, mid, 1.0))


def _soft_sign_fwd(x):
    # softsign(inf) is NaN (inf / inf); |x| = SOFT_SIGN_CAP already gives +-1.
    xc = x.clamp(-fm.SOFT_SIGN_CAP, fm.SOFT_SIGN_CAP)
    return xc / (xc.abs() + 1.0)


def _soft_sign_bwd(x, g):
    # 1 / (1 + |x|)^2 directly: autograd of x / (|x| + 1) subtracts two terms.
    return g / (x.abs() + 1.0).square()


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


def _gelu_erf_fwd(x):
    # x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 for float32 x, in float64 and rounded
    # once (0.5 ulp): rounding x / sqrt 2 costs t^2 ulp of float64 (t <= 9.2 before
    # float32 underflows), far below a float32 ulp; torch's own gelu,
    # x (1 + erf(x / sqrt 2)) / 2, cancels for x < -1.  Five passes: the clamp
    # (gelu(-inf) = -0), float64, erfc in place, one addcmul rounds to x's dtype.
    # (A float32 form within the bound needs the rounding error of x / sqrt 2:
    # eight passes; docs/performance.md.)
    xd = x.clamp(min=-40.0).double()
    t = xd * -fm.INV_SQRT2
    _erfc(t, out=t)
    return torch.addcmul(_scalar(-0.0, xd), t, xd, value=0.5, out=torch.empty_like(x))


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
_FMA: dict = {}


def _fma_exact(device, dtype):
    """Whether ``torch.addcmul(t, x, c, value=-1)`` is ``t - x c`` rounded once on
    ``device`` (checked once, on sizes that take the vectorised and the scalar code)."""
    key = (device.type, dtype)
    ok = _FMA.get(key)
    if ok is None:
        from fractions import Fraction

        vals = [(-1) ** i * (1.0 + i / 7.0) * 10.0 ** (i % 13 - 6) for i in range(77)]
        x = torch.tensor(vals, dtype=dtype, device=device)
        c = torch.tensor(_C64, dtype=dtype)
        t = x * c
        ok = True
        for n in (1, 3, 7, 16, 33, 77):
            d = torch.addcmul(t[:n], x[:n], c, value=-1.0).tolist()
            want = [float(Fraction(tv) - Fraction(xv) * Fraction(float(c)))
                    for tv, xv in zip(t[:n].tolist(), vals[:n])]
            ok = ok and d == want
        ok = _FMA[key] = bool(ok)
    return ok


def _gelu_f64_parts(x):
    """``(xb, 2 Phi(xb), exp(-xb^2 / 2))`` for float64 ``x`` clamped to [-40, 40]."""
    xb = x.clamp(-40.0, 40.0)
    t = xb * _C64
    dn = torch.addcmul(t, xb, _scalar(_C64, xb), value=-1.0)  # t - x C, exact
    dn.add_(t, alpha=-_RHO64)                                 # -(d): the rest of 1/sqrt 2
    g = torch.addcmul(_scalar(-0.0, xb), t, t, value=-1.0).exp_()
    return xb, _erfc(t).addcmul_(dn, g, value=fm.TWO_OVER_SQRT_PI), g


def _gelu_f64_fwd(x):
    _, phi2, _ = _gelu_f64_parts(x)
    # times x clamped below only: x Phi(x) = x above 40, -0 at -inf (not -inf * 0);
    # (x / 2) first, exactly, so that a subnormal result is rounded once
    return torch.addcmul(_scalar(-0.0, x), x.clamp(min=-40.0), phi2, value=0.5)


def _gelu_f64_bwd(x, g):
    # d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
    xb, phi2, e = _gelu_f64_parts(x)
    return g * e.mul_(xb).mul_(fm.INV_SQRT_2PI).add_(phi2, alpha=0.5)  # g may be batched


def _gelu_erf_bwd(x, g):
    xd = x.double().clamp_(-40.0, 40.0)
    p = _erfc(xd * -fm.INV_SQRT2).mul_(0.5)
    pdf = torch.exp(xd.square() * -0.5).mul_(fm.INV_SQRT_2PI)
    return g * p.add_(pdf.mul_(xd)).to(g.dtype)


class _Elementwise(torch.autograd.Function):
    """Base of the element-wise Functions: forward, accurate backward, jvp (the
    same product f'(x) * t), vmap (element-wise: apply to the batched tensor),
    and a double backward that recomputes through the generic body."""

    name = ""
    params: tuple = ()
    #: ``bwd`` compiles as written (Inductor's C++ rounds every op: no fused
    #: multiply-add): the CPU tier's training kernel compiles it for the backward
    compilable_bwd = True

    @staticmethod
    def fwd(x):  # pragma: no cover - set per subclass
        raise NotImplementedError

    @staticmethod
    def bwd(x, g):  # pragma: no cover - set per subclass
        raise NotImplementedError

    @classmethod
    def forward(cls, x):
        return cls.fwd(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])  # as torch's silu, gelu, hardswish, softsign
        ctx.save_for_forward(inputs[0])

    @classmethod
    def backward(cls, ctx, g):
        (x,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: differentiable, through the generic body
            with torch.enable_grad():
                y = getattr(G, cls.name)(x, *cls.params)
                (gx,) = torch.autograd.grad(y, x, g, create_graph=True)
            return gx
        if x.numel() < _k.MIN_NUMEL:
            return cls.bwd(x, g)
        t0 = time.perf_counter()
        gx = cls.bwd(x, g)
        # the compile tier's bill for this function's training kernel (its backward)
        _k.spent_backward(cls.name, x, cls.params, time.perf_counter() - t0)
        return gx

    @classmethod
    def jvp(cls, ctx, t):
        (x,) = ctx.saved_tensors
        return cls.bwd(x, t)

    @classmethod
    def vmap(cls, info, in_dims, x):
        return cls.apply(x), in_dims[0]


def _function(name, fwd, bwd, params=()):
    return type(f"_{name.title().replace('_', '')}{''.join(map(str, params))}", (_Elementwise,),
                {"name": name, "params": params, "fwd": staticmethod(fwd),
                 "bwd": staticmethod(bwd)})


def _sigmoid_pair(x):
    """``(sigmoid(x), qs)``: ``qs`` is ``sigmoid(-|x|)`` with the sign of ``-x``."""
    q = _sigmoid(-x.abs())
    return _sigmoid(x), torch.where(x >= 0, -q, q)


def _sigmoid_bwd(qs, g):
    """``g sigmoid'(x)`` from the saved ``qs``: ``q (1 - q)``, accurate in both tails."""
    q = qs.abs()
    return g * (q * (1.0 - q))


class _Sigmoid(torch.autograd.Function):
    """sigmoid's Function returns ``(y, qs)``: ``qs`` is ``q = sigmoid(-|x|)``
    with the sign of ``-x``, and is what is saved (one tensor, as torch.sigmoid
    saves its output), not ``x``: ``x`` stays free to be edited in place after
    the call.  The backward ``q (1 - q)`` is accurate in both tails (torch's
    ``y (1 - y)`` loses every digit for x > 17 in float64).  ``qs`` is a
    differentiable output with derivative ``q (1 - q)``, so a double backward
    through the saved ``qs`` gives sigmoid'' (the sign it carries is sign(-x))."""

    @staticmethod
    def forward(x):
        # one compiled kernel for the pair where the CPU tier has one: seven passes
        # over memory become one
        return _k.torch_fuse("sigmoid_pair", _sigmoid_pair, lambda: _sigmoid_pair(x), x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output[1])
        ctx.save_for_forward(output[1])
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx, g, gq):
        (qs,) = ctx.saved_tensors
        if g is None and gq is None:
            return None
        if g is None or gq is None:
            g = gq if g is None else g
            if not torch.is_grad_enabled():  # not create_graph: one kernel where it applies
                return _k.torch_fuse("sigmoid_bwd", _sigmoid_bwd,
                                             lambda: _sigmoid_bwd(qs, g), qs, g)
            return _sigmoid_bwd(qs, g)
        return _sigmoid_bwd(qs, g + gq)

    @staticmethod
    def jvp(ctx, t):
        (qs,) = ctx.saved_tensors
        dt = _sigmoid_bwd(qs, t)
        return dt, dt

    @staticmethod
    def vmap(info, in_dims, x):
        return _Sigmoid.apply(x), (in_dims[0], in_dims[0])


def _sigmoid_train(x):
    return _Sigmoid.apply(x)[0]


_HardSigmoid = _function("hard_sigmoid", _hard_sigmoid_fwd, _hard_sigmoid_bwd)
_HardSilu = _function("hard_silu", _hard_silu_fwd, _hard_silu_bwd)
_SoftSign = _function("soft_sign", _soft_sign_fwd, _soft_sign_bwd)
_GeluTanh = _function("gelu", _gelu_tanh_fwd, _gelu_tanh_bwd, (True,))
_GeluErf = _function("gelu", _gelu_erf_fwd, _gelu_erf_bwd, (False,))
_GeluErf64 = _function("gelu", _gelu_f64_fwd, _gelu_f64_bwd, (False,))
_GeluErf64.compilable_bwd = False  # its correction needs addcmul's fused multiply-add


def _routed(name, fwd, fn, *, upcast_half=False, train=None, kernel_train=True,
            native_forward=False):
    """A special case on the three routes (module docstring): ``fwd`` (or a fused
    kernel) in eager inference, ``fn`` (an autograd.Function; or a fused kernel
    pair) in eager training, the generic body elsewhere."""
    generic = getattr(G, name)
    train = train or fn.apply
    if upcast_half:
        def eager_fwd(x):
            return fwd(x.float()).to(x.dtype) if x.dtype in _HALF else fwd(x)

        def eager_train(x):
            return train(x.float()).to(x.dtype) if x.dtype in _HALF else train(x)
    else:
        eager_fwd, eager_train = fwd, train
    k = _k
    cpu = not native_forward
    timed = isinstance(fn, type) and issubclass(fn, _Elementwise)
    bwd = fn.bwd if timed and fn.compilable_bwd else None

    def run(x):
        if x.dtype not in _FLOATS or not eager(x):
            return generic(x)
        if recording(x):
            return k.torch_train(name, x, (), eager_train, timed, bwd) if kernel_train \
                else eager_train(x)
        return k.torch_forward(name, x, (), eager_fwd, cpu)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"torch {name}: {fwd.__name__} / {getattr(train, '__name__', train)} on eager " \
                  f"tensors (or a fused kernel), the generic body elsewhere."
    return run


_REASON_BWD = "speed, and an accurate backward"
_sigmoid_routed = _routed("sigmoid", _sigmoid_fwd, _Sigmoid, train=_sigmoid_train,
                          kernel_train=False, native_forward=True)
_KSTATE = _k._STATE
try:
    _k.mode()  # read MULTIACT_KERNELS now, so the fast path above can see it
except ValueError:
    pass  # a bad value: the error is raised where the mode is first needed


@SPECIAL.register("sigmoid", reason="speed: torch.sigmoid forward; an accurate backward that "
                                    "saves sigmoid(-|x|) (torch's y (1 - y) loses every digit "
                                    "for x > 17 in float64)")
def sigmoid(x):
    # Reason: speed on small tensors.  Inference on a CPU tensor is torch.sigmoid
    # whatever the kernels' mode but "fused": the routes' checks cost as much
    # as the op on 16 elements, so the cheapest ones decide first.
    if not x.requires_grad and _KSTATE["mode"] == "auto" and x.dtype in _FLOATS \
            and not x.is_cuda and eager(x):
        return _sigmoid(x)
    return _sigmoid_routed(x)
silu = SPECIAL.register("silu", reason="speed: torch's silu and its backward; silu(-inf) = 0 "
                        "(NaN in torch)")(
    _routed("silu", _silu_fwd, _function("silu", _silu_fwd, _silu_bwd)))
hard_sigmoid = SPECIAL.register("hard_sigmoid", reason=f"{_REASON_BWD} (torch's backward "
                                "uses a float32 1/6)")(
    _routed("hard_sigmoid", _hard_sigmoid_fwd, _HardSigmoid, native_forward=True))
hard_silu = SPECIAL.register("hard_silu", reason=f"{_REASON_BWD} (the contract's kink "
                             "rule); hard_silu(-inf) = 0 and no overflow near the max")(
    _routed("hard_silu", _hard_silu_fwd, _HardSilu))
soft_sign = SPECIAL.register("soft_sign", reason=f"{_REASON_BWD}; soft_sign(inf) = 1")(
    _routed("soft_sign", _soft_sign_fwd, _SoftSign, upcast_half=True))


@SPECIAL.register("gelu", reason="accuracy and speed: tanh form as x sigmoid(2u) (torch's "
                                 "1 + tanh(u) cancels in the left tail), exact form below "
                                 "float64 through float64 erfc; accurate backwards")
def gelu(x, approximate=True):
    if x.dtype not in _FLOATS or not eager(x):
        return G.gelu(x, approximate)
    if not approximate and x.dtype in _HALF:
        # Reason: speed.  The float32 computation (its kernel on large tensors),
        # rounded once, is exact GELU of a half tensor to the half bound.
        return gelu(x.float(), False).to(x.dtype)
    if not approximate and x.dtype == torch.float64:
        rec = recording(x)
        if not _fma_exact(x.device, x.dtype):
            eager_path = _gelu_f64
        else:
            eager_path = _GeluErf64.apply if rec else _gelu_f64_fwd
        if rec:
            return _k.torch_train("gelu", x, (False,), eager_path, eager_path is not _gelu_f64)
        return _k.torch_forward("gelu", x, (False,), eager_path)
    k = _k
    if recording(x):
        fn = _GeluTanh if approximate else _GeluErf
        return k.torch_train("gelu", x, (approximate,),
                             _gelu_tanh_train if approximate else _gelu_erf_train, True, fn.bwd)
    return k.torch_forward("gelu", x, (approximate,),
                           _gelu_tanh_eager if approximate else _gelu_erf_eager)


def _gelu_f64(x):
    return G.gelu(x, False)


def _half_via_float(f):
    def run(x):
        return f(x.float()).to(x.dtype) if x.dtype in _HALF else f(x)
    run.__name__ = f.__name__
    return run


_gelu_tanh_eager = _half_via_float(_gelu_tanh_fwd)
_gelu_erf_eager = _gelu_erf_fwd
_gelu_tanh_train = _half_via_float(_GeluTanh.apply)
_gelu_erf_train = _GeluErf.apply


# -- the rows with no native kernel: a fused kernel where one runs ----------------------

def _fused_or_generic(name):
    """Eager tensors with Python-scalar parameters: one fused kernel forward (and
    backward when recording) where one runs, else, and on every other route, the
    generic body."""
    generic = getattr(G, name)
    k = _k

    def run(x, *params):
        if x.dtype in _FLOATS and eager(x) and all(type(p) in (float, int) for p in params):
            return (k.torch_train if recording(x) else k.torch_forward)(
                name, x, params, lambda t: generic(t, *params))
        return generic(x, *params)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"torch {name}: a fused kernel on eager tensors where one runs, else the " \
                  f"generic body."
    return SPECIAL.register(name, reason="speed where a kernel runs: one fused kernel "
                            "(kernels/) instead of the generic body's chain of ops; "
                            "the generic body elsewhere")(run)


squareplus = _fused_or_generic("squareplus")
sparse_plus = _fused_or_generic("sparse_plus")
sparse_sigmoid = _fused_or_generic("sparse_sigmoid")
log1mexp = _fused_or_generic("log1mexp")
hard_shrink = _fused_or_generic("hard_shrink")
soft_shrink = _fused_or_generic("soft_shrink")
tanh_shrink = _fused_or_generic("tanh_shrink")
threshold = _fused_or_generic("threshold")
prelu = _fused_or_generic("prelu")


def _rows_kernel(name, x, axis, params, where, eager_path, train=True):
    """A row kernel over the last axis of an eager tensor (``params`` as the body
    takes them, the axis normalised) where one applies, else ``eager_path()``."""
    if not eager(x) or len(axis) != 1 or axis[0] != x.ndim - 1 or x.dtype not in _FLOATS \
            or (where is not None and where.device != x.device):
        return eager_path()
    k = _k
    if recording(x):
        return k.torch_rows_train(name, x, params, where, eager_path) if train else eager_path()
    return k.torch_rows(name, x, params, where, eager_path)


# -- softmax family ----------------------------------------------------------------------

def _lse_parts(x, dim, m):
    """``(x - m, log(sum(exp(x - m))))`` for slices with a finite max, with the
    generic split sum (``_formulas.split_sums``/``log_abs``): the maxima count
    exactly 1 each, the rest is summed apart, so terms below eps are kept."""
    sh = x - m
    top = sh == 0
    rest = sh.exp().masked_fill_(top, 0.0).sum(dim, keepdim=True)
    n = top.sum(dim, keepdim=True, dtype=x.dtype)
    # Reason: speed on small rows.  fm.log_abs's values with the branches that
    # cannot occur here dropped: with a finite max, n >= 1 and rest >= 0, so
    # u = (n - 1) + rest >= 0 and the sum n + rest > 0 (no signed sums, no zero).
    # The same bits as the generic body, so every route gives the same answer.
    u = (n - 1.0).add_(rest)
    return sh, torch.where(u < 0.5, u.log1p(), n.add_(rest).log_())


#: log_softmax: torch's value is kept where every entry of the slice is below
#: -NEAR0.  torch rounds the slice's sum S = 1 + R (R: the terms below the max)
#: before its log, an absolute error of eps/2, which is 1/(2R) ulp of log(S) ~ R;
#: with max(y) <= -0.03, R >= 0.03 and that is at most 17 ulp (the bound is 64).
#: Slices closer to 0 are computed again by the split sum of the generic body.
_LOG_SOFTMAX_NEAR0 = 0.03


def _log_softmax_eager(x, dim):
    """torch's log_softmax, with the slices whose largest entry is near 0 (or NaN:
    +inf entries, nothing to sum) computed again by the generic body."""
    y = _log_softmax(x, dim)
    if float(y.max()) <= -_LOG_SOFTMAX_NEAR0:  # every slice (NaN compares False)
        return y
    bad = ~(y.amax(dim, keepdim=True) <= -_LOG_SOFTMAX_NEAR0)
    if dim == x.ndim - 1:  # only those rows
        rows = bad.view(-1).nonzero().view(-1)
        n = x.shape[-1]
        fixed = G.log_softmax(x.reshape(-1, n).index_select(0, rows), (1,), None, None)
        return y.reshape(-1, n).index_copy_(0, rows, fixed).view(x.shape)
    return torch.where(bad, G.log_softmax(x, (dim,), None, None), y)


class _LogSoftmax(torch.autograd.Function):
    """log_softmax with torch's memory and backward (it saves the output)."""

    @staticmethod
    def forward(x, dim):
        return _log_softmax_eager(x, dim)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.dim = inputs[1]
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: differentiable ops
            return g - y.exp() * g.sum(ctx.dim, keepdim=True), None
        return torch._log_softmax_backward_data(g, y, ctx.dim, y.dtype), None

    @staticmethod
    def jvp(ctx, t, _dim):
        (y,) = ctx.saved_tensors
        return t - (y.exp() * t).sum(ctx.dim, keepdim=True)


class _LogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(x, dim, m):
        _, lse = _lse_parts(x, dim, m)
        return m + lse

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.dim = inputs[1]
        ctx.save_for_backward(inputs[0], output)  # as torch.logsumexp
        ctx.save_for_forward(inputs[0], output)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if torch.is_grad_enabled():
            return g * (x - out).exp(), None, None
        return g * (x - out).exp_(), None, None

    @staticmethod
    def jvp(ctx, t, _dim, _m):
        x, out = ctx.saved_tensors
        return ((x - out).exp() * t).sum(ctx.dim, keepdim=True)


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
    if not _plain(x, axis, where, initial):
        return G.softmax(x, axis, where, initial)
    xw = x.float() if x.dtype in _HALF else x  # half: accumulate in float32, round once
    y = _softmax(xw, axis[0])
    # torch's softmax is NaN exactly where a slice holds +inf, NaN, or nothing
    # finite: those take the generic body's limits
    total = float(y.detach().sum())
    if total != total:
        return G.softmax(x, axis, where, initial)
    return y.to(x.dtype) if xw is not x else y


@SPECIAL.register("softmax", reason="speed: one row kernel where one runs; on CPU torch's "
                                    "softmax, checked for NaN slices (+inf entries and all "
                                    "-inf slices are NaN in torch: the generic body there)")
def softmax(x, axis=(-1,), where=None, initial=None):
    return _rows_kernel("softmax", x, axis, ((1,), None, initial), where,
                        lambda: _softmax_eager(x, axis, where, initial))


def _log_softmax_path(x, axis, where, initial):
    if not _plain(x, axis, where, initial):
        return G.log_softmax(x, axis, where, initial)
    xw = x.float() if x.dtype in _HALF else x
    y = _LogSoftmax.apply(xw, axis[0]) if recording(xw) else _log_softmax_eager(xw, axis[0])
    return y.to(x.dtype) if xw is not x else y


@SPECIAL.register("log_softmax", reason="speed: one row kernel where one runs; on CPU torch's "
                                        "log_softmax, with the slices near 0 (where torch "
                                        "rounds log(1 + tiny) to 0) and the NaN ones computed "
                                        "again by the generic split sum; torch's backward")
def log_softmax(x, axis=(-1,), where=None, initial=None):
    return _rows_kernel("log_softmax", x, axis, ((1,), None, initial), where,
                        lambda: _log_softmax_path(x, axis, where, initial))


def _logsumexp_path(a, axis, b, keepdims, return_sign, where):
    if return_sign or not _plain(a, axis, b, where):
        return G.logsumexp(a, axis, b, keepdims, return_sign, where)
    m = a.detach().amax(axis[0], keepdim=True)  # not recorded: nothing to save
    if not bool(torch.isfinite(m).all()):
        return G.logsumexp(a, axis, b, keepdims, return_sign, where)
    xw, m = (a.float(), m.float()) if a.dtype in _HALF else (a, m)
    y = (_LogSumExp.apply if recording(xw) else _LogSumExp.forward)(xw, axis[0], m)
    if not keepdims:
        y = y.squeeze(axis[0])
    return y.to(a.dtype)


@SPECIAL.register("logsumexp", reason="speed; torch.logsumexp drops terms below eps "
                                      "(logsumexp([0, -40]) == 0): the split sum, with "
                                      "torch's backward")
def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    def path():
        return _logsumexp_path(a, axis, b, keepdims, return_sign, where)

    if b is not None or return_sign:
        return path()
    y = _rows_kernel("logsumexp", a, axis, ((1,), None, False, False, None), where, path)
    return y.unsqueeze(-1) if keepdims and y.ndim < a.ndim else y


@SPECIAL.register("softmin", reason="speed where a kernel runs: one row kernel")
def softmin(x, axis=(-1,), where=None, initial=None):
    return _rows_kernel("softmin", x, axis, ((1,), None, initial), where,
                        lambda: G.softmin(x, axis, where, initial))


@SPECIAL.register("logmeanexp", reason="speed where a kernel runs: one row kernel (inference)")
def logmeanexp(x, axis=None, where=None, keepdims=False):
    y = _rows_kernel("logmeanexp", x, axis, ((1,), None, False), where,
                     lambda: G.logmeanexp(x, axis, where, keepdims), train=False)
    return y.unsqueeze(-1) if keepdims and y.ndim < x.ndim else y


@SPECIAL.register("standardize", reason="speed where a kernel runs: one row kernel "
                                        "(inference, scalar or no mean/variance)")
def standardize(x, axis=(-1,), mean=None, variance=None, epsilon=1e-5, where=None):
    def path():
        return G.standardize(x, axis, mean, variance, epsilon, where)

    if not (type(mean) is float or mean is None) or not (type(variance) is float or
                                                         variance is None):
        return path()
    return _rows_kernel("standardize", x, axis, ((1,), mean, variance, epsilon, None), where,
                        path, train=False)


BACKEND = Backend(_xp, "torch", module=sys.modules[__name__], generic=G)

# Tensor subclasses other than Parameter (DTensor, FakeTensor, FunctionalTensor, a
# user's subclass with __torch_function__): the generic bodies, whose ATen ops
# all have sharding rules and subclass support (torch's hardtanh_backward, say,
# has no DTensor sharding rule).  A separate backend object, so the plain path
# pays nothing for the check: _dispatch maps these types here.
SUBCLASS_BACKEND = Backend(_xp, "torch", module=None, generic=G)
