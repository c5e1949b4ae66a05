"""The CPU kernels (Inductor compiling the generic bodies, and the derivative
graphs printed as ATen ops): scored against mpmath with the conformance
scorer, and their backward against autodiff of the generic body.  The switch
is set to ``fused`` so that the small test inputs take the kernels that large
tensors take by default."""

from __future__ import annotations

import math
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
from scipy import special
from _calls import tier_kernels_run

import multiact
from multiact import kernels
from multiact._check.score import score_case, ulp_error
from multiact._check.targets import Target
from multiact._table import BY_NAME, TABLE

torch = pytest.importorskip("torch")
pytest.importorskip("torch._inductor")
from multiact.backends import torch as torch_backend  # noqa: E402 - needs torch

FUSED = [i for i in TABLE if i.elementwise and i.fused]   # the rows with fused kernels
CASES = [(i, dict(c.params)) for i in FUSED for c in i.cases]
ROWS = [i for i in TABLE if i.row_kernel]                 # the rows with row kernels
TRAINED_ROWS = [i for i in ROWS if i.row_backward]        # ... also in training
TARGET = Target("torch", "cpu")
TORCH = torch_backend.BACKEND


def _ids(cases):
    return [i.label(p) for i, p in cases]


@pytest.fixture(scope="module")
def inductor():
    from multiact.kernels import inductor as ki

    prev = kernels.set_mode("fused")
    yield ki
    kernels.set_mode(prev)
    from multiact.kernels._tier import FAILED, TIER

    failed = [s for s in TIER.slots.values() if s.state is FAILED]
    assert not failed, failed


def _ran_inductor(ki, fn):
    return tier_kernels_run(fn)


def _kernel(ki, kind, info, params, dtype):
    """The Inductor kernel itself, compiled now (outside the tier and whatever route
    the backend takes): ``forward`` (``x -> f(x)``) or ``train`` (a pair: the forward,
    and the backward, ``(x, g) -> g f'(x)``; the generic body and its traced
    derivative, or the backend's own formulas: ``kernels.own``), over 1-d tensors."""
    dt = getattr(torch, dtype)
    n = ki.SAMPLE_NUMEL
    # distinct tensors: Dynamo guards on aliasing (one tensor twice: a kernel for x is g)
    sample = tuple(torch.zeros(n, dtype=dt) for _ in range(1 if kind == "forward" else 2))
    slot = SimpleNamespace(label=f"test {info.label(params)} {dtype} {kind}")
    return ki.builder(kind, info, dtype, info.args(params))(slot, sample)


# why: backends/torch.py's special cases that take the fused kernels on the eager routes,
# with the kinds of kernel (the tier's: "forward" in inference, "train" a forward and
# backward pair, "fuse" a backend's own ATen function); the other special cases run
# native ops, and a row with no special case takes "forward" and "train"
SPECIAL_CASES_WITH_KERNELS = {"silu": ("train",), "gelu": ("forward", "train"),
                              "hard_silu": ("forward", "train"), "mish": ("train",),
                              "soft_sign": ("forward", "train"), "hard_sigmoid": ("train",),
                              "sigmoid": ("train",), "tanh_shrink": ("forward", "fuse"),
                              "soft_shrink": ("forward", "train"), "hard_shrink": ("train",),
                              "quick_gelu": ("forward", "train"), "relu2": ("forward", "train")}


def _kernel_kinds(info):
    """The kinds of kernel the torch backend takes for ``info``'s function."""
    if info.name not in TORCH.special_cases:
        return ("forward", "train")            # the backend's rule for every function
    return SPECIAL_CASES_WITH_KERNELS.get(info.name, ())


