"""Stage 2 (token samplers, IB / skim losses) and the eval-threshold calibration on tiny models."""
import math
import random
import unittest
from types import SimpleNamespace

import torch

from train import flops as flops_lib
from train.calibrate import bisect_threshold, calibrate_model, flops_ratio_fn
from train.model import InforCoefModel, ModelConfig
from train.skim import (SkimArgs, binary_entropy_loss, ib_norm_loss, skim_ratio_loss, train_skim,
                        with_samplers)

torch.set_num_threads(1)


def tiny_config(layers=2):
    return ModelConfig.dense(num_layers=layers, hidden=32, heads=4, ffn=64, vocab_size=100,
                             max_position=64, labels=["a", "b"])


def toy_examples(n=256, seed=0):
    """Random token sequences; the label is carried by the first word only, so most tokens are
    useless to the classifier and a sampler can drop them."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        m = rng.randint(4, 24)
        ids = [1] + [rng.randint(5, 99) for _ in range(m - 2)] + [2]
        out.append((ids, [0] * m, int(ids[1] > 50)))
    return out


def mean_kept_fraction(model, examples, threshold=None):
    """Eval-mode (compacting reference) fraction of real tokens entering each layer."""
    from train.distill import evaluate
    r = evaluate(model, examples, "sst2", threshold=threshold, compact=True)
    return [k / r["mean_len"] for k in r["kept_per_layer"]]


class LossTest(unittest.TestCase):
    def test_ib_norm_is_masked_frobenius(self):
        h = torch.randn(2, 5, 3)
        m = torch.tensor([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0]], dtype=torch.float)
        pad = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
        want = 0.5 * (torch.linalg.norm(h[0, [0, 1, 3]]) + torch.linalg.norm(h[1, [0]]))
        self.assertAlmostEqual(ib_norm_loss([h, h], [m, m], pad).item(), want.item(), places=5)

    def test_entropy_and_skim_ratio(self):
        p = torch.tensor([[0.5, 0.5, 1.0, 0.0]])
        v = torch.tensor([[0.0, 1.0, 1.0, 1.0]])        # first token ([CLS]) is not decided
        self.assertAlmostEqual(binary_entropy_loss([p], [v]).item(), math.log(2) / 3, places=4)
        m = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
        pad = torch.tensor([[1, 1, 1, 0]])
        self.assertAlmostEqual(skim_ratio_loss([m], pad).item(), 2 / 3, places=6)


class SamplerTrainingTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.base = InforCoefModel(tiny_config()).eval()
        self.ex = toy_examples()

    def test_fresh_samplers_change_nothing(self):
        m = with_samplers(self.base, [0, 1]).eval()
        ids = torch.tensor([[1, 7, 60, 8, 2]])
        a = self.base(ids).logits
        b = m(ids).logits              # default threshold 0, fresh samplers keep (logit diff ~ 10)
        self.assertTrue(torch.allclose(a, b, atol=1e-6))
        self.assertEqual(m(ids).kept.tolist(), [[5, 5]])

    def _train(self, **kw):
        m = with_samplers(self.base, [0, 1])
        args = SkimArgs(steps=50, batch_size=16, lr=1e-3, sampler_lr=0.05, log_every=10, **kw)
        train_skim(m, self.ex, "sst2", args, log=lambda s: None)
        return m

    def test_ib_push_drops_tokens(self):
        m = self._train(loss="ib", norm_coef=1.0, entropy_coef=1e-3, epoch_steps=5)
        kept = mean_kept_fraction(m, self.ex[:64])
        self.assertLess(kept[0], 0.5, kept)

    def test_no_push_keeps_tokens(self):
        m = self._train(loss="ib", norm_coef=0.0, entropy_coef=0.0)
        kept = mean_kept_fraction(m, self.ex[:64])
        self.assertGreater(min(kept), 0.9, kept)

    def test_skim_loss_drops_tokens(self):
        m = self._train(loss="skim", skim_coef=2.0)
        kept = mean_kept_fraction(m, self.ex[:64])
        self.assertLess(kept[0], 0.5, kept)

    def test_norm_term_waits_for_epoch(self):
        m = self._train(loss="ib", norm_coef=1.0, entropy_coef=0.0, epoch_steps=1000)
        self.assertGreater(min(mean_kept_fraction(m, self.ex[:64])), 0.9)


def two_vocab_examples(n, seed):
    """Label 1: every word from ids 51..99; label 0: every word from 5..50 (easy for a tiny model)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        y, m = rng.randint(0, 1), rng.randint(4, 16)
        lo, hi = (51, 99) if y else (5, 50)
        out.append(([1] + [rng.randint(lo, hi) for _ in range(m - 2)] + [2], [0] * m, y))
    return out


