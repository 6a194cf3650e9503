"""BERT uncased tokenizer in plain Python: BasicTokenizer + WordPiece, matching the rules of
Google's tokenization.py / HuggingFace BertTokenizer (do_lower_case=True, tokenize_chinese_chars=True,
strip_accents follows lower-casing).

    tok = WordPieceTokenizer.from_file("../shared/data/vocab/bert-base-uncased-vocab.txt")
    ids = tok.encode("Hello, world!")                 # [101, 7592, 1010, 2088, 999, 102]
    ids, types = tok.encode_pair("a", "b", max_len=128)

Rules (in order):
  1. clean: drop U+0000, U+FFFD and control/format/private-use chars; map every whitespace char
     (\\t \\n \\r, White_Space) to a space.
  2. put spaces around CJK ideographs (the CJK blocks BERT lists, as Hugging Face has them).
  3. split on whitespace; per word (uncased): NFD, drop non-spacing marks (Mn), lower-case;
     then split off every punctuation char (ASCII 33-47, 58-64, 91-96, 123-126, or category P*).
  4. WordPiece per word: a word longer than 100 chars -> [UNK]; else greedy longest match from
     the left, continuation pieces prefixed "##"; if some position has no match the whole word
     becomes [UNK].
The JS tokenizer in web/ follows the same rules; tests/python/test_tokenizer.py pins edge cases.
"""
import os
import re
import unicodedata

MAX_CHARS_PER_WORD = 100

# Character classes: the tables web/tokenizer.js uses (web/unicode-tables.js, measured on every code
# point from Hugging Face `tokenizers`), so training and the runtime tokenise identically even where
# Python's unicodedata is a different Unicode version (unassigned code points, new marks).
# Without that file, the same rules from unicodedata.
DROP, SPACE, CJK, STRIP, DECOMP, PUNCT = 1, 2, 4, 8, 16, 32
TABLES_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web", "unicode-tables.js")


def _load_tables(path):
    """-> (bytearray [0x10000] of class bits, list of (start, end, bit) astral ranges,
    dict of lower-case exceptions) or None when the file is absent."""
    if not os.path.exists(path):
        return None
    src = open(path, encoding="utf-8").read()
    bits = {k: int(v) for k, v in re.findall(r'"([A-Z]+)":(\d+)', re.search(r"CLASS_BITS = (\{.*?\})", src).group(1))}
    bmp = bytearray(0x10000)
    astral = []
    for name, body in re.findall(r"([A-Z]+): '([0-9a-z,]*)'", re.search(r"TABLES = \{(.*?)\};", src, re.S).group(1)):
        nums = [int(x, 36) for x in body.split(",") if x]
        pos = 0
        for i in range(0, len(nums) - 1, 2):
            start = pos + nums[i]; end = start + nums[i + 1]   # [start, end), delta-coded
            for cp in range(start, min(end, 0x10000)):
                bmp[cp] |= bits[name]
            if end > 0x10000:
                astral.append((max(start, 0x10000), end, bits[name]))
            pos = end
    lower = {}
    m = re.search(r"LOWER_EXCEPTIONS = (\[.*?\]);", src, re.S)
    if m and m.group(1).strip() != "[]":
        import json
        lower = {int(k): v for k, v in json.loads(m.group(1))}
    return bmp, astral, lower


_TABLES = _load_tables(TABLES_JS)


def _ud_class(ch):
    """The same classes from Python's unicodedata (fallback)."""
    cp = ord(ch)
    cat = unicodedata.category(ch)
    k = 0
    if ch in (" ", "\t", "\n", "\r") or cat == "Zs":
        k |= SPACE
    elif cp == 0 or cp == 0xFFFD or cat.startswith("C"):
        k |= DROP
    if (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B920 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F):
        k |= CJK
    if cat == "Mn":
        k |= STRIP
    if unicodedata.decomposition(ch) and not unicodedata.decomposition(ch).startswith("<"):
        k |= DECOMP
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or cat.startswith("P"):
        k |= PUNCT
    return k


def char_class(ch):
    cp = ord(ch)
    if _TABLES is None:
        return _ud_class(ch)
    if cp < 0x10000:
        return _TABLES[0][cp]
    k = 0
    for start, end, bit in _TABLES[1]:
        if start <= cp < end:
            k |= bit
    return k


def _strip_accents(w):
    """NFD, then drop non-spacing marks. Python's NFD is used for the word unless it holds a char
    Python decomposes but the reference does not (a char newer than the reference's tables)."""
    if w.isascii():
        return w
    if any(ord(c) >= 0x300 and not char_class(c) & DECOMP and unicodedata.normalize("NFD", c) != c for c in w):
        nfd = "".join(unicodedata.normalize("NFD", c) if char_class(c) & DECOMP else c for c in w)
    else:
        nfd = unicodedata.normalize("NFD", w)
    return "".join(c for c in nfd if not char_class(c) & STRIP)


def _lower(w):
    # The reference lower-cases char by char (no final-sigma rule): do the same when a word holds
    # a capital sigma, the only context-dependent mapping of str.lower().
    lower = _TABLES[2] if _TABLES else {}
    if not lower and "\u03a3" not in w:
        return w.lower()
    return "".join(lower.get(ord(c), c.lower()) for c in w)