def _assert_forward_kernel_within_the_bound(inductor, info, params, dtype):
    """The forward kernel itself, on the conformance sweep, against mpmath."""
    from multiact._check import inputs as I
    from multiact._check import reference as R

    k = _kernel(inductor, "forward", info, params, dtype)
    xs = I.sweep(dtype, False, False)
    hi, lo = R.elementwise(R.for_row(info.name), xs, **params)
    y = k(torch.tensor(xs, dtype=getattr(torch, dtype)))
    err = ulp_error(y.double().numpy(), hi, lo, dtype)
    assert float(err.max()) <= info.bound(dtype, params), \
        (float(err.max()), xs[np.argmax(err)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("info, params", CASES, ids=_ids(CASES))
def test_forward_within_the_bounds(inductor, info, params, dtype):
    # the kernel itself, scored as the conformance suite scores a backend
    _assert_forward_kernel_within_the_bound(inductor, info, params, dtype)
    # and multiact's function in this mode (the kernel where the route takes it)
    cell = score_case(info, params, TARGET, dtype)
    assert cell.passed, cell.message()


@pytest.mark.parametrize("info", FUSED, ids=lambda i: i.name)
def test_the_routes_that_take_the_kernels(inductor, info):
    # exactly the kernels _kernel_kinds names serve an inference and a training call
    params = dict(info.cases[0].params)
    x = torch.linspace(0.1, 3.0, 64, dtype=torch.float64)
    f = getattr(multiact, info.name)
    _, fwd = _ran_inductor(inductor, lambda: f(x, **params))
    xr = x.clone().requires_grad_(True)
    _, train = _ran_inductor(inductor, lambda: f(xr, **params).sum().backward())
    ran = {key[0] for key in fwd + train  # (a "fuse" kernel is keyed "sigmoid_pair", ...)
           if key[2] == info.name or key[2].startswith(info.name + "_")}
    assert ran == set(_kernel_kinds(info)), (fwd, train)


@pytest.mark.parametrize("info", FUSED, ids=lambda i: i.name)
def test_the_kernels_keep_a_dense_inputs_layout(inductor, info):
    # decision 148: a channels_last (or transposed) input was made contiguous for the
    # kernels, and its output came back contiguous once the kernel was ready, where
    # torch's ops and the framework path keep the format; the gradient too (a
    # contiguous cotangent is copied into x's order); a sliced input's output is
    # contiguous, as before
    params = dict(info.cases[0].params)
    f = getattr(multiact, info.name)
    base = torch.linspace(-3.0, 3.0, 2 * 8 * 4 * 4, dtype=torch.float64).reshape(2, 8, 4, 4)
    for x in (base.to(memory_format=torch.channels_last), base[0].transpose(0, 2)):
        want = f(x.contiguous(), **params)
        kernels.set_mode("framework")  # (the layout the framework path gives: torch's own
        try:                           # logsigmoid returns a contiguous tensor)
            layout = f(x, **params).stride()
        finally:
            kernels.set_mode("fused")
        kinds = set(_kernel_kinds(info))
        _, ran = _ran_inductor(inductor, lambda: f(x, **params))
        assert bool(ran) == ("forward" in kinds or "fuse" in kinds), ran
        y = f(x, **params)
        assert y.stride() == layout
        # (a vector loop and its scalar tail may round an element apart: 1 ulp)
        torch.testing.assert_close(y, want, rtol=5e-16, atol=0, equal_nan=True)
        xr = x.clone(memory_format=torch.preserve_format).requires_grad_(True)
        g = torch.cos(torch.arange(x.numel(), dtype=torch.float64)).reshape(x.shape)
        _, ran = _ran_inductor(inductor, lambda: f(xr, **params).backward(g))
        assert bool(ran) == bool(kinds - {"forward"}), ran
        xc = x.contiguous().requires_grad_(True)
        f(xc, **params).backward(g)
        assert xr.grad.stride() == x.stride() or "train" not in kinds
        torch.testing.assert_close(xr.grad, xc.grad, rtol=5e-16, atol=0, equal_nan=True)
    xs = base[:, :, :, ::2]
    torch.testing.assert_close(f(xs, **params), f(xs.contiguous(), **params), rtol=5e-16, atol=0,
                               equal_nan=True)


def test_a_kernels_output_takes_in_place_ops_as_the_framework_paths(inductor):
    # decision 149: the kernels' outputs were views of their 1-d results: in no_grad
    # mode an in-place op with an operand that requires grad raised ("A view was
    # created in no_grad mode"), and tanh_shrink's pair (a Function's outputs) refused
    # any in-place op, where the framework paths take both
    x = torch.linspace(-3.0, 3.0, 64, dtype=torch.float64).reshape(8, 8)
    w = torch.ones(8, 8, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        _, ran = _ran_inductor(inductor, lambda: multiact.gelu(x, approximate=False))
        assert ran
        y = multiact.gelu(x, approximate=False)
    assert y._base is None
    y.mul_(w)
    xr = x.clone().requires_grad_(True)
    _, ran = _ran_inductor(inductor, lambda: multiact.tanh_shrink(xr))
    assert ran
    y = multiact.tanh_shrink(xr)
    y.mul_(2.0).sum().backward()
    torch.testing.assert_close(xr.grad, 2 * torch.tanh(x) ** 2)


def test_zero_parameters_keep_nan_and_the_sign_of_zero_in_the_kernels(inductor):
    # decision 150: Inductor folds 0 * t into 0 for a Python int 0, so prelu(x, 0) and
    # elu(x, alpha=0) gave 0 for NaN and +0 for -0 in a kernel (as_param makes such an
    # int a float); and the kernels' key did not tell -0.0 from 0.0, so whichever
    # slope compiled first served both
    x = torch.tensor([float("nan"), -float("inf"), -2.0, 3.0] * 16, dtype=torch.float64)
    for f in (lambda t: multiact.prelu(t, 0), lambda t: multiact.elu(t, alpha=0),
              lambda t: multiact.leaky_relu(t, negative_slope=0)):
        _, ran = _ran_inductor(inductor, lambda: f(x))
        y = f(x)
        kernels.set_mode("framework")
        try:
            want = f(x)
        finally:
            kernels.set_mode("fused")
        assert torch.equal(y.isnan(), want.isnan()) and y[:4].isnan().tolist() == [
            True, False, False, False], (ran, y[:4])
        assert torch.equal(torch.signbit(y), torch.signbit(want)), (ran, y[:4], want[:4])
    signs = []
    for s in (-0.0, 0.0, -0.0):
        _, ran = _ran_inductor(inductor, lambda: multiact.leaky_relu(x, negative_slope=s))
        signs.append(torch.signbit(multiact.leaky_relu(x, negative_slope=s)[2]).item())
    assert signs == [False, True, False]


def test_expm1_without_cancellation(inductor):
    x = torch.tensor([1e-300, 1e-12, 3.6e-8, 1e-3, 0.5, -1e-12, -0.5, -40.0, 40.0, 800.0,
                      -800.0, 0.0], dtype=torch.float64)
    from multiact.kernels._ops import OPS

    # the registry's ATen spelling of expm1, compiled: Kahan's form (Inductor's
    # own expm1 is exp(x) - 1)
    got = torch.compile(lambda t: OPS["expm1"].aten(None, t))(x)
    torch.testing.assert_close(got, torch.expm1(x), rtol=4e-16, atol=0)


@pytest.mark.parametrize("info, params", CASES, ids=_ids(CASES))
def test_backward_matches_autodiff_of_the_generic_body(inductor, info, params):
    from multiact.backends import torch as tb

    args = info.args(params)
    x = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    if info.nonneg_input:
        x = x.abs() + 1e-3
    g = torch.cos(x)
    xg = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(info.body(tb.NS, xg, *args), xg, g)
    # the kernel itself: the traced derivative printed as ATen ops, or the backend's
    # own backward (kernels.own), compiled
    pair = _kernel(inductor, "train", info, params, "float64")
    # 1 - tanh^2: absolute accuracy only, in both (decisions 9)
    atol = 4e-16 if info.name == "tanh" else 1e-300
    torch.testing.assert_close(pair.bwd(x, g), want, rtol=1e-12, atol=atol)
    torch.testing.assert_close(pair.fwd(x), info.body(tb.NS, x, *args), rtol=1e-12,
                               atol=1e-300)
    # and multiact's backward in this mode, whatever its route
    xr = x.clone().requires_grad_(True)
    getattr(multiact, info.name)(xr, **params).backward(g)
    torch.testing.assert_close(xr.grad, want, rtol=1e-12, atol=1e-300)


def test_exact_gelu_float32_kernels_hold_no_erfc(inductor):
    # decision 109: the float32 pair is _gelu_erf_f32 and _gelu_erf_f32_bwd, each
    # a rational summed in float64 and the rest in float32: no erfc, no erf.
    # Against mpmath: forward within 2.4 ulp (measured 2.33 on every float32 of
    # [-14.5, 12] against float64's x ndtr(x)), backward within 2.5 (measured 2.40
    # on every float32 of [-15, 12]), also at GELU's minimum (x = -0.7518), where
    # Phi(x) + x phi(x) cancels; NaN, +-inf and +-0 as the contract has them
    from torch._inductor.graph import GraphLowering

    from multiact._check import reference as R

    info = BY_NAME["gelu"]
    code = []
    with mock.patch.object(GraphLowering, "save_output_code", code.append):
        pair = _kernel(inductor, "train", info, {"approximate": False}, "float32")
    assert len(code) == 2 and not any("erfc" in c or "erf(" in c for c in code)
    x = torch.tensor(np.concatenate([np.linspace(-13, 8, 631), np.linspace(-1.6, -0.2, 141),
                                     -0.7517915 + np.arange(-8, 9) * 6e-8]),
                     dtype=torch.float32)
    for f, ref, bound in ((lambda t: pair.fwd(t), R.elementwise, 2.4),
                          (lambda t: pair.bwd(t, torch.ones_like(t)), R.derivative, 2.5)):
        want = ref(R.for_row("gelu"), x.double().numpy(), approximate=False)
        hi, lo = want if isinstance(want, tuple) else (want, 0.0)
        got = f(x)
        assert got.dtype == torch.float32
        assert float(ulp_error(got.double().numpy(), hi, lo, "float32").max()) <= bound
    inf = torch.tensor([-math.inf, math.inf, math.nan])
    assert pair.fwd(inf)[:2].tolist() == [0.0, math.inf] and pair.fwd(inf)[2].isnan()
    assert pair.bwd(inf, torch.ones(3))[:2].tolist() == [0.0, 1.0]
    assert pair.bwd(inf, torch.ones(3))[2].isnan()
    zeros = torch.tensor([0.0, -0.0])  # gelu(+-0) = +-0; g = -0 gives -0
    assert torch.signbit(pair.fwd(zeros)).tolist() == [False, True]
    assert torch.signbit(pair.bwd(torch.ones(2), -zeros)).tolist() == [True, False]
    # gelu'(x) = 1/2 exactly near 0 (a shifted exp there rounded it 2 ulp under)
    near0 = torch.tensor([0.0, -0.0, 1e-8, -1e-8, 1.36e-8, -1.36e-8])
    assert pair.bwd(near0, torch.ones(6)).tolist() == [0.5] * 6
    _assert_forward_kernel_within_the_bound(inductor, info, {"approximate": False}, "float32")


def test_a_kernels_constants_are_not_inputs_of_its_graph(inductor):
    # the rational's coefficients (Python floats in tuples) are constants of the
    # compiled graph, not inputs: Dynamo's default (specialize_float=False) made
    # each a tensor input that torch.as_tensor built on every call (exact GELU's
    # forward took 13 inputs, ~80 us a call); its inputs are the size and x
    import re

    from torch._inductor.graph import GraphLowering

    code = []
    with mock.patch.object(GraphLowering, "save_output_code", code.append):
        _kernel(inductor, "forward", BY_NAME["gelu"], {"approximate": False}, "float32")
    (c,) = code
    unpacked = re.search(r"def call\((?:self, )?args\):\n\s*(.*) = args\n", c).group(1)
    assert len([a for a in unpacked.split(",") if a.strip()]) == 2, unpacked


def test_tanh_gelu_float32_backward_kernel(inductor):
    # the compiled backward from one exp (_gelu_tanh_bwd_one_exp) against the
    # derivative s + x s (1 - s) v' in float64 (s = sigmoid(v), v = 2u): within 3
    # units of roundoff (2^-24) of its terms' size times 1 + |v| (2u's rounding,
    # which the tail amplifies, as the forward's) where the derivative is at least
    # 2^-100 (below, e = exp(-|v|) is subnormal), measured 2.75 (the two sigmoids'
    # kernel: the same); and never 0 where the derivative is a normal float32 (the
    # two sigmoids' flushed 2901 of these points to 0 near x = -10)
    info = BY_NAME["gelu"]
    pair = _kernel(inductor, "train", info, {"approximate": True}, "float32")
    xf = torch.linspace(-12, 12, 400001, dtype=torch.float32)
    got = pair.bwd(xf, torch.ones_like(xf)).double()
    from multiact._agnostic import _formulas as fm

    x = xf.double()
    v = x * (fm.GELU_A + fm.GELU_B * x * x)
    s, sn = torch.sigmoid(v), torch.sigmoid(-v)
    tail = x * s * sn * (fm.GELU_A + 3 * fm.GELU_B * x * x)
    want, terms = s + tail, s + tail.abs()
    err = (got - want).abs() / (terms * 2.0**-24 * (1 + v.abs()))
    normal = want.abs() >= 2.0**-100
    assert float(err[normal].max()) <= 3, float(err[normal].max())
    assert not bool(((got == 0) & (want.abs() >= 2.0**-126)).any())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_exact_gelu_kernels_on_every_half_value(inductor, dtype):
    # the half tensors' pair (decision 82): _special.gelu_rational and its derivative
    # in float32, no erfc, rounded once; both within the half bound (0.51 ulp: the
    # float32 error must stay below 1/100 of a half ulp) on every finite value of
    # the dtype (measured 0.49993 and 0.50011 at most), NaN, +-inf and +-0 as the
    # contract has them.  Reference: float64 erfc and exp (SciPy), whose errors are
    # some 1e-13 of a half ulp, also at the derivative's root
    from torch._inductor.graph import GraphLowering

    info = BY_NAME["gelu"]
    code = []
    with mock.patch.object(GraphLowering, "save_output_code", code.append):
        pair = _kernel(inductor, "train", info, {"approximate": False}, dtype)
    assert len(code) == 2 and not any("erfc" in c or "erf(" in c for c in code)
    dt = getattr(torch, dtype)
    x = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).view(dt)
    y, d = pair.fwd(x), pair.bwd(x, torch.ones_like(x))
    assert y.dtype == d.dtype == dt
    xd = x.double().numpy()
    fin = np.isfinite(xd)
    xf = xd[fin]
    cdf = 0.5 * special.erfc(-xf / math.sqrt(2.0))
    want = xf * cdf
    dwant = cdf + xf * np.exp(-xf * xf / 2.0) / math.sqrt(2.0 * math.pi)
    assert float(ulp_error(y.double().numpy()[fin], want, 0.0, dtype).max()) <= info.bound(dtype)
    assert float(ulp_error(d.double().numpy()[fin], dwant, 0.0, dtype).max()) <= 0.51
    nan = np.isnan(xd)
    assert np.isnan(y.double().numpy()[nan]).all() and np.isnan(d.double().numpy()[nan]).all()
    inf = torch.tensor([-math.inf, math.inf], dtype=dt)
    assert pair.fwd(inf).tolist() == [0.0, math.inf]
    assert pair.bwd(inf, torch.ones_like(inf)).tolist() == [0.0, 1.0]
    zeros = torch.tensor([0.0, -0.0], dtype=dt)  # gelu(+-0) = +-0; g = -0 gives -0
    assert torch.signbit(pair.fwd(zeros)).tolist() == [False, True]
    assert torch.signbit(pair.bwd(torch.ones(2, dtype=dt), -zeros)).tolist() == [True, False]


@pytest.mark.parametrize("info", ROWS, ids=lambda i: i.name)
def test_rows_within_the_bounds(inductor, info, monkeypatch):
    # a row whose unmasked CPU calls are ATen's own (kernels.own: softmax) takes
    # its eager path there; its kernel (masked calls) is scored without the
    # registration
    native = kernels._own(info.name, inductor._rows_params(info), "float32").native
    for dtype in ("float32", "float64"):
        cell, calls = _ran_inductor(inductor, lambda: score_case(
            info, dict(info.cases[0].params), TARGET, dtype))
        # (standardize's check rows are 1024 long: float64 takes the eager path there,
        # kernels._eager_rows; decision 163)
        eager = native or (dtype == "float64" and info.square_sums)
        assert bool(calls) is not eager and cell.passed, cell.message()
    if native:
        monkeypatch.delitem(kernels._OWN, info.name)
        for dtype in ("float32", "float64"):
            cell, calls = _ran_inductor(inductor, lambda: score_case(
                info, dict(info.cases[0].params), TARGET, dtype))
            assert calls and cell.passed, cell.message()


def _row_kernel_code(inductor, info, masked):
    """The C++ that Inductor writes for ``info``'s row kernel (rows of 2000)."""
    from torch._inductor.graph import GraphLowering

    params = tuple(p.default for p in info.params)
    sample = (torch.zeros(*inductor.sample_rows(1000, 2000)),)
    if masked:
        sample += (torch.ones(sample[0].shape, dtype=torch.bool),)
    f = inductor._rows_fn(info, params)
    code = []
    # (torch._inductor.utils.run_and_get_code resets Dynamo: every kernel compiled
    # before would miss from then on)
    with mock.patch.object(GraphLowering, "save_output_code", code.append):
        inductor._compile("test", f, len(sample), sample)
    assert len(code) == 1
    return code[0]


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("info", [i for i in ROWS if i.row_kernel == "same" and i.row_loop],
                         ids=lambda i: i.name)
def test_a_row_kernel_is_one_loop_over_the_rows(inductor, info, masked):
    # each row's passes (its maximum, its sums, its output) run one after another
    # on the row while it is in cache, under one parallel loop over the rows; a
    # per-row value that needs a log made Inductor compute it in a loop of its own,
    # and every pass then read the whole input from memory (decision 75)
    assert _row_kernel_code(inductor, info, masked).count("#pragma omp for") == 1


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("info", [i for i in ROWS if i.row_kernel == "same" and not i.row_loop],
                         ids=lambda i: i.name)
def test_a_row_kernel_takes_the_log_of_a_rows_sums_once(inductor, info, masked):
    # log_softmax's output is the shifted entry minus log(sum): in one loop over the
    # rows the C++ calls log and log1p of the row's sums again for every vector of
    # entries (Inductor compiles with -fmath-errno: the compiler may not hoist a
    # libm call), 1.37-1.43x F.log_softmax on rows of 100 where the loop that
    # writes the output calls none, 1.24-1.26x (decision 190)
    loops = _row_kernel_code(inductor, info, masked).split("#pragma omp for")
    assert len(loops) > 1 and "log" not in loops[-1].split("'''")[0]  # (the C++ source's end)


@pytest.mark.parametrize("info", [i for i in ROWS if i.exp_sums and i.row_kernel == "same"],
                         ids=lambda i: i.name)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_long_rows_summed_in_float64(inductor, info, dtype):
    # a sum of a row adds each vector lane's terms in order; on a peaked row every
    # term in a maximum's lane rounds the same way (kernels.LONG_ROW): float32 rows
    # longer than LONG_ROW take a kernel of their own whose sums accumulate in
    # float64, and float64 ones the eager path (no kernel: 248 ulp), within the
    # bound of mpmath (the float32 kernel: 247 ulp of softmax at 4096 entries);
    # shorter rows keep the plain kernel.  The half dtypes (summed in float32,
    # rounded once) so past their own limit (kernels.long_row)
    from multiact._check.reference import LOG_SOFTMAX
    from test_functions import _peaked_rows

    longest = kernels.long_row(dtype)
    n = 4096 if longest == kernels.LONG_ROW else longest + 1
    x_np = _peaked_rows(n, dtype)
    lsm = LOG_SOFTMAX.f(x_np)
    want = lsm if info.name == "log_softmax" else np.exp(lsm)
    x = torch.tensor(-x_np if info.name == "softmin" else x_np).to(getattr(torch, dtype))
    y, calls = _ran_inductor(inductor, lambda: getattr(multiact, info.name)(x, axis=-1))
    # (the slot key's last: long)
    assert [k[-1] for k in calls] == ([] if dtype == "float64" else [True])
    err = ulp_error(y.double().numpy(), want, 0.0, dtype)
    assert float(err.max()) <= info.bound(dtype)
    _, calls = _ran_inductor(inductor, lambda: getattr(multiact, info.name)(
        x[:, :longest], axis=-1))
    assert [k[-1] for k in calls] == ([] if info.name == "softmax" else [False])  # (softmax:
    # torch's own there, decision 76)


@pytest.mark.parametrize("dtype, far", [("float32", 1e15), ("float64", 1e30)])
def test_standardize_long_rows_with_a_far_entry_summed_wide(inductor, dtype, far):
    # decision 163: one entry far out makes the squares' sum span many orders, and
    # each lane adds its terms in order: a float32 row of 5000 with one entry of 1e15
    # was 7.26 units (the bound: 2.5), a float64 one with 1e30 8.03, where
    # F.layer_norm and the eager paths are under 1. As the exp sums' rows: float32
    # sums in float64, float64 the eager path
    from multiact._check.reference import standardize as reference
    from multiact._check.score import scaled_error, standardize_scale

    x_np = np.random.default_rng(1).standard_normal((2, 5000)) * 5
    x_np[:, 1666] = far
    x_np = x_np.astype(dtype)
    want = reference(x_np.astype(np.float64))
    y, calls = _ran_inductor(inductor, lambda: multiact.standardize(torch.from_numpy(x_np)))
    assert [k[-1] for k in calls] == ([] if dtype == "float64" else [True])  # (long)
    # (5000 entries: Inductor's cascade side of 4096, a kernel of its own; a kernel
    # compiled on 1024 before missed every call here)
    assert all(k[-3] for k in calls)
    err = scaled_error(y.double().numpy(), want, standardize_scale(
        x_np.astype(np.float64), want), dtype)
    assert float(err.max()) <= BY_NAME["standardize"].bound(dtype), float(err.max())


def test_rows_each_side_of_inductors_cascade_have_a_kernel(inductor):
    # Inductor sums a float32 row longer than 4096 by a cascade of chunks and guards
    # the length on the side its sample was: standardize's kernel compiled on 1024
    # columns missed every call on 5000 (the framework path served). Each side has
    # its kernel (kernels.CASCADE_CHUNK); the slot key's third from last
    for x in (torch.randn(4, 1024), torch.randn(2, 5000), torch.randn(3, 2000),
              torch.randn(5, 7000)):
        y, calls = _ran_inductor(inductor, lambda: multiact.standardize(x, epsilon=2e-5))
        assert [k[-3] for k in calls] == [x.shape[-1] > kernels.CASCADE_CHUNK], x.shape
        torch.testing.assert_close(y, torch.nn.functional.layer_norm(x, x.shape[-1:], eps=2e-5))


def test_rows_masked_and_training(inductor):
    x = torch.tensor(np.random.default_rng(0).standard_normal((5, 40)) * 3)
    m = torch.tensor(np.random.default_rng(1).random((5, 40)) > 0.3)
    m[0] = False
    from multiact.backends import torch as tb

    for info in TRAINED_ROWS:
        f = getattr(multiact, info.name)
        xr = x.clone().requires_grad_(True)
        y, calls = _ran_inductor(inductor, lambda: f(xr, axis=-1, where=m))
        assert calls
        w = torch.cos(torch.arange(y.numel(), dtype=y.dtype)).reshape(y.shape)
        (y.nan_to_num(neginf=0.0) * w).sum().backward()
        xg = x.clone().requires_grad_(True)
        args = [{"axis": (1,), "where": m}.get(p.name, p.default) for p in info.params]
        yg = info.body(tb.NS, xg, *args)
        # (standardize's fully masked row is NaN: nothing to count)
        torch.testing.assert_close(y, yg, rtol=1e-12, atol=1e-14, equal_nan=True)
        (want,) = torch.autograd.grad((yg.nan_to_num(neginf=0.0) * w).sum(), xg)
        torch.testing.assert_close(xr.grad, want, rtol=1e-12, atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("mean, variance, epsilon", [
    (None, None, 1e-5), (0.25, None, 1e-5), (None, 2.0, 1e-5), (0.25, 2.0, 1e-5),
    (None, None, 0.0), (None, 0.0, 0.0), (0.25, 0.0, 0.0)])
def test_standardize_written_out_vjp_is_autograds(inductor, mean, variance, epsilon):
    # FuncInfo.vjp (standardize_vjp) against autograd's derivative of the generic
    # body, float64, over one and two axes, with and without a mask (a fully
    # masked row among them: NaN output, zero gradient, as autograd's); and the
    # tier's compiled backward, which takes it, the same
    from multiact._agnostic import reductions as Rd

    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((5, 40)) * 3 + 7)
    g = torch.tensor(rng.standard_normal((5, 40)))
    m = torch.tensor(rng.random((5, 40)) > 0.3)
    m[0] = False
    x[3] = 2.5  # a constant slice: sigma = sqrt(epsilon), 0 with epsilon 0 (NaN, +-inf)
    for axis in ((1,), (0, 1)):
        for where in (None, m):
            args = (axis, mean, variance, epsilon, where)
            xg = x.clone().requires_grad_(True)
            (want,) = torch.autograd.grad(Rd.standardize(torch_backend.NS, xg, *args), xg, g)
            got = Rd.standardize_vjp(torch_backend.NS, x, g, *args)
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14, equal_nan=True)
            if axis == (1,):
                xr = x.clone().requires_grad_(True)
                kw = {"mean": mean, "variance": variance, "epsilon": epsilon, "where": where}
                _, calls = _ran_inductor(inductor, lambda: multiact.standardize(
                    xr, **kw).backward(g))
                assert [c[0] for c in calls] == ["train"]
                torch.testing.assert_close(xr.grad, want, rtol=1e-12, atol=1e-14,
                                           equal_nan=True)


def test_standardize_float32_backward_kernel_within_its_terms(inductor):
    # the compiled float32 backward against autograd of the body in float64: each
    # entry within 4 units of roundoff (2^-24) of its terms' size, (|g_j| + mean |g| + (|d_j| +
    # |mu|) mean |g d| / sigma^2) / sigma, which the sums' and the mean's roundings
    # scale with; rows of 3000 around 0 and around 50.  Measured 2.34 on an AVX-512
    # machine (autograd's graph compiled, the kernel before: 2.30; F.layer_norm's
    # backward: 2.53), 3.19 on an AVX2 one: the vectorised sums add 3000 / 8 terms a
    # lane there, not 3000 / 16, so their roundings grow; hence 4 units (decision 96)
    rng = np.random.default_rng(4)
    x64 = rng.standard_normal((16, 3000)) * np.repeat([[1.0], [2.0]], 8, 0) \
        + np.repeat([[0.0], [50.0]], 8, 0)
    g64 = rng.standard_normal((16, 3000))
    xr = torch.tensor(x64, dtype=torch.float32, requires_grad=True)
    _, calls = _ran_inductor(inductor, lambda: multiact.standardize(xr).backward(
        torch.tensor(g64, dtype=torch.float32)))
    assert [c[0] for c in calls] == ["train"]
    x32, g32 = xr.detach().double().numpy(), np.float32(g64).astype(np.float64)
    xg = torch.tensor(x32, requires_grad=True)
    y = BY_NAME["standardize"].body(torch_backend.NS, xg, (1,))
    (want,) = torch.autograd.grad(y, xg, torch.tensor(g32))
    mu = x32.mean(1, keepdims=True)
    d = x32 - mu
    sigma = np.sqrt((d * d).mean(1, keepdims=True) + 1e-5)
    c = np.abs(g32 * d).mean(1, keepdims=True) / sigma**2
    terms = (np.abs(g32) + np.abs(g32).mean(1, keepdims=True) + (np.abs(d) + np.abs(mu)) * c
             ) / sigma
    err = np.abs(xr.grad.double().numpy() - want.numpy()) / terms
    assert float(err.max()) <= 4 * 2.0**-24, float(err.max()) / 2.0**-24


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_training_kernel_pair(inductor, dtype):
    # sigmoid's training pair: torch's forward and one compiled backward from the
    # saved x; values against an independent float64 formula; an in-place edit of
    # the input after the call is PyTorch's error, never a wrong gradient
    # (decision 68).
    import math

    xs = [-800.0, -40.0, -17.5, -1.0, -0.0, 0.0, 1e-8, 0.5, 17.5, 30.0, 40.0, 800.0]
    x = torch.tensor(xs, dtype=dtype, requires_grad=True)
    g = torch.linspace(-2.0, 2.0, len(xs), dtype=dtype)

    def run():
        y = multiact.sigmoid(x)
        y.backward(g)
        return y

    y, calls = _ran_inductor(inductor, run)
    assert [c[:3] for c in calls] == [("train", "inductor", "sigmoid")]

    def ref_sig(v):
        return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))

    def ref_grad(v):  # sigmoid(|v|) sigmoid(-|v|), no cancellation in either tail
        e = math.exp(-abs(v))
        return e / (1.0 + e) ** 2

    want_y = torch.tensor([ref_sig(v) for v in xs], dtype=torch.float64)
    want_g = torch.tensor([ref_grad(v) for v in xs], dtype=torch.float64) * g.double()
    name = str(dtype).removeprefix("torch.")
    tol = BY_NAME["sigmoid"].bound(name) * torch.finfo(dtype).eps  # the one bounds table
    torch.testing.assert_close(y.detach().double(), want_y, rtol=tol, atol=0)
    torch.testing.assert_close(x.grad.double(), want_g, rtol=2 * tol, atol=0)
    x2 = torch.randn(8, dtype=dtype, requires_grad=True).clone()
    y2 = multiact.sigmoid(x2)
    with torch.no_grad():
        x2.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y2.sum().backward()


