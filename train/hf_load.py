"""Load a Hugging Face BERT checkpoint (no `transformers` needed) into an InforCoefModel.

    loaded = load_hf_bert(source, *, labels=None, head_size=None, layer_norm_eps=None,
                          max_position=None, vocab=None)
        source: a state dict, a `pytorch_model.bin` / `*.safetensors` file, or a directory holding
                one of those plus optionally config.json and vocab.txt
        -> HFBert(model, config, vocab, mlm_state, missing, unused)
           model      InforCoefModel with every tensor the checkpoint has (others keep BERT init)
           mlm_state  state dict for train.model.MLMHead (dense/LayerNorm/bias) or None
           missing    our tensor names the checkpoint did not provide (e.g. the classifier of a
                      pretrained-only BERT, the pooler of a BertForMaskedLM)
           unused     checkpoint names that were not used (NSP head, position_ids, ...)
    to_hf_state_dict(model, prefix="bert.", old_layernorm_names=False) -> the inverse mapping

Names: ours are HF's without the `bert.` prefix (`bert.encoder.layer.0.attention.self.query.weight`
-> `encoder.layer.0.attention.self.query.weight`); `classifier.*` has no prefix in either; old
checkpoints name LayerNorm parameters `gamma` / `beta` instead of `weight` / `bias`.
The shape (layers, heads per layer, FFN widths, hidden size, vocab) is read off the tensor
shapes, so CoFi-pruned HF checkpoints (uneven heads, removed blocks) load too; head_size comes
from config.json (hidden_size / num_attention_heads) or the argument, else 64 (BERT's).
"""
import json
import os
import re
from collections import namedtuple

import torch

from train import safetensors_io as st
from train.model import InforCoefModel, LayerShape, ModelConfig

HFBert = namedtuple("HFBert", "model config vocab mlm_state missing unused")

MLM_NAMES = {   # HF name (without prefix handling) -> MLMHead parameter
    "cls.predictions.transform.dense.weight": "dense.weight",
    "cls.predictions.transform.dense.bias": "dense.bias",
    "cls.predictions.transform.LayerNorm.weight": "LayerNorm.weight",
    "cls.predictions.transform.LayerNorm.bias": "LayerNorm.bias",
    "cls.predictions.bias": "bias",
}


def _read_state_dict(path):
    if path.endswith(".safetensors"):
        arrays, _ = st.read_any(path)
        return {k: torch.from_numpy(v) for k, v in arrays.items()}
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: not a state dict")
    return sd


