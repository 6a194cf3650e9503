// inforcoef public API.
//
//   import { load } from 'inforcoef';
//   const clf = await load('models/sst2.safetensors');      // path (Node), URL, ArrayBuffer, Uint8Array, Blob
//   await clf('a gorgeous film')                             // [{label: 'positive', score: 0.98}]
//   await clf(['A man sleeps.', 'A person rests.'])          // a pair -> [{label, score}]
//   await clf(['good', 'bad', ['a', 'b']], {topK: null})     // a batch -> one list per input, all labels
//   await clf.explain('a gorgeous film')                     // tokens, kept tokens per layer, FLOPs, time
//   clf.dispose();
//
// One load() = one wasm instance holding one model; the instance's heap is sized for the model and
// one input of up to max_position tokens, so classifying allocates nothing.

import { InforcoefError } from './errors.js';
import { readModelFile } from './model-file.js';
import { BertTokenizer } from './tokenizer.js';
import { instantiateRuntime, isNode, readFileInto, readUrl, STATUS } from './wasm.js';

export { InforcoefError } from './errors.js';
export { BertTokenizer } from './tokenizer.js';
export { readModelFile } from './model-file.js';

// The package's default model (shipped in models/ when it exists).
export const DEFAULT_MODEL_URL = new URL('../models/sst2.safetensors', import.meta.url);

// A string source with a URL scheme (http:, file:, blob:, ...), not a path (a drive letter has one letter).
const hasScheme = (s) => /^[a-z][a-z0-9+.-]+:/i.test(s);

// A model source as a URL when it names a local file in Node (read straight into the wasm heap by
// load()), else null.
async function nodeFileUrl(source) {
    if (!isNode) return null;
    if (source instanceof URL) return source.protocol === 'file:' ? source : null;
    if (typeof source !== 'string') return null;
    if (hasScheme(source)) return source.startsWith('file:') ? new URL(source) : null;
    const urlName = 'node:url';
    const { pathToFileURL } = await import(/* @vite-ignore */ /* webpackIgnore: true */ urlName);
    return pathToFileURL(source);
}

async function readSource(source, onProgress) {
    if (source instanceof ArrayBuffer) return new Uint8Array(source);
    if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    if (typeof Blob !== 'undefined' && source instanceof Blob) {
        const bytes = new Uint8Array(await source.arrayBuffer());
        onProgress?.({ loaded: bytes.length, total: bytes.length });
        return bytes;
    }
    if (source instanceof URL) return readUrl(source, onProgress);
    if (typeof source === 'string') {
        if (hasScheme(source)) return readUrl(new URL(source), onProgress);
        return readUrl(new URL(source, globalThis.location?.href), onProgress); // relative URL in a page or worker
    }
    throw new TypeError('model source must be a URL, a path (Node), an ArrayBuffer, a typed array or a Blob');
}

function checkThreshold(t) {
    if (t === undefined || t === null) return null;
    if (typeof t !== 'number' || Number.isNaN(t)) throw new TypeError(`threshold must be a number (or -Infinity to keep every token), got ${t}`);
    return t;
}

// Turns what a caller passes into [{a, b}] and whether it was one input or a batch.
//   'text' -> one; ['a', 'b'] -> one pair; {text, pair} -> one (pair optional); any other array -> a
//   batch whose items are any of those. clf.batch() always reads its argument as a batch.
function readInputs(input, forceBatch) {
    const one = (x, where) => {
        if (typeof x === 'string') return { a: x, b: null };
        if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') return { a: x[0], b: x[1] };
        if (Array.isArray(x) && x.length === 1 && typeof x[0] === 'string') return { a: x[0], b: null };
        if (x !== null && typeof x === 'object' && !Array.isArray(x) && typeof x.text === 'string' && (x.pair == null || typeof x.pair === 'string')) {
            return { a: x.text, b: x.pair ?? null };
        }
        throw new TypeError(`${where}: expected a string, a [text, pair] array of two strings or {text, pair}, got ${x === null ? 'null' : Array.isArray(x) ? `an array of ${x.length}` : typeof x}`);
    };
    if (!forceBatch && !Array.isArray(input)) return { single: true, items: [one(input, 'input')] };
    if (!forceBatch && input.length === 2 && typeof input[0] === 'string' && typeof input[1] === 'string') return { single: true, items: [one(input, 'input')] };
    if (!Array.isArray(input)) throw new TypeError('batch input must be an array');
    return { single: false, items: input.map((x, i) => one(x, `input[${i}]`)) };
}

