"""Fine-tuning (train/finetune.py): GLUE metrics, task readers, loss falls on a tiny model, the
pretrained encoder checkpoint loads into the classifier, and export writes a model file."""
import json
import os
import shutil
import random
import tempfile
import unittest

import numpy as np
import torch

from train import finetune as FT
from train import order_probe as OP
from train import soup as SOUP
from train import pretrain as P
from train import checkpoint as C
from train.data import read_task

TINY = ["--layers", "2", "--hidden", "32", "--heads", "2", "--ffn", "64", "--threads", "1",
        "--no-progress"]


class TestMetrics(unittest.TestCase):
    def test_metrics(self):
        pred, gold = [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]
        self.assertAlmostEqual(FT.accuracy(pred, gold), 0.6)
        self.assertAlmostEqual(FT.f1_positive(pred, gold), 2 * 2 / (2 * 2 + 1 + 1))
        # MCC = (tp*tn - fp*fn) / sqrt(...) = (2*1 - 1*1) / sqrt(3*3*2*2)
        self.assertAlmostEqual(FT.matthews(pred, gold), 1 / 6)
        self.assertEqual(FT.matthews([1, 1], [1, 1]), 0.0)  # degenerate -> 0 as sklearn


class TestKeepBest(unittest.TestCase):
    def test_keeps_the_best_state_and_stops_after_patience(self):
        model = torch.nn.Linear(2, 1)
        keep = FT.KeepBest(patience=2)
        stops = []
        for step, m in enumerate([0.5, 0.7, 0.6, 0.7, 0.65], 1):
            with torch.no_grad():
                model.weight.fill_(step)
            stops.append(keep.update(m, model, step))
        self.assertEqual(stops, [False, False, False, True, True])  # a tie is no improvement
        self.assertEqual((keep.metric, keep.step), (0.7, 2))
        keep.restore(model)
        self.assertTrue(torch.equal(model.weight, torch.full((1, 2), 2.0)))


class TestReaders(unittest.TestCase):
    def test_glue_readers(self):
        sizes = {"sst2": (67349, 872), "mrpc": (3668, 408), "rte": (2490, 277), "cola": (8551, 1043)}
        for task, (ntr, ndev) in sizes.items():
            dev = read_task(task, "dev")
            self.assertEqual(len(dev), ndev, task)
            self.assertEqual(set(y for _, _, y in dev), {0, 1}, task)
        self.assertIsNotNone(read_task("mrpc", "dev")[0][1])
        self.assertIsNone(read_task("sst2", "dev")[0][1])


