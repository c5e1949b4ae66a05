"""GPU benchmark: multiact against each framework's own kernel, in one interleaved
run, with the share of the copy bandwidth measured in the same run.

    python benchmarks/run.py --gpu                   # every CUDA backend present
    python benchmarks/run.py --gpu --markdown docs/performance-gpu.md
    python benchmarks/run.py --gpu --device cpu --n 100000   # a dry run of this code on CPU

The table: every check case of the table's element-wise rows and row-kernel
reductions with a counterpart (``benchmarks/_cases.py``): element-wise forward
(and forward plus backward for torch) against ``torch.nn.functional`` / CuPy
(``cupyx.scipy.special`` or a composite) / ``jit(jax.nn)``; the reductions on
8192 x 8192 rows (standardize against ``F.layer_norm`` without affine);
where-masked softmax against ``masked_fill`` + ``F.softmax``; 16-element calls;
float16 and bfloat16.  A ratio is multiact /
native; "bw" is the share of the copy bandwidth (bytes read plus written,
``x.clone()``), for the one-pass functions.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import multiact


def _cases(library, cupy=False):
    """``(element-wise cases, row cases)`` with a counterpart in ``library``, each
    ``(label, ours, native, info)``: the table's (``benchmarks/_cases.py``)."""
    from _cases import native, one_pass, ours  # benchmarks/ is on sys.path (run.py)

    found = [(name, ours(info, params), native((library,), info, params, cupy=cupy)[library],
              info) for name, info, params in one_pass(library, cupy=cupy)]
    return [c for c in found if c[3].elementwise], [c for c in found if not c[3].elementwise]


#: each case's timing budget is multiplied by this (``--budget-scale``: the device run's
#: shorter table)
_SCALE = [1.0]


#: run()'s table while it is measured: each row goes into it as it comes
_LIVE = [None]


class _Rows(list):
    """A backend's rows, each also printed to stderr and added to the table being
    written as it is measured (a run cut short by its time limit, or a backend
    that fails halfway, still reports what it measured)."""

    def append(self, row):
        b, dt, case, ours, nat, ratio = row[:6]
        print(f"{b} {dt} {case}: {_fmt(ours)} against {_fmt(nat)} ({ratio:.2f}x)",
              file=sys.stderr, flush=True)
        super().append(row)
        if _LIVE[0] is not None:
            _LIVE[0](row)


def _timer(sync):
    def run(cands, args, repeats=7, budget=0.5):
        budget *= _SCALE[0]
        for f in cands.values():
            f(*args)
            f(*args)
        sync()
        t0 = time.perf_counter()
        next(iter(cands.values()))(*args)
        sync()
        one = max(time.perf_counter() - t0, 1e-6)
        loops = max(1, min(2000, int(budget / repeats / len(cands) / one)))
        samples = {k: [] for k in cands}
        for _ in range(repeats):
            for k, f in cands.items():
                sync()
                t = time.perf_counter()
                for _ in range(loops):
                    f(*args)
                sync()
                samples[k].append((time.perf_counter() - t) / loops)
        return {k: statistics.median(v) for k, v in samples.items()}
    return run


