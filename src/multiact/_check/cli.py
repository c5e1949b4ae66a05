"""The ``multiact`` command.

``multiact check``: every function (row of the table, with each of its check
cases) on every installed backend, device and dtype, scored against mpmath by
the one scorer (``score.score_case``), printed as a function x backend matrix.
Exit status 1 if a cell fails, 2 for bad input or a backend/device asked for
but missing.

``multiact info NAME``: which implementation runs where (``multiact.info``).

``multiact compile``: every fused kernel compiled (``multiact.compile``,
``kernels/aot.py``), ahead of time for ``--target`` GPUs or for the local
device; one line per kernel, then ``compiled N kernels for T targets, F
failed``.  Exit status 1 if a kernel fails, 2 for bad arguments.

``multiact list``: every function's name, with its aliases; then other libraries'
names for a function with parameters.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def _version():
    from .. import __version__

    return f"multiact {__version__}"


def _parser():
    p = _Parser(prog="multiact", description="multiact: one set of activation functions for "
                "every array library")
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    c = sub.add_parser("check", help="function x backend x device conformance matrix")
    c.add_argument("--backend", action="append", help="limit to this backend (repeatable; "
                   "numpy, torch, jax, cupy, array_api_strict, dask)")
    c.add_argument("--device", help="limit to this device (cpu, cuda)")
    c.add_argument("--function", action="append", help="limit to this function (repeatable)")
    c.add_argument("--dtype", action="append", help="limit to this dtype (repeatable; float64, "
                   "float32, float16, bfloat16)")
    c.add_argument("--json", nargs="?", const="-", metavar="PATH",
                   help="write the results as JSON to PATH (or stdout)")
    c.add_argument("-v", "--verbose", action="store_true", help="one line per cell")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    i = sub.add_parser("info", help="which implementation of a function runs where, and why")
    i.add_argument("name", help="a function name or alias")
    i.add_argument("--backend", action="append", help="limit to this backend (repeatable)")
    i.add_argument("--device", help="limit to this device (cpu, cuda)")
    k = sub.add_parser("compile", help="compile every fused kernel, ahead of time for GPUs this "
                       "machine need not have (--target), or for the local device")
    k.add_argument("--target", action="append", help="comma-separated targets, cuda:<compute "
                   "capability> or hip:<gfx arch>, e.g. cuda:80,cuda:90,cuda:100,hip:gfx942,"
                   "hip:gfx90a (repeatable); without it, the local device's kernel caches are "
                   "warmed (CUDA: Triton's; CPU: Inductor's)")
    k.add_argument("--function", action="append", help="limit to this function (repeatable)")
    k.add_argument("--dtype", action="append", help="limit to this dtype (repeatable; float32, "
                   "float16, bfloat16, float64)")
    k.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    sub.add_parser("list", help="every function's name, with its aliases")
    # an argument a subcommand does not take is answered by that subcommand's parser,
    # which points at its own --help (_main)
    p.subcommands = {"check": c, "info": i, "compile": k}
    return p


def _unknown(e, who):
    """The API's unknown-name message, for the command line: it points to `multiact list`."""
    return str(e).replace(f"multiact.{who}: ", "").replace("(multiact.names() lists them all)",
                                                           "(multiact list shows them all)")


def _list():
    from .._table import TABLE

    width = max(len(info.name) for info in TABLE) + 2
    print("function".ljust(width) + "aliases")
    for info in sorted(TABLE, key=lambda i: i.name):
        print((info.name.ljust(width) + ", ".join(info.aliases)).rstrip())
    # other libraries' names for a function with parameters (decision 145)
    presets = {n: info.label(dict(p)) for info in TABLE for n, p in info.presets.items()}
    if presets:
        width = max(map(len, presets)) + 2
        print("\n" + "name".ljust(width) + "is")
        for n in sorted(presets):
            print(n.ljust(width) + presets[n])
    return 0


def _fail(msg):
    print(f"multiact: error: {msg}", file=sys.stderr)
    return 2


def _unknown_selection(args):
    """The message for an unknown ``--device`` or ``--backend`` (check, info), or None."""
    from .targets import unknown_selection

    if args.device == "":  # (an empty value read as "any device" before)
        return "argument --device: expected a device (cpu, cuda), got an empty value"
    return unknown_selection(args.backend, args.device)


def _unavailable(args):
    """The message for a ``--backend`` asked for that has no device here (or none that
    ``--device`` names): check and info alike; None when each one has."""
    from .targets import unavailable

    for b in args.backend or ():
        why = unavailable(b, args.device)
        if why:
            return (f"backend {b!r} on device {args.device or 'any'!r} was asked for but is "
                    f"not available: {why}")
    return None


def _kernels_setting():
    """The message for a bad ``MULTIACT_KERNELS`` (the library's own), or None: asked up
    front by every subcommand whose work depends on it, rather than met in each call
    (check reported it as accuracy FAILs, info as a traceback; compile ignored it)."""
    from .. import kernels

    try:
        kernels.mode()
    except ValueError as e:
        return str(e).replace("multiact: ", "", 1)
    return None


