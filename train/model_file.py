"""The inforcoef model file (docs/model-format.md): InforCoefModel + vocab <-> one safetensors file.

    save_model(path, model, vocab, dtype="f32"|"f16"|"i8"|"i4", producer=..., teacher=None) -> bytes written
    encode_model(model, vocab, dtype, producer, teacher=None) -> bytes
    teacher_config(config dict, labels) -> the config's optional `teacher` as a ModelConfig, or None
    load_model(path) -> (InforCoefModel in eval mode, vocab list, ModelFile)
    decode_model(buf) -> ModelFile(config, vocab, state_dict (float32 torch, dequantised), dtypes, metadata)
    expected_shapes(config) -> {tensor name: shape} in file order (the spec's table)
    quantize_i8(w) / dequantize_i8(q, scale): symmetric per-row int8
    quantize_i4(w) / dequantize_i4(packed, scale, cols): symmetric per-row 4-bit, two codes a byte

dtype "i4" is "i8" with the three embedding tables at 4 bits (U8 [rows, ceil(cols / 2)] + `_scale`):
they are most of a compact model's bytes and, decoded once per token, lose little at 4 bits.

On top of the container checks of train/safetensors_io.py, decode_model refuses: a file that is
not marked `format: inforcoef`, a bad config (including layer_norm_eps <= 0 as a float32), a vocab whose length differs from vocab_size, an
unknown tensor, a missing tensor, a shape that the config does not imply, a 1-D tensor that is
not F32, an I8 or U8 tensor without its `_scale` (or a `_scale` without its I8 / U8 tensor, or of
the wrong dtype/shape), a U8 tensor that is not an embedding table. Errors are ModelFileError (a SafetensorsError) naming the tensor and the problem.
"""
import json
from collections import OrderedDict, namedtuple

import numpy as np
import torch

from train import safetensors_io as st
from train.model import InforCoefModel, LayerShape, ModelConfig

DTYPE_CHOICES = ("f32", "f16", "i8", "i4")
# the tables "i4" packs at 4 bits (and the only tensors a file may hold as U8)
I4_TABLES = ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
             "embeddings.token_type_embeddings.weight")
MAX_POSITION = 4096   # docs/model-format.md; the runtime plans its working memory for max_position rows
SCALE_SUFFIX = "_scale"


class ModelFileError(st.SafetensorsError):
    pass


ModelFile = namedtuple("ModelFile", "config vocab state_dict dtypes metadata")


def check_file_config(cfg):
    """What a model file's config needs beyond ModelConfig.validate (which training configs share),
    as the C and JS readers require (docs/model-format.md): layer_norm_eps > 0 as a float32 (eps 0
    makes LayerNorm of a constant row 0/0, and 1e-50 rounds to 0 in float32); max_position <= 4096."""
    if cfg.max_position > MAX_POSITION:
        raise ModelFileError(f"bad config: max_position must be at most {MAX_POSITION}, got {cfg.max_position}")
    eps = cfg.layer_norm_eps
    # > 0 as a float32 <=> > 2^-150 as a double (half the smallest subnormal rounds to 0); compared
    # in double, since np.float32 of a subnormal reads as 0 under torch.set_flush_denormal(True)
    if not (isinstance(eps, (int, float)) and not isinstance(eps, bool) and eps > 2.0 ** -150):
        raise ModelFileError(f"bad config: layer_norm_eps must be a finite number > 0 (as a float32), got {eps!r}")


