// BERT tokenizer: Hugging Face's BertNormalizer + BertPreTokenizer + WordPiece + BERT post-processing,
// reproduced id for id (tests/js/tokenizer-reference.test.mjs compares with Hugging Face `tokenizers`).
//
// Steps, in Hugging Face's order (tokenizers/src/normalizers/bert.rs, pre_tokenizers/bert.rs,
// models/wordpiece):
//   1. clean text: drop NUL, U+FFFD and control/format/private-use characters; White_Space -> ' '
//   2. pad CJK ideographs with spaces (each becomes its own word)
//   3. uncased models only: strip accents (NFD, then drop non-spacing marks), then lower-case
//   4. split on whitespace; split off every punctuation character as its own word
//   5. WordPiece each word: greedy longest match, continuation pieces prefixed "##"; a word with no
//      full cover, or longer than 100 code points, becomes one [UNK]
//   6. [CLS] A [SEP] (B [SEP]); token types 0 for [CLS] A [SEP], 1 for B [SEP]; truncation to the
//      model's max length, longest-first for pairs (Hugging Face's rule, see truncatePair)
// Character classes come from web/unicode-tables.js (measured from the reference), so every JS
// engine gives the same ids. Special-token strings typed inside the text ("[SEP]") are plain text:
// they are split like any other word (as Google's original BERT does), never read as special tokens,
// so user text cannot forge a segment boundary.

import { CLASS_BITS, TABLES, LOWER_EXCEPTIONS } from './unicode-tables.js';

const { DROP, SPACE, CJK, STRIP, DECOMP, PUNCT } = CLASS_BITS;

// Per-code-point class: a byte table for ASCII (built on first use), one for the whole BMP (64 KiB,
// built on the first non-ASCII character: filling it costs a few ms of a cold start, which ASCII
// text never needs) and sorted ranges for the astral planes, looked up by binary search (astral
// text is rare).
let ascii = null;
let bmp = null;
let astral = null; // [{bit, starts: Int32Array, ends: Int32Array}]

// The class bits of code points [0, limit) into a new Uint8Array(limit); with `astralOut`, the
// ranges past the BMP are collected there.
function fillTable(limit, astralOut) {
    const table = new Uint8Array(limit);
    for (const [name, bit] of Object.entries(CLASS_BITS)) {
        const nums = TABLES[name].split(',');
        const starts = [], ends = [];
        let pos = 0;
        for (let i = 0; i + 1 < nums.length; i += 2) {
            if (pos >= limit && !astralOut) break; // the ranges are sorted: nothing more below limit
            const start = pos + parseInt(nums[i], 36), end = start + parseInt(nums[i + 1], 36); // [start, end)
            for (let cp = start; cp < Math.min(end, limit); cp++) table[cp] |= bit;
            if (end > 0x10000) { starts.push(Math.max(start, 0x10000)); ends.push(end); }
            pos = end;
        }
        astralOut?.push({ bit, starts: Int32Array.from(starts), ends: Int32Array.from(ends) });
    }
    return table;
}

function asciiTable() {
    return (ascii ??= fillTable(0x80, null));
}

function buildTables() {
    astral = [];
    bmp = fillTable(0x10000, astral);
}

export function charClass(cp) {
    if (cp < 0x80) return asciiTable()[cp];
    if (bmp === null) buildTables();
    if (cp < 0x10000) return bmp[cp];
    let k = 0;
    for (const { bit, starts, ends } of astral) {
        let lo = 0, hi = starts.length - 1;
        while (lo <= hi) {
            const mid = (lo + hi) >> 1;
            if (cp < starts[mid]) hi = mid - 1;
            else if (cp >= ends[mid]) lo = mid + 1;
            else { k |= bit; break; }
        }
    }
    return k;
}

const lowerExceptions = new Map(LOWER_EXCEPTIONS);
const ASCII = /^[\x00-\x7f]*$/;

// Step 3a: NFD, then drop the marks the reference strips. The engine's NFD is used for the whole word
// (it also puts marks in canonical order) unless the word holds a character the engine decomposes but
// the reference's tables do not (a character newer than those tables); then only the characters the
// reference decomposes are decomposed, one by one.
function stripAccents(word) {
    let engineOnly = false;
    for (const ch of word) {
        const cp = ch.codePointAt(0);
        if (cp >= 0x300 && !(charClass(cp) & DECOMP) && ch.normalize('NFD') !== ch) { engineOnly = true; break; }
    }
    let nfd;
    if (!engineOnly) nfd = word.normalize('NFD');
    else {
        nfd = '';
        for (const ch of word) nfd += (charClass(ch.codePointAt(0)) & DECOMP) ? ch.normalize('NFD') : ch;
    }
    let out = '';
    for (const ch of nfd) if (!(charClass(ch.codePointAt(0)) & STRIP)) out += ch;
    return out;
}

