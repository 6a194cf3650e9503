"""train/pipeline.py end to end on a tiny random teacher and a slice of SST-2: every stage runs,
writes its result, the exported I8/F32 files load and classify, and a rerun resumes (skips)."""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

import torch

from train import data
from train.model import InforCoefModel, ModelConfig
from train.model_file import load_model, save_model
from train import pipeline

torch.set_num_threads(1)

ARGS = ["--task", "sst2", "--train-limit", "120", "--dev-limit", "40", "--heldout", "30",
        "--sparsity", "0.5", "--flops-target", "0.4", "--compare-skim",
        "--prune-steps", "12", "--prune-warmup-steps", "4", "--prune-finetune-steps", "4",
        "--prune-eval-every", "4", "--prune-log-every", "4",
        "--skim-steps", "8", "--skim-epoch-steps", "2", "--skim-eval-every", "0",
        "--skim-log-every", "4", "--quiet"]


def lines(path):
    with open(path) as f:
        return f.read().splitlines()


class PipelineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        torch.manual_seed(0)
        cfg = ModelConfig.dense(num_layers=2, hidden=32, heads=4, ffn=64, vocab_size=30522,
                                max_position=128, labels=["negative", "positive"])
        cls.teacher = os.path.join(cls.dir, "teacher.safetensors")
        save_model(cls.teacher, InforCoefModel(cfg).eval(), data.load_tokenizer().vocab)
        cls.out = os.path.join(cls.dir, "run")
        cls.ship = os.path.join(cls.dir, "shipped.safetensors")
        cls.results = pipeline.main(ARGS + ["--teacher", cls.teacher, "--out", cls.out,
                                            "--ship", cls.ship])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_every_stage_wrote_its_result(self):
        for rel in ("teacher.json", "stage1/model.pt", "stage1/report.json", "ib/model.pt",
                    "ib/report.json", "skim/report.json", "sweep.json", "sweep.png",
                    "export/sst2.i8.safetensors", "export/sst2.f32.safetensors", "results.json"):
            self.assertTrue(os.path.exists(os.path.join(self.out, rel)), rel)
        r = self.results
        for row in ("teacher", "stage1", "ib", "skim"):
            self.assertEqual(r[row]["n"], 40)
        self.assertLess(r["stage1"]["flops_ratio"], 1.0)

    def test_shipped_file_is_self_contained_and_smaller(self):
        m, vocab, mf = load_model(self.ship)
        self.assertEqual(m.config.task, "sst2")
        self.assertTrue(any(l.sampler for l in m.config.layers))
        self.assertLess(len(vocab), 30522)               # vocabulary pruned to what SST-2 uses
        self.assertIn("[CLS]", vocab)
        self.assertIn("##s", vocab)
        f32 = os.path.getsize(os.path.join(self.out, "export", "sst2.f32.safetensors"))
        self.assertLess(os.path.getsize(self.ship), f32)
        ids = torch.tensor([[vocab.index("[CLS]"), vocab.index("[SEP]")]])
        self.assertEqual(tuple(m(ids).logits.shape), (1, 2))

    def test_vocab_budget(self):
        from train.model_file import encode_model
        from train.export import prune_vocab
        teacher, vocab = pipeline.load_teacher(self.teacher)
        tok = data.load_tokenizer()
        ex = data.encode_examples(tok, data.read_task("sst2", "train")[:50], 64)
        base = pipeline.base_vocab_ids(vocab)
        small = len(encode_model(*prune_vocab(teacher, vocab, [vocab[i] for i in base]), "i8"))
        budget = small + 300 * (32 + 4 + 8)
        keep = pipeline.budget_vocab_ids(teacher, vocab, ex, budget, freq_path=None, log=lambda s: None)
        m, v = prune_vocab(teacher, vocab, [vocab[i] for i in keep])
        self.assertLessEqual(len(encode_model(m, v, "i8")), budget)
        self.assertGreater(len(keep), len(base) + 200)
        # The most frequent train token is in; every kept id is a special, a character or used in train.
        used = {i for ids, _, _ in ex for i in ids}
        self.assertTrue(set(keep) <= set(base) | used)
        self.assertIn(tok.token_to_id["the"], keep)
        # i4 (4-bit tables): the same budget holds more of the vocabulary, and the file still fits
        keep4 = pipeline.budget_vocab_ids(teacher, vocab, ex, budget, freq_path=None, log=lambda s: None,
                                          dtype="i4")
        m4, v4 = prune_vocab(teacher, vocab, [vocab[i] for i in keep4])
        self.assertLessEqual(len(encode_model(m4, v4, "i4")), budget)
        self.assertGreater(len(keep4), len(keep))

    def test_rerun_resumes_and_force_redoes(self):
        log = os.path.join(self.out, "log.txt")
        before = os.path.getmtime(os.path.join(self.out, "stage1", "model.pt"))
        n = len(lines(log))
        pipeline.main(ARGS + ["--teacher", self.teacher, "--out", self.out])
        new = lines(log)[n:]
        self.assertFalse(any("prune {" in l or "skim {" in l for l in new), new)
        self.assertEqual(before, os.path.getmtime(os.path.join(self.out, "stage1", "model.pt")))
        pipeline.main(ARGS + ["--teacher", self.teacher, "--out", self.out, "--force", "ib"])
        new = lines(log)[n:]
        self.assertTrue(any("skim {" in l for l in new))
        self.assertEqual(before, os.path.getmtime(os.path.join(self.out, "stage1", "model.pt")))

    def test_distill_sentences_in_stage1(self):
        # Unlabelled IMDb sentences join stage 1 (pure distillation); the other stages are unchanged.
        tok = data.load_tokenizer()
        ex = pipeline.distill_sentences(tok, 6, 0, 64)
        self.assertEqual(len(ex), 6)
        self.assertEqual(len({tuple(ids) for ids, _, _ in ex}), 6)
        for ids, types, label in ex:
            cls_sep = (tok.token_to_id["[CLS]"], tok.token_to_id["[SEP]"])
            self.assertEqual((ids[0], ids[-1], set(types), label), cls_sep + ({0}, -1))  # -1: no label
        out = os.path.join(self.dir, "run_sentences")
        shutil.copytree(self.out, out)
        pipeline.main(ARGS + ["--teacher", self.teacher, "--out", out, "--force", "stage1",
                              "--distill-sentences", "20"])
        with open(os.path.join(out, "stage1", "report.json")) as f:
            self.assertEqual(json.load(f)["distill_sentences"], 20)
        self.assertTrue(any("and 20 IMDb sentences" in l for l in lines(os.path.join(out, "log.txt"))))
        for bad in (["--task", "mrpc", "--distill-sentences", "10"], ["--task", "sst2", "--distill-sentences", "-1"],
                    ["--task", "sst2", "--distill-stage2"]):
            with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
                pipeline.main(["--teacher", self.teacher, "--out", out, "--quiet"] + bad)
            self.assertIn("--distill-sentences", err.getvalue())


