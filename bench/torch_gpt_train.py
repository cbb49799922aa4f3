#!/usr/bin/python3
"""PyTorch side of the character-level Shakespeare comparison (nanoGPT's CPU recipe).

Trains the same GPT as loom (tools/torch_gpt.py) with the same settings loom's
scripts/quickstart.sh uses, and prints evaluations and a final JSON line with the
validation loss, wall time and tokens/s. Run it beside `loom train` on the same machine:

    /usr/bin/python3 bench/torch_gpt_train.py --threads 2

Batches are drawn with torch.randint (like nanoGPT), so the exact batches differ from
loom's; the comparison is of the learning curve and the speed, not of bits.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_gpt  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data", "tinyshakespeare", "input.txt"))
    ap.add_argument("--n_layer", type=int, default=4)
    ap.add_argument("--n_head", type=int, default=4)
    ap.add_argument("--n_embd", type=int, default=128)
    ap.add_argument("--block_size", type=int, default=64)
    ap.add_argument("--batch_size", type=int, default=12)
    ap.add_argument("--max_iters", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min_lr", type=float, default=1e-4)
    ap.add_argument("--warmup_iters", type=int, default=100)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--eval_interval", type=int, default=250)
    ap.add_argument("--eval_iters", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1337)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    text = open(a.data, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train, val = data[:n], data[n:]
    cfg = dict(vocab_size=len(chars), block_size=a.block_size, n_layer=a.n_layer, n_head=a.n_head, n_embd=a.n_embd,
               dropout=a.dropout, bias=True, tie_word_embeddings=True, pos_encoding="learned")

    params = {}
    for name, shape in torch_gpt.param_shapes(cfg).items():
        if name.endswith(".bias"):
            t = torch.zeros(shape)
        elif ".ln_" in name or "ln_f" in name:
            t = torch.ones(shape)
        else:
            std = 0.02 / math.sqrt(2 * a.n_layer) if name.endswith("c_proj.weight") else 0.02
            t = torch.randn(shape) * std
        params[name] = t.requires_grad_(True)
    decay = [v for k, v in params.items() if torch_gpt.is_decayed(k)]
    no_decay = [v for k, v in params.items() if not torch_gpt.is_decayed(k)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.99), foreach=True)

    def batch(split):
        d = train if split == "train" else val
        ix = torch.randint(len(d) - a.block_size, (a.batch_size,))
        x = torch.stack([d[i:i + a.block_size] for i in ix])
        y = torch.stack([d[i + 1:i + 1 + a.block_size] for i in ix])
        return x, y

    @torch.no_grad()
    def estimate():
        out = {}
        for split in ("train", "val"):
            losses = [torch_gpt.loss_fn(torch_gpt.forward(params, cfg, x), y).item()
                      for x, y in (batch(split) for _ in range(a.eval_iters))]
            out[split] = sum(losses) / len(losses)
        return out

    def lr_at(it):
        if it < a.warmup_iters:
            return a.lr * (it + 1) / (a.warmup_iters + 1)
        ratio = (it - a.warmup_iters) / (a.max_iters - a.warmup_iters)
        return a.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (a.lr - a.min_lr)

    train_seconds = 0.0
    t_start = time.time()
    for it in range(a.max_iters + 1):
        if it % a.eval_interval == 0 or it == a.max_iters:
            e = estimate()
            print(f"step {it}: train loss {e['train']:.4f}, val loss {e['val']:.4f}", flush=True)
        if it == a.max_iters:
            break
        t0 = time.time()
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        x, y = batch("train")
        loss = torch_gpt.loss_fn(torch_gpt.forward(params, cfg, x, training=True), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), 1.0)
        opt.step()
        train_seconds += time.time() - t0
    tokens = a.max_iters * a.batch_size * a.block_size
    print(json.dumps({"final_val_loss": e["val"], "wall_seconds": time.time() - t_start,
                      "train_seconds": train_seconds, "tokens_per_second": tokens / train_seconds,
                      "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
