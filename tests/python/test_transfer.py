"""Distillation through a transfer set: train/cnn.py (the n-gram CNN teacher), train/transfer.py
(IMDb sentences scored by an ensemble) and train.finetune --transfer (soft targets)."""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

import torch

from train import cnn as CNN
from train import finetune as FT
from train import transfer as TR
from train import checkpoint as C
from train import model as M

TINY = ["--layers", "2", "--hidden", "32", "--heads", "2", "--ffn", "64", "--threads", "1",
        "--no-progress"]


class TestSentences(unittest.TestCase):
    def test_review_sentences(self):
        text = ("Great film.<br /><br />I loved every minute of it! Why did it end so soon? "
                "Too short. Ok then.")
        self.assertEqual(TR.review_sentences(text, min_words=3, max_words=40),
                         ["I loved every minute of it!", "Why did it end so soon?"])
        self.assertEqual(TR.review_sentences(text, min_words=1, max_words=2),
                         ["Great film.", "Too short.", "Ok then."])

    def test_imdb_sentences_distinct_and_bounded(self):
        s = TR.imdb_sentences(300, seed=1, min_words=5, max_words=12)
        self.assertEqual(len(s), 300)
        self.assertEqual(len({x.lower() for x in s}), 300)
        self.assertTrue(all(5 <= len(x.split()) <= 12 for x in s))
        self.assertEqual(s, TR.imdb_sentences(300, seed=1, min_words=5, max_words=12))


class TestTransferFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test_transfer_")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, text):
        p = os.path.join(self.tmp, "t.tsv")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def test_read_and_refuse(self):
        sents, probs, labels = TR.read_transfer(self.write(
            "sentence\tp_negative\tp_positive\na fine film\t0.2\t0.8\nawful\t0.9\t0.1\n"))
        self.assertEqual(sents, ["a fine film", "awful"])
        self.assertEqual(labels, ["negative", "positive"])
        self.assertTrue(torch.allclose(probs, torch.tensor([[0.2, 0.8], [0.9, 0.1]])))
        with self.assertRaises(ValueError):
            TR.read_transfer(self.write("text\tlabel\nfoo\t1\n"))        # foreign TSV
        with self.assertRaises(ValueError):
            TR.read_transfer(self.write("sentence\tp_a\tp_b\nfoo\t0.7\t0.7\n"))  # not a distribution
        for bad in ("", "\nsentence\tp_a\n",                              # empty, blank first line
                    "sentence\tp_a\tp_b\nfoo\t0.5\n",                    # a probability missing
                    "sentence\tp_a\tp_b\nfoo\t0.5\tnope\n",              # not a number
                    "sentence\tp_a\tp_b\nfoo\t-0.5\t1.5\n",              # sums to 1, not probabilities
                    "sentence\tp_a\tp_b\nfoo\tnan\t1\n"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                TR.read_transfer(self.write(bad))

    def test_finetune_trains_on_soft_targets(self):
        # Transfer sentences all say "positive" with p = 0.9; a model that trains mostly on them
        # must move its positive probability towards 0.9 on them.
        rows = "".join(f"this sentence number {i} is here\t0.1\t0.9\n" for i in range(96))
        path = self.write("sentence\tp_negative\tp_positive\n" + rows)
        out = os.path.join(self.tmp, "ft")
        res = FT.main(["--task", "sst2", "--init", "random", "--out", out, "--train-limit", "8",
                       "--heldout", "16", "--dev-limit", "8", "--batch", "16", "--max-steps", "60",
                       "--eval-every", "60", "--lr", "3e-3", "--transfer", path] + TINY)
        self.assertEqual(res["train_examples"], 8)
        self.assertEqual(res["transfer_examples"], 96)
        model = C.load_checkpoint(os.path.join(out, "best.pt"))[0]
        from train.data import encode_examples, load_tokenizer
        ex = encode_examples(load_tokenizer(), [("this sentence number 7 is here", None, 1)], 128)
        rt = type("R", (), {"device": "cpu", "autocast": staticmethod(lambda: torch.autocast("cpu", enabled=False))})()
        p = torch.softmax(FT.predict(model, ex, rt)[1], -1)[0, 1].item()
        self.assertGreater(p, 0.75)
        self.assertLess(p, 0.99)  # soft targets: not pushed to certainty as a hard label would be

    def test_bilstm_trains_on_soft_targets(self):
        # train.cnn --transfer: the same soft targets as train.finetune's (train.transfer.with_transfer).
        rows = "".join(f"this sentence number {i} is here\t0.1\t0.9\n" for i in range(96))
        path = self.write("sentence\tp_negative\tp_positive\n" + rows)
        out = os.path.join(self.tmp, "lstm")
        res = CNN.main(["--arch", "bilstm", "--out", out, "--train-limit", "8", "--heldout", "16",
                        "--dev-limit", "8", "--epochs", "60", "--patience", "1000", "--lr", "3e-3",
                        "--transfer", path, "--transfer-limit", "90"])
        self.assertEqual((res["train_examples"], res["transfer_examples"]), (8, 90))
        model = CNN.load_cnn(os.path.join(out, "model.pt"))
        from train.data import encode_examples, load_tokenizer
        ex = encode_examples(load_tokenizer(), [("this sentence number 7 is here", None, 1)], 128)
        p = torch.softmax(CNN.predict(model, ex)[1], -1)[0, 1].item()
        self.assertGreater(p, 0.75)
        self.assertLess(p, 0.99)
        with self.assertRaises(SystemExit):  # a set labelled for other labels
            CNN.main(["--arch", "bilstm", "--out", out, "--train-limit", "8", "--transfer",
                      self.write("sentence\tp_a\tp_b\nfoo\t0.5\t0.5\n")])


class TestCombine(unittest.TestCase):
    """train.transfer --combine: sets labelled separately over the same sentences average into the
    set that one run with all their models writes."""

    def test_combine_equals_one_run(self):
        from train.data import load_tokenizer
        tmp = tempfile.mkdtemp(prefix="test_combine_")
        try:
            v = len(load_tokenizer().vocab)
            torch.manual_seed(0)
            paths = []
            for i, m in enumerate([CNN.KimCNN(v, ["negative", "positive"], "sst2", dim=8, filters=4),
                                   CNN.BiLSTM(v, ["negative", "positive"], "sst2", dim=8, hidden=4)]):
                paths.append(os.path.join(tmp, f"m{i}.pt"))
                CNN.save_cnn(paths[-1], m.eval())
            run = lambda out, *args: TR.main(["--out", os.path.join(tmp, out), "--sentences", "40",
                                              "--threads", "1", *args])
            with contextlib.redirect_stderr(io.StringIO()):
                both = run("both.tsv", "--weights", "3,1", *paths)
                run("a.tsv", paths[0])
                run("b.tsv", paths[1])
                run("b_other.tsv", "--seed", "1", paths[1])
                combined = run("ab.tsv", "--combine", "--weights", "3,1", os.path.join(tmp, "a.tsv"),
                               os.path.join(tmp, "b.tsv"))
                with self.assertRaisesRegex(ValueError, "other sentences"):
                    run("bad.tsv", "--combine", os.path.join(tmp, "a.tsv"), os.path.join(tmp, "b_other.tsv"))
            s1, p1, l1 = TR.read_transfer(os.path.join(tmp, "both.tsv"))
            s2, p2, l2 = TR.read_transfer(os.path.join(tmp, "ab.tsv"))
            self.assertEqual((s1, l1), (s2, l2))
            self.assertTrue(torch.allclose(p1, p2, atol=2e-5))  # two 5-decimal roundings
            self.assertEqual(combined["ensemble_dev"], both["ensemble_dev"])
            self.assertEqual([(t["path"], t["weight"]) for t in combined["teachers"]],
                             [(t["path"], t["weight"]) for t in both["teachers"]])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class TestModelFileTeacher(unittest.TestCase):
    """A teacher's model file (models/teachers/*.safetensors) labels sentences and starts a fine-tune;
    a vocabulary-pruned one (a compressed model's) is refused."""

    def setUp(self):
        from train.data import load_tokenizer
        from train.model_file import save_model
        self.tmp = tempfile.mkdtemp(prefix="test_mf_teacher_")
        self.vocab = list(load_tokenizer().vocab)
        cfg = M.ModelConfig.dense(1, 16, 2, 32, vocab_size=len(self.vocab), labels=["negative", "positive"],
                                  task="sst2")
        torch.manual_seed(0)
        self.model = M.InforCoefModel(cfg).eval()
        self.full = os.path.join(self.tmp, "full.safetensors")
        save_model(self.full, self.model, self.vocab, "f32")
        cfg_small = M.ModelConfig.dense(1, 16, 2, 32, vocab_size=200, labels=["negative", "positive"], task="sst2")
        self.pruned = os.path.join(self.tmp, "pruned.safetensors")
        save_model(self.pruned, M.InforCoefModel(cfg_small).eval(), self.vocab[:200], "f32")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_labels_as_the_model(self):
        teacher, task, fn = TR.load_teacher(self.full)
        self.assertEqual((task, fn), ("sst2", FT.predict))
        rt = type("R", (), {"device": "cpu", "autocast": staticmethod(lambda: torch.autocast("cpu", enabled=False))})()
        ex = [([101, 2023, 3185, 2003, 2204, 102], [0] * 6, 1)]
        self.assertTrue(torch.allclose(FT.predict(teacher, ex, rt)[1], FT.predict(self.model, ex, rt)[1], atol=1e-6))
        with self.assertRaisesRegex(ValueError, "vocabulary"):
            TR.load_teacher(self.pruned)

    def test_starts_a_finetune(self):
        out = os.path.join(self.tmp, "ft")
        res = FT.main(["--task", "sst2", "--init", self.full, "--out", out, "--train-limit", "16", "--heldout", "8",
                       "--dev-limit", "8", "--batch", "8", "--max-steps", "2", "--threads", "1", "--no-progress"])
        self.assertEqual(res["steps"], 2)
        tuned = C.load_checkpoint(os.path.join(out, "best.pt"))[0]
        self.assertEqual(tuned.config.hidden_size, 16)
        # it started from the file's weights: two small steps leave them close (a fresh init would not be)
        w, w0 = tuned.embeddings.word_embeddings.weight, self.model.embeddings.word_embeddings.weight
        self.assertLess((w - w0).abs().max().item(), 1e-2)
        with self.assertRaisesRegex(ValueError, "vocabulary"):
            FT.main(["--task", "sst2", "--init", self.pruned, "--out", out, "--max-steps", "1", "--no-progress"])


def tiny_word_models():
    """One small model of each train.cnn architecture."""
    torch.manual_seed(0)
    return [CNN.KimCNN(200, ["negative", "positive"], "sst2", dim=16, filters=8).eval(),
            CNN.BiLSTM(200, ["negative", "positive"], "sst2", dim=16, hidden=8).eval(),
            CNN.BiLSTM(200, ["negative", "positive"], "sst2", dim=16, hidden=12, layers=2).eval()]


class TestEnsemble(unittest.TestCase):
    def test_weighted_mean_of_probabilities(self):
        # two "teachers" whose predict functions return fixed logits for 3 examples
        logits = [torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), torch.tensor([[0.0, 3.0], [1.0, 0.0], [0.0, 0.0]])]
        teachers = [(torch.nn.Linear(1, 1), lambda m, ex, rt, lg=lg: (lg.argmax(-1).numpy(), lg)) for lg in logits]
        rt = type("Rt", (), {"device": "cpu"})()
        p = [torch.softmax(lg, -1) for lg in logits]
        self.assertTrue(torch.allclose(TR.ensemble_probs(teachers, [None] * 3, rt), (p[0] + p[1]) / 2))
        got = TR.ensemble_probs(teachers, [None] * 3, rt, TR.mean_weights([3, 1], 2))
        self.assertTrue(torch.allclose(got, 0.75 * p[0] + 0.25 * p[1]))
        self.assertTrue(torch.allclose(got.sum(-1), torch.ones(3)))
        self.assertEqual(TR.mean_weights(None, 4), [0.25] * 4)
        for bad in ([1], [1, -1], [0, 0], [float("nan"), 1], [float("inf"), 1]):
            with self.assertRaises(ValueError, msg=repr(bad)):
                TR.mean_weights(bad, 2)


