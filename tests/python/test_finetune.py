"""Fine-tuning (train/finetune.py): GLUE metrics, task readers, loss falls on a tiny model, the
pretrained encoder checkpoint loads into the classifier, and export writes a model file."""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import torch

from train import finetune as FT
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
        model, vocab, extra = C.load_checkpoint(os.path.join(out, "best.pt"))
        self.assertEqual(model.config.task, "sst2")
        self.assertEqual(extra["task"], "sst2")
        for dt in ("f32", "i8"):
            p = os.path.join(exp, f"sst2.{dt}.safetensors")
            self.assertGreater(os.path.getsize(p), 1000)

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


if __name__ == "__main__":
    unittest.main()
