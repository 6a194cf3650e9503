"""Data: the pretraining corpus (tokenised once, cached as uint16 token streams) and the
fine-tuning task readers (GLUE SST-2 / MRPC / RTE / CoLA, IMDb).

Pretraining corpus (never the IMDb test reviews):
  ../shared/data/imdb/unsup.txt.gz     50,000 unlabelled reviews, one a line
  ../shared/data/imdb/train.tsv.gz     25,000 labelled train reviews (text column only)
  ../shared/data/corpus/gutenberg-01.txt.gz   383 books, paragraphs one a line, blank line between books
`<br />` tags are folded to spaces. Documents are drawn in a seeded order: IMDb reviews shuffled,
Gutenberg as random contiguous windows of paragraphs from every book (so a small budget still
sees all books rather than the first few). Sources are interleaved so a prefix of the stream has
the target mix (default 60% IMDb / 40% books, by tokens).

Packing (RoBERTa "full sentences" style): the stream is doc ids [SEP] doc ids [SEP] ...;
example k = [CLS] stream[k*(L-2):(k+1)*(L-2)] [SEP], L = 128. Held-out documents (the first
ones drawn) form a separate validation stream, so validation text is never trained on.

Cache layout (DIR = /work/runs/pretrain_cache by default):
  DIR/train.u16, DIR/val.u16   raw little-endian uint16 token ids (vocab 30522 < 65536)
  DIR/meta.json                 how it was built (tokens per source, seed, vocab md5)
"""
import csv
import gzip
import hashlib
import json
import os
import random
import re
import sys

import numpy as np

from train.tokenizer import WordPieceTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
# ../shared/data beside the checkout; INFORCOEF_DATA points elsewhere (a device machine gets a
# copy of the repository only, with the data staged inside it: train/device_teacher.sh).
DATA = os.environ.get("INFORCOEF_DATA") or os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
VOCAB_PATH = os.path.join(DATA, "vocab", "bert-base-uncased-vocab.txt")

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def load_tokenizer(path=VOCAB_PATH):
    return WordPieceTokenizer.from_file(path)


def clean_review(text):
    return _BR.sub(" ", text)


# ----------------------------------------------------------------------------------------------
# pretraining documents

