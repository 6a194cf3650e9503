"""Reference encoder: eval compaction vs masking, training masks, CoFi masks vs materialised
models, FLOPs accounting, config round trip, MLM path."""
import unittest

import torch

from train import flops as flops_lib
from train.materialize import materialize
from train.model import InforCoefModel, LayerShape, MLMHead, ModelConfig

torch.set_num_threads(1)


def random_model(cfg, seed=0, std=0.3, sampler_scale=1.0):
    torch.manual_seed(seed)
    m = InforCoefModel(cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "LayerNorm" in name or ".ln" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape))
            else:
                p.copy_(std * torch.randn(p.shape))
        for layer in m.layers:
            if layer.sampler is not None:
                layer.sampler.dense2.weight.mul_(sampler_scale / std)
                layer.sampler.dense2.bias.zero_()
    return m.eval()


def small_config(samplers=(False, True, True), **kw):
    cfg = ModelConfig.dense(3, 32, 4, 48, vocab_size=50, max_position=24, **kw)
    for l, s in zip(cfg.layers, samplers):
        l.sampler = s
    return cfg


class TestConfig(unittest.TestCase):
    def test_json_round_trip(self):
        cfg = ModelConfig(hidden_size=24, head_size=8, vocab_size=30,
                          layers=[LayerShape(3, 40, False), LayerShape(0, 12, True)],
                          labels=["x", "y", "z"], keep_threshold=0.25, task="t")
        back = ModelConfig.from_json(cfg.to_json())
        self.assertEqual(back, cfg)
        d = cfg.to_dict()
        self.assertEqual(d["format_version"], 1)
        self.assertNotIn("hidden_dropout", d)           # training-only fields stay out of files
        self.assertEqual(d["layers"][1], {"heads": 0, "ffn": 12, "sampler": True})

    def test_from_json_rejects(self):
        good = ModelConfig.dense(1, 16, 2, 8, vocab_size=5).to_dict()
        with self.assertRaisesRegex(ValueError, "format_version"):
            ModelConfig.from_json(dict(good, format_version=2))
        with self.assertRaisesRegex(ValueError, "hidden_size"):
            ModelConfig.from_json(dict(good, hidden_size=0))
        with self.assertRaisesRegex(ValueError, "missing"):
            ModelConfig.from_json({k: v for k, v in good.items() if k != "layers"})
        ModelConfig.from_json(dict(good, some_future_key=1))   # unknown keys are ignored

    def test_state_dict_names_are_the_spec_names(self):
        cfg = ModelConfig(hidden_size=16, head_size=8, vocab_size=10,
                          layers=[LayerShape(2, 8, True), LayerShape(0, 8, False), LayerShape(1, 0, False)])
        names = set(InforCoefModel(cfg).state_dict())
        self.assertIn("encoder.layer.0.sampler.dense2.weight", names)
        self.assertIn("encoder.layer.0.attention.self.query.weight", names)
        self.assertNotIn("encoder.layer.1.attention.self.query.weight", names)
        self.assertIn("encoder.layer.1.intermediate.dense.weight", names)
        self.assertNotIn("encoder.layer.2.output.dense.weight", names)
        self.assertIn("encoder.layer.2.attention.output.LayerNorm.bias", names)
        m = InforCoefModel(cfg)
        self.assertIsNone(m.layers[1].attention)
        self.assertIsNone(m.layers[2].ffn)
        self.assertIsNotNone(m.layers[0].ffn)
        self.assertEqual(m.layers[0].sampler.dense2.bias.tolist(), [-5.0, 5.0])


