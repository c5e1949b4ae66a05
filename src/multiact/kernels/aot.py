"""``multiact compile``: every fused kernel compiled, for GPUs this machine need not have.

With targets (``cuda:90``, ``hip:gfx942``, ...), every kernel is compiled ahead
of time, without a GPU:

* the Triton kernels (``kernels/triton.py``: element-wise forward and backward
  in float32, float16, bfloat16, float64; the row kernels with and without
  ``where``, one block and chunked) by ``triton.compile`` for a
  ``GPUTarget``, to a cubin (Triton's bundled ptxas) or an hsaco (its bundled
  ld.lld), with the options of a launch (:data:`triton.COMPILE_OPTIONS`:
  contraction off, checked in the compiled metadata);
* for NVIDIA targets, the CuPy kernels (``kernels/cuda_c.py``, forward and
  backward in float16, float32, float64) by NVRTC exactly as CuPy builds them
  on first call: the ``cupy.ElementwiseKernel`` object the CuPy backend uses,
  CuPy's own code generation (``cupy._core._kernel``, for contiguous arrays of
  fewer than 2**31 elements: the common case; CuPy compiles a variant for other
  layouts on first use), CuPy's headers and compiler options
  (``assemble_cupy_compiler_options``, then ``-ftz=true``, the arch and
  ``--device-as-default-execution-space``, as ``cupy.cuda.compiler`` adds
  them), through CuPy's NVRTC wrapper (``_NVRTCProgram``; NVRTC from the
  ``nvidia-cuda-nvrtc-cu12`` wheel, no driver needed).  ``tests/test_compile.py``
  checks that the program is the one CuPy's ``compile_with_cache`` hands NVRTC.

Each artifact is checked (it exists and is not empty) and kept under
``$MULTIACT_CACHE/aot/`` (default ``~/.cache/multiact/aot/``), named by a hash
of everything that went into it (compiler and its version, source, options,
target): a second run compiles only what changed, and identical sources are
compiled once.  Kernels compile in a pool of ``os.cpu_count()`` processes
(fresh interpreters: Triton's interpreter mode of the calling process, if any,
stays out of them).

Without targets, the local device's caches are warmed: on a CUDA GPU, each
Triton kernel is launched once (Triton's JIT compiles it into its disk cache);
on CPU, ``multiact.kernels.warm`` compiles the Inductor tier.

Every result is one dict: ``{"function", "dtype", "kernel", "target", "ok",
"seconds", "error"}`` (``error``: the first line that says what went wrong).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass

from ._coverage import elementwise_cases, gated_cases, row_params
from ._trace import FLOATS, ROWS, Unsupported

__all__ = ["Target", "parse_targets", "check_arguments", "compile_kernels", "compile_targets",
           "compile_local", "warm_triton", "print_rows", "summary", "cache_dir",
           "DEFAULT_TARGETS", "ROW_BLOCK"]

#: the targets CI compiles for
DEFAULT_TARGETS = "cuda:80,cuda:90,cuda:100,hip:gfx942,hip:gfx90a"
#: the BLOCK of an ahead-of-time one-block row kernel (rows of up to 1024 entries)
ROW_BLOCK = 1024
_TRITON_TYPES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float64": "fp64"}
_BATCH = 8   # kernels per task sent to a worker
# CuPy's enum of argument kinds (cupy/_core/_kernel.pxd): an array, the indexer
_ARG_NDARRAY, _ARG_INDEXER = 1, 2
# what cupy.cuda.compiler adds to a kernel's options after assembling them
_CUPY_FTZ = ("-ftz=true",)
_CUPY_EXEC_SPACE = ("--device-as-default-execution-space",)


@dataclass(frozen=True)
class Target:
    """A GPU to compile for: ``backend`` ``"cuda"`` (``arch``: the compute
    capability as an int, 90 for sm_90) or ``"hip"`` (``arch``: ``"gfx942"``)."""

    backend: str
    arch: object

    @property
    def label(self):
        return f"{self.backend}:{self.arch}"

    @property
    def warp_size(self):
        # AMD's CDNA GPUs (gfx9xx) run 64-wide wavefronts, RDNA 32-wide
        return 64 if self.backend == "hip" and str(self.arch).startswith("gfx9") else 32


def parse_targets(spec, who="multiact.compile"):
    """Targets from ``"cuda:90,hip:gfx942"`` (or a list of such strings)."""
    if isinstance(spec, str):
        spec = [spec]
    if not isinstance(spec, (list, tuple)) or not all(isinstance(s, str) for s in spec):
        raise TypeError(f"{who}: argument 'targets' must be a string such as "
                        f"'cuda:90,hip:gfx942' or a list of them, got {spec!r}")
    out = []
    for part in (p.strip() for s in spec for p in s.split(",")):
        m = re.fullmatch(r"(cuda):(\d+)|(hip):(gfx[0-9a-f]+)", part)
        if not m:
            raise ValueError(f"{who}: target {part!r} is not cuda:<compute capability> "
                             f"(cuda:90) or hip:<gfx arch> (hip:gfx942)")
        t = Target("cuda", int(m.group(2))) if m.group(1) else Target("hip", m.group(4))
        if t not in out:
            out.append(t)
    if not out:
        raise ValueError(f"{who}: no target given")
    return out


def cache_dir():
    """Where the artifacts are kept: ``$MULTIACT_CACHE/aot`` (default
    ``~/.cache/multiact/aot``)."""
    root = os.environ.get("MULTIACT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                            "multiact")
    return os.path.join(root, "aot")


def _row(function, dtype, kernel, target, ok, seconds, error=None):
    return {"function": function, "dtype": dtype, "kernel": kernel, "target": target,
            "ok": ok, "seconds": round(seconds, 3), "error": error}


_SAYS_WHY = (r"\bfatal\b", r"\berror:", r"\berror\b|not (a )?(recognized|defined|supported)")


def _first_line(text):
    """The line of a compiler's message that says what went wrong: the first
    'fatal' line, else the first 'error:', else the first that mentions an error,
    else the first line."""
    lines = [" ".join(ln.split()) for ln in str(text).splitlines() if ln.strip()]
    for pattern in _SAYS_WHY:
        for ln in lines:
            if re.search(pattern, ln, re.I):
                return ln[:300]
    return (lines[0] if lines else "failed")[:300]


class CompileReport(list):
    """The rows of a compile (dicts); ``cached``: how many artifacts came from
    the cache, ``directory``: where they are."""

    cached = 0
    directory = None


# -- the jobs --------------------------------------------------------------------------------

@dataclass
class _Job:
    function: str
    dtype: str
    kernel: str
    target: Target
    tech: str          # "triton" | "cupy"
    spec: tuple        # what the worker compiles
    key: str = ""      # hash of everything that goes into the artifact
    error: str = None  # set when there is nothing to compile (no source)


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _key(*parts):
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _triton_jobs(targets, functions, dtypes):
    from . import triton as kt

    from .._table import BY_NAME

    version = _version("triton")
    jobs = []

    def add(function, dt, kernel, make, signature, constexprs):
        try:
            src = make()
        except Unsupported as e:
            src, err = None, f"no source: {e}"
        else:
            err = None
        for t in targets:
            job = _Job(function, dt, f"triton:{kernel}", t, "triton",
                       (src, signature, constexprs, (t.backend, t.arch, t.warp_size)),
                       error=err)
            if src is not None:
                job.key = _key("triton", version, kt.kernel_text(src), signature, constexprs,
                               t.label, t.warp_size, sorted(kt.COMPILE_OPTIONS.items()))
            jobs.append(job)

    for info, params, label in elementwise_cases(functions):
        for dt in dtypes:
            ptr = "*" + _TRITON_TYPES[dt]
            for backward in (False, True):
                sig = {"x_ptr": ptr, **({"g_ptr": ptr} if backward else {}), "out_ptr": ptr,
                       "n": "i32", "BLOCK": "constexpr"}
                add(label, dt, "backward" if backward else "forward",
                    lambda: kt.elementwise_kernel_source(info, dt, params, backward),
                    sig, {"BLOCK": kt.ELEM_BLOCK})
    for info, params, label in gated_cases(functions):
        for dt in dtypes:
            ptr = "*" + _TRITON_TYPES[dt]
            for backward in (False, True):
                sig = {"x_ptr": ptr, **({"g_ptr": ptr} if backward else {}), "out_ptr": ptr,
                       "n": "i32", "m": "i32", "BLOCK": "constexpr"}
                add(label, dt, "backward" if backward else "forward",
                    lambda: kt.gated_kernel_source(info, dt, params, backward),
                    sig, {"BLOCK": kt.ELEM_BLOCK})
    for name in ROWS:
        if functions and name not in functions:
            continue
        info = BY_NAME[name]
        params = row_params(info)
        for dt in dtypes:
            ptr = "*" + _TRITON_TYPES[dt]
            for masked in (False, True):
                for single in (True, False):
                    sig = {"x_ptr": ptr, **({"mask_ptr": "*i8"} if masked else {}),
                           "out_ptr": ptr, "ncols": "i32", "BLOCK": "constexpr"}
                    kernel = ("rows+where" if masked else "rows") + ("" if single else "/chunked")
                    add(name, dt, kernel,
                        lambda: kt.rows_kernel_source(info, dt, params, masked, single),
                        sig, {"BLOCK": ROW_BLOCK if single else kt.CHUNK})
                    if single:  # Triton's JIT makes an int argument equal to 1 a constant:
                        # rows of one column are this variant (it failed to compile once)
                        add(name, dt, kernel + "/ncols=1",
                            lambda: kt.rows_kernel_source(info, dt, params, masked, single),
                            {**sig, "ncols": "constexpr"}, {"BLOCK": ROW_BLOCK, "ncols": 1})
    return jobs


def _cupy_program(kernel, dtype):
    """``(code, source, options)``: the kernel code CuPy generates for
    ``kernel`` (a ``cupy.ElementwiseKernel``) called on contiguous arrays of
    ``dtype``, the source NVRTC compiles (CuPy's headers first) and the options
    before the arch (see the module docstring)."""
    import cupy
    import numpy
    from cupy._core import _kernel, core
    from cupy._core._carray import Indexer

    dt = numpy.dtype(dtype)
    nin = len(kernel.in_params)
    # the type check of a call: raises TypeError where the declared types do not match
    _, _, type_map = kernel._decide_params_type((dt,) * nin, (dt,) * len(kernel.out_params))
    arginfos = tuple(_kernel._ArgInfo(_ARG_NDARRAY, cupy.ndarray, dt, 1, True, True)
                     for _ in range(nin + len(kernel.out_params)))
    arginfos += (_kernel._ArgInfo(_ARG_INDEXER, Indexer, None, 1, True, True),)
    code = _kernel._get_elementwise_kernel_code(
        arginfos, type_map, kernel.params, kernel.operation, kernel.name, kernel.preamble,
        **kernel.kwargs)
    source = "".join(f"#include <{h}>\n" for h in core._cupy_header_list) + code
    options = core.assemble_cupy_compiler_options(tuple(kernel.kwargs.get("options", ())))
    return code, source, options + _CUPY_FTZ


def _cupy_arch(cc):
    """``(option, method)`` for compute capability ``cc``, as
    ``cupy.cuda.compiler._get_arch_for_options_for_nvrtc`` decides it (a cubin up
    to the newest arch this NVRTC knows, else PTX)."""
    from cupy.cuda import compiler

    if not compiler._use_ptx and int(cc) <= int(compiler._get_max_compute_capability()):
        return f"-arch=sm_{cc}", "cubin"
    return f"-arch=compute_{cc}", "ptx"


def _cupy_jobs(targets, functions, dtypes):
    from . import cuda_c

    targets = [t for t in targets if t.backend == "cuda"]
    dtypes = [d for d in dtypes if d in cuda_c.DTYPES]
    cases = list(elementwise_cases(functions)) + list(gated_cases(functions))
    if not targets or not dtypes or not cases:
        return []
    failure = None
    try:
        import cupy  # noqa: F401
        from cupy_backends.cuda.libs import nvrtc

        versions = (_version("cupy-cuda12x") or _version("cupy-cuda13x") or _version("cupy"),
                    nvrtc.getVersion())
    except Exception as e:  # noqa: BLE001 - no CuPy, no NVRTC: every CuPy kernel fails
        failure = (f"CuPy and NVRTC are needed (pip install 'multiact[aot]'): "
                   f"{type(e).__name__}: {_first_line(e)}")
    jobs = []
    for info, params, label in cases:
        for dt in dtypes:
            for backward in (False, True):
                kernel = "cupy:" + ("backward" if backward else "forward")
                program, err = None, failure
                if err is None:
                    try:
                        k = cuda_c.cupy_kernel(info, dt, params, backward)
                        _, source, options = _cupy_program(k, dt)
                        program = (source, options)
                    except Unsupported as e:
                        err = f"no source: {e}"
                    except Exception as e:  # noqa: BLE001 - CuPy refused it: say why
                        err = f"{type(e).__name__}: {_first_line(e)}"
                for t in targets:
                    job = _Job(label, dt, kernel, t, "cupy", (), error=err)
                    if program is not None:
                        try:
                            arch, method = _cupy_arch(t.arch)
                        except Exception as e:  # noqa: BLE001
                            job.error = f"{type(e).__name__}: {_first_line(e)}"
                        else:
                            opts = program[1] + (arch,) + _CUPY_EXEC_SPACE
                            job.spec = (program[0], opts, method)
                            job.key = _key("cupy", versions, program[0], opts)
                    jobs.append(job)
    return jobs


# -- compiling (in worker processes) -------------------------------------------------------

class _Captured:
    """Captures what compilers write to file descriptors 1 and 2 (MLIR
    diagnostics, ptxas) instead of letting it reach the terminal (or a worker's
    channel of results)."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.file = tempfile.TemporaryFile()
        self.saved = [os.dup(1), os.dup(2)]
        os.dup2(self.file.fileno(), 1)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        self.file.seek(0)
        self.text = self.file.read().decode(errors="replace")
        self.file.close()


def triton_compiled(spec):
    """The Triton ``CompiledKernel`` of ``(source, signature, constexprs,
    (backend, arch, warp_size))``, compiled with :data:`triton.COMPILE_OPTIONS`."""
    import triton
    from triton.backends.compiler import GPUTarget

    from . import triton as kt

    src, signature, constexprs, target = spec
    fn = kt._compile(("aot",) + tuple(target), src, "kernel")
    return triton.compile(triton.compiler.ASTSource(fn=fn, signature=signature,
                                                    constexprs=constexprs),
                          target=GPUTarget(*target), options=dict(kt.COMPILE_OPTIONS))


def _compile_triton(spec):
    k = triton_compiled(spec)
    if k.metadata.enable_fp_fusion is not False:
        raise RuntimeError("compiled with floating-point contraction on")
    ext = "cubin" if spec[3][0] == "cuda" else "hsaco"
    return k.asm.get(ext), ext


def _compile_cupy(spec):
    """NVRTC's output (cubin or PTX) for ``(source, options, method)``, through
    CuPy's wrapper; raises CuPy's CompileException with NVRTC's log."""
    from cupy.cuda import compiler

    source, options, method = spec
    blob, _ = compiler._NVRTCProgram(source, "multiact.cu", method=method).compile(options)
    return blob, method


def _compile_batch(batch, directory):
    """Compile ``[(key, tech, spec, target_label)]``; returns ``[(key, ok,
    seconds, error)]``, each artifact written to ``directory``."""
    out = []
    for key, tech, spec, label in batch:
        t0 = time.perf_counter()
        err = None
        with _Captured() as captured:
            try:
                blob, ext = (_compile_triton if tech == "triton" else _compile_cupy)(spec)
                if not blob:
                    raise RuntimeError(f"the compiler returned an empty {ext}")
                if isinstance(blob, str):
                    blob = blob.encode()
                path = os.path.join(directory, label.replace(":", "-"), f"{key}.{ext}")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path + ".tmp", "wb") as f:
                    f.write(blob)
                os.replace(path + ".tmp", path)
            except Exception as e:  # noqa: BLE001 - a failed kernel is a row, not a crash
                err = e
        if err is not None:
            msg = _first_line(getattr(err, "error_message", None) or err)
            if not any(re.search(p, msg, re.I) for p in _SAYS_WHY) and captured.text.strip():
                msg = f"{msg}: {_first_line(captured.text)}"
            err = f"{type(err).__name__}: {msg}"
        out.append((key, err is None, time.perf_counter() - t0, err))
    return out


