"""Transfer set for distillation: unlabelled movie-review sentences from IMDb, each scored by an
ensemble of fine-tuned teachers (the mean of their class probabilities). `train.finetune
--transfer FILE` then trains a model on the gold task examples plus these soft targets.

    python3 -m train.transfer --out /work/runs/transfer_sst2.tsv --sentences 100000 \\
        /work/runs/soup_sst2_long/best.pt /work/runs/cnn_sst2_s0/model.pt ...

Why: SST-2's train set is 67k mostly short phrases from about 8.5k sentences, so a fine-tune sees
few whole sentences like the dev ones. IMDb's reviews (the same domain; its unlabelled reviews and
train reviews, never its test reviews) hold hundreds of thousands of such sentences. An ensemble
(train.finetune and train.soup transformers, train.cnn's n-gram CNNs)
labels them better than any one of its members, and a single model trained on its soft labels can
keep much of the ensemble's gain (Hinton et al. 2015; self-training: Du et al. 2021).

Sentences: reviews split after . ! ? followed by a space, `<br />` folded, 5 to 40 words,
deduplicated, drawn in a seeded order. Dev is used only to report each teacher's and the
ensemble's metric; nothing is chosen by it.

Outputs: FILE (TSV with header `sentence<TAB>p_<label>...`, one row a sentence, probabilities of the
task's labels in order) and FILE.json (teachers, their dev metrics, the ensemble's, counts, argv).
"""
import argparse
import csv
import json
import os
import re
import sys
import time

import torch

from train import checkpoint as C
from train.data import TASKS, clean_review, encode_examples, imdb_pretrain_docs, load_tokenizer, read_dev

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def review_sentences(text, min_words=5, max_words=40):
    """-> the sentences of one review with min_words..max_words words (whitespace-split)."""
    out = []
    for s in _SENTENCE_END.split(clean_review(text)):
        s = " ".join(s.split())
        if min_words <= len(s.split()) <= max_words:
            out.append(s)
    return out


def imdb_sentences(limit, seed=0, min_words=5, max_words=40):
    """-> up to `limit` distinct sentences from IMDb's unlabelled and train reviews (never the test
    reviews; the pretraining corpus's reader), in a seeded random order."""
    seen, out = set(), []
    for review in imdb_pretrain_docs(seed):
        for s in review_sentences(review, min_words, max_words):
            key = s.lower()
            if key not in seen:
                seen.add(key)
                out.append(s)
        if len(out) >= limit:
            break
    return out[:limit]


def load_teacher(path):
    """-> (model, task, predict_fn) for a train.finetune / train.soup checkpoint, a train.cnn
    model, or a model file with the full vocabulary (models/teachers/sst2.i8.safetensors);
    predict_fn(model, examples, rt) -> (labels, logits)."""
    from train import cnn
    from train.finetune import predict
    if not path.endswith(".safetensors"):
        blob = C.torch_load(path)
        if cnn.is_word_model(blob):
            model = cnn.load_cnn(path, blob)
            return model, model.task, cnn.predict
        model = C.checkpoint_from_blob(blob, path)[0].eval()
        return model, model.config.task, predict
    from train.export import load_tokenizer_source
    model = load_tokenizer_source(path).eval()
    return model, model.config.task, predict


def teacher_probs(teacher, examples, rt):
    """teacher: (model, predict_fn) -> float tensor [N, labels]: softmax(logits)."""
    model, predict_fn = teacher
    return torch.softmax(predict_fn(model.to(rt.device), examples, rt)[1].float(), -1)


def ensemble_probs(teachers, examples, rt, weights=None):
    """teachers: [(model, predict_fn)] -> float tensor [N, labels]: the mean of their probabilities,
    weighted by weights (one per teacher; None: equal)."""
    weights = mean_weights(weights, len(teachers))
    return weighted_sum((teacher_probs(t, examples, rt) for t in teachers), weights)