class RuntimeAgreementTest(unittest.TestCase):
    """The export's wasm-vs-torch check keeps one answer per input when texts hold characters
    that end a line for node's readline (\r) or for Python's str.splitlines (U+0085, U+2028),
    as IMDb reviews do."""

    def test_line_breaking_characters(self):
        if not shutil.which("node"):
            self.skipTest("node missing")
        torch.manual_seed(0)
        cfg = ModelConfig.dense(num_layers=1, hidden=32, heads=2, ffn=64, vocab_size=30522,
                                max_position=64, labels=["negative", "positive"])
        model = InforCoefModel(cfg).eval()
        tok = data.load_tokenizer()
        texts = ["a fine\x85film", "one\rtwo", "bad \u2028 plot", "plain text", "x\r\ny"]
        ex = [(t, None, 0) for t in texts]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.safetensors")
            save_model(path, model, tok.vocab)
            from train.distill import evaluate
            r = evaluate(model, data.encode_examples(tok, ex, 64), "sst2")
            got = pipeline.runtime_agreement(path, cfg.labels, ex, torch.softmax(r["logits"], -1),
                                             log=lambda s: None)
        self.assertEqual(got.get("n"), len(texts), got)
        self.assertEqual(got["same_labels"], 1.0)
        self.assertLess(got["max_prob_diff"], 1e-4)


class DevSampleTest(unittest.TestCase):
    """--dev-sample: a seeded random sample of dev, the same one train.finetune --dev-sample takes
    (IMDb's test reviews are sorted by label: a prefix would hold one class only)."""

    def test_sample_is_seeded_random_and_not_a_prefix(self):
        import random
        full = data.read_task("sst2", "dev")
        a = data.read_dev("sst2", 0, None, 50)
        self.assertEqual(a, data.read_dev("sst2", 0, None, 50))      # deterministic
        self.assertEqual(a, random.Random(1).sample(full, 50))           # finetune's sample
        self.assertNotEqual(a, full[:50])
        self.assertNotEqual(a, data.read_dev("sst2", 1, None, 50))   # follows --seed
        self.assertEqual(len({(x[0], x[1]) for x in a}), 50)              # no repeats
        self.assertEqual(data.read_dev("sst2", 0, None, 0), full)
        self.assertEqual(data.read_dev("sst2", 0, 10, 50), full[:10])  # limit first, then sample

    def test_imdb_sample_holds_both_labels(self):
        labels = [x[2] for x in data.read_dev("imdb", 0, None, 100)]
        self.assertEqual(len(labels), 100)
        self.assertGreater(min(sum(labels), 100 - sum(labels)), 25)


if __name__ == "__main__":
    unittest.main()
