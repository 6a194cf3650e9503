"""Distillation losses for compression: logit KD and CoFi's layerwise distillation.

Logit KD (Hinton et al. 2015): KL(softmax(t / T) || softmax(s / T)) * T^2, T = 2.

Layerwise distillation (CoFi, Xia et al. 2022, "layer_distill_version 4"): a fixed set of teacher
layers is matched to student layers. Each student layer output goes through one learnable
linear map W (d_s -> d_t, initialised to the identity when the widths agree, since the student
starts as a copy of the teacher); MSE(W h_s, h_t) is computed for every (teacher, student) pair;
then, from the last chosen teacher layer down, each teacher layer takes the student layer with the
smallest MSE among those strictly below the previous pick and still present. The alignment is
monotone, so it cannot collapse several teacher layers onto one student layer.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def kd_loss(student_logits, teacher_logits, temperature=2.0):
    """[B, C], [B, C] -> scalar. Mean over the batch."""
    t = temperature
    log_p = F.log_softmax(student_logits / t, dim=-1)
    q = F.softmax(teacher_logits / t, dim=-1)
    return F.kl_div(log_p, q, reduction="batchmean") * (t * t)


def default_teacher_layers(n_layers):
    """CoFi matches 4 of 12 teacher layers (3, 6, 9, 12); the same quarters of a shorter teacher.

    Returns 0-based indices into the list of layer outputs.
    """
    picks = sorted({max(1, int(n_layers * q / 4 + 0.5)) - 1 for q in (1, 2, 3, 4)})
    return picks


def masked_mse(a, b, mask):
    """a, b: [B, n, d]; mask: [B, n] (1 = real token). Mean squared error over real tokens."""
    m = mask.to(a.dtype).unsqueeze(-1)
    return ((a - b) ** 2 * m).sum() / (m.sum() * a.shape[-1]).clamp_min(1.0)


class LayerDistill(nn.Module):
    def __init__(self, student_hidden, teacher_hidden, teacher_layers):
        super().__init__()
        self.map = nn.Linear(student_hidden, teacher_hidden)
        with torch.no_grad():
            if student_hidden == teacher_hidden:
                self.map.weight.copy_(torch.eye(teacher_hidden))
            else:
                self.map.weight.normal_(0.0, 0.02)
            self.map.bias.zero_()
        self.teacher_layers = list(teacher_layers)

    def forward(self, student_hiddens, teacher_hiddens, mask, present=None):
        """student_hiddens: list of L_s tensors [B, n, d_s] (each layer's output);
        teacher_hiddens: list of L_t tensors [B, n, d_t]; mask [B, n];
        present: optional bool tensor [L_s], False for a student layer whose blocks are all gone.
        Returns (loss, alignment list of student indices, one per teacher layer)."""
        ls = len(student_hiddens)
        mapped = [self.map(h) for h in student_hiddens]
        losses = torch.stack([
            torch.stack([masked_mse(s, teacher_hiddens[t], mask) for s in mapped])
            for t in self.teacher_layers])                                  # [T, L_s]
        alignment = []
        last = ls
        for ti in range(len(self.teacher_layers) - 1, -1, -1):
            order = torch.argsort(losses[ti].detach())
            pick = None
            for j in order.tolist():
                if j < last and (present is None or bool(present[j])):
                    pick = j
                    break
            if pick is None:   # nothing left below: reuse the previous pick (CoFi does the same)
                pick = min(last, ls - 1)
            alignment.append(pick)
            last = pick
        alignment.reverse()
        loss = sum(losses[ti, j] for ti, j in enumerate(alignment))
        return loss, alignment


# ----------------------------------------------------------------------------------------------
# task data and evaluation shared by both compression stages

def encoded_task(task, split, max_len=None, cache_dir=None, tok=None):
    """-> list of (ids, types, label) for a task split, tokenised once with `tok` (default: the
    bert-base-uncased vocabulary) and cached (pickle) under cache_dir, keyed by the vocabulary,
    since WordPiece in Python takes a while on 67k SST-2 sentences."""
    import hashlib
    import os
    import pickle
    from train import data
    max_len = max_len or data.TASKS[task]["max_len"]
    tok = tok or data.load_tokenizer()
    path = None
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        vh = hashlib.md5("\n".join(tok.vocab).encode("utf-8")).hexdigest()[:10]
        path = os.path.join(cache_dir, f"enc_{task}_{split}_{max_len}_{vh}.pkl")
        if os.path.exists(path):
            with open(path, "rb") as f:
                return pickle.load(f)
    enc = data.encode_examples(tok, data.read_task(task, split), max_len)
    if path:
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(enc, f)
        os.replace(tmp, path)
    return enc


def to_batch(examples, device="cpu"):
    """list of (ids, types, label) -> (ids, types, mask, labels) LongTensors [B, n] / [B]."""
    from train import data
    return tuple(torch.from_numpy(a).to(device) for a in data.collate(examples))


def train_batches(examples, batch_size, rng):
    """Endless shuffled batches; each batch is drawn from a pool of 50 batches sorted by length,
    so padding stays small without fixing the batch composition."""
    pool = 50 * batch_size
    while True:
        order = list(range(len(examples)))
        rng.shuffle(order)
        for p in range(0, len(order), pool):
            chunk = sorted(order[p:p + pool], key=lambda i: len(examples[i][0]))
            groups = [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
            rng.shuffle(groups)
            for g in groups:
                yield [examples[i] for i in g]


def metric_of(task, preds, labels):
    """GLUE metric of the task (acc, F1 for MRPC, Matthews for CoLA), in percent."""
    import math as _m
    from train import data
    kind = data.TASKS[task]["metric"]
    tp = sum(1 for p, y in zip(preds, labels) if p == 1 and y == 1)
    tn = sum(1 for p, y in zip(preds, labels) if p == 0 and y == 0)
    fp = sum(1 for p, y in zip(preds, labels) if p == 1 and y == 0)
    fn = sum(1 for p, y in zip(preds, labels) if p == 0 and y == 1)
    acc = 100.0 * sum(1 for p, y in zip(preds, labels) if p == y) / max(1, len(labels))
    if kind == "f1":
        return 100.0 * 2 * tp / max(1, 2 * tp + fp + fn), acc
    if kind == "mcc":
        den = _m.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return 100.0 * (tp * tn - fp * fn) / den if den else 0.0, acc
    return acc, acc


@torch.no_grad()
def evaluate(model, examples, task, batch_size=64, threshold=None, masks=None, compact=None,
             device="cpu", teacher_config=None):
    """Eval-mode metric, mean FLOPs per sequence (the model's own accounting) and mean kept rows
    per layer. compact=None: the reference compaction when the model has samplers, the batched
    masked path (identical outputs, no token dropped) when it has none.
    teacher_config: also report the FLOPs ratio against that dense config on the same inputs."""
    from train import flops as flops_lib
    was = model.training
    model.eval()
    if compact is None:
        compact = any(l.sampler for l in model.config.layers)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    preds = [0] * len(examples)
    tot_flops, tot_dense, tot_kept, tot_tokens = 0, 0, None, 0
    logits_all = [None] * len(examples)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        ids, types, mask, _ = to_batch([examples[i] for i in idx], device)
        out = model(ids, types, mask, threshold=threshold, masks=masks, compact=compact)
        p = out.logits.argmax(-1).tolist()
        for j, i in enumerate(idx):
            preds[i] = p[j]
            logits_all[i] = out.logits[j].float().cpu()
        tot_flops += int(out.flops.sum())
        k = out.kept.float().sum(0).cpu()
        tot_kept = k if tot_kept is None else tot_kept + k
        tot_tokens += int(mask.sum())
        if teacher_config is not None:
            tot_dense += sum(flops_lib.dense_flops(teacher_config, len(examples[i][0])) for i in idx)
    model.train(was)
    labels = [e[2] for e in examples]
    metric, acc = metric_of(task, preds, labels)
    n = len(examples)
    res = {"metric": metric, "acc": acc, "n": n, "flops": tot_flops / n,
           "kept_per_layer": [round(float(x) / n, 3) for x in tot_kept],
           "mean_len": tot_tokens / n, "preds": preds, "logits": torch.stack(logits_all)}
    if teacher_config is not None:
        res["teacher_flops"] = tot_dense / n
        res["flops_ratio"] = tot_flops / max(1, tot_dense)
    return res
