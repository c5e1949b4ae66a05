"""GPU benchmark: multiact against each framework's own kernel, in one interleaved
run, with the share of the copy bandwidth measured in the same run.

    python benchmarks/run.py --gpu                   # every CUDA backend present
    python benchmarks/run.py --gpu --markdown docs/performance-gpu.md
    python benchmarks/run.py --gpu --device cpu --n 100000   # a dry run of this code on CPU

The table: element-wise forward (and forward plus
backward for torch) against ``torch.nn.functional`` / CuPy / ``jit(jax.nn)``;
softmax, log_softmax and logsumexp on 8192 x 8192 rows; where-masked softmax
against ``masked_fill`` + ``F.softmax``; standardize against ``F.layer_norm``
without affine; 16-element calls; float16 and bfloat16.  A ratio is multiact /
native; "bw" is the share of the copy bandwidth (bytes read plus written,
``x.clone()``), for the one-pass functions.
"""

from __future__ import annotations

import statistics
import time

import multiact

ELEMENTWISE_TORCH = {
    "relu": "relu", "relu6": "relu6", "hard_tanh": "hardtanh", "leaky_relu": "leaky_relu",
    "sigmoid": "sigmoid", "silu": "silu", "softplus": "softplus", "log_sigmoid": "logsigmoid",
    "elu": "elu", "selu": "selu", "celu": "celu", "gelu": "gelu_tanh", "gelu_exact": "gelu",
    "hard_sigmoid": "hardsigmoid", "hard_silu": "hardswish", "soft_sign": "softsign",
    "tanh": "tanh", "mish": "mish", "tanh_shrink": "tanhshrink", "soft_shrink": "softshrink",
    "hard_shrink": "hardshrink",
}


def _ours(name):
    if name == "gelu_exact":
        return lambda x: multiact.gelu(x, approximate=False)
    return getattr(multiact, name)


def _torch_native(name):
    import torch
    import torch.nn.functional as F

    n = ELEMENTWISE_TORCH[name]
    if n == "gelu_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if n in ("sigmoid", "tanh"):
        return getattr(torch, n)
    return getattr(F, n)


def _timer(sync):
    def run(cands, args, repeats=7, budget=0.5):
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
    rows = []
    for dtype in dtypes:
        dt = getattr(torch, dtype)
        x = torch.randn(n, device=device, dtype=dt)
        copy = timeit({"copy": lambda t: t.clone()}, (x,))["copy"]
        bw = 2 * x.numel() * x.element_size() / copy
        rows.append(("torch", dtype, "copy (x.clone())", copy, copy, 1.0, 1.0, f"{bw / 1e9:.0f} GB/s"))
        for name in ELEMENTWISE_TORCH:
            t = timeit({"ours": _ours(name), "native": _torch_native(name)}, (x,))
            rows.append(("torch", dtype, name, t["ours"], t["native"], t["ours"] / t["native"],
                         copy / t["ours"], ""))
        xr = x.detach().clone().requires_grad_(True)
        g = torch.randn_like(x)
        for name in ("silu", "gelu", "gelu_exact", "hard_silu", "soft_sign", "mish", "sigmoid"):
            ours, nat = _ours(name), _torch_native(name)
            t = timeit({"ours": lambda: torch.autograd.grad(ours(xr), xr, g),
                        "native": lambda: torch.autograd.grad(nat(xr), xr, g)}, ())
            rows.append(("torch", dtype, f"{name} fwd+bwd", t["ours"], t["native"],
                         t["ours"] / t["native"], 2 * copy / t["ours"], ""))
        side = 8192 if n >= 8192 * 8192 else int(n ** 0.5)
        X = torch.randn(side, side, device=device, dtype=dt)
        M = torch.rand(side, side, device=device) > 0.2
        for name, ours, nat in (
                ("softmax", lambda t: multiact.softmax(t), lambda t: F.softmax(t, -1)),
                ("log_softmax", lambda t: multiact.log_softmax(t), lambda t: F.log_softmax(t, -1)),
                ("logsumexp", lambda t: multiact.logsumexp(t, axis=-1),
                 lambda t: torch.logsumexp(t, -1)),
                ("softmax where=", lambda t: multiact.softmax(t, where=M),
                 lambda t: F.softmax(t.masked_fill(~M, float("-inf")), -1)),
                ("standardize", lambda t: multiact.standardize(t),
                 lambda t: F.layer_norm(t, (t.shape[-1],), eps=1e-5))):
            t = timeit({"ours": ours, "native": nat}, (X,))
            rows.append(("torch", dtype, f"{name} {side}x{side}", t["ours"], t["native"],
                         t["ours"] / t["native"], copy * X.numel() / x.numel() / t["ours"], ""))
        small = torch.randn(16, device=device, dtype=dt)
        for name in ("gelu", "silu", "softmax", "relu"):
            nat = _torch_native(name) if name != "softmax" else (lambda t: F.softmax(t, -1))
            t = timeit({"ours": _ours(name), "native": nat}, (small,), budget=0.2)
            rows.append(("torch", dtype, f"{name} (16 elements)", t["ours"], t["native"],
                         t["ours"] / t["native"], float("nan"), ""))
    return rows