def expected_shapes(cfg):
    """The spec's tensor table for a config: OrderedDict name -> shape tuple, in file order."""
    d, hs = cfg.hidden_size, cfg.head_size
    out = OrderedDict()
    out["embeddings.word_embeddings.weight"] = (cfg.vocab_size, d)
    out["embeddings.position_embeddings.weight"] = (cfg.max_position, d)
    out["embeddings.token_type_embeddings.weight"] = (cfg.type_vocab_size, d)
    out["embeddings.LayerNorm.weight"] = (d,)
    out["embeddings.LayerNorm.bias"] = (d,)
    for i, layer in enumerate(cfg.layers):
        p = f"encoder.layer.{i}."
        if layer.sampler:
            out[p + "sampler.ln1.weight"] = (d,)
            out[p + "sampler.ln1.bias"] = (d,)
            out[p + "sampler.dense1.weight"] = (d, d)
            out[p + "sampler.dense1.bias"] = (d,)
            out[p + "sampler.ln2.weight"] = (d,)
            out[p + "sampler.ln2.bias"] = (d,)
            out[p + "sampler.dense2.weight"] = (2, d)
            out[p + "sampler.dense2.bias"] = (2,)
        if layer.heads > 0:
            a = layer.heads * hs
            for proj in ("query", "key", "value"):
                out[p + f"attention.self.{proj}.weight"] = (a, d)
                out[p + f"attention.self.{proj}.bias"] = (a,)
            out[p + "attention.output.dense.weight"] = (d, a)
            out[p + "attention.output.dense.bias"] = (d,)
            out[p + "attention.output.LayerNorm.weight"] = (d,)
            out[p + "attention.output.LayerNorm.bias"] = (d,)
        if layer.ffn > 0:
            f = layer.ffn
            out[p + "intermediate.dense.weight"] = (f, d)
            out[p + "intermediate.dense.bias"] = (f,)
            out[p + "output.dense.weight"] = (d, f)
            out[p + "output.dense.bias"] = (d,)
            out[p + "output.LayerNorm.weight"] = (d,)
            out[p + "output.LayerNorm.bias"] = (d,)
    out["pooler.dense.weight"] = (d, d)
    out["pooler.dense.bias"] = (d,)
    out["classifier.weight"] = (cfg.num_labels, d)
    out["classifier.bias"] = (cfg.num_labels,)
    return out


def _describe(cfg, name):
    """The config fields a tensor's expected shape comes from (for error messages)."""
    parts = [f"hidden_size={cfg.hidden_size}"]
    if name.startswith("encoder.layer."):
        i = int(name.split(".")[2])
        l = cfg.layers[i]
        parts.append(f"layers[{i}]: heads={l.heads}, ffn={l.ffn}, sampler={str(l.sampler).lower()}")
        parts.append(f"head_size={cfg.head_size}")
    elif "word_embeddings" in name:
        parts.append(f"vocab_size={cfg.vocab_size}")
    elif "position" in name:
        parts.append(f"max_position={cfg.max_position}")
    elif "token_type" in name:
        parts.append(f"type_vocab_size={cfg.type_vocab_size}")
    elif name.startswith("classifier"):
        parts.append(f"{cfg.num_labels} labels")
    return ", ".join(parts)


# ----------------------------------------------------------------------------------------------
# quantisation

def _symmetric_rows(w, qmax):
    """w: [rows, cols] float -> (int8 codes in -qmax..qmax, float32 scale [rows]): scale =
    max|row| / qmax (1 for a zero row), codes = clip(rint(w / scale)); w ~ scale[:, None] * q."""
    w = np.asarray(w, dtype=np.float32)
    amax = np.abs(w).max(axis=1) if w.shape[1] > 0 else np.zeros(w.shape[0], np.float32)
    scale = np.where(amax > 0, amax / float(qmax), 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -qmax, qmax).astype(np.int8)
    return q, scale


def quantize_i8(w):
    """w: [rows, cols] float -> (int8 [rows, cols], float32 scale [rows]); w ~ scale[:, None] * q."""
    return _symmetric_rows(w, 127)


def dequantize_i8(q, scale):
    return q.astype(np.float32) * np.asarray(scale, np.float32)[:, None]


def packed_cols(cols):
    """Bytes in a row of a packed 4-bit table (U8) of cols codes, two a byte."""
    return (cols + 1) // 2


def quantize_i4(w):
    """w: [rows, cols] float -> (uint8 [rows, ceil(cols / 2)], float32 scale [rows]): codes
    clip(rint(w / scale), -7, 7) with scale = max|row| / 7, as two's complement nibbles, column 2j
    in the low nibble of byte j and 2j + 1 in the high one (a last odd column's high nibble is 0)."""
    q, scale = _symmetric_rows(w, 7)
    rows, cols = q.shape
    if cols % 2:
        q = np.concatenate([q, np.zeros((rows, 1), np.int8)], axis=1)
    nib = q.view(np.uint8) & 0x0F
    return (nib[:, 0::2] | (nib[:, 1::2] << 4)).astype(np.uint8), scale