# every case whose training takes a kernel, and the row kernels' training
TRAINED = [(i, p) for i, p in CASES if {"train", "fuse"} & set(_kernel_kinds(i))] + \
    [(i, dict(i.cases[0].params)) for i in TRAINED_ROWS]


@pytest.mark.parametrize("info, params", TRAINED, ids=_ids(TRAINED))
def test_double_backward_through_the_kernels(inductor, info, params):
    # the kernels' backward with create_graph (a gradient penalty), against float64
    # finite differences
    f = getattr(multiact, info.name)
    x = torch.linspace(-2.1, 1.9, 12, dtype=torch.float64).reshape(3, 4)
    if info.nonneg_input:
        x = x.abs() + 0.1
    if info.row_kernel and (kernels._own(info.name, inductor._rows_params(info),
                                         "float64").native or info.name == "logsumexp"):
        # its kernel (logsumexp trains by its kernel with a mask only: decision 116)
        params = {**params, "where": torch.ones(x.shape, dtype=torch.bool)}
    x.requires_grad_(True)
    _, calls = _ran_inductor(inductor, lambda: f(x, **params).sum().backward())
    assert calls, "the Inductor kernels did not run"
    assert torch.autograd.gradgradcheck(lambda t: f(t, **params), (x,))


_COMPILE_FRESH = '''
import json, torch, multiact
from multiact.kernels._tier import TIER
rows = multiact.compile(functions=["sigmoid"], dtypes=["float32"])
pair = TIER.slots[("train", "inductor", "sigmoid", (), "float32", None)].kernel
from multiact.backends import _torch_native as N
x = torch.tensor([-30.0, -17.5, -1.0, -0.0, 0.0, 2.0, 17.5, 30.0])
g = torch.linspace(-1.0, 1.0, 8)
print(json.dumps({"rows": [[r["kernel"], r["ok"], r["error"]] for r in rows],
                  "native_forward": pair.fwd is N._sigmoid,
                  "bwd": pair.bwd(x, g).double().tolist()}))
'''


