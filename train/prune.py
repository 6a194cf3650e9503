"""Stage 1 of Infor-Coef: CoFi structured pruning (Xia et al. 2022) of a fine-tuned dense teacher.

    student = copy of the teacher, with CoFi's hard-concrete gates (train/hardconcrete.py) over
              attention blocks, heads, FFN blocks, FFN neurons and hidden dimensions
    loss    = kd_alpha * KD(student, teacher; T = 2)                 logit distillation
            + layer_alpha * layerwise distillation (train/distill.py) hidden-state distillation
            + lambda1 (s - t) + lambda2 (s - t)^2                    s = expected sparsity,
                                                                     t ramped s(0) -> target
    three optimizers: the model (+ the distillation map) and the gates minimise, the two
    Lagrange multipliers maximise (gradient ascent);
    then    gates -> binary (deterministic; one common shift of log_alpha makes them meet the target
            exactly, since a short run ends wherever the min-max game is) -> the masked
            rows/columns/heads/blocks/hidden dims are
            cut out of the weights (train/materialize.py) -> fine-tune the small model with
            KD + layerwise distillation against the same teacher.

Model selection never looks at dev: the fine-tuning keeps the weights that score best on a held-out
slice of train. Run through train/pipeline.py, or directly:

    python3 -m train.prune --teacher T.safetensors --task sst2 --sparsity 0.9 --out DIR
"""
import argparse
import copy
import json
import os
import random
import time
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn

from train import hardconcrete as hc
from train.distill import (LayerDistill, default_teacher_layers, evaluate, kd_loss, to_batch,
                           train_batches)


@dataclass
class PruneArgs:
    sparsity: float = 0.9          # target fraction of prunable parameters removed
    steps: int = 2000              # pruning steps (gates + model)
    warmup_steps: int = 600        # target sparsity ramps linearly 0 -> sparsity over these
    lr: float = 1e-4               # model and distillation map
    reg_lr: float = 0.1            # gates (log_alpha) and Lagrange multipliers
    hidden_keep: float = 0.0       # >0: also constrain E[kept hidden dims] / d to this (own Lagrangian)
    batch_size: int = 32
    temperature: float = 2.0       # logit KD temperature
    kd_alpha: float = 1.0
    layer_alpha: float = 1.0
    finetune_steps: int = 1000     # after materialisation
    finetune_lr: float = 1e-4
    eval_every: int = 250          # fine-tuning: check the held-out train slice this often
    train_word_embeddings: bool = False   # off: the [V, d] table stays as the teacher's (half the
                                          # step time on CPU: AdamW over V x d weights every step)
    seed: int = 0
    log_every: int = 50


def gates_for(cfg):
    """CoFi gates for a dense config (every layer with the same heads / FFN width)."""
    shapes = {(l.heads, l.ffn) for l in cfg.layers}
    if len(shapes) != 1 or any(l.sampler for l in cfg.layers):
        raise ValueError("stage 1 prunes a dense model: every layer the same shape, no samplers")
    heads, ffn = shapes.pop()
    return hc.CoFiGates(cfg.num_layers, heads, cfg.head_size, ffn, cfg.hidden_size)


def _distill_losses(student_out, teacher_out, mask, layer_distill, present, args):
    kd = kd_loss(student_out.logits, teacher_out.logits, args.temperature)
    lay, align = layer_distill(student_out.hidden_states[1:], teacher_out.hidden_states[1:], mask,
                               present)
    return kd, lay, align


def trainable(model, train_word_embeddings):
    """Parameters to optimise; the word-embedding table is frozen unless asked for."""
    model.embeddings.word_embeddings.weight.requires_grad_(bool(train_word_embeddings))
    return [p for p in model.parameters() if p.requires_grad]


def _teacher_forward(teacher, ids, types, mask):
    # Dense teacher, no samplers: the batched masked path equals the compact reference.
    with torch.no_grad():
        return teacher(ids, types, mask, compact=False, output_hidden_states=True)


