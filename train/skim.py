"""Stage 2 of Infor-Coef (Tan 2023): dynamic token downsampling trained with an information bottleneck.

A token sampler (LayerNorm, Linear d->d, LayerNorm, GELU, Linear d->2; last bias drop -5 / keep +5,
so a fresh sampler keeps everything) sits before chosen layers of the CoFi-pruned model. In training
it draws Gumbel-softmax straight-through keep decisions, cumulative across layers (train/model.py);
in eval mode a token is kept when (keep logit - drop logit) > threshold and is physically removed
otherwise. The loss, per layer with a sampler (hidden = the layer input H, mask M = cumulative keep
mask after the sampler, p = keep probability):

    Infor-Coef:  CE (+ kd_alpha * KD from the teacher)
                 + norm_coef    * mean_l ||H_l (.) M_l||_F        (per sequence, mean over the batch)
                 + entropy_coef * mean binary entropy of p        (over the tokens the sampler decides)
                 the norm term starts after `epoch_steps` steps (the paper: after one epoch), so the
                 samplers first learn which tokens matter before the squeeze starts.
    Transkimmer: CE (+ KD) + skim_coef * mean_l (kept real tokens / real tokens)

The bottleneck Z = H (.) M: the Frobenius norm bounds how much of H gets through (the compression
side of the IB objective); the entropy term makes the samplers decisive, so the deterministic
eval-mode threshold matches what the network saw in training. After training, the eval threshold
is calibrated on a train slice to meet a FLOPs budget (train/calibrate.py).
"""
import copy
import json
import random
import time
from dataclasses import dataclass, asdict, field
from typing import List, Optional

import torch
import torch.nn.functional as F

from train.distill import evaluate, kd_loss, to_batch, train_batches


# ----------------------------------------------------------------------------------------------
# losses
#   hidden  [B, n, d]  the hidden states the layer's sampler sees (the layer input)
#   mask    [B, n]     the cumulative keep mask after that sampler (0/1 forward, soft backward)
#   p_keep  [B, n]     the sampler's keep probability softmax(s)[keep]
#   valid   [B, n]     1 for the tokens the sampler decides on: alive before it, not [CLS]

def ib_norm_loss(hiddens, masks, pad_mask):
    """hiddens: list of [B, n, d]; masks: list of [B, n]; pad_mask [B, n] -> scalar."""
    terms = []
    for h, m in zip(hiddens, masks):
        w = (m * pad_mask.to(m.dtype)).unsqueeze(-1)
        terms.append(torch.sqrt(((h * w) ** 2).sum(dim=(1, 2)) + 1e-12).mean())
    return torch.stack(terms).mean()


def binary_entropy_loss(p_keeps, valids):
    """p_keeps, valids: lists of [B, n] -> mean entropy (nats) over every decided token."""
    num, den = 0.0, 0.0
    for p, v in zip(p_keeps, valids):
        p = p.clamp(1e-6, 1 - 1e-6)
        ent = -(p * torch.log(p) + (1 - p) * torch.log(1 - p))
        v = v.to(p.dtype)
        num = num + (ent * v).sum()
        den = den + v.sum()
    return num / max(float(den), 1.0)


def skim_ratio_loss(masks, pad_mask):
    """Transkimmer: mean over layers of (kept real tokens / real tokens), per sequence then batch."""
    pm = pad_mask.to(masks[0].dtype)
    n = pm.sum(dim=1).clamp_min(1.0)
    return torch.stack([((m * pm).sum(dim=1) / n).mean() for m in masks]).mean()


# ----------------------------------------------------------------------------------------------
# model surgery and training

def with_samplers(model, layers):
    """A copy of `model` with fresh token samplers before the given layer indices (the others
    keep theirs, if any). Weights of everything else are copied exactly."""
    from train.model import InforCoefModel
    cfg = copy.deepcopy(model.config)
    for i in layers:
        cfg.layers[i].sampler = True
    new = InforCoefModel(cfg)
    missing, unexpected = new.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected, unexpected
    assert all(".sampler." in k for k in missing), missing
    return new


def sampler_layers_arg(spec, n_layers):
    """'all' | 'from1' (every layer but the first) | comma list '1,2,3' -> list of indices."""
    if spec == "all":
        return list(range(n_layers))
    if spec == "from1":
        return list(range(1, n_layers))
    return sorted({int(x) for x in spec.split(",") if x.strip()})