def _resolve(source):
    """-> (state dict, hf config dict or None, vocab list or None)."""
    if isinstance(source, dict):
        return source, None, None
    path = str(source)
    hf_config, vocab = None, None
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    if os.path.isdir(path):
        for name in ("model.safetensors", "pytorch_model.bin"):
            if os.path.exists(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
        else:
            raise FileNotFoundError(f"{source}: no model.safetensors or pytorch_model.bin inside")
    if os.path.exists(os.path.join(folder, "config.json")):
        with open(os.path.join(folder, "config.json")) as f:
            hf_config = json.load(f)
    if os.path.exists(os.path.join(folder, "vocab.txt")):
        with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as f:
            vocab = [line.rstrip("\n").rstrip("\r") for line in f]
        while vocab and vocab[-1] == "":
            vocab.pop()
    return _read_state_dict(path), hf_config, vocab


def _normalise_names(sd):
    """HF names -> ours (prefix stripped, gamma/beta -> weight/bias); returns (ours, mlm, unused)."""
    ours, mlm, unused = {}, {}, []
    for name, t in sd.items():
        n = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
        n = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", n)
        if n in MLM_NAMES:
            mlm[MLM_NAMES[n]] = t
            continue
        if n.startswith("bert."):
            n = n[len("bert."):]
        if n.startswith(("embeddings.", "encoder.layer.", "pooler.dense.", "classifier.")) \
                and not n.endswith("position_ids"):
            ours[n] = t
        else:
            unused.append(name)
    return ours, mlm, unused


def infer_config(sd, hf_config=None, labels=None, head_size=None, layer_norm_eps=None):
    """ModelConfig from our-named tensor shapes (+ HF config.json values where given)."""
    hf_config = hf_config or {}
    if "embeddings.word_embeddings.weight" not in sd:
        raise ValueError("not a BERT checkpoint: no (bert.)embeddings.word_embeddings.weight")
    V, d = sd["embeddings.word_embeddings.weight"].shape
    P = sd["embeddings.position_embeddings.weight"].shape[0]
    T = sd["embeddings.token_type_embeddings.weight"].shape[0]
    if head_size is None:
        if "num_attention_heads" in hf_config and "hidden_size" in hf_config:
            head_size = hf_config["hidden_size"] // hf_config["num_attention_heads"]
        else:
            head_size = 64   # BERT's; checked against the attention widths below
    idx = [int(m.group(1)) for k in sd for m in [re.match(r"encoder\.layer\.(\d+)\.", k)] if m]
    num_layers = max(idx) + 1 if idx else 0
    num_layers = max(num_layers, int(hf_config.get("num_hidden_layers", 0)))
    layers = []
    for i in range(num_layers):
        q = sd.get(f"encoder.layer.{i}.attention.self.query.weight")
        w1 = sd.get(f"encoder.layer.{i}.intermediate.dense.weight")
        a = 0 if q is None else q.shape[0]
        if a % head_size:
            raise ValueError(f"layer {i}: attention width {a} is not a multiple of head_size {head_size} "
                             f"(pass head_size=, or give config.json with num_attention_heads)")
        has_sampler = f"encoder.layer.{i}.sampler.dense2.weight" in sd
        layers.append(LayerShape(a // head_size, 0 if w1 is None else w1.shape[0], has_sampler))
    if labels is None:
        id2label = hf_config.get("id2label")
        n_cls = sd["classifier.weight"].shape[0] if "classifier.weight" in sd else None
        if id2label and (n_cls is None or len(id2label) == n_cls):
            labels = [id2label[str(i)] if str(i) in id2label else id2label[i] for i in range(len(id2label))]
        elif n_cls is not None:
            labels = [f"LABEL_{i}" for i in range(n_cls)]
        else:
            labels = ["negative", "positive"]
    eps = layer_norm_eps if layer_norm_eps is not None else hf_config.get("layer_norm_eps", 1e-12)
    return ModelConfig(hidden_size=int(d), head_size=int(head_size), layers=layers, vocab_size=int(V),
                       max_position=int(P), type_vocab_size=int(T), layer_norm_eps=float(eps),
                       labels=list(labels))


def load_hf_bert(source, *, labels=None, head_size=None, layer_norm_eps=None, vocab=None, do_lower_case=None):
    raw, hf_config, found_vocab = _resolve(source)
    sd, mlm, unused = _normalise_names(raw)
    cfg = infer_config(sd, hf_config, labels, head_size, layer_norm_eps)
    if do_lower_case is not None:
        cfg.do_lower_case = bool(do_lower_case)
    vocab = vocab if vocab is not None else found_vocab
    if vocab is not None and len(vocab) != cfg.vocab_size:
        raise ValueError(f"vocab has {len(vocab)} tokens, the word embeddings have {cfg.vocab_size} rows")
    model = InforCoefModel(cfg)
    own = model.state_dict()
    for name, t in sd.items():
        if name not in own:
            unused.append(name)
            continue
        if tuple(t.shape) != tuple(own[name].shape):
            raise ValueError(f"'{name}': checkpoint shape {list(t.shape)} != model shape {list(own[name].shape)}")
    load = {k: v.float() for k, v in sd.items() if k in own}
    missing = [k for k in own if k not in load]
    model.load_state_dict(load, strict=False)
    mlm_state = {k: v.float() for k, v in mlm.items()} if len(mlm) == len(MLM_NAMES) else None
    return HFBert(model, cfg, vocab, mlm_state, missing, sorted(unused))


def to_hf_state_dict(model, prefix="bert.", old_layernorm_names=False, mlm_head=None):
    """Our state dict under Hugging Face names (the inverse of load_hf_bert's mapping)."""
    out = {}
    for name, t in model.state_dict().items():
        n = name if name.startswith("classifier.") else prefix + name
        if old_layernorm_names:
            n = re.sub(r"LayerNorm\.weight$", "LayerNorm.gamma", n)
            n = re.sub(r"LayerNorm\.bias$", "LayerNorm.beta", n)
        out[n] = t.detach().clone()
    if mlm_head is not None:
        inv = {v: k for k, v in MLM_NAMES.items()}
        for k, t in mlm_head.state_dict().items():
            out[inv[k]] = t.detach().clone()
        out["cls.predictions.decoder.weight"] = model.embeddings.word_embeddings.weight.detach().clone()
    return out
