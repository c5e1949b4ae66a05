"""First calls: what a new user meets before any steady state.

A fresh process, with empty Inductor and Triton caches (a temporary directory
for each), calls every function (each check case of the table's element-wise
rows and row-kernel reductions that PyTorch has a counterpart of:
``benchmarks/_cases.py``) once per new shape, dtype and layout (and once
recording a gradient, forward plus backward), and calls the native PyTorch op
on the same tensor right after; both are timed.  A first call passes when it
takes at most ``4 x native + 30 ms``.

    python benchmarks/first_call.py                   # the table, on stdout
    python benchmarks/first_call.py --markdown docs/first-call.md
    python benchmarks/first_call.py --device cuda     # CUDA tensors

On CUDA the process's CUDA context is made before the first case (neither side
pays for it), and each call is timed to the end of its GPU work (synchronized).

The measuring runs in a child process (``--child``) so that the caches and the
compile tier start empty; the parent only prints, after compiling multiact's
modules to bytecode, as installing a wheel does (``_bytecode``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

#: (label, maker) of the inputs, each new to the process when its turn comes
#: (made on the device: a strided view moved there would arrive contiguous)
CASES = [
    ("1000x1000 float32", lambda t, d: t.randn(1000, 1000, device=d)),
    ("999x1001 float32", lambda t, d: t.randn(999, 1001, device=d)),
    ("300000 float32", lambda t, d: t.randn(300000, device=d)),
    ("strided (2000x1000)[::2] float32", lambda t, d: t.randn(2000, 1000, device=d)[::2]),
    ("1000x1000 float64", lambda t, d: t.randn(1000, 1000, dtype=t.float64, device=d)),
    ("1000x1000 bfloat16", lambda t, d: t.randn(1000, 1000, device=d).to(t.bfloat16)),
    ("1000x1000 float16", lambda t, d: t.randn(1000, 1000, device=d).to(t.float16)),
]
LIMIT = (4.0, 0.030)  # a first call passes at <= 4 x native + 30 ms
#: seconds spent in full (generation 2) garbage collections so far
_FULL_GC = {"seconds": 0.0, "start": 0.0}


def _on_gc(phase, info):
    if info["generation"] == 2:
        if phase == "start":
            _FULL_GC["start"] = time.perf_counter()
        else:
            _FULL_GC["seconds"] += time.perf_counter() - _FULL_GC["start"]


def _timed(f, x, grad):
    """``(seconds, seconds of them in full garbage collections)`` of one call."""
    import torch

    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    gc0 = _FULL_GC["seconds"]
    if grad:
        xr = x.detach().requires_grad_(True)
        sync()
        t0 = time.perf_counter()
        f(xr).sum().backward()
        sync()
        return time.perf_counter() - t0, _FULL_GC["seconds"] - gc0
    with torch.no_grad():
        sync()
        t0 = time.perf_counter()
        f(x)
        sync()
        return time.perf_counter() - t0, _FULL_GC["seconds"] - gc0


def child(device="cpu", budget=None):
    import torch

    from _cases import native, one_pass, ours  # benchmarks/ is sys.path[0]

    torch.manual_seed(0)
    if device != "cpu":
        torch.zeros(1, device=device).add_(1).cpu()  # (the CUDA context, before any case)
    found = [(name, ours(info, params), native(("torch",), info, params)["torch"],
              info.halves) for name, info, params in one_pass("torch")]
    # The imports' debt, paid before the first case: importing torch leaves some
    # 55,000 young objects behind, whose full collection (80-100 ms here) would
    # otherwise land on whichever timed call next allocates enough Python objects
    # (a user's program pays it in its own code).  Collections during the cases
    # are counted (gc stays on), and the table names the calls they land on.
    gc.collect()
    gc.callbacks.append(_on_gc)
    rows = []
    start, cut = time.perf_counter(), False
    for label, make in CASES:
        for grad in (False, True):
            for name, ours_f, native_f, halves in found:
                if budget is not None and time.perf_counter() - start > budget:
                    cut = True  # (--budget: the table says it was cut short)
                    break
                x = make(torch, device)
                if halves and x.shape[-1] % 2:
                    continue  # a gated function needs an even last axis
                t_ours, gc_ours = _timed(ours_f, x, grad)
                t_native, gc_native = _timed(native_f, x, grad)
                rows.append({"function": name, "case": label,
                             "mode": "forward + backward" if grad else "forward",
                             "multiact": t_ours, "native": t_native,
                             "gc": gc_ours, "gc_native": gc_native,
                             "ok": t_ours <= LIMIT[0] * t_native + LIMIT[1]})
    from multiact import kernels

    where = (f"{torch.get_num_threads()} threads" if device == "cpu" else
             torch.cuda.get_device_name(0) if device.startswith("cuda") else device)
    print(json.dumps({"rows": rows, "kernels": kernels.status(), "cut": budget if cut else None,
                      "torch": torch.__version__, "where": where}))


def _bytecode():
    """Compile multiact's modules to bytecode, as pip does when it installs a wheel
    (decision 106): where ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it)
    and multiact is an editable checkout, a process would otherwise compile every
    module's source when it imports it, and the first call, which imports the
    framework's backend, paid some 15 ms of that.  The files go where Python looks
    for them (``__pycache__``, or ``PYTHONPYCACHEPREFIX``).  Returns the modules'
    folder, or None where the bytecode cannot be written (a read-only install that
    has none): the run goes on and says so, its first call then includes compiling."""
    import compileall
    import importlib.util

    where = importlib.util.find_spec("multiact").submodule_search_locations[0]
    if not compileall.compile_dir(where, quiet=1):  # (a module's own error is printed)
        print(f"first_call: could not compile multiact's modules to bytecode in {where} "
              f"(read-only?): the process's first call includes compiling them",
              file=sys.stderr)
        return None
    return where


def run(device="cpu", budget=None):
    compiled = _bytecode() is not None
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=os.path.join(d, "inductor"),
                   TRITON_CACHE_DIR=os.path.join(d, "triton"))
        env.pop("MULTIACT_KERNELS", None)
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--child", "--device", device]
        if budget is not None:
            cmd += ["--budget", str(budget)]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"first_call: the child failed:\n{p.stderr[-4000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    out["stderr"] = p.stderr
    out["bytecode"] = compiled
    return out


def _ms(s):
    return f"{s * 1e3:.1f} ms"


def markdown(out, argv):
    rows = out["rows"]
    bad = [r for r in rows if not r["ok"]]
    worst = max(rows, default={"function": "-", "case": "(no call measured)", "mode": "",
                               "multiact": 0.0, "native": 0.0},
                key=lambda r: r["multiact"] / (LIMIT[0] * r["native"] + LIMIT[1]))
    from _cases import command  # benchmarks/ is sys.path[0]

    lines = [
        "## First calls (a fresh process, empty caches)", "",
        f"Command: `{command('first_call.py', argv)}`; torch {out['torch']}, "
        f"{out['where']}; the whole child process took {out['wall']:.1f} s; "
        + ("multiact's bytecode compiled before it, as an installed wheel has it."
           if out.get("bytecode", True) else "multiact's bytecode could not be written "
           "(read-only?): the first call includes compiling its modules."), "",
        *([f"Cut short at `--budget {out['cut']}` s: these are the first {len(rows)} calls "
           "(each input in turn, forward then forward plus backward, each function).", ""]
          if out.get("cut") is not None else []),
        f"**{len(rows) - len(bad)} of {len(rows)} first calls within 4 x native + 30 ms**; "
        f"the largest against its limit: {worst['function']} {worst['case']} "
        f"{worst['mode']}, {_ms(worst['multiact'])} against native {_ms(worst['native'])}.",
        "", _full_collections(rows),
        "", "Anything printed to stderr by the child: "
        + ("nothing" if not out["stderr"].strip() else f"`{out['stderr'].strip()[:300]}`"), "",
        "| function | input | mode | multiact | native | ratio | within |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['function']} | {r['case']} | {r['mode']} | {_ms(r['multiact'])} | "
                     f"{_ms(r['native'])} | {r['multiact'] / r['native']:.2f} | "
                     f"{'yes' if r['ok'] else '**no**'} |")
    lines += ["", "Kernels the compile tier had compiled in the background by the end "
              "(each once its calls had spent what a compile costs):", ""]
    ready = [k for k in out["kernels"] if k["state"] == "ready"]
    lines.append(", ".join(f"{k['kernel']} ({k['compile_seconds']:.1f} s)" for k in ready)
                 or "none")
    return "\n".join(lines) + "\n"


def _full_collections(rows):
    """The sentence on the full garbage collections that landed in timed calls."""
    hit = [(r, side) for r in rows for side in ("multiact", "native")
           if r.get("gc" if side == "multiact" else "gc_native", 0.0) > 0.0]
    if not hit:
        return ("Full garbage collections in a timed call: none (the child collects "
                "once after its imports, before the first case).")
    return ("Full garbage collections in a timed call (the child collects once after "
            "its imports, before the first case): " + "; ".join(
                f"{_ms(r['gc' if side == 'multiact' else 'gc_native'])} in {side}'s "
                f"{r['function']} {r['case']} {r['mode']}" for r, side in hit) + ".")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--markdown", help="write the table here")
    p.add_argument("--device", default="cpu", help="cpu, or cuda")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds: start no new call after them (a table cut short says so)")
    a = p.parse_args(argv)
    if a.child:
        child(a.device, a.budget)
        return
    out = run(a.device, a.budget)
    text = markdown(out, argv)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
