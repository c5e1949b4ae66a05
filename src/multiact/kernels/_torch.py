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


class _Elementwise(torch.autograd.Function):
    @staticmethod
    def forward(x, kernels, info, params):
        y = kernels.forward(info, x, params)
        return y

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, kernels, info, params = inputs
        ctx.kernels, ctx.info, ctx.params = kernels, info, params
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
    def vmap(info, in_dims, x, kernels, row, params):
        return _Elementwise.apply(x, kernels, row, params), in_dims[0]


def _vjp(ctx, x, g):
    """``g * f'(x)``: the backward kernel on plain tensors; through the generic
    body when a graph of the backward is wanted (double backward) or torch.func
    batches it (a kernel cannot read a batched tensor's storage)."""
    create = torch.is_grad_enabled()
    if not create and not torch._C._are_functorch_transforms_active() \
            and type(g) is torch.Tensor:
        try:
            return ctx.kernels.backward(ctx.info, x, g.contiguous(), ctx.params)
        except NotImplementedError:  # a batched tensor of the legacy vmap (gradcheck)
            pass
    from ..backends.torch import G

    with torch.enable_grad():
        xr = x if create else x.detach().requires_grad_(True)
        y = getattr(G, ctx.info.name)(xr, *ctx.params)
        (gx,) = torch.autograd.grad(y, xr, g, create_graph=create)
    return gx


def fused_elementwise(kernels, info, x, params):
    if not kernels.has_elementwise(info, x, params):
        return None  # no kernel for this function/dtype: the caller's own path
    return _Elementwise.apply(x, kernels, info, params)


class _Rows(torch.autograd.Function):
    @staticmethod
    def forward(x, kernels, info, params, where):
        return kernels.rows(info, x, params, where)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, kernels, info, params, where = inputs
        ctx.name, ctx.where, ctx.kernels = info.name, where, kernels
        if info.name == "logsumexp":
            ctx.save_for_backward(x)  # the gradient is softmax(x): its kernel's limits
        else:
            ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, g):
        name = ctx.name
        if name == "logsumexp":
            from .._table import BY_NAME

            (x,) = ctx.saved_tensors
            if torch.is_grad_enabled():  # create_graph: a differentiable softmax
                from ..backends.torch import G

                p = G.softmax(x, (x.ndim - 1,), ctx.where, None)
            else:
                p = ctx.kernels.rows(BY_NAME["softmax"], x, ((1,), None, None), ctx.where)
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


def fused_rows(kernels, info, x, params, where):
    if info.name not in ("softmax", "log_softmax", "softmin", "logsumexp"):
        return None
    y = _Rows.apply(x, kernels, info, params, where)
    return y