def torch_rows(device, n, dtypes):
    import torch
    import torch.nn.functional as F

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    timeit = _timer(sync)
    rows = _Rows()
    for dtype in dtypes:
        dt = getattr(torch, dtype)
        x = torch.randn(n, device=device, dtype=dt)
        copy = timeit({"copy": lambda t: t.clone()}, (x,))["copy"]
        bw = 2 * x.numel() * x.element_size() / copy
        rows.append(("torch", dtype, "copy (x.clone())", copy, copy, 1.0, 1.0, f"{bw / 1e9:.0f} GB/s"))
        elementwise, row_cases = _cases("torch")
        for name, ours, nat, _ in elementwise:
            t = timeit({"ours": ours, "native": nat}, (x,))
            rows.append(("torch", dtype, name, t["ours"], t["native"], t["ours"] / t["native"],
                         copy / t["ours"], ""))
        xr = x.detach().clone().requires_grad_(True)
        g = torch.randn_like(x)
        for name, ours, nat, info in elementwise:
            if not info.fused:  # (identity: x itself, nothing to train)
                continue
            t = timeit({"ours": lambda: torch.autograd.grad(ours(xr), xr, g),
                        "native": lambda: torch.autograd.grad(nat(xr), xr, g)}, ())
            rows.append(("torch", dtype, f"{name} fwd+bwd", t["ours"], t["native"],
                         t["ours"] / t["native"], 2 * copy / t["ours"], ""))
        side = 8192 if n >= 8192 * 8192 else int(n ** 0.5) // 2 * 2  # even: the gated rows
        X = torch.randn(side, side, device=device, dtype=dt)
        M = torch.rand(side, side, device=device) > 0.2
        masked = ("softmax where=", lambda t: multiact.softmax(t, where=M),
                  lambda t: F.softmax(t.masked_fill(~M, float("-inf")), -1), None)
        for name, ours, nat, _ in [*row_cases, masked]:
            t = timeit({"ours": ours, "native": nat}, (X,))
            rows.append(("torch", dtype, f"{name} {side}x{side}", t["ours"], t["native"],
                         t["ours"] / t["native"], copy * X.numel() / x.numel() / t["ours"], ""))
        small = torch.randn(16, device=device, dtype=dt)
        for name, ours, nat, _ in elementwise + row_cases:
            t = timeit({"ours": ours, "native": nat}, (small,), budget=0.2)
            rows.append(("torch", dtype, f"{name} (16 elements)", t["ours"], t["native"],
                         t["ours"] / t["native"], float("nan"), ""))
    return rows


def cupy_rows(n, dtypes):
    import cupy as cp

    timeit = _timer(lambda: cp.cuda.Device().synchronize())
    rows = _Rows()
    # scipy.special's spelling (cupyx) where there is one, else a plain composite
    scipy_ew, scipy_rows = _cases("scipy", cupy=True)
    numpy_ew, numpy_rows = _cases("numpy", cupy=True)

    def merged(first, second):
        seen = {c[0] for c in first}
        return first + [c for c in second if c[0] not in seen]

    elementwise, row_cases = merged(scipy_ew, numpy_ew), merged(scipy_rows, numpy_rows)
    for dtype in dtypes:
        if dtype == "bfloat16":
            continue
        x = cp.random.standard_normal(n).astype(dtype)
        copy = timeit({"copy": lambda t: t.copy()}, (x,))["copy"]
        rows.append(("cupy", dtype, "copy (x.copy())", copy, copy, 1.0, 1.0,
                     f"{2 * x.nbytes / copy / 1e9:.0f} GB/s"))
        for name, ours, nat, _ in elementwise:
            t = timeit({"ours": ours, "native": nat}, (x,))
            rows.append(("cupy", dtype, name, t["ours"], t["native"], t["ours"] / t["native"],
                         copy / t["ours"], ""))
        side = 8192 if n >= 8192 * 8192 else int(n ** 0.5) // 2 * 2  # even: the gated rows
        X = cp.random.standard_normal((side, side)).astype(dtype)
        for name, ours, nat, _ in row_cases:
            t = timeit({"ours": ours, "native": nat}, (X,))
            rows.append(("cupy", dtype, f"{name} {side}x{side}", t["ours"], t["native"],
                         t["ours"] / t["native"], float("nan"), ""))
    return rows


def jax_rows(n, dtypes):
    import jax
    import jax.numpy as jnp

    timeit = _timer(lambda: None)
    rows = _Rows()
    for dtype in dtypes:
        x = jax.random.normal(jax.random.key(0), (n,), dtype=getattr(jnp, dtype))
        side = 8192 if n >= 8192 * 8192 else int(n ** 0.5) // 2 * 2  # even: the gated rows
        X = jax.random.normal(jax.random.key(1), (side, side), dtype=getattr(jnp, dtype))
        elementwise, row_cases = _cases("jax")
        cases = [(name, x, ours, jax.jit(nat)) for name, ours, nat, _ in elementwise] + \
            [(name, X, ours, jax.jit(nat)) for name, ours, nat, _ in row_cases]
        for name, arg, ours, nat in cases:
            t = timeit({"ours": lambda a: ours(a).block_until_ready(),
                        "native": lambda a: nat(a).block_until_ready()}, (arg,))
            rows.append(("jax", dtype, name, t["ours"], t["native"], t["ours"] / t["native"],
                         float("nan"), ""))
    return rows


