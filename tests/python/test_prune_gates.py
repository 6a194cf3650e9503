"""Stage-1 building blocks that need no model: hard-concrete gates, expected sparsity,
the Lagrangian and its gradient ascent, distillation losses."""
import math
import unittest

import torch

from train import hardconcrete as hc
from train.distill import LayerDistill, default_teacher_layers, kd_loss

torch.set_num_threads(1)


class HardConcreteTest(unittest.TestCase):
    def test_samples_in_unit_interval_with_exact_zeros_and_ones(self):
        torch.manual_seed(0)
        z = hc.sample_gates(torch.zeros(20000))
        self.assertGreaterEqual(z.min().item(), 0.0)
        self.assertLessEqual(z.max().item(), 1.0)
        # log_alpha 0: the stretch puts mass ~0.166 at exactly 0 and the same at exactly 1.
        p0 = (z == 0).float().mean().item()
        p1 = (z == 1).float().mean().item()
        self.assertTrue(0.15 < p0 < 0.18, p0)
        self.assertTrue(0.15 < p1 < 0.18, p1)

    def test_prob_nonzero_matches_sampling(self):
        torch.manual_seed(1)
        for la in (-2.0, 0.0, 1.5):
            z = hc.sample_gates(torch.full((50000,), la))
            emp = (z > 0).float().mean().item()
            self.assertAlmostEqual(emp, hc.prob_nonzero(torch.tensor(la)).item(), delta=0.01)

    def test_init_and_expected_sparsity_formula(self):
        torch.manual_seed(0)
        g = hc.CoFiGates(n_layers=2, n_heads=4, head_size=8, ffn=64, hidden=32)
        self.assertEqual(g.prunable_params(), 2 * (4 * 32 * 32 + 2 * 32 * 64))
        p = hc.prob_nonzero(torch.tensor(0.0)).item()      # ~0.834 at CoFi's init
        self.assertAlmostEqual(p, 1 - 1 / (1 + math.exp(-(2 / 3) * math.log(1 / 11))), places=5)
        # Every gate ~p: size = p_hid * (p_head p_mha) * whole + ... -> sparsity 1 - p^3.
        self.assertAlmostEqual(g.expected_sparsity().item(), 1 - p ** 3, delta=0.01)
        # Removing an FFN block outright (very negative log_alpha) raises the sparsity by its share.
        with torch.no_grad():
            g.log_alpha["ffn_z"][0] = -20.0
        share = (2 * 32 * 64) / g.prunable_params()
        self.assertAlmostEqual(g.expected_sparsity().item(), 1 - p ** 3 + share * p ** 3, delta=0.01)

    def test_deterministic_gates_follow_expected_counts(self):
        g = hc.CoFiGates(n_layers=2, n_heads=4, head_size=8, ffn=64, hidden=32)
        with torch.no_grad():
            g.log_alpha["intermediate_z"][0, :16] = -10.0     # 16 neurons clearly off
            g.log_alpha["intermediate_z"][0, 16:] = 10.0
            g.log_alpha["head_z"][1] = -10.0                  # every head of layer 1 off
            g.log_alpha["hidden_z"][:] = 10.0
        z = g.deterministic()
        self.assertEqual(int(z["intermediate_z"][0].sum()), 48)
        self.assertTrue(torch.all(z["intermediate_z"][0, :16] == 0))
        self.assertEqual(float(z["mha_z"][1]), 0.0)            # no head left -> block removed
        self.assertEqual(int(z["hidden_z"].sum()), 32)
        for v in z.values():
            self.assertTrue(torch.all((v == 0) | (v == 1)))


    def test_deterministic_gates_shifted_to_target(self):
        torch.manual_seed(3)
        g = hc.CoFiGates(n_layers=3, n_heads=4, head_size=8, ffn=64, hidden=32)
        with torch.no_grad():
            for v in g.log_alpha.values():
                v.normal_(0.0, 2.0)
        for target in (0.5, 0.8, 0.95):
            z = g.deterministic(target=target)
            s = hc.CoFiGates.sparsity_of(z, 8)
            self.assertLessEqual(s, target + 1e-9)
            self.assertGreater(s, target - 0.03, (target, s))
        z = g.deterministic(target=0.8, hidden_keep=0.5)
        self.assertEqual(int(z["hidden_z"].sum()), 16)
        self.assertAlmostEqual(hc.CoFiGates.sparsity_of(z, 8), 0.8, delta=0.03)
        # The ranking inside a group is the learned one: kept FFN neurons have the largest log_alpha.
        la = g.log_alpha["intermediate_z"][0]
        kept = z["intermediate_z"][0] > 0
        if 0 < int(kept.sum()) < 64:
            self.assertGreaterEqual(la[kept].min().item(), la[~kept].max().item())