def _cached(directory, job):
    d = os.path.join(directory, job.target.label.replace(":", "-"))
    for ext in ("cubin", "hsaco", "ptx"):
        p = os.path.join(d, f"{job.key}.{ext}")
        if os.path.isfile(p) and os.path.getsize(p) > 0:
            return True
    return False


def compile_targets(targets, functions=None, dtypes=None, progress=None, workers=None):
    """Every selected kernel compiled ahead of time for ``targets`` (see the module
    docstring); returns a :class:`CompileReport` of rows."""
    dtypes = list(dtypes or ("float32", "float16", "bfloat16", "float64"))
    jobs = _triton_jobs(targets, functions, dtypes) + _cupy_jobs(targets, functions, dtypes)
    directory = cache_dir()
    report = CompileReport()
    report.directory = directory
    result = {}
    todo = {}
    for job in jobs:
        if job.error is None and job.key not in result and job.key not in todo:
            if _cached(directory, job):
                result[job.key] = (True, 0.0, None)
                report.cached += 1
            else:
                todo[job.key] = (job.key, job.tech, job.spec, job.target.label)
    if todo:
        if progress:
            progress(f"multiact compile: {len(todo)} kernels to compile for "
                     f"{', '.join(t.label for t in targets)} ({report.cached} cached, "
                     f"{len(jobs)} in all)")
        result.update(_run_pool(list(todo.values()), directory, progress, workers))
    seen = set()
    for job in jobs:
        if job.error is not None:
            report.append(_row(job.function, job.dtype, job.kernel, job.target.label, False, 0.0,
                               job.error))
            continue
        ok, seconds, err = result[job.key]
        if job.key in seen:  # the same source for the same target: compiled once
            seconds = 0.0
        seen.add(job.key)
        report.append(_row(job.function, job.dtype, job.kernel, job.target.label, ok, seconds,
                           err))
    return report


