"""Hard-concrete L0 gates for CoFi structured pruning (Louizos et al. 2018; Xia et al. 2022).

One gate z in [0, 1] per prunable unit. Training draws z from the hard-concrete distribution
(a stretched, clipped binary concrete), so z is exactly 0 or 1 with non-zero probability and is
still differentiable in log_alpha; the expected number of non-zero gates has a closed form,
which is what makes the L0 penalty (here: an expected-sparsity constraint) trainable.

    u ~ U(0, 1)
    s = sigmoid((log u - log(1 - u) + log_alpha) / beta)      beta = 2/3 (the temperature)
    z = clamp(s * (r - l) + l, 0, 1)                          l = -0.1, r = 1.1
    P(z != 0) = 1 - sigmoid(beta * log(-l / r) - log_alpha)

CoFi's five gate groups over a dense BERT of L layers, H heads of size dh, FFN width F, hidden d:

    hidden_z       [d]       one per residual-stream dimension (shared by every layer)
    head_z         [L, H]    one per attention head
    mha_z          [L]       the whole attention block of a layer
    intermediate_z [L, F]    one per FFN neuron
    ffn_z          [L]       the whole FFN block of a layer

Expected model size (CoFi's formula, parameters of the prunable matrices only, biases ignored):

    size = sum_{i,h} P(hidden_i) P(head_{l,h}) P(mha_l) * 4 dh      (Q, K, V, O of a head)
         + sum_{i,f} P(hidden_i) P(int_{l,f}) P(ffn_l)  * 2         (W1 row + W2 column)
    expected sparsity s = 1 - size / (L (4 d H dh + 2 d F))

The Lagrangian lambda1 (s - t) + lambda2 (s - t)^2 turns "reach sparsity t" into a min-max game:
the model minimises it, the lambdas maximise it (gradient ascent), so the constraint tightens
until the expected sparsity meets the target.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

BETA = 2.0 / 3.0          # temperature of the concrete distribution
LIMIT_L = -0.1            # stretch interval (l, r): lets z hit exactly 0 and 1
LIMIT_R = 1.1
EPS = 1e-6

GATE_NAMES = ("hidden_z", "head_z", "mha_z", "intermediate_z", "ffn_z")


def prob_nonzero(log_alpha):
    """P(z != 0) for each gate: 1 - Q(z <= 0) (the CDF of the stretched concrete at 0)."""
    return 1.0 - torch.sigmoid(BETA * math.log(-LIMIT_L / LIMIT_R) - log_alpha).clamp(EPS, 1 - EPS)


def sample_gates(log_alpha):
    """One reparameterised hard-concrete draw per gate (training mode), same shape as log_alpha."""
    u = torch.rand_like(log_alpha).clamp(EPS, 1 - EPS)
    s = torch.sigmoid((torch.log(u) - torch.log(1 - u) + log_alpha) / BETA)
    return (s * (LIMIT_R - LIMIT_L) + LIMIT_L).clamp(0.0, 1.0)


def deterministic_gates(log_alpha):
    """Binary gates for the end of pruning, one row (last dim) at a time.

    As CoFi: the number of zeros in a row is round(row size - expected number of non-zeros), and
    the gates with the smallest log_alpha are the ones zeroed. CoFi keeps a soft value
    sigmoid(0.8 log_alpha / beta) on the survivors; we keep them at exactly 1 so that the
    materialised (cut) model computes exactly what the masked model computes, and the
    fine-tuning that follows absorbs the difference.
    """
    flat = log_alpha.reshape(-1, log_alpha.shape[-1]) if log_alpha.dim() > 0 else log_alpha.reshape(1, 1)
    out = torch.ones_like(flat)
    for r in range(flat.shape[0]):
        n = flat.shape[1]
        n_zero = int(round(n - prob_nonzero(flat[r]).sum().item()))
        n_zero = max(0, min(n, n_zero))
        if n_zero > 0:
            idx = torch.topk(flat[r], k=n_zero, largest=False).indices
            out[r, idx] = 0.0
    return out.reshape(log_alpha.shape)


class CoFiGates(nn.Module):
    """The five CoFi gate groups for a dense model with uniform layers.

    log_alpha is initialised as CoFi does: N(log(1 - p) - log(p), 0.01) with drop rate p = 0.5,
    i.e. every gate starts around P(z != 0) ~ 0.83 and is free to move either way.
    """

    def __init__(self, n_layers, n_heads, head_size, ffn, hidden, droprate_init=0.5):
        super().__init__()
        self.n_layers, self.n_heads, self.head_size = n_layers, n_heads, head_size
        self.ffn, self.hidden = ffn, hidden
        mean = math.log(1 - droprate_init) - math.log(droprate_init)

        def param(*shape):
            return nn.Parameter(torch.empty(*shape).normal_(mean, 1e-2))

        self.log_alpha = nn.ParameterDict({
            "hidden_z": param(hidden),
            "head_z": param(n_layers, n_heads),
            "mha_z": param(n_layers),
            "intermediate_z": param(n_layers, ffn),
            "ffn_z": param(n_layers),
        })

    def prunable_params(self):
        """Parameters of the prunable matrices of the dense model (CoFi's denominator)."""
        a = self.n_heads * self.head_size
        return self.n_layers * (4 * self.hidden * a + 2 * self.hidden * self.ffn)

    def expected_size(self):
        p = {k: prob_nonzero(v) for k, v in self.log_alpha.items()}
        head = p["head_z"] * p["mha_z"].unsqueeze(-1)                  # [L, H]
        neuron = p["intermediate_z"] * p["ffn_z"].unsqueeze(-1)        # [L, F]
        hid = p["hidden_z"].sum()                                      # sum over d of outer products
        return hid * head.sum() * 4 * self.head_size + hid * neuron.sum() * 2

    def expected_sparsity(self):
        """Scalar tensor, differentiable in every log_alpha."""
        return 1.0 - self.expected_size() / self.prunable_params()

    def expected_hidden_sparsity(self):
        """1 - E[kept hidden dims] / d: for the optional hidden-size constraint of train/prune.py."""
        return 1.0 - prob_nonzero(self.log_alpha["hidden_z"]).sum() / self.hidden

    def sample(self):
        """Training-mode gates: dict name -> tensor (shapes in the module docstring)."""
        return {k: sample_gates(v) for k, v in self.log_alpha.items()}

    @torch.no_grad()
    def deterministic(self, target=None, hidden_keep=None):
        """Binary gates; hidden_z, head_z, intermediate_z per row, the block gates per layer.

        A block gate is a single unit per layer, so it is decided on its own P(z != 0) > 0.5
        (CoFi rounds the expected zeros of a size-1 group, which is the same thing).

        target / hidden_keep: CoFi reads the gates as they are at the end of a long run, when the
        expected sparsity has settled on the target. A short run ends wherever the min-max game
        happens to be, so optionally every log_alpha is shifted by one common constant (found by
        bisection; the ranking of units inside each group is untouched) until the binary gates
        meet the target sparsity (and the hidden dims first, when hidden_keep is given).
        """
        la = {k: v.detach().clone() for k, v in self.log_alpha.items()}
        if hidden_keep:
            want = max(1, int(round(hidden_keep * self.hidden)))
            shift = _bisect_shift(lambda c: int(deterministic_gates(la["hidden_z"] + c).sum()) >= want)
            la["hidden_z"] = la["hidden_z"] + shift
        if target is not None:
            others = [k for k in la if k != "hidden_z" or not hidden_keep]

            def dense_enough(c):
                moved = {k: (v + c if k in others else v) for k, v in la.items()}
                return self.sparsity_of(self._binary(moved), self.head_size) <= target
            shift = _bisect_shift(dense_enough)
            for k in others:
                la[k] = la[k] + shift
        return self._binary(la)

    @staticmethod
    def _binary(la):
        z = {k: deterministic_gates(la[k]) for k in ("hidden_z", "head_z", "intermediate_z")}
        for k in ("mha_z", "ffn_z"):
            z[k] = (prob_nonzero(la[k]) > 0.5).float()
        # A block with no unit left is a removed block, and a removed block has no units.
        z["mha_z"] = z["mha_z"] * (z["head_z"].sum(-1) > 0).float()
        z["ffn_z"] = z["ffn_z"] * (z["intermediate_z"].sum(-1) > 0).float()
        z["head_z"] = z["head_z"] * z["mha_z"].unsqueeze(-1)
        z["intermediate_z"] = z["intermediate_z"] * z["ffn_z"].unsqueeze(-1)
        return z

    @staticmethod
    def sparsity_of(z, head_size):
        """Actual sparsity of binary gates z (same formula as expected_sparsity, on 0/1 values)."""
        L, H = z["head_z"].shape
        Fw = z["intermediate_z"].shape[1]
        d = z["hidden_z"].numel()
        hid = z["hidden_z"].sum()
        heads = (z["head_z"] * z["mha_z"].unsqueeze(-1)).sum()
        neurons = (z["intermediate_z"] * z["ffn_z"].unsqueeze(-1)).sum()
        size = hid * heads * 4 * head_size + hid * neurons * 2
        return float(1.0 - size / (L * (4 * d * H * head_size + 2 * d * Fw)))


def _bisect_shift(ok, lo=-30.0, hi=30.0, iters=40):
    """Smallest shift c in [lo, hi] with ok(c) True, for ok monotone (False ... True)."""
    if ok(lo):
        return lo
    if not ok(hi):
        return hi
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


class Lagrangian(nn.Module):
    """lambda1 (s - t) + lambda2 (s - t)^2; the lambdas are trained to MAXIMISE it."""

    def __init__(self):
        super().__init__()
        self.lambda_1 = nn.Parameter(torch.zeros(()))
        self.lambda_2 = nn.Parameter(torch.zeros(()))

    def forward(self, expected_sparsity, target):
        gap = expected_sparsity - target
        return self.lambda_1 * gap + self.lambda_2 * gap * gap

    def optimizer(self, lr):
        """Gradient ascent on the lambdas (CoFi uses AdamW with a negative learning rate)."""
        return torch.optim.AdamW(self.parameters(), lr=lr, weight_decay=0.0, maximize=True)


def target_at(step, warmup_steps, target, start=0.0):
    """Target sparsity ramped linearly from `start` to `target` over warmup_steps, then held."""
    if warmup_steps <= 0:
        return target
    return start + (target - start) * min(1.0, step / warmup_steps)
