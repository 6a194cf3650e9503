"""Eval-mode threshold calibration: pick the token samplers' keep threshold that meets a FLOPs budget.

In eval mode a token is kept when (keep logit - drop logit) > threshold; a larger threshold drops
more tokens and so costs fewer FLOPs. Costs are measured by the model's own eval-mode FLOPs
accounting (docs/model-format.md), summed over a slice of TRAIN examples (never dev), and divided
by the dense teacher's FLOPs on the same examples:

    ratio(thr) = sum_x flops_student(x; thr) / sum_x flops_teacher(x)

ratio is non-increasing in thr in practice (dropping a token at one layer removes it from every
later layer); the context of the survivors shifts with thr, so it is not strictly guaranteed, and
the search below therefore returns the best threshold it actually measured, never an
interpolated one. We want the smallest threshold (the most tokens kept, so the best accuracy)
whose ratio is <= the target.
"""
import math


def bisect_threshold(ratio_at, target, lo=-20.0, hi=20.0, iters=24, log=None):
    """ratio_at(thr) -> FLOPs ratio. Returns (threshold, ratio) with ratio <= target if any
    probed threshold achieves it (the smallest such threshold), else the probe with the lowest ratio.
    """
    probes = {}

    def probe(t):
        if t not in probes:
            probes[t] = ratio_at(t)
            if log:
                log(f"calibrate: threshold {t:+.4f} -> FLOPs ratio {probes[t]:.5f}")
        return probes[t]

    if probe(lo) <= target:          # even the loosest threshold is within budget
        return lo, probes[lo]
    if probe(hi) > target:           # even the strictest is not: return the cheapest
        t = min(probes, key=probes.get)
        return t, probes[t]
    a, b = lo, hi                    # invariant: ratio(a) > target >= ratio(b)
    for _ in range(iters):
        m = 0.5 * (a + b)
        if probe(m) <= target:
            b = m
        else:
            a = m
    ok = [t for t, r in probes.items() if r <= target]
    t = min(ok)
    return t, probes[t]


def calibrate_threshold(ratio_at, target, log=None):
    """Bisection over the threshold on [-20, 20]: the samplers start at a logit difference of
    about +10 (keep) and most trained ones stay in that range; 20 halvings give a step of 4e-5.
    When even -20 is within budget (samplers pushed hard, e.g. on long IMDb reviews, keep
    logits far below -20 for most tokens), the lower end is doubled (-40, -80, ... -1280) until
    it is over budget, so the result still keeps as many tokens as the budget allows."""
    seen = {}

    def cached(t):
        if t not in seen:
            seen[t] = ratio_at(t)
        return seen[t]

    lo, hi = -20.0, 20.0
    while lo > -1280.0 and cached(lo) <= target:
        if log:
            log(f"calibrate: threshold {lo:+.4f} -> FLOPs ratio {seen[lo]:.5f} within budget; widening")
        lo, hi = 2 * lo, lo
    iters = 20 + int(round(math.log2((hi - lo) / 40.0)))
    return bisect_threshold(cached, target, lo=lo, hi=hi, iters=iters, log=log)


def flops_ratio_fn(model, examples, teacher_config, batch_size=128, device="cpu", teacher_examples=None):
    """-> ratio_at(threshold) over `examples` (list of (ids, types, label)), measured by the
    model's own eval-mode FLOPs accounting. Uses the batched masking path of eval mode, which
    takes the same keep decisions as the compacting reference (kept rows see exactly the same
    keys), and is much faster for the dozens of probes of a bisection."""
    import torch
    from train import flops as flops_lib
    from train.distill import to_batch
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    batches = [to_batch([examples[i] for i in order[s:s + batch_size]], device)
               for s in range(0, len(order), batch_size)]
    # teacher_examples: the same texts as the teacher tokenises them (the student's vocabulary
    # may be pruned, which can split a word into more pieces than the teacher's)
    dense = sum(flops_lib.dense_flops(teacher_config, len(e[0])) for e in (teacher_examples or examples))

    @torch.no_grad()
    def ratio_at(threshold):
        was = model.training
        model.eval()
        tot = 0
        for ids, types, mask, _ in batches:
            tot += int(model(ids, types, mask, threshold=threshold, compact=False).flops.sum())
        model.train(was)
        return tot / dense
    return ratio_at


def calibrate_model(model, examples, teacher_config, target, device="cpu", log=None,
                    teacher_examples=None):
    """Set model.config.keep_threshold to the smallest threshold whose FLOPs ratio (vs the dense
    teacher, on `examples`) is <= target. Returns (threshold, ratio)."""
    t, r = calibrate_threshold(flops_ratio_fn(model, examples, teacher_config, device=device,
                                              teacher_examples=teacher_examples),
                               target, log=log)
    model.config.keep_threshold = float(t)
    return t, r
