#!/usr/bin/python3
"""The GPT model loom implements, written in plain PyTorch as a numerical reference.

Pre-LayerNorm GPT-2 with Hugging Face GPT-2 parameter names and Conv1D weight layout
(in_features, out_features): y = x @ W + b. Positions are learned (transformer.wpe) or the
fixed sinusoidal table of the original Transformer. Used by tools/make_gpt_fixture.py and
bench/torch_gpt_train.py. loom itself never runs Python.
"""
import math

import torch
import torch.nn.functional as F


def sinusoidal_table(T, C):
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    i = torch.arange(C // 2, dtype=torch.float64)[None, :]
    angle = pos / torch.pow(10000.0, 2.0 * i / C)
    pe = torch.zeros(T, C, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.float()


def param_shapes(cfg):
    """Ordered {name: shape} of every parameter, as loom names them."""
    C, V = cfg["n_embd"], cfg["vocab_size"]
    s = {"transformer.wte.weight": (V, C)}
    if cfg["pos_encoding"] == "learned":
        s["transformer.wpe.weight"] = (cfg["block_size"], C)
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        s[p + "ln_1.weight"] = (C,)
        if cfg["bias"]:
            s[p + "ln_1.bias"] = (C,)
        s[p + "attn.c_attn.weight"] = (C, 3 * C)
        if cfg["bias"]:
            s[p + "attn.c_attn.bias"] = (3 * C,)
        s[p + "attn.c_proj.weight"] = (C, C)
        if cfg["bias"]:
            s[p + "attn.c_proj.bias"] = (C,)
        s[p + "ln_2.weight"] = (C,)
        if cfg["bias"]:
            s[p + "ln_2.bias"] = (C,)
        s[p + "mlp.c_fc.weight"] = (C, 4 * C)
        if cfg["bias"]:
            s[p + "mlp.c_fc.bias"] = (4 * C,)
        s[p + "mlp.c_proj.weight"] = (4 * C, C)
        if cfg["bias"]:
            s[p + "mlp.c_proj.bias"] = (C,)
    s["transformer.ln_f.weight"] = (C,)
    if cfg["bias"]:
        s["transformer.ln_f.bias"] = (C,)
    if not cfg["tie_word_embeddings"]:
        s["lm_head.weight"] = (V, C)
    return s


def is_decayed(name):
    """AdamW decays weight matrices only: not biases, norm gains or embedding tables."""
    return name.endswith(".weight") and ("c_attn" in name or "c_proj" in name or "c_fc" in name or name == "lm_head.weight")


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(params, cfg, idx, training=False):
    """Logits (B, T, V) for ids (B, T). params: {name: tensor}."""
    B, T = idx.shape
    C, nh = cfg["n_embd"], cfg["n_head"]
    hs = C // nh
    p = params
    pdrop = cfg.get("dropout", 0.0) if training else 0.0
    if cfg["pos_encoding"] == "learned":
        pos = p["transformer.wpe.weight"][:T]
    else:
        pos = sinusoidal_table(cfg["block_size"], C).to(p["transformer.wte.weight"].dtype)[:T]
    x = F.dropout(p["transformer.wte.weight"][idx] + pos, pdrop, training)

    def ln(x, pre):
        return F.layer_norm(x, (C,), p[pre + ".weight"], p.get(pre + ".bias"), 1e-5)

    def lin(x, pre):
        y = x @ p[pre + ".weight"]
        b = p.get(pre + ".bias")
        return y + b if b is not None else y

    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(cfg["n_layer"]):
        h = f"transformer.h.{i}."
        qkv = lin(ln(x, h + "ln_1"), h + "attn.c_attn")
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, nh, hs).transpose(1, 2)
        k = k.view(B, T, nh, hs).transpose(1, 2)
        v = v.view(B, T, nh, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + F.dropout(lin(y, h + "attn.c_proj"), pdrop, training)
        m = lin(gelu_tanh(lin(ln(x, h + "ln_2"), h + "mlp.c_fc")), h + "mlp.c_proj")
        x = x + F.dropout(m, pdrop, training)
    x = ln(x, "transformer.ln_f")
    head = p["transformer.wte.weight"] if cfg["tie_word_embeddings"] else p["lm_head.weight"]
    return x @ head.t()


def loss_fn(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: {name: tensor} (f32 or i32), string metadata."""
    import json
    import struct

    dt = {torch.float32: "F32", torch.int32: "I32", torch.float64: "F64"}
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        b = t.numpy().tobytes()
        header[name] = {"dtype": dt[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