def prune(teacher, train_ex, task, args: PruneArgs, device="cpu", log=print):
    """Pruning phase. Returns (student with its soft weights, gates, layer_distill, history)."""
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    teacher = teacher.to(device).eval()
    student = copy.deepcopy(teacher).train()
    cfg = teacher.config
    gates = gates_for(cfg).to(device)
    lag = hc.Lagrangian().to(device)
    lag_h = hc.Lagrangian().to(device)       # hidden-size constraint (used when hidden_keep > 0)
    ld = LayerDistill(cfg.hidden_size, cfg.hidden_size, default_teacher_layers(cfg.num_layers)).to(device)
    params = trainable(student, args.train_word_embeddings)
    opt = torch.optim.AdamW(params + list(ld.parameters()), lr=args.lr, weight_decay=0.0)
    opt_g = torch.optim.AdamW(gates.parameters(), lr=args.reg_lr, weight_decay=0.0)
    opt_l = torch.optim.AdamW(list(lag.parameters()) + list(lag_h.parameters()), lr=args.reg_lr,
                              weight_decay=0.0, maximize=True)
    it = train_batches(train_ex, args.batch_size, rng)
    hist = []
    # The ramp starts at the gates' initial expected sparsity (~0.42 at CoFi's init) rather than
    # CoFi's 0: from 0 the gates first close up towards 0 and then have to be pushed back, which
    # costs a few hundred steps and overshoots in a short run.
    s0 = gates.expected_sparsity().item()
    h0 = gates.expected_hidden_sparsity().item()
    t0 = time.time()
    for step in range(args.steps):
        ids, types, mask, _ = to_batch(next(it), device)
        t_out = _teacher_forward(teacher, ids, types, mask)
        z = gates.sample()
        s_out = student(ids, types, mask, masks=z, output_hidden_states=True)
        present = (z["mha_z"] > 0) | (z["ffn_z"] > 0)
        kd, lay, _ = _distill_losses(s_out, t_out, mask, ld, present, args)
        es = gates.expected_sparsity()
        target = hc.target_at(step, args.warmup_steps, args.sparsity, start=min(s0, args.sparsity))
        lagr = lag(es, target)
        if args.hidden_keep > 0:
            # CoFi's single constraint tends to keep every hidden dim and cut heads / FFN instead;
            # a narrower residual stream makes the token samplers (d x d) and the embedding
            # table cheaper, so optionally ask for it explicitly.
            th = hc.target_at(step, args.warmup_steps, 1.0 - args.hidden_keep, start=min(h0, 1.0 - args.hidden_keep))
            lagr = lagr + lag_h(gates.expected_hidden_sparsity(), th)
        loss = args.kd_alpha * kd + args.layer_alpha * lay + lagr
        opt.zero_grad(set_to_none=True); opt_g.zero_grad(set_to_none=True); opt_l.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(); opt_g.step(); opt_l.step()
        if step % args.log_every == 0 or step == args.steps - 1:
            rec = {"step": step, "kd": round(kd.item(), 4), "layer": round(lay.item(), 4),
                   "expected_sparsity": round(es.item(), 4), "target": round(target, 4),
                   "lambda1": round(lag.lambda_1.item(), 4), "lambda2": round(lag.lambda_2.item(), 4),
                   "expected_hidden": round(gates.hidden * (1 - gates.expected_hidden_sparsity().item()), 1),
                   "s": round(time.time() - t0, 1)}
            hist.append(rec)
            log(f"prune {json.dumps(rec)}")
    return student, gates, ld, hist


def materialize(student, z):
    """Cut the binary-gated student down to a small dense model (model engineer's materialize)."""
    from train.materialize import materialize as cut
    return cut(student, z)


