"""The Infor-Coef encoder in plain PyTorch: a BERT whose shape can be pruned per layer (CoFi) and
whose layers may carry token samplers (dynamic token downsampling). docs/model-format.md is the
spec; state_dict() names are exactly the spec's tensor names, so export is a rename-free dump.

Interface (what the other train/ modules call):

    cfg = ModelConfig.dense(num_layers=12, hidden=768, heads=12, ffn=3072, vocab_size=30522)
    cfg = ModelConfig.from_json(text_or_dict); cfg.to_json() -> str; cfg.to_dict() -> dict
        cfg.layers = [LayerShape(heads, ffn, sampler), ...]; heads 0 / ffn 0 = block removed

    model = InforCoefModel(cfg)          # BERT init (normal 0.02, zero bias, LN 1/0),
                                         # sampler last bias = (drop -5, keep +5)
    model.embeddings, model.encoder.layer[i] (alias model.layers[i]), model.pooler, model.classifier
    layer.sampler / layer.attention / layer.ffn  (None when absent; layer.ffn is a view of
                                         layer.intermediate + layer.output, the spec's names)

    out = model(input_ids, token_type_ids=None, attention_mask=None, *, threshold=None,
                tau=1.0, masks=None, output_hidden_states=False, compact=None)
        input_ids, token_type_ids, attention_mask: [B, n] (mask 1 = real token, 0 = padding)
        out.logits          [B, L]
        out.hidden_states   list of num_layers + 1 tensors [B, n, d] (embedding output, then each
                            layer's output) when output_hidden_states; rows of dropped tokens are
                            zero in compact (eval) mode
        out.sampler_logits  per layer: [B, n, 2] (column 0 = drop, 1 = keep) or None (no sampler)
        out.keep_probs      per layer: [B, n] softmax keep probability, or None
        out.keep_masks      per layer: [B, n] cumulative keep mask (1 = row takes part in the
                            layer; padding 0, [CLS] 1), also for layers without a sampler
        out.kept            [B, num_layers] rows entering each layer after its sampler
                            (LongTensor in eval mode; float sums of the masks in training)
        out.flops           [B] FLOPs of each sequence per train/flops.py (LongTensor in eval)

    Modes:
      training (model.train()): samplers draw Gumbel-softmax straight-through keep decisions
        (hard, temperature tau), cumulative over layers; dropped rows stay in the tensor but are
        masked out as attention keys/values by masked_softmax (keep_j e_j / sum keep_k e_k), so
        the straight-through gradient reaches the sampler.
      eval (model.eval()): keep = (logit_keep - logit_drop) > threshold (None: cfg.keep_threshold),
        [CLS] always kept, and each sequence is PHYSICALLY compacted (a loop over the batch), so
        later layers run on kept rows only: this is the reference the C runtime matches.
        compact=False in eval mode runs the same decisions by masking instead (for tests).

    masks: optional CoFi gates (Xia et al. 2022), a dict with any of
        'hidden_z' [d], 'head_z' per layer [heads_i] (list or [num_layers, H] tensor),
        'mha_z' [num_layers], 'intermediate_z' per layer [ffn_i], 'ffn_z' [num_layers].
      head_z scales each head's context before the output projection; mha_z / ffn_z scale the
      block output (with bias) before the residual; intermediate_z scales FFN neurons after GELU;
      hidden_z multiplies the embedding output, each sublayer output and the pooler output, and
      every LayerNorm is computed over the dims where hidden_z != 0 only. A block whose mha_z /
      ffn_z is exactly 0, or whose head_z / intermediate_z are all exactly 0, is the identity
      (residual and LayerNorm skipped), as a materialised model without that block
      (train/materialize.py cuts all of these out exactly).

    model.encode(input_ids, token_type_ids=None, attention_mask=None, masks=None) -> [B, n, d]
        sequence output for pretraining (samplers are not used).
    MLMHead(cfg, model.embeddings.word_embeddings)(sequence_output) -> [B, n, V] MLM logits
        (dense d->d, GELU, LayerNorm, decoder tied to the word embeddings + its own bias).
"""
import json
import math
from dataclasses import dataclass, field, asdict
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from train import flops as flops_lib

