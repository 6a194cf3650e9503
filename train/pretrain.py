"""Masked-language-model pretraining of the dense teacher (BERT recipe, plain torch).

    python3 -m train.data --out /work/runs/pretrain_cache --train-tokens 16000000   # once
    python3 -m train.pretrain --cache /work/runs/pretrain_cache --out /work/runs/pt_4l256 \\
        --layers 4 --hidden 256 --heads 4 --ffn 1024 --batch 64 --steps 1000 --init glove

Recipe:
  - examples: packed 128-token windows [CLS] ... [SEP] of the cached token stream (train/data.py);
  - masking: 15% of tokens chosen ([CLS]/[SEP] never), of those 80% -> [MASK], 10% -> a random
    token, 10% unchanged; --wwm chooses whole words (a word = a token plus its ## continuations);
  - MLM head (dense + GELU + LN + decoder tied to the word embeddings) run only on the chosen rows;
  - AdamW (beta2 0.98, weight decay 0.01 off for biases/LayerNorm), linear warm-up then linear
    decay to 0, gradient clipping at 1.0;
  - token embeddings initialised from GloVe 100-d rows projected to the hidden size (--init glove)
    or BERT's N(0, 0.02) (--init random);
  - every --ckpt-every-min minutes and at the end: DIR/ckpt.pt (model, MLM head, optimizer,
    scheduler, step). Masking and dropout randomness are re-seeded from (seed, step, rank) at every
    step and the data order is a pure function of (seed, epoch), so a resumed run continues
    bitwise-identically (tests/python/test_pretrain.py checks this);
  - held-out MLM loss / accuracy on the validation stream (fixed masks) every --eval-every steps,
    appended to DIR/log.jsonl.
torchrun + DDP when launched that way (see train/distributed.py); bf16 autocast on CUDA.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from train.data import DATA, PackedCorpus, load_tokenizer
from train.distributed import Runtime
from train import model as M
from train import checkpoint as C

GLOVE_PATH = os.path.join(DATA, "glove", "glove6B100d_bertvocab.f16")
GLOVE_MASK_PATH = os.path.join(DATA, "glove", "mask.u8")


# ----------------------------------------------------------------------------------------------
# GloVe initialisation

def glove_init_(word_emb, std=0.02, seed=0):
    """word_emb: [V, d] parameter. Rows that have a GloVe vector get it, centred and projected
    100 -> d by a fixed random orthogonal map (distances between words kept up to one scale),
    scaled so those rows have std `std` like BERT's init. Rows without a vector keep their init.
    Returns the number of rows set."""
    V, d = word_emb.shape
    g = np.fromfile(GLOVE_PATH, dtype="<f2").astype(np.float32).reshape(-1, 100)
    m = np.fromfile(GLOVE_MASK_PATH, dtype=np.uint8)
    assert g.shape[0] == V and m.shape[0] == V, (g.shape, m.shape, V)
    have = m > 0
    x = torch.from_numpy(g[have])
    x = x - x.mean(0, keepdim=True)
    gen = torch.Generator().manual_seed(seed)
    if d >= 100:
        q, _ = torch.linalg.qr(torch.randn(d, 100, generator=gen))  # [d, 100], orthonormal cols
        y = x @ q.T                                                   # [rows, d]
    else:
        # Narrower than 100: keep the top-d principal directions (PCA) instead.
        _, _, vh = torch.linalg.svd(x, full_matrices=False)
        y = x @ vh[:d].T
    y = y * (std / y.std())
    with torch.no_grad():
        word_emb[torch.from_numpy(np.nonzero(have)[0])] = y.to(word_emb.dtype)
    return int(have.sum())


def sinusoid_freqs(d):
    """[ceil(d/2)] float64: w_k = 10000^(-2k/d), the angle per position of plane k."""
    return torch.pow(10000.0, -torch.arange(0, d, 2, dtype=torch.float64) / d)


def sinusoids(P, d):
    """[P, d] float64: Vaswani et al.'s position signal, row p = (sin p w_k, cos p w_k) pairs.
    Neighbouring rows are alike and PE(p) . PE(q) depends on p - q alone."""
    pos = torch.arange(P, dtype=torch.float64)[:, None]
    freq = sinusoid_freqs(d)[None, :]
    pe = torch.zeros(P, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, :d // 2]
    return pe


def sinusoid_init_(pos_emb, std=0.02):
    """pos_emb: [P, d] parameter -> sinusoids scaled to std `std`: a head can then find "the
    previous token" with one linear map shared by all positions, where BERT's independent random
    rows make it learn each pair of positions apart."""
    pe = sinusoids(*pos_emb.shape)
    with torch.no_grad():
        pos_emb.copy_((pe * (std / pe.std())).to(pos_emb.dtype))


def local_attention_init_(encoder, word_rows, pos_std=0.04, scale=3.0, planes=32):
    """Start the encoder with word order in view: position embeddings = sinusoids laid in the
    directions the GloVe rows (word_rows: bool [V]) leave free, and layer 0's heads 0 and 1 set to
    attend to the previous and the next token. In a plane k of the sinusoids, PE(p + 1) is PE(p)
    turned by w_k, so with the query reading plane k and the key reading it turned by +w_k (-w_k),
    q_i . k_j = scale^2 * sum_k cos(w_k (i - j - 1)), largest at j = i - 1 (i + 1).
    Why: our encoders from random position rows had grown no positional head after 17M tokens
    (train/README.md, `python3 -m train.pretrain attention`): a bag of words stuck on the MLM
    plateau. Only an init: the architecture, the runtime and every weight's training are BERT's."""
    emb = encoder.embeddings
    W = emb.word_embeddings.weight.data
    d = W.shape[1]
    rows = W[torch.as_tensor(word_rows)].double()
    rows = rows - rows.mean(0)
    _, vecs = torch.linalg.eigh(rows.T @ rows)            # ascending variance, [d, d]
    span = min(rows.shape[0], 100)                        # GloVe rows span 100 directions
    if d - span < 4:
        raise ValueError(f"local position init needs hidden > {span + 3}, got {d}")
    free = vecs[:, :d - span]                             # [d, d - span], orthonormal columns
    pe = sinusoids(emb.position_embeddings.weight.shape[0], free.shape[1])
    pe = pe * (pos_std / pe.std())
    attn = encoder.layers[0].attention
    if attn is None or attn.heads < 2:
        raise ValueError("local position init needs at least 2 heads in layer 0")
    hs = attn.head_size
    freq = sinusoid_freqs(free.shape[1])
    with torch.no_grad():
        emb.position_embeddings.weight.copy_((pe @ free.T).to(W.dtype))
        for head, turn in ((0, 1.0), (1, -1.0)):          # previous token, next token
            wq = torch.zeros(hs, d, dtype=torch.float64)
            wk = torch.zeros(hs, d, dtype=torch.float64)
            for k in range(min(planes, hs // 2, free.shape[1] // 2)):
                u_sin, u_cos = free[:, 2 * k], free[:, 2 * k + 1]
                cs, sn = math.cos(freq[k]), turn * math.sin(freq[k])
                wq[2 * k], wq[2 * k + 1] = u_sin, u_cos
                # (sin wp, cos wp) turned by w: (cs sin + sn cos, -sn sin + cs cos) = PE(p + 1)
                wk[2 * k], wk[2 * k + 1] = cs * u_sin + sn * u_cos, -sn * u_sin + cs * u_cos
            head_rows = slice(head * hs, (head + 1) * hs)
            attn.self.query.weight[head_rows] = (scale * wq).to(W.dtype)
            attn.self.key.weight[head_rows] = (scale * wk).to(W.dtype)
            attn.self.query.bias[head_rows] = 0.0
            attn.self.key.bias[head_rows] = 0.0


# ----------------------------------------------------------------------------------------------
# masking

def make_special_table(tok):
    """-> (is_special [V] bool, is_continuation [V] bool)."""
    V = len(tok)
    special = torch.zeros(V, dtype=torch.bool)
    for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"):
        special[tok.token_to_id[t]] = True
    cont = torch.tensor([t.startswith("##") for t in tok.vocab], dtype=torch.bool)
    return special, cont


def mask_tokens(ids, gen, special, cont, mask_id, vocab_size, prob=0.15, wwm=False):
    """ids: int64 [B, n] -> (inputs [B, n], labels [B, n] with -100 where not chosen).
    BERT: choose `prob` of the tokens; 80% [MASK], 10% random token, 10% unchanged."""
    B, n = ids.shape
    u = torch.rand(B, n, generator=gen)
    if wwm:
        # A continuation token takes the draw of the word start before it, so whole words go in
        # or out together: propagate u forward along runs of ## tokens.
        is_cont = cont[ids]
        start_pos = torch.where(is_cont, torch.zeros_like(ids), torch.arange(n).expand(B, n))
        start_pos = torch.cummax(start_pos, dim=1).values
        u = torch.gather(u, 1, start_pos)
    chosen = (u < prob) & ~special[ids]
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    r = torch.rand(B, n, generator=gen)
    rand_tok = torch.randint(0, vocab_size, (B, n), generator=gen)
    inputs = ids.clone()
    inputs = torch.where(chosen & (r < 0.8), torch.full_like(ids, mask_id), inputs)
    inputs = torch.where(chosen & (r >= 0.8) & (r < 0.9), rand_tok, inputs)
    return inputs, labels


# ----------------------------------------------------------------------------------------------
# the model + MLM head

class MLMModel(nn.Module):
    """Encoder (train/model.py InforCoefModel) + its BERT MLM head (decoder tied to the word
    embeddings). The head runs on the chosen rows only: the [m, V] decoder product is the
    largest matmul of a small model, so skipping the 85% unchosen rows matters."""

    def __init__(self, cfg):
        super().__init__()
        self.encoder = M.InforCoefModel(cfg)
        self.head = M.MLMHead(cfg, self.encoder.embeddings.word_embeddings)

    def word_embeddings(self):
        return self.encoder.embeddings.word_embeddings.weight

    def forward(self, inputs, labels):
        """inputs, labels: [B, n] -> (loss sum, n correct, n predicted) over chosen rows."""
        h = self.encoder.encode(inputs)                       # [B, n, d]
        sel = labels.reshape(-1) != -100
        hs = h.reshape(-1, h.shape[-1])[sel]                  # [m, d]
        y = labels.reshape(-1)[sel]
        logits = self.head(hs)                                # [m, V]
        loss = F.cross_entropy(logits.float(), y, reduction="sum")
        correct = (logits.argmax(-1) == y).sum()
        return loss, correct, y.numel()


def param_groups(model, wd):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "LayerNorm" in n else decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def linear_schedule(warmup, total):
    def f(step):
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))
    return f


# ----------------------------------------------------------------------------------------------

def make_config(a, vocab_size):
    return M.ModelConfig.dense(a.layers, a.hidden, a.heads, a.ffn, vocab_size=vocab_size,
                               max_position=a.max_position)


def batch_indices(step, n_examples, global_batch, rank, world, seed):
    """Example indices of this rank's slice of global step `step`: epoch-wise permutations that
    depend only on (seed, epoch), so resuming needs nothing but the step count."""
    per_epoch = n_examples // global_batch
    epoch, k = divmod(step, per_epoch)
    perm = np.random.default_rng(seed * 7919 + epoch).permutation(n_examples)
    g = perm[k * global_batch:(k + 1) * global_batch]
    per = global_batch // world
    return g[rank * per:(rank + 1) * per]


@torch.no_grad()
def evaluate(model, val, rt, a, special, cont, tok, max_batches=None):
    """Held-out MLM loss / accuracy with fixed masks (generator seeded per batch)."""
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    nb = math.ceil(len(val) / a.batch)
    if max_batches:
        nb = min(nb, max_batches)
    for b in range(nb):
        idx = list(range(b * a.batch, min(len(val), (b + 1) * a.batch)))
        ids = torch.from_numpy(val.batch(idx))
        gen = torch.Generator().manual_seed(10_000 + b)
        inputs, labels = mask_tokens(ids, gen, special, cont, tok.mask_id, len(tok), wwm=a.wwm)
        with rt.autocast():
            l, c, m = model(inputs.to(rt.device), labels.to(rt.device))
        loss_sum += float(l); correct += int(c); count += m
    model.train()
    return loss_sum / max(1, count), correct / max(1, count)


def save_checkpoint(path, model, opt, sched, step, a, extra):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "step": step, "args": vars(a), **extra}, tmp)
    os.replace(tmp, path)  # atomic: a kill mid-save leaves the previous checkpoint intact


def export_encoder(path, model, vocab, step, a):
    """The encoder alone as an inforcoef checkpoint (train/checkpoint.py): what finetune.py
    loads and what `python3 -m train.export` reads."""
    tmp = path + ".tmp"
    C.save_checkpoint(tmp, model.encoder, vocab, step=step, pretrain_args=vars(a))
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/work/runs/pretrain_cache")
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--max-position", type=int, default=512)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=64, help="global batch (split over ranks)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=float, default=0.06, help="fraction of steps")
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--init", choices=["glove", "random"], default="glove")
    ap.add_argument("--pos-init", choices=["random", "sinusoid", "local"], default="random",
                    help="position embeddings: BERT's N(0, 0.02), scaled sinusoids, or sinusoids beside "
                         "the GloVe rows with layer 0's heads 0/1 starting as previous/next-token heads")
    ap.add_argument("--wwm", action="store_true", help="whole-word masking")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--eval-batches", type=int, default=0, help="0 = whole validation stream")
    ap.add_argument("--ckpt-every-min", type=float, default=5.0)
    ap.add_argument("--ckpt-every-steps", type=int, default=0, help="also/instead by steps (tests)")
    ap.add_argument("--stop-after", type=int, default=0, help="stop (with checkpoint) at this step; tests")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)

    rt = Runtime(a.device, a.threads)
    os.makedirs(a.out, exist_ok=True)
    tok = load_tokenizer()
    special, cont = make_special_table(tok)
    train = PackedCorpus(os.path.join(a.cache, "train.u16"), a.seq_len, tok.cls_id, tok.sep_id)
    val = PackedCorpus(os.path.join(a.cache, "val.u16"), a.seq_len, tok.cls_id, tok.sep_id)
    assert a.batch % rt.world == 0, "global batch must divide by the number of ranks"

    cfg = make_config(a, len(tok))
    torch.manual_seed(a.seed)
    model = MLMModel(cfg)
    if a.init == "glove":
        n = glove_init_(model.word_embeddings().data, seed=a.seed)
        if rt.is_main:
            print(f"GloVe init: {n} of {len(tok)} word-embedding rows", file=sys.stderr)
    if a.pos_init == "sinusoid":
        sinusoid_init_(model.encoder.embeddings.position_embeddings.weight.data)
    elif a.pos_init == "local":
        if a.init != "glove":
            raise SystemExit("--pos-init local needs --init glove (positions go where GloVe rows are not)")
        local_attention_init_(model.encoder, np.fromfile(GLOVE_MASK_PATH, dtype=np.uint8) > 0)
    model.to(rt.device)
    opt = torch.optim.AdamW(param_groups(model, a.wd), lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule(max(1, int(a.warmup * a.steps)), a.steps))

    ckpt_path = os.path.join(a.out, "ckpt.pt")
    step = 0
    if os.path.exists(ckpt_path):
        ck = C.torch_load(ckpt_path, map_location=rt.device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        step = ck["step"]
        if rt.is_main:
            print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    net = rt.wrap(model, find_unused_parameters=True)

    n_params = sum(p.numel() for p in model.encoder.parameters())
    if rt.is_main:
        print(f"encoder params {n_params:,}; train examples {len(train):,} "
              f"({len(train) * a.seq_len / 1e6:.1f}M tokens); val {len(val)}; steps {a.steps} x "
              f"batch {a.batch} = {a.steps * a.batch * a.seq_len / 1e6:.1f}M tokens; world {rt.world}, "
              f"threads {rt.threads}, device {rt.device}", file=sys.stderr)
    log = open(os.path.join(a.out, "log.jsonl"), "a") if rt.is_main else None
    bar = None
    if rt.is_main and not a.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=a.steps, initial=step, desc="pretrain", dynamic_ncols=True, mininterval=5)

    last_ckpt = time.time()
    t0, tok_count = time.time(), 0
    net.train()
    while step < a.steps:
        # Every random draw of this step is seeded from (seed, step, rank): exact resume.
        torch.manual_seed(a.seed * 1_000_003 + step * 131 + rt.rank)
        gen = torch.Generator().manual_seed(a.seed * 999_983 + step * 127 + rt.rank)
        idx = batch_indices(step, len(train), a.batch, rt.rank, rt.world, a.seed)
        ids = torch.from_numpy(train.batch(idx))
        inputs, labels = mask_tokens(ids, gen, special, cont, tok.mask_id, len(tok), wwm=a.wwm)
        inputs, labels = inputs.to(rt.device), labels.to(rt.device)
        with rt.autocast():
            loss_sum, correct, m = net(inputs, labels)
        # Mean over the chosen tokens of the whole global batch (count summed over ranks);
        # DDP averages gradients over ranks, so scale by world / global count.
        cnt = rt.all_reduce_sum(torch.tensor(float(m), device=rt.device))
        loss = loss_sum * (rt.world / cnt.clamp_min(1.0))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        sched.step()
        step += 1
        tok_count += ids.numel()
        if rt.is_main:
            lv = float(loss_sum) / max(1, m)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{lv:.3f}", lr=f"{sched.get_last_lr()[0]:.2e}")
            if step % a.log_every == 0 or step == a.steps:
                el = time.time() - t0
                rec = {"step": step, "loss": round(lv, 4), "acc": round(int(correct) / max(1, m), 4),
                       "lr": sched.get_last_lr()[0], "gnorm": round(float(gnorm), 3),
                       "tok_per_s": round(tok_count * rt.world / el, 1), "time": round(time.time(), 1)}
                log.write(json.dumps(rec) + "\n"); log.flush()
        if a.eval_every and (step % a.eval_every == 0 or step == a.steps):
            vl, va = evaluate(model, val, rt, a, special, cont, tok, a.eval_batches or None)
            if rt.is_main:
                rec = {"step": step, "val_loss": round(vl, 4), "val_acc": round(va, 4),
                       "time": round(time.time(), 1)}
                log.write(json.dumps(rec) + "\n"); log.flush()
                msg = f"step {step}: held-out MLM loss {vl:.4f} acc {va:.4f}"
                (bar.write(msg) if bar is not None else print(msg, file=sys.stderr))
        due = (time.time() - last_ckpt > a.ckpt_every_min * 60) or \
              (a.ckpt_every_steps and step % a.ckpt_every_steps == 0) or step == a.steps or \
              (a.stop_after and step >= a.stop_after)
        if due:
            if rt.is_main:
                save_checkpoint(ckpt_path, model, opt, sched, step, a, {})
                export_encoder(os.path.join(a.out, "encoder.pt"), model, tok.vocab, step, a)
            rt.barrier()
            last_ckpt = time.time()
        if a.stop_after and step >= a.stop_after:
            break
    if bar is not None:
        bar.close()
    if log:
        log.close()
    rt.close()
    return model


def plot_log(log_path, png_path):
    """Training loss (smoothed) and held-out MLM loss / accuracy from log.jsonl -> PNG.
        python3 -m train.pretrain plot /work/runs/pt_4l256/log.jsonl train/pretrain_curve.png"""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    recs = [json.loads(l) for l in open(log_path)]
    # a resumed run logs again the steps after its checkpoint: the last record of a step wins
    tr = sorted({r["step"]: r for r in recs if "loss" in r}.values(), key=lambda r: r["step"])
    va = sorted({r["step"]: r for r in recs if "val_loss" in r}.values(), key=lambda r: r["step"])
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot([r["step"] for r in tr], [r["loss"] for r in tr], lw=0.8, label="train MLM loss")
    ax[0].plot([r["step"] for r in va], [r["val_loss"] for r in va], "o-", label="held-out MLM loss")
    ax[0].set_xlabel("step"); ax[0].set_ylabel("cross-entropy (nats)"); ax[0].legend(); ax[0].grid(alpha=0.3)
    ax[1].plot([r["step"] for r in tr], [r["acc"] for r in tr], lw=0.8, label="train MLM acc")
    ax[1].plot([r["step"] for r in va], [r["val_acc"] for r in va], "o-", label="held-out MLM acc")
    ax[1].set_xlabel("step"); ax[1].set_ylabel("masked-token accuracy"); ax[1].legend(); ax[1].grid(alpha=0.3)
    fig.suptitle(os.path.basename(os.path.dirname(os.path.abspath(log_path))))
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)


def bench(shapes, cache="/work/runs/pretrain_cache", steps=5, threads=1):
    """Pretraining tokens/s of full training steps (mask, forward, MLM head, backward, clip, AdamW)
    for shapes "layers,hidden,heads,ffn,batch"; the first 2 steps are warm-up, not timed.
        python3 -m train.pretrain bench 2,128,2,512,32 4,256,4,1024,32"""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    tok = load_tokenizer()
    special, cont = make_special_table(tok)
    train = PackedCorpus(os.path.join(cache, "train.u16"), 128, tok.cls_id, tok.sep_id)
    for spec in shapes:
        L, d, h, f, B = (int(x) for x in spec.split(","))
        torch.manual_seed(0)
        model = MLMModel(M.ModelConfig.dense(L, d, h, f, vocab_size=len(tok)))
        opt = torch.optim.AdamW(param_groups(model, 0.01), lr=1e-4)
        times = []
        for s in range(steps + 2):
            t = time.time()
            ids = torch.from_numpy(train.batch(range(s * B, (s + 1) * B)))
            inputs, labels = mask_tokens(ids, torch.Generator().manual_seed(s), special, cont,
                                         tok.mask_id, len(tok))
            loss, _, m = model(inputs, labels)
            opt.zero_grad(set_to_none=True)
            (loss / m).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            times.append(time.time() - t)
        dt = sum(times[2:]) / steps
        n = sum(p.numel() for p in model.encoder.parameters())
        print(f"layers {L} hidden {d} heads {h} ffn {f} batch {B}: encoder params {n / 1e6:.2f}M, "
              f"{dt:.2f} s/step, {B * 128 / dt:.0f} tokens/s", flush=True)


@torch.no_grad()
def attention_stats(model, ids):
    """ids [B, n] -> per layer with attention: {"previous", "same", "next", "row_max"}, each [H]:
    the mean attention probability on the previous / same / next token (rows 1..n-2) and the
    mean largest probability of a row. A uniform head gives 1/n everywhere. The probabilities are
    the model's own, caught on their way into the attention dropout (identity in eval mode)."""
    model.eval()
    probs = []    # per layer with attention: [B, H, n, n]
    hooks = [layer.attention.attn_dropout.register_forward_hook(lambda m, inp, out: probs.append(inp[0]))
             for layer in model.layers if layer.attention is not None]
    try:
        model.encode(ids)
    finally:
        for hk in hooks:
            hk.remove()
    stats = []
    for p in probs:
        i = torch.arange(1, p.shape[-1] - 1)
        stats.append({"previous": p[:, :, i, i - 1].mean((0, 2)), "same": p[:, :, i, i].mean((0, 2)),
                      "next": p[:, :, i, i + 1].mean((0, 2)), "row_max": p.max(-1).values.mean((0, 2))})
    return stats