def _run_pool(todo, directory, progress, workers):
    """Compile ``todo`` in ``workers`` processes (``python -m
    multiact.kernels._aot_worker``: fresh interpreters, which import nothing of
    the caller's main module and run without ``TRITON_INTERPRET``); returns
    ``{key: (ok, seconds, error)}``."""
    import shutil

    workers = max(1, min(workers or os.cpu_count() or 1, -(-len(todo) // _BATCH)))
    env = dict(os.environ)
    env.pop("TRITON_INTERPRET", None)
    # The workers' scratch files in a directory of their own, removed when they end:
    # Triton leaves its .ptx in the temporary directory when ptxas fails (an
    # unsupported arch), and a compile killed midway leaves whatever it had open.
    scratch = tempfile.mkdtemp(prefix="multiact-compile-")
    env["TMPDIR"] = scratch
    try:
        return _run_workers(todo, directory, progress, workers, env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_workers(todo, directory, progress, workers, env):
    import json
    import pickle
    import subprocess
    import threading

    import multiact

    root = os.path.dirname(os.path.dirname(os.path.abspath(multiact.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    results = {}
    lock = threading.Lock()
    step = max(10, min(len(todo) // 10, 100))  # every 10% (at most 100 kernels), and the end
    state = {"done": 0, "failed": 0, "next": step}

    def read(proc):
        for line in proc.stdout:
            try:
                key, ok, seconds, err = json.loads(line)
            except ValueError:  # not a result: nothing else is written there
                continue
            with lock:
                results[key] = (ok, seconds, err)
                state["done"] += 1
                state["failed"] += not ok
                if progress and state["done"] in (state["next"], len(todo)):
                    progress(f"multiact compile: {state['done']}/{len(todo)} compiled, "
                             f"{state['failed']} failed")
                    state["next"] = state["done"] + step

    procs = []
    for i in range(workers):
        share = todo[i::workers]
        proc = subprocess.Popen([sys.executable, "-m", "multiact.kernels._aot_worker", directory],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, text=False)
        errors = []
        # one thread per pipe: no worker ever waits on a full one
        threads = [threading.Thread(target=read, args=(proc,), daemon=True),
                   threading.Thread(target=_feed, args=(proc, pickle.dumps(share)), daemon=True),
                   threading.Thread(target=lambda p=proc, e=errors: e.append(p.stderr.read()),
                                    daemon=True)]
        for t in threads:
            t.start()
        procs.append((proc, share, threads, errors))
    for proc, share, threads, errors in procs:
        for t in threads:
            t.join()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
        stderr = b"".join(errors).decode(errors="replace")
        for key, *_ in share:
            if key not in results:  # the worker died before reporting it
                results[key] = (False, 0.0, f"the compiler process died (exit {proc.returncode})"
                                f": {_first_line(stderr) if stderr.strip() else 'no message'}")
    return results


def _feed(proc, data):
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except BrokenPipeError:  # the worker died; its missing results say so
        pass


# -- the local device -------------------------------------------------------------------------

def warm_triton(functions=None, dtypes=None, progress=None, device="cuda"):
    """Launch every Triton kernel once on ``device`` (Triton's JIT compiles it into
    its cache on disk); rows as :func:`compile_targets` returns them.  On CPU
    tensors this runs under Triton's interpreter (how the tests check it)."""
    import torch

    from . import triton as kt
    from .._table import BY_NAME

    if device == "cuda":
        major, minor = torch.cuda.get_device_capability()
        target = f"cuda:{major}{minor}"
    else:
        target = f"{device} (interpreter)"
    dtypes = list(dtypes or ("float32", "float16", "bfloat16", "float64"))
    rows = CompileReport()

    def run(function, dt, kernel, call, why):
        t0 = time.perf_counter()
        try:
            ok = call() is not None
            err = None if ok else f"no kernel: {why() or 'not launchable here'}"
        except Exception as e:  # noqa: BLE001 - a failed kernel is a row
            ok, err = False, f"{type(e).__name__}: {_first_line(e)}"
        rows.append(_row(function, dt, f"triton:{kernel}", target, ok,
                         time.perf_counter() - t0, err))

    def reason(*key):
        return next((r for k, r in kt.failures().items() if k[:len(key)] == key), None)

    for info, params, label in elementwise_cases(functions):
        for dt in dtypes:
            x = torch.linspace(-2.0, 2.0, 64, dtype=getattr(torch, dt), device=device)
            if info.nonneg_input:
                x = x.abs()
            pkey = kt._params_key(params)
            run(label, dt, "forward", lambda: kt.forward(info, x, params),
                lambda: reason("fwd", info.name, dt, pkey))
            run(label, dt, "backward", lambda: kt.backward(info, x, torch.ones_like(x), params),
                lambda: reason("bwd", info.name, dt, pkey))
        if progress:
            progress(f"multiact compile: {label} done")
    for info, params, label in gated_cases(functions):
        for dt in dtypes:
            x3 = torch.linspace(-2.0, 2.0, 64, dtype=getattr(torch, dt),
                                device=device).reshape(4, 2, 8)
            g2 = torch.ones(4, 8, dtype=x3.dtype, device=device)
            pkey = kt._params_key(params)
            run(label, dt, "forward", lambda: kt.gated_forward(info, x3, params),
                lambda: reason("gated-fwd", info.name, dt, pkey))
            run(label, dt, "backward", lambda: kt.gated_backward(info, x3, g2, params),
                lambda: reason("gated-bwd", info.name, dt, pkey))
        if progress:
            progress(f"multiact compile: {label} done")
    for name in ROWS:
        if functions and name not in functions:
            continue
        info = BY_NAME[name]
        params = row_params(info)
        for dt in dtypes:
            for ncols, suffix in ((64, ""), (kt.SINGLE_MAX + 1, "/chunked")):
                x = torch.linspace(-2.0, 2.0, 2 * ncols, dtype=getattr(torch, dt),
                                   device=device).reshape(2, ncols)
                for where, kernel in ((None, "rows"), (x > -1.0, "rows+where")):
                    run(name, dt, kernel + suffix, lambda: kt.rows(info, x, params, where),
                        lambda: reason("rows", name, dt))
        if progress:
            progress(f"multiact compile: {name} done")
    return rows


def check_arguments(targets=None, functions=None, dtypes=None, progress=None,
                    who="multiact.compile"):
    """``(targets, functions, dtypes)`` normalised; TypeError or ValueError,
    naming the argument, for what is not a selection of kernels."""
    from .._table import BY_NAME, canonical_name

    for arg, value in (("functions", functions), ("dtypes", dtypes)):
        if isinstance(value, str):
            raise TypeError(f"{who}: argument {arg!r} must be a list of names, got the string "
                            f"{value!r}")
    if functions is not None:
        functions = [canonical_name(f, who.replace("multiact.", "")) for f in functions]
        for f in functions:
            info = BY_NAME[f]
            if not (info.elementwise or info.halves) and f not in ROWS:
                gated = [i.name for i in BY_NAME.values() if i.halves]
                raise ValueError(f"{who}: {f!r} has no fused kernel (kernels exist for the "
                                 f"element-wise functions, {', '.join(gated)} and "
                                 f"{', '.join(ROWS)})")
    if dtypes is not None:
        dtypes = list(dtypes)
        for d in dtypes:
            if d not in FLOATS:
                raise ValueError(f"{who}: unknown dtype {d!r} (known: {', '.join(FLOATS)})")
    if progress is not None and not callable(progress):
        raise TypeError(f"{who}: argument 'progress' must be callable (it gets one line of "
                        f"text at a time), got {progress!r}")
    if targets is not None:
        targets = parse_targets(targets, who)
    return targets, functions, dtypes


def compile_kernels(targets=None, functions=None, dtypes=None, progress=None):
    """``multiact.compile``: see its docstring."""
    targets, functions, dtypes = check_arguments(targets, functions, dtypes, progress)
    if targets is not None:
        return compile_targets(targets, functions, dtypes, progress)
    return compile_local(functions, dtypes, progress)


def _cuda_here():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def compile_local(functions=None, dtypes=None, progress=None):
    """The local device's caches warmed: Triton's on a CUDA GPU (every kernel
    launched once), Inductor's on CPU (``multiact.kernels.warm``)."""
    if _cuda_here():
        return warm_triton(functions, dtypes, progress)
    from .. import kernels

    warm = getattr(kernels, "warm", None)
    if warm is None:
        raise RuntimeError("multiact.compile: this build has no CPU warm-up "
                           "(multiact.kernels.warm); pass targets to compile ahead of time")
    return warm(functions, dtypes, progress)


# -- the table --------------------------------------------------------------------------------

def summary(rows):
    """The last line: ``compiled N kernels for T targets, F failed``."""
    ok = sum(1 for r in rows if r["ok"])
    targets = len({r["target"] for r in rows})
    return f"compiled {ok} kernels for {targets} targets, {len(rows) - ok} failed"


def print_rows(rows, out=None):
    """One line per kernel (function, dtype, kernel, target, ok or the error,
    seconds), then :func:`summary`."""
    out = out or sys.stdout
    cols = ("function", "dtype", "kernel", "target")
    width = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in cols}
    print("  ".join(c.ljust(width[c]) for c in cols) + "  seconds  result", file=out)
    for r in rows:
        result = "ok" if r["ok"] else f"FAILED: {r['error']}"
        print("  ".join(str(r[c]).ljust(width[c]) for c in cols)
              + f"  {r['seconds']:7.2f}  {result}", file=out)
    cached = getattr(rows, "cached", 0)
    if cached:
        print(f"({cached} of them from the cache in {rows.directory})", file=out)
    print(summary(rows), file=out)
