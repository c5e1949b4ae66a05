"""The operation registry (``kernels/_ops.py``) and what it promises: every
operation has every spelling and a derivative rule that agrees with autograd of
its ATen spelling; every element-wise row traces and gets forward and backward
kernel source from every printer in every dtype it should; a kernel that is
missing says why (``multiact.kernels.coverage``, ``multiact info``)."""

from __future__ import annotations

import importlib

import pytest

from multiact import kernels
from multiact._table import TABLE
from multiact.kernels import _ops, _trace
from multiact.kernels._ops import LEAVES, NO_GRADIENT, OPS, REDUCTIONS, Op
from multiact.kernels._trace import Node

ELEMENTWISE = [i for i in TABLE if i.elementwise]


def _incomplete(op):
    """The fields an entry lacks or gets wrong (empty: complete)."""
    bad = []
    for field in ("triton", "cuda"):
        v = getattr(op, field)
        if not (callable(v) or (isinstance(v, str) and v)):
            bad.append(field)
    for field in ("aten", "grad"):
        if not callable(getattr(op, field)):
            bad.append(field)
    if not isinstance(op.arity, int) or op.arity < 1:
        bad.append("arity")
    if op.xp is not None and op.arity != 1:
        bad.append("xp")
    return bad


def test_every_entry_has_every_spelling_and_a_rule():
    assert {name: _incomplete(op) for name, op in OPS.items() if _incomplete(op)} == {}
    assert not set(OPS) & set(LEAVES + REDUCTIONS)


def test_an_incomplete_entry_is_caught():
    full = OPS["exp"]
    no_rule = Op("new", 1, full.triton, full.cuda, full.aten, None)
    no_cuda = Op("new", 1, full.triton, None, full.aten, full.grad)
    assert _incomplete(no_rule) == ["grad"] and _incomplete(no_cuda) == ["cuda"]


def test_an_entry_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        _ops._op("exp", 1, triton="", cuda="", aten=None, grad=None)


def test_every_libdevice_call_has_its_interpreter_function():
    for name, call in _ops.LIBDEVICE.items():
        module, _, attr = call.host.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr)), name


def test_the_tracer_offers_every_xp_function():
    ns = _trace.TraceNamespace()
    x = Node("x", (), "float32")
    for op in OPS.values():
        if op.xp:
            assert getattr(ns, op.xp)(x).op == op.name


def _args(op, x):
    """Arguments for ``op`` made from the leaf ``x``: distinct affine functions of
    it (a comparison for a condition, booleans for the logical operations)."""
    if op.name == "where":
        return (x > 0.5, x * 1.5 + 0.25, x * -0.75 + 2.0)
    if op.name in ("and", "or", "not"):
        return (x > 0.5, x < 0.7)[:op.arity]
    return tuple(x * (1.0 + 0.5 * i) + 0.125 * i for i in range(op.arity))


def _evaluate(root, values):
    """The graph ``root`` on tensors, with the registry's ATen spellings."""
    val = dict(values)
    for n in _trace._topo(root):
        if id(n) in val:
            continue
        if n.op == "const":
            val[id(n)] = n.value
            continue
        val[id(n)] = OPS[n.op].aten(n, *[val[id(a)] for a in n.args])
    return val[id(root)]


@pytest.mark.parametrize("name", sorted(OPS))
def test_each_operation_prints_and_its_rule_agrees_with_autograd(name):
    torch = pytest.importorskip("torch")
    from multiact.kernels import cuda_c
    from multiact.kernels import triton as kt

    op = OPS[name]
    x = Node("x", (), "float64")
    y = Node(name, _args(op, x), "bool" if op.predicate else "float64")
    if name == "astype":
        y = Node("astype", (x * 2.0,), "float32")
    names = {id(x): "v_x"}
    lines = []
    kt._emit(_trace._topo(y), names, lines, 0)
    assert lines and all(line.strip() for line in lines)
    out = y if not op.predicate else Node("astype", (y,), "float64")
    cuda = cuda_c.body((x,), ((out, "y"),))
    assert cuda.rstrip().endswith(";")

    xs = torch.linspace(0.1, 0.9, 17, dtype=torch.float64)
    if op.predicate:
        assert op.grad is NO_GRADIENT
        assert _evaluate(y, {id(x): xs}).dtype == torch.bool
        return
    g = Node("g", (), "float64")
    gx = _trace.derivative(x, y, g)
    gs = torch.linspace(-1.0, 2.0, 17, dtype=torch.float64)
    got = _evaluate(gx, {id(x): xs, id(g): gs})
    xr = xs.clone().requires_grad_(True)
    out = _evaluate(y, {id(x): xr}).to(torch.float64)
    if op.grad is NO_GRADIENT:  # piecewise constant: zero derivative
        assert not out.requires_grad or not torch.autograd.grad(out, xr, gs,
                                                                allow_unused=True)[0].any()
        assert torch.all(torch.as_tensor(got) == 0)
        return
    (want,) = torch.autograd.grad(out, xr, gs)
    torch.testing.assert_close(torch.as_tensor(got, dtype=torch.float64), want,
                               rtol=1e-6 if name == "astype" else 1e-12, atol=1e-300)