def attention_report(encoder_path, cache="/work/runs/pretrain_cache", windows=16):
    """Does the encoder attend by position yet? attention_stats on held-out windows, printed.
    BERTs grow heads that put most of their mass on a neighbour; an encoder on the MLM plateau
    has none (every figure near 1/128 = 0.008): a contextual bag of words, blind to word order.
        python3 -m train.pretrain attention /work/runs/pt_4l256/encoder.pt"""
    torch.set_num_threads(1)
    tok = load_tokenizer()
    val = PackedCorpus(os.path.join(cache, "val.u16"), 128, tok.cls_id, tok.sep_id)
    ids = torch.from_numpy(val.batch(list(range(min(windows, len(val))))))
    model, _, extra = C.load_checkpoint(encoder_path)
    print(f"{encoder_path} (step {extra.get('step')}), {ids.shape[0]} held-out windows of {ids.shape[1]}; "
          f"per head:")
    fmt = lambda t: " ".join(f"{x:.3f}" for x in t.tolist())
    for li, st in enumerate(attention_stats(model, ids)):
        print(f"layer {li}: " + "  ".join(f"{k} [{fmt(v)}]" for k, v in st.items()))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "plot":
        plot_log(sys.argv[2], sys.argv[3])
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "attention":
        attention_report(*sys.argv[2:])
    elif len(sys.argv) > 2 and sys.argv[1] == "bench":
        bench(sys.argv[2:])
    else:
        main()