def cupy_rows(n, dtypes):
    import cupy as cp
    import cupyx.scipy.special as sp

    timeit = _timer(lambda: cp.cuda.Device().synchronize())
    rows = []
    natives = {"relu": lambda x: cp.maximum(x, 0), "sigmoid": sp.expit,
               "log_sigmoid": sp.log_expit, "softplus": lambda x: cp.logaddexp(x, 0),
               "gelu_exact": lambda x: 0.5 * x * sp.erfc(-x * 0.7071067811865476),
               "gelu": lambda x: 0.5 * x * (1 + cp.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))),
               "tanh": cp.tanh, "silu": lambda x: x * sp.expit(x)}
    for dtype in dtypes:
        if dtype == "bfloat16":
            continue
        x = cp.random.standard_normal(n).astype(dtype)
        copy = timeit({"copy": lambda t: t.copy()}, (x,))["copy"]
        rows.append(("cupy", dtype, "copy (x.copy())", copy, copy, 1.0, 1.0,
                     f"{2 * x.nbytes / copy / 1e9:.0f} GB/s"))
        for name, nat in natives.items():
            t = timeit({"ours": _ours(name), "native": nat}, (x,))
            rows.append(("cupy", dtype, name, t["ours"], t["native"], t["ours"] / t["native"],
                         copy / t["ours"], ""))
        side = 8192 if n >= 8192 * 8192 else int(n ** 0.5)
        X = cp.random.standard_normal((side, side)).astype(dtype)
        for name, ours, nat in (("softmax", multiact.softmax, lambda t: sp.softmax(t, axis=-1)),
                                ("log_softmax", multiact.log_softmax,
                                 lambda t: sp.log_softmax(t, axis=-1)),
                                ("logsumexp", lambda t: multiact.logsumexp(t, axis=-1),
                                 lambda t: sp.logsumexp(t, axis=-1))):
            t = timeit({"ours": ours, "native": nat}, (X,))
            rows.append(("cupy", dtype, f"{name} {side}x{side}", t["ours"], t["native"],
                         t["ours"] / t["native"], float("nan"), ""))
    return rows


def jax_rows(n, dtypes):
    import jax
    import jax.numpy as jnp

    timeit = _timer(lambda: None)
    rows = []
    for dtype in dtypes:
        x = jax.random.normal(jax.random.key(0), (n,), dtype=getattr(jnp, dtype))
        side = 8192 if n >= 8192 * 8192 else int(n ** 0.5)
        X = jax.random.normal(jax.random.key(1), (side, side), dtype=getattr(jnp, dtype))
        cases = (("gelu_exact", x, lambda t: multiact.gelu(t, approximate=False),
                  jax.jit(lambda t: jax.nn.gelu(t, approximate=False))),
                 ("gelu", x, multiact.gelu, jax.jit(jax.nn.gelu)),
                 ("silu", x, multiact.silu, jax.jit(jax.nn.silu)),
                 ("softmax", X, multiact.softmax, jax.jit(jax.nn.softmax)),
                 ("log_softmax", X, multiact.log_softmax, jax.jit(jax.nn.log_softmax)))
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


def run(device="cuda", n=100_000_000, dtypes=("float32", "float16", "bfloat16"), out=None):
    import datetime
    import platform

    rows = []
    versions = []
    dev_name = device
    try:
        import torch

        versions.append(f"torch {torch.__version__}")
        if device == "cuda" and torch.cuda.is_available():
            dev_name = torch.cuda.get_device_name(0)
        if device == "cpu" or torch.cuda.is_available():
            rows += torch_rows(device, n, dtypes)
    except ImportError:
        pass
    if device == "cuda":
        try:
            import cupy

            versions.append(f"cupy {cupy.__version__}")
            if cupy.cuda.runtime.getDeviceCount():
                rows += cupy_rows(n, dtypes)
        except Exception:  # noqa: BLE001 - no CuPy / no device
            pass
        try:
            import jax

            versions.append(f"jax {jax.__version__}")
            if any(d.platform == "gpu" for d in jax.devices()):
                rows += jax_rows(n, ("float32",))
        except Exception:  # noqa: BLE001
            pass
    header = ["# GPU performance" if device == "cuda" else "# Performance (GPU benchmark code, dry run)",
              "", f"Device: {dev_name}. Date: {datetime.date.today()}. Python "
              f"{platform.python_version()}, " + ", ".join(versions) + f". n = {n:,}.",
              "", "Command: `python benchmarks/run.py --gpu`. Medians of 7 interleaved rounds; "
              "the copy bandwidth is measured in the same run."]
    text = markdown(rows, header)
    if out:
        with open(out, "w") as f:
            f.write(text)
    return text
