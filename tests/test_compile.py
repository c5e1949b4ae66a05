"""``multiact compile`` / ``multiact.compile``: the kernels compiled ahead of time
for GPUs this machine does not have (Triton: cubin and hsaco; CuPy: NVRTC as
CuPy builds them), with contraction off; the table, its last line, exit statuses,
the cache; the local (CPU) branch with a stand-in for ``multiact.kernels.warm``.
The Triton warm-up of the local-GPU branch runs in test_kernels_triton.py, under
Triton's interpreter."""

from __future__ import annotations

import os
import re
import tempfile

import pytest

import multiact
from multiact._check.cli import main
from multiact._table import BY_NAME
from multiact.kernels import aot

ROW_KEYS = {"function", "dtype", "kernel", "target", "ok", "seconds", "error"}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MULTIACT_CACHE", str(tmp_path))
    return tmp_path / "aot"


def _needs_aot():
    pytest.importorskip("triton")
    pytest.importorskip("cupy")
    pytest.importorskip("torch")


def _table(out):
    lines = out.strip().splitlines()
    assert lines[0].split() == ["function", "dtype", "kernel", "target", "seconds", "result"]
    rows = [ln.split(None, 5) for ln in lines[1:] if not ln.startswith(("compiled", "("))]
    return lines, rows


def test_the_table_and_its_last_line(cache, capsys):
    _needs_aot()
    argv = ["compile", "--function", "gelu", "--dtype", "float32", "--target", "cuda:90,hip:gfx942"]
    assert main(argv) == 0
    lines, rows = _table(capsys.readouterr().out)
    assert lines[-1] == "compiled 12 kernels for 2 targets, 0 failed"
    got = {(r[0], r[1], r[2], r[3]) for r in rows}
    want = {(f, "float32", f"{tech}:{k}", t)
            for f in ("gelu", "gelu(approximate=False)") for k in ("forward", "backward")
            for tech, targets in (("triton", ("cuda:90", "hip:gfx942")), ("cupy", ("cuda:90",)))
            for t in targets}
    assert got == want and all(r[5] == "ok" and float(r[4]) >= 0 for r in rows)
    artifacts = sorted(p.suffix for p in cache.rglob("*") if p.is_file())
    assert artifacts == [".cubin"] * 8 + [".hsaco"] * 4
    assert all(p.stat().st_size > 0 for p in cache.rglob("*") if p.is_file())
    # the second run compiles nothing: the artifacts are found by their hash
    assert main(argv + ["-q"]) == 0
    lines, rows = _table(capsys.readouterr().out)
    assert lines[-2] == f"(12 of them from the cache in {cache})"
    assert lines[-1] == "compiled 12 kernels for 2 targets, 0 failed"


