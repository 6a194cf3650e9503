"""Uniform model soup (Wortsman et al. 2022): the element-wise mean of the weights of several
fine-tunes of one pretrained encoder (same task and shape, different seeds). The soup is one model
of the same size and cost; fine-tunes that start from the same encoder stay in one basin, so their
mean usually scores at least as well as the best of them, like an ensemble but at the price of one.

    python3 -m train.soup --out /work/runs/soup_sst2 --export /work/runs/teachers_soup \\
        /work/runs/ft_sst2_s0/best.pt /work/runs/ft_sst2_s1/best.pt /work/runs/ft_sst2_s2/best.pt

Every ingredient is weighted equally (a "uniform" soup): choosing ingredients by a metric would
need a held-out set that none of them trained on, and each seed holds out a different slice of
train. Dev is evaluated once for each ingredient and for the soup, and only reported.

Outputs in --out: best.pt (train/checkpoint.py; extra = {"task", "ingredients", "dev_metric"}) and
result.json; with --export DIR, DIR/<task>.{f32,i8}.safetensors as train.finetune writes them.
"""
import argparse
import json
import os
import sys

import torch

from train import checkpoint as C
from train.data import TASKS, encode_examples, load_tokenizer, read_dev
from train.distributed import Runtime


def uniform_soup(models):
    """-> a new model (the first one's class and config) whose every parameter and buffer is the
    mean over `models`. All must share config and state-dict keys/shapes."""
    first = models[0]
    states = [m.state_dict() for m in models]
    for i, sd in enumerate(states[1:], 1):
        if models[i].config.to_dict() != first.config.to_dict():
            raise ValueError(f"ingredient {i} has a different config from ingredient 0")
        if sd.keys() != states[0].keys() or any(sd[k].shape != states[0][k].shape for k in sd):
            raise ValueError(f"ingredient {i} has different weights (names or shapes) from ingredient 0")
    mean = {k: torch.stack([sd[k].float() for sd in states]).mean(0).to(states[0][k].dtype)
            for k in states[0]}
    soup = type(first)(first.config)
    soup.load_state_dict(mean)
    return soup


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", help="fine-tuned checkpoints of one task (train.finetune's best.pt)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--export", default="", help="write DIR/<task>.{f32,i8}.safetensors")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    from train.finetune import METRICS, all_metrics, export_teacher, predict
    from train.order_probe import shuffled_metric
    if len(a.checkpoints) < 2:
        raise SystemExit("a soup needs at least two checkpoints")

    rt = Runtime(a.device, a.threads)
    loaded = [C.load_checkpoint(p) for p in a.checkpoints]
    models = [m for m, _, _ in loaded]
    task = models[0].config.task
    if task not in TASKS:
        raise SystemExit(f"{a.checkpoints[0]}: no task in its config (not a fine-tuned checkpoint)")
    tok = load_tokenizer()
    if any(v is not None and list(v) != list(tok.vocab) for _, v, _ in loaded):
        raise SystemExit("an ingredient was trained with another vocabulary")
    soup = uniform_soup(models).to(rt.device)

    metric_name = TASKS[task]["metric"]
    dev = encode_examples(tok, read_dev(task, 0), TASKS[task]["max_len"])
    gold = [x[2] for x in dev]
    ingredients = []
    for path, m in zip(a.checkpoints, models):
        dm = all_metrics(predict(m.to(rt.device), dev, rt)[0], gold)
        ingredients.append({"path": path, "dev": round(dm[metric_name], 4)})
        print(f"{path}: dev {metric_name} {dm[metric_name]:.4f}", file=sys.stderr)
    dev_m = all_metrics(predict(soup, dev, rt)[0], gold)
    shuffled = shuffled_metric(soup, dev, tok, rt, METRICS[metric_name], shuffles=1)
    mean_len = sum(len(x[0]) for x in dev) / max(1, len(dev))
    result = {"task": task, "metric": metric_name, "dev": round(dev_m[metric_name], 4),
              "dev_all": {k: round(v, 4) for k, v in dev_m.items()}, "dev_words_shuffled": round(shuffled, 4),
              "ingredients": ingredients,
              "ingredients_mean_dev": round(sum(x["dev"] for x in ingredients) / len(ingredients), 4),
              "params": sum(p.numel() for p in soup.parameters()), "dev_mean_len": round(mean_len, 1),
              "argv": sys.argv[1:] if argv is None else list(argv)}
    os.makedirs(a.out, exist_ok=True)
    C.save_checkpoint(os.path.join(a.out, "best.pt"), soup, tok.vocab, task=task,
                      ingredients=list(a.checkpoints), dev_metric=dev_m)
    if a.export:
        result.update(export_teacher(soup, tok.vocab, a.export, task, mean_len))
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result), flush=True)
    rt.close()
    return result


if __name__ == "__main__":
    torch.set_flush_denormal(True)
    main()
