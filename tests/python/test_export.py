"""Export -> read back -> same eval outputs; Hugging Face loading; vocab pruning; the CLI."""
import contextlib
import io
import json
import os
import tempfile
import unittest

import numpy as np
import torch

from train import flops as flops_lib
from train import model_file
from train import safetensors_io as st
from train.checkpoint import load_checkpoint, save_checkpoint
from train.export import export, main as export_main, prune_vocab
from train.hf_load import load_hf_bert, to_hf_state_dict
from train.model import InforCoefModel, LayerShape, MLMHead, ModelConfig
from tests.python.test_model import random_model

torch.set_num_threads(1)


def pruned_sampled_config():
    return ModelConfig(hidden_size=24, head_size=8, vocab_size=40, max_position=32,
                       labels=["a", "b", "c"], keep_threshold=0.0,
                       layers=[LayerShape(3, 40, False), LayerShape(2, 0, True), LayerShape(0, 16, True)])


def vocab_of(n):
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(n - 5)]


class TestExportRoundTrip(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.model = random_model(pruned_sampled_config(), seed=11)
        self.vocab = vocab_of(40)
        torch.manual_seed(12)
        self.ids = torch.randint(5, 40, (4, 25))
        self.ids[:, 0] = 2

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_f32_exact(self):
        model_file.save_model(self.path("m.safetensors"), self.model, self.vocab, "f32")
        back, vocab, mf = model_file.load_model(self.path("m.safetensors"))
        self.assertEqual(vocab, self.vocab)
        self.assertEqual(back.config, self.model.config)
        for k, v in self.model.state_dict().items():
            self.assertTrue(torch.equal(v, back.state_dict()[k]), k)
        a, b = self.model(self.ids), back(self.ids)
        self.assertTrue(torch.equal(a.logits, b.logits))
        self.assertTrue(torch.equal(a.kept, b.kept))
        self.assertTrue(torch.equal(a.flops, b.flops))
        self.assertTrue(torch.any(a.kept[:, 2] < 25), "samplers should drop tokens here")

    def test_f16_i8_and_i4_close(self):
        ref = self.model(self.ids, threshold=-1e30).logits
        # i4: random Gaussian embeddings are hard on 4 bits (0.38 here on logits of 0.1-0.8); a
        # trained model's dev accuracy moved less (models/README.md, "4-bit embedding tables")
        for dt, tol in (("f16", 5e-3), ("i8", 0.1), ("i4", 0.5)):
            n = model_file.save_model(self.path(f"m.{dt}"), self.model, self.vocab, dt)
            back, _, mf = model_file.load_model(self.path(f"m.{dt}"))
            self.assertTrue(all(v == "F32" for k, v in mf.dtypes.items()
                                if k.endswith("_scale") or k.endswith("bias") or "LayerNorm" in k or ".ln" in k))
            want = {"f16": "F16", "i8": "I8", "i4": "I8"}[dt]
            self.assertEqual(mf.dtypes["pooler.dense.weight"], want)
            if dt in ("i8", "i4"):
                self.assertEqual(mf.dtypes["pooler.dense.weight_scale"], "F32")
            for table in model_file.I4_TABLES:      # "i4" = "i8" with 4-bit embedding tables
                self.assertEqual(mf.dtypes[table], {"i4": "U8"}.get(dt, want), table)
            out = back(self.ids, threshold=-1e30).logits
            err = float((out - ref).abs().max())
            self.assertLess(err, tol, dt)
            self.assertGreater(err, 0.0, dt)         # really quantised
            smaller_than = {"i8": "m.f16", "i4": "m.i8"}.get(dt)
            if smaller_than:
                self.assertLess(n, os.path.getsize(self.path(smaller_than)), dt)

    def test_i8_quantisation_rule(self):
        w = np.array([[0.5, -1.27, 0.0], [0.0, 0.0, 0.0], [3.0, 1.5, -0.75]], np.float32)
        q, s = model_file.quantize_i8(w)
        np.testing.assert_allclose(s, [1.27 / 127, 1.0, 3.0 / 127], rtol=1e-6)
        self.assertEqual(q.dtype, np.int8)
        self.assertEqual(q[0].tolist(), [50, -127, 0])
        self.assertEqual(q[2].tolist(), [127, 64, -32])    # 63.5 rounds to even, -31.75 -> -32
        np.testing.assert_allclose(model_file.dequantize_i8(q, s), w, atol=s.max() / 2 + 1e-7)

    def test_i4_quantisation_rule(self):
        w = np.array([[0.5, -1.4, 0.0, 0.7, 0.1], [0.0] * 5, [3.5, -0.25, 0.75, 1.25, -3.5]], np.float32)
        q, s = model_file.quantize_i4(w)
        np.testing.assert_allclose(s, [0.2, 1.0, 0.5], rtol=1e-6)
        self.assertEqual((q.dtype, q.shape), (np.uint8, (3, 3)))     # 5 columns -> 3 bytes a row
        # codes row 0: 2.5 -> 2 (half to even), -7, 0, 3.5 -> 4, 0.5 -> 0; two's complement nibbles,
        # the even column low; the pad nibble after the odd last column is 0
        self.assertEqual(q[0].tolist(), [0x2 | 0x9 << 4, 0x0 | 0x4 << 4, 0x0])
        self.assertEqual(q[2].tolist(), [0x7 | 0x0 << 4, 0x2 | 0x2 << 4, 0x9])   # -0.5 -> -0 = 0, -7 = 0x9
        back = model_file.dequantize_i4(q, s, 5)
        np.testing.assert_allclose(back[2], [3.5, 0.0, 1.0, 1.0, -3.5], rtol=1e-6)
        np.testing.assert_array_equal(back[1], np.zeros(5, np.float32))
        np.testing.assert_allclose(back, w, atol=s.max() / 2 + 1e-7)
        # every code, -8 included (the format allows it; the exporter writes -7..7)
        codes = np.arange(-8, 8, dtype=np.int8).view(np.uint8) & 0x0F
        packed = (codes[0::2] | codes[1::2] << 4).astype(np.uint8)[None, :]
        self.assertEqual(model_file.dequantize_i4(packed, [1.0], 16)[0].tolist(), list(range(-8, 8)))

    def test_header_alignment(self):
        data = model_file.encode_model(self.model, self.vocab, "i8")
        header, start = st.parse_header(data)
        self.assertEqual(start % 8, 0)
        for name, info in header.items():
            if name != "__metadata__":
                self.assertEqual(info["data_offsets"][0] % 8, 0, name)
        meta = header["__metadata__"]
        self.assertEqual(meta["format"], "inforcoef")
        self.assertEqual(json.loads(meta["config"])["layers"][2], {"heads": 0, "ffn": 16, "sampler": True})
        self.assertEqual(meta["vocab"].split("\n"), self.vocab)

    def test_teacher_key(self):
        """export(teacher=...) records the teacher's shape in the config; readers get its FLOPs by the
        spec's formula; without it the key is absent; scripts/set_model_teacher.py adds it to an
        existing file by rewriting only the header, giving what the exporter writes."""
        teacher = ModelConfig.dense(2, 32, 4, 64, vocab_size=40, labels=["a", "b", "c"])
        export(self.model, self.vocab, self.path("t.safetensors"), "i8", teacher=teacher)
        export(self.model, self.vocab, self.path("n.safetensors"), "i8")
        with open(self.path("t.safetensors"), "rb") as f:
            with_t = f.read()
        with open(self.path("n.safetensors"), "rb") as f:
            without = f.read()
        conf = json.loads(model_file.decode_model(with_t).metadata["config"])
        self.assertEqual(conf["teacher"], {"hidden_size": 32, "head_size": 8,
                                           "layers": [{"heads": 4, "ffn": 64}, {"heads": 4, "ffn": 64}]})
        tcfg = model_file.teacher_config(conf, conf["labels"])
        # per layer at n = 10: QKV 2*10*32*96 + attention 4*100*32 + output 2*10*32*32 + FFN 4*10*32*64
        per_layer = 61440 + 12800 + 20480 + 81920
        self.assertEqual(flops_lib.dense_flops(tcfg, 10), 2 * per_layer + 2 * 32 * 32 + 2 * 32 * 3)
        self.assertNotIn("teacher", json.loads(model_file.decode_model(without).metadata["config"]))
        for bad in ({"hidden_size": 0, "head_size": 8, "layers": []}, {"hidden_size": 32}, [1, 2], None,
                    {"hidden_size": 32, "head_size": 8, "layers": [{"heads": True, "ffn": 4}]}):
            self.assertIsNone(model_file.teacher_config({"teacher": bad}, ["a"]), bad)

        # header-only rewrite of the file exported without a teacher == the file exported with one
        script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "set_model_teacher.py")
        import importlib.util
        spec = importlib.util.spec_from_file_location("set_model_teacher", script)
        smt = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(smt)
        with contextlib.redirect_stdout(io.StringIO()):
            smt.main([self.path("n.safetensors"), "--dense", "2,32,4,64", "--out", self.path("r.safetensors")])
        with open(self.path("r.safetensors"), "rb") as f:
            rewritten = f.read()
        self.assertEqual(rewritten, with_t)

    def test_vocab_pruning_remaps_rows(self):
        keep = ["w3", "w10", "w7", "not-in-vocab"]
        small, vocab = prune_vocab(self.model, self.vocab, keep)
        self.assertEqual(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "w3", "w7", "w10"])
        self.assertEqual(small.config.vocab_size, 8)
        self.assertEqual(self.model.config.vocab_size, 40)      # the original is untouched
        old = {t: i for i, t in enumerate(self.vocab)}
        ids_old = torch.tensor([[old[t] for t in ["[CLS]", "w7", "w3", "w10", "[SEP]"]]])
        ids_new = torch.tensor([[vocab.index(t) for t in ["[CLS]", "w7", "w3", "w10", "[SEP]"]]])
        torch.testing.assert_close(self.model(ids_old).logits, small(ids_new).logits, rtol=0, atol=0)
        s = export(self.model, self.vocab, self.path("p.safetensors"), "f32", keep_tokens=keep, length=16)
        back, vocab2, _ = model_file.load_model(self.path("p.safetensors"))
        self.assertEqual(vocab2, vocab)
        self.assertEqual(s["vocab_size"], 8)
        self.assertTrue(torch.equal(back(ids_new).logits, small(ids_new).logits))

    def test_cli_from_checkpoint(self):
        ck = self.path("ck.pt")
        save_checkpoint(ck, self.model, self.vocab, step=3)
        m2, v2, extra = load_checkpoint(ck)
        self.assertEqual(extra, {"step": 3})
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = export_main([ck, self.path("cli.safetensors"), "--dtype", "i8", "--length", "16",
                              "--labels", "x,y,z", "--task", "demo", "--threshold", "0.25"])
        self.assertEqual(rc, 0)
        text = buf.getvalue()
        self.assertIn("parameters", text)
        self.assertIn("bytes", text)
        from train.flops import dense_flops
        self.assertIn(f"{dense_flops(self.model.config, 16):,}", text)
        back, _, mf = model_file.load_model(self.path("cli.safetensors"))
        self.assertEqual(back.config.labels, ["x", "y", "z"])
        self.assertEqual(back.config.keep_threshold, 0.25)
        self.assertEqual(back.config.task, "demo")
        self.assertIn(f"{os.path.getsize(self.path('cli.safetensors')):,}", text)
        # re-export a model file with another dtype
        with contextlib.redirect_stdout(io.StringIO()):
            export_main([self.path("cli.safetensors"), self.path("cli16.safetensors"), "--dtype", "f16"])
        again, _, mf16 = model_file.load_model(self.path("cli16.safetensors"))
        self.assertEqual(mf16.dtypes["classifier.weight"], "F16")


