"""Regenerate the golden fixtures in tests/fixtures/ (the C runtime and JS tests read them).

    python3 -m train.make_fixtures [--out tests/fixtures] [--vocab ../shared/data/vocab/bert-base-uncased-vocab.txt]

Three tiny random models, each written as f32, f16, i8 and i4 model files (i4: i8 with 4-bit
embedding tables):
    dense    d=32, 3 layers x (4 heads of 8, FFN 64), 2 labels
    pruned   materialised from a dense d=32 model with CoFi masks: hidden 24, heads 3/0/2,
             FFN 40/24/0 (layer 1's attention and layer 2's FFN removed), 3 labels
    sampled  materialised likewise: hidden 24, heads 2/3/0, FFN 48/0/32, samplers on layers 1
             and 2 that drop tokens, default keep_threshold 0.5
and one JSON per model:
    {"name", "files": {"f32", "f16", "i8", "i4"},
     "cases": [{"name", "ids", "types", "threshold" (null = the config's),
                "expected": {"f32"|"f16"|"i8"|"i4": {"logits": [L], "kept": [per layer], "flops": int}}}]}
Each expected.<dtype> is the eval-mode (compacting) reference run on that file's dequantised
weights. Inputs are redrawn until every sampler decision of every dtype is at least MARGIN
away from the threshold, so float differences between implementations never flip a decision.
Vocabulary: [PAD] [UNK] [CLS] [SEP] [MASK], 5 punctuation marks and the 110 most frequent
words of bert-base-uncased (ids remapped to 0..119).
"""
import argparse
import json
import os

import torch

from train import model_file
from train.materialize import materialize
from train.model import InforCoefModel, LayerShape, ModelConfig

MARGIN = 0.05
VOCAB_SIZE = 120
MAX_POSITION = 48
HEAD_SIZE = 8
DEFAULT_VOCAB = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "vocab",
                             "bert-base-uncased-vocab.txt")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCT = [".", ",", "!", "?", "'"]
CLS, SEP = 2, 3
FIRST_WORD = len(SPECIALS)   # ids below this are special tokens


def fixture_vocab(path):
    """120 tokens: specials, punctuation, then the first words of the BERT vocab after 'the'."""
    with open(path, encoding="utf-8") as f:
        full = [line.rstrip("\n") for line in f]
    for t in SPECIALS + PUNCT:
        if t not in full:
            raise ValueError(f"{path}: no {t!r}")
    words = full[full.index("the"):]
    words = [w for w in words if w not in PUNCT][:VOCAB_SIZE - len(SPECIALS) - len(PUNCT)]
    return SPECIALS + PUNCT + words


@torch.no_grad()
def random_init(model, gen, std=0.3):
    """Non-trivial weights: matrices N(0, std), biases N(0, 0.1), LayerNorm 1 + N(0, 0.1)."""
    for name, p in model.named_parameters():
        noise = torch.randn(p.shape, generator=gen)
        if "LayerNorm" in name or ".ln" in name:
            p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * noise)
        elif name.endswith("bias"):
            p.copy_(0.1 * noise)
        else:
            p.copy_(std * noise)
    for layer in model.layers:
        if layer.sampler is not None:   # decisions spread around 0, some clearly drop
            layer.sampler.dense2.weight.copy_(torch.randn(layer.sampler.dense2.weight.shape, generator=gen))
            layer.sampler.dense2.bias.zero_()


def binary_mask(gen, n, keep):
    """A 0/1 vector of length n with `keep` ones at random places."""
    z = torch.zeros(n)
    z[torch.randperm(n, generator=gen)[:keep]] = 1.0
    return z


def cofi_model(gen, labels, samplers, heads, ffn, hidden, keep_threshold=0.0):
    """A dense d=32 random model cut down by materialize() with binary CoFi masks."""
    big = ModelConfig.dense(3, 32, 4, 64, vocab_size=VOCAB_SIZE, max_position=MAX_POSITION,
                            labels=labels, keep_threshold=keep_threshold, task="fixture")
    for l, s in zip(big.layers, samplers):
        l.sampler = s
    model = InforCoefModel(big)
    random_init(model, gen)
    masks = {
        "hidden_z": binary_mask(gen, 32, hidden),
        "head_z": [binary_mask(gen, 4, max(h, 1)) for h in heads],
        "mha_z": torch.tensor([1.0 if h > 0 else 0.0 for h in heads]),
        "intermediate_z": [binary_mask(gen, 64, max(f, 1)) for f in ffn],
        "ffn_z": torch.tensor([1.0 if f > 0 else 0.0 for f in ffn]),
    }
    small = materialize(model, masks).eval()
    assert [(l.heads, l.ffn) for l in small.config.layers] == list(zip(heads, ffn))
    return small


def build_models(gen):
    dense_cfg = ModelConfig.dense(3, 32, 4, 64, vocab_size=VOCAB_SIZE, max_position=MAX_POSITION,
                                  labels=["negative", "positive"], task="fixture")
    dense = InforCoefModel(dense_cfg)
    random_init(dense, gen)
    pruned = cofi_model(gen, ["a", "b", "c"], [False] * 3, heads=[3, 0, 2], ffn=[40, 24, 0], hidden=24)
    sampled = cofi_model(gen, ["negative", "positive"], [False, True, True], heads=[2, 3, 0],
                         ffn=[48, 0, 32], hidden=24, keep_threshold=0.5)
    return {"dense": dense.eval(), "pruned": pruned, "sampled": sampled}