class TestCNN(unittest.TestCase):
    def test_padding_does_not_change_logits(self):
        short = ([101, 5, 6, 7, 102], [0] * 5, 0)
        long = ([101] + list(range(10, 40)) + [102], [0] * 32, 1)
        for m in tiny_word_models():
            alone = CNN.predict(m, [short])[1]
            padded = CNN.predict(m, [short, long])[1][:1]
            self.assertTrue(torch.allclose(alone, padded, atol=1e-6), (m.KIND, alone, padded))

    def test_bilstm_reads_order(self):
        # The same words in another order give other logits (a bag of words would not).
        m = tiny_word_models()[1]
        a = CNN.predict(m, [([101, 5, 6, 7, 8, 102], [0] * 6, 0)])[1]
        b = CNN.predict(m, [([101, 8, 7, 6, 5, 102], [0] * 6, 0)])[1]
        self.assertFalse(torch.allclose(a, b, atol=1e-4))

    def test_save_load_and_refuse_other_files(self):
        tmp = tempfile.mkdtemp(prefix="test_cnn_")
        try:
            for m in tiny_word_models():
                p = os.path.join(tmp, "m.pt")
                CNN.save_cnn(p, m)
                back = CNN.load_cnn(p)
                self.assertIs(type(back), type(m))
                x = [([101, 5, 6, 7, 8, 102], [0] * 6, 0)]
                self.assertTrue(torch.equal(CNN.predict(m, x)[1], CNN.predict(back, x)[1]))
                teacher, task, fn = TR.load_teacher(p)
                self.assertEqual((task, fn), ("sst2", CNN.predict))
                blob = torch.load(p)
                for damage in (lambda b: b.pop("config"), lambda b: b["config"].update(nope=1),
                               lambda b: b["config"].update(dim=7), lambda b: b["state"].popitem()):
                    bad = {**blob, "config": dict(blob["config"]), "state": dict(blob["state"])}
                    damage(bad)
                    with self.assertRaises(ValueError):
                        CNN.load_cnn(p, bad)
            q = os.path.join(tmp, "other.pt")
            cfg = M.ModelConfig.dense(1, 16, 2, 32, vocab_size=200, labels=["a", "b"], task="sst2")
            C.save_checkpoint(q, M.InforCoefModel(cfg))
            with self.assertRaises(ValueError):
                CNN.load_cnn(q)
            self.assertEqual(TR.load_teacher(q)[2], FT.predict)
            # A BiLSTM saved before --layers existed has no "layers" in its config: it is one layer.
            old = tiny_word_models()[1]
            blob = {"kind": old.KIND, "config": {k: v for k, v in old.config.items() if k != "layers"},
                    "state": old.state_dict()}
            self.assertEqual(CNN.load_cnn(q, blob).lstm.num_layers, 1)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_cnn_learns(self):
        tmp = tempfile.mkdtemp(prefix="test_cnn_")
        try:
            res = CNN.main(["--out", tmp, "--train-limit", "4000", "--heldout", "200", "--dev-limit", "200",
                            "--epochs", "2", "--seed", "0"])
            with open(os.path.join(tmp, "log.jsonl")) as f:
                log = [json.loads(l) for l in f]
            self.assertLess(log[-1]["train_loss"], log[0]["train_loss"])
            self.assertGreater(res["dev"], 0.65)  # 0.725 here: GloVe rows make 4,000 phrases enough to beat chance
            self.assertTrue(os.path.exists(os.path.join(tmp, "model.pt")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_bilstm_learns(self):
        tmp = tempfile.mkdtemp(prefix="test_lstm_")
        try:
            res = CNN.main(["--arch", "bilstm", "--out", tmp, "--train-limit", "4000", "--heldout", "200",
                            "--dev-limit", "200", "--epochs", "2", "--seed", "0"])
            with open(os.path.join(tmp, "log.jsonl")) as f:
                log = [json.loads(l) for l in f]
            self.assertLess(log[-1]["train_loss"], log[0]["train_loss"])
            self.assertGreater(res["dev"], 0.65)
            self.assertIsInstance(CNN.load_cnn(os.path.join(tmp, "model.pt")), CNN.BiLSTM)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_bilstm_shape_flags(self):
        tmp = tempfile.mkdtemp(prefix="test_lstm_")
        try:
            CNN.main(["--arch", "bilstm", "--hidden", "16", "--layers", "2", "--out", tmp, "--train-limit", "300",
                      "--heldout", "50", "--dev-limit", "50", "--epochs", "1", "--seed", "0"])
            m = CNN.load_cnn(os.path.join(tmp, "model.pt"))
            self.assertEqual((m.lstm.hidden_size, m.lstm.num_layers, m.out.in_features), (16, 2, 32))
            for bad in (["--hidden", "64"], ["--arch", "bilstm", "--layers", "0"]):  # a CNN has no LSTM
                with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
                    CNN.main(["--out", tmp] + bad)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
