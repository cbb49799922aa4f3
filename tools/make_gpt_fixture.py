#!/usr/bin/python3
"""Writes PyTorch reference fixtures for loom's GPT into tests/fixtures/.

Each fixture holds the inputs, logits, loss, every parameter gradient by name, the losses of
5 AdamW steps (with global-norm clipping before each) and the parameters after them, plus
the model config and optimizer settings as metadata. src/loom/models/gpt_fixture_test.cc
compares loom against them. Run with Debian's python3-torch:

    /usr/bin/python3 tools/make_gpt_fixture.py

It also prints how far the float32 results are from float64 ones on the same inputs, which
is what the test's tolerances are based on.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_gpt  # noqa: E402

# eps is 1e-6, not 1e-8: the key bias of attention has an exactly zero true gradient (a
# constant added to every score of a row), so its float32 gradient is rounding noise of
# ~1e-9 that Adam with eps 1e-8 would turn into steps of ~lr and the final values would
# compare noise. With 1e-6 that noise moves parameters by < 1e-5.
OPTIMIZER = {"lr": 1e-2, "betas": [0.9, 0.95], "eps": 1e-6, "weight_decay": 0.1, "grad_clip": 1.0, "steps": 5}

FIXTURES = {
    "gpt_learned": dict(cfg=dict(vocab_size=17, block_size=8, n_layer=2, n_head=2, n_embd=12, dropout=0.0, bias=True,
                                 tie_word_embeddings=True, pos_encoding="learned"), B=3, T=7, seed=1),
    "gpt_sinusoidal": dict(cfg=dict(vocab_size=19, block_size=9, n_layer=2, n_head=3, n_embd=12, dropout=0.0,
                                    bias=False, tie_word_embeddings=False, pos_encoding="sinusoidal"), B=2, T=9, seed=2),
}


def init_params(cfg, gen):
    params = {}
    for name, shape in torch_gpt.param_shapes(cfg).items():
        if name.endswith(".bias"):
            t = 0.1 * torch.randn(shape, generator=gen)
        elif ".ln_" in name or "ln_f" in name:
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        else:
            t = 0.2 * torch.randn(shape, generator=gen)
        params[name] = t
    return params


def run(cfg, init, idx, targets, dtype):
    params = {k: v.to(dtype).clone().requires_grad_(True) for k, v in init.items()}
    logits = torch_gpt.forward(params, cfg, idx)
    loss = torch_gpt.loss_fn(logits, targets)
    loss.backward()
    grads = {k: v.grad.detach().clone() for k, v in params.items()}
    # Fresh copies for the optimizer run.
    p2 = {k: v.to(dtype).clone().requires_grad_(True) for k, v in init.items()}
    decay = [v for k, v in p2.items() if torch_gpt.is_decayed(k)]
    no_decay = [v for k, v in p2.items() if not torch_gpt.is_decayed(k)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": OPTIMIZER["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=OPTIMIZER["lr"], betas=tuple(OPTIMIZER["betas"]), eps=OPTIMIZER["eps"], foreach=False)
    losses = []
    for _ in range(OPTIMIZER["steps"]):
        opt.zero_grad()
        l = torch_gpt.loss_fn(torch_gpt.forward(p2, cfg, idx), targets)
        losses.append(l.item())
        l.backward()
        torch.nn.utils.clip_grad_norm_(list(p2.values()), OPTIMIZER["grad_clip"])
        opt.step()
    return logits.detach(), loss.detach(), grads, torch.tensor(losses), {k: v.detach() for k, v in p2.items()}


def main():
    torch.set_num_threads(1)
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    for name, spec in FIXTURES.items():
        cfg, B, T = spec["cfg"], spec["B"], spec["T"]
        gen = torch.Generator().manual_seed(spec["seed"])
        init = init_params(cfg, gen)
        idx = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
        targets = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
        targets[0, 1] = -1  # one ignored position
        r32 = run(cfg, init, idx, targets, torch.float32)
        r64 = run(cfg, init, idx, targets, torch.float64)
        logits, loss, grads, losses, final = r32
        print(f"{name}: loss {loss.item():.6f}; float32 vs float64: "
              f"logits {(logits.double() - r64[0]).abs().max().item():.2e}, "
              f"grads {max((grads[k].double() - r64[2][k]).abs().max().item() for k in grads):.2e}, "
              f"step losses {(losses.double() - r64[3]).abs().max().item():.2e}, "
              f"final params {max((final[k].double() - r64[4][k]).abs().max().item() for k in final):.2e}")
        tensors = {"inputs": idx.int(), "targets": targets.int(), "logits": logits, "loss": loss.reshape(1),
                   "step_losses": losses.float()}
        for k in init:
            tensors["param." + k] = init[k]
            tensors["grad." + k] = grads[k]
            tensors["final." + k] = final[k]
        meta = {"config": json.dumps(cfg), "optimizer": json.dumps(OPTIMIZER),
                "generator": "tools/make_gpt_fixture.py, torch " + torch.__version__}
        torch_gpt.write_safetensors(os.path.join(out_dir, name + ".safetensors"), tensors, meta)


if __name__ == "__main__":
    main()
