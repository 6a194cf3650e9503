"""WordPiece tokenizer (train/tokenizer.py) against the BERT uncased rules, on the real vocabulary."""
import json
import os
import shutil
import subprocess
import unittest

from train import tokenizer as T
from train.data import read_task
from train.tokenizer import WordPieceTokenizer, basic_tokenize

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))

VOCAB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "vocab",
                     "bert-base-uncased-vocab.txt")


class TestTokenizer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tok = WordPieceTokenizer.from_file(VOCAB)

    def test_vocab_ids(self):
        t = self.tok
        self.assertEqual(len(t), 30522)
        self.assertEqual((t.pad_id, t.unk_id, t.cls_id, t.sep_id, t.mask_id), (0, 100, 101, 102, 103))
        self.assertEqual(t.token_to_id["the"], 1996)

    def test_simple_sentence(self):
        self.assertEqual(self.tok.encode("Hello, world!"), [101, 7592, 1010, 2088, 999, 102])
        self.assertEqual(self.tok.tokenize("unaffable"), ["una", "##ffa", "##ble"])

    def test_empty_and_whitespace(self):
        self.assertEqual(self.tok.tokenize_ids(""), [])
        self.assertEqual(self.tok.tokenize_ids(" \t\n\r\u00a0\u3000 "), [])
        self.assertEqual(self.tok.encode(""), [101, 102])

    def test_control_and_null_chars_removed(self):
        # U+0000, U+FFFD and format/control chars are dropped, joining their neighbours.
        self.assertEqual(basic_tokenize("a\u0000b\ufffdc\u200bd"), ["abcd"])
        self.assertEqual(basic_tokenize("x\ty\nz"), ["x", "y", "z"])

    def test_lowercase_and_accents(self):
        self.assertEqual(basic_tokenize("HÉLLO Crème Brûlée"), ["hello", "creme", "brulee"])
        # NFD of a precomposed char and an already-decomposed one agree
        self.assertEqual(basic_tokenize("caf\u00e9"), basic_tokenize("cafe\u0301"))

    def test_punctuation(self):
        # ASCII symbols count as punctuation even where Unicode says symbol ($ ^ ` ~ + < = >).
        self.assertEqual(basic_tokenize("a$b^c`d~e+f"), ["a", "$", "b", "^", "c", "`", "d", "~", "e", "+", "f"])
        # Unicode P* punctuation: em dash, inverted question mark, curly quotes.
        self.assertEqual(basic_tokenize("¿qué—“no”"), ["¿", "que", "—", "“", "no", "”"])
        self.assertEqual(self.tok.tokenize("don't"), ["don", "'", "t"])
        # non-ASCII symbols (S*) are not split off
        self.assertEqual(basic_tokenize("a€b"), ["a€b"])

    def test_cjk_split(self):
        self.assertEqual(basic_tokenize("ab北京cd"), ["ab", "北", "京", "cd"])
        # Hiragana is not in the CJK ideograph blocks: stays one word; accent stripping also
        # removes the combining voicing mark of が (NFD: か + U+3099), as BERT does.
        self.assertEqual(basic_tokenize("ひらがな"), ["ひらかな"])

    def test_long_and_unknown_words(self):
        self.assertEqual(self.tok.tokenize("a" * 101), ["[UNK]"])
        self.assertNotEqual(self.tok.tokenize("a" * 100), ["[UNK]"])
        # a char with no piece anywhere -> the whole word is [UNK]
        self.assertEqual(self.tok.tokenize("ab\U0001F9D9cd"), ["[UNK]"])

    def test_special_token_text_is_plain_text(self):
        self.assertEqual(self.tok.tokenize("[CLS]"), ["[", "cl", "##s", "]"])

    def test_pair_truncation(self):
        ids, types = self.tok.encode_pair("one two three four five six", "seven", max_len=8)
        self.assertEqual(len(ids), 8)
        self.assertEqual(ids[0], 101)
        self.assertEqual(ids.count(102), 2)
        self.assertEqual(types, [0] * 6 + [1] * 2)
        with self.assertRaises(ValueError):
            self.tok.encode_pair("a", "b", max_len=2)
        ids = self.tok.encode("word " * 1000, max_len=512)
        self.assertEqual(len(ids), 512)
        self.assertEqual(ids[-1], 102)


    def test_fallback_rules_match_tables_on_common_text(self):
        # the unicodedata fallback (no web/ tables) gives the same classes on ordinary text
        for ch in "aZ09 ,.!?'\"-—“”¿éèüñçÉ\t\n北京ひ😀\u00a0\u200b":
            self.assertEqual(T._ud_class(ch) & ~T.DECOMP, T.char_class(ch) & ~T.DECOMP, repr(ch))


