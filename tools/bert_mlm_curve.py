#!/usr/bin/env python3
"""Reference masked-LM learning curve in PyTorch, to compare with `loom pretrain`.

Trains a pre-LN BERT-shaped encoder (MLM only) on token ids written by `loom prepare`
(uint16 shard) with the schedule `loom pretrain` uses (AdamW, linear warmup, linear decay,
global-norm clip 1, weight decay on matrices only) and prints held-out MLM loss/accuracy.
It answers one question: at this compute budget, where does a plain PyTorch implementation's
masked-LM loss stand? Diagnostic only; loom never needs it.

  loom prepare --tokenizer wp8k/tokenizer.json --out_dir /tmp/ids text/*.txt
  python3 tools/bert_mlm_curve.py /tmp/ids/train_00000.bin --vocab 8000 --steps 1000

Run it with OPENBLAS_CORETYPE unset and OMP_WAIT_POLICY=PASSIVE (PyTorch is 2x slower otherwise).
"""
import argparse
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("ids")
p.add_argument("--vocab", type=int, required=True)
p.add_argument("--mask_id", type=int, default=4)
p.add_argument("--first_normal_id", type=int, default=5)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--hidden", type=int, default=256)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--steps", type=int, default=1000)
p.add_argument("--total_steps", type=int, default=5000)
p.add_argument("--warmup", type=int, default=400)
p.add_argument("--lr", type=float, default=1.5e-3)
p.add_argument("--mask_prob", type=float, default=0.3)
p.add_argument("--eval_interval", type=int, default=250)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.manual_seed(0)
torch.set_num_threads(a.threads)
rng = np.random.default_rng(0)

ids = np.fromfile(a.ids, dtype=np.uint16).astype(np.int64)
n_val = len(ids) // 50
train_ids, val_ids = ids[:-n_val], ids[-n_val:]


def batch(src, bsz):
    starts = rng.integers(0, len(src) - a.seq, bsz)
    x = np.stack([src[s:s + a.seq] for s in starts])
    labels = np.full_like(x, -100)
    pick = rng.random(x.shape) < a.mask_prob
    labels[pick] = x[pick]
    r = rng.random(x.shape)
    x = x.copy()
    x[pick & (r < 0.8)] = a.mask_id
    rnd = pick & (r >= 0.8) & (r < 0.9)
    x[rnd] = rng.integers(a.first_normal_id, a.vocab, rnd.sum())
    return torch.from_numpy(x), torch.from_numpy(labels)


class Bert(nn.Module):
    def __init__(s):
        super().__init__()
        H = a.hidden
        s.tok = nn.Embedding(a.vocab, H)
        s.pos = nn.Embedding(a.seq, H)
        s.emb_ln = nn.LayerNorm(H, eps=1e-12)
        layer = nn.TransformerEncoderLayer(H, a.heads, 4 * H, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True, layer_norm_eps=1e-12)
        s.enc = nn.TransformerEncoder(layer, a.layers, enable_nested_tensor=False)
        s.final_ln = nn.LayerNorm(H, eps=1e-12)
        s.head = nn.Linear(H, H)
        s.head_ln = nn.LayerNorm(H, eps=1e-12)
        s.bias = nn.Parameter(torch.zeros(a.vocab))
        for m in s.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(s, x, where):
        h = s.emb_ln(s.tok(x) + s.pos(torch.arange(x.shape[1])))
        h = s.final_ln(s.enc(h))[where]  # only the predicted positions reach the vocabulary
        h = s.head_ln(F.gelu(s.head(h)))
        return h @ s.tok.weight.t() + s.bias


model = Bert()
decay = [p_ for n, p_ in model.named_parameters() if p_.dim() >= 2]
no_decay = [p_ for n, p_ in model.named_parameters() if p_.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                         {"params": no_decay, "weight_decay": 0.0}], lr=a.lr)


def lr_at(step):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    return a.lr * max(0.0, (a.total_steps - step) / max(1, a.total_steps - a.warmup))


val_batches = [batch(val_ids, a.batch) for _ in range(10)]


def evaluate():
    model.eval()
    tot, hit, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in val_batches:
            m = y != -100
            logits = model(x, m)
            tot += F.cross_entropy(logits, y[m], reduction="sum").item()
            hit += (logits.argmax(-1) == y[m]).sum().item()
            n += m.sum().item()
    model.train()
    return tot / n, hit / n


t0 = time.time()
print(f"step 0 val_loss {evaluate()[0]:.3f}", flush=True)
for step in range(a.steps):
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    x, y = batch(train_ids, a.batch)
    m = y != -100
    loss = F.cross_entropy(model(x, m), y[m])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if (step + 1) % 20 == 0:
        print(f"step {step + 1} loss {loss.item():.3f} {time.time() - t0:.1f}s", flush=True)
    if (step + 1) % a.eval_interval == 0:
        vl, va = evaluate()
        tps = (step + 1) * a.batch * a.seq / (time.time() - t0)
        print(f"step {step + 1} train_loss {loss.item():.3f} val_loss {vl:.3f} val_acc {va:.3f} "
              f"tok/s {tps:.0f}", flush=True)
