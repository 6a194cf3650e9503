// Types of web/tokenizer.js: BERT BasicTokenizer + WordPiece as Hugging Face's, id for id.

export interface SpecialTokens {
    cls: string;
    sep: string;
    pad: string;
    unk: string;
    mask: string;
}

export interface BertTokenizerOptions {
    /** Uncased model: strip accents (NFD, drop non-spacing marks) and lower-case. Default true. */
    doLowerCase?: boolean;
    /** Longest sequence, special tokens included; 0 or Infinity: no truncation. Default 512. */
    maxLength?: number;
    /** Special-token strings (defaults: [CLS] [SEP] [PAD] [UNK] [MASK]). */
    specialTokens?: Partial<SpecialTokens>;
    /** Longer words become one [UNK]. Default 100 (code points). */
    maxInputCharsPerWord?: number;
    /** token -> id (undefined if absent), in place of a Map built from vocab; must agree with vocab. */
    lookup?: (token: string) => number | undefined;
}

export interface Encoding {
    /** [CLS] A [SEP] (B [SEP]) token ids. */
    ids: Int32Array;
    /** Token types: 0 for [CLS] A [SEP], 1 for B [SEP]. */
    types: Int32Array;
    /** Whether any word piece was cut to fit maxLength. */
    truncated: boolean;
    /** Pieces kept of A (and B), without special tokens. */
    lengths: number[];
}

export class BertTokenizer {
    /** vocab: token strings, index = id (a model's vocabulary). */
    constructor(vocab: string[], options?: BertTokenizerOptions);
    readonly vocab: string[];
    readonly doLowerCase: boolean;
    maxLength: number;
    readonly specialTokens: SpecialTokens;
    readonly clsId: number;
    readonly sepId: number;
    readonly unkId: number;
    /** token -> id (undefined if absent): options.lookup, or a Map of vocab. */
    readonly lookup: (token: string) => number | undefined;
    /** Word pieces of a text, no special tokens. */
    tokenize(text: string): string[];
    /**
     * [CLS] a [SEP] (b [SEP]) with token types, truncated to maxLength (longest-first for pairs, as
     * Hugging Face's LongestFirst). A single text stops tokenizing once it has enough pieces.
     */
    encode(a: string, b?: string | null, options?: { maxLength?: number }): Encoding;
    /** Piece ids of a text without special tokens: the first `limit` ids and the total count. */
    pieceIds(text: string, limit?: number): { ids: number[]; total: number };
    /** Token strings of ids. */
    decodeIds(ids: ArrayLike<number>): string[];
}

/** Hugging Face's LongestFirst truncation of two lengths to a budget: the kept lengths. */
export function truncatePair(n1: number, n2: number, budget: number): [number, number];

/** Character-class bits of a code point (see web/unicode-tables.js). */
export function charClass(codePoint: number): number;