// Step 3b: the reference lower-cases character by character (no final-sigma rule), so do the same
// whenever a word holds a capital sigma; elsewhere toLowerCase of the word gives the same result.
function lowerCase(word) {
    if (lowerExceptions.size === 0 && !word.includes('\u03a3')) return word.toLowerCase();
    let out = '';
    for (const ch of word) {
        const ex = lowerExceptions.get(ch.codePointAt(0));
        out += ex !== undefined ? ex : ch.toLowerCase();
    }
    return out;
}

function codePointCount(s) {
    let n = s.length;
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
            const d = s.charCodeAt(i + 1);
            if (d >= 0xdc00 && d <= 0xdfff) { n--; i++; }
        }
    }
    return n;
}

// token -> id through a Map of vocab; a repeated token: the last wins, as in BERT's load_vocab.
function mapLookup(vocab) {
    const ids = new Map();
    for (let i = 0; i < vocab.length; i++) ids.set(vocab[i], i);
    return (token) => ids.get(token);
}

export class BertTokenizer {
    // vocab: array of token strings, index = id. options: doLowerCase, maxLength (0 or Infinity: no
    // truncation), specialTokens {cls, sep, pad, unk, mask}, maxInputCharsPerWord, lookup.
    // lookup(token) -> id or undefined replaces the token -> id Map built here from vocab (load()
    // passes the runtime's index, Runtime.tokenLookup in wasm.js). It must agree with vocab.
    constructor(vocab, options = {}) {
        if (!Array.isArray(vocab) || vocab.length === 0) throw new TypeError('vocab must be a non-empty array of strings');
        this.vocab = vocab;
        this.lookup = options.lookup ?? mapLookup(vocab);
        this.doLowerCase = options.doLowerCase ?? true;
        this.maxLength = options.maxLength ?? 512;
        this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
        const sp = { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]', ...(options.specialTokens || {}) };
        this.specialTokens = sp;
        for (const key of ['cls', 'sep', 'unk']) {
            if (this.lookup(sp[key]) === undefined) throw new Error(`special token ${key} = ${JSON.stringify(sp[key])} is not in the vocabulary`);
        }
        this.clsId = this.lookup(sp.cls);
        this.sepId = this.lookup(sp.sep);
        this.unkId = this.lookup(sp.unk);
        this.cache = new Map(); // word -> ids; bounded, cleared when full
    }

