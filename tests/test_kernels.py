"""The fused kernels: their text is printed from the generic bodies, so they must
compute what the generic bodies compute.  Here: the CUDA C++ of the CuPy
kernels, compiled by the host compiler and run on CPU, and the switch.  The
Triton kernels run under Triton's interpreter in test_kernels_triton.py.  (On
a GPU, conformance/gpu.sh measures every kernel against mpmath.)"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import multiact
from multiact import kernels
from multiact._check.inputs import sweep
from multiact._check.score import ulp_error
from multiact._table import TABLE

# every check case of the rows with fused kernels (forward, backward; identity has none)
CASES = [(i, dict(c.params)) for i in TABLE if i.elementwise and i.fused for c in i.cases]
IDS = [i.label(p) for i, p in CASES]


def _sample(info, dtype):
    xs = sweep(dtype, dense=True)
    return np.abs(xs) if info.nonneg_input else xs


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler")
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("info, params", CASES, ids=IDS)
def test_cupy_kernel_text_agrees_with_the_generic_body(info, params, dtype):
    from multiact.backends import numpy as nb
    from multiact.kernels import cuda_c

    run = cuda_c.host_library(info, dtype, info.args(params))
    xs = _sample(info, dtype).astype(dtype)
    with np.errstate(all="ignore"):
        got = run(xs)
        want = info.body(nb.NS, xs, *info.args(params))
    err = ulp_error(got.astype(np.float64), want.astype(np.float64), 0.0, dtype)
    assert float(err.max()) <= max(1.0, 2 * info.bound(dtype, params))


torch = pytest.importorskip("torch")


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler")
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("info, params", CASES, ids=IDS)
def test_cupy_backward_kernel_text_agrees_with_autograd(info, params, dtype):
    """The backward C++ (``g * f'(x)``, printed from the derivative graph) against
    PyTorch's autograd of the generic body, in float64 (the kernel's rounding is
    the only difference)."""
    from multiact.backends import torch as tb
    from multiact.kernels import cuda_c

    run = cuda_c.host_library(info, dtype, info.args(params), backward=True)
    xs = _sample(info, dtype)
    xs = xs[np.isfinite(xs) & (np.abs(xs) < 1e4)][::3].astype(dtype)
    gs = np.linspace(-2.0, 2.0, xs.size).astype(dtype)
    with np.errstate(all="ignore"):
        got = run(xs, gs).astype(np.float64)
    xt = torch.tensor(xs.astype(np.float64), requires_grad=True)
    (want,) = torch.autograd.grad(info.body(tb.NS, xt, *info.args(params)), xt,
                                  torch.tensor(gs.astype(np.float64)))
    want = want.numpy()
    if dtype != "float64":  # the kernel's result is rounded to dtype once
        keep = np.abs(want) <= np.finfo(dtype).max
        got, want = got[keep], want[keep].astype(dtype).astype(np.float64)
    rtol = {"float64": 1e-12, "float32": 1e-5, "float16": 2e-3}[dtype]
    atol = 1e-300 if dtype == "float64" else 1e-6
    if info.name == "tanh":  # 1 - tanh^2: absolute accuracy only, in both (decisions 9)
        rtol, atol = 0, max(atol, 1e-15)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


pytest.importorskip("triton")


def test_the_switch(monkeypatch, used_kernel):
    monkeypatch.setenv("TRITON_INTERPRET", "1")  # element-wise kernels only: no tl.sum
    x = torch.linspace(-3, 3, 50)
    prev = kernels.set_mode("fused")
    try:
        assert used_kernel(multiact.gelu, x)
        kernels.set_mode("framework")
        assert not used_kernel(multiact.gelu, x)
        kernels.set_mode("auto")  # CPU tensors keep the framework paths by default
        assert not used_kernel(multiact.gelu, x)
        with pytest.raises(ValueError, match=r"MULTIACT_KERNELS must be one of auto, fused, "
                                             r"framework"):
            kernels.set_mode("fast")
    finally:
        kernels.set_mode(prev)


def test_the_cupy_backend_takes_the_kernel_for_every_check_case(monkeypatch):
    # CuPy's generic rule gives every element-wise row with Python-number parameters
    # its kernel; relu's max_value=None was not one (the body's two passes: relu at
    # 2.00x native on an H200).  CuPy imports without a GPU; its launch is stubbed.
    cb = pytest.importorskip("multiact.backends.cupy")
    from multiact.kernels import cuda_c

    monkeypatch.setattr(cuda_c, "cupy_forward", lambda info, x, params: ("kernel", info.name))
    monkeypatch.setattr(kernels, "mode", lambda: "auto")
    for info, params in CASES:
        got = cb.BACKEND.generic(info, info.body, object(), *info.args(params))
        assert got == ("kernel", info.name), info.label(params)


def test_a_cupy_kernel_that_fails_costs_that_kernel_only(monkeypatch, caplog):
    # decision 182: CuPy compiles a kernel with NVRTC at its first call; an error there
    # (or at launch) reached the user's call.  Now that kernel is remembered as failed,
    # logged once, noted by multiact.info, and its calls take the generic body; an
    # out-of-memory error stays the call's.  CuPy imports without a GPU; the kernel is
    # a stub that raises, the array a NumPy one (the kernel code reads its dtype and
    # size only).
    import logging

    cb = pytest.importorskip("multiact.backends.cupy")
    from multiact._table import BY_NAME
    from multiact.kernels import cuda_c

    launches = []

    def kernel(*arrays):
        launches.append(len(arrays))
        raise RuntimeError("nvrtc: error: invalid value for --gpu-architecture (-arch)\nmore")

    for name in ("_CACHE", "_FAILED", "_BROKEN"):
        monkeypatch.setattr(cuda_c, name, {})
    monkeypatch.setattr(cuda_c, "cupy_kernel", lambda info, dtype, params, backward=False:
                        kernel)
    monkeypatch.setattr(kernels, "mode", lambda: "auto")
    elu, glu = BY_NAME["elu"], BY_NAME["glu"]
    x = np.ones((4, 6), np.float32)
    body = lambda ns, t, *p: ("body", p)  # noqa: E731
    with caplog.at_level(logging.INFO, logger="multiact"):
        for _ in range(2):
            assert cb.BACKEND.generic(elu, body, x, *elu.args({})) == ("body", (1.0,))
    assert launches == [1]  # the second call did not try the kernel again
    assert [r.getMessage() for r in caplog.records] == [
        "multiact: kernel elu float32 forward [CuPy] unavailable, the generic body is used "
        "(RuntimeError: nvrtc: error: invalid value for --gpu-architecture (-arch))"]
    reasons = {k[1]: r for k, r in cuda_c.launch_failures().items()}
    assert reasons == {"elu": "RuntimeError: nvrtc: error: invalid value for "
                              "--gpu-architecture (-arch)"}
    assert cuda_c.failures() == {}  # (not a kernel that could not be printed: noted once)
    # a gated row's kernel (two halves) likewise
    assert cuda_c.cupy_gated(glu, x[:, :3], x[:, 3:], glu.args({})) is None
    assert launches == [1, 2] and len(cuda_c.launch_failures()) == 2
    from multiact._info import _missing_kernels  # (info's notes, beside a CuPy row)

    notes = _missing_kernels(elu)
    assert [n for n in notes if "nvrtc" in n] == [
        "no CUDA C++ (CuPy) kernel for elu forward in float32: RuntimeError: nvrtc: error: "
        "invalid value for --gpu-architecture (-arch)"], notes
    cov = kernels.coverage(["elu"], ["float32"], ["cuda_c"])
    assert [(e["function"], e["kernel"], e["ok"]) for e in cov] == [
        ("elu", "forward", False), ("elu", "backward", True),
        ("elu(alpha=0.5)", "forward", True), ("elu(alpha=0.5)", "backward", True)], cov

    def no_memory(*arrays):
        raise MemoryError("out of memory allocating 4,000,000,000 bytes")

    monkeypatch.setattr(cuda_c, "cupy_kernel", lambda info, dtype, params, backward=False:
                        no_memory)
    with pytest.raises(MemoryError):
        cuda_c.cupy_forward(BY_NAME["selu"], x, BY_NAME["selu"].args({}))
    assert len(cuda_c.launch_failures()) == 2  # (not the kernel's failure)


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler")
def test_cupy_exact_gelu_float16_on_every_value():
    # decision 117: CuPy's float16 kernels take the float32 rational (_trace.gpu_ndtr);
    # every float16 value of |x| < 20 against SciPy's float64, in raw ulps (no
    # flush-to-zero floor), forward and backward within the half bound
    from _calls import exact_gelu_and_slope

    from multiact._check.score import ulp_of
    from multiact._table import BY_NAME
    from multiact.kernels import cuda_c

    info = BY_NAME["gelu"]
    xs = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    xs = xs[np.isfinite(xs) & (np.abs(xs) < 20)]
    fwd = cuda_c.host_library(info, "float16", (False,))
    bwd = cuda_c.host_library(info, "float16", (False,), backward=True)
    with np.errstate(all="ignore"):
        y = fwd(xs).astype(np.float64)
        gx = bwd(xs, np.ones_like(xs)).astype(np.float64)
    want, slope = exact_gelu_and_slope(xs.astype(np.float64))
    bound = info.bound("float16", {"approximate": False})
    for got, ref in ((y, want), (gx, slope)):
        err = np.abs(got - ref) / ulp_of(ref, "float16")
        assert float(err.max()) <= bound, float(xs[int(err.argmax())])


def test_cupy_kernels_of_signed_zero_parameters_are_apart(monkeypatch):
    # decision 187 (decision 150's, for CuPy): the kernel cache's key took -0.0 for 0.0
    # (equal, hashing alike), so threshold's value=-0.0 reused value=0.0's kernel and
    # gave +0 where the body gives -0.  CuPy imports without a GPU; no kernel is built.
    pytest.importorskip("multiact.backends.cupy")
    from multiact._table import BY_NAME
    from multiact.kernels import cuda_c

    th = BY_NAME["threshold"]
    assert cuda_c._key(th, "float32", (0.5, 0.0), False) != \
        cuda_c._key(th, "float32", (0.5, -0.0), False)
    assert cuda_c._key(th, "float32", (0.5, 0.0), False) == \
        cuda_c._key(th, "float32", (0.5, 0.0), False)


def test_cupy_builds_a_kernel_for_a_late_parameter_value_when_it_comes_back(monkeypatch):
    # decision 187 (decision 156's rule, for CuPy): every new Python-number value of a
    # parameter was a new kernel, NVRTC's compile on the caller's thread: an annealed
    # slope compiled at every step.  A function's first FIRST_VALUES values build at
    # their first call; a later one takes the generic body at its first call and
    # builds when it comes back; none beyond MOST_VALUES values.  (Stubbed: no GPU.)
    cb = pytest.importorskip("multiact.backends.cupy")
    from multiact._table import BY_NAME
    from multiact.kernels import cuda_c

    built = []
    for name in ("_CACHE", "_FAILED", "_BROKEN"):
        monkeypatch.setattr(cuda_c, name, {})
    monkeypatch.setattr(kernels, "_VALUES", {})

    def cupy_kernel(info, dtype, params, backward=False):
        key = cuda_c._key(info, dtype, params, backward)
        if key not in cuda_c._CACHE:
            built.append(params)
            cuda_c._CACHE[key] = lambda *arrays: ("kernel", params)
        return cuda_c._CACHE[key]

    monkeypatch.setattr(cuda_c, "cupy_kernel", cupy_kernel)
    monkeypatch.setattr(kernels, "mode", lambda: "auto")
    lr = BY_NAME["leaky_relu"]
    x = np.ones(5, np.float32)
    body = lambda ns, t, *p: ("body", p)  # noqa: E731
    slopes = [0.01 * (i + 1) for i in range(kernels.FIRST_VALUES + 3)]
    got = [cb.BACKEND._generic(lr, body, x, s)[0] for s in slopes]
    assert got == ["kernel"] * kernels.FIRST_VALUES + ["body"] * 3
    assert [cb.BACKEND._generic(lr, body, x, s)[0] for s in slopes] == ["kernel"] * len(slopes)
    assert len(built) == len(slopes)
    many = [1.0 + i / 1024 for i in range(kernels.MOST_VALUES + 4)]
    for _ in range(2):
        got = [cb.BACKEND._generic(lr, body, x, s)[0] for s in many]
    assert got.count("kernel") == kernels.MOST_VALUES - len(slopes)
    assert len(kernels._VALUES[("cupy", "leaky_relu")]._rank) == kernels.MOST_VALUES


def test_cupy_clip_is_one_cupy_clip_keeping_the_dtype(monkeypatch):
    # decision 187: CuPy's namespace took array_api_compat's generic clip, which
    # assigns through boolean masks: CuPy reads each mask's count back to the host, a
    # wait for the device in every body that clips.  It is cupy.clip now, x's dtype
    # kept.  No GPU: NumPy stands in for CuPy in the primitive.
    cb = pytest.importorskip("multiact.backends.cupy")
    import array_api_compat.cupy as acp

    assert cb.NS.clip.func is cb._clip and acp.clip is not cb._clip
    monkeypatch.setattr(cb, "_cp", np)
    x = np.array([-3.0, -0.0, 0.5, np.nan, np.inf], np.float32)
    got = cb.NS.clip(x, -1.0, 1.0)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([-1.0, -0.0, 0.5, np.nan, 1.0], np.float32))
    assert np.signbit(got[1])
    lo = np.array([0.1, 0.1, 0.1, 0.1, 0.1])  # float64 bounds: x's dtype kept
    got = cb.NS.clip(x, lo, None)
    assert got.dtype == np.float32 and got[2] == np.float32(0.5) and got[0] == np.float32(0.1)


def test_a_cupy_call_runs_on_its_arrays_device(monkeypatch):
    # decision 187: CuPy computes on the current device, which need not be x's: the
    # kernel read x across devices (or failed without peer access) and the result
    # landed on the current device.  The call now runs under x's device.  (Stubbed:
    # the device calls; no GPU here.)
    cb = pytest.importorskip("multiact.backends.cupy")

    current = [0]

    class Device:
        def __init__(self, i):
            self.id = i

        def __enter__(self):
            self.prev, current[0] = current[0], self.id

        def __exit__(self, *exc):
            current[0] = self.prev

    class Array:
        def __init__(self, i):
            self.device = Device(i)

    class Runtime:
        @staticmethod
        def getDevice():
            return current[0]

    class Cuda:
        runtime = Runtime

    class FakeCupy:
        cuda = Cuda

    monkeypatch.setattr(cb, "_cp", FakeCupy)
    monkeypatch.setattr(kernels, "mode", lambda: "framework")
    from multiact._table import BY_NAME

    relu = BY_NAME["relu"]
    body = lambda ns, t, *p: current[0]  # noqa: E731
    assert cb.BACKEND.generic(relu, body, Array(1), *relu.args({})) == 1
    assert cb.BACKEND.generic(relu, body, Array(0), *relu.args({})) == 0
    assert current == [0]