FORMAT_VERSION = 1
DEFAULT_SPECIAL_TOKENS = {"cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]", "mask": "[MASK]"}
SAMPLER_INIT_BIAS = (-5.0, 5.0)   # (drop, keep): a fresh sampler keeps every token
# config keys a model file must have (docs/model-format.md); the rest have defaults
REQUIRED_KEYS = ("format_version", "hidden_size", "head_size", "max_position", "type_vocab_size",
                 "vocab_size", "layer_norm_eps", "keep_threshold", "labels", "layers")


def _integer(name, v):
    """A JSON integer (4 or 4.0), not a bool."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v != int(v):
        raise ValueError(f"config: {name} is not an integer: {v!r}")
    return int(v)


# ----------------------------------------------------------------------------------------------
# config

@dataclass
class LayerShape:
    heads: int            # attention heads; 0 = attention block removed
    ffn: int              # FFN width; 0 = FFN block removed
    sampler: bool = False # token sampler on the layer's input


@dataclass
class ModelConfig:
    hidden_size: int
    head_size: int
    layers: List[LayerShape]
    vocab_size: int
    max_position: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    do_lower_case: bool = True
    labels: List[str] = field(default_factory=lambda: ["negative", "positive"])
    task: str = ""
    keep_threshold: float = 0.0
    special_tokens: dict = field(default_factory=lambda: dict(DEFAULT_SPECIAL_TOKENS))
    # training only (not written to model files)
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    initializer_range: float = 0.02

    TRAINING_KEYS = ("hidden_dropout", "attention_dropout", "initializer_range")

    def __post_init__(self):
        self.layers = [l if isinstance(l, LayerShape) else LayerShape(**l) for l in self.layers]

    @property
    def num_layers(self):
        return len(self.layers)

    @property
    def num_labels(self):
        return len(self.labels)

    @classmethod
    def dense(cls, num_layers, hidden, heads, ffn, vocab_size=30522, **kwargs):
        """A plain BERT shape: every layer has `heads` heads of hidden/heads dims and FFN `ffn`."""
        if hidden % heads != 0:
            raise ValueError(f"hidden {hidden} is not a multiple of heads {heads}")
        layers = [LayerShape(heads, ffn, False) for _ in range(num_layers)]
        return cls(hidden_size=hidden, head_size=hidden // heads, layers=layers,
                   vocab_size=vocab_size, **kwargs)

    def to_dict(self, training=False):
        """The spec's `config` object (plus the training-only fields when training=True)."""
        out = {"format_version": FORMAT_VERSION}
        for k, v in asdict(self).items():
            if k in self.TRAINING_KEYS and not training:
                continue
            out[k] = v
        out["layers"] = [{"heads": int(l.heads), "ffn": int(l.ffn), "sampler": bool(l.sampler)}
                         for l in self.layers]
        return out

    def to_json(self, training=False):
        return json.dumps(self.to_dict(training))

    @classmethod
    def from_json(cls, text_or_dict, strict=False):
        """Parse a spec `config` (str or dict); unknown keys are ignored, as the spec says.

        strict=True (model files) requires every key the spec marks required, with the types
        the C runtime requires; otherwise missing optional keys take the dataclass defaults."""
        d = json.loads(text_or_dict) if isinstance(text_or_dict, (str, bytes)) else dict(text_or_dict)
        if not isinstance(d, dict):
            raise ValueError("config is not a JSON object")
        required = REQUIRED_KEYS if strict else ("hidden_size", "head_size", "layers", "vocab_size")
        missing = [k for k in required if k not in d]
        if missing:
            raise ValueError(f"config: missing keys {missing}")
        version = d.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(f"config: format_version {version!r} is not supported (want {FORMAT_VERSION})")
        for k in ("layer_norm_eps", "keep_threshold"):
            v = d.get(k, 0.0)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"config: {k} is not a finite number: {v!r}")
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in d.items() if k in known}
        if not isinstance(d["layers"], list):
            raise ValueError("config: layers must be an array")
        layers = []
        for i, l in enumerate(d["layers"]):
            if not isinstance(l, dict) or not all(k in l for k in ("heads", "ffn")):
                raise ValueError(f"config: layers[{i}] must be an object with heads, ffn, sampler")
            if strict and "sampler" not in l:
                raise ValueError(f"config: layers[{i}] has no sampler (true/false)")
            sampler = l.get("sampler", False)
            if "sampler" in l and not isinstance(sampler, bool):
                raise ValueError(f"config: layers[{i}].sampler must be true or false, got {sampler!r}")
            layers.append(LayerShape(_integer(f"layers[{i}].heads", l["heads"]),
                                     _integer(f"layers[{i}].ffn", l["ffn"]), sampler))
        kwargs["layers"] = layers
        for k in ("hidden_size", "head_size", "max_position", "type_vocab_size", "vocab_size"):
            if k in kwargs:
                kwargs[k] = _integer(k, kwargs[k])
        if "labels" in kwargs and not (isinstance(kwargs["labels"], list)
                                       and all(isinstance(x, str) for x in kwargs["labels"])):
            raise ValueError("config: labels must be an array of strings")
        cfg = cls(**kwargs)
        cfg.validate()
        return cfg

    def validate(self):
        def positive_int(name, v, allow_zero=False):
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if allow_zero else 1):
                raise ValueError(f"config: {name} must be a {'non-negative' if allow_zero else 'positive'} integer, got {v!r}")
        for k in ("hidden_size", "head_size", "max_position", "type_vocab_size", "vocab_size"):
            positive_int(k, getattr(self, k))
        for i, l in enumerate(self.layers):
            positive_int(f"layers[{i}].heads", l.heads, allow_zero=True)
            positive_int(f"layers[{i}].ffn", l.ffn, allow_zero=True)
        if not self.labels:
            raise ValueError("config: labels must not be empty")
        if not (isinstance(self.layer_norm_eps, (int, float)) and self.layer_norm_eps >= 0):
            raise ValueError(f"config: layer_norm_eps must be >= 0, got {self.layer_norm_eps!r}")


