#!/usr/bin/python3
"""The BERT model loom implements, written in plain PyTorch as a numerical reference.

Hugging Face BertForPreTraining / BertForSequenceClassification semantics and parameter
names (torch.nn.Linear weights (out, in)): embeddings (word + position + token type,
LayerNorm), post-LN encoder layers with separate query/key/value projections and a padding
mask on the keys, erf or tanh GELU, a tanh pooler on [CLS], the masked-LM head (transform
dense + GELU + LayerNorm, decoder tied to the word embeddings plus its own bias) and the
next-sentence head. loom's options: pre-LN layers (with a final encoder LayerNorm,
"loom_pre_layernorm") and sinusoidal positions ("position_embedding_type": "loom_sinusoidal").
The config dicts use loom's config.json keys. Used by tools/make_bert_fixture.py; loom itself never runs Python.
"""
import math

import torch
import torch.nn.functional as F

from torch_gpt import sinusoidal_table


def param_shapes(cfg, head):
    """Ordered {name: shape} of every parameter, as loom (and Hugging Face) name them.
    head: "pretraining" or ("classify", num_labels)."""
    H, V, I = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    s = {"bert.embeddings.word_embeddings.weight": (V, H)}
    if cfg["position_embedding_type"] == "absolute":
        s["bert.embeddings.position_embeddings.weight"] = (cfg["max_position_embeddings"], H)
    s["bert.embeddings.token_type_embeddings.weight"] = (cfg["type_vocab_size"], H)
    s["bert.embeddings.LayerNorm.weight"] = (H,)
    s["bert.embeddings.LayerNorm.bias"] = (H,)
    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        for n in ("query", "key", "value"):
            s[p + f"attention.self.{n}.weight"] = (H, H)
            s[p + f"attention.self.{n}.bias"] = (H,)
        s[p + "attention.output.dense.weight"] = (H, H)
        s[p + "attention.output.dense.bias"] = (H,)
        s[p + "attention.output.LayerNorm.weight"] = (H,)
        s[p + "attention.output.LayerNorm.bias"] = (H,)
        s[p + "intermediate.dense.weight"] = (I, H)
        s[p + "intermediate.dense.bias"] = (I,)
        s[p + "output.dense.weight"] = (H, I)
        s[p + "output.dense.bias"] = (H,)
        s[p + "output.LayerNorm.weight"] = (H,)
        s[p + "output.LayerNorm.bias"] = (H,)
    if cfg.get("loom_pre_layernorm", False):
        s["bert.encoder.LayerNorm.weight"] = (H,)
        s["bert.encoder.LayerNorm.bias"] = (H,)
    s["bert.pooler.dense.weight"] = (H, H)
    s["bert.pooler.dense.bias"] = (H,)
    if head == "pretraining":
        s["cls.predictions.bias"] = (V,)
        s["cls.predictions.transform.dense.weight"] = (H, H)
        s["cls.predictions.transform.dense.bias"] = (H,)
        s["cls.predictions.transform.LayerNorm.weight"] = (H,)
        s["cls.predictions.transform.LayerNorm.bias"] = (H,)
        s["cls.seq_relationship.weight"] = (2, H)
        s["cls.seq_relationship.bias"] = (2,)
    else:
        s["classifier.weight"] = (head[1], H)
        s["classifier.bias"] = (head[1],)
    return s


def is_decayed(name):
    """loom's AdamW default: decay Linear weights only (not biases, LayerNorm gains or embeddings)."""
    return name.endswith(".weight") and "LayerNorm" not in name and "embeddings" not in name


def gelu(x, cfg):
    if cfg["hidden_act"] == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def encoder(p, cfg, ids, types, mask):
    """Last hidden states (B, T, H) for ids, token types and attention mask, all (B, T)."""
    B, T = ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hs = H // nh
    eps = cfg["layer_norm_eps"]

    def ln(x, pre):
        return F.layer_norm(x, (H,), p[pre + ".weight"], p[pre + ".bias"], eps)

    def lin(x, pre):
        return x @ p[pre + ".weight"].t() + p[pre + ".bias"]

    if cfg["position_embedding_type"] == "absolute":
        pos = p["bert.embeddings.position_embeddings.weight"][:T]
    else:
        pos = sinusoidal_table(cfg["max_position_embeddings"], H).to(p["bert.embeddings.word_embeddings.weight"].dtype)[:T]
    x = p["bert.embeddings.word_embeddings.weight"][ids] + pos + p["bert.embeddings.token_type_embeddings.weight"][types]
    x = ln(x, "bert.embeddings.LayerNorm")
    key_ok = mask.bool()[:, None, None, :]  # (B, 1, 1, T)

    def attend(h, pre):
        def heads(t):
            return t.view(B, T, nh, hs).transpose(1, 2)
        q, k, v = (heads(lin(h, pre + f"attention.self.{n}")) for n in ("query", "key", "value"))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~key_ok, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, H)
        return lin(y, pre + "attention.output.dense")

    def ffn(h, pre):
        return lin(gelu(lin(h, pre + "intermediate.dense"), cfg), pre + "output.dense")

    for i in range(cfg["num_hidden_layers"]):
        pre = f"bert.encoder.layer.{i}."
        if cfg.get("loom_pre_layernorm", False):
            x = x + attend(ln(x, pre + "attention.output.LayerNorm"), pre)
            x = x + ffn(ln(x, pre + "output.LayerNorm"), pre)
        else:
            x = ln(x + attend(x, pre), pre + "attention.output.LayerNorm")
            x = ln(x + ffn(x, pre), pre + "output.LayerNorm")
    if cfg.get("loom_pre_layernorm", False):
        x = ln(x, "bert.encoder.LayerNorm")
    return x


def pooled(p, hidden):
    return torch.tanh(hidden[:, 0] @ p["bert.pooler.dense.weight"].t() + p["bert.pooler.dense.bias"])


def pretraining(p, cfg, ids, types, mask, mlm_positions, mlm_labels, nsp_labels):
    """(hidden, pooled, mlm_logits (M, V), nsp_logits (B, 2), mlm_loss, nsp_loss)."""
    H = cfg["hidden_size"]
    hidden = encoder(p, cfg, ids, types, mask)
    pool = pooled(p, hidden)
    picked = hidden.reshape(-1, H)[mlm_positions]
    t = gelu(picked @ p["cls.predictions.transform.dense.weight"].t() + p["cls.predictions.transform.dense.bias"], cfg)
    t = F.layer_norm(t, (H,), p["cls.predictions.transform.LayerNorm.weight"],
                     p["cls.predictions.transform.LayerNorm.bias"], cfg["layer_norm_eps"])
    mlm_logits = t @ p["bert.embeddings.word_embeddings.weight"].t() + p["cls.predictions.bias"]
    nsp_logits = pool @ p["cls.seq_relationship.weight"].t() + p["cls.seq_relationship.bias"]
    return (hidden, pool, mlm_logits, nsp_logits, F.cross_entropy(mlm_logits, mlm_labels),
            F.cross_entropy(nsp_logits, nsp_labels))


def classify(p, cfg, ids, types, mask):
    hidden = encoder(p, cfg, ids, types, mask)
    return pooled(p, hidden) @ p["classifier.weight"].t() + p["classifier.bias"]
