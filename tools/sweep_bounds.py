"""Measure every element-wise row against its ulp bounds on a dense sweep.

``multiact check`` samples a few hundred points; a row's worst case can lie
between them (tanh-GELU's left tail: one ulp of ``2u`` moves the result by
``|2u|`` ulp).  This tool sweeps, for each element-wise row of
``multiact._table.TABLE`` and each of its check cases, in float64 and float32:

* both tails, log-spaced and jittered: dense over ``2^-4 <= |x| <= 2^10``,
  sparse over the whole finite range;
* uniform over [-1, 1];
* around every kink and switch point: the numeric constants of
  ``_agnostic._formulas`` and ``_agnostic.elementwise``, 0, +-1, +-3, +-6 and
  the case's numeric parameters (uniform within 1/64 of the point, and the 8
  neighbouring floats on each side);

and scores each backend's result (``score.ulp_error``) against the row's mpmath
reference (``reference.elementwise``).  float64 is scored against mpmath at
every point (cached on disk: the first run takes a few minutes, later ones
seconds).  float32 is screened on a denser sweep against the NumPy backend's own
float64 result (its error is below 1e-5 float32 ulp), and the worst ``--verify``
points of each cell are then scored against mpmath: the float32 figures printed
are mpmath's.

    PYTHONPATH=src python tools/sweep_bounds.py                # numpy and jax
    PYTHONPATH=src python tools/sweep_bounds.py --backend array_api_strict \\
        --function sigmoid --function gelu
    PYTHONPATH=src python tools/sweep_bounds.py --points      # worst x of each failing cell
    PYTHONPATH=src python tools/sweep_bounds.py --function silu --every32 -128 -0.0625

``--every32 LO HI`` scores every float32 between LO and HI (of one sign) instead of
the sweep, screened as above (the worst 64 of each cell against mpmath): a few
minutes for 2^27 values.

Columns: the case, the backend, the dtype, the worst error in ulps, where
(x, as a float and in hex), the row's bound and ``FAIL`` where it is exceeded.
Exit status 1 if any cell fails.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import time

import numpy as np

import multiact
from multiact._agnostic import _formulas as fm
from multiact._agnostic import elementwise as E
from multiact._check import reference as R
from multiact._check.score import FORMATS, round_to, ulp_error
from multiact._check.targets import discover
from multiact._table import TABLE

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".sweep_cache")


def _constants():
    """The kinks and switch points: numeric constants of the formulas (|v| < 1e5)."""
    out = {0.0, 0.5, 1.0, 3.0, 6.0}
    for mod in (fm, E):
        for k, v in vars(mod).items():
            if k.lstrip("_").isupper() and type(v) in (int, float) and 0 < abs(v) < 1e5:
                out.add(float(v))
    return sorted(out)


def kinks(params):
    pts = set(_constants())
    for v in params.values():
        if type(v) in (int, float) and not isinstance(v, bool):
            pts.add(float(v))
    return sorted(pts | {-p for p in pts})


def grid(dtype, params, n, seed=0):
    """The sweep for one case: float64 values representable in ``dtype``."""
    p, tiny, big = FORMATS[dtype]
    rng = np.random.default_rng(seed)
    band = 2.0 ** rng.uniform(-4, 10, (n * 3) // 4)
    wide = np.exp(rng.uniform(math.log(tiny), math.log(big), n // 8))
    mag = np.concatenate([band, wide])
    x = [mag * np.where(rng.random(mag.size) < 0.5, -1.0, 1.0),
         rng.uniform(-1, 1, n // 16), [tiny, big, -tiny, -big]]
    for k in kinks(params):
        w = max(1.0, abs(k)) / 64
        x.append(k + rng.uniform(-w, w, 256))
        kk = np.asarray(round_to(k, dtype), dtype)
        for direction in (math.inf, -math.inf):
            v = kk
            for _ in range(8):
                v = np.nextafter(v, np.asarray(direction, dtype))
                x.append([float(v)])
    x = round_to(np.concatenate([np.atleast_1d(np.asarray(a, float)) for a in x]), dtype)
    return np.unique(x[np.isfinite(x)])


def reference(info, params, x):
    """mpmath at every point of ``x``, cached on disk by function, parameters and data."""
    key = hashlib.sha1(repr((info.name, sorted(params.items()))).encode()
                       + x.tobytes()).hexdigest()[:20]
    path = os.path.join(CACHE, f"{info.name}-{key}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return d["hi"], d["lo"]
    hi, lo = R.elementwise(R.for_row(info.name), x, **params)
    os.makedirs(CACHE, exist_ok=True)
    np.savez(path, hi=hi, lo=lo)
    return hi, lo


def evaluate(target, info, params, x, dtype):
    """``info``'s function on ``target`` at ``x`` in ``dtype``, as float64 NumPy."""
    fn = getattr(multiact, info.name)
    with np.errstate(all="ignore"):
        y = fn(target.asarray(x, dtype), **params)
        return target.to_numpy(y).astype(np.float64)