def finetune(teacher, student, train_ex, heldout_ex, task, args: PruneArgs, layer_map=None,
             device="cpu", log=print):
    """KD (+ layerwise distillation) fine-tuning of the materialised student. Keeps the weights
    with the best held-out-train metric (checked every eval_every steps and at the end)."""
    torch.manual_seed(args.seed + 1)
    rng = random.Random(args.seed + 1)
    teacher = teacher.to(device).eval()
    student = student.to(device).train()
    ld = LayerDistill(student.config.hidden_size, teacher.config.hidden_size,
                      default_teacher_layers(teacher.config.num_layers)).to(device)
    if layer_map is not None:
        with torch.no_grad():
            ld.map.load_state_dict(layer_map)
    present = torch.tensor([l.heads > 0 or l.ffn > 0 for l in student.config.layers])
    params = trainable(student, args.train_word_embeddings)
    opt = torch.optim.AdamW(params + list(ld.parameters()), lr=args.finetune_lr, weight_decay=0.0)
    total = max(1, args.finetune_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / total))
    it = train_batches(train_ex, args.batch_size, rng)
    best = evaluate(student, heldout_ex, task, device=device)["metric"] if heldout_ex else None
    best_state = copy.deepcopy(student.state_dict())
    log(f"finetune step 0 heldout {best}")
    t0 = time.time()
    for step in range(args.finetune_steps):
        ids, types, mask, _ = to_batch(next(it), device)
        t_out = _teacher_forward(teacher, ids, types, mask)
        s_out = student(ids, types, mask, output_hidden_states=True)
        kd, lay, _ = _distill_losses(s_out, t_out, mask, ld, present, args)
        loss = args.kd_alpha * kd + args.layer_alpha * lay
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(); sched.step()
        if step % args.log_every == 0:
            log(f"finetune step {step} kd {kd.item():.4f} layer {lay.item():.4f} {time.time() - t0:.0f}s")
        last = step == args.finetune_steps - 1
        if heldout_ex and ((step + 1) % args.eval_every == 0 or last):
            m = evaluate(student, heldout_ex, task, device=device)["metric"]
            log(f"finetune step {step + 1} heldout {m:.2f} (best {best:.2f})")
            if m >= best:
                best, best_state = m, copy.deepcopy(student.state_dict())
    student.load_state_dict(best_state)
    return student.eval()


def cut_layer_map(ld_state, hidden_z):
    """The distillation map d -> d_t restricted to the kept student dims: [d_t, d_kept]."""
    idx = torch.nonzero(hidden_z != 0, as_tuple=False).flatten()
    return {"weight": ld_state["map.weight"][:, idx].clone(), "bias": ld_state["map.bias"].clone()}


def run_stage1(teacher, train_ex, heldout_ex, task, args: PruneArgs, device="cpu", log=print):
    """Prune -> binary gates -> materialise -> fine-tune. Returns (small model, report dict)."""
    student, gates, ld, hist = prune(teacher, train_ex, task, args, device, log)
    student.eval()
    z = {k: v.to(device) for k, v in
         gates.deterministic(target=args.sparsity, hidden_keep=args.hidden_keep or None).items()}
    sparsity = hc.CoFiGates.sparsity_of(z, teacher.config.head_size)
    log(f"binary gates: sparsity {sparsity:.4f}, hidden {int(z['hidden_z'].sum())}, "
        f"heads {z['head_z'].sum(-1).tolist()}, ffn {z['intermediate_z'].sum(-1).tolist()}")
    small = materialize(student, z)
    layer_map = cut_layer_map(ld.state_dict(), z["hidden_z"])
    small = finetune(teacher, small, train_ex, heldout_ex, task, args, layer_map, device, log)
    report = {"args": asdict(args), "binary_sparsity": sparsity, "prune_history": hist,
              "config": small.config.to_dict()}
    return small, report


# ----------------------------------------------------------------------------------------------
# checkpoints between stages: train/checkpoint.py's format, so `python3 -m train.export` reads them

def save_checkpoint(model, path, extra=None):
    from train import checkpoint
    extra = dict(extra or {})
    vocab = extra.pop("vocab", None)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    checkpoint.save_checkpoint(tmp, model, vocab, **extra)
    os.replace(tmp, path)


def load_checkpoint(path):
    """-> (model in eval mode, extra dict with "vocab")."""
    from train import checkpoint
    model, vocab, extra = checkpoint.load_checkpoint(path)
    return model.eval(), {**extra, "vocab": vocab}
