"""The autograd rules around the fused kernels (PyTorch).

Element-wise: forward one kernel, backward one kernel (``g * f'(x)``, the
derivative of the same traced graph), saving ``x`` as PyTorch's own kernels do
for these functions; ``jvp`` is the same product with the tangent; a double
backward recomputes through the generic body (differentiable as written).

Rows: forward one kernel per row; backward PyTorch's own fused softmax /
log_softmax backward from the saved output (what ``F.softmax`` saves), with
``where``-masked entries given zero gradient.
"""

from __future__ import annotations

import torch

from ._tier import Miss


class _Elementwise(torch.autograd.Function):
    @staticmethod
    def forward(x, pair, info, params):
        return pair.fwd((x if x.is_contiguous() else x.contiguous()).view(-1)).view(x.shape)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, pair, info, params = inputs
        ctx.pair, ctx.info, ctx.params = pair, info, params
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _vjp(ctx, x, g), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        (x,) = ctx.saved_tensors
        return _vjp(ctx, x, t)

    @staticmethod
    def vmap(info, in_dims, x, pair, row, params):
        return _Elementwise.apply(x, pair, row, params), in_dims[0]


def _vjp(ctx, x, g):
    """``g * f'(x)``: the backward kernel on plain tensors; through the generic
    body when a graph of the backward is wanted (double backward), when
    torch.func batches it (a kernel cannot read a batched tensor's storage), or
    when the kernel rejects the call."""
    create = torch.is_grad_enabled()
    if not create and not torch._C._are_functorch_transforms_active() \
            and type(g) is torch.Tensor and g.dtype == x.dtype:
        try:
            flat = [(t if t.is_contiguous() else t.contiguous()).view(-1) for t in (x, g)]
            return ctx.pair.bwd(*flat).view(x.shape)
        except (NotImplementedError, Miss):  # a batched tensor of the legacy vmap; a miss
            pass
    from ..backends.torch import G

    with torch.enable_grad():
        xr = x if create else x.detach().requires_grad_(True)
        y = getattr(G, ctx.info.name)(xr, *ctx.params)
        (gx,) = torch.autograd.grad(y, xr, g, create_graph=create)
    return gx


def fused_elementwise(pair, info, x, params):
    """``info``'s function of ``x`` by the kernel ``pair`` (forward and backward),
    recording a gradient; None where ``pair`` is None (no kernel)."""
    if pair is None:
        return None
    return _Elementwise.apply(x, pair, info, params)


#: the rows whose backward is PyTorch's own fused backward from the saved output
#: (logsumexp: the softmax of the saved input)
_ROWS_BACKWARD = ("softmax", "log_softmax", "softmin", "logsumexp")


def has_rows_backward(info):
    return info.name in _ROWS_BACKWARD


class _Rows(torch.autograd.Function):
    @staticmethod
    def forward(x, fwd, info, params, where):
        return fwd(x, params, where)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, fwd, info, params, where = inputs
        ctx.name, ctx.where = info.name, where
        if info.name == "logsumexp":
            ctx.save_for_backward(x, output)  # the gradient is exp(x - lse), as torch's
        else:
            ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, g):
        name = ctx.name
        if name == "logsumexp":
            x, out = ctx.saved_tensors
            # exp(x - lse) is softmax(x) where lse is finite (0 at -inf entries); a
            # row with lse = +-inf (+inf entries, nothing to sum) takes the generic
            # softmax's limits ([inf, 0] -> [1, 0], all -inf -> 0)
            p = (x - out.unsqueeze(-1)).exp()
            bad = ~torch.isfinite(out)
            if bool(bad.any()):
                from ..backends.torch import G

                p = torch.where(bad.unsqueeze(-1), G.softmax(x, (x.ndim - 1,), ctx.where, None),
                                p)
            gx = g.unsqueeze(-1) * p
        else:
            (y,) = ctx.saved_tensors
            if name == "log_softmax":
                gx = torch._log_softmax_backward_data(g, y, -1, y.dtype)
            else:
                gx = torch._softmax_backward_data(g, y, -1, y.dtype)
                if name == "softmin":
                    gx = -gx
        if ctx.where is not None:
            gx = gx.masked_fill(~ctx.where.expand(gx.shape), 0.0)
        return gx, None, None, None, None


def fused_rows(fwd, info, x, params, where):
    """A row reduction by the kernel ``fwd(x, params, where)``, recording a gradient."""
    return _Rows.apply(x, fwd, info, params, where)
