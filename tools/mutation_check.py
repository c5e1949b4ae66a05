"""The mutation check (issue 17; docs/decisions.md 60): can the suite fail?

Three single-constant mutations, one at a time: one in a generic body
(``src/multiact/_agnostic/``), one in a backend's special case
(``src/multiact/backends/``), one in a kernel printer (``src/multiact/kernels/``).
For each, the part of the suite that covers it runs first on the unmutated
source (it must pass, or the mutation proves nothing) and then with the
mutation applied (it must fail).  The file is restored afterwards whatever
happens (an error, Ctrl-C); the script checks that it is byte for byte what it
was.

    python tools/mutation_check.py               # all three, about a minute on 2 cores
    python tools/mutation_check.py --only kernel-printer --no-baseline

Exit status 0 when every mutation was caught (and every baseline passed).
Runs the tests with this checkout's ``src/`` first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str          # relative to the repository root
    old: str           # the text replaced: it occurs exactly once in the file
    new: str
    why: str           # what the change breaks
    tests: tuple       # pytest arguments: the part of the suite that covers it
    env: dict = field(default_factory=dict)


MUTATIONS = (
    Mutation(
        "generic-body", "src/multiact/_agnostic/elementwise.py",
        "mid = (fm.squash(xp, x, 3.0) + 3.0) / 6.0",
        "mid = (fm.squash(xp, x, 3.0) + 3.0) / 6.000001",
        "hard_sigmoid's generic body divides by 6.000001 (1.7e-7 relative: about 1.4 ulp "
        "in float32, 7.5e8 ulp in float64)",
        ("conformance/test_elementwise.py", "tests/test_functions.py", "--backend", "numpy",
         "-k", "hard_sigmoid")),
    Mutation(
        "backend-special-case", "src/multiact/backends/torch.py",
        "_softplus(x) if x.dtype is not torch.float64 else _softplus(x, 1, 40)",
        "_softplus(x) if x.dtype is not torch.float64 else _softplus(x, 1, 20)",
        "the torch backend's softplus returns x above 20 in float64 (log1p(exp(-x)) is "
        "still 2e-9 there: the special case's reason says float64 needs 40)",
        ("conformance/test_elementwise.py", "--backend", "torch", "-k", "softplus")),
    Mutation(
        "kernel-printer", "src/multiact/kernels/triton.py",
        '"rsum": ("0.0", ',
        '"rsum": ("1.0", ',
        "the Triton printer starts a chunked row sum at 1 (softmax's denominator, "
        "logsumexp's sum, standardize's mean: off by one element's worth)",
        ("tests/test_kernels_triton.py", "--backend", "torch", "-k", "row_kernels"),
        {"MULTIACT_KERNELS": "fused", "TRITON_INTERPRET": "1"}),
)


def _pytest(m):
    env = dict(os.environ, **m.env)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *m.tests]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    out = [ln for ln in p.stdout.splitlines() if ln.strip()]
    tail = (out[-1:] or [p.stderr[-300:]])[0]
    failed = [ln.split(" - ")[0] for ln in out if ln.startswith("FAILED ")]
    return p.returncode, time.perf_counter() - t0, tail + "".join(f"\n    {f}" for f in failed), cmd


def check(m, baseline=True):
    """``(caught, lines)`` for one mutation."""
    lines = [f"{m.name}: {m.path}: {m.old!r} -> {m.new!r}", f"  {m.why}"]
    if baseline:
        rc, dt, tail, cmd = _pytest(m)
        lines.append(f"  baseline: rc {rc} in {dt:.0f} s: {tail}")
        lines.append("  command: " + " ".join(f"{k}={v}" for k, v in m.env.items())
                     + (" " if m.env else "") + "python " + " ".join(cmd[1:]))
        if rc != 0:
            lines.append("  NOT CHECKED: the selection fails without the mutation")
            return False, lines
    path = ROOT / m.path
    original = path.read_bytes()
    text = original.decode()
    if text.count(m.old) != 1:
        lines.append(f"  NOT CHECKED: the text occurs {text.count(m.old)} times (the source "
                     "changed: update this mutation)")
        return False, lines
    try:
        path.write_text(text.replace(m.old, m.new))
        rc, dt, tail, _ = _pytest(m)
    finally:
        path.write_bytes(original)
    assert path.read_bytes() == original, f"{path} was not restored"
    # pytest's exit status 1: tests failed; anything else (an error, nothing
    # collected) is not the suite catching the mutation
    caught = rc == 1
    lines.append(f"  mutated: rc {rc} in {dt:.0f} s: {tail}")
    lines.append(f"  {'CAUGHT' if caught else 'NOT CAUGHT'}")
    return caught, lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", choices=[m.name for m in MUTATIONS])
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the unmutated run of each selection")
    a = p.parse_args(argv)
    ok = True
    for m in MUTATIONS:
        if a.only and m.name not in a.only:
            continue
        caught, lines = check(m, baseline=not a.no_baseline)
        print("\n".join(lines), flush=True)
        ok &= caught
    print("every mutation caught" if ok else "NOT every mutation caught")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
