#!/usr/bin/python3
"""Writes PyTorch reference fixtures for loom's BERT into tests/fixtures/.

Pretraining fixtures hold a padded batch (ids, token types, attention mask), masked-LM
positions and labels, next-sentence labels; the last hidden states, pooled output, MLM and
NSP logits, both losses, every parameter gradient by name, the losses of 5 AdamW steps
(with global-norm clipping) and the parameters after them. The classification fixture
holds class logits, loss and every gradient. src/loom/models/bert_fixture_test.cc compares
loom against them. Run with Debian's python3-torch:

    /usr/bin/python3 tools/make_bert_fixture.py

It prints how far float32 is from float64 on the same inputs (the basis of the tolerances).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bert  # noqa: E402
from torch_gpt import write_safetensors  # noqa: E402

OPTIMIZER = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-6, "weight_decay": 0.01, "grad_clip": 1.0, "steps": 5}

BASE = dict(model_type="bert", vocab_size=23, hidden_size=12, num_hidden_layers=2, num_attention_heads=3, intermediate_size=20,
            max_position_embeddings=10, type_vocab_size=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            layer_norm_eps=1e-12, initializer_range=0.02, hidden_act="gelu", position_embedding_type="absolute",
            loom_pre_layernorm=False, pad_token_id=0)

FIXTURES = {
    "bert_postln": dict(cfg=BASE, head="pretraining", seed=1),
    "bert_preln_sinusoidal": dict(cfg=dict(BASE, hidden_act="gelu_new", position_embedding_type="loom_sinusoidal",
                                           loom_pre_layernorm=True, layer_norm_eps=1e-5),
                                  head="pretraining", seed=2),
    "bert_classify": dict(cfg=BASE, head=("classify", 3), seed=3),
}


def init_params(shapes, gen):
    params = {}
    for name, shape in shapes.items():
        if name.endswith(".bias"):
            t = 0.1 * torch.randn(shape, generator=gen)
        elif "LayerNorm" in name:
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        else:
            t = 0.3 * torch.randn(shape, generator=gen)
        params[name] = t
    return params


def batch(cfg, gen):
    """3 sequences of 8: the second padded after 5 tokens, the third after 7."""
    B, T, V = 3, 8, cfg["vocab_size"]
    ids = torch.randint(1, V, (B, T), generator=gen)
    lengths = [8, 5, 7]
    mask = torch.zeros(B, T, dtype=torch.int64)
    types = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        types[b, n // 2:n] = 1
        ids[b, n:] = cfg["pad_token_id"]
    positions = torch.tensor([1, 3, 6, 8 + 2, 8 + 4, 16 + 0, 16 + 5])  # real tokens only
    mlm_labels = torch.randint(1, V, (len(positions),), generator=gen)
    nsp_labels = torch.tensor([0, 1, 1])
    cls_labels = torch.tensor([2, 0, 1])
    return ids, types, mask, positions, mlm_labels, nsp_labels, cls_labels


def run(spec, init, data, dtype):
    cfg, head = spec["cfg"], spec["head"]
    ids, types, mask, positions, mlm_labels, nsp_labels, cls_labels = data

    def fresh():
        return {k: v.to(dtype).clone().requires_grad_(True) for k, v in init.items()}

    def loss_of(p):
        if head == "pretraining":
            out = torch_bert.pretraining(p, cfg, ids, types, mask, positions, mlm_labels, nsp_labels)
            return out[4] + out[5], out
        logits = torch_bert.classify(p, cfg, ids, types, mask)
        return F.cross_entropy(logits, cls_labels), (logits,)

    params = fresh()
    loss, outs = loss_of(params)
    loss.backward()
    grads = {k: v.grad.detach().clone() for k, v in params.items()}
    losses, final = [], {}
    if head == "pretraining":
        p2 = fresh()
        decay = [v for k, v in p2.items() if torch_bert.is_decayed(k)]
        no_decay = [v for k, v in p2.items() if not torch_bert.is_decayed(k)]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": OPTIMIZER["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=OPTIMIZER["lr"], betas=tuple(OPTIMIZER["betas"]), eps=OPTIMIZER["eps"], foreach=False)
        for _ in range(OPTIMIZER["steps"]):
            opt.zero_grad()
            l, _ = loss_of(p2)
            losses.append(l.item())
            l.backward()
            torch.nn.utils.clip_grad_norm_(list(p2.values()), OPTIMIZER["grad_clip"])
            opt.step()
        final = {k: v.detach() for k, v in p2.items()}
    return loss.detach(), [o.detach() for o in outs], grads, torch.tensor(losses), final


def main():
    torch.set_num_threads(1)
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    for name, spec in FIXTURES.items():
        gen = torch.Generator().manual_seed(spec["seed"])
        shapes = torch_bert.param_shapes(spec["cfg"], spec["head"])
        init = init_params(shapes, gen)
        data = batch(spec["cfg"], gen)
        loss, outs, grads, losses, final = run(spec, init, data, torch.float32)
        r64 = run(spec, init, data, torch.float64)
        print(f"{name}: loss {loss.item():.6f}; float32 vs float64: "
              f"outputs {max((o.double() - o64).abs().max().item() for o, o64 in zip(outs, r64[1])):.2e}, "
              f"grads {max((grads[k].double() - r64[2][k]).abs().max().item() for k in grads):.2e}"
              + (f", step losses {(losses.double() - r64[3]).abs().max().item():.2e}, final params "
                 f"{max((final[k].double() - r64[4][k]).abs().max().item() for k in final):.2e}" if final else ""))
        ids, types, mask, positions, mlm_labels, nsp_labels, cls_labels = data
        tensors = {"ids": ids.int(), "token_types": types.int(), "attention_mask": mask.int(), "loss": loss.reshape(1)}
        if spec["head"] == "pretraining":
            hidden, pool, mlm_logits, nsp_logits, mlm_loss, nsp_loss = outs
            tensors.update({"mlm_positions": positions.int(), "mlm_labels": mlm_labels.int(),
                            "nsp_labels": nsp_labels.int(), "hidden": hidden, "pooled": pool,
                            "mlm_logits": mlm_logits, "nsp_logits": nsp_logits, "mlm_loss": mlm_loss.reshape(1),
                            "nsp_loss": nsp_loss.reshape(1), "step_losses": losses.float()})
        else:
            tensors.update({"labels": cls_labels.int(), "logits": outs[0]})
        for k in init:
            tensors["param." + k] = init[k]
            tensors["grad." + k] = grads[k]
            if final:
                tensors["final." + k] = final[k]
        head = spec["head"] if spec["head"] == "pretraining" else f"classify:{spec['head'][1]}"
        meta = {"config": json.dumps(spec["cfg"]), "head": head, "optimizer": json.dumps(OPTIMIZER),
                "generator": "tools/make_bert_fixture.py, torch " + torch.__version__}
        write_safetensors(os.path.join(out_dir, name + ".safetensors"), tensors, meta)


if __name__ == "__main__":
    main()
