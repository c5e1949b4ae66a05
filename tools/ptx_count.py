"""Static instruction counts of the element-wise Triton kernels, compiled ahead of
time for a GPU target without a GPU (Triton's bundled ptxas): the PTX instructions
of one program (a block of ``ELEM_BLOCK`` elements), by opcode.  A proxy for a
compute-bound kernel's cost, never a timing: a GPU's time needs a GPU.

    python tools/ptx_count.py --function "gelu(approximate=False)" --dtype bfloat16
"""
from __future__ import annotations

import argparse
import collections


def count(label, dtype, backward, target=("cuda", 90, 32)):
    """``(total, Counter of opcodes)`` of one kernel's PTX."""
    from multiact import backends  # noqa: F401 - the backends register their rows
    from multiact.kernels import aot
    from multiact.kernels import triton as kt

    ptr = "*" + aot._TRITON_TYPES[dtype]
    sig = {"x_ptr": ptr, **({"g_ptr": ptr} if backward else {}), "out_ptr": ptr, "n": "i32"}
    gated = {lab: (info, params) for info, params, lab in aot.gated_cases(None)}
    if label in gated:  # (a gated row's kernel: the halves of (outer, 2, m))
        info, params = gated[label]
        src = kt.gated_kernel_source(info, dtype, params, backward)
        sig["m"] = "i32"
    else:
        cases = {lab: (info, params) for info, params, lab in aot.elementwise_cases(None)}
        info, params = cases[label]
        src = kt.elementwise_kernel_source(info, dtype, params, backward)
    sig["BLOCK"] = "constexpr"
    k = aot.triton_compiled((src, sig, {"BLOCK": kt.ELEM_BLOCK}, target))
    ops = collections.Counter()
    for line in k.asm["ptx"].splitlines():
        s = line.strip()
        if not s or s.endswith(":") or s.startswith(("//", ".", "{", "}", "$")):
            continue
        if s.startswith("@"):  # a predicated instruction: its opcode follows
            s = s.split(None, 1)[1] if " " in s else s
        ops[s.split()[0].split(".")[0]] += 1
    return sum(ops.values()), ops


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--function", action="append", required=True,
                    help="a check case's label: relu, \"gelu(approximate=False)\", geglu")
    ap.add_argument("--dtype", action="append", default=None)
    ap.add_argument("--arch", type=int, default=90, help="NVIDIA compute capability")
    args = ap.parse_args(argv)
    for label in args.function:
        for dt in args.dtype or ["float32"]:
            for backward in (False, True):
                n, ops = count(label, dt, backward, ("cuda", args.arch, 32))
                top = ", ".join(f"{k} {v}" for k, v in ops.most_common(6))
                print(f"{label} {dt} {'backward' if backward else 'forward'}: {n} ({top})")


if __name__ == "__main__":
    main()
