"""The Triton kernels under Triton's interpreter (CPU tensors), against the
generic bodies: element-wise forward and backward kernels of every check case
in every dtype, row kernels with and without masks, in one block and in chunks;
each test asserts that its kernel ran.

Triton's interpreter must be on for the whole process (its own reductions are
jit functions decorated when Triton is imported), so this file is collected
only with ``TRITON_INTERPRET=1`` set: the second pass of the README's test
command."""

from __future__ import annotations

import numpy as np
import pytest

import multiact
import test_kernels_gated as G
from _calls import exact_gelu_and_slope
from multiact import kernels
from multiact._check.inputs import reduction_inputs, sweep
from multiact._check.score import score_case, ulp_of
from multiact._check.targets import Target
from multiact._table import BY_NAME, TABLE

# every check case of the rows with fused kernels (identity has none: x itself)
CASES = [(i, dict(c.params)) for i in TABLE if i.elementwise and i.fused for c in i.cases]
ROWS = [i for i in TABLE if i.row_kernel]  # the rows with row kernels


def _sample(info, dtype):
    xs = sweep(dtype, dense=True)
    return np.abs(xs) if info.nonneg_input else xs


torch = pytest.importorskip("torch")
pytest.importorskip("triton")


@pytest.fixture
def interpreted():
    prev = kernels.set_mode("fused")
    yield
    kernels.set_mode(prev)


# Triton's interpreter compares bfloat16 values wrongly (found here: tl.where(v <= 0, 0, v)
# returns v for a loaded bfloat16 v, in a kernel of those three lines): the kernels whose
# result is such a comparison of the input come out wrong under it.  Not checked
# compiled on a GPU here (this file runs under the interpreter only).
_BF16_COMPARE = pytest.mark.xfail(strict=True, raises=AssertionError,
                                  reason="Triton's interpreter compares bfloat16 wrongly")


def _compares_bfloat16(info, params):
    """Whether the traced bfloat16 graph compares bfloat16 values itself (the exact
    selections: relu at its defaults, relu6, hard_tanh), rather than after a cast to
    float32."""
    from multiact.kernels._ops import OPS
    from multiact.kernels._trace import _topo, trace_elementwise

    _, y = trace_elementwise(info, "bfloat16", info.args(params))
    return any(n.op in OPS and OPS[n.op].predicate
               and any(a.dtype == "bfloat16" for a in n.args) for n in _topo(y))


def _cells():
    for i, p in CASES:
        for d in ("float32", "float64", "bfloat16"):
            marks = _BF16_COMPARE if d == "bfloat16" and _compares_bfloat16(i, p) else ()
            yield pytest.param(i, p, getattr(torch, d), marks=marks, id=f"{i.label(p)}-{d}")


@pytest.mark.parametrize("info, params, dtype", list(_cells()))
def test_triton_elementwise_forward_and_backward(interpreted, used_kernel, info, params, dtype):
    # the kernels themselves (whatever route the backend takes for this function),
    # against autograd of the generic body and the generic body
    from multiact.backends import torch as tb
    from multiact.kernels import triton as kt

    x = torch.tensor(_sample(info, "float32")[::4]).to(dtype)
    args = info.args(params)
    g = torch.linspace(-1, 1, x.numel()).to(dtype)
    gx = []
    assert used_kernel(lambda: gx.append(kt.backward(info, x, g, args))), \
        "no backward kernel ran"
    xg = x.detach().clone().requires_grad_(True)
    (gw,) = torch.autograd.grad(info.body(tb.NS, xg, *args), xg, g)
    keep = torch.isfinite(x) & (x.abs() < 1e30)
    rtol = 1e-4 if dtype != torch.bfloat16 else 3e-2
    if info.name == "tanh":  # 1 - tanh^2: absolute accuracy only, in both
        torch.testing.assert_close(gx[0][keep], gw[keep], rtol=0,
                                   atol=1e-6 if dtype != torch.bfloat16 else 1e-2)
    else:
        torch.testing.assert_close(gx[0][keep], gw[keep], rtol=rtol, atol=1e-30)
    y = []
    assert used_kernel(lambda: y.append(kt.forward(info, x, args))), "no forward kernel ran"
    want = info.body(tb.NS, x, *args)
    # relative accuracy down to the smallest normal number (below it, absolute)
    torch.testing.assert_close(y[0], want, rtol=2e-6 if dtype != torch.bfloat16 else 1e-2,
                               atol=torch.finfo(dtype).tiny, equal_nan=True)


