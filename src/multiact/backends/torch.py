"""PyTorch: native kernels where they meet SPEC.md, generic bodies elsewhere.

Each override below says why it exists.  The rule for all of them: a native
``torch.nn.functional`` kernel is used when it gives SPEC.md's values (the
conformance suite measures it against the same ulp table) and SPEC.md's
derivative; where its backward is not accurate enough, a ``torch.autograd.Function``
with an accurate backward is used, but only when a gradient is being recorded,
so inference pays nothing for it.  Everything else (integer/bool promotion,
complex errors, array parameters) falls through to the generic body.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F

from .._agnostic import _special

# Tuples, not sets: torch.compile traces `dtype in tuple` without a graph break.
_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
_HALF = (torch.float16, torch.bfloat16)
_NOT_NATIVE = (torch.bool, torch.complex64, torch.complex128, torch.complex32)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_A = 2.0 * _SQRT_2_OVER_PI
_GELU_B = 2.0 * _SQRT_2_OVER_PI * 0.044715
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def extra(name, ns):
    if name == "ndtr":
        # Reason: speed.  Five native kernels (erf, erfcx, exp, expm1) instead of
        # the ~80 of the piecewise fit; accuracy as measured by the conformance
        # suite (torch.special.ndtr itself loses all digits in the left tail).
        return partial(_special.ndtr_from_native, ns, erf=torch.special.erf,
                       erfcx=torch.special.erfcx)
    return None


def _recording(x):
    return x.requires_grad and torch.is_grad_enabled()


def _fn(forward, backward):
    """An autograd.Function from forward(x) and backward(x, grad) (saves x only,
    as the native kernels do); vmap-able under torch.func."""

    class Fn(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x):
            return forward(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return backward(x, grad)

    Fn.__name__ = forward.__name__
    return Fn.apply


# -- forward kernels and accurate backwards ------------------------------------

def _sigmoid_bwd(x, g):
    # sigmoid(x) * sigmoid(-x): relative accuracy in both tails, where torch's
    # own backward, y * (1 - y), loses every digit for x > 17 (float64).
    return g * torch.sigmoid(x) * torch.sigmoid(-x)


def _silu_fwd(x):
    # F.silu(-inf) is NaN (-inf / inf); below -1e4 silu is -0 in every dtype.
    return F.silu(x.clamp(min=-1.0e4))


def _silu_bwd(x, g):
    # sigmoid(x) (1 + x sigmoid(-x)), with 1 - sigmoid(x) never formed.
    xc = x.clamp(min=-1.0e4)
    return g * torch.sigmoid(xc) * (1.0 + xc * torch.sigmoid(-xc))


def _hard_silu_fwd(x):
    # F.hardswish(-inf) is NaN (-inf * 0): clamp below at -4, where it is 0.
    # float16: F.hardswish computes in float32 and rounds once.  Otherwise
    # F.hardswish forms x * 6, which overflows for x > max/6, so x * hardsigmoid(x).
    if x.dtype == torch.float16:  # x * 6 <= 65504 * 6 fits float32
        return F.hardswish(x.clamp(min=-4.0))
    if x.dtype == torch.bfloat16:  # float32's range: compute in float32, round once
        return _hard_silu_fwd(x.float()).to(x.dtype)
    return x.clamp(min=-4.0).mul_(F.hardsigmoid(x))


def _hard_sigmoid_bwd(x, g):
    # 1/6 on (-3, 3) in the dtype of x: torch's own backward uses a float32
    # 1/6 (3e-8 relative error in float64).
    return (g / 6.0).masked_fill_((x <= -3) | (x >= 3), 0.0)


def _hard_silu_bwd(x, g):
    # SPEC.md's kink rule: -1/2 at -3, 1 at 3 (torch's hardswish gives 3/2 at 3).
    mid = (2.0 * x + 3.0) / 6.0
    return g * torch.where(x < -3, 0.0, torch.where(x >= 3, 1.0, mid))


def _soft_sign_fwd(x):
    # F.softsign(inf) is NaN (inf / inf); |x| = 1e30 already gives +-1.
    xc = x.clamp(-1.0e30, 1.0e30)
    return xc / (xc.abs() + 1.0)


def _soft_sign_bwd(x, g):
    # 1 / (1 + |x|)^2 directly: autograd of x / (|x| + 1) subtracts two terms.
    return g / (x.abs() + 1.0).square()


def _gelu_tanh_fwd(x):
    # x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): torch's own
    # 0.5 x (1 + tanh(u)) cancels in the left tail (all digits lost near x = -9).
    v = x.square().mul_(_GELU_B).add_(_GELU_A).mul_(x)
    return v.sigmoid_().mul_(x.clamp(min=-1.0e4))


def _gelu_tanh_bwd(x, g):
    x2 = x.square()
    v = x2.mul(_GELU_B).add_(_GELU_A).mul_(x)
    s, sn = torch.sigmoid(v), torch.sigmoid(-v)
    dv = x2.mul_(3.0 * _GELU_B).add_(_GELU_A)
    return g * (s + x.clamp(min=-1.0e4) * s * sn * dv)


def _gelu_erf_fwd(x):
    # x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 in float64: rounding x / sqrt 2
    # costs t^2 ulp of float64 (t <= 9.2 before float32 underflows), far below
    # a float32 ulp; torch's own gelu, x (1 + erf(x / sqrt 2)) / 2, cancels for x < -1.
    xd = x.double()
    p = torch.special.erfc(xd * -_INV_SQRT2).mul_(0.5)
    return p.mul_(xd.clamp_(min=-40.0)).to(x.dtype)


def _gelu_erf_bwd(x, g):
    xd = x.double()
    p = torch.special.erfc(xd * -_INV_SQRT2).mul_(0.5)
    pdf = torch.exp(xd.square() * -0.5).mul_(_INV_SQRT_2PI)
    return g * p.add_(pdf.mul_(xd)).to(g.dtype)


_sigmoid_fn = _fn(torch.sigmoid, _sigmoid_bwd)
_gelu_erf_fn = _fn(_gelu_erf_fwd, _gelu_erf_bwd)
_silu_fn = _fn(_silu_fwd, _silu_bwd)
_hard_silu_fn = _fn(_hard_silu_fwd, _hard_silu_bwd)
_soft_sign_fn = _fn(_soft_sign_fwd, _soft_sign_bwd)
_hard_sigmoid_fn = _fn(F.hardsigmoid, _hard_sigmoid_bwd)
_gelu_tanh_fn = _fn(_gelu_tanh_fwd, _gelu_tanh_bwd)


def _host_checkable(x):
    """A data-dependent branch is free: CPU tensor, eager, not under torch.func."""
    if x.device.type != "cpu" or torch.compiler.is_compiling():
        return False
    try:
        return not torch._C._functorch.is_functorch_wrapped_tensor(x)
    except AttributeError:  # pragma: no cover - older torch
        return False


def _lse_parts(x, dim, m=None):
    """(x - max, log(sum(exp(x - max)))) for slices with a finite max.

    The maxima contribute exactly 1 each; the rest, R, is summed on its own, so
    ``log1p((count - 1) + R)`` keeps R when it is below float eps (SPEC.md:
    log_softmax([1 - log(eps), 0])[0] == -4.4e-8, logsumexp([0, -40]) == 4.2e-18).
    """
    if m is None:
        m = x.detach().amax(dim, keepdim=True)
    sh = x - m
    top = sh == 0
    rest = sh.exp().masked_fill_(top, 0.0).sum(dim, keepdim=True)
    count = top.sum(dim, keepdim=True, dtype=x.dtype)
    return m, sh, torch.log1p(count.sub_(1.0).add_(rest))  # (count - 1) first: exact


class _LogSoftmax(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x, dim, m=None):
        _, sh, lse = _lse_parts(x, dim, m)
        return sh.sub_(lse)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.dim = inputs[1]
        ctx.save_for_backward(output)  # as torch's log_softmax: the output only

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad - y.exp() * grad.sum(ctx.dim, keepdim=True), None, None


class _LogSumExp(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x, dim, m=None):
        m, _, lse = _lse_parts(x, dim, m)
        return m + lse

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.dim = inputs[1]
        ctx.save_for_backward(inputs[0], output)  # as torch.logsumexp

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return grad * (x - out).exp(), None, None


def overrides(ns, generic):
    g = generic
    out = {}

    def _plain_rows(x, axes, *params):
        """One axis, no mask/initial/b, a float dtype, every slice with a
        finite max (checked on the host, where that is free): the fast path."""
        if len(axes) != 1 or any(p is not None for p in params) or x.dtype not in _FLOATS \
                or x.numel() == 0 or not _host_checkable(x):
            return None
        m = x.detach().amax(axes[0], keepdim=True)  # not recorded: nothing to save
        if not bool(torch.isfinite(m).all()):
            return None
        return (x.float(), m.float()) if x.dtype in _HALF else (x, m)

    def softmax(x, axes=(-1,), where=None, initial=None):
        # Reason: speed.  torch's softmax is right wherever a slice has a finite
        # max; +inf entries and all -inf slices (NaN in torch) take the generic body.
        plain = _plain_rows(x, axes, where, initial)
        if plain is None:
            return g["softmax"](x, axes, where, initial)
        # half dtypes: accumulate in float32, round once (an explicit cast is
        # faster on CPU than F.softmax(..., dtype=torch.float32), measured)
        return F.softmax(plain[0], axes[0]).to(x.dtype)

    def log_softmax(x, axes=(-1,), where=None, initial=None):
        # Reason: speed, with the accuracy of the generic body near 0 (torch's
        # log_softmax rounds log(1 + tiny) to 0) and torch's memory (the output).
        plain = _plain_rows(x, axes, where, initial)
        if plain is None:
            return g["log_softmax"](x, axes, where, initial)
        xw, m = plain
        fn = _LogSoftmax.apply if _recording(xw) else _LogSoftmax.forward
        return fn(xw, axes[0], m).to(x.dtype)

    def logsumexp(a, axes=None, b=None, keepdims=False, return_sign=False, where=None):
        # Reason: speed; torch.logsumexp drops terms below eps (logsumexp([0, -40])
        # == 0), so the same split as log_softmax, with torch's backward.
        plain = None if return_sign else _plain_rows(a, axes, b, where)
        if plain is None:
            return g["logsumexp"](a, axes, b, keepdims, return_sign, where)
        xw, m = plain
        fn = _LogSumExp.apply if _recording(xw) else _LogSumExp.forward
        y = fn(xw, axes[0], m)
        if not keepdims:
            y = y.squeeze(axes[0])
        return y.to(a.dtype)

    out.update(softmax=softmax, log_softmax=log_softmax, logsumexp=logsumexp)

    def relu(x):
        # Reason: speed.  torch.relu's backward is `grad * (out > 0)`: relu'(0) = 0.
        if x.dtype in _NOT_NATIVE:
            return g["relu"](x)
        return torch.relu(x)

    def relu6(x):
        # Reason: speed.  F.relu6 is hardtanh(0, 6), whose backward is zero at
        # both kinks; it keeps integer dtypes and NaN.
        if x.dtype in _NOT_NATIVE:
            return g["relu6"](x)
        return F.relu6(x)

    def hard_tanh(x):
        # Reason: speed.  Backward zero at +-1, as SPEC.md asks.
        if x.dtype in _NOT_NATIVE:
            return g["hard_tanh"](x)
        return F.hardtanh(x)

    def leaky_relu(x, negative_slope=0.01):
        # Reason: speed.  Backward `x > 0 ? grad : grad * slope`: slope at 0.
        if x.dtype in _FLOATS and isinstance(negative_slope, float):
            return F.leaky_relu(x, negative_slope)
        return g["leaky_relu"](x, negative_slope)

    def elu(x, alpha=1.0):
        # Reason: speed.  F.elu uses expm1 forward and alpha * exp(x) backward.
        if x.dtype in _FLOATS and isinstance(alpha, float):
            return F.elu(x, alpha)
        return g["elu"](x, alpha)

    def celu(x, alpha=1.0):
        # Reason: speed.  F.celu is elu with input scale 1/alpha (same kernel).
        if x.dtype in _FLOATS and isinstance(alpha, float):
            return F.celu(x, alpha)
        return g["celu"](x, alpha)

    def selu(x):
        # Reason: speed (the elu kernel with SELU's constants).
        if x.dtype in _FLOATS:
            return F.selu(x)
        return g["selu"](x)

    def softplus(x, beta=1.0):
        # Reason: speed.  F.softplus returns x above `threshold` (in units of
        # beta * x); 20 is exact to half an ulp for float32 and below, float64
        # needs 40.
        if x.dtype in _FLOATS and isinstance(beta, float):
            return F.softplus(x, beta, 40.0 if x.dtype == torch.float64 else 20.0)
        return g["softplus"](x, beta)

    def log_sigmoid(x):
        # Reason: speed.  F.logsigmoid is min(x, 0) - log1p(exp(-|x|)).
        if x.dtype in _FLOATS:
            return F.logsigmoid(x)
        return g["log_sigmoid"](x)

    def tanh(x):
        # Reason: speed (skips the generic dtype dispatch).
        if x.dtype in _FLOATS:
            return torch.tanh(x)
        return g["tanh"](x)

    def _native_with_grad(name, fwd, fn, upcast_half=False):
        def call(x):
            if x.dtype not in _FLOATS:
                return g[name](x)
            if upcast_half and x.dtype in _HALF:
                return call(x.float()).to(x.dtype)
            if _recording(x):
                return fn(x)
            return fwd(x)  # nothing to record: no autograd.Function overhead
        call.__name__ = name
        return call

    # Reason: speed, plus an accurate backward (see each _..._bwd above).
    out["sigmoid"] = _native_with_grad("sigmoid", torch.sigmoid, _sigmoid_fn)
    out["silu"] = _native_with_grad("silu", _silu_fwd, _silu_fn)
    out["hard_silu"] = _native_with_grad("hard_silu", _hard_silu_fwd, _hard_silu_fn)
    out["hard_sigmoid"] = _native_with_grad("hard_sigmoid", F.hardsigmoid, _hard_sigmoid_fn)
    out["soft_sign"] = _native_with_grad("soft_sign", _soft_sign_fwd, _soft_sign_fn,
                                         upcast_half=True)  # 1e30 clamp; float32 math

    gelu_generic = g["gelu"]

    def gelu(x, approximate=True):
        # Reason: speed.  tanh form: an in-place chain (one allocation) with an
        # analytic backward; exact form below float64: float64 erfc (3x faster
        # than the erf/erfcx route, which float64 input takes via the generic
        # body, see extra).  Half dtypes go through float32.
        if not approximate and x.dtype in _FLOATS and x.dtype != torch.float64:
            return _gelu_erf_fn(x) if _recording(x) else _gelu_erf_fwd(x)
        if approximate and x.dtype in _FLOATS:
            xw = x.float() if x.dtype in _HALF else x
            y = _gelu_tanh_fn(xw) if _recording(xw) else _gelu_tanh_fwd(xw)
            return y.to(x.dtype) if xw is not x else y
        return gelu_generic(x, approximate)

    out.update(relu=relu, relu6=relu6, hard_tanh=hard_tanh, leaky_relu=leaky_relu, elu=elu,
               celu=celu, selu=selu, softplus=softplus, log_sigmoid=log_sigmoid,
               tanh=tanh, gelu=gelu)
    return out


class ActivationModule(torch.nn.Module):
    """A ``torch.nn.Module`` around a :class:`multiact.Activation`
    (``multiact.Activation("gelu").to_torch()``); no parameters of its own."""

    def __init__(self, activation):
        super().__init__()
        self.activation = activation

    def forward(self, x):
        return self.activation(x)

    def extra_repr(self):
        return repr(self.activation)
