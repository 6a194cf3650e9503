"""BERT uncased tokenizer in plain Python: BasicTokenizer + WordPiece, matching the rules of
Google's tokenization.py / HuggingFace BertTokenizer (do_lower_case=True, tokenize_chinese_chars=True,
strip_accents follows lower-casing).

    tok = WordPieceTokenizer.from_file("../shared/data/vocab/bert-base-uncased-vocab.txt")
    ids = tok.encode("Hello, world!")                 # [101, 7592, 1010, 2088, 999, 102]
    ids, types = tok.encode_pair("a", "b", max_len=128)

Rules (in order):
  1. clean: drop U+0000, U+FFFD and control chars (category C*, except \\t \\n \\r which are
     whitespace); map every whitespace char (\\t \\n \\r, space, category Zs) to a space.
  2. put spaces around CJK ideographs (the CJK Unified Ideographs blocks BERT lists).
  3. split on whitespace; per word: lower-case, NFD, drop combining marks (category Mn);
     then split off every punctuation char (ASCII 33-47, 58-64, 91-96, 123-126, or category P*).
  4. WordPiece per word: a word longer than 100 chars -> [UNK]; else greedy longest match from
     the left, continuation pieces prefixed "##"; if some position has no match the whole word
     becomes [UNK].
The JS tokenizer in web/ follows the same rules; tests/python/test_tokenizer.py pins edge cases.
"""
import unicodedata

MAX_CHARS_PER_WORD = 100


def _is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    # ASCII non-letter/number symbols count as punctuation even when Unicode says S* ($, ^, `...).
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text, do_lower_case=True):
    """Text -> list of words and punctuation marks (before WordPiece)."""
    # 1+2: clean and pad CJK in one pass.
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(" ")
            out.append(ch)
            out.append(" ")
        else:
            out.append(ch)
    words = "".join(out).split()
    tokens = []
    for w in words:
        if do_lower_case:
            w = w.lower()
            w = unicodedata.normalize("NFD", w)
            w = "".join(c for c in w if unicodedata.category(c) != "Mn")
        # 3: split punctuation off as single-char tokens.
        start = 0
        for i, c in enumerate(w):
            if _is_punctuation(c):
                if i > start:
                    tokens.append(w[start:i])
                tokens.append(c)
                start = i + 1
        if start < len(w):
            tokens.append(w[start:])
    return tokens


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
        """[CLS] a [SEP] b [SEP] with token types 0/1; the longer side is truncated first (BERT)."""
        ia, ib = self.tokenize_ids(a), self.tokenize_ids(b)
        while len(ia) + len(ib) > max_len - 3:
            if len(ia) > len(ib):
                ia.pop()
            else:
                ib.pop()
        ids = [self.cls_id] + ia + [self.sep_id] + ib + [self.sep_id]
        types = [0] * (len(ia) + 2) + [1] * (len(ib) + 1)
        return ids, types
