"""Fine-tune the teacher on a task: GLUE SST-2 / MRPC / RTE / CoLA (evaluated on GLUE dev) or IMDb
(evaluated on the IMDb test reviews, max length 512).

    python3 -m train.finetune --task sst2 --init /work/runs/pt_4l256/encoder.pt \\
        --out /work/runs/ft_sst2 --epochs 3 --lr 1e-4 --batch 32
    python3 -m train.finetune --task sst2 --init random --layers 4 --hidden 256 --heads 4 \\
        --ffn 1024 --out /work/runs/ft_sst2_random          # the no-pretraining baseline
    python3 -m train.finetune --task sst2 --init /work/runs/pt_4l256_long/encoder.pt \\
        --out /work/runs/ft_sst2_kd --epochs 1 --lr 2e-4 \\
        --transfer /work/runs/transfer_sst2/soup_cnn3.tsv    # + distillation (train/transfer.py)

Model selection never looks at dev: a held-out slice of train (--heldout, seeded) is evaluated
every --eval-every steps; the best state by the task metric is kept and training stops after
--patience evaluations without improvement. Dev is evaluated once, with the selected model.

Outputs in --out:
  best.pt        inforcoef checkpoint (train/checkpoint.py) of the selected model, labels and
                 task set in its config; extra = {"task", "heldout_metric", "dev_metric", "step"}
  result.json    metrics, sizes, the command line
  log.jsonl      training loss, held-out metric per evaluation
and, with --export DIR, DIR/<task>.f32.safetensors and DIR/<task>.i8.safetensors written by
train.export (the runtime's model file).
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
import torch.nn.functional as F

from train import checkpoint as C
from train import model as M
from train.data import TASKS, collate, encode_examples, load_tokenizer, read_dev, read_task
from train.distributed import Runtime


# ----------------------------------------------------------------------------------------------
# metrics (as GLUE)

def accuracy(pred, gold):
    pred, gold = np.asarray(pred), np.asarray(gold)
    return float((pred == gold).mean()) if len(gold) else 0.0


def f1_positive(pred, gold):
    """F1 of class 1 (MRPC: 'equivalent')."""
    pred, gold = np.asarray(pred), np.asarray(gold)
    tp = int(((pred == 1) & (gold == 1)).sum())
    fp = int(((pred == 1) & (gold == 0)).sum())
    fn = int(((pred == 0) & (gold == 1)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def matthews(pred, gold):
    pred, gold = np.asarray(pred), np.asarray(gold)
    tp = float(((pred == 1) & (gold == 1)).sum()); tn = float(((pred == 0) & (gold == 0)).sum())
    fp = float(((pred == 1) & (gold == 0)).sum()); fn = float(((pred == 0) & (gold == 1)).sum())
    den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return 0.0 if den == 0 else (tp * tn - fp * fn) / den


METRICS = {"acc": accuracy, "f1": f1_positive, "mcc": matthews}


def all_metrics(pred, gold):
    return {"acc": accuracy(pred, gold), "f1": f1_positive(pred, gold), "mcc": matthews(pred, gold)}


# ----------------------------------------------------------------------------------------------

def length_batches(examples, batch, rng):
    """Shuffled batches of similar length (sorted inside chunks of 50 batches): less padding,
    which on CPU is most of the cost for short GLUE sentences."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    chunk = batch * 50
    out = []
    for s in range(0, len(order), chunk):
        part = sorted(order[s:s + chunk], key=lambda i: len(examples[i][0]))
        out.extend(part[k:k + batch] for k in range(0, len(part), batch))
    rng.shuffle(out)
    return out


@torch.no_grad()
def predict(model, examples, rt, batch=64):
    """-> (predicted labels, logits [N, L]) in the order of examples."""
    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    logits = [None] * len(examples)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        ids, types, mask, _ = collate([examples[i] for i in idx])
        with rt.autocast():
            # Dense teacher, no samplers: the masked path equals the compact one and batches.
            out = model(torch.from_numpy(ids).to(rt.device), torch.from_numpy(types).to(rt.device),
                        torch.from_numpy(mask).to(rt.device), compact=False)
        lg = out.logits.float().cpu()
        for r, i in enumerate(idx):
            logits[i] = lg[r]
    model.train()
    lg = torch.stack(logits) if logits else torch.zeros(0, 2)
    return lg.argmax(-1).numpy(), lg


def export_teacher(model, vocab, out_dir, task, mean_len):
    """-> {"export_f32": summary, "export_i8": summary}: out_dir/<task>.{f32,i8}.safetensors, the
    runtime's model files, with FLOPs counted at the dev set's mean length."""
    from train.export import export
    os.makedirs(out_dir, exist_ok=True)
    model.cpu().eval()
    out = {}
    for dt in ("f32", "i8"):
        p = os.path.join(out_dir, f"{task}.{dt}.safetensors")
        s = export(model, vocab, p, dtype=dt, length=max(1, round(mean_len)))
        out[f"export_{dt}"] = {"path": p, **{k: v for k, v in s.items() if isinstance(v, (int, float, str))}}
    return out


