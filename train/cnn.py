"""Word-level models over GloVe, a second kind of SST-2 teacher, used only to label the transfer set
(train/transfer.py), never exported or shipped: a word-n-gram CNN (Kim 2014) and a BiLSTM with
max pooling (Conneau et al. 2017's sentence encoder).

    python3 -m train.cnn --task sst2 --out /work/runs/cnn_sst2_s0 --seed 0
    python3 -m train.cnn --task sst2 --arch bilstm --out /work/runs/lstm_sst2_s0 --seed 0

Why: our MLM-pretrained transformers read a bag of words (train/order_probe.py: shuffling dev's
words costs them under 2 points) and stay at 80-83% on SST-2 dev. Filters over 3, 4 and 5
consecutive WordPieces see local order ("not good", "hardly worth") from the first epoch, on the
same GloVe rows the transformers start from. Its errors differ from theirs, so the two together
label sentences better than either, and train.finetune --transfer passes that on to a transformer.

Shape: embeddings [V, 100] from GloVe (rows GloVe lacks: N(0, 0.3)), fine-tuned at a lower rate;
Conv1d 100 -> 100 filters for widths 3, 4, 5, ReLU, max over time; dropout 0.5; Linear 300 -> labels.
The BiLSTM (--arch bilstm) reads the whole sentence in both directions, so it also sees order
beyond five WordPieces: dropout 0.2 on the embeddings, LSTM 100 -> 2 x 150,
max over time, dropout 0.5, Linear 300 -> labels. --hidden and --layers widen or stack it
(LSTM 100 -> 2 x hidden, `layers` deep, dropout 0.2 between layers; Linear 2 x hidden -> labels).
Input is the task's WordPiece ids as train.data.encode_examples makes them ([CLS] ... [SEP]).
--transfer FILE adds a transfer set's sentences with their soft targets, as train.finetune --transfer
does (a BiLSTM student of a transformer teacher, Tang et al. 2019).
Model selection as train.finetune: a seeded held-out slice of train, evaluated every quarter epoch,
never dev; dev is evaluated once, with the selected state.

Outputs in --out: model.pt ({"kind": "kim_cnn" or "bilstm", "config", "state"}) and result.json.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from train.data import TASKS, collate, encode_examples, load_tokenizer, read_dev, read_task

class KimCNN(nn.Module):
    KIND = "kim_cnn"

    def __init__(self, vocab_size, labels, task, dim=100, filters=100, widths=(3, 4, 5), dropout=0.5):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "labels": list(labels), "task": task, "dim": dim,
                       "filters": filters, "widths": list(widths), "dropout": dropout}
        self.task = task
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w, padding=w - 1) for w in widths)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(filters * len(widths), len(labels))

    def forward(self, ids, mask):
        """ids, mask: [B, n] -> logits [B, labels]."""
        h = self.embed(ids).transpose(1, 2)                              # [B, dim, n]
        pad = (mask == 0).unsqueeze(1)                                   # [B, 1, n]
        pooled = []
        for conv in self.convs:
            w = conv.kernel_size[0]
            c = F.relu(conv(h))                                          # [B, filters, n + w - 1]
            # A window that holds only padding must not win the max: the output at t covers
            # inputs t-w+1..t, so it is padding-only once t-w+1 is past the last real token.
            c_pad = F.pad(pad, (w - 1, 0), value=False)
            c = c.masked_fill(c_pad, 0.0)
            pooled.append(c.max(-1).values)                              # [B, filters]
        return self.out(self.drop(torch.cat(pooled, -1)))


class BiLSTM(nn.Module):
    KIND = "bilstm"

    def __init__(self, vocab_size, labels, task, dim=100, hidden=150, dropout=0.5, embed_dropout=0.2, layers=1):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "labels": list(labels), "task": task, "dim": dim,
                       "hidden": hidden, "dropout": dropout, "embed_dropout": embed_dropout, "layers": layers}
        self.task = task
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        # Stacked layers (--layers 2) get the embeddings' dropout between them too.
        self.lstm = nn.LSTM(dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=embed_dropout if layers > 1 else 0.0)
        self.embed_drop = nn.Dropout(embed_dropout)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, len(labels))

    def forward(self, ids, mask):
        """ids, mask: [B, n] -> logits [B, labels]."""
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        # Packing keeps padding out of both directions: the backward LSTM starts at the last real
        # token, so a sentence's logits do not depend on the batch it is padded in.
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.embed_drop(self.embed(ids)), lengths, batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=ids.shape[1])  # [B, n, 2h]
        h = h.masked_fill((mask == 0).unsqueeze(-1), float("-inf"))
        return self.out(self.drop(h.max(1).values))


MODELS = {KimCNN.KIND: KimCNN, BiLSTM.KIND: BiLSTM}


def glove_embeddings_(embed, seed=0):
    """Rows with a GloVe vector get it as it is (100-d); the others N(0, 0.3), about GloVe's spread."""
    from train.pretrain import GLOVE_MASK_PATH, GLOVE_PATH
    g = torch.from_numpy(np.fromfile(GLOVE_PATH, dtype="<f2").astype(np.float32).reshape(-1, 100))
    have = torch.from_numpy(np.fromfile(GLOVE_MASK_PATH, dtype=np.uint8) > 0)
    if g.shape[0] != embed.num_embeddings or embed.embedding_dim != 100:
        raise ValueError(f"GloVe rows {tuple(g.shape)} do not fit embeddings {tuple(embed.weight.shape)}")
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(g.shape, generator=gen) * 0.3
    w[have] = g[have]
    w[0] = 0.0  # [PAD]
    with torch.no_grad():
        embed.weight.copy_(w)


