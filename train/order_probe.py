"""Does a fine-tuned model read word order? Its dev metric on the real text beside the same metric
with the words of every segment shuffled (WordPiece continuations stay on their word; [CLS] and
[SEP] stay in place). A model that scores the same on both is a bag of words.

    python3 -m train.order_probe /work/runs/ft_sst2/best.pt [MORE.pt ...] [--shuffles 3]

Prints one line per checkpoint: task, dev metric, shuffled metric (mean over --shuffles seeded
shuffles) and the difference. `train.finetune` adds the same figures to its result.json.
"""
import argparse
import random
import sys

import numpy as np
import torch

from train import checkpoint as C
from train.data import TASKS, encode_examples, load_tokenizer, read_dev
from train.distributed import Runtime


def word_spans(ids, continuation):
    """[start, end) of each word of ids: a token whose id is in `continuation` (a '##' piece)
    belongs to the word before it."""
    spans = []
    for i, t in enumerate(ids):
        if spans and t in continuation:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1])
    return spans


def shuffle_words(example, continuation, special, rng):
    """(ids, types, label) -> the same example with the words between special tokens shuffled."""
    ids, types, label = example
    out, seg = [], []

    def flush():
        spans = word_spans(seg, continuation)
        rng.shuffle(spans)
        for s, e in spans:
            out.extend(seg[s:e])
        seg.clear()

    for t in ids:
        if t in special:
            flush()
            out.append(t)
        else:
            seg.append(t)
    flush()
    return (out, list(types), label)


def shuffled_metric(model, examples, tok, rt, metric, shuffles=3, seed=0, predict_fn=None):
    """-> mean metric over `shuffles` word-shuffled copies of examples (the caller has the metric
    on the examples as written: train.finetune and train.soup score dev anyway). predict_fn:
    (model, examples, rt) -> (labels, logits); default train.finetune.predict (train.cnn has its own)."""
    if predict_fn is None:
        from train.finetune import predict as predict_fn  # finetune imports this module
    continuation = {i for i, t in enumerate(tok.vocab) if t.startswith("##")}
    special = {tok.cls_id, tok.sep_id}
    gold = [x[2] for x in examples]
    scores = []
    for k in range(shuffles):
        rng = random.Random(seed * 7919 + k)
        mixed = [shuffle_words(x, continuation, special, rng) for x in examples]
        scores.append(metric(predict_fn(model, mixed, rt)[0], gold))
    return float(np.mean(scores))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", help="fine-tuned checkpoints (train.finetune's best.pt)")
    ap.add_argument("--shuffles", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    from train.finetune import METRICS, predict
    rt = Runtime(a.device, a.threads)
    tok = load_tokenizer()
    rows = []
    for path in a.checkpoints:
        model, _, _ = C.load_checkpoint(path)
        task = model.config.task
        if task not in TASKS:
            raise SystemExit(f"{path}: no task in its config (not a fine-tuned checkpoint)")
        name = TASKS[task]["metric"]
        dev = encode_examples(tok, read_dev(task, a.seed), TASKS[task]["max_len"])
        model = model.to(rt.device)
        real = METRICS[name](predict(model, dev, rt)[0], [x[2] for x in dev])
        mixed = shuffled_metric(model, dev, tok, rt, METRICS[name], a.shuffles, a.seed)
        rows.append((path, task, name, real, mixed))
        print(f"{path}: {task} dev {name} {real:.4f}, words shuffled {mixed:.4f} "
              f"(order is worth {100 * (real - mixed):+.2f} points)", flush=True)
    rt.close()
    return rows


if __name__ == "__main__":
    torch.set_flush_denormal(True)
    main()