# ----------------------------------------------------------------------------------------------
# helpers

def masked_layer_norm(x, ln, hidden_z=None):
    """LayerNorm over the dims where hidden_z != 0 only; the other dims come out 0.

    x: [..., d]. With hidden_z None this is ln(x). Cutting the zero dims out of x and ln later
    gives exactly the kept dims of this result (CoFi's hidden-dimension pruning)."""
    if hidden_z is None:
        return ln(x)
    idx = torch.nonzero(hidden_z != 0, as_tuple=False).flatten()   # [d_kept]
    y = F.layer_norm(x.index_select(-1, idx), (idx.numel(),), ln.weight[idx], ln.bias[idx], ln.eps)
    # y may be float32 under autocast while x is half: build the output in y's dtype
    return y.new_zeros(x.shape).index_copy(x.dim() - 1, idx, y)


def masked_softmax(scores, keep):
    """softmax over the keys with keep = 1; keep is 0/1 valued, possibly straight-through.

    scores: [..., n] ; keep: broadcastable to scores, 0/1 values. Computed as
    keep_j e_j / sum_k keep_k e_k (in float32), which equals a softmax over the kept keys in the
    forward pass, and gives the sampler a non-zero gradient for a dropped key (what keeping it
    would change). e_j = exp(min(s_j - max over kept keys, 0)): no overflow, and the kept key
    with the largest score contributes 1, so the sum never underflows to 0. A row with no kept
    key at all (a fully padded sequence) gives zeros, not NaN."""
    scores = scores.float()
    keep = keep.float()
    live = (keep > 0.5).detach()
    top = scores.masked_fill(~live, float("-inf")).amax(dim=-1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top)).detach()
    e = torch.exp((scores - top).clamp(max=0.0)) * keep
    return e / e.sum(dim=-1, keepdim=True).clamp_min(1e-30)