@dataclass
class SkimArgs:
    loss: str = "ib"               # "ib" (Infor-Coef) or "skim" (Transkimmer's keep-ratio loss)
    steps: int = 2000
    epoch_steps: int = 500         # the IB norm term starts after this many steps ("one epoch")
    lr: float = 5e-5               # encoder weights
    sampler_lr: float = 2e-3       # samplers: they start saturated at +-5 and must move
    batch_size: int = 32
    tau: float = 1.0               # Gumbel-softmax temperature
    norm_coef: float = 4e-4
    entropy_coef: float = 4e-4
    skim_coef: float = 0.5
    kd_alpha: float = 1.0          # 0: CE only
    ce_alpha: float = 1.0
    temperature: float = 2.0
    sampler_layers: str = "all"
    eval_every: int = 500
    train_word_embeddings: bool = False   # see train/prune.py: frozen for speed on CPU
    seed: int = 0
    log_every: int = 50


def _sampler_terms(out, attention_mask):
    """Per sampler layer: (hidden input, keep mask, keep prob, valid) lists from a training
    forward (output_hidden_states=True)."""
    hid, masks, probs, valids = [], [], [], []
    prev = attention_mask.to(out.keep_masks[0].dtype)
    for i, p in enumerate(out.keep_probs):
        if p is not None:
            v = prev.clone()
            v[:, 0] = 0.0                                  # [CLS] is never decided
            hid.append(out.hidden_states[i])
            masks.append(out.keep_masks[i])
            probs.append(p)
            valids.append(v.detach())
        prev = out.keep_masks[i]
    return hid, masks, probs, valids


def skim_loss_terms(out, attention_mask, args: SkimArgs, step):
    """-> dict of named scalar loss terms (already weighted) and the total."""
    hid, masks, probs, valids = _sampler_terms(out, attention_mask)
    terms = {}
    if args.loss == "ib":
        if step >= args.epoch_steps and args.norm_coef:
            terms["norm"] = args.norm_coef * ib_norm_loss(hid, masks, attention_mask)
        if args.entropy_coef:
            terms["entropy"] = args.entropy_coef * binary_entropy_loss(probs, valids)
    elif args.loss == "skim":
        terms["skim"] = args.skim_coef * skim_ratio_loss(masks, attention_mask)
    else:
        raise ValueError(f"unknown stage-2 loss {args.loss!r} (ib | skim)")
    return terms


def train_skim(model, train_ex, task, args: SkimArgs, teacher=None, heldout_ex=None,
               device="cpu", log=print):
    """Train samplers (and fine-tune the encoder) in place. Returns the training history."""
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = model.to(device).train()
    if teacher is not None:
        teacher = teacher.to(device).eval()
    model.embeddings.word_embeddings.weight.requires_grad_(bool(args.train_word_embeddings))
    samp = [p for n, p in model.named_parameters() if ".sampler." in n]
    rest = [p for n, p in model.named_parameters() if ".sampler." not in n and p.requires_grad]
    if not samp:
        raise ValueError("the model has no token sampler: add them with with_samplers()")
    opt = torch.optim.AdamW([{"params": rest, "lr": args.lr}, {"params": samp, "lr": args.sampler_lr}],
                            weight_decay=0.0)
    it = train_batches(train_ex, args.batch_size, rng)
    hist = []
    t0 = time.time()
    for step in range(args.steps):
        ids, types, mask, y = to_batch(next(it), device)
        out = model(ids, types, mask, tau=args.tau, output_hidden_states=True)
        unlabelled = y < 0
        t_logits = None
        if teacher is not None and (args.kd_alpha or unlabelled.any()):
            with torch.no_grad():
                t_logits = teacher(ids, types, mask, compact=False).logits
        if unlabelled.any():
            if t_logits is None:
                raise ValueError("unlabelled examples (label -1) need a teacher to label them")
            y = torch.where(unlabelled, t_logits.argmax(-1), y)   # the teacher's class stands in
        loss = args.ce_alpha * F.cross_entropy(out.logits, y)
        terms = {"ce": loss.item()}
        if t_logits is not None and args.kd_alpha:
            kd = args.kd_alpha * kd_loss(out.logits, t_logits, args.temperature)
            loss = loss + kd
            terms["kd"] = kd.item()
        for k, v in skim_loss_terms(out, mask, args, step).items():
            loss = loss + v
            terms[k] = v.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(samp + rest, 1.0)
        opt.step()
        if step % args.log_every == 0 or step == args.steps - 1:
            real = mask.sum().item()
            rec = {"step": step, **{k: round(v, 5) for k, v in terms.items()},
                   "kept": [round(float((out.keep_masks[i] * mask).sum() / real), 3)
                            for i in range(len(out.keep_masks))],
                   "s": round(time.time() - t0, 1)}
            hist.append(rec)
            log(f"skim {json.dumps(rec)}")
        if heldout_ex and args.eval_every and (step + 1) % args.eval_every == 0:
            r = evaluate(model, heldout_ex, task, device=device, compact=False)
            log(f"skim step {step + 1} heldout {r['metric']:.2f} kept {r['kept_per_layer']} (threshold "
                f"{model.config.keep_threshold})")
            model.train()
    return hist
