"""Export a model to the inforcoef model file (docs/model-format.md) and print a summary.

    python3 -m train.export SOURCE OUT.safetensors [--dtype f32|f16|i8|i4] [--length 128]
                            [--vocab vocab.txt] [--keep-tokens tokens.txt] [--labels a,b]
                            [--task sst2] [--threshold 0.0] [--cased] [--teacher TEACHER]

SOURCE is one of: an inforcoef checkpoint (train/checkpoint.py), an inforcoef model file (to
re-export, e.g. with another dtype), or a Hugging Face BERT (a directory with
model.safetensors / pytorch_model.bin [+ config.json, vocab.txt], or one of those files).
--dtype i4 is i8 with the three embedding tables at 4 bits (docs/model-format.md, "Dtypes").
The vocabulary comes from SOURCE when it carries one, else from --vocab.
--keep-tokens prunes the vocabulary to the listed tokens (one a line; the special tokens are
always kept) and remaps the word-embedding rows to match. --teacher records the shape of the dense
teacher (any SOURCE) in the config's optional `teacher` key, for FLOPs comparisons.

Python API:
    export(model, vocab, out_path, dtype="f32", keep_tokens=None, length=128, teacher=None) -> summary dict
    prune_vocab(model, vocab, keep_tokens) -> (model, new_vocab)   (a copy; rows remapped)
    summarize(model, n_bytes, length) -> dict(parameters, bytes, flops, dense_flops, ...)
    load_source(path) -> (model, vocab or None)
"""
import argparse
import copy
import os
import sys

import torch

from train import flops as flops_lib
from train import model_file
from train.checkpoint import load_checkpoint, KIND as CHECKPOINT_KIND, torch_load
from train.hf_load import load_hf_bert


def prune_vocab(model, vocab, keep_tokens):
    """Keep only `keep_tokens` (+ the special tokens) in original vocab order; remap rows."""
    keep = set(keep_tokens) | set(model.config.special_tokens.values())
    rows = [i for i, t in enumerate(vocab) if t in keep]
    missing_special = [t for t in model.config.special_tokens.values() if t not in vocab]
    if missing_special:
        raise ValueError(f"special tokens {missing_special} are not in the vocabulary")
    new_vocab = [vocab[i] for i in rows]
    pruned = copy.deepcopy(model)
    old = model.embeddings.word_embeddings.weight.detach()               # [V, d]
    emb = torch.nn.Embedding(len(rows), old.shape[1])
    with torch.no_grad():
        emb.weight.copy_(old[torch.tensor(rows, dtype=torch.long)])       # [V', d]
    pruned.embeddings.word_embeddings = emb
    pruned.config.vocab_size = len(rows)
    return pruned, new_vocab


def count_parameters(cfg):
    total = 0
    for shape in model_file.expected_shapes(cfg).values():
        n = 1
        for s in shape:
            n *= s
        total += n
    return total


def summarize(model, n_bytes, length):
    cfg = model.config
    length = min(length, cfg.max_position)
    return {
        "parameters": count_parameters(cfg),
        "bytes": n_bytes,
        "length": length,
        # every token kept (threshold -inf): the upper bound; samplers cut it at run time
        "flops_all_kept": flops_lib.dense_flops(cfg, length),
        "hidden_size": cfg.hidden_size,
        "layers": [(l.heads, l.ffn, l.sampler) for l in cfg.layers],
        "vocab_size": cfg.vocab_size,
        "labels": list(cfg.labels),
    }


def export(model, vocab, out_path, dtype="f32", keep_tokens=None, length=128, producer="train.export",
           teacher=None):
    """teacher: the dense teacher's ModelConfig, recorded in the file's config (`teacher`) so that
    readers can compare FLOPs with it."""
    model = model.eval()
    if keep_tokens is not None:
        model, vocab = prune_vocab(model, vocab, keep_tokens)
    n_bytes = model_file.save_model(out_path, model, vocab, dtype, producer, teacher)
    return summarize(model, n_bytes, length)