function softmax(logits) {
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    const e = Array.from(logits, (v) => Math.exp(v - max));
    const sum = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / sum);
}

// Loads a model and returns the classifier (a function with methods; see index.d.ts).
// options: threshold (default keep threshold of the token samplers; the file's if absent),
//          onProgress({loaded, total}) while the model downloads, wasm (where inforcoef.wasm is,
//          or its bytes or compiled module, for hosts that move it).
export async function load(source = DEFAULT_MODEL_URL, options = {}) {
    const { onProgress, wasm } = options;
    let defaultThreshold = checkThreshold(options.threshold);
    // The runtime is started first: in browsers it compiles while the model downloads. Its errors
    // surface at the await below, after the model source's own.
    const runtime = instantiateRuntime(wasm);
    runtime.catch(() => {});

    // Bring the file into the wasm heap: a local file (Node) is read straight into it; other
    // sources arrive as bytes, are checked and copied in. Either way the JS checks (readModelFile)
    // run before the runtime parses the bytes, so a bad file gets a clear error.
    let rt, filePtr = 0, bytes, info;
    const fileUrl = await nodeFileUrl(source);
    try {
        if (fileUrl) {
            bytes = await readFileInto(fileUrl, async (size) => {
                rt = await runtime;
                filePtr = rt.malloc(Math.max(size, 1));
                return rt.u8(filePtr, size);
            }, onProgress);
            info = readModelFile(bytes);
        } else {
            bytes = await readSource(source, onProgress);
            info = readModelFile(bytes);
            rt = await runtime;
            filePtr = rt.malloc(Math.max(bytes.length, 1));
            rt.u8(filePtr, bytes.length).set(bytes);
        }
    } catch (e) {
        if (filePtr) rt.free(filePtr);
        throw e;
    }
    const x = rt.x;

    // Load: parse and repack from the heap copy, then free it.
    const fileSize = bytes.length;
    bytes = null; // a view on wasm memory, stale once the heap grows
    const outPtr = rt.malloc(4);
    const status = x.ifc_model_load(filePtr, fileSize, outPtr);
    rt.free(filePtr);
    const model = rt.u32At(outPtr);
    rt.free(outPtr);
    if (status !== 0) {
        const code = status === 2 ? 'NOT_SAFETENSORS' : status === 3 ? 'BAD_MODEL' : 'RUNTIME';
        throw new InforcoefError(code, `the runtime refused the model (${STATUS[status] ?? 'status ' + status}): ${rt.lastError()}`);
    }

    const cfg = info.config;
    const numLayers = x.ifc_num_layers(model), numLabels = x.ifc_num_labels(model), maxLength = x.ifc_max_length(model);
    const fileThreshold = x.ifc_get_threshold(model);
    if (defaultThreshold === null) defaultThreshold = fileThreshold;
    const idsPtr = rt.malloc(4 * maxLength), typesPtr = rt.malloc(4 * maxLength), logitsPtr = rt.malloc(4 * numLabels);
    // Kept positions per layer, if this build of the runtime reports them (see explain()).
    const keptPositions = typeof x.ifc_stat_kept_positions === 'function';
    let disposed = false;
    const lookup = rt.tokenLookup(model, () => disposed);
    const tokenizer = new BertTokenizer(info.vocab, { doLowerCase: cfg.do_lower_case, maxLength, specialTokens: info.specialTokens, lookup });

    function alive() {
        if (disposed) throw new InforcoefError('DISPOSED', 'this classifier was disposed');
    }

    // Runs the model on ids/types (1..maxLength entries). Returns the logits (a copy).
    function run(ids, types, threshold) {
        alive();
        const n = ids.length;
        if (n < 1 || n > maxLength) throw new RangeError(`input has ${n} tokens; this model takes 1 to ${maxLength}`);
        if (types && types.length !== n) throw new RangeError(`types has ${types.length} entries, ids ${n}`);
        x.ifc_set_threshold(model, threshold ?? defaultThreshold);
        rt.i32(idsPtr, n).set(ids);
        if (types) rt.i32(typesPtr, n).set(types); else rt.i32(typesPtr, n).fill(0);
        const s = x.ifc_classify(model, idsPtr, typesPtr, n, logitsPtr);
        if (s !== 0) throw new InforcoefError('RUNTIME', `classification failed (${STATUS[s] ?? 'status ' + s}): ${rt.lastError()}`);
        return Float32Array.from(rt.f32(logitsPtr, numLabels));
    }

    function ranked(logits, topK) {
        const scores = softmax(logits);
        const out = scores.map((score, i) => ({ label: cfg.labels[i], score }));
        out.sort((p, q) => q.score - p.score);
        const k = topK === null || topK === 0 || topK === Infinity ? out.length : topK ?? 1;
        if (!Number.isInteger(k) || k < 1) throw new RangeError(`topK must be a positive integer or null, got ${topK}`);
        return out.slice(0, k);
    }

    async function classify(input, opts = {}, forceBatch = false) {
        const threshold = checkThreshold(opts.threshold);
        const { single, items } = readInputs(input, forceBatch);
        const results = [];
        let slice = Date.now();
        for (const { a, b } of items) {
            const enc = tokenizer.encode(a, b);
            results.push(ranked(run(enc.ids, enc.types, threshold), opts.topK));
            if (items.length > 1 && Date.now() - slice > 50) { // let a page or server breathe during long batches
                await new Promise((r) => setTimeout(r, 0));
                slice = Date.now();
            }
        }
        return single ? results[0] : results;
    }

    const clf = (input, opts) => classify(input, opts);
    clf.batch = (inputs, opts) => classify(inputs, opts, true);

    // Statistics of one input: tokens, which survive each layer, FLOPs run vs. FLOPs with every token
    // kept, wall time inside the runtime.
    clf.explain = async (input, opts = {}) => {
        const threshold = checkThreshold(opts.threshold);
        const { single, items } = readInputs(input, false);
        if (!single) throw new TypeError('explain takes one input (a text or a pair)');
        const { a, b } = items[0];
        const enc = tokenizer.encode(a, b);
        const logits = run(enc.ids, enc.types, threshold);
        const tokens = tokenizer.decodeIds(enc.ids);
        const layers = [];
        for (let i = 0; i < numLayers; i++) {
            const kept = x.ifc_stat_kept(model, i);
            let positions = null;
            if (keptPositions) { // const int32_t *ifc_stat_kept_positions(m, layer): `kept` entries, in the model
                const p = x.ifc_stat_kept_positions(model, i);
                if (p) positions = Array.from(rt.i32(p, kept));
            }
            const l = cfg.layers[i] || {};
            layers.push({ layer: i, heads: l.heads, ffn: l.ffn, sampler: l.sampler, kept, positions, tokens: positions && positions.map((p) => tokens[p]) });
        }
        return {
            tokens, ids: Array.from(enc.ids), types: Array.from(enc.types), truncated: enc.truncated,
            labels: ranked(logits, null), logits: Array.from(logits), layers,
            flops: x.ifc_stat_flops_f64(model), denseFlops: x.ifc_dense_flops_f64(model, enc.ids.length),
            ms: x.ifc_stat_ms(model), threshold: threshold ?? defaultThreshold,
        };
    };

    // Low level: run token ids directly (no tokenizer). Returns logits, rows kept per layer, FLOPs, time.
    clf.classifyIds = (ids, types = null, opts = {}) => {
        const logits = run(ids, types, checkThreshold(opts.threshold));
        return {
            logits, kept: Array.from({ length: numLayers }, (_, i) => x.ifc_stat_kept(model, i)),
            flops: x.ifc_stat_flops_f64(model), ms: x.ifc_stat_ms(model),
        };
    };
    clf.denseFlops = (n) => { alive(); return x.ifc_dense_flops_f64(model, n); };

    clf.dispose = () => {
        if (disposed) return;
        disposed = true;
        x.ifc_model_free(model);
        for (const p of [idsPtr, typesPtr, logitsPtr]) rt.free(p);
        lookup?.free();
    };

    Object.defineProperty(clf, 'threshold', {
        get: () => defaultThreshold,
        set: (t) => { const v = checkThreshold(t); defaultThreshold = v ?? fileThreshold; },
        enumerable: true,
    });
    Object.defineProperty(clf, 'disposed', { get: () => disposed, enumerable: true });
    Object.assign(clf, {
        labels: cfg.labels.slice(), config: cfg, tokenizer, maxLength, numLayers, numLabels,
        hiddenSize: x.ifc_hidden_size(model), fileThreshold, keptPositions,
        info: { fileSize: info.fileSize, headerSize: info.headerSize, parameters: info.parameters, bytesByDtype: info.bytesByDtype, tensors: info.tensors },
    });
    return clf;
}
