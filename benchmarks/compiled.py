"""Under ``torch.compile``: each function, forward plus backward, against its PyTorch
counterpart compiled the same way.

Every check case of the table's element-wise rows, row-kernel reductions and gated
rows that PyTorch has a counterpart of (``benchmarks/_cases.py``), on a 1000 x 1000
float32 CPU tensor that records a gradient (the rows over the last axis).  Each
side is compiled by Inductor (``torch.compile``, default options) and warmed up;
then both run interleaved and the median of each is taken.  What a training loop
under ``torch.compile`` pays for the activation alone: multiact's generic body as
Inductor fuses it, or, for exact GELU, softmax and log_softmax, its custom
operators (decision 111).

    python benchmarks/compiled.py                      # every case
    python benchmarks/compiled.py --function softmax --function gelu
    python benchmarks/compiled.py --no-grad            # forward alone, no gradient
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

import _cases


def measure(info, params, native, grad, repeats):
    """``(native seconds, multiact seconds)``: medians of ``repeats`` interleaved calls."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    n = 2000 if info.halves else 1000  # (a gated row halves its last axis)
    x = torch.randn(1000, n, requires_grad=grad)
    sides = {"native": torch.compile(native), "multiact": torch.compile(_cases.ours(info, params))}

    def call(f):
        y = f(x)
        if grad:
            y.backward(torch.ones_like(y))

    for f in sides.values():
        for _ in range(3):
            call(f)
    times = {k: [] for k in sides}
    for _ in range(repeats):
        for k, f in sides.items():
            t = time.perf_counter()
            call(f)
            times[k].append(time.perf_counter() - t)
    return statistics.median(times["native"]), statistics.median(times["multiact"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--function", action="append", help="a case's label or function name")
    p.add_argument("--no-grad", action="store_true", help="forward alone, no gradient")
    p.add_argument("--repeats", type=int, default=11)
    a = p.parse_args(argv)
    grad = not a.no_grad
    found = _cases.select(_cases.one_pass("torch"), a.function)
    print(f"Command: `{_cases.command('compiled.py', sys.argv[1:] if argv is None else argv)}`"
          f"; torch {torch.__version__}, {torch.get_num_threads()} threads; 1000 x 1000 "
          f"float32 (gated rows 1000 x 2000), {'forward plus backward' if grad else 'forward'}"
          f", medians of {a.repeats} interleaved calls.\n")
    print("| function | `torch.compile` of PyTorch's | of multiact's | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for label, info, params in found:
        native = _cases.native(["torch"], info, params)["torch"]
        t_native, t_ours = measure(info, params, native, grad, a.repeats)
        print(f"| {label} | {t_native * 1e3:.2f} ms | {t_ours * 1e3:.2f} ms | "
              f"{t_ours / t_native:.2f} |", flush=True)


if __name__ == "__main__":
    main()