def _scale(x, z):
    return x if z is None else x * z


def _block_removed(block_z, unit_z):
    """True when a CoFi gate turns a whole block off (exactly 0): the block is then the identity."""
    if block_z is not None and bool((block_z == 0).all()):
        return True
    if unit_z is not None and bool((unit_z == 0).all()):
        return True
    return False


# ----------------------------------------------------------------------------------------------
# modules (attribute names = the spec's tensor names)

class Embeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg.hidden_size
        self.word_embeddings = nn.Embedding(cfg.vocab_size, d)          # [V, d]
        self.position_embeddings = nn.Embedding(cfg.max_position, d)    # [P, d]
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, d)  # [T, d]
        self.LayerNorm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout)

    def forward(self, input_ids, token_type_ids, hidden_z=None):
        # input_ids, token_type_ids: [B, n] -> [B, n, d]
        n = input_ids.shape[1]
        pos = torch.arange(n, device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos)[None] \
            + self.token_type_embeddings(token_type_ids)
        x = masked_layer_norm(x, self.LayerNorm, hidden_z)
        return _scale(self.dropout(x), hidden_z)


class TokenSampler(nn.Module):
    """LayerNorm(d), Linear(d,d), LayerNorm(d), GELU, Linear(d,2) -> [drop, keep] logits."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg.hidden_size
        self.ln1 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.dense1 = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.dense2 = nn.Linear(d, 2)

    def forward(self, h, hidden_z=None):
        # h: [B, n, d] -> [B, n, 2]
        x = self.dense1(masked_layer_norm(h, self.ln1, hidden_z))
        x = masked_layer_norm(_scale(x, hidden_z), self.ln2, hidden_z)
        return self.dense2(F.gelu(x))


class SelfAttention(nn.Module):
    def __init__(self, d, a):
        super().__init__()
        self.query = nn.Linear(d, a)   # [a, d]
        self.key = nn.Linear(d, a)
        self.value = nn.Linear(d, a)


class DenseLayerNorm(nn.Module):
    """dense (in -> d), dropout, LayerNorm(residual + .): BERT's SelfOutput and Output."""

    def __init__(self, n_in, d, eps, dropout):
        super().__init__()
        self.dense = nn.Linear(n_in, d)
        self.LayerNorm = nn.LayerNorm(d, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, residual, block_z=None, hidden_z=None):
        y = _scale(_scale(self.dense(x), block_z), hidden_z)
        return masked_layer_norm(self.dropout(y) + residual, self.LayerNorm, hidden_z)


class Attention(nn.Module):
    def __init__(self, cfg, heads):
        super().__init__()
        self.heads = heads
        self.head_size = cfg.head_size
        a = heads * cfg.head_size
        self.self = SelfAttention(cfg.hidden_size, a)
        self.output = DenseLayerNorm(a, cfg.hidden_size, cfg.layer_norm_eps, cfg.hidden_dropout)
        self.attn_dropout = nn.Dropout(cfg.attention_dropout)

    def forward(self, h, key_keep=None, head_z=None, mha_z=None, hidden_z=None):
        # h: [B, n, d]; key_keep: [B, n] float 0/1 (None = every row is a key) -> [B, n, d]
        B, n, _ = h.shape
        H, hs = self.heads, self.head_size

        def split(x):  # [B, n, a] -> [B, H, n, hs]
            return x.view(B, n, H, hs).transpose(1, 2)

        q = split(self.self.query(h))
        k = split(self.self.key(h))
        v = split(self.self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hs)    # [B, H, n, n]
        if key_keep is None:
            probs = torch.softmax(scores, dim=-1)
        else:
            probs = masked_softmax(scores, key_keep[:, None, None, :]).to(scores.dtype)
        probs = self.attn_dropout(probs)
        ctx = torch.matmul(probs, v)                                       # [B, H, n, hs]
        if head_z is not None:
            ctx = ctx * head_z.view(1, H, 1, 1).to(ctx.dtype)
        ctx = ctx.transpose(1, 2).reshape(B, n, H * hs)                    # [B, n, a]
        return self.output(ctx, h, mha_z, hidden_z)