def load_source(path):
    """-> (InforCoefModel, vocab list or None) from any supported SOURCE."""
    if os.path.isdir(path):
        hf = load_hf_bert(path)
        return hf.model, hf.vocab
    if path.endswith(".safetensors"):
        with open(path, "rb") as f:
            buf = f.read()
        try:
            mf = model_file.decode_model(buf)
            return model_file.model_from_file(mf), mf.vocab
        except model_file.ModelFileError as e:
            if "not an inforcoef model file" not in str(e):
                raise
        hf = load_hf_bert(path)
        return hf.model, hf.vocab
    ck = torch_load(path)
    if isinstance(ck, dict) and ck.get("kind") == CHECKPOINT_KIND:
        model, vocab, _ = load_checkpoint(path)
        return model, vocab
    hf = load_hf_bert(path)
    return hf.model, hf.vocab


def load_tokenizer_source(path):
    """load_source for training and labelling, which tokenise with the bert-base-uncased
    vocabulary (train.data.load_tokenizer): a model whose vocabulary differs (a compressed file
    keeps only the tokens it needs, so its ids mean other words) is refused. -> InforCoefModel."""
    from train.data import load_tokenizer
    model, vocab = load_source(path)
    if vocab is not None and list(vocab) != list(load_tokenizer().vocab):
        raise ValueError(f"{path}: its vocabulary ({len(vocab)} tokens) is not the tokenizer's "
                         "bert-base-uncased vocabulary; a vocabulary-pruned model cannot be trained "
                         "or used as a labeller here")
    return model


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n").rstrip("\r") for line in f]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m train.export", description=__doc__.split("\n\n")[0])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=model_file.DTYPE_CHOICES, default="f32")
    ap.add_argument("--length", type=int, default=128, help="sequence length of the FLOPs figure")
    ap.add_argument("--vocab", help="vocab.txt, when SOURCE has none")
    ap.add_argument("--keep-tokens", help="prune the vocabulary to these tokens (one a line)")
    ap.add_argument("--labels", help="comma-separated label names (overrides the source's)")
    ap.add_argument("--task", help="free-text task name stored in the config")
    ap.add_argument("--threshold", type=float, help="default keep threshold of the samplers")
    ap.add_argument("--cased", action="store_true", help="the model is cased (no lower-casing)")
    ap.add_argument("--teacher", help="the dense teacher (any SOURCE) to record in the config for FLOPs comparisons")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    model, vocab = load_source(args.source)
    if args.vocab:
        vocab = read_lines(args.vocab)
    if vocab is None:
        ap.error("SOURCE carries no vocabulary: pass --vocab vocab.txt")
    cfg = model.config
    if args.labels:
        labels = args.labels.split(",")
        if len(labels) != cfg.num_labels:
            ap.error(f"--labels has {len(labels)} names, the classifier has {cfg.num_labels} rows")
        cfg.labels = labels
    if args.task is not None:
        cfg.task = args.task
    if args.threshold is not None:
        cfg.keep_threshold = args.threshold
    if args.cased:
        cfg.do_lower_case = False
    keep = read_lines(args.keep_tokens) if args.keep_tokens else None
    teacher = load_source(args.teacher)[0].config if args.teacher else None
    s = export(model, vocab, args.out, args.dtype, keep, args.length, teacher=teacher)
    print(f"wrote {args.out} ({args.dtype})")
    print(f"  parameters     {s['parameters']:,}")
    print(f"  bytes          {s['bytes']:,}")
    print(f"  hidden size    {s['hidden_size']}, vocab {s['vocab_size']}, labels {s['labels']}")
    for i, (h, f, smp) in enumerate(s["layers"]):
        print(f"  layer {i:2d}       heads {h:2d}  ffn {f:5d}  sampler {'yes' if smp else 'no'}")
    print(f"  FLOPs at length {s['length']} with every token kept: {s['flops_all_kept']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
