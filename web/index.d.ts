// Types of the inforcoef public API (web/index.js).

import { BertTokenizer } from './tokenizer.js';
export { BertTokenizer } from './tokenizer.js';
export type { BertTokenizerOptions, Encoding, SpecialTokens } from './tokenizer.js';

export type ErrorCode =
    | 'NOT_SAFETENSORS' // the bytes are not a safetensors file
    | 'TRUNCATED' // a safetensors file cut short
    | 'NOT_INFORCOEF' // a safetensors file that is not an inforcoef model
    | 'UNSUPPORTED_VERSION' // an inforcoef model of another format_version
    | 'BAD_MODEL' // config or tensors break docs/model-format.md
    | 'IO' // the source could not be read
    | 'RUNTIME' // the wasm runtime refused
    | 'DISPOSED'; // used after dispose()

export class InforcoefError extends Error {
    constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
    readonly name: 'InforcoefError';
    readonly code: ErrorCode;
}

/** A model file: a URL (http(s), blob, data, file), a path (Node only), or its bytes. */
export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView | Blob;

export interface Progress {
    /** Bytes received so far. */
    loaded: number;
    /** Content length when the server sent one, else 0. */
    total: number;
}

export interface LoadOptions {
    /** Default keep threshold of the token samplers (the file's keep_threshold if absent). -Infinity keeps every token. */
    threshold?: number | null;
    /** Called while the model downloads. */
    onProgress?: (progress: Progress) => void;
    /** Where inforcoef.wasm is (default: next to index.js), or its bytes, or the compiled module. */
    wasm?: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;
}

/** One text, a pair [textA, textB], or {text, pair}. */
export type TextInput = string | [string, string] | [string] | { text: string; pair?: string | null };

export interface ClassifyOptions {
    /** Labels returned per input, best first; default 1; null, 0 or Infinity: all. */
    topK?: number | null;
    /** Keep threshold for this call only. */
    threshold?: number | null;
}

export interface LabelScore {
    label: string;
    /** Softmax probability. */
    score: number;
}

export interface LayerStats {
    layer: number;
    heads: number;
    ffn: number;
    sampler: boolean;
    /** Rows (tokens) entering this layer after its sampler. */
    kept: number;
    /** Input positions of those rows (ascending; 0 is [CLS]); null when the runtime build does not report them. */
    positions: number[] | null;
    /** Token strings at those positions; null with positions. */
    tokens: string[] | null;
}

export interface Explanation {
    /** Input tokens, [CLS] ... [SEP]. */
    tokens: string[];
    ids: number[];
    types: number[];
    /** Whether the input was cut to the model's max length. */
    truncated: boolean;
    /** Every label with its softmax score, best first. */
    labels: LabelScore[];
    logits: number[];
    layers: LayerStats[];
    /** FLOPs run (docs/model-format.md "FLOPs accounting"). */
    flops: number;
    /** FLOPs of the same model on the same input with no token dropped. */
    denseFlops: number;
    /** Wall time inside the runtime, milliseconds. */
    ms: number;
    /** Threshold used. */
    threshold: number;
}

export interface IdsResult {
    logits: Float32Array;
    /** Rows entering each layer. */
    kept: number[];
    flops: number;
    ms: number;
}

export interface ModelConfig {
    format_version: 1;
    hidden_size: number;
    head_size: number;
    max_position: number;
    type_vocab_size: number;
    vocab_size: number;
    layer_norm_eps: number;
    do_lower_case: boolean;
    labels: string[];
    task?: string;
    keep_threshold?: number;
    layers: { heads: number; ffn: number; sampler: boolean }[];
    special_tokens?: Partial<import('./tokenizer.js').SpecialTokens>;
    producer?: string;
    [key: string]: unknown;
}

export interface TensorInfo {
    name: string;
    dtype: 'F32' | 'F16' | 'I8';
    shape: number[];
    bytes: number;
    /** 'embeddings', 'layer.N.sampler', 'layer.N.attention', 'layer.N.ffn' or 'head'. */
    part: string;
    /** An I8 tensor's quantisation scales. */
    scale?: boolean;
}

export interface ModelInfo {
    fileSize: number;
    headerSize: number;
    parameters: { total: number; byPart: Record<string, number> };
    bytesByDtype: Record<string, number>;
    tensors: TensorInfo[];
}

export interface Classifier {
    /** Classify one input: its labels, best first. */
    (input: TextInput, options?: ClassifyOptions): Promise<LabelScore[]>;
    /** Classify a batch (any array that is not a single two-string pair): one list per input. */
    (inputs: TextInput[], options?: ClassifyOptions): Promise<LabelScore[][]>;
    /** Always a batch, so ['a', 'b'] is two texts here. */
    batch(inputs: TextInput[], options?: ClassifyOptions): Promise<LabelScore[][]>;
    /** Tokens, tokens kept per layer, FLOPs, time and all label scores of one input. */
    explain(input: TextInput, options?: { threshold?: number | null }): Promise<Explanation>;
    /** Low level: run token ids (and types, default all 0), 1..maxLength of them. */
    classifyIds(ids: ArrayLike<number>, types?: ArrayLike<number> | null, options?: { threshold?: number | null }): IdsResult;
    /** FLOPs of this model on n tokens with nothing dropped. */
    denseFlops(n: number): number;
    /** Frees the model; later calls throw InforcoefError DISPOSED. */
    dispose(): void;
    readonly disposed: boolean;
    /** Default keep threshold (settable; null restores the file's). */
    threshold: number;
    readonly fileThreshold: number;
    readonly labels: string[];
    readonly config: ModelConfig;
    readonly tokenizer: BertTokenizer;
    readonly maxLength: number;
    readonly numLayers: number;
    readonly numLabels: number;
    readonly hiddenSize: number;
    /** Whether explain() reports kept positions (runtime builds with ifc_stat_kept_positions). */
    readonly keptPositions: boolean;
    readonly info: ModelInfo;
}

/** Loads a model (default: the package's models/sst2.safetensors) into its own wasm instance. */
export function load(source?: ModelSource, options?: LoadOptions): Promise<Classifier>;

/** Checks a model file and reads its config, vocabulary and tensor table (no wasm needed). */
export function readModelFile(bytes: Uint8Array): ModelInfo & {
    config: ModelConfig;
    vocab: string[];
    labels: string[];
    specialTokens: import('./tokenizer.js').SpecialTokens;
};

/** URL of the package's default model. */
export const DEFAULT_MODEL_URL: URL;
