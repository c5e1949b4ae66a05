"""What Inductor's CPU loops cost against ATen's own kernel, on one formula.

The CPU tier's kernels are Inductor loops (``multiact.kernels.inductor``).  This
compiles, the way the tier does, torch's own exact GELU formula, ``x (1 +
erf(x / sqrt 2)) / 2`` (ATen's ``F.gelu`` evaluates exactly this, with the same
vectorised ``erf``), and a one-pass loop ``2 x``, beside the tier's exact GELU
kernel; all are timed interleaved against ``F.gelu`` on the same tensor (median
of ``--repeat`` calls each).  The formula's own ratio is a floor for any kernel
of the tier that does at least erf's work: no kernel that Inductor compiles can
beat it on this machine.

    python benchmarks/inductor_floor.py [--size 1e6 --size 1e7] [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", action="append", type=float)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    import torch
    import torch.nn.functional as F

    from multiact._agnostic._formulas import INV_SQRT2
    from multiact.backends._torch_native import _gelu_erf_wide
    from multiact.kernels.inductor import _compile

    def erf_formula(x):
        return x * 0.5 * (1.0 + torch.erf(x * INV_SQRT2))

    def one_pass(x):
        return x * 2.0

    sample = (torch.randn(5000),)
    forms = {
        "F.gelu (ATen)": F.gelu,
        "tier's exact GELU kernel": _compile("gelu", _gelu_erf_wide, 1, sample),
        "F.gelu's formula, Inductor": _compile("erf", erf_formula, 1, sample),
        "2 x, Inductor": _compile("2x", one_pass, 1, sample),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{torch.backends.cpu.get_cpu_capability()}; median of {args.repeat}, "
          "interleaved; ratio against F.gelu")
    print("| size | " + " | ".join(forms) + " |")
    print("|---|" + "---|" * len(forms))
    for n in args.size or [1e6, 1e7]:
        x = torch.randn(int(n))
        times = {k: [] for k in forms}
        for f in forms.values():
            f(x)
            f(x)
        for _ in range(args.repeat):
            for k, f in forms.items():
                t0 = time.perf_counter()
                f(x)
                times[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        base = med["F.gelu (ATen)"]
        print(f"| {n:g} | " + " | ".join(
            f"{m * 1e3:.2f} ms ({m / base:.2f})" for m in med.values()) + " |")


if __name__ == "__main__":
    main()