def _missing_module(*names):
    """The first of ``names`` that cannot be imported here, or None."""
    import importlib.util

    for name in names:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # (a module set to None in sys.modules)
            return name
    return None


def _check_args(args):
    """Validate the selection; returns (functions, error message or None)."""
    from .._table import DTYPES, canonical_name

    # a selection named twice (--backend numpy --backend numpy, gelu and its alias) is
    # run once, not one column or row per mention
    for name in ("backend", "dtype"):
        if getattr(args, name):
            setattr(args, name, list(dict.fromkeys(getattr(args, name))))
    functions = None
    if args.function:
        functions = []
        for f in args.function:
            try:
                functions.append(canonical_name(f, "check"))
            except ValueError as e:
                return None, _unknown(e, "check")
        functions = list(dict.fromkeys(functions))
    for d in args.dtype or ():
        if d not in DTYPES:
            return None, f"unknown dtype {d!r} (known: {', '.join(DTYPES)})"
    error = _unknown_selection(args) or _unavailable(args)
    if error:
        return None, error
    return functions, None


def cases(functions=None):
    """(row, params) for every check case of every selected row."""
    from .._table import TABLE

    for info in TABLE:
        if functions and info.name not in functions:
            continue
        for case in info.cases:
            yield info, dict(case.params)


def run_check(backends=None, device=None, functions=None, dtypes=None, progress=None):
    """Score every selected cell; returns (targets, cells, not_run)."""
    import numpy as np

    from .score import score_case
    from .targets import discover, not_run

    targets = discover(backends, device)
    cells = []
    todo = list(cases(functions))
    for t in targets:
        t0 = time.perf_counter()
        for dtype in t.dtypes:
            if dtypes and dtype not in dtypes:
                continue
            if progress:
                progress(f"multiact check: {t.label} {dtype} ({len(todo)} functions)...")
            with np.errstate(over="ignore"):  # true overflow (selu(max)) is inf by design
                for info, params in todo:
                    cells.append(score_case(info, params, t, dtype))
        if progress:
            progress(f"multiact check: {t.label} done in {time.perf_counter() - t0:.1f}s")
    return targets, cells, not_run(backends, device)


def _fmt(x):
    if x == float("inf"):
        return "inf"
    return f"{x:.1f}" if x < 1000 else f"{x:.0e}"


def _short(dtype):
    return {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}[dtype]


def print_matrix(targets, cells, not_run, verbose=False, out=sys.stdout):
    cols = [t.label for t in targets]
    funcs = list(dict.fromkeys(c.function for c in cells))
    by_cell = {}
    for c in cells:
        by_cell.setdefault((c.function, f"{c.backend}:{c.device}"), []).append(c)

    def ratio(c):
        return c.worst / c.bound if c.bound else (0.0 if c.worst == 0 else float("inf"))

    w0 = max([len(f) for f in funcs] + [8]) + 2
    widths = [max(len(c), 21) + 2 for c in cols]
    print("each cell: worst error / bound in ulps, for the dtype where that ratio is largest",
          file=out)
    print("(bounds: src/multiact/_table.py; FAIL lists the failing dtypes)", file=out)
    print("".ljust(w0) + "".join(c.ljust(w) for c, w in zip(cols, widths)), file=out)
    for f in funcs:
        row = f.ljust(w0)
        for col, w in zip(cols, widths):
            group = by_cell.get((f, col))
            if not group:
                txt = "-"
            elif any(not c.passed for c in group):
                txt = "FAIL " + ",".join(_short(c.dtype) for c in group if not c.passed)
            else:
                c = max(group, key=ratio)
                txt = f"{_fmt(c.worst)}/{c.bound:g} {_short(c.dtype)}"
            row += txt.ljust(w)
        print(row, file=out)
    bad = [c for c in cells if not c.passed]
    if bad or verbose:
        print(file=out)
        for c in (cells if verbose else bad):
            print(("ok   " if c.passed else "FAIL ") + c.message(), file=out)
    for label, why in not_run:
        print(f"not run: {label} ({why})", file=out)


def _json_path_error(path):
    """The message for a ``--json PATH`` that cannot be written, or None: asked before
    the run (a folder failed after it, with a traceback; an empty path wrote nothing)."""
    import os

    if path is None or path == "-":
        return None
    if not path:
        return ("--json '': expected a file path (or --json alone for stdout), got an empty "
                "value")
    if os.path.isdir(path):
        return f"--json {path!r}: is a folder (expected a file path)"
    folder = os.path.dirname(os.path.abspath(path))
    if (not os.path.isdir(folder) or not os.access(folder, os.W_OK)
            or os.path.exists(path) and not os.access(path, os.W_OK)):
        return f"--json {path!r}: cannot write there (no such folder, or not writable)"
    return None