# (name, length, two segments, threshold); threshold None = the config's keep_threshold
CASES = [
    ("len1", 1, False, None),
    ("len2", 2, False, None),
    ("mid_pair", 17, True, None),
    ("max_pair", MAX_POSITION, True, None),
    ("mid_threshold", 23, False, 1.5),
    ("max_keep_all", MAX_POSITION, False, -1e30),
]


def draw_input(gen, n, pair):
    """[CLS] w.. [SEP] (w.. [SEP]) of length n; types 1 on the second segment."""
    if n == 1:
        return [CLS], [0]
    words = (torch.randint(FIRST_WORD, VOCAB_SIZE, (n,), generator=gen)).tolist()
    ids = [CLS] + words[1:n]
    types = [0] * n
    if n >= 3:
        ids[-1] = SEP
    if pair and n >= 5:
        mid = n // 2
        ids[mid] = SEP
        types = [0] * (mid + 1) + [1] * (n - mid - 1)
    return ids, types


def run(model, ids, types, threshold):
    out = model(torch.tensor([ids]), torch.tensor([types]), threshold=threshold)
    return out


def decision_margin(model, out, threshold):
    """Smallest |logit_keep - logit_drop - threshold| over rows a sampler decided on."""
    thr = model.config.keep_threshold if threshold is None else threshold
    margin = float("inf")
    for i, layer in enumerate(model.layers):
        if layer.sampler is None:
            continue
        entered = out.keep_masks[i - 1][0] if i > 0 else torch.ones(out.keep_masks[0].shape[1])
        s = out.sampler_logits[i][0]                     # [n, 2]
        for j in range(1, s.shape[0]):
            if entered[j] > 0:
                margin = min(margin, abs(float(s[j, 1] - s[j, 0]) - thr))
    return margin


def expected_of(out):
    return {"logits": [float(f"{x:.9g}") for x in out.logits[0].tolist()],
            "kept": [int(k) for k in out.kept[0].tolist()],
            "flops": int(out.flops[0])}


def make_cases(variants, gen, tries=500):
    """variants: {dtype: model}. -> the case list, each case robust for every dtype."""
    cases = []
    for name, n, pair, threshold in CASES:
        for _ in range(tries):
            ids, types = draw_input(gen, n, pair)
            outs = {dt: run(m, ids, types, threshold) for dt, m in variants.items()}
            if all(decision_margin(variants[dt], o, threshold) > MARGIN for dt, o in outs.items()):
                break
        else:
            raise RuntimeError(f"case {name}: no input with every sampler decision {MARGIN} from the threshold")
        cases.append({"name": name, "ids": ids, "types": types, "threshold": threshold,
                      "expected": {dt: expected_of(o) for dt, o in outs.items()}})
    return cases


def check_cases(name, model, cases):
    """The fixtures must exercise what they claim: distinct logits, real token dropping."""
    logits = [tuple(c["expected"]["f32"]["logits"]) for c in cases]
    for a in range(len(logits)):
        for b in range(a + 1, len(logits)):
            if max(abs(x - y) for x, y in zip(logits[a], logits[b])) < 1e-3:
                raise RuntimeError(f"{name}: cases {cases[a]['name']} and {cases[b]['name']} give the same logits")
    sampler_layers = [i for i, l in enumerate(model.config.layers) if l.sampler]
    for i in sampler_layers:
        drops = False
        for c in cases:
            if c["threshold"] is not None and c["threshold"] < -1e20:
                continue
            kept = c["expected"]["f32"]["kept"]
            before = len(c["ids"]) if i == 0 else kept[i - 1]
            drops = drops or kept[i] < before
        if not drops:
            raise RuntimeError(f"{name}: the sampler of layer {i} drops no token on any case")
    for c in cases:
        if c["threshold"] is not None and c["threshold"] < -1e20:
            assert all(k == len(c["ids"]) for k in c["expected"]["f32"]["kept"])


def dump_fixture(name, files, cases):
    """The fixture JSON, one case per line (valid JSON, diffable)."""
    lines = ",\n  ".join(json.dumps(c, separators=(",", ":")) for c in cases)
    return (f'{{"name": {json.dumps(name)},\n "files": {json.dumps(files)},\n'
            f' "cases": [\n  {lines}\n ]}}\n')


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m train.make_fixtures")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    ap.add_argument("--vocab", default=DEFAULT_VOCAB)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    vocab = fixture_vocab(args.vocab)
    gen = torch.Generator().manual_seed(20230521)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for name, model in build_models(gen).items():
        files, variants = {}, {}
        for dt in model_file.DTYPE_CHOICES:
            fname = f"{name}.{dt}.safetensors"
            path = os.path.join(args.out, fname)
            total += model_file.save_model(path, model, vocab, dt, producer="train.make_fixtures")
            files[dt] = fname
            variants[dt], _, _ = model_file.load_model(path)     # dequantised, as the runtime sees it
        cases = make_cases(variants, gen)
        check_cases(name, model, cases)
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            f.write(dump_fixture(name, files, cases))
        total += os.path.getsize(os.path.join(args.out, f"{name}.json"))
        kept = {c["name"]: c["expected"]["f32"]["kept"] for c in cases}
        print(f"{name}: hidden {model.config.hidden_size}, layers "
              f"{[(l.heads, l.ffn, l.sampler) for l in model.config.layers]}, kept {kept}")
    print(f"fixtures: {total:,} bytes in {os.path.normpath(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