class Intermediate(nn.Module):
    def __init__(self, d, f):
        super().__init__()
        self.dense = nn.Linear(d, f)   # [f, d]

    def forward(self, h, intermediate_z=None):
        return _scale(F.gelu(self.dense(h)), intermediate_z)   # [B, n, f]


class FFNView:
    """layer.ffn: the FFN block as one object (its tensors live in layer.intermediate/.output)."""

    def __init__(self, intermediate, output):
        self.intermediate = intermediate
        self.output = output

    def __call__(self, h, intermediate_z=None, ffn_z=None, hidden_z=None):
        return self.output(self.intermediate(h, intermediate_z), h, ffn_z, hidden_z)


class EncoderLayer(nn.Module):
    def __init__(self, cfg, shape):
        super().__init__()
        self.sampler = TokenSampler(cfg) if shape.sampler else None
        self.attention = Attention(cfg, shape.heads) if shape.heads > 0 else None
        if shape.ffn > 0:
            self.intermediate = Intermediate(cfg.hidden_size, shape.ffn)
            self.output = DenseLayerNorm(shape.ffn, cfg.hidden_size, cfg.layer_norm_eps, cfg.hidden_dropout)
        else:
            self.intermediate = None
            self.output = None

    @property
    def ffn(self):
        return None if self.intermediate is None else FFNView(self.intermediate, self.output)

    def forward(self, h, key_keep=None, head_z=None, mha_z=None, intermediate_z=None, ffn_z=None,
                hidden_z=None):
        # h: [B, n, d] -> [B, n, d]; the sampler is run by the model (it changes the rows).
        if self.attention is not None and not _block_removed(mha_z, head_z):
            h = self.attention(h, key_keep, head_z, mha_z, hidden_z)
        if self.intermediate is not None and not _block_removed(ffn_z, intermediate_z):
            h = self.output(self.intermediate(h, intermediate_z), h, ffn_z, hidden_z)
        return h


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList([EncoderLayer(cfg, s) for s in cfg.layers])


