"""One command from a fine-tuned dense teacher to shipped Infor-Coef models for a task:

    teacher --(stage 1: CoFi pruning + distillation, train/prune.py)--> pruned dense model
            --(stage 2: token samplers + IB loss, train/skim.py)--> Infor-Coef model
            --(threshold calibrated on a train slice to the FLOPs target, train/calibrate.py)
            --> export I8 and F32 (train/model_file.py), vocabulary pruned to the tokens that matter

    python3 -m train.pipeline --task sst2 --teacher /work/runs/teachers/sst2.f32.safetensors \\
        --sparsity 0.9 --flops-target 0.0667 --out /work/runs/sst2 --ship models/sst2.safetensors

--distill-sentences N adds N unlabelled IMDb sentences to stage 1's distillation data, and
--distill-stage2 to stage 2's, where each takes the teacher's class as its label (the shipped SST-2
file: 200,000 in both; models/README.md measures what they buy).

Every stage writes its result under --out and is skipped when that result exists (so a stopped
run resumes at the stage it was in), unless --force names it (or `all`):

    OUT/teacher.json               teacher dev metric and FLOPs
    OUT/stage1/model.pt report.json   CoFi-only model (the "CoFi" row)
    OUT/ib/model.pt report.json       Infor-Coef model, threshold calibrated
    OUT/skim/model.pt report.json     Transkimmer-style comparison (--compare-skim)
    OUT/sweep.json sweep.png          dev accuracy vs FLOPs over a threshold sweep
    OUT/export/TASK.{i8 or i4,f32}.safetensors report.json   (--dtype: the shipped file's)
    OUT/results.json                  everything above in one place

Model selection and calibration use a held-out slice of TRAIN; dev is only ever reported.
FLOPs are the model's own eval-mode accounting (docs/model-format.md), as a ratio to the dense
teacher's FLOPs on the same inputs.
"""
import argparse
import copy
import dataclasses
import functools
import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, fields

import torch

from train import data, model_file
from train.calibrate import calibrate_model, flops_ratio_fn
from train.distill import evaluate
from train.prune import PruneArgs, load_checkpoint, run_stage1, save_checkpoint
from train.skim import SkimArgs, sampler_layers_arg, train_skim, with_samplers
from train.tokenizer import WordPieceTokenizer

STAGES = ("teacher", "stage1", "ib", "skim", "sweep", "export")


