#!/usr/bin/python3
"""PyTorch's side of the speed benchmark: the GPT loom trains (GPT-2 architecture: pre-LayerNorm,
tanh GELU, learned positions, biases, tied output projection), measured the way bench/loom_bench
measures loom. One measurement per process; prints one JSON object.

    /usr/bin/python3 bench/torch_bench.py train   --vocab 50257 --layers 12 --heads 12 --embd 768 --batch 4 --seq 256
    /usr/bin/python3 bench/torch_bench.py forward ...
    /usr/bin/python3 bench/torch_bench.py decode  ... --prompt 32 --new 128

train: forward, backward, clip_grad_norm_(1.0) and AdamW(foreach=True) on random tokens;
forward: torch.inference_mode(); decode: batch 1 with a preallocated KV cache, greedy. Medians of
--steps timed repetitions after --warmup untimed ones. bench/compare.py runs it beside loom.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def attn(self, x, cache=None, past=0):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.H, C // self.H).transpose(1, 2)
        k = k.view(B, T, self.H, C // self.H).transpose(1, 2)
        v = v.view(B, T, self.H, C // self.H).transpose(1, 2)
        if cache is not None:
            kc, vc = cache
            kc[:, :, past:past + T] = k
            vc[:, :, past:past + T] = v
            k, v = kc[:, :, :past + T], vc[:, :, :past + T]
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1]))
        if T > 1:
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)

    def forward(self, x, cache=None, past=0):
        x = x + self.attn(self.ln_1(x), cache, past)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, block, L, H, C):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(block, C)
        self.h = nn.ModuleList([Block(C, H) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids, caches=None, past=0):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(past, past + T))
        for i, b in enumerate(self.h):
            x = b(x, None if caches is None else caches[i], past)
        return self.ln_f(x) @ self.wte.weight.t()


def flops_per_token(a, t_avg):
    C, L, V = a.embd, a.layers, a.vocab
    return 2.0 * (L * 12 * C * C + V * C) + L * 4.0 * C * t_avg


def report(a, mode, tokens, times, fpt):
    t = statistics.median(times)
    print(json.dumps({"side": "torch", "mode": mode, "threads": a.threads, "tokens_per_step": tokens, "median_s": t,
                      "min_s": min(times), "tokens_per_s": tokens / t, "gflops": tokens * fpt / t / 1e9,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "repeats": len(times), "torch": torch.__version__, "bf16": a.bf16}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["train", "forward", "decode"])
    for k, v in dict(vocab=50257, layers=12, heads=12, embd=768, batch=4, seq=256, prompt=32, new=128, steps=5,
                     warmup=2, threads=2).items():
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--bf16", action="store_true", help="torch.autocast(cpu, bfloat16) around the model")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    ctx = a.prompt + a.new if a.mode == "decode" else a.seq
    model = GPT(a.vocab, max(ctx, a.seq), a.layers, a.heads, a.embd)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16)
    times = []
    if a.mode == "train":
        model.train()
        decay = [p for p in model.parameters() if p.dim() >= 2]
        other = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                lr=3e-4, betas=(0.9, 0.95), foreach=True)
        for s in range(a.warmup + a.steps):
            ids = torch.randint(a.vocab, (a.batch, a.seq))
            targets = torch.randint(a.vocab, (a.batch, a.seq))
            t0 = time.perf_counter()
            with autocast:
                logits = model(ids)
                loss = F.cross_entropy(logits.float().view(-1, a.vocab), targets.view(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if s >= a.warmup:
                times.append(time.perf_counter() - t0)
        report(a, "train", a.batch * a.seq, times, 3 * flops_per_token(a, a.seq / 2))
    elif a.mode == "forward":
        model.eval()
        with torch.inference_mode(), autocast:
            for s in range(a.warmup + a.steps):
                ids = torch.randint(a.vocab, (a.batch, a.seq))
                t0 = time.perf_counter()
                model(ids)
                if s >= a.warmup:
                    times.append(time.perf_counter() - t0)
        report(a, "forward", a.batch * a.seq, times, flops_per_token(a, a.seq / 2))
    else:
        model.eval()
        hs = a.embd // a.heads
        with torch.inference_mode(), autocast:
            for s in range(a.warmup + a.steps):
                dtype = torch.bfloat16 if a.bf16 else torch.float32
                caches = [(torch.zeros(1, a.heads, ctx, hs, dtype=dtype), torch.zeros(1, a.heads, ctx, hs, dtype=dtype))
                          for _ in range(a.layers)]
                ids = torch.randint(a.vocab, (1, a.prompt))
                logits = model(ids, caches, 0)
                past = a.prompt
                t0 = time.perf_counter()
                for _ in range(a.new):
                    nxt = logits[:, -1, :].argmax(dim=-1, keepdim=True)
                    logits = model(nxt, caches, past)
                    past += 1
                if s >= a.warmup:
                    times.append(time.perf_counter() - t0)
        report(a, "decode", a.new, times, flops_per_token(a, a.prompt + a.new / 2))


if __name__ == "__main__":
    main()