def test_triton_elementwise_kernels_keep_a_dense_inputs_layout(interpreted, used_kernel):
    # decision 148: channels_last and transposed inputs keep their strides, forward
    # and backward (a contiguous cotangent copied into x's order); the same values
    from multiact.kernels import triton as kt

    info = BY_NAME["gelu"]
    args = info.args({"approximate": False})
    base = torch.linspace(-4.0, 4.0, 2 * 8 * 4 * 4).reshape(2, 8, 4, 4)
    for x in (base.to(memory_format=torch.channels_last), base[0].transpose(0, 2)):
        g = torch.cos(torch.arange(x.numel(), dtype=torch.float32)).reshape(x.shape)
        out = []
        assert used_kernel(lambda: out.append(kt.forward(info, x, args)))
        assert out[0].stride() == x.stride()
        torch.testing.assert_close(out[0], kt.forward(info, x.contiguous(), args),
                                   rtol=0, atol=0)
        gx = kt.backward(info, x, g, args)
        assert gx.stride() == x.stride()
        want = kt.backward(info, x.contiguous(), g, args)
        torch.testing.assert_close(gx, want, rtol=0, atol=0)


@pytest.mark.parametrize("ncols", [34, 9000], ids=["one-block", "chunked"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("info", ROWS, ids=lambda i: i.name)
def test_triton_row_kernels(interpreted, used_kernel, info, masked, ncols):
    from multiact.backends import torch as tb

    rows = reduction_inputs("float32")
    data = np.concatenate([rows, np.random.default_rng(0).standard_normal((len(rows),
                                                                            ncols - 34))],
                          axis=1) if ncols > 34 else rows
    if info.name == "standardize":
        data = np.random.default_rng(1).standard_normal(data.shape) * 3 + 1
    x = torch.tensor(data, dtype=torch.float32)
    kw = {"axis": -1}
    mask = None
    if masked:
        mask = torch.tensor(np.random.default_rng(2).random(data.shape) > 0.3)
        mask[0] = False
        kw["where"] = mask
    f = getattr(multiact, info.name)
    assert used_kernel(lambda: f(x, **kw))
    y = f(x, **kw)
    args = [kw.get(p.name, p.default) for p in info.params]
    args[0] = (1,)
    want = info.body(tb.NS, x, *args)
    torch.testing.assert_close(y, want, rtol=1e-5, atol=1e-6, equal_nan=True)




@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_triton_long_rows_summed_in_float64(interpreted, used_kernel, name, dtype):
    # a row longer than one block is summed chunk by chunk, each position's terms in
    # order: on a peaked row every term at a maximum's position rounds the same way
    # (kernels.LONG_ROW), so float32 sums accumulate in float64 and float64 ones
    # with Kahan's compensation: within the bound of mpmath at 100 chunks (100 ulp
    # of softmax before, in both)
    import mpmath as mp
    from multiact._check.score import ulp_error
    from multiact.kernels.triton import CHUNK
    from test_functions import _peaked_rows

    x_np = _peaked_rows(100 * CHUNK, dtype)
    lo = x_np[0, 2]  # every entry 0 or lo: log S = log(2 + (n - 2) exp(lo))
    with mp.workdps(40):
        log_s = mp.log(2 + (x_np.shape[1] - 2) * mp.exp(lo))
        ref = np.where(x_np == 0, float(-log_s), float(lo - log_s))
        want = ref if name == "log_softmax" else np.where(
            x_np == 0, float(mp.exp(-log_s)), float(mp.exp(lo - log_s)))
    x = torch.tensor(x_np, dtype=getattr(torch, dtype))
    y = []
    assert used_kernel(lambda: y.append(getattr(multiact, name)(x, axis=-1)))
    err = ulp_error(y[0].double().numpy(), want, 0.0, dtype)
    assert float(err.max()) <= BY_NAME[name].bound(dtype)


def test_every_launch_asks_for_no_contraction(interpreted, monkeypatch):
    """The options a launch hands Triton (its interpreter takes and ignores them;
    on a GPU, Triton compiles with them): contraction into FMA off."""
    from triton.runtime.interpreter import InterpretedFunction

    seen = []
    run = InterpretedFunction.run

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("enable_fp_fusion", "unset"))
        return run(self, *args, **kwargs)

    monkeypatch.setattr(InterpretedFunction, "run", spy)
    x = torch.linspace(-3, 3, 40).reshape(4, 10).requires_grad_(True)
    multiact.gelu(x).sum().backward()                              # forward and backward
    multiact.softmax(x.detach(), where=x.detach() > 0)             # a row kernel
    assert len(seen) == 3 and seen == [False] * 3


def test_the_local_gpu_warm_up_launches_every_kernel(interpreted):
    """``multiact compile`` on a CUDA machine launches each Triton kernel once;
    here on CPU tensors, under the interpreter."""
    from multiact.kernels import aot

    rows = aot.warm_triton(["gelu", "softmax"], ["float32"], device="cpu")
    assert {(r["function"], r["kernel"]) for r in rows} == {
        ("gelu", "triton:forward"), ("gelu", "triton:backward"),
        ("gelu(approximate=False)", "triton:forward"), ("gelu(approximate=False)", "triton:backward"),
        ("softmax", "triton:rows"), ("softmax", "triton:rows+where"),
        ("softmax", "triton:rows/chunked"), ("softmax", "triton:rows+where/chunked")}
    assert all(r["ok"] and r["error"] is None and r["target"] == "cpu (interpreter)" for r in rows)
    assert aot.summary(rows) == "compiled 8 kernels for 1 targets, 0 failed"


# -- the gated rows (glu, swiglu, geglu): tests/test_kernels_gated.py's helpers -----------

@pytest.mark.parametrize("shape, axis", G.SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("info, params, label", G.CASES, ids=[c[2] for c in G.CASES])
def test_triton_gated_kernels(info, params, label, dtype, shape, axis):
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    from _calls import calls_to

    from multiact.kernels import triton as kt

    prev = kernels.set_mode("fused")
    try:
        dt = getattr(torch, dtype)
        (x, y, g, grad, kw), pairs = calls_to(
            kt, "gated_pair", lambda: G._run_both(info, params, dt, shape, axis))
        assert pairs, "the Triton training kernels did not run"
        G._check_backward(info, x, g, grad, axis, kw, dt)
        cell, fwd = calls_to(kt, "gated_forward",
                             lambda: score_case(info, G.case_params(info, params),
                                                Target("torch", "cpu"), dtype))
        assert fwd, "the Triton forward kernel did not run"
        assert cell.passed, cell.message()
    finally:
        kernels.set_mode(prev)



def _ops_and_kernel(fn):
    """``(the ATen compute ops fn ran, whether it launched a Triton kernel)``."""
    from _calls import calls_to
    from torch.utils._python_dispatch import TorchDispatchMode

    from multiact.kernels import triton as kt

    free = {"detach", "view", "alias", "_unsafe_view", "empty_like", "empty"}

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            ops.append(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    ops = []
    with Ops():
        launched = bool(calls_to(kt, "_launch", fn)[1])
    return [o for o in ops if o not in free], launched


# the ops of a launch under the interpreter itself (its copies in and out)
_LAUNCH_OPS = {"new_empty", "set_", "copy_"}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("info, params", CASES, ids=[i.label(p) for i, p in CASES])
def test_a_training_call_is_one_kernel_each_way(interpreted, info, params, dtype):
    # Where Triton's kernels apply (CUDA; here the interpreter in fused mode), a call
    # that records a gradient is one kernel forward and one backward: Triton's pair,
    # or one native ATen op each way (torch.relu, F.elu, ...), never a chain of ops.
    # Found on an H200: tanh_shrink's training calls took its Function's nineteen
    # ops (4x native's time), and relu with max_value=None never took its kernels.
    f = getattr(multiact, info.name)
    x = torch.linspace(0.1 if info.nonneg_input else -3.0, 3.0, 40).to(dtype)
    x.requires_grad_(True)
    y = []
    fwd, kernel = _ops_and_kernel(lambda: y.append(f(x, **params)))
    assert set(fwd) <= _LAUNCH_OPS if kernel else len(fwd) == 1, fwd
    g = torch.ones_like(x)
    bwd, kernel = _ops_and_kernel(lambda: y[0].backward(g))
    assert set(bwd) <= _LAUNCH_OPS if kernel else len(bwd) == 1, bwd


def _every_half(dtype):
    """Every finite float16 or bfloat16 value with |x| < 20 (beyond, exact GELU is x
    or 0 to far below a half ulp), as a torch tensor of ``dtype``."""
    bits = torch.arange(0, 1 << 16, dtype=torch.int32).to(torch.int16)
    x = bits.view(getattr(torch, dtype))
    return x[torch.isfinite(x) & (x.float().abs() < 20)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_exact_gelu_half_kernels_on_every_value(interpreted, used_kernel, dtype):
    # decision 117: the half dtypes' kernels take the float32 rational (_trace.gpu_ndtr),
    # the backward its value and phi for its derivative; every value, forward and
    # backward, against SciPy in float64, both within the half bound (the gradient
    # too: 0.5012 ulp at float16's -0.74756, next to the derivative's root)
    from multiact.kernels import triton as kt

    info = BY_NAME["gelu"]
    x = _every_half(dtype)
    y, gx = [], []
    assert used_kernel(lambda: y.append(kt.forward(info, x, (False,))))
    assert used_kernel(lambda: gx.append(kt.backward(info, x, torch.ones_like(x), (False,))))
    want, slope = exact_gelu_and_slope(x.double().numpy())
    # raw ulps (of the reference's binade; subnormal ulps below the normal range): no
    # flush-to-zero floor, which for float16 would forgive every |value| below 1/16
    bound = info.bound(dtype, {"approximate": False})
    for got, ref in ((y[0], want), (gx[0], slope)):
        err = np.abs(got.double().numpy() - ref) / ulp_of(ref, dtype)
        assert float(err.max()) <= bound, float(x[int(err.argmax())])


def test_a_launch_runs_on_its_tensors_device(monkeypatch):
    # decision 187: Triton launches on the current device (and its stream), not the
    # tensor's: a model on cuda:1 got a kernel on GPU 0 with GPU 1's pointers, and the
    # compile thread's warm-up launch (its current device is always 0) did too.  A
    # launch now switches to the first tensor's device where it is not the current
    # one, as ATen and Inductor do.  No GPU here: the device calls are stubbed.
    from multiact.kernels import triton as kt

    current, seen = [0], []

    class Device:  # torch.cuda.device's context manager, on the stub's current device
        def __init__(self, d):
            self.index = d.index

        def __enter__(self):
            self.prev, current[0] = current[0], self.index

        def __exit__(self, *exc):
            current[0] = self.prev

    class Kernel:
        def __getitem__(self, grid):
            return lambda *args, **kw: seen.append((grid, current[0]))

    class Tensor:
        def __init__(self, index):
            self.device = torch.device("cuda", index)

    monkeypatch.setattr(kt, "interpreted", lambda: False)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current[0])
    monkeypatch.setattr(torch.cuda, "device", Device)
    kt._launch(Kernel(), (4,), Tensor(1), Tensor(1), 8)
    kt._launch(Kernel(), (2,), Tensor(0), Tensor(0), 8)
    assert seen == [((4,), 1), ((2,), 0)] and current == [0]


def test_a_cuda_sample_is_small_and_specialized_as_the_call():
    # decision 187: the CUDA tier compiled each kernel by a launch on a sample of the
    # call's size (a training slot's x, g and output: three times the input on the
    # device, at the user's peak).  The sample is now at most TRITON_SAMPLE elements,
    # and Triton's specialization of its integer arguments (being 1, divisibility by
    # 16, 64 bits) is the call's, so that the call finds its variant compiled.
    from triton.backends.compiler import BaseBackend
    jit = pytest.importorskip("triton.runtime.jit")
    if not hasattr(jit, "native_specialize_impl"):  # (Triton 3.4 and later)
        pytest.skip("this Triton has no native_specialize_impl to ask")
    native_specialize_impl = jit.native_specialize_impl

    def spec(n):
        return native_specialize_impl(BaseBackend, n, False, True, True)

    sizes = [1, 2, 15, 16, 17, 1000, 1 << 14, (1 << 14) + 1, 1 << 20, (1 << 20) + 3,
             10_000_000, 10_000_016, (1 << 31) - 1, 1 << 31, (1 << 31) + 5]
    for n in sizes:
        m = kernels._triton_numel(n)
        assert spec(m) == spec(n), n
        assert m <= max(kernels.TRITON_SAMPLE + 1, n if n >= 1 << 31 else 0), n
    for outer, m in [(1, 4096), (3, 1000), (64, 1000), (1000, 30), (4096, 4096), (17, 7),
                     (100_000, 3), (2048, 8), (100_001, 1), (100_000, 1), (1, 1)]:
        o = kernels._gated_outer(outer, m)
        assert (spec(o * m), spec(m)) == (spec(outer * m), spec(m)), (outer, m)
        assert o * m <= max(16 * m, kernels.TRITON_SAMPLE), (outer, m)