class KeepBest:
    """Model selection on the held-out slice of train (never dev): a copy of the best state so far
    and a count of evaluations since it; train.finetune and train.cnn both select this way."""

    def __init__(self, patience):
        self.patience, self.metric, self.step, self.state, self.bad = patience, -1e9, 0, None, 0

    def update(self, metric, model, step):
        """Record one held-out evaluation; -> True once `patience` evaluations in a row did not improve."""
        if metric > self.metric:
            self.metric, self.step, self.bad = metric, step, 0
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad += 1
        return self.bad >= self.patience

    def restore(self, model):
        model.load_state_dict(self.state)


def build_model(a, task, vocab_size):
    labels = TASKS[task]["labels"]
    if a.init == "random":
        cfg = M.ModelConfig.dense(a.layers, a.hidden, a.heads, a.ffn, vocab_size=vocab_size,
                                  labels=labels, task=task)
        model = M.InforCoefModel(cfg)
        if a.glove:
            from train.pretrain import glove_init_
            glove_init_(model.embeddings.word_embeddings.weight.data, seed=a.seed)
        return model
    from train.export import load_tokenizer_source
    enc = load_tokenizer_source(a.init)  # a pretrained encoder, a fine-tuned checkpoint or a teacher's model file
    cfg = enc.config
    cfg.labels = list(labels)
    cfg.task = task
    model = M.InforCoefModel(cfg)
    sd = {k: v for k, v in enc.state_dict().items() if not k.startswith("classifier.")}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.startswith("classifier.") for k in missing), (missing, unexpected)
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, choices=sorted(TASKS))
    ap.add_argument("--init", required=True, help="pretrained encoder checkpoint, a fine-tuned "
                    "checkpoint or model file (its classifier is replaced), or 'random'")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--glove", action="store_true", help="with --init random: GloVe word embeddings")
    ap.add_argument("--freeze-word-embeddings", action="store_true",
                    help="keep the pretrained word-embedding table as it is: words seen only in dev "
                         "stay where the words seen in train are")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: epochs)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--max-len", type=int, default=0, help="0: the task's default")
    ap.add_argument("--heldout", type=int, default=0, help="train examples held out for early stopping "
                    "(0: 5%% of train, at most 2000)")
    ap.add_argument("--train-limit", type=int, default=0, help="use only this many train examples")
    ap.add_argument("--min-words", type=int, default=0,
                    help="leave out train (and held-out) examples of fewer words: SST-2's train set is "
                         "mostly short phrases, its dev set whole sentences")
    ap.add_argument("--transfer", default="", help="a transfer set (train/transfer.py): unlabelled "
                    "sentences with an ensemble's class probabilities, trained on beside the gold "
                    "examples with those probabilities as soft targets")
    ap.add_argument("--transfer-limit", type=int, default=0, help="use only the first N transfer sentences")
    ap.add_argument("--dev-limit", type=int, default=0, help="tests: only this many dev examples")
    ap.add_argument("--dev-sample", type=int, default=0, help="evaluate on a seeded random sample of "
                    "this many dev examples (IMDb: its 25,000 test reviews are sorted by label)")
    ap.add_argument("--eval-every", type=int, default=0, help="steps; 0: 4 times per epoch")
    ap.add_argument("--patience", type=int, default=4)
    ap.add_argument("--max-minutes", type=float, default=0, help="wall-clock cap on training; the "
                    "held-out metric is evaluated at the stop and the best state kept")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--export", default="", help="write DIR/<task>.{f32,i8}.safetensors")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)

    rt = Runtime(a.device, a.threads)
    os.makedirs(a.out, exist_ok=True)
    task = a.task
    metric_name = TASKS[task]["metric"]
    metric = METRICS[metric_name]
    max_len = a.max_len or TASKS[task]["max_len"]
    tok = load_tokenizer()
    t0 = time.time()
    train_raw = read_task(task, "train")
    dev_raw = read_dev(task, a.seed, a.dev_limit, a.dev_sample)
    rng = random.Random(a.seed)
    rng.shuffle(train_raw)
    if a.min_words:
        train_raw = [x for x in train_raw if len(x[0].split()) + len((x[1] or "").split()) >= a.min_words]
    n_hold = a.heldout or min(2000, max(1, len(train_raw) // 20))
    held_raw, train_raw = train_raw[:n_hold], train_raw[n_hold:]
    if a.train_limit:
        train_raw = train_raw[:a.train_limit]
    train = encode_examples(tok, train_raw, max_len)
    # Soft targets: one-hot rows for the gold examples, the ensemble's probabilities for the
    # transfer sentences (cross-entropy against a distribution is distillation's loss).
    targets = None
    if a.transfer:
        from train.transfer import with_transfer
        train, targets = with_transfer(tok, train, a.transfer, TASKS[task]["labels"], max_len, a.transfer_limit)
    held = encode_examples(tok, held_raw, max_len)
    dev = encode_examples(tok, dev_raw, max_len)
    if rt.is_main:
        mean_len = sum(len(x[0]) for x in dev) / max(1, len(dev))
        print(f"{task}: train {len(train)}, held-out {len(held)}, dev {len(dev)} (mean dev length "
              f"{mean_len:.1f} tokens), tokenised in {time.time() - t0:.1f}s", file=sys.stderr)

    torch.manual_seed(a.seed)
    model = build_model(a, task, len(tok)).to(rt.device)
    if a.freeze_word_embeddings:
        model.embeddings.word_embeddings.weight.requires_grad_(False)
    net = rt.wrap(model)
    from train.pretrain import param_groups, linear_schedule
    steps_per_epoch = math.ceil(len(train) / a.batch)
    total = a.max_steps or max(1, int(a.epochs * steps_per_epoch))
    eval_every = a.eval_every or max(1, steps_per_epoch // 4)
    opt = torch.optim.AdamW(param_groups(model, a.wd), lr=a.lr, betas=(0.9, 0.999), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule(max(1, int(a.warmup * total)), total))

    log = open(os.path.join(a.out, "log.jsonl"), "w") if rt.is_main else None
    t_train = time.time()
    bar = None
    if rt.is_main and not a.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=total, desc=f"finetune {task}", dynamic_ncols=True, mininterval=5)
    keep = KeepBest(a.patience)
    step, epoch, losses = 0, 0, []
    done = False
    net.train()
    while not done:
        for b in length_batches(train, a.batch, random.Random(a.seed * 1000 + epoch)):
            part = b[rt.rank::rt.world] if rt.distributed else b
            ids, types, mask, labels = (torch.from_numpy(x).to(rt.device) for x in collate([train[i] for i in part]))
            if targets is not None:
                labels = targets[torch.as_tensor(part)].to(rt.device)
            with rt.autocast():
                out = net(ids, types, mask)
            loss = F.cross_entropy(out.logits.float(), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            sched.step()
            step += 1
            losses.append(float(loss))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
            out_of_time = bool(a.max_minutes) and time.time() - t_train > a.max_minutes * 60
            if rt.distributed:  # every rank must stop at the same step
                out_of_time = rt.all_reduce_sum(torch.tensor(float(out_of_time), device=rt.device)).item() > 0
            if step % eval_every == 0 or step == total or out_of_time:
                pred, _ = predict(model, held, rt)
                m = metric(pred, [x[2] for x in held])
                if rt.is_main:
                    rec = {"step": step, "epoch": epoch, "train_loss": round(float(np.mean(losses[-eval_every:])), 4),
                           f"heldout_{metric_name}": round(m, 4), "time": round(time.time(), 1)}
                    log.write(json.dumps(rec) + "\n"); log.flush()
                    (bar.write if bar is not None else lambda s: print(s, file=sys.stderr))(
                        f"step {step}: held-out {metric_name} {m:.4f}")
                done = keep.update(m, model, step)
            if step >= total or done or out_of_time:
                done = True
                break
        epoch += 1
    if bar is not None:
        bar.close()
    keep.restore(model)
    pred, _ = predict(model, dev, rt)
    gold = [x[2] for x in dev]
    dev_m = all_metrics(pred, gold)
    # Word order's worth on dev (train/order_probe.py): ~0 means the model reads a bag of words.
    from train.order_probe import shuffled_metric
    dev_shuffled = shuffled_metric(model, dev, tok, rt, metric, shuffles=1, seed=a.seed)
    result = {"task": task, "metric": metric_name, "dev": round(dev_m[metric_name], 4),
              "dev_all": {k: round(v, 4) for k, v in dev_m.items()},
              "dev_words_shuffled": round(dev_shuffled, 4), "heldout": round(keep.metric, 4),
              "train_examples": len(train_raw),
              "transfer_examples": 0 if targets is None else len(targets) - len(train_raw),
              "best_step": keep.step, "steps": step,
              "planned_steps": total, "init": a.init,
              "params": sum(p.numel() for p in model.parameters()),
              "dev_mean_len": round(sum(len(x[0]) for x in dev) / max(1, len(dev)), 1),
              "train_seconds": round(time.time() - t0, 1), "argv": sys.argv[1:] if argv is None else list(argv)}
    if rt.is_main:
        C.save_checkpoint(os.path.join(a.out, "best.pt"), model, tok.vocab, task=task,
                          heldout_metric=keep.metric, dev_metric=dev_m, step=keep.step)
        if a.export:
            result.update(export_teacher(model, tok.vocab, a.export, task, result["dev_mean_len"]))
        with open(os.path.join(a.out, "result.json"), "w") as f:
            json.dump(result, f, indent=1)
        print(json.dumps(result), flush=True)
        log.close()
    rt.close()
    return result


if __name__ == "__main__":
    main()
