"""The model-file reader refuses malformed files with a message naming the problem, and the
golden fixtures in tests/fixtures/ match the reference."""
import json
import os
import re
import struct
import unittest

import numpy as np
import torch

from train import model_file
from train import safetensors_io as st
from train.make_fixtures import MARGIN, decision_margin
from train.model import LayerShape, ModelConfig
from tests.python.test_model import random_model

torch.set_num_threads(1)
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def split(buf):
    (n,) = struct.unpack_from("<Q", buf, 0)
    return json.loads(buf[8:8 + n]), buf[8 + n:]


def join(header, data):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


class TestMalformed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cfg = ModelConfig(hidden_size=16, head_size=8, vocab_size=6, max_position=8,
                          layers=[LayerShape(2, 12, True), LayerShape(0, 8, False)])
        cls.model = random_model(cfg, seed=1)
        cls.vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"]
        cls.f32 = model_file.encode_model(cls.model, cls.vocab, "f32")
        cls.i8 = model_file.encode_model(cls.model, cls.vocab, "i8")

    def refuse(self, buf, pattern):
        with self.assertRaisesRegex(model_file.ModelFileError, pattern):
            model_file.decode_model(buf)

    def edit(self, fn, base=None):
        header, data = split(base or self.f32)
        fn(header)
        return join(header, data)

    def test_valid_files_load(self):
        for buf in (self.f32, self.i8):
            mf = model_file.decode_model(buf)
            self.assertEqual(mf.config.layers, self.model.config.layers)

    def test_bad_header_length(self):
        self.refuse(b"\x01\x02", "bad header length")
        self.refuse(struct.pack("<Q", 0) + b"{}", "bad header length")
        self.refuse(struct.pack("<Q", len(self.f32)) + self.f32[8:], "bad header length")
        self.refuse(struct.pack("<Q", 2**40) + self.f32[8:], "bad header length")
        self.refuse(self.f32[:100], "bad header length")            # truncated inside the header

    def test_header_not_json(self):
        self.refuse(struct.pack("<Q", 4) + b"\xff{[}", "not valid UTF-8 JSON")
        self.refuse(struct.pack("<Q", 2) + b"[]", "not a JSON object")

    def test_truncated_data(self):
        self.refuse(self.f32[:-4], "outside the data area")

    def test_offsets_outside(self):
        def grow(h):
            h["classifier.bias"]["data_offsets"][1] += 10**6
            h["classifier.bias"]["data_offsets"][0] += 10**6
        self.refuse(self.edit(grow), "outside the data area")

        def negative(h):
            h["pooler.dense.bias"]["data_offsets"] = [-4, 60]
        self.refuse(self.edit(negative), "outside the data area")

    def test_dtype_shape_mismatch(self):
        def wrong_dtype(h):
            h["pooler.dense.weight"]["dtype"] = "F16"
        self.refuse(self.edit(wrong_dtype), "dtype/shape mismatch")

        def wrong_shape(h):
            h["pooler.dense.weight"]["shape"] = [16, 15]
        self.refuse(self.edit(wrong_shape), "dtype/shape mismatch")

        def foreign_dtype(h):
            h["pooler.dense.weight"]["dtype"] = "BF16"
        self.refuse(self.edit(foreign_dtype), "dtype 'BF16' is not one of F32, F16, I8, U8")

        def bad_shape_entry(h):
            h["pooler.dense.weight"]["shape"] = [16, -16]
        self.refuse(self.edit(bad_shape_entry), "shape")

    def test_overlapping(self):
        def overlap(h):
            h["pooler.dense.bias"]["data_offsets"] = list(h["embeddings.LayerNorm.bias"]["data_offsets"])
        self.refuse(self.edit(overlap), "overlap")

    def test_misaligned(self):
        def shift(h):
            b, e = h["pooler.dense.bias"]["data_offsets"]
            h["pooler.dense.bias"]["data_offsets"] = [b + 1, e + 1]
        self.refuse(self.edit(shift), "not a multiple of 4")

    def test_missing_tensor(self):
        self.refuse(self.edit(lambda h: h.pop("encoder.layer.0.sampler.ln2.bias")),
                    "missing tensor 'encoder.layer.0.sampler.ln2.bias'")

    def test_unknown_tensor(self):
        def add(h):
            h["encoder.layer.1.attention.self.query.weight"] = dict(h["pooler.dense.weight"])
        # placed over pooler's bytes: an overlap; give it its own bytes instead
        header, data = split(self.f32)
        add(header)
        extra = np.zeros((16, 16), np.float32).tobytes()
        start = len(data) + (-len(data)) % 8
        header["encoder.layer.1.attention.self.query.weight"]["data_offsets"] = [start, start + len(extra)]
        buf = join(header, data + b"\0" * (start - len(data)) + extra)
        self.refuse(buf, "unknown tensor 'encoder.layer.1.attention.self.query.weight'")

    def test_config_inconsistent_with_shapes(self):
        def more_heads(h):
            conf = json.loads(h["__metadata__"]["config"])
            conf["layers"][0]["heads"] = 1
            h["__metadata__"]["config"] = json.dumps(conf)
        self.refuse(self.edit(more_heads), "config inconsistent with tensor shapes: "
                                           "'encoder.layer.0.attention.self.query.weight'")

        def hidden(h):
            conf = json.loads(h["__metadata__"]["config"])
            conf["hidden_size"] = 8
            h["__metadata__"]["config"] = json.dumps(conf)
        self.refuse(self.edit(hidden), "config inconsistent with tensor shapes")

        def no_sampler(h):   # config says no sampler but the file has its tensors
            conf = json.loads(h["__metadata__"]["config"])
            conf["layers"][0]["sampler"] = False
            h["__metadata__"]["config"] = json.dumps(conf)
        self.refuse(self.edit(no_sampler), "unknown tensor 'encoder.layer.0.sampler")

        def vocab(h):
            h["__metadata__"]["vocab"] += "\nextra"
        self.refuse(self.edit(vocab), "vocab has 7 tokens, config.vocab_size is 6")

    def test_config_keys_and_types(self):
        def conf_edit(fn):
            def edit(h):
                conf = json.loads(h["__metadata__"]["config"])
                fn(conf)
                h["__metadata__"]["config"] = json.dumps(conf)
            return self.edit(edit)
        self.refuse(conf_edit(lambda c: c.pop("keep_threshold")), r"missing keys \['keep_threshold'\]")
        self.refuse(conf_edit(lambda c: c.pop("format_version")), "missing keys")
        self.refuse(conf_edit(lambda c: c["layers"][0].pop("sampler")), "has no sampler")
        self.refuse(conf_edit(lambda c: c["layers"][0].update(sampler=1)), "sampler must be true or false")
        self.refuse(conf_edit(lambda c: c["layers"][0].update(heads=1.5)), "not an integer")
        self.refuse(conf_edit(lambda c: c.update(layer_norm_eps="x")), "not a finite number")
        self.refuse(conf_edit(lambda c: c.update(labels=[])), "labels")
        # layer_norm_eps > 0 as a float32, as src/config.c and web/model-file.js (0 gives 0/0 in LayerNorm)
        for eps in (0, 0.0, -1e-12, 1e-50, 2.0 ** -150):                   # 2^-150 rounds to 0 (tie to even)
            self.refuse(conf_edit(lambda c: c.update(layer_norm_eps=eps)), "layer_norm_eps must be")
        self.assertEqual(model_file.decode_model(conf_edit(lambda c: c.update(layer_norm_eps=1.4e-45)))
                         .config.layer_norm_eps, 1.4e-45)                 # the smallest float32 > 0
        self.assertEqual(model_file.decode_model(conf_edit(lambda c: c.update(layer_norm_eps=7.1e-46)))
                         .config.layer_norm_eps, 7.1e-46)                 # rounds up to it
        # max_position <= 4096, as src/ifc_internal.h IFC_MAX_POSITION and web/model-file.js
        self.refuse(conf_edit(lambda c: c.update(max_position=4097)), "max_position must be at most 4096")
        self.refuse(conf_edit(lambda c: c.update(hidden_size=float("inf"))), "not an integer")
        mf = model_file.decode_model(conf_edit(lambda c: [c.pop(k) for k in ("do_lower_case", "task",
                                                                             "special_tokens", "producer")]))
        self.assertTrue(mf.config.do_lower_case)                    # optional keys: defaults

    def test_writer_refuses_what_readers_refuse(self):
        cfg = ModelConfig(hidden_size=16, head_size=8, vocab_size=6, max_position=8, layer_norm_eps=0.0,
                          layers=[LayerShape(2, 12, False)])
        with self.assertRaisesRegex(model_file.ModelFileError, "layer_norm_eps"):
            model_file.encode_model(random_model(cfg, seed=2), self.vocab, "f32")
        cfg = ModelConfig(hidden_size=2, head_size=2, vocab_size=6, max_position=4097, layers=[])
        with self.assertRaisesRegex(model_file.ModelFileError, "max_position must be at most 4096"):
            model_file.encode_model(random_model(cfg, seed=2), self.vocab, "f32")

    def test_bad_scale_pairing(self):
        self.refuse(self.edit(lambda h: h.pop("pooler.dense.weight_scale"), self.i8),
                    "bad _scale pairing: I8 tensor 'pooler.dense.weight' has no 'pooler.dense.weight_scale'")

        header, data = split(self.f32)
        header["pooler.dense.weight_scale"] = {"dtype": "F32", "shape": [16],
                                               "data_offsets": [len(data), len(data) + 64]}
        self.refuse(join(header, data + b"\0" * 64), "bad _scale pairing")

        def f16_scale(h):
            b, e = h["pooler.dense.weight_scale"]["data_offsets"]
            h["pooler.dense.weight_scale"]["dtype"] = "F16"
            h["pooler.dense.weight_scale"]["data_offsets"] = [b, b + 32]
        self.refuse(self.edit(f16_scale, self.i8), "bad _scale pairing")

    def test_packed_4bit_tables(self):
        i4 = model_file.encode_model(self.model, self.vocab, "i4")
        mf = model_file.decode_model(i4)
        self.assertEqual(mf.dtypes["embeddings.word_embeddings.weight"], "U8")
        self.assertEqual(mf.dtypes["pooler.dense.weight"], "I8")
        word = "embeddings.word_embeddings.weight"

        def linear_as_u8(h):          # same bytes: I8 and U8 are both one byte an element
            h["pooler.dense.weight"]["dtype"] = "U8"
        self.refuse(self.edit(linear_as_u8, i4), re.escape("U8 (packed 4-bit) is allowed for the embedding tables only"))
        self.refuse(self.edit(lambda h: h.pop(word + "_scale"), i4),
                    f"bad _scale pairing: U8 tensor '{word}' has no '{word}_scale'")

        def unpacked_shape(h):        # [V, d / 2] -> [V / 2, d]: same bytes, not the packed shape
            v, half = h[word]["shape"]
            h[word]["shape"] = [v // 2, half * 2]
        self.refuse(self.edit(unpacked_shape, i4), re.escape("(4-bit codes, two a byte)"))

        def as_i8(h):                 # I8 of the packed shape: half the columns the config implies
            h[word]["dtype"] = "I8"
        self.refuse(self.edit(as_i8, i4), "config inconsistent with tensor shapes")

    def test_one_d_must_be_f32(self):
        arrays = model_file.file_arrays(self.model.state_dict(), self.model.config, "f32")
        arrays["pooler.dense.bias"] = arrays["pooler.dense.bias"].astype(np.float16)
        _, meta = st.decode(self.f32)
        self.refuse(st.encode(arrays, meta), "1-D tensors must be F32")

    def test_foreign_files(self):
        h, data = split(self.f32)
        meta = h.pop("__metadata__")
        self.refuse(join(h, data), "not an inforcoef model file")
        h["__metadata__"] = dict(meta, config=meta["config"].replace('"format_version": 1', '"format_version": 2'))
        self.refuse(join(h, data), "format_version")
        h["__metadata__"] = dict(meta, config="{not json")
        self.refuse(join(h, data), "bad config")
        h["__metadata__"] = {k: v for k, v in meta.items() if k != "vocab"}
        self.refuse(join(h, data), "no 'vocab'")

    def test_trailing_spaces_and_unaligned_buffer(self):
        # header padded with spaces is fine; so is a buffer that starts at an odd address
        h, data = split(self.f32)
        text = json.dumps(h).encode() + b"   "
        buf = struct.pack("<Q", len(text)) + text + data
        mf = model_file.decode_model(memoryview(b"x" + buf)[1:].tobytes())
        self.assertEqual(mf.vocab, self.vocab)


class TestFixtures(unittest.TestCase):
    """tests/fixtures/ (python3 -m train.make_fixtures) agree with the current reference."""

    NAMES = ("dense", "pruned", "sampled")

    def test_layout_and_size(self):
        total = 0
        for name in self.NAMES:
            with open(os.path.join(FIXTURES, f"{name}.json")) as f:
                doc = json.load(f)
            self.assertEqual(doc["name"], name)
            self.assertEqual(doc["files"], {dt: f"{name}.{dt}.safetensors" for dt in ("f32", "f16", "i8", "i4")})
            lengths = {len(c["ids"]) for c in doc["cases"]}
            self.assertTrue({1, 2, 48} <= lengths)
            self.assertTrue(any(c["threshold"] is not None and c["threshold"] > -1e20 for c in doc["cases"]))
            self.assertTrue(any(c["threshold"] is not None and c["threshold"] <= -1e30 for c in doc["cases"]))
            self.assertTrue(any(1 in c["types"] for c in doc["cases"]))
            total += sum(os.path.getsize(os.path.join(FIXTURES, p)) for p in doc["files"].values())
            total += os.path.getsize(os.path.join(FIXTURES, f"{name}.json"))
        self.assertLess(total, 1_000_000)

    def test_shapes(self):
        layers = {n: model_file.load_model(os.path.join(FIXTURES, f"{n}.f32.safetensors"))[0].config
                  for n in self.NAMES}
        p = layers["pruned"]
        self.assertLess(p.hidden_size, layers["dense"].hidden_size)
        self.assertTrue(any(l.heads == 0 for l in p.layers) and any(l.ffn == 0 for l in p.layers))
        self.assertGreater(len({l.heads for l in p.layers}), 1)
        self.assertGreaterEqual(sum(l.sampler for l in layers["sampled"].layers), 2)

    def test_expected_outputs(self):
        for name in self.NAMES:
            with open(os.path.join(FIXTURES, f"{name}.json")) as f:
                doc = json.load(f)
            for dt, fname in doc["files"].items():
                model, vocab, mf = model_file.load_model(os.path.join(FIXTURES, fname))
                self.assertEqual(vocab[:5], ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
                for c in doc["cases"]:
                    with self.subTest(model=name, dtype=dt, case=c["name"]):
                        out = model(torch.tensor([c["ids"]]), torch.tensor([c["types"]]),
                                    threshold=c["threshold"])
                        exp = c["expected"][dt]
                        np.testing.assert_allclose(out.logits[0].numpy(), exp["logits"], rtol=1e-4, atol=1e-5)
                        self.assertEqual(out.kept[0].tolist(), exp["kept"])
                        self.assertEqual(int(out.flops[0]), exp["flops"])
                        self.assertGreater(decision_margin(model, out, c["threshold"]), MARGIN)


if __name__ == "__main__":
    unittest.main()
