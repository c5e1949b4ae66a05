"""Real models: training steps of transformers' BERT (exact GELU) and of a small
MLP (exact GELU, silu, softmax, log_softmax), with multiact's activations and
with PyTorch's own, measured in one interleaved run (CPU).

    python benchmarks/models.py                      # needs `pip install transformers`
    python benchmarks/models.py --no-compile         # skip the torch.compile rows
    python benchmarks/models.py --device cuda --no-compile --warm 3 --max-warm 20
                                                     # on a GPU (conformance/device_run.sh)

For each model: the first step of each variant (what a new user meets: first
calls, Dynamo's compile for the ``torch.compile`` rows), then steps of both
variants interleaved until multiact's compile tier is settled (no compile in
flight, and no kernel still billing framework time toward its compile: every
kernel the steps keep calling has paid for itself and been compiled in the
background) and at least ``--warm`` seconds have passed, then the steady
state: the median of interleaved steps.  The warm-up column says how long
that took: with exact GELU's bill at a few seconds a minute of steps, BERT's
kernels arrive after a minute or more.

BERT is built from its config (random initialisation, nothing downloaded):
hidden 256, 4 layers, 4 heads, intermediate 1024, batch 8 x 128 tokens.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import multiact
from multiact import kernels


def _step(model, batch, opt, loss_fn, autocast):
    opt.zero_grad(set_to_none=True)
    device = next(model.parameters()).device.type
    ctx = torch.autocast(device, dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with ctx:
        loss = loss_fn(model, batch)
    loss.backward()
    opt.step()
    return loss.item()


def _measure(cands, warm, repeats=7, max_warm=None):
    """First step of each candidate, warm-up until the tier is idle (at most
    ``max_warm`` seconds, default 20 ``warm``), then the median of interleaved
    steps."""
    first = {}
    for k, f in cands.items():
        t = time.perf_counter()
        f()
        first[k] = time.perf_counter() - t
    t0 = time.perf_counter()
    billed = _bills()
    while True:
        for f in cands.values():
            f()
        elapsed = time.perf_counter() - t0
        now = _bills()
        billing = any(v > billed.get(k, 0.0) for k, v in now.items())
        billed = now
        if elapsed >= warm and kernels.wait(0) and not billing:
            break
        if elapsed > (20 * warm if max_warm is None else max_warm):
            break
    warmed = time.perf_counter() - t0
    samples = {k: [] for k in cands}
    for _ in range(repeats):
        for k, f in cands.items():
            t = time.perf_counter()
            f()
            samples[k].append(time.perf_counter() - t)
    return first, {k: statistics.median(v) for k, v in samples.items()}, warmed


def _bills():
    """The framework seconds billed so far by each tier kernel not yet compiled."""
    return {s["kernel"]: s["framework_seconds"] for s in kernels.status()
            if s["state"] == "cold"}


def bert_models(device="cpu", batch=8):
    from transformers import BertConfig, BertForMaskedLM

    cfg = BertConfig(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=1024, vocab_size=8000, max_position_embeddings=256)
    torch.manual_seed(0)
    native = BertForMaskedLM(cfg)
    ours = BertForMaskedLM(cfg)
    ours.load_state_dict(native.state_dict())
    for layer in ours.bert.encoder.layer:  # exact GELU, as BERT's config says
        layer.intermediate.intermediate_act_fn = multiact.Activation(
            "gelu", approximate=False).to_torch()
    native.to(device), ours.to(device)
    ids = torch.randint(0, cfg.vocab_size, (batch, 128), device=device)
    batch = {"input_ids": ids, "labels": ids}
    native.eval(), ours.eval()  # no dropout while comparing
    with torch.no_grad():
        a = native(**batch).logits
        b = ours(**batch).logits
    diff = (a - b).abs().max().item() / a.abs().max().item()
    native.train(), ours.train()
    return native, ours, batch, (lambda m, b: m(**b).loss), diff


class _MLP(torch.nn.Module):
    def __init__(self, acts):
        super().__init__()
        self.l1, self.l2, self.l3 = (torch.nn.Linear(512, 2048), torch.nn.Linear(2048, 2048),
                                     torch.nn.Linear(2048, 256))
        self.gelu, self.silu, self.softmax, self.log_softmax = acts

    def forward(self, x):
        h = self.gelu(self.l1(x))
        h = self.silu(self.l2(h))
        h = self.l3(h * self.softmax(h))
        return self.log_softmax(h)


def mlp_models(device="cpu", batch=256):
    torch.manual_seed(0)
    native = _MLP((F.gelu, F.silu, lambda t: F.softmax(t, -1), lambda t: F.log_softmax(t, -1)))
    ours = _MLP((lambda t: multiact.gelu(t, approximate=False), multiact.silu, multiact.softmax,
                 multiact.log_softmax))
    ours.load_state_dict(native.state_dict())
    native.to(device), ours.to(device)
    x = torch.randn(batch, 512, device=device)
    y = torch.randint(0, 256, (batch,), device=device)
    return native, ours, (x, y), (lambda m, b: F.nll_loss(m(b[0]), b[1]).float()), None


def run(name, make, compiled, autocast, warm, max_warm=None):
    native, ours, batch, loss_fn, diff = make()
    if compiled:
        native, ours = torch.compile(native), torch.compile(ours)
    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-3) for k, m in (("native", native),
                                                                      ("multiact", ours))}
    cands = {k: (lambda m=m, o=opts[k]: _step(m, batch, o, loss_fn, autocast))
             for k, m in (("native", native), ("multiact", ours))}
    first, t, warmed = _measure(cands, warm, max_warm=max_warm)
    mode = ("torch.compile" if compiled else "eager") + (", bf16 autocast" if autocast else "")
    row = (f"| {name} | {mode} | {first['native'] * 1e3:.0f} ms | "
           f"{first['multiact'] * 1e3:.0f} ms | {warmed:.0f} s | {t['native'] * 1e3:.1f} ms | "
           f"{t['multiact'] * 1e3:.1f} ms | {t['multiact'] / t['native']:.3f} |")
    print(row, file=sys.stderr, flush=True)
    return row, diff


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    p.add_argument("--warm", type=float, default=20.0,
                   help="seconds of interleaved steps at least, before the steady state")
    p.add_argument("--max-warm", type=float, default=None,
                   help="seconds of warm-up at most (default: 20 times --warm)")
    p.add_argument("--device", default="cpu", help="cpu, or cuda (then BERT in bf16 autocast too)")
    p.add_argument("--batch", type=int, default=8, help="BERT's sequences of 128 tokens a step")
    a = p.parse_args(argv)
    dev = a.device
    where = "CPU" if dev == "cpu" else torch.cuda.get_device_name(0) if dev == "cuda" else dev
    threads = f"{torch.get_num_threads()} threads" if dev == "cpu" else where
    lines = [f"## Training steps of real models ({where})", "",
             f"Command: `python benchmarks/models.py{' ' + ' '.join(argv or sys.argv[1:])}`; "
             f"torch {torch.__version__}, {threads}, MULTIACT_KERNELS={kernels.mode()}. "
             f"First step: the "
             f"first training step of each variant (its first calls; Dynamo's compile for "
             f"torch.compile). Warm-up: interleaved steps until multiact's compile tier was "
             f"settled (nothing compiling, no kernel still billing toward its compile) "
             f"and at least {a.warm:.0f} s had passed"
             + ("" if a.max_warm is None else f", at most {a.max_warm:.0f} s") +
             ". Steady state: the median of 7 interleaved steps.", "",
             "| model | mode | first step, native | first step, multiact | warm-up | "
             "native | multiact | ratio |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    print("\n".join(lines), flush=True)  # (each row as it comes: a run cut short keeps them)

    def emit(line):
        lines.append(line)
        print(line, flush=True)

    notes = []
    bert_ok = True
    try:
        import transformers  # noqa: F401
    except ImportError:
        bert_ok = False
        emit("| BERT | - | - | - | - | - | - | transformers not installed |")
    variants = [(False, False)] + ([] if a.no_compile else [(True, False)])
    if bert_ok:
        for compiled, autocast in variants + ([(False, True)] if dev == "cuda" else []):
            row, diff = run(f"BERT (4 layers, 256 hidden, {a.batch}x128 tokens, exact GELU)",
                            lambda: bert_models(dev, a.batch), compiled, autocast, a.warm,
                            a.max_warm)
            emit(row)
        notes.append(f"BERT logits (eval mode): max difference / max |logit| = {diff:.2e}")
    for compiled, autocast in variants + [(False, True)]:
        row, _ = run("MLP 512-2048-2048-256 (gelu, silu, softmax, log_softmax), batch 256",
                     lambda: mlp_models(dev), compiled, autocast, a.warm, a.max_warm)
        emit(row)
    print("\n" + "\n".join(notes), flush=True)
    return "\n".join(lines + [""] + notes) + "\n"


if __name__ == "__main__":
    main()
