"""Export a multiact call to ONNX and run it with onnxruntime: the one spelling of
both, for the ONNX conformance tests (``test_onnx.py``) and the benchmark
(``benchmarks/onnx_export.py``).  Needs the ``onnx`` extra."""

from __future__ import annotations

import contextlib
import io
import warnings


def exported(fn, x, kw=None, **export_kw):
    """``fn(x, **kw)`` as an ONNX program: ``torch.onnx.export``'s, through
    ``torch.export`` (``dynamo=True``), of a module with the one input ``x``;
    ``export_kw`` goes to the export (``dynamic_shapes``).  A module ``fn`` is
    exported as it is."""
    import torch

    kw = kw or {}
    if isinstance(fn, torch.nn.Module):
        model = fn
    else:
        class Model(torch.nn.Module):
            def forward(self, t):
                return fn(t, **kw)

        model = Model()
    # torch.onnx prints its steps and warns about its own deprecations and the
    # model's training mode; none of it is multiact's
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.onnx.export(model.eval(), (x,), dynamo=True, verbose=False,
                                 **export_kw)


def runner(program, threads=None):
    """A callable of one CPU tensor that runs ``program`` in onnxruntime on the CPU
    (``threads``: its intra-op threads; its default where None) and returns the
    output as a tensor."""
    import numpy as np
    import onnxruntime as ort
    import torch

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads is not None:
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(program.model_proto.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def run(x):
        (y,) = sess.run(None, {name: x.numpy()})
        return torch.from_numpy(np.asarray(y))

    return run