class Pooler(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.dense = nn.Linear(d, d)

    def forward(self, cls_row, hidden_z=None):
        # cls_row: [B, d] -> [B, d]
        return _scale(torch.tanh(self.dense(cls_row)), hidden_z)


@dataclass
class ModelOutput:
    logits: torch.Tensor
    hidden_states: Optional[list] = None
    sampler_logits: Optional[list] = None
    keep_probs: Optional[list] = None
    keep_masks: Optional[list] = None
    kept: Optional[torch.Tensor] = None
    flops: Optional[torch.Tensor] = None


def _layer_masks(masks, i):
    """(head_z, mha_z, intermediate_z, ffn_z) of layer i from a CoFi mask dict."""
    if not masks:
        return None, None, None, None

    def pick(key):
        m = masks.get(key)
        return None if m is None else m[i]
    return pick("head_z"), pick("mha_z"), pick("intermediate_z"), pick("ffn_z")


class InforCoefModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.config = cfg
        self.embeddings = Embeddings(cfg)
        self.encoder = Encoder(cfg)
        self.pooler = Pooler(cfg.hidden_size)
        self.dropout = nn.Dropout(cfg.hidden_dropout)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)   # [L, d]
        self.apply(self._init_weights)
        for layer in self.encoder.layer:
            if layer.sampler is not None:
                with torch.no_grad():
                    layer.sampler.dense2.bias.copy_(torch.tensor(SAMPLER_INIT_BIAS))

    @property
    def layers(self):
        return self.encoder.layer

    def _init_weights(self, m):
        std = self.config.initializer_range
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, std)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    # -- pretraining path ------------------------------------------------------------------

    def encode(self, input_ids, token_type_ids=None, attention_mask=None, masks=None):
        """Sequence output [B, n, d] of the encoder without samplers (MLM pretraining)."""
        input_ids, token_type_ids, attention_mask = self._defaults(input_ids, token_type_ids, attention_mask)
        hidden_z = masks.get("hidden_z") if masks else None
        h = self.embeddings(input_ids, token_type_ids, hidden_z)
        keep = attention_mask.to(h.dtype)
        for i, layer in enumerate(self.encoder.layer):
            h = layer(h, keep, *_layer_masks(masks, i), hidden_z=hidden_z)
        return h

    # -- classification --------------------------------------------------------------------

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, *, threshold=None,
                tau=1.0, masks=None, output_hidden_states=False, compact=None):
        input_ids, token_type_ids, attention_mask = self._defaults(input_ids, token_type_ids, attention_mask)
        if threshold is None:
            threshold = self.config.keep_threshold
        if compact is None:
            compact = not self.training
        if compact and self.training:
            raise ValueError("compact=True needs eval mode (training uses Gumbel masks)")
        if compact:
            return self._forward_compact(input_ids, token_type_ids, attention_mask, threshold,
                                         masks, output_hidden_states)
        return self._forward_masked(input_ids, token_type_ids, attention_mask, threshold, tau,
                                    masks, output_hidden_states)

    def _defaults(self, input_ids, token_type_ids, attention_mask):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return input_ids, token_type_ids, attention_mask

    def _classify(self, cls_row, hidden_z):
        # cls_row: [B, d] -> [B, L]
        return self.classifier(self.dropout(self.pooler(cls_row, hidden_z)))

    def _sample_keep(self, s, threshold, tau):
        """Per-row keep decision from sampler logits s [B, n, 2] -> [B, n] (0/1 values)."""
        if self.training:
            # hard=True: one-hot forward, softmax gradient (straight-through)
            return F.gumbel_softmax(s.float(), tau=tau, hard=True)[..., 1].to(s.dtype)
        return ((s[..., 1] - s[..., 0]) > threshold).to(s.dtype)

    def _forward_masked(self, input_ids, token_type_ids, attention_mask, threshold, tau, masks,
                        output_hidden_states):
        """Training (Gumbel) or eval-by-masking: every row stays, dropped rows are dead keys."""
        hidden_z = masks.get("hidden_z") if masks else None
        h = self.embeddings(input_ids, token_type_ids, hidden_z)          # [B, n, d]
        keep = attention_mask.to(h.dtype)                                 # [B, n]
        lengths = keep.sum(1)                                             # [B]
        states = [h] if output_hidden_states else None
        s_logits, probs, keeps, kept = [], [], [], []
        for i, layer in enumerate(self.encoder.layer):
            if layer.sampler is not None:
                s = layer.sampler(h, hidden_z)                            # [B, n, 2]
                sample = self._sample_keep(s, threshold, tau)             # [B, n]
                # [CLS] (row 0) is always kept; padding stays dead through `keep`
                sample = torch.cat([torch.ones_like(sample[:, :1]), sample[:, 1:]], dim=1)
                keep = keep * sample
                s_logits.append(s)
                probs.append(torch.softmax(s.float(), dim=-1)[..., 1])
            else:
                s_logits.append(None)
                probs.append(None)
            keeps.append(keep)
            kept.append(keep.sum(1))
            h = layer(h, keep, *_layer_masks(masks, i), hidden_z=hidden_z)
            if output_hidden_states:
                states.append(h)
        logits = self._classify(h[:, 0], hidden_z)
        kept_t = torch.stack(kept, dim=1)                                 # [B, num_layers]
        if not self.training:
            kept_t = kept_t.round().long()
            lengths = lengths.round().long()
        flops = torch.stack([torch.as_tensor(flops_lib.sequence_flops(self.config, lengths[b], kept_t[b]))
                             for b in range(kept_t.shape[0])])
        return ModelOutput(logits, states, s_logits, probs, keeps, kept_t, flops)

    @torch.no_grad()
    def _forward_compact(self, input_ids, token_type_ids, attention_mask, threshold, masks,
                         output_hidden_states):
        """The reference: per sequence, dropped rows are removed and never come back."""
        hidden_z = masks.get("hidden_z") if masks else None
        B, n = input_ids.shape
        L = self.config.num_layers
        dev = input_ids.device
        logits, kept, flops = [], torch.zeros(B, L, dtype=torch.long), []
        states = None
        keeps = [torch.zeros(B, n, device=dev) for _ in range(L)]
        s_full = [None] * L
        for b in range(B):
            rows = torch.nonzero(attention_mask[b] != 0, as_tuple=False).flatten()   # [n_b]
            # embed the whole row then select, so positions match the masked path
            h = self.embeddings(input_ids[b:b + 1], token_type_ids[b:b + 1], hidden_z)[:, rows]
            if output_hidden_states and states is None:
                states = [torch.zeros(B, n, h.shape[-1], dtype=h.dtype, device=dev) for _ in range(L + 1)]
            if output_hidden_states:
                states[0][b, rows] = h[0]
            for i, layer in enumerate(self.encoder.layer):
                if layer.sampler is not None:
                    s = layer.sampler(h, hidden_z)[0]                                # [m, 2]
                    if s_full[i] is None:
                        s_full[i] = torch.zeros(B, n, 2, dtype=s.dtype, device=dev)
                    s_full[i][b, rows] = s
                    keep = (s[:, 1] - s[:, 0]) > threshold                            # [m]
                    keep[0] = True
                    h = h[:, keep]
                    rows = rows[keep]
                keeps[i][b, rows] = 1.0
                kept[b, i] = h.shape[1]
                h = layer(h, None, *_layer_masks(masks, i), hidden_z=hidden_z)
                if output_hidden_states:
                    states[i + 1][b, rows] = h[0]
            logits.append(self._classify(h[:, 0], hidden_z)[0])
            n_b = int((attention_mask[b] != 0).sum())
            flops.append(flops_lib.sequence_flops(self.config, n_b, kept[b].tolist()))
        probs = [None if s is None else torch.softmax(s.float(), dim=-1)[..., 1] for s in s_full]
        return ModelOutput(torch.stack(logits), states, s_full, probs, keeps, kept.to(dev),
                           torch.tensor(flops, dtype=torch.long, device=dev))


class MLMHead(nn.Module):
    """BERT's masked-LM head: dense d->d, GELU, LayerNorm, decoder tied to the word embeddings.

    The embedding module is held by reference (not registered), so its weight appears once in
    the model's state_dict and moves with the model on .to(device)."""

    def __init__(self, cfg, word_embeddings: nn.Embedding):
        super().__init__()
        d = cfg.hidden_size
        self.dense = nn.Linear(d, d)
        self.LayerNorm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        self._tied = (word_embeddings,)
        nn.init.normal_(self.dense.weight, 0.0, cfg.initializer_range)
        nn.init.zeros_(self.dense.bias)

    def forward(self, sequence_output):
        # [B, n, d] (or [N, d] for the masked rows only) -> [..., V]
        x = self.LayerNorm(F.gelu(self.dense(sequence_output)))
        return F.linear(x, self._tied[0].weight, self.bias)