def dequantize_i4(packed, scale, cols):
    packed = np.asarray(packed, np.uint8)
    codes = np.empty((packed.shape[0], 2 * packed.shape[1]), np.int8)
    codes[:, 0::2] = (packed & 0x0F).astype(np.int8)
    codes[:, 1::2] = (packed >> 4).astype(np.int8)
    codes = np.where(codes > 7, codes - 16, codes).astype(np.int8)[:, :cols]
    return codes.astype(np.float32) * np.asarray(scale, np.float32)[:, None]


def file_arrays(state_dict, cfg, dtype="f32"):
    """state_dict (spec names) -> OrderedDict of numpy arrays to write, in file order.

    1-D tensors are always F32; 2-D ones become F16, or I8 + `<name>_scale` F32 [rows]; "i4" is
    "i8" with the embedding tables as packed 4-bit U8 + `<name>_scale`."""
    if dtype not in DTYPE_CHOICES:
        raise ValueError(f"dtype {dtype!r} is not one of {DTYPE_CHOICES}")
    shapes = expected_shapes(cfg)
    extra = set(state_dict) - set(shapes)
    if extra:
        raise ModelFileError(f"state_dict has tensors the spec does not list: {sorted(extra)[:5]}")
    out = OrderedDict()
    for name, shape in shapes.items():
        if name not in state_dict:
            raise ModelFileError(f"missing tensor '{name}' in state_dict")
        w = state_dict[name].detach().to("cpu", torch.float32).numpy()
        if tuple(w.shape) != shape:
            raise ModelFileError(f"tensor '{name}' has shape {list(w.shape)}, config implies {list(shape)}")
        if w.ndim == 1 or dtype == "f32":
            out[name] = np.ascontiguousarray(w, np.float32)
        elif dtype == "f16":
            out[name] = w.astype(np.float16)
        else:
            q, scale = quantize_i4(w) if dtype == "i4" and name in I4_TABLES else quantize_i8(w)
            out[name] = q
            out[name + SCALE_SUFFIX] = scale
    return out


# ----------------------------------------------------------------------------------------------
# the optional `teacher` config key

def teacher_entry(teacher_cfg):
    """The config's optional `teacher` value for the dense model this one was compressed from:
    {"hidden_size", "head_size", "layers": [{"heads", "ffn"}]}, enough for its FLOPs on n tokens
    (the spec's formula, every n_i = n, this model's label count)."""
    return {"hidden_size": int(teacher_cfg.hidden_size), "head_size": int(teacher_cfg.head_size),
            "layers": [{"heads": int(l.heads), "ffn": int(l.ffn)} for l in teacher_cfg.layers]}


def teacher_config(config, labels):
    """The `teacher` of a parsed config dict as a ModelConfig (no samplers, `labels` of this model)
    for train.flops.dense_flops, or None when absent or malformed (the key is informational)."""
    t = config.get("teacher") if isinstance(config, dict) else None
    try:
        if not isinstance(t, dict) or not isinstance(t.get("layers"), list):
            return None
        ints = [t["hidden_size"], t["head_size"]] + [v for l in t["layers"] for v in (l["heads"], l["ffn"])]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints) or min(ints[:2]) < 1:
            return None
        layers = [LayerShape(l["heads"], l["ffn"], False) for l in t["layers"]]
        return ModelConfig(hidden_size=t["hidden_size"], head_size=t["head_size"], layers=layers,
                           vocab_size=1, labels=list(labels))
    except (KeyError, TypeError):
        return None


# ----------------------------------------------------------------------------------------------
# write

def encode_model(model, vocab, dtype="f32", producer="train.export", teacher=None):
    """teacher: the ModelConfig of the dense teacher, recorded as the config's `teacher` (optional)."""
    cfg = model.config
    vocab = list(vocab)
    if len(vocab) != cfg.vocab_size:
        raise ValueError(f"vocab has {len(vocab)} tokens, config.vocab_size is {cfg.vocab_size}")
    bad = [t for t in vocab if "\n" in t]
    if bad:
        raise ValueError(f"vocab tokens must not contain a newline: {bad[:3]!r}")
    check_file_config(cfg)
    conf = cfg.to_dict()
    conf["producer"] = producer
    if teacher is not None:
        conf["teacher"] = teacher_entry(teacher)
    meta = {"format": "inforcoef", "config": json.dumps(conf), "vocab": "\n".join(vocab)}
    return st.encode(file_arrays(model.state_dict(), cfg, dtype), meta)