class TestHFLoading(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        cfg = ModelConfig.dense(2, 32, 4, 64, vocab_size=30, max_position=20, labels=["neg", "pos"],
                                layer_norm_eps=1e-12)
        self.model = random_model(cfg, seed=21)
        self.mlm = MLMHead(cfg, self.model.embeddings.word_embeddings)
        with torch.no_grad():
            for p in self.mlm.parameters():
                p.normal_(0, 0.3)
        self.ids = torch.randint(0, 30, (2, 12))

    def tearDown(self):
        self.tmp.cleanup()

    def hf_dir(self, sd, kind):
        d = os.path.join(self.tmp.name, kind)
        os.makedirs(d, exist_ok=True)
        if kind == "bin":
            torch.save(sd, os.path.join(d, "pytorch_model.bin"))
        else:
            arrays = {k: v.numpy() for k, v in sd.items()}
            st.write(os.path.join(d, "model.safetensors"), arrays, {"format": "pt"})
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 2,
                       "layer_norm_eps": 1e-12, "id2label": {"0": "neg", "1": "pos"}}, f)
        with open(os.path.join(d, "vocab.txt"), "w") as f:
            f.write("\n".join(vocab_of(30)) + "\n")
        return d

    def check(self, loaded, mlm=True):
        a = self.model(self.ids).logits
        b = loaded.model.eval()(self.ids).logits
        self.assertTrue(torch.equal(a, b))
        self.assertEqual(loaded.missing, [])
        self.assertEqual(loaded.config.head_size, 8)
        self.assertEqual([(l.heads, l.ffn) for l in loaded.config.layers], [(4, 64), (4, 64)])
        if mlm:
            head = MLMHead(loaded.config, loaded.model.embeddings.word_embeddings)
            head.load_state_dict(loaded.mlm_state)
            seq = self.model.encode(self.ids)
            torch.testing.assert_close(self.mlm(seq), head(loaded.model.encode(self.ids)), rtol=0, atol=0)

    def test_state_dict_with_prefix(self):
        sd = to_hf_state_dict(self.model, mlm_head=self.mlm)
        self.assertIn("bert.encoder.layer.0.attention.self.query.weight", sd)
        self.assertIn("classifier.weight", sd)
        sd["bert.embeddings.position_ids"] = torch.arange(20)[None]
        sd["cls.seq_relationship.weight"] = torch.zeros(2, 32)
        loaded = load_hf_bert(sd, head_size=8)
        self.check(loaded)
        self.assertIn("cls.seq_relationship.weight", loaded.unused)
        self.assertIn("bert.embeddings.position_ids", loaded.unused)

    def test_no_prefix_and_gamma_beta(self):
        sd = to_hf_state_dict(self.model, prefix="", old_layernorm_names=True)
        self.assertIn("encoder.layer.1.output.LayerNorm.gamma", sd)
        self.check(load_hf_bert(sd, head_size=8), mlm=False)

    def test_pytorch_model_bin_dir(self):
        d = self.hf_dir(to_hf_state_dict(self.model, mlm_head=self.mlm), "bin")
        loaded = load_hf_bert(d)
        self.check(loaded)
        self.assertEqual(loaded.vocab, vocab_of(30))
        self.assertEqual(loaded.config.labels, ["neg", "pos"])

    def test_safetensors_file(self):
        sd = to_hf_state_dict(self.model, mlm_head=self.mlm)
        sd["bert.embeddings.position_ids"] = torch.arange(20)[None]     # I64, as HF writes it
        d = self.hf_dir(sd, "st")
        self.check(load_hf_bert(os.path.join(d, "model.safetensors")))

    def test_pretrained_only_checkpoint_gets_fresh_head(self):
        sd = {k: v for k, v in to_hf_state_dict(self.model).items()
              if not k.startswith(("classifier", "bert.pooler"))}
        with self.assertRaisesRegex(ValueError, "head_size"):
            load_hf_bert(sd)      # d=32 with BERT's default head size 64: asks for head_size
        loaded = load_hf_bert(sd, labels=["a", "b", "c"], head_size=8)
        self.assertEqual(sorted(loaded.missing), ["classifier.bias", "classifier.weight",
                                                  "pooler.dense.bias", "pooler.dense.weight"])
        self.assertEqual(loaded.config.num_labels, 3)

    def test_pruned_hf_checkpoint_shapes(self):
        """A CoFi-style HF checkpoint: uneven heads, one attention block gone."""
        cfg = ModelConfig(hidden_size=24, head_size=8, vocab_size=30, max_position=20,
                          layers=[LayerShape(2, 10, False), LayerShape(0, 7, False)])
        m = random_model(cfg, seed=3)
        loaded = load_hf_bert(to_hf_state_dict(m), head_size=8)
        self.assertEqual(loaded.config.layers, cfg.layers)
        self.assertTrue(torch.equal(m(self.ids).logits, loaded.model.eval()(self.ids).logits))

    def test_hf_export_cli(self):
        d = self.hf_dir(to_hf_state_dict(self.model), "bin")
        out = os.path.join(self.tmp.name, "hf.safetensors")
        with contextlib.redirect_stdout(io.StringIO()):
            export_main([d, out, "--dtype", "f32"])
        back, vocab, _ = model_file.load_model(out)
        self.assertEqual(vocab, vocab_of(30))
        self.assertTrue(torch.equal(back(self.ids).logits, self.model(self.ids).logits))

    def test_not_bert(self):
        with self.assertRaisesRegex(ValueError, "not a BERT checkpoint"):
            load_hf_bert({"foo.weight": torch.zeros(2, 2)})


if __name__ == "__main__":
    unittest.main()