def test_graphs_use_registered_operations_only():
    seen = set()
    for info, params, _ in _coverage_cases():
        for dt in _trace.FLOATS:
            x, y = _trace.trace_elementwise(info, dt, params)
            gx = _trace.derivative(x, y, Node("g", (), dt))
            seen |= {n.op for n in _trace._topo(gx)} | {n.op for n in _trace._topo(y)}
    assert seen - set(OPS) - set(LEAVES) == set()


def _coverage_cases():
    from multiact.kernels._coverage import elementwise_cases

    return list(elementwise_cases())


def test_every_elementwise_row_has_its_kernels():
    """Forward and backward, Triton in float16/bfloat16/float32/float64, CUDA C++
    (CuPy) in float16/float32/float64, Inductor in all four; the row kernels in
    Triton and Inductor."""
    from multiact.kernels._coverage import gated_cases

    cov = kernels.coverage()
    cases = {label for _, _, label in _coverage_cases()}
    cases |= {label for _, _, label in gated_cases()}  # glu, swiglu, geglu: the same kernels
    assert {info.name for info in ELEMENTWISE} <= {c.split("(")[0] for c in cases}
    missing = {(e["function"], e["printer"], e["kernel"], e["dtype"])
               for e in cov if not e["ok"]}
    expected_missing = {
        *((label, "cuda_c", k, "bfloat16") for label in cases for k in ("forward", "backward")),
        *((name, "cuda_c", k, dt) for name in _trace.ROWS for k in ("rows", "rows+where")
          for dt in _trace.FLOATS),
    }
    assert missing == expected_missing
    assert all(e["reason"] for e in cov if not e["ok"])
    have = {(e["function"], e["printer"], e["kernel"], e["dtype"]) for e in cov if e["ok"]}
    for label in cases:
        for k in ("forward", "backward"):
            assert {(label, "triton", k, dt) for dt in _trace.FLOATS} <= have
            assert {(label, "cuda_c", k, dt) for dt in ("float16", "float32", "float64")} <= have


@pytest.mark.parametrize("dtype", _trace.FLOATS)
def test_every_elementwise_row_prints_its_sources(dtype):
    from multiact.kernels import cuda_c
    from multiact.kernels import triton as kt

    for info, params, label in _coverage_cases():
        for backward in (False, True):
            src = kt.elementwise_kernel_source(info, dtype, params, backward)
            assert src.startswith("@triton.jit\ndef kernel(") and "tl.store(" in src, label
            if dtype != "bfloat16":
                ins, outs, body = cuda_c.kernel_source(info, dtype, params, backward)
                assert ins == (f"{dtype} x, {dtype} g" if backward else f"{dtype} x")
                assert outs == f"{dtype} y" and body.splitlines()[-1].startswith("y = "), label


def test_a_missing_kernel_says_why():
    from multiact.kernels import triton as kt

    class Row:  # a body with a data-dependent Python branch: no kernel
        name = "branchy"

        @staticmethod
        def body(xp, x):
            return x if x > 0 else -x

    with pytest.raises(_trace.Unsupported, match="data-dependent Python branch"):
        kt.elementwise_kernel_source(Row, "float32", (), False)


def test_a_failed_build_is_remembered_with_its_reason(monkeypatch):
    pytest.importorskip("torch")
    from multiact._table import BY_NAME
    from multiact.kernels import triton as kt

    def refuse(*args):
        raise _trace.Unsupported("refused for this test")

    monkeypatch.setattr(kt, "elementwise_kernel_source", refuse)
    monkeypatch.setattr(kt, "_FAILED", {})
    monkeypatch.setattr(kt, "_CACHE", {})
    info = BY_NAME["elu"]
    assert kt._elementwise_kernel(info, "float32", info.args(), False) is None
    assert list(kt.failures().values()) == ["refused for this test"]
    monkeypatch.undo()  # the source prints again; the failure is still reported
    monkeypatch.setattr(kt, "_FAILED", {("fwd", "elu", "float32", kt._params_key(info.args()),
                                         False): "refused for this test"})
    cov = kernels.coverage(["elu"], ["float32"], ["triton"])
    assert [(e["kernel"], e["ok"], e["reason"]) for e in cov if e["function"] == "elu"] == [
        ("forward", False, "refused for this test"), ("backward", True, None)]


def test_coverage_checks_its_arguments():
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        kernels.coverage(dtypes=["int8"])
    with pytest.raises(ValueError, match="unknown printer 'opencl'"):
        kernels.coverage(printers=["opencl"])
    with pytest.raises(TypeError, match="'functions' must be a list"):
        kernels.coverage("gelu")
    with pytest.raises(ValueError, match="unknown activation 'gleu'"):
        kernels.coverage(["gleu"])


def test_info_lists_the_missing_kernels_with_their_reasons():
    pytest.importorskip("torch")
    import multiact

    from multiact._info import _missing_kernels

    # (multiact.info prints a printer's notes only beside its backend's rows: the CuPy
    # ones where a CuPy row is shown, which needs a GPU)
    notes = _missing_kernels(multiact._table.BY_NAME["gelu"])
    assert ("no CUDA C++ (CuPy) kernel for gelu, gelu(approximate=False) forward, backward in "
            "bfloat16: CuPy kernels are built for float16, float32, float64; bfloat16 arrays "
            "keep the generic body") in "\n".join(notes)
    assert not any("CuPy" in n for n in multiact.info("gelu", backends=["numpy"]).notes)
    assert not any("Triton" in n or "Inductor" in n
                   for n in multiact.info("relu", backends=["numpy"]).notes)