def _check(args):
    # the [check] extra first: the selection's own checks import NumPy
    missing = _missing_module("mpmath", "numpy")
    if missing:
        return _fail(f"multiact check needs {missing}: pip install 'multiact[check]'")
    err = _kernels_setting()
    if err:
        return _fail(err)
    functions, err = _check_args(args)
    if err:
        return _fail(err)
    err = _json_path_error(args.json)
    if err:
        return _fail(err)
    progress = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    targets, cells, not_run = run_check(args.backend, args.device, functions, args.dtype,
                                        progress)
    if not targets:
        return _fail("no backend found: install one (pip install 'multiact[numpy]')")
    if args.dtype and not cells:
        have = sorted({d for t in targets for d in t.dtypes})
        return _fail(f"no selected backend has dtype {', '.join(args.dtype)} (they have: "
                     f"{', '.join(have)})")
    if args.json:
        from .report import make_report

        text = json.dumps(make_report(cells, [t.label for t in targets], not_run), indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    if args.json != "-":
        print_matrix(targets, cells, not_run, args.verbose)
        failed = sum(not c.passed for c in cells)
        print(f"\n{len(cells) - failed} passed, {failed} failed ({len(targets)} backend/device "
              f"pairs)")
    return 1 if any(not c.passed for c in cells) else 0


def _info(args):
    from .._info import info
    from .._table import canonical_name

    try:
        canonical_name(args.name, "info")
    except (TypeError, ValueError) as e:
        return _fail(_unknown(e, "info"))
    # an unknown name is an error, as in check (it printed "no backend installed", 0),
    # and so is a backend asked for that is not here (exit 2 in check, 0 here before)
    if _missing_module("numpy"):  # (each row is observed on a NumPy-made input)
        return _fail("multiact info needs numpy: pip install 'multiact[numpy]'")
    error = _unknown_selection(args) or _kernels_setting() or _unavailable(args)
    if error:
        return _fail(error)
    print(info(args.name, backends=args.backend, device=args.device))
    return 0


def _cache_error(directory):
    """The message for a kernel cache folder that cannot be made or written
    (``MULTIACT_CACHE``), or None: asked before any kernel is compiled (each row
    failed with NotADirectoryError, and the variable was never named)."""
    import os

    root = os.environ.get("MULTIACT_CACHE")
    p = os.path.abspath(directory)  # (a relative one climbed to '', "not a folder")
    while not os.path.exists(p) and os.path.dirname(p) != p:
        p = os.path.dirname(p)
    if os.path.isdir(p) and os.access(p, os.W_OK | os.X_OK):
        return None
    why = "is not a folder" if not os.path.isdir(p) else "is not writable"
    if root:
        return (f"MULTIACT_CACHE {root!r}: {p} {why} (expected a writable folder for the "
                f"compiled kernels)")
    return (f"the kernel cache {directory}: {p} {why} (set MULTIACT_CACHE to a writable "
            f"folder)")


def _compile(args):
    from ..kernels import aot

    try:
        targets, functions, dtypes = aot.check_arguments(args.target, args.function, args.dtype,
                                                         who="multiact compile")
    except (TypeError, ValueError) as e:
        return _fail(_unknown(e, "multiact compile").replace("multiact compile: ", ""))
    err = _kernels_setting()
    if targets is not None and err is None:
        err = _cache_error(aot.cache_dir())
    if err:
        return _fail(err)
    progress = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    try:
        if targets is not None:
            rows = aot.compile_targets(targets, functions, dtypes, progress)
        else:
            rows = aot.compile_local(functions, dtypes, progress)
    except ModuleNotFoundError as e:
        if e.name != "torch" or targets is not None:
            raise
        # (the local caches are PyTorch's: Inductor's on CPU, Triton's on a GPU; the
        # warm-up's first import, before any kernel: a traceback before)
        return _fail("multiact compile without --target warms PyTorch's kernel caches and "
                     "needs torch: pip install 'multiact[torch]' (or pass --target to compile "
                     "ahead of time)")
    except RuntimeError as e:
        print(f"multiact: error: {e}", file=sys.stderr)
        return 1
    aot.print_rows(rows)
    return 1 if not rows or any(not r["ok"] for r in rows) else 0


def main(argv=None):
    try:
        return _main(argv)
    except BrokenPipeError:
        # Reason: `multiact list | head` closed the pipe; a tool's output cut short by
        # its reader is not an error to print a traceback for.  stdout is pointed at
        # devnull so the interpreter's own flush at exit does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv):
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # (the subcommand's parser where they came after its name; `multiact --bogus
        # check` is the top level's)
        words = sys.argv[1:] if argv is None else list(argv)
        at = words.index(args.command) if args.command in words else len(words)
        sub = parser if set(extra) & set(words[:at]) else parser.subcommands.get(
            args.command, parser)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "check":
        return _check(args)
    if args.command == "info":
        return _info(args)
    if args.command == "compile":
        return _compile(args)
    if args.command == "list":
        return _list()
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
