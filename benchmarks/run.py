"""Benchmarks: multiact against each backend's native choice, measured in ONE run
with the calls interleaved, reported as median times and ratios.

    python benchmarks/run.py                       # numpy, torch, jax; 16, 1e5, 1e7
    python benchmarks/run.py --backend torch --size 1e7 --markdown docs/perf.md

What runs: every check case of the function table (``multiact._table``) that the
backend's library has a counterpart of (``conformance/counterparts.py``;
``benchmarks/_cases.py``), or the cases ``--function`` names.

Reference per backend (the ratio is multiact / reference):
  torch  torch.nn.functional.* (or torch.*)
  jax    jax.jit(jax.nn.*)          (jax.nn.* eager is also shown)
  numpy  the faster of a plain NumPy composite and scipy.special
Functions that are not element-wise (the softmax family, glu) run on (rows, 1000)
arrays of the same element count.
Also measured: dispatch overhead (relu on 16 elements), ``import multiact``,
torch autograd saved-tensor bytes, NumPy peak extra memory and the memory-
bandwidth floor (``np.add(x, 1, out=y)``).
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import multiact

from _cases import cases, command, native, ours, select  # noqa: E402 - benchmarks/ is sys.path[0]


# -- references ----------------------------------------------------------------
# conformance/counterparts.py's spellings: "numpy" (a plain NumPy composite, as a
# user would write it) and "scipy" (scipy.special); "torch" (torch /
# torch.nn.functional); "jax" (jax.nn, jitted: the JAX performance target)

def references(backend, info, params):
    """``{label: callable}``: the references of the case on ``backend``."""
    if backend == "numpy":
        r = native(("numpy", "scipy"), info, params)
        return {{"numpy": "numpy composite", "scipy": "scipy.special"}[k]: f
                for k, f in r.items()}
    if backend == "torch":
        r = native(("torch",), info, params)
        return {"torch.nn.functional": r["torch"]} if r else {}
    import jax

    r = native(("jax",), info, params)
    if not r:
        return {}
    # the JAX performance target: multiact eager against jax.jit(jax.nn.*);
    # jax.jit of multiact's own function and jax.nn eager for comparison
    return {"jax.jit(jax.nn)": jax.jit(r["jax"]), "jax.jit(multiact)": jax.jit(ours(info, params)),
            "jax.nn eager": r["jax"]}


# -- timing ----------------------------------------------------------------------

def make_input(backend, n, dtype, rows=False):
    """``n`` elements: 1-d, or ``(n // 1000, 1000)`` for a row-wise function."""
    rng = np.random.default_rng(0)
    shape = (max(1, n // 1000), min(n, 1000)) if rows else (n,)
    a = (rng.standard_normal(shape) * 3).astype("float32")
    if backend == "numpy":
        return a.astype(dtype)
    if backend == "torch":
        import torch

        return torch.from_numpy(a).to(getattr(torch, dtype))
    import jax.numpy as jnp

    return jnp.asarray(a, dtype=getattr(jnp, dtype))


def syncer(backend):
    if backend == "jax":
        return lambda y: y.block_until_ready()
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return lambda y: torch.cuda.synchronize()
    return lambda y: None


def warm_tier(f, x, sync, cap=180.0):
    """Call ``f`` until multiact's compile tier has compiled what these calls made
    hot (its kernels are built in the background once they have paid for
    themselves; WARM_COST below shortens the wait, not the kernels) and is idle."""
    from multiact import kernels

    t0 = time.perf_counter()
    while True:
        before = {k["kernel"]: k["state"] for k in kernels.status()}
        sync(f(x))
        after = {k["kernel"]: (k["state"], before.get(k["kernel"])) for k in kernels.status()}
        # the kernels this call used or billed: none still on its way
        pending = [k for k, (st, _) in after.items() if st in ("cold", "queued", "compiling")
                   and (k not in before or _billed(k))]
        elapsed = time.perf_counter() - t0
        if (elapsed > 2 * WARM_COST and not pending and kernels.wait(0)) or elapsed > cap:
            return


def _billed(label):
    """Whether the tier's kernel ``label`` is being billed (framework time spent)."""
    from multiact.kernels._tier import TIER

    return any(s.label == label and s.spent > 0 for s in TIER.slots.values())


#: the compile cost the tier assumes while the benchmark warms up (seconds)
WARM_COST = 0.5


def framework_mode(f):
    """``f`` with ``MULTIACT_KERNELS=framework`` (no kernel of the tier)."""
    from multiact import kernels

    def run(x):
        prev = kernels.set_mode("framework")
        try:
            return f(x)
        finally:
            kernels.set_mode(prev)
    return run


def time_interleaved(cands, x, sync, budget=0.6, repeats=7):
    """Median seconds per call of each candidate, calls interleaved round-robin."""
    for f in cands.values():  # warm up (compile, caches)
        sync(f(x))
        sync(f(x))
    t0 = time.perf_counter()
    f0 = next(iter(cands.values()))
    sync(f0(x))
    one = max(time.perf_counter() - t0, 1e-7)
    loops = max(1, min(20000, int(budget / repeats / len(cands) / one)))
    samples = {k: [] for k in cands}
    for _ in range(repeats):
        for k, f in cands.items():
            t = time.perf_counter()
            for _ in range(loops):
                y = f(x)
            sync(y)
            samples[k].append((time.perf_counter() - t) / loops)
    return {k: statistics.median(v) for k, v in samples.items()}


def fmt_t(s):
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    return f"{s * 1e3:.2f} ms"


def bench_backend(backend, sizes, dtypes, found):
    sync = syncer(backend)
    rows = []
    for dtype in dtypes:
        for n in sizes:
            for name, info, params in found:
                r = references(backend, info, params)
                if not r:
                    continue
                x = make_input(backend, n, dtype, not info.elementwise)
                cands = {"multiact": ours(info, params), **r}
                if backend == "torch":
                    # the default mode once its compile tier is warm, and the framework
                    # paths alone (the first calls, small tensors, MULTIACT_KERNELS=framework)
                    warm_tier(cands["multiact"], x, sync)
                    cands["multiact (framework paths)"] = framework_mode(ours(info, params))
                try:
                    times = time_interleaved(cands, x, sync)
                except Exception as e:  # noqa: BLE001 - e.g. a dtype a reference lacks
                    print(f"  {backend} {name} {dtype} {n}: skipped ({type(e).__name__}: {e})",
                          file=sys.stderr)
                    continue
                ref_keys = [k for k in r if k != "jax.nn eager"]
                r = {**r, **{k: v for k, v in cands.items() if k.startswith("multiact (")}}
                best = "jax.jit(jax.nn)" if backend == "jax" else min(ref_keys, key=lambda k: times[k])
                rows.append({"backend": backend, "dtype": dtype, "n": n, "function": name,
                             "multiact": times["multiact"], "reference": best,
                             "ref_time": times[best], "ratio": times["multiact"] / times[best],
                             "others": {k: times[k] for k in r if k != best}})
                fw = times.get("multiact (framework paths)")
                print(f"  {backend:5s} {dtype:8s} {n:>9,d} {name:12s} multiact {fmt_t(times['multiact']):>10s}"
                      f"  {best} {fmt_t(times[best]):>10s}  ratio {rows[-1]['ratio']:.2f}"
                      + (f"  framework paths {fw / times[best]:.2f}" if fw else ""),
                      file=sys.stderr)
                if backend == "torch" and n >= 100_000:
                    # every case with a PyTorch counterpart is differentiable there
                    rows.append(_torch_fwd_bwd(name, info, params, x, r, sync, dtype, n))
                gc.collect()
    return rows


def _torch_fwd_bwd(name, info, params, x, r, sync, dtype, n):
    """Forward plus backward (autograd) of multiact and of F.*, interleaved."""
    import torch

    xr = x.detach().clone().requires_grad_(True)
    f, ref = ours(info, params), r["torch.nn.functional"]
    g = torch.ones_like(f(xr.detach()))

    def run(fn):
        return lambda _: torch.autograd.grad(fn(xr), xr, g)

    warm_tier(run(f), None, sync)
    times = time_interleaved({"multiact": run(f), "F": run(ref),
                              "multiact (framework paths)": run(framework_mode(f))}, None, sync)
    row = {"backend": "torch", "dtype": dtype, "n": n, "function": f"{name} fwd+bwd",
           "multiact": times["multiact"], "reference": "torch.nn.functional (autograd)",
           "ref_time": times["F"], "ratio": times["multiact"] / times["F"],
           "others": {"multiact (framework paths)": times["multiact (framework paths)"]}}
    print(f"  torch {dtype:8s} {n:>9,d} {name + ' fwd+bwd':12s} ratio {row['ratio']:.2f}  "
          f"framework paths {times['multiact (framework paths)'] / times['F']:.2f}",
          file=sys.stderr)
    return row


# -- extra measurements --------------------------------------------------------

def dispatch_overhead(backends):
    out = {}
    for b in backends:
        x = make_input(b, 16, "float32")
        if b == "numpy":
            native = lambda t: np.maximum(t, 0)  # noqa: E731
        elif b == "torch":
            import torch

            native = torch.relu
        else:
            import jax

            native = jax.jit(jax.nn.relu)
        t = time_interleaved({"multiact": multiact.relu, "native": native}, x, syncer(b),
                             budget=1.0, repeats=9)
        out[b] = (t["multiact"], t["native"])
    return out


def import_time():
    code = "import time; t = time.perf_counter(); import multiact; print(time.perf_counter() - t)"
    vals = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(5)]
    return statistics.median(vals)


def torch_saved_bytes(found):
    import torch

    out = {}
    for name, info, params in found:
        r = references("torch", info, params)
        if not r:
            continue
        res = {}
        for label, f in (("multiact", ours(info, params)), ("torch", r["torch.nn.functional"])):
            x = make_input("torch", 4000, "float32", not info.elementwise).requires_grad_(True)
            total = [0]

            def pack(t, total=total):
                total[0] += t.numel() * t.element_size()
                return t

            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                f(x)
            res[label] = total[0]
        out[name] = res
    return out


def numpy_memory(found, n=10_000_000):
    import tracemalloc

    out = {}
    x = make_input("numpy", n, "float32")
    for name, info, params in found:
        if not info.elementwise:
            continue
        f = ours(info, params)
        f(x[:10])
        tracemalloc.start()
        y = f(x)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[name] = (peak - y.nbytes) / y.nbytes
        del y
    return out


def bandwidth_floor(found, n=10_000_000):
    x = make_input("numpy", n, "float32")
    y = np.empty_like(x)
    cands = {"floor": lambda t: np.add(t, 1, out=y)}
    for name, info, params in found:
        if info.elementwise:
            cands[name] = ours(info, params)
    t = time_interleaved(cands, x, lambda _: None, budget=3.0, repeats=5)
    return {k: v / t["floor"] for k, v in t.items() if k != "floor"}, t["floor"]


# -- report --------------------------------------------------------------------

def markdown(rows, extras, args):
    lines = ["## Times and ratios", "",
             f"Machine: {platform.processor() or platform.machine()}, {_ncpu()} cores, "
             f"Python {platform.python_version()}, numpy {np.__version__}"
             + _versions(), "",
             f"Command: `{command('run.py', args)}`", "",
             "multiact: the default mode, after its compile tier is warm (PyTorch); "
             "framework paths: `MULTIACT_KERNELS=framework` (what the first calls and "
             "tensors below the tier run).", "",
             "| backend | dtype | n | function | multiact | reference | ref time | ratio | "
             "framework paths (ratio) | others (multiact / other) |",
             "| --- | --- | ---: | --- | ---: | --- | ---: | ---: | ---: | --- |"]
    fw_key = "multiact (framework paths)"
    for r in rows:
        fw = r["others"].get(fw_key)
        fw_txt = f"{fmt_t(fw)} ({fw / r['ref_time']:.2f})" if fw is not None else "-"
        others = ", ".join(f"{k} {fmt_t(v)} ({r['multiact'] / v:.2f})"
                           for k, v in r["others"].items() if k != fw_key)
        lines.append(f"| {r['backend']} | {r['dtype']} | {r['n']:,} | {r['function']} | "
                     f"{fmt_t(r['multiact'])} | {r['reference']} | {fmt_t(r['ref_time'])} | "
                     f"{r['ratio']:.2f} | {fw_txt} | {others} |")
    lines.append("")
    for title, body in extras:
        lines += [f"## {title}", "", *body, ""]
    return "\n".join(lines)


def _ncpu():
    import os

    return os.cpu_count()


def _versions():
    out = []
    for m in ("torch", "jax", "scipy"):
        try:
            out.append(f"{m} {__import__(m).__version__}")
        except ImportError:
            pass
    return (", " + ", ".join(out)) if out else ""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", action="append", choices=["numpy", "torch", "jax"])
    p.add_argument("--size", action="append", type=lambda s: int(float(s)))
    p.add_argument("--dtype", action="append")
    p.add_argument("--function", action="append",
                   help="a function or a case's label (default: every check case of the table "
                        "with a counterpart)")
    p.add_argument("--markdown", help="write the tables as markdown here")
    p.add_argument("--no-extras", action="store_true", help="skip memory/dispatch/import")
    p.add_argument("--gpu", action="store_true", help="the GPU table (benchmarks/gpu.py)")
    p.add_argument("--device", default="cuda", help="with --gpu: cuda, or cpu for a dry run")
    p.add_argument("--n", type=lambda s: int(float(s)), default=100_000_000,
                   help="with --gpu: elements of the element-wise inputs")
    p.add_argument("--budget-scale", type=float, default=1.0,
                   help="with --gpu: each case's timing budget times this (shorter runs)")
    argv = sys.argv[1:] if argv is None else argv
    a = p.parse_args(argv)
    if a.gpu:
        import os

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import gpu

        print(gpu.run(a.device, a.n, tuple(a.dtype or ("float32", "float16", "bfloat16")),
                      a.markdown, a.budget_scale,
                      command("run.py", argv)))
        return
    backends = a.backend or ["numpy", "torch", "jax"]
    sizes = a.size or [16, 100_000, 1_000_000, 10_000_000]
    found = select(cases(), a.function)
    rows = []
    if "torch" in backends:
        from multiact.kernels._tier import TIER

        TIER.cost_override = WARM_COST
    for b in backends:
        dtypes = a.dtype or (["float32", "float16", "bfloat16"] if b == "torch" else ["float32"])
        rows += bench_backend(b, sizes, dtypes, found)
    extras = []
    if not a.no_extras:
        d = dispatch_overhead(backends)
        extras.append(("Dispatch overhead (relu, 16 float32 elements)", [
            "| backend | multiact | native | overhead |", "| --- | ---: | ---: | ---: |",
            *[f"| {b} | {fmt_t(m)} | {fmt_t(n)} | {fmt_t(m - n)} |" for b, (m, n) in d.items()]]))
        extras.append(("import multiact", [f"median of 5 fresh interpreters: {import_time() * 1e3:.1f} ms"]))
        if "torch" in backends:
            sb = torch_saved_bytes(found)
            extras.append(("PyTorch autograd: bytes saved for backward (4000 float32 elements)", [
                "| function | multiact | torch.nn.functional |", "| --- | ---: | ---: |",
                *[f"| {k} | {v['multiact']:,} | {v['torch']:,} |" for k, v in sb.items()]]))
        if "numpy" in backends:
            mem = numpy_memory(found)
            bw, floor = bandwidth_floor(found)
            extras.append(("NumPy, 1e7 float32: peak extra memory and bandwidth floor", [
                f"floor `np.add(x, 1, out=y)`: {fmt_t(floor)}", "",
                "| function | peak extra memory / output size | time / floor |",
                "| --- | ---: | ---: |",
                *[f"| {k} | {mem[k]:.2f} | {bw[k]:.2f} |" for k in mem]]))
    text = markdown(rows, extras, argv)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
