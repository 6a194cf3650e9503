"""Stage 1 (CoFi pruning) on a tiny random model: gates move to the target, the Lagrangian pushes,
the cut model computes what the masked model computes, the whole stage runs end to end."""
import os
import random
import tempfile
import unittest

import torch

from train import hardconcrete as hc
from train.distill import evaluate
from train.model import InforCoefModel, ModelConfig
from train.prune import PruneArgs, load_checkpoint, materialize, prune, run_stage1, save_checkpoint

torch.set_num_threads(1)


def tiny_teacher(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig.dense(num_layers=2, hidden=32, heads=4, ffn=64, vocab_size=100,
                            max_position=64, labels=["a", "b"])
    return InforCoefModel(cfg).eval()


def toy_examples(n=256, seed=0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        m = rng.randint(3, 20)
        ids = [1] + [rng.randint(5, 99) for _ in range(m - 2)] + [2]
        out.append((ids, [0] * m, int(ids[1] > 50)))
    return out


class PruneTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.teacher = tiny_teacher()
        cls.ex = toy_examples()
        cls.args = PruneArgs(sparsity=0.6, steps=150, warmup_steps=50, lr=1e-3, reg_lr=0.1,
                             batch_size=16, log_every=1, finetune_steps=20, eval_every=10)
        cls.student, cls.gates, cls.ld, cls.hist = prune(cls.teacher, cls.ex, "sst2", cls.args,
                                                         log=lambda s: None)

    def test_expected_sparsity_reaches_target(self):
        s = [r["expected_sparsity"] for r in self.hist]
        self.assertLess(s[0], 0.45)
        late = s[-50:]
        mean_late = sum(late) / len(late)
        self.assertLess(abs(mean_late - 0.6), 0.12, mean_late)

    def test_lagrangian_pushes(self):
        # While the ramped target is above the expected sparsity, lambda1 goes negative (ascent),
        # and lambda2 only grows.
        self.assertTrue(any(r["lambda1"] < 0 for r in self.hist))
        self.assertGreater(self.hist[-1]["lambda2"], 0.0)
        # Without the Lagrangian (target = the initial sparsity, no ramp) the gates stay put.
        args = PruneArgs(**{**self.args.__dict__, "steps": 30, "sparsity": 0.0, "warmup_steps": 0})
        _, g, _, hist = prune(self.teacher, self.ex, "sst2", args, log=lambda s: None)
        self.assertLess(hist[-1]["expected_sparsity"], self.hist[-1]["expected_sparsity"])

    def test_materialised_model_matches_masked_model(self):
        z = self.gates.deterministic()
        small = materialize(self.student.eval(), z)
        n_params = lambda m: sum(p.numel() for p in m.parameters())
        self.assertLess(n_params(small), n_params(self.student))
        self.assertEqual(small.config.hidden_size, int(z["hidden_z"].sum()))
        torch.manual_seed(5)
        ids = torch.randint(5, 100, (4, 12)); ids[:, 0] = 1
        mask = torch.ones_like(ids); mask[1, 7:] = 0; mask[3, 3:] = 0
        a = self.student(ids, attention_mask=mask, masks=z, compact=False).logits
        b = small(ids, attention_mask=mask).logits
        self.assertTrue(torch.allclose(a, b, atol=1e-5), (a, b))
        ra = evaluate(self.student, self.ex[:64], "sst2", masks=z)
        rb = evaluate(small, self.ex[:64], "sst2")
        self.assertEqual(ra["preds"], rb["preds"])
        self.assertLess(rb["flops"], ra["flops"])   # the masked model is costed at full size

    def test_stage1_end_to_end_and_checkpoint(self):
        args = PruneArgs(**{**self.args.__dict__, "steps": 40, "warmup_steps": 20, "log_every": 10})
        small, rep = run_stage1(self.teacher, self.ex, self.ex[:32], "sst2", args, log=lambda s: None)
        self.assertLess(small.config.hidden_size * sum(l.ffn for l in small.config.layers),
                        32 * 128 + 1)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "m.pt")
            save_checkpoint(small, p, {"vocab": ["x"]})
            back, extra = load_checkpoint(p)
        ids = torch.tensor([[1, 9, 70, 2]])
        self.assertTrue(torch.equal(small(ids).logits, back(ids).logits))
        self.assertEqual(extra["vocab"], ["x"])


if __name__ == "__main__":
    unittest.main()