class TestAgreesWithRuntimeTokenizer(unittest.TestCase):
    """Same ids as web/tokenizer.js (itself checked against Hugging Face `tokenizers`) on the JS
    suite's edge cases and on every SST-2 / MRPC dev sentence, and on MRPC / RTE dev pairs with
    truncation: training and the runtime must tokenise alike."""

    def test_agreement(self):
        if shutil.which("node") is None:
            self.skipTest("node not installed")
        texts = [a for a, _, _ in read_task("sst2", "dev")]
        texts += [x for a, b, _ in read_task("mrpc", "dev") for x in (a, b)]
        script = (
            "import fs from 'node:fs';"
            "import { BertTokenizer } from './web/tokenizer.js';"
            "import { EDGE_TEXTS } from './tests/js/tokenizer-cases.mjs';"
            "const vocab = fs.readFileSync(process.argv[1], 'utf8').split('\\n'); if (vocab.at(-1) === '') vocab.pop();"
            "const t = new BertTokenizer(vocab);"
            "const extra = JSON.parse(fs.readFileSync(0, 'utf8'));"
            "console.log(JSON.stringify(EDGE_TEXTS.concat(extra).map(s => [s, Array.from(t.encode(s).ids)])));")
        r = subprocess.run(["node", "--input-type=module", "-e", script, os.path.abspath(VOCAB)],
                           input=json.dumps(texts), capture_output=True, text=True, cwd=ROOT, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        cases = json.loads(r.stdout)
        self.assertGreater(len(cases), len(texts))
        tok = WordPieceTokenizer.from_file(VOCAB)
        bad = [(s, tok.encode(s, 512), ids) for s, ids in cases if tok.encode(s, 512) != ids]
        self.assertEqual(bad, [])

    PAIR_LENGTHS = (3, 4, 8, 17, 32, 51, 128)

    def test_pair_agreement(self):
        """encode_pair == web/tokenizer.js encode(a, b, {maxLength}) (ids and token types) on every
        MRPC and RTE dev pair at several max lengths: the truncation of pairs is HF's longest-first
        rule on both sides, ties and odd budgets included."""
        if shutil.which("node") is None:
            self.skipTest("node not installed")
        pairs = [[a, b] for a, b, _ in read_task("mrpc", "dev")] + [[a, b] for a, b, _ in read_task("rte", "dev")]
        script = (
            "import fs from 'node:fs';"
            "import { BertTokenizer } from './web/tokenizer.js';"
            "const vocab = fs.readFileSync(process.argv[1], 'utf8').split('\\n'); if (vocab.at(-1) === '') vocab.pop();"
            "const t = new BertTokenizer(vocab);"
            "const { pairs, lengths } = JSON.parse(fs.readFileSync(0, 'utf8'));"
            "console.log(JSON.stringify(lengths.map(m => pairs.map(([a, b]) => {"
            "  const e = t.encode(a, b, { maxLength: m }); return [Array.from(e.ids), Array.from(e.types)]; }))));")
        r = subprocess.run(["node", "--input-type=module", "-e", script, os.path.abspath(VOCAB)],
                           input=json.dumps({"pairs": pairs, "lengths": self.PAIR_LENGTHS}),
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        js = json.loads(r.stdout)
        tok = WordPieceTokenizer.from_file(VOCAB)
        bad, cut, ties = [], 0, 0
        for m, per_len in zip(self.PAIR_LENGTHS, js):
            for (a, b), (ids, types) in zip(pairs, per_len):
                py = tok.encode_pair(a, b, max_len=m)
                if [list(py[0]), list(py[1])] != [ids, types]:
                    bad.append((m, a, b, py, (ids, types)))
                na, nb = len(tok.tokenize_ids(a)), len(tok.tokenize_ids(b))
                cut += na + nb > m - 3
                ties += na + nb > m - 3 and min(na, nb) > (m - 3) // 2 and (m - 3) % 2 == 1
        self.assertEqual(bad[:3], [])
        self.assertGreater(len(pairs), 600)
        self.assertGreater(cut, 1000)       # most pairs are cut at the short lengths
        self.assertGreater(ties, 100)       # both sides halved with an odd budget: where the old rule differed

    def test_truncate_pair_rule(self):
        """truncate_pair == web/tokenizer.js truncatePair on every n1, n2 <= 24, budget <= 30."""
        if shutil.which("node") is None:
            self.skipTest("node not installed")
        script = ("import { truncatePair } from './web/tokenizer.js'; const out = [];"
                  "for (let m = 0; m <= 30; m++) for (let a = 0; a <= 24; a++) for (let b = 0; b <= 24; b++)"
                  "  out.push(truncatePair(a, b, m));"
                  "console.log(JSON.stringify(out));")
        r = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True,
                           cwd=ROOT, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        py = [list(T.truncate_pair(a, b, m)) for m in range(31) for a in range(25) for b in range(25)]
        self.assertEqual(py, json.loads(r.stdout))
        self.assertEqual(T.truncate_pair(6, 12, 11), (5, 6))    # the odd piece to the longer input
        self.assertEqual(T.truncate_pair(10, 10, 15), (7, 8))   # to the second on a tie


if __name__ == "__main__":
    unittest.main()