def save_model(path, model, vocab, dtype="f32", producer="train.export", teacher=None):
    data = encode_model(model, vocab, dtype, producer, teacher)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


# ----------------------------------------------------------------------------------------------
# read

def decode_model(buf):
    try:
        arrays, meta = st.decode(buf)
    except ModelFileError:
        raise
    except st.SafetensorsError as e:
        raise ModelFileError(str(e)) from None
    if meta.get("format") != "inforcoef":
        raise ModelFileError(f"not an inforcoef model file: __metadata__.format is {meta.get('format')!r}")
    for key in ("config", "vocab"):
        if key not in meta:
            raise ModelFileError(f"__metadata__ has no '{key}'")
    try:
        cfg = ModelConfig.from_json(meta["config"], strict=True)
    except (ValueError, TypeError) as e:
        raise ModelFileError(f"bad config: {e}") from None
    check_file_config(cfg)
    vocab = meta["vocab"].split("\n")
    if len(vocab) != cfg.vocab_size:
        raise ModelFileError(f"config inconsistent with vocab: vocab has {len(vocab)} tokens, "
                             f"config.vocab_size is {cfg.vocab_size}")
    shapes = expected_shapes(cfg)
    for name in arrays:
        base = name[:-len(SCALE_SUFFIX)] if name.endswith(SCALE_SUFFIX) else None
        if name not in shapes and base not in shapes:
            raise ModelFileError(f"unknown tensor '{name}' (not in the spec's table for this config)")
    for name in shapes:
        if name not in arrays:
            raise ModelFileError(f"missing tensor '{name}' (required by the config: {_describe(cfg, name)})")
    dtypes = {n: st.dtype_name(a) for n, a in arrays.items()}
    state = OrderedDict()
    for name, shape in shapes.items():
        a = arrays[name]
        dt = dtypes[name]
        if dt == "U8" and name not in I4_TABLES:
            raise ModelFileError(f"tensor '{name}': U8 (packed 4-bit) is allowed for the embedding tables only")
        stored = (shape[0], packed_cols(shape[1])) if dt == "U8" else shape
        if tuple(a.shape) != stored:
            raise ModelFileError(f"config inconsistent with tensor shapes: '{name}' is {list(a.shape)}, "
                                 f"config ({_describe(cfg, name)}) implies {list(stored)}"
                                 + (" (4-bit codes, two a byte)" if dt == "U8" else ""))
        scale_name = name + SCALE_SUFFIX
        if len(shape) == 1 and dt != "F32":
            raise ModelFileError(f"tensor '{name}': 1-D tensors must be F32, got {dt}")
        if dt in ("I8", "U8"):
            if scale_name not in arrays:
                raise ModelFileError(f"bad _scale pairing: {dt} tensor '{name}' has no '{scale_name}'")
            s = arrays[scale_name]
            if dtypes[scale_name] != "F32" or tuple(s.shape) != (shape[0],):
                raise ModelFileError(f"bad _scale pairing: '{scale_name}' must be F32 [{shape[0]}], "
                                     f"got {dtypes[scale_name]} {list(s.shape)}")
            w = dequantize_i8(a, s) if dt == "I8" else dequantize_i4(a, s, shape[1])
        else:
            if scale_name in arrays:
                raise ModelFileError(f"bad _scale pairing: '{scale_name}' present but '{name}' is {dt}, not I8 or U8")
            w = a.astype(np.float32)
        state[name] = torch.from_numpy(np.ascontiguousarray(w))
    return ModelFile(cfg, vocab, state, dtypes, meta)


def model_from_file(mf):
    model = InforCoefModel(mf.config)
    model.load_state_dict(mf.state_dict, strict=True)
    return model.eval()


def load_model(path):
    """-> (InforCoefModel in eval mode, vocab list, ModelFile)."""
    with open(path, "rb") as f:
        mf = decode_model(f.read())
    return model_from_file(mf), mf.vocab, mf
