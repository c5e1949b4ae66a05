"""ONNX export: every function of the table, exported by ``torch.onnx.export`` (its
default exporter, through ``torch.export``) and run by onnxruntime, scored against
mpmath with the one scorer and the row's bound (decision 110).

ONNX has no log1p, expm1, erfc or erfcx, and torch.onnx translates them by formulas
that lose every digit where the contract needs them; while a model is exported the
generic bodies run on ``NS_ONNX`` (``backends/_torch_native.py``), whose primitives
are written with ONNX's operators.  onnxruntime's own Exp, Log and Tanh are the
primitives there.  float64: torch.onnx rounds every Python-number constant of the
graph to float32 (leaky_relu's 0.01 becomes 0.0099999998), so a float64 export is
scored in float32 ulps (its float64 ulps over 2^29) against float32's bound, where
the value is within float32's normal range.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.onnx_io import exported, runner
from multiact._check.inputs import sweep
from multiact._check.reference import Scalar, elementwise, for_row
from multiact._check.score import score_case, ulp_error
from multiact._table import TABLE

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

pytestmark = [pytest.mark.backends("torch"),
              pytest.mark.cells_where(
                  predicate=lambda target=None, **_: target is None or target.device == "cpu")]

CASES = [(info, dict(c.params)) for info in TABLE for c in info.cases]
IDS = [info.label(p) for info, p in CASES]
SCALAR = [(i, p) for i, p in CASES if isinstance(for_row(i.name), Scalar)]


def via_onnx(fn, x, kw):
    """``score_case``'s call: export, then run with onnxruntime."""
    return runner(exported(fn, x, kw))(x)


@pytest.mark.dtypes("float32", "float16")
@pytest.mark.parametrize("info, params", CASES, ids=IDS)
def test_onnx_export_is_within_the_bound(target, dtype, info, params):
    cell = score_case(info, params, target, dtype, call=via_onnx)
    assert cell.passed, cell.message()


@pytest.mark.dtypes("float64")
@pytest.mark.parametrize("info, params", SCALAR, ids=[i.label(p) for i, p in SCALAR])
def test_onnx_float64_export_is_float32_accurate(target, dtype, info, params):
    # torch.onnx's constants are float32 (the module's docstring): a float64 export is
    # held to float32's bound, in float32 ulps
    import torch

    import multiact

    xs = sweep("float64")
    x = torch.from_numpy(xs)
    y = via_onnx(getattr(multiact, info.name), x, params)
    assert y.dtype == torch.float64
    hi, lo = elementwise(for_row(info.name), xs, **params)
    # float64 ulps over 2^29: float32 ulps of the float64 result; where the value is
    # below float32's smallest normal (gelu's tail past -20, where the rounded
    # constants' error grows with |x| in an exponent), float32 holds no digit to score
    err = ulp_error(y.numpy(), hi, lo, "float64") / 2.0**29
    err[(np.abs(hi) > 0) & (np.abs(hi) < 2.0**-126)] = 0.0
    i = int(np.argmax(err))
    bound = info.bound("float32", params)
    assert err[i] <= bound, f"{info.label(params)}: {err[i]} float32 ulp at x={xs[i]!r}"