def test_a_failing_target_fails_the_run(cache, capsys, tmp_path, monkeypatch):
    _needs_aot()
    scratch = tmp_path / "tmp"  # the temporary directory, of this process and its children
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    code = main(["compile", "-q", "--function", "relu", "--dtype", "float32",
                 "--target", "cuda:90", "--target", "cuda:20"])
    out = capsys.readouterr().out
    assert code == 1
    lines, rows = _table(out)
    from multiact.kernels._coverage import elementwise_cases

    n = 4 * len(list(elementwise_cases(["relu"])))  # Triton's and CuPy's, forward, backward
    assert lines[-1] == f"compiled {n} kernels for 2 targets, {n} failed"
    assert sum(" cuda:20 " in ln and "FAILED: " in ln for ln in lines) == n
    bad = [r for r in rows if r[3] == "cuda:20"]  # relu at its defaults (no spaces)
    assert len(bad) == 4 and all(r[5].startswith("FAILED: ") for r in bad)
    says = {r[2]: r[5] for r in bad}
    assert "Value 'sm_20' is not defined" in says["triton:forward"]  # ptxas' own line
    assert "invalid value for --gpu-architecture" in says["cupy:forward"]  # NVRTC's
    assert all(r[5] == "ok" for r in rows if r[3] == "cuda:90")
    # nothing left behind: ptxas' failure leaves Triton's .ptx in the workers' scratch
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["--target", "cuda:sm90"], "target 'cuda:sm90' is not cuda:<compute capability>"),
    (["--target", "metal:m3"], "target 'metal:m3' is not cuda:<compute capability>"),
    (["--target", "cuda:90", "--dtype", "int8"], "unknown dtype 'int8'"),
    (["--target", "cuda:90", "--function", "gleu"], "unknown activation 'gleu'"),
    (["--target", "cuda:90", "--function", "one_hot"], "'one_hot' has no fused kernel"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    assert main(["compile", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("multiact: error: ")
    assert message in captured.err


def test_the_function_form(cache):
    _needs_aot()
    rows = multiact.compile("hip:gfx90a", functions=["hardswish"], dtypes=["bfloat16"])
    assert [(r["function"], r["kernel"], r["target"], r["ok"], r["error"]) for r in rows] == [
        ("hard_silu", "triton:forward", "hip:gfx90a", True, None),
        ("hard_silu", "triton:backward", "hip:gfx90a", True, None)]
    assert all(set(r) == ROW_KEYS and r["seconds"] > 0 for r in rows)
    assert aot.summary(rows) == "compiled 2 kernels for 1 targets, 0 failed"


def test_the_function_form_checks_its_arguments():
    with pytest.raises(TypeError, match="argument 'functions' must be a list"):
        multiact.compile("cuda:90", functions="gelu")
    with pytest.raises(ValueError, match="multiact.compile: target 'gfx942'"):
        multiact.compile("gfx942")
    with pytest.raises(TypeError, match="argument 'targets' must be a string"):
        multiact.compile(90)
    with pytest.raises(TypeError, match="argument 'progress' must be callable"):
        multiact.compile("cuda:90", progress="yes")
    assert "compile" not in multiact.__all__  # a star import keeps Python's compile


def test_row_kernels_are_compiled_one_block_and_chunked(cache):
    # and one block with ncols a constant 1: the kernel Triton's JIT compiles for rows of
    # one column (an int argument equal to 1 becomes a constant), which once failed to
    # compile (`ncols.to`: a Python int has no .to; found on an H200)
    _needs_aot()
    progress = []
    rows = multiact.compile(["cuda:80"], functions=["standardize"], dtypes=["float16"],
                            progress=progress.append)
    assert sorted(r["kernel"] for r in rows) == [
        "triton:rows", "triton:rows+where", "triton:rows+where/chunked",
        "triton:rows+where/ncols=1", "triton:rows/chunked", "triton:rows/ncols=1"]
    assert all(r["ok"] for r in rows) and progress[-1] == "multiact compile: 6/6 compiled, 0 failed"


def test_the_cpu_branch_calls_the_inductor_warm_up(monkeypatch, capsys):
    from multiact import kernels

    calls = []

    def warm(functions, dtypes, progress):
        calls.append((functions, dtypes))
        return [{"function": "gelu", "dtype": "float32", "kernel": "forward", "target": "cpu",
                 "ok": True, "seconds": 1.5, "error": None},
                {"function": "gelu", "dtype": "float32", "kernel": "backward", "target": "cpu",
                 "ok": False, "seconds": 0.5, "error": "CppCompileError: no compiler"}]

    monkeypatch.setattr(kernels, "warm", warm, raising=False)
    monkeypatch.setattr(aot, "_cuda_here", lambda: False)
    rows = multiact.compile(functions=["gelu"], dtypes=["float32"])
    assert calls == [(["gelu"], ["float32"])] and len(rows) == 2
    assert main(["compile", "-q", "--function", "GELU"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert calls[-1] == (["gelu"], None)
    assert re.fullmatch(r"gelu\s+float32\s+backward\s+cpu\s+0\.50\s+FAILED: CppCompileError: "
                        r"no compiler", lines[2])
    assert lines[-1] == "compiled 1 kernels for 1 targets, 1 failed"


# -- contraction off ---------------------------------------------------------------------------

def _axpb(dtype="float32"):
    """A graph with ``a*b + c`` and no math function: y = x * 3 + 1.5."""
    from multiact.kernels._trace import Node

    x = Node("x", (), dtype)
    return x, x * 3.0 + 1.5


@pytest.mark.parametrize("fusion", [False, True])
def test_triton_compiles_without_contraction(monkeypatch, fusion):
    pytest.importorskip("triton")
    pytest.importorskip("torch")
    from multiact.kernels import triton as kt

    if fusion:  # the control: with contraction on, the same source gets an FMA
        monkeypatch.setattr(kt, "COMPILE_OPTIONS", {"enable_fp_fusion": True})
    x, y = _axpb()
    src = kt.elementwise_source("kernel", (x,), y)
    k = aot.triton_compiled((src, {"x_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32",
                                   "BLOCK": "constexpr"}, {"BLOCK": 1024}, ("cuda", 90, 32)))
    assert k.metadata.enable_fp_fusion is fusion
    ptx = k.asm["ptx"]
    assert ("fma.rn.f32" in ptx) is fusion
    if not fusion:
        assert "mul.rn.f32" in ptx and "add.rn.f32" in ptx


def test_bfloat16_conversions_are_the_hardwares_on_a_gpu(monkeypatch):
    # decision 119: a GPU kernel converts bfloat16 with cvt (exact up, to nearest even
    # down); under the interpreter, whose own conversions are wrong, the bit form
    pytest.importorskip("triton")
    pytest.importorskip("torch")
    from multiact.kernels import triton as kt
    from multiact.kernels._trace import Node

    x = Node("x", (), "bfloat16")
    y = Node("astype", (Node("astype", (x,), "float32") * 3.0 + 1.5,), "bfloat16")
    src = kt.elementwise_source("kernel", (x,), y)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert "fp_downcast_rounding" not in kt.kernel_text(src)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    assert "fp_downcast_rounding" in kt.kernel_text(src)
    k = aot.triton_compiled((src, {"x_ptr": "*bf16", "out_ptr": "*bf16", "n": "i32",
                                   "BLOCK": "constexpr"}, {"BLOCK": 1024}, ("cuda", 90, 32)))
    ptx = k.asm["ptx"]
    assert "cvt.rn.bf16.f32" in ptx and "cvt.f32.bf16" in ptx


def test_every_triton_launch_asks_for_no_contraction():
    import inspect

    pytest.importorskip("torch")
    from multiact.kernels import triton as kt

    assert kt.COMPILE_OPTIONS == {"enable_fp_fusion": False}
    src = inspect.getsource(kt)
    # every launch goes through _launch, which adds COMPILE_OPTIONS (checked on a
    # launch in test_kernels_triton.py)
    assert src.count("[grid](") == 2 and inspect.getsource(kt._launch).count("[grid](") == 2


def _cupy_kernel_for(body, options):
    import cupy

    return cupy.ElementwiseKernel("float32 x", "float32 y", body, "multiact_axpb",
                                  options=options)


@pytest.mark.parametrize("fusion", [False, True])
def test_nvrtc_compiles_without_contraction(fusion):
    pytest.importorskip("cupy")
    from multiact.kernels import cuda_c

    x, y = _axpb()
    options = ("--fmad=true",) if fusion else cuda_c.CUPY_OPTIONS
    kernel = _cupy_kernel_for(cuda_c.body((x,), ((y, "y"),)), options)
    _, source, opts = aot._cupy_program(kernel, "float32")
    assert ("--fmad=false" in opts) is not fusion
    ptx = aot._compile_cupy((source, opts + ("-arch=compute_90",) + aot._CUPY_EXEC_SPACE,
                             "ptx"))[0].decode()
    assert ("fma.rn" in ptx) is fusion
    if not fusion:
        assert re.search(r"mul\.rn(\.ftz)?\.f32", ptx) and re.search(r"add\.rn(\.ftz)?\.f32", ptx)


def test_every_cupy_kernel_asks_for_no_contraction():
    pytest.importorskip("cupy")
    from multiact.kernels import cuda_c
    from multiact.kernels._coverage import elementwise_cases

    assert cuda_c.CUPY_OPTIONS == ("--fmad=false",)
    n = 0
    for info, params, _ in elementwise_cases():
        for dtype in cuda_c.DTYPES:
            for backward in (False, True):
                k = cuda_c.cupy_kernel(info, dtype, params, backward)
                assert k.kwargs["options"] == cuda_c.CUPY_OPTIONS
                n += 1
    assert n > 150


def test_the_nvrtc_program_is_cupys_own(monkeypatch):
    """``aot._cupy_program`` against what CuPy's ``compile_with_cache`` hands
    NVRTC for the same kernel code (the arch given, NVRTC intercepted: no GPU)."""
    pytest.importorskip("cupy")
    from cupy._core import core
    from cupy.cuda import compiler

    from multiact.kernels import cuda_c

    info = BY_NAME["gelu"]
    kernel = cuda_c.cupy_kernel(info, "float16", info.args(), backward=True)
    code, source, options = aot._cupy_program(kernel, "float16")
    assert "CArray<float16, 1" in code and "CIndexer<1" in code and kernel.name in code

    real = compiler._NVRTCProgram
    seen = {}

    class Stop(Exception):
        pass

    class Capture:
        def __init__(self, src, name="default_program", headers=(), include_names=(),
                     name_expressions=None, method="ptx"):
            self.src, self.method = src, method
            self.real = real(src, name, headers, include_names, method=method) if not src else None

        def compile(self, options=(), log_stream=None):
            if self.real is not None:  # CuPy's preprocessing of an empty file
                return self.real.compile(options, log_stream)
            seen.update(src=self.src, options=options, method=self.method)
            raise Stop

    monkeypatch.setenv("CUPY_CACHE_IN_MEMORY", "1")
    monkeypatch.setattr(compiler, "_NVRTCProgram", Capture)
    monkeypatch.setattr(compiler, "_get_arch_for_options_for_nvrtc",
                        lambda arch=None: aot._cupy_arch(arch))
    with pytest.raises(Stop):
        core.compile_with_cache(code, tuple(kernel.kwargs["options"]), "90")
    arch, method = aot._cupy_arch(90)
    assert seen == {"src": source, "options": options + (arch,) + aot._CUPY_EXEC_SPACE,
                    "method": method}


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MULTIACT_CACHE", str(tmp_path))
    assert aot.cache_dir() == os.path.join(str(tmp_path), "aot")
    monkeypatch.delenv("MULTIACT_CACHE")
    assert aot.cache_dir() == os.path.join(os.path.expanduser("~"), ".cache", "multiact", "aot")