class Log:
    def __init__(self, path, quiet=False):
        self.path, self.quiet = path, quiet

    def __call__(self, msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        if not self.quiet:
            print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


def load_teacher(path):
    """Any SOURCE of `python3 -m train.export` (model file, checkpoint, Hugging Face BERT).
    -> (model in eval mode, vocab list)."""
    from train.export import load_source
    model, vocab = load_source(path)
    return model.eval(), list(vocab or data.load_tokenizer().vocab)


def task_examples(task, tok, max_len, seed, heldout, train_limit=None, dev_limit=None, cache_dir=None,
                  dev_sample=None):
    """-> (train, heldout, dev) lists of (ids, types, label). heldout = a seeded slice of train."""
    import hashlib
    import pickle
    key = hashlib.md5(("\n".join(tok.vocab) + f"|{task}|{seed}|{heldout}|{train_limit}|{dev_limit}|{max_len}"
                       + (f"|sample{dev_sample}" if dev_sample else ""))
                      .encode("utf-8")).hexdigest()[:12]
    path = os.path.join(cache_dir, f"examples_{task}_{key}.pkl") if cache_dir else None
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    train = data.read_task(task, "train")
    random.Random(seed).shuffle(train)
    if train_limit:
        train = train[:train_limit + heldout]
    dev = data.read_dev(task, seed, dev_limit, dev_sample)
    enc_tr = data.encode_examples(tok, train, max_len)
    out = (enc_tr[heldout:], enc_tr[:heldout], data.encode_examples(tok, dev, max_len))
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        with open(path + ".tmp", "wb") as f:
            pickle.dump(out, f)
        os.replace(path + ".tmp", path)
    return out


def distill_sentences(tok, n, seed, max_len):
    """n unlabelled IMDb sentences (train.transfer's draw) as examples with label -1. Stage 1's
    losses read only the teacher's outputs (logits and hidden states); stage 2 (--distill-stage2)
    puts the teacher's class in place of the missing label. SST-2's train rows are mostly short
    phrases, dev is whole sentences; these are whole sentences."""
    from train.transfer import imdb_sentences
    return data.encode_examples(tok, [(s, None, -1) for s in imdb_sentences(n, seed)], max_len)


def dev_report(model, dev, task, teacher_cfg, device, threshold=None):
    r = evaluate(model, dev, task, threshold=threshold, device=device, teacher_config=teacher_cfg)
    return {k: v for k, v in r.items() if k not in ("preds", "logits")}, r


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


# ----------------------------------------------------------------------------------------------
# vocabulary pruning for the shipped file

def vocab_keep_ids(vocab, examples):
    """Ids to keep: the special tokens, every single character and ##character (so any word still
    tokenises to something other than [UNK]), and every token the training examples use.
    (train.export.prune_vocab does the cut.)"""
    keep = set(base_vocab_ids(vocab))
    for ids, _, _ in examples:
        keep.update(ids)
    return sorted(keep)


def base_vocab_ids(vocab):
    """The special tokens and every single character / ##character."""
    return [i for i, t in enumerate(vocab)
            if (t.startswith("[") and t.endswith("]") and not t.startswith("[unused"))
            or len(t) == 1 or (t.startswith("##") and len(t) == 3)]


def budget_vocab_ids(model, vocab, examples, budget_bytes, freq_path, log=print, dtype="i8"):
    """Specials + characters, then tokens in order of (count in the training examples, then
    count in a general token stream: default the pretraining cache, IMDb reviews + books, in
    bert-base-uncased ids) while the file of `dtype` (i8, or i4: 4-bit tables) stays within budget_bytes. Frequent words, seen in
    train or not, then tokenise as the teacher saw them; rare ones fall back to pieces and
    characters. Never looks at dev."""
    import numpy as np
    from train.export import prune_vocab
    base = base_vocab_ids(vocab)
    small, sv = prune_vocab(model, vocab, [vocab[i] for i in base])
    # 0.2% slack: tensor alignment padding and header digits that grow with the offsets
    room = int(budget_bytes * 0.998) - len(model_file.encode_model(small, sv, dtype))
    train_counts = np.zeros(len(vocab), dtype=np.int64)
    for ids, _, _ in examples:
        np.add.at(train_counts, np.asarray(ids), 1)
    general = np.zeros(len(vocab), dtype=np.int64)
    if freq_path and os.path.exists(freq_path) and list(vocab) == list(data.load_tokenizer().vocab):
        general = np.bincount(np.fromfile(freq_path, dtype="<u2"), minlength=len(vocab))[:len(vocab)]
    else:
        log(f"vocab: no general token counts ({freq_path!r} missing or another vocabulary)")
    order = np.lexsort((-general, -train_counts))          # train count first, then general
    have = set(base)
    d = model.config.hidden_size
    n_train = n_general = 0
    for i in order.tolist():
        if train_counts[i] == 0 and general[i] == 0:
            break
        if i in have or vocab[i].startswith("[unused"):
            continue
        # int8 (or two-a-byte 4-bit) row + its F32 scale + the vocab line as it appears in the
        # JSON header (escaped)
        row = model_file.packed_cols(d) if dtype == "i4" else d
        cost = row + 4 + len(json.dumps(vocab[i])) - 2 + len("\\n")
        if cost > room:
            break
        room -= cost
        have.add(i)
        if train_counts[i]:
            n_train += 1
        else:
            n_general += 1
    seen = int((train_counts > 0).sum())
    log(f"vocab: {len(base)} specials/characters + {n_train} of {seen} train tokens + {n_general} "
        f"general tokens within an {dtype.upper()} budget of {budget_bytes} bytes")
    return sorted(have)


def runtime_agreement(model_path, label_names, examples, torch_probs, log=print):
    """Classify the raw dev texts with the runtime (node web/cli.js: JS tokenizer + wasm) and
    compare with PyTorch's eval-mode softmax on the same file.
    examples: (text_a, text_b or None, label); torch_probs: [N, L] in label_names order.
    -> {"n", "same_labels", "max_prob_diff"}, or None when node / the CLI is missing."""
    import subprocess
    cli = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web", "cli.js")
    if not (shutil.which("node") and os.path.exists(cli)):
        log("runtime check skipped: node or web/cli.js missing")
        return None
    pair = examples[0][1] is not None
    # One input per line: node's readline also ends a line at a lone \r, and the tokenizer reads
    # \r and \n as spaces, so both become spaces (IMDb reviews hold stray \r).
    lines = [(a if b is None else f"{a}\t{b}").replace("\r", " ").replace("\n", " ")
             for a, b, _ in examples]
    cmd = ["node", cli, "classify", "--model", model_path, "--json", "-k", "0"] + (["--pair"] if pair else [])
    res = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        log(f"runtime check failed: {res.stderr.strip()[:500]}")
        return {"error": res.stderr.strip()[:500]}
    # split at \n only: str.splitlines() also splits at U+2028, U+0085, ... which JSON.stringify
    # leaves raw inside the echoed text
    outs = [json.loads(l) for l in res.stdout.split("\n") if l.strip()]
    if len(outs) != len(examples):
        return {"error": f"runtime answered {len(outs)} of {len(examples)} inputs"}
    same, maxdiff = 0, 0.0
    for o, tp in zip(outs, torch_probs):
        d = {x["label"]: x["score"] for x in o["labels"]}
        maxdiff = max(maxdiff, max(abs(d[n] - float(tp[j])) for j, n in enumerate(label_names)))
        same += int(max(d, key=d.get) == label_names[int(tp.argmax())])
    return {"n": len(outs), "same_labels": same / len(outs), "max_prob_diff": maxdiff}


# ----------------------------------------------------------------------------------------------

def plot_sweep(sweep, teacher, stage1, path, chosen=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for name, pts in sweep.items():
        xs = [1.0 / max(p["flops_ratio"], 1e-9) for p in pts]
        ys = [p["metric"] for p in pts]
        ax.plot(xs, ys, marker="o", ms=3, label=name)
    ax.scatter([1.0], [teacher["metric"]], marker="*", s=120, color="black", label="teacher", zorder=5)
    ax.scatter([1.0 / stage1["flops_ratio"]], [stage1["metric"]], marker="s", s=50, color="gray",
               label="CoFi only", zorder=5)
    if chosen:
        ax.scatter([1.0 / chosen["flops_ratio"]], [chosen["metric"]], marker="D", s=60, color="red",
                   label="calibrated threshold", zorder=6)
    ax.set_xscale("log")
    ax.set_xlabel("FLOPs reduction vs teacher (x, log scale)")
    ax.set_ylabel("dev metric (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title("threshold sweep on dev (eval-mode FLOPs accounting)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, choices=sorted(data.TASKS))
    ap.add_argument("--teacher", required=True, help="teacher .safetensors (or a .pt checkpoint)")
    ap.add_argument("--out", required=True, help="run directory (stages are resumed from here)")
    ap.add_argument("--sparsity", type=float, default=0.9, help="stage-1 target sparsity")
    ap.add_argument("--flops-target", type=float, default=1 / 15,
                    help="stage-2 FLOPs budget as a fraction of the dense teacher's")
    ap.add_argument("--force", default="", help="comma list of stages to redo (or 'all'): " + ",".join(STAGES))
    ap.add_argument("--compare-skim", action="store_true", help="also train the Transkimmer-style row")
    ap.add_argument("--ship", default="", help="copy the I8 file here (e.g. models/sst2.safetensors)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heldout", type=int, default=1000, help="train examples held out for selection/calibration")
    ap.add_argument("--train-limit", type=int, default=0, help="use only this many train examples (0 = all)")
    ap.add_argument("--dev-limit", type=int, default=0, help="only the first N dev examples")
    ap.add_argument("--dev-sample", type=int, default=0, help="evaluate on a seeded random sample of "
                    "this many dev examples (IMDb: its 25,000 test reviews are sorted by label)")
    ap.add_argument("--distill-sentences", type=int, default=0,
                    help="stage 1 (pure distillation) also reads this many unlabelled IMDb sentences "
                         "(single-sentence tasks)")
    ap.add_argument("--distill-stage2", action="store_true",
                    help="stage 2 reads the --distill-sentences too, labelled by the teacher's class")
    ap.add_argument("--no-vocab-prune", action="store_true")
    ap.add_argument("--vocab-budget-bytes", type=int, default=0,
                    help="keep tokens by train then general frequency while the shipped file stays under this")
    ap.add_argument("--dtype", choices=("i8", "i4"), default="i8",
                    help="the shipped file's: i8, or i4 (i8 with 4-bit embedding tables: about twice the "
                         "vocabulary in a --vocab-budget-bytes)")
    ap.add_argument("--vocab-freq", default="/work/runs/pretrain_cache/train.u16",
                    help="uint16 token-id stream whose counts rank the extra tokens")
    ap.add_argument("--quiet", action="store_true", help="log to OUT/log.txt only")
    ap.add_argument("--no-runtime-check", action="store_true",
                    help="skip classifying dev with the wasm runtime (node web/cli.js) at export")
    for prefix, cls in (("prune", PruneArgs), ("skim", SkimArgs)):
        for f in fields(cls):
            if f.name in ("sparsity", "seed", "loss"):
                continue
            kind = type(f.default)
            if kind is bool:
                kind = lambda v: v.lower() in ("1", "true", "yes", "on")
            ap.add_argument(f"--{prefix}-{f.name.replace('_', '-')}", type=kind, default=None)
    a = ap.parse_args(argv)
    if a.distill_sentences < 0 or (a.distill_sentences and data.TASKS[a.task].get("pair")):
        ap.error("--distill-sentences is a count of single sentences, for single-sentence tasks")
    if a.distill_stage2 and not a.distill_sentences:
        ap.error("--distill-stage2 needs --distill-sentences N")

    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    os.makedirs(a.out, exist_ok=True)
    log = Log(os.path.join(a.out, "log.txt"), a.quiet)
    force = set(STAGES) if a.force == "all" else {s for s in a.force.split(",") if s}
    log(f"pipeline {' '.join(sys.argv[1:] if argv is None else argv)}")

    def stage_args(prefix, cls, **over):
        kw = {}
        for f in fields(cls):
            v = getattr(a, f"{prefix}_{f.name}", None)
            if v is not None:
                kw[f.name] = v
        kw.update(over)
        return cls(**kw)

    pargs = stage_args("prune", PruneArgs, sparsity=a.sparsity, seed=a.seed)
    sargs = stage_args("skim", SkimArgs, seed=a.seed)
    dev_ = a.device
    teacher, vocab = load_teacher(a.teacher)
    tcfg = teacher.config
    tok = WordPieceTokenizer(vocab, tcfg.do_lower_case)
    heldout_n = min(a.heldout, 10_000)
    max_len = min(data.TASKS[a.task]["max_len"], tcfg.max_position)
    train, heldout, dev = task_examples(a.task, tok, max_len, a.seed, heldout_n, a.train_limit or None,
                                        a.dev_limit or None, cache_dir=os.path.join(a.out, "cache"),
                                        dev_sample=a.dev_sample or None)
    log(f"data: train {len(train)}, heldout {len(heldout)}, dev {len(dev)}; teacher "
        f"{tcfg.num_layers}L d{tcfg.hidden_size} {[ (l.heads, l.ffn) for l in tcfg.layers ]}")

    def done(stage, path):
        return os.path.exists(path) and stage not in force

    # -- teacher ---------------------------------------------------------------------------
    p = os.path.join(a.out, "teacher.json")
    if not done("teacher", p):
        rep, _ = dev_report(teacher, dev, a.task, tcfg, dev_)
        rep["path"] = a.teacher
        write_json(p, rep)
    t_rep = read_json(p)
    log(f"teacher dev {t_rep['metric']:.2f} flops {t_rep['flops']:.0f}")

    # -- stage 1 ---------------------------------------------------------------------------
    @functools.cache  # drawn once, and only if a stage that reads them runs (not on a resume)
    def sentences():
        return distill_sentences(tok, a.distill_sentences, a.seed, max_len) if a.distill_sentences else []

    p = os.path.join(a.out, "stage1", "report.json")
    if not done("stage1", p):
        t0 = time.time()
        extra = sentences()
        if extra:
            log(f"stage1: distils on {len(train)} train rows and {len(extra)} IMDb sentences")
        small, rep = run_stage1(teacher, train + extra, heldout, a.task, pargs, dev_, log)
        rep["distill_sentences"] = len(extra)
        rep["dev"], _ = dev_report(small, dev, a.task, tcfg, dev_)
        rep["seconds"] = round(time.time() - t0)
        save_checkpoint(small, os.path.join(a.out, "stage1", "model.pt"), {"vocab": vocab})
        write_json(p, rep)
    s1_rep = read_json(p)
    stage1, _ = load_checkpoint(os.path.join(a.out, "stage1", "model.pt"))
    log(f"stage1 dev {s1_rep['dev']['metric']:.2f} flops ratio {s1_rep['dev']['flops_ratio']:.4f} "
        f"layers {[(l['heads'], l['ffn']) for l in s1_rep['config']['layers']]} d {s1_rep['config']['hidden_size']}")

    # -- stage 2 (IB, and optionally the Transkimmer-style comparison) ----------------------
    def stage2(name, loss):
        p = os.path.join(a.out, name, "report.json")
        if not done(name, p):
            t0 = time.time()
            layers = sampler_layers_arg(sargs.sampler_layers, stage1.config.num_layers)
            model = with_samplers(stage1, layers)
            args2 = dataclasses.replace(sargs, loss=loss)
            stage2_train = train + sentences() if a.distill_stage2 else train
            hist = train_skim(model, stage2_train, a.task, args2, teacher=teacher, heldout_ex=heldout,
                              device=dev_, log=log)
            thr, ratio = calibrate_model(model, heldout, tcfg, a.flops_target, device=dev_, log=log)
            log(f"{name}: calibrated threshold {thr:+.4f} -> heldout FLOPs ratio {ratio:.4f}")
            rep = {"args": asdict(args2), "distill_sentences": len(stage2_train) - len(train),
                   "history": hist, "threshold": thr, "heldout_flops_ratio": ratio,
                   "heldout": dev_report(model, heldout, a.task, tcfg, dev_)[0],
                   "config": model.config.to_dict()}
            rep["dev"], _ = dev_report(model, dev, a.task, tcfg, dev_)
            rep["seconds"] = round(time.time() - t0)
            save_checkpoint(model, os.path.join(a.out, name, "model.pt"), {"vocab": vocab})
            write_json(p, rep)
        rep = read_json(p)
        log(f"{name} dev {rep['dev']['metric']:.2f} flops ratio {rep['dev']['flops_ratio']:.4f} "
            f"(x{1 / rep['dev']['flops_ratio']:.1f}) kept {rep['dev']['kept_per_layer']} of "
            f"{rep['dev']['mean_len']:.1f} tokens")
        return load_checkpoint(os.path.join(a.out, name, "model.pt"))[0], rep

    ib, ib_rep = stage2("ib", "ib")
    skim = skim_rep = None
    if a.compare_skim:
        skim, skim_rep = stage2("skim", "skim")

    # -- threshold sweep on dev (reporting only) -------------------------------------------
    p = os.path.join(a.out, "sweep.json")
    if not done("sweep", p):
        sweep = {}
        for name, m in (("Infor-Coef (IB)", ib), ("Transkimmer-style", skim)):
            if m is None:
                continue
            base = m.config.keep_threshold
            pts = []
            for thr in sorted({-1e9} | {round(base + d, 3) for d in
                                        (-8, -6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 10,
                                         12, 14, 16, 18, 20, 24, 28)}):
                r = evaluate(m, dev, a.task, threshold=thr, compact=False, device=dev_, teacher_config=tcfg)
                pts.append({"threshold": thr, "metric": r["metric"], "flops_ratio": r["flops_ratio"],
                            "kept_per_layer": r["kept_per_layer"]})
            sweep[name] = pts
        write_json(p, sweep)
        plot_sweep(sweep, t_rep, s1_rep["dev"], os.path.join(a.out, "sweep.png"), ib_rep["dev"])

    # -- export ----------------------------------------------------------------------------
    p = os.path.join(a.out, "export", "report.json")
    if not done("export", p):
        model, voc = ib, vocab
        if not a.no_vocab_prune:
            from train.export import prune_vocab
            if a.vocab_budget_bytes:
                keep = budget_vocab_ids(ib, vocab, train + heldout, a.vocab_budget_bytes, a.vocab_freq, log,
                                        dtype=a.dtype)
            else:
                keep = vocab_keep_ids(vocab, train + heldout)
            model, voc = prune_vocab(ib, vocab, [vocab[i] for i in keep])
        model.config.task = a.task
        model.config.labels = list(tcfg.labels)
        raw_dev = data.read_dev(a.task, a.seed, a.dev_limit or None, a.dev_sample or None)
        small_tok = WordPieceTokenizer(voc, tcfg.do_lower_case)
        ex_dev = data.encode_examples(small_tok, raw_dev, max_len)
        rep = {"vocab_size": len(voc), "threshold_before": model.config.keep_threshold}
        if voc is not vocab:
            # Recalibrate on the same held-out train texts as the pruned vocabulary tokenises
            # them, so the shipped file meets the budget (a rare word may now be more pieces).
            raw_train = data.read_task(a.task, "train")
            random.Random(a.seed).shuffle(raw_train)
            ex_held = data.encode_examples(small_tok, raw_train[:heldout_n], max_len)
            thr, ratio = calibrate_model(model, ex_held, tcfg, a.flops_target, device=dev_,
                                         teacher_examples=heldout)
            log(f"export: threshold recalibrated for the pruned vocabulary {thr:+.4f} -> heldout "
                f"FLOPs ratio {ratio:.4f}")
        rep["threshold"] = model.config.keep_threshold
        for dt in ("f32", a.dtype):
            fp = os.path.join(a.out, "export", f"{a.task}.{dt}.safetensors")
            os.makedirs(os.path.dirname(fp), exist_ok=True)
            model_file.save_model(fp, model, voc, dtype=dt, producer="train.pipeline", teacher=tcfg)
            loaded, _, _ = model_file.load_model(fp)
            r, full = dev_report(loaded, ex_dev, a.task, tcfg, dev_)
            # The pruned vocabulary can split an unseen dev word into more pieces than the
            # teacher's; the ratio is against the teacher on its own tokenisation of dev.
            r["flops_ratio"] = r["flops"] / t_rep["flops"]
            rep[dt] = {"path": fp, "bytes": os.path.getsize(fp), "dev": r}
            rep[dt]["_preds"] = full["preds"]
            if not a.no_runtime_check:
                rt = runtime_agreement(fp, list(model.config.labels), raw_dev,
                                       torch.softmax(full["logits"], -1), log)
                rep[dt]["runtime_vs_torch"] = rt
                log(f"runtime vs torch ({dt}): {rt}")
            log(f"export {dt}: {os.path.getsize(fp)} bytes, dev {r['metric']:.2f} flops ratio "
                f"{r['flops_ratio']:.4f} kept {r['kept_per_layer']}")
        same = sum(x == y for x, y in zip(rep["f32"].pop("_preds"), rep[a.dtype].pop("_preds")))
        rep[f"{a.dtype}_f32_same_labels"] = same / max(1, len(ex_dev))
        write_json(p, rep)
    ex_rep = read_json(p)
    if a.dtype not in ex_rep:
        raise SystemExit(f"{p} is an export of another dtype than --dtype {a.dtype}: add --force export")
    if a.ship:
        shutil.copyfile(ex_rep[a.dtype]["path"], a.ship)
        log(f"shipped {a.ship} ({os.path.getsize(a.ship)} bytes)")

    results = {"task": a.task, "teacher": t_rep, "stage1": s1_rep["dev"], "ib": ib_rep["dev"],
               "ib_threshold": ib_rep["threshold"], "skim": skim_rep["dev"] if skim_rep else None,
               "export": ex_rep}
    write_json(os.path.join(a.out, "results.json"), results)
    log("done")
    return results


if __name__ == "__main__":
    main()