def test_the_export_backend_is_chosen_per_call_and_never_cached(monkeypatch):
    # While torch.onnx says an export runs, a tensor subclass's call takes ONNX_BACKEND
    # (NS_ONNX: its log1p is Log of 1 + x times a ratio); the type is not cached,
    # so after the export the same type gets the plain subclass backend
    import torch

    import multiact
    from multiact import _dispatch
    from multiact.backends import torch as tb

    class Sub(torch.Tensor):
        pass

    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    x = torch.linspace(-30.0, 5.0, 64).as_subclass(Sub)
    assert _dispatch.backend_of(x) is tb.ONNX_BACKEND
    y = multiact.softplus(x)
    assert Sub not in _dispatch._BY_TYPE
    want = np.logaddexp(0.0, x.as_subclass(torch.Tensor).double().numpy())
    assert ulp_error(y.as_subclass(torch.Tensor).numpy(), want, 0.0, "float32").max() <= 4
    monkeypatch.undo()
    assert _dispatch.backend_of(x) is tb.SUBCLASS_BACKEND
    assert _dispatch._BY_TYPE[Sub] is tb.SUBCLASS_BACKEND
    program = exported(multiact.softplus, torch.linspace(-30.0, 5.0, 64))
    # NS_ONNX's log1p: the ratio's Div and its guards' Equal (torch.log1p's
    # translation, Log of 1 + x, has neither)
    assert {"Div", "Equal"} <= {n.op_type for n in program.model_proto.graph.node}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_export_s_log1p_and_expm1_are_accurate(dtype):
    # NS_ONNX's forms in eager torch against torch's own log1p and expm1 one dtype
    # wider (float64 for float32; float64's against the same in float64), within 2.5
    # ulp, and their special values exactly
    import math

    import torch

    from multiact.backends._torch_native import NS, _expm1_onnx, _log1p_onnx

    dt = getattr(torch, dtype)
    v = np.concatenate([-np.geomspace(1e-30, 0.999, 4000), np.geomspace(1e-30, 1e30, 8000),
                        -np.geomspace(1e-30, 700.0, 6000), np.geomspace(1e-30, 88.0, 4000)])
    x = torch.from_numpy(v).to(dt)
    wide = x.double()
    for ours, ref, keep in ((_log1p_onnx, torch.log1p, x > -1), (_expm1_onnx, torch.expm1,
                                                                x < 88)):
        y = ours(NS, x)[keep].double().numpy()
        want = ref(wide)[keep].numpy()
        err = ulp_error(y, want, 0.0, dtype)
        assert err.max() <= 2.5, (ours.__name__, float(v[keep.numpy()][np.argmax(err)]))
    specials = torch.tensor([-math.inf, -2.0, -1.0, -0.0, 0.0, math.inf, math.nan], dtype=dt)
    for ours, ref in ((_log1p_onnx, torch.log1p), (_expm1_onnx, torch.expm1)):
        got, want = ours(NS, specials), ref(specials)
        assert torch.equal(got.isnan(), want.isnan())
        ok = ~want.isnan()
        assert torch.equal(got[ok], want[ok]) and torch.equal(got[ok].signbit(),
                                                               want[ok].signbit())


def test_a_first_call_inside_an_export_leaves_no_import_work_in_the_graph():
    # a fresh process whose first multiact call is inside torch.export: the backend's
    # import-time tensor work (erfc's warm-up, dtype probes) runs outside the export's
    # fake tensors (_dispatch._import_untraced), so the graph holds softplus's ops only
    import subprocess
    import sys

    code = (
        "import torch, multiact\n"
        "class M(torch.nn.Module):\n"
        "    def forward(self, x): return multiact.softplus(x)\n"
        "ep = torch.export.export(M(), (torch.randn(4),))\n"
        "print(sorted({str(n.target) for n in ep.graph.nodes if n.op == 'call_function'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert "aten.exp" in out and "aten.log1p" in out, out
    assert not any(op in out for op in ("zeros", "erfc", "empty")), out


def _softmax64(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _geglu64(x):
    from scipy.special import ndtr

    a, b = np.split(x, 2, axis=-1)
    return a * ndtr(a) * b


@pytest.mark.parametrize("name, kw, reference", [("softmax", {}, _softmax64),
                                                 ("geglu", {"approximate": False}, _geglu64)])
def test_onnx_export_with_dynamic_shapes_serves_every_shape(name, kw, reference):
    # a model exported once with dynamic batch and feature sizes (as deployed models
    # are), through the module users put in models (Activation.to_torch); row lengths
    # on both sides of 128, where the eager row kernels change their sums; the
    # reference: the formula in float64 (NumPy, SciPy's ndtr)
    import torch
    from torch.export import Dim

    import multiact

    module = multiact.Activation(name, **kw).to_torch()
    run = runner(exported(module, torch.randn(4, 300), dynamic_shapes=(
        {0: Dim("batch"), 1: Dim("features", min=2)},)))
    gen = torch.Generator().manual_seed(0)
    bound = {i.name: i for i in TABLE}[name].bound("float32", kw)
    for shape in [(4, 300), (7, 50), (2, 1000), (1, 130)]:
        x = torch.randn(*shape, generator=gen) * 8
        want = reference(x.double().numpy())
        y = run(x)
        assert y.shape == want.shape
        err = ulp_error(y.numpy(), want, 0.0, "float32")
        assert err.max() <= bound, (shape, err.max())
