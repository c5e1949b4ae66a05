"""What a model exported to ONNX costs in onnxruntime: multiact's function against
the ``F.*`` op with the same meaning, each exported alone by ``torch.onnx.export``
(its default exporter) and run by onnxruntime on the CPU, interleaved (median of
``--repeat`` runs each), with the exported graph's node count.  The accuracy of
the same exports is tested in ``conformance/test_onnx.py`` (decision 110).

    python benchmarks/onnx_export.py [--function gelu ...] [--rows 1000 --cols 1000]
        [--threads 2] [--repeat 15]

The cases are the table's that PyTorch has a counterpart of (``benchmarks/_cases.py``:
the element-wise rows, the row kernels' and the gated rows'), or those ``--function``
names.
"""

from __future__ import annotations

import argparse
import statistics
import time


def _session(fn, x, threads):
    """A callable running ``fn``'s export on ``x``, and the graph's node count."""
    from conformance.onnx_io import exported, runner

    program = exported(fn, x)
    run = runner(program, threads)
    return (lambda: run(x)), len(program.model_proto.graph.node)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--function", action="append", help="a case's label or function name")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--cols", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    import onnxruntime as ort
    import torch

    import _cases

    x = torch.randn(args.rows, args.cols)
    print(f"{args.rows} x {args.cols} float32, onnxruntime {ort.__version__} (CPU, "
          f"{args.threads} threads), torch {torch.__version__}\n")
    print("| function | `F.*` ms (nodes) | multiact ms (nodes) | ratio |")
    print("| --- | --- | --- | --- |")
    for label, info, params in _cases.select(_cases.one_pass("torch"), args.function):
        native = _cases.native(["torch"], info, params)["torch"]
        (run_n, nodes_n), (run_m, nodes_m) = (_session(native, x, args.threads),
                                              _session(_cases.ours(info, params), x,
                                                       args.threads))
        tn, tm = [], []
        for _ in range(3):
            run_n(), run_m()
        for _ in range(args.repeat):  # interleaved: the machine's drift hits both
            for run, ts in ((run_n, tn), (run_m, tm)):
                t0 = time.perf_counter()
                run()
                ts.append(time.perf_counter() - t0)
        a, b = statistics.median(tn) * 1e3, statistics.median(tm) * 1e3
        print(f"| {label} | {a:.2f} ({nodes_n}) | {b:.2f} ({nodes_m}) | {b / a:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