def imdb_pretrain_docs(seed):
    """IMDb unsup + train reviews (text only), shuffled. Never the test set."""
    docs = []
    with gzip.open(os.path.join(DATA, "imdb", "unsup.txt.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                docs.append(clean_review(line))
    with gzip.open(os.path.join(DATA, "imdb", "train.tsv.gz"), "rt", encoding="utf-8") as f:
        rd = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rd)
        col = header.index("text")
        for row in rd:
            docs.append(clean_review(row[col]))
    random.Random(seed).shuffle(docs)
    return docs


def gutenberg_docs(seed, words_per_doc=400):
    """Gutenberg books -> documents of ~words_per_doc words (contiguous paragraphs), drawn
    round-robin over books from a random start inside each book, so any prefix covers all books."""
    books, cur = [], []
    with gzip.open(os.path.join(DATA, "corpus", "gutenberg-01.txt.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                if cur:
                    books.append(cur)
                    cur = []
                continue
            cur.append(line)
    if cur:
        books.append(cur)
    rng = random.Random(seed)
    rng.shuffle(books)
    # Cut every book into ~words_per_doc-word documents, rotated to start at a random paragraph
    # (skip the first 2% of each book: title pages and contents).
    per_book = []
    for paras in books:
        skip = len(paras) // 50
        paras = paras[skip:]
        if not paras:
            continue
        r = rng.randrange(len(paras))
        paras = paras[r:] + paras[:r]
        chunks, buf, n = [], [], 0
        for p in paras:
            buf.append(p)
            n += p.count(" ") + 1
            if n >= words_per_doc:
                chunks.append(" ".join(buf))
                buf, n = [], 0
        if buf:
            chunks.append(" ".join(buf))
        per_book.append(chunks)
    out = []
    depth = 0
    while True:
        added = False
        for chunks in per_book:
            if depth < len(chunks):
                out.append(chunks[depth])
                added = True
        if not added:
            break
        depth += 1
    return out


def build_pretrain_cache(out_dir, train_tokens, val_tokens=65536, imdb_frac=0.6, seed=1234,
                         log=print):
    """Tokenise documents until the train stream holds train_tokens ids; write the cache."""
    tok = load_tokenizer()
    os.makedirs(out_dir, exist_ok=True)
    imdb = imdb_pretrain_docs(seed)
    books = gutenberg_docs(seed + 1)
    log(f"documents: imdb {len(imdb)}, gutenberg {len(books)}")
    sep = tok.sep_id
    streams = {"val": [], "train": []}
    counts = {"val": [0, 0], "train": [0, 0]}  # tokens from [imdb, books]
    ii = ib = 0
    for split, target in (("val", val_tokens), ("train", train_tokens)):
        buf = streams[split]
        n = 0
        while n < target:
            c = counts[split]
            # Draw from whichever source is below its share so far.
            take_imdb = (c[0] <= imdb_frac * (c[0] + c[1])) and ii < len(imdb) or ib >= len(books)
            if take_imdb:
                if ii >= len(imdb):
                    break
                ids = tok.tokenize_ids(imdb[ii]); ii += 1; c[0] += len(ids) + 1
            else:
                ids = tok.tokenize_ids(books[ib]); ib += 1; c[1] += len(ids) + 1
            buf.extend(ids)
            buf.append(sep)
            n += len(ids) + 1
            if split == "train" and len(buf) // 1_000_000 != (len(buf) - len(ids) - 1) // 1_000_000:
                log(f"  tokenised {len(buf) / 1e6:.0f}M train tokens")
    for split, buf in streams.items():
        np.asarray(buf, dtype=np.uint16).tofile(os.path.join(out_dir, f"{split}.u16"))
    with open(VOCAB_PATH, "rb") as f:
        vocab_md5 = hashlib.md5(f.read()).hexdigest()
    meta = {"seed": seed, "imdb_frac": imdb_frac, "vocab_md5": vocab_md5,
            "tokens": {s: len(b) for s, b in streams.items()},
            "tokens_imdb_books": counts, "docs_used": {"imdb": ii, "gutenberg": ib}}
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    log(f"cache written to {out_dir}: {meta}")
    return meta


class PackedCorpus:
    """Fixed-length examples [CLS] chunk [SEP] cut from a cached token stream.
    x[k] -> int64 array [seq_len]."""

    def __init__(self, path, seq_len=128, cls_id=101, sep_id=102):
        self.stream = np.fromfile(path, dtype=np.uint16)
        self.seq_len = seq_len
        self.body = seq_len - 2
        self.cls_id, self.sep_id = cls_id, sep_id
        self.n = len(self.stream) // self.body

    def __len__(self):
        return self.n

    def batch(self, idx):
        """idx: sequence of example indices -> int64 [len(idx), seq_len]."""
        out = np.empty((len(idx), self.seq_len), dtype=np.int64)
        out[:, 0] = self.cls_id
        out[:, -1] = self.sep_id
        for r, k in enumerate(idx):
            out[r, 1:-1] = self.stream[k * self.body:(k + 1) * self.body]
        return out


# ----------------------------------------------------------------------------------------------
# fine-tuning tasks

TASKS = {
    # name: labels, metric, pair?, max_len
    "sst2": {"labels": ["negative", "positive"], "metric": "acc", "max_len": 128},
    "mrpc": {"labels": ["not_equivalent", "equivalent"], "metric": "f1", "pair": True, "max_len": 128},
    "rte": {"labels": ["entailment", "not_entailment"], "metric": "acc", "pair": True, "max_len": 256},
    "cola": {"labels": ["unacceptable", "acceptable"], "metric": "mcc", "max_len": 64},
    "imdb": {"labels": ["negative", "positive"], "metric": "acc", "max_len": 512},
}


def _read_tsv(path, encoding="utf-8-sig"):
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_task(task, split):
    """-> list of (text_a, text_b or None, label int). split: train | dev (IMDb: train | test)."""
    g = os.path.join(DATA, "glue")
    if task == "sst2":
        rows = _read_tsv(os.path.join(g, "SST-2", f"{split}.tsv"))[1:]
        return [(r[0], None, int(r[1])) for r in rows]
    if task == "mrpc":
        rows = _read_tsv(os.path.join(g, "MRPC", f"{split}.tsv"))[1:]
        return [(r[3], r[4], int(r[0])) for r in rows]
    if task == "rte":
        rows = _read_tsv(os.path.join(g, "RTE", f"{split}.tsv"))[1:]
        lab = TASKS["rte"]["labels"]
        return [(r[1], r[2], lab.index(r[3])) for r in rows]
    if task == "cola":
        rows = _read_tsv(os.path.join(g, "CoLA", f"{split}.tsv"))
        return [(r[3], None, int(r[1])) for r in rows if len(r) >= 4]
    if task == "imdb":
        name = {"train": "train", "dev": "test", "test": "test"}[split]
        out = []
        with gzip.open(os.path.join(DATA, "imdb", f"{name}.tsv.gz"), "rt", encoding="utf-8") as f:
            rd = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(rd)
            ci, cl = header.index("text"), header.index("label")
            for r in rd:
                out.append((clean_review(r[ci]), None, int(r[cl])))
        return out
    raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)}")


def read_dev(task, seed, dev_limit=None, dev_sample=None):
    """The evaluation rows of `task` as `train.finetune` and `train.pipeline` use them: the first
    dev_limit, then a seeded random sample of dev_sample of those (IMDb's test reviews are sorted
    by label, so a prefix would be one class)."""
    dev = read_task(task, "dev")
    if dev_limit:
        dev = dev[:dev_limit]
    if dev_sample and dev_sample < len(dev):
        dev = random.Random(seed + 1).sample(dev, dev_sample)
    return dev


def encode_examples(tok, examples, max_len):
    """-> list of (ids list, types list, label)."""
    out = []
    for a, b, y in examples:
        if b is None:
            ids = tok.encode(a, max_len)
            types = [0] * len(ids)
        else:
            ids, types = tok.encode_pair(a, b, max_len)
        out.append((ids, types, y))
    return out


def collate(batch, pad_id=0):
    """list of (ids, types, label) -> (ids [B,n], types [B,n], mask [B,n], labels [B]) numpy,
    padded to the longest in the batch."""
    n = max(len(x[0]) for x in batch)
    B = len(batch)
    ids = np.full((B, n), pad_id, dtype=np.int64)
    types = np.zeros((B, n), dtype=np.int64)
    mask = np.zeros((B, n), dtype=np.int64)
    labels = np.zeros(B, dtype=np.int64)
    for r, (i, t, y) in enumerate(batch):
        ids[r, :len(i)] = i
        types[r, :len(t)] = t
        mask[r, :len(i)] = 1
        labels[r] = y
    return ids, types, mask, labels


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="build the tokenised pretraining cache")
    ap.add_argument("--out", default="/work/runs/pretrain_cache")
    ap.add_argument("--train-tokens", type=int, default=12_000_000)
    ap.add_argument("--val-tokens", type=int, default=65536)
    ap.add_argument("--imdb-frac", type=float, default=0.6)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    build_pretrain_cache(a.out, a.train_tokens, a.val_tokens, a.imdb_frac, a.seed,
                         log=lambda s: print(s, file=sys.stderr, flush=True))