class TestEvalCompaction(unittest.TestCase):
    def test_keep_all_compaction_equals_masking(self):
        m = random_model(small_config())
        torch.manual_seed(1)
        ids = torch.randint(0, 50, (3, 20))
        types = torch.randint(0, 2, (3, 20))
        for thr in (-1e30, float("-inf")):
            a = m(ids, types, threshold=thr)
            b = m(ids, types, threshold=thr, compact=False)
            self.assertTrue(torch.all(a.kept == 20))
            torch.testing.assert_close(a.logits, b.logits, rtol=1e-5, atol=1e-5)
            self.assertTrue(torch.equal(a.flops, b.flops))
            self.assertEqual(int(a.flops[0]), flops_lib.dense_flops(m.config, 20))

    def test_dropping_compaction_equals_masking_on_kept_rows(self):
        m = random_model(small_config(), sampler_scale=1.0)
        torch.manual_seed(2)
        ids = torch.randint(0, 50, (4, 20))
        a = m(ids, threshold=0.0, output_hidden_states=True)
        b = m(ids, threshold=0.0, output_hidden_states=True, compact=False)
        self.assertTrue(torch.any(a.kept[:, 1] < 20), "the samplers should drop something")
        self.assertTrue(torch.any(a.kept[:, 2] < a.kept[:, 1]))
        self.assertTrue(torch.equal(a.kept, b.kept))
        for i in range(3):
            self.assertTrue(torch.equal(a.keep_masks[i], b.keep_masks[i]))
            keep = a.keep_masks[i].bool()
            torch.testing.assert_close(a.hidden_states[i + 1][keep], b.hidden_states[i + 1][keep],
                                       rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(a.logits, b.logits, rtol=1e-4, atol=1e-4)
        self.assertTrue(torch.equal(a.flops, b.flops))

    def test_cls_always_kept_and_masks_cumulative(self):
        m = random_model(small_config(), sampler_scale=2.0)
        ids = torch.randint(0, 50, (4, 20))
        out = m(ids, threshold=1e30)             # drop everything but [CLS]
        self.assertTrue(torch.all(out.kept[:, 1:] == 1))
        self.assertTrue(torch.all(out.keep_masks[2][:, 0] == 1))
        out = m(ids, threshold=0.5)
        for i in range(1, 3):
            self.assertTrue(torch.all(out.keep_masks[i] <= out.keep_masks[i - 1]))

    def test_padding_matches_unpadded(self):
        m = random_model(small_config())
        torch.manual_seed(3)
        ids = torch.randint(0, 50, (2, 16))
        mask = torch.ones_like(ids)
        mask[1, 9:] = 0
        for compact in (True, False):
            batch = m(ids, attention_mask=mask, threshold=0.0, compact=compact)
            single = m(ids[1:, :9], threshold=0.0, compact=compact)
            torch.testing.assert_close(batch.logits[1], single.logits[0], rtol=1e-5, atol=1e-5)
            self.assertTrue(torch.equal(batch.kept[1], single.kept[0]))
            self.assertEqual(int(batch.flops[1]), int(single.flops[0]))

    def test_default_threshold_is_config(self):
        m = random_model(small_config(keep_threshold=0.7))
        ids = torch.randint(0, 50, (2, 20))
        self.assertTrue(torch.equal(m(ids).kept, m(ids, threshold=0.7).kept))
        self.assertFalse(torch.equal(m(ids, threshold=-1e30).kept, m(ids, threshold=0.7).kept))


class TestTrainingMode(unittest.TestCase):
    def test_gumbel_masks_and_gradients(self):
        cfg = small_config()
        cfg.hidden_dropout = cfg.attention_dropout = 0.0
        m = random_model(cfg).train()
        torch.manual_seed(4)
        ids = torch.randint(0, 50, (4, 20))
        mask = torch.ones_like(ids)
        mask[0, 12:] = 0
        out = m(ids, attention_mask=mask, tau=1.0, output_hidden_states=True)
        self.assertEqual(len(out.hidden_states), 4)
        self.assertIsNone(out.sampler_logits[0])
        self.assertEqual(tuple(out.sampler_logits[1].shape), (4, 20, 2))
        for i, k in enumerate(out.keep_masks):
            self.assertTrue(torch.all((k == 0) | (k == 1)))
            self.assertTrue(torch.all(k[:, 0] == 1))          # [CLS]
            self.assertTrue(torch.all(k[0, 12:] == 0))        # padding
            if i:
                self.assertTrue(torch.all(k <= out.keep_masks[i - 1]))
        self.assertTrue(torch.any(out.keep_masks[2][:, 1:] == 0))
        loss = out.logits.sum() + out.flops.sum() * 1e-6
        loss.backward()
        g = m.layers[1].sampler.dense2.weight.grad
        self.assertIsNotNone(g)
        self.assertGreater(float(g.abs().sum()), 0.0)       # straight-through reaches the sampler
        for name, p in m.named_parameters():
            if p.grad is not None:
                self.assertTrue(torch.isfinite(p.grad).all(), name)

    def test_training_with_certain_keep_equals_eval(self):
        cfg = small_config()
        cfg.hidden_dropout = cfg.attention_dropout = 0.0
        m = random_model(cfg)
        with torch.no_grad():
            for layer in m.layers:
                if layer.sampler is not None:
                    layer.sampler.dense2.weight.zero_()
                    layer.sampler.dense2.bias.copy_(torch.tensor([-100.0, 100.0]))
        ids = torch.randint(0, 50, (2, 15))
        ev = m(ids).logits
        tr = m.train()(ids).logits
        torch.testing.assert_close(tr, ev, rtol=1e-5, atol=1e-5)

    def test_compact_requires_eval(self):
        m = random_model(small_config()).train()
        with self.assertRaises(ValueError):
            m(torch.zeros(1, 3, dtype=torch.long), compact=True)


class TestCoFiMasks(unittest.TestCase):
    def masks(self, cfg, seed, fractional):
        g = torch.Generator().manual_seed(seed)
        L, H, F = cfg.num_layers, cfg.layers[0].heads, cfg.layers[0].ffn

        def gate(*shape, p=0.4):
            keep = (torch.rand(*shape, generator=g) > p).float()
            return keep * (0.5 + torch.rand(*shape, generator=g)) if fractional else keep
        head_z = gate(L, H)
        head_z[2] = 0.0                               # layer 2: every head off -> block removed
        int_z = gate(L, F)
        return {"hidden_z": gate(cfg.hidden_size, p=0.25), "head_z": head_z,
                "mha_z": torch.tensor([1.0, 0.7 if fractional else 1.0, 1.0]),
                "intermediate_z": int_z, "ffn_z": torch.tensor([1.0, 0.0, 0.8 if fractional else 1.0])}

    def check(self, fractional, samplers):
        cfg = small_config(samplers=samplers)
        m = random_model(cfg, seed=5)
        masks = self.masks(cfg, 6, fractional)
        small = materialize(m, masks)
        sc = small.config
        self.assertEqual(sc.hidden_size, int((masks["hidden_z"] != 0).sum()))
        self.assertEqual(sc.layers[1].ffn, 0)
        self.assertEqual(sc.layers[2].heads, 0)
        self.assertEqual(sc.layers[0].heads, int((masks["head_z"][0] != 0).sum()))
        self.assertEqual(sc.layers[0].ffn, int((masks["intermediate_z"][0] != 0).sum()))
        torch.manual_seed(7)
        ids = torch.randint(0, 50, (3, 20))
        types = torch.randint(0, 2, (3, 20))
        for compact in (True, False):
            a = m(ids, types, masks=masks, threshold=0.0, compact=compact, output_hidden_states=True)
            b = small(ids, types, threshold=0.0, compact=compact, output_hidden_states=True)
            torch.testing.assert_close(a.logits, b.logits, rtol=1e-4, atol=1e-4)
            self.assertTrue(torch.equal(a.kept, b.kept))
            dims = masks["hidden_z"] != 0
            for ha, hb in zip(a.hidden_states, b.hidden_states):
                self.assertEqual(float(ha[..., ~dims].abs().max()), 0.0)   # cut dims stay zero
                torch.testing.assert_close(ha[..., dims], hb, rtol=1e-4, atol=1e-4)

    def test_binary_masks_equal_materialised(self):
        self.check(fractional=False, samplers=(False, False, False))

    def test_fractional_masks_fold_into_weights(self):
        self.check(fractional=True, samplers=(False, False, False))

    def test_masks_with_samplers(self):
        self.check(fractional=True, samplers=(False, True, True))

    def test_zeroed_weights_equal_pruned(self):
        """A pruned model = the dense model with the pruned units' weights zeroed (no masks):
        zeroing a head's output-projection columns, a neuron's W2 column."""
        cfg = small_config(samplers=(False, False, False))
        m = random_model(cfg, seed=8)
        head_z = torch.ones(3, 4)
        head_z[0, 1] = head_z[1, 3] = 0
        int_z = torch.ones(3, 48)
        int_z[:, ::3] = 0
        masks = {"head_z": head_z, "intermediate_z": int_z}
        small = materialize(m, masks)
        with torch.no_grad():
            for i, layer in enumerate(m.layers):
                cols = torch.repeat_interleave(head_z[i], cfg.head_size)
                layer.attention.output.dense.weight.mul_(cols[None, :])
                layer.output.dense.weight.mul_(int_z[i][None, :])
        ids = torch.randint(0, 50, (2, 12))
        torch.testing.assert_close(m(ids).logits, small(ids).logits, rtol=1e-4, atol=1e-4)


class TestFlops(unittest.TestCase):
    def test_hand_count(self):
        # d=4, head_size=2, layer 0: 2 heads (a=4), ffn 3, sampler; layer 1: no attention, ffn 5
        cfg = ModelConfig(hidden_size=4, head_size=2, vocab_size=10, labels=["a", "b", "c"],
                          layers=[LayerShape(2, 3, True), LayerShape(0, 5, False)])
        # n = 5, sampler keeps 3:
        # layer 0: sampler 2*4*(16+8)=192, QKV 2*3*4*12=288, scores+ctx 4*9*4=144,
        #          out 2*3*4*4=96, FFN 4*3*4*3=144 -> 864
        # layer 1: FFN 4*3*4*5 = 240 ; head: 2*16 + 2*4*3 = 56
        self.assertEqual(flops_lib.sequence_flops(cfg, 5, [3, 3]), 864 + 240 + 56)
        self.assertEqual(flops_lib.dense_flops(cfg, 1), 2 * 0 * 24 + 2 * 4 * 12 + 4 * 4 + 2 * 4 * 4
                         + 4 * 4 * 3 + 4 * 4 * 5 + 56)

    def test_model_flops_match_counted_matmuls(self):
        """Count the multiply-adds the compact forward actually runs (Linear hooks + attention)."""
        cfg = small_config()
        m = random_model(cfg)
        counted = []

        def hook(mod, inp, out):
            rows = inp[0].numel() // inp[0].shape[-1]
            counted.append(2 * rows * mod.in_features * mod.out_features)
        hooks = [mod.register_forward_hook(hook) for mod in m.modules() if isinstance(mod, torch.nn.Linear)]
        ids = torch.randint(0, 50, (1, 20))
        out = m(ids, threshold=0.0)
        for h in hooks:
            h.remove()
        kept = out.kept[0].tolist()
        attn = sum(4 * k * k * l.heads * cfg.head_size for k, l in zip(kept, cfg.layers) if l.heads)
        # the implementation also runs the sampler on the [CLS] row; the spec does not count it
        d = cfg.hidden_size
        cls_rows = sum(2 * (d * d + 2 * d) for l in cfg.layers if l.sampler)
        self.assertEqual(sum(counted) + attn - cls_rows, int(out.flops[0]))


class TestPretrainPath(unittest.TestCase):
    def test_encode_and_mlm_head(self):
        cfg = small_config(samplers=(False, False, False))
        m = random_model(cfg)
        head = MLMHead(cfg, m.embeddings.word_embeddings)
        ids = torch.randint(0, 50, (2, 10))
        seq = m.encode(ids)
        self.assertEqual(tuple(seq.shape), (2, 10, 32))
        out = m(ids, output_hidden_states=True, compact=False)
        torch.testing.assert_close(seq, out.hidden_states[-1])
        logits = head(seq)
        self.assertEqual(tuple(logits.shape), (2, 10, 50))
        logits.sum().backward()
        self.assertIsNotNone(m.embeddings.word_embeddings.weight.grad)   # tied decoder
        self.assertNotIn("decoder", " ".join(head.state_dict()))


if __name__ == "__main__":
    unittest.main()
