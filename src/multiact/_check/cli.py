"""``multiact check``: run every function on every installed backend and device
against the mpmath reference and print the function x backend x device matrix.

Each cell shows the worst error in ulps over the dtypes that backend has
(float64, float32, float16, bfloat16) and ``FAIL`` where a bound of the accuracy
table (or the type/dtype/device contract) is broken.  Exit status 1 if any cell
fails, 2 if a backend or device that was asked for is missing.
"""

from __future__ import annotations

import argparse
import json
import sys


def _parser():
    p = argparse.ArgumentParser(prog="multiact", description="multiact tools")
    sub = p.add_subparsers(dest="command")
    c = sub.add_parser("check", help="function x backend x device conformance matrix")
    c.add_argument("--backend", action="append", help="limit to this backend (repeatable)")
    c.add_argument("--device", help="limit to this device (cpu, cuda)")
    c.add_argument("--function", action="append", help="limit to this function (repeatable)")
    c.add_argument("--dtype", action="append", help="limit to this dtype (repeatable)")
    c.add_argument("--json", nargs="?", const="-", metavar="PATH",
                   help="write the results as JSON to PATH (or stdout)")
    c.add_argument("-v", "--verbose", action="store_true", help="one line per cell and dtype")
    return p


def _fmt(x):
    if x == float("inf"):
        return "inf"
    return f"{x:.1f}" if x < 1000 else f"{x:.0e}"


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command != "check":
        _parser().print_help()
        return 2
    from .run import as_dicts, run
    from .targets import BACKENDS, devices

    for b in args.backend or ():
        if b not in BACKENDS:
            print(f"multiact check: unknown backend {b!r} (known: {', '.join(BACKENDS)})",
                  file=sys.stderr)
            return 2
        devs = devices(b)
        if not devs or (args.device and args.device.replace("gpu", "cuda") not in
                        [d.replace("gpu", "cuda") for d in devs]):
            print(f"multiact check: backend {b!r} on device {args.device or 'any'!r} was asked "
                  f"for but is not available here (devices: {devs or 'not installed'})",
                  file=sys.stderr)
            return 2
    log = (lambda m: print(m, file=sys.stderr)) if args.verbose else None
    targets, results = run(args.backend, args.device, args.function, args.dtype, progress=log)
    if not targets:
        print("multiact check: no backend found", file=sys.stderr)
        return 2
    if args.json:
        payload = {"targets": [t.label for t in targets], "results": as_dicts(results)}
        text = json.dumps(payload, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text)
    if args.json != "-":
        _print_matrix(targets, results, args.verbose)
    failed = [r for r in results if not r.passed]
    if args.json != "-":
        print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed "
              f"({len(targets)} backend/device pairs)")
    return 1 if failed else 0


def _print_matrix(targets, results, verbose):
    cols = [t.label for t in targets]
    funcs = list(dict.fromkeys(r.function for r in results))
    cell = {}
    for r in results:
        key = (r.function, f"{r.backend}:{r.device}")
        worst, bad = cell.get(key, (0.0, []))
        cell[key] = (max(worst, r.worst_ulp), bad + ([r.dtype] if not r.passed else []))
    w0 = max(len(f) for f in funcs) + 2
    widths = [max(len(c), 12) + 2 for c in cols]
    print("worst error in ulps over the dtypes checked (bounds: multiact/_check/accuracy.py)")
    print("".ljust(w0) + "".join(c.ljust(w) for c, w in zip(cols, widths)))
    for f in funcs:
        row = f.ljust(w0)
        for c, w in zip(cols, widths):
            if (f, c) not in cell:
                row += "-".ljust(w)
                continue
            worst, bad = cell[(f, c)]
            txt = _fmt(worst) if not bad else "FAIL " + ",".join(d.replace("float", "f") for d in bad)
            row += txt.ljust(w)
        print(row)
    bad = [r for r in results if not r.passed]
    if bad or verbose:
        print()
        for r in (results if verbose else bad):
            print(f"{'ok  ' if r.passed else 'FAIL'} {r.function:34s} {r.backend}:{r.device} "
                  f"{r.dtype:9s} worst {_fmt(r.worst_ulp)} ulp (bound {r.bound}) {r.note}")


if __name__ == "__main__":
    sys.exit(main())