def _fmt(s):
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.3f} ms"


def markdown(rows, header):
    lines = header + ["", "| backend | dtype | case | multiact | native | ratio | share of copy bw | note |",
                      "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for b, dt, case, ours, nat, ratio, bw, note in rows:
        share = "" if bw != bw else f"{bw:.0%}"
        lines.append(f"| {b} | {dt} | {case} | {_fmt(ours)} | {_fmt(nat)} | {ratio:.2f} | "
                     f"{share} | {note} |")
    return "\n".join(lines) + "\n"


def run(device="cuda", n=100_000_000, dtypes=("float32", "float16", "bfloat16"), out=None,
        scale=1.0, command="python benchmarks/run.py --gpu"):
    """The table (markdown; also written to ``out``).  multiact's calls run its fused
    kernels (``MULTIACT_KERNELS=fused``, compiled on the first call, before the timed
    rounds: the steady state the default mode reaches once the kernels have paid for
    themselves) unless ``MULTIACT_KERNELS`` says otherwise."""
    import datetime
    import platform

    from multiact import kernels

    if not os.environ.get("MULTIACT_KERNELS"):
        kernels.set_mode("fused")
    _SCALE[0] = scale
    rows, versions, notes = [], [], []
    dev_name = [device]

    def text():
        header = ["# GPU performance" if device == "cuda" else
                  "# Performance (GPU benchmark code, dry run)", "",
                  f"Device: {dev_name[0]}. Date: {datetime.date.today()}. Python "
                  f"{platform.python_version()}, " + ", ".join(versions) + f". n = {n:,}.",
                  "", f"Command: `{command}`; multiact's kernels: MULTIACT_KERNELS="
                  f"{kernels.mode()}. Medians of 7 interleaved rounds; the copy bandwidth is "
                  "measured in the same run."]
        return markdown(rows, header) + "".join(f"\n{note}\n" for note in notes)

    def write():
        if out:
            with open(out, "w") as f:
                f.write(text())

    def live(row):  # (each row as it is measured: the table on disk is never behind)
        rows.append(row)
        write()

    def section(name, measure):
        """One backend's rows (each in the table as it comes); a backend that fails
        says so in the table, after the rows it measured."""
        try:
            measure()
        except Exception as e:  # noqa: BLE001 - reported in the table, the others go on
            notes.append(f"{name}: stopped ({type(e).__name__}: {e})")
        write()

    _LIVE[0] = live

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        versions.append(f"torch {torch.__version__}")
        if device == "cuda" and torch.cuda.is_available():
            dev_name[0] = torch.cuda.get_device_name(0)
        if device == "cpu" or torch.cuda.is_available():
            section("torch", lambda: torch_rows(device, n, dtypes))
        else:
            notes.append("torch: not measured (torch.cuda.is_available() is False)")
    if device == "cuda":
        for name, measure in (("cupy", lambda: cupy_rows(n, dtypes)),
                              ("jax", lambda: jax_rows(n, ("float32",)))):
            try:
                mod = __import__(name)
                versions.append(f"{name} {mod.__version__}")
                here = (mod.cuda.runtime.getDeviceCount() if name == "cupy" else
                        any(d.platform == "gpu" for d in mod.devices()))
            except Exception as e:  # noqa: BLE001 - not installed, or no device: said
                notes.append(f"{name}: not measured ({type(e).__name__}: {e})")
                continue
            if here:
                section(name, measure)
    _LIVE[0] = None
    write()
    return text()