class TestFinetune(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.tmp = tempfile.mkdtemp(prefix="test_finetune_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_loss_falls_and_exports(self):
        out = os.path.join(self.tmp, "sst2")
        exp = os.path.join(self.tmp, "exp")
        res = FT.main(["--task", "sst2", "--init", "random", "--out", out, "--train-limit", "64",
                       "--heldout", "32", "--dev-limit", "32", "--batch", "16", "--max-steps", "80",
                       "--eval-every", "16", "--patience", "100", "--lr", "5e-3", "--warmup", "0.1",
                       "--export", exp] + TINY)
        with open(os.path.join(out, "log.jsonl")) as f:
            losses = [json.loads(l)["train_loss"] for l in f]
        self.assertEqual(len(losses), 5)
        self.assertLess(losses[-1], losses[0] - 0.2, losses)
        self.assertTrue(0.0 <= res["dev"] <= 1.0)
        self.assertTrue(0.0 <= res["dev_words_shuffled"] <= 1.0)
        model, vocab, extra = C.load_checkpoint(os.path.join(out, "best.pt"))
        self.assertEqual(model.config.task, "sst2")
        self.assertEqual(extra["task"], "sst2")
        for dt in ("f32", "i8"):
            p = os.path.join(exp, f"sst2.{dt}.safetensors")
            self.assertGreater(os.path.getsize(p), 1000)

    def test_min_words_keeps_long_examples(self):
        long_ones = sum(1 for a, _, _ in read_task("sst2", "train") if len(a.split()) >= 15)
        res = FT.main(["--task", "sst2", "--init", "random", "--out", os.path.join(self.tmp, "long"),
                       "--min-words", "15", "--heldout", "32", "--dev-limit", "8", "--max-steps", "2",
                       "--eval-every", "2"] + TINY)
        self.assertEqual(res["train_examples"], long_ones - 32)

    def test_pretrained_encoder_loads(self):
        # an encoder checkpoint as pretrain.py writes it -> the classifier model starts from it
        cfg = P.M.ModelConfig.dense(2, 32, 2, 64)
        mlm = P.MLMModel(cfg)
        path = os.path.join(self.tmp, "encoder.pt")
        P.export_encoder(path, mlm, None, 0, type("A", (), {})())
        args = type("A", (), {"init": path, "seed": 0})()
        model = FT.build_model(args, "mrpc", 30522)
        self.assertEqual(model.config.labels, ["not_equivalent", "equivalent"])
        for k, v in mlm.encoder.state_dict().items():
            if not k.startswith("classifier."):
                self.assertTrue(torch.equal(v, model.state_dict()[k]), k)

    def test_frozen_word_embeddings_stay(self):
        cfg = P.M.ModelConfig.dense(2, 32, 2, 64)
        torch.manual_seed(0)
        mlm = P.MLMModel(cfg)
        enc = os.path.join(self.tmp, "encoder_frozen.pt")
        P.export_encoder(enc, mlm, None, 0, type("A", (), {})())
        out = os.path.join(self.tmp, "frozen")
        FT.main(["--task", "sst2", "--init", enc, "--out", out, "--train-limit", "64", "--heldout", "32",
                 "--dev-limit", "16", "--batch", "16", "--max-steps", "8", "--eval-every", "4",
                 "--lr", "5e-3", "--freeze-word-embeddings", "--threads", "1", "--no-progress"])
        model, _, _ = C.load_checkpoint(os.path.join(out, "best.pt"))
        before = mlm.encoder.embeddings.word_embeddings.weight
        self.assertTrue(torch.equal(model.embeddings.word_embeddings.weight, before))
        # ...while the rest trained
        self.assertFalse(torch.equal(model.embeddings.position_embeddings.weight,
                                     mlm.encoder.embeddings.position_embeddings.weight))

    def test_pack_unpack_round_trip(self):
        # a teacher carried off a device machine: bf16 pieces + manifest -> float32 checkpoint
        cfg = P.M.ModelConfig.dense(2, 32, 2, 64, labels=["negative", "positive"], task="sst2")
        torch.manual_seed(0)
        model = P.M.InforCoefModel(cfg)
        src = os.path.join(self.tmp, "teacher.pt")
        C.save_checkpoint(src, model, ["[PAD]"], task="sst2")
        packed = os.path.join(self.tmp, "packed")
        manifest = C.pack(src, packed, piece_bytes=100_000)
        parts = json.load(open(manifest))["parts"]
        self.assertGreater(len(parts), 1)
        self.assertTrue(all(os.path.getsize(os.path.join(packed, p)) <= 100_000 for p in parts))
        dst = os.path.join(self.tmp, "unpacked.pt")
        C.unpack(manifest, dst)
        back, vocab, extra = C.load_checkpoint(dst)
        self.assertEqual((vocab, extra["task"], back.config.labels), (["[PAD]"], "sst2", cfg.labels))
        for k, v in model.state_dict().items():
            w = back.state_dict()[k]
            self.assertEqual(w.dtype, v.dtype, k)
            # bf16 keeps 8 significant bits: relative error <= 2^-8
            self.assertTrue(torch.all((w - v).abs() <= v.abs() * 2 ** -8 + 1e-12), k)
        # a damaged piece is refused, not loaded
        with open(os.path.join(packed, parts[0]), "r+b") as f:
            f.seek(50)
            b = f.read(1)[0]
            f.seek(50)
            f.write(bytes([b ^ 0xFF]))
        with self.assertRaisesRegex(ValueError, "do not match the manifest"):
            C.unpack(manifest, dst)


class TestSoup(unittest.TestCase):
    def test_uniform_soup_is_the_mean(self):
        cfg = P.M.ModelConfig.dense(2, 32, 2, 64, labels=["negative", "positive"], task="sst2")
        models = []
        for seed in range(3):
            torch.manual_seed(seed)
            models.append(P.M.InforCoefModel(cfg))
        soup = SOUP.uniform_soup(models)
        for k, v in soup.state_dict().items():
            want = sum(m.state_dict()[k].float() for m in models) / 3
            self.assertTrue(torch.allclose(v.float(), want, atol=1e-6), k)
        # a soup of one model's copies is that model: same logits
        ids = torch.tensor([[101, 2009, 2573, 102]])
        one = SOUP.uniform_soup([models[0], models[0]]).eval()
        types, mask = torch.zeros_like(ids), torch.ones_like(ids)
        self.assertTrue(torch.allclose(one(ids, types, mask).logits, models[0].eval()(ids, types, mask).logits))
        # another shape is refused, not averaged
        other = P.M.InforCoefModel(P.M.ModelConfig.dense(2, 32, 2, 128, labels=cfg.labels, task="sst2"))
        with self.assertRaisesRegex(ValueError, "different config"):
            SOUP.uniform_soup([models[0], other])


class TestOrderProbe(unittest.TestCase):
    def test_shuffle_keeps_words_and_specials(self):
        # [CLS] un ##believ ##able film [SEP] it works [SEP]: words move as a whole, inside their
        # own segment; specials, types and label stay.
        CLS, SEP, UN, BELIEV, ABLE, FILM, IT, WORKS = 101, 102, 4895, 100, 3085, 2143, 2009, 2573
        ids = [CLS, UN, BELIEV, ABLE, FILM, SEP, IT, WORKS, SEP]
        types = [0, 0, 0, 0, 0, 0, 1, 1, 1]
        seen = set()
        for k in range(40):
            out, t, y = OP.shuffle_words((ids, types, 1), {BELIEV, ABLE}, {CLS, SEP}, random.Random(k))
            self.assertEqual((t, y, len(out)), (types, 1, len(ids)))
            self.assertEqual([out[0], out[5], out[8]], [CLS, SEP, SEP])
            first = out[1:5]
            self.assertIn(first, ([UN, BELIEV, ABLE, FILM], [FILM, UN, BELIEV, ABLE]))
            self.assertEqual(sorted(out[6:8]), sorted([IT, WORKS]))
            seen.add((tuple(first), tuple(out[6:8])))
        self.assertEqual(len(seen), 4)  # every order of both segments occurs

    def test_probe_sees_an_order_blind_model(self):
        # A model whose logits depend only on the set of tokens scores the same shuffled.
        class Bag(torch.nn.Module):
            def forward(self, ids, types, mask, compact=False):
                s = ((ids % 7 == 3).float() * mask).sum(1)
                return type("O", (), {"logits": torch.stack([s - 0.5, -s + 0.5], 1)})()
        tok = type("T", (), {"vocab": ["[PAD]"] * 3000, "cls_id": 101, "sep_id": 102})()
        rng = random.Random(0)
        ex = [([101] + [rng.randrange(1000, 2000) for _ in range(8)] + [102], [0] * 10, rng.randrange(2))
              for _ in range(50)]
        rt = type("R", (), {"device": "cpu", "autocast": staticmethod(lambda: torch.autocast("cpu", enabled=False))})()
        real = FT.accuracy(FT.predict(Bag(), ex, rt)[0], [x[2] for x in ex])
        mixed = OP.shuffled_metric(Bag(), ex, tok, rt, FT.accuracy, shuffles=2)
        self.assertAlmostEqual(real, mixed)


if __name__ == "__main__":
    unittest.main()