@torch.no_grad()
def predict(model, examples, rt=None, batch=256):
    """-> (predicted labels, logits [N, L]) in the order of examples, as train.finetune.predict."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    logits = torch.zeros(len(examples), model.out.out_features)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        ids, _, mask, _ = collate([examples[i] for i in idx])
        logits[idx] = model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)).float().cpu()
    model.train(was_training)
    return logits.argmax(-1).numpy(), logits


def save_cnn(path, model, **extra):
    torch.save({"kind": model.KIND, "config": model.config, "state": model.state_dict(), "extra": extra}, path)


def is_word_model(blob):
    return isinstance(blob, dict) and blob.get("kind") in MODELS


def load_cnn(path, blob=None):
    """-> KimCNN or BiLSTM from a file save_cnn wrote (blob: what torch_load already read from it);
    ValueError for anything else."""
    from train.checkpoint import torch_load
    blob = torch_load(path) if blob is None else blob
    if not is_word_model(blob):
        raise ValueError(f"{path}: not a {' or '.join(MODELS)} checkpoint")
    try:
        model = MODELS[blob["kind"]](**blob["config"])
        model.load_state_dict(blob["state"])
    except (KeyError, TypeError, RuntimeError) as e:  # a config or weights that do not fit the kind
        raise ValueError(f"{path}: a damaged {blob['kind']} checkpoint: {e}") from None
    return model.eval()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="sst2", choices=["sst2", "cola"])
    ap.add_argument("--arch", default=KimCNN.KIND, choices=list(MODELS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--embed-lr", type=float, default=3e-4, help="learning rate of the GloVe rows")
    ap.add_argument("--heldout", type=int, default=2000)
    ap.add_argument("--patience", type=int, default=4)
    ap.add_argument("--train-limit", type=int, default=0)
    ap.add_argument("--dev-limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=150, help="BiLSTM only: units per direction")
    ap.add_argument("--layers", type=int, default=1, help="BiLSTM only: stacked layers")
    ap.add_argument("--transfer", default="", help="a transfer set (train/transfer.py) trained on beside "
                    "the gold examples, its probabilities as soft targets (as train.finetune --transfer)")
    ap.add_argument("--transfer-limit", type=int, default=0, help="use only the first N transfer sentences")
    a = ap.parse_args(argv)
    shape = {"hidden": a.hidden, "layers": a.layers} if a.arch == BiLSTM.KIND else {}
    if a.arch != BiLSTM.KIND and (a.hidden, a.layers) != (150, 1):
        ap.error("--hidden and --layers are BiLSTM options (--arch bilstm)")
    if a.hidden < 1 or a.layers < 1:
        ap.error("--hidden and --layers must be at least 1")
    from train.finetune import METRICS, KeepBest, all_metrics
    from train.order_probe import shuffled_metric

    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    task, metric_name = a.task, TASKS[a.task]["metric"]
    metric = METRICS[metric_name]
    tok = load_tokenizer()
    train_raw = read_task(task, "train")
    random.Random(a.seed).shuffle(train_raw)
    held_raw, train_raw = train_raw[:a.heldout], train_raw[a.heldout:]
    if a.train_limit:
        train_raw = train_raw[:a.train_limit]
    max_len = TASKS[task]["max_len"]
    train, held = encode_examples(tok, train_raw, max_len), encode_examples(tok, held_raw, max_len)
    targets = None
    if a.transfer:
        from train.transfer import with_transfer
        train, targets = with_transfer(tok, train, a.transfer, TASKS[task]["labels"], max_len, a.transfer_limit)
    dev = encode_examples(tok, read_dev(task, a.seed, a.dev_limit), max_len)

    torch.manual_seed(a.seed)
    model = MODELS[a.arch](len(tok), TASKS[task]["labels"], task, **shape)
    glove_embeddings_(model.embed, a.seed)
    rest = [p for n, p in model.named_parameters() if not n.startswith("embed.")]
    opt = torch.optim.Adam([{"params": [model.embed.weight], "lr": a.embed_lr}, {"params": rest, "lr": a.lr}])
    steps_per_epoch = math.ceil(len(train) / a.batch)
    total = max(1, int(a.epochs * steps_per_epoch))
    eval_every = max(1, steps_per_epoch // 4)
    log = open(os.path.join(a.out, "log.jsonl"), "w")
    keep, step, epoch, losses = KeepBest(a.patience), 0, 0, []
    done = False
    model.train()
    while not done:
        order = list(range(len(train)))
        random.Random(a.seed * 1000 + epoch).shuffle(order)
        for s in range(0, len(order), a.batch):
            batch = order[s:s + a.batch]
            ids, _, mask, labels = (torch.from_numpy(x) for x in collate([train[i] for i in batch]))
            if targets is not None:
                labels = targets[torch.as_tensor(batch)]
            loss = F.cross_entropy(model(ids, mask), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            losses.append(float(loss))
            if step % eval_every == 0 or step == total:
                m = metric(predict(model, held)[0], [x[2] for x in held])
                log.write(json.dumps({"step": step, "train_loss": round(float(np.mean(losses[-eval_every:])), 4),
                                      f"heldout_{metric_name}": round(m, 4)}) + "\n")
                log.flush()
                print(f"step {step}/{total}: held-out {metric_name} {m:.4f}", file=sys.stderr, flush=True)
                done = keep.update(m, model, step)
            if step >= total or done:
                done = True
                break
        epoch += 1
    log.close()
    keep.restore(model)
    gold = [x[2] for x in dev]
    dev_m = all_metrics(predict(model, dev)[0], gold)
    shuffled = shuffled_metric(model, dev, tok, None, metric, shuffles=1, seed=a.seed, predict_fn=predict)
    result = {"task": task, "metric": metric_name, "dev": round(dev_m[metric_name], 4),
              "dev_all": {k: round(v, 4) for k, v in dev_m.items()}, "dev_words_shuffled": round(shuffled, 4),
              "heldout": round(keep.metric, 4), "best_step": keep.step, "steps": step,
              "train_examples": len(train_raw), "transfer_examples": len(train) - len(train_raw),
              "params": sum(p.numel() for p in model.parameters()), "train_seconds": round(time.time() - t0, 1),
              "argv": sys.argv[1:] if argv is None else list(argv)}
    save_cnn(os.path.join(a.out, "model.pt"), model, heldout_metric=keep.metric, dev_metric=dev_m, step=keep.step)
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    torch.set_flush_denormal(True)
    main()