def weighted_sum(probs, weights):
    """probs: tensors of one shape, one per weight (an iterable: one is computed at a time)."""
    return sum(p * w for p, w in zip(probs, weights))


def mean_weights(weights, n):
    """-> n weights summing to 1 from n finite non-negative numbers (None: 1/n each)."""
    if weights is None:
        return [1.0 / n] * n
    if len(weights) != n or not all(0 <= w < float("inf") for w in weights) or sum(weights) <= 0:
        raise ValueError(f"need {n} finite non-negative weights, not all zero; got {list(weights)}")
    return [w / sum(weights) for w in weights]


def read_transfer(path):
    """-> (sentences, probabilities [N, labels] float tensor, label names) from a FILE written here."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or not rows[0] or rows[0][0] != "sentence" or len(rows[0]) < 2:
        raise ValueError(f"{path}: not a transfer set (header must be 'sentence' then p_<label> columns)")
    labels = [h[2:] for h in rows[0][1:]]
    values = []
    for line, r in enumerate(rows[1:], 2):
        try:
            if len(r) != len(labels) + 1:
                raise ValueError
            values.append([float(v) for v in r[1:]])
        except ValueError:
            raise ValueError(f"{path}:{line}: expected a sentence and {len(labels)} probabilities") from None
    sents = [r[0] for r in rows[1:]]
    probs = torch.tensor(values, dtype=torch.float32).reshape(len(values), len(labels))
    if probs.numel() and (not torch.isfinite(probs).all() or (probs < 0).any()
                          or (probs.sum(1) - 1).abs().max() > 1e-3):
        raise ValueError(f"{path}: rows must hold one probability per label, summing to 1")
    return sents, probs, labels


def combine_sets(paths, weights):
    """Transfer sets over the same sentences (labelled separately, e.g. one per core) ->
    (sentences, their weighted mean probabilities, label names); ValueError if they differ."""
    sents = labels = total = None
    for path, w in zip(paths, weights):
        s, probs, names = read_transfer(path)
        if sents is None:
            sents, labels, total = s, names, probs * w
        elif s != sents or names != labels:
            raise ValueError(f"{path}: other sentences or labels than {paths[0]}")
        else:
            total += probs * w
    return sents, total, labels


def set_members(path):
    """-> [(model path, weight)]: the teachers that labelled a transfer set, from FILE.json."""
    with open(path + ".json") as f:
        return [(t["path"], t["weight"]) for t in json.load(f)["teachers"]]


def with_transfer(tok, train, path, labels, max_len, limit=0):
    """Gold examples (train.data.encode_examples) + a transfer set's sentences -> (examples, soft
    targets [N, labels]): one-hot rows for the gold examples, then the ensemble's probabilities
    (cross-entropy against a distribution is distillation's loss). limit: only the first N sentences."""
    sents, probs, names = read_transfer(path)
    if names != list(labels):
        raise SystemExit(f"{path}: labels {names}, the task has {list(labels)}")
    if limit:
        sents, probs = sents[:limit], probs[:limit]
    gold = torch.nn.functional.one_hot(torch.tensor([x[2] for x in train], dtype=torch.long), len(names))
    examples = encode_examples(tok, [(s, None, int(p.argmax())) for s, p in zip(sents, probs)], max_len)
    return train + examples, torch.cat([gold.float(), probs])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("teachers", nargs="+", help="models of one task: train.finetune / train.soup best.pt, "
                    "train.cnn model.pt, a model file with the full vocabulary (a teacher's .safetensors); "
                    "with --combine, transfer sets written here")
    ap.add_argument("--out", required=True, help="the transfer set, a TSV file")
    ap.add_argument("--combine", action="store_true", help="average transfer sets over the same sentences "
                    "(labelled separately, e.g. one per core) instead of scoring; their FILE.json name "
                    "the models, which must still exist (dev is scored again)")
    ap.add_argument("--sentences", type=int, default=100000)
    ap.add_argument("--min-words", type=int, default=5)
    ap.add_argument("--max-words", type=int, default=40)
    ap.add_argument("--weights", default="", help="comma-separated, one per teacher (default: equal), e.g. "
                    "5,1,1,1,1,1 to give one model as much say as five others together")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    from train.distributed import Runtime
    from train.finetune import METRICS

    try:
        weights = mean_weights([float(w) for w in a.weights.split(",")] if a.weights else None, len(a.teachers))
    except ValueError as e:
        raise SystemExit(f"--weights: {e}") from None
    # The models and their weights: given, or those of the sets to combine (a set's weight shared
    # among its members as that set's own weights did).
    members = ([(p, w * mw) for p, w in zip(a.teachers, weights) for p, mw in set_members(p)] if a.combine
               else list(zip(a.teachers, weights)))
    rt = Runtime(a.device, a.threads)
    t0 = time.time()
    loaded = [load_teacher(p) for p, _ in members]
    models = [(m, fn) for m, _, fn in loaded]
    tasks = {t for _, t, _ in loaded}
    if len(tasks) != 1 or next(iter(tasks)) not in TASKS:
        raise SystemExit(f"teachers must be fine-tuned for one task; their tasks: {sorted(map(str, tasks))}")
    task = tasks.pop()
    if task not in ("sst2", "cola"):
        raise SystemExit(f"{task}: transfer sentences are single short sentences; only sst2 and cola fit")
    labels, max_len = TASKS[task]["labels"], TASKS[task]["max_len"]
    metric_name = TASKS[task]["metric"]
    metric = METRICS[metric_name]
    tok = load_tokenizer()

    dev = encode_examples(tok, read_dev(task, 0), max_len)
    gold = [x[2] for x in dev]
    teachers, dev_probs = [], []
    for (path, w), m in zip(members, models):
        dev_probs.append(teacher_probs(m, dev, rt))
        teachers.append({"path": path, "dev": round(metric(dev_probs[-1].argmax(-1).numpy(), gold), 4),
                         "weight": round(w, 6)})
        print(f"{path}: dev {metric_name} {teachers[-1]['dev']:.4f}", file=sys.stderr)
    member_weights = [w for _, w in members]
    ens_dev = metric(weighted_sum(dev_probs, member_weights).argmax(-1).numpy(), gold)
    print(f"ensemble of {len(models)} (weights {[round(w, 4) for w in member_weights]}): dev {metric_name} "
          f"{ens_dev:.4f}", file=sys.stderr)

    if a.combine:
        sents, probs, names = combine_sets(a.teachers, weights)
        if names != list(labels):
            raise SystemExit(f"{a.teachers[0]}: labels {names}, the task has {list(labels)}")
    else:
        sents = imdb_sentences(a.sentences, a.seed, a.min_words, a.max_words)
        print(f"{len(sents)} sentences ({time.time() - t0:.0f}s); scoring with {len(models)} teachers",
              file=sys.stderr)
        probs = ensemble_probs(models, encode_examples(tok, [(s, None, 0) for s in sents], max_len), rt, weights)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8", newline="") as f:
        f.write("sentence\t" + "\t".join(f"p_{l}" for l in labels) + "\n")
        for s, p in zip(sents, probs.tolist()):
            f.write(s.replace("\t", " ") + "\t" + "\t".join(f"{v:.5f}" for v in p) + "\n")
    summary = {"task": task, "metric": metric_name, "teachers": teachers,
               "ensemble_dev": round(ens_dev, 4), "sentences": len(sents),
               "mean_top_probability": round(float(probs.max(-1).values.mean()), 4) if len(sents) else None,
               "share_per_label": {l: round(float((probs.argmax(-1) == i).float().mean()), 4)
                                   for i, l in enumerate(labels)} if len(sents) else {},
               "seconds": round(time.time() - t0, 1), "argv": sys.argv[1:] if argv is None else list(argv)}
    with open(a.out + ".json", "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary), flush=True)
    rt.close()
    return summary


if __name__ == "__main__":
    torch.set_flush_denormal(True)
    main()