def test_multiact_compile_takes_the_backends_own_formulas(tmp_path):
    # multiact.compile() in a fresh process (no backend imported yet): every CPU
    # kernel failed there before ('NoneType' has no attribute 'replacing'), and the
    # kernels it made were the generic ones, where calls take the backend's own
    # (kernels.own): sigmoid's pair is torch's own forward, not a compile (no
    # forward kernel is made for it), and its backward q (1 - q) from x
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor"),
               MULTIACT_KERNELS="auto")
    r = subprocess.run([sys.executable, "-c", _COMPILE_FRESH], capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert [(k, ok) for k, ok, _ in out["rows"]] == [
        ("sigmoid float32 train [Inductor]", True)], out["rows"]
    assert out["native_forward"]
    x = torch.tensor([-30.0, -17.5, -1.0, -0.0, 0.0, 2.0, 17.5, 30.0], dtype=torch.float64)
    g = torch.linspace(-1.0, 1.0, 8, dtype=torch.float64)
    e = torch.exp(-x.abs())  # independent: sigmoid' = e / (1 + e)^2
    torch.testing.assert_close(torch.tensor(out["bwd"], dtype=torch.float64),
                               g * e / (1 + e) ** 2,
                               rtol=4 * torch.finfo(torch.float32).eps, atol=0)


def test_warm_compiles_the_gated_kernels(inductor):
    # multiact compile (kernels.warm) on CPU compiled no kernel of glu, swiglu or
    # geglu: a first call compiled one on the caller's thread (exact geglu 8x4096,
    # 6.5 s).  Now it compiles their forward and training pair, for calls of many
    # rows and of one, and a call after it compiles nothing.
    from _calls import calls_to

    rows = inductor.warm(["swiglu"], ["float32"])
    assert [(r["kernel"], r["ok"]) for r in rows] == [
        (f"swiglu float32 gated {kind}{one} [Inductor]", True)
        for one in ("", " (one row)") for kind in ("forward", "train")], rows
    x = torch.linspace(-3, 3, 8 * 512).reshape(8, 512)
    for t in (x, x[0], x.clone().requires_grad_(True)):
        (y, ran), compiled = calls_to(inductor, "_compile",
                                      lambda: tier_kernels_run(lambda: multiact.swiglu(t)))
        assert compiled == [] and [k for k in ran if k[0].startswith("gated-")], ran
        a, b = t.detach()[..., :256].double(), t.detach()[..., 256:].double()
        torch.testing.assert_close(y.detach().double(), a / (1 + torch.exp(-a)) * b,
                                   rtol=1e-6, atol=1e-6)


# every case whose kernel forward is the backend's own ops (kernels.own)
OWN_FORWARDS = [(i, p) for i, p in CASES
                if kernels._own(i.name, i.args(p), "float16").fwd is not None
                and not kernels._own(i.name, i.args(p), "float16").native]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("info, params", OWN_FORWARDS, ids=_ids(OWN_FORWARDS))
def test_own_forward_kernels_within_the_half_bounds(inductor, info, params, dtype):
    # a forward compiled from the framework path's ops must take half tensors as
    # that path does (through float32 where it does): tanh-GELU's compiled in half
    # precision, with half constants, was 19 ulp off in bfloat16
    _assert_forward_kernel_within_the_bound(inductor, info, params, dtype)


def test_a_kernel_of_framework_ops_survives_the_scalar_cache(inductor):
    # tanh-GELU's forward kernel compiles the framework path's ops, whose constants
    # (_scalar) are cached 0-d tensors in eager mode; under Dynamo a read of that
    # cache guarded the kernel on the cache's contents, and every call after the
    # cache grew missed
    from multiact.backends import _torch_native as N

    k = _kernel(inductor, "forward", BY_NAME["gelu"], {"approximate": True}, "float32")
    N._scalar(0.123456, torch.zeros(1, dtype=torch.float16))  # the cache grows
    x = torch.tensor([float("-inf"), -20.0, -1.0, 0.0, 3.0, float("inf")])
    y = k(x)  # raised kernels.Miss before
    assert y[0].item() == 0.0 and y[-1].item() == float("inf")
    torch.testing.assert_close(y, N._gelu_tanh_fwd(x), rtol=2 * torch.finfo(torch.float32).eps,
                               atol=0)


def test_a_kernel_is_called_past_dynamos_frame_hook_with_its_guards(inductor):
    # kernels.inductor._direct: a kernel runs Dynamo's compiled code for its one
    # cache entry after Dynamo's own guards pass (no frame hook: 15-50 us a call);
    # a call those guards reject (another dtype, a 2-d or strided tensor, a size
    # of 1) never runs that code: it goes through Dynamo, which raises Miss
    from multiact.backends import _torch_native as N
    from multiact.kernels import _tier

    k = _kernel(inductor, "forward", BY_NAME["hard_silu"], {}, "float32")
    run = k.__closure__[k.__code__.co_freevars.index("run")].cell_contents
    cell = run.__closure__[run.__code__.co_freevars.index("direct")]
    direct = cell.cell_contents
    assert direct is not None  # torch 2.13 has the hooks this takes
    ran = []
    cell.cell_contents = lambda *a: ran.append(1) or direct(*a)
    try:
        x = torch.linspace(-5.0, 5.0, 1001)
        torch.testing.assert_close(k(x), N._hard_silu_fwd(x), rtol=0, atol=0)
        assert ran == [1]
        for bad in (x.double(), x.reshape(7, 143), x[::2], x[:1]):
            with pytest.raises(_tier.Miss):
                k(bad)
        assert ran == [1]
        # where Dynamo would not run compiled code, neither does the direct path
        with torch.compiler.set_stance("force_eager"), pytest.raises(_tier.Miss):
            k(x)
        assert ran == [1]
    finally:
        cell.cell_contents = direct
    # kernels of two arguments take it too
    for dtype in ("float32", "bfloat16"):
        pair = _kernel(inductor, "train", BY_NAME["gelu"], {"approximate": False}, dtype)
        for f in pair:
            run = f.__closure__[f.__code__.co_freevars.index("run")].cell_contents
            assert run.__closure__[run.__code__.co_freevars.index("direct")].cell_contents


_LAYOUT_ROWS = [i for i in TABLE if i.row_kernel == "same" or i.halves]


@pytest.mark.parametrize("info", _LAYOUT_ROWS, ids=lambda i: i.name)
def test_a_rows_layout_hangs_on_neither_its_route_nor_its_values(inductor, info):
    # decision 221: softmax's and softmin's generic body for a NaN or +inf slice
    # kept a transposed x's layout where torch's kernel is contiguous; standardize's
    # framework path kept it where its row kernel is contiguous; swiglu's and geglu's
    # kernels and glu's training pair gave contiguous where F.glu and the framework
    # path keep x's order. Now: the gated rows as F.glu, the others contiguous (as
    # F.softmax and F.layer_norm), on every route, in training too
    f = getattr(multiact, info.name)
    gated = info.halves
    base = torch.linspace(-3.0, 3.0, 2 * 8 * 4 * 4, dtype=torch.float64).reshape(2, 8, 4, 4)
    for x in (base.to(memory_format=torch.channels_last), base[0].transpose(0, 2)):
        want = torch.empty_like(x.narrow(-1, 0, x.shape[-1] // 2)).stride() if gated \
            else torch.empty(x.shape).stride()
        for value in (None, math.nan, math.inf):
            xv = x.clone(memory_format=torch.preserve_format)
            if value is not None:
                xv[(0,) * x.ndim] = value
            for mode in ("framework", "fused"):
                kernels.set_mode(mode)
                try:
                    for grad in (False, True):
                        xi = xv.clone(memory_format=torch.preserve_format).requires_grad_(grad)
                        y = f(xi)
                        assert y.stride() == want, (mode, value, grad, y.stride(), want)
                        if not gated:  # a mask of another layout (standardize's took it)
                            mask = (torch.arange(x.numel()) % 5 != 0).reshape(
                                x.shape[::-1]).permute(*range(x.ndim - 1, -1, -1))
                            y = f(xi.detach().contiguous(), where=mask)
                            assert y.is_contiguous(), (mode, value, grad, y.stride())
                finally:
                    kernels.set_mode("fused")