def basic_tokenize(text, do_lower_case=True):
    """Text -> list of words and punctuation marks (before WordPiece). Hugging Face order:
    clean + pad CJK, strip accents then lower-case (uncased), split whitespace and punctuation."""
    out = []
    for ch in text:
        if ch.isascii():
            if ch.isalnum() or ch == " ":
                out.append(ch)
                continue
        k = char_class(ch)
        if k & SPACE:
            out.append(" ")
        elif k & DROP:
            continue
        elif k & CJK:
            out.append(" ")
            out.append(ch)
            out.append(" ")
        else:
            out.append(ch)
    tokens = []
    for w in "".join(out).split(" "):
        if not w:
            continue
        if do_lower_case:
            w = _lower(_strip_accents(w))
        start = 0
        for i, c in enumerate(w):
            if (c.isascii() and not c.isalnum() and c != " ") or (not c.isascii() and char_class(c) & PUNCT):
                if i > start:
                    tokens.append(w[start:i])
                tokens.append(c)
                start = i + 1
        if start < len(w):
            tokens.append(w[start:])
    return tokens


def truncate_pair(n1, n2, m):
    """Kept lengths of a pair of n1 and n2 pieces within a budget of m (special tokens excluded), by
    Hugging Face tokenizers' LongestFirst rule (web/tokenizer.js truncatePair): both fit -> keep
    both; the shorter fits in half or less -> the longer takes the rest; otherwise m is split in
    halves, the odd piece going to the longer input (to the second on a tie)."""
    if n1 + n2 <= m:
        return n1, n2
    swap = n1 > n2
    s, l = (n2, n1) if swap else (n1, n2)          # s: shorter, l: longer
    l = s if s > m else max(s, m - s)
    if s + l > m:
        s = m // 2
        l = s + m % 2
    return (l, s) if swap else (s, l)


class WordPieceTokenizer:
    def __init__(self, vocab, do_lower_case=True):
        # vocab: list of token strings, index = id
        self.vocab = list(vocab)
        self.token_to_id = {t: i for i, t in enumerate(self.vocab)}
        self.do_lower_case = do_lower_case
        self.unk_id = self.token_to_id["[UNK]"]
        self.cls_id = self.token_to_id["[CLS]"]
        self.sep_id = self.token_to_id["[SEP]"]
        self.pad_id = self.token_to_id["[PAD]"]
        self.mask_id = self.token_to_id["[MASK]"]
        self._cache = {}  # word -> ids; corpora repeat words, this makes tokenising ~5x faster

    @classmethod
    def from_file(cls, path, do_lower_case=True):
        with open(path, encoding="utf-8") as f:
            vocab = [line.rstrip("\n") for line in f]
        if vocab and vocab[-1] == "":
            vocab.pop()
        return cls(vocab, do_lower_case)

    def __len__(self):
        return len(self.vocab)

    def wordpiece(self, word):
        """One basic token -> list of ids (greedy longest-match-first)."""
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        if len(word) > MAX_CHARS_PER_WORD:
            ids = [self.unk_id]
        else:
            ids = []
            start, n = 0, len(word)
            while start < n:
                end = n
                cur = None
                while start < end:
                    piece = word[start:end]
                    if start > 0:
                        piece = "##" + piece
                    cur = self.token_to_id.get(piece)
                    if cur is not None:
                        break
                    end -= 1
                if cur is None:
                    ids = [self.unk_id]
                    break
                ids.append(cur)
                start = end
        if len(self._cache) < 1_000_000:
            self._cache[word] = ids
        return ids

    def tokenize_ids(self, text):
        """Text -> WordPiece ids, no special tokens."""
        ids = []
        for w in basic_tokenize(text, self.do_lower_case):
            ids.extend(self.wordpiece(w))
        return ids

    def word_ids(self, text):
        """Text -> list of per-word id lists (for whole-word masking)."""
        return [self.wordpiece(w) for w in basic_tokenize(text, self.do_lower_case)]

    def tokenize(self, text):
        return [self.vocab[i] for i in self.tokenize_ids(text)]

    def encode(self, text, max_len=512):
        """[CLS] text [SEP], truncated to max_len."""
        ids = self.tokenize_ids(text)[: max_len - 2]
        return [self.cls_id] + ids + [self.sep_id]

    def encode_pair(self, a, b, max_len=512):
        """[CLS] a [SEP] b [SEP] with token types 0/1, max_len tokens at most; the pieces are cut by
        Hugging Face's longest-first rule (truncate_pair), as web/tokenizer.js does."""
        if max_len < 3:
            raise ValueError(f"max_len {max_len} leaves no room for [CLS] a [SEP] b [SEP]")
        ia, ib = self.tokenize_ids(a), self.tokenize_ids(b)
        na, nb = truncate_pair(len(ia), len(ib), max_len - 3)
        ia, ib = ia[:na], ib[:nb]
        ids = [self.cls_id] + ia + [self.sep_id] + ib + [self.sep_id]
        types = [0] * (len(ia) + 2) + [1] * (len(ib) + 1)
        return ids, types
