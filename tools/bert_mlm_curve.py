#!/usr/bin/env python3
"""Reference masked-LM learning curve in PyTorch, to compare with `loom pretrain`.

Trains loom's pre-LN BERT (tools/torch_bert.py; the masked-LM loss only) on token ids written by `loom prepare`
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
import torch.nn.functional as F

import torch_bert  # tools/: the BERT loom implements, in plain PyTorch

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
p.add_argument("--init_range", type=float, default=0.02)
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


cfg = {"vocab_size": a.vocab, "hidden_size": a.hidden, "num_hidden_layers": a.layers,
       "num_attention_heads": a.heads, "intermediate_size": 4 * a.hidden, "max_position_embeddings": a.seq,
       "type_vocab_size": 2, "position_embedding_type": "absolute", "hidden_act": "gelu",
       "layer_norm_eps": 1e-12, "loom_pre_layernorm": True}
# loom's initialisation: N(0, init_range) matrices and embeddings, zero biases, unit gains.
params = {}
for name, shape in torch_bert.param_shapes(cfg, "pretraining").items():
    if "LayerNorm.weight" in name:
        t = torch.ones(shape)
    elif name.endswith(".bias"):
        t = torch.zeros(shape)
    else:
        t = torch.randn(shape) * a.init_range
    params[name] = t.requires_grad_()
with torch.no_grad():
    params["bert.embeddings.word_embeddings.weight"][0].zero_()  # [PAD]
opt = torch.optim.AdamW([{"params": [t for n, t in params.items() if torch_bert.is_decayed(n)], "weight_decay": 0.01},
                         {"params": [t for n, t in params.items() if not torch_bert.is_decayed(n)],
                          "weight_decay": 0.0}], lr=a.lr, eps=1e-6)


def mlm(x, y):
    """Masked-LM logits of the predicted positions and their labels (one segment, no padding)."""
    m = (y != -100).reshape(-1)
    ones = torch.ones_like(x)
    out = torch_bert.pretraining(params, cfg, x, torch.zeros_like(x), ones, m.nonzero().squeeze(1), y.reshape(-1)[m],
                                 torch.zeros(x.shape[0], dtype=torch.long))
    return out[2], y.reshape(-1)[m]


def lr_at(step):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    return a.lr * max(0.0, (a.total_steps - step) / max(1, a.total_steps - a.warmup))


val_batches = [batch(val_ids, a.batch) for _ in range(10)]


def evaluate():
    tot, hit, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in val_batches:
            logits, labels = mlm(x, y)
            tot += F.cross_entropy(logits, labels, reduction="sum").item()
            hit += (logits.argmax(-1) == labels).sum().item()
            n += labels.numel()
    return tot / n, hit / n


t0 = time.time()
print(f"step 0 val_loss {evaluate()[0]:.3f}", flush=True)
for step in range(a.steps):
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    x, y = batch(train_ids, a.batch)
    logits, labels = mlm(x, y)
    loss = F.cross_entropy(logits, labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params.values(), 1.0)
    opt.step()
    if (step + 1) % 20 == 0:
        print(f"step {step + 1} loss {loss.item():.3f} {time.time() - t0:.1f}s", flush=True)
    if (step + 1) % a.eval_interval == 0:
        vl, va = evaluate()
        tps = (step + 1) * a.batch * a.seq / (time.time() - t0)
        print(f"step {step + 1} train_loss {loss.item():.3f} val_loss {vl:.3f} val_acc {va:.3f} "
              f"tok/s {tps:.0f}", flush=True)
