"""Real models: a training step of transformers' BERT (exact GELU) and of a small
MLP (exact GELU, silu, softmax, log_softmax), with multiact's activations and
with PyTorch's own, measured in one interleaved run (CPU, float32).

    python benchmarks/models.py            # needs `pip install transformers`

BERT is built from its config (random initialisation, nothing downloaded):
hidden 256, 4 layers, 4 heads, intermediate 1024, batch 8 x 128 tokens.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
import torch.nn.functional as F

import multiact


def _step(model, batch, opt, loss_fn):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model, batch)
    loss.backward()
    opt.step()
    return loss.item()


def _time(cands, repeats=7):
    for f in cands.values():
        f()
        f()
    samples = {k: [] for k in cands}
    for _ in range(repeats):
        for k, f in cands.items():
            t = time.perf_counter()
            f()
            samples[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in samples.items()}


def bert():
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
    ids = torch.randint(0, cfg.vocab_size, (8, 128))
    batch = {"input_ids": ids, "labels": ids}

    def loss_fn(m, b):
        return m(**b).loss

    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-3) for k, m in (("native", native),
                                                                      ("multiact", ours))}
    native.eval(), ours.eval()  # no dropout while comparing
    with torch.no_grad():
        a = native(**batch).logits
        b = ours(**batch).logits
    diff = (a - b).abs().max().item() / a.abs().max().item()
    native.train(), ours.train()
    t = _time({"native": lambda: _step(native, batch, opts["native"], loss_fn),
               "multiact": lambda: _step(ours, batch, opts["multiact"], loss_fn)})
    return t, diff


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


def mlp():
    native = _MLP((F.gelu, F.silu, lambda t: F.softmax(t, -1), lambda t: F.log_softmax(t, -1)))
    ours = _MLP((lambda t: multiact.gelu(t, approximate=False), multiact.silu, multiact.softmax,
                 multiact.log_softmax))
    ours.load_state_dict(native.state_dict())
    x = torch.randn(256, 512)
    y = torch.randint(0, 256, (256,))
    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-3) for k, m in (("native", native),
                                                                      ("multiact", ours))}

    def loss_fn(m, b):
        return F.nll_loss(m(b[0]), b[1])

    t = _time({"native": lambda: _step(native, (x, y), opts["native"], loss_fn),
               "multiact": lambda: _step(ours, (x, y), opts["multiact"], loss_fn)})
    return t


def main():
    lines = ["## Training steps of real models (CPU, float32)", "",
             "| model | native | multiact | ratio |", "| --- | ---: | ---: | ---: |"]
    try:
        t, diff = bert()
        lines.append(f"| BERT (4 layers, 256 hidden, 8x128 tokens, exact GELU) | "
                     f"{t['native'] * 1e3:.1f} ms | {t['multiact'] * 1e3:.1f} ms | "
                     f"{t['multiact'] / t['native']:.3f} |")
        print(f"BERT logits (eval mode): max difference / max |logit| = {diff:.2e}",
              file=sys.stderr)
    except ImportError:
        lines.append("| BERT | - | - | transformers not installed |")
    t = mlp()
    lines.append(f"| MLP 512-2048-2048-256 (gelu, silu, softmax, log_softmax), batch 256 | "
                 f"{t['native'] * 1e3:.1f} ms | {t['multiact'] * 1e3:.1f} ms | "
                 f"{t['multiact'] / t['native']:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main()