def cell(target, info, params, dtype, n, verify):
    """(worst ulp, x there, points scored) of one case on one target in ``dtype``."""
    x = target.inputs(grid(dtype, params, n), dtype)
    y = evaluate(target, info, params, x, dtype)
    if dtype == "float64":
        hi, lo = reference(info, params, x)
        err = ulp_error(y, hi, lo, dtype)
    else:  # screen against NumPy's float64 result, then mpmath at the worst points
        from multiact._check.targets import Target

        screen = evaluate(Target("numpy", "cpu"), info, params, x, "float64")
        with np.errstate(all="ignore"):
            rough = ulp_error(y, screen, 0.0, dtype)
        top = np.argsort(-np.nan_to_num(rough, posinf=1e300))[:verify]
        x, y = x[top], y[top]
        hi, lo = reference(info, params, x)
        err = ulp_error(y, hi, lo, dtype)
    i = int(np.argmax(err))
    return float(err[i]), float(x[i]), x.size


def every32(target, info, params, lo, hi, verify=64, chunk=1 << 22):
    """(worst ulp, x there, values scored): every float32 in [lo, hi] (one sign)."""
    from multiact._check.targets import Target

    a, b = sorted(int(np.float32(v).view(np.int32)) for v in (lo, hi))
    numpy = Target("numpy", "cpu")
    cand = []
    for start in range(a, b + 1, chunk):
        x = np.arange(start, min(start + chunk, b + 1), dtype=np.int32).view(np.float32)
        x = target.inputs(x.astype(np.float64), "float32")
        y = evaluate(target, info, params, x, "float32")
        screen = evaluate(numpy, info, params, x, "float64")
        with np.errstate(all="ignore"):
            rough = ulp_error(y, screen, 0.0, "float32")
        top = np.argsort(-np.nan_to_num(rough, posinf=1e300))[:verify]
        cand.append((rough[top], x[top], y[top]))
    rough, x, y = (np.concatenate(c) for c in zip(*cand))
    top = np.argsort(-np.nan_to_num(rough, posinf=1e300))[:verify]
    hi_, lo_ = reference(info, params, x[top])
    err = ulp_error(y[top], hi_, lo_, "float32")
    i = int(np.argmax(err))
    return float(err[i]), float(x[top][i]), b - a + 1


def cases(functions):
    for info in TABLE:
        if not info.elementwise or (functions and info.name not in functions):
            continue
        for case in info.cases:
            yield info, dict(case.params)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", action="append", help="default: numpy and jax")
    ap.add_argument("--function", action="append")
    ap.add_argument("--dtype", action="append", choices=("float64", "float32"))
    ap.add_argument("-n", type=int, default=1 << 16, help="float64 points a case (mpmath)")
    ap.add_argument("--n32", type=int, default=1 << 19, help="float32 points a case (screen)")
    ap.add_argument("--verify", type=int, default=256,
                    help="float32: the worst points a cell scored against mpmath")
    ap.add_argument("--points", action="store_true", help="list the worst x of failing cells")
    ap.add_argument("--every32", nargs=2, type=float, metavar=("LO", "HI"),
                    help="score every float32 in [LO, HI] (one sign) instead of the sweep")
    args = ap.parse_args(argv)
    if args.every32 and (min(args.every32) < 0 < max(args.every32)):
        ap.error("--every32: LO and HI must have the same sign")
    backends = args.backend or ["numpy", "jax"]
    targets = [t for t in discover(backends) if t.device == "cpu"]
    dtypes = ["float32"] if args.every32 else (args.dtype or ["float64", "float32"])
    fails, t0 = [], time.perf_counter()
    print(f"{'case':34} {'backend':17} {'dtype':8} {'worst':>9}  {'x':>24} {'hex':>24} "
          f"{'bound':>6}")
    for info, params in cases(args.function):
        for dtype in dtypes:
            for t in targets:
                if dtype not in t.dtypes:
                    continue
                n = args.n if dtype == "float64" else args.n32
                if args.every32:
                    worst, at, m = every32(t, info, params, *args.every32)
                else:
                    worst, at, m = cell(t, info, params, dtype, n, args.verify)
                b = info.bound(dtype, params)
                bad = worst > b
                print(f"{info.label(params):34} {t.label:17} {dtype:8} {worst:9.3f}  "
                      f"{at!r:>24} {at.hex():>24} {b:6g}{'  FAIL' if bad else ''}", flush=True)
                if bad:
                    fails.append((info.label(params), t.label, dtype, worst, at, b))
    print(f"\n{len(fails)} cells over their bound ({time.perf_counter() - t0:.0f}s)")
    if args.points:
        for label, tl, dtype, worst, at, b in fails:
            print(f"{label} {tl} {dtype}: {worst:.3f} ulp (bound {b:g}) at "
                  f"float.fromhex({at.hex()!r})  # {at!r}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