class LagrangianTest(unittest.TestCase):
    def test_lambdas_push_sparsity_to_target(self):
        """Only the Lagrangian acts (no task loss to resist it): the expected sparsity must leave
        its initial ~0.42, reach the target within a few dozen steps, and the binary gates of
        the end follow it. (Without a task loss the min-max game oscillates around the target,
        so this checks the push, not convergence.)"""
        torch.manual_seed(0)
        g = hc.CoFiGates(n_layers=2, n_heads=4, head_size=8, ffn=64, hidden=32)
        lag = hc.Lagrangian()
        opt_g = torch.optim.AdamW(g.parameters(), lr=0.05, weight_decay=0.0)
        opt_l = lag.optimizer(lr=0.05)
        target = 0.7
        s0 = g.expected_sparsity().item()
        traj = []
        for step in range(40):
            loss = lag(g.expected_sparsity(), target)
            opt_g.zero_grad(); opt_l.zero_grad()
            loss.backward()
            opt_g.step(); opt_l.step()
            traj.append(g.expected_sparsity().item())
        self.assertLess(s0, 0.45)
        self.assertGreater(max(traj), target - 0.02, traj)
        self.assertLess(lag.lambda_1.item(), 0.0)
        self.assertGreater(hc.CoFiGates.sparsity_of(g.deterministic(), 8), s0)

    def test_ascent_signs(self):
        # s (~0.42 at init) < t = 0.9: one ascent step drives lambda1 negative, so minimising
        # lambda1 (s - t) then raises s; lambda2 only ever grows.
        g = hc.CoFiGates(n_layers=1, n_heads=2, head_size=4, ffn=8, hidden=8)
        lag = hc.Lagrangian()
        opt_l = lag.optimizer(lr=0.1)
        lag(g.expected_sparsity(), 0.9).backward()
        opt_l.step()
        self.assertLess(lag.lambda_1.item(), 0.0)
        self.assertGreater(lag.lambda_2.item(), 0.0)

    def test_target_ramp(self):
        self.assertEqual(hc.target_at(0, 10, 0.9), 0.0)
        self.assertAlmostEqual(hc.target_at(5, 10, 0.9), 0.45)
        self.assertEqual(hc.target_at(50, 10, 0.9), 0.9)


class DistillTest(unittest.TestCase):
    def test_kd_zero_iff_equal(self):
        a = torch.randn(4, 2)
        self.assertAlmostEqual(kd_loss(a, a).item(), 0.0, places=6)
        self.assertGreater(kd_loss(a, -a).item(), 0.01)

    def test_teacher_layer_picks(self):
        self.assertEqual(default_teacher_layers(12), [2, 5, 8, 11])
        self.assertEqual(default_teacher_layers(4), [0, 1, 2, 3])
        self.assertEqual(default_teacher_layers(6), [1, 2, 4, 5])

    def test_layer_alignment_finds_matching_layers_monotonically(self):
        torch.manual_seed(0)
        B, n, d = 2, 5, 8
        teacher = [torch.randn(B, n, d) for _ in range(4)]
        # student layer 2j+1 copies teacher layer j; even student layers are noise.
        student = []
        for j in range(4):
            student += [torch.randn(B, n, d) * 3, teacher[j].clone()]
        mask = torch.ones(B, n)
        ld = LayerDistill(d, d, [0, 1, 2, 3])
        loss, align = ld(student, teacher, mask)
        self.assertEqual(align, [1, 3, 5, 7])
        self.assertAlmostEqual(loss.item(), 0.0, places=5)
        # A removed student layer is never chosen.
        present = torch.ones(8, dtype=torch.bool); present[5] = False
        _, align = ld(student, teacher, mask, present)
        self.assertNotIn(5, align)
        self.assertEqual(align, sorted(align))


if __name__ == "__main__":
    unittest.main()