    // Steps 1-2: yields the raw words of `text` (whitespace-separated runs, CJK characters alone),
    // controls removed. Lone surrogates count as controls (the reference sees them as U+FFFD).
    *rawWords(text) {
        let word = '', start = 0, i = 0;
        const n = text.length;
        while (i < n) {
            let cp = text.charCodeAt(i), len = 1;
            if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
                const lo = text.charCodeAt(i + 1);
                if (lo >= 0xdc00 && lo <= 0xdfff) { cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00); len = 2; }
            }
            const k = cp < 0x80 ? (ascii ?? asciiTable())[cp] : charClass(cp);
            if (k & (DROP | SPACE | CJK)) {
                word += text.slice(start, i);
                if (k & (SPACE | CJK)) {
                    if (word) yield word;
                    word = '';
                    if (k & CJK) yield text.slice(i, i + len);
                }
                start = i + len;
            }
            i += len;
        }
        word += text.slice(start, n);
        if (word) yield word;
    }

    // Steps 3-4 for one raw word: the words WordPiece sees.
    *words(text) {
        for (let w of this.rawWords(text)) {
            if (this.doLowerCase) w = lowerCase(ASCII.test(w) ? w : stripAccents(w));
            let start = 0, i = 0;
            while (i < w.length) {
                const cp = w.codePointAt(i), len = cp > 0xffff ? 2 : 1;
                if (charClass(cp) & PUNCT) {
                    if (i > start) yield w.slice(start, i);
                    yield w.slice(i, i + len);
                    start = i + len;
                }
                i += len;
            }
            if (start < w.length) yield w.slice(start);
        }
    }

    // Step 5: WordPiece ids of one word.
    wordPiece(word) {
        const cached = this.cache.get(word);
        if (cached !== undefined) return cached;
        let ids;
        if (codePointCount(word) > this.maxInputCharsPerWord) ids = [this.unkId];
        else {
            ids = [];
            let start = 0;
            while (start < word.length) {
                let end = word.length, id;
                while (start < end) {
                    const piece = start > 0 ? '##' + word.slice(start, end) : word.slice(start, end);
                    id = this.lookup(piece);
                    if (id !== undefined) break;
                    const c = word.charCodeAt(end - 1); // step back one code point
                    end -= (c >= 0xdc00 && c <= 0xdfff && end - 2 >= start && word.charCodeAt(end - 2) >= 0xd800 && word.charCodeAt(end - 2) <= 0xdbff) ? 2 : 1;
                }
                if (id === undefined) { ids = [this.unkId]; break; }
                ids.push(id);
                start = end;
            }
        }
        if (this.cache.size >= 50000) this.cache.clear();
        this.cache.set(word, ids);
        return ids;
    }

    // Ids of `text` without special tokens, at most `limit` of them (the rest are counted, not kept).
    // Returns {ids, total}.
    pieceIds(text, limit = Infinity) {
        if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${text === null ? 'null' : typeof text}`);
        const ids = [];
        let total = 0;
        for (const w of this.words(text)) {
            for (const id of this.wordPiece(w)) {
                if (total < limit) ids.push(id);
                total++;
            }
        }
        return { ids, total };
    }

    // Word pieces of `text` as strings, no special tokens.
    tokenize(text) {
        return this.pieceIds(text).ids.map((id) => this.vocab[id]);
    }

    // [CLS] a [SEP] (b [SEP]) -> {ids: Int32Array, types: Int32Array, truncated, lengths: [na, nb]}.
    // maxLength (default: the tokenizer's) bounds the whole sequence, special tokens included;
    // 0 or Infinity: no truncation.
    encode(a, b = null, { maxLength = this.maxLength } = {}) {
        const limit = maxLength > 0 && Number.isFinite(maxLength) ? maxLength : Infinity;
        const pair = b !== null && b !== undefined;
        if (limit < (pair ? 3 : 2)) throw new RangeError(`maxLength ${maxLength} leaves no room for the special tokens`);
        const budget = limit - (pair ? 3 : 2);
        let A, B = null, truncated = false;
        if (!pair) {
            // A single text never needs more than budget + 1 pieces: stop there (a 10 MB text costs
            // what its first few hundred words cost).
            A = this.firstPieces(a, budget);
            truncated = A.length > budget;
            if (truncated) A.length = budget;
        } else {
            const pa = this.pieceIds(a, budget), pb = this.pieceIds(b, budget);
            const [na, nb] = truncatePair(pa.total, pb.total, budget);
            truncated = na < pa.total || nb < pb.total;
            A = pa.ids.slice(0, na);
            B = pb.ids.slice(0, nb);
        }
        const n = A.length + 2 + (pair ? B.length + 1 : 0);
        const ids = new Int32Array(n), types = new Int32Array(n);
        let j = 0;
        ids[j++] = this.clsId;
        for (const id of A) ids[j++] = id;
        ids[j++] = this.sepId;
        if (pair) {
            for (const id of B) { types[j] = 1; ids[j++] = id; }
            types[j] = 1; ids[j++] = this.sepId;
        }
        return { ids, types, truncated, lengths: pair ? [A.length, B.length] : [A.length] };
    }

    // The first limit + 1 piece ids of text (enough to know whether it was cut).
    firstPieces(text, limit) {
        if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${text === null ? 'null' : typeof text}`);
        const ids = [];
        if (limit === Infinity) return this.pieceIds(text).ids;
        for (const w of this.words(text)) {
            for (const id of this.wordPiece(w)) {
                ids.push(id);
                if (ids.length > limit) return ids;
            }
        }
        return ids;
    }

    decodeIds(ids) {
        return Array.from(ids, (id) => this.vocab[id] ?? this.specialTokens.unk);
    }
}

// Hugging Face tokenizers' LongestFirst rule for a pair of lengths n1, n2 and a budget m (without
// the special tokens): if both fit, keep both; if the shorter fits in half or less, the longer
// takes the rest; otherwise split m in halves, the odd token going to the longer input (to the
// second on a tie). Returns the kept lengths.
export function truncatePair(n1, n2, m) {
    if (n1 + n2 <= m) return [n1, n2];
    let swap = false;
    let s = n1, l = n2; // s: shorter, l: longer
    if (n1 > n2) { swap = true; s = n2; l = n1; }
    l = s > m ? s : Math.max(s, m - s);
    if (s + l > m) { s = Math.floor(m / 2); l = s + (m % 2); }
    return swap ? [l, s] : [s, l];
}