class RuleTeacher(torch.nn.Module):
    """A stand-in teacher whose class is the opposite of two_vocab_examples' labels."""
    def forward(self, ids, types=None, mask=None, compact=False):
        pos = (ids[:, 1] <= 50).float()
        return SimpleNamespace(logits=torch.stack([(1 - pos) * 5, pos * 5], -1))


class UnlabelledExamplesTest(unittest.TestCase):
    def test_teacher_class_stands_in_for_a_missing_label(self):
        torch.manual_seed(0)
        unlabelled = [(ids, types, -1) for ids, types, _ in two_vocab_examples(256, 0)]
        m = with_samplers(InforCoefModel(tiny_config()).eval(), [0, 1])
        args = SkimArgs(steps=120, batch_size=16, lr=1e-3, norm_coef=0.0, entropy_coef=0.0, kd_alpha=0.0,
                        log_every=1000)
        with self.assertRaises(ValueError):
            train_skim(m, unlabelled, "sst2", args, log=lambda s: None)
        train_skim(m, unlabelled, "sst2", args, teacher=RuleTeacher(), log=lambda s: None)
        from train.distill import evaluate
        held = two_vocab_examples(128, 1)
        r = evaluate(m, [(i, t, 1 - y) for i, t, y in held], "sst2", compact=False)
        self.assertGreater(r["metric"], 80.0)   # it learnt the teacher's rule, not the gold one


class CalibrationTest(unittest.TestCase):
    def test_bisection_on_monotone_function(self):
        f = lambda t: 1.0 / (1.0 + math.exp(t))
        t, r = bisect_threshold(f, 0.25)
        self.assertLessEqual(r, 0.25)
        self.assertAlmostEqual(r, 0.25, delta=1e-3)
        self.assertAlmostEqual(t, math.log(3), delta=1e-2)
        self.assertEqual(bisect_threshold(f, 0.9999999999)[0], -20.0)   # loosest already fits

    def test_calibration_widens_below_minus_20(self):
        # Samplers pushed far: the budget is met only above -35, and -20 is already within it.
        from train.calibrate import calibrate_threshold
        f = lambda t: 1.0 / (1.0 + math.exp(t + 35.0))
        t, r = calibrate_threshold(f, 0.25)
        self.assertLessEqual(r, 0.25)
        self.assertAlmostEqual(t, math.log(3) - 35.0, delta=1e-2)   # not stuck at -20
        t, r = calibrate_threshold(lambda t: 0.01, 0.25)             # keeps everything: loosest probe
        self.assertLessEqual(t, -1280.0)
        t, r = calibrate_threshold(lambda t: 1.0 / (1.0 + math.exp(t)), 0.25)   # inside [-20, 20]
        self.assertAlmostEqual(t, math.log(3), delta=1e-2)

    def test_calibration_hits_flops_target(self):
        torch.manual_seed(0)
        cfg = tiny_config()
        base = InforCoefModel(cfg).eval()
        m = with_samplers(base, [0, 1]).eval()
        # Spread the samplers' keep-drop logit differences over tokens (a trained sampler does
        # this; a fresh one outputs ~ +10 for every token).
        with torch.no_grad():
            for layer in m.layers:
                layer.sampler.dense2.weight.normal_(0.0, 2.0)
                layer.sampler.dense2.bias.zero_()
        ex = toy_examples(128, seed=3)
        ratio_at = flops_ratio_fn(m, ex, cfg)
        lo, hi = ratio_at(-1e9), ratio_at(1e9)
        target = 0.5 * (lo + hi)
        thr, ratio = calibrate_model(m, ex, cfg, target)
        self.assertEqual(m.config.keep_threshold, thr)
        self.assertLessEqual(ratio, target)
        self.assertGreater(ratio, target - 0.05)
        # The compacting reference agrees with the fast path used by the calibration.
        from train.distill import evaluate
        r = evaluate(m, ex, "sst2", compact=True, teacher_config=cfg)
        self.assertAlmostEqual(r["flops_ratio"], ratio, delta=0.01)
        dense = sum(flops_lib.dense_flops(cfg, len(e[0])) for e in ex) / len(ex)
        self.assertAlmostEqual(r["teacher_flops"], dense)


if __name__ == "__main__":
    unittest.main()
